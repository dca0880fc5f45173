#!/usr/bin/env bash
# Reliability 6 (issue 5): exhaustion. One replica serving the built-in TCP
# echo on port 7 takes REL_EXHAUST_CONNS (20000 here, 100000 in
# bench/reliability.sh) concurrent Linux connections, each of which echoes a
# byte: they come from REL_EXHAUST_PROCS client processes (a process may hold
# at most 20000 fds here: the hard RLIMIT_NOFILE, which root cannot raise
# without CAP_SYS_RESOURCE) and 4 source addresses (198.18.0.11-14, ports
# 1024-65535 each). Checked: all established and echoed, TcpCurrEstab says
# so, the replica never restarts, and when the clients go every connection
# is released (TcpCurrEstab back to 0). Reported: the replica's resident
# memory per connection. Then the configured limits answer with clear
# errors, never a crash (the stack runs with --socks 128):
#   ECONNREFUSED  a port nobody listens on (RST, RFC 9293 §3.10.7.1)
#   EMFILE        an application opening more sockets than its channel has
#   reset         connections beyond an application's free socket slots
#                 (SvcAcceptNoSlot) are reset, the others are echoed.
. "$(dirname "$0")/lib.sh"
ulimit -c 0
CONNS=$AXL_TOOLS/rel_conns
RAW=$AXL_TOOLS/svc_raw
HOST=$AXL_TOOLS/rel_hostile
N=${REL_EXHAUST_CONNS:-20000}
P=${REL_EXHAUST_PROCS:-4}
PORT=7
[ -x "$CONNS" ] && [ -x "$RAW" ] && [ -x "$HOST" ] || die "missing test tools (make build-all)"
netns_up 1
for a in 11 12 13 14; do in_c ip addr add "198.18.0.$a/24" dev "$IF_C"; done
in_c sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
in_c sysctl -qw net.ipv4.tcp_max_orphans=262144 2>/dev/null
SRC=198.18.0.11,198.18.0.12,198.18.0.13,198.18.0.14
start_stackd ex --port "afxdp:$IF_S:1" --addr "$ADDR_S/24" --tcp-echo $PORT --socks 128 --ring 4096 \
  --queue 256
wait_ping "$ADDR_S" 15 || { not_ok "stack up"; show_logs; exit 1; }
wait_replica 0 0 10 >/dev/null || { not_ok "replica up"; show_logs; exit 1; }
rpid=$(replica_field 0 pid)
rss0=$(pid_rss_kb "$rpid")

# ---- N concurrent connections
per=$(( (N + P - 1) / P ))
[ "$per" -le 19000 ] || die "REL_EXHAUST_PROCS too small: $per connections per process > 19000 fds"
t0=$(date +%s.%N)
CP=()
for ((i = 0; i < P; i++)); do
  ip netns exec "$NS_C" "$CONNS" --conns "$per" --inflight 256 --echo --src "$SRC" --connect-timeout 120 --seconds 600 \
    hold "$ADDR_S" $PORT >"$TMPD/hold.$i" 2>&1 &
  CP+=($!)
  PIDS+=($!)
done
for _ in $(seq 2400); do
  [ "$(cat "$TMPD"/hold.* 2>/dev/null | grep -c '^ready')" -ge "$P" ] && break
  sleep 0.1
done
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
est=0
for ((i = 0; i < P; i++)); do
  e=$(head -n 1 "$TMPD/hold.$i" | kv established); est=$((est + ${e:-0}))
  head -n 1 "$TMPD/hold.$i"
done
sleep 0.5
cur=$(replica_stat 0 TcpCurrEstab)
rss1=$(pid_rss_kb "$rpid")
check "$((per * P)) concurrent connections established and echoed ($est, in $secs s)" [ "$est" -eq $((per * P)) ]
check "the replica holds them (TcpCurrEstab $cur)" [ "$cur" -eq "$est" ]
check "the replica never restarted" [ "$(replica_field 0 pid)" = "$rpid" -a "$(replica_field 0 restarts)" = 0 ]
bpc=$(awk -v a="$rss0" -v b="$rss1" -v n="$est" 'BEGIN { printf "%.0f", n ? (b - a) * 1024 / n : 0 }')
echo "replica resident memory: $rss0 kB idle, $rss1 kB with $est connections: $bpc bytes per connection"
figure exhaust_concurrent_conns "$est"
figure exhaust_connect_seconds "$secs"
figure exhaust_rss_idle_kb "$rss0"
figure exhaust_rss_loaded_kb "$rss1"
figure exhaust_bytes_per_conn "$bpc"
for p in "${CP[@]}"; do kill -TERM "$p" 2>/dev/null; done
for p in "${CP[@]}"; do wait "$p" 2>/dev/null; done
check "every connection released when the clients exit (TcpCurrEstab 0)" wait_stat 0 TcpCurrEstab 0 60

# ---- configured limits
h=$(in_c "$CONNS" --conns 5 --echo --connect-timeout 5 --seconds 0 hold "$ADDR_S" 9 2>&1 | head -n 1)
check "no listener: ECONNREFUSED ($h)" [ "$(kv refused <<<"$h")" = 5 -a "$(kv first_error <<<"$h")" = ECONNREFUSED ]
o=$("$HOST" open-many 200 2>&1)
echo "$o"
check "an app opening 200 sockets on a 128-socket channel: 128 opened, the rest EMFILE ($o)" \
  [ "$(kv ok <<<"$o")" = 128 -a "$(kv emfile <<<"$o")" = 72 -a "$(kv other <<<"$o")" = 0 ]
"$RAW" --name slots --seconds 60 echo 5000 >"$TMPD/slots.out" 2>"$TMPD/slots.err" &
SP=$!
PIDS+=("$SP")
for _ in $(seq 200); do grep -q '^ready' "$TMPD/slots.out" && break; sleep 0.05; done
grep -q '^ready' "$TMPD/slots.out" || not_ok "the svc_raw app is ready"
ns0=$(replica_stat 0 SvcAcceptNoSlot)
h=$(in_c "$CONNS" --conns 200 --inflight 200 --echo --connect-timeout 10 --seconds 0 hold "$ADDR_S" 5000 2>&1 | head -n 1)
ns=$(( $(replica_stat 0 SvcAcceptNoSlot) - ns0 ))
echo "$h; SvcAcceptNoSlot +$ns"
check "200 connections to an app with 127 free slots: at most 127 echoed, the rest reset, none hang ($h)" \
  [ "$(kv established <<<"$h")" -le 127 -a "$(kv established <<<"$h")" -ge 1 -a \
    $(( $(kv established <<<"$h") + $(kv reset <<<"$h") )) -eq 200 ]
check "the resets are counted (SvcAcceptNoSlot +$ns)" [ "$ns" -ge 1 ]
check "the app survives and serves again once its connections are gone" \
  bash -c "sleep 1; [ \"\$(ip netns exec $NS_C $CONNS --conns 10 --echo --seconds 0 hold $ADDR_S 5000 | head -n 1 | awk '{print \$3}')\" = established=10 ]"
kill -TERM "$SP"; wait "$SP" 2>/dev/null
check "the replica never restarted" [ "$(replica_field 0 pid)" = "$rpid" -a "$(replica_field 0 restarts)" = 0 ]
check "clean exit on SIGTERM" stop_stackd
check "no sanitizer reports" no_sanitizer_errors ex
[ $NFAIL -eq 0 ] || show_logs
exit $NFAIL
