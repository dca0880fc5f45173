/* SPDX-License-Identifier: MIT */
/*
 * test_tcp_csum.c - the Internet checksum as TCP uses it on full segments
 * (src/wire/csum.c): the 64-byte add-with-carry bulk path (x86-64 assembler)
 * and the portable 64-bit path (built here from the same source with
 * AXL_CSUM_PORTABLE) against a naive big-endian reference, on random and
 * carry-heavy buffers of every length up to a jumbo frame at every alignment
 * 0..15, and chained in pieces as segments are built (header, then payload).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/rand.h"
#include "wire/csum.h"

/* The portable variant of the same source, under another name. */
uint32_t portable_csum_partial(const void *data, size_t len, uint32_t sum);
#define AXL_CSUM_PORTABLE 1
#define axl_csum_partial  portable_csum_partial
#include "wire/csum.c"
#undef axl_csum_partial

static uint32_t ref_sum(const uint8_t *p, size_t n, uint32_t sum)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1) sum += (uint32_t)p[n - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return sum;
}

static uint8_t buf[9100 + 16];

static void check_all(const char *what)
{
    for (size_t al = 0; al < 16; al++) {
        for (size_t len = 0; len + al <= 9100; len += (len < 300 ? 1 : 61)) {
            uint32_t want = ref_sum(buf + al, len, 0);
            uint32_t got = axl_csum_add32(0, axl_csum_partial(buf + al, len, 0));
            uint32_t gp = axl_csum_add32(0, portable_csum_partial(buf + al, len, 0));
            /* 0 and 0xffff are the same number in ones' complement */
            if (want == 0xffff) want = 0;
            if (got == 0xffff) got = 0;
            if (gp == 0xffff) gp = 0;
            if (got != want || gp != want)
                fail_msg("%s: len %zu align %zu: want %#x, fast %#x, portable %#x", what, len, al,
                         want, got, gp);
        }
    }
}

static void test_random(void **state)
{
    (void)state;
    struct axl_rand r;
    axl_rand_seed(&r, 1071);
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)axl_rand_u64(&r);
    check_all("random");
}

static void test_carry_heavy(void **state)
{
    (void)state;
    memset(buf, 0xff, sizeof(buf));
    check_all("all ones");
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (i & 8) ? 0xff : 0xfe;
    check_all("0xfe/0xff runs");
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)((i % 7) ? 0xff : 0x01);
    check_all("near-overflow words");
}

static void test_chained_like_a_segment(void **state)
{
    (void)state;
    struct axl_rand r;
    axl_rand_seed(&r, 9293);
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)axl_rand_u64(&r);
    for (size_t hl = 20; hl <= 60; hl += 4) {
        for (size_t pl = 0; pl <= 8960; pl += 997) {
            uint32_t s = axl_csum_pseudo_ipv4(0xc6120001u, 0xc6120002u, 6, (uint16_t)(hl + pl));
            s = axl_csum_partial(buf, hl, s);
            s = axl_csum_partial(buf + 100, pl, s); /* payload from elsewhere */
            uint32_t t = axl_csum_pseudo_ipv4(0xc6120001u, 0xc6120002u, 6, (uint16_t)(hl + pl));
            t = ref_sum(buf, hl, t);
            t = ref_sum(buf + 100, pl, t);
            assert_int_equal(axl_csum_fold(s), (uint16_t)~t);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_carry_heavy),
        cmocka_unit_test(test_chained_like_a_segment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
