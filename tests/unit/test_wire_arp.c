/* SPDX-License-Identifier: MIT */
/*
 * test_wire_arp.c - RFC 826 view/repr (src/wire/arp.c): a real request and
 * reply parsed and re-emitted byte for byte, truncation at every length,
 * every field that makes a packet malformed, padding ignored.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/err.h"
#include "wire/arp.h"

/* who-has 198.18.0.1 tell 198.18.0.2 (ARP body, after Ethernet) */
static const uint8_t req[28] = {
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02,
    0xc6, 0x12, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc6, 0x12, 0x00, 0x01,
};
/* 198.18.0.1 is-at 02:00:00:00:00:01 */
static const uint8_t rep[28] = {
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
    0xc6, 0x12, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0xc6, 0x12, 0x00, 0x02,
};

static void test_parse_request(void **state)
{
    (void)state;
    struct axl_arp_view v = {req, sizeof(req)};
    struct axl_arp_repr r;
    static const uint8_t sha[6] = {0x02, 0, 0, 0, 0, 0x02}, zero[6];
    assert_int_equal(axl_arp_view_check(&v), 0);
    assert_int_equal(axl_arp_view_op(&v), AXL_ARP_OP_REQUEST);
    assert_int_equal(axl_arp_view_spa(&v), 0xc6120002u);
    assert_int_equal(axl_arp_view_tpa(&v), 0xc6120001u);
    axl_arp_repr_parse(&v, &r);
    assert_int_equal(r.op, 1);
    assert_memory_equal(r.sha, sha, 6);
    assert_memory_equal(r.tha, zero, 6);
    assert_int_equal(r.spa, 0xc6120002u);
    assert_int_equal(r.tpa, 0xc6120001u);
}

static void test_emit_reply_byte_exact(void **state)
{
    (void)state;
    struct axl_arp_repr r = {.op = AXL_ARP_OP_REPLY,
                             .sha = {0x02, 0, 0, 0, 0, 0x01},
                             .spa = 0xc6120001u,
                             .tha = {0x02, 0, 0, 0, 0, 0x02},
                             .tpa = 0xc6120002u};
    uint8_t out[28];
    assert_int_equal(axl_arp_repr_emit(&r, out, sizeof(out)), 28);
    assert_memory_equal(out, rep, 28);
    assert_int_equal(axl_arp_repr_emit(&r, out, 27), AXL_ETRUNC);
    /* and back */
    struct axl_arp_view v = {out, 28};
    struct axl_arp_repr back;
    assert_int_equal(axl_arp_view_check(&v), 0);
    axl_arp_repr_parse(&v, &back);
    assert_int_equal(back.op, r.op);
    assert_memory_equal(back.sha, r.sha, 6);
    assert_memory_equal(back.tha, r.tha, 6);
    assert_int_equal(back.spa, r.spa);
    assert_int_equal(back.tpa, r.tpa);
}

static void test_truncated_every_length(void **state)
{
    (void)state;
    for (size_t n = 0; n < 28; n++) {
        struct axl_arp_view v = {req, n};
        assert_int_equal(axl_arp_view_check(&v), AXL_ETRUNC);
    }
    uint8_t padded[46] = {0};
    memcpy(padded, req, 28);
    struct axl_arp_view v = {padded, sizeof(padded)}; /* Ethernet padding is fine */
    assert_int_equal(axl_arp_view_check(&v), 0);
}

static void test_malformed_fields(void **state)
{
    (void)state;
    static const struct {
        size_t off;
        uint8_t val;
    } cases[] = {
        {1, 6},    /* htype 6 (IEEE 802) */
        {0, 1},    /* htype 0x0101 */
        {2, 0x86}, /* ptype 0x8600 */
        {3, 0xdd}, /* ptype 0x08dd */
        {4, 8},    /* hlen 8 */
        {4, 0},    /* hlen 0 */
        {5, 16},   /* plen 16 */
        {5, 0},    /* plen 0 */
        {7, 0},    /* op 0 */
        {7, 3},    /* op 3 (RARP request) */
        {6, 1},    /* op 0x0101 */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t b[28];
        memcpy(b, req, 28);
        b[cases[i].off] = cases[i].val;
        struct axl_arp_view v = {b, 28};
        if (axl_arp_view_check(&v) != AXL_EMALFORMED) fail_msg("case %zu not malformed", i);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_request),
        cmocka_unit_test(test_emit_reply_byte_exact),
        cmocka_unit_test(test_truncated_every_length),
        cmocka_unit_test(test_malformed_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
