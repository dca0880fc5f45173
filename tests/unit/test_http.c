/* SPDX-License-Identifier: MIT */
/*
 * test_http.c - src/http: the request parser as a table (each request fed
 * whole, then one byte at a time: every proper prefix must be INCOMPLETE or
 * the same error, the whole the same result), path mapping (traversal
 * refused), HTTP dates in the three formats, conditional requests and the
 * response head.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http/http.h"

struct pcase {
    const char *req;
    int want; /* > 0: complete (the head's length is checked = strlen unless trailing) */
    int method, minor, keep_alive;
    const char *target;
};

#define OK(...) 1, __VA_ARGS__

static const struct pcase cases[] = {
    {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", OK(AXL_HTTP_GET, 1, 1, "/")},
    {"HEAD /x.html HTTP/1.1\r\nHost: a\r\n\r\n", OK(AXL_HTTP_HEAD, 1, 1, "/x.html")},
    {"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", OK(AXL_HTTP_GET, 1, 0, "/")},
    {"GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive, CLOSE\r\n\r\n", OK(AXL_HTTP_GET, 1, 0, "/")},
    {"GET / HTTP/1.0\r\n\r\n", OK(AXL_HTTP_GET, 0, 0, "/")},
    {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", OK(AXL_HTTP_GET, 0, 1, "/")},
    {"GET /a?b=c HTTP/1.1\nHost: a\n\n", OK(AXL_HTTP_GET, 1, 1, "/a?b=c")}, /* bare LF */
    {"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", OK(AXL_HTTP_GET, 1, 1, "/")},  /* leading CRLF */
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", OK(AXL_HTTP_OTHER, 1, 1, "/")},
    {"GET / HTTP/1.2\r\nHost: a\r\n\r\n", OK(AXL_HTTP_GET, 1, 1, "/")},
    {"get / HTTP/1.1\r\nHost: a\r\n\r\n", OK(AXL_HTTP_OTHER, 1, 1, "/")},
    {"GET / HTTP/1.1\r\nHost: a\r\nX:   v  \r\n\r\n", OK(AXL_HTTP_GET, 1, 1, "/")},
    {"GET / HTTP/1.1\r\n\r\n", -400},                       /* no Host */
    {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", -400}, /* two Hosts */
    {"GET / HTTP/2.0\r\nHost: a\r\n\r\n", -505},
    {"GET / HTTP/1.1 \r\nHost: a\r\n\r\n", -400},
    {"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", -400},
    {"GET / HTTX/1.1\r\nHost: a\r\n\r\n", -400},
    {"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", -400},
    {"GET / HTTP/1.1\r\nHost : a\r\n\r\n", -400}, /* space before the colon */
    {"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", -400},
    {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", -400},
    {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", -400},
    {"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", -501},
    {"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", -400},
    {"GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n", -400},
};

static void check_one(const struct pcase *c, size_t max)
{
    struct axl_http_req r;
    size_t n = strlen(c->req);
    int rc = axl_http_parse(c->req, n, max, &r);
    if (c->want > 0) {
        assert_int_equal(rc, (int)n);
        assert_int_equal(r.method, c->method);
        assert_int_equal(r.minor, c->minor);
        assert_int_equal(r.keep_alive, c->keep_alive);
        assert_int_equal(r.target.n, strlen(c->target));
        assert_memory_equal(r.target.p, c->target, r.target.n);
    } else {
        assert_int_equal(rc, c->want);
    }
    /* One byte at a time: a prefix is incomplete, or already the same error. */
    for (size_t k = 0; k < n; k++) {
        int p = axl_http_parse(c->req, k, max, &r);
        if (c->want > 0)
            assert_int_equal(p, AXL_HTTP_INCOMPLETE);
        else
            assert_true(p == AXL_HTTP_INCOMPLETE || p == c->want);
    }
}

static void test_http_parse_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        print_message("case %zu\n", i);
        check_one(&cases[i], AXL_HTTP_MAX_HEAD_DEFAULT);
    }
}

static void test_http_parse_pipelined_and_fields(void **state)
{
    (void)state;
    const char *two = "GET /a HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"x\"\r\n"
                      "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n"
                      "HEAD /b HTTP/1.1\r\nHost: h\r\n\r\n";
    struct axl_http_req r;
    int n = axl_http_parse(two, strlen(two), 8192, &r);
    assert_true(n > 0);
    assert_int_equal(r.inm.n, 3);
    assert_memory_equal(r.inm.p, "\"x\"", 3);
    assert_int_equal(r.ims.n, 29);
    int m = axl_http_parse(two + n, strlen(two) - (size_t)n, 8192, &r);
    assert_int_equal(m, (int)(strlen(two) - (size_t)n));
    assert_int_equal(r.method, AXL_HTTP_HEAD);
    assert_memory_equal(r.target.p, "/b", 2);
}

static void test_http_parse_limits(void **state)
{
    (void)state;
    static char big[20000];
    /* a long target: 414 */
    strcpy(big, "GET /");
    memset(big + 5, 'a', 9000);
    strcpy(big + 9005, " HTTP/1.1\r\nHost: a\r\n\r\n");
    struct axl_http_req r;
    assert_int_equal(axl_http_parse(big, strlen(big), 8192, &r), -414);
    /* long fields: 413 */
    strcpy(big, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
    size_t o = strlen(big);
    memset(big + o, 'b', 9000);
    strcpy(big + o + 9000, "\r\n\r\n");
    assert_int_equal(axl_http_parse(big, strlen(big), 8192, &r), -413);
    /* too many fields: 413 */
    o = 0;
    o += (size_t)sprintf(big, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 70; i++) o += (size_t)sprintf(big + o, "X%d: y\r\n", i);
    strcpy(big + o, "\r\n");
    assert_int_equal(axl_http_parse(big, strlen(big), 8192, &r), -413);
    /* garbage without any line end past the limit: 400 */
    memset(big, 'x', 9000);
    assert_int_equal(axl_http_parse(big, 9000, 8192, &r), -400);
}

static void test_http_path(void **state)
{
    (void)state;
    static const struct {
        const char *t, *want; /* want NULL: refused */
    } tab[] = {
        {"/", "index.html"},
        {"/a.html", "a.html"},
        {"/d/", "d/index.html"},
        {"//d//e.txt", "d/e.txt"},
        {"/./a", "a"},
        {"/a/./b", "a/b"},
        {"/a%20b", "a b"},
        {"/a?x=../../", "a"},
        {"/a#frag", "a"},
        {"http://host/x", "x"},
        {"http://host", "index.html"},
        {"/../etc/passwd", NULL},
        {"/a/../../b", NULL},
        {"/%2e%2e/x", NULL},
        {"/a%2fb", NULL},
        {"/a%00", NULL},
        {"/a%zz", NULL},
        {"/a%2", NULL},
        {"*", NULL},
        {"a", NULL},
        {"/a\x01", NULL},
    };
    char out[256];
    for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
        int rc = axl_http_path(tab[i].t, strlen(tab[i].t), out, sizeof(out));
        print_message("path %s\n", tab[i].t);
        if (tab[i].want) {
            assert_int_equal(rc, 0);
            assert_string_equal(out, tab[i].want);
        } else {
            assert_int_equal(rc, -400);
        }
    }
    char small[8];
    assert_int_equal(axl_http_path("/abcdefghij", 11, small, sizeof(small)), -400);
}

static void test_http_dates_and_conditionals(void **state)
{
    (void)state;
    char d[30];
    axl_http_date(784111777, d);
    assert_string_equal(d, "Sun, 06 Nov 1994 08:49:37 GMT");
    time_t t;
    assert_int_equal(axl_http_date_parse(d, strlen(d), &t), 0);
    assert_int_equal(t, 784111777);
    const char *rfc850 = "Sunday, 06-Nov-94 08:49:37 GMT";
    assert_int_equal(axl_http_date_parse(rfc850, strlen(rfc850), &t), 0);
    assert_int_equal(t, 784111777);
    const char *asc = "Sun Nov  6 08:49:37 1994";
    assert_int_equal(axl_http_date_parse(asc, strlen(asc), &t), 0);
    assert_int_equal(t, 784111777);
    assert_int_equal(axl_http_date_parse("yesterday", 9, &t), -1);
    assert_int_equal(axl_http_date_parse("Sun, 06 Nov 1994 08:49:37 CET", 29, &t), -1);

    struct axl_http_req r;
    memset(&r, 0, sizeof(r));
    r.method = AXL_HTTP_GET;
    r.inm = (struct axl_http_str){"\"a\", W/\"b\"", 10};
    assert_true(axl_http_not_modified(&r, "\"b\"", 0));
    assert_true(axl_http_not_modified(&r, "\"a\"", 0));
    assert_false(axl_http_not_modified(&r, "\"c\"", 0));
    r.inm = (struct axl_http_str){"*", 1};
    assert_true(axl_http_not_modified(&r, "\"c\"", 0));
    /* If-None-Match decides; If-Modified-Since only without it */
    r.inm = (struct axl_http_str){"\"zz\"", 4};
    r.ims = (struct axl_http_str){d, strlen(d)};
    assert_false(axl_http_not_modified(&r, "\"c\"", 784111777));
    r.inm.n = 0;
    assert_true(axl_http_not_modified(&r, "\"c\"", 784111777));
    assert_false(axl_http_not_modified(&r, "\"c\"", 784111778));
    r.ims = (struct axl_http_str){"garbage", 7};
    assert_false(axl_http_not_modified(&r, "\"c\"", 1));
    r.method = AXL_HTTP_OTHER;
    r.ims = (struct axl_http_str){d, strlen(d)};
    assert_false(axl_http_not_modified(&r, "\"c\"", 1));
}

static void test_http_head_build(void **state)
{
    (void)state;
    char b[512];
    struct axl_http_resp h = {.status = 200, .minor = 1, .keep_alive = 1, .req_minor = 1,
                              .ctype = axl_http_mime("/x/a.HTML"), .clen = 1234,
                              .mtime = 784111777, .etag = "\"4d2-2ebc3e21\"", .now = 784111777,
                              .server = "axl-httpd"};
    int n = axl_http_head_build(&h, b, sizeof(b));
    assert_true(n > 0);
    b[n] = 0;
    assert_string_equal(b, "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
                           "Server: axl-httpd\r\nLast-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
                           "ETag: \"4d2-2ebc3e21\"\r\nContent-Type: text/html; charset=utf-8\r\n"
                           "Content-Length: 1234\r\n\r\n");
    h.keep_alive = 1;
    h.req_minor = 0;
    h.status = 304;
    n = axl_http_head_build(&h, b, sizeof(b));
    b[n] = 0;
    assert_non_null(strstr(b, "HTTP/1.1 304 Not Modified\r\n"));
    assert_null(strstr(b, "Content-Length"));
    assert_non_null(strstr(b, "Connection: keep-alive\r\n"));
    h.keep_alive = 0;
    n = axl_http_head_build(&h, b, sizeof(b));
    b[n] = 0;
    assert_non_null(strstr(b, "Connection: close\r\n"));
    assert_int_equal(axl_http_head_build(&h, b, 40), -1);
    assert_string_equal(axl_http_mime("a.tar"), "application/octet-stream");
    assert_string_equal(axl_http_mime("dir.d/noext"), "application/octet-stream");
    assert_string_equal(axl_http_mime("a.png"), "image/png");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_parse_table),
        cmocka_unit_test(test_http_parse_pipelined_and_fields),
        cmocka_unit_test(test_http_parse_limits),
        cmocka_unit_test(test_http_path),
        cmocka_unit_test(test_http_dates_and_conditionals),
        cmocka_unit_test(test_http_head_build),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
