/* SPDX-License-Identifier: MIT */
/*
 * axl/axl.h - the Axolotl native asynchronous API (after DLibOS): one API,
 * two deployments.
 *
 *   isolated            the application attaches to a running axl-stackd
 *                       (its control socket) and talks to every replica over
 *                       shared-memory channels (src/chan): no system call
 *                       while busy, the stack in other, protected processes.
 *   run-to-completion   the engine is linked into the application and runs
 *   (RTC)               inside axl_poll() on a port of its own (one queue).
 *
 * The application sees the same handles, events and calls in both modes; a
 * program picks its mode from its command line (docs/API.md "Modes"):
 *   --stack PATH                    isolated (default: $AXL_STACK, else
 *                                   AXL_STACK_DEFAULT)
 *   --port SPEC --addr CIDR [--gw IP] [--mtu N] [--pcap FILE]
 *                                   run-to-completion
 * axl_mode_opt() consumes these flags for any program.
 *
 * Threading: a context is single-threaded (one thread calls into it at a
 * time). Use one context per thread.
 *
 * Handles: axl_sock_t is an opaque 64-bit value (replica, socket, generation),
 * never 0 for a live socket. A handle stays valid until axl_close()/
 * axl_abort(); using a stale one returns -EBADF.
 *
 * Events (axl_poll):
 *   NEW_CONN       a connection waits on listener `listener`; take it with
 *                  axl_accept() (accepting is cheap: the socket is pre-mapped)
 *   CONNECTED      an axl_connect() finished: status 0, or negative errno
 *                  (-ECONNREFUSED, -ETIMEDOUT, -EHOSTUNREACH); on failure the
 *                  handle must still be closed
 *   NEW_DATA       bytes (TCP) or datagrams (UDP) are readable; arg = bytes
 *                  readable now (a hint: axl_recv tells the truth)
 *   DATA_ACKED     the peer acknowledged data: arg = bytes; cookie = the
 *                  cookie of an axl_send_mem()/axl_send_obj() whose bytes are
 *                  now all acknowledged (the memory may be reused), or 0 for
 *                  bytes sent by copy (arg bytes of room came free)
 *   REMOTE_CLOSED  the peer sent FIN (status 0) - reads return 0 after the
 *                  queued bytes - or the connection failed (status < 0)
 *   CLEANUP        the connection is over: status 0 (orderly), -ECONNRESET,
 *                  -ETIMEDOUT, -ECONNABORTED (its replica died) ...; the
 *                  handle must still be closed
 *   DONE           an asynchronous control command finished (cookie, status)
 *
 * Errors are negative errno values (-ECONNRESET ...); axl_strerror() names them.
 *
 * Call chain: application -> this API (src/axl/) -> RTC: net/tcp.h and the
 * UDP API of net/stack.h on an in-process engine; isolated: src/chan (app side)
 * -> shared memory -> the replica's service layer (src/svc) -> net/tcp.h.
 */
#ifndef AXL_AXL_H
#define AXL_AXL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AXL_API_VERSION 1

/** AXL_STACK_DEFAULT: the control socket of a system-wide axl-stackd. */
#define AXL_STACK_DEFAULT "/run/axl/stack.sock"
/** AXL_STACK_ENV: environment variable naming the control socket. */
#define AXL_STACK_ENV "AXL_STACK"

typedef uint64_t axl_sock_t;
#define AXL_SOCK_NONE ((axl_sock_t)0)

struct axl_ctx;
struct axl_mem; /* registered memory (zero-touch sends) */
struct axl_obj; /* a pre-packetised object (registered response) */

/* ---- modes and contexts ----------------------------------------------------- */

enum axl_mode {
    AXL_MODE_ISOLATED = 1, /* attach to axl-stackd */
    AXL_MODE_RTC = 2,      /* engine linked in */
};

