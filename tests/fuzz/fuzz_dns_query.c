/* SPDX-License-Identifier: MIT */
/*
 * fuzz_dns_query.c - libFuzzer target for the query path of axl-dnsd:
 * dns_respond (src/dns/db.c -> dns_query_parse in src/dns/wire.c) on a
 * compiled test zone with every kind of answer (glue, CNAME chain, wildcard,
 * referral, big RRset). The first input byte picks the transport (bit 0:
 * TCP); the rest is the query message. Every answer must fit the transport's
 * limit, carry the query's ID, and decode: each name read back with
 * dns_name_read (so every compression pointer points backwards, inside the
 * message) and the records exactly filling the message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/db.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char ZONE[] = "$ORIGIN example.com.\n$TTL 3600\n"
                           "@ SOA ns1 hostmaster 7 7200 3600 1209600 300\n"
                           "  NS ns1\n  NS ns2.example.net.\n  MX 10 mail\n"
                           "ns1 A 192.0.2.1\nmail A 192.0.2.2\nmail AAAA 2001:db8::2\n"
                           "www A 192.0.2.3\nalias CNAME www\nalias2 CNAME alias\n"
                           "*.wild A 192.0.2.5\nsub NS ns.sub\nns.sub A 192.0.2.6\n"
                           "a.b.c A 192.0.2.7\n_s._tcp SRV 0 5 5060 www\n"
                           "big TXT \"0123456789012345678901234567890123456789012345678901234567890123456789\"\n"
                           "big TXT \"1123456789012345678901234567890123456789012345678901234567890123456789\"\n"
                           "big TXT \"2123456789012345678901234567890123456789012345678901234567890123456789\"\n"
                           "big TXT \"3123456789012345678901234567890123456789012345678901234567890123456789\"\n"
                           "big TXT \"4123456789012345678901234567890123456789012345678901234567890123456789\"\n"
                           "big TXT \"5123456789012345678901234567890123456789012345678901234567890123456789\"\n"
                           "big TXT \"6123456789012345678901234567890123456789012345678901234567890123456789\"\n"
                           "big TXT \"7123456789012345678901234567890123456789012345678901234567890123456789\"\n";

static void check_answer(const uint8_t *m, size_t len, const uint8_t *q)
{
    uint8_t n[DNS_NAME_MAX];
    size_t nl;
    if (len < DNS_HDR_LEN || memcmp(m, q, 2) != 0 || !(m[2] & 0x80)) abort();
    unsigned qd = dns_get16(m + 4), rr = (unsigned)dns_get16(m + 6) + dns_get16(m + 8) + dns_get16(m + 10);
    size_t pos = DNS_HDR_LEN;
    if (qd > 1) abort();
    if (qd) {
        int r = dns_name_read(m, len, pos, n, &nl);
        if (r < 0 || (size_t)r + 4 > len) abort();
        pos = (size_t)r + 4;
    }
    for (unsigned i = 0; i < rr; i++) {
        int r = dns_name_read(m, len, pos, n, &nl);
        if (r < 0 || (size_t)r + 10 > len) abort();
        pos = (size_t)r;
        size_t rdlen = dns_get16(m + pos + 8);
        pos += 10 + rdlen;
        if (pos > len) abort();
    }
    if (pos != len) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct dns_db *db;
    static struct dns_counters c;
    static uint8_t out[65536];
    if (!db) {
        struct dns_zone *z;
        char err[512];
        if (dns_zone_parse(ZONE, sizeof(ZONE) - 1, "fuzz.zone", NULL, &z, err, sizeof(err)) ||
            dns_db_build(&db, &z, 1, NULL, err, sizeof(err)))
            abort();
        dns_zone_free(z);
    }
    if (size < 1) return 0;
    int tcp = data[0] & 1;
    const uint8_t *q = data + 1;
    size_t ql = size - 1;
    size_t r = dns_respond(db, q, ql, out, sizeof(out), tcp, &c);
    if (!r) return 0;
    if (!tcp && r > 4096) abort(); /* never more than our EDNS size (1232) or 512 */
    if (!tcp && r > 1232) abort();
    check_answer(out, r, q);
    return 0;
}
