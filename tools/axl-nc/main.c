/* SPDX-License-Identifier: MIT */
/*
 * axl-nc - netcat over Axolotl, written on the native API (include/axl/axl.h),
 * so it runs in both modes:
 *   --port SPEC --addr CIDR   run-to-completion: the stack linked in, one
 *                             engine on one port queue
 *   --stack PATH              isolated: attached to a running axl-stackd
 *                             (default $AXL_STACK, else /run/axl/stack.sock)
 *
 *   axl-nc --port afxdp:veth0 --addr 198.18.0.2/24 -l 5001 > out
 *       accept one connection, write what arrives to stdout, exit 0 when the
 *       peer has closed and our FIN is acknowledged
 *   axl-nc ... -l 7 --echo [--count N]
 *       RFC 862 echo for any number of concurrent connections, until
 *       SIGTERM/SIGINT or until N connections were served (exit 0)
 *   axl-nc ... 198.18.0.1 5001 < in > back
 *       connect, send stdin, half-close at its end, write what comes back to
 *       stdout, exit 0 when both directions are done
 *   axl-nc ... -u -l 7 --echo
 *       UDP echo (RFC 862): every datagram back to its sender, until stopped
 *   axl-nc ... -u 198.18.0.1 7 < lines
 *       UDP: each stdin line (up to 1400 bytes) is one datagram; replies are
 *       written to stdout, one per line; exit 0 when every datagram had a
 *       reply, 1 after --wait seconds without one
 *
 * --linger SEC keeps the stack running after the end, so that the
 * connection's TIME-WAIT still answers (conformance tests use it; RTC).
 *
 * Failures print one line ("axl-nc: connection refused", "... timed out",
 * "... reset by peer") and exit 1; bad arguments exit 2. SIGUSR1 (or the end)
 * writes the engine's counters to --stats-out, in axl-stackd's format (RTC;
 * in isolated mode the counters are axl-stackd's: axlctl stats).
 *
 * The loop: axl_poll (the stack's work and its events), then the application
 * side (stdin into the connection, received data out to stdout in place,
 * echo). axl_poll spins briefly and then sleeps on the port / the channels;
 * while stdin may have data it sleeps at most 1 ms. Data flows with
 * back-pressure both ways: stdin is read only while the send buffer has
 * room, and received data is released (opening the window) only once
 * written.
 *
 * Call chain: main -> axl_open -> loop { axl_poll -> events (NEW_CONN,
 * CONNECTED, NEW_DATA, DATA_ACKED, REMOTE_CLOSED, CLEANUP) ; pumps } ->
 * summary -> axl_close_ctx.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "axl/axl.h"
#include "axl/axl_priv.h"
#include "axl/mode_flags.h"
#include "core/clock.h"
#include "core/compiler.h"
#include "core/log.h"
#include "core/opts.h"
#include "net/stack.h"
#include "net/tcp.h"
#include "net/tcp_cc.h"

#define PROG "axl-nc"

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
    axl_sock_t s;
    int remote_closed;
    int shut; /* our FIN queued */
    int done; /* CLEANUP seen */
    int err;  /* from CLEANUP / CONNECTED */
    int connected;
    struct conn *next;
};

struct nc {
    struct axl_ctx *ctx;
    int echo;
    uint32_t count; /* echo: connections to serve (0 = until stopped) */
    uint32_t served;
    struct conn *conns; /* echo: open connections */
    struct conn one;    /* client / single listen */
    axl_sock_t l;
    int stdin_eof;
    uint64_t in_bytes, out_bytes;
    int out_err;
    int nodelay;
    uint32_t cc;
    int have_cc;
    /* UDP */
    int udp;
    axl_sock_t us;
    uint32_t udp_dst;
    uint16_t udp_dport;
    uint64_t udp_sent, udp_got, udp_echoed;
};

