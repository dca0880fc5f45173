#!/usr/bin/env bash
# bench/restart.sh [KILLS] - replica crash recovery under load (not part of
# make check). Two replicas on afxdp:IF:2 in network namespaces; replica 1 is
# killed KILLS times (default 20, SIGKILL; AXL_BENCH_SIGNAL=SEGV|ABRT|...)
# while a flood ping and a UDP prober load it, and a UDP prober and a steady
# ping run against replica 0. Prints, over the kills, p50 / p99 / max of
#   restart-to-serving  fork -> the replica reports ready (its status page)
#   down                the supervisor notices the death -> ready again
#   client outage       the longest silence the UDP prober on queue 1 (1
#                       datagram per ms) sees within a second after a kill:
#                       death, restart and first echo as a client sees them
# (target p99 <= 50 ms), and what replica 0's streams saw meanwhile: losses
# and the longest gap (target: none lost, gap <= 10 ms), both in the restart
# windows and over the whole run (on 2 CPUs the harness's own polling between
# kills also delays the probers).
# AXL_BENCH_FLOOD=0 replaces the flood ping by a 100/s one (light load);
# AXL_BENCH_PAUSE=SEC is the time between kills (default 0.5);
# AXL_BENCH_ARGS="..." adds axl-stackd options (e.g. --pool 4096).
# Uses the release build (build/bin) unless AXL_BIN says otherwise.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export AXL_BIN=${AXL_BIN:-$ROOT/build/bin}
. "$ROOT/tests/integration/lib.sh"
KILLS=${1:-20}
SIG=${AXL_BENCH_SIGNAL:-KILL}
ulimit -c 0
[ -x "$AXL_BIN/axl-stackd" ] && [ -x "$AXL_BIN/axlctl" ] || die "build first: make ($AXL_BIN)"
[ "$(nproc)" -ge 2 ] || die "needs 2 CPUs (one replica on each)"

netns_up 2
steer_queues 2 || die "XPS steering on the client veth"
read -r -a EXTRA <<<"${AXL_BENCH_ARGS:-}"
start_stackd bench --port "afxdp:$IF_S:2" --addr "$ADDR_S/24" --udp-echo 7 \
  --restart-limit 60 --restart-window 60 "${EXTRA[@]}"
wait_ping "$ADDR_S" 15 || { show_logs; die "stack up"; }
wait_replica 1 0 10 >/dev/null || die "replica 1 up"
PAUSE=${AXL_BENCH_PAUSE:-0.5}
DUR=$(awk -v k="$KILLS" -v p="$PAUSE" 'BEGIN { printf "%d", k * (p + 0.2) + 6 }')

