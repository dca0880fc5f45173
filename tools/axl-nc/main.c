/* SPDX-License-Identifier: MIT */
/*
 * axl-nc - netcat over Axolotl: the stack linked into the tool
 * (run-to-completion mode), one engine on one port queue.
 *
 *   axl-nc --port afxdp:veth0 --addr 198.18.0.2/24 -l 5001 > out
 *       accept one connection, write what arrives to stdout, exit 0 when the
 *       peer has closed and our FIN is acknowledged
 *   axl-nc --port ... --addr ... -l 7 --echo [--count N]
 *       RFC 862 echo for any number of concurrent connections, until
 *       SIGTERM/SIGINT or until N connections were served (exit 0)
 *   axl-nc --port ... --addr ... 198.18.0.1 5001 < in > back
 *       connect, send stdin, half-close at its end, write what comes back to
 *       stdout, exit 0 when both directions are done
 *
 * --linger SEC keeps the engine running after the end, so that the
 * connection's TIME-WAIT still answers (conformance tests use it).
 *
 * Failures print one line ("axl-nc: connection refused", "... timed out",
 * "... reset by peer") and exit 1; bad arguments exit 2. SIGUSR1 (or the end)
 * writes the engine's counters to --stats-out, in axl-stackd's format.
 *
 * The loop: axl_stack_poll, then the application side (stdin into the send
 * buffer, received data out to stdout in place, echo), spinning while there
 * is work and sleeping in poll(2) on the port's fd and stdin when idle (at
 * most 1 ms, so timers run on time). Data flows with back-pressure both ways:
 * stdin is read only while the send buffer has room, and received data is
 * released (opening the window) only once written.
 *
 * Call chain: main -> pool/port/stack set-up -> loop { axl_stack_poll ->
 * (events: new_conn, new_data, data_acked, remote_closed, cleanup) ; pump }
 * -> summary.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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
#include "net/tcp_cc.h"
#include "port/port.h"

#define PROG "axl-nc"
/** Empty loop iterations before sleeping, and the longest sleep. */
#define IDLE_SPINS 2000u
#define SLEEP_MS   1

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

/* One connection as the tool sees it. */
struct conn {
    struct axl_tcb *c;
    struct nc *nc;
    int remote_closed;
    int shut; /* our FIN queued */
    int done; /* cleanup seen */
    int err;  /* from cleanup */
    int connected;
    struct conn *next;
};

struct nc {
    struct axl_stack *s;
    int echo;
    uint32_t count; /* echo: connections to serve (0 = until stopped) */
    uint32_t served;
    struct conn *conns; /* echo: open connections */
    struct conn one;    /* client / single listen */
    struct axl_tcp_listener *l;
    int stdin_eof;
    uint64_t in_bytes, out_bytes;
    int out_err;
    int nodelay;
    uint32_t cc;
    int have_cc;
};

static void apply_opts(struct nc *nc, struct axl_tcb *c)
{
    if (nc->nodelay) axl_tcp_setopt(c, AXL_TCP_OPT_NODELAY, 1);
    if (nc->have_cc) axl_tcp_setopt(c, AXL_TCP_OPT_CC, nc->cc);
}

static const char *err_text(int err)
{
    switch (err) {
    case -ECONNREFUSED:
        return "connection refused";
    case -ETIMEDOUT:
        return "connection timed out";
    case -ECONNRESET:
        return "connection reset by peer";
    default:
        return axl_strerror(err);
    }
}

/* --- the echo service (RFC 862) ------------------------------------------------- */

static void echo_pump(struct conn *k)
{
    struct axl_tcb *c = k->c;
    if (k->done) return;
    for (;;) {
        struct axl_tcp_iov iov[16];
        int n = axl_tcp_recv(c, iov, 16);
        if (n <= 0) break;
        uint32_t took = 0;
        int full = 0;
        for (int i = 0; i < n && !full; i++) {
            int rc = axl_tcp_send(c, iov[i].base, iov[i].len);
            if (rc < 0) {
                full = 1;
                break;
            }
            took += (uint32_t)rc;
            if ((uint32_t)rc < iov[i].len) full = 1; /* send buffer full: back-pressure */
        }
        if (took) axl_tcp_recv_done(c, took);
        if (full || !took) break;
    }
    if (k->remote_closed && !k->shut && axl_tcp_readable(c) == 0) {
        k->shut = 1;
        axl_tcp_shutdown(c);
    }
}

