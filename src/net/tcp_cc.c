/* SPDX-License-Identifier: MIT */
/*
 * net/tcp_cc.c - TCP congestion control: the common slow start / recovery /
 * RTO / idle logic and the two algorithms, NewReno (RFC 5681 §3.1 with
 * RFC 3465 byte counting) and CUBIC (RFC 9438). See tcp_cc.h for the events
 * and who calls them.
 *
 * Every function here is O(1) and runs per ACK at most once; the hot one is
 * axl_tcp_cc_on_ack. CUBIC's per-ACK work is two curve evaluations (a cube
 * and a divide in 64-bit integers); the cube root runs once per congestion
 * avoidance stage.
 *
 * CUBIC fixed point (all integers):
 *   time   t in units of 2^-10 s ("tu"): tu = ns * 1024 / 10^9.
 *   K      = cbrt((W_max - cwnd_epoch) / (C * SMSS)) s, with C = 0.4 = 4/10:
 *            K_tu = cbrt((W_max - cwnd_epoch) * 10 * 2^28 / SMSS), rounded to
 *            the nearest tu. The operand is < 2^62.3 for windows < 2^31.
 *   W(t)   = W_max +- C * SMSS * |t - K|^3 bytes
 *          = W_max +- |t_tu - K_tu|^3 * 4 * SMSS / (10 * 2^30).
 *            |t - K| is held below 2^21 tu (2048 s, beyond which the 1.5 cwnd
 *            clamp of §4.2 decides anyway) so the cube fits in 63 bits; when
 *            cube * 4 * SMSS would overflow, 20 low bits of the cube are
 *            dropped first (error < SMSS/2500 bytes).
 *   beta = 7/10, fast-convergence factor (1 + beta)/2 = 17/20,
 *   alpha_cubic = 3(1 - beta)/(1 + beta) = 9/17 (RFC 9438 §4.3).
 */
#include "net/tcp_cc.h"

#include <string.h>

#include "core/clock.h"
#include "core/err.h"

/* Sequence comparison modulo 2^32 (RFC 9293 §3.4). */
static inline int cc_seq_ge(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) >= 0;
}

static uint32_t clamp_cwnd(uint64_t w)
{
    return w > AXL_TCP_CC_CWND_MAX ? AXL_TCP_CC_CWND_MAX : (uint32_t)w;
}

uint32_t axl_tcp_cc_iw(uint32_t mss)
{
    /* RFC 6928 §2: IW = min(10*MSS, max(2*MSS, 14600)). */
    uint64_t lo = 2ull * mss > 14600 ? 2ull * mss : 14600;
    uint64_t iw = 10ull * mss < lo ? 10ull * mss : lo;
    return clamp_cwnd(iw);
}

uint64_t axl_tcp_cc_icbrt(uint64_t x)
{
    /* Digit-by-digit cube root, 3 bits per step (the shifting nth-root
     * algorithm): y is the root so far; b = 3y(y+1) + 1 is (y+1)^3 - y^3
     * after y doubled. Comparing x >> s with b avoids shifting b out of range. */
    uint64_t y = 0;
    for (int s = 63; s >= 0; s -= 3) {
        y <<= 1;
        uint64_t b = 3 * y * (y + 1) + 1;
        if ((x >> s) >= b) {
            x -= b << s;
            y++;
        }
    }
    return y;
}

/* --- NewReno congestion avoidance (RFC 5681 §3.1, RFC 3465 §2.1) ---------- */

static void reno_init(struct axl_tcp_cc *cc, uint64_t now_ns)
{
    (void)cc;
    (void)now_ns;
}

static void reno_cong_avoid(struct axl_tcp_cc *cc, const struct axl_tcp_cc_ack *a, int cwnd_limited)
{
    if (!cwnd_limited) return;
    /* RFC 3465 §2.1: count acknowledged bytes; each time they reach cwnd,
     * cwnd += SMSS and bytes_acked -= cwnd. One SMSS per RTT (RFC 5681 eq. 3's
     * intent) without ACK-counting's bias from delayed or stretch ACKs. */
    uint64_t acc = (uint64_t)cc->abc + a->acked;
    while (acc >= cc->cwnd && cc->cwnd < AXL_TCP_CC_CWND_MAX) {
        acc -= cc->cwnd;
        cc->cwnd = clamp_cwnd((uint64_t)cc->cwnd + cc->mss);
    }
    if (acc >= cc->cwnd) /* only at the cap */
        acc = 0;
    cc->abc = (uint32_t)acc;
}

