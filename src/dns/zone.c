/* SPDX-License-Identifier: MIT */
/*
 * dns/zone.c - the master file parser (see zone.h): a tokenizer that joins
 * parenthesised lines (RFC 1035 §5.1), then one entry at a time: directives,
 * owner / TTL / class / type, and RDATA per type into uncompressed wire form.
 * Whole-zone checks run at the end. Runs at start-up only: simple, not fast.
 *
 * Call chain: dns_zone_load -> dns_zone_parse -> next_entry -> do_entry ->
 * parse_rdata ; check_zone.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/zone.h"

/** ZONE_MAX_TOKENS: tokens in one entry (TXT strings are the long ones). */
#define ZONE_MAX_TOKENS 1024
/** ZONE_TTL_MAX: RFC 2181 §8. */
#define ZONE_TTL_MAX 0x7fffffffu

struct tok {
    const char *s;
    size_t n;
    int quoted;
    uint32_t line;
};

struct zp {
    const char *p, *end;
    const char *file;
    uint32_t line;
    struct dns_zone *z;
    uint8_t origin[DNS_NAME_MAX];
    size_t origin_len; /* 0: none yet */
    uint8_t prev[DNS_NAME_MAX];
    size_t prev_len; /* 0: none yet */
    uint32_t default_ttl, last_ttl;
    int have_default_ttl, have_last_ttl;
    struct tok tok[ZONE_MAX_TOKENS];
    size_t ntok;
    int leading_ws;
    char *err;
    size_t errlen;
};

static int fail(struct zp *zp, uint32_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct zp *zp, uint32_t line, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(zp->err, zp->errlen, "%s:%u: %s", zp->file, line, msg);
    return -1;
}

static int tok_is(const struct tok *t, const char *word)
{
    size_t l = strlen(word);
    if (t->quoted || t->n != l) return 0;
    for (size_t i = 0; i < l; i++)
        if ((t->s[i] | 0x20) != (word[i] | 0x20)) return 0;
    return 1;
}

/* The next entry's tokens: 1, 0 at the end, -1 on error. */
static int next_entry(struct zp *zp)
{
    for (;;) {
        if (zp->p >= zp->end) return 0;
        int paren = 0;
        uint32_t paren_line = 0;
        zp->ntok = 0;
        zp->leading_ws = (*zp->p == ' ' || *zp->p == '\t');
        for (;;) {
            while (zp->p < zp->end && (*zp->p == ' ' || *zp->p == '\t' || *zp->p == '\r')) zp->p++;
            if (zp->p >= zp->end) {
                if (paren) return fail(zp, paren_line, "'(' is never closed");
                break;
            }
            char c = *zp->p;
            if (c == ';') {
                while (zp->p < zp->end && *zp->p != '\n') zp->p++;
                continue;
            }
            if (c == '\n') {
                zp->p++;
                zp->line++;
                if (paren) continue;
                break;
            }
            if (c == '(') {
                if (paren) return fail(zp, zp->line, "nested '('");
                paren = 1;
                paren_line = zp->line;
                zp->p++;
                continue;
            }
            if (c == ')') {
                if (!paren) return fail(zp, zp->line, "')' without '('");
                paren = 0;
                zp->p++;
                continue;
            }
            if (zp->ntok == ZONE_MAX_TOKENS)
                return fail(zp, zp->line, "more than %d fields in one entry", ZONE_MAX_TOKENS);
            struct tok *t = &zp->tok[zp->ntok++];
            t->line = zp->line;
            if (c == '"') {
                uint32_t start_line = zp->line;
                t->s = ++zp->p;
                t->quoted = 1;
                while (zp->p < zp->end && *zp->p != '"') {
                    if (*zp->p == '\\' && zp->p + 1 < zp->end) zp->p++;
                    if (*zp->p == '\n') zp->line++;
                    zp->p++;
                }
                if (zp->p >= zp->end) return fail(zp, start_line, "unterminated quoted string");
                t->n = (size_t)(zp->p - t->s);
                zp->p++;
            } else {
                t->s = zp->p;
                t->quoted = 0;
                while (zp->p < zp->end && !strchr(" \t\r\n;()\"", *zp->p)) {
                    if (*zp->p == '\\' && zp->p + 1 < zp->end && zp->p[1] != '\n') zp->p++;
                    zp->p++;
                }
                t->n = (size_t)(zp->p - t->s);
            }
        }
        if (zp->ntok) return 1;
    }
}

