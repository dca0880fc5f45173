/* SPDX-License-Identifier: MIT */
/*
 * test_prepkt.c - pre-packetised objects (net/tcp_prepkt.c): two engines
 * with the same seed run in lock step against the same scripted peer; one
 * sends the bytes with axl_tcp_send_zc (the ordinary segment builder), the
 * other as an object (axl_tcp_send_obj). Every frame they transmit must be
 * byte-identical - Ethernet, IPv4 and TCP headers, both checksums (which
 * tf_recv also verifies with the fixture's naive full-sum reference) and
 * payload - through new data, fast retransmission after a loss (NewReno and
 * SACK), RTO go-back-N retransmission, sequence-number wrap-around, a
 * connection without timestamps, and a tiny MSS (fallback to the bytes).
 * Both variants (PRECOPY, MEMCPY). The counters say which path built them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tcp_fixture.h"

#include "net/tcp_prepkt.h"

#define OBJ_LEN 40000u
static uint8_t obj_bytes[OBJ_LEN];

struct pair {
    struct tfx a, b; /* a: send_zc, b: send_obj */
    struct axl_tcp_obj *o;
    uint32_t start; /* sequence number of the object's first byte */
};

static void fill(void)
{
    uint32_t x = 12345;
    for (uint32_t i = 0; i < OBJ_LEN; i++) {
        x = x * 1103515245u + 12345u;
        obj_bytes[i] = (uint8_t)(x >> 16);
    }
}

static int setup(void **state)
{
    static struct pair p;
    memset(&p, 0, sizeof(p));
    fill();
    tfx_setup(&p.a);
    tfx_setup(&p.b);
    *state = &p;
    return 0;
}

static int teardown(void **state)
{
    struct pair *p = *state;
    tfx_teardown(&p->a);
    tfx_teardown(&p->b);
    if (p->o) axl_tcp_obj_release(p->o); /* already released by the tests */
    return 0;
}

static void pair_open(struct pair *p, int ts, int sack, uint32_t wrap_seq)
{
    tfx_passive(&p->a, ts, sack, 1);
    tfx_passive(&p->b, ts, sack, 1);
    assert_int_equal(p->a.iss, p->b.iss);
    if (wrap_seq) {
        /* Move both send sequence spaces (still unused) close to 2^32. */
        struct axl_tcb *c[2] = {p->a.c, p->b.c};
        struct tfx *x[2] = {&p->a, &p->b};
        for (int i = 0; i < 2; i++) {
            struct axl_tcb *t = c[i];
            t->iss = wrap_seq - 1;
            t->snd_una = t->snd_nxt = t->snd_max = t->snd_wl2 = wrap_seq;
            if (t->flags & TF_SACK_OK) tcp_rec_start(t);
            x[i]->rcv_nxt = wrap_seq;
        }
    }
    p->start = p->a.c->snd_una;
}

/* Take every frame both engines sent; they must be the same bytes. Returns
 * the count; seqs/lens of the TCP segments (data ones) in s[]. */
static int take(struct pair *p, struct tseg *segs, int max)
{
    int n = 0;
    for (;;) {
        int la = fx_collect(&p->a.f);
        int lb = fx_collect(&p->b.f);
        assert_int_equal(la, lb);
        if (la <= 0) break;
        assert_memory_equal(p->a.f.out, p->b.f.out, (size_t)la);
        /* Parse (and check the checksums of) b's frame with the fixture's
         * reference: push it back as the next frame to collect. */
        if (get16(p->b.f.out + 12) != 0x0800) continue;
        const uint8_t *ip = p->b.f.out + 14;
        assert_int_equal(ref_csum(ip, 20, 0), 0);
        uint32_t tl = get16(ip + 2) - 20u;
        const uint8_t *t = ip + 20;
        uint8_t ph[12];
        memcpy(ph, ip + 12, 8);
        ph[8] = 0;
        ph[9] = 6;
        put16(ph + 10, (uint16_t)tl);
        uint16_t c = ref_csum(ph, 12, 0);
        assert_int_equal(ref_csum(t, tl, (uint16_t)~c), 0);
        uint32_t hl = (uint32_t)(t[12] >> 4) * 4;
        assert_true(n < max);
        memset(&segs[n], 0, sizeof(segs[n]));
        segs[n].seq = get32(t + 4);
        segs[n].flags = t[13];
        segs[n].len = tl - hl;
        /* The payload is the object's bytes at that offset. */
        uint32_t off = segs[n].seq - p->start;
        assert_true(off + segs[n].len <= OBJ_LEN);
        assert_memory_equal(t + hl, obj_bytes + off, segs[n].len);
        n++;
    }
    return n;
}

