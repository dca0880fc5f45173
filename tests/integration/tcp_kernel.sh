#!/usr/bin/env bash
# TCP between the stack (axl-nc, run-to-completion, on AF_XDP) and the Linux
# kernel in the client namespace, over a veth pair:
#   - stack as server: ncat sends 8 MiB, axl-nc -l writes it out (sha256)
#   - stack as client: axl-nc sends 8 MiB to `ncat -l`, and receives 8 MiB
#     back from socat in the same connection (half-close in between)
#   - echo service (axl-nc -l --echo): 16 concurrent clients x 512 KiB,
#     1000 short connections in a row, all byte-exact; afterwards no
#     connection left and TcpCurrEstab back to 0
#   - a closed port answers RST (the kernel sees ECONNREFUSED); connecting
#     to a closed kernel port makes axl-nc fail with "connection refused"
# Bulk sizes: tests/integration/tcp_bulk.sh (64 MiB each way; 1 GiB on demand).
. "$(dirname "$0")/lib.sh"
netns_up 1
NC=$AXL_BIN/axl-nc
PY=/usr/bin/python3

sha() { sha256sum "$1" | awk '{print $1}'; }

# start_nc NAME ARGS...: axl-nc in the stack namespace, in the background.
start_nc() {
  local name=$1; shift
  ip netns exec "$NS_S" "$NC" --port "afxdp:$IF_S" --addr "$ADDR_S/24" \
     --stats-out "$TMPD/$name.stats" "$@" >"$TMPD/$name.out" 2>"$TMPD/$name.err" &
  NC_PID=$!
  PIDS+=("$NC_PID")
}
nc_stats() { # NAME: ask a running axl-nc for its counters
  local f=$TMPD/$1.stats i
  rm -f "$f"
  kill -USR1 "$NC_PID" 2>/dev/null || return 1
  for ((i = 0; i < 50; i++)); do [ -s "$f" ] && return 0; sleep 0.1; done
  return 1
}
# wait_listen PORT: until the stack answers a TCP connect on PORT.
wait_listen() {
  local i
  for ((i = 0; i < 50; i++)); do
    in_c "$PY" -c "import socket,sys; s=socket.create_connection(('$ADDR_S', $1), 0.5); s.close()" \
      2>/dev/null && return 0
    kill -0 "$NC_PID" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}

head -c 8M /dev/urandom >"$TMPD/in8"
head -c 8M /dev/urandom >"$TMPD/back8"

# --- stack as server ----------------------------------------------------------------
start_nc srv -l 5001
for _ in $(seq 75); do # until the stack answers a ping (the listener is up by then)
  in_c ping -c 1 -W 1 -q "$ADDR_S" >/dev/null 2>&1 && break
  kill -0 "$NC_PID" 2>/dev/null || break
  sleep 0.2
done
in_c timeout 60 ncat --send-only "$ADDR_S" 5001 <"$TMPD/in8"
if wait "$NC_PID"; then ok "axl-nc -l exits 0 when the kernel client closes"; else not_ok "axl-nc -l exit status"; fi
mv "$TMPD/srv.out" "$TMPD/srv.data" # binary: keep it out of show_logs
check "kernel -> stack 8 MiB byte-exact (sha256)" [ "$(sha "$TMPD/in8")" = "$(sha "$TMPD/srv.data")" ]
check "server counters: segments in, none in error" \
  awk '$2=="TcpInSegs"{i=$3} $2=="TcpInErrs"{e=$3} END{exit !(i>1000 && e==0)}' "$TMPD/srv.stats"

# --- stack as client ----------------------------------------------------------------
in_c timeout 60 socat -u TCP-LISTEN:5002,reuseaddr "OPEN:$TMPD/cli.recv,creat,trunc" &
SOC=$!
PIDS+=("$SOC")
sleep 0.5
in_s timeout 60 "$NC" --port "afxdp:$IF_S" --addr "$ADDR_S/24" --stats-out "$TMPD/cli.stats" \
  "$ADDR_C" 5002 <"$TMPD/in8" >"$TMPD/cli.data" 2>"$TMPD/cli.err"
rc=$?
wait "$SOC"
check "axl-nc client exits 0 (rc=$rc)" [ $rc -eq 0 ]
check "stack -> kernel 8 MiB byte-exact (sha256)" [ "$(sha "$TMPD/in8")" = "$(sha "$TMPD/cli.recv")" ]

# Both directions in one connection: the kernel sends its file back after our
# half-close (socat: read all, then send).
in_c timeout 60 "$PY" - "$ADDR_C" 5003 "$TMPD/back8" "$TMPD/dup.recv" <<'EOF' &
import socket, sys
addr, port, back, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((addr, port)); ls.listen(1)
c, _ = ls.accept()
with open(out, "wb") as f:
    while True:
        b = c.recv(1 << 16)
        if not b: break
        f.write(b)
c.sendall(open(back, "rb").read())
c.close()
EOF
PYS=$!
PIDS+=("$PYS")
sleep 0.5
in_s timeout 60 "$NC" --port "afxdp:$IF_S" --addr "$ADDR_S/24" "$ADDR_C" 5003 \
  <"$TMPD/in8" >"$TMPD/dup.data" 2>"$TMPD/dup.err"
