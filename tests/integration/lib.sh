# shellcheck shell=bash
# Shared helpers for the integration tests (sourced, not run).
#
# Topology every test builds for itself (names carry the test's PID so that
# runs never collide, and everything is removed on exit, also on failure):
#
#   netns $NS_S ("stack side")              netns $NS_C ("client side")
#   +-----------------------------+         +------------------------------+
#   | axl-stackd on $IF_S         |  veth   | Linux kernel, $IF_C          |
#   | 198.18.0.2/24 (ours)        |<=======>| 198.18.0.1/24                |
#   +-----------------------------+         +------------------------------+
#
# The client end has TX checksum offload, TSO and GSO turned off: AF_XDP cannot
# see that a checksum is unfinished, so the kernel must finish it. Our end
# carries no kernel IPv4 address and IPv6 is disabled on it, so the kernel on
# our side never answers for the stack.
set -u

AXL_ROOT=${AXL_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
AXL_BIN=${AXL_BIN:-$AXL_ROOT/build/asan/bin}
AXL_TOOLS=${AXL_TOOLS:-$AXL_ROOT/build/asan/tests/tools}
TAG=${TAG:-$$}
NS_S=axl-s-$TAG
NS_C=axl-c-$TAG
IF_S=axs$TAG
IF_C=axc$TAG
ADDR_S=198.18.0.2
ADDR_C=198.18.0.1
TMPD=$(mktemp -d /tmp/axl-it.XXXXXX)
# Every axl-stackd and axlctl of this test uses a control socket of its own
# (never the system default /run/axl/stack.sock), so tests run side by side.
export AXL_STACK=$TMPD/stackd.sock
PIDS=()
NFAIL=0

ok() { echo "ok $*"; }
not_ok() { echo "not ok $*"; NFAIL=$((NFAIL + 1)); }
check() { # check NAME CMD... : runs CMD, prints ok/not ok
  local name=$1; shift
  if "$@"; then ok "$name"; else not_ok "$name"; fi
}
die() { echo "not ok setup: $*"; exit 1; }
in_s() { ip netns exec "$NS_S" "$@"; }
in_c() { ip netns exec "$NS_C" "$@"; }

axl_cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
  done
  ip netns del "$NS_S" 2>/dev/null
  ip netns del "$NS_C" 2>/dev/null
  # AXL_KEEP_LOGS=DIR: keep this test's logs (stackd stderr, tool output) for a post-mortem
  [ -n "${AXL_KEEP_LOGS:-}" ] && mkdir -p "$AXL_KEEP_LOGS" && cp -r "$TMPD"/. "$AXL_KEEP_LOGS"/ 2>/dev/null
  rm -rf "$TMPD"
}
trap axl_cleanup EXIT
trap 'exit 130' INT TERM

# netns_up [QUEUES]: two namespaces joined by a veth pair with QUEUES queues.
netns_up() {
  local nq=${1:-1}
  ip netns add "$NS_S" || die "ip netns add"
  ip netns add "$NS_C" || die "ip netns add"
  ip link add "$IF_S" numtxqueues "$nq" numrxqueues "$nq" netns "$NS_S" type veth \
     peer name "$IF_C" numtxqueues "$nq" numrxqueues "$nq" netns "$NS_C" || die "ip link add veth"
  in_s ip link set lo up
  in_c ip link set lo up
  in_s sysctl -qw "net.ipv6.conf.$IF_S.disable_ipv6=1"
  in_c sysctl -qw "net.ipv6.conf.$IF_C.disable_ipv6=1"
  in_c ethtool -K "$IF_C" tx off tso off gso off >/dev/null 2>&1
  in_s ip link set "$IF_S" up
  in_c ip addr add "$ADDR_C/24" dev "$IF_C"
  in_c ip link set "$IF_C" up
}

# start_stackd LOGNAME ARGS...: axl-stackd in the stack namespace, in the background.
# Sets STACKD_PID; counters go to $TMPD/LOGNAME.stats on SIGUSR1 and at exit.
start_stackd() {
  local name=$1; shift
  ip netns exec "$NS_S" "$AXL_BIN/axl-stackd" --stats-out "$TMPD/$name.stats" "$@" \
     >"$TMPD/$name.out" 2>"$TMPD/$name.err" &
  STACKD_PID=$!
  PIDS+=("$STACKD_PID")
}

# wait_ping ADDR [SECONDS]: until one ping from the client namespace answers.
wait_ping() {
  local addr=$1 secs=${2:-10} i
  for ((i = 0; i < secs * 5; i++)); do
    in_c ping -c 1 -W 1 -q "$addr" >/dev/null 2>&1 && return 0
    kill -0 "$STACKD_PID" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}

# stats_now NAME: ask the stack for its counters and wait for the file.
stats_now() {
  local name=$1 f=$TMPD/$1.stats i
  rm -f "$f"
  kill -USR1 "$STACKD_PID" 2>/dev/null || return 1
  for ((i = 0; i < 50; i++)); do [ -s "$f" ] && return 0; sleep 0.1; done
  return 1
}
# counter NAME COUNTER: value of one counter from the last dump (queue 0), or -1.
counter() {
  awk -v c="$2" '$2 == c { print $3; found = 1; exit } END { if (!found) print -1 }' "$TMPD/$1.stats"
}

