#!/usr/bin/env bash
# axl-load with OUR stack as the client side, against kernel-socket servers
# in the client namespace over a veth pair (198.18.0.1: a keep-alive
# HTTP/1.1 server and a DNS responder in python, memcached):
#   run-to-completion (axl-load --port afxdp:IF --addr 198.18.0.2/24) and
#   isolated (axl-load --stack, attached to axl-stackd on the same veth end),
#   each driving http (closed loop, pipelined, new connection per request,
#   open loop), dns and kv for about a second a run. Every run: requests
#   answered > 0, errors == 0, the JSON parses (python3 -m json.tool) and
#   says which client side ran, the percentiles are ordered. New-connection
#   mode: the kernel server's namespace counts that many passive opens and
#   our stack that many active opens (JSON "stack", axl_stat; isolated: also
#   axl-stackd's counters read over the control socket). Open loop:
#   never above the rate, at least half of it sent. --progress prints a live
#   line. Bad mode flags are usage errors (exit 2); an unreachable stack is
#   exit 1 with a message. No sanitizer report from axl-load.
. "$(dirname "$0")/lib.sh"
netns_up 1
LOAD=$AXL_BIN/axl-load
PY=/usr/bin/python3
command -v memcached >/dev/null || die "memcached missing (scripts/deps.sh)"

cat >"$TMPD/srv.py" <<'PY'
import http.server, socketserver, socket, sys, threading
addr = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = b"x" * 64
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
    disable_nagle_algorithm = True  # headers and body are two writes
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256
def dns():
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((addr, 5353))
    while True:
        q, a = u.recvfrom(2048)
        if len(q) < 12: continue
        r = bytearray(q); r[2] |= 0x80; r[3] = (r[3] & 0xf0) | 3  # QR, NXDOMAIN
        u.sendto(bytes(r), a)
threading.Thread(target=dns, daemon=True).start()
for port in range(8081, 8089):
    threading.Thread(target=S((addr, port), H).serve_forever, daemon=True).start()
S((addr, 8080), H).serve_forever()
PY
ip netns exec "$NS_C" "$PY" "$TMPD/srv.py" "$ADDR_C" >"$TMPD/srv.out" 2>"$TMPD/srv.err" & PIDS+=($!)
ip netns exec "$NS_C" memcached -u root -l "$ADDR_C" -p 11211 -U 0 -t 2 -m 64 >"$TMPD/mc.out" 2>"$TMPD/mc.err" & PIDS+=($!)
for _ in $(seq 100); do
  in_c bash -c "exec 3<>/dev/tcp/$ADDR_C/8088 && exec 4<>/dev/tcp/$ADDR_C/11211" 2>/dev/null && break
  sleep 0.1
done
in_c bash -c "exec 3<>/dev/tcp/$ADDR_C/8088 && exec 4<>/dev/tcp/$ADDR_C/11211" 2>/dev/null ||
  die "kernel servers did not start"

# passive_opens: TCP passive opens of the server namespace's kernel (RFC 1213 tcpPassiveOpens).
passive_opens() {
  in_c awk '$1 == "Tcp:" { if (!h) { for (i = 1; i <= NF; i++) k[i] = $i; h = 1 }
                          else for (i = 1; i <= NF; i++) if (k[i] == "PassiveOpens") print $i }' /proc/net/snmp
}

# jcheck NAME FILE PYTHON: the JSON in FILE parses (json.tool) and PYTHON
# (j = the object, c = its counts) holds; prints the object on failure.
jcheck() {
  local name=$1 f=$2 expr=$3
  if ! "$PY" -m json.tool "$f" >/dev/null 2>&1; then not_ok "$name: JSON parses"; cat "$f"; return; fi
  check "$name" "$PY" -c '
import json, sys
j = json.load(open(sys.argv[1])); c = j["counts"]; l = j["latency_us"]; CL = sys.argv[3]
ok = eval(sys.argv[2])
if not ok: print("# ", json.dumps(j))
sys.exit(0 if ok else 1)' "$f" "$expr" "$CL"
}
# the checks of every run: answers, no errors, the right client side, ordered percentiles
BASIC='j["requests"] > 0 and j["ok"] == j["requests"] and j["errors"] == 0 and j["client"] == CL and 0 < l["p50"] <= l["p90"] <= l["p99"] <= l["p999"] <= l["max"]'

