/* SPDX-License-Identifier: MIT */
/*
 * chan_bench.c - the application <-> replica channel (src/chan/) between two
 * processes, the way they will run: the parent plays the stack (pinned to
 * --stk-cpu, default 0), the child the application (--app-cpu, default 1);
 * the channel is created after the fork and handed over with SCM_RIGHTS.
 *
 *   commands/s   the app submits OPEN-less RECV_DONE commands in batches of
 *                --batch, one kick per batch; the stack decodes each (full
 *                validation) and answers with a DONE event; the app reads
 *                the events. Rate = commands completed / elapsed.
 *   round trip   one command, one DONE back, both sides polling.
 *   bytes/s      --mib MiB through one socket's TX ring (app -> stack) and
 *                as much through its RX ring (stack -> app) at the same time,
 *                writes of at most --chunk bytes, both sides checking every
 *                byte; futex wake-ups counted (both spin --spin-us before
 *                sleeping).
 *   empty recv   in one process: axl_chan_app_rx_peek on an empty socket
 *                (what a non-blocking recv that finds nothing costs).
 *
 * On a shared or virtual machine the figures move with what else runs on the
 * two CPUs; --repeat N reports the median and the range of each.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chan/chan.h"
#include "core/clock.h"
#include "core/compiler.h"
#include "core/opts.h"

#define PROG     "chan_bench"
#define STALL_NS (20 * AXL_NS_PER_S)
#define PERIOD   65521u

struct cfg {
    uint32_t stk_cpu, app_cpu, batch, repeat, ring_kib, chunk_kib, spin_us;
    uint64_t mib;
    double duration;
};

struct result {
    double cmds_per_s, rtt_ns, mib_per_s, empty_recv_ns;
    uint64_t wakes;
};

static void pin(uint32_t cpu)
{
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(cpu, &s);
    if (sched_setaffinity(0, sizeof(s), &s) < 0)
        fprintf(stderr, PROG ": cannot pin to CPU %u: %s\n", cpu, strerror(errno));
}

static void die(const char *what, int err)
{
    fprintf(stderr, PROG ": %s: %s\n", what, err ? strerror(-err) : "failed");
    exit(1);
}

static uint8_t *pattern(uint32_t extra)
{
    uint8_t *t = malloc(PERIOD + extra);
    if (!t) die("malloc", -ENOMEM);
    for (uint32_t i = 0; i < PERIOD + extra; i++) {
        uint32_t x = (i % PERIOD) * 2654435761u;
        t[i] = (uint8_t)(x >> 24 ^ x >> 11);
    }
    return t;
}

/* ------------------------------------------------------------------------ */
/* application (child)                                                       */

enum { PHASE_CMDS = 1, PHASE_RTT = 2, PHASE_BYTES = 3 };

static void app_attach(int sock, struct axl_chan_app *a, struct axl_chan_asock *s)
{
    struct axl_chan_hello h;
    struct axl_chan_event e;
    int fds[2];
    unsigned v;
    if (axl_chan_recv_hello(sock, &h, fds) < 0 || axl_chan_map_app(a, &h, fds) < 0)
        die("app attach", 0);
    close(fds[0]);
    close(fds[1]);
    uint64_t end = axl_clock_ns() + STALL_NS;
    while (axl_chan_app_poll_event(a, &e, &v) != 1)
        if (axl_clock_ns() > end) die("no NEW_CONN", 0);
    if (axl_chan_app_sock(a, e.sock, e.gen, s) < 0) die("app sock", 0);
}

