#!/usr/bin/env bash
# ARP, ping, UDP echo and fragments against the Linux kernel over TAP.
# The stack creates the TAP device in the stack namespace; the test then moves
# the kernel side into the client namespace (the stack's queue fds keep working)
# and gives it 198.18.0.1/24.
. "$(dirname "$0")/lib.sh"
ip netns add "$NS_S" || die "ip netns add"
ip netns add "$NS_C" || die "ip netns add"
in_c ip link set lo up

# basic_suite starts the stack itself; the device appears only then, so move it
# from a background helper as soon as it exists.
(
  for _ in $(seq 100); do
    if in_s ip link show "$IF_S" >/dev/null 2>&1; then
      in_s ip link set "$IF_S" netns "$NS_C" &&
      in_c sysctl -qw "net.ipv6.conf.$IF_S.disable_ipv6=1" &&
      in_c ip addr add "$ADDR_C/24" dev "$IF_S" &&
      in_c ip link set "$IF_S" up
      exit
    fi
    sleep 0.1
  done
) &
basic_suite tap "tap:$IF_S"
wait
exit $NFAIL
