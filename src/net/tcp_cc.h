/* SPDX-License-Identifier: MIT */
/*
 * net/tcp_cc.h - TCP congestion control, one connection's cwnd and ssthresh:
 * slow start with appropriate byte counting (RFC 5681 §3.1, RFC 3465),
 * fast recovery window arithmetic for NewReno (RFC 6582) or SACK (RFC 6675)
 * loss recovery, retransmission-timeout collapse, restart after idle
 * (RFC 5681 §4.1), and two congestion-avoidance algorithms behind a small ops
 * table: NewReno (RFC 5681 §3.1) and CUBIC (RFC 9438, the default).
 *
 * Pure: no clock reads (time arrives as now_ns), no stack, no allocation.
 * Slow start is plain RFC 5681/3465 slow start for both algorithms: no
 * HyStart/HyStart++ (RFC 9406) exit heuristics; slow start ends at ssthresh
 * or on loss.
 *
 * Call chain (the TCP state machine is the only caller):
 *   handshake done           -> axl_tcp_cc_init (+ axl_tcp_cc_syn_lost if the
 *                               SYN or SYN-ACK was retransmitted)
 *   ACK advancing SND.UNA    -> axl_tcp_cc_on_ack   (growth; in recovery:
 *                               partial/full acknowledgment, RFC 6582 §3.2)
 *   further dupack, NewReno  -> axl_tcp_cc_on_dupack (window inflation)
 *   3rd dupack / SACK loss   -> axl_tcp_cc_may_recover, axl_tcp_cc_on_congestion
 *   retransmission timeout   -> axl_tcp_cc_on_rto
 *   send with nothing in flight -> axl_tcp_cc_on_restart
 * Who decides what a dupack is, and when loss is detected, is the state
 * machine (with net/tcp_sack.c for SACK connections); this module only keeps
 * the window arithmetic and the RFC 6582 "recover" point.
 *
 * Units: windows in bytes (uint32_t, at most AXL_TCP_CC_CWND_MAX); all
 * products are formed in 64 bits. CUBIC's time is in units of 2^-10 s
 * (~0.98 ms) and its K is an integer cube root rounded to the nearest unit:
 * W_cubic is exact to within 1/1024 s of curve time plus < 1 byte of rounding
 * (see tcp_cc.c). No floating point anywhere.
 *
 * Memory: 72 bytes per connection (static assert below).
 */
#ifndef AXL_NET_TCP_CC_H
#define AXL_NET_TCP_CC_H

#include <stdint.h>

enum axl_tcp_cc_algo {
    AXL_TCP_CC_NEWRENO = 0, /* RFC 5681 congestion avoidance */
    AXL_TCP_CC_CUBIC = 1,   /* RFC 9438 */
    AXL_TCP_CC_NALGO
};
/** Per-connection default: CUBIC (issue 3). */
#define AXL_TCP_CC_DEFAULT AXL_TCP_CC_CUBIC

/* How the state machine recovers from the loss (decided per connection by the
 * SACK-permitted negotiation): it changes only the window arithmetic during
 * fast recovery. */
enum axl_tcp_cc_rec {
    AXL_TCP_CC_REC_NEWRENO = 0, /* RFC 6582: cwnd = ssthresh + 3 SMSS, inflate per dupack,
                                   deflate per partial ACK */
    AXL_TCP_CC_REC_SACK = 1,    /* RFC 6675 §5 (4.2): cwnd = ssthresh, sending is
                                   governed by pipe (net/tcp_sack.c) */
};

/** AXL_TCP_CC_CWND_MAX: cwnd never exceeds 2^31 bytes (twice the largest
 *  RFC 7323 window, 2^30). */
#define AXL_TCP_CC_CWND_MAX (1u << 31)
/** Initial ssthresh "arbitrarily high" (RFC 5681 §3.1). */
#define AXL_TCP_CC_SSTHRESH_INF UINT32_MAX
/** ABC limit L during slow start, in SMSS (RFC 3465 §2.2-§2.3, L = 2). After an
 *  RTO, L = 1 until everything outstanding at the timeout is acknowledged
 *  (RFC 3465 §2.3). */
#define AXL_TCP_CC_ABC_L 2

