/* SPDX-License-Identifier: MIT */
/*
 * test_tcp_rtt.c - unit tests of the RFC 6298 RTO estimator (net/tcp_rtt.c):
 * random sample sequences against the RFC formulas evaluated in double
 * precision, first-sample rule (§2.2), G dominating a zero variance, the min
 * and max clamps (§2.4/§2.5), back-off doubling and its cap (§5.5), Karn's
 * algorithm (§3) with and without timestamps, the §5.7 3 s fallback, and
 * configuration validation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/rand.h"
#include "net/tcp_rtt.h"

/* The RFC, literally, in doubles. */
struct ref_rtt {
    double srtt, rttvar, rto;
    int have;
};

static double ref_clamp(double rto, double min, double max)
{
    return rto < min ? min : rto > max ? max : rto;
}

static void ref_sample(struct ref_rtt *m, double r, double g, double min, double max)
{
    if (!m->have) {
        m->srtt = r;
        m->rttvar = r / 2;
        m->have = 1;
    } else {
        m->rttvar = 0.75 * m->rttvar + 0.25 * fabs(m->srtt - r);
        m->srtt = 0.875 * m->srtt + 0.125 * r;
    }
    m->rto = ref_clamp(m->srtt + fmax(g, 4 * m->rttvar), min, max);
}

/* Fixed-point error bound: each update truncates < 1/8 ns per term; the
 * geometric decay keeps the total below 2 ns on SRTT and RTTVAR, and RTO
 * (K = 4, rounded up) within 10 ns. */
#define TOL_NS  2.0
#define TOL_RTO 10.0

static void check_against_ref(uint64_t seed, uint64_t lo_ns, uint64_t hi_ns,
                              const struct axl_tcp_rtt_cfg *cfg)
{
    struct axl_rand rng;
    axl_rand_seed(&rng, seed);
    struct axl_tcp_rtt r;
    assert_int_equal(axl_tcp_rtt_init(&r, cfg), 0);
    struct ref_rtt m = {0};
    double g = (double)cfg->g_ns, min = (double)cfg->min_rto_ns, max = (double)cfg->max_rto_ns;
    for (int i = 0; i < 5000; i++) {
        uint64_t s = lo_ns + axl_rand_u64(&rng) % (hi_ns - lo_ns + 1);
        if (i % 97 == 50) s = hi_ns; /* occasional spikes to exercise RTTVAR */
        assert_int_equal(axl_tcp_rtt_sample(&r, s, AXL_TCP_RTT_SRC_FRESH), 1);
        ref_sample(&m, (double)s, g, min, max);
        double srtt = (double)r.srtt / 8.0, var = (double)r.rttvar / 8.0;
        assert_true(fabs(srtt - m.srtt) <= TOL_NS);
        assert_true(fabs(var - m.rttvar) <= TOL_NS);
        double rto = (double)axl_tcp_rtt_rto_ns(&r);
        assert_true(fabs(rto - m.rto) <= TOL_RTO);
        assert_true(rto >= min && rto <= max);
    }
}

static void test_against_rfc_formulas(void **state)
{
    (void)state;
    struct axl_tcp_rtt_cfg cfg;
    axl_tcp_rtt_cfg_default(&cfg);
    /* Datacenter (20-200 us: the 200 ms floor rules), WAN (10-400 ms: the
     * formula rules), and very long paths (1-90 s: the 60 s cap rules). */
    check_against_ref(1, 20 * AXL_NS_PER_US, 200 * AXL_NS_PER_US, &cfg);
    check_against_ref(2, 10 * AXL_NS_PER_MS, 400 * AXL_NS_PER_MS, &cfg);
    check_against_ref(3, 1 * AXL_NS_PER_S, 90 * AXL_NS_PER_S, &cfg);
    /* No floor at all and a fine G: the fixed point itself is exposed. */
    cfg.min_rto_ns = 0;
    cfg.initial_rto_ns = 0;
    cfg.g_ns = 1000;
    check_against_ref(4, 1, 5000, &cfg);
    check_against_ref(5, 50 * AXL_NS_PER_US, 3 * AXL_NS_PER_MS, &cfg);
    /* A coarse clock: G = 10 ms dominates K*RTTVAR for steady RTTs. */
    axl_tcp_rtt_cfg_default(&cfg);
    cfg.g_ns = 10 * AXL_NS_PER_MS;
    cfg.min_rto_ns = 0;
    check_against_ref(6, 300 * AXL_NS_PER_MS, 301 * AXL_NS_PER_MS, &cfg);
}

