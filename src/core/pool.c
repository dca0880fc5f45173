/* SPDX-License-Identifier: MIT */
/*
 * pool.c - the per-replica packet buffer pool (pool.h).
 *
 * Region: one anonymous mapping, populated at init so the packet path never
 * takes a page fault. When it is at least 2 MiB we first ask for explicit
 * 2 MiB huge pages (MAP_HUGETLB, needs vm.nr_hugepages); without them we fall
 * back to normal pages and advise transparent huge pages (MADV_HUGEPAGE),
 * which the kernel may or may not honour.
 *
 * Free list: a LIFO stack of buffer indices (free_idx[0..nfree-1], top at
 * nfree-1). alloc pops, free pushes, both O(1); the most recently freed,
 * cache-warm buffer is reused first.
 *
 * Misuse is counted, not fatal (a replica must not die of one bad free):
 * freeing a buffer that is not allocated (AXL_PKT_F_INUSE clear) bumps
 * double_free; a pointer that is not one of this pool's packets bumps
 * bad_free. Both leave the pool unchanged. Builds with -DAXL_POOL_STRICT
 * assert instead, to find the culprit under a debugger.
 *
 * Held and lent buffers (pool.h): a held buffer never enters the free list
 * while its owner keeps it; a free of it (the port's, after TX) clears LENT
 * and so returns it to the owner. Only unhold puts it back in circulation.
 *
 * Call chain: engine start-up -> axl_pool_init; port rx_burst / tcp output ->
 * axl_pkt_alloc(_bulk); port tx completion / protocol consumers ->
 * axl_pkt_free(_bulk/_chain).
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/compiler.h"
#include "core/err.h"
#include "core/pool.h"

#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif
#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << MAP_HUGE_SHIFT)
#endif

#define HUGE_2M (2u << 20)

#ifdef AXL_POOL_STRICT
#define POOL_MISUSE(cond) assert(!(cond))
#else
#define POOL_MISUSE(cond) ((void)0)
#endif

static size_t round_up(size_t v, size_t a)
{
    return (v + a - 1) / a * a;
}

static int pool_bad_args(uint32_t nbufs, uint32_t buf_size, uint32_t headroom)
{
    return nbufs == 0 || nbufs > AXL_POOL_MAX_BUFS || !axl_is_pow2(buf_size) ||
           buf_size < AXL_POOL_BUF_MIN || buf_size > AXL_POOL_BUF_MAX || headroom >= buf_size;
}

/* The metadata over a mapped region (base, map_len, hugepages already set). */
static int pool_meta(struct axl_pool *p, uint32_t nbufs, uint32_t buf_size, uint32_t headroom)
{
    p->size = (size_t)nbufs * buf_size;
    p->buf_size = buf_size;
    p->nbufs = nbufs;
    p->headroom = headroom;
    p->free_idx = malloc((size_t)nbufs * sizeof(*p->free_idx));
    p->pkts = calloc(nbufs, sizeof(*p->pkts));
    if (!p->free_idx || !p->pkts) {
        axl_pool_fini(p);
        return AXL_ENOMEM;
    }
    for (uint32_t i = 0; i < nbufs; i++) {
        struct axl_pkt *pkt = &p->pkts[i];
        pkt->idx = i;
        pkt->data = axl_pool_buf(p, i) + headroom;
        /* Pushed in reverse so the first allocations return buffers 0, 1, 2... */
        p->free_idx[i] = nbufs - 1 - i;
    }
    p->nfree = nbufs;
    return 0;
}

int axl_pool_init_fd(struct axl_pool *p, uint32_t nbufs, uint32_t buf_size, uint32_t headroom,
                     int fd)
{
    memset(p, 0, sizeof(*p));
    if (pool_bad_args(nbufs, buf_size, headroom) || fd < 0) return AXL_EINVAL;
    size_t size = (size_t)nbufs * buf_size;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < 0 || (size_t)st.st_size < size) return AXL_EINVAL;
    /* A hugetlb file reports its page size as the block size: map (and later
     * unmap) whole huge pages of it. */
    int huge = st.st_blksize >= (blksize_t)HUGE_2M;
    size_t len = round_up(size, huge ? HUGE_2M : (size_t)sysconf(_SC_PAGESIZE));
    void *base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    if (base == MAP_FAILED) return AXL_ENOMEM;
    p->hugepages = huge;
    p->base = base;
    p->map_len = len;
    p->shared = 1;
    return pool_meta(p, nbufs, buf_size, headroom);
}

