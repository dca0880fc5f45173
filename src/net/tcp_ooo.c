/* SPDX-License-Identifier: MIT */
/*
 * tcp_ooo.c - out-of-order receive queue (tcp_ooo.h): sorted, non-overlapping
 * ranges over packet buffers; insert with trimming and a bounded budget, pop
 * in order, SACK blocks per RFC 2018 §4.
 * Call chain: net/tcp input -> here -> core/pool.c.
 */
#include "net/tcp_ooo.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"

int axl_tcp_ooo_init(struct axl_tcp_ooo *q, uint32_t max_bytes, uint32_t max_segs)
{
    memset(q, 0, sizeof(*q));
    if (max_segs == 0 || max_segs > AXL_TCP_OOO_MAX_SEGS) return AXL_EINVAL;
    if (max_bytes == 0 || max_bytes > AXL_TCP_OOO_MAX_BYTES) return AXL_EINVAL;
    q->max_bytes = max_bytes;
    q->max_segs = max_segs;
    return 0;
}

static inline uint32_t rend(const struct axl_tcp_ooo_range *r)
{
    return r->seq + r->len;
}

/* First index k in [0, n) whose range ends after s (all before end at or
 * before s). Ends ascend, so binary search. Returns a relative index. */
static uint32_t first_ending_after(const struct axl_tcp_ooo *q, uint32_t s)
{
    uint32_t lo = 0, hi = q->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (axl_seq_gt(rend(&q->r[q->first + mid]), s))
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* First relative index whose range starts at or after e. */
static uint32_t first_starting_from(const struct axl_tcp_ooo *q, uint32_t e)
{
    uint32_t lo = 0, hi = q->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (axl_seq_ge(q->r[q->first + mid].seq, e))
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static void drop(struct axl_tcp_ooo *q, struct axl_pool *pool, struct axl_pkt *pkt, uint32_t len)
{
    q->stats.drop_segs++;
    q->stats.drop_bytes += len;
    axl_pkt_free(pool, pkt);
}

/* Free the highest held range (RFC 2018 §8 reneging). */
static void evict_top(struct axl_tcp_ooo *q, struct axl_pool *pool)
{
    struct axl_tcp_ooo_range *h = &q->r[q->first + q->n - 1];
    q->stats.evict_segs++;
    q->stats.evict_bytes += h->len;
    q->bytes -= h->len;
    axl_pkt_free(pool, h->pkt);
    q->n--;
}

int axl_tcp_ooo_insert(struct axl_tcp_ooo *q, struct axl_pool *pool, struct axl_pkt *pkt,
                       uint32_t seq, uint32_t off, uint32_t len)
{
    q->stats.ins_segs++;
    q->stats.ins_bytes += len;
    if (len == 0 || off > pkt->len || len > pkt->len - off) {
        drop(q, pool, pkt, len);
        return AXL_EINVAL;
    }
    if (!q->r) {
        q->r = calloc(q->max_segs, sizeof(*q->r));
        if (!q->r) {
            drop(q, pool, pkt, len);
            return AXL_ENOMEM;
        }
    }
    uint64_t tick = ++q->tick;

    /* Ranges [i, j) overlap [s, e); those from j on lie wholly above it.
     * (len <= pkt->len < 2^17, so s..e never wraps onto itself.) */
    uint32_t s = seq, e = seq + len;
    uint32_t i = first_ending_after(q, s);
    uint32_t j = first_starting_from(q, e);        /* >= i: those below i end by s */
    struct axl_tcp_ooo_range *r = q->r + q->first; /* relative view */

    /* Held bytes win at the edges: trim to [ns, ne). Ranges [a, b) lie
     * strictly inside and are replaced. */
    uint32_t ns = s, ne = e, a = i, b = j;
    if (i < j && axl_seq_le(r[i].seq, s)) {
        ns = rend(&r[i]);
        a = i + 1;
    }
    if (i < j && axl_seq_gt(rend(&r[j - 1]), e) && j - 1 >= a) {
        ne = r[j - 1].seq;
        b = j - 1;
    } else if (i < j && axl_seq_gt(rend(&r[j - 1]), e)) {
        ne = ns; /* one held range covers all of [s, e) */
    }
    uint32_t inner = 0;
    for (uint32_t k = a; k < b; k++)
        inner += r[k].len;
    uint32_t nlen = axl_seq_gt(ne, ns) ? ne - ns : 0;
    if (nlen == inner) {
        /* Nothing new: every byte is already held. The arrival still
         * refreshes its block for SACK ordering (RFC 2018 §4). */
        for (uint32_t k = i; k < j; k++)
            r[k].stamp = tick;
        q->stats.dup_bytes += len;
        axl_pkt_free(pool, pkt);
        return 0;
    }

    /* Budget: what remains after the replacement, evicting ranges wholly
     * above the new segment if need be, or drop the new segment. */
    uint32_t bytes_after = q->bytes - inner + nlen;
    uint32_t segs_after = q->n - (b - a) + 1;
    uint32_t above_bytes = 0;
    for (uint32_t k = j; k < q->n; k++)
        above_bytes += r[k].len;
    if (bytes_after - above_bytes > q->max_bytes || segs_after - (q->n - j) > q->max_segs) {
        drop(q, pool, pkt, len);
        return AXL_ENOBUFS;
    }
    while (bytes_after > q->max_bytes || segs_after > q->max_segs) {
        uint32_t top = q->r[q->first + q->n - 1].len;
        evict_top(q, pool);
        bytes_after -= top;
        segs_after--;
    }

    /* Commit. The left edge range was touched (its overlapped bytes
     * arrived again) and can outlive the new range, which eviction may take
     * first: stamp it. The right edge range needs no stamp: it leaves before
     * the new range (eviction takes the top) or with it (pop takes whole
     * blocks), so the new range's stamp always speaks for their block. */
    if (a > i) r[i].stamp = tick;
    for (uint32_t k = a; k < b; k++)
        axl_pkt_free(pool, r[k].pkt);
    struct axl_tcp_ooo_range nr = {
        .seq = ns, .len = nlen, .off = off + (ns - s), .stamp = tick, .pkt = pkt};
    if (b > a) {
        /* reuse slot a, close the gap of the other replaced slots */
        r[a] = nr;
        memmove(&r[a + 1], &r[b], (size_t)(q->n - b) * sizeof(*r));
        q->n -= b - a - 1;
    } else {
        if (q->first + q->n == q->max_segs) {
            /* no slot at the end: slide everything to the front (first > 0
             * because n < max_segs here) */
            memmove(q->r, r, (size_t)q->n * sizeof(*r));
            q->first = 0;
            r = q->r;
        }
        memmove(&r[a + 1], &r[a], (size_t)(q->n - a) * sizeof(*r));
        r[a] = nr;
        q->n++;
    }
    q->bytes = bytes_after;
    uint32_t fresh = nlen - inner;
    q->stats.new_bytes += fresh;
    q->stats.dup_bytes += len - fresh;
    return (int)fresh;
}

int axl_tcp_ooo_pop(struct axl_tcp_ooo *q, struct axl_pool *pool, uint32_t rcv_nxt,
                    struct axl_tcp_ooo_chunk *out)
{
    while (q->n) {
        struct axl_tcp_ooo_range *h = &q->r[q->first];
        if (axl_seq_gt(h->seq, rcv_nxt)) return 0;
        q->bytes -= h->len;
        q->first++;
        q->n--;
        if (q->n == 0) q->first = 0;
        if (axl_seq_le(rend(h), rcv_nxt)) {
            /* delivered in order already (a retransmission overtook it) */
            q->stats.stale_bytes += h->len;
            axl_pkt_free(pool, h->pkt);
            continue;
        }
        uint32_t trim = rcv_nxt - h->seq;
        q->stats.stale_bytes += trim;
        q->stats.pop_bytes += h->len - trim;
        out->pkt = h->pkt;
        out->seq = rcv_nxt;
        out->off = h->off + trim;
        out->len = h->len - trim;
        return 1;
    }
    return 0;
}

unsigned axl_tcp_ooo_sack_blocks(const struct axl_tcp_ooo *q, struct axl_tcp_sack_block *blocks,
                                 unsigned max, uint32_t last_seq)
{
    if (max > AXL_TCP_SACK_MAX) max = AXL_TCP_SACK_MAX;
    if (q->n == 0 || max == 0) return 0;
    /* One pass over maximal contiguous runs: remember the run holding
     * last_seq, and the others in a small list sorted by stamp (newest
     * first). Stamps of different runs never tie: one insert touches one run. */
    struct axl_tcp_sack_block first = {0, 0}, top[AXL_TCP_SACK_MAX];
    uint64_t top_stamp[AXL_TCP_SACK_MAX];
    unsigned ntop = 0;
    int have_first = 0;
    const struct axl_tcp_ooo_range *r = q->r + q->first;
    for (uint32_t k = 0; k < q->n;) {
        struct axl_tcp_sack_block blk = {r[k].seq, rend(&r[k])};
        uint64_t stamp = r[k].stamp;
        for (k++; k < q->n && r[k].seq == blk.right; k++) {
            blk.right = rend(&r[k]);
            if (r[k].stamp > stamp) stamp = r[k].stamp;
        }
        if (!have_first && axl_seq_between(last_seq, blk.left, blk.right)) {
            first = blk;
            have_first = 1;
            continue;
        }
        unsigned pos = ntop;
        while (pos > 0 && top_stamp[pos - 1] < stamp)
            pos--;
        if (pos >= max) continue;
        unsigned last = ntop < max ? ntop : max - 1;
        for (unsigned m = last; m > pos; m--) {
            top[m] = top[m - 1];
            top_stamp[m] = top_stamp[m - 1];
        }
        top[pos] = blk;
        top_stamp[pos] = stamp;
        if (ntop < max) ntop++;
    }
    unsigned n = 0;
    if (have_first) blocks[n++] = first;
    for (unsigned m = 0; m < ntop && n < max; m++)
        blocks[n++] = top[m];
    return n;
}

void axl_tcp_ooo_purge(struct axl_tcp_ooo *q, struct axl_pool *pool)
{
    for (uint32_t k = 0; k < q->n; k++)
        axl_pkt_free(pool, q->r[q->first + k].pkt);
    free(q->r);
    q->r = NULL;
    q->first = q->n = 0;
    q->bytes = 0;
}
