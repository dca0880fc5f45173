/* SPDX-License-Identifier: MIT */
/*
 * net/icmp.c - ICMP for IPv4 (see net/icmp.h).
 *
 * Echo (RFC 792, RFC 1122 §3.2.2.6): a request to our unicast address is
 * answered with all its data; for an unfragmented request the reply is built
 * in place in the request's own buffer (type byte changed, checksum updated
 * incrementally per RFC 1624, new IP and Ethernet headers in front), so a
 * ping costs no copy. Requests to a broadcast address are discarded (a MAY in
 * §3.2.2.6). IP options of the request (record route, timestamp) are not
 * reflected: options are not honoured anywhere (docs/CONFORMANCE.md).
 *
 * Errors out (RFC 792, RFC 1122 §3.2.2): never about an ICMP error, an IP or
 * link broadcast/multicast, a non-initial fragment, or a datagram whose source
 * is not a unicast host; rate-limited by a token bucket (RFC 1812 §4.3.2.8:
 * `rate` per second, `rate/2` burst). The message quotes the offending IP
 * header and as much data as fits in 576 bytes (RFC 1812 §4.3.2.3; at least
 * the 8 bytes RFC 1122 requires). An error about our own datagram (ARP
 * failure) is delivered locally instead, without rate limit, like a kernel's
 * loopback.
 *
 * Errors in (RFC 1122 §3.2.2.1, §4.1.3.3, §4.2.3.9): destination unreachable
 * and time exceeded quoting a datagram from us are passed to UDP as a socket
 * error, to TCP (net/tcp_icmp.c: soft/hard errors, Path MTU Discovery on
 * fragmentation-needed, RFC 1191) with the message's second word (the
 * next-hop MTU).
 *
 * Call chain: ipv4.c deliver -> axl_icmp_input -> echo_reply | error_input ->
 * udp.c axl_udp_err | tcp_icmp.c tcp_icmp_error; ipv4.c/udp.c/arp.c -> axl_icmp_send_error -> ipv4.c.
 */
#include "net/icmp.h"

#include <errno.h>
#include <string.h>

#include "core/clock.h"
#include "core/compiler.h"
#include "core/err.h"
#include "net/stack_priv.h"
#include "net/tcp_priv.h"
#include "wire/csum.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"

#define NANOTOKENS AXL_NS_PER_S

void axl_icmp_init(struct axl_stack *s, uint32_t rate)
{
    struct axl_icmp_state *st = &s->icmp;
    st->rate = rate ? rate : AXL_ICMP_RATE_DEFAULT;
    st->burst = AXL_MAX(1u, st->rate / AXL_ICMP_BURST_DIV);
    st->credit = (uint64_t)st->burst * NANOTOKENS;
    st->last_ns = s->now_ns;
}

/* Token bucket: refill by elapsed time, spend one token per message. */
static int rate_allow(struct axl_stack *s)
{
    struct axl_icmp_state *st = &s->icmp;
    uint64_t cap = (uint64_t)st->burst * NANOTOKENS;
    if (s->now_ns > st->last_ns) {
        uint64_t dt = s->now_ns - st->last_ns;
        uint64_t full = cap / st->rate + 1; /* time to fill from empty */
        if (dt > full) dt = full;
        st->credit = AXL_MIN(cap, st->credit + dt * st->rate);
    }
    st->last_ns = s->now_ns;
    if (st->credit < NANOTOKENS) return 0;
    st->credit -= NANOTOKENS;
    return 1;
}

/* Map an ICMP error to the socket error a transport reports. */
static int error_to_errno(uint8_t type, uint8_t code)
{
    if (type == AXL_ICMP_DEST_UNREACH) {
        switch (code) {
        case AXL_ICMP_PORT_UNREACH:
            return -ECONNREFUSED; /* err.h: AXL_E* values are negated errno */
        case AXL_ICMP_FRAG_NEEDED:
            return AXL_EMSGSIZE;
        case AXL_ICMP_PROTO_UNREACH:
            return -ENOPROTOOPT;
        case AXL_ICMP_NET_UNREACH:
            return -ENETUNREACH;
        default:
            return AXL_EHOSTUNREACH;
        }
    }
    return AXL_EHOSTUNREACH; /* time exceeded */
}

/* An error message's quote: our IP header and at least 8 bytes after it. */
static int error_input(struct axl_stack *s, uint8_t type, uint8_t code, uint32_t rest,
                       const uint8_t *q, size_t qlen)
{
    if (qlen < AXL_IPV4_HLEN_MIN || (q[0] >> 4) != 4) return -1;
    size_t hlen = (size_t)(q[0] & 0x0f) * 4;
    if (hlen < AXL_IPV4_HLEN_MIN || hlen + 8 > qlen) return -1;
    if (axl_load_be32(q + AXL_IPV4_OFF_SRC) != s->addr) return -1;
    if (q[AXL_IPV4_OFF_PROTO] == AXL_IPPROTO_UDP)
        axl_udp_err(s, axl_load_be16(q + hlen), error_to_errno(type, code));
    else if (q[AXL_IPV4_OFF_PROTO] == AXL_IPPROTO_TCP)
        tcp_icmp_error(s, type, code, rest, error_to_errno(type, code), q, hlen, qlen);
    return 0;
}

