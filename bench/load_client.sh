#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/load_client.sh - axl-load on our stack vs axl-load on kernel sockets:
# the same kernel servers (nginx 1 worker, memcached -t 1, NSD 1 process), in
# one run, driven by axl-load from three client sides in turn: kernel sockets,
# our stack run-to-completion (--port afxdp --addr) and isolated (axl-stackd +
# --stack). Prints a markdown table (median req/s and p99 of --repeat runs,
# min-max, ratios ours/kernel within the run) and writes one JSON object per
# measurement to --raw FILE.
#
#   bench/load_client.sh [--bin DIR] [--seconds S] [--repeat N] [--raw FILE]
#                        [--sides "kernel rtc iso"] [--rows "http kv dns kvopen"]
#
# Topology (names carry the PID; everything removed on exit, also on failure):
#   netns S: the kernel servers on 198.18.44.1 (veth end, offloads off: the
#            AF_XDP client cannot finish checksums), pinned to CPU 0
#   netns C: the client on the other veth end, pinned to CPU 1:
#            kernel  axl-load on kernel sockets, 198.18.44.2 a kernel address
#            rtc     axl-load --port afxdp:IF --addr 198.18.44.2/24 (no kernel
#                    address on the end then)
#            iso     axl-stackd on afxdp:IF (replica on CPU 1) and axl-load
#                    --stack, also on CPU 1
# For each repeat the three sides run one after the other (kernel, rtc, iso),
# each over every row, so the sides of a ratio alternate in time. Rows:
# http (64 B keep-alive, 16 connections), kv (9:1 get:set, 32 B keys, 64 B
# values, 16 connections), dns (1-record zone, 8 sockets), closed loop; and
# kvopen, the kv row in open loop at 5,000 requests/s, whose latency compares
# the sides at the same offered load (closed-loop p99 is mostly queueing).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${AXL_BIN:-$ROOT/build/bin}
SECS=3
REPEAT=3
RAW=""
SIDES="kernel rtc iso"
ROWS="http kv dns kvopen"
while [[ $# -gt 0 ]]; do
  case $1 in
    --bin) BIN=$2; shift 2 ;;
    --seconds) SECS=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --raw) RAW=$2; shift 2 ;;
    --sides) SIDES=$2; shift 2 ;;
    --rows) ROWS=$2; shift 2 ;;
    -h|--help) sed -n '3,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/load_client.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
die() { echo "bench/load_client.sh: $*" >&2; exit 1; }
[[ $SECS =~ ^[0-9]+(\.[0-9]+)?$ ]] && awk -v s="$SECS" 'BEGIN{exit !(s >= 0.2 && s <= 60)}' ||
  die "--seconds 0.2..60"
[[ $REPEAT =~ ^[0-9]+$ && $REPEAT -ge 1 && $REPEAT -le 9 ]] || die "--repeat 1..9"
for s in $SIDES; do case $s in kernel|rtc|iso) ;; *) die "unknown side '$s' (kernel rtc iso)" ;; esac; done
for r in $ROWS; do case $r in http|kv|dns|kvopen) ;; *) die "unknown row '$r' (http kv dns kvopen)" ;; esac; done
row_on() { [[ " $ROWS " == *" $1 "* ]]; }
for b in axl-load axl-stackd; do
  [[ -x $BIN/$b ]] || die "no $BIN/$b (build the release: make O=DIR V=release build-all; --bin DIR/bin)"
done
for b in /usr/sbin/nginx /usr/sbin/nsd /usr/bin/memcached; do
  [[ -x $b ]] || die "no $b (bench/servers.sh installs nginx-light, nsd, memcached)"
done
[[ $(id -u) -eq 0 ]] || die "needs root (network namespaces, AF_XDP)"
[[ $(nproc) -ge 2 ]] || die "needs 2 CPUs (server on 0, client on 1)"

