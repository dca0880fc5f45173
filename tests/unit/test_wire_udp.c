/* SPDX-License-Identifier: MIT */
/*
 * test_wire_udp.c - UDP view/repr (src/wire/udp.c): a real DNS query
 * datagram parsed, verified against its pseudo-header and re-emitted byte for
 * byte; truncation at every length; bad length fields; trailing bytes; the
 * zero checksum (none) and the 0 -> 0xffff rule of RFC 768.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/err.h"
#include "wire/udp.h"

#define SRC 0xc6120002u /* 198.18.0.2 */
#define DST 0xc6120001u /* 198.18.0.1 */

/* 198.18.0.2:53000 -> 198.18.0.1:53, DNS query "example.com A" */
static const uint8_t dns[37] = {
    0xcf, 0x08, 0x00, 0x35, 0x00, 0x25, 0xba, 0xa5, 0x1a, 0x2b, 0x01, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70,
    0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d, 0x00, 0x00, 0x01, 0x00, 0x01,
};

static void test_parse_and_verify(void **state)
{
    (void)state;
    struct axl_udp_view v = {dns, sizeof(dns)};
    struct axl_udp_repr r;
    assert_int_equal(axl_udp_view_check(&v), 0);
    assert_int_equal(axl_udp_view_verify(&v, SRC, DST), 0);
    assert_int_equal(axl_udp_view_sport(&v), 53000);
    assert_int_equal(axl_udp_view_dport(&v), 53);
    assert_int_equal(axl_udp_view_len(&v), 37);
    assert_int_equal(axl_udp_view_csum(&v), 0xbaa5);
    assert_int_equal(axl_udp_view_payload_len(&v), 29);
    axl_udp_repr_parse(&v, &r);
    assert_int_equal(r.sport, 53000);
    assert_int_equal(r.dport, 53);
    assert_ptr_equal(r.payload, dns + 8);
    assert_int_equal(r.payload_len, 29);
    /* the pseudo-header matters: other addresses fail */
    assert_int_equal(axl_udp_view_verify(&v, SRC, DST + 1), AXL_ECSUM);
    assert_int_equal(axl_udp_view_verify(&v, DST, SRC), 0); /* sum is symmetric */
}

static void test_emit_byte_exact(void **state)
{
    (void)state;
    struct axl_udp_repr r = {.sport = 53000, .dport = 53, .payload = dns + 8, .payload_len = 29};
    uint8_t out[37];
    assert_int_equal(axl_udp_repr_emit(&r, SRC, DST, out, sizeof(out)), 37);
    assert_memory_equal(out, dns, sizeof(dns));
    assert_int_equal(axl_udp_repr_emit(&r, SRC, DST, out, 36), AXL_ETRUNC);
    r.payload_len = 65528;
    assert_int_equal(axl_udp_repr_emit(&r, SRC, DST, out, sizeof(out)), AXL_EMSGSIZE);
}

static void test_truncated_every_length(void **state)
{
    (void)state;
    for (size_t n = 0; n < sizeof(dns); n++) {
        struct axl_udp_view v = {dns, n};
        assert_int_equal(axl_udp_view_check(&v), AXL_ETRUNC);
    }
}

static void test_length_field_rules(void **state)
{
    (void)state;
    uint8_t b[64];
    for (unsigned len = 0; len < 8; len++) {
        memcpy(b, dns, sizeof(dns));
        b[4] = 0;
        b[5] = (uint8_t)len;
        struct axl_udp_view v = {b, sizeof(dns)};
        assert_int_equal(axl_udp_view_check(&v), AXL_EMALFORMED);
    }
    /* bytes past the length field (e.g. padding) are not data */
    memcpy(b, dns, sizeof(dns));
    memset(b + sizeof(dns), 0xaa, sizeof(b) - sizeof(dns));
    struct axl_udp_view v = {b, sizeof(b)};
    assert_int_equal(axl_udp_view_check(&v), 0);
    assert_int_equal(axl_udp_view_payload_len(&v), 29);
    assert_int_equal(axl_udp_view_verify(&v, SRC, DST), 0);
}

static void test_checksum_rules(void **state)
{
    (void)state;
    uint8_t b[37];
    /* any single bit flip is caught */
    for (size_t bit = 0; bit < sizeof(dns) * 8; bit++) {
        memcpy(b, dns, sizeof(b));
        b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        struct axl_udp_view v = {b, sizeof(b)};
        if (axl_udp_view_check(&v) == 0 && axl_udp_view_csum(&v) != 0)
            assert_int_equal(axl_udp_view_verify(&v, SRC, DST), AXL_ECSUM);
    }
    /* zero: no checksum was sent (RFC 768) */
    memcpy(b, dns, sizeof(b));
    b[6] = b[7] = 0;
    b[20] ^= 0xff;
    struct axl_udp_view v = {b, sizeof(b)};
    assert_int_equal(axl_udp_view_verify(&v, SRC, DST), 0);
}

static void test_computed_zero_sent_as_ffff(void **state)
{
    (void)state;
    uint8_t pl[2] = {0, 0}, out[10];
    struct axl_udp_repr r = {.sport = 1, .dport = 2, .payload = pl, .payload_len = 2};
    assert_int_equal(axl_udp_repr_emit(&r, SRC, DST, out, sizeof(out)), 10);
    /* a payload word equal to that checksum makes the sum 0xffff */
    pl[0] = out[6];
    pl[1] = out[7];
    assert_int_equal(axl_udp_repr_emit(&r, SRC, DST, out, sizeof(out)), 10);
    assert_int_equal(out[6], 0xff);
    assert_int_equal(out[7], 0xff);
    struct axl_udp_view v = {out, 10};
    assert_int_equal(axl_udp_view_verify(&v, SRC, DST), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_and_verify),
        cmocka_unit_test(test_emit_byte_exact),
        cmocka_unit_test(test_truncated_every_length),
        cmocka_unit_test(test_length_field_rules),
        cmocka_unit_test(test_checksum_rules),
        cmocka_unit_test(test_computed_zero_sent_as_ffff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
