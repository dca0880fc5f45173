/* SPDX-License-Identifier: MIT */
/*
 * axl/rtc.c - the run-to-completion backend of the native API: the engine is
 * linked into the application and runs inside axl_poll() on a port of its
 * own (one queue). DLibOS's RTC mode: the same API as isolated mode, no
 * protection, no channel in between.
 *
 * Mapping:
 *   TCP      net/tcp.h; the socket slot is the engine's user pointer, and the
 *            engine callbacks become events: new_conn -> NEW_CONN (coalesced),
 *            connected -> CONNECTED, new_data -> NEW_DATA (coalesced, arg =
 *            readable now), data_acked -> DATA_ACKED cookie 0 (coalesced, arg
 *            = bytes), zc_done -> DATA_ACKED(cookie) of axl_send_mem /
 *            axl_send_obj, remote_closed -> REMOTE_CLOSED(0), cleanup ->
 *            REMOTE_CLOSED(err) if the peer had not closed, then CLEANUP(err);
 *            a failed active open gives CONNECTED(err) then CLEANUP(err).
 *            After axl_close the engine owns the connection (it finishes it,
 *            TIME-WAIT included) and the user pointer is cleared, so no event
 *            reaches a reused slot.
 *   UDP      the queue mode of the UDP API in net/stack.h (datagrams stay in
 *            pool buffers, ICMP errors are reported once by recvfrom); after
 *            each engine step the library looks at its UDP sockets' queue
 *            lengths (O(UDP sockets), a handful in practice) for NEW_DATA.
 *   memory   axl_mem: anonymous mmap, sent in place (axl_tcp_send_zc).
 *   objects  net/tcp_prepkt.h.
 *   options  NODELAY, KEEPALIVE, KEEPIDLE/INTVL/CNT go to the engine;
 *            REUSEADDR/REUSEPORT are accepted and change nothing (the engine
 *            never refuses a port for TIME-WAIT connections, and one engine
 *            has one listener per port); LINGER 0 makes close an abort.
 *
 * Idle: axl_poll (ctx.c) spins, then calls rtc_sleep: prepare_sleep on the
 * port and ppoll(2) on its fd until RX work, the next engine timer, the
 * caller's timeout or AXL_RTC_SLEEP_MAX_NS, whichever comes first
 * (the same policy as axl_stack_run in net/stack.c).
 *
 * Call chain: application -> ctx.c -> rtc_* -> net/tcp.h, net/stack.h,
 * net/tcp_prepkt.h; axl_poll -> rtc_work -> axl_stack_poll -> callbacks ->
 * axl_ev_push / axl_sk_pend.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "axl/axl_priv.h"
#include "core/clock.h"
#include "core/compiler.h"
#include "core/err.h"
#include "core/log.h"
#include "core/opts.h"
#include "core/pool.h"
#include "net/stack.h"
#include "net/stack_priv.h"
#include "net/tcp.h"
#include "net/tcp_isn.h"
#include "net/tcp_prepkt.h"
#include "port/port.h"

/** AXL_RTC_POOL_BUFS: packet buffers of the in-process engine (2 KiB each). */
#define AXL_RTC_POOL_BUFS 16384u
/** AXL_RTC_SLEEP_MAX_NS: longest single sleep (as the engine loop's). */
#define AXL_RTC_SLEEP_MAX_NS (100 * AXL_NS_PER_MS)
/** AXL_RTC_DRAIN_NS: on axl_close_ctx, the engine runs this long at most so
 *  that closing connections send their FIN / RST before it goes away. */
#define AXL_RTC_DRAIN_NS (100 * AXL_NS_PER_MS)

/* One zero-copy send in flight (the engine's zc cookie). */
struct zrec {
    struct axl_ctx *c;
    uint64_t cookie;
    uint32_t len;
    struct zrec *next;
};

struct rtc {
    struct axl_port_cfg pcfg;
    struct axl_pool pool;
    struct axl_port port;
    struct axl_stack *st;
    int dev_up, pool_up, port_up;
    struct axl_sk *udp; /* UDP sockets bound in the engine (lnext list) */
    struct zrec *zfree;
};

static struct rtc *R(struct axl_ctx *c)
{
    return c->bk;
}

/* ---- engine callbacks ------------------------------------------------------------- */

