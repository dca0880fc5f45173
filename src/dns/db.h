/* SPDX-License-Identifier: MIT */
/*
 * dns/db.h - compiled zones (Namestorm): every answer axl-dnsd can give is
 * built ahead of time into a ready response, found at query time by one hash
 * lookup on (lower-cased wire name, qtype).
 *
 * A compiled response is the part after the question ("tail": answer,
 * authority, additional, already name-compressed) plus its header counts,
 * rcode and AA bit. At query time dns_respond writes the header (the query's
 * ID, RD and CD), echoes the question exactly as received (so the query's
 * letter case survives, RFC 1035 §7.3 / dns-0x20), copies the tail, and
 * appends an OPT record when the query had one (RFC 6891 §7). Compression
 * pointers into the question stay valid because the question holds the same
 * name; only NXDOMAIN, wildcard and referral answers, whose question is longer
 * than the name they were compiled for, shift their pointers (a short list
 * kept per response).
 *
 * What is compiled, per zone (RFC 1034 §4.3.2):
 *   name+type present     the RRset; A/AAAA of in-zone NS/MX/SRV targets as
 *                         additional data (glue)
 *   name, other types     NODATA: NOERROR, SOA in authority (RFC 2308 §2.2)
 *   name+ANY              every RRset of the name
 *   CNAME                 the chain inside our zones (up to 8 links) and the
 *                         target's RRset, or the target's NODATA/NXDOMAIN
 *                         (RFC 6604), per qtype
 *   empty non-terminal    NODATA (RFC 8020)
 *   wildcard "*.x"        synthesised for names under x that do not exist
 *                         (RFC 4592: the closest encloser's "*" child)
 *   delegation (NS below  referral: not authoritative, NS in authority, glue
 *   the apex)             (RFC 1034 §4.3.2 step 3b)
 *   other names in zone   NXDOMAIN, SOA in authority (RFC 2308 §2.1)
 *   outside every zone    REFUSED (RFC 1035 §4.1.1)
 *
 * Call chain: axl-dnsd main -> dns_zone_load (zone.h) -> dns_db_build;
 * per datagram: dns_respond -> dns_query_parse (dns.h) -> lookup -> emit.
 */
#ifndef AXL_DNS_DB_H
#define AXL_DNS_DB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dns/dns.h"
#include "dns/zone.h"

/** DNS_EDNS_SIZE_DEFAULT: our UDP payload limit with EDNS (RFC 6891 §6.2.5;
 *  1232 fits every IPv6 path without fragments, DNS flag day 2020). */
#define DNS_EDNS_SIZE_DEFAULT 1232
/** DNS_CNAME_CHAIN_MAX: CNAME links followed inside our zones. */
#define DNS_CNAME_CHAIN_MAX 8

struct dns_db_cfg {
    uint16_t edns_size; /* our payload limit, 512..65535 (0: default) */
    uint32_t seed;      /* hash seed (0: fixed) */
};

/* Counters of one server thread (no sharing). */
struct dns_counters {
    uint64_t queries;   /* datagrams/messages given to dns_respond */
    uint64_t responses; /* answers produced */
    uint64_t rcode[6];  /* NOERROR FORMERR SERVFAIL NXDOMAIN NOTIMP REFUSED */
    uint64_t badvers;   /* EDNS version > 0 (RFC 6891 §6.1.3) */
    uint64_t parse[DNS_PARSE__COUNT]; /* outcome of parsing: drops, FORMERR reasons */
    uint64_t nodata, referral, wildcard, truncated, no_additional, edns;
    uint64_t refused_class; /* QCLASS other than IN */
    uint64_t notimp_qtype;  /* AXFR, IXFR, MAILA, MAILB */
};
/* One "PREFIX Name value" line per counter (DnsQueries, DnsRcodeNoError,
 * DnsDropShort, DnsFormErrPointer, ...). */
void dns_counters_dump(const struct dns_counters *c, FILE *out, const char *prefix);

struct dns_db;

/* Compile zones (the zones may be freed afterwards). 0, or -1 with a message
 * ("zone example.com. loaded twice", "response for www.example.com. TXT
 * larger than 65535 bytes"). */
int dns_db_build(struct dns_db **out, struct dns_zone *const *zones, size_t nzones,
                 const struct dns_db_cfg *cfg, char *err, size_t errlen);
void dns_db_free(struct dns_db *db);
/* Compiled responses and lookup keys (for logs and tests). */
size_t dns_db_responses(const struct dns_db *db);
size_t dns_db_keys(const struct dns_db *db);

/* Answer one query message (msg, len). UDP (tcp == 0): the answer fits in
 * 512 bytes, or with EDNS in min(the client's size, our edns_size) and at
 * least 512; what does not fit loses its additional section, then
 * everything after the question with TC set (RFC 2181 §9, RFC 1035 §4.2.1).
 * TCP: up to cap. Returns the answer's length in out, or 0: drop (counted).
 * cap must be at least 512. Hot: no allocation, no system call. */
size_t dns_respond(const struct dns_db *db, const uint8_t *msg, size_t len, uint8_t *out,
                   size_t cap, int tcp, struct dns_counters *c);

#endif
