#!/usr/bin/env bash
# axl-stackd --metrics: Prometheus text exposition from the supervisor over
# HTTP, on the kernel's stack (tcp:127.0.0.1:PORT in the stack namespace)
# and on a Unix socket. curl fetches /metrics; the official Python client's
# parser reads it; the per-replica counters equal `axlctl stats --prom` and
# move with the traffic sent; replica state gauges say "running".
. "$(dirname "$0")/lib.sh"
/usr/bin/python3 -c 'import prometheus_client' 2>/dev/null ||
  { not_ok "python3-prometheus-client is installed (scripts/deps.sh)"; exit 1; }
netns_up 2
steer_queues 2 || { not_ok "setup: XPS steering on the client veth"; exit 1; }
MPORT=$((9100 + TAG % 500))
start_stackd mt --port "afxdp:$IF_S:2" --addr "$ADDR_S/24" --udp-echo 7 --metrics "tcp:127.0.0.1:$MPORT"
wait_ping "$ADDR_S" 15 || { not_ok "stack up"; show_logs; exit 1; }
wait_replica 1 0 10 >/dev/null || { not_ok "replica 1 up"; show_logs; exit 1; }
scrape() { in_s curl -sf --max-time 5 "http://127.0.0.1:$MPORT/metrics"; }
# VALUE FILE NAME LABELS(json): one sample's value through the client's parser
pval() {
  /usr/bin/python3 - "$@" <<'PY'
import json, sys
from prometheus_client.parser import text_string_to_metric_families
f, name, labels = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
for fam in text_string_to_metric_families(open(f).read()):
    for s in fam.samples:
        if s.name in (name, name + "_total") and all(s.labels.get(k) == v for k, v in labels.items()):
            print(int(s.value) if s.value == int(s.value) else s.value)
            sys.exit(0)
print("missing")
PY
}

scrape >"$TMPD/m0.txt"
check "curl GET /metrics: HTTP 200 and a body" test -s "$TMPD/m0.txt"
check "the Prometheus client parses all of it" /usr/bin/python3 -c '
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = list(text_string_to_metric_families(open(sys.argv[1]).read()))
assert len(fams) > 50, len(fams)
' "$TMPD/m0.txt"
check "Content-Type is the text format 0.0.4" \
  bash -c "ip netns exec $NS_S curl -sfI --max-time 5 http://127.0.0.1:$MPORT/metrics | grep -qi 'content-type: text/plain; version=0.0.4'"
check "replica state gauges: both replicas running" \
  [ "$(pval "$TMPD/m0.txt" axl_replica_state '{"replica":"0","state":"running"}')/$(pval "$TMPD/m0.txt" axl_replica_state '{"replica":"1","state":"running"}')" = 1/1 ]
check "replica state gauges: not failed" [ "$(pval "$TMPD/m0.txt" axl_replica_state '{"replica":"0","state":"failed"}')" = 0 ]
check "restarts, load and heartbeat age are there" bash -c \
  "grep -q '^axl_replica_restarts_total{replica=\"1\"} 0\$' $TMPD/m0.txt && grep -q '^axl_replica_heartbeat_age_seconds{replica=\"0\"}' $TMPD/m0.txt && grep -q '^axl_replica_conns{replica=\"0\"} 0\$' $TMPD/m0.txt"
axlctl stats --prom >"$TMPD/p0.txt"
a=$(pval "$TMPD/m0.txt" axl_PoolBuffers '{"replica":"1"}'); b=$(pval "$TMPD/p0.txt" axl_PoolBuffers '{"replica":"1"}')
check "same counter as axlctl stats --prom (PoolBuffers replica 1: $a = $b)" [ "$a" = "$b" -a "$a" != missing ]

i0=$(pval "$TMPD/m0.txt" axl_IcmpInEchos '{"replica":"0"}')
u1=$(pval "$TMPD/m0.txt" axl_UdpInDatagrams '{"replica":"1"}')
in_c taskset -c 0 ping -c 25 -i 0.01 -W 1 -q "$ADDR_S" >/dev/null
for i in 1 2 3; do printf 'm%s\n' "$i" | in_c taskset -c 1 timeout 5 socat -t 1 - "UDP:$ADDR_S:7" >/dev/null 2>&1; done
sleep 0.3
scrape >"$TMPD/m1.txt"
i1=$(pval "$TMPD/m1.txt" axl_IcmpInEchos '{"replica":"0"}')
u2=$(pval "$TMPD/m1.txt" axl_UdpInDatagrams '{"replica":"1"}')
check "IcmpInEchos of replica 0 moved by the 25 pings ($i0 -> $i1)" [ $((i1 - i0)) -eq 25 ]
check "UdpInDatagrams of replica 1 moved by the 3 datagrams ($u1 -> $u2)" [ $((u2 - u1)) -eq 3 ]

check "unknown path: 404" bash -c "[ \"\$(ip netns exec $NS_S curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://127.0.0.1:$MPORT/nope)\" = 404 ]"
check "POST: 405" bash -c "[ \"\$(ip netns exec $NS_S curl -s -o /dev/null -w '%{http_code}' --max-time 5 -d x http://127.0.0.1:$MPORT/metrics)\" = 405 ]"
check "a client that sends nothing does not block the others" bash -c "
  ip netns exec $NS_S socat -u OPEN:/dev/null,ignoreeof TCP:127.0.0.1:$MPORT & s=\$!
  sleep 0.3; ip netns exec $NS_S curl -sf --max-time 5 http://127.0.0.1:$MPORT/metrics >/dev/null; r=\$?; kill \$s 2>/dev/null; exit \$r"
check "clean exit on SIGTERM" stop_stackd
check "no sanitizer reports" no_sanitizer_errors mt

# The Unix form; a bad spec is refused at start.
start_stackd mu --port "afxdp:$IF_S:2" --addr "$ADDR_S/24" --metrics "unix:$TMPD/metrics.sock"
wait_ping "$ADDR_S" 15 || { not_ok "stack up (unix form)"; show_logs; exit 1; }
wait_replica 1 0 10 >/dev/null
in_s curl -sf --max-time 5 --unix-socket "$TMPD/metrics.sock" http://localhost/metrics >"$TMPD/mu.txt"
check "unix:PATH: curl --unix-socket gets the exposition" \
  [ "$(pval "$TMPD/mu.txt" axl_replica_state '{"replica":"1","state":"running"}')" = 1 ]
check "clean exit on SIGTERM (unix form)" stop_stackd
check "the metrics socket is removed at exit" [ ! -e "$TMPD/metrics.sock" ]
check "--metrics with a bad spec: refused with a message, exit 1" bash -c \
  "ip netns exec $NS_S '$AXL_BIN/axl-stackd' --port afxdp:$IF_S --addr $ADDR_S/24 --metrics tcp:1.2.3:80 2>&1 | grep -q 'not an IPv4 address'"
exit $NFAIL
