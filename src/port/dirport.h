/* SPDX-License-Identifier: MIT */
/*
 * dirport.h - the "dir" port: a replica's queue on a single-queue device that
 * the director (src/stackd/director.c, NEAT's software NIC driver) owns. The
 * director and every replica share ONE buffer area (a memfd); frames move
 * between them as descriptors (buffer index, offset, length) over SPSC rings
 * (core/ring.h), never as copies.
 *
 * Shared memory (one memfd, created by the supervisor; offsets only):
 *
 *   0            4096                                      area_off            total
 *   +------------+----------------+-----+----------------+-------------------+
 *   | header     | block of rep 0 | ... | block of n-1   | buffer area:      |
 *   | (dir)      | slot|4 rings   |     |                | nbufs x buf_size  |
 *   +------------+----------------+-----+----------------+-------------------+
 *   header page: +0 struct axl_dir_hdr (dir); +256 struct axl_steer_reta,
 *                the live redirection table (dir, steer.h); +1024 struct
 *                axl_dir_supw (sup: the active replica count it asks for)
 *   block (block_bytes, page aligned):
 *   +0    struct axl_dir_slot   req (rep) / ack (dir) / conns[128] (rep)
 *   +1024 ring FILL  rep -> dir  free buffers the replica lends for RX
 *         ring RX    dir -> rep  received frames
 *         ring TX    rep -> dir  frames to send
 *         ring FREE  dir -> rep  buffers given to the replica (its quota at
 *                                attach, then one per frame it sent)
 *   every ring entry is a struct axl_dir_desc (8 bytes).
 *
 * Mappings: the director maps everything read-write. A replica maps the
 * header read-only, its own block read-write and the buffer area read-write
 * (zero copy needs both sides to write buffers): a replica cannot touch
 * another's rings or slot, but the MMU does not stop it writing into a buffer
 * it does not own. What it cannot do is make the director use such a buffer:
 * ownership is decided by the director's private table (director.c), and
 * every descriptor a replica writes is checked against it.
 *
 * Buffer ownership (director's table, private): every buffer belongs to the
 * director or to exactly one replica. RX swaps ownership, netmap-style: the
 * frame's buffer B (the director's) goes to replica q, and a free buffer F
 * that q lent on its FILL ring comes back to the director, so q's share
 * never changes. TX: the buffer goes to the device (the director's) and the
 * director gives q another one on FREE. At attach the director gives q its
 * quota on FREE; at detach, reattach or death every buffer q held is taken
 * back (reclaimed).
 *
 * Attach handshake (slot): the replica writes req = token (pid << 32 | a
 * nonce, never 0; 0 = detach) with a release store; the director notices
 * req != the token it served, reclaims what the previous holder of the slot
 * had, resets the four rings, posts the first grants on FREE and writes
 * ack = req (release). The replica uses its rings only after ack == token.
 *
 * Spec: dir:MEMFD:NREP,bufs=N,bsize=B,ring=R,bell=FD,dbell=FD[,wait_ms=MS]
 *   MEMFD  the shared memfd (a descriptor number this process holds)
 *   NREP   replicas (the "queues" of this port)
 *   bufs, bsize, ring  the rest of the geometry (must equal the director's)
 *   bell   this replica's eventfd (the director writes it to wake us)
 *   dbell  the director's eventfd (written when it sleeps and we sent)
 *   wait_ms  how long open waits for the director's header and ack
 *            (default 5000; 0: return at once, attach lazily in rx_burst)
 * The queue (cfg->queue) is the replica index 0..nrep-1. The pool passed in
 * cfg->pool must come from axl_dirport_pool_attach (the shared area).
 *
 * Call chain: replica.c -> director_replica_prepare (director.c) ->
 *   axl_dirport_pool_attach + axl_port_open("dir:...") -> dir_open;
 *   engine -> dir_rx_burst / dir_tx_burst / dir_flush / sleep hooks.
 */
