#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/iso_cost.sh - what isolated mode costs beside run-to-completion, in
# one run: system calls per request of the loaded app, CPU per request
# isolated and RTC (and their ratio), context switches per request, and the
# idle CPU of an isolated server. Every figure is printed with the exact
# command that produced it; the load average is printed at start and end.
#
#   bench/iso_cost.sh [--bin DIR] [--seconds S] [--repeat N] [--conns C]
#                     [--idle-seconds N] [--skip sys|cpu|idle ...]
#                     [--app-cpu N] [--client-cpu N]   (isolated app: CPU 0 beside
#                     the replica; client: CPU 1, by default)
#                     [--stackd-args 'ARGS']  (more axl-stackd options, e.g.
#                     '--wake-hold-us 200' or '--idle-spin-us 1000')
#
# Topology (as bench/servers.sh; names carry the PID, all removed on exit):
#   netns S: axl-httpd on AF_XDP on its veth end, pinned to CPU 0 (RTC), or
#            axl-stackd --cpu 0 (one replica on CPU 0) + axl-httpd --stack
#            pinned to CPU 0 (isolated)
#   netns C: axl-load http -c C --path /64.bin (kernel sockets) on CPU 1
# For each repeat: RTC run, isolated run (CPU), isolated run under
# `strace -c -f -p APP` (system calls), each with 0.3 s of warm-up first.
# Then once: the isolated server left idle for --idle-seconds (default 30).
# CPU = on-CPU time of every thread of the server's processes from
# /proc/PID/task/TID/schedstat (nanoseconds; isolated: supervisor, replica,
# app), also utime+stime ticks from /proc/PID/stat for comparison.
# Figures: median of the repeats with min-max. Needs root, 2 CPUs, strace.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${AXL_BIN:-$ROOT/build/bin}
SECS=4
REPEAT=3
CONNS=100
APP_CPU=0
CLIENT_CPU=1
IDLE=30
SKIP=" "
STACKD_ARGS=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --bin) BIN=$2; shift 2 ;;
    --seconds) SECS=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --conns) CONNS=$2; shift 2 ;;
    --app-cpu) APP_CPU=$2; shift 2 ;;
    --client-cpu) CLIENT_CPU=$2; shift 2 ;;
    --stackd-args) STACKD_ARGS=$2; shift 2 ;;
    --idle-seconds) IDLE=$2; shift 2 ;;
    --skip) SKIP+="$2 "; shift 2 ;;
    -h|--help) sed -n '3,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/iso_cost.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
die() { echo "bench/iso_cost.sh: $*" >&2; exit 1; }
[[ $SECS =~ ^[0-9]+(\.[0-9]+)?$ ]] && awk -v s="$SECS" 'BEGIN{exit !(s >= 0.5 && s <= 60)}' ||
  die "--seconds 0.5..60"
[[ $REPEAT =~ ^[0-9]+$ && $REPEAT -ge 1 && $REPEAT -le 9 ]] || die "--repeat 1..9"
[[ $CONNS =~ ^[0-9]+$ && $CONNS -ge 1 && $CONNS -le 1000 ]] || die "--conns 1..1000"
[[ $IDLE =~ ^[0-9]+$ && $IDLE -ge 1 && $IDLE -le 600 ]] || die "--idle-seconds 1..600"
for s in $SKIP; do case $s in sys|cpu|idle) ;; *) die "--skip: sys, cpu or idle, not '$s'" ;; esac; done
skipped() { [[ $SKIP == *" $1 "* ]]; }
for b in axl-load axl-httpd axl-stackd; do
  [[ -x $BIN/$b ]] || die "no $BIN/$b (build the release: make O=DIR all; --bin DIR/bin)"
done
[[ $(id -u) -eq 0 ]] || die "needs root (network namespaces, AF_XDP)"
[[ $(nproc) -ge 2 ]] || die "needs 2 CPUs (server on 0, client on 1)"
skipped sys || command -v strace >/dev/null || die "needs strace (or --skip sys)"

