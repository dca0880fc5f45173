/* SPDX-License-Identifier: MIT */
/*
 * test_chan_ring.c - the channel's building blocks in one process: the byte
 * ring (chan/bring.h) with its spans, wrap of the data and of the 32-bit
 * indices, full/empty, clamped publish/commit and hostile peer indices; the
 * split attachment of ring.h queues; the layout (ranges, alignment, no
 * overlap); and the socket rings of a real channel mapped by both sides,
 * including pre-mapped accept (no new mapping per socket).
 */
#include "test_chan_fixture.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/clock.h"
#include "core/rand.h"

struct bring_fix {
    uint8_t *data;
    _Atomic uint32_t prod, cons;
    struct axl_bring p, c;
    uint32_t size;
};

static void bfix_open(struct bring_fix *f, uint32_t size, uint32_t start)
{
    f->size = size;
    f->data = calloc(1, size);
    assert_non_null(f->data);
    atomic_store(&f->prod, start);
    atomic_store(&f->cons, start);
    axl_bring_attach(&f->p, f->data, size, &f->prod, &f->cons, start, start);
    axl_bring_attach(&f->c, f->data, size, &f->cons, &f->prod, start, start);
}

static void bfix_close(struct bring_fix *f)
{
    free(f->data);
}

static void test_bring_spans_and_wrap(void **state)
{
    (void)state;
    struct bring_fix f;
    struct axl_span sp[2] = {{0}};
    struct axl_cspan cs[2] = {{0}};
    bfix_open(&f, 64, 0);

    assert_int_equal(axl_bring_peek(&f.c, 1, cs), 0); /* empty */
    assert_int_equal(axl_bring_reserve(&f.p, 1, sp), 64);
    assert_ptr_equal(sp[0].p, f.data);
    assert_int_equal(sp[0].len, 64);
    assert_int_equal(sp[1].len, 0);
    chan_pat_fill(sp[0].p, 40, 0);
    axl_bring_publish(&f.p, 40);
    assert_int_equal(atomic_load(&f.prod), 40);

    assert_int_equal(axl_bring_peek(&f.c, 1, cs), 40);
    assert_int_equal(cs[0].len, 40);
    assert_true(chan_pat_check(cs[0].p, 30, 0));
    axl_bring_commit(&f.c, 30);
    assert_int_equal(atomic_load(&f.cons), 30);

    /* 10 used at [30,40): 54 free, 24 at the end then 30 from the start. */
    assert_int_equal(axl_bring_reserve(&f.p, 54, sp), 54);
    assert_ptr_equal(sp[0].p, f.data + 40);
    assert_int_equal(sp[0].len, 24);
    assert_ptr_equal(sp[1].p, f.data);
    assert_int_equal(sp[1].len, 30);
    chan_pat_fill(sp[0].p, 24, 40);
    chan_pat_fill(sp[1].p, 30, 64);
    axl_bring_publish(&f.p, 54);
    assert_int_equal(axl_bring_reserve(&f.p, 1, sp), 0); /* full */

    assert_int_equal(axl_bring_peek(&f.c, 64, cs), 64);
    assert_ptr_equal(cs[0].p, f.data + 30);
    assert_int_equal(cs[0].len, 34);
    assert_int_equal(cs[1].len, 30);
    assert_true(chan_pat_check(cs[0].p, 34, 30));
    assert_true(chan_pat_check(cs[1].p, 30, 64));
    axl_bring_commit(&f.c, 64);
    assert_int_equal(axl_bring_peek(&f.c, 1, cs), 0);
    bfix_close(&f);
}

/* Free-running indices through 2^32, one byte to a whole ring at a time. */
static void test_bring_index_wrap_stream(void **state)
{
    (void)state;
    struct bring_fix f;
    struct axl_rand rng;
    uint8_t buf[300];
    uint64_t wr = 0, rd = 0;
    bfix_open(&f, 256, 0xffffff00u);
    axl_rand_seed(&rng, 42);
    while (rd < 20000) {
        uint32_t n = 1 + (uint32_t)axl_rand_u64(&rng) % 300;
        chan_pat_fill(buf, n, wr);
        int k = axl_bring_write(&f.p, buf, n);
        assert_true(k >= 0 && (uint32_t)k <= n);
        wr += (uint32_t)k;
        n = 1 + (uint32_t)axl_rand_u64(&rng) % 300;
        k = axl_bring_read(&f.c, buf, n);
        assert_true(k >= 0);
        assert_true(chan_pat_check(buf, (uint32_t)k, rd));
        rd += (uint32_t)k;
        assert_true(wr - rd <= 256);
    }
    assert_true(atomic_load(&f.prod) < 0xffffff00u); /* went through zero */
    assert_int_equal(f.p.violations + f.c.violations, 0);
    bfix_close(&f);
}

