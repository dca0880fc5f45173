/* SPDX-License-Identifier: MIT */
/*
 * test_kv_proto.c - the memcached text protocol of axl-kvd (src/kv/proto.c):
 * a table of sessions (input -> exact reply bytes, as memcached answers),
 * each fed whole, one byte at a time, and in pseudo-random splits; plus the
 * line limit (garbage closes the connection), multi-get lines, quit,
 * back-pressure and zero-copy reply pieces that keep their item alive. The
 * table runs with values by reference, all copied (copy_max) and mixed; small
 * values copied make a reply one piece.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv/proto.h"
#include "kv/store.h"

#define NOW 1700000000
#define MEM (4u << 20)
#define VMAX 1000u

struct fx {
    void *mem;
    struct kv_store *st;
    struct kv_conn *c;
    struct kv_server_info info;
};

static void fx_open(struct fx *f)
{
    char err[128];
    f->mem = aligned_alloc(4096, MEM);
    assert_non_null(f->mem);
    struct kv_store_cfg cfg = { .value_max = VMAX };
    f->st = kv_store_new(f->mem, MEM, &cfg, err, sizeof(err));
    assert_non_null(f->st);
    f->info = (struct kv_server_info){ .started = NOW - 5, .pid = 42, .maxconns = 1024, .strict_keys = 1 };
    f->c = kv_conn_new(f->st, &f->info);
    assert_non_null(f->c);
}

static void fx_close(struct fx *f)
{
    kv_conn_free(f->c);
    assert_int_equal(kv_store_check(f->st), 0);
    assert_int_equal(kv_store_stats(f->st)->zombies, 0);
    kv_store_free(f->st);
    free(f->mem);
}

/* Feed `in` in pieces of the sizes step() returns, draining after each. */
static size_t run(struct fx *f, const char *in, size_t n, size_t (*step)(size_t i, size_t left),
                  char *out, size_t cap)
{
    size_t i = 0, o = 0;
    while (i < n) {
        size_t k = step(i, n - i);
        size_t used = kv_conn_input(f->c, (const uint8_t *)in + i, k, NOW);
        o += kv_conn_drain(f->c, out + o, cap - o);
        if (used == 0 && kv_conn_closing(f->c)) break;
        i += used; /* less than k only under back-pressure: feed the rest again */
    }
    o += kv_conn_drain(f->c, out + o, cap - o);
    return o;
}

static size_t whole(size_t i, size_t left) { (void)i; return left; }
static size_t bytewise(size_t i, size_t left) { (void)i; (void)left; return 1; }
static size_t ragged(size_t i, size_t left)
{
    size_t k = (i * 2654435761u >> 7) % 13 + 1;
    return k < left ? k : left;
}

struct tcase {
    const char *name;
    const char *in;
    const char *out;
};

static char big_set[2600], big_get[4000];

