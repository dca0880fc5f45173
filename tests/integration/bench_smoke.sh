#!/usr/bin/env bash
# bench/run --quick: the benchmark harness runs end to end and writes its
# report files (Markdown, JSON with the raw figures, PNG charts) with their
# tables: the servers beside nginx / NSD (one short run each, AF_XDP in
# namespaces), the ring and the shm port. A smoke test of the harness; no
# timing is asserted.
set -u
ROOT=${AXL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
OUT=$(mktemp -d /tmp/axl-bench.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
NFAIL=0
ok() { echo "ok $*"; }
not_ok() { echo "not ok $*"; NFAIL=$((NFAIL + 1)); }
AXL_BENCH_BIN=${AXL_BUILD:-$ROOT/build}/bench timeout 120 "$ROOT/bench/run" --quick --out "$OUT" >"$OUT/log" 2>&1
rc=$?
f=$(ls "$OUT"/*-quick.md 2>/dev/null | head -n 1)
j=$(ls "$OUT"/*-quick.json 2>/dev/null | head -n 1)
[ $rc -eq 0 ] && ok "bench/run --quick exits 0" || { not_ok "bench/run --quick exits 0 (rc $rc)"; tail -20 "$OUT/log"; }
[ -n "$f" ] && ok "report written" || not_ok "report written"
grep -q 'batch' "$f" 2>/dev/null && ok "ring table present" || not_ok "ring table present"
grep -qE '^\| shm \| (tx|rx)' "$f" 2>/dev/null && ok "port table has shm rows" || { not_ok "port table has shm rows"; cat "$f"; }
# The HTTP row: a figure for each of the three sides (ours RTC, ours isolated, kernel) and a ratio.
row=$(grep -E '^\| HTTP 64 B, keep-alive' "$f" 2>/dev/null | head -n 1)
if [ "$(id -u)" -eq 0 ]; then
  echo "$row" | grep -qE '^\| [^|]+\| nginx \| [0-9,]+ \| [0-9,]+ \| [0-9,]+ \| [0-9.]+x \|' &&
    ok "HTTP row: ours and nginx measured, ratio stated" || { not_ok "HTTP row: ours and nginx measured, ratio stated"; echo "$row"; tail -20 "$OUT/log"; }
  grep -qE '^\| DNS, 1-entry zone \| NSD \| [0-9,]+ ' "$f" 2>/dev/null && ok "DNS row against NSD" || not_ok "DNS row against NSD"
  ls "$OUT"/*-quick-http.png >/dev/null 2>&1 && ok "HTTP chart written (PNG)" || not_ok "HTTP chart written (PNG)"
else
  echo "# not root: the server rows are not run (checked: the report says so)"
  grep -q 'not run' "$f" && ok "report says the server rows were not run" || not_ok "report says the server rows were not run"
fi
/usr/bin/python3 - "$j" <<'PY' && ok "JSON report parses and holds the raw records" || not_ok "JSON report parses and holds the raw records"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["quick"] is True and "aggregates" in d and isinstance(d["raw"], list)
assert "ring" in d["sections"] and "ports" in d["sections"]
PY
# nothing of the run left behind: namespaces and servers
if ip netns list 2>/dev/null | grep -qE "^axl-b[sc]-"; then
  # another run may be in flight: only fail when ours (pids that no longer exist) remain
  left=$(ip netns list | sed -n 's/^axl-b[sc]-\([0-9]*\).*/\1/p' | while read -r p; do kill -0 "$p" 2>/dev/null || echo "$p"; done)
  [ -z "$left" ] && ok "no bench namespaces left" || not_ok "bench namespaces left: $left"
else
  ok "no bench namespaces left"
fi
exit $((NFAIL > 0))
