/* SPDX-License-Identifier: MIT */
/*
 * test_tcp_cc.c - unit tests of TCP congestion control (net/tcp_cc.c) on a
 * deterministic clock: the initial window (RFC 6928), slow start doubling per
 * RTT with byte counting (RFC 3465), NewReno congestion avoidance (+1 SMSS per
 * RTT), fast recovery arithmetic (RFC 6582 / RFC 6675), the loss reductions
 * (1/2 and 0.7), RTO collapse, restart after idle (RFC 5681 §4.1), and CUBIC
 * (RFC 9438) against the RFC's formulas evaluated in double precision over a
 * simulated ACK clock: K, the W(t) trajectory, the Reno-friendly region and the
 * switch out of it, fast convergence, time excluded while app-limited or idle,
 * the 2 SMSS / 1 SMSS floors, and overflow safety for windows up to 2^31.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/err.h"
#include "net/tcp_cc.h"

#define T0 987654321ull /* arbitrary clock origin */

/* --- an ACK clock --------------------------------------------------------- */

/* A sender that always has data: every segment in flight at the start of a
 * round is acknowledged during that round (evenly spread over one RTT), and
 * new segments are sent as soon as cwnd allows. `per_ack` segments are
 * acknowledged by each ACK (1: every segment, 2: delayed ACKs). */
struct sim {
    struct axl_tcp_cc cc;
    uint64_t now, rtt;
    uint32_t una, nxt, mss;
    unsigned per_ack;
    uint64_t acks;
    void (*observe)(struct sim *s, const struct axl_tcp_cc_ack *a, void *arg);
    void *arg;
};

static void sim_fill(struct sim *s)
{
    while (s->nxt - s->una + s->mss <= s->cc.cwnd)
        s->nxt += s->mss;
}

static void sim_init(struct sim *s, enum axl_tcp_cc_algo algo, uint32_t mss, uint64_t rtt,
                     uint32_t iss)
{
    memset(s, 0, sizeof(*s));
    s->now = T0;
    s->rtt = rtt;
    s->mss = mss;
    s->una = s->nxt = iss;
    s->per_ack = 1;
    assert_int_equal(axl_tcp_cc_init(&s->cc, algo, mss, s->now), 0);
    sim_fill(s);
}

/* One RTT worth of ACKs. */
static void sim_round(struct sim *s)
{
    uint32_t segs = (s->nxt - s->una) / s->mss;
    uint32_t nacks = (segs + s->per_ack - 1) / s->per_ack;
    uint64_t start = s->now;
    for (uint32_t i = 0; i < nacks; i++) {
        uint32_t n = s->per_ack;
        if ((uint64_t)n * s->mss > s->nxt - s->una) n = (s->nxt - s->una) / s->mss;
        s->now = start + s->rtt * (i + 1) / nacks;
        struct axl_tcp_cc_ack a = {.now_ns = s->now,
                                   .srtt_ns = s->rtt,
                                   .ack = s->una + n * s->mss,
                                   .acked = n * s->mss,
                                   .flight = s->nxt - s->una};
        assert_int_equal(axl_tcp_cc_on_ack(&s->cc, &a), AXL_TCP_CC_ACK_NORMAL);
        if (s->observe) s->observe(s, &a, s->arg);
        s->una = a.ack;
        s->acks++;
        sim_fill(s);
    }
}

/* Enter and leave a SACK-style recovery so that ssthresh = cwnd = the given
 * window: what a loss at `flight` bytes leaves behind. */
static void sim_loss(struct sim *s, uint32_t flight)
{
    assert_true(axl_tcp_cc_may_recover(&s->cc, s->una));
    axl_tcp_cc_on_congestion(&s->cc, flight, s->nxt, AXL_TCP_CC_REC_SACK);
    assert_true(axl_tcp_cc_in_recovery(&s->cc));
    /* Everything outstanding is acknowledged by one full ACK. */
    struct axl_tcp_cc_ack a = {.now_ns = s->now,
                               .srtt_ns = s->rtt,
                               .ack = s->nxt,
                               .acked = s->nxt - s->una,
                               .flight = s->nxt - s->una};
    assert_int_equal(axl_tcp_cc_on_ack(&s->cc, &a), AXL_TCP_CC_ACK_EXIT);
    assert_false(axl_tcp_cc_in_recovery(&s->cc));
    s->una = s->nxt;
    sim_fill(s);
}

/* --- initial window, init -------------------------------------------------- */

static void test_initial_window(void **state)
{
    (void)state;
    /* RFC 6928 §2: min(10*MSS, max(2*MSS, 14600)). */
    assert_int_equal(axl_tcp_cc_iw(1460), 14600);
    assert_int_equal(axl_tcp_cc_iw(1000), 10000);
    assert_int_equal(axl_tcp_cc_iw(536), 5360);
    assert_int_equal(axl_tcp_cc_iw(4000), 14600);
    assert_int_equal(axl_tcp_cc_iw(8960), 17920);
    assert_int_equal(axl_tcp_cc_iw(65535), 131070);
    struct axl_tcp_cc cc;
    assert_int_equal(axl_tcp_cc_init(&cc, AXL_TCP_CC_CUBIC, 1460, T0), 0);
    assert_int_equal(axl_tcp_cc_cwnd(&cc), 14600);
    assert_int_equal(axl_tcp_cc_ssthresh(&cc), AXL_TCP_CC_SSTHRESH_INF);
    /* A lost SYN: IW = 1 segment (RFC 5681 §3.1). */
    axl_tcp_cc_syn_lost(&cc);
    assert_int_equal(axl_tcp_cc_cwnd(&cc), 1460);
    assert_int_equal(axl_tcp_cc_init(&cc, AXL_TCP_CC_NALGO, 1460, T0), AXL_EINVAL);
    assert_int_equal(axl_tcp_cc_init(&cc, AXL_TCP_CC_NEWRENO, 0, T0), AXL_EINVAL);
    assert_int_equal(axl_tcp_cc_init(&cc, AXL_TCP_CC_NEWRENO, 65536, T0), AXL_EINVAL);
    /* The ops table and the names. */
    assert_string_equal(axl_tcp_cc_ops(AXL_TCP_CC_NEWRENO)->name, "newreno");
    assert_string_equal(axl_tcp_cc_ops(AXL_TCP_CC_CUBIC)->name, "cubic");
    assert_null(axl_tcp_cc_ops(AXL_TCP_CC_NALGO));
    assert_int_equal(axl_tcp_cc_algo_by_name("cubic"), AXL_TCP_CC_CUBIC);
    assert_int_equal(axl_tcp_cc_algo_by_name("newreno"), AXL_TCP_CC_NEWRENO);
    assert_int_equal(axl_tcp_cc_algo_by_name("bbr"), AXL_EINVAL);
    assert_int_equal(AXL_TCP_CC_DEFAULT, AXL_TCP_CC_CUBIC);
    /* PMTUD shrinks the MSS: cwnd keeps its segment count (RFC 5681 §3.1). */
    assert_int_equal(axl_tcp_cc_init(&cc, AXL_TCP_CC_NEWRENO, 1460, T0), 0);
    assert_int_equal(axl_tcp_cc_set_mss(&cc, 1000), 0);
    assert_int_equal(axl_tcp_cc_cwnd(&cc), 10000);
    assert_int_equal(axl_tcp_cc_set_mss(&cc, 0), AXL_EINVAL);
}

