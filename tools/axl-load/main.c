/* SPDX-License-Identifier: MIT */
/*
 * axl-load - one load generator for HTTP/1.1, DNS and the memcached text
 * protocol, used against Axolotl's servers and their kernel baselines alike
 * (the same client for both sides of every ratio).
 *
 *   axl-load http --target IP:PORT [--path /x] [--connections N]
 *                 [--pipeline D] [--new-conn] ...
 *   axl-load dns  --target IP:PORT --qname NAME[:TYPE] ... [--edns]
 *   axl-load kv   --target IP:PORT [--get-ratio 0.9] [--key-size 32]
 *                 [--value-size 64] [--keys N]
 *   common: --duration SEC | --requests N, --rate R (open loop; default
 *           closed loop), --cpu N, --json FILE, --progress, --timeout SEC
 *
 * Closed loop: every connection keeps --pipeline requests outstanding.
 * Open loop (--rate R): request i is due at start + i/R; latency is measured
 * from when it was due, not from when a connection was free to send it, so
 * a server that falls behind shows it (no coordinated omission).
 * --new-conn: one request per TCP connection; the latency includes the
 * handshake.
 *
 * Client side: kernel sockets by default (epoll, non-blocking, single
 * thread; pin it with --cpu). With the mode flags it runs on Axolotl instead
 * (docs/API.md "Modes"): --port SPEC --addr CIDR (run-to-completion, the
 * engine inside this process, run by the event loop's waits) or --stack PATH
 * (isolated, attached to axl-stackd). Both go through the POSIX layer
 * (include/axl/socket.h): the event loop below is the same code on both
 * client sides, only `struct io` (kernel calls or axp_ calls) differs, so a
 * ratio "our stack / kernel" compares stacks, not two clients. One thread
 * either way (a context is single-threaded).
 *
 * Call chain: main -> parse -> axl_mode_flags_config -> (kernel calls |
 * axp_init + the axp_ calls) -> conn_open -> run { io->epoll_wait -> on_readable
 * (frame responses with src/load/proto.h, record latency in src/load/hist.h)
 * / on_writable / issue (closed: refill; open: due requests) / expire
 * (UDP timeouts) / progress } -> drain -> report (text + JSON).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "axl/axl.h"
#include "axl/mode_flags.h"
#include "axl/socket.h"
#include "core/clock.h"
#include "core/opts.h"
#include "core/rand.h"
#include "load/hist.h"
#include "load/proto.h"

#define PROG "axl-load"
/** PIPE_MAX: outstanding requests per connection at most. */
#define PIPE_MAX 256
/** MAX_QNAMES: --qname entries. */
#define MAX_QNAMES 64
/** RBUF_MIN: initial receive buffer per connection (grows to hold a response). */
#define RBUF_MIN 16384
/** RBUF_MAX: a response larger than this is an error. */
#define RBUF_MAX (64u << 20)
/** AXL_LOAD_STACK_CONNS_MAX: --connections on our stack (a context holds 65536 sockets). */
#define AXL_LOAD_STACK_CONNS_MAX 65000u

enum proto { P_HTTP = 1, P_DNS, P_KV };
enum client { CL_KERNEL = 0, CL_RTC, CL_ISOLATED };

/* The socket calls of one client side: the kernel's, or the POSIX layer's
 * over Axolotl (same signatures; axl/socket.h). Read-only tables. */
struct io {
    int (*socket)(int, int, int);
    int (*connect)(int, const struct sockaddr *, socklen_t);
    ssize_t (*send)(int, const void *, size_t, int);
    ssize_t (*recv)(int, void *, size_t, int);
    int (*setsockopt)(int, int, int, const void *, socklen_t);
    int (*getsockopt)(int, int, int, void *, socklen_t *);
    int (*close)(int);
    int (*epoll_create1)(int);
    int (*epoll_ctl)(int, int, int, struct epoll_event *);
    int (*epoll_wait)(int, struct epoll_event *, int, int);
};
static const struct io io_kernel = {socket,     connect, send,          recv,      setsockopt,
                                    getsockopt, close,   epoll_create1, epoll_ctl, epoll_wait};
static const struct io io_axl = {axp_socket,     axp_connect,    axp_send,  axp_recv,
                                 axp_setsockopt, axp_getsockopt, axp_close, axp_epoll_create1,
                                 axp_epoll_ctl,  axp_epoll_wait};
enum { CS_IDLE = 0, CS_CONNECTING, CS_OPEN };

struct cfg {
    enum proto proto;
    struct sockaddr_in target;
    const char *target_str;
    uint32_t conns, pipeline, requests, cpu_set, keys, key_size, value_size;
    int cpu, new_conn, edns, progress;
    double duration, rate, timeout, get_ratio;
    const char *path, *host, *json;
    const char *qname_arg[MAX_QNAMES];
    uint32_t nqname;
    /* resolved */
    uint8_t *dnsq[MAX_QNAMES];
    size_t dnsq_len[MAX_QNAMES];
};

struct inflight {
    uint64_t t0;  /* when it was due (open loop) or sent */
    uint16_t id;  /* DNS: the query id */
    uint8_t kind; /* KV: 1 get, 2 set */
};

