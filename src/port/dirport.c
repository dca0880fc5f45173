/* SPDX-License-Identifier: MIT */
/*
 * dirport.c - the "dir" port: a replica's end of the director's descriptor
 * rings (ABI, ownership rules and spec in dirport.h).
 *
 * Buffer states: a private byte per buffer (own[]) says whether it is ours
 * (in the pool's free list, or held by the engine) or not (lent on FILL, sent
 * on TX, or never given to us: another replica's, the director's). A
 * descriptor the director writes (RX, FREE) is accepted only for a buffer
 * that is not ours: a buffer we hold can never be handed to us twice. Every
 * refusal is counted (rx_errors and the port's own bad_* counters).
 *
 * Call chain: replica.c -> director_replica_prepare -> axl_dirport_pool_attach,
 *   axl_port_open -> dir_open (-> attach handshake, waits up to wait_ms);
 *   engine loop -> dir_rx_burst (absorb FREE, refill FILL, take RX) /
 *   dir_tx_burst (TX ring) / dir_flush (doorbell the director if it sleeps) /
 *   dir_prepare_sleep / dir_wake_done; dir_close (detach: the director takes
 *   our buffers back).
 */
#include "port/dirport.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/opts.h"

#define MOD "dirport"
/** DIR_BATCH: descriptors handled per ring per burst. */
#define DIR_BATCH 64u

struct dirport {
    struct axl_dir_geom g;
    struct axl_dir_layout l;
    int memfd, bell, dbell;
    uint32_t q;
    const struct axl_dir_hdr *hdr; /* read-only mapping of the header page */
    uint8_t *block;                /* our block, read-write */
    struct axl_dir_slot *slot;
    struct axl_ring_prod fill, tx;
    struct axl_ring_cons rx, freer;
    uint64_t token;
    int attached;
    int tx_unkicked; /* TX submitted since the last doorbell check */
    uint32_t fill_target;
    struct axl_dirport_info info;
    uint8_t *own; /* per buffer: 1 = ours (free or held by the engine), 0 = not */
};

static int opt_u32(const struct axl_port_cfg *cfg, const char *key, int required, uint32_t def,
                   uint32_t lo, uint32_t hi, uint32_t *out)
{
    const char *v = axl_port_opt(cfg, key);
    uint64_t x;
    if (!v) {
        if (required) {
            axl_err(MOD, "dir port: option %s= is required", key);
            return AXL_EINVAL;
        }
        *out = def;
        return 0;
    }
    if (axl_parse_u64(v, &x) < 0 || x < lo || x > hi) {
        axl_err(MOD, "dir port: %s=%s is not a number in %u..%u", key, v, lo, hi);
        return AXL_EINVAL;
    }
    *out = (uint32_t)x;
    return 0;
}

int axl_dir_layout(const struct axl_dir_geom *g, struct axl_dir_layout *l)
{
    if (g->nrep < 1 || g->nrep > AXL_DIR_MAX_REPLICAS || g->nbufs < 1 ||
        g->nbufs > AXL_POOL_MAX_BUFS || !axl_is_pow2(g->buf_size) ||
        g->buf_size < AXL_POOL_BUF_MIN || g->buf_size > AXL_DIR_MAX_BUF ||
        !axl_is_pow2(g->ring) || g->ring < AXL_DIR_RING_MIN || g->ring > AXL_DIR_RING_MAX)
        return AXL_EINVAL;
    size_t page = 4096;
    l->ring_bytes = (axl_ring_bytes(g->ring, sizeof(struct axl_dir_desc)) + 63) & ~(size_t)63;
    l->block_bytes = (AXL_DIR_SLOT_BYTES + 4 * l->ring_bytes + page - 1) / page * page;
    l->area_off = AXL_DIR_HDR_BYTES + (size_t)g->nrep * l->block_bytes;
    l->area_bytes = (size_t)g->nbufs * g->buf_size;
    l->total = l->area_off + l->area_bytes;
    return 0;
}

