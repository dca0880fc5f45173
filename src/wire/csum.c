/* SPDX-License-Identifier: MIT */
/*
 * csum.c - RFC 1071 Internet checksum, the hot loop.
 *
 * RFC 1071 §2(B): the ones'-complement sum is independent of byte order and
 * of the word size it is computed in, so we add native 64-bit words with
 * end-around carry (RFC 1071 §2(C), "deferred carries"), fold to 16 bits,
 * and swap once at the end on a little-endian host. On x86-64 the bulk runs
 * as one add-with-carry chain over 64 bytes per iteration (8 adcq, about 0.16
 * instructions per byte, against 0.77 for 32-bit words into a 64-bit
 * accumulator, which was a quarter of a bulk sender's instructions:
 * docs/BENCHMARKS.md "TCP"); elsewhere a portable loop adds 64-bit words and
 * counts the carries. Tails use 32-bit loads. Loads go through memcpy (or
 * the assembler), safe at any alignment.
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

#if !defined(__x86_64__) || defined(AXL_CSUM_PORTABLE)
static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}
#endif

/* Ones'-complement add of two 64-bit partial sums (end-around carry). */
static inline uint64_t add64c(uint64_t a, uint64_t b)
{
    a += b;
    return a + (a < b);
}

/* Sum of n 64-byte blocks at p as a 64-bit ones'-complement partial sum. */
static uint64_t sum_blocks64(const uint8_t *p, size_t n)
{
    uint64_t acc = 0;
    if (!n) return 0;
#if defined(__x86_64__) && !defined(AXL_CSUM_PORTABLE)
    __asm__("1:\n\t"
            "addq 0(%[p]), %[a]\n\t"
            "adcq 8(%[p]), %[a]\n\t"
            "adcq 16(%[p]), %[a]\n\t"
            "adcq 24(%[p]), %[a]\n\t"
            "adcq 32(%[p]), %[a]\n\t"
            "adcq 40(%[p]), %[a]\n\t"
            "adcq 48(%[p]), %[a]\n\t"
            "adcq 56(%[p]), %[a]\n\t"
            "adcq $0, %[a]\n\t"
            "addq $64, %[p]\n\t"
            "decq %[n]\n\t"
            "jnz 1b"
            : [a] "+&r"(acc), [p] "+&r"(p), [n] "+&r"(n)
            : "m"(*(const uint8_t(*)[64])p)
            : "cc", "memory");
#else
    uint64_t c0 = 0, c1 = 0, a1 = 0; /* two chains, carries counted apart */
    while (n--) {
        for (int i = 0; i < 64; i += 16) {
            uint64_t v0 = load64(p + i), v1 = load64(p + i + 8);
            acc += v0;
            c0 += acc < v0;
            a1 += v1;
            c1 += a1 < v1;
        }
        p += 64;
    }
    acc = add64c(acc, a1);
    acc = add64c(acc, c0);
    acc = add64c(acc, c1);
#endif
    return acc;
}

uint32_t axl_csum_partial(const void *data, size_t len, uint32_t sum)
{
    const uint8_t *p = data;
    uint64_t acc = sum_blocks64(p, len / 64); /* hot */
    p += len & ~(size_t)63;
    len &= 63;
    uint64_t t = 0; /* at most 15 32-bit words: no overflow */
    while (len >= 8) {
        t += (uint64_t)load32(p) + load32(p + 4);
        p += 8;
        len -= 8;
    }
    if (len >= 4) {
        t += load32(p);
        p += 4;
        len -= 4;
    }
    if (len) {
        /* 1..3 trailing bytes, zero-padded on the right (RFC 1071 §4.1). In a
         * native load the padding lands where a big-endian reader expects it. */
        uint8_t tail[4] = {0, 0, 0, 0};
        memcpy(tail, p, len);
        t += load32(tail);
    }
    acc = add64c(acc, t);

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
