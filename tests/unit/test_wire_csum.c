/* SPDX-License-Identifier: MIT */
/*
 * test_wire_csum.c - the Internet checksum (src/wire/csum.c) against a naive
 * big-endian reference over random buffers of every length 0..1600 at every
 * alignment 0..7, chaining, the pseudo-header, the RFC 1071 §3 example and
 * RFC 1624 incremental updates (including its §4 example).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/rand.h"
#include "wire/csum.h"

/* Un-complemented ones'-complement sum of big-endian words, 16 bits. */
static uint32_t ref_sum(const uint8_t *p, size_t n, uint32_t sum)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1) sum += (uint32_t)p[n - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return sum;
}

static void test_rfc1071_example(void **state)
{
    (void)state;
    /* RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2 */
    static const uint8_t b[8] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    assert_int_equal(axl_csum_add32(0, axl_csum_partial(b, 8, 0)), 0xddf2);
    assert_int_equal(axl_csum(b, 8), 0x220d);
    assert_int_equal(axl_csum(b, 0), 0xffff);
}

static void test_against_reference_all_lengths_alignments(void **state)
{
    (void)state;
    static uint8_t buf[1600 + 16];
    struct axl_rand r;
    axl_rand_seed(&r, 1071);
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)axl_rand_u64(&r);
    for (size_t align = 0; align < 8; align++) {
        for (size_t len = 0; len <= 1600; len++) {
            uint32_t want = ref_sum(buf + align, len, 0);
            uint32_t got = axl_csum_add32(0, axl_csum_partial(buf + align, len, 0));
            if (want != got && !(want == 0xffff && got == 0) && !(want == 0 && got == 0xffff))
                fail_msg("align %zu len %zu: %04x != %04x", align, len, got, want);
            assert_int_equal(axl_csum(buf + align, len), (uint16_t)~want);
        }
    }
}

static void test_all_ones_and_zeros(void **state)
{
    (void)state;
    static uint8_t ff[1500], zz[1500];
    memset(ff, 0xff, sizeof(ff));
    memset(zz, 0, sizeof(zz));
    for (size_t len = 0; len < sizeof(ff); len += 7) {
        assert_int_equal(axl_csum(ff, len & ~(size_t)1), len >= 2 ? 0x0000 : 0xffff);
        assert_int_equal(axl_csum(zz, len), 0xffff);
    }
}

static void test_chaining_even_pieces(void **state)
{
    (void)state;
    uint8_t buf[999];
    struct axl_rand r;
    axl_rand_seed(&r, 7);
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)axl_rand_u64(&r);
    uint16_t whole = axl_csum(buf, sizeof(buf));
    for (size_t cut = 0; cut < sizeof(buf); cut += 2) {
        uint32_t s = axl_csum_partial(buf, cut, 0);
        s = axl_csum_partial(buf + cut, sizeof(buf) - cut, s);
        assert_int_equal(axl_csum_fold(s), whole);
    }
}

static void test_pseudo_header(void **state)
{
    (void)state;
    struct axl_rand r;
    axl_rand_seed(&r, 768);
    for (int i = 0; i < 1000; i++) {
        uint32_t sa = (uint32_t)axl_rand_u64(&r), da = (uint32_t)axl_rand_u64(&r);
        uint8_t proto = (uint8_t)axl_rand_u64(&r);
        uint16_t len = (uint16_t)axl_rand_u64(&r);
        uint8_t ph[12] = {(uint8_t)(sa >> 24),
                          (uint8_t)(sa >> 16),
                          (uint8_t)(sa >> 8),
                          (uint8_t)sa,
                          (uint8_t)(da >> 24),
                          (uint8_t)(da >> 16),
                          (uint8_t)(da >> 8),
                          (uint8_t)da,
                          0,
                          proto,
                          (uint8_t)(len >> 8),
                          (uint8_t)len};
        assert_int_equal(axl_csum_fold(axl_csum_pseudo_ipv4(sa, da, proto, len)),
                         (uint16_t)~ref_sum(ph, 12, 0));
    }
}

static void test_rfc1624_example(void **state)
{
    (void)state;
    /* RFC 1624 §4: HC 0xDD2F, m 0x5555 -> m' 0x3285 gives 0x0000 by eqn. 3 */
    assert_int_equal(axl_csum_update16(0xdd2f, 0x5555, 0x3285), 0x0000);
}

static void test_incremental_update_matches_recompute(void **state)
{
    (void)state;
    uint8_t buf[64];
    struct axl_rand r;
    axl_rand_seed(&r, 1624);
    for (int iter = 0; iter < 20000; iter++) {
        for (size_t i = 0; i < sizeof(buf); i++)
            buf[i] = (uint8_t)axl_rand_u64(&r);
        if (iter % 5 == 0) memset(buf + 8, 0, 16); /* runs of zeros exercise 0x0000/0xffff edges */
        buf[10] = buf[11] = 0;                     /* checksum field */
        uint16_t hc = axl_csum(buf, sizeof(buf));
        buf[10] = (uint8_t)(hc >> 8);
        buf[11] = (uint8_t)hc;
        /* change one 16-bit word (not the checksum) */
        size_t w = 2 * (1 + axl_rand_below(&r, 31));
        if (w == 10) w = 12;
        uint16_t old = (uint16_t)(buf[w] << 8 | buf[w + 1]);
        uint16_t nw = (uint16_t)axl_rand_u64(&r);
        buf[w] = (uint8_t)(nw >> 8);
        buf[w + 1] = (uint8_t)nw;
        uint16_t upd = axl_csum_update16(hc, old, nw);
        buf[10] = buf[11] = 0;
        assert_int_equal(upd, axl_csum(buf, sizeof(buf)));
        /* and a 32-bit field */
        buf[10] = (uint8_t)(upd >> 8);
        buf[11] = (uint8_t)upd;
        uint32_t o32 = (uint32_t)buf[16] << 24 | (uint32_t)buf[17] << 16 | buf[18] << 8 | buf[19];
        uint32_t n32 = (uint32_t)axl_rand_u64(&r);
        buf[16] = (uint8_t)(n32 >> 24);
        buf[17] = (uint8_t)(n32 >> 16);
        buf[18] = (uint8_t)(n32 >> 8);
        buf[19] = (uint8_t)n32;
        uint16_t upd32 = axl_csum_update32(upd, o32, n32);
        buf[10] = buf[11] = 0;
        assert_int_equal(upd32, axl_csum(buf, sizeof(buf)));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc1071_example),
        cmocka_unit_test(test_against_reference_all_lengths_alignments),
        cmocka_unit_test(test_all_ones_and_zeros),
        cmocka_unit_test(test_chaining_even_pieces),
        cmocka_unit_test(test_pseudo_header),
        cmocka_unit_test(test_rfc1624_example),
        cmocka_unit_test(test_incremental_update_matches_recompute),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