static int parse_u32(const struct tok *t, uint32_t max, uint32_t *out)
{
    if (t->quoted || t->n == 0 || t->n > 10) return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (t->s[i] < '0' || t->s[i] > '9') return -1;
        v = v * 10 + (uint64_t)(t->s[i] - '0');
    }
    if (v > max) return -1;
    *out = (uint32_t)v;
    return 0;
}

/* A TTL: seconds, or BIND units ("1h30m", "2d", "1W"). */
static int parse_ttl(const struct tok *t, uint32_t *out)
{
    if (t->quoted || t->n == 0) return -1;
    uint64_t total = 0, cur = 0;
    int digits = 0, units = 0;
    for (size_t i = 0; i < t->n; i++) {
        char c = t->s[i];
        if (c >= '0' && c <= '9') {
            cur = cur * 10 + (uint64_t)(c - '0');
            if (cur > ZONE_TTL_MAX) return -1;
            digits = 1;
            continue;
        }
        uint64_t mul;
        switch (c | 0x20) {
        case 's': mul = 1; break;
        case 'm': mul = 60; break;
        case 'h': mul = 3600; break;
        case 'd': mul = 86400; break;
        case 'w': mul = 604800; break;
        default: return -1;
        }
        if (!digits) return -1;
        total += cur * mul;
        cur = 0;
        digits = 0;
        units = 1;
        if (total > ZONE_TTL_MAX) return -1;
    }
    if (digits) {
        if (units) return -1; /* "1h30": a number after a unit needs a unit */
        total += cur;
    }
    if (total > ZONE_TTL_MAX) return -1;
    *out = (uint32_t)total;
    return 0;
}

static int tok_name(struct zp *zp, const struct tok *t, uint8_t out[DNS_NAME_MAX], size_t *len)
{
    if (t->quoted) return fail(zp, t->line, "a name cannot be quoted");
    int r = dns_name_from_text(t->s, t->n, zp->origin_len ? zp->origin : NULL, zp->origin_len,
                               out, len);
    if (r < 0)
        return fail(zp, t->line, "bad name '%.*s': %s%s", (int)t->n, t->s, dns_name_strerror(r),
                    r == DNS_NAME_ERELATIVE ? " (add $ORIGIN)" : "");
    return 0;
}

/* Decode a character-string (RFC 1035 §5.1: \X and \DDD). -1 if bad. */
static int tok_string(const struct tok *t, uint8_t *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < t->n; i++) {
        uint8_t b = (uint8_t)t->s[i];
        if (b == '\\') {
            if (i + 1 >= t->n) return -1;
            if (t->s[i + 1] >= '0' && t->s[i + 1] <= '9') {
                if (i + 3 >= t->n) return -1;
                unsigned v = 0;
                for (int k = 1; k <= 3; k++) {
                    char d = t->s[i + (size_t)k];
                    if (d < '0' || d > '9') return -1;
                    v = v * 10 + (unsigned)(d - '0');
                }
                if (v > 255) return -1;
                b = (uint8_t)v;
                i += 3;
            } else {
                b = (uint8_t)t->s[++i];
            }
        }
        if (o == cap) return -2;
        out[o++] = b;
    }
    return (int)o;
}

static int rd_reserve(struct zp *zp, size_t n)
{
    struct dns_zone *z = zp->z;
    if (z->rd_len + n <= z->rd_cap) return 0;
    size_t cap = z->rd_cap ? z->rd_cap * 2 : 4096;
    while (cap < z->rd_len + n) cap *= 2;
    uint8_t *p = realloc(z->rd, cap);
    if (!p) return fail(zp, zp->line, "out of memory");
    z->rd = p;
    z->rd_cap = cap;
    return 0;
}

