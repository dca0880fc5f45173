/* SPDX-License-Identifier: MIT */
/*
 * director_core.c - the director's steering loop (director_core.h): owns a single-queue device and
 * steers its frames to the replicas as descriptors of one shared buffer
 * area (ABI and ownership rules: port/dirport.h).
 *
 * RX (hot): device burst -> axl_steer_frame_hash (symmetric Toeplitz over the
 * 4-tuple, the address pair for fragments/ICMP) -> replica
 * axl_steer_queue(hash, n). The frame's buffer B is passed on q's RX ring and
 * becomes q's; a buffer F that q lent on FILL becomes the director's (swap:
 * no copy, q's share constant). Frames without a flow (ARP, anything not
 * IPv4) go to EVERY attached replica: an ARP reply must reach the replica
 * that asked, and a request teaches every replica the sender; each replica
 * gets its own copy in one of its FILL buffers (the one copy on this path;
 * ARP is rare). Every replica answers an ARP request for our address with the
 * same reply (same MAC and IP), which the peer simply takes again.
 *
 * TX: each attached replica's TX ring is read, every descriptor checked
 * against the ownership table (buffer index inside the area and owned by
 * that replica; offset and length inside the buffer; length 14..max frame),
 * the buffer becomes the director's and goes to the device port, which frees
 * it into the director's pool when done; the director owes the replica one
 * buffer and pays on FREE. Descriptors the device refuses (ring full) stay on
 * the TX ring and are retried.
 *
 * Copies: none in the director on the unicast path. Where the device port
 * itself copies (AF_PACKET RX/TX rings, TAP read/write, AF_XDP in copy mode
 * on veth), that is the kernel<->user copy every port makes, into or out of
 * the shared area directly: the AF_XDP UMEM is the shared area itself
 * (d->pool), so no second copy appears.
 *
 * Attach, restart, reclaim: a replica's dir port writes a new token into its
 * slot; the director reclaims every buffer the slot's previous holder owned
 * (O(buffers), once per attach), resets the slot's four rings, grants the
 * quota on FREE and acks. Every AXL_DIR_PEER_CHECK_MS it also checks that each
 * attached replica's process lives (kill(pid, 0)) and reclaims the buffers of
 * a dead one at once. A restarted replica attaches with a new token.
 *
 * Scaling (axlctl scale N; steer.h "the live redirection table"): the
 * supervisor writes the active count it wants into the header page's
 * supervisor words; the loop notices (one relaxed load per poll) and refills
 * the 128-entry table over replicas 0..N-1 in equal blocks, as `ethtool -X
 * equal N` rewrites a NIC's. Existing connections never move. When bucket b
 * goes from replica o to n, b drains: prev[b] = o, and
 *   - a pure SYN (SYN without ACK, RFC 9293 §3.5) is a new flow: it goes to
 *     the owner n, and its tuple enters a table of new flows (AXL_DIR_FLOWS,
 *     each entry naming the replica that got the SYN, tagged with the
 *     bucket's drain epoch) so its handshake ACK and later segments follow;
 *   - any other TCP segment goes to its table entry's replica if it has one,
 *     else to prev[b] (DirRxPrevOwner when that is not the owner);
 *   - everything that is not TCP (UDP, ICMP, fragments) goes to the owner.
 * A bucket moved again while it drains keeps prev[b] and its table, so the
 * flows of every earlier owner stay put (after 4 -> 1 -> 4 too). The drain
 * ends (prev cleared, the bucket's table entries forgotten:
 * DirBucketsDrained) once no attached replica but the owner holds
 * connections of b (the slots' conns[b], kept by the engines): checked every
 * AXL_DIR_PEER_CHECK_MS, never in the first period after a move (a SYN still
 * in o's RX ring, or a connect o makes with the table it read just before,
 * is in its count a moment later).
 * The counts are another process's memory: no index comes from them, and a
 * replica that lies can only keep a bucket draining (its own former flows'
 * segments keep coming to it; the owner cannot open connections in it) or
 * end a drain early (segments of its own connections then reach the owner,
 * which resets them, as if it had crashed). New flows that find no room in
 * the table (DirFlowTableFull: more than ~8000 live new connections into draining
 * buckets before they drain, unless some entry of its probe window was
 * silent for AXL_DIR_FLOW_IDLE_MS: that one is reused, DirFlowEvicted) are
 * reset by prev[b]. Active opens in a
 * draining bucket are refused by the port picker (steer.h
 * axl_steer_reta_port_ok): the SYN-ACK is no pure SYN.
 *
 * Call chain: see director_core.h.
 */