static uint32_t reno_ssthresh(struct axl_tcp_cc *cc, uint32_t flight)
{
    (void)cc;
    return flight / 2; /* RFC 5681 eq. 4, floored at 2 SMSS by the caller */
}

static void reno_on_rto(struct axl_tcp_cc *cc)
{
    (void)cc;
}

static void reno_on_idle(struct axl_tcp_cc *cc, uint64_t now_ns, int restarted)
{
    (void)cc;
    (void)now_ns;
    (void)restarted;
}

/* --- CUBIC (RFC 9438) ------------------------------------------------------ */

#define CUBIC_BETA_NUM   7 /* beta_cubic = 0.7 (§4.6) */
#define CUBIC_BETA_DEN   10
#define CUBIC_FC_NUM     17 /* (1 + beta_cubic) / 2 = 0.85 (§4.7) */
#define CUBIC_FC_DEN     20
#define CUBIC_ALPHA_NUM  9 /* alpha_cubic = 3(1-beta)/(1+beta) = 9/17 (§4.3) */
#define CUBIC_ALPHA_DEN  17
#define CUBIC_TU_SHIFT   10           /* time unit 2^-10 s */
#define CUBIC_OFFS_LIMIT (1ull << 21) /* |t - K| bound in tu, see header */
#define CUBIC_NS_CLAMP   (1ull << 56) /* ns * 128 fits 64 bits */

static uint64_t ns_to_tu(uint64_t ns)
{
    if (ns > CUBIC_NS_CLAMP) ns = CUBIC_NS_CLAMP;
    return ns * 128 / 125000000; /* ns * 2^10 / 10^9 */
}

/* K in tu for a window gap of `gap` bytes: cbrt(gap / (C * SMSS)) s (§4.2,
 * Figure 2), rounded to the nearest tu. */
static uint32_t cubic_k(uint32_t gap, uint32_t mss)
{
    uint64_t x = (uint64_t)gap * 10 * (1ull << 28) / mss; /* < 2^62.3 */
    uint64_t k = axl_tcp_cc_icbrt(x);
    /* nearest: k or k + 1, whichever cube is closer to x */
    uint64_t lo = k * k * k, hi = (k + 1) * (k + 1) * (k + 1);
    if (hi - x < x - lo) k++;
    return (uint32_t)k;
}

/* W_cubic(t) in bytes (§4.2, Figure 1), t in tu. Saturates far in the convex
 * region (callers clamp to 1.5 cwnd). */
static uint64_t cubic_w(const struct axl_tcp_cc_cubic *c, uint32_t mss, uint64_t t)
{
    int convex = t >= c->k;
    uint64_t offs = convex ? t - c->k : c->k - t;
    if (offs >= CUBIC_OFFS_LIMIT) return convex ? (uint64_t)AXL_TCP_CC_CWND_MAX * 2 : 0;
    uint64_t cube = offs * offs * offs; /* < 2^63 */
    uint64_t delta;
    if (cube <= UINT64_MAX / (4ull * mss))
        delta = cube * 4 * mss / (10ull << 30);
    else
        delta = (cube >> 20) * 4 * mss / (10ull << 10);
    if (convex) return c->w_max + delta;
    return delta >= c->w_max ? 0 : c->w_max - delta;
}

static void cubic_init(struct axl_tcp_cc *cc, uint64_t now_ns)
{
    memset(&cc->u.cubic, 0, sizeof(cc->u.cubic));
    cc->u.cubic.last_ns = now_ns;
}

/* Start a congestion avoidance stage at the first ACK in it (§4.2: t_epoch,
 * cwnd_epoch; §4.3: W_est = cwnd_epoch). */
