/* SPDX-License-Identifier: MIT */
/*
 * test_tcp_icmp.c - ICMP errors about our TCP segments (net/tcp_icmp.c):
 *   PMTUD    fragmentation-needed lowers the send MSS and resends what is in
 *            flight at once in the new size (RFC 1191 §6), SACK and
 *            non-SACK; MTU 0 uses the plateau table (RFC 1191 §5); tiny
 *            MTUs are floored; increases are ignored
 *   validate a quote whose sequence number is not in flight, or of no
 *            connection, changes nothing (RFC 5927 §4.1)
 *   errors   port unreachable aborts SYN-SENT with ECONNREFUSED (hard,
 *            RFC 1122 §4.2.3.9); host unreachable in SYN-SENT and port
 *            unreachable in ESTABLISHED are soft (RFC 5461): kept, reported
 *            only when the connection times out
 * The messages quote the engine's real segments byte for byte.
 */
#include "tcp_fixture.h"

#include <errno.h>

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
    if (x->c) axl_tcp_abort(x->c);
    x->c = NULL;
    if (x->l) axl_tcp_listener_close(x->l);
    x->l = NULL;
    fx_teardown(&x->f);
    return 0;
}

static uint8_t pattern[1 << 16];

static void fill_pattern(void)
{
    for (size_t i = 0; i < sizeof(pattern); i++)
        pattern[i] = (uint8_t)(i * 13 + (i >> 9));
}

/* The IP datagram of the last frame the engine sent (after tf_recv). */
struct quote {
    uint8_t b[64];
    size_t n;
};

static void take_quote(struct tfx *x, struct quote *q)
{
    assert_true(x->f.outlen >= 14 + 48);
    q->n = 48; /* IP header + 28 bytes of TCP: more than RFC 792's 8 */
    memcpy(q->b, x->f.out + 14, q->n);
}

/* An ICMP error from a router (198.18.0.254 via the peer's MAC) quoting q. */
static void send_icmp(struct tfx *x, uint8_t type, uint8_t code, uint32_t rest,
                      const struct quote *q)
{
    uint8_t b[256];
    size_t o = fx_eth(b, fx_mac_us, fx_mac_peer, 0x0800);
    uint8_t *ic = b + o + 20;
    ic[0] = type;
    ic[1] = code;
    put16(ic + 2, 0);
    put32(ic + 4, rest);
    memcpy(ic + 8, q->b, q->n);
    put16(ic + 2, ref_csum(ic, 8 + q->n, 0));
    fx_ip(b + o, 0xc61200feu, FX_US, 1, (uint16_t)(8 + q->n), 0x3333, 0);
    fx_inject(&x->f, b, o + 20 + 8 + q->n);
    fx_poll(&x->f);
}

/* Established with 5000 bytes in flight (four segments); the quote of the
 * first. Returns the send MSS before. */
static void flight_of_four(struct tfx *x, int sack, struct quote *q)
{
    struct tseg r;
    tfx_passive(x, 1, sack, 1);
    fill_pattern();
    assert_int_equal(axl_tcp_send(x->c, pattern, 5000), 5000);
    fx_poll(&x->f);
    assert_int_equal(tf_recv(&x->f, &r), 0);
    assert_int_equal(r.seq, x->iss + 1);
    assert_int_equal(r.len, 1448);
    take_quote(x, q);
    assert_int_equal(tf_drain(&x->f, NULL), 3);
}

/* Everything the engine sends now: contiguous segments from seq, none larger
 * than max, with the pattern's bytes; returns the end. */
static uint32_t expect_resend(struct tfx *x, uint32_t seq, uint32_t max, uint32_t end)
{
    struct tseg r;
    int n = 0;
    while (tf_recv(&x->f, &r) == 0) {
        assert_int_equal(r.seq, seq);
        assert_true(r.len > 0 && r.len <= max);
        assert_memory_equal(r.payload, pattern + (seq - x->iss - 1), r.len);
        seq += r.len;
        n++;
    }
    assert_true(n > 0);
    assert_true(axl_seq_le(seq, end));
    return seq;
}

