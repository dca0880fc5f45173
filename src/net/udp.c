/* SPDX-License-Identifier: MIT */
/*
 * net/udp.c - UDP (RFC 768, RFC 1122 §4.1) over the engine (see net/udp.h).
 *
 * Demux is one array load: by_port[] has an entry for every local port
 * (65536 pointers, 512 KiB of virtual memory per stack, touched only where
 * sockets are bound). One socket per port; datagrams to a broadcast
 * destination are delivered to the socket bound to the port like unicast
 * ones, but never answered with an ICMP error (RFC 1122 §4.1.3.6).
 *
 * Checksums (RFC 768, RFC 1122 §4.1.3.4): verified when present; a zero
 * checksum means none was sent; frames the port marks CSUM_PARTIAL (a local
 * kernel peer using offload, the bytes never crossed a wire) or CSUM_OK are
 * not verified again, the former counted UdpInCsumPartial. We always send a
 * checksum (§4.1.3.4 MUST default on).
 *
 * Receive queues hold the received buffers themselves (zero copy) up to
 * AXL_UDP_RCVQ_DEFAULT datagrams; a callback socket gets the bytes in place
 * (a reassembled datagram is linearised into the stack's scratch buffer).
 *
 * Call chain: ipv4.c deliver -> axl_udp_input -> queue | callback;
 * application -> axl_udp_sendto -> ipv4.c axl_ipv4_output -> arp.c.
 */
#include "net/udp.h"

#include <stdlib.h>
#include <string.h>

#include "core/compiler.h"
#include "core/err.h"
#include "net/stack_priv.h"
#include "wire/csum.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"
#include "wire/udp.h"

#define NPORTS 65536u

int axl_udp_init(struct axl_stack *s)
{
    s->udp.by_port = calloc(NPORTS, sizeof(*s->udp.by_port));
    s->udp.all = NULL;
    return s->udp.by_port ? 0 : AXL_ENOMEM;
}

static void sock_free(struct axl_stack *s, struct axl_udp_sock *us)
{
    while (us->qlen) {
        axl_pkt_free_chain(s->pool, us->q[us->qhead].head);
        us->qhead = (us->qhead + 1) % us->qcap;
        us->qlen--;
    }
    if (us->prev)
        us->prev->next = us->next;
    else
        s->udp.all = us->next;
    if (us->next) us->next->prev = us->prev;
    s->udp.by_port[us->port] = NULL;
    free(us->q);
    free(us);
}

void axl_udp_fini(struct axl_stack *s)
{
    if (!s->udp.by_port) return;
    while (s->udp.all)
        sock_free(s, s->udp.all);
    free(s->udp.by_port);
    s->udp.by_port = NULL;
}

int axl_udp_bind(struct axl_stack *s, uint16_t port, axl_udp_recv_fn cb, void *arg,
                 struct axl_udp_sock **out)
{
    if (!s || !out) return AXL_EINVAL;
    if (port == 0) {
        /* RFC 6056 §3.3.1-like: random start, then the next free port. */
        uint32_t range = AXL_UDP_EPHEMERAL_HI - AXL_UDP_EPHEMERAL_LO + 1;
        uint32_t start = axl_rand_below(&s->rng, range);
        for (uint32_t i = 0; i < range && !port; i++) {
            uint32_t p = AXL_UDP_EPHEMERAL_LO + (start + i) % range;
            if (!s->udp.by_port[p]) port = (uint16_t)p;
        }
        if (!port) return AXL_EADDRINUSE;
    } else if (s->udp.by_port[port]) {
        return AXL_EADDRINUSE;
    }
    struct axl_udp_sock *us = calloc(1, sizeof(*us));
    if (!us) return AXL_ENOMEM;
    if (!cb) {
        us->qcap = AXL_UDP_RCVQ_DEFAULT;
        us->q = calloc(us->qcap, sizeof(*us->q));
        if (!us->q) {
            free(us);
            return AXL_ENOMEM;
        }
    }
    us->s = s;
    us->port = port;
    us->cb = cb;
    us->arg = arg;
    us->next = s->udp.all;
    if (us->next) us->next->prev = us;
    s->udp.all = us;
    s->udp.by_port[port] = us;
    *out = us;
    return 0;
}

uint16_t axl_udp_local_port(const struct axl_udp_sock *us)
{
    return us->port;
}

void axl_udp_close(struct axl_stack *s, struct axl_udp_sock *us)
{
    if (s && us) sock_free(s, us);
}

int axl_udp_sendto(struct axl_stack *s, struct axl_udp_sock *us, const void *data, uint32_t len,
                   uint32_t daddr, uint16_t dport)
{
    uint8_t hdr[AXL_UDP_HLEN];

    if (!s || !us || (!data && len) || dport == 0) return AXL_EINVAL;
    if (len > AXL_UDP_MAX_PAYLOAD) return AXL_EMSGSIZE;
    uint16_t ulen = (uint16_t)(AXL_UDP_HLEN + len);
    axl_store_be16(hdr + AXL_UDP_OFF_SPORT, us->port);
    axl_store_be16(hdr + AXL_UDP_OFF_DPORT, dport);
    axl_store_be16(hdr + AXL_UDP_OFF_LEN, ulen);
    axl_store_be16(hdr + AXL_UDP_OFF_CSUM, 0);
    uint32_t sum = axl_csum_partial(hdr, AXL_UDP_HLEN, 0);
    if (len) sum = axl_csum_partial(data, len, sum);
    axl_store_be16(hdr + AXL_UDP_OFF_CSUM, axl_udp_csum_finish(sum, s->addr, daddr, ulen));

    struct axl_ipv4_out o = {.dst = daddr, .proto = AXL_IPPROTO_UDP};
    int rc = axl_ipv4_output(s, &o, hdr, AXL_UDP_HLEN, data, len);
    if (rc < 0) return rc;
    AXL_STAT_INC(s, UdpOutDatagrams);
    return (int)len;
}