# prober CPU OUT: from CPU (so through queue CPU, to replica CPU), one UDP
# datagram to the echo port every ms for DUR s; OUT gets "sent received",
# then the arrival time (CLOCK_REALTIME) of every echo, one per line.
prober() {
  in_c taskset -c "$1" python3 -c '
import select, socket, sys, time
dst, dur, out = (sys.argv[1], 7), float(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setblocking(False)
t0 = time.monotonic(); nxt = t0; times = []; sent = 0
while time.monotonic() - t0 < dur:
    now = time.monotonic()
    if now >= nxt:
        try:
            s.sendto(b"probe", dst)
            sent += 1
        except OSError:
            pass
        nxt += 0.001
    r, _, _ = select.select([s], [], [], max(0.0, nxt - time.monotonic()))
    if r:
        while True:
            try:
                s.recv(64)
            except BlockingIOError:
                break
            times.append(time.time())
with open(out, "w") as f:
    f.write("%d %d\n" % (sent, len(times)))
    f.write("".join("%.6f\n" % t for t in times))
' "$ADDR_S" "$DUR" "$2"
}

# Replica 0: a UDP prober and a steady ping (-i 0.01: iputils ping spins a
# CPU at shorter intervals). Replica 1: a UDP prober and a flood ping. The
# load generators share the 2 CPUs with the replicas here; the flood runs at
# nice 19 so that, as on a machine whose stack cores are its own, a
# restarting replica is not starved by its own load generator.
in_c taskset -c 0 ping -D -i 0.01 -W 1 -w "$DUR" "$ADDR_S" >"$TMPD/steady.txt" 2>&1 &
STEADY=$!
if [ "${AXL_BENCH_FLOOD:-1}" = 1 ]; then
  in_c taskset -c 1 nice -n 19 ping -f -w "$DUR" -q "$ADDR_S" >"$TMPD/flood.txt" 2>&1 &
else
  in_c taskset -c 1 ping -i 0.01 -w "$DUR" -q "$ADDR_S" >"$TMPD/flood.txt" 2>&1 &
fi
FLOOD=$!
prober 0 "$TMPD/probe0.txt" &
P0=$!
prober 1 "$TMPD/probe1.txt" &
P1=$!
sleep 2

: >"$TMPD/restarts.txt"
: >"$TMPD/kills.txt"
for ((i = 1; i <= KILLS; i++)); do
  date +%s.%N >>"$TMPD/kills.txt"
  axlctl kill-replica 1 --signal "$SIG" >/dev/null || die "kill-replica failed at kill $i"
  # No polling while it restarts (that would compete for the CPUs): the
  # supervisor times the restart itself; look once it should be done.
  sleep "$PAUSE"
  wait_replica 1 "$i" 10 >/dev/null || { show_logs; die "replica 1 not back after kill $i"; }
  [ "$(replica_field 1 restarts)" = "$i" ] || die "replica 1 restarted more than once after kill $i"
  printf '%s %s\n' "$(replica_field 1 restart_ms)" "$(replica_field 1 down_ms)" >>"$TMPD/restarts.txt"
done
wait "$STEADY" "$FLOOD" "$P0" "$P1"

read -r n lost gap < <(ping_gaps "$TMPD/steady.txt")
python3 - "$TMPD/restarts.txt" "$TMPD/probe1.txt" "$TMPD/probe0.txt" "$TMPD/kills.txt" \
  "$KILLS" "$SIG" "$n" "$lost" "$gap" "${AXL_BENCH_ARGS:+, $AXL_BENCH_ARGS}" <<'PY'
import bisect, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
fork = sorted(float(r[0]) for r in rows)
down = sorted(float(r[1]) for r in rows)

def probe(path):
    lines = open(path).read().split("\n")
    sent, got = (int(x) for x in lines[0].split())
    return sent, got, [float(x) for x in lines[1:] if x.strip()]

s1, g1, t1 = probe(sys.argv[2])
s0, g0, t0 = probe(sys.argv[3])
kills = [float(x) for x in open(sys.argv[4]) if x.strip()]
outage = []  # per kill: prober 1's longest silence within a second after it
for k in kills:
    j = max(1, bisect.bisect_left(t1, k))
    e = bisect.bisect_right(t1, k + 1.0)
    if j < e <= len(t1):
        outage.append(max(t1[i] - t1[i - 1] for i in range(j, e)) * 1000)
outage.sort()
gap0 = max(((b - a) * 1000 for a, b in zip(t0, t0[1:])), default=float("nan"))
win0 = 0.0  # prober 0's longest silence while replica 1 restarts (kill .. +300 ms)
for k in kills:
    j = max(1, bisect.bisect_left(t0, k))
    e = min(len(t0), bisect.bisect_right(t0, k + 0.3) + 1)
    if j < e:
        win0 = max(win0, max(t0[i] - t0[i - 1] for i in range(j, e)) * 1000)

def pct(v, p):
    if not v:
        return float("nan")
    return v[min(len(v) - 1, max(0, -(-p * len(v) // 100) - 1))]

print("replica restarts under load: %s x SIG%s on replica 1 (afxdp, 2 replicas%s)"
      % (sys.argv[5], sys.argv[6], sys.argv[10]))
print("%-36s %9s %9s %9s" % ("", "p50 ms", "p99 ms", "max ms"))
for name, v in (("restart-to-serving (fork -> ready)", fork),
                ("down (death noticed -> ready)", down),
                ("client outage (UDP prober, q1)", outage)):
    print("%-36s %9.2f %9.2f %9.2f" % (name, pct(v, 50), pct(v, 99), max(v) if v else float("nan")))
print("replica 0, UDP prober (1/ms): %d sent, %d echoed; longest gap %.1f ms while replica 1"
      " restarts (kill to +300 ms), %.1f ms over the whole run" % (s0, g0, win0, gap0))
print("replica 0, steady ping (1/10 ms): %s replies, %s lost, longest gap %s ms"
      % (sys.argv[7], sys.argv[8], sys.argv[9]))
print("replica 1, UDP prober (1/ms): %d sent, %d echoed" % (s1, g1))
PY
tail -n 2 "$TMPD/flood.txt"
grep -c 'serving again' "$TMPD/bench.err" | sed 's/^/restarts logged by the supervisor: /'
grep -c 'ready (restart mode).*socket taken over' "$TMPD/bench.err" | sed 's/^/of which took over the dead replica'"'"'s queue socket: /'
grep -E 'set-up' "$TMPD/bench.err" |
  sed -E 's/.*set-up ([0-9.]+) ms \(pool ([0-9.]+)( beforehand)?, queue ([0-9.]+)(: .*)?, engine ([0-9.]+)\).*/\1 \2 \4 \6/' |
  awk 'NR > 2 { n++; t += $1; p += $2; q += $3; e += $4 }
       END { if (n) printf "replica set-up, mean of %d restarts: %.1f ms (pool %.1f, queue %.1f, engine %.1f)\n", n, t / n, p / n, q / n, e / n }'
[ -n "${AXL_BENCH_KEEP:-}" ] && cp "$TMPD"/probe?.txt "$TMPD"/kills.txt "$TMPD"/restarts.txt "$TMPD"/bench.err "$AXL_BENCH_KEEP"/
stop_stackd || echo "warning: axl-stackd did not exit cleanly"
exit 0
