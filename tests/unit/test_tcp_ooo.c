/* SPDX-License-Identifier: MIT */
/*
 * test_tcp_ooo.c - the out-of-order receive queue (src/net/tcp_ooo.c) over a
 * real struct axl_pool. A small receiver harness delivers in-order data
 * directly and the rest through the queue, popping whenever rcv_nxt moves:
 *   - a 1 MiB stream in random-size pieces, with duplicates and arbitrary
 *     overlapping segments, in random order, reassembles byte for byte
 *     (the stream crosses 2^32);
 *   - after every insert the SACK blocks equal those of a brute-force
 *     per-byte model (held bit + last-arrival tick per byte);
 *   - a small budget with loss and retransmission rounds still reassembles,
 *     never exceeds its bounds, and evicts/drops as documented;
 *   - purge returns the pool to zero buffers in use.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/pool.h"
#include "core/rand.h"
#include "net/tcp_ooo.h"
#include "wire/tcp.h"

/* --- fixtures ------------------------------------------------------------ */

struct seg {
    uint32_t o, l; /* stream offset and length */
};

struct rx {
    struct axl_pool pool;
    struct axl_tcp_ooo q;
    struct axl_rand rnd;
    const uint8_t *stream;
    uint8_t *out;
    uint32_t size;
    uint32_t isn;     /* sequence number of stream byte 0 */
    uint32_t rcv;     /* stream offset of rcv_nxt */
    uint64_t inserts; /* model tick (one per insert call) */
};

static void rx_init(struct rx *x, uint32_t size, uint32_t isn, uint32_t nbufs, uint32_t max_bytes,
                    uint32_t max_segs, uint64_t seed)
{
    memset(x, 0, sizeof(*x));
    assert_int_equal(axl_pool_init(&x->pool, nbufs, 2048, 64), 0);
    assert_int_equal(axl_tcp_ooo_init(&x->q, max_bytes, max_segs), 0);
    axl_rand_seed(&x->rnd, seed);
    uint8_t *s = malloc(size);
    x->out = calloc(1, size);
    assert_non_null(s);
    assert_non_null(x->out);
    for (uint32_t i = 0; i < size; i++)
        s[i] = (uint8_t)axl_rand_u64(&x->rnd);
    x->stream = s;
    x->size = size;
    x->isn = isn;
}

static void rx_fini(struct rx *x)
{
    axl_tcp_ooo_purge(&x->q, &x->pool);
    assert_int_equal(axl_pool_in_use(&x->pool), 0);
    assert_int_equal(x->pool.double_free + x->pool.bad_free, 0);
    axl_pool_fini(&x->pool);
    free((void *)x->stream);
    free(x->out);
}

/* A packet holding stream bytes [o, o+l) after `pad` junk bytes, with junk
 * after them too. */
static struct axl_pkt *mkpkt(struct rx *x, uint32_t o, uint32_t l, uint32_t *off)
{
    struct axl_pkt *p = axl_pkt_alloc(&x->pool);
    assert_non_null(p);
    uint32_t pad = axl_rand_below(&x->rnd, 80);
    uint32_t tail = axl_rand_below(&x->rnd, 16);
    assert_true(pad + l + tail <= axl_pkt_room(&x->pool, p));
    memset(p->data, 0xd7, pad);
    memcpy(p->data + pad, x->stream + o, l);
    memset(p->data + pad + l, 0xe5, tail);
    p->len = pad + l + tail;
    *off = pad;
    return p;
}

static void deliver(struct rx *x, const uint8_t *d, uint32_t n)
{
    assert_true(x->rcv + n <= x->size);
    memcpy(x->out + x->rcv, d, n);
    x->rcv += n;
}

