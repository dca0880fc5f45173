#!/usr/bin/env bash
# axl-load against kernel-socket servers on a namespace's loopback (the
# generator itself, not our stack): HTTP closed loop, pipelining, new
# connection per request and open loop against a small keep-alive HTTP/1.1
# server; DNS against a responder that answers NXDOMAIN; JSON output parses;
# errors are counted and make the exit status 1; bad arguments exit 2.
. "$(dirname "$0")/lib.sh"
ip netns add "$NS_C" || die "ip netns add"
in_c ip link set lo up
LOAD=$AXL_BIN/axl-load

cat >"$TMPD/srv.py" <<'PY'
import http.server, socketserver, socket, sys, threading
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = b"x" * 64 if self.path != "/missing" else b"nope"
        self.send_response(200 if self.path != "/missing" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
def dns():
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 5353))
    while True:
        q, a = u.recvfrom(2048)
        if len(q) < 12: continue
        if q[12:17] == b"\x04drop": continue  # never answered: the client times out
        r = bytearray(q); r[2] |= 0x80; r[3] = (r[3] & 0xf0) | 3  # QR, NXDOMAIN
        u.sendto(bytes(r), a)
threading.Thread(target=dns, daemon=True).start()
S(("127.0.0.1", 8080), H).serve_forever()
PY
ip netns exec "$NS_C" /usr/bin/python3 "$TMPD/srv.py" & PIDS+=($!)
for _ in $(seq 50); do in_c bash -c 'exec 3<>/dev/tcp/127.0.0.1/8080' 2>/dev/null && break; sleep 0.1; done

t=127.0.0.1:8080
check "http closed loop: answers, no errors" in_c "$LOAD" http --target $t -c 4 -n 400 -d 20 --json "$TMPD/h.json"
check "http: JSON parses and counts 400 requests, 400 2xx" /usr/bin/python3 -c '
import json,sys; j=json.load(open(sys.argv[1]))
assert j["requests"]==400 and j["counts"]["http_2xx"]==400 and j["errors"]==0, j
assert 0 < j["latency_us"]["p50"] <= j["latency_us"]["p99"] <= j["latency_us"]["max"], j' "$TMPD/h.json"
check "http pipelined (depth 8)" in_c "$LOAD" http --target $t -c 2 -P 8 -n 400 -d 20
check "http new connection per request" in_c "$LOAD" http --target $t -c 2 --new-conn -n 100 -d 20 --json "$TMPD/n.json"
check "... 100 connections made" /usr/bin/python3 -c '
import json,sys; j=json.load(open(sys.argv[1])); assert j["counts"]["connects"]>=100 and j["requests"]==100, j' "$TMPD/n.json"
check "http open loop at 200/s for 1 s" in_c "$LOAD" http --target $t -c 16 --rate 200 -d 1 --json "$TMPD/o.json"
check "... never above the rate; whatever was due and not sent is reported" /usr/bin/python3 -c '
import json,sys; j=json.load(open(sys.argv[1])); c=j["counts"]
assert j["mode"]=="open" and 0 < j["requests"] <= 201 and j["requests"] + c["unsent"] >= 195, j' "$TMPD/o.json"
check "http 404s are errors: exit 1" bash -c '! ip netns exec "$0" "$1" http --target 127.0.0.1:8080 --path /missing -c 1 -n 10 -d 5 >/dev/null' "$NS_C" "$LOAD"
check "nothing listening: connection failures, exit 1" bash -c '! ip netns exec "$0" "$1" http --target 127.0.0.1:8099 -c 1 -d 0.5 >/dev/null 2>&1' "$NS_C" "$LOAD"
check "dns: 500 queries answered (NXDOMAIN counts as an answer)" \
  in_c "$LOAD" dns --target 127.0.0.1:5353 -q www.example.org:AAAA -q example.org --edns -n 500 -d 20 --json "$TMPD/d.json"
check "... JSON: 500 nxdomain" /usr/bin/python3 -c '
import json,sys; j=json.load(open(sys.argv[1])); assert j["counts"]["dns_nxdomain"]==500, j' "$TMPD/d.json"
check "dns: unanswered queries time out and count as errors" \
  bash -c '! ip netns exec "$0" "$1" dns --target 127.0.0.1:5353 -q drop.example -n 5 --timeout 0.2 -d 5 >"$2/drop.txt"; grep -q "timeouts 5" "$2/drop.txt"' "$NS_C" "$LOAD" "$TMPD"
for bad in "http" "http --target 1.2.3.4" "ftp --target 1.2.3.4:1" "dns --target 127.0.0.1:53" \
           "dns --target 127.0.0.1:53 -q a..b" "kv --target 127.0.0.1:1 --keys 100000 --key-size 3" \
           "http --target 127.0.0.1:80 --path nope"; do
  check "bad arguments ($bad): exit 2 with a message" \
    bash -c '"$0" $1 >/dev/null 2>"$2/err"; [ $? -eq 2 ] && grep -q "axl-load:" "$2/err"' "$LOAD" "$bad" "$TMPD"
done
exit $NFAIL
