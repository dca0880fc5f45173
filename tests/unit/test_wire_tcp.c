/* SPDX-License-Identifier: MIT */
/*
 * test_wire_tcp.c - TCP view/options/repr (src/wire/tcp.c) and the sequence
 * helpers of wire/tcp.h. The fixtures are real segments captured from Linux
 * 6.x over a veth pair with checksum offload off: a SYN with every option, its
 * SYN-ACK, a data segment with timestamps, a SYN without timestamps, and a
 * pure ACK carrying three SACK blocks (Linux answering three out-of-order
 * segments). Each is parsed, verified and re-emitted byte for byte; every
 * malformed shape (truncation at each length, bad data offset, option
 * lengths 0/1/past the header/wrong for the kind) is refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/err.h"
#include "wire/tcp.h"

#define IP_A 0xc6126301u /* 198.18.99.1 (client) */
#define IP_B 0xc6126302u /* 198.18.99.2 (server) */
#define IP_C 0xc6126303u /* 198.18.99.3 (raw client that left holes) */

/* A -> B 41636 -> 5001 SYN: MSS 1460, SACK-perm, TS, NOP, WS 10 */
static const uint8_t syn[40] = {
    0xa2, 0xa4, 0x13, 0x89, 0x23, 0xd6, 0x7c, 0x21, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02,
    0xfa, 0xf0, 0x66, 0xb6, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a,
    0x54, 0xfe, 0xe9, 0x09, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x0a,
};
/* B -> A SYN-ACK */
static const uint8_t synack[40] = {
    0x13, 0x89, 0xa2, 0xa4, 0x9e, 0x79, 0x40, 0x8c, 0x23, 0xd6, 0x7c, 0x22, 0xa0, 0x12,
    0xfe, 0x88, 0x00, 0x89, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a,
    0xf0, 0x28, 0x93, 0x55, 0x54, 0xfe, 0xe9, 0x09, 0x01, 0x03, 0x03, 0x0a,
};
/* A -> B PSH|ACK "hello axolotl\n" with NOP NOP TS */
static const uint8_t data[46] = {
    0xa2, 0xa4, 0x13, 0x89, 0x23, 0xd6, 0x7c, 0x22, 0x9e, 0x79, 0x40, 0x8d, 0x80, 0x18, 0x00, 0x3f,
    0x3d, 0x36, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, 0x54, 0xfe, 0xe9, 0x09, 0xf0, 0x28, 0x93, 0x55,
    0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x20, 0x61, 0x78, 0x6f, 0x6c, 0x6f, 0x74, 0x6c, 0x0a,
};
/* A -> B SYN with timestamps disabled: MSS, NOP NOP SACK-perm, NOP WS 10 */
static const uint8_t syn_nots[32] = {
    0xca, 0x1a, 0x13, 0x8b, 0xf5, 0x29, 0x53, 0xc6, 0x00, 0x00, 0x00, 0x00, 0x80, 0x02, 0xfa, 0xf0,
    0xfb, 0x5e, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x01, 0x01, 0x04, 0x02, 0x01, 0x03, 0x03, 0x0a,
};
/* B -> C 5002 -> 40000 ACK with NOP NOP TS and NOP NOP SACK (3 blocks) */
static const uint8_t sack3[60] = {
    0x13, 0x8a, 0x9c, 0x40, 0x60, 0xf5, 0xaa, 0x80, 0x01, 0x02, 0x03, 0x05, 0xf0, 0x10, 0x00,
    0x40, 0x65, 0x54, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, 0xa1, 0x05, 0xc4, 0x32, 0x00, 0x00,
    0x03, 0xe9, 0x01, 0x01, 0x05, 0x1a, 0x01, 0x02, 0x04, 0xf9, 0x01, 0x02, 0x05, 0x5d, 0x01,
    0x02, 0x04, 0x31, 0x01, 0x02, 0x04, 0x95, 0x01, 0x02, 0x03, 0x69, 0x01, 0x02, 0x03, 0xcd,
};

struct fixture {
    const uint8_t *b;
    size_t len;
    uint32_t src, dst;
};
static const struct fixture fixtures[] = {
    {syn, sizeof(syn), IP_A, IP_B},     {synack, sizeof(synack), IP_B, IP_A},
    {data, sizeof(data), IP_A, IP_B},   {syn_nots, sizeof(syn_nots), IP_A, IP_B},
    {sack3, sizeof(sack3), IP_B, IP_C},
};

