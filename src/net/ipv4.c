/* SPDX-License-Identifier: MIT */
/*
 * net/ipv4.c - IPv4 input, reassembly, routing and output (see net/ipv4.h).
 *
 * Input (RFC 791, RFC 1122 §3.2.1): the header is checked once by the wire
 * view (version, IHL, lengths, checksum); then the source must be a unicast
 * address that is not ours (§3.2.1.3), the destination ours or a broadcast
 * (no multicast groups are joined, so multicast is "not for us"), and a
 * unicast destination must not arrive in a link-layer broadcast (§3.3.6).
 * Options are skipped, never acted on. Fragments go to reassembly; whole
 * datagrams are delivered by protocol number.
 *
 * Output: routing is "on-link by prefix, else the default gateway, else
 * EHOSTUNREACH". A datagram above the MTU is fragmented (RFC 791 §3.2) unless
 * DF is asked for; the fragments share one identification from a per-stack
 * counter started at a random value.
 *
 * Call chain:
 *   stack.c demux -> axl_ipv4_input -> reasm_input -> deliver -> icmp/udp/tcp input
 *   udp.c/icmp.c -> axl_ipv4_output(_pkt) -> output_frags -> arp.c
 *   timer wheel -> reasm_timer -> icmp.c time exceeded
 */
#include "net/ipv4.h"
#include "net/arp.h"

#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/compiler.h"
#include "core/err.h"
#include "net/stack_priv.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"

/* --- reassembly ------------------------------------------------------------ */

static uint32_t frag_cost(const struct axl_stack *s)
{
    return s->pool->buf_size;
}

/* Free a slot's fragments, counting each in the given Drop* counter. */
static void reasm_free_frags(struct axl_stack *s, struct axl_reasm *r, enum axl_stat_id why)
{
    for (uint32_t i = 0; i < r->nfrags; i++) {
        r->frags[i].pkt->next = NULL;
        axl_pkt_free(s->pool, r->frags[i].pkt);
        s->stats.v[why]++;
    }
    s->ip.reasm_held -= (uint64_t)r->nfrags * frag_cost(s);
    r->nfrags = 0;
    r->covered = 0;
    r->first_idx_valid = 0;
    r->iph = NULL;
}

static void reasm_release(struct axl_stack *s, struct axl_reasm *r)
{
    axl_timer_stop(&s->tw, &r->timer);
    r->state = AXL_REASM_FREE;
    s->ip.nactive--;
}

/* Discard a datagram but remember it until its timer (RFC 5722 §4: later
 * fragments of it are discarded too). */
static void reasm_poison(struct axl_stack *s, struct axl_reasm *r, enum axl_stat_id why)
{
    if (r->state == AXL_REASM_ACTIVE) AXL_STAT_INC(s, IpReasmFails);
    reasm_free_frags(s, r, why);
    r->state = AXL_REASM_POISONED;
}

static void reasm_timer(struct axl_timer *t, void *arg)
{
    struct axl_stack *s = arg;
    struct axl_reasm *r = axl_container_of(t, struct axl_reasm, timer);

    if (r->state == AXL_REASM_ACTIVE) {
        AXL_STAT_INC(s, IpReasmTimeout);
        AXL_STAT_INC(s, IpReasmFails);
        if (r->first_idx_valid) {
            /* RFC 1122 §3.3.2: discard, and send a time exceeded (code 1,
             * RFC 792) if fragment zero has been received. */
            struct axl_pkt *f0 = r->frags[0].pkt;
            f0->next = NULL;
            struct axl_ipdg dg = {
                .head = f0,
                .len = r->frags[0].len,
                .iph = r->iph,
                .iph_len = r->iph_len,
                .src = r->src,
                .dst = r->dst,
                .proto = r->proto,
                .ttl = r->ttl,
                .tos = r->tos,
                .to_bcast = r->to_bcast,
                .l2flags = r->l2flags,
            };
            axl_icmp_send_error(s, &dg, AXL_ICMP_TIME_EXCEEDED, AXL_ICMP_REASM_EXCEEDED, 0);
        }
        reasm_free_frags(s, r, AXL_STAT_DropIpReasmTimeout);
    }
    reasm_release(s, r);
}

/* Linear scan of AXL_REASM_MAX_DGRAMS (64) slots: a few dozen compares, only
 * for fragments, which are rare on a path with a sane MTU. */
