#!/usr/bin/env bash
# The native API in isolated mode (src/axl/iso.c): axl-nc attached to
# axl-stackd over shared-memory channels, as a separate process, with Linux
# clients in the other namespace (pinned per steer_queues so that a client on
# CPU c talks to replica c):
#   - 1 and 2 replicas: 1,000 TCP connections in waves of 50 through the echo
#     service, every byte compared; with 2 replicas both serve (counters);
#     256 KiB echoed byte for byte; axlctl shows the app and its listener;
#   - an outgoing connection from the app to a Linux echo server, byte-exact;
#   - UDP echo through the service on every replica;
#   - a second app attaches and serves while the first runs;
#   - (2 replicas) replica 1 killed while the app runs: its connections are
#     aborted, the app survives, reattaches, and serves new connections on
#     both replicas again;
#   - 4 replicas on one queue with the director: correctness (waves, UDP).
. "$(dirname "$0")/lib.sh"
ulimit -c 0
NC=$AXL_BIN/axl-nc

# waves CPU N PORT OUT: N connections from CPU (client side) in waves of 50
# concurrent ones, each sending 1..3000 random bytes and reading them back;
# writes "ok K of N" to OUT.
waves() {
  in_c taskset -c "$1" timeout 120 /usr/bin/python3 - "$ADDR_S" "$3" "$2" >"$4" 2>&1 <<'PY'
import os, random, selectors, socket, sys, time
addr, port, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ok = 0
t_end = time.monotonic() + 100
done = 0
while done < total and time.monotonic() < t_end:
    wave = min(50, total - done)
    sel = selectors.DefaultSelector()
    conns = []
    for i in range(wave):
        s = socket.socket()
        s.settimeout(10)
        try:
            s.connect((addr, port))
        except OSError as e:
            print("connect:", e, flush=True)
            s.close()
            continue
        data = os.urandom(random.randint(1, 3000))
        s.sendall(data)
        s.setblocking(False)
        st = {"s": s, "want": data, "got": bytearray()}
        conns.append(st)
        sel.register(s, selectors.EVENT_READ, st)
    deadline = time.monotonic() + 20
    left = len(conns)
    while left and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1):
            st = key.data
            try:
                b = st["s"].recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                b = b""
            if b:
                st["got"] += b
            if not b or len(st["got"]) >= len(st["want"]):
                sel.unregister(st["s"])
                left -= 1
    for st in conns:
        if bytes(st["got"]) == st["want"]:
            ok += 1
        st["s"].close()
    done += wave
print("ok", ok, "of", total, flush=True)
PY
}

bulk() { # bulk PORT BYTES: one connection, echo compared byte for byte
  in_c taskset -c 0 timeout 60 /usr/bin/python3 - "$ADDR_S" "$1" "$2" <<'PY'
import os, socket, sys, threading
data = os.urandom(int(sys.argv[3]))
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
t = threading.Thread(target=lambda: (s.sendall(data), s.shutdown(socket.SHUT_WR))); t.start()
got = bytearray()
while True:
    b = s.recv(65536)
    if not b: break
    got += b
t.join()
print("bytes", len(got), "equal", got == data)
PY
}

udp_echo_check() { # udp_echo_check CPU PORT N: N datagrams from CPU, prints "got K"
  in_c taskset -c "$1" timeout 30 /usr/bin/python3 - "$ADDR_S" "$2" "$3" <<'PY'
import os, socket, sys
addr, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
got = 0
for i in range(n):
    msg = b"udp-%d-" % i + os.urandom(64 + i % 900)
    for attempt in range(3):  # UDP: a lost datagram is sent again
        s.sendto(msg, (addr, port))
        try:
            if s.recv(4096) == msg:
                got += 1
                break
        except socket.timeout:
            pass
print("got", got)
PY
}

