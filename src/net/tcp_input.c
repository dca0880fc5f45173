/* SPDX-License-Identifier: MIT */
/*
 * net/tcp_input.c - TCP segment arrival (RFC 9293 §3.10.7): validation,
 * demux, and one function per state.
 *
 * Validation: a segment to a broadcast or multicast address is dropped
 * (RFC 1122 §4.2.3.10); the header must be complete, the data offset sane,
 * the checksum right (unless the port vouches for it), the options
 * well-formed (wire/tcp.h explains why malformed options drop the segment).
 *
 * Demux: the 4-tuple table first (tcp.c), then the listener of the port,
 * else the port is closed (§3.10.7.1: RST unless the segment is a RST).
 * A SYN that hits a TIME-WAIT connection reopens it when provably new
 * (RFC 6191 with timestamps, RFC 9293 §3.6.1 / RFC 1122 §4.2.2.13 by
 * sequence number otherwise).
 *
 * In a synchronized state the checks run in the RFC's order (§3.10.7.4):
 *   check_seq   first: PAWS (RFC 7323 §5.3), acceptability, trim to window
 *   check_rst   second: RFC 5961 §3.2 (exact RCV.NXT resets, else challenge)
 *   (third, security/compartment: omitted, as RFC 9293 allows)
 *   check_syn   fourth: RFC 5961 §4.2 challenge ACK
 *   check_ack   fifth: RFC 5961 §5.2 range, then tcp_ack (SND.UNA, the send
 *               window, RTT, congestion control, loss recovery)
 *   step_urg    sixth: urgent pointer recorded, data delivered inline
 *   step_text   seventh: in order to the receive queue, else out of order
 *   step_fin    eighth
 * and each state function (tcp_state_established() ...) strings together the
 * steps that apply to it.
 *
 * Events raised while a segment is processed are delivered after it, then
 * tcp_output() sends what the new state allows (data, FIN, the ACK owed).
 *
 * Call chain: ipv4.c deliver -> axl_tcp_input -> tcp_segment ->
 * tcp_state_* -> tcp.c queues / tcp_output.c / tcp_timer.c.
 */
#include <string.h>

#include "core/compiler.h"
#include "core/err.h"
#include "net/stack_priv.h"
#include "net/tcp_priv.h"
#include "wire/csum.h"
#include "wire/ipv4.h"

enum { CONT = 0, STOP = 1 };

#define DROP(s, name) AXL_STAT_INC(s, name)

/* --- payload chains ---------------------------------------------------------------- */

/* Drop n bytes from the front of the segment's payload. */
static void seg_advance(struct axl_stack *s, struct tcp_seg *g, uint32_t n)
{
    g->len -= n;
    while (n && g->data) {
        struct axl_pkt *p = g->data;
        if (n < p->len) {
            p->data += n;
            p->len -= n;
            return;
        }
        n -= p->len;
        g->data = p->next;
        p->next = NULL;
        axl_pkt_free(s->pool, p);
    }
}

/* Keep only the first n bytes of the payload. */
static void seg_truncate(struct axl_stack *s, struct tcp_seg *g, uint32_t n)
{
    g->len = n;
    if (!n) {
        axl_pkt_free_chain(s->pool, g->data);
        g->data = NULL;
        return;
    }
    axl_chain_trim(s->pool, g->data, n);
}

/* Make the first n bytes of a chain contiguous in its first buffer. */
static int pullup(struct axl_stack *s, struct axl_pkt *head, uint32_t n)
{
    if (head->len >= n) return 0;
    if (axl_pkt_room(s->pool, head) < n) return -1;
    while (head->len < n && head->next) {
        struct axl_pkt *p = head->next;
        uint32_t k = AXL_MIN(n - head->len, p->len);
        memcpy(head->data + head->len, p->data, k);
        head->len += k;
        p->data += k;
        p->len -= k;
        if (!p->len) {
            head->next = p->next;
            p->next = NULL;
            axl_pkt_free(s->pool, p);
        }
    }
    return head->len >= n ? 0 : -1;
}

/* --- negotiation ----------------------------------------------------------------- */

/* The size of the peer's full segments, before we see one: its MSS (at most
 * ours) less the timestamp option it will carry. Step_text raises it to the
 * largest segment seen. Delayed ACKs count "full-sized" by it. */
static void rcv_mss_init(struct axl_tcb *t)
{
    uint32_t m = AXL_MIN((uint32_t)t->snd_mss, (uint32_t)t->adv_mss);
    if (t->flags & TF_TS_OK) m -= 12;
    t->rcv_mss = (uint16_t)m;
}

/* Options of a SYN (passive) or SYN-ACK (active): RFC 9293 §3.7.1 MSS,
 * RFC 7323 §2.2 window scale (both sides must send it), §3.2 timestamps,
 * RFC 2018 §2 SACK-permitted. */
static void syn_options(struct axl_tcb *t, const struct tcp_seg *g)
{
    struct axl_stack *s = t->s;
    uint32_t peer_mss = g->opts.has_mss ? g->opts.mss : AXL_TCP_MSS_DEFAULT;
    uint32_t mss = AXL_MIN(peer_mss, (uint32_t)tcp_adv_mss(s));
    t->snd_mss = (uint16_t)AXL_MAX(mss, AXL_TCP_MSS_MIN);
    if (g->opts.has_ws) {
        t->flags |= TF_WS_OK;
        t->snd_wscale = g->opts.ws_shift;
    } else {
        t->flags &= ~TF_WS_OK;
        t->snd_wscale = 0;
        t->rcv_wscale = 0;
        /* Without scaling the window field caps what we can use. */
        if (t->rcvbuf > 65535u) t->rcvbuf = 65535u;
    }
    if (g->opts.has_ts) {
        t->flags |= TF_TS_OK;
        t->ts_recent = g->opts.ts_val;
        t->ts_recent_ms = tcp_ts_ms(s);
    } else {
        t->flags &= ~TF_TS_OK;
    }
    if (g->opts.has_sack_perm && !s->tcp.no_sack)
        t->flags |= TF_SACK_OK;
    else
        t->flags &= ~TF_SACK_OK;
    rcv_mss_init(t);
}

