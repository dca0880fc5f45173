/* SPDX-License-Identifier: MIT */
/*
 * test_hash.c - unit tests of core/hash.c: the SipHash-2-4 reference vector
 * (and its full 64-message table spot-checked), axl_hash_bytes behaviour,
 * the intrusive table with 100k nodes (insert, lookup, remove, grow), and
 * the symmetry of axl_flow_hash_sym.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/compiler.h"
#include "core/err.h"
#include "core/hash.h"
#include "core/rand.h"

static void test_siphash_vectors(void **state)
{
    (void)state;
    uint8_t key[16], msg[64];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)i;
    for (int i = 0; i < 64; i++)
        msg[i] = (uint8_t)i;
    /* SipHash paper, appendix A: key 00..0f, message 00..0e. */
    assert_int_equal(axl_siphash24(key, msg, 15), 0xa129ca6149be45e5ull);
    /* From the reference implementation's vector table (vectors.h), read as
     * little-endian 64-bit words: empty message, 8 bytes (a full word and
     * an empty tail), 63 bytes (every tail length path). */
    assert_int_equal(axl_siphash24(key, msg, 0), 0x726fdb47dd0e0e31ull);
    assert_int_equal(axl_siphash24(key, msg, 1), 0x74f839c593dc67fdull);
    assert_int_equal(axl_siphash24(key, msg, 8), 0x93f5f5799a932462ull);
    assert_int_equal(axl_siphash24(key, msg, 63), 0x958a324ceb064572ull);
    /* Keyed: another key, another value; unaligned input, same value. */
    uint8_t key2[16];
    memcpy(key2, key, 16);
    key2[15] ^= 1;
    assert_int_not_equal(axl_siphash24(key2, msg, 15), 0xa129ca6149be45e5ull);
    uint8_t buf[80];
    memcpy(buf + 3, msg, 15);
    assert_int_equal(axl_siphash24(key, buf + 3, 15), 0xa129ca6149be45e5ull);
}

