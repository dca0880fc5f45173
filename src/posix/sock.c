/* SPDX-License-Identifier: MIT */
/*
 * posix/sock.c - socket life cycle and options of the POSIX layer:
 * socket, bind, listen, accept/accept4, connect, shutdown, close,
 * get/setsockopt, getsockname/getpeername, fcntl, ioctl.
 *
 * Errno values follow Linux's inet_stream_connect(), inet_bind(),
 * inet_listen(), inet_accept(), tcp_disconnect() paths; each check says
 * which. A kernel descriptor passed to any call goes to the kernel.
 *
 * Call chain: application -> axp_* -> axl_socket/axl_bind/... (axl/axl.h);
 * blocking waits -> axp_block -> axp_pump (instance.c).
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "posix/posix_priv.h"

#define KERNEL_OR_FAIL(s, fd, kernel_call)                                                         \
    do {                                                                                           \
        if (!(s)) {                                                                                \
            if (kernel) return kernel_call;                                                        \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

static int64_t deadline_of(int64_t timeo_ns)
{
    return timeo_ns ? axp_now_ns() + timeo_ns : 0;
}

/* Replace a socket's handle by a fresh one (after a failed connect, or a
 * reconnect after the connection ended): Linux lets a socket in TCP_CLOSE
 * connect again. Options are re-applied. */
static int sock_reopen(struct axp *P, struct axp_sock *s)
{
    axl_sock_t h;
    int r = axl_socket(P->ctx, s->stream ? AXL_TCP : AXL_UDP, &h);
    if (r < 0) return r;
    axl_close(P->ctx, s->h);
    s->h = h;
    axl_set_user(P->ctx, h, s);
    s->state = AXP_S_NEW;
    s->bound = 0;
    s->rhup = s->rd_shut = s->wr_shut = 0;
    s->err_seen = 0;
    if (s->reuseaddr) axl_setopt(P->ctx, h, AXL_SO_REUSEADDR, 1);
    if (s->reuseport) axl_setopt(P->ctx, h, AXL_SO_REUSEPORT, 1);
    if (s->nodelay) axl_setopt(P->ctx, h, AXL_SO_NODELAY, 1);
    if (s->keepalive) axl_setopt(P->ctx, h, AXL_SO_KEEPALIVE, 1);
    return 0;
}

int axp_socket(int domain, int type, int protocol)
{
    int flags = type & (SOCK_NONBLOCK | SOCK_CLOEXEC);
    int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (domain != AF_INET) return socket(domain, type, protocol); /* AF_UNIX etc.: the kernel's */
    if (base != SOCK_STREAM && base != SOCK_DGRAM) return socket(domain, type, protocol);
    if (protocol != 0 && !(base == SOCK_STREAM && protocol == IPPROTO_TCP) &&
        !(base == SOCK_DGRAM && protocol == IPPROTO_UDP))
        return axp_fail(EPROTONOSUPPORT);
    if (axp_ensure() < 0) return -1;
    struct axp *P = axp_g;
    axl_sock_t h;
    int r = axl_socket(P->ctx, base == SOCK_STREAM ? AXL_TCP : AXL_UDP, &h);
    if (r < 0) return axp_fail(r == -EMFILE ? ENFILE : -r);
    int fd = axp_fd_alloc(P);
    if (fd < 0) {
        axl_close(P->ctx, h);
        return axp_fail(-fd);
    }
    struct axp_sock *s = axp_sock_new(P, h, base == SOCK_STREAM);
    if (!s) {
        axl_close(P->ctx, h);
        axp_fd_release(P, fd);
        return axp_fail(ENOMEM);
    }
    s->fd = fd;
    s->nonblock = !!(flags & SOCK_NONBLOCK);
    s->cloexec = !!(flags & SOCK_CLOEXEC);
    P->tab[fd].kind = AXP_K_SOCK;
    P->tab[fd].u.s = s;
    return fd;
}

/* A struct sockaddr_in from the caller: 0 or errno (Linux inet_bind /
 * inet_stream_connect checks: short length EINVAL, other family
 * EAFNOSUPPORT). */