static void ev_data(struct axl_tcb *c, void *u, uint32_t avail)
{
    (void)c;
    (void)avail;
    struct conn *k = u;
    if (k->nc->echo) echo_pump(k);
}

static void ev_acked(struct axl_tcb *c, void *u, uint32_t acked, uint32_t room)
{
    (void)c;
    (void)acked;
    (void)room;
    struct conn *k = u;
    if (k->nc->echo) echo_pump(k);
}

static void ev_remote_closed(struct axl_tcb *c, void *u)
{
    (void)c;
    struct conn *k = u;
    k->remote_closed = 1;
    if (k->nc->echo) echo_pump(k);
}

static void ev_connected(struct axl_tcb *c, void *u)
{
    (void)c;
    ((struct conn *)u)->connected = 1;
}

static void ev_cleanup(struct axl_tcb *c, void *u, int err)
{
    (void)c;
    struct conn *k = u;
    k->done = 1;
    k->err = err;
}

static const struct axl_tcp_ops conn_ops = {
    .connected = ev_connected,
    .new_data = ev_data,
    .data_acked = ev_acked,
    .remote_closed = ev_remote_closed,
    .cleanup = ev_cleanup,
};

static void ev_new_conn(struct axl_tcp_listener *l, void *u)
{
    struct nc *nc = u;
    struct axl_tcb *c;
    while (axl_tcp_accept(l, &c) == 0) {
        if (!nc->echo) {
            if (nc->one.c) { /* a single connection is served: others are refused */
                axl_tcp_abort(c);
                continue;
            }
            nc->one.c = c;
            nc->one.nc = nc;
            nc->one.connected = 1;
            axl_tcp_set_user(c, &conn_ops, &nc->one);
            apply_opts(nc, c);
            axl_tcp_listener_close(l);
            nc->l = NULL;
            return;
        }
        struct conn *k = calloc(1, sizeof(*k));
        if (!k) {
            axl_tcp_abort(c);
            continue;
        }
        k->c = c;
        k->nc = nc;
        k->connected = 1;
        k->next = nc->conns;
        nc->conns = k;
        axl_tcp_set_user(c, &conn_ops, k);
        apply_opts(nc, c);
        echo_pump(k); /* data may have arrived before the accept */
    }
}

static const struct axl_tcp_ops listen_ops = {.new_conn = ev_new_conn};

/* Close and count finished echo connections. */
static int echo_reap(struct nc *nc)
{
    int work = 0;
    for (struct conn **pp = &nc->conns; *pp;) {
        struct conn *k = *pp;
        if (!k->done) {
            pp = &k->next;
            continue;
        }
        if (k->err) axl_info(PROG, "echo connection ended: %s", err_text(k->err));
        axl_tcp_close(k->c);
        *pp = k->next;
        free(k);
        nc->served++;
        work = 1;
    }
    return work;
}

/* --- the stream side: stdin -> connection -> stdout ------------------------------ */

static int pump_stdout(struct nc *nc, struct conn *k)
{
    int work = 0;
    for (;;) {
        struct axl_tcp_iov iov[16];
        int n = axl_tcp_recv(k->c, iov, 16);
        if (n <= 0) break;
        uint32_t wrote = 0;
        for (int i = 0; i < n; i++) {
            const uint8_t *p = iov[i].base;
            uint32_t left = iov[i].len;
            while (left) {
                ssize_t w = write(STDOUT_FILENO, p, left);
                if (w < 0) {
                    if (errno == EINTR) continue;
                    nc->out_err = errno;
                    goto out;
                }
                p += w;
                left -= (uint32_t)w;
                wrote += (uint32_t)w;
            }
        }
    out:
        if (wrote) {
            axl_tcp_recv_done(k->c, wrote);
            nc->out_bytes += wrote;
            work = 1;
        }
        if (nc->out_err) break;
    }
    return work;
}

