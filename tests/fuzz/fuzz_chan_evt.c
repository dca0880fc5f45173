/* SPDX-License-Identifier: MIT */
/*
 * fuzz_chan_evt.c - libFuzzer target for the application side's event decoder
 * (src/chan/decode.c: axl_chan_evt_decode).
 *
 * Input: 8 bytes of context, then event entries of 32 bytes (a short last one
 * is zero-padded).
 *   ctx[0]  max_socks - 1 (mod 64)     ctx[1..2] rx / tx ring = 4 KiB << (v % 4)
 *   ctx[3..7] slot states (slot i: ctx[3 + i % 5] % 8), gen = i * 3
 * An accepted event is re-checked: known type, socket in range (or NONE for a
 * completion), a generation no newer than the slot's, lengths within the
 * rings, errno-sized status. Any disagreement aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chan/chan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct axl_chan_slot slots[64];
    if (size < 8) return 0;
    memset(slots, 0, sizeof(slots));
    struct axl_chan_edctx d = {
        .max_socks = 1u + data[0] % 64,
        .rx_size = 4096u << (data[1] % 4),
        .tx_size = 4096u << (data[2] % 4),
        .slots = slots,
    };
    for (uint32_t i = 0; i < d.max_socks; i++) {
        atomic_store(&slots[i].state, data[3 + i % 5] % 8u);
        atomic_store(&slots[i].gen, i * 3);
    }
    for (size_t at = 8; at < size; at += sizeof(struct axl_chan_event)) {
        struct axl_chan_event e;
        unsigned viol = 12345;
        memset(&e, 0, sizeof(e));
        memcpy(&e, data + at, size - at < sizeof(e) ? size - at : sizeof(e));
        int r = axl_chan_evt_decode(&e, &d, &viol);
        if (r < 0) {
            if (r != AXL_EMALFORMED || viol == AXL_CHAN_V_NONE || viol >= AXL_CHAN_V_COUNT) abort();
            continue;
        }
        if ((r != 0 && r != 1) || viol != AXL_CHAN_V_NONE) abort();
        if (e.type < 1 || e.type > AXL_CHAN_EV_MAX || e.flags) abort();
        if (e.status > 0 || e.status < -4095) abort();
        if (e.sock == AXL_CHAN_SOCK_NONE) {
            if (e.type != AXL_CHAN_EV_DONE || r != 0) abort();
        } else {
            if (e.sock >= d.max_socks) abort();
            if ((int32_t)(atomic_load(&slots[e.sock].gen) - e.gen) < 0) abort();
        }
        if (e.type == AXL_CHAN_EV_NEW_DATA && e.arg > d.rx_size) abort();
        if (e.type == AXL_CHAN_EV_NEW_CONN && e.arg >= d.max_socks) abort();
        if (e.type == AXL_CHAN_EV_DATA_ACKED && (e.arg == 0 || (!e.cookie && e.arg > d.tx_size)))
            abort();
        if (e.type == AXL_CHAN_EV_DONE && (e.arg < 1 || e.arg > AXL_CHAN_OP_MAX)) abort();
    }
    return 0;
}