/* publish/commit never run past what reserve/peek offered. */
static void test_bring_clamps_own_index(void **state)
{
    (void)state;
    struct bring_fix f;
    struct axl_span sp[2];
    struct axl_cspan cs[2];
    bfix_open(&f, 64, 100);
    assert_int_equal(axl_bring_reserve(&f.p, 1, sp), 64);
    axl_bring_publish(&f.p, 1000);
    assert_int_equal(atomic_load(&f.prod), 164);
    assert_int_equal(axl_bring_peek(&f.c, 1, cs), 64);
    axl_bring_commit(&f.c, 1000);
    assert_int_equal(atomic_load(&f.cons), 164);
    axl_bring_commit(&f.c, 5); /* nothing granted any more */
    assert_int_equal(atomic_load(&f.cons), 164);
    bfix_close(&f);
}

/* Every hostile peer index is refused, counted, and nothing is offered. */
static void test_bring_hostile_indices(void **state)
{
    (void)state;
    struct bring_fix f;
    struct axl_span sp[2];
    struct axl_cspan cs[2];
    bfix_open(&f, 64, 1000);
    assert_int_equal(axl_bring_write(&f.p, "abcdefgh", 8), 8);

    /* producer index more than size ahead of the consumer */
    atomic_store(&f.prod, 1000 + 65);
    assert_int_equal(axl_bring_peek(&f.c, 1, cs), AXL_EMALFORMED);
    assert_int_equal(cs[0].len + cs[1].len, 0);
    assert_int_equal(f.c.violations, 1);
    /* producer index behind the consumer */
    axl_bring_attach(&f.c, f.data, 64, &f.cons, &f.prod, 1004, 1004);
    atomic_store(&f.prod, 1003);
    assert_int_equal(axl_bring_peek(&f.c, 1, cs), AXL_EMALFORMED);
    atomic_store(&f.prod, 1004 + 0x80000000u);
    assert_int_equal(axl_bring_peek(&f.c, 1, cs), AXL_EMALFORMED);
    assert_int_equal(f.c.violations, 2);
    atomic_store(&f.prod, 1004 + 64); /* exactly full is legal */
    assert_int_equal(axl_bring_peek(&f.c, 1, cs), 64);
    assert_int_equal(f.c.violations, 2);

    /* consumer index beyond the producer's / too far behind */
    axl_bring_attach(&f.p, f.data, 64, &f.prod, &f.cons, 1008, 1000);
    atomic_store(&f.cons, 1009);
    assert_int_equal(axl_bring_reserve(&f.p, 57, sp), AXL_EMALFORMED);
    atomic_store(&f.cons, 1008 - 65);
    assert_int_equal(axl_bring_reserve(&f.p, 57, sp), AXL_EMALFORMED);
    assert_int_equal(f.p.violations, 2);
    /* a write the cached view can satisfy does not look at the index again */
    assert_int_equal(axl_bring_write(&f.p, "x", 1), 1);
    uint8_t big[60] = {0};
    assert_int_equal(axl_bring_write(&f.p, big, 60), AXL_EMALFORMED);
    assert_int_equal(f.p.violations, 3);
    atomic_store(&f.cons, 1009); /* back to sane */
    assert_int_equal(axl_bring_reserve(&f.p, 64, sp), 64);

    /* Any index value: spans stay inside the ring. */
    struct axl_rand rng;
    axl_rand_seed(&rng, 7);
    for (int i = 0; i < 100000; i++) {
        atomic_store(&f.prod, (uint32_t)axl_rand_u64(&rng));
        atomic_store(&f.cons, (uint32_t)axl_rand_u64(&rng));
        int n = axl_bring_peek(&f.c, 64, cs);
        if (n > 0)
            for (int k = 0; k < 2; k++)
                assert_true(cs[k].p >= f.data && cs[k].p + cs[k].len <= f.data + 64);
        n = axl_bring_reserve(&f.p, 64, sp);
        if (n > 0)
            for (int k = 0; k < 2; k++)
                assert_true(sp[k].p >= f.data && sp[k].p + sp[k].len <= f.data + 64);
    }
    bfix_close(&f);
}

