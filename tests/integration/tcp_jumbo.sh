#!/usr/bin/env bash
# Jumbo frames: TCP at MTU 9000, byte-exact (sha256), with the negotiated MSS
# checked (RFC 9293 §3.7.1: MSS = MTU - 40; 8960):
#   shm    two stacks (bench/tcp_rr on the engine) over the shared-memory wire
#          with mtu=9000, 32 MiB each way
#   tap    the stack on a TAP device with MTU 9000 against the kernel (ncat /
#          socat), 32 MiB each way; the SYNs' MSS options are read from a
#          tshark capture of the device
#   afxdp  AF_XDP takes one page (4 KiB) per UMEM frame (the port does not
#          use multi-buffer XDP), and veth attaches XDP only while its peer's
#          MTU fits a page with the XDP headroom and skb_shared_info (~3.5K):
#          the test checks that MTU 9000 is refused with the kernel's reason,
#          then moves 32 MiB at MTU 3500 (MSS 3460)
# Segment counts prove the frames were big: the data segments of a 32 MiB
# transfer at MSS ~8948 number ~3750 (~23,000 at 1448).
. "$(dirname "$0")/lib.sh"
RR=${AXL_BENCH_BIN:-$(dirname "$AXL_BIN")/bench}/tcp_rr
[ -x "$RR" ] || die "no $RR (make build-all)"
MIB=32
gen() {
  openssl enc -aes-128-ctr -K 0f0e0d0c0b0a09080706050403020100 -iv 0 -nosalt \
     -in /dev/zero 2>/dev/null | head -c "$1M"
}
WANT=$(gen $MIB | sha256sum | awk '{print $1}')
got() { awk '{print $1}' "$1"; }
stat_of() { sed -n "s/.*$2=\([0-9]*\).*/\1/p" "$1" | tail -1; }
mss_of() { sed -n 's/^MSS snd=\([0-9]*\).*/\1/p' "$1" | head -1; }
jumbo_segs() { # COUNT: a number, and what 32 MiB in ~8,948-byte segments takes
  [ -n "$1" ] && [ "$1" -gt 0 ] && [ "$1" -lt $((MIB * 1048576 / 8000 + 500)) ]
}

# ---- shm: two stacks --------------------------------------------------------
W=$TMPD/wire
shm_pair() { # NAME SERVER-ARGS... -- (client reads stdin, server writes stdout)
  local name=$1 rc p
  rm -f "$W"
  timeout 120 "$RR" --port "shm:$W,mtu=9000" --addr 198.18.2.1/24 --mtu 9000 --sink \
     --expect-mss 8960 server 7 2>"$TMPD/$name.srv.err" | sha256sum >"$TMPD/$name.sha" &
  p=$!
  PIDS+=("$p")
  for _ in $(seq 50); do [ -S "$W" ] && break; sleep 0.1; done
  gen $MIB | timeout 120 "$RR" --port "shm:$W,mtu=9000" --addr 198.18.2.2/24 --mtu 9000 \
     --expect-mss 8960 bulk 198.18.2.1 7 2>"$TMPD/$name.cli.err"
  rc=${PIPESTATUS[1]}
  wait "$p"
  check "shm mtu 9000: the sender exits 0 (rc=$rc)" [ "$rc" -eq 0 ]
  check "shm mtu 9000: $MIB MiB byte-exact" [ "$WANT" = "$(got "$TMPD/$name.sha")" ]
  check "shm mtu 9000: MSS 8960 both sides ($(mss_of "$TMPD/$name.cli.err")/$(mss_of "$TMPD/$name.srv.err"))" \
    [ "$(mss_of "$TMPD/$name.cli.err")" = 8960 -a "$(mss_of "$TMPD/$name.srv.err")" = 8960 ]
  local segs
  segs=$(stat_of "$TMPD/$name.cli.err" out_segs)
  check "shm mtu 9000: jumbo segments ($segs segments for $MIB MiB)" \
    jumbo_segs "$segs"
  check "shm mtu 9000: no sanitizer reports" \
    bash -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$TMPD/$name.srv.err' '$TMPD/$name.cli.err'"
}
shm_pair shm

# ---- tap: the stack against the kernel ------------------------------------------
ip netns add "$NS_C" || die "ip netns add"
in_c ip link set lo up
TAPIF=axt$TAG
in_c ip tuntap add dev "$TAPIF" mode tap || die "ip tuntap"
in_c sysctl -qw "net.ipv6.conf.$TAPIF.disable_ipv6=1"
in_c ip link set "$TAPIF" mtu 9000 || die "tap mtu 9000"
in_c ethtool -K "$TAPIF" tx off tso off gso off >/dev/null 2>&1
in_c ip addr add "$ADDR_C/24" dev "$TAPIF"
in_c ip link set "$TAPIF" up
# two connections: two SYNs and two SYN-ACKs, then tshark stops by itself
in_c timeout 120 tshark -i "$TAPIF" -c 4 -f "tcp[tcpflags] & tcp-syn != 0" \
   -w "$TMPD/syn.pcap" >/dev/null 2>"$TMPD/tshark.err" &
TSH=$!
PIDS+=("$TSH")
for _ in $(seq 300); do # until tshark's capture is open (30 s at most)
  grep -q "Capturing on" "$TMPD/tshark.err" 2>/dev/null && break
  sleep 0.1
done
# kernel -> stack
in_c timeout 120 "$RR" --port "tap:$TAPIF" --addr "$ADDR_S/24" --mtu 9000 --sink \
   --expect-mss 8960 server 5001 2>"$TMPD/tap1.err" | sha256sum >"$TMPD/tap1.sha" &