static void cubic_epoch_start(struct axl_tcp_cc *cc, uint64_t now_ns)
{
    struct axl_tcp_cc_cubic *c = &cc->u.cubic;
    c->epoch_on = 1;
    c->epoch_ns = now_ns;
    c->last_ns = now_ns;
    if (c->after_rto || c->w_max <= cc->cwnd) {
        /* §4.8 (first stage after a timeout) and §4.10 (no W_max yet, or a
         * window already above it, e.g. after fast convergence or a restart):
         * K = 0 and W_max = cwnd_epoch, so the curve starts convex here. */
        c->k = 0;
        c->w_max = cc->cwnd;
    } else {
        c->k = cubic_k(c->w_max - cc->cwnd, cc->mss);
    }
    c->after_rto = 0;
    c->w_est = cc->cwnd;
    c->est_frac = 0;
    c->cnt_frac = 0;
}

static void cubic_cong_avoid(struct axl_tcp_cc *cc, const struct axl_tcp_cc_ack *a,
                             int cwnd_limited)
{
    struct axl_tcp_cc_cubic *c = &cc->u.cubic;
    uint64_t now = a->now_ns;
    if (!c->epoch_on) cubic_epoch_start(cc, now);
    if (now < c->last_ns) now = c->last_ns; /* a clock never runs backwards; be safe */
    if (!cwnd_limited) {
        /* §5.8: no growth while application (or receiver) limited, and that
         * time is excluded from t: the epoch moves forward by it. */
        c->epoch_ns += now - c->last_ns;
        c->last_ns = now;
        return;
    }
    c->last_ns = now;
    uint64_t t_ns = now - c->epoch_ns;
    uint64_t cwnd = cc->cwnd;
    uint64_t acked = a->acked;

    /* §4.3 Reno-friendly estimate: W_est += alpha * segments_acked / cwnd
     * segments, i.e. alpha * SMSS * acked / cwnd bytes; alpha = 9/17 until
     * W_est reaches cwnd_prior, then 1. */
    uint64_t anum = c->w_est >= c->cwnd_prior ? CUBIC_ALPHA_DEN : CUBIC_ALPHA_NUM;
    uint64_t den = CUBIC_ALPHA_DEN * cwnd;
    uint64_t frac = c->est_frac + anum * cc->mss * acked; /* < 2^53 */
    c->w_est = clamp_cwnd(c->w_est + frac / den);
    c->est_frac = frac % den;

    uint64_t w_t = cubic_w(c, cc->mss, ns_to_tu(t_ns));
    if (w_t < c->w_est) {
        /* §4.3: Reno-friendly region, cwnd = W_est. We never lower cwnd on an
         * ACK: W_est below cwnd (possible right after the curve pulled ahead)
         * leaves it unchanged. */
        if (c->w_est > cc->cwnd) cc->cwnd = c->w_est;
        return;
    }
    /* §4.2: target = W_cubic(t + RTT) clamped to [cwnd, 1.5 cwnd];
     * §4.4/§4.5: cwnd += (target - cwnd) / cwnd per acknowledged segment,
     * i.e. (target - cwnd) * acked / cwnd bytes, remainder carried. */
    uint64_t t_rtt = t_ns + a->srtt_ns;
    if (t_rtt < t_ns) t_rtt = UINT64_MAX; /* saturate; ns_to_tu clamps */
    uint64_t target = cubic_w(c, cc->mss, ns_to_tu(t_rtt));
    if (target < cwnd) target = cwnd;
    if (target > cwnd + cwnd / 2) target = cwnd + cwnd / 2;
    uint64_t inc = c->cnt_frac + (target - cwnd) * acked; /* < 2^62 */
    cc->cwnd = clamp_cwnd(cwnd + inc / cwnd);
    c->cnt_frac = (uint32_t)(inc % cwnd);
}

