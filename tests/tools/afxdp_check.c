/* SPDX-License-Identifier: MIT */
/*
 * afxdp_check.c - port-level integration tool for the AF_XDP backend.
 *
 * Opens one or more queues of an afxdp port (through port.c, so spec parsing
 * and the ops table are exercised too) and runs a tiny responder on them:
 * ARP requests for --ip and ICMP echo requests to it are answered in place
 * with minimal hand-built replies, on the queue they arrived on. This is only
 * a port test; the real stack lives in src/net.
 *
 *   ping mode:     afxdp_check --port afxdp:IF --expect-echo 200
 *   --multiq N:    open queues 0..N-1 (one pool and one socket each) and
 *                  count frames per queue; --expect-udp M stops once M UDP
 *                  datagrams arrived in total.
 *   --fork:        one child process per queue after the parent ran
 *                  dev_setup (the supervisor/replica layout).
 *   --no-setup:    skip dev_setup; open() attaches the program itself (or
 *                  finds one attached by another live process).
 *
 * Output (stdout): "ready pid PID" once every queue is open, then at the end one
 * "queue Q rx N arp A echo E udp U other O" line per queue, each port's
 * counters ("qQ PortRxPackets N" ...) and "total rx N udp U echo E".
 * Exit status: 0 = expectations met and every pool drained back to zero
 * buffers in use after close; 1 = error; 3 = expectation not met in time.
 */
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "core/clock.h"
#include "core/compiler.h"
#include "core/err.h"
#include "core/log.h"
#include "core/pool.h"
#include "port/port.h"

#define MAXQ  64
#define BURST 64

/* Per-queue counters in a MAP_SHARED page so forked children can report. */
struct qcount {
    uint64_t rx, arp, echo, udp, other, txdrop;
    int ready; /* the queue is open */
};

struct shared {
    struct qcount q[MAXQ];
    int done;
};

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

struct args {
    const char *spec;
    uint32_t ip; /* network order */
    uint32_t nq, first_q;
    int fork_mode, no_setup;
    double seconds;
    uint64_t expect_udp, expect_echo;
    uint32_t nbufs;
};