static const struct tcase cases[] = {
    { "set/get", "set a 5 0 3\r\nabc\r\nget a\r\n", "STORED\r\nVALUE a 5 3\r\nabc\r\nEND\r\n" },
    { "gets has cas", "set a 0 0 1\r\nx\r\ngets a\r\n", "STORED\r\nVALUE a 0 1 1\r\nx\r\nEND\r\n" },
    { "empty value", "set e 0 0 0\r\n\r\nget e\r\n", "STORED\r\nVALUE e 0 0\r\n\r\nEND\r\n" },
    { "cas", "set k 0 0 1\r\na\r\ncas k 0 0 1 1\r\nb\r\ncas k 0 0 1 1\r\nc\r\n"
             "cas nokey 0 0 1 5\r\nd\r\nget k\r\n",
      "STORED\r\nSTORED\r\nEXISTS\r\nNOT_FOUND\r\nVALUE k 0 1\r\nb\r\nEND\r\n" },
    { "add/replace", "add k 0 0 1\r\na\r\nadd k 0 0 1\r\nb\r\nreplace k 0 0 1\r\nc\r\n"
                     "replace z 0 0 1\r\nd\r\nget k z\r\n",
      "STORED\r\nNOT_STORED\r\nSTORED\r\nNOT_STORED\r\nVALUE k 0 1\r\nc\r\nEND\r\n" },
    { "append/prepend", "set k 7 0 2\r\nbb\r\nappend k 0 0 2\r\ncc\r\nprepend k 9 0 2\r\naa\r\n"
                        "append z 0 0 1\r\nx\r\nget k\r\n",
      "STORED\r\nSTORED\r\nSTORED\r\nNOT_STORED\r\nVALUE k 7 6\r\naabbcc\r\nEND\r\n" },
    { "delete", "set k 0 0 1\r\na\r\ndelete k\r\ndelete k\r\ndelete k 0\r\ndelete k 5\r\n"
                "delete k noreply\r\ndelete k 0 noreply\r\ndelete\r\n",
      "STORED\r\nDELETED\r\nNOT_FOUND\r\nNOT_FOUND\r\n"
      "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\nERROR\r\n" },
    { "incr/decr", "set n 0 0 2\r\n10\r\nincr n 5\r\ndecr n 100\r\nincr n 18446744073709551615\r\n"
                   "incr nokey 1\r\nset s 0 0 3\r\nabc\r\nincr s 1\r\nincr n abc\r\nincr n -1\r\n"
                   "decr n 1\r\nget n\r\n",
      "STORED\r\n15\r\n0\r\n18446744073709551615\r\nNOT_FOUND\r\nSTORED\r\n"
      "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"
      "CLIENT_ERROR invalid numeric delta argument\r\nCLIENT_ERROR invalid numeric delta argument\r\n"
      "18446744073709551614\r\nVALUE n 0 20\r\n18446744073709551614\r\nEND\r\n" },
    { "incr wraps", "set n 3 0 20\r\n18446744073709551615\r\nincr n 2\r\nget n\r\n",
      "STORED\r\n1\r\nVALUE n 3 1\r\n1\r\nEND\r\n" },
    { "touch", "set k 0 0 1\r\na\r\ntouch k 10\r\ntouch z 10\r\ntouch k abc\r\ntouch k -1\r\nget k\r\n",
      "STORED\r\nTOUCHED\r\nNOT_FOUND\r\nCLIENT_ERROR invalid exptime argument\r\nTOUCHED\r\nEND\r\n" },
    { "negative exptime", "set k 0 -1 1\r\na\r\nget k\r\n", "STORED\r\nEND\r\n" },
    { "absolute exptime", "set p 0 1600000000 1\r\na\r\nset f 0 1800000000 1\r\nb\r\nget p f\r\n",
      "STORED\r\nSTORED\r\nVALUE f 0 1\r\nb\r\nEND\r\n" },
    { "noreply", "set k 0 0 1 noreply\r\na\r\nget k\r\nadd k 0 0 1 noreply\r\nb\r\n"
                 "incr k 1 noreply\r\nflush_all noreply\r\nget k\r\n",
      "VALUE k 0 1\r\na\r\nEND\r\nEND\r\n" },
    { "unknown commands", "bogus\r\n\r\nx\r\nGET a\r\nset k 0 0\r\nget\r\nincr k\r\n",
      "ERROR\r\nERROR\r\nERROR\r\nERROR\r\nERROR\r\nERROR\r\nERROR\r\n" },
    { "bad format", "set k abc 0 1\r\nx\r\nset k 0 0 -1\r\nset k 0 0 1x\r\nset k 4294967296 0 1\r\n",
      "CLIENT_ERROR bad command line format\r\nERROR\r\nCLIENT_ERROR bad command line format\r\n"
      "CLIENT_ERROR bad command line format\r\nCLIENT_ERROR bad command line format\r\n" },
    { "key control char", "get a\x01z\r\nset a\x7fz 0 0 1\r\n",
      "CLIENT_ERROR bad command line format\r\nCLIENT_ERROR bad command line format\r\n" },
    { "bad data chunk", "set k 0 0 1\r\nabc\r\nget k\r\n",
      "CLIENT_ERROR bad data chunk\r\nERROR\r\nEND\r\n" },
    { "too large swallowed", NULL /* big_set */, NULL },
    { "flush_all", "set k 0 0 1\r\na\r\nflush_all\r\nget k\r\nset k 0 0 1\r\nb\r\nget k\r\n"
                   "flush_all 100\r\nget k\r\nflush_all x\r\nflush_all 0\r\nget k\r\n",
      "STORED\r\nOK\r\nEND\r\nSTORED\r\nVALUE k 0 1\r\nb\r\nEND\r\nOK\r\nVALUE k 0 1\r\nb\r\nEND\r\n"
      "CLIENT_ERROR invalid exptime argument\r\nOK\r\nEND\r\n" },
    { "version/verbosity", "version\r\nverbosity 1\r\nverbosity\r\nverbosity x\r\nverbosity 1 noreply\r\n",
      "VERSION " KV_VERSION "\r\nOK\r\nERROR\r\nCLIENT_ERROR bad command line format\r\n" },
    { "multi-get", "set a 0 0 1\r\n1\r\nset b 0 0 1\r\n2\r\nget a x  b\r\n",
      "STORED\r\nSTORED\r\nVALUE a 0 1\r\n1\r\nVALUE b 0 1\r\n2\r\nEND\r\n" },
    { "bare LF line ends", "set a 0 0 1\nx\r\nget a\n", "STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n" },
    { "gat/gats", "set a 0 0 1\r\nx\r\ngat 100 a\r\ngats 100 a b\r\ngat -1 a\r\nget a\r\ngat x a\r\n",
      "STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\nVALUE a 0 1 1\r\nx\r\nEND\r\n"
      "VALUE a 0 1\r\nx\r\nEND\r\nEND\r\nCLIENT_ERROR invalid exptime argument\r\n" },
    { "meta get/set/delete", "mn\r\nms k 2 T0 F5\r\nhi\r\nmg k v f s\r\nmg z v\r\nmg z v q\r\nmn\r\n"
                             "md k\r\nmd k q\r\nmd k\r\nms k 2 q\r\nhi\r\nmg k k O123 c\r\n",
      "MN\r\nHD\r\nVA 2 f5 s2\r\nhi\r\nEN\r\nMN\r\nHD\r\nNF\r\nNF\r\nHD c2 O123 kk\r\n" },
    { "meta set modes", "ms k 1 ME\r\na\r\nms k 1 ME\r\nb\r\nms k 1 MA\r\nc\r\nms k 1 C99\r\nd\r\n"
                        "ms k 1 MX\r\ne\r\nmg k v\r\n",
      "HD\r\nNS\r\nHD\r\nEX\r\nCLIENT_ERROR invalid mode for ms\r\nVA 2\r\nac\r\n" },
    { "meta arithmetic", "set n 0 0 1\r\n5\r\nma n\r\nma n v\r\nma n MD D3 v\r\nma z\r\nma z N0 J9 v\r\n",
      "STORED\r\nHD\r\nVA 1\r\n7\r\nVA 1\r\n4\r\nNF\r\nVA 1\r\n9\r\n" },
    { "meta errors", "mg\r\nmz k\r\nmg k vv v\r\nmg k X\r\nmg k b\r\nme z\r\n",
      "CLIENT_ERROR bad command line format\r\nERROR\r\nCLIENT_ERROR duplicate flag\r\n"
      "CLIENT_ERROR invalid flag\r\nCLIENT_ERROR invalid flag\r\nEN\r\n" },
    { "stats subcommands", "stats reset\r\nstats bogus\r\nshutdown\r\n",
      "RESET\r\nERROR\r\nERROR: shutdown not enabled\r\n" },
    { "long get line", NULL /* big_get */, NULL },
};

