/* SPDX-License-Identifier: MIT */
/*
 * fuzz_icmp.c - libFuzzer target for the ICMP view (src/wire/icmp.c): an
 * accepted message has a valid checksum and re-emits to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/csum.h"
#include "wire/icmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t out[1 << 17];
    struct axl_icmp_view v = {data, size};
    if (axl_icmp_view_check(&v) < 0 || size > sizeof(out)) return 0;
    struct axl_icmp_repr r;
    axl_icmp_repr_parse(&v, &r);
    if (axl_icmp_repr_emit(&r, out, size) != (int)size) abort();
    if (axl_csum(out, size) != 0) abort();
    /* identical except where the sender wrote 0xffff for a 0x0000 checksum */
    if (memcmp(out, data, 2) != 0 || memcmp(out + 4, data + 4, size - 4) != 0) abort();
    return 0;
}