/* The handshake completed (SYN-SENT or SYN-RECEIVED -> ESTABLISHED). */
static void established(struct axl_tcb *t, const struct tcp_seg *g, int syn_segment)
{
    struct axl_stack *s = t->s;
    t->snd_una = t->iss + 1;
    if (axl_seq_lt(t->snd_nxt, t->snd_una)) t->snd_nxt = t->snd_una;
    /* RFC 7323 §2.2: the window of a SYN segment is not scaled. */
    t->snd_wnd = syn_segment ? g->wnd : (uint32_t)g->wnd << t->snd_wscale;
    t->snd_wl1 = g->seq;
    t->snd_wl2 = g->ack;
    t->max_sndwnd = AXL_MAX(t->max_sndwnd, t->snd_wnd);
    tcp_rtx_stop(t);
    t->nretries = 0;
    if ((t->flags & TF_RTT_TIMING) && !(t->flags & TF_SYN_TIMEDOUT))
        axl_tcp_rtt_sample(&t->rtt, s->now_ns - t->rtt_start_ns, AXL_TCP_RTT_SRC_FRESH);
    else if ((t->flags & TF_TS_OK) && g->opts.has_ts && g->opts.ts_ecr)
        axl_tcp_rtt_sample(&t->rtt,
                           (uint64_t)(uint32_t)(tcp_ts_ms(s) + t->ts_off - g->opts.ts_ecr) *
                               AXL_NS_PER_MS,
                           AXL_TCP_RTT_SRC_TIMESTAMP);
    t->flags &= ~TF_RTT_TIMING;
    axl_tcp_rtt_handshake_done(&t->rtt, (t->flags & TF_SYN_TIMEDOUT) != 0);
    axl_tcp_cc_init(&t->cc, (enum axl_tcp_cc_algo)t->cc_algo, t->snd_mss, s->now_ns);
    if (t->flags & TF_SYN_TIMEDOUT) axl_tcp_cc_syn_lost(&t->cc);
    t->last_snd_ns = s->now_ns;
    t->last_rcv_ns = s->now_ns;
    if (t->flags & TF_SACK_OK) tcp_rec_start(t);
    /* A shutdown issued during the handshake takes effect now (RFC 9293
     * §3.10.4: queued until ESTABLISHED). */
    tcp_set_state(t, (t->flags & TF_FIN_QUEUED) ? AXL_TCP_FIN_WAIT_1 : AXL_TCP_ESTABLISHED);
    tcp_keepalive_arm(t);
    if (t->flags & TF_PASSIVE)
        tcp_accept_enqueue(t);
    else
        t->events |= EV_CONNECTED;
}

/* --- the checks of RFC 9293 §3.10.7.4 --------------------------------------------------- */

static uint32_t rcv_wnd_now(const struct axl_tcb *t)
{
    return axl_seq_gt(t->rcv_adv, t->rcv_nxt) ? t->rcv_adv - t->rcv_nxt : 0;
}

/* First: PAWS, then the sequence number test and trimming to the window. */
static int check_seq(struct axl_tcb *t, struct tcp_seg *g)
{
    struct axl_stack *s = t->s;
    if (t->flags & TF_TS_OK) {
        if (!g->opts.has_ts) {
            /* RFC 7323 §3.2: a non-RST segment without TSopt on a
             * connection that negotiated it SHOULD be dropped. */
            if (!(g->flags & AXL_TCP_RST)) {
                DROP(s, DropTcpNoTs);
                return STOP;
            }
        } else if (!(g->flags & AXL_TCP_RST) && axl_seq_lt(g->opts.ts_val, t->ts_recent)) {
            if ((uint32_t)(tcp_ts_ms(s) - t->ts_recent_ms) > AXL_TCP_PAWS_IDLE_MS) {
                /* RFC 7323 §5.5: TS.Recent is too old to judge with. */
                t->ts_recent = g->opts.ts_val;
                t->ts_recent_ms = tcp_ts_ms(s);
            } else {
                /* RFC 7323 §5.3 R1: an old duplicate. */
                AXL_STAT_INC(s, TcpPawsEstabRejected);
                DROP(s, DropTcpPaws);
                tcp_oow_ack(t, g);
                return STOP;
            }
        }
    }
    uint32_t wnd = rcv_wnd_now(t);
    uint32_t sl = tcp_seg_len(g);
    uint32_t nxt = t->rcv_nxt;
    int ok;
    if (!sl)
        ok = wnd ? axl_seq_between(g->seq, nxt, nxt + wnd) : g->seq == nxt;
    else
        ok = wnd && (axl_seq_between(g->seq, nxt, nxt + wnd) ||
                     axl_seq_between(g->seq + sl - 1, nxt, nxt + wnd));
    if (!ok) {
        if (!wnd && g->seq == nxt && !(g->flags & AXL_TCP_SYN)) {
            /* RFC 9293 §3.10.7.4: with a zero window no text is acceptable,
             * but valid ACKs, URGs and RSTs are processed. The text (a
             * zero-window probe) is dropped and answered with an ACK. */
            if (g->len) {
                AXL_STAT_INC(s, TcpZeroWindowDrops);
                seg_truncate(s, g, 0);
            }
            g->flags &= ~(AXL_TCP_FIN | AXL_TCP_PSH);
            t->flags |= TF_ACK_NOW;
            return CONT;
        }
        if (g->flags & AXL_TCP_RST) {
            DROP(s, DropTcpRstOutOfWindow);
            return STOP;
        }
        if (t->state == AXL_TCP_TIME_WAIT && (g->flags & AXL_TCP_FIN) &&
            g->seq + g->len + 1 == nxt) {
            /* RFC 9293 §3.10.7.4: a retransmitted FIN in TIME-WAIT is
             * acknowledged and the 2 MSL wait restarts. */
            tcp_send_ack(t);
            tcp_timer_in(s, &t->t_keep, 2 * s->tcp.msl_ns);
            DROP(s, DropTcpTimeWait);
            return STOP;
        }
        DROP(s, DropTcpOutOfWindow);
        tcp_oow_ack(t, g);
        return STOP;
    }
    /* Trim to the window: only the new parts are processed. */
    if (axl_seq_lt(g->seq, nxt)) {
        uint32_t d = nxt - g->seq;
        if (g->flags & AXL_TCP_SYN) d--; /* the SYN's number (the flag stays: check_syn) */
        uint32_t k = AXL_MIN(d, g->len);
        seg_advance(s, g, k);
        g->seq = nxt;
        if (d > k) g->flags &= ~AXL_TCP_FIN; /* the FIN itself is old */
    }
    uint32_t right = nxt + wnd;
    if (g->len && axl_seq_gt(g->seq + g->len, right)) {
        seg_truncate(s, g, right - g->seq);
        g->flags &= ~(AXL_TCP_FIN | AXL_TCP_PSH);
    } else if ((g->flags & AXL_TCP_FIN) && !axl_seq_lt(g->seq + g->len, right)) {
        g->flags &= ~AXL_TCP_FIN; /* no room for the FIN's number */
    }
    /* RFC 7323 §4.3: TS.Recent from a segment that covers Last.ACK.sent. */
    if ((t->flags & TF_TS_OK) && g->opts.has_ts && axl_seq_ge(g->opts.ts_val, t->ts_recent) &&
        axl_seq_le(g->orig_seq, t->last_ack_sent)) {
        t->ts_recent = g->opts.ts_val;
        t->ts_recent_ms = tcp_ts_ms(s);
    }
    return CONT;
}

