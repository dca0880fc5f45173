#!/usr/bin/env bash
# axlctl capture: a pcap of what the replicas receive and send, filtered in
# the replica, read back with tshark: the ICMP echo requests and replies of
# a ping, the SYNs of TCP connections to an echo port (and nothing the
# filter excludes), a capture stopped by Ctrl-C, a second capture refused
# while one runs, and a replica that stops copying once the reader is gone.
. "$(dirname "$0")/lib.sh"
command -v tshark >/dev/null || { not_ok "tshark is installed (scripts/deps.sh)"; exit 1; }
netns_up 1
start_stackd cap --port "afxdp:$IF_S" --addr "$ADDR_S/24" --tcp-echo 7 --udp-echo 9
wait_ping "$ADDR_S" 15 || { not_ok "stack up"; show_logs; exit 1; }
tsh() { tshark -n -r "$1" -Y "$2" 2>/dev/null | wc -l; }

# 1. ICMP: 10 pings = 10 requests in, 10 replies out; the capture ends at 20 frames.
axlctl capture -c 20 --filter "proto icmp" -w "$TMPD/icmp.pcap" 2>"$TMPD/cap1.err" &
cp=$!
sleep 0.5
in_c ping -c 10 -i 0.05 -W 1 -q "$ADDR_S" >/dev/null
# UDP meanwhile: the filter must keep it out
printf 'u\n' | in_c timeout 5 socat -t 1 - "UDP:$ADDR_S:9" >/dev/null 2>&1
wait_pid_s() { local i; for ((i = 0; i < $2 * 10; i++)); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done; return 1; }
check "capture -c 20 ends by itself once 20 frames came" wait_pid_s "$cp" 10
wait "$cp"; rc=$?
cat "$TMPD/cap1.err"
check "capture exit status 0 ($rc)" [ "$rc" -eq 0 ]
req=$(tsh "$TMPD/icmp.pcap" 'icmp.type == 8'); rep=$(tsh "$TMPD/icmp.pcap" 'icmp.type == 0')
all=$(tsh "$TMPD/icmp.pcap" 'frame')
check "tshark: 10 echo requests ($req)" [ "$req" -eq 10 ]
check "tshark: 10 echo replies ($rep)" [ "$rep" -eq 10 ]
check "tshark: nothing else in the file ($all frames)" [ "$all" -eq 20 ]
check "tshark: replies come from the stack's address" \
  [ "$(tsh "$TMPD/icmp.pcap" "icmp.type == 0 && ip.src == $ADDR_S && ip.dst == $ADDR_C")" -eq 10 ]

# 2. TCP SYNs to port 7 (host + port + proto terms), while pings run that the filter drops.
axlctl capture --duration 8 --filter "host $ADDR_C" --filter "port 7" --filter "proto tcp" \
  -w "$TMPD/tcp.pcap" 2>"$TMPD/cap2.err" &
cp=$!
sleep 0.5
in_c ping -c 20 -i 0.02 -W 1 -q "$ADDR_S" >/dev/null &
for i in 1 2 3 4; do
  printf 'syn-%s\n' "$i" | in_c timeout 5 ncat --no-shutdown -i 500ms "$ADDR_S" 7 >/dev/null 2>&1
done
wait "$cp"; rc=$?
cat "$TMPD/cap2.err"
syn=$(tsh "$TMPD/tcp.pcap" 'tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp.dstport == 7')
synack=$(tsh "$TMPD/tcp.pcap" 'tcp.flags.syn == 1 && tcp.flags.ack == 1 && tcp.srcport == 7')
icmp=$(tsh "$TMPD/tcp.pcap" 'icmp')
check "--duration 8: exit 0 ($rc)" [ "$rc" -eq 0 ]
check "tshark: 4 SYNs to port 7 ($syn)" [ "$syn" -eq 4 ]
check "tshark: 4 SYN-ACKs from port 7 ($synack)" [ "$synack" -eq 4 ]
check "tshark: the 20 pings meanwhile were filtered out in the replica ($icmp)" [ "$icmp" -eq 0 ]
check "tshark: the echoed payload is in the capture" \
  bash -c "tshark -n -r $TMPD/tcp.pcap -Y 'tcp.srcport == 7 && tcp.len > 0' -T fields -e tcp.payload 2>/dev/null | grep -q '73796e2d31'"

# 3. Ctrl-C ends an unbounded capture; a second capture is refused meanwhile.
# (the binary itself, not the axlctl shell function: a background subshell ignores SIGINT)
"$AXL_BIN/axlctl" capture -w "$TMPD/int.pcap" 2>"$TMPD/cap3.err" &
cp=$!
sleep 0.5
check "a second capture on the same replica is refused (exit 1, says why)" \
  bash -c '! "$0" capture -c 1 -w /dev/null 2>&1 | grep -q "runs there already" && exit 1; ! "$0" capture -c 1 -w /dev/null 2>/dev/null' "$AXL_BIN/axlctl"
in_c ping -c 5 -i 0.05 -W 1 -q "$ADDR_S" >/dev/null
kill -INT "$cp"
check "SIGINT stops the capture" wait_pid_s "$cp" 5
wait "$cp"; rc=$?
check "... with exit status 0 ($rc)" [ "$rc" -eq 0 ]
check "tshark reads the interrupted capture (>= 10 ICMP frames: $(tsh "$TMPD/int.pcap" icmp))" \
  [ "$(tsh "$TMPD/int.pcap" icmp)" -ge 10 ]
for ((i = 0; i < 20; i++)); do grep -q "capture ended (reader gone)" "$TMPD/cap.err" && break; sleep 0.1; done
check "the replica noticed the reader left and stopped copying" grep -q "capture ended (reader gone)" "$TMPD/cap.err"
check "a new capture works after that" bash -c '"$0" capture -c 2 --filter "proto icmp" -w "$1" 2>/dev/null & p=$!; sleep 0.5; ip netns exec "$2" ping -c 1 -W 1 -q "$3" >/dev/null; wait $p' \
  "$AXL_BIN/axlctl" "$TMPD/again.pcap" "$NS_C" "$ADDR_S"

check "--filter with a bad term: usage error (exit 2)" bash -c '"$0" capture --filter "vlan 3" -w /dev/null 2>/dev/null; [ $? -eq 2 ]' "$AXL_BIN/axlctl"
check "no -w: usage error (exit 2)" bash -c '"$0" capture -c 1 2>/dev/null; [ $? -eq 2 ]' "$AXL_BIN/axlctl"
check "clean exit on SIGTERM" stop_stackd
check "no sanitizer reports" no_sanitizer_errors cap
exit $NFAIL