static int pump_stdin(struct nc *nc, struct conn *k)
{
    static uint8_t buf[1 << 16];
    int work = 0;
    while (!nc->stdin_eof && k->connected && !k->done) {
        uint32_t room = axl_tcp_send_room(k->c);
        if (!room) break;
        ssize_t r = read(STDIN_FILENO, buf, AXL_MIN(room, (uint32_t)sizeof(buf)));
        if (r < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN) {
                fprintf(stderr, "%s: stdin: %s\n", PROG, strerror(errno));
                nc->stdin_eof = 1;
            }
            break;
        }
        work = 1;
        if (r == 0) {
            nc->stdin_eof = 1;
            break;
        }
        uint32_t off = 0;
        while (off < (uint32_t)r) {
            int rc = axl_tcp_send(k->c, buf + off, (uint32_t)r - off);
            if (rc <= 0) { /* cannot happen: room was checked; the pool may be short */
                axl_stack_poll(nc->s, axl_clock_ns());
                continue;
            }
            off += (uint32_t)rc;
        }
        nc->in_bytes += (uint64_t)r;
    }
    if (nc->stdin_eof && !k->shut && k->connected && !k->done) {
        k->shut = 1;
        axl_tcp_shutdown(k->c); /* half-close: the peer still answers */
        work = 1;
    }
    return work;
}

/* --- counters --------------------------------------------------------------------- */

static void dump_stats(struct axl_stack *s, const char *path)
{
    if (!path) return;
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) return;
    axl_stack_stats_dump(s, f, "q0 ");
    fprintf(f, "q0 TcpConnections %u\n", axl_tcp_conn_count(s));
    if (fclose(f) != 0 || rename(tmp, path) != 0) unlink(tmp);
}

/* --- main -------------------------------------------------------------------------- */

static void sleep_idle(struct axl_port *p, int want_stdin)
{
    struct pollfd pfd[2];
    int n = 0, fd = axl_port_fd(p);
    if (p->ops->prepare_sleep && !p->ops->prepare_sleep(p)) return;
    if (fd >= 0) pfd[n++] = (struct pollfd){.fd = fd, .events = POLLIN};
    if (want_stdin) pfd[n++] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
    (void)poll(pfd, (nfds_t)n, SLEEP_MS);
    if (p->ops->wake_done) p->ops->wake_done(p);
}

