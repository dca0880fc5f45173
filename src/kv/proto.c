/* SPDX-License-Identifier: MIT */
/*
 * kv/proto.c - memcached text protocol, one connection (see proto.h).
 *
 * Tokenising follows memcached's proto_text.c: tokens are separated by
 * single spaces (runs collapse), a line ends at '\n' with an optional '\r'
 * before it, and the reply strings are the ones memcached sends. Numbers are
 * parsed strictly from (pointer, length) pairs, so a command line is parsed
 * in place in the receive buffer without copying or writing to it.
 *
 * Hot path: kv_conn_input -> line_in_place -> do_line -> cmd_get (one lookup
 * per key, the value queued by reference) / cmd_store -> data state (value
 * bytes copied straight into the new item).
 */
#include "kv/proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOKENS 24 /* as memcached: more tokens make most commands ERROR */

struct tok {
    const char *p;
    uint32_t len;
};

struct ent {
    uint32_t kind;
    uint32_t len;
    uint64_t off; /* COPY: offset in obuf; ITEM: arena offset */
    struct kv_item *it;
};

enum state { S_LINE, S_DATA, S_SWALLOW };

/* a pending meta-set reply: flags to echo once the data block is stored */
struct meta_ret {
    int quiet, ret_cas, ret_key;
    struct tok opaque;
    char obuf[40];
};

struct kv_conn {
    struct kv_store *st;
    struct kv_stats *stats;
    const struct kv_server_info *info;
    enum state state;
    enum kv_close closing;
    /* partial command line */
    char *lbuf;
    uint32_t llen, lcap;
    /* data block of a storage command */
    struct kv_item *item;
    uint32_t dgot, dneed;
    enum kv_op op;
    uint64_t cas_in;
    int noreply;
    int meta; /* ms: reply in meta form */
    struct meta_ret mret;
    uint64_t swallow;
    /* reply queue */
    struct ent *ents;
    uint32_t ehead, etail, ecap;
    uint8_t *obuf;
    uint32_t olen, ocap;
    uint64_t obytes; /* queued COPY bytes */
};

/* --- reply queue ------------------------------------------------------------ */

static int out_bytes(struct kv_conn *c, const void *p, uint32_t n)
{
    if (!n) return 0;
    if (c->olen + (uint64_t)n > c->ocap) {
        uint64_t cap = c->ocap ? c->ocap : 4096;
        while (cap < c->olen + (uint64_t)n) cap *= 2;
        if (cap > UINT32_MAX) goto nomem;
        uint8_t *b = realloc(c->obuf, cap);
        if (!b) goto nomem;
        c->obuf = b;
        c->ocap = (uint32_t)cap;
    }
    struct ent *last = c->etail > c->ehead ? &c->ents[c->etail - 1] : NULL;
    if (last && last->kind == KV_OUT_COPY && last->off + last->len == c->olen) {
        last->len += n;
    } else {
        if (c->etail == c->ecap) {
            uint32_t cap = c->ecap ? c->ecap * 2 : 64;
            struct ent *e = realloc(c->ents, cap * sizeof(*e));
            if (!e) goto nomem;
            c->ents = e;
            c->ecap = cap;
        }
        c->ents[c->etail++] = (struct ent){ KV_OUT_COPY, n, c->olen, NULL };
    }
    memcpy(c->obuf + c->olen, p, n);
    c->olen += n;
    c->obytes += n;
    return 0;
nomem:
    c->closing = KV_CLOSE_NOMEM;
    return -1;
}

static int out_str(struct kv_conn *c, const char *s) { return out_bytes(c, s, (uint32_t)strlen(s)); }

/* A reply line (memcached's out_string): suppressed under noreply. */
static void reply(struct kv_conn *c, const char *s)
{
    if (c->noreply) return;
    out_str(c, s);
    out_bytes(c, "\r\n", 2);
}

/* Queue an item's value + CRLF; the reference passes to the queue. Small
 * values (up to info->copy_max bytes) are copied into the reply buffer and
 * the reference dropped at once: they join the preceding header bytes in one
 * COPY piece. Larger ones are queued by reference (ITEM, zero-copy). */
static int out_item(struct kv_conn *c, struct kv_item *it)
{
    uint32_t vlen = it->nbytes + 2;
    if (c->info && vlen <= c->info->copy_max) {
        int r = out_bytes(c, (const uint8_t *)kv_store_base(c->st) + kv_item_value_off(c->st, it),
                          vlen);
        kv_release(c->st, it);
        return r;
    }
    if (c->etail == c->ecap) {
        uint32_t cap = c->ecap ? c->ecap * 2 : 64;
        struct ent *e = realloc(c->ents, cap * sizeof(*e));
        if (!e) {
            kv_release(c->st, it);
            c->closing = KV_CLOSE_NOMEM;
            return -1;
        }
        c->ents = e;
        c->ecap = cap;
    }
    c->ents[c->etail++] =
        (struct ent){ KV_OUT_ITEM, it->nbytes + 2, kv_item_value_off(c->st, it), it };
    return 0;
}

/* Roll the queue back to a mark (a failed multi-get), releasing items. */
static void out_rollback(struct kv_conn *c, uint32_t etail, uint32_t olen, uint64_t obytes)
{
    for (uint32_t i = etail; i < c->etail; i++)
        if (c->ents[i].kind == KV_OUT_ITEM) kv_release(c->st, c->ents[i].it);
    c->etail = etail;
    if (etail > c->ehead && c->ents[etail - 1].kind == KV_OUT_COPY) {
        struct ent *e = &c->ents[etail - 1];
        if (e->off + e->len > olen) e->len = (uint32_t)(olen - e->off);
    }
    c->olen = olen;
    c->obytes = obytes;
}

