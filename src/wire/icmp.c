/* SPDX-License-Identifier: MIT */
/*
 * icmp.c - RFC 792 message view check and repr parse/emit (see icmp.h).
 * Call chain: net/icmp.c -> here.
 */
#include "wire/icmp.h"

#include <string.h>

#include "core/err.h"
#include "wire/csum.h"

int axl_icmp_view_check(const struct axl_icmp_view *v)
{
    if (v->len < AXL_ICMP_HLEN) return AXL_ETRUNC;
    /* RFC 792: checksum over the whole ICMP message. */
    if (axl_csum(v->p, v->len) != 0) return AXL_ECSUM;
    return 0;
}

void axl_icmp_repr_parse(const struct axl_icmp_view *v, struct axl_icmp_repr *r)
{
    r->type = axl_icmp_view_type(v);
    r->code = axl_icmp_view_code(v);
    r->rest = axl_icmp_view_rest(v);
    r->data = axl_icmp_view_data(v);
    r->data_len = axl_icmp_view_data_len(v);
}

int axl_icmp_repr_emit(const struct axl_icmp_repr *r, uint8_t *buf, size_t len)
{
    if (len < AXL_ICMP_HLEN || len - AXL_ICMP_HLEN < r->data_len) return AXL_ETRUNC;
    if (r->data_len && r->data != buf + AXL_ICMP_HLEN)
        memmove(buf + AXL_ICMP_HLEN, r->data, r->data_len);
    buf[AXL_ICMP_OFF_TYPE] = r->type;
    buf[AXL_ICMP_OFF_CODE] = r->code;
    axl_store_be16(buf + AXL_ICMP_OFF_CSUM, 0);
    axl_store_be32(buf + AXL_ICMP_OFF_REST, r->rest);
    size_t n = AXL_ICMP_HLEN + r->data_len;
    axl_store_be16(buf + AXL_ICMP_OFF_CSUM, axl_csum(buf, n));
    return (int)n;
}
