/* SPDX-License-Identifier: MIT */
/*
 * axl-kvd - a memcached-compatible key-value server on the Axolotl native
 * API (include/axl/axl.h), after DLibOS's zero-copy memcached (§4.6, §5.4).
 *
 *   axl-kvd [--listen PORT] [--memory MiB] [--max-item BYTES] [--max-conns N]
 *           (--stack PATH | --port SPEC --addr CIDR [--gw IP])
 *
 * The items live in one slab arena (src/kv/store.h) inside registered memory
 * (axl_mem_alloc): a value is sent with axl_send_mem() straight from its
 * item, without a copy, in pieces of at most ZC_PIECE bytes; values of at
 * most --copy-max bytes (default about one MSS) are copied into the reply
 * instead, so a small reply is one send and one segment. Each piece
 * holds a reference on its item until DATA_ACKED reports its cookie (or the
 * connection is over), so eviction, overwrite and delete never reuse bytes
 * that may still be (re)transmitted. Command lines are parsed in place in the
 * receive buffer (axl_recv_peek); only a line split across segments is
 * copied (src/kv/proto.h).
 *
 * Per connection: in-flight zero-copy pieces form a FIFO of (cookie, item);
 * cookies count up per connection and a DATA_ACKED(cookie) releases every
 * piece up to it (TCP acknowledges in order). A cookie we never issued is
 * ignored and counted.
 *
 * Replies are produced while the events of one axl_poll are handled and
 * sent once per connection after the batch (conn_flush from flush_dirty), so
 * replies to pipelined requests share segments; only a reply queue at its
 * high-water mark is flushed early.
 *
 * Ending: "quit" or the peer's FIN -> our FIN once every reply is queued ->
 * CLEANUP -> references released, handle closed. A connection that sends a
 * line longer than the limit without a newline is reset (axl_abort) and
 * counted. SIGTERM/SIGINT stop the server; SIGUSR1 writes the counters to
 * --stats-out (the "stats" command's lines).
 *
 * Call chain: main -> axl_open / axl_mem_alloc / kv_store_new -> loop {
 * axl_poll -> (NEW_CONN: accept) (NEW_DATA, DATA_ACKED: conn_work ->
 * axl_recv_peek -> kv_conn_input -> axl_recv_done; mark dirty) (CLEANUP:
 * conn_free) -> flush_dirty -> conn_finish -> conn_flush -> axl_send /
 * axl_send_mem }.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "axl/axl.h"
#include "axl/mode_flags.h"
#include "core/opts.h"
#include "kv/proto.h"
#include "kv/store.h"

#define PROG "axl-kvd"
/** ZC_PIECE: largest single axl_send_mem (a value is sent in such pieces). */
#define ZC_PIECE (16u * 1024)
/** TX_SIZE / RX_SIZE: per-connection socket buffers (power of two). */
#define TX_SIZE (256u * 1024)
#define RX_SIZE (64u * 1024)
#define EV_BATCH 64

static volatile sig_atomic_t g_stop, g_dump;
static void on_stop(int sig)
{
    (void)sig;
    g_stop = 1;
}
static void on_usr1(int sig)
{
    (void)sig;
    g_dump = 1;
}

struct zc {
    uint64_t cookie;
    struct kv_item *it;
};

struct kconn {
    axl_sock_t s;
    struct kv_conn *kc;
    struct zc *zq; /* in-flight zero-copy pieces, oldest first */
    uint32_t zhead, ztail, zcap;
    uint64_t cookie;
    int remote_closed, shut, failed, dirty;
    struct kconn *prev, *next;
    struct kconn *dnext; /* on srv.dirty: replies to send after this poll batch */
};

struct srv {
    struct axl_ctx *ctx;
    struct axl_mem *mem;
    struct kv_store *st;
    struct kv_stats *stats;
    struct kv_server_info info;
    axl_sock_t lsn;
    uint32_t max_conns;
    struct kconn *conns;
    struct kconn *dirty; /* connections with work since the last flush */
    uint64_t bad_cookies;
    const char *stats_out;
};

