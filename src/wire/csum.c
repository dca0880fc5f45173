/* SPDX-License-Identifier: MIT */
/*
 * csum.c - RFC 1071 Internet checksum, the hot loop.
 *
 * RFC 1071 §2(B): the ones'-complement sum is independent of byte order, so we
 * add native 32-bit words into a 64-bit accumulator (no carry handling needed
 * for up to 2^32 words), fold to 16 bits, and swap once at the end on a
 * little-endian host. Loads go through memcpy, which compiles to plain
 * unaligned loads on x86-64/arm64 and is safe at any alignment.
 *
 * Call chain: every checksum user in src/wire and src/net -> axl_csum_partial().
 */
#include "wire/csum.h"

#include <string.h>

static inline uint32_t load32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

uint32_t axl_csum_partial(const void *data, size_t len, uint32_t sum)
{
    const uint8_t *p = data;
    uint64_t acc = 0;

    /* hot: 32 bytes per iteration */
    while (len >= 32) {
        acc += (uint64_t)load32(p) + load32(p + 4) + load32(p + 8) + load32(p + 12);
        acc += (uint64_t)load32(p + 16) + load32(p + 20) + load32(p + 24) + load32(p + 28);
        p += 32;
        len -= 32;
    }
    while (len >= 4) {
        acc += load32(p);
        p += 4;
        len -= 4;
    }
    if (len) {
        /* 1..3 trailing bytes, zero-padded on the right (RFC 1071 §4.1). In a
         * native load the padding lands where a big-endian reader expects it. */
        uint8_t tail[4] = {0, 0, 0, 0};
        memcpy(tail, p, len);
        acc += load32(tail);
    }

    /* fold 64 -> 16 */
    acc = (acc & 0xffffffffu) + (acc >> 32);
    acc = (acc & 0xffffffffu) + (acc >> 32);
    uint32_t s = (uint32_t)acc;
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    s = (uint32_t)__builtin_bswap16((uint16_t)s);
#endif
    return axl_csum_add32(sum, s);
}
