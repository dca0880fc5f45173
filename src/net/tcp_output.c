/* SPDX-License-Identifier: MIT */
/*
 * net/tcp_output.c - building and sending TCP segments: data from the send
 * queue (new and retransmitted), SYN and SYN-ACK with option negotiation,
 * pure ACKs with the receive window and SACK blocks, RSTs, keep-alive and
 * zero-window probes, and the sender's decisions: how much the windows
 * allow, Nagle's algorithm (with Minshall's refinement) and sender-side SWS
 * avoidance.
 *
 * One segment = one fresh pool buffer: the TCP header and options are
 * written with wire/tcp's repr emitter, the payload copied from the send
 * queue behind them (one copy, checksummed by the emitter), then IPv4
 * prepends its header in the buffer's headroom (axl_ipv4_output_pkt, DF
 * set: segments are sized to the MTU and never fragmented).
 *
 * Options on data segments: timestamps when negotiated (RFC 7323 §3.2: in
 * every segment then), SACK blocks when SACK was negotiated and data is held
 * out of order (RFC 2018 §4). The payload of a full segment is the effective
 * send MSS minus those options (RFC 9293 §3.7.1: the MSS counts the TCP
 * header without options).
 *
 * Call chain: tcp_input.c / tcp_timer.c / tcp.c API -> tcp_output ->
 * tcp_send_data -> xmit -> axl_ipv4_output_pkt -> arp.c -> TX batch.
 */
#include <string.h>

#include "core/compiler.h"
#include "core/err.h"
#include "net/stack_priv.h"
#include "net/tcp_priv.h"
#include "wire/ipv4.h"

/* --- options and windows -------------------------------------------------------- */

/* The options every non-SYN segment of the connection carries now. */
static void data_opts(const struct axl_tcb *t, struct axl_tcp_opts *o, int rst)
{
    memset(o, 0, sizeof(*o));
    if (t->flags & TF_TS_OK) {
        /* RFC 7323 §3.2: TSopt in every segment once negotiated (RST: SHOULD). */
        o->has_ts = 1;
        o->ts_val = tcp_ts_ms(t->s) + t->ts_off;
        o->ts_ecr = t->ts_recent;
    }
    if (!rst && (t->flags & TF_SACK_OK) && !axl_tcp_ooo_empty(&t->ooo)) {
        /* RFC 2018 §4: SACK blocks in every ACK while data is held. */
        unsigned max = o->has_ts ? AXL_TCP_SACK_MAX_TS : AXL_TCP_SACK_MAX;
        o->sack_n = (uint8_t)axl_tcp_ooo_sack_blocks(&t->ooo, o->sack, max, t->ooo_last);
    }
}

uint32_t tcp_seg_max(const struct axl_tcb *t)
{
    /* hot (several calls per segment): the common case, no SACK blocks to
     * carry, without building the options: 12 bytes of TSopt with its
     * padding (wire/tcp.c axl_tcp_opts_len) or none. */
    uint32_t ol;
    if (!(t->flags & TF_SACK_OK) || axl_tcp_ooo_empty(&t->ooo)) {
        ol = (t->flags & TF_TS_OK) ? 12u : 0u;
    } else {
        struct axl_tcp_opts o;
        data_opts(t, &o, 0);
        ol = (uint32_t)axl_tcp_opts_len(&o);
    }
    return t->snd_mss > ol ? t->snd_mss - ol : 1;
}

/* The window field of a non-SYN segment (RFC 9293 §3.8.6.2.2, RFC 1122
 * §4.2.3.3 receiver SWS avoidance, RFC 7323 §2.3 scaling). The right edge
 * RCV.NXT + RCV.WND never moves left (RFC 9293 §3.8.6.2.2 "SHOULD NOT
 * shrink"); it moves right only by at least min(RCV.BUFF/2, MSS). */