static int parse_rdata(struct zp *zp, uint16_t type, const struct tok *r, size_t m, uint32_t line,
                       uint8_t *rd, size_t *rdlen)
{
    static const struct {
        uint16_t type;
        size_t n; /* fields; 0 = one or more */
        const char *what;
    } shape[] = {
        {DNS_T_A, 1, "an IPv4 address"},
        {DNS_T_AAAA, 1, "an IPv6 address"},
        {DNS_T_NS, 1, "a name"},
        {DNS_T_CNAME, 1, "a name"},
        {DNS_T_PTR, 1, "a name"},
        {DNS_T_MX, 2, "preference and exchange"},
        {DNS_T_SRV, 4, "priority, weight, port and target"},
        {DNS_T_SOA, 7, "mname rname serial refresh retry expire minimum"},
        {DNS_T_TXT, 0, "one or more strings"},
    };
    const char *tn = dns_type_name(type);
    for (size_t i = 0; i < sizeof(shape) / sizeof(shape[0]); i++) {
        if (shape[i].type != type) continue;
        if ((shape[i].n && m != shape[i].n) || (!shape[i].n && m == 0))
            return fail(zp, m ? r[0].line : line, "%s needs %s (%zu field%s given)", tn,
                        shape[i].what, m, m == 1 ? "" : "s");
    }
    char buf[64];
    size_t nl;
    uint32_t v[5];
    switch (type) {
    case DNS_T_A:
    case DNS_T_AAAA:
        if (r[0].n >= sizeof(buf) || r[0].quoted)
            return fail(zp, r[0].line, "bad %s address '%.*s'", tn, (int)r[0].n, r[0].s);
        memcpy(buf, r[0].s, r[0].n);
        buf[r[0].n] = 0;
        if (inet_pton(type == DNS_T_A ? AF_INET : AF_INET6, buf, rd) != 1)
            return fail(zp, r[0].line, "bad %s address '%s'", tn, buf);
        *rdlen = type == DNS_T_A ? 4 : 16;
        return 0;
    case DNS_T_NS:
    case DNS_T_CNAME:
    case DNS_T_PTR:
        if (tok_name(zp, &r[0], rd, &nl) < 0) return -1;
        *rdlen = nl;
        return 0;
    case DNS_T_MX:
        if (parse_u32(&r[0], 0xffff, &v[0]) < 0)
            return fail(zp, r[0].line, "bad MX preference '%.*s'", (int)r[0].n, r[0].s);
        dns_put16(rd, (uint16_t)v[0]);
        if (tok_name(zp, &r[1], rd + 2, &nl) < 0) return -1;
        *rdlen = 2 + nl;
        return 0;
    case DNS_T_SRV:
        for (int k = 0; k < 3; k++) {
            if (parse_u32(&r[k], 0xffff, &v[k]) < 0)
                return fail(zp, r[k].line, "bad SRV %s '%.*s'",
                            k == 0 ? "priority" : k == 1 ? "weight" : "port", (int)r[k].n, r[k].s);
            dns_put16(rd + 2 * k, (uint16_t)v[k]);
        }
        if (tok_name(zp, &r[3], rd + 6, &nl) < 0) return -1;
        *rdlen = 6 + nl;
        return 0;
    case DNS_T_SOA: {
        size_t l1, l2;
        if (tok_name(zp, &r[0], rd, &l1) < 0) return -1;
        if (tok_name(zp, &r[1], rd + l1, &l2) < 0) return -1;
        if (parse_u32(&r[2], 0xffffffffu, &v[0]) < 0)
            return fail(zp, r[2].line, "bad SOA serial '%.*s'", (int)r[2].n, r[2].s);
        for (int k = 1; k < 5; k++)
            if (parse_ttl(&r[2 + k], &v[k]) < 0)
                return fail(zp, r[2 + k].line, "bad SOA time '%.*s'", (int)r[2 + k].n,
                            r[2 + k].s);
        for (int k = 0; k < 5; k++) dns_put32(rd + l1 + l2 + 4 * k, v[k]);
        *rdlen = l1 + l2 + 20;
        return 0;
    }
    case DNS_T_TXT: {
        size_t o = 0;
        for (size_t k = 0; k < m; k++) {
            if (o + 256 > 65535)
                return fail(zp, r[k].line, "TXT record longer than 65535 bytes");
            int n = tok_string(&r[k], rd + o + 1, 255);
            if (n == -2) return fail(zp, r[k].line, "TXT string longer than 255 bytes");
            if (n < 0) return fail(zp, r[k].line, "bad escape in TXT string");
            rd[o] = (uint8_t)n;
            o += 1 + (size_t)n;
        }
        *rdlen = o;
        return 0;
    }
    default:
        return fail(zp, line, "unsupported type");
    }
}

