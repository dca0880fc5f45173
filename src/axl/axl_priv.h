/* SPDX-License-Identifier: MIT */
/*
 * axl/axl_priv.h - the insides of the native API (include/axl/axl.h) shared
 * by its files: the context, the handle table, the event queue and the
 * backend ops table that the two modes implement.
 *
 *   ctx.c   mode flags, axl_open/axl_close_ctx, handles (index + generation),
 *           the event queue, axl_poll's spin-then-sleep loop, and every API
 *           call: validates the handle, then calls the backend
 *   rtc.c   run-to-completion: the engine in this process (net/tcp.h, the
 *           UDP API of net/stack.h, net/tcp_prepkt.h)
 *   iso.c   isolated: channels to the replicas of axl-stackd (src/chan)
 *
 * Handles: axl_sock_t = generation << 32 | (index + 1). The index names a
 * slot of ctx->sk (max_socks of them, never moved, so backends may keep
 * pointers to slots); the generation is bumped when a slot is freed, so a
 * stale handle never matches (-EBADF) until 2^32 reuses of one slot.
 *
 * Events: backends push struct axl_event entries (with the handle, not the
 * user pointer) into one FIFO per context; axl_poll hands them out and fills
 * `user` at that moment, dropping events of handles closed meanwhile. NEW_DATA,
 * DATA_ACKED (copy bytes) and NEW_CONN are coalesced per socket: a backend
 * marks the socket (axl_sk_pend) and the marks become events at the end of
 * its work step (axl_sk_flush_all), or before any other event of the same
 * socket (axl_ev_push_sk), so per-socket order is kept.
 *
 * Call chain: application -> ctx.c (axl_*) -> ops->X (rtc.c | iso.c) ->
 * engine / channel; engine callbacks | channel events -> axl_ev_push* ->
 * ctx->evq -> axl_poll -> application.
 */
#ifndef AXL_AXL_PRIV_H
#define AXL_AXL_PRIV_H

#include <stdint.h>

#include "axl/axl.h"

struct axl_sk;
struct axl_ctx;

/* Pending (coalesced) event marks, axl_sk.pend. */
enum {
    AXL_PEND_DATA = 1u << 0,  /* NEW_DATA */
    AXL_PEND_ACKED = 1u << 1, /* DATA_ACKED, cookie 0, arg = pend_acked */
    AXL_PEND_CONN = 1u << 2,  /* NEW_CONN on a listener */
};

/** AXL_ISO_MAX_REPLICAS: replicas an isolated context can talk to. */
#define AXL_ISO_MAX_REPLICAS 64

/* One socket as the API sees it (a slot of ctx->sk). */
struct axl_sk {
    uint32_t gen;   /* the live generation (the handle's high word) */
    uint8_t used;   /* allocated to the application */
    uint8_t type;   /* AXL_TCP / AXL_UDP */
    uint8_t state;  /* enum axl_sock_state */
    uint8_t rd_shut, wr_shut;
    uint8_t remote_closed, cleaned;
    uint8_t in_dirty; /* on ctx->dirty */
    uint32_t pend;    /* AXL_PEND_* */
    uint64_t pend_acked;
    uint32_t pend_data; /* NEW_DATA arg hint (iso) */
    int32_t error;      /* from CLEANUP / REMOTE_CLOSED(err) */
    uint32_t laddr, raddr;
    uint16_t lport, rport;
    uint32_t opts_set;       /* bit per enum axl_sockopt given before connect/listen */
    uint32_t optval[9];      /* indexed by enum axl_sockopt */
    uint32_t backlog;
    void *user;
    struct axl_ctx *ctx;     /* back pointer (engine callbacks get the slot) */
    struct axl_sk *dnext;    /* ctx->dirty list */
    struct axl_sk *lnext;    /* backend list (rtc: UDP sockets) */
    struct axl_sk **lprev;
    /* run-to-completion */
    struct axl_tcb *tcb;
    struct axl_tcp_listener *lst;
    struct axl_udp_sock *us;
    uint32_t udp_seen; /* datagrams queued when the app last looked */
    uint8_t udp_err_seen;
    /* isolated */
    uint32_t rep;               /* replica of a connection / UDP socket */
    uint32_t cid, cgen;         /* channel socket id and generation (NONE: none yet) */
    uint8_t pending_open;       /* OPEN sent, DONE not yet seen */
    uint32_t rx_pending;        /* iso: RX bytes consumed but RECV_DONE not yet sent */
    uint32_t tx_unacked;        /* iso: ring bytes sent, not yet DATA_ACKED */
    uint32_t *lid;  /* iso listener: channel id per replica (UINT32_MAX: none), */
    uint32_t *lgen; /* and its generation; AXL_ISO_MAX_REPLICAS each, malloc'd */
};

