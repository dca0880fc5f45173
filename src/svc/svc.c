/* SPDX-License-Identifier: MIT */
/*
 * svc/svc.c - the replica's service layer (see svc.h for the call chain).
 *
 * Per application: a channel (its memory), a socket table mirroring the
 * channel's slots (engine handles, TX positions, the FIFO of spliced
 * sends), a FIFO of events the full event queue could not take, and the
 * pre-packetised objects it registered.
 *
 * TX positions of a socket (free-running, like the ring indices):
 *   tx_done <= tx_sent <= tx_req <= the app's tx_prod
 *   tx_done  bytes the engine is finished with = slot.tx_cons
 *   tx_sent  ring bytes handed to the engine (axl_tcp_send_zc)
 *   tx_req   ring bytes the app asked us to send (SEND commands)
 * Ring bytes go out up to tx_req, but never past the `pos` of the first
 * spliced item (SEND+REG, OBJ_SEND) still waiting in the FIFO: when tx_sent
 * reaches it, the item goes, then ring bytes again (abi.h "TX ordering").
 *
 * Lifetime of a socket slot: it is freed (FREE, the app may reuse it) only
 * after the app's CLOSE, our CLEANUP event, and the last zc_done for memory
 * of that socket (the engine reads the TX ring / registered memory until
 * then). An app that goes away keeps its mappings until the engine dropped
 * every reference (SvcReclaimPending), then everything is freed.
 *
 * Semantic errors (wrong state, unknown object) are answered with a DONE
 * carrying -errno; malformed commands and bad indices are violations
 * (counted per kind by the channel, and here); an app passing
 * AXL_SVC_VIOL_MAX is disconnected (channel DOWN, everything reclaimed).
 */
#include "svc/svc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/compiler.h"
#include "core/err.h"
#include "core/log.h"
#include "net/stack.h"
#include "net/stack_priv.h" /* the engine's address (BIND) */
#include "net/tcp.h"
#include "net/tcp_dump.h"
#include "net/tcp_prepkt.h"
#include "net/tcp_priv.h" /* AXL_TCP_BACKLOG_MAX */

/** SVC_EVQ_BACKLOG_MAX: events kept for an app whose event queue is full,
 *  as a multiple of its queue size, before it is disconnected. */
#define SVC_EVQ_BACKLOG_MULT 4u
/** SVC_CMD_BATCH / SVC_HINT_BATCH: work per app per poll (fairness). */
#define SVC_CMD_BATCH  256u
#define SVC_HINT_BATCH 256u
/** SVC_RECLAIM_BATCH: connections of apps gone reset per loop iteration:
 *  their RSTs must fit the port's TX ring (AF_XDP: 2048 by default; the
 *  engine flushes and kicks it between iterations) next to other traffic.
 *  SVC_RECLAIM_MIN: the batch after the ring refused a frame (back off). */
#define SVC_RECLAIM_BATCH 256u
#define SVC_RECLAIM_MIN   32u
/** SVC_OBJ_INIT: first size of an app's object table (grows to AXL_CHAN_OBJS_MAX). */
#define SVC_OBJ_INIT 64u
/** SVC_ITEMS_MAX: spliced sends (SEND+REG / OBJ_SEND) waiting per app. */
#define SVC_ITEMS_MAX 65536u
/** SVC_WAKE_QUIET_NS / SVC_WAKE_MAX_NS: a sleeping app is woken once at the
 *  end of a burst of news for it, not once per loop iteration with news:
 *  when no news came for SVC_WAKE_QUIET_NS, or SVC_WAKE_MAX_NS after the
 *  first news it has not been woken for (a bound on the delay under a
 *  continuous stream), or when its event queue is half full, and always
 *  before the replica sleeps (axl_svc_prepare_sleep). On a CPU shared by the
 *  app and the replica every wake-up is a switch to the app and back and one
 *  futex_waitv of the app: one per burst, and the app answers the whole burst
 *  in one batch. A client's burst of requests arrives a few microseconds
 *  apart (one per request it handled); 20 us takes most of a burst in
 *  (docs/BENCHMARKS.md "Isolated mode": 5 us woke the app every ~8 requests,
 *  20 us every ~30, 50 us every ~55 but the replica then idles so long that
 *  CPU per request rose 30 %). The cost: up to 20 us more latency for a
 *  request that finds its app asleep. The news itself is published at once
 *  (the activity word is bumped every iteration): an app that is awake or
 *  about to sleep sees it without any wake-up. The bound: with the replica
 *  saturated news never pauses, and 200 us woke the app every ~25 requests
 *  (at ~120k requests/s; 3/4 of the wake-ups were the bound's,
 *  SvcAppWakesHeld), 1 ms every ~50 (the quiet time's again: 0.034 -> 0.017
 *  system calls per request, CPU per request unchanged). A saturated server's
 *  requests already queue for about that long (100 connections at 120k/s:
 *  ~0.8 ms each). Both are axl-stackd options (--wake-quiet-us,
 *  --wake-hold-us); the defaults are in svc.h. */
#define SVC_WAKE_QUIET_NS AXL_SVC_WAKE_QUIET_NS
#define SVC_WAKE_MAX_NS   AXL_SVC_WAKE_MAX_NS
/** SVC_WAKE_GAP_NS / SVC_WAKE_PROBE: the quiet time adapts per app, as the
 *  app's spin does (src/axl/ctx.c): a hold that took in news after a pause
 *  of SVC_WAKE_GAP_NS or more paid (a shorter wait would have woken the app
 *  twice) and restores the full quiet time; one that did not halves it, down
 *  to none (a few requests in flight: waiting only costs the replica's spin
 *  and the request's latency); every SVC_WAKE_PROBE-th wake-up holds fully
 *  again to find out. */
#define SVC_WAKE_GAP_NS (1 * AXL_NS_PER_US)
#define SVC_WAKE_PROBE  32u

static const char *const svc_names[] = {
#define AXL_SVC_NAME(n) #n,
    AXL_SVC_STATS(AXL_SVC_NAME)
#undef AXL_SVC_NAME
};

uint32_t axl_svc_stat_count(void)
{
    return AXL_SVC__COUNT;
}

const char *axl_svc_stat_name(uint32_t i)
{
    return i < AXL_SVC__COUNT ? svc_names[i] : NULL;
}

/* A spliced send waiting in a socket's FIFO, then the zc_done cookie. */
struct svc_item {
    struct svc_item *next;
    struct svc_sock *sk;
    uint16_t op;          /* AXL_CHAN_OP_SEND (REG) or AXL_CHAN_OP_OBJ_SEND */
    uint32_t pos;         /* ring position it goes after */
    const uint8_t *p;     /* SEND+REG: the bytes (registered memory) */
    uint32_t len;         /* bytes */
    uint64_t cookie;      /* the app's, for DATA_ACKED */
    struct axl_tcp_obj *obj; /* OBJ_SEND */
};

struct svc_sock {
    struct axl_svc_app *app;
    uint32_t id, gen;
    uint8_t proto;       /* 0 = free, AXL_CHAN_PROTO_TCP / _UDP */
    uint8_t app_closed;  /* CLOSE received */
    uint8_t cleanup_posted, rclosed_posted, connecting;
    uint8_t shut_pending, close_pending, close_abort, shut_done;
    uint8_t ended;                  /* the engine reported cleanup; c kept to drain RX */
    int32_t end_err;                /* its error (0: orderly) */
    struct axl_tcp_listener *l;
    struct axl_tcb *c;
    struct axl_udp_sock *u;
    uint16_t lport;                 /* BIND port (host order) */
    uint32_t laddr;                 /* BIND address (host order): 0 or the engine's */
    uint32_t udp_daddr;             /* UDP CONNECT destination (host order), 0 = none */
    uint16_t udp_dport;
    uint32_t backlog, npending;     /* listener: PENDING sockets announced */
    uint32_t listen_id;             /* PENDING: its listener */
    uint32_t tx_req, tx_sent, tx_done;
    uint32_t zc_refs;               /* engine references into app memory */
    struct svc_item *fifo, *fifo_tail;
    uint32_t opt_set;               /* bit per AXL_CHAN_OPT_* stored for later */
    uint32_t opt_val[AXL_CHAN_OPT_MAX + 1];
};

