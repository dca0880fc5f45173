/* SPDX-License-Identifier: MIT */
/*
 * stk.c - the stack (replica) side of an application channel: creating and
 * mapping the regions, the socket table, reading commands, posting events,
 * the socket byte rings, hints, doorbells and registered app memory.
 *
 * Call chain (one replica, single-threaded, per attached application):
 *   axl_chan_create -> axl_chan_send_hello -> axl_chan_stk_drop_fds
 *   each loop iteration:
 *     axl_chan_stk_poll_cmd until 0    (copy out, validate, hand to TCP glue)
 *     axl_chan_stk_scan                (which sockets have TX work)
 *     axl_chan_stk_tx_peek / _consume  (send, and free what was acked)
 *     axl_chan_stk_rx_reserve / _publish, axl_chan_stk_post
 *     axl_chan_stk_kick                (one per iteration with news)
 *   idle: axl_chan_stk_sleep, or prepare_sleep on each app + wait_many
 *
 * The regions are drawn in abi.h. Here the stack maps the STK region
 * read-write and the APP region PROT_READ; everything it reads from the APP
 * region (indices, hint words, command entries, flags) is treated as hostile:
 * - command entries are copied out before decode.c validates them;
 * - queue and ring indices are clamped and flagged (ring.h, bring.h);
 * - hint bits for free slots are ignored; any bit pattern costs at most one
 *   pass over the table (max_socks / 64 words);
 * - the app's sleep flag cannot make the stack issue more than one FUTEX_WAKE
 *   per app sleep (or per millisecond with a frozen flag);
 * and every violation is counted by kind in ch->stats (the replica decides
 * when to axl_chan_stk_disconnect an offender).
 * Hot path: poll_cmd, scan, tx_peek/consume, rx_reserve/publish, post, kick.
 * None of them makes a system call except kick when the app sleeps.
 */
#include "chan/chan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chan/doorbell.h"
#include "core/clock.h"
#include "core/compiler.h"
#include "core/err.h"

#define SEALS_BASE (F_SEAL_SHRINK | F_SEAL_GROW)

static void viol(struct axl_chan_stats *st, unsigned kind)
{
    st->violations++;
    st->v[kind < AXL_CHAN_V_COUNT ? kind : AXL_CHAN_V_NONE]++;
}

static void stk_viol(struct axl_chan_stk *ch, unsigned kind)
{
    viol(&ch->stats, kind);
    atomic_store_explicit(&ch->sctl->violations, (uint32_t)ch->stats.violations,
                          memory_order_relaxed);
}

/* ------------------------------------------------------------------------ */
/* create / map / close                                                      */

static int check_memfd(int fd, uint64_t size, int seals_needed)
{
    struct stat st;
    int seals = fcntl(fd, F_GET_SEALS);
    if (seals < 0 || (seals & seals_needed) != seals_needed) return AXL_EINVAL;
    if (fstat(fd, &st) < 0) return -errno;
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != size) return AXL_EINVAL;
    return 0;
}

