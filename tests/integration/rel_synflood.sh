#!/usr/bin/env bash
# Reliability 5 (issue 5): a SYN flood while a legitimate client connects.
# One replica serves the built-in TCP echo on port 7. A Linux client makes
# connection after connection (connect, one byte echoed, close; rel_conns
# churn, 3 s per attempt at most) first without a flood, then while
# rel_synflood sends REL_FLOOD_RATE SYNs/s (20000 here; 200000 asked in
# bench/reliability.sh) for REL_FLOOD_SECONDS (8) from 100 spoofed on-link
# sources nobody answers for (RFC 4987 §2: every SYN takes a SYN-queue entry).
# Checked: the listener's SYN queue overflows into SYN cookies (RFC 4987
# §3.6; TcpSynCookiesSent), the legitimate client still gets through on
# cookies (TcpSynCookiesRecv) with at least half of its attempts succeeding,
# the replica never restarts, and after the flood every attempt succeeds
# again. Reported: legitimate success rate and connection rate, flooded vs
# not (the mean of before and after; target >= 50 %), and the flood rate
# reached.
# CPUs: the replica is on CPU 0, the legitimate client on CPU 1 alone, the
# flood generator on REL_FLOOD_CPU (default 0, the replica's). On veth the
# receive work for a frame (the server side's NAPI, XDP, the copy into the
# AF_XDP ring) runs on the sending CPU, and the queue's NAPI stays on the CPU
# that keeps it busy: with the flooder on the client's CPU, the client's
# every packet waits behind the flood's receive work there (median attempt
# 0.06 -> 1.0 ms at 50,000 SYN/s with the replica far from saturated). On the
# replica's CPU, the flood's receive cost lands on the server side, as a real
# NIC's interrupts would: harder on the stack, fair to the client.
. "$(dirname "$0")/lib.sh"
ulimit -c 0
CONNS=$AXL_TOOLS/rel_conns
FLOOD=$AXL_TOOLS/rel_synflood
RATE=${REL_FLOOD_RATE:-20000}
FSECS=${REL_FLOOD_SECONDS:-8}
FCPU=${REL_FLOOD_CPU:-0}
PORT=7
[ -x "$CONNS" ] && [ -x "$FLOOD" ] || die "missing test tools (make build-all)"
netns_up 1
start_stackd sf --port "afxdp:$IF_S:1" --addr "$ADDR_S/24" --tcp-echo $PORT
wait_ping "$ADDR_S" 15 || { not_ok "stack up"; show_logs; exit 1; }
wait_replica 0 0 10 >/dev/null || { not_ok "replica up"; show_logs; exit 1; }
rpid=$(replica_field 0 pid)
# Three churn phases make tens of thousands of connections that the client
# closes first (TIME-WAIT on its side, 60 s): give the client namespace the
# whole port range and TIME-WAIT reuse, so that its connect never fails with
# EADDRNOTAVAIL for want of a local port (that would measure the client).
in_c sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
in_c sysctl -qw net.ipv4.tcp_tw_reuse=1
churn() { in_c taskset -c 1 "$CONNS" --connect-timeout 3 --seconds "$1" churn "$ADDR_S" $PORT 2>&1; }

base=$(churn 4)
echo "unflooded: $base"
check "unflooded: every attempt succeeds ($base)" \
  [ "$(kv failed <<<"$base")" = 0 -a "$(kv ok <<<"$base")" -ge 10 ]

cs0=$(replica_stat 0 TcpSynCookiesSent); cr0=$(replica_stat 0 TcpSynCookiesRecv)
in_c taskset -c "$FCPU" "$FLOOD" --rate "$RATE" --seconds "$FSECS" --src-base 198.18.0.100 --src-count 100 \
  "$ADDR_S" $PORT >"$TMPD/flood.out" 2>&1 &
FP=$!
sleep 1
during=$(churn $((FSECS - 2)))
wait "$FP"
f=$(cat "$TMPD/flood.out")
echo "$f"
echo "flooded: $during"
sent=$(( $(replica_stat 0 TcpSynCookiesSent) - cs0 )); recv=$(( $(replica_stat 0 TcpSynCookiesRecv) - cr0 ))
echo "SYN cookies: $sent sent, $recv valid cookie ACKs"
check "the flood ran ($(kv sent <<<"$f") SYNs at $(kv rate <<<"$f")/s)" [ "$(kv sent <<<"$f")" -gt 1000 ]
check "the SYN queue overflowed into SYN cookies ($sent sent)" [ "$sent" -gt 100 ]
check "the legitimate client got through on cookies ($recv)" [ "$recv" -ge 1 ]
att=$(kv attempts <<<"$during"); okd=$(kv ok <<<"$during")
check "flooded: at least half of the legitimate attempts succeed ($okd of $att)" \
  [ "$att" -ge 1 -a $((okd * 2)) -ge "$att" ]
check "the replica never restarted (pid $rpid, restarts $(replica_field 0 restarts))" \
  [ "$(replica_field 0 pid)" = "$rpid" -a "$(replica_field 0 restarts)" = 0 ]
after=$(churn 3)
echo "after: $after"
check "after the flood: every attempt succeeds ($after)" \
  [ "$(kv failed <<<"$after")" = 0 -a "$(kv ok <<<"$after")" -ge 5 ]
figure synflood_rate_asked_pps "$RATE"
figure synflood_rate_pps "$(kv rate <<<"$f")"
figure synflood_flood_cpu "$FCPU"
figure synflood_rx_nobuf_drops "$(replica_stat 0 PortRxNoBufDrops)"
figure synflood_cookies_sent "$sent"
figure synflood_legit_success_pct "$(awk -v o="$okd" -v a="$att" 'BEGIN { printf "%.1f", a ? 100 * o / a : 0 }')"
figure synflood_legit_rate_flooded "$(kv rate <<<"$during")"
# unflooded: the mean of the rates before and after the flood (other work on
# a shared machine moves it from one second to the next)
unfl=$(awk -v a="$(kv rate <<<"$base")" -v b="$(kv rate <<<"$after")" 'BEGIN { printf "%.1f", (a + b) / 2 }')
figure synflood_legit_rate_unflooded "$unfl (before $(kv rate <<<"$base"), after $(kv rate <<<"$after"))"
figure synflood_legit_rate_ratio_pct "$(awk -v x="$(kv rate <<<"$during")" -v y="$unfl" 'BEGIN { printf "%.1f", y ? 100 * x / y : 0 }')"
figure synflood_legit_p99_ms_flooded "$(kv p99_ms <<<"$during")"
check "clean exit on SIGTERM" stop_stackd
check "no sanitizer reports" no_sanitizer_errors sf
[ $NFAIL -eq 0 ] || show_logs
exit $NFAIL
