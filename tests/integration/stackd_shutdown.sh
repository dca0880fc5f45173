#!/usr/bin/env bash
# The supervisor's life cycle: the control socket (mode 0600, its directory
# created, one live owner only), SIGTERM leaving no process, XDP program or
# socket behind, and a supervisor killed outright: its replicas follow it
# (PR_SET_PDEATHSIG) and the next axl-stackd replaces the stale socket and
# adopts the device.
. "$(dirname "$0")/lib.sh"
netns_up 2
CTL=$TMPD/run/axl/stackd.sock # a directory that does not exist yet
export AXL_STACK=$CTL
gone() { ! kill -0 "$1" 2>/dev/null; }
all_gone() { local p; for p in "$@"; do gone "$p" || return 1; done; }
wait_gone() { # PID... : up to 5 s
  for _ in $(seq 50); do all_gone "$@" && return 0; sleep 0.1; done
  return 1
}
no_xdp() { ! ip netns exec "$NS_S" ip link show "$IF_S" | grep -q 'prog/xdp'; }

start_stackd sd --port "afxdp:$IF_S:2" --addr "$ADDR_S/24" --udp-echo 7
wait_ping "$ADDR_S" 15 || { not_ok "stack up"; show_logs; exit 1; }
wait_replica 1 0 10 >/dev/null
check "the control socket's directory was created" test -d "$TMPD/run/axl"
check "the control socket is a socket with mode 0600 ($(stat -c %a "$CTL"))" \
  test -S "$CTL" -a "$(stat -c %a "$CTL")" = 600
check "axlctl reaches it through \$AXL_STACK" axlctl health

# A second stack on the same control socket is refused before it touches anything.
"$AXL_BIN/axl-stackd" --port "shm:$TMPD/wire" --addr 198.18.1.1/24 --duration 3 \
  >"$TMPD/second.out" 2>"$TMPD/second.err"
rc=$?
cat "$TMPD/second.err"
check "a second axl-stackd on a live socket exits 1" [ "$rc" -eq 1 ]
check "... saying another live axl-stackd (pid $STACKD_PID) serves it" \
  grep -q "another live axl-stackd (pid $STACKD_PID) serves it" "$TMPD/second.err"
check "the first one still answers" axlctl health

# SIGTERM: nothing left behind.
r0=$(replica_field 0 pid); r1=$(replica_field 1 pid)
check "SIGTERM: exit status 0" stop_stackd
check "SIGTERM: the replicas ($r0, $r1) are gone" all_gone "$r0" "$r1"
check "SIGTERM: no process of it left" bash -c "! pgrep -f '[a]xl-stackd.*$IF_S' >/dev/null"
check "SIGTERM: XDP program detached" no_xdp
check "SIGTERM: control socket removed" test ! -e "$CTL"
check "SIGTERM: lock file removed" test ! -e "$CTL.lock"
check "SIGTERM: no sanitizer reports" no_sanitizer_errors sd

# SIGKILL to the supervisor: its replicas leave on their own.
start_stackd sk --port "afxdp:$IF_S:2" --addr "$ADDR_S/24" --udp-echo 7
wait_ping "$ADDR_S" 15 || { not_ok "stack up again"; show_logs; exit 1; }
wait_replica 1 0 10 >/dev/null
r0=$(replica_field 0 pid); r1=$(replica_field 1 pid)
kill -KILL "$STACKD_PID"
wait "$STACKD_PID" 2>/dev/null
check "supervisor SIGKILLed: its replicas ($r0, $r1) exit within 5 s" wait_gone "$r0" "$r1"
check "supervisor SIGKILLed: its socket is left behind (stale)" test -S "$CTL"
check "axlctl on the stale socket: exit 1, 'cannot connect'" \
  bash -c '"$0" replicas 2>&1 | grep -q "cannot connect to $1: Connection refused"; r=("${PIPESTATUS[@]}"); [ "${r[0]}" -eq 1 ] && [ "${r[1]}" -eq 0 ]' \
  "$AXL_BIN/axlctl" "$CTL"

# The next stack replaces the stale socket and adopts the dead owner's XDP program.
start_stackd nx --port "afxdp:$IF_S:2" --addr "$ADDR_S/24" --udp-echo 7
wait_ping "$ADDR_S" 15 || { not_ok "a new stack starts after a killed one"; show_logs; exit 1; }
ok "a new stack starts after a killed one"
check "it replaced the stale control socket" grep -q 'replacing stale control socket' "$TMPD/nx.err"
check "axlctl talks to the new stack" axlctl health
check "new stack: clean exit" stop_stackd
check "new stack: XDP program detached, socket removed" bash -c "! ip netns exec $NS_S ip link show $IF_S | grep -q prog/xdp && test ! -e $CTL"
check "new stack: no sanitizer reports" no_sanitizer_errors nx
exit $NFAIL