static void fill_addrs(struct axl_sk *s)
{
    struct axl_tcp_info ti;
    axl_tcp_get_info(s->tcb, &ti);
    s->laddr = ti.laddr;
    s->lport = ti.lport;
    s->raddr = ti.raddr;
    s->rport = ti.rport;
}

static void cb_new_conn(struct axl_tcp_listener *l, void *u)
{
    (void)l;
    struct axl_sk *s = u;
    if (s) axl_sk_pend(s->ctx, s, AXL_PEND_CONN);
}

static void cb_connected(struct axl_tcb *t, void *u)
{
    (void)t;
    struct axl_sk *s = u;
    if (!s) return;
    s->state = AXL_SS_ESTABLISHED;
    fill_addrs(s);
    axl_ev_push(s->ctx, s, AXL_EV_CONNECTED, 0, 0, 0);
}

static void cb_new_data(struct axl_tcb *t, void *u, uint32_t avail)
{
    struct axl_sk *s = u;
    if (!s) return;
    if (s->rd_shut) { /* SHUT_RD: what arrives is thrown away */
        if (avail) axl_tcp_recv_done(t, avail);
        return;
    }
    axl_sk_pend(s->ctx, s, AXL_PEND_DATA);
}

static void cb_data_acked(struct axl_tcb *t, void *u, uint32_t acked, uint32_t room)
{
    (void)t;
    (void)room;
    struct axl_sk *s = u;
    if (!s || !acked) return;
    s->pend_acked += acked;
    axl_sk_pend(s->ctx, s, AXL_PEND_ACKED);
}

static void cb_zc_done(struct axl_tcb *t, void *u, void *cookie)
{
    (void)t;
    struct axl_sk *s = u;
    struct zrec *z = cookie;
    if (!z) return;
    struct axl_ctx *c = z->c;
    if (s && z->cookie) /* after a failure the memory is free as well: say why */
        axl_ev_push(c, s, AXL_EV_DATA_ACKED, s->cleaned ? s->error : 0, z->cookie, z->len);
    z->next = R(c)->zfree;
    R(c)->zfree = z;
}

static void cb_remote_closed(struct axl_tcb *t, void *u)
{
    (void)t;
    struct axl_sk *s = u;
    if (!s || s->remote_closed) return;
    s->remote_closed = 1;
    axl_ev_push(s->ctx, s, AXL_EV_REMOTE_CLOSED, 0, 0, 0);
}

static void cb_cleanup(struct axl_tcb *t, void *u, int err)
{
    (void)t;
    struct axl_sk *s = u;
    if (!s || s->cleaned) return;
    s->cleaned = 1;
    s->error = err;
    if (s->state == AXL_SS_CONNECTING) {
        axl_ev_push(s->ctx, s, AXL_EV_CONNECTED, err ? err : -ECONNRESET, 0, 0);
    } else if (err && !s->remote_closed) {
        s->remote_closed = 1;
        axl_ev_push(s->ctx, s, AXL_EV_REMOTE_CLOSED, err, 0, 0);
    }
    s->state = AXL_SS_CLOSED;
    axl_ev_push(s->ctx, s, AXL_EV_CLEANUP, err, 0, 0);
}

static const struct axl_tcp_ops rtc_tcp_ops = {
    .new_conn = cb_new_conn,
    .connected = cb_connected,
    .new_data = cb_new_data,
    .data_acked = cb_data_acked,
    .zc_done = cb_zc_done,
    .remote_closed = cb_remote_closed,
    .cleanup = cb_cleanup,
};

/* ---- the loop --------------------------------------------------------------------- */

static void udp_scan(struct axl_ctx *c)
{
    for (struct axl_sk *s = R(c)->udp; s; s = s->lnext) {
        struct axl_udp_sock *us = s->us;
        if (us->qlen > s->udp_seen || (us->err && !s->udp_err_seen)) {
            s->udp_seen = us->qlen;
            if (us->err) s->udp_err_seen = 1;
            axl_sk_pend(c, s, AXL_PEND_DATA);
        }
    }
}

static int rtc_work(struct axl_ctx *c)
{
    uint32_t w = axl_stack_poll(R(c)->st, axl_clock_ns());
    if (R(c)->udp) udp_scan(c);
    return w ? 1 : 0;
}

