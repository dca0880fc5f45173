/* SPDX-License-Identifier: MIT */
/*
 * test_dns.c - DNS wire reading (compressed names: loops, forward and
 * out-of-range pointers, label types), the query parser (every outcome, a
 * query fed one byte short at a time), and the compiled database answering
 * whole queries on every rcode path: answer, glue, CNAME chains, wildcard,
 * referral, NODATA, NXDOMAIN, REFUSED, FORMERR, NOTIMP, BADVERS, EDNS size,
 * TC and dropped additional data, case echo, compressed queries.
 * Answers are decoded with dns_name_read, which also proves every
 * compression pointer we emit points backwards inside the message.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns/db.h"

/* ---- helpers ------------------------------------------------------------------- */

static const char *ZONE =
    "$ORIGIN example.com.\n"
    "$TTL 3600\n"
    "@ SOA ns1 hostmaster 7 7200 3600 1209600 300\n"
    "  NS ns1\n"
    "  NS ns2.example.net.\n"
    "  MX 10 mail\n"
    "ns1 A 192.0.2.1\n"
    "mail A 192.0.2.2\n"
    "mail AAAA 2001:db8::2\n"
    "www A 192.0.2.3\n"
    "www A 192.0.2.4\n"
    "www AAAA 2001:db8::3\n"
    "alias CNAME www\n"
    "alias2 CNAME Alias\n"
    "dangling CNAME nothere\n"
    "out CNAME www.example.net.\n"
    "loop1 CNAME loop2\n"
    "loop2 CNAME loop1\n"
    "*.wild 60 A 192.0.2.5\n"
    "sub NS ns.sub\n"
    "ns.sub A 192.0.2.6\n"
    "a.b.c A 192.0.2.7\n"
    "_sip._tcp SRV 0 5 5060 www\n";

static const char *ZONE2 = "$ORIGIN example.org.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n";

struct fx {
    struct dns_db *db;
    struct dns_counters c;
    uint8_t out[65536];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct dns_zone *z[2];
    char err[512];
    if (dns_zone_parse(ZONE, strlen(ZONE), "ex.zone", NULL, &z[0], err, sizeof(err)) ||
        dns_zone_parse(ZONE2, strlen(ZONE2), "org.zone", NULL, &z[1], err, sizeof(err)))
        fail_msg("%s", err);
    struct dns_db_cfg cfg = {1232, 42};
    if (dns_db_build(&f->db, z, 2, &cfg, err, sizeof(err))) fail_msg("%s", err);
    dns_zone_free(z[0]);
    dns_zone_free(z[1]);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    dns_db_free(f->db);
    free(f);
    return 0;
}

static size_t wire(const char *text, uint8_t out[DNS_NAME_MAX])
{
    size_t len;
    assert_int_equal(dns_name_from_text(text, strlen(text), NULL, 0, out, &len), 0);
    return len;
}

static size_t query(uint8_t *buf, const char *name, uint16_t qtype, uint16_t edns)
{
    uint8_t n[DNS_NAME_MAX];
    size_t l = wire(name, n);
    int r = dns_query_build(buf, 1024, 0xbeef, n, l, qtype, 1, edns, 0);
    assert_true(r > 0);
    return (size_t)r;
}

/* A decoded answer. */
struct rr_text {
    char owner[300];
    uint16_t type;
    uint32_t ttl;
    char data[600];
};
struct ans {
    uint16_t id, flags, qd, an, ns, ar;
    char qname[300];
    uint16_t qtype;
    struct rr_text rr[80];
    size_t nrr;
    int opt; /* OPT present */
    uint16_t opt_size;
    uint32_t opt_ttl;
};