/* ring.h queues attached with each field elsewhere (the channel's layout). */
static void test_ring_split_attach(void **state)
{
    (void)state;
    _Atomic uint32_t idx[3 * 16]; /* prod, cons, flags on separate lines */
    uint64_t entries[16];
    struct axl_ring_prod p;
    struct axl_ring_cons c;
    uint32_t at;
    memset(idx, 0, sizeof(idx));
    axl_ring_prod_attach_split(&p, &idx[0], &idx[16], &idx[32], (uint8_t *)entries, 16, 8);
    axl_ring_cons_attach_split(&c, &idx[0], &idx[16], &idx[32], (uint8_t *)entries, 16, 8);
    assert_null(p.sh);
    for (uint64_t round = 0; round < 5; round++) {
        assert_int_equal(axl_ring_prod__reserve(&p, 16, &at), 16);
        for (uint32_t i = 0; i < 16; i++)
            *(uint64_t *)axl_ring_prod__entry(&p, at + i) = round * 100 + i;
        axl_ring_prod__submit(&p, 16);
        assert_int_equal(atomic_load(&idx[0]), (round + 1) * 16);
        assert_int_equal(axl_ring_prod__reserve(&p, 1, &at), 0);
        assert_int_equal(axl_ring_cons__peek(&c, 32, &at), 16);
        for (uint32_t i = 0; i < 16; i++)
            assert_int_equal(*(const uint64_t *)axl_ring_cons__entry(&c, at + i), round * 100 + i);
        axl_ring_cons__release(&c, 16);
        assert_int_equal(atomic_load(&idx[16]), (round + 1) * 16);
    }
    assert_int_equal(axl_ring_cons__prepare_sleep(&c), 1);
    assert_int_equal(atomic_load(&idx[32]), AXL_RING_F_NEED_WAKEUP);
    assert_true(axl_ring_prod__needs_wakeup(&p));
    axl_ring_cons__wake_done(&c);
    assert_false(axl_ring_prod__needs_wakeup(&p));
}

static void test_layout(void **state)
{
    (void)state;
    struct axl_chan_params p;
    struct axl_chan_layout l;
    axl_chan_params_default(&p);
    assert_int_equal(axl_chan_layout(&p, &l), 0);
    assert_int_equal(p.max_socks, 4096);
    /* every section on a page; sections in order without overlap */
    uint64_t stk[] = {0,           l.sctl_off, l.s_hint_off,          l.evq_off,
                      l.slots_off, l.rx_off,   l.size[AXL_CHAN_R_STK]};
    uint64_t app[] = {l.actl_off,  l.a_hint_off, l.cmdq_off,
                      l.lines_off, l.tx_off,     l.size[AXL_CHAN_R_APP]};
    for (size_t i = 0; i < AXL_ARRAY_SIZE(stk); i++) {
        assert_int_equal(stk[i] % AXL_CHAN_PAGE, 0);
        if (i) assert_true(stk[i] > stk[i - 1]);
    }
    for (size_t i = 0; i < AXL_ARRAY_SIZE(app); i++) {
        assert_int_equal(app[i] % AXL_CHAN_PAGE, 0);
        if (i) assert_true(app[i] > app[i - 1]);
    }
    assert_true(l.sctl_off + sizeof(struct axl_chan_sctl) <= l.s_hint_off);
    assert_true(l.s_ack_off >= l.s_hint_off + l.bm_words * 8);
    assert_true(l.s_ack_off + l.bm_words * 8 <= l.evq_off);
    assert_true(l.a_ack_off + l.bm_words * 8 <= l.cmdq_off);
    assert_true(l.evq_off + (uint64_t)p.evq_slots * 32 <= l.slots_off);
    assert_true(l.slots_off + (uint64_t)p.max_socks * 64 <= l.rx_off);
    assert_true(l.cmdq_off + (uint64_t)p.cmdq_slots * 64 <= l.lines_off);
    assert_true(l.lines_off + (uint64_t)p.max_socks * 64 <= l.tx_off);
    assert_int_equal(l.size[AXL_CHAN_R_STK] - l.rx_off, (uint64_t)4096 * 65536);

    /* out of range */
    struct axl_chan_params bad[] = {
        {63, 4096, 4096, 64, 64, 1},      {100, 4096, 4096, 64, 64, 1},
        {65600, 4096, 4096, 64, 64, 1},   {64, 4095, 4096, 64, 64, 1},
        {64, 2048, 4096, 64, 64, 1},      {64, 4096, 6000, 64, 64, 1},
        {64, 4096, 4096, 32, 64, 1},      {64, 4096, 4096, 64, 131072, 1},
        {64, 4096, 4096, 64, 64, 0},      {64, 4096, 4096, 64, 64, 257},
        {64, 32u << 20, 4096, 64, 64, 1}, {65536, 16u << 20, 4096, 64, 64, 1},
    };
    for (size_t i = 0; i < AXL_ARRAY_SIZE(bad); i++)
        assert_int_equal(axl_chan_layout(&bad[i], &l), AXL_EINVAL);
}

