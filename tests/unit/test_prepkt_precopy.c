/* SPDX-License-Identifier: MIT */
/*
 * test_prepkt_precopy.c - the PRECOPY variant of pre-packetised objects
 * (net/tcp_prepkt.c) and the held/lent buffers under it (core/pool.h).
 *
 * Two engines with the same seed run in lock step against the same
 * scripted peer, as in test_prepkt.c: one sends with axl_tcp_send_zc, the
 * other the object. Their mem ports defer TX completion (memport txdefer,
 * as AF_XDP keeps a TX buffer until its completion): a frame is read by the
 * "device" only when the test completes it, so a ready frame rewritten
 * while still lent would show in the bytes collected. Checked:
 *   - frames byte-identical to send_zc's while ready frames are reused
 *     (retransmissions from the same frames, incremental checksums);
 *   - a frame is reused only once it is back: a retransmission while the
 *     first copy is in flight gets a second frame; after PP_KMAX (4) the
 *     send is built as MEMCPY (counted "copied"), still byte-identical;
 *   - an object freed while its frames are lent: the frames are recycled by
 *     the port's completion, not before, and were not touched;
 *   - a connection without timestamps (20-byte headers in front of the same
 *     payload);
 *   - the shm port's free paths: a held frame comes back at once when the
 *     wire is down, after a delay impairment, and its bytes are not changed
 *     by a corruption impairment (the copy is corrupted).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tcp_fixture.h"

#include "core/clock.h"
#include "net/tcp_prepkt.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define OBJ_LEN 40000u
#define NSEG ((OBJ_LEN + 1447u) / 1448u)
static uint8_t obj_bytes[OBJ_LEN];

struct pair {
    struct tfx a, b; /* a: send_zc, b: send_obj */
    struct axl_tcp_obj *o;
    uint32_t start;
};

static void fill(void)
{
    uint32_t x = 777;
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
    if (p->o) axl_tcp_obj_release(p->o);
    p->o = NULL;
    tfx_teardown(&p->a);
    tfx_teardown(&p->b);
    return 0;
}

static struct axl_pool *bpool(struct pair *p)
{
    return &p->b.f.pool;
}

static struct axl_tcp_obj_stats ostats(struct pair *p)
{
    struct axl_tcp_obj_stats st;
    axl_tcp_obj_get_stats(p->o, &st);
    return st;
}

/* Open both connections (timestamps, SACK), then defer TX completion. */
static void pair_open(struct pair *p, int ts, int sack)
{
    tfx_passive(&p->a, ts, sack, 1);
    tfx_passive(&p->b, ts, sack, 1);
    assert_int_equal(p->a.iss, p->b.iss);
    p->start = p->a.c->snd_una;
    axl_memport_set_tx_defer(&p->a.f.port, 1);
    axl_memport_set_tx_defer(&p->b.f.port, 1);
}

/* Queue the object on b (the creator keeps its reference: p->o) and the
 * same bytes with send_zc on a. */
static void both_send(struct pair *p)
{
    assert_int_equal(axl_tcp_setopt(p->a.c, AXL_TCP_OPT_NODELAY, 1), 0);
    assert_int_equal(axl_tcp_setopt(p->b.c, AXL_TCP_OPT_NODELAY, 1), 0);
    assert_int_equal(
        axl_tcp_obj_create(p->b.f.s, obj_bytes, OBJ_LEN, AXL_TCP_OBJ_PRECOPY, &p->o), 0);
    assert_int_equal(axl_tcp_send_zc(p->a.c, obj_bytes, OBJ_LEN, (void *)0x77), (int)OBJ_LEN);
    assert_int_equal(axl_tcp_send_obj(p->b.c, p->o, (void *)0x77), (int)OBJ_LEN);
    fx_poll(&p->a.f);
    fx_poll(&p->b.f);
}

/* The device reads and completes everything both engines queued. */
static void both_complete(struct pair *p)
{
    uint32_t na = axl_memport_tx_deferred(&p->a.f.port);
    assert_int_equal(na, axl_memport_tx_deferred(&p->b.f.port));
    assert_int_equal(axl_memport_complete(&p->a.f.port, UINT32_MAX), na);
    assert_int_equal(axl_memport_complete(&p->b.f.port, UINT32_MAX), na);
}

/* Complete and take every frame; both engines' must be the same bytes, the
 * checksums right (the fixture's reference) and the payload the object's.
 * Returns the number of TCP data segments; their seq/len in segs. */
