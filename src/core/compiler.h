/* SPDX-License-Identifier: MIT */
/*
 * compiler.h - small portable helpers used everywhere: branch hints, byte-order
 * loads/stores that never assume alignment, array size, container_of.
 *
 * No protocol knowledge lives here.
 */
#ifndef AXL_CORE_COMPILER_H
#define AXL_CORE_COMPILER_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define axl_likely(x)   __builtin_expect(!!(x), 1)
#define axl_unlikely(x) __builtin_expect(!!(x), 0)
#define AXL_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define AXL_CACHELINE   64
#define AXL_UNUSED      __attribute__((unused))
#define AXL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define AXL_MIN(a, b)   ((a) < (b) ? (a) : (b))
#define AXL_MAX(a, b)   ((a) > (b) ? (a) : (b))
#define axl_container_of(ptr, type, member)                                                        \
    ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* Loads and stores of network-order (big-endian) fields at any alignment. */
static inline uint16_t axl_load_be16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}
static inline uint32_t axl_load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void axl_store_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void axl_store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
/* Host-order 32-bit value of a little-endian load (used for hashing, not wire). */
static inline uint32_t axl_load_u32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static inline int axl_is_pow2(uint64_t v) { return v && !(v & (v - 1)); }

#endif
