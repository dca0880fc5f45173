#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/servers.sh - Axolotl's servers (axl-httpd, axl-dnsd, axl-kvd) beside
# the kernel baselines users would pick (nginx with 1 worker, NSD with 1
# server process and rate limiting off, memcached -t 1), in one run, driven by
# the same load generator (axl-load) with the same pinning. Writes one JSON
# object per measurement (raw figures) to --raw FILE; bench/report.py turns
# them into the report. Called by bench/run; runnable alone.
#
#   bench/servers.sh --raw FILE [--bin DIR] [--seconds S] [--repeat N]
#                    [--families "http dns1 dns10k kv idle sys"] [--quick]
#
# Topology (names carry the PID; everything removed on exit, also on failure):
#   netns S: the server on its veth end, pinned to CPU 0
#            kernel rows: nginx / nsd / memcached bind 198.18.40.2 (kernel IP)
#            ours, RTC:   the server on AF_XDP on that veth end (no kernel IP)
#            ours, iso:   axl-stackd on AF_XDP (replica on CPU 0) + the server
#                         attached with --stack, also on CPU 0
#   netns C: axl-load (kernel sockets) on CPU 1, 198.18.40.1, offloads off
# Families: http (64 B keep-alive 100 conns, new connection per request,
# 11 KiB, 512 KiB, ICMP echo 64 B latency), dns1 / dns10k (1-entry and
# 10,000-entry zone), kv (9:1 get:set 32 B keys 64 B values, 100 conns; and
# a 1-connection get latency row), idle (CPU of the HTTP servers with no
# load, over 3 s; 1 s with --quick), sys (system calls per request of the
# loaded HTTP server, 64 B keep-alive load, counted by `strace -c -f` attached
# to the server: the app alone in isolated mode). For each family and repeat,
# each server is started, warmed up (0.3 s), measured, stopped, so the three
# sides of every ratio alternate in time. --quick: no warm-up, the first HTTP
# row only, 10 connections, 100 pings (a smoke test of the harness). Server CPU = utime+stime of its processes over the
# measurement (/proc/PID/stat), divided by requests. An "ours, iso" side whose
# start fails is recorded as {"skipped": reason} ("not run" in the report).
# Missing kernel servers are installed from Debian (apt-get) with a
# policy-rc.d guard so that their system-wide services are never started.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${AXL_BIN:-$ROOT/build/bin}
SECS=4
REPEAT=3
RAW=""
QUICK=0
FAMILIES="http dns1 dns10k kv idle sys"
while [[ $# -gt 0 ]]; do
  case $1 in
    --bin) BIN=$2; shift 2 ;;
    --seconds) SECS=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --raw) RAW=$2; shift 2 ;;
    --families) FAMILIES=$2; shift 2 ;;
    --quick) QUICK=1; shift ;;
    -h|--help) sed -n '3,33p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/servers.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
die() { echo "bench/servers.sh: $*" >&2; exit 1; }
[[ -n $RAW ]] || die "--raw FILE is required (see --help)"
[[ $SECS =~ ^[0-9]+(\.[0-9]+)?$ ]] && awk -v s="$SECS" 'BEGIN{exit !(s >= 0.1 && s <= 60)}' ||
  die "--seconds 0.1..60"
[[ $REPEAT =~ ^[0-9]+$ && $REPEAT -ge 1 && $REPEAT -le 9 ]] || die "--repeat 1..9"
for f in $FAMILIES; do
  case $f in http|dns1|dns10k|kv|idle|sys) ;; *) die "unknown family '$f' (http dns1 dns10k kv idle sys)" ;; esac
done
for b in axl-load axl-httpd axl-dnsd axl-kvd axl-stackd; do
  [[ -x $BIN/$b ]] || die "no $BIN/$b (build the release: make O=DIR V=release build-all; --bin DIR/bin)"
done
[[ $(id -u) -eq 0 ]] || die "needs root (network namespaces, AF_XDP)"
[[ $(nproc) -ge 2 ]] || die "needs 2 CPUs (server on 0, client on 1)"