#include "steer/director_core.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/compiler.h"
#include "core/err.h"
#include "core/hash.h"
#include "core/log.h"
#include "steer/steer.h"

#define MOD "director"
/** AXL_DIR_PEER_CHECK_MS: how often attached replicas' processes are checked. */
#define AXL_DIR_PEER_CHECK_MS 100u
/** AXL_DIR_GRANT_RESERVE: buffers the director never grants away (device RX). */
#define AXL_DIR_GRANT_RESERVE 16u

/* ---- core ------------------------------------------------------------------ */

static void kick(struct axl_director *d, int fd)
{
    uint64_t one = 1;
    d->st.wakeups++;
    if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        axl_debug(MOD, "doorbell: %s", strerror(errno));
}

static uint8_t *block_of(struct axl_director *d, uint32_t q)
{
    return d->ctl + axl_dir_block_off(&d->l, q);
}

/* Reset q's four rings (nobody else uses them at this moment: the replica
 * waits for the ack) and attach our ends. */
static void reset_rings(struct axl_director *d, uint32_t q)
{
    struct axl_dir_rep *r = &d->rep[q];
    uint8_t *b = block_of(d, q);
    size_t esz = sizeof(struct axl_dir_desc);
    struct axl_ring_shared *sh[4];
    for (int k = 0; k < 4; k++) {
        sh[k] = (struct axl_ring_shared *)(b + axl_dir_ring_off(&d->l, (enum axl_dir_ring)k));
        axl_ring_shared_init(sh[k]);
    }
    axl_ring_cons_attach(&r->fill, sh[AXL_DIR_FILL], d->g.ring, esz);
    axl_ring_prod_attach(&r->rx, sh[AXL_DIR_RX], d->g.ring, esz);
    axl_ring_cons_attach(&r->tx, sh[AXL_DIR_TX], d->g.ring, esz);
    axl_ring_prod_attach(&r->freer, sh[AXL_DIR_FREE], d->g.ring, esz);
    r->rx_dirty = r->free_dirty = 0;
}

/* A buffer becomes the director's free buffer again. */
static inline void take_back(struct axl_director *d, uint32_t b)
{
    struct axl_pkt *pkt = &d->pool.pkts[b];
    d->owner[b] = 0;
    axl_pkt_reset(&d->pool, pkt); /* INUSE (it was absent from our pool) ... */
    axl_pkt_free(&d->pool, pkt);  /* ... then free */
}

/* Every buffer replica q holds comes back. O(buffers): once per attach. */
static void reclaim(struct axl_director *d, uint32_t q)
{
    struct axl_dir_rep *r = &d->rep[q];
    uint8_t who = (uint8_t)(q + 1);
    uint32_t n = 0;
    for (uint32_t b = 0; b < d->g.nbufs; b++)
        if (d->owner[b] == who) {
            take_back(d, b);
            n++;
        }
    d->st.reclaimed += n;
    r->owed = 0;
    r->attached = 0;
    if (n) axl_debug(MOD, "replica %u: %u buffers reclaimed", q, n);
}

/* Pay what we owe replica q on FREE (quota at attach, one per frame sent). */
static uint32_t grant(struct axl_director *d, uint32_t q)
{
    struct axl_dir_rep *r = &d->rep[q];
    struct axl_pkt *pk[AXL_DIR_BURST];
    uint32_t done = 0, idx;
    while (r->owed && d->pool.nfree > AXL_DIR_GRANT_RESERVE) {
        uint32_t k = AXL_MIN(r->owed, AXL_DIR_BURST);
        k = AXL_MIN(k, d->pool.nfree - AXL_DIR_GRANT_RESERVE);
        k = axl_ring_prod__reserve(&r->freer, k, &idx);
        if (!k) break;
        uint32_t got = axl_pkt_alloc_bulk(&d->pool, pk, k);
        for (uint32_t i = 0; i < got; i++) {
            struct axl_dir_desc *e = axl_ring_prod__entry(&r->freer, idx + i);
            e->buf = pk[i]->idx;
            e->off = 0;
            e->len = 0;
            d->owner[pk[i]->idx] = (uint8_t)(q + 1);
            pk[i]->flags = 0; /* absent from our pool: the replica's */
        }
        if (got < k) axl_ring_prod__cancel(&r->freer, k - got);
        axl_ring_prod__submit(&r->freer, got);
        r->owed -= got;
        d->st.granted += got;
        done += got;
        r->free_dirty = 1;
        if (got < k) break;
    }
    return done;
}