struct axl_svc_app {
    struct axl_svc *v;
    uint32_t id;
    pid_t pid;
    uid_t uid;
    char name[40];
    int sock;
    struct axl_chan_stk ch;
    struct svc_sock *sk;
    struct axl_chan_event *evb; /* deferred events (ring) */
    uint32_t evb_head, evb_n, evb_cap;
    struct axl_tcp_obj **obj;
    uint32_t nobj;
    uint32_t nitems;
    uint32_t zc_refs;
    uint32_t nsocks;
    uint32_t reclaim_left; /* dead: connections not reset yet (reclaim_step) */
    uint32_t reclaim_next; /* dead: next socket index reclaim_step looks at */
    uint32_t reclaim_total; /* dead: connections it held when it died */
    uint64_t reclaim_t0;    /* dead: when (axl_clock_ns), for the log */
    uint64_t viol_seen; /* ch.stats.violations already counted in SvcViolations */
    int dead; /* no longer served (gone or disconnected) */
    int kick;      /* news for the app this iteration: bump its activity word */
    int wake_due;  /* bumped since the last ring (svc_ring) */
    uint64_t due_ns, news_ns; /* first bump not rung yet, last bump */
    uint64_t gap_ns;   /* longest pause between two bumps of this hold */
    uint64_t quiet_ns; /* the quiet time now (adapts, svc_ring) */
    uint32_t holds;    /* wake-ups issued (every SVC_WAKE_PROBE-th holds fully) */
    struct axl_svc_app *next;
};

static void app_kill(struct axl_svc_app *a, int disconnect, const char *why);

/* ------------------------------------------------------------------------ */
/* events                                                                    */

static void post(struct axl_svc_app *a, uint16_t type, uint32_t sock, uint32_t gen, int32_t status,
                 uint64_t cookie, uint32_t arg, uint32_t arg2)
{
    struct axl_svc *v = a->v;
    if (a->dead) return;
    struct axl_chan_event e = {type, 0, sock, gen, status, cookie, arg, arg2};
    a->kick = 1;
    if (a->evb_n == 0 && axl_chan_stk_post(&a->ch, &e) == 0) {
        v->st[AXL_SVC_SvcEvents]++;
        return;
    }
    if (a->evb_n == a->evb_cap) {
        app_kill(a, 1, "its event queue stays full");
        return;
    }
    a->evb[(a->evb_head + a->evb_n++) % a->evb_cap] = e;
    v->st[AXL_SVC_SvcEventsDeferred]++;
}

static uint32_t flush_events(struct axl_svc_app *a)
{
    uint32_t n = 0;
    while (a->evb_n && axl_chan_stk_post(&a->ch, &a->evb[a->evb_head]) == 0) {
        a->evb_head = (a->evb_head + 1) % a->evb_cap;
        a->evb_n--;
        a->v->st[AXL_SVC_SvcEvents]++;
        n++;
    }
    if (n) a->kick = 1;
    return n;
}

static void done(struct axl_svc_app *a, const struct axl_chan_cmd *c, uint32_t sock, uint32_t gen,
                 int status, uint32_t arg2)
{
    if (status < -4095 || status > 0) status = -EINVAL; /* AXL_E* beyond errno */
    if (status) a->v->st[AXL_SVC_SvcCmdErrors]++;
    post(a, AXL_CHAN_EV_DONE, sock, sock == AXL_CHAN_SOCK_NONE ? 0 : gen, status, c->cookie, c->op,
         arg2);
}

static void ev(struct svc_sock *k, uint16_t type, int32_t status, uint64_t cookie, uint32_t arg,
               uint32_t arg2)
{
    post(k->app, type, k->id, k->gen, status, cookie, arg, arg2);
}

/* Count a violation of ours (kind), or just take over what the channel
 * counted (kind 0); cut the app off past AXL_SVC_VIOL_MAX. */
static void violation(struct axl_svc_app *a, unsigned kind)
{
    if (kind && kind < AXL_CHAN_V_COUNT) {
        a->ch.stats.v[kind]++;
        a->ch.stats.violations++;
    }
    a->v->st[AXL_SVC_SvcViolations] += a->ch.stats.violations - a->viol_seen;
    a->viol_seen = a->ch.stats.violations;
    if (!a->dead && a->ch.stats.violations >= AXL_SVC_VIOL_MAX)
        app_kill(a, 1, "too many channel violations");
}

/* ------------------------------------------------------------------------ */
/* sockets                                                                   */

static struct svc_sock *sock_new(struct axl_svc_app *a, uint32_t proto, uint32_t state)
{
    int id = axl_chan_stk_sock_alloc(&a->ch, proto, state);
    if (id < 0) return NULL;
    struct svc_sock *k = &a->sk[id];
    memset(k, 0, sizeof(*k));
    k->app = a;
    k->id = (uint32_t)id;
    k->gen = atomic_load_explicit(&a->ch.slots[id].gen, memory_order_relaxed);
    k->proto = (uint8_t)proto;
    k->tx_req = k->tx_sent = k->tx_done = a->ch.sock[id].tx.pos;
    a->nsocks++;
    a->v->st[AXL_SVC_SvcSocketsNow]++;
    return k;
}

static void conn_drop(struct svc_sock *k)
{
    if (!k->c) return;
    k->c = NULL;
    k->app->v->st[AXL_SVC_SvcConnsNow]--;
    if (k->app->dead) { /* every handle of a dead app waits for reclaim_step */
        k->app->reclaim_left--;
        k->app->v->st[AXL_SVC_SvcReclaimConns]--;
    }
}

/* Free the slot once everything agrees it is over. */
static void sock_maybe_free(struct svc_sock *k)
{
    struct axl_svc_app *a = k->app;
    if (!k->proto || !k->app_closed || k->zc_refs || k->c || k->l || k->u) return;
    if (!k->cleanup_posted) {
        k->cleanup_posted = 1;
        ev(k, AXL_CHAN_EV_CLEANUP, 0, 0, 0, 0);
    }
    for (struct svc_item *it = k->fifo, *nx; it; it = nx) { /* never started */
        nx = it->next;
        free(it);
        a->nitems--;
    }
    k->fifo = k->fifo_tail = NULL;
    if (!a->dead) axl_chan_stk_sock_free(&a->ch, k->id);
    k->proto = 0;
    a->nsocks--;
    a->v->st[AXL_SVC_SvcSocketsNow]--;
}

static void set_dead(struct svc_sock *k, int err)
{
    struct axl_svc_app *a = k->app;
    axl_chan_stk_sock_state(&a->ch, k->id, AXL_CHAN_SS_DEAD);
    axl_chan_stk_sock_flags(&a->ch, k->id, AXL_CHAN_SF_TX_SHUT | AXL_CHAN_SF_RX_EOF, 0);
    atomic_store_explicit(&a->ch.slots[k->id].error, err, memory_order_relaxed);
}

/* The slot's addresses (abi.h "Addresses"): host order in, network order
 * in the slot; a 0 argument leaves that field as it is. Called before the
 * event that tells the app. */
static void slot_addr(struct svc_sock *k, uint32_t laddr, uint16_t lport, uint32_t raddr,
                      uint16_t rport)
{
    struct axl_chan_slot *sl = &k->app->ch.slots[k->id];
    if (laddr) atomic_store_explicit(&sl->laddr, htonl(laddr), memory_order_relaxed);
    if (lport) atomic_store_explicit(&sl->lport, htons(lport), memory_order_relaxed);
    if (raddr) atomic_store_explicit(&sl->raddr, htonl(raddr), memory_order_relaxed);
    if (rport) atomic_store_explicit(&sl->rport, htons(rport), memory_order_relaxed);
}

/* A TCP connection's four (from the engine). */
static void slot_addr_conn(struct svc_sock *k)
{
    struct axl_tcp_info ti;
    axl_tcp_get_info(k->c, &ti);
    slot_addr(k, ti.laddr, ti.lport, ti.raddr, ti.rport);
}

/* ------------------------------------------------------------------------ */
/* TCP: RX                                                                    */

static void conn_finish(struct svc_sock *k);

static void rx_pump(struct svc_sock *k)
{
    struct axl_svc_app *a = k->app;
    struct axl_tcp_iov iov[8];
    uint32_t moved = 0;
    if (!k->c || a->dead) return;
    for (;;) {
        int n = axl_tcp_recv(k->c, iov, 8);
        if (n == 0) { /* FIN and everything moved: RFC 9293 §3.10.7.4 CLOSE-WAIT */
            if (!k->rclosed_posted) {
                k->rclosed_posted = 1;
                axl_chan_stk_sock_flags(&a->ch, k->id, AXL_CHAN_SF_RX_EOF, 0);
                axl_chan_stk_mark(&a->ch, k->id);
                ev(k, AXL_CHAN_EV_REMOTE_CLOSED, 0, 0, 0, 0);
            }
            break;
        }
        if (n < 0) break; /* AXL_EAGAIN, or an error cleanup reports */
        struct axl_span sp[2];
        int room = axl_chan_stk_rx_reserve(&a->ch, k->id, sp);
        if (room <= 0) {
            if (room < 0) violation(a, 0);
            break;
        }
        uint32_t took = 0, si = 0, so = 0;
        for (int i = 0; i < n && si < 2; i++) {
            uint32_t off = 0;
            while (off < iov[i].len && si < 2) {
                uint32_t k2 = AXL_MIN(iov[i].len - off, sp[si].len - so);
                memcpy(sp[si].p + so, iov[i].base + off, k2);
                off += k2;
                so += k2;
                took += k2;
                if (so == sp[si].len) {
                    si++;
                    so = 0;
                }
            }
            if (off < iov[i].len) break;
        }
        if (!took) break;
        axl_chan_stk_rx_publish(&a->ch, k->id, took);
        axl_tcp_recv_done(k->c, took);
        moved += took;
        if ((int)took < room) continue; /* there may be more in the engine */
        if (took == (uint32_t)room) {
            /* Ring full now; reserve sets RX_WANT for the app's hint. */
            struct axl_span t[2];
            if (axl_chan_stk_rx_reserve(&a->ch, k->id, t) <= 0) break;
        }
    }
    if (moved) {
        a->v->st[AXL_SVC_SvcRxBytes] += moved;
        uint32_t avail = axl_bring_used_cached(&a->ch.sock[k->id].rx, 1);
        ev(k, AXL_CHAN_EV_NEW_DATA, 0, 0, AXL_MIN(avail, a->ch.lay.p.rx_size), 0);
    }
    /* The engine ended the connection: give the handle back once its last
     * received byte is in the ring (an error end has nothing to keep). */
    if (k->ended && k->c && (k->end_err || !axl_tcp_readable(k->c))) conn_finish(k);
}

