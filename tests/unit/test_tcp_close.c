/* SPDX-License-Identifier: MIT */
/*
 * test_tcp_close.c - connection teardown, grouped by state (RFC 9293 §3.6,
 * §3.10.4, §3.10.7.4), a segment in -> the segments out:
 *   FIN-WAIT-1/2   active close, data still received after a half-close,
 *                  the FIN-WAIT-2 timeout of an orphan, data after close
 *   CLOSE-WAIT     the peer's FIN, end of stream, LAST-ACK on close
 *   CLOSING        simultaneous close
 *   LAST-ACK       FIN retransmission by the RTO, the final ACK
 *   TIME-WAIT      2 MSL, retransmitted FIN re-ACKed, RST ignored (RFC 1337),
 *                  reopened by a newer SYN (RFC 6191)
 *   any            close with unread data -> RST, abort -> RST, send after
 *                  shutdown -> EPIPE, counters back to zero
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
    if (x->c) axl_tcp_close(x->c);
    x->c = NULL;
    if (x->l) axl_tcp_listener_close(x->l);
    x->l = NULL;
    fx_teardown(&x->f);
    return 0;
}

static void peer_send(struct tfx *x, uint8_t flags, const char *d)
{
    tfx_data(x, d, d ? (uint32_t)strlen(d) : 0, flags);
}

static void expect(struct tfx *x, uint8_t flags, uint32_t seq, uint32_t ack, struct tseg *r)
{
    assert_int_equal(tf_recv(&x->f, r), 0);
    assert_int_equal(r->flags & ~T_PSH, flags);
    assert_int_equal(r->seq, seq);
    if (flags & T_ACK) assert_int_equal(r->ack, ack);
}

static void test_active_close_to_time_wait(void **state)
{
    struct tfx *x = *state;
    struct tseg r;
    tfx_passive(x, 1, 1, 1);
    struct axl_tcb *t = x->c;
    axl_tcp_close(x->c);
    x->c = NULL;
    fx_poll(&x->f);
    expect(x, T_FIN | T_ACK, x->iss + 1, x->snd_nxt, &r);
    assert_int_equal(t->state, AXL_TCP_FIN_WAIT_1);
    x->rcv_nxt = x->iss + 2;
    peer_send(x, T_ACK, NULL);
    assert_int_equal(t->state, AXL_TCP_FIN_WAIT_2);
    tf_none(&x->f);
    peer_send(x, T_FIN | T_ACK, NULL);
    assert_int_equal(t->state, AXL_TCP_TIME_WAIT);
    expect(x, T_ACK, x->iss + 2, x->snd_nxt, &r);
    assert_int_equal(axl_tcp_conn_count(x->f.s), 1);
    /* 2 MSL = 60 s (MSL 30 s by default). */
    x->f.now += 59 * AXL_NS_PER_S;
    fx_poll(&x->f);
    assert_non_null(tcp_lookup(x->f.s, FX_PEER, TF_PEER_PORT, TF_PORT));
    x->f.now += 2 * AXL_NS_PER_S;
    fx_poll(&x->f);
    assert_null(tcp_lookup(x->f.s, FX_PEER, TF_PEER_PORT, TF_PORT));
    assert_int_equal(axl_tcp_conn_count(x->f.s), 0);
    assert_int_equal(fx_stat(&x->f, "TcpCurrEstab"), 0);
}

