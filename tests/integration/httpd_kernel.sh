#!/usr/bin/env bash
# axl-httpd against real Linux clients (curl, ncat, ab) in the client
# namespace, over a veth pair:
#   run-to-completion mode on AF_XDP, once per variant (precopy, memcpy,
#   plain): GET, HEAD, 304 (If-None-Match and If-Modified-Since), 404, 405,
#   several URLs over one keep-alive connection, pipelined requests with
#   printf | ncat, HTTP/1.0 without keep-alive, a 3 MiB file byte-exact
#   (sha256), path traversal refused (400), an over-long URI (414), the
#   header timeout (408, counted); then a bounded `ab` run with no errors
#   (precopy only) and, for the object variants, the counters show segments
#   sent from the pre-built templates.
#   isolated mode over axl-stackd (--stack): GET and the large file.
. "$(dirname "$0")/lib.sh"
netns_up 1
HTTPD=$AXL_BIN/axl-httpd
PY=/usr/bin/python3
PORTN=8080
U=http://$ADDR_S:$PORTN

sha() { sha256sum "$1" | awk '{print $1}'; }

mkdir -p "$TMPD/www/sub" "$TMPD/secret"
printf '<html><body>hello axolotl</body></html>\n' >"$TMPD/www/index.html"
printf 'text file\n' >"$TMPD/www/sub/a.txt"
printf 'body{}\n' >"$TMPD/www/style.css"
head -c 3M /dev/urandom >"$TMPD/www/big.bin"
echo "top secret" >"$TMPD/secret/key"
touch -d '2020-01-02 03:04:05 UTC' "$TMPD/www/index.html"

start_httpd() { # NAME ARGS...
  local name=$1; shift
  ip netns exec "$NS_S" "$HTTPD" --root "$TMPD/www" --listen $PORTN \
     --stats-out "$TMPD/$name.stats" "$@" >"$TMPD/$name.out" 2>"$TMPD/$name.err" &
  HTTPD_PID=$!
  PIDS+=("$HTTPD_PID")
  local i
  for ((i = 0; i < 75; i++)); do
    in_c curl -s -o /dev/null --max-time 1 "$U/" && return 0
    kill -0 "$HTTPD_PID" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}
