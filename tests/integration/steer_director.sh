#!/usr/bin/env bash
# steer_director: a single-queue veth, axl-stackd --replicas 2: the director
# (src/stackd/director.c) owns the queue and steers frames to the replicas by
# the symmetric RSS hash over shared-memory descriptor rings.
#  1. From the kernel namespace: ping, 32 UDP echoes, 40 TCP echo connections
#     work; both replicas serve, each exactly the flows the hash (an
#     independent Python Toeplitz) gives it; the director counts them.
#  2. Replica 1 is killed (axlctl kill-replica 1): UDP flows of replica 0 keep
#     being echoed while it regrows; the director takes its buffers back;
#     then both replicas serve new connections again.
#  3. A clean stop (exit 0), no sanitizer report.
. "$(dirname "$0")/lib.sh"
netns_up 1

PYHASH='
import socket, struct, sys, time
KEY = bytes([0x6d, 0x5a] * 20)
def toeplitz(data):
    k = int.from_bytes(KEY, "big"); kbits = len(KEY) * 8; h = 0
    for i in range(len(data) * 8):
        if data[i // 8] & (0x80 >> (i % 8)):
            h ^= (k >> (kbits - 32 - i)) & 0xffffffff
    return h
def queue(src, dst, sport, dport, n):
    d = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!HH", sport, dport)
    return ((toeplitz(d) & 127) * n) >> 7
'
# echo_round NCONN NDGRAM: prints "tcp_ok t0 t1 udp_ok u0 u1" (t/u: expected per replica)
echo_round() {
  in_c timeout 90 /usr/bin/python3 -c "$PYHASH"'
dst, src, nconn, ndg = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
good = 0; exp = [0, 0]
for i in range(nconn):
    try:
        s = socket.create_connection((dst, 7), timeout=5)
        msg = b"conn-%d\n" % i
        s.sendall(msg)
        got = b""
        while len(got) < len(msg):
            b = s.recv(100)
            if not b: break
            got += b
        sport = s.getsockname()[1]
        s.close()
        if got == msg:
            good += 1
            exp[queue(src, dst, sport, 7, 2)] += 1
    except OSError:
        pass
uexp = [0, 0]; ugood = 0
for i in range(ndg):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(3)
    u.bind((src, 0)); u.sendto(b"dgram-%d" % i, (dst, 7))
    try:
        if u.recv(100) == b"dgram-%d" % i: ugood += 1
    except OSError: pass
    uexp[queue(src, dst, u.getsockname()[1], 7, 2)] += 1
    u.close()
print(good, exp[0], exp[1], ugood, uexp[0], uexp[1])
' "$ADDR_S" "$ADDR_C" "$1" "$2"
}

start_stackd dir --port "afxdp:$IF_S" --replicas 2 --addr "$ADDR_S/24" --udp-echo 7 \
  --tcp-echo 7 --pool 4096
wait_ping "$ADDR_S" 20 || { not_ok "stack up"; show_logs; exit 1; }
ok "ping through the director"
for _ in $(seq 50); do [ "$(replica_field 2 state)" = running ] && break; sleep 0.1; done
check "the director runs as entry 2 of the supervisor" [ "$(replica_field 2 state)" = running ]
check "100 pings, none lost" in_c ping -c 100 -i 0.01 -W 2 -q "$ADDR_S"

read -r good e0 e1 ugood u0 u1 <<<"$(echo_round 40 32)"
check "40 TCP echo connections (${good:-0}/40)" [ "${good:-0}" -eq 40 ]
check "32 UDP echoes (${ugood:-0}/32)" [ "${ugood:-0}" -eq 32 ]
sleep 0.3 # counters are exported every 10 ms
p0=$(replica_stat 0 TcpPassiveOpens) p1=$(replica_stat 1 TcpPassiveOpens)
d0=$(replica_stat 0 UdpInDatagrams) d1=$(replica_stat 1 UdpInDatagrams)
check "both replicas serve TCP ($p0 + $p1)" [ "$p0" -gt 0 ] && [ "$p1" -gt 0 ]
check "TCP split is the hash's (replica 0: $p0 = $e0, replica 1: $p1 = $e1)" \
  [ "$p0" -eq "$e0" ] && [ "$p1" -eq "$e1" ]
check "UDP split is the hash's (replica 0: $d0 = $u0, replica 1: $d1 = $u1)" \
  [ "$d0" -eq "$u0" ] && [ "$d1" -eq "$u1" ]
drx=$(replica_stat 2 PortRxPackets)
check "the director received every frame the replicas did ($drx)" \
  [ "$drx" -ge $(($(replica_stat 0 PortRxPackets) + $(replica_stat 1 PortRxPackets))) ]
check "no bad descriptors, no drops at the director" \
  [ "$(replica_stat 2 PortRxErrors)" -eq 0 ] && [ "$(replica_stat 2 PortRxNoBufDrops)" -eq 0 ]

# 2. kill replica 1 while UDP flows of replica 0 are being echoed
in_c timeout 30 /usr/bin/python3 -c "$PYHASH"'
dst, src, out = sys.argv[1], sys.argv[2], sys.argv[3]
socks = []
p = 20000
while len(socks) < 4:
    p += 1
    if queue(src, dst, p, 7, 2) != 0: continue
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((src, p)); s.settimeout(0.5)
    socks.append(s)
sent = got = 0
t0 = time.monotonic()
while time.monotonic() - t0 < 4.0:
    for s in socks:
        s.sendto(b"x%d" % sent, (dst, 7)); sent += 1
        try:
            if s.recv(100): got += 1
        except OSError: pass
    time.sleep(0.005)
open(out, "w").write("%d %d\n" % (sent, got))
' "$ADDR_S" "$ADDR_C" "$TMPD/load0" &
LOAD=$!
sleep 1
axlctl kill-replica 1 >/dev/null 2>&1
secs=$(wait_replica 1 1 15) && ok "replica 1 regrew in ${secs}s" || not_ok "replica 1 regrew"
wait "$LOAD"
read -r sent got <"$TMPD/load0" 2>/dev/null
check "replica 0's flows kept being echoed during the restart (${got:-0}/${sent:-0})" \
  [ "${sent:-0}" -gt 100 ] && [ "$((${got:-0} * 100))" -ge "$((${sent:-1} * 98))" ]
ctl_raw stats >/dev/null
kill -USR1 "$STACKD_PID"
for _ in $(seq 30); do [ -s "$TMPD/dir.stats.dir" ] && break; sleep 0.1; done
rec=$(awk '$2 == "DirReclaimed" { print $3 }' "$TMPD/dir.stats.dir" 2>/dev/null)
check "the director took the dead replica's buffers back (${rec:-0})" [ "${rec:-0}" -ge 4096 ]

p0=$(replica_stat 0 TcpPassiveOpens)
p1=$(replica_stat 1 TcpPassiveOpens)
read -r good e0 e1 ugood u0 u1 <<<"$(echo_round 24 16)"
check "after the restart: 24 TCP echo connections (${good:-0}/24)" [ "${good:-0}" -eq 24 ]
check "after the restart: 16 UDP echoes (${ugood:-0}/16)" [ "${ugood:-0}" -eq 16 ]
sleep 0.3
n0=$(replica_stat 0 TcpPassiveOpens) n1=$(replica_stat 1 TcpPassiveOpens)
check "both replicas serve again (+$((n0 - p0)) +$n1, hash says $e0 $e1)" \
  [ "$((n0 - p0))" -eq "$e0" ] && [ "$n1" -eq "$e1" ] && [ "$e1" -gt 0 ]
check "axlctl health" axlctl health
check "clean stop" stop_stackd
check "no sanitizer reports" no_sanitizer_errors dir
[ "$NFAIL" -eq 0 ] || show_logs
exit "$((NFAIL > 0))"