static uint16_t rcv_wnd_field(struct axl_tcb *t)
{
    unsigned ws = (t->flags & TF_WS_OK) ? t->rcv_wscale : 0;
    uint32_t space = tcp_rcv_space(t);
    uint32_t maxw = 65535u << ws;
    if (space > maxw) space = maxw;
    uint32_t cur = axl_seq_gt(t->rcv_adv, t->rcv_nxt) ? t->rcv_adv - t->rcv_nxt : 0;
    uint32_t wnd = cur;
    uint32_t thresh = AXL_MIN(t->rcvbuf / 2, (uint32_t)t->adv_mss);
    if (space > cur && space - cur >= thresh) wnd = space;
    uint32_t field = (uint32_t)(((uint64_t)wnd + (1u << ws) - 1) >> ws); /* edge never recedes */
    if (field > 65535u) field = 65535u;
    uint32_t edge = t->rcv_nxt + (field << ws);
    if (axl_seq_gt(edge, t->rcv_adv)) t->rcv_adv = edge;
    if (!field && !(t->flags & TF_WND0)) {
        t->flags |= TF_WND0;
        AXL_STAT_INC(t->s, TcpToZeroWindowAdv);
    } else if (field && (t->flags & TF_WND0)) {
        t->flags &= ~TF_WND0;
        AXL_STAT_INC(t->s, TcpFromZeroWindowAdv);
    }
    return (uint16_t)field;
}

/* The window in a SYN or SYN-ACK: never scaled (RFC 7323 §2.2). */
static uint16_t syn_wnd(const struct axl_tcb *t)
{
    return (uint16_t)AXL_MIN(t->rcvbuf, 65535u);
}

void tcp_rcv_window_update(struct axl_tcb *t)
{
    /* After the application released data: a window update of its own only
     * when the window the peer knows is nearly closed (below two segments,
     * where a sender stalls) and it can open by the SWS threshold (RFC 1122
     * §4.2.3.3). A wider window is advertised by the next ACK anyway; an
     * update for it would defeat delayed ACKs. */
    if (t->state < AXL_TCP_ESTABLISHED || (t->flags & TF_FIN_RCVD) || t->state == AXL_TCP_TIME_WAIT)
        return;
    uint32_t space = tcp_rcv_space(t);
    uint32_t cur = axl_seq_gt(t->rcv_adv, t->rcv_nxt) ? t->rcv_adv - t->rcv_nxt : 0;
    uint32_t thresh = AXL_MIN(t->rcvbuf / 2, (uint32_t)t->adv_mss);
    if (cur < 2u * t->adv_mss && space > cur && space - cur >= thresh) {
        t->flags |= TF_ACK_NOW;
        if (!(t->flags & TF_IN_INPUT)) tcp_output(t);
    }
}

/* --- the segment builder ------------------------------------------------------- */

static int xmit_pkt(struct axl_stack *s, uint32_t dst, struct axl_pkt *pkt, uint8_t flags)
{
    struct axl_ipv4_out o = {.dst = dst, .proto = AXL_IPPROTO_TCP, .df = 1};
    AXL_STAT_INC(s, TcpOutSegs);
    if (flags & AXL_TCP_RST) AXL_STAT_INC(s, TcpOutRsts);
    return axl_ipv4_output_pkt(s, &o, pkt);
}

static struct axl_pkt *seg_alloc(struct axl_stack *s)
{
    struct axl_pkt *p = axl_pkt_alloc(s->pool);
    if (!p) AXL_STAT_INC(s, DropNoBuf);
    return p;
}

/* Bookkeeping of a segment that is leaving (whoever built it). */
static void xmit_sent(struct axl_tcb *t, uint8_t flags, int retrans)
{
    struct axl_stack *s = t->s;
    if (flags & AXL_TCP_ACK) {
        /* This segment acknowledges everything received: no ACK owed. */
        t->last_ack_sent = t->rcv_nxt;
        t->flags &= ~TF_ACK_NOW;
        if (t->flags & TF_ACK_DELAYED) {
            t->flags &= ~TF_ACK_DELAYED;
            axl_timer_stop(&s->tw, &t->t_delack);
        }
    }
    if (retrans) {
        AXL_STAT_INC(s, TcpRetransSegs);
        t->retrans++;
        t->flags &= ~TF_RTT_TIMING; /* Karn (RFC 6298 §3): the sample would be ambiguous */
    }
}

/* Build and send one segment of the connection: seq, control bits, up to
 * dlen bytes of the send queue at seq. Returns the payload bytes sent or a
 * negative AXL_E*. */