/* Second: RST (RFC 9293 §3.10.7.4, RFC 5961 §3.2, RFC 1337 for TIME-WAIT). */
static int check_rst(struct axl_tcb *t, const struct tcp_seg *g)
{
    struct axl_stack *s = t->s;
    if (!(g->flags & AXL_TCP_RST)) return CONT;
    if (t->state == AXL_TCP_TIME_WAIT) {
        /* RFC 1337 §3 (TIME-WAIT assassination): ignore RSTs in TIME-WAIT. */
        DROP(s, DropTcpTimeWaitRst);
        return STOP;
    }
    if (g->orig_seq != t->rcv_nxt) {
        /* In the window but not exactly RCV.NXT: prove it with a
         * challenge ACK; a genuine peer answers with an exact RST. */
        DROP(s, DropTcpRstChallenge);
        tcp_challenge_ack(t);
        return STOP;
    }
    switch (t->state) {
    case AXL_TCP_SYN_RECEIVED:
        /* Passive: back to LISTEN (the listener goes on; this TCB goes).
         * Active: connection refused. */
        tcp_tcb_done(t, -ECONNREFUSED);
        break;
    case AXL_TCP_ESTABLISHED:
    case AXL_TCP_FIN_WAIT_1:
    case AXL_TCP_FIN_WAIT_2:
    case AXL_TCP_CLOSE_WAIT:
        tcp_tcb_done(t, -ECONNRESET);
        break;
    default: /* CLOSING, LAST-ACK */
        tcp_tcb_done(t, (t->flags & TF_USER) ? -ECONNRESET : 0);
        break;
    }
    return STOP;
}

/* Fourth: SYN in a synchronized state (RFC 5961 §4.2 / RFC 9293). */
static int check_syn(struct axl_tcb *t, const struct tcp_seg *g)
{
    struct axl_stack *s = t->s;
    if (!(g->flags & AXL_TCP_SYN)) return CONT;
    if (t->state == AXL_TCP_SYN_RECEIVED && (t->flags & TF_PASSIVE)) {
        /* RFC 9293 §3.10.7.4 fourth: a passive open returns to LISTEN. */
        DROP(s, DropTcpSynRcvdSyn);
        tcp_tcb_done(t, -ECONNREFUSED);
        return STOP;
    }
    AXL_STAT_INC(s, TcpSynChallenge);
    DROP(s, DropTcpSynChallenge);
    tcp_challenge_ack(t);
    return STOP;
}

/* The fifth check's range test (RFC 5961 §5.2): (SND.UNA - MAX.SND.WND)
 * <= SEG.ACK <= SND.NXT (our SND.NXT is snd_max: after a go-back-N
 * retransmission snd_nxt moved back, what was sent stays acknowledgeable). */
static int check_ack(struct axl_tcb *t, const struct tcp_seg *g)
{
    struct axl_stack *s = t->s;
    if (!(g->flags & AXL_TCP_ACK)) {
        DROP(s, DropTcpNoAck); /* RFC 9293: "if the ACK bit is off drop the segment" */
        return STOP;
    }
    if (axl_seq_gt(g->ack, t->snd_max) || axl_seq_lt(g->ack, t->snd_una - t->max_sndwnd)) {
        DROP(s, DropTcpAckInvalid);
        tcp_challenge_ack(t);
        return STOP;
    }
    return CONT;
}

/* Sender side of an acceptable ACK (RFC 9293 §3.10.7.4 fifth, ESTABLISHED):
 * SND.UNA, the retransmission queue, RTT (RFC 6298, RFC 7323 §4), the send
 * window (SND.WL1/WL2 rule), congestion control and loss recovery. */
