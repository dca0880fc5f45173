#!/usr/bin/env bash
# afxdp:IF:2 — one AF_XDP socket and one UMEM per queue, one engine process
# per queue. veth puts a flow on the receive queue equal to the sender's
# transmit queue, which Linux picks per socket: 24 UDP flows from 24 sockets
# spread over both queues, and every one must be answered by the engine that
# owns its queue.
. "$(dirname "$0")/lib.sh"
netns_up 2
start_stackd mq --port "afxdp:$IF_S:2" --addr "$ADDR_S/24" --udp-echo 7
wait_ping "$ADDR_S" 15 || { not_ok "stack up"; show_logs; exit 1; }
ok "two-queue stack answers ping"
good=0
for i in $(seq 24); do
  r=$(printf 'flow-%s\n' "$i" | in_c timeout 5 socat -t 1 - "UDP:$ADDR_S:7" 2>/dev/null)
  [ "$r" = "flow-$i" ] && good=$((good + 1))
done
check "all 24 UDP flows echoed ($good/24)" [ "$good" -eq 24 ]
# SIGUSR1: each replica writes its counters when it next looks at its
# flags; on a loaded machine that can take longer than a second, so the
# files are read again (SIGUSR1 again) until both queues' counts are in, for
# at most 10 s.
rm -f "$TMPD/mq.stats" "$TMPD/mq.stats.q1"
for _ in $(seq 20); do
  kill -USR1 "$STACKD_PID"; sleep 0.5
  q0=$(awk '$2 == "UdpInDatagrams" { print $3 }' "$TMPD/mq.stats" 2>/dev/null)
  q1=$(awk '$2 == "UdpInDatagrams" { print $3 }' "$TMPD/mq.stats.q1" 2>/dev/null)
  [ -n "$q0" ] && [ -n "$q1" ] && [ $((q0 + q1)) -ge 24 ] && break
done
echo "UdpInDatagrams: queue 0: ${q0:-?}, queue 1: ${q1:-?}"
check "queue 0 engine served flows" [ "${q0:-0}" -gt 0 ]
check "queue 1 engine served flows" [ "${q1:-0}" -gt 0 ]
check "queues add up to the flows sent" [ $(( ${q0:-0} + ${q1:-0} )) -eq 24 ]
check "clean exit" stop_stackd
check "no sanitizer reports" no_sanitizer_errors mq
exit $NFAIL