struct axl_config {
    enum axl_mode mode; /* 0: isolated unless `port` is set */
    /* isolated */
    const char *stack;  /* control socket; NULL: $AXL_STACK, else AXL_STACK_DEFAULT */
    const char *name;   /* application name shown by axlctl (NULL: program name) */
    /* run-to-completion */
    const char *port;   /* port spec, e.g. "afxdp:veth0", "tap:axl0", "shm:/x,side=a" */
    const char *addr;   /* CIDR, e.g. "198.18.0.2/24" */
    const char *gw;     /* default gateway or NULL */
    const char *mac;    /* MAC override or NULL */
    const char *pcap;   /* mirror every frame to this file, or NULL */
    uint32_t mtu;       /* IP MTU, 0 = the port's */
    uint64_t seed;      /* 0 = random */
    /* both: per-socket buffer sizes (bytes, power of two; 0 = default 64 KiB)
     * and the number of sockets (0 = default 4096) */
    uint32_t rx_size, tx_size, max_socks;
};

/* Consume one mode flag for a program's own parser: `name` without dashes
 * ("stack", "port", "addr", "gw", "mtu", "mac", "pcap"), `val` its value.
 * Returns 1 if it was a mode flag (stored into cfg; pointers kept), 0 if not,
 * or -EINVAL with a message in err when the value is bad. */
int axl_mode_opt(struct axl_config *cfg, const char *name, const char *val, char *err,
                 size_t errlen);
/* The help text for the mode flags (for a program's --help). */
const char *axl_mode_help(void);

/* Open a context: attach (isolated) or build the engine (RTC). 0 or a
 * negative errno with a message in err (e.g. "cannot reach axl-stackd at
 * /run/axl/stack.sock: No such file or directory"). */
int axl_open(struct axl_ctx **out, const struct axl_config *cfg, char *err, size_t errlen);
/* Close every socket (orderly), detach / destroy the engine, free. */
void axl_close_ctx(struct axl_ctx *ctx);
enum axl_mode axl_ctx_mode(const struct axl_ctx *ctx);
/* Replicas (isolated) or 1 (RTC). */
uint32_t axl_ctx_replicas(const struct axl_ctx *ctx);
/* Our IPv4 address (host order). */
uint32_t axl_ctx_addr(const struct axl_ctx *ctx);

/* ---- the event loop ---------------------------------------------------------- */

enum axl_ev_type {
    AXL_EV_NEW_CONN = 1,
    AXL_EV_CONNECTED = 2,
    AXL_EV_NEW_DATA = 3,
    AXL_EV_DATA_ACKED = 4,
    AXL_EV_REMOTE_CLOSED = 5,
    AXL_EV_CLEANUP = 6,
    AXL_EV_DONE = 7,
};

struct axl_event {
    uint32_t type;       /* enum axl_ev_type */
    int32_t status;      /* 0 or negative errno */
    axl_sock_t sock;     /* the socket (NEW_CONN: the listener) */
    uint64_t cookie;     /* DATA_ACKED / DONE */
    uint32_t arg;        /* NEW_DATA: readable bytes; DATA_ACKED: bytes */
    uint32_t reserved;
    void *user;          /* the socket's user pointer (axl_set_user) */
};

/* Do pending work (RTC: run the engine; isolated: drain every channel's
 * event queue), then return up to `max` events. Waits up to timeout_ns for
 * something to happen when there is nothing to return (0: never wait; < 0:
 * wait without bound). Spins briefly before sleeping; sleeps on a futex
 * (isolated) or on the port (RTC). Returns the number of events, 0 on
 * timeout, or a negative errno (-ENOTCONN: the stack is gone for good). */
int axl_poll(struct axl_ctx *ctx, struct axl_event *ev, int max, int64_t timeout_ns);
/* Flush what this thread queued (commands, TX bytes) and wake the stack if it
 * sleeps. axl_poll does it; call it when you go on without polling. */
void axl_flush(struct axl_ctx *ctx);
/* A file descriptor that becomes readable when axl_poll has work (for
 * embedding into an outer event loop), or -1 if the mode has none. */
int axl_ctx_fd(struct axl_ctx *ctx);

/* ---- sockets ----------------------------------------------------------------- */

enum axl_sock_type { AXL_TCP = 6, AXL_UDP = 17 };