/* Both sides of a real channel: a socket's RX and TX rings, and accepting
 * many pre-mapped sockets adds no mapping to the process. */
static int count_maps(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    int n = 0, ch;
    assert_non_null(f);
    while ((ch = fgetc(f)) != EOF)
        n += ch == '\n';
    fclose(f);
    return n;
}

static void test_chan_socket_rings(void **state)
{
    (void)state;
    struct axl_chan_params p;
    struct chan_pair cp;
    struct axl_chan_asock as[64];
    struct axl_span sp[2];
    struct axl_cspan cs[2];
    chan_small_params(&p);
    chan_pair_open(&cp, &p);

    int maps0 = count_maps();
    for (uint32_t i = 0; i < 64; i++) {
        int id = axl_chan_stk_sock_alloc(&cp.stk, AXL_CHAN_PROTO_TCP, AXL_CHAN_SS_PENDING);
        assert_int_equal(id, (int)i);
        uint32_t gen = atomic_load(&cp.stk.slots[id].gen);
        /* data can arrive before the app accepts */
        assert_int_equal(axl_chan_stk_rx_reserve(&cp.stk, (uint32_t)id, sp), 4096);
        chan_pat_fill(sp[0].p, 100, i * 1000);
        axl_chan_stk_rx_publish(&cp.stk, (uint32_t)id, 100);
        assert_int_equal(axl_chan_app_sock(&cp.app, (uint32_t)id, gen, &as[i]), 0);
    }
    assert_int_equal(axl_chan_stk_sock_alloc(&cp.stk, AXL_CHAN_PROTO_TCP, 1), AXL_ENOBUFS);
    assert_int_equal(count_maps(), maps0);
    assert_int_equal(axl_chan_app_sock(&cp.app, 3, 99, &as[0]), AXL_ENOENT);

    for (uint32_t i = 0; i < 64; i++) {
        assert_int_equal(axl_chan_app_rx_peek(&cp.app, &as[i], cs), 100);
        assert_true(chan_pat_check(cs[0].p, 100, i * 1000));
        axl_chan_app_rx_commit(&cp.app, &as[i], 100);
        /* TX: the app writes, the stack reads the same bytes */
        assert_int_equal(axl_chan_app_tx_reserve(&cp.app, &as[i], sp), 4096);
        chan_pat_fill(sp[0].p, 333, i);
        axl_chan_app_tx_publish(&cp.app, &as[i], 333);
    }
    uint32_t ids[64];
    axl_chan_app_kick(&cp.app);
    assert_int_equal(axl_chan_stk_scan(&cp.stk, ids, 64), 64);
    for (uint32_t i = 0; i < 64; i++) {
        assert_int_equal(ids[i], i);
        assert_int_equal(axl_chan_stk_tx_peek(&cp.stk, i, cs), 333);
        assert_true(chan_pat_check(cs[0].p, 333, i));
        axl_chan_stk_tx_consume(&cp.stk, i, 333);
    }
    assert_int_equal(axl_chan_stk_scan(&cp.stk, ids, 64), 0); /* acknowledged */

    /* RX full -> RX_WANT -> the app's commit hints the stack */
    struct axl_chan_asock *s = &as[5];
    assert_int_equal(axl_chan_stk_rx_reserve(&cp.stk, 5, sp), 4096);
    axl_chan_stk_rx_publish(&cp.stk, 5, 4096);
    assert_int_equal(axl_chan_stk_rx_reserve(&cp.stk, 5, sp), 0);
    assert_true(atomic_load(&cp.stk.slots[5].flags) & AXL_CHAN_SF_RX_WANT);
    assert_int_equal(axl_chan_app_rx_peek(&cp.app, s, cs), 4096);
    assert_int_equal(cs[0].len, 3996); /* the ring wrapped: 100 bytes came first */
    axl_chan_app_rx_commit(&cp.app, s, 10);
    axl_chan_app_kick(&cp.app);
    assert_int_equal(axl_chan_stk_scan(&cp.stk, ids, 64), 1);
    assert_int_equal(ids[0], 5);
    assert_int_equal(axl_chan_stk_rx_reserve(&cp.stk, 5, sp), 10);
    assert_false(atomic_load(&cp.stk.slots[5].flags) & AXL_CHAN_SF_RX_WANT); /* room again */
    axl_chan_app_rx_commit(&cp.app, s, 10);
    axl_chan_app_kick(&cp.app);
    assert_int_equal(axl_chan_stk_scan(&cp.stk, ids, 64), 0); /* no hint needed any more */

    /* TX_WANT: the stack's consume hints the app */
    axl_chan_app_tx_want(&cp.app, &as[9], 1);
    assert_int_equal(axl_chan_app_tx_reserve(&cp.app, &as[9], sp), 4096);
    axl_chan_app_tx_publish(&cp.app, &as[9], 50);
    axl_chan_app_kick(&cp.app);
    axl_chan_stk_kick(&cp.stk);
    assert_int_equal(axl_chan_app_scan(&cp.app, ids, 64), 64); /* the RX hints so far */
    assert_int_equal(axl_chan_stk_scan(&cp.stk, ids, 64), 1);
    assert_int_equal(axl_chan_stk_tx_peek(&cp.stk, 9, cs), 50);
    axl_chan_stk_tx_consume(&cp.stk, 9, 50);
    axl_chan_stk_kick(&cp.stk);
    assert_int_equal(axl_chan_app_scan(&cp.app, ids, 64), 1);
    assert_int_equal(ids[0], 9);

    /* EOF: flag + empty ring */
    axl_chan_stk_sock_flags(&cp.stk, 7, AXL_CHAN_SF_RX_EOF, 0);
    assert_int_equal(axl_chan_app_rx_eof(&cp.app, &as[7]), 1);
    axl_chan_stk_sock_flags(&cp.stk, 5, AXL_CHAN_SF_RX_EOF, 0);
    assert_int_equal(axl_chan_app_rx_eof(&cp.app, &as[5]), 0); /* bytes left */
    axl_chan_stk_sock_flags(&cp.stk, 8, AXL_CHAN_SF_TX_SHUT, 0);
    assert_int_equal(axl_chan_app_tx_reserve(&cp.app, &as[8], sp), -EPIPE);

    /* Reuse: gen + 1, indices rebased where the app left them. */
    uint32_t g = atomic_load(&cp.stk.slots[9].gen);
    axl_chan_stk_sock_free(&cp.stk, 9);
    assert_int_equal(axl_chan_stk_sock_alloc(&cp.stk, AXL_CHAN_PROTO_TCP, 5), 9);
    assert_int_equal(atomic_load(&cp.stk.slots[9].gen), g + 1);
    assert_int_equal(atomic_load(&cp.stk.slots[9].tx_cons), atomic_load(&cp.app.lines[9].tx_prod));
    assert_int_equal(axl_chan_app_sock(&cp.app, 9, g + 1, &as[9]), 0);
    assert_int_equal(axl_chan_app_tx_reserve(&cp.app, &as[9], sp), 4096);

    assert_int_equal(cp.stk.stats.violations + cp.app.stats.violations, 0);
    chan_pair_close(&cp);
}