httpd_stats() { # NAME: counters of the running server
  local f=$TMPD/$1.stats i
  rm -f "$f"
  kill -USR1 "$HTTPD_PID" 2>/dev/null || return 1
  for ((i = 0; i < 50; i++)); do [ -s "$f" ] && return 0; sleep 0.1; done
  return 1
}
hstat() { awk -v c="$2" '$1 == c { print $2; found = 1; exit } END { if (!found) print -1 }' "$TMPD/$1.stats"; }
stop_httpd() {
  kill -TERM "$HTTPD_PID" 2>/dev/null
  local rc=0
  wait "$HTTPD_PID" || rc=$?
  return $rc
}
code() { in_c curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@"; }

suite() { # VARIANT
  local v=$1 n=rtc-$1 out
  if ! start_httpd "$n" --port "afxdp:$IF_S" --addr "$ADDR_S/24" --variant "$v" --header-timeout 1000; then
    not_ok "$v: axl-httpd starts and answers"; show_logs; return
  fi
  ok "$v: axl-httpd (RTC, afxdp) answers"
  out=$(in_c curl -s --max-time 10 -D "$TMPD/h.$v" "$U/")
  check "$v: GET / is index.html" [ "$out" = "$(cat "$TMPD/www/index.html")" ]
  check "$v: Content-Type text/html" grep -qi '^Content-Type: text/html' "$TMPD/h.$v"
  check "$v: Last-Modified" grep -q '^Last-Modified: Thu, 02 Jan 2020 03:04:05 GMT' "$TMPD/h.$v"
  check "$v: Date and ETag present" grep -q '^Date: .* GMT' "$TMPD/h.$v"
  local etag
  etag=$(awk 'tolower($1) == "etag:" { print $2 }' "$TMPD/h.$v" | tr -d '\r')
  out=$(in_c curl -s -I --max-time 10 "$U/sub/a.txt")
  check "$v: HEAD: 200, Content-Length, no body" sh -c "printf '%s' \"\$1\" | grep -q '^HTTP/1.1 200' && printf '%s' \"\$1\" | grep -q '^Content-Length: 10'" _ "$out"
  check "$v: If-None-Match -> 304" [ "$(code -H "If-None-Match: $etag" "$U/")" = 304 ]
  check "$v: If-Modified-Since -> 304" [ "$(code -H 'If-Modified-Since: Thu, 02 Jan 2020 03:04:05 GMT' "$U/index.html")" = 304 ]
  check "$v: older If-Modified-Since -> 200" [ "$(code -H 'If-Modified-Since: Wed, 01 Jan 2020 00:00:00 GMT' "$U/index.html")" = 200 ]
  check "$v: 404" [ "$(code "$U/nope.html")" = 404 ]
  check "$v: POST -> 405" [ "$(code -X POST -d x "$U/")" = 405 ]
  check "$v: traversal refused (400)" [ "$(code --path-as-is "$U/../secret/key")" = 400 ]
  check "$v: encoded traversal refused (400)" [ "$(code --path-as-is "$U/%2e%2e/secret/key")" = 400 ]
  check "$v: over-long URI -> 414" [ "$(code "$U/$(head -c 9000 /dev/zero | tr '\0' a)")" = 414 ]
  # keep-alive: several URLs in one curl run, one connection
  out=$(in_c curl -s --max-time 10 -o /dev/null -o /dev/null -o /dev/null -w '%{num_connects} ' "$U/" "$U/style.css" "$U/sub/a.txt")
  check "$v: keep-alive: 3 URLs over 1 connection" [ "$(echo "$out" | tr ' ' '\n' | grep -c 1)" = 1 ]
  # pipelining: three requests in one write
  out=$(printf 'GET /sub/a.txt HTTP/1.1\r\nHost: x\r\n\r\nHEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET /style.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
        in_c timeout 10 ncat "$ADDR_S" $PORTN)
  check "$v: pipelined: three answers in order" [ "$(printf '%s' "$out" | grep -c '^HTTP/1.1 200')" = 3 ]
  check "$v: pipelined: bodies in order" sh -c "printf '%s' \"\$1\" | tr -d '\r' | grep -A20 'text file' | grep -q 'body{}'" _ "$out"
  out=$(printf 'GET /sub/a.txt HTTP/1.0\r\n\r\n' | in_c timeout 10 ncat "$ADDR_S" $PORTN)
  check "$v: HTTP/1.0: answer and close" sh -c "printf '%s' \"\$1\" | grep -q '^HTTP/1.1 200' && printf '%s' \"\$1\" | grep -q 'text file'" _ "$out"
  out=$( (printf 'GET / HTTP/1.1\r\nHost: x\r\n'; sleep 4) | in_c timeout 10 ncat "$ADDR_S" $PORTN)
  check "$v: header timeout -> 408 and close" sh -c "printf '%s' \"\$1\" | grep -q '^HTTP/1.1 408'" _ "$out"
  in_c curl -s --max-time 60 -o "$TMPD/big.$v" "$U/big.bin"
  check "$v: 3 MiB file byte-exact (sha256)" [ "$(sha "$TMPD/www/big.bin")" = "$(sha "$TMPD/big.$v")" ]
  if [ "$v" = precopy ] && ! command -v ab >/dev/null; then
    not_ok "$v: ab (apache2-utils, scripts/deps.sh) is missing"
  elif [ "$v" = precopy ]; then
    out=$(in_c timeout 60 ab -q -k -n 2000 -c 8 -s 10 "$U/index.html" 2>&1)
    local fails non2xx
    fails=$(printf '%s\n' "$out" | awk '/^Failed requests:/ { print $3 }')
    non2xx=$(printf '%s\n' "$out" | awk '/^Non-2xx responses:/ { print $3 }')
    check "$v: ab -k -n 2000 -c 8: no failed requests" [ "${fails:-x}" = 0 ] && [ -z "$non2xx" ]
    printf '%s\n' "$out" | grep -E '^Requests per second' | sed "s/^/# $v ab: /"
  fi
  if httpd_stats "$n"; then
    check "$v: counters: 404 and 405 counted" [ "$(hstat "$n" HttpRequests404)" -ge 1 ] && [ "$(hstat "$n" HttpRequests405)" -ge 1 ]
    check "$v: counters: header timeout counted" [ "$(hstat "$n" HttpTimeoutsHeader)" -ge 1 ]
    if [ "$v" != plain ]; then
      check "$v: segments sent from pre-built templates" [ "$(hstat "$n" TcpObjSegsTemplate)" -ge 2000 ]
    else
      check "$v: plain sends no object segments" [ "$(hstat "$n" TcpObjSegsTemplate)" -le 0 ]
    fi
  else
    not_ok "$v: counters on SIGUSR1"
  fi
  if stop_httpd; then ok "$v: clean exit"; else not_ok "$v: exit status"; fi
  check "$v: no sanitizer reports" sh -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$TMPD/$n.err'"
}

for v in precopy memcpy plain; do suite "$v"; done

# --- isolated mode over axl-stackd -------------------------------------------------
start_stackd stackd --port "afxdp:$IF_S" --addr "$ADDR_S/24"
if ! wait_ping "$ADDR_S" 15; then
  not_ok "isolated: axl-stackd answers ping"
elif start_httpd iso --stack "$AXL_STACK"; then
  out=$(in_c curl -s --max-time 10 "$U/")
  check "isolated: GET /" [ "$out" = "$(cat "$TMPD/www/index.html")" ]
  in_c curl -s --max-time 60 -o "$TMPD/big.iso" "$U/big.bin"
  check "isolated: 3 MiB byte-exact" [ "$(sha "$TMPD/www/big.bin")" = "$(sha "$TMPD/big.iso")" ]
  if stop_httpd; then ok "isolated: clean exit"; else not_ok "isolated: exit status"; fi
else
  not_ok "isolated: axl-httpd attaches to axl-stackd"
fi
stop_stackd || true

[ "$NFAIL" = 0 ] || show_logs
exit $((NFAIL > 0))