/* The backend's half of every call (handle already checked; sk live). */
struct axl_backend_ops {
    void (*destroy)(struct axl_ctx *c);
    /* Do pending work: returns > 0 if anything happened, 0 idle, negative
     * errno if the stack is gone for good. */
    int (*work)(struct axl_ctx *c);
    /* Sleep at most max_ns (> 0) or until something may have happened. */
    void (*sleep)(struct axl_ctx *c, uint64_t max_ns);
    void (*flush)(struct axl_ctx *c);
    int (*fd)(struct axl_ctx *c);
    int (*socket)(struct axl_ctx *c, struct axl_sk *s);
    int (*bind)(struct axl_ctx *c, struct axl_sk *s, uint32_t addr, uint16_t port);
    int (*listen)(struct axl_ctx *c, struct axl_sk *s, uint32_t backlog);
    int (*accept)(struct axl_ctx *c, struct axl_sk *l, struct axl_sk *n);
    int (*connect)(struct axl_ctx *c, struct axl_sk *s, uint32_t addr, uint16_t port);
    int (*shutdown)(struct axl_ctx *c, struct axl_sk *s, int how);
    /* Give the socket back (abort: reset). The slot is freed by ctx.c after. */
    void (*close)(struct axl_ctx *c, struct axl_sk *s, int abort);
    int (*setopt)(struct axl_ctx *c, struct axl_sk *s, enum axl_sockopt opt, uint32_t val);
    int (*info)(struct axl_ctx *c, struct axl_sk *s, struct axl_sock_info *i);
    int (*send)(struct axl_ctx *c, struct axl_sk *s, const void *buf, uint32_t len);
    int (*recv)(struct axl_ctx *c, struct axl_sk *s, void *buf, uint32_t len);
    int (*recv_peek)(struct axl_ctx *c, struct axl_sk *s, struct axl_iov *iov, unsigned n);
    int (*recv_done)(struct axl_ctx *c, struct axl_sk *s, uint32_t n);
    int (*mem_alloc)(struct axl_ctx *c, size_t size, struct axl_mem **out);
    void (*mem_free)(struct axl_ctx *c, struct axl_mem *m);
    int (*send_mem)(struct axl_ctx *c, struct axl_sk *s, struct axl_mem *m, uint64_t off,
                    uint32_t len, uint64_t cookie);
    int (*obj_register)(struct axl_ctx *c, struct axl_mem *m, uint64_t off, uint32_t len, int copy,
                        struct axl_obj **out);
    int (*send_obj)(struct axl_ctx *c, struct axl_sk *s, struct axl_obj *o, uint64_t cookie);
    void (*obj_free)(struct axl_ctx *c, struct axl_obj *o);
    int (*sendto)(struct axl_ctx *c, struct axl_sk *s, const void *buf, uint32_t len,
                  uint32_t addr, uint16_t port);
    int (*recvfrom)(struct axl_ctx *c, struct axl_sk *s, void *buf, uint32_t len, uint32_t *addr,
                    uint16_t *port);
    int (*stat)(struct axl_ctx *c, const char *name, uint64_t *val);
    /* Bytes readable now on s (the NEW_DATA hint). */
    uint32_t (*readable)(struct axl_ctx *c, struct axl_sk *s);
};

