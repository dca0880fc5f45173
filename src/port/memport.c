/* SPDX-License-Identifier: MIT */
/*
 * memport.c - the in-memory port (see memport.h). Frames waiting in either
 * direction are heap copies in two bounded FIFOs; allocation happens here
 * only because this port is a test fixture, not a packet path.
 *
 * Call chain: axl_port_open("mem:...") -> mem_open; engine ->
 * mem_rx_burst/mem_tx_burst; tests -> axl_memport_*.
 */
#include "port/memport.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/opts.h"

struct mframe {
    uint32_t len;
    uint16_t flags;
    uint8_t data[];
};

struct fifo {
    struct mframe **slot;
    uint32_t cap, head, count;
};

struct memport {
    struct fifo rx, tx;
    uint32_t tx_limit;
    /* txdefer=1: frames tx_burst took and "the device" has not yet read
     * (axl_memport_complete): a FIFO of the packets themselves. */
    int defer;
    struct axl_pkt **dq;
    uint32_t dcap, dhead, dcount;
};

static const uint8_t default_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};

static int fifo_init(struct fifo *f, uint32_t cap)
{
    f->slot = calloc(cap, sizeof(*f->slot));
    f->cap = cap;
    f->head = f->count = 0;
    return f->slot ? 0 : AXL_ENOMEM;
}

static void fifo_push(struct fifo *f, struct mframe *m)
{
    f->slot[(f->head + f->count) % f->cap] = m;
    f->count++;
}

static struct mframe *fifo_pop(struct fifo *f)
{
    if (!f->count) return NULL;
    struct mframe *m = f->slot[f->head];
    f->head = (f->head + 1) % f->cap;
    f->count--;
    return m;
}

static void fifo_fini(struct fifo *f)
{
    struct mframe *m;
    while ((m = fifo_pop(f)))
        free(m);
    free(f->slot);
    f->slot = NULL;
}

static struct mframe *mframe_new(const void *data, uint32_t len, uint16_t flags)
{
    struct mframe *m = malloc(sizeof(*m) + len);
    if (!m) return NULL;
    m->len = len;
    m->flags = flags;
    memcpy(m->data, data, len);
    return m;
}

static int opt_u32(const struct axl_port_cfg *cfg, const char *key, uint32_t def, uint32_t lo,
                   uint32_t hi, uint32_t *out)
{
    const char *v = axl_port_opt(cfg, key);
    uint64_t x;
    if (!v) {
        *out = def;
        return 0;
    }
    if (axl_parse_u64(v, &x) < 0 || x < lo || x > hi) return AXL_EINVAL;
    *out = (uint32_t)x;
    return 0;
}

static int mem_open(struct axl_port *p, const struct axl_port_cfg *cfg)
{
    static const char *const known[] = {"max_frame", "rxcap", "txcap", "txdefer"};
    uint32_t rxcap, txcap, max_frame, defer;

    for (uint32_t i = 0; i < cfg->nopts; i++) {
        int ok = 0;
        for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
            ok |= strcmp(cfg->opts[i].key, known[k]) == 0;
        if (!ok) return AXL_EINVAL;
    }
    p->mtu = cfg->mtu ? cfg->mtu : 1500;
    if (opt_u32(cfg, "max_frame", p->mtu + 14, 60, 65535 + 14, &max_frame) < 0 ||
        opt_u32(cfg, "rxcap", AXL_MEMPORT_CAP_DEFAULT, 1, 1u << 20, &rxcap) < 0 ||
        opt_u32(cfg, "txcap", AXL_MEMPORT_CAP_DEFAULT, 1, 1u << 20, &txcap) < 0 ||
        opt_u32(cfg, "txdefer", 0, 0, 1, &defer) < 0)
        return AXL_EINVAL;
    struct memport *m = calloc(1, sizeof(*m));
    if (!m) return AXL_ENOMEM;
    m->defer = (int)defer;
    m->dcap = txcap;
    if (fifo_init(&m->rx, rxcap) < 0 || fifo_init(&m->tx, txcap) < 0 ||
        !(m->dq = calloc(txcap, sizeof(*m->dq)))) {
        free(m->rx.slot);
        free(m->tx.slot);
        free(m);
        return AXL_ENOMEM;
    }
    memcpy(p->mac, cfg->has_mac ? cfg->mac : default_mac, 6);
    p->max_frame = max_frame;
    p->ifindex = 0;
    p->priv = m;
    return 0;
}

/* Deferred frames: the device reads (copy != 0) or drops the n oldest and
 * "completes" them, freeing each to the pool (a held frame: back to its
 * owner). Returns how many. */
static uint32_t defer_complete(struct axl_port *p, struct memport *m, uint32_t n, int copy)
{
    uint32_t k = 0;
    for (; k < n && m->dcount; k++) {
        struct axl_pkt *pkt = m->dq[m->dhead];
        m->dhead = (m->dhead + 1) % m->dcap;
        m->dcount--;
        struct mframe *f = copy ? mframe_new(pkt->data, pkt->len, 0) : NULL;
        if (f) {
            fifo_push(&m->tx, f); /* room: dcount + tx.count <= txcap */
        } else if (copy) {
            p->stats.tx_errors++;
        }
        axl_pkt_free(p->cfg.pool, pkt);
    }
    return k;
}

