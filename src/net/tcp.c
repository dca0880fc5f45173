/* SPDX-License-Identifier: MIT */
/*
 * net/tcp.c - TCP in the engine: connection and listener tables, the TCB life
 * cycle, the send and receive queues, event delivery and the API of
 * net/tcp.h. Segment processing is in tcp_input.c, segment construction in
 * tcp_output.c, timers in tcp_timer.c (see tcp_priv.h for the map).
 *
 * Tables. Connections live in an intrusive hash table (core/hash.h) keyed
 * by (remote address, remote port, local port) under a random key: lookup
 * is O(1) and an off-path attacker cannot aim at one bucket. The table
 * doubles when it holds more than two connections per bucket; that rehash
 * is O(n) once per doubling (amortised O(1) per connection). Listeners are
 * one array load: listeners[port] (65536 pointers, 512 KiB of virtual
 * memory, touched only where ports listen), as UDP sockets.
 *
 * TCB life cycle. A TCB is created by connect(), by a SYN to a listener, or
 * by a valid SYN-cookie ACK. It leaves the tables when the protocol is done
 * with it (tcp_tcb_done: RFC 9293 "delete the TCB"), and its memory is freed
 * at the end of the poll iteration once the application does not hold it
 * (TF_USER): callbacks can therefore never see freed memory, whatever they
 * call. Freed TCBs are cached for reuse (AXL_TCP_TCB_CACHE), so a SYN costs
 * no malloc in the steady state.
 *
 * Send queue (struct tcp_sndq): the bytes from SND.UNA on, in pool buffers.
 * Copied data fills whole buffers from their first byte (send-queue buffers
 * never carry headers); zero-copy data is a buffer whose data/len point into
 * the caller's memory, with the cookie stored in the buffer itself. A cursor
 * remembers the chunk holding the last byte sent, so building the next
 * segment never walks the queue from the start (O(1) per segment).
 * Transmission copies the bytes into a fresh frame (ports take ownership of
 * what they send, so queued buffers cannot be handed out); retransmission
 * regenerates the segment from the queue.
 *
 * Receive queue (struct tcp_rcvq): the received buffers themselves, narrowed
 * to their in-order payload (zero copy); the application reads them in place
 * (axl_tcp_recv) and releases bytes (axl_tcp_recv_done). A segment of at most
 * AXL_TCP_COALESCE_MAX bytes is copied into the tail buffer when it fits, so
 * tiny segments cannot pin a buffer per byte.
 *
 * Call chain: application -> API here -> tcp_output.c; tcp_input.c /
 * tcp_timer.c -> tcp_tcb_done, queues, tcp_deliver_events -> callbacks.
 */
#include "net/tcp.h"

#include <stdlib.h>
#include <string.h>

#include "core/compiler.h"
#include "core/err.h"
#include "core/log.h"
#include "net/stack_priv.h"
#include "net/tcp_priv.h"
#include "steer/steer.h"

#define NPORTS 65536u

/* A zero-copy chunk's cookie, stored at the start of its buffer; obj is the
 * pre-packetised object the bytes belong to (net/tcp_prepkt.h), or NULL. */
struct tcp_zc {
    void *cookie;
    struct axl_tcp_obj *obj;
};

/* --- tables ------------------------------------------------------------------- */

static uint32_t tuple_hash(const struct axl_stack *s, uint32_t raddr, uint16_t rport,
                           uint16_t lport)
{
    uint64_t k = ((uint64_t)raddr << 32) | ((uint64_t)rport << 16) | lport;
    return (uint32_t)axl_hash64(k ^ s->tcp.hash_key);
}

struct axl_tcb *tcp_lookup(struct axl_stack *s, uint32_t raddr, uint16_t rport, uint16_t lport)
{
    uint32_t h = tuple_hash(s, raddr, rport, lport);
    for (struct axl_hnode *n = axl_htab_bucket(&s->tcp.conns, h); n; n = n->next) { /* hot */
        if (n->hash != h) continue;
        struct axl_tcb *t = axl_container_of(n, struct axl_tcb, hnode);
        if (t->raddr == raddr && t->rport == rport && t->lport == lport) return t;
    }
    return NULL;
}

void tcp_tcb_insert(struct axl_stack *s, struct axl_tcb *t)
{
    struct axl_htab *h = &s->tcp.conns;
    if (h->count >= 2 * (h->mask + 1)) (void)axl_htab_grow(h); /* ENOMEM: longer chains */
    axl_htab_insert(h, &t->hnode, tuple_hash(s, t->raddr, t->rport, t->lport));
    t->flags |= TF_HASHED;
    if (s->tcp.bucket_conns) { /* the director's drain rule (steer/director_core.c) */
        t->bucket = (uint8_t)(axl_steer_hash4(t->laddr, t->raddr, t->lport, t->rport) &
                              (AXL_STEER_RETA_SIZE - 1));
        _Atomic uint32_t *c = &s->tcp.bucket_conns[t->bucket];
        atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                              memory_order_relaxed);
    }
}

/* Out of the table: the bucket count goes down (single writer: this engine). */
static void bucket_put(struct axl_stack *s, const struct axl_tcb *t)
{
    if (!s->tcp.bucket_conns) return;
    _Atomic uint32_t *c = &s->tcp.bucket_conns[t->bucket & (AXL_STEER_RETA_SIZE - 1)];
    uint32_t v = atomic_load_explicit(c, memory_order_relaxed);
    atomic_store_explicit(c, v ? v - 1 : 0, memory_order_relaxed);
}

/* --- TCB life cycle ----------------------------------------------------------- */

uint8_t tcp_wscale_for(uint32_t rcvbuf)
{
    uint8_t ws = 0;
    while (ws < AXL_TCP_WS_MAX && (rcvbuf >> ws) > 65535u)
        ws++;
    return ws;
}

