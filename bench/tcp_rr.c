/* SPDX-License-Identifier: MIT */
/*
 * tcp_rr.c - a TCP driver on the engine API (net/tcp.h, the engine linked
 * in, any port: shmlink, afxdp, tap, ...) or on kernel sockets (--kernel),
 * for the TCP benchmarks and the jumbo-frame test:
 *
 *   tcp_rr [opts] server PORT          one connection, then exit:
 *                                      echo what arrives (request/response),
 *                                      or with --sink write it to stdout
 *   tcp_rr [opts] rr IP PORT           --size-byte requests, each answered by
 *                                      --size bytes, one outstanding, for
 *                                      --seconds or --count transactions
 *   tcp_rr [opts] bulk IP PORT         send stdin, half-close, wait for the
 *                                      server's close
 *
 * Engine mode needs --port SPEC and --addr CIDR; --mtu N sizes the packet
 * buffers for N (the smallest power of two from 2 KiB that holds the frame
 * after the headroom) and caps the engine's MTU. --expect-mss N fails the run unless the
 * connection's send MSS (before options; RFC 9293 §3.7.1: the peer's MSS option, bounded by our
 * MTU) is exactly N.
 *
 * Output (stderr, one machine line per run, for bench/tcp.sh and tests):
 *   RESULT mode=rr tps=T p50_us=A p99_us=B n=N seconds=S
 *   RESULT mode=bulk bytes=N seconds=S mbps=M
 *   RESULT mode=server bytes=N
 *   MSS snd=N rcv=N      (engine mode, once connected)
 *   STATS out_segs=N in_segs=N retrans=N   (engine mode, at the end)
 * Every run is bounded: --timeout (default 60 s) from the start; exit 1 on a
 * failed or timed-out run, 2 on bad arguments.
 *
 * Call chain: main -> axl_port_open / axl_stack_create -> axl_stack_run_tick
 * -> engine callbacks (on_*) -> axl_tcp_send / axl_tcp_recv.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/compiler.h"
#include "core/err.h"
#include "core/log.h"
#include "core/opts.h"
#include "core/pool.h"
#include "net/stack.h"
#include "net/tcp.h"
#include "port/port.h"

#define MAX_SIZE    65536u
#define MAX_SAMPLES (1u << 21)
#define BULK_CHUNK  65536u

enum mode { M_SERVER, M_RR, M_BULK };

struct rr {
    /* options */
    const char *spec;
    struct axl_cidr addr;
    uint32_t gw, mtu, size, count, pool_bufs, expect_mss, timeout_s;
    double seconds;
    int kernel, sink, log_level, stats;
    /* run */
    enum mode mode;
    uint32_t dst;
    uint16_t dport;
    struct axl_stack *st;
    struct axl_tcp_listener *l;
    struct axl_tcb *c;
    volatile sig_atomic_t stop;
    int failed, done, eof_in, mss_shown;
    uint64_t t_start, t_end, deadline, t_req;
    uint64_t bytes;
    uint32_t got, echo_pend;
    uint64_t n;
    uint32_t *lat; /* ns, capped */
    uint8_t buf[MAX_SIZE], out[BULK_CHUNK];
    uint32_t out_len, out_off;
};

static volatile sig_atomic_t g_sig;
static void on_sig(int sig)
{
    (void)sig;
    g_sig = 1;
}

