/* SPDX-License-Identifier: MIT */
/*
 * hash.h - hashing for demux tables and steering, plus a keyed PRF for ISNs
 * and SYN cookies.
 *
 *  axl_hash32/axl_hash_bytes   fast non-cryptographic (table buckets)
 *  axl_flow_hash_sym           symmetric 5-tuple hash: the same value for both
 *                              directions of a flow (software steering)
 *  axl_siphash24               SipHash-2-4 keyed PRF (RFC 6528 ISNs, cookies)
 *
 *  struct axl_htab             intrusive chained hash table with a power-of-two
 *                              bucket array; O(1) insert/remove/lookup; grows
 *                              on demand (the caller decides when, never on the
 *                              packet path unless it chooses to).
 */
#ifndef AXL_CORE_HASH_H
#define AXL_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

static inline uint32_t axl_hash32(uint32_t x)
{
    /* murmur3 fmix32 */
    x ^= x >> 16;
    x *= 0x85ebca6bu;
    x ^= x >> 13;
    x *= 0xc2b2ae35u;
    x ^= x >> 16;
    return x;
}

static inline uint64_t axl_hash64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

/* Arbitrary bytes (seeded). */
uint32_t axl_hash_bytes(const void *data, size_t len, uint32_t seed);

/* Symmetric flow hash: addresses and ports in host order; swapping
 * (saddr,sport) with (daddr,dport) gives the same value. */
static inline uint32_t axl_flow_hash_sym(uint32_t saddr, uint32_t daddr, uint16_t sport,
                                         uint16_t dport, uint8_t proto)
{
    uint32_t a = saddr ^ daddr;
    uint32_t p = (uint32_t)(sport ^ dport);
    uint32_t lo = saddr < daddr ? saddr : daddr; /* break xor symmetry collisions */
    return axl_hash32(a * 0x9e3779b1u ^ axl_hash32(lo + p) ^ ((uint32_t)proto << 24) ^
                      (uint32_t)(sport + dport));
}

/* SipHash-2-4 with a 128-bit key. */
uint64_t axl_siphash24(const uint8_t key[16], const void *data, size_t len);

/* Intrusive hash table: embed struct axl_hnode; the caller supplies the hash
 * and compares keys itself while walking a bucket. */
struct axl_hnode {
    struct axl_hnode *next;
    uint32_t hash;
};

struct axl_htab {
    struct axl_hnode **buckets;
    uint32_t mask;  /* nbuckets - 1 */
    uint32_t count;
};

int axl_htab_init(struct axl_htab *h, uint32_t nbuckets_pow2); /* 0 / AXL_ENOMEM / AXL_EINVAL */
void axl_htab_fini(struct axl_htab *h);
void axl_htab_insert(struct axl_htab *h, struct axl_hnode *n, uint32_t hash);
/* Unlink n (must be in the table). O(chain length). */
void axl_htab_remove(struct axl_htab *h, struct axl_hnode *n);
/* First node of the bucket for `hash`; walk with ->next and compare n->hash
 * first. */
static inline struct axl_hnode *axl_htab_bucket(const struct axl_htab *h, uint32_t hash)
{
    return h->buckets[hash & h->mask];
}
/* Double the bucket array (rehash). 0 or AXL_ENOMEM (table unchanged). */
int axl_htab_grow(struct axl_htab *h);

#endif