/* The same peer segment to both engines. */
static void both_ack(struct pair *p, uint32_t ack, int nsack, uint32_t sl, uint32_t sr)
{
    struct tfx *x[2] = {&p->a, &p->b};
    for (int i = 0; i < 2; i++) {
        x[i]->rcv_nxt = ack;
        struct tseg sg = tfx_seg(x[i], T_ACK);
        x[i]->ts++;
        sg.tsval = x[i]->ts;
        if (nsack) {
            sg.nsack = 1;
            sg.sack[0][0] = sl;
            sg.sack[0][1] = sr;
        }
        tf_send(&x[i]->f, &sg);
    }
}

static void both_advance(struct pair *p, uint64_t ns)
{
    fx_advance(&p->a.f, ns);
    fx_advance(&p->b.f, ns);
}

static void both_send(struct pair *p, enum axl_tcp_obj_variant v)
{
    assert_int_equal(axl_tcp_setopt(p->a.c, AXL_TCP_OPT_NODELAY, 1), 0);
    assert_int_equal(axl_tcp_setopt(p->b.c, AXL_TCP_OPT_NODELAY, 1), 0);
    assert_int_equal(axl_tcp_obj_create(p->b.f.s, obj_bytes, OBJ_LEN, v, &p->o), 0);
    assert_int_equal(axl_tcp_obj_len(p->o), OBJ_LEN);
    assert_int_equal(axl_tcp_send_zc(p->a.c, obj_bytes, OBJ_LEN, (void *)0x77), (int)OBJ_LEN);
    assert_int_equal(axl_tcp_send_obj(p->b.c, p->o, (void *)0x77), (int)OBJ_LEN);
    /* The creator may let go at once: the send queue holds its own reference. */
    axl_tcp_obj_release(p->o);
    p->o = NULL;
    fx_poll(&p->a.f);
    fx_poll(&p->b.f);
}

/* Scripted peer: ACK everything each round; in round `lose_round` the
 * segment at index 1 is lost (dupacks, SACKed when sack) and, with rto, the
 * whole round is lost and the retransmission timer fires instead. */
static void run(struct pair *p, int lose_round, int rto, int sack)
{
    static struct tseg segs[256];
    uint32_t end = p->start + OBJ_LEN;
    for (int round = 0; round < 200; round++) {
        int n = take(p, segs, 256);
        if (p->a.c->snd_una == end) break;
        if (n == 0) {
            both_advance(p, 300 * AXL_NS_PER_MS); /* timers */
            continue;
        }
        uint32_t hi = segs[0].seq;
        for (int i = 0; i < n; i++)
            if (axl_seq_gt(segs[i].seq + segs[i].len, hi)) hi = segs[i].seq + segs[i].len;
        if (round == lose_round && rto) {
            both_advance(p, 1500 * AXL_NS_PER_MS); /* nothing arrives: RTO */
            continue;
        }
        if (round == lose_round && n >= 5) {
            uint32_t hole = segs[1].seq;
            for (int i = 2; i < n; i++)
                both_ack(p, hole, sack, segs[2].seq, segs[i].seq + segs[i].len);
            continue;
        }
        both_ack(p, hi, 0, 0, 0);
    }
    assert_int_equal(p->a.c->snd_una, end);
    assert_int_equal(p->b.c->snd_una, end);
    assert_int_equal(p->a.ev.zc, 1);
    assert_int_equal(p->b.ev.zc, 1);
    assert_ptr_equal(p->b.ev.zc_cookie[0], (void *)0x77);
    assert_int_equal(p->b.c->sq.bytes, 0);
}