static void parse_ok(const uint8_t *b, size_t len, struct axl_tcp_repr *r)
{
    struct axl_tcp_view v = {b, len};
    assert_int_equal(axl_tcp_view_check(&v), 0);
    assert_int_equal(axl_tcp_repr_parse(&v, r), 0);
}

static void test_parse_syn(void **state)
{
    (void)state;
    struct axl_tcp_view v = {syn, sizeof(syn)};
    assert_int_equal(axl_tcp_view_check(&v), 0);
    assert_int_equal(axl_tcp_view_verify(&v, IP_A, IP_B), 0);
    assert_int_equal(axl_tcp_view_sport(&v), 41636);
    assert_int_equal(axl_tcp_view_dport(&v), 5001);
    assert_int_equal(axl_tcp_view_seq(&v), 0x23d67c21u);
    assert_int_equal(axl_tcp_view_ack(&v), 0);
    assert_int_equal(axl_tcp_view_hlen(&v), 40);
    assert_int_equal(axl_tcp_view_reserved(&v), 0);
    assert_int_equal(axl_tcp_view_flags(&v), AXL_TCP_SYN);
    assert_int_equal(axl_tcp_view_window(&v), 64240);
    assert_int_equal(axl_tcp_view_csum(&v), 0x66b6);
    assert_int_equal(axl_tcp_view_urg(&v), 0);
    assert_int_equal(axl_tcp_view_opts_len(&v), 20);
    assert_int_equal(axl_tcp_view_payload_len(&v), 0);
    assert_ptr_equal(axl_tcp_view_payload(&v), syn + 40);

    struct axl_tcp_repr r;
    assert_int_equal(axl_tcp_repr_parse(&v, &r), 0);
    assert_int_equal(r.sport, 41636);
    assert_int_equal(r.flags, AXL_TCP_SYN);
    assert_true(r.opts.has_mss && r.opts.has_ws && r.opts.has_sack_perm && r.opts.has_ts);
    assert_int_equal(r.opts.mss, 1460);
    assert_int_equal(r.opts.ws_shift, 10);
    assert_int_equal(r.opts.ts_val, 0x54fee909u);
    assert_int_equal(r.opts.ts_ecr, 0);
    assert_int_equal(r.opts.sack_n, 0);
}

static void test_parse_synack_data_sack(void **state)
{
    (void)state;
    struct axl_tcp_repr r;
    parse_ok(synack, sizeof(synack), &r);
    assert_int_equal(r.flags, AXL_TCP_SYN | AXL_TCP_ACK);
    assert_int_equal(r.seq, 0x9e79408cu);
    assert_int_equal(r.ack, 0x23d67c22u); /* the SYN's seq + 1 */
    assert_int_equal(r.window, 65160);
    assert_int_equal(r.opts.mss, 1460);
    assert_int_equal(r.opts.ts_ecr, 0x54fee909u); /* echoes the SYN's TSval */

    parse_ok(data, sizeof(data), &r);
    assert_int_equal(r.flags, AXL_TCP_PSH | AXL_TCP_ACK);
    assert_int_equal(r.window, 63);
    assert_false(r.opts.has_mss || r.opts.has_ws || r.opts.has_sack_perm);
    assert_true(r.opts.has_ts);
    assert_int_equal(r.opts.ts_val, 0x54fee909u);
    assert_int_equal(r.opts.ts_ecr, 0xf0289355u);
    assert_int_equal(r.payload_len, 14);
    assert_memory_equal(r.payload, "hello axolotl\n", 14);

    parse_ok(syn_nots, sizeof(syn_nots), &r);
    assert_true(r.opts.has_mss && r.opts.has_ws && r.opts.has_sack_perm);
    assert_false(r.opts.has_ts);

    parse_ok(sack3, sizeof(sack3), &r);
    assert_int_equal(r.flags, AXL_TCP_ACK);
    assert_int_equal(r.ack, 0x01020305u);
    assert_true(r.opts.has_ts);
    assert_int_equal(r.opts.sack_n, 3);
    /* most recently received block first (RFC 2018 §4) */
    assert_int_equal(r.opts.sack[0].left, 0x010204f9u);
    assert_int_equal(r.opts.sack[0].right, 0x0102055du);
    assert_int_equal(r.opts.sack[1].left, 0x01020431u);
    assert_int_equal(r.opts.sack[1].right, 0x01020495u);
    assert_int_equal(r.opts.sack[2].left, 0x01020369u);
    assert_int_equal(r.opts.sack[2].right, 0x010203cdu);
}

