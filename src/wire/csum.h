/* SPDX-License-Identifier: MIT */
/*
 * csum.h - the Internet checksum (RFC 1071) and its incremental update
 * (RFC 1624), used by every wire module (ipv4, icmp, udp, later tcp).
 *
 * Conventions. A "partial sum" is a 32-bit value that carries an
 * un-complemented ones'-complement sum of 16-bit big-endian words; it is
 * always kept folded to 16 bits by the functions below, so partial sums from
 * different pieces can be added with axl_csum_add32(). axl_csum_fold() turns a
 * partial sum into the value stored in a header (complemented, host order; store
 * it with axl_store_be16). A buffer whose checksum field is correct sums to
 * 0xffff, i.e. axl_csum_fold(sum) == 0.
 *
 * Chaining pieces with axl_csum_partial(): every piece except the last must
 * have an even length (IP fragments are multiples of 8, headers are even).
 *
 * Call chain: wire/{ipv4,icmp,udp}.c and net/{ipv4,icmp,udp}.c -> here.
 */
#ifndef AXL_WIRE_CSUM_H
#define AXL_WIRE_CSUM_H

#include <stddef.h>
#include <stdint.h>

/* Add len bytes at data (any alignment) to the partial sum `sum`. Hot: 64-bit
 * accumulation of 32-bit words, 32 bytes per iteration. */
uint32_t axl_csum_partial(const void *data, size_t len, uint32_t sum);

/* Ones'-complement add of two partial sums (or a 16/32-bit host-order value). */
static inline uint32_t axl_csum_add32(uint32_t sum, uint32_t v)
{
    uint64_t s = (uint64_t)sum + v;
    s = (s & 0xffffffffu) + (s >> 32);
    s = (s & 0xffffu) + (s >> 16);
    s = (s & 0xffffu) + (s >> 16);
    s = (s & 0xffffu) + (s >> 16);
    return (uint32_t)s;
}

/* Complemented 16-bit checksum from a partial sum (host order). */
static inline uint16_t axl_csum_fold(uint32_t sum)
{
    return (uint16_t)~axl_csum_add32(0, sum);
}

/* Checksum of a buffer, ready to store (host order). */
static inline uint16_t axl_csum(const void *data, size_t len)
{
    return axl_csum_fold(axl_csum_partial(data, len, 0));
}

/* Partial sum of the IPv4 pseudo-header (RFC 768, RFC 9293 §3.1): source,
 * destination (host order), zero, protocol, transport length. */
static inline uint32_t axl_csum_pseudo_ipv4(uint32_t saddr, uint32_t daddr, uint8_t proto,
                                            uint16_t len)
{
    uint32_t s = (saddr >> 16) + (saddr & 0xffff) + (daddr >> 16) + (daddr & 0xffff);
    s += proto;
    s += len;
    return axl_csum_add32(0, s);
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for a 16-bit field that changed from
 * old_w to new_w (host order). hc is the stored checksum (host order). */
static inline uint16_t axl_csum_update16(uint16_t hc, uint16_t old_w, uint16_t new_w)
{
    uint32_t s = (uint32_t)(uint16_t)~hc + (uint16_t)~old_w + new_w;
    return (uint16_t)~axl_csum_add32(0, s);
}

/* The same for an aligned-in-the-header 32-bit field (two 16-bit words). */
static inline uint16_t axl_csum_update32(uint16_t hc, uint32_t old_v, uint32_t new_v)
{
    uint32_t s = (uint32_t)(uint16_t)~hc;
    s += (uint16_t) ~(old_v >> 16) + (uint16_t) ~(old_v & 0xffff);
    s += (new_v >> 16) + (new_v & 0xffff);
    return (uint16_t)~axl_csum_add32(0, s);
}

#endif
