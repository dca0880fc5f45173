#!/usr/bin/env bash
# Runs tests/conformance/malformed.py (scapy) from the client namespace against
# axl-stackd on AF_XDP; the stack must survive and count each drop by reason.
. "$(dirname "$0")/../integration/lib.sh"
netns_up 1
start_stackd mal --port "afxdp:$IF_S" --addr "$ADDR_S/24" --udp-echo 7
wait_ping "$ADDR_S" 15 || { not_ok "stack up"; show_logs; exit 1; }
in_c /usr/bin/python3 "$(dirname "$0")/malformed.py" "$IF_C" "$ADDR_S" "$STACKD_PID" "$TMPD/mal.stats"
rc=$?
check "stack alive after the suite" kill -0 "$STACKD_PID"
check "clean exit" stop_stackd
check "no sanitizer reports" no_sanitizer_errors mal
[ $rc -eq 0 ] || show_logs
exit $(( NFAIL + rc ))
