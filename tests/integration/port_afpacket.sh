#!/usr/bin/env bash
# Port-level test of the AF_PACKET backend (src/port/afpacket.c) against the
# Linux kernel, without the stack: tests/tools/portcheck_kernel opens the port
# through its ops table and answers ARP, ICMP echo and UDP echo by hand.
#   1. single socket: ARP, ping -c 200 -i 0.002 with 0% loss, UDP echo,
#      partial checksums from the client's TX offload (TP_STATUS_CSUMNOTREADY),
#      a UDP GSO super-frame dropped whole (rx_trunc), counters, clean exit.
#   2. fanout=ID with two instances (two processes, one socket each): traffic
#      from many flows reaches both, ping still loses nothing.
# Bounded: every wait is counted, the tools stop themselves after 25 s.
. "$(dirname "$0")/lib.sh"
TOOL=$AXL_TOOLS/portcheck_kernel
[ -x "$TOOL" ] || die "$TOOL missing (make asan)"

netns_up 1
# Keep the client's offloads on: AF_PACKET reports the unfinished checksums.
in_c ethtool -K "$IF_C" tx on tso on gso on tx-udp-segmentation on >/dev/null 2>&1

# start_tool NAME ARGS...: portcheck_kernel in the stack namespace; waits until
# its port is open (ready file), at most 5 s. Sets TOOL_PID.
start_tool() {
  local name=$1 i; shift
  rm -f "$TMPD/$name.ready"
  ip netns exec "$NS_S" "$TOOL" --duration 25 --ready-file "$TMPD/$name.ready" "$@" \
    >"$TMPD/$name.out" 2>"$TMPD/$name.err" &
  TOOL_PID=$!
  PIDS+=("$TOOL_PID")
  for ((i = 0; i < 50; i++)); do
    [ -e "$TMPD/$name.ready" ] && return 0
    kill -0 "$TOOL_PID" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
stop_tool() { # stop_tool PID: SIGTERM, wait, exit status
  local rc=0
  kill -TERM "$1" 2>/dev/null
  wait "$1" || rc=$?
  return $rc
}
val() { # val NAME "q0 PortRxPackets" -> number or -1
  awk -v k="$2" '{ key = $1 " " $2 } key == k { print $3; f = 1; exit } END { if (!f) print -1 }' \
    "$TMPD/$1.out"
}
clean_stderr() { ! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$TMPD/$1.err"; }
first_ping() { # ARP + one echo, at most ~10 s
  local i
  for ((i = 0; i < 20; i++)); do
    in_c ping -c 1 -W 0.5 -q "$ADDR_S" >/dev/null 2>&1 && return 0
  done
  return 1
}

# --- 1. one socket -----------------------------------------------------------
if ! start_tool afp --afpacket "$IF_S" --ip "$ADDR_S"; then
  not_ok "afpacket: port opens"; show_logs; exit 1
fi
ok "afpacket: port opens"
check "afpacket: first ping answered (ARP resolved)" first_ping
out=$(in_c ping -c 200 -i 0.002 -W 2 -q "$ADDR_S" 2>&1)
echo "# $(echo "$out" | tail -n 2 | tr '\n' ' ')"
check "afpacket: ping -c 200 -i 0.002 with 0% loss" grep -q ' 0% packet loss' <<<"$out"
reply=$(printf 'afp-%s\n' "$TAG" | in_c timeout 5 socat -t 1 - "UDP:$ADDR_S:7" 2>/dev/null)
check "afpacket: UDP echo" [ "$reply" = "afp-$TAG" ]
# One 5600-byte UDP_SEGMENT send = one GSO super-frame on veth: dropped whole.
in_c /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_UDP, 103, 1400)  # UDP_SEGMENT
s.sendto(b"g" * 5600, (sys.argv[1], 9))' "$ADDR_S" 2>/dev/null
sleep 0.1
check "afpacket: tool exits 0 on SIGTERM" stop_tool "$TOOL_PID"
rx=$(val afp "q0 PortRxPackets") tx=$(val afp "q0 PortTxPackets") echo_=$(val afp "tool icmp_echo")
partial=$(val afp "q0 PortRxCsumPartial") trunc=$(val afp "q0 PortRxTruncDrops")
kdrop=$(val afp "q0 PortRxKernelDrops") wake=$(val afp "q0 PortWakeups")
echo "# afpacket counters: rx $rx tx $tx icmp_echo $echo_ csum_partial $partial trunc $trunc kernel_drops $kdrop wakeups $wake"
check "afpacket: PortRxPackets moved ($rx >= 201)" [ "$rx" -ge 201 ]
check "afpacket: PortTxPackets moved ($tx >= 201)" [ "$tx" -ge 201 ]
check "afpacket: 200+ echo replies built ($echo_)" [ "$echo_" -ge 200 ]
check "afpacket: UDP with unfinished checksum flagged ($partial >= 1)" [ "$partial" -ge 1 ]
check "afpacket: GSO super-frame dropped as rx_trunc ($trunc >= 1)" [ "$trunc" -ge 1 ]
check "afpacket: flush kicked the TX ring ($wake >= 1)" [ "$wake" -ge 1 ]
check "afpacket: no kernel ring drops ($kdrop)" [ "$kdrop" -eq 0 ]
check "afpacket: every buffer back in the pool" [ "$(val afp "tool pool_in_use")" -eq 0 ]
check "afpacket: no sanitizer reports" clean_stderr afp

# --- 2. two instances in one fanout group -----------------------------------
FID=$((TAG % 60000 + 1000))
start_tool fo0 --afpacket "$IF_S:2" --opt "fanout=$FID" --queue 0 --ip "$ADDR_S" && P0=$TOOL_PID &&
  start_tool fo1 --afpacket "$IF_S:2" --opt "fanout=$FID" --queue 1 --ip "$ADDR_S" && P1=$TOOL_PID
if [ -z "${P1:-}" ]; then
  not_ok "afpacket fanout: two instances open"; show_logs; exit 1
fi
ok "afpacket fanout: two instances open (group $FID)"
in_c ip neigh flush dev "$IF_C" >/dev/null 2>&1
check "afpacket fanout: first ping answered" first_ping
out=$(in_c ping -c 200 -i 0.002 -W 2 -q "$ADDR_S" 2>&1)
check "afpacket fanout: ping -c 200 -i 0.002 with 0% loss" grep -q ' 0% packet loss' <<<"$out"
# 64 flows (64 sockets, 64 source ports); each echo must come back.
got=$(in_c timeout 10 /usr/bin/python3 -c '
import socket, sys
n = 0
for i in range(64):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    s.sendto(b"f%d" % i, (sys.argv[1], 7))
    try:
        if s.recv(100) == b"f%d" % i: n += 1
    except OSError:
        pass
    s.close()
print(n)' "$ADDR_S" 2>/dev/null)
check "afpacket fanout: 64 UDP flows echoed (${got:-0}/64)" [ "${got:-0}" -eq 64 ]
check "afpacket fanout: instance 0 exits 0" stop_tool "$P0"
check "afpacket fanout: instance 1 exits 0" stop_tool "$P1"
r0=$(val fo0 "q0 rx_seen") r1=$(val fo1 "q1 rx_seen")
echo "# fanout split: instance 0 rx $r0, instance 1 rx $r1"
check "afpacket fanout: both instances received traffic ($r0, $r1)" [ "$r0" -gt 0 -a "$r1" -gt 0 ]
check "afpacket fanout: no sanitizer reports" clean_stderr fo0
check "afpacket fanout: no sanitizer reports (1)" clean_stderr fo1
[ $NFAIL -eq 0 ] || show_logs
exit $NFAIL