/* Every fixture verifies, parses and re-emits to the same bytes, both with
 * the payload copied and with the payload left in place (emit_hdr). */
static void test_emit_fixtures_byte_exact(void **state)
{
    (void)state;
    for (size_t i = 0; i < AXL_ARRAY_SIZE(fixtures); i++) {
        const struct fixture *f = &fixtures[i];
        struct axl_tcp_view v = {f->b, f->len};
        struct axl_tcp_repr r;
        assert_int_equal(axl_tcp_view_check(&v), 0);
        assert_int_equal(axl_tcp_view_verify(&v, f->src, f->dst), 0);
        assert_int_equal(axl_tcp_repr_parse(&v, &r), 0);
        uint8_t out[128];
        memset(out, 0xee, sizeof(out));
        assert_int_equal(axl_tcp_repr_emit(&r, f->src, f->dst, out, sizeof(out)), (int)f->len);
        assert_memory_equal(out, f->b, f->len);
        /* header only, payload summed where it is */
        memset(out, 0xee, sizeof(out));
        int hlen = axl_tcp_repr_emit_hdr(&r, f->src, f->dst, out, sizeof(out));
        assert_int_equal(hlen, (int)axl_tcp_view_hlen(&v));
        assert_memory_equal(out, f->b, (size_t)hlen);
        assert_int_equal(out[hlen], 0xee);
        /* exactly enough room, and one byte less */
        assert_int_equal(axl_tcp_repr_emit(&r, f->src, f->dst, out, f->len), (int)f->len);
        assert_int_equal(axl_tcp_repr_emit(&r, f->src, f->dst, out, f->len - 1), AXL_ETRUNC);
        assert_int_equal(axl_tcp_repr_emit_hdr(&r, f->src, f->dst, out, (size_t)hlen - 1),
                         AXL_ETRUNC);
    }
}

/* The other way: segments built field by field equal the captured bytes. */
static void test_build_from_scratch(void **state)
{
    (void)state;
    uint8_t out[64];
    struct axl_tcp_repr r = {
        .sport = 41636,
        .dport = 5001,
        .seq = 0x23d67c21u,
        .flags = AXL_TCP_SYN,
        .window = 64240,
        .opts = {.has_mss = 1,
                 .mss = 1460,
                 .has_sack_perm = 1,
                 .has_ts = 1,
                 .ts_val = 0x54fee909u,
                 .has_ws = 1,
                 .ws_shift = 10},
    };
    assert_int_equal(axl_tcp_repr_emit(&r, IP_A, IP_B, out, sizeof(out)), 40);
    assert_memory_equal(out, syn, sizeof(syn));

    struct axl_tcp_repr d = {
        .sport = 41636,
        .dport = 5001,
        .seq = 0x23d67c22u,
        .ack = 0x9e79408du,
        .flags = AXL_TCP_PSH | AXL_TCP_ACK,
        .window = 63,
        .opts = {.has_ts = 1, .ts_val = 0x54fee909u, .ts_ecr = 0xf0289355u},
        .payload = (const uint8_t *)"hello axolotl\n",
        .payload_len = 14,
    };
    assert_int_equal(axl_tcp_repr_emit(&d, IP_A, IP_B, out, sizeof(out)), 46);
    assert_memory_equal(out, data, sizeof(data));

    struct axl_tcp_repr s = {
        .sport = 5002,
        .dport = 40000,
        .seq = 0x60f5aa80u,
        .ack = 0x01020305u,
        .flags = AXL_TCP_ACK,
        .window = 64,
        .opts = {.has_ts = 1,
                 .ts_val = 0xa105c432u,
                 .ts_ecr = 0x3e9,
                 .sack_n = 3,
                 .sack = {{0x010204f9u, 0x0102055du},
                          {0x01020431u, 0x01020495u},
                          {0x01020369u, 0x010203cdu}}},
    };
    assert_int_equal(axl_tcp_repr_emit(&s, IP_B, IP_C, out, sizeof(out)), 60);
    assert_memory_equal(out, sack3, sizeof(sack3));
}

/* Shorter than 20: truncated. 20 up to the header length: the data offset
 * points past the segment (malformed). From there on the view is fine (TCP has
 * no length field) but the checksum no longer matches. */
