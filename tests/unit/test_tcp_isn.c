/* SPDX-License-Identifier: MIT */
/*
 * test_tcp_isn.c - RFC 6528 ISNs and SYN cookies (src/net/tcp_isn.c).
 * ISNs: advance with the 4 µs clock per tuple, differ across tuples, keys and
 * directions. Cookies: round-trip for every MSS index and option combination,
 * refused when any tuple field, the peer ISN, the key or the echoed option
 * bits differ, accepted across one period boundary and refused two periods
 * later; random forgeries pass no more often than a 27-bit MAC allows.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/rand.h"
#include "net/tcp_isn.h"
#include "wire/tcp.h"

#define SEC    1000000000ull
#define PERIOD AXL_TCP_COOKIE_PERIOD_NS

static void fixed_secret(struct axl_tcp_secret *s, uint8_t seed)
{
    for (unsigned i = 0; i < sizeof(s->isn_key); i++) {
        s->isn_key[i] = (uint8_t)(seed + i);
        s->cookie_key[i] = (uint8_t)(seed * 7 + 3 * i + 1);
    }
}

static const struct axl_tcp_tuple T0 = {
    .laddr = 0xc6120001u, .raddr = 0xc6120002u, .lport = 80, .rport = 40000};

static void test_secret_init(void **state)
{
    (void)state;
    struct axl_tcp_secret a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    assert_int_equal(axl_tcp_secret_init(&a), 0);
    assert_int_equal(axl_tcp_secret_init(&b), 0);
    static const uint8_t zero[16];
    assert_memory_not_equal(a.isn_key, zero, 16);
    assert_memory_not_equal(a.cookie_key, zero, 16);
    assert_memory_not_equal(a.isn_key, a.cookie_key, 16);
    assert_memory_not_equal(&a, &b, sizeof(a));
}

/* Per tuple, the ISN is F + now/4µs: the difference between two calls is the
 * elapsed ticks modulo 2^32, so it only moves forward in sequence space for
 * gaps below 2^31 ticks (~2.4 h). */