static void decode(const uint8_t *m, size_t len, struct ans *a)
{
    memset(a, 0, sizeof(*a));
    assert_true(len >= DNS_HDR_LEN);
    a->id = dns_get16(m);
    a->flags = dns_get16(m + 2);
    a->qd = dns_get16(m + 4);
    a->an = dns_get16(m + 6);
    a->ns = dns_get16(m + 8);
    a->ar = dns_get16(m + 10);
    size_t pos = DNS_HDR_LEN, nl;
    uint8_t n[DNS_NAME_MAX];
    int r;
    if (a->qd) {
        r = dns_name_read(m, len, pos, n, &nl);
        assert_true(r > 0);
        dns_name_to_text(n, a->qname, sizeof(a->qname));
        pos = (size_t)r;
        a->qtype = dns_get16(m + pos);
        pos += 4;
    }
    for (unsigned i = 0; i < (unsigned)a->an + a->ns + a->ar; i++) {
        r = dns_name_read(m, len, pos, n, &nl);
        if (r < 0) fail_msg("record %u: %s", i, dns_name_strerror(r));
        pos = (size_t)r;
        assert_true(pos + 10 <= len);
        uint16_t type = dns_get16(m + pos), rdlen = dns_get16(m + pos + 8);
        uint32_t ttl = dns_get32(m + pos + 4);
        const uint8_t *rd = m + pos + 10;
        size_t rdoff = pos + 10;
        assert_true(rdoff + rdlen <= len);
        if (type == DNS_T_OPT) {
            a->opt = 1;
            a->opt_size = dns_get16(m + pos + 2);
            a->opt_ttl = ttl;
            pos = rdoff + rdlen;
            continue;
        }
        struct rr_text *t = &a->rr[a->nrr++];
        dns_name_to_text(n, t->owner, sizeof(t->owner));
        t->type = type;
        t->ttl = ttl;
        char x[300], y[300];
        uint8_t n2[DNS_NAME_MAX];
        size_t l2;
        switch (type) {
        case DNS_T_A: snprintf(t->data, sizeof(t->data), "%u.%u.%u.%u", rd[0], rd[1], rd[2], rd[3]); break;
        case DNS_T_AAAA: snprintf(t->data, sizeof(t->data), "aaaa/%u", rdlen); break;
        case DNS_T_NS:
        case DNS_T_CNAME:
            assert_true(dns_name_read(m, len, rdoff, n2, &l2) == (int)(rdoff + rdlen));
            dns_name_to_text(n2, t->data, sizeof(t->data));
            break;
        case DNS_T_MX:
            assert_true(dns_name_read(m, len, rdoff + 2, n2, &l2) == (int)(rdoff + rdlen));
            snprintf(t->data, sizeof(t->data), "%u %s", dns_get16(rd), dns_name_to_text(n2, x, sizeof(x)));
            break;
        case DNS_T_SRV:
            /* never compressed (RFC 2782) */
            assert_true(dns_name_read(m, len, rdoff + 6, n2, &l2) == (int)(rdoff + rdlen));
            assert_int_equal(l2, rdlen - 6u);
            snprintf(t->data, sizeof(t->data), "%u %u %u %s", dns_get16(rd), dns_get16(rd + 2),
                     dns_get16(rd + 4), dns_name_to_text(n2, x, sizeof(x)));
            break;
        case DNS_T_SOA: {
            int e = dns_name_read(m, len, rdoff, n2, &l2);
            assert_true(e > 0);
            dns_name_to_text(n2, x, sizeof(x));
            int e2 = dns_name_read(m, len, (size_t)e, n2, &l2);
            assert_true(e2 > 0 && (size_t)e2 + 20 == rdoff + rdlen);
            snprintf(t->data, sizeof(t->data), "%s %s %u", x, dns_name_to_text(n2, y, sizeof(y)),
                     dns_get32(m + e2));
            break;
        }
        default: snprintf(t->data, sizeof(t->data), "len=%u", rdlen);
        }
        pos = rdoff + rdlen;
    }
    assert_int_equal(pos, len);
}

static size_t ask(struct fx *f, const uint8_t *q, size_t ql, size_t cap, int tcp, struct ans *a)
{
    size_t r = dns_respond(f->db, q, ql, f->out, cap, tcp, &f->c);
    if (r) decode(f->out, r, a);
    return r;
}

static size_t ask_name(struct fx *f, const char *name, uint16_t qtype, uint16_t edns, struct ans *a)
{
    uint8_t q[1024];
    size_t ql = query(q, name, qtype, edns);
    size_t r = ask(f, q, ql, sizeof(f->out), 0, a);
    assert_true(r > 0);
    assert_int_equal(a->id, 0xbeef);
    assert_true(a->flags & DNS_F_QR);
    assert_true(a->flags & DNS_F_RD); /* copied */
    return r;
}