static int take(struct pair *p, struct tseg *segs, int max)
{
    int n = 0;
    both_complete(p);
    for (;;) {
        int la = fx_collect(&p->a.f);
        int lb = fx_collect(&p->b.f);
        assert_int_equal(la, lb);
        if (la <= 0) break;
        assert_memory_equal(p->a.f.out, p->b.f.out, (size_t)la);
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
        if (tl == hl) continue; /* no payload (an ACK, a RST) */
        assert_true(n < max);
        memset(&segs[n], 0, sizeof(segs[n]));
        segs[n].seq = get32(t + 4);
        segs[n].len = tl - hl;
        uint32_t off = segs[n].seq - p->start;
        assert_true(off + segs[n].len <= OBJ_LEN);
        assert_memory_equal(t + hl, obj_bytes + off, segs[n].len);
        n++;
    }
    return n;
}

static void both_ack(struct pair *p, uint32_t ack)
{
    struct tfx *x[2] = {&p->a, &p->b};
    for (int i = 0; i < 2; i++) {
        x[i]->rcv_nxt = ack;
        struct tseg sg = tfx_seg(x[i], T_ACK);
        x[i]->ts++;
        sg.tsval = x[i]->ts;
        tf_send(&x[i]->f, &sg);
    }
}

static void both_advance(struct pair *p, uint64_t ns)
{
    fx_advance(&p->a.f, ns);
    fx_advance(&p->b.f, ns);
}

/* ACK all each round until the object is acknowledged. */
static void run_to_end(struct pair *p)
{
    static struct tseg segs[512];
    uint32_t end = p->start + OBJ_LEN;
    for (int round = 0; round < 200 && p->a.c->snd_una != end; round++) {
        int n = take(p, segs, 512);
        if (n == 0) {
            both_advance(p, 300 * AXL_NS_PER_MS);
            continue;
        }
        uint32_t hi = segs[0].seq;
        for (int i = 0; i < n; i++)
            if (axl_seq_gt(segs[i].seq + segs[i].len, hi)) hi = segs[i].seq + segs[i].len;
        both_ack(p, hi);
    }
    take(p, segs, 512);
    assert_int_equal(p->a.c->snd_una, end);
    assert_int_equal(p->b.c->snd_una, end);
    assert_int_equal(p->a.ev.zc, p->b.ev.zc);
    assert_true(p->b.ev.zc >= 1);
}

/* Frames go out lent and come back on completion; the second round of
 * sends reuses them; everything byte-identical to send_zc. */
static void test_precopy_identical_and_returned(void **state)
{
    struct pair *p = *state;
    pair_open(p, 1, 1);
    both_send(p);
    struct axl_tcp_obj_stats st = ostats(p);
    uint32_t inflight = axl_memport_tx_deferred(&p->b.f.port);
    assert_true(inflight >= 2);
    assert_int_equal(st.lent, inflight);
    assert_int_equal(st.built, inflight); /* one frame per segment sent */
    assert_int_equal(st.frames_lent, inflight);
    assert_int_equal(bpool(p)->nlent, inflight);
    run_to_end(p);
    st = ostats(p);
    assert_int_equal(st.frames_lent, 0);
    assert_int_equal(bpool(p)->nlent, 0);
    assert_int_equal(st.built, NSEG);
    assert_int_equal(st.frames, NSEG);
    assert_int_equal(st.copied, 0);
    assert_int_equal(st.lent, (uint64_t)fx_stat(&p->b.f, "TcpObjSegsTemplate"));
    assert_int_equal(bpool(p)->lend_returns, st.lent);

    /* The same object again on the same connection: every frame is back,
     * so nothing is built and nothing copied. */
    uint32_t start2 = p->b.c->snd_nxt;
    assert_int_equal(axl_tcp_send_zc(p->a.c, obj_bytes, OBJ_LEN, (void *)0x78), (int)OBJ_LEN);
    assert_int_equal(axl_tcp_send_obj(p->b.c, p->o, (void *)0x78), (int)OBJ_LEN);
    fx_poll(&p->a.f);
    fx_poll(&p->b.f);
    p->start = start2;
    run_to_end(p);
    st = ostats(p);
    assert_int_equal(st.built, NSEG);
    assert_int_equal(st.copied, 0);
    assert_int_equal(st.lent, 2 * NSEG);
    /* The creator lets go: every frame goes back to the pool. */
    uint32_t held = bpool(p)->nheld;
    assert_int_equal(held, NSEG);
    axl_tcp_obj_release(p->o);
    p->o = NULL;
    assert_int_equal(bpool(p)->nheld, 0);
}