static void test_pmtu_lowers_mss_and_resends_sack(void **state)
{
    struct tfx *x = *state;
    struct quote q;
    flight_of_four(x, 1, &q);
    uint64_t retrans = x->c->retrans;
    send_icmp(x, 3, 4, 1000, &q); /* next-hop MTU 1000 */
    assert_int_equal(x->c->snd_mss, 960);
    assert_int_equal(fx_stat(&x->f, "TcpPmtuUpdates"), 1);
    assert_int_equal(fx_stat(&x->f, "TcpIcmpSoftErrors"), 0);
    /* 960 less 12 bytes of timestamps per segment, from SND.UNA on. */
    uint32_t end = x->iss + 1 + 5000;
    uint32_t seq = expect_resend(x, x->iss + 1, 948, end);
    assert_true(x->c->retrans > retrans);
    /* The peer acknowledges; whatever remains goes in the new size too. */
    struct tseg sg;
    x->rcv_nxt = seq;
    sg = tfx_seg(x, T_ACK);
    tf_send(&x->f, &sg);
    if (seq != end) seq = expect_resend(x, seq, 948, end);
    x->rcv_nxt = seq;
    sg = tfx_seg(x, T_ACK);
    tf_send(&x->f, &sg);
    if (seq != end) seq = expect_resend(x, seq, 948, end);
    assert_int_equal(seq, end);
    /* New data is segmented by the new MSS. */
    assert_int_equal(axl_tcp_send(x->c, pattern + 5000, 3000), 3000);
    fx_poll(&x->f);
    x->rcv_nxt = end;
    sg = tfx_seg(x, T_ACK);
    tf_send(&x->f, &sg);
    expect_resend(x, end, 948, end + 3000);
    /* congestion control was not told of a loss */
    assert_int_equal(fx_stat(&x->f, "TcpTimeouts"), 0);
    assert_int_equal(fx_stat(&x->f, "TcpFastRetrans"), 0);
}

static void test_pmtu_go_back_n_without_sack(void **state)
{
    struct tfx *x = *state;
    struct quote q;
    flight_of_four(x, 0, &q);
    send_icmp(x, 3, 4, 1280, &q);
    assert_int_equal(x->c->snd_mss, 1240);
    uint32_t end = x->iss + 1 + 5000;
    uint32_t seq = expect_resend(x, x->iss + 1, 1228, end);
    /* Four full segments of the window; the 88-byte tail waits for their
     * ACK (Nagle with Minshall: the first small tail is unacknowledged). */
    assert_int_equal(seq, end - 88);
    x->rcv_nxt = seq;
    struct tseg sg = tfx_seg(x, T_ACK);
    tf_send(&x->f, &sg);
    assert_int_equal(expect_resend(x, seq, 1228, end), end);
}

static void test_pmtu_plateau_floor_and_increase(void **state)
{
    struct tfx *x = *state;
    struct quote q;
    /* The plateau table and the floor, directly. */
    assert_int_equal(tcp_pmtu_from_icmp(0, 1500), 1492);
    assert_int_equal(tcp_pmtu_from_icmp(0, 1492), 1006);
    assert_int_equal(tcp_pmtu_from_icmp(0, 9000), 8166);
    assert_int_equal(tcp_pmtu_from_icmp(0, 60), AXL_TCP_PMTU_MIN);
    assert_int_equal(tcp_pmtu_from_icmp(0xdead0000u | 1400, 1500), 1400);
    assert_int_equal(tcp_pmtu_from_icmp(100, 1500), AXL_TCP_PMTU_MIN);

    flight_of_four(x, 1, &q);
    /* An MTU at or above the current one changes nothing. */
    send_icmp(x, 3, 4, 1500, &q);
    assert_int_equal(x->c->snd_mss, 1460);
    assert_int_equal(fx_stat(&x->f, "DropTcpIcmpPmtu"), 1);
    tf_none(&x->f);
    /* MTU 0 (an old router): the plateau below the quoted 1500 bytes. */
    send_icmp(x, 3, 4, 0, &q);
    assert_int_equal(x->c->snd_mss, 1452);
    tf_drain(&x->f, NULL);
    /* A forged tiny MTU is floored: MSS 512. */
    send_icmp(x, 3, 4, 68, &q);
    assert_int_equal(x->c->snd_mss, AXL_TCP_PMTU_MIN - 40);
    assert_int_equal(fx_stat(&x->f, "TcpPmtuUpdates"), 2);
}

static void test_icmp_quote_not_in_flight_is_ignored(void **state)
{
    struct tfx *x = *state;
    struct quote q, bad;
    flight_of_four(x, 1, &q);
    /* Sequence number before SND.UNA... */
    bad = q;
    put32(bad.b + 20 + 4, x->iss - 5000);
    send_icmp(x, 3, 4, 576, &bad);
    /* ... and at SND.MAX (never sent). */
    put32(bad.b + 20 + 4, x->iss + 1 + 5000);
    send_icmp(x, 3, 3, 0, &bad);
    assert_int_equal(fx_stat(&x->f, "DropTcpIcmpOutOfWindow"), 2);
    assert_int_equal(x->c->snd_mss, 1460);
    assert_int_equal(x->c->soft_err, 0);
    tf_none(&x->f);
    /* A quote of no connection (other port). */
    bad = q;
    put16(bad.b + 20, 1234);
    send_icmp(x, 3, 3, 0, &bad);
    assert_int_equal(fx_stat(&x->f, "DropTcpIcmpNoConn"), 1);
    /* A quote of someone else's datagram (source not us): icmp.c refuses it. */
    bad = q;
    put32(bad.b + 12, FX_PEER3);
    send_icmp(x, 3, 3, 0, &bad);
    assert_int_equal(fx_stat(&x->f, "DropIcmpBadQuote"), 1);
    assert_int_equal(x->c->state, AXL_TCP_ESTABLISHED);
    tf_none(&x->f);
}

