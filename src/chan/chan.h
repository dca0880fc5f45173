/* SPDX-License-Identifier: MIT */
/*
 * chan.h - the application <-> stack-replica channel: API of both sides.
 * The shared-memory ABI (layouts, entries, who writes what) is in abi.h; the
 * byte rings in bring.h; the protocols in docs/API.md "Channel ABI".
 *
 * Call chain:
 *   replica/supervisor: axl_chan_create -> axl_chan_send_hello (Unix socket)
 *                       loop { axl_chan_stk_poll_cmd / axl_chan_stk_scan /
 *                              tx_peek+tx_consume / rx_reserve+rx_publish /
 *                              axl_chan_stk_post / axl_chan_stk_kick }
 *                       idle: axl_chan_stk_sleep (one app) or
 *                             axl_chan_wait_many (futex_waitv over apps)
 *   application:        axl_chan_recv_hello -> axl_chan_map_app
 *                       loop { axl_chan_app_submit / axl_chan_app_poll_event /
 *                              rx_peek+rx_commit / tx_reserve+tx_publish /
 *                              axl_chan_app_mark / axl_chan_app_kick }
 *                       idle: axl_chan_app_sleep
 *
 * Every value read from the peer's memory is validated; each violation is
 * counted per channel in struct axl_chan_stats (by kind) so that the replica
 * can disconnect an offender (axl_chan_stk_disconnect). Nothing here blocks
 * except the *_sleep / wait_many calls, and no system call is made while both
 * sides are busy (doorbells ring only when the peer said it sleeps).
 */
#ifndef AXL_CHAN_CHAN_H
#define AXL_CHAN_CHAN_H

#include <stddef.h>
#include <stdint.h>

#include "chan/abi.h"
#include "chan/bring.h"
#include "chan/doorbell.h"
#include "core/ring.h"

/* ------------------------------------------------------------------------ */
/* Parameters and layout                                                     */

struct axl_chan_params {
    uint32_t max_socks;  /* AXL_CHAN_SOCKS_MIN..MAX, multiple of 64 */
    uint32_t rx_size;    /* power of two, AXL_CHAN_RING_MIN..MAX */
    uint32_t tx_size;    /* power of two, AXL_CHAN_RING_MIN..MAX */
    uint32_t evq_slots;  /* power of two, AXL_CHAN_QUEUE_MIN..MAX */
    uint32_t cmdq_slots; /* power of two, AXL_CHAN_QUEUE_MIN..MAX */
    uint32_t max_regmem; /* 1..AXL_CHAN_REGMEM_MAX */
};

/* The defaults (AXL_CHAN_*_DEFAULT). */
void axl_chan_params_default(struct axl_chan_params *p);

/* Offsets and sizes of every section, computed identically on both sides. */
struct axl_chan_layout {
    struct axl_chan_params p;
    uint32_t bm_words; /* 64-bit words per hint/ack bitmap */
    uint64_t size[AXL_CHAN_NREGIONS];
    uint64_t sctl_off, s_hint_off, s_ack_off, evq_off, slots_off, rx_off;
    uint64_t actl_off, a_hint_off, a_ack_off, cmdq_off, lines_off, tx_off;
};

/* 0, or AXL_EINVAL if a parameter is out of range. */
int axl_chan_layout(const struct axl_chan_params *p, struct axl_chan_layout *l);

/* ------------------------------------------------------------------------ */
/* Violations and statistics                                                 */