static int app_main(int sock, const struct cfg *c, int phase)
{
    struct axl_chan_app a;
    struct axl_chan_asock s;
    struct axl_chan_event e;
    unsigned v;
    pin(c->app_cpu);
    app_attach(sock, &a, &s);
    struct axl_chan_cmd cmd = {.op = AXL_CHAN_OP_RECV_DONE, .sock = s.id, .gen = s.gen, .len = 1};
    uint64_t end = axl_clock_ns() + (uint64_t)(c->duration * 1e9);
    if (phase == PHASE_CMDS || phase == PHASE_RTT) {
        struct axl_chan_cmd b[256];
        uint32_t batch = phase == PHASE_RTT ? 1 : c->batch, inflight = 0;
        for (uint32_t i = 0; i < batch; i++)
            b[i] = cmd;
        while (axl_clock_ns() < end) {
            if (inflight == 0 || (phase == PHASE_CMDS && inflight <= batch)) {
                uint32_t k = axl_chan_app_submit(&a, b, batch);
                inflight += k;
                if (k) axl_chan_app_kick(&a);
            }
            while (axl_chan_app_poll_event(&a, &e, &v) == 1) {
                inflight--;
            }
        }
        cmd.op = AXL_CHAN_OP_CLOSE; /* tells the stack to stop */
        cmd.len = 0;
        while (!axl_chan_app_submit(&a, &cmd, 1))
            ;
        axl_chan_app_kick(&a);
    } else {
        uint64_t total = c->mib << 20, sent = 0, rcvd = 0, idle = 0;
        uint32_t chunk = c->chunk_kib << 10;
        uint8_t *tab = pattern(c->ring_kib << 10);
        struct axl_span sp[2];
        struct axl_cspan cs[2];
        uint32_t ids[64];
        end = axl_clock_ns() + STALL_NS;
        while ((sent < total || rcvd < total) && axl_clock_ns() < end) {
            int work = 0;
            int k = axl_chan_app_tx_reserve(&a, &s, sp);
            uint64_t w = AXL_MIN(AXL_MIN((uint64_t)(k > 0 ? k : 0), chunk), total - sent);
            if (w) {
                uint32_t w0 = (uint32_t)AXL_MIN(w, sp[0].len);
                memcpy(sp[0].p, tab + sent % PERIOD, w0);
                memcpy(sp[1].p, tab + (sent + w0) % PERIOD, (uint32_t)w - w0);
                axl_chan_app_tx_publish(&a, &s, (uint32_t)w);
                sent += w;
                work = 1;
            }
            k = axl_chan_app_rx_peek(&a, &s, cs);
            if (k > 0) {
                if (memcmp(cs[0].p, tab + rcvd % PERIOD, cs[0].len) ||
                    memcmp(cs[1].p, tab + (rcvd + cs[0].len) % PERIOD, cs[1].len))
                    die("RX bytes differ", 0);
                axl_chan_app_rx_commit(&a, &s, (uint32_t)k);
                rcvd += (uint32_t)k;
                work = 1;
            }
            axl_chan_app_scan(&a, ids, 64);
            if (work) {
                axl_chan_app_kick(&a);
                idle = 0;
            } else if (!idle) {
                idle = axl_clock_ns();
            } else if (axl_clock_ns() - idle > c->spin_us * AXL_NS_PER_US) {
                axl_chan_app_sleep(&a, 100 * AXL_NS_PER_MS);
                idle = 0;
            }
        }
        if (sent < total || rcvd < total) die("byte stream stalled", 0);
        free(tab);
    }
    if (send(sock, &a.stats.wakes, sizeof(a.stats.wakes), 0) < 0) return 1;
    axl_chan_app_unmap(&a);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* stack (parent)                                                            */

static double run_phase(const struct cfg *c, int phase, uint64_t *wakes)
{
    int sv[2];
    struct axl_chan_params p;
    struct axl_chan_stk ch;
    uint32_t ids[64];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) die("socketpair", -errno);
    pid_t pid = fork();
    if (pid < 0) die("fork", -errno);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(sv[0]);
        _exit(app_main(sv[1], c, phase));
    }
    close(sv[1]);
    pin(c->stk_cpu);
    axl_chan_params_default(&p);
    p.max_socks = 64;
    p.rx_size = p.tx_size = c->ring_kib << 10;
    int r = axl_chan_create(&ch, &p, 1);
    if (r < 0) die("axl_chan_create", r);
    int id = axl_chan_stk_sock_alloc(&ch, AXL_CHAN_PROTO_TCP, AXL_CHAN_SS_ESTABLISHED);
    struct axl_chan_event e = {
        .type = AXL_CHAN_EV_NEW_CONN, .sock = (uint32_t)id, .gen = atomic_load(&ch.slots[id].gen)};
    if (axl_chan_send_hello(sv[0], &ch) < 0) die("hello", -errno);
    axl_chan_stk_drop_fds(&ch);
    axl_chan_stk_post(&ch, &e);
    axl_chan_stk_kick(&ch);

    uint64_t t0 = axl_clock_ns(), count = 0, end = t0 + (uint64_t)(c->duration * 1e9) + STALL_NS;
    double out = 0;
    if (phase == PHASE_CMDS || phase == PHASE_RTT) {
        struct axl_chan_cmd cmd;
        unsigned v;
        int stop = 0;
        while (!stop && axl_clock_ns() < end) {
            int any = 0;
            while ((r = axl_chan_stk_poll_cmd(&ch, &cmd, &v)) == 1) {
                if (cmd.op == AXL_CHAN_OP_CLOSE) {
                    stop = 1;
                    break;
                }
                struct axl_chan_event d = {.type = AXL_CHAN_EV_DONE,
                                           .sock = cmd.sock,
                                           .gen = cmd.gen,
                                           .cookie = cmd.cookie,
                                           .arg = cmd.op};
                while (axl_chan_stk_post(&ch, &d) < 0)
                    axl_chan_stk_kick(&ch);
                count++;
                any = 1;
            }
            if (r < 0) die("violation", 0);
            if (any) axl_chan_stk_kick(&ch);
        }
        double dt = (double)(axl_clock_ns() - t0) / 1e9;
        out = phase == PHASE_CMDS ? (double)count / dt : dt * 1e9 / (double)(count ? count : 1);
    } else {
        uint64_t total = c->mib << 20, sent = 0, rcvd = 0, idle = 0;
        uint32_t chunk = c->chunk_kib << 10;
        uint8_t *tab = pattern(c->ring_kib << 10);
        struct axl_span sp[2];
        struct axl_cspan cs[2];
        while ((sent < total || rcvd < total) && axl_clock_ns() < end) {
            int work = 0;
            axl_chan_stk_scan(&ch, ids, 64);
            int k = axl_chan_stk_tx_peek(&ch, (uint32_t)id, cs);
            if (k > 0) {
                if (memcmp(cs[0].p, tab + rcvd % PERIOD, cs[0].len) ||
                    memcmp(cs[1].p, tab + (rcvd + cs[0].len) % PERIOD, cs[1].len))
                    die("TX bytes differ", 0);
                axl_chan_stk_tx_consume(&ch, (uint32_t)id, (uint32_t)k);
                rcvd += (uint32_t)k;
                work = 1;
            }
            k = axl_chan_stk_rx_reserve(&ch, (uint32_t)id, sp);
            uint64_t w = AXL_MIN(AXL_MIN((uint64_t)(k > 0 ? k : 0), chunk), total - sent);
            if (w) {
                uint32_t w0 = (uint32_t)AXL_MIN(w, sp[0].len);
                memcpy(sp[0].p, tab + sent % PERIOD, w0);
                memcpy(sp[1].p, tab + (sent + w0) % PERIOD, (uint32_t)w - w0);
                axl_chan_stk_rx_publish(&ch, (uint32_t)id, (uint32_t)w);
                sent += w;
                work = 1;
            }
            if (work) {
                axl_chan_stk_kick(&ch);
                idle = 0;
            } else if (!idle) {
                idle = axl_clock_ns();
            } else if (axl_clock_ns() - idle > c->spin_us * AXL_NS_PER_US) {
                axl_chan_stk_sleep(&ch, 100 * AXL_NS_PER_MS);
                idle = 0;
            }
        }
        if (sent < total || rcvd < total) die("byte stream stalled", 0);
        out = (double)c->mib / ((double)(axl_clock_ns() - t0) / 1e9);
        free(tab);
    }
    uint64_t app_wakes = 0;
    if (recv(sv[0], &app_wakes, sizeof(app_wakes), 0) != sizeof(app_wakes)) die("app report", 0);
    int st;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) die("app failed", 0);
    *wakes = ch.stats.wakes + app_wakes;
    close(sv[0]);
    axl_chan_stk_close(&ch);
    return out;
}

