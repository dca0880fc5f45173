/* SPDX-License-Identifier: MIT */
/*
 * axl/socket.h - the Axolotl POSIX socket layer: BSD sockets, poll, select
 * and epoll resolved in user space over the native API (axl/axl.h).
 *
 * Names: every call is the POSIX call with the prefix `axp_` ("Axolotl
 * POSIX") and the exact POSIX signature: axp_socket(), axp_recv(),
 * axp_epoll_wait() ... They return what POSIX returns (-1 with errno set on
 * failure). `axl_` is the native API's prefix (axl_socket() there takes a
 * context and returns a handle), hence the distinct one.
 *
 * One instance per process, bound to one struct axl_ctx: axp_init(cfg), or
 * axp_init(NULL) / the first call that needs it, which builds the context
 * from the environment:
 *   AXL_PORT + AXL_ADDR [+ AXL_GW, AXL_MTU, AXL_PCAP]   run-to-completion
 *   otherwise AXL_STACK (default /run/axl/stack.sock)    isolated (axl-stackd)
 * or axp_init_ctx() adopts a context the program opened itself.
 * Like the context, the layer is single-threaded: one thread at a time calls
 * into it (the calls take no lock: a lock would cost more than the
 * user-space recv it guards).
 *
 * Descriptors: our sockets and epoll instances get real kernel descriptor
 * numbers, reserved in batches (each an O_PATH|O_CLOEXEC descriptor of "/",
 * so a kernel call on one fails with EBADF instead of doing something), and
 * kept reserved after axp_close() for reuse. They therefore never collide
 * with the program's kernel descriptors, fit select()'s fd_set, and mix with
 * kernel descriptors in one axp_poll/axp_select/axp_epoll set. Every axp_
 * call given a kernel descriptor forwards to the kernel (axp_read on a pipe
 * reads the pipe), so a program can use axp_ for all its I/O. Do not close
 * our descriptors with the kernel's close(): use axp_close(). dup()/fork()
 * of our sockets is not supported (F_DUPFD fails with EINVAL).
 *
 * What resolves in user space: recv/send on a socket whose rings are ready,
 * a non-blocking call that finds nothing (EAGAIN), accept (connections are
 * taken from the stack as they arrive into a queue of pre-mapped sockets),
 * close (lazy: the stack finishes the connection), and poll/select/epoll
 * when something is ready. A call blocks only when nothing is ready, by
 * waiting in axl_poll() (a futex in isolated mode, the port in RTC mode);
 * with kernel descriptors in the set it waits in the kernel's poll on them
 * plus axl_ctx_fd(). In RTC mode the engine runs only inside calls into
 * this layer.
 *
 * Semantics follow Linux's (the BSD socket API as Linux gives it), errno
 * values included; docs/API.md "POSIX layer" lists them and the
 * differences. Among them: SIGPIPE is raised (raise()) when a stream send
 * fails with EPIPE, unless MSG_NOSIGNAL; SO_RCVBUF/SO_SNDBUF report the
 * context's buffer sizes and setting them is accepted but changes nothing.
 *
 * Call chain: application -> axp_* (src/posix/) -> axl/axl.h (src/axl/) ->
 * engine (RTC) or channels to axl-stackd (isolated).
 */
#ifndef AXL_SOCKET_H
#define AXL_SOCKET_H

#include <poll.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "axl/axl.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the process-wide instance ---------------------------------------------- */

/* Open the context described by cfg (NULL: from the environment, see above)
 * and bind the layer to it. 0, or -1 with errno set and a message in err.
 * EALREADY if the layer is already bound. */
int axp_init(const struct axl_config *cfg, char *err, size_t errlen);
/* Bind the layer to a context the caller opened (it stays the caller's:
 * axp_exit() does not close it). 0 or -1 (EALREADY). */
int axp_init_ctx(struct axl_ctx *ctx);
/* Close every socket and epoll instance, give back the reserved descriptor
 * numbers, close the context if axp_init opened it. */
void axp_exit(void);
/* The bound context, or NULL. */
struct axl_ctx *axp_ctx(void);
/* 1 if fd is one of ours (a socket or epoll instance), else 0. */
int axp_is_ours(int fd);

/* Counters of the layer itself (what it dropped or did instead of the
 * kernel); names in docs/API.md. */
struct axp_stats {
    uint64_t pumps;              /* axl_poll calls made */
    uint64_t waits;              /* of which could wait (nothing was ready) */
    uint64_t events;             /* events taken from axl_poll */
    uint64_t events_stale;       /* events for a handle we no longer hold */
    uint64_t accept_queued;      /* connections taken into an accept queue */
    uint64_t accept_reset;       /* queued connections reset when their listener closed */
    uint64_t close_reset;        /* closes that reset because unread bytes remained */
    uint64_t udp_foreign_drop;   /* datagrams to a connected UDP socket from another source */
    uint64_t fd_reserved;        /* kernel descriptor numbers reserved */
};
void axp_get_stats(struct axp_stats *out);

/* ---- sockets (AF_INET; SOCK_STREAM = TCP, SOCK_DGRAM = UDP) ----------------- */

int axp_socket(int domain, int type, int protocol);
int axp_bind(int fd, const struct sockaddr *addr, socklen_t addrlen);
int axp_listen(int fd, int backlog);
int axp_accept(int fd, struct sockaddr *addr, socklen_t *addrlen);
int axp_accept4(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags);
int axp_connect(int fd, const struct sockaddr *addr, socklen_t addrlen);
int axp_shutdown(int fd, int how);
int axp_close(int fd);

ssize_t axp_read(int fd, void *buf, size_t len);
ssize_t axp_write(int fd, const void *buf, size_t len);
ssize_t axp_readv(int fd, const struct iovec *iov, int iovcnt);
ssize_t axp_writev(int fd, const struct iovec *iov, int iovcnt);
ssize_t axp_recv(int fd, void *buf, size_t len, int flags);
ssize_t axp_send(int fd, const void *buf, size_t len, int flags);
ssize_t axp_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *src,
                     socklen_t *srclen);
ssize_t axp_sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *dst,
                   socklen_t dstlen);
ssize_t axp_recvmsg(int fd, struct msghdr *msg, int flags);
ssize_t axp_sendmsg(int fd, const struct msghdr *msg, int flags);

int axp_getsockopt(int fd, int level, int optname, void *optval, socklen_t *optlen);
int axp_setsockopt(int fd, int level, int optname, const void *optval, socklen_t optlen);
int axp_getsockname(int fd, struct sockaddr *addr, socklen_t *addrlen);
int axp_getpeername(int fd, struct sockaddr *addr, socklen_t *addrlen);
/* F_GETFL/F_SETFL (O_NONBLOCK), F_GETFD/F_SETFD (FD_CLOEXEC). */
int axp_fcntl(int fd, int cmd, ...);
/* FIONBIO, FIONREAD. */
int axp_ioctl(int fd, unsigned long req, ...);

/* ---- readiness ------------------------------------------------------------------ */

int axp_poll(struct pollfd *fds, nfds_t nfds, int timeout_ms);
int axp_select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *timeout);
int axp_epoll_create(int size);
int axp_epoll_create1(int flags);
int axp_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev);
int axp_epoll_wait(int epfd, struct epoll_event *ev, int maxevents, int timeout_ms);

#ifdef __cplusplus
}
#endif
#endif