static struct axl_reasm *reasm_find(struct axl_stack *s, uint32_t src, uint32_t dst, uint16_t id,
                                    uint8_t proto)
{
    for (uint32_t i = 0; i < AXL_REASM_MAX_DGRAMS; i++) {
        struct axl_reasm *r = &s->ip.reasm[i];
        if (r->state != AXL_REASM_FREE && r->id == id && r->src == src && r->dst == dst &&
            r->proto == proto)
            return r;
    }
    return NULL;
}

/* Oldest slot other than `keep` that holds something or is poisoned. */
static struct axl_reasm *reasm_oldest(struct axl_stack *s, const struct axl_reasm *keep)
{
    struct axl_reasm *old = NULL;
    for (uint32_t i = 0; i < AXL_REASM_MAX_DGRAMS; i++) {
        struct axl_reasm *r = &s->ip.reasm[i];
        if (r == keep || r->state == AXL_REASM_FREE) continue;
        if (!old || r->started_ns < old->started_ns) old = r;
    }
    return old;
}

static struct axl_reasm *reasm_new(struct axl_stack *s, const struct axl_ipdg *dg, uint16_t id)
{
    struct axl_reasm *r = NULL;
    for (uint32_t i = 0; i < AXL_REASM_MAX_DGRAMS && !r; i++)
        if (s->ip.reasm[i].state == AXL_REASM_FREE) r = &s->ip.reasm[i];
    if (!r) {
        r = reasm_oldest(s, NULL);
        if (r->state == AXL_REASM_ACTIVE) AXL_STAT_INC(s, IpReasmFails);
        reasm_free_frags(s, r, AXL_STAT_DropIpReasmEvict);
        reasm_release(s, r);
    }
    r->state = AXL_REASM_ACTIVE;
    r->proto = dg->proto;
    r->have_last = 0;
    r->first_idx_valid = 0;
    r->id = id;
    r->nfrags = 0;
    r->src = dg->src;
    r->dst = dg->dst;
    r->total = 0;
    r->covered = 0;
    r->started_ns = s->now_ns;
    r->iph = NULL;
    s->ip.nactive++;
    axl_timer_start_at(&s->tw, &r->timer, s->now_ns + s->ip.reasm_timeout_ns);
    return r;
}

/* Make room for one more fragment buffer under reasm_max by discarding the
 * oldest other datagrams that hold buffers. 0, or -1 if `r` alone would
 * exceed the bound. */
static int reasm_make_room(struct axl_stack *s, struct axl_reasm *r)
{
    while (s->ip.reasm_held + frag_cost(s) > s->ip.reasm_max) {
        struct axl_reasm *old = NULL;
        for (uint32_t i = 0; i < AXL_REASM_MAX_DGRAMS; i++) {
            struct axl_reasm *c = &s->ip.reasm[i];
            if (c != r && c->nfrags && (!old || c->started_ns < old->started_ns)) old = c;
        }
        if (!old) return -1;
        AXL_STAT_INC(s, IpReasmFails);
        reasm_free_frags(s, old, AXL_STAT_DropIpReasmMem);
        reasm_release(s, old);
    }
    return 0;
}

/* Add a fragment (dg->head, its data/len already narrowed to the fragment
 * payload). Returns 1 with dg describing the whole datagram when complete;
 * 0 when the fragment was kept or dropped (consumed either way). */
