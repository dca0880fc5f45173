#!/usr/bin/env bash
# axlctl conns (ss -tan of the stack) and the replicas' load / connections
# columns, against a two-replica stack serving --tcp-echo on 7 and 2007.
# The Linux client holds 3 connections to port 7 through replica 0 (CPU 0,
# XPS steering) and 2 to port 2007 through replica 1; conns shows each with
# state, ports, queues, RTT and the replica; --state, --port, --replica and
# --json filter and format; `replicas` counts them and measures load.
. "$(dirname "$0")/lib.sh"
netns_up 2
steer_queues 2 || { not_ok "setup: XPS steering on the client veth"; exit 1; }
start_stackd cn --port "afxdp:$IF_S:2" --addr "$ADDR_S/24" --tcp-echo 7 --tcp-echo 2007
wait_ping "$ADDR_S" 15 || { not_ok "stack up"; show_logs; exit 1; }
wait_replica 1 0 10 >/dev/null || { not_ok "replica 1 up"; show_logs; exit 1; }

# Listeners only, before any client.
axlctl conns >"$TMPD/c0.txt"
cat "$TMPD/c0.txt"
check "conns: header like ss" grep -qE '^State +Recv-Q +Send-Q +Local Address:Port +Peer Address:Port' "$TMPD/c0.txt"
check "conns: 2 listeners per replica, 4 in all" [ "$(grep -c '^LISTEN ' "$TMPD/c0.txt")" -eq 4 ]
check "conns: the listener of port 7 is the tcp-echo service" \
  grep -qE "^LISTEN .* $ADDR_S:7 .* tcp-echo\$" "$TMPD/c0.txt"

# Clients that hold their connections open until told to go (a file appears).
hold() { # CPU PORT N: N connections from CPU to PORT, each echoes once, then wait
  in_c taskset -c "$1" timeout 60 /usr/bin/python3 - "$ADDR_S" "$2" "$3" "$TMPD/go" <<'PY' &
import os, socket, sys, time
addr, port, n, go = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
socks = []
for i in range(n):
    s = socket.create_connection((addr, port), timeout=10)
    s.sendall(b"x" * 100)
    got = b""
    while len(got) < 100:
        got += s.recv(100)
    socks.append(s)
print("held", len(socks), flush=True)
t0 = time.time()
while not os.path.exists(go) and time.time() - t0 < 50:  # until the test says so
    time.sleep(0.05)
for s in socks:
    s.close()
PY
  PIDS+=($!)
}
hold 0 7 3 >"$TMPD/h0.txt"
hold 1 2007 2 >"$TMPD/h1.txt"
for _ in $(seq 100); do
  grep -q held "$TMPD/h0.txt" && grep -q held "$TMPD/h1.txt" && break
  sleep 0.1
done
check "clients connected (3 to port 7, 2 to port 2007)" \
  bash -c "grep -q 'held 3' $TMPD/h0.txt && grep -q 'held 2' $TMPD/h1.txt"

axlctl conns >"$TMPD/c1.txt"
cat "$TMPD/c1.txt"
n7=$(awk -v a="$ADDR_S:7" '$1 == "ESTAB" && $4 == a && $5 ~ /^198\.18\.0\.1:/' "$TMPD/c1.txt" | wc -l)
n2007=$(awk -v a="$ADDR_S:2007" '$1 == "ESTAB" && $4 == a && $5 ~ /^198\.18\.0\.1:/' "$TMPD/c1.txt" | wc -l)
check "conns: 3 ESTAB to port 7 from the client ($n7)" [ "$n7" -eq 3 ]
check "conns: 2 ESTAB to port 2007 from the client ($n2007)" [ "$n2007" -eq 2 ]
check "conns: port 7 connections on replica 0 (the client's CPU 0 queue)" \
  bash -c "[ \$(awk -v a='$ADDR_S:7' '\$1 == \"ESTAB\" && \$4 == a && \$9 == 0' $TMPD/c1.txt | wc -l) -eq 3 ]"
check "conns: port 2007 connections on replica 1" \
  bash -c "[ \$(awk -v a='$ADDR_S:2007' '\$1 == \"ESTAB\" && \$4 == a && \$9 == 1' $TMPD/c1.txt | wc -l) -eq 2 ]"
check "conns: queues empty, RTT measured, cwnd > 0 on every ESTAB" \
  awk '$1 == "ESTAB" { n++; if ($2 != 0 || $3 != 0 || $6 == "-" || $6 <= 0 || $7 <= 0) bad = 1 } END { exit !(n == 5 && !bad) }' "$TMPD/c1.txt"
check "conns: accepted connections owned by tcp-echo" \
  bash -c "[ \$(awk '\$1 == \"ESTAB\" && \$NF == \"tcp-echo\"' $TMPD/c1.txt | wc -l) -eq 5 ]"