static uint16_t csum16(const uint8_t *p, size_t len)
{
    uint32_t s = 0;

    for (size_t i = 0; i + 1 < len; i += 2)
        s += axl_load_be16(p + i);
    if (len & 1)
        s += (uint32_t)p[len - 1] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

enum { R_DROP = 0, R_REPLY = 1 };

/* Turn a received frame into its reply in place; count what it was. */
static int answer(struct axl_port *p, struct axl_pkt *pkt, uint32_t ip, struct qcount *c)
{
    uint8_t *f = pkt->data;
    uint32_t len = pkt->len;

    if (len < 14) {
        c->other++;
        return R_DROP;
    }
    if (axl_load_be16(f + 12) == 0x0806 && len >= 42) {
        uint8_t *a = f + 14;

        if (axl_load_be16(a) != 1 || axl_load_be16(a + 2) != 0x0800 || a[4] != 6 || a[5] != 4 ||
            axl_load_be16(a + 6) != 1 || memcmp(a + 24, &ip, 4)) {
            c->other++;
            return R_DROP;
        }
        c->arp++;
        axl_store_be16(a + 6, 2);
        memcpy(a + 18, a + 8, 10); /* tha,tpa = sha,spa */
        memcpy(a + 8, p->mac, 6);  /* sha = us */
        memcpy(a + 14, &ip, 4);    /* spa = us */
        memcpy(f, f + 6, 6);
        memcpy(f + 6, p->mac, 6);
        pkt->len = 42;
        return R_REPLY;
    }
    if (axl_load_be16(f + 12) == 0x0800 && len >= 34) {
        uint8_t *h = f + 14;
        uint32_t ihl = (uint32_t)(h[0] & 15) * 4, tot = axl_load_be16(h + 2);

        if ((h[0] >> 4) != 4 || ihl < 20 || tot < ihl || 14 + tot > len || memcmp(h + 16, &ip, 4)) {
            c->other++;
            return R_DROP;
        }
        if (h[9] == 17) {
            c->udp++;
            return R_DROP;
        }
        if (h[9] != 1 || tot < ihl + 8 || h[ihl] != 8 || (axl_load_be16(h + 6) & 0x3fff)) {
            c->other++;
            return R_DROP;
        }
        c->echo++;
        uint8_t tmp[4], *icmp = h + ihl;
        memcpy(tmp, h + 12, 4);
        memcpy(h + 12, h + 16, 4);
        memcpy(h + 16, tmp, 4);
        h[8] = 64;
        axl_store_be16(h + 10, 0);
        axl_store_be16(h + 10, csum16(h, ihl));
        icmp[0] = 0;
        axl_store_be16(icmp + 2, 0);
        axl_store_be16(icmp + 2, csum16(icmp, tot - ihl));
        memcpy(f, f + 6, 6);
        memcpy(f + 6, p->mac, 6);
        pkt->len = 14 + tot;
        return R_REPLY;
    }
    c->other++;
    return R_DROP;
}

static uint64_t total(const struct shared *sh, size_t off, uint32_t nq)
{
    uint64_t t = 0;

    for (uint32_t q = 0; q < nq; q++)
        t += __atomic_load_n((const uint64_t *)((const char *)&sh->q[q] + off), __ATOMIC_RELAXED);
    return t;
}

static int expectations_met(const struct args *a, const struct shared *sh)
{
    uint32_t end = a->first_q + a->nq;

    if (a->expect_udp && total(sh, offsetof(struct qcount, udp), end) < a->expect_udp)
        return 0;
    if (a->expect_echo && total(sh, offsetof(struct qcount, echo), end) < a->expect_echo)
        return 0;
    return a->expect_udp || a->expect_echo;
}

/* Run queues [q0, q0+n) in this process until stopped. Returns 0 if every
 * pool drained after close, 1 otherwise. */
static int serve(const struct args *a, const struct axl_port_cfg *base, uint32_t q0, uint32_t n,
                 struct shared *sh, int single)
{
    struct axl_pool pools[MAXQ];
    struct axl_port ports[MAXQ];
    struct qcount local[MAXQ];
    struct pollfd pfd[MAXQ];
    uint32_t opened = 0, idle = 0;
    uint64_t deadline = axl_clock_ns() + (uint64_t)(a->seconds * 1e9);
    int rc = 0, err;

    memset(local, 0, sizeof(local));
    for (uint32_t i = 0; i < n; i++) {
        struct axl_port_cfg cfg = *base;

        err = axl_pool_init(&pools[i], a->nbufs, 2048, AXL_POOL_HEADROOM);
        if (err) {
            fprintf(stderr, "afxdp_check: pool: %s\n", axl_strerror(err));
            rc = 1;
            goto out;
        }
        cfg.queue = q0 + i;
        cfg.pool = &pools[i];
        err = axl_port_open(&ports[i], &cfg);
        if (err) {
            fprintf(stderr, "afxdp_check: open queue %u: %s\n", q0 + i, axl_strerror(err));
            axl_pool_fini(&pools[i]);
            rc = 1;
            goto out;
        }
        opened++;
        pfd[i].fd = axl_port_fd(&ports[i]);
        pfd[i].events = POLLIN;
        __atomic_store_n(&sh->q[q0 + i].ready, 1, __ATOMIC_RELEASE);
    }
    if (single) {
        printf("ready pid %d\n", (int)getpid());
        fflush(stdout);
    }

    /* Bounded by --seconds (and the parent / expectations). */
    while (!g_stop && !__atomic_load_n(&sh->done, __ATOMIC_RELAXED) && axl_clock_ns() < deadline) {
        uint32_t work = 0;

        for (uint32_t i = 0; i < n; i++) { /* hot */
            struct axl_pkt *rx[BURST], *tx[BURST];
            struct qcount *c = &sh->q[q0 + i], *l = &local[i];
            uint32_t got = axl_port_rx_burst(&ports[i], rx, BURST), nt = 0, sent;

            if (!got)
                continue;
            work += got;
            l->rx += got;
            for (uint32_t k = 0; k < got; k++) {
                if (answer(&ports[i], rx[k], a->ip, l) == R_REPLY)
                    tx[nt++] = rx[k];
                else
                    axl_pkt_free(&pools[i], rx[k]);
            }
            sent = nt ? axl_port_tx_burst(&ports[i], tx, nt) : 0;
            if (sent < nt) {
                l->txdrop += nt - sent;
                axl_pkt_free_bulk(&pools[i], tx + sent, nt - sent);
            }
            axl_port_flush(&ports[i]);
            /* Publish (one writer per queue; the parent only reads). */
            __atomic_store_n(&c->rx, l->rx, __ATOMIC_RELAXED);
            __atomic_store_n(&c->arp, l->arp, __ATOMIC_RELAXED);
            __atomic_store_n(&c->echo, l->echo, __ATOMIC_RELAXED);
            __atomic_store_n(&c->udp, l->udp, __ATOMIC_RELAXED);
            __atomic_store_n(&c->other, l->other, __ATOMIC_RELAXED);
            __atomic_store_n(&c->txdrop, l->txdrop, __ATOMIC_RELAXED);
        }
        if (single && expectations_met(a, sh))
            break;
        if (work) {
            idle = 0;
            continue;
        }
        if (++idle < 32)
            continue;
        idle = 0;
        {
            int may_sleep = 1;

            for (uint32_t i = 0; i < n; i++)
                if (ports[i].ops->prepare_sleep && !ports[i].ops->prepare_sleep(&ports[i]))
                    may_sleep = 0;
            if (may_sleep)
                (void)poll(pfd, n, 20);
        }
    }

out:
    for (uint32_t i = 0; i < opened; i++) {
        char prefix[16];

        snprintf(prefix, sizeof(prefix), "q%u", q0 + i);
        axl_port_close(&ports[i]);
        axl_port_stats_dump(&ports[i], stdout, prefix);
        if (axl_pool_in_use(&pools[i])) {
            fprintf(stderr, "afxdp_check: queue %u: %u buffers still in use after close\n",
                    q0 + i, axl_pool_in_use(&pools[i]));
            rc = 1;
        }
        axl_pool_fini(&pools[i]);
    }
    fflush(stdout);
    return rc;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: afxdp_check --port afxdp:IF[:Q][,opts] [options]\n"
            "AF_XDP port check: answers ARP and ICMP echo for --ip on every opened queue and\n"
            "counts frames per queue. Prints 'ready' when open, per-queue counts at the end.\n"
            "  -p, --port SPEC        port spec (kind afxdp; QUEUES must cover --multiq)\n"
            "  -i, --ip ADDR          IPv4 address to answer for (default 198.18.0.2)\n"
            "  -m, --multiq N         open N queues (default 1), one pool + socket each\n"
            "  -f, --first-queue Q    first queue to open (default 0)\n"
            "      --fork             one child process per queue (parent runs dev_setup)\n"
            "      --no-setup         do not call dev_setup (open attaches or finds the program)\n"
            "  -t, --seconds S        stop after S seconds (default 20, max 600)\n"
            "      --expect-udp N     stop once N UDP datagrams to --ip arrived (all queues)\n"
            "      --expect-echo N    stop once N echo requests were answered\n"
            "      --bufs N           buffers per pool (default 4096)\n"
            "  -v, --verbose          log level debug (default info)\n"
            "  -h, --help             this text\n"
            "Exit: 0 ok, 1 error (open failure, buffers leaked), 3 expectation not met.\n");
}

