#!/usr/bin/env bash
# The native API (include/axl/axl.h) in run-to-completion mode against the
# Linux kernel: axl-nc, which is written on that API, serves RFC 862 echo with
# the stack linked in, on an AF_PACKET port (tcp_kernel.sh covers AF_XDP);
# Linux clients in the other namespace:
#   - 1,000 connections in waves of 100 at once, each sends 3000 random
#     bytes and half-closes, every byte compared, the FIN seen (EOF)
#   - ncat: one 4 MiB stream through the echo, sha256-checked
#   - afterwards no connection left in the engine, and a clean exit on
#     SIGTERM without sanitizer reports
# Bounded: every client has a timeout, the waves are fixed in number.
. "$(dirname "$0")/lib.sh"
netns_up 1
NC=$AXL_BIN/axl-nc
PY=/usr/bin/python3

ip netns exec "$NS_S" "$NC" --port "afpacket:$IF_S" --addr "$ADDR_S/24" -l 7 --echo \
   --stats-out "$TMPD/echo.stats" >"$TMPD/echo.out" 2>"$TMPD/echo.err" &
NC_PID=$!
STACKD_PID=$NC_PID # for wait_ping / stats_now
PIDS+=("$NC_PID")
wait_ping "$ADDR_S" 15 || die "the RTC stack does not answer ping"
ok "RTC app (axl-nc on axl.h) answers ping"

in_c timeout 180 "$PY" - "$ADDR_S" <<'EOF'
import os, socket, sys, selectors
addr = sys.argv[1]
WAVES, PER, SIZE = 10, 100, 3000
bad = done = 0
for w in range(WAVES):
    conns = []
    for i in range(PER):
        s = socket.create_connection((addr, 7), 10)
        s.setblocking(False)
        data = os.urandom(SIZE)
        conns.append({"s": s, "out": data, "sent": 0, "back": bytearray(), "eof": False})
    sel = selectors.DefaultSelector()
    for c in conns:
        sel.register(c["s"], selectors.EVENT_READ | selectors.EVENT_WRITE, c)
    left = len(conns)
    while left:
        ev = sel.select(10)
        if not ev:
            break
        for key, mask in ev:
            c = key.data
            s = c["s"]
            if mask & selectors.EVENT_WRITE and c["sent"] < SIZE:
                c["sent"] += s.send(c["out"][c["sent"]:])
                if c["sent"] == SIZE:
                    s.shutdown(socket.SHUT_WR)
                    sel.modify(s, selectors.EVENT_READ, c)
            if mask & selectors.EVENT_READ:
                b = s.recv(65536)
                if b:
                    c["back"] += b
                else:
                    c["eof"] = True
                    sel.unregister(s)
                    left -= 1
    for c in conns:
        if not c["eof"] or bytes(c["back"]) != c["out"]:
            bad += 1
        else:
            done += 1
        c["s"].close()
print(("ok" if bad == 0 and done == WAVES * PER else "not ok") +
      f" 1000 connections (waves of {PER}) echoed byte-exact with EOF ({done} right, {bad} wrong)")
EOF
[ $? -eq 0 ] || not_ok "the 1000-connection client ran to its end"

head -c 4M /dev/urandom >"$TMPD/in"
# one ncat connection both ways: send the file, half-close, read it all back
in_c timeout 60 ncat -w 10 "$ADDR_S" 7 <"$TMPD/in" >"$TMPD/back" 2>"$TMPD/ncat.err"
rc=$?
check "ncat: 4 MiB stream exits 0 (rc=$rc)" [ $rc -eq 0 ]
check "ncat: 4 MiB echoed back byte-exact (sha256)" \
  [ "$(sha256sum <"$TMPD/in" | cut -d' ' -f1)" = "$(sha256sum <"$TMPD/back" | cut -d' ' -f1)" ]

sleep 1
if stats_now echo; then
  check "no connection left in the engine (TcpConnections 0)" [ "$(counter echo TcpConnections)" = 0 ]
  check ">= 1001 passive opens counted" [ "$(counter echo TcpPassiveOpens)" -ge 1001 ]
  check "no segment in error" [ "$(counter echo TcpInErrs)" -le 0 ]
else
  not_ok "counters on SIGUSR1"
fi
kill -TERM "$NC_PID"
if wait "$NC_PID"; then ok "echo app exits 0 on SIGTERM"; else not_ok "echo app exit status"; fi
check "no sanitizer reports" no_sanitizer_errors echo
[ $NFAIL -eq 0 ] || show_logs
exit $NFAIL