/* Move what is still queued to the front of both buffers. */
static void out_compact(struct kv_conn *c)
{
    if (c->ehead == c->etail) {
        c->ehead = c->etail = 0;
        c->olen = 0;
        return;
    }
    if (c->ehead == 0) return;
    uint64_t base = c->olen;
    for (uint32_t i = c->ehead; i < c->etail; i++)
        if (c->ents[i].kind == KV_OUT_COPY) {
            base = c->ents[i].off;
            break;
        }
    memmove(c->ents, c->ents + c->ehead, (c->etail - c->ehead) * sizeof(*c->ents));
    c->etail -= c->ehead;
    c->ehead = 0;
    if (base) {
        memmove(c->obuf, c->obuf + base, c->olen - base);
        c->olen -= (uint32_t)base;
        for (uint32_t i = 0; i < c->etail; i++)
            if (c->ents[i].kind == KV_OUT_COPY) c->ents[i].off -= base;
    }
}

int kv_conn_out_peek(struct kv_conn *c, struct kv_out *o)
{
    if (c->ehead == c->etail) return 0;
    const struct ent *e = &c->ents[c->ehead];
    o->kind = e->kind;
    o->len = e->len;
    o->it = e->it;
    o->off = e->off;
    o->p = e->kind == KV_OUT_COPY ? c->obuf + e->off
                                  : (const uint8_t *)kv_store_base(c->st) + e->off;
    return 1;
}

void kv_conn_out_consume(struct kv_conn *c, uint32_t n)
{
    if (c->ehead == c->etail) return;
    struct ent *e = &c->ents[c->ehead];
    if (n > e->len) n = e->len;
    e->off += n;
    e->len -= n;
    if (e->kind == KV_OUT_COPY) c->obytes -= n;
    if (e->len == 0) {
        if (e->kind == KV_OUT_ITEM) kv_release(c->st, e->it);
        c->ehead++;
    }
}

struct kv_item *kv_conn_out_take(struct kv_conn *c, uint32_t n)
{
    if (c->ehead == c->etail) return NULL;
    struct ent *e = &c->ents[c->ehead];
    if (e->kind != KV_OUT_ITEM) return NULL;
    struct kv_item *it = e->it;
    if (n < e->len) { /* part of the value: the caller gets a reference of its own */
        kv_ref(it);
        e->off += n;
        e->len -= n;
        return it;
    }
    c->ehead++; /* the whole rest: the piece's reference passes to the caller */
    return it;
}

uint32_t kv_conn_out_pending(const struct kv_conn *c, uint64_t *bytes)
{
    if (bytes) *bytes = c->obytes;
    return c->etail - c->ehead;
}

size_t kv_conn_drain(struct kv_conn *c, char *buf, size_t cap)
{
    size_t total = 0;
    struct kv_out o;
    while (kv_conn_out_peek(c, &o)) {
        if (buf && total < cap) memcpy(buf + total, o.p, o.len < cap - total ? o.len : cap - total);
        total += o.len;
        kv_conn_out_consume(c, o.len);
    }
    out_compact(c);
    return total;
}

/* --- lifecycle ------------------------------------------------------------------ */

struct kv_conn *kv_conn_new(struct kv_store *st, const struct kv_server_info *info)
{
    struct kv_conn *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->st = st;
    c->stats = kv_store_stats(st);
    c->info = info;
    return c;
}

void kv_conn_free(struct kv_conn *c)
{
    if (!c) return;
    for (uint32_t i = c->ehead; i < c->etail; i++)
        if (c->ents[i].kind == KV_OUT_ITEM) kv_release(c->st, c->ents[i].it);
    if (c->item) kv_release(c->st, c->item);
    free(c->ents);
    free(c->obuf);
    free(c->lbuf);
    free(c);
}

enum kv_close kv_conn_closing(const struct kv_conn *c) { return c->closing; }
int kv_conn_mid_command(const struct kv_conn *c) { return c->state != S_LINE || c->llen > 0; }

/* --- parsing helpers -------------------------------------------------------------- */

static uint32_t tokenize(const char *p, uint32_t n, struct tok *t, uint32_t max, uint32_t *rest)
{
    uint32_t nt = 0, i = 0;
    while (i < n) {
        while (i < n && p[i] == ' ') i++;
        if (i == n) break;
        if (nt == max) break;
        uint32_t s = i;
        while (i < n && p[i] != ' ') i++;
        t[nt].p = p + s;
        t[nt].len = i - s;
        nt++;
    }
    if (rest) *rest = i;
    return nt;
}

static int teq(const struct tok *t, const char *s)
{
    size_t n = strlen(s);
    return t->len == n && memcmp(t->p, s, n) == 0;
}