/* --- slow start ------------------------------------------------------------ */

static void test_slow_start_doubling(void **state)
{
    (void)state;
    for (int algo = 0; algo < AXL_TCP_CC_NALGO; algo++) {
        /* An ACK per segment, and delayed ACKs (one per two segments): with
         * ABC's L = 2 both double cwnd every RTT (RFC 3465 §2.2-§2.3). The ISS sits
         * just below 2^32 so the sequence space wraps during the run. */
        for (unsigned per_ack = 1; per_ack <= 2; per_ack++) {
            struct sim s;
            sim_init(&s, algo, 1000, 50 * AXL_NS_PER_MS, 0xffff0000u);
            s.per_ack = per_ack;
            uint32_t want = 10000;
            for (int r = 0; r < 12; r++) {
                assert_int_equal(axl_tcp_cc_cwnd(&s.cc), want);
                sim_round(&s);
                want *= 2;
            }
        }
        /* Stretch ACKs of 4 segments: ABC caps the growth at 2 SMSS per ACK,
         * so cwnd grows by half per RTT (10 -> 15 -> 22 -> 33 segments ...). */
        struct sim s;
        sim_init(&s, algo, 1000, 50 * AXL_NS_PER_MS, 7);
        s.per_ack = 4;
        sim_round(&s); /* 10 segments: ACKs of 4, 4, 2 -> +2, +2, +2 */
        assert_int_equal(axl_tcp_cc_cwnd(&s.cc), 16000);
        sim_round(&s); /* 16 segments: 4 ACKs -> +8 */
        assert_int_equal(axl_tcp_cc_cwnd(&s.cc), 24000);
    }
    /* Slow start stops at ssthresh. */
    struct sim s;
    sim_init(&s, AXL_TCP_CC_NEWRENO, 1000, 50 * AXL_NS_PER_MS, 1);
    s.cc.ssthresh = 25500;
    sim_round(&s);
    assert_int_equal(axl_tcp_cc_cwnd(&s.cc), 20000);
    sim_round(&s);
    assert_true(axl_tcp_cc_cwnd(&s.cc) <= 26500); /* ssthresh, then CA's +1 SMSS at most */
    assert_true(axl_tcp_cc_cwnd(&s.cc) >= 25500);
}

static void test_app_limited_no_growth(void **state)
{
    (void)state;
    for (int algo = 0; algo < AXL_TCP_CC_NALGO; algo++) {
        struct axl_tcp_cc cc;
        assert_int_equal(axl_tcp_cc_init(&cc, algo, 1000, T0), 0);
        /* Slow start with 2 segments in flight out of 10: not cwnd-limited. */
        struct axl_tcp_cc_ack a = {
            .now_ns = T0 + 1000, .srtt_ns = 1000000, .ack = 1000, .acked = 1000, .flight = 2000};
        axl_tcp_cc_on_ack(&cc, &a);
        assert_int_equal(axl_tcp_cc_cwnd(&cc), 10000);
        a.flight = 6000; /* more than half the window in flight: grows */
        axl_tcp_cc_on_ack(&cc, &a);
        assert_int_equal(axl_tcp_cc_cwnd(&cc), 11000);
        /* Congestion avoidance: a window with room for another segment. */
        cc.ssthresh = 11000;
        a.flight = 5000;
        for (int i = 0; i < 100; i++)
            axl_tcp_cc_on_ack(&cc, &a);
        assert_int_equal(axl_tcp_cc_cwnd(&cc), 11000);
    }
}

/* --- NewReno congestion avoidance and recovery ----------------------------- */

static void test_reno_congestion_avoidance(void **state)
{
    (void)state;
    for (unsigned per_ack = 1; per_ack <= 2; per_ack++) {
        struct sim s;
        sim_init(&s, AXL_TCP_CC_NEWRENO, 1448, 100 * AXL_NS_PER_MS, 0xfffff000u);
        s.per_ack = per_ack;
        for (int r = 0; r < 3; r++) /* 10 -> 80 segments */
            sim_round(&s);
        assert_int_equal(axl_tcp_cc_cwnd(&s.cc), 80 * 1448);
        sim_loss(&s, 80 * 1448);
        /* RFC 5681 eq. 4: ssthresh = FlightSize / 2. */
        assert_int_equal(axl_tcp_cc_ssthresh(&s.cc), 40 * 1448);
        assert_int_equal(axl_tcp_cc_cwnd(&s.cc), 40 * 1448);
        /* RFC 5681 §3.1 / RFC 3465 §2.1: exactly +1 SMSS per RTT. */
        for (uint32_t r = 1; r <= 50; r++) {
            sim_round(&s);
            assert_int_equal(axl_tcp_cc_cwnd(&s.cc), (40 + r) * 1448);
        }
    }
}

