/* SPDX-License-Identifier: MIT */
/*
 * net/tcp_priv.h - TCP inside the engine: the transmission control block
 * (TCB), the listener, the per-engine TCP state, limits and defaults, and the
 * functions the TCP modules share. White-box unit tests include it too; the
 * public contract is net/tcp.h.
 *
 * Modules (where is...?):
 *   tcp.c         per-engine tables (4-tuple htab, listeners by port), TCB
 *                 life cycle and reaping, ephemeral ports, the API of tcp.h,
 *                 event delivery, send/receive queues
 *   tcp_input.c   segment arrival: validation, demux, one function per state
 *                 in RFC 9293 §3.10.7 order; ACK processing, loss recovery
 *   tcp_output.c  segment construction and transmission: data, SYN,
 *                 SYN-ACK, ACK, RST, window advertisement, Nagle/SWS
 *   tcp_timer.c   retransmission (and SYN/SYN-ACK), persist, delayed ACK,
 *                 keep-alive, FIN-WAIT-2 and TIME-WAIT timers
 * Leaf modules used: wire/tcp (format), tcp_isn (ISNs, SYN cookies),
 * tcp_rtt (RTO), tcp_ooo (out-of-order queue), tcp_cc (congestion control),
 * tcp_sack (RFC 6675 scoreboard).
 *
 * Call chain: ipv4.c deliver -> axl_tcp_input (tcp_input.c) -> state
 * handlers -> tcp.c queues/events -> tcp_output.c -> axl_ipv4_output_pkt;
 * timer wheel -> tcp_timer.c -> tcp_output.c; application -> tcp.c API.
 */
#ifndef AXL_NET_TCP_PRIV_H
#define AXL_NET_TCP_PRIV_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/clock.h"
#include "core/hash.h"
#include "core/pool.h"
#include "core/timer.h"
#include "net/tcp.h"
#include "net/tcp_cc.h"
#include "net/tcp_isn.h"
#include "net/tcp_ooo.h"
#include "net/tcp_rtt.h"
#include "net/tcp_scoreboard.h"
#include "wire/tcp.h"

struct axl_stack;
struct axl_ipdg;

/* ---- limits and defaults (each documented where it is defined) ---------- */

/** AXL_TCP_MSL_MS_DEFAULT: maximum segment lifetime. RFC 9293 §3.4.2 uses
 *  2 minutes; Linux holds TIME-WAIT for 60 s (an MSL of 30 s) and so do we:
 *  a datagram that lingers 30 s in a network is long dead. TIME-WAIT lasts
 *  2*MSL. Configurable per engine (axl_stack_cfg.tcp_msl_ms). */
#define AXL_TCP_MSL_MS_DEFAULT 30000u
/** AXL_TCP_SNDBUF_DEFAULT / AXL_TCP_RCVBUF_DEFAULT: per-connection buffer
 *  bytes. The receive buffer is the most we advertise as window. 1 MiB
 *  covers 10 Gb/s at a 0.8 ms RTT. Buffers hold pool buffers: a full 1 MiB
 *  receive queue of 1448-byte segments holds ~725 buffers of 2 KiB. */
#define AXL_TCP_SNDBUF_DEFAULT (1u << 20)
#define AXL_TCP_RCVBUF_DEFAULT (1u << 20)
/** AXL_TCP_BUF_MIN / AXL_TCP_BUF_MAX: bounds for SNDBUF/RCVBUF options. The
 *  maximum is 2^30, the largest window scaling can express (RFC 7323 §2.3). */
#define AXL_TCP_BUF_MIN 4096u
#define AXL_TCP_BUF_MAX (1u << 30)
/** AXL_TCP_BACKLOG_DEFAULT / MAX: accept-queue and SYN-queue length each. */
#define AXL_TCP_BACKLOG_DEFAULT 128u
#define AXL_TCP_BACKLOG_MAX     65535u
/** AXL_TCP_MAX_CONNS_DEFAULT: TCBs an engine holds at most (all states);
 *  a SYN or connect beyond it is refused (TcpExtTCPMemoryPressures-like
 *  DropTcpNoMem / AXL_ENOMEM). Per-TCB memory: see struct axl_tcb. */
#define AXL_TCP_MAX_CONNS_DEFAULT 262144u
/** AXL_TCP_MSS_MIN: the smallest send MSS we accept from a peer's MSS option
 *  (Linux tcp_min_snd_mss is 48): tiny segments multiply per-segment work
 *  and memory, an old resource-exhaustion trick. Every IPv4 host can take
 *  576-byte datagrams anyway (RFC 1122 §3.3.3). */
