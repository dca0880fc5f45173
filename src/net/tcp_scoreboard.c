/* SPDX-License-Identifier: MIT */
/*
 * net/tcp_scoreboard.c - the only translation unit that includes
 * net/tcp_sack.h: it maps the TCB's opaque scoreboard storage onto
 * struct axl_tcp_sack and forwards (see tcp_scoreboard.h for why).
 *
 * The storage lives inside a heap-allocated TCB and is only ever accessed
 * through struct axl_tcp_sack lvalues here, so its effective type is that
 * struct (C11 §6.5p6).
 *
 * Call chain: tcp_recovery.c / tcp_output.c -> here -> tcp_sack.c.
 */
#include "net/tcp_scoreboard.h"

#include <stddef.h>
#include <string.h>

#include "net/tcp_sack.h"

_Static_assert(sizeof(struct axl_tcp_sack) == TCP_SB_SIZE, "scoreboard storage size");
_Static_assert(_Alignof(struct axl_tcp_sack) <= _Alignof(struct tcp_sb), "scoreboard alignment");
_Static_assert((int)TCP_SB_SEG_LOST == (int)AXL_TCP_SACK_SEG_LOST &&
                   (int)TCP_SB_SEG_NEW == (int)AXL_TCP_SACK_SEG_NEW &&
                   (int)TCP_SB_SEG_UNSACKED == (int)AXL_TCP_SACK_SEG_UNSACKED &&
                   (int)TCP_SB_SEG_RESCUE == (int)AXL_TCP_SACK_SEG_RESCUE &&
                   (int)TCP_SB_SEG_FAST_RXT == (int)AXL_TCP_SACK_SEG_FAST_RXT,
               "rule values");
_Static_assert((int)TCP_SB_ACK_NONE == (int)AXL_TCP_SACK_ACK_NONE &&
                   (int)TCP_SB_ACK_LIMITED == (int)AXL_TCP_SACK_ACK_LIMITED &&
                   (int)TCP_SB_ACK_ENTER == (int)AXL_TCP_SACK_ACK_ENTER &&
                   (int)TCP_SB_ACK_RECOVERY == (int)AXL_TCP_SACK_ACK_RECOVERY &&
                   (int)TCP_SB_ACK_EXIT == (int)AXL_TCP_SACK_ACK_EXIT &&
                   (int)TCP_SB_ACK_AFTER_RTO == (int)AXL_TCP_SACK_ACK_AFTER_RTO,
               "verdict values");

static struct axl_tcp_sack *sk(struct tcp_sb *sb)
{
    return (struct axl_tcp_sack *)(void *)sb->w;
}

static const struct axl_tcp_sack *csk(const struct tcp_sb *sb)
{
    return (const struct axl_tcp_sack *)(const void *)sb->w;
}

int tcp_sb_init(struct tcp_sb *sb, uint32_t snd_una, uint32_t snd_max, uint32_t mss)
{
    return axl_tcp_sack_init(sk(sb), snd_una, snd_max, mss);
}

void tcp_sb_sent(struct tcp_sb *sb, uint32_t seq, uint32_t len, int rule)
{
    axl_tcp_sack_sent(sk(sb), seq, len, (enum axl_tcp_sack_rule)rule);
}

int tcp_sb_on_ack(struct tcp_sb *sb, uint32_t ack, const uint32_t (*blocks)[2], unsigned n,
                  struct tcp_sb_res *res)
{
    struct axl_tcp_sack_block blk[AXL_TCP_SACK_MAX_BLOCKS];
    struct axl_tcp_sack_ack_res r;
    if (n > AXL_TCP_SACK_MAX_BLOCKS) n = AXL_TCP_SACK_MAX_BLOCKS;
    for (unsigned i = 0; i < n; i++) {
        blk[i].left = blocks[i][0];
        blk[i].right = blocks[i][1];
    }
    int v = axl_tcp_sack_on_ack(sk(sb), ack, blk, n, &r);
    res->dsack = r.dsack;
    res->reneged = r.reneged;
    res->dupacks = sk(sb)->dupacks;
    res->rxt.seq = r.rxt.seq;
    res->rxt.len = r.rxt.len;
    res->rxt.rule = r.rxt.rule;
    return v;
}

int tcp_sb_next_seg(const struct tcp_sb *sb, uint32_t avail_new, struct tcp_sb_seg *seg)
{
    struct axl_tcp_sack_seg s;
    int rule = axl_tcp_sack_next_seg(csk(sb), avail_new, &s);
    seg->seq = s.seq;
    seg->len = s.len;
    seg->rule = rule > 0 ? s.rule : 0;
    return rule;
}

int tcp_sb_enter_on_time(struct tcp_sb *sb, struct tcp_sb_res *res)
{
    struct axl_tcp_sack_ack_res r;
    int v = axl_tcp_sack_enter_on_time(sk(sb), &r);
    memset(res, 0, sizeof(*res));
    res->dupacks = sk(sb)->dupacks;
    res->rxt.seq = r.rxt.seq;
    res->rxt.len = r.rxt.len;
    res->rxt.rule = r.rxt.rule;
    return v;
}

void tcp_sb_on_rto(struct tcp_sb *sb)
{
    axl_tcp_sack_on_rto(sk(sb));
}

int tcp_sb_can_send(const struct tcp_sb *sb, uint32_t cwnd)
{
    return axl_tcp_sack_can_send(csk(sb), cwnd);
}

int tcp_sb_after_rto(const struct tcp_sb *sb)
{
    return (csk(sb)->flags & AXL_TCP_SACK_F_AFTER_RTO) != 0;
}

uint32_t tcp_sb_snd_max(const struct tcp_sb *sb)
{
    return csk(sb)->snd_max;
}

uint32_t tcp_sb_high_rxt(const struct tcp_sb *sb)
{
    return csk(sb)->high_rxt;
}

int tcp_sb_sacked_span(const struct tcp_sb *sb, uint32_t *lo, uint32_t *hi)
{
    const struct axl_tcp_sack *s = csk(sb);
    if (!s->n) return 0;
    *lo = s->r[0].start;
    *hi = s->r[s->n - 1].end;
    return 1;
}

void tcp_sb_set_mss(struct tcp_sb *sb, uint32_t mss)
{
    (void)axl_tcp_sack_set_mss(sk(sb), mss);
}
