/* SPDX-License-Identifier: MIT */
/*
 * http/http.c - the HTTP/1.1 request parser, path mapping, dates,
 * conditional requests and response heads of http/http.h.
 *
 * Grammar (RFC 9112 §3, §5): request-line = method SP request-target SP
 * HTTP-version; field-line = field-name ":" OWS field-value OWS. Stricter
 * than it could be where leniency enables request smuggling (RFC 9112
 * §11.2): whitespace before the colon, obs-fold, conflicting Content-Length
 * and a missing Host in HTTP/1.1 are 400.
 *
 * Call chain: see http.h.
 */
#include "http/http.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static int is_tchar(unsigned char c)
{
    /* RFC 9110 §5.6.2 tchar */
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return 1;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int str_ieq(struct axl_http_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && strncasecmp(s.p, lit, n) == 0;
}

/* Find the end of the line starting at p (before end): the index of its
 * LF, or -1. */
static long line_end(const char *buf, size_t from, size_t len)
{
    const char *lf = memchr(buf + from, '\n', len - from);
    return lf ? (long)(lf - buf) : -1;
}

/* A comma-separated token list contains tok (case-insensitive). */
static int list_has(struct axl_http_str v, const char *tok)
{
    size_t i = 0, tl = strlen(tok);
    while (i < v.n) {
        while (i < v.n && (v.p[i] == ' ' || v.p[i] == '\t' || v.p[i] == ',')) i++;
        size_t s = i;
        while (i < v.n && v.p[i] != ',') i++;
        size_t e = i;
        while (e > s && (v.p[e - 1] == ' ' || v.p[e - 1] == '\t')) e--;
        if (e - s == tl && strncasecmp(v.p + s, tok, tl) == 0) return 1;
    }
    return 0;
}

static int parse_request_line(const char *l, size_t n, struct axl_http_req *r)
{
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)l[i])) i++;
    if (i == 0 || i >= n || l[i] != ' ') return -400;
    r->method_str.p = l;
    r->method_str.n = i;
    if (str_ieq(r->method_str, "GET") && memcmp(l, "GET", 3) == 0)
        r->method = AXL_HTTP_GET; /* methods are case-sensitive (RFC 9110 §9.1) */
    else if (i == 4 && memcmp(l, "HEAD", 4) == 0)
        r->method = AXL_HTTP_HEAD;
    else
        r->method = AXL_HTTP_OTHER;
    size_t t0 = ++i;
    while (i < n && l[i] != ' ') {
        unsigned char c = (unsigned char)l[i];
        if (c <= 0x20 || c == 0x7f) return -400;
        i++;
    }
    if (i == t0 || i >= n) return -400;
    r->target.p = l + t0;
    r->target.n = i - t0;
    i++;
    /* HTTP-version = "HTTP" "/" DIGIT "." DIGIT (RFC 9112 §2.3) */
    if (n - i != 8 || memcmp(l + i, "HTTP/", 5) != 0 || l[i + 6] != '.') return -400;
    char maj = l[i + 5], min = l[i + 7];
    if (maj < '0' || maj > '9' || min < '0' || min > '9') return -400;
    if (maj != '1') return -505;
    r->minor = min - '0' >= 1 ? 1 : 0; /* 1.x > 1.1 is answered as 1.1 (RFC 9110 §6.2) */
    return 0;
}