#define AXL_TCP_MSS_MIN 64u
/** AXL_TCP_SYN_RETRIES: SYN retransmissions before ETIMEDOUT. With the 1 s
 *  initial RTO doubling, the connect gives up after 1+2+4+8+16+32+60 s
 *  (Linux tcp_syn_retries = 6; the last wait is capped by the 60 s RTO
 *  maximum, so 123 s in all). RFC 9293 §3.8.3 asks R2 for a SYN to be at
 *  least 3 minutes; we follow the Linux default instead (an application
 *  wanting longer retries the connect). */
#define AXL_TCP_SYN_RETRIES 6u
/** AXL_TCP_SYNACK_RETRIES: SYN-ACK retransmissions before an embryonic
 *  connection is dropped (Linux tcp_synack_retries). */
#define AXL_TCP_SYNACK_RETRIES 5u
/** AXL_TCP_RETRIES2: data retransmissions before ETIMEDOUT (RFC 9293 §3.8.3
 *  R2 "at least 100 seconds"; with a 200 ms minimum RTO doubling to the
 *  60 s cap, 15 back-offs take ~15 minutes, as Linux's tcp_retries2). */
#define AXL_TCP_RETRIES2 15u
/** AXL_TCP_DELACK_NS: delayed-ACK timeout, 40 ms (RFC 1122 §4.2.3.2: < 0.5 s;
 *  RFC 5681 §4.2: at least every second full-sized segment is ACKed at once). */
#define AXL_TCP_DELACK_NS (40 * AXL_NS_PER_MS)
/** AXL_TCP_TLP_WCDELACK_NS: RFC 8985 §7.2 WCDelAckT, the worst-case delayed
 *  ACK a tail loss probe waits for when one segment is in flight: 200 ms. */
#define AXL_TCP_TLP_WCDELACK_NS (200 * AXL_NS_PER_MS)
/** AXL_TCP_TLP_MIN_NS: floor of the probe timeout, 10 ms (as Linux): at LAN
 *  RTTs 2 SRTT is below what a loaded receiver's scheduling jitter can
 *  delay an ACK by, and a spurious probe is a wasted segment. */
#define AXL_TCP_TLP_MIN_NS (10 * AXL_NS_PER_MS)
/** AXL_TCP_KEEPIDLE_S / KEEPINTVL_S / KEEPCNT: keep-alive defaults (RFC 1122
 *  §4.2.3.6: no less than two hours idle). */
#define AXL_TCP_KEEPIDLE_S  7200u
#define AXL_TCP_KEEPINTVL_S 75u
#define AXL_TCP_KEEPCNT     9u
/** AXL_TCP_FIN_TIMEOUT_NS: how long an orphaned connection (the application
 *  closed it) waits in FIN-WAIT-2 for the peer's FIN (Linux tcp_fin_timeout). */
#define AXL_TCP_FIN_TIMEOUT_NS (60 * AXL_NS_PER_S)
/** AXL_TCP_PERSIST_MIN_NS / MAX: persist-timer bounds (RFC 1122 §4.2.2.17:
 *  exponential back-off; Linux 200 ms .. 120 s, we cap at the RTO maximum). */
#define AXL_TCP_PERSIST_MIN_NS (200 * AXL_NS_PER_MS)
#define AXL_TCP_PERSIST_MAX_NS (60 * AXL_NS_PER_S)
/** AXL_TCP_CHALLENGE_ACK_PER_S: challenge ACKs an engine sends per second at
 *  most (RFC 5961 §7; Linux tcp_challenge_ack_limit). */
#define AXL_TCP_CHALLENGE_ACK_PER_S 1000u
/** AXL_TCP_OOW_RATELIMIT_NS: per connection, one duplicate ACK per 500 ms in
 *  answer to data-less out-of-window or PAWS-failing segments (RFC 5961 §10
 *  ACK-war concern; Linux tcp_invalid_ratelimit). Segments with data always
 *  get their ACK (zero-window probes depend on it). */
#define AXL_TCP_OOW_RATELIMIT_NS (500 * AXL_NS_PER_MS)
/** AXL_TCP_PAWS_IDLE_MS: TS.Recent older than 24 days is invalid
 *  (RFC 7323 §5.5). */
#define AXL_TCP_PAWS_IDLE_MS (24ull * 24 * 3600 * 1000)
/** AXL_TCP_DUPACK_THRESH: duplicate ACKs that trigger fast retransmit
 *  (RFC 5681 §3.2, RFC 6675 DupThresh). */
