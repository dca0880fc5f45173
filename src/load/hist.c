/* SPDX-License-Identifier: MIT */
/*
 * load/hist.c - see load/hist.h. Bucket index of v: values below 2^HIST_SUB_BITS
 * index themselves; above, the top HIST_SUB_BITS + 1 bits of v select a
 * sub-bucket within the power of two of v's most significant bit.
 */
#include "load/hist.h"

#include <string.h>

static unsigned idx_of(uint64_t v)
{
    if (v < HIST_SUB) return (unsigned)v;
    if (v >= (1ull << (HIST_TOP_BIT + 1))) v = (1ull << (HIST_TOP_BIT + 1)) - 1;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = msb - HIST_SUB_BITS;
    unsigned sub = (unsigned)(v >> shift) - HIST_SUB; /* 0..HIST_SUB-1 */
    return HIST_SUB + (msb - HIST_SUB_BITS) * HIST_SUB + sub;
}

/* Largest value that falls into bucket i. */
static uint64_t upper_of(unsigned i)
{
    if (i < HIST_SUB) return i;
    unsigned k = (i - HIST_SUB) / HIST_SUB, sub = (i - HIST_SUB) % HIST_SUB;
    unsigned shift = k; /* msb - HIST_SUB_BITS */
    return ((((uint64_t)HIST_SUB + sub + 1) << shift)) - 1;
}

void hist_init(struct hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

void hist_add(struct hist *h, uint64_t v)
{
    h->count[idx_of(v)]++;
    h->n++;
    h->sum += v;
    if (v < h->min) h->min = v;
    if (v > h->max) h->max = v;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
    for (unsigned i = 0; i < HIST_BUCKETS; i++)
        dst->count[i] += src->count[i];
    dst->n += src->n;
    dst->sum += src->sum;
    if (src->min < dst->min) dst->min = src->min;
    if (src->max > dst->max) dst->max = src->max;
}

uint64_t hist_pct(const struct hist *h, double q)
{
    if (h->n == 0) return 0;
    if (q <= 0) return h->min;
    uint64_t want = (uint64_t)(q * (double)h->n + 0.5);
    if (want < 1) want = 1;
    if (want >= h->n) return h->max;
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->count[i];
        if (seen >= want) {
            uint64_t u = upper_of(i);
            return u > h->max ? h->max : u < h->min ? h->min : u;
        }
    }
    return h->max;
}

double hist_mean(const struct hist *h)
{
    return h->n ? (double)h->sum / (double)h->n : 0.0;
}