static int get_sin(const struct sockaddr *a, socklen_t len, uint32_t *addr, uint16_t *port)
{
    if (!a) return EFAULT;
    if (len < (socklen_t)sizeof(struct sockaddr_in)) return EINVAL;
    const struct sockaddr_in *sin = (const struct sockaddr_in *)a;
    if (sin->sin_family != AF_INET) return EAFNOSUPPORT;
    *addr = ntohl(sin->sin_addr.s_addr);
    *port = ntohs(sin->sin_port);
    return 0;
}

static void put_sin(struct sockaddr *a, socklen_t *len, uint32_t addr, uint16_t port)
{
    if (!a || !len) return;
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(addr);
    sin.sin_port = htons(port);
    size_t n = *len < sizeof(sin) ? *len : sizeof(sin);
    memcpy(a, &sin, n); /* truncated as the kernel does; *len says the real size */
    *len = sizeof(sin);
}

/* Is TCP port `port` bound by another of our sockets in a way that
 * conflicts (inet_csk_bind_conflict: SO_REUSEADDR on both sides allows it
 * unless one listens)? The engine checks again at listen/connect (other
 * programs in isolated mode); this gives the error at bind(), where Linux
 * gives it. O(sockets): bind is not on a fast path. */
static int port_taken(struct axp *P, const struct axp_sock *s, uint16_t port)
{
    for (uint32_t fd = 0; fd < P->tab_len; fd++) {
        if (P->tab[fd].kind != AXP_K_SOCK) continue;
        const struct axp_sock *o = P->tab[fd].u.s;
        if (o == s || !o->stream || !o->bound || o->state == AXP_S_OVER ||
            o->state == AXP_S_FAILED)
            continue;
        struct axl_sock_info in;
        if (axl_sock_info(P->ctx, o->h, &in) < 0 || in.lport != port) continue;
        if (o->state == AXP_S_CONNECTED || o->state == AXP_S_CONNECTING) {
            if (!(s->reuseaddr && o->reuseaddr)) return 1;
            continue;
        }
        if (o->state == AXP_S_LISTEN || !(s->reuseaddr && o->reuseaddr)) return 1;
    }
    return 0;
}

int axp_bind(int fd, const struct sockaddr *addr, socklen_t addrlen)
{
    int kernel;
    struct axp_sock *s = axp_sock_of(fd, &kernel);
    KERNEL_OR_FAIL(s, fd, bind(fd, addr, addrlen));
    struct axp *P = axp_g;
    uint32_t a;
    uint16_t port;
    int e = get_sin(addr, addrlen, &a, &port);
    if (e) return axp_fail(e);
    if (s->bound || s->state != AXP_S_NEW) return axp_fail(EINVAL); /* already bound */
    if (a != INADDR_ANY && a != axl_ctx_addr(P->ctx)) return axp_fail(EADDRNOTAVAIL);
    if (s->stream && port && port_taken(P, s, port)) return axp_fail(EADDRINUSE);
    int r = axl_bind(P->ctx, s->h, a, port);
    if (r < 0) return axp_fail(-r);
    s->bound = 1;
    return 0;
}

int axp_listen(int fd, int backlog)
{
    int kernel;
    struct axp_sock *s = axp_sock_of(fd, &kernel);
    KERNEL_OR_FAIL(s, fd, listen(fd, backlog));
    struct axp *P = axp_g;
    if (!s->stream) return axp_fail(EOPNOTSUPP);
    /* inet_listen: a negative backlog is 0 here, capped at somaxconn; an
     * accept queue of at least one. */
    uint32_t bl = backlog < 1 ? 1 : backlog > AXP_BACKLOG_MAX ? AXP_BACKLOG_MAX : (uint32_t)backlog;
    if (s->state == AXP_S_LISTEN) {
        s->backlog = bl; /* listen() again changes the backlog */
        axp_listener_fill(P, s);
        return 0;
    }
    if (s->state != AXP_S_NEW) return axp_fail(EINVAL);
    if (!s->bound) {
        /* Linux binds an ephemeral port (inet_autobind). */
        int r = axl_bind(P->ctx, s->h, 0, 0);
        if (r < 0) return axp_fail(-r);
        s->bound = 1;
    }
    int r = axl_listen(P->ctx, s->h, bl);
    if (r < 0) return axp_fail(-r);
    s->state = AXP_S_LISTEN;
    s->backlog = bl;
    axp_listener_fill(P, s);
    return 0;
}

