/* SPDX-License-Identifier: MIT */
/*
 * load/proto.c - see load/proto.h. Every parser bounds every read by n.
 */
#include "load/proto.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/** LOAD_HDR_MAX: a response header section longer than this is refused. */
#define LOAD_HDR_MAX (64u << 10)

/* ---- HTTP/1.1 ---------------------------------------------------------------- */

size_t load_http_request(char *buf, size_t cap, const char *host, const char *path, int close)
{
    int k = snprintf(buf, cap, "GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", path, host,
                     close ? "Connection: close\r\n" : "");
    return k < 0 || (size_t)k >= cap ? 0 : (size_t)k;
}

static const uint8_t *find_crlf(const uint8_t *p, const uint8_t *end)
{
    for (; p + 1 < end; p++)
        if (p[0] == '\r' && p[1] == '\n') return p;
    return NULL;
}

/* Parse decimal digits p[0..n) into *v (no sign, no overflow). */
static int parse_dec(const uint8_t *p, size_t n, uint64_t *v)
{
    uint64_t x = 0;
    if (n == 0 || n > 18) return -1;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return -1;
        x = x * 10 + (uint64_t)(p[i] - '0');
    }
    *v = x;
    return 0;
}

/* Trim optional whitespace (RFC 9110 §5.6.3) around a field value. */
static void trim_ows(const uint8_t **a, const uint8_t **b)
{
    while (*a < *b && (**a == ' ' || **a == '\t'))
        (*a)++;
    while (*b > *a && ((*b)[-1] == ' ' || (*b)[-1] == '\t'))
        (*b)--;
}

/* Frame a chunked body starting at p (RFC 9112 §7.1): its length, 0, -1. */
static long frame_chunked(const uint8_t *p, size_t n)
{
    const uint8_t *q = p, *end = p + n;
    for (;;) {
        const uint8_t *eol = find_crlf(q, end);
        if (!eol) return (size_t)(end - q) > 1024 ? -1 : 0;
        uint64_t size = 0;
        const uint8_t *h = q;
        int digits = 0;
        for (; h < eol && *h != ';' && *h != ' ' && *h != '\t'; h++) {
            int d = *h >= '0' && *h <= '9'   ? *h - '0'
                    : *h >= 'a' && *h <= 'f' ? *h - 'a' + 10
                    : *h >= 'A' && *h <= 'F' ? *h - 'A' + 10
                                             : -1;
            if (d < 0 || ++digits > 15) return -1;
            size = size * 16 + (uint64_t)d;
        }
        if (digits == 0) return -1;
        q = eol + 2;
        if (size == 0) { /* trailers, then an empty line */
            for (;;) {
                const uint8_t *t = find_crlf(q, end);
                if (!t) return (size_t)(end - q) > LOAD_HDR_MAX ? -1 : 0;
                if (t == q) return (long)(t + 2 - p);
                q = t + 2;
            }
        }
        if (size > (uint64_t)(end - q)) return 0;
        if ((uint64_t)(end - q) - size < 2) return 0;
        q += size;
        if (q[0] != '\r' || q[1] != '\n') return -1;
        q += 2;
    }
}