/* Create a socket. 0 or AXL errors (-EMFILE: no free socket). */
int axl_socket(struct axl_ctx *ctx, enum axl_sock_type type, axl_sock_t *out);
/* Bind to a local port (addr: host order, 0 = ours). -EADDRINUSE, -EINVAL. */
int axl_bind(struct axl_ctx *ctx, axl_sock_t s, uint32_t addr, uint16_t port);
/* Listen (TCP). In isolated mode the listener exists on every replica; a
 * connection is accepted from whichever replica received it. */
int axl_listen(struct axl_ctx *ctx, axl_sock_t s, uint32_t backlog);
/* Take a waiting connection of listener l: 0 (*out set), or -EAGAIN. */
int axl_accept(struct axl_ctx *ctx, axl_sock_t l, axl_sock_t *out);
/* Start an active open (TCP) to addr:port (host order): 0 and CONNECTED
 * later, or an immediate error. UDP: sets the default destination (0). */
int axl_connect(struct axl_ctx *ctx, axl_sock_t s, uint32_t addr, uint16_t port);
/* Half-close: how = 0 (read), 1 (write: FIN after the queued data), 2. */
int axl_shutdown(struct axl_ctx *ctx, axl_sock_t s, int how);
/* Give the handle back: orderly close (lazy: the stack finishes it). */
int axl_close(struct axl_ctx *ctx, axl_sock_t s);
/* Give the handle back and reset the connection. */
int axl_abort(struct axl_ctx *ctx, axl_sock_t s);

void axl_set_user(struct axl_ctx *ctx, axl_sock_t s, void *user);
void *axl_get_user(struct axl_ctx *ctx, axl_sock_t s);

enum axl_sockopt {
    AXL_SO_NODELAY = 1,   /* 0/1 */
    AXL_SO_KEEPALIVE = 2, /* 0/1 */
    AXL_SO_KEEPIDLE = 3,  /* seconds */
    AXL_SO_KEEPINTVL = 4, /* seconds */
    AXL_SO_KEEPCNT = 5,
    AXL_SO_REUSEADDR = 6, /* 0/1 */
    AXL_SO_REUSEPORT = 7, /* 0/1 */
    AXL_SO_LINGER = 8,    /* seconds, or 0xffffffff = off */
};
int axl_setopt(struct axl_ctx *ctx, axl_sock_t s, enum axl_sockopt opt, uint32_t val);

struct axl_sock_info {
    uint32_t type;          /* enum axl_sock_type */
    uint32_t state;         /* enum axl_sock_state */
    uint32_t laddr, raddr;  /* host order */
    uint16_t lport, rport;  /* host order */
    uint32_t readable;      /* bytes (TCP) / bytes of the next datagram (UDP) */
    uint32_t send_room;     /* bytes that axl_send would take now */
    int32_t error;          /* pending socket error (negative errno) or 0 */
    uint32_t replica;       /* the replica that owns it (0 in RTC; listeners: 0) */
    uint8_t rx_eof;         /* FIN received and everything before it queued */
    uint8_t tx_shut;        /* no more sends */
};
enum axl_sock_state {
    AXL_SS_OPEN = 1,
    AXL_SS_LISTEN,
    AXL_SS_CONNECTING,
    AXL_SS_ESTABLISHED,
    AXL_SS_CLOSED, /* connection over (after CLEANUP) */
};
int axl_sock_info(struct axl_ctx *ctx, axl_sock_t s, struct axl_sock_info *info);

/* ---- data: copy -------------------------------------------------------------- */

/* Queue up to len bytes (TCP): returns bytes taken (> 0), -EAGAIN when the
 * send buffer is full (DATA_ACKED reports room), -EPIPE after shutdown, the
 * socket error, or -ENOTCONN. Sent with the next flush/poll. */
int axl_send(struct axl_ctx *ctx, axl_sock_t s, const void *buf, uint32_t len);
/* Copy up to len received bytes (TCP): bytes (> 0), 0 at end of stream,
 * -EAGAIN, or the socket error. */
int axl_recv(struct axl_ctx *ctx, axl_sock_t s, void *buf, uint32_t len);

/* ---- data: in place ------------------------------------------------------------ */

