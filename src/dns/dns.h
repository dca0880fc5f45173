/* SPDX-License-Identifier: MIT */
/*
 * dns/dns.h - DNS wire format for axl-dnsd and the DNS load generator:
 * constants (RFC 1035 §4.1, RFC 6891), domain names in wire form (text ->
 * wire, reading possibly compressed names with loop and range checks), the
 * query parser the server runs on every datagram, and the query builder the
 * load generator and the tests use.
 *
 * Names are handled in uncompressed wire form ("\3www\7example\3com\0", at
 * most 255 bytes, RFC 1035 §3.1); lookups use the lower-cased form (RFC 4343:
 * ASCII case-insensitive), while the query's own bytes are echoed unchanged.
 *
 * Call chain: tools/axl-dnsd -> dns_respond (dns/db.h) -> dns_query_parse
 * (here); dns/zone.c -> dns_name_from_text; load generators ->
 * dns_query_build.
 */
#ifndef AXL_DNS_DNS_H
#define AXL_DNS_DNS_H

#include <stddef.h>
#include <stdint.h>

/** DNS_HDR_LEN: the fixed header (RFC 1035 §4.1.1). */
#define DNS_HDR_LEN 12
/** DNS_NAME_MAX: a name in wire form, root label included (RFC 1035 §3.1). */
#define DNS_NAME_MAX 255
/** DNS_LABEL_MAX: one label (RFC 1035 §2.3.4). */
#define DNS_LABEL_MAX 63
/** DNS_UDP_MIN: what every client accepts without EDNS (RFC 1035 §4.2.1). */
#define DNS_UDP_MIN 512

enum dns_type {
    DNS_T_A = 1,
    DNS_T_NS = 2,
    DNS_T_CNAME = 5,
    DNS_T_SOA = 6,
    DNS_T_PTR = 12,
    DNS_T_MX = 15,
    DNS_T_TXT = 16,
    DNS_T_AAAA = 28,
    DNS_T_SRV = 33,
    DNS_T_OPT = 41,
    DNS_T_IXFR = 251,
    DNS_T_AXFR = 252,
    DNS_T_MAILB = 253,
    DNS_T_MAILA = 254,
    DNS_T_ANY = 255,
};
#define DNS_C_IN 1

enum dns_rcode {
    DNS_R_NOERROR = 0,
    DNS_R_FORMERR = 1,
    DNS_R_SERVFAIL = 2,
    DNS_R_NXDOMAIN = 3,
    DNS_R_NOTIMP = 4,
    DNS_R_REFUSED = 5,
    DNS_R_BADVERS = 16, /* extended (RFC 6891 §9): needs an OPT record */
};

/* Header flag bits (RFC 1035 §4.1.1, RFC 2535 §6.1 for AD/CD). */
#define DNS_F_QR 0x8000u
#define DNS_F_OPCODE 0x7800u
#define DNS_F_AA 0x0400u
#define DNS_F_TC 0x0200u
#define DNS_F_RD 0x0100u
#define DNS_F_RA 0x0080u
#define DNS_F_AD 0x0020u
#define DNS_F_CD 0x0010u
#define DNS_F_RCODE 0x000fu
/* EDNS: the DO bit in the OPT TTL field (RFC 3225 §3). */
#define DNS_EDNS_DO 0x8000u

/* ---- names ---------------------------------------------------------------------- */

/* Errors of the name functions (negative). */
enum {
    DNS_NAME_ETRUNC = -1,    /* runs past the end of the message */
    DNS_NAME_ELABEL = -2,    /* label type 0x40/0x80 (RFC 6891 §5: obsolete) */
    DNS_NAME_ELONG = -3,     /* more than 255 bytes */
    DNS_NAME_EPTR = -4,      /* pointer not strictly backwards, or into the header */
    DNS_NAME_EEMPTY = -5,    /* empty label in text ("a..b") */
    DNS_NAME_ELABELLEN = -6, /* label over 63 bytes in text */
    DNS_NAME_EESCAPE = -7,   /* bad \DDD escape in text */
    DNS_NAME_ERELATIVE = -8, /* relative name and no origin */
};
const char *dns_name_strerror(int err);

/* Read the name at msg[off] (compression allowed, RFC 1035 §4.1.4) into out
 * in uncompressed wire form. Every pointer must point strictly before
 * everything read so far for this name (this forbids loops) and past the
 * header. Returns the offset just after the name in the message (after the
 * first pointer if any) and sets *outlen, or a DNS_NAME_E* error. */
