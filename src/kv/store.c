/* SPDX-License-Identifier: MIT */
/*
 * kv/store.c - slab arena, hash table and per-class LRU of axl-kvd (see
 * store.h for the layout and the reference rules).
 *
 * Hash: SipHash-2-4 with a random key per store (keys are chosen by clients;
 * a secret keyed PRF keeps chains short under hostile keys).
 *
 * Call chain: kv/proto.c -> kv_alloc / kv_store_item / kv_get / kv_release /
 * kv_delete / kv_touch / kv_arith / kv_flush_all -> chunk_alloc (free list ->
 * fresh page -> page_balance -> LRU tail eviction -> any movable page) /
 * link / unlink; page_move rescues a moved page's items into free chunks.
 */
#include "kv/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/rand.h"

/** Arena bytes before the first page (offset 0 stays "none"). */
#define ARENA_HDR 64u
#define PAGE_MIN (1u << 20)
#define CHUNK_MIN 96u
#define CHUNK_ALIGN 8u
#define PAGE_NONE 0xffu

struct kv_class {
    uint32_t size;    /* chunk bytes */
    uint32_t perpage; /* chunks per page */
    uint32_t pages;
    uint64_t free_head; /* free list through hnext */
    uint64_t nfree;
    uint64_t used;      /* chunks not free (linked, allocated, zombie) */
    uint64_t lru_head, lru_tail;
};

struct kv_store {
    uint8_t *base;
    size_t size;
    size_t page_size;
    uint32_t npages, pages_used, mover;
    uint8_t *page_cls; /* class of each page, PAGE_NONE while unassigned */
    struct kv_class cls[KV_MAX_CLASSES];
    unsigned ncls;
    uint64_t *htab; /* bucket heads (arena offsets) */
    uint64_t hmask;
    uint8_t hkey[16];
    uint64_t cas;        /* last cas unique handed out */
    uint64_t oldest_cas; /* items with cas <= this are flushed */
    int64_t flush_at;    /* pending delayed flush_all (absolute), 0 = none */
    int64_t stamp_sec;   /* second of the last access stamp */
    uint32_t stamp_seq;  /* stamps handed out in that second */
    uint32_t value_max;
    struct kv_stats stats;
};

/* --- helpers ------------------------------------------------------------------ */

static inline struct kv_item *IT(const struct kv_store *st, uint64_t off)
{
    return off ? (struct kv_item *)(void *)(st->base + off) : NULL;
}
static inline uint64_t OFF(const struct kv_store *st, const struct kv_item *it)
{
    return it ? (uint64_t)((const uint8_t *)it - st->base) : 0;
}
static inline size_t item_total(uint32_t nkey, uint32_t nbytes)
{
    return sizeof(struct kv_item) + nkey + (size_t)nbytes + 2;
}
static inline uint64_t page_off(const struct kv_store *st, uint32_t p)
{
    return ARENA_HDR + (uint64_t)p * st->page_size;
}

int64_t kv_exptime(int64_t now, int64_t v)
{
    if (v == 0) return 0;
    if (v < 0) return 1; /* negative: expired at once (any time <= now) */
    if (v > KV_REL_MAX) return v; /* absolute unix time (may lie in the past) */
    return now + v;
}

static inline int item_dead(const struct kv_store *st, const struct kv_item *it, int64_t now)
{
    if (it->exptime && it->exptime <= now) return 1;
    if (st->oldest_cas && it->cas <= st->oldest_cas) return 2;
    return 0;
}

/* A delayed flush_all takes effect on the first operation at or after its
 * time: everything stored until then is invalidated by cas order. */
static inline void tick(struct kv_store *st, int64_t now)
{
    if (st->flush_at && now >= st->flush_at) {
        st->oldest_cas = st->cas;
        st->flush_at = 0;
    }
}

/* Access stamp: unix seconds << KV_TIME_SHIFT | a sequence within the
 * second (saturating), so LRU tails of different classes compare in access
 * order even within one second. */