# start_app NAME ARGS...: axl-nc in isolated mode (a separate process,
# outside the namespaces: it needs only the control socket), logs in $TMPD.
start_app() {
  local name=$1; shift
  "$NC" --stack "$AXL_STACK" --log-level info "$@" >"$TMPD/$name.out" 2>"$TMPD/$name.err" &
  APP_PID=$!
  PIDS+=("$APP_PID")
}
wait_log() { # wait_log FILE PATTERN [SECONDS]
  local i
  for ((i = 0; i < ${3:-10} * 10; i++)); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
app_channels() { # app_channels NAME: the channels= of app NAME in "apps"
  ctl_raw apps | awk -v n="name=$1" '$0 ~ n { for (i = 1; i <= NF; i++) if ($i ~ /^channels=/) { sub("channels=", "", $i); print $i; exit } }'
}
app_ok() { # app_ok NAME: it ran, stopped on SIGTERM with 0, no sanitizer report
  ! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$TMPD/$1.err"
}

run_suite() { # run_suite NREPLICAS QUEUES CPUS
  local nr=$1 nq=$2 ncpu=$3 tag="r$1" i reply
  local spec="afxdp:$IF_S:$nq"
  [ "$nq" = 1 ] && spec="afxdp:$IF_S"
  start_stackd "$tag" --port "$spec" --replicas "$nr" --addr "$ADDR_S/24" --socks 1024 --ring 16384
  wait_ping "$ADDR_S" 15 || { not_ok "$tag: stack up"; show_logs; return 1; }
  for ((i = 0; i < nr; i++)); do wait_replica "$i" 0 10 >/dev/null; done
  start_app "$tag.echo" -l 5000 --echo
  local app=$APP_PID
  wait_log "$TMPD/$tag.echo.err" "listening on port 5000" 10
  check "$tag: axl-nc attached in isolated mode and listens" grep -q "attached to axl-stackd.*: $nr of" "$TMPD/$tag.echo.err"
  check "$tag: apps shows axl-nc with $nr channel(s) and 1 listener" \
    bash -c "printf 'AXL1 apps\n' | socat -t 5 - UNIX-CONNECT:$AXL_STACK | grep -q 'name=axl-nc channels=$nr listeners=1'"
  check "$tag: listeners shows the app's tcp 5000" \
    bash -c "printf 'AXL1 listeners\n' | socat -t 5 - UNIX-CONNECT:$AXL_STACK | grep -q 'kind=app proto=tcp port=5000 app='"
  reply=$(printf 'hello-iso-%s\n' "$tag" | in_c taskset -c 0 timeout 10 ncat --no-shutdown -i 2 "$ADDR_S" 5000 2>/dev/null)
  check "$tag: ncat line echoed by the isolated app" [ "$reply" = "hello-iso-$tag" ]

  # 1,000 connections in waves, spread over the client CPUs (= queues)
  local per=$((1000 / ncpu)) c before=() after=() sum=0
  for ((i = 0; i < nr; i++)); do before[i]=$(replica_stat "$i" TcpPassiveOpens); done
  local wp=()
  for ((c = 0; c < ncpu; c++)); do waves "$c" "$per" 5000 "$TMPD/$tag.waves$c" & wp+=($!); done
  wait "${wp[@]}"
  for ((c = 0; c < ncpu; c++)); do
    cat "$TMPD/$tag.waves$c" | tail -n 3
    local got
    got=$(awk '$1 == "ok" { print $2 }' "$TMPD/$tag.waves$c")
    sum=$((sum + ${got:-0}))
  done
  check "$tag: 1,000 connections in waves of 50, every byte echoed ($sum/1000)" [ "$sum" -eq 1000 ]
  for ((i = 0; i < nr; i++)); do after[i]=$(replica_stat "$i" TcpPassiveOpens); done
  if [ "$nr" -gt 1 ]; then
    local served=0 line=""
    for ((i = 0; i < nr; i++)); do
      local d=$((after[i] - before[i]))
      line+=" r$i=$d"
      [ "$d" -ge $((1000 / nr / 4)) ] && served=$((served + 1))
    done
    check "$tag: every replica served a share of them (${line# })" [ "$served" -eq "$nr" ]
  fi
  bulk 5000 262144 >"$TMPD/$tag.bulk" 2>&1
  cat "$TMPD/$tag.bulk"
  check "$tag: 256 KiB echoed byte for byte through 16 KiB rings" grep -q "bytes 262144 equal True" "$TMPD/$tag.bulk"

  # outgoing connection from the app (the first connect of a context goes
  # to replica 0: the Linux server runs on CPU 0, whose transmit queue XPS
  # maps to queue 0; with the director the replica picks a port that steers).
  # The server stores what it gets and answers with its length and SHA-256:
  # bytes towards the app stay below the ring size, because the service
  # drops what the engine still holds beyond a full RX ring when the
  # connection ends after our own FIN (svc.c on_cleanup; see docs/API.md).
  in_c taskset -c 0 timeout 30 /usr/bin/python3 - 6000 "$TMPD/$tag.got" >"$TMPD/$tag.srv" 2>&1 <<'PY' &
import hashlib, socket, sys
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("198.18.0.1", int(sys.argv[1]))); l.listen(4)
print("listening", flush=True)
c, _ = l.accept()
data = bytearray()
while True:
    b = c.recv(65536)
    if not b: break
    data += b
open(sys.argv[2], "wb").write(data)
c.sendall(b"got %d %s\n" % (len(data), hashlib.sha256(data).hexdigest().encode()))
c.shutdown(socket.SHUT_WR)
print("received", len(data), flush=True)
PY
  local srv=$!
  wait_log "$TMPD/$tag.srv" listening 10
  head -c 300000 /dev/urandom >"$TMPD/$tag.file"
  timeout 60 "$NC" --stack "$AXL_STACK" --timeout 50 "$ADDR_C" 6000 <"$TMPD/$tag.file" >"$TMPD/$tag.back" 2>"$TMPD/$tag.conn.err"
  local rc=$?
  wait "$srv" 2>/dev/null
  local want
  want="got 300000 $(sha256sum <"$TMPD/$tag.file" | cut -d' ' -f1)"
  check "$tag: outgoing connection from the isolated app (exit $rc): 300 kB arrive byte-exact" \
    cmp -s "$TMPD/$tag.file" "$TMPD/$tag.got"
  check "$tag: ... and the server's answer comes back" [ "$(cat "$TMPD/$tag.back")" = "$want" ]

  # UDP echo through the service, from every client CPU
  start_app "$tag.udp" -u -l 7007 --echo
  local uapp=$APP_PID
  wait_log "$TMPD/$tag.udp.err" "UDP echo on port 7007" 10
  for ((c = 0; c < ncpu; c++)); do
    reply=$(udp_echo_check "$c" 7007 50)
    check "$tag: UDP echo through the service from CPU $c ($reply of 50)" [ "$reply" = "got 50" ]
  done
  # the app as a UDP client of a Linux echo server (its port is bound on
  # every replica, so a reply may come back on any queue)
  in_c taskset -c 0 timeout 20 /usr/bin/python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.18.0.1", 7008)); s.settimeout(15)
print("ready", flush=True)
for _ in range(3):
    b, a = s.recvfrom(2048); s.sendto(b, a)
' >"$TMPD/$tag.usrv" 2>&1 &
  local usrv=$!
  wait_log "$TMPD/$tag.usrv" ready 10
  reply=$(printf 'one\ntwo\nthree\n' | timeout 20 "$NC" --stack "$AXL_STACK" -u "$ADDR_C" 7008 2>"$TMPD/$tag.uc.err")
  check "$tag: axl-nc -u as a client: 3 datagrams echoed by a Linux server" \
    [ "$(printf '%s\n' "$reply" | sort | tr '\n' ' ')" = "one three two " ]
  kill "$usrv" 2>/dev/null; wait "$usrv" 2>/dev/null
  kill -TERM "$uapp"; wait "$uapp"
  check "$tag: the UDP app exits 0 on SIGTERM" [ $? -eq 0 ]

  # a second app attaches while the first runs
  start_app "$tag.second" -l 5001 --echo
  local app2=$APP_PID
  wait_log "$TMPD/$tag.second.err" "listening on port 5001" 10
  reply=$(printf 'second\n' | in_c taskset -c 0 timeout 10 ncat --no-shutdown -i 1 "$ADDR_S" 5001 2>/dev/null)
  check "$tag: a second app attaches and serves while the first runs" [ "$reply" = second ]
  reply=$(printf 'first-again\n' | in_c taskset -c 0 timeout 10 ncat --no-shutdown -i 1 "$ADDR_S" 5000 2>/dev/null)
  check "$tag: the first app still serves" [ "$reply" = first-again ]
  kill -TERM "$app2"; wait "$app2"
  check "$tag: the second app exits 0 on SIGTERM" [ $? -eq 0 ]

  if [ "$nr" = 2 ] && [ "$nq" = 2 ]; then
    # replica 1 dies while the app has connections on it
    local go=$TMPD/$tag.go
    in_c taskset -c 1 timeout 40 /usr/bin/python3 - "$ADDR_S" "$go" >"$TMPD/$tag.hold" 2>&1 <<'PY' &
import os, socket, sys, time
socks = []
for i in range(4):
    s = socket.create_connection((sys.argv[1], 5000), timeout=10)
    s.sendall(b"x%d\n" % i)
    assert s.recv(16) == b"x%d\n" % i
    socks.append(s)
print("open", len(socks), flush=True)
while not os.path.exists(sys.argv[2]):  # the test kills replica 1, then creates it
    time.sleep(0.05)
broken = 0
for s in socks:
    s.settimeout(5)
    try:
        s.sendall(b"after\n")
        if s.recv(16) == b"":
            broken += 1
    except (ConnectionResetError, BrokenPipeError, socket.timeout):
        broken += 1
print("broken", broken, flush=True)
PY
    local hold=$!
    wait_log "$TMPD/$tag.hold" '^open 4' 20
    local r1_before
    r1_before=$(replica_field 1 pid)
    axlctl --ctl "$AXL_STACK" kill-replica 1 >/dev/null 2>&1
    local t
    t=$(wait_replica 1 1 15)
    check "$tag: replica 1 restarted after kill-replica (${t:-?} s)" [ -n "$t" ]
    touch "$go"
    wait "$hold" 2>/dev/null
    cat "$TMPD/$tag.hold"
    check "$tag: the 4 connections on the killed replica are broken" grep -q '^broken 4' "$TMPD/$tag.hold"
    check "$tag: the app survives the replica's death" kill -0 "$app"
    check "$tag: the app saw its connections aborted (-ECONNABORTED)" \
      grep -q "connection aborted (its stack replica died)" "$TMPD/$tag.echo.err"
    local ch=""
    for i in $(seq 100); do ch=$(app_channels axl-nc); [ "$ch" = 2 ] && break; sleep 0.1; done
    check "$tag: the app reattached to the restarted replica (channels=$ch)" [ "$ch" = 2 ]
    check "$tag: it re-created its listener there" wait_log "$TMPD/$tag.echo.err" "replica 1 reattached: 1 listener" 5
    local r1_pid
    r1_pid=$(replica_field 1 pid)
    check "$tag: replica 1 is a new process ($r1_before -> $r1_pid)" [ "$r1_before" != "$r1_pid" ]
    local b1
    b1=$(replica_stat 1 TcpPassiveOpens)
    wp=()
    for ((c = 0; c < 2; c++)); do waves "$c" 100 5000 "$TMPD/$tag.after$c" & wp+=($!); done
    wait "${wp[@]}"
    sum=0
    for ((c = 0; c < 2; c++)); do
      got=$(awk '$1 == "ok" { print $2 }' "$TMPD/$tag.after$c")
      sum=$((sum + ${got:-0}))
    done
    check "$tag: after the restart 200 new connections echo ($sum/200)" [ "$sum" -eq 200 ]
    local a1
    a1=$(replica_stat 1 TcpPassiveOpens)
    check "$tag: the restarted replica serves the app again ($((a1 - b1)) connections)" [ $((a1 - b1)) -ge 50 ]
  fi

  kill -TERM "$app"; wait "$app"
  check "$tag: axl-nc exits 0 on SIGTERM" [ $? -eq 0 ]
  for f in "$TMPD/$tag".*.err; do
    [ -f "$f" ] || continue
    local n
    n=$(basename "$f" .err)
    check "$tag: no sanitizer reports ($n)" app_ok "$n"
  done
  local z=0
  for i in $(seq 50); do
    [ "$(replica_stat total SvcAppsNow)" = 0 ] && [ "$(replica_stat total SvcSocketsNow)" = 0 ] && { z=1; break; }
    sleep 0.1
  done
  check "$tag: the service holds no app and no socket after the apps left" [ $z -eq 1 ]
  check "$tag: no channel violations counted" [ "$(replica_stat total SvcViolations)" = 0 ]
  # an app still attached when the stack stops: it is told, and exits
  start_app "$tag.left" -l 5009 --echo
  local left=$APP_PID
  wait_log "$TMPD/$tag.left.err" "listening on port 5009" 10
  check "$tag: clean exit" stop_stackd
  for i in $(seq 100); do kill -0 "$left" 2>/dev/null || break; sleep 0.1; done
  wait "$left"
  local lrc=$?
  check "$tag: an app attached when the stack stops is told and exits 1 (exit $lrc)" \
    bash -c "[ $lrc -eq 1 ] && grep -q 'the stack is gone' '$TMPD/$tag.left.err'"
  check "$tag: no sanitizer reports ($tag.left)" app_ok "$tag.left"
  check "$tag: no sanitizer reports (stack)" no_sanitizer_errors "$tag"
  [ $NFAIL -eq 0 ] || show_logs
}

netns_up 2
steer_queues 2 || { not_ok "setup: XPS steering on the client veth"; exit 1; }
run_suite 1 1 1
run_suite 2 2 2
# 4 replicas on this 2-CPU machine: one queue, the director steers by hash
run_suite 4 1 1
[ $NFAIL -eq 0 ] || exit 1
