/* SPDX-License-Identifier: MIT */
/*
 * net/tcp.h - the engine-level TCP API (RFC 9293): listen/accept/connect,
 * send (copied or zero-copy), receive in place, shutdown/close/abort, socket
 * options, and events modelled on DLibOS (new_conn, connected, new_data,
 * data_acked, zc_done, remote_closed, cleanup).
 *
 * Everything runs inside one engine (struct axl_stack, single-threaded).
 * Events are callbacks invoked from inside axl_stack_poll() (or from inside
 * an API call that completes something at once). A callback may call any
 * function of this API, including close/abort on its own connection; the
 * engine never frees a connection under a running callback.
 *
 * Handle life cycle (the POSIX socket model, which the later socket layer
 * maps onto directly):
 *   - A connection handle (struct axl_tcb *) is handed to the application by
 *     axl_tcp_connect() or axl_tcp_accept(). It stays valid until the
 *     application calls axl_tcp_close() or axl_tcp_abort(), whatever happens
 *     on the wire meanwhile.
 *   - cleanup(c, err) reports once that the connection is over while the
 *     application still holds it: err 0 after an orderly close of both
 *     directions, or -ECONNRESET, -ECONNREFUSED, -ETIMEDOUT, -EPIPE ...
 *     The handle must still be closed (that frees it at once).
 *   - After axl_tcp_close() the engine owns the connection: it sends what is
 *     queued and the FIN, and frees the TCB when the protocol is done
 *     (TIME-WAIT included). No event is delivered any more except zc_done,
 *     so the application learns when it may reuse zero-copy buffers.
 *
 * Errors are negative: AXL_E* values, which are negated errno where one fits
 * (core/err.h): -ECONNREFUSED, -ECONNRESET, -ETIMEDOUT, -EPIPE, -ENOTCONN,
 * AXL_EAGAIN, AXL_EADDRINUSE, AXL_ENOBUFS, AXL_EINVAL.
 *
 * Call chain: application (RTC) or the service layer -> these functions ->
 * net/tcp.c (state, queues) -> net/tcp_output.c -> ipv4.c; frames ->
 * ipv4.c -> net/tcp_input.c -> events -> application.
 */
#ifndef AXL_NET_TCP_H
#define AXL_NET_TCP_H

#include <stdint.h>

struct axl_stack;
struct axl_tcb;          /* one connection (opaque) */
struct axl_tcp_listener; /* one listening port (opaque) */

/* Event callbacks; any may be NULL. `user` is the pointer set with
 * axl_tcp_set_user() (or given to connect/listen). */
struct axl_tcp_ops {
    /* A listener has a connection waiting in its accept queue. */
    void (*new_conn)(struct axl_tcp_listener *l, void *user);
    /* An active open reached ESTABLISHED (a failed one reports cleanup). */
    void (*connected)(struct axl_tcb *c, void *user);
    /* In-order bytes were queued; `avail` is the total readable now. */
    void (*new_data)(struct axl_tcb *c, void *user, uint32_t avail);
    /* The peer acknowledged `acked` more bytes; `room` is the send-buffer
     * space now free. */
    void (*data_acked)(struct axl_tcb *c, void *user, uint32_t acked, uint32_t room);
    /* A zero-copy buffer given to axl_tcp_send_zc() is no longer referenced
     * (acknowledged, or dropped because the connection ended). */
    void (*zc_done)(struct axl_tcb *c, void *user, void *cookie);
    /* The peer sent FIN: no data will follow what is queued. */
    void (*remote_closed)(struct axl_tcb *c, void *user);
    /* The connection is over (see the file comment). */
    void (*cleanup)(struct axl_tcb *c, void *user, int err);
};

/* One piece of received data, in place in a packet buffer. */
struct axl_tcp_iov {
    const uint8_t *base;
    uint32_t len;
};

