#!/usr/bin/env bash
# Reliability 2 (issue 5): an application killed with thousands of
# connections open. One replica; svc_raw (tests/tools/svc_raw.c, a raw
# channel application) serves TCP echo on port 5000; rel_conns opens
# REL_APP_CONNS (3000 here: more than the AF_XDP TX ring's 2048 slots, so
# the service must reset them in batches; 4000 in bench/reliability.sh) Linux connections
# to it, checks one echoed byte on each, then SIGKILLs the app itself and
# times until every connection was closed by the stack (reclaim time; target
# 100 ms, reported). Checked: every connection closed (RST or FIN), the
# service's gauges back to 0 (apps, sockets, connections, reclaim pending),
# the replica's file descriptors and channel mappings back to where they
# were, no violation, no restart. Then REL_CYCLES (20 here, 1000 in the
# bench) attach / 50 connections / SIGKILL cycles, after which the gauges,
# fds and mappings are where they started; the replica's resident memory
# before and after is reported (ASan's quarantine makes it grow here; the
# bench measures it on the release build).
. "$(dirname "$0")/lib.sh"
ulimit -c 0
RAW=$AXL_TOOLS/svc_raw
CONNS=$AXL_TOOLS/rel_conns
NC=${REL_APP_CONNS:-3000}
CYCLES=${REL_CYCLES:-20}
PORT=5000
[ -x "$RAW" ] && [ -x "$CONNS" ] || die "missing svc_raw / rel_conns (make build-all)"
netns_up 1
SOCKS=${REL_APP_SOCKS:-4096} # sockets per channel: more than NC (16384 for 10,000 connections)
start_stackd ac --port "afxdp:$IF_S:1" --addr "$ADDR_S/24" --socks "$SOCKS" --ring 4096 --queue 4096
wait_ping "$ADDR_S" 15 || { not_ok "stack up"; show_logs; exit 1; }
wait_replica 0 0 10 >/dev/null || { not_ok "replica up"; show_logs; exit 1; }
rpid=$(replica_field 0 pid)
nfds() { ls "/proc/$rpid/fd" 2>/dev/null | wc -l; }
nmaps() { grep -c 'axl-chan' "/proc/$rpid/maps" 2>/dev/null; }
gauges_zero() {
  [ "$(replica_stat 0 SvcConnsNow)" = 0 ] && [ "$(replica_stat 0 SvcSocketsNow)" = 0 ] &&
    [ "$(replica_stat 0 SvcAppsNow)" = 0 ] && [ "$(replica_stat 0 SvcReclaimPending)" = 0 ] &&
    [ "$(replica_stat 0 TcpCurrEstab)" = 0 ]
}
wait_gauges_zero() { for _ in $(seq 100); do gauges_zero && return 0; sleep 0.05; done; return 1; }
# start_app NAME: svc_raw echo on PORT; sets APP; returns 1 if not ready in 10 s
start_app() {
  "$RAW" --name "$1" --seconds 300 echo $PORT >"$TMPD/app.$1.out" 2>"$TMPD/app.$1.err" &
  APP=$!
  for _ in $(seq 200); do grep -q "^ready" "$TMPD/app.$1.out" && return 0; sleep 0.05; done
  return 1
}
fds0=$(nfds); maps0=$(nmaps); rss0=$(pid_rss_kb "$rpid")

# ---- one app, NC connections, SIGKILL
start_app big || { not_ok "svc_raw ready"; show_logs; exit 1; }
in_c "$CONNS" --conns "$NC" --inflight 512 --echo --connect-timeout 30 --seconds 10 \
  --kill "$APP" hold "$ADDR_S" $PORT >"$TMPD/big.out" 2>&1
wait "$APP" 2>/dev/null
cat "$TMPD/big.out"
h=$(head -n 1 "$TMPD/big.out"); c=$(grep '^closed' "$TMPD/big.out")
check "all $NC connections established and echoed by the app ($(kv established <<<"$h"))" \
  [ "$(kv established <<<"$h")" = "$NC" ]