static char big_set_out[200], big_get_out[200];

static void build_big(void)
{
    /* a value above the limit (VMAX) is refused and its bytes swallowed;
     * the old value of a failed set is dropped, as memcached does */
    int n = snprintf(big_set, sizeof(big_set), "set k 0 0 1\r\na\r\nset k 0 0 %u\r\n", VMAX + 1);
    memset(big_set + n, 'v', VMAX + 1);
    n += VMAX + 1;
    n += snprintf(big_set + n, sizeof(big_set) - (size_t)n, "\r\nget k\r\n");
    snprintf(big_set_out, sizeof(big_set_out),
             "STORED\r\nSERVER_ERROR object too large for cache\r\nEND\r\n");
    /* a get line of 3000+ bytes (more than KV_LINE_MAX) is served */
    n = snprintf(big_get, sizeof(big_get), "set zz 0 0 1\r\nq\r\nget");
    for (int i = 0; i < 300; i++) n += snprintf(big_get + n, sizeof(big_get) - (size_t)n, " key%06d", i);
    n += snprintf(big_get + n, sizeof(big_get) - (size_t)n, " zz\r\n");
    snprintf(big_get_out, sizeof(big_get_out), "STORED\r\nVALUE zz 0 1\r\nq\r\nEND\r\n");
}