static void test_half_close_keeps_receiving(void **state)
{
    struct tfx *x = *state;
    struct tseg r;
    tfx_passive(x, 0, 0, 0);
    assert_int_equal(axl_tcp_send(x->c, "req", 3), 3);
    assert_int_equal(axl_tcp_shutdown(x->c), 0);
    assert_int_equal(axl_tcp_send(x->c, "more", 4), -EPIPE);
    fx_poll(&x->f);
    expect(x, T_ACK, x->iss + 1, x->snd_nxt, &r); /* the data left at once */
    assert_int_equal(r.len, 3);
    expect(x, T_FIN | T_ACK, x->iss + 4, x->snd_nxt, &r); /* then the FIN */
    x->rcv_nxt = x->iss + 5;
    peer_send(x, T_ACK, "response part 1");
    assert_int_equal(x->c->state, AXL_TCP_FIN_WAIT_2);
    peer_send(x, T_ACK | T_FIN, "+2");
    assert_int_equal(x->c->state, AXL_TCP_TIME_WAIT);
    assert_int_equal(x->ev.remote_closed, 1);
    assert_int_equal(x->ev.cleanup, 1); /* both directions done: cleanup(0) */
    assert_int_equal(x->ev.cleanup_err, 0);
    expect(x, T_ACK, x->iss + 5, x->snd_nxt, &r);
    /* The data is still there to read, then end of stream. */
    char buf[64];
    assert_int_equal(axl_tcp_read(x->c, buf, sizeof(buf)), 17);
    assert_memory_equal(buf, "response part 1+2", 17);
    assert_int_equal(axl_tcp_read(x->c, buf, sizeof(buf)), 0);
}

static void test_passive_close_last_ack(void **state)
{
    struct tfx *x = *state;
    struct tseg r;
    tfx_passive(x, 1, 1, 1);
    peer_send(x, T_ACK | T_FIN, "bye");
    assert_int_equal(x->c->state, AXL_TCP_CLOSE_WAIT);
    assert_int_equal(x->ev.remote_closed, 1);
    expect(x, T_ACK, x->iss + 1, x->snd_nxt, &r); /* the FIN is ACKed at once */
    char buf[8];
    assert_int_equal(axl_tcp_read(x->c, buf, sizeof(buf)), 3);
    assert_int_equal(axl_tcp_read(x->c, buf, sizeof(buf)), 0);
    /* A retransmitted FIN in CLOSE-WAIT: just ACKed again. */
    x->snd_nxt -= 1;
    peer_send(x, T_ACK | T_FIN, NULL);
    expect(x, T_ACK, x->iss + 1, x->snd_nxt, &r);
    struct axl_tcb *t = x->c;
    assert_int_equal(axl_tcp_send(x->c, "ok", 2), 2);
    axl_tcp_close(x->c);
    x->c = NULL;
    fx_poll(&x->f);
    assert_int_equal(t->state, AXL_TCP_LAST_ACK);
    expect(x, T_ACK, x->iss + 1, x->snd_nxt, &r);
    assert_int_equal(r.len, 2);
    expect(x, T_FIN | T_ACK, x->iss + 3, x->snd_nxt, &r);
    /* Lost: the RTO sends data and FIN again (go back N). */
    x->f.now += 300 * AXL_NS_PER_MS;
    fx_poll(&x->f);
    expect(x, T_FIN | T_ACK, x->iss + 1, x->snd_nxt, &r);
    assert_int_equal(r.len, 2);
    x->rcv_nxt = x->iss + 4;
    peer_send(x, T_ACK, NULL);
    assert_null(tcp_lookup(x->f.s, FX_PEER, TF_PEER_PORT, TF_PORT));
    tf_none(&x->f);
    assert_int_equal(fx_stat(&x->f, "TcpCurrEstab"), 0);
    assert_int_equal(fx_stat(&x->f, "TcpEstabResets"), 0);
}

static void test_simultaneous_close(void **state)
{
    struct tfx *x = *state;
    struct tseg r;
    tfx_passive(x, 0, 0, 0);
    struct axl_tcb *t = x->c;
    assert_int_equal(axl_tcp_shutdown(x->c), 0);
    fx_poll(&x->f);
    expect(x, T_FIN | T_ACK, x->iss + 1, x->snd_nxt, &r);
    /* The peer's FIN crosses ours (it does not acknowledge ours). */
    peer_send(x, T_ACK | T_FIN, NULL);
    assert_int_equal(t->state, AXL_TCP_CLOSING);
    expect(x, T_ACK, x->iss + 2, x->snd_nxt, &r);
    x->rcv_nxt = x->iss + 2;
    peer_send(x, T_ACK, NULL);
    assert_int_equal(t->state, AXL_TCP_TIME_WAIT);
}

