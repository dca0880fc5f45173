#!/usr/bin/env bash
# ARP, ping, UDP echo and fragments against the Linux kernel over AF_XDP
# (native XDP, copy mode on veth).
. "$(dirname "$0")/lib.sh"
netns_up 1
basic_suite afxdp "afxdp:$IF_S"
exit $NFAIL
