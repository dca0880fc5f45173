/* SPDX-License-Identifier: MIT */
/*
 * fuzz_tcp.c - libFuzzer target for the TCP view, options and repr
 * (src/wire/tcp.c). Input: 8 bytes of source and destination address, then
 * the segment. A checked view stays inside the buffer; options that parse
 * re-emit (when they fit 40 bytes) to options that parse to the same values;
 * a parsed segment re-emits to a segment that checks, verifies and parses
 * back to the same header fields and payload.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/compiler.h"
#include "core/err.h"
#include "wire/tcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int opts_equal(const struct axl_tcp_opts *a, const struct axl_tcp_opts *b)
{
    if (a->has_mss != b->has_mss || a->has_ws != b->has_ws ||
        a->has_sack_perm != b->has_sack_perm || a->has_ts != b->has_ts || a->sack_n != b->sack_n)
        return 0;
    if (a->has_mss && a->mss != b->mss) return 0;
    if (a->has_ws && a->ws_shift != b->ws_shift) return 0;
    if (a->has_ts && (a->ts_val != b->ts_val || a->ts_ecr != b->ts_ecr)) return 0;
    for (unsigned i = 0; i < a->sack_n; i++)
        if (a->sack[i].left != b->sack[i].left || a->sack[i].right != b->sack[i].right) return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t out[1 << 17];
    if (size < 8) return 0;
    uint32_t sa = axl_load_be32(data), da = axl_load_be32(data + 4);
    struct axl_tcp_view v = {data + 8, size - 8};
    if (axl_tcp_view_check(&v) < 0) return 0;
    unsigned hlen = axl_tcp_view_hlen(&v);
    if (hlen < AXL_TCP_HLEN_MIN || hlen > AXL_TCP_HLEN_MAX || hlen > v.len) abort();
    if (axl_tcp_view_payload_len(&v) + hlen != v.len) abort();
    int verified = axl_tcp_view_verify(&v, sa, da) == 0;

    struct axl_tcp_repr r;
    if (axl_tcp_repr_parse(&v, &r) < 0) return 0;
    if (r.opts.has_ws && r.opts.ws_shift > AXL_TCP_WS_MAX) abort();
    if (r.opts.sack_n > AXL_TCP_SACK_MAX) abort();

    /* options alone */
    uint8_t ob[AXL_TCP_OPT_MAX];
    int olen = axl_tcp_opts_emit(&r.opts, ob, sizeof(ob));
    if (olen == AXL_EMSGSIZE) {
        if (axl_tcp_opts_len(&r.opts) <= AXL_TCP_OPT_MAX) abort();
        return 0;
    }
    if (olen < 0 || olen % 4 != 0 || (size_t)olen != axl_tcp_opts_len(&r.opts)) abort();
    struct axl_tcp_opts back;
    if (axl_tcp_opts_parse(ob, (size_t)olen, &back) != 0 || !opts_equal(&r.opts, &back)) abort();

    /* the whole segment */
    if (r.payload_len > AXL_TCP_MAX_LEN - AXL_TCP_HLEN_MIN - (size_t)olen) return 0;
    int n = axl_tcp_repr_emit(&r, sa, da, out, sizeof(out));
    if (n != (int)(AXL_TCP_HLEN_MIN + (size_t)olen + r.payload_len)) abort();
    struct axl_tcp_view ov = {out, (size_t)n};
    struct axl_tcp_repr r2;
    if (axl_tcp_view_check(&ov) != 0 || axl_tcp_view_verify(&ov, sa, da) != 0) abort();
    if (axl_tcp_repr_parse(&ov, &r2) != 0) abort();
    if (r2.sport != r.sport || r2.dport != r.dport || r2.seq != r.seq || r2.ack != r.ack ||
        r2.flags != r.flags || r2.window != r.window || r2.urg != r.urg ||
        r2.payload_len != r.payload_len || !opts_equal(&r.opts, &r2.opts) ||
        memcmp(r2.payload, r.payload, r.payload_len) != 0)
        abort();
    /* A verified segment whose options were already in canonical layout
     * (and reserved bits zero) re-emits to the same bytes; the checksum field
     * is left out because 0x0000 and 0xffff are the same ones'-complement
     * value and both verify. */
    if (verified && (size_t)olen == axl_tcp_view_opts_len(&v) && axl_tcp_view_reserved(&v) == 0 &&
        memcmp(out + AXL_TCP_HLEN_MIN, axl_tcp_view_opts(&v), (size_t)olen) == 0 &&
        (memcmp(out, v.p, AXL_TCP_OFF_CSUM) != 0 ||
         memcmp(out + AXL_TCP_OFF_URG, v.p + AXL_TCP_OFF_URG, (size_t)n - AXL_TCP_OFF_URG) != 0))
        abort();
    return 0;
}
