/* SPDX-License-Identifier: MIT */
/*
 * test_wire_ipv4.c - IPv4 header view/repr (src/wire/ipv4.c): a real ping
 * datagram parsed and its header re-emitted byte for byte; every rule of the
 * check (truncation at every length, version, IHL, total length both ways,
 * checksum) with its fault; options skipped; padding ignored; emit limits;
 * address classes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/err.h"
#include "wire/csum.h"
#include "wire/ipv4.h"

/* ping -c1 198.18.0.1 from 198.18.0.2: IP header + ICMP echo (56 data bytes) */
static const uint8_t dgram[84] = {
    0x45, 0x00, 0x00, 0x54, 0xb5, 0xc4, 0x40, 0x00, 0x40, 0x01, 0xf8, 0xbc, 0xc6, 0x12,
    0x00, 0x02, 0xc6, 0x12, 0x00, 0x01, 0x08, 0x00, 0xd6, 0x6b, 0x0d, 0x05, 0x00, 0x01,
    0x9d, 0x3b, 0x5e, 0x65, 0x00, 0x00, 0x00, 0x00, 0x4e, 0x1a, 0x0c, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b,
    0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29,
    0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
};

static void refresh_csum(uint8_t *h)
{
    size_t hl = (size_t)(h[0] & 15) * 4;
    h[10] = h[11] = 0;
    uint16_t c = axl_csum(h, hl);
    h[10] = (uint8_t)(c >> 8);
    h[11] = (uint8_t)c;
}

static int check(const uint8_t *p, size_t n, enum axl_ipv4_fault *f)
{
    struct axl_ipv4_view v = {p, n};
    return axl_ipv4_view_check(&v, f);
}

static void test_parse_fixture(void **state)
{
    (void)state;
    struct axl_ipv4_view v = {dgram, sizeof(dgram)};
    enum axl_ipv4_fault f = AXL_IPV4_FAULT_CSUM;
    assert_int_equal(axl_ipv4_view_check(&v, &f), 0);
    assert_int_equal(f, AXL_IPV4_FAULT_NONE);
    assert_int_equal(axl_ipv4_view_version(&v), 4);
    assert_int_equal(axl_ipv4_view_hlen(&v), 20);
    assert_int_equal(axl_ipv4_view_total_len(&v), 84);
    assert_int_equal(axl_ipv4_view_id(&v), 0xb5c4);
    assert_true(axl_ipv4_view_df(&v));
    assert_false(axl_ipv4_view_mf(&v));
    assert_false(axl_ipv4_view_is_frag(&v));
    assert_int_equal(axl_ipv4_view_frag_off(&v), 0);
    assert_int_equal(axl_ipv4_view_ttl(&v), 64);
    assert_int_equal(axl_ipv4_view_proto(&v), AXL_IPPROTO_ICMP);
    assert_int_equal(axl_ipv4_view_src(&v), 0xc6120002u);
    assert_int_equal(axl_ipv4_view_dst(&v), 0xc6120001u);
    assert_ptr_equal(axl_ipv4_view_payload(&v), dgram + 20);
    assert_int_equal(axl_ipv4_view_payload_len(&v), 64);
}

static void test_emit_round_trip(void **state)
{
    (void)state;
    struct axl_ipv4_view v = {dgram, sizeof(dgram)};
    struct axl_ipv4_repr r;
    uint8_t out[20];
    axl_ipv4_repr_parse(&v, &r);
    assert_int_equal(r.payload_len, 64);
    assert_int_equal(axl_ipv4_repr_emit(&r, out, sizeof(out)), 20);
    assert_memory_equal(out, dgram, 20);
}

static void test_emit_fragment_and_limits(void **state)
{
    (void)state;
    struct axl_ipv4_repr r = {.src = 0x0a000001u,
                              .dst = 0x0a000002u,
                              .proto = 17,
                              .ttl = 1,
                              .mf = 1,
                              .id = 0xbeef,
                              .frag_off = 1480,
                              .payload_len = 1480};
    uint8_t out[20];
    assert_int_equal(axl_ipv4_repr_emit(&r, out, sizeof(out)), 20);
    struct axl_ipv4_view v = {out, 20};
    /* the header alone: total length 1500 > 20 available */
    assert_int_equal(axl_ipv4_view_check(&v, NULL), AXL_ETRUNC);
    assert_int_equal(out[6], 0x20 | (1480 / 8) >> 8);
    assert_int_equal(out[7], (1480 / 8) & 0xff);
    assert_int_equal(axl_csum(out, 20), 0);
    assert_true(axl_ipv4_view_mf(&v));
    assert_int_equal(axl_ipv4_view_frag_off(&v), 1480);
    assert_int_equal(axl_ipv4_repr_emit(&r, out, 19), AXL_ETRUNC);
    r.frag_off = 1481;
    assert_int_equal(axl_ipv4_repr_emit(&r, out, 20), AXL_EMSGSIZE);
    r.frag_off = 0;
    r.payload_len = 65516;
    assert_int_equal(axl_ipv4_repr_emit(&r, out, 20), AXL_EMSGSIZE);
}

static void test_truncated_every_length(void **state)
{
    (void)state;
    for (size_t n = 0; n < sizeof(dgram); n++) {
        enum axl_ipv4_fault f;
        assert_int_equal(check(dgram, n, &f), AXL_ETRUNC);
        assert_int_equal(f, AXL_IPV4_FAULT_TRUNC);
    }
}

