#!/usr/bin/env bash
# Two Axolotl stacks over the shared-memory wire (no kernel in the path):
# axl-stackd on one side, axl-ping (stack linked in) on the other.
#  1. a clean wire: 200 pings, every one answered at the first try;
#  2. 10% loss each way (seeded): every ping is answered after retries, and
#     the losses are really there (counted on both sides);
#  3. duplication + reordering + corruption: every ping answered, corrupted
#     frames are caught by checksums (counted), duplicates are reported as such.
. "$(dirname "$0")/lib.sh"
PING=$AXL_BIN/axl-ping
W=$TMPD/wire

run_pair() { # name stack-opts ping-opts ping-args...
  local name=$1 sopt=$2 popt=$3; shift 3
  rm -f "$W"
  "$AXL_BIN/axl-stackd" --port "shm:$W$sopt" --addr 198.18.2.1/24 --udp-echo 7 \
     --stats-out "$TMPD/$name.stats" >"$TMPD/$name.out" 2>"$TMPD/$name.err" &
  STACKD_PID=$!; PIDS+=("$STACKD_PID")
  for _ in $(seq 50); do [ -S "$W" ] && break; sleep 0.1; done
  timeout 120 "$PING" --port "shm:$W$popt" --addr 198.18.2.2/24 "$@" 198.18.2.1 \
     >"$TMPD/$name.ping" 2>&1
  PING_RC=$?
  cat "$TMPD/$name.ping" | tail -n 3
  stop_stackd
}

run_pair clean "" "" -c 200 -i 0.002 -q
check "clean wire: 200/200 answered (exit $PING_RC)" [ "$PING_RC" -eq 0 ]
check "clean wire: no retransmissions needed" grep -q ' 0 retransmitted' "$TMPD/clean.ping"

run_pair loss ",loss=10,seed=11" ",loss=10,seed=12" -c 200 -i 0.002 -W 0.1 --retries 30 -q
check "10% loss each way: every ping answered after retries (exit $PING_RC)" [ "$PING_RC" -eq 0 ]
lost=$(counter loss PortImpLost)
check "the stack's side really lost frames (PortImpLost=$lost)" [ "$lost" -gt 5 ]
check "retransmissions were needed" bash -c "! grep -q ' 0 retransmitted' '$TMPD/loss.ping'"

run_pair mess ",dup=5,reorder=10,corrupt=5,seed=21" ",dup=5,reorder=10,corrupt=5,seed=22" \
  -c 200 -i 0.002 -W 0.1 --retries 30 -q
check "dup+reorder+corrupt: every ping answered (exit $PING_RC)" [ "$PING_RC" -eq 0 ]
check "no corrupt payload reached the application" grep -q ' 0 corrupt' "$TMPD/mess.ping"
c=$(counter mess PortImpCorrupted); d=$(counter mess PortImpDuplicated)
bad=$(awk '$2 ~ /CsumErrors|DropIpBadCsum|DropEth|DropIcmp|DropIpBad/ { s += $3 } END { print s + 0 }' "$TMPD/mess.stats")
echo "stack side: corrupted $c, duplicated $d; receive-side checksum/format drops $bad"
check "impairments happened (corrupt=$c dup=$d)" [ "$c" -gt 0 ] && [ "$d" -gt 0 ]
for n in clean loss mess; do check "$n: no sanitizer reports" no_sanitizer_errors "$n"; done
exit $NFAIL