/* ------------------------------------------------------------------------ */
/* TCP: TX                                                                    */

static inline void *ring_cookie(uint32_t end)
{
    return (void *)(uintptr_t)(((uintptr_t)end << 1) | 1u);
}

static void tx_pump(struct svc_sock *k);

static void tx_after_drain(struct svc_sock *k)
{
    if (!k->c || k->tx_sent != k->tx_req || k->fifo) return;
    if (k->shut_pending) {
        k->shut_pending = 0;
        axl_tcp_shutdown(k->c);
    }
    if (k->close_pending) {
        k->close_pending = 0;
        axl_tcp_close(k->c);
        conn_drop(k);
        sock_maybe_free(k);
    }
}

static void tx_pump(struct svc_sock *k)
{
    struct axl_svc_app *a = k->app;
    if (!k->c || k->ended || a->dead) return;
    const struct axl_bring *tx = &a->ch.sock[k->id].tx;
    for (;;) {
        uint32_t stop = k->tx_req;
        struct svc_item *it = k->fifo;
        if (it && (int32_t)(it->pos - k->tx_sent) <= 0) { /* the item's turn */
            void *cookie = it;
            int r = it->obj ? axl_tcp_send_obj(k->c, it->obj, cookie)
                            : axl_tcp_send_zc(k->c, it->p, it->len, cookie);
            if (r < 0) {
                if (r == AXL_EAGAIN) break;
                /* the connection cannot take it: report it done (nothing sent) */
                k->fifo = it->next;
                if (!k->fifo) k->fifo_tail = NULL;
                post(a, AXL_CHAN_EV_DONE, k->id, k->gen, r < -4095 ? -EPIPE : r, it->cookie, it->op,
                     0);
                free(it);
                a->nitems--;
                continue;
            }
            k->fifo = it->next;
            if (!k->fifo) k->fifo_tail = NULL;
            it->next = NULL;
            k->zc_refs++;
            a->zc_refs++;
            continue;
        }
        if (it && (int32_t)(it->pos - stop) < 0) stop = it->pos;
        if (k->tx_sent == stop) break;
        uint32_t off = k->tx_sent & (tx->size - 1);
        uint32_t len = AXL_MIN(stop - k->tx_sent, tx->size - off);
        int r = axl_tcp_send_zc(k->c, tx->data + off, len, ring_cookie(k->tx_sent + len));
        if (r < 0) break; /* AXL_EAGAIN: data_acked resumes; errors: cleanup follows */
        k->tx_sent += len;
        k->zc_refs++;
        a->zc_refs++;
    }
    tx_after_drain(k);
}

static void zc_release(struct svc_sock *k)
{
    struct axl_svc_app *a = k->app;
    k->zc_refs--;
    a->zc_refs--;
    if (!k->zc_refs) sock_maybe_free(k);
}

static void on_zc_done(struct axl_tcb *c, void *user, void *cookie)
{
    struct svc_sock *k = user;
    (void)c;
    if (!k) return;
    struct axl_svc_app *a = k->app;
    if ((uintptr_t)cookie & 1u) {
        uint32_t end = (uint32_t)((uintptr_t)cookie >> 1);
        if ((int32_t)(end - k->tx_done) > 0 && !a->dead) {
            uint32_t n = end - k->tx_done;
            struct axl_cspan sp[2];
            axl_chan_stk_tx_peek(&a->ch, k->id, sp); /* grants what we commit */
            axl_chan_stk_tx_consume(&a->ch, k->id, n);
            k->tx_done = end;
            a->v->st[AXL_SVC_SvcTxBytes] += n;
            if (!k->app_closed) ev(k, AXL_CHAN_EV_DATA_ACKED, 0, 0, n, 0);
        }
    } else {
        struct svc_item *it = cookie;
        if (!k->app_closed) ev(k, AXL_CHAN_EV_DATA_ACKED, 0, it->cookie, it->len, 0);
        a->v->st[AXL_SVC_SvcTxBytes] += it->len;
        free(it);
        a->nitems--;
    }
    a->kick = 1;
    zc_release(k); /* a gone app is freed by the next axl_svc_poll once this hits 0 */
}

/* ------------------------------------------------------------------------ */
/* TCP: engine events                                                         */

static void on_connected(struct axl_tcb *c, void *user)
{
    struct svc_sock *k = user;
    (void)c;
    if (!k || !k->connecting) return;
    k->connecting = 0;
    axl_chan_stk_sock_state(&k->app->ch, k->id, AXL_CHAN_SS_ESTABLISHED);
    post(k->app, AXL_CHAN_EV_DONE, k->id, k->gen, 0, 0, AXL_CHAN_OP_CONNECT, 0);
    rx_pump(k);
    tx_pump(k);
}

static void on_new_data(struct axl_tcb *c, void *user, uint32_t avail)
{
    (void)c;
    (void)avail;
    if (user) rx_pump(user);
}

static void on_acked(struct axl_tcb *c, void *user, uint32_t acked, uint32_t room)
{
    (void)c;
    (void)acked;
    (void)room;
    if (user) tx_pump(user);
}

static void on_remote_closed(struct axl_tcb *c, void *user)
{
    (void)c;
    if (user) rx_pump(user);
}

/* The end of an ended connection, once RX is drained: REMOTE_CLOSED (an
 * error end not reported yet), the slot DEAD, CLEANUP, the handle back. */
static void conn_finish(struct svc_sock *k)
{
    struct axl_tcb *c = k->c;
    int err = k->end_err;
    if (!k->rclosed_posted && err) {
        k->rclosed_posted = 1;
        ev(k, AXL_CHAN_EV_REMOTE_CLOSED, err, 0, 0, 0);
    }
    set_dead(k, err);
    if (!k->cleanup_posted) {
        k->cleanup_posted = 1;
        ev(k, AXL_CHAN_EV_CLEANUP, err, 0, 0, 0);
    }
    axl_tcp_close(c);
    conn_drop(k);
    sock_maybe_free(k);
}

/* The engine says the connection is over. An orderly end (err 0: both FINs
 * exchanged, e.g. our FIN went first and the peer's came while the app's
 * RX ring was full) keeps the received bytes in the engine (RFC 9293
 * §3.10.7.4 does not flush queues on an orderly close): we keep the handle
 * until rx_pump has moved the last byte into the ring (the app's RX hints
 * drive it), then REMOTE_CLOSED, CLEANUP and the handle goes back
 * (conn_finish). An error end flushed everything: finish now. The TX side
 * is over at once either way. */
static void on_cleanup(struct axl_tcb *c, void *user, int err)
{
    struct svc_sock *k = user;
    (void)c;
    if (!k || k->ended)
        return; /* not ours (cannot happen: we set the user when we take a handle) */
    k->ended = 1;
    k->end_err = err;
    if (k->connecting) {
        k->connecting = 0;
        k->rclosed_posted = 1; /* the DONE says it */
        post(k->app, AXL_CHAN_EV_DONE, k->id, k->gen, err ? err : -ECONNREFUSED, 0,
             AXL_CHAN_OP_CONNECT, 0);
        if (!err) k->end_err = -ECONNREFUSED;
    }
    /* Pending zero-copy memory is reported by zc_done. Spliced items not
     * started are reported undone. */
    for (struct svc_item *it = k->fifo, *nx; it; it = nx) {
        nx = it->next;
        post(k->app, AXL_CHAN_EV_DONE, k->id, k->gen, err ? err : -EPIPE, it->cookie, it->op, 0);
        free(it);
        k->app->nitems--;
    }
    k->fifo = k->fifo_tail = NULL;
    k->close_pending = k->shut_pending = 0;
    axl_chan_stk_sock_flags(&k->app->ch, k->id, AXL_CHAN_SF_TX_SHUT, 0);
    rx_pump(k); /* bytes that came before the end; finishes when they all fit */
    if (k->c && k->app->dead) conn_finish(k);
}