static void rtc_sleep(struct axl_ctx *c, uint64_t max_ns)
{
    struct rtc *r = R(c);
    struct axl_port *p = &r->port;
    uint64_t now = axl_clock_ns();
    uint64_t wait = axl_tw_next_ns(&r->st->tw, now);
    int fd = axl_port_fd(p);
    if (fd < 0) wait = AXL_MIN(wait, AXL_NS_PER_MS); /* nothing can wake us: nap */
    wait = AXL_MIN(wait, max_ns);
    wait = AXL_MIN(wait, AXL_RTC_SLEEP_MAX_NS);
    if (wait == 0) return;
    axl_port_idle(p);
    if (p->ops->prepare_sleep && !p->ops->prepare_sleep(p)) return; /* work raced in */
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    struct timespec ts = {(time_t)(wait / AXL_NS_PER_S), (long)(wait % AXL_NS_PER_S)};
    (void)ppoll(fd >= 0 ? &pfd : NULL, fd >= 0 ? 1 : 0, &ts, NULL);
    if (p->ops->wake_done) p->ops->wake_done(p);
}

static void rtc_flush(struct axl_ctx *c)
{
    axl_stack_tx_flush(R(c)->st);
    axl_port_flush(&R(c)->port);
}

static int rtc_fd(struct axl_ctx *c)
{
    return axl_port_fd(&R(c)->port);
}

/* ---- sockets ---------------------------------------------------------------------- */

static int rtc_socket(struct axl_ctx *c, struct axl_sk *s)
{
    (void)c;
    (void)s;
    return 0; /* nothing exists in the engine before bind/listen/connect */
}

static int udp_bind(struct axl_ctx *c, struct axl_sk *s, uint16_t port)
{
    struct rtc *r = R(c);
    int rc = axl_udp_bind(r->st, port, NULL, NULL, &s->us);
    if (rc < 0) return rc;
    s->lport = axl_udp_local_port(s->us);
    s->lnext = r->udp;
    if (r->udp) r->udp->lprev = &s->lnext;
    s->lprev = &r->udp;
    r->udp = s;
    return 0;
}

static void udp_unbind(struct axl_ctx *c, struct axl_sk *s)
{
    if (!s->us) return;
    *s->lprev = s->lnext;
    if (s->lnext) s->lnext->lprev = s->lprev;
    s->lnext = NULL;
    s->lprev = NULL;
    axl_udp_close(R(c)->st, s->us);
    s->us = NULL;
}

static int rtc_bind(struct axl_ctx *c, struct axl_sk *s, uint32_t addr, uint16_t port)
{
    (void)addr;
    if (s->type == AXL_UDP) return udp_bind(c, s, port);
    s->lport = port; /* TCP: the engine takes it at listen / connect */
    return 0;
}

static int tcp_opt(enum axl_sockopt o)
{
    switch (o) {
    case AXL_SO_NODELAY:
        return AXL_TCP_OPT_NODELAY;
    case AXL_SO_KEEPALIVE:
        return AXL_TCP_OPT_KEEPALIVE;
    case AXL_SO_KEEPIDLE:
        return AXL_TCP_OPT_KEEPIDLE;
    case AXL_SO_KEEPINTVL:
        return AXL_TCP_OPT_KEEPINTVL;
    case AXL_SO_KEEPCNT:
        return AXL_TCP_OPT_KEEPCNT;
    default:
        return 0; /* library-level only */
    }
}

/* Options given before the engine object existed. */
static void apply_opts(struct axl_sk *s)
{
    for (unsigned o = AXL_SO_NODELAY; o <= AXL_SO_KEEPCNT; o++) {
        if (!(s->opts_set & (1u << o))) continue;
        int to = tcp_opt((enum axl_sockopt)o);
        if (s->tcb) axl_tcp_setopt(s->tcb, (enum axl_tcp_opt)to, s->optval[o]);
        if (s->lst) axl_tcp_listener_setopt(s->lst, (enum axl_tcp_opt)to, s->optval[o]);
    }
}

static int rtc_listen(struct axl_ctx *c, struct axl_sk *s, uint32_t backlog)
{
    int rc = axl_tcp_listen(R(c)->st, s->lport, backlog, &rtc_tcp_ops, s, &s->lst);
    if (rc < 0) return rc;
    s->state = AXL_SS_LISTEN;
    s->backlog = backlog;
    apply_opts(s);
    return 0;
}