int axl_dir_pool_map(struct axl_pool *p, int memfd, const struct axl_dir_geom *g,
                     uint32_t headroom, int all_free)
{
    struct axl_dir_layout l;
    struct stat st;

    memset(p, 0, sizeof(*p));
    if (axl_dir_layout(g, &l) < 0 || headroom >= g->buf_size / 2) return AXL_EINVAL;
    if (fstat(memfd, &st) < 0) return -errno;
    if ((size_t)st.st_size < l.total) {
        axl_err(MOD, "shared area is %lld bytes, the geometry needs %zu", (long long)st.st_size,
                l.total);
        return AXL_EINVAL;
    }
    void *base = mmap(NULL, l.area_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, memfd,
                      (off_t)l.area_off);
    if (base == MAP_FAILED) return -errno;
    p->base = base;
    p->size = l.area_bytes;
    p->buf_size = g->buf_size;
    p->nbufs = g->nbufs;
    p->headroom = headroom;
    p->hugepages = 0; /* axl_pool_fini unmaps exactly area_bytes (a page multiple) */
    p->free_idx = malloc((size_t)g->nbufs * sizeof(*p->free_idx));
    p->pkts = calloc(g->nbufs, sizeof(*p->pkts));
    if (!p->free_idx || !p->pkts) {
        axl_pool_fini(p);
        return AXL_ENOMEM;
    }
    for (uint32_t i = 0; i < g->nbufs; i++) {
        p->pkts[i].idx = i;
        p->pkts[i].data = axl_pool_buf(p, i) + headroom;
        if (all_free) p->free_idx[i] = g->nbufs - 1 - i;
    }
    p->nfree = all_free ? g->nbufs : 0;
    return 0;
}

int axl_dirport_parse(const struct axl_port_cfg *cfg, struct axl_dir_geom *g, int *memfd,
                      int *bell, int *dbell, uint32_t *wait_ms)
{
    static const char *const known[] = {"bufs", "bsize", "ring", "bell", "dbell", "wait_ms"};
    uint64_t fd;
    uint32_t b, db;

    for (uint32_t i = 0; i < cfg->nopts; i++) {
        int ok = 0;
        for (size_t k = 0; k < AXL_ARRAY_SIZE(known); k++)
            ok |= strcmp(cfg->opts[i].key, known[k]) == 0;
        if (!ok) {
            axl_err(MOD, "dir port: unknown option '%s'", cfg->opts[i].key);
            return AXL_EINVAL;
        }
    }
    if (axl_parse_u64(cfg->name, &fd) < 0 || fd > 1u << 20) {
        axl_err(MOD, "dir port: '%s' is not a descriptor number (dir:MEMFD:NREP,...)", cfg->name);
        return AXL_EINVAL;
    }
    g->nrep = cfg->nqueues; /* dir:MEMFD:NREP */
    if (opt_u32(cfg, "bufs", 1, 0, 1, AXL_POOL_MAX_BUFS, &g->nbufs) < 0 ||
        opt_u32(cfg, "bsize", 1, 0, AXL_POOL_BUF_MIN, AXL_DIR_MAX_BUF, &g->buf_size) < 0 ||
        opt_u32(cfg, "ring", 0, AXL_DIR_RING_DEFAULT, AXL_DIR_RING_MIN, AXL_DIR_RING_MAX,
                &g->ring) < 0 ||
        opt_u32(cfg, "bell", 1, 0, 0, 1u << 20, &b) < 0 ||
        opt_u32(cfg, "dbell", 1, 0, 0, 1u << 20, &db) < 0 ||
        opt_u32(cfg, "wait_ms", 0, 5000, 0, 600000, wait_ms) < 0)
        return AXL_EINVAL;
    struct axl_dir_layout l;
    if (axl_dir_layout(g, &l) < 0) {
        axl_err(MOD, "dir port: bad geometry (nrep %u, bufs %u, bsize %u, ring %u)", g->nrep,
                g->nbufs, g->buf_size, g->ring);
        return AXL_EINVAL;
    }
    *memfd = (int)fd;
    *bell = (int)b;
    *dbell = (int)db;
    return 0;
}