static uint32_t cubic_ssthresh(struct axl_tcp_cc *cc, uint32_t flight)
{
    struct axl_tcp_cc_cubic *c = &cc->u.cubic;
    /* §4.7 fast convergence: a loss below the previous W_max means the share
     * shrank; release bandwidth by remembering a lower W_max. */
    if (cc->cwnd < c->w_max)
        c->w_max = (uint32_t)((uint64_t)cc->cwnd * CUBIC_FC_NUM / CUBIC_FC_DEN);
    else
        c->w_max = cc->cwnd;
    /* §4.6 Figure 5: cwnd_prior = cwnd; ssthresh = flight_size * beta. */
    c->cwnd_prior = cc->cwnd;
    c->epoch_on = 0;
    return (uint32_t)((uint64_t)flight * CUBIC_BETA_NUM / CUBIC_BETA_DEN);
}

static void cubic_on_rto(struct axl_tcp_cc *cc)
{
    /* §4.8: the next congestion avoidance stage starts with K = 0 and
     * W_max = cwnd_epoch. */
    cc->u.cubic.epoch_on = 0;
    cc->u.cubic.after_rto = 1;
}

static void cubic_on_idle(struct axl_tcp_cc *cc, uint64_t now_ns, int restarted)
{
    struct axl_tcp_cc_cubic *c = &cc->u.cubic;
    if (!c->epoch_on) return;
    if (restarted) {
        /* The restart window sends us back to slow start: the next
         * congestion avoidance stage is a new epoch (as Linux does). */
        c->epoch_on = 0;
        return;
    }
    /* §5.8: t must not include idle time: shift t_epoch by it. */
    if (now_ns > c->last_ns) {
        c->epoch_ns += now_ns - c->last_ns;
        c->last_ns = now_ns;
    }
}

static const struct axl_tcp_cc_ops cc_ops[AXL_TCP_CC_NALGO] = {
    [AXL_TCP_CC_NEWRENO] = {.name = "newreno",
                            .init = reno_init,
                            .cong_avoid = reno_cong_avoid,
                            .ssthresh = reno_ssthresh,
                            .on_rto = reno_on_rto,
                            .on_idle = reno_on_idle},
    [AXL_TCP_CC_CUBIC] = {.name = "cubic",
                          .init = cubic_init,
                          .cong_avoid = cubic_cong_avoid,
                          .ssthresh = cubic_ssthresh,
                          .on_rto = cubic_on_rto,
                          .on_idle = cubic_on_idle},
};

const struct axl_tcp_cc_ops *axl_tcp_cc_ops(enum axl_tcp_cc_algo algo)
{
    if ((unsigned)algo >= AXL_TCP_CC_NALGO) return NULL;
    return &cc_ops[algo];
}

int axl_tcp_cc_algo_by_name(const char *name)
{
    for (unsigned i = 0; i < AXL_TCP_CC_NALGO; i++)
        if (!strcmp(name, cc_ops[i].name)) return (int)i;
    return AXL_EINVAL;
}

/* --- common ---------------------------------------------------------------- */

static const struct axl_tcp_cc_ops *ops_of(const struct axl_tcp_cc *cc)
{
    return &cc_ops[cc->algo];
}

int axl_tcp_cc_init(struct axl_tcp_cc *cc, enum axl_tcp_cc_algo algo, uint32_t mss, uint64_t now_ns)
{
    if ((unsigned)algo >= AXL_TCP_CC_NALGO || mss == 0 || mss > 65535) return AXL_EINVAL;
    memset(cc, 0, sizeof(*cc));
    cc->algo = (uint8_t)algo;
    cc->mss = mss;
    cc->cwnd = axl_tcp_cc_iw(mss);          /* RFC 6928 §2 */
    cc->ssthresh = AXL_TCP_CC_SSTHRESH_INF; /* RFC 5681 §3.1 */
    ops_of(cc)->init(cc, now_ns);
    return 0;
}

void axl_tcp_cc_syn_lost(struct axl_tcp_cc *cc)
{
    /* RFC 5681 §3.1: "if the SYN or SYN/ACK is lost, the initial window used
     * by a sender after a correctly transmitted SYN MUST be one segment". */
    cc->cwnd = cc->mss;
}

