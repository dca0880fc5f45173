/* SPDX-License-Identifier: MIT */
/*
 * http/http.h - HTTP/1.1 pieces shared by axl-httpd and the load generators:
 * a request-head parser (RFC 9112), request-target to file path mapping
 * (no traversal), HTTP dates (RFC 9110 §5.6.7), conditional-request checks
 * (RFC 9110 §13), media types by extension and a response-head builder.
 *
 * The parser is stateless and re-entrant in the picohttpparser manner: it is
 * given everything received so far and either finds a complete head (its
 * length is returned), asks for more (AXL_HTTP_INCOMPLETE), or names the
 * status to answer with (a negative status: -400, -413, -414, -501, -505).
 * Parsed strings point into the caller's buffer (not NUL-terminated).
 *
 * Limits: the head (request line + fields) at most `max_head` bytes (413
 * when exceeded; 414 when it is the request-target alone that does),
 * at most AXL_HTTP_MAX_FIELDS fields (413).
 *
 * Call chain: tools/axl-httpd (NEW_DATA -> axl_http_parse -> file lookup ->
 * axl_http_cond / axl_http_head_build -> send); tests/unit/test_http*.c;
 * tests/fuzz/fuzz_http.c.
 */
#ifndef AXL_HTTP_HTTP_H
#define AXL_HTTP_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define AXL_HTTP_INCOMPLETE 0
/** AXL_HTTP_MAX_FIELDS: header fields a request may carry. */
#define AXL_HTTP_MAX_FIELDS 64u
/** AXL_HTTP_MAX_HEAD_DEFAULT: the default head size limit (bytes). */
#define AXL_HTTP_MAX_HEAD_DEFAULT 8192u

enum axl_http_method { AXL_HTTP_OTHER = 0, AXL_HTTP_GET = 1, AXL_HTTP_HEAD = 2 };

struct axl_http_str {
    const char *p;
    size_t n;
};

struct axl_http_req {
    enum axl_http_method method;
    struct axl_http_str method_str;
    struct axl_http_str target;
    int minor;      /* HTTP/1.<minor>: 0 or 1 */
    int keep_alive; /* RFC 9112 §9.3: 1.1 unless "close"; 1.0 only with "keep-alive" */
    int has_host;
    int chunked;             /* Transfer-Encoding present (we answer 501) */
    int has_clen;            /* Content-Length present */
    uint64_t clen;           /* its value */
    struct axl_http_str inm; /* If-None-Match (n = 0: absent) */
    struct axl_http_str ims; /* If-Modified-Since */
    unsigned nfields;
};

/* Parse the head at buf[0..len). Returns the head's length (> 0) with *r
 * filled, AXL_HTTP_INCOMPLETE, or a negative status. Empty lines before the
 * request line are skipped (RFC 9112 §2.2); a bare LF ends a line too. */
int axl_http_parse(const char *buf, size_t len, size_t max_head, struct axl_http_req *r);

/* Map a request-target (origin-form, or absolute-form: its path) to a path
 * relative to the document root: query and fragment dropped, %XX decoded,
 * "." segments and empty segments dropped, a trailing "/" (or the root) gets
 * "index.html". Refused (-400): "..", %00, %2F inside a segment, a control
 * character, a target not starting with "/" (other than absolute-form and
 * "*"), or a result longer than outlen - 1. 0 and NUL-terminated out. */
int axl_http_path(const char *target, size_t n, char *out, size_t outlen);

/* IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT" (29 bytes + NUL into out). */
void axl_http_date(time_t t, char out[30]);
/* Parse an HTTP-date: IMF-fixdate, RFC 850 or asctime (RFC 9110 §5.6.7
 * "MUST accept all three"). 0 with *t, or -1. */
int axl_http_date_parse(const char *s, size_t n, time_t *t);

/* Conditional GET/HEAD (RFC 9110 §13.2.2): 1 when the answer is 304 Not
 * Modified. If-None-Match (weak comparison, "*") decides when present;
 * otherwise If-Modified-Since against mtime (ignored when unparseable). */
int axl_http_not_modified(const struct axl_http_req *r, const char *etag, time_t mtime);

/* Media type by the file name's extension (application/octet-stream). */
const char *axl_http_mime(const char *path);
/* Reason phrase of a status code ("Unknown" for others). */
const char *axl_http_reason(int status);

struct axl_http_resp {
    int status;
    int minor;             /* HTTP/1.<minor> of the response line (1) */
    int keep_alive;        /* Connection: keep-alive / close */
    int req_minor;         /* the request's version (1.0 needs an explicit keep-alive) */
    const char *ctype;     /* Content-Type or NULL */
    uint64_t clen;         /* Content-Length */
    time_t mtime;          /* Last-Modified when > 0 */
    const char *etag;      /* ETag or NULL */
    time_t now;            /* Date */
    const char *server;    /* Server or NULL */
    const char *allow;     /* Allow (405) or NULL */
};
/* Write the response head (status line, fields, empty line). Returns its
 * length, or -1 when it does not fit in cap. */
int axl_http_head_build(const struct axl_http_resp *h, char *buf, size_t cap);

#endif
