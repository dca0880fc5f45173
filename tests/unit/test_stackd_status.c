/* SPDX-License-Identifier: MIT */
/*
 * test_stackd_status.c - the replica status page (src/stackd/status.c, built
 * into this test: src/stackd is not part of libaxl) and the engine's tick
 * (axl_stack_run_tick, axl_stack_stats_copy in src/net/stack.c).
 *
 * Status page: a header round trip from the supervisor's pwrite to the
 * replica's mapping and back through the validating reader; counters through
 * the seqlock; every kind of scribbled header rejected; a writer that died
 * inside the seqlock reported, not waited for; the memfd sealed against
 * resizing. Tick: the loop calls back before sleeping and after waking.
 */
#include "stack_fixture.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "stackd/status.c"

static const struct axl_rstat_id test_id = {
    .replica = 3, .queue = 3, .generation = 2, .mode = AXL_RSTAT_RESTART, .ncounters = 0};

struct page_fx {
    struct axl_rstat_id id;
    const void *ro; /* the supervisor's read-only view */
    size_t size;
    int fd;
    struct axl_rstat_page pg; /* the replica's read-write view */
};

static void page_open(struct page_fx *p)
{
    p->id = test_id;
    p->id.ncounters = axl_rstat_ncounters();
    p->fd = axl_rstat_create(&p->id, &p->ro, &p->size);
    assert_true(p->fd >= 0);
    assert_int_equal(p->size % 4096, 0);
    assert_int_equal(axl_rstat_attach(&p->pg, p->fd, &p->id), 0);
}

static void page_close(struct page_fx *p)
{
    axl_rstat_detach(&p->pg);
    munmap((void *)p->ro, p->size);
    close(p->fd);
}

static void test_status_round_trip(void **state)
{
    (void)state;
    struct page_fx p;
    struct axl_rstat_view v;
    uint64_t now = axl_clock_ns();

    page_open(&p);
    assert_int_equal(axl_rstat_read(p.ro, p.size, &p.id, now, &v), 0);
    assert_int_equal(v.state, AXL_RSTAT_NEW);
    assert_int_equal(v.cpu, -1);
    atomic_store(&p.pg.hdr->start_ns, now);
    axl_rstat_set_state(&p.pg, AXL_RSTAT_STARTING);
    axl_rstat_beat(&p.pg, now + 1);
    axl_rstat_beat(&p.pg, now + 2);
    atomic_store(&p.pg.hdr->ready_ns, now + 3);
    axl_rstat_set_state(&p.pg, AXL_RSTAT_READY);
    assert_int_equal(axl_rstat_read(p.ro, p.size, &p.id, now + 10, &v), 0);
    assert_int_equal(v.state, AXL_RSTAT_READY);
    assert_int_equal(v.heartbeat, 2);
    assert_int_equal(v.heartbeat_ns, now + 2);
    assert_int_equal(v.ready_ns, now + 3);
    page_close(&p);
}

static void test_status_counters_seqlock(void **state)
{
    (void)state;
    struct page_fx p;
    page_open(&p);
    uint32_t n = p.id.ncounters;
    uint64_t *in = calloc(n, sizeof(*in)), *out = calloc(n, sizeof(*out));
    assert_non_null(in);
    assert_non_null(out);
    /* Nothing exported yet: zero valid counters, every slot zeroed. */
    memset(out, 0xff, n * sizeof(*out));
    assert_int_equal(axl_rstat_counters(p.ro, p.size, out, n), 0);
    assert_int_equal(out[0], 0);
    for (uint32_t i = 0; i < n; i++)
        in[i] = 1000 + i;
    axl_rstat_export(&p.pg, in, n);
    assert_int_equal(axl_rstat_counters(p.ro, p.size, out, n), (int)n);
    assert_memory_equal(in, out, n * sizeof(*in));
    /* A writer that died between its two seq stores: the reader gives up. */
    atomic_store(&p.pg.hdr->seq, atomic_load(&p.pg.hdr->seq) + 1);
    assert_int_equal(axl_rstat_counters(p.ro, p.size, out, n), AXL_EAGAIN);
    /* A lying nvalid is clamped to the slots the mapping holds. */
    atomic_store(&p.pg.hdr->seq, atomic_load(&p.pg.hdr->seq) + 1);
    atomic_store(&p.pg.hdr->nvalid, 0xffffffffu);
    assert_int_equal(axl_rstat_counters(p.ro, p.size, out, n), (int)n);
    free(in);
    free(out);
    page_close(&p);
}

