#!/usr/bin/env bash
# Port-level test of the TAP backend (src/port/tap.c) against the Linux kernel,
# without the stack: tests/tools/portcheck_kernel creates the tap in the stack
# namespace and answers ARP, ICMP echo and UDP echo by hand; the tap's kernel
# side is then moved into the client namespace (198.18.1.1/24 there).
#   1. one queue, vnet=0: ping -c 200 -i 0.002 with 0% loss, UDP echo,
#      counters, and the device disappears when the tool exits.
#   2. one queue, vnet=1 (virtio_net_hdr, TUN_F_CSUM): same, and UDP from the
#      kernel arrives with NEEDS_CSUM (flagged CSUM_PARTIAL).
#   3. two queues in one process: ping, 64 UDP flows, both queues receive.
#   4. two queues in two processes after dev_setup (persistent device), then
#      dev_teardown removes it (after moving it back to the stack namespace).
# Bounded: every wait is counted, the tools stop themselves after 25 s.
. "$(dirname "$0")/lib.sh"
TOOL=$AXL_TOOLS/portcheck_kernel
[ -x "$TOOL" ] || die "$TOOL missing (make asan)"
T_ADDR_S=198.18.1.2
T_ADDR_C=198.18.1.1
MAC_S=02:a1:0e:00:00:02

ip netns add "$NS_S" || die "ip netns add"
ip netns add "$NS_C" || die "ip netns add"
in_s ip link set lo up
in_c ip link set lo up

