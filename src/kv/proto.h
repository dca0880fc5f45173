/* SPDX-License-Identifier: MIT */
/*
 * kv/proto.h - the memcached text protocol for one connection: an
 * incremental parser that takes received bytes in any split (in place when a
 * whole command line lies in one piece, else through a bounded line buffer),
 * runs the commands on a kv/store.h store, and queues the replies as a list
 * of pieces: bytes to copy, or references to item values that a server sends
 * straight from registered memory (zero-copy, DLibOS §4.6). Values up to
 * kv_server_info.copy_max bytes are copied instead, and adjacent copied bytes
 * share one piece, so small and pipelined replies leave in one send.
 *
 * Commands (memcached doc/protocol.txt): get gets gat gats, set add replace
 * append prepend cas, delete, incr decr, touch, flush_all, stats [settings |
 * slabs | reset], version, verbosity, quit, shutdown (refused as memcached
 * does by default); meta commands mn, mg, ms, md, ma, me (a subset of flags:
 * docs/CONFORMANCE.md). Replies and error strings are memcached's, byte for
 * byte; noreply suppresses a command's reply line, errors included.
 *
 * Limits: a command line longer than KV_LINE_MAX without a newline closes the
 * connection (multi-key gets may be up to KV_GETLINE_MAX), as memcached does
 * after 2048 bytes; a value above the store's limit gets "SERVER_ERROR object
 * too large for cache" and its bytes are swallowed.
 *
 * Back-pressure: kv_conn_input() stops consuming while the queued reply
 * exceeds KV_OUT_HIGH bytes or KV_OUT_ENTS_HIGH pieces; the server drains it
 * (kv_conn_out_peek / _consume / _take) and feeds the rest later.
 *
 * Call chain: server (tools/axl-kvd) -> kv_conn_input -> line / data / swallow
 * states -> command handlers -> kv/store.h; server <- kv_conn_out_*.
 */
#ifndef AXL_KV_PROTO_H
#define AXL_KV_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "kv/store.h"

/** KV_LINE_MAX: longest command line (memcached closes after 2048 bytes). */
#define KV_LINE_MAX 2048
/** KV_GETLINE_MAX: longest get/gets/gat/gats line (many keys). */
#define KV_GETLINE_MAX (256 * 1024)
/** KV_OUT_HIGH: queued reply bytes above which input is not consumed. */
#define KV_OUT_HIGH (256 * 1024)
/** KV_OUT_ENTS_HIGH: queued reply pieces above which input is not consumed. */
#define KV_OUT_ENTS_HIGH 4096
/** KV_COPY_MAX_DEFAULT: the server's copy_max, about one MSS (1500-byte MTU,
 * TCP timestamps: 1448); above it the zero-copy send pays off. */
#define KV_COPY_MAX_DEFAULT 1448
/** KV_VERSION: what "version" answers (the protocol level we follow). */
#define KV_VERSION "1.6.21"

enum kv_close {
    KV_OPEN = 0,
    KV_CLOSE_QUIT = 1,     /* "quit": close once the replies are out */
    KV_CLOSE_LINE = 2,     /* garbage: no newline within the line limit */
    KV_CLOSE_NOMEM = 3,    /* could not queue a reply */
};

enum kv_out_kind { KV_OUT_COPY = 1, KV_OUT_ITEM = 2 };

/* One queued reply piece. COPY: p/len bytes owned by the connection (valid
 * until the next kv_conn_input). ITEM: len value bytes (with CRLF) of `it`
 * at arena offset `off`; the piece holds one reference to `it`. */
struct kv_out {
    uint32_t kind;
    uint32_t len;
    const uint8_t *p;
    struct kv_item *it;
    uint64_t off;
};

/* Server-wide context the protocol needs for "stats" and "version". */
struct kv_server_info {
    int64_t started; /* unix seconds */
    uint32_t pid;
    uint64_t maxconns;
    int strict_keys; /* refuse keys with control characters (protocol.txt) */
    /* Values whose bytes (with CRLF) number at most copy_max are copied into
     * the reply buffer, so a small reply is one contiguous COPY piece (one
     * send, one segment); larger values are queued by reference (ITEM) for
     * a zero-copy send. 0: every value by reference. */
    uint32_t copy_max;
};

struct kv_conn;

struct kv_conn *kv_conn_new(struct kv_store *st, const struct kv_server_info *info);
/* Free, releasing every reference the queued replies hold. */
void kv_conn_free(struct kv_conn *c);

/* Feed received bytes. Returns the bytes consumed (the caller releases them
 * from its receive buffer; the rest must be fed again). Consumes less than n
 * only when the reply queue is full or the connection is closing. */
size_t kv_conn_input(struct kv_conn *c, const uint8_t *p, size_t n, int64_t now);
/* Why the connection must close, or KV_OPEN. */
enum kv_close kv_conn_closing(const struct kv_conn *c);
/* True when a data block or swallow is in progress (for end-of-stream). */
int kv_conn_mid_command(const struct kv_conn *c);

/* The first queued piece: 1 (filled), 0 when nothing is queued. */
int kv_conn_out_peek(struct kv_conn *c, struct kv_out *o);
/* Mark n bytes of the first piece (COPY) as sent. */
void kv_conn_out_consume(struct kv_conn *c, uint32_t n);
/* Take the first n bytes of the first piece (ITEM) for a send by reference:
 * returns the item with one reference for the caller, who kv_release()s it
 * once those bytes are acknowledged (DATA_ACKED); NULL if the first piece is
 * not an ITEM. n >= the piece's length takes the whole piece. */
struct kv_item *kv_conn_out_take(struct kv_conn *c, uint32_t n);
/* Queued pieces and COPY bytes. */
uint32_t kv_conn_out_pending(const struct kv_conn *c, uint64_t *bytes);

/* For tests and the fuzzer: append every queued piece to buf (up to cap,
 * returns the total length that would have been written), releasing item
 * references at once. */
size_t kv_conn_drain(struct kv_conn *c, char *buf, size_t cap);

#endif
