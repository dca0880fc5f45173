#!/usr/bin/env bash
# steer_rss: RSS emulation over a 2-queue veth. The kernel peer's egress runs
# tests/bpf/steer_rss.bpf.c (symmetric Toeplitz, as src/steer), so a flow
# arrives on the queue an RSS NIC with the symmetric key would pick.
#  1. axl-stackd --replicas 2 with TCP and UDP echo: a Linux client opens 48
#     TCP connections and sends 32 UDP datagrams from distinct ports; every
#     echo is right, both replicas serve, and each replica's counters equal
#     the split predicted by an independent (Python) Toeplitz computation.
#  2. Outgoing connections: tests/tools/steer_connect runs one engine per
#     queue, each opening 24 connections to a kernel echo server with the
#     port picker on: every connection echoes, no engine receives a segment
#     for a connection it does not have (DropTcpNoSocket 0), none sends a RST.
#     The control run with the picker off must show replies on the wrong
#     engine (so the check can fail).
. "$(dirname "$0")/lib.sh"
AXL_BPF=${AXL_BPF:-$(dirname "$AXL_TOOLS")/bpf}
[ -f "$AXL_BPF/steer_rss.o" ] || die "missing $AXL_BPF/steer_rss.o (make build-all)"
netns_up 2
for q in 0 1; do # XPS would win over the hash: off
  in_c sh -c "echo 0 > /sys/class/net/$IF_C/queues/tx-$q/xps_cpus" 2>/dev/null
done
in_c tc qdisc add dev "$IF_C" clsact || die "tc qdisc clsact"
in_c tc filter add dev "$IF_C" egress bpf da obj "$AXL_BPF/steer_rss.o" sec tc ||
  die "tc filter (steer_rss.o)"

# Toeplitz with the 0x6d5a key, written independently of src/steer/steer.c.
PYHASH='
import socket, struct
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

start_stackd rss --port "afxdp:$IF_S:2" --replicas 2 --addr "$ADDR_S/24" --tcp-echo 7 --udp-echo 7
wait_ping "$ADDR_S" 15 || { not_ok "stack up"; show_logs; exit 1; }
ok "two-replica stack answers ping"

res=$(in_c timeout 60 /usr/bin/python3 -c "$PYHASH"'
import sys
dst = sys.argv[1]; src = sys.argv[2]
good = 0; exp = [0, 0]
for i in range(48):
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
uexp = [0, 0]; ugood = 0
for i in range(32):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(3)
    u.bind((src, 0)); u.sendto(b"dgram-%d" % i, (dst, 7))
    try:
        if u.recv(100) == b"dgram-%d" % i: ugood += 1
    except OSError: pass
    uexp[queue(src, dst, u.getsockname()[1], 7, 2)] += 1
    u.close()
print(good, exp[0], exp[1], ugood, uexp[0], uexp[1])
' "$ADDR_S" "$ADDR_C")
read -r good e0 e1 ugood u0 u1 <<<"$res"
check "48 TCP connections echoed (${good:-0}/48)" [ "${good:-0}" -eq 48 ]
check "32 UDP datagrams echoed (${ugood:-0}/32)" [ "${ugood:-0}" -eq 32 ]
stats_now rss || not_ok "stats dump"
sleep 0.5
p0=$(counter rss TcpPassiveOpens)
p1=$(awk '$2 == "TcpPassiveOpens" { print $3 }' "$TMPD/rss.stats.q1" 2>/dev/null)
d0=$(counter rss UdpInDatagrams)
d1=$(awk '$2 == "UdpInDatagrams" { print $3 }' "$TMPD/rss.stats.q1" 2>/dev/null)
echo "# TCP: replica 0 ${p0:-?} (expected $e0), replica 1 ${p1:-?} (expected $e1);" \
     "UDP: ${d0:-?} (expected $u0), ${d1:-?} (expected $u1)"
check "incoming TCP spread over both replicas" [ "${p0:-0}" -gt 0 ] && [ "${p1:-0}" -gt 0 ]
check "TCP split equals the symmetric-Toeplitz prediction" \
  [ "${p0:-x}" = "$e0" ] && [ "${p1:-x}" = "$e1" ]
check "UDP split equals the symmetric-Toeplitz prediction" \
  [ "${d0:-x}" = "$u0" ] && [ "${d1:-x}" = "$u1" ]
check "stackd clean exit" stop_stackd
check "no sanitizer reports (stackd)" no_sanitizer_errors rss

# 2. outgoing connections from one engine per queue
in_c socat TCP-LISTEN:5007,reuseaddr,fork,backlog=128 PIPE >/dev/null 2>&1 &
PIDS+=($!)
sleep 0.3
run_connect() { # NAME ARGS...
  local name=$1; shift
  in_s timeout 60 "$AXL_TOOLS/steer_connect" --port "afxdp:$IF_S:2" --addr "$ADDR_S/24" \
    --dest "$ADDR_C" --dport 5007 "$@" >"$TMPD/$name.out" 2>"$TMPD/$name.err"
}
run_connect conn --conns 24
rc=$?
sed 's/^/# /' "$TMPD/conn.out"
check "outgoing: every engine's 24 connections echoed, replies on their own queue (rc $rc)" \
  [ "$rc" -eq 0 ]
check "outgoing: both engines report" [ "$(grep -c ' ok=24 failed=0 ' "$TMPD/conn.out")" -eq 2 ]
check "no sanitizer reports (steer_connect)" no_sanitizer_errors conn
run_connect ctrl --conns 24 --no-steer --timeout 4
rc=$?
sed 's/^/# control: /' "$TMPD/ctrl.out"
nosock=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^DropTcpNoSocket=/) { split($i, a, "="); s += a[2] } } END { print s + 0 }' "$TMPD/ctrl.out")
check "control (picker off): replies reach the wrong engine (DropTcpNoSocket $nosock, rc $rc)" \
  [ "$rc" -eq 1 ] && [ "$nosock" -gt 0 ]
exit $NFAIL
