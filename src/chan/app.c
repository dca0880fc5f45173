/* SPDX-License-Identifier: MIT */
/*
 * app.c - the application side of a channel (the layer under libaxl's native
 * API and POSIX sockets): mapping the regions it was handed, submitting
 * commands, reading and validating events, the socket byte rings, hints,
 * doorbells, and registered memory for zero-touch sends.
 *
 * Call chain:
 *   axl_chan_recv_hello_bell -> axl_chan_map_app -> close the region fds
 *     -> axl_chan_app_set_bell (the stack's eventfd, if the HELLO had one)
 *   NEW_CONN / DONE(OPEN) event -> axl_chan_app_sock (a pre-mapped socket:
 *     accept costs no mapping and no system call)
 *   each loop: axl_chan_app_poll_event until 0, axl_chan_app_scan,
 *     rx_peek/rx_commit, tx_reserve/tx_publish, axl_chan_app_submit,
 *     axl_chan_app_kick once per batch
 *   idle: axl_chan_app_sleep
 *
 * The STK region is mapped PROT_READ here (the memfd is sealed against
 * writable mappings, so this process could not map it writable even if it
 * tried); the APP region read-write. The stack is more trusted than the app,
 * but what it wrote is validated all the same: the header against the layout
 * recomputed from the hello, every event (decode.c), queue and ring indices
 * (ring.h / bring.h), and slot contents before a socket is attached.
 */
#include "chan/chan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chan/doorbell.h"
#include "core/clock.h"
#include "core/compiler.h"
#include "core/err.h"

static void app_viol(struct axl_chan_app *a, unsigned kind)
{
    a->stats.violations++;
    a->stats.v[kind < AXL_CHAN_V_COUNT ? kind : AXL_CHAN_V_NONE]++;
}

static int check_memfd(int fd, uint64_t size, int seals_needed)
{
    struct stat st;
    int seals = fcntl(fd, F_GET_SEALS);
    if (seals < 0 || (seals & seals_needed) != seals_needed) return AXL_EINVAL;
    if (fstat(fd, &st) < 0) return -errno;
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != size) return AXL_EINVAL;
    return 0;
}

/* The header must say exactly what we computed. */
static int hdr_matches(const struct axl_chan_hdr *hp, const struct axl_chan_hello *h,
                       const struct axl_chan_layout *l)
{
    struct axl_chan_hdr x;
    memcpy(&x, hp, sizeof(x)); /* one read of the shared header */
    return x.magic == AXL_CHAN_MAGIC && x.version == AXL_CHAN_ABI_VERSION &&
           x.hdr_size == sizeof(x) && x.page_size == AXL_CHAN_PAGE && x.app_id == h->app_id &&
           x.max_socks == l->p.max_socks && x.rx_size == l->p.rx_size &&
           x.tx_size == l->p.tx_size && x.evq_slots == l->p.evq_slots &&
           x.cmdq_slots == l->p.cmdq_slots && x.max_regmem == l->p.max_regmem &&
           x.evt_size == sizeof(struct axl_chan_event) &&
           x.cmd_size == sizeof(struct axl_chan_cmd) &&
           x.slot_size == sizeof(struct axl_chan_slot) &&
           x.line_size == sizeof(struct axl_chan_line) && x.reserved0 == 0 && x.nonce == h->nonce &&
           x.size[0] == l->size[0] && x.size[1] == l->size[1] && x.sctl_off == l->sctl_off &&
           x.s_hint_off == l->s_hint_off && x.s_ack_off == l->s_ack_off &&
           x.evq_off == l->evq_off && x.slots_off == l->slots_off && x.rx_off == l->rx_off &&
           x.actl_off == l->actl_off && x.a_hint_off == l->a_hint_off &&
           x.a_ack_off == l->a_ack_off && x.cmdq_off == l->cmdq_off &&
           x.lines_off == l->lines_off && x.tx_off == l->tx_off;
}

