#!/usr/bin/env bash
# axl-stackd --tcp-echo PORT: the built-in RFC 862 TCP echo service of every
# replica, in the listener registry like --udp-echo. The Linux kernel in the
# client namespace connects with ncat and python; every byte comes back, in
# order, also 1 MiB that needs flow control both ways; the service closes
# after the client's FIN; `axlctl listeners` shows the entry.
. "$(dirname "$0")/lib.sh"
netns_up 1
start_stackd te --port "afxdp:$IF_S" --addr "$ADDR_S/24" --tcp-echo 7 --tcp-echo 2007
wait_ping "$ADDR_S" 15 || { not_ok "stack up"; show_logs; exit 1; }

reply=$(printf 'hello-tcp-echo\n' | in_c timeout 10 ncat --no-shutdown -i 2 "$ADDR_S" 7 2>/dev/null)
check "ncat: one line echoed on port 7" [ "$reply" = hello-tcp-echo ]
reply=$(printf 'second-port-%s\n' "$TAG" | in_c timeout 10 ncat --no-shutdown -i 2 "$ADDR_S" 2007 2>/dev/null)
check "ncat: one line echoed on port 2007" [ "$reply" = "second-port-$TAG" ]

# 1 MiB of random bytes through the echo, sender and reader concurrent; the
# service closes its side after our FIN (recv returns EOF).
in_c timeout 30 /usr/bin/python3 - "$ADDR_S" >"$TMPD/bulk.txt" 2>&1 <<'PY'
import hashlib, os, socket, sys, threading
data = os.urandom(1 << 20)
s = socket.create_connection((sys.argv[1], 7), timeout=20)
def send():
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
t = threading.Thread(target=send); t.start()
got = bytearray()
while True:
    b = s.recv(65536)
    if not b:
        break
    got += b
t.join()
print("bytes", len(got), "equal", got == data)
PY
cat "$TMPD/bulk.txt"
check "python: 1 MiB echoed byte for byte, then FIN" grep -q "bytes 1048576 equal True" "$TMPD/bulk.txt"

# Ten clients at once.
for i in $(seq 10); do
  (printf 'client-%s\n' "$i" | in_c timeout 10 ncat --no-shutdown -i 2 "$ADDR_S" 7 >"$TMPD/c$i.txt" 2>/dev/null) &
done
wait_ok=1
for i in $(seq 10); do
  for _ in $(seq 100); do [ -s "$TMPD/c$i.txt" ] && break; sleep 0.1; done
done
sleep 2.5
for i in $(seq 10); do [ "$(cat "$TMPD/c$i.txt")" = "client-$i" ] || wait_ok=0; done
check "ten concurrent ncat clients each get their own line back" [ $wait_ok -eq 1 ]

lst=$(ctl_raw listeners)
check "listeners shows the tcp echo entries" bash -c "grep -q 'kind=tcp-echo proto=tcp port=7 ' <<<'$lst' && grep -q 'port=2007' <<<'$lst'"
msg=$("$AXL_BIN/axl-stackd" --port afxdp:lo --addr 198.18.0.2/24 --tcp-echo 0 2>&1); rc=$?
check "--tcp-echo 0 is refused: exit 2 with a message ($rc)" bash -c "[ $rc -eq 2 ] && grep -q 'not a port number' <<<'$msg'"
check "clean exit on SIGTERM" stop_stackd
check "no sanitizer reports" no_sanitizer_errors te
[ $NFAIL -eq 0 ] || { show_logs; exit 1; }