/* Hints: 4096 sockets, partial scans resume, bits for free slots dropped. */
static void test_chan_hints(void **state)
{
    (void)state;
    struct axl_chan_params p;
    struct chan_pair cp;
    uint32_t ids[4096];
    chan_small_params(&p);
    p.max_socks = 4096;
    chan_pair_open(&cp, &p);
    for (int i = 0; i < 4000; i++)
        assert_int_equal(axl_chan_stk_sock_alloc(&cp.stk, AXL_CHAN_PROTO_TCP, 5), i);
    for (uint32_t i = 0; i < 4096; i += 3)
        axl_chan_app_mark(&cp.app, i);
    axl_chan_app_mark(&cp.app, 3); /* already pending: no toggle back */
    axl_chan_app_kick(&cp.app);
    uint32_t total = 0, n;
    while ((n = axl_chan_stk_scan(&cp.stk, ids + total, 100)) > 0) {
        for (uint32_t i = 0; i < n; i++)
            assert_int_equal(ids[total + i] % 3, 0);
        total += n;
    }
    assert_int_equal(total, 1334);                    /* 0, 3, ..., 3999 */
    assert_int_equal(cp.stk.stats.hints_ignored, 32); /* 4002 .. 4095 */
    assert_int_equal(axl_chan_stk_scan(&cp.stk, ids, 100), 0);
    /* nothing new: the activity word did not move */
    axl_chan_app_mark(&cp.app, 30);
    assert_int_equal(axl_chan_stk_scan(&cp.stk, ids, 100), 0);
    axl_chan_app_kick(&cp.app);
    assert_int_equal(axl_chan_stk_scan(&cp.stk, ids, 100), 1);

    /* stack -> app */
    for (uint32_t i = 0; i < 4096; i += 64)
        axl_chan_stk_mark(&cp.stk, i);
    axl_chan_stk_kick(&cp.stk);
    assert_int_equal(axl_chan_app_scan(&cp.app, ids, 4096), 64);
    assert_int_equal(axl_chan_app_scan(&cp.app, ids, 4096), 0);
    chan_pair_close(&cp);
}