static int parse_field(const char *l, size_t n, struct axl_http_req *r, struct axl_http_str *conn)
{
    if (n && (l[0] == ' ' || l[0] == '\t')) return -400; /* obs-fold (RFC 9112 §5.2) */
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)l[i])) i++;
    if (i == 0 || i >= n || l[i] != ':') return -400; /* incl. space before ':' (§5.1) */
    struct axl_http_str name = {l, i};
    i++;
    while (i < n && (l[i] == ' ' || l[i] == '\t')) i++;
    size_t e = n;
    while (e > i && (l[e - 1] == ' ' || l[e - 1] == '\t')) e--;
    for (size_t k = i; k < e; k++) {
        unsigned char c = (unsigned char)l[k];
        if ((c < 0x20 && c != '\t') || c == 0x7f) return -400; /* RFC 9110 §5.5 */
    }
    struct axl_http_str v = {l + i, e - i};
    if (str_ieq(name, "host")) {
        if (r->has_host) return -400; /* RFC 9112 §3.2: more than one */
        r->has_host = 1;
    } else if (str_ieq(name, "content-length")) {
        /* RFC 9112 §6.3: digits only; different repeated values: 400 */
        if (!v.n || v.n > 15) return -400;
        uint64_t x = 0;
        for (size_t k = 0; k < v.n; k++) {
            if (v.p[k] < '0' || v.p[k] > '9') return -400;
            x = x * 10 + (uint64_t)(v.p[k] - '0');
        }
        if (r->has_clen && r->clen != x) return -400;
        r->has_clen = 1;
        r->clen = x;
    } else if (str_ieq(name, "transfer-encoding")) {
        r->chunked = 1;
    } else if (str_ieq(name, "connection")) {
        *conn = v;
    } else if (str_ieq(name, "if-none-match")) {
        r->inm = v;
    } else if (str_ieq(name, "if-modified-since")) {
        r->ims = v;
    }
    return 0;
}