/* Retransmissions while the first copies are still in flight (no
 * completion): each gets a new frame up to 4 per segment, then MEMCPY. */
static void test_precopy_reuse_only_when_back(void **state)
{
    struct pair *p = *state;
    pair_open(p, 1, 0); /* no SACK, so no RACK-TLP probe: only the RTO resends */
    both_send(p);
    uint32_t first = axl_memport_tx_deferred(&p->b.f.port);
    /* Nothing completes: the RTO fires again and again (backoff 1, 2, 4,
     * 8, 16 s), each time resending the first segment. */
    uint64_t wait = 1100 * AXL_NS_PER_MS;
    for (int i = 0; i < 5; i++) {
        both_advance(p, wait);
        wait *= 2;
    }
    int64_t rexmit = fx_stat(&p->b.f, "TcpRetransSegs");
    assert_int_equal(rexmit, 5);
    assert_int_equal(fx_stat(&p->a.f, "TcpRetransSegs"), 5);
    struct axl_tcp_obj_stats st = ostats(p);
    assert_int_equal(axl_memport_tx_deferred(&p->b.f.port), first + 5);
    assert_int_equal(st.built, first + 3); /* segment 0: frames 2, 3, 4 */
    assert_int_equal(st.copied, 2);        /* the 5th and 6th send of it */
    assert_int_equal(st.frames_lent, first + 3);
    /* Now the device reads everything: the bytes of the first sends were
     * not rewritten by the later ones (same as send_zc's), and the frames
     * are all back. */
    static struct tseg segs[64];
    int n = take(p, segs, 64);
    assert_int_equal(n, (int)first + 5);
    for (int i = (int)first; i < n; i++)
        assert_int_equal(segs[i].seq, p->start); /* the retransmissions */
    st = ostats(p);
    assert_int_equal(st.frames_lent, 0);
    assert_int_equal(bpool(p)->nlent, 0);
    /* The next send of segment 0 takes a returned frame. */
    run_to_end(p);
    st = ostats(p);
    assert_int_equal(st.copied, 2);
    assert_int_equal(st.built, NSEG + 3);
}

/* The object goes while its frames are in flight. */
static void test_precopy_free_while_lent(void **state)
{
    struct pair *p = *state;
    pair_open(p, 1, 1);
    both_send(p);
    uint32_t inflight = axl_memport_tx_deferred(&p->b.f.port);
    assert_true(inflight >= 2);
    uint32_t used = axl_pool_in_use(bpool(p));
    /* The creator lets go, then the connection is aborted: the send queue
     * drops the last reference and the object is freed now. */
    axl_tcp_obj_release(p->o);
    p->o = NULL;
    assert_int_equal(bpool(p)->nheld, inflight);
    axl_tcp_abort(p->a.c);
    axl_tcp_abort(p->b.c);
    p->a.c = p->b.c = NULL;
    fx_poll(&p->a.f);
    fx_poll(&p->b.f);
    assert_int_equal(bpool(p)->nheld, 0);
    assert_int_equal(bpool(p)->nlent, 0);
    /* Not recycled yet: the port still has them (plus the RST). */
    assert_true(axl_pool_in_use(bpool(p)) >= used);
    assert_int_equal(axl_memport_tx_deferred(&p->b.f.port), inflight + 1);
    /* The device reads them: intact, the same as send_zc's (and the RST). */
    static struct tseg segs[64];
    assert_int_equal(take(p, segs, 64), (int)inflight);
    assert_int_equal(bpool(p)->double_free, 0);
    /* Now every buffer is back (the fixture's teardown checks in_use 0). */
}