/* The doorbell protocol, deterministically: no system call while the peer
 * does not sleep, exactly one per announced sleep, a frozen (hostile) sleep
 * word costs at most one wake-up per millisecond. */
static void test_chan_doorbell_protocol(void **state)
{
    (void)state;
    struct axl_chan_params p;
    struct chan_pair cp;
    uint32_t ids[64];
    chan_small_params(&p);
    chan_pair_open(&cp, &p);

    for (int i = 0; i < 1000; i++)
        axl_chan_app_kick(&cp.app);
    assert_int_equal(cp.app.stats.kicks, 1000);
    assert_int_equal(cp.app.stats.wakes, 0);

    /* The stack must catch up with the app's activity before it may sleep. */
    assert_int_equal(axl_chan_stk_prepare_sleep(&cp.stk), 0);
    assert_int_equal(axl_chan_stk_scan(&cp.stk, ids, 64), 0);
    assert_int_equal(axl_chan_stk_prepare_sleep(&cp.stk), 1);
    axl_chan_app_kick(&cp.app);
    assert_int_equal(cp.app.stats.wakes, 1);
    for (int i = 0; i < 100; i++)
        axl_chan_app_kick(&cp.app); /* same sleep: no second system call */
    assert_int_equal(cp.app.stats.wakes, 1);
    assert_int_equal(cp.app.stats.wakes_suppressed, 100);
    axl_chan_stk_wake_done(&cp.stk);
    axl_chan_app_kick(&cp.app);
    assert_int_equal(cp.app.stats.wakes, 1);

    /* A command pending also keeps the stack awake. */
    axl_chan_stk_scan(&cp.stk, ids, 64);
    struct axl_chan_cmd c = {.op = AXL_CHAN_OP_OPEN, .sock = AXL_CHAN_SOCK_NONE, .arg = 6};
    assert_int_equal(axl_chan_app_submit(&cp.app, &c, 1), 1);
    assert_int_equal(axl_chan_stk_prepare_sleep(&cp.stk), 0);
    unsigned v;
    assert_int_equal(axl_chan_stk_poll_cmd(&cp.stk, &c, &v), 1);

    /* Nothing to do: the sleep ends by its timeout. */
    uint64_t t0 = axl_clock_ns();
    assert_int_equal(axl_chan_stk_sleep(&cp.stk, 10 * AXL_NS_PER_MS), 1);
    assert_true(axl_clock_ns() - t0 >= 9 * AXL_NS_PER_MS);
    assert_int_equal(cp.stk.stats.sleep_timeouts, 1);

    /* The other direction. */
    axl_chan_stk_kick(&cp.stk);
    assert_int_equal(cp.stk.stats.wakes, 0);
    assert_int_equal(axl_chan_app_prepare_sleep(&cp.app), 0); /* missed a kick */
    axl_chan_app_scan(&cp.app, ids, 64);
    assert_int_equal(axl_chan_app_prepare_sleep(&cp.app), 1);
    axl_chan_stk_kick(&cp.stk);
    axl_chan_stk_kick(&cp.stk);
    assert_int_equal(cp.stk.stats.wakes, 1);
    axl_chan_app_wake_done(&cp.app);

    /* A hostile app freezes a sleep word: at most one wake per millisecond. */
    atomic_store(&cp.app.actl->evq_flags, 0x1234u << 1 | 1);
    uint64_t w0 = cp.stk.stats.wakes;
    t0 = axl_clock_ns();
    for (int i = 0; i < 20000; i++)
        axl_chan_stk_kick(&cp.stk);
    uint64_t ms = (axl_clock_ns() - t0) / AXL_NS_PER_MS;
    assert_true(cp.stk.stats.wakes - w0 >= 1);
    assert_true(cp.stk.stats.wakes - w0 <= ms + 1);
    chan_pair_close(&cp);
}

