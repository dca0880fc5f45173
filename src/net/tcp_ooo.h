/* SPDX-License-Identifier: MIT */
/*
 * tcp_ooo.h - the out-of-order receive queue of one TCP connection.
 *
 * RFC 9293 §3.10.7.4 lets a receiver hold segments that start beyond RCV.NXT
 * until the gap before them fills. This queue holds them zero-copy: each
 * range references the packet buffer it arrived in (struct axl_pkt, offset,
 * length) and owns that buffer exclusively. Ranges are kept sorted by
 * sequence number and never overlap:
 *
 *   rcv_nxt        [seq,len)          [seq,len)[seq,len)       [seq,len)
 *      |   hole    | range 0 |  hole  | range 1| range 2 | hole | range 3 |
 *                  \- block -/        \----- block ------/      \- block /
 *
 * Contiguous ranges form one SACK block (RFC 2018 §3).
 *
 * Overlaps, on insert of [seq, seq+len):
 *   - bytes already held win at the edges: the new segment is trimmed to
 *     start where held data ending inside it stops and to end where held data
 *     starting inside it begins;
 *   - a new segment entirely inside held data is freed;
 *   - held ranges lying strictly inside the (trimmed) new segment are freed
 *     and replaced by it, so that every range references exactly one buffer
 *     and every buffer one range. (Keeping them would cut the new segment in
 *     pieces that share one buffer, and a shared buffer cannot be handed to
 *     the caller by axl_tcp_ooo_pop().) The bytes are the same in any
 *     conforming stream.
 * Overlapping bytes are counted in stats.dup_bytes either way. Accounting:
 * ins_bytes = new_bytes + dup_bytes + drop_bytes, and new_bytes =
 * pop_bytes + stale_bytes + evict_bytes + bytes.
 *
 * Limits (both given at init): max_bytes of held data and max_segs ranges
 * (= buffers held). When an insert does not fit, the queue first frees the
 * highest held ranges that lie entirely above the new segment, because data
 * closer to RCV.NXT is worth more (the reneging RFC 2018 §8 permits; the
 * sender keeps SACKed data until cumulatively acknowledged and retransmits
 * it). If it still does not fit, the new segment is dropped. Both are
 * counted (stats.evict_*, stats.drop_*).
 *
 * SACK blocks (RFC 2018 §4): the first block contains the segment that
 * triggered the ACK (last_seq); the others follow most recently touched
 * first, which is the order "most recently reported" blocks repeat in when
 * every ACK leads with its triggering block. A range is touched when an
 * insert overlaps or creates it (a duplicate refreshes its block).
 *
 * Sequence numbers wrap (compared with axl_seq_*): everything held must lie
 * within 2^31 of rcv_nxt, which the receive window (<= 2^30, RFC 7323 §2.3)
 * guarantees when the caller only inserts in-window segments.
 *
 * Cost: the range table is one array of max_segs entries (32 bytes each),
 * allocated on the first insert and released by axl_tcp_ooo_purge(), so a
 * connection that never sees reordering pays nothing. Insert is a binary
 * search plus an O(n) memmove of entries (n <= max_segs, a few hundred at
 * most: cheaper than a tree at this size); pop is O(1); SACK generation is
 * O(n * max).
 *
 * Call chain: net/tcp input (data beyond RCV.NXT; ACK generation) -> here ->
 * core/pool.c (buffers freed).
 */
#ifndef AXL_NET_TCP_OOO_H
#define AXL_NET_TCP_OOO_H

#include <stdint.h>

#include "core/pool.h"
#include "wire/tcp.h"

/** AXL_TCP_OOO_MAX_SEGS: largest max_segs accepted by init (the table is
 *  allocated in one piece: 4096 * 32 bytes = 128 KiB at most). */
#define AXL_TCP_OOO_MAX_SEGS 4096u
/** AXL_TCP_OOO_MAX_BYTES: largest byte budget, the largest scaled receive
 *  window (2^30, RFC 7323 §2.3). */
#define AXL_TCP_OOO_MAX_BYTES (1u << 30)

/* One held range. */
struct axl_tcp_ooo_range {
    uint32_t seq;   /* first sequence number */
    uint32_t len;   /* bytes, > 0 */
    uint32_t off;   /* offset of the first byte from pkt->data */
    uint32_t pad_;  /* keeps the entry 32 bytes */
    uint64_t stamp; /* insert count when last touched (SACK order) */
    struct axl_pkt *pkt;
};
_Static_assert(sizeof(struct axl_tcp_ooo_range) == 32 || sizeof(void *) != 8, "range size");

