#!/usr/bin/env bash
# axlctl stats / replicas against a two-replica stack: counters reach the
# supervisor through each replica's status page and move as the traffic
# predicts, per replica and in total; --json parses; -a adds the zeros.
. "$(dirname "$0")/lib.sh"
netns_up 2
steer_queues 2 || { not_ok "setup: XPS steering on the client veth"; exit 1; }
start_stackd st --port "afxdp:$IF_S:2" --addr "$ADDR_S/24" --udp-echo 7
wait_ping "$ADDR_S" 15 || { not_ok "stack up"; show_logs; exit 1; }
wait_replica 1 0 10 >/dev/null || { not_ok "replica 1 up"; show_logs; exit 1; }

check "stats --json parses" bash -c '"$0" stats --json | python3 -c "import json,sys; json.load(sys.stdin)"' "$AXL_BIN/axlctl"
check "replicas --json parses" bash -c '"$0" replicas --json | python3 -c "import json,sys; json.load(sys.stdin)"' "$AXL_BIN/axlctl"
check "health --json parses" bash -c '"$0" health --json | python3 -c "import json,sys; json.load(sys.stdin)"' "$AXL_BIN/axlctl"

b0=$(replica_stat 0 IcmpInEchos); b1=$(replica_stat 1 IcmpInEchos); bt=$(replica_stat total IcmpInEchos)
u0=$(replica_stat 0 UdpInDatagrams); u1=$(replica_stat 1 UdpInDatagrams)
in_c taskset -c 0 ping -c 50 -i 0.005 -W 1 -q "$ADDR_S" >/dev/null
in_c taskset -c 1 ping -c 30 -i 0.005 -W 1 -q "$ADDR_S" >/dev/null
for i in 1 2 3 4 5; do
  printf 'stat-%s\n' "$i" | in_c taskset -c 1 timeout 5 socat -t 1 - "UDP:$ADDR_S:7" >/dev/null 2>&1
done
sleep 0.3 # an idle replica exports before it sleeps; 10 ms apart while busy
a0=$(replica_stat 0 IcmpInEchos); a1=$(replica_stat 1 IcmpInEchos); at=$(replica_stat total IcmpInEchos)
v0=$(replica_stat 0 UdpInDatagrams); v1=$(replica_stat 1 UdpInDatagrams)
echo "IcmpInEchos: replica 0 $b0 -> $a0, replica 1 $b1 -> $a1, total $bt -> $at"
echo "UdpInDatagrams: replica 0 $u0 -> $v0, replica 1 $u1 -> $v1"
check "IcmpInEchos on replica 0 grew by the 50 pings sent to it" [ $((a0 - b0)) -eq 50 ]
check "IcmpInEchos on replica 1 grew by the 30 pings sent to it" [ $((a1 - b1)) -eq 30 ]
check "IcmpInEchos total grew by 80 and is the sum" test $((at - bt)) -eq 80 -a "$at" -eq $((a0 + a1))
check "UdpInDatagrams: 5 on replica 1, none on replica 0" test $((v1 - u1)) -eq 5 -a "$v0" -eq "$u0"

axlctl stats >"$TMPD/stats.txt"
axlctl stats -a >"$TMPD/stats-all.txt"
head -n 4 "$TMPD/stats.txt"
check "stats: header names both replicas and the total" \
  grep -qE '^#counter +replica0 +replica1 +total$' "$TMPD/stats.txt"
line=$(awk '$1 == "IcmpInEchos"' "$TMPD/stats.txt")
check "stats text agrees with --json ($line)" [ "$line" = "$(printf '%-28s %14s %14s %14s' IcmpInEchos "$a0" "$a1" "$at")" ]
check "stats hides zeros (no 'Drop' counter at 0)" bash -c "! awk '\$NF == 0' $TMPD/stats.txt | grep -q ."
check "stats -a shows them ($(wc -l <"$TMPD/stats-all.txt") > $(wc -l <"$TMPD/stats.txt") lines)" \
  [ "$(wc -l <"$TMPD/stats-all.txt")" -gt "$(wc -l <"$TMPD/stats.txt")" ]
for c in IpInReceives IcmpOutEchoReps ArpInRequests PortRxPackets PoolInUse DropTxRingFull; do
  check "stats -a lists $c" grep -qE "^$c " "$TMPD/stats-all.txt"
done
check "replicas: pool buffers of both counted (PoolBuffers total = 2 x 16384)" \
  [ "$(replica_stat total PoolBuffers)" -eq 32768 ]
axlctl replicas
check "replicas: one line per replica after the header" [ "$(axlctl replicas | wc -l)" -eq 3 ]
check "replicas: each replica on its queue and CPU" \
  test "$(replica_field 0 queue)/$(replica_field 1 queue)/$(replica_field 0 cpu)/$(replica_field 1 cpu)" = 0/1/0/1
age=$(replica_field 0 hb_age_ms)
check "replicas: the heartbeat of an idle replica is recent ($age ms)" test "$age" -lt 1000
check "kill-replica of a replica that does not exist: exit 1" bash -c '! "$0" kill-replica 7 2>/dev/null' "$AXL_BIN/axlctl"
check "... with a clear message" bash -c '"$0" kill-replica 7 2>&1 | grep -q "no replica 7"' "$AXL_BIN/axlctl"
check "kill-replica with a signal not offered: exit 1" bash -c '! "$0" kill-replica 0 --signal HUP 2>/dev/null' "$AXL_BIN/axlctl"

# Prometheus text exposition: well-formed, the same values per replica
axlctl stats --prom >"$TMPD/prom.txt"
check "stats --prom: every line a TYPE line or a sample" \
  bash -c "! grep -vE '^(# TYPE axl_[A-Za-z0-9_]+ counter|axl_[A-Za-z0-9_]+\\{replica=\"[0-9]+\"\\} [0-9]+)\$' $TMPD/prom.txt | grep -q ."
p0=$(awk '$1 == "axl_IcmpInEchos{replica=\"0\"}" {print $2}' "$TMPD/prom.txt")
check "stats --prom: IcmpInEchos of replica 0 = $a0 ($p0)" [ "${p0:-x}" = "$a0" ]

# --watch: rates of what moves meanwhile
in_c taskset -c 0 ping -c 40 -i 0.02 -W 1 -q "$ADDR_S" >/dev/null &
ping_pid=$!
axlctl stats --watch 0.5 --count 3 >"$TMPD/watch.txt"
wait "$ping_pid"
cat "$TMPD/watch.txt" | head -n 8
check "stats --watch: 3 rounds" [ "$(grep -c '^# ' "$TMPD/watch.txt")" -eq 3 ]
check "stats --watch: IcmpInEchos moved with a rate" \
  awk '$1 == "IcmpInEchos" && $3 > 0 && $4 > 0 {f=1} END {exit !f}' "$TMPD/watch.txt"
check "stats --watch with --json is refused (exit 2)" \
  bash -c '"$0" stats --watch 1 --json 2>/dev/null; [ $? -eq 2 ]' "$AXL_BIN/axlctl"
check "clean exit on SIGTERM" stop_stackd
check "no sanitizer reports" no_sanitizer_errors st
exit $NFAIL