/* Registered memory (both modes). */
struct axl_mem {
    uint8_t *base;
    size_t size;
    int fd;            /* iso: the sealed memfd, else -1 */
    uint32_t region[AXL_ISO_MAX_REPLICAS]; /* iso: region id per replica (UINT32_MAX: none) */
    uint32_t gen[AXL_ISO_MAX_REPLICAS];    /* iso: the channel incarnation it was registered on */
};

struct axl_ctx {
    enum axl_mode mode;
    const struct axl_backend_ops *ops;
    void *bk; /* backend state */
    uint32_t addr;
    uint32_t nreplicas;
    uint32_t rx_size, tx_size;
    uint32_t pool_bufs; /* RTC: packet buffers, 0 = default */
    /* handle table */
    uint32_t max_socks;
    struct axl_sk *sk;
    uint32_t *free_idx;
    uint32_t nfree;
    /* event FIFO (power-of-two capacity, grows) */
    struct axl_event *evq;
    uint32_t evq_cap, evq_head, evq_len;
    struct axl_sk *dirty; /* sockets with pending coalesced events */
    /* counters of the library itself (axl_stat names "Axl...") */
    uint64_t ev_stale;    /* events of closed handles dropped */
    uint64_t ev_nomem;    /* events lost: the FIFO could not grow */
    /* axl_poll's spin before sleeping: fixed (AXL_POLL_SPIN_NS) unless the
     * backend sets spin_adapt (isolated mode: a spin pays only when the
     * replica runs on another CPU meanwhile; ctx.c) */
    int spin_adapt;
    uint64_t spin_ns;     /* the current spin (spin_adapt) */
    uint32_t spin_sleeps; /* sleeps since the last full-length probe */
    uint64_t st_sleeps, st_spin_hits; /* counters AxlPollSleeps, AxlPollSpinHits */
};

/* Handles. */
axl_sock_t axl_sk_handle(const struct axl_ctx *c, const struct axl_sk *s);
struct axl_sk *axl_sk_alloc(struct axl_ctx *c); /* NULL: table full */
void axl_sk_free(struct axl_ctx *c, struct axl_sk *s);
struct axl_sk *axl_sk_lookup(struct axl_ctx *c, axl_sock_t h); /* NULL: stale */

/* Events. push: a complete event for socket s (s may be NULL: sock 0). */
void axl_ev_push(struct axl_ctx *c, struct axl_sk *s, uint32_t type, int32_t status,
                 uint64_t cookie, uint32_t arg);
void axl_sk_pend(struct axl_ctx *c, struct axl_sk *s, uint32_t what);
/* Turn s's marks into events now (before another event of s). */
void axl_sk_flush(struct axl_ctx *c, struct axl_sk *s);
void axl_sk_flush_all(struct axl_ctx *c);

/* For the project's own tools (axl-nc): axl_open with a packet-buffer count
 * for the RTC engine (0 = AXL_RTC_POOL_BUFS); the RTC engine itself (NULL in
 * isolated mode), e.g. for axl_stack_stats_dump; an engine-level TCP option
 * (net/tcp.h enum axl_tcp_opt, e.g. AXL_TCP_OPT_CC) on a connection or
 * listener, RTC only (-EOPNOTSUPP otherwise). */
int axl_open_pool(struct axl_ctx **out, const struct axl_config *cfg, uint32_t pool_bufs, char *err,
                  size_t errlen);
struct axl_stack *axl_rtc_engine(struct axl_ctx *c);
int axl_rtc_tcp_opt(struct axl_ctx *c, axl_sock_t s, int opt, uint32_t val);

/* Backends. open: fill c->ops, c->bk, c->addr, c->nreplicas. */
int axl_rtc_open(struct axl_ctx *c, const struct axl_config *cfg, char *err, size_t errlen);
int axl_iso_open(struct axl_ctx *c, const struct axl_config *cfg, char *err, size_t errlen);

#endif
