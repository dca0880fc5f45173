/* SPDX-License-Identifier: MIT */
/*
 * test_wire_icmp.c - ICMP view/repr (src/wire/icmp.c): a real echo request
 * parsed, a reply emitted byte for byte, truncation at every length, every
 * single-bit corruption caught by the checksum, emit in place and with
 * overlapping data, the error-type classification.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/err.h"
#include "wire/icmp.h"

/* echo request id 0x0d05 seq 1, 56 data bytes (Linux ping layout) */
static const uint8_t echo[64] = {
    0x08, 0x00, 0xd6, 0x6b, 0x0d, 0x05, 0x00, 0x01, 0x9d, 0x3b, 0x5e, 0x65, 0x00, 0x00, 0x00, 0x00,
    0x4e, 0x1a, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
    0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27,
    0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
};
/* the matching reply: type 0, checksum 0xde6b */
static const uint8_t reply_hdr[8] = {0x00, 0x00, 0xde, 0x6b, 0x0d, 0x05, 0x00, 0x01};

static void test_parse_echo(void **state)
{
    (void)state;
    struct axl_icmp_view v = {echo, sizeof(echo)};
    struct axl_icmp_repr r;
    assert_int_equal(axl_icmp_view_check(&v), 0);
    assert_int_equal(axl_icmp_view_type(&v), AXL_ICMP_ECHO_REQUEST);
    assert_int_equal(axl_icmp_view_code(&v), 0);
    assert_int_equal(axl_icmp_view_csum(&v), 0xd66b);
    assert_int_equal(axl_icmp_view_echo_id(&v), 0x0d05);
    assert_int_equal(axl_icmp_view_echo_seq(&v), 1);
    assert_int_equal(axl_icmp_view_data_len(&v), 56);
    axl_icmp_repr_parse(&v, &r);
    assert_int_equal(r.rest, 0x0d050001u);
    assert_ptr_equal(r.data, echo + 8);
    assert_int_equal(r.data_len, 56);
}

static void test_emit_reply_byte_exact(void **state)
{
    (void)state;
    struct axl_icmp_repr r = {.type = AXL_ICMP_ECHO_REPLY,
                              .code = 0,
                              .rest = 0x0d050001u,
                              .data = echo + 8,
                              .data_len = 56};
    uint8_t out[64];
    assert_int_equal(axl_icmp_repr_emit(&r, out, sizeof(out)), 64);
    assert_memory_equal(out, reply_hdr, 8);
    assert_memory_equal(out + 8, echo + 8, 56);
    assert_int_equal(axl_icmp_repr_emit(&r, out, 63), AXL_ETRUNC);
    assert_int_equal(axl_icmp_repr_emit(&r, out, 7), AXL_ETRUNC);
    /* in place: data already at buf + 8 */
    uint8_t b[64];
    memcpy(b, echo, 64);
    r.data = b + 8;
    assert_int_equal(axl_icmp_repr_emit(&r, b, sizeof(b)), 64);
    assert_memory_equal(b, out, 64);
    /* overlapping source before the destination */
    memcpy(b, echo + 8, 56);
    r.data = b;
    assert_int_equal(axl_icmp_repr_emit(&r, b, sizeof(b)), 64);
    assert_memory_equal(b, out, 64);
}

static void test_truncated_every_length(void **state)
{
    (void)state;
    for (size_t n = 0; n < 8; n++) {
        struct axl_icmp_view v = {echo, n};
        assert_int_equal(axl_icmp_view_check(&v), AXL_ETRUNC);
    }
    /* cutting data off breaks the checksum (it covers the whole message) */
    for (size_t n = 8; n < sizeof(echo); n++) {
        struct axl_icmp_view v = {echo, n};
        assert_int_equal(axl_icmp_view_check(&v), AXL_ECSUM);
    }
}

static void test_every_bit_flip_caught(void **state)
{
    (void)state;
    for (size_t bit = 0; bit < sizeof(echo) * 8; bit++) {
        uint8_t b[64];
        memcpy(b, echo, sizeof(b));
        b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        struct axl_icmp_view v = {b, sizeof(b)};
        assert_int_equal(axl_icmp_view_check(&v), AXL_ECSUM);
    }
}

static void test_error_types(void **state)
{
    (void)state;
    static const uint8_t errors[] = {3, 4, 5, 11, 12};
    for (unsigned t = 0; t < 256; t++) {
        int want = memchr(errors, (int)t, sizeof(errors)) != NULL;
        assert_int_equal(axl_icmp_type_is_error((uint8_t)t), want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_echo),
        cmocka_unit_test(test_emit_reply_byte_exact),
        cmocka_unit_test(test_truncated_every_length),
        cmocka_unit_test(test_every_bit_flip_caught),
        cmocka_unit_test(test_error_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
