/* SPDX-License-Identifier: MIT */
/*
 * test_steer_hash.c - the steering hash (src/steer/steer.c): Toeplitz against
 * Microsoft's published RSS verification vectors, symmetry of the 0x6d5a key,
 * the 16-bit fold shortcut against the full computation, spread over queues,
 * and the frame classifier (TCP/UDP 4-tuple, fragments and ICMP by address
 * pair, ARP not hashed, truncated frames never read past their length).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/rand.h"
#include "steer/steer.h"

#define IP4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))

/* "Verifying the RSS Hash Calculation": source, destination, and the IPv4
 * and IPv4-with-TCP hashes under the default key. */
static const struct {
    uint32_t src, dst;
    uint16_t sport, dport;
    uint32_t h2, h4;
} ms_vectors[] = {
    {IP4(66, 9, 149, 187), IP4(161, 142, 100, 80), 2794, 1766, 0x323e8fc2, 0x51ccc178},
    {IP4(199, 92, 111, 2), IP4(65, 69, 140, 83), 14230, 4739, 0xd718262a, 0xc626b0ea},
    {IP4(24, 19, 198, 95), IP4(12, 22, 207, 184), 12898, 38024, 0xd2d0a5de, 0x5c2b394a},
    {IP4(38, 27, 205, 30), IP4(209, 142, 163, 6), 48228, 2217, 0x82989176, 0xafc7327f},
    {IP4(153, 39, 163, 191), IP4(202, 188, 127, 2), 44251, 1303, 0x5d1809c5, 0x10e828a2},
};

static void test_microsoft_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(ms_vectors) / sizeof(ms_vectors[0]); i++) {
        uint8_t in[8];
        for (int b = 0; b < 4; b++) {
            in[b] = (uint8_t)(ms_vectors[i].src >> (24 - 8 * b));
            in[4 + b] = (uint8_t)(ms_vectors[i].dst >> (24 - 8 * b));
        }
        assert_int_equal(axl_toeplitz(axl_steer_ms_key, in, 8), ms_vectors[i].h2);
        assert_int_equal(axl_steer_hash4_key(axl_steer_ms_key, ms_vectors[i].src,
                                             ms_vectors[i].dst, ms_vectors[i].sport,
                                             ms_vectors[i].dport),
                         ms_vectors[i].h4);
    }
}

static void test_symmetric_key_is_symmetric_and_fold_matches(void **state)
{
    (void)state;
    struct axl_rand r;
    axl_rand_seed(&r, 7);
    for (int i = 0; i < 20000; i++) {
        uint64_t x = axl_rand_u64(&r), y = axl_rand_u64(&r);
        uint32_t a = (uint32_t)x, b = (uint32_t)(x >> 32);
        uint16_t p = (uint16_t)y, q = (uint16_t)(y >> 16);
        uint32_t full = axl_steer_hash4_key(axl_steer_sym_key, a, b, p, q);
        /* both directions, full Toeplitz */
        assert_int_equal(full, axl_steer_hash4_key(axl_steer_sym_key, b, a, q, p));
        /* the fold shortcut is the same function */
        assert_int_equal(full, axl_steer_hash4(a, b, p, q));
        assert_int_equal(full, axl_steer_hash4(b, a, q, p));
    }
    /* The default (asymmetric) key is not symmetric: the vectors differ. */
    assert_int_not_equal(
        axl_steer_hash4_key(axl_steer_ms_key, ms_vectors[0].src, ms_vectors[0].dst,
                            ms_vectors[0].sport, ms_vectors[0].dport),
        axl_steer_hash4_key(axl_steer_ms_key, ms_vectors[0].dst, ms_vectors[0].src,
                            ms_vectors[0].dport, ms_vectors[0].sport));
}

/* Kernel clients pick source ports sequentially-ish: flows from one client
 * to one server port, source ports 32768.. must spread evenly. */
static void test_spread(void **state)
{
    (void)state;
    for (uint32_t n = 2; n <= 8; n++) {
        uint32_t cnt[8] = {0};
        const uint32_t flows = 4096;
        for (uint32_t i = 0; i < flows; i++)
            cnt[axl_steer_queue(axl_steer_hash4(IP4(198, 18, 0, 1), IP4(198, 18, 0, 2),
                                                (uint16_t)(32768 + i), 7),
                                n)]++;
        for (uint32_t q = 0; q < n; q++) {
            /* within 25% of the fair share (the table maps 128 entries onto
             * n queues: at most one extra entry per queue, < 1/16 skew) */
            assert_true(cnt[q] * 4 > flows / n * 3);
            assert_true(cnt[q] * 4 < flows / n * 5);
        }
    }
    /* n = 1 (or 0) is always queue 0 */
    assert_int_equal(axl_steer_queue(0xffffffffu, 1), 0);
    assert_int_equal(axl_steer_queue(0xffffffffu, 0), 0);
}

