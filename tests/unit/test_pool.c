/* SPDX-License-Identifier: MIT */
/*
 * test_pool.c - unit tests of the packet buffer pool (core/pool.c): argument
 * checks, alloc until empty with alloc_fail counted, single and bulk free,
 * chains, LIFO reuse, address <-> metadata round trips, room/headroom,
 * double and foreign frees counted, and in_use back to zero; held and lent
 * buffers (a free of a lent buffer returns it to its owner, unhold puts it
 * back in circulation, at once or at the port's free) and their misuse.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/err.h"
#include "core/pool.h"

#define NB 64u

static int pool_setup(void **state)
{
    struct axl_pool *p = calloc(1, sizeof(*p));
    if (!p || axl_pool_init(p, NB, 2048, AXL_POOL_HEADROOM) != 0) return -1;
    *state = p;
    return 0;
}

static int pool_teardown(void **state)
{
    struct axl_pool *p = *state;
    axl_pool_fini(p);
    free(p);
    return 0;
}

static void test_init_args(void **state)
{
    (void)state;
    struct axl_pool p;
    assert_int_equal(axl_pool_init(&p, 0, 2048, 0), AXL_EINVAL);
    assert_int_equal(axl_pool_init(&p, 8, 1024, 0), AXL_EINVAL);    /* too small */
    assert_int_equal(axl_pool_init(&p, 8, 3072, 0), AXL_EINVAL);    /* not a power of two */
    assert_int_equal(axl_pool_init(&p, 8, 2048, 2048), AXL_EINVAL); /* headroom >= size */
    assert_int_equal(axl_pool_init(&p, 8, 1u << 17, 0), AXL_EINVAL);
    assert_int_equal(axl_pool_init(&p, AXL_POOL_MAX_BUFS + 1, 2048, 0), AXL_EINVAL);
    axl_pool_fini(&p); /* safe after a failed init */

    assert_int_equal(axl_pool_init(&p, 8, 4096, 0), 0);
    assert_non_null(p.base);
    assert_int_equal((uintptr_t)p.base % (uintptr_t)sysconf(_SC_PAGESIZE), 0);
    assert_int_equal(p.size, 8 * 4096);
    assert_int_equal(p.nfree, 8);
    assert_int_equal(p.hugepages, 0); /* below 2 MiB: never huge */
    memset(p.base, 0xa5, p.size);     /* the whole region is writable */
    axl_pool_fini(&p);
    assert_null(p.base);

    /* >= 2 MiB: huge pages if the host has them, normal pages otherwise. */
    assert_int_equal(axl_pool_init(&p, 2048, 2048, AXL_POOL_HEADROOM), 0);
    assert_int_equal(p.size, 4u << 20);
    memset(p.base, 0x5a, p.size);
    axl_pool_fini(&p);
}

static void test_alloc_until_empty(void **state)
{
    struct axl_pool *p = *state;
    struct axl_pkt *got[NB];
    for (uint32_t i = 0; i < NB; i++) {
        got[i] = axl_pkt_alloc(p);
        assert_non_null(got[i]);
        assert_int_equal(got[i]->idx, i); /* fresh pool hands out 0, 1, 2, ... */
        assert_int_equal(got[i]->len, 0);
        assert_int_equal(got[i]->flags, AXL_PKT_F_INUSE);
        assert_null(got[i]->next);
        assert_ptr_equal(got[i]->data, axl_pool_buf(p, i) + AXL_POOL_HEADROOM);
        for (uint32_t j = 0; j < i; j++)
            assert_ptr_not_equal(got[i], got[j]);
    }
    assert_int_equal(axl_pool_in_use(p), NB);
    assert_int_equal(p->alloc_fail, 0);
    assert_null(axl_pkt_alloc(p));
    assert_null(axl_pkt_alloc(p));
    assert_int_equal(p->alloc_fail, 2);
    axl_pkt_free_bulk(p, got, NB);
    assert_int_equal(axl_pool_in_use(p), 0);
    assert_int_equal(p->double_free, 0);
}

