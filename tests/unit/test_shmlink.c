/* SPDX-License-Identifier: MIT */
/*
 * test_shmlink.c - the shm port (shmlink.c) between two processes.
 *
 * The parent opens side A (role=a); a forked child opens side B, reports
 * "ready" on a pipe, receives (or sends) and writes a struct peer_result back.
 * The parent pumps A through the engine's sleep path (prepare_sleep, poll on
 * fd(), wake_done) while it waits, so A's accept and the doorbells are
 * exercised as an engine would use them. A hostile peer and a peer with the
 * wrong ABI are played by the test itself with raw sockets and mmap.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/compiler.h"
#include "core/err.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/ring.h"
#include "port/port.h"
#include "port/shmlink.h"

#define MAXSEQ 20000u
#define ETYPE  0x88b5 /* IEEE local experimental */
#define POOL_N 4096u

static char tmpdir[64];
static char wire[128];

/* ------------------------------------------------------------------------ */
/* frames: seq at 14..17, then a pattern that depends on seq; length too    */

static uint32_t frame_len(uint32_t seq)
{
    return 60 + (seq * 37) % 1455;
}

static void build_frame(uint8_t *f, uint32_t seq, uint32_t len)
{
    memset(f, 0xff, 6);
    memcpy(f + 6, "\x02\x00\x00\x00\x00\x01", 6);
    axl_store_be16(f + 12, ETYPE);
    axl_store_be32(f + 14, seq);
    for (uint32_t j = 18; j < len; j++)
        f[j] = (uint8_t)(seq * 7 + j);
}

static int frame_ok(const uint8_t *f, uint32_t len, uint32_t *seq_out)
{
    uint32_t seq;
    if (len < 18 || axl_load_be16(f + 12) != ETYPE) return 0;
    seq = axl_load_be32(f + 14);
    *seq_out = seq;
    if (seq >= MAXSEQ || len != frame_len(seq)) return 0;
    for (uint32_t j = 18; j < len; j++)
        if (f[j] != (uint8_t)(seq * 7 + j)) return 0;
    return 1;
}

/* ------------------------------------------------------------------------ */
/* helpers                                                                   */

static int setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    axl_log_set_level(AXL_LOG_WARN);
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/axl-test-shm-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

/* Each test gets its own wire, so one failing test cannot break the next. */
static int new_wire(void **state)
{
    static unsigned n;
    (void)state;
    snprintf(wire, sizeof(wire), "%s/wire%u", tmpdir, n++);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static int open_port(struct axl_port *p, struct axl_pool *pool, const char *fmt, ...)
    AXL_PRINTF(3, 4);
static int open_port(struct axl_port *p, struct axl_pool *pool, const char *fmt, ...)
{
    char spec[512], err[256];
    struct axl_port_cfg cfg;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(spec, sizeof(spec), fmt, ap);
    va_end(ap);
    if (axl_port_parse_spec(spec, &cfg, err, sizeof(err)) < 0) {
        print_error("spec %s: %s\n", spec, err);
        return AXL_EINVAL;
    }
    cfg.pool = pool;
    return axl_port_open(p, &cfg);
}

/* One turn of the engine's idle path: sleep on fd() at most ms, then wake. */
static void pump(struct axl_port *p, int extra_fd, int ms)
{
    struct pollfd pf[2] = {{.fd = axl_port_fd(p), .events = POLLIN},
                           {.fd = extra_fd, .events = POLLIN}};
    if (p->ops->prepare_sleep(p)) poll(pf, 2, ms);
    p->ops->wake_done(p);
    axl_port_flush(p);
}

/* Pump A until a byte arrives on fd (the child's "ready"); 1 on success. */
static int pump_until_readable(struct axl_port *p, int fd, int timeout_ms)
{
    uint64_t end = axl_clock_ns() + (uint64_t)timeout_ms * AXL_NS_PER_MS;
    while (axl_clock_ns() < end) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, 0) == 1) return 1;
        pump(p, fd, 10);
    }
    return 0;
}

struct peer_result {
    int open_ret;
    uint32_t received, bad, late, dups;
    uint64_t max_latency_ns, min_latency_ns;
    uint8_t mac[6];
    uint32_t mtu;
    struct axl_port_stats stats;
    uint8_t seen[MAXSEQ / 8];
};

struct child {
    pid_t pid;
    int res_fd; /* child -> parent: "R" when open, then struct peer_result */
    int ctl_fd; /* parent -> child: "D" when the parent is done sending */
};

enum peer_mode { PEER_RECEIVE, PEER_SEND, PEER_IDLE };

static void write_all(int fd, const void *buf, size_t len)
{
    const uint8_t *b = buf;
    while (len) {
        ssize_t w = write(fd, b, len);
        if (w <= 0) _exit(3);
        b += w;
        len -= (size_t)w;
    }
}

static int read_all(int fd, void *buf, size_t len, int timeout_ms)
{
    uint8_t *b = buf;
    while (len) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, timeout_ms) != 1) return -1;
        ssize_t r = read(fd, b, len);
        if (r <= 0) return -1;
        b += r;
        len -= (size_t)r;
    }
    return 0;
}

/* Child: open B with `spec`, then receive (until the parent says done and
 * the wire is quiet for 100 ms), send `nsend` frames, or just sit idle until
 * told to stop. Latency: frames carry their send time at 18..25 when
 * `timed` (then the pattern check is skipped). */
