/* SPDX-License-Identifier: MIT */
/*
 * fuzz_udp.c - libFuzzer target for the UDP view (src/wire/udp.c). Input:
 * 8 bytes of source and destination address, then the datagram. An accepted
 * datagram stays inside the buffer; a verified one re-emits to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/compiler.h"
#include "wire/udp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t out[1 << 17];
    if (size < 8) return 0;
    uint32_t sa = axl_load_be32(data), da = axl_load_be32(data + 4);
    struct axl_udp_view v = {data + 8, size - 8};
    if (axl_udp_view_check(&v) < 0) return 0;
    size_t ulen = axl_udp_view_len(&v);
    if (ulen < 8 || ulen > v.len || axl_udp_view_payload_len(&v) != ulen - 8) abort();
    if (axl_udp_view_verify(&v, sa, da) < 0 || axl_udp_view_csum(&v) == 0) return 0;
    struct axl_udp_repr r;
    axl_udp_repr_parse(&v, &r);
    if (axl_udp_repr_emit(&r, sa, da, out, ulen) != (int)ulen) abort();
    struct axl_udp_view back = {out, ulen};
    if (axl_udp_view_verify(&back, sa, da) != 0 || memcmp(out, v.p, 6) != 0 ||
        memcmp(out + 8, v.p + 8, ulen - 8) != 0)
        abort();
    return 0;
}
