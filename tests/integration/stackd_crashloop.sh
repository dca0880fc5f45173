#!/usr/bin/env bash
# A crash-looping replica is given up after the limit (default: more than 5
# deaths within 10 s), with a clear log line, while the other replica keeps
# serving; health then reports the stack degraded; SIGTERM still ends
# everything cleanly.
. "$(dirname "$0")/lib.sh"
ulimit -c 0
netns_up 2
steer_queues 2 || { not_ok "setup: XPS steering on the client veth"; exit 1; }
start_stackd cl --port "afxdp:$IF_S:2" --addr "$ADDR_S/24" --udp-echo 7
wait_ping "$ADDR_S" 15 || { not_ok "stack up"; show_logs; exit 1; }
wait_replica 1 0 10 >/dev/null || { not_ok "replica 1 up"; show_logs; exit 1; }
check "health: healthy with both replicas running" axlctl health
pid0=$(replica_field 0 pid)

in_c taskset -c 0 ping -D -i 0.01 -W 1 -w 6 "$ADDR_S" >"$TMPD/steady.txt" 2>&1 &
STEADY=$!
# Deaths 1..5 are restarted, the 6th gives up (each kill waits for the
# restarted replica, so all six fall well inside the 10 s window).
restarted=0
for i in 1 2 3 4 5; do
  axlctl kill-replica 1 --signal KILL >/dev/null || break
  wait_replica 1 "$i" 5 >/dev/null || break
  restarted=$i
done
check "5 crashes in a row are restarted ($restarted)" [ "$restarted" -eq 5 ]
check "the 6th crash is delivered" axlctl kill-replica 1 --signal KILL
state=
for _ in $(seq 100); do
  state=$(replica_field 1 state)
  [ "$state" = failed ] && break
  sleep 0.05
done
axlctl replicas
check "replica 1 is given up (state '$state')" [ "$state" = failed ]
check "replica 1 stays down: no pid, 5 restarts" \
  test "$(replica_field 1 pid)" = - -a "$(replica_field 1 restarts)" = 5
grep -h 'crash-looping' "$TMPD/cl.err"
check "a clear log line says so" grep -q 'replica 1 (queue 1) crash-looping: died 6 times within 10.0 s.*giving up on it' "$TMPD/cl.err"
sleep 0.5
check "nothing restarts it afterwards" test "$(replica_field 1 state)" = failed
axlctl health
check "health: exit 1 (degraded) with a replica given up" bash -c '! "$0" health >/dev/null' "$AXL_BIN/axlctl"
check "health --json says healthy=false" \
  bash -c '"$0" health --json | python3 -c "import json,sys; sys.exit(json.load(sys.stdin)[\"healthy\"] is not False)"' "$AXL_BIN/axlctl"
check "kill-replica on the given-up replica is refused (exit 1)" bash -c '! "$0" kill-replica 1 2>/dev/null' "$AXL_BIN/axlctl"

# The other replica never stopped.
wait "$STEADY"
read -r n lost gap < <(ping_gaps "$TMPD/steady.txt")
echo "steady ping on replica 0 during the crash loop: $n replies, $lost lost, longest gap $gap ms"
check "replica 0 served throughout ($n replies, $lost lost)" test "$n" -ge 300 -a "$lost" -eq 0
check "replica 0 untouched (same pid, 0 restarts)" \
  test "$(replica_field 0 pid)" = "$pid0" -a "$(replica_field 0 restarts)" = 0
reply=$(printf 'still-here\n' | in_c taskset -c 0 timeout 5 socat -t 2 - "UDP:$ADDR_S:7" 2>/dev/null)
check "UDP echo via queue 0 still works" [ "$reply" = still-here ]
check "clean exit on SIGTERM" stop_stackd
check "no sanitizer reports" no_sanitizer_errors cl
check "XDP program detached at exit" bash -c "! ip netns exec $NS_S ip link show $IF_S | grep -q 'prog/xdp'"
exit $NFAIL