static void finish(struct rr *r, int failed)
{
    if (failed) r->failed = 1;
    if (!r->done) {
        r->done = 1;
        r->t_end = axl_clock_ns();
    }
    r->stop = 1;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void report(struct rr *r)
{
    double secs = (double)(r->t_end - r->t_start) / 1e9;
    if (secs <= 0) secs = 1e-9;
    if (r->mode == M_RR) {
        uint64_t k = r->n < MAX_SAMPLES ? r->n : MAX_SAMPLES;
        double p50 = 0, p99 = 0;
        if (k) {
            qsort(r->lat, k, sizeof(*r->lat), cmp_u32);
            p50 = r->lat[k / 2] / 1e3;
            p99 = r->lat[(k * 99) / 100] / 1e3;
        }
        fprintf(stderr, "RESULT mode=rr tps=%.0f p50_us=%.1f p99_us=%.1f n=%llu seconds=%.3f\n",
                (double)r->n / secs, p50, p99, (unsigned long long)r->n, secs);
    } else if (r->mode == M_BULK) {
        fprintf(stderr, "RESULT mode=bulk bytes=%llu seconds=%.3f mbps=%.0f\n",
                (unsigned long long)r->bytes, secs, (double)r->bytes * 8 / secs / 1e6);
    } else {
        fprintf(stderr, "RESULT mode=server bytes=%llu\n", (unsigned long long)r->bytes);
    }
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* ---- engine mode ------------------------------------------------------------ */

static void show_mss(struct rr *r, struct axl_tcb *c)
{
    if (r->mss_shown) return;
    struct axl_tcp_info in;
    axl_tcp_get_info(c, &in);
    r->mss_shown = 1;
    fprintf(stderr, "MSS snd=%u rcv=%u\n", in.snd_mss, in.rcv_mss);
    if (r->expect_mss && in.snd_mss != r->expect_mss) {
        fprintf(stderr, "tcp_rr: send MSS %u, expected %u\n", in.snd_mss, r->expect_mss);
        finish(r, 1);
    }
}

static void rr_send_req(struct rr *r)
{
    memset(r->buf, (int)(r->n & 0xff), r->size);
    r->t_req = axl_clock_ns();
    r->got = 0;
    if (axl_tcp_send(r->c, r->buf, r->size) != (int)r->size) {
        fprintf(stderr, "tcp_rr: request not queued whole\n");
        finish(r, 1);
    }
}

/* Bulk sender: queue stdin while there is room. */
static void bulk_fill(struct rr *r)
{
    while (!r->eof_in && !r->failed) {
        if (r->out_off == r->out_len) {
            uint32_t room = axl_tcp_send_room(r->c);
            if (room < 4096) return;
            ssize_t k = read(0, r->out, AXL_MIN(room, BULK_CHUNK));
            if (k < 0 && errno == EINTR) continue;
            if (k <= 0) {
                r->eof_in = 1;
                axl_tcp_shutdown(r->c);
                return;
            }
            r->out_len = (uint32_t)k;
            r->out_off = 0;
        }
        int q = axl_tcp_send(r->c, r->out + r->out_off, r->out_len - r->out_off);
        if (q == AXL_EAGAIN || q == AXL_ENOBUFS) return;
        if (q < 0) {
            fprintf(stderr, "tcp_rr: send: %s\n", axl_strerror(q));
            finish(r, 1);
            return;
        }
        r->out_off += (uint32_t)q;
        r->bytes += (uint64_t)q;
        if (r->out_off < r->out_len) return;
    }
}

static void on_connected(struct axl_tcb *c, void *u)
{
    struct rr *r = u;
    show_mss(r, c);
    r->t_start = axl_clock_ns();
    if (r->mode == M_RR) rr_send_req(r);
    if (r->mode == M_BULK) bulk_fill(r);
}

static void server_echo(struct rr *r)
{
    /* Echo what could not be sent before, then what came. */
    while (r->echo_pend) {
        int q = axl_tcp_send(r->c, r->buf, r->echo_pend);
        if (q <= 0) return;
        memmove(r->buf, r->buf + q, r->echo_pend - (uint32_t)q);
        r->echo_pend -= (uint32_t)q;
    }
    for (;;) {
        int k = axl_tcp_read(r->c, r->buf, sizeof(r->buf));
        if (k <= 0) return;
        r->bytes += (uint64_t)k;
        int q = axl_tcp_send(r->c, r->buf, (uint32_t)k);
        if (q < 0) q = 0;
        if (q < k) {
            memmove(r->buf, r->buf + q, (uint32_t)(k - q));
            r->echo_pend = (uint32_t)(k - q);
            return;
        }
    }
}

static void on_data(struct axl_tcb *c, void *u, uint32_t avail)
{
    struct rr *r = u;
    (void)avail;
    if (r->mode == M_SERVER && r->sink) {
        struct axl_tcp_iov iov[16];
        int k;
        while ((k = axl_tcp_recv(c, iov, 16)) > 0) {
            uint32_t n = 0;
            for (int i = 0; i < k; i++) {
                if (write_all(1, iov[i].base, iov[i].len) < 0) {
                    fprintf(stderr, "tcp_rr: stdout: %s\n", strerror(errno));
                    finish(r, 1);
                    return;
                }
                n += iov[i].len;
            }
            r->bytes += n;
            axl_tcp_recv_done(c, n);
        }
        return;
    }
    if (r->mode == M_SERVER) {
        server_echo(r);
        return;
    }
    if (r->mode == M_RR) {
        for (;;) {
            int k = axl_tcp_read(c, r->buf, r->size - r->got);
            if (k <= 0) return;
            r->got += (uint32_t)k;
            if (r->got < r->size) continue;
            uint64_t now = axl_clock_ns();
            if (r->n < MAX_SAMPLES) r->lat[r->n] = (uint32_t)AXL_MIN(now - r->t_req, UINT32_MAX);
            r->n++;
            if ((r->count && r->n >= r->count) || now >= r->deadline) {
                finish(r, 0);
                return;
            }
            rr_send_req(r);
        }
    }
    /* bulk: the server sends nothing; discard */
    uint8_t tmp[256];
    while (axl_tcp_read(c, tmp, sizeof(tmp)) > 0) {
    }
}

static void on_acked(struct axl_tcb *c, void *u, uint32_t acked, uint32_t room)
{
    struct rr *r = u;
    (void)c;
    (void)acked;
    (void)room;
    if (r->mode == M_BULK) bulk_fill(r);
    if (r->mode == M_SERVER && !r->sink && r->echo_pend) server_echo(r);
}

static void on_remote_closed(struct axl_tcb *c, void *u)
{
    struct rr *r = u;
    if (r->mode == M_SERVER) {
        if (!r->sink) server_echo(r);
        axl_tcp_close(c);
        r->c = NULL;
        finish(r, 0);
    } else if (r->mode == M_BULK && r->eof_in) {
        finish(r, 0);
    } else {
        fprintf(stderr, "tcp_rr: the server closed early\n");
        finish(r, 1);
    }
}

static void on_cleanup(struct axl_tcb *c, void *u, int err)
{
    struct rr *r = u;
    (void)c;
    if (err) {
        fprintf(stderr, "tcp_rr: connection ended: %s\n", axl_strerror(err));
        finish(r, 1);
    } else if (!r->done) {
        finish(r, !(r->mode == M_BULK && r->eof_in));
    }
}

static const struct axl_tcp_ops conn_ops;

static void on_new_conn(struct axl_tcp_listener *l, void *u)
{
    struct rr *r = u;
    struct axl_tcb *c;
    while (axl_tcp_accept(l, &c) == 0) {
        if (r->c) { /* one connection per run */
            axl_tcp_abort(c);
            continue;
        }
        r->c = c;
        axl_tcp_set_user(c, &conn_ops, r);
        axl_tcp_setopt(c, AXL_TCP_OPT_NODELAY, 1);
        r->t_start = axl_clock_ns();
        show_mss(r, c);
    }
}

static const struct axl_tcp_ops conn_ops = {
    .new_conn = on_new_conn,
    .connected = on_connected,
    .new_data = on_data,
    .data_acked = on_acked,
    .remote_closed = on_remote_closed,
    .cleanup = on_cleanup,
};

static void tick(void *arg, uint64_t now, enum axl_tick_event ev)
{
    struct rr *r = arg;
    (void)ev;
    if (g_sig) finish(r, 1);
    if (now >= r->deadline + (uint64_t)r->timeout_s * AXL_NS_PER_S) {
        fprintf(stderr, "tcp_rr: timed out after %u s\n", r->timeout_s);
        finish(r, 1);
    }
    if (r->mode == M_BULK && r->c && !r->eof_in && !r->done) bulk_fill(r);
}

static int run_engine(struct rr *r)
{
    char err[256];
    struct axl_port_cfg pc;
    struct axl_pool pool;
    struct axl_port port;
    int rc = 1;
    memset(&pool, 0, sizeof(pool));
    if (axl_port_parse_spec(r->spec, &pc, err, sizeof(err)) < 0) {
        fprintf(stderr, "tcp_rr: --port: %s\n", err);
        return 2;
    }
    if (r->mtu && !pc.mtu) pc.mtu = r->mtu;
    /* The smallest buffer that holds a frame of the MTU after the headroom
     * (AF_XDP takes at most 4 KiB: a page per UMEM frame). */
    uint32_t want = pc.mtu ? pc.mtu : 1500, bsz = 2048;
    while (bsz < want + 14 + AXL_POOL_HEADROOM)
        bsz *= 2;
    if (axl_port_dev_setup(&pc) < 0) {
        fprintf(stderr, "tcp_rr: cannot set up %s\n", r->spec);
        return 1;
    }
    if (axl_pool_init(&pool, r->pool_bufs, bsz, AXL_POOL_HEADROOM) < 0) {
        fprintf(stderr, "tcp_rr: packet buffers: out of memory\n");
        goto out_dev;
    }
    pc.pool = &pool;
    if (axl_port_open(&port, &pc) < 0) {
        fprintf(stderr, "tcp_rr: cannot open port %s (see the log)\n", r->spec);
        goto out_pool;
    }
    struct axl_stack_cfg cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.addr = r->addr;
    cfg.gw = r->gw;
    cfg.mtu = r->mtu;
    cfg.tcp_sndbuf = 4u << 20;
    cfg.tcp_rcvbuf = 4u << 20;
    r->st = axl_stack_create(&cfg, &port, &pool, axl_clock_ns());
    if (!r->st) {
        fprintf(stderr, "tcp_rr: cannot start the stack (see the log)\n");
        goto out_port;
    }
    r->deadline = axl_clock_ns() + (uint64_t)(r->seconds * 1e9);
    if (r->mode == M_SERVER) {
        int e = axl_tcp_listen(r->st, r->dport, 4, &conn_ops, r, &r->l);
        if (e < 0) {
            fprintf(stderr, "tcp_rr: listen %u: %s\n", r->dport, axl_strerror(e));
            goto out_stack;
        }
    } else {
        int e = axl_tcp_connect(r->st, r->dst, r->dport, 0, &conn_ops, r, &r->c);
        if (e < 0) {
            fprintf(stderr, "tcp_rr: connect: %s\n", axl_strerror(e));
            goto out_stack;
        }
        axl_tcp_setopt(r->c, AXL_TCP_OPT_NODELAY, 1);
    }
    struct axl_stack_tick tk = {tick, r, 10 * AXL_NS_PER_MS};
    axl_stack_run_tick(r->st, &r->stop, &tk);
    if (!r->done) finish(r, 1);
    rc = r->failed;
    report(r);
    fprintf(stderr, "STATS out_segs=%lld in_segs=%lld retrans=%lld\n",
            (long long)axl_stack_stat(r->st, "TcpOutSegs"),
            (long long)axl_stack_stat(r->st, "TcpInSegs"),
            (long long)axl_stack_stat(r->st, "TcpRetransSegs"));
    if (r->stats) axl_stack_stats_dump(r->st, stderr, "stat ");
    if (r->c) axl_tcp_close(r->c);
    if (r->l) axl_tcp_listener_close(r->l);
    /* Let the FIN/ACKs out (at most 1 s, 50 ms without work). */
    uint64_t t0 = axl_clock_ns(), last = t0;
    for (;;) {
        uint64_t now = axl_clock_ns();
        if (axl_stack_poll(r->st, now)) last = now;
        if (now - t0 >= AXL_NS_PER_S || now - last >= 50 * AXL_NS_PER_MS) break;
        usleep(200);
    }
out_stack:
    axl_stack_destroy(r->st);
out_port:
    axl_port_close(&port);
out_pool:
    axl_pool_fini(&pool);
out_dev:
    axl_port_dev_teardown(&pc);
    return rc;
}

/* ---- kernel mode (the same protocol on kernel sockets) ----------------------- */

static int read_full(int fd, uint8_t *p, size_t n)
{
    while (n) {
        ssize_t k = read(fd, p, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int run_kernel(struct rr *r)
{
    int one = 1, fd = -1, lfd = -1;
    struct timeval tv = {(time_t)r->timeout_s + (time_t)r->seconds, 0};
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(r->dport);
    if (r->mode == M_SERVER) {
        lfd = socket(AF_INET, SOCK_STREAM, 0);
        setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        sa.sin_addr.s_addr = htonl(INADDR_ANY);
        if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 4) < 0) {
            fprintf(stderr, "tcp_rr: listen %u: %s\n", r->dport, strerror(errno));
            return 1;
        }
        setsockopt(lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        fd = accept(lfd, NULL, NULL);
        close(lfd);
        if (fd < 0) {
            fprintf(stderr, "tcp_rr: accept: %s\n", strerror(errno));
            return 1;
        }
    } else {
        fd = socket(AF_INET, SOCK_STREAM, 0);
        sa.sin_addr.s_addr = htonl(r->dst);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
            fprintf(stderr, "tcp_rr: connect: %s\n", strerror(errno));
            if (fd >= 0) close(fd);
            return 1;
        }
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    r->t_start = axl_clock_ns();
    r->deadline = r->t_start + (uint64_t)(r->seconds * 1e9);
    if (r->mode == M_SERVER) {
        for (;;) {
            ssize_t k = read(fd, r->buf, sizeof(r->buf));
            if (k < 0 && errno == EINTR && !g_sig) continue;
            if (k <= 0) break;
            r->bytes += (uint64_t)k;
            if (r->sink ? write_all(1, r->buf, (size_t)k) : write_all(fd, r->buf, (size_t)k)) {
                r->failed = 1;
                break;
            }
        }
    } else if (r->mode == M_RR) {
        for (;;) {
            memset(r->buf, (int)(r->n & 0xff), r->size);
            uint64_t t = axl_clock_ns();
            if (write_all(fd, r->buf, r->size) < 0 || read_full(fd, r->buf, r->size) < 0) {
                fprintf(stderr, "tcp_rr: transaction %llu failed\n", (unsigned long long)r->n);
                r->failed = 1;
                break;
            }
            uint64_t now = axl_clock_ns();
            if (r->n < MAX_SAMPLES) r->lat[r->n] = (uint32_t)AXL_MIN(now - t, UINT32_MAX);
            r->n++;
            if ((r->count && r->n >= r->count) || now >= r->deadline || g_sig) break;
        }
    } else {
        for (;;) {
            ssize_t k = read(0, r->out, sizeof(r->out));
            if (k <= 0) break;
            if (write_all(fd, r->out, (size_t)k) < 0) {
                r->failed = 1;
                break;
            }
            r->bytes += (uint64_t)k;
        }
        shutdown(fd, SHUT_WR);
        while (read(fd, r->buf, sizeof(r->buf)) > 0) {
        }
    }
    r->t_end = axl_clock_ns();
    close(fd);
    report(r);
    return r->failed;
}

int main(int argc, char **argv)
{
    static struct rr r;
    r.size = 64;
    r.seconds = 5;
    r.pool_bufs = 16384;
    r.timeout_s = 60;
    r.log_level = AXL_LOG_WARN;
    const struct axl_opt opts[] = {
        {"port", 'p', AXL_OPT_STR, "SPEC",
         "engine mode: the packet port (shm:..., afxdp:IF, tap:...)", &r.spec},
        {"addr", 'a', AXL_OPT_CIDR, "CIDR", "engine mode: our address, e.g. 198.18.0.2/24",
         &r.addr},
        {"gw", 0, AXL_OPT_IPV4, "IP", "engine mode: default gateway", &r.gw},
        {"mtu", 0, AXL_OPT_U32, "N", "engine mode: IP MTU (576..9000; sizes the buffers)", &r.mtu,
         576, 9000},
        {"pool", 0, AXL_OPT_U32, "N", "engine mode: packet buffers (default 16384)", &r.pool_bufs,
         1024, 1u << 20},
        {"kernel", 'k', AXL_OPT_FLAG, NULL, "use kernel sockets instead of the engine", &r.kernel},
        {"size", 's', AXL_OPT_U32, "N", "rr: request and response bytes (default 64)", &r.size, 1,
         MAX_SIZE},
        {"seconds", 't', AXL_OPT_DOUBLE, "S", "rr: run time (default 5)", &r.seconds, 0.01, 3600},
        {"count", 'n', AXL_OPT_U32, "N", "rr: stop after N transactions (0: by time)", &r.count, 0,
         4000000000.0},
        {"sink", 0, AXL_OPT_FLAG, NULL, "server: write the data to stdout instead of echoing",
         &r.sink},
        {"expect-mss", 0, AXL_OPT_U32, "N", "fail unless the send MSS is N", &r.expect_mss, 1,
         65535},
        {"timeout", 0, AXL_OPT_U32, "S", "give up after S seconds beyond --seconds (default 60)",
         &r.timeout_s, 1, 86400},
        {"stats", 0, AXL_OPT_FLAG, NULL, "engine mode: print every counter at the end (stderr)",
         &r.stats},
        {"log", 0, AXL_OPT_LOGLEVEL, "LEVEL", "err|warn|info|debug (default warn)", &r.log_level},
        {0},
    };
    int first =
        axl_opts_parse(argc, argv, "tcp_rr", "[OPTIONS] server PORT | rr IP PORT | bulk IP PORT",
                       "TCP request/response and bulk driver on the engine or kernel "
                       "sockets (bench/tcp.sh, tests/integration/tcp_jumbo.sh).",
                       opts);
    if (first < 0) return 2;
    axl_log_set_level(r.log_level);
    int npos = argc - first;
    const char *m = npos > 0 ? argv[first] : "";
    uint32_t port = 0;
    if (!strcmp(m, "server") && npos == 2) {
        r.mode = M_SERVER;
    } else if ((!strcmp(m, "rr") || !strcmp(m, "bulk")) && npos == 3) {
        r.mode = !strcmp(m, "rr") ? M_RR : M_BULK;
        if (axl_parse_ipv4(argv[first + 1], &r.dst) < 0) {
            fprintf(stderr, "tcp_rr: bad address '%s'\n", argv[first + 1]);
            return 2;
        }
    } else {
        fprintf(stderr,
                "tcp_rr: expected 'server PORT', 'rr IP PORT' or 'bulk IP PORT' (see --help)\n");
        return 2;
    }
    char *end;
    unsigned long pv = strtoul(argv[argc - 1], &end, 10);
    if (*end || pv < 1 || pv > 65535) {
        fprintf(stderr, "tcp_rr: bad port '%s'\n", argv[argc - 1]);
        return 2;
    }
    port = (uint32_t)pv;
    r.dport = (uint16_t)port;
    if (!r.kernel && (!r.spec || !r.addr.addr)) {
        fprintf(stderr, "tcp_rr: engine mode needs --port and --addr (or --kernel)\n");
        return 2;
    }
    if (r.kernel && (r.spec || r.mtu)) {
        fprintf(stderr, "tcp_rr: --kernel takes no --port/--mtu\n");
        return 2;
    }
    if (r.mode == M_RR) {
        r.lat = malloc(MAX_SAMPLES * sizeof(*r.lat));
        if (!r.lat) {
            fprintf(stderr, "tcp_rr: out of memory\n");
            return 1;
        }
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sig;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    int rc = r.kernel ? run_kernel(&r) : run_engine(&r);
    free(r.lat);
    return rc;
}
