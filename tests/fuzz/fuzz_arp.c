/* SPDX-License-Identifier: MIT */
/*
 * fuzz_arp.c - libFuzzer target for the ARP view (src/wire/arp.c): accepted
 * packets are exactly Ethernet/IPv4 requests or replies and re-emit to the
 * same 28 bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/arp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct axl_arp_view v = {data, size};
    if (axl_arp_view_check(&v) < 0) return 0;
    struct axl_arp_repr r;
    uint8_t out[AXL_ARP_LEN];
    axl_arp_repr_parse(&v, &r);
    if (r.op != AXL_ARP_OP_REQUEST && r.op != AXL_ARP_OP_REPLY) abort();
    if (axl_arp_repr_emit(&r, out, sizeof(out)) != AXL_ARP_LEN ||
        memcmp(out, data, AXL_ARP_LEN) != 0)
        abort();
    return 0;
}
