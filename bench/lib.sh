# bench/lib.sh - the test bed the benchmark scripts share (sourced, not run).
#
#   in_s CMD... / in_c CMD...   run CMD in the server / client namespace
#   bench_pair SIDE ADDR        namespaces $NS_S and $NS_C joined by the veth
#                               pair $IF_S / $IF_C, loopback up, IPv6 off; the
#                               side that runs the kernel's stack (SIDE s or c)
#                               gets ADDR/24 and its checksum and segmentation
#                               offloads off (README "Offloads"), both links up
#   bench_pair_del              remove both namespaces (and so the pair)
#   bench_stop PID...           stop each process, the last given first: TERM,
#                               up to 5 s, then KILL; reaped (started by us)
#   bench_zone FILE ORIGIN N NS    a zone: SOA, NS (ns -> NS), and N A records
#                               h0..h(N-1) (www when N = 1)
#   bench_nginx_conf DIR ADDR ROOT DIR/nginx.conf: one worker, keep-alive
#                               without limit, no log, ADDR:8080, files of ROOT
#   bench_nsd_conf DIR ADDR ZONEFILE ORIGIN
#                               DIR/nsd.conf: one server process on ADDR:53,
#                               rate limiting off, the one zone
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

bench_zone() {
  {
    echo "\$ORIGIN $2."
    echo "\$TTL 3600"
    echo "@ IN SOA ns.$2. admin.$2. 1 7200 3600 1209600 3600"
    echo "@ IN NS ns.$2."
    echo "ns IN A $4"
    if [[ $3 -eq 1 ]]; then echo "www IN A 198.18.41.1"
    else awk -v n="$3" 'BEGIN { for (i = 0; i < n; i++) printf "h%d IN A 198.18.%d.%d\n", i, 42 + int(i / 250), 1 + i % 250 }'
    fi
  } >"$1"
}

bench_nginx_conf() {
  cat >"$1/nginx.conf" <<EOF
user root;
worker_processes 1;
daemon off;
pid $1/nginx.pid;
error_log $1/nginx.err warn;
events { worker_connections 8192; }
http {
  access_log off;
  sendfile on;
  open_file_cache max=1000 inactive=60s;
  tcp_nopush on;
  keepalive_requests 100000000;
  keepalive_timeout 65;
  default_type application/octet-stream;
  client_body_temp_path $1/ngx-body;
  proxy_temp_path $1/ngx-proxy;
  fastcgi_temp_path $1/ngx-fcgi;
  uwsgi_temp_path $1/ngx-uwsgi;
  scgi_temp_path $1/ngx-scgi;
  server { listen $2:8080 backlog=4096; root $3; }
}
EOF
}

bench_nsd_conf() {
  cat >"$1/nsd.conf" <<EOF
server:
  ip-address: $2
  port: 53
  server-count: 1
  do-ip6: no
  username: ""
  chroot: ""
  zonesdir: "$1"
  database: ""
  pidfile: "$1/nsd.pid"
  xfrdfile: "$1/xfrd.state"
  zonelistfile: "$1/zone.list"
  logfile: "$1/nsd.log"
  verbosity: 0
  hide-version: yes
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: $4
  zonefile: $3
EOF
}

bench_stop() {
  local i p pids=("$@")
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    p=${pids[i]}
    kill -TERM "$p" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  return 0
}