static void check_templates(struct pair *p, int expect_rexmit)
{
    assert_true(fx_stat(&p->b.f, "TcpObjSegsTemplate") >= (int64_t)(OBJ_LEN / 1448));
    assert_int_equal(fx_stat(&p->b.f, "TcpObjSegsFallback"), 0);
    assert_int_equal(fx_stat(&p->a.f, "TcpObjSegsTemplate"), 0);
    if (expect_rexmit) assert_true(fx_stat(&p->b.f, "TcpRetransSegs") > 0);
    assert_int_equal(fx_stat(&p->a.f, "TcpRetransSegs"), fx_stat(&p->b.f, "TcpRetransSegs"));
}

static void test_prepkt_identical_memcpy(void **state)
{
    struct pair *p = *state;
    pair_open(p, 1, 1, 0);
    both_send(p, AXL_TCP_OBJ_MEMCPY);
    run(p, -1, 0, 1);
    check_templates(p, 0);
    assert_int_equal(fx_stat(&p->b.f, "TcpObjSegsRebuilt"), 0);
}

static void test_prepkt_identical_precopy(void **state)
{
    struct pair *p = *state;
    pair_open(p, 1, 1, 0);
    both_send(p, AXL_TCP_OBJ_PRECOPY);
    run(p, -1, 0, 1);
    check_templates(p, 0);
}

static void test_prepkt_sack_loss(void **state)
{
    struct pair *p = *state;
    pair_open(p, 1, 1, 0);
    both_send(p, AXL_TCP_OBJ_MEMCPY);
    run(p, 1, 0, 1);
    check_templates(p, 1);
}

static void test_prepkt_newreno_loss_precopy(void **state)
{
    struct pair *p = *state;
    pair_open(p, 1, 0, 0);
    both_send(p, AXL_TCP_OBJ_PRECOPY);
    run(p, 1, 0, 0);
    check_templates(p, 1);
}

static void test_prepkt_rto(void **state)
{
    struct pair *p = *state;
    /* Without SACK: no RACK-TLP probe (RFC 8985 needs SACK) recovers the
     * tail first, so the retransmission timer does. */
    pair_open(p, 1, 0, 0);
    both_send(p, AXL_TCP_OBJ_MEMCPY);
    run(p, 2, 1, 0);
    check_templates(p, 1);
    assert_true(fx_stat(&p->b.f, "TcpTimeouts") > 0);
}

static void test_prepkt_wraparound(void **state)
{
    struct pair *p = *state;
    pair_open(p, 1, 1, 0xffffc000u); /* the object crosses 2^32 */
    both_send(p, AXL_TCP_OBJ_PRECOPY);
    run(p, 1, 0, 1);
    assert_true(p->b.c->snd_una < 0x10000u); /* wrapped */
    check_templates(p, 1);
}

