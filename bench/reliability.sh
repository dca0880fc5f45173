#!/usr/bin/env bash
# bench/reliability.sh [CAMPAIGN...] - the full-size fault campaigns of the
# reliability work (docs/RELIABILITY.md; not part of make check). Each
# campaign is one of the tests/integration/rel_*.sh scripts run at full size
# (the same checks as in make check, bigger numbers); the figures they print
# ("figure NAME VALUE") are collected into one table at the end.
#
#   replica   20 replica kills (KILL/SEGV/ABRT) under TCP load      rel_replica_crash.sh
#   replica-poll  the same, the replicas polling instead of sleeping
#             when idle (--idle-spin-us 1000000; not in the default set)
#   app       an app with 4000 connections SIGKILLed, then 1000
#             attach/50 connections/SIGKILL cycles; then one with
#             10,000 connections (16384 sockets per channel)        rel_app_crash.sh
#   hostile   60 s of scribbling over every writable byte (ASan
#             build: out-of-bounds reads would be reported)          rel_hostile.sh
#   synflood  20 s SYN floods at 50,000, 100,000, 200,000 SYNs/s     rel_synflood.sh
#             (asked; the flooder on the replica's CPU)
#   exhaust   100,000 concurrent connections, then the limits        rel_exhaust.sh
#
# Default: all, in that order (about 25 minutes on the 2-vCPU VM). Needs root,
# 2 CPUs and a build: `make O=DIR build-all` and `make O=DIR V=asan build-all`
# (AXL_BUILD=DIR, default ./build; the release binaries are used except for
# "hostile", which uses DIR/asan). Logs go to $REL_OUT (default
# /tmp/axl-reliability.PID). Every campaign is bounded by `timeout`.
# Exit status: 0 when every check of every campaign passed.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${AXL_BUILD:-$ROOT/build}
OUT=${REL_OUT:-/tmp/axl-reliability.$$}
mkdir -p "$OUT"
[ "$(id -u)" = 0 ] || { echo "bench/reliability.sh: needs root (network namespaces)" >&2; exit 1; }
case "${1:-}" in -h|--help) sed -n '2,/^set -u$/{/^set -u$/d;p}' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
CAMPAIGNS=("$@")
[ ${#CAMPAIGNS[@]} -gt 0 ] || CAMPAIGNS=(replica app hostile synflood exhaust)

run() { # run NAME SCRIPT VARIANT TIMEOUT ENV...
  local name=$1 script=$2 variant=$3 tmo=$4 b rc t0
  shift 4
  b=$BUILD; [ "$variant" = asan ] && b=$BUILD/asan
  [ -x "$b/bin/axl-stackd" ] && [ -x "$b/tests/tools/rel_conns" ] ||
    { echo "$name: no $variant build in $b (make O=$BUILD${variant:+ V=$variant} build-all)"; return 1; }
  echo "== $name: $script $* ($variant build)"
  t0=$(date +%s)
  env "$@" AXL_BIN="$b/bin" AXL_TOOLS="$b/tests/tools" \
    timeout "$tmo" bash "$ROOT/tests/integration/$script" >"$OUT/$name.log" 2>&1
  rc=$?
  grep -E '^(not ok|figure)' "$OUT/$name.log"
  echo "$name: $(grep -c '^ok ' "$OUT/$name.log") ok, $(grep -c '^not ok' "$OUT/$name.log") not ok," \
       "exit $rc, $(( $(date +%s) - t0 )) s (log: $OUT/$name.log)"
  return $rc
}

fail=0
for c in "${CAMPAIGNS[@]}"; do
  case "$c" in
    replica) run replica rel_replica_crash.sh release 600 REL_KILLS=20 REL_STEADY=8 || fail=1 ;;
    replica-poll) # the same with replicas that poll rather than sleep when idle
      run replica-poll rel_replica_crash.sh release 600 REL_KILLS=20 REL_STEADY=8 \
        "REL_STACKD_ARGS=--idle-spin-us 1000000" || fail=1 ;;
    app) run app rel_app_crash.sh release 1800 REL_APP_CONNS=4000 REL_CYCLES=1000 || fail=1
      run app10k rel_app_crash.sh release 600 REL_APP_CONNS=10000 REL_APP_SOCKS=16384 REL_CYCLES=0 ||
        fail=1 ;;
    hostile) run hostile rel_hostile.sh asan 600 REL_HOSTILE_SECONDS=60 || fail=1 ;;
    synflood) # a sweep: at which flood rate does the legitimate rate fall below half?
      for r in 50000 100000 200000; do
        run "synflood$((r / 1000))k" rel_synflood.sh release 300 REL_FLOOD_RATE=$r REL_FLOOD_SECONDS=20 || fail=1
      done ;;
    exhaust) run exhaust rel_exhaust.sh release 900 REL_EXHAUST_CONNS=100000 REL_EXHAUST_PROCS=6 || fail=1 ;;
    *) echo "bench/reliability.sh: unknown campaign '$c' (replica replica-poll app hostile synflood exhaust)" >&2; exit 2 ;;
  esac
done

echo
echo "| campaign | figure | value |"
echo "|---|---|---|"
for c in "${CAMPAIGNS[@]}"; do
  case "$c" in synflood) set -- synflood50k synflood100k synflood200k ;; app) set -- app app10k ;;
    *) set -- "$c" ;; esac
  for c in "$@"; do [ -f "$OUT/$c.log" ] && awk -v c="$c" '$1 == "figure" { v = $3; for (i = 4; i <= NF; i++) v = v " " $i;
    printf "| %s | %s | %s |\n", c, $2, v }' "$OUT/$c.log"; done
done
exit $fail