int axl_pool_init(struct axl_pool *p, uint32_t nbufs, uint32_t buf_size, uint32_t headroom)
{
    memset(p, 0, sizeof(*p));
    if (pool_bad_args(nbufs, buf_size, headroom)) return AXL_EINVAL;

    size_t size = (size_t)nbufs * buf_size;
    void *base = MAP_FAILED;
    int huge = 0;
    if (size >= HUGE_2M) {
        base = mmap(NULL, round_up(size, HUGE_2M), PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB | MAP_POPULATE, -1, 0);
        huge = base != MAP_FAILED;
    }
    if (base == MAP_FAILED) {
        size_t len = round_up(size, (size_t)sysconf(_SC_PAGESIZE));
        base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
                    -1, 0);
        if (base == MAP_FAILED) return AXL_ENOMEM;
        if (size >= HUGE_2M)
            (void)madvise(base, len, MADV_HUGEPAGE); /* a hint; failure is harmless */
    }

    p->base = base;
    p->hugepages = huge;
    p->map_len = round_up(size, huge ? HUGE_2M : (size_t)sysconf(_SC_PAGESIZE));
    return pool_meta(p, nbufs, buf_size, headroom);
}

void axl_pool_fini(struct axl_pool *p)
{
    if (p->base) munmap(p->base, p->map_len);
    free(p->free_idx);
    free(p->pkts);
    memset(p, 0, sizeof(*p));
}

/* Fresh metadata for a buffer being handed out. */
static inline void pkt_prepare(const struct axl_pool *p, struct axl_pkt *pkt)
{
    pkt->data = axl_pool_buf(p, pkt->idx) + p->headroom;
    pkt->len = 0;
    pkt->flags = AXL_PKT_F_INUSE;
    pkt->csum_start = 0;
    pkt->csum_off = 0;
    pkt->l3_off = 0;
    pkt->l4_off = 0;
    pkt->queue = 0;
    pkt->ts_ns = 0;
    pkt->next = NULL;
}

struct axl_pkt *axl_pkt_alloc(struct axl_pool *p)
{
    if (axl_unlikely(p->nfree == 0)) {
        p->alloc_fail++;
        return NULL;
    }
    struct axl_pkt *pkt = &p->pkts[p->free_idx[--p->nfree]];
    pkt_prepare(p, pkt);
    return pkt;
}

uint32_t axl_pkt_alloc_bulk(struct axl_pool *p, struct axl_pkt **out, uint32_t n)
{
    uint32_t got = AXL_MIN(n, p->nfree);
    if (axl_unlikely(got < n)) p->alloc_fail += n - got; /* one per buffer refused */
    uint32_t top = p->nfree;
    for (uint32_t i = 0; i < got; i++) {
        struct axl_pkt *pkt = &p->pkts[p->free_idx[--top]];
        pkt_prepare(p, pkt);
        out[i] = pkt;
    }
    p->nfree = top;
    return got;
}

/* Validate and push one packet; the shared body of every free variant. */
static inline void pkt_put(struct axl_pool *p, struct axl_pkt *pkt)
{
    /* Address arithmetic on integers: a foreign pointer is not UB to test. */
    uintptr_t off = (uintptr_t)pkt - (uintptr_t)p->pkts;
    if (axl_unlikely(off >= (uintptr_t)p->nbufs * sizeof(*pkt) || off % sizeof(*pkt) != 0)) {
        POOL_MISUSE(1);
        p->bad_free++;
        return;
    }
    if (axl_unlikely(!(pkt->flags & AXL_PKT_F_INUSE))) {
        POOL_MISUSE(1);
        p->double_free++;
        return;
    }
    if (axl_unlikely(pkt->flags & AXL_PKT_F_HELD)) {
        /* The TX path is done with a lent frame: back to its owner. */
        if (!(pkt->flags & AXL_PKT_F_LENT)) {
            POOL_MISUSE(1);
            p->double_free++; /* not lent: nobody but the owner has it */
            return;
        }
        pkt->flags &= (uint16_t)~AXL_PKT_F_LENT;
        p->nlent--;
        p->lend_returns++;
        return;
    }
    pkt->flags = 0;
    p->free_idx[p->nfree++] = pkt->idx;
}