struct axl_tcb *tcp_tcb_new(struct axl_stack *s, const struct axl_tcp_listener *l)
{
    struct axl_tcp_state *ts = &s->tcp;
    if (ts->nconns >= ts->max_conns) return NULL;
    struct axl_tcb *t = ts->cache;
    if (t) {
        ts->cache = t->qnext;
        ts->ncache--;
        memset(t, 0, sizeof(*t));
    } else {
        t = calloc(1, sizeof(*t));
        if (!t) return NULL;
    }
    ts->nconns++;
    t->s = s;
    t->laddr = s->addr;
    t->state = AXL_TCP_CLOSED;
    t->snd_wscale = 0;
    if (l) {
        t->flags = l->flags & (TF_NODELAY | TF_KEEPALIVE);
        t->sndbuf = l->sndbuf;
        t->rcvbuf = l->rcvbuf;
        t->user_timeout_ms = l->user_timeout_ms;
        t->keepidle_s = l->keepidle_s;
        t->keepintvl_s = l->keepintvl_s;
        t->keepcnt = l->keepcnt;
        t->cc_algo = l->cc_algo;
        t->ops = l->ops;
    } else {
        t->sndbuf = ts->sndbuf;
        t->rcvbuf = ts->rcvbuf;
        t->keepidle_s = AXL_TCP_KEEPIDLE_S;
        t->keepintvl_s = AXL_TCP_KEEPINTVL_S;
        t->keepcnt = AXL_TCP_KEEPCNT;
        t->cc_algo = AXL_TCP_CC_DEFAULT;
    }
    t->rcv_wscale = tcp_wscale_for(t->rcvbuf);
    t->adv_mss = tcp_adv_mss(s);
    t->snd_mss = AXL_TCP_MSS_DEFAULT;
    t->rcv_mss = AXL_TCP_MSS_DEFAULT;
    uint32_t segs = AXL_MIN(AXL_MAX(t->rcvbuf / 512, AXL_TCP_OOO_SEGS_MIN), AXL_TCP_OOO_SEGS_MAX);
    (void)axl_tcp_ooo_init(&t->ooo, t->rcvbuf, segs);
    (void)axl_tcp_rtt_init(&t->rtt, NULL);
    tcp_timers_init(t);
    return t;
}

static void tcb_free(struct axl_stack *s, struct axl_tcb *t)
{
    struct axl_tcp_state *ts = &s->tcp;
    if (ts->ncache < AXL_TCP_TCB_CACHE) {
        t->qnext = ts->cache;
        ts->cache = t;
        ts->ncache++;
    } else {
        free(t);
    }
}

/* Dead TCBs the application still holds (closed by the peer or a timeout,
 * not yet by the application) wait on the zombie list, so that destroying
 * the engine frees them even if the application never closes them. */
static void zombie_add(struct axl_tcb *t)
{
    struct axl_tcp_state *ts = &t->s->tcp;
    t->qprev = NULL;
    t->qnext = ts->zombies;
    if (ts->zombies) ts->zombies->qprev = t;
    ts->zombies = t;
    t->flags |= TF_ZOMBIE;
}

static void zombie_remove(struct axl_tcb *t)
{
    struct axl_tcp_state *ts = &t->s->tcp;
    if (!(t->flags & TF_ZOMBIE)) return;
    if (t->qprev)
        t->qprev->qnext = t->qnext;
    else
        ts->zombies = t->qnext;
    if (t->qnext) t->qnext->qprev = t->qprev;
    t->qnext = t->qprev = NULL;
    t->flags &= ~TF_ZOMBIE;
}

static void reap_add(struct axl_tcb *t)
{
    struct axl_tcp_state *ts = &t->s->tcp;
    zombie_remove(t);
    if (t->flags & TF_REAP) return;
    t->flags |= TF_REAP;
    t->qnext = ts->reap;
    ts->reap = t;
}

/* Events flagged by axl_tcp_accept (data or a FIN that arrived before it)
 * are delivered here, once the application has had the chance to install
 * its ops and user pointer (axl_tcp_set_user after the accept). A callback
 * may accept more connections: the loop takes those too. */
static void pend_deliver(struct axl_stack *s)
{
    struct axl_tcp_state *ts = &s->tcp;
    while (ts->pend) {
        struct axl_tcb *t = ts->pend;
        ts->pend = t->pnext;
        t->pnext = NULL;
        t->flags &= ~TF_PEND;
        if ((t->flags & TF_USER) && t->events && !(t->flags & TF_IN_INPUT))
            if (tcp_deliver_events(t) == 0) tcp_output(t);
    }
}

void axl_tcp_poll_end(struct axl_stack *s)
{
    pend_deliver(s);
    while (s->tcp.reap) {
        struct axl_tcb *t = s->tcp.reap;
        s->tcp.reap = t->qnext;
        tcb_free(s, t);
    }
}

static int is_estab_like(unsigned st)
{
    /* RFC 4022 tcpCurrEstab: ESTABLISHED or CLOSE-WAIT */
    return st == AXL_TCP_ESTABLISHED || st == AXL_TCP_CLOSE_WAIT;
}

void tcp_set_state(struct axl_tcb *t, enum axl_tcp_conn_state st)
{
    struct axl_stack *s = t->s;
    unsigned old = t->state;
    if (old == st) return;
    /* A TIME-WAIT TCB is no connection for the director's drain rule (its
     * bucket count, steer/director_core.c): behind a moved bucket, a
     * retransmitted FIN then meets the new owner's RST instead of our ACK
     * (RFC 9293 §3.10.7.4), which ends the peer's LAST-ACK all the same. */
    if (st == AXL_TCP_TIME_WAIT && (t->flags & TF_HASHED)) bucket_put(s, t);
    if (is_estab_like(old) && !is_estab_like(st)) s->stats.v[AXL_STAT_TcpCurrEstab]--;
    if (!is_estab_like(old) && is_estab_like(st)) AXL_STAT_INC(s, TcpCurrEstab);
    if (st == AXL_TCP_CLOSED) {
        /* RFC 1213 tcpAttemptFails / tcpEstabResets */
        if (old == AXL_TCP_SYN_SENT || old == AXL_TCP_SYN_RECEIVED)
            AXL_STAT_INC(s, TcpAttemptFails);
        else if (is_estab_like(old) && t->err)
            AXL_STAT_INC(s, TcpEstabResets);
    }
    t->state = (uint8_t)st;
}

/* Remove from the listener's SYN queue. */
void tcp_synq_remove(struct axl_tcb *t)
{
    struct axl_tcp_listener *l = t->lst;
    if (!(t->flags & TF_SYNQ) || !l) return;
    if (t->qprev)
        t->qprev->qnext = t->qnext;
    else
        l->synq = t->qnext;
    if (t->qnext) t->qnext->qprev = t->qprev;
    t->qnext = t->qprev = NULL;
    t->flags &= ~TF_SYNQ;
    l->nsyn--;
}

static void accq_remove(struct axl_tcb *t)
{
    struct axl_tcp_listener *l = t->lst;
    if (!(t->flags & TF_ACCEPTQ) || !l) return;
    if (t->qprev)
        t->qprev->qnext = t->qnext;
    else
        l->acc_head = t->qnext;
    if (t->qnext)
        t->qnext->qprev = t->qprev;
    else
        l->acc_tail = t->qprev;
    t->qnext = t->qprev = NULL;
    t->flags &= ~TF_ACCEPTQ;
    l->nacc--;
}

void tcp_accept_enqueue(struct axl_tcb *t)
{
    struct axl_tcp_listener *l = t->lst;
    tcp_synq_remove(t);
    t->qnext = NULL;
    t->qprev = l->acc_tail;
    if (l->acc_tail)
        l->acc_tail->qnext = t;
    else
        l->acc_head = t;
    l->acc_tail = t;
    l->nacc++;
    t->flags |= TF_ACCEPTQ;
    t->events |= EV_NEW_CONN;
}

