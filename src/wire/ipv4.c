/* SPDX-License-Identifier: MIT */
/*
 * ipv4.c - RFC 791 header view check and repr parse/emit (see ipv4.h).
 * Call chain: net/ipv4.c input/output, net/icmp.c quote checks -> here.
 */
#include "wire/ipv4.h"

#include "core/err.h"
#include "wire/csum.h"

static int fail(enum axl_ipv4_fault *fault, enum axl_ipv4_fault why, int err)
{
    if (fault) *fault = why;
    return err;
}

int axl_ipv4_view_check(const struct axl_ipv4_view *v, enum axl_ipv4_fault *fault)
{
    if (v->len < AXL_IPV4_HLEN_MIN) return fail(fault, AXL_IPV4_FAULT_TRUNC, AXL_ETRUNC);
    if (axl_ipv4_view_version(v) != 4) return fail(fault, AXL_IPV4_FAULT_VERSION, AXL_EMALFORMED);
    unsigned hlen = axl_ipv4_view_hlen(v);
    if (hlen < AXL_IPV4_HLEN_MIN) return fail(fault, AXL_IPV4_FAULT_IHL, AXL_EMALFORMED);
    if (hlen > v->len) return fail(fault, AXL_IPV4_FAULT_TRUNC, AXL_ETRUNC);
    unsigned tot = axl_ipv4_view_total_len(v);
    if (tot < hlen) return fail(fault, AXL_IPV4_FAULT_LEN, AXL_EMALFORMED);
    if (tot > v->len) return fail(fault, AXL_IPV4_FAULT_TRUNC, AXL_ETRUNC);
    /* RFC 791 §3.1: the checksum covers the header only, options included. */
    if (axl_csum(v->p, hlen) != 0) return fail(fault, AXL_IPV4_FAULT_CSUM, AXL_ECSUM);
    return fail(fault, AXL_IPV4_FAULT_NONE, 0);
}

void axl_ipv4_repr_parse(const struct axl_ipv4_view *v, struct axl_ipv4_repr *r)
{
    r->src = axl_ipv4_view_src(v);
    r->dst = axl_ipv4_view_dst(v);
    r->proto = axl_ipv4_view_proto(v);
    r->ttl = axl_ipv4_view_ttl(v);
    r->tos = axl_ipv4_view_tos(v);
    r->df = (uint8_t)axl_ipv4_view_df(v);
    r->mf = (uint8_t)axl_ipv4_view_mf(v);
    r->id = axl_ipv4_view_id(v);
    r->frag_off = (uint16_t)axl_ipv4_view_frag_off(v);
    r->payload_len = (uint16_t)axl_ipv4_view_payload_len(v);
}

int axl_ipv4_repr_emit(const struct axl_ipv4_repr *r, uint8_t *buf, size_t len)
{
    if (len < AXL_IPV4_HLEN_MIN) return AXL_ETRUNC;
    if ((uint32_t)r->payload_len + AXL_IPV4_HLEN_MIN > AXL_IPV4_MAX_LEN || (r->frag_off & 7))
        return AXL_EMSGSIZE;
    uint16_t frag = (uint16_t)(r->frag_off / 8);
    if (r->df) frag |= AXL_IPV4_DF;
    if (r->mf) frag |= AXL_IPV4_MF;
    buf[AXL_IPV4_OFF_VHL] = 0x45;
    buf[AXL_IPV4_OFF_TOS] = r->tos;
    axl_store_be16(buf + AXL_IPV4_OFF_LEN, (uint16_t)(r->payload_len + AXL_IPV4_HLEN_MIN));
    axl_store_be16(buf + AXL_IPV4_OFF_ID, r->id);
    axl_store_be16(buf + AXL_IPV4_OFF_FRAG, frag);
    buf[AXL_IPV4_OFF_TTL] = r->ttl;
    buf[AXL_IPV4_OFF_PROTO] = r->proto;
    axl_store_be16(buf + AXL_IPV4_OFF_CSUM, 0);
    axl_store_be32(buf + AXL_IPV4_OFF_SRC, r->src);
    axl_store_be32(buf + AXL_IPV4_OFF_DST, r->dst);
    axl_store_be16(buf + AXL_IPV4_OFF_CSUM, axl_csum(buf, AXL_IPV4_HLEN_MIN));
    return AXL_IPV4_HLEN_MIN;
}