static int rtc_accept(struct axl_ctx *c, struct axl_sk *l, struct axl_sk *n)
{
    (void)c;
    struct axl_tcb *t;
    int rc = axl_tcp_accept(l->lst, &t);
    if (rc < 0) return rc;
    n->tcb = t;
    axl_tcp_set_user(t, &rtc_tcp_ops, n);
    n->state = AXL_SS_ESTABLISHED;
    fill_addrs(n);
    /* Listener options are inherited by the engine. Data or a FIN that came
     * before the accept is delivered by the engine at the end of this or the
     * next axl_stack_poll (net/tcp.h, axl_tcp_accept). */
    return 0;
}

static int rtc_connect(struct axl_ctx *c, struct axl_sk *s, uint32_t addr, uint16_t port)
{
    if (s->type == AXL_UDP) {
        if (!s->us) {
            int rc = udp_bind(c, s, 0);
            if (rc < 0) return rc;
        }
        s->raddr = addr; /* 0/0 dissolves the association */
        s->rport = port;
        return 0;
    }
    int rc = axl_tcp_connect(R(c)->st, addr, port, s->lport, &rtc_tcp_ops, s, &s->tcb);
    if (rc < 0) return rc;
    s->state = AXL_SS_CONNECTING;
    s->raddr = addr;
    s->rport = port;
    fill_addrs(s);
    apply_opts(s);
    return 0;
}

static int rtc_shutdown(struct axl_ctx *c, struct axl_sk *s, int how)
{
    (void)c;
    if (!s->tcb) return -ENOTCONN;
    if (how != 1 && !s->rd_shut) { /* SHUT_RD: drop what is queued and what comes */
        s->rd_shut = 1;
        uint32_t n = axl_tcp_readable(s->tcb);
        if (n) axl_tcp_recv_done(s->tcb, n);
    }
    if (how != 0 && !s->wr_shut) {
        int rc = axl_tcp_shutdown(s->tcb);
        if (rc < 0 && rc != -ENOTCONN) return rc;
        s->wr_shut = 1;
    }
    return 0;
}

static void rtc_close(struct axl_ctx *c, struct axl_sk *s, int abort)
{
    if (s->type == AXL_UDP) {
        udp_unbind(c, s);
        return;
    }
    if (s->lst) {
        axl_tcp_listener_close(s->lst);
        s->lst = NULL;
    }
    if (s->tcb) {
        /* From now on the engine owns it: no event may reach this slot. */
        axl_tcp_set_user(s->tcb, &rtc_tcp_ops, NULL);
        if (abort || s->optval[AXL_SO_LINGER] == 0)
            axl_tcp_abort(s->tcb);
        else
            axl_tcp_close(s->tcb);
        s->tcb = NULL;
    }
}

static int rtc_setopt(struct axl_ctx *c, struct axl_sk *s, enum axl_sockopt opt, uint32_t val)
{
    (void)c;
    int to = tcp_opt(opt);
    if (!to) return 0;
    if (s->tcb) return axl_tcp_setopt(s->tcb, (enum axl_tcp_opt)to, val);
    if (s->lst) return axl_tcp_listener_setopt(s->lst, (enum axl_tcp_opt)to, val);
    return 0; /* kept by ctx.c, applied at connect / listen */
}

static uint32_t rtc_readable(struct axl_ctx *c, struct axl_sk *s)
{
    (void)c;
    if (s->tcb) return axl_tcp_readable(s->tcb);
    if (s->us && s->us->qlen) return s->us->q[s->us->qhead].len;
    return 0;
}

static int rtc_info(struct axl_ctx *c, struct axl_sk *s, struct axl_sock_info *i)
{
    i->readable = rtc_readable(c, s);
    if (s->tcb) {
        i->send_room = axl_tcp_send_room(s->tcb);
        i->rx_eof = s->remote_closed;
    } else if (s->type == AXL_UDP) {
        i->send_room = 65507;
    }
    return 0;
}

/* ---- data ---------------------------------------------------------------------------- */

static int rtc_send(struct axl_ctx *c, struct axl_sk *s, const void *buf, uint32_t len)
{
    (void)c;
    if (!s->tcb) return -ENOTCONN;
    return axl_tcp_send(s->tcb, buf, len);
}

