#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/axl_rr.sh: what protection costs the native API (include/axl/axl.h):
# 64-byte TCP echo round trips through axl-nc --echo --nodelay, the same
# program in its two modes, against the same Linux client:
#   isolated  axl-stackd --replicas 1 (replica pinned to CPU 0) and axl-nc
#             --stack attached to it over shared-memory channels (pinned as
#             --app-cpu says)
#   rtc       axl-nc --port afxdp:IF --addr ... (the engine linked in, CPU 0)
# client: tcp_rr --kernel rr (one request outstanding) in the client
# namespace on CPU 1. Per mode: transactions/s, p50 and p99 round trip (from
# tcp_rr), and CPU per request = utime+stime (/proc/PID/stat) of the server
# side processes (replica + app, or the RTC process) over the run / requests.
#
#   bench/axl_rr.sh [--seconds S] [--repeat N] [--app-cpu 0|1] [--bin DIR]
#     --bin DIR   the release build root (DIR/bin/axl-stackd, DIR/bin/axl-nc,
#                 DIR/bench/tcp_rr); default build
# Prints one line per run and a median line per mode. Needs root; bounded
# (every process under timeout); removes what it creates.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECS=5
REPEAT=3
APPCPU=0
BIN=$ROOT/build
while [[ $# -gt 0 ]]; do
  case $1 in
    --seconds) SECS=${2:-}; shift 2 ;;
    --repeat) REPEAT=${2:-}; shift 2 ;;
    --app-cpu) APPCPU=${2:-}; shift 2 ;;
    --bin) BIN=${2:-}; shift 2 ;;
    -h|--help) sed -n '3,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "axl_rr.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ $SECS =~ ^[0-9]+$ && $SECS -ge 1 && $SECS -le 60 ]] || { echo "axl_rr.sh: --seconds 1..60" >&2; exit 2; }
[[ $REPEAT =~ ^[0-9]+$ && $REPEAT -ge 1 && $REPEAT -le 9 ]] || { echo "axl_rr.sh: --repeat 1..9" >&2; exit 2; }
[[ $APPCPU == 0 || $APPCPU == 1 ]] || { echo "axl_rr.sh: --app-cpu 0 or 1" >&2; exit 2; }
for f in bin/axl-stackd bin/axl-nc bench/tcp_rr; do
  [[ -x $BIN/$f ]] || { echo "axl_rr.sh: no $BIN/$f (make O=DIR V=release build-all)" >&2; exit 1; }
done
[[ $(id -u) -eq 0 ]] || { echo "axl_rr.sh: needs root (namespaces, XDP)" >&2; exit 1; }

TAG=$$
NS_S=axl-rrs-$TAG NS_C=axl-rrc-$TAG IF_S=arrs$TAG IF_C=arrc$TAG
TMPD=$(mktemp -d /tmp/axl-rr.XXXXXX)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  sleep 0.3
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
  ip netns del "$NS_S" 2>/dev/null
  ip netns del "$NS_C" 2>/dev/null
  rm -rf "$TMPD"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
in_c() { ip netns exec "$NS_C" "$@"; }

ip netns add "$NS_S" && ip netns add "$NS_C" || exit 1
ip link add "$IF_S" netns "$NS_S" type veth peer name "$IF_C" netns "$NS_C" || exit 1
ip netns exec "$NS_S" sysctl -qw "net.ipv6.conf.$IF_S.disable_ipv6=1"
ip netns exec "$NS_S" ip link set "$IF_S" up
in_c ethtool -K "$IF_C" tx off tso off gso off >/dev/null 2>&1
in_c ip addr add 198.18.0.1/24 dev "$IF_C"
in_c ip link set "$IF_C" up
in_c ip link set lo up

# cpu_ticks PID...: utime+stime of the processes (clock ticks)
cpu_ticks() {
  local t=0 p
  for p in "$@"; do
    [[ -r /proc/$p/stat ]] && t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat")))
  done
  echo $t
}
HZ=$(getconf CLK_TCK)

