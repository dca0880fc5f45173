/* SPDX-License-Identifier: MIT */
/*
 * test_kv_store.c - the item store of axl-kvd (src/kv/store.c): LRU order and
 * eviction under the memory limit, referenced items never reused (zero-copy
 * sends in flight), zombies freed by the last release, the page mover, cas,
 * incr/decr (wrap, floor, non-numeric), append/prepend, touch, exptime
 * semantics and flush_all now and with a delay. kv_store_check() verifies the
 * LRU, hash and accounting invariants after each test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv/store.h"

#define T0 1700000000

struct sfx {
    void *mem;
    size_t size;
    struct kv_store *st;
};

static void open_store(struct sfx *f, size_t size, uint32_t vmax)
{
    char err[128];
    f->size = size;
    f->mem = aligned_alloc(4096, size);
    assert_non_null(f->mem);
    struct kv_store_cfg cfg = { .value_max = vmax };
    f->st = kv_store_new(f->mem, size, &cfg, err, sizeof(err));
    assert_non_null(f->st);
}

static void close_store(struct sfx *f)
{
    assert_int_equal(kv_store_check(f->st), 0);
    kv_store_free(f->st);
    free(f->mem);
}

static enum kv_status put(struct kv_store *st, const char *key, const char *val, enum kv_op op,
                          uint64_t cas, int64_t exptime, int64_t now)
{
    enum kv_status s;
    struct kv_item *it = kv_alloc(st, key, (uint32_t)strlen(key), 0, exptime,
                                  (uint32_t)strlen(val), now, &s);
    if (!it) return s;
    memcpy(kv_item_value(it), val, strlen(val));
    s = kv_store_item(st, it, op, cas, now);
    kv_release(st, it);
    return s;
}

/* value of key as a string (static buffer), or NULL */
static const char *val(struct kv_store *st, const char *key, int64_t now)
{
    static char buf[4096];
    struct kv_item *it = kv_get(st, key, (uint32_t)strlen(key), now, NULL);
    if (!it) return NULL;
    snprintf(buf, sizeof(buf), "%.*s", (int)it->nbytes, kv_item_value(it));
    kv_release(st, it);
    return buf;
}

static void test_too_small(void **state)
{
    (void)state;
    char err[128];
    static uint8_t mem[1 << 20];
    assert_null(kv_store_new(mem, sizeof(mem), NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "fewer than 2 pages"));
}

/* Items of one size class fill the memory; the least recently used go
 * first, a key read now and then survives. */
static void test_lru_eviction(void **state)
{
    (void)state;
    struct sfx f;
    open_store(&f, 3u << 20, 1000); /* 2 pages of 1 MiB */
    char key[32], v[401];
    memset(v, 'v', 400);
    v[400] = 0;
    int n = 10000; /* far more than fit (~2 x 2100 chunks of ~480 B) */
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "key%d", i);
        assert_int_equal(put(f.st, key, v, KV_SET, 0, 0, T0), KV_STORED);
        if (i % 100 == 0) assert_non_null(val(f.st, "key0", T0)); /* keep key0 hot */
    }
    struct kv_stats *s = kv_store_stats(f.st);
    assert_true(s->evictions > 0);
    assert_int_equal(s->curr_items + s->evictions, (uint64_t)n);
    assert_true(s->bytes <= kv_store_limit(f.st));
    assert_non_null(val(f.st, "key0", T0));
    assert_null(val(f.st, "key1", T0));              /* oldest: gone */
    snprintf(key, sizeof(key), "key%d", n - 1);
    assert_non_null(val(f.st, key, T0));              /* newest: there */
    /* survivors are exactly the most recent ones (plus key0) */
    uint64_t alive = s->curr_items;
    for (uint64_t i = 1; i < alive - 1; i++) {
        snprintf(key, sizeof(key), "key%llu", (unsigned long long)((uint64_t)n - i));
        assert_non_null(val(f.st, key, T0));
    }
    snprintf(key, sizeof(key), "key%llu", (unsigned long long)((uint64_t)n - alive - 1));
    assert_null(val(f.st, key, T0));
    close_store(&f);
}