# stop_stackd: SIGTERM and wait; returns its exit status.
stop_stackd() {
  kill -TERM "$STACKD_PID" 2>/dev/null
  local rc=0
  wait "$STACKD_PID" || rc=$?
  return $rc
}

show_logs() { # for failure diagnosis
  local f
  for f in "$TMPD"/*.err "$TMPD"/*.out; do [ -s "$f" ] && { echo "--- $f"; tail -n 20 "$f"; }; done
}

# no_sanitizer_errors NAME: the stack's stderr has no ASan/UBSan/LSan report.
no_sanitizer_errors() {
  ! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$TMPD/$1.err"
}

# basic_suite NAME SPEC [MINLOSS]: the checks every port must pass against the
# kernel in the client namespace: ARP + ping (200 at 2 ms, 0% loss), UDP echo
# with ncat and socat, counters that moved, a clean exit.
basic_suite() {
  local name=$1 spec=$2 out reply
  start_stackd "$name" --port "$spec" --addr "$ADDR_S/24" --udp-echo 7 --udp-echo 9000
  if ! wait_ping "$ADDR_S" 15; then
    not_ok "$name: stack answers a first ping within 15 s"; show_logs; return 1
  fi
  ok "$name: stack answers a first ping (ARP resolved)"
  out=$(in_c ping -c 200 -i 0.002 -W 2 -q "$ADDR_S" 2>&1)
  echo "$out" | tail -n 2
  check "$name: ping -c 200 -i 0.002 with 0% loss" grep -q ' 0% packet loss' <<<"$out"
  reply=$( (printf 'hello-axolotl\n'; sleep 1) | in_c timeout 10 ncat -u "$ADDR_S" 7 2>/dev/null)
  check "$name: UDP echo with ncat" [ "$reply" = hello-axolotl ]
  reply=$(printf 'socat-%s\n' "$TAG" | in_c timeout 10 socat -t 2 - "UDP:$ADDR_S:9000" 2>/dev/null)
  check "$name: UDP echo with socat" [ "$reply" = "socat-$TAG" ]
  # A 4000-byte datagram crosses the link as IPv4 fragments both ways.
  local big
  big=$(head -c 3000 /dev/urandom | base64 -w 0)
  reply=$(printf '%s' "$big" | in_c timeout 10 socat -t 2 - "UDP:$ADDR_S:7" 2>/dev/null)
  check "$name: fragmented UDP echo (${#big} bytes) returns intact" [ "$reply" = "$big" ]
  # Nobody listens on 7777: the kernel must see ICMP port unreachable.
  check "$name: closed UDP port answers ICMP port unreachable" \
    bash -c "printf x | ip netns exec $NS_C socat -t 2 - UDP:$ADDR_S:7777,ignoreeof 2>&1 | grep -qi 'refused'"
  if stats_now "$name"; then
    local echos udp
    echos=$(counter "$name" IcmpInEchos)
    udp=$(counter "$name" UdpInDatagrams)
    check "$name: IcmpInEchos counted ($echos >= 200)" [ "$echos" -ge 200 ]
    check "$name: UdpInDatagrams counted ($udp >= 3)" [ "$udp" -ge 3 ]
  else
    not_ok "$name: counters dump on SIGUSR1"
  fi
  check "$name: clean exit on SIGTERM" stop_stackd
  check "$name: no sanitizer reports" no_sanitizer_errors "$name"
  case "$spec" in
    afxdp:*) check "$name: XDP program detached at exit" \
               bash -c "! ip netns exec $NS_S ip link show $IF_S | grep -q 'prog/xdp'" ;;
    tap:*) check "$name: TAP device removed at exit" \
             bash -c "sleep 0.5; ! ip netns exec $NS_C ip link show $IF_S >/dev/null 2>&1" ;;
  esac
  [ $NFAIL -eq 0 ] || show_logs
}

# ---- axl-stackd's supervisor and axlctl (tests/integration/stackd_*.sh, axlctl_*.sh)

axlctl() { "$AXL_BIN/axlctl" "$@"; }

# ctl_raw COMMAND...: one request in the raw control protocol (ctl_proto.h);
# prints the answer ("ok"/"err ...", body lines, "."). Cheap enough to poll.
ctl_raw() { printf 'AXL1 %s\n' "$*" | socat -t 5 - "UNIX-CONNECT:$AXL_STACK" 2>/dev/null; }

# replica_field N FIELD: one field of replica N ("-" when unknown, empty when
# the stack does not answer).
replica_field() {
  ctl_raw replicas | awk -v n="$1" -v f="$2" '
    { split("", kv); for (i = 1; i <= NF; i++) { k = index($i, "="); if (k) kv[substr($i, 1, k - 1)] = substr($i, k + 1) } }
    ("replica" in kv) && kv["replica"] == n { print kv[f]; exit }'
}

# replica_stat N COUNTER: counter of replica N ("total" for the sum), or -1.
replica_stat() {
  ctl_raw stats | awk -v n="$1" -v c="$2" '
    $1 == "replicas" { for (i = 2; i <= NF; i++) col[$i] = i; next }
    $1 == c { v = (n == "total") ? $NF : ((n in col) ? $col[n] : -1); print v; found = 1; exit }
    END { if (!found) print -1 }'
}

# wait_replica N RESTARTS [SECONDS]: until replica N is running with at least
# RESTARTS restarts; prints the seconds waited. Returns 1 on time-out.
wait_replica() {
  local n=$1 want=$2 secs=${3:-10} t0
  t0=$(date +%s.%N)
  while awk -v a="$t0" -v b="$(date +%s.%N)" -v s="$secs" 'BEGIN { exit !(b - a < s) }'; do
    if ctl_raw replicas | awk -v n="$n" -v w="$want" '
        { split("", kv); for (i = 1; i <= NF; i++) { k = index($i, "="); if (k) kv[substr($i, 1, k - 1)] = substr($i, k + 1) } }
        ("replica" in kv) && kv["replica"] == n { ok = kv["state"] == "running" && kv["restarts"] + 0 >= w + 0; exit }
        END { exit !ok }'; then
      awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f\n", b - a }'
      return 0
    fi
    sleep 0.01
  done
  return 1
}

# steer_queues NQ: the client side transmits from CPU c on veth queue c (XPS),
# which the stack receives on its queue c: a client process run with
# `taskset -c c` talks to replica c (c < NQ <= number of CPUs).
steer_queues() {
  local nq=$1 q
  for ((q = 0; q < nq; q++)); do
    in_c sh -c "printf '%x' $((1 << q)) > /sys/class/net/$IF_C/queues/tx-$q/xps_cpus" || return 1
  done
}

# udp_load CPU SECONDS RATE OUT: from CPU (client side), 8 UDP flows to the
# echo port 7 at RATE datagrams/s in all for SECONDS; writes
# "sent received last_echo_age_s" to OUT (age: end of the run - last echo).
udp_load() {
  in_c taskset -c "$1" python3 -c '
import select, socket, sys, time
dst, dur, rate, out = (sys.argv[1], 7), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(8)]
for s in socks:
    s.setblocking(False)
sent = got = i = 0
last = 0.0
t0 = time.monotonic()
nxt = t0
while True:
    now = time.monotonic()
    if now - t0 >= dur:
        break
    if now >= nxt:
        try:
            socks[i % 8].sendto(b"axolotl-%08d" % i, dst)
            sent += 1
        except OSError:
            pass
        i += 1
        nxt += 1.0 / rate
    r, _, _ = select.select(socks, [], [], max(0.0, nxt - time.monotonic()))
    for s in r:
        while True:
            try:
                s.recv(2048)
            except BlockingIOError:
                break
            got += 1
            last = time.monotonic()
end = time.monotonic()
open(out, "w").write("%d %d %.3f\n" % (sent, got, end - last if last else dur))
' "$ADDR_S" "$2" "$3" "$4"
}

# ping_gaps FILE: for `ping -D` output, prints "replies lost max_gap_ms"
# (lost: icmp_seq numbers missing between the first and the last reply).
ping_gaps() {
  python3 -c '
import re, sys
ts, seqs = [], []
for line in open(sys.argv[1]):
    m = re.match(r"\[(\d+\.\d+)\].*icmp_seq=(\d+)", line)
    if m:
        ts.append(float(m.group(1)))
        seqs.append(int(m.group(2)))
gap = max((b - a for a, b in zip(ts, ts[1:])), default=0.0)
lost = (seqs[-1] - seqs[0] + 1 - len(set(seqs))) if seqs else 0
print(len(ts), lost, "%.1f" % (gap * 1000))' "$1"
}

# ---- reliability (tests/integration/rel_*.sh, bench/reliability.sh)

# kv KEY: the value of the first KEY=VALUE word in the lines read ("" if none).
kv() { awk -v k="$1" '{ for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) { print substr($i, length(k) + 2); exit } }'; }
# pctl P: the P-th percentile (nearest rank) of the numbers read, one a line ("-" if none).
pctl() {
  sort -g | awk -v p="$1" '{ v[NR] = $1 } END { if (!NR) { print "-"; exit }
    i = int(p / 100 * NR + 0.999999); if (i < 1) i = 1; if (i > NR) i = NR; print v[i] }'
}
# figure NAME VALUE [UNIT/NOTE...]: a measured figure (bench/reliability.sh collects them).
figure() { echo "figure $*"; }
# pid_rss_kb PID: resident memory of a process in kB ("" when it is gone).
pid_rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
# wait_stat N COUNTER VALUE [SECONDS]: until replica N's COUNTER (or "total")
# equals VALUE; returns 1 on time-out.
wait_stat() {
  local i
  for ((i = 0; i < ${4:-10} * 20; i++)); do
    [ "$(replica_stat "$1" "$2")" = "$3" ] && return 0
    sleep 0.05
  done
  return 1
}