static int reasm_input(struct axl_stack *s, struct axl_ipdg *dg, uint32_t off, int mf, uint16_t id)
{
    struct axl_pkt *pkt = dg->head;
    uint32_t len = dg->len;
    uint32_t end = off + len;

    AXL_STAT_INC(s, IpReasmReqds);
    /* RFC 791 §3.2: every fragment but the last carries a multiple of 8. */
    if (len == 0 || (mf && (len & 7))) {
        AXL_STAT_INC(s, DropIpFragBadLen);
        goto drop;
    }
    /* The reassembled datagram could not be represented (ping of death). */
    if (end + dg->iph_len > AXL_IPV4_MAX_LEN) {
        AXL_STAT_INC(s, DropIpFragBadOffset);
        goto drop;
    }

    struct axl_reasm *r = reasm_find(s, dg->src, dg->dst, id, dg->proto);
    if (r && r->state == AXL_REASM_POISONED) {
        AXL_STAT_INC(s, DropIpFragPoisoned);
        goto drop;
    }
    if (!r) r = reasm_new(s, dg, id);

    /* Sorted position: first fragment with an offset >= off. */
    uint32_t n = r->nfrags, i = 0;
    while (i < n && r->frags[i].off < off)
        i++;
    if (i < n && r->frags[i].off == off && r->frags[i].len == len) {
        AXL_STAT_INC(s, DropIpFragDup); /* exact duplicate: harmless */
        goto drop;
    }
    int overlap = (i > 0 && r->frags[i - 1].off + r->frags[i - 1].len > off) ||
                  (i < n && end > r->frags[i].off);
    if (!mf) {
        uint32_t max_end = n ? (uint32_t)r->frags[n - 1].off + r->frags[n - 1].len : 0;
        if ((r->have_last && r->total != end) || max_end > end)
            overlap = 1; /* two different ends, or data past the end */
    } else if (r->have_last && end >= r->total) {
        overlap = 1;
    }
    if (overlap) {
        AXL_STAT_INC(s, DropIpFragOverlap);
        reasm_poison(s, r, AXL_STAT_DropIpFragOverlap);
        goto drop;
    }
    if (n >= AXL_REASM_MAX_FRAGS) {
        AXL_STAT_INC(s, DropIpFragTooBig);
        reasm_poison(s, r, AXL_STAT_DropIpFragTooBig);
        goto drop;
    }
    if (reasm_make_room(s, r) < 0) {
        AXL_STAT_INC(s, DropIpReasmMem);
        reasm_poison(s, r, AXL_STAT_DropIpReasmMem);
        goto drop;
    }

    memmove(&r->frags[i + 1], &r->frags[i], (n - i) * sizeof(r->frags[0]));
    r->frags[i].pkt = pkt;
    r->frags[i].off = (uint16_t)off;
    r->frags[i].len = (uint16_t)len;
    r->nfrags++;
    r->covered += len;
    s->ip.reasm_held += frag_cost(s);
    if (!mf) {
        r->have_last = 1;
        r->total = end;
    }
    if (off == 0) {
        r->first_idx_valid = 1;
        r->iph = dg->iph;
        r->iph_len = dg->iph_len;
        r->ttl = dg->ttl;
        r->tos = dg->tos;
        r->to_bcast = dg->to_bcast;
        r->l2flags = dg->l2flags;
    }
    if (!r->have_last || r->covered != r->total) return 0;

    /* Complete: no overlaps, so covered == total means no holes. */
    for (uint32_t k = 0; k + 1 < r->nfrags; k++)
        r->frags[k].pkt->next = r->frags[k + 1].pkt;
    r->frags[r->nfrags - 1].pkt->next = NULL;
    dg->head = r->frags[0].pkt;
    dg->len = r->total;
    dg->iph = r->iph;
    dg->iph_len = r->iph_len;
    dg->ttl = r->ttl;
    dg->tos = r->tos;
    dg->to_bcast = r->to_bcast;
    dg->l2flags = r->l2flags;
    dg->reasm = 1;
    s->ip.reasm_held -= (uint64_t)r->nfrags * frag_cost(s);
    r->nfrags = 0;
    reasm_release(s, r);
    AXL_STAT_INC(s, IpReasmOKs);
    return 1;

drop:
    axl_pkt_free(s->pool, pkt);
    return 0;
}

/* --- input ------------------------------------------------------------------ */

static void deliver(struct axl_stack *s, struct axl_ipdg *dg)
{
    switch (dg->proto) {
    case AXL_IPPROTO_ICMP:
        AXL_STAT_INC(s, IpInDelivers);
        axl_icmp_input(s, dg);
        return;
    case AXL_IPPROTO_UDP:
        AXL_STAT_INC(s, IpInDelivers);
        axl_udp_input(s, dg);
        return;
    case AXL_IPPROTO_TCP:
        AXL_STAT_INC(s, IpInDelivers);
        axl_tcp_input(s, dg); /* closed ports answer with RST (RFC 9293 §3.10.7.1) */
        return;
    default:
        AXL_STAT_INC(s, IpInUnknownProtos);
        AXL_STAT_INC(s, DropIpUnknownProto);
        break;
    }
    /* RFC 1122 §3.2.2.1: protocol unreachable SHOULD be sent. */
    axl_icmp_send_error(s, dg, AXL_ICMP_DEST_UNREACH, AXL_ICMP_PROTO_UNREACH, 0);
    axl_pkt_free_chain(s->pool, dg->head);
}

