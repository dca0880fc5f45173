/* SPDX-License-Identifier: MIT */
/*
 * net/tcp_recovery.c - loss recovery of a TCP connection: duplicate ACKs,
 * fast retransmit and fast recovery.
 *
 * Two flavours, chosen per connection by the SACK-permitted negotiation:
 *   - SACK (RFC 6675): the scoreboard of net/tcp_sack.c decides when loss
 *     is detected (DupThresh SACKed segments, IsLost) and what to send
 *     (NextSeg); sending during recovery is governed by pipe, the window
 *     arithmetic by net/tcp_cc.c (REC_SACK). After an RTO the scoreboard
 *     keeps steering retransmissions around SACKed data (§5.1).
 *   - NewReno (RFC 6582, RFC 5681 §3.2): three duplicate ACKs trigger fast
 *     retransmit when the cumulative ACK covers the last recovery point;
 *     further duplicates inflate the window, partial ACKs retransmit the
 *     next hole (tcp_input.c tcp_ack), a full ACK ends recovery.
 * Limited transmit (RFC 3042) applies to both: see usable_window() in
 * tcp_output.c.
 *
 * Call chain: tcp_input.c tcp_ack -> tcp_rec_ack / tcp_dupack ->
 * tcp_cc.c / tcp_scoreboard.c (tcp_sack.c) -> tcp_output.c (retransmissions);
 * tcp_timer.c RTO -> tcp_rec_on_rto.
 */
#include "core/compiler.h"
#include "core/err.h"
#include "net/stack_priv.h"
#include "net/tcp_priv.h"

/* --- NewReno --------------------------------------------------------------------- */

void tcp_dupack(struct axl_tcb *t)
{
    struct axl_stack *s = t->s;
    if (t->flags & TF_SACK_OK) return; /* the scoreboard counts (tcp_rec_ack) */
    if (t->dupacks < 255) t->dupacks++;
    if (t->flags & TF_RECOVERY) {
        axl_tcp_cc_on_dupack(&t->cc); /* RFC 6582 §3.2 step 4: inflate */
        return;
    }
    if (t->dupacks != AXL_TCP_DUPACK_THRESH) return;
    /* RFC 6582 §3.2 step 2: a new recovery only once the last one's
     * recover point is acknowledged (else these are duplicates of it). */
    if (!axl_tcp_cc_may_recover(&t->cc, t->snd_una)) return;
    axl_tcp_cc_on_congestion(&t->cc, t->snd_max - t->snd_una, t->snd_max, AXL_TCP_CC_REC_NEWRENO);
    t->flags |= TF_RECOVERY;
    AXL_STAT_INC(s, TcpFastRetrans);
    AXL_STAT_INC(s, TcpRenoRecovery);
    tcp_send_data(t, t->snd_una, tcp_seg_max(t), 1); /* step 3: fast retransmit */
}

/* --- SACK (RFC 6675) ------------------------------------------------------------- */

void tcp_rec_start(struct axl_tcb *t)
{
    (void)tcp_sb_init(&t->sb, t->snd_una, t->snd_max, t->snd_mss);
}

void tcp_rec_sent(struct axl_tcb *t, uint32_t seq, uint32_t len)
{
    /* Every transmission of a SACK connection is reported (RFC 6675 §5
     * C.2-C.4): what lies below the scoreboard's SND.MAX was sent before
     * (a go-back-N resend or the zero-window probe's byte), the rest is new. */
    struct tcp_sb *sb = &t->sb;
    if (!(t->flags & TF_SACK_OK) || !len || t->state < AXL_TCP_ESTABLISHED) return;
    uint32_t max = tcp_sb_snd_max(sb);
    if (axl_seq_lt(seq, max)) {
        uint32_t k = AXL_MIN(len, max - seq);
        tcp_sb_sent(sb, seq, k, TCP_SB_SEG_LOST);
        seq += k;
        len -= k;
    }
    if (len) tcp_sb_sent(sb, seq, len, TCP_SB_SEG_NEW);
}

