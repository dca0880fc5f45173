/* SPDX-License-Identifier: MIT */
/*
 * net/arp.c - ARP cache, resolution and the Ethernet link output for IPv4
 * (RFC 826, RFC 1122 §2.3.2, RFC 5227 §2.3 announcements). States and bounds
 * are described in net/arp.h.
 *
 * Call chain:
 *   stack.c eth demux -> axl_arp_input -> merge/learn -> reply, flush pending
 *   ipv4.c output -> axl_arp_output -> eth_send -> axl_stack_xmit
 *   timer wheel -> entry_timer (retransmit, age, give up)
 *   give up -> axl_icmp_send_error (local host unreachable per pending packet)
 */
#include "net/arp.h"

#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/compiler.h"
#include "core/err.h"
#include "net/stack_priv.h"
#include "wire/arp.h"
#include "wire/eth.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"

#define ARP_FRAME_LEN (AXL_ETH_HLEN + AXL_ARP_LEN)

static const uint8_t zero_mac[6];

/* --- entries ------------------------------------------------------------ */

static struct axl_arp_entry *entry_find(const struct axl_stack *s, uint32_t ip)
{
    uint32_t h = axl_hash32(ip);
    for (struct axl_hnode *n = axl_htab_bucket(&s->arp.tab, h); n; n = n->next) {
        if (n->hash != h) continue;
        struct axl_arp_entry *e = axl_container_of(n, struct axl_arp_entry, hnode);
        if (e->ip == ip) return e;
    }
    return NULL;
}

const struct axl_arp_entry *axl_arp_lookup(const struct axl_stack *s, uint32_t ip)
{
    return entry_find(s, ip);
}

static void pending_free_all(struct axl_stack *s, struct axl_arp_entry *e)
{
    s->arp.npend_total -= e->npend;
    axl_pkt_free_chain(s->pool, e->pend_head);
    e->pend_head = e->pend_tail = NULL;
    e->npend = 0;
}

static void entry_release(struct axl_stack *s, struct axl_arp_entry *e)
{
    axl_timer_stop(&s->tw, &e->timer);
    pending_free_all(s, e);
    axl_htab_remove(&s->arp.tab, &e->hnode);
    e->state = AXL_ARP_FREE;
    s->arp.free_idx[s->arp.nfree++] = (uint32_t)(e - s->arp.entries);
}

/* A fresh entry for ip (not yet in any state), recycling the least recently
 * confirmed resolved entry when the cache is full: O(AXL_ARP_CACHE_SIZE),
 * only on a miss with a full cache. NULL if every entry is resolving. */
static struct axl_arp_entry *entry_alloc(struct axl_stack *s, uint32_t ip)
{
    struct axl_arp_cache *c = &s->arp;
    if (c->nfree == 0) {
        struct axl_arp_entry *victim = NULL;
        for (uint32_t i = 0; i < AXL_ARP_CACHE_SIZE; i++) {
            struct axl_arp_entry *e = &c->entries[i];
            if (e->state != AXL_ARP_REACHABLE && e->state != AXL_ARP_STALE) continue;
            if (!victim || e->updated_ns < victim->updated_ns) victim = e;
        }
        if (!victim) return NULL;
        entry_release(s, victim);
        AXL_STAT_INC(s, ArpCacheEvictions);
    }
    struct axl_arp_entry *e = &c->entries[c->free_idx[--c->nfree]];
    e->ip = ip;
    memset(e->mac, 0, sizeof(e->mac));
    e->tries = 0;
    e->probing = 0;
    e->npend = 0;
    e->pend_head = e->pend_tail = NULL;
    e->updated_ns = s->now_ns;
    axl_htab_insert(&c->tab, &e->hnode, axl_hash32(ip));
    return e;
}

static void entry_arm(struct axl_stack *s, struct axl_arp_entry *e, uint64_t delay_ns)
{
    axl_timer_start_at(&s->tw, &e->timer, s->now_ns + delay_ns);
}

/* --- frames ------------------------------------------------------------- */

/* Build and queue one ARP frame. */
static void arp_send(struct axl_stack *s, uint16_t op, const uint8_t *eth_dst, const uint8_t *tha,
                     uint32_t tpa, uint32_t spa)
{
    struct axl_pkt *pkt = axl_pkt_alloc(s->pool);
    if (!pkt) {
        AXL_STAT_INC(s, DropNoBuf);
        return;
    }
    struct axl_eth_repr eth = {.type = AXL_ETHERTYPE_ARP};
    memcpy(eth.dst, eth_dst, 6);
    memcpy(eth.src, s->mac, 6);
    struct axl_arp_repr arp = {.op = op, .spa = spa, .tpa = tpa};
    memcpy(arp.sha, s->mac, 6);
    memcpy(arp.tha, tha, 6);
    axl_eth_repr_emit(&eth, pkt->data, AXL_ETH_HLEN);
    axl_arp_repr_emit(&arp, pkt->data + AXL_ETH_HLEN, AXL_ARP_LEN);
    pkt->len = ARP_FRAME_LEN;
    axl_stack_xmit(s, pkt);
}

