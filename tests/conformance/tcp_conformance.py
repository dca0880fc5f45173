#!/usr/bin/python3
"""TCP conformance suite: crafted segments (scapy, from the client namespace)
at the stack, one case per behaviour, each naming the RFC section it checks.

  tcp_conformance.py server IFACE STACK_IP STACK_PID STATS_FILE
      the stack runs `axl-nc -l 7 --echo` (RFC 862); cases for CLOSED, LISTEN,
      SYN-RECEIVED, ESTABLISHED, CLOSE-WAIT, LAST-ACK
  tcp_conformance.py client IFACE STACK_IP NETNS -- AXL_NC_CMD...
      the suite plays the server; each case starts the stack as a client
      (axl-nc HOST PORT): SYN-SENT, simultaneous open, FIN-WAIT-1/2,
      CLOSING, TIME-WAIT

The suite talks from an address the client namespace's kernel does not own
(198.18.0.50): it answers ARP for it itself and sniffs the stack's answers at
layer 2, so the kernel never answers (or resets) anything in its place.
Prints one "ok ..." / "not ok ..." line per case (counted by tests/run).
"""
import os
import queue
import random
import signal
import subprocess
import sys
import time

from scapy.all import (ARP, ICMP, IP, TCP, AsyncSniffer, Ether, Raw, conf, get_if_hwaddr,
                       getmacbyip, sendp)

conf.verb = 0
MODE = sys.argv[1]
IFACE, STACK = sys.argv[2], sys.argv[3]
ME = "198.18.0.50"
MY_MAC = get_if_hwaddr(IFACE)
failures = 0
rq = queue.Queue()


def report(ok, name, detail=""):
    global failures
    if ok:
        print(f"ok {name}", flush=True)
    else:
        failures += 1
        print(f"not ok {name} {detail}", flush=True)


stack_mac = None


def on_frame(p):
    global stack_mac
    if ARP in p and p[ARP].op == 1 and p[ARP].pdst == ME:
        if p[ARP].psrc == STACK:
            stack_mac = p[ARP].hwsrc
        sendp(Ether(src=MY_MAC, dst=p[ARP].hwsrc) /
              ARP(op=2, hwsrc=MY_MAC, psrc=ME, hwdst=p[ARP].hwsrc, pdst=p[ARP].psrc),
              iface=IFACE)
        return
    if IP in p and TCP in p and p[IP].src == STACK and p[IP].dst == ME:
        stack_mac = p[Ether].src
        p[TCP].mono = time.monotonic()
        rq.put((p[TCP].mono, p))


sniffer = AsyncSniffer(iface=IFACE, prn=on_frame, store=False, filter="arp or tcp")
sniffer.start()
time.sleep(1.0)

if MODE == "server":
    for _ in range(20):
        stack_mac = getmacbyip(STACK)
        if stack_mac:
            break
        time.sleep(0.3)
    if not stack_mac:
        print("not ok resolve the stack's MAC with ARP")
        sys.exit(1)


def send(seg):
    sendp(Ether(src=MY_MAC, dst=stack_mac) / IP(src=ME, dst=STACK) / seg, iface=IFACE)


def flush():
    while not rq.empty():
        rq.get_nowait()


def recv(match=None, timeout=1.0):
    """Next TCP segment from the stack (optionally matching), or None."""
    end = time.monotonic() + timeout
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return None
        try:
            t, p = rq.get(timeout=left)
        except queue.Empty:
            return None
        if match is None or match(p[TCP]):
            return p[TCP]


def opts_of(t):
    return {k: v for k, v in t.options if isinstance(k, str)}


def flags(t):
    return str(t.flags)


def payload(t):
    return t[Raw].load if Raw in t else b""  # (Ethernet padding is not payload)


class Conn:
    """One connection driven by hand from the suite's side. seq/ack are kept
    modulo 2^32 (our ISN is below 2^31, the stack's may be anywhere)."""

    @property
    def seq(self):
        return self._seq

    @seq.setter
    def seq(self, v):
        self._seq = v % 2**32

    @property
    def ack(self):
        return self._ack

    @ack.setter
    def ack(self, v):
        self._ack = v % 2**32

    def __init__(self, dport=7, sport=None, ts=True, sack=True, ws=7, mss=1460):
        self.dport = dport
        self.sport = sport or random.randint(20000, 60000)
        self.isn = random.randint(0, 2**31 - 1)
        self.seq = self.isn
        self.ack = 0
        self.use_ts, self.sack, self.ws, self.mss = ts, sack, ws, mss
        self.tsval = random.randint(1000, 100000)
        self.tsecr = 0
        self.win = 65535

    def mine(self, t):
        return t.sport == self.dport and t.dport == self.sport

    def opts(self, extra=()):
        o = list(extra)
        if self.use_ts:
            self.tsval += 1
            o.append(("Timestamp", (self.tsval, self.tsecr)))
        return o

    def seg(self, fl="A", data=b"", seq=None, ack=None, win=None, opts=None, ts=True):
        o = self.opts() if (ts and opts is None) else (opts or [])
        t = TCP(sport=self.sport, dport=self.dport, flags=fl,
                seq=self.seq if seq is None else seq,
                ack=(self.ack if ack is None else ack) if "A" in fl else 0,
                window=self.win if win is None else win, options=o)
        return t / Raw(data) if data else t

    def tx(self, fl="A", data=b"", **kw):
        send(self.seg(fl, data, **kw))
        if kw.get("seq") is None:
            self.seq = (self.seq + len(data) + (1 if "S" in fl else 0) +
                        (1 if "F" in fl else 0)) % 2**32

    def rx(self, timeout=1.0, match=None):
        t = recv(lambda t: self.mine(t) and (match is None or match(t)), timeout)
        if t is not None:
            o = opts_of(t)
            if "Timestamp" in o:
                self.tsecr = o["Timestamp"][0]
        return t

    def syn_opts(self):
        o = [("MSS", self.mss)]
        if self.sack:
            o.append(("SAckOK", b""))
        if self.use_ts:
            o.append(("Timestamp", (self.tsval, 0)))
        if self.ws is not None:
            o.append(("WScale", self.ws))
        return o

    def open(self):
        """Three-way handshake; returns the SYN-ACK (or None)."""
        flush()
        send(self.seg("S", opts=self.syn_opts(), ts=False))
        self.seq += 1
        sa = self.rx(match=lambda t: "S" in flags(t))
        if sa is None:
            return None
        self.ack = sa.seq + 1
        self.tx("A")
        return sa

    def echo(self, data, timeout=2.0):
        """Send data, collect the echo (ACKing it); returns the bytes."""
        self.tx("PA", data)
        got = b""
        end = time.monotonic() + timeout
        while len(got) < len(data) and time.monotonic() < end:
            t = self.rx(timeout=end - time.monotonic())
            if t is None:
                break
            d = payload(t)
            if d and t.seq == self.ack:
                got += d
                self.ack += len(d)
                self.tx("A")
        return got

    def close(self):
        """Orderly close from our side (FIN), absorbing the echo server's FIN."""
        self.tx("FA")
        end = time.monotonic() + 2
        while time.monotonic() < end:
            t = self.rx(timeout=0.5)
            if t is None:
                continue
            if "F" in flags(t):
                self.ack = t.seq + len(payload(t)) + 1
                self.tx("A")
                return True
        return False

    def reset(self):
        send(self.seg("R", ts=False))


