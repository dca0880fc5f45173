/* SPDX-License-Identifier: MIT */
/*
 * posix/instance.c - the POSIX layer's process-wide instance: set-up from a
 * config or the environment, descriptor numbers (reserved kernel numbers,
 * see axl/socket.h), the socket pool, and the pump that turns axl_poll
 * events into socket state and epoll wake-ups; readiness of a socket.
 *
 * Call chain: axp_* (sock.c, io.c, poll.c) -> axp_pump -> axl_poll ->
 * engine (RTC) or channels (isolated); events -> apply_event -> axp_edge ->
 * epoll ready lists (poll.c's structures).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "posix/posix_priv.h"

struct axp *axp_g;

/* ---- set-up ------------------------------------------------------------------ */

static int setup(struct axl_ctx *ctx, int own, const struct axl_config *cfg)
{
    struct axp *P = calloc(1, sizeof(*P));
    if (!P) return -ENOMEM;
    P->ph = open("/", O_PATH | O_CLOEXEC);
    if (P->ph < 0) {
        int e = errno;
        free(P);
        return -e;
    }
    P->ctx = ctx;
    P->own_ctx = own;
    P->rx_size = cfg && cfg->rx_size ? cfg->rx_size : 65536;
    P->tx_size = cfg && cfg->tx_size ? cfg->tx_size : 65536;
    axp_g = P;
    return 0;
}

int axp_init(const struct axl_config *cfg, char *err, size_t errlen)
{
    char ebuf[256];
    if (!err) {
        err = ebuf;
        errlen = sizeof(ebuf);
    }
    if (errlen) err[0] = 0;
    if (axp_g) {
        snprintf(err, errlen, "the POSIX layer is already initialised");
        return axp_fail(EALREADY);
    }
    struct axl_config envcfg;
    if (!cfg) {
        memset(&envcfg, 0, sizeof(envcfg));
        static const char *const vars[][2] = {
            { "AXL_PORT", "port" }, { "AXL_ADDR", "addr" }, { "AXL_GW", "gw" },
            { "AXL_MTU", "mtu" },   { "AXL_PCAP", "pcap" },
        };
        for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
            const char *v = getenv(vars[i][0]);
            if (!v || !*v) continue;
            int r = axl_mode_opt(&envcfg, vars[i][1], v, err, errlen);
            if (r < 0) return axp_fail(-r);
        }
        if (envcfg.port) {
            envcfg.mode = AXL_MODE_RTC;
            if (!envcfg.addr) {
                snprintf(err, errlen, "AXL_PORT is set but AXL_ADDR (our address, CIDR) is not");
                return axp_fail(EINVAL);
            }
        } else {
            envcfg.mode = AXL_MODE_ISOLATED;
        }
        cfg = &envcfg;
    }
    struct axl_ctx *ctx = NULL;
    int r = axl_open(&ctx, cfg, err, errlen);
    if (r < 0) return axp_fail(-r);
    r = setup(ctx, 1, cfg);
    if (r < 0) {
        axl_close_ctx(ctx);
        snprintf(err, errlen, "cannot set up the POSIX layer: %s", strerror(-r));
        return axp_fail(-r);
    }
    return 0;
}

int axp_init_ctx(struct axl_ctx *ctx)
{
    if (axp_g) return axp_fail(EALREADY);
    if (!ctx) return axp_fail(EINVAL);
    int r = setup(ctx, 0, NULL);
    return r < 0 ? axp_fail(-r) : 0;
}

int axp_ensure(void)
{
    if (axp_g) return 0;
    char err[256];
    if (axp_init(NULL, err, sizeof(err)) < 0) {
        int e = errno;
        fprintf(stderr, "axp: %s\n", err[0] ? err : strerror(e));
        errno = e;
        return -1;
    }
    return 0;
}

struct axl_ctx *axp_ctx(void)
{
    return axp_g ? axp_g->ctx : NULL;
}

int axp_is_ours(int fd)
{
    struct axp_fde *f = axp_fde(fd);
    return f && (f->kind == AXP_K_SOCK || f->kind == AXP_K_EPOLL);
}