start_tool() { # start_tool NAME ARGS...: in the stack namespace, wait for its ready file (5 s)
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
stop_tool() {
  local rc=0
  kill -TERM "$1" 2>/dev/null
  wait "$1" || rc=$?
  return $rc
}
val() {
  awk -v k="$2" '{ key = $1 " " $2 } key == k { print $3; f = 1; exit } END { if (!f) print -1 }' \
    "$TMPD/$1.out"
}
clean_stderr() { ! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$TMPD/$1.err"; }
# move_tap DEV: kernel side into the client namespace, addressed and up.
move_tap() {
  in_s ip link set "$1" netns "$NS_C" &&
    in_c sysctl -qw "net.ipv6.conf.$1.disable_ipv6=1" &&
    in_c ip addr add "$T_ADDR_C/24" dev "$1" &&
    in_c ip link set "$1" up
}
first_ping() {
  local i
  for ((i = 0; i < 20; i++)); do
    in_c ping -c 1 -W 0.5 -q "$T_ADDR_S" >/dev/null 2>&1 && return 0
  done
  return 1
}
ping200() { # ping200 LABEL
  local out
  out=$(in_c ping -c 200 -i 0.002 -W 2 -q "$T_ADDR_S" 2>&1)
  echo "# $1: $(echo "$out" | tail -n 2 | tr '\n' ' ')"
  grep -q ' 0% packet loss' <<<"$out"
}
udp_flows() { # udp_flows N: N flows, each one datagram echoed; prints how many came back
  in_c timeout 15 /usr/bin/python3 -c '
import socket, sys
n = 0
for i in range(int(sys.argv[2])):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    s.sendto(b"t%d" % i, (sys.argv[1], 7))
    try:
        if s.recv(100) == b"t%d" % i: n += 1
    except OSError:
        pass
    s.close()
print(n)' "$T_ADDR_S" "$1" 2>/dev/null
}
exists_in() { ip -n "$1" link show "$2" >/dev/null 2>&1; }
gone_from() { # gone_from NS DEV: the device disappears within 3 s
  local i
  for ((i = 0; i < 30; i++)); do
    ip -n "$1" link show "$2" >/dev/null 2>&1 || return 0
    sleep 0.1
  done
  return 1
}

# single_queue LABEL DEV [--opt vnet=1]
single_queue() {
  local label=$1 dev=$2 rx tx echo_ partial got; shift 2
  if ! start_tool "$label" --tap "$dev" --ip "$T_ADDR_S" "$@"; then
    not_ok "$label: port opens"; show_logs; return 1
  fi
  ok "$label: port opens (device created)"
  if ! move_tap "$dev"; then
    not_ok "$label: kernel side moved into $NS_C"; return 1
  fi
  ok "$label: kernel side moved into $NS_C, fds keep working"
  check "$label: first ping answered (ARP resolved)" first_ping
  check "$label: ping -c 200 -i 0.002 with 0% loss" ping200 "$label"
  got=$(udp_flows 8)
  check "$label: UDP echo (${got:-0}/8)" [ "${got:-0}" -eq 8 ]
  check "$label: tool exits 0 on SIGTERM" stop_tool "$TOOL_PID"
  rx=$(val "$label" "q0 PortRxPackets") tx=$(val "$label" "q0 PortTxPackets")
  echo_=$(val "$label" "tool icmp_echo") partial=$(val "$label" "q0 PortRxCsumPartial")
  echo "# $label counters: rx $rx tx $tx icmp_echo $echo_ csum_partial $partial" \
    "errors $(val "$label" "q0 PortRxErrors")/$(val "$label" "q0 PortTxErrors")"
  check "$label: PortRxPackets moved ($rx >= 209)" [ "$rx" -ge 209 ]
  check "$label: PortTxPackets moved ($tx >= 209)" [ "$tx" -ge 209 ]
  check "$label: 200+ echo replies ($echo_)" [ "$echo_" -ge 200 ]
  check "$label: every buffer back in the pool" [ "$(val "$label" "tool pool_in_use")" -eq 0 ]
  check "$label: no sanitizer reports" clean_stderr "$label"
  check "$label: device removed with its last fd (from $NS_C)" gone_from "$NS_C" "$dev"
  PARTIAL=$partial
}

# --- 1, 2: one queue ---------------------------------------------------------
single_queue tap1 "axt${TAG}a"
single_queue tapv "axt${TAG}v" --opt vnet=1
check "tapv: UDP from the kernel flagged CSUM_PARTIAL via NEEDS_CSUM (${PARTIAL:-0} >= 8)" \
  [ "${PARTIAL:-0}" -ge 8 ]

# --- 3: two queues, one process ----------------------------------------------
DEV=axt${TAG}m
if start_tool tapm --tap "$DEV:2" --ip "$T_ADDR_S" && move_tap "$DEV"; then
  ok "tapm: two queues open in one process, kernel side moved"
  check "tapm: first ping answered" first_ping
  check "tapm: ping -c 200 -i 0.002 with 0% loss" ping200 tapm
  got=$(udp_flows 64)
  check "tapm: 64 UDP flows echoed (${got:-0}/64)" [ "${got:-0}" -eq 64 ]
  check "tapm: tool exits 0" stop_tool "$TOOL_PID"
  r0=$(val tapm "q0 rx_seen") r1=$(val tapm "q1 rx_seen")
  echo "# tapm split: queue 0 rx $r0, queue 1 rx $r1"
  check "tapm: both queues received traffic ($r0, $r1)" [ "$r0" -gt 0 -a "$r1" -gt 0 ]
  check "tapm: no sanitizer reports" clean_stderr tapm
  check "tapm: device removed with its last fd" gone_from "$NS_C" "$DEV"
else
  not_ok "tapm: two queues open in one process, kernel side moved"; show_logs
fi

# --- 4: dev_setup, two processes, dev_teardown -------------------------------
DEV=axt${TAG}d
if in_s "$TOOL" --tap "$DEV:2" --setup-only >"$TMPD/setup.out" 2>&1 &&
  in_s ip link show "$DEV" >/dev/null 2>&1; then
  ok "tapd: dev_setup created the device"
else
  not_ok "tapd: dev_setup created the device"; cat "$TMPD/setup.out"
fi
if start_tool tapd0 --tap "$DEV:2" --queue 0 --mac "$MAC_S" --ip "$T_ADDR_S" && P0=$TOOL_PID &&
  start_tool tapd1 --tap "$DEV:2" --queue 1 --mac "$MAC_S" --ip "$T_ADDR_S" && P1=$TOOL_PID &&
  move_tap "$DEV"; then
  ok "tapd: two processes attached one queue each, kernel side moved"
  check "tapd: first ping answered" first_ping
  check "tapd: ping -c 200 -i 0.002 with 0% loss" ping200 tapd
  got=$(udp_flows 64)
  check "tapd: 64 UDP flows echoed (${got:-0}/64)" [ "${got:-0}" -eq 64 ]
  check "tapd: queue 0 process exits 0" stop_tool "$P0"
  check "tapd: queue 1 process exits 0" stop_tool "$P1"
  r0=$(val tapd0 "q0 rx_seen") r1=$(val tapd1 "q1 rx_seen")
  echo "# tapd split: process 0 rx $r0, process 1 rx $r1"
  check "tapd: both processes received traffic ($r0, $r1)" [ "$r0" -gt 0 -a "$r1" -gt 0 ]
  check "tapd: persistent device survives its queues" exists_in "$NS_C" "$DEV"
  in_c ip link set "$DEV" netns "$NS_S"
  in_s "$TOOL" --tap "$DEV:2" --teardown-only >"$TMPD/teardown.out" 2>&1
  check "tapd: dev_teardown removed it" gone_from "$NS_S" "$DEV"
  check "tapd: no sanitizer reports" clean_stderr tapd0
  check "tapd: no sanitizer reports (1)" clean_stderr tapd1
else
  not_ok "tapd: two processes attached one queue each, kernel side moved"; show_logs
fi
[ $NFAIL -eq 0 ] || show_logs
exit $NFAIL