int axp_accept4(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags)
{
    int kernel;
    struct axp_sock *l = axp_sock_of(fd, &kernel);
    KERNEL_OR_FAIL(l, fd, accept4(fd, addr, addrlen, flags));
    struct axp *P = axp_g;
    if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) return axp_fail(EINVAL);
    if (!l->stream) return axp_fail(EOPNOTSUPP);
    if (l->state != AXP_S_LISTEN) return axp_fail(EINVAL);
    if (addr && !addrlen) return axp_fail(EFAULT);
    int64_t deadline = deadline_of(l->rcvtimeo_ns);
    while (l->acq_n == 0) {
        axp_listener_fill(P, l);
        if (l->acq_n) break;
        if (l->nonblock) {
            if (++l->spin % AXP_SPIN_PUMP == 0) {
                axp_pump(P, 0);
                if (l->acq_n) break;
            }
            return axp_fail(EAGAIN);
        }
        int r = axp_block(P, deadline);
        if (r < 0) return axp_fail(-r);
        if (l->state != AXP_S_LISTEN) return axp_fail(EINVAL);
    }
    int nfd = axp_fd_alloc(P);
    if (nfd < 0) return axp_fail(-nfd);
    struct axp_sock *c = l->acq[l->acq_head];
    l->acq_head = (l->acq_head + 1) % l->acq_cap;
    l->acq_n--;
    c->fd = nfd;
    c->nonblock = !!(flags & SOCK_NONBLOCK);
    c->cloexec = !!(flags & SOCK_CLOEXEC);
    /* Accepted sockets inherit TCP_NODELAY / SO_KEEPALIVE as on Linux. */
    if (l->nodelay) axl_setopt(P->ctx, c->h, AXL_SO_NODELAY, 1), c->nodelay = 1;
    if (l->keepalive) axl_setopt(P->ctx, c->h, AXL_SO_KEEPALIVE, 1), c->keepalive = 1;
    P->tab[nfd].kind = AXP_K_SOCK;
    P->tab[nfd].u.s = c;
    if (addr) {
        struct axl_sock_info in;
        memset(&in, 0, sizeof(in));
        axl_sock_info(P->ctx, c->h, &in);
        put_sin(addr, addrlen, in.raddr, in.rport);
    }
    axp_listener_fill(P, l); /* room came free */
    l->spin = 0;
    return nfd;
}

int axp_accept(int fd, struct sockaddr *addr, socklen_t *addrlen)
{
    int kernel;
    struct axp_sock *l = axp_sock_of(fd, &kernel);
    KERNEL_OR_FAIL(l, fd, accept(fd, addr, addrlen));
    return axp_accept4(fd, addr, addrlen, 0);
}

int axp_connect(int fd, const struct sockaddr *addr, socklen_t addrlen)
{
    int kernel;
    struct axp_sock *s = axp_sock_of(fd, &kernel);
    KERNEL_OR_FAIL(s, fd, connect(fd, addr, addrlen));
    struct axp *P = axp_g;
    uint32_t a;
    uint16_t port;
    if (!s->stream) {
        /* UDP (udp_connect / __ip4_datagram_connect) */
        if (addr && addrlen >= sizeof(sa_family_t) && addr->sa_family == AF_UNSPEC) {
            /* disconnect: forget the default destination */
            s->udp_conn = 0;
            s->state = AXP_S_NEW;
            return 0;
        }
        int e = get_sin(addr, addrlen, &a, &port);
        if (e) return axp_fail(e);
        if (port == 0) return axp_fail(EINVAL);
        int r = axl_connect(P->ctx, s->h, a, port);
        if (r < 0) return axp_fail(-r);
        s->udp_conn = 1;
        s->paddr = a;
        s->pport = port;
        s->bound = 1;
        s->state = AXP_S_CONNECTED;
        return 0;
    }
    /* TCP: inet_stream_connect() */
    switch (s->state) {
    case AXP_S_CONNECTED:
        return axp_fail(EISCONN);
    case AXP_S_LISTEN:
        return axp_fail(EISCONN);
    case AXP_S_CONNECTING:
        return axp_fail(EALREADY);
    case AXP_S_OVER:
        return axp_fail(EISCONN);
    case AXP_S_FAILED: {
        if (s->err) { /* the error of the last attempt, once */
            int e = s->err;
            s->err = 0;
            s->err_seen = 1;
            return axp_fail(e);
        }
        int r = sock_reopen(P, s); /* connect again */
        if (r < 0) return axp_fail(-r);
        break;
    }
    default:
        break;
    }
    int e = get_sin(addr, addrlen, &a, &port);
    if (e) return axp_fail(e);
    if (port == 0 || a == 0) return axp_fail(ECONNREFUSED);
    int r = axl_connect(P->ctx, s->h, a, port);
    if (r < 0) return axp_fail(-r);
    s->state = AXP_S_CONNECTING;
    s->bound = 1;
    s->err = 0;
    if (s->nonblock) return axp_fail(EINPROGRESS);
    int64_t deadline = deadline_of(s->sndtimeo_ns);
    while (s->state == AXP_S_CONNECTING) {
        r = axp_block(P, deadline);
        if (r == -EAGAIN) return axp_fail(EINPROGRESS); /* SO_SNDTIMEO ran out */
        if (r < 0) return axp_fail(-r);
    }
    if (s->state == AXP_S_FAILED || s->err) {
        int e2 = s->err ? s->err : ECONNREFUSED;
        s->err = 0;
        s->err_seen = 1;
        return axp_fail(e2);
    }
    return 0;
}