static void child_main(const char *spec, enum peer_mode mode, uint32_t nsend, int timed, int rfd,
                       int cfd)
{
    struct axl_pool pool;
    struct axl_port p;
    struct axl_pkt *pkts[32];
    struct peer_result *r = calloc(1, sizeof(*r));
    char err[256];
    struct axl_port_cfg cfg;
    uint32_t maxseq = 0, sent = 0;
    int done = 0;
    uint64_t quiet_since = 0, hard_end = axl_clock_ns() + 20 * AXL_NS_PER_S;

    r->min_latency_ns = UINT64_MAX;
    if (!r || axl_pool_init(&pool, POOL_N, 16384, 256) < 0) _exit(4);
    if (axl_port_parse_spec(spec, &cfg, err, sizeof(err)) < 0) _exit(5);
    cfg.pool = &pool;
    r->open_ret = axl_port_open(&p, &cfg);
    write_all(rfd, "R", 1);
    if (r->open_ret < 0) {
        write_all(rfd, r, sizeof(*r));
        _exit(0);
    }
    memcpy(r->mac, p.mac, 6);
    r->mtu = p.mtu;
    while (axl_clock_ns() < hard_end) {
        struct pollfd pf[2] = {{.fd = axl_port_fd(&p), .events = POLLIN},
                               {.fd = cfd, .events = POLLIN}};
        if (!done && poll(&pf[1], 1, 0) == 1) {
            char c;
            done = read(cfd, &c, 1) == 1;
            quiet_since = axl_clock_ns();
        }
        if (mode == PEER_SEND && sent < nsend) {
            uint32_t k = AXL_MIN(32u, nsend - sent);
            k = axl_pkt_alloc_bulk(&pool, pkts, k);
            for (uint32_t i = 0; i < k; i++) {
                pkts[i]->len = frame_len(sent + i);
                build_frame(pkts[i]->data, sent + i, pkts[i]->len);
            }
            uint32_t acc = axl_port_tx_burst(&p, pkts, k);
            axl_pkt_free_bulk(&pool, pkts + acc, k - acc);
            sent += acc;
            axl_port_flush(&p);
        }
        uint32_t got = mode == PEER_IDLE ? 0 : axl_port_rx_burst(&p, pkts, 32);
        uint64_t now = axl_clock_ns();
        for (uint32_t i = 0; i < got && mode == PEER_RECEIVE; i++) {
            uint32_t seq = 0;
            int ok;
            if (timed) {
                uint64_t t0;
                memcpy(&t0, pkts[i]->data + 18, 8);
                seq = axl_load_be32(pkts[i]->data + 14);
                ok = seq < MAXSEQ;
                r->max_latency_ns = AXL_MAX(r->max_latency_ns, now - t0);
                r->min_latency_ns = AXL_MIN(r->min_latency_ns, now - t0);
            } else {
                ok = frame_ok(pkts[i]->data, pkts[i]->len, &seq);
            }
            r->received++;
            if (!ok) {
                r->bad++;
                continue;
            }
            if (r->seen[seq / 8] & (1u << (seq % 8))) {
                r->dups++;
                continue;
            }
            r->seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
            if (r->received > 1 && seq < maxseq) r->late++;
            maxseq = AXL_MAX(maxseq, seq);
        }
        axl_pkt_free_bulk(&pool, pkts, got);
        if (got) quiet_since = now;
        if (done && (mode != PEER_RECEIVE || now - quiet_since > 100 * AXL_NS_PER_MS)) break;
        if (!got && (mode != PEER_SEND || sent == nsend) && p.ops->prepare_sleep(&p)) {
            poll(pf, 2, 5);
            p.ops->wake_done(&p);
        }
    }
    r->stats = p.stats;
    axl_port_close(&p);
    if (axl_pool_in_use(&pool) != 0) r->open_ret = -999; /* leaked buffers */
    axl_pool_fini(&pool);
    write_all(rfd, r, sizeof(*r));
    free(r);
    _exit(0);
}

static struct child start_child(const char *spec, enum peer_mode mode, uint32_t nsend, int timed)
{
    int rp[2], cp[2];
    struct child c;
    assert_int_equal(pipe(rp), 0);
    assert_int_equal(pipe(cp), 0);
    fflush(NULL);
    c.pid = fork();
    assert_true(c.pid >= 0);
    if (c.pid == 0) {
        close(rp[0]);
        close(cp[1]);
        child_main(spec, mode, nsend, timed, rp[1], cp[0]);
    }
    close(rp[1]);
    close(cp[0]);
    c.res_fd = rp[0];
    c.ctl_fd = cp[1];
    return c;
}

/* Wait for the child's "R" while pumping A. */
static void child_ready(struct child *c, struct axl_port *a)
{
    char ch = 0;
    assert_true(pump_until_readable(a, c->res_fd, 10000));
    assert_int_equal(read(c->res_fd, &ch, 1), 1);
    assert_int_equal(ch, 'R');
}