wait_up() {
  local i
  for i in $(seq 100); do
    in_c ping -c 1 -W 1 -q 198.18.0.2 >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

# run MODE: one measurement; prints "MODE tps p50 p99 cpu_us_per_req"
run() {
  local mode=$1 srv=() ctl=$TMPD/stack.sock
  if [[ $mode == isolated ]]; then
    ip netns exec "$NS_S" timeout $((SECS + 60)) "$BIN/bin/axl-stackd" --port "afxdp:$IF_S" \
      --addr 198.18.0.2/24 --replicas 1 --cpu 0 --ctl "$ctl" --log-level warn \
      --stats-out "$TMPD/stackd.stats" 2>"$TMPD/stackd.err" &
    PIDS+=($!)
    wait_up || { echo "axl_rr.sh: the stack did not come up" >&2; tail -5 "$TMPD/stackd.err" >&2; return 1; }
    timeout $((SECS + 60)) taskset -c "$APPCPU" "$BIN/bin/axl-nc" --stack "$ctl" -l 7000 --echo \
      --nodelay 2>"$TMPD/app.err" &
    local app=$!
    PIDS+=($app)
    sleep 0.5
    local rep
    rep=$(printf 'AXL1 replicas\n' | socat -t 2 - "UNIX-CONNECT:$ctl" | awk -F'[ =]' '/^replica=0/ { print $4 }')
    srv=($(pgrep -f "axl-nc --stack $ctl") $rep)
  else
    ip netns exec "$NS_S" timeout $((SECS + 60)) taskset -c 0 "$BIN/bin/axl-nc" \
      --port "afxdp:$IF_S" --addr 198.18.0.2/24 -l 7000 --echo --nodelay 2>"$TMPD/app.err" &
    local app=$!
    PIDS+=($app)
    wait_up || { echo "axl_rr.sh: axl-nc did not come up" >&2; return 1; }
    srv=($(pgrep -f "axl-nc --port afxdp:$IF_S"))
  fi
  # a warm-up connection, then the measured one
  in_c taskset -c 1 timeout 30 "$BIN/bench/tcp_rr" --kernel --seconds 1 rr 198.18.0.2 7000 >/dev/null 2>&1
  local t0 t1
  t0=$(cpu_ticks "${srv[@]}")
  in_c taskset -c 1 timeout $((SECS + 30)) "$BIN/bench/tcp_rr" --kernel --size 64 --seconds "$SECS" \
    rr 198.18.0.2 7000 2>"$TMPD/rr.out" >/dev/null
  t1=$(cpu_ticks "${srv[@]}")
  local line
  line=$(grep '^RESULT mode=rr' "$TMPD/rr.out")
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  PIDS=()
  [[ -n $line ]] || { echo "axl_rr.sh: $mode: no result" >&2; cat "$TMPD/rr.out" "$TMPD/app.err" >&2; return 1; }
  awk -v m="$mode" -v l="$line" -v dt=$((t1 - t0)) -v hz="$HZ" 'BEGIN {
    n = split(l, kv, " "); for (i = 1; i <= n; i++) { split(kv[i], p, "="); v[p[1]] = p[2] }
    printf "%s tps=%d p50_us=%.1f p99_us=%.1f cpu_us_per_req=%.2f n=%d\n", m, v["tps"], v["p50_us"], v["p99_us"],
      (v["n"] > 0 ? dt / hz * 1e6 / v["n"] : 0), v["n"] }'
}

echo "# 64-byte TCP echo, one outstanding request; client tcp_rr --kernel on CPU 1;"
echo "# isolated: replica on CPU 0, app on CPU $APPCPU; rtc: axl-nc on CPU 0; ${SECS}s x $REPEAT"
for mode in rtc isolated; do
  for ((k = 0; k < REPEAT; k++)); do run "$mode" | tee -a "$TMPD/all"; done
done
# median of field F over the runs of MODE
med() { grep "^$1 " "$TMPD/all" | tr ' ' '\n' | grep "^$2=" | cut -d= -f2 | sort -g |
        awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }
for mode in rtc isolated; do
  echo "MEDIAN $mode tps=$(med $mode tps) p50_us=$(med $mode p50_us) p99_us=$(med $mode p99_us)" \
       "cpu_us_per_req=$(med $mode cpu_us_per_req)"
done