struct conn {
    int fd, state, idx;
    uint64_t conn_t0; /* --new-conn: when the connect began */
    struct inflight q[PIPE_MAX];
    uint32_t qh, qn; /* FIFO of outstanding requests (TCP) / slots in use (UDP) */
    uint8_t *rbuf;
    size_t rlen, rcap;
    uint8_t *wbuf;
    size_t wlen, woff, wcap;
    int want_out; /* EPOLLOUT registered */
};

struct counters {
    uint64_t sent, done, ok, bytes_in;
    uint64_t connects, connect_fail, resets, bad_resp, timeouts, backlog_max, unsent;
    uint64_t http[6]; /* by status class 1xx..5xx (index 1..5) */
    uint64_t kv[6];   /* by enum load_kv_result */
    uint64_t rcode[16];
    uint64_t truncated;
};

/* Engine counters read at the end when the client side is our stack
 * (net/stats.h names; isolated mode: summed over axl-stackd's replicas, so
 * other applications' connections count too). */
static const char *const stack_ctr[] = {"TcpActiveOpens", "TcpAttemptFails", "TcpEstabResets",
                                        "TcpRetransSegs", "TcpOutRsts"};
#define NSTACK_CTR (sizeof(stack_ctr) / sizeof(stack_ctr[0]))

struct load {
    struct cfg c;
    const struct io *io;
    enum client client;
    int ep;
    struct conn *conns;
    struct hist h, h_tick;
    struct counters n, n_tick;
    struct axl_rand rng;
    uint64_t t_start, t_end, next_due, due_i, backlog;
    int stopping;
    uint8_t *value; /* KV value bytes */
    uint64_t stack_val[NSTACK_CTR];
    int stack_have[NSTACK_CTR];
    char host_hdr[64];
};

static volatile sig_atomic_t g_stop; /* set by SIGINT/SIGTERM (not packet path) */
static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void die(const char *msg)
{
    fprintf(stderr, "%s: %s\n", PROG, msg);
    exit(1);
}

/* ---- connections ------------------------------------------------------------------ */

static void ep_set(struct load *L, struct conn *c, int out)
{
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0),
                             .data.u32 = (uint32_t)c->idx};
    if (L->io->epoll_ctl(L->ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl MOD failed");
    c->want_out = out;
}

static int conn_open(struct load *L, struct conn *c)
{
    int udp = L->c.proto == P_DNS;
    int fd =
        L->io->socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fprintf(stderr, "%s: socket: %s\n", PROG, strerror(errno));
        return -1;
    }
    if (!udp) {
        int one = 1;
        L->io->setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    c->conn_t0 = axl_clock_ns();
    L->n.connects++;
    int r = L->io->connect(fd, (struct sockaddr *)&L->c.target, sizeof(L->c.target));
    if (r < 0 && errno != EINPROGRESS) {
        L->n.connect_fail++;
        L->io->close(fd);
        return -1;
    }
    c->fd = fd;
    c->state = r == 0 || udp ? CS_OPEN : CS_CONNECTING;
    c->qh = c->qn = 0;
    c->rlen = c->wlen = c->woff = 0;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)c->idx};
    if (L->io->epoll_ctl(L->ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl ADD failed");
    c->want_out = 1;
    return 0;
}

static void conn_close(struct load *L, struct conn *c)
{
    if (c->fd >= 0) {
        L->io->epoll_ctl(L->ep, EPOLL_CTL_DEL, c->fd, NULL);
        L->io->close(c->fd);
    }
    c->fd = -1;
    c->state = CS_IDLE;
    c->qh = c->qn = 0;
    c->rlen = c->wlen = c->woff = 0;
}

/* A connection failed with requests outstanding: they are lost. */
static void conn_fail(struct load *L, struct conn *c, uint64_t *reason)
{
    (*reason)++;
    conn_close(L, c);
}

static int wbuf_reserve(struct conn *c, size_t more)
{
    if (c->wlen + more <= c->wcap) return 0;
    size_t cap = c->wcap ? c->wcap : 4096;
    while (cap < c->wlen + more)
        cap *= 2;
    uint8_t *p = realloc(c->wbuf, cap);
    if (!p) return -1;
    c->wbuf = p;
    c->wcap = cap;
    return 0;
}

static void flush_out(struct load *L, struct conn *c)
{
    while (c->woff < c->wlen) {
        ssize_t k = L->io->send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EAGAIN) break;
            conn_fail(L, c, &L->n.resets);
            return;
        }
        c->woff += (size_t)k;
    }
    if (c->woff == c->wlen) c->woff = c->wlen = 0;
    int out = c->wlen > 0 || c->state == CS_CONNECTING;
    if (out != c->want_out) ep_set(L, c, out);
}

/* ---- requests ----------------------------------------------------------------------- */

static void key_of(struct load *L, uint32_t k, char *buf)
{
    uint32_t ks = L->c.key_size;
    snprintf(buf, ks + 1, "k%0*u", (int)ks - 1, k);
}

