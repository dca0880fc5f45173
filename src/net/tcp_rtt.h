/* SPDX-License-Identifier: MIT */
/*
 * net/tcp_rtt.h - the RFC 6298 retransmission-timeout estimator of one TCP
 * connection: SRTT/RTTVAR in fixed point, RTO with documented clamps,
 * exponential back-off and Karn's algorithm.
 *
 * Pure: no clock reads, no stack. Time comes in as nanoseconds measured by the
 * caller (the engine reads the clock once per loop and passes it down).
 *
 * Call chain: TCP input (an ACK acknowledges timed data, or echoes a timestamp)
 * -> axl_tcp_rtt_sample; TCP output arms the retransmission timer with
 * axl_tcp_rtt_rto_ns; the retransmission timer callback -> axl_tcp_rtt_backoff;
 * handshake completion -> axl_tcp_rtt_handshake_done.
 *
 * Fixed point: SRTT and RTTVAR are kept in units of 1/8 ns (AXL_TCP_RTT_FRAC
 * fraction bits), so alpha = 1/8 and beta = 1/4 (RFC 6298 §2.3) are shifts and
 * each update truncates by less than 1/8 ns; the accumulated error stays below
 * 2 ns (the tests hold it to that against a double-precision model). RTO is
 * rounded up to the next ns, so it is never below the RFC formula.
 *
 * Memory: 40 bytes per connection (static assert below).
 */
#ifndef AXL_NET_TCP_RTT_H
#define AXL_NET_TCP_RTT_H

#include <stdint.h>

#include "core/clock.h"

/** Fraction bits of the stored SRTT and RTTVAR (units of 2^-3 ns). */
#define AXL_TCP_RTT_FRAC 3
/** K in RTO = SRTT + max(G, K*RTTVAR) (RFC 6298 §2.2/§2.3). */
#define AXL_TCP_RTT_K 4

/** Initial RTO before any sample: 1 s (RFC 6298 §2.1). */
#define AXL_TCP_RTT_INITIAL_RTO_NS (1 * AXL_NS_PER_S)
/** AXL_TCP_RTT_MIN_RTO_NS: the default lower clamp, 200 ms (Linux's
 *  TCP_RTO_MIN). RFC 6298 §2.4 says the RTO SHOULD be rounded up to 1 s; that
 *  floor was chosen for coarse (500 ms) timers and to avoid spurious
 *  retransmissions against delayed ACKs. Our timer wheel ticks in 1 ms and
 *  measures RTT in ns, peers' delayed-ACK timers are <= 200 ms in practice
 *  (Linux 40-200 ms), and the Internet has run with 200 ms for two decades, so
 *  we trade the rare spurious retransmission (a peer holding an ACK for more
 *  than 200 ms with one segment in flight) for a 5x faster recovery from
 *  tail loss. It is a parameter (struct axl_tcp_rtt_cfg) for those who want
 *  the RFC's 1 s. */
#define AXL_TCP_RTT_MIN_RTO_NS (200 * AXL_NS_PER_MS)
/** Default and smallest allowed upper clamp: RFC 6298 §2.5 permits a maximum
 *  "provided it is at least 60 seconds". */
#define AXL_TCP_RTT_MAX_RTO_NS (60 * AXL_NS_PER_S)
/** Default clock granularity G: the timer wheel's 1 ms tick (RFC 6298 §2.2). */
#define AXL_TCP_RTT_G_NS (1 * AXL_NS_PER_MS)
/** RTO after a SYN (or SYN-ACK) timed out, once data transfer begins: 3 s
 *  (RFC 6298 §5.7). */
#define AXL_TCP_RTT_SYN_FALLBACK_NS (3 * AXL_NS_PER_S)
/** AXL_TCP_RTT_SAMPLE_MAX_NS: samples above 2^40 ns (~18 minutes) are
 *  rejected as bogus (-AXL_EINVAL): no ACK or timestamp echo can be that
 *  late on a live connection. The bound keeps all arithmetic in 64 bits. */
#define AXL_TCP_RTT_SAMPLE_MAX_NS (1ull << 40)
/** Largest configurable RTO bound (min, max or initial): 2^40 ns. */
#define AXL_TCP_RTT_CFG_MAX_NS (1ull << 40)

struct axl_tcp_rtt_cfg {
    uint64_t min_rto_ns;     /* lower clamp (default AXL_TCP_RTT_MIN_RTO_NS) */
    uint64_t max_rto_ns;     /* upper clamp, >= 60 s (default AXL_TCP_RTT_MAX_RTO_NS) */
    uint64_t initial_rto_ns; /* before the first sample (default 1 s) */
    uint64_t g_ns;           /* clock granularity G (default 1 ms) */
};