static void on_new_conn(struct axl_tcp_listener *l, void *user);

static const struct axl_tcp_ops conn_ops = {
    .new_conn = on_new_conn,
    .connected = on_connected,
    .new_data = on_new_data,
    .data_acked = on_acked,
    .zc_done = on_zc_done,
    .remote_closed = on_remote_closed,
    .cleanup = on_cleanup,
};

/* Announce established connections of listener k as PENDING sockets, up to
 * its backlog (the rest wait in the engine's accept queue). */
static void accept_more(struct svc_sock *k)
{
    struct axl_svc_app *a = k->app;
    struct axl_tcb *c;
    while (k->l && !a->dead && k->npending < k->backlog && axl_tcp_accept(k->l, &c) == 0) {
        struct svc_sock *n = sock_new(a, AXL_CHAN_PROTO_TCP, AXL_CHAN_SS_PENDING);
        if (!n) {
            a->v->st[AXL_SVC_SvcAcceptNoSlot]++;
            axl_tcp_abort(c);
            continue;
        }
        atomic_store_explicit(&a->ch.slots[n->id].listen, k->id, memory_order_relaxed);
        n->listen_id = k->id;
        n->c = c;
        a->v->st[AXL_SVC_SvcConnsNow]++;
        k->npending++;
        axl_tcp_set_user(c, &conn_ops, n);
        slot_addr_conn(n);
        ev(n, AXL_CHAN_EV_NEW_CONN, 0, 0, k->id, k->gen);
        rx_pump(n); /* bytes that came with the handshake go into its ring now */
    }
}

static void on_new_conn(struct axl_tcp_listener *l, void *user)
{
    (void)l;
    if (user) accept_more(user);
}

/* ------------------------------------------------------------------------ */
/* UDP                                                                        */

static void on_udp(struct axl_udp_sock *us, const uint8_t *data, uint32_t len, uint32_t saddr,
                   uint16_t sport, void *arg)
{
    struct svc_sock *k = arg;
    struct axl_svc_app *a = k->app;
    (void)us;
    if (a->dead || len > AXL_CHAN_DGRAM_MAX) return;
    struct axl_span sp[2];
    uint32_t need = AXL_CHAN_DGRAM_SPAN(len);
    int room = axl_chan_stk_rx_reserve(&a->ch, k->id, sp);
    if (room < 0) violation(a, 0);
    if (room < (int)need) { /* never split a datagram (abi.h) */
        a->v->st[AXL_SVC_SvcUdpRxRingFull]++;
        return;
    }
    struct axl_chan_dgram h = {len, htonl(saddr), htons(sport), 0, 0};
    uint8_t pad[8] = {0};
    const struct {
        const void *p;
        uint32_t n;
    } parts[3] = {{&h, sizeof(h)}, {data, len}, {pad, need - (uint32_t)sizeof(h) - len}};
    uint32_t si = 0, so = 0;
    for (int i = 0; i < 3; i++) {
        uint32_t off = 0;
        while (off < parts[i].n) {
            uint32_t m = AXL_MIN(parts[i].n - off, sp[si].len - so);
            memcpy(sp[si].p + so, (const uint8_t *)parts[i].p + off, m);
            off += m;
            so += m;
            if (so == sp[si].len) {
                si++;
                so = 0;
            }
        }
    }
    axl_chan_stk_rx_publish(&a->ch, k->id, need);
    a->v->st[AXL_SVC_SvcRxBytes] += len;
    uint32_t avail = axl_bring_used_cached(&a->ch.sock[k->id].rx, 1);
    ev(k, AXL_CHAN_EV_NEW_DATA, 0, 0, AXL_MIN(avail, a->ch.lay.p.rx_size), 0);
}

static int udp_ensure_bound(struct svc_sock *k)
{
    if (k->u) return 0;
    int r = axl_udp_bind(k->app->v->s, k->lport, on_udp, k, &k->u);
    if (r == 0) slot_addr(k, k->laddr, axl_udp_local_port(k->u), 0, 0);
    return r;
}

/* Copy n ring bytes at position pos into dst (wrapping). */
static void ring_copy(const struct axl_bring *r, uint32_t pos, void *dst, uint32_t n)
{
    uint32_t off = pos & (r->size - 1), first = AXL_MIN(n, r->size - off);
    memcpy(dst, r->data + off, first);
    if (n > first) memcpy((uint8_t *)dst + first, r->data, n - first);
}

/* SEND on a UDP socket: `len` ring bytes of whole datagram records. The
 * records are validated before anything is sent (the app can still rewrite
 * its ring meanwhile, so the second pass re-checks and stops at a bad one);
 * 0 or AXL_EMALFORMED. */
