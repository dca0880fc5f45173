/* SPDX-License-Identifier: MIT */
/*
 * eth.h - Ethernet II (DIX) frames: checked view, accessors, repr parse/emit.
 *
 *   0      6      12     14
 *   | dst  | src  | type | payload ...        (no FCS: ports strip/append it)
 *
 * A frame whose type/length field is below 0x0600 is an IEEE 802.3 length
 * frame (LLC/SNAP), not Ethernet II: the view check reports it malformed.
 * 802.1Q tags (0x8100) pass the check; the engine does not handle them.
 *
 * Call chain: net/stack.c (demux, link output) and net/arp.c -> here.
 */
#ifndef AXL_WIRE_ETH_H
#define AXL_WIRE_ETH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/compiler.h"

enum {
    AXL_ETH_OFF_DST = 0,
    AXL_ETH_OFF_SRC = 6,
    AXL_ETH_OFF_TYPE = 12,
    AXL_ETH_HLEN = 14,
    AXL_ETH_ALEN = 6,
    /** AXL_ETH_MIN_FRAME: shortest frame on the wire without the FCS (IEEE
     *  802.3 minFrameSize 64 minus 4). Output is padded to it. */
    AXL_ETH_MIN_FRAME = 60,
    /** Types below this value are 802.3 lengths, not Ethernet II types. */
    AXL_ETH_TYPE_MIN = 0x0600,
};

#define AXL_ETHERTYPE_IPV4 0x0800
#define AXL_ETHERTYPE_ARP  0x0806
#define AXL_ETHERTYPE_VLAN 0x8100
#define AXL_ETHERTYPE_IPV6 0x86dd

struct axl_eth_view {
    const uint8_t *p;
    size_t len;
};

struct axl_eth_repr {
    uint8_t dst[AXL_ETH_ALEN];
    uint8_t src[AXL_ETH_ALEN];
    uint16_t type;
};

/* 0, AXL_ETRUNC (< 14 bytes) or AXL_EMALFORMED (802.3 length field). */
int axl_eth_view_check(const struct axl_eth_view *v);

static inline const uint8_t *axl_eth_view_dst(const struct axl_eth_view *v)
{
    return v->p + AXL_ETH_OFF_DST;
}
static inline const uint8_t *axl_eth_view_src(const struct axl_eth_view *v)
{
    return v->p + AXL_ETH_OFF_SRC;
}
static inline uint16_t axl_eth_view_type(const struct axl_eth_view *v)
{
    return axl_load_be16(v->p + AXL_ETH_OFF_TYPE);
}
static inline const uint8_t *axl_eth_view_payload(const struct axl_eth_view *v)
{
    return v->p + AXL_ETH_HLEN;
}
static inline size_t axl_eth_view_payload_len(const struct axl_eth_view *v)
{
    return v->len - AXL_ETH_HLEN;
}

/* Fill r from a checked view. */
void axl_eth_repr_parse(const struct axl_eth_view *v, struct axl_eth_repr *r);
/* Write the 14-byte header to buf (len >= 14). Returns 14 or AXL_ETRUNC. */
int axl_eth_repr_emit(const struct axl_eth_repr *r, uint8_t *buf, size_t len);

/* Address classes. */
static inline int axl_eth_is_bcast(const uint8_t *a)
{
    return (a[0] & a[1] & a[2] & a[3] & a[4] & a[5]) == 0xff;
}
static inline int axl_eth_is_mcast(const uint8_t *a)
{
    return a[0] & 1;
} /* incl. broadcast */
static inline int axl_eth_is_zero(const uint8_t *a)
{
    return (a[0] | a[1] | a[2] | a[3] | a[4] | a[5]) == 0;
}
static inline int axl_eth_addr_eq(const uint8_t *a, const uint8_t *b)
{
    return memcmp(a, b, AXL_ETH_ALEN) == 0;
}

extern const uint8_t axl_eth_bcast_addr[AXL_ETH_ALEN];

#endif