NS_S=axl-ic-s-$$
NS_C=axl-ic-c-$$
IF_S=axis$$
IF_C=axic$$
A_S=198.18.44.2
A_C=198.18.44.1
TMPD=$(mktemp -d /tmp/axl-iso-cost.XXXXXX)
chmod 755 "$TMPD"
PIDS=()
stop_server() { # the app before the stack
  bench_stop "${PIDS[@]}"
  PIDS=()
}
cleanup() {
  stop_server
  bench_pair_del
  rm -rf "$TMPD"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
. "$(dirname "$0")/lib.sh" # in_s, in_c, bench_pair

bench_pair c "$A_C"
WWW=$TMPD/www
mkdir -p "$WWW"
head -c 64 /dev/urandom | base64 -w 0 | head -c 64 >"$WWW/64.bin"

tcp_up() { in_c timeout 1 bash -c "exec 3<>/dev/tcp/$A_S/8080" 2>/dev/null; }
CMD_RTC="taskset -c 0 axl-httpd --root WWW --listen 8080 --port afxdp:$IF_S --addr $A_S/24"
CMD_ISO="axl-stackd --port afxdp:$IF_S --addr $A_S/24 --ctl SOCK --cpu 0${STACKD_ARGS:+ $STACKD_ARGS} & taskset -c $APP_CPU axl-httpd --root WWW --listen 8080 --stack SOCK"
# (ip netns exec and taskset exec the server: $! is the server's PID)
start() { # rtc | iso: 0 when the server answers
  if [[ $1 == rtc ]]; then
    ip netns exec "$NS_S" taskset -c 0 "$BIN/axl-httpd" --root "$WWW" --listen 8080 --port "afxdp:$IF_S" \
      --addr "$A_S/24" >"$TMPD/srv.out" 2>&1 &
    PIDS+=($!)
  else
    rm -f "$TMPD/stk.sock" "$TMPD"/*.stats*
    ip netns exec "$NS_S" "$BIN/axl-stackd" --port "afxdp:$IF_S" --addr "$A_S/24" --ctl "$TMPD/stk.sock" --cpu 0 $STACKD_ARGS \
      --stats-out "$TMPD/stk.stats" >"$TMPD/stk.out" 2>&1 &
    PIDS+=($!)
    local i
    for ((i = 0; i < 100; i++)); do
      [[ -S $TMPD/stk.sock ]] && in_c ping -c 1 -W 1 -q "$A_S" >/dev/null 2>&1 && break
      kill -0 "${PIDS[0]}" 2>/dev/null || return 1
      sleep 0.2
    done
    ip netns exec "$NS_S" taskset -c "$APP_CPU" "$BIN/axl-httpd" --root "$WWW" --listen 8080 --stack "$TMPD/stk.sock" \
      --stats-out "$TMPD/srv.stats" >"$TMPD/srv.out" 2>&1 &
    PIDS+=($!)
  fi
  local i p
  for ((i = 0; i < 100; i++)); do
    tcp_up && return 0
    for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null || return 1; done
    sleep 0.2
  done
  return 1
}
all_pids() { # the server's processes and their children (replicas)
  local p c
  for p in "${PIDS[@]}"; do
    echo "$p"
    for c in $(pgrep -P "$p" 2>/dev/null); do echo "$c"; done
  done
}
# "ns ticks vcsw ivcsw" summed over every thread of the server's processes
cpu_now() {
  local p t ns=0 tk=0 v=0 iv=0 x
  for p in $(all_pids); do
    for t in /proc/"$p"/task/*; do
      [[ -r $t/schedstat ]] || continue
      read -r x _ <"$t/schedstat" && ns=$((ns + x))
      x=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "$t/stat" 2>/dev/null) && tk=$((tk + ${x:-0}))
      x=$(awk '/^voluntary_ctxt_switches/ { print $2 }' "$t/status" 2>/dev/null) && v=$((v + ${x:-0}))
      x=$(awk '/^nonvoluntary_ctxt_switches/ { print $2 }' "$t/status" 2>/dev/null) && iv=$((iv + ${x:-0}))
    done
  done
  echo "$ns $tk $v $iv"
}
HZ=$(getconf CLK_TCK)
LOAD_CMD="axl-load http --target $A_S:8080 -c $CONNS --path /64.bin --cpu $CLIENT_CPU --duration $SECS"
load() { # run axl-load, print the requests answered (0 on failure)
  rm -f "$TMPD/load.json"
  in_c timeout "$(awk -v s="$SECS" 'BEGIN{printf "%d", s + 20}')" "$BIN/axl-load" http \
    --target "$A_S:8080" -c "$CONNS" --path /64.bin --cpu "$CLIENT_CPU" --duration "$SECS" \
    --json "$TMPD/load.json" >"$TMPD/load.out" 2>&1
  sed -n 's/.*"requests":\([0-9]*\).*/\1/p' "$TMPD/load.json" 2>/dev/null | head -1 | grep . || echo 0
}
warm() {
  in_c timeout 20 "$BIN/axl-load" http --target "$A_S:8080" -c "$CONNS" --path /64.bin --cpu "$CLIENT_CPU" \
    --duration 0.3 >/dev/null 2>&1
}
# per_proc: "comm=ns ..." on-CPU time of each server process (all threads)
per_proc() {
  local p t ns x
  for p in $(all_pids); do
    ns=0
    for t in /proc/"$p"/task/*; do read -r x _ <"$t/schedstat" 2>/dev/null && ns=$((ns + x)); done
    echo "$(cat /proc/"$p"/comm 2>/dev/null)=$ns"
  done
}
# cpu_run SIDE: one measured run; prints "req ns ticks vcsw ivcsw", and the
# share of each process to $TMPD/split
cpu_run() {
  local a b req pa pb
  warm
  pa=$(per_proc)
  a=($(cpu_now))
  req=$(load)
  b=($(cpu_now))
  pb=$(per_proc)
  paste -d' ' <(echo "$pa") <(echo "$pb") |
    awk -v r="$req" '{ split($1, x, "="); split($2, y, "="); if (r > 0) printf "%s %.2f us/req, ", x[1], (y[2] - x[2]) / r / 1000 }' >"$TMPD/split"
  echo "$req $((b[0] - a[0])) $((b[1] - a[1])) $((b[2] - a[2])) $((b[3] - a[3]))"
}
# sys_run: strace -c -f -p APP over one load run; prints "req calls top"
sys_run() {
  local sp req calls top app=${PIDS[-1]}
  warm
  strace -c -f -q -o "$TMPD/strace.out" -p "$app" 2>"$TMPD/strace.err" &
  sp=$!
  sleep 0.5
  req=$(load)
  kill -INT "$sp" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$sp" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$sp" 2>/dev/null
  wait "$sp" 2>/dev/null
  calls=$(awk '$NF == "total" { print $4; f = 1 } END { if (!f) print -1 }' "$TMPD/strace.out")
  top=$(awk '$NF != "total" && $1 ~ /^[0-9.]+$/ && NF >= 5 { print $NF ":" $4 }' "$TMPD/strace.out" |
        sort -t: -k2 -nr | head -4 | tr '\n' ' ')
  echo "$req $calls ${top% }"
}
med() { # values on stdin -> "median (min-max)" with printf format $1
  sort -g | awk -v f="$1" '{ v[NR] = $1 } END {
    if (!NR) { print "n/a"; exit }
    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf f " (" f "-" f ")", m, v[1], v[NR] }'
}
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

echo "# bench/iso_cost.sh $(date -u +%FT%TZ), $(uname -r), $(nproc) CPUs, load average at start: $(loadavg)"
echo "# binaries: $BIN; $REPEAT repeats of $SECS s; load: $LOAD_CMD"
echo "# RTC server:      $CMD_RTC"
echo "# isolated server: $CMD_ISO"
RES=$TMPD/res
: >"$RES"
for ((rep = 1; rep <= REPEAT; rep++)); do
  if ! skipped cpu; then
    if start rtc; then
      r=$(cpu_run rtc); echo "rtc $r" >>"$RES"; echo "# repeat $rep rtc: req ns ticks vcsw ivcsw = $r"
    else echo "# repeat $rep: RTC server did not start: $(head -c 200 "$TMPD/srv.out")"; fi
    stop_server
  fi
  if ! skipped cpu; then
    if start iso; then
      r=$(cpu_run iso); echo "iso $r" >>"$RES"; echo "# repeat $rep iso: req ns ticks vcsw ivcsw = $r"
      echo "# repeat $rep iso, per process: $(cat "$TMPD/split")"
      "$BIN/axlctl" --ctl "$TMPD/stk.sock" stats >"$TMPD/ctl.stats" 2>&1
      stop_server
      # the wake-up counters of that server's life (warm-up and run): app, replica
      echo "# repeat $rep iso counters (whole life):" \
        $(grep -hE '^(AxlPollSleeps|AxlPollSpinHits|AxlIsoSleeps|AxlIsoWakes|HttpRequests200) ' "$TMPD/srv.stats" 2>/dev/null) \
        $(awk '$1 ~ /^(SvcAppWakes[A-Za-z]*|SvcBellWakes|SvcEvents|SvcCmds)$/ { print $1, $NF }' "$TMPD/ctl.stats" 2>/dev/null)
    else echo "# repeat $rep: isolated server did not start: $(head -c 200 "$TMPD/stk.out" "$TMPD/srv.out")"; fi
    stop_server
  fi
  if ! skipped sys; then
    if start iso; then
      r=$(sys_run); echo "sys $r" >>"$RES"; echo "# repeat $rep iso under strace: req calls top = $r"
    else echo "# repeat $rep: isolated server did not start: $(head -c 200 "$TMPD/stk.out" "$TMPD/srv.out")"; fi
    stop_server
  fi
done

echo
echo "load average after the loaded runs: $(loadavg)"
if ! skipped sys; then
  echo "system calls per request, isolated app (strace -c -f -p APP during: $LOAD_CMD):"
  echo "  $(awk '$1 == "sys" && $2 > 0 && $3 >= 0 { print $3 / $2 }' "$RES" | med %.4f)" \
       "  [requests: $(awk '$1 == "sys" { printf "%s ", $2 }' "$RES")calls: $(awk '$1 == "sys" { printf "%s ", $3 }' "$RES")]"
  awk '$1 == "sys" { $1 = $2 = $3 = ""; print "  top:" $0 }' "$RES"
fi
if ! skipped cpu; then
  echo "CPU per request (on-CPU ns from schedstat of every server thread / requests; $LOAD_CMD):"
  echo "  RTC      us/req: $(awk '$1 == "rtc" && $2 > 0 { print $3 / $2 / 1000 }' "$RES" | med %.2f)" \
       "  req/s: $(awk -v s="$SECS" '$1 == "rtc" { print $2 / s }' "$RES" | med %.0f)"
  echo "  isolated us/req: $(awk '$1 == "iso" && $2 > 0 { print $3 / $2 / 1000 }' "$RES" | med %.2f)" \
       "  req/s: $(awk -v s="$SECS" '$1 == "iso" { print $2 / s }' "$RES" | med %.0f)"
  # the ratio per repeat (RTC and isolated of the same repeat are neighbours in time)
  echo "  isolated / RTC: $(awk '$1 == "rtc" && $2 > 0 { r[++nr] = $3 / $2 } $1 == "iso" && $2 > 0 { i[++ni] = $3 / $2 }
        END { for (k = 1; k <= nr && k <= ni; k++) print i[k] / r[k] }' "$RES" | med %.2fx)"
  echo "  (utime+stime ticks, HZ $HZ) RTC us/req: $(awk -v h="$HZ" '$1 == "rtc" && $2 > 0 { print $4 / h * 1e6 / $2 }' "$RES" | med %.2f)," \
       "isolated: $(awk -v h="$HZ" '$1 == "iso" && $2 > 0 { print $4 / h * 1e6 / $2 }' "$RES" | med %.2f)"
  echo "  context switches per request, voluntary + involuntary: RTC" \
       "$(awk '$1 == "rtc" && $2 > 0 { print $5 / $2 }' "$RES" | med %.4f) + $(awk '$1 == "rtc" && $2 > 0 { print $6 / $2 }' "$RES" | med %.4f)," \
       "isolated $(awk '$1 == "iso" && $2 > 0 { print $5 / $2 }' "$RES" | med %.4f) + $(awk '$1 == "iso" && $2 > 0 { print $6 / $2 }' "$RES" | med %.4f)"
fi
if ! skipped idle; then
  if start iso; then
    sleep 1
    a=($(cpu_now)); t0=$(date +%s%N)
    sleep "$IDLE"
    b=($(cpu_now)); t1=$(date +%s%N)
    echo "idle CPU of the isolated server (supervisor + replica + app, nothing connected) over" \
         "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }') s ($CMD_ISO; sleep $IDLE):"
    echo "  $(awk -v n="$((b[0] - a[0]))" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", 100 * n / (b - a) }') % of a core" \
         "(schedstat; ticks: $((b[1] - a[1])) at HZ $HZ; voluntary context switches/s:" \
         "$(awk -v n="$((b[2] - a[2]))" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n * 1e9 / (b - a) }'))"
  else echo "idle: the isolated server did not start: $(head -c 200 "$TMPD/stk.out" "$TMPD/srv.out")"; fi
  stop_server
fi
echo "load average at end: $(loadavg)"
exit 0
