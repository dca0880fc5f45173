/* SPDX-License-Identifier: MIT */
/*
 * net/tcp_timer.c - the timers of a TCP connection, all on the engine's
 * timer wheel (O(1) to arm, stop and fire; nothing ever scans the
 * connections). Three per TCB:
 *
 *   t_rtx     retransmission (RFC 6298 §5), also the SYN / SYN-ACK
 *             retransmission and, with TF_PERSIST, the persist timer
 *             (RFC 9293 §3.8.6.1, RFC 1122 §4.2.2.17) - never both at once:
 *             persisting means nothing is outstanding
 *   t_delack  delayed ACK (RFC 1122 §4.2.3.2, RFC 5681 §4.2)
 *   t_keep    keep-alive (RFC 1122 §4.2.3.6), the FIN-WAIT-2 timeout of an
 *             orphaned connection, TIME-WAIT (2 MSL, RFC 9293 §3.6)
 *
 * Call chain: stack.c axl_tw_advance -> *_fire -> tcp_output.c /
 * tcp_tcb_done (tcp.c) -> events.
 */
#include "core/compiler.h"
#include "core/err.h"
#include "net/stack_priv.h"
#include "net/tcp_priv.h"

static void rtx_fire(struct axl_timer *tm, void *arg);
static void delack_fire(struct axl_timer *tm, void *arg);
static void keep_fire(struct axl_timer *tm, void *arg);

void tcp_timer_in(struct axl_stack *s, struct axl_timer *tm, uint64_t delay)
{
    axl_timer_start_at(&s->tw, tm, s->now_ns + delay);
}

void tcp_timers_init(struct axl_tcb *t)
{
    axl_timer_init(&t->t_rtx, rtx_fire, t);
    axl_timer_init(&t->t_delack, delack_fire, t);
    axl_timer_init(&t->t_keep, keep_fire, t);
}

void tcp_timers_stop(struct axl_tcb *t)
{
    struct axl_timer_wheel *tw = &t->s->tw;
    axl_timer_stop(tw, &t->t_rtx);
    axl_timer_stop(tw, &t->t_delack);
    axl_timer_stop(tw, &t->t_keep);
    t->flags &= ~(TF_PERSIST | TF_ACK_DELAYED | TF_PTO | TF_REO);
}

void tcp_rtx_arm(struct axl_tcb *t)
{
    t->flags &= ~(TF_PERSIST | TF_PTO | TF_REO);
    uint64_t d = axl_tcp_rtt_rto_ns(&t->rtt);
    if (t->flags & TF_SACK_OK) d = tcp_rec_arm(t, d); /* RACK-TLP (tcp_recovery.c) */
    tcp_timer_in(t->s, &t->t_rtx, d);
}

void tcp_rtx_stop(struct axl_tcb *t)
{
    axl_timer_stop(&t->s->tw, &t->t_rtx);
    t->flags &= ~(TF_PERSIST | TF_PTO | TF_REO);
}

static uint64_t persist_interval(const struct axl_tcb *t)
{
    /* RFC 1122 §4.2.2.17: exponential back-off from the RTO, bounded. */
    uint64_t base = axl_tcp_rtt_rto_ns(&t->rtt);
    uint64_t v = base << AXL_MIN(t->pshift, 20u);
    if (v < AXL_TCP_PERSIST_MIN_NS) v = AXL_TCP_PERSIST_MIN_NS;
    if (v > AXL_TCP_PERSIST_MAX_NS) v = AXL_TCP_PERSIST_MAX_NS;
    return v;
}

void tcp_persist_arm(struct axl_tcb *t)
{
    if (!(t->flags & TF_PERSIST)) {
        t->pshift = 0;
        t->nretries = 0;
    }
    t->flags |= TF_PERSIST;
    tcp_timer_in(t->s, &t->t_rtx, persist_interval(t));
}

void tcp_delack_arm(struct axl_tcb *t)
{
    if (t->flags & TF_ACK_DELAYED) return;
    t->flags |= TF_ACK_DELAYED;
    tcp_timer_in(t->s, &t->t_delack, AXL_TCP_DELACK_NS);
}

