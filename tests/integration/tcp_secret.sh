#!/usr/bin/env bash
# The boot's TCP secrets against a Linux TIME-WAIT (RFC 6528 §3, RFC 6191;
# src/net/tcp_secret.c). Our stack is the client, run to completion: a new
# process (a new engine) connects from the same local port to a Linux server
# that closed the previous connection first and so holds it in TIME-WAIT.
# Linux accepts that SYN only if its timestamp is newer than the last one it
# saw (PAWS); otherwise it answers with an ACK, our engine resets, and the SYN
# goes again a second later. With the boot's secrets every engine's
# timestamps continue its predecessor's: 8 reconnections, each on a port of
# its own that the previous process just used, none may need a reset or a
# retransmission. With AXL_TCP_SECRET=none (each engine its own random
# offset) about half of them do (3 and 4 of 8 in two runs): of 12 such
# reconnections at least one must (a chance of 2^-12 that none does).
# Bounded: every process has a time-out; 8 + 12 pairs of runs.
. "$(dirname "$0")/lib.sh"
netns_up 1
PY=/usr/bin/python3
TOOL=$AXL_TOOLS/tw_reconnect
[ -x "$TOOL" ] || die "missing $TOOL (make build-all)"

# The Linux server: accepts, sends one line, closes first (TIME-WAIT here).
in_c timeout 300 "$PY" -c '
import socket, sys
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((sys.argv[1], 5001)); l.listen(64)
print("ready", flush=True)
while True:
    c, _ = l.accept(); c.sendall(b"hello from linux\n"); c.close()' "$ADDR_C" \
  >"$TMPD/srv.out" 2>"$TMPD/srv.err" &
PIDS+=($!)
for _ in $(seq 50); do grep -q ready "$TMPD/srv.out" && break; sleep 0.1; done

# round NAME FIRSTPORT N: N ports, two processes each; prints how many second
# connections needed a reset or a retransmission, and how many failed.
round() {
  local name=$1 p0=$2 n=$3 i p bad=0 fail=0 out
  for ((i = 0; i < n; i++)); do
    p=$((p0 + i))
    for k in 1 2; do
      out=$(in_s timeout 20 "$TOOL" --port "afxdp:$IF_S" --addr "$ADDR_S/24" --lport "$p" \
              --timeout 8 "$ADDR_C" 5001 2>>"$TMPD/$name.err")
      echo "$name port $p run $k: ${out:-failed}" >>"$TMPD/$name.log"
      [ -n "$out" ] || { fail=$((fail + 1)); continue; }
      if [ "$k" = 2 ] && { [ "$(kv retrans <<<"$out")" != 0 ] || [ "$(kv rsts_out <<<"$out")" != 0 ]; }; then
        bad=$((bad + 1))
      fi
    done
  done
  echo "$bad $fail"
}

r=$(round kept 41000 8)
cat "$TMPD/kept.log"
check "the boot's secrets: 8 reconnections into TIME-WAIT, none reset or retransmitted ($(cut -d' ' -f1 <<<"$r") did)" \
  [ "$(cut -d' ' -f1 <<<"$r")" = 0 ]
check "... and every connection read the server's line ($(cut -d' ' -f2 <<<"$r") failed)" \
  [ "$(cut -d' ' -f2 <<<"$r")" = 0 ]
r=$(AXL_TCP_SECRET=none round own 42000 12)
cat "$TMPD/own.log"
check "secrets of each engine's own (AXL_TCP_SECRET=none): some reconnection met the TIME-WAIT ($(cut -d' ' -f1 <<<"$r") of 12)" \
  [ "$(cut -d' ' -f1 <<<"$r")" -ge 1 ]
check "... and still got through, a second later ($(cut -d' ' -f2 <<<"$r") failed)" \
  [ "$(cut -d' ' -f2 <<<"$r")" = 0 ]
exit $NFAIL
