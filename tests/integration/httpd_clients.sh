#!/usr/bin/env bash
# axl-httpd against the load generators and the browser the project promises
# to work with, run in the client namespace over a veth pair, in both modes:
# run-to-completion on AF_XDP and isolated over axl-stackd (--stack).
#   wrk -d 2s (keep-alive, 8 connections): requests done, no socket errors,
#     no non-2xx; the server counted at least as many 200s, nothing else.
#   h2load --h1 -n 2000 -c 8 (HTTP/1.1, one request in flight per
#     connection) and h2load --h1 -n 1000 -c 4 -m 4 on a 64 KiB file
#     (pipelined, four requests in flight per connection): every request
#     succeeded with 2xx; the server counted exactly that many 200s.
#   headless Chromium (--dump-dom) loads a page with a stylesheet and a PNG:
#     a script run at the load event writes the image's decoded size and a
#     colour only the stylesheet sets into the DOM, so the dumped DOM proves
#     both were fetched, parsed and applied; the server counted exactly three
#     200s (page, stylesheet, image) and no other status.
# Every run is bounded (wrk -d 2s, h2load -n, timeout on each client).
# RTC runs --variant precopy (the default: pre-built segment templates).
. "$(dirname "$0")/lib.sh"
netns_up 1
HTTPD=$AXL_BIN/axl-httpd
PY=/usr/bin/python3
PORTN=8080
U=http://$ADDR_S:$PORTN
CHROMIUM=$(command -v chromium || true)

mkdir -p "$TMPD/www/img"
cat >"$TMPD/www/index.html" <<'EOF'
<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>axolotl page</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/style.css">
</head><body>
<h1 id="t">hello axolotl</h1>
<img id="logo" src="/img/logo.png" alt="logo">
<p id="r">pending</p>
<script>
window.addEventListener('load', function () {
  var i = document.getElementById('logo');
  var c = getComputedStyle(document.getElementById('t')).color;
  document.getElementById('r').textContent =
    'img=' + i.naturalWidth + 'x' + i.naturalHeight + ' complete=' + i.complete + ' color=' + c;
});
</script>
</body></html>
EOF
printf '#t { color: rgb(1, 2, 3); }\n' >"$TMPD/www/style.css"
# A real 7x5 RGB PNG (RFC 2083): signature, IHDR, IDAT (zlib), IEND.
$PY - "$TMPD/www/img/logo.png" <<'EOF' || die "cannot write the PNG"
import struct, sys, zlib
w, h = 7, 5
def chunk(t, d):
    return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
raw = b''.join(b'\x00' + b''.join(bytes((x * 30, y * 50, 200)) for x in range(w)) for y in range(h))
png = (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0)) +
       chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))
open(sys.argv[1], 'wb').write(png)
EOF
head -c 65536 /dev/urandom >"$TMPD/www/m64k.bin"

start_httpd() { # NAME ARGS...
  local name=$1; shift
  ip netns exec "$NS_S" "$HTTPD" --root "$TMPD/www" --listen $PORTN \
     --stats-out "$TMPD/$name.stats" "$@" >"$TMPD/$name.out" 2>"$TMPD/$name.err" &
  HTTPD_PID=$!
  PIDS+=("$HTTPD_PID")
  local i
  for ((i = 0; i < 75; i++)); do
    in_c curl -s -o /dev/null --max-time 1 "$U/style.css" && return 0
    kill -0 "$HTTPD_PID" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}
httpd_stats() { # NAME: counters of the running server into $TMPD/NAME.stats
  local f=$TMPD/$1.stats i
  rm -f "$f"
  kill -USR1 "$HTTPD_PID" 2>/dev/null || return 1
  for ((i = 0; i < 50; i++)); do
    [ -s "$f" ] && grep -q '^HttpSendsFailed ' "$f" && return 0
    sleep 0.1
  done
  return 1
}
hstat() { awk -v c="$2" '$1 == c { print $2; found = 1; exit } END { if (!found) print -1 }' "$TMPD/$1.stats"; }
# n200 / nother NAME: 200s counted, and every other status counted (summed).
n200() { httpd_stats "$1" && hstat "$1" HttpRequests200 || echo -1; }
nother() { awk '$1 ~ /^HttpRequests/ && $1 != "HttpRequests200" { s += $2 } END { print s + 0 }' "$TMPD/$1.stats"; }
stop_httpd() {
  kill -TERM "$HTTPD_PID" 2>/dev/null
  local rc=0
  wait "$HTTPD_PID" || rc=$?
  return $rc
}

