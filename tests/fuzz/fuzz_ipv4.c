/* SPDX-License-Identifier: MIT */
/*
 * fuzz_ipv4.c - libFuzzer target for the IPv4 view (src/wire/ipv4.c): an
 * accepted header stays inside the buffer (every payload byte is read so
 * ASan sees any overrun), and an option-less header re-emits to the same
 * bytes (except the reserved flag, which the repr does not carry).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/csum.h"
#include "wire/ipv4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct axl_ipv4_view v = {data, size};
    enum axl_ipv4_fault f;
    int rc = axl_ipv4_view_check(&v, &f);
    if ((rc == 0) != (f == AXL_IPV4_FAULT_NONE)) abort();
    if (rc < 0) return 0;
    unsigned hlen = axl_ipv4_view_hlen(&v);
    uint32_t plen = axl_ipv4_view_payload_len(&v);
    if (hlen < 20 || hlen + plen > size || axl_ipv4_view_total_len(&v) != hlen + plen) abort();
    const uint8_t *p = axl_ipv4_view_payload(&v);
    volatile uint32_t sink = 0;
    for (uint32_t i = 0; i < plen; i++)
        sink += p[i];
    (void)sink;

    struct axl_ipv4_repr r;
    uint8_t out[20];
    axl_ipv4_repr_parse(&v, &r);
    if (axl_ipv4_repr_emit(&r, out, sizeof(out)) != 20) abort();
    if (axl_csum(out, 20) != 0) abort();
    if (hlen == 20 && !(data[6] & 0x80)) {
        /* equal up to the 0x0000/0xffff checksum ambiguity */
        if (memcmp(out, data, 10) != 0 || memcmp(out + 12, data + 12, 8) != 0) abort();
    }
    return 0;
}
