/* SPDX-License-Identifier: MIT */
/*
 * net/tcp_prepkt.c - pre-packetised objects (net/tcp_prepkt.h; Sandstorm,
 * SIGCOMM 2014 §3-4): an object is cut once into segments of `seg` payload
 * bytes, each with a frame template - Ethernet, IPv4 and TCP headers whose
 * per-connection fields are placeholders (zero) - and the checksums of that
 * template precomputed over the payload. Sending a segment patches the
 * placeholders and updates both checksums incrementally (RFC 1624 eqn. 3);
 * the payload is never summed again.
 *
 * Segment size: seg = MTU - 20 (IPv4) - 20 (TCP) - 12 (timestamps, as every
 * Linux peer negotiates them: RFC 7323 §3.2), i.e. the payload of a
 * full-sized segment with timestamps. A connection without timestamps sends
 * the same segments with a 20-byte TCP header (the template's option words
 * are removed by the same incremental update). A connection whose segments
 * must be smaller (a smaller peer MSS, a lowered path MTU, SACK blocks in the
 * header) sends the object's bytes as ordinary segments (TcpObjSegsFallback).
 *
 * How a segment finds its template: the object's bytes sit in the send queue
 * as one zero-copy chunk that remembers the object (tcp.c struct tcp_zc).
 * The sender cuts segments at the object's segment boundaries
 * (tcp_prepkt_seg_limit, from tcp_output.c), so new data and go-back-N
 * retransmissions after an RTO line up with the templates; xmit asks
 * tcp_prepkt_xmit first: a segment that is exactly one template is built
 * from it (TcpObjSegsTemplate), one that is not (a window-limited piece, a
 * SACK hole cut elsewhere) is built from the object bytes by the ordinary
 * path (TcpObjSegsRebuilt) - still correct, only slower.
 *
 * Variants: MEMCPY copies the template headers and the payload into a fresh
 * pool buffer per send. PRECOPY (Sandstorm "pre-copy") keeps up to PP_KMAX
 * ready frames per segment in pool buffers it holds (core/pool.h
 * axl_pkt_hold): the payload sits in the buffer at a fixed place, a send
 * takes a frame that is not lent, writes its headers in front of the
 * payload (54 or 66 bytes, patched as for MEMCPY), lends it (axl_pkt_lend)
 * and queues it: the payload is neither copied nor summed. The port frees
 * it when done (AF_XDP: on TX completion; the copying ports at once), which
 * returns it. Frames are built on demand: a segment whose frames are all
 * lent gets one more (a copy of the payload, once), up to PP_KMAX and while
 * the engine's held buffers stay under 1/PP_POOL_SHARE of its pool; past
 * that the send is built as MEMCPY (counted per object, "copied"). The
 * object lets go of its frames when it is freed (axl_pkt_unhold): a frame
 * still lent then is recycled by the port's free, never written again.
 *
 * The link layer: with a resolved (REACHABLE) ARP entry for the next hop the
 * destination MAC is patched here and the frame queued for the port; any
 * other case (STALE: re-confirmation due, unresolved, broadcast) goes through
 * axl_arp_output, which writes the Ethernet header itself.
 *
 * Call chain: axl_tcp_obj_create <- axl_obj_register (src/axl) / OBJ_REG
 * (src/svc); axl_tcp_send_obj -> tcp.c tcp_send_ref (send queue);
 * tcp_output.c send_new/tcp_send_data -> tcp_prepkt_seg_limit; xmit ->
 * tcp_prepkt_xmit -> axl_stack_xmit / axl_arp_output.
 */
#include "net/tcp_prepkt.h"

#include <stdlib.h>
#include <string.h>

#include "core/compiler.h"
#include "core/err.h"
#include "net/stack_priv.h"
#include "net/tcp_priv.h"
#include "wire/csum.h"
#include "wire/ipv4.h"

enum {
    PP_ETH = 14,
    PP_IP = 20,
    PP_TCP_TS = 32, /* 20 + NOP NOP TS(10) */
    PP_HDR = PP_ETH + PP_IP + PP_TCP_TS,
    PP_TS_OPT = 12,
    /* offsets inside the template */
    PP_IP_LEN = PP_ETH + 2,
    PP_IP_ID = PP_ETH + 4,
    PP_IP_CSUM = PP_ETH + 10,
    PP_IP_SRC = PP_ETH + 12,
    PP_IP_DST = PP_ETH + 16,
    PP_TCP = PP_ETH + PP_IP,
};

