/* SPDX-License-Identifier: MIT */
/*
 * pool.h - packet buffers and the per-replica buffer pool.
 *
 * One pool is one contiguous, page-aligned region cut into `nbufs` buffers of
 * `buf_size` bytes (a power of two, >= 2048). Buffer i starts at
 * base + i * buf_size. The AF_XDP port registers the whole region as its UMEM,
 * so a buffer's UMEM address is simply its offset from `base`.
 *
 * Packet metadata (struct axl_pkt) lives in a separate array, one entry per
 * buffer, indexed like the buffers: metadata is never in memory a peer (the
 * kernel, another process) can write.
 *
 *   base                                                       base+size
 *   | buf 0 ............ | buf 1 ............ | ... | buf n-1 ........ |
 *   |<- headroom ->|data...len...|     tailroom     |
 *
 * Single-threaded: a pool belongs to one replica (one engine) and is never
 * touched by another thread. alloc/free are O(1) (a LIFO stack of indices, so
 * recently used, cache-warm buffers are reused first).
 */
#ifndef AXL_CORE_POOL_H
#define AXL_CORE_POOL_H

#include <stddef.h>
#include <stdint.h>

/** AXL_POOL_HEADROOM: default bytes reserved before the frame so headers can be
 *  prepended without a copy. 256 equals XDP_PACKET_HEADROOM. */
#define AXL_POOL_HEADROOM 256u
/** AXL_POOL_BUF_MIN / AXL_POOL_BUF_MAX: buf_size bounds (a power of two in
 *  between). 2048 holds a 1500-byte MTU frame after the headroom; 64 KiB keeps
 *  every in-buffer offset within the 16-bit fields of struct axl_pkt. */
#define AXL_POOL_BUF_MIN 2048u
#define AXL_POOL_BUF_MAX 65536u
/** AXL_POOL_MAX_BUFS: most buffers in one pool (2^24 x 2 KiB = 32 GiB). */
#define AXL_POOL_MAX_BUFS (1u << 24)

/* axl_pkt.flags */
enum {
    /* The L4 checksum is not finished (a local kernel peer used checksum
     * offload: AF_PACKET TP_STATUS_CSUMNOTREADY, virtio-net NEEDS_CSUM).
     * The frame never crossed a wire, so L4 checksum verification is skipped;
     * csum_start/csum_off say where the partial sum lives. */
    AXL_PKT_F_CSUM_PARTIAL = 1u << 0,
    /* The L4 checksum was verified by the port/device (CHECKSUM_UNNECESSARY). */
    AXL_PKT_F_CSUM_OK = 1u << 1,
    /* Held: the buffer's owner keeps it across sends (a pre-built frame,
     * net/tcp_prepkt.c). A free of a held buffer does not recycle it: it
     * clears LENT, which hands it back to the owner. */
    AXL_PKT_F_HELD = 1u << 13,
    /* Lent: a held buffer given to the TX path (a port, an ARP queue). The
     * owner must not write it until LENT is clear again. */
    AXL_PKT_F_LENT = 1u << 14,
    /* Debug/accounting: the buffer is currently allocated. */
    AXL_PKT_F_INUSE = 1u << 15,
};

struct axl_pkt {
    uint8_t *data;         /* first byte of the frame (Ethernet header) */
    uint32_t len;          /* frame length in bytes */
    uint32_t idx;          /* buffer index in the pool; constant */
    uint16_t flags;        /* AXL_PKT_F_* */
    uint16_t csum_start;   /* with CSUM_PARTIAL: frame offset where summing starts */
    uint16_t csum_off;     /* with CSUM_PARTIAL: checksum field offset from csum_start */
    uint16_t l3_off;       /* offset of the network header, set by demux */
    uint16_t l4_off;       /* offset of the transport header, set by demux */
    uint16_t queue;        /* port queue it arrived on */
    uint64_t ts_ns;        /* arrival time (monotonic ns), 0 if unknown */
    struct axl_pkt *next;  /* link for queues owned by whoever holds the packet */
};

struct axl_pool {
    uint8_t *base;         /* page-aligned region start */
    size_t size;           /* nbufs * buf_size */
    uint32_t buf_size;     /* power of two, >= 2048 */
    uint32_t nbufs;
    uint32_t headroom;     /* bytes before data in a freshly allocated buffer */
    uint32_t nfree;        /* entries valid in free_idx */
    uint32_t *free_idx;    /* LIFO stack of free buffer indices */
    struct axl_pkt *pkts;  /* metadata, one per buffer */
    uint64_t alloc_fail;   /* allocations refused because the pool was empty */
    uint64_t double_free;  /* frees of a buffer that was not allocated (ignored) */
    uint64_t bad_free;     /* frees of a pointer that is not this pool's (ignored) */
    uint32_t nheld;        /* buffers held by an owner now (AXL_PKT_F_HELD) */
    uint32_t nlent;        /* of those, lent to the TX path now (AXL_PKT_F_LENT) */
    uint64_t lent_total;   /* axl_pkt_lend calls */
    uint64_t lend_returns; /* frees that handed a lent buffer back to its owner */
    int hugepages;         /* 1 if the region is backed by 2 MiB pages */
    int shared;            /* 1 if the region is a shared mapping of a memfd (init_fd) */
    size_t map_len;        /* bytes mapped at base */
};

/* Create a pool. Tries MAP_HUGETLB first when the region is >= 2 MiB, falls
 * back to normal pages. Returns 0 or AXL_EINVAL (bad sizes: nbufs 0 or above
 * AXL_POOL_MAX_BUFS, buf_size not a power of two in [AXL_POOL_BUF_MIN,
 * AXL_POOL_BUF_MAX], headroom >= buf_size) / AXL_ENOMEM. The region is
 * pre-faulted. fini is safe on a zeroed or failed pool. */