static void rcvq_purge(struct axl_tcb *t)
{
    axl_pkt_free_chain(t->s->pool, t->rq.head);
    t->rq.head = t->rq.tail = NULL;
    t->rq.bytes = 0;
}

void tcp_tcb_done(struct axl_tcb *t, int err)
{
    struct axl_stack *s = t->s;
    if (t->flags & TF_DEAD) return;
    if (err && !t->err) t->err = err;
    tcp_timers_stop(t);
    if (t->flags & TF_HASHED) {
        axl_htab_remove(&s->tcp.conns, &t->hnode);
        t->flags &= ~TF_HASHED;
        if (t->state != AXL_TCP_TIME_WAIT) bucket_put(s, t); /* else counted out already */
    }
    tcp_synq_remove(t);
    accq_remove(t);
    t->lst = NULL;
    tcp_set_state(t, AXL_TCP_CLOSED);
    t->flags |= TF_DEAD;
    s->tcp.nconns--;
    axl_tcp_ooo_purge(&t->ooo, s->pool);
    /* An orderly end keeps received data for a holder to read; an abort
     * flushes every queue (RFC 9293 §3.10.7.4 "all segment queues should be
     * flushed"). Zero-copy chunks are reported released either way. */
    if (err || !(t->flags & TF_USER)) rcvq_purge(t);
    tcp_sndq_purge(t);
    if ((t->flags & TF_USER) && !(t->flags & TF_REPORTED)) {
        t->flags |= TF_REPORTED;
        t->events |= EV_CLEANUP;
        if (!(t->flags & TF_IN_INPUT)) tcp_deliver_events(t);
    }
    if (!(t->flags & TF_USER))
        reap_add(t);
    else
        zombie_add(t);
}

void tcp_report_closed(struct axl_tcb *t)
{
    if ((t->flags & TF_USER) && !(t->flags & TF_REPORTED)) {
        t->flags |= TF_REPORTED;
        t->events |= EV_CLEANUP;
    }
}

int tcp_deliver_events(struct axl_tcb *t)
{
    /* Fixed order; a callback may close/abort the connection, after which
     * only zc_done (from the purge) is delivered. */
    while (t->events) {
        uint32_t ev = t->events;
        const struct axl_tcp_ops *o = t->ops;
        int user = (t->flags & TF_USER) != 0;
        if (ev & EV_NEW_CONN) {
            t->events &= ~EV_NEW_CONN;
            struct axl_tcp_listener *l = t->lst;
            if (l && (t->flags & TF_ACCEPTQ) && l->ops && l->ops->new_conn)
                l->ops->new_conn(l, l->user);
            continue;
        }
        if (ev & EV_CONNECTED) {
            t->events &= ~EV_CONNECTED;
            if (user && o && o->connected) o->connected(t, t->user);
            continue;
        }
        if (ev & EV_DATA) {
            t->events &= ~EV_DATA;
            if (user && o && o->new_data && t->rq.bytes) o->new_data(t, t->user, t->rq.bytes);
            continue;
        }
        if (ev & EV_ACKED) {
            t->events &= ~EV_ACKED;
            uint32_t n = t->acked_ev;
            t->acked_ev = 0;
            if (user && o && o->data_acked && n) o->data_acked(t, t->user, n, axl_tcp_send_room(t));
            continue;
        }
        if (ev & EV_REMOTE_CLOSED) {
            t->events &= ~EV_REMOTE_CLOSED;
            if (user && o && o->remote_closed) o->remote_closed(t, t->user);
            continue;
        }
        if (ev & EV_CLEANUP) {
            t->events &= ~EV_CLEANUP;
            if (user && o && o->cleanup) o->cleanup(t, t->user, t->err);
            continue;
        }
        t->events = 0; /* unknown bits: cannot happen */
    }
    return (t->flags & TF_DEAD) ? -1 : 0;
}

/* --- send queue ---------------------------------------------------------------- */

static int chunk_is_zc(const struct axl_pool *pool, const struct axl_pkt *p)
{
    const uint8_t *b = axl_pool_buf(pool, p->idx);
    return p->data < b || p->data >= b + pool->buf_size;
}

static void zc_report(struct axl_tcb *t, struct axl_pkt *p)
{
    struct tcp_zc z;
    memcpy(&z, axl_pool_buf(t->s->pool, p->idx), sizeof(z));
    axl_pkt_free(t->s->pool, p);
    if (z.obj) tcp_prepkt_unref(z.obj); /* the send queue's reference */
    /* After close the application still learns its memory is free. */
    if (t->ops && t->ops->zc_done) t->ops->zc_done(t, t->user, z.cookie);
}

void tcp_sndq_ack(struct axl_tcb *t, uint32_t n)
{
    struct axl_pool *pool = t->s->pool;
    struct tcp_sndq *q = &t->sq;
    while (n && q->head) {
        struct axl_pkt *p = q->head;
        if (n < p->len) {
            p->data += n;
            p->len -= n;
            q->bytes -= n;
            q->cur_off = q->cur == p ? 0 : q->cur_off - n;
            return;
        }
        n -= p->len;
        q->bytes -= p->len;
        q->head = p->next;
        if (!q->head) q->tail = NULL;
        if (q->cur == p) {
            q->cur = q->head;
            q->cur_off = 0;
        } else {
            q->cur_off -= p->len;
        }
        p->next = NULL;
        if (chunk_is_zc(pool, p)) {
            zc_report(t, p);
            if (t->flags & TF_DEAD) return; /* the callback aborted: queue purged */
        } else {
            axl_pkt_free(pool, p);
        }
    }
}

void tcp_sndq_purge(struct axl_tcb *t)
{
    struct axl_pool *pool = t->s->pool;
    struct tcp_sndq *q = &t->sq;
    while (q->head) {
        struct axl_pkt *p = q->head;
        q->head = p->next;
        p->next = NULL;
        q->bytes -= p->len;
        if (chunk_is_zc(pool, p))
            zc_report(t, p);
        else
            axl_pkt_free(pool, p);
    }
    q->tail = q->cur = NULL;
    q->cur_off = 0;
    q->bytes = 0;
}

void tcp_sndq_copy(struct axl_tcb *t, uint32_t off, uint8_t *dst, uint32_t n)
{
    struct tcp_sndq *q = &t->sq;
    struct axl_pkt *p = q->cur;
    uint32_t base = q->cur_off;
    if (!p || base > off) {
        p = q->head;
        base = 0;
    }
    while (p && base + p->len <= off) { /* hot: usually zero or one step */
        base += p->len;
        p = p->next;
    }
    q->cur = p;
    q->cur_off = base;
    uint32_t in = off - base;
    while (n && p) {
        uint32_t k = AXL_MIN(n, p->len - in);
        memcpy(dst, p->data + in, k);
        dst += k;
        n -= k;
        in = 0;
        p = p->next;
    }
}

