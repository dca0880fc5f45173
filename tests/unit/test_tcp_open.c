/* SPDX-License-Identifier: MIT */
/*
 * test_tcp_open.c - TCP connection establishment, grouped by state, a
 * segment in -> the segments out (deterministic clock, mem port):
 *   CLOSED        RST rules of RFC 9293 §3.10.7.1
 *   LISTEN        SYN-ACK option negotiation (MSS, WS, SACK-permitted, TS),
 *                 RST/ACK/bare segments to a listener, SYN cookies when the
 *                 SYN queue is full (valid, forged), accept-queue overflow
 *   SYN-RECEIVED  duplicate SYN, bad ACK, RST (back to LISTEN), SYN-ACK
 *                 retransmission with back-off and give-up
 *   SYN-SENT      the SYN's options, SYN-ACK -> ESTABLISHED, RST -> refused,
 *                 bad ACK -> RST, SYN retransmission timing -> ETIMEDOUT,
 *                 simultaneous open
 */
#include "tcp_fixture.h"

static int setup(void **state)
{
    static struct tfx x;
    tfx_setup(&x);
    *state = &x;
    return 0;
}

static int teardown(void **state)
{
    struct tfx *x = *state;
    if (x->l) axl_tcp_listener_close(x->l);
    x->l = NULL;
    tfx_teardown(x);
    return 0;
}

/* ---- CLOSED ------------------------------------------------------------------ */

static void test_closed_syn_gets_rst_ack(void **state)
{
    struct tfx *x = *state;
    struct tseg sg = tfx_seg(x, T_SYN), r;
    sg.seq = 777;
    sg.ack = 0;
    uint8_t d[5] = "hello";
    sg.data = d;
    sg.len = 5;
    tf_send(&x->f, &sg);
    assert_int_equal(tf_recv(&x->f, &r), 0);
    /* <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>: SYN + 5 bytes */
    assert_int_equal(r.flags, T_RST | T_ACK);
    assert_int_equal(r.seq, 0);
    assert_int_equal(r.ack, 777 + 1 + 5);
    assert_int_equal(r.sport, TF_PORT);
    assert_int_equal(r.dport, TF_PEER_PORT);
    assert_int_equal(fx_stat(&x->f, "DropTcpNoSocket"), 1);
    assert_int_equal(fx_stat(&x->f, "TcpOutRsts"), 1);
    tf_none(&x->f);
}

static void test_closed_ack_gets_rst(void **state)
{
    struct tfx *x = *state;
    struct tseg sg = tfx_seg(x, T_ACK), r;
    sg.seq = 5;
    sg.ack = 0xdeadbeef;
    tf_send(&x->f, &sg);
    assert_int_equal(tf_recv(&x->f, &r), 0);
    assert_int_equal(r.flags, T_RST); /* <SEQ=SEG.ACK><CTL=RST> */
    assert_int_equal(r.seq, 0xdeadbeef);
    tf_none(&x->f);
}

static void test_closed_rst_is_not_answered(void **state)
{
    struct tfx *x = *state;
    struct tseg sg = tfx_seg(x, T_RST);
    tf_send(&x->f, &sg);
    tf_none(&x->f);
    sg.flags = T_RST | T_ACK;
    tf_send(&x->f, &sg);
    tf_none(&x->f);
    assert_int_equal(fx_stat(&x->f, "DropTcpNoSocket"), 2);
}

static void test_bad_checksum_dropped(void **state)
{
    struct tfx *x = *state;
    struct tseg sg = tfx_seg(x, T_SYN);
    sg.bad_csum = 1;
    tf_send(&x->f, &sg);
    tf_none(&x->f);
    assert_int_equal(fx_stat(&x->f, "TcpInCsumErrors"), 1);
    assert_int_equal(fx_stat(&x->f, "DropTcpBadCsum"), 1);
    assert_int_equal(fx_stat(&x->f, "TcpInErrs"), 1);
}

/* ---- LISTEN ------------------------------------------------------------------ */

