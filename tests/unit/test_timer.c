/* SPDX-License-Identifier: MIT */
/*
 * test_timer.c - unit tests of the hierarchical timer wheel (core/timer.c),
 * all on a deterministic clock: firing order, the exact tick, every level
 * boundary, parking beyond the span, stop, re-arm and stop-self from a
 * callback, and a randomised run against a brute-force model that also
 * checks axl_tw_next_ns as a lower bound (and its exactness when it can be).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/compiler.h"
#include "core/rand.h"
#include "core/timer.h"

#define T0   123456789ull /* arbitrary origin: the wheel must not assume 0 */
#define TICK AXL_NS_PER_MS

static uint64_t at_tick(uint64_t k)
{
    return T0 + k * TICK;
}

/* --- a recording callback -------------------------------------------------- */

struct rec {
    struct axl_timer_wheel *tw;
    int order[64];
    uint64_t fire_tick[64]; /* the tick being processed when it fired */
    int n;
};
struct rtimer {
    struct axl_timer t;
    struct rec *rec;
    int id;
};

static void rec_cb(struct axl_timer *t, void *arg)
{
    struct rtimer *rt = arg;
    assert_ptr_equal(&rt->t, t);
    assert_false(axl_timer_armed(t)); /* disarmed before its callback */
    struct rec *r = rt->rec;
    assert_true(r->n < 64);
    r->fire_tick[r->n] = r->tw->now_tick - 1;
    r->order[r->n++] = rt->id;
}

static void rt_init(struct rtimer *rt, struct rec *r, int id)
{
    rt->rec = r;
    rt->id = id;
    axl_timer_init(&rt->t, rec_cb, rt);
}

static void test_fire_order(void **state)
{
    (void)state;
    struct axl_timer_wheel tw;
    struct rec r = {.tw = &tw};
    struct rtimer t[6];
    axl_tw_init(&tw, T0, TICK);
    static const uint64_t due[6] = {5, 3, 9, 1, 200, 70};
    for (int i = 0; i < 6; i++) {
        rt_init(&t[i], &r, i);
        axl_timer_start_at(&tw, &t[i].t, at_tick(due[i]));
    }
    assert_int_equal(tw.armed, 6);
    assert_int_equal(axl_tw_advance(&tw, at_tick(300)), 6);
    static const int want[6] = {3, 1, 0, 2, 5, 4};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(r.order[i], want[i]);
        assert_int_equal(r.fire_tick[i], due[want[i]]); /* processed at its own tick */
    }
    assert_int_equal(tw.armed, 0);
    assert_int_equal(tw.fired, 6);
    assert_int_equal(axl_tw_next_ns(&tw, at_tick(300)), UINT64_MAX);
}

static void test_exact_tick(void **state)
{
    (void)state;
    struct axl_timer_wheel tw;
    struct rec r = {.tw = &tw};
    struct rtimer a, b, c;
    axl_tw_init(&tw, T0, TICK);
    rt_init(&a, &r, 1);
    rt_init(&b, &r, 2);
    rt_init(&c, &r, 3);
    axl_timer_start_at(&tw, &a.t, at_tick(7));            /* on a boundary */
    axl_timer_start_at(&tw, &b.t, at_tick(7) + TICK / 2); /* rounds up to 8 */
    axl_timer_start(&tw, &c.t, 3 * TICK);                 /* relative: tick 3 */

    assert_int_equal(axl_tw_next_ns(&tw, T0), 3 * TICK);
    assert_int_equal(axl_tw_advance(&tw, at_tick(3) - 1), 0);
    assert_int_equal(axl_tw_advance(&tw, at_tick(3)), 1);
    assert_int_equal(axl_tw_next_ns(&tw, at_tick(3)), 4 * TICK);
    assert_int_equal(axl_tw_next_ns(&tw, at_tick(3) + 10), 4 * TICK - 10);
    assert_int_equal(axl_tw_advance(&tw, at_tick(7) - 1), 0);
    assert_int_equal(axl_tw_advance(&tw, at_tick(7)), 1);
    assert_int_equal(r.order[1], 1);
    assert_int_equal(axl_tw_advance(&tw, at_tick(7) + TICK / 2), 0); /* never early */
    assert_int_equal(axl_tw_next_ns(&tw, at_tick(7) + TICK / 2), TICK / 2);
    assert_int_equal(axl_tw_advance(&tw, at_tick(8)), 1);
    assert_int_equal(r.order[2], 2);
    /* Wheel time is the start of the first unprocessed tick. */
    assert_int_equal(axl_tw_now_ns(&tw), at_tick(9));
    /* Advancing with an old time is harmless. */
    assert_int_equal(axl_tw_advance(&tw, T0 - 5), 0);
    assert_int_equal(axl_tw_now_ns(&tw), at_tick(9));
}