static void tcp_ack(struct axl_tcb *t, const struct tcp_seg *g)
{
    struct axl_stack *s = t->s;
    uint32_t ack = g->ack;
    uint32_t wnd = (uint32_t)g->wnd << t->snd_wscale;
    uint32_t old_una = t->snd_una;
    uint32_t flight = t->snd_max - old_una;

    if (t->flags & TF_SACK_OK) tcp_rec_ack(t, g);
    if (axl_seq_gt(ack, old_una)) {
        uint32_t acked = ack - old_una;
        uint32_t data = AXL_MIN(acked, t->sq.bytes);
        if ((t->flags & TF_FIN_SENT) && axl_seq_gt(ack, t->snd_fin)) t->flags |= TF_FIN_ACKED;
        t->snd_una = ack;
        if (axl_seq_lt(t->snd_nxt, ack)) t->snd_nxt = ack;
        /* The queue must start at the new SND.UNA before anything is
         * (re)sent from it below. */
        tcp_sndq_ack(t, data);
        if (t->flags & TF_DEAD) return; /* a zc_done callback aborted */
        t->acked_ev += data;
        if (data) t->events |= EV_ACKED;
        /* RTT: the timed segment (Karn: timing stops at any retransmission),
         * else the timestamp echo (RFC 7323 §4.1, unambiguous). */
        if ((t->flags & TF_RTT_TIMING) && axl_seq_ge(ack, t->rtt_seq)) {
            t->flags &= ~TF_RTT_TIMING;
            axl_tcp_rtt_sample(&t->rtt, s->now_ns - t->rtt_start_ns, AXL_TCP_RTT_SRC_FRESH);
        } else if (!(t->flags & TF_RTT_TIMING) && (t->flags & TF_TS_OK) && g->opts.has_ts &&
                   g->opts.ts_ecr) {
            uint32_t ms = tcp_ts_ms(s) + t->ts_off - g->opts.ts_ecr;
            if (ms < 0x80000000u)
                axl_tcp_rtt_sample(&t->rtt, (uint64_t)ms * AXL_NS_PER_MS,
                                   AXL_TCP_RTT_SRC_TIMESTAMP);
        }
        t->nretries = 0;
        struct axl_tcp_cc_ack a = {
            .now_ns = s->now_ns,
            .srtt_ns = axl_tcp_rtt_srtt_ns(&t->rtt),
            .ack = ack,
            .acked = acked,
            .flight = flight,
        };
        enum axl_tcp_cc_ack_res res = axl_tcp_cc_on_ack(&t->cc, &a);
        if (res == AXL_TCP_CC_ACK_EXIT) {
            t->flags &= ~TF_RECOVERY;
            t->dupacks = 0;
        } else if (res == AXL_TCP_CC_ACK_PARTIAL && (t->flags & TF_RECOVERY)) {
            if (!(t->flags & TF_SACK_OK)) {
                /* RFC 6582 §3.2 step 6: retransmit the first unacknowledged
                 * segment at once. */
                tcp_send_data(t, t->snd_una, tcp_seg_max(t), 1);
            }
        } else if (!(t->flags & TF_RECOVERY)) {
            t->dupacks = 0;
        }
        /* RFC 6298 §5.2/5.3: stop when everything is acknowledged, else
         * restart with the current RTO. */
        if (t->snd_una == t->snd_max)
            tcp_rtx_stop(t);
        else
            tcp_rtx_arm(t);
    } else if (ack == old_una && !g->len && !(g->flags & (AXL_TCP_SYN | AXL_TCP_FIN)) &&
               wnd == t->snd_wnd && t->snd_max != old_una && !(t->flags & TF_PERSIST)) {
        /* RFC 5681 §2 duplicate ACK. */
        tcp_dupack(t);
        if (t->flags & TF_DEAD) return;
    }
    /* Probes of a zero window are being answered: keep probing. */
    if (t->flags & TF_PERSIST) t->nretries = 0;
    /* The send window (RFC 9293 §3.10.7.4: SND.WL1/SND.WL2 guard against
     * old segments). */
    if (axl_seq_lt(t->snd_wl1, g->seq) || (t->snd_wl1 == g->seq && axl_seq_le(t->snd_wl2, ack))) {
        t->snd_wnd = wnd;
        t->snd_wl1 = g->seq;
        t->snd_wl2 = ack;
        if (wnd > t->max_sndwnd) t->max_sndwnd = wnd;
        if (wnd && (t->flags & TF_PERSIST)) tcp_rtx_stop(t); /* output sends again */
    }
}

/* Sixth: URG. The pointer is recorded; the data is delivered inline with
 * the rest (RFC 6093 §5: new applications SHOULD NOT use urgent data). */
static void step_urg(struct axl_tcb *t, const struct tcp_seg *g)
{
    if (!(g->flags & AXL_TCP_URG)) return;
    uint32_t up = g->seq + g->urg;
    if (axl_seq_gt(up, t->rcv_up)) t->rcv_up = up;
    AXL_STAT_INC(t->s, TcpUrgRcvd);
}

/* Seventh: segment text. */
static int step_text(struct axl_tcb *t, struct tcp_seg *g)
{
    struct axl_stack *s = t->s;
    if (!g->len) return CONT;
    switch (t->state) {
    case AXL_TCP_ESTABLISHED:
    case AXL_TCP_FIN_WAIT_1:
    case AXL_TCP_FIN_WAIT_2:
        break;
    default:
        /* CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: a FIN came already. */
        DROP(s, DropTcpDataAfterFin);
        seg_truncate(s, g, 0);
        return CONT;
    }
    if (t->flags & TF_ORPHAN) {
        /* RFC 9293 §3.10.4 / RFC 1122 §4.2.2.13: nobody will read it. */
        AXL_STAT_INC(s, TcpAbortOnData);
        DROP(s, DropTcpAfterClose);
        tcp_send_rst(t);
        tcp_tcb_done(t, -ECONNRESET);
        return STOP;
    }
    if (g->len > t->rcv_mss) t->rcv_mss = (uint16_t)AXL_MIN(g->len, (uint32_t)t->adv_mss);
    if (g->seq == t->rcv_nxt) {
        int had_ooo = !axl_tcp_ooo_empty(&t->ooo);
        tcp_rcvq_append(t, g->data, g->len);
        t->rcv_nxt += g->len;
        g->data = NULL;
        struct axl_tcp_ooo_chunk ch;
        while (axl_tcp_ooo_pop(&t->ooo, s->pool, t->rcv_nxt, &ch)) {
            ch.pkt->data += ch.off;
            ch.pkt->len = ch.len;
            ch.pkt->next = NULL;
            tcp_rcvq_append(t, ch.pkt, ch.len);
            t->rcv_nxt += ch.len;
        }
        t->events |= EV_DATA;
        /* RFC 5681 §4.2: ACK at once when a hole filled, else at least every
         * second full-sized segment; otherwise within AXL_TCP_DELACK_NS. */
        if (had_ooo || t->rcv_nxt - t->last_ack_sent >= 2u * t->rcv_mss)
            t->flags |= TF_ACK_NOW;
        else
            tcp_delack_arm(t);
        return CONT;
    }
    /* Beyond RCV.NXT (the window check let it in): hold it out of order
     * and send an immediate duplicate ACK with SACK blocks (RFC 5681 §4.2,
     * RFC 2018 §4). */
    uint32_t seq = g->seq;
    int held = 0;
    for (struct axl_pkt *p = g->data; p;) {
        struct axl_pkt *next = p->next;
        uint32_t n = p->len;
        p->next = NULL;
        if (n) {
            int rc = axl_tcp_ooo_insert(&t->ooo, s->pool, p, seq, 0, n);
            if (rc < 0)
                DROP(s, DropTcpOfo);
            else
                held = 1;
        } else {
            axl_pkt_free(s->pool, p);
        }
        seq += n;
        p = next;
    }
    g->data = NULL;
    if (held) AXL_STAT_INC(s, TcpOfoQueue);
    t->ooo_last = g->seq;
    if (g->flags & AXL_TCP_FIN) {
        t->rcv_fin = g->seq + g->len;
        t->rcv_fin_ok = 1;
        g->flags &= ~AXL_TCP_FIN;
    }
    t->flags |= TF_ACK_NOW;
    return CONT;
}

