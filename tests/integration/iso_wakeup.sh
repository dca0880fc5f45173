#!/usr/bin/env bash
# Lost wake-ups in isolated mode: axl-httpd attached to axl-stackd (one
# replica on CPU 0), one keep-alive connection, 1,000 requests one at a time
# with a pause of 0.5-2 ms after each answer, so that between two requests
# both sides go to sleep (the app in futex_waitv on the replica's activity
# word, the replica in poll(2) on its port and bell) and every request must
# wake both: the replica by the frame (kernel), the app by the replica's
# FUTEX_WAKE (deferred to the end of a burst of news, svc.c
# SVC_WAKE_QUIET_NS), the replica again by the app's bell (eventfd) or its
# own loop. Run twice: the app on the replica's CPU (where the app can only
# run when the replica yields) and on the other CPU.
#
# A lost wake-up does not hang (every sleep is bounded), it stalls: the app
# sleeps at most 250 ms (ISO_SLEEP_MAX_NS), the replica until its next timer
# (the 40 ms delayed ACK of the request) or 500 ms. So: every request must be
# answered, none may take 1 s or more, and at most 3 % of them 30 ms or more
# (a loaded machine can delay a process a few ms, rarely tens; a lost wake-up
# costs >= 40 ms each time it happens). The counters show that the path was
# taken: the app slept (AxlIsoSleeps) and the replica woke it (SvcAppWakes)
# at least once per two requests.
. "$(dirname "$0")/lib.sh"
ROUNDS=1000
netns_up 1
start_stackd wk --port "afxdp:$IF_S" --addr "$ADDR_S/24" --cpu 0
wait_ping "$ADDR_S" 15 || { not_ok "stack up"; show_logs; exit 1; }
mkdir -p "$TMPD/www"
printf 'hello, isolated world\n' >"$TMPD/www/a.txt"

# svc_wakes: SvcAppWakes of the stack (total column of axlctl stats)
svc_wakes() { axlctl stats 2>/dev/null | awk '$1 == "SvcAppWakes" { v = $NF } END { print v + 0 }'; }

# run_case NAME APPCPU CLIENTCPU PORT
run_case() {
  local name=$1 acpu=$2 ccpu=$3 port=$4 app w0 w1 up=0 i
  ip netns exec "$NS_S" taskset -c "$acpu" "$AXL_BIN/axl-httpd" --root "$TMPD/www" --listen "$port" \
    --stack "$AXL_STACK" --stats-out "$TMPD/httpd-$name.stats" \
    >"$TMPD/httpd-$name.out" 2>"$TMPD/httpd-$name.err" &
  app=$!
  PIDS+=("$app")
  for ((i = 0; i < 100; i++)); do
    in_c timeout 1 bash -c "exec 3<>/dev/tcp/$ADDR_S/$port" 2>/dev/null && { up=1; break; }
    kill -0 "$app" 2>/dev/null || break
    sleep 0.2
  done
  [ $up -eq 1 ] || { not_ok "$name: axl-httpd --stack serves"; show_logs; return; }
  w0=$(svc_wakes)
  in_c taskset -c "$ccpu" timeout 120 /usr/bin/python3 - "$ADDR_S" "$port" "$ROUNDS" \
    >"$TMPD/rounds-$name.out" 2>&1 <<'PY'
import random, socket, sys, time
addr, port, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.create_connection((addr, port), timeout=5)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.settimeout(2.0)  # a round of 2 s fails below anyway (>= 1 s)
req = ("GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n").encode()
lat, answered = [], 0
t_end = time.monotonic() + 90
random.seed(7)
for i in range(rounds):
    if time.monotonic() > t_end:
        break
    t0 = time.monotonic()
    s.sendall(req)
    buf = b""
    try:
        while True:
            d = s.recv(4096)
            if not d:
                raise OSError("closed")
            buf += d
            h = buf.find(b"\r\n\r\n")
            if h >= 0:
                cl = 0
                for line in buf[:h].split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length":
                        cl = int(v)
                if len(buf) >= h + 4 + cl:
                    break
    except OSError as e:
        print("round", i, "failed:", e)
        break
    lat.append(time.monotonic() - t0)
    answered += 1
    time.sleep(random.uniform(0.0005, 0.002))
slow = sum(1 for x in lat if x >= 0.030)
worst = max(lat) if lat else 0
lat.sort()
p50 = lat[len(lat) // 2] if lat else 0
print("answered", answered, "slow", slow, "worst_ms", "%.1f" % (worst * 1e3), "p50_us", "%.0f" % (p50 * 1e6),
      "slow_ms", " ".join(["%.1f" % (x * 1e3) for x in lat if x >= 0.030][:20]) or "-")
PY
  w1=$(svc_wakes)
  kill -TERM "$app" 2>/dev/null
  wait "$app" 2>/dev/null
  local res ans slow worst sleeps
  res=$(grep '^answered' "$TMPD/rounds-$name.out")
  echo "# $name: $res; app sleeps $(awk '$1 == "AxlIsoSleeps" { print $2 }' "$TMPD/httpd-$name.stats"), replica wake-ups of the app $((w1 - w0))"
  ans=$(echo "$res" | awk "{ print \$2 }")
  slow=$(echo "$res" | awk '{ print $4 }')
  worst=$(echo "$res" | awk '{ print $6 }')
  sleeps=$(awk '$1 == "AxlIsoSleeps" { print $2 }' "$TMPD/httpd-$name.stats" 2>/dev/null)
  check "$name: $ROUNDS requests one at a time, all answered (${ans:-0})" [ "${ans:-0}" -eq "$ROUNDS" ]
  check "$name: no request stalled 1 s or more (worst ${worst:-?} ms)" \
    awk -v w="${worst:-9999}" 'BEGIN { exit !(w < 1000) }'
  check "$name: at most 3 % of the requests took 30 ms or more (${slow:-?}; a lost wake-up costs >= 40 ms)" \
    [ "${slow:-99999}" -le $((ROUNDS * 3 / 100)) ]
  check "$name: both sides slept between requests (app sleeps ${sleeps:-0}, replica wake-ups of the app $((w1 - w0)))" \
    [ "${sleeps:-0}" -ge $((ROUNDS / 2)) -a $((w1 - w0)) -ge $((ROUNDS / 2)) ]
  if ! grep -q '^answered' "$TMPD/rounds-$name.out"; then cat "$TMPD/rounds-$name.out"; show_logs; fi
  check "$name: no sanitizer report in the app" \
    bash -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$TMPD/httpd-$name.err'"
}

run_case same-cpu 0 1 8080
run_case other-cpu 1 1 8081
check "no sanitizer report in the stack" no_sanitizer_errors wk
check "clean exit" stop_stackd
exit $NFAIL