static void drain(struct rx *x)
{
    struct axl_tcp_ooo_chunk c;
    while (axl_tcp_ooo_pop(&x->q, &x->pool, x->isn + x->rcv, &c) == 1) {
        assert_int_equal(c.seq, x->isn + x->rcv);
        assert_true(c.len > 0);
        assert_true(c.off + c.len <= c.pkt->len);
        deliver(x, c.pkt->data + c.off, c.len);
        axl_pkt_free(&x->pool, c.pkt);
    }
}

/* Receive one segment: in order (or overlapping rcv_nxt) goes straight to the
 * output, the rest into the queue. Returns the insert result, or 0. */
static int rx_segment(struct rx *x, struct seg s)
{
    uint32_t off;
    struct axl_pkt *p = mkpkt(x, s.o, s.l, &off);
    if (s.o <= x->rcv) {
        if (s.o + s.l > x->rcv) deliver(x, p->data + off + (x->rcv - s.o), s.o + s.l - x->rcv);
        axl_pkt_free(&x->pool, p);
        drain(x);
        return 0;
    }
    x->inserts++;
    return axl_tcp_ooo_insert(&x->q, &x->pool, p, x->isn + s.o, off, s.l);
}

/* Structure: sorted, disjoint, within bounds, one buffer per range; with
 * check_data, every held byte equals the stream. */
static void check_queue(const struct rx *x, int check_data)
{
    const struct axl_tcp_ooo *q = &x->q;
    assert_true(q->n <= q->max_segs);
    assert_true(q->bytes <= q->max_bytes);
    assert_int_equal(axl_pool_in_use(&x->pool), q->n);
    uint32_t sum = 0;
    for (uint32_t k = 0; k < q->n; k++) {
        const struct axl_tcp_ooo_range *r = &q->r[q->first + k];
        uint32_t o = r->seq - x->isn;
        assert_true(r->len > 0);
        assert_true(o > x->rcv);
        assert_true(o + r->len <= x->size);
        assert_true(r->off + r->len <= r->pkt->len);
        if (k) {
            const struct axl_tcp_ooo_range *pr = &q->r[q->first + k - 1];
            assert_true(axl_seq_le(pr->seq + pr->len, r->seq));
        }
        if (check_data) assert_memory_equal(r->pkt->data + r->off, x->stream + o, r->len);
        sum += r->len;
    }
    assert_int_equal(sum, q->bytes);
    /* every byte offered is accounted for once */
    const struct axl_tcp_ooo_stats *st = &q->stats;
    assert_int_equal(st->ins_bytes, st->new_bytes + st->dup_bytes + st->drop_bytes);
    assert_int_equal(st->new_bytes, st->pop_bytes + st->stale_bytes + st->evict_bytes + q->bytes);
}

