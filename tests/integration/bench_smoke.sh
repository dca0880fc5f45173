#!/usr/bin/env bash
# bench/run --quick: the benchmark harness runs end to end and writes a report
# with its tables (a smoke test of the harness; no timing is asserted).
set -u
ROOT=${AXL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
OUT=$(mktemp -d /tmp/axl-bench.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
AXL_BENCH_BIN=${AXL_BUILD:-$ROOT/build}/bench timeout 120 "$ROOT/bench/run" --quick --out "$OUT" >"$OUT/log" 2>&1
rc=$?
f=$(ls "$OUT"/*-quick.md 2>/dev/null | head -n 1)
[ $rc -eq 0 ] && echo "ok bench/run --quick exits 0" || { echo "not ok bench/run --quick exits 0 (rc $rc)"; tail -20 "$OUT/log"; }
[ -n "$f" ] && echo "ok report written" || echo "not ok report written"
grep -q 'batch' "$f" 2>/dev/null && echo "ok ring table present" || echo "not ok ring table present"
grep -qE '^\| shm \| (tx|rx)' "$f" 2>/dev/null && echo "ok port table has shm rows" || { echo "not ok port table has shm rows"; cat "$f"; }