def case(name, fn):
    try:
        r = fn()
        if isinstance(r, tuple):
            report(r[0], name, r[1])
        else:
            report(bool(r), name)
    except Exception as e:  # a broken case must not stop the suite
        report(False, name, f"(exception {type(e).__name__}: {e})")
    flush()
    time.sleep(0.05)


# ====================================================================================
# Stack as server (echo on port 7)
# ====================================================================================

def server_suite(pid, stats_path):
    def stats():
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
                p = line.split()
                if len(p) == 3:
                    out[p[1]] = int(p[2])
        return out

    CLOSED = 4444

    def closed_syn():
        c = Conn(dport=CLOSED)
        c.tx("S")
        t = c.rx()
        return (t is not None and flags(t) == "RA" and t.seq == 0 and t.ack == c.isn + 1,
                f"got {t and (flags(t), t.seq, t.ack)}")
    case("RFC 9293 §3.10.7.1: SYN to a closed port -> <SEQ=0><ACK=SEG.SEQ+SEG.LEN><RST,ACK>",
         closed_syn)

    def closed_ack():
        c = Conn(dport=CLOSED)
        send(c.seg("A", ack=0x12345678, ts=False))
        t = c.rx()
        return t is not None and flags(t) == "R" and t.seq == 0x12345678
    case("RFC 9293 §3.10.7.1: ACK to a closed port -> <SEQ=SEG.ACK><RST>", closed_ack)

    def closed_rst():
        c = Conn(dport=CLOSED)
        send(c.seg("R", ts=False))
        return c.rx(timeout=0.5) is None
    case("RFC 9293 §3.10.7.1: a RST to a closed port is not answered", closed_rst)

    def closed_syn_data():
        c = Conn(dport=CLOSED)
        send(c.seg("S", b"hello!", ts=False))
        t = c.rx()
        return t is not None and t.ack == c.isn + 1 + 6
    case("RFC 9293 §3.10.7.1: SEG.LEN counts SYN and data in the RST's ACK", closed_syn_data)

    def closed_fin():
        c = Conn(dport=CLOSED)
        send(c.seg("F", ts=False))
        t = c.rx()
        return t is not None and flags(t) == "RA" and t.ack == c.isn + 1
    case("RFC 9293 §3.10.7.1: a FIN to a closed port counts in SEG.LEN", closed_fin)

    # --- LISTEN and the SYN-ACK -----------------------------------------------------
    def synack_all():
        c = Conn()
        send(c.seg("S", opts=c.syn_opts(), ts=False))
        t = c.rx()
        if t is None:
            return False, "no SYN-ACK"
        o = opts_of(t)
        c.ack, c.seq = t.seq + 1, c.seq + 1
        c.reset()
        return (flags(t) == "SA" and o.get("MSS") == 1460 and "WScale" in o and "SAckOK" in o
                and o.get("Timestamp", (0, 0))[1] == c.tsval and t.window <= 65535,
                f"flags {flags(t)} opts {o} win {t.window}")
    case("RFC 9293 §3.7.1 / RFC 7323 §2.2, §3.2 / RFC 2018 §2: SYN-ACK answers MSS, WS, "
         "SACK-permitted, TS (TSecr = SYN's TSval), unscaled window", synack_all)

    def synack_bare():
        c = Conn(ts=False, sack=False, ws=None)
        send(c.seg("S", opts=[("MSS", 1000)], ts=False))
        t = c.rx()
        if t is None:
            return False, "no SYN-ACK"
        o = opts_of(t)
        c.seq += 1
        c.reset()
        return ("WScale" not in o and "SAckOK" not in o and "Timestamp" not in o
                and "MSS" in o), f"opts {o}"
    case("RFC 7323 §1.3, RFC 2018 §2: only options the SYN offered come back", synack_bare)

    def listen_ack():
        c = Conn()
        send(c.seg("A", ack=777, ts=False))
        t = c.rx()
        return t is not None and flags(t) == "R" and t.seq == 777
    case("RFC 9293 §3.10.7.2: an ACK to a listener -> <SEQ=SEG.ACK><RST>", listen_ack)

    def listen_rst():
        c = Conn()
        send(c.seg("R", ts=False))
        return c.rx(timeout=0.5) is None
    case("RFC 9293 §3.10.7.2: a RST to a listener is ignored", listen_rst)

    def listen_fin():
        c = Conn()
        send(c.seg("F", ts=False))
        return c.rx(timeout=0.5) is None
    case("RFC 9293 §3.10.7.2: a segment without SYN, ACK or RST to a listener is dropped",
         listen_fin)

    # --- SYN-RECEIVED -------------------------------------------------------------
    def dup_syn():
        c = Conn()
        send(c.seg("S", opts=c.syn_opts(), ts=False))
        t1 = c.rx()
        send(c.seg("S", opts=c.syn_opts(), ts=False))
        t2 = c.rx()
        c.seq += 1
        if t1 is not None:
            c.ack = t1.seq + 1
        c.reset()
        return (t1 is not None and t2 is not None and "S" in flags(t2) and t1.seq == t2.seq,
                f"{t1 and t1.seq} {t2 and t2.seq}")
    case("RFC 9293 §3.10.7.4 (SYN-RECEIVED): a duplicate SYN gets the same SYN-ACK again",
         dup_syn)

    def synrcvd_bad_ack():
        c = Conn(ts=False)
        send(c.seg("S", opts=[("MSS", 1460)], ts=False))
        t = c.rx()
        c.seq += 1
        send(c.seg("A", ack=t.seq + 100, ts=False))
        r = c.rx()
        c.ack = t.seq + 1
        c.reset()
        return r is not None and flags(r) == "R" and r.seq == t.seq + 100
    case("RFC 9293 §3.10.7.4 (SYN-RECEIVED): an unacceptable ACK -> <SEQ=SEG.ACK><RST>",
         synrcvd_bad_ack)

    def synrcvd_rst():
        c = Conn(ts=False)
        send(c.seg("S", opts=[("MSS", 1460)], ts=False))
        t = c.rx()
        c.seq += 1
        c.ack = t.seq + 1
        c.reset()
        time.sleep(0.1)
        send(c.seg("A", ts=False))  # the embryonic connection must be gone
        r = c.rx()
        return r is not None and flags(r) == "R"
    case("RFC 9293 §3.10.7.4 (SYN-RECEIVED): RST returns to LISTEN (the TCB is gone)",
         synrcvd_rst)

    def synack_backoff():
        c = Conn(ts=False)
        send(c.seg("S", opts=[("MSS", 1460)], ts=False))
        times = []
        for _ in range(3):
            t = c.rx(timeout=3.5)
            if t is None:
                break
            times.append(time.monotonic())
        c.seq += 1
        c.reset()
        if len(times) < 3:
            return False, f"{len(times)} SYN-ACKs"
        g1, g2 = times[1] - times[0], times[2] - times[1]
        return 0.8 < g1 < 1.4 and 1.7 < g2 < 2.6, f"gaps {g1:.2f} {g2:.2f}"
    case("RFC 6298 §5.5 / RFC 9293 §3.8.1: SYN-ACK retransmitted after 1 s, then 2 s",
         synack_backoff)

    def fin_in_synrcvd():
        c = Conn(ts=False)
        send(c.seg("S", opts=[("MSS", 1460)], ts=False))
        t = c.rx()
        c.seq += 1
        c.ack = t.seq + 1
        c.tx("FA", ts=False)  # completes the handshake and closes at once
        got_ack = got_fin = False
        for _ in range(3):
            r = c.rx(timeout=1)
            if r is None:
                break
            if r.ack == c.seq:
                got_ack = True
            if "F" in flags(r):
                got_fin = True
                c.ack = r.seq + 1
                c.tx("A", ts=False)
                break
        return got_ack and got_fin
    case("RFC 9293 §3.10.7.4 (eighth, SYN-RECEIVED -> CLOSE-WAIT): FIN with the final ACK "
         "is acknowledged and answered with FIN", fin_in_synrcvd)

    # --- ESTABLISHED ------------------------------------------------------------------
    def echo_basic():
        c = Conn()
        if c.open() is None:
            return False, "no handshake"
        got = c.echo(b"hello axolotl")
        c.close()
        return got == b"hello axolotl", f"got {got!r}"
    case("RFC 9293 §3.10.7.4 (seventh): data in ESTABLISHED is delivered (echoed back)",
         echo_basic)

    def bad_csum():
        c = Conn()
        c.open()
        s = c.seg("PA", b"corrupt")
        s.chksum = 0x1234
        send(s)
        t = c.rx(timeout=0.5)
        ok_drop = t is None
        got = c.echo(b"fine")
        c.close()
        return ok_drop and got == b"fine"
    case("RFC 9293 §3.1: a segment with a bad checksum is dropped silently", bad_csum)

    def oow_data():
        c = Conn()
        c.open()
        c.tx("PA", b"far away", seq=(c.seq + 10_000_000) % 2**32)
        want = c.seq
        t = c.rx()
        got = c.echo(b"next")
        c.close()
        return (t is not None and flags(t) == "A" and t.ack == want and got == b"next"), \
            f"{t and (flags(t), t.ack)} want ack {want}, got {got!r}"
    case("RFC 9293 §3.10.7.4 (first): out-of-window data -> duplicate ACK, not delivered",
         oow_data)

    def old_dup():
        c = Conn()
        c.open()
        c.echo(b"abc")
        c.tx("PA", b"abc", seq=c.seq - 3)
        t = c.rx()
        c.close()
        return t is not None and t.ack == c.seq - 1 and not payload(t)
    case("RFC 9293 §3.10.7.4 (first): an old duplicate is acknowledged, not redelivered",
         old_dup)

    def rst_challenge():
        c = Conn()
        c.open()
        send(c.seg("R", seq=(c.seq + 100) % 2**32, ts=False))
        t = c.rx()
        got = c.echo(b"alive")
        c.close()
        return (t is not None and flags(t) == "A" and t.ack == c.seq - 5 - 1
                and got == b"alive"), f"{t and (flags(t), t.ack, c.seq)} {got!r}"
    case("RFC 5961 §3.2: RST in the window but not at RCV.NXT -> challenge ACK", rst_challenge)

    def rst_oow():
        c = Conn()
        c.open()
        send(c.seg("R", seq=(c.seq + 0x40000000) % 2**32, ts=False))
        t = c.rx(timeout=0.5)
        got = c.echo(b"alive")
        c.close()
        return t is None and got == b"alive"
    case("RFC 5961 §3.2 / RFC 9293 §3.10.7.4: RST outside the window is ignored", rst_oow)

    def rst_exact():
        c = Conn()
        c.open()
        c.reset()
        time.sleep(0.1)
        c.tx("PA", b"after reset")
        t = c.rx()
        return t is not None and flags(t) == "R"
    case("RFC 9293 §3.10.7.4 (second): RST at RCV.NXT resets the connection", rst_exact)

    def syn_challenge():
        c = Conn()
        c.open()
        send(c.seg("S", seq=(c.seq + 5) % 2**32, opts=c.syn_opts(), ts=False))
        t = c.rx()
        got = c.echo(b"still")
        c.close()
        return t is not None and flags(t) == "A" and got == b"still"
    case("RFC 5961 §4.2: SYN in ESTABLISHED -> challenge ACK, the connection stays",
         syn_challenge)

    def ack_unsent():
        c = Conn()
        c.open()
        want = c.seq
        c.tx("PA", b"bogus ack", ack=(c.ack + 100000) % 2**32)
        t = c.rx()
        c.seq = want
        got = c.echo(b"good")
        c.close()
        return (t is not None and t.ack == want and got == b"good"), \
            f"{t and (flags(t), t.ack)} want {want}, got {got!r}"
    case("RFC 5961 §5.2: an ACK of unsent data -> challenge ACK, segment dropped", ack_unsent)

    def paws():
        c = Conn()
        c.open()
        c.echo(b"x")
        old = c.tsval
        c.tsval -= 1000
        c.tx("PA", b"stale")
        c.seq -= 5
        t = c.rx()
        c.tsval = old + 10
        got = c.echo(b"fresh")
        c.close()
        return t is not None and not payload(t) and got == b"fresh"
    case("RFC 7323 §5.3: PAWS drops a segment with an old TSval (ACK sent)", paws)

    def no_ts():
        c = Conn()
        c.open()
        send(c.seg("PA", b"no-ts", ts=False))
        t = c.rx(timeout=0.5)
        got = c.echo(b"with-ts")
        c.close()
        return (t is None or not payload(t)) and got == b"with-ts"
    case("RFC 7323 §3.2: a segment without TSopt on a TS connection is dropped", no_ts)

    def sack_block():
        c = Conn()
        c.open()
        base = c.seq
        send(c.seg("PA", b"B" * 100, seq=base + 100))
        t = c.rx()
        o = opts_of(t) if t else {}
        blocks = o.get("SAck", ())
        send(c.seg("PA", b"A" * 100, seq=base))
        c.seq = base + 200
        r = c.rx(match=lambda t: t.ack == base + 200, timeout=1)
        c.win = 65535
        c.close()
        return (t is not None and t.ack == base and tuple(blocks) == (base + 100, base + 200)
                and r is not None), f"ack {t and t.ack} blocks {blocks}"
    case("RFC 2018 §4 / RFC 5681 §4.2: out-of-order data -> immediate duplicate ACK with a "
         "SACK block for it; the hole filled -> cumulative ACK", sack_block)

    def sack_two():
        c = Conn()
        c.open()
        b = c.seq
        send(c.seg("PA", b"x" * 50, seq=b + 100))
        c.rx()
        send(c.seg("PA", b"y" * 50, seq=b + 300))
        t = c.rx()
        blocks = opts_of(t).get("SAck", ()) if t else ()
        send(c.seg("PA", b"z" * 100, seq=b))
        send(c.seg("PA", b"w" * 150, seq=b + 150))
        c.seq = b + 350
        c.rx(match=lambda t: t.ack == b + 350)
        c.close()
        return tuple(blocks) == (b + 300, b + 350, b + 100, b + 150), f"blocks {blocks}"
    case("RFC 2018 §4: two holes -> two SACK blocks, the most recent first", sack_two)

    def fin_ooo():
        c = Conn()
        c.open()
        b = c.seq
        send(c.seg("FA", b"tail", seq=b + 10))
        t = c.rx()
        early = t is not None and t.ack == b
        send(c.seg("PA", b"0123456789", seq=b))
        c.seq = b + 15
        r = c.rx(match=lambda t: t.ack == b + 15)
        return early and r is not None, f"first ack {t and t.ack} (want {b})"
    case("RFC 9293 §3.10.7.4 (eighth): a FIN beyond a hole waits until the hole fills",
         fin_ooo)

    def mss_respected():
        c = Conn(mss=536, ts=False)
        c.open()
        data = bytes(range(256)) * 8
        c.tx("A", data[:1024])
        c.tx("PA", data[1024:])
        sizes, got = [], b""
        end = time.monotonic() + 2
        while len(got) < len(data) and time.monotonic() < end:
            t = c.rx(timeout=1)
            if t is None:
                break
            d = payload(t)
            if d and t.seq == c.ack:
                sizes.append(len(d))
                got += d
                c.ack += len(d)
                c.tx("A", ts=False)
        c.close()
        return got == data and max(sizes or [9999]) <= 536, f"sizes {sizes}"
    case("RFC 9293 §3.7.1: segments respect the MSS the peer announced (536)", mss_respected)

    def zero_window_probe():
        c = Conn(ts=False)
        c.open()
        c.win = 0
        c.tx("PA", b"PROBE-DATA")  # the echo cannot be sent: our window is 0
        c.rx(timeout=0.3)  # its ACK
        times, probes = [], []
        for _ in range(3):
            t = c.rx(timeout=3)
            if t is None:
                break
            if payload(t):
                times.append(time.monotonic())
                probes.append((t.seq, payload(t)))
                c.tx("A", ts=False)  # window still 0
        c.win = 65535
        c.tx("A", ts=False)
        got = b""
        end = time.monotonic() + 1
        while len(got) < 10 and time.monotonic() < end:
            t = c.rx(timeout=0.5)
            if t is not None and payload(t) and t.seq == c.ack:
                got += payload(t)
                c.ack += len(payload(t))
                c.tx("A", ts=False)
        c.close()
        ok = (len(probes) == 3 and all(len(p) == 1 for _, p in probes)
              and times[2] - times[1] > times[1] - times[0] and got == b"PROBE-DATA")
        return ok, f"probes {probes} got {got!r}"
    case("RFC 9293 §3.8.6.1 / RFC 1122 §4.2.2.17: zero window -> 1-byte probes with "
         "back-off; data resumes when it opens", zero_window_probe)

    def zwp_answer():
        c = Conn(ts=False)
        c.open()
        c.tx("PA", b"q")
        # a probe *to* the stack: its window is open, so it is plain data
        t = c.rx(timeout=1)
        c.close()
        return t is not None
    case("RFC 9293 §3.8.6.1: a 1-byte segment is answered (probe answered with an ACK)",
         zwp_answer)

    def rto_backoff():
        c = Conn(ts=False)
        c.open()
        c.tx("PA", b"RETRANSMIT-ME")
        first = c.rx(timeout=1, match=lambda t: payload(t) != b"")
        times = [first.mono if first is not None else 0]
        for _ in range(3):  # never acknowledge the echo
            t = c.rx(timeout=3, match=lambda t: payload(t) != b"")
            if t is None:
                break
            times.append(time.monotonic())
        c.ack = first.seq + len(payload(first)) if first is not None else c.ack
        c.tx("A", ts=False)
        c.close()
        if len(times) < 4:
            return False, f"{len(times)} transmissions"
        g = [times[i + 1] - times[i] for i in range(3)]
        return (0.15 < g[0] < 0.45 and g[1] > 1.6 * g[0] and g[2] > 1.6 * g[1]), \
            f"gaps {[round(x, 3) for x in g]}"
    case("RFC 6298 §5.5: retransmission timer backs off (200 ms minimum, doubling)",
         rto_backoff)

    def delayed_ack():
        c = Conn(ts=False)
        c.open()
        c.win = 0  # the echo cannot piggyback: the ACK stands alone
        c.tx("PA", b"d")
        t0 = time.monotonic()
        t = c.rx(timeout=1)
        dt = time.monotonic() - t0
        c.win = 65535
        c.tx("A", ts=False)
        c.rx(timeout=0.5)
        c.close()
        return t is not None and 0.02 < dt < 0.3, f"ACK after {dt * 1000:.0f} ms"
    case("RFC 1122 §4.2.3.2 / RFC 5681 §4.2: a lone small segment's ACK is delayed "
         "(40 ms), not withheld", delayed_ack)

    def ack_every_second():
        c = Conn(ts=False)
        c.open()
        c.win = 0
        c.tx("A", b"a" * 1460)
        c.tx("A", b"b" * 1460)
        t0 = time.monotonic()
        t = c.rx(match=lambda t: t.ack == c.seq, timeout=1)
        dt = time.monotonic() - t0
        c.win = 65535
        c.tx("A", ts=False)
        c.close()
        return t is not None and dt < 0.02, f"after {dt * 1000:.1f} ms"
    case("RFC 5681 §4.2: every second full-sized segment is acknowledged at once",
         ack_every_second)

    def urgent():
        c = Conn()
        c.open()
        s = c.seg("PAU", b"ab!cd")
        s.urgptr = 3
        send(s)
        c.seq += 5
        got = b""
        end = time.monotonic() + 1
        while len(got) < 5 and time.monotonic() < end:
            t = c.rx(timeout=0.5)
            if t is not None and payload(t):
                got += payload(t)
                c.ack += len(payload(t))
                c.tx("A")
        c.close()
        return got == b"ab!cd"
    case("RFC 9293 §3.8.5 / RFC 6093: urgent data is delivered inline, in order", urgent)

    # --- closing ------------------------------------------------------------------------
    def passive_close():
        c = Conn()
        c.open()
        c.tx("FA")
        acked = fin = False
        for _ in range(3):
            t = c.rx(timeout=1)
            if t is None:
                break
            if t.ack == c.seq:
                acked = True
            if "F" in flags(t):
                fin = True
                c.ack = t.seq + 1
                break
        # FIN again in LAST-ACK (as if our ACK were lost... we have not sent it)
        c.tx("FA", seq=c.seq - 1)
        again = c.rx(timeout=1)
        c.tx("A")
        time.sleep(0.1)
        c.tx("PA", b"late")
        gone = c.rx(timeout=1)
        return (acked and fin and again is not None and gone is not None
                and "R" in flags(gone)), f"{acked} {fin} {again is not None} {gone and flags(gone)}"
    case("RFC 9293 §3.10.7.4 (eighth): FIN in ESTABLISHED -> ACK; CLOSE-WAIT -> LAST-ACK "
         "(FIN); a repeated FIN is re-acknowledged; the final ACK closes", passive_close)

    def fin_with_data():
        c = Conn()
        c.open()
        c.tx("FPA", b"last words")
        got, fin = b"", False
        end = time.monotonic() + 2
        while time.monotonic() < end and not fin:
            t = c.rx(timeout=0.5)
            if t is None:
                continue
            d = payload(t)
            if d and t.seq == c.ack:
                got += d
                c.ack += len(d)
            if "F" in flags(t):
                fin = True
                c.ack = t.seq + len(d) + 1
        c.tx("A")
        return got == b"last words" and fin
    case("RFC 9293 §3.10.7.4: data and FIN in one segment: the data, then the FIN", fin_with_data)

    def half_closed_data():
        c = Conn()
        c.open()
        big = os.urandom(20000)
        c.tx("PA", big[:1400])
        c.tx("PA", big[1400:2800])
        c.tx("FA")  # half-close: the echo keeps flowing towards us
        got = b""
        fin = False
        end = time.monotonic() + 3
        while time.monotonic() < end and not fin:
            t = c.rx(timeout=0.5)
            if t is None:
                continue
            d = payload(t)
            if d and t.seq == c.ack:
                got += d
                c.ack += len(d)
                c.tx("A")
            if "F" in flags(t) and t.seq + len(d) == c.ack:
                fin = True
                c.ack += 1
                c.tx("A")
        return got == big[:2800] and fin, f"{len(got)} bytes, fin {fin}"
    case("RFC 9293 §3.6 (half-close): data still flows to a peer that sent its FIN",
         half_closed_data)

    def data_after_fin():
        c = Conn()
        c.open()
        c.tx("FA")
        t = c.rx(match=lambda t: "F" in flags(t), timeout=1)
        if t is None:
            return False, "no FIN"
        before = stats().get("DropTcpDataAfterFin", 0)
        c.tx("PA", b"too late", seq=c.seq)  # after our own FIN: never valid
        r = c.rx(timeout=0.3)
        after = stats().get("DropTcpDataAfterFin", 0)
        c.ack = t.seq + 1
        c.tx("A")  # the final ACK: LAST-ACK -> CLOSED
        return (after == before + 1 and (r is None or not payload(r))), \
            f"counter {before}->{after}"
    case("RFC 9293 §3.10.7.4 (seventh, LAST-ACK): text after the peer's FIN is ignored",
         data_after_fin)

    # --- ICMP errors (net/tcp_icmp.c) ------------------------------------------------------
    def pmtud():
        c = Conn(ts=False)
        c.open()
        data = bytes(random.getrandbits(8) for _ in range(4000))
        c.tx("A", data[:1460])
        c.tx("A", data[1460:2920])
        c.tx("PA", data[2920:])
        first = c.rx(timeout=2, match=lambda t: payload(t) != b"" and t.seq == c.ack)
        if first is None:
            return False, "no echo"
        before = stats().get("TcpPmtuUpdates", 0)
        # A router on the path: "fragmentation needed, next-hop MTU 1000",
        # quoting the echo's first segment (its IP header and 8 bytes).
        quote = bytes(first.underlayer)[:28]
        send_ip = Ether(src=MY_MAC, dst=stack_mac) / IP(src=ME, dst=STACK) / \
            ICMP(type=3, code=4, nexthopmtu=1000) / Raw(quote)
        time.sleep(0.02)
        flush()
        sendp(send_ip, iface=IFACE)
        got, sizes = b"", []
        end = time.monotonic() + 3
        while len(got) < len(data) and time.monotonic() < end:
            t = c.rx(timeout=1)
            if t is None:
                break
            d = payload(t)
            if d and t.seq == c.ack:
                sizes.append(len(d))
                got += d
                c.ack += len(d)
                c.tx("A", ts=False)
        after = stats().get("TcpPmtuUpdates", 0)
        c.close()
        return (got == data and sizes and max(sizes) <= 960 and after == before + 1), \
            f"sizes {sizes} counter {before}->{after} got {len(got)}"
    case("RFC 1191 §6 / RFC 9293 §3.9.4: fragmentation-needed (MTU 1000) lowers the MSS to "
         "960 and the data in flight is resent at once in the new size", pmtud)

    def icmp_blind():
        c = Conn(ts=False)
        c.open()
        before = stats().get("DropTcpIcmpOutOfWindow", 0)
        # A forged quote: our connection's ports, a sequence number not in flight.
        fake = IP(src=STACK, dst=ME) / TCP(sport=7, dport=c.sport, seq=(c.ack + 100000) % 2**32)
        sendp(Ether(src=MY_MAC, dst=stack_mac) / IP(src=ME, dst=STACK) /
              ICMP(type=3, code=4, nexthopmtu=600) / Raw(bytes(fake)[:28]), iface=IFACE)
        time.sleep(0.2)
        after = stats().get("DropTcpIcmpOutOfWindow", 0)
        got = c.echo(b"x" * 1400)
        c.close()
        return after == before + 1 and got == b"x" * 1400, f"counter {before}->{after}"
    case("RFC 5927 §4.1: an ICMP error whose quoted sequence number is not in flight is "
         "ignored", icmp_blind)

    # --- counters ------------------------------------------------------------------------
    st = stats()
    report(st.get("TcpChallengeAcks", 0) >= 3, "RFC 5961: challenge ACKs were counted",
           f"({st.get('TcpChallengeAcks')})")
    report(st.get("TcpPawsEstabRejected", 0) >= 1, "RFC 7323: PAWS rejections were counted")
    report(st.get("TcpOutRsts", 0) >= 5 and st.get("DropTcpNoSocket", 0) >= 5,
           "RFC 9293 §3.10.7.1: closed-port RSTs counted (TcpOutRsts, DropTcpNoSocket)")
    report(st.get("TcpInCsumErrors", 0) >= 1, "RFC 9293 §3.1: checksum errors counted")
    report(st.get("TcpWinProbes", 0) >= 3, "RFC 1122 §4.2.2.17: zero-window probes counted")


