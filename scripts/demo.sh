#!/usr/bin/env bash
# make demo: the stack on one end of a veth pair, a real Linux client on the
# other, in network namespaces this script creates and removes again.
#
#   netns axl-demo-stack                      netns axl-demo-client
#   axl-stackd on axld0  198.18.0.2/24  <==>  axld1 198.18.0.1/24 (Linux)
#
# Shows: ARP + ping from Linux to the stack, UDP echo with ncat, a fragmented
# datagram, an ICMP port unreachable, the stack's counters, and a pcap of the
# whole exchange read back with tshark. Then isolated mode: axl-stackd with 2
# replicas and axl-nc --echo as a separate application process attached to it
# over shared-memory channels, with ncat from the Linux namespace talking to
# it. Port: AF_XDP (native XDP, copy mode on veth); AXL_DEMO_PORT=afpacket or
# tap picks another backend.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${AXL_DEMO_BIN:-build/bin}
KIND=${AXL_DEMO_PORT:-afxdp}
NS_S=axl-demo-stack NS_C=axl-demo-client IF_S=axld0 IF_C=axld1
TMPD=$(mktemp -d /tmp/axl-demo.XXXXXX)
PCAP=$TMPD/demo.pcap
PID=
APP=

if [ "$(id -u)" -ne 0 ]; then echo "demo: needs root (network namespaces, XDP)" >&2; exit 1; fi
[ -x "$BIN/axl-stackd" ] || { echo "demo: $BIN/axl-stackd missing; run make" >&2; exit 1; }