static void test_port_ok(void **state)
{
    (void)state;
    uint32_t us = IP4(198, 18, 0, 2), peer = IP4(198, 18, 0, 1);
    for (uint32_t n = 1; n <= 4; n++)
        for (uint32_t q = 0; q < n; q++) {
            uint32_t hits = 0;
            for (uint32_t p = 40000; p < 40400; p++) {
                int ok = axl_steer_port_ok(us, peer, (uint16_t)p, 5001, q, n);
                uint32_t qq = axl_steer_queue(axl_steer_hash4(peer, us, 5001, (uint16_t)p), n);
                assert_int_equal(ok, qq == q); /* the reply direction lands on q */
                hits += (uint32_t)ok;
            }
            assert_true(hits >= 400 / n / 2);
        }
}

static size_t frame(uint8_t *b, uint16_t ethertype, uint8_t proto, uint16_t frag, uint32_t src,
                    uint32_t dst, uint16_t sport, uint16_t dport)
{
    memset(b, 0, 64);
    b[12] = (uint8_t)(ethertype >> 8);
    b[13] = (uint8_t)ethertype;
    uint8_t *ip = b + 14;
    ip[0] = 0x45;
    ip[6] = (uint8_t)(frag >> 8);
    ip[7] = (uint8_t)frag;
    ip[8] = 64;
    ip[9] = proto;
    for (int i = 0; i < 4; i++) {
        ip[12 + i] = (uint8_t)(src >> (24 - 8 * i));
        ip[16 + i] = (uint8_t)(dst >> (24 - 8 * i));
    }
    ip[20] = (uint8_t)(sport >> 8);
    ip[21] = (uint8_t)sport;
    ip[22] = (uint8_t)(dport >> 8);
    ip[23] = (uint8_t)dport;
    return 14 + 20 + 8;
}

static void test_frame_hash(void **state)
{
    (void)state;
    uint8_t b[64];
    uint32_t h, a = IP4(198, 18, 0, 1), c = IP4(198, 18, 0, 2);
    size_t n = frame(b, 0x0800, 6, 0, a, c, 40000, 7);
    assert_int_equal(axl_steer_frame_hash(b, (uint32_t)n, &h), 1);
    assert_int_equal(h, axl_steer_hash4(a, c, 40000, 7));
    n = frame(b, 0x0800, 17, 0x4000 /* DF */, c, a, 7, 40000);
    assert_int_equal(axl_steer_frame_hash(b, (uint32_t)n, &h), 1);
    assert_int_equal(h, axl_steer_hash4(a, c, 40000, 7));
    /* fragments (MF, or an offset) and ICMP: the address pair only */
    n = frame(b, 0x0800, 17, 0x2000, a, c, 40000, 7);
    assert_int_equal(axl_steer_frame_hash(b, (uint32_t)n, &h), 1);
    assert_int_equal(h, axl_steer_hash4(a, c, 0, 0));
    n = frame(b, 0x0800, 17, 0x00b9, a, c, 40000, 7);
    assert_int_equal(axl_steer_frame_hash(b, (uint32_t)n, &h), 1);
    assert_int_equal(h, axl_steer_hash4(a, c, 0, 0));
    n = frame(b, 0x0800, 1, 0, a, c, 0x0800, 0);
    assert_int_equal(axl_steer_frame_hash(b, (uint32_t)n, &h), 1);
    assert_int_equal(h, axl_steer_hash4(a, c, 0, 0));
    /* ARP and IPv6: not hashed */
    n = frame(b, 0x0806, 0, 0, a, c, 0, 0);
    assert_int_equal(axl_steer_frame_hash(b, (uint32_t)n, &h), 0);
    n = frame(b, 0x86dd, 6, 0, a, c, 1, 2);
    assert_int_equal(axl_steer_frame_hash(b, (uint32_t)n, &h), 0);
    /* bad IHL, bad version, truncated: not hashed, or without ports */
    n = frame(b, 0x0800, 6, 0, a, c, 1, 2);
    b[14] = 0x44;
    assert_int_equal(axl_steer_frame_hash(b, (uint32_t)n, &h), 0);
    b[14] = 0x65;
    assert_int_equal(axl_steer_frame_hash(b, (uint32_t)n, &h), 0);
    b[14] = 0x45;
    assert_int_equal(axl_steer_frame_hash(b, 14 + 19, &h), 0);
    assert_int_equal(axl_steer_frame_hash(b, 14 + 22, &h), 1); /* ports cut off */
    assert_int_equal(h, axl_steer_hash4(a, c, 0, 0));
    /* every length over a heap copy of exactly that length (ASan checks reads) */
    for (uint32_t len = 0; len <= n; len++) {
        uint8_t *cp = malloc(len ? len : 1);
        memcpy(cp, b, len);
        (void)axl_steer_frame_hash(cp, len, &h);
        free(cp);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_microsoft_vectors),
        cmocka_unit_test(test_symmetric_key_is_symmetric_and_fold_matches),
        cmocka_unit_test(test_spread),
        cmocka_unit_test(test_port_ok),
        cmocka_unit_test(test_frame_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