static void test_hash_bytes(void **state)
{
    (void)state;
    uint8_t a[64], b[80];
    for (int i = 0; i < 64; i++)
        a[i] = (uint8_t)(i * 7 + 1);
    memcpy(b + 1, a, 64);
    for (size_t len = 0; len <= 64; len++) {
        /* Deterministic, alignment-independent, seed-dependent. */
        assert_int_equal(axl_hash_bytes(a, len, 5), axl_hash_bytes(b + 1, len, 5));
        assert_int_not_equal(axl_hash_bytes(a, len, 5), axl_hash_bytes(a, len, 6));
        if (len > 0) assert_int_not_equal(axl_hash_bytes(a, len, 5), axl_hash_bytes(a, len - 1, 5));
    }
    /* Every single-bit flip of a 13-byte key changes the hash, and about half
     * of the output bits on average (avalanche, loosely). */
    uint8_t k[13] = {0};
    uint32_t h0 = axl_hash_bytes(k, sizeof(k), 0);
    unsigned total = 0;
    for (unsigned bit = 0; bit < 8 * sizeof(k); bit++) {
        k[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        uint32_t h = axl_hash_bytes(k, sizeof(k), 0);
        assert_int_not_equal(h, h0);
        total += (unsigned)__builtin_popcount(h ^ h0);
        k[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    double avg = (double)total / (8 * sizeof(k));
    assert_true(avg > 12.0 && avg < 20.0);
}

struct item {
    struct axl_hnode node;
    uint64_t key;
    int present;
};

static uint32_t item_hash(uint64_t key)
{
    return axl_hash_bytes(&key, sizeof(key), 0x1234);
}

static struct item *lookup(const struct axl_htab *h, uint64_t key)
{
    uint32_t hv = item_hash(key);
    for (struct axl_hnode *n = axl_htab_bucket(h, hv); n; n = n->next) {
        if (n->hash != hv) continue;
        struct item *it = axl_container_of(n, struct item, node);
        if (it->key == key) return it;
    }
    return NULL;
}

#define NITEMS 100000

static void test_htab(void **state)
{
    (void)state;
    struct axl_htab h;
    assert_int_equal(axl_htab_init(&h, 0), AXL_EINVAL);
    assert_int_equal(axl_htab_init(&h, 100), AXL_EINVAL);
    assert_int_equal(axl_htab_init(&h, 16), 0);
    assert_int_equal(h.mask, 15);

    struct item *items = calloc(NITEMS, sizeof(*items));
    assert_non_null(items);
    for (uint32_t i = 0; i < NITEMS; i++) {
        items[i].key = (uint64_t)i * 0x9e3779b97f4a7c15ull;
        axl_htab_insert(&h, &items[i].node, item_hash(items[i].key));
        items[i].present = 1;
        /* The caller grows at load factor 1. */
        if (h.count > h.mask + 1) assert_int_equal(axl_htab_grow(&h), 0);
    }
    assert_int_equal(h.count, NITEMS);
    assert_int_equal(h.mask + 1, 131072);
    for (uint32_t i = 0; i < NITEMS; i++)
        assert_ptr_equal(lookup(&h, items[i].key), &items[i]);
    assert_null(lookup(&h, 12345)); /* not a multiple of the constant */

    /* Chains stay short with a decent hash. */
    uint32_t longest = 0;
    for (uint32_t b = 0; b <= h.mask; b++) {
        uint32_t len = 0;
        for (struct axl_hnode *n = h.buckets[b]; n; n = n->next)
            len++;
        longest = AXL_MAX(longest, len);
    }
    assert_true(longest <= 12);

    /* Remove every third, then check presence and absence. */
    for (uint32_t i = 0; i < NITEMS; i += 3) {
        axl_htab_remove(&h, &items[i].node);
        items[i].present = 0;
    }
    assert_int_equal(h.count, NITEMS - (NITEMS + 2) / 3);
    assert_int_equal(axl_htab_grow(&h), 0); /* rehash with holes */
    for (uint32_t i = 0; i < NITEMS; i++)
        assert_ptr_equal(lookup(&h, items[i].key), items[i].present ? &items[i] : NULL);

    /* Remove the rest; the table ends empty. */
    for (uint32_t i = 0; i < NITEMS; i++)
        if (items[i].present) axl_htab_remove(&h, &items[i].node);
    assert_int_equal(h.count, 0);
    for (uint32_t b = 0; b <= h.mask; b++)
        assert_null(h.buckets[b]);
    axl_htab_fini(&h);
    assert_null(h.buckets);
    free(items);
}

static void test_htab_same_hash(void **state)
{
    (void)state;
    /* Distinct keys with one hash value share a chain; removal from the
     * middle, head and tail keeps the others reachable. */
    struct axl_htab h;
    assert_int_equal(axl_htab_init(&h, 4), 0);
    struct item it[5];
    for (int i = 0; i < 5; i++) {
        it[i].key = (uint64_t)i;
        axl_htab_insert(&h, &it[i].node, 77);
    }
    axl_htab_remove(&h, &it[2].node);
    axl_htab_remove(&h, &it[4].node); /* head (inserted last) */
    axl_htab_remove(&h, &it[0].node); /* tail */
    int seen[5] = {0};
    for (struct axl_hnode *n = axl_htab_bucket(&h, 77); n; n = n->next)
        seen[axl_container_of(n, struct item, node)->key]++;
    assert_int_equal(seen[1] + seen[3], 2);
    assert_int_equal(seen[0] + seen[2] + seen[4], 0);
    assert_int_equal(h.count, 2);
    axl_htab_fini(&h);
}

static void test_flow_hash_sym(void **state)
{
    (void)state;
    struct axl_rand r;
    axl_rand_seed(&r, 2024);
    uint32_t buckets[16] = {0};
    for (int i = 0; i < 200000; i++) {
        uint32_t sa = (uint32_t)axl_rand_u64(&r), da = (uint32_t)axl_rand_u64(&r);
        uint16_t sp = (uint16_t)axl_rand_u64(&r), dp = (uint16_t)axl_rand_u64(&r);
        uint8_t pr = (i & 1) ? 6 : 17;
        if (i % 10 == 0) da = sa; /* same address both ends */
        uint32_t h1 = axl_flow_hash_sym(sa, da, sp, dp, pr);
        assert_int_equal(h1, axl_flow_hash_sym(da, sa, dp, sp, pr));
        buckets[h1 & 15]++;
    }
    /* Spread: each of 16 queues gets its share within 5 %. */
    for (int b = 0; b < 16; b++)
        assert_true(buckets[b] > 200000 / 16 * 95 / 100 && buckets[b] < 200000 / 16 * 105 / 100);
    /* Different flows between the same hosts differ. */
    uint32_t a = axl_flow_hash_sym(0xc6120001, 0xc6120002, 1000, 80, 6);
    assert_int_not_equal(a, axl_flow_hash_sym(0xc6120001, 0xc6120002, 1001, 80, 6));
    assert_int_not_equal(a, axl_flow_hash_sym(0xc6120001, 0xc6120002, 1000, 80, 17));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_siphash_vectors),
        cmocka_unit_test(test_hash_bytes),
        cmocka_unit_test(test_htab),
        cmocka_unit_test(test_htab_same_hash),
        cmocka_unit_test(test_flow_hash_sym),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
