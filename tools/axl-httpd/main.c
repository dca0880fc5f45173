/* SPDX-License-Identifier: MIT */
/*
 * axl-httpd - a static HTTP/1.1 server on the native API (include/axl/axl.h)
 * that sends its responses as pre-packetised objects (Sandstorm).
 *
 *   axl-httpd --root DIR [--listen PORT] [--variant precopy|memcpy|plain]
 *             (--port SPEC --addr CIDR | --stack PATH) ...
 *
 * Files under DIR are loaded at start (up to --preload bytes) and on demand
 * (the cache holds at most --cache-max bytes; beyond it a new file gets 503).
 * A response (status line and fields, then the file) lives in registered
 * memory (axl_mem_alloc) and is registered as an object (axl_obj_register)
 * sent with axl_send_obj; --variant plain sends the same memory with
 * axl_send_mem. A response is built per file and per connection kind
 * (HTTP/1.1 keep-alive, close, HTTP/1.0 keep-alive) and rebuilt when its
 * Date is a second old, so Date is exact to the second; the old one is freed
 * once the last send of it is acknowledged (DATA_ACKED with its cookie).
 * Error responses (304, 4xx, 5xx) are small and sent by copy (axl_send).
 * Files are not re-read: changes show after a restart.
 *
 * Requests: GET and HEAD (others: 405), keep-alive and pipelining (requests
 * are answered in order from the bytes received), Connection: close and
 * HTTP/1.0 rules (RFC 9112 §9.3), conditional GET (If-None-Match /
 * If-Modified-Since -> 304), a head size limit (--max-request: 413/414), a
 * header timeout (a started request must be complete within
 * --header-timeout: 408 and close) and an idle timeout (--idle-timeout:
 * close), both counted. Counters: requests by status, timeouts, connections;
 * printed at exit and on SIGUSR1 (to --stats-out FILE or stderr).
 *
 * Call chain: main -> axl_open -> loop { axl_poll -> NEW_CONN (accept),
 * NEW_DATA (recv -> http/http.c parse -> respond), DATA_ACKED (release),
 * REMOTE_CLOSED / CLEANUP (close) ; timeouts }.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "axl/axl.h"
#include "axl/mode_flags.h"
#include "core/opts.h"
#include "http/http.h"

#define PROG "axl-httpd"
#define NBUCKETS 4096u
#define MAX_EVENTS 64

enum { K_KA11 = 0, K_CLOSE, K_KA10, K_NKINDS };
enum { V_PRECOPY = 0, V_MEMCPY = 1, V_PLAIN = 2 };

/* One built response (head + content) of one file and kind. */
/** PIECE: a response is registered as objects of at most this many bytes
 *  (an object is queued all or nothing, so a piece must fit in the send
 *  buffer; AXL_TX_SIZE holds two). */
#define PIECE (512u << 10)
#define AXL_TX_SIZE (1u << 20)
#define MAX_PIECES 160u /* 80 MiB */

struct resp {
    struct axl_mem *mem;
    struct axl_obj *obj[MAX_PIECES]; /* NULL for plain */
    uint32_t npieces;
    uint32_t len, head_len;
    time_t built;  /* the second of its Date */
    uint32_t refs; /* 1 while current + sends in flight */
};

struct file {
    struct file *next;
    char *path; /* relative to the root */
    uint8_t *data;
    uint64_t size;
    time_t mtime;
    char etag[48];
    const char *ctype;
    struct resp *cur[K_NKINDS];
};

struct conn {
    axl_sock_t s;
    char *buf;
    uint32_t have;
    uint64_t skip;        /* request body bytes still to discard */
    uint64_t last_ns;     /* last activity */
    uint64_t head_start;  /* first byte of an incomplete request (0: none) */
    int closing;          /* shut down for writing: waiting for the end */
    struct resp *pend;    /* a response being queued piece by piece (held) */
    uint32_t pend_piece, pend_len;
    int pend_close;       /* close once it is queued */
    int dead;             /* handle given back; freed after the event batch */
    struct conn *prev, *next;
};

