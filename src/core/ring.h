/* SPDX-License-Identifier: MIT */
/*
 * ring.h - single-producer/single-consumer ring of fixed-size entries, usable
 * between threads or between processes (the ring lives in shared memory; only
 * offsets and indices are stored in it, never pointers).
 *
 * Contract (after libxdp's xsk.h and the kernel's xsk_queue.h):
 *   producer: n = reserve(want, &idx) -> write entries idx..idx+n-1 -> submit(n)
 *   consumer: n = peek(want, &idx)    -> read entries idx..idx+n-1  -> release(n)
 * Indices are free-running 32-bit counters masked on access; each side caches
 * the other's index so that a batch touches the shared cache line once.
 * reserve/peek are all-or-nothing in *_exact form and "up to n" otherwise.
 *
 * Memory ordering (pairs labelled as in xsk_queue.h):
 *   (A) consumer: load-acquire of prod      pairs with (B)
 *   (B) producer: store-release of prod     after the entries are written
 *   (C) producer: load-acquire of cons      pairs with (D)
 *   (D) consumer: store-release of cons     after the entries are read
 *
 * Layout of the shared part (struct axl_ring_shared), each index on its own
 * cache line so producer and consumer never false-share:
 *
 *   +0    prod  (written only by the producer)
 *   +64   cons  (written only by the consumer)
 *   +128  flags (AXL_RING_F_NEED_WAKEUP: set by the consumer before it sleeps)
 *   +192  entries[size]  (size a power of two)
 *
 * Split layout (axl_ring_*_attach_split): prod, cons, flags and the entries
 * may instead live at any addresses, e.g. in different shared mappings so
 * that each side maps what it only reads read-only (src/chan/). The handles
 * then carry one pointer per field; the contract and ordering are the same.
 *
 * A consumer in another, untrusted process may write any value into `cons`
 * (and a producer into `prod`): the peer-facing functions clamp what they read
 * so a hostile index can never make the other side read or write outside the
 * ring (see axl_ring_*__peek / reserve: at most `size` entries are ever in
 * flight, and entries are always accessed masked).
 */
#ifndef AXL_CORE_RING_H
#define AXL_CORE_RING_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>

#include "core/compiler.h"

enum { AXL_RING_F_NEED_WAKEUP = 1u << 0 };

struct axl_ring_shared {
    alignas(AXL_CACHELINE) _Atomic uint32_t prod; /* (prod) producer only */
    alignas(AXL_CACHELINE) _Atomic uint32_t cons; /* (cons) consumer only */
    alignas(AXL_CACHELINE) _Atomic uint32_t flags; /* (cons) set/cleared by consumer */
    alignas(AXL_CACHELINE) uint8_t entries[];
};
_Static_assert(sizeof(struct axl_ring_shared) == 3 * AXL_CACHELINE, "ring ABI");

/* Bytes of shared memory a ring of `size` entries of `esize` bytes needs. */
static inline size_t axl_ring_bytes(uint32_t size, uint32_t esize)
{
    return sizeof(struct axl_ring_shared) + (size_t)size * esize;
}

/* Private (per-process) handles. `sh` is the contiguous shared part, or NULL
 * for a split attachment; the field pointers are always valid. */
struct axl_ring_prod {
    struct axl_ring_shared *sh;
    uint32_t mask, esize;
    uint32_t cached_prod; /* our own index, authoritative */
    uint32_t cached_cons; /* last seen consumer index */
    _Atomic uint32_t *prod, *cons, *flags;
    uint8_t *entries;
};
struct axl_ring_cons {
    struct axl_ring_shared *sh;
    uint32_t mask, esize;
    uint32_t cached_cons; /* our own index, authoritative */
    uint32_t cached_prod; /* last seen producer index */
    _Atomic uint32_t *prod, *cons, *flags;
    uint8_t *entries;
};

/* Zero a fresh shared ring (creator only). */
static inline void axl_ring_shared_init(struct axl_ring_shared *sh)
{
    atomic_store_explicit(&sh->prod, 0, memory_order_relaxed);
    atomic_store_explicit(&sh->cons, 0, memory_order_relaxed);
    atomic_store_explicit(&sh->flags, 0, memory_order_relaxed);
}

/* Attach with each shared field at its own address (split layout). The
 * consumer's `entries` may be a read-only mapping: it is only read through
 * axl_ring_cons__entry. */
static inline void axl_ring_prod_attach_split(struct axl_ring_prod *r, _Atomic uint32_t *prod,
                                              _Atomic uint32_t *cons, _Atomic uint32_t *flags,
                                              uint8_t *entries, uint32_t size, uint32_t esize)
{
    r->sh = NULL;
    r->prod = prod;
    r->cons = cons;
    r->flags = flags;
    r->entries = entries;
    r->mask = size - 1;
    r->esize = esize;
    r->cached_prod = atomic_load_explicit(prod, memory_order_relaxed);
    r->cached_cons = atomic_load_explicit(cons, memory_order_acquire);
}

static inline void axl_ring_cons_attach_split(struct axl_ring_cons *r, _Atomic uint32_t *prod,
                                              _Atomic uint32_t *cons, _Atomic uint32_t *flags,
                                              uint8_t *entries, uint32_t size, uint32_t esize)
{
    r->sh = NULL;
    r->prod = prod;
    r->cons = cons;
    r->flags = flags;
    r->entries = entries;
    r->mask = size - 1;
    r->esize = esize;
    r->cached_cons = atomic_load_explicit(cons, memory_order_relaxed);
    r->cached_prod = atomic_load_explicit(prod, memory_order_acquire);
}