static void check_case(const struct tcase *tc, size_t (*step)(size_t, size_t), const char *how,
                       uint32_t copy_max)
{
    const char *in = tc->in, *want = tc->out;
    if (!in && strcmp(tc->name, "too large swallowed") == 0) in = big_set, want = big_set_out;
    if (!in && strcmp(tc->name, "long get line") == 0) in = big_get, want = big_get_out;
    struct fx f;
    fx_open(&f);
    f.info.copy_max = copy_max;
    static char out[1 << 16];
    size_t n = run(&f, in, strlen(in), step, out, sizeof(out));
    if (n != strlen(want) || memcmp(out, want, n) != 0) {
        fprintf(stderr, "case '%s' (%s, copy_max %u):\n--- want\n%s\n--- got\n%.*s\n", tc->name,
                how, copy_max, want, (int)n, out);
        fail();
    }
    fx_close(&f);
}

static void test_table_whole(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        check_case(&cases[i], whole, "whole", 0);
        check_case(&cases[i], whole, "whole", 4);
        check_case(&cases[i], whole, "whole", KV_COPY_MAX_DEFAULT);
    }
}

static void test_table_bytewise(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_case(&cases[i], bytewise, "one byte at a time", KV_COPY_MAX_DEFAULT);
}

static void test_table_ragged(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) check_case(&cases[i], ragged, "ragged", 4);
}

/* stats: the counters move and the names memcached clients read are there. */
static void test_stats(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f);
    const char *in = "set a 0 0 1\r\nx\r\nget a\r\nget b\r\nbogus\r\nstats\r\n";
    static char out[1 << 16];
    size_t n = run(&f, in, strlen(in), whole, out, sizeof(out) - 1);
    out[n] = 0;
    const char *want[] = { "STAT pid 42\r\n", "STAT uptime 5\r\n", "STAT curr_items 1\r\n",
                           "STAT total_items 1\r\n", "STAT get_hits 1\r\n", "STAT get_misses 1\r\n",
                           "STAT cmd_get 2\r\n", "STAT cmd_set 1\r\n", "STAT evictions 0\r\n",
                           "STAT err_unknown_command 1\r\n", "STAT limit_maxbytes ", "STAT bytes ",
                           "STAT curr_connections ", "STAT version " KV_VERSION "\r\n" };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!strstr(out, want[i])) {
            fprintf(stderr, "missing %s in\n%s\n", want[i], out);
            fail();
        }
    assert_non_null(strstr(out, "END\r\n"));
    assert_true(strlen(out) > 500);
    fx_close(&f);
}

/* Garbage without a newline closes the connection after KV_LINE_MAX bytes,
 * fed whole or byte by byte; a get line may be longer. */
static void test_line_limit(void **state)
{
    (void)state;
    static char junk[KV_LINE_MAX + 100];
    memset(junk, 'x', sizeof(junk));
    for (int bytewise_feed = 0; bytewise_feed < 2; bytewise_feed++) {
        struct fx f;
        fx_open(&f);
        size_t i = 0;
        while (i < sizeof(junk) && !kv_conn_closing(f.c))
            i += kv_conn_input(f.c, (const uint8_t *)junk + i, bytewise_feed ? 1 : sizeof(junk) - i, NOW);
        assert_int_equal(kv_conn_closing(f.c), KV_CLOSE_LINE);
        assert_true(i <= KV_LINE_MAX + 2 || !bytewise_feed);
        assert_int_equal(kv_store_stats(f.st)->conn_line_too_long, 1);
        assert_int_equal(kv_conn_drain(f.c, NULL, 0), 0);
        fx_close(&f);
    }
    /* a whole over-long line that is not a get closes too */
    struct fx f;
    fx_open(&f);
    junk[sizeof(junk) - 1] = '\n';
    kv_conn_input(f.c, (const uint8_t *)junk, sizeof(junk), NOW);
    assert_int_equal(kv_conn_closing(f.c), KV_CLOSE_LINE);
    fx_close(&f);
}