static void test_isn_clock(void **state)
{
    (void)state;
    struct axl_tcp_secret s;
    fixed_secret(&s, 1);
    struct axl_rand r;
    axl_rand_seed(&r, 42);
    uint64_t now = 5 * SEC;
    uint32_t prev = axl_tcp_isn(&s, &T0, now);
    for (int i = 0; i < 10000; i++) {
        uint64_t dt = axl_rand_u64(&r) % (3600 * SEC);
        now += dt;
        uint32_t isn = axl_tcp_isn(&s, &T0, now);
        uint32_t ticks =
            (uint32_t)(now / AXL_TCP_ISN_TICK_NS) - (uint32_t)((now - dt) / AXL_TCP_ISN_TICK_NS);
        assert_int_equal(isn - prev, ticks);
        if (ticks) assert_true(axl_seq_gt(isn, prev));
        prev = isn;
    }
    /* same instant, same tuple, same key: same ISN; 4 µs later: + 1 */
    assert_int_equal(axl_tcp_isn(&s, &T0, 1000 * SEC), axl_tcp_isn(&s, &T0, 1000 * SEC));
    assert_int_equal(axl_tcp_isn(&s, &T0, 1000 * SEC + 4000) - axl_tcp_isn(&s, &T0, 1000 * SEC), 1);
    assert_int_equal(axl_tcp_isn(&s, &T0, 1000 * SEC + 3999), axl_tcp_isn(&s, &T0, 1000 * SEC));
    /* M wraps after 2^32 ticks (~4.77 h) */
    uint64_t wrap = (1ull << 32) * AXL_TCP_ISN_TICK_NS;
    assert_int_equal(axl_tcp_isn(&s, &T0, 7 * SEC + wrap), axl_tcp_isn(&s, &T0, 7 * SEC));
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The secret part F differs across tuples (each field matters), directions
 * and keys, and is not guessable from M. */
static void test_isn_tuples_and_keys(void **state)
{
    (void)state;
    struct axl_tcp_secret s, s2;
    fixed_secret(&s, 1);
    fixed_secret(&s2, 2);
    const uint64_t now = 77 * SEC;
    uint32_t base = axl_tcp_isn(&s, &T0, now);
    assert_int_not_equal(base, (uint32_t)(now / AXL_TCP_ISN_TICK_NS));
    assert_int_not_equal(base, axl_tcp_isn(&s2, &T0, now));
    struct axl_tcp_tuple rev = {T0.raddr, T0.laddr, T0.rport, T0.lport};
    assert_int_not_equal(base, axl_tcp_isn(&s, &rev, now));

    /* 4096 tuples that differ from T0 in one field each (every bit of every
     * field, then consecutive client ports): all ISNs distinct. With a
     * fixed key this is deterministic; a 32-bit PRF collides among 4096
     * values with probability ~0.2%, and the keys above were checked. */
    enum { N = 4096 };
    static uint32_t isns[N];
    unsigned n = 0;
    isns[n++] = base;
    for (unsigned bit = 0; bit < 32; bit++) {
        struct axl_tcp_tuple t = T0;
        t.laddr ^= 1u << bit;
        isns[n++] = axl_tcp_isn(&s, &t, now);
        t = T0;
        t.raddr ^= 1u << bit;
        isns[n++] = axl_tcp_isn(&s, &t, now);
    }
    for (unsigned bit = 0; bit < 16; bit++) {
        struct axl_tcp_tuple t = T0;
        t.lport ^= (uint16_t)(1u << bit);
        isns[n++] = axl_tcp_isn(&s, &t, now);
        t = T0;
        t.rport ^= (uint16_t)(1u << bit);
        isns[n++] = axl_tcp_isn(&s, &t, now);
    }
    for (uint16_t p = 1; n < N; p++) {
        struct axl_tcp_tuple t = T0;
        t.rport = (uint16_t)(50000 + p);
        isns[n++] = axl_tcp_isn(&s, &t, now);
    }
    qsort(isns, N, sizeof(isns[0]), cmp_u32);
    for (unsigned i = 1; i < N; i++)
        assert_int_not_equal(isns[i], isns[i - 1]);
}

static void test_cookie_mss_table(void **state)
{
    (void)state;
    struct axl_tcp_secret s;
    fixed_secret(&s, 3);
    static const struct {
        uint16_t offered, got;
    } cases[] = {
        {0, 536},     {1, 536},     {535, 536},   {536, 536},   {1219, 536},  {1220, 1220},
        {1359, 1220}, {1360, 1360}, {1400, 1400}, {1439, 1400}, {1440, 1440}, {1460, 1460},
        {1461, 1460}, {4311, 1460}, {4312, 4312}, {8959, 4312}, {8960, 8960}, {65535, 8960},
    };
    for (size_t i = 0; i < AXL_ARRAY_SIZE(cases); i++) {
        struct axl_tcp_syn_opts in = {.mss = cases[i].offered}, out;
        uint32_t c = axl_tcp_cookie_make(&s, &T0, 1234, &in, 100 * SEC, 0, NULL);
        assert_int_equal(axl_tcp_cookie_check(&s, &T0, c, 1234, 0, 0, 100 * SEC, &out), 0);
        assert_int_equal(out.mss, cases[i].got);
    }
    for (unsigned i = 1; i < AXL_TCP_COOKIE_NMSS; i++)
        assert_true(axl_tcp_cookie_mss(i) > axl_tcp_cookie_mss(i - 1));
}

/* Every MSS index x {no TS, TS x SACK x ECN x WS none/0..14}. */
static void test_cookie_roundtrip_all_options(void **state)
{
    (void)state;
    struct axl_tcp_secret s;
    fixed_secret(&s, 4);
    unsigned n = 0;
    for (unsigned idx = 0; idx < AXL_TCP_COOKIE_NMSS; idx++) {
        for (unsigned ts = 0; ts < 2; ts++) {
            for (unsigned m = 0; m < 4; m++) {
                for (int ws = -1; ws <= 15; ws++) {
                    struct axl_tcp_syn_opts in = {
                        .mss = axl_tcp_cookie_mss(idx),
                        .ts_ok = (uint8_t)ts,
                        .sack_ok = m & 1,
                        .ecn_ok = (m >> 1) & 1,
                        .ws_ok = ws >= 0,
                        .ws_shift = (uint8_t)(ws >= 0 ? ws : 0),
                    };
                    uint32_t peer_isn = 0xfffffff0u + n;
                    uint32_t ts_now = 0x12345678u * n;
                    uint64_t now = 1000 * SEC + n * 977 * 1000000ull;
                    uint32_t tsval = 0;
                    uint32_t c = axl_tcp_cookie_make(&s, &T0, peer_isn, &in, now, ts_now, &tsval);
                    assert_int_equal(c >> 27 & 7, idx);
                    if (ts) {
                        /* at most 63 ticks behind our TS clock, never ahead */
                        assert_true(axl_seq_le(tsval, ts_now));
                        assert_true(ts_now - tsval < 64);
                    }
                    struct axl_tcp_syn_opts out;
                    memset(&out, 0xa5, sizeof(out));
                    assert_int_equal(
                        axl_tcp_cookie_check(&s, &T0, c, peer_isn, (int)ts, tsval, now, &out), 0);
                    assert_int_equal(out.mss, axl_tcp_cookie_mss(idx));
                    assert_int_equal(out.ts_ok, ts);
                    if (ts) {
                        assert_int_equal(out.sack_ok, in.sack_ok);
                        assert_int_equal(out.ecn_ok, in.ecn_ok);
                        assert_int_equal(out.ws_ok, in.ws_ok);
                        /* a shift of 15 is used as 14 (RFC 7323 §2.3) */
                        if (in.ws_ok) assert_int_equal(out.ws_shift, ws > 14 ? 14 : ws);
                    } else {
                        /* without timestamps these options are lost */
                        assert_false(out.sack_ok || out.ecn_ok || out.ws_ok);
                        assert_int_equal(out.ws_shift, 0);
                    }
                    n++;
                }
            }
        }
    }
}

static void test_cookie_rejects_other_inputs(void **state)
{
    (void)state;
    struct axl_tcp_secret s, other;
    fixed_secret(&s, 5);
    fixed_secret(&other, 6);
    struct axl_tcp_syn_opts in = {.mss = 1460, .ts_ok = 1, .sack_ok = 1, .ws_ok = 1, .ws_shift = 7},
                            out;
    const uint64_t now = 500 * SEC;
    const uint32_t peer = 0x89abcdefu;
    uint32_t tsval;
    uint32_t c = axl_tcp_cookie_make(&s, &T0, peer, &in, now, 0x11111111u, &tsval);
    assert_int_equal(axl_tcp_cookie_check(&s, &T0, c, peer, 1, tsval, now, &out), 0);
    for (unsigned bit = 0; bit < 32; bit++) {
        struct axl_tcp_tuple t = T0;
        t.laddr ^= 1u << bit;
        assert_int_equal(axl_tcp_cookie_check(&s, &t, c, peer, 1, tsval, now, &out), AXL_EINVAL);
        t = T0;
        t.raddr ^= 1u << bit;
        assert_int_equal(axl_tcp_cookie_check(&s, &t, c, peer, 1, tsval, now, &out), AXL_EINVAL);
        if (bit < 16) {
            t = T0;
            t.lport ^= (uint16_t)(1u << bit);
            assert_int_equal(axl_tcp_cookie_check(&s, &t, c, peer, 1, tsval, now, &out),
                             AXL_EINVAL);
            t = T0;
            t.rport ^= (uint16_t)(1u << bit);
            assert_int_equal(axl_tcp_cookie_check(&s, &t, c, peer, 1, tsval, now, &out),
                             AXL_EINVAL);
        }
        /* the peer's ISN */
        assert_int_equal(axl_tcp_cookie_check(&s, &T0, c, peer ^ (1u << bit), 1, tsval, now, &out),
                         AXL_EINVAL);
        /* the cookie itself (counter, mss index and MAC bits) */
        assert_int_equal(axl_tcp_cookie_check(&s, &T0, c ^ (1u << bit), peer, 1, tsval, now, &out),
                         AXL_EINVAL);
        /* the option bits the peer echoes; higher TSecr bits are not ours */
        int want = bit < AXL_TCP_COOKIE_TS_BITS ? AXL_EINVAL : 0;
        assert_int_equal(axl_tcp_cookie_check(&s, &T0, c, peer, 1, tsval ^ (1u << bit), now, &out),
                         want);
    }
    /* swapped direction, another key, timestamps dropped from the ACK */
    struct axl_tcp_tuple rev = {T0.raddr, T0.laddr, T0.rport, T0.lport};
    assert_int_equal(axl_tcp_cookie_check(&s, &rev, c, peer, 1, tsval, now, &out), AXL_EINVAL);
    assert_int_equal(axl_tcp_cookie_check(&other, &T0, c, peer, 1, tsval, now, &out), AXL_EINVAL);
    assert_int_equal(axl_tcp_cookie_check(&s, &T0, c, peer, 0, 0, now, &out), AXL_EINVAL);
    /* and the reverse: made without timestamps, ACK claims some */
    in.ts_ok = 0;
    c = axl_tcp_cookie_make(&s, &T0, peer, &in, now, 0, NULL);
    assert_int_equal(axl_tcp_cookie_check(&s, &T0, c, peer, 0, 0, now, &out), 0);
    assert_int_equal(axl_tcp_cookie_check(&s, &T0, c, peer, 1, 0x0f, now, &out), AXL_EINVAL);
    /* the ISN of a cookie is not the RFC 6528 ISN, and cookie MACs use their
     * own key: the same tuple under a key whose isn_key matches but
     * cookie_key differs is refused */
    struct axl_tcp_secret half = s;
    half.cookie_key[0] ^= 1;
    assert_int_equal(axl_tcp_cookie_check(&half, &T0, c, peer, 0, 0, now, &out), AXL_EINVAL);
}

/* Made in period p: accepted through the end of period p + 1, refused from
 * p + 2 on (and before p). */
static void test_cookie_lifetime(void **state)
{
    (void)state;
    struct axl_tcp_secret s;
    fixed_secret(&s, 7);
    struct axl_tcp_syn_opts in = {.mss = 1460}, out;
    for (uint64_t p = 0; p < 12; p++) {
        uint64_t made_at[] = {p * PERIOD, p * PERIOD + PERIOD / 2, (p + 1) * PERIOD - 1};
        for (size_t k = 0; k < AXL_ARRAY_SIZE(made_at); k++) {
            uint64_t t0 = made_at[k];
            uint32_t c = axl_tcp_cookie_make(&s, &T0, 99, &in, t0, 0, NULL);
            /* same instant, end of the period, across one boundary, end of next */
            uint64_t ok[] = {t0, (p + 1) * PERIOD - 1, (p + 1) * PERIOD, (p + 2) * PERIOD - 1};
            for (size_t j = 0; j < AXL_ARRAY_SIZE(ok); j++)
                assert_int_equal(axl_tcp_cookie_check(&s, &T0, c, 99, 0, 0, ok[j], &out), 0);
            /* two, three, four and more periods later */
            for (uint64_t later = 2; later < 9; later++) {
                uint64_t at = (p + later) * PERIOD + (k * PERIOD) / 3;
                assert_int_equal(axl_tcp_cookie_check(&s, &T0, c, 99, 0, 0, at, &out), AXL_EINVAL);
            }
            /* before it was made (a clock going back, or a forgery) */
            if (p > 0)
                assert_int_equal(axl_tcp_cookie_check(&s, &T0, c, 99, 0, 0, p * PERIOD - 1, &out),
                                 AXL_EINVAL);
        }
    }
}

/* Random cookies (and random echoed TSecr) for a fixed tuple and peer ISN:
 * a forgery needs the counter bits in window (1/2) and 27 MAC bits right, so
 * 1e6 tries should let about 0.004 through. More than 2 means the MAC is
 * weaker than documented. */
static void test_cookie_forgery_rate(void **state)
{
    (void)state;
    struct axl_tcp_secret s;
    fixed_secret(&s, 8);
    struct axl_rand r;
    axl_rand_seed(&r, 2024);
    struct axl_tcp_syn_opts out;
    const uint64_t now = 3 * PERIOD + 5 * SEC;
    unsigned accepted = 0;
    for (unsigned i = 0; i < 1000000; i++) {
        uint64_t x = axl_rand_u64(&r);
        int has_ts = (int)(x >> 63);
        if (axl_tcp_cookie_check(&s, &T0, (uint32_t)x, 0x5eed, has_ts, (uint32_t)(x >> 32), now,
                                 &out) == 0)
            accepted++;
    }
    assert_true(accepted <= 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_secret_init),
        cmocka_unit_test(test_isn_clock),
        cmocka_unit_test(test_isn_tuples_and_keys),
        cmocka_unit_test(test_cookie_mss_table),
        cmocka_unit_test(test_cookie_roundtrip_all_options),
        cmocka_unit_test(test_cookie_rejects_other_inputs),
        cmocka_unit_test(test_cookie_lifetime),
        cmocka_unit_test(test_cookie_forgery_rate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
