#!/usr/bin/python3
"""Malformed-frame suite: crafted frames from the Linux side of a veth pair
(scapy, in the client namespace) at a running axl-stackd. Each case sends its
frame(s) N times and checks that exactly the named drop counter moved by the
expected amount and that nothing else broke; at the end the stack must still
answer pings and valid crafted packets.

usage: malformed.py IFACE STACK_IP STACK_PID STATS_FILE
Prints one "ok ..." / "not ok ..." line per case (counted by tests/run).
"""
import os
import signal
import sys
import time

from scapy.all import (ARP, ICMP, IP, UDP, AsyncSniffer, Ether, Raw, conf,
                       get_if_hwaddr, getmacbyip, sendp, srp1)

conf.verb = 0
iface, stack_ip, pid, stats_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
my_ip = "198.18.0.1"
my_mac = get_if_hwaddr(iface)
failures = 0


def stats():
    """Ask the stack for its counters (SIGUSR1) and parse 'q0 Name value'."""
    try:
        os.unlink(stats_path)
    except FileNotFoundError:
        pass
    os.kill(pid, signal.SIGUSR1)
    for _ in range(100):
        if os.path.exists(stats_path) and os.path.getsize(stats_path) > 0:
            break
        time.sleep(0.05)
    out = {}
    with open(stats_path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3:
                out[parts[1]] = int(parts[2])
    return out


def report(ok, name, detail=""):
    global failures
    if ok:
        print(f"ok {name}")
    else:
        failures += 1
        print(f"not ok {name} {detail}")


stack_mac = None
for _ in range(10):
    stack_mac = getmacbyip(stack_ip)
    if stack_mac:
        break
    time.sleep(0.5)
if not stack_mac:
    print("not ok resolve the stack's MAC with ARP")
    sys.exit(1)
print(f"# stack {stack_ip} is at {stack_mac}")

E = Ether(src=my_mac, dst=stack_mac)
E4 = Ether(src=my_mac, dst=stack_mac, type=0x0800)  # for raw IPv4 bytes


def ip_hdr(**kw):
    return IP(src=my_ip, dst=stack_ip, **kw)


def raw_ip(hdr_bytes, payload=b""):
    return E4 / Raw(load=hdr_bytes + payload)


def fix_csum(b):
    """Recompute the IPv4 header checksum of a raw header (bytes)."""
    b = bytearray(b)
    b[10:12] = b"\0\0"
    s = 0
    for i in range(0, len(b), 2):
        s += (b[i] << 8) + (b[i + 1] if i + 1 < len(b) else 0)
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    c = ~s & 0xFFFF
    b[10:12] = bytes([c >> 8, c & 0xFF])
    return bytes(b)


good_ip = bytes(ip_hdr(proto=17) / UDP(sport=5000, dport=7) / Raw(b"x" * 8))

# name, RFC/section, list of frames, counter, expected delta per send
N = 3
cases = [
    ("unknown ethertype 0x88b5 is dropped", "IEEE 802.3 / RFC 894",
     [Ether(src=my_mac, dst=stack_mac, type=0x88B5) / Raw(b"\0" * 46)], "DropEthUnknownType", 1),
    ("frame to another unicast MAC is dropped", "RFC 894",
     [Ether(src=my_mac, dst="02:11:22:33:44:55") / ip_hdr() / ICMP()], "DropEthNotForUs", 1),
    ("IPv4 header cut short (10 bytes)", "RFC 791 §3.1",
     [E4 / Raw(load=good_ip[:10])], "DropIpTrunc", 1),
    ("IP version 6 in an IPv4 frame", "RFC 791 §3.1",
     [raw_ip(fix_csum(bytes([0x65]) + good_ip[1:20]), good_ip[20:])], "DropIpBadVersion", 1),
    ("IHL 4 (< 5)", "RFC 791 §3.1",
     [raw_ip(fix_csum(bytes([0x44]) + good_ip[1:20]), good_ip[20:])], "DropIpBadIhl", 1),
    ("total length beyond the frame", "RFC 791 §3.1 / RFC 1122 §3.2.1",
     [raw_ip(fix_csum(good_ip[:2] + (1400).to_bytes(2, "big") + good_ip[4:20]), good_ip[20:])],
     "DropIpTrunc", 1),
    ("total length shorter than the header", "RFC 791 §3.1",
     [raw_ip(fix_csum(good_ip[:2] + (16).to_bytes(2, "big") + good_ip[4:20]), good_ip[20:])],
     "DropIpBadLen", 1),
    ("bad IPv4 header checksum", "RFC 791 §3.1 / RFC 1122 §3.2.1.2",
     [raw_ip(good_ip[:10] + b"\xde\xad" + good_ip[12:20], good_ip[20:])], "DropIpBadCsum", 1),
    ("datagram for another address", "RFC 1122 §3.2.1.3",
     [E / IP(src=my_ip, dst="198.18.0.99") / UDP(dport=7) / Raw(b"x")], "DropIpNotForUs", 1),
    ("fragment beyond 65535 bytes", "RFC 791 §3.2 (fragment offset)",
     [E / ip_hdr(proto=17, id=4242, frag=8189, flags=0) / Raw(b"A" * 200)], "DropIpFragBadOffset", 1),
    ("overlapping fragments drop the datagram", "RFC 5722 policy applied to IPv4",
     [fr for i in range(N) for fr in
      (E / ip_hdr(proto=17, id=4343 + i, frag=0, flags="MF") / Raw(b"B" * 64),
       E / ip_hdr(proto=17, id=4343 + i, frag=4, flags="MF") / Raw(b"C" * 64))],
     "DropIpFragOverlap", "once2"),  # both frames of each datagram are dropped
    ("ARP with hardware length 8", "RFC 826",
     [Ether(src=my_mac, dst="ff:ff:ff:ff:ff:ff") /
      ARP(op=1, hwlen=8, hwsrc=my_mac + ":00:00", psrc=my_ip, pdst=stack_ip, hwdst="00:00:00:00:00:00:00:00")],
     "DropArpMalformed", 1),
    ("ARP with protocol length 6", "RFC 826",
     [Ether(src=my_mac, dst="ff:ff:ff:ff:ff:ff", type=0x0806) /
      Raw(load=bytes.fromhex("0001080006060001") + bytes.fromhex(my_mac.replace(":", "")) +
          b"\xc6\x12\x00\x01\x00\x00" + b"\0" * 6 + b"\xc6\x12\x00\x02\x00\x00")],
     "DropArpMalformed", 1),
    ("UDP with a bad checksum", "RFC 768 / RFC 1122 §4.1.3.4",
     [E / ip_hdr() / UDP(sport=5001, dport=7, chksum=0x1234) / Raw(b"bad-csum")], "UdpInCsumErrors", 1),
    ("UDP length beyond the IP payload", "RFC 768",
     [E / ip_hdr() / UDP(sport=5002, dport=7, len=200) / Raw(b"short")], "UdpInErrors", 1),
    ("ICMP with a bad checksum", "RFC 792",
     [E / ip_hdr() / ICMP(type=8, chksum=0x4242) / Raw(b"bad-icmp")], "IcmpInErrors", 1),
]

for name, rfc, frames, counter, per in cases:
    before = stats()
    if counter not in before:
        report(False, f"{name} [{rfc}]", f"(no counter named {counter})")
        continue
    reps, want = (1, 2 * N) if per == "once2" else (N, N * per)
    for _ in range(reps):
        for fr in frames:
            sendp(fr, iface=iface)
    time.sleep(0.2)
    after = stats()
    delta = after[counter] - before[counter]
    report(delta == want, f"{name} [{rfc}] -> {counter} +{delta}", f"(want +{want})")

# Positive cases: the stack survived and still does the right thing.
r = srp1(E / ip_hdr(options=b"\x01\x01\x01\x00") / ICMP(type=8, id=7, seq=1) / Raw(b"opts"),
         iface=iface, timeout=2)
report(r is not None and r.haslayer(ICMP) and r[ICMP].type == 0 and bytes(r[Raw].load) == b"opts",
       "echo request with IP options (NOP, EOL) is answered, options skipped [RFC 1122 §3.2.1.8]")
icmp_full = bytes(ICMP(type=8, id=9, seq=2) / Raw(b"F" * 32 + b"G" * 16))
r = srp1(E / ip_hdr(id=777, frag=0, flags="MF", proto=1) / Raw(icmp_full[:40]),
         iface=iface, timeout=0.5)
report(r is None, "first fragment alone is held, not answered [RFC 791 reassembly]")
sn = AsyncSniffer(iface=iface, lfilter=lambda p: p.haslayer(ICMP) and p[ICMP].type == 0
                  and p[ICMP].id == 9, count=1, timeout=3)
sn.start()
time.sleep(0.3)
sendp(E / ip_hdr(id=777, frag=5, flags=0, proto=1) / Raw(icmp_full[40:]), iface=iface)
sn.join()
r = sn.results[0] if sn.results else None
report(r is not None and r.haslayer(ICMP) and r[ICMP].type == 0 and
       bytes(r[Raw].load) == b"F" * 32 + b"G" * 16,
       "second fragment completes it: the echo reply carries both parts [RFC 791 §3.2]")
r = srp1(E / ip_hdr() / UDP(sport=5003, dport=7, chksum=0) / Raw(b"no-csum"), iface=iface, timeout=2)
report(r is not None and r.haslayer(UDP) and bytes(r[Raw].load) == b"no-csum",
       "UDP with checksum 0 (none) is accepted [RFC 768]")
rc = os.system(f"ping -c 20 -i 0.01 -W 1 -q {stack_ip} >/dev/null")
report(rc == 0, "stack still answers 20 pings after the malformed frames")
sys.exit(1 if failures else 0)