static void test_bulk(void **state)
{
    struct axl_pool *p = *state;
    struct axl_pkt *a[NB + 10];
    assert_int_equal(axl_pkt_alloc_bulk(p, a, 10), 10);
    assert_int_equal(axl_pool_in_use(p), 10);
    assert_int_equal(axl_pkt_alloc_bulk(p, a + 10, NB), NB - 10); /* runs dry */
    assert_int_equal(p->alloc_fail, 10);
    assert_int_equal(axl_pkt_alloc_bulk(p, a + NB, 5), 0);
    assert_int_equal(p->alloc_fail, 15);
    for (uint32_t i = 0; i < NB; i++) {
        assert_int_equal(a[i]->flags, AXL_PKT_F_INUSE);
        for (uint32_t j = i + 1; j < NB; j++)
            assert_int_not_equal(a[i]->idx, a[j]->idx);
    }
    axl_pkt_free_bulk(p, a, NB / 2);
    assert_int_equal(axl_pool_in_use(p), NB / 2);
    axl_pkt_free_bulk(p, a + NB / 2, NB / 2);
    assert_int_equal(axl_pool_in_use(p), 0);
}

static void test_lifo_reuse(void **state)
{
    struct axl_pool *p = *state;
    struct axl_pkt *a = axl_pkt_alloc(p), *b = axl_pkt_alloc(p), *c = axl_pkt_alloc(p);
    axl_pkt_free(p, b);
    axl_pkt_free(p, a);
    assert_ptr_equal(axl_pkt_alloc(p), a); /* most recently freed first */
    assert_ptr_equal(axl_pkt_alloc(p), b);
    axl_pkt_free(p, c);
    struct axl_pkt *x[2];
    assert_int_equal(axl_pkt_alloc_bulk(p, x, 1), 1);
    assert_ptr_equal(x[0], c);
    axl_pkt_free(p, a);
    axl_pkt_free(p, b);
    axl_pkt_free(p, c);
    assert_int_equal(axl_pool_in_use(p), 0);
}

static void test_chain(void **state)
{
    struct axl_pool *p = *state;
    struct axl_pkt *head = NULL;
    for (int i = 0; i < 10; i++) {
        struct axl_pkt *k = axl_pkt_alloc(p);
        k->next = head;
        head = k;
    }
    assert_int_equal(axl_pool_in_use(p), 10);
    axl_pkt_free_chain(p, head);
    assert_int_equal(axl_pool_in_use(p), 0);
    axl_pkt_free_chain(p, NULL);
    assert_int_equal(p->double_free, 0);
}

static void test_addr_roundtrip(void **state)
{
    struct axl_pool *p = *state;
    struct axl_pkt *a[NB];
    assert_int_equal(axl_pkt_alloc_bulk(p, a, NB), NB);
    for (uint32_t i = 0; i < NB; i++) {
        struct axl_pkt *k = a[i];
        uint64_t addr = axl_pkt_addr(p, k);
        assert_int_equal(addr, (uint64_t)k->idx * 2048 + AXL_POOL_HEADROOM);
        assert_ptr_equal(axl_pool_pkt_at(p, addr), k);
        /* Any address inside the buffer maps back to the same packet. */
        assert_ptr_equal(axl_pool_pkt_at(p, (uint64_t)k->idx * 2048), k);
        assert_ptr_equal(axl_pool_pkt_at(p, (uint64_t)k->idx * 2048 + 2047), k);
        assert_ptr_equal(axl_pool_pkt_at_checked(p, addr), k);
        assert_int_equal(axl_pkt_room(p, k), 2048 - AXL_POOL_HEADROOM);
        assert_int_equal(axl_pkt_headroom(p, k), AXL_POOL_HEADROOM);
        /* Prepend a 14-byte header and append to the end: both stay inside. */
        k->data -= 14;
        k->len = 14;
        assert_int_equal(axl_pkt_headroom(p, k), AXL_POOL_HEADROOM - 14);
        assert_int_equal(axl_pkt_room(p, k), 2048 - AXL_POOL_HEADROOM + 14);
        memset(k->data, (int)i, axl_pkt_room(p, k));
    }
    /* Addresses from a peer are checked against the region. */
    assert_ptr_equal(axl_pool_pkt_at_checked(p, (uint64_t)NB * 2048 - 1), &p->pkts[NB - 1]);
    assert_null(axl_pool_pkt_at_checked(p, (uint64_t)NB * 2048));
    assert_null(axl_pool_pkt_at_checked(p, UINT64_MAX));
    /* Writing each buffer in full did not bleed into a neighbour. */
    for (uint32_t i = 0; i < NB; i++) {
        const uint8_t *b = axl_pool_buf(p, a[i]->idx);
        assert_int_equal(b[AXL_POOL_HEADROOM - 14], (uint8_t)i);
        assert_int_equal(b[2047], (uint8_t)i);
    }
    struct axl_pkt *k = a[3];
    k->flags |= AXL_PKT_F_CSUM_OK;
    k->l3_off = 14;
    k->ts_ns = 99;
    k->next = a[4];
    axl_pkt_reset(p, k);
    assert_ptr_equal(k->data, axl_pool_buf(p, k->idx) + AXL_POOL_HEADROOM);
    assert_int_equal(k->len, 0);
    assert_int_equal(k->flags, AXL_PKT_F_INUSE);
    assert_int_equal(k->l3_off, 0);
    assert_int_equal(k->ts_ns, 0);
    assert_ptr_equal(k->next, a[4]); /* the holder's link is kept */
    axl_pkt_free_bulk(p, a, NB);
    assert_int_equal(axl_pool_in_use(p), 0);
}