static int has(const struct ans *a, const char *owner, uint16_t type, const char *data)
{
    for (size_t i = 0; i < a->nrr; i++)
        if (!strcasecmp(a->rr[i].owner, owner) && a->rr[i].type == type &&
            (!data || !strcasecmp(a->rr[i].data, data)))
            return 1;
    return 0;
}
#define RCODE(a) ((a)->flags & DNS_F_RCODE)

/* ---- names ------------------------------------------------------------------------- */

static void test_name_read_compression(void **state)
{
    (void)state;
    uint8_t m[64] = {0}, out[DNS_NAME_MAX];
    size_t ol;
    /* 12: \3www\7example\3com\0 ; 29: \4mail + ptr 16 ; 36: ptr 29 */
    memcpy(m + 12, "\3www\7example\3com\0", 17);
    memcpy(m + 29, "\4mail\xc0\x10", 7);
    memcpy(m + 36, "\xc0\x1d", 2);
    assert_int_equal(dns_name_read(m, 38, 12, out, &ol), 29);
    assert_int_equal(ol, 17);
    assert_int_equal(dns_name_read(m, 38, 29, out, &ol), 36);
    assert_memory_equal(out, "\4mail\7example\3com\0", 18);
    assert_int_equal(dns_name_read(m, 38, 36, out, &ol), 38); /* pointer to a pointer */
    assert_memory_equal(out, "\4mail\7example\3com\0", 18);
    /* loop: a label then a pointer back to it */
    memcpy(m + 40, "\1a\xc0\x28", 4);
    assert_int_equal(dns_name_read(m, 44, 40, out, &ol), DNS_NAME_EPTR);
    /* pointer to itself, forward, into the header, past the end */
    memcpy(m + 44, "\xc0\x2c", 2);
    assert_int_equal(dns_name_read(m, 46, 44, out, &ol), DNS_NAME_EPTR);
    memcpy(m + 44, "\xc0\x30", 2);
    assert_int_equal(dns_name_read(m, 64, 44, out, &ol), DNS_NAME_EPTR);
    memcpy(m + 44, "\xc0\x02", 2);
    assert_int_equal(dns_name_read(m, 46, 44, out, &ol), DNS_NAME_EPTR);
    memcpy(m + 44, "\xff\xff", 2);
    assert_int_equal(dns_name_read(m, 46, 44, out, &ol), DNS_NAME_EPTR);
    /* a two-step loop: 50 -> 48 -> 50 is caught (each jump must go lower) */
    memcpy(m + 48, "\xc0\x32\xc0\x30", 4);
    assert_int_equal(dns_name_read(m, 52, 50, out, &ol), DNS_NAME_EPTR);
    /* half a pointer, truncated label, label types 0x40 and 0x80 */
    assert_int_equal(dns_name_read(m, 37, 36, out, &ol), DNS_NAME_ETRUNC);
    assert_int_equal(dns_name_read(m, 20, 12, out, &ol), DNS_NAME_ETRUNC);
    m[44] = 0x41;
    assert_int_equal(dns_name_read(m, 64, 44, out, &ol), DNS_NAME_ELABEL);
    m[44] = 0x81;
    assert_int_equal(dns_name_read(m, 64, 44, out, &ol), DNS_NAME_ELABEL);
}

static void test_name_read_too_long(void **state)
{
    (void)state;
    uint8_t m[600] = {0}, out[DNS_NAME_MAX];
    size_t ol, p = 12;
    for (int i = 0; i < 5; i++) { /* 5 x 51 + 1 = 256 > 255 */
        m[p] = 50;
        memset(m + p + 1, 'a', 50);
        p += 51;
    }
    m[p++] = 0;
    assert_int_equal(dns_name_read(m, p, 12, out, &ol), DNS_NAME_ELONG);
    m[12 + 4 * 51] = 0; /* 4 labels: 205 bytes */
    assert_int_equal(dns_name_read(m, p, 12, out, &ol), 12 + 4 * 51 + 1);
    assert_int_equal(ol, 205);
}

/* ---- the query parser ---------------------------------------------------------------- */