/** PP_KMAX: most ready frames one PRECOPY segment keeps (a frame is lent
 *  from its send until the port frees it; AF_XDP returns it on completion,
 *  so a segment sent again soon - a retransmission, the next response on
 *  another connection - needs a second one). */
#define PP_KMAX 4u
/** PP_POOL_SHARE: PRECOPY frames of one engine stay under nbufs / this. */
#define PP_POOL_SHARE 4u

/* One pre-built segment. */
struct pp_seg {
    uint32_t off;    /* first byte in the object */
    uint32_t len;    /* payload bytes */
    uint16_t tcp_hc; /* TCP checksum of the template (TS layout, zero placeholders) */
    uint16_t ip_hc;  /* IPv4 header checksum of the template */
    uint32_t nfr;    /* PRECOPY: ready frames built (fr[0..nfr-1]) */
};

struct axl_tcp_obj {
    struct axl_stack *s;
    const uint8_t *data;
    uint32_t len;
    uint32_t seg;  /* payload bytes of a full segment */
    uint32_t nseg;
    uint32_t refs; /* the creator's + one per send-queue chunk */
    uint8_t variant;
    uint8_t released;
    uint8_t hdr[PP_HDR]; /* the template headers (placeholders zero) */
    struct axl_pool *pool;  /* the engine's; PRECOPY frames are its buffers */
    struct axl_pkt **fr;    /* PRECOPY: PP_KMAX frames per segment, NULL if none */
    struct axl_tcp_obj_stats st;
    struct pp_seg segs[];
};

/* --- RFC 1624 eqn. 3, over several fields ---------------------------------------- */

/* HC' = ~(~HC + sum(~m + m')): one pass for all the words that change (RFC
 * 1624 §3 applies eqn. 3 word by word; the sums are associative). */
struct pp_ck {
    uint64_t acc;
};
static inline void ck_start(struct pp_ck *c, uint16_t hc)
{
    c->acc = (uint16_t)~hc;
}
static inline void ck_16(struct pp_ck *c, uint16_t m, uint16_t m2)
{
    c->acc += (uint16_t)~m;
    c->acc += m2;
}
static inline void ck_32(struct pp_ck *c, uint32_t m, uint32_t m2)
{
    ck_16(c, (uint16_t)(m >> 16), (uint16_t)(m2 >> 16));
    ck_16(c, (uint16_t)m, (uint16_t)m2);
}
static inline uint16_t ck_end(const struct pp_ck *c)
{
    uint64_t s = c->acc;
    s = (s & 0xffffffffu) + (s >> 32);
    return (uint16_t)~axl_csum_add32(0, (uint32_t)((s & 0xffffffffu) + (s >> 32)));
}

/* --- registration ------------------------------------------------------------------ */

static void build_template(const struct axl_stack *s, uint8_t *h)
{
    memset(h, 0, PP_HDR);
    /* Ethernet: destination patched per send */
    memcpy(h + 6, s->mac, 6);
    axl_store_be16(h + 12, 0x0800);
    /* IPv4 (RFC 791): total length, id, addresses, checksum per send */
    uint8_t *ip = h + PP_ETH;
    ip[0] = 0x45;
    ip[1] = 0;                      /* TOS */
    axl_store_be16(ip + 6, 0x4000); /* DF: segments are sized to the MTU */
    ip[8] = AXL_IP_TTL_DEFAULT;
    ip[9] = AXL_IPPROTO_TCP;
    /* TCP (RFC 9293 §3.1): data offset 8 words, NOP NOP TS (RFC 7323
     * Appendix A layout, as wire/tcp.c emits it) */
    uint8_t *tcp = h + PP_TCP;
    tcp[12] = (uint8_t)((PP_TCP_TS / 4) << 4);
    tcp[20] = 1;
    tcp[21] = 1;
    tcp[22] = 8;
    tcp[23] = 10;
}