static void test_bad_frees(void **state)
{
    struct axl_pool *p = *state;
    struct axl_pkt *a = axl_pkt_alloc(p);
    axl_pkt_free(p, a);
    axl_pkt_free(p, a); /* double free: counted, ignored */
    assert_int_equal(p->double_free, 1);
    assert_int_equal(axl_pool_in_use(p), 0);
    assert_int_equal(p->nfree, NB);

    struct axl_pkt *never = &p->pkts[NB - 1]; /* never allocated */
    axl_pkt_free(p, never);
    assert_int_equal(p->double_free, 2);

    struct axl_pkt foreign = {.flags = AXL_PKT_F_INUSE};
    axl_pkt_free(p, &foreign);
    axl_pkt_free(p, (struct axl_pkt *)((char *)a + 1)); /* misaligned into the array */
    assert_int_equal(p->bad_free, 2);
    assert_int_equal(p->nfree, NB);

    /* The free list is intact: every buffer can still be allocated once. */
    struct axl_pkt *all[NB];
    assert_int_equal(axl_pkt_alloc_bulk(p, all, NB), NB);
    for (uint32_t i = 0; i < NB; i++)
        for (uint32_t j = i + 1; j < NB; j++)
            assert_ptr_not_equal(all[i], all[j]);
    struct axl_pkt *twice[2] = {all[0], all[0]};
    axl_pkt_free_bulk(p, twice, 2);
    assert_int_equal(p->double_free, 3);
    axl_pkt_free_bulk(p, all + 1, NB - 1);
    assert_int_equal(axl_pool_in_use(p), 0);
}

static void test_hold_lend(void **state)
{
    struct axl_pool *p = *state;
    struct axl_pkt *h = axl_pkt_alloc(p);
    assert_non_null(h);
    assert_int_equal(axl_pkt_hold(p, h), 0);
    assert_int_equal(p->nheld, 1);
    assert_true(axl_pkt_is_held(h));
    assert_false(axl_pkt_is_lent(h));
    h->data[0] = 0x5a;

    /* Three sends: each free (the port's) hands it back, never recycles it. */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(axl_pkt_lend(p, h), 0);
        assert_true(axl_pkt_is_lent(h));
        assert_int_equal(p->nlent, 1);
        assert_int_equal(axl_pkt_lend(p, h), -1); /* lent twice: refused */
        axl_pkt_free(p, h);
        assert_false(axl_pkt_is_lent(h));
        assert_true(axl_pkt_is_held(h));
        assert_int_equal(p->nlent, 0);
        assert_int_equal(p->nfree, NB - 1);
        /* No allocation can return it. */
        struct axl_pkt *all[NB];
        uint32_t got = axl_pkt_alloc_bulk(p, all, NB);
        assert_int_equal(got, NB - 1);
        for (uint32_t k = 0; k < got; k++)
            assert_ptr_not_equal(all[k], h);
        axl_pkt_free_bulk(p, all, got);
    }
    assert_int_equal(p->lent_total, 4 - 1);
    assert_int_equal(p->lend_returns, 3);
    assert_int_equal(h->data[0], 0x5a);
    uint64_t df = p->double_free;
    axl_pkt_free(p, h); /* held, not lent: only the owner has it */
    assert_int_equal(p->double_free, df + 1);
    assert_true(axl_pkt_is_held(h));
    assert_int_equal(p->nfree, NB - 1);
    /* Reset keeps the owner's state (dirport resets before freeing). */
    assert_int_equal(axl_pkt_lend(p, h), 0);
    axl_pkt_reset(p, h);
    assert_true(axl_pkt_is_held(h) && axl_pkt_is_lent(h));
    axl_pkt_free_chain(p, h); /* a chain of one, through the same path */
    assert_false(axl_pkt_is_lent(h));

    /* Unhold while not lent: recycled at once. */
    axl_pkt_unhold(p, h);
    assert_int_equal(p->nheld, 0);
    assert_int_equal(axl_pool_in_use(p), 0);
    assert_int_equal(h->flags, 0);
    axl_pkt_unhold(p, h); /* not held any more */
    assert_int_equal(p->double_free, df + 2);
}

