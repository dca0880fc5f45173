#!/usr/bin/env bash
# svc_director: with --director (a single-queue veth, axl-stackd --replicas
# 2) the director is entry 2 of `axlctl replicas` but no replica for
# applications (src/stackd/ctl.c app_replicas):
#   - "attach" answers replicas=2 with a channel socket for replicas 0 and 1
#     only; "apps" shows 2 channels;
#   - "reattach 2" (the director) is ENOENT at once, not ESRCH forever;
#     "reattach 0" works;
#   - "replicas" still lists 3 entries.
. "$(dirname "$0")/lib.sh"
netns_up 1

start_stackd dir --port "afxdp:$IF_S" --replicas 2 --addr "$ADDR_S/24" --pool 4096
wait_ping "$ADDR_S" 20 || { not_ok "stack up"; show_logs; exit 1; }
for _ in $(seq 50); do [ "$(replica_field 2 state)" = running ] && break; sleep 0.1; done
check "the director runs as entry 2" [ "$(replica_field 2 state)" = running ]
nrep=$(ctl_raw replicas | grep -c '^replica=')
check "replicas lists 3 entries ($nrep)" [ "$nrep" -eq 3 ]

# One session: attach, apps, reattach 2, reattach 0 (fds received and counted).
out=$(ip netns exec "$NS_S" timeout 20 /usr/bin/python3 - "$AXL_STACK" <<'PY'
import array, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1]); s.settimeout(10)
buf = b""
def ask(line):
    global buf
    s.sendall(b"AXL1 " + line.encode() + b"\n")
    nfd = 0
    while b"\n.\n" not in buf:
        fds = array.array("i")
        msg, anc, _, _ = s.recvmsg(65536, socket.CMSG_SPACE(16 * fds.itemsize))
        if not msg: break
        for lvl, typ, data in anc:
            if lvl == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
                nfd += len(fds)
        buf += msg
    rep, _, buf = buf.partition(b"\n.\n")
    return rep.decode().replace("\n", " "), nfd
a, n = ask("attach dirtest")
print("attach", n, a)
a, n = ask("apps")
print("apps", n, a)
a, n = ask("reattach 2")
print("reattach2", n, a)
a, n = ask("reattach 0")
print("reattach0", n, a)
PY
)
echo "$out"
check "attach: replicas=2" grep -q '^attach .* replicas=2 ' <<<"$out"
check "attach: 2 channel sockets, none for the director" \
  bash -c "grep '^attach' <<<\"\$1\" | grep -q '^attach 2 ' && ! grep '^attach' <<<\"\$1\" | grep -q 'replica=2 '" _ "$out"
check "apps: 2 channels" grep -q '^apps .*name=dirtest channels=2 ' <<<"$out"
check "reattach 2 (the director): ENOENT" grep -q '^reattach2 0 err ENOENT' <<<"$out"
check "reattach 0: one socket" grep -q '^reattach0 1 ok replica=0 ' <<<"$out"

check "clean stop" stop_stackd
check "no sanitizer report" no_sanitizer_errors dir
exit $((NFAIL > 0))
