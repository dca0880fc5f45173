/* SPDX-License-Identifier: MIT */
/*
 * icmp.h - ICMP for IPv4 (RFC 792): checked view, accessors, repr parse/emit.
 *
 *   0      1      2          4                8
 *   | type | code | checksum | rest of header | data ...
 *
 * The checksum covers the whole message (header and data), so the view check
 * verifies it: 0, AXL_ETRUNC (< 8 bytes) or AXL_ECSUM.
 * "rest of header" is identifier+sequence for echo, unused (0) for
 * destination unreachable (next-hop MTU in its low 16 bits for code 4,
 * RFC 1191) and time exceeded; the data of an error message is the offending
 * datagram's IP header plus at least its first 8 data bytes (RFC 792,
 * RFC 1122 §3.2.2).
 *
 * Call chain: net/icmp.c -> here.
 */
#ifndef AXL_WIRE_ICMP_H
#define AXL_WIRE_ICMP_H

#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"

enum {
    AXL_ICMP_OFF_TYPE = 0,
    AXL_ICMP_OFF_CODE = 1,
    AXL_ICMP_OFF_CSUM = 2,
    AXL_ICMP_OFF_REST = 4,
    AXL_ICMP_OFF_ID = 4,
    AXL_ICMP_OFF_SEQ = 6,
    AXL_ICMP_HLEN = 8,
};

/* Types (RFC 792) */
enum {
    AXL_ICMP_ECHO_REPLY = 0,
    AXL_ICMP_DEST_UNREACH = 3,
    AXL_ICMP_SOURCE_QUENCH = 4,
    AXL_ICMP_REDIRECT = 5,
    AXL_ICMP_ECHO_REQUEST = 8,
    AXL_ICMP_TIME_EXCEEDED = 11,
    AXL_ICMP_PARAM_PROBLEM = 12,
    AXL_ICMP_TIMESTAMP = 13,
    AXL_ICMP_TIMESTAMP_REPLY = 14,
};

/* Destination unreachable codes (RFC 792, RFC 1122 §3.2.2.1) */
enum {
    AXL_ICMP_NET_UNREACH = 0,
    AXL_ICMP_HOST_UNREACH = 1,
    AXL_ICMP_PROTO_UNREACH = 2,
    AXL_ICMP_PORT_UNREACH = 3,
    AXL_ICMP_FRAG_NEEDED = 4,
};

/* Time exceeded codes */
enum {
    AXL_ICMP_TTL_EXCEEDED = 0,
    AXL_ICMP_REASM_EXCEEDED = 1,
};

/* RFC 1122 §3.2.2: the error messages (never sent in response to one). */
static inline int axl_icmp_type_is_error(uint8_t type)
{
    return type == AXL_ICMP_DEST_UNREACH || type == AXL_ICMP_SOURCE_QUENCH ||
           type == AXL_ICMP_REDIRECT || type == AXL_ICMP_TIME_EXCEEDED ||
           type == AXL_ICMP_PARAM_PROBLEM;
}

struct axl_icmp_view {
    const uint8_t *p;
    size_t len;
};

int axl_icmp_view_check(const struct axl_icmp_view *v);

static inline uint8_t axl_icmp_view_type(const struct axl_icmp_view *v)
{
    return v->p[0];
}
static inline uint8_t axl_icmp_view_code(const struct axl_icmp_view *v)
{
    return v->p[1];
}
static inline uint16_t axl_icmp_view_csum(const struct axl_icmp_view *v)
{
    return axl_load_be16(v->p + AXL_ICMP_OFF_CSUM);
}
static inline uint32_t axl_icmp_view_rest(const struct axl_icmp_view *v)
{
    return axl_load_be32(v->p + AXL_ICMP_OFF_REST);
}
static inline uint16_t axl_icmp_view_echo_id(const struct axl_icmp_view *v)
{
    return axl_load_be16(v->p + AXL_ICMP_OFF_ID);
}
static inline uint16_t axl_icmp_view_echo_seq(const struct axl_icmp_view *v)
{
    return axl_load_be16(v->p + AXL_ICMP_OFF_SEQ);
}
static inline const uint8_t *axl_icmp_view_data(const struct axl_icmp_view *v)
{
    return v->p + AXL_ICMP_HLEN;
}
static inline size_t axl_icmp_view_data_len(const struct axl_icmp_view *v)
{
    return v->len - AXL_ICMP_HLEN;
}

struct axl_icmp_repr {
    uint8_t type;
    uint8_t code;
    uint32_t rest;       /* host order; echo: id << 16 | seq */
    const uint8_t *data; /* message data (may alias the output buffer) */
    size_t data_len;
};

/* From a checked view; r->data points into the view. */
void axl_icmp_repr_parse(const struct axl_icmp_view *v, struct axl_icmp_repr *r);
/* Write header + data (data is moved if it overlaps buf) and the checksum.
 * Returns 8 + data_len or AXL_ETRUNC. */
int axl_icmp_repr_emit(const struct axl_icmp_repr *r, uint8_t *buf, size_t len);

#endif