#define AXL_TCP_DUPACK_THRESH 3u
/** AXL_TCP_OOO_SEGS_MIN / MAX: bounds of the out-of-order queue's buffer
 *  count (it is rcvbuf / 512 in between): held memory is at most that many
 *  pool buffers, and never more bytes than the receive buffer. */
#define AXL_TCP_OOO_SEGS_MIN 16u
#define AXL_TCP_OOO_SEGS_MAX 2048u
/** AXL_TCP_COALESCE_MAX: a received in-order segment of at most this many
 *  bytes is copied into the tail buffer of the receive queue when it fits,
 *  so a stream of tiny segments cannot pin one 2 KiB buffer per byte. */
#define AXL_TCP_COALESCE_MAX 512u
/** AXL_TCP_TW_REUSE: a SYN that hits a TIME-WAIT connection may reopen it
 *  when it is provably new (RFC 6191 with timestamps, RFC 9293 §3.6.1
 *  without). Always on. */
/** AXL_TCP_HTAB_BUCKETS: initial buckets of the connection table (it
 *  doubles when the load passes 2 per bucket). */
#define AXL_TCP_HTAB_BUCKETS 1024u
/** AXL_TCP_TCB_CACHE: freed TCBs kept for reuse (no malloc per SYN in the
 *  steady state). */
#define AXL_TCP_TCB_CACHE 1024u
/** AXL_TCP_PMTU_MIN: the smallest path MTU a fragmentation-needed message
 *  can set (Linux min_pmtu 552): lower values, legitimate or forged, are
 *  raised to it (RFC 5927 §7.2 resource concern), so the MSS stays >= 512. */
#define AXL_TCP_PMTU_MIN 552u
/** Ephemeral ports (RFC 6335 §6). */
#define AXL_TCP_EPHEMERAL_LO 49152u
#define AXL_TCP_EPHEMERAL_HI 65535u

_Static_assert(AXL_TCP_RCVBUF_DEFAULT >= AXL_TCP_BUF_MIN, "rcvbuf default");
_Static_assert(AXL_TCP_BUF_MIN >= 2 * 1460, "buffers must hold two full segments");

/* ---- states (RFC 9293 §3.3.2) ------------------------------------------- */

enum axl_tcp_conn_state {
    AXL_TCP_CLOSED = 0,
    AXL_TCP_LISTEN, /* listeners only (struct axl_tcp_listener) */
    AXL_TCP_SYN_SENT,
    AXL_TCP_SYN_RECEIVED,
    AXL_TCP_ESTABLISHED,
    AXL_TCP_FIN_WAIT_1,
    AXL_TCP_FIN_WAIT_2,
    AXL_TCP_CLOSE_WAIT,
    AXL_TCP_CLOSING,
    AXL_TCP_LAST_ACK,
    AXL_TCP_TIME_WAIT,
    AXL_TCP__NSTATES
};

/* tcb->flags */
enum {
    TF_PASSIVE = 1u << 0,       /* from a listener (SYN-RECEIVED returns to LISTEN on RST) */
    TF_USER = 1u << 1,          /* the application holds the handle */
    TF_ACCEPTQ = 1u << 2,       /* on the listener's accept queue */
    TF_SYNQ = 1u << 3,          /* on the listener's SYN queue */
    TF_FIN_QUEUED = 1u << 4,    /* shutdown/close: FIN after the data */
    TF_FIN_SENT = 1u << 5,      /* our FIN has been sent (at snd_fin) */
    TF_FIN_ACKED = 1u << 6,     /* ... and acknowledged */
    TF_FIN_RCVD = 1u << 7,      /* the peer's FIN was processed */
    TF_ACK_NOW = 1u << 8,       /* send an ACK at the end of this input */
    TF_ACK_DELAYED = 1u << 9,   /* delayed-ACK timer armed */
    TF_NODELAY = 1u << 10,      /* Nagle off */
    TF_KEEPALIVE = 1u << 11,    /* keep-alive probes on */
    TF_WS_OK = 1u << 12,        /* window scaling in use (both sent WS) */
    TF_TS_OK = 1u << 13,        /* timestamps in use */
    TF_SACK_OK = 1u << 14,      /* SACK-permitted both ways */
    TF_PERSIST = 1u << 15,      /* t_rtx runs as the persist timer */
    TF_RECOVERY = 1u << 16,     /* in fast recovery (NewReno or SACK) */
    TF_REPORTED = 1u << 17,     /* cleanup event delivered */
    TF_SYN_TIMEDOUT = 1u << 18, /* the SYN / SYN-ACK was retransmitted (RFC 6298 §5.7) */
    TF_COOKIE = 1u << 19,       /* established from a SYN cookie */
    TF_DEAD = 1u << 20,         /* out of the tables (CLOSED), waiting to be freed */
    TF_RTT_TIMING = 1u << 21,   /* rtt_seq/rtt_start_ns time a segment */
    TF_SIMOPEN = 1u << 22,      /* SYN-RECEIVED reached from SYN-SENT */
    TF_IN_INPUT = 1u << 23,     /* a segment is being processed: output waits */
    TF_HASHED = 1u << 24,       /* in the connection table */
    TF_REAP = 1u << 25,         /* on the reap list */
    TF_ORPHAN = 1u << 26,       /* the application closed or aborted its handle */
    TF_ZOMBIE = 1u << 27,       /* dead but held: on the zombie list */
    TF_WND0 = 1u << 28,         /* we advertise a zero window */
    TF_PEND = 1u << 29,         /* on the pending-events list (events of an accept) */
    TF_PTO = 1u << 30,          /* t_rtx runs as the tail loss probe timer (RFC 8985 §7) */
    TF_REO = 1u << 31,          /* t_rtx runs as the reordering-window timer (RFC 8985 §6.2) */
};