static void test_newreno_fast_recovery(void **state)
{
    (void)state;
    struct axl_tcp_cc cc;
    const uint32_t mss = 1000, una = 0xfffffc18u; /* wraps within the window */
    assert_int_equal(axl_tcp_cc_init(&cc, AXL_TCP_CC_NEWRENO, mss, T0), 0);
    cc.cwnd = 20000;
    cc.ssthresh = 15000;
    uint32_t snd_max = una + 20000;
    assert_true(axl_tcp_cc_may_recover(&cc, una));
    /* Third duplicate ACK (RFC 5681 §3.2 steps 2-3, RFC 6582 §3.2). */
    axl_tcp_cc_on_congestion(&cc, 20000, snd_max, AXL_TCP_CC_REC_NEWRENO);
    assert_int_equal(axl_tcp_cc_ssthresh(&cc), 10000);
    assert_int_equal(axl_tcp_cc_cwnd(&cc), 13000);
    assert_false(axl_tcp_cc_may_recover(&cc, una));
    /* RFC 5681 §3.2 step 4: five more dupacks inflate. */
    for (int i = 0; i < 5; i++)
        axl_tcp_cc_on_dupack(&cc);
    assert_int_equal(axl_tcp_cc_cwnd(&cc), 18000);
    /* RFC 6582 §3.2 partial ACK of 3000: deflate by 3000, add back one SMSS. */
    struct axl_tcp_cc_ack a = {
        .now_ns = T0, .srtt_ns = 0, .ack = una + 3000, .acked = 3000, .flight = 20000};
    assert_int_equal(axl_tcp_cc_on_ack(&cc, &a), AXL_TCP_CC_ACK_PARTIAL);
    assert_int_equal(axl_tcp_cc_cwnd(&cc), 16000);
    /* A partial ACK of less than one SMSS: no add-back. */
    a.ack += 500;
    a.acked = 500;
    a.flight = 17000;
    assert_int_equal(axl_tcp_cc_on_ack(&cc, &a), AXL_TCP_CC_ACK_PARTIAL);
    assert_int_equal(axl_tcp_cc_cwnd(&cc), 15500);
    /* A huge partial ACK (lost ACKs): never below 2 SMSS. */
    a.ack = snd_max - 1;
    a.acked = 16499;
    a.flight = 16500;
    assert_int_equal(axl_tcp_cc_on_ack(&cc, &a), AXL_TCP_CC_ACK_PARTIAL);
    assert_int_equal(axl_tcp_cc_cwnd(&cc), 2000);
    assert_false(axl_tcp_cc_may_recover(&cc, snd_max - 1));
    /* RFC 6582 §3.2 full ACK, with 4000 bytes sent meanwhile still out:
     * cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS) = 5000. */
    a.ack = snd_max;
    a.acked = 1;
    a.flight = 4001;
    assert_int_equal(axl_tcp_cc_on_ack(&cc, &a), AXL_TCP_CC_ACK_EXIT);
    assert_int_equal(axl_tcp_cc_cwnd(&cc), 5000);
    assert_false(axl_tcp_cc_in_recovery(&cc));
    assert_true(axl_tcp_cc_may_recover(&cc, snd_max));
    assert_false(axl_tcp_cc_may_recover(&cc, snd_max - 10)); /* stale dupacks */
    /* With plenty outstanding the exit deflates to ssthresh. */
    axl_tcp_cc_on_congestion(&cc, 30000, snd_max + 30000, AXL_TCP_CC_REC_NEWRENO);
    assert_int_equal(axl_tcp_cc_ssthresh(&cc), 15000);
    a.ack = snd_max + 30000;
    a.acked = 30000;
    a.flight = 60000;
    assert_int_equal(axl_tcp_cc_on_ack(&cc, &a), AXL_TCP_CC_ACK_EXIT);
    assert_int_equal(axl_tcp_cc_cwnd(&cc), 15000);
}

static void test_sack_recovery_window(void **state)
{
    (void)state;
    for (int algo = 0; algo < AXL_TCP_CC_NALGO; algo++) {
        struct axl_tcp_cc cc;
        assert_int_equal(axl_tcp_cc_init(&cc, algo, 1000, T0), 0);
        cc.cwnd = 100000;
        axl_tcp_cc_on_congestion(&cc, 100000, 100000, AXL_TCP_CC_REC_SACK);
        /* RFC 6675 §5 (4.2) with eq. 4, or RFC 9438 §4.6's 0.7. */
        uint32_t want = algo == AXL_TCP_CC_CUBIC ? 70000 : 50000;
        assert_int_equal(axl_tcp_cc_ssthresh(&cc), want);
        assert_int_equal(axl_tcp_cc_cwnd(&cc), want);
        /* Dupacks and partial ACKs leave cwnd alone: pipe governs. */
        axl_tcp_cc_on_dupack(&cc);
        struct axl_tcp_cc_ack a = {.now_ns = T0, .ack = 5000, .acked = 5000, .flight = 100000};
        assert_int_equal(axl_tcp_cc_on_ack(&cc, &a), AXL_TCP_CC_ACK_PARTIAL);
        assert_int_equal(axl_tcp_cc_cwnd(&cc), want);
        /* A second congestion signal inside the same recovery is ignored. */
        axl_tcp_cc_on_congestion(&cc, 95000, 100000, AXL_TCP_CC_REC_SACK);
        assert_int_equal(axl_tcp_cc_cwnd(&cc), want);
        a.ack = 100000;
        a.acked = 95000;
        a.flight = 95000;
        assert_int_equal(axl_tcp_cc_on_ack(&cc, &a), AXL_TCP_CC_ACK_EXIT);
        assert_int_equal(axl_tcp_cc_cwnd(&cc), want);
    }
}

/* --- floors, RTO, restart -------------------------------------------------- */