static void test_established_port_unreachable_is_soft(void **state)
{
    struct tfx *x = *state;
    struct quote q;
    flight_of_four(x, 1, &q);
    send_icmp(x, 3, 3, 0, &q);
    assert_int_equal(x->c->state, AXL_TCP_ESTABLISHED);
    assert_int_equal(x->c->soft_err, -ECONNREFUSED);
    assert_int_equal(fx_stat(&x->f, "TcpIcmpSoftErrors"), 1);
    assert_int_equal(x->ev.cleanup, 0);
    /* Time exceeded is soft too and replaces it. */
    send_icmp(x, 11, 0, 0, &q);
    assert_int_equal(x->c->soft_err, AXL_EHOSTUNREACH);
    assert_int_equal(x->c->state, AXL_TCP_ESTABLISHED);
    /* The peer answers: data flows on. */
    struct tseg sg;
    x->rcv_nxt = x->iss + 1 + 5000;
    sg = tfx_seg(x, T_ACK);
    tf_send(&x->f, &sg);
    assert_int_equal(x->c->sq.bytes, 0);
}

/* Active open to the peer; returns the SYN's quote. */
static void syn_sent(struct tfx *x, struct quote *q)
{
    struct tseg r;
    assert_int_equal(axl_tcp_connect(x->f.s, FX_PEER, 80, 0, &tev_ops, &x->ev, &x->c), 0);
    fx_poll(&x->f);
    assert_int_equal(tf_recv(&x->f, &r), 0);
    assert_int_equal(r.flags, T_SYN);
    x->iss = r.seq;
    assert_true(x->f.outlen >= 14 + 40);
    q->n = 40; /* IP header + 20 bytes of TCP */
    memcpy(q->b, x->f.out + 14, q->n);
    tf_none(&x->f);
}

static void test_syn_sent_port_unreachable_aborts(void **state)
{
    struct tfx *x = *state;
    struct quote q, bad;
    syn_sent(x, &q);
    /* A quote with a wrong sequence number is ignored (RFC 5927 §4.1). */
    bad = q;
    put32(bad.b + 24, x->iss + 1);
    send_icmp(x, 3, 3, 0, &bad);
    assert_int_equal(x->c->state, AXL_TCP_SYN_SENT);
    assert_int_equal(fx_stat(&x->f, "DropTcpIcmpOutOfWindow"), 1);
    /* The real one: connect fails with ECONNREFUSED at once. */
    send_icmp(x, 3, 3, 0, &q);
    assert_int_equal(x->ev.cleanup, 1);
    assert_int_equal(x->ev.cleanup_err, -ECONNREFUSED);
    assert_int_equal(x->ev.connected, 0);
    assert_int_equal(fx_stat(&x->f, "TcpIcmpHardAborts"), 1);
    assert_int_equal(axl_tcp_send(x->c, "x", 1), -ECONNREFUSED);
    tf_none(&x->f);
}

static void test_syn_sent_host_unreachable_is_soft(void **state)
{
    struct tfx *x = *state;
    struct quote q;
    syn_sent(x, &q);
    send_icmp(x, 3, 1, 0, &q);
    assert_int_equal(x->c->state, AXL_TCP_SYN_SENT);
    assert_int_equal(x->c->soft_err, AXL_EHOSTUNREACH);
    assert_int_equal(x->ev.cleanup, 0);
    /* The SYN is retransmitted on its timer as usual (1 s). */
    assert_true(tf_step_until_sent(&x->f, x->f.now, 1100) != 0);
    struct tseg r;
    assert_int_equal(tf_recv(&x->f, &r), 0);
    assert_int_equal(r.flags, T_SYN);
    assert_int_equal(r.seq, x->iss);
    /* When the connect finally times out, the soft error is what it reports
     * (RFC 1122 §4.2.3.9). */
    for (int i = 0; i < 200 && !x->ev.cleanup; i++) {
        fx_advance(&x->f, AXL_NS_PER_S);
        tf_drain(&x->f, NULL);
    }
    assert_int_equal(x->ev.cleanup, 1);
    assert_int_equal(x->ev.cleanup_err, AXL_EHOSTUNREACH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pmtu_lowers_mss_and_resends_sack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pmtu_go_back_n_without_sack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pmtu_plateau_floor_and_increase, setup, teardown),
        cmocka_unit_test_setup_teardown(test_icmp_quote_not_in_flight_is_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_established_port_unreachable_is_soft, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_syn_sent_port_unreachable_aborts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syn_sent_host_unreachable_is_soft, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