static void test_listen_synack_options(void **state)
{
    struct tfx *x = *state;
    struct tseg sg = tfx_seg(x, T_SYN), r;
    assert_int_equal(axl_tcp_listen(x->f.s, TF_PORT, 0, &tev_ops, &x->ev, &x->l), 0);
    assert_int_equal(axl_tcp_listen(x->f.s, TF_PORT, 0, &tev_ops, &x->ev, NULL), AXL_EINVAL);
    struct axl_tcp_listener *l2;
    assert_int_equal(axl_tcp_listen(x->f.s, TF_PORT, 0, &tev_ops, &x->ev, &l2), AXL_EADDRINUSE);
    sg.seq = 4242;
    sg.ack = 0;
    sg.has_mss = 1;
    sg.mss = 1400;
    sg.has_ws = 1;
    sg.ws = 9;
    sg.has_sackok = 1;
    sg.has_ts = 1;
    sg.tsval = 123456;
    sg.tsecr = 0;
    tf_send(&x->f, &sg);
    assert_int_equal(tf_recv(&x->f, &r), 0);
    assert_int_equal(r.flags, T_SYN | T_ACK);
    assert_int_equal(r.ack, 4243);
    assert_true(r.has_mss);
    assert_int_equal(r.mss, 1460); /* MTU 1500 - 40 (RFC 9293 §3.7.1) */
    assert_true(r.has_ws);
    assert_int_equal(r.ws, 5); /* 1 MiB >> 5 fits 16 bits */
    assert_true(r.has_sackok);
    assert_true(r.has_ts);
    assert_int_equal(r.tsecr, 123456);
    assert_int_equal(r.win, 65535); /* not scaled in a SYN (RFC 7323 §2.2) */
    assert_int_equal(r.len, 0);
    assert_int_equal(fx_stat(&x->f, "TcpPassiveOpens"), 1);
    tf_none(&x->f);
    struct axl_tcb *t = tcp_lookup(x->f.s, FX_PEER, TF_PEER_PORT, TF_PORT);
    assert_non_null(t);
    assert_int_equal(t->state, AXL_TCP_SYN_RECEIVED);
    assert_int_equal(t->snd_mss, 1400);
    assert_int_equal(t->snd_wscale, 9);
    assert_true(t->flags & TF_SACK_OK);
    assert_true(t->flags & TF_TS_OK);
}

static void test_listen_synack_without_options(void **state)
{
    struct tfx *x = *state;
    struct tseg sg = tfx_seg(x, T_SYN), r;
    assert_int_equal(axl_tcp_listen(x->f.s, TF_PORT, 0, &tev_ops, &x->ev, &x->l), 0);
    sg.seq = 1;
    sg.ack = 0;
    sg.win = 8192;
    tf_send(&x->f, &sg);
    assert_int_equal(tf_recv(&x->f, &r), 0);
    assert_true(r.has_mss);
    assert_false(r.has_ws); /* only what the SYN offered */
    assert_false(r.has_sackok);
    assert_false(r.has_ts);
    struct axl_tcb *t = tcp_lookup(x->f.s, FX_PEER, TF_PEER_PORT, TF_PORT);
    assert_non_null(t);
    assert_int_equal(t->snd_mss, 536); /* RFC 9293 §3.7.1 default */
    assert_int_equal(t->rcv_wscale, 0);
    assert_true(t->rcvbuf <= 65535u); /* no scaling: the field caps the buffer */
    assert_int_equal(t->snd_wnd, 8192);
}

static void test_listen_ack_rst_and_bare(void **state)
{
    struct tfx *x = *state;
    struct tseg sg = tfx_seg(x, T_ACK), r;
    assert_int_equal(axl_tcp_listen(x->f.s, TF_PORT, 0, &tev_ops, &x->ev, &x->l), 0);
    sg.ack = 99;
    tf_send(&x->f, &sg);
    assert_int_equal(tf_recv(&x->f, &r), 0);
    assert_int_equal(r.flags, T_RST);
    assert_int_equal(r.seq, 99);
    sg.flags = T_RST;
    tf_send(&x->f, &sg);
    sg.flags = T_FIN;
    tf_send(&x->f, &sg);
    tf_none(&x->f);
    assert_int_equal(fx_stat(&x->f, "DropTcpListenAck"), 1);
    assert_int_equal(fx_stat(&x->f, "DropTcpListenRst"), 1);
    assert_int_equal(fx_stat(&x->f, "DropTcpListenNoSyn"), 1);
}

