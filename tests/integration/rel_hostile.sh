#!/usr/bin/env bash
# Reliability 3 (issue 5): a hostile application. One replica (ASan build);
# a well-behaved application (svc_raw echo on port 5000) serves Linux
# clients: 8 connections streaming 32-byte records every ms (rel_conns
# stream, checked byte for byte) and a python client sending rounds of 64 KiB
# full of a secret MARKER (compared byte for byte). Meanwhile rel_hostile
# scribble writes random values into every byte of its own APP region (control
# words, indices, bitmaps, command queue, socket lines, TX rings) at full
# speed for REL_HOSTILE_SECONDS (15 here, 60 in bench/reliability.sh), attaching
# again each time it is cut off. Checked: the replica never crashes or
# restarts and ASan reports nothing; the other application's transfers stay
# byte-exact with no connection lost; violations are counted and the offender
# is disconnected (every attach); in the end only the good app is attached.
# Then: an app cannot write what is mapped read-only to it (a store dies of
# SIGSEGV, mprotect and a writable mmap of the memfd are refused), and cannot
# read another app's data (rel_hostile peek never finds MARKER in the memory
# it was given while the good app's clients move it).
. "$(dirname "$0")/lib.sh"
ulimit -c 0
RAW=$AXL_TOOLS/svc_raw
CONNS=$AXL_TOOLS/rel_conns
HOST=$AXL_TOOLS/rel_hostile
SECS=${REL_HOSTILE_SECONDS:-15}
PORT=5000
MARKER=axl-secret-$TAG-$RANDOM$RANDOM
[ -x "$RAW" ] && [ -x "$CONNS" ] && [ -x "$HOST" ] || die "missing test tools (make build-all)"
netns_up 1
start_stackd ho --port "afxdp:$IF_S:1" --addr "$ADDR_S/24" --socks 256 --ring 16384 --queue 1024
wait_ping "$ADDR_S" 15 || { not_ok "stack up"; show_logs; exit 1; }
wait_replica 0 0 10 >/dev/null || { not_ok "replica up"; show_logs; exit 1; }
rpid=$(replica_field 0 pid)
"$RAW" --name good --seconds $((SECS + 60)) echo $PORT >"$TMPD/good.out" 2>"$TMPD/good.err" &
GOOD=$!
PIDS+=("$GOOD")
for _ in $(seq 200); do grep -q '^ready' "$TMPD/good.out" && break; sleep 0.05; done
grep -q '^ready' "$TMPD/good.out" || { not_ok "the good app is ready"; show_logs; exit 1; }