static void test_bad_version(void **state)
{
    (void)state;
    for (unsigned ver = 0; ver < 16; ver++) {
        uint8_t b[84];
        enum axl_ipv4_fault f;
        memcpy(b, dgram, sizeof(b));
        b[0] = (uint8_t)(ver << 4 | 5);
        refresh_csum(b);
        int rc = check(b, sizeof(b), &f);
        if (ver == 4) {
            assert_int_equal(rc, 0);
        } else {
            assert_int_equal(rc, AXL_EMALFORMED);
            assert_int_equal(f, AXL_IPV4_FAULT_VERSION);
        }
    }
}

static void test_bad_ihl(void **state)
{
    (void)state;
    uint8_t b[84];
    enum axl_ipv4_fault f;
    for (unsigned ihl = 0; ihl < 5; ihl++) {
        memcpy(b, dgram, sizeof(b));
        b[0] = (uint8_t)(0x40 | ihl);
        assert_int_equal(check(b, sizeof(b), &f), AXL_EMALFORMED);
        assert_int_equal(f, AXL_IPV4_FAULT_IHL);
    }
    /* IHL 15: 60 bytes of header in a 24-byte buffer */
    memcpy(b, dgram, sizeof(b));
    b[0] = 0x4f;
    assert_int_equal(check(b, 24, &f), AXL_ETRUNC);
    assert_int_equal(f, AXL_IPV4_FAULT_TRUNC);
}

static void test_total_length_rules(void **state)
{
    (void)state;
    uint8_t b[100];
    enum axl_ipv4_fault f;
    /* total length below the header length */
    for (unsigned tot = 0; tot < 20; tot++) {
        memcpy(b, dgram, 84);
        b[2] = 0;
        b[3] = (uint8_t)tot;
        refresh_csum(b);
        assert_int_equal(check(b, 84, &f), AXL_EMALFORMED);
        assert_int_equal(f, AXL_IPV4_FAULT_LEN);
    }
    /* total length beyond the frame */
    memcpy(b, dgram, 84);
    b[3] = 85;
    refresh_csum(b);
    assert_int_equal(check(b, 84, &f), AXL_ETRUNC);
    assert_int_equal(f, AXL_IPV4_FAULT_TRUNC);
    /* Ethernet padding after the datagram is not part of it */
    memcpy(b, dgram, 84);
    memset(b + 84, 0xee, 16);
    struct axl_ipv4_view v = {b, 100};
    assert_int_equal(axl_ipv4_view_check(&v, NULL), 0);
    assert_int_equal(axl_ipv4_view_payload_len(&v), 64);
    /* a header-only datagram is valid */
    memcpy(b, dgram, 20);
    b[3] = 20;
    refresh_csum(b);
    assert_int_equal(check(b, 20, NULL), 0);
}

static void test_bad_checksum_every_bit(void **state)
{
    (void)state;
    for (size_t bit = 0; bit < 160; bit++) {
        uint8_t b[84];
        enum axl_ipv4_fault f;
        memcpy(b, dgram, sizeof(b));
        b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        int rc = check(b, sizeof(b), &f);
        /* a flip may break an earlier rule first; otherwise the checksum catches it */
        assert_true(rc < 0);
        if (bit >= 32 && bit < 160) /* past version/IHL/total length */
            assert_int_equal(f, AXL_IPV4_FAULT_CSUM);
    }
    /* payload bytes are not covered by the header checksum */
    uint8_t b[84];
    memcpy(b, dgram, sizeof(b));
    b[50] ^= 0xff;
    assert_int_equal(check(b, sizeof(b), NULL), 0);
}

static void test_options_skipped(void **state)
{
    (void)state;
    /* IHL 6 with four NOP options: payload starts at 24 */
    uint8_t b[88];
    memcpy(b, dgram, 20);
    b[0] = 0x46;
    b[3] = 88;
    memset(b + 20, 1, 4);
    memcpy(b + 24, dgram + 20, 64);
    refresh_csum(b);
    struct axl_ipv4_view v = {b, sizeof(b)};
    assert_int_equal(axl_ipv4_view_check(&v, NULL), 0);
    assert_int_equal(axl_ipv4_view_hlen(&v), 24);
    assert_ptr_equal(axl_ipv4_view_payload(&v), b + 24);
    assert_int_equal(axl_ipv4_view_payload_len(&v), 64);
    struct axl_ipv4_repr r;
    axl_ipv4_repr_parse(&v, &r);
    assert_int_equal(r.payload_len, 64);
}

static void test_address_classes(void **state)
{
    (void)state;
    assert_true(axl_ipv4_is_mcast(0xe0000001u));
    assert_true(axl_ipv4_is_mcast(0xefffffffu));
    assert_false(axl_ipv4_is_mcast(0xdfffffffu));
    assert_true(axl_ipv4_is_loopback(0x7f000001u));
    assert_true(axl_ipv4_is_reserved(0xf0000000u));
    assert_true(axl_ipv4_is_zeronet(0x00000001u));
    uint8_t mac[6];
    static const uint8_t want[6] = {0x01, 0x00, 0x5e, 0x7f, 0x00, 0x01};
    axl_ipv4_mcast_mac(0xefff0001u, mac); /* 239.255.0.1: top bit of octet 2 dropped */
    assert_memory_equal(mac, want, 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_fixture),
        cmocka_unit_test(test_emit_round_trip),
        cmocka_unit_test(test_emit_fragment_and_limits),
        cmocka_unit_test(test_truncated_every_length),
        cmocka_unit_test(test_bad_version),
        cmocka_unit_test(test_bad_ihl),
        cmocka_unit_test(test_total_length_rules),
        cmocka_unit_test(test_bad_checksum_every_bit),
        cmocka_unit_test(test_options_skipped),
        cmocka_unit_test(test_address_classes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
