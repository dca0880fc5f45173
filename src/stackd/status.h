/* SPDX-License-Identifier: MIT */
/*
 * status.h - the replica status page: one small shared-memory page per replica
 * incarnation through which a replica tells the supervisor that it lives
 * (heartbeat), what it is doing (state) and what it counted (counters).
 *
 * Who does what:
 *   supervisor  axl_rstat_create(): memfd, size, seals against resizing, the
 *               (sup) header fields written with pwrite(); mapped PROT_READ in
 *               the supervisor, which never writes the page afterwards.
 *   replica     axl_rstat_attach(): maps the inherited memfd read-write (it is
 *               the page's only writer), checks the header it was given, then
 *               axl_rstat_beat() / axl_rstat_export() / axl_rstat_set_state().
 *   supervisor  axl_rstat_read(): copies and validates the header on every
 *               read (a crashing replica may have scribbled anything on it);
 *               axl_rstat_counters(): a consistent counter snapshot (seqlock).
 *
 * Layout (ABI version AXL_RSTAT_ABI_VERSION; offsets in bytes; host byte order,
 * no pointers):
 *
 *   0    +-------------------------------------------+
 *        | struct axl_rstat_hdr (128 bytes)          |
 *   128  +-------------------------------------------+
 *        | uint64 counters[ncounters]  (rep, seqlock)|
 *        +-------------------------------------------+  page_size (multiple of 4096)
 *
 * Counter index space (names: axl_rstat_name()): the engine's counters in
 * net/stats.h order, then PoolBuffers, PoolInUse, PoolAllocFails, then the
 * port's counters in port.c order, then the service layer's (svc/svc.h
 * AXL_SVC_STATS: apps, sockets, violations ...). The name table lives in the code, not in
 * the page: both ends are the same binary today, and ncounters is checked.
 * Last come the director's counters (axl_rstat_dir_first()).
 *
 * Memory ordering: the replica updates heartbeat (relaxed) and state
 * (release, after the fields it announces: ready_ns before READY). Counters
 * are a seqlock: seq odd while writing (A: store seq+1, release fence,
 * relaxed counter stores, B: store seq+2 release); the reader (C: load seq
 * acquire, relaxed loads, acquire fence, D: load seq) retries when the two
 * loads differ or are odd. All fields are lock-free atomics, which are
 * address-free and therefore valid across processes.
 *
 * Call chain: supervisor.c spawn -> axl_rstat_create -> fork -> replica.c
 *   axl_rstat_attach -> engine tick (axl_stack_run_tick) -> axl_rstat_beat /
 *   axl_rstat_export; supervisor.c scan / ctl.c stats -> axl_rstat_read /
 *   axl_rstat_counters.
 */
#ifndef AXL_STACKD_STATUS_H
#define AXL_STACKD_STATUS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define AXL_RSTAT_MAGIC       0x53524c41u /* "ALRS" */
#define AXL_RSTAT_ABI_VERSION 1u
/** AXL_RSTAT_MAX_COUNTERS: upper bound the reader accepts for ncounters. */
#define AXL_RSTAT_MAX_COUNTERS 4096u

_Static_assert(ATOMIC_INT_LOCK_FREE == 2 && ATOMIC_LLONG_LOCK_FREE == 2,
               "status page atomics must be lock-free (address-free across processes)");

/* Replica-reported states (hdr.state). */
enum axl_rstat_state {
    AXL_RSTAT_NEW = 0,      /* page created, replica not running yet */
    AXL_RSTAT_STARTING = 1, /* replica runs, opening its queue */
    AXL_RSTAT_READY = 2,    /* serving: queue open, services bound, loop running */
    AXL_RSTAT_STOPPING = 3, /* leaving on request */
    AXL_RSTAT_GATED = 4,    /* first start: set up, waiting at the start gate for the others */
    AXL_RSTAT__COUNT
};

/* Start modes (hdr.mode). */
enum axl_rstat_mode {
    AXL_RSTAT_FRESH = 0,   /* first start of this replica */
    AXL_RSTAT_RESTART = 1, /* after a crash: listeners re-created from the registry */
};

