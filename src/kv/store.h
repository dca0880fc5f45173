/* SPDX-License-Identifier: MIT */
/*
 * kv/store.h - the item store of axl-kvd: a memcached-style slab arena with
 * per-class LRU eviction under a fixed memory limit, laid out inside one
 * caller-supplied region (registered memory, so values can be sent by
 * reference - DLibOS §4.6/§5.4).
 *
 *   arena (size bytes, offsets from its base; offset 0 means "none")
 *   +--------+-----------+-----------+-----------+-- ... --+
 *   | 64 B   | page 0    | page 1    | page 2    |         |
 *   | unused | class 3   | class 17  | class 3   |         |
 *   +--------+-----------+-----------+-----------+-- ... --+
 *   page = page_size bytes carved into equal chunks of one class; a chunk is
 *   one item: struct kv_item (64 B), key, value, "\r\n".
 *
 * Items hold offsets, never pointers (the arena is shared with the stack's
 * replicas in isolated mode). Chunk sizes grow by a factor of 1.25 from
 * 96 bytes up to page_size/2, plus one class of a whole page. A class takes
 * a free page while there is one; after that, before evicting from its own
 * LRU, it takes a page from another class that has 3/4 of a page free or
 * whose LRU tail is clearly older than its own (page balancing, as
 * memcached's slab_automove: pages handed out first come would otherwise
 * stay with classes that no longer need them). Otherwise it evicts from the
 * tail of its own LRU, and when that fails (every tail item referenced) a
 * whole page is taken from any class whose items are all unreferenced. A
 * moved page's live items are copied into free chunks of their class where
 * there are some ("rescued"), the rest evicted.
 *
 * References (DLibOS's second reference count): kv_get() returns an item
 * with a reference; a value being sent zero-copy keeps that reference until
 * the peer acknowledged it (DATA_ACKED), then kv_release(). An item that is
 * replaced, deleted, expired or flushed while referenced is unlinked at once
 * (a "zombie") and its chunk is freed by the last kv_release(). Eviction and
 * the page mover skip referenced items, so their bytes are never reused.
 *
 * Time: callers pass `now` (unix seconds). exptime as in memcached's
 * protocol.txt: 0 = never, negative = already expired, up to 30 days =
 * relative seconds, above = absolute unix time.
 *
 * Single-threaded: one store per thread, no locks. O(1) per operation except
 * the hash-chain walk on unlink (chains are short: the table has one bucket
 * per 128 bytes of arena) and a page move (O(classes) to choose, one page's
 * chunks to move; at most once per page's worth of allocations in a class).
 *
 * Call chain: kv/proto.c (commands) -> kv_alloc/kv_store_item/kv_get/... ->
 * slab allocator -> LRU / hash table.
 */
#ifndef AXL_KV_STORE_H
#define AXL_KV_STORE_H

#include <stddef.h>
#include <stdint.h>

/** KV_KEY_MAX: longest key in bytes (memcached protocol.txt, "Keys"). */
#define KV_KEY_MAX 250
/** KV_VALUE_MAX_DEFAULT: largest value by default (memcached -I 1m). */
#define KV_VALUE_MAX_DEFAULT (1u << 20)
/** KV_VALUE_MAX_LIMIT: the largest --max-item accepted (1 GiB). */
#define KV_VALUE_MAX_LIMIT (1u << 30)
/** KV_REL_MAX: exptimes up to this many seconds are relative (30 days). */
#define KV_REL_MAX (60 * 60 * 24 * 30)
/** KV_EVICT_TRIES: LRU tail items examined per allocation before the page mover. */
#define KV_EVICT_TRIES 32
/** KV_TIME_SHIFT: kv_item.time is unix seconds << this | order within the second. */
#define KV_TIME_SHIFT 24
/** KV_MAX_CLASSES: slab classes at most. */
#define KV_MAX_CLASSES 64

/* One item, at the start of its chunk. 64 bytes. */
struct kv_item {
    uint64_t hnext;     /* hash chain (arena offset) / free list */
    uint64_t prev, next;/* LRU of its class (arena offsets) */
    uint64_t cas;       /* cas unique (0 until linked) */
    int64_t exptime;    /* absolute unix seconds; 0 = never */
    int64_t time;       /* last stored or used: access stamp (kv_item_atime) */
    uint32_t flags;     /* client flags */
    uint32_t nbytes;    /* value bytes, without the trailing CRLF */
    uint32_t refcount;  /* outstanding references (readers, zero-copy sends) */
    uint8_t nkey;
    uint8_t cls;
    uint8_t state;      /* enum kv_item_state */
    uint8_t fetched;
    char data[];        /* key, value, "\r\n" */
};
_Static_assert(sizeof(struct kv_item) == 64, "kv_item layout");

enum kv_item_state {
    KV_IT_FREE = 0,   /* on its class's free list */
    KV_IT_ALLOC = 1,  /* allocated, value being filled, not in the table */
    KV_IT_LINKED = 2, /* in the hash table and the LRU */
    KV_IT_ZOMBIE = 3, /* unlinked while referenced: freed by the last release */
};

enum kv_op { KV_SET = 1, KV_ADD, KV_REPLACE, KV_APPEND, KV_PREPEND, KV_CAS };

enum kv_status {
    KV_STORED = 0,
    KV_NOT_STORED,
    KV_EXISTS,
    KV_NOT_FOUND,
    KV_DELETED,
    KV_TOUCHED,
    KV_OK,
    KV_TOO_LARGE,   /* value above the limit */
    KV_NO_MEMORY,   /* nothing could be evicted */
    KV_NON_NUMERIC, /* incr/decr on a value that is not a decimal number */
};