static void sndq_link(struct tcp_sndq *q, struct axl_pkt *p)
{
    p->next = NULL;
    if (q->tail)
        q->tail->next = p;
    else
        q->head = p;
    q->tail = p;
}

/* Pool buffers the send queues may not take: reception and the frames in
 * flight need them (an engine whose pool is full of unsent data could not
 * receive the ACKs that free it). The reserve is an eighth of the engine's
 * own share of the pool: pool->nbufs for a private pool, but a replica on
 * the director's shared area ("dir" port) owns only its quota of an area
 * sized for all of them. The share is what axl_tcp_set_pool_share() set,
 * else the free list's high-water mark (nbufs for a pool that starts full;
 * the granted quota on the shared area, minus what the port lends). */
static int pool_low(struct axl_tcp_state *ts, const struct axl_pool *pool)
{
    uint32_t share = ts->pool_share;
    if (!ts->pool_share_set) {
        if (axl_unlikely(pool->nfree > share)) ts->pool_share = share = pool->nfree;
    }
    return pool->nfree <= share / 8 + 1;
}

void axl_tcp_set_pool_share(struct axl_stack *s, uint32_t nbufs)
{
    struct axl_tcp_state *ts = &s->tcp;
    ts->pool_share_set = nbufs != 0;
    ts->pool_share = nbufs ? AXL_MIN(nbufs, s->pool->nbufs) : s->pool->nfree;
}

static int send_check(const struct axl_tcb *t)
{
    if (!t || (t->flags & TF_ORPHAN)) return AXL_EINVAL;
    if (t->flags & TF_DEAD) return t->err ? t->err : -EPIPE;
    if (t->flags & TF_FIN_QUEUED) return -EPIPE;
    switch (t->state) {
    case AXL_TCP_SYN_SENT:
    case AXL_TCP_SYN_RECEIVED:
    case AXL_TCP_ESTABLISHED:
    case AXL_TCP_CLOSE_WAIT:
        return 0;
    default:
        return -EPIPE;
    }
}

static void send_kick(struct axl_tcb *t)
{
    if (!(t->flags & TF_IN_INPUT)) tcp_output(t);
}

int axl_tcp_send(struct axl_tcb *t, const void *data, uint32_t len)
{
    int rc = send_check(t);
    if (rc < 0) return rc;
    if (!data && len) return AXL_EINVAL;
    struct axl_pool *pool = t->s->pool;
    struct tcp_sndq *q = &t->sq;
    uint32_t room = t->sndbuf > q->bytes ? t->sndbuf - q->bytes : 0;
    uint32_t todo = AXL_MIN(len, room), done = 0;
    const uint8_t *src = data;
    if (len && !todo) return AXL_EAGAIN;
    /* Fill the tail copy chunk first. */
    if (q->tail && !chunk_is_zc(pool, q->tail)) {
        struct axl_pkt *p = q->tail;
        uint32_t free_ = axl_pkt_room(pool, p) - p->len;
        uint32_t k = AXL_MIN(free_, todo);
        memcpy(p->data + p->len, src, k);
        p->len += k;
        q->bytes += k;
        done += k;
    }
    while (done < todo) {
        if (pool_low(&t->s->tcp, pool)) break;
        struct axl_pkt *p = axl_pkt_alloc(pool);
        if (!p) break;
        p->data = axl_pool_buf(pool, p->idx); /* no headroom: never sent as is */
        uint32_t k = AXL_MIN(pool->buf_size, todo - done);
        memcpy(p->data, src + done, k);
        p->len = k;
        sndq_link(q, p);
        q->bytes += k;
        done += k;
    }
    if (done) send_kick(t);
    return done ? (int)done : (len ? AXL_ENOBUFS : 0);
}

struct axl_pkt *tcp_sndq_chunk(struct axl_tcb *t, uint32_t off, uint32_t *base)
{
    struct tcp_sndq *q = &t->sq;
    struct axl_pkt *p = q->cur;
    uint32_t b = q->cur_off;
    if (!p || b > off) {
        p = q->head;
        b = 0;
    }
    while (p && b + p->len <= off) { /* hot: usually zero or one step */
        b += p->len;
        p = p->next;
    }
    if (p) { /* the cursor moves as in tcp_sndq_copy */
        q->cur = p;
        q->cur_off = b;
    }
    *base = b;
    return p;
}

struct axl_tcp_obj *tcp_sndq_chunk_obj(const struct axl_tcb *t, const struct axl_pkt *p)
{
    if (!chunk_is_zc(t->s->pool, p)) return NULL;
    struct tcp_zc z;
    memcpy(&z, axl_pool_buf(t->s->pool, p->idx), sizeof(z));
    return z.obj;
}

int axl_tcp_send_zc(struct axl_tcb *t, const void *data, uint32_t len, void *cookie)
{
    return tcp_send_ref(t, data, len, cookie, NULL);
}

int tcp_send_ref(struct axl_tcb *t, const void *data, uint32_t len, void *cookie,
                 struct axl_tcp_obj *obj)
{
    int rc = send_check(t);
    if (rc < 0) return rc;
    if (!data || !len) return AXL_EINVAL;
    struct axl_pool *pool = t->s->pool;
    struct tcp_sndq *q = &t->sq;
    if (t->sndbuf < q->bytes || t->sndbuf - q->bytes < len) return AXL_EAGAIN;
    if (pool_low(&t->s->tcp, pool)) return AXL_ENOBUFS;
    struct axl_pkt *p = axl_pkt_alloc(pool);
    if (!p) return AXL_ENOBUFS;
    struct tcp_zc z = {cookie, obj};
    memcpy(axl_pool_buf(pool, p->idx), &z, sizeof(z));
    p->data = (uint8_t *)(uintptr_t)data; /* read only: the engine never writes it */
    p->len = len;
    if (!chunk_is_zc(pool, p)) { /* caller memory inside this very buffer: impossible */
        axl_pkt_free(pool, p);
        return AXL_EINVAL;
    }
    sndq_link(q, p);
    q->bytes += len;
    send_kick(t);
    return (int)len;
}

uint32_t axl_tcp_send_room(const struct axl_tcb *t)
{
    return t->sndbuf > t->sq.bytes ? t->sndbuf - t->sq.bytes : 0;
}

/* --- receive queue ------------------------------------------------------------- */