P=$!
PIDS+=("$P")
wait_up=0
for _ in $(seq 100); do
  in_c ping -c 1 -W 1 -q "$ADDR_S" >/dev/null 2>&1 && { wait_up=1; break; }
  sleep 0.1
done
check "tap mtu 9000: the stack answers ping" [ $wait_up -eq 1 ]
gen $MIB | in_c timeout 120 ncat --send-only "$ADDR_S" 5001
wait "$P"
check "tap mtu 9000: kernel -> stack $MIB MiB byte-exact" [ "$WANT" = "$(got "$TMPD/tap1.sha")" ]
check "tap mtu 9000: the stack's send MSS is 8960 ($(mss_of "$TMPD/tap1.err"))" \
  [ "$(mss_of "$TMPD/tap1.err")" = 8960 ]
segs=$(stat_of "$TMPD/tap1.err" in_segs)
check "tap mtu 9000: the kernel sent jumbo segments ($segs for $MIB MiB)" \
  jumbo_segs "$segs"
# stack -> kernel
in_c timeout 120 socat -u TCP-LISTEN:5002,reuseaddr STDOUT | sha256sum >"$TMPD/tap2.sha" &
P=$!
PIDS+=("$P")
sleep 0.5
gen $MIB | in_c timeout 120 "$RR" --port "tap:$TAPIF" --addr "$ADDR_S/24" --mtu 9000 \
   --expect-mss 8960 bulk "$ADDR_C" 5002 2>"$TMPD/tap2.err"
rc=${PIPESTATUS[1]}
wait "$P"
check "tap mtu 9000: stack -> kernel sender exits 0 (rc=$rc)" [ "$rc" -eq 0 ]
check "tap mtu 9000: stack -> kernel $MIB MiB byte-exact" [ "$WANT" = "$(got "$TMPD/tap2.sha")" ]
segs=$(stat_of "$TMPD/tap2.err" out_segs)
check "tap mtu 9000: the stack sent jumbo segments ($segs for $MIB MiB)" \
  jumbo_segs "$segs"
for _ in $(seq 100); do kill -0 "$TSH" 2>/dev/null || break; sleep 0.1; done # 4 packets: done
kill -TERM "$TSH" 2>/dev/null # fewer: the check below says so
wait "$TSH" 2>/dev/null
MSSES=$(tshark -r "$TMPD/syn.pcap" -T fields -e tcp.options.mss_val 2>/dev/null | sort -u | tr '\n' ' ')
NSYN=$(tshark -r "$TMPD/syn.pcap" 2>/dev/null | wc -l)
check "tap mtu 9000: all $NSYN SYNs and SYN-ACKs carry MSS 8960 (seen: $MSSES)" \
  [ "$(echo $MSSES)/$NSYN" = 8960/4 ]
check "tap: no sanitizer reports" \
  bash -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$TMPD/tap1.err' '$TMPD/tap2.err'"
in_c ip link del "$TAPIF" 2>/dev/null

# ---- afxdp on veth: 4 KiB frames ---------------------------------------------------
# veth runs XDP (drv mode) only while the peer's MTU fits one page with
# the XDP headroom and skb_shared_info: 9000 is refused by the kernel, so
# the AF_XDP check uses MTU 3500 (MSS 3460).
ip netns add "$NS_S" || die "ip netns add"
in_s ip link set lo up
ip link add "$IF_S" netns "$NS_S" mtu 9000 type veth peer name "$IF_C" netns "$NS_C" mtu 9000 ||
  die "veth"
in_s sysctl -qw "net.ipv6.conf.$IF_S.disable_ipv6=1"
in_c sysctl -qw "net.ipv6.conf.$IF_C.disable_ipv6=1"
in_c ethtool -K "$IF_C" tx off tso off gso off >/dev/null 2>&1
in_c ip addr add "$ADDR_C/24" dev "$IF_C"
in_s ip link set "$IF_S" up
in_c ip link set "$IF_C" up
in_s timeout 30 "$RR" --port "afxdp:$IF_S" --addr "$ADDR_S/24" --mtu 9000 server 5003 \
   2>"$TMPD/xdp9000.err" </dev/null
rc=$?
check "afxdp on veth at MTU 9000: refused with the kernel's reason (rc=$rc)" \
  bash -c "[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q 'MTU is too large' '$TMPD/xdp9000.err'"
in_s ip link set "$IF_S" mtu 3500 && in_c ip link set "$IF_C" mtu 3500 || die "veth mtu 3500"
in_s timeout 120 "$RR" --port "afxdp:$IF_S" --addr "$ADDR_S/24" --mtu 3500 --sink \
   --expect-mss 3460 server 5003 2>"$TMPD/xdp.err" | sha256sum >"$TMPD/xdp.sha" &
P=$!
PIDS+=("$P")
wait_up=0
for _ in $(seq 100); do
  in_c ping -c 1 -W 1 -q "$ADDR_S" >/dev/null 2>&1 && { wait_up=1; break; }
  sleep 0.1
done
gen $MIB | in_c timeout 120 ncat --send-only "$ADDR_S" 5003
wait "$P"
check "afxdp mtu 3500 (4 KiB UMEM frames): kernel -> stack $MIB MiB byte-exact" \
  [ "$wait_up/$WANT" = "1/$(got "$TMPD/xdp.sha")" ]
check "afxdp mtu 3500: MSS 3460 ($(mss_of "$TMPD/xdp.err"))" [ "$(mss_of "$TMPD/xdp.err")" = 3460 ]
check "afxdp: no sanitizer reports" \
  bash -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$TMPD/xdp.err' '$TMPD/xdp9000.err'"
[ $NFAIL -eq 0 ] || { tail -n 20 "$TMPD"/*.err; }
exit $NFAIL