check "after SIGKILL every connection was closed by the stack (rst $(kv rst <<<"$c"), fin $(kv fin <<<"$c"), open $(kv open <<<"$c"))" \
  [ "$(kv open <<<"$c")" = 0 -a $(( $(kv rst <<<"$c") + $(kv fin <<<"$c") )) -eq "$NC" ]
check "gauges back to 0 (SvcConnsNow, SvcSocketsNow, SvcAppsNow, SvcReclaimPending, TcpCurrEstab)" \
  wait_gauges_zero
check "replica's fds back to $fds0 ($(nfds)) and channel mappings to $maps0 ($(nmaps))" \
  [ "$(nfds)" = "$fds0" -a "$(nmaps)" = "$maps0" ]
figure app_crash_conns "$NC"
figure app_crash_reclaim_ms "$(kv last_ms <<<"$c")"
# the parts: the app's exit (its fds closed: what the stack sees), the first
# close the client saw, and the replica's own reset phase (its log: death
# noticed -> the last RST handed to the port); the rest is the client kernel
# taking in that many RSTs (bench/reclaim_kernel.sh: the same with Linux)
figure app_crash_exit_ms "$(kv exit_ms <<<"$c")"
figure app_crash_first_close_ms "$(kv first_ms <<<"$c")"
figure app_crash_stack_reset_ms "$(sed -n 's/.*(big): [0-9]* connections\{0,1\} reset in \([0-9.]*\) ms.*/\1/p' "$TMPD/ac.err" | tail -n 1)"
figure app_crash_rst "$(kv rst <<<"$c")"
figure app_crash_fin "$(kv fin <<<"$c")"

# ---- crash cycles
bad=0 t0=$(date +%s.%N)
for ((i = 1; i <= CYCLES; i++)); do
  if ! start_app "cyc$i"; then bad=$((bad + 1)); echo "# cycle $i: app not ready"; kill -KILL "$APP"; wait "$APP"; continue; fi
  out=$(in_c "$CONNS" --conns 50 --echo --connect-timeout 10 --seconds 5 --kill "$APP" \
        hold "$ADDR_S" $PORT 2>&1)
  wait "$APP" 2>/dev/null
  if [ "$(kv established <<<"$out")" != 50 ] || [ "$(grep '^closed' <<<"$out" | kv open)" != 0 ]; then
    bad=$((bad + 1)); echo "# cycle $i: $out"; tail -n 3 "$TMPD/app.cyc$i.err"
    ctl_raw listeners; ctl_raw apps
  fi
  [ $((i % 100)) -eq 0 ] && echo "# $i cycles, replica rss $(pid_rss_kb "$rpid") kB"
done
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
check "$CYCLES crash cycles: 50 connections echoed and all closed after each kill ($bad bad)" [ "$bad" -eq 0 ]
check "after the cycles: gauges back to 0" wait_gauges_zero
check "after the cycles: replica fds back to $fds0 ($(nfds)), channel mappings to $maps0 ($(nmaps))" \
  [ "$(nfds)" = "$fds0" -a "$(nmaps)" = "$maps0" ]
gone=$(replica_stat 0 SvcAppsGone)
check "every app counted as gone ($gone = $((CYCLES + 1)))" [ "$gone" = $((CYCLES + 1)) ]
check "no violations, no failed attach" \
  [ "$(replica_stat 0 SvcViolations)" = 0 -a "$(replica_stat 0 SvcAppsFailed)" = 0 ]
check "the replica never restarted (pid $rpid, restarts $(replica_field 0 restarts))" \
  [ "$(replica_field 0 pid)" = "$rpid" -a "$(replica_field 0 restarts)" = 0 ]
rss1=$(pid_rss_kb "$rpid")
echo "replica resident memory: $rss0 kB before, $rss1 kB after $((CYCLES + 1)) app crashes ($secs s of cycles)"
figure app_crash_cycles "$CYCLES"
figure app_crash_rss_before_kb "$rss0"
figure app_crash_rss_after_kb "$rss1"
figure app_crash_fds_delta "$(( $(nfds) - fds0 ))"
check "clean exit on SIGTERM" stop_stackd
check "no sanitizer reports" no_sanitizer_errors ac
[ $NFAIL -eq 0 ] || show_logs
exit $NFAIL