int main(int argc, char **argv)
{
    const char *port_spec = NULL, *addr_str = NULL, *stats_out = NULL, *cc_name = NULL;
    uint32_t gw = 0, listen_port = 0, count = 0, mtu = 0, pool_bufs = 16384;
    int echo = 0, nodelay = 0, log_level = AXL_LOG_WARN;
    double timeout_s = 0, linger_s = 0;
    const struct axl_opt opts[] = {
        {"port", 'p', AXL_OPT_STR, "SPEC", "packet port (see axl-stackd --help)", &port_spec},
        {"addr", 'a', AXL_OPT_STR, "CIDR", "our IPv4 address and prefix", &addr_str},
        {"gw", 'g', AXL_OPT_IPV4, "IP", "default gateway", &gw},
        {"mtu", 0, AXL_OPT_U32, "N", "IP MTU (default: the port's)", &mtu, 576, 9000},
        {"listen", 'l', AXL_OPT_U32, "PORT", "listen on PORT instead of connecting", &listen_port,
         1, 65535},
        {"echo", 'e', AXL_OPT_FLAG, NULL, "with -l: serve RFC 862 echo to any number of clients",
         &echo},
        {"count", 'c', AXL_OPT_U32, "N", "with --echo: exit 0 after N connections were served",
         &count, 1, 4000000000.0},
        {"nodelay", 0, AXL_OPT_FLAG, NULL, "disable Nagle's algorithm", &nodelay},
        {"cc", 0, AXL_OPT_STR, "ALGO", "congestion control: cubic (default) or newreno", &cc_name},
        {"timeout", 'w', AXL_OPT_DOUBLE, "SEC", "give up after SEC seconds in all", &timeout_s, 0,
         86400},
        {"linger", 0, AXL_OPT_DOUBLE, "SEC",
         "keep the engine running SEC seconds after the end (it answers for TIME-WAIT)", &linger_s,
         0, 600},
        {"pool", 0, AXL_OPT_U32, "N", "packet buffers (default 16384)", &pool_bufs, 1024, 1u << 22},
        {"stats-out", 0, AXL_OPT_STR, "FILE", "write counters here on SIGUSR1 and at exit",
         &stats_out},
        {"log-level", 0, AXL_OPT_LOGLEVEL, "LEVEL", "err, warn (default), info or debug",
         &log_level},
        {0},
    };
    axl_log_set_level(AXL_LOG_WARN);
    int first = axl_opts_parse(argc, argv, PROG,
                               "--port SPEC --addr CIDR [options] (-l PORT [--echo] | HOST PORT)",
                               "Netcat over the Axolotl TCP/IP stack (linked in): listens or "
                               "connects, copies stdin to the connection and the connection "
                               "to stdout; with --echo serves RFC 862 echo.",
                               opts);
    if (first < 0) return 2;
    if (!port_spec || !addr_str) {
        fprintf(stderr, "%s: --port and --addr are required (try --help)\n", PROG);
        return 2;
    }
    uint32_t dest = 0, dport = 0;
    if (listen_port) {
        if (first != argc) {
            fprintf(stderr, "%s: no HOST PORT with -l (try --help)\n", PROG);
            return 2;
        }
    } else {
        if (echo || count) {
            fprintf(stderr, "%s: --echo and --count need -l PORT\n", PROG);
            return 2;
        }
        if (first != argc - 2) {
            fprintf(stderr, "%s: HOST and PORT are required to connect (try --help)\n", PROG);
            return 2;
        }
        if (axl_parse_ipv4(argv[first], &dest) < 0) {
            fprintf(stderr, "%s: '%s' is not an IPv4 address\n", PROG, argv[first]);
            return 2;
        }
        uint64_t v;
        if (axl_parse_u64(argv[first + 1], &v) < 0 || v < 1 || v > 65535) {
            fprintf(stderr, "%s: '%s' is not a port number 1..65535\n", PROG, argv[first + 1]);
            return 2;
        }
        dport = (uint32_t)v;
    }
    struct nc nc = {.echo = echo, .count = count, .nodelay = nodelay};
    if (cc_name) {
        int a = axl_tcp_cc_algo_by_name(cc_name);
        if (a < 0) {
            fprintf(stderr, "%s: --cc: '%s' is not cubic or newreno\n", PROG, cc_name);
            return 2;
        }
        nc.cc = (uint32_t)a;
        nc.have_cc = 1;
    }
    struct axl_cidr cidr;
    if (axl_parse_cidr(addr_str, &cidr) < 0 || cidr.prefix == 0) {
        fprintf(stderr, "%s: --addr: '%s' is not an IPv4 address with a prefix\n", PROG, addr_str);
        return 2;
    }
    struct axl_port_cfg pcfg;
    char err[256];
    memset(&pcfg, 0, sizeof(pcfg));
    if (axl_port_parse_spec(port_spec, &pcfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s: --port: %s\n", PROG, err);
        return 2;
    }
    if (pcfg.nqueues > 1) {
        fprintf(stderr, "%s: --port: one queue only (run-to-completion mode)\n", PROG);
        return 2;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int status = 1, rc;
    struct axl_pool pool;
    struct axl_port port;
    struct axl_stack *s = NULL;
    if ((rc = axl_port_dev_setup(&pcfg)) < 0) {
        fprintf(stderr, "%s: cannot set up %s: %s\n", PROG, port_spec, axl_strerror(rc));
        return 1;
    }
    if ((rc = axl_pool_init(&pool, pool_bufs, 2048, AXL_POOL_HEADROOM)) < 0) {
        fprintf(stderr, "%s: pool: %s\n", PROG, axl_strerror(rc));
        goto out_dev;
    }
    pcfg.pool = &pool;
    memset(&port, 0, sizeof(port));
    if ((rc = axl_port_open(&port, &pcfg)) < 0) {
        fprintf(stderr, "%s: cannot open port %s: %s\n", PROG, port_spec, axl_strerror(rc));
        goto out_pool;
    }
    struct axl_stack_cfg scfg = {.addr = cidr, .gw = gw, .mtu = mtu};
    uint64_t now = axl_clock_ns();
    if (!(s = axl_stack_create(&scfg, &port, &pool, now))) {
        fprintf(stderr, "%s: cannot start the stack\n", PROG);
        goto out_port;
    }
    nc.s = s;
    uint64_t deadline = timeout_s > 0 ? now + (uint64_t)(timeout_s * 1e9) : UINT64_MAX;

    if (listen_port) {
        rc = axl_tcp_listen(s, (uint16_t)listen_port, 0, &listen_ops, &nc, &nc.l);
        if (rc < 0) {
            fprintf(stderr, "%s: listen on %u: %s\n", PROG, listen_port, axl_strerror(rc));
            goto out_stack;
        }
        axl_info(PROG, "listening on port %u%s", listen_port, echo ? " (echo)" : "");
    } else {
        /* Let the gratuitous ARP and the peer's answer settle: a connect
         * that waits for ARP is fine too (the SYN queues behind it). */
        nc.one.nc = &nc;
        rc = axl_tcp_connect(s, dest, (uint16_t)dport, 0, &conn_ops, &nc.one, &nc.one.c);
        if (rc < 0) {
            fprintf(stderr, "%s: connect: %s\n", PROG, err_text(rc));
            goto out_stack;
        }
        apply_opts(&nc, nc.one.c);
        (void)fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
    }

    uint32_t idle = 0;
    const char *fail = NULL;
    int failed_err = 0;
    for (;;) {
        now = axl_clock_ns();
        if (g_dump) {
            g_dump = 0;
            dump_stats(s, stats_out);
        }
        if (g_stop) {
            if (echo)
                status = 0; /* the echo service ends by signal */
            else
                fail = "interrupted";
            break;
        }
        if (now >= deadline) {
            fail = "timed out (--timeout)";
            break;
        }
        uint32_t work = axl_stack_poll(s, now);
        if (echo) {
            work += (uint32_t)echo_reap(&nc);
            if (count && nc.served >= count) {
                status = 0;
                break;
            }
        } else if (nc.one.c) {
            struct conn *k = &nc.one;
            if (!listen_port) work += (uint32_t)pump_stdin(&nc, k);
            work += (uint32_t)pump_stdout(&nc, k);
            if (nc.out_err) {
                fprintf(stderr, "%s: stdout: %s\n", PROG, strerror(nc.out_err));
                break;
            }
            if (listen_port && k->remote_closed && !k->shut && !axl_tcp_readable(k->c)) {
                k->shut = 1;
                axl_tcp_shutdown(k->c); /* receive-only: our FIN answers theirs */
            }
            if (k->done) {
                if (k->err) {
                    failed_err = k->err;
                } else if (axl_tcp_readable(k->c) == 0) {
                    status = 0;
                } else {
                    continue; /* write out the rest first */
                }
                break;
            }
        }
        if (work) {
            idle = 0;
            continue;
        }
        if (++idle < IDLE_SPINS) continue;
        idle = 0;
        sleep_idle(&port, !listen_port && !nc.stdin_eof && nc.one.c && nc.one.connected &&
                              axl_tcp_send_room(nc.one.c));
    }
    if (fail) fprintf(stderr, "%s: %s\n", PROG, fail);
    if (failed_err) fprintf(stderr, "%s: %s\n", PROG, err_text(failed_err));
    axl_info(PROG, "%llu bytes sent, %llu received", (unsigned long long)nc.in_bytes,
             (unsigned long long)nc.out_bytes);
    if (nc.one.c) {
        if (status == 0)
            axl_tcp_close(nc.one.c);
        else
            axl_tcp_abort(nc.one.c);
    }
    while (nc.conns) {
        struct conn *k = nc.conns;
        nc.conns = k->next;
        axl_tcp_abort(k->c);
        free(k);
    }
    if (nc.l) axl_tcp_listener_close(nc.l);
    /* Let the last segments (our FIN's ACK, RSTs) leave; with --linger keep
     * answering (TIME-WAIT) for that long. */
    uint64_t until = axl_clock_ns() + 20 * AXL_NS_PER_MS + (uint64_t)(linger_s * 1e9);
    g_stop = 0;
    while (!g_stop && axl_clock_ns() < until) {
        if (!axl_stack_poll(s, axl_clock_ns())) usleep(200);
    }
    dump_stats(s, stats_out);
out_stack:
    axl_stack_destroy(s);
out_port:
    axl_port_close(&port);
out_pool:
    axl_pool_fini(&pool);
out_dev:
    axl_port_dev_teardown(&pcfg);
    return status;
}