static void attach_check(struct axl_director *d, uint32_t q)
{
    struct axl_dir_rep *r = &d->rep[q];
    uint64_t req = atomic_load_explicit(&r->slot->req, memory_order_acquire);
    if (req == r->token) return;
    reclaim(d, q);
    reset_rings(d, q);
    r->token = req;
    if (!req) {
        d->st.detaches++;
        atomic_store_explicit(&r->slot->ack, 0, memory_order_release);
        axl_info(MOD, "replica %u detached", q);
        return;
    }
    r->attached = 1;
    r->pid = (pid_t)(req >> 32);
    r->owed = d->quota;
    d->st.attaches++;
    grant(d, q);
    r->free_dirty = 0;
    atomic_store_explicit(&r->slot->ack, req, memory_order_release);
    kick(d, r->bell);
    axl_info(MOD, "replica %u attached (pid %d), %u of %u buffers granted", q, (int)r->pid,
             d->quota - r->owed, d->quota);
}

/* ---- the redirection table ---------------------------------------------------- */

static void reta_publish(struct axl_director *d)
{
    for (uint32_t b = 0; b < AXL_STEER_RETA_SIZE; b++) {
        atomic_store_explicit(&d->reta->owner[b], d->rowner[b], memory_order_relaxed);
        atomic_store_explicit(&d->reta->prev[b], d->rprev[b], memory_order_relaxed);
    }
    atomic_store_explicit(&d->reta->nactive, d->nactive, memory_order_relaxed);
    atomic_fetch_add_explicit(&d->reta->gen, 1, memory_order_release);
}

static uint32_t held(const struct axl_director *d, uint32_t q, uint32_t b)
{
    return d->rep[q].attached
               ? atomic_load_explicit(&d->rep[q].slot->conns[b], memory_order_relaxed)
               : 0;
}

/* Does any replica but the bucket's owner still hold connections of it? */
static int others_hold(const struct axl_director *d, uint32_t b)
{
    for (uint32_t q = 0; q < d->g.nrep; q++)
        if (q != d->rowner[b] && held(d, q, b)) return 1;
    return 0;
}

static void clear_prev(struct axl_director *d, uint32_t b)
{
    d->rprev[b] = AXL_STEER_NONE;
    if (++d->epoch[b] == 0) d->epoch[b] = 1; /* its new flows are forgotten */
    d->st.drained++;
    d->ndraining--;
}

uint32_t axl_director_sweep(struct axl_director *d)
{
    int changed = 0;
    for (uint32_t b = 0; b < AXL_STEER_RETA_SIZE && d->ndraining; b++) {
        if (d->rprev[b] == AXL_STEER_NONE) continue;
        if (d->rfresh[b]) { /* moved since the last sweep: one period's grace */
            d->rfresh[b] = 0;
            continue;
        }
        if (!others_hold(d, b)) {
            clear_prev(d, b);
            changed = 1;
        }
    }
    if (changed) reta_publish(d);
    return d->ndraining;
}

uint32_t axl_director_set_active(struct axl_director *d, uint32_t n)
{
    if (n < 1 || n > d->g.nrep) n = d->g.nrep;
    if (n == d->nactive) return n;
    for (uint32_t b = 0; b < AXL_STEER_RETA_SIZE; b++) {
        uint32_t to = axl_steer_reta_fill(b, n), from = d->rowner[b];
        if (to == from) continue;
        d->rowner[b] = (uint8_t)to;
        /* Every flow stays where it is: a bucket that drains already keeps
         * its default replica and its table of new flows (each entry names
         * its replica); otherwise the default is the old owner, for at least
         * one sweep period even if its count says 0: a SYN still in its RX
         * ring, or a connect it is making with the table it read before
         * this change, shows in its count a moment later. */
        if (d->rprev[b] == AXL_STEER_NONE && d->rep[from].attached) {
            d->rprev[b] = (uint8_t)from;
            d->ndraining++;
        }
        d->rfresh[b] = 1;
    }
    axl_info(MOD, "redirection table: %u -> %u active replica%s (%u bucket%s draining)", d->nactive,
             n, n == 1 ? "" : "s", d->ndraining, d->ndraining == 1 ? "" : "s");
    d->nactive = n;
    d->st.reta_changes++;
    reta_publish(d);
    return n;
}