static inline int64_t stamp(struct kv_store *st, int64_t now)
{
    if (now != st->stamp_sec) {
        st->stamp_sec = now;
        st->stamp_seq = 0;
    } else if (st->stamp_seq < (1u << KV_TIME_SHIFT) - 1) {
        st->stamp_seq++;
    }
    return (int64_t)((uint64_t)now << KV_TIME_SHIFT) + st->stamp_seq;
}

static uint64_t *bucket(struct kv_store *st, const char *key, uint32_t nkey)
{
    return &st->htab[axl_siphash24(st->hkey, key, nkey) & st->hmask];
}

static unsigned class_for(const struct kv_store *st, size_t total)
{
    unsigned lo = 0, hi = st->ncls; /* first class with size >= total */
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (st->cls[mid].size >= total)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo; /* == ncls: too large */
}

/* --- LRU ---------------------------------------------------------------------------- */

static void lru_remove(struct kv_store *st, struct kv_item *it)
{
    struct kv_class *c = &st->cls[it->cls];
    if (it->prev)
        IT(st, it->prev)->next = it->next;
    else
        c->lru_head = it->next;
    if (it->next)
        IT(st, it->next)->prev = it->prev;
    else
        c->lru_tail = it->prev;
    it->prev = it->next = 0;
}

static void lru_push_head(struct kv_store *st, struct kv_item *it)
{
    struct kv_class *c = &st->cls[it->cls];
    uint64_t off = OFF(st, it);
    it->prev = 0;
    it->next = c->lru_head;
    if (c->lru_head) IT(st, c->lru_head)->prev = off;
    c->lru_head = off;
    if (!c->lru_tail) c->lru_tail = off;
}

/* A use: the item goes to the head of its LRU and `time` becomes the last
 * access (memcached's it->time; the page balancer compares LRU tail ages). */
static void lru_bump(struct kv_store *st, struct kv_item *it, int64_t now)
{
    it->time = stamp(st, now);
    if (st->cls[it->cls].lru_head == OFF(st, it)) return;
    lru_remove(st, it);
    lru_push_head(st, it);
}

/* --- chunks ---------------------------------------------------------------------------- */

static void chunk_free(struct kv_store *st, struct kv_item *it)
{
    struct kv_class *c = &st->cls[it->cls];
    it->state = KV_IT_FREE;
    it->refcount = 0;
    it->hnext = c->free_head;
    c->free_head = OFF(st, it);
    c->nfree++;
    c->used--;
}

static void page_carve(struct kv_store *st, uint32_t p, unsigned ci)
{
    struct kv_class *c = &st->cls[ci];
    st->page_cls[p] = (uint8_t)ci;
    c->pages++;
    /* push in reverse so that the free list hands chunks out in address order */
    for (uint32_t j = c->perpage; j-- > 0;) {
        struct kv_item *it = IT(st, page_off(st, p) + (uint64_t)j * c->size);
        memset(it, 0, sizeof(*it));
        it->cls = (uint8_t)ci;
        it->state = KV_IT_FREE;
        it->hnext = c->free_head;
        c->free_head = OFF(st, it);
        c->nfree++;
    }
}

static void link_item(struct kv_store *st, struct kv_item *it, int64_t now)
{
    uint64_t *b = bucket(st, kv_item_key(it), it->nkey);
    it->cas = ++st->cas;
    it->time = stamp(st, now);
    it->state = KV_IT_LINKED;
    it->fetched = 0;
    it->hnext = *b;
    *b = OFF(st, it);
    lru_push_head(st, it);
    st->stats.curr_items++;
    st->stats.total_items++;
    st->stats.bytes += item_total(it->nkey, it->nbytes);
}

/* Take a linked item out of the table and the LRU; free its chunk unless it
 * is referenced (then it is a zombie until the last kv_release). */