static int udp_send(struct svc_sock *k, uint32_t len)
{
    struct axl_svc_app *a = k->app;
    const struct axl_bring *tx = &a->ch.sock[k->id].tx;
    uint32_t pos, end = k->tx_req + len;
    for (pos = k->tx_req; pos != end;) {
        struct axl_chan_dgram h;
        if (end - pos < sizeof(h)) return AXL_EMALFORMED;
        ring_copy(tx, pos, &h, sizeof(h));
        if (h.len > AXL_CHAN_DGRAM_MAX || h.flags || h.reserved ||
            AXL_CHAN_DGRAM_SPAN(h.len) > end - pos)
            return AXL_EMALFORMED;
        pos += AXL_CHAN_DGRAM_SPAN(h.len);
    }
    int rc = udp_ensure_bound(k);
    int err = rc;
    for (pos = k->tx_req; pos != end;) {
        struct axl_chan_dgram h;
        if (end - pos < sizeof(h)) break;
        ring_copy(tx, pos, &h, sizeof(h));
        if (h.len > AXL_CHAN_DGRAM_MAX || AXL_CHAN_DGRAM_SPAN(h.len) > end - pos) break;
        uint32_t daddr = h.addr ? ntohl(h.addr) : k->udp_daddr;
        uint16_t dport = h.addr ? ntohs(h.port) : k->udp_dport;
        if (rc == 0) {
            if (!daddr || !dport) {
                err = -EDESTADDRREQ;
            } else {
                ring_copy(tx, pos + (uint32_t)sizeof(h), a->v->scratch, h.len);
                int r = axl_udp_sendto(a->v->s, k->u, a->v->scratch, h.len, daddr, dport);
                if (r < 0) err = r; /* UDP is unreliable: report, go on */
            }
        }
        pos += AXL_CHAN_DGRAM_SPAN(h.len);
    }
    k->tx_req = k->tx_sent = k->tx_done = end;
    struct axl_cspan sp[2];
    axl_chan_stk_tx_peek(&a->ch, k->id, sp);
    axl_chan_stk_tx_consume(&a->ch, k->id, len);
    a->v->st[AXL_SVC_SvcTxBytes] += len;
    ev(k, AXL_CHAN_EV_DATA_ACKED, 0, 0, len, 0);
    if (err < 0)
        atomic_store_explicit(&a->ch.slots[k->id].error, err < -4095 ? -EIO : err,
                              memory_order_relaxed);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* commands                                                                   */

static int map_opt(uint32_t o, enum axl_tcp_opt *t)
{
    switch (o) {
    case AXL_CHAN_OPT_NODELAY:
        *t = AXL_TCP_OPT_NODELAY;
        return 1;
    case AXL_CHAN_OPT_KEEPALIVE:
        *t = AXL_TCP_OPT_KEEPALIVE;
        return 1;
    case AXL_CHAN_OPT_KEEPIDLE:
        *t = AXL_TCP_OPT_KEEPIDLE;
        return 1;
    case AXL_CHAN_OPT_KEEPINTVL:
        *t = AXL_TCP_OPT_KEEPINTVL;
        return 1;
    case AXL_CHAN_OPT_KEEPCNT:
        *t = AXL_TCP_OPT_KEEPCNT;
        return 1;
    default:
        return 0; /* REUSEADDR / REUSEPORT / LINGER: no engine option */
    }
}

static void apply_opts(struct svc_sock *k)
{
    for (uint32_t o = 1; o <= AXL_CHAN_OPT_MAX; o++) {
        enum axl_tcp_opt t;
        if (!(k->opt_set & (1u << o)) || !map_opt(o, &t)) continue;
        if (k->c) axl_tcp_setopt(k->c, t, k->opt_val[o]);
        if (k->l) axl_tcp_listener_setopt(k->l, t, k->opt_val[o]);
    }
}

/* The socket a (decoded) command names, if it is this generation's. */
static struct svc_sock *cmd_sock(struct axl_svc_app *a, const struct axl_chan_cmd *c)
{
    if (c->sock >= a->ch.lay.p.max_socks) return NULL;
    struct svc_sock *k = &a->sk[c->sock];
    if (!k->proto || k->gen != c->gen || k->app_closed) return NULL;
    return k;
}

static uint32_t sock_state(struct axl_svc_app *a, const struct svc_sock *k)
{
    return atomic_load_explicit(&a->ch.slots[k->id].state, memory_order_relaxed);
}

static int cmd_send(struct axl_svc_app *a, struct svc_sock *k, const struct axl_chan_cmd *c)
{
    if (c->flags & AXL_CHAN_SENDF_REG) {
        if (k->proto != AXL_CHAN_PROTO_TCP) return -EOPNOTSUPP;
        const uint8_t *p = axl_chan_stk_regmem_ptr(&a->ch, c->region, c->off, c->len);
        if (!p) return -EINVAL;
        /* pos: in the app's window, not before what we already sent */
        if ((int32_t)(c->pos - k->tx_sent) < 0 || c->pos - k->tx_done > a->ch.lay.p.tx_size ||
            (k->fifo_tail && (int32_t)(c->pos - k->fifo_tail->pos) < 0)) {
            violation(a, AXL_CHAN_V_POS); /* splice before bytes already sent / out of order */
            return 1;
        }
        if (!k->c || k->shut_done) return -ENOTCONN;
        if (k->ended) return k->end_err ? k->end_err : -EPIPE;
        if (a->nitems >= SVC_ITEMS_MAX) return -ENOBUFS;
        struct svc_item *it = calloc(1, sizeof(*it));
        if (!it) return -ENOMEM;
        *it = (struct svc_item){NULL, k, AXL_CHAN_OP_SEND, c->pos, p, c->len, c->cookie, NULL};
        if (k->fifo_tail)
            k->fifo_tail->next = it;
        else
            k->fifo = it;
        k->fifo_tail = it;
        a->nitems++;
        tx_pump(k);
        return 1; /* DATA_ACKED reports it */
    }
    /* Ring bytes: they must be in the ring (the app's tx_prod). */
    struct axl_cspan sp[2];
    int av = axl_chan_stk_tx_peek(&a->ch, k->id, sp);
    if (av < 0 || (uint64_t)(k->tx_req - k->tx_done) + c->len > (uint32_t)av) {
        a->v->st[AXL_SVC_SvcBadSend]++;
        violation(a, av < 0 ? 0 : AXL_CHAN_V_LEN); /* more than the app put in the ring */
        return 1;
    }
    if (k->proto == AXL_CHAN_PROTO_UDP) {
        if (udp_send(k, c->len) < 0) {
            a->v->st[AXL_SVC_SvcBadSend]++;
            violation(a, AXL_CHAN_V_LEN); /* not whole, well-formed datagram records */
        }
        return 1;
    }
    if (!k->c || k->shut_done) return -ENOTCONN;
    if (k->ended) return k->end_err ? k->end_err : -EPIPE;
    k->tx_req += c->len;
    tx_pump(k);
    return 1;
}

static int cmd_connect(struct axl_svc_app *a, struct svc_sock *k, const struct axl_chan_cmd *c)
{
    if (c->family != AXL_CHAN_AF_INET) return -EAFNOSUPPORT;
    uint32_t daddr = ((uint32_t)c->addr[0] << 24) | ((uint32_t)c->addr[1] << 16) |
                     ((uint32_t)c->addr[2] << 8) | c->addr[3];
    uint16_t dport = ntohs(c->port);
    if (k->proto == AXL_CHAN_PROTO_UDP) {
        int r = udp_ensure_bound(k);
        if (r < 0) return r;
        k->udp_daddr = daddr;
        k->udp_dport = dport;
        slot_addr(k, 0, 0, daddr, dport);
        return 0;
    }
    if (sock_state(a, k) != AXL_CHAN_SS_OPEN || k->c || k->l) return -EISCONN;
    int r = axl_tcp_connect(a->v->s, daddr, dport, k->lport, &conn_ops, k, &k->c);
    if (r < 0) {
        k->c = NULL;
        return r;
    }
    a->v->st[AXL_SVC_SvcConnsNow]++;
    slot_addr_conn(k); /* the engine chose the local port: known before the DONE */
    apply_opts(k);
    k->connecting = 1;
    axl_chan_stk_sock_state(&a->ch, k->id, AXL_CHAN_SS_CONNECTING);
    return 1; /* DONE when connected (or failed) */
}

static int cmd_close(struct axl_svc_app *a, struct svc_sock *k, const struct axl_chan_cmd *c)
{
    int abort_ = (c->flags & AXL_CHAN_CLOSEF_ABORT) != 0;
    k->app_closed = 1;
    if (k->l) { /* its PENDING sockets stay the app's: it closes them */
        axl_tcp_listener_close(k->l);
        k->l = NULL;
    }
    if (k->u) {
        axl_udp_close(a->v->s, k->u);
        k->u = NULL;
    }
    if (k->listen_id != AXL_CHAN_SOCK_NONE && sock_state(a, k) == AXL_CHAN_SS_PENDING) {
        struct svc_sock *l = &a->sk[k->listen_id];
        if (l->proto && l->npending) {
            l->npending--;
            accept_more(l);
        }
    }
    if (k->c) {
        axl_chan_stk_sock_state(&a->ch, k->id, AXL_CHAN_SS_CLOSING);
        k->connecting = 0;
        if (k->ended) { /* over: bytes not yet in the ring go with the handle */
            axl_tcp_close(k->c);
            conn_drop(k);
        } else if (abort_) {
            axl_tcp_abort(k->c);
            conn_drop(k);
        } else if (k->tx_sent != k->tx_req || k->fifo) {
            k->close_pending = 1; /* FIN after what the app asked us to send */
        } else {
            axl_tcp_close(k->c);
            conn_drop(k);
        }
    }
    done(a, c, k->id, k->gen, 0, 0);
    sock_maybe_free(k);
    return 1;
}

static int cmd_obj(struct axl_svc_app *a, struct svc_sock *k, const struct axl_chan_cmd *c)
{
    if (c->op == AXL_CHAN_OP_OBJ_REG) {
        const uint8_t *p = axl_chan_stk_regmem_ptr(&a->ch, c->region, c->off, c->len);
        if (!p) return -EINVAL;
        uint32_t id;
        for (id = 0; id < a->nobj && a->obj[id]; id++)
            ;
        if (id == a->nobj) {
            uint32_t n = a->nobj ? a->nobj * 2 : SVC_OBJ_INIT;
            if (n > AXL_CHAN_OBJS_MAX) n = AXL_CHAN_OBJS_MAX;
            if (id >= n) return -ENOBUFS;
            struct axl_tcp_obj **t = realloc(a->obj, n * sizeof(*t));
            if (!t) return -ENOMEM;
            memset(t + a->nobj, 0, (n - a->nobj) * sizeof(*t));
            a->obj = t;
            a->nobj = n;
        }
        int r = axl_tcp_obj_create(a->v->s, p, c->len,
                                   c->arg ? AXL_TCP_OBJ_MEMCPY : AXL_TCP_OBJ_PRECOPY, &a->obj[id]);
        if (r < 0) return r;
        a->v->st[AXL_SVC_SvcObjects]++;
        done(a, c, AXL_CHAN_SOCK_NONE, 0, 0, id);
        return 1;
    }
    if (c->arg >= a->nobj || !a->obj[c->arg]) return -ENOENT;
    if (c->op == AXL_CHAN_OP_OBJ_FREE) {
        axl_tcp_obj_release(a->obj[c->arg]); /* freed when no send holds it */
        a->obj[c->arg] = NULL;
        return 0;
    }
    /* OBJ_SEND: spliced after the ring bytes asked for so far */
    if (!k->c || k->shut_done || k->proto != AXL_CHAN_PROTO_TCP) return -ENOTCONN;
    if (k->ended) return k->end_err ? k->end_err : -EPIPE;
    if (a->nitems >= SVC_ITEMS_MAX) return -ENOBUFS;
    struct svc_item *it = calloc(1, sizeof(*it));
    if (!it) return -ENOMEM;
    *it = (struct svc_item){NULL,
                            k,
                            AXL_CHAN_OP_OBJ_SEND,
                            k->tx_req,
                            NULL,
                            axl_tcp_obj_len(a->obj[c->arg]),
                            c->cookie,
                            a->obj[c->arg]};
    if (k->fifo_tail)
        k->fifo_tail->next = it;
    else
        k->fifo = it;
    k->fifo_tail = it;
    a->nitems++;
    tx_pump(k);
    return 1;
}

/* Execute one decoded command. Returns 1 when the command answered itself
 * (or needs no answer), else the status for a DONE. */
static int exec_cmd(struct axl_svc_app *a, const struct axl_chan_cmd *c)
{
    struct axl_svc *v = a->v;
    v->st[AXL_SVC_SvcCmds]++;
    if (c->op == AXL_CHAN_OP_OPEN) {
        uint32_t proto = c->arg == AXL_CHAN_PROTO_UDP ? AXL_CHAN_PROTO_UDP : AXL_CHAN_PROTO_TCP;
        struct svc_sock *k = sock_new(a, proto, AXL_CHAN_SS_OPEN);
        if (!k) {
            done(a, c, AXL_CHAN_SOCK_NONE, 0, -EMFILE, 0);
            return 1;
        }
        k->listen_id = AXL_CHAN_SOCK_NONE;
        done(a, c, k->id, k->gen, 0, 0);
        return 1;
    }
    if (c->op == AXL_CHAN_OP_OBJ_REG || c->op == AXL_CHAN_OP_OBJ_FREE) return cmd_obj(a, NULL, c);
    struct svc_sock *k = cmd_sock(a, c);
    if (!k) return -EBADF; /* closed by the app, or an older generation */
    uint32_t st = sock_state(a, k);
    switch (c->op) {
    case AXL_CHAN_OP_BIND: {
        if (c->family != AXL_CHAN_AF_INET) return -EAFNOSUPPORT;
        if (k->lport || k->u || k->c || k->l) return -EINVAL;
        /* Only INADDR_ANY or the engine's own address can be bound: any
         * other is not ours (POSIX bind(): EADDRNOTAVAIL). */
        uint32_t baddr = ((uint32_t)c->addr[0] << 24) | ((uint32_t)c->addr[1] << 16) |
                         ((uint32_t)c->addr[2] << 8) | c->addr[3];
        if (baddr && baddr != v->s->addr) return -EADDRNOTAVAIL;
        k->lport = ntohs(c->port);
        k->laddr = baddr;
        if (k->proto == AXL_CHAN_PROTO_UDP) {
            int r = udp_ensure_bound(k);
            if (r < 0) {
                k->lport = 0;
                k->laddr = 0;
            }
            return r;
        }
        slot_addr(k, baddr, k->lport, 0, 0);
        return 0;
    }
    case AXL_CHAN_OP_LISTEN: {
        if (k->proto != AXL_CHAN_PROTO_TCP) return -EOPNOTSUPP;
        if (st != AXL_CHAN_SS_OPEN || k->c || k->l) return -EINVAL;
        if (!k->lport) return -EDESTADDRREQ;
        /* POSIX listen(): a backlog beyond the limit is clamped to it (the
         * decoder lets any backlog >= 1 through): here the app's socket
         * limit, and the engine's accept queue bound. */
        uint32_t backlog = AXL_MIN(c->arg, a->ch.lay.p.max_socks);
        int r = axl_tcp_listen(v->s, k->lport, AXL_MIN(backlog, (uint32_t)AXL_TCP_BACKLOG_MAX),
                               &conn_ops, k, &k->l);
        if (r < 0) {
            k->l = NULL;
            return r;
        }
        k->backlog = backlog;
        apply_opts(k);
        axl_chan_stk_sock_state(&a->ch, k->id, AXL_CHAN_SS_LISTEN);
        return 0;
    }
    case AXL_CHAN_OP_CONNECT: {
        int r = cmd_connect(a, k, c);
        return r;
    }
    case AXL_CHAN_OP_ACCEPT: {
        if (st != AXL_CHAN_SS_PENDING && st != AXL_CHAN_SS_DEAD) return -EINVAL;
        if (k->listen_id != c->arg) return -EINVAL;
        struct svc_sock *l = &a->sk[k->listen_id];
        if (st == AXL_CHAN_SS_PENDING) {
            axl_chan_stk_sock_state(&a->ch, k->id, AXL_CHAN_SS_ESTABLISHED);
            apply_opts(k);
        }
        k->listen_id = AXL_CHAN_SOCK_NONE;
        if (l->proto && l->npending) {
            l->npending--;
            accept_more(l);
        }
        return 0;
    }
    case AXL_CHAN_OP_SEND: {
        int r = cmd_send(a, k, c);
        return r;
    }
    case AXL_CHAN_OP_RECV_DONE:
        /* The app freed RX room (its index says how much): move more. */
        rx_pump(k);
        return 1;
    case AXL_CHAN_OP_SHUTDOWN:
        if (k->proto != AXL_CHAN_PROTO_TCP) return 0;
        if (!k->c) return -ENOTCONN;
        if (k->ended) return 0; /* the connection is over: nothing more goes out */
        if (c->arg >= 1 && !k->shut_done) {
            k->shut_done = 1;
            axl_chan_stk_sock_flags(&a->ch, k->id, AXL_CHAN_SF_TX_SHUT, 0);
            if (k->tx_sent != k->tx_req || k->fifo)
                k->shut_pending = 1;
            else
                axl_tcp_shutdown(k->c);
        }
        return 0;
    case AXL_CHAN_OP_CLOSE:
        return cmd_close(a, k, c);
    case AXL_CHAN_OP_SETOPT: {
        enum axl_tcp_opt t;
        if (c->arg > AXL_CHAN_OPT_MAX) return -EINVAL;
        k->opt_set |= 1u << c->arg;
        k->opt_val[c->arg] = c->len;
        if (!map_opt(c->arg, &t)) return 0; /* recorded; nothing for the engine */
        if (k->c) return axl_tcp_setopt(k->c, t, c->len);
        if (k->l) return axl_tcp_listener_setopt(k->l, t, c->len);
        return 0; /* applied at listen / connect / accept */
    }
    case AXL_CHAN_OP_OBJ_SEND:
        return cmd_obj(a, k, c);
    default:
        return -EINVAL;
    }
}

/* ------------------------------------------------------------------------ */
/* applications                                                               */

static void app_free(struct axl_svc_app *a)
{
    struct axl_svc *v = a->v;
    axl_chan_stk_close(&a->ch);
    if (a->sock >= 0) close(a->sock);
    free(a->sk);
    free(a->evb);
    free(a->obj);
    free(a);
    (void)v;
}

/* Stop serving a: close listeners and UDP sockets, release objects; its
 * connections are reset by reclaim_step, a batch per loop iteration. The
 * memory goes once the engine holds none of it. */
static void app_kill(struct axl_svc_app *a, int disconnect, const char *why)
{
    struct axl_svc *v = a->v;
    if (a->dead) return;
    if (disconnect) axl_chan_stk_disconnect(&a->ch); /* the app sees DOWN */
    a->dead = 1;
    v->st[disconnect ? AXL_SVC_SvcAppsDisconnected : AXL_SVC_SvcAppsGone]++;
    axl_info("svc", "app %u (%s, pid %d) %s: %s; %u socket%s reclaimed", a->id, a->name,
             (int)a->pid, disconnect ? "disconnected" : "gone", why, a->nsocks,
             a->nsocks == 1 ? "" : "s");
    for (uint32_t i = 0; i < a->ch.lay.p.max_socks; i++) {
        struct svc_sock *k = &a->sk[i];
        if (!k->proto) continue;
        k->app_closed = 1;
        for (struct svc_item *it = k->fifo, *nx; it; it = nx) {
            nx = it->next;
            free(it);
            a->nitems--;
        }
        k->fifo = k->fifo_tail = NULL;
        if (k->l) axl_tcp_listener_close(k->l);
        k->l = NULL;
        if (k->u) axl_udp_close(v->s, k->u);
        k->u = NULL;
        if (k->c) { /* reset later, in a batch (reclaim_step) */
            a->reclaim_left++;
            v->st[AXL_SVC_SvcReclaimConns]++;
        }
        k->cleanup_posted = 1;
        sock_maybe_free(k);
    }
    a->reclaim_next = 0;
    a->reclaim_total = a->reclaim_left;
    a->reclaim_t0 = axl_clock_ns();
    for (uint32_t i = 0; i < a->nobj; i++)
        if (a->obj[i]) axl_tcp_obj_release(a->obj[i]);
    if (a->obj) memset(a->obj, 0, a->nobj * sizeof(*a->obj));
    /* off the served list, onto the dying one */
    for (uint32_t i = 0; i < v->napps; i++)
        if (v->apps[i] == a) {
            v->apps[i] = v->apps[--v->napps];
            break;
        }
    v->st[AXL_SVC_SvcAppsNow]--;
    if (a->sock >= 0) close(a->sock);
    a->sock = -1;
    a->next = v->dying;
    v->dying = a;
    v->st[AXL_SVC_SvcReclaimPending]++;
}

/* Reset up to max connections of the dead app a (all: UINT32_MAX); the
 * count done. An app that dies holding more connections than the port's TX
 * ring has slots cannot reset them all at once: the RSTs beyond the ring
 * would be dropped and those peers would learn only on their next segment.
 * RFC 9293 §3.10.5 ABORT (RST in synchronized states), as Linux does on
 * close with unread data (RFC 9293 §3.10.4, RFC 1122 §4.2.2.13). */
static uint32_t reclaim_conns(struct axl_svc_app *a, uint32_t max)
{
    uint32_t n = 0;
    while (a->reclaim_left && n < max && a->reclaim_next < a->ch.lay.p.max_socks) {
        struct svc_sock *k = &a->sk[a->reclaim_next];
        if (!k->proto || !k->c) {
            a->reclaim_next++;
            continue;
        }
        struct axl_tcb *c = k->c;
        int ended = k->ended;
        conn_drop(k);
        if (ended)
            axl_tcp_close(c); /* already over: no RST to send, just the handle back */
        else
            axl_tcp_abort(c); /* RST; zc_done may follow */
        a->v->st[AXL_SVC_SvcReclaimResets]++;
        sock_maybe_free(k);
        n++;
    }
    if (n && !a->reclaim_left)
        axl_info("svc", "app %u (%s): %u connection%s reset in %.1f ms", a->id, a->name,
                 a->reclaim_total, a->reclaim_total == 1 ? "" : "s",
                 (double)(axl_clock_ns() - a->reclaim_t0) / 1e6);
    return n;
}

/* One loop iteration's share of the reclaim: SVC_RECLAIM_BATCH resets over
 * the dying apps, or SVC_RECLAIM_MIN when the port's TX ring refused a
 * frame since the last step (it is full: let the engine drain it). */
static uint32_t reclaim_step(struct axl_svc *v)
{
    if (!v->st[AXL_SVC_SvcReclaimConns]) return 0;
    uint64_t drops = AXL_STAT_GET(v->s, DropTxRingFull);
    uint32_t budget = drops != v->reclaim_drops ? SVC_RECLAIM_MIN : SVC_RECLAIM_BATCH, n = 0;
    v->reclaim_drops = drops;
    for (struct axl_svc_app *a = v->dying; a && n < budget; a = a->next)
        n += reclaim_conns(a, budget - n);
    return n;
}

static void reap_dying(struct axl_svc *v)
{
    for (struct axl_svc_app **pp = &v->dying; *pp;) {
        struct axl_svc_app *a = *pp;
        if (a->zc_refs || a->reclaim_left) {
            pp = &a->next;
            continue;
        }
        for (uint32_t i = 0; i < a->ch.lay.p.max_socks; i++) /* the last zc_done came */
            if (a->sk[i].proto) sock_maybe_free(&a->sk[i]);
        *pp = a->next;
        v->st[AXL_SVC_SvcReclaimPending]--;
        app_free(a);
    }
}

int axl_svc_app_add(struct axl_svc *v, uint32_t app_id, pid_t pid, uid_t uid, const char *name,
                    int sock)
{
    struct axl_svc_app *a = NULL;
    int rc = -ENOMEM;
    if (v->napps >= AXL_SVC_MAX_APPS) {
        rc = -EMFILE;
        goto fail;
    }
    a = calloc(1, sizeof(*a));
    if (!a) goto fail;
    a->v = v;
    a->quiet_ns = v->wake_quiet_ns;
    a->id = app_id;
    a->pid = pid;
    a->uid = uid;
    a->sock = sock;
    snprintf(a->name, sizeof(a->name), "%s", name);
    int fl = fcntl(sock, F_GETFL);
    if (fl < 0 || fcntl(sock, F_SETFL, fl | O_NONBLOCK) < 0) {
        rc = -errno;
        goto fail_app;
    }
    rc = axl_chan_create(&a->ch, &v->params, app_id);
    if (rc < 0) goto fail_app;
    a->sk = calloc(v->params.max_socks, sizeof(*a->sk));
    a->evb_cap = v->params.evq_slots * SVC_EVQ_BACKLOG_MULT;
    a->evb = calloc(a->evb_cap, sizeof(*a->evb));
    if (!a->sk || !a->evb) {
        rc = -ENOMEM;
        goto fail_chan;
    }
    axl_chan_stk_set_bell(&a->ch, v->bell);
    rc = axl_chan_send_hello(sock, &a->ch);
    if (rc < 0) goto fail_chan;
    axl_chan_stk_drop_fds(&a->ch);
    v->apps[v->napps++] = a;
    v->st[AXL_SVC_SvcAppsAttached]++;
    v->st[AXL_SVC_SvcAppsNow]++;
    axl_info("svc", "app %u (%s, pid %d, uid %u): channel of %u sockets, %u B rings", app_id,
             a->name, (int)pid, (unsigned)uid, v->params.max_socks, v->params.rx_size);
    return 0;
fail_chan:
    axl_chan_stk_close(&a->ch);
fail_app:
    free(a->sk);
    free(a->evb);
    free(a);
fail:
    close(sock);
    v->st[AXL_SVC_SvcAppsFailed]++;
    axl_warn("svc", "app %u (%s): cannot attach: %s", app_id, name, axl_strerror(rc));
    return rc;
}

void axl_svc_app_gone(struct axl_svc *v, uint32_t app_id)
{
    for (uint32_t i = 0; i < v->napps; i++)
        if (v->apps[i]->id == app_id) {
            app_kill(v->apps[i], 0, "its session ended");
            return;
        }
}

/* ------------------------------------------------------------------------ */
/* the loop                                                                   */

static uint32_t serve_app(struct axl_svc_app *a)
{
    uint32_t work = flush_events(a);
    struct axl_chan_cmd c;
    unsigned vk;
    uint64_t viol0 = a->ch.stats.violations;
    for (uint32_t i = 0; i < SVC_CMD_BATCH && !a->dead; i++) {
        int r = axl_chan_stk_poll_cmd(&a->ch, &c, &vk);
        if (r == 0) break;
        work++;
        if (r < 0) continue; /* counted by the channel; checked below */
        int st = exec_cmd(a, &c);
        if (st != 1 && !a->dead) done(a, &c, c.sock, c.gen, st, 0);
    }
    if (!a->dead) {
        uint32_t ids[SVC_HINT_BATCH];
        uint32_t n = axl_chan_stk_scan(&a->ch, ids, SVC_HINT_BATCH);
        for (uint32_t i = 0; i < n && !a->dead; i++) {
            struct svc_sock *k = &a->sk[ids[i]];
            if (!k->proto) continue;
            rx_pump(k); /* RX room freed (RX_WANT) */
            tx_pump(k);
        }
        work += n;
    }
    if (a->ch.stats.violations != viol0 || a->ch.stats.violations != a->viol_seen) violation(a, 0);
    return work;
}

/* Publish the news of this iteration: bump the app's activity word (no
 * system call); the wake-up, if the app sleeps, comes at the end of the burst
 * (svc_ring). */
static void svc_bump(struct axl_svc_app *a, uint64_t now)
{
    a->kick = 0;
    axl_chan_stk_bump(&a->ch);
    if (!a->wake_due) {
        a->wake_due = 1;
        a->due_ns = now;
        a->gap_ns = 0;
    } else if (now - a->news_ns > a->gap_ns) {
        a->gap_ns = now - a->news_ns;
    }
    a->news_ns = now;
}

/* The quiet time of the hold in progress. */
static uint64_t svc_quiet(const struct axl_svc_app *a)
{
    return a->holds % SVC_WAKE_PROBE == 0 ? a->v->wake_quiet_ns : a->quiet_ns;
}

/* Wake the app if it sleeps on an older activity value (at most one
 * FUTEX_WAKE per sleep of the app, doorbell.h). */
static void svc_ring(struct axl_svc_app *a, enum axl_svc_stat why)
{
    a->wake_due = 0;
    if (axl_chan_stk_ring(&a->ch)) {
        a->v->st[AXL_SVC_SvcAppWakes]++;
        a->v->st[why]++;
        a->v->woke++;
        /* adapt the quiet time to what holding took in (SVC_WAKE_GAP_NS) */
        if (a->gap_ns >= SVC_WAKE_GAP_NS)
            a->quiet_ns = a->v->wake_quiet_ns;
        else if (a->holds % SVC_WAKE_PROBE != 0)
            a->quiet_ns = a->quiet_ns / 2 < SVC_WAKE_GAP_NS ? 0 : a->quiet_ns / 2;
        a->holds++;
    }
}

uint32_t axl_svc_poll(struct axl_svc *v)
{
    uint32_t work = 0, due = 0;
    for (uint32_t i = 0; i < v->napps; i++) {
        struct axl_svc_app *a = v->apps[i];
        work += serve_app(a);
        if (i < v->napps && v->apps[i] != a) i--; /* a was removed: its slot holds another */
    }
    /* Commands answered, and engine callbacks from axl_stack_poll posted
     * events: publish them; wake sleeping apps whose burst of news ended. */
    for (uint32_t i = 0; i < v->napps; i++)
        due |= (uint32_t)(v->apps[i]->kick | v->apps[i]->wake_due);
    if (due) {
        uint64_t now = axl_clock_ns();
        for (uint32_t i = 0; i < v->napps; i++) {
            struct axl_svc_app *a = v->apps[i];
            if (a->dead) continue;
            if (a->kick) svc_bump(a, now);
            if (!a->wake_due) continue;
            if (now - a->news_ns >= svc_quiet(a))
                svc_ring(a, AXL_SVC_SvcAppWakesQuiet);
            else if (now - a->due_ns >= v->wake_max_ns)
                svc_ring(a, AXL_SVC_SvcAppWakesHeld);
            else if (axl_chan_stk_evq_used(&a->ch) * 2 > a->ch.lay.p.evq_slots)
                svc_ring(a, AXL_SVC_SvcAppWakesQueue);
        }
    }
    if (v->dying) {
        work += reclaim_step(v);
        reap_dying(v);
    }
    return work;
}

void axl_svc_wake_apps(struct axl_svc *v)
{
    uint64_t now = 0;
    for (uint32_t i = 0; i < v->napps; i++) {
        struct axl_svc_app *a = v->apps[i];
        if (a->dead) continue;
        if (a->kick) svc_bump(a, now ? now : (now = axl_clock_ns()));
        if (a->wake_due) svc_ring(a, AXL_SVC_SvcAppWakesIdle);
    }
}

int axl_svc_prepare_sleep(struct axl_svc *v)
{
    axl_svc_wake_apps(v); /* never sleep with an app asleep that has news */
    for (uint32_t i = 0; i < v->napps; i++)
        if (!axl_chan_stk_prepare_sleep(&v->apps[i]->ch)) {
            for (uint32_t j = 0; j < i; j++)
                axl_chan_stk_wake_done(&v->apps[j]->ch);
            return 0;
        }
    return 1;
}

uint64_t axl_svc_sleep_max_ns(const struct axl_svc *v)
{
    if (v->st[AXL_SVC_SvcReclaimConns]) return 0; /* resets still to send */
    /* Deferred events wait for room the app makes without telling us. */
    for (uint32_t i = 0; i < v->napps; i++)
        if (v->apps[i]->evb_n) return 1000000ull;
    return UINT64_MAX;
}

void axl_svc_wake_done(struct axl_svc *v)
{
    for (uint32_t i = 0; i < v->napps; i++)
        axl_chan_stk_wake_done(&v->apps[i]->ch);
}

uint32_t axl_svc_pollfds(struct axl_svc *v, struct pollfd *pfd, uint32_t max)
{
    uint32_t n = 0;
    if (n < max) pfd[n++] = (struct pollfd){.fd = v->bell, .events = POLLIN};
    for (uint32_t i = 0; i < v->napps && n < max; i++)
        pfd[n++] = (struct pollfd){.fd = v->apps[i]->sock, .events = POLLIN};
    return n;
}

uint32_t axl_svc_pollfds_done(struct axl_svc *v, const struct pollfd *pfd, uint32_t n)
{
    uint32_t work = 0;
    if (n && (pfd[0].revents & POLLIN)) {
        uint64_t x;
        if (read(v->bell, &x, sizeof(x)) == sizeof(x)) v->st[AXL_SVC_SvcBellWakes]++;
        work++;
    }
    for (uint32_t i = 1; i < n; i++) {
        if (!pfd[i].revents) continue;
        struct axl_svc_app *a = NULL;
        for (uint32_t j = 0; j < v->napps; j++)
            if (v->apps[j]->sock == pfd[i].fd) a = v->apps[j];
        if (!a) continue;
        work++;
        for (int m = 0; m < 8; m++) { /* a few requests per wake-up (fairness) */
            struct axl_chan_msg msg;
            int fds[AXL_CHAN_MSG_FDS_MAX];
            int r = axl_chan_msg_recv(a->sock, &msg, fds);
            if (r == -EAGAIN) break;
            if (r < 0 && r != AXL_EMALFORMED && r != AXL_EVERSION) {
                app_kill(a, 0, r == -EPIPE ? "its socket closed" : "its socket failed");
                break;
            }
            if (r < 0 || msg.type != AXL_CHAN_MSG_REGMEM) { /* only REGMEM comes this way */
                if (r == 0)
                    for (uint32_t f = 0; f < msg.nfds; f++)
                        close(fds[f]);
                violation(a, AXL_CHAN_V_OPCODE);
                if (a->dead) break;
                continue;
            }
            if (axl_chan_stk_serve_regmem(&a->ch, a->sock, &msg, fds[0]) >= 0)
                v->st[AXL_SVC_SvcRegmem]++;
        }
    }
    return work;
}

/* ------------------------------------------------------------------------ */
/* conns owners                                                               */

struct svc_own {
    uint64_t key; /* laddr << 32 | lport << 16 | rport, raddr in key2 */
    uint32_t key2;
    uint32_t app_id;
    pid_t pid;
};

static int own_cmp(const void *x, const void *y)
{
    const struct svc_own *a = x, *b = y;
    if (a->key != b->key) return a->key < b->key ? -1 : 1;
    return a->key2 < b->key2 ? -1 : a->key2 > b->key2;
}

static struct svc_own own_key(uint32_t laddr, uint16_t lport, uint32_t raddr, uint16_t rport)
{
    struct svc_own o = {((uint64_t)laddr << 32) | ((uint64_t)lport << 16) | rport, raddr, 0, 0};
    return o;
}

int axl_svc_conn_owners(const struct axl_svc *v, const struct axl_tcp_dump_rec *rec, uint32_t n,
                        uint32_t *app_id, pid_t *pid)
{
    uint64_t cap = 0;
    for (uint32_t i = 0; i < v->napps; i++)
        cap += v->apps[i]->nsocks;
    struct svc_own *t = cap ? malloc(cap * sizeof(*t)) : NULL;
    if (cap && !t) return AXL_ENOMEM;
    uint64_t m = 0;
    for (uint32_t i = 0; i < v->napps; i++) { /* what each app holds now */
        const struct axl_svc_app *a = v->apps[i];
        for (uint32_t j = 0; j < a->ch.lay.p.max_socks && m < cap; j++) {
            const struct svc_sock *k = &a->sk[j];
            if (!k->proto || (!k->c && !k->l)) continue;
            if (k->c) {
                struct axl_tcp_info ti;
                axl_tcp_get_info(k->c, &ti);
                t[m] = own_key(ti.laddr, ti.lport, ti.raddr, ti.rport);
            } else {
                t[m] = own_key(0, axl_tcp_listener_port(k->l), 0, 0);
            }
            t[m].app_id = a->id;
            t[m].pid = a->pid;
            m++;
        }
    }
    if (m) qsort(t, m, sizeof(*t), own_cmp);
    int found = 0;
    for (uint32_t i = 0; i < n; i++) {
        /* A listener's record is keyed by its port alone (the key of k->l above). */
        struct svc_own q = rec[i].state == AXL_TCP_LISTEN
                               ? own_key(0, rec[i].lport, 0, 0)
                               : own_key(rec[i].laddr, rec[i].lport, rec[i].raddr, rec[i].rport);
        const struct svc_own *hit = m ? bsearch(&q, t, m, sizeof(*t), own_cmp) : NULL;
        app_id[i] = hit ? hit->app_id : 0;
        pid[i] = hit ? hit->pid : 0;
        found += hit != NULL;
    }
    free(t);
    return found;
}

uint32_t axl_svc_stats_copy(const struct axl_svc *v, uint64_t *dst, uint32_t n)
{
    uint32_t k = AXL_MIN(n, (uint32_t)AXL_SVC__COUNT);
    memcpy(dst, v->st, k * sizeof(*dst));
    return k;
}

int axl_svc_init(struct axl_svc *v, struct axl_stack *s, const struct axl_chan_params *p)
{
    struct axl_chan_layout l;
    memset(v, 0, sizeof(*v));
    v->s = s;
    v->params = *p;
    v->bell = -1;
    v->wake_quiet_ns = SVC_WAKE_QUIET_NS;
    v->wake_max_ns = SVC_WAKE_MAX_NS;
    if (axl_chan_layout(p, &l) < 0) return AXL_EINVAL;
    v->scratch = malloc(AXL_CHAN_DGRAM_MAX);
    if (!v->scratch) return AXL_ENOMEM;
    v->bell = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (v->bell < 0) {
        int e = -errno;
        free(v->scratch);
        v->scratch = NULL;
        return e;
    }
    return 0;
}

void axl_svc_stop(struct axl_svc *v)
{
    while (v->napps)
        app_kill(v->apps[0], 0, "the replica stops");
    /* The engine goes next: every connection of every app is reset now. */
    for (struct axl_svc_app *a = v->dying; a; a = a->next)
        reclaim_conns(a, UINT32_MAX);
}

void axl_svc_fini(struct axl_svc *v)
{
    axl_svc_stop(v);
    /* After the engine is gone (it reports the last zc_done into our
     * sockets while it goes): free what is left. */
    while (v->dying) {
        struct axl_svc_app *a = v->dying;
        v->dying = a->next;
        app_free(a);
    }
    if (v->bell >= 0) close(v->bell);
    free(v->scratch);
    memset(v, 0, sizeof(*v));
    v->bell = -1;
}