int axl_tcp_cc_set_mss(struct axl_tcp_cc *cc, uint32_t mss)
{
    if (mss == 0 || mss > 65535) return AXL_EINVAL;
    /* RFC 5681 §3.1: "cwnd SHOULD be reduced by the ratio of the old segment
     * size to the new segment size" (the segment count is kept). */
    uint64_t w = (uint64_t)cc->cwnd * mss / cc->mss;
    cc->cwnd = clamp_cwnd(w < mss ? mss : w);
    cc->mss = mss;
    return 0;
}

static uint32_t floor2(const struct axl_tcp_cc *cc, uint64_t w)
{
    uint64_t lo = 2ull * cc->mss;
    return clamp_cwnd(w < lo ? lo : w);
}

static int cwnd_limited(const struct axl_tcp_cc *cc, uint32_t flight)
{
    /* Was the sender using its window? Slow start (as Linux): less than half
     * of cwnd in flight means cwnd is not what limits us. Congestion
     * avoidance: not even one more full segment fitted. Otherwise the flow is
     * application- or receiver-limited and cwnd must not grow (RFC 9438
     * §5.8; RFC 7661's concern). */
    if (cc->cwnd < cc->ssthresh) return 2ull * flight > cc->cwnd;
    return (uint64_t)flight + cc->mss > cc->cwnd;
}

enum axl_tcp_cc_ack_res axl_tcp_cc_on_ack(struct axl_tcp_cc *cc, const struct axl_tcp_cc_ack *a)
{
    if (cc->in_recovery) {
        if (cc_seq_ge(a->ack, cc->recover)) {
            /* Full acknowledgment (RFC 6582 §3.2; RFC 6675 §5 (A)). NewReno
             * recovery deflates with option (1),
             * cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS), which avoids
             * a burst when little is outstanding; FlightSize is what remains
             * after this ACK. SACK recovery left cwnd at ssthresh throughout. */
            if (cc->rec_mode == AXL_TCP_CC_REC_NEWRENO) {
                uint64_t fl = a->flight > a->acked ? a->flight - a->acked : 0;
                uint64_t w = (fl > cc->mss ? fl : cc->mss) + cc->mss;
                cc->cwnd = clamp_cwnd(w < cc->ssthresh ? w : cc->ssthresh);
            } else {
                cc->cwnd = cc->ssthresh;
            }
            cc->in_recovery = 0;
            cc->abc = 0;
            return AXL_TCP_CC_ACK_EXIT;
        }
        if (cc->rec_mode == AXL_TCP_CC_REC_NEWRENO) {
            /* Partial acknowledgment (RFC 6582 §3.2): deflate by the newly
             * acknowledged amount, add back one SMSS if at least one SMSS was
             * acknowledged. We floor at 2 SMSS (ssthresh's own floor, RFC 5681
             * eq. 4) so lost ACKs cannot drive cwnd to nothing. */
            int64_t w = (int64_t)cc->cwnd - a->acked + (a->acked >= cc->mss ? cc->mss : 0);
            cc->cwnd = floor2(cc, w < 0 ? 0 : (uint64_t)w);
        }
        return AXL_TCP_CC_ACK_PARTIAL;
    }
    if ((cc->flags & AXL_TCP_CC_F_POST_RTO) && cc_seq_ge(a->ack, cc->recover))
        cc->flags &= (uint8_t)~AXL_TCP_CC_F_POST_RTO;
    if (!a->acked) return AXL_TCP_CC_ACK_NORMAL;
    int limited = cwnd_limited(cc, a->flight);
    if (cc->cwnd < cc->ssthresh) {
        /* Slow start (RFC 5681 §3.1) with appropriate byte counting: cwnd +=
         * min(N, L * SMSS), L = 2 (RFC 3465 §2.2-§2.3), L = 1 in the slow start that
         * follows an RTO (RFC 3465 §2.3). Stop at ssthresh: the next ACK is in
         * congestion avoidance. */
        if (!limited) return AXL_TCP_CC_ACK_NORMAL;
        uint64_t l = (uint64_t)cc->mss * (cc->flags & AXL_TCP_CC_F_POST_RTO ? 1 : AXL_TCP_CC_ABC_L);
        uint64_t w = (uint64_t)cc->cwnd + (a->acked < l ? a->acked : l);
        cc->cwnd = clamp_cwnd(w < cc->ssthresh ? w : cc->ssthresh);
        return AXL_TCP_CC_ACK_NORMAL;
    }
    ops_of(cc)->cong_avoid(cc, a, limited);
    return AXL_TCP_CC_ACK_NORMAL;
}