static void test_floors_and_rto(void **state)
{
    (void)state;
    for (int algo = 0; algo < AXL_TCP_CC_NALGO; algo++) {
        struct axl_tcp_cc cc;
        assert_int_equal(axl_tcp_cc_init(&cc, algo, 1000, T0), 0);
        /* Tiny FlightSize: ssthresh and cwnd stay >= 2 SMSS (RFC 5681 eq. 4,
         * RFC 9438 Figure 5). */
        axl_tcp_cc_on_congestion(&cc, 1500, 1500, AXL_TCP_CC_REC_SACK);
        assert_int_equal(axl_tcp_cc_ssthresh(&cc), 2000);
        assert_int_equal(axl_tcp_cc_cwnd(&cc), 2000);
        struct axl_tcp_cc_ack a = {.now_ns = T0, .ack = 1500, .acked = 1500, .flight = 1500};
        assert_int_equal(axl_tcp_cc_on_ack(&cc, &a), AXL_TCP_CC_ACK_EXIT);
        assert_true(axl_tcp_cc_cwnd(&cc) >= 2000);

        /* RTO (RFC 5681 §3.1): cwnd = 1 SMSS, ssthresh from FlightSize. */
        assert_int_equal(axl_tcp_cc_init(&cc, algo, 1000, T0), 0);
        cc.cwnd = 64000;
        axl_tcp_cc_on_rto(&cc, 60000, 60000, 0);
        assert_int_equal(axl_tcp_cc_cwnd(&cc), 1000);
        uint32_t ss = algo == AXL_TCP_CC_CUBIC ? 42000 : 30000;
        assert_int_equal(axl_tcp_cc_ssthresh(&cc), ss);
        /* The same segment times out again: ssthresh held constant. */
        axl_tcp_cc_on_rto(&cc, 1000, 60000, 1);
        assert_int_equal(axl_tcp_cc_ssthresh(&cc), ss);
        assert_int_equal(axl_tcp_cc_cwnd(&cc), 1000);
        /* No fast recovery until the RTO's recover point is covered. */
        assert_false(axl_tcp_cc_may_recover(&cc, 1000));
        /* Slow start after the RTO uses L = 1 SMSS (RFC 3465 §2.3): an ACK of
         * 4 segments grows cwnd by one. */
        a = (struct axl_tcp_cc_ack){.now_ns = T0, .ack = 4000, .acked = 4000, .flight = 60000};
        assert_int_equal(axl_tcp_cc_on_ack(&cc, &a), AXL_TCP_CC_ACK_NORMAL);
        assert_int_equal(axl_tcp_cc_cwnd(&cc), 2000);
        /* Once the recover point is acknowledged, L = 2 again. */
        a = (struct axl_tcp_cc_ack){.now_ns = T0, .ack = 60000, .acked = 56000, .flight = 56000};
        axl_tcp_cc_on_ack(&cc, &a);
        assert_int_equal(axl_tcp_cc_cwnd(&cc), 4000);
        assert_true(axl_tcp_cc_may_recover(&cc, 60000));

        /* An RTO during fast recovery ends it. */
        assert_int_equal(axl_tcp_cc_init(&cc, algo, 1000, T0), 0);
        cc.cwnd = 50000;
        axl_tcp_cc_on_congestion(&cc, 50000, 50000, AXL_TCP_CC_REC_NEWRENO);
        axl_tcp_cc_on_rto(&cc, 50000, 50000, 0);
        assert_false(axl_tcp_cc_in_recovery(&cc));
        assert_int_equal(axl_tcp_cc_cwnd(&cc), 1000);
    }
}

static void test_restart_after_idle(void **state)
{
    (void)state;
    for (int algo = 0; algo < AXL_TCP_CC_NALGO; algo++) {
        struct sim s;
        sim_init(&s, algo, 1000, 100 * AXL_NS_PER_MS, 0);
        for (int r = 0; r < 4; r++)
            sim_round(&s);
        assert_int_equal(axl_tcp_cc_cwnd(&s.cc), 160000);
        uint64_t rto = 300 * AXL_NS_PER_MS;
        /* Idle for less than an RTO: nothing changes. */
        axl_tcp_cc_on_restart(&s.cc, s.now + rto, rto, rto);
        assert_int_equal(axl_tcp_cc_cwnd(&s.cc), 160000);
        /* Idle for more than an RTO: restart window min(IW, cwnd) (RFC 5681
         * §4.1); ssthresh untouched. */
        axl_tcp_cc_on_restart(&s.cc, s.now + 2 * rto, rto + 1, rto);
        assert_int_equal(axl_tcp_cc_cwnd(&s.cc), 10000);
        assert_int_equal(axl_tcp_cc_ssthresh(&s.cc), AXL_TCP_CC_SSTHRESH_INF);
        /* A window already below IW is kept. */
        s.cc.cwnd = 3000;
        axl_tcp_cc_on_restart(&s.cc, s.now + 10 * rto, 5 * rto, rto);
        assert_int_equal(axl_tcp_cc_cwnd(&s.cc), 3000);
    }
}

/* --- CUBIC ----------------------------------------------------------------- */

/* RFC 9438 in doubles, following the same ACK events. */
struct ref_cubic {
    double mss, cwnd, w_max, k, w_est, cwnd_prior, epoch_s;
    int epoch_on;
    int reno_region; /* last ACK was in the Reno-friendly region */
};

static double ref_w(const struct ref_cubic *m, double t)
{
    double d = t - m->k;
    return m->w_max + 0.4 * m->mss * d * d * d; /* Figure 1, in bytes */
}