clients() { # NAME: the load generators and the browser against the running server
  local n=$1 out base after reqs
  # --- wrk: 2 s, 8 keep-alive connections
  base=$(n200 "$n")
  out=$(in_c timeout 30 wrk -t 1 -c 8 -d 2s --timeout 5s "$U/index.html" 2>&1)
  reqs=$(printf '%s\n' "$out" | awk '/ requests in / { print $1; exit }')
  after=$(n200 "$n")
  printf '%s\n' "$out" | grep -E 'requests in|Requests/sec' | sed "s/^ */# $n wrk: /"
  check "$n: wrk -c 8 -d 2s: requests done (${reqs:-none})" [ "${reqs:-0}" -gt 0 ]
  check "$n: wrk: no socket errors, no non-2xx" \
    sh -c "! printf '%s' \"\$1\" | grep -qE 'Socket errors|Non-2xx'" _ "$out"
  check "$n: wrk: server counted >= ${reqs:-?} 200s ($((after - base)))" [ $((after - base)) -ge "${reqs:-1}" ]
  check "$n: wrk: server counted no other status" [ "$(nother "$n")" = 0 ]

  # --- h2load in HTTP/1.1 mode
  base=$after
  out=$(in_c timeout 60 h2load --h1 -n 2000 -c 8 -T 10 "$U/index.html" 2>&1)
  after=$(n200 "$n")
  printf '%s\n' "$out" | grep -E '^finished in' | sed "s/^/# $n h2load -c 8: /"
  check "$n: h2load --h1 -n 2000 -c 8: 2000 succeeded, 0 failed/errored/timeout" \
    sh -c "printf '%s' \"\$1\" | grep -q '^requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed, 0 errored, 0 timeout'" _ "$out"
  check "$n: h2load -c 8: status codes 2000 2xx" sh -c "printf '%s' \"\$1\" | grep -q '^status codes: 2000 2xx, 0 3xx, 0 4xx, 0 5xx'" _ "$out"
  check "$n: h2load -c 8: server counted exactly 2000 200s ($((after - base)))" [ $((after - base)) = 2000 ]
  base=$after
  out=$(in_c timeout 60 h2load --h1 -n 1000 -c 4 -m 4 -T 10 "$U/m64k.bin" 2>&1)
  after=$(n200 "$n")
  printf '%s\n' "$out" | grep -E '^(finished in|traffic:)' | sed "s/^/# $n h2load -m 4 64k: /"
  check "$n: h2load --h1 -n 1000 -c 4 -m 4 (pipelined, 64 KiB): 1000 succeeded" \
    sh -c "printf '%s' \"\$1\" | grep -q '^requests: 1000 total, 1000 started, 1000 done, 1000 succeeded, 0 failed, 0 errored, 0 timeout'" _ "$out"
  check "$n: h2load -m 4: traffic is 1000 x 64 KiB of data" \
    sh -c "printf '%s' \"\$1\" | grep -qE '^traffic: .*, [0-9.]+[KMG]?B \(65536000\) data'" _ "$out"
  check "$n: h2load -m 4: server counted exactly 1000 200s ($((after - base)))" [ $((after - base)) = 1000 ]
  check "$n: h2load: server counted no other status" [ "$(nother "$n")" = 0 ]

  # --- headless browser
  if [ -z "$CHROMIUM" ]; then
    not_ok "$n: chromium (scripts/deps.sh) is missing"
    return
  fi
  base=$after
  local nf0=$NFAIL
  rm -rf "$TMPD/chrome-$n"
  out=$(in_c timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run \
          --disable-extensions --disable-background-networking --disable-sync \
          --user-data-dir="$TMPD/chrome-$n" --virtual-time-budget=10000 \
          --dump-dom "$U/" 2>"$TMPD/chrome-$n.log")
  after=$(n200 "$n")
  printf '%s\n' "$out" >"$TMPD/dom-$n.html"
  check "$n: chromium: page title and heading in the DOM" \
    sh -c "grep -q '<title>axolotl page</title>' '$TMPD/dom-$n.html' && grep -q '<h1 id=\"t\">hello axolotl</h1>' '$TMPD/dom-$n.html'"
  check "$n: chromium: image decoded (7x5) and stylesheet applied (rgb(1, 2, 3))" \
    grep -q '<p id="r">img=7x5 complete=true color=rgb(1, 2, 3)</p>' "$TMPD/dom-$n.html"
  check "$n: chromium: server counted exactly 3 200s (page, css, png) ($((after - base)))" [ $((after - base)) = 3 ]
  check "$n: chromium: server counted no other status" [ "$(nother "$n")" = 0 ]
  if [ "$NFAIL" != "$nf0" ]; then
    echo "# dumped DOM:"; sed 's/^/#   /' "$TMPD/dom-$n.html" | head -n 30
  fi
}

finish() { # NAME
  local n=$1
  check "$n: no failed sends counted" [ "$(hstat "$n" HttpSendsFailed)" = 0 ]
  if stop_httpd; then ok "$n: clean exit"; else not_ok "$n: exit status"; fi
  check "$n: no sanitizer reports" sh -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$TMPD/$n.err'"
}

for tool in wrk h2load; do
  command -v $tool >/dev/null || not_ok "$tool is missing (scripts/deps.sh)"
done

# --- run-to-completion on AF_XDP --------------------------------------------------
if start_httpd rtc --port "afxdp:$IF_S" --addr "$ADDR_S/24"; then
  ok "rtc: axl-httpd (RTC, afxdp) answers"
  clients rtc
  finish rtc
else
  not_ok "rtc: axl-httpd starts and answers"
fi

# --- isolated mode over axl-stackd ------------------------------------------------
start_stackd stackd --port "afxdp:$IF_S" --addr "$ADDR_S/24"
if ! wait_ping "$ADDR_S" 15; then
  not_ok "iso: axl-stackd answers ping"
elif start_httpd iso --stack "$AXL_STACK"; then
  ok "iso: axl-httpd (isolated, over axl-stackd) answers"
  clients iso
  finish iso
else
  not_ok "iso: axl-httpd attaches to axl-stackd and answers"
fi
if stop_stackd; then ok "iso: axl-stackd clean exit"; else not_ok "iso: axl-stackd exit status"; fi
check "iso: axl-stackd: no sanitizer reports" no_sanitizer_errors stackd

[ "$NFAIL" = 0 ] || show_logs
exit $((NFAIL > 0))