static void test_listen_handshake_and_accept(void **state)
{
    struct tfx *x = *state;
    tfx_passive(x, 1, 1, 1);
    assert_int_equal(fx_stat(&x->f, "TcpCurrEstab"), 1);
    struct axl_tcp_info in;
    axl_tcp_get_info(x->c, &in);
    assert_int_equal(in.state, AXL_TCP_ESTABLISHED);
    assert_int_equal(in.snd_wscale, 7);
    assert_int_equal(in.rcv_wscale, 5);
    assert_true(in.ts_ok && in.sack_ok);
    assert_int_equal(in.snd_mss, 1460);
    /* The window is scaled from now on: 65535 << 7. */
    assert_int_equal(in.snd_wnd, 65535u << 7);
    assert_string_equal(axl_tcp_state_name(in.state), "ESTABLISHED");
}

static struct tseg syn_from(struct tfx *x, uint16_t sport, struct tseg *synack)
{
    struct tseg sg = tfx_seg(x, T_SYN);
    sg.sport = sport;
    sg.seq = 100;
    sg.ack = 0;
    tf_send(&x->f, &sg);
    assert_int_equal(tf_recv(&x->f, synack), 0);
    assert_int_equal(synack->flags, T_SYN | T_ACK);
    sg.flags = T_ACK;
    sg.seq = 101;
    sg.ack = synack->seq + 1;
    return sg; /* the ACK that completes it */
}

static void test_listen_accept_queue_full(void **state)
{
    struct tfx *x = *state;
    struct tseg ra, rb, rc, sg;
    assert_int_equal(axl_tcp_listen(x->f.s, TF_PORT, 2, &tev_ops, &x->ev, &x->l), 0);
    struct tseg aa = syn_from(x, 41000, &ra);
    struct tseg ab = syn_from(x, 41001, &rb);
    tf_send(&x->f, &aa); /* A established: accept queue 1 */
    assert_int_equal(x->ev.new_conn, 1);
    struct tseg ac = syn_from(x, 41002, &rc); /* SYN queue: B, C */
    tf_send(&x->f, &ab);                      /* B established: accept queue 2 (full) */
    assert_int_equal(x->ev.new_conn, 2);
    tf_send(&x->f, &ac); /* C's ACK finds the accept queue full */
    struct axl_tcb *t = tcp_lookup(x->f.s, FX_PEER, 41002, TF_PORT);
    assert_non_null(t);
    assert_int_equal(t->state, AXL_TCP_SYN_RECEIVED);
    assert_int_equal(fx_stat(&x->f, "TcpListenOverflows"), 1);
    /* A new SYN is refused outright while the accept queue is full. */
    sg = tfx_seg(x, T_SYN);
    sg.sport = 41003;
    sg.ack = 0;
    tf_send(&x->f, &sg);
    tf_none(&x->f);
    assert_int_equal(fx_stat(&x->f, "TcpListenOverflows"), 2);
    /* Accept both: room again; C's repeated ACK now completes it. */
    struct axl_tcb *c1, *c2, *c3;
    assert_int_equal(axl_tcp_accept(x->l, &c1), 0);
    assert_int_equal(axl_tcp_accept(x->l, &c2), 0);
    assert_int_equal(axl_tcp_accept(x->l, &c3), AXL_EAGAIN);
    assert_int_equal(c1->rport, 41000); /* FIFO */
    tf_send(&x->f, &ac);
    assert_int_equal(t->state, AXL_TCP_ESTABLISHED);
    assert_int_equal(axl_tcp_accept(x->l, &c3), 0);
    axl_tcp_close(c1);
    axl_tcp_close(c2);
    axl_tcp_close(c3);
}

/* Data and a FIN that arrive before axl_tcp_accept() are reported to the
 * holder whatever the context of the accept: outside any callback (the
 * events come from the next poll, after axl_tcp_set_user) and inside the
 * new_conn callback of another connection (from the end of that poll). */