/* CUBIC state (RFC 9438 §4.1 names in comments). */
struct axl_tcp_cc_cubic {
    uint64_t epoch_ns;   /* t_epoch, moved forward over app-limited/idle time */
    uint64_t last_ns;    /* growth clock accounted up to here */
    uint64_t est_frac;   /* W_est remainder, in 1/(17*cwnd) bytes */
    uint32_t w_max;      /* W_max, bytes */
    uint32_t cwnd_prior; /* cwnd_prior, bytes */
    uint32_t w_est;      /* W_est, bytes */
    uint32_t k;          /* K, 2^-10 s */
    uint32_t cnt_frac;   /* concave/convex increase remainder, 1/cwnd bytes */
    uint8_t epoch_on;    /* a congestion avoidance stage is running */
    uint8_t after_rto;   /* next stage starts with K = 0 (RFC 9438 §4.8) */
};

struct axl_tcp_cc {
    uint32_t cwnd;     /* bytes */
    uint32_t ssthresh; /* bytes */
    uint32_t mss;      /* SMSS, bytes */
    uint32_t abc;      /* RFC 3465 bytes_acked (NewReno congestion avoidance) */
    uint32_t recover;  /* RFC 6582 recover + 1, i.e. SND.MAX at the last congestion
                          event or RTO; meaningful with AXL_TCP_CC_F_RECOVER */
    uint8_t algo;      /* enum axl_tcp_cc_algo */
    uint8_t in_recovery;
    uint8_t rec_mode; /* enum axl_tcp_cc_rec of the current recovery */
    uint8_t flags;    /* AXL_TCP_CC_F_* */
    union {
        struct axl_tcp_cc_cubic cubic;
    } u;
};
_Static_assert(sizeof(struct axl_tcp_cc) == 72, "per-connection congestion state size");

enum {
    AXL_TCP_CC_F_RECOVER = 1,  /* `recover` is set */
    AXL_TCP_CC_F_POST_RTO = 2, /* slow start after an RTO, until `recover` is acked */
};

/* One ACK that advanced SND.UNA. */
struct axl_tcp_cc_ack {
    uint64_t now_ns;
    uint64_t srtt_ns; /* smoothed RTT (net/tcp_rtt.h), 0 if none yet */
    uint32_t ack;     /* SEG.ACK: the new SND.UNA */
    uint32_t acked;   /* bytes it newly acknowledged cumulatively */
    uint32_t flight;  /* FlightSize before it: SND.MAX - old SND.UNA (RFC 5681 §2) */
};

enum axl_tcp_cc_ack_res {
    AXL_TCP_CC_ACK_NORMAL = 0, /* not in recovery: window grown as allowed */
    AXL_TCP_CC_ACK_PARTIAL,    /* in recovery, below recover: the caller retransmits the
                                  first unacknowledged segment (RFC 6582 §3.2) or
                                  runs RFC 6675 step (C) */
    AXL_TCP_CC_ACK_EXIT,       /* covered recover: fast recovery is over (RFC 6582 §3.2,
                                  RFC 6675 §5 (A)) */
};

/* The algorithm ops table (ours, in the spirit of Linux's tcp_congestion_ops).
 * Slow start, recovery and RTO handling are common; an algorithm supplies
 * congestion avoidance, its ssthresh on loss, and its reaction to timeouts
 * and idle periods. */
struct axl_tcp_cc_ops {
    const char *name;
    void (*init)(struct axl_tcp_cc *cc, uint64_t now_ns);
    /* An ACK in congestion avoidance (cwnd >= ssthresh), outside recovery.
     * cwnd_limited: the sender was using its window (else app/receiver
     * limited: no growth, RFC 9438 §5.8). */
    void (*cong_avoid)(struct axl_tcp_cc *cc, const struct axl_tcp_cc_ack *a, int cwnd_limited);
    /* A congestion event or first RTO: record the algorithm's state and return
     * the new ssthresh (before the 2 SMSS floor). */
    uint32_t (*ssthresh)(struct axl_tcp_cc *cc, uint32_t flight);
    void (*on_rto)(struct axl_tcp_cc *cc);
    /* Sending resumes after idle_ns with nothing in flight; restarted: the
     * RFC 5681 §4.1 restart window was applied. */
    void (*on_idle)(struct axl_tcp_cc *cc, uint64_t now_ns, int restarted);
};