/* Tell the child to finish, pump A until its result arrives, reap it. */
static void child_finish(struct child *c, struct axl_port *a, struct peer_result *r)
{
    int status;
    /* A child whose open failed has exited already: EPIPE is fine then. */
    if (write(c->ctl_fd, "D", 1) != 1) assert_int_equal(errno, EPIPE);
    if (a) assert_true(pump_until_readable(a, c->res_fd, 20000));
    assert_int_equal(read_all(c->res_fd, r, sizeof(*r), 20000), 0);
    assert_int_equal(waitpid(c->pid, &status, 0), c->pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(c->res_fd);
    close(c->ctl_fd);
}

/* Send n frames from A, retrying refusals; pumps while the ring is full.
 * With `timed`, frames carry the send time (monotonic ns) at 18..25. */
static void send_frames(struct axl_port *a, struct axl_pool *pool, uint32_t n, int timed)
{
    struct axl_pkt *pkts[32];
    uint32_t sent = 0;
    uint64_t end = axl_clock_ns() + 20 * AXL_NS_PER_S;

    while (sent < n && axl_clock_ns() < end) {
        uint32_t k = axl_pkt_alloc_bulk(pool, pkts, AXL_MIN(32u, n - sent));
        assert_true(k > 0);
        for (uint32_t i = 0; i < k; i++) {
            pkts[i]->len = frame_len(sent + i);
            build_frame(pkts[i]->data, sent + i, pkts[i]->len);
            if (timed) {
                uint64_t t = axl_clock_ns();
                memcpy(pkts[i]->data + 18, &t, 8);
            }
        }
        uint32_t acc = axl_port_tx_burst(a, pkts, k);
        axl_pkt_free_bulk(pool, pkts + acc, k - acc);
        sent += acc;
        axl_port_flush(a);
        if (acc < k) {
            struct timespec ts = {0, 50000};
            nanosleep(&ts, NULL);
        }
    }
    assert_int_equal(sent, n);
}

static void drain_a(struct axl_port *a, int ms)
{
    uint64_t end = axl_clock_ns() + (uint64_t)ms * AXL_NS_PER_MS;
    while (axl_clock_ns() < end)
        pump(a, -1, 1);
}

/* ------------------------------------------------------------------------ */
/* tests                                                                     */

static void test_frames_pass_in_order(void **state)
{
    struct axl_pool pool;
    struct axl_port a;
    struct peer_result r;
    struct axl_pkt *pkts[32];
    char spec[256];
    (void)state;

    assert_int_equal(axl_pool_init(&pool, POOL_N, 2048, 256), 0);
    assert_int_equal(open_port(&a, &pool, "shm:%s,role=a,pcap=%s/a.pcap", wire, tmpdir), 0);
    assert_int_equal(a.mtu, 1500);
    assert_int_equal(a.max_frame, 1518);
    assert_int_equal(a.mac[0], 0x02);

    /* Nobody attached: the wire is unplugged, frames are dropped and counted. */
    send_frames(&a, &pool, 10, 0);
    assert_int_equal(a.stats.link_drops, 10);
    assert_int_equal(a.stats.tx_packets, 0);

    snprintf(spec, sizeof(spec), "shm:%s,role=b", wire);
    struct child c = start_child(spec, PEER_RECEIVE, 0, 0);
    child_ready(&c, &a);
    send_frames(&a, &pool, MAXSEQ, 0);
    child_finish(&c, &a, &r);

    assert_int_equal(r.open_ret, 0);
    assert_int_equal(r.received, MAXSEQ);
    assert_int_equal(r.bad, 0);
    assert_int_equal(r.late, 0);
    assert_int_equal(r.dups, 0);
    assert_int_equal(r.stats.rx_packets, MAXSEQ);
    assert_int_equal(r.stats.rx_errors, 0);
    assert_int_equal(r.mtu, 1500);
    assert_memory_not_equal(r.mac, a.mac, 6); /* A and B differ ... */
    assert_memory_equal(r.mac, a.mac, 5);     /* ... only in the side bit */
    assert_int_equal(a.stats.tx_packets, MAXSEQ);
    assert_true(a.stats.wakeups > 0); /* the child slept at least once */

    /* Other direction: B sends, A receives. */
    c = start_child(spec, PEER_SEND, 3000, 0);
    child_ready(&c, &a);
    uint32_t got = 0, bad = 0, next = 0;
    uint64_t end = axl_clock_ns() + 10 * AXL_NS_PER_S;
    while (got < 3000 && axl_clock_ns() < end) {
        uint32_t k = axl_port_rx_burst(&a, pkts, 32);
        for (uint32_t i = 0; i < k; i++) {
            uint32_t seq;
            if (!frame_ok(pkts[i]->data, pkts[i]->len, &seq) || seq != next) bad++;
            next++;
        }
        axl_pkt_free_bulk(&pool, pkts, k);
        got += k;
        if (!k) pump(&a, -1, 5);
    }
    child_finish(&c, &a, &r);
    assert_int_equal(got, 3000);
    assert_int_equal(bad, 0);
    assert_int_equal(r.stats.tx_packets, 3000);

    axl_port_close(&a);
    assert_int_equal(axl_pool_in_use(&pool), 0);
    axl_pool_fini(&pool);

    /* The capture saw A's traffic: 10 + MAXSEQ sent, 3000 received. */
    char cap[160];
    struct stat st;
    snprintf(cap, sizeof(cap), "%s/a.pcap", tmpdir);
    assert_int_equal(stat(cap, &st), 0);
    uint64_t want = 24;
    for (uint32_t i = 0; i < 10; i++)
        want += 16 + frame_len(i);
    for (uint32_t i = 0; i < MAXSEQ; i++)
        want += 16 + frame_len(i);
    for (uint32_t i = 0; i < 3000; i++)
        want += 16 + frame_len(i);
    assert_int_equal((uint64_t)st.st_size, want);
    /* Side A removed its socket. */
    assert_int_not_equal(stat(wire, &st), 0);
}

static void test_ring_full_counts_tx_full(void **state)
{
    struct axl_pool pool;
    struct axl_port a;
    struct peer_result r;
    struct axl_pkt *pkts[32];
    char spec[256];
    uint32_t accepted = 0;
    (void)state;

    assert_int_equal(axl_pool_init(&pool, POOL_N, 2048, 256), 0);
    assert_int_equal(open_port(&a, &pool, "shm:%s,role=a,slots=64", wire), 0);
    snprintf(spec, sizeof(spec), "shm:%s,slots=1024", wire); /* B adopts A's 64 */
    struct child c = start_child(spec, PEER_IDLE, 0, 0);
    child_ready(&c, &a);
    for (int round = 0; round < 10; round++) {
        uint32_t k = axl_pkt_alloc_bulk(&pool, pkts, 32);
        for (uint32_t i = 0; i < k; i++) {
            pkts[i]->len = 60;
            build_frame(pkts[i]->data, accepted + i, 60);
        }
        uint32_t acc = axl_port_tx_burst(&a, pkts, k);
        axl_pkt_free_bulk(&pool, pkts + acc, k - acc);
        accepted += acc;
    }
    assert_int_equal(accepted, 64);
    assert_int_equal(a.stats.tx_packets, 64);
    assert_true(a.stats.tx_full >= 7);
    child_finish(&c, &a, &r);
    assert_int_equal(r.open_ret, 0);
    axl_port_close(&a);
    assert_int_equal(axl_pool_in_use(&pool), 0);
    axl_pool_fini(&pool);
}

/* Run A with `opts` sending n frames to a receiving child; returns its result. */
static void impaired_run(const char *opts, uint32_t n, struct peer_result *r,
                         struct axl_port_stats *as)
{
    struct axl_pool pool;
    struct axl_port a;
    char spec[256];

    assert_int_equal(axl_pool_init(&pool, POOL_N, 2048, 256), 0);
    assert_int_equal(open_port(&a, &pool, "shm:%s,role=a,%s", wire, opts), 0);
    snprintf(spec, sizeof(spec), "shm:%s,role=b", wire);
    struct child c = start_child(spec, PEER_RECEIVE, 0, 0);
    child_ready(&c, &a);
    send_frames(&a, &pool, n, 0);
    drain_a(&a, 20); /* held frames (reorder) go out */
    child_finish(&c, &a, r);
    assert_int_equal(r->open_ret, 0);
    *as = a.stats;
    axl_port_close(&a);
    assert_int_equal(axl_pool_in_use(&pool), 0);
    axl_pool_fini(&pool);
}

static void assert_pct(uint64_t count, uint64_t total, double pct, double tol)
{
    double got = 100.0 * (double)count / (double)total;
    if (got < pct - tol || got > pct + tol)
        print_error("%.3f %% is not %.1f +- %.1f %%\n", got, pct, tol);
    assert_true(got >= pct - tol && got <= pct + tol);
}

static void test_loss(void **state)
{
    struct peer_result r;
    struct axl_port_stats as;
    (void)state;
    impaired_run("loss=10,seed=42", 10000, &r, &as);
    assert_int_equal(r.bad, 0);
    assert_int_equal(r.dups, 0);
    assert_int_equal(r.late, 0);
    assert_int_equal(r.received + as.imp_lost, 10000);
    assert_pct(as.imp_lost, 10000, 10.0, 1.5);
}

static void test_dup(void **state)
{
    struct peer_result r;
    struct axl_port_stats as;
    (void)state;
    impaired_run("dup=5,seed=1", 10000, &r, &as);
    assert_int_equal(r.bad, 0);
    assert_int_equal(r.received, 10000 + as.imp_dup);
    assert_int_equal(r.dups, as.imp_dup);
    assert_int_equal(r.late, 0);
    assert_pct(as.imp_dup, 10000, 5.0, 1.5);
}

static void test_corrupt(void **state)
{
    struct peer_result r;
    struct axl_port_stats as;
    (void)state;
    impaired_run("corrupt=5,seed=2", 10000, &r, &as);
    /* Every corrupted frame is detected (one flipped bit after the Ethernet
     * header always breaks the seq/pattern/length check), no other is. */
    assert_int_equal(r.received, 10000);
    assert_int_equal(r.bad, as.imp_corrupt);
    assert_pct(as.imp_corrupt, 10000, 5.0, 1.5);
}

static void test_reorder(void **state)
{
    struct peer_result r;
    struct axl_port_stats as;
    (void)state;
    impaired_run("reorder=10,seed=3", 10000, &r, &as);
    assert_int_equal(r.received, 10000);
    assert_int_equal(r.bad, 0);
    assert_int_equal(r.dups, 0);
    assert_int_equal(r.late, as.imp_reord); /* each counted frame came after its successor */
    assert_pct(as.imp_reord, 10000, 10.0, 1.5);
}

static void test_same_seed_same_pattern(void **state)
{
    struct peer_result *r1 = calloc(1, sizeof(*r1)), *r2 = calloc(1, sizeof(*r2)),
                       *r3 = calloc(1, sizeof(*r3));
    struct axl_port_stats as;
    (void)state;
    impaired_run("loss=10,seed=7", 5000, r1, &as);
    impaired_run("loss=10,seed=7", 5000, r2, &as);
    impaired_run("loss=10,seed=8", 5000, r3, &as);
    assert_int_equal(r1->received, r2->received);
    assert_memory_equal(r1->seen, r2->seen, sizeof(r1->seen));
    assert_memory_not_equal(r1->seen, r3->seen, sizeof(r1->seen));
    free(r1);
    free(r2);
    free(r3);
}

static void test_delay(void **state)
{
    struct axl_pool pool;
    struct axl_port a;
    struct peer_result r;
    char spec[256];
    (void)state;

    assert_int_equal(axl_pool_init(&pool, POOL_N, 2048, 256), 0);
    assert_int_equal(open_port(&a, &pool, "shm:%s,role=a,delay=2000,seed=5", wire), 0);
    snprintf(spec, sizeof(spec), "shm:%s,role=b", wire);
    struct child c = start_child(spec, PEER_RECEIVE, 0, 1);
    child_ready(&c, &a);
    send_frames(&a, &pool, 200, 1);
    assert_int_equal(a.stats.imp_delayed, 200);
    drain_a(&a, 50); /* A sleeps on its timerfd and releases them when due */
    assert_int_equal(a.stats.tx_packets, 200);
    child_finish(&c, &a, &r);
    assert_int_equal(r.received, 200);
    assert_int_equal(r.late, 0);
    assert_true(r.min_latency_ns >= 2 * AXL_NS_PER_MS);
    assert_true(r.max_latency_ns < 1 * AXL_NS_PER_S);

    /* Held frames still on the wire at close go back to the pool, counted. */
    send_frames(&a, &pool, 5, 1);
    axl_port_close(&a);
    assert_int_equal(a.stats.link_drops, 5);
    assert_int_equal(axl_pool_in_use(&pool), 0);
    axl_pool_fini(&pool);
}

static void test_jitter_and_rate(void **state)
{
    struct peer_result r;
    struct axl_port_stats as;
    (void)state;
    /* Jitter larger than the gap between frames lets them overtake. */
    impaired_run("delay=1000,jitter=1000,seed=9", 2000, &r, &as);
    assert_int_equal(r.received, 2000);
    assert_int_equal(r.bad, 0);
    assert_int_equal(as.imp_delayed, 2000);

    /* 8 Mbit/s: a burst of 500 frames far exceeds bucket + queue; the excess
     * is dropped and counted, the rest arrives. */
    struct axl_pool pool;
    struct axl_port a;
    char spec[256];
    assert_int_equal(axl_pool_init(&pool, POOL_N, 2048, 256), 0);
    assert_int_equal(open_port(&a, &pool, "shm:%s,role=a,rate=8,seed=1", wire), 0);
    snprintf(spec, sizeof(spec), "shm:%s,role=b", wire);
    struct child c = start_child(spec, PEER_RECEIVE, 0, 0);
    child_ready(&c, &a);
    uint64_t t0 = axl_clock_ns();
    send_frames(&a, &pool, 500, 0);
    assert_true(a.stats.imp_ratelimited > 300);
    uint64_t end = t0 + 3 * AXL_NS_PER_S;
    while (a.stats.tx_packets + a.stats.imp_ratelimited < 500 && axl_clock_ns() < end)
        pump(&a, -1, 5);
    uint64_t took = axl_clock_ns() - t0;
    assert_int_equal(a.stats.tx_packets + a.stats.imp_ratelimited, 500);
    /* bits sent beyond the initial bucket at 8 Mbit/s take time */
    double bits = 0;
    for (uint32_t i = 0; i < 500; i++)
        bits += frame_len(i) * 8.0;
    double sent_bits = bits * (double)a.stats.tx_packets / 500.0;
    double bucket = 2.0 * 1518 * 8;
    assert_true((double)took >= (sent_bits - bucket) / 8e6 * 1e9 * 0.8);
    child_finish(&c, &a, &r);
    assert_int_equal(r.received, a.stats.tx_packets);
    axl_port_close(&a);
    assert_int_equal(axl_pool_in_use(&pool), 0);
    axl_pool_fini(&pool);
}

/* A sender that keeps the rate queue full gets the configured rate, no more,
 * no less (also when it is descheduled now and then: the link stays busy). */
static void test_rate_accuracy(void **state)
{
    struct axl_pool pool;
    struct axl_port a;
    struct peer_result r;
    struct axl_pkt *pkt;
    char spec[256];
    (void)state;

    assert_int_equal(axl_pool_init(&pool, POOL_N, 2048, 256), 0);
    assert_int_equal(open_port(&a, &pool, "shm:%s,role=a,rate=20", wire), 0); /* 2500 x 1000 B/s */
    snprintf(spec, sizeof(spec), "shm:%s,role=b", wire);
    struct child c = start_child(spec, PEER_RECEIVE, 0, 0);
    child_ready(&c, &a);
    uint64_t t0 = 0, sent0 = 0, now, end = axl_clock_ns() + 600 * AXL_NS_PER_MS;
    while ((now = axl_clock_ns()) < end) {
        if (!t0 && a.stats.imp_ratelimited > 0) { /* queue full: start counting */
            t0 = now;
            sent0 = a.stats.tx_packets;
        }
        pkt = axl_pkt_alloc(&pool);
        pkt->len = 1000;
        memset(pkt->data, 0, 1000);
        if (axl_port_tx_burst(&a, &pkt, 1) != 1) axl_pkt_free(&pool, pkt);
        struct timespec ts = {0, 20000};
        nanosleep(&ts, NULL);
    }
    double secs = (double)(now - t0) / 1e9;
    double want = 20e6 * secs / 8000;
    double got = (double)(a.stats.tx_packets - sent0);
    if (got < want * 0.9 || got > want * 1.1)
        print_error("%.0f frames in %.3f s, want %.0f\n", got, secs, want);
    assert_true(got >= want * 0.9 && got <= want * 1.1);
    child_finish(&c, &a, &r);
    axl_port_close(&a);
    assert_int_equal(axl_pool_in_use(&pool), 0);
    axl_pool_fini(&pool);
}

static void test_jumbo_and_too_big(void **state)
{
    struct axl_pool pool;
    struct axl_port a;
    struct peer_result r;
    struct axl_pkt *pkt;
    char spec[256];
    (void)state;

    assert_int_equal(axl_pool_init(&pool, 256, 16384, 256), 0);
    assert_int_equal(open_port(&a, &pool, "shm:%s,role=a,mtu=9000", wire), 0);
    assert_int_equal(a.max_frame, 9018);
    snprintf(spec, sizeof(spec), "shm:%s,role=b", wire);
    struct child c = start_child(spec, PEER_IDLE, 0, 0);
    child_ready(&c, &a);
    pkt = axl_pkt_alloc(&pool);
    pkt->len = 9019;
    assert_int_equal(axl_port_tx_burst(&a, &pkt, 1), 1); /* accepted, refused, freed */
    assert_int_equal(a.stats.tx_too_big, 1);
    pkt = axl_pkt_alloc(&pool);
    pkt->len = 9018;
    assert_int_equal(axl_port_tx_burst(&a, &pkt, 1), 1);
    assert_int_equal(a.stats.tx_packets, 1);
    pkt = axl_pkt_alloc(&pool);
    pkt->len = 10; /* shorter than an Ethernet header */
    assert_int_equal(axl_port_tx_burst(&a, &pkt, 1), 1);
    assert_int_equal(a.stats.tx_errors, 1);
    child_finish(&c, &a, &r);
    assert_int_equal(r.mtu, 9000); /* B adopted A's MTU */
    axl_port_close(&a);
    assert_int_equal(axl_pool_in_use(&pool), 0);
    axl_pool_fini(&pool);
}

static void test_peer_restart_and_busy(void **state)
{
    struct axl_pool pool;
    struct axl_port a;
    struct peer_result r;
    struct axl_pkt *pkts[32];
    char spec[256];
    uint32_t got = 0;
    (void)state;

    assert_int_equal(axl_pool_init(&pool, POOL_N, 2048, 256), 0);
    assert_int_equal(open_port(&a, &pool, "shm:%s,role=a", wire), 0);
    snprintf(spec, sizeof(spec), "shm:%s,role=b,wait=1000", wire);
    for (int gen = 0; gen < 3; gen++) {
        struct child c = start_child(spec, PEER_SEND, 100, 0);
        child_ready(&c, &a);
        if (gen == 0) {
            /* A second peer while one is attached is refused. */
            struct child c2 = start_child(spec, PEER_IDLE, 0, 0);
            child_ready(&c2, &a);
            child_finish(&c2, &a, &r);
            assert_int_equal(r.open_ret, AXL_EADDRINUSE);
        }
        uint64_t end = axl_clock_ns() + 5 * AXL_NS_PER_S;
        uint32_t want = got + 100;
        while (got < want && axl_clock_ns() < end) {
            uint32_t k = axl_port_rx_burst(&a, pkts, 32);
            axl_pkt_free_bulk(&pool, pkts, k);
            got += k;
            if (!k) pump(&a, -1, 5);
        }
        child_finish(&c, &a, &r);
        assert_int_equal(got, want);
        /* Let A notice the EOF and detach before the next peer comes. */
        drain_a(&a, 20);
    }
    axl_port_close(&a);
    assert_int_equal(axl_pool_in_use(&pool), 0);
    axl_pool_fini(&pool);
}

/* A raw peer: connect to PATH, get the fds by pumping A, map the region. */
struct raw_peer {
    int conn, memfd, efd[2];
    uint8_t *base;
    size_t size;
};

static void raw_attach(struct axl_port *a, struct raw_peer *rp)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct axl_shmlink_hello hello;
    union {
        char buf[CMSG_SPACE(3 * sizeof(int))];
        struct cmsghdr align;
    } cm;
    struct iovec iov = {.iov_base = &hello, .iov_len = sizeof(hello)};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf, .msg_controllen = sizeof(cm.buf)};
    int fds[3];

    rp->conn = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    strcpy(sa.sun_path, wire);
    assert_int_equal(connect(rp->conn, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_true(pump_until_readable(a, rp->conn, 5000));
    assert_int_equal(recvmsg(rp->conn, &msg, 0), sizeof(hello));
    assert_int_equal(hello.magic, AXL_SHMLINK_MAGIC);
    assert_int_equal(hello.version, AXL_SHMLINK_ABI_VERSION);
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    assert_non_null(c);
    assert_int_equal(c->cmsg_len, CMSG_LEN(sizeof(fds)));
    memcpy(fds, CMSG_DATA(c), sizeof(fds));
    rp->memfd = fds[0];
    rp->efd[0] = fds[1];
    rp->efd[1] = fds[2];
    rp->size = hello.region_size;
    rp->base = mmap(NULL, rp->size, PROT_READ | PROT_WRITE, MAP_SHARED, rp->memfd, 0);
    assert_true(rp->base != MAP_FAILED);
    /* The region cannot be shrunk under A. */
    assert_int_not_equal(ftruncate(rp->memfd, 4096), 0);
}

static void raw_detach(struct raw_peer *rp)
{
    munmap(rp->base, rp->size);
    close(rp->memfd);
    close(rp->efd[0]);
    close(rp->efd[1]);
    close(rp->conn);
}

static void test_hostile_peer(void **state)
{
    struct axl_pool pool;
    struct axl_port a;
    struct raw_peer rp;
    struct axl_pkt *pkts[32];
    struct axl_shmlink_hdr h;
    (void)state;

    assert_int_equal(axl_pool_init(&pool, POOL_N, 2048, 256), 0);
    assert_int_equal(open_port(&a, &pool, "shm:%s,role=a", wire), 0);
    raw_attach(&a, &rp);
    memcpy(&h, rp.base, sizeof(h));
    assert_int_equal(h.magic, AXL_SHMLINK_MAGIC);
    assert_int_equal(h.version, AXL_SHMLINK_ABI_VERSION);
    assert_memory_equal(h.mac[0], a.mac, 6);

    struct axl_ring_shared *ba = (void *)(rp.base + h.ring_off[AXL_SHMLINK_RING_BA]);
    struct axl_shmlink_slot *s0 = (void *)(ba->entries + 0 * (size_t)h.slot_size);
    struct axl_shmlink_slot *s1 = (void *)(ba->entries + 1 * (size_t)h.slot_size);
    struct axl_shmlink_slot *s2 = (void *)(ba->entries + 2 * (size_t)h.slot_size);
    s0->len = 100000; /* far beyond the slot */
    s1->len = frame_len(1);
    build_frame(s1->data, 1, s1->len);
    s2->len = 3; /* shorter than an Ethernet header */
    atomic_store_explicit(&ba->prod, 3, memory_order_release);
    uint32_t k = axl_port_rx_burst(&a, pkts, 32);
    assert_int_equal(k, 1);
    uint32_t seq;
    assert_true(frame_ok(pkts[0]->data, pkts[0]->len, &seq));
    assert_int_equal(seq, 1);
    axl_pkt_free_bulk(&pool, pkts, k);
    assert_int_equal(a.stats.rx_errors, 2);
    assert_int_equal(atomic_load(&ba->cons), 3);

    /* A producer index claiming more than the ring holds yields nothing. */
    atomic_store_explicit(&ba->prod, 3 + 5000000, memory_order_release);
    assert_int_equal(axl_port_rx_burst(&a, pkts, 32), 0);
    /* A consumer index running ahead of A's producer: once A has used the
     * slots it knew were free, it sees a full ring, never more room. */
    struct axl_ring_shared *ab = (void *)(rp.base + h.ring_off[AXL_SHMLINK_RING_AB]);
    atomic_store_explicit(&ab->cons, 777777, memory_order_release);
    uint32_t accepted = 0;
    for (int round = 0; round < 100; round++) {
        uint32_t n = axl_pkt_alloc_bulk(&pool, pkts, 32);
        for (uint32_t i = 0; i < n; i++)
            pkts[i]->len = 60;
        uint32_t acc = axl_port_tx_burst(&a, pkts, n);
        axl_pkt_free_bulk(&pool, pkts + acc, n - acc);
        accepted += acc;
    }
    assert_int_equal(accepted, h.slots);
    assert_true(a.stats.tx_full > 0);
    /* A header scribbled after the attach changes nothing on A's side. */
    memset(rp.base, 0xff, sizeof(h));
    assert_int_equal(axl_port_rx_burst(&a, pkts, 32), 0);

    /* The hostile peer leaves; A drops that region and accepts a new peer,
     * which gets a fresh, clean one. */
    raw_detach(&rp);
    drain_a(&a, 20);
    raw_attach(&a, &rp);
    memcpy(&h, rp.base, sizeof(h));
    assert_int_equal(h.generation, 2);
    ba = (void *)(rp.base + h.ring_off[AXL_SHMLINK_RING_BA]);
    assert_int_equal(atomic_load(&ba->prod), 0);
    raw_detach(&rp);

    axl_port_close(&a);
    assert_int_equal(axl_pool_in_use(&pool), 0);
    axl_pool_fini(&pool);
}

/* A fake side A (a child process) that hands out a region whose header or
 * hello carries another ABI version. */
static void fake_a_main(int hello_version, int hdr_version)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct axl_shmlink_layout lay;
    int ls = socket(AF_UNIX, SOCK_STREAM, 0), c, memfd, efd[2];

    strcpy(sa.sun_path, wire);
    if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 1) < 0) _exit(10);
    c = accept(ls, NULL, NULL);
    if (c < 0 || axl_shmlink_layout(64, 1518, &lay) < 0) _exit(11);
    memfd = memfd_create("fake", MFD_ALLOW_SEALING);
    if (ftruncate(memfd, (off_t)lay.region_size) < 0 ||
        fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0)
        _exit(12);
    struct axl_shmlink_hdr h = {.magic = AXL_SHMLINK_MAGIC,
                                .version = (uint32_t)hdr_version,
                                .hdr_size = AXL_SHMLINK_HDR_SIZE,
                                .slots = 64,
                                .slot_size = lay.slot_size,
                                .frame_max = 1518,
                                .mtu = 1500,
                                .region_size = lay.region_size,
                                .ring_off = {lay.ring_off[0], lay.ring_off[1]},
                                .ring_bytes = lay.ring_bytes,
                                .generation = 1};
    if (pwrite(memfd, &h, sizeof(h), 0) != (ssize_t)sizeof(h)) _exit(13);
    efd[0] = eventfd(0, 0);
    efd[1] = eventfd(0, 0);
    struct axl_shmlink_hello hello = {AXL_SHMLINK_MAGIC, (uint32_t)hello_version, lay.region_size};
    int fds[3] = {memfd, efd[0], efd[1]};
    union {
        char buf[CMSG_SPACE(sizeof(fds))];
        struct cmsghdr align;
    } cm;
    struct iovec iov = {.iov_base = &hello, .iov_len = sizeof(hello)};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf, .msg_controllen = sizeof(cm.buf)};
    memset(cm.buf, 0, sizeof(cm.buf));
    struct cmsghdr *cmh = CMSG_FIRSTHDR(&msg);
    cmh->cmsg_level = SOL_SOCKET;
    cmh->cmsg_type = SCM_RIGHTS;
    cmh->cmsg_len = CMSG_LEN(sizeof(fds));
    memcpy(CMSG_DATA(cmh), fds, sizeof(fds));
    if (sendmsg(c, &msg, 0) != (ssize_t)sizeof(hello)) _exit(14);
    char junk;
    (void)read(c, &junk, 1); /* until B closes */
    unlink(wire);
    _exit(0);
}