void tcp_keepalive_arm(struct axl_tcb *t)
{
    if (!(t->flags & TF_KEEPALIVE)) return;
    t->kprobes = 0;
    axl_timer_start_at(&t->s->tw, &t->t_keep,
                       t->last_rcv_ns + (uint64_t)t->keepidle_s * AXL_NS_PER_S);
}

void tcp_finwait2_arm(struct axl_tcb *t)
{
    tcp_timer_in(t->s, &t->t_keep, AXL_TCP_FIN_TIMEOUT_NS);
}

void tcp_timewait_enter(struct axl_tcb *t)
{
    struct axl_stack *s = t->s;
    tcp_set_state(t, AXL_TCP_TIME_WAIT);
    axl_timer_stop(&s->tw, &t->t_rtx);
    axl_timer_stop(&s->tw, &t->t_delack);
    t->flags &= ~(TF_PERSIST | TF_ACK_DELAYED | TF_RECOVERY);
    /* RFC 9293 §3.6: 2 MSL. */
    tcp_timer_in(s, &t->t_keep, 2 * s->tcp.msl_ns);
    tcp_sndq_purge(t); /* everything was acknowledged; nothing remains */
    axl_tcp_ooo_purge(&t->ooo, s->pool);
    tcp_report_closed(t); /* both directions are done: cleanup(0) to a holder */
}

/* A connection gives up: ETIMEDOUT (or the soft error an ICMP message left,
 * RFC 1122 §4.2.3.9). */
static void timeout_abort(struct axl_tcb *t)
{
    int err = t->soft_err ? t->soft_err : -ETIMEDOUT;
    tcp_tcb_done(t, err);
}

static void syn_timeout(struct axl_tcb *t)
{
    struct axl_stack *s = t->s;
    unsigned limit = t->state == AXL_TCP_SYN_SENT ? AXL_TCP_SYN_RETRIES : AXL_TCP_SYNACK_RETRIES;
    if (t->nretries >= limit) {
        AXL_STAT_INC(s, TcpAbortOnTimeout);
        timeout_abort(t);
        return;
    }
    AXL_STAT_INC(s, TcpTimeouts);
    t->nretries++;
    t->flags |= TF_SYN_TIMEDOUT;
    t->flags &= ~TF_RTT_TIMING; /* Karn: the handshake RTT is ambiguous now */
    axl_tcp_rtt_backoff(&t->rtt);
    tcp_send_syn(t);
    tcp_rtx_arm(t);
}

static void persist_fire(struct axl_tcb *t)
{
    struct axl_stack *s = t->s;
    if (t->snd_wnd) {
        /* A window too small for sender SWS avoidance to use: this is the
         * override timeout of RFC 1122 §4.2.3.4 - send what fits. */
        t->flags &= ~TF_PERSIST;
        uint32_t flight = t->snd_nxt - t->snd_una;
        uint32_t room = t->snd_wnd > flight ? t->snd_wnd - flight : 0;
        if (room) tcp_send_new_one(t, AXL_MIN(room, tcp_seg_max(t)));
        tcp_output(t);
        return;
    }
    /* RFC 1122 §4.2.2.17: keep probing as long as probes are answered
     * (nretries is reset by every ACK); give up after RETRIES2 silent ones. */
    if (t->nretries >= AXL_TCP_RETRIES2) {
        AXL_STAT_INC(s, TcpAbortOnTimeout);
        timeout_abort(t);
        return;
    }
    t->nretries++;
    if (tcp_send_probe(t) > 0) AXL_STAT_INC(s, TcpWinProbes);
    if (t->pshift < 30) t->pshift++;
    tcp_timer_in(s, &t->t_rtx, persist_interval(t));
}