/* A referenced item (a value being sent zero-copy) is skipped by eviction
 * however often the LRU wraps, and its bytes stay untouched; deleted while
 * referenced it becomes a zombie, freed by the last release. */
static void test_referenced_not_reused(void **state)
{
    (void)state;
    struct sfx f;
    open_store(&f, 3u << 20, 1000);
    char key[32], v[401];
    memset(v, 'a', 400);
    v[400] = 0;
    assert_int_equal(put(f.st, "held", v, KV_SET, 0, 0, T0), KV_STORED);
    struct kv_item *held = kv_get(f.st, "held", 4, T0, NULL);
    assert_non_null(held);
    const char *bytes = kv_item_value(held);
    memset(v, 'b', 400);
    for (int i = 0; i < 20000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        assert_int_equal(put(f.st, key, v, KV_SET, 0, 0, T0), KV_STORED);
    }
    struct kv_stats *s = kv_store_stats(f.st);
    assert_true(s->evict_skipped_ref > 0);
    for (int i = 0; i < 400; i++) assert_int_equal(bytes[i], 'a');
    assert_memory_equal(bytes + 400, "\r\n", 2);
    assert_non_null(val(f.st, "held", T0)); /* still linked: it was never evicted */
    /* overwrite while referenced: the old bytes survive as a zombie */
    assert_int_equal(put(f.st, "held", "new", KV_SET, 0, 0, T0), KV_STORED);
    assert_int_equal(s->zombies, 1);
    for (int i = 0; i < 20000; i++) {
        snprintf(key, sizeof(key), "z%d", i);
        assert_int_equal(put(f.st, key, v, KV_SET, 0, 0, T0), KV_STORED);
        /* keep "held" in use: else, the least recently used item of the
         * store, its page goes to the busier class (page balancing) */
        if (i % 100 == 0) assert_non_null(val(f.st, "held", T0));
    }
    for (int i = 0; i < 400; i++) assert_int_equal(bytes[i], 'a');
    assert_string_equal(val(f.st, "held", T0), "new");
    kv_release(f.st, held);
    assert_int_equal(s->zombies, 0);
    assert_int_equal(s->zombie_bytes, 0);
    close_store(&f);
}

/* Small items take every page; a page-sized item then takes a page from
 * their class (its items evicted). With an item referenced on every page,
 * nothing can move: out of memory. */
static void test_page_mover(void **state)
{
    (void)state;
    struct sfx f;
    open_store(&f, 3u << 20, 1000000);
    char key[32];
    int n = 0;
    struct kv_stats *s = kv_store_stats(f.st);
    while (s->evictions == 0) {
        snprintf(key, sizeof(key), "s%d", n++);
        assert_int_equal(put(f.st, key, "small", KV_SET, 0, 0, T0), KV_STORED);
    }
    static char big[900001];
    memset(big, 'B', 900000);
    assert_int_equal(put(f.st, "big", big, KV_SET, 0, 0, T0), KV_STORED);
    assert_int_equal(s->pages_moved, 1);
    /* reference the big item and one small item on every other page */
    struct kv_item *hb = kv_get(f.st, "big", 3, T0, NULL);
    assert_non_null(hb);
    assert_int_equal(hb->nbytes, 900000);
    assert_int_equal(kv_item_value(hb)[899999], 'B');
    size_t ps = kv_store_page_size(f.st), npages = (f.size - 64) / ps;
    struct kv_item *held[8] = { 0 };
    size_t big_page = (size_t)((uint8_t *)hb - (uint8_t *)f.mem - 64) / ps, nheld = 0;
    for (int i = n - 1; i >= 0 && nheld < npages - 1; i--) {
        snprintf(key, sizeof(key), "s%d", i);
        struct kv_item *it = kv_get(f.st, key, (uint32_t)strlen(key), T0, NULL);
        if (!it) continue;
        size_t pg = (size_t)((uint8_t *)it - (uint8_t *)f.mem - 64) / ps;
        int have = pg == big_page;
        for (size_t j = 0; j < nheld; j++)
            have |= (size_t)((uint8_t *)held[j] - (uint8_t *)f.mem - 64) / ps == pg;
        if (have)
            kv_release(f.st, it);
        else
            held[nheld++] = it;
    }
    assert_int_equal(nheld, npages - 1);
    enum kv_status why;
    assert_null(kv_alloc(f.st, "big2", 4, 0, 0, 900000, T0, &why));
    assert_int_equal(why, KV_NO_MEMORY);
    kv_release(f.st, hb);
    for (size_t j = 0; j < nheld; j++) kv_release(f.st, held[j]);
    /* with the references gone, a page can move again */
    assert_int_equal(put(f.st, "big2", big, KV_SET, 0, 0, T0), KV_STORED);
    close_store(&f);
}