static void send_request(struct axl_stack *s, struct axl_arp_entry *e, int unicast)
{
    arp_send(s, AXL_ARP_OP_REQUEST, unicast ? e->mac : axl_eth_bcast_addr, zero_mac, e->ip,
             s->addr);
    AXL_STAT_INC(s, ArpOutRequests);
}

void axl_arp_announce(struct axl_stack *s)
{
    /* RFC 5227 §2.3: an ARP request with sender and target IP both ours. */
    arp_send(s, AXL_ARP_OP_REQUEST, axl_eth_bcast_addr, zero_mac, s->addr, s->addr);
    AXL_STAT_INC(s, ArpOutGratuitous);
}

/* Prepend Ethernet to an IPv4 packet (data at the IP header) and queue it. */
static void eth_send(struct axl_stack *s, struct axl_pkt *pkt, const uint8_t *dst)
{
    if (axl_unlikely(axl_pkt_headroom(s->pool, pkt) < AXL_ETH_HLEN)) {
        axl_pkt_free(s->pool, pkt);
        AXL_STAT_INC(s, DropNoBuf);
        return;
    }
    pkt->data -= AXL_ETH_HLEN;
    pkt->len += AXL_ETH_HLEN;
    memcpy(pkt->data + AXL_ETH_OFF_DST, dst, 6);
    memcpy(pkt->data + AXL_ETH_OFF_SRC, s->mac, 6);
    axl_store_be16(pkt->data + AXL_ETH_OFF_TYPE, AXL_ETHERTYPE_IPV4);
    axl_stack_xmit(s, pkt);
}

static void flush_pending(struct axl_stack *s, struct axl_arp_entry *e)
{
    struct axl_pkt *p = e->pend_head;
    s->arp.npend_total -= e->npend;
    e->pend_head = e->pend_tail = NULL;
    e->npend = 0;
    while (p) {
        struct axl_pkt *next = p->next;
        p->next = NULL;
        eth_send(s, p, e->mac);
        p = next;
    }
}

static void confirm(struct axl_stack *s, struct axl_arp_entry *e, const uint8_t *mac)
{
    memcpy(e->mac, mac, 6);
    e->state = AXL_ARP_REACHABLE;
    e->tries = 0;
    e->probing = 0;
    e->updated_ns = s->now_ns;
    entry_arm(s, e, s->arp.reachable_ns);
    if (e->npend) flush_pending(s, e);
}

/* No reply after all retries: drop what waits, each packet reported by an
 * ICMP host unreachable (RFC 1122 §2.3.2.2 / §3.2.2.1). We never forward, so
 * the source of every pending packet is us and the error is delivered
 * locally to the transport (as Linux does via ip_link_failure). */
static void resolve_failed(struct axl_stack *s, struct axl_arp_entry *e)
{
    struct axl_pkt *p = e->pend_head;
    s->arp.npend_total -= e->npend;
    e->pend_head = e->pend_tail = NULL;
    e->npend = 0;
    AXL_STAT_INC(s, ArpResolveFails);
    entry_release(s, e);

    while (p) {
        struct axl_pkt *next = p->next;
        p->next = NULL;
        AXL_STAT_INC(s, DropArpUnresolved);
        struct axl_ipv4_view v = {p->data, p->len};
        if (axl_ipv4_view_check(&v, NULL) == 0) {
            struct axl_ipdg dg = {
                .head = p,
                .len = axl_ipv4_view_payload_len(&v),
                .iph = p->data,
                .iph_len = (uint16_t)axl_ipv4_view_hlen(&v),
                .src = axl_ipv4_view_src(&v),
                .dst = axl_ipv4_view_dst(&v),
                .proto = axl_ipv4_view_proto(&v),
                .ttl = axl_ipv4_view_ttl(&v),
                .tos = axl_ipv4_view_tos(&v),
            };
            p->data += dg.iph_len;
            p->len = dg.len;
            axl_icmp_send_error(s, &dg, AXL_ICMP_DEST_UNREACH, AXL_ICMP_HOST_UNREACH, 0);
        }
        axl_pkt_free(s->pool, p);
        p = next;
    }
}

