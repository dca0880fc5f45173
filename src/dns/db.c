/* SPDX-License-Identifier: MIT */
/*
 * dns/db.c - the zone compiler and the query-time responder (see db.h).
 *
 * Compile time (start-up, O(n log n) in records): every record gets a
 * lower-cased key; records are sorted into nodes (one per owner name, plus
 * empty non-terminals); delegations and the names they hide are marked; then
 * each node's responses are written with a message builder that compresses
 * names against the question and everything written before (RFC 1035 §4.1.4,
 * names in RDATA only for the RFC 1035 types, RFC 3597 §4: never SRV's
 * target) and records the position of every pointer it wrote.
 *
 * Query time (hot): parse, one to a few hash probes, then header + echoed
 * question + memcpy of the tail (+ pointer shifts for answers compiled for a
 * shorter name) + OPT.
 *
 * Call chain: dns_db_build -> collect -> make_nodes -> compile_node ->
 * compile -> mb_rr -> mb_name ; dns_respond -> dns_query_parse -> find ->
 * emit / emit_error.
 */
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "dns/db.h"

/* ---- the compiled database ------------------------------------------------------ */

enum resp_kind { RK_ANSWER, RK_NODATA, RK_NXDOMAIN, RK_REFERRAL };

struct resp {
    uint32_t tail_off; /* in db->bytes */
    uint32_t fix_off;  /* in db->fix: positions (in the tail) of compression pointers */
    uint16_t tail_len, tail_noadd_len;
    uint16_t an, ns, ar;
    uint16_t nfix;
    uint8_t cq_len; /* the name the tail was compiled for (its question) */
    uint8_t rcode, aa, kind;
};

#define ENT_DEFAULT 1u /* "any other qtype" of a name: the name exists */
#define ENT_CUT 2u     /* a delegation point: the response is a referral */

struct ent {
    uint32_t resp; /* index + 1; 0: free slot */
    uint32_t nx;   /* default entries: the zone's NXDOMAIN response index */
    uint32_t key_off;
    uint32_t hash;
    uint16_t qtype;
    uint8_t klen, flags;
};

struct dns_db {
    struct ent *tab;
    uint32_t mask, nent;
    struct resp *resp;
    uint32_t nresp, resp_cap;
    uint8_t *bytes;
    size_t nbytes, bytes_cap;
    uint16_t *fix;
    size_t nfix, fix_cap;
    uint32_t seed;
    uint16_t edns_size;
};

static uint32_t key_hash(const struct dns_db *db, const uint8_t *key, size_t klen, uint16_t qtype)
{
    return axl_hash_bytes(key, klen, db->seed ^ axl_hash32(qtype + 1u));
}

static const struct ent *find(const struct dns_db *db, const uint8_t *key, size_t klen,
                              uint16_t qtype, unsigned flags_want)
{
    uint32_t h = key_hash(db, key, klen, qtype);
    for (uint32_t i = h & db->mask;; i = (i + 1) & db->mask) {
        const struct ent *e = &db->tab[i];
        if (!e->resp) return NULL;
        if (e->hash == h && e->qtype == qtype && e->klen == klen &&
            (e->flags & ENT_DEFAULT) == flags_want && memcmp(db->bytes + e->key_off, key, klen) == 0)
            return e;
    }
}

/* ---- build state ---------------------------------------------------------------- */

struct brr {
    const struct dns_zone *z;
    const struct dns_rr *rr;
    uint8_t key[DNS_NAME_MAX];
    uint8_t klen;
    uint32_t zi;
};

struct node {
    uint8_t key[DNS_NAME_MAX];
    uint8_t klen;
    uint8_t cut, occluded;
    uint32_t zi;
    size_t first, count; /* brr range (count 0: empty non-terminal) */
};

struct set {
    size_t first, count; /* brr range of one RRset */
    int neg;             /* SOA for a negative answer: TTL = min(TTL, MINIMUM) (RFC 2308 §3) */
};

/** MB_DICT: names remembered for compression per response (more are only
 *  written uncompressed); MB_SETS: RRsets in one section. */
#define MB_DICT 512
#define MB_SETS 64
#define MB_PTRS 4096
#define MB_CAP 65535

struct mb {
    uint8_t buf[MB_CAP + 1024];
    size_t len;
    int overflow;
    struct {
        uint16_t off;
        uint8_t len;
        uint8_t name[DNS_NAME_MAX];
    } dict[MB_DICT];
    size_t ndict;
    uint16_t ptr[MB_PTRS];
    size_t nptr;
};

struct build {
    struct dns_db *db;
    struct dns_zone *const *zones;
    size_t nzones;
    struct brr *rr;
    size_t nrr;
    struct node *node;
    size_t nnode;
    uint32_t *zone_nx; /* per zone: NXDOMAIN response */
    size_t *zone_soa;  /* per zone: brr index of the SOA */
    struct mb *mb;
    char *err;
    size_t errlen;
};

static int cmp_key(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    if (c) return c;
    return al < bl ? -1 : al > bl;
}

static int cmp_brr(const void *x, const void *y)
{
    const struct brr *a = x, *b = y;
    int c = cmp_key(a->key, a->klen, b->key, b->klen);
    if (c) return c;
    if (a->zi != b->zi) return a->zi < b->zi ? -1 : 1;
    if (a->rr->type != b->rr->type) return a->rr->type < b->rr->type ? -1 : 1;
    c = cmp_key(dns_rr_rdata(a->z, a->rr), a->rr->rdlen, dns_rr_rdata(b->z, b->rr), b->rr->rdlen);
    return c;
}

