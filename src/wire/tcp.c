/* SPDX-License-Identifier: MIT */
/*
 * tcp.c - RFC 9293 segment view check, checksum, option parse/emit and repr
 * parse/emit (tcp.h).
 * Call chain: net/tcp input/output -> here.
 */
#include "wire/tcp.h"

#include <string.h>

#include "core/err.h"
#include "wire/csum.h"
#include "wire/ipv4.h"

int axl_tcp_view_check(const struct axl_tcp_view *v)
{
    if (v->len < AXL_TCP_HLEN_MIN) return AXL_ETRUNC;
    unsigned hlen = axl_tcp_view_hlen(v);
    /* RFC 9293 §3.1: the data offset counts the header in 32-bit words, at
     * least 5; a header that claims more than the segment holds is broken. */
    if (hlen < AXL_TCP_HLEN_MIN || hlen > v->len) return AXL_EMALFORMED;
    return 0;
}

int axl_tcp_view_verify(const struct axl_tcp_view *v, uint32_t saddr, uint32_t daddr)
{
    if (v->len > AXL_TCP_MAX_LEN) return AXL_ECSUM;
    uint32_t sum = axl_csum_pseudo_ipv4(saddr, daddr, AXL_IPPROTO_TCP, (uint16_t)v->len);
    sum = axl_csum_partial(v->p, v->len, sum);
    return axl_csum_fold(sum) == 0 ? 0 : AXL_ECSUM;
}

/* Options. Hot on every received segment: a data segment usually carries
 * NOP NOP TS (12 bytes), so the loop runs three times. */
int axl_tcp_opts_parse(const uint8_t *opt, size_t len, struct axl_tcp_opts *o)
{
    memset(o, 0, sizeof(*o));
    size_t i = 0;
    while (i < len) {
        uint8_t kind = opt[i];
        if (kind == AXL_TCPOPT_EOL) break; /* RFC 9293 §3.2: the rest is padding */
        if (kind == AXL_TCPOPT_NOP) {
            i++;
            continue;
        }
        /* Every other option has a length octet counting kind and length
         * (RFC 9293 §3.2); below 2 or past the header is illegal (MUST-7). */
        if (len - i < 2) return AXL_EMALFORMED;
        size_t olen = opt[i + 1];
        if (olen < 2 || olen > len - i) return AXL_EMALFORMED;
        const uint8_t *d = opt + i + 2;
        switch (kind) {
        case AXL_TCPOPT_MSS: /* RFC 9293 §3.2 */
            if (olen != AXL_TCPOLEN_MSS) return AXL_EMALFORMED;
            o->has_mss = 1;
            o->mss = axl_load_be16(d);
            break;
        case AXL_TCPOPT_WS: /* RFC 7323 §2.2 */
            if (olen != AXL_TCPOLEN_WS) return AXL_EMALFORMED;
            o->has_ws = 1;
            /* RFC 7323 §2.3: a shift above 14 MUST be used as 14. */
            o->ws_shift = d[0] > AXL_TCP_WS_MAX ? AXL_TCP_WS_MAX : d[0];
            break;
        case AXL_TCPOPT_SACK_PERM: /* RFC 2018 §2 */
            if (olen != AXL_TCPOLEN_SACK_PERM) return AXL_EMALFORMED;
            o->has_sack_perm = 1;
            break;
        case AXL_TCPOPT_SACK: { /* RFC 2018 §3: 2 + 8n, n >= 1 */
            size_t n = (olen - 2) / 8;
            if ((olen - 2) % 8 != 0 || n < 1 || n > AXL_TCP_SACK_MAX) return AXL_EMALFORMED;
            o->sack_n = (uint8_t)n;
            for (size_t b = 0; b < n; b++) {
                o->sack[b].left = axl_load_be32(d + 8 * b);
                o->sack[b].right = axl_load_be32(d + 8 * b + 4);
            }
            break;
        }
        case AXL_TCPOPT_TS: /* RFC 7323 §3.2 */
            if (olen != AXL_TCPOLEN_TS) return AXL_EMALFORMED;
            o->has_ts = 1;
            o->ts_val = axl_load_be32(d);
            o->ts_ecr = axl_load_be32(d + 4);
            break;
        default:
            break; /* RFC 9293 §3.2 (MUST-5): unknown options are skipped */
        }
        i += olen;
    }
    return 0;
}