static int64_t now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    return (int64_t)ts.tv_sec;
}

/* --- zero-copy bookkeeping -------------------------------------------------------- */

static int zq_push(struct kconn *k, uint64_t cookie, struct kv_item *it)
{
    if (k->ztail == k->zcap) {
        if (k->zhead) { /* slide down first */
            memmove(k->zq, k->zq + k->zhead, (k->ztail - k->zhead) * sizeof(*k->zq));
            k->ztail -= k->zhead;
            k->zhead = 0;
        }
        if (k->ztail == k->zcap) {
            uint32_t cap = k->zcap ? k->zcap * 2 : 32;
            struct zc *q = realloc(k->zq, cap * sizeof(*q));
            if (!q) return -1;
            k->zq = q;
            k->zcap = cap;
        }
    }
    k->zq[k->ztail++] = (struct zc){ cookie, it };
    return 0;
}

/* Release every in-flight piece with a cookie up to `upto` (all: UINT64_MAX). */
static void zq_release(struct srv *s, struct kconn *k, uint64_t upto)
{
    while (k->zhead < k->ztail && k->zq[k->zhead].cookie <= upto) {
        kv_release(s->st, k->zq[k->zhead].it);
        k->zhead++;
    }
    if (k->zhead == k->ztail) k->zhead = k->ztail = 0;
}

/* --- connections ------------------------------------------------------------------ */

static void conn_free(struct srv *s, struct kconn *k)
{
    zq_release(s, k, UINT64_MAX);
    if (k->dirty) /* the dirty list is short: at most one poll batch */
        for (struct kconn **pp = &s->dirty; *pp; pp = &(*pp)->dnext)
            if (*pp == k) {
                *pp = k->dnext;
                break;
            }
    kv_conn_free(k->kc);
    free(k->zq);
    if (k->prev)
        k->prev->next = k->next;
    else
        s->conns = k->next;
    if (k->next) k->next->prev = k->prev;
    s->stats->curr_connections--;
    free(k);
}

/* Queue what the protocol produced: bytes by copy, values by reference.
 * 0, or -1 when the socket failed (CLEANUP follows). */
static int conn_flush(struct srv *s, struct kconn *k)
{
    struct kv_out o;
    while (kv_conn_out_peek(k->kc, &o)) {
        if (o.kind == KV_OUT_COPY) {
            int r = axl_send(s->ctx, k->s, o.p, o.len);
            if (r == -EAGAIN) return 0;
            if (r < 0) return -1;
            kv_conn_out_consume(k->kc, (uint32_t)r);
            s->stats->bytes_written += (uint64_t)r;
            if ((uint32_t)r < o.len) return 0;
        } else {
            uint32_t piece = o.len < ZC_PIECE ? o.len : ZC_PIECE;
            uint64_t cookie = k->cookie + 1;
            int r = axl_send_mem(s->ctx, k->s, s->mem, o.off, piece, cookie);
            if (r == -EAGAIN) return 0;
            if (r < 0) return -1;
            k->cookie = cookie;
            struct kv_item *it = kv_conn_out_take(k->kc, piece);
            if (zq_push(k, cookie, it) < 0) {
                /* cannot track it: keep the reference for good rather than
                 * risk reusing bytes on the wire (counted) */
                s->stats->conn_aborted++;
                return -1;
            }
            s->stats->zc_sends++;
            s->stats->zc_bytes += piece;
            s->stats->bytes_written += piece;
        }
    }
    return 0;
}

static void conn_abort(struct srv *s, struct kconn *k)
{
    s->stats->conn_aborted++;
    axl_abort(s->ctx, k->s); /* the handle is given back: no more events */
    conn_free(s, k);
}

/* Read and run commands until nothing moves; the replies stay queued for
 * flush_dirty. Only a queue at its high-water mark (input not consumed) is
 * flushed here, to make room. */
