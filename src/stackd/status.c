/* SPDX-License-Identifier: MIT */
/*
 * status.c - the replica status page (layout, ownership and ordering rules in
 * status.h): creation and validated reads for the supervisor, attach, beat
 * and counter export for the replica.
 *
 * Call chain: supervisor.c -> axl_rstat_create | axl_rstat_read |
 *   axl_rstat_counters; replica.c -> axl_rstat_attach -> axl_rstat_beat |
 *   axl_rstat_export | axl_rstat_set_state.
 */
#include "stackd/status.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "net/stats.h"
#include "port/port.h"
#include "svc/svc.h"

/** AXL_RSTAT_TIME_SLACK_NS: how far a replica's timestamp may lie ahead of the
 *  supervisor's clock reading (taken just before it reads the page). */
#define AXL_RSTAT_TIME_SLACK_NS (AXL_NS_PER_S)
/** AXL_RSTAT_SEQ_TRIES: seqlock read attempts before giving up (the writer
 *  holds it for ~200 relaxed stores; a dead writer holds it forever). */
#define AXL_RSTAT_SEQ_TRIES 1000

static const char *const pool_names[] = {"PoolBuffers", "PoolInUse", "PoolAllocFails"};
#define NPOOL (sizeof(pool_names) / sizeof(pool_names[0]))

/* The director's own (0 on a replica's page; director.c dir_export). */
static const char *const dir_names[AXL_RSTAT_NDIR] = {"DirRetaChanges", "DirRxPrevOwner",
                                                      "DirRxNewFlow", "DirBucketsDrained"};

uint32_t axl_rstat_dir_first(void)
{
    return (uint32_t)AXL_STAT__COUNT + (uint32_t)NPOOL + axl_port_stat_count() +
           axl_svc_stat_count();
}

uint32_t axl_rstat_ncounters(void)
{
    return axl_rstat_dir_first() + AXL_RSTAT_NDIR;
}

const char *axl_rstat_name(uint32_t i)
{
    if (i >= axl_rstat_dir_first())
        return i - axl_rstat_dir_first() < AXL_RSTAT_NDIR ? dir_names[i - axl_rstat_dir_first()]
                                                         : NULL;
    if (i < AXL_STAT__COUNT) return axl_stat_name(i);
    i -= AXL_STAT__COUNT;
    if (i < NPOOL) return pool_names[i];
    i -= (uint32_t)NPOOL;
    if (i < axl_port_stat_count()) return axl_port_stat_name(i);
    return axl_svc_stat_name(i - axl_port_stat_count());
}

size_t axl_rstat_page_size(uint32_t ncounters)
{
    size_t bytes = sizeof(struct axl_rstat_hdr) + (size_t)ncounters * sizeof(uint64_t);
    return (bytes + 4095u) & ~(size_t)4095u;
}

/* ---- supervisor side ------------------------------------------------------- */

int axl_rstat_create(const struct axl_rstat_id *id, const void **map, size_t *size)
{
    char name[32];
    size_t sz = axl_rstat_page_size(id->ncounters);
    struct axl_rstat_hdr h;
    int fd, rc;

    snprintf(name, sizeof(name), "axl-replica-%u", id->replica);
    fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) return -errno;
    if (ftruncate(fd, (off_t)sz) < 0) goto err;
    /* The replica maps it writable: it must not be able to shrink it under the
     * supervisor's read-only mapping (SIGBUS) or grow it. */
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) goto err;
    memset(&h, 0, sizeof(h));
    h.magic = AXL_RSTAT_MAGIC;
    h.abi_version = AXL_RSTAT_ABI_VERSION;
    h.hdr_size = sizeof(h);
    h.page_size = (uint32_t)sz;
    h.counters_off = sizeof(h);
    h.ncounters = id->ncounters;
    h.replica = id->replica;
    h.queue = id->queue;
    h.generation = id->generation;
    h.mode = id->mode;
    atomic_init(&h.cpu, -1);
    if (pwrite(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
        if (errno == 0) errno = EIO;
        goto err;
    }
    void *m = mmap(NULL, sz, PROT_READ, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) goto err;
    *map = m;
    *size = sz;
    return fd;
err:
    rc = -errno;
    close(fd);
    return rc;
}

/* Plain (sup) fields may be scribbled on by the replica at any time: read each
 * once, atomically, into a local copy, and check the copy. */