static int do_entry(struct zp *zp)
{
    struct tok *t = zp->tok;
    size_t n = zp->ntok, i = 0;
    uint32_t line = t[0].line;

    if (!zp->leading_ws && !t[0].quoted && t[0].n && t[0].s[0] == '$') {
        if (tok_is(&t[0], "$ORIGIN")) {
            if (n != 2) return fail(zp, line, "$ORIGIN needs one name");
            uint8_t o[DNS_NAME_MAX];
            size_t ol;
            if (tok_name(zp, &t[1], o, &ol) < 0) return -1;
            memcpy(zp->origin, o, ol);
            zp->origin_len = ol;
            return 0;
        }
        if (tok_is(&t[0], "$TTL")) {
            if (n != 2) return fail(zp, line, "$TTL needs one value");
            if (parse_ttl(&t[1], &zp->default_ttl) < 0)
                return fail(zp, line, "bad $TTL '%.*s' (0..2147483647, units s m h d w)",
                            (int)t[1].n, t[1].s);
            zp->have_default_ttl = 1;
            return 0;
        }
        return fail(zp, line, "directive '%.*s' not supported (only $ORIGIN and $TTL)",
                    (int)t[0].n, t[0].s);
    }

    struct dns_rr rr;
    memset(&rr, 0, sizeof(rr));
    rr.line = line;
    if (zp->leading_ws) {
        if (!zp->prev_len) return fail(zp, line, "no owner name (and no previous one)");
        memcpy(rr.owner, zp->prev, zp->prev_len);
        rr.owner_len = (uint8_t)zp->prev_len;
    } else {
        size_t ol;
        if (tok_name(zp, &t[0], rr.owner, &ol) < 0) return -1;
        rr.owner_len = (uint8_t)ol;
        i = 1;
    }
    int has_ttl = 0, has_class = 0;
    uint32_t ttl = 0;
    while (i < n && !t[i].quoted && t[i].n) {
        if (!has_ttl && t[i].s[0] >= '0' && t[i].s[0] <= '9') {
            if (parse_ttl(&t[i], &ttl) < 0)
                return fail(zp, t[i].line, "bad TTL '%.*s' (0..2147483647, units s m h d w)",
                            (int)t[i].n, t[i].s);
            has_ttl = 1;
        } else if (!has_class && tok_is(&t[i], "IN")) {
            has_class = 1;
        } else if (!has_class && (tok_is(&t[i], "CH") || tok_is(&t[i], "HS") ||
                                  tok_is(&t[i], "CS") || tok_is(&t[i], "ANY") ||
                                  (t[i].n > 5 && tok_is(&(struct tok){t[i].s, 5, 0, 0}, "CLASS")))) {
            return fail(zp, t[i].line, "class %.*s not supported (only IN)", (int)t[i].n, t[i].s);
        } else {
            break;
        }
        i++;
    }
    if (i >= n) return fail(zp, line, "missing type");
    rr.type = t[i].quoted ? 0 : dns_type_from_text(t[i].s, t[i].n);
    if (!rr.type)
        return fail(zp, t[i].line,
                    "unknown or unsupported type '%.*s' (A AAAA NS CNAME PTR MX TXT SOA SRV)",
                    (int)t[i].n, t[i].s);
    i++;
    if (has_ttl) {
        zp->last_ttl = ttl;
        zp->have_last_ttl = 1;
    } else if (zp->have_default_ttl) {
        ttl = zp->default_ttl;
    } else if (zp->have_last_ttl) {
        ttl = zp->last_ttl; /* RFC 1035 §5.1: the last explicitly stated TTL */
    } else {
        return fail(zp, line, "no TTL (give one, or add $TTL)");
    }
    rr.ttl = ttl;

    uint8_t rd[65536];
    size_t rdlen = 0;
    if (parse_rdata(zp, rr.type, t + i, n - i, line, rd, &rdlen) < 0) return -1;

    struct dns_zone *z = zp->z;
    if (z->nrr == z->rr_cap) {
        size_t cap = z->rr_cap ? z->rr_cap * 2 : 64;
        struct dns_rr *p = realloc(z->rr, cap * sizeof(*p));
        if (!p) return fail(zp, line, "out of memory");
        z->rr = p;
        z->rr_cap = cap;
    }
    if (rd_reserve(zp, rdlen) < 0) return -1;
    memcpy(z->rd + z->rd_len, rd, rdlen);
    rr.rdoff = (uint32_t)z->rd_len;
    rr.rdlen = (uint16_t)rdlen;
    z->rd_len += rdlen;
    z->rr[z->nrr++] = rr;
    memcpy(zp->prev, rr.owner, rr.owner_len);
    zp->prev_len = rr.owner_len;
    return 0;
}