static void rtx_timeout(struct axl_tcb *t)
{
    struct axl_stack *s = t->s;
    if (t->snd_una == t->snd_max) return; /* nothing outstanding (cannot happen) */
    uint64_t uto = (uint64_t)t->user_timeout_ms * AXL_NS_PER_MS;
    if (t->nretries >= AXL_TCP_RETRIES2 ||
        (uto && t->nretries && s->now_ns - t->rto_start_ns >= uto)) {
        AXL_STAT_INC(s, TcpAbortOnTimeout);
        timeout_abort(t);
        return;
    }
    AXL_STAT_INC(s, TcpTimeouts);
    if (!t->nretries) t->rto_start_ns = s->now_ns;
    uint32_t flight = t->snd_max - t->snd_una;
    /* RFC 6298 §5.5-5.7, RFC 5681 §3.1, RFC 6582 §3.2 (recover = snd_max). */
    axl_tcp_cc_on_rto(&t->cc, flight, t->snd_max, t->nretries > 0);
    axl_tcp_rtt_backoff(&t->rtt);
    t->nretries++;
    t->flags &= ~(TF_RECOVERY | TF_RTT_TIMING);
    t->dupacks = 0;
    if (t->flags & TF_SACK_OK)
        tcp_rec_on_rto(t); /* RFC 6675 §5.1: NextSeg skips what was SACKed */
    else
        t->snd_nxt = t->snd_una; /* go back N as the collapsed window allows */
    tcp_output(t);
    if (!axl_timer_armed(&t->t_rtx)) tcp_rtx_arm(t);
}

static void rtx_fire(struct axl_timer *tm, void *arg)
{
    struct axl_tcb *t = arg;
    (void)tm;
    if (t->flags & TF_DEAD) return;
    if (t->flags & TF_PERSIST) {
        persist_fire(t);
    } else if (t->state == AXL_TCP_SYN_SENT || t->state == AXL_TCP_SYN_RECEIVED) {
        syn_timeout(t);
    } else if (t->flags & (TF_PTO | TF_REO)) {
        tcp_rec_timer_fire(t);
    } else {
        rtx_timeout(t);
    }
}

static void delack_fire(struct axl_timer *tm, void *arg)
{
    struct axl_tcb *t = arg;
    (void)tm;
    if ((t->flags & TF_DEAD) || !(t->flags & TF_ACK_DELAYED)) return;
    t->flags &= ~TF_ACK_DELAYED;
    AXL_STAT_INC(t->s, TcpDelayedAcks);
    tcp_send_ack(t);
}

static void keep_fire(struct axl_timer *tm, void *arg)
{
    struct axl_tcb *t = arg;
    struct axl_stack *s = t->s;
    (void)tm;
    if (t->flags & TF_DEAD) return;
    switch (t->state) {
    case AXL_TCP_TIME_WAIT:
        tcp_tcb_done(t, 0); /* 2 MSL are over */
        return;
    case AXL_TCP_FIN_WAIT_2:
        if (t->flags & TF_ORPHAN) {
            /* The peer never sent its FIN: give up (Linux tcp_fin_timeout,
             * which resets). */
            AXL_STAT_INC(s, TcpAbortOnTimeout);
            tcp_send_rst(t);
            tcp_tcb_done(t, -ETIMEDOUT);
            return;
        }
        break;
    default:
        break;
    }
    if (!(t->flags & TF_KEEPALIVE) || t->state < AXL_TCP_ESTABLISHED) return;
    /* RFC 1122 §4.2.3.6: probe only an idle connection; outstanding data is
     * the retransmission timer's business. */
    uint64_t idle = (uint64_t)t->keepidle_s * AXL_NS_PER_S;
    uint64_t intvl = (uint64_t)t->keepintvl_s * AXL_NS_PER_S;
    if (t->snd_una != t->snd_max || t->sq.bytes) {
        tcp_timer_in(s, &t->t_keep, idle);
        return;
    }
    if (!t->kprobes && s->now_ns - t->last_rcv_ns < idle) {
        axl_timer_start_at(&s->tw, &t->t_keep, t->last_rcv_ns + idle);
        return;
    }
    if (t->kprobes >= t->keepcnt) {
        AXL_STAT_INC(s, TcpKeepAliveTimeouts);
        timeout_abort(t);
        return;
    }
    t->kprobes++;
    AXL_STAT_INC(s, TcpKeepAliveProbes);
    tcp_send_keepalive(t);
    tcp_timer_in(s, &t->t_keep, intvl);
}
