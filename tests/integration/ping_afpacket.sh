#!/usr/bin/env bash
# ARP, ping, UDP echo and fragments against the Linux kernel over AF_PACKET
# (TPACKET_V3 RX ring, TX ring with qdisc bypass).
. "$(dirname "$0")/lib.sh"
netns_up 1
# AF_PACKET sees the checksum-offload state (TP_STATUS_CSUMNOTREADY), so the
# client keeps its offloads on here: the stack must cope with partial checksums.
in_c ethtool -K "$IF_C" tx on >/dev/null 2>&1
basic_suite afpacket "afpacket:$IF_S"
exit $NFAIL
