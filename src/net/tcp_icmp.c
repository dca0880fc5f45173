/* SPDX-License-Identifier: MIT */
/*
 * net/tcp_icmp.c - ICMP error messages about our TCP segments (RFC 9293
 * §3.9.4 "ICMP messages", RFC 1122 §4.2.3.9, RFC 5461, RFC 5927, RFC 1191).
 *
 * What an error does, by kind and state:
 *   - Validation first (RFC 5927 §4.1, RFC 9293 §3.9.4): the quote names a
 *     connection (4-tuple) and its sequence number must be in flight,
 *     SND.UNA <= SEG.SEQ < SND.MAX (= ISS in SYN-SENT/SYN-RECEIVED). Blind
 *     attackers would have to guess it, as for a RST. Anything else is
 *     ignored and counted (DropTcpIcmpNoConn, DropTcpIcmpOutOfWindow).
 *   - Fragmentation needed (type 3 code 4): Path MTU Discovery (RFC 1191 §6).
 *     The next-hop MTU of the message (RFC 1191 §4), or when a router sent 0
 *     the plateau below the quoted datagram's length (RFC 1191 §5 / §7),
 *     floored at AXL_TCP_PMTU_MIN, gives MSS = MTU - 40. Only a decrease is
 *     taken (DropTcpIcmpPmtu otherwise: RFC 1191 §6.3 an increase needs a
 *     probe, which we do not do). Segments in flight were dropped by the
 *     router, so they are sent again at once, in the new size, without a
 *     congestion response (RFC 1191 §6.5: "not a congestion indication";
 *     Linux's tcp_simple_retransmit does the same): go-back-N, or for a SACK
 *     connection the RFC 6675 §5.1 scoreboard walk that skips SACKed data.
 *   - Other destination-unreachable codes, time exceeded: hard errors
 *     (protocol and port unreachable, RFC 1122 §4.2.3.9, and the
 *     administrative/unknown codes Linux also treats as fatal) abort a
 *     connection that is still in the handshake: SYN-SENT reports the error
 *     (-ECONNREFUSED, ...) to connect(), a passive SYN-RECEIVED is dropped.
 *     In a synchronized state every error is soft (RFC 5461 §4: aborting
 *     there on ICMP alone is what blind attacks exploit, and routing
 *     recovers): it is kept in soft_err and reported if the connection later
 *     times out (tcp_timer.c). Soft errors in the handshake are kept the same
 *     way (RFC 1122 §4.2.3.9 "SHOULD NOT abort").
 *   - Source quench is never passed here (RFC 6633).
 *
 * Call chain: ipv4.c deliver -> icmp.c axl_icmp_input -> error_input ->
 * tcp_icmp_error -> tcp_output.c (PMTU resend) | tcp.c tcp_tcb_done.
 */
#include <errno.h>

#include "core/compiler.h"
#include "core/err.h"
#include "net/stack_priv.h"
#include "net/tcp_priv.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"

/* RFC 1191 §7 table 7-1 plateaus (without the 65535 top). */
static const uint16_t plateaus[] = {32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68};

uint32_t tcp_pmtu_from_icmp(uint32_t rest, uint32_t quoted_len)
{
    uint32_t mtu = rest & 0xffffu; /* RFC 1191 §4: low-order 16 bits */
    if (!mtu) {
        /* RFC 1191 §5: an old router; guess the next plateau below. */
        mtu = 68;
        for (size_t i = 0; i < sizeof(plateaus) / sizeof(plateaus[0]); i++)
            if (plateaus[i] < quoted_len) {
                mtu = plateaus[i];
                break;
            }
    }
    if (mtu < AXL_TCP_PMTU_MIN) mtu = AXL_TCP_PMTU_MIN;
    return mtu;
}

/* Is the quoted code a hard error (RFC 1122 §4.2.3.9 codes 2-4, less the
 * frag-needed code PMTUD handles; RFC 1812 §5.2.7.1 administrative codes)? */