enum axl_chan_viol {
    AXL_CHAN_V_NONE = 0,
    AXL_CHAN_V_OPCODE,      /* unknown opcode / event type */
    AXL_CHAN_V_FLAGS,       /* flag bits the opcode does not define */
    AXL_CHAN_V_RESERVED,    /* a field the opcode does not use is not 0 */
    AXL_CHAN_V_SOCK,        /* socket id out of range (or NONE where one is needed) */
    AXL_CHAN_V_GEN,         /* wrong generation (app side: newer than the slot's) */
    AXL_CHAN_V_FREE,        /* the command names a free slot */
    AXL_CHAN_V_LEN,         /* length 0 or beyond the ring size */
    AXL_CHAN_V_REGION,      /* unknown / unregistered memory region */
    AXL_CHAN_V_RANGE,       /* offset + length outside the registered region */
    AXL_CHAN_V_POS,         /* SEND|REG splice position outside the TX window */
    AXL_CHAN_V_ADDR,        /* bad family, port or address */
    AXL_CHAN_V_ARG,         /* argument out of range (proto, backlog, how, option) */
    AXL_CHAN_V_STATUS,      /* app side: status not 0 / negative errno */
    AXL_CHAN_V_QUEUE_INDEX, /* command/event queue index out of range */
    AXL_CHAN_V_RING_INDEX,  /* socket byte-ring index out of range */
    AXL_CHAN_V_SLOT,        /* app side: slot contents inconsistent with the layout */
    AXL_CHAN_V_COUNT
};

/* Short name of a violation kind ("opcode", "gen", ...). */
const char *axl_chan_viol_name(unsigned v);

struct axl_chan_stats {
    uint64_t violations;          /* total of v[] */
    uint64_t v[AXL_CHAN_V_COUNT]; /* per kind */
    uint64_t cmds;                /* commands accepted (stack) / submitted (app) */
    uint64_t events;              /* events posted (stack) / accepted (app) */
    uint64_t stale_events;        /* app: events about an older generation */
    uint64_t queue_full;          /* post/submit refused: queue full */
    uint64_t hints;               /* sockets reported by scan */
    uint64_t hints_ignored;       /* stack: hints for free slots */
    uint64_t kicks;               /* activity bumps */
    uint64_t wakes;               /* FUTEX_WAKE system calls issued */
    uint64_t wakes_suppressed;    /* stack: repeated wake of the same sleep skipped */
    uint64_t sleeps;              /* FUTEX_WAIT system calls issued */
    uint64_t sleep_timeouts;      /* ... that ended by their timeout */
    uint64_t sleeps_aborted;      /* prepare found work: no system call */
    uint64_t bytes_in, bytes_out; /* ring bytes consumed / produced */
};

/* ------------------------------------------------------------------------ */
/* Decoders: pure functions over a private copy of one entry.                */

/* What the command decoder needs to know (all stack-private or stack-written,
 * i.e. trusted). reg_size[i] is the size of registered region i, 0 if none. */
struct axl_chan_dctx {
    uint32_t max_socks, rx_size, tx_size, max_regmem;
    const struct axl_chan_slot *slots; /* the stack's own table */
    const uint64_t *reg_size;          /* max_regmem entries */
};

/* 0 if the command is well-formed, else AXL_EMALFORMED with *viol set to the
 * first rule it breaks (enum axl_chan_viol). */
int axl_chan_cmd_decode(const struct axl_chan_cmd *c, const struct axl_chan_dctx *d,
                        unsigned *viol);

struct axl_chan_edctx {
    uint32_t max_socks, rx_size, tx_size;
    const struct axl_chan_slot *slots; /* the app's read-only view of the table */
};

/* 0 valid, 1 valid but stale (about an older generation of the slot, or a
 * slot freed since: drop it), AXL_EMALFORMED with *viol set otherwise. */
int axl_chan_evt_decode(const struct axl_chan_event *e, const struct axl_chan_edctx *d,
                        unsigned *viol);

/* ------------------------------------------------------------------------ */
/* Control messages over a Unix socket (SCM_RIGHTS)                          */

/* Validate a received message of `len` bytes that came with `nfds` fds.
 * 0 or AXL_EMALFORMED / AXL_EVERSION. Pure. */
int axl_chan_msg_check(const void *buf, size_t len, unsigned nfds, struct axl_chan_msg *out);

/* Send one message with its fds (m->nfds of them). 0 or negative errno. */
int axl_chan_msg_send(int sock, const struct axl_chan_msg *m, const int *fds);