static void shuffle(struct axl_rand *r, struct seg *v, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = axl_rand_below(r, (uint32_t)i);
        struct seg t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

/* The stream cut in pieces of 1..maxlen, plus `extra` arbitrary segments and
 * `dups` repeats, shuffled. Returns the count. */
static size_t make_segments(struct axl_rand *r, uint32_t size, uint32_t maxlen, size_t extra,
                            size_t dups, struct seg **out)
{
    size_t cap = size + extra + dups, n = 0;
    struct seg *v = malloc(cap * sizeof(*v));
    assert_non_null(v);
    for (uint32_t o = 0; o < size;) {
        uint32_t l = 1 + axl_rand_below(r, maxlen);
        if (l > size - o) l = size - o;
        v[n++] = (struct seg){o, l};
        o += l;
    }
    size_t pieces = n;
    for (size_t i = 0; i < extra; i++) {
        uint32_t o = axl_rand_below(r, size);
        uint32_t l = 1 + axl_rand_below(r, maxlen);
        if (l > size - o) l = size - o;
        v[n++] = (struct seg){o, l};
    }
    for (size_t i = 0; i < dups; i++)
        v[n++] = v[axl_rand_below(r, (uint32_t)pieces)];
    shuffle(r, v, n);
    *out = v;
    return n;
}

/* --- brute-force SACK model ------------------------------------------------ */

struct model {
    uint8_t *held;
    uint64_t *touch;
};

/* Blocks (stream offsets) the model expects, RFC 2018 §4 order. */
static unsigned model_blocks(const struct rx *x, const struct model *m, uint32_t last_o,
                             unsigned max, uint32_t lo[], uint32_t hi[])
{
    enum { MAXB = 4096 };
    static uint32_t bl[MAXB], bh[MAXB];
    static uint64_t bt[MAXB];
    unsigned nb = 0;
    for (uint32_t o = x->rcv; o < x->size;) {
        if (!m->held[o]) {
            o++;
            continue;
        }
        uint32_t s = o;
        uint64_t t = 0;
        for (; o < x->size && m->held[o]; o++)
            if (m->touch[o] > t) t = m->touch[o];
        assert_true(nb < MAXB);
        bl[nb] = s;
        bh[nb] = o;
        bt[nb] = t;
        nb++;
    }
    unsigned n = 0;
    int first = -1;
    for (unsigned b = 0; b < nb; b++)
        if (last_o >= bl[b] && last_o < bh[b]) first = (int)b;
    if (first >= 0 && n < max) {
        lo[n] = bl[first];
        hi[n] = bh[first];
        n++;
        bt[first] = 0;
    }
    while (n < max) {
        int best = -1;
        for (unsigned b = 0; b < nb; b++)
            if (bt[b] && (best < 0 || bt[b] > bt[best])) best = (int)b;
        if (best < 0) break;
        lo[n] = bl[best];
        hi[n] = bh[best];
        bt[best] = 0;
        n++;
    }
    return n;
}

static void compare_sack(const struct rx *x, const struct model *m, uint32_t last_o)
{
    for (unsigned max = 0; max <= AXL_TCP_SACK_MAX + 1; max++) {
        struct axl_tcp_sack_block got[AXL_TCP_SACK_MAX + 2];
        uint32_t lo[AXL_TCP_SACK_MAX], hi[AXL_TCP_SACK_MAX];
        unsigned cap = max > AXL_TCP_SACK_MAX ? AXL_TCP_SACK_MAX : max;
        unsigned n = axl_tcp_ooo_sack_blocks(&x->q, got, max, x->isn + last_o);
        unsigned want = model_blocks(x, m, last_o, cap, lo, hi);
        assert_int_equal(n, want);
        for (unsigned i = 0; i < n; i++) {
            assert_int_equal(got[i].left, x->isn + lo[i]);
            assert_int_equal(got[i].right, x->isn + hi[i]);
        }
    }
}

/* --- tests ------------------------------------------------------------------ */

static void test_init_and_bad_args(void **state)
{
    (void)state;
    struct axl_tcp_ooo q;
    assert_int_equal(axl_tcp_ooo_init(&q, 0, 8), AXL_EINVAL);
    assert_int_equal(axl_tcp_ooo_init(&q, 1000, 0), AXL_EINVAL);
    assert_int_equal(axl_tcp_ooo_init(&q, 1000, AXL_TCP_OOO_MAX_SEGS + 1), AXL_EINVAL);
    assert_int_equal(axl_tcp_ooo_init(&q, AXL_TCP_OOO_MAX_BYTES + 1, 8), AXL_EINVAL);
    assert_int_equal(axl_tcp_ooo_init(&q, AXL_TCP_OOO_MAX_BYTES, AXL_TCP_OOO_MAX_SEGS), 0);
    assert_null(q.r);

    struct rx x;
    rx_init(&x, 4096, 1000, 16, 65536, 8, 1);
    uint32_t off;
    struct axl_pkt *p = mkpkt(&x, 100, 50, &off);
    assert_int_equal(axl_tcp_ooo_insert(&x.q, &x.pool, p, x.isn + 100, off, 0), AXL_EINVAL);
    p = mkpkt(&x, 100, 50, &off);
    assert_int_equal(axl_tcp_ooo_insert(&x.q, &x.pool, p, x.isn + 100, off, p->len - off + 1),
                     AXL_EINVAL);
    p = mkpkt(&x, 100, 50, &off);
    assert_int_equal(axl_tcp_ooo_insert(&x.q, &x.pool, p, x.isn + 100, p->len + 1, 1), AXL_EINVAL);
    assert_int_equal(axl_pool_in_use(&x.pool), 0); /* refused packets were freed */
    assert_int_equal(x.q.stats.drop_segs, 3);
    assert_true(axl_tcp_ooo_empty(&x.q));
    rx_fini(&x);
}

/* Trimming rules, one case at a time. */
static void test_overlap_rules(void **state)
{
    (void)state;
    struct rx x;
    rx_init(&x, 4096, 0xfffff000u, 32, 65536, 16, 2);
    struct axl_tcp_sack_block b[4];

    assert_int_equal(rx_segment(&x, (struct seg){100, 100}), 100); /* [100,200) */
    /* head overlaps held data: trimmed to [200,250) */
    assert_int_equal(rx_segment(&x, (struct seg){150, 100}), 50);
    assert_int_equal(x.q.n, 2);
    assert_int_equal(x.q.r[x.q.first + 1].seq, x.isn + 200);
    assert_int_equal(x.q.stats.dup_bytes, 50);
    /* tail overlaps held data: trimmed to [260,300) */
    assert_int_equal(rx_segment(&x, (struct seg){300, 100}), 100);
    assert_int_equal(rx_segment(&x, (struct seg){260, 80}), 40);
    assert_int_equal(x.q.n, 4);
    /* fully inside held data: freed, 0 new bytes */
    assert_int_equal(rx_segment(&x, (struct seg){120, 60}), 0);
    /* spans two contiguous held ranges: nothing new either */
    assert_int_equal(rx_segment(&x, (struct seg){150, 100}), 0);
    assert_int_equal(x.q.n, 4);
    check_queue(&x, 1);
    /* one block [100,250) and [260,400) */
    assert_int_equal(axl_tcp_ooo_sack_blocks(&x.q, b, 4, x.isn + 300), 2);
    assert_int_equal(b[0].left, x.isn + 260);
    assert_int_equal(b[0].right, x.isn + 400);
    assert_int_equal(b[1].left, x.isn + 100);
    assert_int_equal(b[1].right, x.isn + 250);
    /* a segment swallowing held ranges replaces them: [50,450) minus the
     * edges... here no edge overlaps its ends, so it becomes one range */
    assert_int_equal(rx_segment(&x, (struct seg){50, 400}), 400 - 290);
    assert_int_equal(x.q.n, 1);
    assert_int_equal(x.q.bytes, 400);
    assert_int_equal(axl_pool_in_use(&x.pool), 1);
    check_queue(&x, 1);
    /* edges held, middle replaced: [500,600) [700,800) [900,1000), then
     * [550,950) keeps the edges and replaces [700,800) */
    rx_segment(&x, (struct seg){500, 100});
    rx_segment(&x, (struct seg){700, 100});
    rx_segment(&x, (struct seg){900, 100});
    assert_int_equal(rx_segment(&x, (struct seg){550, 400}), 200);
    assert_int_equal(x.q.n, 4);
    check_queue(&x, 1);
    assert_int_equal(axl_tcp_ooo_sack_blocks(&x.q, b, 4, x.isn + 550), 2);
    assert_int_equal(b[0].left, x.isn + 500);
    assert_int_equal(b[0].right, x.isn + 1000);
    /* the hole at 0 fills: everything pops in order */
    rx_segment(&x, (struct seg){0, 60});
    assert_int_equal(x.rcv, 450);
    rx_segment(&x, (struct seg){440, 60});
    assert_int_equal(x.rcv, 1000);
    assert_true(axl_tcp_ooo_empty(&x.q));
    assert_memory_equal(x.out, x.stream, 1000);
    assert_int_equal(axl_pool_in_use(&x.pool), 0);
    rx_fini(&x);
}

/* pop: wholly delivered ranges are freed, a range straddling rcv_nxt is
 * trimmed; nothing is handed back while a hole remains. */
static void test_pop_rules(void **state)
{
    (void)state;
    struct rx x;
    rx_init(&x, 4096, 7, 32, 65536, 16, 3);
    rx_segment(&x, (struct seg){100, 100});
    rx_segment(&x, (struct seg){200, 100});
    rx_segment(&x, (struct seg){400, 100});
    struct axl_tcp_ooo_chunk c;
    assert_int_equal(axl_tcp_ooo_pop(&x.q, &x.pool, x.isn + 99, &c), 0);
    /* a retransmission covering [0,250) arrived in order */
    uint64_t stale0 = x.q.stats.stale_bytes;
    assert_int_equal(axl_tcp_ooo_pop(&x.q, &x.pool, x.isn + 250, &c), 1);
    assert_int_equal(c.seq, x.isn + 250);
    assert_int_equal(c.len, 50);
    assert_memory_equal(c.pkt->data + c.off, x.stream + 250, 50);
    axl_pkt_free(&x.pool, c.pkt);
    assert_int_equal(x.q.stats.stale_bytes - stale0, 100 + 50);
    assert_int_equal(x.q.stats.pop_bytes, 50);
    assert_int_equal(axl_tcp_ooo_pop(&x.q, &x.pool, x.isn + 300, &c), 0);
    assert_int_equal(x.q.n, 1);
    assert_int_equal(x.q.bytes, 100);
    assert_int_equal(axl_tcp_ooo_end(&x.q), x.isn + 500);
    assert_int_equal(axl_tcp_ooo_pop(&x.q, &x.pool, x.isn + 500, &c), 0);
    assert_true(axl_tcp_ooo_empty(&x.q));
    assert_int_equal(axl_pool_in_use(&x.pool), 0);
    rx_fini(&x);
}

/* Budget: the highest ranges make room for lower data; data above
 * everything held is dropped when there is no room. */
static void test_budget(void **state)
{
    (void)state;
    struct rx x;
    rx_init(&x, 1 << 16, 0xffffff00u, 32, 1 << 20, 4, 4);
    for (uint32_t i = 1; i <= 4; i++)
        assert_int_equal(rx_segment(&x, (struct seg){1000 * i, 100}), 100);
    /* segment limit: a lower segment evicts the top one */
    assert_int_equal(rx_segment(&x, (struct seg){500, 100}), 100);
    assert_int_equal(x.q.n, 4);
    assert_int_equal(x.q.stats.evict_segs, 1);
    assert_int_equal(x.q.stats.evict_bytes, 100);
    assert_int_equal(axl_tcp_ooo_end(&x.q), x.isn + 3100);
    /* above everything: dropped, packet freed */
    assert_int_equal(rx_segment(&x, (struct seg){5000, 100}), AXL_ENOBUFS);
    assert_int_equal(x.q.stats.drop_segs, 1);
    assert_int_equal(axl_pool_in_use(&x.pool), 4);
    /* between held ranges, still a new range: evicts only ranges above it */
    assert_int_equal(rx_segment(&x, (struct seg){1500, 100}), 100);
    assert_int_equal(axl_tcp_ooo_end(&x.q), x.isn + 2100);
    /* a segment below the top one but with nothing above it to evict:
     * extends a range at the edge... [2050,2150) trims to [2100,2150) and
     * still needs a slot: only nothing above -> dropped */
    assert_int_equal(rx_segment(&x, (struct seg){2050, 100}), AXL_ENOBUFS);
    /* full but replacing needs no room: [400,2200) swallows the rest */
    assert_int_equal(rx_segment(&x, (struct seg){400, 1800}), 1800 - 400);
    assert_int_equal(x.q.n, 1);
    check_queue(&x, 1);
    axl_tcp_ooo_purge(&x.q, &x.pool);
    assert_int_equal(axl_pool_in_use(&x.pool), 0);

    /* byte limit */
    assert_int_equal(axl_tcp_ooo_init(&x.q, 300, 16), 0);
    x.rcv = 0;
    for (uint32_t i = 1; i <= 3; i++)
        assert_int_equal(rx_segment(&x, (struct seg){1000 * i, 100}), 100);
    assert_int_equal(rx_segment(&x, (struct seg){500, 150}), 150); /* evicts 3000 and 2000 */
    assert_int_equal(x.q.stats.evict_segs, 2);
    assert_int_equal(x.q.bytes, 250);
    assert_int_equal(rx_segment(&x, (struct seg){1200, 60}), AXL_ENOBUFS);
    assert_int_equal(rx_segment(&x, (struct seg){700, 50}), 50);
    assert_int_equal(x.q.bytes, 300);
    check_queue(&x, 1);
    rx_fini(&x);
}

/* Ranges, pops and SACK blocks across 2^32. */
static void test_wraparound(void **state)
{
    (void)state;
    struct rx x;
    rx_init(&x, 8192, 0xfffffc00u, 64, 65536, 32, 5); /* byte 1024 is seq 0 */
    rx_segment(&x, (struct seg){1000, 48});           /* [0xffffffe8, 0x18) */
    rx_segment(&x, (struct seg){2000, 100});
    rx_segment(&x, (struct seg){900, 50});
    rx_segment(&x, (struct seg){950, 50}); /* joins [900,1048) across the wrap */
    struct axl_tcp_sack_block b[4];
    assert_int_equal(axl_tcp_ooo_sack_blocks(&x.q, b, 4, x.isn + 960), 2);
    assert_int_equal(b[0].left, 0xffffff84u);
    assert_int_equal(b[0].right, 0x18u);
    assert_true(axl_seq_lt(b[0].left, b[0].right));
    assert_int_equal(b[1].left, x.isn + 2000);
    /* a segment straddling zero overlapping the held block's head */
    assert_int_equal(rx_segment(&x, (struct seg){1040, 100}), 92);
    check_queue(&x, 1);
    rx_segment(&x, (struct seg){0, 900});
    assert_int_equal(x.rcv, 1140);
    rx_segment(&x, (struct seg){1140, 900});
    assert_int_equal(x.rcv, 2100);
    assert_memory_equal(x.out, x.stream, 2100);
    assert_true(axl_tcp_ooo_empty(&x.q));
    rx_fini(&x);
}

/* 1 MiB in random pieces, with overlaps and duplicates, in random order. */
static void test_reassembly_1mb(void **state)
{
    (void)state;
    const uint32_t size = 1u << 20;
    struct rx x;
    rx_init(&x, size, 0xffffffffu - 300000u, 4096, AXL_TCP_OOO_MAX_BYTES, AXL_TCP_OOO_MAX_SEGS, 6);
    struct seg *v;
    size_t n = make_segments(&x.rnd, size, 1460, 400, 300, &v);
    for (size_t i = 0; i < n; i++) {
        int rc = rx_segment(&x, v[i]);
        assert_true(rc >= 0);
        check_queue(&x, i % 256 == 0);
    }
    assert_int_equal(x.rcv, size);
    assert_memory_equal(x.out, x.stream, size);
    assert_true(axl_tcp_ooo_empty(&x.q));
    assert_int_equal(x.q.stats.drop_segs, 0);
    assert_int_equal(x.q.stats.evict_segs, 0);
    assert_true(x.q.stats.dup_bytes > 0);
    assert_int_equal(axl_pool_in_use(&x.pool), 0);
    free(v);
    rx_fini(&x);
}

/* SACK blocks after every insert against the per-byte model. */
static void test_sack_vs_model(void **state)
{
    (void)state;
    for (uint64_t seed = 10; seed < 16; seed++) {
        const uint32_t size = 24 * 1024;
        struct rx x;
        rx_init(&x, size, 0xffffffffu - 9000u + (uint32_t)seed * 1000u, 1024, 1 << 20, 1024, seed);
        struct model m = {calloc(size, 1), calloc(size, sizeof(uint64_t))};
        assert_non_null(m.held);
        assert_non_null(m.touch);
        struct seg *v;
        size_t n = make_segments(&x.rnd, size, 700, 60, 40, &v);
        for (size_t i = 0; i < n; i++) {
            uint32_t before = x.rcv;
            int rc = rx_segment(&x, v[i]);
            assert_true(rc >= 0);
            if (v[i].o > before) {
                for (uint32_t o = v[i].o; o < v[i].o + v[i].l; o++) {
                    m.held[o] = 1;
                    m.touch[o] = x.inserts;
                }
            }
            for (uint32_t o = before; o < x.rcv; o++)
                m.held[o] = 0;
            check_queue(&x, 0);
            compare_sack(&x, &m, v[i].o);
        }
        assert_int_equal(x.rcv, size);
        assert_memory_equal(x.out, x.stream, size);
        free(v);
        free(m.held);
        free(m.touch);
        rx_fini(&x);
    }
}

/* A tight budget under loss: rounds of "send the next window in random
 * order, lose some" until everything arrived. The queue stays in bounds,
 * evicts and drops, and the stream still comes out exact. */
static void test_budget_with_retransmission(void **state)
{
    (void)state;
    const uint32_t size = 256 * 1024;
    struct rx x;
    rx_init(&x, size, 0x7ffffff0u, 64, 16 * 1024, 16, 7);
    struct seg *v = malloc(4096 * sizeof(*v));
    assert_non_null(v);
    unsigned rounds = 0;
    while (x.rcv < size) {
        assert_true(++rounds < 10000);
        uint32_t wnd_end = x.rcv + 64 * 1024 < size ? x.rcv + 64 * 1024 : size;
        size_t n = 0;
        for (uint32_t o = x.rcv; o < wnd_end;) {
            uint32_t l = 1 + axl_rand_below(&x.rnd, 1460);
            if (l > wnd_end - o) l = wnd_end - o;
            if (axl_rand_below(&x.rnd, 100) >= 15) v[n++] = (struct seg){o, l}; /* 15% loss */
            o += l;
        }
        shuffle(&x.rnd, v, n);
        for (size_t i = 0; i < n; i++) {
            int rc = rx_segment(&x, v[i]);
            assert_true(rc >= 0 || rc == AXL_ENOBUFS);
            check_queue(&x, 0);
        }
    }
    assert_memory_equal(x.out, x.stream, size);
    assert_true(x.q.stats.evict_segs > 0);
    assert_true(x.q.stats.drop_segs > 0);
    free(v);
    rx_fini(&x);
}

static void test_sack_limits(void **state)
{
    (void)state;
    struct rx x;
    rx_init(&x, 8192, 0, 32, 65536, 16, 8);
    for (uint32_t i = 1; i <= 6; i++)
        rx_segment(&x, (struct seg){200 * i, 100});
    struct axl_tcp_sack_block b[AXL_TCP_SACK_MAX];
    assert_int_equal(axl_tcp_ooo_sack_blocks(&x.q, b, 0, 200), 0);
    assert_int_equal(axl_tcp_ooo_sack_blocks(&x.q, b, AXL_TCP_SACK_MAX_TS, 600), 3);
    assert_int_equal(b[0].left, 600);  /* the triggering segment's block */
    assert_int_equal(b[1].left, 1200); /* then newest first */
    assert_int_equal(b[2].left, 1000);
    assert_int_equal(axl_tcp_ooo_sack_blocks(&x.q, b, 99, 7000), 4); /* capped at 4 */
    assert_int_equal(b[0].left, 1200);
    assert_int_equal(b[3].left, 600);
    /* a duplicate refreshes its block */
    rx_segment(&x, (struct seg){420, 10});
    assert_int_equal(axl_tcp_ooo_sack_blocks(&x.q, b, 2, 7000), 2);
    assert_int_equal(b[0].left, 400);
    assert_int_equal(b[1].left, 1200);
    rx_fini(&x);
}

/* A held range an insert overlapped counts as touched by it (RFC 2018 §4:
 * the triggering segment's block) even when the new part is evicted later:
 * per byte, the overlapped bytes did arrive again. */
static void test_edge_touch_survives_eviction(void **state)
{
    (void)state;
    for (int right = 0; right < 2; right++) {
        struct rx x;
        rx_init(&x, 8192, 0x80000000u, 32, 65536, 3, 11);
        rx_segment(&x, (struct seg){300, 100}); /* t1 */
        rx_segment(&x, (struct seg){100, 100}); /* t2 */
        rx_segment(&x, (struct seg){500, 100}); /* t3 */
        /* t4 overlaps [300,400) at its left or right edge; the new part
         * needs a slot: [500,600) is evicted */
        struct seg s4 = right ? (struct seg){250, 70} : (struct seg){350, 100};
        assert_true(rx_segment(&x, s4) > 0);
        assert_int_equal(x.q.stats.evict_segs, 1);
        /* t5 below everything evicts the top range: the new part of t4 in
         * the left case, the edge range [300,400) in the right case */
        rx_segment(&x, (struct seg){40, 30});
        struct axl_tcp_sack_block b[4];
        unsigned n = axl_tcp_ooo_sack_blocks(&x.q, b, 4, x.isn + 40);
        assert_int_equal(n, 3);
        assert_int_equal(b[0].left, x.isn + 40);
        if (!right) {
            /* [300,400) was touched by t4, after [100,200) arrived at t2 */
            assert_int_equal(b[1].left, x.isn + 300);
            assert_int_equal(b[1].right, x.isn + 400);
        } else {
            assert_int_equal(b[1].left, x.isn + 250);
            assert_int_equal(b[1].right, x.isn + 300);
        }
        assert_int_equal(b[2].left, x.isn + 100);
        assert_int_equal(b[2].right, x.isn + 200);
        check_queue(&x, 1);
        rx_fini(&x);
    }
}

static void test_purge(void **state)
{
    (void)state;
    struct rx x;
    rx_init(&x, 65536, 12345, 128, 1 << 20, 64, 9);
    struct seg *v;
    size_t n = make_segments(&x.rnd, 65536, 1000, 20, 20, &v);
    for (size_t i = 0; i < n && x.q.n < 40; i++)
        if (v[i].o > 0) rx_segment(&x, v[i]);
    assert_true(axl_pool_in_use(&x.pool) > 0);
    axl_tcp_ooo_purge(&x.q, &x.pool);
    assert_int_equal(axl_pool_in_use(&x.pool), 0);
    assert_true(axl_tcp_ooo_empty(&x.q));
    assert_null(x.q.r);
    assert_int_equal(x.q.bytes, 0);
    /* usable again after a purge */
    assert_int_equal(rx_segment(&x, (struct seg){10, 10}), 10);
    assert_int_equal(axl_pool_in_use(&x.pool), 1);
    free(v);
    rx_fini(&x); /* purges again: back to zero */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_and_bad_args),
        cmocka_unit_test(test_overlap_rules),
        cmocka_unit_test(test_pop_rules),
        cmocka_unit_test(test_budget),
        cmocka_unit_test(test_wraparound),
        cmocka_unit_test(test_reassembly_1mb),
        cmocka_unit_test(test_sack_vs_model),
        cmocka_unit_test(test_budget_with_retransmission),
        cmocka_unit_test(test_sack_limits),
        cmocka_unit_test(test_edge_touch_survives_eviction),
        cmocka_unit_test(test_purge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
