/* SPDX-License-Identifier: MIT */
/*
 * test_ring.c - unit tests of the SPSC ring (core/ring.h): reserve/submit/
 * peek/release, wrap-around of the free-running 32-bit indices, full and
 * empty, all-or-nothing reserve, cancel, hostile peer indices, the
 * need-wakeup protocol, and a two-thread stress run checking order and loss.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "core/rand.h"
#include "core/ring.h"

struct ring_fix {
    struct axl_ring_shared *sh;
    struct axl_ring_prod p;
    struct axl_ring_cons c;
    uint32_t size;
};

static struct axl_ring_shared *ring_alloc(uint32_t size, uint32_t esize)
{
    size_t bytes = (axl_ring_bytes(size, esize) + AXL_CACHELINE - 1) & ~(size_t)(AXL_CACHELINE - 1);
    struct axl_ring_shared *sh = aligned_alloc(AXL_CACHELINE, bytes);
    assert_non_null(sh);
    memset(sh, 0, bytes);
    axl_ring_shared_init(sh);
    return sh;
}

/* A ring whose indices both start at `start` (to exercise 32-bit wrap). */
static void fix_open(struct ring_fix *f, uint32_t size, uint32_t start)
{
    f->size = size;
    f->sh = ring_alloc(size, sizeof(uint64_t));
    atomic_store(&f->sh->prod, start);
    atomic_store(&f->sh->cons, start);
    axl_ring_prod_attach(&f->p, f->sh, size, sizeof(uint64_t));
    axl_ring_cons_attach(&f->c, f->sh, size, sizeof(uint64_t));
}

static void fix_close(struct ring_fix *f)
{
    free(f->sh);
}

static uint32_t push_n(struct ring_fix *f, uint32_t n, uint64_t *seq)
{
    uint32_t idx;
    uint32_t got = axl_ring_prod__reserve(&f->p, n, &idx);
    for (uint32_t i = 0; i < got; i++)
        *(uint64_t *)axl_ring_prod__entry(&f->p, idx + i) = (*seq)++;
    axl_ring_prod__submit(&f->p, got);
    return got;
}

static uint32_t pop_n(struct ring_fix *f, uint32_t n, uint64_t *expect)
{
    uint32_t idx;
    uint32_t got = axl_ring_cons__peek(&f->c, n, &idx);
    for (uint32_t i = 0; i < got; i++)
        assert_int_equal(*(const uint64_t *)axl_ring_cons__entry(&f->c, idx + i), (*expect)++);
    axl_ring_cons__release(&f->c, got);
    return got;
}

static void test_basic(void **state)
{
    (void)state;
    struct ring_fix f;
    fix_open(&f, 8, 0);
    uint64_t seq = 100, exp = 100;
    uint32_t idx;

    assert_int_equal(axl_ring_cons__peek(&f.c, 4, &idx), 0); /* empty */
    assert_int_equal(push_n(&f, 3, &seq), 3);
    assert_int_equal(atomic_load(&f.sh->prod), 3);
    /* Peek does not consume. */
    assert_int_equal(axl_ring_cons__peek(&f.c, 8, &idx), 3);
    assert_int_equal(idx, 0);
    assert_int_equal(axl_ring_cons__peek(&f.c, 8, &idx), 3);
    assert_int_equal(pop_n(&f, 2, &exp), 2);
    assert_int_equal(atomic_load(&f.sh->cons), 2);
    assert_int_equal(pop_n(&f, 8, &exp), 1);
    assert_int_equal(pop_n(&f, 8, &exp), 0);
    assert_int_equal(exp, 103);
    fix_close(&f);
}

static void test_full_empty(void **state)
{
    (void)state;
    struct ring_fix f;
    fix_open(&f, 16, 0);
    uint64_t seq = 0, exp = 0;
    uint32_t idx;

    assert_int_equal(push_n(&f, 100, &seq), 16);                /* "up to n": clamps to size */
    assert_int_equal(axl_ring_prod__reserve(&f.p, 1, &idx), 0); /* full */
    assert_int_equal(axl_ring_prod__free(&f.p, 1), 0);
    assert_int_equal(pop_n(&f, 5, &exp), 5);
    assert_int_equal(axl_ring_prod__free(&f.p, 1), 5);
    assert_int_equal(push_n(&f, 100, &seq), 5);
    assert_int_equal(pop_n(&f, 100, &exp), 16);
    assert_int_equal(axl_ring_cons__peek(&f.c, 1, &idx), 0); /* empty */
    assert_int_equal(axl_ring_prod__free(&f.p, 16), 16);
    assert_int_equal(seq, exp);
    fix_close(&f);
}

