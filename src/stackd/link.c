/* SPDX-License-Identifier: MIT */
/*
 * link.c - the supervisor link's messages (link.h): send with SCM_RIGHTS,
 * receive and validate.
 *
 * Call chain: apps.c -> axl_link_send; replica.c -> axl_link_recv.
 */
#include "stackd/link.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/err.h"

int axl_app_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n < 1 || n > AXL_APP_NAME_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

int axl_link_send(int link, const struct axl_link_msg *m, int fd)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } cm;
    struct iovec iov = {.iov_base = (void *)m, .iov_len = sizeof(*m)};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (fd >= 0) {
        memset(cm.buf, 0, sizeof(cm.buf));
        msg.msg_control = cm.buf;
        msg.msg_controllen = sizeof(cm.buf);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    for (;;) {
        ssize_t n = sendmsg(link, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n == (ssize_t)sizeof(*m)) return 0;
        if (n < 0 && errno == EINTR) continue;
        return n < 0 ? -errno : AXL_EMALFORMED;
    }
}

int axl_link_recv(int link, struct axl_link_msg *m, int *fd)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * 4)];
        struct cmsghdr align;
    } cm;
    int got[4], ngot = 0;
    struct axl_link_msg x;
    struct iovec iov = {.iov_base = &x, .iov_len = sizeof(x)};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
                         .msg_controllen = sizeof(cm.buf)};
    ssize_t n;
    *fd = -1;
    do
        n = recvmsg(link, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
    if (n == 0) return -EPIPE;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k; i++) {
            int f;
            memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(f));
            if (ngot < 4)
                got[ngot++] = f;
            else
                close(f);
        }
    }
    int ok = n == (ssize_t)sizeof(x) && !(msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) &&
             x.magic == AXL_LINK_MAGIC && x.reserved == 0 && x.app_id != 0 && x.nfds == ngot;
    if (ok && x.type == AXL_LINK_NEW_APP)
        ok = x.nfds == 1 && memchr(x.name, '\0', sizeof(x.name)) && axl_app_name_ok(x.name);
    else if (ok && x.type == AXL_LINK_CONNS)
        ok = x.nfds == 1;
    else if (ok && x.type == AXL_LINK_CAPTURE)
        ok = x.nfds == 1 && x.cap.pad == 0 &&
             (x.cap.proto == 0 || x.cap.proto == 1 || x.cap.proto == 6 || x.cap.proto == 17);
    else if (ok)
        ok = x.type == AXL_LINK_APP_GONE && x.nfds == 0;
    if (!ok) {
        for (int i = 0; i < ngot; i++)
            close(got[i]);
        return AXL_EMALFORMED;
    }
    *m = x;
    if (ngot) *fd = got[0];
    return 1;
}