NS_S=axl-ls-$$
NS_C=axl-lc-$$
IF_S=axls$$
IF_C=axlc$$
A_S=198.18.44.1
A_C=198.18.44.2
TMPD=$(mktemp -d /tmp/axl-bench-load.XXXXXX)
chmod 755 "$TMPD"
[[ -n $RAW ]] || RAW=$TMPD/raw.jsonl
: >"$RAW" || die "cannot write $RAW"
SRV_PIDS=()
STK_PID=""
cleanup() {
  [[ -n $STK_PID ]] && bench_stop "$STK_PID"
  bench_stop "${SRV_PIDS[@]}"
  bench_pair_del
  rm -rf "$TMPD"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# (background processes are started with `ip netns exec` itself, never through
# these functions, so that $! is the process and not a subshell)
. "$(dirname "$0")/lib.sh" # in_s, in_c, bench_pair

bench_pair s "$A_S"
in_s sysctl -qw net.core.somaxconn=4096

client_ip() { # on|off: the kernel owns A_C on the client end, or nobody does
  in_c ip addr flush dev "$IF_C"
  [[ $1 == on ]] && in_c ip addr add "$A_C/24" dev "$IF_C"
  in_s ip neigh flush dev "$IF_S" >/dev/null 2>&1
}

# ---- the servers: started once, the same for every client side ---------------
mkdir -p "$TMPD/www"
head -c 64 /dev/urandom | base64 -w 0 | head -c 64 >"$TMPD/www/64.bin"
bench_nginx_conf "$TMPD" "$A_S" "$TMPD/www"
bench_zone "$TMPD/one.zone" one.bench 1 "$A_S"
bench_nsd_conf "$TMPD" "$A_S" "$TMPD/one.zone" one.bench
ip netns exec "$NS_S" taskset -c 0 /usr/sbin/nginx -c "$TMPD/nginx.conf" -p "$TMPD" -e "$TMPD/nginx.err" >"$TMPD/nginx.out" 2>&1 &
SRV_PIDS+=($!)
ip netns exec "$NS_S" taskset -c 0 /usr/bin/memcached -t 1 -u root -U 0 -l "$A_S" -p 11211 -m 64 -c 8192 >"$TMPD/mc.out" 2>&1 &
SRV_PIDS+=($!)
ip netns exec "$NS_S" taskset -c 0 /usr/sbin/nsd -d -c "$TMPD/nsd.conf" >"$TMPD/nsd.out" 2>&1 &
SRV_PIDS+=($!)
client_ip on
up=0
for ((i = 0; i < 100; i++)); do
  if in_c timeout 1 bash -c "exec 3<>/dev/tcp/$A_S/8080 && exec 4<>/dev/tcp/$A_S/11211" 2>/dev/null &&
     in_c timeout 2 dig +tries=1 +time=1 +short -p 53 "@$A_S" www.one.bench A 2>/dev/null | grep -q .; then
    up=1; break
  fi
  sleep 0.2
done
[[ $up -eq 1 ]] || die "the kernel servers did not come up: $(cat "$TMPD"/*.out "$TMPD/nginx.err" 2>/dev/null | head -3)"

# ---- client sides -----------------------------------------------------------------
MODE=()
side_up() { # SIDE: prepare the client end; MODE = axl-load's mode flags
  case $1 in
    kernel) client_ip on; MODE=() ;;
    rtc) client_ip off; MODE=(--port "afxdp:$IF_C" --addr "$A_C/24") ;;
    iso)
      client_ip off
      rm -f "$TMPD/stk.sock"
      ip netns exec "$NS_C" "$BIN/axl-stackd" --port "afxdp:$IF_C" --addr "$A_C/24" --ctl "$TMPD/stk.sock" --cpu 1 \
        >"$TMPD/stk.out" 2>"$TMPD/stk.err" &
      STK_PID=$!
      local i
      for ((i = 0; i < 75; i++)); do
        in_s ping -c 1 -W 1 -q "$A_C" >/dev/null 2>&1 && break
        kill -0 "$STK_PID" 2>/dev/null || break
        sleep 0.2
      done
      MODE=(--stack "$TMPD/stk.sock") ;;
  esac
}
side_down() { # SIDE REP
  if [[ -n $STK_PID ]]; then
    bench_stop "$STK_PID"; STK_PID=""
    # what went wrong in axl-stackd (a replica restarted ...) goes under the table
    grep -E ' (WARN|ERR) ' "$TMPD/stk.err" 2>/dev/null | head -n 5 | sed "s/^/axl-stackd ($1 rep $2): /" >>"$TMPD/notes"
  fi
}
# measure ROW SIDE REP PROTO ARGS...: one axl-load run, one raw record
measure() {
  local row=$1 side=$2 rep=$3 proto=$4; shift 4
  rm -f "$TMPD/load.json"
  in_c timeout "$(awk -v s="$SECS" 'BEGIN{printf "%d", s + 20}')" "$BIN/axl-load" "$proto" \
    --cpu 1 --duration "$SECS" --json "$TMPD/load.json" "$@" "${MODE[@]}" >"$TMPD/load.out" 2>&1
  local rc=$?
  if [[ -s $TMPD/load.json ]]; then
    echo "{\"row\":\"$row\",\"side\":\"$side\",\"rep\":$rep,\"rc\":$rc,\"load\":$(cat "$TMPD/load.json")}" >>"$RAW"
  else
    echo "{\"row\":\"$row\",\"side\":\"$side\",\"rep\":$rep,\"failed\":\"axl-load rc $rc: $(head -c 200 "$TMPD/load.out" | tr '\n"\\' '   ')\"}" >>"$RAW"
  fi
}