static int cmp_node(const void *x, const void *y)
{
    const struct node *a = x, *b = y;
    int c = cmp_key(a->key, a->klen, b->key, b->klen);
    if (c) return c;
    /* real nodes before empty non-terminals with the same name */
    return (a->count == 0) - (b->count == 0);
}

static struct node *node_find(struct build *b, const uint8_t *key, size_t klen)
{
    size_t lo = 0, hi = b->nnode;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = cmp_key(b->node[mid].key, b->node[mid].klen, key, klen);
        if (c == 0) return &b->node[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* The RRset of `type` at a node, or count 0. */
static struct set node_set(const struct build *b, const struct node *n, uint16_t type)
{
    struct set s = {0, 0, 0};
    for (size_t i = n->first; i < n->first + n->count; i++) {
        if (b->rr[i].rr->type != type) continue;
        if (!s.count) s.first = i;
        s.count++;
    }
    return s;
}

static int berr(struct build *b, const char *fmt, const uint8_t *name, const char *extra)
{
    char t[1024];
    snprintf(b->err, b->errlen, fmt, dns_name_to_text(name, t, sizeof(t)), extra ? extra : "");
    return -1;
}

/* ---- message builder ------------------------------------------------------------ */

static void mb_reset(struct mb *m)
{
    m->len = 0;
    m->overflow = 0;
    m->ndict = 0;
    m->nptr = 0;
}

static void mb_put(struct mb *m, const void *p, size_t n)
{
    if (m->len + n > MB_CAP) {
        m->overflow = 1;
        return;
    }
    memcpy(m->buf + m->len, p, n);
    m->len += n;
}
static void mb_put16(struct mb *m, uint16_t v)
{
    uint8_t b[2];
    dns_put16(b, v);
    mb_put(m, b, 2);
}
static void mb_put32(struct mb *m, uint32_t v)
{
    uint8_t b[4];
    dns_put32(b, v);
    mb_put(m, b, 4);
}

/* Remember the suffixes of a name written at `off` (labels before `upto`).
 * Only offsets that stay below the 14-bit limit after the largest shift a
 * response can get (a 255-byte question) are kept. */
static void mb_remember(struct mb *m, const uint8_t *low, size_t len, size_t off, size_t upto)
{
    for (size_t i = 0; i < upto && low[i]; i += (size_t)low[i] + 1) {
        if (off + i + DNS_NAME_MAX >= 0x3fff || m->ndict == MB_DICT) return;
        m->dict[m->ndict].off = (uint16_t)(off + i);
        m->dict[m->ndict].len = (uint8_t)(len - i);
        memcpy(m->dict[m->ndict].name, low + i, len - i);
        m->ndict++;
    }
}

static void mb_name(struct mb *m, const uint8_t *name, size_t len, int compress)
{
    uint8_t low[DNS_NAME_MAX];
    dns_name_lower(low, name, len);
    size_t start = m->len;
    for (size_t i = 0; compress && low[i]; i += (size_t)low[i] + 1) {
        for (size_t d = 0; d < m->ndict; d++) {
            if (m->dict[d].len != len - i || memcmp(m->dict[d].name, low + i, len - i) != 0)
                continue;
            mb_put(m, name, i);
            if (m->nptr < MB_PTRS && !m->overflow) m->ptr[m->nptr++] = (uint16_t)m->len;
            else m->overflow = 1;
            mb_put16(m, (uint16_t)(0xc000u | m->dict[d].off));
            mb_remember(m, low, len, start, i);
            return;
        }
    }
    mb_put(m, name, len);
    mb_remember(m, low, len, start, len);
}

/* One record (RFC 1035 §4.1.3). */
static void mb_rr(struct mb *m, const struct dns_zone *z, const struct dns_rr *rr, uint32_t ttl)
{
    const uint8_t *rd = dns_rr_rdata(z, rr);
    mb_name(m, rr->owner, rr->owner_len, 1);
    mb_put16(m, rr->type);
    mb_put16(m, DNS_C_IN);
    mb_put32(m, ttl);
    size_t rdl_pos = m->len;
    mb_put16(m, 0);
    size_t l1;
    switch (rr->type) {
    case DNS_T_NS:
    case DNS_T_CNAME:
    case DNS_T_PTR:
        mb_name(m, rd, rr->rdlen, 1);
        break;
    case DNS_T_MX:
        mb_put(m, rd, 2);
        mb_name(m, rd + 2, rr->rdlen - 2u, 1);
        break;
    case DNS_T_SOA:
        l1 = dns_name_len(rd);
        mb_name(m, rd, l1, 1);
        mb_name(m, rd + l1, dns_name_len(rd + l1), 1);
        mb_put(m, rd + rr->rdlen - 20, 20);
        break;
    case DNS_T_SRV:
        mb_put(m, rd, 6);
        mb_name(m, rd + 6, rr->rdlen - 6u, 0); /* RFC 2782: no compression */
        break;
    default:
        mb_put(m, rd, rr->rdlen);
    }
    if (!m->overflow) dns_put16(m->buf + rdl_pos, (uint16_t)(m->len - rdl_pos - 2));
}

static void mb_set(struct build *b, const struct set *s)
{
    uint32_t ttl = 0xffffffffu;
    for (size_t i = s->first; i < s->first + s->count; i++) /* RFC 2181 §5.2: one TTL */
        if (b->rr[i].rr->ttl < ttl) ttl = b->rr[i].rr->ttl;
    if (s->neg) {
        const struct brr *soa = &b->rr[s->first];
        uint32_t min = dns_get32(dns_rr_rdata(soa->z, soa->rr) + soa->rr->rdlen - 4);
        if (min < ttl) ttl = min;
    }
    for (size_t i = s->first; i < s->first + s->count; i++) mb_rr(b->mb, b->rr[i].z, b->rr[i].rr, ttl);
}

/* ---- compiling one response ----------------------------------------------------- */

static int db_reserve(struct build *b, size_t bytes, size_t fixes)
{
    struct dns_db *db = b->db;
    if (db->nbytes + bytes > db->bytes_cap) {
        size_t cap = db->bytes_cap ? db->bytes_cap : 1 << 16;
        while (cap < db->nbytes + bytes) cap *= 2;
        if (cap > 0xffffffffu) goto nomem;
        uint8_t *p = realloc(db->bytes, cap);
        if (!p) goto nomem;
        db->bytes = p;
        db->bytes_cap = cap;
    }
    if (db->nfix + fixes > db->fix_cap) {
        size_t cap = db->fix_cap ? db->fix_cap : 1024;
        while (cap < db->nfix + fixes) cap *= 2;
        uint16_t *p = realloc(db->fix, cap * sizeof(*p));
        if (!p) goto nomem;
        db->fix = p;
        db->fix_cap = cap;
    }
    if (db->nresp == db->resp_cap) {
        uint32_t cap = db->resp_cap ? db->resp_cap * 2 : 256;
        struct resp *p = realloc(db->resp, cap * sizeof(*p));
        if (!p) goto nomem;
        db->resp = p;
        db->resp_cap = cap;
    }
    return 0;
nomem:
    snprintf(b->err, b->errlen, "out of memory compiling the zones");
    return -1;
}

/* Glue (RFC 1035 §3.3.9, §3.3.11; RFC 2782): A and AAAA of the NS, MX and SRV
 * targets among `sets` that are in our data (also below a delegation). */
static size_t add_glue(struct build *b, const struct set *sets, size_t n, struct set *out,
                       size_t nout)
{
    for (size_t k = 0; k < n; k++) {
        for (size_t i = sets[k].first; i < sets[k].first + sets[k].count; i++) {
            const struct dns_rr *rr = b->rr[i].rr;
            const uint8_t *rd = dns_rr_rdata(b->rr[i].z, rr);
            const uint8_t *t;
            size_t tl;
            if (rr->type == DNS_T_NS) t = rd, tl = rr->rdlen;
            else if (rr->type == DNS_T_MX) t = rd + 2, tl = rr->rdlen - 2u;
            else if (rr->type == DNS_T_SRV) t = rd + 6, tl = rr->rdlen - 6u;
            else continue;
            uint8_t low[DNS_NAME_MAX];
            dns_name_lower(low, t, tl);
            const struct node *tn = node_find(b, low, tl);
            if (!tn) continue;
            static const uint16_t addr_types[2] = {DNS_T_A, DNS_T_AAAA};
            for (int a = 0; a < 2; a++) {
                struct set s = node_set(b, tn, addr_types[a]);
                if (!s.count) continue;
                int dup = 0;
                for (size_t j = 0; j < nout && !dup; j++) dup = out[j].first == s.first;
                if (!dup && nout < MB_SETS) out[nout++] = s;
            }
        }
    }
    return nout;
}

static int compile(struct build *b, const uint8_t *cq, size_t cqlen, uint8_t rcode, int aa,
                   enum resp_kind kind, const struct set *an, size_t nan, const struct set *ns,
                   size_t nns, const struct set *ar, size_t nar, uint32_t *idx)
{
    struct mb *m = b->mb;
    mb_reset(m);
    uint8_t hdr[DNS_HDR_LEN] = {0};
    mb_put(m, hdr, sizeof(hdr));
    mb_name(m, cq, cqlen, 0);
    mb_put32(m, DNS_C_IN); /* qtype 0 (patched per query), class IN */
    size_t tail = m->len;
    unsigned c_an = 0, c_ns = 0, c_ar = 0;
    for (size_t i = 0; i < nan; i++) mb_set(b, &an[i]), c_an += (unsigned)an[i].count;
    for (size_t i = 0; i < nns; i++) mb_set(b, &ns[i]), c_ns += (unsigned)ns[i].count;
    size_t noadd = m->len;
    for (size_t i = 0; i < nar; i++) mb_set(b, &ar[i]), c_ar += (unsigned)ar[i].count;
    if (m->overflow || m->len - tail > 0xffff || c_an > 0xffff || c_ns > 0xffff || c_ar > 0xfffe)
        return berr(b, "the response for %s is larger than 65535 bytes%s", cq, NULL);
    if (db_reserve(b, m->len - tail, m->nptr) < 0) return -1;
    struct dns_db *db = b->db;
    struct resp *r = &db->resp[db->nresp];
    memset(r, 0, sizeof(*r));
    r->tail_off = (uint32_t)db->nbytes;
    r->tail_len = (uint16_t)(m->len - tail);
    r->tail_noadd_len = (uint16_t)(noadd - tail);
    r->an = (uint16_t)c_an;
    r->ns = (uint16_t)c_ns;
    r->ar = (uint16_t)c_ar;
    r->cq_len = (uint8_t)cqlen;
    r->rcode = rcode;
    r->aa = (uint8_t)aa;
    r->kind = (uint8_t)kind;
    r->fix_off = (uint32_t)db->nfix;
    for (size_t i = 0; i < m->nptr; i++) /* written in order: ascending */
        if (m->ptr[i] >= tail) db->fix[db->nfix++] = (uint16_t)(m->ptr[i] - tail);
    r->nfix = (uint16_t)(db->nfix - r->fix_off);
    memcpy(db->bytes + db->nbytes, m->buf + tail, m->len - tail);
    db->nbytes += m->len - tail;
    *idx = db->nresp++;
    return 0;
}

static int insert(struct build *b, const uint8_t *key, size_t klen, uint16_t qtype,
                  unsigned flags, uint32_t resp, uint32_t nx)
{
    struct dns_db *db = b->db;
    if ((db->nent + 1) * 2 > db->mask + 1) { /* keep the load under 1/2 */
        uint32_t nsize = (db->mask + 1) * 2;
        struct ent *nt = calloc(nsize, sizeof(*nt));
        if (!nt) return berr(b, "out of memory at %s%s", key, NULL);
        for (uint32_t i = 0; i <= db->mask; i++) {
            if (!db->tab[i].resp) continue;
            uint32_t j = db->tab[i].hash & (nsize - 1);
            while (nt[j].resp) j = (j + 1) & (nsize - 1);
            nt[j] = db->tab[i];
        }
        free(db->tab);
        db->tab = nt;
        db->mask = nsize - 1;
    }
    if (find(db, key, klen, qtype, flags & ENT_DEFAULT)) return 0; /* first one wins */
    if (db_reserve(b, klen, 0) < 0) return -1;
    struct ent e = {resp + 1, nx, (uint32_t)db->nbytes, key_hash(db, key, klen, qtype), qtype,
                    (uint8_t)klen, (uint8_t)flags};
    memcpy(db->bytes + db->nbytes, key, klen);
    db->nbytes += klen;
    uint32_t i = e.hash & db->mask;
    while (db->tab[i].resp) i = (i + 1) & db->mask;
    db->tab[i] = e;
    db->nent++;
    return 0;
}

/* The distinct types present at a node (ascending). */
static size_t node_types(const struct build *b, const struct node *n, uint16_t *types, size_t max)
{
    size_t k = 0;
    for (size_t i = n->first; i < n->first + n->count; i++) {
        uint16_t t = b->rr[i].rr->type;
        if ((k == 0 || types[k - 1] != t) && k < max) types[k++] = t;
    }
    return k;
}

static struct set soa_set(const struct build *b, uint32_t zi)
{
    struct set s = {b->zone_soa[zi], 1, 1};
    return s;
}

/* A zone that holds `key` (the longest apex), or -1. */
static int zone_of(const struct build *b, const uint8_t *key, size_t klen)
{
    int best = -1;
    for (size_t z = 0; z < b->nzones; z++)
        if (dns_name_is_sub(key, klen, b->zones[z]->apex, b->zones[z]->apex_len) &&
            (best < 0 || b->zones[z]->apex_len > b->zones[best]->apex_len))
            best = (int)z;
    return best;
}

static int compile_cname(struct build *b, const struct node *n, uint32_t nx)
{
    struct set chain[DNS_CNAME_CHAIN_MAX + 1], ar[MB_SETS];
    const struct node *seen[DNS_CNAME_CHAIN_MAX + 1];
    size_t nchain = 0;
    uint32_t idx;
    chain[nchain] = node_set(b, n, DNS_T_CNAME);
    seen[nchain++] = n;
    if (compile(b, n->key, n->klen, DNS_R_NOERROR, 1, RK_ANSWER, chain, 1, NULL, 0, NULL, 0, &idx) <
            0 ||
        insert(b, n->key, n->klen, DNS_T_CNAME, 0, idx, nx) < 0 ||
        insert(b, n->key, n->klen, DNS_T_ANY, 0, idx, nx) < 0)
        return -1;
    /* Follow the chain (RFC 1034 §4.3.2 step 3a; RFC 6604 for the rcode). */
    const struct node *final = NULL;
    int nxdomain_zone = -1;
    for (;;) {
        const struct brr *c = &b->rr[chain[nchain - 1].first];
        const uint8_t *t = dns_rr_rdata(c->z, c->rr);
        uint8_t low[DNS_NAME_MAX];
        size_t tl = c->rr->rdlen;
        dns_name_lower(low, t, tl);
        const struct node *tn = node_find(b, low, tl);
        if (!tn) {
            int z = zone_of(b, low, tl);
            /* In our zone, not there, and not hidden by a delegation or a
             * wildcard (those are left to the resolver: the chain stops). */
            if (z >= 0) {
                int hidden = 0;
                for (size_t i = (size_t)low[0] + 1; i < tl; i += (size_t)low[i] + 1) {
                    const struct node *a = node_find(b, low + i, tl - i);
                    if (!a) continue;
                    uint8_t w[DNS_NAME_MAX];
                    if (a->cut || a->occluded) {
                        hidden = 1;
                    } else if (2 + tl - i <= DNS_NAME_MAX) {
                        w[0] = 1, w[1] = '*';
                        memcpy(w + 2, low + i, tl - i);
                        hidden = node_find(b, w, 2 + tl - i) != NULL;
                    }
                    break;
                }
                if (!hidden) nxdomain_zone = z;
            }
            break;
        }
        if (tn->cut || tn->occluded) break;
        struct set cs = node_set(b, tn, DNS_T_CNAME);
        if (!cs.count) {
            final = tn;
            break;
        }
        int loop = 0;
        for (size_t i = 0; i < nchain; i++) loop |= seen[i] == tn;
        if (loop || nchain > DNS_CNAME_CHAIN_MAX) break;
        chain[nchain] = cs;
        seen[nchain++] = tn;
    }
    if (final) {
        uint16_t types[64];
        size_t nt = node_types(b, final, types, 64);
        for (size_t k = 0; k < nt; k++) {
            struct set all[DNS_CNAME_CHAIN_MAX + 2];
            memcpy(all, chain, nchain * sizeof(chain[0]));
            all[nchain] = node_set(b, final, types[k]);
            size_t nar = add_glue(b, &all[nchain], 1, ar, 0);
            if (compile(b, n->key, n->klen, DNS_R_NOERROR, 1, RK_ANSWER, all, nchain + 1, NULL, 0,
                        ar, nar, &idx) < 0 ||
                insert(b, n->key, n->klen, types[k], 0, idx, nx) < 0)
                return -1;
        }
        struct set soa = soa_set(b, final->zi);
        if (compile(b, n->key, n->klen, DNS_R_NOERROR, 1, RK_ANSWER, chain, nchain, &soa, 1, NULL,
                    0, &idx) < 0)
            return -1;
    } else if (nxdomain_zone >= 0) {
        struct set soa = soa_set(b, (uint32_t)nxdomain_zone);
        if (compile(b, n->key, n->klen, DNS_R_NXDOMAIN, 1, RK_ANSWER, chain, nchain, &soa, 1, NULL,
                    0, &idx) < 0)
            return -1;
    } else if (compile(b, n->key, n->klen, DNS_R_NOERROR, 1, RK_ANSWER, chain, nchain, NULL, 0,
                       NULL, 0, &idx) < 0) {
        return -1;
    }
    return insert(b, n->key, n->klen, 0, ENT_DEFAULT, idx, nx);
}

static int compile_node(struct build *b, const struct node *n)
{
    uint32_t nx = b->zone_nx[n->zi], idx;
    struct set ar[MB_SETS];
    if (n->cut) {
        /* Referral (RFC 1034 §4.3.2 step 3b): not authoritative. */
        struct set ns = node_set(b, n, DNS_T_NS);
        size_t nar = add_glue(b, &ns, 1, ar, 0);
        if (compile(b, n->key, n->klen, DNS_R_NOERROR, 0, RK_REFERRAL, NULL, 0, &ns, 1, ar, nar,
                    &idx) < 0)
            return -1;
        return insert(b, n->key, n->klen, 0, ENT_DEFAULT | ENT_CUT, idx, nx);
    }
    if (n->count && node_set(b, n, DNS_T_CNAME).count) return compile_cname(b, n, nx);
    uint16_t types[64];
    struct set all[MB_SETS];
    size_t nt = node_types(b, n, types, 64), nall = 0;
    for (size_t k = 0; k < nt; k++) {
        struct set s = node_set(b, n, types[k]);
        size_t nar = add_glue(b, &s, 1, ar, 0);
        if (compile(b, n->key, n->klen, DNS_R_NOERROR, 1, RK_ANSWER, &s, 1, NULL, 0, ar, nar,
                    &idx) < 0 ||
            insert(b, n->key, n->klen, types[k], 0, idx, nx) < 0)
            return -1;
        if (nall < MB_SETS) all[nall++] = s;
    }
    if (nall) { /* ANY: every RRset of the name (no additional data) */
        if (compile(b, n->key, n->klen, DNS_R_NOERROR, 1, RK_ANSWER, all, nall, NULL, 0, NULL, 0,
                    &idx) < 0 ||
            insert(b, n->key, n->klen, DNS_T_ANY, 0, idx, nx) < 0)
            return -1;
    }
    struct set soa = soa_set(b, n->zi); /* NODATA (RFC 2308 §2.2) */
    if (compile(b, n->key, n->klen, DNS_R_NOERROR, 1, RK_NODATA, NULL, 0, &soa, 1, NULL, 0, &idx) < 0)
        return -1;
    return insert(b, n->key, n->klen, 0, ENT_DEFAULT, idx, nx);
}

/* ---- nodes ----------------------------------------------------------------------- */

static int collect(struct build *b)
{
    size_t total = 0;
    for (size_t z = 0; z < b->nzones; z++) {
        for (size_t y = 0; y < z; y++)
            if (b->zones[y]->apex_len == b->zones[z]->apex_len &&
                memcmp(b->zones[y]->apex, b->zones[z]->apex, b->zones[z]->apex_len) == 0) {
                char t[1024];
                snprintf(b->err, b->errlen, "zone %s loaded twice (%s and %s)",
                         dns_name_to_text(b->zones[z]->apex, t, sizeof(t)), b->zones[y]->file,
                         b->zones[z]->file);
                return -1;
            }
        total += b->zones[z]->nrr;
    }
    b->rr = calloc(total ? total : 1, sizeof(*b->rr));
    b->zone_nx = calloc(b->nzones ? b->nzones : 1, sizeof(*b->zone_nx));
    b->zone_soa = calloc(b->nzones ? b->nzones : 1, sizeof(*b->zone_soa));
    if (!b->rr || !b->zone_nx || !b->zone_soa) {
        snprintf(b->err, b->errlen, "out of memory");
        return -1;
    }
    for (size_t z = 0; z < b->nzones; z++) {
        const struct dns_zone *zn = b->zones[z];
        for (size_t i = 0; i < zn->nrr; i++) {
            struct brr *r = &b->rr[b->nrr++];
            r->z = zn;
            r->rr = &zn->rr[i];
            r->zi = (uint32_t)z;
            r->klen = zn->rr[i].owner_len;
            dns_name_lower(r->key, zn->rr[i].owner, r->klen);
        }
    }
    qsort(b->rr, b->nrr, sizeof(*b->rr), cmp_brr);
    /* Drop duplicates (RFC 2181 §5) and, where two zones hold one name, the
     * data of the outer zone (the inner zone is authoritative there). */
    size_t o = 0;
    for (size_t i = 0; i < b->nrr; i++) {
        if (o && cmp_key(b->rr[o - 1].key, b->rr[o - 1].klen, b->rr[i].key, b->rr[i].klen) == 0) {
            const struct brr *p = &b->rr[o - 1];
            if (p->zi != b->rr[i].zi) {
                if (b->zones[b->rr[i].zi]->apex_len > b->zones[p->zi]->apex_len) {
                    /* the inner zone wins: drop what the outer one had here */
                    while (o && cmp_key(b->rr[o - 1].key, b->rr[o - 1].klen, b->rr[i].key,
                                        b->rr[i].klen) == 0 &&
                           b->rr[o - 1].zi == p->zi)
                        o--;
                } else {
                    continue;
                }
            } else if (p->rr->type == b->rr[i].rr->type && p->rr->rdlen == b->rr[i].rr->rdlen &&
                       memcmp(dns_rr_rdata(p->z, p->rr), dns_rr_rdata(b->rr[i].z, b->rr[i].rr),
                              p->rr->rdlen) == 0) {
                continue;
            }
        }
        b->rr[o++] = b->rr[i];
    }
    b->nrr = o;
    for (size_t i = 0; i < b->nrr; i++)
        if (b->rr[i].rr->type == DNS_T_SOA) b->zone_soa[b->rr[i].zi] = i;
    return 0;
}

static int make_nodes(struct build *b)
{
    /* Real nodes, then every ancestor up to the apex as a candidate empty
     * non-terminal (RFC 8020), sorted, duplicates removed. */
    size_t cap = 0;
    for (size_t i = 0; i < b->nrr; i++) cap += dns_name_labels(b->rr[i].key) + 1;
    b->node = calloc(cap ? cap : 1, sizeof(*b->node));
    if (!b->node) {
        snprintf(b->err, b->errlen, "out of memory");
        return -1;
    }
    size_t n = 0;
    for (size_t i = 0; i < b->nrr;) {
        size_t j = i;
        while (j < b->nrr && cmp_key(b->rr[i].key, b->rr[i].klen, b->rr[j].key, b->rr[j].klen) == 0)
            j++;
        struct node *nd = &b->node[n++];
        memcpy(nd->key, b->rr[i].key, b->rr[i].klen);
        nd->klen = b->rr[i].klen;
        nd->zi = b->rr[i].zi;
        nd->first = i;
        nd->count = j - i;
        const struct dns_zone *z = b->zones[nd->zi];
        for (size_t k = 0; nd->klen - k > z->apex_len; k += (size_t)nd->key[k] + 1) {
            if (k == 0) continue;
            struct node *e = &b->node[n++];
            memcpy(e->key, nd->key + k, nd->klen - k);
            e->klen = (uint8_t)(nd->klen - k);
            e->zi = nd->zi;
        }
        i = j;
    }
    qsort(b->node, n, sizeof(*b->node), cmp_node);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (o && cmp_key(b->node[o - 1].key, b->node[o - 1].klen, b->node[i].key, b->node[i].klen) == 0)
            continue;
        b->node[o++] = b->node[i];
    }
    b->nnode = o;
    /* Delegations: NS below the apex; everything under one is hidden. */
    for (size_t i = 0; i < b->nnode; i++) {
        struct node *nd = &b->node[i];
        const struct dns_zone *z = b->zones[nd->zi];
        nd->cut = nd->count && nd->klen != z->apex_len && node_set(b, nd, DNS_T_NS).count;
    }
    for (size_t i = 0; i < b->nnode; i++) {
        struct node *nd = &b->node[i];
        const struct dns_zone *z = b->zones[nd->zi];
        for (size_t k = (size_t)nd->key[0] + 1; nd->klen - k > z->apex_len;
             k += (size_t)nd->key[k] + 1) {
            const struct node *a = node_find(b, nd->key + k, nd->klen - k);
            /* hidden by our own delegation, or by an inner zone's apex */
            if (a && ((a->cut && a->zi == nd->zi) ||
                      (a->zi != nd->zi && a->klen == b->zones[a->zi]->apex_len))) {
                nd->occluded = 1;
                break;
            }
        }
    }
    return 0;
}

int dns_db_build(struct dns_db **out, struct dns_zone *const *zones, size_t nzones,
                 const struct dns_db_cfg *cfg, char *err, size_t errlen)
{
    struct build b;
    memset(&b, 0, sizeof(b));
    b.zones = zones;
    b.nzones = nzones;
    b.err = err;
    b.errlen = errlen;
    b.db = calloc(1, sizeof(*b.db));
    b.mb = malloc(sizeof(*b.mb));
    int rc = -1;
    if (!b.db || !b.mb || !(b.db->tab = calloc(1024, sizeof(struct ent)))) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    b.db->mask = 1023;
    b.db->seed = cfg ? cfg->seed : 0;
    b.db->edns_size = cfg && cfg->edns_size ? cfg->edns_size : DNS_EDNS_SIZE_DEFAULT;
    if (b.db->edns_size < DNS_UDP_MIN) b.db->edns_size = DNS_UDP_MIN;
    if (collect(&b) < 0 || make_nodes(&b) < 0) goto out;
    for (size_t z = 0; z < nzones; z++) { /* NXDOMAIN (RFC 2308 §2.1) */
        struct set soa = soa_set(&b, (uint32_t)z);
        if (compile(&b, zones[z]->apex, zones[z]->apex_len, DNS_R_NXDOMAIN, 1, RK_NXDOMAIN, NULL, 0,
                    &soa, 1, NULL, 0, &b.zone_nx[z]) < 0)
            goto out;
    }
    for (size_t i = 0; i < b.nnode; i++)
        if (!b.node[i].occluded && compile_node(&b, &b.node[i]) < 0) goto out;
    rc = 0;
out:
    free(b.rr);
    free(b.node);
    free(b.zone_nx);
    free(b.zone_soa);
    free(b.mb);
    if (rc) {
        dns_db_free(b.db);
        return -1;
    }
    *out = b.db;
    return 0;
}

void dns_db_free(struct dns_db *db)
{
    if (!db) return;
    free(db->tab);
    free(db->resp);
    free(db->bytes);
    free(db->fix);
    free(db);
}

size_t dns_db_responses(const struct dns_db *db) { return db->nresp; }
size_t dns_db_keys(const struct dns_db *db) { return db->nent; }

/* ---- query time ------------------------------------------------------------------ */

static size_t put_opt(uint8_t *p, const struct dns_db *db, const struct dns_query *q, unsigned rcode)
{
    /* RFC 6891 §6.1.2-6.1.3: our payload size, extended rcode (upper 8 bits),
     * version 0, DO copied (RFC 3225 §3), no options. */
    p[0] = 0;
    dns_put16(p + 1, DNS_T_OPT);
    dns_put16(p + 3, db->edns_size);
    dns_put32(p + 5, ((uint32_t)(rcode >> 4) << 24) | (q->edns_flags & DNS_EDNS_DO));
    dns_put16(p + 9, 0);
    return 11;
}

static void count_rcode(struct dns_counters *c, unsigned rcode)
{
    if (rcode == DNS_R_BADVERS)
        c->badvers++;
    else if (rcode < 6)
        c->rcode[rcode]++;
}

/* Header (+ question) (+ OPT) only: errors and refusals. */
static size_t emit_error(const struct dns_db *db, const struct dns_query *q, unsigned rcode,
                         int echo, int opt, uint8_t *out, struct dns_counters *c)
{
    size_t p = DNS_HDR_LEN;
    dns_put16(out, q->id);
    dns_put16(out + 2, (uint16_t)(DNS_F_QR | (q->flags & (DNS_F_OPCODE | DNS_F_RD | DNS_F_CD)) |
                                  (rcode & DNS_F_RCODE)));
    dns_put16(out + 4, echo ? 1 : 0);
    dns_put16(out + 6, 0);
    dns_put16(out + 8, 0);
    dns_put16(out + 10, opt ? 1 : 0);
    if (echo) {
        memcpy(out + p, q->qname, q->qname_len);
        p += q->qname_len;
        dns_put16(out + p, q->qtype);
        dns_put16(out + p + 2, q->qclass);
        p += 4;
    }
    if (opt) p += put_opt(out + p, db, q, rcode);
    count_rcode(c, rcode);
    c->responses++;
    return p;
}

size_t dns_respond(const struct dns_db *db, const uint8_t *msg, size_t len, uint8_t *out,
                   size_t cap, int tcp, struct dns_counters *c)
{
    struct dns_query q;
    c->queries++;
    if (cap < DNS_UDP_MIN) return 0;
    enum dns_parse_status st = dns_query_parse(msg, len, &q);
    c->parse[st]++;
    switch (st) {
    case DNS_PARSE_OK: break;
    case DNS_PARSE_DROP_SHORT:
    case DNS_PARSE_DROP_RESPONSE:
    case DNS_PARSE__COUNT: return 0;
    case DNS_PARSE_NOTIMP_OPCODE: return emit_error(db, &q, DNS_R_NOTIMP, 0, 0, out, c);
    default: /* FORMERR (RFC 1035 §4.1.1); OPT echoed when it was sound */
        return emit_error(db, &q, DNS_R_FORMERR, q.question_ok, q.has_opt && st != DNS_PARSE_FE_OPT,
                          out, c);
    }
    if (q.has_opt) {
        c->edns++;
        if (q.edns_version > 0) return emit_error(db, &q, DNS_R_BADVERS, 1, 1, out, c);
    }
    if (q.qclass != DNS_C_IN) {
        c->refused_class++;
        return emit_error(db, &q, DNS_R_REFUSED, 1, q.has_opt, out, c);
    }
    if (q.qtype == DNS_T_AXFR || q.qtype == DNS_T_IXFR || q.qtype == DNS_T_MAILA ||
        q.qtype == DNS_T_MAILB) {
        c->notimp_qtype++;
        return emit_error(db, &q, DNS_R_NOTIMP, 1, q.has_opt, out, c);
    }

    /* Lookup: the exact name and type, the name's default, then the closest
     * encloser (RFC 4592 §3.3.1): a delegation above the name, a wildcard
     * child of it, or NXDOMAIN of its zone. */
    size_t fix_from = 0; /* question bytes a shifted pointer may still point to unchanged */
    const struct ent *e = find(db, q.key, q.qname_len, q.qtype, 0);
    uint32_t ri;
    if (!e) e = find(db, q.key, q.qname_len, 0, ENT_DEFAULT);
    if (e) {
        ri = e->resp - 1;
    } else {
        const struct ent *d = NULL;
        size_t off = (size_t)q.key[0] + 1;
        while (off < q.qname_len) {
            d = find(db, q.key + off, q.qname_len - off, 0, ENT_DEFAULT);
            if (d) break;
            off += (size_t)q.key[off] + 1;
        }
        if (!d) return emit_error(db, &q, DNS_R_REFUSED, 1, q.has_opt, out, c);
        if (d->flags & ENT_CUT) {
            ri = d->resp - 1;
        } else {
            uint8_t w[DNS_NAME_MAX];
            size_t wl = 2 + (q.qname_len - off);
            const struct ent *we = NULL;
            if (wl <= DNS_NAME_MAX) {
                w[0] = 1;
                w[1] = '*';
                memcpy(w + 2, q.key + off, q.qname_len - off);
                we = find(db, w, wl, q.qtype, 0);
                if (!we) we = find(db, w, wl, 0, ENT_DEFAULT);
            }
            if (we) {
                ri = we->resp - 1;
                fix_from = 2; /* a pointer to "*.x" means the whole qname */
                c->wildcard++;
            } else {
                ri = d->nx;
            }
        }
    }
    const struct resp *r = &db->resp[ri];

    /* Emit. */
    size_t limit = cap;
    if (!tcp) {
        size_t lim = DNS_UDP_MIN;
        if (q.has_opt && q.udp_size > lim) lim = q.udp_size < db->edns_size ? q.udp_size : db->edns_size;
        if (lim < limit) limit = lim;
    }
    size_t qsec = (size_t)q.qname_len + 4, optlen = q.has_opt ? 11 : 0;
    size_t tail = r->tail_len;
    unsigned an = r->an, ns = r->ns, ar = r->ar;
    uint16_t flags = (uint16_t)(DNS_F_QR | (q.flags & (DNS_F_RD | DNS_F_CD)) | (r->aa ? DNS_F_AA : 0) |
                                r->rcode);
    if (DNS_HDR_LEN + qsec + tail + optlen > limit) {
        if (DNS_HDR_LEN + qsec + r->tail_noadd_len + optlen <= limit) {
            tail = r->tail_noadd_len; /* RFC 2181 §9: no TC for lost additional data */
            ar = 0;
            c->no_additional++;
        } else {
            tail = 0;
            an = ns = ar = 0;
            flags |= DNS_F_TC;
            c->truncated++;
        }
    }
    if (DNS_HDR_LEN + qsec + tail + optlen > cap) return 0; /* cannot happen: cap >= 512 */
    dns_put16(out, q.id);
    dns_put16(out + 2, flags);
    dns_put16(out + 4, 1);
    dns_put16(out + 6, (uint16_t)an);
    dns_put16(out + 8, (uint16_t)ns);
    dns_put16(out + 10, (uint16_t)(ar + (q.has_opt ? 1 : 0)));
    uint8_t *p = out + DNS_HDR_LEN;
    memcpy(p, q.qname, q.qname_len);
    dns_put16(p + q.qname_len, q.qtype);
    dns_put16(p + q.qname_len + 2, q.qclass);
    p += qsec;
    memcpy(p, db->bytes + r->tail_off, tail);
    size_t delta = (size_t)q.qname_len - r->cq_len;
    if (delta) { /* compiled for a shorter name: shift pointers past its start */
        const uint16_t *fx = db->fix + r->fix_off;
        for (unsigned i = 0; i < r->nfix && fx[i] < tail; i++) {
            uint8_t *pp = p + fx[i];
            size_t t = (size_t)(dns_get16(pp) & 0x3fff);
            if (t >= DNS_HDR_LEN + fix_from) dns_put16(pp, (uint16_t)(0xc000u | (t + delta)));
        }
    }
    p += tail;
    if (q.has_opt) p += put_opt(p, db, &q, 0);
    if (!(flags & DNS_F_TC)) {
        if (r->kind == RK_NODATA) c->nodata++;
        if (r->kind == RK_REFERRAL) c->referral++;
    }
    count_rcode(c, r->rcode);
    c->responses++;
    return (size_t)(p - out);
}

void dns_counters_dump(const struct dns_counters *c, FILE *out, const char *prefix)
{
    const char *pf = prefix ? prefix : "", *sep = *pf ? " " : "";
    static const char *const rc[6] = {"NoError", "FormErr", "ServFail", "NxDomain", "NotImp", "Refused"};
#define DUMP(name, v) fprintf(out, "%s%s%s %llu\n", pf, sep, name, (unsigned long long)(v))
    DUMP("DnsQueries", c->queries);
    DUMP("DnsResponses", c->responses);
    char n[64];
    for (int i = 0; i < 6; i++) {
        snprintf(n, sizeof(n), "DnsRcode%s", rc[i]);
        DUMP(n, c->rcode[i]);
    }
    DUMP("DnsRcodeBadVers", c->badvers);
    for (int i = 1; i < DNS_PARSE__COUNT; i++) {
        snprintf(n, sizeof(n), "Dns%s", dns_parse_status_name((enum dns_parse_status)i));
        DUMP(n, c->parse[i]);
    }
    DUMP("DnsNoData", c->nodata);
    DUMP("DnsReferrals", c->referral);
    DUMP("DnsWildcard", c->wildcard);
    DUMP("DnsTruncated", c->truncated);
    DUMP("DnsNoAdditional", c->no_additional);
    DUMP("DnsEdns", c->edns);
    DUMP("DnsRefusedClass", c->refused_class);
    DUMP("DnsNotImpQtype", c->notimp_qtype);
#undef DUMP
}