static void test_query_parse_outcomes(void **state)
{
    (void)state;
    uint8_t q[600];
    struct dns_query dq;
    size_t ql = query(q, "WWW.Example.com.", DNS_T_A, 1232);
    assert_int_equal(dns_query_parse(q, ql, &dq), DNS_PARSE_OK);
    assert_memory_equal(dq.qname, "\3WWW\7Example\3com\0", 17);
    assert_memory_equal(dq.key, "\3www\7example\3com\0", 17);
    assert_int_equal(dq.has_opt, 1);
    assert_int_equal(dq.udp_size, 1232);
    /* One byte short, and every shorter prefix: never OK, never a crash. */
    for (size_t l = 0; l < ql; l++) {
        enum dns_parse_status st = dns_query_parse(q, l, &dq);
        assert_int_not_equal(st, DNS_PARSE_OK);
        if (l < DNS_HDR_LEN) assert_int_equal(st, DNS_PARSE_DROP_SHORT);
    }
    uint8_t b[600];
    memcpy(b, q, ql);
    b[2] |= 0x80;
    assert_int_equal(dns_query_parse(b, ql, &dq), DNS_PARSE_DROP_RESPONSE);
    memcpy(b, q, ql);
    b[2] |= 0x28; /* opcode 5 (UPDATE) */
    assert_int_equal(dns_query_parse(b, ql, &dq), DNS_PARSE_NOTIMP_OPCODE);
    memcpy(b, q, ql);
    b[5] = 2;
    assert_int_equal(dns_query_parse(b, ql, &dq), DNS_PARSE_FE_QDCOUNT);
    memcpy(b, q, ql);
    b[7] = 1;
    assert_int_equal(dns_query_parse(b, ql, &dq), DNS_PARSE_FE_COUNTS);
    memcpy(b, q, ql);
    b[ql] = 0;
    assert_int_equal(dns_query_parse(b, ql + 1, &dq), DNS_PARSE_FE_TRAILING);
    /* Two OPT records; an OPT not at the root; a bad option length */
    memcpy(b, q, ql);
    memcpy(b + ql, q + ql - 11, 11);
    b[11] = 2;
    assert_int_equal(dns_query_parse(b, ql + 11, &dq), DNS_PARSE_FE_OPT);
    size_t base = ql - 11; /* where the OPT starts */
    memcpy(b, q, base);
    memcpy(b + base, "\1x\0\0\x29\x04\xd0\0\0\0\0\0\0", 13);
    assert_int_equal(dns_query_parse(b, base + 13, &dq), DNS_PARSE_FE_OPT);
    memcpy(b, q, ql);
    memcpy(b + ql - 2, "\0\5\0\12\0\5\1", 7); /* rdlen 5: code 10, length 5 > 1 */
    assert_int_equal(dns_query_parse(b, ql + 5, &dq), DNS_PARSE_FE_OPT);
    memcpy(b + ql - 2, "\0\6\0\12\0\2\1\2", 8); /* a sound option: skipped */
    assert_int_equal(dns_query_parse(b, ql + 6, &dq), DNS_PARSE_OK);
    /* compressed question names are legal only backwards: pointer loop */
    memcpy(b, q, DNS_HDR_LEN);
    b[11] = 0;
    memcpy(b + 12, "\3www\xc0\x0c\0\1\0\1", 10);
    assert_int_equal(dns_query_parse(b, 22, &dq), DNS_PARSE_FE_POINTER);
    memcpy(b + 12, "\x40\0\1\0\1", 5);
    assert_int_equal(dns_query_parse(b, 17, &dq), DNS_PARSE_FE_NAME);
    memcpy(b + 12, "\0\0\1", 3);
    assert_int_equal(dns_query_parse(b, 15, &dq), DNS_PARSE_FE_TRUNC);
}

/* ---- answers -------------------------------------------------------------------------- */

static void test_answer_a_and_case(void **state)
{
    struct fx *f = *state;
    struct ans a;
    ask_name(f, "WwW.eXample.COM.", DNS_T_A, 0, &a);
    assert_int_equal(RCODE(&a), DNS_R_NOERROR);
    assert_true(a.flags & DNS_F_AA);
    assert_false(a.flags & DNS_F_TC);
    assert_string_equal(a.qname, "WwW.eXample.COM."); /* echoed as asked */
    assert_int_equal(a.an, 2);
    assert_int_equal(a.nrr, 2);
    /* answers point at the question: they carry the query's case too */
    assert_true(has(&a, "WwW.eXample.COM.", DNS_T_A, "192.0.2.3"));
    assert_string_equal(a.rr[0].owner, "WwW.eXample.COM.");
    assert_true(has(&a, "WwW.eXample.COM.", DNS_T_A, "192.0.2.4"));
    assert_int_equal(a.rr[0].ttl, 3600);
    assert_false(a.opt);
    ask_name(f, "www.example.com.", DNS_T_AAAA, 0, &a);
    assert_true(has(&a, "www.example.com.", DNS_T_AAAA, "aaaa/16"));
    ask_name(f, "_sip._tcp.example.com.", DNS_T_SRV, 0, &a);
    assert_true(has(&a, "_sip._tcp.example.com.", DNS_T_SRV, "0 5 5060 www.example.com."));
    assert_true(has(&a, "www.example.com.", DNS_T_A, "192.0.2.3")); /* target's address */
}

