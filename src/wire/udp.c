/* SPDX-License-Identifier: MIT */
/*
 * udp.c - RFC 768 datagram view check, checksum and repr parse/emit (udp.h).
 * Call chain: net/udp.c input/output -> here.
 */
#include "wire/udp.h"

#include <string.h>

#include "core/err.h"
#include "wire/csum.h"
#include "wire/ipv4.h"

int axl_udp_view_check(const struct axl_udp_view *v)
{
    if (v->len < AXL_UDP_HLEN) return AXL_ETRUNC;
    uint16_t ulen = axl_udp_view_len(v);
    if (ulen < AXL_UDP_HLEN) return AXL_EMALFORMED;
    if (ulen > v->len) return AXL_ETRUNC;
    return 0;
}

int axl_udp_view_verify(const struct axl_udp_view *v, uint32_t saddr, uint32_t daddr)
{
    if (axl_udp_view_csum(v) == 0) return 0; /* RFC 768: transmitter generated no checksum */
    uint16_t ulen = axl_udp_view_len(v);
    uint32_t sum = axl_csum_pseudo_ipv4(saddr, daddr, AXL_IPPROTO_UDP, ulen);
    sum = axl_csum_partial(v->p, ulen, sum);
    return axl_csum_fold(sum) == 0 ? 0 : AXL_ECSUM;
}

void axl_udp_repr_parse(const struct axl_udp_view *v, struct axl_udp_repr *r)
{
    r->sport = axl_udp_view_sport(v);
    r->dport = axl_udp_view_dport(v);
    r->payload = axl_udp_view_payload(v);
    r->payload_len = axl_udp_view_payload_len(v);
}

uint16_t axl_udp_csum_finish(uint32_t sum, uint32_t saddr, uint32_t daddr, uint16_t udp_len)
{
    sum = axl_csum_add32(sum, axl_csum_pseudo_ipv4(saddr, daddr, AXL_IPPROTO_UDP, udp_len));
    uint16_t c = axl_csum_fold(sum);
    return c ? c : 0xffff; /* RFC 768: an all-zero result is sent as all ones */
}

int axl_udp_repr_emit(const struct axl_udp_repr *r, uint32_t saddr, uint32_t daddr, uint8_t *buf,
                      size_t len)
{
    if (r->payload_len > 65535 - AXL_UDP_HLEN) return AXL_EMSGSIZE;
    if (len < AXL_UDP_HLEN || len - AXL_UDP_HLEN < r->payload_len) return AXL_ETRUNC;
    if (r->payload_len && r->payload != buf + AXL_UDP_HLEN)
        memmove(buf + AXL_UDP_HLEN, r->payload, r->payload_len);
    uint16_t ulen = (uint16_t)(AXL_UDP_HLEN + r->payload_len);
    axl_store_be16(buf + AXL_UDP_OFF_SPORT, r->sport);
    axl_store_be16(buf + AXL_UDP_OFF_DPORT, r->dport);
    axl_store_be16(buf + AXL_UDP_OFF_LEN, ulen);
    axl_store_be16(buf + AXL_UDP_OFF_CSUM, 0);
    uint32_t sum = axl_csum_partial(buf, ulen, 0);
    axl_store_be16(buf + AXL_UDP_OFF_CSUM, axl_udp_csum_finish(sum, saddr, daddr, ulen));
    return ulen;
}
