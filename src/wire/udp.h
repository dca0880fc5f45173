/* SPDX-License-Identifier: MIT */
/*
 * udp.h - UDP datagrams (RFC 768): checked view, accessors, repr parse/emit.
 *
 *   0        2        4        6          8
 *   | sport  | dport  | length | checksum | data ...
 *
 * axl_udp_view_check() validates the structure: 0, AXL_ETRUNC (fewer than 8
 * bytes, or fewer than the length field says) or AXL_EMALFORMED (length field
 * below 8). Bytes after `length` are not part of the datagram.
 * The checksum needs the IPv4 pseudo-header, so it is a separate step:
 * axl_udp_view_verify() (a zero checksum means "none", RFC 768).
 *
 * Call chain: net/udp.c -> here.
 */
#ifndef AXL_WIRE_UDP_H
#define AXL_WIRE_UDP_H

#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"

enum {
    AXL_UDP_OFF_SPORT = 0,
    AXL_UDP_OFF_DPORT = 2,
    AXL_UDP_OFF_LEN = 4,
    AXL_UDP_OFF_CSUM = 6,
    AXL_UDP_HLEN = 8,
    /** Largest UDP payload in one IPv4 datagram: 65535 - 20 - 8. */
    AXL_UDP_MAX_PAYLOAD = 65507,
};

struct axl_udp_view {
    const uint8_t *p;
    size_t len;
};

int axl_udp_view_check(const struct axl_udp_view *v);
/* Verify the checksum of a checked view: 0 or AXL_ECSUM. saddr/daddr host order. */
int axl_udp_view_verify(const struct axl_udp_view *v, uint32_t saddr, uint32_t daddr);

static inline uint16_t axl_udp_view_sport(const struct axl_udp_view *v)
{
    return axl_load_be16(v->p + AXL_UDP_OFF_SPORT);
}
static inline uint16_t axl_udp_view_dport(const struct axl_udp_view *v)
{
    return axl_load_be16(v->p + AXL_UDP_OFF_DPORT);
}
static inline uint16_t axl_udp_view_len(const struct axl_udp_view *v)
{
    return axl_load_be16(v->p + AXL_UDP_OFF_LEN);
}
static inline uint16_t axl_udp_view_csum(const struct axl_udp_view *v)
{
    return axl_load_be16(v->p + AXL_UDP_OFF_CSUM);
}
static inline const uint8_t *axl_udp_view_payload(const struct axl_udp_view *v)
{
    return v->p + AXL_UDP_HLEN;
}
static inline size_t axl_udp_view_payload_len(const struct axl_udp_view *v)
{
    return (size_t)axl_udp_view_len(v) - AXL_UDP_HLEN;
}

struct axl_udp_repr {
    uint16_t sport, dport;  /* host order */
    const uint8_t *payload; /* may alias the output buffer */
    size_t payload_len;
};

void axl_udp_repr_parse(const struct axl_udp_view *v, struct axl_udp_repr *r);
/* Write header + payload with the checksum computed over the pseudo-header
 * (a computed 0 is sent as 0xffff, RFC 768). Returns 8 + payload_len,
 * AXL_ETRUNC (buffer too small) or AXL_EMSGSIZE (payload > 65527). */
int axl_udp_repr_emit(const struct axl_udp_repr *r, uint32_t saddr, uint32_t daddr, uint8_t *buf,
                      size_t len);

/* Checksum value to store for a datagram whose header+data partial sum
 * (checksum field zero) is `sum`; never 0 (RFC 768). */
uint16_t axl_udp_csum_finish(uint32_t sum, uint32_t saddr, uint32_t daddr, uint16_t udp_len);

#endif