cleanup() {
  [ -n "$APP" ] && kill -TERM "$APP" 2>/dev/null && wait "$APP" 2>/dev/null || true
  [ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  ip netns del "$NS_S" 2>/dev/null || true
  ip netns del "$NS_C" 2>/dev/null || true
  rm -rf "$TMPD"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
in_s() { ip netns exec "$NS_S" "$@"; }
in_c() { ip netns exec "$NS_C" "$@"; }

# Leftovers of an interrupted earlier demo.
ip netns del "$NS_S" 2>/dev/null || true
ip netns del "$NS_C" 2>/dev/null || true

step "network: two namespaces and a veth pair (198.18.0.0/24, RFC 2544 test range)"
ip netns add "$NS_S"; ip netns add "$NS_C"
in_c ip link set lo up
if [ "$KIND" = tap ]; then
  SPEC="tap:$IF_S"
else
  ip link add "$IF_S" netns "$NS_S" type veth peer name "$IF_C" netns "$NS_C"
  in_s sysctl -qw "net.ipv6.conf.$IF_S.disable_ipv6=1"
  in_s ip link set "$IF_S" up
  # AF_XDP cannot tell a finished checksum from an offloaded one: the Linux end
  # finishes its checksums itself and sends no TSO/GSO super-frames.
  in_c ethtool -K "$IF_C" tx off tso off gso off >/dev/null
  in_c ip addr add 198.18.0.1/24 dev "$IF_C"
  in_c ip link set "$IF_C" up
  SPEC="$KIND:$IF_S"
fi
echo "stack side: $IF_S in $NS_S; Linux side: $IF_C 198.18.0.1/24 in $NS_C"

step "start: axl-stackd --port $SPEC,pcap=... --addr 198.18.0.2/24 --udp-echo 7"
# (ip netns exec execs the stack, so $! is the stack's own pid)
ip netns exec "$NS_S" "$BIN/axl-stackd" --port "$SPEC,pcap=$PCAP" --addr 198.18.0.2/24 \
  --udp-echo 7 --stats-out "$TMPD/stats" &
PID=$!
if [ "$KIND" = tap ]; then
  IF_C=$IF_S
  for _ in $(seq 50); do in_s ip link show "$IF_S" >/dev/null 2>&1 && break; sleep 0.1; done
  in_s ip link set "$IF_S" netns "$NS_C"
  in_c sysctl -qw "net.ipv6.conf.$IF_C.disable_ipv6=1"
  in_c ip addr add 198.18.0.1/24 dev "$IF_C"
  in_c ip link set "$IF_C" up
fi
for i in $(seq 50); do
  in_c ping -c 1 -W 1 -q 198.18.0.2 >/dev/null 2>&1 && break
  kill -0 "$PID" 2>/dev/null || { echo "demo: the stack exited" >&2; exit 1; }
  [ "$i" -eq 50 ] && { echo "demo: no answer from the stack" >&2; exit 1; }
  sleep 0.2
done

step "Linux pings the stack (ARP resolved by the stack)"
in_c ip neigh show dev "$IF_C"
in_c ping -c 5 -i 0.2 198.18.0.2
in_c ping -c 500 -i 0.002 -q 198.18.0.2 | tail -n 2

step "UDP echo (RFC 862) with ncat"
(printf 'hello from Linux to Axolotl\n'; sleep 1) | in_c ncat -u 198.18.0.2 7 || true

step "a 4000-byte datagram: IPv4 fragments both ways, reassembled by each side"
big=$(head -c 3000 /dev/urandom | base64 -w 0)
back=$(printf '%s' "$big" | in_c socat -t 2 - UDP:198.18.0.2:7)
[ "$back" = "$big" ] && echo "echoed ${#back} bytes intact" || echo "MISMATCH"

step "a closed UDP port: the stack answers ICMP port unreachable"
printf x | in_c socat -t 1 - UDP:198.18.0.2:7777,ignoreeof 2>&1 | grep -io 'connection refused' || true

step "the stack's counters (nstat-style names; drops counted by reason)"
kill -USR1 "$PID"
for _ in $(seq 20); do [ -s "$TMPD/stats" ] && break; sleep 0.1; done
grep -vE ' 0$' "$TMPD/stats" | sed 's/^q0 /  /' | column -t | head -n 40

step "what the stack saw and sent, read back by tshark"
kill -TERM "$PID"; wait "$PID" || true; PID=
tshark -r "$PCAP" -c 12 2>/dev/null || true
echo "($(tshark -r "$PCAP" 2>/dev/null | wc -l) frames in the capture)"

# --- isolated mode: the application in its own process, the stack in two replicas ---
if [ "$KIND" != tap ] && [ -x "$BIN/axl-nc" ]; then
  CTL=$TMPD/stack.sock
  step "isolated mode: axl-stackd --replicas 2 --port $SPEC (a director steers by flow hash)"
  ip netns exec "$NS_S" "$BIN/axl-stackd" --port "$SPEC" --addr 198.18.0.2/24 --replicas 2 \
    --ctl "$CTL" --stats-out "$TMPD/iso.stats" 2>"$TMPD/iso.err" &
  PID=$!
  for i in $(seq 50); do
    in_c ping -c 1 -W 1 -q 198.18.0.2 >/dev/null 2>&1 && break
    kill -0 "$PID" 2>/dev/null || { echo "demo: the stack exited" >&2; tail -n 5 "$TMPD/iso.err" >&2; exit 1; }
    [ "$i" -eq 50 ] && { echo "demo: no answer from the stack" >&2; exit 1; }
    sleep 0.2
  done
  "$BIN/axlctl" --ctl "$CTL" replicas | cut -c1-110

  step "axl-nc --stack $CTL -l 7000 --echo: a separate process, attached over shared memory"
  # no namespace needed: the application reaches the stack through its control
  # socket and the memory the replicas hand it, not through a network device
  "$BIN/axl-nc" --stack "$CTL" -l 7000 --echo --log-level info 2>"$TMPD/app.err" &
  APP=$!
  for _ in $(seq 50); do grep -q listening "$TMPD/app.err" && break; sleep 0.1; done
  cat "$TMPD/app.err"
  printf 'AXL1 apps\nAXL1 listeners\n' | socat -t 2 - "UNIX-CONNECT:$CTL" | grep -v '^[.o]' || true

  step "Linux talks to the isolated application with ncat (8 connections)"
  for i in $(seq 8); do
    printf 'ncat connection %s: hello, isolated Axolotl\n' "$i" |
      in_c timeout 5 ncat --no-shutdown -i 1 198.18.0.2 7000 2>/dev/null || true
  done
  echo "per replica (the connections were spread by flow hash) and in total:"
  "$BIN/axlctl" --ctl "$CTL" stats | awk 'NR == 1 || /^(TcpPassiveOpens|SvcCmds|SvcEvents|SvcRxBytes|SvcTxBytes) /'
  kill -TERM "$APP"; wait "$APP" || true; APP=
  kill -TERM "$PID"; wait "$PID" || true; PID=
fi

# --- axl-httpd: a web page from the stack linked into the server ---
if [ -x "$BIN/axl-httpd" ]; then
  step "axl-httpd: curl fetches a page served from pre-packetised TCP segments"
  WWW=$TMPD/www
  mkdir -p "$WWW"
  printf '<html><body><h1>Hello from Axolotl</h1></body></html>\n' >"$WWW/index.html"
  ip netns exec "$NS_S" "$BIN/axl-httpd" --root "$WWW" --listen 80 --port "$SPEC" \
     --addr 198.18.0.2/24 --stats-out "$TMPD/httpd.stats" 2>"$TMPD/httpd.err" &
  PID=$!
  for _ in $(seq 50); do in_c curl -s -o /dev/null --max-time 1 http://198.18.0.2/ && break; sleep 0.2; done
  in_c curl -s -i --max-time 5 http://198.18.0.2/ || true
  kill -TERM "$PID"; wait "$PID" || true; PID=
  grep -E 'HttpRequests200|TcpObjSegsTemplate' "$TMPD/httpd.stats" | column -t || true
fi

step "done: namespaces removed"