static void test_answer_mx_ns_glue(void **state)
{
    struct fx *f = *state;
    struct ans a;
    ask_name(f, "example.com.", DNS_T_MX, 0, &a);
    assert_int_equal(a.an, 1);
    assert_true(has(&a, "example.com.", DNS_T_MX, "10 mail.example.com."));
    assert_int_equal(a.ar, 2);
    assert_true(has(&a, "mail.example.com.", DNS_T_A, "192.0.2.2"));
    assert_true(has(&a, "mail.example.com.", DNS_T_AAAA, "aaaa/16"));
    ask_name(f, "example.com.", DNS_T_NS, 0, &a);
    assert_int_equal(a.an, 2);
    assert_int_equal(a.ar, 1); /* ns1 is ours, ns2.example.net is not */
    assert_true(has(&a, "ns1.example.com.", DNS_T_A, "192.0.2.1"));
    ask_name(f, "example.com.", DNS_T_SOA, 0, &a);
    assert_true(has(&a, "example.com.", DNS_T_SOA, "ns1.example.com. hostmaster.example.com. 7"));
    ask_name(f, "example.com.", DNS_T_ANY, 0, &a);
    assert_int_equal(a.an, 4); /* SOA, 2 NS, MX */
}

static void test_cname_chains(void **state)
{
    struct fx *f = *state;
    struct ans a;
    ask_name(f, "alias2.example.com.", DNS_T_A, 0, &a);
    assert_int_equal(RCODE(&a), DNS_R_NOERROR);
    assert_int_equal(a.an, 4);
    assert_true(has(&a, "alias2.example.com.", DNS_T_CNAME, "Alias.example.com."));
    assert_true(has(&a, "alias.example.com.", DNS_T_CNAME, "www.example.com."));
    assert_true(has(&a, "www.example.com.", DNS_T_A, "192.0.2.4"));
    ask_name(f, "alias.example.com.", DNS_T_CNAME, 0, &a); /* the CNAME itself */
    assert_int_equal(a.an, 1);
    ask_name(f, "alias.example.com.", DNS_T_MX, 0, &a); /* target has no MX: NODATA */
    assert_int_equal(RCODE(&a), DNS_R_NOERROR);
    assert_int_equal(a.an, 1);
    assert_int_equal(a.ns, 1);
    assert_int_equal(a.rr[1].type, DNS_T_SOA);
    ask_name(f, "dangling.example.com.", DNS_T_A, 0, &a); /* RFC 6604 */
    assert_int_equal(RCODE(&a), DNS_R_NXDOMAIN);
    assert_int_equal(a.an, 1);
    ask_name(f, "out.example.com.", DNS_T_A, 0, &a); /* leaves our zones */
    assert_int_equal(RCODE(&a), DNS_R_NOERROR);
    assert_int_equal(a.an, 1);
    assert_int_equal(a.ns, 0);
    ask_name(f, "loop1.example.com.", DNS_T_A, 0, &a); /* a loop ends the chain */
    assert_int_equal(RCODE(&a), DNS_R_NOERROR);
    assert_int_equal(a.an, 2);
}