int axl_http_parse(const char *buf, size_t len, size_t max_head, struct axl_http_req *r)
{
    memset(r, 0, sizeof(*r));
    size_t pos = 0;
    /* RFC 9112 §2.2: ignore empty lines before the request-line. */
    while (pos < len && (buf[pos] == '\r' || buf[pos] == '\n')) {
        if (buf[pos] == '\r' && (pos + 1 >= len || buf[pos + 1] != '\n'))
            return pos + 1 >= len ? AXL_HTTP_INCOMPLETE : -400;
        pos += buf[pos] == '\r' ? 2 : 1;
        if (pos > max_head) return -400;
    }
    size_t lim = len < max_head ? len : max_head;
    long le = line_end(buf, pos, lim);
    if (le < 0) {
        if (len < max_head) return AXL_HTTP_INCOMPLETE;
        /* The request line alone overflows the limit: 414 when a target has
         * begun (a long URI), else 400. */
        const char *sp = memchr(buf + pos, ' ', max_head - pos);
        return sp ? -414 : -400;
    }
    size_t ln = (size_t)le - pos;
    if (ln && buf[le - 1] == '\r') ln--;
    int rc = parse_request_line(buf + pos, ln, r);
    if (rc < 0) return rc;
    struct axl_http_str conn = {NULL, 0};
    pos = (size_t)le + 1;
    for (;;) {
        le = line_end(buf, pos, lim);
        if (le < 0) return len < max_head ? AXL_HTTP_INCOMPLETE : -413;
        ln = (size_t)le - pos;
        if (ln && buf[le - 1] == '\r') ln--;
        if (ln == 0) break; /* the empty line ends the head */
        for (size_t k = 0; k < ln; k++)
            if (buf[pos + k] == '\r' || buf[pos + k] == '\0') return -400; /* bare CR, NUL */
        if (++r->nfields > AXL_HTTP_MAX_FIELDS) return -413;
        rc = parse_field(buf + pos, ln, r, &conn);
        if (rc < 0) return rc;
        pos = (size_t)le + 1;
    }
    if (r->minor == 1 && !r->has_host) return -400; /* RFC 9112 §3.2 */
    if (r->chunked) return -501;                   /* RFC 9112 §6.1: not understood */
    /* RFC 9112 §9.3 persistence */
    if (r->minor == 1)
        r->keep_alive = !(conn.n && list_has(conn, "close"));
    else
        r->keep_alive = conn.n && list_has(conn, "keep-alive") && !list_has(conn, "close");
    return (int)le + 1;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int axl_http_path(const char *target, size_t n, char *out, size_t outlen)
{
    if (!outlen) return -400;
    /* absolute-form (RFC 9112 §3.2.2): take its path */
    if (n >= 7 && strncasecmp(target, "http://", 7) == 0) {
        const char *sl = memchr(target + 7, '/', n - 7);
        if (!sl) {
            target = "/";
            n = 1;
        } else {
            n -= (size_t)(sl - target);
            target = sl;
        }
    }
    if (!n || target[0] != '/') return -400;
    size_t o = 0;
    size_t i = 0;
    while (i < n && target[i] != '?' && target[i] != '#') {
        while (i < n && target[i] == '/') i++; /* empty segments */
        size_t seg = o;
        while (i < n && target[i] != '/' && target[i] != '?' && target[i] != '#') {
            char c = target[i];
            if (c == '%') {
                if (i + 2 >= n) return -400;
                int h = hexval(target[i + 1]), l = hexval(target[i + 2]);
                if (h < 0 || l < 0) return -400;
                c = (char)(h * 16 + l);
                if (c == 0 || c == '/' || c == '\\') return -400;
                i += 3;
            } else {
                i++;
            }
            if ((unsigned char)c < 0x20 || c == 0x7f) return -400;
            if (o + 1 >= outlen) return -400;
            out[o++] = c;
        }
        size_t sl = o - seg;
        if (sl == 1 && out[seg] == '.') {
            o = seg; /* "." */
        } else if (sl == 2 && out[seg] == '.' && out[seg + 1] == '.') {
            return -400; /* ".." never walks out of (or within) the root */
        } else if (sl) {
            if (i < n && target[i] == '/') {
                if (o + 1 >= outlen) return -400;
                out[o++] = '/';
            }
        }
    }
    /* a directory (or the root): its index */
    if (o == 0 || out[o - 1] == '/' || (i > 0 && target[i - 1] == '/')) {
        if (o && out[o - 1] != '/') {
            if (o + 1 >= outlen) return -400;
            out[o++] = '/';
        }
        static const char idx[] = "index.html";
        if (o + sizeof(idx) > outlen) return -400;
        memcpy(out + o, idx, sizeof(idx));
        return 0;
    }
    out[o] = 0;
    return 0;
}

static const char *const wday[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void axl_http_date(time_t t, char out[30])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, 30, "%s, %02d %s %04d %02d:%02d:%02d GMT", wday[tm.tm_wday % 7], tm.tm_mday,
             mon[tm.tm_mon % 12], (tm.tm_year + 1900) % 10000, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static int month_of(const char *m)
{
    for (int i = 0; i < 12; i++)
        if (strncmp(m, mon[i], 3) == 0) return i;
    return -1;
}

int axl_http_date_parse(const char *s, size_t n, time_t *t)
{
    char b[64];
    if (n == 0 || n >= sizeof(b)) return -1;
    memcpy(b, s, n);
    b[n] = 0;
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    char wd[16], mo[4], tz[4];
    int d, y, H, M, S, used = 0;
    if (sscanf(b, "%3s, %2d %3s %4d %2d:%2d:%2d %3s%n", wd, &d, mo, &y, &H, &M, &S, tz, &used) ==
            8 &&
        (size_t)used == n) {
        /* IMF-fixdate */
    } else if (sscanf(b, "%15[A-Za-z], %2d-%3s-%2d %2d:%2d:%2d %3s%n", wd, &d, mo, &y, &H, &M, &S,
                      tz, &used) == 8 &&
               (size_t)used == n) {
        y += y < 70 ? 2000 : 1900; /* RFC 850 two-digit year (RFC 9110 §5.6.7) */
    } else if (sscanf(b, "%3s %3s %2d %2d:%2d:%2d %4d%n", wd, mo, &d, &H, &M, &S, &y, &used) ==
                   7 &&
               (size_t)used == n) {
        strcpy(tz, "GMT"); /* asctime */
    } else {
        return -1;
    }
    if (strcmp(tz, "GMT") != 0) return -1;
    int m = month_of(mo);
    if (m < 0 || d < 1 || d > 31 || H > 23 || M > 59 || S > 60 || y < 1970 || y > 9999) return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = m;
    tm.tm_mday = d;
    tm.tm_hour = H;
    tm.tm_min = M;
    tm.tm_sec = S;
    *t = timegm(&tm);
    return 0;
}

/* Weak comparison (RFC 9110 §8.8.3.2): opaque-tags equal, W/ ignored. */
static int etag_match(struct axl_http_str list, const char *etag)
{
    const char *e = etag;
    if (strncmp(e, "W/", 2) == 0) e += 2;
    size_t el = strlen(e);
    size_t i = 0;
    while (i < list.n) {
        while (i < list.n && (list.p[i] == ' ' || list.p[i] == '\t' || list.p[i] == ',')) i++;
        if (i >= list.n) break;
        if (list.p[i] == '*') return 1;
        if (list.n - i >= 2 && list.p[i] == 'W' && list.p[i + 1] == '/') i += 2;
        if (i >= list.n || list.p[i] != '"') return 0; /* malformed: no match */
        const char *q = memchr(list.p + i + 1, '"', list.n - i - 1);
        if (!q) return 0;
        size_t tl = (size_t)(q - (list.p + i)) + 1;
        if (tl == el && memcmp(list.p + i, e, el) == 0) return 1;
        i += tl;
    }
    return 0;
}

int axl_http_not_modified(const struct axl_http_req *r, const char *etag, time_t mtime)
{
    if (r->method != AXL_HTTP_GET && r->method != AXL_HTTP_HEAD) return 0;
    if (r->inm.n) return etag && etag_match(r->inm, etag); /* RFC 9110 §13.2.2 step 3 */
    if (r->ims.n) {
        time_t t;
        if (axl_http_date_parse(r->ims.p, r->ims.n, &t) < 0) return 0; /* §13.1.3: ignore */
        return mtime <= t;
    }
    return 0;
}

const char *axl_http_mime(const char *path)
{
    static const struct {
        const char *ext, *type;
    } tab[] = {
        {"html", "text/html; charset=utf-8"},
        {"htm", "text/html; charset=utf-8"},
        {"txt", "text/plain; charset=utf-8"},
        {"css", "text/css"},
        {"js", "text/javascript"},
        {"json", "application/json"},
        {"xml", "application/xml"},
        {"png", "image/png"},
        {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},
        {"gif", "image/gif"},
        {"svg", "image/svg+xml"},
        {"ico", "image/vnd.microsoft.icon"},
        {"webp", "image/webp"},
        {"pdf", "application/pdf"},
        {"wasm", "application/wasm"},
        {"gz", "application/gzip"},
        {"zip", "application/zip"},
        {"mp4", "video/mp4"},
        {"woff2", "font/woff2"},
    };
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    if (dot && dot[1]) {
        for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
            if (strcasecmp(dot + 1, tab[i].ext) == 0) return tab[i].type;
    }
    return "application/octet-stream";
}

const char *axl_http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

int axl_http_head_build(const struct axl_http_resp *h, char *buf, size_t cap)
{
    char date[30], lm[30];
    axl_http_date(h->now, date);
    size_t o = 0;
    int n = snprintf(buf, cap, "HTTP/1.%d %d %s\r\nDate: %s\r\n", h->minor, h->status,
                     axl_http_reason(h->status), date);
    if (n < 0 || (size_t)n >= cap) return -1;
    o = (size_t)n;
#define ADD(...)                                                                                   \
    do {                                                                                           \
        n = snprintf(buf + o, cap - o, __VA_ARGS__);                                               \
        if (n < 0 || (size_t)n >= cap - o) return -1;                                              \
        o += (size_t)n;                                                                            \
    } while (0)
    if (h->server) ADD("Server: %s\r\n", h->server);
    if (h->mtime > 0) {
        axl_http_date(h->mtime, lm);
        ADD("Last-Modified: %s\r\n", lm);
    }
    if (h->etag) ADD("ETag: %s\r\n", h->etag);
    if (h->allow) ADD("Allow: %s\r\n", h->allow);
    if (h->ctype) ADD("Content-Type: %s\r\n", h->ctype);
    if (h->status != 304) ADD("Content-Length: %llu\r\n", (unsigned long long)h->clen);
    if (!h->keep_alive)
        ADD("Connection: close\r\n");
    else if (h->req_minor == 0)
        ADD("Connection: keep-alive\r\n"); /* RFC 9112 §9.3 (HTTP/1.0 persistence) */
    ADD("\r\n");
#undef ADD
    return (int)o;
}