/* Receive and validate one message; fds[] gets exactly m->nfds fds (close-on-
 * exec). Any fds that came with an invalid or truncated message are closed.
 * 0, AXL_EAGAIN (nothing there, non-blocking socket), -EPIPE at end of
 * stream, AXL_EMALFORMED / AXL_EVERSION, or negative errno. */
int axl_chan_msg_recv(int sock, struct axl_chan_msg *m, int fds[AXL_CHAN_MSG_FDS_MAX]);

/* ------------------------------------------------------------------------ */
/* Stack side                                                                */

struct axl_chan_ssock {
    struct axl_bring rx; /* we produce: data in STK, peer = line.rx_cons */
    struct axl_bring tx; /* we consume: data in APP (read-only), peer = line.tx_prod */
};

struct axl_chan_reg {
    const uint8_t *base; /* read-only mapping, NULL if the id is free */
    uint64_t size;
};

struct axl_chan_stk {
    struct axl_chan_layout lay; /* private, validated */
    int fd[AXL_CHAN_NREGIONS];  /* the memfds (to hand over), -1 once closed */
    uint8_t *stk;               /* STK region, read-write */
    const uint8_t *app;         /* APP region, read-only */
    struct axl_chan_hdr *hdr;
    struct axl_chan_sctl *sctl;
    const struct axl_chan_actl *actl;
    struct axl_chan_slot *slots;
    const struct axl_chan_line *lines;
    _Atomic uint64_t *s_hint, *s_ack;
    const _Atomic uint64_t *a_hint, *a_ack;
    struct axl_ring_cons cmdq;
    struct axl_ring_prod evq;
    struct axl_chan_ssock *sock; /* max_socks private endpoints */
    uint32_t *free_ids;          /* stack of free socket ids */
    uint32_t nfree;
    uint64_t *hint_priv, *ack_priv; /* our copies of s_hint / s_ack */
    uint32_t app_act_seen;          /* app activity value last acted on */
    uint32_t scan_word;             /* resume point of a partial scan */
    int scan_pending;
    struct axl_doorbell_waker waker; /* when we last woke the app */
    int has_bell, bell_fd;           /* our doorbell eventfd for the HELLO (not owned) */
    uint64_t *reg_size;              /* max_regmem */
    struct axl_chan_reg *reg;        /* max_regmem */
    struct axl_chan_dctx dctx;
    uint32_t app_id;
    struct axl_chan_stats stats;
};

/* Create the two regions for one application, map them (STK read-write, APP
 * read-only), initialise header, table and queues, then seal the STK memfd
 * F_SEAL_FUTURE_WRITE. 0 or negative errno / AXL_EINVAL. */
int axl_chan_create(struct axl_chan_stk *ch, const struct axl_chan_params *p, uint32_t app_id);

/* Map regions from fds (used by axl_chan_create before sealing; a sealed STK
 * memfd can no longer be mapped writable: a restarted replica builds a fresh
 * channel). Validates sizes and seals. Does not initialise the contents. */
int axl_chan_map_stack(struct axl_chan_stk *ch, const struct axl_chan_params *p,
                       const int fds[AXL_CHAN_NREGIONS]);

/* Unmap everything, close fds and registered regions. */
void axl_chan_stk_close(struct axl_chan_stk *ch);

/* The HELLO message for this channel, and sending it with both fds. After a
 * successful send the stack may close its copies of the fds
 * (axl_chan_stk_drop_fds): its mappings stay. */
void axl_chan_stk_hello(const struct axl_chan_stk *ch, struct axl_chan_msg *m);
/* Offer `bell_fd` (an eventfd the caller keeps open; -1 = none) in the HELLO:
 * the app then writes it instead of FUTEX_WAKE (abi.h AXL_CHAN_MSG_HELLO). */
void axl_chan_stk_set_bell(struct axl_chan_stk *ch, int bell_fd);
int axl_chan_send_hello(int sock, const struct axl_chan_stk *ch);
void axl_chan_stk_drop_fds(struct axl_chan_stk *ch);