int axl_chan_map_app(struct axl_chan_app *a, const struct axl_chan_hello *h,
                     const int fds[AXL_CHAN_NREGIONS])
{
    struct axl_chan_params p = {h->max_socks, h->rx_size,    h->tx_size,
                                h->evq_slots, h->cmdq_slots, h->max_regmem};
    struct axl_chan_layout l;
    int ret;
    memset(a, 0, sizeof(*a));
    if (h->reserved || axl_chan_layout(&p, &l) < 0) return AXL_EINVAL;
    /* Neither region may shrink under us; the STK one must also be closed to
     * writable mappings (what we only read, we cannot write). */
    if ((ret = check_memfd(fds[AXL_CHAN_R_STK], l.size[AXL_CHAN_R_STK],
                           F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE)) < 0 ||
        (ret = check_memfd(fds[AXL_CHAN_R_APP], l.size[AXL_CHAN_R_APP],
                           F_SEAL_SHRINK | F_SEAL_GROW)) < 0)
        return ret;
    void *s = mmap(NULL, l.size[AXL_CHAN_R_STK], PROT_READ, MAP_SHARED, fds[AXL_CHAN_R_STK], 0);
    if (s == MAP_FAILED) return -errno;
    void *w = mmap(NULL, l.size[AXL_CHAN_R_APP], PROT_READ | PROT_WRITE, MAP_SHARED,
                   fds[AXL_CHAN_R_APP], 0);
    if (w == MAP_FAILED) {
        ret = -errno;
        munmap(s, l.size[AXL_CHAN_R_STK]);
        return ret;
    }
    a->lay = l;
    a->stk = s;
    a->app = w;
    a->hdr = (const struct axl_chan_hdr *)(const void *)a->stk;
    if (!hdr_matches(a->hdr, h, &l)) {
        axl_chan_app_unmap(a);
        return AXL_EMALFORMED;
    }
    a->sctl = (const struct axl_chan_sctl *)(const void *)(a->stk + l.sctl_off);
    a->slots = (const struct axl_chan_slot *)(const void *)(a->stk + l.slots_off);
    a->s_hint = (const _Atomic uint64_t *)(const void *)(a->stk + l.s_hint_off);
    a->s_ack = (const _Atomic uint64_t *)(const void *)(a->stk + l.s_ack_off);
    a->actl = (struct axl_chan_actl *)(void *)(a->app + l.actl_off);
    a->lines = (struct axl_chan_line *)(void *)(a->app + l.lines_off);
    a->a_hint = (_Atomic uint64_t *)(void *)(a->app + l.a_hint_off);
    a->a_ack = (_Atomic uint64_t *)(void *)(a->app + l.a_ack_off);
    a->ack_priv = calloc(l.bm_words, sizeof(uint64_t));
    if (!a->ack_priv) {
        axl_chan_app_unmap(a);
        return AXL_ENOMEM;
    }
    for (uint32_t i = 0; i < l.bm_words; i++)
        a->ack_priv[i] = atomic_load_explicit(&a->a_ack[i], memory_order_relaxed);
    axl_ring_prod_attach_split(&a->cmdq, &a->actl->cmdq_prod,
                               (_Atomic uint32_t *)&a->sctl->cmdq_cons,
                               (_Atomic uint32_t *)&a->sctl->cmdq_flags, a->app + l.cmdq_off,
                               p.cmdq_slots, sizeof(struct axl_chan_cmd));
    axl_ring_cons_attach_split(&a->evq, (_Atomic uint32_t *)&a->sctl->evq_prod, &a->actl->evq_cons,
                               &a->actl->evq_flags, (uint8_t *)(uintptr_t)(a->stk + l.evq_off),
                               p.evq_slots, sizeof(struct axl_chan_event));
    a->stk_act_seen = atomic_load_explicit(&a->sctl->activity, memory_order_acquire);
    a->edctx = (struct axl_chan_edctx){p.max_socks, p.rx_size, p.tx_size, a->slots};
    a->app_id = h->app_id;
    a->nonce = h->nonce;
    return 0;
}

void axl_chan_app_unmap(struct axl_chan_app *a)
{
    if (a->stk) munmap((void *)(uintptr_t)a->stk, a->lay.size[AXL_CHAN_R_STK]);
    if (a->app) munmap(a->app, a->lay.size[AXL_CHAN_R_APP]);
    free(a->ack_priv);
    if (a->has_bell) close(a->bell_fd);
    memset(a, 0, sizeof(*a));
}

void axl_chan_app_set_bell(struct axl_chan_app *a, int bell_fd)
{
    if (a->has_bell) close(a->bell_fd);
    a->has_bell = bell_fd >= 0;
    a->bell_fd = bell_fd;
}

