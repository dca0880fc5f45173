#!/usr/bin/env bash
# Bulk TCP between the stack (axl-nc on AF_XDP) and the Linux kernel, checked
# with sha256, then the same under loss and reordering the kernel peer sees.
#
#   tests/run -k tcp_bulk        1 GiB each way with the release axl-nc
#                                ($AXL_RELEASE_BIN, which tests/run exports and
#                                make check builds; ~1 min), 16 MiB each way with
#                                the sanitizer build, then 16 MiB each way at 1%
#                                and 5% loss (sanitizer build)
#   AXL_TCP_BULK_MIB=N           N MiB instead of 1024 for the release run
#
# The data is a pseudo-random stream (AES-128-CTR of zeros under a fixed key,
# openssl enc) generated on the fly and hashed as it arrives: nothing of the
# gigabyte touches the disk. Without the release build the 1 GiB run says so
# in a "not ok" line rather than pass silently (AXL_TCP_BULK_ASAN=1 runs it
# with the sanitizer build instead: slow).
#
# Loss: the two namespaces are joined through a third one holding a Linux
# bridge (kernel <-> bridge <-> stack, one /24). A tc BPF filter (cls_bpf,
# direct action) on the egress of both bridge ports drops frames at random
# with the given probability, in the network: neither end learns of a drop
# except by its absence. (A filter on the kernel's own interface would not
# do: the kernel sees a local drop as a transmit error and resends at once.
# This kernel has no netem; reordering and duplication are exercised
# between two stacks in tests/unit/test_tcp_pair.c and over shmlink.)
. "$(dirname "$0")/lib.sh"
NS_R=axl-r-$TAG
BR_S=axbs$TAG
BR_C=axbc$TAG
trap 'ip netns del "$NS_R" 2>/dev/null; axl_cleanup' EXIT
in_r() { ip netns exec "$NS_R" "$@"; }
ip netns add "$NS_S" && ip netns add "$NS_C" && ip netns add "$NS_R" || die "ip netns add"
ip link add "$IF_S" netns "$NS_S" type veth peer name "$BR_S" netns "$NS_R" || die "veth"
ip link add "$IF_C" netns "$NS_C" type veth peer name "$BR_C" netns "$NS_R" || die "veth"
for ns in "$NS_S" "$NS_C" "$NS_R"; do ip netns exec "$ns" ip link set lo up; done
in_s sysctl -qw "net.ipv6.conf.$IF_S.disable_ipv6=1"
in_c sysctl -qw "net.ipv6.conf.$IF_C.disable_ipv6=1"
in_r sysctl -qw net.ipv6.conf.all.disable_ipv6=1
in_c ethtool -K "$IF_C" tx off tso off gso off >/dev/null 2>&1
in_r ip link add br0 type bridge || die "bridge"
for i in "$BR_S" "$BR_C"; do
  in_r ethtool -K "$i" tx off tso off gso off >/dev/null 2>&1
  in_r ip link set "$i" master br0 && in_r ip link set "$i" up || die "bridge port"
done
in_r ip link set br0 up
in_s ip link set "$IF_S" up
in_c ip addr add "$ADDR_C/24" dev "$IF_C"
in_c ip link set "$IF_C" up
BIG_MIB=${AXL_TCP_BULK_MIB:-1024}
[[ $BIG_MIB =~ ^[0-9]+$ && $BIG_MIB -ge 1 && $BIG_MIB -le 8192 ]] || die "AXL_TCP_BULK_MIB: 1..8192"
ASAN_MIB=16

# gen MiB: the test stream (deterministic).
gen() {
  openssl enc -aes-128-ctr -K 000102030405060708090a0b0c0d0e0f -iv 0 -nosalt \
     -in /dev/zero 2>/dev/null | head -c "$1M"
}
# stack_up PID: until the stack answers a ping (at most 15 s) while PID lives.
stack_up() {
  local i
  for ((i = 0; i < 75; i++)); do
    in_c ping -c 1 -W 1 -q "$ADDR_S" >/dev/null 2>&1 && return 0
    kill -0 "$1" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}

impair() { # LOSS_PCT | off
  local i
  for i in "$BR_S" "$BR_C"; do in_r tc qdisc del dev "$i" clsact 2>/dev/null; done
  [ "$1" = off ] && return 0
  cat >"$TMPD/drop.c" <<'EOF'
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
SEC("tc")
int drop_some(struct __sk_buff *skb)
{
    (void)skb;
    return (bpf_get_prandom_u32() % 1000000u) < DROP_PPM ? TC_ACT_SHOT : TC_ACT_OK;
}
char LICENSE[] SEC("license") = "GPL";
EOF
  clang -O2 -target bpf -I"/usr/include/$(gcc -print-multiarch)" -DDROP_PPM=$(( $1 * 10000 )) \
     -c "$TMPD/drop.c" -o "$TMPD/drop.o" || return 1
  for i in "$BR_S" "$BR_C"; do
    in_r tc qdisc add dev "$i" clsact || return 1
    in_r tc filter add dev "$i" egress bpf da obj "$TMPD/drop.o" sec tc || return 1
  done
}
dropped() { # frames the filters dropped so far
  in_r tc -s qdisc show | awk '/clsact/{c=1} c && /dropped/{gsub(",","",$7); n+=$7; c=0} END{print n+0}'
}
mbps() { awk -v a="$1" -v b="$2" -v m="$3" 'BEGIN{printf "%.0f Mb/s", m*8.388608/(b-a)}'; }