/* 20-byte TCP headers: the same payload, the header starts 12 bytes later. */
static void test_precopy_no_timestamps(void **state)
{
    struct pair *p = *state;
    tfx_passive(&p->b, 0, 0, 0);
    assert_int_equal(
        axl_tcp_obj_create(p->b.f.s, obj_bytes, OBJ_LEN, AXL_TCP_OBJ_PRECOPY, &p->o), 0);
    assert_int_equal(axl_tcp_setopt(p->b.c, AXL_TCP_OPT_NODELAY, 1), 0);
    uint32_t start = p->b.c->snd_una;
    for (int rep = 0; rep < 2; rep++) {
        assert_int_equal(axl_tcp_send_obj(p->b.c, p->o, (void *)0x77), (int)OBJ_LEN);
        fx_poll(&p->b.f);
        struct tseg r;
        uint32_t seq = p->b.c->snd_una, end = seq + OBJ_LEN;
        for (int round = 0; round < 100 && seq != end; round++) {
            int got = 0;
            while (tf_recv(&p->b.f, &r) == 0) { /* checksums verified by the reference */
                assert_false(r.has_ts);
                assert_int_equal(r.seq, seq);
                assert_int_equal(r.len, AXL_MIN(1448u, end - seq));
                assert_memory_equal(r.payload, obj_bytes + (seq - start) % OBJ_LEN, r.len);
                seq += r.len;
                got++;
            }
            assert_true(got > 0);
            p->b.rcv_nxt = seq;
            struct tseg sg = tfx_seg(&p->b, T_ACK);
            tf_send(&p->b.f, &sg);
        }
        assert_int_equal(seq, end);
    }
    struct axl_tcp_obj_stats st = ostats(p);
    assert_int_equal(st.lent, 2 * NSEG);
    assert_int_equal(st.built, NSEG); /* the memport copies at once: always back */
    assert_int_equal(st.copied, 0);
}

/* --- the shm port's free paths -------------------------------------------------- */

static int open_shm(struct axl_port *port, struct axl_pool *pool, const char *path,
                    const char *opts)
{
    char spec[512], err[256];
    struct axl_port_cfg cfg;
    snprintf(spec, sizeof(spec), "shm:%s,role=a%s", path, opts);
    if (axl_port_parse_spec(spec, &cfg, err, sizeof(err)) < 0) return AXL_EINVAL;
    cfg.pool = pool;
    return axl_port_open(port, &cfg);
}

static struct axl_pkt *held_frame(struct axl_pool *pool)
{
    struct axl_pkt *h = axl_pkt_alloc(pool);
    assert_non_null(h);
    assert_int_equal(axl_pkt_hold(pool, h), 0);
    h->len = 600;
    for (uint32_t i = 0; i < h->len; i++)
        h->data[i] = (uint8_t)(i * 13 + 1);
    return h;
}

static void frame_intact(const struct axl_pkt *h)
{
    for (uint32_t i = 0; i < h->len; i++)
        assert_int_equal(h->data[i], (uint8_t)(i * 13 + 1));
}

static void test_shm_port_returns(void **state)
{
    (void)state;
    char dir[64], path[128];
    snprintf(dir, sizeof(dir), "/tmp/axl-test-precopy-XXXXXX");
    assert_non_null(mkdtemp(dir));
    const char *opts[3] = {"", ",delay=2000,seed=1", ",corrupt=100,seed=3"};
    for (int k = 0; k < 3; k++) {
        struct axl_pool pool;
        struct axl_port port;
        assert_int_equal(axl_pool_init(&pool, 256, 2048, AXL_POOL_HEADROOM), 0);
        snprintf(path, sizeof(path), "%s/wire%d", dir, k);
        assert_int_equal(open_shm(&port, &pool, path, opts[k]), 0);
        struct axl_pkt *h = held_frame(&pool);
        for (int send = 0; send < 3; send++) {
            assert_int_equal(axl_pkt_lend(&pool, h), 0);
            struct axl_pkt *v = h;
            assert_int_equal(axl_port_tx_burst(&port, &v, 1), 1);
            axl_port_flush(&port);
            if (k == 1) {
                /* Delayed: the port keeps it for 2 ms (no peer: then dropped). */
                assert_true(axl_pkt_is_lent(h));
                uint64_t t0 = axl_clock_ns();
                while (axl_pkt_is_lent(h) && axl_clock_ns() - t0 < 5 * AXL_NS_PER_S) {
                    usleep(1000);
                    axl_port_flush(&port);
                }
            }
            assert_false(axl_pkt_is_lent(h));
            assert_true(axl_pkt_is_held(h));
            frame_intact(h);
        }
        if (k == 0) assert_int_equal(port.stats.link_drops, 3);
        if (k == 1) assert_int_equal(port.stats.imp_delayed, 3);
        if (k == 2) assert_int_equal(port.stats.imp_corrupt, 3);
        assert_int_equal(pool.lend_returns, 3);
        axl_pkt_unhold(&pool, h);
        axl_port_close(&port);
        assert_int_equal(axl_pool_in_use(&pool), 0);
        assert_int_equal(pool.double_free, 0);
        axl_pool_fini(&pool);
    }
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_precopy_identical_and_returned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_precopy_reuse_only_when_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_precopy_free_while_lent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_precopy_no_timestamps, setup, teardown),
        cmocka_unit_test(test_shm_port_returns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