void tcp_rcvq_append(struct axl_tcb *t, struct axl_pkt *chain, uint32_t len)
{
    struct axl_pool *pool = t->s->pool;
    struct tcp_rcvq *q = &t->rq;
    q->bytes += len;
    while (chain) {
        struct axl_pkt *p = chain;
        chain = p->next;
        p->next = NULL;
        if (!p->len) {
            axl_pkt_free(pool, p);
            continue;
        }
        struct axl_pkt *tl = q->tail;
        if (tl && p->len <= AXL_TCP_COALESCE_MAX && axl_pkt_room(pool, tl) - tl->len >= p->len) {
            memcpy(tl->data + tl->len, p->data, p->len);
            tl->len += p->len;
            axl_pkt_free(pool, p);
            continue;
        }
        if (tl)
            tl->next = p;
        else
            q->head = p;
        q->tail = p;
    }
}

uint32_t tcp_rcv_space(const struct axl_tcb *t)
{
    uint64_t used = (uint64_t)t->rq.bytes + t->ooo.bytes;
    return used >= t->rcvbuf ? 0 : (uint32_t)(t->rcvbuf - used);
}

static int recv_err(const struct axl_tcb *t)
{
    if (t->err) return t->err;
    if (t->flags & TF_FIN_RCVD) return 0;
    if (t->state == AXL_TCP_CLOSED) return 0;
    return AXL_EAGAIN;
}

int axl_tcp_recv(struct axl_tcb *t, struct axl_tcp_iov *iov, unsigned n)
{
    if (!t || (t->flags & TF_ORPHAN) || (!iov && n)) return AXL_EINVAL;
    if (!t->rq.bytes) return recv_err(t);
    unsigned i = 0;
    for (struct axl_pkt *p = t->rq.head; p && i < n; p = p->next, i++) {
        iov[i].base = p->data;
        iov[i].len = p->len;
    }
    return (int)i;
}

int axl_tcp_recv_done(struct axl_tcb *t, uint32_t n)
{
    if (!t || (t->flags & TF_ORPHAN)) return AXL_EINVAL;
    struct tcp_rcvq *q = &t->rq;
    if (n > q->bytes) return AXL_EINVAL;
    q->bytes -= n;
    while (n) {
        struct axl_pkt *p = q->head;
        if (n < p->len) {
            p->data += n;
            p->len -= n;
            break;
        }
        n -= p->len;
        q->head = p->next;
        if (!q->head) q->tail = NULL;
        p->next = NULL;
        axl_pkt_free(t->s->pool, p);
    }
    if (!(t->flags & TF_DEAD)) tcp_rcv_window_update(t);
    return 0;
}

int axl_tcp_read(struct axl_tcb *t, void *buf, uint32_t len)
{
    if (!t || (t->flags & TF_ORPHAN) || (!buf && len)) return AXL_EINVAL;
    if (!t->rq.bytes) return recv_err(t);
    uint32_t n = axl_chain_copy(t->rq.head, 0, buf, AXL_MIN(len, t->rq.bytes));
    axl_tcp_recv_done(t, n);
    return (int)n;
}

uint32_t axl_tcp_readable(const struct axl_tcb *t)
{
    return t ? t->rq.bytes : 0;
}

/* --- teardown ----------------------------------------------------------------- */

/* RFC 9293 §3.10.4 CLOSE / shutdown of the sending direction. */
static int queue_fin(struct axl_tcb *t)
{
    switch (t->state) {
    case AXL_TCP_ESTABLISHED:
        tcp_set_state(t, AXL_TCP_FIN_WAIT_1);
        break;
    case AXL_TCP_CLOSE_WAIT:
        tcp_set_state(t, AXL_TCP_LAST_ACK);
        break;
    default:
        return -ENOTCONN;
    }
    t->flags |= TF_FIN_QUEUED;
    send_kick(t);
    return 0;
}

int axl_tcp_shutdown(struct axl_tcb *t)
{
    if (!t || (t->flags & TF_ORPHAN)) return AXL_EINVAL;
    if (t->flags & TF_DEAD) return -ENOTCONN;
    if (t->flags & TF_FIN_QUEUED) return 0;
    if (t->state == AXL_TCP_SYN_SENT || t->state == AXL_TCP_SYN_RECEIVED) {
        /* RFC 9293 §3.10.4: queued until ESTABLISHED, which then becomes
         * FIN-WAIT-1 (tcp_input.c established()). */
        t->flags |= TF_FIN_QUEUED;
        return 0;
    }
    return queue_fin(t);
}

void axl_tcp_abort(struct axl_tcb *t)
{
    if (!t || (t->flags & TF_ORPHAN)) return;
    /* RFC 9293 §3.10.5 ABORT: RST in synchronized states (not in SYN-SENT,
     * where there is nobody to tell). */
    if (!(t->flags & TF_DEAD) && t->state != AXL_TCP_SYN_SENT && t->state != AXL_TCP_TIME_WAIT)
        tcp_send_rst(t);
    t->flags &= ~TF_USER;
    t->flags |= TF_ORPHAN;
    tcp_tcb_done(t, -ECONNABORTED);
    reap_add(t);
}

void axl_tcp_close(struct axl_tcb *t)
{
    if (!t || (t->flags & TF_ORPHAN)) return;
    struct axl_stack *s = t->s;
    if (t->flags & TF_DEAD) { /* already over: just give the memory back */
        t->flags &= ~TF_USER;
        t->flags |= TF_ORPHAN;
        rcvq_purge(t);
        reap_add(t);
        return;
    }
    if (t->rq.bytes && t->state != AXL_TCP_TIME_WAIT) {
        /* RFC 1122 §4.2.2.13 / RFC 9293 §3.6: closing with unread data
         * resets the connection so the peer learns the data was lost. */
        AXL_STAT_INC(s, TcpAbortOnClose);
        axl_tcp_abort(t);
        return;
    }
    t->flags &= ~TF_USER;
    t->flags |= TF_ORPHAN;
    switch (t->state) {
    case AXL_TCP_SYN_SENT:
        tcp_tcb_done(t, 0); /* RFC 9293 §3.10.4: delete the TCB */
        return;
    case AXL_TCP_SYN_RECEIVED: /* (a simultaneous open: FIN once established) */
        t->flags |= TF_FIN_QUEUED;
        break;
    case AXL_TCP_ESTABLISHED:
    case AXL_TCP_CLOSE_WAIT:
        if (!(t->flags & TF_FIN_QUEUED)) queue_fin(t);
        break;
    case AXL_TCP_FIN_WAIT_2:
        tcp_finwait2_arm(t); /* nobody will read: bound the wait for the FIN */
        break;
    case AXL_TCP_TIME_WAIT:
        rcvq_purge(t);
        break;
    default:
        break;
    }
}

/* --- passive open -------------------------------------------------------------- */