int axl_udp_recvfrom(struct axl_stack *s, struct axl_udp_sock *us, void *buf, uint32_t buflen,
                     uint32_t *saddr, uint16_t *sport)
{
    if (!s || !us || (!buf && buflen)) return AXL_EINVAL;
    if (us->err) {
        int e = us->err; /* reported once, like SO_ERROR */
        us->err = 0;
        return e;
    }
    if (!us->qlen) return AXL_EAGAIN;
    struct axl_udp_dgram *d = &us->q[us->qhead];
    uint32_t n = axl_chain_copy(d->head, 0, buf, AXL_MIN(buflen, d->len));
    if (saddr) *saddr = d->saddr;
    if (sport) *sport = d->sport;
    axl_pkt_free_chain(s->pool, d->head);
    d->head = NULL;
    us->qhead = (us->qhead + 1) % us->qcap;
    us->qlen--;
    return (int)n;
}

void axl_udp_err(struct axl_stack *s, uint16_t sport, int err)
{
    struct axl_udp_sock *us = s->udp.by_port[sport];
    if (us) us->err = err;
}

void axl_udp_input(struct axl_stack *s, struct axl_ipdg *dg)
{
    struct axl_pkt *head = dg->head;
    /* The header is contiguous: an unfragmented datagram is one slice, and a
     * first fragment carries at least 8 bytes (a non-zero multiple of 8). The
     * view spans the whole datagram for the length check; only header bytes
     * are read through it. */
    if (dg->len < AXL_UDP_HLEN || head->len < AXL_UDP_HLEN) {
        AXL_STAT_INC(s, UdpInErrors);
        AXL_STAT_INC(s, DropUdpTrunc);
        goto drop;
    }
    struct axl_udp_view v = {head->data, dg->len};
    int rc = axl_udp_view_check(&v);
    if (rc < 0) {
        AXL_STAT_INC(s, UdpInErrors);
        if (rc == AXL_EMALFORMED)
            AXL_STAT_INC(s, DropUdpBadLen);
        else
            AXL_STAT_INC(s, DropUdpTrunc);
        goto drop;
    }
    uint16_t ulen = axl_udp_view_len(&v);
    if (ulen < dg->len) {
        axl_chain_trim(s->pool, head, ulen); /* bytes after `length` are not data */
        dg->len = ulen;
    }
    uint16_t sport = axl_udp_view_sport(&v), dport = axl_udp_view_dport(&v);

    if (head->flags & AXL_PKT_F_CSUM_PARTIAL) {
        AXL_STAT_INC(s, UdpInCsumPartial);
    } else if (!(head->flags & AXL_PKT_F_CSUM_OK) && axl_udp_view_csum(&v) != 0) {
        uint32_t sum = axl_csum_pseudo_ipv4(dg->src, dg->dst, AXL_IPPROTO_UDP, ulen);
        if (axl_csum_fold(axl_chain_csum(head, ulen, sum)) != 0) {
            AXL_STAT_INC(s, UdpInErrors);
            AXL_STAT_INC(s, UdpInCsumErrors);
            AXL_STAT_INC(s, DropUdpBadCsum);
            goto drop;
        }
    }

    struct axl_udp_sock *us = s->udp.by_port[dport];
    if (!us) {
        AXL_STAT_INC(s, UdpNoPorts);
        AXL_STAT_INC(s, DropUdpNoPort);
        /* RFC 1122 §4.1.3.1: port unreachable SHOULD be sent (icmp.c applies
         * the broadcast/fragment/rate rules). */
        axl_icmp_send_error(s, dg, AXL_ICMP_DEST_UNREACH, AXL_ICMP_PORT_UNREACH, 0);
        goto drop;
    }

    /* Strip the header: the chain now holds the payload. */
    head->data += AXL_UDP_HLEN;
    head->len -= AXL_UDP_HLEN;
    dg->len -= AXL_UDP_HLEN;

    if (us->cb) {
        AXL_STAT_INC(s, UdpInDatagrams);
        const uint8_t *data = axl_ipdg_linear(s, dg);
        /* The callback may close `us` or send: touch neither us nor dg after. */
        us->cb(us, data, dg->len, dg->src, sport, us->arg);
        axl_pkt_free_chain(s->pool, head);
        return;
    }
    if (us->qlen == us->qcap) {
        AXL_STAT_INC(s, UdpRcvbufErrors);
        AXL_STAT_INC(s, UdpInErrors);
        AXL_STAT_INC(s, DropUdpRcvbuf);
        goto drop;
    }
    struct axl_udp_dgram *d = &us->q[(us->qhead + us->qlen) % us->qcap];
    d->head = head;
    d->len = dg->len;
    d->saddr = dg->src;
    d->sport = sport;
    us->qlen++;
    AXL_STAT_INC(s, UdpInDatagrams);
    return;

drop:
    axl_pkt_free_chain(s->pool, head);
}
