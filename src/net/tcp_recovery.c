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
    if (sg->seq == t->snd_una) {
        /* Watch the retransmission of the lowest hole (lost_rxt_check). */
        t->lr_on = 1;
        t->lr_seq = sg->seq;
        t->lr_hi = t->snd_max;
        t->lr_ns = t->s->now_ns;
    }
    return n;
}

/* Lost retransmissions. RFC 6675 retransmits a hole once per recovery: when
 * the retransmission is lost too, only the RTO repairs it, and at a few
 * percent loss that makes the sender RTO-bound (every 20th retransmission
 * at 5%). The idea of RACK (RFC 8985 §6.2, "a segment is lost if a segment
 * sent after it was delivered"), for the one retransmission that matters,
 * the lowest hole's, which holds SND.UNA back: it is lost once data first
 * sent after it (above lr_hi, SND.MAX when it left) has been SACKed DupThresh
 * segments deep (the same reordering allowance as RFC 6675 §4 IsLost). It is
 * then sent again, once per such proof; congestion control already reacted
 * to this loss episode (RFC 8985 §9.3: one reduction per recovery). When the
 * cumulative ACK passes it and the next hole was retransmitted already, the
 * watch moves there, dated now (later than the truth: a late detection,
 * never a spurious one). Costs two compares per ACK in recovery.
 *
 * RACK's time rule (RFC 8985 §6.2) applies too, for when too little is in
 * flight for DupThresh segments: once anything sent after the
 * retransmission is SACKed and SRTT + reo_wnd have passed since it left,
 * it is lost. If that moment is still ahead, the reordering timer (TF_REO,
 * tcp_rec_arm) is set for it, so a stalled ACK clock cannot hold it back. */
static uint64_t reo_wnd_ns(const struct axl_tcb *t);
static void rec_timer_at(struct axl_tcb *t, uint64_t due);

