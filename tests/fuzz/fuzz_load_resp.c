/* SPDX-License-Identifier: MIT */
/*
 * fuzz_load_resp.c - libFuzzer target for the load generator's response
 * framers (src/load/proto.c): what a server under test, or a broken one,
 * sends back. Input: one selector byte (HTTP / HTTP at EOF / memcached /
 * DNS), then the bytes. A framed length must lie within the input, and
 * framing a prefix of a framed response must not claim more than the prefix.
 */
#include <stdint.h>
#include <stdlib.h>

#include "load/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    int st, cl, res, rc, tc;
    uint16_t id;
    long k;
    switch (data[0] % 4) {
    case 0:
    case 1:
        k = load_http_response(p, n, data[0] % 4, &st, &cl);
        if (k > (long)n || k < -1) abort();
        if (k > 0 && (st < 100 || st > 599)) abort();
        if (k > 1 && load_http_response(p, (size_t)k - 1, 0, &st, &cl) > k - 1) abort();
        break;
    case 2:
        k = load_kv_response(p, n, &res);
        if (k > (long)n || k < -1) abort();
        if (k > 0 && (res < LOAD_KV_HIT || res > LOAD_KV_ERROR)) abort();
        break;
    default:
        if (load_dns_response(p, n, &id, &rc, &tc) == 0 && (n < 12 || rc > 15)) abort();
        break;
    }
    return 0;
}
