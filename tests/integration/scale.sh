#!/usr/bin/env bash
# scale: `axlctl scale N` behind the director. axl-stackd --director
# --replicas 2 --scale-max 4 --tcp-echo 7 on a single-queue veth; a Linux
# client in the other namespace holds long-lived echo connections, each a
# steady byte-exact stream, across the changes:
#  1. at start: replicas 0, 1 active (64 buckets each), 2, 3 parked;
#  2. scale 4: new connections reach all four replicas (exactly the ones the
#     table gives, also in buckets a long-lived connection still holds on its
#     old replica); the old connections keep echoing on their replicas;
#  3. scale 1 with connections on every replica (the Linux client's, and an
#     isolated application's outgoing ones): replicas 1..3 drain (their
#     connections keep echoing until closed) and every new connection lands on
#     replica 0; once the clients close, 1..3 are parked, no data was lost;
#  4. scale 2: replicas 0 and 1 share new connections again;
#     an isolated application's connects skip the parked replicas;
#  5. kill-replica keeps a replica's role, a restarted director the active
#     count; errors: scale 0, scale 5 (ERANGE),
#     scale on a stack without the director (ENOTSUP), --scale-max without
#     --director; a clean stop without sanitizer reports.
. "$(dirname "$0")/lib.sh"
netns_up 1