/* Retransmit one NextSeg segment; returns sequence space sent (0: none). */
static uint32_t rxt_one(struct axl_tcb *t, const struct tcp_sb_seg *sg)
{
    uint32_t len = AXL_MIN(sg->len, tcp_seg_max(t));
    uint32_t before = t->retrans;
    int rc = tcp_send_data(t, sg->seq, len, 1);
    if (rc < 0 || t->retrans == before) return 0;
    uint32_t n = (uint32_t)rc;
    if ((t->flags & TF_FIN_SENT) && sg->seq + n == t->snd_fin) n++; /* the FIN went too */
    tcp_sb_sent(&t->sb, sg->seq, n, sg->rule);
    return n;
}

/* RFC 6675 §5 step (C) (and §5.1 after an RTO): while cwnd - pipe >= SMSS,
 * send what NextSeg() names. New data goes through the normal sender. */
void tcp_rec_output(struct axl_tcb *t)
{
    struct tcp_sb *sb = &t->sb;
    for (int guard = 0; guard < 1024; guard++) {
        if (!tcp_sb_can_send(sb, t->cc.cwnd)) return;
        uint32_t queued = t->snd_max - t->snd_una;
        if (t->flags & TF_FIN_SENT) queued--; /* the FIN's number holds no byte */
        uint32_t unsent = t->sq.bytes > queued ? t->sq.bytes - queued : 0;
        uint32_t edge = t->snd_una + t->snd_wnd;
        uint32_t room = axl_seq_gt(edge, t->snd_max) ? edge - t->snd_max : 0;
        struct tcp_sb_seg sg;
        int rule = tcp_sb_next_seg(sb, AXL_MIN(unsent, room), &sg);
        if (rule <= 0) return;
        if (rule == TCP_SB_SEG_NEW) {
            if (!tcp_send_new_one(t, AXL_MIN(sg.len, tcp_seg_max(t)))) return;
        } else if (!rxt_one(t, &sg)) {
            return;
        }
    }
}

void tcp_rec_ack(struct axl_tcb *t, const struct tcp_seg *g)
{
    struct axl_stack *s = t->s;
    struct tcp_sb_res r;
    uint32_t blk[AXL_TCP_SACK_MAX][2];
    unsigned n = AXL_MIN((unsigned)g->opts.sack_n, (unsigned)AXL_TCP_SACK_MAX);
    for (unsigned i = 0; i < n; i++) {
        blk[i][0] = g->opts.sack[i].left;
        blk[i][1] = g->opts.sack[i].right;
    }
    int v = tcp_sb_on_ack(&t->sb, g->ack, (const uint32_t(*)[2])blk, n, &r);
    if (v < 0) return;
    if (r.dsack) AXL_STAT_INC(s, TcpDsackRecv);
    if (r.reneged) AXL_STAT_INC(s, TcpSackReneging);
    t->dupacks = r.dupacks;
    switch (v) {
    case TCP_SB_ACK_ENTER:
        axl_tcp_cc_on_congestion(&t->cc, t->snd_max - t->snd_una, t->snd_max, AXL_TCP_CC_REC_SACK);
        t->flags |= TF_RECOVERY;
        AXL_STAT_INC(s, TcpFastRetrans);
        AXL_STAT_INC(s, TcpSackRecovery);
        rxt_one(t, &r.rxt); /* §5 step (4.3) */
        break;
    case TCP_SB_ACK_RECOVERY:
    case TCP_SB_ACK_AFTER_RTO:
        break; /* step (C) runs in tcp_output once the ACK is processed */
    case TCP_SB_ACK_EXIT:
        t->flags &= ~TF_RECOVERY;
        t->dupacks = 0;
        break;
    default:
        break;
    }
}

void tcp_rec_on_rto(struct axl_tcb *t)
{
    tcp_sb_on_rto(&t->sb); /* RFC 6675 §5.1; tcp_output then runs NextSeg */
}