static void test_listen_accept_late_delivers_pending(void **state)
{
    struct tfx *x = *state;
    struct tseg ra, rb, rc;
    static const uint8_t d[7] = "abcdefg";
    assert_int_equal(axl_tcp_listen(x->f.s, TF_PORT, 4, &tev_ops, &x->ev, &x->l), 0);
    struct tseg aa = syn_from(x, 41000, &ra);
    tf_send(&x->f, &aa);
    struct tseg ab = syn_from(x, 41001, &rb);
    tf_send(&x->f, &ab);
    assert_int_equal(x->ev.new_conn, 2);
    /* A: 7 bytes and a FIN; B: 3 bytes; nobody holds them yet. */
    aa.flags = T_ACK | T_PSH;
    aa.data = d;
    aa.len = 7;
    tf_send(&x->f, &aa);
    aa.flags = T_ACK | T_FIN;
    aa.seq += 7;
    aa.data = NULL;
    aa.len = 0;
    tf_send(&x->f, &aa);
    ab.flags = T_ACK | T_PSH;
    ab.data = d;
    ab.len = 3;
    tf_send(&x->f, &ab);
    tf_drain(&x->f, NULL);
    assert_int_equal(x->ev.data, 0);
    assert_int_equal(x->ev.remote_closed, 0);

    /* Outside any callback. */
    static struct tev ea;
    memset(&ea, 0, sizeof(ea));
    struct axl_tcb *ca;
    assert_int_equal(axl_tcp_accept(x->l, &ca), 0);
    assert_int_equal(ca->rport, 41000);
    axl_tcp_set_user(ca, &tev_ops, &ea);
    assert_int_equal(ea.data, 0); /* not from inside accept/set_user */
    fx_poll(&x->f);
    assert_int_equal(ea.data, 1);
    assert_int_equal(ea.last_avail, 7);
    assert_int_equal(ea.remote_closed, 1);
    fx_poll(&x->f); /* once only */
    assert_int_equal(ea.data, 1);
    assert_int_equal(ea.remote_closed, 1);
    uint8_t b[16];
    assert_int_equal(axl_tcp_read(ca, b, sizeof(b)), 7);
    assert_memory_equal(b, d, 7);
    assert_int_equal(axl_tcp_read(ca, b, sizeof(b)), 0);

    /* Inside C's new_conn: autoaccept takes the queue's head, B. */
    x->ev.autoaccept = 1;
    struct tseg ac = syn_from(x, 41002, &rc);
    tf_send(&x->f, &ac);
    assert_int_equal(x->ev.new_conn, 3);
    assert_non_null(x->ev.accepted);
    struct axl_tcb *cb = x->ev.accepted;
    assert_int_equal(cb->rport, 41001);
    assert_int_equal(x->ev.data, 1);
    assert_int_equal(x->ev.last_avail, 3);
    assert_int_equal(x->ev.remote_closed, 0);
    /* A connection closed before the poll that would report it: nothing
     * is delivered to the gone holder, nothing leaks. */
    struct axl_tcb *cc;
    assert_int_equal(axl_tcp_accept(x->l, &cc), 0);
    assert_int_equal(cc->rport, 41002);
    axl_tcp_close(cc);
    fx_poll(&x->f);
    axl_tcp_close(ca);
    axl_tcp_close(cb);
    fx_poll(&x->f);
}