static void echo_reply(struct axl_stack *s, struct axl_ipdg *dg, const uint8_t *p)
{
    struct axl_ipv4_out o = {.dst = dg->src, .proto = AXL_IPPROTO_ICMP, .tos = dg->tos};
    uint8_t code = p[AXL_ICMP_OFF_CODE];
    uint16_t csum = axl_csum_update16(axl_load_be16(p + AXL_ICMP_OFF_CSUM),
                                      (uint16_t)(AXL_ICMP_ECHO_REQUEST << 8 | code),
                                      (uint16_t)(AXL_ICMP_ECHO_REPLY << 8 | code));
    int rc;

    if (!dg->reasm && !dg->head->next) {
        /* In place: p is the request's own buffer. */
        struct axl_pkt *pkt = dg->head;
        pkt->flags = AXL_PKT_F_INUSE; /* RX metadata (checksum state) does not apply */
        pkt->data[AXL_ICMP_OFF_TYPE] = AXL_ICMP_ECHO_REPLY;
        axl_store_be16(pkt->data + AXL_ICMP_OFF_CSUM, csum);
        rc = axl_ipv4_output_pkt(s, &o, pkt);
    } else {
        uint8_t hdr[AXL_ICMP_HLEN];
        memcpy(hdr, p, AXL_ICMP_HLEN);
        hdr[AXL_ICMP_OFF_TYPE] = AXL_ICMP_ECHO_REPLY;
        axl_store_be16(hdr + AXL_ICMP_OFF_CSUM, csum);
        rc = axl_ipv4_output(s, &o, hdr, AXL_ICMP_HLEN, p + AXL_ICMP_HLEN, dg->len - AXL_ICMP_HLEN);
        axl_pkt_free_chain(s->pool, dg->head);
    }
    if (rc == 0) {
        AXL_STAT_INC(s, IcmpOutMsgs);
        AXL_STAT_INC(s, IcmpOutEchoReps);
    }
}

void axl_icmp_set_echo_handler(struct axl_stack *s, axl_icmp_echo_fn fn, void *arg)
{
    s->icmp.echo_fn = fn;
    s->icmp.echo_arg = arg;
}

int axl_icmp_echo_send(struct axl_stack *s, uint32_t daddr, uint16_t id, uint16_t seq,
                       const void *data, uint32_t len)
{
    if (len > 65535u - AXL_IPV4_HLEN_MIN - AXL_ICMP_HLEN)
        return AXL_EMSGSIZE;
    struct axl_ipv4_out o = {.dst = daddr, .proto = AXL_IPPROTO_ICMP};
    uint8_t hdr[AXL_ICMP_HLEN] = {AXL_ICMP_ECHO_REQUEST, 0, 0, 0};
    axl_store_be16(hdr + 4, id);
    axl_store_be16(hdr + 6, seq);
    /* RFC 792: the checksum covers the ICMP header and the data. */
    uint32_t sum = axl_csum_partial(hdr, AXL_ICMP_HLEN, 0);
    sum = axl_csum_partial(data, len, sum);
    axl_store_be16(hdr + 2, axl_csum_fold(sum));
    int rc = axl_ipv4_output(s, &o, hdr, AXL_ICMP_HLEN, data, len);
    if (rc == 0) {
        AXL_STAT_INC(s, IcmpOutMsgs);
        AXL_STAT_INC(s, IcmpOutEchos);
    }
    return rc;
}