void axp_get_stats(struct axp_stats *out)
{
    if (axp_g)
        *out = axp_g->st;
    else
        memset(out, 0, sizeof(*out));
}

void axp_exit(void)
{
    struct axp *P = axp_g;
    if (!P) return;
    for (uint32_t fd = 0; fd < P->tab_len; fd++)
        if (P->tab[fd].kind == AXP_K_SOCK || P->tab[fd].kind == AXP_K_EPOLL) axp_close((int)fd);
    /* Sockets still queued for accept belong to closed listeners' queues,
     * which axp_close already reset; nothing else holds a handle. */
    for (uint32_t i = 0; i < P->sock_all_n; i++) {
        struct axp_sock *s = P->sock_all[i];
        if (s->h) axl_abort(P->ctx, s->h);
        free(s->acq);
        free(s->stash);
        free(s);
    }
    for (uint32_t i = 0; i < P->fd_all_n; i++) close(P->fd_all[i]);
    close(P->ph);
    if (P->own_ctx) axl_close_ctx(P->ctx);
    free(P->sock_all);
    free(P->bounce);
    free(P->fd_all);
    free(P->fd_pool);
    free(P->tab);
    free(P);
    axp_g = NULL;
}

/* ---- descriptor numbers ------------------------------------------------------- */

static int grow(void **p, uint32_t *cap, uint32_t need, size_t elem)
{
    if (need <= *cap) return 0;
    uint32_t n = *cap ? *cap : 16;
    while (n < need) n *= 2;
    void *q = realloc(*p, (size_t)n * elem);
    if (!q) return -ENOMEM;
    memset((char *)q + (size_t)*cap * elem, 0, (size_t)(n - *cap) * elem);
    *p = q;
    *cap = n;
    return 0;
}

int axp_fd_alloc(struct axp *P)
{
    if (P->fd_pool_n == 0) {
        /* Reserve a batch: off the common path (numbers are reused). */
        for (int i = 0; i < AXP_FD_BATCH; i++) {
            /* the pool must hold every number reserved so far: all of them
             * come back to it when every socket is closed */
            if (grow((void **)&P->fd_all, &P->fd_all_cap, P->fd_all_n + 1, sizeof(int)) ||
                grow((void **)&P->fd_pool, &P->fd_pool_cap, P->fd_all_n + 1, sizeof(int)))
                break;
            int fd = fcntl(P->ph, F_DUPFD_CLOEXEC, 0);
            if (fd < 0) break;
            if (grow((void **)&P->tab, &P->tab_len, (uint32_t)fd + 1, sizeof(struct axp_fde))) {
                close(fd);
                break;
            }
            P->tab[fd].kind = AXP_K_FREE;
            P->fd_all[P->fd_all_n++] = fd;
            P->st.fd_reserved++;
            P->fd_pool[P->fd_pool_n++] = fd;
        }
        if (P->fd_pool_n == 0) return errno == ENOMEM ? -ENOMEM : -EMFILE;
        /* Hand out the lowest first, as the kernel would. */
        for (uint32_t i = 0, j = P->fd_pool_n - 1; i < j; i++, j--) {
            int t = P->fd_pool[i];
            P->fd_pool[i] = P->fd_pool[j];
            P->fd_pool[j] = t;
        }
    }
    return P->fd_pool[--P->fd_pool_n];
}

void axp_fd_release(struct axp *P, int fd)
{
    P->tab[fd].kind = AXP_K_FREE;
    P->tab[fd].u.s = NULL;
    P->fd_pool[P->fd_pool_n++] = fd; /* capacity >= every number reserved */
}

struct axp_sock *axp_sock_of(int fd, int *kernel)
{
    *kernel = 0;
    if (fd < 0) {
        errno = EBADF;
        return NULL;
    }
    struct axp_fde *f = axp_fde(fd);
    if (!f || f->kind == AXP_K_NONE) {
        *kernel = 1;
        return NULL;
    }
    if (f->kind == AXP_K_SOCK) return f->u.s;
    errno = f->kind == AXP_K_EPOLL ? ENOTSOCK : EBADF;
    return NULL;
}

/* ---- socket objects ------------------------------------------------------------ */