static void run_fake_a(int hello_version, int hdr_version, int want)
{
    struct axl_pool pool;
    struct axl_port b;
    int status;
    pid_t pid;

    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) fake_a_main(hello_version, hdr_version);
    assert_int_equal(axl_pool_init(&pool, 64, 2048, 256), 0);
    /* role=b waits for the fake A's socket to appear. */
    assert_int_equal(open_port(&b, &pool, "shm:%s,role=b,wait=3000", wire), want);
    if (want == 0) axl_port_close(&b);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    axl_pool_fini(&pool);
}

static void test_abi_version_mismatch(void **state)
{
    (void)state;
    run_fake_a(AXL_SHMLINK_ABI_VERSION, AXL_SHMLINK_ABI_VERSION, 0); /* the fake is right */
    run_fake_a(AXL_SHMLINK_ABI_VERSION + 1, AXL_SHMLINK_ABI_VERSION, AXL_EVERSION);
    run_fake_a(AXL_SHMLINK_ABI_VERSION, AXL_SHMLINK_ABI_VERSION + 1, AXL_EVERSION);
}

static void test_bad_options(void **state)
{
    struct axl_pool pool;
    struct axl_port p;
    (void)state;
    assert_int_equal(axl_pool_init(&pool, 64, 2048, 256), 0);
    assert_int_equal(open_port(&p, &pool, "shm:%s,loss=101", wire), AXL_EINVAL);
    assert_int_equal(open_port(&p, &pool, "shm:%s,reorder=60", wire), AXL_EINVAL);
    assert_int_equal(open_port(&p, &pool, "shm:%s,slots=100", wire), AXL_EINVAL);
    assert_int_equal(open_port(&p, &pool, "shm:%s,rate=0", wire), AXL_EINVAL);
    assert_int_equal(open_port(&p, &pool, "shm:%s,role=c", wire), AXL_EINVAL);
    assert_int_equal(open_port(&p, &pool, "shm:%s,colour=red", wire), AXL_EINVAL);
    /* role=b with nobody there gives up after wait= ms. */
    uint64_t t0 = axl_clock_ns();
    assert_int_equal(open_port(&p, &pool, "shm:%s,role=b,wait=200", wire), -ETIMEDOUT);
    assert_true(axl_clock_ns() - t0 >= 200 * AXL_NS_PER_MS);
    /* role=a twice: the second one is refused. */
    struct axl_port a;
    assert_int_equal(open_port(&a, &pool, "shm:%s,role=a", wire), 0);
    assert_int_equal(open_port(&p, &pool, "shm:%s,role=a", wire), AXL_EADDRINUSE);
    axl_port_close(&a);
    /* A stale socket file (no listener) is replaced. */
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, wire);
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(s);
    assert_int_equal(open_port(&a, &pool, "shm:%s", wire), 0);
    axl_port_close(&a);
    axl_pool_fini(&pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_frames_pass_in_order, new_wire),
        cmocka_unit_test_setup(test_ring_full_counts_tx_full, new_wire),
        cmocka_unit_test_setup(test_loss, new_wire),
        cmocka_unit_test_setup(test_dup, new_wire),
        cmocka_unit_test_setup(test_corrupt, new_wire),
        cmocka_unit_test_setup(test_reorder, new_wire),
        cmocka_unit_test_setup(test_same_seed_same_pattern, new_wire),
        cmocka_unit_test_setup(test_delay, new_wire),
        cmocka_unit_test_setup(test_jitter_and_rate, new_wire),
        cmocka_unit_test_setup(test_rate_accuracy, new_wire),
        cmocka_unit_test_setup(test_jumbo_and_too_big, new_wire),
        cmocka_unit_test_setup(test_peer_restart_and_busy, new_wire),
        cmocka_unit_test_setup(test_hostile_peer, new_wire),
        cmocka_unit_test_setup(test_abi_version_mismatch, new_wire),
        cmocka_unit_test_setup(test_bad_options, new_wire),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