static void conn_work(struct srv *s, struct kconn *k)
{
    int64_t now = now_s();
    for (int round = 0; round < 64; round++) {
        if (kv_conn_closing(k->kc) != KV_OPEN) break;
        struct axl_iov iov[2];
        int n = axl_recv_peek(s->ctx, k->s, iov, 2);
        if (n <= 0) {
            if (n == 0) k->remote_closed = 1;
            break;
        }
        size_t used = 0;
        for (int i = 0; i < 2 && used < (size_t)n; i++) {
            if (!iov[i].len) continue;
            size_t u = k->shut ? iov[i].len : kv_conn_input(k->kc, iov[i].base, iov[i].len, now);
            used += u;
            if (u < iov[i].len) break;
        }
        if (used) axl_recv_done(s->ctx, k->s, (uint32_t)used);
        if (used < (size_t)n) {
            if (kv_conn_closing(k->kc) != KV_OPEN) break;
            /* replies are backed up: send what fits, go on if that made room */
            uint32_t before = kv_conn_out_pending(k->kc, NULL);
            if (conn_flush(s, k) < 0) {
                k->failed = 1;
                return;
            }
            if (kv_conn_out_pending(k->kc, NULL) == before) break; /* wait for DATA_ACKED */
        }
    }
    if (!k->dirty) {
        k->dirty = 1;
        k->dnext = s->dirty;
        s->dirty = k;
    }
}

/* After a poll batch: send the queued replies, then end the connection if
 * that is due. */
static void conn_finish(struct srv *s, struct kconn *k)
{
    if (k->failed) return; /* CLEANUP follows */
    if (conn_flush(s, k) < 0) {
        k->failed = 1;
        return;
    }
    enum kv_close why = kv_conn_closing(k->kc);
    if (why == KV_CLOSE_LINE || why == KV_CLOSE_NOMEM) {
        conn_abort(s, k);
        return;
    }
    /* orderly end: our FIN after the last reply (quit, or the peer's FIN) */
    if (!k->shut && (why == KV_CLOSE_QUIT || k->remote_closed) &&
        kv_conn_out_pending(k->kc, NULL) == 0) {
        k->shut = 1;
        axl_shutdown(s->ctx, k->s, 1);
    }
}

static void flush_dirty(struct srv *s)
{
    while (s->dirty) {
        struct kconn *k = s->dirty;
        s->dirty = k->dnext;
        k->dirty = 0;
        conn_finish(s, k); /* may free k: it is off the list already */
    }
}

static void accept_all(struct srv *s)
{
    axl_sock_t c;
    while (axl_accept(s->ctx, s->lsn, &c) == 0) {
        struct kconn *k = NULL;
        if (s->stats->curr_connections >= s->max_conns || !(k = calloc(1, sizeof(*k))) ||
            !(k->kc = kv_conn_new(s->st, &s->info))) {
            free(k);
            s->stats->rejected_connections++;
            axl_abort(s->ctx, c);
            continue;
        }
        k->s = c;
        k->next = s->conns;
        if (s->conns) s->conns->prev = k;
        s->conns = k;
        s->stats->curr_connections++;
        s->stats->total_connections++;
        axl_set_user(s->ctx, c, k);
        axl_setopt(s->ctx, c, AXL_SO_NODELAY, 1);
        conn_work(s, k); /* data may already be queued */
    }
}

/* --- counters (SIGUSR1 / exit) -------------------------------------------------------- */

static void dump_stats(struct srv *s)
{
    if (!s->stats_out) return;
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", s->stats_out);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, PROG ": cannot write %s: %s\n", tmp, strerror(errno));
        return;
    }
    /* the "stats" command's own output, through a throw-away connection */
    struct kv_conn *kc = kv_conn_new(s->st, &s->info);
    if (kc) {
        static char buf[1 << 16];
        kv_conn_input(kc, (const uint8_t *)"stats\r\n", 7, now_s());
        size_t n = kv_conn_drain(kc, buf, sizeof(buf));
        if (n > sizeof(buf)) n = sizeof(buf);
        fwrite(buf, 1, n, f);
        kv_conn_free(kc);
    }
    fprintf(f, "STAT bad_cookies %llu\r\n", (unsigned long long)s->bad_cookies);
    fclose(f);
    rename(tmp, s->stats_out);
}