#ifndef AXL_PORT_DIRPORT_H
#define AXL_PORT_DIRPORT_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "core/pool.h"
#include "core/ring.h"
#include "port/port.h"
#include "steer/steer.h"

#define AXL_DIR_MAGIC 0x52494441u /* "ADIR" */
#define AXL_DIR_ABI_VERSION 2u
/** AXL_DIR_MAX_REPLICAS: replicas one director serves. */
#define AXL_DIR_MAX_REPLICAS 64u
/** AXL_DIR_RING_MIN/MAX: entries per ring (a power of two). */
#define AXL_DIR_RING_MIN 64u
#define AXL_DIR_RING_MAX 65536u
#define AXL_DIR_RING_DEFAULT 2048u
/** AXL_DIR_HDR_BYTES: the header page. */
#define AXL_DIR_HDR_BYTES 4096u
/** AXL_DIR_SLOT_BYTES: the slot at the start of each block. */
#define AXL_DIR_SLOT_BYTES 1024u
/** AXL_DIR_RETA_OFF: the live redirection table in the header page (dir). */
#define AXL_DIR_RETA_OFF 256u
/** AXL_DIR_SUPW_OFF: the supervisor's words in the header page (sup). */
#define AXL_DIR_SUPW_OFF 1024u
/** AXL_DIR_MAX_BUF: largest buffer (descriptor offsets and lengths are 16 bits). */
#define AXL_DIR_MAX_BUF 32768u

enum axl_dir_ring { AXL_DIR_FILL = 0, AXL_DIR_RX = 1, AXL_DIR_TX = 2, AXL_DIR_FREE = 3 };
enum { AXL_DIR_DOWN = 0, AXL_DIR_UP = 1 };

/* One ring entry. FILL and FREE entries use buf only (off = len = 0). */
struct axl_dir_desc {
    uint32_t buf; /* buffer index in the area */
    uint16_t off; /* first byte of the frame, from the buffer's start */
    uint16_t len; /* frame bytes */
};
_Static_assert(sizeof(struct axl_dir_desc) == 8, "dir ABI");

/* The header page: written only by the director. */
struct axl_dir_hdr {
    uint32_t magic;          /* (dir) AXL_DIR_MAGIC */
    uint32_t abi_version;    /* (dir) AXL_DIR_ABI_VERSION */
    _Atomic uint32_t state;  /* (dir) AXL_DIR_DOWN / UP; release after the fields below */
    uint32_t generation;     /* (dir) the director's incarnation */
    uint32_t nrep, nbufs, buf_size, ring; /* (dir) geometry, checked by replicas */
    uint32_t mtu, max_frame; /* (dir) of the device */
    uint8_t mac[6];          /* (dir) the device's MAC: every replica uses it */
    uint8_t pad[2];
};

struct axl_dir_slot {
    alignas(AXL_CACHELINE) _Atomic uint64_t req; /* (rep) token, 0 = detached */
    alignas(AXL_CACHELINE) _Atomic uint64_t ack; /* (dir) token served */
    /* (rep) TCP connections the replica's engine holds per RETA bucket
     * (steer.h: hash & 127), kept by the engine as TCBs enter and leave its
     * table; the director reads them to know when a moved bucket is drained.
     * Untrusted: a wrong count only keeps (or lets go of) this replica's own
     * flows of a bucket it used to own. */
    alignas(AXL_CACHELINE) _Atomic uint32_t conns[AXL_STEER_RETA_SIZE];
};
_Static_assert(sizeof(struct axl_dir_slot) <= AXL_DIR_SLOT_BYTES, "dir ABI");

/* The supervisor's words (header page + AXL_DIR_SUPW_OFF): written only by
 * the supervisor (which maps the header page read-write for this), read by
 * the director. A director that starts (or restarts) takes the active count
 * from here, so `axlctl scale` survives its restart. */