int axl_chan_app_up(const struct axl_chan_app *a)
{
    return atomic_load_explicit(&a->sctl->state, memory_order_acquire) == AXL_CHAN_ST_UP;
}

int axl_chan_app_sock(struct axl_chan_app *a, uint32_t id, uint32_t gen, struct axl_chan_asock *s)
{
    const struct axl_chan_layout *l = &a->lay;
    if (id >= l->p.max_socks) return AXL_EINVAL;
    const struct axl_chan_slot *sl = &a->slots[id];
    uint32_t st = atomic_load_explicit(&sl->state, memory_order_acquire);
    if (st == AXL_CHAN_SS_FREE || atomic_load_explicit(&sl->gen, memory_order_relaxed) != gen)
        return AXL_ENOENT;
    if (st >= AXL_CHAN_SS_COUNT || sl->rx_size != l->p.rx_size || sl->tx_size != l->p.tx_size ||
        sl->rx_off != l->rx_off + (uint64_t)id * l->p.rx_size ||
        sl->tx_off != l->tx_off + (uint64_t)id * l->p.tx_size) {
        app_viol(a, AXL_CHAN_V_SLOT);
        return AXL_EMALFORMED;
    }
    /* Offsets from our own layout, not from shared memory. */
    struct axl_chan_line *ln = &a->lines[id];
    uint32_t rxc = atomic_load_explicit(&ln->rx_cons, memory_order_relaxed);
    uint32_t txp = atomic_load_explicit(&ln->tx_prod, memory_order_relaxed);
    s->id = id;
    s->gen = gen;
    axl_bring_attach(&s->rx,
                     (uint8_t *)(uintptr_t)(a->stk + l->rx_off + (uint64_t)id * l->p.rx_size),
                     l->p.rx_size, &ln->rx_cons, &sl->rx_prod, rxc, rxc);
    axl_bring_attach(&s->tx, a->app + l->tx_off + (uint64_t)id * l->p.tx_size, l->p.tx_size,
                     &ln->tx_prod, &sl->tx_cons, txp, txp);
    atomic_store_explicit(&ln->flags, 0, memory_order_relaxed);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* commands and events                                                       */

uint32_t axl_chan_app_submit(struct axl_chan_app *a, const struct axl_chan_cmd *c, uint32_t n)
{
    uint32_t idx, k = axl_ring_prod__reserve(&a->cmdq, n, &idx);
    if (k == 0) {
        if (axl_unlikely(a->cmdq.cached_prod - a->cmdq.cached_cons > a->cmdq.mask + 1))
            app_viol(a, AXL_CHAN_V_QUEUE_INDEX);
        a->stats.queue_full++;
        return 0;
    }
    for (uint32_t i = 0; i < k; i++)
        memcpy(axl_ring_prod__entry(&a->cmdq, idx + i), &c[i], sizeof(*c));
    axl_ring_prod__submit(&a->cmdq, k);
    a->stats.cmds += k;
    return k;
}

int axl_chan_app_poll_event(struct axl_chan_app *a, struct axl_chan_event *out, unsigned *v)
{
    uint32_t idx;
    for (;;) {
        *v = AXL_CHAN_V_NONE;
        if (axl_ring_cons__peek(&a->evq, 1, &idx) == 0) {
            if (axl_unlikely(a->evq.cached_prod - a->evq.cached_cons > a->evq.mask + 1)) {
                *v = AXL_CHAN_V_QUEUE_INDEX;
                app_viol(a, *v);
                return AXL_EMALFORMED;
            }
            return 0;
        }
        memcpy(out, axl_ring_cons__entry(&a->evq, idx), sizeof(*out));
        axl_ring_cons__release(&a->evq, 1);
        int r = axl_chan_evt_decode(out, &a->edctx, v);
        if (r < 0) {
            app_viol(a, *v);
            return r;
        }
        if (r == 1) {
            a->stats.stale_events++;
            continue;
        }
        a->stats.events++;
        return 1;
    }
}

/* ------------------------------------------------------------------------ */
/* hints                                                                     */

uint32_t axl_chan_app_scan(struct axl_chan_app *a, uint32_t *ids, uint32_t max)
{
    uint32_t act = atomic_load_explicit(&a->sctl->activity, memory_order_acquire);
    if (act == a->stk_act_seen && !a->scan_pending) return 0;
    a->stk_act_seen = act;
    a->scan_pending = 0;
    uint32_t n = 0, words = a->lay.bm_words;
    for (uint32_t k = 0; k < words; k++) {
        uint32_t w = (a->scan_word + k) % words;
        uint64_t d = atomic_load_explicit(&a->s_hint[w], memory_order_acquire) ^ a->ack_priv[w];
        uint64_t take = 0;
        if (!d) continue;
        while (d && n < max) {
            unsigned b = (unsigned)__builtin_ctzll(d);
            d &= d - 1;
            take |= 1ull << b;
            ids[n++] = w * 64 + b;
        }
        a->ack_priv[w] ^= take;
        atomic_store_explicit(&a->a_ack[w], a->ack_priv[w], memory_order_release);
        if (d) {
            a->scan_pending = 1;
            a->scan_word = w;
            break;
        }
    }
    atomic_thread_fence(memory_order_seq_cst); /* pairs with axl_chan_stk_mark */
    a->stats.hints += n;
    return n;
}

void axl_chan_app_mark(struct axl_chan_app *a, uint32_t id)
{
    if (id >= a->lay.p.max_socks) return;
    uint32_t w = id / 64;
    uint64_t bit = 1ull << (id % 64);
    /* Publication (ring index store) before reading the stack's ack: pairs
     * with the fence at the end of axl_chan_stk_scan. */
    atomic_thread_fence(memory_order_seq_cst);
    uint64_t k = atomic_load_explicit(&a->s_ack[w], memory_order_relaxed);
    uint64_t h = atomic_load_explicit(&a->a_hint[w], memory_order_relaxed);
    /* Toggle only if not already pending; CAS so threads sharing the channel
     * cannot toggle twice. */
    while (!((h ^ k) & bit))
        if (atomic_compare_exchange_weak_explicit(&a->a_hint[w], &h, h ^ bit, memory_order_release,
                                                  memory_order_relaxed))
            break;
}

/* ------------------------------------------------------------------------ */
/* byte rings                                                                */

int axl_chan_app_rx_peek(struct axl_chan_app *a, struct axl_chan_asock *s, struct axl_cspan sp[2])
{
    int n = axl_bring_peek(&s->rx, s->rx.size, sp);
    if (axl_unlikely(n < 0)) app_viol(a, AXL_CHAN_V_RING_INDEX);
    return n;
}

void axl_chan_app_rx_commit(struct axl_chan_app *a, struct axl_chan_asock *s, uint32_t n)
{
    if (n == 0) return;
    axl_bring_commit(&s->rx, n);
    a->stats.bytes_in += n;
    /* Dekker with the stack's rx_reserve: our index store, fence, its flag. */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&a->slots[s->id].flags, memory_order_relaxed) & AXL_CHAN_SF_RX_WANT)
        axl_chan_app_mark(a, s->id);
}