size_t axl_tcp_opts_len(const struct axl_tcp_opts *o)
{
    size_t n = 0;
    if (o->has_mss) n += 4;
    if (o->has_ts)
        n += 12; /* SACK-permitted, if any, rides in its padding */
    else if (o->has_sack_perm)
        n += 4;
    if (o->has_ws) n += 4;
    if (o->sack_n) n += 4 + 8 * (size_t)o->sack_n;
    return n;
}

int axl_tcp_opts_emit(const struct axl_tcp_opts *o, uint8_t *buf, size_t len)
{
    if (o->has_ws && o->ws_shift > AXL_TCP_WS_MAX) return AXL_EINVAL;
    if (o->sack_n > AXL_TCP_SACK_MAX) return AXL_EINVAL;
    size_t need = axl_tcp_opts_len(o);
    if (need > AXL_TCP_OPT_MAX) return AXL_EMSGSIZE;
    if (need > len) return AXL_ETRUNC;
    uint8_t *p = buf;
    if (o->has_mss) {
        p[0] = AXL_TCPOPT_MSS;
        p[1] = AXL_TCPOLEN_MSS;
        axl_store_be16(p + 2, o->mss);
        p += 4;
    }
    if (o->has_ts) {
        if (o->has_sack_perm) {
            p[0] = AXL_TCPOPT_SACK_PERM;
            p[1] = AXL_TCPOLEN_SACK_PERM;
        } else {
            p[0] = AXL_TCPOPT_NOP;
            p[1] = AXL_TCPOPT_NOP;
        }
        p[2] = AXL_TCPOPT_TS;
        p[3] = AXL_TCPOLEN_TS;
        axl_store_be32(p + 4, o->ts_val);
        axl_store_be32(p + 8, o->ts_ecr);
        p += 12;
    } else if (o->has_sack_perm) {
        p[0] = AXL_TCPOPT_NOP;
        p[1] = AXL_TCPOPT_NOP;
        p[2] = AXL_TCPOPT_SACK_PERM;
        p[3] = AXL_TCPOLEN_SACK_PERM;
        p += 4;
    }
    if (o->has_ws) {
        p[0] = AXL_TCPOPT_NOP;
        p[1] = AXL_TCPOPT_WS;
        p[2] = AXL_TCPOLEN_WS;
        p[3] = o->ws_shift;
        p += 4;
    }
    if (o->sack_n) {
        p[0] = AXL_TCPOPT_NOP;
        p[1] = AXL_TCPOPT_NOP;
        p[2] = AXL_TCPOPT_SACK;
        p[3] = (uint8_t)(2 + 8 * o->sack_n);
        p += 4;
        for (unsigned b = 0; b < o->sack_n; b++) {
            axl_store_be32(p, o->sack[b].left);
            axl_store_be32(p + 4, o->sack[b].right);
            p += 8;
        }
    }
    return (int)(p - buf);
}

int axl_tcp_repr_parse(const struct axl_tcp_view *v, struct axl_tcp_repr *r)
{
    r->sport = axl_tcp_view_sport(v);
    r->dport = axl_tcp_view_dport(v);
    r->seq = axl_tcp_view_seq(v);
    r->ack = axl_tcp_view_ack(v);
    r->flags = axl_tcp_view_flags(v);
    r->window = axl_tcp_view_window(v);
    r->urg = axl_tcp_view_urg(v);
    r->payload = axl_tcp_view_payload(v);
    r->payload_len = axl_tcp_view_payload_len(v);
    return axl_tcp_opts_parse(axl_tcp_view_opts(v), axl_tcp_view_opts_len(v), &r->opts);
}