/* Queue one request on c (time t0). 0, or -1 if it cannot be built. */
static int issue(struct load *L, struct conn *c, uint64_t t0)
{
    struct inflight *f;
    if (L->c.proto == P_DNS) {
        uint32_t i = L->c.nqname == 1 ? 0 : axl_rand_below(&L->rng, L->c.nqname);
        uint8_t q[512];
        size_t len = L->c.dnsq_len[i];
        memcpy(q, L->c.dnsq[i], len);
        uint16_t id = (uint16_t)axl_rand_u64(&L->rng);
        q[0] = (uint8_t)(id >> 8);
        q[1] = (uint8_t)id;
        /* a free slot (UDP answers come in any order) */
        uint32_t s = 0;
        while (s < PIPE_MAX && c->q[s].t0)
            s++;
        if (s == PIPE_MAX) return -1;
        if (L->io->send(c->fd, q, len, 0) < 0) {
            if (errno == EAGAIN || errno == ENOBUFS) return -1;
            L->n.resets++;
            return -1;
        }
        c->q[s] = (struct inflight){.t0 = t0 ? t0 : 1, .id = id};
        c->qn++;
        L->n.sent++;
        return 0;
    }
    if (c->qn == PIPE_MAX) return -1;
    f = &c->q[(c->qh + c->qn) % PIPE_MAX];
    size_t len = 0;
    if (L->c.proto == P_HTTP) {
        if (wbuf_reserve(c, 1024) < 0) return -1;
        len = load_http_request((char *)c->wbuf + c->wlen, c->wcap - c->wlen, L->host_hdr,
                                L->c.path, L->c.new_conn);
        f->kind = 0;
    } else {
        char key[260];
        key_of(L, axl_rand_below(&L->rng, L->c.keys), key);
        int get = axl_rand_u64(&L->rng) % 1000000 < (uint64_t)(L->c.get_ratio * 1e6);
        if (wbuf_reserve(c, L->c.value_size + 600) < 0) return -1;
        len = get ? load_kv_get((char *)c->wbuf + c->wlen, c->wcap - c->wlen, key)
                  : load_kv_set((char *)c->wbuf + c->wlen, c->wcap - c->wlen, key, L->value,
                                L->c.value_size);
        f->kind = get ? 1 : 2;
    }
    if (len == 0) return -1;
    c->wlen += len;
    f->t0 = t0;
    c->qn++;
    L->n.sent++;
    return 0;
}

static void record(struct load *L, uint64_t t0, int ok)
{
    uint64_t now = axl_clock_ns(), d = now > t0 ? now - t0 : 0;
    L->n.done++;
    if (ok) L->n.ok++;
    hist_add(&L->h, d);
    hist_add(&L->h_tick, d);
}

/* ---- responses ------------------------------------------------------------------------ */

static void on_tcp_data(struct load *L, struct conn *c, int eof)
{
    for (;;) {
        if (c->qn == 0) {
            if (c->rlen) { /* bytes nobody asked for */
                conn_fail(L, c, &L->n.bad_resp);
            }
            return;
        }
        long k;
        int st = 0, res = 0, closes = 0;
        if (L->c.proto == P_HTTP)
            k = load_http_response(c->rbuf, c->rlen, eof, &st, &closes);
        else
            k = load_kv_response(c->rbuf, c->rlen, &res);
        if (k == 0) {
            if (eof) conn_fail(L, c, &L->n.resets);
            return;
        }
        if (k < 0) {
            conn_fail(L, c, &L->n.bad_resp);
            return;
        }
        struct inflight *f = &c->q[c->qh];
        int ok;
        if (L->c.proto == P_HTTP) {
            if (st < 200) { /* 1xx: interim, the final response follows */
                memmove(c->rbuf, c->rbuf + k, c->rlen - (size_t)k);
                c->rlen -= (size_t)k;
                continue;
            }
            L->n.http[st / 100]++;
            ok = st < 400;
        } else {
            L->n.kv[res]++;
            ok = res != LOAD_KV_ERROR;
        }
        record(L, f->t0, ok);
        c->qh = (c->qh + 1) % PIPE_MAX;
        c->qn--;
        memmove(c->rbuf, c->rbuf + k, c->rlen - (size_t)k);
        c->rlen -= (size_t)k;
        if (L->c.new_conn || closes) { /* one request per connection, or the server
                                             said it closes: requests queued behind this
                                             one are not answered, nor counted */
            L->n.sent -= c->qn;
            conn_close(L, c);
            return;
        }
    }
}