/* Events gathered while a segment is processed, delivered at its end. */
enum {
    EV_NEW_CONN = 1u << 5, /* the listener's new_conn (delivered first) */
    EV_CONNECTED = 1u << 0,
    EV_DATA = 1u << 1,
    EV_ACKED = 1u << 2,
    EV_REMOTE_CLOSED = 1u << 3,
    EV_CLEANUP = 1u << 4,
};

/* Send queue: pool buffers linked by ->next, holding the bytes from snd_una
 * on. A "copy" chunk's bytes are in its own buffer (data starts at the
 * buffer start: send-queue buffers never carry headers); a "zero-copy"
 * chunk's data/len point into caller memory and the buffer's first bytes
 * hold struct tcp_zc (its cookie). */
struct tcp_sndq {
    struct axl_pkt *head, *tail;
    struct axl_pkt *cur; /* cursor: a chunk at or before snd_nxt's byte */
    uint32_t cur_off;    /* offset of cur's first byte from the queue start */
    uint32_t bytes;      /* bytes queued (sent-unacked + unsent) */
};

struct tcp_rcvq {
    struct axl_pkt *head, *tail; /* narrowed to in-order payload not yet released */
    uint32_t bytes;
};

struct axl_tcp_listener;

/*
 * The TCB (RFC 9293 §3.3.1). Variables are named as in the RFC.
 *
 * Memory per connection on x86-64: 1000 bytes, of which the RFC 6675
 * scoreboard is 292, the congestion state 72, the RTT estimator 40, the
 * out-of-order queue header 120 (its range table, 32 bytes per held range,
 * is allocated only while data is held out of order) and the three timers
 * 120. Held data is extra: pool buffers in the send, receive and
 * out-of-order queues, bounded by sndbuf and rcvbuf. 10,000 idle
 * connections take under 10 MiB.
 */
struct axl_tcb {
    struct axl_hnode hnode;        /* connection table (4-tuple) */
    struct axl_tcb *qnext, *qprev; /* listener SYN/accept queue, or the reap list */
    struct axl_tcb *pnext;         /* pending-events list (TF_PEND), axl_tcp_poll_end */
    struct axl_stack *s;
    struct axl_tcp_listener *lst; /* passive opens until accepted */
    const struct axl_tcp_ops *ops;
    void *user;

    uint32_t laddr, raddr;
    uint16_t lport, rport;
    uint8_t state;
    uint8_t bucket;     /* RETA bucket of the 4-tuple (steer.h), counted while hashed */
    uint8_t snd_wscale; /* peer's shift (applied to windows it sends) */
    uint8_t rcv_wscale; /* our shift */
    uint8_t cc_algo;
    uint32_t flags;  /* TF_* */
    uint32_t events; /* EV_* pending delivery */
    int err;         /* the connection's error (negative), reported once closed */

