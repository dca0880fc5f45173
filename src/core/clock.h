/* SPDX-License-Identifier: MIT */
/*
 * clock.h - monotonic clock. clock_gettime(CLOCK_MONOTONIC) goes through the
 * vDSO (~26 ns here, no syscall). The engine reads it once per loop iteration
 * and passes the value down; protocol code never calls it directly, which is
 * what lets unit tests drive a deterministic clock.
 */
#ifndef AXL_CORE_CLOCK_H
#define AXL_CORE_CLOCK_H

#include <stdint.h>
#include <time.h>

#define AXL_NS_PER_US 1000ull
#define AXL_NS_PER_MS 1000000ull
#define AXL_NS_PER_S  1000000000ull

static inline uint64_t axl_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * AXL_NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* Wall-clock seconds and nanoseconds (pcap timestamps, HTTP Date). */
static inline void axl_clock_realtime(uint64_t *sec, uint32_t *nsec)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    *sec = (uint64_t)ts.tv_sec;
    *nsec = (uint32_t)ts.tv_nsec;
}

#endif