# marker_client SECONDS: rounds of 64 KiB holding MARKER, echoed byte for byte
marker_client() {
  in_c timeout $(($1 + 30)) /usr/bin/python3 - "$ADDR_S" $PORT "$MARKER" "$1" <<'PY'
import os, socket, sys, threading, time
host, port, marker, secs = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode(), float(sys.argv[4])
good = bad = 0
end = time.monotonic() + secs
while time.monotonic() < end:
    data = b"".join(marker + os.urandom(16) for _ in range(65536 // (len(marker) + 16)))
    try:
        s = socket.create_connection((host, port), timeout=10)
        t = threading.Thread(target=lambda: (s.sendall(data), s.shutdown(socket.SHUT_WR)))
        t.start()
        got = bytearray()
        while True:
            b = s.recv(65536)
            if not b: break
            got += b
        t.join(); s.close()
        if got == data: good += 1
        else: bad += 1
    except OSError as e:
        bad += 1
        print("error", e, flush=True)
print("marker rounds_ok=%d rounds_bad=%d" % (good, bad))
PY
}

v0=$(replica_stat 0 SvcViolations)
in_c "$CONNS" --conns 8 --interval-us 1000 --seconds $((SECS + 2)) stream "$ADDR_S" $PORT \
  >"$TMPD/stream.out" 2>&1 &
ST=$!
marker_client "$SECS" >"$TMPD/marker.out" 2>&1 &
MC=$!
sleep 1
"$HOST" --seconds "$SECS" --seed $((RANDOM * 65536 + RANDOM + 1)) scribble >"$TMPD/host.out" 2>"$TMPD/host.err"
wait "$ST" "$MC"
h=$(cat "$TMPD/host.out"); s=$(cat "$TMPD/stream.out"); m=$(grep '^marker' "$TMPD/marker.out")
echo "$h"; echo "$s"; echo "$m"
viol=$(( $(replica_stat 0 SvcViolations) - v0 ))
disc=$(replica_stat 0 SvcAppsDisconnected)
att=$(kv attaches <<<"$h")
check "the hostile app scribbled for ${SECS} s ($(kv passes <<<"$h") passes over its region, $att attaches)" \
  [ "${att:-0}" -ge 1 ]
check "violations counted ($viol)" [ "$viol" -gt 0 ]
check "the offender was disconnected ($disc disconnects; it saw $(kv disconnected <<<"$h") of $att attaches cut off)" \
  [ "$disc" -ge 1 -a "$(kv disconnected <<<"$h")" -ge 1 ]
check "the replica never crashed (pid $rpid, restarts $(replica_field 0 restarts))" \
  [ "$(replica_field 0 pid)" = "$rpid" -a "$(replica_field 0 restarts)" = 0 ]
check "the good app's 8 streams: all alive, no wrong byte ($s)" \
  [ "$(kv alive <<<"$s")" = 8 -a "$(kv mismatch <<<"$s")" = 0 -a "$(kv echoed <<<"$s")" -gt 0 ]
check "the good app's 64 KiB rounds all byte-exact ($m)" \
  [ "$(kv rounds_bad <<<"$m")" = 0 -a "$(kv rounds_ok <<<"$m")" -ge 1 ]
check "the good app is still running" kill -0 "$GOOD"
for _ in $(seq 40); do [ "$(replica_stat 0 SvcAppsNow)" = 1 ] && break; sleep 0.05; done
check "only the good app is attached now (SvcAppsNow $(replica_stat 0 SvcAppsNow))" \
  [ "$(replica_stat 0 SvcAppsNow)" = 1 ]
figure hostile_seconds "$SECS"
figure hostile_attaches "$att"
figure hostile_disconnects "$disc"
figure hostile_violations "$viol"
figure hostile_bytes_scribbled "$(kv bytes <<<"$h")"
figure hostile_good_streams_mismatch "$(kv mismatch <<<"$s")"
figure hostile_good_rounds "$(kv rounds_ok <<<"$m")/$(( $(kv rounds_ok <<<"$m") + $(kv rounds_bad <<<"$m") ))"

# read-only memory stays read-only
r=$("$HOST" readonly 2>&1)
echo "$r"
check "a store into the STK region kills the app (SIGSEGV)" [ "$(kv store <<<"$r")" = SIGSEGV ]
check "mprotect(PROT_WRITE) of the STK region is refused ($(kv mprotect <<<"$r"))" \
  [ -n "$(kv mprotect <<<"$r")" -a "$(kv mprotect <<<"$r")" != allowed ]
check "a writable mmap of the STK memfd is refused ($(kv mmap_rw <<<"$r"))" \
  [ -n "$(kv mmap_rw <<<"$r")" -a "$(kv mmap_rw <<<"$r")" != allowed ]

# another app's data is never in this app's memory
marker_client 4 >"$TMPD/marker2.out" 2>&1 &
MC=$!
p=$("$HOST" --seconds 4 peek "$MARKER" 2>&1)
wait "$MC"
m2=$(grep '^marker' "$TMPD/marker2.out")
echo "$p"; echo "$m2"
check "the good app moved the marker meanwhile ($m2)" [ "$(kv rounds_ok <<<"$m2")" -ge 1 ]
check "the peeking app never saw it in its memory ($p)" \
  [ "$(kv found <<<"$p")" = 0 -a "$(kv scans <<<"$p")" -ge 10 ]

kill -TERM "$GOOD"; wait "$GOOD"
check "clean exit on SIGTERM" stop_stackd
check "no sanitizer reports" no_sanitizer_errors ho
[ $NFAIL -eq 0 ] || show_logs
exit $NFAIL