static void test_truncated_every_length(void **state)
{
    (void)state;
    for (size_t i = 0; i < AXL_ARRAY_SIZE(fixtures); i++) {
        const struct fixture *f = &fixtures[i];
        unsigned hlen = (unsigned)(f->b[12] >> 4) * 4;
        for (size_t n = 0; n < f->len; n++) {
            struct axl_tcp_view v = {f->b, n};
            int rc = axl_tcp_view_check(&v);
            if (n < AXL_TCP_HLEN_MIN)
                assert_int_equal(rc, AXL_ETRUNC);
            else if (n < hlen)
                assert_int_equal(rc, AXL_EMALFORMED);
            else {
                assert_int_equal(rc, 0);
                assert_int_equal(axl_tcp_view_payload_len(&v), n - hlen);
                assert_int_equal(axl_tcp_view_verify(&v, f->src, f->dst), AXL_ECSUM);
            }
        }
    }
}

static void test_bad_data_offset(void **state)
{
    (void)state;
    uint8_t b[60];
    for (unsigned doff = 0; doff < 16; doff++) {
        memcpy(b, data, sizeof(data));
        b[12] = (uint8_t)(doff << 4);
        struct axl_tcp_view v = {b, sizeof(data)};
        int want = doff < 5 ? AXL_EMALFORMED : doff * 4 > sizeof(data) ? AXL_EMALFORMED : 0;
        assert_int_equal(axl_tcp_view_check(&v), want);
    }
    /* a header of exactly the segment length (no data) is fine */
    memcpy(b, sack3, sizeof(sack3));
    struct axl_tcp_view v = {b, 60};
    assert_int_equal(axl_tcp_view_check(&v), 0);
    assert_int_equal(axl_tcp_view_payload_len(&v), 0);
    /* the reserved bits are reported and otherwise ignored (RFC 9293 §3.1) */
    b[12] |= 0x0f;
    assert_int_equal(axl_tcp_view_check(&v), 0);
    assert_int_equal(axl_tcp_view_reserved(&v), 0x0f);
    assert_int_equal(axl_tcp_view_hlen(&v), 60);
}

struct opt_case {
    const char *name;
    uint8_t len;
    uint8_t b[40];
    int rc;
};