    /* send sequence variables (RFC 9293 §3.3.1) */
    uint32_t iss, snd_una, snd_nxt, snd_max; /* snd_max: highest sequence sent + 1 */
    uint32_t snd_wnd, snd_wl1, snd_wl2, max_sndwnd;
    uint32_t snd_fin; /* sequence number of our FIN (valid with TF_FIN_SENT) */
    uint32_t snd_sml; /* end of the last small segment sent (Nagle, Minshall) */
    /* receive sequence variables */
    uint32_t irs, rcv_nxt, rcv_adv; /* rcv_adv: right edge last advertised */
    uint32_t rcv_up;
    uint32_t last_ack_sent; /* RFC 7323 Last.ACK.sent */
    uint32_t ts_recent;     /* RFC 7323 TS.Recent */
    uint32_t ts_recent_ms;  /* our TS clock when TS.Recent was set */
    uint32_t ts_off;        /* random offset of our TS clock (RFC 7323 §5.4) */
    uint32_t rcv_fin;       /* the peer's FIN seen out of order (valid with rcv_fin_ok) */
    uint32_t ooo_last;      /* start of the latest out-of-order segment (first SACK block) */
    uint32_t acked_ev;      /* bytes acknowledged since the last data_acked event */
    int soft_err;           /* last ICMP soft error (RFC 1122 §4.2.3.9), reported on timeout */
    uint8_t rcv_fin_ok;
    uint8_t pshift; /* persist back-off */
    uint8_t dupacks;
    uint8_t nretries; /* consecutive timeouts of t_rtx (RTO or persist) */
    uint8_t kprobes;  /* keep-alive probes unanswered */
    uint8_t lr_on;    /* lost-retransmission watch armed (tcp_recovery.c) */
    uint8_t tlp_on;   /* a tail loss probe is out, not yet followed by an ACK of new data */
    uint16_t snd_mss; /* effective send MSS before options (RFC 9293 §3.7.1) */
    uint16_t rcv_mss; /* largest segment seen, estimates the peer's MSS */
    uint16_t adv_mss; /* MSS we announced */
    uint16_t delack_segs;
    uint32_t rtt_seq; /* timed segment's end */
    uint64_t rtt_start_ns;
    uint64_t last_rcv_ns;  /* last segment received (keep-alive idle) */
    uint64_t oow_ack_ns;   /* last rate-limited duplicate ACK */
    uint64_t last_snd_ns;  /* last data sent (restart after idle, RFC 5681 §4.1) */
    uint64_t rto_start_ns; /* first timeout of the current episode (USER_TIMEOUT) */
    uint64_t retrans;      /* segments retransmitted */
    uint32_t lr_seq, lr_hi; /* the retransmission at lr_seq left when SND.MAX was lr_hi */
    uint64_t lr_ns;         /* ... at this time (RACK's send time of it, tcp_recovery.c) */

    uint32_t sndbuf, rcvbuf;
    uint32_t user_timeout_ms;
    uint32_t keepidle_s, keepintvl_s;
    uint8_t keepcnt;

    struct tcp_sndq sq;
    struct tcp_rcvq rq;
    struct axl_tcp_ooo ooo;
    struct axl_tcp_rtt rtt;
    struct axl_tcp_cc cc;
    struct tcp_sb sb;          /* RFC 6675 scoreboard (SACK connections), tcp_scoreboard.h */
    struct axl_timer t_rtx;    /* retransmission / SYN / persist */
    struct axl_timer t_delack; /* delayed ACK */
    struct axl_timer t_keep;   /* keep-alive, FIN-WAIT-2, TIME-WAIT */
};

/** AXL_TCP_TCB_MAX_BYTES: the bound the TCB must stay under (64-bit). */
#define AXL_TCP_TCB_MAX_BYTES 1024u
_Static_assert(sizeof(void *) != 8 || sizeof(struct axl_tcb) <= AXL_TCP_TCB_MAX_BYTES,
               "per-connection memory: see the comment above struct axl_tcb");

struct axl_tcp_listener {
    struct axl_stack *s;
    uint16_t port;
    uint32_t backlog;                    /* accept-queue bound, also the SYN-queue bound */
    uint32_t nsyn, nacc;                 /* lengths */
    struct axl_tcb *synq;                /* SYN-RECEIVED (doubly linked through qnext/qprev) */
    struct axl_tcb *acc_head, *acc_tail; /* established, not accepted (FIFO) */
    const struct axl_tcp_ops *ops;
    void *user;
    uint64_t cookie_ns; /* last SYN cookie sent (cookies are checked only after) */
    /* options new connections inherit */
    uint32_t flags; /* TF_NODELAY | TF_KEEPALIVE */
    uint32_t sndbuf, rcvbuf, user_timeout_ms, keepidle_s, keepintvl_s;
    uint8_t keepcnt, cc_algo;
};