static void on_readable(struct load *L, struct conn *c)
{
    if (L->c.proto == P_DNS) {
        uint8_t buf[65536];
        for (int i = 0; i < 64; i++) {
            ssize_t k = L->io->recv(c->fd, buf, sizeof(buf), 0);
            if (k < 0) {
                if (errno != EAGAIN) L->n.resets++; /* ICMP port unreachable ... */
                return;
            }
            L->n.bytes_in += (uint64_t)k;
            uint16_t id;
            int rc, tc;
            if (load_dns_response(buf, (size_t)k, &id, &rc, &tc) < 0) {
                L->n.bad_resp++;
                continue;
            }
            uint32_t s = 0;
            while (s < PIPE_MAX && !(c->q[s].t0 && c->q[s].id == id))
                s++;
            if (s == PIPE_MAX) { /* late (already timed out) or forged */
                L->n.bad_resp++;
                continue;
            }
            L->n.rcode[rc]++;
            if (tc) L->n.truncated++;
            record(L, c->q[s].t0, rc == 0 || rc == 3); /* NOERROR, NXDOMAIN: answers */
            c->q[s].t0 = 0;
            c->qn--;
        }
        return;
    }
    for (;;) {
        if (c->rcap - c->rlen < 4096) {
            size_t cap = c->rcap ? c->rcap * 2 : RBUF_MIN;
            if (cap > RBUF_MAX) {
                conn_fail(L, c, &L->n.bad_resp);
                return;
            }
            uint8_t *p = realloc(c->rbuf, cap);
            if (!p) die("out of memory");
            c->rbuf = p;
            c->rcap = cap;
        }
        ssize_t k = L->io->recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
        if (k < 0) {
            if (errno == EAGAIN) return;
            conn_fail(L, c, &L->n.resets);
            return;
        }
        if (k == 0) {
            on_tcp_data(L, c, 1);
            if (c->fd >= 0) conn_close(L, c);
            return;
        }
        L->n.bytes_in += (uint64_t)k;
        c->rlen += (size_t)k;
        on_tcp_data(L, c, 0);
        if (c->fd < 0) return;
    }
}

/* ---- driving ----------------------------------------------------------------------------- */

static int may_issue(struct load *L)
{
    return !L->stopping && (L->c.requests == 0 || L->n.sent < L->c.requests);
}

/* Closed loop: top every open connection up to the pipeline depth. */
static void refill(struct load *L, struct conn *c)
{
    if (L->c.rate > 0 || c->fd < 0) return;
    if (c->state != CS_OPEN) return;
    uint32_t depth = L->c.new_conn ? 1 : L->c.pipeline;
    uint64_t now = axl_clock_ns();
    while (c->qn < depth && may_issue(L))
        if (issue(L, c, now) < 0) break;
    if (c->wlen) flush_out(L, c);
}

/* Open loop: issue what is due, on the least loaded open connections. */
static void issue_due(struct load *L)
{
    if (L->c.rate <= 0) return;
    uint64_t now = axl_clock_ns();
    double gap = 1e9 / L->c.rate;
    while (may_issue(L) && L->next_due <= now) {
        struct conn *best = NULL;
        for (uint32_t i = 0; i < L->c.conns; i++) {
            struct conn *c = &L->conns[i];
            uint32_t depth = L->c.new_conn ? 1 : L->c.pipeline;
            if (c->state == CS_OPEN && c->qn < depth && (!best || c->qn < best->qn)) best = c;
        }
        if (!best || issue(L, best, L->next_due) < 0) { /* everyone busy: it waits */
            uint64_t late = (now - L->next_due) / (uint64_t)gap;
            if (late > L->n.backlog_max) L->n.backlog_max = late;
            break;
        }
        L->due_i++;
        L->next_due = L->t_start + (uint64_t)((double)L->due_i * gap);
    }
    for (uint32_t i = 0; i < L->c.conns; i++)
        if (L->conns[i].wlen && L->conns[i].fd >= 0) flush_out(L, &L->conns[i]);
}

/* UDP: queries unanswered for --timeout are lost. */
static void expire(struct load *L)
{
    if (L->c.proto != P_DNS) return;
    uint64_t now = axl_clock_ns(), lim = (uint64_t)(L->c.timeout * 1e9);
    for (uint32_t i = 0; i < L->c.conns; i++) {
        struct conn *c = &L->conns[i];
        if (!c->qn) continue;
        for (uint32_t s = 0; s < PIPE_MAX; s++)
            if (c->q[s].t0 && now - c->q[s].t0 > lim) {
                c->q[s].t0 = 0;
                c->qn--;
                L->n.timeouts++;
                L->n.done++;
            }
    }
}

static uint64_t outstanding(const struct load *L)
{
    uint64_t k = 0;
    for (uint32_t i = 0; i < L->c.conns; i++)
        if (L->conns[i].fd >= 0) k += L->conns[i].qn;
    return k;
}

static uint64_t errors(const struct counters *n)
{
    return n->connect_fail + n->resets + n->bad_resp + n->timeouts + n->http[4] + n->http[5] +
           n->kv[LOAD_KV_ERROR] + (n->rcode[1] + n->rcode[2] + n->rcode[5]);
}

static void progress(struct load *L, uint64_t now, uint64_t *last)
{
    if (now - *last < 1000000000ull) return;
    double dt = (double)(now - *last) / 1e9;
    uint64_t d = L->n.done - L->n_tick.done;
    fprintf(stderr, "[%6.1fs] %10.0f req/s  p50 %7.1f us  p99 %8.1f us  errors %llu\n",
            (double)(now - L->t_start) / 1e9, (double)d / dt, hist_pct(&L->h_tick, 0.5) / 1e3,
            hist_pct(&L->h_tick, 0.99) / 1e3, (unsigned long long)errors(&L->n));
    L->n_tick = L->n;
    hist_init(&L->h_tick);
    *last = now;
}