static void test_syn_cookies(void **state)
{
    struct tfx *x = *state;
    struct tseg sg, r;
    assert_int_equal(axl_tcp_listen(x->f.s, TF_PORT, 2, &tev_ops, &x->ev, &x->l), 0);
    /* Two SYNs fill the SYN queue. */
    for (int i = 0; i < 2; i++) {
        sg = tfx_seg(x, T_SYN);
        sg.sport = (uint16_t)(41000 + i);
        sg.ack = 0;
        tf_send(&x->f, &sg);
        assert_int_equal(tf_recv(&x->f, &r), 0);
    }
    assert_int_equal(fx_stat(&x->f, "TcpSynCookiesSent"), 0);
    /* The third is answered with a cookie; no TCB is created. */
    sg = tfx_seg(x, T_SYN);
    sg.seq = 5000000;
    sg.ack = 0;
    sg.has_mss = 1;
    sg.mss = 1460;
    sg.has_ws = 1;
    sg.ws = 6;
    sg.has_sackok = 1;
    sg.has_ts = 1;
    sg.tsval = 777;
    sg.tsecr = 0;
    tf_send(&x->f, &sg);
    assert_int_equal(fx_stat(&x->f, "TcpSynCookiesSent"), 1);
    assert_int_equal(tf_recv(&x->f, &r), 0);
    assert_int_equal(r.flags, T_SYN | T_ACK);
    assert_int_equal(r.ack, 5000001);
    assert_true(r.has_ts && r.has_ws && r.has_sackok && r.has_mss);
    assert_int_equal(r.tsecr, 777);
    assert_null(tcp_lookup(x->f.s, FX_PEER, TF_PEER_PORT, TF_PORT));
    uint32_t cookie = r.seq;
    /* A forged ACK (wrong cookie) gets a RST. */
    struct tseg a = tfx_seg(x, T_ACK);
    a.seq = 5000001;
    a.ack = cookie + 2;
    a.has_ts = 1;
    a.tsval = 778;
    a.tsecr = r.tsval;
    tf_send(&x->f, &a);
    assert_int_equal(fx_stat(&x->f, "TcpSynCookiesFailed"), 1);
    struct tseg rr;
    assert_int_equal(tf_recv(&x->f, &rr), 0);
    assert_int_equal(rr.flags, T_RST);
    /* The genuine ACK, carrying data, establishes the connection. */
    a.ack = cookie + 1;
    uint8_t d[3] = {1, 2, 3};
    a.data = d;
    a.len = 3;
    tf_send(&x->f, &a);
    assert_int_equal(fx_stat(&x->f, "TcpSynCookiesRecv"), 1);
    struct axl_tcb *t = tcp_lookup(x->f.s, FX_PEER, TF_PEER_PORT, TF_PORT);
    assert_non_null(t);
    assert_int_equal(t->state, AXL_TCP_ESTABLISHED);
    assert_true(t->flags & TF_COOKIE);
    assert_true(t->flags & TF_TS_OK);
    assert_true(t->flags & TF_SACK_OK);
    assert_true(t->flags & TF_WS_OK);
    assert_int_equal(t->snd_wscale, 6);
    assert_int_equal(t->snd_mss, 1460);
    assert_int_equal(t->rq.bytes, 3);
    assert_int_equal(x->ev.new_conn, 1);
}

static void test_syn_cookie_without_timestamps(void **state)
{
    struct tfx *x = *state;
    struct tseg sg, r;
    assert_int_equal(axl_tcp_listen(x->f.s, TF_PORT, 1, &tev_ops, &x->ev, &x->l), 0);
    sg = tfx_seg(x, T_SYN);
    sg.sport = 41000;
    sg.ack = 0;
    tf_send(&x->f, &sg);
    assert_int_equal(tf_recv(&x->f, &r), 0);
    sg = tfx_seg(x, T_SYN);
    sg.ack = 0;
    sg.has_ws = 1; /* cannot be remembered without TS: not offered back */
    sg.ws = 3;
    sg.has_mss = 1;
    sg.mss = 1000;
    tf_send(&x->f, &sg);
    assert_int_equal(tf_recv(&x->f, &r), 0);
    assert_int_equal(r.flags, T_SYN | T_ACK);
    assert_false(r.has_ws);
    assert_false(r.has_ts);
    struct tseg a = tfx_seg(x, T_ACK);
    a.seq = sg.seq + 1;
    a.ack = r.seq + 1;
    tf_send(&x->f, &a);
    struct axl_tcb *t = tcp_lookup(x->f.s, FX_PEER, TF_PEER_PORT, TF_PORT);
    assert_non_null(t);
    assert_int_equal(t->state, AXL_TCP_ESTABLISHED);
    assert_false(t->flags & TF_WS_OK);
    assert_true(t->snd_mss <= 1000 && t->snd_mss >= 536);
}

/* ---- SYN-RECEIVED ------------------------------------------------------------- */