static void test_negative_answers(void **state)
{
    struct fx *f = *state;
    struct ans a;
    ask_name(f, "nope.example.com.", DNS_T_A, 0, &a);
    assert_int_equal(RCODE(&a), DNS_R_NXDOMAIN);
    assert_true(a.flags & DNS_F_AA);
    assert_int_equal(a.an, 0);
    assert_int_equal(a.ns, 1);
    assert_true(has(&a, "example.com.", DNS_T_SOA, "ns1.example.com. hostmaster.example.com. 7"));
    assert_int_equal(a.rr[0].ttl, 300); /* min(TTL, MINIMUM), RFC 2308 §3 */
    /* a long NXDOMAIN name: the compiled pointers are shifted correctly */
    ask_name(f, "x.y.zzzzzzzzzzzzzzzzzzzzzzzz.a.b.example.com.", DNS_T_A, 0, &a);
    assert_int_equal(RCODE(&a), DNS_R_NXDOMAIN);
    assert_true(has(&a, "example.com.", DNS_T_SOA, "ns1.example.com. hostmaster.example.com. 7"));
    ask_name(f, "www.example.com.", DNS_T_TXT, 0, &a); /* NODATA */
    assert_int_equal(RCODE(&a), DNS_R_NOERROR);
    assert_int_equal(a.an, 0);
    assert_int_equal(a.ns, 1);
    ask_name(f, "b.c.example.com.", DNS_T_A, 0, &a); /* empty non-terminal (RFC 8020) */
    assert_int_equal(RCODE(&a), DNS_R_NOERROR);
    assert_int_equal(a.an, 0);
    ask_name(f, "www.example.net.", DNS_T_A, 0, &a);
    assert_int_equal(RCODE(&a), DNS_R_REFUSED);
    assert_false(a.flags & DNS_F_AA);
    assert_int_equal(a.qd, 1);
    ask_name(f, "nope.example.org.", DNS_T_A, 0, &a); /* the second zone */
    assert_int_equal(RCODE(&a), DNS_R_NXDOMAIN);
    assert_true(has(&a, "example.org.", DNS_T_SOA, NULL));
    assert_int_equal(f->c.rcode[DNS_R_REFUSED], 1);
    assert_true(f->c.rcode[DNS_R_NXDOMAIN] >= 3);
    assert_int_equal(f->c.nodata, 2);
}

static void test_wildcard_and_referral(void **state)
{
    struct fx *f = *state;
    struct ans a;
    ask_name(f, "Deep.Er.wild.example.com.", DNS_T_A, 0, &a);
    assert_int_equal(RCODE(&a), DNS_R_NOERROR);
    assert_true(has(&a, "Deep.Er.wild.example.com.", DNS_T_A, "192.0.2.5"));
    assert_int_equal(a.rr[0].ttl, 60);
    ask_name(f, "x.wild.example.com.", DNS_T_MX, 0, &a); /* wildcard NODATA */
    assert_int_equal(RCODE(&a), DNS_R_NOERROR);
    assert_int_equal(a.an, 0);
    assert_true(has(&a, "example.com.", DNS_T_SOA, NULL));
    assert_int_equal(f->c.wildcard, 2);
    ask_name(f, "host.sub.example.com.", DNS_T_A, 0, &a);
    assert_int_equal(RCODE(&a), DNS_R_NOERROR);
    assert_false(a.flags & DNS_F_AA);
    assert_int_equal(a.an, 0);
    assert_true(has(&a, "sub.example.com.", DNS_T_NS, "ns.sub.example.com."));
    assert_true(has(&a, "ns.sub.example.com.", DNS_T_A, "192.0.2.6"));
    ask_name(f, "ns.sub.example.com.", DNS_T_A, 0, &a); /* glue is not an answer */
    assert_int_equal(a.an, 0);
    assert_false(a.flags & DNS_F_AA);
    ask_name(f, "sub.example.com.", DNS_T_NS, 0, &a);
    assert_int_equal(a.an, 0);
    assert_int_equal(a.ns, 1);
    assert_int_equal(f->c.referral, 3);
}

static void test_edns_and_truncation(void **state)
{
    struct fx *f = *state;
    struct ans a;
    ask_name(f, "www.example.com.", DNS_T_A, 4096, &a);
    assert_true(a.opt);
    assert_int_equal(a.opt_size, 1232);
    assert_int_equal(a.ar, 1);
    /* DO copied (RFC 3225), version 1 -> BADVERS in the extended rcode */
    uint8_t q[600];
    size_t ql = query(q, "www.example.com.", DNS_T_A, 1232);
    q[ql - 4] = 0x80; /* TTL flags: DO */
    assert_true(ask(f, q, ql, 65536, 0, &a) > 0);
    assert_int_equal(a.opt_ttl, 0x8000);
    q[ql - 4] = 0;
    q[ql - 5] = 1; /* version 1 */
    assert_true(ask(f, q, ql, 65536, 0, &a) > 0);
    assert_int_equal(RCODE(&a), 0);
    assert_int_equal(a.opt_ttl >> 24, 1); /* 16 = BADVERS */
    assert_int_equal(f->c.badvers, 1);
}