static void apply_opts(struct nc *nc, axl_sock_t s)
{
    if (nc->nodelay) axl_setopt(nc->ctx, s, AXL_SO_NODELAY, 1);
    if (nc->have_cc) axl_rtc_tcp_opt(nc->ctx, s, AXL_TCP_OPT_CC, nc->cc);
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
    case -ECONNABORTED:
        return "connection aborted (its stack replica died)";
    default:
        return axl_strerror(err);
    }
}

/* --- the echo service (RFC 862) ------------------------------------------------- */

static int readable(struct nc *nc, axl_sock_t s)
{
    struct axl_sock_info in;
    return axl_sock_info(nc->ctx, s, &in) == 0 ? (int)in.readable : 0;
}

static void echo_pump(struct nc *nc, struct conn *k)
{
    if (k->done) return;
    for (;;) {
        struct axl_iov iov[2];
        int n = axl_recv_peek(nc->ctx, k->s, iov, 2);
        if (n <= 0) break;
        uint32_t took = 0;
        int full = 0;
        for (int i = 0; i < 2 && iov[i].len && !full; i++) {
            int rc = axl_send(nc->ctx, k->s, iov[i].base, iov[i].len);
            if (rc < 0) {
                full = 1;
                break;
            }
            took += (uint32_t)rc;
            if ((uint32_t)rc < iov[i].len) full = 1; /* send buffer full: back-pressure */
        }
        if (took) axl_recv_done(nc->ctx, k->s, took);
        if (full || !took) break;
    }
    if (k->remote_closed && !k->shut && readable(nc, k->s) == 0) {
        k->shut = 1;
        axl_shutdown(nc->ctx, k->s, 1);
    }
}

static void on_new_conn(struct nc *nc)
{
    axl_sock_t s;
    while (nc->l && axl_accept(nc->ctx, nc->l, &s) == 0) {
        if (!nc->echo) {
            if (nc->one.s) { /* a single connection is served: others are refused */
                axl_abort(nc->ctx, s);
                continue;
            }
            nc->one.s = s;
            nc->one.connected = 1;
            axl_set_user(nc->ctx, s, &nc->one);
            apply_opts(nc, s);
            axl_close(nc->ctx, nc->l);
            nc->l = AXL_SOCK_NONE;
            return;
        }
        struct conn *k = calloc(1, sizeof(*k));
        if (!k) {
            axl_abort(nc->ctx, s);
            continue;
        }
        k->s = s;
        k->connected = 1;
        k->next = nc->conns;
        nc->conns = k;
        axl_set_user(nc->ctx, s, k);
        apply_opts(nc, s);
        echo_pump(nc, k); /* data may have arrived before the accept */
    }
}

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
        axl_close(nc->ctx, k->s);
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
        struct axl_iov iov[2];
        int n = axl_recv_peek(nc->ctx, k->s, iov, 2);
        if (n <= 0) break;
        uint32_t wrote = 0;
        for (int i = 0; i < 2 && iov[i].len; i++) {
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
            axl_recv_done(nc->ctx, k->s, wrote);
            nc->out_bytes += wrote;
            work = 1;
        }
        if (nc->out_err) break;
    }
    return work;
}

static uint32_t send_room(struct nc *nc, axl_sock_t s)
{
    struct axl_sock_info in;
    return axl_sock_info(nc->ctx, s, &in) == 0 ? in.send_room : 0;
}

static void handle(struct nc *nc, const struct axl_event *e);

static int pump_stdin(struct nc *nc, struct conn *k)
{
    static uint8_t buf[1 << 16];
    int work = 0;
    while (!nc->stdin_eof && k->connected && !k->done) {
        uint32_t room = send_room(nc, k->s);
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
            int rc = axl_send(nc->ctx, k->s, buf + off, (uint32_t)r - off);
            if (rc == -EAGAIN || rc == 0) { /* room was checked; the pool may be short */
                struct axl_event ev[16];
                int m = axl_poll(nc->ctx, ev, 16, (int64_t)AXL_NS_PER_MS);
                for (int i = 0; i < m; i++)
                    handle(nc, &ev[i]);
                if (k->done) return 1;
                continue;
            }
            if (rc < 0) {
                k->done = 1;
                k->err = rc;
                return 1;
            }
            off += (uint32_t)rc;
        }
        nc->in_bytes += (uint64_t)r;
    }
    if (nc->stdin_eof && !k->shut && k->connected && !k->done) {
        k->shut = 1;
        axl_shutdown(nc->ctx, k->s, 1); /* half-close: the peer still answers */
        work = 1;
    }
    return work;
}

