/* SPDX-License-Identifier: MIT */
/*
 * posix/posix_priv.h - internals of the POSIX socket layer (axl/socket.h):
 * the descriptor table, socket and epoll objects, and the event pump.
 *
 *   instance.c  the process-wide instance, descriptor numbers, the pump
 *               (axl_poll -> per-socket state and epoll ready lists),
 *               readiness of a socket
 *   sock.c      socket/bind/listen/accept/connect/shutdown/close, options
 *   io.c        read/write/recv/send/... for TCP and UDP
 *   poll.c      poll, select, epoll
 *
 * The instance is one process-wide object (`axp_g`): the POSIX API has no
 * handle to pass, so this is the one mutable global of the layer; nothing on
 * the engine's packet path touches it. Socket objects are pooled and never
 * freed before axp_exit(), so an event naming a socket we already gave back
 * (its user pointer) can be recognised as stale (handle mismatch) instead of
 * touching freed memory.
 */
#ifndef AXL_POSIX_PRIV_H
#define AXL_POSIX_PRIV_H

#include <errno.h>
#include <stdint.h>
#include <time.h>

#include "axl/axl.h"
#include "axl/socket.h"

/** AXP_FD_BATCH: descriptor numbers reserved from the kernel at a time. */
#define AXP_FD_BATCH 16
/** AXP_EV_BATCH: events taken from axl_poll per call. */
#define AXP_EV_BATCH 64
/** AXP_SPIN_PUMP: a non-blocking call that finds nothing runs the pump
 * once every this many times (RTC mode makes progress only in our calls). */
#define AXP_SPIN_PUMP 64
/** AXP_BACKLOG_MAX: listen() backlog clamp (Linux's default somaxconn). */
#define AXP_BACKLOG_MAX 4096
/** AXP_UDP_MAX: the largest UDP payload over IPv4 (RFC 768, 65535 - 28). */
#define AXP_UDP_MAX 65507

enum axp_kind {
    AXP_K_NONE = 0,  /* not ours: a kernel descriptor */
    AXP_K_FREE,      /* ours, reserved, unused: EBADF */
    AXP_K_SOCK,
    AXP_K_EPOLL,
};

enum axp_state {
    AXP_S_NEW = 0,     /* created (maybe bound) */
    AXP_S_LISTEN,
    AXP_S_CONNECTING,
    AXP_S_CONNECTED,   /* TCP established (or UDP connected) */
    AXP_S_FAILED,      /* connect failed; the handle waits to be replaced */
    AXP_S_OVER,        /* connection ended (CLEANUP seen) */
};

struct axp_epi;

struct axp_sock {
    axl_sock_t h;          /* 0 while pooled */
    int fd;                /* -1 while queued for accept */
    uint8_t stream;        /* 1 TCP, 0 UDP */
    uint8_t state;         /* enum axp_state */
    uint8_t nonblock, cloexec;
    uint8_t bound, rd_shut, wr_shut, rhup;
    uint8_t err_seen;      /* an error was reported: reads give 0 after it */
    uint8_t udp_conn;      /* UDP with a default destination */
    uint8_t stashed;       /* UDP: a datagram kept by MSG_PEEK */
    uint8_t reuseaddr, reuseport, keepalive, nodelay, broadcast;
    int err;               /* pending SO_ERROR (positive errno) or 0 */
    uint32_t keepidle, keepintvl, keepcnt;
    int linger_on, linger_s;
    int64_t rcvtimeo_ns, sndtimeo_ns; /* 0 = none */
    uint32_t paddr;        /* UDP connected peer (host order) */
    uint16_t pport;
    uint32_t spin;         /* EAGAIN count since the last pump */
    /* listener: queue of accepted, not yet taken connections (ring) */
    struct axp_sock **acq;
    uint32_t acq_head, acq_n, acq_cap, backlog;
    /* UDP MSG_PEEK stash */
    uint8_t *stash;
    uint32_t stash_len, stash_addr;
    uint16_t stash_port;
    struct axp_epi *epi;   /* epoll registrations watching this socket */
    struct axp_sock *next_free;
};

