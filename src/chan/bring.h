/* SPDX-License-Identifier: MIT */
/*
 * bring.h - byte-granular SPSC ring over shared memory: the socket buffers the
 * application and the stack share (RX: stack produces, app consumes; TX: app
 * produces, stack consumes). One endpoint handle per side, private to its
 * process; the ring data and the two indices live in shared memory.
 *
 * Indices are free-running 32-bit byte counters (size a power of two, at most
 * 2^24), masked on access. Each side writes only its own index and caches the
 * peer's, re-reading it only when the cached value cannot satisfy the request
 * (so a batch touches the peer's cache line once).
 *
 * Zero-copy access: the readable bytes (consumer) or writable bytes
 * (producer) form at most two contiguous spans because of the wrap:
 *
 *   data  [..........XXXXXXXXXXXXXXXXX]        one span
 *   data  [XXXXXX..............XXXXXXX]        two spans: sp[0] at the
 *                               ^pos           position, sp[1] from data[0]
 *   producer: axl_bring_reserve(r, want, sp) -> fill -> axl_bring_publish(r, n)
 *   consumer: axl_bring_peek(r, want, sp)    -> read -> axl_bring_commit(r, n)
 *
 * Memory ordering (paired as in ring.h):
 *   (A) consumer: load-acquire of the producer index   pairs with (B)
 *   (B) producer: store-release of its index, after the bytes are written
 *   (C) producer: load-acquire of the consumer index   pairs with (D)
 *   (D) consumer: store-release of its index, after the bytes were read
 *
 * Hostile peer: the peer may store anything into its index. A producer index
 * more than `size` ahead of the consumer's, or a consumer index beyond the
 * producer's (which looks the same: pos - peer > size), is a violation: the
 * call returns AXL_EMALFORMED, offers no bytes, counts it in r->violations and
 * keeps the last good peer index. Every access is masked, so no value of the
 * peer's index can make this side touch memory outside the ring.
 */
#ifndef AXL_CHAN_BRING_H
#define AXL_CHAN_BRING_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "core/compiler.h"
#include "core/err.h"

struct axl_span {
    uint8_t *p;
    uint32_t len;
};
struct axl_cspan {
    const uint8_t *p;
    uint32_t len;
};

struct axl_bring {
    uint8_t *data;                /* ring bytes (read-only mapping for a consumer) */
    _Atomic uint32_t *own;        /* our index in shared memory (we write it) */
    const _Atomic uint32_t *peer; /* the peer's index (read, validated) */
    uint32_t size;                /* power of two */
    uint32_t pos;                 /* our index: authoritative, never read back */
    uint32_t peer_seen;           /* last valid peer index */
    uint32_t granted;             /* bytes offered by the last reserve/peek */
    uint32_t violations;          /* bad peer indices seen */
};

/* `pos` is where both indices are expected to be (the producer's current
 * index for a fresh ring); peer_seen starts there too. */
static inline void axl_bring_attach(struct axl_bring *r, uint8_t *data, uint32_t size,
                                    _Atomic uint32_t *own, const _Atomic uint32_t *peer,
                                    uint32_t pos, uint32_t peer_pos)
{
    r->data = data;
    r->own = own;
    r->peer = peer;
    r->size = size;
    r->pos = pos;
    r->peer_seen = peer_pos;
    r->granted = 0;
    r->violations = 0;
}

/* Re-read the peer's index; 0, or AXL_EMALFORMED if it is out of range. */
static inline int axl_bring__reload(struct axl_bring *r, int producer)
{
    uint32_t peer = atomic_load_explicit(r->peer, memory_order_acquire); /* (A) / (C) */
    uint32_t dist = producer ? r->pos - peer : peer - r->pos;
    if (axl_unlikely(dist > r->size)) {
        r->violations++;
        return AXL_EMALFORMED;
    }
    r->peer_seen = peer;
    return 0;
}