static void entry_timer(struct axl_timer *t, void *arg)
{
    struct axl_stack *s = arg;
    struct axl_arp_entry *e = axl_container_of(t, struct axl_arp_entry, timer);

    switch (e->state) {
    case AXL_ARP_INCOMPLETE:
        if (e->tries < AXL_ARP_RETRIES) {
            send_request(s, e, 0);
            e->tries++;
            entry_arm(s, e, AXL_ARP_RETRANS_MS * AXL_NS_PER_MS);
        } else {
            resolve_failed(s, e);
        }
        break;
    case AXL_ARP_REACHABLE:
        /* RFC 1122 §2.3.2.1: the entry times out; keep it usable, but
         * re-confirm before trusting it again. */
        e->state = AXL_ARP_STALE;
        e->probing = 0;
        e->tries = 0;
        entry_arm(s, e, s->arp.reachable_ns);
        break;
    case AXL_ARP_STALE:
        if (e->probing && e->tries < AXL_ARP_RETRIES) {
            send_request(s, e, 1);
            e->tries++;
            entry_arm(s, e, AXL_ARP_RETRANS_MS * AXL_NS_PER_MS);
        } else {
            if (e->probing) AXL_STAT_INC(s, ArpResolveFails);
            entry_release(s, e); /* unanswered probe, or unused for a lifetime */
        }
        break;
    default:
        break;
    }
}

/* --- output ------------------------------------------------------------- */

static int enqueue(struct axl_stack *s, struct axl_arp_entry *e, struct axl_pkt *pkt)
{
    /* RFC 1122 §2.3.2.2: keep the latest; past the bounds drop the oldest of
     * this entry, or the new packet if this entry holds none. */
    if (e->npend >= AXL_ARP_PENDING_MAX || s->arp.npend_total >= AXL_ARP_PENDING_TOTAL) {
        AXL_STAT_INC(s, DropArpPendingOverflow);
        if (!e->npend) {
            axl_pkt_free(s->pool, pkt);
            return AXL_ENOBUFS;
        }
        struct axl_pkt *old = e->pend_head;
        e->pend_head = old->next;
        if (!e->pend_head) e->pend_tail = NULL;
        e->npend--;
        s->arp.npend_total--;
        axl_pkt_free(s->pool, old);
    }
    pkt->next = NULL;
    if (e->pend_tail)
        e->pend_tail->next = pkt;
    else
        e->pend_head = pkt;
    e->pend_tail = pkt;
    e->npend++;
    s->arp.npend_total++;
    return 0;
}

int axl_arp_output(struct axl_stack *s, struct axl_pkt *pkt, uint32_t nexthop)
{
    uint8_t mac[6];

    if (axl_stack_is_bcast(s, nexthop)) {
        eth_send(s, pkt, axl_eth_bcast_addr);
        return 0;
    }
    if (axl_ipv4_is_mcast(nexthop)) {
        axl_ipv4_mcast_mac(nexthop, mac); /* RFC 1112 §6.4 */
        eth_send(s, pkt, mac);
        return 0;
    }
    struct axl_arp_entry *e = entry_find(s, nexthop);
    if (axl_likely(e != NULL)) {
        switch (e->state) {
        case AXL_ARP_REACHABLE:
            eth_send(s, pkt, e->mac);
            return 0;
        case AXL_ARP_STALE:
            eth_send(s, pkt, e->mac);
            if (!e->probing) {
                /* RFC 1122 §2.3.2.1 unicast poll */
                e->probing = 1;
                e->tries = 1;
                send_request(s, e, 1);
                entry_arm(s, e, AXL_ARP_RETRANS_MS * AXL_NS_PER_MS);
            }
            return 0;
        default: /* INCOMPLETE */
            return enqueue(s, e, pkt);
        }
    }
    e = entry_alloc(s, nexthop);
    if (!e) {
        AXL_STAT_INC(s, DropArpCacheFull);
        axl_pkt_free(s->pool, pkt);
        return AXL_ENOBUFS;
    }
    e->state = AXL_ARP_INCOMPLETE;
    e->tries = 1;
    send_request(s, e, 0);
    entry_arm(s, e, AXL_ARP_RETRANS_MS * AXL_NS_PER_MS);
    return enqueue(s, e, pkt);
}

/* --- input -------------------------------------------------------------- */

static int sender_ip_ok(uint32_t a)
{
    return !(a == AXL_IPV4_BCAST || axl_ipv4_is_mcast(a) || axl_ipv4_is_loopback(a) ||
             axl_ipv4_is_reserved(a));
}