struct axp_ep;

struct axp_epi {
    struct axp_ep *ep;
    struct axp_sock *s;
    int fd;
    uint32_t events;       /* interest + EPOLLET/ONESHOT/RDHUP flags */
    uint8_t on_rdl;
    epoll_data_t data;
    struct axp_epi *s_next;          /* in s->epi */
    struct axp_epi *rd_next, *rd_prev; /* ready list */
    struct axp_epi *all_next, *all_prev; /* every registration of ep */
};

struct axp_ep {
    int fd;
    int kfd;               /* kernel epoll for kernel descriptors, or -1 */
    uint32_t nkernel;      /* kernel descriptors registered */
    struct axp_epi *rd_head, *rd_tail;
    struct axp_epi *all;
};

struct axp_fde {
    uint8_t kind;          /* enum axp_kind */
    uint8_t cloexec;
    union {
        struct axp_sock *s;
        struct axp_ep *ep;
    } u;
};

struct axp {
    struct axl_ctx *ctx;
    int own_ctx;
    int ph;                /* the O_PATH placeholder the numbers are dup'ed from */
    struct axp_fde *tab;   /* indexed by descriptor number */
    uint32_t tab_len;
    int *fd_pool;          /* reserved, unused numbers (stack) */
    uint32_t fd_pool_n, fd_pool_cap;
    int *fd_all;           /* every number ever reserved (given back at exit) */
    uint32_t fd_all_n, fd_all_cap;
    struct axp_sock *sock_free;
    struct axp_sock **sock_all;
    uint32_t sock_all_n, sock_all_cap;
    uint32_t rx_size, tx_size;
    int dead;              /* axl_poll said the stack is gone: errno to report */
    uint8_t *bounce;       /* AXP_UDP_MAX + 1 bytes for UDP gather/scatter and peek */
    struct axl_event ev[AXP_EV_BATCH];
    struct axp_stats st;
};

extern struct axp *axp_g;

/* ---- instance.c ---- */
int axp_ensure(void);                        /* lazy init from the environment: 0 or -1 */
static inline struct axp_fde *axp_fde(int fd)
{
    struct axp *P = axp_g;
    if (!P || fd < 0 || (uint32_t)fd >= P->tab_len) return NULL;
    return &P->tab[fd];
}
/* The socket behind fd, or NULL (kernel fd: *kernel = 1; bad: errno EBADF/ENOTSOCK). */
struct axp_sock *axp_sock_of(int fd, int *kernel);
int axp_fd_alloc(struct axp *P);             /* a reserved number or -errno */
void axp_fd_release(struct axp *P, int fd);
struct axp_sock *axp_sock_new(struct axp *P, axl_sock_t h, int stream);
void axp_sock_release(struct axp *P, struct axp_sock *s);
/* Run axl_poll once (waiting up to timeout_ns when nothing is there) and
 * apply the events. 0 or -errno (-EINTR, or the stack is gone). */
int axp_pump(struct axp *P, int64_t timeout_ns);
/* Readiness of a socket as an EPOLL* mask (same values as POLL*). */
uint32_t axp_ready(struct axp *P, struct axp_sock *s);
/* Edge: bits happened on s (wakes epoll registrations). */
void axp_edge(struct axp *P, struct axp_sock *s, uint32_t bits);
/* Listener: take connections from the stack up to the backlog. */
void axp_listener_fill(struct axp *P, struct axp_sock *l);
/* Remove every epoll registration of s. */
void axp_epi_detach_sock(struct axp_sock *s);
void axp_ep_free(struct axp *P, struct axp_ep *ep);

static inline int64_t axp_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
/* Wait helper for blocking calls: deadline (0 = none) -> pump. 0, or -errno
 * (-EAGAIN when the deadline passed). */
int axp_block(struct axp *P, int64_t deadline);
static inline int axp_fail(int e)
{
    errno = e;
    return -1;
}

#endif
