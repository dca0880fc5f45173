/* SPDX-License-Identifier: MIT */
/*
 * msg.c - the channel's control messages on a Unix socket: one fixed-size
 * struct axl_chan_msg plus the fds it announces, passed with SCM_RIGHTS.
 * Used for the hand-over of a channel (HELLO: stack -> app, the two region
 * memfds) and for registering application memory (REGMEM / REGMEM_ACK).
 *
 * Works on SOCK_STREAM and SOCK_SEQPACKET sockets: a message is read in full
 * (a stream may deliver it in pieces; the fds ride on its first byte).
 * Everything received is checked (decode.c: axl_chan_msg_check): size, magic,
 * version, type, per-type fields and the exact number of fds. Received fds are
 * close-on-exec (MSG_CMSG_CLOEXEC), and on any error every fd that arrived is
 * closed, so a peer cannot make us leak descriptors.
 *
 * Called by: axl_chan_send_hello / axl_chan_recv_hello, the regmem helpers,
 * the supervisor's control socket (later).
 */
#include "chan/chan.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/err.h"

#define MSG_MAX_FDS 8 /* accepted on the wire, then checked against the type */

int axl_chan_msg_send(int sock, const struct axl_chan_msg *m, const int *fds)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * AXL_CHAN_MSG_FDS_MAX)];
        struct cmsghdr align;
    } cm;
    struct iovec iov = {.iov_base = (void *)m, .iov_len = sizeof(*m)};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (m->nfds > AXL_CHAN_MSG_FDS_MAX) return AXL_EINVAL;
    if (m->nfds) {
        memset(cm.buf, 0, sizeof(cm.buf));
        msg.msg_control = cm.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * m->nfds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * m->nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * m->nfds);
    }
    size_t done = 0;
    while (done < sizeof(*m)) {
        ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN && done) { /* stream socket, rest of the message */
                struct pollfd pf = {.fd = sock, .events = POLLOUT};
                poll(&pf, 1, 1000);
                continue;
            }
            return -errno;
        }
        done += (size_t)n;
        iov.iov_base = (char *)m + done;
        iov.iov_len = sizeof(*m) - done;
        msg.msg_control = NULL; /* the fds went with the first byte */
        msg.msg_controllen = 0;
    }
    return 0;
}

static void close_all(int *fds, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        close(fds[i]);
}

int axl_chan_msg_recv(int sock, struct axl_chan_msg *m, int fds[AXL_CHAN_MSG_FDS_MAX])
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * MSG_MAX_FDS)];
        struct cmsghdr align;
    } cm;
    uint8_t buf[sizeof(struct axl_chan_msg)];
    int got[MSG_MAX_FDS];
    unsigned ngot = 0;
    size_t done = 0;
    int ret = 0, trunc = 0, type = SOCK_STREAM;
    socklen_t tl = sizeof(type);
    if (getsockopt(sock, SOL_SOCKET, SO_TYPE, &type, &tl) < 0) return -errno;

    while (done < sizeof(buf)) {
        struct iovec iov = {.iov_base = buf + done, .iov_len = sizeof(buf) - done};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
        if (done == 0) {
            msg.msg_control = cm.buf;
            msg.msg_controllen = sizeof(cm.buf);
        }
        ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN && done) { /* stream socket, rest of the message */
                struct pollfd pf = {.fd = sock, .events = POLLIN};
                if (poll(&pf, 1, 1000) == 0) {
                    ret = AXL_EMALFORMED; /* a peer that stops mid-message */
                    goto out;
                }
                continue;
            }
            ret = -errno;
            goto out;
        }
        if (n == 0) {
            ret = done ? AXL_EMALFORMED : -EPIPE;
            goto out;
        }
        if (done == 0) {
            for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
                unsigned k = (unsigned)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
                for (unsigned i = 0; i < k; i++) {
                    int fd;
                    memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
                    if (ngot < MSG_MAX_FDS)
                        got[ngot++] = fd;
                    else
                        close(fd);
                }
            }
            if (msg.msg_flags & MSG_CTRUNC) trunc = 1;
        }
        /* A datagram larger than a message, or a short one: message sockets
         * keep boundaries, so it is a malformed message, not a piece. */
        if ((msg.msg_flags & MSG_TRUNC) || (type != SOCK_STREAM && (size_t)n != sizeof(buf)))
            trunc = 1;
        done += (size_t)n;
        if (trunc) break;
    }
    if (trunc) {
        ret = AXL_EMALFORMED;
        goto out;
    }
    ret = axl_chan_msg_check(buf, sizeof(buf), ngot, m);
    if (ret == 0) {
        memcpy(fds, got, sizeof(int) * ngot);
        return 0;
    }
out:
    close_all(got, ngot);
    return ret;
}

int axl_chan_send_hello(int sock, const struct axl_chan_stk *ch)
{
    struct axl_chan_msg m;
    int fds[AXL_CHAN_MSG_FDS_MAX] = {ch->fd[0], ch->fd[1], ch->has_bell ? ch->bell_fd : -1};
    axl_chan_stk_hello(ch, &m);
    return axl_chan_msg_send(sock, &m, fds);
}

int axl_chan_recv_hello_bell(int sock, struct axl_chan_hello *h, int fds[AXL_CHAN_NREGIONS],
                             int *bell_fd)
{
    struct axl_chan_msg m;
    int got[AXL_CHAN_MSG_FDS_MAX];
    int ret = axl_chan_msg_recv(sock, &m, got);
    if (ret < 0) return ret;
    if (m.type != AXL_CHAN_MSG_HELLO || (!bell_fd && m.nfds > AXL_CHAN_NREGIONS)) {
        close_all(got, m.nfds);
        /* A stack with a bell needs an app that rings it: refuse rather than
         * run with wake-ups that never reach a sleeping replica. */
        return m.type != AXL_CHAN_MSG_HELLO ? AXL_EMALFORMED : AXL_EVERSION;
    }
    fds[0] = got[0];
    fds[1] = got[1];
    if (bell_fd) *bell_fd = m.nfds > AXL_CHAN_NREGIONS ? got[AXL_CHAN_HELLO_BELL] : -1;
    *h = m.u.hello;
    return 0;
}

int axl_chan_recv_hello(int sock, struct axl_chan_hello *h, int fds[AXL_CHAN_NREGIONS])
{
    return axl_chan_recv_hello_bell(sock, h, fds, NULL);
}