/* A timer `d` ticks out (wheel not aligned: starts at tick `base`) fires
 * exactly at its tick whether the wheel is advanced in one jump or in steps. */
static void check_one_deadline(uint64_t base, uint64_t d, int steps)
{
    struct axl_timer_wheel tw;
    struct rec r = {.tw = &tw};
    struct rtimer a;
    axl_tw_init(&tw, T0, TICK);
    assert_int_equal(axl_tw_advance(&tw, at_tick(base)), 0);
    rt_init(&a, &r, 1);
    uint64_t due = base + 1 + d;
    axl_timer_start_at(&tw, &a.t, at_tick(due));
    uint64_t now = base;
    for (int s = 1; s <= steps; s++) { /* steps strictly before the deadline */
        uint64_t to = base + (due - 1 - base) * (uint64_t)s / (uint64_t)steps;
        uint64_t nx = axl_tw_next_ns(&tw, at_tick(now));
        assert_true(nx != UINT64_MAX && at_tick(now) + nx <= at_tick(due));
        if (to > now) {
            assert_int_equal(axl_tw_advance(&tw, at_tick(to)), 0);
            now = to;
        }
    }
    assert_int_equal(axl_tw_advance(&tw, at_tick(due) - 1), 0);
    assert_true(axl_timer_armed(&a.t));
    assert_int_equal(axl_tw_next_ns(&tw, at_tick(due) - 1), 1);
    assert_int_equal(axl_tw_advance(&tw, at_tick(due)), 1);
    assert_int_equal(r.fire_tick[0], due);
    assert_int_equal(tw.armed, 0);
}

static void test_level_boundaries(void **state)
{
    (void)state;
    const uint64_t span = 1ull << (AXL_TW_BITS * AXL_TW_LEVELS);
    for (int l = 1; l <= AXL_TW_LEVELS; l++) {
        uint64_t b = 1ull << (AXL_TW_BITS * l); /* 64, 4096, ..., 2^30 */
        uint64_t ds[] = {b - 2, b - 1, b, b + 1, 2 * b + 3};
        for (unsigned i = 0; i < AXL_ARRAY_SIZE(ds); i++) {
            check_one_deadline(0, ds[i], 1);
            check_one_deadline(12345, ds[i], 7);
            check_one_deadline(b - 1, ds[i], 3); /* base just before an alignment */
            check_one_deadline(span - 2, ds[i], 2);
        }
    }
    for (uint64_t d = 0; d < 200; d++)
        check_one_deadline(d * 7, d, 2);
}

static void test_far_future(void **state)
{
    (void)state;
    const uint64_t span = 1ull << (AXL_TW_BITS * AXL_TW_LEVELS);
    uint64_t ds[] = {span + 5, 3 * span + 17, 7 * span - 1};
    for (unsigned i = 0; i < AXL_ARRAY_SIZE(ds); i++) {
        check_one_deadline(0, ds[i], 1);
        check_one_deadline(99, ds[i], 20); /* re-cascaded at every step */
    }
    /* Park and stop; and the largest deadline of all. */
    struct axl_timer_wheel tw;
    struct rec r = {.tw = &tw};
    struct rtimer a, b;
    axl_tw_init(&tw, T0, TICK);
    rt_init(&a, &r, 1);
    rt_init(&b, &r, 2);
    axl_timer_start_at(&tw, &a.t, UINT64_MAX);
    axl_timer_start(&tw, &b.t, UINT64_MAX); /* saturates */
    assert_int_equal(tw.armed, 2);
    assert_true(axl_tw_next_ns(&tw, T0) >= span * TICK - TICK);
    assert_int_equal(axl_tw_advance(&tw, at_tick(10 * span)), 0);
    assert_int_equal(tw.armed, 2);
    axl_timer_stop(&tw, &a.t);
    axl_timer_stop(&tw, &b.t);
    assert_int_equal(tw.armed, 0);
    assert_int_equal(axl_tw_next_ns(&tw, at_tick(10 * span)), UINT64_MAX);
}