int axl_dirport_pool_attach(struct axl_pool *p, const struct axl_port_cfg *cfg)
{
    struct axl_dir_geom g;
    int memfd, bell, dbell;
    uint32_t wait_ms;
    int rc = axl_dirport_parse(cfg, &g, &memfd, &bell, &dbell, &wait_ms);
    if (rc < 0) return rc;
    return axl_dir_pool_map(p, memfd, &g, AXL_POOL_HEADROOM, 0);
}

static void kick(int fd)
{
    uint64_t one = 1;
    if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        axl_debug(MOD, "doorbell: %s", strerror(errno));
}

/* The header says the director is up with our geometry (read-only page:
 * validated, never trusted). */
static int hdr_ok(const struct dirport *d)
{
    const struct axl_dir_hdr *h = d->hdr;
    if (atomic_load_explicit(&((struct axl_dir_hdr *)h)->state, memory_order_acquire) != AXL_DIR_UP)
        return 0;
    return h->magic == AXL_DIR_MAGIC && h->abi_version == AXL_DIR_ABI_VERSION &&
           h->nrep == d->g.nrep && h->nbufs == d->g.nbufs && h->buf_size == d->g.buf_size &&
           h->ring == d->g.ring;
}

/* ack == our token: attach the ring handles (the director has reset them). */
static int try_attach(struct dirport *d)
{
    if (d->attached) return 1;
    if (atomic_load_explicit(&d->slot->ack, memory_order_acquire) != d->token) return 0;
    uint8_t *b = d->block;
    size_t esz = sizeof(struct axl_dir_desc);
    axl_ring_prod_attach(&d->fill, (void *)(b + axl_dir_ring_off(&d->l, AXL_DIR_FILL)), d->g.ring,
                         esz);
    axl_ring_cons_attach(&d->rx, (void *)(b + axl_dir_ring_off(&d->l, AXL_DIR_RX)), d->g.ring, esz);
    axl_ring_prod_attach(&d->tx, (void *)(b + axl_dir_ring_off(&d->l, AXL_DIR_TX)), d->g.ring, esz);
    axl_ring_cons_attach(&d->freer, (void *)(b + axl_dir_ring_off(&d->l, AXL_DIR_FREE)), d->g.ring,
                         esz);
    d->attached = 1;
    d->info.attached = 1;
    return 1;
}

/* A buffer index the director hands us: inside the area and not ours
 * (then it is ours). */
static inline struct axl_pkt *foreign_buf(struct dirport *d, struct axl_pool *pool, uint32_t buf)
{
    if (axl_unlikely(buf >= d->g.nbufs || d->own[buf])) return NULL;
    d->own[buf] = 1;
    return &pool->pkts[buf];
}

/* Buffers the director gave us (quota, TX repayments) into the pool. */
static void absorb_free(struct axl_port *p, struct dirport *d)
{
    struct axl_pool *pool = p->cfg.pool;
    uint32_t idx, n;
    while ((n = axl_ring_cons__peek(&d->freer, 256, &idx)) > 0) {
        for (uint32_t i = 0; i < n; i++) {
            const struct axl_dir_desc *e = axl_ring_cons__entry(&d->freer, idx + i);
            struct axl_pkt *pkt = foreign_buf(d, pool, e->buf);
            if (!pkt) {
                d->info.bad_free_desc++;
                p->stats.rx_errors++;
                continue;
            }
            axl_pkt_reset(pool, pkt); /* INUSE ... */
            axl_pkt_free(pool, pkt);  /* ... then into the free list */
            d->info.granted++;
        }
        axl_ring_cons__release(&d->freer, n);
    }
}