/* Slab calcification (the memcaslap misses of kvd_kernel.sh): every page was
 * handed to a class holding one item; a class filled later must take those
 * pages (page balancing, free rule) rather than evict its own items. */
static void test_page_balance_free(void **state)
{
    (void)state;
    struct sfx f;
    open_store(&f, 8u << 20, 1000); /* 1 MiB pages: 7 */
    static const int lens[] = { 200, 300, 450, 600, 800, 950, 10 };
    char key[32], v[1001];
    memset(v, 'p', sizeof(v) - 1);
    for (int i = 0; i < 7; i++) {
        v[lens[i]] = 0;
        snprintf(key, sizeof(key), "p%d", i);
        assert_int_equal(put(f.st, key, v, KV_SET, 0, 0, T0), KV_STORED);
        v[lens[i]] = 'p';
    }
    struct kv_stats *s = kv_store_stats(f.st);
    const int n = 5 * (int)((1u << 20) / 120); /* 5 pages of 120-byte chunks */
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "f%06d", i);
        snprintf(v, sizeof(v), "%040d", i);
        assert_int_equal(put(f.st, key, v, KV_SET, 0, 0, T0), KV_STORED);
    }
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "f%06d", i);
        snprintf(v, sizeof(v), "%040d", i);
        const char *got = val(f.st, key, T0);
        assert_non_null(got);
        assert_string_equal(got, v);
    }
    assert_true(s->pages_balanced >= 4);
    assert_int_equal(s->evictions, s->pages_balanced); /* one item per moved page */
    close_store(&f);
}

/* A page taken from a class with free chunks elsewhere keeps its items:
 * they are copied ("rescued") into those chunks, values and links intact. */
static void test_page_balance_rescue(void **state)
{
    (void)state;
    struct sfx f;
    open_store(&f, 5u << 20, 1000); /* 4 pages */
    char key[32], v[300];
    const int na = 3 * (int)((1u << 20) / 120); /* class 120 takes 3 pages */
    for (int i = 0; i < na; i++) {
        snprintf(key, sizeof(key), "a%06d", i);
        snprintf(v, sizeof(v), "%040d", i);
        assert_int_equal(put(f.st, key, v, KV_SET, 0, 0, T0), KV_STORED);
    }
    for (int i = 0; i < na; i++) {
        if (i % 3 == 0) continue;
        snprintf(key, sizeof(key), "a%06d", i);
        assert_int_equal(kv_delete(f.st, key, (uint32_t)strlen(key), T0), KV_DELETED);
    }
    struct kv_stats *s = kv_store_stats(f.st);
    const int nb = (int)((1u << 20) / 296) + 100; /* more than one page of 296 */
    for (int i = 0; i < nb; i++) {
        snprintf(key, sizeof(key), "b%06d", i);
        snprintf(v, sizeof(v), "%0200d", i);
        assert_int_equal(put(f.st, key, v, KV_SET, 0, 0, T0), KV_STORED);
    }
    assert_int_equal(kv_store_check(f.st), 0);
    assert_int_equal(s->evictions, 0);
    assert_true(s->pages_balanced >= 1);
    assert_true(s->slab_reassign_rescues > 0);
    for (int i = 0; i < na; i += 3) {
        snprintf(key, sizeof(key), "a%06d", i);
        snprintf(v, sizeof(v), "%040d", i);
        const char *got = val(f.st, key, T0);
        assert_non_null(got);
        assert_string_equal(got, v);
    }
    for (int i = 0; i < nb; i++) {
        snprintf(key, sizeof(key), "b%06d", i);
        assert_non_null(val(f.st, key, T0));
    }
    close_store(&f);
}

