#!/usr/bin/env bash
# axl-dnsd (run-to-completion, AF_XDP on a veth) answering the Linux kernel's
# DNS clients in the client namespace: dig and kdig for A, AAAA, MX with glue,
# CNAME chain, wildcard, referral, NXDOMAIN, NODATA, REFUSED, EDNS (OPT
# echoed, payload size honoured), TC on a big TXT RRset and the retry over
# TCP, the query's letter case echoed, malformed queries (FORMERR / dropped,
# counted) from a raw UDP socket, a bounded dnsperf run with no lost queries,
# zone-file errors with file:line. With AXL_DNSD_MODE=stack (or when
# axl-stackd can attach applications) the same checks run in isolated mode.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
DNSD=$AXL_BIN/axl-dnsd
for t in dig kdig dnsperf; do
  command -v $t >/dev/null || { echo "not ok setup: $t missing (scripts/deps.sh installs it)"; exit 1; }
done

# --- zone-file errors (no network needed) ------------------------------------------
printf '$ORIGIN bad.test.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\nwww A 300.1.2.3\n' >"$TMPD/bad.zone"
out=$("$DNSD" --zone "$TMPD/bad.zone" --check 2>&1); rc=$?
check "bad zone: exit 1 (rc=$rc)" [ $rc -eq 1 ]
check "bad zone: error names file:line ($out)" grep -q "bad.zone:4: bad A address '300.1.2.3'" <<<"$out"
out=$("$DNSD" --zone "$TMPD/missing.zone" --check 2>&1); rc=$?
check "missing zone file: exit 1 with the reason" \
  bash -c "[ $rc -eq 1 ] && grep -q 'No such file' <<<'$out'"
"$DNSD" --zone "$TMPD/bad.zone" --listen 0 >/dev/null 2>&1; rc=$?
check "bad argument (--listen 0): exit 2" [ $rc -eq 2 ]

# --- the zone ------------------------------------------------------------------------
Z=$TMPD/example.zone
{
  cat <<'EOF'
$ORIGIN example.test.
$TTL 3600
@   IN SOA ns1 hostmaster ( 2024010101 ; serial
        7200 3600 1209600 300 )
    IN NS ns1
    IN MX 10 mail
ns1 IN A 198.18.0.2
mail IN A 198.18.0.10
mail IN AAAA 2001:db8::10
www IN A 198.18.0.20
www IN AAAA 2001:db8::20
alias IN CNAME www
alias2 CNAME alias
*.wild 300 IN A 198.18.0.30
sub NS ns.sub
ns.sub A 198.18.0.50
a.b.c A 198.18.0.40
EOF
  for i in $(seq 1 30); do
    printf 'big TXT "%s-%02d"\n' "$(head -c 150 /dev/zero | tr '\0' x)" "$i"
  done
} >"$Z"
check "zone compiles (--check)" "$DNSD" --zone "$Z" --check

netns_up 1