static uint32_t ld32(const void *base, size_t off)
{
    return __atomic_load_n((const uint32_t *)((const char *)base + off), __ATOMIC_RELAXED);
}
static uint16_t ld16(const void *base, size_t off)
{
    return __atomic_load_n((const uint16_t *)((const char *)base + off), __ATOMIC_RELAXED);
}

int axl_rstat_read(const void *map, size_t size, const struct axl_rstat_id *id, uint64_t now_ns,
                   struct axl_rstat_view *out)
{
    const struct axl_rstat_hdr *h = map;
    uint64_t limit = now_ns + AXL_RSTAT_TIME_SLACK_NS;

    if (!map || size < sizeof(*h)) return AXL_EINVAL;
    if (ld32(h, offsetof(struct axl_rstat_hdr, magic)) != AXL_RSTAT_MAGIC) return AXL_EMALFORMED;
    if (ld16(h, offsetof(struct axl_rstat_hdr, abi_version)) != AXL_RSTAT_ABI_VERSION)
        return AXL_EVERSION;
    if (ld16(h, offsetof(struct axl_rstat_hdr, hdr_size)) != sizeof(*h) ||
        ld32(h, offsetof(struct axl_rstat_hdr, page_size)) != size ||
        ld32(h, offsetof(struct axl_rstat_hdr, counters_off)) != sizeof(*h) ||
        ld32(h, offsetof(struct axl_rstat_hdr, ncounters)) != id->ncounters ||
        ld32(h, offsetof(struct axl_rstat_hdr, replica)) != id->replica ||
        ld32(h, offsetof(struct axl_rstat_hdr, queue)) != id->queue ||
        ld32(h, offsetof(struct axl_rstat_hdr, generation)) != id->generation ||
        ld32(h, offsetof(struct axl_rstat_hdr, mode)) != id->mode)
        return AXL_EMALFORMED;

    struct axl_rstat_view v;
    v.state = atomic_load_explicit(&h->state, memory_order_acquire); /* pairs with set_state */
    v.cpu = atomic_load_explicit(&h->cpu, memory_order_relaxed);
    v.heartbeat = atomic_load_explicit(&h->heartbeat, memory_order_relaxed);
    v.heartbeat_ns = atomic_load_explicit(&h->heartbeat_ns, memory_order_relaxed);
    v.start_ns = atomic_load_explicit(&h->start_ns, memory_order_relaxed);
    v.ready_ns = atomic_load_explicit(&h->ready_ns, memory_order_relaxed);
    v.exports = atomic_load_explicit(&h->exports, memory_order_relaxed);
    v.busy_ns = atomic_load_explicit(&h->busy_ns, memory_order_relaxed);
    v.conns = atomic_load_explicit(&h->conns, memory_order_relaxed);
    uint32_t hfd = atomic_load_explicit(&h->handover_fd1, memory_order_relaxed);
    if (hfd > (1u << 20)) return AXL_EMALFORMED; /* above any fd limit */
    v.handover_fd = (int32_t)hfd - 1;
    if (v.state >= AXL_RSTAT__COUNT || v.cpu < -1 || v.cpu >= 65536) return AXL_EMALFORMED;
    if (v.start_ns > limit || v.heartbeat_ns > limit || v.ready_ns > limit) return AXL_EMALFORMED;
    if (v.state >= AXL_RSTAT_STARTING && v.start_ns == 0) return AXL_EMALFORMED;
    if (v.state == AXL_RSTAT_READY && (v.ready_ns == 0 || v.ready_ns < v.start_ns))
        return AXL_EMALFORMED;
    *out = v;
    return 0;
}

