/* SPDX-License-Identifier: MIT */
/*
 * eth.c - Ethernet II view check and repr parse/emit (see eth.h).
 * Call chain: net/stack.c demux and link output -> here.
 */
#include "wire/eth.h"

#include "core/err.h"

const uint8_t axl_eth_bcast_addr[AXL_ETH_ALEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

int axl_eth_view_check(const struct axl_eth_view *v)
{
    if (v->len < AXL_ETH_HLEN) return AXL_ETRUNC;
    if (axl_eth_view_type(v) < AXL_ETH_TYPE_MIN) return AXL_EMALFORMED;
    return 0;
}

void axl_eth_repr_parse(const struct axl_eth_view *v, struct axl_eth_repr *r)
{
    memcpy(r->dst, v->p + AXL_ETH_OFF_DST, AXL_ETH_ALEN);
    memcpy(r->src, v->p + AXL_ETH_OFF_SRC, AXL_ETH_ALEN);
    r->type = axl_eth_view_type(v);
}

int axl_eth_repr_emit(const struct axl_eth_repr *r, uint8_t *buf, size_t len)
{
    if (len < AXL_ETH_HLEN) return AXL_ETRUNC;
    memcpy(buf + AXL_ETH_OFF_DST, r->dst, AXL_ETH_ALEN);
    memcpy(buf + AXL_ETH_OFF_SRC, r->src, AXL_ETH_ALEN);
    axl_store_be16(buf + AXL_ETH_OFF_TYPE, r->type);
    return AXL_ETH_HLEN;
}
