#!/usr/bin/env bash
# Port-level AF_XDP checks with tests/tools/afxdp_check (no stack involved):
#  1. ping: 200 echo requests at 2 ms answered by the port-level responder on
#     a 4-queue veth (4 sockets, 4 UMEMs, one process): 0% loss.
#  2. multi-queue with one forked child per queue (the parent ran dev_setup):
#     UDP from 32 kernel sockets spreads over the rx queues; every datagram is
#     seen on exactly one queue and the union matches what was sent.
#  3. two processes: one attaches the program (queues 0-1), another without
#     dev_setup finds it by ifindex (queues 2-3); together they see everything.
#  4. crash recovery: after SIGKILL our program stays attached; the next run
#     adopts it (same code and mode) or replaces it (skb mode), and detaches
#     it at exit.
#  5. a foreign XDP program is never replaced; zc=on fails cleanly on veth.
# Prints ok / not ok lines; exit status = number of failures. ~15 s.
. "$(dirname "$0")/lib.sh"
CHECK=${AXL_TOOLS}/afxdp_check
[ -x "$CHECK" ] || die "missing $CHECK (make V=asan $CHECK)"
netns_up 4
SPEC="afxdp:$IF_S:4"

# run_check NAME ARGS...: afxdp_check in the stack namespace, in the background.
run_check() {
  local name=$1; shift
  in_s timeout 40 "$CHECK" "$@" >"$TMPD/$name.out" 2>"$TMPD/$name.err" &
  CHECK_PID=$!
  PIDS+=("$CHECK_PID")
}
wait_ready() { # NAME: until the tool printed "ready" (10 s)
  local i
  for ((i = 0; i < 100; i++)); do
    grep -q '^ready' "$TMPD/$1.out" 2>/dev/null && return 0
    kill -0 "$CHECK_PID" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
wait_rc() { # PID: its exit status
  local rc=0
  wait "$1" || rc=$?
  return $rc
}
xdp_attached() { in_s ip link show dev "$IF_S" | grep -q 'prog/xdp'; }
udp_burst() { # N_SOCKETS PER_SOCKET: datagrams from distinct kernel sockets to ADDR_S:9
  in_c timeout 10 /usr/bin/python3 - "$ADDR_S" "$1" "$2" <<'PY'
import socket, sys
dst, ns, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(ns)]
for i, s in enumerate(socks):
    for k in range(per):
        s.sendto(b"axolotl-%d-%d" % (i, k), (dst, 9))
for s in socks:
    s.close()
PY
}
# "queue Q rx N arp A echo E udp U other O txdrop D" -> the U column
queue_udp() { awk '$1 == "queue" { printf "q%s=%s ", $2, $10 }' "$TMPD/$1.out"; }
total_udp() { awk '$1 == "total" { print $5 }' "$TMPD/$1.out"; }
no_asan() { ! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$TMPD/$1.err"; }

# 1. ping, 4 queues in one process.
run_check ping -p "$SPEC" -m 4 --expect-echo 200 -t 20
if wait_ready ping; then
  out=$(in_c ping -c 200 -i 0.002 -W 2 -q "$ADDR_S" 2>&1)
  echo "$out" | tail -n 2
  check "ping -c 200 -i 0.002 answered with 0% loss" grep -q ' 0% packet loss' <<<"$out"
else
  not_ok "afxdp_check (ping) opened 4 queues"
fi
check "ping run: exit 0 (all buffers back in the pools)" wait_rc "$CHECK_PID"
grep -h 'AF_XDP socket in' "$TMPD/ping.err" | head -n 1 | sed 's/^/# /'
check "ping run: program detached at exit" bash -c "! ip netns exec $NS_S ip link show dev $IF_S | grep -q prog/xdp"
check "ping run: no sanitizer reports" no_asan ping

# 2. one forked child per queue.
run_check fork -p "$SPEC" -m 4 --fork --expect-udp 320 -t 15
if wait_ready fork; then
  in_c ping -c 1 -W 2 -q "$ADDR_S" >/dev/null 2>&1 # ARP first
  udp_burst 32 10
else
  not_ok "afxdp_check (fork) started"
fi
check "fork run: exit 0" wait_rc "$CHECK_PID"
echo "# UDP per queue: $(queue_udp fork)"
check "fork run: 320 datagrams seen in total ($(total_udp fork))" [ "$(total_udp fork)" = 320 ]
nq=$(awk '$1 == "queue" && $10 > 0' "$TMPD/fork.out" | wc -l)
check "fork run: flows spread over several queues ($nq)" [ "$nq" -ge 2 ]
check "fork run: no sanitizer reports" no_asan fork

# 3. two processes: the second finds the attached program by ifindex.
run_check twoA -p "$SPEC" -f 0 -m 2 -t 8
A=$CHECK_PID
wait_ready twoA || not_ok "process A started"
run_check twoB -p "$SPEC" -f 2 -m 2 --no-setup -v -t 6
B=$CHECK_PID
if wait_ready twoB; then
  in_c ping -c 1 -W 2 -q "$ADDR_S" >/dev/null 2>&1
  udp_burst 32 10
fi
check "process B exit 0" wait_rc "$B"
check "process A exit 0" wait_rc "$A"
check "process B used A's program" grep -q 'attached by process' "$TMPD/twoB.err"
sum=$(( $(total_udp twoA) + $(total_udp twoB) ))
echo "# UDP per queue: A: $(queue_udp twoA) B: $(queue_udp twoB)"
check "two processes: 320 datagrams seen in total ($sum)" [ "$sum" = 320 ]
check "two processes: program detached after A" bash -c "! ip netns exec $NS_S ip link show dev $IF_S | grep -q prog/xdp"

# 4. crash recovery.
crash_run() { # NAME: start, wait until open, SIGKILL the tool itself (not `timeout`)
  local tool_pid
  run_check "$1" -p "$SPEC" -m 4 -t 20
  wait_ready "$1" || not_ok "$1 run started"
  tool_pid=$(awk '$1 == "ready" { print $3 }' "$TMPD/$1.out")
  [ -n "$tool_pid" ] && kill -KILL "$tool_pid"
  wait "$CHECK_PID" 2>/dev/null
}
recover_run() { # NAME SPEC ARGS...: answer 20 pings after a crash
  local name=$1 spec=$2 out; shift 2
  run_check "$name" -p "$spec" -m 4 --expect-echo 20 -t 15 "$@"
  if wait_ready "$name"; then
    out=$(in_c ping -c 20 -i 0.01 -W 2 -q "$ADDR_S" 2>&1)
    check "$name: ping 0% loss after a crash" grep -q ' 0% packet loss' <<<"$out"
  else
    not_ok "$name: run started"
  fi
  check "$name: exit 0" wait_rc "$CHECK_PID"
  check "$name: program detached at exit" bash -c "! ip netns exec $NS_S ip link show dev $IF_S | grep -q prog/xdp"
}
crash_run crash1
check "after SIGKILL our program is still attached" xdp_attached
# Same code, same mode, no dev_setup: open() adopts the stale program.
recover_run adopt "$SPEC" --no-setup
check "adopt: stale program adopted by open()" grep -q 'adopting' "$TMPD/adopt.err"
crash_run crash2
# Other mode: dev_setup replaces it (detach + attach in skb mode).
recover_run replace "$SPEC,mode=skb"
check "replace: stale program replaced in skb mode" grep -q 'replacing a stale' "$TMPD/replace.err"

# 5. foreign program and zero-copy.
cat >"$TMPD/foreign.c" <<'C'
#include <linux/bpf.h>
__attribute__((section("xdp"), used)) int foreign_pass(struct xdp_md *ctx) { return XDP_PASS; }
char _license[] __attribute__((section("license"), used)) = "GPL";
C
if clang -O2 -target bpf -I"/usr/include/$(gcc -print-multiarch)" -c "$TMPD/foreign.c" \
     -o "$TMPD/foreign.o" 2>"$TMPD/clang.err" &&
   in_s ip link set dev "$IF_S" xdpdrv obj "$TMPD/foreign.o" sec xdp; then
  in_s timeout 10 "$CHECK" -p "$SPEC" -m 1 -t 1 >"$TMPD/foreign.out" 2>"$TMPD/foreign.err"
  rc=$?
  check "foreign XDP program: refused (rc $rc)" [ "$rc" = 1 ]
  check "foreign XDP program: clear message" grep -q 'another XDP program' "$TMPD/foreign.err"
  check "foreign XDP program: left attached" bash -c "ip netns exec $NS_S ip link show dev $IF_S | grep -q foreign_pass"
  in_s ip link set dev "$IF_S" xdpdrv off
else
  not_ok "build/attach a foreign XDP program"
fi
in_s timeout 10 "$CHECK" -p "$SPEC,zc=on" -m 1 -t 1 >"$TMPD/zc.out" 2>"$TMPD/zc.err"
rc=$?
check "zc=on on veth fails cleanly (rc $rc)" [ "$rc" = 1 ]
check "zc=on failure detaches what it attached" bash -c "! ip netns exec $NS_S ip link show dev $IF_S | grep -q prog/xdp"

[ $NFAIL -eq 0 ] || { for f in "$TMPD"/*.err; do echo "--- $f"; tail -n 15 "$f"; done; }
exit $NFAIL
