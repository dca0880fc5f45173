#!/usr/bin/env bash
# bench/ports.sh - packet rate of every port kind on this machine, printed as
# a Markdown table next to the ceilings measured in
# reference/machine-facts.md (Mpps with 60/64-byte frames unless noted).
#
#   bench/ports.sh [--seconds S] [--repeat N] [--kinds "shm afxdp afpacket tap"]
#                  [--sizes "64 1500"]
#
# Each row is one port_bench run (median of --repeat runs):
#   shm       two port_bench processes on one shm path: receiver (side A) on
#             CPU 0, sender (side B) on CPU 1; both rates are reported.
#   afxdp,    a veth pair; our end in this namespace, the peer end in a netns
#   afpacket  of our own. rx: port_bench rx on our end (CPU 0), generator =
#             port_bench tx on the peer end (CPU 1; afxdp, else afpacket).
#             tx: port_bench tx on our end (CPU 0) to a MAC nobody owns, so
#             the peer kernel drops the frames early; the peer's rx counter
#             confirms what arrived (notes column).
#   tap       the tap is created by port_bench in this namespace and moved
#             into the netns while it holds the fd; generator / counters on
#             the kernel side as above (generator: AF_XDP in generic mode on
#             the tap, else AF_PACKET).
# Frame size = bytes handed to the port (no FCS). On veth the kernel's receive
# work for a frame runs on the sending CPU (machine-facts §0), so rx numbers
# partly measure the generator's core. Needs root for the netns rows; every
# netns, link, process and file it creates is removed on exit (trap), and
# every run is bounded by timeout(1).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PB=${PORT_BENCH:-$ROOT/build/bench/port_bench}
SECS=3
REPEAT=1
KINDS="shm afxdp afpacket tap"
SIZES="64 1500"
while [[ $# -gt 0 ]]; do
  case $1 in
    --seconds) SECS=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --kinds) KINDS=$2; shift 2 ;;
    --sizes) SIZES=$2; shift 2 ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "ports.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ $SECS =~ ^[0-9]+$ && $SECS -ge 1 && $SECS -le 60 ]] || { echo "ports.sh: --seconds 1..60" >&2; exit 2; }
[[ $REPEAT =~ ^[0-9]+$ && $REPEAT -ge 1 && $REPEAT -le 9 ]] || { echo "ports.sh: --repeat 1..9" >&2; exit 2; }
if [[ ! -x $PB ]]; then
  make -C "$ROOT" --no-print-directory V=release build/bench/port_bench >/dev/null || {
    echo "ports.sh: cannot build port_bench" >&2; exit 1; }
fi

TAG="axpb$$"                 # unique per run: names of everything we create
NS="axl-pb-$$"
VA="${TAG}a"; VB="${TAG}b"; TAPN="${TAG}t0"; TAPGEN=""; TAPSEQ=0
TMP=$(mktemp -d /tmp/axl-ports-XXXXXX)
BG=()                        # pids of background port_bench runs we started
T=$((SECS + 30))             # hard bound per command

cleanup() {
  for p in "${BG[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${BG[@]}"; do wait "$p" 2>/dev/null; done
  ip netns del "$NS" 2>/dev/null
  ip link del "$VA" 2>/dev/null
  for ((i = 0; i <= TAPSEQ; i++)); do ip link del "${TAG}t$i" 2>/dev/null; done
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "ports.sh: $*" >&2; }
mpps_of() { sed -n 's/^RESULT .*mpps=\([0-9.]*\).*/\1/p' "$1" | tail -1; }
gbps_of() { sed -n 's/^RESULT .*gbps=\([0-9.]*\).*/\1/p' "$1" | tail -1; }
secs_of() { sed -n 's/^RESULT .*seconds=\([0-9.]*\).*/\1/p' "$1" | tail -1; }
why_failed() { grep -v '^RESULT' "$1" | grep -E 'cannot|error|failed|ERR' | head -1 | cut -c1-90; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]}'; }

# Wait (at most 10 s) for a file that a background port_bench creates.
wait_file() {
  local i
  for ((i = 0; i < 100; i++)); do [[ -s $1 ]] && return 0; sleep 0.1; done
  return 1
}
start_bg() { # start_bg OUTFILE CMD... : runs CMD in the background, records its pid
  local out=$1; shift
  timeout "$T" "$@" >"$out" 2>&1 &
  BG+=($!)
  LAST_BG=$!
}
wait_bg() { wait "$1" 2>/dev/null; }

