#!/usr/bin/env bash
# UDP through the replica service layer: tests/tools/svc_raw opens a UDP
# socket through its channel (OPEN/BIND, datagram records in the byte rings,
# abi.h) and echoes every datagram back to its sender; socat and python in
# the client namespace check the replies, including 200 datagrams in a burst
# and a 3000-byte one (IPv4 fragments both ways).
. "$(dirname "$0")/lib.sh"
RAW=$AXL_TOOLS/svc_raw
netns_up 1
start_stackd su --port "afxdp:$IF_S" --addr "$ADDR_S/24" --socks 64 --ring 65536
wait_ping "$ADDR_S" 15 || { not_ok "stack up"; show_logs; exit 1; }
"$RAW" --seconds 60 udp-echo 5353 >"$TMPD/raw.out" 2>"$TMPD/raw.err" &
RAWPID=$!
PIDS+=("$RAWPID")
for _ in $(seq 100); do grep -q '^ready' "$TMPD/raw.out" && break; sleep 0.1; done
check "svc_raw bound UDP 5353 through the service" grep -q '^ready' "$TMPD/raw.out"
reply=$(printf 'udp-svc-%s\n' "$TAG" | in_c timeout 10 socat -t 2 - "UDP:$ADDR_S:5353" 2>/dev/null)
check "socat: datagram echoed by the app" [ "$reply" = "udp-svc-$TAG" ]
in_c timeout 30 /usr/bin/python3 - "$ADDR_S" >"$TMPD/burst.txt" 2>&1 <<'PY'
import os, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
sent = {}
for i in range(200):
    d = b"%05d-" % i + os.urandom(i % 97)
    sent[d] = 1
    s.sendto(d, (sys.argv[1], 5353))
    if i % 20 == 19: time.sleep(0.01)
got = 0
try:
    while got < 200:
        b, a = s.recvfrom(4096)
        if b in sent: got += 1
except socket.timeout:
    pass
big = os.urandom(3000)
s.sendto(big, (sys.argv[1], 5353))
ok = False
try:
    while True:
        b, a = s.recvfrom(65536)
        if b == big: ok = True; break
except socket.timeout:
    pass
print("got", got, "big", ok)
PY
cat "$TMPD/burst.txt"
got=$(awk '{print $2}' "$TMPD/burst.txt")
check "python: >= 190 of 200 burst datagrams echoed intact ($got)" [ "${got:-0}" -ge 190 ]
check "python: a 3000-byte datagram (fragmented) echoed intact" grep -q "big True" "$TMPD/burst.txt"
check "listeners shows the app's udp 5353" bash -c "printf 'AXL1 listeners\n' | socat -t 5 - UNIX-CONNECT:$AXL_STACK | grep -q 'kind=app proto=udp port=5353'"
# idle with an application attached: the replica sleeps in poll(2) (port,
# link, bell, app socket) and uses no CPU; the app rings the bell only when
# the replica sleeps
ticks() {
  local p t=0
  for p in "$STACKD_PID" $(pgrep -P "$STACKD_PID"); do
    t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}
sleep 1
hz=$(getconf CLK_TCK)
t0=$(ticks); s0=$(date +%s.%N)
sleep 3
t1=$(ticks); s1=$(date +%s.%N)
pct=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" -v s0="$s0" -v s1="$s1" 'BEGIN { printf "%.2f", 100 * (b - a) / hz / (s1 - s0) }')
check "idle stack with an app attached uses < 3% of a core (measured $pct %)" awk -v p="$pct" 'BEGIN { exit !(p < 3) }'
reply=$(printf 'after-sleep
' | in_c timeout 10 socat -t 2 - "UDP:$ADDR_S:5353" 2>/dev/null)
check "the sleeping replica wakes for the app's echo" [ "$reply" = after-sleep ]
kill -TERM "$RAWPID"; wait "$RAWPID" 2>/dev/null
z=0
for _ in $(seq 50); do
  [ "$(replica_stat 0 SvcSocketsNow)" = 0 ] && [ "$(replica_stat 0 SvcAppsNow)" = 0 ] && { z=1; break; }
  sleep 0.1
done
check "after the app exits: sockets and apps back to zero" [ $z -eq 1 ]
check "no violations counted" [ "$(replica_stat 0 SvcViolations)" = 0 ]
check "clean exit" stop_stackd
check "no sanitizer reports" no_sanitizer_errors su
[ $NFAIL -eq 0 ] || { show_logs; exit 1; }