int axl_tcp_listen(struct axl_stack *s, uint16_t port, uint32_t backlog,
                   const struct axl_tcp_ops *ops, void *user, struct axl_tcp_listener **out)
{
    if (!s || !port || !out || backlog > AXL_TCP_BACKLOG_MAX) return AXL_EINVAL;
    if (s->tcp.listeners[port]) return AXL_EADDRINUSE;
    struct axl_tcp_listener *l = calloc(1, sizeof(*l));
    if (!l) return AXL_ENOMEM;
    l->s = s;
    l->port = port;
    l->backlog = backlog ? backlog : AXL_TCP_BACKLOG_DEFAULT;
    l->ops = ops;
    l->user = user;
    l->sndbuf = s->tcp.sndbuf;
    l->rcvbuf = s->tcp.rcvbuf;
    l->keepidle_s = AXL_TCP_KEEPIDLE_S;
    l->keepintvl_s = AXL_TCP_KEEPINTVL_S;
    l->keepcnt = AXL_TCP_KEEPCNT;
    l->cc_algo = AXL_TCP_CC_DEFAULT;
    s->tcp.listeners[port] = l;
    *out = l;
    return 0;
}

int axl_tcp_accept(struct axl_tcp_listener *l, struct axl_tcb **out)
{
    if (!l || !out) return AXL_EINVAL;
    struct axl_tcb *t = l->acc_head;
    if (!t) return AXL_EAGAIN;
    accq_remove(t);
    t->lst = NULL;
    t->flags |= TF_USER;
    t->user = NULL;
    t->ops = l->ops;
    *out = t;
    /* Data or a FIN that arrived before accept: tell the new holder. Inside
     * a callback of this connection the running delivery loop takes them;
     * in every other case (outside any callback, or inside another
     * connection's or the listener's callback) the end of the current or
     * next axl_stack_poll() does, after the caller's axl_tcp_set_user(). */
    if (t->rq.bytes) t->events |= EV_DATA;
    if (t->flags & TF_FIN_RCVD) t->events |= EV_REMOTE_CLOSED;
    if (t->events && !(t->flags & TF_PEND)) {
        t->flags |= TF_PEND;
        t->pnext = t->s->tcp.pend;
        t->s->tcp.pend = t;
    }
    return 0;
}

void axl_tcp_listener_close(struct axl_tcp_listener *l)
{
    if (!l) return;
    struct axl_stack *s = l->s;
    /* Connections nobody accepted are reset (as Linux does on close of a
     * listening socket). */
    while (l->synq) {
        struct axl_tcb *t = l->synq;
        tcp_send_rst(t);
        tcp_tcb_done(t, -ECONNABORTED);
    }
    while (l->acc_head) {
        struct axl_tcb *t = l->acc_head;
        tcp_send_rst(t);
        tcp_tcb_done(t, -ECONNABORTED);
    }
    s->tcp.listeners[l->port] = NULL;
    free(l);
}

uint16_t axl_tcp_listener_port(const struct axl_tcp_listener *l)
{
    return l ? l->port : 0;
}

/* --- active open --------------------------------------------------------------- */

/* RFC 6056 §3.3.3 (Algorithm 3, simple hash-based): a per-destination
 * offset from a keyed hash plus a global counter, then the next port whose
 * 4-tuple is free (and, on a hash-steered device, whose flow lands on this
 * engine's queue: steer/steer.h; about n times as many candidates tried). */
static int pick_port(struct axl_stack *s, uint32_t daddr, uint16_t dport, uint16_t *out)
{
    struct axl_tcp_state *ts = &s->tcp;
    uint8_t key[12];
    axl_store_be32(key, s->addr);
    axl_store_be32(key + 4, daddr);
    axl_store_be16(key + 8, dport);
    key[10] = key[11] = 0;
    uint32_t off = (uint32_t)axl_siphash24(ts->secret.isn_key, key, sizeof(key));
    uint32_t range = AXL_TCP_EPHEMERAL_HI - AXL_TCP_EPHEMERAL_LO + 1;
    /* Behind the director: no bucket of the live table is ours (a parked
     * replica, `axlctl scale`): no port can be (POSIX connect: EADDRNOTAVAIL). */
    if (ts->steer_reta && !axl_steer_reta_any(ts->steer_reta, ts->steer_queue))
        return AXL_EADDRNOTAVAIL;
    for (uint32_t i = 0; i < range; i++) {
        uint16_t p = (uint16_t)(AXL_TCP_EPHEMERAL_LO + (off + ts->port_counter + i) % range);
        if (ts->listeners[p] || tcp_lookup(s, daddr, dport, p)) continue;
        /* steering: a port whose replies would reach another queue is skipped */
        if (ts->steer_reta
                ? !axl_steer_reta_port_ok(ts->steer_reta, s->addr, daddr, p, dport, ts->steer_queue)
                : !axl_steer_port_ok(s->addr, daddr, p, dport, ts->steer_queue, ts->steer_nqueues))
            continue;
        ts->port_counter += i + 1;
        *out = p;
        return 0;
    }
    return AXL_EADDRINUSE;
}

uint32_t tcp_ts_ms(const struct axl_stack *s)
{
    return (uint32_t)(s->now_ns / AXL_NS_PER_MS);
}

uint32_t tcp_ts_offset(const struct axl_stack *s, uint32_t raddr, uint16_t rport, uint16_t lport)
{
    /* RFC 7323 §5.4 / RFC 9293 §3.4.1: a per-connection random offset of the
     * TS clock, derived from the tuple so a SYN-cookie connection finds the
     * same one its SYN-ACK used. */
    uint8_t key[12];
    axl_store_be32(key, s->addr);
    axl_store_be32(key + 4, raddr);
    axl_store_be16(key + 8, rport);
    axl_store_be16(key + 10, lport);
    return (uint32_t)(axl_siphash24(s->tcp.secret.cookie_key, key, sizeof(key)) >> 32);
}

int axl_tcp_connect(struct axl_stack *s, uint32_t daddr, uint16_t dport, uint16_t lport,
                    const struct axl_tcp_ops *ops, void *user, struct axl_tcb **out)
{
    uint32_t nh;
    if (!s || !out || !dport || !daddr) return AXL_EINVAL;
    int rc = axl_ipv4_route(s, daddr, &nh);
    if (rc < 0) return rc;
    if (axl_stack_is_bcast(s, daddr) || (daddr >> 28) == 0xe) return AXL_EINVAL;
    if (lport) {
        if (tcp_lookup(s, daddr, dport, lport)) return AXL_EADDRINUSE;
    } else {
        rc = pick_port(s, daddr, dport, &lport);
        if (rc < 0) return rc;
    }
    struct axl_tcb *t = tcp_tcb_new(s, NULL);
    if (!t) return AXL_ENOMEM;
    t->raddr = daddr;
    t->rport = dport;
    t->lport = lport;
    t->ops = ops;
    t->user = user;
    t->flags |= TF_USER;
    struct axl_tcp_tuple tu = tcp_tuple(t);
    t->iss = axl_tcp_isn(&s->tcp.secret, &tu, s->now_ns);
    t->snd_una = t->iss;
    t->snd_nxt = t->iss + 1;
    t->snd_max = t->snd_nxt;
    t->ts_off = tcp_ts_offset(s, daddr, dport, lport);
    tcp_set_state(t, AXL_TCP_SYN_SENT);
    tcp_tcb_insert(s, t);
    AXL_STAT_INC(s, TcpActiveOpens);
    *out = t;
    tcp_send_syn(t);
    tcp_rtx_arm(t);
    return 0;
}

