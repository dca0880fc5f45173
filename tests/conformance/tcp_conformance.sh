#!/usr/bin/env bash
# Runs tests/conformance/tcp_conformance.py (scapy) from the client namespace
# against the stack on AF_XDP: first against `axl-nc -l 7 --echo` (the stack
# as server), then as the server of axl-nc clients (the stack as client).
# Every case names the RFC section it checks; see docs/CONFORMANCE.md.
. "$(dirname "$0")/../integration/lib.sh"
netns_up 1
PY=/usr/bin/python3
SUITE=$(dirname "$0")/tcp_conformance.py
ip netns exec "$NS_S" "$AXL_BIN/axl-nc" --port "afxdp:$IF_S" --addr "$ADDR_S/24" -l 7 --echo \
  --stats-out "$TMPD/conf.stats" >"$TMPD/conf.out" 2>"$TMPD/conf.err" &
NC_PID=$!
PIDS+=("$NC_PID")
up=0
for _ in $(seq 50); do
  in_c "$PY" -c "import socket; socket.create_connection(('$ADDR_S', 7), 0.5).close()" \
    2>/dev/null && { up=1; break; }
  sleep 0.2
done
[ $up -eq 1 ] || { not_ok "echo service up"; show_logs; exit 1; }
in_c "$PY" "$SUITE" server "$IF_C" "$ADDR_S" "$NC_PID" "$TMPD/conf.stats"
rc1=$?
check "stack alive after the server cases" kill -0 "$NC_PID"
kill -TERM "$NC_PID"
check "echo service exits 0" wait "$NC_PID"
check "no sanitizer reports (server)" no_sanitizer_errors conf
in_c "$PY" "$SUITE" client "$IF_C" "$ADDR_S" "$NS_S" -- \
  "$AXL_BIN/axl-nc" --port "afxdp:$IF_S" --addr "$ADDR_S/24" --timeout 20
rc2=$?
[ $((rc1 + rc2 + NFAIL)) -eq 0 ] || show_logs
exit $((NFAIL + rc1 + rc2))