static uint32_t flow_slot(const uint32_t tu[3])
{
    uint64_t k = ((uint64_t)tu[0] << 32 | tu[2]) ^ ((uint64_t)tu[1] * 0x9e3779b97f4a7c15ull);
    return (uint32_t)axl_hash64(k) & (AXL_DIR_FLOWS - 1);
}

/* The live entry of this flow in bucket b, or NULL. */
static struct axl_dir_flow *flow_find(struct axl_director *d, uint32_t b, const uint32_t tu[3])
{
    uint32_t i = flow_slot(tu);
    for (uint32_t k = 0; k < AXL_DIR_FLOW_PROBE; k++, i = (i + 1) & (AXL_DIR_FLOWS - 1)) {
        struct axl_dir_flow *f = &d->flows[i];
        if (!f->epoch) return NULL;
        if (f->bucket == b && f->epoch == d->epoch[b] && f->saddr == tu[0] && f->daddr == tu[1] &&
            f->ports == tu[2])
            return f;
    }
    return NULL;
}

static void flow_add(struct axl_director *d, uint32_t b, const uint32_t tu[3], uint32_t to)
{
    struct axl_dir_flow *f = flow_find(d, b, tu), *idlest = NULL;
    if (f) { /* the tuple again (a retransmitted SYN, or reused after it ended) */
        f->target = (uint8_t)to;
        f->seen_ms = d->now_ms;
        return;
    }
    uint32_t i = flow_slot(tu);
    for (uint32_t k = 0; k < AXL_DIR_FLOW_PROBE; k++, i = (i + 1) & (AXL_DIR_FLOWS - 1)) {
        f = &d->flows[i];
        uint32_t fb = f->bucket & (AXL_STEER_RETA_SIZE - 1);
        /* empty, or left from a drain that is over */
        if (!f->epoch || f->epoch != d->epoch[fb] || d->rprev[fb] == AXL_STEER_NONE) break;
        if (!idlest || (int32_t)(f->seen_ms - idlest->seen_ms) < 0) idlest = f;
        f = NULL;
    }
    if (!f && idlest && d->now_ms - idlest->seen_ms >= AXL_DIR_FLOW_IDLE_MS) {
        f = idlest; /* a flow silent that long has most likely ended */
        d->st.flow_evict++;
    }
    if (!f) {
        d->st.flow_full++; /* its later segments go to the default replica: it resets them */
        return;
    }
    f->saddr = tu[0];
    f->daddr = tu[1];
    f->ports = tu[2];
    f->bucket = (uint8_t)b;
    f->target = (uint8_t)to;
    f->epoch = d->epoch[b];
    f->seen_ms = d->now_ms;
}

/* Bucket b drains: who gets this frame (see "Scaling"). */
static uint32_t migrate(struct axl_director *d, uint32_t b, int tcp_flags, const uint32_t tu[3],
                        int count)
{
    uint32_t n = d->rowner[b], o = d->rprev[b];
    if (tcp_flags < 0) return n;      /* not TCP: the table's owner */
    if ((tcp_flags & 0x12) == 0x02) { /* SYN without ACK: a new flow */
        flow_add(d, b, tu, n);
        return n;
    }
    struct axl_dir_flow *f = flow_find(d, b, tu);
    if (f) {
        f->seen_ms = d->now_ms;
        if (count) d->st.rx_new_flow++;
        return d->rep[f->target].attached ? f->target : n;
    }
    if (!d->rep[o].attached) return n; /* gone: its flows are (the sweep clears it) */
    if (count && o != n) d->st.rx_prev_owner++;
    return o;
}