/* The ops of an algorithm (NULL if out of range). */
const struct axl_tcp_cc_ops *axl_tcp_cc_ops(enum axl_tcp_cc_algo algo);
/* "newreno" / "cubic" -> the enum value, or -AXL_EINVAL. */
int axl_tcp_cc_algo_by_name(const char *name);

/* Initial window (RFC 6928 §2): min(10*MSS, max(2*MSS, 14600)). */
uint32_t axl_tcp_cc_iw(uint32_t mss);

/* Set up a connection: cwnd = IW, ssthresh = infinity. mss in [1, 65535];
 * -AXL_EINVAL for a bad mss or algo. */
int axl_tcp_cc_init(struct axl_tcp_cc *cc, enum axl_tcp_cc_algo algo, uint32_t mss,
                    uint64_t now_ns);

/* The SYN or SYN-ACK was retransmitted: IW is one segment (RFC 5681 §3.1). */
void axl_tcp_cc_syn_lost(struct axl_tcp_cc *cc);

/* SMSS changed (PMTUD): cwnd scales by new/old (RFC 5681 §3.1), floored at
 * one segment. -AXL_EINVAL for mss outside [1, 65535]. */
int axl_tcp_cc_set_mss(struct axl_tcp_cc *cc, uint32_t mss);

/* An ACK advanced SND.UNA by a->acked bytes. Outside recovery: slow start or
 * the algorithm's congestion avoidance. In recovery: full or partial ACK. */
enum axl_tcp_cc_ack_res axl_tcp_cc_on_ack(struct axl_tcp_cc *cc, const struct axl_tcp_cc_ack *a);

/* An additional duplicate ACK during NewReno fast recovery: cwnd += SMSS
 * (RFC 5681 §3.2 step 4, RFC 6582 §3.2). No effect otherwise. */
void axl_tcp_cc_on_dupack(struct axl_tcp_cc *cc);

/* May a new fast recovery start on this ACK? RFC 6582 §3.2 / RFC 6675
 * §5.1: only if the cumulative ACK covers the last recover point (or there has
 * been none). 1 or 0. */
int axl_tcp_cc_may_recover(const struct axl_tcp_cc *cc, uint32_t ack);

/* Loss detected (third dupack, or RFC 6675 §5 step (4)): enter fast recovery.
 * ssthresh = max(FlightSize/2, 2 SMSS) (NewReno, RFC 5681 eq. 4) or
 * max(FlightSize * 0.7, 2 SMSS) (CUBIC, RFC 9438 §4.6); cwnd = ssthresh +
 * 3 SMSS (REC_NEWRENO) or ssthresh (REC_SACK); recover = snd_max. Ignored if
 * already in recovery. */
void axl_tcp_cc_on_congestion(struct axl_tcp_cc *cc, uint32_t flight, uint32_t snd_max,
                              enum axl_tcp_cc_rec mode);

/* The retransmission timer expired (RFC 5681 §3.1): ssthresh as on loss
 * (held constant when `repeated`, i.e. the same segment timed out again),
 * cwnd = 1 SMSS, recovery left and recover = snd_max (RFC 6582 §3.2). */
void axl_tcp_cc_on_rto(struct axl_tcp_cc *cc, uint32_t flight, uint32_t snd_max, int repeated);

/* The sender is about to send with nothing in flight, after idle_ns without
 * sending. If idle_ns > rto_ns, cwnd = min(IW, cwnd) (RFC 5681 §4.1). CUBIC
 * excludes the idle time from its curve (RFC 9438 §5.8) and, after a restart,
 * begins a new congestion avoidance stage. */
void axl_tcp_cc_on_restart(struct axl_tcp_cc *cc, uint64_t now_ns, uint64_t idle_ns,
                           uint64_t rto_ns);

/* Floor of the cube root of x (exact for every 64-bit x). */
uint64_t axl_tcp_cc_icbrt(uint64_t x);

static inline uint32_t axl_tcp_cc_cwnd(const struct axl_tcp_cc *cc)
{
    return cc->cwnd;
}
static inline uint32_t axl_tcp_cc_ssthresh(const struct axl_tcp_cc *cc)
{
    return cc->ssthresh;
}
static inline int axl_tcp_cc_in_recovery(const struct axl_tcp_cc *cc)
{
    return cc->in_recovery;
}

#endif