int dns_name_read(const uint8_t *msg, size_t len, size_t off, uint8_t out[DNS_NAME_MAX],
                  size_t *outlen);
/* Wire length of an uncompressed wire name (trusted input). */
size_t dns_name_len(const uint8_t *name);
/* ASCII lower-case copy of an uncompressed wire name (RFC 4343). */
void dns_name_lower(uint8_t *dst, const uint8_t *src, size_t len);
/* Text -> wire: "www.example.com." (absolute), "www" (relative: origin is
 * appended; origin NULL: DNS_NAME_ERELATIVE), "@" (the origin), "." (root).
 * Escapes: \X and \DDD (RFC 1035 §5.1). s need not be NUL-terminated. */
int dns_name_from_text(const char *s, size_t n, const uint8_t *origin, size_t origin_len,
                       uint8_t out[DNS_NAME_MAX], size_t *outlen);
/* Wire -> text (absolute, trailing dot; escapes for '.', '\\', non-printable).
 * Returns buf; truncated to fit. */
char *dns_name_to_text(const uint8_t *name, char *buf, size_t cap);
/* Is `suffix` (wire) a suffix of `name` on label boundaries (both lower-case)? */
int dns_name_is_sub(const uint8_t *name, size_t len, const uint8_t *suffix, size_t slen);
/* Number of labels (root excluded). */
unsigned dns_name_labels(const uint8_t *name);

/* Type mnemonic ("A", "AAAA" ...), or NULL for a type the zone parser does
 * not know; and back (case-insensitive), 0 if unknown. */
const char *dns_type_name(uint16_t type);
uint16_t dns_type_from_text(const char *s, size_t n);

/* ---- queries -------------------------------------------------------------------- */

/* Outcome of parsing a query; everything but OK and DROP_* is answered. */
enum dns_parse_status {
    DNS_PARSE_OK = 0,
    DNS_PARSE_DROP_SHORT,    /* shorter than a header: nothing to answer to */
    DNS_PARSE_DROP_RESPONSE, /* QR set: never answer a response (loops) */
    DNS_PARSE_NOTIMP_OPCODE, /* opcode other than QUERY (RFC 1035 §4.1.1) */
    DNS_PARSE_FE_QDCOUNT,    /* QDCOUNT != 1 (RFC 9619) */
    DNS_PARSE_FE_NAME,       /* bad label type, name too long, truncated name */
    DNS_PARSE_FE_POINTER,    /* compression pointer loop / out of range */
    DNS_PARSE_FE_TRUNC,      /* question or a record runs past the end */
    DNS_PARSE_FE_COUNTS,     /* answer or authority records in a query */
    DNS_PARSE_FE_OPT,        /* bad OPT: not at root, twice, bad options (RFC 6891 §6.1.1) */
    DNS_PARSE_FE_TRAILING,   /* bytes after the last record */
    DNS_PARSE__COUNT
};
const char *dns_parse_status_name(enum dns_parse_status s);

struct dns_query {
    uint16_t id, flags;     /* as received */
    uint16_t qdcount, ancount, nscount, arcount;
    uint16_t qtype, qclass;
    uint8_t question_ok;    /* the question parsed (it can be echoed) */
    uint8_t qname_len;      /* wire length of qname / key */
    uint8_t qname[DNS_NAME_MAX]; /* uncompressed, the query's own case */
    uint8_t key[DNS_NAME_MAX];   /* lower-cased: the lookup key */
    /* EDNS (RFC 6891 §6.1.2) */
    uint8_t has_opt;
    uint8_t edns_version;
    uint16_t udp_size;      /* requestor's payload size (as sent) */
    uint16_t edns_flags;    /* DO (RFC 3225) */
};

/* Parse and check one query datagram. Fills q as far as it got. */
enum dns_parse_status dns_query_parse(const uint8_t *msg, size_t len, struct dns_query *q);

/* Build a query: header (id, RD if rd), one question, and an OPT record
 * advertising edns_size when edns_size > 0 (flags: DNS_EDNS_DO or 0).
 * qname is an uncompressed wire name. Returns the length or -1 (no room). */
int dns_query_build(uint8_t *buf, size_t cap, uint16_t id, const uint8_t *qname, size_t qname_len,
                    uint16_t qtype, int rd, uint16_t edns_size, uint16_t edns_flags);

/* Big-endian helpers. */
static inline uint16_t dns_get16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t dns_get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline void dns_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void dns_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

#endif