static void test_wraparound(void **state)
{
    (void)state;
    struct ring_fix f;
    const uint32_t start = UINT32_MAX - 37;
    fix_open(&f, 32, start);
    uint64_t seq = 0, exp = 0;
    struct axl_rand r;
    axl_rand_seed(&r, 1);
    /* Move ~100k entries in random batches; the indices wrap past 2^32. */
    for (int round = 0; round < 20000; round++) {
        push_n(&f, 1 + axl_rand_below(&r, 20), &seq);
        pop_n(&f, 1 + axl_rand_below(&r, 20), &exp);
        uint32_t used = atomic_load(&f.sh->prod) - atomic_load(&f.sh->cons);
        assert_true(used <= 32);
    }
    pop_n(&f, 64, &exp);
    assert_int_equal(seq, exp);
    assert_true(seq > 100);
    uint32_t prod = atomic_load(&f.sh->prod);
    assert_int_equal(prod, (uint32_t)(start + seq)); /* wrapped: smaller than start */
    assert_true(prod < start);
    fix_close(&f);
}

static void test_wrap_exact_boundary(void **state)
{
    (void)state;
    struct ring_fix f;
    fix_open(&f, 8, UINT32_MAX - 3); /* four slots before the wrap */
    uint64_t seq = 0, exp = 0;
    uint32_t idx;
    assert_int_equal(axl_ring_prod__reserve(&f.p, 8, &idx), 8);
    assert_int_equal(idx, UINT32_MAX - 3);
    for (uint32_t i = 0; i < 8; i++)
        *(uint64_t *)axl_ring_prod__entry(&f.p, idx + i) = seq++;
    axl_ring_prod__submit(&f.p, 8);
    assert_int_equal(atomic_load(&f.sh->prod), 4); /* wrapped through zero */
    assert_int_equal(axl_ring_prod__reserve(&f.p, 1, &idx), 0);
    assert_int_equal(pop_n(&f, 8, &exp), 8);
    assert_int_equal(atomic_load(&f.sh->cons), 4);
    assert_int_equal(push_n(&f, 3, &seq), 3);
    assert_int_equal(pop_n(&f, 3, &exp), 3);
    fix_close(&f);
}

static void test_reserve_exact_and_cancel(void **state)
{
    (void)state;
    struct ring_fix f;
    fix_open(&f, 8, 0);
    uint64_t seq = 0, exp = 0;
    uint32_t idx = 12345;

    assert_int_equal(push_n(&f, 5, &seq), 5); /* 3 free */
    assert_int_equal(axl_ring_prod__reserve_exact(&f.p, 4, &idx), 0);
    assert_int_equal(idx, 12345); /* untouched */
    assert_int_equal(f.p.cached_prod, 5);
    assert_int_equal(axl_ring_prod__reserve_exact(&f.p, 3, &idx), 3);
    assert_int_equal(idx, 5);
    axl_ring_prod__cancel(&f.p, 3);
    assert_int_equal(f.p.cached_prod, 5);
    assert_int_equal(atomic_load(&f.sh->prod), 5); /* nothing published */

    /* Reserve 3, cancel 2, submit: the consumer sees exactly one more. */
    assert_int_equal(axl_ring_prod__reserve(&f.p, 3, &idx), 3);
    *(uint64_t *)axl_ring_prod__entry(&f.p, idx) = seq++;
    axl_ring_prod__cancel(&f.p, 2);
    axl_ring_prod__submit(&f.p, 1);
    assert_int_equal(atomic_load(&f.sh->prod), 6);
    assert_int_equal(pop_n(&f, 8, &exp), 6);
    assert_int_equal(exp, seq);

    /* reserve_exact larger than the ring never succeeds. */
    assert_int_equal(axl_ring_prod__reserve_exact(&f.p, 9, &idx), 0);
    assert_int_equal(axl_ring_prod__reserve_exact(&f.p, 8, &idx), 8);
    axl_ring_prod__cancel(&f.p, 8);
    fix_close(&f);
}

/* A consumer in another process writes garbage into cons: the producer never
 * believes more than `size` slots are free and never writes outside the ring. */
