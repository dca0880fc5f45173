/* SPDX-License-Identifier: MIT */
/*
 * load/hist.h - a log-linear latency histogram (HdrHistogram's layout): values in
 * nanoseconds, 64 sub-buckets per power of two, so every recorded value is
 * known to within 1/64 (1.6%) of itself, from 1 ns to 2^42 ns (73 minutes).
 * Fixed size, no allocation while recording.
 *
 * Call chain: axl-load's event loop -> hist_add per response; the report ->
 * hist_pct / hist_mean.
 */
#ifndef AXL_LOAD_HIST_H
#define AXL_LOAD_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 6
#define HIST_SUB      (1u << HIST_SUB_BITS)
#define HIST_TOP_BIT  42
#define HIST_BUCKETS  ((HIST_TOP_BIT - HIST_SUB_BITS + 1) * HIST_SUB + HIST_SUB)

struct hist {
    uint64_t n, sum, min, max;
    uint64_t count[HIST_BUCKETS];
};

void hist_init(struct hist *h);
void hist_add(struct hist *h, uint64_t v);
void hist_merge(struct hist *dst, const struct hist *src);
/* The value at or below which fraction q (0..1) of the recorded values lie
 * (the bucket's upper edge, clamped to the maximum seen); 0 when empty. */
uint64_t hist_pct(const struct hist *h, double q);
double hist_mean(const struct hist *h);

#endif