# ====================================================================================
# Stack as client (the suite is the server)
# ====================================================================================

def client_suite(ns, cmd):
    PORT = 9000

    def start(data=b"", extra=()):
        flush()
        p = subprocess.Popen(["ip", "netns", "exec", ns] + cmd + list(extra) + [ME, str(PORT)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        p.stdin.write(data)
        p.stdin.close()
        p.stdin = None  # (communicate() must not touch it again)
        return p

    def syn_of():
        return recv(lambda t: t.dport == PORT and flags(t) == "S", timeout=5)

    def srv(syn, ts=True):
        c = Conn(dport=0, sport=PORT, ts=ts)
        c.dport = syn.sport
        c.ack = syn.seq + 1
        o = opts_of(syn)
        if ts and "Timestamp" in o:
            c.tsecr = o["Timestamp"][0]
        return c

    def finish(p, t=3):
        try:
            out, err = p.communicate(timeout=t)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
        return p.returncode, out, err

    def syn_options():
        p = start()
        s = syn_of()
        if s is None:
            finish(p, 1)
            return False, "no SYN"
        o = opts_of(s)
        send(TCP(sport=PORT, dport=s.sport, flags="RA", seq=0, ack=s.seq + 1))
        finish(p)
        return (o.get("MSS") == 1460 and "WScale" in o and "SAckOK" in o
                and "Timestamp" in o and o["Timestamp"][1] == 0 and s.window <= 65535), f"{o}"
    case("RFC 9293 §3.7.1 / RFC 7323 §2.2, §3.2 / RFC 2018 §2: the stack's SYN offers MSS, "
         "WS, SACK-permitted and TS (TSecr 0)", syn_options)

    def refused():
        p = start()
        s = syn_of()
        if s is None:
            finish(p, 1)
            return False, "no SYN"
        send(TCP(sport=PORT, dport=s.sport, flags="RA", seq=0, ack=s.seq + 1))
        rc, _, err = finish(p)
        return rc == 1 and b"refused" in err, f"rc {rc} {err[-80:]!r}"
    case("RFC 9293 §3.10.7.3: RST with an acceptable ACK in SYN-SENT -> connection refused",
         refused)

    def synsent_bad_ack():
        p = start()
        s = syn_of()
        if s is None:
            finish(p, 1)
            return False, "no SYN"
        send(TCP(sport=PORT, dport=s.sport, flags="SA", seq=1000, ack=s.seq + 77))
        r = recv(lambda t: t.dport == PORT and "R" in flags(t), timeout=1)
        send(TCP(sport=PORT, dport=s.sport, flags="R"))  # no ACK: must be ignored
        again = recv(lambda t: t.dport == PORT and flags(t) == "S", timeout=2)
        send(TCP(sport=PORT, dport=s.sport, flags="RA", seq=0, ack=s.seq + 1))
        finish(p)
        return (r is not None and r.seq == s.seq + 77 and again is not None), \
            f"rst {r and r.seq} resend {again is not None}"
    case("RFC 9293 §3.10.7.3: SYN-SENT: a bad ACK -> <SEQ=SEG.ACK><RST>; a RST without ACK "
         "is ignored (the SYN is retransmitted)", synsent_bad_ack)

    def synsent_port_unreach():
        p = start()
        s = syn_of()
        if s is None:
            finish(p, 1)
            return False, "no SYN"
        t0 = time.monotonic()
        quote = bytes(s.underlayer)[:28]
        sendp(Ether(src=MY_MAC, dst=stack_mac) / IP(src=ME, dst=STACK) /
              ICMP(type=3, code=3) / Raw(quote), iface=IFACE)
        rc, _, err = finish(p, 5)
        dt = time.monotonic() - t0
        return rc == 1 and b"refused" in err and dt < 3, f"rc {rc} after {dt:.2f}s {err[-80:]!r}"
    case("RFC 1122 §4.2.3.9 / RFC 5461: port unreachable in SYN-SENT is a hard error: the "
         "connect fails at once (connection refused)", synsent_port_unreach)

    def syn_backoff():
        p = start()
        s = syn_of()
        t0 = time.monotonic()
        r1 = recv(lambda t: t.dport == PORT and flags(t) == "S", timeout=2)
        t1 = time.monotonic()
        r2 = recv(lambda t: t.dport == PORT and flags(t) == "S", timeout=3)
        t2 = time.monotonic()
        if s is not None:
            send(TCP(sport=PORT, dport=s.sport, flags="RA", seq=0, ack=s.seq + 1))
        finish(p)
        return (r1 is not None and r2 is not None and 0.8 < t1 - t0 < 1.4
                and 1.7 < t2 - t1 < 2.6), f"{t1 - t0:.2f} {t2 - t1:.2f}"
    case("RFC 6298 §2.1, §5.5: the SYN is retransmitted after 1 s, then 2 s", syn_backoff)

    def active_close_time_wait():
        p = start(b"client data", ["--linger", "3"])
        s = syn_of()
        if s is None:
            finish(p, 1)
            return False, "no SYN"
        c = srv(s)
        isn = 50000
        send(TCP(sport=PORT, dport=s.sport, flags="SA", seq=isn, ack=s.seq + 1,
                 options=[("MSS", 1460), ("Timestamp", (c.tsval, c.tsecr)), ("WScale", 2)]))
        c.seq = isn + 1
        got, fin_seq = b"", None
        end = time.monotonic() + 3
        while time.monotonic() < end and fin_seq is None:
            t = c.rx(timeout=0.5)
            if t is None:
                continue
            d = payload(t)
            if d and t.seq == c.ack:
                got += d
                c.ack += len(d)
            if "F" in flags(t):
                fin_seq = t.seq + len(d)
        if fin_seq is None:
            finish(p)
            return False, f"no FIN (got {got!r})"
        c.ack = fin_seq + 1
        c.tx("A")  # FIN-WAIT-2
        c.tx("FA", b"reply")  # data then our FIN: TIME-WAIT
        t = c.rx(match=lambda t: t.ack == c.seq, timeout=1)
        # TIME-WAIT: a retransmitted FIN is acknowledged again
        c.tx("FA", seq=c.seq - 1)
        again = c.rx(timeout=1)
        # RFC 1337: a RST in TIME-WAIT is ignored (then the FIN is still ACKed)
        send(c.seg("R", ts=False))
        c.tx("FA", seq=c.seq - 1)
        again2 = c.rx(timeout=1)
        rc, out, _ = finish(p, 5)
        return (got == b"client data" and t is not None and again is not None
                and again2 is not None and rc == 0 and out == b"reply"), \
            f"got {got!r} ack {t is not None} tw {again is not None}/{again2 is not None} rc {rc} out {out!r}"
    case("RFC 9293 §3.10.7.4 / §3.6: active close FIN-WAIT-1 -> FIN-WAIT-2 -> TIME-WAIT; "
         "a repeated FIN is re-acknowledged in TIME-WAIT; RFC 1337: RST ignored there",
         active_close_time_wait)

    def simultaneous_close():
        p = start(b"x", ["--linger", "2"])
        s = syn_of()
        if s is None:
            finish(p, 1)
            return False, "no SYN"
        c = srv(s, ts=False)
        send(TCP(sport=PORT, dport=s.sport, flags="SA", seq=7000, ack=s.seq + 1,
                 options=[("MSS", 1460)]))
        c.seq = 7001
        fin = None
        end = time.monotonic() + 3
        while time.monotonic() < end and fin is None:
            t = c.rx(timeout=0.5)
            if t is None:
                continue
            if payload(t) and t.seq == c.ack:
                c.ack += len(payload(t))
            if "F" in flags(t):
                fin = t
        if fin is None:
            finish(p)
            return False, "no FIN"
        # Our FIN crosses theirs: it does not acknowledge their FIN.
        c.tx("FA", ts=False)
        a = c.rx(match=lambda t: t.ack == c.seq, timeout=1)  # CLOSING: ACK of our FIN
        c.ack = fin.seq + 1
        c.tx("A", ts=False)  # their FIN acknowledged: TIME-WAIT
        rc, _, _ = finish(p, 4)
        return a is not None and rc == 0, f"ack {a is not None} rc {rc}"
    case("RFC 9293 §3.5 figure 13: simultaneous close (FIN-WAIT-1 -> CLOSING -> TIME-WAIT)",
         simultaneous_close)

    def simultaneous_open():
        p = start(b"simopen", ["--linger", "1"])
        s = syn_of()
        if s is None:
            finish(p, 1)
            return False, "no SYN"
        isn = 90000
        send(TCP(sport=PORT, dport=s.sport, flags="S", seq=isn, options=[("MSS", 1460)]))
        sa = recv(lambda t: t.dport == PORT and flags(t) == "SA", timeout=1)
        if sa is None:
            finish(p)
            return False, "no SYN-ACK"
        ok_sa = sa.seq == s.seq and sa.ack == isn + 1
        send(TCP(sport=PORT, dport=s.sport, flags="SA", seq=isn, ack=s.seq + 1,
                 options=[("MSS", 1460)]))
        c = Conn(dport=s.sport, sport=PORT, ts=False)
        c.seq, c.ack = isn + 1, s.seq + 1
        got = b""
        end = time.monotonic() + 3
        while time.monotonic() < end and b"simopen" not in got:
            t = c.rx(timeout=0.5)
            if t is not None and payload(t) and t.seq == c.ack:
                got += payload(t)
                c.ack += len(payload(t))
                c.tx("A", ts=False)
        c.tx("FA", ts=False)
        finish(p, 3)
        return ok_sa and got == b"simopen", f"synack ok {ok_sa} got {got!r}"
    case("RFC 9293 §3.5 figure 8: simultaneous open (SYN-SENT -> SYN-RECEIVED with "
         "<SEQ=ISS><ACK=RCV.NXT><SYN,ACK> -> ESTABLISHED)", simultaneous_open)


if MODE == "server":
    server_suite(int(sys.argv[4]), sys.argv[5])
else:
    sep = sys.argv.index("--")
    client_suite(sys.argv[4], sys.argv[sep + 1:])
sniffer.stop()
sys.exit(1 if failures else 0)