static void test_hostile_consumer(void **state)
{
    (void)state;
    struct ring_fix f;
    fix_open(&f, 16, 0);
    uint64_t seq = 0;
    uint32_t idx;
    push_n(&f, 10, &seq); /* prod = 10 */

    /* The producer re-reads cons only when its cached view lacks room, so ask
     * for a full ring to force the read. Claims more consumed than produced: */
    atomic_store(&f.sh->cons, 11);
    assert_int_equal(axl_ring_prod__reserve(&f.p, 16, &idx), 0);
    assert_int_equal(axl_ring_prod__reserve(&f.p, 1, &idx), 0);
    atomic_store(&f.sh->cons, 10 + 0x80000000u);
    assert_int_equal(axl_ring_prod__reserve(&f.p, 16, &idx), 0);
    /* Claims to lag more than a full ring behind. */
    atomic_store(&f.sh->cons, (uint32_t)(10 - 17));
    assert_int_equal(axl_ring_prod__reserve(&f.p, 16, &idx), 0);
    assert_int_equal(axl_ring_prod__reserve(&f.p, 1, &idx), 0);
    /* Exactly a full ring behind is a legal (full) state. */
    atomic_store(&f.sh->cons, (uint32_t)(10 - 16));
    assert_int_equal(axl_ring_prod__reserve(&f.p, 16, &idx), 0);
    /* Random values: the reservation always stays within one ring. */
    struct axl_rand r;
    axl_rand_seed(&r, 7);
    for (int i = 0; i < 100000; i++) {
        uint32_t v = (uint32_t)axl_rand_u64(&r);
        if (i & 1) v = f.p.cached_prod - (v % 40) + 20; /* near the producer index */
        atomic_store(&f.sh->cons, v);
        uint32_t want = 1 + axl_rand_below(&r, 40);
        uint32_t got = axl_ring_prod__reserve(&f.p, want, &idx);
        assert_true(got <= want && got <= 16);
        if (got) /* in flight, as the producer believes, never exceeds the ring */
            assert_true((uint32_t)(f.p.cached_prod - f.p.cached_cons) <= 16);
        for (uint32_t k = 0; k < got; k++) {
            uint8_t *e = axl_ring_prod__entry(&f.p, idx + k);
            assert_true(e >= f.sh->entries && e + 8 <= f.sh->entries + 16 * 8);
        }
        axl_ring_prod__cancel(&f.p, got);
    }
    /* An honest value again: service resumes. */
    atomic_store(&f.sh->cons, f.p.cached_prod);
    assert_int_equal(axl_ring_prod__reserve(&f.p, 16, &idx), 16);
    axl_ring_prod__cancel(&f.p, 16);
    fix_close(&f);
}

/* A producer writes garbage into prod: the consumer never sees more than
 * `size` entries and never reads outside the ring. */
static void test_hostile_producer(void **state)
{
    (void)state;
    struct ring_fix f;
    fix_open(&f, 16, 5);
    uint32_t idx;

    atomic_store(&f.sh->prod, 5 + 17); /* more in flight than the ring holds */
    assert_int_equal(axl_ring_cons__peek(&f.c, 100, &idx), 0);
    assert_int_equal(axl_ring_cons__peek(&f.c, 1, &idx), 0);
    atomic_store(&f.sh->prod, 4); /* behind the consumer */
    assert_int_equal(axl_ring_cons__peek(&f.c, 1, &idx), 0);
    atomic_store(&f.sh->prod, 5 + 0x80000000u);
    assert_int_equal(axl_ring_cons__peek(&f.c, 1, &idx), 0);
    atomic_store(&f.sh->prod, 5 + 16); /* exactly full is legal */
    assert_int_equal(axl_ring_cons__peek(&f.c, 100, &idx), 16);
    assert_int_equal(idx, 5);

    struct axl_rand r;
    axl_rand_seed(&r, 9);
    for (int i = 0; i < 100000; i++) {
        uint32_t v = (uint32_t)axl_rand_u64(&r);
        if (i & 1) v = f.c.cached_cons + (v % 40) - 20;
        atomic_store(&f.sh->prod, v);
        uint32_t got = axl_ring_cons__peek(&f.c, 1 + axl_rand_below(&r, 40), &idx);
        assert_true(got <= 16);
        if (got) /* ready, as the consumer believes, never exceeds the ring */
            assert_true(got <= (uint32_t)(f.c.cached_prod - f.c.cached_cons) &&
                        (uint32_t)(f.c.cached_prod - f.c.cached_cons) <= 16);
        for (uint32_t k = 0; k < got; k++) {
            const uint8_t *e = axl_ring_cons__entry(&f.c, idx + k);
            assert_true(e >= f.sh->entries && e + 8 <= f.sh->entries + 16 * 8);
        }
        axl_ring_cons__release(&f.c, got);
    }
    fix_close(&f);
}