struct axl_steer_reta;
struct axl_tcp_state {
    struct axl_htab conns;               /* struct axl_tcb by 4-tuple */
    struct axl_tcp_listener **listeners; /* 65536 entries, by local port */
    struct axl_tcb *reap;                /* closed TCBs freed at the end of the poll */
    struct axl_tcb *zombies;             /* dead TCBs the application still holds */
    struct axl_tcb *pend;                /* accepted with events to deliver (pnext list) */
    struct axl_tcb *cache;               /* freed TCBs for reuse (qnext list) */
    uint32_t ncache;
    uint32_t nconns, max_conns;
    uint32_t port_counter;        /* RFC 6056 algorithm 3 "next_ephemeral" */
    uint16_t steer_queue, steer_nqueues; /* axl_stack_cfg.steer_*: ports land on that queue */
    const struct axl_steer_reta *steer_reta; /* axl_stack_cfg.steer_reta, NULL = fixed table */
    _Atomic uint32_t *bucket_conns;          /* axl_stack_cfg.tcp_bucket_conns, NULL = off */
    uint64_t hash_key;            /* keys the table hash */
    struct axl_tcp_secret secret; /* ISNs and cookies (RFC 6528) */
    uint64_t msl_ns;
    uint8_t no_sack;         /* axl_stack_cfg.tcp_no_sack */
    uint8_t pool_share_set;  /* pool_share came from axl_tcp_set_pool_share */
    uint32_t pool_share;     /* pool buffers that are this engine's (tcp.c pool_low) */
    uint32_t sndbuf, rcvbuf; /* defaults */
    /* RFC 5961 §7 challenge-ACK budget */
    uint64_t chall_window_ns;
    uint32_t chall_count;
};

/* A received segment being processed (host order). The payload chain is
 * owned by whoever holds the struct; it is narrowed to the payload. */
struct tcp_seg {
    uint32_t seq, ack;
    uint32_t orig_seq; /* SEG.SEQ as received (seq moves when trimmed) */
    uint32_t len;      /* payload bytes */
    uint16_t wnd;      /* raw window field */
    uint16_t urg;
    uint8_t flags;        /* AXL_TCP_* */
    struct axl_pkt *data; /* payload chain or NULL */
    uint32_t src;
    uint16_t sport, dport;
    struct axl_tcp_opts opts;
};

/* SEG.LEN of RFC 9293: payload plus one for SYN and one for FIN. */
static inline uint32_t tcp_seg_len(const struct tcp_seg *g)
{
    return g->len + ((g->flags & AXL_TCP_SYN) ? 1u : 0u) + ((g->flags & AXL_TCP_FIN) ? 1u : 0u);
}

/* ---- tcp.c ------------------------------------------------------------- */
int axl_tcp_init(struct axl_stack *s, const struct axl_stack_cfg *cfg);
void axl_tcp_fini(struct axl_stack *s);
/* End of a poll iteration: deliver the events of connections accepted
 * during it (or since the last poll), then free reaped TCBs. */
void axl_tcp_poll_end(struct axl_stack *s);
struct axl_tcb *tcp_lookup(struct axl_stack *s, uint32_t raddr, uint16_t rport, uint16_t lport);
/* A new TCB with defaults (from the listener's options when l != NULL),
 * not yet in the table. NULL when the engine holds max_conns. */
struct axl_tcb *tcp_tcb_new(struct axl_stack *s, const struct axl_tcp_listener *l);
void tcp_tcb_insert(struct axl_stack *s, struct axl_tcb *t);
/* Enter a state (keeps TcpCurrEstab true). */
void tcp_set_state(struct axl_tcb *t, enum axl_tcp_conn_state st);
/* The connection is over: RFC 9293 "delete the TCB". err is reported to the
 * holder (cleanup event); the TCB leaves the tables and is reaped later. */
void tcp_tcb_done(struct axl_tcb *t, int err);
/* Both directions closed in order (TIME-WAIT): cleanup(0) to a holder. */
void tcp_report_closed(struct axl_tcb *t);
/* Our timestamp clock in ms (RFC 7323 §5.4: 1 ms .. 1 s per tick); a
 * connection adds its ts_off. */