/* A zone with a large RRset and a large additional section. */
static void test_tc_and_additional(void **state)
{
    (void)state;
    char text[65536];
    size_t o = (size_t)snprintf(text, sizeof(text), "$ORIGIN t.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n");
    for (int i = 0; i < 40; i++)
        o += (size_t)snprintf(text + o, sizeof(text) - o, "big TXT \"%0100d\"\n", i);
    for (int i = 0; i < 20; i++) {
        o += (size_t)snprintf(text + o, sizeof(text) - o, "@ NS ns%02d\nns%02d AAAA 2001:db8::%d\n", i, i, i + 1);
    }
    struct dns_zone *z;
    char err[512];
    if (dns_zone_parse(text, o, "tc.zone", NULL, &z, err, sizeof(err))) fail_msg("%s", err);
    struct fx *f = calloc(1, sizeof(*f));
    struct dns_db_cfg cfg = {1232, 1};
    if (dns_db_build(&f->db, &z, 1, &cfg, err, sizeof(err))) fail_msg("%s", err);
    dns_zone_free(z);
    struct ans a;
    uint8_t q[600];
    /* ~4.2 KB of TXT: TC without EDNS, TC with 1232, whole over TCP */
    size_t ql = query(q, "big.t.", DNS_T_TXT, 0);
    size_t r = ask(f, q, ql, 65536, 0, &a);
    assert_true(r > 0 && r <= 512);
    assert_true(a.flags & DNS_F_TC);
    assert_int_equal(a.an + a.ns + a.ar, 0);
    assert_int_equal(a.qd, 1);
    ql = query(q, "big.t.", DNS_T_TXT, 4096);
    r = ask(f, q, ql, 65536, 0, &a);
    assert_true(r <= 1232 && (a.flags & DNS_F_TC) && a.opt);
    r = ask(f, q, ql, 65536, 1, &a);
    assert_false(a.flags & DNS_F_TC);
    assert_int_equal(a.an, 40);
    /* NS: 20 NS fit in 512, their 20 AAAA glue do not: dropped, no TC (RFC 2181 §9) */
    ql = query(q, "t.", DNS_T_NS, 0);
    r = ask(f, q, ql, 65536, 0, &a);
    assert_true(r <= 512);
    assert_false(a.flags & DNS_F_TC);
    assert_int_equal(a.an, 20);
    assert_int_equal(a.ar, 0);
    assert_int_equal(f->c.no_additional, 1);
    ql = query(q, "t.", DNS_T_NS, 1232); /* with room: glue included */
    r = ask(f, q, ql, 65536, 0, &a);
    assert_int_equal(a.ar, 21);
    /* small client size (< 512) means 512 */
    ql = query(q, "t.", DNS_T_NS, 100);
    r = ask(f, q, ql, 65536, 0, &a);
    assert_true(r <= 512 && r > 350);
    assert_int_equal(a.ar, 1); /* the OPT only */
    assert_int_equal(f->c.truncated, 2);
    assert_int_equal(f->c.no_additional, 2);
    dns_db_free(f->db);
    free(f);
}