static struct {
    struct axl_ctx *ctx;
    const char *root;
    int rootfd;
    uint32_t listen_port, max_request, max_conns;
    uint64_t idle_ns, header_ns, cache_max, preload, cache_bytes;
    int variant;
    struct file *tab[NBUCKETS];
    struct conn *conns;
    struct conn *grave; /* dead connections, freed after the event batch */
    uint32_t nconns;
    /* counters */
    uint64_t st[600];
    uint64_t accepted, refused, timeouts_idle, timeouts_header, cache_full, sends_failed;
    const char *stats_out;
} g;

static volatile sig_atomic_t g_stop, g_dump;

static void on_signal(int sig)
{
    if (sig == SIGUSR1)
        g_dump = 1;
    else
        g_stop = 1;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint32_t hash_str(const char *s)
{
    uint32_t h = 2166136261u;
    while (*s) h = (h ^ (uint8_t)*s++) * 16777619u;
    return h;
}

/* --- responses --------------------------------------------------------------- */

static void resp_unref(struct resp *r)
{
    if (!r || --r->refs) return;
    for (uint32_t i = 0; i < r->npieces; i++)
        if (r->obj[i]) axl_obj_free(g.ctx, r->obj[i]);
    axl_mem_free(g.ctx, r->mem);
    free(r);
}

static struct resp *resp_build(struct file *f, int kind, time_t now)
{
    char head[512];
    struct axl_http_resp h = {.status = 200, .minor = 1, .keep_alive = kind != K_CLOSE,
                              .req_minor = kind == K_KA10 ? 0 : 1, .ctype = f->ctype,
                              .clen = f->size, .mtime = f->mtime, .etag = f->etag, .now = now,
                              .server = PROG};
    int hl = axl_http_head_build(&h, head, sizeof(head));
    if (hl < 0) return NULL;
    struct resp *r = calloc(1, sizeof(*r));
    if (!r) return NULL;
    r->len = (uint32_t)hl + (uint32_t)f->size;
    r->head_len = (uint32_t)hl;
    if (axl_mem_alloc(g.ctx, r->len, &r->mem) != 0) {
        free(r);
        return NULL;
    }
    uint8_t *b = axl_mem_base(r->mem);
    memcpy(b, head, (size_t)hl);
    if (f->size) memcpy(b + hl, f->data, f->size);
    r->npieces = (r->len + PIECE - 1) / PIECE;
    for (uint32_t i = 0; g.variant != V_PLAIN && i < r->npieces; i++) {
        uint32_t off = i * PIECE, n = r->len - off < PIECE ? r->len - off : PIECE;
        int rc = axl_obj_register(g.ctx, r->mem, off, n, g.variant == V_MEMCPY, &r->obj[i]);
        if (rc != 0) {
            fprintf(stderr, PROG ": cannot register %s: %s\n", f->path, axl_strerror(rc));
            r->refs = 1;
            resp_unref(r);
            return NULL;
        }
    }
    r->built = now;
    r->refs = 1;
    return r;
}

static struct resp *resp_get(struct file *f, int kind, time_t now)
{
    struct resp *r = f->cur[kind];
    if (r && r->built == now) return r;
    struct resp *n = resp_build(f, kind, now);
    if (!n) return r; /* keep serving the older one */
    f->cur[kind] = n;
    resp_unref(r);
    return n;
}

/* --- the file cache ------------------------------------------------------------ */

static struct file *file_find(const char *path)
{
    for (struct file *f = g.tab[hash_str(path) % NBUCKETS]; f; f = f->next)
        if (!strcmp(f->path, path)) return f;
    return NULL;
}

/* Load path (relative, already checked by axl_http_path). 0, -404, -503. */
static int file_load(const char *path, struct file **out)
{
    int fd = openat(g.rootfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -404;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -404;
    }
    uint64_t size = (uint64_t)st.st_size;
    if (size > (uint64_t)MAX_PIECES * PIECE - 4096 || g.cache_bytes + size > g.cache_max) {
        close(fd);
        g.cache_full++;
        return -503;
    }
    struct file *f = calloc(1, sizeof(*f));
    uint8_t *data = malloc(size ? size : 1);
    char *p = strdup(path);
    if (!f || !data || !p) goto fail;
    uint64_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, data + got, size - got);
        if (n <= 0) goto fail;
        got += (uint64_t)n;
    }
    close(fd);
    f->path = p;
    f->data = data;
    f->size = size;
    f->mtime = st.st_mtime;
    snprintf(f->etag, sizeof(f->etag), "\"%llx-%llx\"", (unsigned long long)size,
             (unsigned long long)st.st_mtime);
    f->ctype = axl_http_mime(path);
    uint32_t b = hash_str(path) % NBUCKETS;
    f->next = g.tab[b];
    g.tab[b] = f;
    g.cache_bytes += size;
    *out = f;
    return 0;
