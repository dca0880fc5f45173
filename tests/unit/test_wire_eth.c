/* SPDX-License-Identifier: MIT */
/*
 * test_wire_eth.c - Ethernet II view/repr (src/wire/eth.c): a real frame
 * parsed and re-emitted byte for byte, truncation at every length, 802.3
 * length frames, address classes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/err.h"
#include "wire/eth.h"

/* ARP who-has 198.18.0.1 tell 198.18.0.2, as a Linux host sends it */
static const uint8_t frame[42] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x06,
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02,
    0xc6, 0x12, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc6, 0x12, 0x00, 0x01,
};

static void test_parse_fixture(void **state)
{
    (void)state;
    struct axl_eth_view v = {frame, sizeof(frame)};
    struct axl_eth_repr r;
    static const uint8_t src[6] = {0x02, 0, 0, 0, 0, 0x02};
    assert_int_equal(axl_eth_view_check(&v), 0);
    assert_int_equal(axl_eth_view_type(&v), AXL_ETHERTYPE_ARP);
    assert_true(axl_eth_is_bcast(axl_eth_view_dst(&v)));
    assert_memory_equal(axl_eth_view_src(&v), src, 6);
    assert_ptr_equal(axl_eth_view_payload(&v), frame + 14);
    assert_int_equal(axl_eth_view_payload_len(&v), 28);
    axl_eth_repr_parse(&v, &r);
    assert_memory_equal(r.dst, axl_eth_bcast_addr, 6);
    assert_memory_equal(r.src, src, 6);
    assert_int_equal(r.type, 0x0806);
}

static void test_emit_round_trip(void **state)
{
    (void)state;
    struct axl_eth_view v = {frame, sizeof(frame)};
    struct axl_eth_repr r;
    uint8_t out[14];
    axl_eth_repr_parse(&v, &r);
    assert_int_equal(axl_eth_repr_emit(&r, out, sizeof(out)), 14);
    assert_memory_equal(out, frame, 14);
    assert_int_equal(axl_eth_repr_emit(&r, out, 13), AXL_ETRUNC);
}

static void test_truncated_every_length(void **state)
{
    (void)state;
    for (size_t n = 0; n < 14; n++) {
        struct axl_eth_view v = {frame, n};
        assert_int_equal(axl_eth_view_check(&v), AXL_ETRUNC);
    }
    struct axl_eth_view v = {frame, 14}; /* a bare header is valid */
    assert_int_equal(axl_eth_view_check(&v), 0);
}

static void test_8023_length_is_malformed(void **state)
{
    (void)state;
    uint8_t f[60];
    memcpy(f, frame, 14);
    f[12] = 0x05;
    f[13] = 0xdc; /* 1500: an 802.3 length */
    struct axl_eth_view v = {f, sizeof(f)};
    assert_int_equal(axl_eth_view_check(&v), AXL_EMALFORMED);
    f[13] = 0xff; /* 0x05ff: neither */
    assert_int_equal(axl_eth_view_check(&v), AXL_EMALFORMED);
    f[12] = 0x06;
    f[13] = 0x00; /* 0x0600: the first Ethernet II type */
    assert_int_equal(axl_eth_view_check(&v), 0);
}

static void test_address_classes(void **state)
{
    (void)state;
    static const uint8_t uc[6] = {0x02, 0, 0, 0, 0, 1}, mc[6] = {0x01, 0, 0x5e, 0, 0, 1}, zero[6];
    assert_false(axl_eth_is_mcast(uc));
    assert_true(axl_eth_is_mcast(mc));
    assert_true(axl_eth_is_mcast(axl_eth_bcast_addr));
    assert_false(axl_eth_is_bcast(mc));
    assert_true(axl_eth_is_zero(zero));
    assert_false(axl_eth_is_zero(uc));
    assert_true(axl_eth_addr_eq(uc, uc));
    assert_false(axl_eth_addr_eq(uc, mc));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_fixture),
        cmocka_unit_test(test_emit_round_trip),
        cmocka_unit_test(test_truncated_every_length),
        cmocka_unit_test(test_8023_length_is_malformed),
        cmocka_unit_test(test_address_classes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