struct axl_tcp_ooo_stats {
    uint64_t ins_segs;    /* insert calls */
    uint64_t ins_bytes;   /* bytes they offered */
    uint64_t new_bytes;   /* of those, bytes not held before */
    uint64_t dup_bytes;   /* of those, bytes that were already held */
    uint64_t pop_bytes;   /* held bytes handed back by pop */
    uint64_t stale_bytes; /* held bytes pop freed: in-order data had covered them */
    uint64_t drop_segs;   /* inserts refused: budget, bad argument, no table */
    uint64_t drop_bytes;  /* their bytes */
    uint64_t evict_segs;  /* held ranges freed to make room (RFC 2018 §8) */
    uint64_t evict_bytes; /* their bytes */
};

struct axl_tcp_ooo {
    struct axl_tcp_ooo_range *r; /* NULL until the first insert */
    uint32_t first;              /* index of the lowest range in r[] */
    uint32_t n;                  /* ranges held: r[first .. first+n) */
    uint32_t max_segs;
    uint32_t max_bytes;
    uint32_t bytes; /* sum of the ranges' len */
    uint64_t tick;  /* inserts so far: the stamp source */
    struct axl_tcp_ooo_stats stats;
};

/* A range handed back by axl_tcp_ooo_pop(): the caller owns pkt. */
struct axl_tcp_ooo_chunk {
    struct axl_pkt *pkt;
    uint32_t seq, off, len;
};

/* 0, or AXL_EINVAL (max_segs 0 or above AXL_TCP_OOO_MAX_SEGS, max_bytes 0 or
 * above AXL_TCP_OOO_MAX_BYTES). Allocates nothing. */
int axl_tcp_ooo_init(struct axl_tcp_ooo *q, uint32_t max_bytes, uint32_t max_segs);

/* Hold bytes [seq, seq+len) found at pkt->data + off. The caller passes only
 * segments that start beyond RCV.NXT and lie in the receive window. The
 * queue always takes ownership of pkt (it frees it when nothing of it is
 * kept). Returns the number of bytes newly held (0 for a duplicate), or
 * AXL_ENOBUFS (dropped: no room even after evicting higher ranges),
 * AXL_ENOMEM (the range table could not be allocated) or AXL_EINVAL (len 0,
 * or off + len beyond pkt->len). */
int axl_tcp_ooo_insert(struct axl_tcp_ooo *q, struct axl_pool *pool, struct axl_pkt *pkt,
                       uint32_t seq, uint32_t off, uint32_t len);

/* Hand back the lowest range if it starts at or before rcv_nxt and extends
 * beyond it, trimmed to start at rcv_nxt: returns 1 and fills *out (the
 * caller owns out->pkt, appends out->len bytes and advances rcv_nxt, then
 * calls again). Ranges wholly at or below rcv_nxt are freed on the way
 * (stats.stale_bytes, as is the trimmed head of the range handed back).
 * Returns 0 when the lowest range starts beyond rcv_nxt or nothing is held. */
int axl_tcp_ooo_pop(struct axl_tcp_ooo *q, struct axl_pool *pool, uint32_t rcv_nxt,
                    struct axl_tcp_ooo_chunk *out);

/* Up to max (capped at AXL_TCP_SACK_MAX; pass AXL_TCP_SACK_MAX_TS with
 * timestamps) SACK blocks, merged where ranges are contiguous, ordered as in
 * RFC 2018 §4 (see above). Returns the number written. */
unsigned axl_tcp_ooo_sack_blocks(const struct axl_tcp_ooo *q, struct axl_tcp_sack_block *blocks,
                                 unsigned max, uint32_t last_seq);

/* Free every held buffer and the range table: the queue is as after init
 * (stats kept). */
void axl_tcp_ooo_purge(struct axl_tcp_ooo *q, struct axl_pool *pool);

static inline int axl_tcp_ooo_empty(const struct axl_tcp_ooo *q)
{
    return q->n == 0;
}
/* One past the highest held sequence number (valid when not empty). */
static inline uint32_t axl_tcp_ooo_end(const struct axl_tcp_ooo *q)
{
    const struct axl_tcp_ooo_range *h = &q->r[q->first + q->n - 1];
    return h->seq + h->len;
}

#endif