static void test_time_wait_rules(void **state)
{
    struct tfx *x = *state;
    struct tseg r;
    tfx_passive(x, 1, 1, 1);
    struct axl_tcb *t = x->c;
    axl_tcp_close(x->c);
    x->c = NULL;
    fx_poll(&x->f);
    tf_drain(&x->f, NULL);
    x->rcv_nxt = x->iss + 2;
    x->ts++;
    peer_send(x, T_ACK | T_FIN, NULL);
    tf_drain(&x->f, NULL);
    assert_int_equal(t->state, AXL_TCP_TIME_WAIT);
    /* RST: ignored (RFC 1337). */
    x->ts++;
    struct tseg sg = tfx_seg(x, T_RST);
    tf_send(&x->f, &sg);
    tf_none(&x->f);
    assert_int_equal(t->state, AXL_TCP_TIME_WAIT);
    assert_int_equal(fx_stat(&x->f, "DropTcpTimeWaitRst"), 1);
    /* The FIN again (our ACK was lost): ACKed again, 2 MSL restart. */
    x->f.now += 50 * AXL_NS_PER_S;
    x->snd_nxt -= 1;
    x->ts++;
    peer_send(x, T_ACK | T_FIN, NULL);
    expect(x, T_ACK, x->iss + 2, x->snd_nxt, &r);
    x->f.now += 50 * AXL_NS_PER_S; /* 100 s after entering: still there */
    fx_poll(&x->f);
    assert_int_equal(t->state, AXL_TCP_TIME_WAIT);
    /* A new SYN with a newer timestamp reopens the pair (RFC 6191). */
    x->ts += 1000;
    sg = tfx_seg(x, T_SYN);
    sg.seq = x->snd_nxt + 100000;
    sg.ack = 0;
    sg.tsecr = 0;
    tf_send(&x->f, &sg);
    assert_int_equal(fx_stat(&x->f, "TcpTimeWaitReused"), 1);
    assert_int_equal(tf_recv(&x->f, &r), 0);
    assert_int_equal(r.flags, T_SYN | T_ACK);
    assert_true(axl_seq_gt(r.seq, x->iss + 2)); /* beyond the old sequence space */
    struct axl_tcb *n = tcp_lookup(x->f.s, FX_PEER, TF_PEER_PORT, TF_PORT);
    assert_non_null(n);
    assert_int_equal(n->state, AXL_TCP_SYN_RECEIVED);
}

static void test_time_wait_old_syn_not_reused(void **state)
{
    struct tfx *x = *state;
    struct tseg r;
    tfx_passive(x, 1, 1, 1);
    struct axl_tcb *t = x->c;
    axl_tcp_close(x->c);
    x->c = NULL;
    fx_poll(&x->f);
    tf_drain(&x->f, NULL);
    x->rcv_nxt = x->iss + 2;
    x->ts++;
    peer_send(x, T_ACK | T_FIN, NULL);
    tf_drain(&x->f, NULL);
    /* An old timestamp: not a new incarnation. The SYN is in the window: a
     * challenge ACK (RFC 5961 §4.2), the connection stays. */
    x->ts -= 100;
    struct tseg sg = tfx_seg(x, T_SYN);
    sg.ack = 0;
    tf_send(&x->f, &sg);
    assert_int_equal(fx_stat(&x->f, "TcpTimeWaitReused"), 0);
    assert_int_equal(t->state, AXL_TCP_TIME_WAIT);
    assert_int_equal(tf_recv(&x->f, &r), 0);
    assert_int_equal(r.flags, T_ACK);
}

static void test_close_with_unread_data_resets(void **state)
{
    struct tfx *x = *state;
    struct tseg r;
    tfx_passive(x, 0, 0, 0);
    peer_send(x, T_ACK | T_PSH, "unread");
    tf_drain(&x->f, NULL);
    axl_tcp_close(x->c); /* RFC 1122 §4.2.2.13 */
    x->c = NULL;
    fx_poll(&x->f);
    assert_int_equal(tf_recv(&x->f, &r), 0);
    assert_int_equal(r.flags, T_RST);
    assert_int_equal(r.seq, x->iss + 1);
    assert_int_equal(fx_stat(&x->f, "TcpAbortOnClose"), 1);
    assert_null(tcp_lookup(x->f.s, FX_PEER, TF_PEER_PORT, TF_PORT));
    assert_int_equal(axl_tcp_conn_count(x->f.s), 0);
}

