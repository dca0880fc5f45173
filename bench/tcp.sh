#!/usr/bin/env bash
# bench/tcp.sh - TCP bulk goodput of the stack (axl-nc, the engine linked into
# the tool, on AF_XDP over veth) beside the Linux kernel over an equal veth
# pair in the same run, printed as a Markdown table with ratios.
#
#   bench/tcp.sh [--mib N] [--repeat R] [--loss PCT] [--bin DIR] [--rr-seconds S]
#
# Rows (each the median of --repeat runs, N MiB each, default 256 MiB, 3):
#   stack -> kernel   axl-nc client (netns S, AF_XDP on its veth end) sends
#                     N MiB from a file to ncat --recv-only (netns C)
#   kernel -> stack   ncat --send-only (netns C) to axl-nc -l (netns S)
#   kernel -> kernel  the same ncat pair between two namespaces over a veth
#                     pair: once with the peer's offloads off as in every stack
#                     row (tx/tso/gso off, 1500-byte segments), once with the
#                     kernel's defaults (GSO/TSO: 64 KiB super-segments)
#   ... at PCT% loss  (default 1) the same for stack -> kernel and kernel ->
#                     kernel: a tc BPF filter on the receiving kernel's ingress
#                     drops that share of frames at random, after they left the
#                     sender, so only the sender's loss recovery sees it
# Request/response (bench/tcp_rr, --rr-seconds S each, default 3; 0 skips):
#   64-byte requests each answered by 64 bytes, one outstanding, between two
#   stack instances over shmlink and over a veth pair (AF_XDP on both ends),
#   beside the kernel's (tcp_rr --kernel, TCP_NODELAY) over the same veth
#   pair; transactions per second and the median/99th percentile latency.
#   And bulk goodput stack -> stack over shmlink, clean and at PCT% loss
#   (the wire's seeded loss on both senders), N MiB.
# Goodput = N MiB / wall time from the sender's start to the receiver's exit
# (connection set-up and teardown included, ~10 ms). Every run is bounded by
# timeout(1); every netns, link and file is removed on exit. Needs root and the
# release build (make O=... V=release build-all; --bin DIR or AXL_BIN;
# bench/tcp_rr is taken from DIR/../bench).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MIB=256
REPEAT=3
LOSS=1
RRS=3
BIN=${AXL_BIN:-$ROOT/build/bin}
while [[ $# -gt 0 ]]; do
  case $1 in
    --mib) MIB=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --loss) LOSS=$2; shift 2 ;;
    --bin) BIN=$2; shift 2 ;;
    --rr-seconds) RRS=$2; shift 2 ;;
    -h|--help) sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/tcp.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ $MIB =~ ^[0-9]+$ && $MIB -ge 1 && $MIB -le 4096 ]] || { echo "bench/tcp.sh: --mib 1..4096" >&2; exit 2; }
[[ $REPEAT =~ ^[0-9]+$ && $REPEAT -ge 1 && $REPEAT -le 20 ]] || { echo "bench/tcp.sh: --repeat 1..20" >&2; exit 2; }
[[ $LOSS =~ ^[0-9]+$ && $LOSS -le 50 ]] || { echo "bench/tcp.sh: --loss 0..50 (percent)" >&2; exit 2; }
[[ $RRS =~ ^[0-9]+$ && $RRS -le 60 ]] || { echo "bench/tcp.sh: --rr-seconds 0..60" >&2; exit 2; }
RR=$(dirname "$BIN")/bench/tcp_rr
[ "$RRS" -eq 0 ] || [ -x "$RR" ] || { echo "bench/tcp.sh: no $RR (build the release: make build-all)" >&2; exit 2; }
[ -x "$BIN/axl-nc" ] || { echo "bench/tcp.sh: no $BIN/axl-nc (build the release first)" >&2; exit 2; }
export AXL_BIN=$BIN
. "$ROOT/tests/integration/lib.sh"
NS_A=axl-ka-$TAG
NS_B=axl-kb-$TAG
IF_A=axka$TAG
IF_B=axkb$TAG
NS_X=axl-kx-$TAG
NS_Y=axl-ky-$TAG
trap 'ip netns del "$NS_A" 2>/dev/null; ip netns del "$NS_B" 2>/dev/null; ip netns del "$NS_X" 2>/dev/null; ip netns del "$NS_Y" 2>/dev/null; axl_cleanup' EXIT
netns_up 1
ip netns add "$NS_A" && ip netns add "$NS_B" || die "ip netns add"
ip link add "$IF_A" netns "$NS_A" type veth peer name "$IF_B" netns "$NS_B" || die "veth"
for ns in "$NS_A" "$NS_B"; do ip netns exec "$ns" ip link set lo up; done
ip netns exec "$NS_A" ip addr add 198.18.2.1/24 dev "$IF_A"
ip netns exec "$NS_B" ip addr add 198.18.2.2/24 dev "$IF_B"
ip netns exec "$NS_A" ip link set "$IF_A" up
ip netns exec "$NS_B" ip link set "$IF_B" up
NC=$BIN/axl-nc
head -c "${MIB}M" /dev/zero >"$TMPD/in" || die "input file"
T=$((60 + MIB / 4))

