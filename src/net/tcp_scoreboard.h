/* SPDX-License-Identifier: MIT */
/*
 * net/tcp_scoreboard.h - the RFC 6675 SACK scoreboard (net/tcp_sack.h) as a
 * TCB holds and drives it.
 *
 * Why a wrapper: net/tcp_sack.h once defined its own struct
 * axl_tcp_sack_block beside wire/tcp.h's, so no unit could include both. It
 * now uses wire/tcp.h's; the TCB still keeps the scoreboard as opaque storage
 * of the same size (checked in tcp_scoreboard.c) and calls these functions.
 * Next step: embed struct axl_tcp_sack in the TCB and retire this wrapper.
 *
 * Call chain: tcp_recovery.c / tcp_output.c -> here -> tcp_sack.c.
 */
#ifndef AXL_NET_TCP_SCOREBOARD_H
#define AXL_NET_TCP_SCOREBOARD_H

#include <stdint.h>

/** Size of struct axl_tcp_sack (tcp_sack.h asserts 292; tcp_scoreboard.c
 *  asserts they agree). */
#define TCP_SB_SIZE 292u

struct tcp_sb {
    uint32_t w[TCP_SB_SIZE / 4];
};

/* enum axl_tcp_sack_rule and enum axl_tcp_sack_verdict, mirrored (the
 * values are checked against tcp_sack.h in tcp_scoreboard.c). */
enum {
    TCP_SB_SEG_NONE = 0,
    TCP_SB_SEG_LOST = 1,
    TCP_SB_SEG_NEW = 2,
    TCP_SB_SEG_UNSACKED = 3,
    TCP_SB_SEG_RESCUE = 4,
    TCP_SB_SEG_FAST_RXT = 5,
};
enum {
    TCP_SB_ACK_NONE = 0,
    TCP_SB_ACK_LIMITED,
    TCP_SB_ACK_ENTER,
    TCP_SB_ACK_RECOVERY,
    TCP_SB_ACK_EXIT,
    TCP_SB_ACK_AFTER_RTO,
};

struct tcp_sb_seg {
    uint32_t seq, len;
    int rule;
};

struct tcp_sb_res {
    uint8_t dsack, reneged, dupacks;
    struct tcp_sb_seg rxt; /* with TCP_SB_ACK_ENTER */
};

int tcp_sb_init(struct tcp_sb *sb, uint32_t snd_una, uint32_t snd_max, uint32_t mss);
void tcp_sb_sent(struct tcp_sb *sb, uint32_t seq, uint32_t len, int rule);
/* blocks: n pairs (left, right). Returns a TCP_SB_ACK_* verdict or < 0. */
int tcp_sb_on_ack(struct tcp_sb *sb, uint32_t ack, const uint32_t (*blocks)[2], unsigned n,
                  struct tcp_sb_res *res);
int tcp_sb_next_seg(const struct tcp_sb *sb, uint32_t avail_new, struct tcp_sb_seg *seg);
void tcp_sb_on_rto(struct tcp_sb *sb);
/* Enter recovery because the hole at HighACK + 1 timed out (RACK's
 * reordering window): TCP_SB_ACK_ENTER with res->rxt, or TCP_SB_ACK_NONE. */
int tcp_sb_enter_on_time(struct tcp_sb *sb, struct tcp_sb_res *res);
int tcp_sb_can_send(const struct tcp_sb *sb, uint32_t cwnd);
int tcp_sb_after_rto(const struct tcp_sb *sb);
uint32_t tcp_sb_snd_max(const struct tcp_sb *sb);
/* HighRxt + 1: unSACKed bytes below it were retransmitted in this recovery. */
uint32_t tcp_sb_high_rxt(const struct tcp_sb *sb);
/* The lowest SACKed byte and the end of the highest SACKed range: 0 when
 * nothing is SACKed. */
int tcp_sb_sacked_span(const struct tcp_sb *sb, uint32_t *lo, uint32_t *hi);
/* SMSS changed (PMTUD). */
void tcp_sb_set_mss(struct tcp_sb *sb, uint32_t mss);

#endif
