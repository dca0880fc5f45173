# bench/lib.sh - the test bed the benchmark scripts share (sourced, not run).
#
#   in_s CMD... / in_c CMD...   run CMD in the server / client namespace
#   bench_pair SIDE ADDR        namespaces $NS_S and $NS_C joined by the veth
#                               pair $IF_S / $IF_C, loopback up, IPv6 off; the
#                               side that runs the kernel's stack (SIDE s or c)
#                               gets ADDR/24 and its checksum and segmentation
#                               offloads off (README "Offloads"), both links up
#   bench_pair_del              remove both namespaces (and so the pair)
#
# The caller sets NS_S NS_C IF_S IF_C and defines die() before using them.
# Addresses come from 198.18.0.0/15.

in_s() { ip netns exec "$NS_S" "$@"; }
in_c() { ip netns exec "$NS_C" "$@"; }

bench_pair() {
  local side=$1 addr=$2 ns if
  case $side in
    s) ns=$NS_S if=$IF_S ;;
    c) ns=$NS_C if=$IF_C ;;
    *) die "bench_pair: side must be s or c, not '$side'" ;;
  esac
  ip netns add "$NS_S" && ip netns add "$NS_C" || die "ip netns add"
  ip link add "$IF_S" netns "$NS_S" type veth peer name "$IF_C" netns "$NS_C" || die "veth"
  in_s ip link set lo up; in_c ip link set lo up
  in_s sysctl -qw "net.ipv6.conf.$IF_S.disable_ipv6=1"
  in_c sysctl -qw "net.ipv6.conf.$IF_C.disable_ipv6=1"
  ip netns exec "$ns" ethtool -K "$if" tx off tso off gso off >/dev/null 2>&1
  ip netns exec "$ns" ip addr add "$addr/24" dev "$if" || die "ip addr add $addr"
  in_s ip link set "$IF_S" up
  in_c ip link set "$IF_C" up
}

bench_pair_del() {
  ip netns del "$NS_S" 2>/dev/null
  ip netns del "$NS_C" 2>/dev/null
  return 0
}