int axp_shutdown(int fd, int how)
{
    int kernel;
    struct axp_sock *s = axp_sock_of(fd, &kernel);
    KERNEL_OR_FAIL(s, fd, shutdown(fd, how));
    struct axp *P = axp_g;
    if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR) return axp_fail(EINVAL);
    if (s->state == AXP_S_LISTEN && s->stream) {
        /* Linux: shutdown(SHUT_RD) of a listener stops it; keep it simple
         * and only wake the waiters. */
        s->rd_shut = 1;
        axp_edge(P, s, EPOLLIN | EPOLLHUP);
        return 0;
    }
    if (s->state != AXP_S_CONNECTED && s->state != AXP_S_OVER &&
        !(s->state == AXP_S_CONNECTING))
        return axp_fail(ENOTCONN); /* inet_shutdown */
    if (s->stream && s->state != AXP_S_OVER) {
        int r = axl_shutdown(P->ctx, s->h, how);
        if (r < 0 && r != -ENOTCONN) return axp_fail(-r);
    }
    if (how != SHUT_WR) s->rd_shut = 1;
    if (how != SHUT_RD) s->wr_shut = 1;
    axp_edge(P, s, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLHUP);
    return 0;
}

int axp_close(int fd)
{
    struct axp_fde *f = axp_fde(fd);
    if (fd < 0) return axp_fail(EBADF);
    if (!f || f->kind == AXP_K_NONE) return close(fd);
    struct axp *P = axp_g;
    if (f->kind == AXP_K_FREE) return axp_fail(EBADF);
    if (f->kind == AXP_K_EPOLL) {
        axp_ep_free(P, f->u.ep);
        axp_fd_release(P, fd);
        return 0;
    }
    struct axp_sock *s = f->u.s;
    axp_epi_detach_sock(s);
    /* A listener's queued connections are reset, as Linux's
     * inet_csk_listen_stop() does. */
    while (s->acq_n) {
        struct axp_sock *c = s->acq[s->acq_head];
        s->acq_head = (s->acq_head + 1) % s->acq_cap;
        s->acq_n--;
        axl_abort(P->ctx, c->h);
        axp_sock_release(P, c);
        P->st.accept_reset++;
    }
    int reset = s->stream && s->linger_on && s->linger_s == 0;
    if (s->stream && !reset && (s->state == AXP_S_CONNECTED)) {
        /* RFC 2525 §2.17 / tcp_close(): unread data at close -> RST */
        struct axl_sock_info in;
        if (axl_sock_info(P->ctx, s->h, &in) == 0 && in.readable) {
            reset = 1;
            P->st.close_reset++;
        }
    }
    if (reset)
        axl_abort(P->ctx, s->h);
    else
        axl_close(P->ctx, s->h); /* lazy: the stack finishes the connection */
    axp_sock_release(P, s);
    axp_fd_release(P, fd);
    return 0;
}

/* ---- options ---------------------------------------------------------------------- */