static struct axl_tcb *to_syn_received(struct tfx *x, struct tseg *synack)
{
    struct tseg sg = tfx_seg(x, T_SYN);
    assert_int_equal(axl_tcp_listen(x->f.s, TF_PORT, 0, &tev_ops, &x->ev, &x->l), 0);
    x->irs = 9000;
    sg.seq = x->irs;
    sg.ack = 0;
    tf_send(&x->f, &sg);
    assert_int_equal(tf_recv(&x->f, synack), 0);
    x->iss = synack->seq;
    x->snd_nxt = x->irs + 1;
    x->rcv_nxt = x->iss + 1;
    return tcp_lookup(x->f.s, FX_PEER, TF_PEER_PORT, TF_PORT);
}

static void test_syn_received_duplicate_syn(void **state)
{
    struct tfx *x = *state;
    struct tseg r, r2;
    struct axl_tcb *t = to_syn_received(x, &r);
    struct tseg sg = tfx_seg(x, T_SYN);
    sg.seq = x->irs;
    sg.ack = 0;
    tf_send(&x->f, &sg);
    assert_int_equal(tf_recv(&x->f, &r2), 0);
    assert_int_equal(r2.flags, T_SYN | T_ACK);
    assert_int_equal(r2.seq, r.seq); /* the same ISS */
    assert_int_equal(t->state, AXL_TCP_SYN_RECEIVED);
    assert_int_equal(fx_stat(&x->f, "DropTcpDupSyn"), 1);
}

static void test_syn_received_bad_ack_gets_rst(void **state)
{
    struct tfx *x = *state;
    struct tseg r;
    struct axl_tcb *t = to_syn_received(x, &r);
    struct tseg sg = tfx_seg(x, T_ACK);
    sg.ack = x->iss + 5;
    tf_send(&x->f, &sg);
    assert_int_equal(tf_recv(&x->f, &r), 0);
    assert_int_equal(r.flags, T_RST);
    assert_int_equal(r.seq, x->iss + 5);
    assert_int_equal(t->state, AXL_TCP_SYN_RECEIVED);
}

static void test_syn_received_rst_back_to_listen(void **state)
{
    struct tfx *x = *state;
    struct tseg r;
    to_syn_received(x, &r);
    struct tseg sg = tfx_seg(x, T_RST);
    tf_send(&x->f, &sg);
    assert_null(tcp_lookup(x->f.s, FX_PEER, TF_PEER_PORT, TF_PORT));
    assert_int_equal(fx_stat(&x->f, "TcpAttemptFails"), 1);
    assert_int_equal(x->l->nsyn, 0);
    /* The listener still answers. */
    sg = tfx_seg(x, T_SYN);
    sg.ack = 0;
    tf_send(&x->f, &sg);
    assert_int_equal(tf_recv(&x->f, &r), 0);
    assert_int_equal(r.flags, T_SYN | T_ACK);
}

static void test_syn_received_synack_backoff_and_give_up(void **state)
{
    struct tfx *x = *state;
    struct tseg r;
    to_syn_received(x, &r);
    /* RTO 1 s, doubling (RFC 6298 §5.5): resent after 1, 2, 4, 8, 16 s,
     * each counted from the previous transmission (the wheel ticks in 1 ms:
     * never early, at most a tick late); dropped 32 s after the fifth. */
    uint64_t last = x->f.now;
    for (unsigned i = 0; i < 5; i++) {
        uint64_t due = last + (AXL_NS_PER_S << i);
        last = tf_step_until_sent(&x->f, due - 2 * AXL_NS_PER_MS, 6);
        assert_true(last >= due - AXL_NS_PER_MS && last <= due + 3 * AXL_NS_PER_MS);
        assert_int_equal(tf_recv(&x->f, &r), 0);
        assert_int_equal(r.flags, T_SYN | T_ACK);
    }
    x->f.now = last + 32 * AXL_NS_PER_S - 2 * AXL_NS_PER_MS;
    fx_poll(&x->f);
    assert_non_null(tcp_lookup(x->f.s, FX_PEER, TF_PEER_PORT, TF_PORT));
    x->f.now += 5 * AXL_NS_PER_MS;
    fx_poll(&x->f);
    tf_none(&x->f);
    assert_null(tcp_lookup(x->f.s, FX_PEER, TF_PEER_PORT, TF_PORT));
    assert_int_equal(fx_stat(&x->f, "TcpAttemptFails"), 1);
    assert_int_equal(fx_stat(&x->f, "TcpRetransSegs"), 5);
}

/* ---- SYN-SENT ------------------------------------------------------------------ */

