/* SPDX-License-Identifier: MIT */
/*
 * test_dns_zone.c - the master-file parser (src/dns/zone.c): a table of good
 * zones (record count, owners, TTLs, RDATA bytes) and a table of bad ones
 * (the exact "FILE:LINE: message" prefix), plus text -> wire names.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/zone.h"

static struct dns_zone *parse_ok(const char *text)
{
    struct dns_zone *z = NULL;
    char err[512] = "";
    int rc = dns_zone_parse(text, strlen(text), "t.zone", NULL, &z, err, sizeof(err));
    if (rc != 0) fail_msg("unexpected error: %s", err);
    return z;
}

static const char *HEAD = "$ORIGIN example.com.\n$TTL 3600\n@ SOA ns1 host 1 7200 3600 1209600 300\n";

static struct dns_zone *parse_with_head(const char *rest)
{
    static char buf[8192];
    snprintf(buf, sizeof(buf), "%s%s", HEAD, rest);
    return parse_ok(buf);
}

static void test_good_basic(void **state)
{
    (void)state;
    struct dns_zone *z = parse_with_head("www IN A 192.0.2.1\n"
                                         "    AAAA 2001:db8::1 ; same owner\n"
                                         "mail 60 IN MX 10 mx.example.net.\n"
                                         "_s._tcp IN 120 SRV 1 2 5060 www\n"
                                         "t TXT \"a b\" c \"q\\\"x\" \"\\065\"\n"
                                         "alias CNAME www\n"
                                         "p PTR @\n");
    assert_int_equal(z->nrr, 8);
    assert_memory_equal(z->apex, "\7example\3com\0", 13);
    const struct dns_rr *r = &z->rr[1];
    assert_int_equal(r->type, DNS_T_A);
    assert_int_equal(r->ttl, 3600);
    assert_memory_equal(r->owner, "\3www\7example\3com\0", 17);
    assert_memory_equal(dns_rr_rdata(z, r), "\xc0\x00\x02\x01", 4);
    r = &z->rr[2]; /* blank owner: the previous one */
    assert_int_equal(r->type, DNS_T_AAAA);
    assert_memory_equal(r->owner, "\3www\7example\3com\0", 17);
    assert_int_equal(r->rdlen, 16);
    r = &z->rr[3];
    assert_int_equal(r->ttl, 60);
    assert_memory_equal(dns_rr_rdata(z, r), "\0\12\2mx\7example\3net\0", 17);
    r = &z->rr[4]; /* class before TTL */
    assert_int_equal(r->ttl, 120);
    assert_int_equal(r->type, DNS_T_SRV);
    assert_memory_equal(dns_rr_rdata(z, r), "\0\1\0\2\x13\xc4\3www\7example\3com\0", 23);
    r = &z->rr[5];
    assert_int_equal(r->rdlen, 4 + 2 + 4 + 2);
    assert_memory_equal(dns_rr_rdata(z, r), "\3a b\1c\3q\"x\1A", 12);
    r = &z->rr[7];
    assert_memory_equal(dns_rr_rdata(z, r), "\7example\3com\0", 13);
    /* SOA RDATA: names, then serial and four times */
    r = &z->rr[0];
    assert_int_equal(r->rdlen, 17 + 18 + 20);
    assert_int_equal(dns_get32(dns_rr_rdata(z, r) + r->rdlen - 4), 300);
    dns_zone_free(z);
}

static void test_good_parens_units_ttl(void **state)
{
    (void)state;
    const char *text = "; comment first\n"
                       "$ORIGIN Example.ORG.\n"
                       "@ 1h30m IN SOA ( ns1.example.org.  ; primary\n"
                       "   hostmaster.example.org.\n"
                       "   2024 2h 1H 1w 5m )\n"
                       "\n"
                       "   \t; only a comment, indented\n"
                       "x A 192.0.2.9\n" /* no TTL, no $TTL: the last one stated (RFC 1035 §5.1) */
                       "$TTL 1d\n"
                       "y A 192.0.2.10\n"
                       "z.Sub A 192.0.2.11\n"
                       "esc\\.dot A 192.0.2.12\n";
    struct dns_zone *z = parse_ok(text);
    assert_int_equal(z->nrr, 5);
    assert_int_equal(z->rr[0].ttl, 5400);
    const uint8_t *soa = dns_rr_rdata(z, &z->rr[0]);
    assert_int_equal(dns_get32(soa + z->rr[0].rdlen - 16), 7200);
    assert_int_equal(dns_get32(soa + z->rr[0].rdlen - 8), 604800);
    assert_int_equal(dns_get32(soa + z->rr[0].rdlen - 4), 300);
    assert_int_equal(z->rr[1].ttl, 5400);
    assert_int_equal(z->rr[2].ttl, 86400);
    assert_int_equal(z->rr[1].line, 8);
    assert_memory_equal(z->apex, "\7example\3org\0", 13); /* lower-cased */
    assert_memory_equal(z->rr[3].owner, "\1z\3Sub\7Example\3ORG\0", 19); /* case kept */
    assert_memory_equal(z->rr[4].owner, "\7esc.dot\7Example\3ORG\0", 21);
    dns_zone_free(z);
}