int axl_tcp_obj_create(struct axl_stack *s, const void *data, uint32_t len,
                       enum axl_tcp_obj_variant v, struct axl_tcp_obj **out)
{
    if (!s || !data || !out || !len || len > AXL_TCP_OBJ_MAX) return AXL_EINVAL;
    if (v != AXL_TCP_OBJ_PRECOPY && v != AXL_TCP_OBJ_MEMCPY) return AXL_EINVAL;
    if (s->mtu < PP_IP + PP_TCP_TS + 8) return AXL_EINVAL;
    uint32_t seg = s->mtu - PP_IP - PP_TCP_TS;
    uint32_t nseg = (len + seg - 1) / seg;
    struct axl_tcp_obj *o = calloc(1, sizeof(*o) + (size_t)nseg * sizeof(struct pp_seg));
    if (!o) return AXL_ENOMEM;
    o->s = s;
    o->data = data;
    o->len = len;
    o->seg = seg;
    o->nseg = nseg;
    o->refs = 1;
    o->variant = (uint8_t)v;
    o->pool = s->pool;
    /* A pre-copied frame keeps its payload at headroom + PP_HDR. */
    if (v == AXL_TCP_OBJ_PRECOPY && s->pool &&
        s->pool->buf_size - s->pool->headroom >= PP_HDR + seg) {
        o->fr = calloc((size_t)nseg * PP_KMAX, sizeof(*o->fr));
        if (!o->fr) {
            free(o);
            return AXL_ENOMEM;
        }
    }
    build_template(s, o->hdr);
    uint8_t ip[PP_IP];
    uint32_t hsum = axl_csum_partial(o->hdr + PP_TCP, PP_TCP_TS, 0);
    for (uint32_t i = 0; i < nseg; i++) {
        struct pp_seg *g = &o->segs[i];
        g->off = i * seg;
        g->len = AXL_MIN(seg, len - g->off);
        /* The payload is summed here, once (RFC 1071); its sum lives on in
         * tcp_hc. The pseudo-header (RFC 9293 §3.1) with zero addresses. */
        uint32_t sum = axl_csum_partial(o->data + g->off, g->len, 0);
        sum = axl_csum_add32(sum, hsum);
        sum = axl_csum_add32(sum, axl_csum_pseudo_ipv4(0, 0, AXL_IPPROTO_TCP,
                                                       (uint16_t)(PP_TCP_TS + g->len)));
        g->tcp_hc = axl_csum_fold(sum);
        memcpy(ip, o->hdr + PP_ETH, PP_IP);
        axl_store_be16(ip + 2, (uint16_t)(PP_IP + PP_TCP_TS + g->len));
        g->ip_hc = axl_csum(ip, PP_IP);
    }
    *out = o;
    return 0;
}

static void obj_free(struct axl_tcp_obj *o)
{
    if (o->fr)
        for (uint32_t i = 0; i < o->nseg; i++)
            for (uint32_t k = 0; k < o->segs[i].nfr; k++)
                axl_pkt_unhold(o->pool, o->fr[(size_t)i * PP_KMAX + k]); /* lent: the port recycles it */
    free(o->fr);
    free(o);
}

void tcp_prepkt_unref(struct axl_tcp_obj *o)
{
    if (o && o->refs && --o->refs == 0) obj_free(o);
}

void axl_tcp_obj_release(struct axl_tcp_obj *o)
{
    if (!o || o->released) return;
    o->released = 1;
    tcp_prepkt_unref(o);
}

uint32_t axl_tcp_obj_len(const struct axl_tcp_obj *o)
{
    return o ? o->len : 0;
}

void axl_tcp_obj_get_stats(const struct axl_tcp_obj *o, struct axl_tcp_obj_stats *st)
{
    memset(st, 0, sizeof(*st));
    if (!o) return;
    *st = o->st;
    st->frames = st->frames_lent = 0;
    if (!o->fr) return;
    for (uint32_t i = 0; i < o->nseg; i++)
        for (uint32_t k = 0; k < o->segs[i].nfr; k++) {
            st->frames++;
            st->frames_lent += axl_pkt_is_lent(o->fr[(size_t)i * PP_KMAX + k]) != 0;
        }
}

int axl_tcp_send_obj(struct axl_tcb *c, struct axl_tcp_obj *o, void *cookie)
{
    if (!c || !o || o->released || o->s != axl_tcp_stack(c)) return AXL_EINVAL;
    o->refs++; /* the send queue's, dropped when the chunk is acked or purged */
    int rc = tcp_send_ref(c, o->data, o->len, cookie, o);
    if (rc < 0) o->refs--;
    return rc;
}

/* --- sending ----------------------------------------------------------------------- */

/* The object and object offset of send-queue offset off, or NULL. */
static struct axl_tcp_obj *obj_at(struct axl_tcb *t, uint32_t off, uint32_t *ooff,
                                  struct axl_pkt **chunk, uint32_t *base)
{
    struct axl_pkt *p = tcp_sndq_chunk(t, off, base);
    *chunk = p;
    if (!p) return NULL;
    struct axl_tcp_obj *o = tcp_sndq_chunk_obj(t, p);
    if (o) *ooff = (uint32_t)(p->data - o->data) + (off - *base);
    return o;
}

