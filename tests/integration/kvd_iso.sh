#!/usr/bin/env bash
# axl-kvd in isolated mode: attached to axl-stackd (2 replicas, director on a
# single-queue veth) as a separate process. From the kernel namespace:
# memccp/memccat round-trips (sha256), a pymemcache session with a 500 KB
# value, a short memcaslap run with zero errors and zero misses, a
# zero-copy counter that moved; then the app exits cleanly and the replicas
# reclaim everything (service sockets back to zero).
. "$(dirname "$0")/lib.sh"
netns_up 1
KVD=$AXL_BIN/axl-kvd
PY=/usr/bin/python3
P=11211
SRV="$ADDR_S:$P"
for t in ncat memccp memccat memcaslap; do
  command -v "$t" >/dev/null || die "$t missing (scripts/deps.sh installs libmemcached-tools)"
done
sha() { sha256sum "$1" | awk '{print $1}'; }
kstat() {
  printf 'stats\r\nquit\r\n' | in_c timeout 10 ncat "$ADDR_S" $P 2>/dev/null |
    awk -v c="$1" '$1 == "STAT" && $2 == c { gsub("\r", "", $3); print $3; found = 1 }
                   END { if (!found) print -1 }'
}

start_stackd st --port "afxdp:$IF_S" --addr "$ADDR_S/24" --replicas 2
wait_ping "$ADDR_S" 15 || { not_ok "stack up"; show_logs; exit 1; }
"$KVD" --stack "$AXL_STACK" --listen $P --memory 32 >"$TMPD/kvd.out" 2>"$TMPD/kvd.err" &
KVD_PID=$!
PIDS+=("$KVD_PID")
up=0
for _ in $(seq 75); do
  in_c "$PY" -c "import socket; socket.create_connection(('$ADDR_S', $P), 0.5).close()" 2>/dev/null && { up=1; break; }
  kill -0 "$KVD_PID" 2>/dev/null || break
  sleep 0.2
done
[ $up -eq 1 ] || { not_ok "axl-kvd --stack accepts connections"; cat "$TMPD/kvd.err"; show_logs; exit 1; }
ok "axl-kvd --stack (isolated, 2 replicas) accepts connections"
has_app() { ctl_raw apps | grep -q "name=axl-kvd"; }
check "the supervisor lists axl-kvd among its applications" has_app

head -c 10000 /dev/urandom >"$TMPD/r10k"
head -c 500000 /dev/urandom >"$TMPD/r500k"
for f in r10k r500k; do
  in_c timeout 20 memccp --servers="$SRV" "$TMPD/$f" >/dev/null 2>&1
  in_c timeout 20 memccat --servers="$SRV" --file="$TMPD/$f.back" "$f" >/dev/null 2>&1
  check "memccp/memccat round-trip of $f (sha256 equal)" [ "$(sha "$TMPD/$f")" = "$(sha "$TMPD/$f.back")" ]
done
check "pymemcache: set/get/cas/incr and a 500 KB value" in_c timeout 30 "$PY" - "$ADDR_S" $P <<'PY'
import sys
from pymemcache.client.base import Client
c = Client((sys.argv[1], int(sys.argv[2])), timeout=10)
c.set("a", b"1"); assert c.get("a") == b"1"
v, cas = c.gets("a"); assert c.cas("a", b"2", cas) and c.get("a") == b"2"
assert c.incr("a", 5) == 7
big = bytes(range(256)) * 1954
c.set("big", big); assert c.get("big") == big
PY
in_c timeout 60 memcaslap -s "$SRV" -t 2s -c 8 -T 1 -X 64 >"$TMPD/caslap.out" 2>&1
rc=$?
gets=$(awk '/^cmd_get:/ {print $2; exit}' "$TMPD/caslap.out")
miss=$(awk '/^get_misses:/ {print $2; exit}' "$TMPD/caslap.out")
check "memcaslap 2 s x 8 connections: exit 0, ${gets:-0} gets, ${miss:-?} misses" \
  test "$rc" -eq 0 -a "${gets:-0}" -gt 100 -a "${miss:-1}" -eq 0
zc=$(kstat zc_sends)
check "values were sent zero-copy from registered memory (zc_sends $zc)" test "${zc:--1}" -gt 0
kill -TERM "$KVD_PID"
wait "$KVD_PID"
check "axl-kvd exits 0 on SIGTERM" test $? -eq 0
sleep 0.5
check "the replicas hold no service socket afterwards" bash -c \
  '[ "$("$0" --ctl "$1" stats -a | awk "\$1 == \"SvcSocketsNow\" {print \$NF}")" = 0 ]' "$AXL_BIN/axlctl" "$AXL_STACK"
check "clean exit on SIGTERM" stop_stackd
check "no sanitizer reports" no_sanitizer_errors st
[ $NFAIL -eq 0 ] || show_logs
exit $NFAIL