/* Socket options (axl_tcp_setopt / axl_tcp_listener_setopt / getopt). */
enum axl_tcp_opt {
    AXL_TCP_OPT_NODELAY = 1,  /* 1: disable Nagle (RFC 1122 §4.2.3.4) */
    AXL_TCP_OPT_KEEPALIVE,    /* 1: keep-alive probes (RFC 1122 §4.2.3.6), off by default */
    AXL_TCP_OPT_KEEPIDLE,     /* seconds idle before the first probe (default 7200) */
    AXL_TCP_OPT_KEEPINTVL,    /* seconds between probes (default 75) */
    AXL_TCP_OPT_KEEPCNT,      /* unanswered probes before ETIMEDOUT (default 9) */
    AXL_TCP_OPT_CC,           /* enum axl_tcp_cc_algo (net/tcp_cc.h): AXL_TCP_CC_CUBIC
                                 (default) or AXL_TCP_CC_NEWRENO; takes effect at the
                                 handshake, or at once on an open connection (the
                                 window is kept, the algorithm state restarts) */
    AXL_TCP_OPT_SNDBUF,       /* send-buffer bytes (limits in tcp_priv.h) */
    AXL_TCP_OPT_RCVBUF,       /* receive-buffer bytes; set before connect/listen to
                                 raise the window scale */
    AXL_TCP_OPT_USER_TIMEOUT, /* ms of unacknowledged data before ETIMEDOUT, 0 = by
                                 retransmission count (RFC 9293 §3.8.3 R2) */
};

/* A snapshot for tools and tests (like ss -i). */
struct axl_tcp_info {
    uint8_t state; /* enum axl_tcp_conn_state in tcp_priv.h; see axl_tcp_state_name() */
    uint32_t laddr, raddr;
    uint16_t lport, rport;
    uint32_t snd_una, snd_nxt, snd_wnd, rcv_nxt, rcv_wnd;
    uint32_t snd_mss, rcv_mss;
    uint8_t snd_wscale, rcv_wscale; /* 0xff: no window scaling */
    uint8_t ts_ok, sack_ok;
    uint32_t cwnd, ssthresh; /* bytes */
    uint64_t srtt_ns, rto_ns;
    uint32_t unacked, unsent, readable; /* bytes */
    uint64_t retrans;                   /* segments retransmitted */
};

/* ---- passive open -------------------------------------------------------- */

/* Listen on local `port` (host order, not 0). backlog bounds the accept queue
 * and the SYN queue (each; 0 = AXL_TCP_BACKLOG_DEFAULT, at most
 * AXL_TCP_BACKLOG_MAX); a full SYN queue answers with SYN cookies. New
 * connections inherit `ops` and the listener's options; their user pointer
 * starts as NULL. 0, AXL_EADDRINUSE, AXL_EINVAL or AXL_ENOMEM. */
int axl_tcp_listen(struct axl_stack *s, uint16_t port, uint32_t backlog,
                   const struct axl_tcp_ops *ops, void *user, struct axl_tcp_listener **out);
/* Take the oldest established connection: 0 or AXL_EAGAIN. Data or a FIN
 * that arrived before the accept is reported to the new holder (new_data,
 * remote_closed) with the ops and user pointer it installs with
 * axl_tcp_set_user(): by the running delivery when accepted inside that
 * connection's own callback, else at the end of the current axl_stack_poll()
 * (accepted inside any other callback) or of the next one (accepted outside
 * the engine). Never from inside axl_tcp_accept itself. */
int axl_tcp_accept(struct axl_tcp_listener *l, struct axl_tcb **out);
/* Stop listening: connections not yet accepted are reset. */
void axl_tcp_listener_close(struct axl_tcp_listener *l);
int axl_tcp_listener_setopt(struct axl_tcp_listener *l, enum axl_tcp_opt opt, uint32_t val);
uint16_t axl_tcp_listener_port(const struct axl_tcp_listener *l);

/* ---- active open ---------------------------------------------------------- */

/* Connect to daddr:dport (host order) from lport (0 = an ephemeral port,
 * RFC 6056 §3.3.3). Sends the SYN at once; `connected` or `cleanup` follow.
 * 0, AXL_EINVAL, AXL_EADDRINUSE (no free port / tuple in use),
 * AXL_EHOSTUNREACH (no route), AXL_ENOMEM. */