# Filters
check "--state estab: 5 lines" [ "$(axlctl conns --state estab | tail -n +2 | wc -l)" -eq 5 ]
check "--state listen: 4 lines" [ "$(axlctl conns --state LISTEN | tail -n +2 | wc -l)" -eq 4 ]
check "--port 2007: 2 connections + 2 listeners" [ "$(axlctl conns --port 2007 | tail -n +2 | wc -l)" -eq 4 ]
check "--replica 0 --state estab: the 3 of port 7" \
  bash -c "[ \$('$AXL_BIN/axlctl' conns --replica 0 --state estab | awk '\$4 == \"$ADDR_S:7\"' | wc -l) -eq 3 ] && [ \$('$AXL_BIN/axlctl' conns --replica 0 --state estab | tail -n +2 | wc -l) -eq 3 ]"
check "--state bogus: usage error (exit 2)" bash -c '"$0" conns --state bogus 2>/dev/null; [ $? -eq 2 ]' "$AXL_BIN/axlctl"
check "--replica 9: clear error, exit 1" bash -c '"$0" conns --replica 9 2>&1 | grep -q "no replica 9"' "$AXL_BIN/axlctl"
axlctl conns --json >"$TMPD/c.json"
check "--json parses; 5 ESTAB with replica, rtt_ms and cwnd" /usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))["conns"]
e = [c for c in d if c["state"] == "ESTAB"]
assert len(e) == 5, e
assert sorted(c["replica"] for c in e) == [0, 0, 0, 1, 1], e
assert all(c["rtt_ms"] and c["rtt_ms"] > 0 and c["cwnd"] > 0 and c["peer"].startswith("198.18.0.1:") for c in e)
' "$TMPD/c.json"

# replicas: conns and load columns
c0=$(replica_field 0 conns); c1=$(replica_field 1 conns)
check "replicas: conns=3 on replica 0, 2 on replica 1 ($c0, $c1)" [ "$c0/$c1" = 3/2 ]
in_c taskset -c 0 ping -c 300 -i 0.005 -W 1 -q "$ADDR_S" >/dev/null &
pp=$!
sleep 1.3
l0=$(replica_field 0 load)
wait "$pp"
check "replicas: load of replica 0 under ping traffic is in (0, 1] ($l0)" \
  awk -v l="$l0" 'BEGIN { exit !(l + 0 > 0 && l + 0 <= 1) }'
axlctl replicas | tee "$TMPD/rep.txt"
check "replicas table: LOAD and CONNS columns" grep -qE '^REPLICA +PID +QUEUE +CPU +STATE +LOAD +CONNS ' "$TMPD/rep.txt"

# The clients close: the connections go away (server side: LAST-ACK, closed).
touch "$TMPD/go"
sleep 1.5
left=$(axlctl conns --state estab | tail -n +2 | wc -l)
check "after the clients closed: no ESTAB left ($left)" [ "$left" -eq 0 ]
# An application attached in isolated mode: conns names its pid for the
# listener and the connections it accepted (connections an app opens itself
# are attributed the same way: test_svc_layer checks axl_svc_conn_owners).
"$AXL_BIN/axl-nc" --stack "$AXL_STACK" -l 5000 --echo 2>"$TMPD/app.err" &
app=$!; PIDS+=("$app")
for _ in $(seq 100); do axlctl conns --port 5000 | grep -q LISTEN && break; sleep 0.1; done
in_c taskset -c 0 timeout 60 /usr/bin/python3 - "$ADDR_S" "$TMPD/go2" <<'PY' &
import os, socket, sys, time
s = socket.create_connection((sys.argv[1], 5000), timeout=10)
s.sendall(b"x"); s.recv(1)
for _ in range(300):
    if os.path.exists(sys.argv[2]): break
    time.sleep(0.1)
PY
hp=$!
for _ in $(seq 50); do
  axlctl conns >"$TMPD/c3.txt"
  grep -qE "^ESTAB .*:5000 .* pid $app " "$TMPD/c3.txt" && break
  sleep 0.1
done
grep -E ':5000' "$TMPD/c3.txt" || true
check "conns: the app's listener names its pid" grep -qE "^LISTEN .*:5000 .* pid $app " "$TMPD/c3.txt"
check "conns: the connection the app accepted names its pid" grep -qE "^ESTAB .*:5000 .* pid $app " "$TMPD/c3.txt"
touch "$TMPD/go2"
wait "$hp" 2>/dev/null
kill -TERM "$app"; wait "$app" 2>/dev/null
check "clean exit on SIGTERM" stop_stackd
check "no sanitizer reports" no_sanitizer_errors cn
exit $NFAIL