static void ref_ack(struct ref_cubic *m, double now_s, double rtt_s, double acked)
{
    if (!m->epoch_on) {
        m->epoch_on = 1;
        m->epoch_s = now_s;
        if (m->w_max <= m->cwnd) {
            m->k = 0;
            m->w_max = m->cwnd;
        } else {
            m->k = cbrt((m->w_max - m->cwnd) / m->mss / 0.4); /* Figure 2 */
        }
        m->w_est = m->cwnd;
    }
    double t = now_s - m->epoch_s;
    double beta = 0.7, alpha = 3 * (1 - beta) / (1 + beta);
    if (m->w_est >= m->cwnd_prior) alpha = 1;
    m->w_est += alpha * m->mss * acked / m->cwnd; /* Figure 4, bytes */
    if (ref_w(m, t) < m->w_est) {
        m->reno_region = 1;
        if (m->w_est > m->cwnd) m->cwnd = m->w_est;
        return;
    }
    m->reno_region = 0;
    double target = ref_w(m, t + rtt_s);
    if (target < m->cwnd) target = m->cwnd;
    if (target > 1.5 * m->cwnd) target = 1.5 * m->cwnd;
    m->cwnd += (target - m->cwnd) * acked / m->cwnd;
}

struct cubic_run {
    struct ref_cubic ref;
    double max_rel_err;        /* |cwnd - ref| / ref, worst */
    double max_curve_err;      /* |cwnd - W_cubic(t)| / W_max at round ends, worst */
    int reno_acks, cubic_acks; /* the model's region per ACK */
    int mod_reno_acks;         /* ACKs where the module took the Reno-friendly branch */
    int disagree;              /* ACKs where module and model took different regions */
    uint64_t disagree_t_max;   /* the latest such ACK, ns into the epoch */
};

static void cubic_observe(struct sim *s, const struct axl_tcp_cc_ack *a, void *arg)
{
    struct cubic_run *run = arg;
    ref_ack(&run->ref, (double)a->now_ns / 1e9, (double)a->srtt_ns / 1e9, a->acked);
    double got = axl_tcp_cc_cwnd(&s->cc), want = run->ref.cwnd;
    double err = fabs(got - want) / want;
    if (err > run->max_rel_err) run->max_rel_err = err;
    /* Which region did the module take? cwnd == W_est means Reno-friendly. */
    int mod_reno = s->cc.u.cubic.w_est >= axl_tcp_cc_cwnd(&s->cc);
    run->mod_reno_acks += mod_reno;
    if (run->ref.reno_region)
        run->reno_acks++;
    else
        run->cubic_acks++;
    if (mod_reno != run->ref.reno_region) {
        run->disagree++;
        uint64_t t = a->now_ns - s->cc.u.cubic.epoch_ns;
        if (t > run->disagree_t_max) run->disagree_t_max = t;
    }
}

/* Start congestion avoidance after a loss at `wmax` bytes (first loss: no fast
 * convergence), in step with the double model. */
static void cubic_setup(struct sim *s, struct cubic_run *run, uint32_t mss, uint64_t rtt,
                        uint32_t wmax)
{
    sim_init(s, AXL_TCP_CC_CUBIC, mss, rtt, 0xfff00000u);
    s->cc.cwnd = wmax;
    sim_fill(s);
    sim_loss(s, wmax);
    assert_int_equal(s->cc.u.cubic.w_max, wmax);
    assert_int_equal(axl_tcp_cc_cwnd(&s->cc), (uint32_t)((uint64_t)wmax * 7 / 10));
    memset(run, 0, sizeof(*run));
    run->ref = (struct ref_cubic){
        .mss = mss, .cwnd = axl_tcp_cc_cwnd(&s->cc), .w_max = wmax, .cwnd_prior = wmax};
    s->observe = cubic_observe;
    s->arg = run;
}

static void test_cubic_k(void **state)
{
    (void)state;
    /* Known K: W_max = 100 segments, cwnd_epoch = 70: K = cbrt(30 / 0.4) =
     * cbrt(75) = 4.2172 s (RFC 9438 Figure 2). */
    struct sim s;
    struct cubic_run run;
    cubic_setup(&s, &run, 1000, 100 * AXL_NS_PER_MS, 100000);
    sim_round(&s);
    double k = s.cc.u.cubic.k / 1024.0;
    assert_true(fabs(k - cbrt(75.0)) <= 0.5 / 1024);
    assert_true(fabs(k - run.ref.k) <= 0.5 / 1024);
    /* More W_max values and MSS sizes, including the extremes of the
     * operand: 1-byte MSS and a 2^31-byte W_max. */
    static const struct {
        uint32_t mss, wmax;
    } cases[] = {{1460, 14600}, {1460, 1460000},   {9000, 900000000}, {536, 5360},
                 {1, 1u << 31}, {65535, 1u << 31}, {1448, 2 * 1448}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct axl_tcp_cc cc;
        assert_int_equal(axl_tcp_cc_init(&cc, AXL_TCP_CC_CUBIC, cases[i].mss, T0), 0);
        cc.cwnd = cases[i].wmax;
        axl_tcp_cc_on_congestion(&cc, cases[i].wmax, 1, AXL_TCP_CC_REC_SACK);
        struct axl_tcp_cc_ack a = {.now_ns = T0, .ack = 1, .acked = 1, .flight = 1};
        assert_int_equal(axl_tcp_cc_on_ack(&cc, &a), AXL_TCP_CC_ACK_EXIT);
        cc.ssthresh = cc.cwnd; /* straight into congestion avoidance */
        a.flight = cc.cwnd;
        a.ack = 2;
        axl_tcp_cc_on_ack(&cc, &a);
        double want = cbrt((double)(cases[i].wmax - cc.u.cubic.w_est) / cases[i].mss / 0.4);
        assert_true(fabs(cc.u.cubic.k / 1024.0 - want) <= 0.5 / 1024);
    }
}

static void test_icbrt(void **state)
{
    (void)state;
    static const uint64_t fixed[] = {0,
                                     1,
                                     7,
                                     8,
                                     9,
                                     26,
                                     27,
                                     28,
                                     1000,
                                     999,
                                     1ull << 62,
                                     UINT64_MAX,
                                     2642245ull * 2642245 * 2642245,
                                     2642245ull * 2642245 * 2642245 - 1};
    uint64_t x = 0x123456789abcdefull;
    for (int i = 0; i < 200000; i++) {
        uint64_t v = i < (int)(sizeof(fixed) / sizeof(fixed[0])) ? fixed[i] : x >> (i % 64);
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t y = axl_tcp_cc_icbrt(v);
        assert_true(y <= 2642245); /* floor(cbrt(2^64 - 1)) */
        assert_true(y * y * y <= v);
        if (y < 2642245) assert_true((y + 1) * (y + 1) * (y + 1) > v);
    }
}

