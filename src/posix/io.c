/* SPDX-License-Identifier: MIT */
/*
 * posix/io.c - data calls of the POSIX layer: read/write/readv/writev,
 * recv/send/recvfrom/sendto/recvmsg/sendmsg, for TCP and UDP.
 *
 * Every call funnels into tcp_rx/tcp_tx/udp_rx/udp_tx over an iovec array.
 * The fast path is one table lookup and one axl_recv/axl_send: a
 * non-blocking call that finds nothing returns EAGAIN without a system call
 * (and runs the pump once in AXP_SPIN_PUMP times, so a program that only
 * spins on recv still makes the RTC engine progress). Blocking calls wait
 * in axp_block (axl_poll) only when nothing is ready.
 *
 * Linux semantics kept (tcp_recvmsg/tcp_sendmsg/udp_recvmsg/udp_sendmsg):
 * queued bytes before a pending error; the error once (ECONNRESET), then
 * 0; EPIPE (+SIGPIPE unless MSG_NOSIGNAL) after shutdown(SHUT_WR), on an
 * ended connection and on a socket that never connected; EAGAIN on a
 * connecting socket without waiting; a blocking send queues everything
 * (SO_SNDTIMEO may end it early with the partial count or EAGAIN);
 * MSG_PEEK, MSG_WAITALL, MSG_DONTWAIT, MSG_TRUNC (UDP: the real length;
 * recvmsg sets MSG_TRUNC in msg_flags); a connected UDP socket takes
 * datagrams only from its peer.
 *
 * Call chain: application -> axp_recv & co -> axl_recv/axl_recv_peek/
 * axl_send/axl_sendto/axl_recvfrom (axl/axl.h); waits -> axp_block.
 */
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "posix/posix_priv.h"

static int64_t deadline_of(int64_t timeo_ns)
{
    return timeo_ns ? axp_now_ns() + timeo_ns : 0;
}

static size_t iov_total(const struct iovec *iov, int n)
{
    size_t t = 0;
    for (int i = 0; i < n; i++) t += iov[i].iov_len;
    return t;
}

static uint8_t *bounce(struct axp *P)
{
    if (!P->bounce) P->bounce = malloc(AXP_UDP_MAX + 1);
    return P->bounce;
}

/* A non-blocking call found nothing: once in AXP_SPIN_PUMP times, run the
 * pump so that the RTC engine makes progress. 1 if the pump ran. */
static int spin_pump(struct axp *P, struct axp_sock *s)
{
    if (++s->spin < AXP_SPIN_PUMP) return 0;
    s->spin = 0;
    axp_pump(P, 0);
    return 1;
}

static ssize_t epipe(int flags)
{
    if (!(flags & MSG_NOSIGNAL)) raise(SIGPIPE); /* as the kernel's sk_stream_error() */
    return axp_fail(EPIPE);
}

static ssize_t take_err(struct axp_sock *s)
{
    int e = s->err;
    s->err = 0;
    s->err_seen = 1;
    return axp_fail(e);
}

/* ---- TCP ---------------------------------------------------------------------------- */

/* Copy what is queued into iov (from the start) without consuming (MSG_PEEK). */
static int tcp_peek(struct axp *P, struct axp_sock *s, const struct iovec *iov, int n)
{
    struct axl_iov pv[2];
    int r = axl_recv_peek(P->ctx, s->h, pv, 2);
    if (r <= 0) return r;
    size_t got = 0;
    int vi = 0;
    size_t voff = 0;
    for (int p = 0; p < 2 && vi < n && got < (size_t)r; p++) {
        size_t poff = 0;
        while (poff < pv[p].len && vi < n) {
            size_t k = pv[p].len - poff;
            if (k > iov[vi].iov_len - voff) k = iov[vi].iov_len - voff;
            memcpy((uint8_t *)iov[vi].iov_base + voff, pv[p].base + poff, k);
            poff += k;
            voff += k;
            got += k;
            if (voff == iov[vi].iov_len) {
                vi++;
                voff = 0;
            }
        }
    }
    return (int)got;
}

/* Consume into iov starting `skip` bytes in. Bytes (> 0), 0 at EOF, or the
 * axl error. */