static void lost_rxt_check(struct axl_tcb *t)
{
    if (!t->lr_on) return;
    if (axl_seq_gt(t->snd_una, t->lr_seq)) {
        t->lr_on = 0;
        if (axl_seq_lt(t->snd_una, tcp_sb_high_rxt(&t->sb))) {
            t->lr_on = 1;
            t->lr_seq = t->snd_una;
            t->lr_hi = t->snd_max;
            t->lr_ns = t->s->now_ns;
        }
        return;
    }
    uint32_t lo, hi;
    if (!tcp_sb_sacked_span(&t->sb, &lo, &hi) || !axl_seq_gt(lo, t->snd_una)) return;
    if (axl_seq_lt(hi, t->lr_hi + AXL_TCP_DUPACK_THRESH * tcp_seg_max(t))) {
        if (!axl_seq_gt(hi, t->lr_hi)) return; /* nothing sent after it delivered yet */
        uint64_t due = t->lr_ns + axl_tcp_rtt_srtt_ns(&t->rtt) + reo_wnd_ns(t);
        if (t->s->now_ns < due) {
            rec_timer_at(t, due);
            return;
        }
    }
    AXL_STAT_INC(t->s, TcpLostRetransmit);
    struct tcp_sb_seg sg = {t->snd_una, AXL_MIN(lo - t->snd_una, tcp_seg_max(t)),
                            TCP_SB_SEG_LOST};
    if (!rxt_one(t, &sg)) t->lr_on = 0; /* not sent: the RTO remains the backstop */
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

/* --- RACK-TLP (RFC 8985), on top of the RFC 6675 scoreboard ---------------------
 *
 * The scoreboard keeps no send times, so RACK's rule (§6.2: a segment is
 * lost once a segment sent after it was delivered and RACK.rtt + reo_wnd
 * passed since it was sent) is applied in the form that needs none, for the
 * hole that matters, the one at SND.UNA: when an ACK shows data SACKed above
 * that hole (sent after it: the hole was never retransmitted outside
 * recovery) and the hole is still there reo_wnd later, it is lost. Since the
 * SACKed segment left after the hole and was delivered one RTT later, this
 * fires no earlier than RACK would. That is what a recovery needs when too
 * little is in flight for DupThresh SACKed segments (RFC 6675's only
 * trigger besides the RTO).
 *
 * The tail loss probe (§7): when the last segments of a flight are lost no
 * ACK comes at all; after PTO = 2 SRTT (plus the worst-case delayed ACK
 * when one segment is out; at least AXL_TCP_TLP_MIN_NS, below the RTO) send one new segment, or
 * resend the last one, so the ACK it draws reveals the losses (SACK) and the reordering timer or
 * DupThresh starts a fast recovery instead of an RTO. One probe until new data is acknowledged
 * (§7.3); after the probe the RTO runs (§7.3 "the sender MUST arm the RTO timer").
 *
 * Not done: §7.4's congestion response when the probe alone repaired a
 * loss (no SACK recovery followed), and RACK for retransmissions other than
 * the lowest hole's (lost_rxt_check above handles that one). */

/* §6.2.4: reo_wnd = min_RTT / 4; the estimator keeps no minimum, SRTT / 4
 * bounds it from above (a later detection, never an earlier one), at least
 * one timer tick. */
static uint64_t reo_wnd_ns(const struct axl_tcb *t)
{
    return AXL_MAX(axl_tcp_rtt_srtt_ns(&t->rtt) / 4, (uint64_t)AXL_NS_PER_MS);
}

/* Run t_rtx as the reordering timer until `due` unless it expires sooner. */
static void rec_timer_at(struct axl_tcb *t, uint64_t due)
{
    if (t->flags & TF_PERSIST) return;
    if ((t->flags & TF_REO) && axl_timer_armed(&t->t_rtx)) return; /* one pending is enough */
    t->flags &= ~TF_PTO;
    t->flags |= TF_REO;
    axl_timer_start_at(&t->s->tw, &t->t_rtx, due);
}

/* A hole at SND.UNA below SACKed data, outside any recovery. */
static int rack_hole(const struct axl_tcb *t)
{
    uint32_t lo, hi;
    if ((t->flags & TF_RECOVERY) || tcp_sb_after_rto(&t->sb)) return 0;
    return tcp_sb_sacked_span(&t->sb, &lo, &hi) && axl_seq_gt(lo, t->snd_una);
}

uint64_t tcp_rec_arm(struct axl_tcb *t, uint64_t rto)
{
    if (t->state < AXL_TCP_ESTABLISHED || t->state == AXL_TCP_TIME_WAIT || t->nretries ||
        t->snd_una == t->snd_max)
        return rto;
    if (rack_hole(t)) {
        uint64_t d = reo_wnd_ns(t);
        if (d >= rto) return rto;
        t->flags |= TF_REO;
        return d;
    }
    if ((t->flags & TF_RECOVERY) && t->lr_on) { /* the watched retransmission's RACK deadline */
        uint32_t lo, hi;
        if (tcp_sb_sacked_span(&t->sb, &lo, &hi) && axl_seq_gt(lo, t->snd_una) &&
            axl_seq_gt(hi, t->lr_hi)) {
            /* Only a deadline still ahead: one that passed was acted on by
             * lost_rxt_check, or its conditions do not hold (then the RTO
             * is the backstop, and the timer never spins). */
            uint64_t due = t->lr_ns + axl_tcp_rtt_srtt_ns(&t->rtt) + reo_wnd_ns(t);
            if (due > t->s->now_ns && due - t->s->now_ns < rto) {
                t->flags |= TF_REO;
                return due - t->s->now_ns;
            }
        }
    }
    /* §7.2: no probe in recovery, after an RTO, without an RTT sample, or
     * while one is out. */
    if ((t->flags & TF_RECOVERY) || tcp_sb_after_rto(&t->sb) || t->tlp_on || !t->rtt.has_sample)
        return rto;
    uint64_t pto = 2 * axl_tcp_rtt_srtt_ns(&t->rtt);
    uint32_t flight = t->snd_max - t->snd_una;
    if (flight <= tcp_seg_max(t)) pto += AXL_TCP_TLP_WCDELACK_NS; /* §7.2 FlightSize == 1 */
    pto = AXL_MAX(pto, (uint64_t)AXL_TCP_TLP_MIN_NS);
    if (pto >= rto) return rto;
    t->flags |= TF_PTO;
    return pto;
}

/* §7.3: one new segment if the windows allow it, else the last one again. */
static void tlp_send(struct axl_tcb *t)
{
    uint32_t segmax = tcp_seg_max(t);
    uint32_t queued = t->snd_max - t->snd_una;
    if (t->flags & TF_FIN_SENT) queued--; /* the FIN's number holds no byte */
    uint32_t unsent = t->sq.bytes > queued ? t->sq.bytes - queued : 0;
    uint32_t edge = t->snd_una + t->snd_wnd;
    uint32_t room = axl_seq_gt(edge, t->snd_max) ? edge - t->snd_max : 0;
    t->tlp_on = 1;
    if (unsent && room && t->snd_nxt == t->snd_max &&
        tcp_send_new_one(t, AXL_MIN(AXL_MIN(unsent, room), segmax)))
        return;
    if (!queued) return; /* only the FIN is out: the RTO resends it */
    /* The last segment again: the bytes up to snd_max, cut where the sender
     * cut them (full segments from snd_una; an object cuts at its own
     * segment boundaries), so the probe is the segment the peer missed. */
    uint32_t len = (queued - 1) % segmax + 1, off = queued - len;
    int cut;
    for (uint32_t l = tcp_prepkt_seg_limit(t, off, len, &cut); l && l < len;
         l = tcp_prepkt_seg_limit(t, off, len, &cut)) {
        off += l;
        len -= l;
    }
    (void)tcp_send_data(t, t->snd_una + off, len, 1);
}

void tcp_rec_timer_fire(struct axl_tcb *t)
{
    struct axl_stack *s = t->s;
    uint32_t f = t->flags;
    int plain_rto = 0;
    t->flags &= ~(TF_PTO | TF_REO);
    if (t->snd_una == t->snd_max) return;
    if ((f & TF_REO) && (t->flags & TF_RECOVERY)) {
        lost_rxt_check(t); /* the watched retransmission's deadline came */
        if (t->flags & TF_DEAD) return;
        tcp_output(t);
    } else if (f & TF_REO) {
        struct tcp_sb_res r;
        if (rack_hole(t) && tcp_sb_enter_on_time(&t->sb, &r) == TCP_SB_ACK_ENTER) {
            axl_tcp_cc_on_congestion(&t->cc, t->snd_max - t->snd_una, t->snd_max,
                                     AXL_TCP_CC_REC_SACK);
            t->flags |= TF_RECOVERY;
            AXL_STAT_INC(s, TcpFastRetrans);
            AXL_STAT_INC(s, TcpSackRecovery);
            rxt_one(t, &r.rxt);
            if (t->flags & TF_DEAD) return;
            tcp_output(t); /* step (C) */
        } else {
            plain_rto = 1; /* the scoreboard disagrees: no reordering timer again */
        }
    } else {
        tlp_send(t);
    }
    if ((t->flags & TF_DEAD) || t->snd_una == t->snd_max || (t->flags & TF_PERSIST)) return;
    if (plain_rto)
        tcp_timer_in(s, &t->t_rtx, axl_tcp_rtt_rto_ns(&t->rtt));
    else
        tcp_rtx_arm(t);
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
    if (axl_seq_gt(g->ack, t->snd_una)) t->tlp_on = 0; /* §7.3: new data acknowledged */
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
        lost_rxt_check(t);
        break; /* step (C) runs in tcp_output once the ACK is processed */
    case TCP_SB_ACK_AFTER_RTO:
        break;
    case TCP_SB_ACK_LIMITED:
        /* A hole below SACKed data, short of DupThresh: start the
         * reordering window now (an ACK that advances SND.UNA re-arms
         * through tcp_rtx_arm anyway). */
        if (g->ack == t->snd_una && !(t->flags & (TF_REO | TF_PERSIST)) && rack_hole(t))
            tcp_rtx_arm(t);
        break;
    case TCP_SB_ACK_EXIT:
        t->flags &= ~TF_RECOVERY;
        t->dupacks = 0;
        t->lr_on = 0;
        break;
    default:
        break;
    }
}

void tcp_rec_on_rto(struct axl_tcb *t)
{
    t->lr_on = 0;
    tcp_sb_on_rto(&t->sb); /* RFC 6675 §5.1; tcp_output then runs NextSeg */
}
