/* SPDX-License-Identifier: MIT */
/*
 * svc/svc.h - the replica's service layer: serves the applications attached
 * to this replica, one channel each (src/chan), on the replica's engine
 * (net/tcp.h, UDP in net/stack.h, pre-packetised objects in
 * net/tcp_prepkt.h).
 *
 * Call chain (replica.c owns the loop):
 *   supervisor link NEW_APP -> axl_svc_app_add: axl_chan_create (sizes from
 *     --socks/--ring/--queue), the bell (the replica's eventfd) in the HELLO,
 *     HELLO on the app's socket
 *   every loop iteration: axl_svc_poll -> per app with work: flush deferred
 *     events -> axl_chan_stk_poll_cmd (commands -> engine calls) ->
 *     axl_chan_stk_scan (hinted sockets: RX ring room, TX) -> bump the app's
 *     activity word (news published, no system call); a sleeping app is
 *     woken (FUTEX_WAKE) once its burst of news ends (SVC_WAKE_QUIET_NS
 *     without news, at most SVC_WAKE_MAX_NS after the first, svc.c)
 *   engine callbacks (inside axl_stack_poll): new_conn / connected /
 *     new_data / data_acked / zc_done / remote_closed / cleanup, UDP
 *     datagrams -> RX rings, TX-ring consumption, events
 *   sleeping: axl_svc_prepare_sleep (every app's sleep word) ->
 *     poll(2) on axl_svc_pollfds (the bell + every app's socket) ->
 *     axl_svc_wake_done -> axl_svc_pollfds_done (REGMEM, hang-ups)
 *   APP_GONE / the app's socket closes / too many violations ->
 *     app_kill: listeners and UDP sockets closed, objects released, the app
 *     onto the dying list; then axl_svc_poll -> reclaim_step resets its
 *     connections in batches (SVC_RECLAIM_BATCH per loop iteration, so the
 *     RSTs fit the port's TX ring, which the engine flushes in between);
 *     the channel is unmapped once every connection is reset and the engine
 *     holds no zero-copy reference into the app's memory any more.
 *
 * Data path: RX bytes are copied once, from the engine's receive queue into
 * the socket's RX ring (then released: axl_tcp_recv_done), as far as the
 * ring has room (the TCP window closes while the app does not read; RX_WANT
 * makes the app hint us when it frees room). TX bytes are sent zero-copy
 * from the app's TX ring (our read-only mapping) with axl_tcp_send_zc;
 * tx_cons advances only when the engine reports them done (zc_done: ACKed),
 * so the ring is the send buffer. SEND+REG and OBJ_SEND go into the stream
 * in order with the ring bytes (a per-socket FIFO of spliced items).
 *
 * No system call while the app and the replica are both busy; nothing
 * global: everything hangs off struct axl_svc.
 */
#ifndef AXL_SVC_SVC_H
#define AXL_SVC_SVC_H

#include <poll.h>
#include <stdint.h>
#include <sys/types.h>

#include "chan/chan.h"
#include "core/clock.h"

struct axl_stack;

/* Counters (exported with the replica's: axlctl stats). G = gauge. */
#define AXL_SVC_STATS(X)                                                                           \
    X(SvcAppsNow)          /* G applications attached now */                                       \
    X(SvcAppsAttached)     /* channels created */                                                  \
    X(SvcAppsGone)         /* apps that left (socket closed / supervisor said so) */               \
    X(SvcAppsDisconnected) /* apps cut off for violations / not reading events */                  \
    X(SvcAppsFailed)       /* attach failed (channel, HELLO) */                                    \
    X(SvcSocketsNow)       /* G channel sockets in use (all apps) */                               \
    X(SvcConnsNow)         /* G engine connections the service holds */                            \
    X(SvcReclaimPending)   /* G apps gone whose memory the engine still references */              \
    X(SvcReclaimConns)     /* G connections of apps gone, not reset yet (batched reclaim) */       \
    X(SvcReclaimResets)    /* connections of apps gone reset (or closed) by the reclaim */         \
    X(SvcCmds)             /* commands executed */                                                 \
    X(SvcCmdErrors)        /* commands answered with an error status */                            \
    X(SvcEvents)           /* events posted */                                                     \
    X(SvcEventsDeferred)   /* events kept because the event queue was full */                      \
    X(SvcViolations)       /* channel violations (decoder, ring and queue indices) */              \
    X(SvcBadSend)          /* SEND beyond the bytes in the TX ring / bad record (violation) */     \
    X(SvcAcceptNoSlot)     /* connections reset: no free socket slot for them */                   \
    X(SvcUdpRxRingFull)    /* datagrams dropped: the RX ring had no room */                        \
    X(SvcRxBytes)          /* bytes moved into RX rings */                                         \
    X(SvcTxBytes)          /* TX bytes acknowledged and released to apps */                        \
    X(SvcRegmem)           /* memory regions registered */                                         \
    X(SvcObjects)          /* pre-packetised objects created */                                    \
    X(SvcLinkBad)          /* malformed supervisor link messages */                                \
    X(SvcBellWakes)        /* wake-ups through the bell eventfd */                                 \
    X(SvcAppWakes)         /* FUTEX_WAKEs of sleeping apps (once per burst of news) */             \
    X(SvcAppWakesQuiet)    /* ... of them when no news came for the quiet time */                  \
    X(SvcAppWakesHeld)     /* ... when the news was held the longest time allowed */               \
    X(SvcAppWakesQueue)    /* ... when the app's event queue was half full */                      \
    X(SvcAppWakesIdle)     /* ... when the replica went to sleep or was told to wake */