struct axl_iov {
    const uint8_t *base;
    uint32_t len;
};
/* Look at received bytes in place (TCP): fills up to n pieces (two suffice
 * to see everything queued) and returns the total byte count (> 0), 0 at end
 * of stream, -EAGAIN, or the socket error. The bytes stay put until
 * axl_recv_done(). */
int axl_recv_peek(struct axl_ctx *ctx, axl_sock_t s, struct axl_iov *iov, unsigned n);
/* Release the first n bytes of what peek showed (opens the window). */
int axl_recv_done(struct axl_ctx *ctx, axl_sock_t s, uint32_t n);

/* ---- data: zero-touch from registered memory ----------------------------------- */

/* Memory the stack can send from without copying: isolated mode maps it
 * into every replica (a sealed memfd), RTC mode uses it in place.
 * size is rounded up to a page. Returns 0 and the mapping's base. */
int axl_mem_alloc(struct axl_ctx *ctx, size_t size, struct axl_mem **out);
void *axl_mem_base(const struct axl_mem *m);
size_t axl_mem_size(const struct axl_mem *m);
/* Free: only after every send from it was acknowledged (DATA_ACKED). */
void axl_mem_free(struct axl_ctx *ctx, struct axl_mem *m);
/* Send len bytes at m+off by reference (scatter-gather: call once per
 * piece). All or nothing: 0, -EAGAIN (no room now), -EINVAL (outside m).
 * DATA_ACKED with `cookie` (non-zero) when all of it is acknowledged; the
 * bytes must not change until then. */
int axl_send_mem(struct axl_ctx *ctx, axl_sock_t s, struct axl_mem *m, uint64_t off, uint32_t len,
                 uint64_t cookie);

/* ---- pre-packetised objects (Sandstorm) ------------------------------------------ */

/* Register `len` bytes at m+off as an object the stack pre-packetises: it
 * builds ready TCP segments (headers, payload per MSS, checksums) once, and
 * afterwards sends the object on any connection by patching addresses,
 * ports, sequence/ack numbers and window and updating the checksum
 * incrementally (RFC 1624); retransmissions are regenerated from the
 * pre-built segments. `copy` selects the Sandstorm variant: 0 = "pre-copy"
 * (segments are kept whole and patched in place in the send buffers they
 * are sent from), 1 = "memcpy" (the payload is copied into a fresh buffer
 * per send, headers from the template). The memory must stay unchanged until
 * axl_obj_free(). 0 or negative errno. */
int axl_obj_register(struct axl_ctx *ctx, struct axl_mem *m, uint64_t off, uint32_t len, int copy,
                     struct axl_obj **out);
/* Queue the whole object on s (after any bytes already queued). All or
 * nothing: 0, -EAGAIN, -EPIPE ... DATA_ACKED(cookie) when acknowledged. */
int axl_send_obj(struct axl_ctx *ctx, axl_sock_t s, struct axl_obj *o, uint64_t cookie);
void axl_obj_free(struct axl_ctx *ctx, struct axl_obj *o);

/* ---- UDP ---------------------------------------------------------------------- */

/* Send one datagram (len <= 65507) to addr:port (host order; 0/0 = the
 * connected destination). 0, -EAGAIN (no room), -EMSGSIZE, -EDESTADDRREQ. */
int axl_sendto(struct axl_ctx *ctx, axl_sock_t s, const void *buf, uint32_t len, uint32_t addr,
               uint16_t port);
/* Receive one datagram: its length (a longer one is truncated to len and
 * the rest dropped, as recvfrom without MSG_TRUNC does), -EAGAIN. addr/port
 * (host order) may be NULL. */
int axl_recvfrom(struct axl_ctx *ctx, axl_sock_t s, void *buf, uint32_t len, uint32_t *addr,
                 uint16_t *port);

/* ---- misc ---------------------------------------------------------------------- */

/* "Connection refused" etc. for a negative error value. */
const char *axl_strerror(int err);
/* Stack counters by name (RTC: the engine's; isolated: summed over
 * replicas as the supervisor reports them). -ENOENT if unknown. */
int axl_stat(struct axl_ctx *ctx, const char *name, uint64_t *val);

#ifdef __cplusplus
}
#endif
#endif