static int opt_int(const void *v, socklen_t len, int *out)
{
    if (!v) return EFAULT;
    if (len < (socklen_t)sizeof(int)) return EINVAL;
    memcpy(out, v, sizeof(int));
    return 0;
}

static int opt_tv(const void *v, socklen_t len, int64_t *ns)
{
    struct timeval tv;
    if (!v) return EFAULT;
    if (len < (socklen_t)sizeof(tv)) return EINVAL;
    memcpy(&tv, v, sizeof(tv));
    if (tv.tv_usec < 0 || tv.tv_usec >= 1000000) return EDOM; /* sock_set_timeout */
    if (tv.tv_sec < 0) {
        *ns = 0;
        return 0;
    }
    *ns = (int64_t)tv.tv_sec * 1000000000 + (int64_t)tv.tv_usec * 1000;
    return 0;
}

int axp_setsockopt(int fd, int level, int optname, const void *optval, socklen_t optlen)
{
    int kernel;
    struct axp_sock *s = axp_sock_of(fd, &kernel);
    KERNEL_OR_FAIL(s, fd, setsockopt(fd, level, optname, optval, optlen));
    struct axp *P = axp_g;
    int v = 0, e = 0, r = 0;
    if (level == SOL_SOCKET) {
        switch (optname) {
        case SO_RCVTIMEO:
            e = opt_tv(optval, optlen, &s->rcvtimeo_ns);
            break;
        case SO_SNDTIMEO:
            e = opt_tv(optval, optlen, &s->sndtimeo_ns);
            break;
        case SO_LINGER: {
            struct linger lg;
            if (!optval) return axp_fail(EFAULT);
            if (optlen < (socklen_t)sizeof(lg)) return axp_fail(EINVAL);
            memcpy(&lg, optval, sizeof(lg));
            s->linger_on = !!lg.l_onoff;
            s->linger_s = lg.l_linger < 0 ? 0 : lg.l_linger;
            if (s->stream)
                r = axl_setopt(P->ctx, s->h, AXL_SO_LINGER,
                               s->linger_on ? (uint32_t)s->linger_s : 0xffffffffu);
            break;
        }
        default:
            if ((e = opt_int(optval, optlen, &v))) break;
            switch (optname) {
            case SO_REUSEADDR:
                s->reuseaddr = !!v;
                r = axl_setopt(P->ctx, s->h, AXL_SO_REUSEADDR, !!v);
                break;
            case SO_REUSEPORT:
                s->reuseport = !!v;
                r = axl_setopt(P->ctx, s->h, AXL_SO_REUSEPORT, !!v);
                break;
            case SO_KEEPALIVE:
                s->keepalive = !!v;
                if (s->stream) r = axl_setopt(P->ctx, s->h, AXL_SO_KEEPALIVE, !!v);
                break;
            case SO_BROADCAST:
                s->broadcast = !!v;
                break;
            case SO_RCVBUF:
            case SO_SNDBUF:
            case SO_RCVLOWAT:
            case SO_SNDLOWAT:
                /* Buffer sizes are fixed per context (axl_config rx_size /
                 * tx_size); accepted, and getsockopt reports the real size. */
                break;
            default:
                e = ENOPROTOOPT;
            }
        }
    } else if (level == IPPROTO_TCP) {
        if (!s->stream) return axp_fail(EOPNOTSUPP);
        if ((e = opt_int(optval, optlen, &v))) return axp_fail(e);
        switch (optname) {
        case TCP_NODELAY:
            s->nodelay = !!v;
            r = axl_setopt(P->ctx, s->h, AXL_SO_NODELAY, !!v);
            break;
        case TCP_KEEPIDLE:
        case TCP_KEEPINTVL:
        case TCP_KEEPCNT: {
            /* tcp_sock_set_keep*: 1..32767 seconds (count 1..127) */
            if (v < 1 || v > (optname == TCP_KEEPCNT ? 127 : 32767)) return axp_fail(EINVAL);
            enum axl_sockopt o = optname == TCP_KEEPIDLE    ? AXL_SO_KEEPIDLE
                                 : optname == TCP_KEEPINTVL ? AXL_SO_KEEPINTVL
                                                            : AXL_SO_KEEPCNT;
            r = axl_setopt(P->ctx, s->h, o, (uint32_t)v);
            if (r == 0) {
                if (optname == TCP_KEEPIDLE) s->keepidle = (uint32_t)v;
                if (optname == TCP_KEEPINTVL) s->keepintvl = (uint32_t)v;
                if (optname == TCP_KEEPCNT) s->keepcnt = (uint32_t)v;
            }
            break;
        }
        default:
            e = ENOPROTOOPT;
        }
    } else if (level == IPPROTO_IP) {
        e = ENOPROTOOPT;
    } else {
        e = ENOPROTOOPT;
    }
    if (e) return axp_fail(e);
    if (r < 0) return axp_fail(-r);
    return 0;
}