static void run(struct load *L)
{
    struct epoll_event evs[256];
    uint64_t last_prog = L->t_start;
    uint64_t drain_until = 0;
    for (;;) {
        uint64_t now = axl_clock_ns();
        if (!L->stopping &&
            (now >= L->t_end || g_stop || (L->c.requests && L->n.sent >= L->c.requests))) {
            L->stopping = 1;
            drain_until = now + (uint64_t)(L->c.timeout * 1e9);
        }
        if (L->stopping && (outstanding(L) == 0 || now >= drain_until)) break;
        /* (re)open connections that are closed */
        if (!L->stopping)
            for (uint32_t i = 0; i < L->c.conns; i++)
                if (L->conns[i].fd < 0 && conn_open(L, &L->conns[i]) < 0 && !L->c.new_conn) {
                    L->stopping = 1; /* cannot even connect: stop, report */
                    drain_until = now;
                }
        issue_due(L);
        int timeout_ms = 1;
        if (L->c.rate <= 0 && L->c.proto != P_DNS) timeout_ms = 50;
        int n = L->io->epoll_wait(L->ep, evs, 256, timeout_ms);
        for (int i = 0; i < n; i++) {
            struct conn *c = &L->conns[evs[i].data.u32];
            if (c->fd < 0) continue;
            if (c->state == CS_CONNECTING && (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
                int err = 0;
                socklen_t el = sizeof(err);
                L->io->getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                if (err) {
                    conn_fail(L, c, &L->n.connect_fail);
                    continue;
                }
                c->state = CS_OPEN;
            }
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(L, c);
            if (c->fd >= 0 && (evs[i].events & EPOLLOUT)) flush_out(L, c);
            if (c->fd >= 0) refill(L, c);
        }
        if (L->c.rate <= 0)
            for (uint32_t i = 0; i < L->c.conns; i++) /* newly opened ones, refused sends */
                if (L->conns[i].state == CS_OPEN &&
                    L->conns[i].qn < (L->c.new_conn ? 1 : L->c.pipeline))
                    refill(L, &L->conns[i]);
        expire(L);
        if (L->c.progress) progress(L, axl_clock_ns(), &last_prog);
    }
}

/* ---- report -------------------------------------------------------------------------------- */

static void report(struct load *L, FILE *out, int json, double secs)
{
    const struct counters *n = &L->n;
    double rps = secs > 0 ? (double)n->done / secs : 0;
    static const char *const pname[] = {"", "http", "dns", "kv"};
    static const char *const cname[] = {"kernel", "rtc", "isolated"};
    const double q[] = {0.5, 0.9, 0.99, 0.999};
    const char *const qn[] = {"p50", "p90", "p99", "p999"};
    if (!json) {
        fprintf(
            out,
            "%s %s://%s from %s sockets: %llu requests in %.2f s (%.0f/s), %llu ok, %llu errors\n",
            PROG, pname[L->c.proto], L->c.target_str,
            L->client == CL_KERNEL ? "kernel"
            : L->client == CL_RTC  ? "Axolotl (run-to-completion)"
                                   : "Axolotl (isolated)",
            (unsigned long long)n->done, secs, rps, (unsigned long long)n->ok,
            (unsigned long long)errors(n));
        fprintf(out, "latency us: mean %.1f", hist_mean(&L->h) / 1e3);
        for (int i = 0; i < 4; i++)
            fprintf(out, " %s %.1f", qn[i], hist_pct(&L->h, q[i]) / 1e3);
        fprintf(out, " max %.1f\n", L->h.n ? L->h.max / 1e3 : 0.0);
        fprintf(out,
                "connections %llu (failed %llu), resets %llu, bad responses %llu, timeouts %llu\n",
                (unsigned long long)n->connects, (unsigned long long)n->connect_fail,
                (unsigned long long)n->resets, (unsigned long long)n->bad_resp,
                (unsigned long long)n->timeouts);
        if (L->c.proto == P_HTTP)
            fprintf(out, "status: 2xx %llu 3xx %llu 4xx %llu 5xx %llu\n",
                    (unsigned long long)n->http[2], (unsigned long long)n->http[3],
                    (unsigned long long)n->http[4], (unsigned long long)n->http[5]);
        if (L->c.proto == P_KV)
            fprintf(out, "kv: hits %llu misses %llu stored %llu other %llu errors %llu\n",
                    (unsigned long long)n->kv[1], (unsigned long long)n->kv[2],
                    (unsigned long long)n->kv[3], (unsigned long long)n->kv[4],
                    (unsigned long long)n->kv[5]);
        if (L->c.proto == P_DNS)
            fprintf(out,
                    "dns: noerror %llu nxdomain %llu servfail %llu refused %llu formerr %llu "
                    "truncated %llu\n",
                    (unsigned long long)n->rcode[0], (unsigned long long)n->rcode[3],
                    (unsigned long long)n->rcode[2], (unsigned long long)n->rcode[5],
                    (unsigned long long)n->rcode[1], (unsigned long long)n->truncated);
        if (L->c.rate > 0)
            fprintf(out,
                    "open loop at %.0f/s: longest backlog %llu requests, %llu due but never "
                    "sent (the server was behind)\n",
                    L->c.rate, (unsigned long long)n->backlog_max, (unsigned long long)n->unsent);
        if (L->client != CL_KERNEL) {
            fprintf(out, "stack:");
            for (size_t i = 0; i < NSTACK_CTR; i++)
                if (L->stack_have[i])
                    fprintf(out, " %s %llu", stack_ctr[i], (unsigned long long)L->stack_val[i]);
            fprintf(out, "\n");
        }
        return;
    }
    fprintf(out,
            "{\"tool\":\"%s\",\"proto\":\"%s\",\"target\":\"%s\",\"client\":\"%s\",\"mode\":\"%s\","
            "\"connections\":%u,\"pipeline\":%u,\"new_conn\":%s,\"rate\":%.1f,"
            "\"seconds\":%.3f,\"requests\":%llu,\"ok\":%llu,\"errors\":%llu,\"rps\":%.1f,"
            "\"bytes_in\":%llu,\"latency_us\":{\"mean\":%.2f",
            PROG, pname[L->c.proto], L->c.target_str, cname[L->client],
            L->c.rate > 0 ? "open" : "closed", L->c.conns, L->c.pipeline,
            L->c.new_conn ? "true" : "false", L->c.rate, secs, (unsigned long long)n->done,
            (unsigned long long)n->ok, (unsigned long long)errors(n), rps,
            (unsigned long long)n->bytes_in, hist_mean(&L->h) / 1e3);
    for (int i = 0; i < 4; i++)
        fprintf(out, ",\"%s\":%.2f", qn[i], hist_pct(&L->h, q[i]) / 1e3);
    fprintf(out, ",\"max\":%.2f},", L->h.n ? L->h.max / 1e3 : 0.0);
    fprintf(out,
            "\"counts\":{\"connects\":%llu,\"connect_fail\":%llu,\"resets\":%llu,"
            "\"bad_responses\":%llu,\"timeouts\":%llu,\"backlog_max\":%llu,\"unsent\":%llu,"
            "\"http_2xx\":%llu,\"http_3xx\":%llu,\"http_4xx\":%llu,\"http_5xx\":%llu,"
            "\"kv_hits\":%llu,\"kv_misses\":%llu,\"kv_stored\":%llu,\"kv_errors\":%llu,"
            "\"dns_noerror\":%llu,\"dns_nxdomain\":%llu,\"dns_refused\":%llu,"
            "\"dns_truncated\":%llu}",
            (unsigned long long)n->connects, (unsigned long long)n->connect_fail,
            (unsigned long long)n->resets, (unsigned long long)n->bad_resp,
            (unsigned long long)n->timeouts, (unsigned long long)n->backlog_max,
            (unsigned long long)n->unsent, (unsigned long long)n->http[2],
            (unsigned long long)n->http[3], (unsigned long long)n->http[4],
            (unsigned long long)n->http[5], (unsigned long long)n->kv[1],
            (unsigned long long)n->kv[2], (unsigned long long)n->kv[3],
            (unsigned long long)n->kv[5], (unsigned long long)n->rcode[0],
            (unsigned long long)n->rcode[3], (unsigned long long)n->rcode[5],
            (unsigned long long)n->truncated);
    if (L->client != CL_KERNEL) {
        fprintf(out, ",\"stack\":{");
        const char *sep = "";
        for (size_t i = 0; i < NSTACK_CTR; i++)
            if (L->stack_have[i]) {
                fprintf(out, "%s\"%s\":%llu", sep, stack_ctr[i],
                        (unsigned long long)L->stack_val[i]);
                sep = ",";
            }
        fprintf(out, "}");
    }
    fprintf(out, "}\n");
}

/* ---- set-up ------------------------------------------------------------------------------ */

static int parse_target(const char *s, struct sockaddr_in *sa)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof(host)) return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    uint32_t a;
    uint64_t port;
    if (axl_parse_ipv4(host, &a) < 0 || axl_parse_u64(colon + 1, &port) < 0 || port == 0 ||
        port > 65535)
        return -1;
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_addr.s_addr = htonl(a);
    sa->sin_port = htons((uint16_t)port);
    return 0;
}

