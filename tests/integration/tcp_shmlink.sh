#!/usr/bin/env bash
# TCP between two Axolotl stacks over the shared-memory wire (no kernel in
# the path): `axl-nc -l --echo` on one side, `axl-nc HOST PORT` on the other,
# 4 MiB sent and echoed back, sha256-checked, on a clean wire and under seeded
# impairment applied by each sender: 1% and 5% loss, duplication + reordering
# + corruption (corrupted frames must be caught by the checksums).
. "$(dirname "$0")/lib.sh"
NC=$AXL_BIN/axl-nc
W=$TMPD/wire
head -c 4M /dev/urandom >"$TMPD/in"
sha() { sha256sum "$1" | awk '{print $1}'; }

run_pair() { # NAME SERVER-OPTS CLIENT-OPTS
  local name=$1 sopt=$2 copt=$3 rc
  rm -f "$W"
  "$NC" --port "shm:$W$sopt" --addr 198.18.2.1/24 -l 7 --echo --stats-out "$TMPD/$name.stats" \
     >"$TMPD/$name.srv" 2>"$TMPD/$name.err" &
  local p=$!
  PIDS+=("$p")
  for _ in $(seq 50); do [ -S "$W" ] && break; sleep 0.1; done
  timeout 300 "$NC" --port "shm:$W$copt" --addr 198.18.2.2/24 --stats-out "$TMPD/$name.cstats" \
     198.18.2.1 7 <"$TMPD/in" >"$TMPD/$name.data" 2>"$TMPD/$name.cerr"
  rc=$?
  check "$name: the client exits 0 (rc=$rc)" [ $rc -eq 0 ]
  check "$name: 4 MiB echoed back byte-exact" [ "$(sha "$TMPD/in")" = "$(sha "$TMPD/$name.data")" ]
  kill -TERM "$p"
  wait "$p"
  check "$name: no sanitizer reports" no_sanitizer_errors "$name"
}

run_pair clean "" ""
run_pair loss1 ",loss=1,seed=31" ",loss=1,seed=32"
check "loss 1%: the server's wire really lost frames" \
  awk '$2=="PortImpLost"{exit !($3>0)}' "$TMPD/loss1.stats"
check "loss 1%: retransmissions were needed" \
  awk '$2=="TcpRetransSegs"{exit !($3>0)}' "$TMPD/loss1.cstats"
run_pair loss5 ",loss=5,seed=41" ",loss=5,seed=42"
run_pair mess ",dup=2,reorder=5,corrupt=1,seed=51" ",dup=2,reorder=5,corrupt=1,seed=52"
check "dup+reorder+corrupt: corrupted segments were caught by checksums" \
  bash -c "cat '$TMPD/mess.stats' '$TMPD/mess.cstats' | awk '\$2==\"TcpInCsumErrors\" || \$2==\"IpInHdrErrors\" {n+=\$3} END{exit !(n>0)}'"
[ $NFAIL -eq 0 ] || show_logs
exit $NFAIL