/* --- options ------------------------------------------------------------------- */

static int set_common(uint32_t *flags, uint32_t *sndbuf, uint32_t *rcvbuf, uint32_t *uto,
                      uint32_t *kidle, uint32_t *kintvl, uint8_t *kcnt, uint8_t *cc,
                      enum axl_tcp_opt opt, uint32_t v)
{
    switch (opt) {
    case AXL_TCP_OPT_NODELAY:
        *flags = v ? (*flags | TF_NODELAY) : (*flags & ~TF_NODELAY);
        return 0;
    case AXL_TCP_OPT_KEEPALIVE:
        *flags = v ? (*flags | TF_KEEPALIVE) : (*flags & ~TF_KEEPALIVE);
        return 0;
    case AXL_TCP_OPT_KEEPIDLE:
        if (v < 1 || v > 32767 * 60) return AXL_EINVAL;
        *kidle = v;
        return 0;
    case AXL_TCP_OPT_KEEPINTVL:
        if (v < 1 || v > 32767) return AXL_EINVAL;
        *kintvl = v;
        return 0;
    case AXL_TCP_OPT_KEEPCNT:
        if (v < 1 || v > 127) return AXL_EINVAL;
        *kcnt = (uint8_t)v;
        return 0;
    case AXL_TCP_OPT_CC:
        if (!axl_tcp_cc_ops((enum axl_tcp_cc_algo)v)) return AXL_EINVAL;
        *cc = (uint8_t)v;
        return 0;
    case AXL_TCP_OPT_SNDBUF:
        if (v < AXL_TCP_BUF_MIN || v > AXL_TCP_BUF_MAX) return AXL_EINVAL;
        *sndbuf = v;
        return 0;
    case AXL_TCP_OPT_RCVBUF:
        if (v < AXL_TCP_BUF_MIN || v > AXL_TCP_BUF_MAX) return AXL_EINVAL;
        *rcvbuf = v;
        return 0;
    case AXL_TCP_OPT_USER_TIMEOUT:
        *uto = v;
        return 0;
    }
    return AXL_EINVAL;
}

int axl_tcp_listener_setopt(struct axl_tcp_listener *l, enum axl_tcp_opt opt, uint32_t val)
{
    if (!l) return AXL_EINVAL;
    return set_common(&l->flags, &l->sndbuf, &l->rcvbuf, &l->user_timeout_ms, &l->keepidle_s,
                      &l->keepintvl_s, &l->keepcnt, &l->cc_algo, opt, val);
}

int axl_tcp_setopt(struct axl_tcb *t, enum axl_tcp_opt opt, uint32_t val)
{
    if (!t || (t->flags & TF_ORPHAN)) return AXL_EINVAL;
    uint8_t old_cc = t->cc_algo;
    uint32_t old_flags = t->flags, old_rcvbuf = t->rcvbuf;
    int rc = set_common(&t->flags, &t->sndbuf, &t->rcvbuf, &t->user_timeout_ms, &t->keepidle_s,
                        &t->keepintvl_s, &t->keepcnt, &t->cc_algo, opt, val);
    if (rc < 0 || (t->flags & TF_DEAD)) return rc;
    int synced = t->state >= AXL_TCP_ESTABLISHED;
    if (opt == AXL_TCP_OPT_RCVBUF && t->state != AXL_TCP_CLOSED) {
        /* The window scale is fixed by the SYN (RFC 7323 §2.2): the buffer
         * may not exceed what the shift can advertise. */
        uint32_t cap = 65535u << t->rcv_wscale;
        if (t->rcvbuf > cap) t->rcvbuf = cap;
        if (t->rcvbuf < old_rcvbuf) t->rcvbuf = AXL_MAX(t->rcvbuf, old_rcvbuf); /* never shrink */
        t->ooo.max_bytes = t->rcvbuf;
        tcp_rcv_window_update(t);
    }
    if (opt == AXL_TCP_OPT_CC && synced && old_cc != t->cc_algo) {
        /* Restart the algorithm's state, keep the window (RFC 5681 applies
         * to the new algorithm from here). */
        uint32_t cwnd = t->cc.cwnd, ssth = t->cc.ssthresh;
        axl_tcp_cc_init(&t->cc, (enum axl_tcp_cc_algo)t->cc_algo, t->cc.mss, t->s->now_ns);
        t->cc.cwnd = cwnd;
        t->cc.ssthresh = ssth;
    }
    if (opt == AXL_TCP_OPT_KEEPALIVE && (t->flags & TF_KEEPALIVE) && !(old_flags & TF_KEEPALIVE) &&
        synced)
        tcp_keepalive_arm(t);
    if (opt == AXL_TCP_OPT_NODELAY && !(t->flags & TF_DEAD)) send_kick(t);
    return 0;
}

int axl_tcp_getopt(const struct axl_tcb *t, enum axl_tcp_opt opt, uint32_t *val)
{
    if (!t || !val) return AXL_EINVAL;
    switch (opt) {
    case AXL_TCP_OPT_NODELAY:
        *val = (t->flags & TF_NODELAY) != 0;
        return 0;
    case AXL_TCP_OPT_KEEPALIVE:
        *val = (t->flags & TF_KEEPALIVE) != 0;
        return 0;
    case AXL_TCP_OPT_KEEPIDLE:
        *val = t->keepidle_s;
        return 0;
    case AXL_TCP_OPT_KEEPINTVL:
        *val = t->keepintvl_s;
        return 0;
    case AXL_TCP_OPT_KEEPCNT:
        *val = t->keepcnt;
        return 0;
    case AXL_TCP_OPT_CC:
        *val = t->cc_algo;
        return 0;
    case AXL_TCP_OPT_SNDBUF:
        *val = t->sndbuf;
        return 0;
    case AXL_TCP_OPT_RCVBUF:
        *val = t->rcvbuf;
        return 0;
    case AXL_TCP_OPT_USER_TIMEOUT:
        *val = t->user_timeout_ms;
        return 0;
    }
    return AXL_EINVAL;
}

void axl_tcp_set_user(struct axl_tcb *t, const struct axl_tcp_ops *ops, void *user)
{
    if (!t) return;
    t->ops = ops;
    t->user = user;
}

void *axl_tcp_user(const struct axl_tcb *t)
{
    return t ? t->user : NULL;
}