static int tcp_read(struct axp *P, struct axp_sock *s, const struct iovec *iov, int n, size_t skip)
{
    size_t got = 0;
    for (int i = 0; i < n; i++) {
        size_t len = iov[i].iov_len;
        if (skip >= len) {
            skip -= len;
            continue;
        }
        uint8_t *b = (uint8_t *)iov[i].iov_base + skip;
        len -= skip;
        skip = 0;
        while (len) {
            uint32_t want = len > 0x40000000u ? 0x40000000u : (uint32_t)len;
            int r = axl_recv(P->ctx, s->h, b, want);
            if (r <= 0) return got ? (int)got : r;
            got += (size_t)r;
            b += r;
            len -= (size_t)r;
            if ((uint32_t)r < want) return (int)got; /* drained */
        }
    }
    return (int)got;
}

static ssize_t tcp_rx(struct axp *P, struct axp_sock *s, const struct iovec *iov, int n, int flags)
{
    if (flags & MSG_OOB) return axp_fail(EINVAL); /* no urgent data (RFC 6093) */
    switch (s->state) {
    case AXP_S_NEW:
    case AXP_S_LISTEN:
        return axp_fail(ENOTCONN);
    case AXP_S_FAILED:
        return s->err ? take_err(s) : axp_fail(ENOTCONN);
    default:
        break;
    }
    size_t want = iov_total(iov, n);
    if (want == 0) return 0;
    int nonblock = s->nonblock || (flags & MSG_DONTWAIT);
    int64_t deadline = 0;
    int have_deadline = 0;
    size_t total = 0;
    for (;;) {
        int r = -EAGAIN;
        if (s->state != AXP_S_CONNECTING)
            r = (flags & MSG_PEEK) ? tcp_peek(P, s, iov, n) : tcp_read(P, s, iov, n, total);
        if (r > 0) {
            s->spin = 0;
            total += (size_t)r;
            if ((flags & MSG_PEEK) || !(flags & MSG_WAITALL) || total >= want) return (ssize_t)total;
            continue;
        }
        if (total) { /* MSG_WAITALL keeps waiting while more may come (recv(2)) */
            if (!(flags & MSG_WAITALL) || r != -EAGAIN || nonblock || s->err || s->rd_shut ||
                s->state == AXP_S_OVER || s->state == AXP_S_FAILED)
                return (ssize_t)total;
        } else if (s->err) {
            return take_err(s);
        }
        if (r == 0) return 0;
        if (r != -EAGAIN) {
            if (s->err_seen) return 0;
            s->err_seen = 1;
            return axp_fail(-r);
        }
        if (s->rd_shut || s->state == AXP_S_OVER) return 0;
        if (s->state == AXP_S_FAILED) return axp_fail(ENOTCONN);
        if (nonblock) {
            if (spin_pump(P, s)) continue; /* retried once: the counter restarts */
            return axp_fail(EAGAIN);
        }
        if (!have_deadline) {
            deadline = deadline_of(s->rcvtimeo_ns);
            have_deadline = 1;
        }
        int b = axp_block(P, deadline);
        if (b < 0) return total ? (ssize_t)total : axp_fail(-b);
    }
}