/* Case-insensitive order of owners, then line (for the whole-zone checks). */
static int cmp_owner(const struct dns_rr *a, const struct dns_rr *b)
{
    size_t n = a->owner_len < b->owner_len ? a->owner_len : b->owner_len;
    for (size_t i = 0; i < n; i++) {
        uint8_t x = a->owner[i], y = b->owner[i];
        if (x >= 'A' && x <= 'Z') x = (uint8_t)(x + 32);
        if (y >= 'A' && y <= 'Z') y = (uint8_t)(y + 32);
        if (x != y) return x < y ? -1 : 1;
    }
    return a->owner_len < b->owner_len ? -1 : a->owner_len > b->owner_len;
}
static int cmp_rrp(const void *x, const void *y)
{
    const struct dns_rr *a = *(const struct dns_rr *const *)x, *b = *(const struct dns_rr *const *)y;
    int c = cmp_owner(a, b);
    if (c) return c;
    return a->line < b->line ? -1 : a->line > b->line;
}

static int check_zone(struct zp *zp)
{
    struct dns_zone *z = zp->z;
    const struct dns_rr *soa = NULL;
    for (size_t i = 0; i < z->nrr; i++) {
        if (z->rr[i].type != DNS_T_SOA) continue;
        if (soa)
            return fail(zp, z->rr[i].line, "second SOA record (the first is on line %u)",
                        soa->line);
        soa = &z->rr[i];
    }
    if (!soa) return fail(zp, zp->line, "no SOA record: a zone needs exactly one, at its apex");
    dns_name_lower(z->apex, soa->owner, soa->owner_len);
    z->apex_len = soa->owner_len;
    for (size_t i = 0; i < z->nrr; i++) {
        uint8_t low[DNS_NAME_MAX];
        dns_name_lower(low, z->rr[i].owner, z->rr[i].owner_len);
        if (!dns_name_is_sub(low, z->rr[i].owner_len, z->apex, z->apex_len)) {
            char a[1024], b[1024];
            return fail(zp, z->rr[i].line, "%s is outside the zone %s",
                        dns_name_to_text(z->rr[i].owner, a, sizeof(a)),
                        dns_name_to_text(z->apex, b, sizeof(b)));
        }
    }
    /* CNAME and other data (RFC 1034 §3.6.2, RFC 2181 §10.1). */
    const struct dns_rr **v = malloc((z->nrr ? z->nrr : 1) * sizeof(*v));
    if (!v) return fail(zp, zp->line, "out of memory");
    for (size_t i = 0; i < z->nrr; i++) v[i] = &z->rr[i];
    qsort(v, z->nrr, sizeof(*v), cmp_rrp);
    int rc = 0;
    for (size_t i = 0; i < z->nrr && !rc;) {
        size_t j = i;
        const struct dns_rr *cname = NULL, *other = NULL;
        while (j < z->nrr && cmp_owner(v[i], v[j]) == 0) {
            if (v[j]->type == DNS_T_CNAME) {
                if (cname) {
                    rc = fail(zp, v[j]->line, "second CNAME at the same name (line %u)",
                              cname->line);
                    break;
                }
                cname = v[j];
            } else if (!other) {
                other = v[j];
            }
            j++;
        }
        if (!rc && cname && other) {
            const struct dns_rr *later = cname->line > other->line ? cname : other;
            const struct dns_rr *earlier = later == cname ? other : cname;
            rc = fail(zp, later->line,
                      "CNAME and other data at the same name (RFC 1034 §3.6.2; see line %u)",
                      earlier->line);
        }
        i = j;
    }
    free(v);
    return rc;
}