/* 1 if pkt is one of this pool's packets (integer arithmetic, as pkt_put). */
static inline int pkt_ours(const struct axl_pool *p, const struct axl_pkt *pkt)
{
    uintptr_t off = (uintptr_t)pkt - (uintptr_t)p->pkts;
    return off < (uintptr_t)p->nbufs * sizeof(*pkt) && off % sizeof(*pkt) == 0;
}

int axl_pkt_hold(struct axl_pool *p, struct axl_pkt *pkt)
{
    if (axl_unlikely(!pkt_ours(p, pkt))) {
        POOL_MISUSE(1);
        p->bad_free++;
        return -1;
    }
    if (axl_unlikely((pkt->flags & (AXL_PKT_F_INUSE | AXL_PKT_F_HELD)) != AXL_PKT_F_INUSE)) {
        POOL_MISUSE(1);
        p->double_free++;
        return -1;
    }
    pkt->flags |= AXL_PKT_F_HELD;
    p->nheld++;
    return 0;
}

int axl_pkt_lend(struct axl_pool *p, struct axl_pkt *pkt)
{
    if (axl_unlikely(!pkt_ours(p, pkt))) {
        POOL_MISUSE(1);
        p->bad_free++;
        return -1;
    }
    if (axl_unlikely((pkt->flags & (AXL_PKT_F_INUSE | AXL_PKT_F_HELD | AXL_PKT_F_LENT)) !=
                     (AXL_PKT_F_INUSE | AXL_PKT_F_HELD))) {
        POOL_MISUSE(1);
        p->double_free++;
        return -1;
    }
    pkt->flags |= AXL_PKT_F_LENT;
    p->nlent++;
    p->lent_total++;
    return 0;
}

void axl_pkt_unhold(struct axl_pool *p, struct axl_pkt *pkt)
{
    if (axl_unlikely(!pkt_ours(p, pkt))) {
        POOL_MISUSE(1);
        p->bad_free++;
        return;
    }
    if (axl_unlikely((pkt->flags & (AXL_PKT_F_INUSE | AXL_PKT_F_HELD)) !=
                     (AXL_PKT_F_INUSE | AXL_PKT_F_HELD))) {
        POOL_MISUSE(1);
        p->double_free++;
        return;
    }
    p->nheld--;
    if (pkt->flags & AXL_PKT_F_LENT) {
        /* Still with the TX path: its free recycles it as any buffer. */
        pkt->flags &= (uint16_t)~(AXL_PKT_F_HELD | AXL_PKT_F_LENT);
        p->nlent--;
        return;
    }
    pkt->flags &= (uint16_t)~AXL_PKT_F_HELD;
    pkt_put(p, pkt);
}

void axl_pkt_free(struct axl_pool *p, struct axl_pkt *pkt)
{
    pkt_put(p, pkt);
}

void axl_pkt_free_bulk(struct axl_pool *p, struct axl_pkt **pkts, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        pkt_put(p, pkts[i]);
}

void axl_pkt_free_chain(struct axl_pool *p, struct axl_pkt *head)
{
    while (head) {
        struct axl_pkt *next = head->next;
        pkt_put(p, head);
        head = next;
    }
}

void axl_pkt_reset(const struct axl_pool *p, struct axl_pkt *pkt)
{
    struct axl_pkt *keep_next = pkt->next; /* the holder's queue link survives */
    uint16_t keep = (uint16_t)(pkt->flags & (AXL_PKT_F_HELD | AXL_PKT_F_LENT)); /* the owner's */
    pkt_prepare(p, pkt);
    pkt->flags |= keep;
    pkt->next = keep_next;
}