/** AXL_SVC_WAKE_QUIET_NS / AXL_SVC_WAKE_MAX_NS: the defaults of
 *  axl_svc.wake_quiet_ns / wake_max_ns (svc.c SVC_WAKE_QUIET_NS says why). */
#define AXL_SVC_WAKE_QUIET_NS (20 * AXL_NS_PER_US)
#define AXL_SVC_WAKE_MAX_NS   (1000 * AXL_NS_PER_US)

enum axl_svc_stat {
#define AXL_SVC_ENUM(n) AXL_SVC_##n,
    AXL_SVC_STATS(AXL_SVC_ENUM)
#undef AXL_SVC_ENUM
        AXL_SVC__COUNT
};
uint32_t axl_svc_stat_count(void);
const char *axl_svc_stat_name(uint32_t i);

/** AXL_SVC_VIOL_MAX: channel violations after which an app is disconnected. */
#define AXL_SVC_VIOL_MAX 64
/** AXL_SVC_MAX_APPS: applications per replica (= poll entries). */
#define AXL_SVC_MAX_APPS 64

struct axl_svc_app;
struct axl_svc {
    struct axl_stack *s;
    struct axl_chan_params params;
    int bell; /* eventfd: apps write it to wake us (abi.h AXL_CHAN_MSG_HELLO) */
    struct axl_svc_app *apps[AXL_SVC_MAX_APPS];
    uint32_t napps;
    struct axl_svc_app *dying; /* gone: connections reset in batches, then waiting for the
                                * engine to drop its references */
    uint64_t reclaim_drops;    /* the engine's DropTxRingFull at the last reclaim step */
    uint8_t *scratch;          /* AXL_CHAN_DGRAM_MAX: a UDP datagram across the ring end */
    uint64_t wake_quiet_ns, wake_max_ns; /* svc.c SVC_WAKE_QUIET_NS / SVC_WAKE_MAX_NS */
    uint32_t woke; /* apps woken (FUTEX_WAKE) since the caller last cleared it */
    uint64_t st[AXL_SVC__COUNT];
};

/* 0 or negative errno. */
int axl_svc_init(struct axl_svc *v, struct axl_stack *s, const struct axl_chan_params *p);
/* Stop: every app's connections aborted (before destroying the engine). */
void axl_svc_stop(struct axl_svc *v);
/* Free everything (after destroying the engine, whose last zc_done
 * callbacks still land in our socket tables). */
void axl_svc_fini(struct axl_svc *v);

/* A new application (supervisor link NEW_APP): sock is the replica's end of
 * its SOCK_SEQPACKET socket (taken over: closed on failure too). 0 or
 * negative errno. */
int axl_svc_app_add(struct axl_svc *v, uint32_t app_id, pid_t pid, uid_t uid, const char *name,
                    int sock);
/* The supervisor says app_id is gone. */
void axl_svc_app_gone(struct axl_svc *v, uint32_t app_id);

/* Serve every app with work; returns the work done (0 = idle). */
uint32_t axl_svc_poll(struct axl_svc *v);

/* Sleeping: 1 if every app's sleep word is set and nothing is pending, else
 * 0 (nothing to undo). wake_done clears the words. */
int axl_svc_prepare_sleep(struct axl_svc *v);
/* Wake now every sleeping app with news not rung yet (axl_svc_poll defers
 * the wake-up to the end of a burst of news; prepare_sleep calls this). */
void axl_svc_wake_apps(struct axl_svc *v);
void axl_svc_wake_done(struct axl_svc *v);
/* Longest sleep the service allows (1 ms while events wait for room in an
 * app's event queue: the app frees room without telling us), else UINT64_MAX. */
uint64_t axl_svc_sleep_max_ns(const struct axl_svc *v);
/* The fds to poll (bell first, then the app sockets): count written. */
uint32_t axl_svc_pollfds(struct axl_svc *v, struct pollfd *pfd, uint32_t max);
/* Handle what poll(2) reported on those same fds (drains the bell, serves
 * REGMEM, notices apps that hung up). Returns the work done. */
uint32_t axl_svc_pollfds_done(struct axl_svc *v, const struct pollfd *pfd, uint32_t n);

/* Who owns the TCP entries of a conns snapshot (net/tcp_dump.h, filled by
 * axl_tcp_dump on this replica's engine): for each of the n records, the
 * application holding it through this service, matched by the tuple
 * (listeners: local port), in app_id[i] and pid[i]; 0 / 0 when no app holds
 * it (a built-in server's, or one the app closed and the engine finishes).
 * Connections the app opened itself are included (the engine does not know
 * applications; this layer does). Not for the packet path: it allocates and
 * sorts. Returns the records attributed, or AXL_ENOMEM (nothing written). */
struct axl_tcp_dump_rec;
int axl_svc_conn_owners(const struct axl_svc *v, const struct axl_tcp_dump_rec *rec, uint32_t n,
                        uint32_t *app_id, pid_t *pid);

/* Counters into dst (up to n): count written. */
uint32_t axl_svc_stats_copy(const struct axl_svc *v, uint64_t *dst, uint32_t n);

#endif