PYHASH='
import os, socket, struct, sys, time
KEY = bytes([0x6d, 0x5a] * 20)
def toeplitz(data):
    k = int.from_bytes(KEY, "big"); kbits = len(KEY) * 8; h = 0
    for i in range(len(data) * 8):
        if data[i // 8] & (0x80 >> (i % 8)):
            h ^= (k >> (kbits - 32 - i)) & 0xffffffff
    return h
def bucket(src, dst, sport, dport):
    return toeplitz(socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!HH", sport, dport)) & 127
def owner(b, n):
    return (b * n) >> 7
def ports(src, dst, want, start):
    # want: list of (lo, hi) bucket ranges; one source port per range
    out = []; p = start
    for lo, hi in want:
        while not (lo <= bucket(src, dst, p, 7) <= hi): p += 1
        out.append(p); p += 1
    return out
'

# hold NAME START RANGES: long-lived echo connections from chosen source ports
# (one per bucket range "lo-hi,..."), each writing 64 numbered bytes every
# 20 ms and checking every echoed byte, until $TMPD/stop-NAME exists (at most
# 90 s). Progress in $TMPD/NAME.prog ("sent got bad" per connection, rewritten
# every 100 ms); "done" appended at the end.
hold() {
  in_c timeout 120 /usr/bin/python3 -c "$PYHASH"'
dst, src, start, ranges, out, stop = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
want = [tuple(int(x) for x in r.split("-")) for r in ranges.split(",")]
conns = []
for p in ports(src, dst, want, start):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((src, p)); s.settimeout(5); s.connect((dst, 7)); s.setblocking(False)
    conns.append([s, 0, 0, 0, p, time.monotonic()])   # sock, sent, got, bad, port, last echo
gap = 0.0
def pattern(off, n):
    return bytes(((off + i) * 7 + (off + i) // 251) & 0xff for i in range(n))
t0 = time.monotonic(); last = 0
while time.monotonic() - t0 < 90 and not os.path.exists(stop):
    for c in conns:
        s = c[0]
        try:
            c[1] += s.send(pattern(c[1], 64))
        except BlockingIOError:
            pass
        except OSError:
            c[3] += 1
        try:
            while True:
                b = s.recv(65536)
                if not b: c[3] += 1; break
                if b != pattern(c[2], len(b)): c[3] += 1
                c[2] += len(b)
                now = time.monotonic(); gap = max(gap, now - c[5]); c[5] = now
        except BlockingIOError:
            pass
        except OSError:
            c[3] += 1
    if time.monotonic() - last > 0.1:
        last = time.monotonic()
        with open(out + ".tmp", "w") as f:
            for c in conns: f.write("%d %d %d %d\n" % (c[1], c[2], c[3], c[4]))
        os.rename(out + ".tmp", out)
    time.sleep(0.02)
# drain the last echoes, then close
t1 = time.monotonic()
while time.monotonic() - t1 < 5 and any(c[2] < c[1] for c in conns):
    for c in conns:
        try:
            b = c[0].recv(65536)
            if b:
                if b != pattern(c[2], len(b)): c[3] += 1
                c[2] += len(b)
        except BlockingIOError: pass
        except OSError: c[3] += 1
    time.sleep(0.01)
for c in conns: c[0].close()
with open(out, "w") as f:
    for c in conns: f.write("%d %d %d %d\n" % (c[1], c[2], c[3], c[4]))
    f.write("gap %.1f\n" % (gap * 1000))
    f.write("done\n")
' "$ADDR_S" "$ADDR_C" "$2" "$3" "$TMPD/$1.prog" "$TMPD/stop-$1"
}

# probe START N RANGES: short echo connections, one per bucket range, from
# chosen source ports; prints "good e0 e1 e2 e3": how many echoed right, and
# how many of those the table gives each replica when N are active.
probe() {
  in_c timeout 60 /usr/bin/python3 -c "$PYHASH"'
dst, src, start, n, ranges = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
want = [tuple(int(x) for x in r.split("-")) for r in ranges.split(",")]
good = 0; exp = [0, 0, 0, 0]
for p in ports(src, dst, want, start):
    try:
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((src, p)); s.settimeout(5); s.connect((dst, 7))
        msg = b"probe-%d\n" % p; s.sendall(msg); got = b""
        while len(got) < len(msg):
            b = s.recv(100)
            if not b: break
            got += b
        s.close()
        if got == msg:
            good += 1; exp[owner(bucket(src, dst, p, 7), n)] += 1
    except OSError:
        pass
print(good, *exp)
' "$ADDR_S" "$ADDR_C" "$1" "$2" "$3"
}

# buckets_of NAME: the buckets of a held set's connections, as ranges "b-b,...".
buckets_of() {
  in_c /usr/bin/python3 -c "$PYHASH"'
dst, src, f = sys.argv[1], sys.argv[2], sys.argv[3]
bs = ["%d-%d" % ((bucket(src, dst, int(l.split()[3]), 7),) * 2) for l in open(f) if l[0].isdigit()]
print(",".join(bs))
' "$ADDR_S" "$ADDR_C" "$TMPD/$1.prog"
}

# progress NAME: total bytes echoed so far over its connections; bad: errors.
progress() { awk '$1 ~ /^[0-9]+$/ { g += $2 } END { print g + 0 }' "$TMPD/$1.prog" 2>/dev/null || echo 0; }
bad_total() { awk '$1 ~ /^[0-9]+$/ { b += $3 } END { print b + 0 }' "$TMPD/$1.prog" 2>/dev/null || echo 0; }
# grows NAME SECONDS: the echoed total grows within SECONDS.
grows() {
  local a b i
  a=$(progress "$1")
  for ((i = 0; i < $2 * 10; i++)); do
    sleep 0.1
    b=$(progress "$1")
    [ "$b" -gt "$a" ] && return 0
  done
  return 1
}
opens() { replica_stat "$1" TcpPassiveOpens; }
# deltas WANT: sets d0..d3 to the passive opens of replicas 0..3 since o0..o3,
# waiting (at most 5 s: counters are exported every tick and before a
# replica sleeps) until they read "WANT" ("e0 e1 e2 e3").
deltas() {
  local i
  for ((i = 0; i < 50; i++)); do
    d0=$(($(opens 0) - o0)) d1=$(($(opens 1) - o1)) d2=$(($(opens 2) - o2)) d3=$(($(opens 3) - o3))
    [ "$d0 $d1 $d2 $d3" = "$1" ] && return 0
    sleep 0.1
  done
  return 1
}

start_stackd scale --port "afxdp:$IF_S" --director --replicas 2 --scale-max 4 \
  --addr "$ADDR_S/24" --tcp-echo 7 --pool 4096 --metrics "unix:$TMPD/metrics.sock" \
  --heartbeat-timeout 15 --start-timeout 60 # a loaded machine must not look like hung replicas
wait_ping "$ADDR_S" 20 || { not_ok "stack up"; show_logs; exit 1; }
for _ in $(seq 50); do [ "$(replica_field 4 state)" = running ] && break; sleep 0.1; done

# a Linux echo server for the application's outgoing connections
in_c socat TCP-LISTEN:6000,fork,reuseaddr EXEC:cat 2>/dev/null &
PIDS+=($!)
for _ in $(seq 50); do in_c ss -ltn 2>/dev/null | grep -q ':6000 ' && break; sleep 0.1; done

# 1. the start
check "5 entries: 4 replicas (--scale-max 4) and the director" \
  [ "$(replica_field 4 role)" = director ] && [ "$(replica_field 3 state)" = running ]
check "replicas 0, 1 active with 64 buckets each" \
  [ "$(replica_field 0 role)/$(replica_field 0 buckets)/$(replica_field 1 role)/$(replica_field 1 buckets)" = "active/64/active/64" ]
check "replicas 2, 3 parked" \
  [ "$(replica_field 2 role)/$(replica_field 2 buckets)/$(replica_field 3 role)" = "parked/0/parked" ]
check "ping says active=2 scale_max=4" sh -c "printf 'AXL1 ping\n' | socat -t 5 - UNIX-CONNECT:$AXL_STACK | grep -q 'active=2 scale_max=4'"
axlctl replicas

# set A: two connections per block of 32 buckets (at 2 active: 0,0,1,1)
hold A 21000 "0-31,0-31,32-63,32-63,64-95,64-95,96-127,96-127" &
HA=$!
for _ in $(seq 100); do [ -s "$TMPD/A.prog" ] && break; sleep 0.1; done
check "set A: 8 long-lived connections echo" grows A 5
check "set A: on replicas 0 and 1 (4 each)" \
  [ "$(replica_field 0 conns)" -ge 4 ] && [ "$(replica_field 1 conns)" -ge 4 ]

# 2. scale 4
t0=$(date +%s%N); out=$(axlctl scale 4 2>&1); T4=$((($(date +%s%N) - t0) / 1000000))
check "axlctl scale 4 ($out)" [ "$out" = "scale: 4 of 4 replicas active" ]
check "all four replicas active, 32 buckets each" \
  [ "$(replica_field 0 buckets)$(replica_field 1 buckets)$(replica_field 2 buckets)$(replica_field 3 buckets)" = 32323232 ]
in_s curl -sf --max-time 5 --unix-socket "$TMPD/metrics.sock" http://localhost/metrics >"$TMPD/m4.txt"
check "metrics: axl_replica_buckets 32 for replica 3, axl_DirRetaChanges 1 for the director" \
  grep -q '^axl_replica_buckets{replica="3"} 32$' "$TMPD/m4.txt" &&
  grep -q '^axl_DirRetaChanges{replica="4"} 1$' "$TMPD/m4.txt"
check "replicas 0 and 1 still hold set A's moved buckets (draining > 0)" \
  [ "$(replica_field 0 draining)" -gt 0 ] && [ "$(replica_field 1 draining)" -gt 0 ]
o0=$(opens 0) o1=$(opens 1) o2=$(opens 2) o3=$(opens 3)
# new connections: two per block of 32 buckets, and one in each bucket set A
# holds (six of those eight moved: their old replica still has set A's flow)
ranges="0-31,0-31,32-63,32-63,64-95,64-95,96-127,96-127,$(buckets_of A)"
read -r good e0 e1 e2 e3 <<<"$(probe 30000 4 "$ranges")"
check "16 new connections after scale 4 echo (${good:-0})" [ "${good:-0}" -eq 16 ]
deltas "$e0 $e1 $e2 $e3"
check "new connections reach all 4 replicas, each the table's ($d0 $d1 $d2 $d3 = $e0 $e1 $e2 $e3)" \
  [ "$d0 $d1 $d2 $d3" = "$e0 $e1 $e2 $e3" ] && [ "$d0" -gt 0 ] && [ "$d1" -gt 0 ] &&
  [ "$d2" -gt 0 ] && [ "$d3" -gt 0 ]
for _ in $(seq 50); do [ "$(replica_stat 4 DirRxNewFlow)" -gt 0 ] && break; sleep 0.1; done
check "the director passed a moved bucket's new flows to the new owner (DirRxNewFlow > 0)" \
  [ "$(replica_stat 4 DirRxNewFlow)" -gt 0 ]
check "set A keeps echoing after scale 4" grows A 5
axlctl replicas

# set B: long-lived connections on every replica at n = 4
hold B 40000 "0-31,32-63,32-63,64-95,64-95,96-127,96-127" &
HB=$!
for _ in $(seq 100); do [ -s "$TMPD/B.prog" ] && break; sleep 0.1; done
check "set B: 7 long-lived connections echo" grows B 5
check "replicas 2 and 3 hold connections now" \
  [ "$(replica_field 2 conns)" -ge 2 ] && [ "$(replica_field 3 conns)" -ge 2 ]

# an application (isolated mode) holds 8 outgoing connections, opened
# round-robin over the 4 active replicas, each echoing every 20 ms
timeout 120 "$AXL_TOOLS/iso_connect" --stack "$AXL_STACK" --count 8 --hold 90 \
  --ready "$TMPD/iso.ready" --stop "$TMPD/stop-I" "$ADDR_C" 6000 >"$TMPD/iso_hold.out" \
  2>"$TMPD/iso_hold.err" &
HI=$!
for _ in $(seq 100); do [ -e "$TMPD/iso.ready" ] && break; sleep 0.1; done
check "the application's 8 outgoing connections are open" [ -e "$TMPD/iso.ready" ]

# 3. scale 1
t0=$(date +%s%N); out=$(axlctl scale 1 2>&1); T1=$((($(date +%s%N) - t0) / 1000000))
check "axlctl scale 1 ($out)" [ "$out" = "scale: 1 of 4 replicas active" ]
check "replica 0 active with all 128 buckets" \
  [ "$(replica_field 0 role)/$(replica_field 0 buckets)" = active/128 ]
check "replicas 1..3 draining (no bucket, connections still on them)" \
  [ "$(replica_field 1 role)$(replica_field 2 role)$(replica_field 3 role)" = drainingdrainingdraining ]
o0=$(opens 0) o1=$(opens 1) o2=$(opens 2) o3=$(opens 3)
ranges="0-31,32-63,64-95,96-127,$(buckets_of A),$(buckets_of B)"
read -r good e0 e1 e2 e3 <<<"$(probe 50000 1 "$ranges")"
check "19 new connections after scale 1 echo (${good:-0})" [ "${good:-0}" -eq 19 ]
deltas "19 0 0 0"
check "every new connection lands on replica 0 ($d0 $d1 $d2 $d3)" [ "$d0 $d1 $d2 $d3" = "19 0 0 0" ]
check "set A keeps echoing on the draining replicas" grows A 5
check "set B keeps echoing on the draining replicas" grows B 5
axlctl replicas
sleep 1 # a last stretch of traffic while draining
touch "$TMPD/stop-A" "$TMPD/stop-B" "$TMPD/stop-I"
wait "$HA"; wait "$HB"; wait "$HI"
check "the application's outgoing connections echoed through scale 1 ($(cat "$TMPD/iso_hold.out"))" \
  grep -q 'count=8 ok=8 failed=0' "$TMPD/iso_hold.out"
check "set A: every connection byte-exact, nothing lost ($(tr '\n' ' ' <"$TMPD/A.prog"))" \
  awk '$1 == "done" { d = 1; next } $1 == "gap" { next } { n++; if ($3 != 0 || $1 != $2 || $1 < 64 * 20) bad = 1 } END { exit !(d && n == 8 && !bad) }' "$TMPD/A.prog"
check "set B: every connection byte-exact, nothing lost ($(tr '\n' ' ' <"$TMPD/B.prog"))" \
  awk '$1 == "done" { d = 1; next } $1 == "gap" { next } { n++; if ($3 != 0 || $1 != $2 || $1 < 64 * 20) bad = 1 } END { exit !(d && n == 7 && !bad) }' "$TMPD/B.prog"
figure scale_echo_max_gap_ms "$(awk '$1 == "gap" { print $2 }' "$TMPD/A.prog" "$TMPD/B.prog" | sort -g | tail -1)" \
  "longest pause of a long-lived echo stream (64 B / 20 ms) across scale 4 and scale 1"
figure scale_apply_ms "$T4" "axlctl scale 4, asked to in force"
figure scale_apply_ms "$T1" "axlctl scale 1, asked to in force"
echo "# director: PortRxNoBufDrops $(replica_stat 4 PortRxNoBufDrops) PortLinkDownDrops $(replica_stat 4 PortLinkDownDrops)" \
  "DirRxPrevOwner $(replica_stat 4 DirRxPrevOwner) DirRxNewFlow $(replica_stat 4 DirRxNewFlow)" \
  "TcpRetransSegs $(replica_stat total TcpRetransSegs)"
for _ in $(seq 100); do
  [ "$(replica_field 1 role)$(replica_field 2 role)$(replica_field 3 role)" = parkedparkedparked ] && break
  sleep 0.1
done
check "once the clients closed: replicas 1..3 parked" \
  [ "$(replica_field 1 role)$(replica_field 2 role)$(replica_field 3 role)" = parkedparkedparked ]
sleep 0.2
check "director counters: DirRetaChanges 2, DirRxPrevOwner > 0, DirBucketsDrained > 0" \
  [ "$(replica_stat 4 DirRetaChanges)" -eq 2 ] && [ "$(replica_stat 4 DirRxPrevOwner)" -gt 0 ] &&
  [ "$(replica_stat 4 DirBucketsDrained)" -gt 0 ]
check "stats --json carries DirRxPrevOwner" sh -c "'$AXL_BIN/axlctl' stats --json | grep -q DirRxPrevOwner"

# 4. scale 2
check "axlctl scale 2" axlctl scale 2
check "health: all 5 running, 2 of 4 active ($(axlctl health))" \
  sh -c "'$AXL_BIN/axlctl' health | grep -q '5 of 5 replicas running, 2 of 4 active'"
check "replicas 0, 1 active with 64 buckets, 2, 3 parked" \
  [ "$(replica_field 0 buckets)/$(replica_field 1 buckets)/$(replica_field 2 role)/$(replica_field 3 role)" = 64/64/parked/parked ]
o0=$(opens 0) o1=$(opens 1) o2=$(opens 2) o3=$(opens 3)
read -r good e0 e1 e2 e3 <<<"$(probe 60000 2 "0-63,0-63,64-127,64-127")"
deltas "2 2 0 0"
check "after scale 2: new connections on replicas 0 and 1 (${good:-0} echoed, $d0 $d1 $d2 $d3)" \
  [ "${good:-0}" -eq 4 ] && [ "$d0 $d1 $d2 $d3" = "2 2 0 0" ]

# an application's outgoing connections (isolated mode, round-robin over the
# replicas): the parked ones refuse (EADDRNOTAVAIL), the library passes the
# connect on; every connection works and replies reach its replica
a0=$(replica_stat 0 TcpActiveOpens) a1=$(replica_stat 1 TcpActiveOpens)
a2=$(replica_stat 2 TcpActiveOpens) a3=$(replica_stat 3 TcpActiveOpens)
res=$(timeout 60 "$AXL_TOOLS/iso_connect" --stack "$AXL_STACK" --count 12 "$ADDR_C" 6000 2>"$TMPD/iso_connect.err")
check "app connects with 2 of 4 active: 12 of 12, the parked replicas' refusals retried ($res)" \
  sh -c "echo '$res' | grep -q 'ok=12 failed=0' && ! echo '$res' | grep -q 'retries=0'"
for _ in $(seq 50); do
  [ $(($(replica_stat 0 TcpActiveOpens) - a0 + $(replica_stat 1 TcpActiveOpens) - a1)) -ge 12 ] && break
  sleep 0.1
done
check "no connection was opened by a parked replica" \
  [ "$(replica_stat 2 TcpActiveOpens)" -eq "$a2" ] && [ "$(replica_stat 3 TcpActiveOpens)" -eq "$a3" ]
check "the active replicas opened them, no reset from a wrong replica all along" \
  [ $(($(replica_stat 0 TcpActiveOpens) - a0 + $(replica_stat 1 TcpActiveOpens) - a1)) -eq 12 ] &&
  [ "$(replica_stat total DropTcpNoSocket)" -eq 0 ]

check "no replica restarted unasked so far (restarts: $(for q in 0 1 2 3 4; do printf '%s ' "$(replica_field $q restarts)"; done))" \
  [ "$(for q in 0 1 2 3 4; do replica_field $q restarts; done | sort -u | tr -d '\n')" = 0 ]

# 5. kill-replica keeps roles; errors
axlctl kill-replica 1 >/dev/null 2>&1
axlctl kill-replica 3 >/dev/null 2>&1
wait_replica 1 1 15 >/dev/null && wait_replica 3 1 15 >/dev/null
check "restarted replicas keep their roles (1 active, 3 parked)" \
  [ "$(replica_field 1 role)/$(replica_field 1 buckets)/$(replica_field 3 role)" = active/64/parked ]
o0=$(opens 0) o1=$(opens 1) o2=$(opens 2) o3=$(opens 3)
read -r good e0 e1 e2 e3 <<<"$(probe 61000 2 "64-127,64-127")"
deltas "0 2 0 0"
check "the restarted active replica serves new connections (${good:-0}, $d0 $d1 $d2 $d3)" \
  [ "${good:-0}" -eq 2 ] && [ "$d0 $d1 $d2 $d3" = "0 2 0 0" ]
# the director dies: the supervisor restarts the whole set, with the count
axlctl kill-replica 4 >/dev/null 2>&1
wait_replica 4 1 20 >/dev/null && wait_replica 0 1 20 >/dev/null && wait_replica 2 1 20 >/dev/null &&
  wait_replica 1 2 20 >/dev/null && wait_replica 3 2 20 >/dev/null
check "a restarted director comes back with 2 active (ping: $(ctl_raw ping | kv active))" \
  [ "$(ctl_raw ping | kv active)/$(replica_field 0 buckets)/$(replica_field 1 buckets)/$(replica_field 2 role)/$(replica_field 3 role)" = 2/64/64/parked/parked ]
wait_ping "$ADDR_S" 20
read -r good e0 e1 e2 e3 <<<"$(probe 62000 2 "0-63,64-127")"
check "after the director's restart: new connections echo (${good:-0})" [ "${good:-0}" -eq 2 ]
err=$(axlctl scale 0 2>&1); rc=$?
check "scale 0: refused ($rc: $err)" [ "$rc" -ne 0 ] && [[ "$err" == *"1..4"* ]] && [[ "$err" == *ERANGE* ]]
err=$(axlctl scale 5 2>&1); rc=$?
check "scale 5: refused ($rc: $err)" [ "$rc" -ne 0 ] && [[ "$err" == *"1..4"* ]]
err=$(axlctl scale two 2>&1); rc=$?
check "scale two: usage error ($rc)" [ "$rc" -eq 2 ]
check "after the refusals: still 2 active" [ "$(replica_field 1 buckets)" = 64 ]
stop_stackd; rc=$?
check "clean stop (exit $rc)" [ "$rc" -eq 0 ]
check "no sanitizer report" no_sanitizer_errors scale

err=$(ip netns exec "$NS_S" "$AXL_BIN/axl-stackd" --port "afxdp:$IF_S" --addr "$ADDR_S/24" \
  --replicas 1 --scale-max 2 2>&1); rc=$?
check "--scale-max without --director: refused ($rc: $err)" \
  [ "$rc" -eq 2 ] && [[ "$err" == *"needs --director"* ]]
start_stackd plain --port "afxdp:$IF_S" --addr "$ADDR_S/24" --udp-echo 7
wait_ping "$ADDR_S" 20 || { not_ok "plain stack up"; show_logs; exit 1; }
err=$(axlctl scale 2 2>&1); rc=$?
check "scale without the director: ENOTSUP ($rc: $err)" [ "$rc" -ne 0 ] &&
  [[ "$err" == *"scale needs --director"* ]] && [[ "$err" == *ENOTSUP* ]]
check "plain stack: replicas show role active, no buckets" \
  [ "$(replica_field 0 role)/$(replica_field 0 buckets)" = "active/-" ]
stop_stackd; rc=$?
check "plain stack: clean stop (exit $rc)" [ "$rc" -eq 0 ]
[ "$NFAIL" -eq 0 ] || show_logs
exit 0