/* Eighth: FIN (in order: its number is RCV.NXT now). */
static void step_fin(struct axl_tcb *t, const struct tcp_seg *g)
{
    int fin = (g->flags & AXL_TCP_FIN) && g->seq + g->len == t->rcv_nxt;
    if (!fin && t->rcv_fin_ok && t->rcv_fin == t->rcv_nxt) fin = 1;
    if (!fin || (t->flags & TF_FIN_RCVD)) return;
    t->rcv_fin_ok = 0;
    t->rcv_nxt++;
    t->flags |= TF_FIN_RCVD | TF_ACK_NOW;
    t->events |= EV_REMOTE_CLOSED;
    switch (t->state) {
    case AXL_TCP_SYN_RECEIVED:
    case AXL_TCP_ESTABLISHED:
        tcp_set_state(t, AXL_TCP_CLOSE_WAIT);
        break;
    case AXL_TCP_FIN_WAIT_1:
        if (t->flags & TF_FIN_ACKED)
            tcp_timewait_enter(t);
        else
            tcp_set_state(t, AXL_TCP_CLOSING); /* simultaneous close */
        break;
    case AXL_TCP_FIN_WAIT_2:
        tcp_timewait_enter(t);
        break;
    default: /* CLOSE-WAIT, CLOSING, LAST-ACK: remain */
        break;
    }
}

/* The first four checks and the ACK range, common to synchronized states. */
static int sync_checks(struct axl_tcb *t, struct tcp_seg *g)
{
    return check_seq(t, g) || check_rst(t, g) || check_syn(t, g) || check_ack(t, g);
}

/* Urgent, text and FIN for the states that still receive. */
static void receive_steps(struct axl_tcb *t, struct tcp_seg *g)
{
    step_urg(t, g);
    if (step_text(t, g) == STOP) return;
    step_fin(t, g);
}

/* --- one function per state ------------------------------------------------------ */

/* RFC 9293 §3.10.7.3 SYN-SENT. */
static void tcp_state_syn_sent(struct axl_tcb *t, struct tcp_seg *g)
{
    struct axl_stack *s = t->s;
    if (g->flags & AXL_TCP_ACK) {
        if (axl_seq_le(g->ack, t->iss) || axl_seq_gt(g->ack, t->snd_max)) {
            DROP(s, DropTcpSynSentBadAck);
            tcp_send_rst_for(s, g); /* not for a RST (it checks) */
            return;
        }
    }
    if (g->flags & AXL_TCP_RST) {
        if (g->flags & AXL_TCP_ACK) /* acceptable ACK: RFC 5961 §3.2 */
            tcp_tcb_done(t, -ECONNREFUSED);
        else
            DROP(s, DropTcpSynSentRst);
        return;
    }
    if (!(g->flags & AXL_TCP_SYN)) {
        DROP(s, DropTcpSynSentNoSyn);
        return;
    }
    syn_options(t, g);
    t->irs = g->seq;
    t->rcv_nxt = g->seq + 1;
    t->rcv_adv = t->rcv_nxt + AXL_MIN(t->rcvbuf, 65535u);
    t->last_ack_sent = t->rcv_nxt;
    if (g->flags & AXL_TCP_ACK) {
        established(t, g, 1);
        t->flags |= TF_ACK_NOW;
        /* "continue processing at the sixth step": data with the SYN-ACK. */
        g->seq++;
        g->flags &= ~AXL_TCP_SYN;
        receive_steps(t, g);
        return;
    }
    /* Simultaneous open (RFC 9293 §3.5 figure 8): SYN-RECEIVED, SYN-ACK. */
    t->flags |= TF_SIMOPEN;
    tcp_set_state(t, AXL_TCP_SYN_RECEIVED);
    t->snd_wnd = g->wnd;
    t->snd_wl1 = g->seq;
    t->max_sndwnd = AXL_MAX(t->max_sndwnd, t->snd_wnd);
    if (g->len) AXL_STAT_INC(s, TcpSynDataDropped); /* not acknowledged: the peer resends it */
    tcp_send_syn(t);
    tcp_rtx_arm(t);
}

/* RFC 9293 §3.10.7.4 in SYN-RECEIVED. */
static void tcp_state_syn_received(struct axl_tcb *t, struct tcp_seg *g)
{
    struct axl_stack *s = t->s;
    if ((g->flags & (AXL_TCP_SYN | AXL_TCP_ACK | AXL_TCP_RST)) == AXL_TCP_SYN && g->seq == t->irs) {
        /* The peer's SYN again: our SYN-ACK was lost. Answer it again. */
        DROP(s, DropTcpDupSyn);
        tcp_send_syn(t);
        return;
    }
    if ((t->flags & TF_SIMOPEN) &&
        (g->flags & (AXL_TCP_SYN | AXL_TCP_ACK | AXL_TCP_RST)) == (AXL_TCP_SYN | AXL_TCP_ACK) &&
        g->seq == t->irs && g->ack == t->iss + 1) {
        /* Simultaneous open: the peer's SYN-ACK acknowledges our SYN. Its
         * SYN was processed already; the ACK completes the handshake. */
        established(t, g, 1);
        t->flags |= TF_ACK_NOW;
        g->seq++;
        g->flags &= ~AXL_TCP_SYN;
        receive_steps(t, g);
        return;
    }
    if (check_seq(t, g) || check_rst(t, g) || check_syn(t, g)) return;
    if (!(g->flags & AXL_TCP_ACK)) {
        DROP(s, DropTcpNoAck);
        return;
    }
    if (axl_seq_le(g->ack, t->snd_una) || axl_seq_gt(g->ack, t->snd_max)) {
        /* RFC 9293: <SEQ=SEG.ACK><CTL=RST>. */
        DROP(s, DropTcpSynRcvdBadAck);
        tcp_send_rst_for(s, g);
        return;
    }
    if ((t->flags & TF_PASSIVE) && t->lst && t->lst->nacc >= t->lst->backlog) {
        /* Accept queue full: stay in SYN-RECEIVED; the SYN-ACK timer makes
         * the peer repeat its ACK (Linux's tcp_abort_on_overflow = 0). */
        AXL_STAT_INC(s, TcpListenOverflows);
        DROP(s, DropTcpListenOverflow);
        return;
    }
    established(t, g, 0);
    tcp_ack(t, g);
    if (t->flags & TF_DEAD) return;
    receive_steps(t, g);
}

