/* SPDX-License-Identifier: MIT */
/*
 * rand.h - small seeded PRNG (xoshiro256**, seeded through splitmix64) for
 * impairment decisions, jitter, port choice and tests. State is per owner
 * (no global generator): the same seed reproduces the same run.
 * Not for secrets: ISNs and SYN cookies use a keyed hash (hash.h).
 */
#ifndef AXL_CORE_RAND_H
#define AXL_CORE_RAND_H

#include <stdint.h>

struct axl_rand {
    uint64_t s[4];
};

static inline uint64_t axl_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline void axl_rand_seed(struct axl_rand *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = axl_splitmix64(&seed);
}

static inline uint64_t axl_rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t axl_rand_u64(struct axl_rand *r)
{
    uint64_t *s = r->s;
    uint64_t res = axl_rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = axl_rotl64(s[3], 45);
    return res;
}

/* Uniform in [0, bound) (bound > 0), Lemire's multiply-shift. */
static inline uint32_t axl_rand_below(struct axl_rand *r, uint32_t bound)
{
    return (uint32_t)(((axl_rand_u64(r) >> 32) * (uint64_t)bound) >> 32);
}

/* True with probability ppm / 1e6. */
static inline int axl_rand_ppm(struct axl_rand *r, uint32_t ppm)
{
    return ppm && axl_rand_below(r, 1000000u) < ppm;
}

/* Fill buf with bytes from getrandom(2) (ISN keys, cookie secrets). 0 or -errno. */
int axl_random_bytes(void *buf, unsigned len);

#endif