static ssize_t tcp_tx(struct axp *P, struct axp_sock *s, const struct iovec *iov, int n, int flags)
{
    if (flags & MSG_OOB) return axp_fail(EOPNOTSUPP);
    if (s->err) return take_err(s);
    int nonblock = s->nonblock || (flags & MSG_DONTWAIT);
    int64_t deadline = 0;
    int have_deadline = 0;
    for (;;) {
        switch (s->state) {
        case AXP_S_NEW:
        case AXP_S_LISTEN:
        case AXP_S_FAILED:
        case AXP_S_OVER:
            return epipe(flags); /* sk_stream_wait_connect / SEND_SHUTDOWN */
        default:
            break;
        }
        if (s->wr_shut) return epipe(flags);
        if (s->state == AXP_S_CONNECTED) break;
        /* connecting */
        if (nonblock) return axp_fail(EAGAIN);
        if (!have_deadline) {
            deadline = deadline_of(s->sndtimeo_ns);
            have_deadline = 1;
        }
        int b = axp_block(P, deadline);
        if (b < 0) return axp_fail(-b);
        if (s->err) return take_err(s);
    }
    size_t want = iov_total(iov, n);
    size_t total = 0;
    int vi = 0;
    size_t voff = 0;
    while (vi < n && total < want) {
        if (iov[vi].iov_len == voff) {
            vi++;
            voff = 0;
            continue;
        }
        size_t len = iov[vi].iov_len - voff;
        uint32_t chunk = len > 0x40000000u ? 0x40000000u : (uint32_t)len;
        int r = axl_send(P->ctx, s->h, (const uint8_t *)iov[vi].iov_base + voff, chunk);
        if (r > 0) {
            total += (size_t)r;
            voff += (size_t)r;
            continue;
        }
        if (r == 0) r = -EAGAIN;
        if (r == -EAGAIN) {
            if (nonblock) {
                if (!total && spin_pump(P, s)) continue;
                break;
            }
            if (total) axl_flush(P->ctx);
            if (!have_deadline) {
                deadline = deadline_of(s->sndtimeo_ns);
                have_deadline = 1;
            }
            int b = axp_block(P, deadline);
            if (b < 0) {
                if (total) break;
                return axp_fail(-b);
            }
            if (s->err || s->state != AXP_S_CONNECTED) {
                if (total) break;
                if (s->err) return take_err(s);
                return epipe(flags);
            }
            continue;
        }
        if (total) break;
        if (s->err) return take_err(s);
        if (r == -EPIPE) return epipe(flags);
        return axp_fail(-r);
    }
    if (total) {
        s->spin = 0;
        if (!(flags & MSG_MORE)) axl_flush(P->ctx);
        return (ssize_t)total;
    }
    if (want == 0) return 0;
    return axp_fail(EAGAIN);
}

/* ---- UDP ---------------------------------------------------------------------------- */

/* One datagram into iov. Returns its full length (may exceed the room:
 * truncated), with *copied the bytes copied; the source in a and p. */
static ssize_t udp_rx(struct axp *P, struct axp_sock *s, const struct iovec *iov, int n, int flags,
                      uint32_t *a, uint16_t *p, size_t *copied)
{
    if (flags & MSG_OOB) return axp_fail(EOPNOTSUPP);
    size_t room = iov_total(iov, n);
    int nonblock = s->nonblock || (flags & MSG_DONTWAIT);
    int64_t deadline = 0;
    int have_deadline = 0;
    for (;;) {
        if (!s->stashed && ((flags & MSG_PEEK) || n != 1)) {
            /* receive whole into the bounce buffer, then scatter */
            uint8_t *bb = bounce(P);
            if (!bb) return axp_fail(ENOMEM);
            int r = axl_recvfrom(P->ctx, s->h, bb, AXP_UDP_MAX + 1, &s->stash_addr, &s->stash_port);
            if (r >= 0) {
                if (s->udp_conn && (s->stash_addr != s->paddr || s->stash_port != s->pport)) {
                    P->st.udp_foreign_drop++;
                    continue;
                }
                if (!s->stash) s->stash = malloc(AXP_UDP_MAX + 1);
                if (!s->stash) return axp_fail(ENOMEM);
                memcpy(s->stash, bb, (size_t)r);
                s->stash_len = (uint32_t)r;
                s->stashed = 1;
            } else if (r != -EAGAIN) {
                if (!s->udp_conn) continue; /* ICMP errors: connected sockets only (Linux) */
                return axp_fail(-r);
            }
        }
        if (s->stashed) {
            size_t off = 0;
            for (int i = 0; i < n && off < s->stash_len; i++) {
                size_t k = s->stash_len - off;
                if (k > iov[i].iov_len) k = iov[i].iov_len;
                memcpy(iov[i].iov_base, s->stash + off, k);
                off += k;
            }
            *copied = off;
            *a = s->stash_addr;
            *p = s->stash_port;
            if (!(flags & MSG_PEEK)) s->stashed = 0;
            s->spin = 0;
            return (ssize_t)s->stash_len;
        }
        if (n == 1 && !(flags & MSG_PEEK)) {
            uint32_t len = iov[0].iov_len > AXP_UDP_MAX + 1 ? AXP_UDP_MAX + 1 : (uint32_t)iov[0].iov_len;
            uint32_t full = 0;
            if (len <= AXP_UDP_MAX) {
                /* the next datagram's size tells truncation */
                struct axl_sock_info in;
                if (axl_sock_info(P->ctx, s->h, &in) == 0) full = in.readable;
            }
            int r = axl_recvfrom(P->ctx, s->h, iov[0].iov_base, len, a, p);
            if (r >= 0) {
                if (s->udp_conn && (*a != s->paddr || *p != s->pport)) {
                    P->st.udp_foreign_drop++;
                    continue;
                }
                s->spin = 0;
                *copied = (size_t)r;
                return (ssize_t)(full > (uint32_t)r ? full : (uint32_t)r);
            }
            if (r != -EAGAIN) {
                /* an ICMP error (RFC 1122 §4.1.3.3): Linux reports it on
                 * connected sockets only; axl reported it once, go on */
                if (!s->udp_conn) continue;
                return axp_fail(-r);
            }
        }
        (void)room;
        if (s->rd_shut) {
            *copied = 0;
            return 0;
        }
        if (nonblock) {
            if (spin_pump(P, s)) continue;
            return axp_fail(EAGAIN);
        }
        if (!have_deadline) {
            deadline = deadline_of(s->rcvtimeo_ns);
            have_deadline = 1;
        }
        int b = axp_block(P, deadline);
        if (b < 0) return axp_fail(-b);
    }
}