int axl_chan_app_rx_eof(struct axl_chan_app *a, struct axl_chan_asock *s)
{
    struct axl_cspan sp[2];
    uint32_t f = atomic_load_explicit(&a->slots[s->id].flags, memory_order_acquire);
    if (!(f & AXL_CHAN_SF_RX_EOF)) return 0;
    return axl_chan_app_rx_peek(a, s, sp) == 0;
}

int axl_chan_app_tx_reserve(struct axl_chan_app *a, struct axl_chan_asock *s, struct axl_span sp[2])
{
    if (atomic_load_explicit(&a->slots[s->id].flags, memory_order_relaxed) & AXL_CHAN_SF_TX_SHUT) {
        sp[0].len = sp[1].len = 0;
        return -EPIPE;
    }
    int n = axl_bring_reserve(&s->tx, s->tx.size, sp);
    if (axl_unlikely(n < 0)) app_viol(a, AXL_CHAN_V_RING_INDEX);
    return n;
}

void axl_chan_app_tx_publish(struct axl_chan_app *a, struct axl_chan_asock *s, uint32_t n)
{
    if (n == 0) return;
    axl_bring_publish(&s->tx, n);
    a->stats.bytes_out += n;
    axl_chan_app_mark(a, s->id);
}

void axl_chan_app_tx_want(struct axl_chan_app *a, struct axl_chan_asock *s, int on)
{
    _Atomic uint32_t *f = &a->lines[s->id].flags;
    uint32_t v = atomic_load_explicit(f, memory_order_relaxed);
    v = on ? v | AXL_CHAN_LF_TX_WANT : v & ~(uint32_t)AXL_CHAN_LF_TX_WANT;
    atomic_store_explicit(f, v, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst); /* then re-check the ring before sleeping */
}

