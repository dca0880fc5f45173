/* SPDX-License-Identifier: MIT */
/*
 * dns/zone.h - master zone files (RFC 1035 §5) into resource records in wire
 * form, for the compiler (dns/db.h).
 *
 * Supported: $ORIGIN, $TTL (RFC 2308 §4), comments, parentheses across lines,
 * quoted strings with \X and \DDD escapes, '@', relative names, a blank owner
 * (the previous one), TTL and class in either order (class IN only), TTLs
 * with BIND units (1h30m, 2d, 1w). Types: A, AAAA, NS, CNAME, PTR, MX, TXT,
 * SOA, SRV. Not supported (an error naming the line): $INCLUDE, $GENERATE,
 * other classes and types, RFC 3597 generic RDATA.
 *
 * Checks (error "FILE:LINE: what"): exactly one SOA, at the zone's apex (the
 * apex is the SOA owner); every owner inside the zone; CNAME alone at its
 * name and not at the apex (RFC 1034 §3.6.2, RFC 2181 §10.1); TTL at most
 * 2^31-1 (RFC 2181 §8); labels and names within limits; TXT strings at most
 * 255 bytes.
 *
 * Call chain: tools/axl-dnsd main -> dns_zone_load -> (tokens -> entries ->
 * RDATA) ; dns_db_build (db.c) reads struct dns_zone.
 */
#ifndef AXL_DNS_ZONE_H
#define AXL_DNS_ZONE_H

#include <stddef.h>
#include <stdint.h>

#include "dns/dns.h"

struct dns_rr {
    uint8_t owner[DNS_NAME_MAX]; /* wire, as written (case kept) */
    uint8_t owner_len;
    uint16_t type;
    uint32_t ttl;
    uint16_t rdlen;
    uint32_t rdoff; /* into dns_zone.rd: uncompressed wire RDATA */
    uint32_t line;
};

struct dns_zone {
    char *file;                 /* for messages */
    uint8_t apex[DNS_NAME_MAX]; /* lower-case wire */
    size_t apex_len;
    struct dns_rr *rr;
    size_t nrr, rr_cap;
    uint8_t *rd;
    size_t rd_len, rd_cap;
};

/* Parse master-file text. `file` names it in messages; `origin` (text, may
 * be NULL) is the initial $ORIGIN. Returns 0 and *out, or -1 with
 * "FILE:LINE: message" in err. */
int dns_zone_parse(const char *text, size_t len, const char *file, const char *origin,
                   struct dns_zone **out, char *err, size_t errlen);
/* Read and parse a file ("FILE: No such file or directory" on failure). */
int dns_zone_load(const char *path, const char *origin, struct dns_zone **out, char *err,
                  size_t errlen);
void dns_zone_free(struct dns_zone *z);

static inline const uint8_t *dns_rr_rdata(const struct dns_zone *z, const struct dns_rr *r)
{
    return z->rd + r->rdoff;
}

#endif