int dns_zone_parse(const char *text, size_t len, const char *file, const char *origin,
                   struct dns_zone **out, char *err, size_t errlen)
{
    struct zp *zp = calloc(1, sizeof(*zp));
    struct dns_zone *z = calloc(1, sizeof(*z));
    if (!zp || !z || !(z->file = strdup(file ? file : "-"))) {
        free(zp);
        if (z) free(z->file);
        free(z);
        snprintf(err, errlen, "%s: out of memory", file ? file : "-");
        return -1;
    }
    zp->p = text;
    zp->end = text + len;
    zp->file = z->file;
    zp->line = 1;
    zp->z = z;
    zp->err = err;
    zp->errlen = errlen;
    int rc = 0;
    if (origin) {
        struct tok t = {origin, strlen(origin), 0, 0};
        uint8_t o[DNS_NAME_MAX];
        size_t ol;
        if (dns_name_from_text(t.s, t.n, NULL, 0, o, &ol) < 0) {
            snprintf(err, errlen, "%s: bad origin '%s' (an absolute name, ending in '.')",
                     z->file, origin);
            rc = -1;
        } else {
            memcpy(zp->origin, o, ol);
            zp->origin_len = ol;
        }
    }
    if (!rc && memchr(text, 0, len)) {
        const char *nul = memchr(text, 0, len);
        uint32_t line = 1;
        for (const char *p = text; p < nul; p++) line += *p == '\n';
        rc = fail(zp, line, "NUL byte in the zone file");
    }
    while (!rc) {
        int r = next_entry(zp);
        if (r <= 0) {
            rc = r;
            break;
        }
        rc = do_entry(zp);
    }
    if (!rc) rc = check_zone(zp);
    free(zp);
    if (rc) {
        dns_zone_free(z);
        return -1;
    }
    *out = z;
    return 0;
}

int dns_zone_load(const char *path, const char *origin, struct dns_zone **out, char *err,
                  size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (len < cap) break;
        cap *= 2;
        char *nb = realloc(buf, cap);
        if (!nb) {
            free(buf);
            buf = NULL;
        } else {
            buf = nb;
        }
    }
    int rd_err = ferror(f);
    fclose(f);
    if (!buf || rd_err) {
        snprintf(err, errlen, "%s: %s", path, buf ? "read error" : "out of memory");
        free(buf);
        return -1;
    }
    int rc = dns_zone_parse(buf, len, path, origin, out, err, errlen);
    free(buf);
    return rc;
}

void dns_zone_free(struct dns_zone *z)
{
    if (!z) return;
    free(z->file);
    free(z->rr);
    free(z->rd);
    free(z);
}
