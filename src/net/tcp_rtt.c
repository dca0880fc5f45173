/* SPDX-License-Identifier: MIT */
/*
 * net/tcp_rtt.c - RFC 6298 RTO estimator (see tcp_rtt.h for the contract,
 * the fixed-point format and the chosen limits).
 *
 * Called from the TCP state machine only: per ACK that yields a sample
 * (axl_tcp_rtt_sample, O(1), a handful of shifts and adds), per timer arm
 * (axl_tcp_rtt_rto_ns) and per retransmission timeout (axl_tcp_rtt_backoff).
 */
#include "net/tcp_rtt.h"

#include "core/err.h"

void axl_tcp_rtt_cfg_default(struct axl_tcp_rtt_cfg *cfg)
{
    cfg->min_rto_ns = AXL_TCP_RTT_MIN_RTO_NS;
    cfg->max_rto_ns = AXL_TCP_RTT_MAX_RTO_NS;
    cfg->initial_rto_ns = AXL_TCP_RTT_INITIAL_RTO_NS;
    cfg->g_ns = AXL_TCP_RTT_G_NS;
}

static uint64_t min_rto(const struct axl_tcp_rtt *r)
{
    return (uint64_t)r->min_rto_us * AXL_NS_PER_US;
}

static uint64_t max_rto(const struct axl_tcp_rtt *r)
{
    return (uint64_t)r->max_rto_ms * AXL_NS_PER_MS;
}

static uint64_t clamp_rto(const struct axl_tcp_rtt *r, uint64_t rto)
{
    /* RFC 6298 §2.4 (lower bound, our documented 200 ms default) and §2.5
     * (upper bound, at least 60 s). */
    if (rto < min_rto(r)) rto = min_rto(r);
    if (rto > max_rto(r)) rto = max_rto(r);
    return rto;
}

int axl_tcp_rtt_init(struct axl_tcp_rtt *r, const struct axl_tcp_rtt_cfg *cfg)
{
    struct axl_tcp_rtt_cfg def;
    if (!cfg) {
        axl_tcp_rtt_cfg_default(&def);
        cfg = &def;
    }
    if (cfg->max_rto_ns < AXL_TCP_RTT_MAX_RTO_NS || cfg->max_rto_ns > AXL_TCP_RTT_CFG_MAX_NS ||
        cfg->min_rto_ns > cfg->max_rto_ns || cfg->initial_rto_ns < cfg->min_rto_ns ||
        cfg->initial_rto_ns > cfg->max_rto_ns || cfg->g_ns > cfg->max_rto_ns ||
        cfg->min_rto_ns % AXL_NS_PER_US || cfg->g_ns % AXL_NS_PER_US ||
        cfg->max_rto_ns % AXL_NS_PER_MS)
        return AXL_EINVAL;
    r->srtt = 0;
    r->rttvar = 0;
    r->min_rto_us = (uint32_t)(cfg->min_rto_ns / AXL_NS_PER_US);
    r->max_rto_ms = (uint32_t)(cfg->max_rto_ns / AXL_NS_PER_MS);
    r->g_us = (uint32_t)(cfg->g_ns / AXL_NS_PER_US);
    r->rto_ns = cfg->initial_rto_ns; /* RFC 6298 §2.1 */
    r->backoff = 0;
    r->has_sample = 0;
    return 0;
}

/* RTO = SRTT + max(G, K*RTTVAR) (RFC 6298 §2.2 (2.1)/§2.3 (2.3)), computed in
 * 2^-3 ns and rounded up, then clamped (§2.4, §2.5). */
static void compute_rto(struct axl_tcp_rtt *r)
{
    uint64_t g = ((uint64_t)r->g_us * AXL_NS_PER_US) << AXL_TCP_RTT_FRAC;
    uint64_t kvar = r->rttvar * AXL_TCP_RTT_K;
    uint64_t fp = r->srtt + (kvar > g ? kvar : g);
    uint64_t rto = (fp + (1u << AXL_TCP_RTT_FRAC) - 1) >> AXL_TCP_RTT_FRAC;
    r->rto_ns = clamp_rto(r, rto);
}

int axl_tcp_rtt_sample(struct axl_tcp_rtt *r, uint64_t rtt_ns, enum axl_tcp_rtt_src src)
{
    if (rtt_ns > AXL_TCP_RTT_SAMPLE_MAX_NS) return AXL_EINVAL;
    switch (src) {
    case AXL_TCP_RTT_SRC_FRESH:
    case AXL_TCP_RTT_SRC_TIMESTAMP:
        break;
    case AXL_TCP_RTT_SRC_RETRANSMITTED:
        /* Karn's algorithm (RFC 6298 §3): an ACK for a retransmitted segment
         * does not say which transmission it answers; no sample, and the
         * backed-off RTO stays in force. */
        return 0;
    default:
        return AXL_EINVAL;
    }
    uint64_t m = rtt_ns << AXL_TCP_RTT_FRAC; /* R' in 2^-3 ns, < 2^43 */
    if (!r->has_sample) {
        /* RFC 6298 §2.2: SRTT <- R, RTTVAR <- R/2 (exact in this format). */
        r->srtt = m;
        r->rttvar = m >> 1;
        r->has_sample = 1;
    } else {
        /* RFC 6298 §2.3, in this order (RTTVAR uses the old SRTT):
         *   RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|,  beta = 1/4
         *   SRTT   <- (1 - alpha) * SRTT + alpha * R',           alpha = 1/8 */
        uint64_t err = r->srtt > m ? r->srtt - m : m - r->srtt;
        r->rttvar = r->rttvar - (r->rttvar >> 2) + (err >> 2);
        r->srtt = r->srtt - (r->srtt >> 3) + (m >> 3);
    }
    compute_rto(r);
    /* A valid sample recomputes the RTO, "collapsing" any back-off (RFC 6298
     * §5, after rule 5.7; Karn's algorithm, §3). */
    r->backoff = 0;
    return 1;
}

uint64_t axl_tcp_rtt_rto_ns(const struct axl_tcp_rtt *r)
{
    uint64_t max = max_rto(r);
    /* rto_ns <= max < 2^41: a shift of 40 or more always exceeds max, and
     * checking against max >> n first keeps the shift from overflowing. */
    if (r->backoff >= 40 || r->rto_ns > (max >> r->backoff)) return max;
    return r->rto_ns << r->backoff;
}

uint64_t axl_tcp_rtt_backoff(struct axl_tcp_rtt *r)
{
    /* RFC 6298 §5.5: RTO <- RTO * 2, bounded by the §2.5 maximum (applied in
     * axl_tcp_rtt_rto_ns). The counter saturates; the RTO is long capped. */
    if (r->backoff < UINT8_MAX) r->backoff++;
    return axl_tcp_rtt_rto_ns(r);
}

void axl_tcp_rtt_reset_backoff(struct axl_tcp_rtt *r)
{
    r->backoff = 0;
}

void axl_tcp_rtt_handshake_done(struct axl_tcp_rtt *r, int syn_timed_out)
{
    /* RFC 6298 §5.7: if the timer expired awaiting the ACK of a SYN and the
     * RTO in use is below 3 s, the RTO MUST be re-initialised to 3 s when data
     * transmission begins. "RTO in use" is the computed (un-backed-off) value:
     * our initial 1 s, or an estimate from a timestamp sample. */
    if (syn_timed_out && r->rto_ns < AXL_TCP_RTT_SYN_FALLBACK_NS)
        r->rto_ns = clamp_rto(r, AXL_TCP_RTT_SYN_FALLBACK_NS);
    r->backoff = 0;
}
