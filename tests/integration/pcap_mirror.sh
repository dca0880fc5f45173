#!/usr/bin/env bash
# pcap=FILE on a port mirrors what it receives and sends; tshark reads it and
# sees exactly the echo requests and replies that crossed the wire.
. "$(dirname "$0")/lib.sh"
netns_up 1
PCAP=$TMPD/cap.pcap
start_stackd cap --port "afxdp:$IF_S,pcap=$PCAP" --addr "$ADDR_S/24"
wait_ping "$ADDR_S" 15 || { not_ok "stack up"; show_logs; exit 1; }
in_c ping -c 20 -i 0.01 -p 6178 -q "$ADDR_S" >/dev/null
check "clean exit" stop_stackd
check "tshark reads the capture" tshark -r "$PCAP" -c 1
req=$(tshark -r "$PCAP" -Y 'icmp.type == 8 && data.data contains 61:78' 2>/dev/null | wc -l)
rep=$(tshark -r "$PCAP" -Y 'icmp.type == 0 && data.data contains 61:78' 2>/dev/null | wc -l)
arp=$(tshark -r "$PCAP" -Y 'arp.src.proto_ipv4 == 198.18.0.2' 2>/dev/null | wc -l)
echo "capture: $req echo requests, $rep echo replies, $arp ARP frames from us"
check "20 echo requests captured ($req)" [ "$req" -eq 20 ]
check "20 echo replies captured ($rep)" [ "$rep" -eq 20 ]
check "our ARP frames (announcement, request) captured ($arp)" [ "$arp" -ge 1 ]
check "reply checksums verify in tshark" bash -c \
  "[ \$(tshark -r '$PCAP' -o ip.check_checksum:TRUE -Y 'ip.checksum.status == \"Bad\" || icmp.checksum.status == \"Bad\"' 2>/dev/null | wc -l) -eq 0 ]"
exit $NFAIL