/* The replica for a frame, -1 = no flow (every replica). Hot. */
static int route(struct axl_director *d, const uint8_t *frame, uint32_t len, int count)
{
    uint32_t h, tu[3];
    int fl;
    if (!axl_steer_frame_tcp(frame, len, &h, &fl, tu)) return -1;
    uint32_t b = h & (AXL_STEER_RETA_SIZE - 1);
    if (axl_likely(d->rprev[b] == AXL_STEER_NONE)) return d->rowner[b];
    return (int)migrate(d, b, fl, tu, count);
}

int axl_director_steer_of(struct axl_director *d, const uint8_t *frame, uint32_t len)
{
    return route(d, frame, len, 0);
}

static void check_peers(struct axl_director *d)
{
    for (uint32_t q = 0; q < d->g.nrep; q++) {
        struct axl_dir_rep *r = &d->rep[q];
        if (!r->attached || r->pid <= 0) continue;
        if (kill(r->pid, 0) < 0 && errno == ESRCH) {
            axl_info(MOD, "replica %u (pid %d) is gone; taking its buffers back", q, (int)r->pid);
            reclaim(d, q);
            d->st.peers_dead++;
        }
    }
}

/* A valid buffer replica q lent on FILL, or 0 (bad ones are dropped and counted). */
static int take_fill(struct axl_director *d, uint32_t q, uint32_t *out)
{
    struct axl_dir_rep *r = &d->rep[q];
    uint32_t idx;
    while (axl_ring_cons__peek(&r->fill, 1, &idx)) {
        uint32_t b = ((const struct axl_dir_desc *)axl_ring_cons__entry(&r->fill, idx))->buf;
        axl_ring_cons__release(&r->fill, 1);
        if (axl_likely(b < d->g.nbufs && d->owner[b] == q + 1)) {
            *out = b;
            return 1;
        }
        d->st.bad_fill++;
    }
    return 0;
}

/* Hot: pass frame pkt (ours) to replica q by swapping buffers. */
static void deliver(struct axl_director *d, uint32_t q, struct axl_pkt *pkt)
{
    struct axl_dir_rep *r = &d->rep[q];
    uint32_t f, idx;
    if (axl_unlikely(!r->attached)) {
        d->st.drop_detached++;
        goto drop;
    }
    if (axl_unlikely(axl_ring_prod__free(&r->rx, 1) < 1)) {
        d->st.drop_ring_full++;
        goto drop;
    }
    if (axl_unlikely(!take_fill(d, q, &f))) {
        d->st.drop_nofill++;
        goto drop;
    }
    axl_ring_prod__reserve(&r->rx, 1, &idx);
    struct axl_dir_desc *e = axl_ring_prod__entry(&r->rx, idx);
    e->buf = pkt->idx;
    e->off = (uint16_t)axl_pkt_headroom(&d->pool, pkt);
    e->len = (uint16_t)pkt->len;
    d->owner[pkt->idx] = (uint8_t)(q + 1);
    pkt->flags = 0;   /* B: the replica's now */
    take_back(d, f);  /* F: ours now */
    r->rx_dirty = 1;
    r->nrx++;
    d->st.rx_steered++;
    return;
drop:
    axl_pkt_free(&d->pool, pkt);
}

/* A frame with no flow: a copy to every attached replica. */
static void broadcast(struct axl_director *d, struct axl_pkt *pkt)
{
    uint32_t hr = d->pool.headroom;
    d->st.rx_bcast++;
    if (pkt->len > d->g.buf_size - hr) {
        d->st.drop_too_big++;
        goto out;
    }
    for (uint32_t q = 0; q < d->g.nrep; q++) {
        struct axl_dir_rep *r = &d->rep[q];
        uint32_t f, idx;
        if (!r->attached) {
            d->st.drop_detached++;
            continue;
        }
        if (axl_ring_prod__free(&r->rx, 1) < 1) {
            d->st.drop_ring_full++;
            continue;
        }
        if (!take_fill(d, q, &f)) {
            d->st.drop_nofill++;
            continue;
        }
        memcpy(axl_pool_buf(&d->pool, f) + hr, pkt->data, pkt->len);
        axl_ring_prod__reserve(&r->rx, 1, &idx);
        struct axl_dir_desc *e = axl_ring_prod__entry(&r->rx, idx);
        e->buf = f; /* stays the replica's */
        e->off = (uint16_t)hr;
        e->len = (uint16_t)pkt->len;
        r->rx_dirty = 1;
        r->nrx++;
        d->st.rx_bcast_copies++;
    }
out:
    axl_pkt_free(&d->pool, pkt);
}