# run NAME CLIENT MODEARGS... -- LOADARGS...: one axl-load run (stack side), JSON to $TMPD/NAME.json
run() {
  local name=$1 cl=$2; shift 2
  local margs=()
  while [ "$1" != -- ]; do margs+=("$1"); shift; done
  shift
  if in_s timeout 60 "$LOAD" "$@" "${margs[@]}" --json "$TMPD/$name.json" \
       >"$TMPD/load-$name.out" 2>"$TMPD/load-$name.err"; then
    ok "$cl $name: exit 0"
  else
    not_ok "$cl $name: exit 0"; tail -n 5 "$TMPD/load-$name.out" "$TMPD/load-$name.err"
  fi
  check "$cl $name: no sanitizer report" \
    bash -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$TMPD/load-$name.err'"
}

# Every HTTP run has a server port of its own (8081..8088): with "Connection:
# close" the server closes first and keeps each connection in TIME-WAIT; a
# SYN of the next run that reuses a port pair is accepted by that TIME-WAIT
# only with a newer ISN or timestamp (RFC 9293 §3.10.7.4, RFC 6191), which
# the boot's TCP secrets give (src/net/tcp_secret.c) but an engine with its
# own (AXL_TCP_SECRET=none) does not: a 1 s SYN retransmission. Separate
# ports keep the runs independent of that. HP is the first port of the suite.
suite() { # CLIENT(rtc|isolated) HP MODEARGS...
  local cl=$1 hp=$2; shift 2
  CL=$cl
  local H="http --target $ADDR_C:$hp" H1="http --target $ADDR_C:$((hp + 1))"
  local H2="http --target $ADDR_C:$((hp + 2))" H3="http --target $ADDR_C:$((hp + 3))"

  run "$cl-http" "$cl" "$@" -- $H -c 4 -d 1.5 --progress
  jcheck "$cl http closed loop: answered, no errors, percentiles ordered" "$TMPD/$cl-http.json" \
    "$BASIC and c[\"http_2xx\"] == j[\"requests\"] and j[\"mode\"] == \"closed\""
  check "$cl http: --progress printed a live line" grep -q 'req/s' "$TMPD/load-$cl-http.err"

  run "$cl-pipe" "$cl" "$@" -- $H1 -c 2 -P 8 -d 1
  jcheck "$cl http pipelined (depth 8)" "$TMPD/$cl-pipe.json" "$BASIC and j[\"pipeline\"] == 8"

  local p0 p1 a0=0 a1=0
  p0=$(passive_opens)
  [ "$cl" = isolated ] && a0=$(replica_stat total TcpActiveOpens)
  run "$cl-new" "$cl" "$@" -- $H2 -c 2 --new-conn -d 1
  p1=$(passive_opens)
  [ "$cl" = isolated ] && a1=$(replica_stat total TcpActiveOpens)
  jcheck "$cl http --new-conn: one connection per request, counted by our stack" "$TMPD/$cl-new.json" \
    "$BASIC and j[\"requests\"] >= 20 and c[\"connects\"] >= j[\"requests\"] and j[\"stack\"][\"TcpActiveOpens\"] >= j[\"requests\"]"
  check "$cl http --new-conn: the server's kernel saw as many connections ($((p1 - p0)))" "$PY" -c '
import json, sys
j = json.load(open(sys.argv[1])); d = int(sys.argv[2])
sys.exit(0 if j["requests"] >= 20 and d >= j["requests"] else 1)' "$TMPD/$cl-new.json" "$((p1 - p0))"
  if [ "$cl" = isolated ]; then
    check "$cl http --new-conn: axl-stackd's counters (control socket, as axlctl stats) moved as much ($a0 -> $a1)" "$PY" -c '
import json, sys
j = json.load(open(sys.argv[1])); a0, a1 = int(sys.argv[2]), int(sys.argv[3])
sys.exit(0 if a0 >= 0 and j["requests"] >= 20 and a1 - a0 >= j["requests"] else 1)' "$TMPD/$cl-new.json" "$a0" "$a1"
  fi

  run "$cl-open" "$cl" "$@" -- $H3 -c 16 --rate 200 -d 1
  jcheck "$cl http open loop at 200/s for 1 s: never above the rate, at least half of it" \
    "$TMPD/$cl-open.json" "$BASIC and j[\"mode\"] == \"open\" and 100 <= j[\"requests\"] <= 201 and j[\"requests\"] + c[\"unsent\"] >= 195"

  run "$cl-dns" "$cl" "$@" -- dns --target "$ADDR_C:5353" -q www.example.org:AAAA -q example.org --edns -c 4 -d 1
  jcheck "$cl dns: answered (NXDOMAIN), no errors" "$TMPD/$cl-dns.json" \
    "$BASIC and c[\"dns_nxdomain\"] == j[\"requests\"]"

  run "$cl-kv" "$cl" "$@" -- kv --target "$ADDR_C:11211" -c 4 -P 4 --get-ratio 0.5 --keys 100 -d 1
  jcheck "$cl kv (memcached): gets and sets answered, no errors" "$TMPD/$cl-kv.json" \
    "$BASIC and c[\"kv_stored\"] > 0 and c[\"kv_hits\"] + c[\"kv_misses\"] + c[\"kv_stored\"] == j[\"requests\"]"

  run "$cl-kvnew" "$cl" "$@" -- kv --target "$ADDR_C:11211" -c 2 --new-conn -d 1
  jcheck "$cl kv --new-conn" "$TMPD/$cl-kvnew.json" \
    "$BASIC and c[\"connects\"] >= j[\"requests\"] >= 20"
}