static int rtc_recv(struct axl_ctx *c, struct axl_sk *s, void *buf, uint32_t len)
{
    (void)c;
    if (!s->tcb) return -ENOTCONN;
    return axl_tcp_read(s->tcb, buf, len);
}

static int rtc_recv_peek(struct axl_ctx *c, struct axl_sk *s, struct axl_iov *iov, unsigned n)
{
    (void)c;
    struct axl_tcp_iov tv[16];
    if (!s->tcb) return -ENOTCONN;
    int k = axl_tcp_recv(s->tcb, tv, n < 16 ? n : 16);
    if (k <= 0) return k;
    uint64_t total = 0;
    for (int i = 0; i < k; i++) {
        iov[i].base = tv[i].base;
        iov[i].len = tv[i].len;
        total += tv[i].len;
    }
    return total > INT32_MAX ? INT32_MAX : (int)total;
}

static int rtc_recv_done(struct axl_ctx *c, struct axl_sk *s, uint32_t n)
{
    (void)c;
    if (!s->tcb) return -ENOTCONN;
    return axl_tcp_recv_done(s->tcb, n);
}

static int rtc_mem_alloc(struct axl_ctx *c, size_t size, struct axl_mem **out)
{
    (void)c;
    long pg = sysconf(_SC_PAGESIZE);
    size_t sz = (size + (size_t)pg - 1) & ~((size_t)pg - 1);
    if (sz < size) return -EINVAL;
    struct axl_mem *m = calloc(1, sizeof(*m));
    if (!m) return -ENOMEM;
    void *p = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        int e = errno;
        free(m);
        return -e;
    }
    m->base = p;
    m->size = sz;
    m->fd = -1;
    *out = m;
    return 0;
}

static void rtc_mem_free(struct axl_ctx *c, struct axl_mem *m)
{
    (void)c;
    munmap(m->base, m->size);
    free(m);
}

static struct zrec *zrec_get(struct axl_ctx *c, uint64_t cookie, uint32_t len)
{
    struct rtc *r = R(c);
    struct zrec *z = r->zfree;
    if (z)
        r->zfree = z->next;
    else if (!(z = malloc(sizeof(*z))))
        return NULL;
    z->c = c;
    z->cookie = cookie;
    z->len = len;
    z->next = NULL;
    return z;
}

static void zrec_put(struct axl_ctx *c, struct zrec *z)
{
    z->next = R(c)->zfree;
    R(c)->zfree = z;
}

static int rtc_send_mem(struct axl_ctx *c, struct axl_sk *s, struct axl_mem *m, uint64_t off,
                        uint32_t len, uint64_t cookie)
{
    if (!s->tcb) return -ENOTCONN;
    struct zrec *z = zrec_get(c, cookie, len);
    if (!z) return -ENOMEM;
    int rc = axl_tcp_send_zc(s->tcb, m->base + off, len, z);
    if (rc < 0) {
        zrec_put(c, z);
        return rc;
    }
    return 0;
}

/* Objects: the engine's pre-packetised object (net/tcp_prepkt.h). */
struct axl_obj {
    struct axl_tcp_obj *o;
    uint32_t len;
};

static int rtc_obj_register(struct axl_ctx *c, struct axl_mem *m, uint64_t off, uint32_t len,
                            int copy, struct axl_obj **out)
{
    struct axl_obj *ob = calloc(1, sizeof(*ob));
    if (!ob) return -ENOMEM;
    int rc = axl_tcp_obj_create(R(c)->st, m->base + off, len,
                                copy ? AXL_TCP_OBJ_MEMCPY : AXL_TCP_OBJ_PRECOPY, &ob->o);
    if (rc < 0) {
        free(ob);
        return rc;
    }
    ob->len = len;
    *out = ob;
    return 0;
}

static int rtc_send_obj(struct axl_ctx *c, struct axl_sk *s, struct axl_obj *o, uint64_t cookie)
{
    if (!s->tcb) return -ENOTCONN;
    struct zrec *z = zrec_get(c, cookie, o->len);
    if (!z) return -ENOMEM;
    int rc = axl_tcp_send_obj(s->tcb, o->o, z);
    if (rc < 0) {
        zrec_put(c, z);
        return rc;
    }
    return 0;
}