static int put_int(void *optval, socklen_t *optlen, int v)
{
    if (!optval || !optlen) return EFAULT;
    if (*optlen < (socklen_t)sizeof(int)) return EINVAL;
    memcpy(optval, &v, sizeof(int));
    *optlen = sizeof(int);
    return 0;
}

int axp_getsockopt(int fd, int level, int optname, void *optval, socklen_t *optlen)
{
    int kernel;
    struct axp_sock *s = axp_sock_of(fd, &kernel);
    KERNEL_OR_FAIL(s, fd, getsockopt(fd, level, optname, optval, optlen));
    struct axp *P = axp_g;
    int e;
    if (level == SOL_SOCKET) {
        switch (optname) {
        case SO_ERROR: {
            int v = s->err;
            s->err = 0; /* sock_error(): read and clear */
            if (v) s->err_seen = 1;
            e = put_int(optval, optlen, v);
            break;
        }
        case SO_TYPE:
            e = put_int(optval, optlen, s->stream ? SOCK_STREAM : SOCK_DGRAM);
            break;
        case SO_DOMAIN:
            e = put_int(optval, optlen, AF_INET);
            break;
        case SO_PROTOCOL:
            e = put_int(optval, optlen, s->stream ? IPPROTO_TCP : IPPROTO_UDP);
            break;
        case SO_ACCEPTCONN:
            e = put_int(optval, optlen, s->state == AXP_S_LISTEN);
            break;
        case SO_REUSEADDR:
            e = put_int(optval, optlen, s->reuseaddr);
            break;
        case SO_REUSEPORT:
            e = put_int(optval, optlen, s->reuseport);
            break;
        case SO_KEEPALIVE:
            e = put_int(optval, optlen, s->keepalive);
            break;
        case SO_BROADCAST:
            e = put_int(optval, optlen, s->broadcast);
            break;
        case SO_RCVBUF:
            e = put_int(optval, optlen, (int)P->rx_size);
            break;
        case SO_SNDBUF:
            e = put_int(optval, optlen, (int)P->tx_size);
            break;
        case SO_RCVLOWAT:
        case SO_SNDLOWAT:
            e = put_int(optval, optlen, 1);
            break;
        case SO_LINGER: {
            struct linger lg = { s->linger_on, s->linger_s };
            if (!optval || !optlen) return axp_fail(EFAULT);
            if (*optlen < (socklen_t)sizeof(lg)) return axp_fail(EINVAL);
            memcpy(optval, &lg, sizeof(lg));
            *optlen = sizeof(lg);
            e = 0;
            break;
        }
        case SO_RCVTIMEO:
        case SO_SNDTIMEO: {
            int64_t ns = optname == SO_RCVTIMEO ? s->rcvtimeo_ns : s->sndtimeo_ns;
            struct timeval tv = { (time_t)(ns / 1000000000), (suseconds_t)(ns % 1000000000 / 1000) };
            if (!optval || !optlen) return axp_fail(EFAULT);
            if (*optlen < (socklen_t)sizeof(tv)) return axp_fail(EINVAL);
            memcpy(optval, &tv, sizeof(tv));
            *optlen = sizeof(tv);
            e = 0;
            break;
        }
        default:
            e = ENOPROTOOPT;
        }
    } else if (level == IPPROTO_TCP) {
        if (!s->stream) return axp_fail(EOPNOTSUPP);
        switch (optname) {
        case TCP_NODELAY:
            e = put_int(optval, optlen, s->nodelay);
            break;
        case TCP_KEEPIDLE:
            e = put_int(optval, optlen, (int)(s->keepidle ? s->keepidle : 7200));
            break;
        case TCP_KEEPINTVL:
            e = put_int(optval, optlen, (int)(s->keepintvl ? s->keepintvl : 75));
            break;
        case TCP_KEEPCNT:
            e = put_int(optval, optlen, (int)(s->keepcnt ? s->keepcnt : 9));
            break;
        default:
            e = ENOPROTOOPT;
        }
    } else {
        e = ENOPROTOOPT;
    }
    return e ? axp_fail(e) : 0;
}