/* Counters, named as memcached's "stats" names them. The store counts the
 * item ones; the protocol layer and the server count the rest. */
struct kv_stats {
    /* items (store) */
    uint64_t curr_items, total_items, bytes, evictions, reclaimed, expired_unfetched,
        evicted_unfetched, evict_skipped_ref, zombies, zombie_bytes, pages_moved, store_too_large,
        store_no_memory, pages_balanced, slab_reassign_rescues;
    /* commands (protocol) */
    uint64_t cmd_get, cmd_set, cmd_flush, cmd_touch, cmd_meta, get_hits, get_misses, get_expired,
        get_flushed, delete_hits, delete_misses, incr_hits, incr_misses, decr_hits, decr_misses,
        cas_hits, cas_misses, cas_badval, touch_hits, touch_misses;
    /* errors by reason (protocol) */
    uint64_t err_unknown_command, err_bad_format, err_bad_chunk, err_key_too_long,
        err_non_numeric, conn_line_too_long;
    /* connections and bytes (server) */
    uint64_t curr_connections, total_connections, rejected_connections, bytes_read,
        bytes_written, zc_sends, zc_bytes, conn_aborted;
};

struct kv_store_cfg {
    uint32_t value_max; /* largest value (0: KV_VALUE_MAX_DEFAULT) */
};

struct kv_store;

/* A store over [mem, mem + size). Returns NULL and a message in err when the
 * region is too small for two pages (page_size grows with value_max). */
struct kv_store *kv_store_new(void *mem, size_t size, const struct kv_store_cfg *cfg, char *err,
                              size_t errlen);
/* Free the bookkeeping (not the region). */
void kv_store_free(struct kv_store *st);

struct kv_stats *kv_store_stats(struct kv_store *st);
size_t kv_store_limit(const struct kv_store *st);    /* arena bytes usable for pages */
uint32_t kv_store_value_max(const struct kv_store *st);
size_t kv_store_page_size(const struct kv_store *st);
void *kv_store_base(const struct kv_store *st);

/* exptime from the protocol (relative / absolute / negative) -> absolute. */
int64_t kv_exptime(int64_t now, int64_t v);

/* --- items ------------------------------------------------------------------ */

/* Allocate an unlinked item with room for nbytes of value (+ CRLF) and one
 * reference; the caller fills kv_item_value(it)[0 .. nbytes+2). NULL with
 * *st_out = KV_TOO_LARGE or KV_NO_MEMORY. `exptime` is absolute. */
struct kv_item *kv_alloc(struct kv_store *st, const char *key, uint32_t nkey, uint32_t flags,
                         int64_t exptime, uint32_t nbytes, int64_t now, enum kv_status *st_out);
/* Store `it` (from kv_alloc, value filled) by `op`. The caller keeps its
 * reference (release it afterwards). cas_in is used by KV_CAS. Returns
 * KV_STORED, KV_NOT_STORED, KV_EXISTS, KV_NOT_FOUND or KV_NO_MEMORY (append /
 * prepend could not allocate the joined item). */
enum kv_status kv_store_item(struct kv_store *st, struct kv_item *it, enum kv_op op,
                             uint64_t cas_in, int64_t now);
/* Look up a live item: a new reference (bumped to the LRU head), or NULL.
 * Expired / flushed items met here are unlinked (*why: KV_NOT_FOUND,
 * or 1 = expired, 2 = flushed, for the statistics; why may be NULL). */
struct kv_item *kv_get(struct kv_store *st, const char *key, uint32_t nkey, int64_t now,
                       int *why);
/* Drop one reference; frees an unlinked item at zero. */
void kv_release(struct kv_store *st, struct kv_item *it);
void kv_ref(struct kv_item *it);

enum kv_status kv_delete(struct kv_store *st, const char *key, uint32_t nkey, int64_t now);
/* New absolute exptime: KV_TOUCHED or KV_NOT_FOUND. */
enum kv_status kv_touch(struct kv_store *st, const char *key, uint32_t nkey, int64_t exptime,
                        int64_t now);
/* incr (incr != 0) or decr by delta: KV_OK and *out, KV_NOT_FOUND,
 * KV_NON_NUMERIC or KV_NO_MEMORY. incr wraps at 2^64, decr stops at 0. */
enum kv_status kv_arith(struct kv_store *st, const char *key, uint32_t nkey, int incr,
                        uint64_t delta, int64_t now, uint64_t *out);
/* Invalidate every item now (delay_abs == 0) or at absolute time delay_abs. */
void kv_flush_all(struct kv_store *st, int64_t at_abs, int64_t now);

static inline const char *kv_item_key(const struct kv_item *it) { return it->data; }
static inline char *kv_item_value(struct kv_item *it) { return it->data + it->nkey; }
/* Unix seconds of the item's last store or use. */
static inline int64_t kv_item_atime(const struct kv_item *it) { return it->time >> KV_TIME_SHIFT; }
/* Arena offset of the value (for a send by reference). */
uint64_t kv_item_value_off(const struct kv_store *st, const struct kv_item *it);

/* Slab class table for "stats slabs": class i's chunk size and pages,
 * used chunks; returns the class count. */
unsigned kv_store_classes(const struct kv_store *st);
void kv_store_class_info(const struct kv_store *st, unsigned cls, uint32_t *chunk_size,
                         uint32_t *pages, uint64_t *used);

/* Consistency check for tests: 0 or a negative number naming the broken
 * invariant (LRU links, hash membership, counts). O(items). */
int kv_store_check(const struct kv_store *st);

#endif
