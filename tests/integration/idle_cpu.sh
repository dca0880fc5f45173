#!/usr/bin/env bash
# An idle stack sleeps: after the traffic stops it uses (almost) no CPU.
# Measured from /proc/PID/stat (utime+stime) of axl-stackd and its replicas
# over 3 s of idleness.
. "$(dirname "$0")/lib.sh"
netns_up 1
start_stackd idle --port "afxdp:$IF_S" --addr "$ADDR_S/24" --udp-echo 7
wait_ping "$ADDR_S" 15 || { not_ok "stack up"; show_logs; exit 1; }
in_c ping -c 100 -i 0.002 -q "$ADDR_S" >/dev/null
sleep 1
# The supervisor and its replica processes (the engine runs in the replicas).
ticks() {
  local p t=0
  for p in "$STACKD_PID" $(pgrep -P "$STACKD_PID"); do
    t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}
hz=$(getconf CLK_TCK)
t0=$(ticks); s0=$(date +%s.%N)
sleep 3
t1=$(ticks); s1=$(date +%s.%N)
pct=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" -v s0="$s0" -v s1="$s1" \
  'BEGIN { printf "%.2f", 100 * (b - a) / hz / (s1 - s0) }')
echo "idle CPU: $pct % of one core over $(awk -v a="$s0" -v b="$s1" 'BEGIN{printf "%.1f", b-a}') s"
check "idle stack uses < 2% of a core (measured $pct %)" awk -v p="$pct" 'BEGIN { exit !(p < 2) }'
# and it still answers promptly after sleeping
check "answers after sleeping" in_c ping -c 3 -i 0.2 -W 1 -q "$ADDR_S"
check "clean exit" stop_stackd
exit $NFAIL