static void mem_close(struct axl_port *p)
{
    struct memport *m = p->priv;
    if (!m) return;
    defer_complete(p, m, m->dcount, 0);
    free(m->dq);
    fifo_fini(&m->rx);
    fifo_fini(&m->tx);
    free(m);
    p->priv = NULL;
}

static uint32_t mem_rx_burst(struct axl_port *p, struct axl_pkt **pkts, uint32_t n)
{
    struct memport *m = p->priv;
    struct axl_pool *pool = p->cfg.pool;
    uint32_t got = 0;
    struct mframe *f;

    while (got < n && (f = fifo_pop(&m->rx))) {
        struct axl_pkt *pkt = axl_pkt_alloc(pool);
        if (!pkt) {
            p->stats.rx_nobuf++;
        } else if (f->len > axl_pkt_room(pool, pkt)) {
            p->stats.rx_trunc++;
            axl_pkt_free(pool, pkt);
        } else {
            memcpy(pkt->data, f->data, f->len);
            pkt->len = f->len;
            pkt->flags |= f->flags & (AXL_PKT_F_CSUM_PARTIAL | AXL_PKT_F_CSUM_OK);
            if (f->flags & AXL_PKT_F_CSUM_PARTIAL) p->stats.rx_csum_partial++;
            p->stats.rx_packets++;
            p->stats.rx_bytes += f->len;
            pkts[got++] = pkt;
        }
        free(f);
    }
    return got;
}

static uint32_t mem_tx_burst(struct axl_port *p, struct axl_pkt **pkts, uint32_t n)
{
    struct memport *m = p->priv;
    struct axl_pool *pool = p->cfg.pool;
    uint32_t i;

    for (i = 0; i < n; i++) {
        struct axl_pkt *pkt = pkts[i];
        if ((m->tx_limit && i >= m->tx_limit) || m->tx.count + m->dcount >= m->tx.cap) {
            p->stats.tx_full++;
            break;
        }
        if (pkt->len > p->max_frame) {
            p->stats.tx_too_big++; /* refused and freed: ownership was taken */
            axl_pkt_free(pool, pkt);
            continue;
        }
        if (m->defer) { /* kept, like an AF_XDP TX descriptor, until completed */
            m->dq[(m->dhead + m->dcount) % m->dcap] = pkt;
            m->dcount++;
            p->stats.tx_packets++;
            p->stats.tx_bytes += pkt->len;
            continue;
        }
        struct mframe *f = mframe_new(pkt->data, pkt->len, 0);
        if (!f) {
            p->stats.tx_errors++;
            axl_pkt_free(pool, pkt);
            continue;
        }
        fifo_push(&m->tx, f);
        p->stats.tx_packets++;
        p->stats.tx_bytes += pkt->len;
        axl_pkt_free(pool, pkt);
    }
    return i;
}

static int mem_prepare_sleep(struct axl_port *p)
{
    struct memport *m = p->priv;
    return m->rx.count == 0;
}

const struct axl_port_ops axl_port_mem_ops = {
    .name = "mem",
    .open = mem_open,
    .rx_burst = mem_rx_burst,
    .tx_burst = mem_tx_burst,
    .prepare_sleep = mem_prepare_sleep,
    .close = mem_close,
};

static struct memport *mp(const struct axl_port *p)
{
    return p && p->ops == &axl_port_mem_ops ? p->priv : NULL;
}

int axl_memport_inject(struct axl_port *p, const void *frame, uint32_t len, uint16_t flags)
{
    struct memport *m = mp(p);
    if (!m || !frame || len == 0 || len > 65535) return AXL_EINVAL;
    if (m->rx.count == m->rx.cap) return AXL_ENOBUFS;
    struct mframe *f = mframe_new(frame, len, flags);
    if (!f) return AXL_ENOMEM;
    fifo_push(&m->rx, f);
    return 0;
}

uint32_t axl_memport_rx_pending(const struct axl_port *p)
{
    const struct memport *m = mp(p);
    return m ? m->rx.count : 0;
}

int axl_memport_collect(struct axl_port *p, void *buf, uint32_t buflen)
{
    struct memport *m = mp(p);
    struct mframe *f = m ? fifo_pop(&m->tx) : NULL;
    if (!f) return AXL_EAGAIN;
    int len = (int)f->len;
    if (buf) memcpy(buf, f->data, f->len < buflen ? f->len : buflen);
    free(f);
    return len;
}

uint32_t axl_memport_tx_pending(const struct axl_port *p)
{
    const struct memport *m = mp(p);
    return m ? m->tx.count : 0;
}

void axl_memport_tx_discard(struct axl_port *p)
{
    struct memport *m = mp(p);
    struct mframe *f;
    if (m) defer_complete(p, m, m->dcount, 0);
    while (m && (f = fifo_pop(&m->tx)))
        free(f);
}

uint32_t axl_memport_complete(struct axl_port *p, uint32_t n)
{
    struct memport *m = mp(p);
    return m ? defer_complete(p, m, n, 1) : 0;
}

void axl_memport_set_tx_defer(struct axl_port *p, int on)
{
    struct memport *m = mp(p);
    if (m) m->defer = on != 0;
}

uint32_t axl_memport_tx_deferred(const struct axl_port *p)
{
    const struct memport *m = mp(p);
    return m ? m->dcount : 0;
}

void axl_memport_set_tx_limit(struct axl_port *p, uint32_t n)
{
    struct memport *m = mp(p);
    if (m) m->tx_limit = n;
}
