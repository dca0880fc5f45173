/* SPDX-License-Identifier: MIT */
/*
 * test_load_proto.c - the load generator's request builders, response
 * framers (whole and byte by byte) and its latency histogram.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "load/hist.h"
#include "load/proto.h"

static long http(const char *s, int eof, int *st, int *cl)
{
    return load_http_response((const uint8_t *)s, strlen(s), eof, st, cl);
}

/* Every proper prefix of a complete response needs more bytes. */
static void http_prefixes_need_more(const char *s)
{
    int st, cl;
    for (size_t i = 0; i < strlen(s); i++)
        assert_int_equal(load_http_response((const uint8_t *)s, i, 0, &st, &cl), 0);
}

static void test_http(void **state)
{
    (void)state;
    char req[256];
    int st = 0, cl = 0;
    size_t n = load_http_request(req, sizeof(req), "198.18.0.2:80", "/a.html", 0);
    assert_string_equal(req, "GET /a.html HTTP/1.1\r\nHost: 198.18.0.2:80\r\n\r\n");
    assert_int_equal(n, strlen(req));
    load_http_request(req, sizeof(req), "h", "/", 1);
    assert_non_null(strstr(req, "Connection: close\r\n"));
    assert_int_equal(load_http_request(req, 10, "h", "/", 0), 0); /* does not fit */

    const char *r1 = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    assert_int_equal(http(r1, 0, &st, &cl), (long)strlen(r1));
    assert_int_equal(st, 200);
    assert_int_equal(cl, 0);
    http_prefixes_need_more(r1);
    /* two pipelined: the first is framed alone */
    char two[256];
    snprintf(two, sizeof(two), "%s%s", r1, r1);
    assert_int_equal(http(two, 0, &st, &cl), (long)strlen(r1));
    /* chunked, with an extension and a trailer */
    const char *r2 = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5;x=y\r\nhello\r\n3\r\nabc\r\n0\r\nT: v\r\n\r\n";
    assert_int_equal(http(r2, 0, &st, &cl), (long)strlen(r2));
    http_prefixes_need_more(r2);
    /* 304 and 204 have no body; 100 is framed alone */
    assert_int_equal(http("HTTP/1.1 304 Not Modified\r\nETag: x\r\n\r\nXX", 0, &st, &cl),
                     (long)strlen("HTTP/1.1 304 Not Modified\r\nETag: x\r\n\r\n"));
    assert_int_equal(st, 304);
    assert_int_equal(http("HTTP/1.1 100 Continue\r\n\r\n", 0, &st, &cl), 25);
    /* close-delimited body: only at EOF */
    const char *r3 = "HTTP/1.0 200 OK\r\n\r\nbody";
    assert_int_equal(http(r3, 0, &st, &cl), 0);
    assert_int_equal(http(r3, 1, &st, &cl), (long)strlen(r3));
    assert_int_equal(cl, 1);
    /* HTTP/1.0 closes unless keep-alive; Connection: close */
    http("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 0, &st, &cl);
    assert_int_equal(cl, 1);
    http("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", 0, &st, &cl);
    assert_int_equal(cl, 0);
    http("HTTP/1.1 200 OK\r\nconnection:  close \r\nContent-Length: 0\r\n\r\n", 0, &st, &cl);
    assert_int_equal(cl, 1);
    /* malformed */
    assert_int_equal(http("HTTX/1.1 200 OK\r\n\r\n", 0, &st, &cl), -1);
    assert_int_equal(http("HTTP/1.1 2x0 OK\r\n\r\n", 0, &st, &cl), -1);
    assert_int_equal(http("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", 0, &st, &cl), -1);
    assert_int_equal(
        http("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 0, &st, &cl),
        -1);
    assert_int_equal(http("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", 0, &st, &cl), -1);
    assert_int_equal(
        http("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 0, &st, &cl), -1);
    /* a header section that never ends is refused once it is too long */
    size_t big = (64u << 10) + 100;
    uint8_t *b = malloc(big);
    assert_non_null(b);
    memset(b, 'a', big);
    memcpy(b, "HTTP/1.1 200 OK\r\nX: ", 20);
    assert_int_equal(load_http_response(b, big, 0, &st, &cl), -1);
    free(b);
}

static void test_kv(void **state)
{
    (void)state;
    char buf[256];
    int res = 0;
    assert_int_equal(load_kv_get(buf, sizeof(buf), "k1"), 8);
    assert_string_equal(buf, "get k1\r\n");
    size_t n = load_kv_set(buf, sizeof(buf), "k1", (const uint8_t *)"abc", 3);
    assert_int_equal(n, strlen("set k1 0 0 3\r\nabc\r\n"));
    assert_memory_equal(buf, "set k1 0 0 3\r\nabc\r\n", n);
    assert_int_equal(load_kv_set(buf, 12, "k1", (const uint8_t *)"abc", 3), 0);

    const char *hit = "VALUE k1 0 3\r\nabc\r\nEND\r\n";
    assert_int_equal(load_kv_response((const uint8_t *)hit, strlen(hit), &res), (long)strlen(hit));
    assert_int_equal(res, LOAD_KV_HIT);
    for (size_t i = 0; i < strlen(hit); i++)
        assert_int_equal(load_kv_response((const uint8_t *)hit, i, &res), 0);
    const char *hitcas = "VALUE k1 5 3 99\r\na\r\n\r\nEND\r\n"; /* data holds CR LF */
    assert_int_equal(load_kv_response((const uint8_t *)hitcas, strlen(hitcas), &res),
                     (long)strlen(hitcas));
    assert_int_equal(load_kv_response((const uint8_t *)"END\r\n", 5, &res), 5);
    assert_int_equal(res, LOAD_KV_MISS);
    assert_int_equal(load_kv_response((const uint8_t *)"STORED\r\nEND\r\n", 13, &res), 8);
    assert_int_equal(res, LOAD_KV_STORED);
    assert_int_equal(load_kv_response((const uint8_t *)"SERVER_ERROR out of memory\r\n", 28, &res),
                     28);
    assert_int_equal(res, LOAD_KV_ERROR);
    assert_int_equal(load_kv_response((const uint8_t *)"NOT_STORED\r\n", 12, &res), 12);
    assert_int_equal(res, LOAD_KV_OTHER);
    assert_int_equal(load_kv_response((const uint8_t *)"42\r\n", 4, &res), 4);
    assert_int_equal(load_kv_response((const uint8_t *)"WHAT\r\n", 6, &res), -1);
    const char *badend = "VALUE k1 0 3\r\nabcXXEND\r\n";
    assert_int_equal(load_kv_response((const uint8_t *)badend, strlen(badend), &res), -1);
    assert_int_equal(load_kv_response((const uint8_t *)"VALUE k1 0\r\n", 12, &res), -1);
}

static void test_dns(void **state)
{
    (void)state;
    uint8_t q[512];
    size_t n = load_dns_query(q, sizeof(q), 0x1234, "www.example.org.", 28, 1);
    static const uint8_t want[] = {0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 3,   'w', 'w',
                                   'w',  7,    'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'o', 'r',
                                   'g',  0,    0,  28, 0,   1,   0,   0,   41,  0x10, 0, 0,  0,
                                   0,    0,    0,   0};
    assert_int_equal(n, sizeof(want));
    assert_memory_equal(q, want, sizeof(want));
    assert_int_equal(load_dns_query(q, sizeof(q), 1, "example.org", 1, 0), 12 + 13 + 4);
    assert_int_equal(load_dns_query(q, sizeof(q), 1, "a..b", 1, 0), 0);
    assert_int_equal(load_dns_query(q, sizeof(q), 1, "a..", 1, 0), 0);
    char lab[80];
    memset(lab, 'x', 64);
    lab[64] = 0;
    assert_int_equal(load_dns_query(q, sizeof(q), 1, lab, 1, 0), 0); /* label > 63 */
    assert_int_equal(load_dns_query(q, 20, 1, "example.org", 1, 0), 0);
    assert_int_equal(load_dns_qtype("aaaa"), 28);
    assert_int_equal(load_dns_qtype("MX"), 15);
    assert_int_equal(load_dns_qtype("65"), 65);
    assert_int_equal(load_dns_qtype("NOPE"), -1);
    assert_int_equal(load_dns_qtype("0"), -1);

    uint8_t r[12] = {0xab, 0xcd, 0x86, 0x03};
    uint16_t id;
    int rc, tc;
    assert_int_equal(load_dns_response(r, 12, &id, &rc, &tc), 0);
    assert_int_equal(id, 0xabcd);
    assert_int_equal(rc, 3);
    assert_int_equal(tc, 1);
    r[2] = 0x06; /* QR clear: a query */
    assert_int_equal(load_dns_response(r, 12, &id, &rc, &tc), -1);
    assert_int_equal(load_dns_response(r, 11, &id, &rc, &tc), -1);
}

static void test_hist(void **state)
{
    (void)state;
    struct hist h;
    hist_init(&h);
    assert_int_equal(hist_pct(&h, 0.5), 0);
    for (uint64_t v = 1; v <= 100000; v++)
        hist_add(&h, v * 1000); /* 1 us .. 100 ms */
    assert_int_equal(h.n, 100000);
    double tol = 1.0 / 64;
    const double qs[] = {0.5, 0.9, 0.99, 0.999};
    for (int i = 0; i < 4; i++) {
        double want = qs[i] * 100000 * 1000, got = (double)hist_pct(&h, qs[i]);
        assert_true(got >= want * (1 - tol) && got <= want * (1 + tol));
    }
    assert_int_equal(hist_pct(&h, 1.0), 100000 * 1000);
    assert_int_equal(hist_pct(&h, 0), 1000);
    assert_true(hist_mean(&h) > 50000.0 * 1000 && hist_mean(&h) < 50001.0 * 1000);
    /* exact below the sub-bucket count, clamped far above the range */
    struct hist g;
    hist_init(&g);
    hist_add(&g, 7);
    assert_int_equal(hist_pct(&g, 0.5), 7);
    hist_add(&g, UINT64_MAX);
    assert_int_equal(hist_pct(&g, 1.0), UINT64_MAX);
    struct hist m;
    hist_init(&m);
    hist_merge(&m, &g);
    hist_merge(&m, &h);
    assert_int_equal(m.n, h.n + g.n);
    assert_int_equal(m.min, 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http),
        cmocka_unit_test(test_kv),
        cmocka_unit_test(test_dns),
        cmocka_unit_test(test_hist),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