static int src_is_martian(const struct axl_stack *s, uint32_t src)
{
    /* RFC 1122 §3.2.1.3: a host MUST silently discard a datagram whose source
     * is not a valid unicast address; ours arriving from outside is a loop or
     * a spoof. */
    return axl_ipv4_is_zeronet(src) || axl_ipv4_is_loopback(src) || axl_ipv4_is_mcast(src) ||
           axl_ipv4_is_reserved(src) || axl_stack_is_bcast(s, src) || src == s->addr;
}

void axl_ipv4_input(struct axl_stack *s, struct axl_pkt *pkt, uint32_t l3_off, unsigned l2flags)
{
    struct axl_ipv4_view v = {pkt->data + l3_off, pkt->len - l3_off};
    enum axl_ipv4_fault fault;

    AXL_STAT_INC(s, IpInReceives);
    if (axl_unlikely(axl_ipv4_view_check(&v, &fault) < 0)) {
        switch (fault) {
        case AXL_IPV4_FAULT_TRUNC:
            AXL_STAT_INC(s, IpInTruncatedPkts);
            AXL_STAT_INC(s, DropIpTrunc);
            break;
        case AXL_IPV4_FAULT_VERSION:
            AXL_STAT_INC(s, IpInHdrErrors);
            AXL_STAT_INC(s, DropIpBadVersion);
            break;
        case AXL_IPV4_FAULT_IHL:
            AXL_STAT_INC(s, IpInHdrErrors);
            AXL_STAT_INC(s, DropIpBadIhl);
            break;
        case AXL_IPV4_FAULT_LEN:
            AXL_STAT_INC(s, IpInHdrErrors);
            AXL_STAT_INC(s, DropIpBadLen);
            break;
        default:
            AXL_STAT_INC(s, IpInHdrErrors);
            AXL_STAT_INC(s, DropIpBadCsum);
            break;
        }
        goto drop;
    }

    uint32_t src = axl_ipv4_view_src(&v), dst = axl_ipv4_view_dst(&v);
    if (axl_unlikely(src_is_martian(s, src))) {
        AXL_STAT_INC(s, IpInAddrErrors);
        AXL_STAT_INC(s, DropIpBadSrc);
        goto drop;
    }
    int to_bcast = axl_stack_is_bcast(s, dst);
    if (axl_unlikely(dst != s->addr && !to_bcast)) {
        AXL_STAT_INC(s, IpInAddrErrors);
        AXL_STAT_INC(s, DropIpNotForUs);
        goto drop;
    }
    if (axl_unlikely(!to_bcast && l2flags)) {
        AXL_STAT_INC(s, DropIpLinkBcast); /* RFC 1122 §3.3.6 */
        goto drop;
    }
    if (!to_bcast)
        axl_arp_glean(s, src, pkt->data + 6); /* Ethernet source address */
    unsigned hlen = axl_ipv4_view_hlen(&v);
    if (hlen > AXL_IPV4_HLEN_MIN)
        AXL_STAT_INC(s, IpInOptions); /* skipped: RFC 1122 §3.2.1.8 not honoured */

    struct axl_ipdg dg = {
        .head = pkt,
        .len = axl_ipv4_view_payload_len(&v),
        .iph = v.p,
        .iph_len = (uint16_t)hlen,
        .src = src,
        .dst = dst,
        .proto = axl_ipv4_view_proto(&v),
        .ttl = axl_ipv4_view_ttl(&v),
        .tos = axl_ipv4_view_tos(&v),
        .to_bcast = (uint8_t)to_bcast,
        .l2flags = (uint8_t)l2flags,
    };
    /* Narrow the packet to the transport bytes (drops Ethernet padding). */
    pkt->next = NULL;
    pkt->l3_off = (uint16_t)l3_off;
    pkt->l4_off = (uint16_t)(l3_off + hlen);
    pkt->data += l3_off + hlen;
    pkt->len = dg.len;

    if (axl_unlikely(axl_ipv4_view_is_frag(&v))) {
        if (!reasm_input(s, &dg, axl_ipv4_view_frag_off(&v), axl_ipv4_view_mf(&v),
                         axl_ipv4_view_id(&v)))
            return;
    }
    deliver(s, &dg);
    return;

drop:
    axl_pkt_free(s->pool, pkt);
}