static void unlink_item(struct kv_store *st, struct kv_item *it)
{
    uint64_t *pp = bucket(st, kv_item_key(it), it->nkey), off = OFF(st, it);
    while (*pp && *pp != off) pp = &IT(st, *pp)->hnext; /* O(chain) */
    if (*pp) *pp = it->hnext;
    it->hnext = 0;
    lru_remove(st, it);
    st->stats.curr_items--;
    st->stats.bytes -= item_total(it->nkey, it->nbytes);
    if (it->refcount == 0) {
        chunk_free(st, it);
    } else {
        it->state = KV_IT_ZOMBIE;
        st->stats.zombies++;
        st->stats.zombie_bytes += st->cls[it->cls].size;
    }
}

static struct kv_item *lookup(struct kv_store *st, const char *key, uint32_t nkey)
{
    for (uint64_t off = *bucket(st, key, nkey); off;) {
        struct kv_item *it = IT(st, off);
        if (it->nkey == nkey && memcmp(kv_item_key(it), key, nkey) == 0) return it;
        off = it->hnext;
    }
    return NULL;
}

/* A live item or NULL; a dead one found on the way is reclaimed. */
static struct kv_item *find_live(struct kv_store *st, const char *key, uint32_t nkey, int64_t now,
                                 int *why)
{
    struct kv_item *it = lookup(st, key, nkey);
    if (why) *why = 0;
    if (!it) return NULL;
    int d = item_dead(st, it, now);
    if (d) {
        if (why) *why = d;
        if (d == 1 && !it->fetched) st->stats.expired_unfetched++;
        st->stats.reclaimed++;
        unlink_item(st, it);
        return NULL;
    }
    return it;
}

/* A page can change class only when none of its chunks is being filled, is a
 * zombie or is referenced (its bytes may be on the wire: DLibOS §5.4). */
static int page_busy(const struct kv_store *st, uint32_t p)
{
    const struct kv_class *c = &st->cls[st->page_cls[p]];
    uint64_t lo = page_off(st, p), hi = lo + (uint64_t)c->perpage * c->size;
    for (uint64_t o = lo; o < hi; o += c->size) {
        const struct kv_item *it = IT(st, o);
        if (it->state == KV_IT_ALLOC || it->state == KV_IT_ZOMBIE ||
            (it->state == KV_IT_LINKED && it->refcount))
            return 1;
    }
    return 0;
}

/* Copy a linked, unreferenced item into the free chunk dst of its class
 * (outside the page being moved) and point the hash chain and the LRU at
 * the copy. The old chunk leaves the class's accounting (its page moves). */
static void item_rescue(struct kv_store *st, struct kv_item *it, struct kv_item *dst)
{
    struct kv_class *c = &st->cls[it->cls];
    uint64_t off = OFF(st, it), doff = OFF(st, dst);
    memcpy(dst, it, item_total(it->nkey, it->nbytes));
    uint64_t *pp = bucket(st, kv_item_key(it), it->nkey);
    while (*pp && *pp != off) pp = &IT(st, *pp)->hnext;
    if (*pp) *pp = doff;
    if (it->prev)
        IT(st, it->prev)->next = doff;
    else
        c->lru_head = doff;
    if (it->next)
        IT(st, it->next)->prev = doff;
    else
        c->lru_tail = doff;
    it->state = KV_IT_FREE;
    it->hnext = it->prev = it->next = 0;
    c->used--;
    st->stats.slab_reassign_rescues++;
}

/* Move page p (not busy) to class ci. Its live items are first copied into
 * free chunks of their class elsewhere (memcached's slab rebalancer
 * "rescues"); what does not fit is evicted, dead items are reclaimed. */