int axl_tcp_connect(struct axl_stack *s, uint32_t daddr, uint16_t dport, uint16_t lport,
                    const struct axl_tcp_ops *ops, void *user, struct axl_tcb **out);

/* ---- data ------------------------------------------------------------------ */

/* Queue up to len bytes (copied). Returns the bytes taken (maybe fewer than
 * len: the send buffer is full; data_acked reports room), AXL_EAGAIN (full),
 * -EPIPE (shut down for writing), -ENOTCONN (not yet/no longer connected:
 * data may be queued in SYN-SENT/SYN-RECEIVED), or the connection's error. */
int axl_tcp_send(struct axl_tcb *c, const void *data, uint32_t len);
/* Queue len bytes by reference: the memory must stay unchanged until
 * zc_done(cookie) (after which the engine never reads it). All or nothing:
 * returns len, or the errors of axl_tcp_send. */
int axl_tcp_send_zc(struct axl_tcb *c, const void *data, uint32_t len, void *cookie);
/* Peek at received in-order data in place: fills up to n pieces and returns
 * the number filled; 0 at end of stream (FIN received, everything
 * released), AXL_EAGAIN when nothing is queued yet, or the connection's
 * error (-ECONNRESET ...). The pointers stay valid until axl_tcp_recv_done()
 * releases those bytes. */
int axl_tcp_recv(struct axl_tcb *c, struct axl_tcp_iov *iov, unsigned n);
/* Release the first n bytes of what recv showed (may open the window). */
int axl_tcp_recv_done(struct axl_tcb *c, uint32_t n);
/* Copying receive: bytes copied (> 0), 0 at end of stream (FIN received and
 * everything read), AXL_EAGAIN, or the connection's error. */
int axl_tcp_read(struct axl_tcb *c, void *buf, uint32_t len);
/* Bytes readable now. */
uint32_t axl_tcp_readable(const struct axl_tcb *c);
/* Free space in the send buffer. */
uint32_t axl_tcp_send_room(const struct axl_tcb *c);

/* ---- teardown --------------------------------------------------------------- */

/* Half-close (SHUT_WR): FIN after the queued data. 0 or -ENOTCONN. */
int axl_tcp_shutdown(struct axl_tcb *c);
/* Give the handle back: orderly close (FIN after the queued data), or a
 * reset when received data is still unread (RFC 1122 §4.2.2.13). */
void axl_tcp_close(struct axl_tcb *c);
/* Give the handle back and reset the connection now (RST). */
void axl_tcp_abort(struct axl_tcb *c);

/* ---- options and introspection ------------------------------------------- */

int axl_tcp_setopt(struct axl_tcb *c, enum axl_tcp_opt opt, uint32_t val);
int axl_tcp_getopt(const struct axl_tcb *c, enum axl_tcp_opt opt, uint32_t *val);
void axl_tcp_set_user(struct axl_tcb *c, const struct axl_tcp_ops *ops, void *user);
void *axl_tcp_user(const struct axl_tcb *c);
struct axl_stack *axl_tcp_stack(const struct axl_tcb *c);
void axl_tcp_get_info(const struct axl_tcb *c, struct axl_tcp_info *info);
const char *axl_tcp_state_name(unsigned state);
/* The number of the pool's buffers that are this engine's own (0: work it
 * out, the default). Send queues stop taking buffers when the free list
 * falls to an eighth of the share (the rest is kept for reception and
 * frames in flight). A pool shared by several engines (the director's
 * area, port/dirport.h) sets the replica's quota here; without it the
 * engine uses the free list's high-water mark, which is nbufs for a
 * private pool. */
void axl_tcp_set_pool_share(struct axl_stack *s, uint32_t nbufs);
/* Connections in the engine (all states, TIME-WAIT included). */
uint32_t axl_tcp_conn_count(const struct axl_stack *s);

#endif