struct axp_sock *axp_sock_new(struct axp *P, axl_sock_t h, int stream)
{
    struct axp_sock *s = P->sock_free;
    if (s) {
        P->sock_free = s->next_free;
    } else {
        if (grow((void **)&P->sock_all, &P->sock_all_cap, P->sock_all_n + 1, sizeof(void *)))
            return NULL;
        s = calloc(1, sizeof(*s));
        if (!s) return NULL;
        P->sock_all[P->sock_all_n++] = s;
    }
    struct axp_sock **acq = s->acq;
    uint8_t *stash = s->stash;
    uint32_t acq_cap = s->acq_cap;
    memset(s, 0, sizeof(*s));
    s->acq = acq; /* keep buffers across reuse */
    s->acq_cap = acq_cap;
    s->stash = stash;
    s->h = h;
    s->fd = -1;
    s->stream = (uint8_t)stream;
    s->linger_s = 0;
    axl_set_user(P->ctx, h, s);
    return s;
}

void axp_sock_release(struct axp *P, struct axp_sock *s)
{
    s->h = AXL_SOCK_NONE;
    s->fd = -1;
    s->acq_n = 0;
    s->stashed = 0;
    s->epi = NULL;
    s->next_free = P->sock_free;
    P->sock_free = s;
}

/* ---- readiness ------------------------------------------------------------------ */

uint32_t axp_ready(struct axp *P, struct axp_sock *s)
{
    uint32_t m = 0;
    if (s->err) m |= EPOLLERR;
    if (s->state == AXP_S_LISTEN) return m | (s->acq_n ? EPOLLIN | EPOLLRDNORM : 0);
    if (!s->stream) {
        /* datagram_poll(): readable when a datagram waits, always writable */
        struct axl_sock_info in;
        if (s->stashed || (axl_sock_info(P->ctx, s->h, &in) == 0 && in.readable))
            m |= EPOLLIN | EPOLLRDNORM;
        if (s->rd_shut) m |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
        if (s->rd_shut && s->wr_shut) m |= EPOLLHUP;
        return m | EPOLLOUT | EPOLLWRNORM;
    }
    /* TCP, after Linux's tcp_poll() */
    switch (s->state) {
    case AXP_S_NEW:
        return m | EPOLLOUT | EPOLLWRNORM | EPOLLHUP;
    case AXP_S_CONNECTING:
        return m;
    case AXP_S_FAILED:
        return m | EPOLLOUT | EPOLLWRNORM | EPOLLHUP;
    default:
        break;
    }
    struct axl_sock_info in;
    if (axl_sock_info(P->ctx, s->h, &in) < 0) memset(&in, 0, sizeof(in));
    int over = s->state == AXP_S_OVER || in.state == AXL_SS_CLOSED;
    int rcv_shut = s->rd_shut || s->rhup || in.rx_eof || over;
    int snd_shut = s->wr_shut || over;
    if (in.readable) m |= EPOLLIN | EPOLLRDNORM;
    if (rcv_shut) m |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
    if ((rcv_shut && snd_shut) || over) m |= EPOLLHUP;
    /* writable when a third of the send buffer is free, like Linux's
     * sk_stream_is_writeable() (free >= queued / 2): no wake-up storms for
     * a few bytes of room */
    if (snd_shut || (in.send_room && (uint64_t)in.send_room * 3 >= P->tx_size))
        m |= EPOLLOUT | EPOLLWRNORM;
    return m;
}

/* ---- events -------------------------------------------------------------------- */

void axp_edge(struct axp *P, struct axp_sock *s, uint32_t bits)
{
    (void)P;
    for (struct axp_epi *e = s->epi; e; e = e->s_next) {
        if (e->on_rdl || !(e->events & (bits | EPOLLERR | EPOLLHUP) & ~(uint32_t)EPOLLET)) continue;
        struct axp_ep *ep = e->ep;
        e->on_rdl = 1;
        e->rd_next = NULL;
        e->rd_prev = ep->rd_tail;
        if (ep->rd_tail)
            ep->rd_tail->rd_next = e;
        else
            ep->rd_head = e;
        ep->rd_tail = e;
    }
}