struct axl_rstat_hdr {
    uint32_t magic;        /* (sup) AXL_RSTAT_MAGIC */
    uint16_t abi_version;  /* (sup) AXL_RSTAT_ABI_VERSION */
    uint16_t hdr_size;     /* (sup) sizeof(struct axl_rstat_hdr) */
    uint32_t page_size;    /* (sup) bytes in the memfd */
    uint32_t counters_off; /* (sup) offset of counters[] */
    uint32_t ncounters;    /* (sup) slots in counters[] */
    uint32_t replica;      /* (sup) replica index */
    uint32_t queue;        /* (sup) port queue it owns */
    uint32_t generation;   /* (sup) incarnation: 1 = first start */
    uint32_t mode;         /* (sup) enum axl_rstat_mode */
    uint32_t pad0;
    _Atomic uint32_t state;        /* (rep) enum axl_rstat_state */
    _Atomic int32_t cpu;           /* (rep) CPU it runs pinned to, -1 = not pinned */
    _Atomic uint64_t heartbeat;    /* (rep) bumped by the engine loop */
    _Atomic uint64_t heartbeat_ns; /* (rep) CLOCK_MONOTONIC of the last beat */
    _Atomic uint64_t start_ns;     /* (rep) CLOCK_MONOTONIC when the replica began */
    _Atomic uint64_t ready_ns;     /* (rep) CLOCK_MONOTONIC when it became READY */
    _Atomic uint64_t exports;      /* (rep) counter exports so far */
    _Atomic uint32_t seq;          /* (rep) counter seqlock, odd while writing */
    _Atomic uint32_t nvalid;       /* (rep) counters[] slots written */
    _Atomic uint64_t busy_ns;      /* (rep) loop time spent in iterations that did work */
    _Atomic uint32_t conns;        /* (rep) TCP entries (listeners + connections) now */
    _Atomic uint32_t handover_fd1; /* (rep) its queue socket's fd number + 1, 0 = none: the
                                    * supervisor takes a copy (pidfd_getfd) for its successor */
    uint8_t pad1[128 - 112];
};
_Static_assert(sizeof(struct axl_rstat_hdr) == 128, "status page ABI");
_Static_assert(offsetof(struct axl_rstat_hdr, state) == 40, "status page ABI");
_Static_assert(offsetof(struct axl_rstat_hdr, heartbeat) == 48, "status page ABI");
_Static_assert(offsetof(struct axl_rstat_hdr, seq) == 88, "status page ABI");

/* What the supervisor expects of a page (it wrote these before the fork). */
struct axl_rstat_id {
    uint32_t replica, queue, generation, mode, ncounters;
};

/* A validated copy of the header (supervisor side). */
struct axl_rstat_view {
    uint32_t state;
    int32_t cpu;
    uint64_t heartbeat, heartbeat_ns, start_ns, ready_ns, exports;
    uint64_t busy_ns; /* load: its growth over wall time (axlctl replicas) */
    uint32_t conns;
    int32_t handover_fd; /* -1 = none */
};

/* Counter slots and names of the index space described above. The
 * director's own counters (DirRetaChanges, DirRxPrevOwner, DirRxNewFlow,
 * DirBucketsDrained: AXL_RSTAT_NDIR of them) come last, from
 * axl_rstat_dir_first(); a replica leaves them 0. */
#define AXL_RSTAT_NDIR 4u
uint32_t axl_rstat_dir_first(void);
uint32_t axl_rstat_ncounters(void);
const char *axl_rstat_name(uint32_t i);
/* Bytes of a page with `ncounters` slots (a multiple of the page size). */
size_t axl_rstat_page_size(uint32_t ncounters);

/* --- supervisor side --------------------------------------------------------- */
/* Create the memfd of one incarnation, header written. Returns the fd (caller
 * closes it after the fork) and maps it read-only into *map (size *size). */
int axl_rstat_create(const struct axl_rstat_id *id, const void **map, size_t *size);
/* Copy and validate the header: 0, AXL_EMALFORMED or AXL_EVERSION (never
 * trusts a field without checking it). now_ns bounds the replica's times. */
int axl_rstat_read(const void *map, size_t size, const struct axl_rstat_id *id, uint64_t now_ns,
                   struct axl_rstat_view *out);
/* Consistent snapshot of up to n counters into dst (missing ones zero).
 * Returns the number of valid counters, or AXL_EAGAIN when the writer kept it
 * busy (or died while writing). On failure dst holds torn values: read into
 * scratch space and keep the previous snapshot. */
int axl_rstat_counters(const void *map, size_t size, uint64_t *dst, uint32_t n);

/* --- replica side ------------------------------------------------------------ */
struct axl_rstat_page {
    struct axl_rstat_hdr *hdr;
    _Atomic uint64_t *counters;
    uint32_t ncounters;
    size_t size;
};
/* Map fd read-write and check that it is the page described by id. 0 or AXL_E*. */
int axl_rstat_attach(struct axl_rstat_page *pg, int fd, const struct axl_rstat_id *id);
void axl_rstat_detach(struct axl_rstat_page *pg);
void axl_rstat_set_state(struct axl_rstat_page *pg, enum axl_rstat_state st);
void axl_rstat_beat(struct axl_rstat_page *pg, uint64_t now_ns);
/* Load and connection count (with each beat of the loop). */
void axl_rstat_load(struct axl_rstat_page *pg, uint64_t busy_ns, uint32_t conns);
/* Announce the fd of the open queue socket the supervisor may copy, -1 = none. */
void axl_rstat_handover_fd(struct axl_rstat_page *pg, int fd);
/* Write n counters (seqlock). */
void axl_rstat_export(struct axl_rstat_page *pg, const uint64_t *v, uint32_t n);

#endif