# ---- kernel baselines from Debian, services never started system-wide ------
ensure_pkgs() {
  local need=() p
  for p in nginx-light nsd memcached; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
  done
  [[ ${#need[@]} -eq 0 ]] && return 0
  echo "bench/servers.sh: installing ${need[*]} from Debian (services not started)" >&2
  local guard=/usr/sbin/policy-rc.d made=0
  if [[ ! -e $guard ]]; then printf '#!/bin/sh\nexit 101\n' >"$guard"; chmod 755 "$guard"; made=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >&2
  local rc=$?
  [[ $made -eq 1 ]] && rm -f "$guard"
  for p in nginx nsd memcached; do # in case a unit was started anyway
    systemctl stop "$p" >/dev/null 2>&1; systemctl disable "$p" >/dev/null 2>&1
  done
  return $rc
}
ensure_pkgs || die "apt-get install failed"
for b in /usr/sbin/nginx /usr/sbin/nsd /usr/bin/memcached; do [[ -x $b ]] || die "no $b"; done

# ---- topology ---------------------------------------------------------------
NS_S=axl-bs-$$
NS_C=axl-bc-$$
IF_S=axbs$$
IF_C=axbc$$
A_S=198.18.40.2
A_C=198.18.40.1
TMPD=$(mktemp -d /tmp/axl-bench-srv.XXXXXX)
chmod 755 "$TMPD"
SRV_PIDS=()
cleanup() {
  stop_server
  bench_pair_del
  rm -rf "$TMPD"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
. "$(dirname "$0")/lib.sh" # in_s, in_c, bench_pair

bench_pair c "$A_C"
# Many short connections (the new-connection row): reuse TIME_WAIT ports.
in_c sysctl -qw net.ipv4.tcp_tw_reuse=1
in_c sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
in_s sysctl -qw net.core.somaxconn=4096
in_s sysctl -qw net.ipv4.tcp_max_syn_backlog=4096

kernel_ip() { # on|off: the kernel owns 198.18.40.2 on our veth end, or nobody does
  in_s ip addr flush dev "$IF_S"
  [[ $1 == on ]] && in_s ip addr add "$A_S/24" dev "$IF_S"
  in_c ip neigh flush dev "$IF_C" >/dev/null 2>&1
}

# ---- content ----------------------------------------------------------------
WWW=$TMPD/www
mkdir -p "$WWW"
head -c 64 /dev/urandom | base64 -w 0 | head -c 64 >"$WWW/64.bin"
head -c 11264 /dev/urandom >"$WWW/11k.bin"
head -c 524288 /dev/urandom >"$WWW/512k.bin"
bench_zone "$TMPD/one.zone" one.bench 1 "$A_S"
bench_zone "$TMPD/big.zone" big.bench 10000 "$A_S"
# 64 query names spread over the big zone (axl-load picks among them at random)
BIGQ=()
for ((i = 0; i < 64; i++)); do BIGQ+=(--qname "h$(( (i * 7919) % 10000 )).big.bench"); done

bench_nginx_conf "$TMPD" "$A_S" "$WWW"
nsd_conf() { bench_nsd_conf "$TMPD" "$A_S" "$1" "$2"; } # ZONEFILE ORIGIN

# ---- servers -----------------------------------------------------------------
SKIP=""   # why the last start_server failed
stop_server() { # the app before the stack (reverse order of start)
  bench_stop "${SRV_PIDS[@]}"
  SRV_PIDS=()
}
tcp_up() { in_c timeout 1 bash -c "exec 3<>/dev/tcp/$A_S/$1" 2>/dev/null; }
dns_up() { in_c timeout 2 dig +tries=1 +time=1 +short -p 53 "@$A_S" "$1" A 2>/dev/null | grep -q .; }
wait_up() { # CHECK ARG: until the server answers (20 s at most) and its processes live
  local i p
  for ((i = 0; i < 100; i++)); do
    "$1" "$2" && return 0
    for p in "${SRV_PIDS[@]}"; do kill -0 "$p" 2>/dev/null || return 1; done
    sleep 0.2
  done
  return 1
}
first_err() { grep -hvE '^\s*$' "$@" 2>/dev/null | grep -iE 'error|cannot|fail|not|unknown|refus' | head -1 | cut -c1-120; }

# start_ours SIDE PROG ARGS...: SIDE rtc | iso
start_ours() {
  local side=$1 prog=$2; shift 2
  kernel_ip off
  if [[ $side == rtc ]]; then
    ip netns exec "$NS_S" taskset -c 0 "$BIN/$prog" "$@" --port "afxdp:$IF_S" --addr "$A_S/24" \
      --stats-out "$TMPD/srv.stats" >"$TMPD/srv.out" 2>"$TMPD/srv.err" &
    SRV_PIDS+=($!)
  else
    rm -f "$TMPD/stk.sock"
    ip netns exec "$NS_S" "$BIN/axl-stackd" --port "afxdp:$IF_S" --addr "$A_S/24" --ctl "$TMPD/stk.sock" \
      --cpu 0 --stats-out "$TMPD/stk.stats" >"$TMPD/stk.out" 2>"$TMPD/stk.err" &
    SRV_PIDS+=($!)
    local i
    for ((i = 0; i < 75; i++)); do
      in_c ping -c 1 -W 1 -q "$A_S" >/dev/null 2>&1 && break
      kill -0 "${SRV_PIDS[0]}" 2>/dev/null || break
      sleep 0.2
    done
    ip netns exec "$NS_S" taskset -c 0 "$BIN/$prog" "$@" --stack "$TMPD/stk.sock" \
      --stats-out "$TMPD/srv.stats" >"$TMPD/srv.out" 2>"$TMPD/srv.err" &
    SRV_PIDS+=($!)
  fi
}
start_server() { # FAMILY SIDE: returns 1 with SKIP set when it does not come up
  local fam=$1 side=$2 check arg
  SKIP=""
  rm -f "$TMPD"/*.err "$TMPD"/*.out
  case $fam/$side in
    http/kernel|idle/kernel|sys/kernel)
      kernel_ip on
      ip netns exec "$NS_S" taskset -c 0 /usr/sbin/nginx -c "$TMPD/nginx.conf" -p "$TMPD" -e "$TMPD/nginx.err" \
        >"$TMPD/srv.out" 2>"$TMPD/srv.err" &
      SRV_PIDS+=($!) ;;
    http/*|idle/*|sys/*) start_ours "$side" axl-httpd --root "$WWW" --listen 8080 ;;
    dns1/kernel|dns10k/kernel)
      kernel_ip on
      if [[ $fam == dns1 ]]; then nsd_conf "$TMPD/one.zone" one.bench; else nsd_conf "$TMPD/big.zone" big.bench; fi
      ip netns exec "$NS_S" taskset -c 0 /usr/sbin/nsd -d -c "$TMPD/nsd.conf" >"$TMPD/srv.out" 2>"$TMPD/srv.err" &
      SRV_PIDS+=($!) ;;
    dns1/*) start_ours "$side" axl-dnsd --zone "$TMPD/one.zone" --listen 53 ;;
    dns10k/*) start_ours "$side" axl-dnsd --zone "$TMPD/big.zone" --listen 53 ;;
    kv/kernel)
      kernel_ip on
      ip netns exec "$NS_S" taskset -c 0 /usr/bin/memcached -t 1 -u root -U 0 -l "$A_S" -p 11211 -m 64 -c 8192 \
        >"$TMPD/srv.out" 2>"$TMPD/srv.err" &
      SRV_PIDS+=($!) ;;
    kv/*) start_ours "$side" axl-kvd --listen 11211 --memory 64 ;;
  esac
  case $fam in
    http|idle|sys) check=tcp_up; arg=8080 ;;
    dns1) check=dns_up; arg=www.one.bench ;;
    dns10k) check=dns_up; arg=h1.big.bench ;;
    kv) check=tcp_up; arg=11211 ;;
  esac
  if ! wait_up "$check" "$arg"; then
    SKIP="$side server did not come up: $(first_err "$TMPD"/stk.err "$TMPD"/*.err "$TMPD"/*.out "$TMPD/nginx.err" "$TMPD/nsd.log")"
    stop_server
    return 1
  fi
  return 0
}

# CPU seconds (utime+stime) of the server's processes and their children.
cpu_ticks() {
  local p all=() t=0 c
  for p in "${SRV_PIDS[@]}"; do
    all+=("$p")
    for c in $(pgrep -P "$p" 2>/dev/null); do all+=("$c"); for g in $(pgrep -P "$c" 2>/dev/null); do all+=("$g"); done; done
  done
  for p in "${all[@]}"; do
    [[ -r /proc/$p/stat ]] || continue
    t=$((t + $(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat")))
  done
  echo "$t"
}
HZ=$(getconf CLK_TCK)

emit() { # JSON line to RAW
  echo "$1" >>"$RAW"
}
# measure ROW SIDE REP PROTO ARGS...: one axl-load run, one raw record
measure() {
  local row=$1 side=$2 rep=$3 proto=$4; shift 4
  local c0 c1 t0 t1 rc
  rm -f "$TMPD/load.json"
  c0=$(cpu_ticks); t0=$(date +%s.%N)
  in_c timeout "$(awk -v s="$SECS" 'BEGIN{printf "%d", s + 20}')" "$BIN/axl-load" "$proto" \
    --cpu 1 --duration "$SECS" --json "$TMPD/load.json" "$@" >"$TMPD/load.out" 2>&1
  rc=$?
  c1=$(cpu_ticks); t1=$(date +%s.%N)
  if [[ -s $TMPD/load.json ]]; then
    emit "{\"row\":\"$row\",\"side\":\"$side\",\"rep\":$rep,\"rc\":$rc,\"wall_s\":$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}'),\"server_cpu_s\":$(awk -v a="$c0" -v b="$c1" -v h="$HZ" 'BEGIN{printf "%.3f", (b-a)/h}'),\"load\":$(cat "$TMPD/load.json")}"
  else
    emit "{\"row\":\"$row\",\"side\":\"$side\",\"rep\":$rep,\"failed\":\"axl-load rc $rc: $(head -c 200 "$TMPD/load.out" | tr '\n"\\' '   ')\"}"
  fi
}
warm() { # PROTO ARGS...: 0.3 s of load, result discarded (not with --quick)
  [[ $QUICK -eq 1 ]] && return 0
  in_c timeout 20 "$BIN/axl-load" "$@" --cpu 1 --duration 0.3 >/dev/null 2>&1
}
# ---- the run -----------------------------------------------------------------
HTTP_C=100
KV_C=100
[[ $QUICK -eq 1 ]] && { HTTP_C=10; KV_C=10; }
run_family() { # FAMILY SIDE REP
  local fam=$1 side=$2 rep=$3 T=$A_S
  case $fam in
    http)
      warm http --target "$T:8080" -c "$HTTP_C" --path /64.bin
      measure http_64 "$side" "$rep" http --target "$T:8080" -c "$HTTP_C" --path /64.bin
      if [[ $QUICK -eq 0 ]]; then # --quick: the first row only
        measure http_new "$side" "$rep" http --target "$T:8080" -c "$HTTP_C" --path /64.bin --new-conn
        measure http_11k "$side" "$rep" http --target "$T:8080" -c "$HTTP_C" --path /11k.bin
        measure http_512k "$side" "$rep" http --target "$T:8080" -c "$HTTP_C" --path /512k.bin
      fi
      local n=2000 s
      [[ $QUICK -eq 1 ]] && n=100
      s=$(in_c taskset -c 1 timeout 60 ping -n -c "$n" -i 0.001 -s 56 -W 1 "$T" 2>/dev/null |
          sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' | sort -g |
          awk '{v[NR]=$1} END { if (NR) printf "%d %.1f %.1f %.1f", NR, v[int(NR*0.5+0.5)]*1000, v[int(NR*0.99+0.5)]*1000, v[NR]*1000; else print "0 0 0 0" }')
      set -- $s
      emit "{\"row\":\"echo_icmp\",\"side\":\"$side\",\"rep\":$rep,\"ping\":{\"sent\":$n,\"replies\":$1,\"p50_us\":$2,\"p99_us\":$3,\"max_us\":$4}}" ;;
    dns1)
      warm dns --target "$T:53" --qname www.one.bench
      measure dns_1 "$side" "$rep" dns --target "$T:53" --qname www.one.bench ;;
    dns10k)
      warm dns --target "$T:53" "${BIGQ[@]}"
      measure dns_10k "$side" "$rep" dns --target "$T:53" "${BIGQ[@]}" ;;
    kv)
      # fill the key space first (sets only), so that gets hit
      in_c timeout 30 "$BIN/axl-load" kv --target "$T:11211" -c 10 --get-ratio 0 --keys 1000 \
        --key-size 32 --value-size 64 --requests 2000 --cpu 1 >/dev/null 2>&1
      measure kv_91 "$side" "$rep" kv --target "$T:11211" -c "$KV_C" --get-ratio 0.9 --keys 1000 \
        --key-size 32 --value-size 64
      measure kv_lat "$side" "$rep" kv --target "$T:11211" -c 1 --get-ratio 1 --keys 1000 \
        --key-size 32 --value-size 64 ;;
    idle) idle_cpu "$side" "$rep" ;;
    sys)
      warm http --target "$T:8080" -c "$HTTP_C" --path /64.bin
      count_syscalls "$side" "$rep" ;;
  esac
}

# syscalls: strace -c -f on the app's processes during one load run
count_syscalls() { # SIDE REP
  local side=$1 rep=$2 pids=() p c sp calls
  if [[ $side == iso ]]; then pids=("${SRV_PIDS[-1]}")
  else for p in "${SRV_PIDS[@]}"; do pids+=("$p"); for c in $(pgrep -P "$p"); do pids+=("$c"); done; done
  fi
  local args=()
  for p in "${pids[@]}"; do args+=(-p "$p"); done
  strace -c -f -q -o "$TMPD/strace.out" "${args[@]}" 2>"$TMPD/strace.err" &
  sp=$!
  sleep 0.5
  measure sys_http_64 "$side" "$rep" http --target "$A_S:8080" -c "$HTTP_C" --path /64.bin
  kill -INT "$sp" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$sp" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$sp" 2>/dev/null
  wait "$sp" 2>/dev/null
  calls=$(awk '$NF == "total" { print $4; f = 1 } END { if (!f) print -1 }' "$TMPD/strace.out" 2>/dev/null)
  [[ $calls =~ ^-?[0-9]+$ ]] || calls=-1
  # the top system calls, for the report
  local top
  top=$(awk '$NF != "total" && $1 ~ /^[0-9.]+$/ && NF >= 5 { print $NF ":" $4 }' "$TMPD/strace.out" 2>/dev/null |
        sort -t: -k2 -nr | head -5 | tr '\n' ' ')
  emit "{\"row\":\"syscalls\",\"side\":\"$side\",\"rep\":$rep,\"syscalls\":$calls,\"pids\":${#pids[@]},\"top\":\"${top% }\"}"
}
idle_cpu() { # SIDE REP
  local c0 c1 t0 t1 s=3
  [[ $QUICK -eq 1 ]] && s=1
  sleep 0.5
  c0=$(cpu_ticks); t0=$(date +%s.%N)
  sleep "$s"
  c1=$(cpu_ticks); t1=$(date +%s.%N)
  emit "{\"row\":\"idle_cpu\",\"side\":\"$1\",\"rep\":$2,\"cpu_s\":$(awk -v a="$c0" -v b="$c1" -v h="$HZ" 'BEGIN{printf "%.3f", (b-a)/h}'),\"wall_s\":$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')}"
}

SIDES="rtc iso kernel"
for fam in $FAMILIES; do
  for ((rep = 1; rep <= REPEAT; rep++)); do
    for side in $SIDES; do
      echo "bench/servers.sh: $fam, $side, repeat $rep/$REPEAT" >&2
      if start_server "$fam" "$side"; then
        run_family "$fam" "$side" "$rep"
        stop_server
      else
        echo "bench/servers.sh:   not run: $SKIP" >&2
        emit "{\"family\":\"$fam\",\"side\":\"$side\",\"rep\":$rep,\"skipped\":\"$(printf '%s' "$SKIP" | tr '"\\' "' ")\"}"
      fi
    done
  done
done
exit 0