static void page_move(struct kv_store *st, uint32_t p, unsigned ci, int64_t now)
{
    struct kv_class *c = &st->cls[st->page_cls[p]];
    uint64_t lo = page_off(st, p), hi = lo + (uint64_t)c->perpage * c->size;
    /* the page's free chunks leave the old class's free list first, so
     * that every chunk still on that list lies outside the page */
    for (uint64_t *pp = &c->free_head; *pp;) {
        if (*pp >= lo && *pp < hi) {
            *pp = IT(st, *pp)->hnext;
            c->nfree--;
        } else {
            pp = &IT(st, *pp)->hnext;
        }
    }
    for (uint64_t o = lo; o < hi; o += c->size) {
        struct kv_item *it = IT(st, o);
        if (it->state != KV_IT_LINKED) continue;
        int dead = item_dead(st, it, now);
        if (!dead && c->free_head) {
            struct kv_item *dst = IT(st, c->free_head);
            c->free_head = dst->hnext;
            c->nfree--;
            c->used++;
            item_rescue(st, it, dst);
            continue;
        }
        if (dead) {
            st->stats.reclaimed++;
        } else {
            st->stats.evictions++;
            if (!it->fetched) st->stats.evicted_unfetched++;
        }
        unlink_item(st, it); /* unreferenced: freed onto the list head ... */
        c->free_head = it->hnext; /* ... and taken off again: it leaves */
        c->nfree--;
    }
    c->pages--;
    page_carve(st, p, ci);
    st->mover = p + 1;
    st->stats.pages_moved++;
}

/* The first page (round robin) of class `from` (any class but ci when from
 * is PAGE_NONE) that is not busy, or UINT32_MAX. */
static uint32_t page_find(const struct kv_store *st, unsigned from, unsigned ci)
{
    for (uint32_t k = 0; k < st->pages_used; k++) {
        uint32_t p = (st->mover + k) % st->pages_used;
        unsigned pc = st->page_cls[p];
        if (pc == ci || pc == PAGE_NONE || (from != PAGE_NONE && pc != from)) continue;
        if (!page_busy(st, p)) return p;
    }
    return UINT32_MAX;
}

/* Whether class a's least recently used item was used before class b's
 * (access stamps); true when either is empty. */
static int tail_older(const struct kv_store *st, unsigned a, unsigned b)
{
    const struct kv_item *ta = IT(st, st->cls[a].lru_tail), *tb = IT(st, st->cls[b].lru_tail);
    if (!ta || !tb) return 1; /* b without items has nothing older to evict */
    return ta->time < tb->time;
}

/* Seconds since the least recently used item of class ci was used (0 when
 * the class holds no item). */
static int64_t tail_age(const struct kv_store *st, unsigned ci, int64_t now)
{
    const struct kv_item *t = IT(st, st->cls[ci].lru_tail);
    return t && now > kv_item_atime(t) ? now - kv_item_atime(t) : 0;
}

/* Page balancing, before class ci evicts from its own LRU (pages are handed
 * out first come, so without it a class keeps pages it no longer needs
 * while another evicts: slab calcification). A page of class d is taken
 *  - when d has at least 3/4 of a page in free chunks and either a whole
 *    page of them (every item of the moved page is rescued into d's free
 *    chunks elsewhere: nothing is lost) or an LRU tail older than ci's
 *    (then at most 1/4 page of d's items is evicted, less than ci would
 *    evict from itself to fill that page, and d's are the colder); the
 *    donor with the most free bytes first;
 *  - else when d's LRU tail is clearly older than ci's (memcached's
 *    slab_automove age rule: d holds colder items than ci would evict).
 * Both rules need ci to be out of chunks, and a donor never becomes one
 * by its own doing, so a page does not bounce between two busy classes.
 * O(classes) + one page scan per moved page. 0 when a page moved. */
static int page_balance(struct kv_store *st, unsigned ci, int64_t now)
{
    unsigned best = PAGE_NONE, oldest = PAGE_NONE;
    uint64_t best_free = 0;
    int64_t our_age = tail_age(st, ci, now), oldest_age = 0;
    for (unsigned d = 0; d < st->ncls; d++) {
        const struct kv_class *k = &st->cls[d];
        if (d == ci || k->pages == 0) continue;
        uint64_t fb = k->nfree * k->size, pb = (uint64_t)k->perpage * k->size;
        if (fb * 4 >= pb * 3 && fb > best_free &&
            (k->nfree >= k->perpage || tail_older(st, d, ci))) {
            best = d;
            best_free = fb;
        }
        int64_t age = tail_age(st, d, now);
        if (k->lru_tail && age >= our_age + 2 + our_age / 4 && age > oldest_age) {
            oldest = d;
            oldest_age = age;
        }
    }
    uint32_t p = UINT32_MAX;
    if (best != PAGE_NONE) p = page_find(st, best, ci);
    if (p == UINT32_MAX && oldest != PAGE_NONE) p = page_find(st, oldest, ci);
    if (p == UINT32_MAX) return -1;
    st->stats.pages_balanced++;
    page_move(st, p, ci, now);
    return 0;
}