/* --- UDP ------------------------------------------------------------------------- */

/* Echo every datagram that waits back to its sender. */
static int udp_echo(struct nc *nc)
{
    static uint8_t buf[65536];
    int work = 0;
    for (;;) {
        uint32_t a;
        uint16_t p;
        int n = axl_recvfrom(nc->ctx, nc->us, buf, sizeof(buf), &a, &p);
        if (n < 0) break;
        work = 1;
        if (axl_sendto(nc->ctx, nc->us, buf, (uint32_t)n, a, p) == 0) nc->udp_echoed++;
    }
    return work;
}

/* Client: replies to stdout, one per line. */
static int udp_replies(struct nc *nc)
{
    static uint8_t buf[65536];
    int work = 0;
    for (;;) {
        int n = axl_recvfrom(nc->ctx, nc->us, buf, sizeof(buf) - 1, NULL, NULL);
        if (n < 0) break;
        work = 1;
        nc->udp_got++;
        buf[n] = '\n';
        if (write(STDOUT_FILENO, buf, (size_t)n + 1) < 0) nc->out_err = errno;
    }
    return work;
}

/* Client: stdin lines as datagrams (stdin is non-blocking). */
static int udp_stdin(struct nc *nc)
{
    static char line[1402];
    static size_t len;
    int work = 0;
    while (!nc->stdin_eof) {
        ssize_t r = read(STDIN_FILENO, line + len, 1);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) break;
        work = 1;
        if (r == 0 || line[len] == '\n' || len + 1 == 1401) {
            uint32_t n = (uint32_t)len + (r > 0 && line[len] != '\n');
            if (r == 0) nc->stdin_eof = 1;
            if (n || r > 0) {
                int rc;
                while ((rc = axl_sendto(nc->ctx, nc->us, line, n, nc->udp_dst, nc->udp_dport)) ==
                       -EAGAIN) {
                    struct axl_event ev[16];
                    (void)axl_poll(nc->ctx, ev, 16, (int64_t)AXL_NS_PER_MS);
                }
                if (rc < 0) {
                    fprintf(stderr, "%s: sendto: %s\n", PROG, axl_strerror(rc));
                } else {
                    nc->udp_sent++;
                    nc->in_bytes += n;
                }
            }
            len = 0;
            continue;
        }
        len++;
    }
    return work;
}

/* --- counters --------------------------------------------------------------------- */

static void dump_stats(struct axl_ctx *ctx, const char *path)
{
    struct axl_stack *s = axl_rtc_engine(ctx);
    if (!path || !s) return;
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) return;
    axl_stack_stats_dump(s, f, "q0 ");
    fprintf(f, "q0 TcpConnections %u\n", axl_tcp_conn_count(s));
    if (fclose(f) != 0 || rename(tmp, path) != 0) unlink(tmp);
}

/* --- events ----------------------------------------------------------------------- */

static void handle(struct nc *nc, const struct axl_event *e)
{
    if (e->type == AXL_EV_NEW_CONN) {
        on_new_conn(nc);
        return;
    }
    struct conn *k = e->user;
    if (!k) return;
    switch (e->type) {
    case AXL_EV_CONNECTED:
        if (e->status == 0) {
            k->connected = 1;
        } else {
            k->done = 1;
            k->err = e->status;
        }
        break;
    case AXL_EV_REMOTE_CLOSED:
        k->remote_closed = 1;
        break;
    case AXL_EV_CLEANUP:
        k->done = 1;
        if (!k->err) k->err = e->status;
        break;
    default:
        break;
    }
    if (nc->echo) echo_pump(nc, k);
}