static int xmit(struct axl_tcb *t, uint32_t seq, uint8_t flags, uint32_t dlen, int retrans)
{
    struct axl_stack *s = t->s;
    struct axl_tcp_repr r;
    memset(&r, 0, sizeof(r));
    r.sport = t->lport;
    r.dport = t->rport;
    r.seq = seq;
    r.flags = flags;
    if (flags & AXL_TCP_ACK) r.ack = t->rcv_nxt;
    if (flags & AXL_TCP_SYN) {
        /* RFC 9293 §3.7.1 MSS, RFC 7323 §2.2/§3.2 WS and TS, RFC 2018 §2
         * SACK-permitted: always offered on a SYN; on a SYN-ACK only what
         * the SYN offered. */
        int synack = (flags & AXL_TCP_ACK) != 0;
        r.opts.has_mss = 1;
        r.opts.mss = t->adv_mss;
        if (!synack || (t->flags & TF_WS_OK)) {
            r.opts.has_ws = 1;
            r.opts.ws_shift = t->rcv_wscale;
        }
        if (synack ? (t->flags & TF_SACK_OK) != 0 : !s->tcp.no_sack) r.opts.has_sack_perm = 1;
        if (!synack || (t->flags & TF_TS_OK)) {
            r.opts.has_ts = 1;
            r.opts.ts_val = tcp_ts_ms(s) + t->ts_off;
            r.opts.ts_ecr = synack ? t->ts_recent : 0;
        }
        r.window = syn_wnd(t);
        dlen = 0;
    } else {
        data_opts(t, &r.opts, (flags & AXL_TCP_RST) != 0);
        r.window = (flags & AXL_TCP_RST) && !(flags & AXL_TCP_ACK) ? 0 : rcv_wnd_field(t);
    }
    uint32_t olen = (uint32_t)axl_tcp_opts_len(&r.opts);
    uint32_t hlen = AXL_TCP_HLEN_MIN + olen;
    uint32_t dmax = t->snd_mss > olen ? t->snd_mss - olen : 1;
    if (dlen > dmax) dlen = dmax;
    int prc = 0;
    if (dlen && tcp_prepkt_xmit(t, &r, seq - t->snd_una, dlen, &prc)) { /* tcp_prepkt.c */
        xmit_sent(t, flags, retrans);
        return prc < 0 && prc != AXL_EHOSTUNREACH ? prc : (int)dlen;
    }
    struct axl_pkt *pkt = seg_alloc(s);
    if (!pkt) return AXL_ENOBUFS;
    if (dlen) {
        tcp_sndq_copy(t, seq - t->snd_una, pkt->data + hlen, dlen);
        r.payload = pkt->data + hlen;
        r.payload_len = dlen;
    }
    int n = axl_tcp_repr_emit(&r, t->laddr, t->raddr, pkt->data, axl_pkt_room(s->pool, pkt));
    if (n < 0) {
        axl_pkt_free(s->pool, pkt);
        return n;
    }
    pkt->len = (uint32_t)n;
    xmit_sent(t, flags, retrans);
    int rc = xmit_pkt(s, t->raddr, pkt, flags);
    if (rc < 0 && rc != AXL_EHOSTUNREACH) return rc;
    return (int)dlen;
}

int tcp_send_syn(struct axl_tcb *t)
{
    uint8_t f = AXL_TCP_SYN;
    if (t->state == AXL_TCP_SYN_RECEIVED) f |= AXL_TCP_ACK;
    int retrans = (t->flags & TF_SYN_TIMEDOUT) != 0;
    if (!retrans && !(t->flags & TF_RTT_TIMING)) {
        t->flags |= TF_RTT_TIMING;
        t->rtt_seq = t->iss + 1;
        t->rtt_start_ns = t->s->now_ns;
    }
    return xmit(t, t->iss, f, 0, retrans);
}

int tcp_send_ack(struct axl_tcb *t)
{
    return xmit(t, t->snd_nxt, AXL_TCP_ACK, 0, 0);
}

int tcp_send_rst(struct axl_tcb *t)
{
    /* RFC 9293 §3.10.5 ABORT: <SEQ=SND.NXT><CTL=RST>. */
    return xmit(t, t->snd_nxt, AXL_TCP_RST, 0, 0);
}