static void test_origin_argument(void **state)
{
    (void)state;
    const char *text = "@ 60 SOA ns h 1 2 3 4 5\nwww 60 A 192.0.2.1\n";
    struct dns_zone *z = NULL;
    char err[256];
    assert_int_equal(dns_zone_parse(text, strlen(text), "o.zone", "example.net.", &z, err, sizeof(err)), 0);
    assert_memory_equal(z->rr[1].owner, "\3www\7example\3net\0", 17);
    dns_zone_free(z);
    assert_int_equal(dns_zone_parse(text, strlen(text), "o.zone", "rel", &z, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "bad origin"));
}

/* Bad zones: the error must start with "t.zone:LINE:" and contain `what`. */
static const struct {
    const char *text;
    unsigned line;
    const char *what;
} bad[] = {
    {"$TTL 60\n@ SOA ns h 1 2 3 4 5\n", 2, "relative name without an origin"},
    {"$ORIGIN x.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\nwww A 1.2.3\n", 4, "bad A address '1.2.3'"},
    {"$ORIGIN x.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\nwww AAAA ::g\n", 4, "bad AAAA address"},
    {"$ORIGIN x.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\nwww A\n", 4, "A needs an IPv4 address (0 fields given)"},
    {"$ORIGIN x.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\nwww A 1.2.3.4 5.6.7.8\n", 4, "(2 fields given)"},
    {"$ORIGIN x.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\nwww HINFO a b\n", 4, "unknown or unsupported type 'HINFO'"},
    {"$ORIGIN x.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\nwww CH A 1.2.3.4\n", 4, "class CH not supported"},
    {"$ORIGIN x.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\nwww IN\n", 4, "missing type"},
    {"$ORIGIN x.\n@ SOA ns h 1 2 3 4 5\n", 2, "no TTL"},
    {"$ORIGIN x.\n$TTL 2147483648\n", 2, "bad $TTL"},
    {"$ORIGIN x.\n$TTL 1h30\n", 2, "bad $TTL"},
    {"$ORIGIN x.\n$TTL 60\n$INCLUDE other.zone\n", 3, "directive '$INCLUDE' not supported"},
    {"$ORIGIN x.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\nmx MX 70000 a\n", 4, "bad MX preference"},
    {"$ORIGIN x.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\ns SRV 1 2 port t\n", 4, "bad SRV port"},
    {"$ORIGIN x.\n$TTL 60\n@ SOA ns h serial 2 3 4 5\n", 3, "bad SOA serial"},
    {"$ORIGIN x.\n$TTL 60\n@ SOA ( ns h 1\n 2 3\n 4 5\n", 3, "'(' is never closed"},
    {"$ORIGIN x.\n$TTL 60\n@ SOA ns h 1 2 3 4 5 )\n", 3, "')' without '('"},
    {"$ORIGIN x.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\nt TXT \"open\n\n", 4, "unterminated quoted string"},
    {"$ORIGIN x.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\nt TXT \"\\9\"\n", 4, "bad escape in TXT"},
    {"$ORIGIN x.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n"
     "a.b..c A 1.2.3.4\n", 4, "empty label"},
    {"$ORIGIN x.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa A 1.2.3.4\n", 4,
     "label longer than 63"},
    {"$ORIGIN x.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\nwww.other. A 1.2.3.4\n", 4, "outside the zone x."},
    {"$ORIGIN x.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ SOA ns h 2 2 3 4 5\n", 4, "second SOA record (the first is on line 3)"},
    {"$ORIGIN x.\n$TTL 60\nwww A 1.2.3.4\n", 4, "no SOA record"},
    {"$ORIGIN x.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\nwww A 1.2.3.4\nwww CNAME y\n", 5, "CNAME and other data"},
    {"$ORIGIN x.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\nc CNAME a\nc CNAME b\n", 5, "second CNAME"},
    {"$ORIGIN x.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ CNAME y\n", 4, "CNAME and other data"},
    {" A 1.2.3.4\n", 1, "no owner name"},
    {"$ORIGIN x.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\nw\\00 A 1.2.3.4\n", 4, "bad escape"},
};