struct axl_dir_supw {
    _Atomic uint32_t want_active; /* (sup) replicas that should own buckets; 0 = all */
};
static inline struct axl_steer_reta *axl_dir_reta(void *hdr_page)
{
    return (struct axl_steer_reta *)((uint8_t *)hdr_page + AXL_DIR_RETA_OFF);
}
static inline struct axl_dir_supw *axl_dir_supw(void *hdr_page)
{
    return (struct axl_dir_supw *)((uint8_t *)hdr_page + AXL_DIR_SUPW_OFF);
}
_Static_assert(AXL_DIR_RETA_OFF + sizeof(struct axl_steer_reta) <= AXL_DIR_SUPW_OFF, "dir ABI");
_Static_assert(AXL_DIR_MAX_REPLICAS < AXL_STEER_NONE, "a replica index fits a table entry");
_Static_assert(AXL_DIR_SUPW_OFF + sizeof(struct axl_dir_supw) <= AXL_DIR_HDR_BYTES, "dir ABI");

/* Geometry (both sides derive the layout from it; never read back from
 * shared memory). */
struct axl_dir_geom {
    uint32_t nrep, nbufs, buf_size, ring;
};
struct axl_dir_layout {
    size_t ring_bytes;          /* one ring (shared part + entries), 64-aligned */
    size_t block_bytes;         /* slot + 4 rings, page aligned */
    size_t area_off;            /* buffer area offset (page aligned) */
    size_t area_bytes;          /* nbufs * buf_size */
    size_t total;               /* memfd size */
};
/* Check the geometry and compute the layout: 0 or AXL_EINVAL. */
int axl_dir_layout(const struct axl_dir_geom *g, struct axl_dir_layout *l);
static inline size_t axl_dir_block_off(const struct axl_dir_layout *l, uint32_t q)
{
    return AXL_DIR_HDR_BYTES + (size_t)q * l->block_bytes;
}
/* Offset of ring `which` inside a block. */
static inline size_t axl_dir_ring_off(const struct axl_dir_layout *l, enum axl_dir_ring which)
{
    return AXL_DIR_SLOT_BYTES + (size_t)which * l->ring_bytes;
}

/* A pool over the shared buffer area of `memfd` (mapped MAP_SHARED, the
 * whole area, so any buffer index is addressable): metadata for every
 * buffer; with all_free every buffer starts in the free list (the
 * director), otherwise none does (a replica: its buffers arrive on FREE).
 * axl_pool_fini releases it. 0 or negative AXL_E*. */
int axl_dir_pool_map(struct axl_pool *p, int memfd, const struct axl_dir_geom *g,
                     uint32_t headroom, int all_free);
/* The replica's pool for a parsed "dir:" spec (axl_dir_pool_map, all_free 0). */
int axl_dirport_pool_attach(struct axl_pool *p, const struct axl_port_cfg *cfg);
/* Geometry, memfd and bells of a parsed "dir:" spec. 0 or AXL_EINVAL (with a
 * log line saying which option). */
int axl_dirport_parse(const struct axl_port_cfg *cfg, struct axl_dir_geom *g, int *memfd,
                      int *bell, int *dbell, uint32_t *wait_ms);

/* The port kind "dir" (registered in port.c). */
extern const struct axl_port_ops axl_port_dir_ops;

/* The port's own counters beyond struct axl_port_stats (for tests/dumps). */
struct axl_dirport_info {
    int attached;
    uint64_t token;
    uint64_t bad_rx_desc;   /* RX descriptors refused (outside the area, or a buffer we hold) */
    uint64_t bad_free_desc; /* FREE descriptors refused */
    uint64_t fill_posted;   /* buffers lent on FILL */
    uint64_t granted;       /* buffers received on FREE */
};
/* 0, or AXL_EINVAL if p is not a dir port. */
int axl_dirport_info(const struct axl_port *p, struct axl_dirport_info *out);
/* For the engine behind the director (replica.c): the live redirection
 * table (read-only mapping) and this replica's per-bucket connection counts
 * (its own slot). NULL if p is not a dir port. */
const struct axl_steer_reta *axl_dirport_reta(const struct axl_port *p);
_Atomic uint32_t *axl_dirport_bucket_conns(const struct axl_port *p);

#endif