int main(int argc, char **argv)
{
    static struct load L; /* large (histograms); one per process */
    struct cfg *c = &L.c;
    c->conns = 0;
    c->pipeline = 1;
    c->duration = 10;
    c->timeout = 1;
    c->cpu = -1;
    c->path = "/";
    c->keys = 1000;
    c->key_size = 32;
    c->value_size = 64;
    c->get_ratio = 0.9;
    uint32_t cpu = 0xffffffffu;
    struct axl_mode_flags mf = {0};
    const struct axl_opt opts[] = {
        {"target", 't', AXL_OPT_STR, "IP:PORT", "the server (required)", &c->target_str},
        {"connections", 'c', AXL_OPT_U32, "N",
         "connections (TCP) or sockets (DNS) (default: 100 http/kv, 8 dns)", &c->conns, 1, 65536},
        {"pipeline", 'P', AXL_OPT_U32, "D", "requests outstanding per connection (default 1)",
         &c->pipeline, 1, PIPE_MAX},
        {"duration", 'd', AXL_OPT_DOUBLE, "SEC", "run this long (default 10)", &c->duration, 0.01,
         86400},
        {"requests", 'n', AXL_OPT_U32, "N", "stop after N requests (default: by --duration)",
         &c->requests},
        {"rate", 'R', AXL_OPT_DOUBLE, "R", "open loop: R requests/s in all (default: closed loop)",
         &c->rate, 0, 1e9},
        {"new-conn", 0, AXL_OPT_FLAG, NULL, "http/kv: a new connection for every request",
         &c->new_conn},
        {"timeout", 0, AXL_OPT_DOUBLE, "SEC",
         "a DNS query unanswered this long is lost; also the drain time at the end (default 1)",
         &c->timeout, 0.001, 600},
        {"cpu", 0, AXL_OPT_U32, "N", "pin to CPU N", &cpu, 0, 4095},
        {"json", 'j', AXL_OPT_STR, "FILE", "write the results as JSON to FILE (- = stdout)",
         &c->json},
        {"progress", 0, AXL_OPT_FLAG, NULL, "a progress line every second (stderr)", &c->progress},
        {"path", 0, AXL_OPT_STR, "PATH", "http: the URL path (default /)", &c->path},
        {"host", 0, AXL_OPT_STR, "NAME", "http: the Host header (default: the target address)",
         &c->host},
        {"qname", 'q', AXL_OPT_MULTI, "NAME[:TYPE]",
         "dns: a query (type default A); repeatable, picked at random", c->qname_arg, 0, MAX_QNAMES,
         &c->nqname},
        {"edns", 0, AXL_OPT_FLAG, NULL, "dns: add an EDNS0 OPT record (4096-byte UDP payload)",
         &c->edns},
        {"get-ratio", 0, AXL_OPT_DOUBLE, "F", "kv: fraction of gets, the rest sets (default 0.9)",
         &c->get_ratio, 0, 1},
        {"keys", 0, AXL_OPT_U32, "N", "kv: distinct keys (default 1000)", &c->keys, 1, 100000000},
        {"key-size", 0, AXL_OPT_U32, "B", "kv: key length (default 32)", &c->key_size, 2, 250},
        {"value-size", 0, AXL_OPT_U32, "B", "kv: value length (default 64)", &c->value_size, 0,
         1u << 20},
        AXL_MODE_OPTS(&mf),
        {0},
    };
    int first = axl_opts_parse(
        argc, argv, PROG,
        "http|dns|kv --target IP:PORT [options] [--port SPEC --addr CIDR [--gw IP] | --stack PATH]",
        "Load generator for HTTP/1.1, DNS (UDP) and the memcached text protocol: closed loop "
        "(each connection keeps --pipeline requests outstanding) or open loop (--rate, latency "
        "measured from when each request was due). Prints requests/s, errors by kind and a "
        "latency histogram (p50/p90/p99/p99.9); --json for machines. The client side is the "
        "kernel's sockets unless a mode flag puts it on the Axolotl stack: --port/--addr "
        "(run-to-completion, the stack inside this process on one port queue) or --stack "
        "(isolated, attached to axl-stackd); the same event loop runs over the POSIX layer "
        "then. One thread in every mode (one stack context). "
        "Exit status: 0 when every request got a good answer, 1 when some failed, 2 usage.",
        opts);
    if (first < 0) return 2;
    if (first != argc - 1) {
        fprintf(stderr, "%s: give exactly one protocol: http, dns or kv (try --help)\n", PROG);
        return 2;
    }
    const char *p = argv[first];
    c->proto = !strcmp(p, "http")  ? P_HTTP
               : !strcmp(p, "dns") ? P_DNS
               : !strcmp(p, "kv")  ? P_KV
                                   : 0;
    if (!c->proto) {
        fprintf(stderr, "%s: unknown protocol '%s': http, dns or kv\n", PROG, p);
        return 2;
    }
    if (!c->target_str || parse_target(c->target_str, &c->target) < 0) {
        fprintf(stderr, "%s: --target IP:PORT is required (e.g. 198.18.0.2:80)\n", PROG);
        return 2;
    }
    if (!c->conns) c->conns = c->proto == P_DNS ? 8 : 100;
    if (c->new_conn && c->proto == P_DNS) {
        fprintf(stderr, "%s: --new-conn is for http and kv\n", PROG);
        return 2;
    }
    if (c->path[0] != '/' || strpbrk(c->path, " \r\n")) {
        fprintf(stderr, "%s: --path must start with / and hold no spaces\n", PROG);
        return 2;
    }
    if (c->proto == P_DNS) {
        if (c->nqname == 0) {
            fprintf(stderr, "%s: dns needs at least one --qname NAME[:TYPE]\n", PROG);
            return 2;
        }
        for (uint32_t i = 0; i < c->nqname; i++) {
            char name[300];
            snprintf(name, sizeof(name), "%s", c->qname_arg[i]);
            char *colon = strchr(name, ':');
            int t = 1;
            if (colon) {
                *colon = 0;
                if ((t = load_dns_qtype(colon + 1)) < 0) {
                    fprintf(stderr, "%s: --qname %s: unknown type '%s'\n", PROG, c->qname_arg[i],
                            colon + 1);
                    return 2;
                }
            }
            c->dnsq[i] = malloc(512);
            if (!c->dnsq[i]) die("out of memory");
            c->dnsq_len[i] = load_dns_query(c->dnsq[i], 512, 0, name, (uint16_t)t, c->edns);
            if (!c->dnsq_len[i]) {
                fprintf(stderr, "%s: --qname %s: not a valid domain name\n", PROG, c->qname_arg[i]);
                return 2;
            }
        }
    }
    if (c->proto == P_KV) {
        char probe[16];
        snprintf(probe, sizeof(probe), "%u", c->keys - 1);
        if (strlen(probe) + 1 > c->key_size) {
            fprintf(stderr, "%s: --key-size %u is too short for %u keys\n", PROG, c->key_size,
                    c->keys);
            return 2;
        }
        L.value = malloc(c->value_size + 1);
        if (!L.value) die("out of memory");
        for (uint32_t i = 0; i < c->value_size; i++)
            L.value[i] = (uint8_t)('a' + i % 26);
    }
    if (c->host)
        snprintf(L.host_hdr, sizeof(L.host_hdr), "%s", c->host);
    else
        snprintf(L.host_hdr, sizeof(L.host_hdr), "%s", c->target_str);
    struct axl_config acfg;
    memset(&acfg, 0, sizeof(acfg));
    acfg.name = PROG;
    if (axl_mode_flags_given(&mf)) {
        char err[512];
        if (axl_mode_flags_config(&mf, &acfg, err, sizeof(err)) < 0) {
            fprintf(stderr, "%s: %s\n", PROG, err);
            return 2;
        }
        if (c->conns > AXL_LOAD_STACK_CONNS_MAX) {
            fprintf(stderr, "%s: --connections %u: at most %u on the Axolotl stack (one context)\n",
                    PROG, c->conns, AXL_LOAD_STACK_CONNS_MAX);
            return 2;
        }
        L.client = acfg.port ? CL_RTC : CL_ISOLATED;
        /* a socket per connection plus slack for sockets still closing */
        acfg.max_socks = c->conns + 64 > 4096 ? c->conns + 64 : 4096;
    }
    if (cpu != 0xffffffffu) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        if (sched_setaffinity(0, sizeof(set), &set) < 0) {
            fprintf(stderr, "%s: --cpu %u: %s\n", PROG, cpu, strerror(errno));
            return 2;
        }
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < c->conns + 64ull) {
        rl.rlim_cur = rl.rlim_max < c->conns + 64ull ? rl.rlim_max : c->conns + 64ull;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);

    L.io = &io_kernel;
    if (L.client != CL_KERNEL) {
        char err[512];
        if (axp_init(&acfg, err, sizeof(err)) < 0) {
            fprintf(stderr, "%s: %s\n", PROG, err[0] ? err : strerror(errno));
            return 1;
        }
        atexit(axp_exit); /* also on die(): RTC detaches from the port */
        L.io = &io_axl;
    }
    L.ep = L.io->epoll_create1(EPOLL_CLOEXEC);
    if (L.ep < 0) die("epoll_create1 failed");
    L.conns = calloc(c->conns, sizeof(*L.conns));
    if (!L.conns) die("out of memory");
    axl_rand_seed(&L.rng, axl_clock_ns() ^ (uint64_t)getpid());
    hist_init(&L.h);
    hist_init(&L.h_tick);
    L.t_start = axl_clock_ns();
    L.t_end = L.t_start + (uint64_t)(c->duration * 1e9);
    L.next_due = L.t_start;
    for (uint32_t i = 0; i < c->conns; i++) {
        L.conns[i].idx = (int)i;
        L.conns[i].fd = -1;
    }
    run(&L);
    double secs = (double)(axl_clock_ns() - L.t_start) / 1e9;
    /* what is still outstanding after the drain time was never answered */
    uint64_t left = outstanding(&L);
    L.n.timeouts += left;
    L.n.done += left;
    if (c->rate > 0) { /* due, but never sent: the server was behind */
        double due = c->rate * (secs < c->duration ? secs : c->duration);
        L.n.unsent = due > (double)L.n.sent ? (uint64_t)(due - (double)L.n.sent) : 0;
    }
    if (L.client == CL_ISOLATED) {
        /* A replica publishes its counters every 10 ms while busy and when
         * it goes idle (stackd/replica.c AXL_REPLICA_TICK_NS): read them
         * once that has happened after our last segment, not up to a tick
         * behind (the last few connections missing from TcpActiveOpens). */
        struct timespec ts = {0, 25 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    for (size_t i = 0; L.client != CL_KERNEL && i < NSTACK_CTR; i++)
        L.stack_have[i] = axl_stat(axp_ctx(), stack_ctr[i], &L.stack_val[i]) == 0;
    report(&L, stdout, 0, secs);
    if (c->json) {
        FILE *f = strcmp(c->json, "-") ? fopen(c->json, "w") : stdout;
        if (!f) {
            fprintf(stderr, "%s: --json %s: %s\n", PROG, c->json, strerror(errno));
            return 1;
        }
        report(&L, f, 1, secs);
        if (f != stdout) fclose(f);
    }
    for (uint32_t i = 0; i < c->conns; i++) {
        conn_close(&L, &L.conns[i]);
        free(L.conns[i].rbuf);
        free(L.conns[i].wbuf);
    }
    for (uint32_t i = 0; i < c->nqname; i++)
        free(c->dnsq[i]);
    free(L.conns);
    free(L.value);
    L.io->close(L.ep);
    if (L.n.done == 0) {
        fprintf(stderr, "%s: no request was answered\n", PROG);
        return 1;
    }
    return errors(&L.n) ? 1 : 0;
}
