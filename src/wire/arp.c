/* SPDX-License-Identifier: MIT */
/*
 * arp.c - RFC 826 packet view check and repr parse/emit (see arp.h).
 * Call chain: net/arp.c -> here.
 */
#include "wire/arp.h"

#include <string.h>

#include "core/err.h"
#include "wire/eth.h"

int axl_arp_view_check(const struct axl_arp_view *v)
{
    if (v->len < AXL_ARP_LEN) return AXL_ETRUNC;
    const uint8_t *p = v->p;
    if (axl_load_be16(p + AXL_ARP_OFF_HTYPE) != AXL_ARP_HTYPE_ETHER ||
        axl_load_be16(p + AXL_ARP_OFF_PTYPE) != AXL_ETHERTYPE_IPV4 || p[AXL_ARP_OFF_HLEN] != 6 ||
        p[AXL_ARP_OFF_PLEN] != 4)
        return AXL_EMALFORMED;
    uint16_t op = axl_arp_view_op(v);
    if (op != AXL_ARP_OP_REQUEST && op != AXL_ARP_OP_REPLY) return AXL_EMALFORMED;
    return 0;
}

void axl_arp_repr_parse(const struct axl_arp_view *v, struct axl_arp_repr *r)
{
    r->op = axl_arp_view_op(v);
    memcpy(r->sha, v->p + AXL_ARP_OFF_SHA, 6);
    r->spa = axl_arp_view_spa(v);
    memcpy(r->tha, v->p + AXL_ARP_OFF_THA, 6);
    r->tpa = axl_arp_view_tpa(v);
}

int axl_arp_repr_emit(const struct axl_arp_repr *r, uint8_t *buf, size_t len)
{
    if (len < AXL_ARP_LEN) return AXL_ETRUNC;
    axl_store_be16(buf + AXL_ARP_OFF_HTYPE, AXL_ARP_HTYPE_ETHER);
    axl_store_be16(buf + AXL_ARP_OFF_PTYPE, AXL_ETHERTYPE_IPV4);
    buf[AXL_ARP_OFF_HLEN] = 6;
    buf[AXL_ARP_OFF_PLEN] = 4;
    axl_store_be16(buf + AXL_ARP_OFF_OP, r->op);
    memcpy(buf + AXL_ARP_OFF_SHA, r->sha, 6);
    axl_store_be32(buf + AXL_ARP_OFF_SPA, r->spa);
    memcpy(buf + AXL_ARP_OFF_THA, r->tha, 6);
    axl_store_be32(buf + AXL_ARP_OFF_TPA, r->tpa);
    return AXL_ARP_LEN;
}