uint32_t tcp_ts_ms(const struct axl_stack *s);
/* The per-tuple offset of the timestamp clock (RFC 7323 §5.4). */
uint32_t tcp_ts_offset(const struct axl_stack *s, uint32_t raddr, uint16_t rport, uint16_t lport);
/* Our window shift for a receive buffer (RFC 7323 §2.3). */
uint8_t tcp_wscale_for(uint32_t rcvbuf);
/* Listener queues */
void tcp_synq_remove(struct axl_tcb *t);
/* SYN-RECEIVED -> ESTABLISHED of a passive open: to the accept queue. */
void tcp_accept_enqueue(struct axl_tcb *t);
/* Deliver the pending events (EV_*). Returns 0 if the TCB is still alive
 * (not TF_DEAD), -1 otherwise. */
int tcp_deliver_events(struct axl_tcb *t);
/* Send queue: free acked bytes; report finished zero-copy chunks. */
void tcp_sndq_ack(struct axl_tcb *t, uint32_t n);
/* Copy n bytes starting `off` bytes after snd_una into dst. */
void tcp_sndq_copy(struct axl_tcb *t, uint32_t off, uint8_t *dst, uint32_t n);
void tcp_sndq_purge(struct axl_tcb *t);
/* Queue len bytes by reference (axl_tcp_send_zc; obj: the bytes are the
 * pre-packetised object's, and the queue holds one reference to it, dropped
 * with tcp_prepkt_unref when the chunk goes). */
struct axl_tcp_obj;
int tcp_send_ref(struct axl_tcb *t, const void *data, uint32_t len, void *cookie,
                 struct axl_tcp_obj *obj);
/* The send-queue chunk holding the byte `off` bytes after snd_una (NULL past
 * the end); *base = the chunk's offset. Moves the cursor. */
struct axl_pkt *tcp_sndq_chunk(struct axl_tcb *t, uint32_t off, uint32_t *base);
/* The object a chunk's bytes belong to, or NULL (copy / plain zero-copy). */
struct axl_tcp_obj *tcp_sndq_chunk_obj(const struct axl_tcb *t, const struct axl_pkt *p);
/* Receive queue: append a payload chain in order (consumes it). */
void tcp_rcvq_append(struct axl_tcb *t, struct axl_pkt *chain, uint32_t len);
/* Bytes of receive buffer space not used by queued data. */
uint32_t tcp_rcv_space(const struct axl_tcb *t);
/* The stack-level cookie/ISN tuple of a TCB. */
static inline struct axl_tcp_tuple tcp_tuple(const struct axl_tcb *t)
{
    struct axl_tcp_tuple tu = {t->laddr, t->raddr, t->lport, t->rport};
    return tu;
}

/* ---- tcp_input.c -------------------------------------------------------- */
/* A TCP segment for us (from ipv4.c). Consumes dg->head. */
void axl_tcp_input(struct axl_stack *s, struct axl_ipdg *dg);

/* ---- tcp_output.c ------------------------------------------------------- */
/* Send what the windows, Nagle and SWS avoidance allow, then an ACK if one is
 * owed (TF_ACK_NOW). */
void tcp_output(struct axl_tcb *t);
/* Segments built from the TCB. */
int tcp_send_syn(struct axl_tcb *t);       /* SYN or SYN-ACK (by state) at iss */
int tcp_send_ack(struct axl_tcb *t);       /* <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> */
int tcp_send_rst(struct axl_tcb *t);       /* <SEQ=SND.NXT><CTL=RST> (abort) */
int tcp_send_keepalive(struct axl_tcb *t); /* <SEQ=SND.UNA-1><ACK=RCV.NXT> */
/* (Re)transmit one segment from the send queue at seq with up to len bytes;
 * returns bytes sent (>= 0) or AXL_ENOBUFS. */
int tcp_send_data(struct axl_tcb *t, uint32_t seq, uint32_t len, int retrans);
/* RST for a segment that has no connection (RFC 9293 §3.10.7.1). */
void tcp_send_rst_for(struct axl_stack *s, const struct tcp_seg *g);
/* A SYN-ACK carrying a SYN cookie (no TCB). */
void tcp_send_cookie_synack(struct axl_stack *s, const struct axl_tcp_listener *l,
                            const struct tcp_seg *g, uint32_t cookie, uint32_t tsval);
/* One byte of new data beyond a zero window (returns bytes sent). */
int tcp_send_probe(struct axl_tcb *t);
/* One segment of up to len new bytes at SND.NXT (RFC 6675 NextSeg rule 2):
 * 1 if sent. */