/* Mark the channel DOWN (visible to the app) after violations. */
void axl_chan_stk_disconnect(struct axl_chan_stk *ch);

/* Sockets. alloc: a FREE slot, gen + 1, indices rebased on the app's current
 * ones; returns the id or AXL_ENOBUFS. free: back to FREE (after the app's
 * CLOSE and our CLEANUP). */
int axl_chan_stk_sock_alloc(struct axl_chan_stk *ch, uint32_t proto, uint32_t state);
void axl_chan_stk_sock_free(struct axl_chan_stk *ch, uint32_t id);
void axl_chan_stk_sock_state(struct axl_chan_stk *ch, uint32_t id, uint32_t state);
void axl_chan_stk_sock_flags(struct axl_chan_stk *ch, uint32_t id, uint32_t set, uint32_t clear);

/* Commands: 1 with *out a validated private copy, 0 if none, AXL_EMALFORMED
 * after a violation (the entry is consumed; *viol says which). */
int axl_chan_stk_poll_cmd(struct axl_chan_stk *ch, struct axl_chan_cmd *out, unsigned *viol);

/* Hinted sockets (app -> stack), at most max ids into ids[], only if the app's
 * activity word moved (or a previous scan was cut short). Sockets in FREE
 * slots are dropped. Ends with a full fence: read the rings after it. */
uint32_t axl_chan_stk_scan(struct axl_chan_stk *ch, uint32_t *ids, uint32_t max);

/* RX ring of socket id (stack produces). reserve: writable bytes as spans, or
 * AXL_EMALFORMED (bad app index, counted) -- when it finds the ring full it
 * sets AXL_CHAN_SF_RX_WANT. publish: n bytes visible + hint to the app. */
int axl_chan_stk_rx_reserve(struct axl_chan_stk *ch, uint32_t id, struct axl_span sp[2]);
void axl_chan_stk_rx_publish(struct axl_chan_stk *ch, uint32_t id, uint32_t n);

/* TX ring of socket id (stack consumes). peek: readable bytes as spans (the
 * spans stay readable until consume). consume: the stack is done with n bytes
 * (for TCP: acknowledged); hints the app if it set AXL_CHAN_LF_TX_WANT. */
int axl_chan_stk_tx_peek(struct axl_chan_stk *ch, uint32_t id, struct axl_cspan sp[2]);
void axl_chan_stk_tx_consume(struct axl_chan_stk *ch, uint32_t id, uint32_t n);

/* Hint socket id to the app (stack -> app); publish it with axl_chan_stk_kick. */
void axl_chan_stk_mark(struct axl_chan_stk *ch, uint32_t id);

/* Post one event: 0 or AXL_ENOBUFS (queue full: counted; keep it and retry,
 * the stack never blocks). */
int axl_chan_stk_post(struct axl_chan_stk *ch, const struct axl_chan_event *ev);

/* End of a batch: bump our activity word; FUTEX_WAKE the app only if it said
 * it sleeps on a value we moved past (once per sleep: doorbell.h). */
void axl_chan_stk_kick(struct axl_chan_stk *ch);
/* axl_chan_stk_kick in two halves (doorbell.h axl_doorbell_bump / _ring):
 * bump publishes at once (no system call), ring wakes the app if it sleeps
 * on an older value; 1 if it issued a FUTEX_WAKE. Every bump must be
 * followed by a ring before the caller sleeps or waits long. */
void axl_chan_stk_bump(struct axl_chan_stk *ch);
int axl_chan_stk_ring(struct axl_chan_stk *ch);
/* Events posted and not yet consumed by the app (an estimate from the app's
 * index, clamped to the queue size). */
uint32_t axl_chan_stk_evq_used(const struct axl_chan_stk *ch);

/* Idle, after the commands and hints were drained (poll_cmd to 0, scan):
 * 1 if safe to sleep (sleep word set, nothing pending), else 0 (word cleared). sleep: prepare +
 * FUTEX_WAIT on the app's activity word for at most timeout_ns (0 = no limit) + wake_done; returns
 * 1 if it slept, 0 if work was pending. */
