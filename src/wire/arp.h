/* SPDX-License-Identifier: MIT */
/*
 * arp.h - ARP packets for IPv4 over Ethernet (RFC 826): checked view,
 * accessors, repr parse/emit.
 *
 *   0     2     4    5    6    8     14    18    24    28
 *   |htype|ptype|hlen|plen| op | sha  | spa | tha  | tpa |
 *
 * Only the Ethernet/IPv4 instance is accepted: htype 1, ptype 0x0800, hlen 6,
 * plen 4 exactly, op 1 (request) or 2 (reply); anything else is malformed.
 * Bytes after the 28-byte body (Ethernet padding) are ignored.
 *
 * Call chain: net/arp.c -> here.
 */
#ifndef AXL_WIRE_ARP_H
#define AXL_WIRE_ARP_H

#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"

enum {
    AXL_ARP_OFF_HTYPE = 0,
    AXL_ARP_OFF_PTYPE = 2,
    AXL_ARP_OFF_HLEN = 4,
    AXL_ARP_OFF_PLEN = 5,
    AXL_ARP_OFF_OP = 6,
    AXL_ARP_OFF_SHA = 8,
    AXL_ARP_OFF_SPA = 14,
    AXL_ARP_OFF_THA = 18,
    AXL_ARP_OFF_TPA = 24,
    AXL_ARP_LEN = 28,
    AXL_ARP_HTYPE_ETHER = 1,
    AXL_ARP_OP_REQUEST = 1,
    AXL_ARP_OP_REPLY = 2,
};

struct axl_arp_view {
    const uint8_t *p;
    size_t len;
};

struct axl_arp_repr {
    uint16_t op;
    uint8_t sha[6];
    uint32_t spa; /* host order */
    uint8_t tha[6];
    uint32_t tpa; /* host order */
};

/* 0, AXL_ETRUNC (< 28 bytes) or AXL_EMALFORMED (not Ethernet/IPv4, bad op). */
int axl_arp_view_check(const struct axl_arp_view *v);

static inline uint16_t axl_arp_view_op(const struct axl_arp_view *v)
{
    return axl_load_be16(v->p + AXL_ARP_OFF_OP);
}
static inline const uint8_t *axl_arp_view_sha(const struct axl_arp_view *v)
{
    return v->p + AXL_ARP_OFF_SHA;
}
static inline uint32_t axl_arp_view_spa(const struct axl_arp_view *v)
{
    return axl_load_be32(v->p + AXL_ARP_OFF_SPA);
}
static inline const uint8_t *axl_arp_view_tha(const struct axl_arp_view *v)
{
    return v->p + AXL_ARP_OFF_THA;
}
static inline uint32_t axl_arp_view_tpa(const struct axl_arp_view *v)
{
    return axl_load_be32(v->p + AXL_ARP_OFF_TPA);
}

void axl_arp_repr_parse(const struct axl_arp_view *v, struct axl_arp_repr *r);
/* Write the 28-byte body. Returns 28 or AXL_ETRUNC. */
int axl_arp_repr_emit(const struct axl_arp_repr *r, uint8_t *buf, size_t len);

#endif