# machine-facts ceilings (Mpps) and where they come from
ceiling() { # kind dir size
  case "$1/$2/$3" in
    shm/*/64) echo "17.0 memif" ;;         # DPDK testpmd net_memif, two processes
    afxdp/rx/64) echo "1.8" ;;
    afxdp/tx/64) echo "2.37" ;;            # into an XDP_DROP peer
    afxdp/tx/1500) echo "1.32 @1514B" ;;
    afpacket/tx/64) echo "1.70" ;;         # into an XDP_DROP peer
    afpacket/rx/64) echo "1.19 gen-bound" ;;
    tap/rx/64) echo "0.62" ;;
    tap/tx/64) echo "0.61" ;;
    *) echo "" ;;
  esac
}

ROWS=()
add_row() { # kind dir size mpps gbps notes
  local c pct="—" cv cn
  c=$(ceiling "$1" "$2" "$3"); cv=${c%% *}; cn=""
  [[ $c == *" "* ]] && cn=" (${c#* })"
  if [[ -n $cv && -n $4 ]]; then pct=$(awk -v a="$4" -v b="$cv" 'BEGIN {printf "%.0f %%", 100 * a / b}'); fi
  ROWS+=("| $1 | $2 | $3 | ${4:-n/a} | ${5:-—} | ${cv:-—}$cn | $pct | $6 |")
}

peer_rx_packets() { ip netns exec "$NS" cat "/sys/class/net/$1/statistics/rx_packets" 2>/dev/null || echo 0; }

# ---------------------------------------------------------------------------
bench_shm() { # size
  local size=$1 r txs=() rxs=() txg=() rxg=() note=""
  for ((r = 0; r < REPEAT; r++)); do
    local P="$TMP/wire$r-$size.sock"
    rm -f "$TMP/ready"
    start_bg "$TMP/rx.out" "$PB" --cpu 0 --port "shm:$P,role=a" --seconds "$SECS" --ready "$TMP/ready" rx
    local rxpid=$LAST_BG
    if ! wait_file "$TMP/ready"; then note="receiver did not start: $(why_failed "$TMP/rx.out")"; kill "$rxpid" 2>/dev/null; wait_bg "$rxpid"; break; fi
    timeout "$T" "$PB" --cpu 1 --port "shm:$P,role=b" --seconds "$SECS" --size "$size" tx >"$TMP/tx.out" 2>&1
    wait_bg "$rxpid"
    [[ -n $(mpps_of "$TMP/tx.out") ]] && { txs+=("$(mpps_of "$TMP/tx.out")"); txg+=("$(gbps_of "$TMP/tx.out")"); }
    [[ -n $(mpps_of "$TMP/rx.out") ]] && { rxs+=("$(mpps_of "$TMP/rx.out")"); rxg+=("$(gbps_of "$TMP/rx.out")"); }
    [[ -z $(mpps_of "$TMP/tx.out") ]] && note="sender failed: $(why_failed "$TMP/tx.out")"
  done
  add_row shm tx "$size" "$(median "${txs[@]}")" "$(median "${txg[@]}")" "${note:-sender on CPU 1, receiver draining on CPU 0}"
  add_row shm rx "$size" "$(median "${rxs[@]}")" "$(median "${rxg[@]}")" "${note:-receiver on CPU 0}"
}

setup_veth() {
  ip netns add "$NS" || return 1
  ip link add "$VA" type veth peer name "$VB" || return 1
  ip link set "$VB" netns "$NS" || return 1
  sysctl -q -w "net.ipv6.conf.$VA.disable_ipv6=1" >/dev/null 2>&1
  ip netns exec "$NS" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 >/dev/null 2>&1
  ip link set "$VA" up && ip -n "$NS" link set lo up && ip -n "$NS" link set "$VB" up &&
    ip -n "$NS" addr add 198.18.222.2/24 dev "$VB"
}

GEN=""  # generator kind on the peer end, chosen once
pick_generator() {
  local k
  for k in afxdp afpacket; do
    if timeout 20 ip netns exec "$NS" "$PB" --cpu 1 --port "$k:$VB" --seconds 0.2 tx >"$TMP/gen.out" 2>&1; then
      GEN=$k; return 0
    fi
  done
  return 1
}

bench_veth_rx() { # kind size
  local kind=$1 size=$2 r vals=() gb=() gens=() note=""
  for ((r = 0; r < REPEAT; r++)); do
    rm -f "$TMP/ready"
    start_bg "$TMP/rx.out" "$PB" --cpu 0 --port "$kind:$VA" --seconds "$SECS" --ready "$TMP/ready" rx
    local rxpid=$LAST_BG
    if ! wait_file "$TMP/ready"; then
      wait_bg "$rxpid"; note="open failed: $(why_failed "$TMP/rx.out")"; break
    fi
    timeout "$T" ip netns exec "$NS" "$PB" --cpu 1 --port "$GEN:$VB" --seconds $((SECS + 2)) --size "$size" tx >"$TMP/gen.out" 2>&1
    wait_bg "$rxpid"
    [[ -n $(mpps_of "$TMP/rx.out") ]] && { vals+=("$(mpps_of "$TMP/rx.out")"); gb+=("$(gbps_of "$TMP/rx.out")"); }
    [[ -n $(mpps_of "$TMP/gen.out") ]] && gens+=("$(mpps_of "$TMP/gen.out")")
  done
  [[ -z $note && ${#vals[@]} -eq 0 ]] && note="no frames received: $(why_failed "$TMP/rx.out")"
  [[ -z $note ]] && note="generator: $GEN tx on the peer, $(median "${gens[@]}") Mpps"
  add_row "$kind" rx "$size" "$(median "${vals[@]}")" "$(median "${gb[@]}")" "$note"
}

bench_veth_tx() { # kind size
  local kind=$1 size=$2 r vals=() gb=() peers=() note=""
  for ((r = 0; r < REPEAT; r++)); do
    local before after secs
    before=$(peer_rx_packets "$VB")
    timeout "$T" "$PB" --cpu 0 --port "$kind:$VA" --seconds "$SECS" --size "$size" tx >"$TMP/tx.out" 2>&1
    after=$(peer_rx_packets "$VB")
    if [[ -z $(mpps_of "$TMP/tx.out") ]]; then note="failed: $(why_failed "$TMP/tx.out")"; break; fi
    vals+=("$(mpps_of "$TMP/tx.out")"); gb+=("$(gbps_of "$TMP/tx.out")")
    secs=$(secs_of "$TMP/tx.out")
    peers+=("$(awk -v d=$((after - before)) -v s="$secs" 'BEGIN {printf("%.3f", (s > 0) ? d / s / 1e6 : 0)}')")
  done
  [[ -z $note ]] && note="peer $VB rx counter: $(median "${peers[@]}") Mpps (kernel drops them)"
  add_row "$kind" tx "$size" "$(median "${vals[@]}")" "$(median "${gb[@]}")" "$note"
}

# Create the tap (port_bench opens it), move it into the netns, bring it up.
# Every run uses a new name: a closed tap may linger in the netns a moment.
next_tap() { TAPSEQ=$((TAPSEQ + 1)); TAPN="${TAG}t$TAPSEQ"; }
tap_gen() { # size secs: AF_XDP (generic mode) on the kernel side, else AF_PACKET
  local k
  for k in "afxdp:$TAPN,mode=skb" "afpacket:$TAPN"; do
    timeout "$T" ip netns exec "$NS" "$PB" --cpu 1 --port "$k" --seconds "$2" --size "$1" tx >"$TMP/gen.out" 2>&1
    if [[ -n $(mpps_of "$TMP/gen.out") ]]; then TAPGEN=${k%%:*}; return 0; fi
    grep -q "cannot open" "$TMP/gen.out" || return 1
  done
  return 1
}
tap_into_ns() {
  local i
  for ((i = 0; i < 50; i++)); do ip link show "$TAPN" >/dev/null 2>&1 && break; sleep 0.1; done
  ip link set "$TAPN" netns "$NS" && ip -n "$NS" link set "$TAPN" up
}

bench_tap() { # size
  local size=$1 r rx=() rxg=() tx=() txg=() peers=() gens=() nrx="" ntx=""
  for ((r = 0; r < REPEAT; r++)); do
    # rx: the kernel side sends (afpacket generator in the netns)
    rm -f "$TMP/ready"
    next_tap
    start_bg "$TMP/rx.out" "$PB" --cpu 0 --port "tap:$TAPN" --seconds "$SECS" --ready "$TMP/ready" rx
    local pid=$LAST_BG
    if wait_file "$TMP/ready" && tap_into_ns; then
      tap_gen "$size" $((SECS + 2)) && gens+=("$(mpps_of "$TMP/gen.out")")
    else
      nrx="set-up failed: $(why_failed "$TMP/rx.out")"
    fi
    wait_bg "$pid"
    [[ -n $(mpps_of "$TMP/rx.out") ]] && { rx+=("$(mpps_of "$TMP/rx.out")"); rxg+=("$(gbps_of "$TMP/rx.out")"); }
    # tx: we write, the kernel side receives and drops (unknown MAC)
    rm -f "$TMP/ready"
    next_tap
    start_bg "$TMP/tx.out" "$PB" --cpu 0 --port "tap:$TAPN" --seconds "$SECS" --size "$size" --ready "$TMP/ready" --wait-start --linger 3000 tx
    pid=$LAST_BG
    if wait_file "$TMP/ready" && tap_into_ns; then
      local before after i
      before=$(peer_rx_packets "$TAPN")
      kill -USR1 "$(cat "$TMP/ready")"  # port_bench itself, not timeout(1)
      # The tap dies with port_bench's fd: read its counter while it lingers.
      for ((i = 0; i < (SECS + 10) * 10; i++)); do grep -q '^RESULT' "$TMP/tx.out" && break; sleep 0.1; done
      after=$(peer_rx_packets "$TAPN")
      wait_bg "$pid"
      if [[ -n $(mpps_of "$TMP/tx.out") ]]; then
        tx+=("$(mpps_of "$TMP/tx.out")"); txg+=("$(gbps_of "$TMP/tx.out")")
        peers+=("$(awk -v d=$((after - before)) -v s="$(secs_of "$TMP/tx.out")" 'BEGIN {printf("%.3f", (s > 0) ? d / s / 1e6 : 0)}')")
      fi
    else
      kill "$pid" 2>/dev/null; wait_bg "$pid"; ntx="set-up failed: $(why_failed "$TMP/tx.out")"
    fi
  done
  [[ -z $nrx && ${#rx[@]} -eq 0 ]] && nrx="no frames: $(why_failed "$TMP/rx.out")"
  [[ -z $ntx && ${#tx[@]} -eq 0 ]] && ntx="failed: $(why_failed "$TMP/tx.out")"
  add_row tap rx "$size" "$(median "${rx[@]}")" "$(median "${rxg[@]}")" "${nrx:-generator: ${TAPGEN:-?} tx in the netns, $(median "${gens[@]}") Mpps}"
  add_row tap tx "$size" "$(median "${tx[@]}")" "$(median "${txg[@]}")" "${ntx:-kernel side rx counter: $(median "${peers[@]}") Mpps}"
}

# ---------------------------------------------------------------------------
NETNS_OK=0
if [[ $KINDS == *afxdp* || $KINDS == *afpacket* || $KINDS == *tap* ]]; then
  if [[ $(id -u) -ne 0 ]]; then
    log "not root: skipping afxdp, afpacket and tap"
  elif setup_veth; then
    NETNS_OK=1
  else
    log "cannot create netns/veth: skipping afxdp, afpacket and tap"
  fi
fi

for kind in $KINDS; do
  for size in $SIZES; do
    case $kind in
      shm) log "shm, $size B"; bench_shm "$size" ;;
      afxdp|afpacket)
        if [[ $NETNS_OK -ne 1 ]]; then add_row "$kind" rx "$size" "" "" "skipped (needs root + netns)"; continue; fi
        if [[ -z $GEN ]] && ! pick_generator; then
          add_row "$kind" rx "$size" "" "" "no generator port works on the peer: $(why_failed "$TMP/gen.out")"
        else
          log "$kind rx, $size B"; bench_veth_rx "$kind" "$size"
        fi
        log "$kind tx, $size B"; bench_veth_tx "$kind" "$size" ;;
      tap)
        if [[ $NETNS_OK -ne 1 ]]; then add_row tap rx "$size" "" "" "skipped (needs root + netns)"; continue; fi
        log "tap, $size B"; bench_tap "$size" ;;
      *) log "unknown kind '$kind'" ;;
    esac
  done
done

echo
echo "Port packet rates, $(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); ${SECS} s per run, median of $REPEAT"
echo
echo "| port | direction | frame (B) | Mpps | Gbit/s | ceiling (Mpps, machine-facts) | % of ceiling | notes |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
RB=$ROOT/build/bench/ring_bench
if [[ -x $RB ]]; then
  ref=$(timeout 60 "$RB" -d 1 2>/dev/null | awk '$1 == "throughput" && $2 == 32 {print $5, $6}')
  [[ -n $ref ]] && echo && echo "Reference now: SPSC ring (ring_bench) batch 32 = $ref (machine-facts: 88.5 M/s); cross-core cost moves every number above."
fi