static void test_stop(void **state)
{
    (void)state;
    struct axl_timer_wheel tw;
    struct rec r = {.tw = &tw};
    struct rtimer t[5];
    axl_tw_init(&tw, T0, TICK);
    for (int i = 0; i < 5; i++)
        rt_init(&t[i], &r, i);
    axl_timer_stop(&tw, &t[0].t); /* never armed: harmless */
    assert_int_equal(tw.armed, 0);

    axl_timer_start_at(&tw, &t[0].t, at_tick(10));
    axl_timer_start_at(&tw, &t[1].t, at_tick(10));   /* same slot */
    axl_timer_start_at(&tw, &t[2].t, at_tick(100));  /* level 1 */
    axl_timer_start_at(&tw, &t[3].t, at_tick(5000)); /* level 2 */
    assert_int_equal(tw.armed, 4);
    axl_timer_stop(&tw, &t[0].t);
    axl_timer_stop(&tw, &t[0].t); /* twice: harmless */
    assert_false(axl_timer_armed(&t[0].t));
    assert_int_equal(axl_tw_next_ns(&tw, T0), 10 * TICK);
    axl_timer_stop(&tw, &t[1].t);
    /* Level 0 now empty: the bound comes from the level-1 slot, exact here. */
    assert_int_equal(axl_tw_next_ns(&tw, T0), 100 * TICK);
    axl_timer_stop(&tw, &t[2].t);
    assert_int_equal(axl_tw_next_ns(&tw, T0), 5000 * TICK);
    /* Re-arming moves it (O(1) stop + start). */
    axl_timer_start_at(&tw, &t[3].t, at_tick(20));
    assert_int_equal(tw.armed, 1);
    assert_int_equal(axl_tw_next_ns(&tw, T0), 20 * TICK);
    axl_timer_stop(&tw, &t[3].t);
    assert_int_equal(tw.armed, 0);
    assert_int_equal(axl_tw_next_ns(&tw, T0), UINT64_MAX);
    for (int l = 0; l < AXL_TW_LEVELS; l++)
        assert_int_equal(tw.occupied[l], 0); /* the summary follows the slots */
    assert_int_equal(axl_tw_advance(&tw, at_tick(10000)), 0);
    assert_int_equal(r.n, 0);
}

/* --- callbacks that manipulate the wheel ------------------------------------ */

struct periodic {
    struct axl_timer t;
    struct axl_timer_wheel *tw;
    uint64_t period_ns;
    uint64_t next_ns; /* absolute mode: the deadline just fired */
    int absolute;
    int count, limit;
    uint64_t ticks[16];
};

static void periodic_cb(struct axl_timer *t, void *arg)
{
    struct periodic *p = arg;
    p->ticks[p->count++] = p->tw->now_tick - 1;
    if (p->count >= p->limit) return;
    if (p->absolute) {
        p->next_ns += p->period_ns;
        axl_timer_start_at(p->tw, t, p->next_ns);
    } else {
        axl_timer_start(p->tw, t, p->period_ns);
    }
}

