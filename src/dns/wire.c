/* SPDX-License-Identifier: MIT */
/*
 * dns/wire.c - DNS names in wire form, the query parser and the query
 * builder (see dns.h).
 *
 * The query parser is on the packet path of axl-dnsd: it reads every byte of
 * the datagram once, bounds-checked, and keeps no state between calls.
 *
 * Call chain: dns_respond (db.c) -> dns_query_parse -> dns_name_read;
 * zone.c -> dns_name_from_text; load generators -> dns_query_build.
 */
#include <stdio.h>
#include <string.h>

#include "dns/dns.h"

const char *dns_name_strerror(int err)
{
    switch (err) {
    case DNS_NAME_ETRUNC: return "name runs past the end";
    case DNS_NAME_ELABEL: return "unsupported label type";
    case DNS_NAME_ELONG: return "name longer than 255 bytes";
    case DNS_NAME_EPTR: return "bad compression pointer";
    case DNS_NAME_EEMPTY: return "empty label";
    case DNS_NAME_ELABELLEN: return "label longer than 63 bytes";
    case DNS_NAME_EESCAPE: return "bad escape";
    case DNS_NAME_ERELATIVE: return "relative name without an origin";
    default: return "bad name";
    }
}

/* RFC 1035 §4.1.4. `limit` is the lowest offset this name has touched: a
 * pointer must go strictly below it, so every jump makes progress towards
 * the header and a loop is impossible (at most len/2 jumps). */
int dns_name_read(const uint8_t *msg, size_t len, size_t off, uint8_t out[DNS_NAME_MAX],
                  size_t *outlen)
{
    size_t pos = off, limit = off, o = 0;
    int end = -1; /* offset after the name in the message */
    for (;;) {
        if (pos >= len) return DNS_NAME_ETRUNC;
        uint8_t c = msg[pos];
        if ((c & 0xc0) == 0xc0) {
            if (pos + 1 >= len) return DNS_NAME_ETRUNC;
            size_t target = ((size_t)(c & 0x3f) << 8) | msg[pos + 1];
            if (end < 0) end = (int)(pos + 2);
            if (target >= limit || target < DNS_HDR_LEN) return DNS_NAME_EPTR;
            limit = target;
            pos = target;
            continue;
        }
        if (c & 0xc0) return DNS_NAME_ELABEL; /* 0x40 / 0x80: RFC 6891 §5 */
        if (pos + 1 + c > len) return DNS_NAME_ETRUNC;
        if (o + 1 + c > DNS_NAME_MAX) return DNS_NAME_ELONG;
        memcpy(out + o, msg + pos, (size_t)c + 1);
        o += (size_t)c + 1;
        pos += (size_t)c + 1;
        if (c == 0) break;
    }
    if (end < 0) end = (int)pos;
    *outlen = o;
    return end;
}

size_t dns_name_len(const uint8_t *name)
{
    size_t o = 0;
    while (name[o]) o += (size_t)name[o] + 1;
    return o + 1;
}

void dns_name_lower(uint8_t *dst, const uint8_t *src, size_t len)
{
    /* Length bytes are < 64, so they never fall into 'A'..'Z'. */
    for (size_t i = 0; i < len; i++) {
        uint8_t c = src[i];
        dst[i] = (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
    }
}

int dns_name_from_text(const char *s, size_t n, const uint8_t *origin, size_t origin_len,
                       uint8_t out[DNS_NAME_MAX], size_t *outlen)
{
    if (n == 1 && s[0] == '@') {
        if (!origin) return DNS_NAME_ERELATIVE;
        memcpy(out, origin, origin_len);
        *outlen = origin_len;
        return 0;
    }
    if (n == 1 && s[0] == '.') {
        out[0] = 0;
        *outlen = 1;
        return 0;
    }
    if (n == 0) return DNS_NAME_EEMPTY;
    size_t o = 0, lab = 0; /* lab: position of the current length byte */
    uint8_t label_len = 0;
    int absolute = 0;
    out[0] = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        uint8_t byte;
        if (c == '.') {
            if (label_len == 0) return DNS_NAME_EEMPTY;
            out[lab] = label_len;
            o = lab + 1 + label_len;
            lab = o;
            label_len = 0;
            if (i == n - 1) absolute = 1;
            continue;
        }
        if (c == '\\') {
            if (i + 1 >= n) return DNS_NAME_EESCAPE;
            if (s[i + 1] >= '0' && s[i + 1] <= '9') {
                if (i + 3 >= n) return DNS_NAME_EESCAPE;
                unsigned v = 0;
                for (int k = 1; k <= 3; k++) {
                    char d = s[i + (size_t)k];
                    if (d < '0' || d > '9') return DNS_NAME_EESCAPE;
                    v = v * 10 + (unsigned)(d - '0');
                }
                if (v > 255) return DNS_NAME_EESCAPE;
                byte = (uint8_t)v;
                i += 3;
            } else {
                byte = (uint8_t)s[i + 1];
                i += 1;
            }
        } else {
            byte = (uint8_t)c;
        }
        if (label_len == DNS_LABEL_MAX) return DNS_NAME_ELABELLEN;
        if (lab + 1 + label_len + 1 > DNS_NAME_MAX - 1) return DNS_NAME_ELONG;
        out[lab + 1 + label_len] = byte;
        label_len++;
    }
    if (label_len) {
        out[lab] = label_len;
        o = lab + 1 + label_len;
    }
    if (absolute) {
        out[o] = 0;
        *outlen = o + 1;
        return 0;
    }
    if (!origin) return DNS_NAME_ERELATIVE;
    if (o + origin_len > DNS_NAME_MAX) return DNS_NAME_ELONG;
    memcpy(out + o, origin, origin_len);
    *outlen = o + origin_len;
    return 0;
}