static struct axl_tcb *connect_peer(struct tfx *x, struct tseg *syn)
{
    struct axl_tcb *c;
    assert_int_equal(axl_tcp_connect(x->f.s, FX_PEER, 80, 0, &tev_ops, &x->ev, &c), 0);
    fx_poll(&x->f);
    assert_int_equal(tf_recv(&x->f, syn), 0);
    x->c = c;
    x->iss = syn->seq;
    x->rcv_nxt = x->iss + 1;
    return c;
}

static void test_syn_sent_syn_options(void **state)
{
    struct tfx *x = *state;
    struct tseg syn;
    struct axl_tcb *c = connect_peer(x, &syn);
    assert_int_equal(syn.flags, T_SYN);
    assert_int_equal(syn.dport, 80);
    assert_true(syn.sport >= AXL_TCP_EPHEMERAL_LO);
    assert_true(syn.has_mss && syn.mss == 1460);
    assert_true(syn.has_ws && syn.ws == 5);
    assert_true(syn.has_sackok);
    assert_true(syn.has_ts && syn.tsecr == 0);
    assert_int_equal(syn.ack, 0);
    assert_int_equal(c->state, AXL_TCP_SYN_SENT);
    assert_int_equal(fx_stat(&x->f, "TcpActiveOpens"), 1);
}

static void test_syn_sent_synack_establishes(void **state)
{
    struct tfx *x = *state;
    struct tseg syn, r;
    struct axl_tcb *c = connect_peer(x, &syn);
    struct tseg sa = tfx_seg(x, T_SYN | T_ACK);
    sa.sport = 80;
    sa.dport = syn.sport;
    sa.seq = 333;
    sa.ack = syn.seq + 1;
    sa.has_mss = 1;
    sa.mss = 1200;
    sa.has_ws = 1;
    sa.ws = 2;
    sa.has_ts = 1;
    sa.tsval = 1;
    sa.tsecr = syn.tsval;
    sa.win = 1000;
    x->f.now += 3 * AXL_NS_PER_MS;
    tf_send(&x->f, &sa);
    assert_int_equal(c->state, AXL_TCP_ESTABLISHED);
    assert_int_equal(x->ev.connected, 1);
    assert_int_equal(tf_recv(&x->f, &r), 0);
    assert_int_equal(r.flags, T_ACK);
    assert_int_equal(r.seq, syn.seq + 1);
    assert_int_equal(r.ack, 334);
    assert_true(r.has_ts && r.tsecr == 1);
    assert_int_equal(c->snd_mss, 1200);
    assert_false(c->flags & TF_SACK_OK); /* the SYN-ACK did not permit it */
    assert_int_equal(c->snd_wnd, 1000);  /* SYN window: unscaled */
    /* RTT sampled from the handshake: 3 ms. */
    assert_int_equal(axl_tcp_rtt_srtt_ns(&c->rtt), 3 * AXL_NS_PER_MS);
}

static void test_syn_sent_rst_refused(void **state)
{
    struct tfx *x = *state;
    struct tseg syn;
    x->ev.close_in_cleanup = 1;
    connect_peer(x, &syn);
    struct tseg rs = tfx_seg(x, T_RST);
    rs.sport = 80;
    rs.dport = syn.sport;
    rs.seq = 0;
    rs.ack = syn.seq + 5; /* not acceptable: ignored */
    rs.flags = T_RST;
    tf_send(&x->f, &rs);
    assert_int_equal(x->ev.cleanup, 0);
    assert_int_equal(fx_stat(&x->f, "DropTcpSynSentRst"), 1);
    rs.flags = T_RST | T_ACK;
    rs.ack = syn.seq + 1;
    tf_send(&x->f, &rs);
    assert_int_equal(x->ev.cleanup, 1);
    assert_int_equal(x->ev.cleanup_err, -ECONNREFUSED);
    assert_int_equal(fx_stat(&x->f, "TcpAttemptFails"), 1);
    x->c = NULL; /* closed in the callback */
}