now() { date +%s.%N; }
mbps() { awk -v a="$1" -v b="$2" -v m="$MIB" 'BEGIN{printf "%.0f\n", m*8.388608/(b-a)}'; }
median() { sort -n | awk '{v[NR]=$1} END{print (NR ? v[int((NR+1)/2)] : 0)}'; }

# loss_on IFACE NETNS PCT | loss_off IFACE NETNS: random drop at ingress.
loss_on() {
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
  clang -O2 -target bpf -I"/usr/include/$(gcc -print-multiarch)" -DDROP_PPM=$(($3 * 10000)) \
    -c "$TMPD/drop.c" -o "$TMPD/drop.o" || return 1
  ip netns exec "$2" tc qdisc add dev "$1" clsact || return 1
  ip netns exec "$2" tc filter add dev "$1" ingress bpf da obj "$TMPD/drop.o" sec tc
}
loss_off() { ip netns exec "$2" tc qdisc del dev "$1" clsact 2>/dev/null; }

stack_up() { # PID: the stack answers ping (15 s at most)
  local i
  for ((i = 0; i < 75; i++)); do
    in_c ping -c 1 -W 1 -q "$ADDR_S" >/dev/null 2>&1 && return 0
    kill -0 "$1" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}

# One run each; prints Mb/s (0 on failure).
run_s2k() {
  in_c timeout "$T" ncat -l --recv-only 5002 >/dev/null 2>&1 &
  local p=$! t0 t1
  sleep 0.3
  t0=$(now)
  in_s timeout "$T" "$NC" --port "afxdp:$IF_S" --addr "$ADDR_S/24" "$ADDR_C" 5002 \
    <"$TMPD/in" >/dev/null 2>>"$TMPD/err" || { wait $p; echo 0; return; }
  wait $p
  t1=$(now)
  mbps "$t0" "$t1"
}
run_k2s() {
  in_s timeout "$T" "$NC" --port "afxdp:$IF_S" --addr "$ADDR_S/24" -l 5001 >"$TMPD/rx" \
    2>>"$TMPD/err" &
  local p=$! t0 t1
  stack_up $p || { kill $p 2>/dev/null; wait $p; echo 0; return; }
  t0=$(now)
  in_c timeout "$T" ncat --send-only "$ADDR_S" 5001 <"$TMPD/in" 2>>"$TMPD/err"
  wait $p || { echo 0; return; }
  t1=$(now)
  [ "$(stat -c %s "$TMPD/rx")" -eq $((MIB * 1048576)) ] || { echo 0; return; }
  mbps "$t0" "$t1"
}
run_k2k() {
  ip netns exec "$NS_B" timeout "$T" ncat -l --recv-only 5003 >/dev/null 2>&1 &
  local p=$! t0 t1
  sleep 0.3
  t0=$(now)
  ip netns exec "$NS_A" timeout "$T" ncat --send-only 198.18.2.2 5003 <"$TMPD/in" 2>>"$TMPD/err" \
    || { wait $p; echo 0; return; }
  wait $p
  t1=$(now)
  mbps "$t0" "$t1"
}
med() { # FN: median of REPEAT runs
  local i
  for ((i = 0; i < REPEAT; i++)); do "$1"; done | median
}
offloads() { # on|off for the kernel <-> kernel pair
  local ns
  for ns in "$NS_A:$IF_A" "$NS_B:$IF_B"; do
    ip netns exec "${ns%%:*}" ethtool -K "${ns#*:}" tx "$1" tso "$1" gso "$1" >/dev/null 2>&1
  done
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f", a/b; else print "-" }'; }

echo "# TCP bulk goodput, ${MIB} MiB per run, median of ${REPEAT} ($(date -u +%FT%TZ), $(nproc) CPUs)"
echo
offloads off
KK=$(med run_k2k)
offloads on
KKG=$(med run_k2k)
offloads off
SK=$(med run_s2k)
KS=$(med run_k2s)
echo "| Path | Mb/s | vs kernel -> kernel (offloads off) |"
echo "|---|---|---|"
echo "| kernel -> kernel, offloads off | $KK | 1.00 |"
echo "| kernel -> kernel, GSO/TSO on | $KKG | $(ratio "$KKG" "$KK") |"
echo "| stack -> kernel | $SK | $(ratio "$SK" "$KK") |"
echo "| kernel -> stack | $KS | $(ratio "$KS" "$KK") |"
if [ "$LOSS" -gt 0 ]; then
  loss_on "$IF_B" "$NS_B" "$LOSS" || die "loss filter (kernel pair)"
  KKL=$(med run_k2k)
  loss_off "$IF_B" "$NS_B"
  loss_on "$IF_C" "$NS_C" "$LOSS" || die "loss filter (stack pair)"
  SKL=$(med run_s2k)
  loss_off "$IF_C" "$NS_C"
  echo "| kernel -> kernel, ${LOSS}% loss | $KKL | $(ratio "$KKL" "$KK") |"
  echo "| stack -> kernel, ${LOSS}% loss | $SKL | $(ratio "$SKL" "$KKL") of the kernel's at ${LOSS}% |"
fi
# ---- request/response and stack <-> stack ------------------------------------
rr_field() { sed -n "s/^RESULT mode=rr .*$1=\([0-9.]*\).*/\1/p" "$2" | tail -1; }
# rr_pair LABEL SERVER-PREFIX SERVER-ARGS CLIENT-PREFIX CLIENT-ARGS: one run.
rr_run() { # NAME "SERVER CMD" "CLIENT CMD"
  local out=$TMPD/rr.$1
  $2 2>"$out.srv" &
  local p=$!
  sleep 1
  $3 2>"$out" || true
  sleep 0.2
  kill $p 2>/dev/null
  wait $p 2>/dev/null
  echo "| $1 | $(rr_field tps "$out") | $(rr_field p50_us "$out") | $(rr_field p99_us "$out") |"
}
bulk_shm() { # LOSS-PCT: stack -> stack over shmlink, Mb/s
  local w=$TMPD/bw lo=""
  [ "$1" -gt 0 ] && lo=",loss=$1"
  rm -f "$w"
  timeout "$T" "$RR" --port "shm:$w$lo,seed=11" --addr 198.18.3.1/24 --sink server 7 \
    >/dev/null 2>"$TMPD/bs.srv" &
  local p=$!
  for _ in $(seq 50); do [ -S "$w" ] && break; sleep 0.1; done
  timeout "$T" "$RR" --port "shm:$w$lo,seed=12" --addr 198.18.3.2/24 bulk 198.18.3.1 7 \
    <"$TMPD/in" 2>"$TMPD/bs.cli" >/dev/null
  wait $p
  sed -n 's/^RESULT mode=bulk .*mbps=\([0-9]*\).*/\1/p' "$TMPD/bs.cli" | tail -1
}
if [ "$RRS" -gt 0 ]; then
  ip netns add "$NS_X" && ip netns add "$NS_Y" || die "ip netns add"
  ip link add "axkx$TAG" netns "$NS_X" type veth peer name "axky$TAG" netns "$NS_Y" || die "veth"
  for ns in "$NS_X:axkx$TAG" "$NS_Y:axky$TAG"; do
    ip netns exec "${ns%%:*}" ip link set lo up
    ip netns exec "${ns%%:*}" sysctl -qw "net.ipv6.conf.${ns#*:}.disable_ipv6=1"
    ip netns exec "${ns%%:*}" ethtool -K "${ns#*:}" tx off tso off gso off >/dev/null 2>&1
    ip netns exec "${ns%%:*}" ip link set "${ns#*:}" up
  done
  W=$TMPD/rrw
  rm -f "$W"
  echo
  echo "64-byte request/response, one transaction outstanding, ${RRS} s each:"
  echo
  echo "| Path | transactions/s | p50 us | p99 us |"
  echo "|---|---|---|---|"
  rr_run "stack <-> stack, shmlink" \
    "timeout $((RRS + 30)) $RR --port shm:$W --addr 198.18.3.1/24 server 7" \
    "timeout $((RRS + 30)) $RR --port shm:$W --addr 198.18.3.2/24 --seconds $RRS rr 198.18.3.1 7"
  rr_run "stack <-> stack, veth (AF_XDP both ends)" \
    "ip netns exec $NS_X timeout $((RRS + 30)) $RR --port afxdp:axkx$TAG --addr 198.18.4.1/24 server 7" \
    "ip netns exec $NS_Y timeout $((RRS + 30)) $RR --port afxdp:axky$TAG --addr 198.18.4.2/24 --seconds $RRS rr 198.18.4.1 7"
  rr_run "kernel <-> kernel, veth" \
    "ip netns exec $NS_B timeout $((RRS + 30)) $RR --kernel server 7" \
    "ip netns exec $NS_A timeout $((RRS + 30)) $RR --kernel --seconds $RRS rr 198.18.2.2 7"
  echo
  SS=$(bulk_shm 0)
  SSL=$(bulk_shm "$LOSS")
  echo "| Bulk, stack -> stack over shmlink | Mb/s |"
  echo "|---|---|"
  echo "| clean | ${SS:-0} |"
  echo "| ${LOSS}% loss (each sender's wire) | ${SSL:-0} |"
fi
fails=0
for v in "$KK" "$KKG" "$SK" "$KS" ${KKL:-} ${SKL:-}; do [ "$v" = 0 ] && fails=$((fails + 1)); done
if [ $fails -gt 0 ]; then
  echo
  echo "$fails figure(s) are 0: a transfer failed; errors:"
  tail -n 20 "$TMPD/err"
  exit 1
fi
exit 0