/* Frames replica q wants sent. Returns descriptors consumed. */
static uint32_t tx_from(struct axl_director *d, uint32_t q)
{
    struct axl_dir_rep *r = &d->rep[q];
    struct axl_pkt *pk[AXL_DIR_BURST];
    uint32_t pos[AXL_DIR_BURST];
    uint8_t bad[AXL_DIR_BURST];
    uint32_t idx, k = 0, max = d->hdr->max_frame, bs = d->g.buf_size;
    uint32_t n = axl_ring_cons__peek(&r->tx, AXL_DIR_BURST, &idx);
    if (!n) return 0;
    /* `max` was written by us into the header page: the replicas map it
     * read-only, so it is still ours. */
    for (uint32_t i = 0; i < n; i++) {
        const struct axl_dir_desc *e = axl_ring_cons__entry(&r->tx, idx + i);
        uint32_t b = e->buf, off = e->off, len = e->len;
        bad[i] = 0;
        if (axl_unlikely(b >= d->g.nbufs || d->owner[b] != q + 1 || len < 14 || len > max ||
                         off + len > bs)) {
            bad[i] = 1;
            continue;
        }
        struct axl_pkt *pkt = &d->pool.pkts[b];
        d->owner[b] = 0;
        axl_pkt_reset(&d->pool, pkt);
        pkt->data = axl_pool_buf(&d->pool, b) + off;
        pkt->len = len;
        pos[k] = i;
        pk[k++] = pkt;
    }
    uint32_t acc = k ? axl_port_tx_burst(d->dev, pk, k) : 0;
    uint32_t rel = acc == k ? n : pos[acc];
    for (uint32_t j = acc; j < k; j++) { /* refused: still the replica's, retried */
        d->owner[pk[j]->idx] = (uint8_t)(q + 1);
        pk[j]->flags = 0;
    }
    for (uint32_t i = 0; i < rel; i++)
        d->st.bad_tx += bad[i];
    d->st.tx_dev_busy += n - rel;
    axl_ring_cons__release(&r->tx, rel);
    r->owed += acc;
    r->ntx += acc;
    d->st.tx_frames += acc;
    return rel;
}