struct axl_stack *axl_tcp_stack(const struct axl_tcb *t)
{
    return t ? t->s : NULL;
}

void axl_tcp_get_info(const struct axl_tcb *t, struct axl_tcp_info *in)
{
    memset(in, 0, sizeof(*in));
    if (!t) return;
    in->state = t->state;
    in->laddr = t->laddr;
    in->raddr = t->raddr;
    in->lport = t->lport;
    in->rport = t->rport;
    in->snd_una = t->snd_una;
    in->snd_nxt = t->snd_nxt;
    in->snd_wnd = t->snd_wnd;
    in->rcv_nxt = t->rcv_nxt;
    in->rcv_wnd = axl_seq_gt(t->rcv_adv, t->rcv_nxt) ? t->rcv_adv - t->rcv_nxt : 0;
    in->snd_mss = t->snd_mss;
    in->rcv_mss = t->rcv_mss;
    in->snd_wscale = (t->flags & TF_WS_OK) ? t->snd_wscale : 0xff;
    in->rcv_wscale = (t->flags & TF_WS_OK) ? t->rcv_wscale : 0xff;
    in->ts_ok = (t->flags & TF_TS_OK) != 0;
    in->sack_ok = (t->flags & TF_SACK_OK) != 0;
    in->cwnd = t->cc.cwnd;
    in->ssthresh = t->cc.ssthresh;
    in->srtt_ns = axl_tcp_rtt_srtt_ns(&t->rtt);
    in->rto_ns = axl_tcp_rtt_rto_ns(&t->rtt);
    uint32_t inflight = t->snd_nxt - t->snd_una;
    in->unacked = AXL_MIN(inflight, t->sq.bytes);
    in->unsent = t->sq.bytes - in->unacked;
    in->readable = t->rq.bytes;
    in->retrans = t->retrans;
}

const char *axl_tcp_state_name(unsigned st)
{
    static const char *const names[AXL_TCP__NSTATES] = {
        "CLOSED",     "LISTEN",     "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1",
        "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING",  "LAST-ACK",     "TIME-WAIT",
    };
    return st < AXL_TCP__NSTATES ? names[st] : "?";
}

uint32_t axl_tcp_conn_count(const struct axl_stack *s)
{
    return s ? s->tcp.nconns : 0;
}

/* --- engine life cycle ----------------------------------------------------------- */

uint16_t tcp_adv_mss(const struct axl_stack *s)
{
    /* RFC 9293 §3.7.1 / RFC 879: MTU - 20 (IPv4) - 20 (TCP); we send no IP
     * options. */
    uint32_t m = s->mtu - 40;
    return (uint16_t)AXL_MIN(m, 65535u);
}

int axl_tcp_init(struct axl_stack *s, const struct axl_stack_cfg *cfg)
{
    struct axl_tcp_state *ts = &s->tcp;
    memset(ts, 0, sizeof(*ts));
    if (axl_htab_init(&ts->conns, AXL_TCP_HTAB_BUCKETS) < 0) return AXL_ENOMEM;
    ts->listeners = calloc(NPORTS, sizeof(*ts->listeners));
    if (!ts->listeners) return AXL_ENOMEM;
    ts->msl_ns =
        (uint64_t)(cfg->tcp_msl_ms ? cfg->tcp_msl_ms : AXL_TCP_MSL_MS_DEFAULT) * AXL_NS_PER_MS;
    ts->sndbuf = cfg->tcp_sndbuf ? cfg->tcp_sndbuf : AXL_TCP_SNDBUF_DEFAULT;
    ts->rcvbuf = cfg->tcp_rcvbuf ? cfg->tcp_rcvbuf : AXL_TCP_RCVBUF_DEFAULT;
    ts->sndbuf = AXL_MIN(AXL_MAX(ts->sndbuf, AXL_TCP_BUF_MIN), AXL_TCP_BUF_MAX);
    ts->rcvbuf = AXL_MIN(AXL_MAX(ts->rcvbuf, AXL_TCP_BUF_MIN), AXL_TCP_BUF_MAX);
    ts->max_conns = cfg->tcp_max_conns ? cfg->tcp_max_conns : AXL_TCP_MAX_CONNS_DEFAULT;
    ts->no_sack = cfg->tcp_no_sack;
    ts->pool_share = s->pool->nfree; /* grows with the free list (pool_low) */
    ts->steer_nqueues = cfg->steer_nqueues;
    ts->steer_queue = cfg->steer_nqueues > 1 ? cfg->steer_queue % cfg->steer_nqueues : 0;
    ts->steer_reta = cfg->steer_reta;
    if (cfg->steer_reta) ts->steer_queue = cfg->steer_queue; /* any index: the table says */
    ts->bucket_conns = cfg->tcp_bucket_conns;
    ts->hash_key = axl_rand_u64(&s->rng);
    ts->port_counter = (uint32_t)axl_rand_u64(&s->rng);
    if (cfg->tcp_secret) {
        ts->secret = *cfg->tcp_secret;
    } else if (cfg->seed) {
        /* A seeded engine is reproducible (tests): secrets from its PRNG. */
        for (unsigned i = 0; i < 16; i += 8) {
            uint64_t a = axl_rand_u64(&s->rng), b = axl_rand_u64(&s->rng);
            memcpy(ts->secret.isn_key + i, &a, 8);
            memcpy(ts->secret.cookie_key + i, &b, 8);
        }
    } else if (axl_tcp_secret_init(&ts->secret) < 0) {
        return AXL_ENOMEM;
    }
    return 0;
}

void axl_tcp_fini(struct axl_stack *s)
{
    struct axl_tcp_state *ts = &s->tcp;
    if (!ts->listeners) { /* init failed half-way (or never ran) */
        axl_htab_fini(&ts->conns);
        return;
    }
    for (uint32_t p = 0; p < NPORTS; p++)
        if (ts->listeners[p]) axl_tcp_listener_close(ts->listeners[p]);
    /* Every connection still in the table: gone with the engine. */
    for (uint32_t b = 0; ts->conns.buckets && b <= ts->conns.mask; b++) {
        while (ts->conns.buckets[b]) {
            struct axl_tcb *t = axl_container_of(ts->conns.buckets[b], struct axl_tcb, hnode);
            t->flags &= ~TF_USER; /* the engine is going away: nobody holds it */
            tcp_tcb_done(t, -ECONNABORTED);
        }
    }
    while (ts->zombies) {
        struct axl_tcb *t = ts->zombies;
        t->flags &= ~TF_USER;
        reap_add(t);
    }
    ts->pend = NULL; /* nobody to deliver to any more */
    axl_tcp_poll_end(s);
    while (ts->cache) {
        struct axl_tcb *t = ts->cache;
        ts->cache = t->qnext;
        free(t);
    }
    axl_htab_fini(&ts->conns);
    free(ts->listeners);
    ts->listeners = NULL;
}