static struct kv_item *chunk_alloc(struct kv_store *st, unsigned ci, int64_t now)
{
    struct kv_class *c = &st->cls[ci];
    if (!c->free_head && st->pages_used < st->npages) page_carve(st, st->pages_used++, ci);
    if (!c->free_head) page_balance(st, ci, now);
    if (!c->free_head) {
        /* LRU tail: reclaim dead items, evict unreferenced ones, skip the
         * referenced (their bytes may be on the wire: DLibOS §5.4) */
        struct kv_item *it = IT(st, c->lru_tail);
        for (int tries = 0; it && tries < KV_EVICT_TRIES; tries++) {
            struct kv_item *prev = IT(st, it->prev);
            if (it->refcount == 0) {
                if (item_dead(st, it, now)) {
                    st->stats.reclaimed++;
                } else {
                    st->stats.evictions++;
                    if (!it->fetched) st->stats.evicted_unfetched++;
                }
                unlink_item(st, it);
                break;
            }
            st->stats.evict_skipped_ref++;
            it = prev;
        }
    }
    if (!c->free_head) {
        /* last resort (a class without pages, or every tail item referenced):
         * any movable page, whatever its class */
        uint32_t p = page_find(st, PAGE_NONE, ci);
        if (p == UINT32_MAX) return NULL;
        page_move(st, p, ci, now);
    }
    struct kv_item *it = IT(st, c->free_head);
    c->free_head = it->hnext;
    c->nfree--;
    c->used++;
    it->hnext = it->prev = it->next = 0;
    return it;
}

/* --- public ------------------------------------------------------------------------------ */

struct kv_store *kv_store_new(void *mem, size_t size, const struct kv_store_cfg *cfg, char *err,
                              size_t errlen)
{
    uint32_t vmax = cfg && cfg->value_max ? cfg->value_max : KV_VALUE_MAX_DEFAULT;
    if (vmax > KV_VALUE_MAX_LIMIT) {
        snprintf(err, errlen, "item size limit %u above %u", vmax, KV_VALUE_MAX_LIMIT);
        return NULL;
    }
    size_t need = item_total(KV_KEY_MAX, vmax);
    size_t page = need < PAGE_MIN ? PAGE_MIN : (need + 4095) & ~(size_t)4095;
    if (!mem || size < ARENA_HDR + 2 * page) {
        snprintf(err, errlen, "memory of %zu bytes holds fewer than 2 pages of %zu bytes", size,
                 page);
        return NULL;
    }
    struct kv_store *st = calloc(1, sizeof(*st));
    if (!st) goto oom;
    st->base = mem;
    st->size = size;
    st->page_size = page;
    st->value_max = vmax;
    st->npages = (uint32_t)((size - ARENA_HDR) / page);
    st->page_cls = malloc(st->npages);
    if (!st->page_cls) goto oom;
    memset(st->page_cls, PAGE_NONE, st->npages);
    /* classes: 96 B growing by 1.25 (8-byte aligned) up to page/2, then a page */
    double sz = CHUNK_MIN;
    while (st->ncls < KV_MAX_CLASSES - 1 && sz <= (double)page / 2) {
        uint32_t s = ((uint32_t)sz + CHUNK_ALIGN - 1) & ~(CHUNK_ALIGN - 1);
        if (!st->ncls || s > st->cls[st->ncls - 1].size) {
            st->cls[st->ncls].size = s;
            st->cls[st->ncls].perpage = (uint32_t)(page / s);
            st->ncls++;
        }
        sz *= 1.25;
    }
    st->cls[st->ncls].size = (uint32_t)page;
    st->cls[st->ncls].perpage = 1;
    st->ncls++;
    size_t nb = 1024;
    while (nb < size / 128 && nb < ((size_t)1 << 30)) nb <<= 1;
    st->htab = calloc(nb, sizeof(uint64_t));
    if (!st->htab) goto oom;
    st->hmask = nb - 1;
    if (axl_random_bytes(st->hkey, sizeof(st->hkey)) < 0) {
        /* not fatal: a weaker key still gives a working table */
        uint64_t x = (uint64_t)(uintptr_t)st ^ 0x9e3779b97f4a7c15ull;
        memcpy(st->hkey, &x, 8);
    }
    return st;
oom:
    snprintf(err, errlen, "out of memory for the store's bookkeeping");
    kv_store_free(st);
    return NULL;
}