void axl_tcp_cc_on_dupack(struct axl_tcp_cc *cc)
{
    /* RFC 5681 §3.2 step 4 (kept by RFC 6582 §3.2): each further duplicate ACK
     * means a segment left the network; inflate cwnd by SMSS. */
    if (cc->in_recovery && cc->rec_mode == AXL_TCP_CC_REC_NEWRENO)
        cc->cwnd = clamp_cwnd((uint64_t)cc->cwnd + cc->mss);
}

int axl_tcp_cc_may_recover(const struct axl_tcp_cc *cc, uint32_t ack)
{
    /* RFC 6582 §3.2 (three duplicate ACKs): fast retransmit only if the ACK
     * covers more than recover (this also keeps a stale dupack train after an
     * RTO from triggering recovery, RFC 6675 §5.1). */
    if (cc->in_recovery) return 0;
    return !(cc->flags & AXL_TCP_CC_F_RECOVER) || cc_seq_ge(ack, cc->recover);
}

void axl_tcp_cc_on_congestion(struct axl_tcp_cc *cc, uint32_t flight, uint32_t snd_max,
                              enum axl_tcp_cc_rec mode)
{
    if (cc->in_recovery) return;
    /* ssthresh from FlightSize, not cwnd (RFC 5681 §3.1 implementation note;
     * RFC 9438 §4.6 Figure 5), never below 2 SMSS (eq. 4). */
    cc->ssthresh = floor2(cc, ops_of(cc)->ssthresh(cc, flight));
    if (mode == AXL_TCP_CC_REC_NEWRENO)
        /* RFC 5681 §3.2 step 3 (entering fast retransmit, RFC 6582 §3.2): inflate
         * by the three segments that left the network. */
        cc->cwnd = clamp_cwnd((uint64_t)cc->ssthresh + 3ull * cc->mss);
    else
        cc->cwnd = cc->ssthresh; /* RFC 6675 §5 (4.2); RFC 9438 §4.6 */
    cc->rec_mode = (uint8_t)mode;
    cc->in_recovery = 1;
    cc->recover = snd_max; /* RFC 6582 §3.2: recover = highest sent */
    cc->flags |= AXL_TCP_CC_F_RECOVER;
    cc->abc = 0;
}

void axl_tcp_cc_on_rto(struct axl_tcp_cc *cc, uint32_t flight, uint32_t snd_max, int repeated)
{
    /* RFC 5681 §3.1: ssthresh per eq. 4 (CUBIC: beta, RFC 9438 §4.8), held
     * constant when the same segment times out again; cwnd = LW = 1 SMSS. */
    if (!repeated) cc->ssthresh = floor2(cc, ops_of(cc)->ssthresh(cc, flight));
    cc->cwnd = cc->mss;
    cc->abc = 0;
    cc->in_recovery = 0;
    /* RFC 6582 §3.2 (retransmit timeouts): recover = highest sent. */
    cc->recover = snd_max;
    cc->flags |= AXL_TCP_CC_F_RECOVER | AXL_TCP_CC_F_POST_RTO;
    ops_of(cc)->on_rto(cc);
}

void axl_tcp_cc_on_restart(struct axl_tcp_cc *cc, uint64_t now_ns, uint64_t idle_ns,
                           uint64_t rto_ns)
{
    int restarted = 0;
    if (idle_ns > rto_ns) {
        /* RFC 5681 §4.1: after an idle period longer than RTO, cwnd = RW =
         * min(IW, cwnd) before transmitting. */
        uint32_t iw = axl_tcp_cc_iw(cc->mss);
        if (cc->cwnd > iw) cc->cwnd = iw;
        cc->abc = 0;
        restarted = 1;
    }
    ops_of(cc)->on_idle(cc, now_ns, restarted);
}