/* Without strict keys (the default, as memcached): control characters in
 * keys are accepted (memcaslap sends them). */
static void test_lenient_keys(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f);
    f.info.strict_keys = 0;
    const char *in = "set \x10\x10key 0 0 1\r\nx\r\nget \x10\x10key\r\n";
    static char out[256];
    size_t n = run(&f, in, strlen(in), whole, out, sizeof(out));
    const char *want = "STORED\r\nVALUE \x10\x10key 0 1\r\nx\r\nEND\r\n";
    assert_int_equal(n, strlen(want));
    assert_memory_equal(out, want, n);
    fx_close(&f);
}

static void test_quit(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f);
    const char *in = "get a\r\nquit\r\nget a\r\n";
    size_t used = kv_conn_input(f.c, (const uint8_t *)in, strlen(in), NOW);
    assert_int_equal(used, strlen(in));
    assert_int_equal(kv_conn_closing(f.c), KV_CLOSE_QUIT);
    char out[64];
    size_t n = kv_conn_drain(f.c, out, sizeof(out));
    assert_int_equal(n, 5);
    assert_memory_equal(out, "END\r\n", 5);
    fx_close(&f);
}

/* Replies pile up while nobody drains: input stops being consumed at the
 * high-water mark, and resumes once drained. */
static void test_backpressure(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f);
    char set[VMAX + 64];
    int n = snprintf(set, sizeof(set), "set v 0 0 %u\r\n", VMAX);
    memset(set + n, 'z', VMAX);
    memcpy(set + n + VMAX, "\r\n", 2);
    assert_int_equal(kv_conn_input(f.c, (const uint8_t *)set, (size_t)n + VMAX + 2, NOW), (size_t)n + VMAX + 2);
    kv_conn_drain(f.c, NULL, 0);
    static char gets[8 * 20000 + 1];
    size_t len = 0;
    for (int i = 0; i < 20000; i++) len += (size_t)snprintf(gets + len, sizeof(gets) - len, "gets v\r\n");
    size_t used = kv_conn_input(f.c, (const uint8_t *)gets, len, NOW);
    assert_true(used < len);
    uint64_t bytes;
    uint32_t ents = kv_conn_out_pending(f.c, &bytes);
    assert_true(ents > KV_OUT_ENTS_HIGH || bytes > KV_OUT_HIGH);
    assert_int_equal(kv_conn_input(f.c, (const uint8_t *)gets + used, len - used, NOW), 0);
    size_t total = kv_conn_drain(f.c, NULL, 0);
    while (used < len) {
        size_t k = kv_conn_input(f.c, (const uint8_t *)gets + used, len - used, NOW);
        assert_true(k > 0);
        used += k;
        total += kv_conn_drain(f.c, NULL, 0);
    }
    assert_int_equal(total, 20000u * (strlen("VALUE v 0 1000 1\r\n") + VMAX + 2 + 5));
    fx_close(&f);
}

/* A reply piece taken for a zero-copy send keeps its bytes: the key is
 * overwritten and deleted meanwhile, the old value stays intact in the arena
 * until released. (copy_max 0: every value by reference.) */