void kv_store_free(struct kv_store *st)
{
    if (!st) return;
    free(st->page_cls);
    free(st->htab);
    free(st);
}

struct kv_stats *kv_store_stats(struct kv_store *st) { return &st->stats; }
size_t kv_store_limit(const struct kv_store *st) { return (size_t)st->npages * st->page_size; }
uint32_t kv_store_value_max(const struct kv_store *st) { return st->value_max; }
size_t kv_store_page_size(const struct kv_store *st) { return st->page_size; }
void *kv_store_base(const struct kv_store *st) { return st->base; }

uint64_t kv_item_value_off(const struct kv_store *st, const struct kv_item *it)
{
    return OFF(st, it) + sizeof(struct kv_item) + it->nkey;
}

void kv_ref(struct kv_item *it) { it->refcount++; }

void kv_release(struct kv_store *st, struct kv_item *it)
{
    if (!it || it->refcount == 0) return; /* defensive: never below zero */
    if (--it->refcount) return;
    if (it->state == KV_IT_ZOMBIE) {
        st->stats.zombies--;
        st->stats.zombie_bytes -= st->cls[it->cls].size;
        chunk_free(st, it);
    } else if (it->state == KV_IT_ALLOC) {
        chunk_free(st, it);
    }
}

struct kv_item *kv_alloc(struct kv_store *st, const char *key, uint32_t nkey, uint32_t flags,
                         int64_t exptime, uint32_t nbytes, int64_t now, enum kv_status *st_out)
{
    tick(st, now);
    if (nkey == 0 || nkey > KV_KEY_MAX || nbytes > st->value_max) {
        st->stats.store_too_large++;
        if (st_out) *st_out = KV_TOO_LARGE;
        return NULL;
    }
    unsigned ci = class_for(st, item_total(nkey, nbytes));
    struct kv_item *it = ci < st->ncls ? chunk_alloc(st, ci, now) : NULL;
    if (!it) {
        st->stats.store_no_memory++;
        if (st_out) *st_out = ci < st->ncls ? KV_NO_MEMORY : KV_TOO_LARGE;
        return NULL;
    }
    it->cls = (uint8_t)ci;
    it->state = KV_IT_ALLOC;
    it->refcount = 1;
    it->nkey = (uint8_t)nkey;
    it->nbytes = nbytes;
    it->flags = flags;
    it->exptime = exptime;
    it->cas = 0;
    it->time = stamp(st, now);
    it->fetched = 0;
    memcpy(it->data, key, nkey);
    if (st_out) *st_out = KV_OK;
    return it;
}

static void replace_item(struct kv_store *st, struct kv_item *old, struct kv_item *it, int64_t now)
{
    if (old) unlink_item(st, old);
    link_item(st, it, now);
}

/* append/prepend: a new item holding both values (flags and exptime of the
 * old one, as memcached does). */