int axl_rstat_counters(const void *map, size_t size, uint64_t *dst, uint32_t n)
{
    const struct axl_rstat_hdr *h = map;
    uint32_t ncount = ld32(h, offsetof(struct axl_rstat_hdr, ncounters));

    /* Bounds from the mapping size, never from the page alone. */
    if (size < sizeof(*h) || ncount > (size - sizeof(*h)) / sizeof(uint64_t)) return AXL_EMALFORMED;
    const _Atomic uint64_t *c = (const _Atomic uint64_t *)((const char *)map + sizeof(*h));
    for (int tries = 0; tries < AXL_RSTAT_SEQ_TRIES; tries++) {
        uint32_t s1 = atomic_load_explicit(&h->seq, memory_order_acquire); /* (C) */
        if (s1 & 1) continue;
        uint32_t nv = atomic_load_explicit(&h->nvalid, memory_order_relaxed);
        if (nv > ncount) nv = ncount;
        if (nv > n) nv = n;
        for (uint32_t i = 0; i < nv; i++)
            dst[i] = atomic_load_explicit(&c[i], memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        uint32_t s2 = atomic_load_explicit(&h->seq, memory_order_relaxed); /* (D) */
        if (s1 != s2) continue;
        for (uint32_t i = nv; i < n; i++)
            dst[i] = 0;
        return (int)nv;
    }
    return AXL_EAGAIN;
}

/* ---- replica side ------------------------------------------------------------ */

int axl_rstat_attach(struct axl_rstat_page *pg, int fd, const struct axl_rstat_id *id)
{
    struct stat st;

    memset(pg, 0, sizeof(*pg));
    if (fstat(fd, &st) < 0) return -errno;
    if (st.st_size < (off_t)sizeof(struct axl_rstat_hdr) ||
        (size_t)st.st_size != axl_rstat_page_size(id->ncounters))
        return AXL_EMALFORMED;
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) return -errno;
    struct axl_rstat_hdr *h = m;
    if (h->magic != AXL_RSTAT_MAGIC || h->abi_version != AXL_RSTAT_ABI_VERSION ||
        h->hdr_size != sizeof(*h) || h->counters_off != sizeof(*h) ||
        h->ncounters != id->ncounters || h->replica != id->replica || h->queue != id->queue ||
        h->generation != id->generation) {
        int rc = h->abi_version != AXL_RSTAT_ABI_VERSION ? AXL_EVERSION : AXL_EMALFORMED;
        munmap(m, (size_t)st.st_size);
        return rc;
    }
    pg->hdr = h;
    pg->counters = (_Atomic uint64_t *)((char *)m + sizeof(*h));
    pg->ncounters = id->ncounters;
    pg->size = (size_t)st.st_size;
    return 0;
}

void axl_rstat_detach(struct axl_rstat_page *pg)
{
    if (pg->hdr) munmap(pg->hdr, pg->size);
    memset(pg, 0, sizeof(*pg));
}

void axl_rstat_set_state(struct axl_rstat_page *pg, enum axl_rstat_state st)
{
    if (pg->hdr) atomic_store_explicit(&pg->hdr->state, (uint32_t)st, memory_order_release);
}

void axl_rstat_beat(struct axl_rstat_page *pg, uint64_t now_ns)
{
    struct axl_rstat_hdr *h = pg->hdr;
    atomic_store_explicit(&h->heartbeat_ns, now_ns, memory_order_relaxed);
    atomic_store_explicit(&h->heartbeat,
                          atomic_load_explicit(&h->heartbeat, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

void axl_rstat_load(struct axl_rstat_page *pg, uint64_t busy_ns, uint32_t conns)
{
    atomic_store_explicit(&pg->hdr->busy_ns, busy_ns, memory_order_relaxed);
    atomic_store_explicit(&pg->hdr->conns, conns, memory_order_relaxed);
}

void axl_rstat_handover_fd(struct axl_rstat_page *pg, int fd)
{
    atomic_store_explicit(&pg->hdr->handover_fd1, fd >= 0 ? (uint32_t)fd + 1 : 0,
                          memory_order_relaxed);
}

void axl_rstat_export(struct axl_rstat_page *pg, const uint64_t *v, uint32_t n)
{
    struct axl_rstat_hdr *h = pg->hdr;
    uint32_t s = atomic_load_explicit(&h->seq, memory_order_relaxed);

    if (n > pg->ncounters) n = pg->ncounters;
    atomic_store_explicit(&h->seq, s + 1, memory_order_relaxed); /* (A) */
    atomic_thread_fence(memory_order_release);
    for (uint32_t i = 0; i < n; i++)
        atomic_store_explicit(&pg->counters[i], v[i], memory_order_relaxed);
    atomic_store_explicit(&h->nvalid, n, memory_order_relaxed);
    atomic_store_explicit(&h->seq, s + 2, memory_order_release); /* (B) */
    atomic_store_explicit(&h->exports, atomic_load_explicit(&h->exports, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}