/* Keep fill_target buffers lent to the director on FILL. */
static void refill(struct axl_port *p, struct dirport *d)
{
    struct axl_pool *pool = p->cfg.pool;
    uint32_t size = d->g.ring;
    uint32_t fr = axl_ring_prod__free(&d->fill, size); /* refreshes cached cons */
    uint32_t out = size - fr;                          /* lent, not taken yet */
    if (out >= d->fill_target) return;
    uint32_t want = d->fill_target - out, idx;
    struct axl_pkt *pk[DIR_BATCH];
    while (want) {
        uint32_t k = AXL_MIN(want, DIR_BATCH);
        /* Keep a reserve for TX: never lend the last buffers. */
        if (pool->nfree <= k + 8) k = pool->nfree > 8 ? pool->nfree - 8 : 0;
        if (!k) return;
        k = axl_ring_prod__reserve(&d->fill, k, &idx);
        if (!k) return;
        uint32_t got = axl_pkt_alloc_bulk(pool, pk, k);
        for (uint32_t i = 0; i < got; i++) {
            struct axl_dir_desc *e = axl_ring_prod__entry(&d->fill, idx + i);
            e->buf = pk[i]->idx;
            e->off = 0;
            e->len = 0;
            pk[i]->flags = 0; /* lent: not ours until it comes back */
            d->own[pk[i]->idx] = 0;
        }
        if (got < k) axl_ring_prod__cancel(&d->fill, k - got);
        axl_ring_prod__submit(&d->fill, got);
        d->info.fill_posted += got;
        want -= got;
        if (got < k) return;
    }
}

