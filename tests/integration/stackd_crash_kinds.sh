#!/usr/bin/env bash
# Every kind of replica death is survived: SIGSEGV, SIGABRT, an unrequested
# clean exit (SIGTERM -> exit 0) and a hang (SIGSTOP: the heartbeat stalls and
# the supervisor kills it after --heartbeat-timeout), and a status page it
# scribbled on (validation fails: killed). Each time replica 1 comes
# back on queue 1 (ping and UDP echo through it work), its last exit says
# what happened, and replica 0 is never touched.
. "$(dirname "$0")/lib.sh"
ulimit -c 0
# A SIGSEGV sent to a sanitizer build must kill it like any other program,
# not become an AddressSanitizer report.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}handle_segv=0:handle_abort=0"
netns_up 2
steer_queues 2 || { not_ok "setup: XPS steering on the client veth"; exit 1; }
start_stackd ck --port "afxdp:$IF_S:2" --addr "$ADDR_S/24" --udp-echo 7 --heartbeat-timeout 1 \
  --restart-limit 10
wait_ping "$ADDR_S" 15 || { not_ok "stack up"; show_logs; exit 1; }
wait_replica 1 0 10 >/dev/null || { not_ok "replica 1 up"; show_logs; exit 1; }
pid0=$(replica_field 0 pid)

n=0
for case in SEGV:signal:SEGV ABRT:signal:ABRT TERM:exit:0 STOP:hung; do
  sig=${case%%:*}
  want=${case#*:}
  n=$((n + 1))
  old=$(replica_field 1 pid)
  check "kill-replica 1 --signal $sig" axlctl kill-replica 1 --signal "$sig"
  if secs=$(wait_replica 1 "$n" 10); then
    ok "SIG$sig: replica 1 is back after ${secs} s (restarts=$n)"
  else
    not_ok "SIG$sig: replica 1 is back within 10 s"; axlctl replicas; show_logs; continue
  fi
  check "SIG$sig: last exit is '$want' ($(replica_field 1 last_exit))" \
    [ "$(replica_field 1 last_exit)" = "$want" ]
  check "SIG$sig: a new process ($old -> $(replica_field 1 pid))" [ "$(replica_field 1 pid)" != "$old" ]
  out=$(in_c taskset -c 1 ping -c 20 -i 0.005 -W 1 -q "$ADDR_S" 2>&1)
  check "SIG$sig: ping via queue 1 with 0% loss" grep -q ' 0% packet loss' <<<"$out"
  reply=$(printf 'kind-%s\n' "$sig" | in_c taskset -c 1 timeout 5 socat -t 2 - "UDP:$ADDR_S:7" 2>/dev/null)
  check "SIG$sig: UDP echo via queue 1" [ "$reply" = "kind-$sig" ]
done
kill -0 "$old" 2>/dev/null && not_ok "the hung replica $old is gone" || ok "the hung replica was killed"
grep -E 'no heartbeat' "$TMPD/ck.err" | tail -n 1

# A replica that scribbles on its status page (here: a write through
# /proc/PID/map_files into the shared page) is killed and restarted.
old=$(replica_field 1 pid)
python3 - "$old" <<'PY'
import os, sys
pid = sys.argv[1]
for line in open("/proc/%s/maps" % pid):
    if "memfd:axl-replica-1" in line:
        fd = os.open("/proc/%s/map_files/%s" % (pid, line.split()[0]), os.O_RDWR)
        os.pwrite(fd, b"\xde\xad\xbe\xef", 0)  # the magic
        os.close(fd)
PY
if secs=$(wait_replica 1 5 10); then
  ok "scribbled status page: replica 1 is back after ${secs} s (restarts=5)"
else
  not_ok "scribbled status page: replica 1 is back within 10 s"; axlctl replicas; show_logs
fi
check "scribbled status page: last exit is 'bad-status-page' ($(replica_field 1 last_exit))" \
  [ "$(replica_field 1 last_exit)" = bad-status-page ]
check "scribbled status page: the supervisor said why" grep -q 'status page fails validation' "$TMPD/ck.err"
check "replica 0 untouched (same pid, 0 restarts)" \
  test "$(replica_field 0 pid)" = "$pid0" -a "$(replica_field 0 restarts)" = 0
out=$(in_c taskset -c 0 ping -c 20 -i 0.005 -W 1 -q "$ADDR_S" 2>&1)
check "ping via queue 0 with 0% loss" grep -q ' 0% packet loss' <<<"$out"
axlctl replicas
check "clean exit on SIGTERM" stop_stackd
check "no sanitizer reports" no_sanitizer_errors ck
exit $NFAIL