/* --- routing and output -------------------------------------------------------- */

int axl_ipv4_route(const struct axl_stack *s, uint32_t dst, uint32_t *nexthop)
{
    if (axl_stack_is_bcast(s, dst) || axl_ipv4_is_mcast(dst)) {
        *nexthop = dst;
        return 0;
    }
    /* No loopback interface: our own address, 0/8, 127/8 and 240/4 are not
     * reachable through the port. */
    if (dst == s->addr || axl_ipv4_is_zeronet(dst) || axl_ipv4_is_loopback(dst) ||
        axl_ipv4_is_reserved(dst))
        return AXL_EHOSTUNREACH;
    if (((dst ^ s->addr) & s->mask) == 0) {
        *nexthop = dst;
        return 0;
    }
    if (s->gw) {
        *nexthop = s->gw;
        return 0;
    }
    return AXL_EHOSTUNREACH;
}

static void put_header(struct axl_stack *s, const struct axl_ipv4_out *o, uint8_t *buf,
                       uint32_t plen, uint32_t off, int mf, uint16_t id)
{
    struct axl_ipv4_repr r = {
        .src = s->addr,
        .dst = o->dst,
        .proto = o->proto,
        .ttl = o->ttl ? o->ttl : AXL_IP_TTL_DEFAULT,
        .tos = o->tos,
        .df = o->df,
        .mf = (uint8_t)mf,
        .id = id,
        .frag_off = (uint16_t)off,
        .payload_len = (uint16_t)plen,
    };
    axl_ipv4_repr_emit(&r, buf, AXL_IPV4_HLEN_MIN);
}

/* Copy bytes [off, off+n) of hdr||data to dst. */
static void copy_range(uint8_t *dst, const uint8_t *hdr, uint32_t hlen, const uint8_t *data,
                       uint32_t off, uint32_t n)
{
    if (off < hlen) {
        uint32_t k = AXL_MIN(n, hlen - off);
        memcpy(dst, hdr + off, k);
        dst += k;
        n -= k;
        off = hlen;
    }
    if (n) memcpy(dst, data + (off - hlen), n);
}

static int route_or_count(struct axl_stack *s, uint32_t dst, uint32_t *nh)
{
    int rc = axl_ipv4_route(s, dst, nh);
    if (rc < 0) {
        AXL_STAT_INC(s, IpOutNoRoutes);
        AXL_STAT_INC(s, DropNoRoute);
    }
    return rc;
}

/* RFC 791 §3.2 fragmentation: all pieces but the last carry a multiple of 8
 * bytes; every piece gets a copy of the (option-less) header. All buffers are
 * checked up front so a datagram is never sent in part for lack of them. */
static int output_frags(struct axl_stack *s, const struct axl_ipv4_out *o, uint32_t nh,
                        const uint8_t *hdr, uint32_t hlen, const uint8_t *data, uint32_t dlen)
{
    uint32_t total = hlen + dlen;
    if (o->df) {
        AXL_STAT_INC(s, IpFragFails);
        return AXL_EMSGSIZE;
    }
    uint32_t maxp = (s->mtu - AXL_IPV4_HLEN_MIN) & ~7u;
    uint32_t npieces = (total + maxp - 1) / maxp;
    if (s->pool->nfree < npieces) {
        AXL_STAT_INC(s, IpOutDiscards);
        AXL_STAT_INC(s, DropNoBuf);
        return AXL_ENOBUFS;
    }
    uint16_t id = s->ip.next_id++;
    for (uint32_t off = 0; off < total; off += maxp) {
        uint32_t n = AXL_MIN(maxp, total - off);
        struct axl_pkt *pkt = axl_pkt_alloc(s->pool);
        copy_range(pkt->data + AXL_IPV4_HLEN_MIN, hdr, hlen, data, off, n);
        put_header(s, o, pkt->data, n, off, off + n < total, id);
        pkt->len = AXL_IPV4_HLEN_MIN + n;
        AXL_STAT_INC(s, IpFragCreates);
        axl_arp_output(s, pkt, nh);
    }
    AXL_STAT_INC(s, IpFragOKs);
    return 0;
}