int tcp_send_new_one(struct axl_tcb *t, uint32_t len);
/* RFC 5961 challenge ACK under the engine's rate limit. */
void tcp_challenge_ack(struct axl_tcb *t);
/* Duplicate ACK for an unacceptable segment, rate limited when data-less. */
void tcp_oow_ack(struct axl_tcb *t, const struct tcp_seg *g);
/* The MSS we announce: MTU - 40 (RFC 9293 §3.7.1). */
uint16_t tcp_adv_mss(const struct axl_stack *s);
/* Payload bytes of a full-sized segment with the options we put on data. */
uint32_t tcp_seg_max(const struct axl_tcb *t);
/* After the application released received bytes: window update if due. */
void tcp_rcv_window_update(struct axl_tcb *t);

/* ---- tcp_prepkt.c: pre-packetised objects (net/tcp_prepkt.h) ------------ */
/* Drop one reference (a send queue's). */
void tcp_prepkt_unref(struct axl_tcp_obj *o);
/* A segment of dlen bytes at send-queue offset off, header fields in *r
 * (from xmit): when the bytes are exactly one pre-built segment of an
 * object, build the frame from its template and send it; returns 1 with
 * *rc = dlen or a negative AXL_E*. Returns 0 when the segment must be built
 * from the bytes (counted rebuilt / fallback when they are an object's). */
int tcp_prepkt_xmit(struct axl_tcb *t, const struct axl_tcp_repr *r, uint32_t off,
                    uint32_t dlen, int *rc);
/* Segment length at send-queue offset off: len, cut at the next boundary of
 * an object's pre-built segments (and at the start of an object), so that
 * segments line up with the templates. *cut = 1 when it was cut. */
uint32_t tcp_prepkt_seg_limit(struct axl_tcb *t, uint32_t off, uint32_t len, int *cut);

/* ---- tcp_recovery.c: duplicate ACKs, fast retransmit/recovery ---------- */
/* A duplicate ACK (RFC 5681 §2) arrived. */
void tcp_dupack(struct axl_tcb *t);
/* SACK connections (RFC 6675): scoreboard set-up at ESTABLISHED, every
 * transmission reported, every ACK's blocks, the RTO, and sending during
 * recovery (step C). */
void tcp_rec_start(struct axl_tcb *t);
void tcp_rec_sent(struct axl_tcb *t, uint32_t seq, uint32_t len);
void tcp_rec_ack(struct axl_tcb *t, const struct tcp_seg *g);
void tcp_rec_on_rto(struct axl_tcb *t);
void tcp_rec_output(struct axl_tcb *t);
/* RACK-TLP timers (RFC 8985) on t_rtx: given the RTO delay, the delay to
 * arm instead (the reordering window when a hole waits below SACKed data,
 * TF_REO; the probe timeout when a tail loss probe may go, TF_PTO), or rto
 * unchanged. tcp_rtx_arm calls it; tcp_rec_timer_fire runs when either
 * fires. */
uint64_t tcp_rec_arm(struct axl_tcb *t, uint64_t rto);
void tcp_rec_timer_fire(struct axl_tcb *t);

/* ---- tcp_icmp.c: ICMP errors about our segments ------------------------- */
/* From icmp.c: an ICMP error of type/code (rest: its second word, err: the
 * errno it maps to) quoting q, our IPv4 header of hlen bytes and qlen bytes
 * in all (at least hlen + 8). */
void tcp_icmp_error(struct axl_stack *s, uint8_t type, uint8_t code, uint32_t rest, int err,
                    const uint8_t *q, size_t hlen, size_t qlen);
/* The path MTU a fragmentation-needed message reports (RFC 1191 §4, §5). */
uint32_t tcp_pmtu_from_icmp(uint32_t rest, uint32_t quoted_len);

/* ---- tcp_timer.c -------------------------------------------------------- */
/* Arm a timer `delay` ns after the engine's current time (s->now_ns; the
 * wheel's own clock lags during packet processing). */
void tcp_timer_in(struct axl_stack *s, struct axl_timer *tm, uint64_t delay);
void tcp_timers_init(struct axl_tcb *t);
void tcp_timers_stop(struct axl_tcb *t);
void tcp_rtx_arm(struct axl_tcb *t); /* (re)start the retransmission timer with the RTO */
void tcp_rtx_stop(struct axl_tcb *t);
void tcp_persist_arm(struct axl_tcb *t);
void tcp_delack_arm(struct axl_tcb *t);
void tcp_keepalive_arm(struct axl_tcb *t);
void tcp_timewait_enter(struct axl_tcb *t); /* enter TIME-WAIT, 2*MSL */
void tcp_finwait2_arm(struct axl_tcb *t);

#endif
