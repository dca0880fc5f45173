#!/usr/bin/env bash
# axlctl without a working stack: clear errors and exit 1 (usage errors: 2),
# never a hang, a crash or half an output: no stackd at all, a stale socket,
# a server that answers garbage, one that never answers.
. "$(dirname "$0")/lib.sh"
X=$AXL_BIN/axlctl

expect() { # expect NAME WANT_RC PATTERN CMD...
  local name=$1 want=$2 pat=$3 rc; shift 3
  "$@" >"$TMPD/out" 2>"$TMPD/err"; rc=$?
  if [ "$rc" -ne "$want" ]; then not_ok "$name (exit $rc, want $want)"; cat "$TMPD/out" "$TMPD/err"; return; fi
  if ! grep -qE -- "$pat" "$TMPD/err"; then not_ok "$name (no '$pat' on stderr)"; cat "$TMPD/err"; return; fi
  if grep -qE 'Sanitizer|runtime error' "$TMPD/err"; then not_ok "$name (sanitizer)"; cat "$TMPD/err"; return; fi
  ok "$name"
}

expect "no stackd: replicas" 1 "cannot connect to $AXL_STACK: No such file or directory" "$X" replicas
expect "no stackd: stats --json" 1 "cannot connect to $AXL_STACK" "$X" stats --json
check "no stackd: stats --json prints nothing on stdout" test ! -s "$TMPD/out"
expect "no stackd: health" 1 "cannot connect" "$X" health
expect "no stackd: kill-replica" 1 "cannot connect" "$X" kill-replica 0
expect "--ctl overrides \$AXL_STACK" 1 "cannot connect to $TMPD/nowhere.sock" "$X" --ctl "$TMPD/nowhere.sock" replicas
expect "--stack is the same as --ctl" 1 "cannot connect to $TMPD/other.sock" "$X" --stack "$TMPD/other.sock" stats
if [ -e /run/axl/stack.sock ]; then
  # A system axl-stackd owns the default path: this case cannot be checked
  # here, and is not counted (a comment line, neither ok nor not ok).
  echo "# not run: default path without \$AXL_STACK (a system axl-stackd owns it)"
else
  expect "default path without \$AXL_STACK" 1 "cannot connect to /run/axl/stack.sock" \
    env -u AXL_STACK "$X" replicas
fi
expect "usage: an empty --ctl" 2 "empty" "$X" --ctl "" replicas

expect "usage: no command" 2 "missing command" "$X"
expect "usage: unknown command" 2 "unknown command 'frobnicate'" "$X" frobnicate
expect "usage: kill-replica without N" 2 "kill-replica takes one replica number" "$X" kill-replica
expect "usage: kill-replica with a bad N" 2 "N is a replica number" "$X" kill-replica one
expect "usage: a bad --signal" 2 "signal" "$X" kill-replica 0 --signal 'k!ll'
expect "usage: extra argument" 2 "unexpected argument" "$X" stats now

# A stale socket (its server is gone).
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.close()' "$TMPD/stale.sock"
expect "stale socket: Connection refused" 1 "cannot connect to $TMPD/stale.sock: Connection refused" \
  "$X" --ctl "$TMPD/stale.sock" replicas

# Servers that are not axl-stackd: one answers garbage, one never answers.
serve() { # serve PATH REPLY: answers every connection with REPLY (or nothing)
  python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1]); s.listen(4); s.settimeout(20)
try:
    while True:
        c, _ = s.accept()
        c.recv(4096)
        if sys.argv[2]:
            c.sendall(sys.argv[2].encode())
            c.close()
        else:
            held = c  # keep it open, say nothing
except Exception:
    pass' "$1" "$2" &
  PIDS+=($!)
  for _ in $(seq 50); do [ -S "$1" ] && return 0; sleep 0.05; done
}
serve "$TMPD/garbage.sock" $'hello there\n.\n'
expect "a server answering garbage: malformed answer" 1 "malformed answer" "$X" --ctl "$TMPD/garbage.sock" replicas
serve "$TMPD/badstats.sock" $'ok\nreplicas 0\nIpInReceives 12 x\n.\n'
expect "bad counter values: malformed stats answer" 1 "malformed stats answer" "$X" --ctl "$TMPD/badstats.sock" stats
serve "$TMPD/err.sock" $'err ENOENT no replica 9 (replicas 0..1)\n.\n'
expect "an error answer is shown as such" 1 "no replica 9 \\(replicas 0..1\\) \\(ENOENT\\)" "$X" --ctl "$TMPD/err.sock" kill-replica 9
serve "$TMPD/mute.sock" ""
t0=$(date +%s.%N)
expect "a server that never answers: time-out" 1 "no complete answer within 0.5 s" "$X" --ctl "$TMPD/mute.sock" --timeout 0.5 replicas
el=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
check "... after about the time-out ($el s)" awk -v e="$el" 'BEGIN { exit !(e < 3) }'
exit $NFAIL