static void test_unhold_while_lent(void **state)
{
    struct axl_pool *p = *state;
    struct axl_pkt *h = axl_pkt_alloc(p);
    assert_int_equal(axl_pkt_hold(p, h), 0);
    assert_int_equal(axl_pkt_hold(p, h), -1); /* held twice */
    assert_int_equal(axl_pkt_lend(p, h), 0);
    axl_pkt_unhold(p, h); /* the owner goes away while the port has it */
    assert_int_equal(p->nheld, 0);
    assert_int_equal(p->nlent, 0);
    assert_false(axl_pkt_is_held(h));
    assert_int_equal(axl_pool_in_use(p), 1); /* still the port's */
    axl_pkt_free(p, h);                      /* the port is done: recycled */
    assert_int_equal(axl_pool_in_use(p), 0);
    assert_int_equal(p->double_free, 1);

    /* Misuse: a free buffer, a buffer not held, a foreign pointer. */
    assert_int_equal(axl_pkt_hold(p, h), -1);
    struct axl_pkt *n = axl_pkt_alloc(p);
    assert_int_equal(axl_pkt_lend(p, n), -1);
    struct axl_pkt foreign = {.flags = AXL_PKT_F_INUSE};
    assert_int_equal(axl_pkt_hold(p, &foreign), -1);
    assert_int_equal(axl_pkt_lend(p, &foreign), -1);
    axl_pkt_unhold(p, &foreign);
    assert_int_equal(p->bad_free, 3);
    assert_int_equal(p->double_free, 3);
    axl_pkt_free(p, n);
    assert_int_equal(axl_pool_in_use(p), 0);
    assert_int_equal(p->nheld, 0);
}

/* init_fd: two pools over one memfd see the same bytes (the incarnations
 * of a replica), each with its own metadata, all free; a file too small or
 * no fd is refused. */
static void test_init_fd_shared(void **state)
{
    (void)state;
    struct axl_pool a, b;
    const uint32_t n = 64, bs = 2048;
    int fd = memfd_create("test-pool", MFD_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)n * bs - 1), 0);
    assert_int_equal(axl_pool_init_fd(&a, n, bs, 256, fd), AXL_EINVAL); /* one byte short */
    assert_int_equal(axl_pool_init_fd(&a, n, bs, 256, -1), AXL_EINVAL);
    assert_int_equal(ftruncate(fd, (off_t)n * bs), 0);
    assert_int_equal(axl_pool_init_fd(&a, n, bs, 256, fd), 0);
    assert_int_equal(axl_pool_init_fd(&b, n, bs, 256, fd), 0);
    assert_true(a.shared && b.shared);
    assert_int_equal(a.nfree, n);
    assert_int_equal(b.nfree, n);
    struct axl_pkt *p = axl_pkt_alloc(&a);
    assert_non_null(p);
    memcpy(p->data, "hand-over", 9);
    assert_memory_equal(b.base + ((size_t)p->data - (size_t)a.base), "hand-over", 9);
    assert_int_equal(b.nfree, n); /* b's bookkeeping is its own */
    axl_pkt_free(&a, p);
    axl_pool_fini(&a);
    axl_pool_fini(&b);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_args),
        cmocka_unit_test(test_init_fd_shared),
        cmocka_unit_test_setup_teardown(test_alloc_until_empty, pool_setup, pool_teardown),
        cmocka_unit_test_setup_teardown(test_bulk, pool_setup, pool_teardown),
        cmocka_unit_test_setup_teardown(test_lifo_reuse, pool_setup, pool_teardown),
        cmocka_unit_test_setup_teardown(test_chain, pool_setup, pool_teardown),
        cmocka_unit_test_setup_teardown(test_addr_roundtrip, pool_setup, pool_teardown),
        cmocka_unit_test_setup_teardown(test_bad_frees, pool_setup, pool_teardown),
        cmocka_unit_test_setup_teardown(test_hold_lend, pool_setup, pool_teardown),
        cmocka_unit_test_setup_teardown(test_unhold_while_lent, pool_setup, pool_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