/* The W(t) trajectory in the concave and convex regions against the double
 * model (same ACK events) and against the closed-form curve. */
static void test_cubic_trajectory(void **state)
{
    (void)state;
    static const struct {
        uint32_t mss;
        uint64_t rtt_ms;
        uint32_t wmax_segs;
        int rounds;
    } cases[] = {
        {1448, 100, 1000, 150}, /* K = 9.1 s: concave up to W_max, then convex */
        {1448, 200, 400, 80},   /* K = 6.7 s */
        {1000, 50, 3000, 300},  /* K = 13.1 s */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sim s;
        struct cubic_run run;
        uint32_t wmax = cases[i].wmax_segs * cases[i].mss;
        cubic_setup(&s, &run, cases[i].mss, cases[i].rtt_ms * AXL_NS_PER_MS, wmax);
        uint64_t start = s.now;
        double prev = 0;
        for (int r = 0; r < cases[i].rounds; r++) {
            sim_round(&s);
            double cw = axl_tcp_cc_cwnd(&s.cc);
            assert_true(cw >= prev); /* never shrinks without loss */
            prev = cw;
            /* cwnd aims one RTT ahead (target = W(t + RTT)), reaching it after
             * an RTT: at each round end it sits on the curve. */
            double t = (double)(s.now - start) / 1e9;
            double curve = ref_w(&run.ref, t);
            if (curve > 1.5 * cw) continue; /* clamped by §4.2, not on the curve */
            double e = fabs(cw - curve) / wmax;
            if (e > run.max_curve_err) run.max_curve_err = e;
        }
        /* Ended in the convex region, above W_max. */
        assert_true(axl_tcp_cc_cwnd(&s.cc) > wmax);
        /* Against the same rules in doubles: the integer version (1/1024 s
         * time, K rounded, byte remainders carried) stays within 0.1% (worst
         * seen 0.013%). Against the closed-form curve, within 0.5% of W_max
         * (worst seen 0.12%): cwnd aims at W(t + RTT) and gets there an RTT
         * later. */
        assert_true(run.max_rel_err < 0.001);
        assert_true(run.max_curve_err < 0.005);
        /* Cubic region throughout. The model's one Reno-friendly ACK is the
         * epoch's first (t = 0: W(0) = cwnd_epoch < W_est); the module may
         * differ only within its first 2 ms, where t is still 0 or 1 tu and K
         * is rounded to the nearest tu. */
        assert_true(run.reno_acks <= 1);
        assert_true(run.disagree_t_max <= 2 * AXL_NS_PER_MS);
    }
}

/* Short RTT and small W_max: Reno-friendly region first (cwnd = W_est growing
 * 9/17 then 1 segment per RTT), the cubic curve takes over later (§4.3). */
static void test_cubic_reno_friendly_switch(void **state)
{
    (void)state;
    struct sim s;
    struct cubic_run run;
    cubic_setup(&s, &run, 1000, 10 * AXL_NS_PER_MS, 100000);
    /* One ACK per RTT for the whole window keeps the run cheap; the per-ACK
     * formulas scale with the acknowledged bytes (ABC), so this is the same
     * trajectory as per-segment ACKs. */
    s.per_ack = 1000000;
    int first_cubic = -1;
    for (int r = 0; r < 3000; r++) {
        uint32_t before = axl_tcp_cc_cwnd(&s.cc);
        sim_round(&s);
        uint32_t after = axl_tcp_cc_cwnd(&s.cc);
        if (r < 10) {
            /* Reno-friendly with alpha = 9/17 (W_est < cwnd_prior = 100 seg):
             * +0.53 segment per RTT. */
            assert_true(run.ref.reno_region);
            assert_true(after - before >= 520 && after - before <= 540);
        }
        if (!run.ref.reno_region && first_cubic < 0) first_cubic = r;
    }
    assert_true(first_cubic > 0);
    assert_true(run.reno_acks > 0 && run.cubic_acks > 0);
    /* The module switched regime on the same ACK as the model (give or take
     * one ACK at the crossing). */
    assert_int_equal(run.disagree, 0);
    assert_true(run.max_rel_err < 0.001);
    /* The switch happens where 0.4(t-K)^3 + W_max overtakes W_est: with
     * W_est ~ 70 + 100 t segments (alpha = 1 after ~0.57 s), t ~ 21 s. */
    double t_switch = first_cubic * 0.010;
    assert_true(t_switch > 15 && t_switch < 27);

    /* Long RTT, big W_max: the cubic region from the start. */
    cubic_setup(&s, &run, 1448, 300 * AXL_NS_PER_MS, 2000 * 1448);
    for (int r = 0; r < 40; r++)
        sim_round(&s);
    assert_true(run.reno_acks <= 1);
    assert_true(run.disagree_t_max <= 2 * AXL_NS_PER_MS);
    assert_true(run.mod_reno_acks < 10);
}

