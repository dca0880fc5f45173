/* SPDX-License-Identifier: MIT */
/*
 * hash.c - byte hashing, SipHash-2-4 and the intrusive chained hash table
 * (hash.h).
 *
 *  axl_hash_bytes  MurmurHash3 (x86_32) structure: 4-byte blocks mixed with
 *                  two multiplies and a rotate, then fmix32. Fast, seeded,
 *                  not collision-resistant: for buckets whose keys an attacker
 *                  cannot choose freely, or whose seed is secret.
 *  axl_siphash24   SipHash-2-4 (Aumasson & Bernstein, 2012): 2 compression
 *                  rounds per 8-byte word, 4 finalisation rounds, 64-bit
 *                  output. The PRF behind RFC 6528 ISNs and SYN cookies.
 *  axl_htab_*      power-of-two bucket array of singly linked chains; insert
 *                  at the head is O(1), remove walks one chain, grow rehashes
 *                  every node once (O(count), the caller chooses when).
 */
#include <stdlib.h>

#include "core/compiler.h"
#include "core/err.h"
#include "core/hash.h"

static inline uint32_t rotl32(uint32_t x, int r)
{
    return (x << r) | (x >> (32 - r));
}
static inline uint64_t rotl64(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

uint32_t axl_hash_bytes(const void *data, size_t len, uint32_t seed)
{
    const uint8_t *p = data;
    const uint32_t c1 = 0xcc9e2d51u, c2 = 0x1b873593u;
    uint32_t h = seed;
    size_t nblocks = len / 4;

    for (size_t i = 0; i < nblocks; i++) {
        uint32_t k = axl_load_u32(p + 4 * i);
        k *= c1;
        k = rotl32(k, 15);
        k *= c2;
        h ^= k;
        h = rotl32(h, 13);
        h = h * 5 + 0xe6546b64u;
    }

    const uint8_t *tail = p + 4 * nblocks;
    uint32_t k = 0;
    switch (len & 3) {
    case 3:
        k ^= (uint32_t)tail[2] << 16;
        /* fall through */
    case 2:
        k ^= (uint32_t)tail[1] << 8;
        /* fall through */
    case 1:
        k ^= tail[0];
        k *= c1;
        k = rotl32(k, 15);
        k *= c2;
        h ^= k;
        break;
    default:
        break;
    }
    h ^= (uint32_t)len;
    return axl_hash32(h);
}

/* Little-endian 64-bit load at any alignment (SipHash is defined on LE words). */
static inline uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = rotl64(v1, 13);                                                                       \
        v1 ^= v0;                                                                                  \
        v0 = rotl64(v0, 32);                                                                       \
        v2 += v3;                                                                                  \
        v3 = rotl64(v3, 16);                                                                       \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = rotl64(v3, 21);                                                                       \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = rotl64(v1, 17);                                                                       \
        v1 ^= v2;                                                                                  \
        v2 = rotl64(v2, 32);                                                                       \
    } while (0)

uint64_t axl_siphash24(const uint8_t key[16], const void *data, size_t len)
{
    const uint8_t *in = data;
    uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
    uint64_t v0 = 0x736f6d6570736575ull ^ k0; /* "somepseudorandomlygeneratedbytes" */
    uint64_t v1 = 0x646f72616e646f6dull ^ k1;
    uint64_t v2 = 0x6c7967656e657261ull ^ k0;
    uint64_t v3 = 0x7465646279746573ull ^ k1;

    size_t full = len & ~(size_t)7;
    for (size_t i = 0; i < full; i += 8) {
        uint64_t m = load_le64(in + i);
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    /* Last word: remaining 0..7 bytes, length mod 256 in the top byte. */
    uint64_t b = (uint64_t)(len & 0xff) << 56;
    for (size_t i = 0; i < (len & 7); i++)
        b |= (uint64_t)in[full + i] << (8 * i);
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;

    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

/** Largest bucket array: 2^31 heads (the mask is 32-bit). */
#define AXL_HTAB_MAX_BUCKETS (1u << 31)

int axl_htab_init(struct axl_htab *h, uint32_t nbuckets_pow2)
{
    h->buckets = NULL;
    h->mask = 0;
    h->count = 0;
    if (!axl_is_pow2(nbuckets_pow2) || nbuckets_pow2 > AXL_HTAB_MAX_BUCKETS) return AXL_EINVAL;
    h->buckets = calloc(nbuckets_pow2, sizeof(*h->buckets));
    if (!h->buckets) return AXL_ENOMEM;
    h->mask = nbuckets_pow2 - 1;
    return 0;
}

void axl_htab_fini(struct axl_htab *h)
{
    free(h->buckets);
    h->buckets = NULL;
    h->mask = 0;
    h->count = 0;
}

void axl_htab_insert(struct axl_htab *h, struct axl_hnode *n, uint32_t hash)
{
    struct axl_hnode **b = &h->buckets[hash & h->mask];
    n->hash = hash;
    n->next = *b;
    *b = n;
    h->count++;
}

void axl_htab_remove(struct axl_htab *h, struct axl_hnode *n)
{
    struct axl_hnode **pp = &h->buckets[n->hash & h->mask];
    while (*pp && *pp != n)
        pp = &(*pp)->next;
    if (!*pp) return; /* not in the table: contract violation, leave the table intact */
    *pp = n->next;
    n->next = NULL;
    h->count--;
}

int axl_htab_grow(struct axl_htab *h)
{
    uint32_t old_n = h->mask + 1;
    if (old_n >= AXL_HTAB_MAX_BUCKETS) return AXL_ENOMEM;
    uint32_t new_n = old_n * 2;
    struct axl_hnode **nb = calloc(new_n, sizeof(*nb));
    if (!nb) return AXL_ENOMEM;
    for (uint32_t i = 0; i < old_n; i++) {
        struct axl_hnode *n = h->buckets[i];
        while (n) {
            struct axl_hnode *next = n->next;
            struct axl_hnode **b = &nb[n->hash & (new_n - 1)];
            n->next = *b;
            *b = n;
            n = next;
        }
    }
    free(h->buckets);
    h->buckets = nb;
    h->mask = new_n - 1;
    return 0;
}