static int parse_args(int argc, char **argv, struct args *a)
{
    static const struct option lo[] = {
        {"port", required_argument, 0, 'p'},  {"ip", required_argument, 0, 'i'},
        {"multiq", required_argument, 0, 'm'}, {"first-queue", required_argument, 0, 'f'},
        {"fork", no_argument, 0, 'F'},        {"no-setup", no_argument, 0, 'N'},
        {"seconds", required_argument, 0, 't'}, {"expect-udp", required_argument, 0, 'U'},
        {"expect-echo", required_argument, 0, 'E'}, {"bufs", required_argument, 0, 'B'},
        {"verbose", no_argument, 0, 'v'},      {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    struct in_addr in;
    char *end;
    int o;

    memset(a, 0, sizeof(*a));
    inet_pton(AF_INET, "198.18.0.2", &in);
    a->ip = in.s_addr;
    a->nq = 1;
    a->seconds = 20;
    a->nbufs = 4096;
    axl_log_set_level(AXL_LOG_INFO);
    while ((o = getopt_long(argc, argv, "p:i:m:f:t:vh", lo, NULL)) != -1) {
        switch (o) {
        case 'p':
            a->spec = optarg;
            break;
        case 'i':
            if (inet_pton(AF_INET, optarg, &in) != 1)
                goto bad;
            a->ip = in.s_addr;
            break;
        case 'm':
            a->nq = (uint32_t)strtoul(optarg, &end, 10);
            if (*end || a->nq < 1 || a->nq > MAXQ)
                goto bad;
            break;
        case 'f':
            a->first_q = (uint32_t)strtoul(optarg, &end, 10);
            if (*end || a->first_q >= MAXQ)
                goto bad;
            break;
        case 'F':
            a->fork_mode = 1;
            break;
        case 'N':
            a->no_setup = 1;
            break;
        case 't':
            a->seconds = strtod(optarg, &end);
            if (*end || !(a->seconds > 0 && a->seconds <= 600))
                goto bad;
            break;
        case 'U':
            a->expect_udp = strtoull(optarg, &end, 10);
            if (*end)
                goto bad;
            break;
        case 'E':
            a->expect_echo = strtoull(optarg, &end, 10);
            if (*end)
                goto bad;
            break;
        case 'B':
            a->nbufs = (uint32_t)strtoul(optarg, &end, 10);
            if (*end || a->nbufs < 256 || a->nbufs > (1u << 20))
                goto bad;
            break;
        case 'v':
            axl_log_set_level(AXL_LOG_DEBUG);
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
        continue;
    bad:
        fprintf(stderr, "afxdp_check: bad value '%s' for -%c (try --help)\n", optarg, o);
        return -1;
    }
    if (!a->spec || optind != argc) {
        fprintf(stderr, "afxdp_check: --port is required, no positional arguments (try --help)\n");
        return -1;
    }
    if (a->first_q + a->nq > MAXQ) {
        fprintf(stderr, "afxdp_check: queues beyond %d\n", MAXQ);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct args a;
    struct axl_port_cfg cfg;
    struct shared *sh;
    struct sigaction sa;
    char err[256];
    pid_t kids[MAXQ];
    int rc = 0, setup = 0;

    if (parse_args(argc, argv, &a))
        return 1;
    if (axl_port_parse_spec(a.spec, &cfg, err, sizeof(err))) {
        fprintf(stderr, "afxdp_check: %s\n", err);
        return 1;
    }
    if (strcmp(cfg.kind, "afxdp")) {
        fprintf(stderr, "afxdp_check: port kind must be afxdp, not %s\n", cfg.kind);
        return 1;
    }
    if (a.first_q + a.nq > cfg.nqueues) {
        fprintf(stderr, "afxdp_check: spec has %u queue(s), need %u\n", cfg.nqueues,
                a.first_q + a.nq);
        return 1;
    }
    sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) {
        perror("afxdp_check: mmap");
        return 1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    if (!a.no_setup) {
        int e = axl_port_dev_setup(&cfg);

        if (e) {
            fprintf(stderr, "afxdp_check: dev_setup: %s\n", axl_strerror(e));
            rc = 1;
            goto out;
        }
        setup = 1;
    }

    if (!a.fork_mode) {
        rc = serve(&a, &cfg, a.first_q, a.nq, sh, 1);
    } else {
        uint64_t deadline = axl_clock_ns() + (uint64_t)(a.seconds * 1e9);
        uint32_t nk = 0;

        for (uint32_t i = 0; i < a.nq; i++) {
            pid_t pid = fork();

            if (pid < 0) {
                perror("afxdp_check: fork");
                rc = 1;
                break;
            }
            if (pid == 0) {
                int r = serve(&a, &cfg, a.first_q + i, 1, sh, 0);

                fflush(stdout);
                _exit(r);
            }
            kids[nk++] = pid;
        }
        /* Wait until every child has its queue open (or one gave up). */
        for (uint32_t i = 0; rc == 0 && i < a.nq; i++) {
            while (!__atomic_load_n(&sh->q[a.first_q + i].ready, __ATOMIC_ACQUIRE)) {
                int st;

                if (g_stop || axl_clock_ns() >= deadline || waitpid(-1, &st, WNOHANG) > 0) {
                    rc = 1;
                    break;
                }
                usleep(2000);
            }
        }
        if (rc == 0) {
            printf("ready pid %d\n", (int)getpid());
            fflush(stdout);
        }
        while (!g_stop && rc == 0 && axl_clock_ns() < deadline && !expectations_met(&a, sh)) {
            int st;

            if (waitpid(-1, &st, WNOHANG) > 0) { /* a child gave up early */
                rc = 1;
                break;
            }
            usleep(5000);
        }
        __atomic_store_n(&sh->done, 1, __ATOMIC_RELAXED);
        for (uint32_t i = 0; i < nk; i++)
            kill(kids[i], SIGTERM);
        for (uint32_t i = 0; i < nk; i++) {
            int st = 0;

            if (waitpid(kids[i], &st, 0) == kids[i] && (!WIFEXITED(st) || WEXITSTATUS(st)))
                rc = 1;
        }
    }

    for (uint32_t q = a.first_q; q < a.first_q + a.nq; q++) {
        const struct qcount *c = &sh->q[q];

        printf("queue %u rx %llu arp %llu echo %llu udp %llu other %llu txdrop %llu\n", q,
               (unsigned long long)c->rx, (unsigned long long)c->arp,
               (unsigned long long)c->echo, (unsigned long long)c->udp,
               (unsigned long long)c->other, (unsigned long long)c->txdrop);
    }
    printf("total rx %llu udp %llu echo %llu\n",
           (unsigned long long)total(sh, offsetof(struct qcount, rx), a.first_q + a.nq),
           (unsigned long long)total(sh, offsetof(struct qcount, udp), a.first_q + a.nq),
           (unsigned long long)total(sh, offsetof(struct qcount, echo), a.first_q + a.nq));
    if (rc == 0 && (a.expect_udp || a.expect_echo) && !expectations_met(&a, sh)) {
        fprintf(stderr, "afxdp_check: expectation not met in %.1f s\n", a.seconds);
        rc = 3;
    }
out:
    if (setup)
        axl_port_dev_teardown(&cfg);
    munmap(sh, sizeof(*sh));
    return rc;
}