rc=$?
wait "$PYS"
check "half-close: axl-nc exits 0 after both directions (rc=$rc)" [ $rc -eq 0 ]
check "half-close: 8 MiB out intact" [ "$(sha "$TMPD/in8")" = "$(sha "$TMPD/dup.recv")" ]
check "half-close: 8 MiB back intact" [ "$(sha "$TMPD/back8")" = "$(sha "$TMPD/dup.data")" ]

# A closed kernel port: RST -> "connection refused", exit 1.
in_s timeout 20 "$NC" --port "afxdp:$IF_S" --addr "$ADDR_S/24" "$ADDR_C" 5999 \
  </dev/null >/dev/null 2>"$TMPD/ref.err"
rc=$?
check "connect to a closed port fails (rc=$rc)" [ $rc -eq 1 ]
check "... with 'connection refused'" grep -q "connection refused" "$TMPD/ref.err"

# --- echo service -------------------------------------------------------------------
start_nc echo -l 7 --echo
wait_listen 7 || { not_ok "echo service up"; show_logs; exit 1; }
ok "echo service answers"
in_c timeout 120 "$PY" - "$ADDR_S" <<'EOF'
import os, socket, sys, threading, hashlib
addr = sys.argv[1]
bad = []
def one(i):
    data = os.urandom(512 * 1024)
    s = socket.create_connection((addr, 7), 10)
    got = bytearray()
    def rd():
        while True:
            b = s.recv(1 << 16)
            if not b: break
            got.extend(b)
    t = threading.Thread(target=rd); t.start()
    s.sendall(data); s.shutdown(socket.SHUT_WR)
    t.join(60); s.close()
    if bytes(got) != data: bad.append(i)
ts = [threading.Thread(target=one, args=(i,)) for i in range(16)]
for t in ts: t.start()
for t in ts: t.join()
print(("ok" if not bad else "not ok") + " echo: 16 concurrent clients x 512 KiB byte-exact" + (f" (bad: {bad})" if bad else ""))
EOF
in_c timeout 180 "$PY" - "$ADDR_S" <<'EOF'
import socket, sys
addr = sys.argv[1]
bad = 0
for i in range(1000):
    msg = b"conn %d " % i + bytes(range(256)) * 2
    s = socket.create_connection((addr, 7), 5)
    s.sendall(msg); s.shutdown(socket.SHUT_WR)
    got = b""
    while True:
        b = s.recv(4096)
        if not b: break
        got += b
    s.close()
    if got != msg: bad += 1
print(("ok" if bad == 0 else "not ok") + f" echo: 1000 short connections in a row ({bad} wrong)")
EOF
sleep 1
if nc_stats echo; then
  check "echo: no connection left (TcpConnections 0)" \
    awk '$2=="TcpConnections"{c=$3} END{exit !(c==0)}' "$TMPD/echo.stats"
  check "echo: TcpCurrEstab back to 0" awk '$2=="TcpCurrEstab"{exit !($3==0)}' "$TMPD/echo.stats"
  check "echo: >= 1016 passive opens counted" awk '$2=="TcpPassiveOpens"{exit !($3>=1016)}' "$TMPD/echo.stats"
else
  not_ok "echo: counters on SIGUSR1"
fi

# 10,000 connections open at the same time, each echoing once, then all
# closed: the stack must hold them all and end with none left.
in_c bash -c "ulimit -n 40000 2>/dev/null; timeout 300 $PY - $ADDR_S" <<'EOF'
import socket, sys
addr = sys.argv[1]
N = 10000
socks, bad = [], 0
for i in range(N):
    s = socket.create_connection((addr, 7), 10)
    socks.append(s)
for i, s in enumerate(socks):
    s.sendall(b"%05d" % i)
for i, s in enumerate(socks):
    got = b""
    while len(got) < 5:
        b = s.recv(16)
        if not b: break
        got += b
    if got != b"%05d" % i: bad += 1
print(("ok" if bad == 0 else "not ok") + f" echo: {N} concurrent connections, each echoed ({bad} wrong)")
for s in socks:
    s.close()
EOF
sleep 2
if nc_stats echo; then
  check "echo: after 10,000 concurrent connections no connection is left" \
    awk '$2=="TcpConnections"{c=$3} END{exit !(c==0)}' "$TMPD/echo.stats"
  check "echo: TcpCurrEstab back to 0 after 10,000" awk '$2=="TcpCurrEstab"{exit !($3==0)}' "$TMPD/echo.stats"
fi

# A closed stack port: the kernel gets RST -> ECONNREFUSED at once.
out=$(in_c "$PY" -c "
import socket
try:
    socket.create_connection(('$ADDR_S', 4444), 3); print('connected')
except ConnectionRefusedError: print('refused')
except Exception as e: print(type(e).__name__)")
check "closed stack port answers RST (kernel: $out)" [ "$out" = refused ]

kill -TERM "$NC_PID"
if wait "$NC_PID"; then ok "echo service exits 0 on SIGTERM"; else not_ok "echo service exit status"; fi
check "no sanitizer reports (server)" no_sanitizer_errors srv
check "no sanitizer reports (client)" no_sanitizer_errors cli
check "no sanitizer reports (echo)" no_sanitizer_errors echo
[ $NFAIL -eq 0 ] || show_logs
exit $NFAIL
