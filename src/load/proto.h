/* SPDX-License-Identifier: MIT */
/*
 * load/proto.h - what the load generator (tools/axl-load) says and hears in
 * its three protocols: request builders and response framers/parsers for
 * HTTP/1.1 (RFC 9112), the memcached text protocol, and DNS over UDP
 * (RFC 1035). Pure functions over buffers: no I/O, no allocation, safe on
 * any input (fuzzed by tests/fuzz/fuzz_load_resp.c).
 *
 * Framers return the length of the first complete response in p[0..n) (> 0),
 * 0 when more bytes are needed, or -1 when the bytes cannot be a response
 * (the connection is then dropped and counted).
 *
 * Call chain: tools/axl-load/main.c (per connection: build -> send; receive
 * -> frame -> count) -> these functions.
 */
#ifndef AXL_LOAD_PROTO_H
#define AXL_LOAD_PROTO_H

#include <stddef.h>
#include <stdint.h>

/* ---- HTTP/1.1 ---------------------------------------------------------------- */

/* "GET PATH HTTP/1.1" with Host (and "Connection: close" when close).
 * Returns the length, or 0 if it does not fit cap. */
size_t load_http_request(char *buf, size_t cap, const char *host, const char *path, int close);
/* Frame one response. eof: the peer closed, so a response delimited by the
 * close (no Content-Length, not chunked) ends at n. *status: the status
 * code; *closes: the server will close the connection after it (HTTP/1.0
 * without keep-alive, or "Connection: close": RFC 9112 §9.3). Responses with
 * Transfer-Encoding: chunked are framed by their chunks (RFC 9112 §7.1). 1xx
 * interim responses are framed on their own. */
long load_http_response(const uint8_t *p, size_t n, int eof, int *status, int *closes);

/* ---- memcached text protocol -------------------------------------------------- */

enum load_kv_result {
    LOAD_KV_HIT = 1,    /* VALUE ... END */
    LOAD_KV_MISS = 2,   /* END */
    LOAD_KV_STORED = 3, /* STORED */
    LOAD_KV_OTHER = 4,  /* NOT_STORED, EXISTS, NOT_FOUND, DELETED, TOUCHED, a number */
    LOAD_KV_ERROR = 5,  /* ERROR, CLIENT_ERROR ..., SERVER_ERROR ... */
};
size_t load_kv_get(char *buf, size_t cap, const char *key);
size_t load_kv_set(char *buf, size_t cap, const char *key, const uint8_t *val, uint32_t vlen);
/* Frame the response to one get (single key) or storage command. */
long load_kv_response(const uint8_t *p, size_t n, int *result);

/* ---- DNS ---------------------------------------------------------------------- */

/* A standard query (RD clear) for name/qtype; with edns, an OPT record
 * advertising a 4096-byte UDP payload (RFC 6891). 0 if the name is not a
 * valid presentation-format name or it does not fit. */
size_t load_dns_query(uint8_t *buf, size_t cap, uint16_t id, const char *name, uint16_t qtype,
                      int edns);
/* Check a response header: 0 with *id, *rcode and *tc set, or -1 if it is
 * not a DNS response (too short, QR clear, opcode not QUERY). */
int load_dns_response(const uint8_t *p, size_t n, uint16_t *id, int *rcode, int *tc);
/* "A", "AAAA", "MX", ... or a number; -1 if unknown. */
int load_dns_qtype(const char *s);

#endif