uint32_t tcp_prepkt_seg_limit(struct axl_tcb *t, uint32_t off, uint32_t len, int *cut)
{
    *cut = 0;
    if (!len) return 0;
    uint32_t ooff = 0, base;
    struct axl_pkt *p;
    struct axl_tcp_obj *o = obj_at(t, off, &ooff, &p, &base);
    uint32_t lim;
    if (o) {
        if (o->s != t->s || tcp_seg_max(t) < o->seg) return len; /* fallback: no templates */
        lim = o->seg - ooff % o->seg; /* to the next segment boundary (or the end) */
    } else if (p && p->next && tcp_sndq_chunk_obj(t, p->next)) {
        lim = base + p->len - off; /* copy bytes up to an object's start */
    } else {
        return len;
    }
    if (len <= lim) return len;
    *cut = 1;
    return lim;
}

/* Write the headers of segment g for the connection into frame (PP_ETH +
 * PP_IP + hlen bytes, hlen 32 with timestamps, else 20); returns hlen. */
static uint32_t patch_headers(const struct axl_tcp_obj *o, const struct pp_seg *g,
                              const struct axl_tcb *t, const struct axl_tcp_repr *r,
                              uint16_t ip_id, uint8_t *frame)
{
    int ts = r->opts.has_ts;
    uint32_t hlen = ts ? PP_TCP_TS : PP_TCP_TS - PP_TS_OPT;
    memcpy(frame, o->hdr, PP_ETH + PP_IP + hlen);
    uint8_t *ip = frame + PP_ETH;
    uint8_t *tcp = ip + PP_IP;

    /* IPv4 header (RFC 791): length (without TS), id, addresses. */
    uint16_t tot_tmpl = (uint16_t)(PP_IP + PP_TCP_TS + g->len);
    uint16_t tot = (uint16_t)(PP_IP + hlen + g->len);
    struct pp_ck ck;
    ck_start(&ck, g->ip_hc);
    ck_16(&ck, tot_tmpl, tot);
    ck_16(&ck, 0, ip_id);
    ck_32(&ck, 0, t->laddr);
    ck_32(&ck, 0, t->raddr);
    axl_store_be16(ip + 2, tot);
    axl_store_be16(ip + 4, ip_id);
    axl_store_be32(ip + 12, t->laddr);
    axl_store_be32(ip + 16, t->raddr);
    axl_store_be16(ip + 10, ck_end(&ck));

    /* TCP header: the pseudo-header's addresses and length, ports, numbers,
     * data offset and flags, window, timestamps (or their removal). */
    uint16_t w12_tmpl = (uint16_t)((PP_TCP_TS / 4) << 12);
    uint16_t w12 = (uint16_t)(((hlen / 4) << 12) | r->flags);
    ck_start(&ck, g->tcp_hc);
    ck_32(&ck, 0, t->laddr);
    ck_32(&ck, 0, t->raddr);
    ck_16(&ck, (uint16_t)(PP_TCP_TS + g->len), (uint16_t)(hlen + g->len));
    ck_16(&ck, 0, r->sport);
    ck_16(&ck, 0, r->dport);
    ck_32(&ck, 0, r->seq);
    ck_32(&ck, 0, r->ack);
    ck_16(&ck, w12_tmpl, w12);
    ck_16(&ck, 0, r->window);
    if (ts) {
        ck_32(&ck, 0, r->opts.ts_val);
        ck_32(&ck, 0, r->opts.ts_ecr);
        axl_store_be32(tcp + 24, r->opts.ts_val);
        axl_store_be32(tcp + 28, r->opts.ts_ecr);
    } else {
        /* The option words leave the segment: as if they became zero. */
        ck_16(&ck, 0x0101, 0);
        ck_16(&ck, 0x080a, 0);
    }
    axl_store_be16(tcp, r->sport);
    axl_store_be16(tcp + 2, r->dport);
    axl_store_be32(tcp + 4, r->seq);
    axl_store_be32(tcp + 8, r->ack);
    axl_store_be16(tcp + 12, w12);
    axl_store_be16(tcp + 14, r->window);
    axl_store_be16(tcp + 16, ck_end(&ck));
    return hlen;
}

/* PRECOPY: a ready frame of segment gi that is not lent, building one more
 * when all are (within PP_KMAX and the engine's share); NULL when none. */