/* Unsigned decimal, no sign, no spaces, at most max. */
static int parse_u64(const struct tok *t, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (t->len == 0 || t->len > 20) return -1;
    for (uint32_t i = 0; i < t->len; i++) {
        if (t->p[i] < '0' || t->p[i] > '9') return -1;
        uint64_t d = (uint64_t)(t->p[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    if (v > max) return -1;
    *out = v;
    return 0;
}

/* Signed 32-bit decimal (memcached's safe_strtol). */
static int parse_i32(const struct tok *t, int64_t *out)
{
    struct tok u = *t;
    int neg = 0;
    if (u.len && u.p[0] == '-') {
        neg = 1;
        u.p++;
        u.len--;
    }
    uint64_t v;
    if (parse_u64(&u, neg ? 2147483648ull : 2147483647ull, &v) < 0) return -1;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

/* A key: 1..250 bytes without spaces or newlines (the tokenizer sees to
 * those). protocol.txt also forbids control characters, but memcached does
 * not check and real clients send them (memcaslap's keys start with 0x10):
 * rejected only with kv_server_info.strict_keys. */
static int key_ok(const struct kv_conn *c, const struct tok *t)
{
    if (t->len == 0 || t->len > KV_KEY_MAX) return 0;
    if (!c->info || !c->info->strict_keys) return 1;
    for (uint32_t i = 0; i < t->len; i++) {
        unsigned char ch = (unsigned char)t->p[i];
        if (ch < 0x21 || ch == 0x7f) return 0;
    }
    return 1;
}

static void bad_format(struct kv_conn *c)
{
    c->stats->err_bad_format++;
    reply(c, "CLIENT_ERROR bad command line format");
}

/* noreply as the last token (memcached's set_noreply_maybe). */
static void noreply_maybe(struct kv_conn *c, const struct tok *t, uint32_t nt)
{
    if (nt > 1 && teq(&t[nt - 1], "noreply")) c->noreply = 1;
}

/* --- retrieval -------------------------------------------------------------------- */

static void cmd_get(struct kv_conn *c, const char *line, uint32_t n, int cas, int touch,
                    int64_t now)
{
    struct tok t[2];
    uint32_t rest, nt = tokenize(line, n, t, touch ? 2 : 1, &rest); /* the command (+exptime) */
    int64_t exptime = 0;
    if (touch) {
        int64_t v;
        if (nt < 2 || parse_i32(&t[1], &v) < 0) {
            c->stats->err_bad_format++;
            reply(c, "CLIENT_ERROR invalid exptime argument");
            return;
        }
        exptime = kv_exptime(now, v);
    }
    uint32_t m_etail = c->etail, m_olen = c->olen;
    uint64_t m_obytes = c->obytes;
    const char *p = line + rest;
    uint32_t left = n - rest;
    for (;;) {
        struct tok k;
        uint32_t used, got = tokenize(p, left, &k, 1, &used);
        if (!got) break;
        p += used;
        left -= used;
        if (!key_ok(c, &k)) {
            out_rollback(c, m_etail, m_olen, m_obytes);
            c->stats->err_key_too_long += k.len > KV_KEY_MAX;
            bad_format(c);
            return;
        }
        int why = 0;
        struct kv_item *it;
        if (touch) {
            c->stats->cmd_touch++;
            /* memcached's item_touch: the item found is returned, then
             * carries the new exptime (a past one expires it afterwards) */
            it = kv_get(c->st, k.p, k.len, now, &why);
            if (it) {
                it->exptime = exptime;
                c->stats->touch_hits++;
            } else {
                c->stats->touch_misses++;
            }
        } else {
            c->stats->cmd_get++;
            it = kv_get(c->st, k.p, k.len, now, &why);
            if (it)
                c->stats->get_hits++;
            else {
                c->stats->get_misses++;
                c->stats->get_expired += why == 1;
                c->stats->get_flushed += why == 2;
            }
        }
        if (!it) continue;
        char hdr[KV_KEY_MAX + 80];
        int hl = cas ? snprintf(hdr, sizeof(hdr), "VALUE %.*s %u %u %llu\r\n", (int)k.len, k.p,
                                it->flags, it->nbytes, (unsigned long long)it->cas)
                     : snprintf(hdr, sizeof(hdr), "VALUE %.*s %u %u\r\n", (int)k.len, k.p,
                                it->flags, it->nbytes);
        if (out_bytes(c, hdr, (uint32_t)hl) < 0) {
            kv_release(c->st, it);
            return;
        }
        if (out_item(c, it) < 0) return; /* it released the reference */
    }
    out_str(c, "END\r\n");
}

/* --- storage ------------------------------------------------------------------------ */

static void start_data(struct kv_conn *c, struct kv_item *it, enum kv_op op, uint64_t cas_in)
{
    c->item = it;
    c->op = op;
    c->cas_in = cas_in;
    c->dgot = 0;
    c->dneed = it->nbytes + 2;
    c->state = S_DATA;
}

/* Allocation failed: the reply, then swallow the data block (memcached's
 * conn_swallow); a failed set also drops the old value. */
static void store_failed(struct kv_conn *c, enum kv_status why, enum kv_op op, const struct tok *key,
                         uint64_t vlen, int64_t now)
{
    if (why == KV_TOO_LARGE)
        reply(c, "SERVER_ERROR object too large for cache");
    else
        reply(c, "SERVER_ERROR out of memory storing object");
    if (op == KV_SET) kv_delete(c->st, key->p, key->len, now);
    c->swallow = vlen + 2;
    c->state = S_SWALLOW;
}

static void cmd_store(struct kv_conn *c, const struct tok *t, uint32_t nt, enum kv_op op,
                      int64_t now)
{
    noreply_maybe(c, t, nt);
    uint64_t flags, cas_in = 0;
    int64_t exptime, vlen;
    if (!key_ok(c, &t[1])) {
        c->stats->err_key_too_long += t[1].len > KV_KEY_MAX;
        bad_format(c);
        return;
    }
    if (parse_u64(&t[2], UINT32_MAX, &flags) < 0 || parse_i32(&t[3], &exptime) < 0 ||
        parse_i32(&t[4], &vlen) < 0 || vlen < 0 ||
        (op == KV_CAS && parse_u64(&t[5], UINT64_MAX, &cas_in) < 0)) {
        bad_format(c);
        return;
    }
    enum kv_status why;
    struct kv_item *it = kv_alloc(c->st, t[1].p, t[1].len, (uint32_t)flags,
                                  kv_exptime(now, exptime), (uint32_t)vlen, now, &why);
    if (!it) {
        store_failed(c, why, op, &t[1], (uint64_t)vlen, now);
        return;
    }
    c->meta = 0;
    start_data(c, it, op, cas_in);
}

static void meta_set_reply(struct kv_conn *c, enum kv_status s);

static void finish_data(struct kv_conn *c, int64_t now)
{
    struct kv_item *it = c->item;
    c->item = NULL;
    c->state = S_LINE;
    c->stats->cmd_set++;
    if (memcmp(kv_item_value(it) + it->nbytes, "\r\n", 2) != 0) {
        c->stats->err_bad_chunk++;
        if (c->meta) c->noreply = 0; /* memcached: meta errors always answer */
        reply(c, "CLIENT_ERROR bad data chunk");
        kv_release(c->st, it);
        return;
    }
    enum kv_status s = kv_store_item(c->st, it, c->op, c->cas_in, now);
    kv_release(c->st, it);
    if (c->meta) {
        meta_set_reply(c, s);
        return;
    }
    switch (s) {
    case KV_STORED:
        reply(c, "STORED");
        break;
    case KV_EXISTS:
        reply(c, "EXISTS");
        break;
    case KV_NOT_FOUND:
        reply(c, "NOT_FOUND");
        break;
    default:
        reply(c, "NOT_STORED");
        break;
    }
    c->noreply = 0;
}

/* --- other classic commands ------------------------------------------------------------ */

static void cmd_delete(struct kv_conn *c, const struct tok *t, uint32_t nt, int64_t now)
{
    if (nt > 2) {
        int hold_zero = teq(&t[2], "0");
        noreply_maybe(c, t, nt);
        int valid = (nt == 3 && (hold_zero || c->noreply)) || (nt == 4 && hold_zero && c->noreply);
        if (!valid) {
            c->stats->err_bad_format++;
            reply(c, "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]");
            return;
        }
    }
    if (!key_ok(c, &t[1])) {
        c->stats->err_key_too_long += t[1].len > KV_KEY_MAX;
        bad_format(c);
        return;
    }
    reply(c, kv_delete(c->st, t[1].p, t[1].len, now) == KV_DELETED ? "DELETED" : "NOT_FOUND");
}

static void cmd_arith(struct kv_conn *c, const struct tok *t, uint32_t nt, int incr, int64_t now)
{
    noreply_maybe(c, t, nt);
    if (!key_ok(c, &t[1])) {
        c->stats->err_key_too_long += t[1].len > KV_KEY_MAX;
        bad_format(c);
        return;
    }
    uint64_t delta, v;
    if (parse_u64(&t[2], UINT64_MAX, &delta) < 0) {
        c->stats->err_bad_format++;
        reply(c, "CLIENT_ERROR invalid numeric delta argument");
        return;
    }
    char buf[24];
    switch (kv_arith(c->st, t[1].p, t[1].len, incr, delta, now, &v)) {
    case KV_OK:
        snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
        reply(c, buf);
        break;
    case KV_NON_NUMERIC:
        c->stats->err_non_numeric++;
        reply(c, "CLIENT_ERROR cannot increment or decrement non-numeric value");
        break;
    case KV_NO_MEMORY:
        reply(c, "SERVER_ERROR out of memory");
        break;
    default:
        reply(c, "NOT_FOUND");
        break;
    }
}

static void cmd_touch(struct kv_conn *c, const struct tok *t, uint32_t nt, int64_t now)
{
    noreply_maybe(c, t, nt);
    if (!key_ok(c, &t[1])) {
        c->stats->err_key_too_long += t[1].len > KV_KEY_MAX;
        bad_format(c);
        return;
    }
    int64_t v;
    if (parse_i32(&t[2], &v) < 0) {
        c->stats->err_bad_format++;
        reply(c, "CLIENT_ERROR invalid exptime argument");
        return;
    }
    c->stats->cmd_touch++;
    reply(c, kv_touch(c->st, t[1].p, t[1].len, kv_exptime(now, v), now) == KV_TOUCHED
                 ? "TOUCHED"
                 : "NOT_FOUND");
}

static void cmd_flush(struct kv_conn *c, const struct tok *t, uint32_t nt, int64_t now)
{
    noreply_maybe(c, t, nt);
    c->stats->cmd_flush++;
    int64_t v = 0;
    if (nt != (c->noreply ? 2u : 1u) && parse_i32(&t[1], &v) < 0) {
        c->stats->err_bad_format++;
        reply(c, "CLIENT_ERROR invalid exptime argument");
        return;
    }
    kv_flush_all(c->st, v > 0 ? kv_exptime(now, v) : 0, now);
    reply(c, "OK");
}

static void stat_u64(struct kv_conn *c, const char *name, uint64_t v)
{
    char buf[128];
    int n = snprintf(buf, sizeof(buf), "STAT %s %llu\r\n", name, (unsigned long long)v);
    out_bytes(c, buf, (uint32_t)n);
}
static void stat_str(struct kv_conn *c, const char *name, const char *v)
{
    char buf[160];
    int n = snprintf(buf, sizeof(buf), "STAT %s %s\r\n", name, v);
    out_bytes(c, buf, (uint32_t)n);
}

static void cmd_stats(struct kv_conn *c, const struct tok *t, uint32_t nt, int64_t now)
{
    const struct kv_stats *s = c->stats;
    if (nt == 1) {
        stat_u64(c, "pid", c->info ? c->info->pid : 0);
        stat_u64(c, "uptime", c->info ? (uint64_t)(now - c->info->started) : 0);
        stat_u64(c, "time", (uint64_t)now);
        stat_str(c, "version", KV_VERSION);
        stat_u64(c, "pointer_size", 8 * sizeof(void *));
        stat_u64(c, "curr_connections", s->curr_connections);
        stat_u64(c, "total_connections", s->total_connections);
        stat_u64(c, "rejected_connections", s->rejected_connections);
#define S(name) stat_u64(c, #name, s->name)
        S(cmd_get); S(cmd_set); S(cmd_flush); S(cmd_touch); S(cmd_meta);
        S(get_hits); S(get_misses); S(get_expired); S(get_flushed);
        S(delete_misses); S(delete_hits); S(incr_misses); S(incr_hits);
        S(decr_misses); S(decr_hits); S(cas_misses); S(cas_hits); S(cas_badval);
        S(touch_hits); S(touch_misses); S(store_too_large); S(store_no_memory);
        S(bytes_read); S(bytes_written);
        stat_u64(c, "limit_maxbytes", kv_store_limit(c->st));
        stat_u64(c, "threads", 1);
        S(bytes); S(curr_items); S(total_items); S(expired_unfetched); S(evicted_unfetched);
        S(evictions); S(reclaimed);
        /* ours: zero-copy and the reasons requests were refused */
        S(evict_skipped_ref); S(zombies); S(zombie_bytes); S(pages_moved);
        S(pages_balanced); S(slab_reassign_rescues);
        S(zc_sends); S(zc_bytes); S(err_unknown_command); S(err_bad_format);
        S(err_bad_chunk); S(err_key_too_long); S(err_non_numeric); S(conn_line_too_long);
        S(conn_aborted);
#undef S
    } else if (teq(&t[1], "reset")) {
        struct kv_stats *w = c->stats;
        uint64_t *first = &w->cmd_get, *last = &w->conn_line_too_long;
        memset(first, 0, (size_t)(last - first + 1) * sizeof(uint64_t));
        w->total_items = w->evictions = w->reclaimed = w->total_connections = 0;
        w->bytes_read = w->bytes_written = w->zc_sends = w->zc_bytes = 0;
        reply(c, "RESET");
        return;
    } else if (teq(&t[1], "settings")) {
        stat_u64(c, "maxbytes", kv_store_limit(c->st));
        stat_u64(c, "maxconns", c->info ? c->info->maxconns : 0);
        stat_str(c, "evictions", "on");
        stat_u64(c, "item_size_max", kv_store_value_max(c->st));
        stat_u64(c, "slab_page_size", kv_store_page_size(c->st));
        stat_str(c, "cas_enabled", "yes");
        stat_str(c, "binding_protocol", "ascii");
        stat_u64(c, "num_threads", 1);
    } else if (teq(&t[1], "slabs")) {
        unsigned active = 0;
        for (unsigned i = 0; i < kv_store_classes(c->st); i++) {
            uint32_t size, pages;
            uint64_t used;
            kv_store_class_info(c->st, i, &size, &pages, &used);
            if (!pages) continue;
            active++;
            char name[48];
            snprintf(name, sizeof(name), "%u:chunk_size", i + 1);
            stat_u64(c, name, size);
            snprintf(name, sizeof(name), "%u:total_pages", i + 1);
            stat_u64(c, name, pages);
            snprintf(name, sizeof(name), "%u:used_chunks", i + 1);
            stat_u64(c, name, used);
        }
        stat_u64(c, "active_slabs", active);
    } else {
        c->stats->err_unknown_command++;
        reply(c, "ERROR");
        return;
    }
    out_str(c, "END\r\n");
}

/* --- meta commands (protocol.txt "Meta Commands"; a subset of flags) ----------------------- */

struct mflags {
    int quiet, ret_val, ret_key, ret_flags, ret_ttl, ret_cas, ret_size, has_ttl, has_cas,
        has_flags, has_delta, has_init, has_viv;
    char mode;
    int64_t ttl, viv_ttl;
    uint64_t cas, flags, delta, init;
    struct tok opaque;
};

/* Flags from token `from` on; each flag once. 0 or -1 after a reply. */
static int meta_flags(struct kv_conn *c, const struct tok *t, uint32_t nt, uint32_t from,
                      const char *allowed, struct mflags *f)
{
    uint8_t seen[128] = { 0 };
    memset(f, 0, sizeof(*f));
    for (uint32_t i = from; i < nt; i++) {
        unsigned char o = (unsigned char)t[i].p[0];
        struct tok a = { t[i].p + 1, t[i].len - 1 };
        if (o >= 128 || seen[o]) {
            c->stats->err_bad_format++;
            reply(c, "CLIENT_ERROR duplicate flag");
            return -1;
        }
        seen[o] = 1;
        if (!strchr(allowed, o)) goto bad;
        int64_t v;
        switch (o) {
        case 'q': f->quiet = 1; break;
        case 'v': f->ret_val = 1; break;
        case 'k': f->ret_key = 1; break;
        case 'f': f->ret_flags = 1; break;
        case 't': f->ret_ttl = 1; break;
        case 'c': f->ret_cas = 1; break;
        case 's': f->ret_size = 1; break;
        case 'O':
            if (a.len > 32) goto bad;
            f->opaque = a;
            break;
        case 'T':
            if (parse_i32(&a, &v) < 0) goto bad;
            f->ttl = v;
            f->has_ttl = 1;
            break;
        case 'N':
            if (parse_i32(&a, &v) < 0) goto bad;
            f->viv_ttl = v;
            f->has_viv = 1;
            break;
        case 'C':
            if (parse_u64(&a, UINT64_MAX, &f->cas) < 0) goto bad;
            f->has_cas = 1;
            break;
        case 'F':
            if (parse_u64(&a, UINT32_MAX, &f->flags) < 0) goto bad;
            f->has_flags = 1;
            break;
        case 'D':
            if (parse_u64(&a, UINT64_MAX, &f->delta) < 0) goto bad;
            f->has_delta = 1;
            break;
        case 'J':
            if (parse_u64(&a, UINT64_MAX, &f->init) < 0) goto bad;
            f->has_init = 1;
            break;
        case 'M':
            if (a.len != 1) goto bad;
            f->mode = a.p[0];
            break;
        default:
            goto bad;
        }
    }
    return 0;
bad:
    c->stats->err_bad_format++;
    reply(c, "CLIENT_ERROR invalid flag");
    return -1;
}

/* " O<opaque>" and " k<key>" return flags. */
static void meta_tail(struct kv_conn *c, const struct mflags *f, const struct tok *key)
{
    if (f->opaque.len) {
        out_bytes(c, " O", 2);
        out_bytes(c, f->opaque.p, f->opaque.len);
    }
    if (f->ret_key) {
        out_bytes(c, " k", 2);
        out_bytes(c, key->p, key->len);
    }
}

static void meta_code(struct kv_conn *c, const char *code, const struct mflags *f,
                      const struct tok *key)
{
    out_str(c, code);
    meta_tail(c, f, key);
    out_bytes(c, "\r\n", 2);
}

static void cmd_mg(struct kv_conn *c, const struct tok *t, uint32_t nt, int64_t now)
{
    struct mflags f;
    if (meta_flags(c, t, nt, 2, "qvkftcsOT", &f) < 0) return;
    int why;
    struct kv_item *it;
    c->stats->cmd_get++;
    if (f.has_ttl) {
        c->stats->cmd_touch++;
        kv_touch(c->st, t[1].p, t[1].len, kv_exptime(now, f.ttl), now);
    }
    it = kv_get(c->st, t[1].p, t[1].len, now, &why);
    if (!it) {
        c->stats->get_misses++;
        if (!f.quiet) meta_code(c, "EN", &(struct mflags){ .opaque = f.opaque, .ret_key = f.ret_key }, &t[1]);
        return;
    }
    c->stats->get_hits++;
    char buf[96];
    int n = f.ret_val ? snprintf(buf, sizeof(buf), "VA %u", it->nbytes) : snprintf(buf, sizeof(buf), "HD");
    out_bytes(c, buf, (uint32_t)n);
    for (uint32_t i = 2; i < nt; i++) {
        n = 0;
        switch (t[i].p[0]) {
        case 'f': n = snprintf(buf, sizeof(buf), " f%u", it->flags); break;
        case 't':
            n = snprintf(buf, sizeof(buf), " t%lld",
                         it->exptime ? (long long)(it->exptime - now) : -1LL);
            break;
        case 'c': n = snprintf(buf, sizeof(buf), " c%llu", (unsigned long long)it->cas); break;
        case 's': n = snprintf(buf, sizeof(buf), " s%u", it->nbytes); break;
        default: break;
        }
        out_bytes(c, buf, (uint32_t)n);
    }
    meta_tail(c, &f, &t[1]);
    out_bytes(c, "\r\n", 2);
    if (f.ret_val)
        out_item(c, it);
    else
        kv_release(c->st, it);
}

static void meta_set_reply(struct kv_conn *c, enum kv_status s)
{
    const char *code = s == KV_STORED ? "HD" : s == KV_EXISTS ? "EX" : s == KV_NOT_FOUND ? "NF" : "NS";
    if (s == KV_STORED && c->mret.quiet) return;
    out_str(c, code);
    if (c->mret.ret_cas && s == KV_STORED) out_str(c, c->mret.obuf); /* " c<cas>" */
    if (c->mret.opaque.len) {
        out_bytes(c, " O", 2);
        out_bytes(c, c->mret.opaque.p, c->mret.opaque.len);
    }
    out_bytes(c, "\r\n", 2);
}

static void cmd_ms(struct kv_conn *c, const struct tok *t, uint32_t nt, int64_t now)
{
    struct mflags f;
    int64_t vlen;
    if (nt < 3 || parse_i32(&t[2], &vlen) < 0 || vlen < 0) {
        bad_format(c);
        return;
    }
    if (meta_flags(c, t, nt, 3, "qcOTCFMI", &f) < 0) return;
    enum kv_op op = KV_SET;
    switch (f.mode) {
    case 0: case 'S': case 's': op = f.has_cas ? KV_CAS : KV_SET; break;
    case 'E': case 'e': op = KV_ADD; break;
    case 'A': case 'a': op = KV_APPEND; break;
    case 'P': case 'p': op = KV_PREPEND; break;
    case 'R': case 'r': op = KV_REPLACE; break;
    default:
        c->stats->err_bad_format++;
        reply(c, "CLIENT_ERROR invalid mode for ms");
        c->swallow = (uint64_t)vlen + 2;
        c->state = S_SWALLOW;
        return;
    }
    enum kv_status why;
    struct kv_item *it = kv_alloc(c->st, t[1].p, t[1].len, (uint32_t)f.flags,
                                  kv_exptime(now, f.ttl), (uint32_t)vlen, now, &why);
    if (!it) {
        store_failed(c, why, op, &t[1], (uint64_t)vlen, now);
        return;
    }
    /* The opaque points into the command line, which is gone once the data
     * block arrives: keep a copy. */
    memset(&c->mret, 0, sizeof(c->mret));
    c->mret.quiet = f.quiet;
    c->mret.ret_cas = f.ret_cas;
    if (f.opaque.len) {
        memcpy(c->mret.obuf, f.opaque.p, f.opaque.len);
        c->mret.opaque = (struct tok){ c->mret.obuf, f.opaque.len };
    }
    c->meta = 1;
    start_data(c, it, op, f.cas);
}

static void cmd_md(struct kv_conn *c, const struct tok *t, uint32_t nt, int64_t now)
{
    struct mflags f;
    if (meta_flags(c, t, nt, 2, "qOkC", &f) < 0) return;
    if (f.has_cas) {
        struct kv_item *it = kv_get(c->st, t[1].p, t[1].len, now, NULL);
        if (it && it->cas != f.cas) {
            kv_release(c->st, it);
            meta_code(c, "EX", &f, &t[1]);
            return;
        }
        if (it) kv_release(c->st, it);
    }
    if (kv_delete(c->st, t[1].p, t[1].len, now) == KV_DELETED) {
        if (!f.quiet) meta_code(c, "HD", &f, &t[1]);
    } else {
        meta_code(c, "NF", &f, &t[1]);
    }
}

static void cmd_ma(struct kv_conn *c, const struct tok *t, uint32_t nt, int64_t now)
{
    struct mflags f;
    if (meta_flags(c, t, nt, 2, "qOkvtcNJDM", &f) < 0) return;
    int incr = 1;
    if (f.mode == 'D' || f.mode == 'd' || f.mode == '-')
        incr = 0;
    else if (f.mode && f.mode != 'I' && f.mode != 'i' && f.mode != '+') {
        c->stats->err_bad_format++;
        reply(c, "CLIENT_ERROR invalid mode for ma");
        return;
    }
    uint64_t delta = f.has_delta ? f.delta : 1, v = 0;
    enum kv_status s = kv_arith(c->st, t[1].p, t[1].len, incr, delta, now, &v);
    if (s == KV_NOT_FOUND && f.has_viv) { /* autovivify with J (default 0) */
        char buf[24];
        int n = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)f.init);
        enum kv_status w;
        struct kv_item *it = kv_alloc(c->st, t[1].p, t[1].len, 0, kv_exptime(now, f.viv_ttl),
                                      (uint32_t)n, now, &w);
        if (it) {
            memcpy(kv_item_value(it), buf, (size_t)n);
            s = kv_store_item(c->st, it, KV_ADD, 0, now) == KV_STORED ? KV_OK : KV_NOT_STORED;
            kv_release(c->st, it);
            v = f.init;
        } else {
            s = KV_NO_MEMORY;
        }
    }
    switch (s) {
    case KV_OK: {
        if (f.quiet && !f.ret_val) return;
        char buf[64];
        int n = 0, len = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
        char hdr[64];
        n = f.ret_val ? snprintf(hdr, sizeof(hdr), "VA %d", len) : snprintf(hdr, sizeof(hdr), "HD");
        out_bytes(c, hdr, (uint32_t)n);
        if (f.ret_cas || f.ret_ttl) {
            struct kv_item *it = kv_get(c->st, t[1].p, t[1].len, now, NULL);
            if (it) {
                if (f.ret_ttl)
                    n = snprintf(hdr, sizeof(hdr), " t%lld",
                                 it->exptime ? (long long)(it->exptime - now) : -1LL),
                    out_bytes(c, hdr, (uint32_t)n);
                if (f.ret_cas)
                    n = snprintf(hdr, sizeof(hdr), " c%llu", (unsigned long long)it->cas),
                    out_bytes(c, hdr, (uint32_t)n);
                kv_release(c->st, it);
            }
        }
        meta_tail(c, &f, &t[1]);
        out_bytes(c, "\r\n", 2);
        if (f.ret_val) {
            out_bytes(c, buf, (uint32_t)len);
            out_bytes(c, "\r\n", 2);
        }
        break;
    }
    case KV_NOT_FOUND:
        meta_code(c, "NF", &f, &t[1]);
        break;
    case KV_NON_NUMERIC:
        c->stats->err_non_numeric++;
        reply(c, "CLIENT_ERROR cannot increment or decrement non-numeric value");
        break;
    case KV_NO_MEMORY:
        reply(c, "SERVER_ERROR out of memory");
        break;
    default:
        meta_code(c, "NS", &f, &t[1]);
        break;
    }
}

static void cmd_me(struct kv_conn *c, const struct tok *t, int64_t now)
{
    struct kv_item *it = kv_get(c->st, t[1].p, t[1].len, now, NULL);
    if (!it) {
        reply(c, "EN");
        return;
    }
    char buf[KV_KEY_MAX + 160];
    int n = snprintf(buf, sizeof(buf), "ME %.*s exp=%lld la=%lld cas=%llu fetch=%s cls=%u size=%u\r\n",
                     (int)t[1].len, t[1].p, it->exptime ? (long long)(it->exptime - now) : -1LL,
                     (long long)(now - kv_item_atime(it)), (unsigned long long)it->cas,
                     it->fetched ? "yes" : "no", it->cls + 1u,
                     (unsigned)(sizeof(struct kv_item) + it->nkey + it->nbytes + 2));
    out_bytes(c, buf, (uint32_t)n);
    kv_release(c->st, it);
}

static void cmd_meta(struct kv_conn *c, const struct tok *t, uint32_t nt, int64_t now)
{
    c->stats->cmd_meta++;
    char w = t[0].p[1];
    if (w == 'n') {
        out_str(c, "MN\r\n");
        return;
    }
    if (w != 'g' && w != 's' && w != 'd' && w != 'a' && w != 'e') {
        c->stats->err_unknown_command++;
        reply(c, "ERROR");
        return;
    }
    if (nt < 2 || !key_ok(c, &t[1])) {
        c->stats->err_key_too_long += nt >= 2 && t[1].len > KV_KEY_MAX;
        bad_format(c);
        return;
    }
    for (uint32_t i = 2; i < nt; i++)
        if (t[i].p[0] == 'b') { /* base64 keys: not supported */
            c->stats->err_bad_format++;
            reply(c, "CLIENT_ERROR invalid flag");
            return;
        }
    switch (w) {
    case 'g': cmd_mg(c, t, nt, now); break;
    case 's': cmd_ms(c, t, nt, now); break;
    case 'd': cmd_md(c, t, nt, now); break;
    case 'a': cmd_ma(c, t, nt, now); break;
    default: cmd_me(c, t, now); break;
    }
}

/* --- dispatch ---------------------------------------------------------------------------- */

static void unknown(struct kv_conn *c)
{
    c->stats->err_unknown_command++;
    out_str(c, "ERROR\r\n");
}

/* One command line (without its line end). */
static void do_line(struct kv_conn *c, const char *line, uint32_t n, int64_t now)
{
    struct tok t[MAX_TOKENS];
    uint32_t rest, nt = tokenize(line, n, t, MAX_TOKENS - 1, &rest);
    int more = rest < n; /* tokens beyond MAX_TOKENS - 1 */
    c->noreply = 0;
    if (nt == 0 || t[0].len < 2) {
        unknown(c);
        return;
    }
    const struct tok *cmd = &t[0];
    if (cmd->p[0] == 'm' && cmd->len == 2) {
        if (more) {
            bad_format(c);
            return;
        }
        cmd_meta(c, t, nt, now);
    } else if (teq(cmd, "get") || teq(cmd, "bget")) {
        if (nt < 2) return unknown(c);
        cmd_get(c, line, n, 0, 0, now);
    } else if (teq(cmd, "gets")) {
        if (nt < 2) return unknown(c);
        cmd_get(c, line, n, 1, 0, now);
    } else if (teq(cmd, "gat") || teq(cmd, "gats")) {
        if (nt < 3) return unknown(c);
        cmd_get(c, line, n, cmd->len == 4, 1, now);
    } else if (more) {
        unknown(c);
    } else if (teq(cmd, "set") || teq(cmd, "add") || teq(cmd, "replace") || teq(cmd, "append") ||
               teq(cmd, "prepend")) {
        if (nt != 5 && nt != 6) return unknown(c);
        enum kv_op op = cmd->p[0] == 's'   ? KV_SET
                        : cmd->p[0] == 'r' ? KV_REPLACE
                        : teq(cmd, "add")  ? KV_ADD
                        : teq(cmd, "append") ? KV_APPEND
                                             : KV_PREPEND;
        cmd_store(c, t, nt, op, now);
    } else if (teq(cmd, "cas")) {
        if (nt != 6 && nt != 7) return unknown(c);
        cmd_store(c, t, nt, KV_CAS, now);
    } else if (teq(cmd, "delete")) {
        if (nt < 2 || nt > 4) return unknown(c);
        cmd_delete(c, t, nt, now);
    } else if (teq(cmd, "incr") || teq(cmd, "decr")) {
        if (nt != 3 && nt != 4) return unknown(c);
        cmd_arith(c, t, nt, cmd->p[0] == 'i', now);
    } else if (teq(cmd, "touch")) {
        if (nt != 3 && nt != 4) return unknown(c);
        cmd_touch(c, t, nt, now);
    } else if (teq(cmd, "stats")) {
        cmd_stats(c, t, nt, now);
    } else if (teq(cmd, "flush_all")) {
        if (nt > 3) return unknown(c);
        cmd_flush(c, t, nt, now);
    } else if (teq(cmd, "version")) {
        out_str(c, "VERSION " KV_VERSION "\r\n");
    } else if (teq(cmd, "verbosity")) {
        if (nt != 2 && nt != 3) return unknown(c);
        noreply_maybe(c, t, nt);
        uint64_t lvl;
        if (parse_u64(&t[1], UINT32_MAX, &lvl) < 0)
            bad_format(c);
        else
            reply(c, "OK");
    } else if (teq(cmd, "quit")) {
        c->closing = KV_CLOSE_QUIT;
    } else if (teq(cmd, "shutdown")) {
        out_str(c, "ERROR: shutdown not enabled\r\n");
    } else {
        unknown(c);
    }
    if (c->state == S_LINE) c->noreply = 0;
}

static int is_get_line(const char *p, uint32_t n)
{
    uint32_t i = 0;
    while (i < n && p[i] == ' ') i++;
    p += i;
    n -= i;
    return (n >= 4 && (memcmp(p, "get ", 4) == 0 || memcmp(p, "gat ", 4) == 0)) ||
           (n >= 5 && (memcmp(p, "gets ", 5) == 0 || memcmp(p, "gats ", 5) == 0));
}

static int line_too_long(struct kv_conn *c, const char *p, uint32_t n)
{
    if (n <= KV_LINE_MAX) return 0;
    if (n <= KV_GETLINE_MAX && is_get_line(p, n)) return 0;
    c->stats->conn_line_too_long++;
    c->closing = KV_CLOSE_LINE;
    return 1;
}

static void run_line(struct kv_conn *c, const char *p, uint32_t n, int64_t now)
{
    if (n && p[n - 1] == '\r') n--;
    do_line(c, p, n, now);
}

size_t kv_conn_input(struct kv_conn *c, const uint8_t *p, size_t n, int64_t now)
{
    size_t i = 0;
    out_compact(c);
    while (i < n && !c->closing) {
        if (c->etail - c->ehead > KV_OUT_ENTS_HIGH || c->obytes > KV_OUT_HIGH) break;
        if (c->state == S_DATA) {
            size_t take = c->dneed - c->dgot;
            if (take > n - i) take = n - i;
            memcpy(kv_item_value(c->item) + c->dgot, p + i, take);
            c->dgot += (uint32_t)take;
            i += take;
            c->stats->bytes_read += take;
            if (c->dgot == c->dneed) finish_data(c, now);
            continue;
        }
        if (c->state == S_SWALLOW) {
            size_t take = c->swallow < n - i ? (size_t)c->swallow : n - i;
            c->swallow -= take;
            i += take;
            c->stats->bytes_read += take;
            if (!c->swallow) {
                c->state = S_LINE;
                c->noreply = 0;
            }
            continue;
        }
        const uint8_t *nl = memchr(p + i, '\n', n - i);
        size_t seg = nl ? (size_t)(nl - (p + i)) : n - i;
        if (c->llen == 0 && nl) { /* the whole line is here: parse in place */
            if (line_too_long(c, (const char *)p + i, (uint32_t)(seg > UINT32_MAX ? UINT32_MAX : seg)))
                break;
            c->stats->bytes_read += seg + 1; /* counted before "stats" may report it */
            run_line(c, (const char *)p + i, (uint32_t)seg, now);
            i += seg + 1;
            continue;
        }
        /* part of a line: collect it (bounded) */
        uint64_t want = (uint64_t)c->llen + seg;
        if (want > KV_GETLINE_MAX) want = KV_GETLINE_MAX + 1;
        if (want > c->lcap) {
            uint32_t cap = c->lcap ? c->lcap : 256;
            while (cap < want) cap *= 2;
            char *b = realloc(c->lbuf, cap);
            if (!b) {
                c->closing = KV_CLOSE_NOMEM;
                break;
            }
            c->lbuf = b;
            c->lcap = cap;
        }
        size_t copy = want - c->llen;
        memcpy(c->lbuf + c->llen, p + i, copy);
        c->llen += (uint32_t)copy;
        i += copy;
        c->stats->bytes_read += copy + (nl && copy == seg);
        if (line_too_long(c, c->lbuf, c->llen)) break;
        if (nl && copy == seg) {
            i++; /* the '\n' */
            uint32_t len = c->llen;
            c->llen = 0;
            run_line(c, c->lbuf, len, now);
        }
    }
    if (c->closing) i = n; /* nothing more is read from this connection */
    return i;
}