static void test_initial_and_first_sample(void **state)
{
    (void)state;
    struct axl_tcp_rtt r;
    assert_int_equal(axl_tcp_rtt_init(&r, NULL), 0);
    /* RFC 6298 §2.1: 1 s before any sample. */
    assert_int_equal(axl_tcp_rtt_rto_ns(&r), AXL_NS_PER_S);
    assert_int_equal(axl_tcp_rtt_srtt_ns(&r), 0);
    /* §2.2: SRTT = R, RTTVAR = R/2, RTO = R + max(G, 2R) = 3R. */
    assert_int_equal(axl_tcp_rtt_sample(&r, 100 * AXL_NS_PER_MS, AXL_TCP_RTT_SRC_FRESH), 1);
    assert_int_equal(axl_tcp_rtt_srtt_ns(&r), 100 * AXL_NS_PER_MS);
    assert_int_equal(axl_tcp_rtt_rttvar_ns(&r), 50 * AXL_NS_PER_MS);
    assert_int_equal(axl_tcp_rtt_rto_ns(&r), 300 * AXL_NS_PER_MS);
    /* §2.3 by hand: R' = 200 ms. RTTVAR = 3/4*50 + 1/4*100 = 62.5 ms,
     * SRTT = 7/8*100 + 1/8*200 = 112.5 ms, RTO = 112.5 + 250 = 362.5 ms. */
    assert_int_equal(axl_tcp_rtt_sample(&r, 200 * AXL_NS_PER_MS, AXL_TCP_RTT_SRC_FRESH), 1);
    assert_int_equal(axl_tcp_rtt_srtt_ns(&r), 112500 * AXL_NS_PER_US);
    assert_int_equal(axl_tcp_rtt_rttvar_ns(&r), 62500 * AXL_NS_PER_US);
    assert_int_equal(axl_tcp_rtt_rto_ns(&r), 362500 * AXL_NS_PER_US);
}

static void test_clamps(void **state)
{
    (void)state;
    struct axl_tcp_rtt r;
    assert_int_equal(axl_tcp_rtt_init(&r, NULL), 0);
    /* Tiny RTT: the formula gives ~3 us + G; the 200 ms floor applies. */
    assert_int_equal(axl_tcp_rtt_sample(&r, 1000, AXL_TCP_RTT_SRC_FRESH), 1);
    assert_int_equal(axl_tcp_rtt_rto_ns(&r), AXL_TCP_RTT_MIN_RTO_NS);
    /* The floor is a parameter: the RFC's 1 s SHOULD. */
    struct axl_tcp_rtt_cfg cfg;
    axl_tcp_rtt_cfg_default(&cfg);
    cfg.min_rto_ns = AXL_NS_PER_S;
    assert_int_equal(axl_tcp_rtt_init(&r, &cfg), 0);
    assert_int_equal(axl_tcp_rtt_sample(&r, 10 * AXL_NS_PER_MS, AXL_TCP_RTT_SRC_FRESH), 1);
    assert_int_equal(axl_tcp_rtt_rto_ns(&r), AXL_NS_PER_S);
    /* Huge RTT: 3 * 30 s = 90 s is capped at 60 s (§2.5). */
    assert_int_equal(axl_tcp_rtt_init(&r, NULL), 0);
    assert_int_equal(axl_tcp_rtt_sample(&r, 30 * AXL_NS_PER_S, AXL_TCP_RTT_SRC_FRESH), 1);
    assert_int_equal(axl_tcp_rtt_rto_ns(&r), 60 * AXL_NS_PER_S);
    /* G dominates when the variance collapses: constant RTT drives RTTVAR to
     * ~0, so RTO -> SRTT + G. */
    cfg.min_rto_ns = 0;
    cfg.g_ns = 5 * AXL_NS_PER_MS;
    cfg.initial_rto_ns = AXL_NS_PER_S;
    assert_int_equal(axl_tcp_rtt_init(&r, &cfg), 0);
    for (int i = 0; i < 200; i++)
        assert_int_equal(axl_tcp_rtt_sample(&r, 40 * AXL_NS_PER_MS, AXL_TCP_RTT_SRC_FRESH), 1);
    assert_int_equal(axl_tcp_rtt_rto_ns(&r), 45 * AXL_NS_PER_MS);
    /* Out-of-range samples are refused and change nothing. */
    assert_int_equal(axl_tcp_rtt_sample(&r, AXL_TCP_RTT_SAMPLE_MAX_NS + 1, AXL_TCP_RTT_SRC_FRESH),
                     AXL_EINVAL);
    assert_int_equal(axl_tcp_rtt_sample(&r, 1, (enum axl_tcp_rtt_src)7), AXL_EINVAL);
    assert_int_equal(axl_tcp_rtt_rto_ns(&r), 45 * AXL_NS_PER_MS);
    /* The largest accepted sample keeps the arithmetic in range. */
    assert_int_equal(axl_tcp_rtt_sample(&r, AXL_TCP_RTT_SAMPLE_MAX_NS, AXL_TCP_RTT_SRC_FRESH), 1);
    assert_int_equal(axl_tcp_rtt_rto_ns(&r), 60 * AXL_NS_PER_S);
}