run_suite() { # NAME ARGS...: start axl-dnsd with ARGS, run every check
  local name=$1; shift
  ip netns exec "$NS_S" "$DNSD" --zone "$Z" --listen 53 --stats-out "$TMPD/$name.stats" "$@" \
    >"$TMPD/$name.out" 2>"$TMPD/$name.err" &
  local pid=$!
  PIDS+=("$pid")
  local i up=0
  for ((i = 0; i < 75; i++)); do
    in_c dig +short +time=1 +tries=1 @"$ADDR_S" www.example.test A 2>/dev/null | grep -q 198.18.0.20 &&
      { up=1; break; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if [ $up -eq 0 ]; then not_ok "$name: axl-dnsd answers within 15 s"; show_logs; return 1; fi
  ok "$name: axl-dnsd answers dig"

  D() { in_c dig +time=2 +tries=2 @"$ADDR_S" "$@" 2>&1; }
  K() { in_c kdig +time=2 +retry=1 @"$ADDR_S" "$@" 2>&1; }
  local o
  o=$(D www.example.test A)
  check "$name: A: NOERROR, authoritative" bash -c "grep -q 'status: NOERROR' <<<'$o' && grep -q 'flags: qr aa rd;' <<<'$o'"
  check "$name: A: 198.18.0.20" grep -qE '^www\.example\.test\.\s+3600\s+IN\s+A\s+198\.18\.0\.20' <<<"$o"
  o=$(K www.example.test AAAA)
  check "$name: kdig AAAA: 2001:db8::20" grep -qE 'www\.example\.test\.\s+3600\s+IN\s+AAAA\s+2001:db8::20' <<<"$o"
  check "$name: kdig AAAA: NOERROR" grep -q 'status: NOERROR' <<<"$o"
  o=$(D example.test MX)
  check "$name: MX: 10 mail.example.test." grep -qE 'IN\s+MX\s+10 mail\.example\.test\.' <<<"$o"
  check "$name: MX: glue A and AAAA in additional" \
    bash -c "grep -qE '^mail\.example\.test\.\s+3600\s+IN\s+A\s+198\.18\.0\.10' <<<'$o' && grep -qE '^mail\.example\.test\.\s+3600\s+IN\s+AAAA\s+2001:db8::10' <<<'$o'"
  o=$(K alias2.example.test A)
  check "$name: CNAME chain: alias2 -> alias -> www -> A" \
    bash -c "grep -qE 'alias2\.example\.test\.\s+3600\s+IN\s+CNAME\s+alias\.example\.test\.' <<<'$o' && grep -qE 'alias\.example\.test\.\s+3600\s+IN\s+CNAME\s+www\.example\.test\.' <<<'$o' && grep -qE 'www\.example\.test\.\s+3600\s+IN\s+A\s+198\.18\.0\.20' <<<'$o'"
  o=$(D foo.wild.example.test A)
  check "$name: wildcard: foo.wild -> 198.18.0.30 (owner is the query name)" \
    grep -qE '^foo\.wild\.example\.test\.\s+300\s+IN\s+A\s+198\.18\.0\.30' <<<"$o"
  o=$(D host.sub.example.test A +norec)
  check "$name: referral: not authoritative, NS in authority, glue" \
    bash -c "grep -q 'status: NOERROR' <<<'$o' && ! grep -q 'flags: qr aa' <<<'$o' && grep -qE '^sub\.example\.test\.\s+3600\s+IN\s+NS\s+ns\.sub\.example\.test\.' <<<'$o' && grep -qE '^ns\.sub\.example\.test\.\s+3600\s+IN\s+A\s+198\.18\.0\.50' <<<'$o'"
  o=$(D nope.example.test A)
  check "$name: NXDOMAIN with SOA (TTL = SOA minimum 300)" \
    bash -c "grep -q 'status: NXDOMAIN' <<<'$o' && grep -qE '^example\.test\.\s+300\s+IN\s+SOA\s+ns1\.example\.test\. hostmaster\.example\.test\. 2024010101' <<<'$o'"
  o=$(D www.example.test TXT)
  check "$name: NODATA: NOERROR, no answer, SOA" \
    bash -c "grep -q 'status: NOERROR' <<<'$o' && grep -q 'ANSWER: 0, AUTHORITY: 1' <<<'$o' && grep -qE 'IN\s+SOA' <<<'$o'"
  o=$(D b.c.example.test A)
  check "$name: empty non-terminal b.c: NODATA, not NXDOMAIN" \
    bash -c "grep -q 'status: NOERROR' <<<'$o' && grep -q 'ANSWER: 0' <<<'$o'"
  o=$(D www.example.org A)
  check "$name: outside our zones: REFUSED" grep -q 'status: REFUSED' <<<"$o"
  o=$(D WwW.ExAmPlE.TeSt A)
  check "$name: the query's letter case echoed in the question" grep -q '^;WwW.ExAmPlE.TeSt.' <<<"$o"
  o=$(D www.example.test A +bufsize=4096)
  check "$name: EDNS: OPT echoed with our size (udp: 1232)" grep -q 'EDNS: version: 0, flags:; udp: 1232' <<<"$o"
  o=$(D www.example.test A +noedns)
  check "$name: no EDNS in, no OPT out" bash -c "! grep -q 'OPT PSEUDOSECTION' <<<'$o'"
  o=$(D www.example.test A +edns=1 +noednsnegotiation)
  check "$name: EDNS version 1: BADVERS" grep -q 'status: BADVERS' <<<"$o"
  o=$(D big.example.test TXT +noedns +ignore)
  check "$name: big TXT over UDP without EDNS: TC, nothing after the question" \
    bash -c "grep -q 'flags: qr aa tc rd;' <<<'$o' && grep -q 'ANSWER: 0' <<<'$o'"
  o=$(D big.example.test TXT +bufsize=1232 +ignore)
  check "$name: big TXT with EDNS 1232: still TC (answer ~5 KB)" grep -q 'flags: qr aa tc rd;' <<<"$o"
  o=$(D big.example.test TXT +noedns)
  check "$name: dig retries over TCP and gets all 30 TXT records" \
    bash -c "grep -q 'ANSWER: 30,' <<<'$o' && grep -q '(TCP)' <<<'$o'"
  o=$(K +tcp example.test SOA)
  check "$name: kdig over TCP: SOA" grep -qE 'example\.test\.\s+3600\s+IN\s+SOA' <<<"$o"
  o=$(in_c dig +time=2 +tries=1 +tcp +keepopen @"$ADDR_S" www.example.test A mail.example.test AAAA 2>&1)
  check "$name: two queries on one TCP connection" \
    bash -c "grep -qE 'IN\s+A\s+198\.18\.0\.20' <<<'$o' && grep -qE 'IN\s+AAAA\s+2001:db8::10' <<<'$o'"

  # Malformed queries from a raw UDP socket: what comes back (rcode) or "none".
  o=$(in_c "$PY" - "$ADDR_S" <<'EOF'
import socket, struct, sys
dst = (sys.argv[1], 53)
def ask(pkt):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    s.sendto(pkt, dst)
    try:
        r = s.recv(4096)
        return "rcode=%d id=%d" % (r[3] & 15, struct.unpack(">H", r[:2])[0])
    except socket.timeout:
        return "none"
hdr = lambda qd, ar=0: struct.pack(">HHHHHH", 0x1234, 0x0100, qd, 0, 0, ar)
q = lambda name: hdr(1) + name + struct.pack(">HH", 1, 1)
print("loop", ask(hdr(1) + b"\x03www\xc0\x0c" + struct.pack(">HH", 1, 1)))
print("selfptr", ask(hdr(1) + b"\xc0\x0c" + struct.pack(">HH", 1, 1)))
print("forward", ask(hdr(1) + b"\xc0\x20" + b"\x00" * 20))
print("qd0", ask(hdr(0)))
print("qd2", ask(hdr(2) + (b"\x00" + struct.pack(">HH", 1, 1)) * 2))
print("trunc", ask(hdr(1) + b"\x03www\x07exam"))
print("label", ask(hdr(1) + b"\x43www\x00" + struct.pack(">HH", 1, 1)))
print("short", ask(b"\x12\x34\x01"))
print("response", ask(struct.pack(">HHHHHH", 1, 0x8100, 1, 0, 0, 0) + b"\x00\x00\x01\x00\x01"))
print("ok", ask(q(b"\x03www\x07example\x04test\x00")))
EOF
)
  echo "$o" | sed 's/^/# /'
  check "$name: pointer loop: FORMERR" grep -q '^loop rcode=1 id=4660' <<<"$o"
  check "$name: pointer to itself: FORMERR" grep -q '^selfptr rcode=1' <<<"$o"
  check "$name: forward pointer: FORMERR" grep -q '^forward rcode=1' <<<"$o"
  check "$name: QDCOUNT 0 and 2: FORMERR" bash -c "grep -q '^qd0 rcode=1' <<<'$o' && grep -q '^qd2 rcode=1' <<<'$o'"
  check "$name: truncated name: FORMERR" grep -q '^trunc rcode=1' <<<"$o"
  check "$name: label type 0x40: FORMERR" grep -q '^label rcode=1' <<<"$o"
  check "$name: 3-byte datagram and a response: dropped" \
    bash -c "grep -q '^short none' <<<'$o' && grep -q '^response none' <<<'$o'"
  check "$name: a sound query after all that: NOERROR" grep -q '^ok rcode=0' <<<"$o"

  # dnsperf: bounded in time (5 s) and rate (1000 q/s), no query may be lost.
  : >"$TMPD/queries"
  for i in $(seq 50); do
    printf 'www.example.test A\nmail.example.test AAAA\nexample.test MX\nalias2.example.test A\nn%d.example.test A\n' "$i"
  done >>"$TMPD/queries"
  o=$(in_c timeout 30 dnsperf -s "$ADDR_S" -p 53 -d "$TMPD/queries" -l 5 -Q 1000 -t 2 2>&1)
  echo "$o" | grep -E 'Queries (sent|completed|lost)|Response codes|Queries per second' | sed 's/^/# /'
  local sent lost
  sent=$(awk '/Queries sent:/ {print $3}' <<<"$o")
  lost=$(awk '/Queries lost:/ {print $3}' <<<"$o")
  check "$name: dnsperf 5 s at 1000 q/s: ${sent:-?} sent, ${lost:-?} lost" \
    bash -c "[ '${sent:-0}' -ge 2000 ] && [ '${lost:-1}' = 0 ]"

  # Counters (SIGUSR1).
  rm -f "$TMPD/$name.stats"
  kill -USR1 "$pid"
  for ((i = 0; i < 50; i++)); do [ -s "$TMPD/$name.stats" ] && break; sleep 0.1; done
  cat "$TMPD/$name.stats" | grep -vE ' 0$' | sed 's/^/# /'
  cnt() { awk -v c="$1" '$2 == c { print $3; f = 1 } END { if (!f) print -1 }' "$TMPD/$name.stats"; }
  check "$name: counters: FORMERR by reason (pointer $(cnt DnsFormErrPointer), qdcount $(cnt DnsFormErrQdcount))" \
    bash -c "[ $(cnt DnsFormErrPointer) -ge 3 ] && [ $(cnt DnsFormErrQdcount) -ge 2 ] && [ $(cnt DnsRcodeFormErr) -ge 7 ]"
  check "$name: counters: drops by reason (short $(cnt DnsDropShort), response $(cnt DnsDropResponse))" \
    bash -c "[ $(cnt DnsDropShort) -ge 1 ] && [ $(cnt DnsDropResponse) -ge 1 ]"
  check "$name: counters: NXDOMAIN $(cnt DnsRcodeNxDomain), REFUSED $(cnt DnsRcodeRefused), TC $(cnt DnsTruncated)" \
    bash -c "[ $(cnt DnsRcodeNxDomain) -ge 50 ] && [ $(cnt DnsRcodeRefused) -ge 1 ] && [ $(cnt DnsTruncated) -ge 2 ]"

  kill -TERM "$pid"
  local rc=0
  wait "$pid" || rc=$?
  check "$name: clean exit on SIGTERM (rc=$rc)" [ $rc -eq 0 ]
  check "$name: no sanitizer reports" no_sanitizer_errors "$name"
}

run_suite rtc --port "afxdp:$IF_S" --addr "$ADDR_S/24"

# Isolated mode: the same against axl-dnsd --stack attached to axl-stackd
# (AXL_DNSD_MODE=rtc skips it).
if [ "${AXL_DNSD_MODE:-auto}" != rtc ]; then
  start_stackd stackd --port "afxdp:$IF_S" --addr "$ADDR_S/24"
  sleep 1
  if "$DNSD" --zone "$Z" --listen 5353 --stack "$AXL_STACK" --no-tcp >"$TMPD/probe.out" 2>&1 &
     ppid=$!; sleep 1; kill -0 "$ppid" 2>/dev/null; then
    kill -TERM "$ppid"; wait "$ppid"
    stop_stackd
    start_stackd stackd2 --port "afxdp:$IF_S" --addr "$ADDR_S/24"
    wait_ping "$ADDR_S" 15 || not_ok "isolated: axl-stackd up"
    run_suite iso --stack "$AXL_STACK"
    check "isolated: axl-stackd clean exit" stop_stackd
  else
    wait "$ppid" 2>/dev/null
    not_ok "isolated: axl-dnsd --stack attaches ($(tail -n 1 "$TMPD/probe.out"))"
    stop_stackd
  fi
fi

[ $NFAIL -eq 0 ] || show_logs
exit $((NFAIL > 0))