static void test_syn_sent_bad_ack_gets_rst(void **state)
{
    struct tfx *x = *state;
    struct tseg syn, r;
    struct axl_tcb *c = connect_peer(x, &syn);
    struct tseg sa = tfx_seg(x, T_SYN | T_ACK);
    sa.sport = 80;
    sa.dport = syn.sport;
    sa.ack = syn.seq + 100;
    tf_send(&x->f, &sa);
    assert_int_equal(tf_recv(&x->f, &r), 0);
    assert_int_equal(r.flags, T_RST);
    assert_int_equal(r.seq, syn.seq + 100);
    assert_int_equal(c->state, AXL_TCP_SYN_SENT);
}

static void test_syn_sent_timeout(void **state)
{
    struct tfx *x = *state;
    struct tseg syn, r;
    connect_peer(x, &syn);
    /* 1, 2, 4, ... 32 s between the six retransmissions, then 64 s capped at the
     * 60 s RTO maximum (RFC 6298 §2.5) before giving up. */
    uint64_t last = x->f.now;
    for (unsigned i = 0; i < 6; i++) {
        uint64_t due = last + (AXL_NS_PER_S << i);
        last = tf_step_until_sent(&x->f, due - 2 * AXL_NS_PER_MS, 6);
        assert_true(last >= due - AXL_NS_PER_MS && last <= due + 3 * AXL_NS_PER_MS);
        assert_int_equal(tf_recv(&x->f, &r), 0);
        assert_int_equal(r.flags, T_SYN);
        assert_int_equal(r.seq, syn.seq);
    }
    x->f.now = last + 60 * AXL_NS_PER_S - 2 * AXL_NS_PER_MS;
    fx_poll(&x->f);
    assert_int_equal(x->ev.cleanup, 0);
    x->f.now += 5 * AXL_NS_PER_MS;
    fx_poll(&x->f);
    assert_int_equal(x->ev.cleanup, 1);
    assert_int_equal(x->ev.cleanup_err, -ETIMEDOUT);
    assert_int_equal(axl_tcp_read(x->c, (uint8_t[4]){0}, 4), -ETIMEDOUT);
    assert_int_equal(axl_tcp_send(x->c, "x", 1), -ETIMEDOUT);
}

static void test_simultaneous_open(void **state)
{
    struct tfx *x = *state;
    struct tseg syn, r;
    struct axl_tcb *c = connect_peer(x, &syn);
    /* The peer's own SYN crosses ours. */
    struct tseg ps = tfx_seg(x, T_SYN);
    ps.sport = 80;
    ps.dport = syn.sport;
    ps.seq = 7000;
    ps.ack = 0;
    ps.has_ts = 1;
    ps.tsval = 10;
    ps.tsecr = 0;
    ps.has_ws = 1;
    ps.ws = 1;
    ps.has_sackok = 1;
    tf_send(&x->f, &ps);
    assert_int_equal(c->state, AXL_TCP_SYN_RECEIVED);
    assert_int_equal(tf_recv(&x->f, &r), 0);
    assert_int_equal(r.flags, T_SYN | T_ACK);
    assert_int_equal(r.seq, syn.seq); /* SEQ=ISS */
    assert_int_equal(r.ack, 7001);
    /* The peer's SYN-ACK completes it. */
    ps.flags = T_SYN | T_ACK;
    ps.ack = syn.seq + 1;
    ps.tsval = 11;
    ps.tsecr = r.tsval;
    tf_send(&x->f, &ps);
    assert_int_equal(c->state, AXL_TCP_ESTABLISHED);
    assert_int_equal(x->ev.connected, 1);
    assert_true(c->flags & TF_WS_OK);
    assert_int_equal(c->snd_wscale, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_closed_syn_gets_rst_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closed_ack_gets_rst, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closed_rst_is_not_answered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_checksum_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listen_synack_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listen_synack_without_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listen_ack_rst_and_bare, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listen_handshake_and_accept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listen_accept_queue_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listen_accept_late_delivers_pending, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_syn_cookies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syn_cookie_without_timestamps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syn_received_duplicate_syn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syn_received_bad_ack_gets_rst, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syn_received_rst_back_to_listen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syn_received_synack_backoff_and_give_up, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_syn_sent_syn_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syn_sent_synack_establishes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syn_sent_rst_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syn_sent_bad_ack_gets_rst, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syn_sent_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_simultaneous_open, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
