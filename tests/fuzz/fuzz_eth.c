/* SPDX-License-Identifier: MIT */
/*
 * fuzz_eth.c - libFuzzer target for the Ethernet II view (src/wire/eth.c):
 * any input either fails the check or parses and re-emits to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/eth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct axl_eth_view v = {data, size};
    if (axl_eth_view_check(&v) < 0) return 0;
    struct axl_eth_repr r;
    uint8_t out[AXL_ETH_HLEN];
    axl_eth_repr_parse(&v, &r);
    if (axl_eth_repr_emit(&r, out, sizeof(out)) != AXL_ETH_HLEN || memcmp(out, data, 14) != 0)
        abort();
    if (axl_eth_view_payload(&v) + axl_eth_view_payload_len(&v) != data + size) abort();
    return 0;
}