static void rtc_obj_free(struct axl_ctx *c, struct axl_obj *o)
{
    (void)c;
    axl_tcp_obj_release(o->o); /* the engine keeps it while sends refer to it */
    free(o);
}

static int rtc_sendto(struct axl_ctx *c, struct axl_sk *s, const void *buf, uint32_t len,
                      uint32_t addr, uint16_t port)
{
    if (!s->us) {
        int rc = udp_bind(c, s, 0);
        if (rc < 0) return rc;
    }
    int rc = axl_udp_sendto(R(c)->st, s->us, buf, len, addr, port);
    if (rc == AXL_ENOBUFS) return -EAGAIN;
    return rc < 0 ? rc : 0;
}

static int rtc_recvfrom(struct axl_ctx *c, struct axl_sk *s, void *buf, uint32_t len,
                        uint32_t *addr, uint16_t *port)
{
    if (!s->us) return -EAGAIN;
    uint8_t dummy;
    int rc = axl_udp_recvfrom(R(c)->st, s->us, buf ? buf : &dummy, len, addr, port);
    s->udp_seen = s->us->qlen;
    if (!s->us->err) s->udp_err_seen = 0;
    return rc;
}

static int rtc_stat(struct axl_ctx *c, const char *name, uint64_t *val)
{
    if (!strcmp(name, "TcpConnections")) {
        *val = axl_tcp_conn_count(R(c)->st);
        return 0;
    }
    int64_t v = axl_stack_stat(R(c)->st, name);
    if (v < 0) return -ENOENT;
    *val = (uint64_t)v;
    return 0;
}

struct axl_stack *axl_rtc_engine(struct axl_ctx *c)
{
    return c && c->mode == AXL_MODE_RTC ? R(c)->st : NULL;
}

int axl_rtc_tcp_opt(struct axl_ctx *c, axl_sock_t h, int opt, uint32_t val)
{
    if (!c || c->mode != AXL_MODE_RTC) return -EOPNOTSUPP;
    struct axl_sk *s = axl_sk_lookup(c, h);
    if (!s) return -EBADF;
    if (s->tcb) return axl_tcp_setopt(s->tcb, (enum axl_tcp_opt)opt, val);
    if (s->lst) return axl_tcp_listener_setopt(s->lst, (enum axl_tcp_opt)opt, val);
    return -ENOTCONN;
}

/* ---- open / destroy ----------------------------------------------------------------- */

static void rtc_destroy(struct axl_ctx *c)
{
    struct rtc *r = R(c);
    if (!r) return;
    if (r->st) {
        /* Let closing connections send what they owe (FIN, RST) while the
         * engine still runs; stop after 20 ms without work. */
        uint64_t t0 = axl_clock_ns(), last = t0;
        for (;;) {
            uint64_t now = axl_clock_ns();
            if (axl_stack_poll(r->st, now)) last = now;
            if (now - t0 >= AXL_RTC_DRAIN_NS || now - last >= 20 * AXL_NS_PER_MS) break;
            usleep(200);
        }
        axl_stack_destroy(r->st);
    }
    if (r->port_up) axl_port_close(&r->port);
    if (r->pool_up) axl_pool_fini(&r->pool);
    if (r->dev_up) axl_port_dev_teardown(&r->pcfg);
    while (r->zfree) {
        struct zrec *z = r->zfree;
        r->zfree = z->next;
        free(z);
    }
    free(r);
    c->bk = NULL;
}

static const struct axl_backend_ops rtc_ops = {
    .destroy = rtc_destroy,
    .work = rtc_work,
    .sleep = rtc_sleep,
    .flush = rtc_flush,
    .fd = rtc_fd,
    .socket = rtc_socket,
    .bind = rtc_bind,
    .listen = rtc_listen,
    .accept = rtc_accept,
    .connect = rtc_connect,
    .shutdown = rtc_shutdown,
    .close = rtc_close,
    .setopt = rtc_setopt,
    .info = rtc_info,
    .send = rtc_send,
    .recv = rtc_recv,
    .recv_peek = rtc_recv_peek,
    .recv_done = rtc_recv_done,
    .mem_alloc = rtc_mem_alloc,
    .mem_free = rtc_mem_free,
    .send_mem = rtc_send_mem,
    .obj_register = rtc_obj_register,
    .send_obj = rtc_send_obj,
    .obj_free = rtc_obj_free,
    .sendto = rtc_sendto,
    .recvfrom = rtc_recvfrom,
    .stat = rtc_stat,
    .readable = rtc_readable,
};