char *dns_name_to_text(const uint8_t *name, char *buf, size_t cap)
{
    size_t o = 0, i = 0;
    if (cap == 0) return buf;
    buf[0] = 0;
    if (name[0] == 0) {
        snprintf(buf, cap, ".");
        return buf;
    }
    while (name[i] && i < DNS_NAME_MAX) {
        uint8_t l = name[i++];
        for (uint8_t k = 0; k < l && i < DNS_NAME_MAX; k++, i++) {
            uint8_t c = name[i];
            char tmp[5];
            if (c == '.' || c == '\\')
                snprintf(tmp, sizeof(tmp), "\\%c", c);
            else if (c <= 0x20 || c >= 0x7f)
                snprintf(tmp, sizeof(tmp), "\\%03u", c);
            else
                snprintf(tmp, sizeof(tmp), "%c", c);
            size_t tl = strlen(tmp);
            if (o + tl + 1 >= cap) return buf;
            memcpy(buf + o, tmp, tl + 1);
            o += tl;
        }
        if (o + 2 >= cap) return buf;
        buf[o++] = '.';
        buf[o] = 0;
    }
    return buf;
}

int dns_name_is_sub(const uint8_t *name, size_t len, const uint8_t *suffix, size_t slen)
{
    if (slen > len) return 0;
    size_t i = 0;
    while (len - i > slen) i += (size_t)name[i] + 1;
    return len - i == slen && memcmp(name + i, suffix, slen) == 0;
}

unsigned dns_name_labels(const uint8_t *name)
{
    unsigned n = 0;
    for (size_t i = 0; name[i]; i += (size_t)name[i] + 1) n++;
    return n;
}

static const struct {
    uint16_t t;
    const char *n;
} types[] = {
    {DNS_T_A, "A"},     {DNS_T_NS, "NS"},   {DNS_T_CNAME, "CNAME"}, {DNS_T_SOA, "SOA"},
    {DNS_T_PTR, "PTR"}, {DNS_T_MX, "MX"},   {DNS_T_TXT, "TXT"},     {DNS_T_AAAA, "AAAA"},
    {DNS_T_SRV, "SRV"},
};

const char *dns_type_name(uint16_t type)
{
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (types[i].t == type) return types[i].n;
    return NULL;
}

uint16_t dns_type_from_text(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        size_t l = strlen(types[i].n);
        if (l != n) continue;
        size_t k = 0;
        while (k < n && (s[k] | 0x20) == (types[i].n[k] | 0x20)) k++;
        if (k == n) return types[i].t;
    }
    return 0;
}

const char *dns_parse_status_name(enum dns_parse_status s)
{
    static const char *const names[DNS_PARSE__COUNT] = {
        [DNS_PARSE_OK] = "Ok",
        [DNS_PARSE_DROP_SHORT] = "DropShort",
        [DNS_PARSE_DROP_RESPONSE] = "DropResponse",
        [DNS_PARSE_NOTIMP_OPCODE] = "NotImpOpcode",
        [DNS_PARSE_FE_QDCOUNT] = "FormErrQdcount",
        [DNS_PARSE_FE_NAME] = "FormErrName",
        [DNS_PARSE_FE_POINTER] = "FormErrPointer",
        [DNS_PARSE_FE_TRUNC] = "FormErrTrunc",
        [DNS_PARSE_FE_COUNTS] = "FormErrCounts",
        [DNS_PARSE_FE_OPT] = "FormErrOpt",
        [DNS_PARSE_FE_TRAILING] = "FormErrTrailing",
    };
    return (unsigned)s < DNS_PARSE__COUNT ? names[s] : "?";
}