int tcp_send_keepalive(struct axl_tcb *t)
{
    /* RFC 1122 §4.2.3.6: SEG.SEQ = SND.NXT-1 with no data (no garbage octet);
     * SND.UNA-1 is the same when nothing is outstanding. */
    return xmit(t, t->snd_una - 1, AXL_TCP_ACK, 0, 0);
}

int tcp_send_data(struct axl_tcb *t, uint32_t seq, uint32_t len, int retrans)
{
    uint32_t off = seq - t->snd_una;
    uint32_t have = t->sq.bytes > off ? t->sq.bytes - off : 0;
    if (len > have) len = have;
    int cut;
    len = tcp_prepkt_seg_limit(t, off, len, &cut); /* object segment boundaries */
    uint8_t f = AXL_TCP_ACK;
    if (len && len == have) f |= AXL_TCP_PSH;
    if ((t->flags & TF_FIN_SENT) && seq + len == t->snd_fin) f |= AXL_TCP_FIN;
    if (!len && !(f & AXL_TCP_FIN)) return 0;
    return xmit(t, seq, f, len, retrans);
}

/* Send a zero-window probe: one byte of new data beyond the window
 * (RFC 9293 §3.8.6.1, RFC 1122 §4.2.2.17). */
int tcp_send_probe(struct axl_tcb *t)
{
    uint32_t off = t->snd_nxt - t->snd_una;
    if (t->sq.bytes <= off) return 0;
    int rc = xmit(t, t->snd_nxt, AXL_TCP_ACK, 1, 0);
    if (rc == 1 && axl_seq_gt(t->snd_nxt + 1, t->snd_max)) {
        t->snd_max = t->snd_nxt + 1;
        tcp_rec_sent(t, t->snd_nxt, 1);
    }
    return rc;
}

/* --- segments without a TCB --------------------------------------------------------- */

static int xmit_raw(struct axl_stack *s, uint32_t dst, struct axl_tcp_repr *r)
{
    struct axl_pkt *pkt = seg_alloc(s);
    if (!pkt) return AXL_ENOBUFS;
    int n = axl_tcp_repr_emit(r, s->addr, dst, pkt->data, axl_pkt_room(s->pool, pkt));
    if (n < 0) {
        axl_pkt_free(s->pool, pkt);
        return n;
    }
    pkt->len = (uint32_t)n;
    return xmit_pkt(s, dst, pkt, r->flags);
}

void tcp_send_rst_for(struct axl_stack *s, const struct tcp_seg *g)
{
    /* RFC 9293 §3.10.7.1: never answer a RST; with ACK: <SEQ=SEG.ACK>
     * <CTL=RST>; without: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. */
    if (g->flags & AXL_TCP_RST) return;
    struct axl_tcp_repr r;
    memset(&r, 0, sizeof(r));
    r.sport = g->dport;
    r.dport = g->sport;
    if (g->flags & AXL_TCP_ACK) {
        r.seq = g->ack;
        r.flags = AXL_TCP_RST;
    } else {
        r.seq = 0;
        r.ack = g->seq + tcp_seg_len(g);
        r.flags = AXL_TCP_RST | AXL_TCP_ACK;
    }
    (void)xmit_raw(s, g->src, &r);
}

void tcp_send_cookie_synack(struct axl_stack *s, const struct axl_tcp_listener *l,
                            const struct tcp_seg *g, uint32_t cookie, uint32_t tsval)
{
    struct axl_tcp_repr r;
    memset(&r, 0, sizeof(r));
    r.sport = g->dport;
    r.dport = g->sport;
    r.seq = cookie;
    r.ack = g->seq + 1;
    r.flags = AXL_TCP_SYN | AXL_TCP_ACK;
    r.window = (uint16_t)AXL_MIN(l->rcvbuf, 65535u);
    r.opts.has_mss = 1;
    r.opts.mss = tcp_adv_mss(s);
    if (g->opts.has_ts) {
        /* Only timestamps can carry WS and SACK-permitted through a cookie
         * (tcp_isn.h): without them neither is offered back. */
        r.opts.has_ts = 1;
        r.opts.ts_val = tsval;
        r.opts.ts_ecr = g->opts.ts_val;
        r.opts.has_sack_perm = g->opts.has_sack_perm && !s->tcp.no_sack;
        if (g->opts.has_ws) {
            r.opts.has_ws = 1;
            r.opts.ws_shift = tcp_wscale_for(l->rcvbuf);
        }
    }
    (void)xmit_raw(s, g->src, &r);
}