static void test_errors(void **state)
{
    struct fx *f = *state;
    struct ans a;
    uint8_t q[600];
    size_t ql = query(q, "www.example.com.", DNS_T_A, 1232);
    /* short and responses: dropped */
    assert_int_equal(dns_respond(f->db, q, 11, f->out, 65536, 0, &f->c), 0);
    q[2] |= 0x80;
    assert_int_equal(dns_respond(f->db, q, ql, f->out, 65536, 0, &f->c), 0);
    q[2] &= 0x7f;
    assert_int_equal(f->c.parse[DNS_PARSE_DROP_SHORT], 1);
    assert_int_equal(f->c.parse[DNS_PARSE_DROP_RESPONSE], 1);
    /* trailing garbage: FORMERR with the question and the OPT */
    q[ql] = 7;
    assert_true(ask(f, q, ql + 1, 65536, 0, &a) > 0);
    assert_int_equal(RCODE(&a), DNS_R_FORMERR);
    assert_int_equal(a.qd, 1);
    assert_true(a.opt);
    /* opcode NOTIFY: NOTIMP, header only */
    q[2] |= 0x20;
    assert_true(ask(f, q, ql, 65536, 0, &a) > 0);
    assert_int_equal(RCODE(&a), DNS_R_NOTIMP);
    assert_int_equal((a.flags & DNS_F_OPCODE) >> 11, 4);
    q[2] &= (uint8_t)~0x20;
    /* pointer out of range: FORMERR without a question */
    uint8_t b[64];
    memcpy(b, q, 12);
    b[11] = 0;
    memcpy(b + 12, "\xc0\x3f\0\1\0\1", 6);
    assert_true(ask(f, b, 18, 65536, 0, &a) > 0);
    assert_int_equal(RCODE(&a), DNS_R_FORMERR);
    assert_int_equal(a.qd, 0);
    /* a compressed (backwards) question is fine: a pointer into an earlier
     * copy of the name is not possible in a one-question query, but a pointer
     * into the question's own earlier labels is a loop: FORMERR */
    memcpy(b + 12, "\3www\7example\3com\xc0\x10\0\1\0\1", 22);
    assert_true(ask(f, b, 34, 65536, 0, &a) > 0);
    assert_int_equal(RCODE(&a), DNS_R_FORMERR);
    /* AXFR: NOTIMP; class CH: REFUSED */
    ql = query(q, "example.com.", DNS_T_AXFR, 0);
    assert_true(ask(f, q, ql, 65536, 0, &a) > 0);
    assert_int_equal(RCODE(&a), DNS_R_NOTIMP);
    q[ql - 1] = 3;
    q[ql - 3] = DNS_T_A;
    assert_true(ask(f, q, ql, 65536, 0, &a) > 0);
    assert_int_equal(RCODE(&a), DNS_R_REFUSED);
    assert_int_equal(f->c.refused_class, 1);
    /* cap below 512: nothing */
    ql = query(q, "www.example.com.", DNS_T_A, 0);
    assert_int_equal(dns_respond(f->db, q, ql, f->out, 100, 0, &f->c), 0);
}

/* A query whose name is compressed against an earlier record: DNS queries
 * carry one question, so build one with the name in the additional section
 * pointing back at the question (legal), and the server must echo the
 * question uncompressed. */
static void test_compressed_query(void **state)
{
    struct fx *f = *state;
    struct ans a;
    uint8_t q[128];
    size_t ql = query(q, "mail.example.com.", DNS_T_A, 0);
    /* additional: a record owned by a pointer to the question's "example.com" */
    q[11] = 1;
    memcpy(q + ql, "\xc0\x11\0\x10\0\1\0\0\0\0\0\0", 12); /* TXT, rdlen 0 */
    assert_true(ask(f, q, ql + 12, 65536, 0, &a) > 0);
    assert_int_equal(RCODE(&a), DNS_R_NOERROR);
    assert_true(has(&a, "mail.example.com.", DNS_T_A, "192.0.2.2"));
    /* and the question name itself through a pointer at a name placed in
     * front of it? Not possible: the question starts right after the header
     * (pointers into the header are refused). */
}

static void test_db_errors(void **state)
{
    (void)state;
    struct dns_zone *z[2];
    char err[512];
    assert_int_equal(dns_zone_parse(ZONE2, strlen(ZONE2), "a.zone", NULL, &z[0], err, sizeof(err)), 0);
    assert_int_equal(dns_zone_parse(ZONE2, strlen(ZONE2), "b.zone", NULL, &z[1], err, sizeof(err)), 0);
    struct dns_db *db;
    assert_int_equal(dns_db_build(&db, z, 2, NULL, err, sizeof(err)), -1);
    assert_string_equal(err, "zone example.org. loaded twice (a.zone and b.zone)");
    dns_zone_free(z[0]);
    dns_zone_free(z[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_read_compression),
        cmocka_unit_test(test_name_read_too_long),
        cmocka_unit_test(test_query_parse_outcomes),
        cmocka_unit_test_setup_teardown(test_answer_a_and_case, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_mx_ns_glue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cname_chains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_negative_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wildcard_and_referral, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edns_and_truncation, setup, teardown),
        cmocka_unit_test(test_tc_and_additional),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compressed_query, setup, teardown),
        cmocka_unit_test(test_db_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