int axl_chan_stk_prepare_sleep(struct axl_chan_stk *ch);
void axl_chan_stk_wake_done(struct axl_chan_stk *ch);
int axl_chan_stk_sleep(struct axl_chan_stk *ch, uint64_t timeout_ns);

/* Sleep on several channels at once (futex_waitv). Each must have passed
 * axl_chan_stk_prepare_sleep; all get wake_done before return. n <= 128.
 * Returns the index of a channel that was woken, -ETIMEDOUT, or negative
 * errno (-EAGAIN: one of them already moved). */
int axl_chan_wait_many(struct axl_chan_stk **chs, unsigned n, uint64_t timeout_ns);

/* Registered application memory (zero-touch send). add: validate the memfd
 * (sealed F_SEAL_SHRINK, size == `size` <= AXL_CHAN_REGMEM_BYTES_MAX), map it
 * read-only; returns the region id or negative errno / AXL_EINVAL /
 * AXL_ENOBUFS. The fd is not kept. ptr: the bytes of a SEND|REG command
 * that passed the decoder. */
int axl_chan_stk_regmem_add(struct axl_chan_stk *ch, int fd, uint64_t size);
void axl_chan_stk_regmem_del(struct axl_chan_stk *ch, uint32_t region);
const uint8_t *axl_chan_stk_regmem_ptr(const struct axl_chan_stk *ch, uint32_t region, uint64_t off,
                                       uint64_t len);

/* Serve one REGMEM message: register and answer with REGMEM_ACK. */
int axl_chan_stk_serve_regmem(struct axl_chan_stk *ch, int sock, const struct axl_chan_msg *m,
                              int fd);

/* ------------------------------------------------------------------------ */
/* Application side                                                          */

struct axl_chan_app {
    struct axl_chan_layout lay;
    const uint8_t *stk; /* STK region, read-only */
    uint8_t *app;       /* APP region, read-write */
    const struct axl_chan_hdr *hdr;
    const struct axl_chan_sctl *sctl;
    struct axl_chan_actl *actl;
    const struct axl_chan_slot *slots;
    struct axl_chan_line *lines;
    const _Atomic uint64_t *s_hint, *s_ack;
    _Atomic uint64_t *a_hint, *a_ack;
    struct axl_ring_prod cmdq;
    struct axl_ring_cons evq;
    uint64_t *ack_priv; /* our copy of a_ack */
    uint32_t stk_act_seen;
    uint32_t scan_word;
    int scan_pending;
    struct axl_doorbell_waker waker; /* when we last woke the stack */
    int has_bell, bell_fd;           /* the stack's doorbell eventfd (owned), if any */
    struct axl_chan_edctx edctx;
    uint32_t app_id;
    uint64_t nonce;
    struct axl_chan_stats stats;
};

/* One attached socket on the app side. */
struct axl_chan_asock {
    uint32_t id, gen;
    struct axl_bring rx; /* we consume: data in STK (read-only), peer = slot.rx_prod */
    struct axl_bring tx; /* we produce: data in APP, peer = slot.tx_cons */
};

/* Receive the HELLO (blocking socket or not) with its two region fds and the
 * bell (*bell_fd, -1 when the stack sent none; hand it to
 * axl_chan_app_set_bell after mapping). axl_chan_recv_hello is the same for a
 * caller that cannot ring a bell: it refuses a HELLO with one (AXL_EVERSION). */
int axl_chan_recv_hello_bell(int sock, struct axl_chan_hello *h, int fds[AXL_CHAN_NREGIONS],
                             int *bell_fd);
int axl_chan_recv_hello(int sock, struct axl_chan_hello *h, int fds[AXL_CHAN_NREGIONS]);

/* Validate the hello and both memfds (sizes, seals), map the STK region
 * PROT_READ and the APP region read-write, check the header against the
 * recomputed layout. The fds are not kept (closed by the caller). */