static void test_data_after_close_resets(void **state)
{
    struct tfx *x = *state;
    struct tseg r;
    tfx_passive(x, 0, 0, 0);
    axl_tcp_close(x->c);
    x->c = NULL;
    fx_poll(&x->f);
    tf_drain(&x->f, NULL);
    x->rcv_nxt = x->iss + 2;
    peer_send(x, T_ACK, "late data");
    assert_int_equal(tf_recv(&x->f, &r), 0);
    assert_int_equal(r.flags, T_RST);
    assert_int_equal(fx_stat(&x->f, "TcpAbortOnData"), 1);
    assert_null(tcp_lookup(x->f.s, FX_PEER, TF_PEER_PORT, TF_PORT));
}

static void test_fin_wait_2_orphan_timeout(void **state)
{
    struct tfx *x = *state;
    struct tseg r;
    tfx_passive(x, 0, 0, 0);
    axl_tcp_close(x->c);
    x->c = NULL;
    fx_poll(&x->f);
    tf_drain(&x->f, NULL);
    x->rcv_nxt = x->iss + 2;
    peer_send(x, T_ACK, NULL);
    struct axl_tcb *t = tcp_lookup(x->f.s, FX_PEER, TF_PEER_PORT, TF_PORT);
    assert_int_equal(t->state, AXL_TCP_FIN_WAIT_2);
    x->f.now += 59 * AXL_NS_PER_S;
    fx_poll(&x->f);
    tf_none(&x->f);
    x->f.now += 2 * AXL_NS_PER_S;
    fx_poll(&x->f);
    assert_int_equal(tf_recv(&x->f, &r), 0);
    assert_int_equal(r.flags, T_RST);
    assert_null(tcp_lookup(x->f.s, FX_PEER, TF_PEER_PORT, TF_PORT));
}

static void test_abort_sends_rst(void **state)
{
    struct tfx *x = *state;
    struct tseg r;
    tfx_passive(x, 1, 1, 1);
    assert_int_equal(axl_tcp_send(x->c, "x", 1), 1);
    axl_tcp_abort(x->c);
    x->c = NULL;
    fx_poll(&x->f);
    tf_recv(&x->f, &r); /* the data */
    assert_int_equal(tf_recv(&x->f, &r), 0);
    assert_int_equal(r.flags, T_RST);
    assert_true(r.has_ts); /* RFC 7323 §3.2: SHOULD in a RST */
    assert_int_equal(axl_tcp_conn_count(x->f.s), 0);
    assert_int_equal(x->ev.cleanup, 0); /* the handle was given back: no events */
}

static void test_listener_close_resets_unaccepted(void **state)
{
    struct tfx *x = *state;
    struct tseg r;
    assert_int_equal(axl_tcp_listen(x->f.s, TF_PORT, 4, &tev_ops, &x->ev, &x->l), 0);
    struct tseg sg = tfx_seg(x, T_SYN);
    sg.ack = 0;
    tf_send(&x->f, &sg);
    assert_int_equal(tf_recv(&x->f, &r), 0);
    axl_tcp_listener_close(x->l);
    x->l = NULL;
    fx_poll(&x->f);
    assert_int_equal(tf_recv(&x->f, &r), 0);
    assert_int_equal(r.flags, T_RST);
    assert_int_equal(axl_tcp_conn_count(x->f.s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_active_close_to_time_wait, setup, teardown),
        cmocka_unit_test_setup_teardown(test_half_close_keeps_receiving, setup, teardown),
        cmocka_unit_test_setup_teardown(test_passive_close_last_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_simultaneous_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_wait_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_wait_old_syn_not_reused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_with_unread_data_resets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_data_after_close_resets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fin_wait_2_orphan_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_sends_rst, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listener_close_resets_unaccepted, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