static ssize_t udp_tx(struct axp *P, struct axp_sock *s, const struct iovec *iov, int n, int flags,
                      const struct sockaddr *dst, socklen_t dstlen)
{
    if (flags & MSG_OOB) return axp_fail(EOPNOTSUPP);
    uint32_t a = 0;
    uint16_t port = 0;
    if (dst) {
        if (dstlen < (socklen_t)sizeof(struct sockaddr_in)) return axp_fail(EINVAL);
        const struct sockaddr_in *sin = (const struct sockaddr_in *)dst;
        if (sin->sin_family != AF_INET) return axp_fail(EAFNOSUPPORT);
        a = ntohl(sin->sin_addr.s_addr);
        port = ntohs(sin->sin_port);
        if (port == 0) return axp_fail(EINVAL);
    } else if (!s->udp_conn) {
        return axp_fail(EDESTADDRREQ);
    }
    if (s->wr_shut) return epipe(flags);
    size_t len = iov_total(iov, n);
    if (len > AXP_UDP_MAX) return axp_fail(EMSGSIZE);
    const void *buf = n ? iov[0].iov_base : NULL;
    if (n > 1) {
        uint8_t *bb = bounce(P);
        if (!bb) return axp_fail(ENOMEM);
        size_t off = 0;
        for (int i = 0; i < n; i++) {
            memcpy(bb + off, iov[i].iov_base, iov[i].iov_len);
            off += iov[i].iov_len;
        }
        buf = bb;
    }
    int nonblock = s->nonblock || (flags & MSG_DONTWAIT);
    int64_t deadline = 0;
    int have_deadline = 0;
    static const uint8_t empty;
    for (;;) {
        int r = axl_sendto(P->ctx, s->h, buf ? buf : &empty, (uint32_t)len, a, port);
        if (r == 0) {
            s->bound = 1;
            if (!(flags & MSG_MORE)) axl_flush(P->ctx);
            return (ssize_t)len;
        }
        if (r != -EAGAIN) return axp_fail(-r);
        if (nonblock) {
            if (spin_pump(P, s)) continue;
            return axp_fail(EAGAIN);
        }
        if (!have_deadline) {
            deadline = deadline_of(s->sndtimeo_ns);
            have_deadline = 1;
        }
        int b = axp_block(P, deadline);
        if (b < 0) return axp_fail(-b);
    }
}

/* ---- entry points --------------------------------------------------------------------- */

static ssize_t rx(int fd, const struct iovec *iov, int n, int flags, struct sockaddr *src,
                  socklen_t *srclen, int *msg_flags)
{
    int kernel;
    struct axp_sock *s = axp_sock_of(fd, &kernel);
    if (!s) return -1; /* callers forwarded kernel descriptors already */
    struct axp *P = axp_g;
    if (n < 0 || n > IOV_MAX) return axp_fail(EINVAL);
    if (s->stream) {
        ssize_t r = tcp_rx(P, s, iov, n, flags);
        if (r >= 0 && src && srclen) *srclen = 0; /* connected: no address (Linux) */
        return r;
    }
    uint32_t a = 0;
    uint16_t p = 0;
    size_t copied = 0;
    ssize_t full = udp_rx(P, s, iov, n, flags, &a, &p, &copied);
    if (full < 0) return full;
    if (src && srclen) {
        struct sockaddr_in sin;
        memset(&sin, 0, sizeof(sin));
        sin.sin_family = AF_INET;
        sin.sin_addr.s_addr = htonl(a);
        sin.sin_port = htons(p);
        size_t k = *srclen < sizeof(sin) ? *srclen : sizeof(sin);
        memcpy(src, &sin, k);
        *srclen = sizeof(sin);
    }
    if ((size_t)full > copied && msg_flags) *msg_flags |= MSG_TRUNC;
    return (flags & MSG_TRUNC) ? full : (ssize_t)copied;
}