static enum dns_parse_status name_status(int err)
{
    return err == DNS_NAME_EPTR ? DNS_PARSE_FE_POINTER : DNS_PARSE_FE_NAME;
}

/* Hot: runs once per query datagram. RFC 1035 §4.1, RFC 6891 §6.1. */
enum dns_parse_status dns_query_parse(const uint8_t *msg, size_t len, struct dns_query *q)
{
    q->question_ok = 0;
    q->has_opt = 0;
    q->qname_len = 0;
    if (len < DNS_HDR_LEN) return DNS_PARSE_DROP_SHORT;
    q->id = dns_get16(msg);
    q->flags = dns_get16(msg + 2);
    q->qdcount = dns_get16(msg + 4);
    q->ancount = dns_get16(msg + 6);
    q->nscount = dns_get16(msg + 8);
    q->arcount = dns_get16(msg + 10);
    if (q->flags & DNS_F_QR) return DNS_PARSE_DROP_RESPONSE;
    if (q->flags & DNS_F_OPCODE) return DNS_PARSE_NOTIMP_OPCODE;
    if (q->qdcount != 1) return DNS_PARSE_FE_QDCOUNT;

    size_t nlen;
    int r = dns_name_read(msg, len, DNS_HDR_LEN, q->qname, &nlen);
    if (r < 0) return name_status(r);
    size_t pos = (size_t)r;
    if (pos + 4 > len) return DNS_PARSE_FE_TRUNC;
    q->qtype = dns_get16(msg + pos);
    q->qclass = dns_get16(msg + pos + 2);
    pos += 4;
    q->qname_len = (uint8_t)nlen;
    dns_name_lower(q->key, q->qname, nlen);
    q->question_ok = 1;
    if (q->ancount || q->nscount) return DNS_PARSE_FE_COUNTS;

    /* Additional section: one OPT at most (RFC 6891 §6.1.1); others skipped. */
    for (unsigned i = 0; i < q->arcount; i++) {
        uint8_t owner[DNS_NAME_MAX];
        r = dns_name_read(msg, len, pos, owner, &nlen);
        if (r < 0) return name_status(r);
        pos = (size_t)r;
        if (pos + 10 > len) return DNS_PARSE_FE_TRUNC;
        uint16_t type = dns_get16(msg + pos), rdlen = dns_get16(msg + pos + 8);
        const uint8_t *rr = msg + pos;
        pos += 10;
        if (pos + rdlen > len) return DNS_PARSE_FE_TRUNC;
        if (type == DNS_T_OPT) {
            if (q->has_opt || nlen != 1) return DNS_PARSE_FE_OPT;
            /* Options: {code, length, data}*, exactly filling RDATA. */
            size_t o = 0;
            while (o < rdlen) {
                if (o + 4 > rdlen) return DNS_PARSE_FE_OPT;
                size_t olen = dns_get16(msg + pos + o + 2);
                if (o + 4 + olen > rdlen) return DNS_PARSE_FE_OPT;
                o += 4 + olen;
            }
            q->has_opt = 1;
            q->udp_size = dns_get16(rr + 2);
            q->edns_version = rr[5];
            q->edns_flags = dns_get16(rr + 6);
        }
        pos += rdlen;
    }
    if (pos != len) return DNS_PARSE_FE_TRAILING;
    return DNS_PARSE_OK;
}

int dns_query_build(uint8_t *buf, size_t cap, uint16_t id, const uint8_t *qname, size_t qname_len,
                    uint16_t qtype, int rd, uint16_t edns_size, uint16_t edns_flags)
{
    size_t need = DNS_HDR_LEN + qname_len + 4 + (edns_size ? 11 : 0);
    if (need > cap || qname_len == 0 || qname_len > DNS_NAME_MAX) return -1;
    memset(buf, 0, DNS_HDR_LEN);
    dns_put16(buf, id);
    dns_put16(buf + 2, rd ? DNS_F_RD : 0);
    dns_put16(buf + 4, 1);
    dns_put16(buf + 10, edns_size ? 1 : 0);
    memcpy(buf + DNS_HDR_LEN, qname, qname_len);
    size_t p = DNS_HDR_LEN + qname_len;
    dns_put16(buf + p, qtype);
    dns_put16(buf + p + 2, DNS_C_IN);
    p += 4;
    if (edns_size) {
        /* RFC 6891 §6.1.2: root owner, TYPE OPT, CLASS = payload size,
         * TTL = ext-rcode, version, flags; no options. */
        buf[p] = 0;
        dns_put16(buf + p + 1, DNS_T_OPT);
        dns_put16(buf + p + 3, edns_size);
        dns_put32(buf + p + 5, edns_flags);
        dns_put16(buf + p + 9, 0);
        p += 11;
    }
    return (int)p;
}