static const struct opt_case bad_opts[] = {
    {"length 0", 4, {30, 0, 0, 0}, AXL_EMALFORMED},
    {"length 1", 4, {30, 1, 0, 0}, AXL_EMALFORMED},
    {"kind without length at the end", 4, {1, 1, 1, 30}, AXL_EMALFORMED},
    {"MSS kind alone", 1, {2}, AXL_EMALFORMED},
    {"unknown past the end", 4, {30, 5, 0, 0}, AXL_EMALFORMED},
    {"MSS past the end", 4, {1, 1, 2, 4}, AXL_EMALFORMED},
    {"TS past the end", 8, {1, 1, 8, 10, 0, 0, 0, 0}, AXL_EMALFORMED},
    {"MSS length 3", 4, {2, 3, 5, 0}, AXL_EMALFORMED},
    {"MSS length 5", 8, {2, 5, 5, 0xb4, 0, 0, 0, 0}, AXL_EMALFORMED},
    {"WS length 2", 4, {3, 2, 1, 1}, AXL_EMALFORMED},
    {"WS length 4", 4, {3, 4, 7, 0}, AXL_EMALFORMED},
    {"SACK-perm length 3", 4, {4, 3, 0, 0}, AXL_EMALFORMED},
    {"TS length 9", 12, {8, 9, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1}, AXL_EMALFORMED},
    {"TS length 11", 12, {8, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, AXL_EMALFORMED},
    {"SACK no blocks", 4, {1, 1, 5, 2}, AXL_EMALFORMED},
    {"SACK length 9", 12, {5, 9, 0, 0, 0, 1, 0, 0, 0, 2, 0, 1}, AXL_EMALFORMED},
    {"SACK length 12", 12, {5, 12, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0}, AXL_EMALFORMED},
    {"SACK 5 blocks", 40, {1, 1, 1, 1, 1, 1, 5, 42}, AXL_EMALFORMED},
    {"SACK 4 blocks past the end", 36, {1, 1, 1, 5, 34}, AXL_EMALFORMED},
    {"garbage after a good option", 8, {2, 4, 5, 0xb4, 3, 0, 0, 0}, AXL_EMALFORMED},
};

static void test_malformed_options(void **state)
{
    (void)state;
    for (size_t i = 0; i < AXL_ARRAY_SIZE(bad_opts); i++) {
        const struct opt_case *c = &bad_opts[i];
        struct axl_tcp_opts o;
        int rc = axl_tcp_opts_parse(c->b, c->len, &o);
        if (rc != c->rc) fail_msg("%s: got %d want %d", c->name, rc, c->rc);
        /* the same options inside a whole segment make the segment malformed */
        uint8_t seg[60];
        memcpy(seg, data, 20);
        size_t olen = (c->len + 3u) & ~3u;
        memset(seg + 20, 0, olen);
        memcpy(seg + 20, c->b, c->len);
        seg[12] = (uint8_t)(((20 + olen) / 4) << 4);
        struct axl_tcp_view v = {seg, 20 + olen};
        struct axl_tcp_repr r;
        assert_int_equal(axl_tcp_view_check(&v), 0);
        if (axl_tcp_repr_parse(&v, &r) != c->rc)
            fail_msg("%s: segment parse did not fail", c->name);
    }
}

static void test_option_rules(void **state)
{
    (void)state;
    struct axl_tcp_opts o;
    /* empty */
    assert_int_equal(axl_tcp_opts_parse(NULL, 0, &o), 0);
    assert_false(o.has_mss || o.has_ws || o.has_sack_perm || o.has_ts || o.sack_n);
    /* unknown options are skipped by their length (MPTCP 30, experiment 254) */
    const uint8_t unk[] = {30, 4, 0xaa, 0xbb, 254, 6, 1, 2, 3, 4, 2, 4, 0x23, 0x28, 1, 1};
    assert_int_equal(axl_tcp_opts_parse(unk, sizeof(unk), &o), 0);
    assert_true(o.has_mss);
    assert_int_equal(o.mss, 9000);
    /* EOL ends the list: what follows is padding, even if it looks bad */
    const uint8_t eol[] = {1, 3, 3, 7, 0, 0, 2, 0};
    assert_int_equal(axl_tcp_opts_parse(eol, sizeof(eol), &o), 0);
    assert_true(o.has_ws);
    assert_int_equal(o.ws_shift, 7);
    assert_false(o.has_mss);
    /* WS above 14 is used as 14 (RFC 7323 §2.3) */
    const uint8_t ws15[] = {3, 3, 15, 1};
    assert_int_equal(axl_tcp_opts_parse(ws15, sizeof(ws15), &o), 0);
    assert_int_equal(o.ws_shift, 14);
    const uint8_t ws255[] = {3, 3, 255, 0};
    assert_int_equal(axl_tcp_opts_parse(ws255, sizeof(ws255), &o), 0);
    assert_int_equal(o.ws_shift, 14);
    const uint8_t ws14[] = {3, 3, 14, 0};
    assert_int_equal(axl_tcp_opts_parse(ws14, sizeof(ws14), &o), 0);
    assert_int_equal(o.ws_shift, 14);
    /* the last of a repeated option wins */
    const uint8_t twice[] = {2, 4, 0x05, 0xb4, 2, 4, 0x02, 0x18};
    assert_int_equal(axl_tcp_opts_parse(twice, sizeof(twice), &o), 0);
    assert_int_equal(o.mss, 536);
    /* four SACK blocks: the most one option holds */
    uint8_t s4[36] = {1, 1, 5, 34};
    for (unsigned i = 0; i < 8; i++) {
        s4[4 + 4 * i] = 0xff;
        s4[7 + 4 * i] = (uint8_t)i;
    }
    assert_int_equal(axl_tcp_opts_parse(s4, sizeof(s4), &o), 0);
    assert_int_equal(o.sack_n, 4);
    assert_int_equal(o.sack[3].left, 0xff000006u);
    assert_int_equal(o.sack[3].right, 0xff000007u);
    /* an option exactly filling the space */
    const uint8_t ts_exact[] = {8, 10, 0, 0, 0, 1, 0, 0, 0, 2};
    assert_int_equal(axl_tcp_opts_parse(ts_exact, sizeof(ts_exact), &o), 0);
    assert_int_equal(o.ts_val, 1);
    assert_int_equal(o.ts_ecr, 2);
}

static void opts_roundtrip(const struct axl_tcp_opts *o, size_t want_len)
{
    uint8_t b[40];
    struct axl_tcp_opts back;
    assert_int_equal(axl_tcp_opts_len(o), want_len);
    assert_int_equal(axl_tcp_opts_emit(o, b, sizeof(b)), (int)want_len);
    assert_int_equal(want_len % 4, 0);
    assert_int_equal(axl_tcp_opts_parse(b, want_len, &back), 0);
    assert_int_equal(back.has_mss, o->has_mss);
    assert_int_equal(back.has_ws, o->has_ws);
    assert_int_equal(back.has_sack_perm, o->has_sack_perm);
    assert_int_equal(back.has_ts, o->has_ts);
    assert_int_equal(back.sack_n, o->sack_n);
    if (o->has_mss) assert_int_equal(back.mss, o->mss);
    if (o->has_ws) assert_int_equal(back.ws_shift, o->ws_shift);
    if (o->has_ts) {
        assert_int_equal(back.ts_val, o->ts_val);
        assert_int_equal(back.ts_ecr, o->ts_ecr);
    }
    for (unsigned i = 0; i < o->sack_n; i++) {
        assert_int_equal(back.sack[i].left, o->sack[i].left);
        assert_int_equal(back.sack[i].right, o->sack[i].right);
    }
    if (want_len) assert_int_equal(axl_tcp_opts_emit(o, b, want_len - 1), AXL_ETRUNC);
}

static void test_opts_emit_layouts(void **state)
{
    (void)state;
    uint8_t b[40];
    /* SACK-permitted without timestamps: NOP NOP SACK-perm (as Linux) */
    struct axl_tcp_opts o = {.has_sack_perm = 1};
    assert_int_equal(axl_tcp_opts_emit(&o, b, sizeof(b)), 4);
    assert_memory_equal(b, ((const uint8_t[]){1, 1, 4, 2}), 4);
    /* timestamps without SACK-permitted: NOP NOP TS */
    o = (struct axl_tcp_opts){.has_ts = 1, .ts_val = 0x01020304, .ts_ecr = 0x05060708};
    assert_int_equal(axl_tcp_opts_emit(&o, b, sizeof(b)), 12);
    assert_memory_equal(b, ((const uint8_t[]){1, 1, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8}), 12);
    /* SACK-permitted rides in front of TS */
    o.has_sack_perm = 1;
    assert_int_equal(axl_tcp_opts_emit(&o, b, sizeof(b)), 12);
    assert_memory_equal(b, ((const uint8_t[]){4, 2, 8, 10}), 4);
    /* WS: NOP WS */
    o = (struct axl_tcp_opts){.has_ws = 1, .ws_shift = 14};
    assert_int_equal(axl_tcp_opts_emit(&o, b, sizeof(b)), 4);
    assert_memory_equal(b, ((const uint8_t[]){1, 3, 3, 14}), 4);
    /* SACK blocks: NOP NOP SACK */
    o = (struct axl_tcp_opts){.sack_n = 1, .sack = {{0xfffffff0u, 0x10}}};
    assert_int_equal(axl_tcp_opts_emit(&o, b, sizeof(b)), 12);
    assert_memory_equal(b, ((const uint8_t[]){1, 1, 5, 10, 0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 0x10}),
                        12);
    /* nothing: no bytes */
    o = (struct axl_tcp_opts){0};
    assert_int_equal(axl_tcp_opts_emit(&o, b, 0), 0);

    /* every combination round-trips and pads to a multiple of 4 */
    for (unsigned m = 0; m < 16; m++) {
        for (unsigned n = 0; n <= AXL_TCP_SACK_MAX; n++) {
            struct axl_tcp_opts c = {
                .has_mss = m & 1,
                .mss = 1400,
                .has_ws = (m >> 1) & 1,
                .ws_shift = 9,
                .has_sack_perm = (m >> 2) & 1,
                .has_ts = (m >> 3) & 1,
                .ts_val = 0xdeadbeefu,
                .ts_ecr = 0x01234567u,
                .sack_n = (uint8_t)n,
            };
            for (unsigned i = 0; i < n; i++)
                c.sack[i] = (struct axl_tcp_sack_block){1000u * i - 5000u, 1000u * i - 4500u};
            size_t len = (c.has_mss ? 4 : 0) +
                         (c.has_ts          ? 12
                          : c.has_sack_perm ? 4
                                            : 0) +
                         (c.has_ws ? 4 : 0) + (n ? 4 + 8 * n : 0);
            if (len <= AXL_TCP_OPT_MAX)
                opts_roundtrip(&c, len);
            else
                assert_int_equal(axl_tcp_opts_emit(&c, b, sizeof(b)), AXL_EMSGSIZE);
        }
    }
    /* timestamps leave room for 3 blocks, not 4 */
    o = (struct axl_tcp_opts){.has_ts = 1, .sack_n = AXL_TCP_SACK_MAX_TS};
    assert_int_equal(axl_tcp_opts_emit(&o, b, sizeof(b)), 40);
    o.sack_n = AXL_TCP_SACK_MAX;
    assert_int_equal(axl_tcp_opts_emit(&o, b, sizeof(b)), AXL_EMSGSIZE);
    /* values the wire cannot carry */
    o = (struct axl_tcp_opts){.has_ws = 1, .ws_shift = 15};
    assert_int_equal(axl_tcp_opts_emit(&o, b, sizeof(b)), AXL_EINVAL);
    o = (struct axl_tcp_opts){.sack_n = 5};
    assert_int_equal(axl_tcp_opts_emit(&o, b, sizeof(b)), AXL_EINVAL);
}

static void test_checksum_both_ways(void **state)
{
    (void)state;
    uint8_t b[64];
    /* every single-bit flip of a valid segment is caught */
    for (size_t i = 0; i < AXL_ARRAY_SIZE(fixtures); i++) {
        const struct fixture *f = &fixtures[i];
        for (size_t bit = 0; bit < f->len * 8; bit++) {
            memcpy(b, f->b, f->len);
            b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            struct axl_tcp_view v = {b, f->len};
            if (axl_tcp_view_check(&v) == 0)
                assert_int_equal(axl_tcp_view_verify(&v, f->src, f->dst), AXL_ECSUM);
        }
        /* the pseudo-header counts */
        struct axl_tcp_view v = {f->b, f->len};
        assert_int_equal(axl_tcp_view_verify(&v, f->src, f->dst + 1), AXL_ECSUM);
        assert_int_equal(axl_tcp_view_verify(&v, f->src ^ 0x100, f->dst), AXL_ECSUM);
    }
    /* odd payload lengths, payload given separately or copied: both verify */
    uint8_t pl[7] = {1, 2, 3, 4, 5, 6, 7};
    for (size_t n = 0; n <= sizeof(pl); n++) {
        struct axl_tcp_repr r = {.sport = 7,
                                 .dport = 9,
                                 .seq = 1,
                                 .ack = 2,
                                 .flags = AXL_TCP_ACK,
                                 .window = 1000,
                                 .payload = pl,
                                 .payload_len = n};
        uint8_t seg[64];
        int len = axl_tcp_repr_emit(&r, IP_A, IP_B, seg, sizeof(seg));
        assert_int_equal(len, (int)(20 + n));
        struct axl_tcp_view v = {seg, (size_t)len};
        assert_int_equal(axl_tcp_view_verify(&v, IP_A, IP_B), 0);
        uint8_t hdr[20];
        assert_int_equal(axl_tcp_repr_emit_hdr(&r, IP_A, IP_B, hdr, sizeof(hdr)), 20);
        assert_memory_equal(hdr, seg, 20);
    }
}

static void test_emit_payload_aliasing_and_limits(void **state)
{
    (void)state;
    /* payload already behind the header: used in place */
    uint8_t buf[80];
    memcpy(buf + 32, "hello axolotl\n", 14);
    struct axl_tcp_repr r;
    parse_ok(data, sizeof(data), &r);
    r.payload = buf + 32;
    assert_int_equal(axl_tcp_repr_emit(&r, IP_A, IP_B, buf, sizeof(buf)), 46);
    assert_memory_equal(buf, data, sizeof(data));
    /* payload overlapping the header area: moved first */
    memcpy(buf, "hello axolotl\n", 14);
    r.payload = buf;
    assert_int_equal(axl_tcp_repr_emit(&r, IP_A, IP_B, buf, sizeof(buf)), 46);
    assert_memory_equal(buf, data, sizeof(data));
    /* too long for the 16-bit pseudo-header length */
    r.payload_len = 65535 - 32 + 1;
    assert_int_equal(axl_tcp_repr_emit(&r, IP_A, IP_B, buf, sizeof(buf)), AXL_EMSGSIZE);
    assert_int_equal(axl_tcp_repr_emit_hdr(&r, IP_A, IP_B, buf, sizeof(buf)), AXL_EMSGSIZE);
    /* options that do not fit */
    r.payload_len = 0;
    r.opts.has_mss = r.opts.has_ws = 1;
    r.opts.sack_n = 3;
    assert_int_equal(axl_tcp_repr_emit(&r, IP_A, IP_B, buf, sizeof(buf)), AXL_EMSGSIZE);
    r.opts.sack_n = 2;
    assert_int_equal(axl_tcp_repr_emit(&r, IP_A, IP_B, buf, sizeof(buf)), 60);
    struct axl_tcp_view v = {buf, 60};
    assert_int_equal(axl_tcp_view_check(&v), 0);
    assert_int_equal(axl_tcp_view_hlen(&v), 60);
    assert_int_equal(axl_tcp_view_verify(&v, IP_A, IP_B), 0);
    r.opts.ws_shift = 15;
    assert_int_equal(axl_tcp_repr_emit(&r, IP_A, IP_B, buf, sizeof(buf)), AXL_EINVAL);
}

static void test_seq_compare(void **state)
{
    (void)state;
    assert_true(axl_seq_lt(1, 2));
    assert_false(axl_seq_lt(2, 2));
    assert_true(axl_seq_le(2, 2));
    assert_true(axl_seq_gt(3, 2));
    assert_true(axl_seq_ge(3, 3));
    /* across the wrap */
    assert_true(axl_seq_lt(0xfffffff0u, 0x10));
    assert_true(axl_seq_gt(0x10, 0xfffffff0u));
    assert_true(axl_seq_le(0xffffffffu, 0));
    assert_false(axl_seq_ge(0xffffffffu, 0));
    assert_true(axl_seq_lt(0x7fffffffu, 0x80000000u));
    /* the largest distance that still orders: 2^31 - 1 */
    assert_true(axl_seq_lt(100, 100 + 0x7fffffffu));
    assert_false(axl_seq_gt(100, 100 + 0x7fffffffu));
    assert_true(axl_seq_gt(100, 101 + 0x7fffffffu)); /* 2^31 + 1 ahead is behind */
    /* every pair (a, a + d), 0 < d < 2^31, and its mirror */
    for (uint32_t i = 0, a = 0xfffff000u; i < 64; i++, a += 0x101u) {
        for (uint64_t dd = 1; dd < 0x80000000u; dd = dd * 3 + 1) {
            uint32_t d = (uint32_t)dd;
            assert_true(axl_seq_lt(a, a + d));
            assert_true(axl_seq_gt(a + d, a));
            assert_false(axl_seq_ge(a, a + d));
            assert_int_equal(axl_seq_max(a, a + d), a + d);
            assert_int_equal(axl_seq_min(a + d, a), a);
        }
    }
    /* half-open ranges, also across the wrap */
    assert_true(axl_seq_between(0xfffffffeu, 0xfffffff0u, 0x10));
    assert_true(axl_seq_between(0, 0xfffffff0u, 0x10));
    assert_true(axl_seq_between(0xfffffff0u, 0xfffffff0u, 0x10));
    assert_false(axl_seq_between(0x10, 0xfffffff0u, 0x10));
    assert_false(axl_seq_between(0xffffffefu, 0xfffffff0u, 0x10));
    assert_false(axl_seq_between(5, 5, 5)); /* empty */
    /* RFC 9293 §3.4 "SND.UNA < SEG.ACK =< SND.NXT" as between(a - 1, una, nxt) */
    uint32_t una = 0xfffffffeu, nxt = 2;
    assert_false(axl_seq_between(una - 1, una, nxt));
    assert_true(axl_seq_between(0xffffffffu - 1, una, nxt));
    assert_true(axl_seq_between(nxt - 1, una, nxt));
    assert_false(axl_seq_between(nxt + 1 - 1, una, nxt));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_syn),
        cmocka_unit_test(test_parse_synack_data_sack),
        cmocka_unit_test(test_emit_fixtures_byte_exact),
        cmocka_unit_test(test_build_from_scratch),
        cmocka_unit_test(test_truncated_every_length),
        cmocka_unit_test(test_bad_data_offset),
        cmocka_unit_test(test_malformed_options),
        cmocka_unit_test(test_option_rules),
        cmocka_unit_test(test_opts_emit_layouts),
        cmocka_unit_test(test_checksum_both_ways),
        cmocka_unit_test(test_emit_payload_aliasing_and_limits),
        cmocka_unit_test(test_seq_compare),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