static struct axl_pkt *pp_frame(struct axl_tcp_obj *o, uint32_t gi)
{
    if (!o->fr) return NULL;
    struct pp_seg *g = &o->segs[gi];
    struct axl_pkt **fr = o->fr + (size_t)gi * PP_KMAX;
    for (uint32_t k = 0; k < g->nfr; k++)
        if (!axl_pkt_is_lent(fr[k])) return fr[k];
    struct axl_pool *pool = o->pool;
    if (g->nfr == PP_KMAX || pool->nheld >= pool->nbufs / PP_POOL_SHARE) return NULL;
    struct axl_pkt *pkt = axl_pkt_alloc(pool);
    if (!pkt) return NULL;
    if (axl_pkt_hold(pool, pkt) < 0) { /* not reached: a fresh buffer */
        axl_pkt_free(pool, pkt);
        return NULL;
    }
    /* The one copy of this frame's payload (the "pre-copy"). */
    memcpy(axl_pool_buf(pool, pkt->idx) + pool->headroom + PP_HDR, o->data + g->off, g->len);
    fr[g->nfr++] = pkt;
    o->st.built++;
    return pkt;
}

int tcp_prepkt_xmit(struct axl_tcb *t, const struct axl_tcp_repr *r, uint32_t off,
                    uint32_t dlen, int *rc)
{
    struct axl_stack *s = t->s;
    uint32_t ooff = 0, base;
    struct axl_pkt *chunk;
    struct axl_tcp_obj *o = obj_at(t, off, &ooff, &chunk, &base);
    if (!o) return 0;
    /* Only data segments whose options are timestamps or nothing fit the
     * template (SACK blocks: the header grows, the payload shrinks). */
    if (o->s != s || r->opts.sack_n || r->opts.has_mss || r->opts.has_ws ||
        r->opts.has_sack_perm || r->urg || tcp_seg_max(t) < o->seg) {
        AXL_STAT_INC(s, TcpObjSegsFallback);
        return 0;
    }
    uint32_t gi = ooff / o->seg;
    struct pp_seg *g = &o->segs[gi];
    if (ooff % o->seg || dlen != g->len) {
        AXL_STAT_INC(s, TcpObjSegsRebuilt);
        return 0;
    }
    uint32_t hlen = r->opts.has_ts ? PP_TCP_TS : PP_TCP_TS - PP_TS_OPT;
    struct axl_pkt *pkt = NULL;
    if (o->variant == AXL_TCP_OBJ_PRECOPY) {
        pkt = pp_frame(o, gi);
        if (pkt) {
            /* The headers go right in front of the payload. */
            pkt->data = axl_pool_buf(o->pool, pkt->idx) + o->pool->headroom + PP_HDR -
                        (PP_ETH + PP_IP + hlen);
        } else {
            o->st.copied++; /* every frame of the segment lent, no more allowed */
        }
    }
    if (!pkt) {
        pkt = axl_pkt_alloc(s->pool);
        if (!pkt) return 0; /* the ordinary path counts DropNoBuf */
        memcpy(pkt->data + PP_ETH + PP_IP + hlen, o->data + g->off, g->len); /* MEMCPY */
    }
    AXL_STAT_INC(s, TcpOutSegs);
    AXL_STAT_INC(s, TcpObjSegsTemplate);
    if (r->flags & AXL_TCP_RST) AXL_STAT_INC(s, TcpOutRsts);
    AXL_STAT_INC(s, IpOutRequests);
    uint32_t nh;
    if (axl_ipv4_route(s, t->raddr, &nh) < 0) {
        AXL_STAT_INC(s, IpOutNoRoutes);
        AXL_STAT_INC(s, DropNoRoute);
        if (!axl_pkt_is_held(pkt)) axl_pkt_free(s->pool, pkt); /* a held frame stays ready */
        *rc = AXL_EHOSTUNREACH;
        return 1;
    }
    patch_headers(o, g, t, r, s->ip.next_id++, pkt->data);
    pkt->len = PP_ETH + PP_IP + hlen + g->len;
    pkt->next = NULL;
    if (axl_pkt_is_held(pkt)) {
        axl_pkt_lend(o->pool, pkt); /* the port's free hands it back */
        o->st.lent++;
    }
    const struct axl_arp_entry *e = axl_arp_lookup(s, nh);
    if (e && e->state == AXL_ARP_REACHABLE && !axl_stack_is_bcast(s, nh)) {
        memcpy(pkt->data, e->mac, 6); /* the MAC patch */
        axl_stack_xmit(s, pkt);
        *rc = (int)dlen;
        return 1;
    }
    pkt->data += PP_ETH; /* the link layer writes Ethernet (and resolves) */
    pkt->len -= PP_ETH;
    int arc = axl_arp_output(s, pkt, nh);
    *rc = arc < 0 ? arc : (int)dlen;
    return 1;
}
