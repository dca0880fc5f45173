#!/usr/bin/env bash
# bench/reclaim_kernel.sh [CONNS] - the baseline for the application-crash
# reclaim time (docs/RELIABILITY.md, campaign 2): the same measurement with
# Linux as the server. A python echo server on the kernel stack in the server
# namespace holds CONNS (default 10000) connections from rel_conns (client
# namespace), each checked with one echoed byte; rel_conns SIGKILLs it and
# times until every connection was closed (Linux sends a FIN for each, or a
# RST where data was unread). What this takes on the machine is the floor
# the stack's figure is to be read against: the client kernel processing
# that many closes and rel_conns seeing them. Prints rel_conns's lines.
# Needs root and a build (AXL_TOOLS, default ./build/tests/tools).
set -u
case "${1:-}" in -h|--help) sed -n '2,/^set -u$/{/^set -u$/d;p}' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export AXL_TOOLS=${AXL_TOOLS:-$ROOT/build/tests/tools}
. "$ROOT/tests/integration/lib.sh"
N=${1:-10000}
[[ "$N" =~ ^[0-9]+$ ]] && [ "$N" -ge 1 ] && [ "$N" -le 20000 ] ||
  { echo "bench/reclaim_kernel.sh: CONNS must be 1..20000, not '$N' (--help)" >&2; exit 2; }
[ -x "$AXL_TOOLS/rel_conns" ] || die "missing $AXL_TOOLS/rel_conns (make build-all)"
netns_up 1
in_s ip addr add "$ADDR_S/24" dev "$IF_S"
ip netns exec "$NS_S" /usr/bin/python3 -c '
import selectors, socket, sys, resource
resource.setrlimit(resource.RLIMIT_NOFILE, (30000, 30000)) if resource.getrlimit(resource.RLIMIT_NOFILE)[1] >= 30000 else None
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", 5000)); l.listen(4096); l.setblocking(False)
sel = selectors.DefaultSelector(); sel.register(l, selectors.EVENT_READ)
print("ready", flush=True); keep = []
while True:
    for k, _ in sel.select(1):
        if k.fileobj is l:
            try:
                while True:
                    c, _ = l.accept(); c.setblocking(False); keep.append(c)
                    sel.register(c, selectors.EVENT_READ)
            except BlockingIOError:
                pass
        else:
            try:
                d = k.fileobj.recv(4096)
                if d: k.fileobj.send(d)
                else: sel.unregister(k.fileobj)
            except OSError:
                sel.unregister(k.fileobj)
' >"$TMPD/srv.out" 2>"$TMPD/srv.err" &
SRV=$!
disown "$SRV" # killed on purpose below: no "Killed" report from bash
PIDS+=("$SRV")
for _ in $(seq 100); do grep -q ready "$TMPD/srv.out" && break; sleep 0.05; done
# $SRV is the python process itself (ip netns exec execs it, no subshell)
in_c "$AXL_TOOLS/rel_conns" --conns "$N" --inflight 512 --echo --connect-timeout 30 --seconds 10 \
  --kill "$SRV" hold "$ADDR_S" 5000
