/* SPDX-License-Identifier: MIT */
/*
 * fuzz_chan_cmd.c - libFuzzer target for the channel's command decoder
 * (src/chan/decode.c: axl_chan_cmd_decode), the stack's first line of defence
 * against a hostile application.
 *
 * Input: 16 bytes of context, then command entries of 64 bytes (a short last
 * one is zero-padded).
 *   ctx[0]  max_socks - 1 (mod 64)     ctx[1..2]  rx / tx ring = 4 KiB << (v % 4)
 *   ctx[3]  max_regmem - 1 (mod 4)     ctx[4..7]  region i size = v * 1000 (0 = none)
 *   ctx[8..15] slot states (slot i: ctx[8 + i % 8] % 8), gen = i % 4,
 *              tx_cons = i * 1000
 * Every accepted command is re-checked against the rules that keep the stack
 * inside its memory (socket, generation, lengths, region ranges); a decoder
 * that accepts what they forbid, or rejects without a violation kind, aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chan/chan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct axl_chan_slot slots[64];
    uint64_t reg[4];
    if (size < 16) return 0;
    memset(slots, 0, sizeof(slots));
    struct axl_chan_dctx d = {
        .max_socks = 1u + data[0] % 64,
        .rx_size = 4096u << (data[1] % 4),
        .tx_size = 4096u << (data[2] % 4),
        .max_regmem = 1u + data[3] % 4,
        .slots = slots,
        .reg_size = reg,
    };
    for (int i = 0; i < 4; i++)
        reg[i] = (uint64_t)data[4 + i] * 1000u;
    for (uint32_t i = 0; i < d.max_socks; i++) {
        atomic_store(&slots[i].state, data[8 + i % 8] % 8u);
        atomic_store(&slots[i].gen, i % 4);
        atomic_store(&slots[i].tx_cons, i * 1000u);
    }
    for (size_t at = 16; at < size; at += sizeof(struct axl_chan_cmd)) {
        struct axl_chan_cmd c;
        unsigned viol = 12345;
        memset(&c, 0, sizeof(c));
        memcpy(&c, data + at, size - at < sizeof(c) ? size - at : sizeof(c));
        int r = axl_chan_cmd_decode(&c, &d, &viol);
        if (r < 0) {
            if (r != AXL_EMALFORMED || viol == AXL_CHAN_V_NONE || viol >= AXL_CHAN_V_COUNT) abort();
            continue;
        }
        if (r != 0 || viol != AXL_CHAN_V_NONE) abort();
        if (c.op < 1 || c.op > AXL_CHAN_OP_MAX || c.reserved) abort();
        if (c.op == AXL_CHAN_OP_OPEN || c.op == AXL_CHAN_OP_OBJ_REG || c.op == AXL_CHAN_OP_OBJ_FREE) {
            if (c.sock != AXL_CHAN_SOCK_NONE || c.gen) abort(); /* socket-less commands */
            continue;
        }
        if (c.sock >= d.max_socks) abort();
        if (atomic_load(&slots[c.sock].state) == AXL_CHAN_SS_FREE) abort();
        if (c.gen != atomic_load(&slots[c.sock].gen)) abort();
        switch (c.op) {
        case AXL_CHAN_OP_SEND:
            if (c.flags & AXL_CHAN_SENDF_REG) {
                if (c.region >= d.max_regmem || reg[c.region] == 0 || c.len == 0) abort();
                if ((unsigned __int128)c.off + c.len > reg[c.region]) abort();
                if (c.pos - atomic_load(&slots[c.sock].tx_cons) > d.tx_size) abort();
            } else if (c.len == 0 || c.len > d.tx_size || c.off || c.region || c.pos) {
                abort();
            }
            break;
        case AXL_CHAN_OP_RECV_DONE:
            if (c.len == 0 || c.len > d.rx_size) abort();
            break;
        case AXL_CHAN_OP_LISTEN:
            if (c.arg == 0) abort(); /* above the limit is clamped by the stack */
            break;
        case AXL_CHAN_OP_ACCEPT:
            if (c.arg >= d.max_socks) abort();
            break;
        case AXL_CHAN_OP_BIND:
        case AXL_CHAN_OP_CONNECT:
            if (c.family != AXL_CHAN_AF_INET && c.family != AXL_CHAN_AF_INET6) abort();
            break;
        default:
            break;
        }
    }
    return 0;
}