static void tcp_state_established(struct axl_tcb *t, struct tcp_seg *g)
{
    if (sync_checks(t, g)) return;
    tcp_ack(t, g);
    if (t->flags & TF_DEAD) return;
    receive_steps(t, g);
}

static void tcp_state_fin_wait_1(struct axl_tcb *t, struct tcp_seg *g)
{
    if (sync_checks(t, g)) return;
    tcp_ack(t, g);
    if (t->flags & TF_DEAD) return;
    if (t->flags & TF_FIN_ACKED) {
        /* "if the FIN segment is now acknowledged, enter FIN-WAIT-2" */
        tcp_set_state(t, AXL_TCP_FIN_WAIT_2);
        if (t->flags & TF_ORPHAN) tcp_finwait2_arm(t);
    }
    receive_steps(t, g);
}

static void tcp_state_fin_wait_2(struct axl_tcb *t, struct tcp_seg *g)
{
    if (sync_checks(t, g)) return;
    tcp_ack(t, g);
    if (t->flags & TF_DEAD) return;
    receive_steps(t, g);
}

static void tcp_state_close_wait(struct axl_tcb *t, struct tcp_seg *g)
{
    if (sync_checks(t, g)) return;
    tcp_ack(t, g);
    if (t->flags & TF_DEAD) return;
    /* URG ignored; text "should not occur" (dropped in step_text); a FIN
     * again leaves us in CLOSE-WAIT. */
    step_text(t, g);
}

static void tcp_state_closing(struct axl_tcb *t, struct tcp_seg *g)
{
    if (sync_checks(t, g)) return;
    tcp_ack(t, g);
    if (t->flags & TF_DEAD) return;
    if (t->flags & TF_FIN_ACKED) tcp_timewait_enter(t);
    step_text(t, g); /* dropped: a FIN came already */
}

static void tcp_state_last_ack(struct axl_tcb *t, struct tcp_seg *g)
{
    if (sync_checks(t, g)) return;
    tcp_ack(t, g);
    if (t->flags & TF_DEAD) return;
    if (t->flags & TF_FIN_ACKED) {
        tcp_tcb_done(t, 0); /* "delete the TCB, enter the CLOSED state" */
        return;
    }
    step_text(t, g);
}

static void tcp_state_time_wait(struct axl_tcb *t, struct tcp_seg *g)
{
    struct axl_stack *s = t->s;
    if (check_seq(t, g) || check_rst(t, g) || check_syn(t, g) || check_ack(t, g)) return;
    if (g->flags & AXL_TCP_FIN) {
        /* Acknowledge it and restart the 2 MSL timeout. */
        t->flags |= TF_ACK_NOW;
        tcp_timer_in(s, &t->t_keep, 2 * s->tcp.msl_ns);
    }
    DROP(s, DropTcpTimeWait);
    seg_truncate(s, g, 0);
}

/* Process one segment for an existing connection, deliver its events, send
 * what follows. Consumes g->data. */
static void tcp_segment(struct axl_tcb *t, struct tcp_seg *g)
{
    struct axl_stack *s = t->s;
    t->last_rcv_ns = s->now_ns;
    t->kprobes = 0;
    t->flags |= TF_IN_INPUT;
    switch (t->state) {
    case AXL_TCP_SYN_SENT:
        tcp_state_syn_sent(t, g);
        break;
    case AXL_TCP_SYN_RECEIVED:
        tcp_state_syn_received(t, g);
        break;
    case AXL_TCP_ESTABLISHED:
        tcp_state_established(t, g);
        break;
    case AXL_TCP_FIN_WAIT_1:
        tcp_state_fin_wait_1(t, g);
        break;
    case AXL_TCP_FIN_WAIT_2:
        tcp_state_fin_wait_2(t, g);
        break;
    case AXL_TCP_CLOSE_WAIT:
        tcp_state_close_wait(t, g);
        break;
    case AXL_TCP_CLOSING:
        tcp_state_closing(t, g);
        break;
    case AXL_TCP_LAST_ACK:
        tcp_state_last_ack(t, g);
        break;
    case AXL_TCP_TIME_WAIT:
        tcp_state_time_wait(t, g);
        break;
    default:
        DROP(s, DropTcpNoSocket);
        break;
    }
    t->flags &= ~TF_IN_INPUT;
    axl_pkt_free_chain(s->pool, g->data);
    g->data = NULL;
    if (tcp_deliver_events(t) == 0) tcp_output(t);
}

/* --- LISTEN (RFC 9293 §3.10.7.2) and SYN cookies ------------------------------------- */

static struct axl_tcp_tuple seg_tuple(const struct axl_stack *s, const struct tcp_seg *g)
{
    struct axl_tcp_tuple tu = {s->addr, g->src, g->dport, g->sport};
    return tu;
}

/* Fill a new passive TCB's identity. */
static void passive_init(struct axl_tcb *t, const struct tcp_seg *g)
{
    t->raddr = g->src;
    t->rport = g->sport;
    t->lport = g->dport;
    t->flags |= TF_PASSIVE;
    t->ts_off = tcp_ts_offset(t->s, g->src, g->sport, g->dport);
}

/* The ACK completing a SYN-cookie handshake (RFC 4987 §3.6). Returns 0 when
 * the segment was taken care of, -1 when the cookie is not valid. */