/* Age rule: a class whose least recently used item is much older than the
 * requesting class's gives up a page (its cold items go, the new class's
 * recent ones stay); equal ages move nothing. */
static void test_page_balance_age(void **state)
{
    (void)state;
    struct sfx f;
    open_store(&f, 4u << 20, 1000); /* 3 pages */
    char key[32], v[500];
    const int na = 2 * (int)((1u << 20) / 120) - 200; /* 2 pages, nearly full */
    for (int i = 0; i < na; i++) {
        snprintf(key, sizeof(key), "a%06d", i);
        assert_int_equal(put(f.st, key, "0123456789012345678901234567890123456789", KV_SET, 0, 0,
                             T0), KV_STORED);
    }
    struct kv_stats *s = kv_store_stats(f.st);
    const int perb = (int)((1u << 20) / 296);
    /* same time: class b evicts its own items, no page moves */
    for (int i = 0; i < perb + 50; i++) {
        snprintf(key, sizeof(key), "b%06d", i);
        snprintf(v, sizeof(v), "%0200d", i);
        assert_int_equal(put(f.st, key, v, KV_SET, 0, 0, T0), KV_STORED);
    }
    assert_int_equal(s->pages_balanced, 0);
    assert_int_equal(s->evictions, 50);
    /* 100 s later a new class c (no page yet, then out of chunks) takes
     * pages from the class with the oldest LRU tail (a; b is as old, the
     * first wins), never evicting its own recent items */
    const int nc = 2 * (int)((1u << 20) / 576);
    for (int i = 0; i < nc; i++) {
        snprintf(key, sizeof(key), "c%06d", i);
        snprintf(v, sizeof(v), "%0450d", i);
        assert_int_equal(put(f.st, key, v, KV_SET, 0, 0, T0 + 100), KV_STORED);
    }
    assert_int_equal(s->pages_balanced, 2);
    for (int i = 0; i < nc; i++) {
        snprintf(key, sizeof(key), "c%06d", i);
        snprintf(v, sizeof(v), "%0450d", i);
        const char *got = val(f.st, key, T0 + 100);
        assert_non_null(got);
        assert_string_equal(got, v);
    }
    for (int i = 50; i < perb + 50; i++) { /* b kept its page */
        snprintf(key, sizeof(key), "b%06d", i);
        assert_non_null(val(f.st, key, T0 + 100));
    }
    close_store(&f);
}

static void test_cas(void **state)
{
    (void)state;
    struct sfx f;
    open_store(&f, 3u << 20, 1000);
    assert_int_equal(put(f.st, "k", "1", KV_CAS, 1, 0, T0), KV_NOT_FOUND);
    assert_int_equal(put(f.st, "k", "1", KV_SET, 0, 0, T0), KV_STORED);
    struct kv_item *it = kv_get(f.st, "k", 1, T0, NULL);
    uint64_t cas = it->cas;
    kv_release(f.st, it);
    assert_int_equal(put(f.st, "k", "2", KV_CAS, cas + 1, 0, T0), KV_EXISTS);
    assert_int_equal(put(f.st, "k", "2", KV_CAS, cas, 0, T0), KV_STORED);
    assert_int_equal(put(f.st, "k", "3", KV_CAS, cas, 0, T0), KV_EXISTS); /* cas changed */
    assert_string_equal(val(f.st, "k", T0), "2");
    struct kv_stats *s = kv_store_stats(f.st);
    assert_int_equal(s->cas_hits, 1);
    assert_int_equal(s->cas_badval, 2);
    assert_int_equal(s->cas_misses, 1);
    close_store(&f);
}

