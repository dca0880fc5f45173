/* SPDX-License-Identifier: MIT */
/*
 * ipv4.h - IPv4 headers (RFC 791): checked view, accessors, repr parse/emit,
 * address classes.
 *
 *   0       4       8              16    19                     31
 *   |version|  IHL  |     TOS      |        total length         |
 *   |         identification       |flags|   fragment offset     |
 *   |     TTL       |   protocol   |       header checksum       |
 *   |                      source address                        |
 *   |                   destination address                      |
 *   |                options (IHL > 5) ...                       |
 *
 * axl_ipv4_view_check() accepts a header when: version == 4, IHL >= 5,
 * IHL*4 <= total length <= bytes available, and the header checksum is right.
 * Bytes beyond the total length (Ethernet padding) are not part of the
 * datagram: use axl_ipv4_view_payload_len(). Options are skipped, never
 * interpreted (RFC 1122 §3.2.1.8 options are not honoured; see
 * docs/CONFORMANCE.md). The repr always emits a 20-byte header.
 *
 * Call chain: net/ipv4.c, net/icmp.c -> here.
 */
#ifndef AXL_WIRE_IPV4_H
#define AXL_WIRE_IPV4_H

#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"

enum {
    AXL_IPV4_OFF_VHL = 0,
    AXL_IPV4_OFF_TOS = 1,
    AXL_IPV4_OFF_LEN = 2,
    AXL_IPV4_OFF_ID = 4,
    AXL_IPV4_OFF_FRAG = 6,
    AXL_IPV4_OFF_TTL = 8,
    AXL_IPV4_OFF_PROTO = 9,
    AXL_IPV4_OFF_CSUM = 10,
    AXL_IPV4_OFF_SRC = 12,
    AXL_IPV4_OFF_DST = 16,
    AXL_IPV4_HLEN_MIN = 20,
    AXL_IPV4_HLEN_MAX = 60,
    /** Largest datagram (RFC 791 total length is 16 bits). */
    AXL_IPV4_MAX_LEN = 65535,
    /** Smallest MTU every IPv4 link must carry (RFC 791). */
    AXL_IPV4_MIN_MTU = 68,
};

#define AXL_IPV4_DF        0x4000u
#define AXL_IPV4_MF        0x2000u
#define AXL_IPV4_FRAG_MASK 0x1fffu

#define AXL_IPPROTO_ICMP 1
#define AXL_IPPROTO_TCP  6
#define AXL_IPPROTO_UDP  17

/* Why a header failed its check (the engine counts each separately). */
enum axl_ipv4_fault {
    AXL_IPV4_FAULT_NONE = 0,
    AXL_IPV4_FAULT_TRUNC,   /* buffer shorter than 20, IHL*4, or total length */
    AXL_IPV4_FAULT_VERSION, /* version != 4 */
    AXL_IPV4_FAULT_IHL,     /* IHL < 5 */
    AXL_IPV4_FAULT_LEN,     /* total length < IHL*4 */
    AXL_IPV4_FAULT_CSUM,    /* header checksum */
};

struct axl_ipv4_view {
    const uint8_t *p;
    size_t len;
};

/* 0, AXL_ETRUNC, AXL_EMALFORMED or AXL_ECSUM; *fault (may be NULL) says which
 * rule failed. */
int axl_ipv4_view_check(const struct axl_ipv4_view *v, enum axl_ipv4_fault *fault);