/* The replica's split doorbell (svc.c): bump at once, ring at the end of a
 * burst. A bump alone makes a sleeper's prepare_sleep fail (it sees the
 * word move) but wakes nobody; the ring after it wakes a sleeper exactly
 * once per sleep, and never one that already saw the last bump. */
static void test_chan_doorbell_split(void **state)
{
    (void)state;
    struct axl_chan_params p;
    struct chan_pair cp;
    uint32_t ids[64];
    chan_small_params(&p);
    chan_pair_open(&cp, &p);
    axl_chan_app_scan(&cp.app, ids, 64);

    /* bump while the app is awake: its next prepare_sleep sees it */
    axl_chan_stk_bump(&cp.stk);
    assert_int_equal(cp.stk.stats.wakes, 0);
    assert_int_equal(axl_chan_app_prepare_sleep(&cp.app), 0);
    assert_int_equal(axl_chan_stk_ring(&cp.stk), 0); /* not asleep: no wake */
    axl_chan_app_scan(&cp.app, ids, 64);

    /* the app sleeps, then a burst of bumps, then one ring: one wake */
    assert_int_equal(axl_chan_app_prepare_sleep(&cp.app), 1);
    for (int i = 0; i < 10; i++)
        axl_chan_stk_bump(&cp.stk);
    assert_int_equal(cp.stk.stats.wakes, 0); /* bumps alone make no system call */
    assert_int_equal(axl_chan_stk_ring(&cp.stk), 1);
    assert_int_equal(axl_chan_stk_ring(&cp.stk), 0); /* same sleep: once */
    assert_int_equal(cp.stk.stats.wakes, 1);
    /* the sleeper's futex compares the word: it would not block now */
    assert_int_equal(
        axl_futex_wait(&cp.app.sctl->activity, cp.app.stk_act_seen, AXL_NS_PER_MS), 1);
    axl_chan_app_wake_done(&cp.app);

    /* the app saw everything and sleeps again: a ring without a new bump
     * wakes nobody, the next bump + ring wakes it */
    axl_chan_app_scan(&cp.app, ids, 64);
    assert_int_equal(axl_chan_app_prepare_sleep(&cp.app), 1);
    assert_int_equal(axl_chan_stk_ring(&cp.stk), 0);
    axl_chan_stk_bump(&cp.stk);
    assert_int_equal(axl_chan_stk_ring(&cp.stk), 1);
    assert_int_equal(cp.stk.stats.wakes, 2);
    axl_chan_app_wake_done(&cp.app);
    assert_int_equal(axl_chan_stk_evq_used(&cp.stk), 0);
    chan_pair_close(&cp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bring_spans_and_wrap),
        cmocka_unit_test(test_bring_index_wrap_stream),
        cmocka_unit_test(test_bring_clamps_own_index),
        cmocka_unit_test(test_bring_hostile_indices),
        cmocka_unit_test(test_ring_split_attach),
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_chan_socket_rings),
        cmocka_unit_test(test_chan_hints),
        cmocka_unit_test(test_chan_doorbell_protocol),
        cmocka_unit_test(test_chan_doorbell_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