/* --- rate-limited answers ----------------------------------------------------------- */

void tcp_challenge_ack(struct axl_tcb *t)
{
    /* RFC 5961 §7: a per-engine budget of challenge ACKs per second. */
    struct axl_stack *s = t->s;
    struct axl_tcp_state *ts = &s->tcp;
    if (s->now_ns - ts->chall_window_ns >= AXL_NS_PER_S) {
        ts->chall_window_ns = s->now_ns;
        ts->chall_count = 0;
    }
    if (ts->chall_count >= AXL_TCP_CHALLENGE_ACK_PER_S) {
        AXL_STAT_INC(s, TcpChallengeAckLimited);
        return;
    }
    ts->chall_count++;
    AXL_STAT_INC(s, TcpChallengeAcks);
    tcp_send_ack(t);
}

void tcp_oow_ack(struct axl_tcb *t, const struct tcp_seg *g)
{
    struct axl_stack *s = t->s;
    if (!g->len && !(g->flags & (AXL_TCP_SYN | AXL_TCP_FIN))) {
        if (t->oow_ack_ns && s->now_ns - t->oow_ack_ns < AXL_TCP_OOW_RATELIMIT_NS) {
            AXL_STAT_INC(s, TcpOowRateLimited);
            return;
        }
        t->oow_ack_ns = s->now_ns;
    }
    tcp_send_ack(t);
}

/* --- the sender ------------------------------------------------------------------- */

/* How many more bytes the windows allow now. */
static uint32_t usable_window(const struct axl_tcb *t, uint32_t flight)
{
    uint32_t cwnd = t->cc.cwnd;
    if (!(t->flags & TF_RECOVERY) && t->dupacks && t->dupacks < AXL_TCP_DUPACK_THRESH)
        cwnd += (uint32_t)t->dupacks * t->snd_mss; /* RFC 3042 limited transmit */
    uint32_t wnd = AXL_MIN(t->snd_wnd, cwnd);
    return wnd > flight ? wnd - flight : 0;
}

/* Send len new (or go-back-N) bytes at SND.NXT, with the FIN when fin;
 * all the per-segment bookkeeping. Returns 1 if the segment left. */
static int emit(struct axl_tcb *t, uint32_t len, int fin)
{
    struct axl_stack *s = t->s;
    uint32_t seq = t->snd_nxt;
    uint32_t off = seq - t->snd_una;
    uint32_t unsent = t->sq.bytes > off ? t->sq.bytes - off : 0;
    int retrans = axl_seq_lt(seq, t->snd_max);
    if (t->snd_una == t->snd_max && !retrans && len)
        axl_tcp_cc_on_restart(&t->cc, s->now_ns, s->now_ns - t->last_snd_ns,
                              axl_tcp_rtt_rto_ns(&t->rtt));
    uint8_t f = AXL_TCP_ACK;
    if (len && len == unsent) f |= AXL_TCP_PSH;
    if (fin) f |= AXL_TCP_FIN;
    int rc = xmit(t, seq, f, len, retrans);
    if (rc < 0) return 0;
    len = (uint32_t)rc;
    if (fin && !(t->flags & TF_FIN_SENT)) {
        t->flags |= TF_FIN_SENT;
        t->snd_fin = seq + len;
    }
    if (!retrans && len && !(t->flags & TF_RTT_TIMING)) {
        t->flags |= TF_RTT_TIMING;
        t->rtt_seq = seq + len;
        t->rtt_start_ns = s->now_ns;
    }
    uint32_t used = len + (fin ? 1u : 0u);
    if (len && len < tcp_seg_max(t)) t->snd_sml = seq + len; /* Minshall */
    t->snd_nxt = seq + used;
    if (axl_seq_gt(t->snd_nxt, t->snd_max)) t->snd_max = t->snd_nxt;
    t->last_snd_ns = s->now_ns;
    tcp_rec_sent(t, seq, used);
    /* RFC 6298 §5.1: start the timer if it is not running. RFC 8985 §7.2:
     * reschedule the probe timeout after new data; it only changes when
     * the flight grows past one segment (the WCDelAckT term goes), so the
     * timer is re-armed then and only then (once per flight, not per
     * segment). */
    if (!axl_timer_armed(&t->t_rtx) || (t->flags & TF_PERSIST)) {
        tcp_rtx_arm(t);
    } else if (!retrans && (t->flags & TF_SACK_OK) &&
               !(t->flags & (TF_PTO | TF_REO | TF_RECOVERY)) && !t->tlp_on && !t->nretries) {
        uint32_t segmax = tcp_seg_max(t), flight = t->snd_max - t->snd_una;
        if (flight > segmax && flight - used <= segmax) tcp_rtx_arm(t);
    }
    return 1;
}