static void test_zero_copy_piece(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f);
    const char *in = "set k 0 0 5\r\nhello\r\nget k\r\n";
    kv_conn_input(f.c, (const uint8_t *)in, strlen(in), NOW);
    struct kv_out o;
    struct kv_item *held = NULL;
    const uint8_t *p = NULL;
    uint64_t off = 0;
    while (kv_conn_out_peek(f.c, &o)) {
        if (o.kind == KV_OUT_ITEM) {
            held = o.it;
            p = o.p;
            off = o.off;
            assert_int_equal(o.len, 7);
            assert_ptr_equal(kv_conn_out_take(f.c, 3), held); /* in two parts: two references */
            assert_true(kv_conn_out_peek(f.c, &o));
            assert_int_equal(o.len, 4);
            assert_ptr_equal(o.p, p + 3);
            assert_ptr_equal(kv_conn_out_take(f.c, o.len), held);
            assert_int_equal(held->refcount, 2);
            kv_release(f.st, held);
        } else {
            kv_conn_out_consume(f.c, o.len);
        }
    }
    assert_non_null(held);
    assert_ptr_equal(p, (const uint8_t *)f.mem + off);
    assert_memory_equal(p, "hello\r\n", 7);
    const char *in2 = "set k 0 0 5\r\nWORLD\r\ndelete k\r\nset k 0 0 5\r\nagain\r\n";
    kv_conn_input(f.c, (const uint8_t *)in2, strlen(in2), NOW);
    kv_conn_drain(f.c, NULL, 0);
    assert_memory_equal(p, "hello\r\n", 7);
    assert_int_equal(kv_store_stats(f.st)->zombies, 1);
    kv_release(f.st, held);
    assert_int_equal(kv_store_stats(f.st)->zombies, 0);
    fx_close(&f);
}

/* copy_max: pipelined replies with small values are one COPY piece (one
 * send) holding no reference; a value above copy_max is still an ITEM piece
 * (zero-copy) between the header and END. */
static void test_small_values_copied(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f);
    f.info.copy_max = 64;
    char in[512];
    int n = snprintf(in, sizeof(in), "set k 0 0 5\r\nhello\r\nset b 0 0 63\r\n%063d\r\n", 7);
    assert_int_equal(kv_conn_input(f.c, (const uint8_t *)in, (size_t)n, NOW), (size_t)n);
    kv_conn_drain(f.c, NULL, 0);
    const char *gets = "get k\r\nget k\r\nget b k\r\n";
    assert_int_equal(kv_conn_input(f.c, (const uint8_t *)gets, strlen(gets), NOW), strlen(gets));
    /* overwritten and deleted before the replies are sent: no zombie, the
     * copied bytes are the old value */
    const char *upd = "set k 0 0 5\r\nWORLD\r\ndelete k\r\n";
    assert_int_equal(kv_conn_input(f.c, (const uint8_t *)upd, strlen(upd), NOW), strlen(upd));
    assert_int_equal(kv_store_stats(f.st)->zombies, 0);
    struct kv_out o;
    assert_true(kv_conn_out_peek(f.c, &o));
    assert_int_equal(o.kind, KV_OUT_COPY);
    const char *want1 = "VALUE k 0 5\r\nhello\r\nEND\r\nVALUE k 0 5\r\nhello\r\nEND\r\n"
                        "VALUE b 0 63\r\n";
    assert_int_equal(o.len, strlen(want1));
    assert_memory_equal(o.p, want1, o.len);
    kv_conn_out_consume(f.c, o.len);
    assert_true(kv_conn_out_peek(f.c, &o));
    assert_int_equal(o.kind, KV_OUT_ITEM); /* 63 + CRLF = 65 > 64: by reference */
    assert_int_equal(o.len, 65);
    kv_conn_out_consume(f.c, o.len);
    assert_true(kv_conn_out_peek(f.c, &o));
    assert_int_equal(o.kind, KV_OUT_COPY);
    const char *want2 = "VALUE k 0 5\r\nhello\r\nEND\r\nSTORED\r\nDELETED\r\n";
    assert_int_equal(o.len, strlen(want2));
    assert_memory_equal(o.p, want2, o.len);
    kv_conn_out_consume(f.c, o.len);
    assert_int_equal(kv_conn_out_peek(f.c, &o), 0);
    fx_close(&f);
}

int main(void)
{
    build_big();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_whole),
        cmocka_unit_test(test_table_bytewise),
        cmocka_unit_test(test_table_ragged),
        cmocka_unit_test(test_stats),
        cmocka_unit_test(test_line_limit),
        cmocka_unit_test(test_lenient_keys),
        cmocka_unit_test(test_quit),
        cmocka_unit_test(test_backpressure),
        cmocka_unit_test(test_zero_copy_piece),
        cmocka_unit_test(test_small_values_copied),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