static void test_bad_zones(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct dns_zone *z = NULL;
        char err[1024] = "", want[64];
        int rc = dns_zone_parse(bad[i].text, strlen(bad[i].text), "t.zone", NULL, &z, err, sizeof(err));
        snprintf(want, sizeof(want), "t.zone:%u: ", bad[i].line);
        if (rc != -1 || strncmp(err, want, strlen(want)) != 0 || !strstr(err, bad[i].what))
            fail_msg("case %zu: rc=%d err='%s', want '%s...%s'", i, rc, err, want, bad[i].what);
        assert_null(z);
    }
}

static void test_long_txt_and_name(void **state)
{
    (void)state;
    char buf[4096];
    char s256[300];
    memset(s256, 'a', 256);
    s256[256] = 0;
    snprintf(buf, sizeof(buf), "%st TXT \"%s\"\n", HEAD, s256);
    struct dns_zone *z = NULL;
    char err[1024];
    assert_int_equal(dns_zone_parse(buf, strlen(buf), "t.zone", NULL, &z, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "t.zone:4: TXT string longer than 255 bytes"));
    s256[255] = 0; /* exactly 255: fine */
    snprintf(buf, sizeof(buf), "%st TXT \"%s\"\n", HEAD, s256);
    z = parse_ok(buf);
    assert_int_equal(z->rr[1].rdlen, 256);
    dns_zone_free(z);
    /* A name of 255 bytes is the limit: 4 labels of 61 + "x" + origin... build one over. */
    char name[400] = "";
    for (int i = 0; i < 4; i++) strcat(name, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.");
    name[strlen(name) - 1] = 0; /* relative: 248 bytes + example.com. = 261 */
    snprintf(buf, sizeof(buf), "%s%s A 192.0.2.1\n", HEAD, name);
    assert_int_equal(dns_zone_parse(buf, strlen(buf), "t.zone", NULL, &z, err, sizeof(err)), -1);
    if (!strstr(err, "t.zone:4: bad name")) fail_msg("%s", err);
    assert_non_null(strstr(err, "longer than 255"));
}

static void test_name_from_text(void **state)
{
    (void)state;
    uint8_t out[DNS_NAME_MAX];
    size_t len;
    const uint8_t origin[] = "\3com";
    assert_int_equal(dns_name_from_text("a.B.", 4, NULL, 0, out, &len), 0);
    assert_int_equal(len, 5);
    assert_memory_equal(out, "\1a\1B\0", 5);
    assert_int_equal(dns_name_from_text("www", 3, origin, 5, out, &len), 0);
    assert_memory_equal(out, "\3www\3com\0", 9);
    assert_int_equal(dns_name_from_text(".", 1, NULL, 0, out, &len), 0);
    assert_int_equal(len, 1);
    assert_int_equal(dns_name_from_text("a\\046b.", 7, NULL, 0, out, &len), 0);
    assert_memory_equal(out, "\3a.b\0", 5);
    assert_int_equal(dns_name_from_text("www", 3, NULL, 0, out, &len), DNS_NAME_ERELATIVE);
    assert_int_equal(dns_name_from_text("a..", 3, NULL, 0, out, &len), DNS_NAME_EEMPTY);
    assert_int_equal(dns_name_from_text(".a", 2, NULL, 0, out, &len), DNS_NAME_EEMPTY);
    assert_int_equal(dns_name_from_text("a\\25", 4, NULL, 0, out, &len), DNS_NAME_EESCAPE);
    assert_int_equal(dns_name_from_text("a\\256.", 6, NULL, 0, out, &len), DNS_NAME_EESCAPE);
    char t[300];
    assert_string_equal(dns_name_to_text((const uint8_t *)"\3a.b\3c\\d\0", t, sizeof(t)), "a\\.b.c\\\\d.");
    assert_string_equal(dns_name_to_text((const uint8_t *)"\0", t, sizeof(t)), ".");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_basic),
        cmocka_unit_test(test_good_parens_units_ttl),
        cmocka_unit_test(test_origin_argument),
        cmocka_unit_test(test_bad_zones),
        cmocka_unit_test(test_long_txt_and_name),
        cmocka_unit_test(test_name_from_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
