#!/usr/bin/env bash
# The replica service layer (src/svc) with a raw application
# (tests/tools/svc_raw, src/chan's app side directly), 1 and 2 replicas:
#   - the app attaches (axlctl-visible: apps, listeners), opens a TCP
#     listener on every replica through its channels; Linux clients (ncat,
#     python) in the other namespace connect and get their bytes echoed,
#     also 256 KiB that needs the windows and rings to turn over;
#   - an outgoing connection from the app to a Linux listener (ncat -l);
#   - a second app attaching while the first runs;
#   - the app killed (SIGKILL) with connections open: the clients get
#     resets and the replica's service counters go back to zero.
. "$(dirname "$0")/lib.sh"
ulimit -c 0
RAW=$AXL_TOOLS/svc_raw

svc_stat() { replica_stat "$1" "$2"; }

bulk() { # bulk CPU PORT BYTES: python client on CPU, echo compared byte for byte
  in_c taskset -c "$1" timeout 30 /usr/bin/python3 - "$ADDR_S" "$2" "$3" <<'PY'
import os, socket, sys, threading
data = os.urandom(int(sys.argv[3]))
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=20)
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

run_suite() { # run_suite NREPLICAS
  local nr=$1 tag="r$1" i spec="afxdp:$IF_S:1"
  # With 2 replicas the device's one queue is steered by the director's flow
  # hash (a flow's frames always reach the replica that owns it, whatever CPU
  # the kernel sends them from; outgoing connections pick a source port that
  # hashes back to their replica).
  start_stackd "$tag" --port "$spec" --replicas "$nr" --addr "$ADDR_S/24" --socks 256 --ring 16384
  wait_ping "$ADDR_S" 15 || { not_ok "$tag: stack up"; show_logs; return 1; }
  for ((i = 0; i < nr; i++)); do wait_replica "$i" 0 10 >/dev/null; done
  "$RAW" --seconds 60 echo 5000 >"$TMPD/$tag.raw.out" 2>"$TMPD/$tag.raw.err" &
  local raw=$!
  PIDS+=("$raw")
  for i in $(seq 100); do [ "$(grep -c '^ready' "$TMPD/$tag.raw.out")" -ge "$nr" ] && break; sleep 0.1; done
  check "$tag: svc_raw listens through the service on $nr replica(s)" \
    [ "$(grep -c '^ready' "$TMPD/$tag.raw.out")" -eq "$nr" ]
  check "$tag: apps shows the app with $nr channel(s)" \
    bash -c "ctl_out=\$(printf 'AXL1 apps\n' | socat -t 5 - UNIX-CONNECT:$AXL_STACK); grep -q 'name=svc_raw channels=$nr listeners=1' <<<\"\$ctl_out\""
  check "$tag: listeners shows the app's tcp 5000" bash -c "printf 'AXL1 listeners\n' | socat -t 5 - UNIX-CONNECT:$AXL_STACK | grep -q 'kind=app proto=tcp port=5000 app='"
  local reply
  reply=$(printf 'hello-svc-%s\n' "$tag" | in_c taskset -c 0 timeout 10 ncat --no-shutdown -i 2 "$ADDR_S" 5000 2>/dev/null)
  check "$tag: ncat line echoed by the app" [ "$reply" = "hello-svc-$tag" ]
  # several connections, from CPU i % nr
  local okc=0
  for i in $(seq 8); do
    reply=$(printf 'c%s-%s\n' "$i" "$tag" | in_c taskset -c $((i % nr)) timeout 10 ncat --no-shutdown -i 1 "$ADDR_S" 5000 2>/dev/null)
    [ "$reply" = "c$i-$tag" ] && okc=$((okc + 1))
  done
  check "$tag: 8 sequential ncat connections echoed ($okc/8)" [ "$okc" -eq 8 ]
  bulk $((nr - 1)) 5000 262144 >"$TMPD/$tag.bulk" 2>&1
  cat "$TMPD/$tag.bulk"
  check "$tag: 256 KiB echoed byte for byte through 16 KiB rings" grep -q "bytes 262144 equal True" "$TMPD/$tag.bulk"

  # outgoing connection from the app to a Linux listener
  in_c taskset -c 0 timeout 20 ncat -l 198.18.0.1 6000 -c 'cat' >/dev/null 2>&1 &
  local lsn=$!
  sleep 0.5
  reply=$("$RAW" --seconds 10 --name out connect "$ADDR_C" 6000 "out-$tag" 2>"$TMPD/$tag.out.err")
  check "$tag: outgoing connection from the app, echoed by ncat -l" [ "$reply" = "out-$tag" ]
  kill "$lsn" 2>/dev/null

  # a second app while the first runs
  "$RAW" --seconds 30 --name second echo 5001 >"$TMPD/$tag.raw2.out" 2>"$TMPD/$tag.raw2.err" &
  local raw2=$!
  PIDS+=("$raw2")
  for i in $(seq 100); do [ "$(grep -c '^ready' "$TMPD/$tag.raw2.out")" -ge "$nr" ] && break; sleep 0.1; done
  reply=$(printf 'second\n' | in_c taskset -c $((nr - 1)) timeout 10 ncat --no-shutdown -i 1 "$ADDR_S" 5001 2>/dev/null)
  check "$tag: a second app attaches and serves while the first runs" [ "$reply" = second ]
  reply=$(printf 'first-again\n' | in_c taskset -c 0 timeout 10 ncat --no-shutdown -i 1 "$ADDR_S" 5000 2>/dev/null)
  check "$tag: the first app still serves" [ "$reply" = first-again ]
  kill -TERM "$raw2" 2>/dev/null; wait "$raw2" 2>/dev/null

  # the app dies with connections open
  in_c taskset -c $((nr - 1)) timeout 20 /usr/bin/python3 - "$ADDR_S" >"$TMPD/$tag.hold" 2>&1 <<'PY' &
import socket, sys, time
socks = []
for i in range(6):
    s = socket.create_connection((sys.argv[1], 5000), timeout=10)
    s.sendall(b"x%d\n" % i)
    assert s.recv(16) == b"x%d\n" % i
    socks.append(s)
print("open", len(socks), flush=True)
resets = 0
for s in socks:
    s.settimeout(10)
    try:
        b = s.recv(16)
        if b == b"": print("eof")
    except ConnectionResetError:
        resets += 1
print("resets", resets, flush=True)
PY
  local hold=$!
  for i in $(seq 100); do grep -q '^open' "$TMPD/$tag.hold" && break; sleep 0.1; done
  local conns
  conns=$(svc_stat total SvcConnsNow)
  check "$tag: 6 open connections held by the service ($conns)" [ "$conns" -ge 6 ]
  kill -KILL "$raw"
  wait "$hold" 2>/dev/null
  cat "$TMPD/$tag.hold"
  check "$tag: the clients of the killed app get resets" grep -q '^resets 6' "$TMPD/$tag.hold"
  local z=0
  for i in $(seq 50); do
    if [ "$(svc_stat total SvcConnsNow)" = 0 ] && [ "$(svc_stat total SvcSocketsNow)" = 0 ] &&
       [ "$(svc_stat total SvcAppsNow)" = 0 ] && [ "$(svc_stat total SvcReclaimPending)" = 0 ]; then z=1; break; fi
    sleep 0.1
  done
  check "$tag: connections, sockets, apps back to zero" [ $z -eq 1 ]
  check "$tag: the app is gone from apps and listeners" \
    bash -c "! printf 'AXL1 apps\nAXL1 listeners\n' | socat -t 5 - UNIX-CONNECT:$AXL_STACK | grep -q 'svc_raw\|port=5000'"
  local gone
  gone=$(svc_stat total SvcAppsGone)
  check "$tag: SvcAppsGone counted ($gone >= 3)" [ "$gone" -ge 3 ]
  check "$tag: no violations counted" [ "$(svc_stat total SvcViolations)" = 0 ]
  check "$tag: clean exit" stop_stackd
  check "$tag: no sanitizer reports" no_sanitizer_errors "$tag"
  [ $NFAIL -eq 0 ] || show_logs
}

netns_up 2
# 1 replica serves queue 0 only: every CPU of the client side transmits on it
in_c sh -c "printf 3 > /sys/class/net/$IF_C/queues/tx-0/xps_cpus; printf 0 > /sys/class/net/$IF_C/queues/tx-1/xps_cpus" ||
  { not_ok "setup: XPS on the client veth"; exit 1; }
run_suite 1
run_suite 2
[ $NFAIL -eq 0 ] || exit 1