static inline unsigned axl_ipv4_view_version(const struct axl_ipv4_view *v)
{
    return v->p[0] >> 4;
}
static inline unsigned axl_ipv4_view_hlen(const struct axl_ipv4_view *v)
{
    return (unsigned)(v->p[0] & 0x0f) * 4;
}
static inline uint8_t axl_ipv4_view_tos(const struct axl_ipv4_view *v)
{
    return v->p[AXL_IPV4_OFF_TOS];
}
static inline uint16_t axl_ipv4_view_total_len(const struct axl_ipv4_view *v)
{
    return axl_load_be16(v->p + AXL_IPV4_OFF_LEN);
}
static inline uint16_t axl_ipv4_view_id(const struct axl_ipv4_view *v)
{
    return axl_load_be16(v->p + AXL_IPV4_OFF_ID);
}
static inline int axl_ipv4_view_df(const struct axl_ipv4_view *v)
{
    return (axl_load_be16(v->p + AXL_IPV4_OFF_FRAG) & AXL_IPV4_DF) != 0;
}
static inline int axl_ipv4_view_mf(const struct axl_ipv4_view *v)
{
    return (axl_load_be16(v->p + AXL_IPV4_OFF_FRAG) & AXL_IPV4_MF) != 0;
}
/* Fragment offset in bytes. */
static inline uint32_t axl_ipv4_view_frag_off(const struct axl_ipv4_view *v)
{
    return (uint32_t)(axl_load_be16(v->p + AXL_IPV4_OFF_FRAG) & AXL_IPV4_FRAG_MASK) * 8;
}
static inline int axl_ipv4_view_is_frag(const struct axl_ipv4_view *v)
{
    return (axl_load_be16(v->p + AXL_IPV4_OFF_FRAG) & (AXL_IPV4_MF | AXL_IPV4_FRAG_MASK)) != 0;
}
static inline uint8_t axl_ipv4_view_ttl(const struct axl_ipv4_view *v)
{
    return v->p[AXL_IPV4_OFF_TTL];
}
static inline uint8_t axl_ipv4_view_proto(const struct axl_ipv4_view *v)
{
    return v->p[AXL_IPV4_OFF_PROTO];
}
static inline uint16_t axl_ipv4_view_csum(const struct axl_ipv4_view *v)
{
    return axl_load_be16(v->p + AXL_IPV4_OFF_CSUM);
}
static inline uint32_t axl_ipv4_view_src(const struct axl_ipv4_view *v)
{
    return axl_load_be32(v->p + AXL_IPV4_OFF_SRC);
}
static inline uint32_t axl_ipv4_view_dst(const struct axl_ipv4_view *v)
{
    return axl_load_be32(v->p + AXL_IPV4_OFF_DST);
}
static inline const uint8_t *axl_ipv4_view_payload(const struct axl_ipv4_view *v)
{
    return v->p + axl_ipv4_view_hlen(v);
}
/* Payload bytes by the total length field (not counting padding). */
static inline uint32_t axl_ipv4_view_payload_len(const struct axl_ipv4_view *v)
{
    return (uint32_t)axl_ipv4_view_total_len(v) - axl_ipv4_view_hlen(v);
}

/* A header without options. */
struct axl_ipv4_repr {
    uint32_t src, dst; /* host order */
    uint8_t proto;
    uint8_t ttl;
    uint8_t tos;
    uint8_t df; /* don't fragment */
    uint8_t mf; /* more fragments */
    uint16_t id;
    uint16_t frag_off;    /* bytes, a multiple of 8 */
    uint16_t payload_len; /* bytes after the header */
};

/* From a checked view (options, if any, are dropped from the repr). */
void axl_ipv4_repr_parse(const struct axl_ipv4_view *v, struct axl_ipv4_repr *r);
/* Write a 20-byte header with its checksum. Returns 20, AXL_ETRUNC (len < 20)
 * or AXL_EMSGSIZE (20 + payload_len > 65535, or frag_off not a multiple of 8). */
int axl_ipv4_repr_emit(const struct axl_ipv4_repr *r, uint8_t *buf, size_t len);

/* Address classes (host order). */
#define AXL_IPV4_BCAST 0xffffffffu
static inline int axl_ipv4_is_mcast(uint32_t a)
{
    return (a >> 28) == 0xe;
} /* 224/4 */
static inline int axl_ipv4_is_loopback(uint32_t a)
{
    return (a >> 24) == 127;
} /* 127/8 */
static inline int axl_ipv4_is_reserved(uint32_t a)
{
    return (a >> 28) == 0xf;
} /* 240/4 */
static inline int axl_ipv4_is_zeronet(uint32_t a)
{
    return (a >> 24) == 0;
} /* 0/8 */
/* Ethernet address for an IPv4 multicast group (RFC 1112 §6.4). */
static inline void axl_ipv4_mcast_mac(uint32_t a, uint8_t mac[6])
{
    mac[0] = 0x01;
    mac[1] = 0x00;
    mac[2] = 0x5e;
    mac[3] = (uint8_t)((a >> 16) & 0x7f);
    mac[4] = (uint8_t)(a >> 8);
    mac[5] = (uint8_t)a;
}

#endif