int axl_director_init(struct axl_director *d, const struct axl_dir_geom *g, int memfd,
                      const int *rep_bells, int dir_bell, uint32_t quota, uint32_t generation)
{
    int rc;
    memset(d, 0, sizeof(*d));
    d->ctl = MAP_FAILED;
    if (axl_dir_layout(g, &d->l) < 0) {
        axl_err(MOD, "bad geometry: %u replicas, %u buffers of %u B, rings of %u", g->nrep,
                g->nbufs, g->buf_size, g->ring);
        return AXL_EINVAL;
    }
    if ((uint64_t)quota * g->nrep + AXL_DIR_RING_MIN > g->nbufs || quota < AXL_DIR_RING_MIN) {
        axl_err(MOD, "%u buffers cannot give %u replicas %u each and keep %u", g->nbufs, g->nrep,
                quota, AXL_DIR_RING_MIN);
        return AXL_EINVAL;
    }
    d->g = *g;
    d->quota = quota;
    d->memfd = memfd;
    d->bell = dir_bell;
    rc = axl_dir_pool_map(&d->pool, memfd, g, AXL_POOL_HEADROOM, 1);
    if (rc < 0) {
        axl_err(MOD, "cannot map the shared buffer area: %s", axl_strerror(rc));
        return rc;
    }
    d->ctl = mmap(NULL, d->l.area_off, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    d->owner = calloc(g->nbufs, 1);
    if (d->ctl == MAP_FAILED || !d->owner) {
        rc = d->ctl == MAP_FAILED ? -errno : AXL_ENOMEM;
        axl_err(MOD, "cannot map the shared rings: %s", axl_strerror(rc));
        axl_director_fini(d);
        return rc;
    }
    d->hdr = (struct axl_dir_hdr *)d->ctl;
    atomic_store_explicit(&d->hdr->state, AXL_DIR_DOWN, memory_order_release);
    d->hdr->magic = AXL_DIR_MAGIC;
    d->hdr->abi_version = AXL_DIR_ABI_VERSION;
    d->hdr->generation = generation;
    d->hdr->nrep = g->nrep;
    d->hdr->nbufs = g->nbufs;
    d->hdr->buf_size = g->buf_size;
    d->hdr->ring = g->ring;
    d->reta = axl_dir_reta(d->ctl);
    d->supw = axl_dir_supw(d->ctl);
    d->flows = calloc(AXL_DIR_FLOWS, sizeof(*d->flows));
    if (!d->flows) {
        axl_err(MOD, "no memory for the flow table");
        axl_director_fini(d);
        return AXL_ENOMEM;
    }
    /* The active count the supervisor asks for (kept across our restarts). */
    uint32_t want = atomic_load_explicit(&d->supw->want_active, memory_order_acquire);
    d->want_seen = want;
    d->nactive = want >= 1 && want <= g->nrep ? want : g->nrep;
    for (uint32_t b = 0; b < AXL_STEER_RETA_SIZE; b++) {
        d->rowner[b] = (uint8_t)axl_steer_reta_fill(b, d->nactive);
        d->rprev[b] = AXL_STEER_NONE;
        d->epoch[b] = 1;
    }
    reta_publish(d);
    for (uint32_t q = 0; q < g->nrep; q++) {
        struct axl_dir_rep *r = &d->rep[q];
        r->slot = (struct axl_dir_slot *)block_of(d, q);
        r->bell = rep_bells[q];
        atomic_store_explicit(&r->slot->ack, 0, memory_order_release);
        reset_rings(d, q);
        /* req is left alone: a replica may already be waiting (served in poll) */
    }
    return 0;
}

void axl_director_start(struct axl_director *d, struct axl_port *dev)
{
    d->dev = dev;
    memcpy(d->hdr->mac, dev->mac, 6);
    d->hdr->mtu = dev->mtu;
    d->hdr->max_frame = AXL_MIN(dev->max_frame, d->g.buf_size - d->pool.headroom);
    atomic_store_explicit(&d->hdr->state, AXL_DIR_UP, memory_order_release);
}

/* Hot. */
uint32_t axl_director_poll(struct axl_director *d, uint64_t now_ns)
{
    d->now_ms = (uint32_t)(now_ns / AXL_NS_PER_MS);
    struct axl_pkt *pkts[AXL_DIR_BURST];
    uint32_t work = 0, nrep = d->g.nrep;

    for (uint32_t q = 0; q < nrep; q++)
        attach_check(d, q);
    uint32_t want = atomic_load_explicit(&d->supw->want_active, memory_order_relaxed);
    if (axl_unlikely(want != d->want_seen)) { /* the supervisor asks (axlctl scale) */
        d->want_seen = want;
        axl_director_set_active(d, want);
    }
    if (now_ns - d->last_peer_check_ns >= (uint64_t)AXL_DIR_PEER_CHECK_MS * AXL_NS_PER_MS) {
        d->last_peer_check_ns = now_ns;
        check_peers(d);
        if (d->ndraining) axl_director_sweep(d);
    }

    uint32_t got = axl_port_rx_burst(d->dev, pkts, AXL_DIR_BURST);
    d->st.rx_frames += got;
    for (uint32_t i = 0; i < got; i++) {
        int q = route(d, pkts[i]->data, pkts[i]->len, 1);
        if (q >= 0)
            deliver(d, (uint32_t)q, pkts[i]);
        else
            broadcast(d, pkts[i]);
    }
    work += got;

    uint32_t sent = 0;
    for (uint32_t q = 0; q < nrep; q++)
        if (d->rep[q].attached) sent += tx_from(d, q);
    if (sent) axl_port_flush(d->dev);
    work += sent;

    for (uint32_t q = 0; q < nrep; q++) {
        struct axl_dir_rep *r = &d->rep[q];
        if (!r->attached) continue;
        if (r->owed) work += grant(d, q);
        if (r->rx_dirty) axl_ring_prod__submit(&r->rx, 0);
        if (r->rx_dirty || r->free_dirty) {
            if (axl_ring_prod__needs_wakeup(&r->rx) || axl_ring_prod__needs_wakeup(&r->freer))
                kick(d, r->bell);
            r->rx_dirty = r->free_dirty = 0;
        }
    }
    return work;
}

int axl_director_prepare_sleep(struct axl_director *d)
{
    int ok = 1;
    for (uint32_t q = 0; q < d->g.nrep; q++) {
        struct axl_dir_rep *r = &d->rep[q];
        if (atomic_load_explicit(&r->slot->req, memory_order_acquire) != r->token) ok = 0;
        if (!r->attached) continue;
        if (!axl_ring_cons__prepare_sleep(&r->tx)) ok = 0;
        if (r->owed && d->pool.nfree > AXL_DIR_GRANT_RESERVE &&
            axl_ring_prod__free(&r->freer, 1))
            ok = 0;
    }
    if (d->dev && d->dev->ops->prepare_sleep && !d->dev->ops->prepare_sleep(d->dev)) ok = 0;
    return ok;
}

void axl_director_wake_done(struct axl_director *d)
{
    uint64_t v;
    for (uint32_t q = 0; q < d->g.nrep; q++)
        if (d->rep[q].attached) axl_ring_cons__wake_done(&d->rep[q].tx);
    while (d->bell >= 0 && read(d->bell, &v, sizeof(v)) == (ssize_t)sizeof(v))
        ;
    if (d->dev && d->dev->ops->wake_done) d->dev->ops->wake_done(d->dev);
}

uint32_t axl_director_owned(const struct axl_director *d, int who)
{
    uint8_t w = who < 0 ? 0 : (uint8_t)(who + 1);
    uint32_t n = 0;
    for (uint32_t b = 0; b < d->g.nbufs; b++)
        n += d->owner[b] == w;
    return n;
}

void axl_director_stats_dump(const struct axl_director *d, FILE *out, const char *pf)
{
    const struct axl_dir_stats *s = &d->st;
    const struct {
        const char *name;
        uint64_t v;
    } c[] = {
        {"DirRxFrames", s->rx_frames},          {"DirRxSteered", s->rx_steered},
        {"DirRxBroadcast", s->rx_bcast},        {"DirRxBroadcastCopies", s->rx_bcast_copies},
        {"DirDropNoFill", s->drop_nofill},      {"DirDropRingFull", s->drop_ring_full},
        {"DirDropDetached", s->drop_detached},  {"DirDropTooBig", s->drop_too_big},
        {"DirBadFillDesc", s->bad_fill},        {"DirBadTxDesc", s->bad_tx},
        {"DirTxFrames", s->tx_frames},          {"DirTxDeviceBusy", s->tx_dev_busy},
        {"DirGranted", s->granted},             {"DirReclaimed", s->reclaimed},
        {"DirAttaches", s->attaches},           {"DirDetaches", s->detaches},
        {"DirPeersDead", s->peers_dead},        {"DirWakeups", s->wakeups},
        {"DirRetaChanges", s->reta_changes},    {"DirRxPrevOwner", s->rx_prev_owner},
        {"DirRxNewFlow", s->rx_new_flow},       {"DirFlowTableFull", s->flow_full},
        {"DirBucketsDrained", s->drained},      {"DirFlowEvicted", s->flow_evict},
    };
    for (size_t i = 0; i < AXL_ARRAY_SIZE(c); i++)
        fprintf(out, "%s%s %llu\n", pf, c[i].name, (unsigned long long)c[i].v);
    for (uint32_t q = 0; q < d->g.nrep; q++)
        fprintf(out, "%sDirReplica%uRx %llu\n%sDirReplica%uTx %llu\n", pf, q,
                (unsigned long long)d->rep[q].nrx, pf, q, (unsigned long long)d->rep[q].ntx);
    if (d->dev) axl_port_stats_dump(d->dev, out, pf);
}

void axl_director_fini(struct axl_director *d)
{
    if (d->ctl && d->ctl != MAP_FAILED) munmap(d->ctl, d->l.area_off);
    d->ctl = MAP_FAILED;
    axl_pool_fini(&d->pool);
    free(d->owner);
    d->owner = NULL;
    free(d->flows);
    d->flows = NULL;
}