static inline uint32_t axl_bring__spans(const struct axl_bring *r, uint32_t n, uint8_t **p0,
                                        uint32_t *l0, uint8_t **p1, uint32_t *l1)
{
    uint32_t off = r->pos & (r->size - 1);
    uint32_t first = AXL_MIN(n, r->size - off);
    *p0 = r->data + off;
    *l0 = first;
    *p1 = r->data;
    *l1 = n - first;
    return n;
}

/* Producer: writable bytes (all of them, >= want if possible), as spans.
 * Returns the byte count, or AXL_EMALFORMED (bad consumer index; 0 offered). */
static inline int axl_bring_reserve(struct axl_bring *r, uint32_t want, struct axl_span sp[2])
{
    uint32_t fr = r->size - (r->pos - r->peer_seen);
    if (fr < want || fr == 0) {
        int e = axl_bring__reload(r, 1);
        if (axl_unlikely(e < 0)) {
            r->granted = 0;
            sp[0].len = sp[1].len = 0;
            return e;
        }
        fr = r->size - (r->pos - r->peer_seen);
    }
    r->granted = fr;
    return (int)axl_bring__spans(r, fr, &sp[0].p, &sp[0].len, &sp[1].p, &sp[1].len);
}

/* Producer: make n reserved bytes visible to the consumer (B). */
static inline void axl_bring_publish(struct axl_bring *r, uint32_t n)
{
    if (n > r->granted) n = r->granted; /* never run past what was offered */
    r->granted -= n;
    r->pos += n;
    atomic_store_explicit(r->own, r->pos, memory_order_release); /* (B) */
}

/* Consumer: readable bytes as spans; count or AXL_EMALFORMED (bad producer
 * index; 0 offered). */
static inline int axl_bring_peek(struct axl_bring *r, uint32_t want, struct axl_cspan sp[2])
{
    uint32_t av = r->peer_seen - r->pos;
    if (av < want || av == 0) {
        int e = axl_bring__reload(r, 0);
        if (axl_unlikely(e < 0)) {
            r->granted = 0;
            sp[0].len = sp[1].len = 0;
            return e;
        }
        av = r->peer_seen - r->pos;
    }
    r->granted = av;
    uint8_t *p0, *p1;
    axl_bring__spans(r, av, &p0, &sp[0].len, &p1, &sp[1].len);
    sp[0].p = p0;
    sp[1].p = p1;
    return (int)av;
}

/* Consumer: give n peeked bytes back to the producer (D). */
static inline void axl_bring_commit(struct axl_bring *r, uint32_t n)
{
    if (n > r->granted) n = r->granted;
    r->granted -= n;
    r->pos += n;
    atomic_store_explicit(r->own, r->pos, memory_order_release); /* (D) */
}

/* Bytes in flight as this side last saw them (no shared access). */
static inline uint32_t axl_bring_used_cached(const struct axl_bring *r, int producer)
{
    return producer ? r->pos - r->peer_seen : r->peer_seen - r->pos;
}

/* Copying forms on top of the spans: bytes copied (0..len) or AXL_EMALFORMED. */
static inline int axl_bring_write(struct axl_bring *r, const void *src, uint32_t len)
{
    struct axl_span sp[2];
    int n = axl_bring_reserve(r, len, sp);
    if (n <= 0) return n;
    uint32_t k = AXL_MIN(len, (uint32_t)n), a = AXL_MIN(k, sp[0].len);
    memcpy(sp[0].p, src, a);
    if (k > a) memcpy(sp[1].p, (const uint8_t *)src + a, k - a);
    axl_bring_publish(r, k);
    return (int)k;
}

static inline int axl_bring_read(struct axl_bring *r, void *dst, uint32_t len)
{
    struct axl_cspan sp[2];
    int n = axl_bring_peek(r, len, sp);
    if (n <= 0) return n;
    uint32_t k = AXL_MIN(len, (uint32_t)n), a = AXL_MIN(k, sp[0].len);
    memcpy(dst, sp[0].p, a);
    if (k > a) memcpy((uint8_t *)dst + a, sp[1].p, k - a);
    axl_bring_commit(r, k);
    return (int)k;
}

#endif