int axl_rtc_open(struct axl_ctx *c, const struct axl_config *cfg, char *err, size_t errlen)
{
    struct axl_stack_cfg scfg;
    struct axl_cidr cidr;
    char e[256];
    int rc;

    memset(&scfg, 0, sizeof(scfg));
    if (axl_parse_cidr(cfg->addr, &cidr) < 0 || cidr.prefix == 0) {
        snprintf(err, errlen, "--addr: '%s' is not an IPv4 address with a prefix", cfg->addr);
        return -EINVAL;
    }
    scfg.addr = cidr;
    if (cfg->gw && axl_parse_ipv4(cfg->gw, &scfg.gw) < 0) {
        snprintf(err, errlen, "--gw: '%s' is not an IPv4 address", cfg->gw);
        return -EINVAL;
    }
    if (cfg->mac) {
        if (axl_parse_mac(cfg->mac, scfg.mac) < 0) {
            snprintf(err, errlen, "--mac: '%s' is not a MAC address", cfg->mac);
            return -EINVAL;
        }
        scfg.has_mac = 1;
    }
    if (cfg->mtu && (cfg->mtu < 576 || cfg->mtu > 9000)) {
        snprintf(err, errlen, "--mtu: %u is not in 576..9000", cfg->mtu);
        return -EINVAL;
    }
    scfg.mtu = cfg->mtu;
    scfg.seed = cfg->seed;
    struct axl_tcp_secret secret; /* copied by axl_stack_create */
    if (!cfg->seed) {             /* a seeded engine keeps its reproducible secrets */
        char note[256];
        if (axl_tcp_secret_default(&secret, note, sizeof(note))) scfg.tcp_secret = &secret;
        axl_log(scfg.tcp_secret ? AXL_LOG_DEBUG : AXL_LOG_WARN, "axl", "%s", note);
    }
    scfg.tcp_sndbuf = c->tx_size;
    scfg.tcp_rcvbuf = c->rx_size;

    struct rtc *r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    c->bk = r;
    c->ops = &rtc_ops;
    if (axl_port_parse_spec(cfg->port, &r->pcfg, e, sizeof(e)) < 0) {
        snprintf(err, errlen, "--port: %s", e);
        rc = -EINVAL;
        goto fail;
    }
    if (r->pcfg.nqueues > 1) {
        snprintf(err, errlen, "--port %s: one queue only in run-to-completion mode", cfg->port);
        rc = -EINVAL;
        goto fail;
    }
    if (cfg->pcap) {
        if (strlen(cfg->pcap) >= sizeof(r->pcfg.pcap_path)) {
            snprintf(err, errlen, "--pcap: path too long");
            rc = -EINVAL;
            goto fail;
        }
        snprintf(r->pcfg.pcap_path, sizeof(r->pcfg.pcap_path), "%s", cfg->pcap);
    }
    if ((rc = axl_port_dev_setup(&r->pcfg)) < 0) {
        snprintf(err, errlen, "cannot set up %s: %s", cfg->port, axl_strerror(rc));
        goto fail;
    }
    r->dev_up = 1;
    if ((rc = axl_pool_init(&r->pool, c->pool_bufs ? c->pool_bufs : AXL_RTC_POOL_BUFS, 2048, AXL_POOL_HEADROOM)) < 0) {
        snprintf(err, errlen, "packet buffers: %s", axl_strerror(rc));
        goto fail;
    }
    r->pool_up = 1;
    r->pcfg.pool = &r->pool;
    if ((rc = axl_port_open(&r->port, &r->pcfg)) < 0) {
        snprintf(err, errlen, "cannot open port %s: %s", cfg->port, axl_strerror(rc));
        goto fail;
    }
    r->port_up = 1;
    if (!(r->st = axl_stack_create(&scfg, &r->port, &r->pool, axl_clock_ns()))) {
        snprintf(err, errlen, "cannot start the stack on %s (see the log)", cfg->port);
        rc = -EINVAL;
        goto fail;
    }
    c->addr = cidr.addr;
    c->nreplicas = 1;
    return 0;
fail:
    rtc_destroy(c);
    c->ops = NULL;
    return rc;
}