static inline void axl_ring_prod_attach(struct axl_ring_prod *r, struct axl_ring_shared *sh,
                                        uint32_t size, uint32_t esize)
{
    axl_ring_prod_attach_split(r, &sh->prod, &sh->cons, &sh->flags, sh->entries, size, esize);
    r->sh = sh;
}

static inline void axl_ring_cons_attach(struct axl_ring_cons *r, struct axl_ring_shared *sh,
                                        uint32_t size, uint32_t esize)
{
    axl_ring_cons_attach_split(r, &sh->prod, &sh->cons, &sh->flags, sh->entries, size, esize);
    r->sh = sh;
}

static inline void *axl_ring_entry(struct axl_ring_shared *sh, uint32_t mask, uint32_t esize,
                                   uint32_t idx)
{
    return sh->entries + (size_t)(idx & mask) * esize;
}
static inline void *axl_ring_prod__entry(struct axl_ring_prod *r, uint32_t idx)
{
    return r->entries + (size_t)(idx & r->mask) * r->esize;
}
static inline const void *axl_ring_cons__entry(struct axl_ring_cons *r, uint32_t idx)
{
    return r->entries + (size_t)(idx & r->mask) * r->esize;
}

/* Free slots as the producer sees them. A consumer index that claims more was
 * consumed than produced (hostile or torn) is treated as "nothing free". */
static inline uint32_t axl_ring_prod__free(struct axl_ring_prod *r, uint32_t want)
{
    uint32_t size = r->mask + 1;
    uint32_t used = r->cached_prod - r->cached_cons;
    if (used <= size && size - used >= want)
        return size - used;
    r->cached_cons = atomic_load_explicit(r->cons, memory_order_acquire); /* (C) */
    used = r->cached_prod - r->cached_cons;
    return used <= size ? size - used : 0;
}

/* Reserve up to n slots; returns how many (0..n), first index in *idx. */
static inline uint32_t axl_ring_prod__reserve(struct axl_ring_prod *r, uint32_t n, uint32_t *idx)
{
    uint32_t fr = axl_ring_prod__free(r, n);
    if (n > fr)
        n = fr;
    *idx = r->cached_prod;
    r->cached_prod += n;
    return n;
}

/* All-or-nothing reserve: n or 0. */
static inline uint32_t axl_ring_prod__reserve_exact(struct axl_ring_prod *r, uint32_t n,
                                                    uint32_t *idx)
{
    if (axl_ring_prod__free(r, n) < n)
        return 0;
    *idx = r->cached_prod;
    r->cached_prod += n;
    return n;
}

/* Undo the last `n` reserved-but-not-submitted slots. */
static inline void axl_ring_prod__cancel(struct axl_ring_prod *r, uint32_t n)
{
    r->cached_prod -= n;
}

/* Publish everything reserved so far. */
static inline void axl_ring_prod__submit(struct axl_ring_prod *r, uint32_t n)
{
    (void)n; /* cached_prod already advanced by reserve */
    atomic_store_explicit(r->prod, r->cached_prod, memory_order_release); /* (B) */
}

/* Entries ready for the consumer; a producer index that claims more than
 * `size` entries are in flight (hostile or torn) yields 0. */
static inline uint32_t axl_ring_cons__avail(struct axl_ring_cons *r, uint32_t want)
{
    uint32_t avail = r->cached_prod - r->cached_cons;
    if (avail >= want && avail <= r->mask + 1)
        return avail;
    r->cached_prod = atomic_load_explicit(r->prod, memory_order_acquire); /* (A) */
    avail = r->cached_prod - r->cached_cons;
    return avail <= r->mask + 1 ? avail : 0;
}

/* Peek up to n ready entries; returns how many, first index in *idx. */
static inline uint32_t axl_ring_cons__peek(struct axl_ring_cons *r, uint32_t n, uint32_t *idx)
{
    uint32_t avail = axl_ring_cons__avail(r, n);
    if (n > avail)
        n = avail;
    *idx = r->cached_cons;
    return n;
}

/* Give n peeked entries back to the producer. */
static inline void axl_ring_cons__release(struct axl_ring_cons *r, uint32_t n)
{
    r->cached_cons += n;
    atomic_store_explicit(r->cons, r->cached_cons, memory_order_release); /* (D) */
}

/*
 * Sleeping (NewtOS: poll while busy, sleep when idle). A consumer that wants to
 * sleep sets NEED_WAKEUP, issues a full fence, and re-checks the ring before
 * sleeping; a producer, after a batch is submitted, issues a full fence and
 * rings the doorbell only if NEED_WAKEUP is set. The two fences pair so that at
 * least one side sees the other's write: no lost wake-ups, and no doorbell
 * (syscall) at all while the consumer is busy.
 */
static inline int axl_ring_cons__prepare_sleep(struct axl_ring_cons *r)
{
    atomic_store_explicit(r->flags, AXL_RING_F_NEED_WAKEUP, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst);
    return axl_ring_cons__avail(r, 1) == 0; /* 1: safe to sleep; 0: work arrived */
}
static inline void axl_ring_cons__wake_done(struct axl_ring_cons *r)
{
    atomic_store_explicit(r->flags, 0, memory_order_relaxed);
}
static inline int axl_ring_prod__needs_wakeup(struct axl_ring_prod *r)
{
    atomic_thread_fence(memory_order_seq_cst);
    return atomic_load_explicit(r->flags, memory_order_relaxed) & AXL_RING_F_NEED_WAKEUP;
}

#endif