fail:
    close(fd);
    free(f);
    free(data);
    free(p);
    return -503;
}

static void preload_dir(const char *rel, int depth)
{
    if (depth > 16 || g.cache_bytes >= g.preload) return;
    int fd = openat(g.rootfd, rel[0] ? rel : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue; /* hidden files and . .. */
        char p[1024];
        int n = snprintf(p, sizeof(p), "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        if (n < 0 || (size_t)n >= sizeof(p)) continue;
        struct stat st;
        if (fstatat(g.rootfd, p, &st, AT_SYMLINK_NOFOLLOW) < 0) continue;
        if (S_ISDIR(st.st_mode)) {
            preload_dir(p, depth + 1);
        } else if (S_ISREG(st.st_mode) && g.cache_bytes + (uint64_t)st.st_size <= g.preload) {
            struct file *f;
            if (!file_find(p)) (void)file_load(p, &f);
        }
    }
    closedir(d);
}

/* --- connections ----------------------------------------------------------------- */

/* Give the handle back (orderly close, or abort) and retire the struct:
 * events of this batch may still name it, so it is freed after the batch. */
static void conn_end(struct conn *c, int abort_it)
{
    if (c->dead) return;
    c->dead = 1;
    if (c->pend) {
        resp_unref(c->pend);
        c->pend = NULL;
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        g.conns = c->next;
    if (c->next) c->next->prev = c->prev;
    if (abort_it)
        axl_abort(g.ctx, c->s);
    else
        axl_close(g.ctx, c->s);
    c->next = g.grave;
    g.grave = c;
    g.nconns--;
}

static void grave_free(void)
{
    while (g.grave) {
        struct conn *c = g.grave;
        g.grave = c->next;
        free(c->buf);
        free(c);
    }
}

static void conn_shut(struct conn *c)
{
    if (c->closing) return;
    c->closing = 1;
    axl_shutdown(g.ctx, c->s, 1); /* FIN after the queued response */
}

static void send_simple(struct conn *c, int status, int keep, int req_minor, int head_only)
{
    char b[1024];
    char body[256];
    int bl = 0;
    if (status != 304)
        bl = snprintf(body, sizeof(body), "<html><body><h1>%d %s</h1></body></html>\n", status,
                      axl_http_reason(status));
    struct axl_http_resp h = {.status = status, .minor = 1, .keep_alive = keep,
                              .req_minor = req_minor, .ctype = bl ? "text/html; charset=utf-8" : NULL,
                              .clen = (uint64_t)bl, .now = time(NULL), .server = PROG,
                              .allow = status == 405 ? "GET, HEAD" : NULL};
    int hl = axl_http_head_build(&h, b, sizeof(b) - sizeof(body));
    if (hl < 0) return;
    if (bl && !head_only) {
        memcpy(b + hl, body, (size_t)bl);
        hl += bl;
    }
    if (status < 600) g.st[status]++;
    int rc = axl_send(g.ctx, c->s, b, (uint32_t)hl);
    if (rc != hl) g.sends_failed++;
}

/* Answer one parsed request. Returns 0 to go on, -1 when the connection is
 * to be closed after what is queued. */
static int respond(struct conn *c, const struct axl_http_req *r)
{
    int keep = r->keep_alive;
    if (r->method == AXL_HTTP_OTHER) {
        send_simple(c, 405, keep, r->minor, 0);
        return keep ? 0 : -1;
    }
    int head_only = r->method == AXL_HTTP_HEAD;
    char path[1024];
    if (axl_http_path(r->target.p, r->target.n, path, sizeof(path)) < 0) {
        send_simple(c, 400, 0, r->minor, head_only); /* traversal and malformed targets */
        return -1;
    }
    struct file *f = file_find(path);
    if (!f) {
        int rc = file_load(path, &f);
        if (rc < 0) {
            send_simple(c, -rc, keep, r->minor, head_only);
            return keep ? 0 : -1;
        }
    }
    if (axl_http_not_modified(r, f->etag, f->mtime)) {
        char b[512];
        struct axl_http_resp h = {.status = 304, .minor = 1, .keep_alive = keep,
                                  .req_minor = r->minor, .mtime = f->mtime, .etag = f->etag,
                                  .now = time(NULL), .server = PROG};
        int hl = axl_http_head_build(&h, b, sizeof(b));
        g.st[304]++;
        if (hl > 0 && axl_send(g.ctx, c->s, b, (uint32_t)hl) != hl) g.sends_failed++;
        return keep ? 0 : -1;
    }
    int kind = !keep ? K_CLOSE : r->minor == 0 ? K_KA10 : K_KA11;
    struct resp *rp = resp_get(f, kind, time(NULL));
    if (!rp) {
        send_simple(c, 503, 0, r->minor, head_only);
        return -1;
    }
    g.st[200]++;
    rp->refs++; /* held while queued piece by piece */
    c->pend = rp;
    c->pend_piece = 0;
    c->pend_len = head_only ? rp->head_len : rp->len;
    c->pend_close = !keep;
    return 0;
}

/* Queue what the send buffer takes of the pending response. 0: done or
 * waiting for room; -1: the connection was ended. */
static int pump(struct conn *c)
{
    struct resp *rp = c->pend;
    while (rp && c->pend_piece * PIECE < c->pend_len) {
        uint32_t off = c->pend_piece * PIECE;
        uint32_t n = c->pend_len - off < PIECE ? c->pend_len - off : PIECE;
        int rc;
        if (rp->obj[c->pend_piece] && n == (rp->len - off < PIECE ? rp->len - off : PIECE))
            rc = axl_send_obj(g.ctx, c->s, rp->obj[c->pend_piece], (uint64_t)(uintptr_t)rp);
        else /* plain, or HEAD (the head only) */
            rc = axl_send_mem(g.ctx, c->s, rp->mem, off, n, (uint64_t)(uintptr_t)rp);
        if (rc == -EAGAIN) return 0; /* DATA_ACKED brings room */
        if (rc != 0) {
            g.sends_failed++;
            c->pend = NULL;
            resp_unref(rp);
            conn_end(c, 1);
            return -1;
        }
        rp->refs++; /* until DATA_ACKED(rp) */
        c->pend_piece++;
    }
    if (!rp) return 0;
    c->pend = NULL;
    resp_unref(rp);
    if (c->pend_close) conn_shut(c);
    return 0;
}

/* Answer the complete requests received, in order (pipelining): one at a
 * time, the next once the previous response is all queued. */
static void process(struct conn *c, uint64_t now)
{
    if (c->pend && (pump(c) < 0 || c->pend)) return;
    while (!c->closing && !c->dead && !c->pend && c->have) {
        if (c->skip) {
            uint32_t k = c->skip < c->have ? (uint32_t)c->skip : c->have;
            memmove(c->buf, c->buf + k, c->have - k);
            c->have -= k;
            c->skip -= k;
            continue;
        }
        struct axl_http_req r;
        int n = axl_http_parse(c->buf, c->have, g.max_request, &r);
        if (n == AXL_HTTP_INCOMPLETE) {
            if (!c->head_start) c->head_start = now;
            break;
        }
        c->head_start = 0;
        if (n < 0) {
            send_simple(c, -n, 0, 1, 0);
            conn_shut(c);
            return;
        }
        if (r.has_clen && r.clen > g.max_request) {
            send_simple(c, 413, 0, r.minor, 0);
            conn_shut(c);
            return;
        }
        int rc = respond(c, &r); /* r points into c->buf: answer before moving it */
        memmove(c->buf, c->buf + n, c->have - (uint32_t)n);
        c->have -= (uint32_t)n;
        c->skip = r.has_clen ? r.clen : 0;
        if (rc < 0) {
            conn_shut(c);
            return;
        }
        if (c->pend && pump(c) < 0) return;
    }
}

static void on_data(struct conn *c, uint64_t now)
{
    for (;;) {
        uint32_t room = g.max_request - c->have;
        if (!room) break; /* full: read on once requests are answered */
        int n = axl_recv(g.ctx, c->s, c->buf + c->have, room);
        if (n <= 0) break;
        c->last_ns = now;
        if (c->closing) continue; /* discard */
        c->have += (uint32_t)n;
    }
    process(c, now);
}

/* The event's connection: its user pointer, or - for events queued before
 * the socket was accepted and given one - the socket's now. */
static struct conn *conn_of(const struct axl_event *e)
{
    if (e->user || e->type == AXL_EV_NEW_CONN || e->type == AXL_EV_DONE) return e->user;
    return axl_get_user(g.ctx, e->sock);
}

static void accept_all(axl_sock_t l, uint64_t now)
{
    axl_sock_t s;
    while (axl_accept(g.ctx, l, &s) == 0) {
        struct conn *c = NULL;
        if (g.nconns >= g.max_conns || !(c = calloc(1, sizeof(*c))) ||
            !(c->buf = malloc(g.max_request))) {
            if (c) free(c);
            g.refused++;
            axl_abort(g.ctx, s);
            continue;
        }
        c->s = s;
        c->last_ns = now;
        c->next = g.conns;
        if (g.conns) g.conns->prev = c;
        g.conns = c;
        g.nconns++;
        g.accepted++;
        axl_set_user(g.ctx, s, c);
        axl_setopt(g.ctx, s, AXL_SO_NODELAY, 1);
        on_data(c, now); /* bytes that came with the handshake */
    }
}

static void check_timeouts(uint64_t now)
{
    struct conn *n;
    for (struct conn *c = g.conns; c; c = n) { /* O(connections), every 100 ms at most */
        n = c->next;
        if (c->head_start && now - c->head_start > g.header_ns && !c->closing) {
            g.timeouts_header++;
            send_simple(c, 408, 0, 1, 0);
            conn_shut(c);
            c->last_ns = now;
        } else if (now - c->last_ns > g.idle_ns) {
            if (c->closing) {
                conn_end(c, 1); /* the peer never finished: reset */
            } else {
                g.timeouts_idle++;
                conn_shut(c);
                c->last_ns = now;
            }
        }
    }
}

static void dump_stats(void)
{
    FILE *out = stderr;
    if (g.stats_out) {
        out = fopen(g.stats_out, "w");
        if (!out) {
            fprintf(stderr, PROG ": cannot write %s: %s\n", g.stats_out, strerror(errno));
            return;
        }
    }
    static const int codes[] = {200, 304, 400, 404, 405, 408, 413, 414, 501, 503, 505};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        fprintf(out, "HttpRequests%d %llu\n", codes[i], (unsigned long long)g.st[codes[i]]);
    fprintf(out, "HttpConnsAccepted %llu\nHttpConnsRefused %llu\nHttpConnsOpen %u\n",
            (unsigned long long)g.accepted, (unsigned long long)g.refused, g.nconns);
    fprintf(out, "HttpTimeoutsIdle %llu\nHttpTimeoutsHeader %llu\n",
            (unsigned long long)g.timeouts_idle, (unsigned long long)g.timeouts_header);
    fprintf(out, "HttpCacheFull %llu\nHttpCacheBytes %llu\nHttpSendsFailed %llu\n",
            (unsigned long long)g.cache_full, (unsigned long long)g.cache_bytes,
            (unsigned long long)g.sends_failed);
    static const char *const eng[] = {"TcpObjSegsTemplate", "TcpObjSegsRebuilt",
                                      "TcpObjSegsFallback", "TcpOutSegs", "TcpRetransSegs",
                                      "AxlPollSleeps",      "AxlPollSpinHits", "AxlIsoSleeps",
                                      "AxlIsoWakes"};
    for (size_t i = 0; i < sizeof(eng) / sizeof(eng[0]); i++) {
        uint64_t v;
        if (axl_stat(g.ctx, eng[i], &v) == 0) fprintf(out, "%s %llu\n", eng[i], (unsigned long long)v);
    }
    if (out != stderr) fclose(out);
}

int main(int argc, char **argv)
{
    struct axl_mode_flags mf = {0};
    const char *variant = "precopy";
    uint32_t idle_ms = 60000, header_ms = 10000;
    g.listen_port = 80;
    g.max_request = AXL_HTTP_MAX_HEAD_DEFAULT;
    g.max_conns = 4096;
    g.cache_max = 256ull << 20;
    g.preload = 64ull << 20;
    const struct axl_opt opts[] = {
        {"root", 'r', AXL_OPT_STR, "DIR", "directory to serve (required)", &g.root},
        {"listen", 'l', AXL_OPT_U32, "PORT", "TCP port to listen on (default 80)", &g.listen_port, 1,
         65535},
        {"variant", 0, AXL_OPT_STR, "KIND",
         "precopy (default) | memcpy: pre-packetised responses; plain: axl_send_mem", &variant},
        {"max-request", 0, AXL_OPT_U32, "BYTES", "request head limit (default 8192; 413/414)",
         &g.max_request, 256, 1 << 20},
        {"max-conns", 0, AXL_OPT_U32, "N", "connections at most (default 4096)", &g.max_conns, 1,
         1 << 20},
        {"idle-timeout", 0, AXL_OPT_U32, "MS", "close idle connections after MS (default 60000)",
         &idle_ms, 10, 86400000},
        {"header-timeout", 0, AXL_OPT_U32, "MS",
         "a started request must be complete within MS (default 10000; 408)", &header_ms, 10,
         86400000},
        {"cache-max", 0, AXL_OPT_U64, "BYTES", "file cache bound (default 256Mi)", &g.cache_max, 0,
         0},
        {"preload", 0, AXL_OPT_U64, "BYTES", "load files up to BYTES at start (default 64Mi)",
         &g.preload, 0, 0},
        {"stats-out", 0, AXL_OPT_STR, "FILE", "counters at exit and on SIGUSR1 (default stderr)",
         &g.stats_out},
        AXL_MODE_OPTS(&mf),
        {0},
    };
    int first = axl_opts_parse(argc, argv, PROG, "--root DIR [--listen PORT] [options] "
                                               "(--port SPEC --addr CIDR | --stack PATH)",
                               "Serve DIR over HTTP/1.1 (GET, HEAD) on the Axolotl stack; responses "
                               "are pre-packetised objects.",
                               opts);
    if (first < 0) return 2;
    if (first != argc) {
        fprintf(stderr, PROG ": unexpected argument '%s' (see --help)\n", argv[first]);
        return 2;
    }
    if (!g.root) {
        fprintf(stderr, PROG ": --root DIR is required (see --help)\n");
        return 2;
    }
    if (!strcmp(variant, "precopy"))
        g.variant = V_PRECOPY;
    else if (!strcmp(variant, "memcpy"))
        g.variant = V_MEMCPY;
    else if (!strcmp(variant, "plain"))
        g.variant = V_PLAIN;
    else {
        fprintf(stderr, PROG ": --variant: '%s' is not precopy, memcpy or plain\n", variant);
        return 2;
    }
    g.idle_ns = (uint64_t)idle_ms * 1000000ull;
    g.header_ns = (uint64_t)header_ms * 1000000ull;
    g.rootfd = open(g.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (g.rootfd < 0) {
        fprintf(stderr, PROG ": --root %s: %s\n", g.root, strerror(errno));
        return 2;
    }
    struct axl_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.name = PROG;
    cfg.tx_size = AXL_TX_SIZE;
    char err[256];
    if (axl_mode_flags_config(&mf, &cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, PROG ": %s\n", err);
        return 2;
    }
    int rc = axl_open(&g.ctx, &cfg, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, PROG ": %s\n", err[0] ? err : axl_strerror(rc));
        return 1;
    }
    preload_dir("", 0);
    axl_sock_t l;
    if ((rc = axl_socket(g.ctx, AXL_TCP, &l)) != 0 || (rc = axl_bind(g.ctx, l, 0, (uint16_t)g.listen_port)) != 0 ||
        (rc = axl_listen(g.ctx, l, 1024)) != 0) {
        fprintf(stderr, PROG ": cannot listen on port %u: %s\n", g.listen_port, axl_strerror(rc));
        axl_close_ctx(g.ctx);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    fprintf(stderr, PROG ": serving %s on port %u (%s, %llu bytes preloaded)\n", g.root,
            g.listen_port, variant, (unsigned long long)g.cache_bytes);
    struct axl_event ev[MAX_EVENTS];
    uint64_t last_check = now_ns();
    while (!g_stop) {
        int n = axl_poll(g.ctx, ev, MAX_EVENTS, 100000000);
        if (n < 0) {
            fprintf(stderr, PROG ": the stack is gone: %s\n", axl_strerror(n));
            break;
        }
        uint64_t now = now_ns();
        for (int i = 0; i < n; i++) {
            struct axl_event *e = &ev[i];
            struct conn *c = conn_of(e);
            if (c && c->dead) continue;
            switch (e->type) {
            case AXL_EV_NEW_CONN:
                accept_all(e->sock, now);
                break;
            case AXL_EV_NEW_DATA:
                if (c) on_data(c, now);
                break;
            case AXL_EV_DATA_ACKED:
                if (e->cookie) resp_unref((struct resp *)(uintptr_t)e->cookie);
                if (c && !c->dead) {
                    c->last_ns = now;
                    if (c->pend || c->have) on_data(c, now);
                }
                break;
            case AXL_EV_REMOTE_CLOSED:
                if (c) {
                    on_data(c, now);
                    conn_shut(c);
                }
                break;
            case AXL_EV_CLEANUP:
                if (c) conn_end(c, 0);
                break;
            default:
                break;
            }
        }
        grave_free();
        if (now - last_check > 100000000ull) {
            check_timeouts(now);
            grave_free();
            last_check = now;
        }
        if (g_dump) {
            g_dump = 0;
            dump_stats();
        }
    }
    dump_stats();
    while (g.conns) conn_end(g.conns, 0);
    grave_free();
    axl_close_ctx(g.ctx);
    close(g.rootfd);
    return 0;
}
