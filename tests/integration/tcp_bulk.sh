#!/usr/bin/env bash
# Bulk TCP between the stack (axl-nc on AF_XDP) and the Linux kernel, checked
# with sha256, then the same under loss and reordering the kernel peer sees.
#
#   tests/run -k tcp_bulk                           64 MiB each way (make check)
#   AXL_TCP_BULK_MIB=1024 tests/run -k tcp_bulk     1 GiB each way (the issue's bar;
#                                                   ~1.5 min with the release build:
#                                                   AXL_BIN=build/bin)
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
NC=$AXL_BIN/axl-nc
MIB=${AXL_TCP_BULK_MIB:-64}
LOSSY_MIB=$(( MIB < 16 ? MIB : 16 ))

sha() { sha256sum "$1" | awk '{print $1}'; }
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

# both_ways LABEL MiB: kernel -> stack, then stack -> kernel, each checked.
both_ways() {
  local label=$1 mib=$2 rc t0 t1
  head -c "${mib}M" /dev/urandom >"$TMPD/in"
  # kernel -> stack
  in_s timeout 300 "$NC" --port "afxdp:$IF_S" --addr "$ADDR_S/24" -l 5001 \
     --stats-out "$TMPD/rx.stats" >"$TMPD/rx.data" 2>"$TMPD/rx.err" &
  local p=$!
  PIDS+=("$p")
  stack_up "$p" || { not_ok "$label: the receiving stack came up"; show_logs; }
  t0=$(date +%s.%N)
  in_c timeout 300 ncat --send-only "$ADDR_S" 5001 <"$TMPD/in"
  wait "$p"; rc=$?
  t1=$(date +%s.%N)
  check "$label: kernel -> stack ${mib} MiB, axl-nc exit 0 (rc=$rc)" [ $rc -eq 0 ]
  check "$label: kernel -> stack ${mib} MiB byte-exact ($(awk -v a="$t0" -v b="$t1" -v m="$mib" 'BEGIN{printf "%.0f Mb/s", m*8.388608/(b-a)}'))" \
    [ "$(sha "$TMPD/in")" = "$(sha "$TMPD/rx.data")" ]
  check "$label: no sanitizer reports (receiver)" no_sanitizer_errors rx
  # stack -> kernel
  in_c timeout 300 socat -u TCP-LISTEN:5002,reuseaddr "OPEN:$TMPD/tx.recv,creat,trunc" &
  p=$!
  PIDS+=("$p")
  sleep 0.5
  t0=$(date +%s.%N)
  in_s timeout 300 "$NC" --port "afxdp:$IF_S" --addr "$ADDR_S/24" --stats-out "$TMPD/tx.stats" \
     "$ADDR_C" 5002 <"$TMPD/in" >/dev/null 2>"$TMPD/tx.err"
  rc=$?
  wait "$p"
  t1=$(date +%s.%N)
  check "$label: stack -> kernel ${mib} MiB, axl-nc exit 0 (rc=$rc)" [ $rc -eq 0 ]
  check "$label: stack -> kernel ${mib} MiB byte-exact ($(awk -v a="$t0" -v b="$t1" -v m="$mib" 'BEGIN{printf "%.0f Mb/s", m*8.388608/(b-a)}'))" \
    [ "$(sha "$TMPD/in")" = "$(sha "$TMPD/tx.recv")" ]
  check "$label: no sanitizer reports (sender)" no_sanitizer_errors tx
}

both_ways clean "$MIB"

for loss in 1 5; do
  if impair "$loss"; then
    both_ways "loss ${loss}%" "$LOSSY_MIB"
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