# --- run-to-completion: the stack inside axl-load, on the veth end ---------------
suite rtc 8081 --port "afxdp:$IF_S" --addr "$ADDR_S/24"
check "rtc: the XDP program is detached after the runs" \
  bash -c "! ip netns exec $NS_S ip link show $IF_S | grep -q 'prog/xdp'"

# --- isolated: axl-load attached to axl-stackd ------------------------------------
start_stackd stackd --port "afxdp:$IF_S" --addr "$ADDR_S/24"
if wait_ping "$ADDR_S" 15; then
  suite isolated 8085 --stack "$AXL_STACK"
  check "isolated: axl-stackd exits cleanly" stop_stackd
  check "isolated: no sanitizer report from axl-stackd" no_sanitizer_errors stackd
else
  not_ok "isolated: axl-stackd answers ping"
  show_logs
fi

# --- usage --------------------------------------------------------------------------
for bad in "--port afxdp:$IF_S" "--stack $AXL_STACK --port afxdp:$IF_S --addr $ADDR_S/24" \
           "--addr $ADDR_S/24" "--port afxdp:$IF_S --addr 198.18.0.300/24" \
           "--port afxdp:$IF_S --addr $ADDR_S/24 -c 65500"; do
  check "bad mode flags ($bad): exit 2 with a message" \
    bash -c '"$0" http --target 198.18.0.1:80 $1 >/dev/null 2>"$2/err"; [ $? -eq 2 ] && grep -q "axl-load:" "$2/err"' "$LOAD" "$bad" "$TMPD"
done
check "no axl-stackd at --stack: exit 1, says so" \
  bash -c '"$0" http --target 198.18.0.1:80 -d 0.2 --stack "$1/none.sock" >/dev/null 2>"$1/err"; [ $? -eq 1 ] && grep -q "cannot reach axl-stackd" "$1/err"' "$LOAD" "$TMPD"
check "--help names the modes" bash -c '"$0" --help | grep -q -- "--stack=PATH" && "$0" --help | grep -q -- "--port=SPEC"' "$LOAD"

[ "$NFAIL" = 0 ] || show_logs
exit $((NFAIL > 0))