static void test_backoff(void **state)
{
    (void)state;
    struct axl_tcp_rtt r;
    assert_int_equal(axl_tcp_rtt_init(&r, NULL), 0);
    assert_int_equal(axl_tcp_rtt_sample(&r, 100 * AXL_NS_PER_MS, AXL_TCP_RTT_SRC_FRESH), 1);
    uint64_t base = axl_tcp_rtt_rto_ns(&r);
    assert_int_equal(base, 300 * AXL_NS_PER_MS);
    /* §5.5: doubling per expiry ... */
    uint64_t want = base;
    for (unsigned i = 1; i <= 7; i++) {
        want *= 2;
        assert_int_equal(axl_tcp_rtt_backoff(&r), want);
        assert_int_equal(axl_tcp_rtt_rto_ns(&r), want);
        assert_int_equal(axl_tcp_rtt_backoffs(&r), i);
    }
    /* ... 300 ms * 2^8 = 76.8 s is past the 60 s cap (§2.5), and the cap
     * holds for any number of further expiries (no shift overflow). */
    assert_int_equal(axl_tcp_rtt_backoff(&r), 60 * AXL_NS_PER_S);
    for (int i = 0; i < 300; i++)
        assert_int_equal(axl_tcp_rtt_backoff(&r), 60 * AXL_NS_PER_S);
    assert_int_equal(axl_tcp_rtt_backoffs(&r), 255);
    /* Karn (§3): a sample from a retransmitted segment is discarded and the
     * backed-off RTO stays. */
    assert_int_equal(axl_tcp_rtt_sample(&r, 100 * AXL_NS_PER_MS, AXL_TCP_RTT_SRC_RETRANSMITTED), 0);
    assert_int_equal(axl_tcp_rtt_rto_ns(&r), 60 * AXL_NS_PER_S);
    assert_int_equal(axl_tcp_rtt_srtt_ns(&r), 100 * AXL_NS_PER_MS);
    /* A fresh sample collapses the back-off (§5 note after 5.7). */
    assert_int_equal(axl_tcp_rtt_sample(&r, 100 * AXL_NS_PER_MS, AXL_TCP_RTT_SRC_FRESH), 1);
    assert_int_equal(axl_tcp_rtt_backoffs(&r), 0);
    assert_true(axl_tcp_rtt_rto_ns(&r) < 300 * AXL_NS_PER_MS);
    /* With timestamps a retransmitted segment's echo is a valid sample. */
    axl_tcp_rtt_backoff(&r);
    axl_tcp_rtt_backoff(&r);
    assert_int_equal(axl_tcp_rtt_sample(&r, 100 * AXL_NS_PER_MS, AXL_TCP_RTT_SRC_TIMESTAMP), 1);
    assert_int_equal(axl_tcp_rtt_backoffs(&r), 0);
    /* Explicit reset. */
    uint64_t cur = axl_tcp_rtt_rto_ns(&r);
    axl_tcp_rtt_backoff(&r);
    assert_int_equal(axl_tcp_rtt_rto_ns(&r), 2 * cur);
    axl_tcp_rtt_reset_backoff(&r);
    assert_int_equal(axl_tcp_rtt_rto_ns(&r), cur);
    /* Before any sample the initial 1 s backs off too: 1, 2, 4, ... 32, 60. */
    assert_int_equal(axl_tcp_rtt_init(&r, NULL), 0);
    uint64_t w = AXL_NS_PER_S;
    for (int i = 0; i < 5; i++) {
        w *= 2;
        assert_int_equal(axl_tcp_rtt_backoff(&r), w);
    }
    assert_int_equal(axl_tcp_rtt_backoff(&r), 60 * AXL_NS_PER_S);
}