void axp_listener_fill(struct axp *P, struct axp_sock *l)
{
    while (l->acq_n < l->backlog) {
        axl_sock_t h;
        if (axl_accept(P->ctx, l->h, &h) < 0) break;
        struct axp_sock *c = axp_sock_new(P, h, 1);
        if (!c) {
            axl_abort(P->ctx, h);
            break;
        }
        c->state = AXP_S_CONNECTED;
        c->bound = 1;
        if (l->acq_n == l->acq_cap) {
            uint32_t ncap = l->acq_cap ? l->acq_cap * 2 : 16;
            struct axp_sock **q = malloc(ncap * sizeof(*q));
            if (!q) {
                axp_sock_release(P, c);
                axl_abort(P->ctx, h);
                break;
            }
            for (uint32_t i = 0; i < l->acq_n; i++) q[i] = l->acq[(l->acq_head + i) % l->acq_cap];
            free(l->acq);
            l->acq = q;
            l->acq_cap = ncap;
            l->acq_head = 0;
        }
        l->acq[(l->acq_head + l->acq_n) % l->acq_cap] = c;
        l->acq_n++;
        P->st.accept_queued++;
        axp_edge(P, l, EPOLLIN);
    }
}

static void apply_event(struct axp *P, const struct axl_event *ev)
{
    struct axp_sock *s = ev->user;
    if (!s || s->h != ev->sock) {
        P->st.events_stale++;
        return;
    }
    switch (ev->type) {
    case AXL_EV_NEW_CONN:
        if (s->state == AXP_S_LISTEN) axp_listener_fill(P, s);
        break;
    case AXL_EV_CONNECTED:
        if (s->state != AXP_S_CONNECTING) break;
        if (ev->status == 0) {
            s->state = AXP_S_CONNECTED;
            axp_edge(P, s, EPOLLOUT);
        } else {
            s->state = AXP_S_FAILED;
            s->err = -ev->status;
            axp_edge(P, s, EPOLLOUT | EPOLLERR | EPOLLHUP);
        }
        break;
    case AXL_EV_NEW_DATA:
        axp_edge(P, s, EPOLLIN);
        break;
    case AXL_EV_DATA_ACKED:
        axp_edge(P, s, EPOLLOUT);
        break;
    case AXL_EV_REMOTE_CLOSED:
        s->rhup = 1;
        if (ev->status < 0 && !s->err && !s->err_seen) s->err = -ev->status;
        axp_edge(P, s, EPOLLIN | EPOLLRDHUP | (ev->status < 0 ? EPOLLERR | EPOLLHUP : 0));
        break;
    case AXL_EV_CLEANUP:
        if (s->state == AXP_S_CONNECTING) {
            s->state = AXP_S_FAILED;
            if (!s->err) s->err = ev->status < 0 ? -ev->status : ECONNREFUSED;
        } else if (s->state != AXP_S_LISTEN && s->state != AXP_S_FAILED) {
            s->state = AXP_S_OVER;
        }
        s->rhup = 1;
        if (ev->status < 0 && !s->err && !s->err_seen) s->err = -ev->status;
        axp_edge(P, s, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLHUP | (s->err ? EPOLLERR : 0));
        break;
    default:
        break;
    }
}

int axp_pump(struct axp *P, int64_t timeout_ns)
{
    if (P->dead) return -P->dead;
    P->st.pumps++;
    if (timeout_ns) P->st.waits++;
    for (;;) {
        int n = axl_poll(P->ctx, P->ev, AXP_EV_BATCH, timeout_ns);
        if (n < 0) {
            if (n == -ENOTCONN) P->dead = ENETDOWN;
            return n == -ENOTCONN ? -ENETDOWN : n;
        }
        P->st.events += (uint64_t)n;
        for (int i = 0; i < n; i++) apply_event(P, &P->ev[i]);
        if (n < AXP_EV_BATCH) return 0;
        timeout_ns = 0; /* more may wait: drain without waiting */
    }
}

int axp_block(struct axp *P, int64_t deadline)
{
    int64_t t = -1;
    if (deadline) {
        t = deadline - axp_now_ns();
        if (t <= 0) return -EAGAIN;
    }
    return axp_pump(P, t);
}