/* --- main -------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    const char *stats_out = NULL, *cc_name = NULL;
    struct axl_mode_flags mf = {0};
    uint32_t listen_port = 0, count = 0, pool_bufs = 16384;
    int echo = 0, nodelay = 0, udp = 0, log_level = AXL_LOG_WARN;
    double timeout_s = 0, linger_s = 0, udp_wait_s = 2;
    const struct axl_opt opts[] = {
        AXL_MODE_OPTS_SHORT(&mf, 's', 'p', 'a', 'g'),
        {"listen", 'l', AXL_OPT_U32, "PORT", "listen on PORT instead of connecting", &listen_port,
         1, 65535},
        {"echo", 'e', AXL_OPT_FLAG, NULL, "with -l: serve RFC 862 echo to any number of clients",
         &echo},
        {"udp", 'u', AXL_OPT_FLAG, NULL,
         "UDP instead of TCP (-l PORT --echo: echo server; HOST PORT: stdin lines as datagrams)",
         &udp},
        {"wait", 0, AXL_OPT_DOUBLE, "SEC",
         "UDP client: give up SEC seconds after the last reply (default 2)", &udp_wait_s, 0.01,
         3600},
        {"count", 'c', AXL_OPT_U32, "N", "with --echo: exit 0 after N connections were served",
         &count, 1, 4000000000.0},
        {"nodelay", 0, AXL_OPT_FLAG, NULL, "disable Nagle's algorithm", &nodelay},
        {"cc", 0, AXL_OPT_STR, "ALGO",
         "congestion control: cubic (default) or newreno (run-to-completion)", &cc_name},
        {"timeout", 'w', AXL_OPT_DOUBLE, "SEC", "give up after SEC seconds in all", &timeout_s, 0,
         86400},
        {"linger", 0, AXL_OPT_DOUBLE, "SEC",
         "keep the stack running SEC seconds after the end (it answers for TIME-WAIT)", &linger_s,
         0, 600},
        {"pool", 0, AXL_OPT_U32, "N", "run-to-completion: packet buffers (default 16384)",
         &pool_bufs, 1024, 1u << 22},
        {"stats-out", 0, AXL_OPT_STR, "FILE",
         "write the engine's counters here on SIGUSR1 and at exit (run-to-completion)", &stats_out},
        {"log-level", 0, AXL_OPT_LOGLEVEL, "LEVEL", "err, warn (default), info or debug",
         &log_level},
        {0},
    };
    axl_log_set_level(AXL_LOG_WARN);
    int first = axl_opts_parse(argc, argv, PROG,
                               "(--port SPEC --addr CIDR | [--stack PATH]) [options] "
                               "[-u] (-l PORT [--echo] | HOST PORT)",
                               "Netcat over the Axolotl TCP/IP stack, run-to-completion (the "
                               "stack linked in, --port) or isolated (attached to axl-stackd, "
                               "--stack): listens or connects, copies stdin to the connection "
                               "and the connection to stdout; with --echo serves RFC 862 echo.",
                               opts);
    if (first < 0) return 2;
    struct axl_config cfg;
    char err[512];
    memset(&cfg, 0, sizeof(cfg));
    if (axl_mode_flags_config(&mf, &cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s: %s (try --help)\n", PROG, err);
        return 2;
    }
    cfg.name = PROG;
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
    struct nc nc = {.echo = echo, .count = count, .nodelay = nodelay, .udp = udp};
    if (udp && listen_port && !echo) {
        fprintf(stderr, "%s: -u -l needs --echo (the UDP server echoes)\n", PROG);
        return 2;
    }
    if (udp && (count || linger_s > 0)) {
        fprintf(stderr, "%s: --count and --linger are for TCP\n", PROG);
        return 2;
    }
    if (cc_name) {
        int a = axl_tcp_cc_algo_by_name(cc_name);
        if (a < 0) {
            fprintf(stderr, "%s: --cc: '%s' is not cubic or newreno\n", PROG, cc_name);
            return 2;
        }
        if (!cfg.port) {
            fprintf(stderr, "%s: --cc needs run-to-completion mode (--port)\n", PROG);
            return 2;
        }
        nc.cc = (uint32_t)a;
        nc.have_cc = 1;
    }
    if (stats_out && !cfg.port) {
        fprintf(stderr, "%s: --stats-out needs run-to-completion mode (isolated: axlctl stats)\n",
                PROG);
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

    /* run-to-completion keeps the engine's own 1 MiB buffers (bulk over veth) */
    if (cfg.port) cfg.rx_size = cfg.tx_size = 1u << 20;
    cfg.max_socks = 65536; /* the echo service holds 10,000 connections in the tests */
    int status = 1, rc;
    if ((rc = axl_open_pool(&nc.ctx, &cfg, pool_bufs, err, sizeof(err))) < 0) {
        fprintf(stderr, "%s: %s\n", PROG, err);
        return 1;
    }
    uint64_t now = axl_clock_ns();
    uint64_t deadline = timeout_s > 0 ? now + (uint64_t)(timeout_s * 1e9) : UINT64_MAX;

    if (udp) {
        if ((rc = axl_socket(nc.ctx, AXL_UDP, &nc.us)) < 0 ||
            (listen_port && (rc = axl_bind(nc.ctx, nc.us, 0, (uint16_t)listen_port)) < 0)) {
            fprintf(stderr, "%s: UDP port %u: %s\n", PROG, listen_port, axl_strerror(rc));
            goto out;
        }
        nc.udp_dst = dest;
        nc.udp_dport = (uint16_t)dport;
        if (!listen_port)
            (void)fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
        axl_info(PROG, "UDP %s %u", listen_port ? "echo on port" : "to port",
                 listen_port ? listen_port : dport);
    } else if (listen_port) {
        if ((rc = axl_socket(nc.ctx, AXL_TCP, &nc.l)) < 0 ||
            (rc = axl_bind(nc.ctx, nc.l, 0, (uint16_t)listen_port)) < 0 ||
            (nodelay && (rc = axl_setopt(nc.ctx, nc.l, AXL_SO_NODELAY, 1)) < 0) ||
            (rc = axl_listen(nc.ctx, nc.l, 0)) < 0) {
            fprintf(stderr, "%s: listen on %u: %s\n", PROG, listen_port, axl_strerror(rc));
            goto out;
        }
        if (nc.have_cc) axl_rtc_tcp_opt(nc.ctx, nc.l, AXL_TCP_OPT_CC, nc.cc);
        axl_info(PROG, "listening on port %u%s", listen_port, echo ? " (echo)" : "");
    } else {
        if ((rc = axl_socket(nc.ctx, AXL_TCP, &nc.one.s)) < 0 ||
            (nodelay && (rc = axl_setopt(nc.ctx, nc.one.s, AXL_SO_NODELAY, 1)) < 0) ||
            (rc = axl_connect(nc.ctx, nc.one.s, dest, (uint16_t)dport)) < 0) {
            fprintf(stderr, "%s: connect: %s\n", PROG, err_text(rc));
            goto out;
        }
        axl_set_user(nc.ctx, nc.one.s, &nc.one);
        if (nc.have_cc) axl_rtc_tcp_opt(nc.ctx, nc.one.s, AXL_TCP_OPT_CC, nc.cc);
        (void)fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
    }

    const char *fail = NULL;
    int failed_err = 0;
    struct axl_event ev[64];
    int64_t wait_ns = 0;
    uint64_t udp_last = axl_clock_ns();
    for (;;) {
        now = axl_clock_ns();
        if (g_dump) {
            g_dump = 0;
            dump_stats(nc.ctx, stats_out);
        }
        if (g_stop) {
            if (echo || (udp && listen_port))
                status = 0; /* the echo service ends by signal */
            else
                fail = "interrupted";
            break;
        }
        if (now >= deadline) {
            fail = "timed out (--timeout)";
            break;
        }
        int n = axl_poll(nc.ctx, ev, 64, wait_ns);
        if (n < 0) {
            fprintf(stderr, "%s: the stack is gone: %s\n", PROG, axl_strerror(n));
            break;
        }
        for (int i = 0; i < n; i++)
            handle(&nc, &ev[i]);
        int work = n > 0;
        if (udp) {
            if (listen_port) {
                work += udp_echo(&nc);
            } else {
                work += udp_stdin(&nc) + udp_replies(&nc);
                if (nc.out_err) {
                    fprintf(stderr, "%s: stdout: %s\n", PROG, strerror(nc.out_err));
                    break;
                }
                if (work) udp_last = now;
                if (nc.stdin_eof && nc.udp_got >= nc.udp_sent) {
                    status = 0;
                    break;
                }
                if (nc.stdin_eof && now - udp_last > (uint64_t)(udp_wait_s * 1e9)) {
                    fprintf(stderr, "%s: %llu of %llu datagrams answered\n", PROG,
                            (unsigned long long)nc.udp_got, (unsigned long long)nc.udp_sent);
                    break;
                }
            }
        } else if (echo) {
            work += echo_reap(&nc);
            if (count && nc.served >= count) {
                status = 0;
                break;
            }
        } else if (nc.one.s) {
            struct conn *k = &nc.one;
            if (!listen_port) work += pump_stdin(&nc, k);
            work += pump_stdout(&nc, k);
            if (nc.out_err) {
                fprintf(stderr, "%s: stdout: %s\n", PROG, strerror(nc.out_err));
                break;
            }
            if (listen_port && k->remote_closed && !k->shut && !readable(&nc, k->s)) {
                k->shut = 1;
                axl_shutdown(nc.ctx, k->s, 1); /* receive-only: our FIN answers theirs */
            }
            if (k->done) {
                if (k->err) {
                    failed_err = k->err;
                } else if (readable(&nc, k->s) == 0) {
                    status = 0;
                } else {
                    continue; /* write out the rest first */
                }
                break;
            }
        }
        /* Nothing happened: let axl_poll sleep; while stdin may bring data,
         * for 1 ms at most, else 100 ms (signals are seen at once anyway). */
        int want_stdin = !listen_port && !nc.stdin_eof && (nc.one.connected || udp);
        wait_ns = work ? 0 : (int64_t)(want_stdin ? AXL_NS_PER_MS : 100 * AXL_NS_PER_MS);
        if (deadline != UINT64_MAX && wait_ns > 0 && (uint64_t)wait_ns > deadline - now)
            wait_ns = (int64_t)(deadline - now);
    }
    if (fail) fprintf(stderr, "%s: %s\n", PROG, fail);
    if (failed_err) fprintf(stderr, "%s: %s\n", PROG, err_text(failed_err));
    axl_info(PROG, "%llu bytes sent, %llu received", (unsigned long long)nc.in_bytes,
             (unsigned long long)nc.out_bytes);
    if (udp)
        axl_info(PROG, "UDP: %llu datagrams echoed, %llu sent, %llu replies",
                 (unsigned long long)nc.udp_echoed, (unsigned long long)nc.udp_sent,
                 (unsigned long long)nc.udp_got);
    if (nc.one.s) {
        if (status == 0)
            axl_close(nc.ctx, nc.one.s);
        else
            axl_abort(nc.ctx, nc.one.s);
    }
    while (nc.conns) {
        struct conn *k = nc.conns;
        nc.conns = k->next;
        axl_abort(nc.ctx, k->s);
        free(k);
    }
    if (nc.l) axl_close(nc.ctx, nc.l);
    if (nc.us) axl_close(nc.ctx, nc.us);
    /* Let the last segments (our FIN's ACK, RSTs) leave; with --linger keep
     * answering (TIME-WAIT) for that long. */
    uint64_t until = axl_clock_ns() + 20 * AXL_NS_PER_MS + (uint64_t)(linger_s * 1e9);
    g_stop = 0;
    while (!g_stop && axl_clock_ns() < until)
        (void)axl_poll(nc.ctx, ev, 64, 2 * (int64_t)AXL_NS_PER_MS);
    dump_stats(nc.ctx, stats_out);
out:
    axl_close_ctx(nc.ctx);
    return status;
}
