/* SPDX-License-Identifier: MIT */
/*
 * layout.c - the one layout both sides of a channel compute from the
 * parameters (abi.h draws it). The stack writes the result into the header;
 * the application recomputes it from the HELLO and compares field by field,
 * so neither side ever trusts an offset it did not compute itself.
 *
 * Called by: stk.c (axl_chan_create), app.c (axl_chan_map_app), tests.
 */
#include "chan/chan.h"

#include "core/compiler.h"
#include "core/err.h"

static uint64_t page_up(uint64_t v)
{
    return (v + AXL_CHAN_PAGE - 1) & ~(uint64_t)(AXL_CHAN_PAGE - 1);
}

static uint64_t line_up(uint64_t v)
{
    return (v + AXL_CACHELINE - 1) & ~(uint64_t)(AXL_CACHELINE - 1);
}

static int pow2_in(uint32_t v, uint32_t lo, uint32_t hi)
{
    return v >= lo && v <= hi && axl_is_pow2(v);
}

void axl_chan_params_default(struct axl_chan_params *p)
{
    p->max_socks = AXL_CHAN_SOCKS_DEFAULT;
    p->rx_size = AXL_CHAN_RING_DEFAULT;
    p->tx_size = AXL_CHAN_RING_DEFAULT;
    p->evq_slots = AXL_CHAN_QUEUE_DEFAULT;
    p->cmdq_slots = AXL_CHAN_QUEUE_DEFAULT;
    p->max_regmem = AXL_CHAN_REGMEM_DEFAULT;
}

int axl_chan_layout(const struct axl_chan_params *p, struct axl_chan_layout *l)
{
    if (p->max_socks < AXL_CHAN_SOCKS_MIN || p->max_socks > AXL_CHAN_SOCKS_MAX ||
        p->max_socks % 64 || !pow2_in(p->rx_size, AXL_CHAN_RING_MIN, AXL_CHAN_RING_MAX) ||
        !pow2_in(p->tx_size, AXL_CHAN_RING_MIN, AXL_CHAN_RING_MAX) ||
        !pow2_in(p->evq_slots, AXL_CHAN_QUEUE_MIN, AXL_CHAN_QUEUE_MAX) ||
        !pow2_in(p->cmdq_slots, AXL_CHAN_QUEUE_MIN, AXL_CHAN_QUEUE_MAX) || p->max_regmem < 1 ||
        p->max_regmem > AXL_CHAN_REGMEM_MAX)
        return AXL_EINVAL;
    l->p = *p;
    l->bm_words = p->max_socks / 64;
    uint64_t bm = line_up((uint64_t)l->bm_words * 8);

    /* STK region: header page, index page, bitmaps, events, table, RX data. */
    l->sctl_off = AXL_CHAN_PAGE;
    l->s_hint_off = l->sctl_off + page_up(sizeof(struct axl_chan_sctl));
    l->s_ack_off = l->s_hint_off + bm;
    l->evq_off = page_up(l->s_ack_off + bm);
    l->slots_off = page_up(l->evq_off + (uint64_t)p->evq_slots * sizeof(struct axl_chan_event));
    l->rx_off = page_up(l->slots_off + (uint64_t)p->max_socks * sizeof(struct axl_chan_slot));
    l->size[AXL_CHAN_R_STK] = l->rx_off + (uint64_t)p->max_socks * p->rx_size;

    /* APP region: index page, bitmaps, commands, socket lines, TX data. */
    l->actl_off = 0;
    l->a_hint_off = page_up(sizeof(struct axl_chan_actl));
    l->a_ack_off = l->a_hint_off + bm;
    l->cmdq_off = page_up(l->a_ack_off + bm);
    l->lines_off = page_up(l->cmdq_off + (uint64_t)p->cmdq_slots * sizeof(struct axl_chan_cmd));
    l->tx_off = page_up(l->lines_off + (uint64_t)p->max_socks * sizeof(struct axl_chan_line));
    l->size[AXL_CHAN_R_APP] = l->tx_off + (uint64_t)p->max_socks * p->tx_size;

    if (l->size[AXL_CHAN_R_STK] > AXL_CHAN_REGION_MAX ||
        l->size[AXL_CHAN_R_APP] > AXL_CHAN_REGION_MAX)
        return AXL_EINVAL;
    return 0;
}

const char *axl_chan_viol_name(unsigned v)
{
    static const char *const names[AXL_CHAN_V_COUNT] = {
        [AXL_CHAN_V_NONE] = "none",
        [AXL_CHAN_V_OPCODE] = "opcode",
        [AXL_CHAN_V_FLAGS] = "flags",
        [AXL_CHAN_V_RESERVED] = "reserved",
        [AXL_CHAN_V_SOCK] = "sock",
        [AXL_CHAN_V_GEN] = "gen",
        [AXL_CHAN_V_FREE] = "free",
        [AXL_CHAN_V_LEN] = "len",
        [AXL_CHAN_V_REGION] = "region",
        [AXL_CHAN_V_RANGE] = "range",
        [AXL_CHAN_V_POS] = "pos",
        [AXL_CHAN_V_ADDR] = "addr",
        [AXL_CHAN_V_ARG] = "arg",
        [AXL_CHAN_V_STATUS] = "status",
        [AXL_CHAN_V_QUEUE_INDEX] = "queue_index",
        [AXL_CHAN_V_RING_INDEX] = "ring_index",
        [AXL_CHAN_V_SLOT] = "slot",
    };
    return v < AXL_CHAN_V_COUNT ? names[v] : "?";
}