static enum kv_status join_item(struct kv_store *st, struct kv_item *old, struct kv_item *it,
                                int prepend, int64_t now)
{
    uint64_t n = (uint64_t)old->nbytes + it->nbytes;
    if (n > st->value_max) {
        st->stats.store_too_large++;
        return KV_NOT_STORED;
    }
    kv_ref(old); /* neither may be evicted while we allocate */
    struct kv_item *nw = kv_alloc(st, kv_item_key(old), old->nkey, old->flags, old->exptime,
                                  (uint32_t)n, now, NULL);
    if (!nw) {
        kv_release(st, old);
        return KV_NOT_STORED;
    }
    char *d = kv_item_value(nw);
    const struct kv_item *a = prepend ? it : old, *b = prepend ? old : it;
    memcpy(d, a->data + a->nkey, a->nbytes);
    memcpy(d + a->nbytes, b->data + b->nkey, b->nbytes);
    memcpy(d + n, "\r\n", 2);
    int linked = old->state == KV_IT_LINKED;
    replace_item(st, linked ? old : NULL, nw, now);
    kv_release(st, old);
    kv_release(st, nw);
    return KV_STORED;
}

enum kv_status kv_store_item(struct kv_store *st, struct kv_item *it, enum kv_op op,
                             uint64_t cas_in, int64_t now)
{
    tick(st, now);
    if (it->state != KV_IT_ALLOC) return KV_NOT_STORED;
    memcpy(kv_item_value(it) + it->nbytes, "\r\n", 2);
    struct kv_item *old = find_live(st, kv_item_key(it), it->nkey, now, NULL);
    switch (op) {
    case KV_SET:
        replace_item(st, old, it, now);
        return KV_STORED;
    case KV_ADD:
        if (old) {
            lru_bump(st, old, now); /* memcached: a failed add counts as a use */
            return KV_NOT_STORED;
        }
        link_item(st, it, now);
        return KV_STORED;
    case KV_REPLACE:
        if (!old) return KV_NOT_STORED;
        replace_item(st, old, it, now);
        return KV_STORED;
    case KV_CAS:
        if (!old) {
            st->stats.cas_misses++;
            return KV_NOT_FOUND;
        }
        if (old->cas != cas_in) {
            st->stats.cas_badval++;
            return KV_EXISTS;
        }
        st->stats.cas_hits++;
        replace_item(st, old, it, now);
        return KV_STORED;
    case KV_APPEND:
    case KV_PREPEND:
        if (!old) return KV_NOT_STORED;
        return join_item(st, old, it, op == KV_PREPEND, now);
    }
    return KV_NOT_STORED;
}

struct kv_item *kv_get(struct kv_store *st, const char *key, uint32_t nkey, int64_t now, int *why)
{
    tick(st, now);
    struct kv_item *it = find_live(st, key, nkey, now, why);
    if (!it) return NULL;
    it->refcount++;
    it->fetched = 1;
    lru_bump(st, it, now);
    return it;
}

enum kv_status kv_delete(struct kv_store *st, const char *key, uint32_t nkey, int64_t now)
{
    tick(st, now);
    struct kv_item *it = find_live(st, key, nkey, now, NULL);
    if (!it) {
        st->stats.delete_misses++;
        return KV_NOT_FOUND;
    }
    st->stats.delete_hits++;
    unlink_item(st, it);
    return KV_DELETED;
}

enum kv_status kv_touch(struct kv_store *st, const char *key, uint32_t nkey, int64_t exptime,
                        int64_t now)
{
    tick(st, now);
    struct kv_item *it = find_live(st, key, nkey, now, NULL);
    if (!it) {
        st->stats.touch_misses++;
        return KV_NOT_FOUND;
    }
    st->stats.touch_hits++;
    it->exptime = exptime;
    lru_bump(st, it, now);
    return KV_TOUCHED;
}

/* The value as memcached's safe_strtoull reads it: optional leading spaces,
 * 1..20 digits without overflow, then only spaces. */
static int parse_counter(const char *p, uint32_t n, uint64_t *out)
{
    uint32_t i = 0;
    uint64_t v = 0;
    while (i < n && p[i] == ' ') i++;
    uint32_t d0 = i;
    for (; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
        uint64_t dig = (uint64_t)(p[i] - '0');
        if (v > (UINT64_MAX - dig) / 10) return -1;
        v = v * 10 + dig;
    }
    if (i == d0) return -1;
    for (; i < n; i++)
        if (p[i] != ' ') return -1;
    *out = v;
    return 0;
}