static void test_cubic_fast_convergence(void **state)
{
    (void)state;
    struct axl_tcp_cc cc;
    assert_int_equal(axl_tcp_cc_init(&cc, AXL_TCP_CC_CUBIC, 1000, T0), 0);
    struct axl_tcp_cc_ack a = {.now_ns = T0, .ack = 1, .acked = 1, .flight = 1};
    /* First loss at 100 segments: W_max = cwnd. */
    cc.cwnd = 100000;
    axl_tcp_cc_on_congestion(&cc, 100000, 1, AXL_TCP_CC_REC_SACK);
    assert_int_equal(cc.u.cubic.w_max, 100000);
    assert_int_equal(cc.u.cubic.cwnd_prior, 100000);
    axl_tcp_cc_on_ack(&cc, &a);
    /* Next loss below W_max (90 segments): W_max = 90 * (1 + 0.7) / 2 = 76.5
     * segments (§4.7), ssthresh = 0.7 * FlightSize. */
    cc.cwnd = 90000;
    axl_tcp_cc_on_congestion(&cc, 90000, 2, AXL_TCP_CC_REC_SACK);
    assert_int_equal(cc.u.cubic.w_max, 76500);
    assert_int_equal(cc.u.cubic.cwnd_prior, 90000);
    assert_int_equal(axl_tcp_cc_ssthresh(&cc), 63000);
    a.ack = 2;
    axl_tcp_cc_on_ack(&cc, &a);
    /* K follows the lowered W_max: cbrt((76.5 - 63) / 0.4) s. */
    cc.ssthresh = cc.cwnd;
    a.ack = 3;
    a.flight = cc.cwnd;
    axl_tcp_cc_on_ack(&cc, &a);
    assert_true(fabs(cc.u.cubic.k / 1024.0 - cbrt(13.5 / 0.4)) <= 0.5 / 1024);
    /* A loss above W_max: W_max = cwnd. */
    cc.cwnd = 120000;
    axl_tcp_cc_on_congestion(&cc, 110000, 4, AXL_TCP_CC_REC_SACK);
    assert_int_equal(cc.u.cubic.w_max, 120000);
    assert_int_equal(axl_tcp_cc_ssthresh(&cc), 77000);
}

static void test_cubic_after_rto(void **state)
{
    (void)state;
    /* §4.8: after a timeout the first congestion avoidance stage has K = 0
     * and W_max = cwnd_epoch: convex from the start. */
    struct sim s;
    sim_init(&s, AXL_TCP_CC_CUBIC, 1000, 100 * AXL_NS_PER_MS, 5);
    s.cc.cwnd = 100000;
    sim_fill(&s);
    axl_tcp_cc_on_rto(&s.cc, s.nxt - s.una, s.nxt, 0);
    assert_int_equal(axl_tcp_cc_ssthresh(&s.cc), 70000);
    assert_int_equal(axl_tcp_cc_cwnd(&s.cc), 1000);
    /* Everything outstanding is acknowledged (a go-back-N retransmission). */
    struct axl_tcp_cc_ack a = {
        .now_ns = s.now, .ack = s.nxt, .acked = s.nxt - s.una, .flight = s.nxt - s.una};
    axl_tcp_cc_on_ack(&s.cc, &a);
    s.una = s.nxt;
    sim_fill(&s);
    while (axl_tcp_cc_cwnd(&s.cc) < axl_tcp_cc_ssthresh(&s.cc))
        sim_round(&s);
    sim_round(&s);
    assert_int_equal(s.cc.u.cubic.k, 0);
    assert_int_equal(s.cc.u.cubic.w_max, 70000);
    assert_true(s.cc.u.cubic.epoch_on);
}

/* §4.2: the target is clamped to 1.5 cwnd: far into the convex region one
 * window's worth of ACKs grows cwnd by exactly half. */
static void test_cubic_target_clamp(void **state)
{
    (void)state;
    struct sim s;
    struct cubic_run run;
    cubic_setup(&s, &run, 1000, 100 * AXL_NS_PER_MS, 100000);
    s.observe = NULL;
    for (int r = 0; r < 5; r++)
        sim_round(&s);
    uint32_t before = axl_tcp_cc_cwnd(&s.cc);
    /* 60 s later, still cwnd-limited: W(t + RTT) ~ 0.4 * 56^3 segments. */
    struct axl_tcp_cc_ack a = {.now_ns = s.now + 60 * AXL_NS_PER_S,
                               .srtt_ns = s.rtt,
                               .ack = s.una + before,
                               .acked = before,
                               .flight = before};
    axl_tcp_cc_on_ack(&s.cc, &a);
    assert_int_equal(axl_tcp_cc_cwnd(&s.cc), before + before / 2);
    /* The lower clamp: a window above W(t + RTT) (set up directly: K = 0,
     * W_max below cwnd, W_est out of the way) is left alone, never shrunk
     * nor wrapped around. */
    struct axl_tcp_cc cc;
    assert_int_equal(axl_tcp_cc_init(&cc, AXL_TCP_CC_CUBIC, 1000, T0), 0);
    cc.cwnd = 120000;
    cc.ssthresh = 50000;
    cc.u.cubic.epoch_on = 1;
    cc.u.cubic.epoch_ns = cc.u.cubic.last_ns = T0;
    cc.u.cubic.k = 0;
    cc.u.cubic.w_max = 100000;
    a = (struct axl_tcp_cc_ack){.now_ns = T0 + AXL_NS_PER_MS,
                                .srtt_ns = AXL_NS_PER_MS,
                                .ack = 1,
                                .acked = 500000,
                                .flight = 120000};
    axl_tcp_cc_on_ack(&cc, &a);
    assert_int_equal(axl_tcp_cc_cwnd(&cc), 120000);
}