/* --- main ------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    uint32_t listen_port = 11211, memory_mib = 64, max_item = KV_VALUE_MAX_DEFAULT,
             max_conns = 1024, copy_max = KV_COPY_MAX_DEFAULT;
    const char *stats_out = NULL;
    struct axl_mode_flags mf = { 0 };
    int strict_keys = 0;
    const struct axl_opt opts[] = {
        { "listen", 'l', AXL_OPT_U32, "PORT", "TCP port to serve (default 11211)", &listen_port, 1,
          65535 },
        { "memory", 'm', AXL_OPT_U32, "MiB", "item memory, the LRU limit (default 64)", &memory_mib,
          4, 1048576 },
        { "max-item", 'I', AXL_OPT_U32, "BYTES",
          "largest value (default 1 MiB; k/M suffixes), like memcached -I", &max_item, 1,
          KV_VALUE_MAX_LIMIT },
        { "max-conns", 'c', AXL_OPT_U32, "N", "concurrent connections (default 1024)", &max_conns,
          1, 65536 },
        { "copy-max", 0, AXL_OPT_U32, "BYTES",
          "values up to this size (with CRLF) are copied into the reply, larger ones sent "
          "zero-copy (default 1448, about one MSS; 0: always zero-copy)",
          &copy_max, 0, KV_VALUE_MAX_LIMIT },
        { "strict-keys", 0, AXL_OPT_FLAG, NULL,
          "refuse keys with control characters (protocol.txt; memcached accepts them)",
          &strict_keys },
        { "stats-out", 0, AXL_OPT_STR, "FILE", "write the counters here on SIGUSR1 and at exit",
          &stats_out },
        AXL_MODE_OPTS_SHORT(&mf, 0, 'p', 'a', 0),
        { 0 },
    };
    int first = axl_opts_parse(argc, argv, PROG,
                               "[--listen PORT] [--memory MiB] [--max-item BYTES] "
                               "(--stack PATH | --port SPEC --addr CIDR [--gw IP])",
                               "memcached-compatible key-value server (text and meta protocol) on "
                               "the Axolotl stack; values are sent zero-copy from registered "
                               "memory, least recently used items are evicted at the memory limit.",
                               opts);
    if (first < 0) return 2;
    if (first != argc) {
        fprintf(stderr, PROG ": unexpected argument '%s' (see --help)\n", argv[first]);
        return 2;
    }
    struct axl_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.name = PROG;
    cfg.tx_size = TX_SIZE;
    cfg.rx_size = RX_SIZE;
    char err[512];
    if (axl_mode_flags_config(&mf, &cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, PROG ": %s\n", err);
        return 2;
    }
    size_t mem_bytes = (size_t)memory_mib << 20;
    {
        /* check the sizes before touching the network */
        size_t need = 2 * (sizeof(struct kv_item) + KV_KEY_MAX + (size_t)max_item + 2) + (1u << 20);
        if (mem_bytes < need) {
            fprintf(stderr, PROG ": --memory %u MiB is too small for --max-item %u (need %zu MiB)\n",
                    memory_mib, max_item, (need + (1u << 20) - 1) >> 20);
            return 2;
        }
    }

    struct srv *s = calloc(1, sizeof(*s));
    if (!s) {
        fprintf(stderr, PROG ": out of memory\n");
        return 1;
    }
    s->max_conns = max_conns;
    s->stats_out = stats_out;
    s->info = (struct kv_server_info){ .started = now_s(), .pid = (uint32_t)getpid(),
                                       .maxconns = max_conns, .strict_keys = strict_keys,
                                       .copy_max = copy_max };
    int rc = axl_open(&s->ctx, &cfg, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, PROG ": %s\n", err);
        free(s);
        return 1;
    }
    rc = axl_mem_alloc(s->ctx, mem_bytes, &s->mem);
    if (rc < 0) {
        fprintf(stderr, PROG ": cannot register %u MiB of item memory: %s\n", memory_mib,
                axl_strerror(rc));
        goto out_ctx;
    }
    struct kv_store_cfg scfg = { .value_max = max_item };
    s->st = kv_store_new(axl_mem_base(s->mem), axl_mem_size(s->mem), &scfg, err, sizeof(err));
    if (!s->st) {
        fprintf(stderr, PROG ": %s\n", err);
        rc = -1;
        goto out_mem;
    }
    s->stats = kv_store_stats(s->st);
    if ((rc = axl_socket(s->ctx, AXL_TCP, &s->lsn)) < 0 ||
        (rc = axl_setopt(s->ctx, s->lsn, AXL_SO_REUSEADDR, 1), 0) ||
        (rc = axl_bind(s->ctx, s->lsn, 0, (uint16_t)listen_port)) < 0 ||
        (rc = axl_listen(s->ctx, s->lsn, 1024)) < 0) {
        fprintf(stderr, PROG ": TCP port %u: %s\n", listen_port, axl_strerror(rc));
        goto out_store;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    fprintf(stderr, PROG ": serving memcached on port %u (%s), %u MiB, values up to %u bytes\n",
            listen_port, axl_ctx_mode(s->ctx) == AXL_MODE_RTC ? "run-to-completion" : "isolated",
            memory_mib, max_item);

    rc = 0;
    while (!g_stop) {
        struct axl_event ev[EV_BATCH];
        int n = axl_poll(s->ctx, ev, EV_BATCH, 100 * 1000000ll);
        if (n < 0 && n != -EINTR) {
            fprintf(stderr, PROG ": the stack failed: %s\n", axl_strerror(n));
            rc = -1;
            break;
        }
        for (int i = 0; i < n; i++) {
            if (ev[i].sock == s->lsn) {
                if (ev[i].type == AXL_EV_NEW_CONN) accept_all(s);
                continue;
            }
            /* the handle, not ev.user: a connection freed earlier in this
             * batch must not be touched */
            struct kconn *k = axl_get_user(s->ctx, ev[i].sock);
            if (!k) continue;
            switch (ev[i].type) {
            case AXL_EV_NEW_DATA:
                conn_work(s, k);
                break;
            case AXL_EV_DATA_ACKED:
                if (ev[i].cookie) {
                    if (ev[i].cookie > k->cookie)
                        s->bad_cookies++;
                    else
                        zq_release(s, k, ev[i].cookie);
                }
                if (!k->failed) conn_work(s, k);
                break;
            case AXL_EV_REMOTE_CLOSED:
                k->remote_closed = 1;
                if (!k->failed) conn_work(s, k);
                break;
            case AXL_EV_CLEANUP:
                /* the connection is over: the stack reads none of its memory */
                conn_free(s, k);
                axl_close(s->ctx, ev[i].sock);
                break;
            default:
                break;
            }
        }
        flush_dirty(s);
        if (g_dump) {
            g_dump = 0;
            dump_stats(s);
        }
    }
    dump_stats(s);
    s->dirty = NULL; /* nothing more is sent */
    while (s->conns) { /* reset what is left; nothing is sent from the arena afterwards */
        axl_abort(s->ctx, s->conns->s);
        conn_free(s, s->conns);
    }
    axl_close(s->ctx, s->lsn);
out_store:
    kv_store_free(s->st);
out_mem:
    /* every connection was reset above: the engine holds no reference into
     * the arena any more */
    axl_mem_free(s->ctx, s->mem);
out_ctx:
    axl_close_ctx(s->ctx);
    free(s);
    return rc < 0 ? 1 : 0;
}