int axl_chan_map_app(struct axl_chan_app *a, const struct axl_chan_hello *h,
                     const int fds[AXL_CHAN_NREGIONS]);
void axl_chan_app_unmap(struct axl_chan_app *a);
/* Ring the stack through this eventfd (from the HELLO) instead of FUTEX_WAKE;
 * the channel owns it from now on (closed by axl_chan_app_unmap). */
void axl_chan_app_set_bell(struct axl_chan_app *a, int bell_fd);

/* 1 while the stack serves the channel, 0 once it disconnected it. */
int axl_chan_app_up(const struct axl_chan_app *a);

/* Attach socket (id, gen) announced by NEW_CONN or DONE(OPEN): validates the
 * slot. 0, AXL_ENOENT (free / other generation) or AXL_EMALFORMED. */
int axl_chan_app_sock(struct axl_chan_app *a, uint32_t id, uint32_t gen, struct axl_chan_asock *s);

/* Commands: up to n entries copied in and published (0 if the queue is
 * full, counted). Follow with axl_chan_app_kick. */
uint32_t axl_chan_app_submit(struct axl_chan_app *a, const struct axl_chan_cmd *c, uint32_t n);

/* Events: 1 with a validated copy, 0 if none, AXL_EMALFORMED (counted, *viol
 * set, entry consumed). Stale events are dropped (counted) and skipped. */
int axl_chan_app_poll_event(struct axl_chan_app *a, struct axl_chan_event *out, unsigned *viol);

/* Hinted sockets (stack -> app), as axl_chan_stk_scan. */
uint32_t axl_chan_app_scan(struct axl_chan_app *a, uint32_t *ids, uint32_t max);

/* RX (app consumes): peek spans / commit n (hints the stack if it set
 * AXL_CHAN_SF_RX_WANT). eof: 1 when the stack set RX_EOF and all is read. */
int axl_chan_app_rx_peek(struct axl_chan_app *a, struct axl_chan_asock *s, struct axl_cspan sp[2]);
void axl_chan_app_rx_commit(struct axl_chan_app *a, struct axl_chan_asock *s, uint32_t n);
int axl_chan_app_rx_eof(struct axl_chan_app *a, struct axl_chan_asock *s);

/* TX (app produces): reserve spans / publish n (marks the socket for the
 * stack; kick afterwards, once per batch). want_space: set TX_WANT so the
 * stack hints when space frees up. */
int axl_chan_app_tx_reserve(struct axl_chan_app *a, struct axl_chan_asock *s,
                            struct axl_span sp[2]);
void axl_chan_app_tx_publish(struct axl_chan_app *a, struct axl_chan_asock *s, uint32_t n);
void axl_chan_app_tx_want(struct axl_chan_app *a, struct axl_chan_asock *s, int on);

/* Hint socket id to the stack (toggle protocol); publish with kick. */
void axl_chan_app_mark(struct axl_chan_app *a, uint32_t id);

/* End of a batch: bump the app's activity; FUTEX_WAKE the stack only if it
 * said it sleeps. */
void axl_chan_app_kick(struct axl_chan_app *a);

/* Idle, as the stack side (sleeps on the stack's activity word). */
int axl_chan_app_prepare_sleep(struct axl_chan_app *a);
void axl_chan_app_wake_done(struct axl_chan_app *a);
int axl_chan_app_sleep(struct axl_chan_app *a, uint64_t timeout_ns);

/* Registered memory the app offers for SEND|REG: a sealed (SHRINK|GROW|SEAL)
 * memfd mapped read-write here. register: send it (REGMEM) and wait for the
 * REGMEM_ACK on a blocking socket; returns the region id or negative errno. */
struct axl_chan_regmem {
    int fd;
    uint8_t *base;
    uint64_t size;
};
int axl_chan_regmem_create(struct axl_chan_regmem *m, uint64_t size);
void axl_chan_regmem_destroy(struct axl_chan_regmem *m);
int axl_chan_regmem_register(int sock, const struct axl_chan_regmem *m, uint64_t cookie);

#endif