/* Time while app-limited or idle does not advance the curve (§5.8). */
static void test_cubic_time_exclusion(void **state)
{
    (void)state;
    struct sim a, b;
    struct cubic_run ra, rb;
    cubic_setup(&a, &ra, 1000, 100 * AXL_NS_PER_MS, 500000);
    cubic_setup(&b, &rb, 1000, 100 * AXL_NS_PER_MS, 500000);
    a.observe = b.observe = NULL;
    for (int r = 0; r < 20; r++) {
        sim_round(&a);
        sim_round(&b);
    }
    assert_int_equal(axl_tcp_cc_cwnd(&a.cc), axl_tcp_cc_cwnd(&b.cc));
    /* b: 3 s with ACKs for a trickle (not cwnd-limited), then 4 s idle. */
    uint32_t cw = axl_tcp_cc_cwnd(&b.cc);
    for (int i = 0; i < 30; i++) {
        b.now += 100 * AXL_NS_PER_MS;
        struct axl_tcp_cc_ack ack = {
            .now_ns = b.now, .srtt_ns = b.rtt, .ack = b.una, .acked = 1000, .flight = 2000};
        axl_tcp_cc_on_ack(&b.cc, &ack);
    }
    assert_int_equal(axl_tcp_cc_cwnd(&b.cc), cw);
    b.now += 4 * AXL_NS_PER_S;
    axl_tcp_cc_on_restart(&b.cc, b.now, 4 * AXL_NS_PER_S, 5 * AXL_NS_PER_S);
    assert_int_equal(axl_tcp_cc_cwnd(&b.cc), cw);
    /* Both continue identically: the 7 s did not count. */
    for (int r = 0; r < 30; r++) {
        sim_round(&a);
        sim_round(&b);
        assert_true(abs((int)axl_tcp_cc_cwnd(&a.cc) - (int)axl_tcp_cc_cwnd(&b.cc)) <= 2000);
    }
    /* An idle period beyond the RTO restarts: IW, and a new epoch later. */
    axl_tcp_cc_on_restart(&b.cc, b.now + 10 * AXL_NS_PER_S, 10 * AXL_NS_PER_S, AXL_NS_PER_S);
    assert_int_equal(axl_tcp_cc_cwnd(&b.cc), 10000);
    assert_false(b.cc.u.cubic.epoch_on);
}

/* Windows near 2^31 bytes and extreme times: no overflow, sane results. */
static void test_large_windows(void **state)
{
    (void)state;
    for (int algo = 0; algo < AXL_TCP_CC_NALGO; algo++) {
        struct axl_tcp_cc cc;
        assert_int_equal(axl_tcp_cc_init(&cc, algo, 65535, T0), 0);
        /* Slow start into the cap. */
        cc.cwnd = AXL_TCP_CC_CWND_MAX - 1000;
        struct axl_tcp_cc_ack a = {
            .now_ns = T0, .ack = 0x80000000u, .acked = 0x80000000u, .flight = UINT32_MAX};
        axl_tcp_cc_on_ack(&cc, &a);
        assert_int_equal(axl_tcp_cc_cwnd(&cc), AXL_TCP_CC_CWND_MAX);
        /* Congestion avoidance at the cap, for a long time. */
        cc.ssthresh = AXL_TCP_CC_CWND_MAX / 2;
        for (int i = 0; i < 1000; i++) {
            a.now_ns += 1000 * AXL_NS_PER_S;
            a.ack += 0x7fffffffu;
            axl_tcp_cc_on_ack(&cc, &a);
            assert_int_equal(axl_tcp_cc_cwnd(&cc), AXL_TCP_CC_CWND_MAX);
        }
        /* Loss with the largest FlightSize. */
        axl_tcp_cc_on_congestion(&cc, UINT32_MAX, a.ack, AXL_TCP_CC_REC_NEWRENO);
        uint32_t ss =
            algo == AXL_TCP_CC_CUBIC ? (uint32_t)(UINT32_MAX * 7ull / 10) : UINT32_MAX / 2;
        assert_int_equal(axl_tcp_cc_ssthresh(&cc),
                         ss > AXL_TCP_CC_CWND_MAX ? AXL_TCP_CC_CWND_MAX : ss);
        for (int i = 0; i < 100; i++)
            axl_tcp_cc_on_dupack(&cc);
        assert_int_equal(axl_tcp_cc_cwnd(&cc), AXL_TCP_CC_CWND_MAX);
    }
    /* CUBIC: W_max 2^31 with a 1-byte MSS (the largest K operand), then
     * centuries of convex growth: the target clamps at 1.5 cwnd, cwnd at the
     * cap, never wrapping. */
    struct axl_tcp_cc cc;
    assert_int_equal(axl_tcp_cc_init(&cc, AXL_TCP_CC_CUBIC, 1, T0), 0);
    cc.cwnd = AXL_TCP_CC_CWND_MAX;
    axl_tcp_cc_on_congestion(&cc, AXL_TCP_CC_CWND_MAX, 1, AXL_TCP_CC_REC_SACK);
    struct axl_tcp_cc_ack a = {.now_ns = T0, .srtt_ns = AXL_NS_PER_S, .ack = 1, .acked = 1};
    axl_tcp_cc_on_ack(&cc, &a);
    cc.ssthresh = 2;
    uint32_t prev = axl_tcp_cc_cwnd(&cc);
    uint64_t now = T0;
    for (int i = 0; i < 200; i++) {
        now += (uint64_t)1 << (i % 62);
        if (now < T0) now = UINT64_MAX - 1;
        a = (struct axl_tcp_cc_ack){.now_ns = now,
                                    .srtt_ns = UINT64_MAX / 4,
                                    .ack = 2 + (uint32_t)i,
                                    .acked = 0x7fffffffu,
                                    .flight = AXL_TCP_CC_CWND_MAX};
        axl_tcp_cc_on_ack(&cc, &a);
        uint32_t cw = axl_tcp_cc_cwnd(&cc);
        assert_true(cw >= prev && cw <= AXL_TCP_CC_CWND_MAX);
        prev = cw;
    }
    assert_int_equal(prev, AXL_TCP_CC_CWND_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_initial_window),
        cmocka_unit_test(test_slow_start_doubling),
        cmocka_unit_test(test_app_limited_no_growth),
        cmocka_unit_test(test_reno_congestion_avoidance),
        cmocka_unit_test(test_newreno_fast_recovery),
        cmocka_unit_test(test_sack_recovery_window),
        cmocka_unit_test(test_floors_and_rto),
        cmocka_unit_test(test_restart_after_idle),
        cmocka_unit_test(test_icbrt),
        cmocka_unit_test(test_cubic_k),
        cmocka_unit_test(test_cubic_trajectory),
        cmocka_unit_test(test_cubic_reno_friendly_switch),
        cmocka_unit_test(test_cubic_fast_convergence),
        cmocka_unit_test(test_cubic_after_rto),
        cmocka_unit_test(test_cubic_target_clamp),
        cmocka_unit_test(test_cubic_time_exclusion),
        cmocka_unit_test(test_large_windows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