static void test_status_names(void **state)
{
    (void)state;
    uint32_t n = axl_rstat_ncounters();
    assert_int_equal(n, AXL_STAT__COUNT + 3 + axl_port_stat_count() + axl_svc_stat_count() +
                            AXL_RSTAT_NDIR);
    assert_string_equal(axl_rstat_name(AXL_STAT_IcmpInEchos), "IcmpInEchos");
    assert_string_equal(axl_rstat_name(AXL_STAT__COUNT), "PoolBuffers");
    assert_string_equal(axl_rstat_name(AXL_STAT__COUNT + 3), "PortRxPackets");
    /* the service layer's counters come last (svc/svc.h) */
    assert_string_equal(axl_rstat_name(AXL_STAT__COUNT + 3 + axl_port_stat_count()), "SvcAppsNow");
    /* then the director's (0 on a replica's page) */
    assert_int_equal(axl_rstat_dir_first(), n - AXL_RSTAT_NDIR);
    assert_string_equal(axl_rstat_name(axl_rstat_dir_first()), "DirRetaChanges");
    assert_string_equal(axl_rstat_name(axl_rstat_dir_first() + 1), "DirRxPrevOwner");
    for (uint32_t i = 0; i < n; i++)
        assert_non_null(axl_rstat_name(i));
    assert_null(axl_rstat_name(n));
}

/* Every header field a crashing replica might scribble on is checked. */
static void test_status_rejects_scribbles(void **state)
{
    (void)state;
    struct page_fx p;
    struct axl_rstat_view v;
    uint64_t now = axl_clock_ns();
    page_open(&p);
    struct axl_rstat_hdr *h = p.pg.hdr, saved;
    memcpy(&saved, h, sizeof(saved));
#define SCRIBBLE(stmt, want)                                                                       \
    do {                                                                                           \
        memcpy(h, &saved, sizeof(saved));                                                          \
        stmt;                                                                                      \
        assert_int_equal(axl_rstat_read(p.ro, p.size, &p.id, now, &v), want);                      \
    } while (0)
    SCRIBBLE((void)0, 0);
    SCRIBBLE(h->magic ^= 1, AXL_EMALFORMED);
    SCRIBBLE(h->abi_version = 2, AXL_EVERSION);
    SCRIBBLE(h->hdr_size = 64, AXL_EMALFORMED);
    SCRIBBLE(h->page_size = 1u << 30, AXL_EMALFORMED);
    SCRIBBLE(h->counters_off = 8, AXL_EMALFORMED);
    SCRIBBLE(h->ncounters = 100000, AXL_EMALFORMED);
    SCRIBBLE(h->replica = 4, AXL_EMALFORMED);
    SCRIBBLE(h->queue = 0, AXL_EMALFORMED);
    SCRIBBLE(h->generation = 1, AXL_EMALFORMED);
    SCRIBBLE(h->mode = AXL_RSTAT_FRESH, AXL_EMALFORMED);
    SCRIBBLE(atomic_store(&h->state, 77), AXL_EMALFORMED);
    SCRIBBLE(atomic_store(&h->cpu, -5), AXL_EMALFORMED);
    SCRIBBLE(atomic_store(&h->heartbeat_ns, now + 10 * AXL_NS_PER_S), AXL_EMALFORMED);
    /* READY without a ready time, or ready before the start */
    SCRIBBLE(atomic_store(&h->state, AXL_RSTAT_READY);
             atomic_store(&h->start_ns, now - 5), AXL_EMALFORMED);
    SCRIBBLE(atomic_store(&h->state, AXL_RSTAT_READY); atomic_store(&h->start_ns, now - 5);
             atomic_store(&h->ready_ns, now - 9), AXL_EMALFORMED);
    SCRIBBLE(atomic_store(&h->state, AXL_RSTAT_STARTING), AXL_EMALFORMED); /* no start time */
#undef SCRIBBLE
    /* A mapping size that does not match the page. */
    assert_int_equal(axl_rstat_read(p.ro, 64, &p.id, now, &v), AXL_EINVAL);
    memcpy(h, &saved, sizeof(saved));
    assert_int_equal(axl_rstat_read(p.ro, p.size - 4096 * (p.size > 4096), &p.id, now, &v),
                     p.size > 4096 ? AXL_EMALFORMED : 0);
    page_close(&p);
}