static void test_rearm_from_callback(void **state)
{
    (void)state;
    struct axl_timer_wheel tw;
    axl_tw_init(&tw, T0, TICK);

    /* Absolute re-arm: an exact period. */
    struct periodic p = {.tw = &tw, .period_ns = 10 * TICK, .limit = 10, .absolute = 1};
    axl_timer_init(&p.t, periodic_cb, &p);
    p.next_ns = at_tick(9);
    axl_timer_start_at(&tw, &p.t, p.next_ns); /* ticks 9, 19, 29, ... */
    /* One big advance runs every period that falls inside it. */
    assert_int_equal(axl_tw_advance(&tw, at_tick(50)), 5);
    assert_int_equal(p.count, 5);
    /* Then tick by tick. */
    for (uint64_t k = 51; k <= 200; k++)
        axl_tw_advance(&tw, at_tick(k));
    assert_int_equal(p.count, 10);
    for (int i = 0; i < 10; i++)
        assert_int_equal(p.ticks[i], 9 + 10 * (uint64_t)i);
    assert_false(axl_timer_armed(&p.t));
    assert_int_equal(tw.armed, 0);

    /* Relative re-arm counts from the wheel's time, which inside a callback
     * for tick t is the start of tick t + 1: never early, so each period is
     * one tick longer than asked. */
    struct periodic q = {.tw = &tw, .period_ns = 10 * TICK, .limit = 5};
    axl_timer_init(&q.t, periodic_cb, &q);
    axl_timer_start_at(&tw, &q.t, at_tick(209));
    assert_int_equal(axl_tw_advance(&tw, at_tick(300)), 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(q.ticks[i], 209 + 11 * (uint64_t)i);
    assert_int_equal(tw.armed, 0);
}

struct meddler {
    struct axl_timer t;
    struct axl_timer_wheel *tw;
    struct axl_timer *victim;  /* stopped by the callback */
    struct axl_timer *restart; /* re-armed into the past by the callback */
    int fired;
};

static void meddler_cb(struct axl_timer *t, void *arg)
{
    struct meddler *m = arg;
    m->fired++;
    axl_timer_stop(m->tw, t); /* stop-self: already disarmed, harmless */
    if (m->victim) axl_timer_stop(m->tw, m->victim);
    if (m->restart) axl_timer_start_at(m->tw, m->restart, T0); /* the past: next advance */
}

static void test_callback_stop_and_past(void **state)
{
    (void)state;
    struct axl_timer_wheel tw;
    axl_tw_init(&tw, T0, TICK);
    struct meddler a = {.tw = &tw}, b = {.tw = &tw}, c = {.tw = &tw};
    axl_timer_init(&a.t, meddler_cb, &a);
    axl_timer_init(&b.t, meddler_cb, &b);
    axl_timer_init(&c.t, meddler_cb, &c);
    /* a and b share tick 5; whichever runs first stops the other. */
    a.victim = &b.t;
    b.victim = &a.t;
    axl_timer_start_at(&tw, &a.t, at_tick(5));
    axl_timer_start_at(&tw, &b.t, at_tick(5));
    assert_int_equal(axl_tw_advance(&tw, at_tick(5)), 1);
    assert_int_equal(a.fired + b.fired, 1);
    assert_int_equal(tw.armed, 0);

    /* c re-arms itself into the past: it runs on the next advance, even one
     * with the same time, and next_ns says "now". */
    c.restart = &c.t;
    axl_timer_start_at(&tw, &c.t, at_tick(6));
    assert_int_equal(axl_tw_advance(&tw, at_tick(6)), 1);
    assert_true(axl_timer_armed(&c.t));
    assert_int_equal(axl_tw_next_ns(&tw, at_tick(6)), 0);
    assert_int_equal(axl_tw_advance(&tw, at_tick(6)), 1);
    assert_int_equal(c.fired, 2);
    c.restart = NULL;
    assert_int_equal(axl_tw_advance(&tw, at_tick(6)), 1);
    assert_int_equal(c.fired, 3);
    assert_int_equal(axl_tw_advance(&tw, at_tick(7)), 0);
    assert_int_equal(tw.armed, 0);

    /* A past deadline armed from outside a callback. */
    axl_timer_start_at(&tw, &c.t, T0 + 1);
    assert_int_equal(axl_tw_next_ns(&tw, at_tick(7)), 0);
    assert_int_equal(axl_tw_advance(&tw, at_tick(7)), 1);
    assert_int_equal(c.fired, 4);
}

/* --- randomised run against a brute-force model ---------------------------- */

#define NT 400

struct model;
struct mtimer {
    struct axl_timer t;
    struct model *m;
    int armed;
    int past;     /* armed for an already processed tick */
    uint64_t due; /* model's deadline tick */
};
struct model {
    struct axl_timer_wheel tw;
    struct axl_rand r;
    struct mtimer t[NT];
    uint64_t tick_ns;
    uint64_t last_due; /* firing order within one advance */
    uint64_t fired;
};

static uint64_t m_tick_of(const struct model *m, uint64_t when)
{
    if (when <= T0) return 0;
    uint64_t d = when - T0;
    return d / m->tick_ns + (d % m->tick_ns != 0);
}

static uint64_t m_random_delay(struct model *m)
{
    unsigned bits = axl_rand_below(&m->r, 34); /* up to 2^33 ticks: past the span */
    uint64_t ticks = axl_rand_u64(&m->r) & ((1ull << bits) - 1);
    if (axl_rand_below(&m->r, 8) == 0) /* exactly on a level boundary */
        ticks = 1ull << (AXL_TW_BITS * (1 + axl_rand_below(&m->r, AXL_TW_LEVELS)));
    return ticks * m->tick_ns + axl_rand_below(&m->r, (uint32_t)m->tick_ns);
}

static void m_arm(struct model *m, struct mtimer *x, uint64_t when)
{
    axl_timer_start_at(&m->tw, &x->t, when);
    x->armed = 1;
    x->due = m_tick_of(m, when);
    x->past = x->due < m->tw.now_tick;
}

static void m_cb(struct axl_timer *t, void *arg)
{
    struct mtimer *x = arg;
    assert_ptr_equal(&x->t, t);
    struct model *m = x->m;
    assert_true(x->armed);
    if (!x->past) {
        assert_int_equal(x->due, m->tw.now_tick - 1); /* at its exact tick */
        assert_true(x->due >= m->last_due);           /* in deadline order */
        m->last_due = x->due;
    }
    x->armed = 0;
    m->fired++;
    switch (axl_rand_below(&m->r, 8)) {
    case 0: /* re-arm self, relative */
    case 1:
        m_arm(m, x, axl_tw_now_ns(&m->tw) + m_random_delay(m));
        break;
    case 2: { /* stop another */
        struct mtimer *y = &m->t[axl_rand_below(&m->r, NT)];
        axl_timer_stop(&m->tw, &y->t);
        y->armed = 0;
        break;
    }
    case 3: { /* (re)arm another, possibly the one firing or in the past */
        struct mtimer *y = &m->t[axl_rand_below(&m->r, NT)];
        uint64_t now = axl_tw_now_ns(&m->tw);
        m_arm(m, y, axl_rand_below(&m->r, 4) ? now + m_random_delay(m) : now - 2 * m->tick_ns);
        break;
    }
    default:
        break;
    }
}

static void model_run(uint64_t tick_ns, uint64_t seed, int rounds)
{
    struct model *m = calloc(1, sizeof(*m));
    assert_non_null(m);
    m->tick_ns = tick_ns;
    axl_rand_seed(&m->r, seed);
    axl_tw_init(&m->tw, T0, tick_ns);
    for (int i = 0; i < NT; i++) {
        m->t[i].m = m;
        axl_timer_init(&m->t[i].t, m_cb, &m->t[i]);
    }
    uint64_t now = T0;
    for (int round = 0; round < rounds; round++) {
        /* Some starts and stops. */
        int ops = (int)axl_rand_below(&m->r, 8);
        for (int k = 0; k < ops; k++) {
            struct mtimer *x = &m->t[axl_rand_below(&m->r, NT)];
            if (axl_rand_below(&m->r, 4) == 0) {
                axl_timer_stop(&m->tw, &x->t);
                x->armed = 0;
            } else if (axl_rand_below(&m->r, 16) == 0) {
                m_arm(m, x, now > T0 + tick_ns ? now - tick_ns : T0); /* the past */
            } else {
                m_arm(m, x, now + m_random_delay(m));
            }
        }

        /* axl_tw_next_ns is a lower bound on the model's earliest deadline. */
        uint64_t earliest = UINT64_MAX;
        int any = 0, any_past = 0;
        uint32_t armed = 0;
        for (int i = 0; i < NT; i++) {
            if (!m->t[i].armed) continue;
            any = 1;
            armed++;
            any_past |= m->t[i].past;
            uint64_t d = T0 + m->t[i].due * tick_ns;
            if (d < earliest) earliest = d;
        }
        assert_int_equal(m->tw.armed, armed);
        uint64_t nx = axl_tw_next_ns(&m->tw, now);
        if (!any) {
            assert_int_equal(nx, UINT64_MAX);
        } else if (any_past) {
            assert_int_equal(nx, 0);
        } else {
            uint64_t exact = earliest > now ? earliest - now : 0;
            assert_true(nx <= exact);
        }

        /* Advance: sometimes exactly to the bound, sometimes a random step. */
        uint64_t step;
        switch (axl_rand_below(&m->r, 6)) {
        case 0:
            step = nx == UINT64_MAX ? tick_ns : nx;
            break;
        case 1:
            step = axl_rand_below(&m->r, (uint32_t)(3 * tick_ns));
            break;
        case 2:
            step = (axl_rand_u64(&m->r) & ((1ull << 33) - 1)) * tick_ns; /* huge jump */
            break;
        default:
            step = (uint64_t)axl_rand_below(&m->r, 5000) * tick_ns;
            break;
        }
        now += step;
        uint64_t target = (now - T0) / tick_ns;
        m->last_due = 0;
        axl_tw_advance(&m->tw, now);
        for (int i = 0; i < NT; i++) {
            const struct mtimer *x = &m->t[i];
            assert_int_equal(axl_timer_armed(&x->t), x->armed);
            if (x->armed && !x->past) assert_true(x->due > target); /* everything due has run */
        }
    }
    assert_true(m->fired > (uint64_t)rounds / 4);
    for (int i = 0; i < NT; i++)
        axl_timer_stop(&m->tw, &m->t[i].t);
    assert_int_equal(m->tw.armed, 0);
    free(m);
}

static void test_random_vs_model(void **state)
{
    (void)state;
    model_run(AXL_NS_PER_MS, 1, 20000);
    model_run(1, 2, 20000); /* 1 ns ticks: the arithmetic's edge */
    model_run(10 * AXL_NS_PER_US, 3, 20000);
}

/* An engine that sleeps exactly axl_tw_next_ns() wakes at each deadline:
 * exact for short slots, and never late. */
struct sleeper {
    struct axl_timer t;
    uint64_t due_ns;
    uint64_t *now;
    int fired;
};

static void sleeper_cb(struct axl_timer *t, void *arg)
{
    (void)t;
    struct sleeper *s = arg;
    assert_int_equal(*s->now, s->due_ns); /* woken exactly at the deadline */
    s->fired++;
}

static void run_sleeper(int n, uint64_t range_ticks, int exact_wakeups)
{
    struct axl_timer_wheel tw;
    struct sleeper *s = calloc((size_t)n, sizeof(*s));
    assert_non_null(s);
    struct axl_rand r;
    axl_rand_seed(&r, (uint64_t)n);
    uint64_t now = T0;
    axl_tw_init(&tw, T0, TICK);
    uint64_t distinct = 0;
    for (int i = 0; i < n; i++) {
        s[i].due_ns = at_tick(1 + axl_rand_u64(&r) % range_ticks);
        s[i].now = &now;
        axl_timer_init(&s[i].t, sleeper_cb, &s[i]);
        axl_timer_start_at(&tw, &s[i].t, s[i].due_ns);
    }
    for (int i = 0; i < n; i++) {
        int dup = 0;
        for (int j = 0; j < i; j++)
            dup |= s[j].due_ns == s[i].due_ns;
        distinct += !dup;
    }
    uint64_t wakeups = 0, fired = 0;
    for (;;) {
        uint64_t nx = axl_tw_next_ns(&tw, now);
        if (nx == UINT64_MAX) break;
        now += nx;
        wakeups++;
        fired += axl_tw_advance(&tw, now);
        assert_true(wakeups < 100000);
    }
    assert_int_equal(fired, (uint64_t)n);
    for (int i = 0; i < n; i++)
        assert_int_equal(s[i].fired, 1);
    if (exact_wakeups)
        assert_int_equal(wakeups, distinct);
    else
        assert_true(wakeups <= distinct + 64 * AXL_TW_LEVELS);
    free(s);
}

static void test_sleep_to_next(void **state)
{
    (void)state;
    run_sleeper(12, 2000000, 1); /* spread over every level, short slots: exact */
    run_sleeper(12, 50, 1);
    run_sleeper(2000, 100000, 0); /* long slots: a few cascade wake-ups */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fire_order),
        cmocka_unit_test(test_exact_tick),
        cmocka_unit_test(test_level_boundaries),
        cmocka_unit_test(test_far_future),
        cmocka_unit_test(test_stop),
        cmocka_unit_test(test_rearm_from_callback),
        cmocka_unit_test(test_callback_stop_and_past),
        cmocka_unit_test(test_random_vs_model),
        cmocka_unit_test(test_sleep_to_next),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