int axp_getsockname(int fd, struct sockaddr *addr, socklen_t *addrlen)
{
    int kernel;
    struct axp_sock *s = axp_sock_of(fd, &kernel);
    KERNEL_OR_FAIL(s, fd, getsockname(fd, addr, addrlen));
    if (!addr || !addrlen) return axp_fail(EFAULT);
    struct axl_sock_info in;
    memset(&in, 0, sizeof(in));
    if (s->bound || s->state != AXP_S_NEW) axl_sock_info(axp_g->ctx, s->h, &in);
    put_sin(addr, addrlen, in.laddr, in.lport);
    return 0;
}

int axp_getpeername(int fd, struct sockaddr *addr, socklen_t *addrlen)
{
    int kernel;
    struct axp_sock *s = axp_sock_of(fd, &kernel);
    KERNEL_OR_FAIL(s, fd, getpeername(fd, addr, addrlen));
    if (!addr || !addrlen) return axp_fail(EFAULT);
    if (!s->stream) {
        if (!s->udp_conn) return axp_fail(ENOTCONN);
        put_sin(addr, addrlen, s->paddr, s->pport);
        return 0;
    }
    if (s->state != AXP_S_CONNECTED && s->state != AXP_S_OVER) return axp_fail(ENOTCONN);
    struct axl_sock_info in;
    memset(&in, 0, sizeof(in));
    axl_sock_info(axp_g->ctx, s->h, &in);
    put_sin(addr, addrlen, in.raddr, in.rport);
    return 0;
}

int axp_fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    long arg = va_arg(ap, long); /* every command we handle takes an int or nothing */
    va_end(ap);
    struct axp_fde *f = axp_fde(fd);
    if (fd < 0) return axp_fail(EBADF);
    if (!f || f->kind == AXP_K_NONE) return fcntl(fd, cmd, arg);
    if (f->kind == AXP_K_FREE) return axp_fail(EBADF);
    struct axp_sock *s = f->kind == AXP_K_SOCK ? f->u.s : NULL;
    switch (cmd) {
    case F_GETFL:
        return O_RDWR | (s && s->nonblock ? O_NONBLOCK : 0);
    case F_SETFL:
        if (s) s->nonblock = !!(arg & O_NONBLOCK);
        return 0;
    case F_GETFD:
        return (s ? s->cloexec : f->cloexec) ? FD_CLOEXEC : 0;
    case F_SETFD:
        if (s)
            s->cloexec = !!(arg & FD_CLOEXEC);
        else
            f->cloexec = !!(arg & FD_CLOEXEC);
        return 0;
    default:
        return axp_fail(EINVAL); /* F_DUPFD & co: not for our descriptors */
    }
}

int axp_ioctl(int fd, unsigned long req, ...)
{
    va_list ap;
    va_start(ap, req);
    void *argp = va_arg(ap, void *);
    va_end(ap);
    int kernel;
    struct axp_sock *s = axp_sock_of(fd, &kernel);
    KERNEL_OR_FAIL(s, fd, ioctl(fd, req, argp));
    if (!argp) return axp_fail(EFAULT);
    switch (req) {
    case FIONBIO: {
        int v;
        memcpy(&v, argp, sizeof(v));
        s->nonblock = !!v;
        return 0;
    }
    case FIONREAD: {
        if (s->state == AXP_S_LISTEN) return axp_fail(EINVAL);
        struct axl_sock_info in;
        memset(&in, 0, sizeof(in));
        if (s->state != AXP_S_NEW || !s->stream) axl_sock_info(axp_g->ctx, s->h, &in);
        int v = s->stashed ? (int)s->stash_len : (int)in.readable;
        memcpy(argp, &v, sizeof(v));
        return 0;
    }
    default:
        return axp_fail(ENOTTY);
    }
}