int axl_ipv4_output(struct axl_stack *s, const struct axl_ipv4_out *o, const uint8_t *hdr,
                    uint32_t hlen, const uint8_t *data, uint32_t dlen)
{
    uint32_t nh;
    uint32_t total = hlen + dlen;

    AXL_STAT_INC(s, IpOutRequests);
    if (total > AXL_IPV4_MAX_LEN - AXL_IPV4_HLEN_MIN) return AXL_EMSGSIZE;
    int rc = route_or_count(s, o->dst, &nh);
    if (rc < 0) return rc;
    if (total + AXL_IPV4_HLEN_MIN > s->mtu) return output_frags(s, o, nh, hdr, hlen, data, dlen);

    struct axl_pkt *pkt = axl_pkt_alloc(s->pool);
    if (!pkt) {
        AXL_STAT_INC(s, IpOutDiscards);
        AXL_STAT_INC(s, DropNoBuf);
        return AXL_ENOBUFS;
    }
    copy_range(pkt->data + AXL_IPV4_HLEN_MIN, hdr, hlen, data, 0, total);
    put_header(s, o, pkt->data, total, 0, 0, s->ip.next_id++);
    pkt->len = AXL_IPV4_HLEN_MIN + total;
    return axl_arp_output(s, pkt, nh);
}

int axl_ipv4_output_pkt(struct axl_stack *s, const struct axl_ipv4_out *o, struct axl_pkt *pkt)
{
    uint32_t nh;

    if (pkt->len + AXL_IPV4_HLEN_MIN > s->mtu ||
        axl_pkt_headroom(s->pool, pkt) < AXL_IPV4_HLEN_MIN + 14) {
        int rc = axl_ipv4_output(s, o, pkt->data, pkt->len, NULL, 0);
        axl_pkt_free(s->pool, pkt);
        return rc;
    }
    AXL_STAT_INC(s, IpOutRequests);
    int rc = route_or_count(s, o->dst, &nh);
    if (rc < 0) {
        axl_pkt_free(s->pool, pkt);
        return rc;
    }
    pkt->data -= AXL_IPV4_HLEN_MIN;
    put_header(s, o, pkt->data, pkt->len, 0, 0, s->ip.next_id++);
    pkt->len += AXL_IPV4_HLEN_MIN;
    return axl_arp_output(s, pkt, nh);
}

/* --- life cycle ------------------------------------------------------------- */

int axl_ipv4_init(struct axl_stack *s, uint32_t reasm_timeout_ms, uint32_t reasm_max_bytes)
{
    struct axl_ipv4_state *ip = &s->ip;
    ip->reasm = calloc(AXL_REASM_MAX_DGRAMS, sizeof(*ip->reasm));
    if (!ip->reasm) return AXL_ENOMEM;
    for (uint32_t i = 0; i < AXL_REASM_MAX_DGRAMS; i++)
        axl_timer_init(&ip->reasm[i].timer, reasm_timer, s);
    ip->next_id = (uint16_t)axl_rand_u64(&s->rng);
    ip->nactive = 0;
    ip->reasm_held = 0;
    ip->reasm_timeout_ns =
        (uint64_t)(reasm_timeout_ms ? reasm_timeout_ms : AXL_REASM_TIMEOUT_MS_DEFAULT) *
        AXL_NS_PER_MS;
    ip->reasm_max = reasm_max_bytes ? reasm_max_bytes : AXL_REASM_MAX_BYTES_DEFAULT;
    /* Never let held fragments take more than half the pool. */
    ip->reasm_max = AXL_MIN(ip->reasm_max, (uint64_t)s->pool->nbufs / 2 * s->pool->buf_size);
    return 0;
}

void axl_ipv4_fini(struct axl_stack *s)
{
    struct axl_ipv4_state *ip = &s->ip;
    if (!ip->reasm) return;
    for (uint32_t i = 0; i < AXL_REASM_MAX_DGRAMS; i++) {
        struct axl_reasm *r = &ip->reasm[i];
        if (r->state == AXL_REASM_FREE) continue;
        reasm_free_frags(s, r, AXL_STAT_DropIpReasmTimeout);
        reasm_release(s, r);
    }
    free(ip->reasm);
    ip->reasm = NULL;
}