void axl_arp_input(struct axl_stack *s, struct axl_pkt *pkt)
{
    struct axl_arp_view v = {pkt->data + AXL_ETH_HLEN, pkt->len - AXL_ETH_HLEN};
    struct axl_arp_repr r;
    int rc = axl_arp_view_check(&v);

    if (axl_unlikely(rc < 0)) {
        if (rc == AXL_ETRUNC)
            AXL_STAT_INC(s, DropArpTrunc);
        else
            AXL_STAT_INC(s, DropArpMalformed);
        goto drop;
    }
    axl_arp_repr_parse(&v, &r);
    if (r.op == AXL_ARP_OP_REQUEST)
        AXL_STAT_INC(s, ArpInRequests);
    else
        AXL_STAT_INC(s, ArpInReplies);

    if (axl_eth_is_mcast(r.sha) || axl_eth_is_zero(r.sha) || !sender_ip_ok(r.spa)) {
        AXL_STAT_INC(s, DropArpBadSender);
        goto drop;
    }
    if (r.spa == s->addr) {
        /* RFC 5227 §2.4: another host uses our address. Counted; we do not
         * learn from it (it would hijack our own address). */
        AXL_STAT_INC(s, ArpAddrConflicts);
        goto done;
    }

    /* RFC 826 packet reception: merge first (spa 0 is an RFC 5227 probe and
     * teaches nothing). */
    int merge = 0;
    struct axl_arp_entry *e = r.spa ? entry_find(s, r.spa) : NULL;
    if (e) {
        confirm(s, e, r.sha);
        merge = 1;
    }
    if (r.tpa == s->addr) {
        if (!merge && r.spa) {
            e = entry_alloc(s, r.spa);
            if (e) /* a full cache of resolving entries: answer without learning */
                confirm(s, e, r.sha);
        }
        if (r.op == AXL_ARP_OP_REQUEST) {
            arp_send(s, AXL_ARP_OP_REPLY, r.sha, r.sha, r.spa, s->addr);
            AXL_STAT_INC(s, ArpOutReplies);
        }
    } else if (!merge) {
        AXL_STAT_INC(s, DropArpNotForUs);
        goto drop;
    }
done:
drop:
    axl_pkt_free(s->pool, pkt);
}

void axl_arp_glean(struct axl_stack *s, uint32_t ip, const uint8_t *mac)
{
    if (((ip ^ s->addr) & s->mask) != 0 || ip == s->addr || !sender_ip_ok(ip) ||
        axl_eth_is_mcast(mac) || axl_eth_is_zero(mac))
        return;
    struct axl_arp_entry *e = entry_find(s, ip);
    if (e && e->state == AXL_ARP_REACHABLE)
        return; /* fresh already; ARP itself refreshes it */
    if (!e && !(e = entry_alloc(s, ip)))
        return;
    confirm(s, e, mac);
    AXL_STAT_INC(s, ArpGleaned);
}

/* --- life cycle ----------------------------------------------------------- */

int axl_arp_init(struct axl_stack *s, uint32_t reachable_ms)
{
    struct axl_arp_cache *c = &s->arp;
    c->entries = calloc(AXL_ARP_CACHE_SIZE, sizeof(*c->entries));
    c->free_idx = calloc(AXL_ARP_CACHE_SIZE, sizeof(*c->free_idx));
    if (!c->entries || !c->free_idx || axl_htab_init(&c->tab, AXL_ARP_CACHE_SIZE) < 0) {
        free(c->entries);
        free(c->free_idx);
        c->entries = NULL;
        c->free_idx = NULL;
        return AXL_ENOMEM;
    }
    for (uint32_t i = 0; i < AXL_ARP_CACHE_SIZE; i++) {
        axl_timer_init(&c->entries[i].timer, entry_timer, s);
        c->free_idx[i] = AXL_ARP_CACHE_SIZE - 1 - i;
    }
    c->nfree = AXL_ARP_CACHE_SIZE;
    c->npend_total = 0;
    c->reachable_ns =
        (uint64_t)(reachable_ms ? reachable_ms : AXL_ARP_REACHABLE_MS_DEFAULT) * AXL_NS_PER_MS;
    return 0;
}

void axl_arp_fini(struct axl_stack *s)
{
    struct axl_arp_cache *c = &s->arp;
    if (!c->entries) return;
    for (uint32_t i = 0; i < AXL_ARP_CACHE_SIZE; i++)
        if (c->entries[i].state != AXL_ARP_FREE) entry_release(s, &c->entries[i]);
    axl_htab_fini(&c->tab);
    free(c->entries);
    free(c->free_idx);
    c->entries = NULL;
    c->free_idx = NULL;
}