/* Where a sample comes from; decides Karn's algorithm (RFC 6298 §3). */
enum axl_tcp_rtt_src {
    AXL_TCP_RTT_SRC_FRESH = 0,     /* timed segment never retransmitted */
    AXL_TCP_RTT_SRC_RETRANSMITTED, /* ACK of a retransmitted segment: ambiguous, ignored */
    AXL_TCP_RTT_SRC_TIMESTAMP,     /* from a TSecr echo: unambiguous even after a
                                      retransmission (RFC 6298 §3, RFC 7323 §4) */
};

struct axl_tcp_rtt {
    uint64_t srtt;       /* SRTT in 2^-3 ns; valid once has_sample */
    uint64_t rttvar;     /* RTTVAR in 2^-3 ns */
    uint64_t rto_ns;     /* RTO before back-off, clamped to [min, max] */
    uint32_t min_rto_us; /* configuration, in us to keep the struct small */
    uint32_t max_rto_ms;
    uint32_t g_us;
    uint8_t backoff;    /* back-offs since the last valid sample (saturates at 255) */
    uint8_t has_sample; /* a first measurement was made (RFC 6298 §2.2) */
};
_Static_assert(sizeof(struct axl_tcp_rtt) == 40, "per-connection RTT state size");

/* Fill *cfg with the defaults above. */
void axl_tcp_rtt_cfg_default(struct axl_tcp_rtt_cfg *cfg);

/* Initialise (cfg NULL: defaults). RTO = initial RTO (RFC 6298 §2.1).
 * -AXL_EINVAL if max < 60 s, min > max, initial outside [min, max], G > max,
 * any value above AXL_TCP_RTT_CFG_MAX_NS, or min/G not a whole number of us,
 * max not a whole number of ms (the struct stores them that way). */
int axl_tcp_rtt_init(struct axl_tcp_rtt *r, const struct axl_tcp_rtt_cfg *cfg);

/* Feed one RTT measurement. Returns 1 if it updated the estimator (and
 * cleared the back-off, RFC 6298 §5 note after 5.7), 0 if Karn's algorithm
 * discarded it (src == AXL_TCP_RTT_SRC_RETRANSMITTED), -AXL_EINVAL if rtt_ns
 * exceeds AXL_TCP_RTT_SAMPLE_MAX_NS or src is unknown. */
int axl_tcp_rtt_sample(struct axl_tcp_rtt *r, uint64_t rtt_ns, enum axl_tcp_rtt_src src);

/* The RTO to arm the retransmission timer with: the computed RTO doubled once
 * per back-off, capped at the maximum (RFC 6298 §5.5, §2.5). */
uint64_t axl_tcp_rtt_rto_ns(const struct axl_tcp_rtt *r);

/* The retransmission timer expired (RFC 6298 §5.5): double the RTO (capped).
 * The backed-off value is kept until a valid sample arrives (Karn, §3) or
 * axl_tcp_rtt_reset_backoff. Returns the new RTO. */
uint64_t axl_tcp_rtt_backoff(struct axl_tcp_rtt *r);

/* Forget the back-off without a sample (e.g. the state machine restarts the
 * connection's timers for a new exchange). */
void axl_tcp_rtt_reset_backoff(struct axl_tcp_rtt *r);

/* Number of back-offs since the last valid sample (the caller's R1/R2
 * retransmission limits, RFC 9293 §3.8.3). */
static inline unsigned axl_tcp_rtt_backoffs(const struct axl_tcp_rtt *r)
{
    return r->backoff;
}

/* The three-way handshake completed. If the SYN (or SYN-ACK) timer expired
 * (syn_timed_out) and the RTO in use is below 3 s, the RTO is re-initialised
 * to 3 s (RFC 6298 §5.7); the back-off is cleared either way, SRTT/RTTVAR (if
 * a timestamp gave a sample) are kept for the next §2.3 update. */
void axl_tcp_rtt_handshake_done(struct axl_tcp_rtt *r, int syn_timed_out);

/* SRTT and RTTVAR in ns (rounded to nearest), 0 before the first sample. */
static inline uint64_t axl_tcp_rtt_srtt_ns(const struct axl_tcp_rtt *r)
{
    return (r->srtt + (1u << (AXL_TCP_RTT_FRAC - 1))) >> AXL_TCP_RTT_FRAC;
}
static inline uint64_t axl_tcp_rtt_rttvar_ns(const struct axl_tcp_rtt *r)
{
    return (r->rttvar + (1u << (AXL_TCP_RTT_FRAC - 1))) >> AXL_TCP_RTT_FRAC;
}

#endif