int axl_chan_map_stack(struct axl_chan_stk *ch, const struct axl_chan_params *p,
                       const int fds[AXL_CHAN_NREGIONS])
{
    struct axl_chan_layout l;
    int ret = axl_chan_layout(p, &l);
    memset(ch, 0, sizeof(*ch));
    ch->fd[0] = ch->fd[1] = -1;
    if (ret < 0) return ret;
    for (int i = 0; i < AXL_CHAN_NREGIONS; i++)
        if ((ret = check_memfd(fds[i], l.size[i], SEALS_BASE)) < 0) return ret;
    ch->lay = l;

    void *s = mmap(NULL, l.size[AXL_CHAN_R_STK], PROT_READ | PROT_WRITE, MAP_SHARED,
                   fds[AXL_CHAN_R_STK], 0);
    if (s == MAP_FAILED) return -errno;
    void *a = mmap(NULL, l.size[AXL_CHAN_R_APP], PROT_READ, MAP_SHARED, fds[AXL_CHAN_R_APP], 0);
    if (a == MAP_FAILED) {
        ret = -errno;
        munmap(s, l.size[AXL_CHAN_R_STK]);
        return ret;
    }
    ch->stk = s;
    ch->app = a;
    ch->hdr = (struct axl_chan_hdr *)(void *)ch->stk;
    ch->sctl = (struct axl_chan_sctl *)(void *)(ch->stk + l.sctl_off);
    ch->slots = (struct axl_chan_slot *)(void *)(ch->stk + l.slots_off);
    ch->s_hint = (_Atomic uint64_t *)(void *)(ch->stk + l.s_hint_off);
    ch->s_ack = (_Atomic uint64_t *)(void *)(ch->stk + l.s_ack_off);
    ch->actl = (const struct axl_chan_actl *)(const void *)(ch->app + l.actl_off);
    ch->lines = (const struct axl_chan_line *)(const void *)(ch->app + l.lines_off);
    ch->a_hint = (const _Atomic uint64_t *)(const void *)(ch->app + l.a_hint_off);
    ch->a_ack = (const _Atomic uint64_t *)(const void *)(ch->app + l.a_ack_off);

    ch->sock = calloc(p->max_socks, sizeof(*ch->sock));
    ch->free_ids = calloc(p->max_socks, sizeof(*ch->free_ids));
    ch->hint_priv = calloc(l.bm_words, sizeof(uint64_t));
    ch->ack_priv = calloc(l.bm_words, sizeof(uint64_t));
    ch->reg_size = calloc(p->max_regmem, sizeof(uint64_t));
    ch->reg = calloc(p->max_regmem, sizeof(*ch->reg));
    if (!ch->sock || !ch->free_ids || !ch->hint_priv || !ch->ack_priv || !ch->reg_size ||
        !ch->reg) {
        axl_chan_stk_close(ch);
        return AXL_ENOMEM;
    }
    for (uint32_t i = 0; i < p->max_socks; i++) /* pop order: 0, 1, 2, ... */
        ch->free_ids[i] = p->max_socks - 1 - i;
    ch->nfree = p->max_socks;
    for (uint32_t w = 0; w < l.bm_words; w++) {
        ch->hint_priv[w] = atomic_load_explicit(&ch->s_hint[w], memory_order_relaxed);
        ch->ack_priv[w] = atomic_load_explicit(&ch->s_ack[w], memory_order_relaxed);
    }

    /* The app's side of each queue is read-only here: ring.h only loads
     * through the peer's pointers (cast away const for its signature). */
    axl_ring_cons_attach_split(&ch->cmdq, (_Atomic uint32_t *)&ch->actl->cmdq_prod,
                               &ch->sctl->cmdq_cons, &ch->sctl->cmdq_flags,
                               (uint8_t *)(uintptr_t)(ch->app + l.cmdq_off), p->cmdq_slots,
                               sizeof(struct axl_chan_cmd));
    axl_ring_prod_attach_split(&ch->evq, &ch->sctl->evq_prod,
                               (_Atomic uint32_t *)&ch->actl->evq_cons,
                               (_Atomic uint32_t *)&ch->actl->evq_flags, ch->stk + l.evq_off,
                               p->evq_slots, sizeof(struct axl_chan_event));
    ch->app_act_seen = atomic_load_explicit(&ch->actl->activity, memory_order_acquire);
    ch->dctx = (struct axl_chan_dctx){p->max_socks,  p->rx_size, p->tx_size,
                                      p->max_regmem, ch->slots,  ch->reg_size};
    ch->fd[0] = fds[0];
    ch->fd[1] = fds[1];
    return 0;
}

