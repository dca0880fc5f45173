/* SPDX-License-Identifier: MIT */
/*
 * fuzz_http.c - libFuzzer target for the HTTP/1.1 request parser and path
 * mapping (src/http). Checks: a complete head's length lies within the
 * input and its strings point inside it; parsing is prefix-consistent (the
 * head found in the whole input is found again in exactly its own bytes);
 * path mapping never yields a ".." segment or a leading "/".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(const char *b, size_t n, struct axl_http_str s)
{
    if (s.n && (s.p < b || s.p + s.n > b + n)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *b = (const char *)data;
    struct axl_http_req r, r2;
    int rc = axl_http_parse(b, size, 4096, &r);
    if (rc > 0) {
        if ((size_t)rc > size || (size_t)rc > 4096 + 4096) abort();
        inside(b, size, r.method_str);
        inside(b, size, r.target);
        inside(b, size, r.inm);
        inside(b, size, r.ims);
        if (axl_http_parse(b, (size_t)rc, 4096, &r2) != rc) abort();
        if (r2.keep_alive != r.keep_alive || r2.method != r.method) abort();
        char out[512];
        if (axl_http_path(r.target.p, r.target.n, out, sizeof(out)) == 0) {
            if (out[0] == '/' || strlen(out) >= sizeof(out)) abort();
            const char *p = out;
            while ((p = strstr(p, "..")) != NULL) {
                if ((p == out || p[-1] == '/') && (p[2] == 0 || p[2] == '/')) abort();
                p++;
            }
        }
        time_t t;
        if (r.ims.n) (void)axl_http_date_parse(r.ims.p, r.ims.n, &t);
        (void)axl_http_not_modified(&r, "\"1-2\"", 1000);
    } else if (rc < 0) {
        if (rc != -400 && rc != -413 && rc != -414 && rc != -501 && rc != -505) abort();
    }
    return 0;
}