int axl_pool_init(struct axl_pool *p, uint32_t nbufs, uint32_t buf_size, uint32_t headroom);
/* Like axl_pool_init, but the region is the memory file fd (at least
 * nbufs * buf_size bytes; a memfd, made with MFD_HUGETLB or not), mapped
 * shared and populated: every process that maps it sees the same buffers.
 * The incarnations of one replica share their region this way, so that a
 * successor can take over the AF_XDP socket (its UMEM) of one that died
 * (port.h cfg->adopt). The metadata is this process's own, all free. fd
 * stays the caller's. 0 or AXL_EINVAL / AXL_ENOMEM. */
int axl_pool_init_fd(struct axl_pool *p, uint32_t nbufs, uint32_t buf_size, uint32_t headroom,
                     int fd);
void axl_pool_fini(struct axl_pool *p);

/* Allocate one buffer: data = buffer start + headroom, len = 0, flags = INUSE,
 * next = NULL, other metadata zero. NULL (and alloc_fail++) when empty. */
struct axl_pkt *axl_pkt_alloc(struct axl_pool *p);
/* Allocate up to n; returns how many (all or fewer when the pool runs dry;
 * alloc_fail grows by the number refused). */
uint32_t axl_pkt_alloc_bulk(struct axl_pool *p, struct axl_pkt **out, uint32_t n);
/* Free: a packet that is not allocated is counted in double_free, a pointer
 * outside this pool in bad_free, and otherwise ignored. */
void axl_pkt_free(struct axl_pool *p, struct axl_pkt *pkt);
void axl_pkt_free_bulk(struct axl_pool *p, struct axl_pkt **pkts, uint32_t n);
/* Free a chain linked through ->next. */
void axl_pkt_free_chain(struct axl_pool *p, struct axl_pkt *head);

/* Held and lent buffers (Sandstorm pre-copy: a frame built once and sent
 * many times without copying). Ports need not know: every port frees a
 * frame once it is done with it (after copying it, or on TX completion),
 * and axl_pkt_free of a held buffer only clears LENT. A port that modifies
 * the bytes of a frame it was given, or gives the buffer itself away
 * (dirport), must copy a held frame first (axl_pkt_is_held).
 *
 *   alloc -> hold -> [ lend -> (port) free ]* -> unhold -> free list
 *
 * hold: an allocated, un-held buffer becomes the caller's to keep.
 * lend: mark a held, not lent buffer lent; returns it (pass it to the TX
 *       path, which owns it until it frees it).
 * unhold: the owner lets go. Not lent: recycled now. Lent: the TX path's
 *       free recycles it later (the owner must not touch it any more).
 * Misuse (hold of a free or held buffer, lend of a lent or un-held one,
 * free of a held buffer that is not lent) is counted in double_free and
 * ignored; these return -1 for it (0 otherwise). */
int axl_pkt_hold(struct axl_pool *p, struct axl_pkt *pkt);
int axl_pkt_lend(struct axl_pool *p, struct axl_pkt *pkt);
void axl_pkt_unhold(struct axl_pool *p, struct axl_pkt *pkt);
static inline int axl_pkt_is_held(const struct axl_pkt *pkt)
{
    return (pkt->flags & AXL_PKT_F_HELD) != 0;
}
/* Lent out now: the owner must wait (or use another buffer). */
static inline int axl_pkt_is_lent(const struct axl_pkt *pkt)
{
    return (pkt->flags & AXL_PKT_F_LENT) != 0;
}

/* Start of buffer i and the metadata of the buffer that contains `addr`
 * (an offset into the region, as AF_XDP reports it). */
static inline uint8_t *axl_pool_buf(const struct axl_pool *p, uint32_t idx)
{
    return p->base + (size_t)idx * p->buf_size;
}
static inline struct axl_pkt *axl_pool_pkt_at(const struct axl_pool *p, uint64_t addr)
{
    return &p->pkts[addr / p->buf_size];
}
/* As axl_pool_pkt_at, for an address a peer supplied (a descriptor read from
 * shared memory): NULL unless addr lies inside the region. */
static inline struct axl_pkt *axl_pool_pkt_at_checked(const struct axl_pool *p, uint64_t addr)
{
    return addr < p->size ? &p->pkts[addr / p->buf_size] : NULL;
}
/* Offset of pkt->data from the region start (the UMEM address). */
static inline uint64_t axl_pkt_addr(const struct axl_pool *p, const struct axl_pkt *pkt)
{
    return (uint64_t)(pkt->data - p->base);
}
/* Bytes available from pkt->data to the end of its buffer. */
static inline uint32_t axl_pkt_room(const struct axl_pool *p, const struct axl_pkt *pkt)
{
    return (uint32_t)(axl_pool_buf(p, pkt->idx) + p->buf_size - pkt->data);
}
/* Bytes available before pkt->data in its buffer. */
static inline uint32_t axl_pkt_headroom(const struct axl_pool *p, const struct axl_pkt *pkt)
{
    return (uint32_t)(pkt->data - axl_pool_buf(p, pkt->idx));
}
/* Reset data to buffer start + headroom, len 0, flags INUSE, other metadata
 * zero (reuse in place). ->next is kept: it belongs to the packet's holder;
 * so are HELD and LENT (the buffer's owner decides when it is free). */
void axl_pkt_reset(const struct axl_pool *p, struct axl_pkt *pkt);
/* A pool is drained correctly when every buffer is back: tests use this. */
static inline uint32_t axl_pool_in_use(const struct axl_pool *p) { return p->nbufs - p->nfree; }

#endif