static int dir_open(struct axl_port *p, const struct axl_port_cfg *cfg)
{
    struct dirport *d;
    struct axl_pool *pool = cfg->pool;
    uint32_t wait_ms;
    int rc;

    d = calloc(1, sizeof(*d));
    if (!d) return AXL_ENOMEM;
    d->block = MAP_FAILED;
    d->hdr = MAP_FAILED;
    rc = axl_dirport_parse(cfg, &d->g, &d->memfd, &d->bell, &d->dbell, &wait_ms);
    if (rc < 0) goto err;
    axl_dir_layout(&d->g, &d->l);
    rc = AXL_EINVAL;
    if (cfg->queue >= d->g.nrep) {
        axl_err(MOD, "dir port: queue %u of %u replicas", cfg->queue, d->g.nrep);
        goto err;
    }
    if (!pool || pool->nbufs != d->g.nbufs || pool->buf_size != d->g.buf_size || !pool->base) {
        axl_err(MOD, "dir port: the pool is not the shared area (axl_dirport_pool_attach)");
        goto err;
    }
    d->q = cfg->queue;
    d->own = calloc(d->g.nbufs, 1);
    if (!d->own) {
        rc = AXL_ENOMEM;
        goto err;
    }
    d->hdr = mmap(NULL, AXL_DIR_HDR_BYTES, PROT_READ, MAP_SHARED, d->memfd, 0);
    d->block = mmap(NULL, d->l.block_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, d->memfd,
                    (off_t)axl_dir_block_off(&d->l, d->q));
    if (d->hdr == MAP_FAILED || d->block == MAP_FAILED) {
        rc = -errno;
        axl_err(MOD, "dir port: cannot map the shared area (fd %d): %s", d->memfd, strerror(errno));
        goto err;
    }
    d->slot = (struct axl_dir_slot *)d->block;

    /* Wait for the director to be up (it writes the device's MAC and MTU). */
    const uint64_t t0 = axl_clock_ns(), limit = (uint64_t)wait_ms * AXL_NS_PER_MS;
    while (!hdr_ok(d)) {
        if (axl_clock_ns() - t0 >= limit) {
            axl_err(MOD, "dir port: no director serving the shared area after %u ms", wait_ms);
            rc = AXL_EAGAIN;
            goto err;
        }
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    memcpy(p->mac, cfg->has_mac ? cfg->mac : d->hdr->mac, 6);
    uint32_t dmtu = d->hdr->mtu, dmax = d->hdr->max_frame;
    if (dmtu < 68 || dmtu > 65535 || dmax < 60 || dmax > d->g.buf_size - pool->headroom) {
        axl_err(MOD, "dir port: the director reports mtu %u, max frame %u: refused", dmtu, dmax);
        goto err;
    }
    p->mtu = cfg->mtu && cfg->mtu < dmtu ? cfg->mtu : dmtu;
    p->max_frame = dmax;
    p->ifindex = 0;

    /* A previous incarnation's connection counts died with it: ours start
     * at zero (before the attach, so the director never sees them stale
     * under our token). */
    for (uint32_t b = 0; b < AXL_STEER_RETA_SIZE; b++)
        atomic_store_explicit(&d->slot->conns[b], 0, memory_order_relaxed);
    /* Attach: a token no earlier holder of the slot used. */
    d->token = ((uint64_t)(uint32_t)getpid() << 32) | (uint32_t)(axl_clock_ns() | 1);
    atomic_store_explicit(&d->slot->req, d->token, memory_order_release);
    d->info.token = d->token;
    /* Lend an eighth of our share: TCP (net/tcp.c pool_low) stops queueing
     * data when the pool's free list falls to nbufs / 8, and nbufs is the
     * whole area here, so what we lend must stay small (see director.h). */
    d->fill_target = AXL_MIN(d->g.ring, AXL_MAX(d->g.nbufs / d->g.nrep / 8, 16u));
    p->priv = d;
    while (!try_attach(d) && axl_clock_ns() - t0 < limit) {
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
    if (d->attached) {
        /* The first grants are already on FREE: take them now so the engine
         * starts with buffers (its gratuitous ARP). */
        absorb_free(p, d);
        refill(p, d);
    } else if (wait_ms) {
        axl_warn(MOD, "dir port q%u: the director has not answered in %u ms; attaching later",
                 d->q, wait_ms);
    }
    return 0;
err:
    if (d->block != MAP_FAILED) munmap(d->block, d->l.block_bytes);
    if (d->hdr != MAP_FAILED) munmap((void *)d->hdr, AXL_DIR_HDR_BYTES);
    free(d->own);
    free(d);
    p->priv = NULL;
    return rc;
}

static void dir_close(struct axl_port *p)
{
    struct dirport *d = p->priv;
    if (!d) return;
    /* Detach: the director takes every buffer it gave us back. */
    if (d->slot) atomic_store_explicit(&d->slot->req, 0, memory_order_release);
    kick(d->dbell);
    munmap(d->block, d->l.block_bytes);
    munmap((void *)d->hdr, AXL_DIR_HDR_BYTES);
    free(d->own);
    free(d);
    p->priv = NULL;
}

/* Hot. */
static uint32_t dir_rx_burst(struct axl_port *p, struct axl_pkt **pkts, uint32_t n)
{
    struct dirport *d = p->priv;
    struct axl_pool *pool = p->cfg.pool;
    uint32_t idx, got = 0;

    if (axl_unlikely(!d->attached) && !try_attach(d)) return 0;
    absorb_free(p, d);
    refill(p, d);
    uint32_t k = axl_ring_cons__peek(&d->rx, n, &idx);
    for (uint32_t i = 0; i < k; i++) {
        const struct axl_dir_desc *e = axl_ring_cons__entry(&d->rx, idx + i);
        uint32_t buf = e->buf, off = e->off, len = e->len;
        struct axl_pkt *pkt = len >= 14 && off + len <= pool->buf_size ? foreign_buf(d, pool, buf)
                                                                       : NULL;
        if (axl_unlikely(!pkt)) {
            d->info.bad_rx_desc++;
            p->stats.rx_errors++;
            continue;
        }
        axl_pkt_reset(pool, pkt); /* ours now (INUSE), fresh metadata */
        pkt->data = axl_pool_buf(pool, buf) + off;
        pkt->len = len;
        pkt->queue = (uint16_t)d->q;
        p->stats.rx_packets++;
        p->stats.rx_bytes += len;
        pkts[got++] = pkt;
    }
    if (k) axl_ring_cons__release(&d->rx, k);
    return got;
}

/* Hot. Accepts a prefix; unfit frames in it are freed and counted. */
static uint32_t dir_tx_burst(struct axl_port *p, struct axl_pkt **pkts, uint32_t n)
{
    struct dirport *d = p->priv;
    struct axl_pool *pool = p->cfg.pool;
    uint32_t i, idx, sent = 0;

    if (axl_unlikely(!d->attached) && !try_attach(d)) {
        p->stats.link_drops += n; /* no director yet: the frames are dropped */
        axl_pkt_free_bulk(pool, pkts, n);
        return n;
    }
    for (i = 0; i < n; i++) {
        struct axl_pkt *pkt = pkts[i];
        if (axl_port_tx_unfit(p, pkt, 14, p->max_frame) ||
            axl_unlikely(axl_pkt_room(pool, pkt) < pkt->len)) {
            axl_pkt_free(pool, pkt);
            continue;
        }
        struct axl_pkt *cp = NULL;
        if (axl_pkt_is_held(pkt)) {
            /* A held frame stays its owner's (core/pool.h) while the
             * buffer of a TX descriptor becomes the director's: send a copy. */
            cp = axl_pkt_alloc(pool);
            if (!cp || axl_pkt_room(pool, cp) < pkt->len) {
                if (cp) axl_pkt_free(pool, cp);
                p->stats.tx_errors++;
                axl_pkt_free(pool, pkt); /* back to its owner */
                continue;
            }
            memcpy(cp->data, pkt->data, pkt->len);
            cp->len = pkt->len;
        }
        if (!axl_ring_prod__reserve(&d->tx, 1, &idx)) {
            if (cp) axl_pkt_free(pool, cp);
            p->stats.tx_full += n - i;
            break;
        }
        if (cp) {
            axl_pkt_free(pool, pkt);
            pkt = cp;
        }
        struct axl_dir_desc *e = axl_ring_prod__entry(&d->tx, idx);
        e->buf = pkt->idx;
        e->off = (uint16_t)axl_pkt_headroom(pool, pkt);
        e->len = (uint16_t)pkt->len;
        p->stats.tx_packets++;
        p->stats.tx_bytes += pkt->len;
        pkt->flags = 0; /* the director's now */
        d->own[pkt->idx] = 0;
        sent++;
    }
    if (sent) {
        axl_ring_prod__submit(&d->tx, sent);
        d->tx_unkicked = 1;
    }
    return i;
}

static int dir_flush(struct axl_port *p)
{
    struct dirport *d = p->priv;
    if (d->tx_unkicked) {
        d->tx_unkicked = 0;
        if (axl_ring_prod__needs_wakeup(&d->tx)) {
            kick(d->dbell);
            p->stats.wakeups++;
        }
    }
    return 0;
}

static int dir_fd(struct axl_port *p)
{
    struct dirport *d = p->priv;
    return d->bell;
}

static int dir_prepare_sleep(struct axl_port *p)
{
    struct dirport *d = p->priv;
    if (!d->attached) return try_attach(d) ? 0 : 1;
    int a = axl_ring_cons__prepare_sleep(&d->rx);
    int b = axl_ring_cons__prepare_sleep(&d->freer);
    return a && b;
}

static void dir_wake_done(struct axl_port *p)
{
    struct dirport *d = p->priv;
    uint64_t v;
    if (d->attached) {
        axl_ring_cons__wake_done(&d->rx);
        axl_ring_cons__wake_done(&d->freer);
    }
    while (read(d->bell, &v, sizeof(v)) == (ssize_t)sizeof(v))
        ;
}

const struct axl_port_ops axl_port_dir_ops = {
    .name = "dir",
    .open = dir_open,
    .rx_burst = dir_rx_burst,
    .tx_burst = dir_tx_burst,
    .flush = dir_flush,
    .fd = dir_fd,
    .prepare_sleep = dir_prepare_sleep,
    .wake_done = dir_wake_done,
    .close = dir_close,
};

int axl_dirport_info(const struct axl_port *p, struct axl_dirport_info *out)
{
    if (!p || p->ops != &axl_port_dir_ops || !p->priv) return AXL_EINVAL;
    *out = ((const struct dirport *)p->priv)->info;
    return 0;
}

const struct axl_steer_reta *axl_dirport_reta(const struct axl_port *p)
{
    if (!p || p->ops != &axl_port_dir_ops || !p->priv) return NULL;
    const struct dirport *d = p->priv;
    return axl_dir_reta((void *)(uintptr_t)d->hdr); /* a read-only mapping */
}

_Atomic uint32_t *axl_dirport_bucket_conns(const struct axl_port *p)
{
    if (!p || p->ops != &axl_port_dir_ops || !p->priv) return NULL;
    return ((const struct dirport *)p->priv)->slot->conns;
}