static int cookie_accept(struct axl_stack *s, struct axl_tcp_listener *l, struct tcp_seg *g)
{
    struct axl_tcp_tuple tu = seg_tuple(s, g);
    struct axl_tcp_syn_opts o;
    if (axl_tcp_cookie_check(&s->tcp.secret, &tu, g->ack - 1, g->seq - 1, g->opts.has_ts,
                             g->opts.ts_ecr, s->now_ns, &o) < 0) {
        AXL_STAT_INC(s, TcpSynCookiesFailed);
        return -1;
    }
    if (l->nacc >= l->backlog) {
        AXL_STAT_INC(s, TcpListenOverflows);
        DROP(s, DropTcpListenOverflow);
        return 0;
    }
    struct axl_tcb *t = tcp_tcb_new(s, l);
    if (!t) {
        DROP(s, DropTcpNoMem);
        return 0;
    }
    passive_init(t, g);
    t->flags |= TF_COOKIE;
    t->lst = l;
    t->iss = g->ack - 1;
    t->irs = g->seq - 1;
    t->snd_una = t->snd_nxt = t->snd_max = g->ack;
    t->rcv_nxt = g->seq;
    t->last_ack_sent = t->rcv_nxt;
    uint32_t mss = AXL_MIN((uint32_t)o.mss, (uint32_t)tcp_adv_mss(s));
    t->snd_mss = (uint16_t)AXL_MAX(mss, AXL_TCP_MSS_MIN);
    if (o.ts_ok) {
        t->flags |= TF_TS_OK;
        t->ts_recent = g->opts.ts_val;
        t->ts_recent_ms = tcp_ts_ms(s);
    }
    if (o.sack_ok && !s->tcp.no_sack) t->flags |= TF_SACK_OK;
    if (o.ws_ok) {
        t->flags |= TF_WS_OK;
        t->snd_wscale = o.ws_shift;
        t->rcv_wscale = tcp_wscale_for(l->rcvbuf);
    } else {
        t->rcv_wscale = 0;
        if (t->rcvbuf > 65535u) t->rcvbuf = 65535u;
    }
    rcv_mss_init(t);
    t->rcv_adv = t->rcv_nxt + AXL_MIN(l->rcvbuf, 65535u);
    tcp_tcb_insert(s, t);
    tcp_set_state(t, AXL_TCP_SYN_RECEIVED);
    AXL_STAT_INC(s, TcpSynCookiesRecv);
    AXL_STAT_INC(s, TcpPassiveOpens);
    t->flags |= TF_IN_INPUT;
    established(t, g, 0);
    t->flags &= ~TF_IN_INPUT;
    /* The rest of the segment (data, FIN) as in ESTABLISHED. */
    tcp_segment(t, g);
    return 0;
}

static void send_cookie(struct axl_stack *s, struct axl_tcp_listener *l, const struct tcp_seg *g)
{
    struct axl_tcp_tuple tu = seg_tuple(s, g);
    struct axl_tcp_syn_opts o = {
        .mss = g->opts.has_mss ? g->opts.mss : 0,
        .ts_ok = g->opts.has_ts,
        .sack_ok = g->opts.has_sack_perm,
        .ws_ok = g->opts.has_ws,
        .ws_shift = g->opts.ws_shift,
    };
    uint32_t ts_now = tcp_ts_ms(s) + tcp_ts_offset(s, g->src, g->sport, g->dport);
    uint32_t tsval = ts_now;
    uint32_t cookie =
        axl_tcp_cookie_make(&s->tcp.secret, &tu, g->seq, &o, s->now_ns, ts_now, &tsval);
    tcp_send_cookie_synack(s, l, g, cookie, tsval);
    l->cookie_ns = s->now_ns;
    AXL_STAT_INC(s, TcpSynCookiesSent);
}

static int cookie_recent(const struct axl_stack *s, const struct axl_tcp_listener *l)
{
    /* Cookies are checked only while one we sent can still be valid: a
     * forged ACK is not worth 2^-27 chances otherwise. */
    return l->cookie_ns && s->now_ns - l->cookie_ns < 2 * AXL_TCP_COOKIE_PERIOD_NS;
}

static void tcp_state_listen(struct axl_stack *s, struct axl_tcp_listener *l, struct tcp_seg *g,
                             int has_floor, uint32_t iss_floor)
{
    if (g->flags & AXL_TCP_RST) {
        DROP(s, DropTcpListenRst); /* "an incoming RST should be ignored" */
        return;
    }
    if (g->flags & AXL_TCP_ACK) {
        if (!(g->flags & AXL_TCP_SYN) && cookie_recent(s, l) && cookie_accept(s, l, g) == 0) return;
        DROP(s, DropTcpListenAck);
        tcp_send_rst_for(s, g); /* <SEQ=SEG.ACK><CTL=RST> */
        return;
    }
    if (!(g->flags & AXL_TCP_SYN)) {
        DROP(s, DropTcpListenNoSyn);
        return;
    }
    if (l->nacc >= l->backlog) {
        /* Nowhere to put the connection once established (Linux drops the
         * SYN too; the client retries). */
        AXL_STAT_INC(s, TcpListenOverflows);
        DROP(s, DropTcpListenOverflow);
        return;
    }
    if (l->nsyn >= l->backlog) {
        send_cookie(s, l, g); /* SYN queue full: RFC 4987 §3.6 */
        return;
    }
    struct axl_tcb *t = tcp_tcb_new(s, l);
    if (!t) {
        DROP(s, DropTcpNoMem);
        return;
    }
    passive_init(t, g);
    syn_options(t, g);
    t->irs = g->seq;
    t->rcv_nxt = g->seq + 1;
    t->last_ack_sent = t->rcv_nxt;
    t->rcv_adv = t->rcv_nxt + AXL_MIN(t->rcvbuf, 65535u);
    struct axl_tcp_tuple tu = tcp_tuple(t);
    t->iss = axl_tcp_isn(&s->tcp.secret, &tu, s->now_ns);
    if (has_floor && axl_seq_lt(t->iss, iss_floor)) t->iss = iss_floor; /* RFC 6191 §2 */
    t->snd_una = t->iss;
    t->snd_nxt = t->snd_max = t->iss + 1;
    t->snd_wnd = g->wnd; /* RFC 7323 §2.2: unscaled in a SYN */
    t->snd_wl1 = g->seq;
    t->snd_wl2 = t->iss;
    t->max_sndwnd = t->snd_wnd;
    tcp_set_state(t, AXL_TCP_SYN_RECEIVED);
    tcp_tcb_insert(s, t);
    t->lst = l;
    t->qprev = NULL;
    t->qnext = l->synq;
    if (l->synq) l->synq->qprev = t;
    l->synq = t;
    l->nsyn++;
    t->flags |= TF_SYNQ;
    t->last_rcv_ns = s->now_ns;
    AXL_STAT_INC(s, TcpPassiveOpens);
    if (g->len)
        AXL_STAT_INC(s, TcpSynDataDropped); /* no TFO: the data comes again after the handshake */
    tcp_send_syn(t);
    tcp_rtx_arm(t);
}

