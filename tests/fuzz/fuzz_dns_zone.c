/* SPDX-License-Identifier: MIT */
/*
 * fuzz_dns_zone.c - libFuzzer target for the master-file parser
 * (src/dns/zone.c) and the compiler (src/dns/db.c): any text either fails
 * with a "FILE:LINE: " message or parses into records whose owners are in
 * the zone; a parsed zone must compile (or fail with a message) and answer
 * queries for every owner name and the apex.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/db.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t out[65536];
    struct dns_zone *z = NULL;
    char err[1024] = "";
    if (size > 1 << 16) return 0;
    if (dns_zone_parse((const char *)data, size, "f.zone", "fuzz.test.", &z, err, sizeof(err)) < 0) {
        if (strncmp(err, "f.zone:", 7) != 0 || z != NULL) abort();
        return 0;
    }
    for (size_t i = 0; i < z->nrr; i++) {
        uint8_t low[DNS_NAME_MAX];
        dns_name_lower(low, z->rr[i].owner, z->rr[i].owner_len);
        if (!dns_name_is_sub(low, z->rr[i].owner_len, z->apex, z->apex_len)) abort();
        if (dns_name_len(z->rr[i].owner) != z->rr[i].owner_len) abort();
    }
    struct dns_db *db;
    if (dns_db_build(&db, &z, 1, NULL, err, sizeof(err)) == 0) {
        struct dns_counters c;
        memset(&c, 0, sizeof(c));
        uint8_t q[512];
        for (size_t i = 0; i <= z->nrr && i < 64; i++) {
            const uint8_t *name = i < z->nrr ? z->rr[i].owner : z->apex;
            size_t nl = i < z->nrr ? z->rr[i].owner_len : z->apex_len;
            uint16_t qt = i < z->nrr ? z->rr[i].type : DNS_T_ANY;
            int ql = dns_query_build(q, sizeof(q), (uint16_t)i, name, nl, qt, 0, 1232, 0);
            if (ql < 0) abort();
            size_t r = dns_respond(db, q, (size_t)ql, out, sizeof(out), 0, &c);
            if (r < DNS_HDR_LEN || r > 1232) abort();
            if ((out[3] & 15) != DNS_R_NOERROR && (out[3] & 15) != DNS_R_NXDOMAIN) abort();
        }
        dns_db_free(db);
    }
    dns_zone_free(z);
    return 0;
}