enum kv_status kv_arith(struct kv_store *st, const char *key, uint32_t nkey, int incr,
                        uint64_t delta, int64_t now, uint64_t *out)
{
    tick(st, now);
    struct kv_item *it = find_live(st, key, nkey, now, NULL);
    if (!it) {
        if (incr)
            st->stats.incr_misses++;
        else
            st->stats.decr_misses++;
        return KV_NOT_FOUND;
    }
    uint64_t v;
    if (parse_counter(kv_item_value(it), it->nbytes, &v) < 0) return KV_NON_NUMERIC;
    if (incr) {
        v += delta; /* wraps at 2^64, as memcached does */
        st->stats.incr_hits++;
    } else {
        v = delta > v ? 0 : v - delta;
        st->stats.decr_hits++;
    }
    char buf[24];
    int len = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
    *out = v;
    if ((uint32_t)len == it->nbytes && it->refcount == 0) {
        memcpy(kv_item_value(it), buf, (size_t)len); /* in place: nobody reads it */
        it->cas = ++st->cas;
        lru_bump(st, it, now);
        return KV_OK;
    }
    kv_ref(it);
    struct kv_item *nw =
        kv_alloc(st, key, nkey, it->flags, it->exptime, (uint32_t)len, now, NULL);
    if (!nw) {
        kv_release(st, it);
        return KV_NO_MEMORY;
    }
    memcpy(kv_item_value(nw), buf, (size_t)len);
    memcpy(kv_item_value(nw) + len, "\r\n", 2);
    replace_item(st, it->state == KV_IT_LINKED ? it : NULL, nw, now);
    kv_release(st, it);
    kv_release(st, nw);
    return KV_OK;
}

void kv_flush_all(struct kv_store *st, int64_t at_abs, int64_t now)
{
    if (at_abs > now) {
        st->flush_at = at_abs;
    } else {
        st->flush_at = 0;
        st->oldest_cas = st->cas;
    }
}

unsigned kv_store_classes(const struct kv_store *st) { return st->ncls; }

void kv_store_class_info(const struct kv_store *st, unsigned cls, uint32_t *chunk_size,
                         uint32_t *pages, uint64_t *used)
{
    const struct kv_class *c = &st->cls[cls < st->ncls ? cls : 0];
    *chunk_size = c->size;
    *pages = c->pages;
    *used = c->used;
}

int kv_store_check(const struct kv_store *st)
{
    uint64_t items = 0, bytes = 0;
    for (unsigned ci = 0; ci < st->ncls; ci++) {
        const struct kv_class *c = &st->cls[ci];
        uint64_t prev = 0, n = 0;
        for (uint64_t off = c->lru_head; off; off = IT(st, off)->next) {
            const struct kv_item *it = IT(st, off);
            if (it->prev != prev) return -1;
            if (it->state != KV_IT_LINKED || it->cls != ci) return -2;
            if (lookup((struct kv_store *)st, kv_item_key(it), it->nkey) != it) return -3;
            if (memcmp(it->data + it->nkey + it->nbytes, "\r\n", 2) != 0) return -4;
            bytes += item_total(it->nkey, it->nbytes);
            prev = off;
            if (++n > (uint64_t)c->pages * c->perpage) return -5; /* a cycle */
        }
        if (c->lru_tail != prev) return -6;
        uint64_t nf = 0;
        for (uint64_t off = c->free_head; off; off = IT(st, off)->hnext) {
            if (IT(st, off)->state != KV_IT_FREE) return -7;
            if (++nf > c->nfree) return -8;
        }
        if (nf != c->nfree || c->nfree + c->used != (uint64_t)c->pages * c->perpage) return -9;
        items += n;
    }
    if (items != st->stats.curr_items || bytes != st->stats.bytes) return -10;
    return 0;
}