static void test_prepkt_no_timestamps(void **state)
{
    struct pair *p = *state;
    /* 20-byte TCP headers: the template's option words are taken out by
     * the incremental update; segments keep the templates' 1448 bytes (an
     * ordinary sender would cut 1460, so the frames are checked on their own:
     * checksums by the reference, payload against the object). */
    pair_open(p, 0, 0, 0);
    assert_int_equal(axl_tcp_obj_create(p->b.f.s, obj_bytes, OBJ_LEN, AXL_TCP_OBJ_MEMCPY, &p->o),
                     0);
    assert_int_equal(axl_tcp_setopt(p->b.c, AXL_TCP_OPT_NODELAY, 1), 0);
    assert_int_equal(axl_tcp_send_obj(p->b.c, p->o, (void *)0x77), (int)OBJ_LEN);
    axl_tcp_obj_release(p->o);
    p->o = NULL;
    fx_poll(&p->b.f);
    struct tseg r;
    uint32_t seq = p->b.c->snd_una, end = seq + OBJ_LEN;
    for (int round = 0; round < 100 && seq != end; round++) {
        int got = 0;
        while (tf_recv(&p->b.f, &r) == 0) { /* checksums verified by the reference */
            assert_false(r.has_ts);
            assert_int_equal(r.seq, seq);
            assert_int_equal(r.len, AXL_MIN(1448u, end - seq));
            assert_memory_equal(r.payload, obj_bytes + (seq - p->start), r.len);
            seq += r.len;
            got++;
        }
        assert_true(got > 0);
        p->b.rcv_nxt = seq;
        struct tseg sg = tfx_seg(&p->b, T_ACK);
        tf_send(&p->b.f, &sg);
    }
    assert_int_equal(seq, end);
    assert_int_equal(fx_stat(&p->b.f, "TcpObjSegsTemplate"), (OBJ_LEN + 1447) / 1448);
    assert_int_equal(p->b.ev.zc, 1);
}

static void test_prepkt_tiny_mss(void **state)
{
    struct pair *p = *state;
    pair_open(p, 1, 1, 0);
    p->a.c->snd_mss = 536; /* as if the peer had announced MSS 536 */
    p->b.c->snd_mss = 536;
    both_send(p, AXL_TCP_OBJ_PRECOPY);
    run(p, 1, 0, 1);
    assert_int_equal(fx_stat(&p->b.f, "TcpObjSegsTemplate"), 0);
    assert_true(fx_stat(&p->b.f, "TcpObjSegsFallback") >= (int64_t)(OBJ_LEN / 524));
}

static void test_prepkt_after_copy_bytes(void **state)
{
    struct pair *p = *state;
    pair_open(p, 1, 1, 0);
    /* 100 copied bytes, then the object: the first segment stops where the
     * object starts, and the object's segments then line up with the
     * templates. */
    assert_int_equal(axl_tcp_setopt(p->b.c, AXL_TCP_OPT_NODELAY, 1), 0);
    assert_int_equal(axl_tcp_obj_create(p->b.f.s, obj_bytes, 5000, AXL_TCP_OBJ_MEMCPY, &p->o), 0);
    assert_int_equal(axl_tcp_send(p->b.c, "0123456789", 10), 10);
    assert_int_equal(axl_tcp_send_obj(p->b.c, p->o, NULL), 5000);
    fx_poll(&p->b.f);
    struct tseg r;
    assert_int_equal(tf_recv(&p->b.f, &r), 0);
    assert_int_equal(r.len, 10);
    uint32_t off = 0;
    while (tf_recv(&p->b.f, &r) == 0) {
        assert_int_equal(r.len, AXL_MIN(1448u, 5000 - off));
        assert_memory_equal(r.payload, obj_bytes + off, r.len);
        off += r.len;
    }
    assert_int_equal(off, 5000);
    assert_int_equal(fx_stat(&p->b.f, "TcpObjSegsTemplate"), 4);
    /* Bad uses. */
    struct axl_tcp_obj *o2;
    assert_int_equal(axl_tcp_obj_create(p->b.f.s, obj_bytes, 0, AXL_TCP_OBJ_MEMCPY, &o2), AXL_EINVAL);
    assert_int_equal(axl_tcp_obj_create(p->b.f.s, obj_bytes, 10, 7, &o2), AXL_EINVAL);
    assert_int_equal(axl_tcp_send_obj(p->a.c, p->o, NULL), AXL_EINVAL); /* another engine */
    axl_tcp_obj_release(p->o);
    p->o = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_prepkt_identical_memcpy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prepkt_identical_precopy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prepkt_sack_loss, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prepkt_newreno_loss_precopy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prepkt_rto, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prepkt_wraparound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prepkt_no_timestamps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prepkt_tiny_mss, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prepkt_after_copy_bytes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