static ssize_t tx(int fd, const struct iovec *iov, int n, int flags, const struct sockaddr *dst,
                  socklen_t dstlen)
{
    int kernel;
    struct axp_sock *s = axp_sock_of(fd, &kernel);
    if (!s) return -1;
    if (n < 0 || n > IOV_MAX) return axp_fail(EINVAL);
    if (s->stream) return tcp_tx(axp_g, s, iov, n, flags); /* address ignored (Linux) */
    return udp_tx(axp_g, s, iov, n, flags, dst, dstlen);
}

#define FORWARD(call)                                                                              \
    do {                                                                                           \
        int kernel_;                                                                               \
        if (!axp_sock_of(fd, &kernel_)) {                                                          \
            if (kernel_) return call;                                                              \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

ssize_t axp_recv(int fd, void *buf, size_t len, int flags)
{
    FORWARD(recv(fd, buf, len, flags));
    struct iovec v = { buf, len };
    return rx(fd, &v, 1, flags, NULL, NULL, NULL);
}

ssize_t axp_read(int fd, void *buf, size_t len)
{
    FORWARD(read(fd, buf, len));
    struct iovec v = { buf, len };
    return rx(fd, &v, 1, 0, NULL, NULL, NULL);
}

ssize_t axp_readv(int fd, const struct iovec *iov, int iovcnt)
{
    FORWARD(readv(fd, iov, iovcnt));
    return rx(fd, iov, iovcnt, 0, NULL, NULL, NULL);
}

ssize_t axp_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *src,
                     socklen_t *srclen)
{
    FORWARD(recvfrom(fd, buf, len, flags, src, srclen));
    struct iovec v = { buf, len };
    return rx(fd, &v, 1, flags, src, srclen, NULL);
}

ssize_t axp_recvmsg(int fd, struct msghdr *msg, int flags)
{
    FORWARD(recvmsg(fd, msg, flags));
    if (!msg) return axp_fail(EFAULT);
    msg->msg_flags = 0;
    socklen_t sl = msg->msg_namelen;
    ssize_t r = rx(fd, msg->msg_iov, (int)msg->msg_iovlen, flags, msg->msg_name,
                   msg->msg_name ? &sl : NULL, &msg->msg_flags);
    if (r >= 0) {
        msg->msg_namelen = msg->msg_name ? sl : 0;
        msg->msg_controllen = 0; /* no ancillary data */
    }
    return r;
}

ssize_t axp_send(int fd, const void *buf, size_t len, int flags)
{
    FORWARD(send(fd, buf, len, flags));
    struct iovec v = { (void *)buf, len };
    return tx(fd, &v, 1, flags, NULL, 0);
}

ssize_t axp_write(int fd, const void *buf, size_t len)
{
    FORWARD(write(fd, buf, len));
    struct iovec v = { (void *)buf, len };
    return tx(fd, &v, 1, 0, NULL, 0);
}

ssize_t axp_writev(int fd, const struct iovec *iov, int iovcnt)
{
    FORWARD(writev(fd, iov, iovcnt));
    return tx(fd, iov, iovcnt, 0, NULL, 0);
}

ssize_t axp_sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *dst,
                   socklen_t dstlen)
{
    FORWARD(sendto(fd, buf, len, flags, dst, dstlen));
    struct iovec v = { (void *)buf, len };
    return tx(fd, &v, 1, flags, dst, dstlen);
}

ssize_t axp_sendmsg(int fd, const struct msghdr *msg, int flags)
{
    FORWARD(sendmsg(fd, msg, flags));
    if (!msg) return axp_fail(EFAULT);
    return tx(fd, msg->msg_iov, (int)msg->msg_iovlen, flags, msg->msg_name, msg->msg_namelen);
}