load0=$(cut -d' ' -f1-3 /proc/loadavg)
for ((rep = 1; rep <= REPEAT; rep++)); do
  for side in $SIDES; do
    side_up "$side"
    row_on http && measure http "$side" "$rep" http --target "$A_S:8080" --path /64.bin -c 16
    row_on kv && measure kv "$side" "$rep" kv --target "$A_S:11211" -c 16 --get-ratio 0.9
    row_on dns && measure dns "$side" "$rep" dns --target "$A_S:53" -q www.one.bench -c 8
    row_on kvopen &&
      measure kvopen "$side" "$rep" kv --target "$A_S:11211" -c 16 --get-ratio 0.9 --rate 5000
    side_down "$side" "$rep"
  done
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)

/usr/bin/python3 - "$RAW" "$SECS" "$REPEAT" "$load0" "$load1" "$SIDES" "$TMPD/notes" <<'PY'
import json, statistics, sys
raw, secs, rep, l0, l1, sides, notes = sys.argv[1:8]
sides = sides.split()
recs = [json.loads(l) for l in open(raw) if l.strip()]
name = {"kernel": "kernel sockets", "rtc": "ours, RTC", "iso": "ours, isolated"}
rows = {"http": "http 64 B keep-alive, 16 conns (nginx)", "kv": "kv 9:1 get:set, 16 conns (memcached)",
        "dns": "dns A, 8 sockets (NSD)",
        "kvopen": "kv open loop 5,000/s, 16 conns (memcached)"}
def figs(row, side, key):
    v = []
    for r in recs:
        if r["row"] == row and r["side"] == side and "load" in r and r["load"]["errors"] == 0 and r["load"]["requests"] > 0:
            v.append(r["load"]["rps"] if key == "rps" else r["load"]["latency_us"]["p99"])
    return v
def cell(v, fmt):
    if not v: return "not run / errors"
    return (fmt % statistics.median(v)) + " (" + (fmt % min(v)) + "–" + (fmt % max(v)) + ")"
print(f"axl-load client sides, {rep} x {secs} s per cell, median (min–max); load average {l0} -> {l1}")
print()
hdr = "| row | " + " | ".join(f"{name[s]} req/s" for s in sides) + " | " + \
      " | ".join(f"{name[s]} p99 µs" for s in sides) + " | " + \
      " | ".join(f"{name[s]} / kernel" for s in sides if s != "kernel") + " |"
print(hdr)
print("|" + "---|" * (hdr.count("|") - 1))
for row, label in rows.items():
    if not any(r["row"] == row for r in recs): continue
    cells = [cell(figs(row, s, "rps"), "%.0f") for s in sides]
    cells += [cell(figs(row, s, "p99"), "%.0f") for s in sides]
    k = figs(row, "kernel", "rps")
    for s in sides:
        if s == "kernel": continue
        o = figs(row, s, "rps")
        km = statistics.median(k) if k else 0
        cells.append("%.2f" % (statistics.median(o) / km) if o and km > 0 else "-")
    print(f"| {label} | " + " | ".join(cells) + " |")
fails = [r for r in recs if "failed" in r or ("load" in r and r["load"]["errors"])]
for r in fails:
    print(f"\n{r['row']}/{r['side']} rep {r['rep']}: " + (r.get("failed") or f"{r['load']['errors']} errors"))
try:
    for line in open(notes):
        print("\n" + line.rstrip())
except OSError:
    pass
PY