/* Is the FIN due with a segment of len bytes at SND.NXT? */
static int fin_due(const struct axl_tcb *t, uint32_t len, uint32_t unsent)
{
    return (t->flags & TF_FIN_QUEUED) && len == unsent &&
           (!(t->flags & TF_FIN_SENT) || t->snd_nxt + len == t->snd_fin);
}

int tcp_send_new_one(struct axl_tcb *t, uint32_t len)
{
    uint32_t off = t->snd_nxt - t->snd_una;
    uint32_t unsent = t->sq.bytes > off ? t->sq.bytes - off : 0;
    len = AXL_MIN(len, unsent);
    int cut;
    len = tcp_prepkt_seg_limit(t, off, len, &cut); /* object segment boundaries */
    int fin = fin_due(t, len, unsent);
    if (!len && !fin) return 0;
    return emit(t, len, fin);
}

/* Segment data (and the FIN) as the windows, Nagle (RFC 1122 §4.2.3.4) and
 * sender SWS avoidance allow. Returns the segments sent. */
static int send_new(struct axl_tcb *t)
{
    int sent = 0;
    for (;;) { /* hot */
        uint32_t off = t->snd_nxt - t->snd_una;
        uint32_t unsent = t->sq.bytes > off ? t->sq.bytes - off : 0;
        uint32_t flight = t->snd_nxt - t->snd_una;
        uint32_t segmax = tcp_seg_max(t);
        uint32_t len = AXL_MIN(AXL_MIN(unsent, usable_window(t, flight)), segmax);
        int cut; /* ends at an object's pre-built segment boundary (tcp_prepkt.c) */
        len = tcp_prepkt_seg_limit(t, off, len, &cut);
        int fin = fin_due(t, len, unsent);
        if (!len && !fin) break;
        if (len < segmax && !fin && !cut) {
            if (len < unsent) {
                /* RFC 1122 §4.2.3.4 (sender SWS): a partial segment only when
                 * it is at least half the largest window the peer offered. */
                if (len < t->max_sndwnd / 2) break;
            } else if (!(t->flags & TF_NODELAY) && flight > 0 &&
                       axl_seq_gt(t->snd_sml, t->snd_una)) {
                /* Nagle (RFC 896, RFC 1122 §4.2.3.4) with Minshall's
                 * refinement (as Linux): a small segment waits while an
                 * earlier small one is unacknowledged, so the tail of a
                 * bulk write is not held behind full-sized segments for
                 * the peer's delayed ACK. */
                break;
            }
        }
        if (!emit(t, len, fin)) break;
        sent++;
        if (fin) break;
    }
    return sent;
}

void tcp_output(struct axl_tcb *t)
{
    if (t->flags & TF_DEAD) return;
    switch (t->state) {
    case AXL_TCP_ESTABLISHED:
    case AXL_TCP_CLOSE_WAIT:
    case AXL_TCP_FIN_WAIT_1:
    case AXL_TCP_CLOSING:
    case AXL_TCP_LAST_ACK: {
        if ((t->flags & TF_SACK_OK) && ((t->flags & TF_RECOVERY) || tcp_sb_after_rto(&t->sb)))
            tcp_rec_output(t); /* RFC 6675 §5 step (C), §5.1 */
        int sent = send_new(t);
        uint32_t off = t->snd_nxt - t->snd_una;
        if (!sent && t->sq.bytes > off && t->snd_una == t->snd_max && !axl_timer_armed(&t->t_rtx))
            tcp_persist_arm(t); /* the window (or SWS avoidance) holds data back */
        break;
    }
    default:
        break;
    }
    if (t->flags & TF_ACK_NOW) tcp_send_ack(t);
}