# both_ways LABEL MiB BINDIR: kernel -> stack, then stack -> kernel, each
# hashed as it arrives and compared with the stream's hash.
both_ways() {
  local label=$1 mib=$2 nc=$3/axl-nc rc t0 t1 p hp want lim
  lim=$((120 + mib / 4)) # seconds per direction: >= 4x what a loaded 2-core run needs
  want=$(gen "$mib" | sha256sum | awk '{print $1}')
  rm -f "$TMPD/rx.fifo" "$TMPD/tx.fifo"
  mkfifo "$TMPD/rx.fifo" "$TMPD/tx.fifo" || { not_ok "$label: fifos"; return; }
  # kernel -> stack
  sha256sum <"$TMPD/rx.fifo" >"$TMPD/rx.sha" &
  hp=$!
  in_s timeout "$lim" "$nc" --port "afxdp:$IF_S" --addr "$ADDR_S/24" -l 5001 \
     --stats-out "$TMPD/rx.stats" >"$TMPD/rx.fifo" 2>"$TMPD/rx.err" &
  p=$!
  PIDS+=("$p" "$hp")
  stack_up "$p" || { not_ok "$label: the receiving stack came up"; show_logs; }
  t0=$(date +%s.%N)
  gen "$mib" | in_c timeout "$lim" ncat --send-only "$ADDR_S" 5001
  wait "$p"; rc=$?
  t1=$(date +%s.%N)
  wait "$hp"
  check "$label: kernel -> stack ${mib} MiB, axl-nc exit 0 (rc=$rc)" [ $rc -eq 0 ]
  check "$label: kernel -> stack ${mib} MiB byte-exact ($(mbps "$t0" "$t1" "$mib"))" \
    [ "$want" = "$(awk '{print $1}' "$TMPD/rx.sha")" ]
  check "$label: no sanitizer reports (receiver)" no_sanitizer_errors rx
  # stack -> kernel
  sha256sum <"$TMPD/tx.fifo" >"$TMPD/tx.sha" &
  hp=$!
  in_c timeout "$lim" socat -u TCP-LISTEN:5002,reuseaddr STDOUT >"$TMPD/tx.fifo" &
  p=$!
  PIDS+=("$p" "$hp")
  sleep 0.5
  t0=$(date +%s.%N)
  gen "$mib" | in_s timeout "$lim" "$nc" --port "afxdp:$IF_S" --addr "$ADDR_S/24" \
     --stats-out "$TMPD/tx.stats" "$ADDR_C" 5002 >/dev/null 2>"$TMPD/tx.err"
  rc=${PIPESTATUS[1]}
  wait "$p"
  t1=$(date +%s.%N)
  wait "$hp"
  check "$label: stack -> kernel ${mib} MiB, axl-nc exit 0 (rc=$rc)" [ $rc -eq 0 ]
  check "$label: stack -> kernel ${mib} MiB byte-exact ($(mbps "$t0" "$t1" "$mib"))" \
    [ "$want" = "$(awk '{print $1}' "$TMPD/tx.sha")" ]
  check "$label: no sanitizer reports (sender)" no_sanitizer_errors tx
}

if [ -n "${AXL_RELEASE_BIN:-}" ] && [ -x "$AXL_RELEASE_BIN/axl-nc" ]; then
  both_ways "clean, release" "$BIG_MIB" "$AXL_RELEASE_BIN"
elif [ "${AXL_TCP_BULK_ASAN:-0}" = 1 ]; then
  both_ways "clean, sanitizer build" "$BIG_MIB" "$AXL_BIN"
else
  not_ok "clean ${BIG_MIB} MiB each way: no release axl-nc (AXL_RELEASE_BIN=${AXL_RELEASE_BIN:-unset}; make V=release build-all, or AXL_TCP_BULK_ASAN=1)"
fi
both_ways "clean" "$ASAN_MIB" "$AXL_BIN"

for loss in 1 5; do
  if impair "$loss"; then
    both_ways "loss ${loss}%" "$ASAN_MIB" "$AXL_BIN"
    check "loss ${loss}%: the sender retransmitted" \
      awk '$2=="TcpRetransSegs"{exit !($3>0)}' "$TMPD/tx.stats"
    check "loss ${loss}%: the receiver held out-of-order data" \
      awk '$2=="TcpOfoQueue"{exit !($3>0)}' "$TMPD/rx.stats"
    check "loss ${loss}%: the bridge dropped frames ($(dropped))" [ "$(dropped)" -gt 0 ]
  else
    not_ok "tc netem/gact set-up for ${loss}% loss"
  fi
done
impair off
[ $NFAIL -eq 0 ] || show_logs
exit $NFAIL