long load_http_response(const uint8_t *p, size_t n, int eof, int *status, int *closes)
{
    const uint8_t *end = p + n, *hend = NULL;
    for (const uint8_t *q = p; q + 3 < end; q++)
        if (q[0] == '\r' && q[1] == '\n' && q[2] == '\r' && q[3] == '\n') {
            hend = q;
            break;
        }
    if (!hend) return n > LOAD_HDR_MAX ? -1 : 0;
    size_t hlen = (size_t)(hend - p) + 4;
    /* status line: HTTP/1.x SP 3DIGIT */
    if (hlen < 16 || memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') || p[8] != ' ')
        return -1;
    uint64_t code;
    if (parse_dec(p + 9, 3, &code) < 0 || (p[12] != ' ' && p[12] != '\r')) return -1;
    *status = (int)code;
    if (code < 100 || code > 599) return -1;
    int http10 = p[7] == '0', keep = 0, close = 0;

    int have_len = 0, chunked = 0;
    uint64_t clen = 0;
    const uint8_t *line = find_crlf(p, hend + 2) + 2;
    while (line < hend + 2) {
        const uint8_t *eol = find_crlf(line, hend + 2);
        if (!eol) break;
        const uint8_t *colon = memchr(line, ':', (size_t)(eol - line));
        if (!colon) return -1;
        size_t nlen = (size_t)(colon - line);
        const uint8_t *va = colon + 1, *vb = eol;
        trim_ows(&va, &vb);
        if (nlen == 14 && !strncasecmp((const char *)line, "Content-Length", 14)) {
            uint64_t v;
            if (parse_dec(va, (size_t)(vb - va), &v) < 0) return -1;
            if (have_len && v != clen) return -1; /* RFC 9112 §6.3 item 5 */
            clen = v;
            have_len = 1;
        } else if (nlen == 17 && !strncasecmp((const char *)line, "Transfer-Encoding", 17)) {
            size_t vl = (size_t)(vb - va);
            if (vl >= 7 && !strncasecmp((const char *)vb - 7, "chunked", 7)) chunked = 1;
        } else if (nlen == 10 && !strncasecmp((const char *)line, "Connection", 10)) {
            size_t vl = (size_t)(vb - va);
            if (vl == 5 && !strncasecmp((const char *)va, "close", 5)) close = 1;
            if (vl == 10 && !strncasecmp((const char *)va, "keep-alive", 10)) keep = 1;
        }
        line = eol + 2;
    }
    *closes = close || (http10 && !keep);
    if (code < 200 || code == 204 || code == 304) return (long)hlen;
    if (chunked) { /* RFC 9112 §6.3 item 4: chunked wins over Content-Length */
        long b = frame_chunked(hend + 4, (size_t)(end - (hend + 4)));
        return b <= 0 ? b : (long)hlen + b;
    }
    if (have_len) {
        if (clen > (1ull << 40)) return -1;
        return (uint64_t)n - hlen >= clen ? (long)(hlen + clen) : 0;
    }
    *closes = 1;
    return eof ? (long)n : 0; /* delimited by the close (§6.3 item 8) */
}

/* ---- memcached ---------------------------------------------------------------- */

size_t load_kv_get(char *buf, size_t cap, const char *key)
{
    int k = snprintf(buf, cap, "get %s\r\n", key);
    return k < 0 || (size_t)k >= cap ? 0 : (size_t)k;
}

size_t load_kv_set(char *buf, size_t cap, const char *key, const uint8_t *val, uint32_t vlen)
{
    int k = snprintf(buf, cap, "set %s 0 0 %u\r\n", key, vlen);
    if (k < 0 || (size_t)k + vlen + 2 > cap) return 0;
    memcpy(buf + k, val, vlen);
    memcpy(buf + k + vlen, "\r\n", 2);
    return (size_t)k + vlen + 2;
}

static int starts(const uint8_t *p, size_t n, const char *s)
{
    size_t l = strlen(s);
    return n >= l && memcmp(p, s, l) == 0;
}

long load_kv_response(const uint8_t *p, size_t n, int *result)
{
    const uint8_t *end = p + n, *eol = find_crlf(p, end);
    if (!eol) return n > 4096 ? -1 : 0;
    size_t l1 = (size_t)(eol - p) + 2;
    if (starts(p, n, "VALUE ")) {
        /* VALUE <key> <flags> <bytes> [<cas>]\r\n<data>\r\nEND\r\n */
        const uint8_t *f[5];
        size_t fl[5];
        int nf = 0;
        const uint8_t *q = p + 6;
        while (q < eol && nf < 5) {
            while (q < eol && *q == ' ')
                q++;
            if (q == eol) break;
            f[nf] = q;
            while (q < eol && *q != ' ')
                q++;
            fl[nf] = (size_t)(q - f[nf]);
            nf++;
        }
        uint64_t bytes;
        if (nf < 3 || parse_dec(f[2], fl[2], &bytes) < 0 || bytes > (1u << 30)) return -1;
        size_t need = l1 + (size_t)bytes + 2 + 5;
        if (n < need) return 0;
        if (memcmp(p + l1 + bytes, "\r\n", 2) != 0 || memcmp(p + l1 + bytes + 2, "END\r\n", 5) != 0)
            return -1;
        *result = LOAD_KV_HIT;
        return (long)need;
    }
    if (l1 == 5 && starts(p, n, "END\r\n")) {
        *result = LOAD_KV_MISS;
        return 5;
    }
    if (l1 == 8 && starts(p, n, "STORED\r\n")) {
        *result = LOAD_KV_STORED;
        return 8;
    }
    if (starts(p, n, "ERROR") || starts(p, n, "CLIENT_ERROR") || starts(p, n, "SERVER_ERROR")) {
        *result = LOAD_KV_ERROR;
        return (long)l1;
    }
    static const char *const other[] = {"NOT_STORED\r\n", "EXISTS\r\n", "NOT_FOUND\r\n",
                                        "DELETED\r\n", "TOUCHED\r\n"};
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
        if (l1 == strlen(other[i]) && starts(p, n, other[i])) {
            *result = LOAD_KV_OTHER;
            return (long)l1;
        }
    uint64_t v;
    if (parse_dec(p, l1 - 2, &v) == 0) { /* incr/decr */
        *result = LOAD_KV_OTHER;
        return (long)l1;
    }
    return -1;
}

/* ---- DNS ---------------------------------------------------------------------- */

static const struct {
    const char *name;
    uint16_t type;
} qtypes[] = {{"A", 1},    {"NS", 2},    {"CNAME", 5}, {"SOA", 6},   {"PTR", 12},
              {"MX", 15},  {"TXT", 16},  {"AAAA", 28}, {"SRV", 33},  {"ANY", 255}};

int load_dns_qtype(const char *s)
{
    for (size_t i = 0; i < sizeof(qtypes) / sizeof(qtypes[0]); i++)
        if (!strcasecmp(s, qtypes[i].name)) return qtypes[i].type;
    uint64_t v;
    if (parse_dec((const uint8_t *)s, strlen(s), &v) == 0 && v >= 1 && v <= 65535) return (int)v;
    return -1;
}

size_t load_dns_query(uint8_t *buf, size_t cap, uint16_t id, const char *name, uint16_t qtype,
                      int edns)
{
    size_t o = 12, nl = strlen(name);
    if (cap < 12 + 2 + 4 + (edns ? 11 : 0)) return 0;
    memset(buf, 0, 12);
    buf[0] = (uint8_t)(id >> 8);
    buf[1] = (uint8_t)id;
    buf[5] = 1;                  /* QDCOUNT */
    buf[11] = edns ? 1 : 0;      /* ARCOUNT */
    if (nl && name[nl - 1] == '.') nl--; /* the root's dot */
    size_t i = 0, total = 1;
    while (i < nl) {
        size_t j = i;
        while (j < nl && name[j] != '.')
            j++;
        size_t ll = j - i;
        if (ll == 0 || ll > 63) return 0; /* RFC 1035 §2.3.4 */
        total += ll + 1;
        if (total > 255 || o + 1 + ll + 1 + 4 + (edns ? 11 : 0) > cap) return 0;
        buf[o++] = (uint8_t)ll;
        memcpy(buf + o, name + i, ll);
        o += ll;
        i = j + 1;
        if (j + 1 == nl) return 0; /* "a." was trimmed: a dot here ends in an empty label */
    }
    buf[o++] = 0;
    buf[o++] = (uint8_t)(qtype >> 8);
    buf[o++] = (uint8_t)qtype;
    buf[o++] = 0;
    buf[o++] = 1; /* IN */
    if (edns) {   /* OPT: root name, type 41, class = UDP size, TTL 0, RDLEN 0 */
        static const uint8_t opt[11] = {0, 0, 41, 0x10, 0x00, 0, 0, 0, 0, 0, 0};
        memcpy(buf + o, opt, 11);
        o += 11;
    }
    return o;
}

int load_dns_response(const uint8_t *p, size_t n, uint16_t *id, int *rcode, int *tc)
{
    if (n < 12) return -1;
    if (!(p[2] & 0x80) || ((p[2] >> 3) & 0xf) != 0) return -1; /* QR, opcode QUERY */
    *id = (uint16_t)(p[0] << 8 | p[1]);
    *rcode = p[3] & 0xf;
    *tc = (p[2] >> 1) & 1;
    return 0;
}