/* RFC 9293 §3.10.7.1: CLOSED (no TCB, no listener). */
static void tcp_state_closed(struct axl_stack *s, const struct tcp_seg *g)
{
    DROP(s, DropTcpNoSocket);
    tcp_send_rst_for(s, g);
}

/* RFC 6191 §2 / RFC 9293 §3.6.1: may a SYN reopen this TIME-WAIT connection? */
static int tw_reusable(const struct axl_tcb *t, const struct tcp_seg *g)
{
    if ((t->flags & TF_TS_OK) && g->opts.has_ts) return axl_seq_gt(g->opts.ts_val, t->ts_recent);
    return axl_seq_gt(g->seq, t->rcv_nxt);
}

/* --- entry -------------------------------------------------------------------------- */

void axl_tcp_input(struct axl_stack *s, struct axl_ipdg *dg)
{
    struct axl_pkt *head = dg->head;
    struct tcp_seg g;

    if (dg->to_bcast || dg->l2flags) {
        DROP(s, DropTcpBcast); /* RFC 1122 §4.2.3.10: TCP is unicast */
        goto drop;
    }
    if (dg->len < AXL_TCP_HLEN_MIN) {
        AXL_STAT_INC(s, TcpInErrs);
        DROP(s, DropTcpTrunc);
        goto drop;
    }
    AXL_STAT_INC(s, TcpInSegs);
    if (pullup(s, head, AXL_MIN(dg->len, (uint32_t)AXL_TCP_HLEN_MAX)) < 0) {
        AXL_STAT_INC(s, TcpInErrs);
        DROP(s, DropTcpTrunc);
        goto drop;
    }
    struct axl_tcp_view v = {head->data, dg->len};
    int rc = axl_tcp_view_check(&v);
    if (rc < 0) {
        AXL_STAT_INC(s, TcpInErrs);
        if (rc == AXL_ETRUNC)
            DROP(s, DropTcpTrunc);
        else
            DROP(s, DropTcpBadHdr);
        goto drop;
    }
    if (head->flags & AXL_PKT_F_CSUM_PARTIAL) {
        AXL_STAT_INC(s, TcpInCsumPartial); /* a local peer's offload: never crossed a wire */
    } else if (!(head->flags & AXL_PKT_F_CSUM_OK)) {
        uint32_t sum = axl_csum_pseudo_ipv4(dg->src, dg->dst, AXL_IPPROTO_TCP, dg->len);
        if (axl_csum_fold(axl_chain_csum(head, dg->len, sum)) != 0) {
            AXL_STAT_INC(s, TcpInErrs);
            AXL_STAT_INC(s, TcpInCsumErrors);
            DROP(s, DropTcpBadCsum);
            goto drop;
        }
    }
    memset(&g, 0, sizeof(g));
    if (axl_tcp_opts_parse(axl_tcp_view_opts(&v), axl_tcp_view_opts_len(&v), &g.opts) < 0) {
        AXL_STAT_INC(s, TcpInErrs);
        DROP(s, DropTcpBadOpts);
        goto drop;
    }
    g.sport = axl_tcp_view_sport(&v);
    g.dport = axl_tcp_view_dport(&v);
    g.seq = g.orig_seq = axl_tcp_view_seq(&v);
    g.ack = axl_tcp_view_ack(&v);
    g.flags = axl_tcp_view_flags(&v);
    g.wnd = axl_tcp_view_window(&v);
    g.urg = axl_tcp_view_urg(&v);
    g.src = dg->src;
    if (!g.sport || !g.dport) {
        AXL_STAT_INC(s, TcpInErrs);
        DROP(s, DropTcpBadHdr);
        goto drop;
    }
    unsigned hlen = axl_tcp_view_hlen(&v);
    g.len = dg->len - hlen;
    if (g.len) {
        head->data += hlen;
        head->len -= hlen;
        g.data = head;
        while (g.data && !g.data->len) { /* a reassembled header-only first slice */
            struct axl_pkt *p = g.data;
            g.data = p->next;
            p->next = NULL;
            axl_pkt_free(s->pool, p);
        }
    } else {
        axl_pkt_free_chain(s->pool, head);
    }
    head = NULL;

    struct axl_tcb *t = tcp_lookup(s, g.src, g.sport, g.dport); /* hot */
    int has_floor = 0;
    uint32_t iss_floor = 0;
    if (axl_unlikely(t && t->state == AXL_TCP_TIME_WAIT &&
                     (g.flags & (AXL_TCP_SYN | AXL_TCP_ACK | AXL_TCP_RST)) == AXL_TCP_SYN &&
                     s->tcp.listeners[g.dport] && tw_reusable(t, &g))) {
        /* A new incarnation: its ISN must lie beyond the old one's
         * sequence space (RFC 6191 §2). */
        has_floor = 1;
        iss_floor = t->snd_max + 65536u;
        AXL_STAT_INC(s, TcpTimeWaitReused);
        tcp_tcb_done(t, 0);
        t = NULL;
    }
    if (axl_likely(t != NULL)) {
        tcp_segment(t, &g);
        return;
    }
    struct axl_tcp_listener *l = s->tcp.listeners[g.dport];
    if (l)
        tcp_state_listen(s, l, &g, has_floor, iss_floor);
    else
        tcp_state_closed(s, &g);
    axl_pkt_free_chain(s->pool, g.data);
    return;

drop:
    axl_pkt_free_chain(s->pool, head);
}