/* ------------------------------------------------------------------------ */
/* doorbells                                                                 */

void axl_chan_app_kick(struct axl_chan_app *a)
{
    /* pairs with axl_chan_stk_prepare_sleep */
    enum axl_doorbell_kicked k = axl_doorbell_kick(&a->waker, &a->actl->activity, a->cmdq.flags,
                                                   a->has_bell ? a->bell_fd : -1);
    a->stats.kicks++;
    a->stats.wakes += k == AXL_DOORBELL_WOKE;
    a->stats.wakes_suppressed += k == AXL_DOORBELL_SUPPRESSED;
}

int axl_chan_app_prepare_sleep(struct axl_chan_app *a)
{
    atomic_store_explicit(a->evq.flags, axl_doorbell_sleep_word(a->stk_act_seen),
                          memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst);
    if (axl_ring_cons__avail(&a->evq, 1) || a->scan_pending ||
        atomic_load_explicit(&a->sctl->activity, memory_order_relaxed) != a->stk_act_seen) {
        axl_ring_cons__wake_done(&a->evq);
        a->stats.sleeps_aborted++;
        return 0;
    }
    return 1;
}

void axl_chan_app_wake_done(struct axl_chan_app *a)
{
    axl_ring_cons__wake_done(&a->evq);
}

int axl_chan_app_sleep(struct axl_chan_app *a, uint64_t timeout_ns)
{
    if (!axl_chan_app_prepare_sleep(a)) return 0;
    a->stats.sleeps++;
    if (axl_futex_wait(&a->sctl->activity, a->stk_act_seen, timeout_ns) == 0)
        a->stats.sleep_timeouts++;
    axl_chan_app_wake_done(a);
    return 1;
}

/* ------------------------------------------------------------------------ */
/* registered memory                                                         */

int axl_chan_regmem_create(struct axl_chan_regmem *m, uint64_t size)
{
    int ret;
    m->fd = -1;
    m->base = NULL;
    m->size = size;
    if (size < 1 || size > AXL_CHAN_REGMEM_BYTES_MAX) return AXL_EINVAL;
    m->fd = memfd_create("axl-chan-regmem", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (m->fd < 0) return -errno;
    if (ftruncate(m->fd, (off_t)size) < 0 ||
        fcntl(m->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
        goto err;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd, 0);
    if (p == MAP_FAILED) goto err;
    m->base = p;
    return 0;
err:
    ret = -errno;
    close(m->fd);
    m->fd = -1;
    return ret;
}

void axl_chan_regmem_destroy(struct axl_chan_regmem *m)
{
    if (m->base) munmap(m->base, m->size);
    if (m->fd >= 0) close(m->fd);
    m->base = NULL;
    m->fd = -1;
}

int axl_chan_regmem_register(int sock, const struct axl_chan_regmem *m, uint64_t cookie)
{
    struct axl_chan_msg req, ack;
    int fds[AXL_CHAN_MSG_FDS_MAX];
    memset(&req, 0, sizeof(req));
    req.magic = AXL_CHAN_MAGIC;
    req.version = AXL_CHAN_ABI_VERSION;
    req.type = AXL_CHAN_MSG_REGMEM;
    req.nfds = 1;
    req.u.regmem.size = m->size;
    req.u.regmem.cookie = cookie;
    int ret = axl_chan_msg_send(sock, &req, &m->fd);
    if (ret < 0) return ret;
    ret = axl_chan_msg_recv(sock, &ack, fds);
    if (ret < 0) return ret;
    if (ack.type != AXL_CHAN_MSG_REGMEM_ACK || ack.u.regmem.cookie != cookie) {
        for (uint32_t i = 0; i < ack.nfds; i++)
            close(fds[i]);
        return AXL_EMALFORMED;
    }
    return ack.u.regmem.status < 0 ? ack.u.regmem.status : (int)ack.u.regmem.region;
}