static int hard_error(uint8_t type, uint8_t code)
{
    if (type != AXL_ICMP_DEST_UNREACH) return 0; /* time exceeded: soft */
    switch (code) {
    case 2:  /* protocol unreachable */
    case 3:  /* port unreachable */
    case 6:  /* destination network unknown */
    case 7:  /* destination host unknown */
    case 8:  /* source host isolated */
    case 9:  /* network administratively prohibited */
    case 10: /* host administratively prohibited */
    case 13: /* communication administratively prohibited */
    case 14: /* host precedence violation */
    case 15: /* precedence cutoff in effect */
        return 1;
    default:
        return 0; /* net/host unreachable (0, 1, 11, 12), source route failed (5) */
    }
}

/* Fragmentation needed: lower the send MSS and resend what is in flight. */
static void pmtu_update(struct axl_tcb *t, uint32_t mtu)
{
    struct axl_stack *s = t->s;
    uint32_t mss = mtu - 40; /* RFC 9293 §3.7.1: IPv4 and TCP headers, no IP options */
    if (t->state < AXL_TCP_ESTABLISHED || mss >= t->snd_mss) {
        /* In the handshake the SYN (under 80 bytes) was not what was too
         * big; the MSS is negotiated by the SYN-ACK anyway. */
        AXL_STAT_INC(s, DropTcpIcmpPmtu);
        return;
    }
    t->snd_mss = (uint16_t)mss;
    (void)axl_tcp_cc_set_mss(&t->cc, mss);
    if (t->flags & TF_SACK_OK) tcp_sb_set_mss(&t->sb, mss);
    AXL_STAT_INC(s, TcpPmtuUpdates);
    if (t->snd_una == t->snd_max) return;
    /* RFC 1191 §6.5: retransmit at once in the new size. Karn: no RTT
     * sample from what is resent. */
    t->flags &= ~TF_RTT_TIMING;
    if (t->flags & TF_SACK_OK)
        tcp_rec_on_rto(t); /* every unSACKed byte in flight is lost; cwnd unchanged */
    else
        t->snd_nxt = t->snd_una;
    tcp_output(t);
}

void tcp_icmp_error(struct axl_stack *s, uint8_t type, uint8_t code, uint32_t rest, int err,
                    const uint8_t *q, size_t hlen, size_t qlen)
{
    /* icmp.c checked: q is our IPv4 header (hlen bytes, source = us) and at
     * least 8 bytes of the TCP header follow (ports and sequence number). */
    if (hlen < AXL_IPV4_HLEN_MIN || qlen < hlen + 8) return;
    uint32_t raddr = axl_load_be32(q + AXL_IPV4_OFF_DST);
    const uint8_t *th = q + hlen;
    uint16_t lport = axl_load_be16(th);
    uint16_t rport = axl_load_be16(th + 2);
    uint32_t seq = axl_load_be32(th + 4);
    struct axl_tcb *t = tcp_lookup(s, raddr, rport, lport);
    if (!t || (t->flags & TF_DEAD) || t->state == AXL_TCP_TIME_WAIT) {
        AXL_STAT_INC(s, DropTcpIcmpNoConn);
        return;
    }
    /* RFC 5927 §4.1: the quoted segment must be one we have in flight. */
    int in_flight;
    if (t->state == AXL_TCP_SYN_SENT || t->state == AXL_TCP_SYN_RECEIVED)
        in_flight = seq == t->iss;
    else
        in_flight = axl_seq_le(t->snd_una, seq) && axl_seq_lt(seq, t->snd_max);
    if (!in_flight) {
        AXL_STAT_INC(s, DropTcpIcmpOutOfWindow);
        return;
    }
    if (type == AXL_ICMP_DEST_UNREACH && code == AXL_ICMP_FRAG_NEEDED) {
        size_t qtot = axl_load_be16(q + AXL_IPV4_OFF_LEN);
        pmtu_update(t, tcp_pmtu_from_icmp(rest, (uint32_t)qtot));
        return;
    }
    if (hard_error(type, code) &&
        (t->state == AXL_TCP_SYN_SENT ||
         (t->state == AXL_TCP_SYN_RECEIVED && (t->flags & TF_PASSIVE)))) {
        /* RFC 1122 §4.2.3.9 / RFC 5461 §4: abort the handshake. */
        AXL_STAT_INC(s, TcpIcmpHardAborts);
        tcp_tcb_done(t, err);
        return;
    }
    /* RFC 1122 §4.2.3.9: a soft error, reported on a later timeout. */
    t->soft_err = err;
    AXL_STAT_INC(s, TcpIcmpSoftErrors);
}
