/* SPDX-License-Identifier: MIT */
/*
 * fuzz_chan_msg.c - libFuzzer target for the control-message check of the
 * channel hand-over (src/chan/decode.c: axl_chan_msg_check): what arrives on
 * the Unix socket before any memory is mapped.
 *
 * Input: one byte giving the number of fds that came with the message
 * (mod 4), then the message bytes (any length). An accepted message must be
 * exactly one struct axl_chan_msg with the fds its type announces (a HELLO
 * 2, or 3 with the bell), a HELLO must describe a valid layout, and unused
 * bytes must be zero.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chan/chan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct axl_chan_msg m;
    if (size < 1) return 0;
    unsigned nfds = data[0] % 4;
    int r = axl_chan_msg_check(data + 1, size - 1, nfds, &m);
    if (r < 0) {
        if (r != AXL_EMALFORMED && r != AXL_EVERSION) abort();
        return 0;
    }
    if (r != 0 || size - 1 != sizeof(m) || memcmp(&m, data + 1, sizeof(m)) != 0) abort();
    if (m.magic != AXL_CHAN_MAGIC || m.version != AXL_CHAN_ABI_VERSION || m.nfds != nfds) abort();
    switch (m.type) {
    case AXL_CHAN_MSG_HELLO: {
        struct axl_chan_params p = {m.u.hello.max_socks,  m.u.hello.rx_size,
                                    m.u.hello.tx_size,    m.u.hello.evq_slots,
                                    m.u.hello.cmdq_slots, m.u.hello.max_regmem};
        struct axl_chan_layout l;
        if ((nfds != 2 && nfds != 3) || axl_chan_layout(&p, &l) != 0) abort();
        if (l.size[0] > AXL_CHAN_REGION_MAX || l.size[1] > AXL_CHAN_REGION_MAX) abort();
        for (size_t i = sizeof(m.u.hello); i < sizeof(m.u.bytes); i++)
            if (m.u.bytes[i]) abort();
        break;
    }
    case AXL_CHAN_MSG_REGMEM:
        if (nfds != 1 || m.u.regmem.size == 0 || m.u.regmem.size > AXL_CHAN_REGMEM_BYTES_MAX)
            abort();
        break;
    case AXL_CHAN_MSG_REGMEM_ACK:
        if (nfds != 0 || m.u.regmem.status > 0 || m.u.regmem.region >= AXL_CHAN_REGMEM_MAX) abort();
        break;
    default:
        abort();
    }
    return 0;
}