static void test_need_wakeup(void **state)
{
    (void)state;
    struct ring_fix f;
    fix_open(&f, 8, 0);
    uint64_t seq = 0, exp = 0;

    assert_false(axl_ring_prod__needs_wakeup(&f.p));         /* consumer busy: no doorbell */
    assert_int_equal(axl_ring_cons__prepare_sleep(&f.c), 1); /* empty: may sleep */
    assert_true(axl_ring_prod__needs_wakeup(&f.p));
    push_n(&f, 1, &seq);
    assert_true(axl_ring_prod__needs_wakeup(&f.p)); /* producer rings the doorbell */
    axl_ring_cons__wake_done(&f.c);
    assert_false(axl_ring_prod__needs_wakeup(&f.p));

    /* Work raced in between the flag and the re-check: do not sleep. */
    assert_int_equal(axl_ring_cons__prepare_sleep(&f.c), 0);
    axl_ring_cons__wake_done(&f.c);
    assert_int_equal(pop_n(&f, 8, &exp), 1);
    assert_int_equal(axl_ring_cons__prepare_sleep(&f.c), 1);
    axl_ring_cons__wake_done(&f.c);
    fix_close(&f);
}

/* --- two threads ------------------------------------------------------------ */

#define STRESS_N     1000000u
#define STRESS_SLOTS 256u

struct stress {
    struct axl_ring_shared *sh;
    uint64_t received;
    uint64_t errors;
};

static void *stress_producer(void *arg)
{
    struct stress *s = arg;
    struct axl_ring_prod p;
    axl_ring_prod_attach(&p, s->sh, STRESS_SLOTS, sizeof(uint64_t));
    struct axl_rand r;
    axl_rand_seed(&r, 42);
    uint64_t seq = 0;
    while (seq < STRESS_N) {
        uint32_t want = 1 + axl_rand_below(&r, 32), idx;
        if (want > STRESS_N - seq) want = (uint32_t)(STRESS_N - seq);
        uint32_t n = axl_ring_prod__reserve(&p, want, &idx);
        if (!n) {
            sched_yield();
            continue;
        }
        for (uint32_t i = 0; i < n; i++)
            *(uint64_t *)axl_ring_prod__entry(&p, idx + i) = seq++;
        axl_ring_prod__submit(&p, n);
    }
    return NULL;
}

static void *stress_consumer(void *arg)
{
    struct stress *s = arg;
    struct axl_ring_cons c;
    axl_ring_cons_attach(&c, s->sh, STRESS_SLOTS, sizeof(uint64_t));
    struct axl_rand r;
    axl_rand_seed(&r, 43);
    uint64_t expect = 0;
    while (expect < STRESS_N) {
        uint32_t idx, n = axl_ring_cons__peek(&c, 1 + axl_rand_below(&r, 32), &idx);
        if (!n) {
            sched_yield();
            continue;
        }
        for (uint32_t i = 0; i < n; i++)
            if (*(const uint64_t *)axl_ring_cons__entry(&c, idx + i) != expect++) s->errors++;
        axl_ring_cons__release(&c, n);
    }
    s->received = expect;
    return NULL;
}

static void test_two_threads(void **state)
{
    (void)state;
    struct stress s = {.sh = ring_alloc(STRESS_SLOTS, sizeof(uint64_t))};
    atomic_store(&s.sh->prod, UINT32_MAX - 1000); /* wrap during the run too */
    atomic_store(&s.sh->cons, UINT32_MAX - 1000);
    pthread_t tp, tc;
    assert_int_equal(pthread_create(&tc, NULL, stress_consumer, &s), 0);
    assert_int_equal(pthread_create(&tp, NULL, stress_producer, &s), 0);
    pthread_join(tp, NULL);
    pthread_join(tc, NULL);
    assert_int_equal(s.received, STRESS_N);
    assert_int_equal(s.errors, 0);
    assert_int_equal(atomic_load(&s.sh->prod), atomic_load(&s.sh->cons));
    free(s.sh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_full_empty),
        cmocka_unit_test(test_wraparound),
        cmocka_unit_test(test_wrap_exact_boundary),
        cmocka_unit_test(test_reserve_exact_and_cancel),
        cmocka_unit_test(test_hostile_consumer),
        cmocka_unit_test(test_hostile_producer),
        cmocka_unit_test(test_need_wakeup),
        cmocka_unit_test(test_two_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
