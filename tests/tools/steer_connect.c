/* SPDX-License-Identifier: MIT */
/*
 * steer_connect.c - test helper for the steering proof (tests/integration/
 * steer_rss.sh): N engines in one process, engine q on queue q of a
 * multi-queue port (AF_XDP on a veth whose kernel peer runs the RSS
 * emulation, tests/bpf/steer_rss.bpf.c). Each engine opens --conns TCP
 * connections to a kernel echo server, sends a line, and checks the echo.
 * Each engine is told it is queue q of N (axl_stack_cfg.steer_*), so its
 * ephemeral ports are picked such that the replies hash to its own queue;
 * --no-steer turns the picker off (the control run: replies then land on
 * the wrong engine, which answers them with RST).
 *
 * Prints one line per engine:
 *   engine Q ok=N failed=N TcpActiveOpens=N DropTcpNoSocket=N TcpOutRsts=N rx=N
 * and exits 0 when every connection echoed and no engine saw a segment for a
 * connection it does not have (DropTcpNoSocket) or sent a RST; 1 otherwise;
 * 2 on bad arguments or set-up failure.
 *
 * Call chain: main -> axl_port_dev_setup -> per queue {pool, axl_port_open,
 * axl_stack_create} -> axl_tcp_connect (pick_port + steer) -> loop
 * {axl_stack_poll for every engine} -> events -> verdict.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/opts.h"
#include "core/pool.h"
#include "net/stack.h"
#include "net/tcp.h"
#include "port/port.h"
#include "steer/steer.h"

#define PROG "steer_connect"
#define MAXQ 8

struct conn {
    struct eng *e;
    struct axl_tcb *c;
    char msg[48];
    uint32_t mlen, got;
    char buf[48];
    int sent, done, ok, closed;
};

struct eng {
    uint32_t q;
    struct axl_pool pool;
    struct axl_port port;
    struct axl_stack *s;
    struct conn *conns;
    uint32_t nconns, nok, nfail;
};

static void conn_finish(struct conn *k, int ok)
{
    if (k->done) return;
    k->done = 1;
    k->ok = ok;
    if (ok)
        k->e->nok++;
    else
        k->e->nfail++;
    if (!k->closed) {
        k->closed = 1;
        axl_tcp_close(k->c);
    }
}

static void ev_connected(struct axl_tcb *c, void *u)
{
    struct conn *k = u;
    if (axl_tcp_send(c, k->msg, k->mlen) != (int)k->mlen) conn_finish(k, 0);
    k->sent = 1;
}

static void ev_data(struct axl_tcb *c, void *u, uint32_t avail)
{
    struct conn *k = u;
    (void)avail;
    for (;;) {
        char tmp[64];
        int n = axl_tcp_read(c, tmp, sizeof(tmp));
        if (n <= 0) break;
        for (int i = 0; i < n; i++)
            if (k->got < sizeof(k->buf)) k->buf[k->got++] = tmp[i];
    }
    if (k->got >= k->mlen) conn_finish(k, k->got == k->mlen && !memcmp(k->buf, k->msg, k->mlen));
}

static void ev_cleanup(struct axl_tcb *c, void *u, int err)
{
    struct conn *k = u;
    (void)c;
    (void)err;
    conn_finish(k, 0);
}

static const struct axl_tcp_ops ops = {
    .connected = ev_connected, .new_data = ev_data, .cleanup = ev_cleanup};

static volatile sig_atomic_t stop;
static void on_sig(int sig)
{
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv)
{
    const char *spec = NULL;
    struct axl_cidr addr = {0};
    uint32_t dest = 0, dport = 0, nconns = 16, timeout_s = 20;
    int no_steer = 0, rc;
    static const char desc[] =
        "Open TCP connections from one engine per queue of a multi-queue port and check\n"
        "that every reply comes back to the engine that opened the connection.";
    const struct axl_opt opts[] = {
        {"port", 'p', AXL_OPT_STR, "SPEC", "multi-queue port, e.g. afxdp:veth0:2", &spec},
        {"addr", 'a', AXL_OPT_CIDR, "CIDR", "our address", &addr},
        {"dest", 'd', AXL_OPT_IPV4, "IP", "echo server address", &dest},
        {"dport", 0, AXL_OPT_U32, "PORT", "echo server port", &dport, 1, 65535},
        {"conns", 'n', AXL_OPT_U32, "N", "connections per engine (16)", &nconns, 1, 4096},
        {"timeout", 't', AXL_OPT_U32, "S", "give up after S seconds (20)", &timeout_s, 1, 600},
        {"no-steer", 0, AXL_OPT_FLAG, NULL, "do not steer ephemeral ports (control run)",
         &no_steer},
        {0},
    };
    if (axl_opts_parse(argc, argv, PROG, "--port SPEC --addr CIDR --dest IP --dport PORT [options]",
                       desc, opts) < 0)
        return 2;
    if (!spec || !addr.addr || !dest || !dport) {
        fprintf(stderr, "%s: --port, --addr, --dest and --dport are required (see --help)\n", PROG);
        return 2;
    }
    struct axl_port_cfg pcfg;
    char err[256];
    if (axl_port_parse_spec(spec, &pcfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s: --port: %s\n", PROG, err);
        return 2;
    }
    uint32_t nq = pcfg.nqueues;
    if (nq < 1 || nq > MAXQ) {
        fprintf(stderr, "%s: --port: 1..%d queues\n", PROG, MAXQ);
        return 2;
    }
    signal(SIGINT, on_sig);
    signal(SIGTERM, on_sig);
    if ((rc = axl_port_dev_setup(&pcfg)) < 0) {
        fprintf(stderr, "%s: device set-up failed: %s\n", PROG, axl_strerror(rc));
        return 2;
    }
    static struct eng engs[MAXQ];
    int status = 2;
    uint32_t opened = 0;
    for (uint32_t q = 0; q < nq; q++) {
        struct eng *e = &engs[q];
        e->q = q;
        if ((rc = axl_pool_init(&e->pool, 4096, 2048, AXL_POOL_HEADROOM)) < 0) {
            fprintf(stderr, "%s: pool: %s\n", PROG, axl_strerror(rc));
            goto out;
        }
        struct axl_port_cfg c = pcfg;
        c.queue = q;
        c.pool = &e->pool;
        if ((rc = axl_port_open(&e->port, &c)) < 0) {
            fprintf(stderr, "%s: queue %u: %s\n", PROG, q, axl_strerror(rc));
            goto out;
        }
        opened = q + 1;
        struct axl_stack_cfg scfg;
        memset(&scfg, 0, sizeof(scfg));
        scfg.addr = addr;
        if (!no_steer) {
            scfg.steer_queue = (uint16_t)q;
            scfg.steer_nqueues = (uint16_t)nq;
        }
        if (!(e->s = axl_stack_create(&scfg, &e->port, &e->pool, axl_clock_ns()))) goto out;
        e->conns = calloc(nconns, sizeof(*e->conns));
        if (!e->conns) goto out;
        e->nconns = nconns;
    }
    /* Let the gratuitous ARPs out and the peer's neighbour entry settle. */
    for (uint64_t t0 = axl_clock_ns(); axl_clock_ns() - t0 < 200 * AXL_NS_PER_MS;) {
        for (uint32_t q = 0; q < nq; q++) axl_stack_poll(engs[q].s, axl_clock_ns());
        usleep(1000);
    }
    for (uint32_t q = 0; q < nq; q++)
        for (uint32_t i = 0; i < nconns; i++) {
            struct conn *k = &engs[q].conns[i];
            k->e = &engs[q];
            k->mlen = (uint32_t)snprintf(k->msg, sizeof(k->msg), "engine-%u-conn-%u\n", q, i);
            rc = axl_tcp_connect(engs[q].s, dest, (uint16_t)dport, 0, &ops, k, &k->c);
            if (rc < 0) {
                fprintf(stderr, "%s: engine %u: connect: %s\n", PROG, q, axl_strerror(rc));
                k->done = k->closed = 1;
                engs[q].nfail++;
            }
        }
    uint64_t deadline = axl_clock_ns() + (uint64_t)timeout_s * AXL_NS_PER_S;
    for (;;) {
        uint32_t work = 0, pending = 0;
        uint64_t now = axl_clock_ns();
        for (uint32_t q = 0; q < nq; q++) {
            work += axl_stack_poll(engs[q].s, now);
            pending += engs[q].nconns - engs[q].nok - engs[q].nfail;
        }
        if (!pending || stop || now > deadline) break;
        if (!work) usleep(200);
    }
    /* Let the FINs go out (the server closes too; TIME-WAIT is ours). */
    for (uint64_t t0 = axl_clock_ns(); axl_clock_ns() - t0 < 300 * AXL_NS_PER_MS;) {
        for (uint32_t q = 0; q < nq; q++) axl_stack_poll(engs[q].s, axl_clock_ns());
        usleep(500);
    }
    status = 0;
    for (uint32_t q = 0; q < nq; q++) {
        struct eng *e = &engs[q];
        int64_t nosock = axl_stack_stat(e->s, "DropTcpNoSocket");
        int64_t rsts = axl_stack_stat(e->s, "TcpOutRsts");
        int64_t opens = axl_stack_stat(e->s, "TcpActiveOpens");
        uint32_t unfinished = e->nconns - e->nok - e->nfail;
        printf("engine %u ok=%u failed=%u TcpActiveOpens=%lld DropTcpNoSocket=%lld "
               "TcpOutRsts=%lld rx=%llu\n",
               q, e->nok, e->nfail + unfinished, (long long)opens, (long long)nosock,
               (long long)rsts, (unsigned long long)e->port.stats.rx_packets);
        if (e->nok != e->nconns || nosock != 0 || rsts != 0) status = 1;
        for (uint32_t i = 0; i < e->nconns; i++)
            if (!e->conns[i].closed) {
                e->conns[i].closed = 1;
                axl_tcp_abort(e->conns[i].c);
            }
    }
    fflush(stdout);
out:
    for (uint32_t q = 0; q < MAXQ; q++) {
        if (engs[q].s) axl_stack_destroy(engs[q].s);
        if (q < opened) axl_port_close(&engs[q].port);
        axl_pool_fini(&engs[q].pool);
        free(engs[q].conns);
    }
    axl_port_dev_teardown(&pcfg);
    return status;
}