static void test_arith(void **state)
{
    (void)state;
    struct sfx f;
    open_store(&f, 3u << 20, 1000);
    uint64_t v = 0;
    assert_int_equal(kv_arith(f.st, "n", 1, 1, 1, T0, &v), KV_NOT_FOUND);
    put(f.st, "n", "18446744073709551614", KV_SET, 0, 0, T0);
    assert_int_equal(kv_arith(f.st, "n", 1, 1, 3, T0, &v), KV_OK);
    assert_int_equal(v, 1); /* wrapped at 2^64 */
    assert_string_equal(val(f.st, "n", T0), "1");
    assert_int_equal(kv_arith(f.st, "n", 1, 0, 5, T0, &v), KV_OK);
    assert_int_equal(v, 0); /* decr stops at 0 */
    put(f.st, "n", "99", KV_SET, 0, 0, T0);
    assert_int_equal(kv_arith(f.st, "n", 1, 1, 1, T0, &v), KV_OK);
    assert_string_equal(val(f.st, "n", T0), "100"); /* longer: a new item */
    put(f.st, "p", "  12  ", KV_SET, 0, 0, T0);    /* spaces around: still a number */
    assert_int_equal(kv_arith(f.st, "p", 1, 1, 1, T0, &v), KV_OK);
    assert_int_equal(v, 13);
    const char *bad[] = { "", "abc", "12a", "-1", "99999999999999999999999", "1 2" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        put(f.st, "x", bad[i], KV_SET, 0, 0, T0);
        assert_int_equal(kv_arith(f.st, "x", 1, 1, 1, T0, &v), KV_NON_NUMERIC);
    }
    /* a referenced counter is never changed in place */
    put(f.st, "r", "5", KV_SET, 0, 0, T0);
    struct kv_item *held = kv_get(f.st, "r", 1, T0, NULL);
    assert_int_equal(kv_arith(f.st, "r", 1, 1, 1, T0, &v), KV_OK);
    assert_memory_equal(kv_item_value(held), "5\r\n", 3);
    assert_string_equal(val(f.st, "r", T0), "6");
    kv_release(f.st, held);
    close_store(&f);
}

static void test_append_prepend(void **state)
{
    (void)state;
    struct sfx f;
    open_store(&f, 3u << 20, 1000);
    assert_int_equal(put(f.st, "k", "x", KV_APPEND, 0, 0, T0), KV_NOT_STORED);
    assert_int_equal(put(f.st, "k", "x", KV_PREPEND, 0, 0, T0), KV_NOT_STORED);
    put(f.st, "k", "mid", KV_SET, 0, 0, T0);
    assert_int_equal(put(f.st, "k", "-end", KV_APPEND, 0, 0, T0), KV_STORED);
    assert_int_equal(put(f.st, "k", "start-", KV_PREPEND, 0, 0, T0), KV_STORED);
    assert_string_equal(val(f.st, "k", T0), "start-mid-end");
    /* over the size limit: not stored, old value kept */
    static char v[1001];
    memset(v, 'q', 999);
    assert_int_equal(put(f.st, "k", v, KV_APPEND, 0, 0, T0), KV_NOT_STORED);
    assert_string_equal(val(f.st, "k", T0), "start-mid-end");
    close_store(&f);
}

static void test_exptime_touch(void **state)
{
    (void)state;
    struct sfx f;
    open_store(&f, 3u << 20, 1000);
    assert_int_equal(kv_exptime(T0, 0), 0);
    assert_int_equal(kv_exptime(T0, 10), T0 + 10);
    assert_int_equal(kv_exptime(T0, KV_REL_MAX), T0 + KV_REL_MAX);
    assert_int_equal(kv_exptime(T0, KV_REL_MAX + 1), KV_REL_MAX + 1); /* absolute (past) */
    assert_int_equal(kv_exptime(T0, T0 + 50), T0 + 50);
    assert_true(kv_exptime(T0, -1) <= T0);
    put(f.st, "a", "1", KV_SET, 0, kv_exptime(T0, 10), T0);
    put(f.st, "b", "2", KV_SET, 0, kv_exptime(T0, T0 + 5), T0);
    put(f.st, "c", "3", KV_SET, 0, kv_exptime(T0, -1), T0);
    put(f.st, "d", "4", KV_SET, 0, kv_exptime(T0, KV_REL_MAX + 1), T0);
    assert_null(val(f.st, "c", T0));
    assert_null(val(f.st, "d", T0));
    assert_non_null(val(f.st, "a", T0 + 9));
    assert_null(val(f.st, "a", T0 + 10));
    assert_non_null(val(f.st, "b", T0 + 4));
    assert_null(val(f.st, "b", T0 + 5));
    put(f.st, "t", "1", KV_SET, 0, kv_exptime(T0, 10), T0);
    assert_int_equal(kv_touch(f.st, "t", 1, kv_exptime(T0 + 5, 100), T0 + 5), KV_TOUCHED);
    assert_non_null(val(f.st, "t", T0 + 50));
    assert_int_equal(kv_touch(f.st, "t", 1, 0, T0 + 50), KV_TOUCHED); /* never expires now */
    assert_non_null(val(f.st, "t", T0 + 10000000));
    assert_int_equal(kv_touch(f.st, "zz", 2, 0, T0), KV_NOT_FOUND);
    assert_true(kv_store_stats(f.st)->reclaimed >= 4);
    close_store(&f);
}