void axl_icmp_input(struct axl_stack *s, struct axl_ipdg *dg)
{
    AXL_STAT_INC(s, IcmpInMsgs);
    const uint8_t *p = axl_ipdg_linear(s, dg);
    struct axl_icmp_view v = {p, dg->len};
    int rc = axl_icmp_view_check(&v);
    if (axl_unlikely(rc < 0)) {
        AXL_STAT_INC(s, IcmpInErrors);
        if (rc == AXL_ECSUM) {
            AXL_STAT_INC(s, IcmpInCsumErrors);
            AXL_STAT_INC(s, DropIcmpBadCsum);
        } else {
            AXL_STAT_INC(s, DropIcmpTrunc);
        }
        goto drop;
    }

    uint8_t type = axl_icmp_view_type(&v);
    switch (type) {
    case AXL_ICMP_ECHO_REQUEST:
        AXL_STAT_INC(s, IcmpInEchos);
        if (dg->to_bcast || dg->l2flags) {
            AXL_STAT_INC(s, DropIcmpBcastEcho); /* RFC 1122 §3.2.2.6 MAY discard */
            goto drop;
        }
        echo_reply(s, dg, p);
        return;
    case AXL_ICMP_ECHO_REPLY:
        AXL_STAT_INC(s, IcmpInEchoReps);
        if (!s->icmp.echo_fn || dg->to_bcast) {
            AXL_STAT_INC(s, DropIcmpEchoReply); /* nobody asked */
            goto drop;
        }
        s->icmp.echo_fn(s->icmp.echo_arg, dg->src, axl_load_be16(p + 4), axl_load_be16(p + 6),
                        p + AXL_ICMP_HLEN, dg->len - AXL_ICMP_HLEN, dg->ttl);
        goto drop;
    case AXL_ICMP_DEST_UNREACH:
    case AXL_ICMP_TIME_EXCEEDED:
        if (type == AXL_ICMP_DEST_UNREACH)
            AXL_STAT_INC(s, IcmpInDestUnreachs);
        else
            AXL_STAT_INC(s, IcmpInTimeExcds);
        if (error_input(s, type, axl_icmp_view_code(&v), axl_icmp_view_rest(&v),
                        axl_icmp_view_data(&v), axl_icmp_view_data_len(&v)) < 0)
            AXL_STAT_INC(s, DropIcmpBadQuote);
        goto drop;
    default:
        AXL_STAT_INC(s, DropIcmpUnsupported);
        goto drop;
    }
drop:
    axl_pkt_free_chain(s->pool, dg->head);
}

int axl_icmp_send_error(struct axl_stack *s, const struct axl_ipdg *dg, uint8_t type, uint8_t code,
                        uint32_t rest)
{
    /* RFC 1122 §3.2.2: not about an ICMP error message ... */
    if (dg->proto == AXL_IPPROTO_ICMP) {
        uint8_t t;
        if (axl_chain_copy(dg->head, 0, &t, 1) != 1 || axl_icmp_type_is_error(t)) return 0;
    }
    /* ... a broadcast or multicast (IP or link), a non-initial fragment ... */
    if (dg->to_bcast || dg->l2flags || axl_ipv4_is_mcast(dg->dst)) return 0;
    if (dg->iph_len < AXL_IPV4_HLEN_MIN ||
        (axl_load_be16(dg->iph + AXL_IPV4_OFF_FRAG) & AXL_IPV4_FRAG_MASK))
        return 0;
    /* ... or a source that does not define a single host. */
    uint32_t src = dg->src;
    if (axl_ipv4_is_zeronet(src) || axl_ipv4_is_loopback(src) || axl_ipv4_is_mcast(src) ||
        axl_ipv4_is_reserved(src) || axl_stack_is_bcast(s, src))
        return 0;
    int local = src == s->addr;
    if (!local && !rate_allow(s)) {
        AXL_STAT_INC(s, IcmpOutRateLimited);
        return 0;
    }

    uint8_t msg[AXL_ICMP_QUOTE_MAX - AXL_IPV4_HLEN_MIN];
    uint32_t room = (uint32_t)sizeof(msg) - AXL_ICMP_HLEN;
    uint32_t ih = AXL_MIN((uint32_t)dg->iph_len, room);
    memcpy(msg + AXL_ICMP_HLEN, dg->iph, ih);
    uint32_t qlen = ih + axl_chain_copy(dg->head, 0, msg + AXL_ICMP_HLEN + ih, room - ih);
    struct axl_icmp_repr r = {
        .type = type, .code = code, .rest = rest, .data = msg + AXL_ICMP_HLEN, .data_len = qlen};
    int n = axl_icmp_repr_emit(&r, msg, sizeof(msg));

    if (local) {
        AXL_STAT_INC(s, IcmpInMsgs);
        if (type == AXL_ICMP_DEST_UNREACH)
            AXL_STAT_INC(s, IcmpInDestUnreachs);
        else if (type == AXL_ICMP_TIME_EXCEEDED)
            AXL_STAT_INC(s, IcmpInTimeExcds);
        error_input(s, type, code, rest, msg + AXL_ICMP_HLEN, qlen);
        return 1;
    }
    struct axl_ipv4_out o = {.dst = src, .proto = AXL_IPPROTO_ICMP, .tos = dg->tos};
    if (axl_ipv4_output(s, &o, msg, (uint32_t)n, NULL, 0) < 0) return 0;
    AXL_STAT_INC(s, IcmpOutMsgs);
    if (type == AXL_ICMP_DEST_UNREACH)
        AXL_STAT_INC(s, IcmpOutDestUnreachs);
    else if (type == AXL_ICMP_TIME_EXCEEDED)
        AXL_STAT_INC(s, IcmpOutTimeExcds);
    return 1;
}