static void test_status_sealed_and_checked(void **state)
{
    (void)state;
    struct page_fx p;
    page_open(&p);
    /* The replica cannot shrink the page under the supervisor's mapping. */
    assert_int_equal(ftruncate(p.fd, 64), -1);
    assert_int_equal(errno, EPERM);
    assert_int_equal(ftruncate(p.fd, (off_t)p.size * 2), -1);
    /* A replica attaching a page that is not its own refuses it. */
    struct axl_rstat_page other;
    struct axl_rstat_id id = p.id;
    id.generation++;
    assert_int_equal(axl_rstat_attach(&other, p.fd, &id), AXL_EMALFORMED);
    page_close(&p);
}

/* ---- the engine's tick ------------------------------------------------------------ */

struct tick_log {
    volatile sig_atomic_t *stop;
    unsigned n[3];
    int last; /* last event, -1 none */
    int bad_order;
};

static void tick_fn(void *arg, uint64_t now, enum axl_tick_event ev)
{
    struct tick_log *t = arg;
    (void)now;
    t->n[ev]++;
    /* SLEEP and WAKE alternate: every sleep ends in a wake. */
    if ((ev == AXL_TICK_WAKE && t->last != AXL_TICK_SLEEP) ||
        (ev == AXL_TICK_SLEEP && t->last == AXL_TICK_SLEEP))
        t->bad_order = 1;
    t->last = (int)ev;
    if (t->n[AXL_TICK_WAKE] >= 5) *t->stop = 1;
}

static int setup(void **state)
{
    static struct fx f;
    fx_setup(&f, "mem:t0");
    *state = &f;
    return 0;
}
static int teardown(void **state)
{
    fx_teardown(*state);
    return 0;
}

static void test_tick_idle_engine_beats(void **state)
{
    struct fx *f = *state;
    volatile sig_atomic_t stop = 0;
    struct tick_log log = {&stop, {0, 0, 0}, -1, 0};
    const struct axl_stack_tick t = {tick_fn, &log, 10 * AXL_NS_PER_MS};

    fx_drain(f);
    uint64_t t0 = axl_clock_ns();
    assert_int_equal(axl_stack_run_tick(f->s, &stop, &t), 0);
    uint64_t el = axl_clock_ns() - t0;
    print_message("idle: %u period, %u sleep, %u wake ticks in %llu us\n", log.n[0], log.n[1],
                  log.n[2], (unsigned long long)(el / 1000));
    assert_true(log.n[AXL_TICK_PERIOD] >= 1); /* the first iteration */
    assert_int_equal(log.n[AXL_TICK_WAKE], 5);
    assert_true(log.n[AXL_TICK_SLEEP] == 5);
    assert_false(log.bad_order);
    assert_true(el < 2 * AXL_NS_PER_S); /* mem port: naps of 1 ms */
}

static void test_tick_arguments(void **state)
{
    struct fx *f = *state;
    volatile sig_atomic_t stop = 1;
    const struct axl_stack_tick nofn = {NULL, NULL, 0};
    assert_int_equal(axl_stack_run_tick(f->s, &stop, &nofn), AXL_EINVAL);
    assert_int_equal(axl_stack_run_tick(NULL, &stop, NULL), AXL_EINVAL);
    assert_int_equal(axl_stack_run_tick(f->s, &stop, NULL), 0); /* stop set: returns at once */
}

static void test_stats_copy_matches_names(void **state)
{
    struct fx *f = *state;
    uint64_t v[AXL_STAT__COUNT + 4];
    uint8_t b[128];
    size_t n = fx_ping_frame(b, FX_PEER, FX_US, 7, 1, "abcd", 4);
    fx_inject(f, b, n);
    fx_poll(f);
    memset(v, 0xee, sizeof(v));
    assert_int_equal(axl_stack_stats_copy(f->s, v, AXL_STAT__COUNT + 4), AXL_STAT__COUNT);
    assert_int_equal(v[AXL_STAT__COUNT], 0xeeeeeeeeeeeeeeeeull); /* nothing past the end */
    for (unsigned i = 0; i < AXL_STAT__COUNT; i++)
        assert_int_equal((int64_t)v[i], axl_stack_stat(f->s, axl_stat_name(i)));
    assert_int_equal(v[AXL_STAT_IcmpInEchos], 1);
    assert_int_equal(axl_stack_stats_copy(f->s, v, 3), 3);
    assert_int_equal(axl_stack_stats_copy(NULL, v, 3), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_round_trip),
        cmocka_unit_test(test_status_counters_seqlock),
        cmocka_unit_test(test_status_names),
        cmocka_unit_test(test_status_rejects_scribbles),
        cmocka_unit_test(test_status_sealed_and_checked),
        cmocka_unit_test_setup_teardown(test_tick_idle_engine_beats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tick_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stats_copy_matches_names, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