uint16_t axl_tcp_csum_finish(uint32_t sum, uint32_t saddr, uint32_t daddr, uint16_t tcp_len)
{
    sum = axl_csum_add32(sum, axl_csum_pseudo_ipv4(saddr, daddr, AXL_IPPROTO_TCP, tcp_len));
    return axl_csum_fold(sum);
}

/* Header length for *r, or AXL_EINVAL / AXL_EMSGSIZE when it cannot be sent. */
static int repr_hlen(const struct axl_tcp_repr *r)
{
    if (r->opts.has_ws && r->opts.ws_shift > AXL_TCP_WS_MAX) return AXL_EINVAL;
    if (r->opts.sack_n > AXL_TCP_SACK_MAX) return AXL_EINVAL;
    size_t olen = axl_tcp_opts_len(&r->opts);
    if (olen > AXL_TCP_OPT_MAX) return AXL_EMSGSIZE;
    size_t hlen = AXL_TCP_HLEN_MIN + olen;
    if (r->payload_len > AXL_TCP_MAX_LEN - hlen) return AXL_EMSGSIZE;
    return (int)hlen;
}

/* Header (hlen bytes, checked by repr_hlen) into buf, checksum over the
 * header, r->payload and the pseudo-header. */
static void emit_header(const struct axl_tcp_repr *r, uint32_t saddr, uint32_t daddr, uint8_t *buf,
                        size_t hlen)
{
    axl_tcp_opts_emit(&r->opts, buf + AXL_TCP_HLEN_MIN, hlen - AXL_TCP_HLEN_MIN);
    axl_store_be16(buf + AXL_TCP_OFF_SPORT, r->sport);
    axl_store_be16(buf + AXL_TCP_OFF_DPORT, r->dport);
    axl_store_be32(buf + AXL_TCP_OFF_SEQ, r->seq);
    axl_store_be32(buf + AXL_TCP_OFF_ACK, r->ack);
    buf[AXL_TCP_OFF_DOFF] = (uint8_t)((hlen / 4) << 4); /* reserved bits zero (§3.1) */
    buf[AXL_TCP_OFF_FLAGS] = r->flags;
    axl_store_be16(buf + AXL_TCP_OFF_WIN, r->window);
    axl_store_be16(buf + AXL_TCP_OFF_CSUM, 0);
    axl_store_be16(buf + AXL_TCP_OFF_URG, r->urg);
    /* The header length is a multiple of 4, so the payload sum chains on. */
    uint32_t sum = axl_csum_partial(buf, hlen, 0);
    if (r->payload_len) sum = axl_csum_partial(r->payload, r->payload_len, sum);
    uint16_t tlen = (uint16_t)(hlen + r->payload_len);
    axl_store_be16(buf + AXL_TCP_OFF_CSUM, axl_tcp_csum_finish(sum, saddr, daddr, tlen));
}

int axl_tcp_repr_emit_hdr(const struct axl_tcp_repr *r, uint32_t saddr, uint32_t daddr,
                          uint8_t *buf, size_t len)
{
    int hlen = repr_hlen(r);
    if (hlen < 0) return hlen;
    if (len < (size_t)hlen) return AXL_ETRUNC;
    emit_header(r, saddr, daddr, buf, (size_t)hlen);
    return hlen;
}

int axl_tcp_repr_emit(const struct axl_tcp_repr *r, uint32_t saddr, uint32_t daddr, uint8_t *buf,
                      size_t len)
{
    int hlen = repr_hlen(r);
    if (hlen < 0) return hlen;
    if (len < (size_t)hlen || len - (size_t)hlen < r->payload_len) return AXL_ETRUNC;
    /* Move the payload first: it may overlap where the header goes. */
    if (r->payload_len && r->payload != buf + hlen) memmove(buf + hlen, r->payload, r->payload_len);
    struct axl_tcp_repr in_place = *r;
    in_place.payload = buf + hlen;
    emit_header(&in_place, saddr, daddr, buf, (size_t)hlen);
    return hlen + (int)r->payload_len;
}