static void test_syn_fallback(void **state)
{
    (void)state;
    struct axl_tcp_rtt r;
    /* SYN timed out once (RTO 1 s -> 2 s); the handshake then completes with
     * no valid sample (Karn): RTO re-initialised to 3 s (RFC 6298 §5.7). */
    assert_int_equal(axl_tcp_rtt_init(&r, NULL), 0);
    assert_int_equal(axl_tcp_rtt_backoff(&r), 2 * AXL_NS_PER_S);
    assert_int_equal(axl_tcp_rtt_sample(&r, 1500 * AXL_NS_PER_MS, AXL_TCP_RTT_SRC_RETRANSMITTED),
                     0);
    axl_tcp_rtt_handshake_done(&r, 1);
    assert_int_equal(axl_tcp_rtt_rto_ns(&r), 3 * AXL_NS_PER_S);
    assert_int_equal(axl_tcp_rtt_backoffs(&r), 0);
    /* The first real sample then replaces it (§2.2). */
    assert_int_equal(axl_tcp_rtt_sample(&r, 10 * AXL_NS_PER_MS, AXL_TCP_RTT_SRC_FRESH), 1);
    assert_int_equal(axl_tcp_rtt_rto_ns(&r), AXL_TCP_RTT_MIN_RTO_NS);
    /* No SYN loss: the RTO is left alone. */
    assert_int_equal(axl_tcp_rtt_init(&r, NULL), 0);
    axl_tcp_rtt_handshake_done(&r, 0);
    assert_int_equal(axl_tcp_rtt_rto_ns(&r), AXL_NS_PER_S);
    /* An RTO already >= 3 s (a timestamp sample from a slow path) is kept. */
    assert_int_equal(axl_tcp_rtt_init(&r, NULL), 0);
    assert_int_equal(axl_tcp_rtt_sample(&r, 2 * AXL_NS_PER_S, AXL_TCP_RTT_SRC_TIMESTAMP), 1);
    axl_tcp_rtt_handshake_done(&r, 1);
    assert_int_equal(axl_tcp_rtt_rto_ns(&r), 6 * AXL_NS_PER_S);
}

static void test_cfg_validation(void **state)
{
    (void)state;
    struct axl_tcp_rtt r;
    struct axl_tcp_rtt_cfg c;
    axl_tcp_rtt_cfg_default(&c);
    assert_int_equal(axl_tcp_rtt_init(&r, &c), 0);
    c.max_rto_ns = 59 * AXL_NS_PER_S; /* §2.5: at least 60 s */
    assert_int_equal(axl_tcp_rtt_init(&r, &c), AXL_EINVAL);
    axl_tcp_rtt_cfg_default(&c);
    c.min_rto_ns = 2 * AXL_NS_PER_S; /* initial below min */
    assert_int_equal(axl_tcp_rtt_init(&r, &c), AXL_EINVAL);
    axl_tcp_rtt_cfg_default(&c);
    c.max_rto_ns = AXL_TCP_RTT_CFG_MAX_NS + AXL_NS_PER_MS;
    assert_int_equal(axl_tcp_rtt_init(&r, &c), AXL_EINVAL);
    axl_tcp_rtt_cfg_default(&c);
    c.g_ns = 1500; /* not a whole us */
    assert_int_equal(axl_tcp_rtt_init(&r, &c), AXL_EINVAL);
    axl_tcp_rtt_cfg_default(&c);
    c.max_rto_ns = 120 * AXL_NS_PER_S; /* Linux's TCP_RTO_MAX is fine */
    assert_int_equal(axl_tcp_rtt_init(&r, &c), 0);
    assert_int_equal(axl_tcp_rtt_sample(&r, 50 * AXL_NS_PER_S, AXL_TCP_RTT_SRC_FRESH), 1);
    assert_int_equal(axl_tcp_rtt_rto_ns(&r), 120 * AXL_NS_PER_S);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_rfc_formulas),
        cmocka_unit_test(test_initial_and_first_sample),
        cmocka_unit_test(test_clamps),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_syn_fallback),
        cmocka_unit_test(test_cfg_validation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