int axl_chan_create(struct axl_chan_stk *ch, const struct axl_chan_params *p, uint32_t app_id)
{
    struct axl_chan_layout l;
    int fds[AXL_CHAN_NREGIONS] = {-1, -1}, ret;
    uint64_t nonce = 0;

    memset(ch, 0, sizeof(*ch));
    ch->fd[0] = ch->fd[1] = -1;
    if ((ret = axl_chan_layout(p, &l)) < 0) return ret;
    fds[AXL_CHAN_R_STK] = memfd_create("axl-chan-stk", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    fds[AXL_CHAN_R_APP] = memfd_create("axl-chan-app", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fds[0] < 0 || fds[1] < 0) goto err_errno;
    for (int i = 0; i < AXL_CHAN_NREGIONS; i++)
        if (ftruncate(fds[i], (off_t)l.size[i]) < 0) goto err_errno;
    /* The app's region: fixed size forever, and nobody may add seals (an
     * F_SEAL_WRITE would not hurt our read-only mapping, but keep it simple). */
    if (fcntl(fds[AXL_CHAN_R_APP], F_ADD_SEALS, SEALS_BASE | F_SEAL_SEAL) < 0) goto err_errno;
    if (fcntl(fds[AXL_CHAN_R_STK], F_ADD_SEALS, SEALS_BASE) < 0) goto err_errno;
    if (getrandom(&nonce, sizeof(nonce), 0) != sizeof(nonce)) goto err_errno;

    if ((ret = axl_chan_map_stack(ch, p, fds)) < 0) goto err;
    fds[0] = fds[1] = -1; /* owned by ch now */

    struct axl_chan_hdr *h = ch->hdr;
    h->magic = AXL_CHAN_MAGIC;
    h->version = AXL_CHAN_ABI_VERSION;
    h->hdr_size = sizeof(*h);
    h->page_size = AXL_CHAN_PAGE;
    h->app_id = app_id;
    h->max_socks = p->max_socks;
    h->rx_size = p->rx_size;
    h->tx_size = p->tx_size;
    h->evq_slots = p->evq_slots;
    h->cmdq_slots = p->cmdq_slots;
    h->max_regmem = p->max_regmem;
    h->evt_size = sizeof(struct axl_chan_event);
    h->cmd_size = sizeof(struct axl_chan_cmd);
    h->slot_size = sizeof(struct axl_chan_slot);
    h->line_size = sizeof(struct axl_chan_line);
    h->nonce = nonce;
    h->size[0] = l.size[0];
    h->size[1] = l.size[1];
    h->sctl_off = l.sctl_off;
    h->s_hint_off = l.s_hint_off;
    h->s_ack_off = l.s_ack_off;
    h->evq_off = l.evq_off;
    h->slots_off = l.slots_off;
    h->rx_off = l.rx_off;
    h->actl_off = l.actl_off;
    h->a_hint_off = l.a_hint_off;
    h->a_ack_off = l.a_ack_off;
    h->cmdq_off = l.cmdq_off;
    h->lines_off = l.lines_off;
    h->tx_off = l.tx_off;
    for (uint32_t i = 0; i < p->max_socks; i++) {
        struct axl_chan_slot *s = &ch->slots[i];
        s->rx_size = p->rx_size;
        s->tx_size = p->tx_size;
        s->rx_off = l.rx_off + (uint64_t)i * p->rx_size;
        s->tx_off = l.tx_off + (uint64_t)i * p->tx_size;
        atomic_store_explicit(&s->listen, AXL_CHAN_SOCK_NONE, memory_order_relaxed);
    }
    atomic_store_explicit(&ch->sctl->state, AXL_CHAN_ST_UP, memory_order_release);
    ch->app_id = app_id;

    /* From now on no new writable mapping of the STK region can be made:
     * the app's fd is good for PROT_READ only. */
    if (fcntl(ch->fd[AXL_CHAN_R_STK], F_ADD_SEALS, F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) < 0) {
        ret = -errno;
        axl_chan_stk_close(ch);
        return ret;
    }
    return 0;

err_errno:
    ret = -errno;
err:
    for (int i = 0; i < AXL_CHAN_NREGIONS; i++)
        if (fds[i] >= 0) close(fds[i]);
    return ret;
}

void axl_chan_stk_set_bell(struct axl_chan_stk *ch, int bell_fd)
{
    ch->has_bell = bell_fd >= 0;
    ch->bell_fd = bell_fd;
}

void axl_chan_stk_drop_fds(struct axl_chan_stk *ch)
{
    for (int i = 0; i < AXL_CHAN_NREGIONS; i++) {
        if (ch->fd[i] >= 0) close(ch->fd[i]);
        ch->fd[i] = -1;
    }
}

void axl_chan_stk_close(struct axl_chan_stk *ch)
{
    if (ch->reg)
        for (uint32_t i = 0; i < ch->lay.p.max_regmem; i++)
            axl_chan_stk_regmem_del(ch, i);
    if (ch->stk) munmap(ch->stk, ch->lay.size[AXL_CHAN_R_STK]);
    if (ch->app) munmap((void *)(uintptr_t)ch->app, ch->lay.size[AXL_CHAN_R_APP]);
    axl_chan_stk_drop_fds(ch);
    free(ch->sock);
    free(ch->free_ids);
    free(ch->hint_priv);
    free(ch->ack_priv);
    free(ch->reg_size);
    free(ch->reg);
    memset(ch, 0, sizeof(*ch));
    ch->fd[0] = ch->fd[1] = -1;
}

void axl_chan_stk_hello(const struct axl_chan_stk *ch, struct axl_chan_msg *m)
{
    const struct axl_chan_params *p = &ch->lay.p;
    memset(m, 0, sizeof(*m));
    m->magic = AXL_CHAN_MAGIC;
    m->version = AXL_CHAN_ABI_VERSION;
    m->type = AXL_CHAN_MSG_HELLO;
    m->nfds = AXL_CHAN_NREGIONS + (ch->has_bell ? 1u : 0u);
    m->u.hello = (struct axl_chan_hello){
        .app_id = ch->app_id,
        .max_socks = p->max_socks,
        .rx_size = p->rx_size,
        .tx_size = p->tx_size,
        .evq_slots = p->evq_slots,
        .cmdq_slots = p->cmdq_slots,
        .max_regmem = p->max_regmem,
        .nonce = ch->hdr->nonce,
    };
}

void axl_chan_stk_disconnect(struct axl_chan_stk *ch)
{
    atomic_store_explicit(&ch->sctl->state, AXL_CHAN_ST_DOWN, memory_order_release);
    ch->waker.last_word = 0;
    axl_chan_stk_kick(ch); /* a sleeping app sees it at once */
}

/* ------------------------------------------------------------------------ */
/* sockets                                                                   */

int axl_chan_stk_sock_alloc(struct axl_chan_stk *ch, uint32_t proto, uint32_t state)
{
    if (ch->nfree == 0) return AXL_ENOBUFS;
    uint32_t id = ch->free_ids[--ch->nfree];
    struct axl_chan_slot *s = &ch->slots[id];
    const struct axl_chan_line *ln = &ch->lines[id];
    struct axl_chan_ssock *ss = &ch->sock[id];
    /* Rebase on the app's indices as they are now: the app does not touch the
     * line of a socket it does not hold, so these are where its last use of
     * the slot left them (any value works: indices are free-running). */
    uint32_t rxc = atomic_load_explicit(&ln->rx_cons, memory_order_acquire);
    uint32_t txp = atomic_load_explicit(&ln->tx_prod, memory_order_acquire);
    atomic_store_explicit(&s->rx_prod, rxc, memory_order_relaxed);
    atomic_store_explicit(&s->tx_cons, txp, memory_order_relaxed);
    atomic_store_explicit(&s->flags, 0, memory_order_relaxed);
    atomic_store_explicit(&s->error, 0, memory_order_relaxed);
    atomic_store_explicit(&s->proto, proto, memory_order_relaxed);
    atomic_store_explicit(&s->listen, AXL_CHAN_SOCK_NONE, memory_order_relaxed);
    atomic_store_explicit(&s->laddr, 0, memory_order_relaxed); /* abi.h "Addresses" */
    atomic_store_explicit(&s->raddr, 0, memory_order_relaxed);
    atomic_store_explicit(&s->lport, 0, memory_order_relaxed);
    atomic_store_explicit(&s->rport, 0, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->gen, 1, memory_order_release);
    atomic_store_explicit(&s->state, state, memory_order_release);
    axl_bring_attach(&ss->rx, ch->stk + s->rx_off, ch->lay.p.rx_size, &s->rx_prod, &ln->rx_cons,
                     rxc, rxc);
    axl_bring_attach(&ss->tx, (uint8_t *)(uintptr_t)(ch->app + s->tx_off), ch->lay.p.tx_size,
                     &s->tx_cons, &ln->tx_prod, txp, txp);
    return (int)id;
}

void axl_chan_stk_sock_free(struct axl_chan_stk *ch, uint32_t id)
{
    if (id >= ch->lay.p.max_socks) return;
    struct axl_chan_slot *s = &ch->slots[id];
    if (atomic_load_explicit(&s->state, memory_order_relaxed) == AXL_CHAN_SS_FREE) return;
    atomic_store_explicit(&s->state, AXL_CHAN_SS_FREE, memory_order_release);
    ch->free_ids[ch->nfree++] = id;
}

void axl_chan_stk_sock_state(struct axl_chan_stk *ch, uint32_t id, uint32_t state)
{
    if (id >= ch->lay.p.max_socks || state == AXL_CHAN_SS_FREE || state >= AXL_CHAN_SS_COUNT)
        return;
    atomic_store_explicit(&ch->slots[id].state, state, memory_order_release);
}

void axl_chan_stk_sock_flags(struct axl_chan_stk *ch, uint32_t id, uint32_t set, uint32_t clear)
{
    if (id >= ch->lay.p.max_socks) return;
    _Atomic uint32_t *f = &ch->slots[id].flags;
    uint32_t v = atomic_load_explicit(f, memory_order_relaxed);
    atomic_store_explicit(f, ((v & ~clear) | set) & AXL_CHAN_SF_ALL, memory_order_release);
}

/* ------------------------------------------------------------------------ */
/* commands and events                                                       */

/* Hot. */
int axl_chan_stk_poll_cmd(struct axl_chan_stk *ch, struct axl_chan_cmd *out, unsigned *v)
{
    uint32_t idx;
    *v = AXL_CHAN_V_NONE;
    if (axl_ring_cons__peek(&ch->cmdq, 1, &idx) == 0) {
        /* ring.h offered nothing; tell "empty" from a hostile producer index
         * (more than the queue ahead of us, or behind us). */
        if (axl_unlikely(ch->cmdq.cached_prod - ch->cmdq.cached_cons > ch->cmdq.mask + 1)) {
            *v = AXL_CHAN_V_QUEUE_INDEX;
            stk_viol(ch, *v);
            return AXL_EMALFORMED;
        }
        return 0;
    }
    /* Copy the entry out of shared memory first; validate only the copy. */
    memcpy(out, axl_ring_cons__entry(&ch->cmdq, idx), sizeof(*out));
    axl_ring_cons__release(&ch->cmdq, 1);
    int ret = axl_chan_cmd_decode(out, &ch->dctx, v);
    if (ret < 0) {
        stk_viol(ch, *v);
        return ret;
    }
    ch->stats.cmds++;
    return 1;
}

int axl_chan_stk_post(struct axl_chan_stk *ch, const struct axl_chan_event *ev)
{
    uint32_t idx;
    if (!axl_ring_prod__reserve(&ch->evq, 1, &idx)) {
        uint32_t used = ch->evq.cached_prod - ch->evq.cached_cons;
        if (axl_unlikely(used > ch->evq.mask + 1)) stk_viol(ch, AXL_CHAN_V_QUEUE_INDEX);
        ch->stats.queue_full++;
        return AXL_ENOBUFS;
    }
    memcpy(axl_ring_prod__entry(&ch->evq, idx), ev, sizeof(*ev));
    axl_ring_prod__submit(&ch->evq, 1);
    ch->stats.events++;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* hints                                                                     */

/* Hot. */
uint32_t axl_chan_stk_scan(struct axl_chan_stk *ch, uint32_t *ids, uint32_t max)
{
    uint32_t act = atomic_load_explicit(&ch->actl->activity, memory_order_acquire);
    if (act == ch->app_act_seen && !ch->scan_pending) return 0;
    ch->app_act_seen = act;
    ch->scan_pending = 0;
    uint32_t n = 0, words = ch->lay.bm_words;
    for (uint32_t k = 0; k < words; k++) {
        uint32_t w = (ch->scan_word + k) % words;
        uint64_t h = atomic_load_explicit(&ch->a_hint[w], memory_order_acquire);
        uint64_t d = h ^ ch->ack_priv[w], take = 0;
        if (!d) continue;
        while (d && n < max) {
            unsigned b = (unsigned)__builtin_ctzll(d);
            uint32_t id = w * 64 + b;
            d &= d - 1;
            take |= 1ull << b;
            if (atomic_load_explicit(&ch->slots[id].state, memory_order_relaxed) ==
                AXL_CHAN_SS_FREE)
                ch->stats.hints_ignored++;
            else
                ids[n++] = id;
        }
        ch->ack_priv[w] ^= take;
        atomic_store_explicit(&ch->s_ack[w], ch->ack_priv[w], memory_order_release);
        if (d) { /* out of room: resume here next time, even without activity */
            ch->scan_pending = 1;
            ch->scan_word = w;
            break;
        }
    }
    /* Pairs with the fence in axl_chan_app_mark: after our ack stores, the
     * caller's reads of the rings see what the app published before it looked
     * at the acks (or the app saw our ack and toggled again). */
    atomic_thread_fence(memory_order_seq_cst);
    ch->stats.hints += n;
    return n;
}

void axl_chan_stk_mark(struct axl_chan_stk *ch, uint32_t id)
{
    if (id >= ch->lay.p.max_socks) return;
    uint32_t w = id / 64;
    uint64_t bit = 1ull << (id % 64);
    atomic_thread_fence(memory_order_seq_cst); /* publication before reading the ack */
    uint64_t k = atomic_load_explicit(&ch->a_ack[w], memory_order_relaxed);
    if ((ch->hint_priv[w] ^ k) & bit) return; /* still pending at the app */
    ch->hint_priv[w] ^= bit;
    atomic_store_explicit(&ch->s_hint[w], ch->hint_priv[w], memory_order_release);
}

/* ------------------------------------------------------------------------ */
/* byte rings                                                                */

static struct axl_chan_ssock *ssock(struct axl_chan_stk *ch, uint32_t id)
{
    if (id >= ch->lay.p.max_socks ||
        atomic_load_explicit(&ch->slots[id].state, memory_order_relaxed) == AXL_CHAN_SS_FREE)
        return NULL;
    return &ch->sock[id];
}

/* Hot. */
int axl_chan_stk_rx_reserve(struct axl_chan_stk *ch, uint32_t id, struct axl_span sp[2])
{
    struct axl_chan_ssock *s = ssock(ch, id);
    if (!s) return AXL_EINVAL;
    int n = axl_bring_reserve(&s->rx, s->rx.size, sp);
    if (n == 0) {
        /* Full: ask for a hint when the app frees space, then look again
         * (Dekker with the app's commit: store flag, fence, reload). */
        axl_chan_stk_sock_flags(ch, id, AXL_CHAN_SF_RX_WANT, 0);
        atomic_thread_fence(memory_order_seq_cst);
        n = axl_bring_reserve(&s->rx, s->rx.size, sp);
    } else if (n > 0 && (atomic_load_explicit(&ch->slots[id].flags, memory_order_relaxed) &
                         AXL_CHAN_SF_RX_WANT)) {
        axl_chan_stk_sock_flags(ch, id, 0, AXL_CHAN_SF_RX_WANT); /* room again */
    }
    if (axl_unlikely(n < 0)) stk_viol(ch, AXL_CHAN_V_RING_INDEX);
    return n;
}

void axl_chan_stk_rx_publish(struct axl_chan_stk *ch, uint32_t id, uint32_t n)
{
    struct axl_chan_ssock *s = ssock(ch, id);
    if (!s || n == 0) return;
    axl_bring_publish(&s->rx, n);
    ch->stats.bytes_out += n;
    axl_chan_stk_mark(ch, id);
}

/* Hot. */
int axl_chan_stk_tx_peek(struct axl_chan_stk *ch, uint32_t id, struct axl_cspan sp[2])
{
    struct axl_chan_ssock *s = ssock(ch, id);
    if (!s) return AXL_EINVAL;
    int n = axl_bring_peek(&s->tx, s->tx.size, sp);
    if (axl_unlikely(n < 0)) stk_viol(ch, AXL_CHAN_V_RING_INDEX);
    return n;
}

void axl_chan_stk_tx_consume(struct axl_chan_stk *ch, uint32_t id, uint32_t n)
{
    struct axl_chan_ssock *s = ssock(ch, id);
    if (!s || n == 0) return;
    axl_bring_commit(&s->tx, n);
    ch->stats.bytes_in += n;
    if (atomic_load_explicit(&ch->lines[id].flags, memory_order_relaxed) & AXL_CHAN_LF_TX_WANT)
        axl_chan_stk_mark(ch, id);
}

/* ------------------------------------------------------------------------ */
/* doorbells                                                                 */

void axl_chan_stk_kick(struct axl_chan_stk *ch)
{
    /* pairs with axl_chan_app_prepare_sleep */
    enum axl_doorbell_kicked k =
        axl_doorbell_kick(&ch->waker, &ch->sctl->activity, ch->evq.flags, -1);
    ch->stats.kicks++;
    ch->stats.wakes += k == AXL_DOORBELL_WOKE;
    ch->stats.wakes_suppressed += k == AXL_DOORBELL_SUPPRESSED;
}

void axl_chan_stk_bump(struct axl_chan_stk *ch)
{
    axl_doorbell_bump(&ch->sctl->activity);
    ch->stats.kicks++;
}

int axl_chan_stk_ring(struct axl_chan_stk *ch)
{
    enum axl_doorbell_kicked k =
        axl_doorbell_ring(&ch->waker, &ch->sctl->activity, ch->evq.flags, -1);
    ch->stats.wakes += k == AXL_DOORBELL_WOKE;
    ch->stats.wakes_suppressed += k == AXL_DOORBELL_SUPPRESSED;
    return k == AXL_DOORBELL_WOKE;
}

uint32_t axl_chan_stk_evq_used(const struct axl_chan_stk *ch)
{
    /* our producer index against the app's consumer index (may be stale or
     * hostile: only an estimate, clamped to the queue size) */
    uint32_t used = ch->evq.cached_prod - atomic_load_explicit(ch->evq.cons, memory_order_relaxed);
    return used > ch->evq.mask + 1 ? ch->evq.mask + 1 : used;
}

int axl_chan_stk_prepare_sleep(struct axl_chan_stk *ch)
{
    /* The ring.h protocol, with the activity value we wait on in the word:
     * store it, full fence, then look at everything the app may have sent. */
    atomic_store_explicit(ch->cmdq.flags, axl_doorbell_sleep_word(ch->app_act_seen),
                          memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst);
    if (axl_ring_cons__avail(&ch->cmdq, 1) || ch->scan_pending ||
        atomic_load_explicit(&ch->actl->activity, memory_order_relaxed) != ch->app_act_seen) {
        axl_ring_cons__wake_done(&ch->cmdq);
        ch->stats.sleeps_aborted++;
        return 0;
    }
    return 1;
}

void axl_chan_stk_wake_done(struct axl_chan_stk *ch)
{
    axl_ring_cons__wake_done(&ch->cmdq);
}

int axl_chan_stk_sleep(struct axl_chan_stk *ch, uint64_t timeout_ns)
{
    if (!axl_chan_stk_prepare_sleep(ch)) return 0;
    ch->stats.sleeps++;
    if (axl_futex_wait(&ch->actl->activity, ch->app_act_seen, timeout_ns) == 0)
        ch->stats.sleep_timeouts++;
    axl_chan_stk_wake_done(ch);
    return 1;
}

int axl_chan_wait_many(struct axl_chan_stk **chs, unsigned n, uint64_t timeout_ns)
{
    const _Atomic uint32_t *words[128];
    uint32_t vals[128];
    if (n == 0 || n > 128) return AXL_EINVAL;
    for (unsigned i = 0; i < n; i++) {
        words[i] = &chs[i]->actl->activity;
        vals[i] = chs[i]->app_act_seen;
        chs[i]->stats.sleeps++;
    }
    int r = axl_futex_waitv(words, vals, n, timeout_ns);
    for (unsigned i = 0; i < n; i++) {
        if (r == -ETIMEDOUT) chs[i]->stats.sleep_timeouts++;
        axl_chan_stk_wake_done(chs[i]);
    }
    return r;
}

/* ------------------------------------------------------------------------ */
/* registered application memory                                             */

int axl_chan_stk_regmem_add(struct axl_chan_stk *ch, int fd, uint64_t size)
{
    if (size < 1 || size > AXL_CHAN_REGMEM_BYTES_MAX) return AXL_EINVAL;
    /* Only a memfd sealed against shrinking: the app cannot truncate it under
     * our mapping (which would make our reads fault). */
    int ret = check_memfd(fd, size, F_SEAL_SHRINK);
    if (ret < 0) return ret;
    uint32_t id;
    for (id = 0; id < ch->lay.p.max_regmem; id++)
        if (!ch->reg[id].base) break;
    if (id == ch->lay.p.max_regmem) return AXL_ENOBUFS;
    void *p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) return -errno;
    ch->reg[id].base = p;
    ch->reg[id].size = size;
    ch->reg_size[id] = size;
    return (int)id;
}

void axl_chan_stk_regmem_del(struct axl_chan_stk *ch, uint32_t region)
{
    if (region >= ch->lay.p.max_regmem || !ch->reg[region].base) return;
    munmap((void *)(uintptr_t)ch->reg[region].base, ch->reg[region].size);
    ch->reg[region].base = NULL;
    ch->reg[region].size = 0;
    ch->reg_size[region] = 0;
}

const uint8_t *axl_chan_stk_regmem_ptr(const struct axl_chan_stk *ch, uint32_t region, uint64_t off,
                                       uint64_t len)
{
    if (region >= ch->lay.p.max_regmem || !ch->reg[region].base) return NULL;
    if (off > ch->reg[region].size || len > ch->reg[region].size - off) return NULL;
    return ch->reg[region].base + off;
}

int axl_chan_stk_serve_regmem(struct axl_chan_stk *ch, int sock, const struct axl_chan_msg *m,
                              int fd)
{
    struct axl_chan_msg ack;
    int ret = AXL_EINVAL;
    if (m->type == AXL_CHAN_MSG_REGMEM) ret = axl_chan_stk_regmem_add(ch, fd, m->u.regmem.size);
    close(fd);
    memset(&ack, 0, sizeof(ack));
    ack.magic = AXL_CHAN_MAGIC;
    ack.version = AXL_CHAN_ABI_VERSION;
    ack.type = AXL_CHAN_MSG_REGMEM_ACK;
    ack.u.regmem.cookie = m->u.regmem.cookie;
    ack.u.regmem.status = ret < 0 ? (ret < -4095 ? -EINVAL : ret) : 0;
    ack.u.regmem.region = ret < 0 ? 0 : (uint32_t)ret;
    int s = axl_chan_msg_send(sock, &ack, NULL);
    return ret < 0 ? ret : s < 0 ? s : ret;
}