/* In one process: a non-blocking recv that finds nothing. */
static double empty_recv_ns(void)
{
    struct axl_chan_params p;
    struct axl_chan_stk ch;
    struct axl_chan_app a;
    struct axl_chan_asock s;
    struct axl_chan_msg m;
    struct axl_cspan cs[2];
    axl_chan_params_default(&p);
    p.max_socks = 64;
    if (axl_chan_create(&ch, &p, 1) < 0) die("create", 0);
    axl_chan_stk_hello(&ch, &m);
    if (axl_chan_map_app(&a, &m.u.hello, ch.fd) < 0) die("map", 0);
    int id = axl_chan_stk_sock_alloc(&ch, AXL_CHAN_PROTO_TCP, AXL_CHAN_SS_ESTABLISHED);
    axl_chan_app_sock(&a, (uint32_t)id, 1, &s);
    const uint64_t n = 20 * 1000 * 1000;
    uint64_t got = 0, t0 = axl_clock_ns();
    for (uint64_t i = 0; i < n; i++)
        got += (uint64_t)axl_chan_app_rx_peek(&a, &s, cs);
    double ns = (double)(axl_clock_ns() - t0) / (double)n;
    if (got) die("empty ring had data", 0);
    axl_chan_app_unmap(&a);
    axl_chan_stk_close(&ch);
    return ns;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

static void report(const char *what, const char *unit, double *v, uint32_t n, double scale)
{
    qsort(v, n, sizeof(*v), cmp_double);
    printf("%-34s %12.2f %-8s (min %.2f, max %.2f, %u runs)\n", what, v[n / 2] / scale, unit,
           v[0] / scale, v[n - 1] / scale, n);
}

int main(int argc, char **argv)
{
    struct cfg c = {0, 1, 32, 1, 256, 64, 200, 1024, 1.0};
    const struct axl_opt opts[] = {
        {"stk-cpu", 0, AXL_OPT_U32, "CPU", "CPU of the stack side (default 0)", &c.stk_cpu, 0,
         1023},
        {"app-cpu", 0, AXL_OPT_U32, "CPU", "CPU of the application side (default 1)", &c.app_cpu, 0,
         1023},
        {"batch", 0, AXL_OPT_U32, "N", "commands per kick (default 32)", &c.batch, 1, 256},
        {"duration", 0, AXL_OPT_DOUBLE, "S", "seconds per command run (default 1)", &c.duration,
         0.01, 60},
        {"mib", 0, AXL_OPT_U64, "N", "MiB each way in the byte run (default 1024)", &c.mib, 1,
         1 << 20},
        {"ring-kib", 0, AXL_OPT_U32, "N", "socket ring size in KiB (default 256)", &c.ring_kib, 4,
         16384},
        {"chunk-kib", 0, AXL_OPT_U32, "N", "largest write in KiB (default 64)", &c.chunk_kib, 1,
         16384},
        {"spin-us", 0, AXL_OPT_U32, "US", "poll this long before sleeping (default 200)",
         &c.spin_us, 0, 1000000},
        {"repeat", 0, AXL_OPT_U32, "N", "runs of each measurement (default 1)", &c.repeat, 1, 99},
        {0},
    };
    if (axl_opts_parse(argc, argv, PROG, "[OPTIONS]",
                       "Commands/s, round trip and bytes/s through an application channel "
                       "between two processes; empty-recv cost.",
                       opts) < 0)
        return 2;
    if (c.ring_kib & (c.ring_kib - 1) || c.chunk_kib > c.ring_kib) {
        fprintf(stderr, PROG ": --ring-kib must be a power of two >= --chunk-kib\n");
        return 2;
    }
    double cmds[99], rtt[99], bytes[99], empty[99];
    uint64_t wakes[99];
    for (uint32_t i = 0; i < c.repeat; i++) {
        uint64_t w;
        cmds[i] = run_phase(&c, PHASE_CMDS, &w);
        rtt[i] = run_phase(&c, PHASE_RTT, &w);
        bytes[i] = run_phase(&c, PHASE_BYTES, &wakes[i]);
        empty[i] = empty_recv_ns();
    }
    printf("# chan_bench: stack on CPU %u, app on CPU %u, ring %u KiB, batch %u\n", c.stk_cpu,
           c.app_cpu, c.ring_kib, c.batch);
    report("commands/s (validated, + DONE)", "Mcmd/s", cmds, c.repeat, 1e6);
    report("command round trip", "ns", rtt, c.repeat, 1);
    report("bytes each way (TX+RX at once)", "MiB/s", bytes, c.repeat, 1);
    double wk[99];
    for (uint32_t i = 0; i < c.repeat; i++)
        wk[i] = (double)wakes[i];
    report("  futex wakes in that run", "", wk, c.repeat, 1);
    report("empty non-blocking recv (peek)", "ns", empty, c.repeat, 1);
    return 0;
}