static void test_flush_all(void **state)
{
    (void)state;
    struct sfx f;
    open_store(&f, 3u << 20, 1000);
    put(f.st, "a", "1", KV_SET, 0, 0, T0);
    kv_flush_all(f.st, 0, T0);
    assert_null(val(f.st, "a", T0));
    put(f.st, "a", "2", KV_SET, 0, 0, T0); /* same second, after the flush: alive */
    assert_string_equal(val(f.st, "a", T0), "2");
    /* delayed: items stored before the deadline die at the deadline */
    kv_flush_all(f.st, T0 + 10, T0);
    put(f.st, "b", "3", KV_SET, 0, 0, T0 + 5);
    assert_non_null(val(f.st, "a", T0 + 9));
    assert_non_null(val(f.st, "b", T0 + 9));
    assert_null(val(f.st, "a", T0 + 10));
    assert_null(val(f.st, "b", T0 + 10));
    put(f.st, "c", "4", KV_SET, 0, 0, T0 + 11);
    assert_non_null(val(f.st, "c", T0 + 12));
    assert_int_equal(kv_delete(f.st, "b", 1, T0 + 12), KV_NOT_FOUND);
    assert_int_equal(kv_delete(f.st, "c", 1, T0 + 12), KV_DELETED);
    close_store(&f);
}

/* add keeps the old item; replace needs one; set after delete. */
static void test_add_replace(void **state)
{
    (void)state;
    struct sfx f;
    open_store(&f, 3u << 20, 1000);
    assert_int_equal(put(f.st, "k", "1", KV_REPLACE, 0, 0, T0), KV_NOT_STORED);
    assert_int_equal(put(f.st, "k", "1", KV_ADD, 0, 0, T0), KV_STORED);
    assert_int_equal(put(f.st, "k", "2", KV_ADD, 0, 0, T0), KV_NOT_STORED);
    assert_int_equal(put(f.st, "k", "3", KV_REPLACE, 0, 0, T0), KV_STORED);
    assert_string_equal(val(f.st, "k", T0), "3");
    /* an expired item does not block add */
    put(f.st, "e", "1", KV_SET, 0, T0 + 1, T0);
    assert_int_equal(put(f.st, "e", "2", KV_ADD, 0, 0, T0 + 2), KV_STORED);
    enum kv_status why;
    assert_null(kv_alloc(f.st, "big", 3, 0, 0, 1001, T0, &why));
    assert_int_equal(why, KV_TOO_LARGE);
    close_store(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_too_small),
        cmocka_unit_test(test_lru_eviction),
        cmocka_unit_test(test_referenced_not_reused),
        cmocka_unit_test(test_page_mover),
        cmocka_unit_test(test_page_balance_free),
        cmocka_unit_test(test_page_balance_rescue),
        cmocka_unit_test(test_page_balance_age),
        cmocka_unit_test(test_cas),
        cmocka_unit_test(test_arith),
        cmocka_unit_test(test_append_prepend),
        cmocka_unit_test(test_exptime_touch),
        cmocka_unit_test(test_flush_all),
        cmocka_unit_test(test_add_replace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
