/* SPDX-License-Identifier: MIT */
/*
 * axl-dnsd - authoritative DNS server on Axolotl (after Namestorm): zones
 * are compiled at start-up into ready responses (src/dns/db.h); a query costs
 * a parse, a hash lookup and a copy.
 *
 *   axl-dnsd --zone FILE [--zone FILE...] [--listen PORT] MODE
 *   MODE: --stack PATH                              isolated (attach to axl-stackd)
 *         --port SPEC --addr CIDR [--gw IP] ...     run-to-completion
 *   axl-dnsd --zone FILE --check                    compile, report, exit
 *
 * UDP on PORT (default 53); TCP on the same port too (RFC 1035 §4.2.2, RFC
 * 7766: 2-byte length prefix, several queries per connection, answered in
 * order; idle connections closed after --tcp-idle seconds) unless --no-tcp.
 *
 * Zone-file errors print "FILE:LINE: message" and exit 1; bad arguments exit
 * 2. SIGUSR1 (and the end) writes the counters ("dns NAME VALUE" lines, and
 * the stack's UDP/TCP counters) to --stats-out, else at exit to stderr.
 * SIGTERM/SIGINT stop it (exit 0).
 *
 * Call chain: main -> dns_zone_load -> dns_db_build -> axl_open ->
 * loop { axl_poll -> udp_drain (axl_recvfrom -> dns_respond -> axl_sendto)
 *        | tcp events (accept, axl_recv -> dns_respond -> axl_send) }.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "axl/axl.h"
#include "axl/mode_flags.h"
#include "core/opts.h"
#include "dns/db.h"
#include "dns/zone.h"

#define PROG "axl-dnsd"
/** MAX_ZONES: --zone given at most this often. */
#define MAX_ZONES 64
/** EV_BATCH: events taken per axl_poll. */
#define EV_BATCH 64
/** TCP_MSG_MAX: a DNS message over TCP with its length prefix (RFC 1035 §4.2.2). */
#define TCP_MSG_MAX (2 + 65535)

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

struct tconn {
    axl_sock_t s;
    uint8_t in[TCP_MSG_MAX];
    size_t inlen;
    uint8_t out[TCP_MSG_MAX];
    size_t outlen, outoff;
    uint64_t last_ns;
    int remote_closed, closing;
    struct tconn *next, **pprev; /* live list; `next` alone on the dead list */
};

struct srv {
    struct axl_ctx *ctx;
    const struct dns_db *db;
    struct dns_counters c;
    axl_sock_t udp, tcp;
    struct tconn *conns;
    struct tconn *dead; /* closed in this batch: freed after it (events may name them) */
    uint32_t nconns, tcp_max;
    uint64_t tcp_idle_ns;
    /* drops outside dns_respond */
    uint64_t udp_tx_fail, tcp_refused, tcp_idle_closed, tcp_conns, tcp_bad_len;
    const char *stats_out;
    uint8_t buf[65536], obuf[65536];
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void dump_stats(struct srv *s)
{
    FILE *f = s->stats_out ? fopen(s->stats_out, "w") : stderr;
    if (!f) {
        fprintf(stderr, PROG ": cannot write %s: %s\n", s->stats_out, strerror(errno));
        return;
    }
    dns_counters_dump(&s->c, f, "dns");
    fprintf(f, "dns DnsUdpTxFail %llu\n", (unsigned long long)s->udp_tx_fail);
    fprintf(f, "dns DnsTcpConns %llu\n", (unsigned long long)s->tcp_conns);
    fprintf(f, "dns DnsTcpRefused %llu\n", (unsigned long long)s->tcp_refused);
    fprintf(f, "dns DnsTcpIdleClosed %llu\n", (unsigned long long)s->tcp_idle_closed);
    fprintf(f, "dns DnsTcpBadLength %llu\n", (unsigned long long)s->tcp_bad_len);
    static const char *const st[] = {"UdpInDatagrams", "UdpOutDatagrams", "UdpInErrors",
                                     "UdpNoPorts", "UdpRcvbufErrors", "TcpCurrEstab"};
    for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
        uint64_t v;
        if (axl_stat(s->ctx, st[i], &v) == 0) fprintf(f, "stack %s %llu\n", st[i], (unsigned long long)v);
    }
    if (f != stderr) fclose(f);
}

/* Hot: every queued datagram, answered in place. */
static void udp_drain(struct srv *s)
{
    for (;;) {
        uint32_t addr;
        uint16_t port;
        int n = axl_recvfrom(s->ctx, s->udp, s->buf, sizeof(s->buf), &addr, &port);
        if (n < 0) break;
        size_t r = dns_respond(s->db, s->buf, (size_t)n, s->obuf, sizeof(s->obuf), 0, &s->c);
        if (!r) continue;
        if (axl_sendto(s->ctx, s->udp, s->obuf, (uint32_t)r, addr, port) < 0) s->udp_tx_fail++;
    }
}

/* ---- TCP (RFC 7766) ------------------------------------------------------------ */

static void tconn_unlink(struct srv *s, struct tconn *t)
{
    *t->pprev = t->next;
    if (t->next) t->next->pprev = t->pprev;
    s->nconns--;
    t->next = s->dead;
    s->dead = t;
}

static void free_dead(struct srv *s)
{
    while (s->dead) {
        struct tconn *t = s->dead;
        s->dead = t->next;
        free(t);
    }
}

static void tconn_close(struct srv *s, struct tconn *t)
{
    if (t->closing) return;
    t->closing = 1;
    axl_set_user(s->ctx, t->s, NULL);
    axl_close(s->ctx, t->s);
    tconn_unlink(s, t);
}

static int tconn_flush(struct srv *s, struct tconn *t)
{
    while (t->outoff < t->outlen) {
        int n = axl_send(s->ctx, t->s, t->out + t->outoff, (uint32_t)(t->outlen - t->outoff));
        if (n == -EAGAIN) return 0;
        if (n <= 0) return -1;
        t->outoff += (size_t)n;
    }
    t->outoff = t->outlen = 0;
    return 1;
}

/* Answer every whole message in the input, one at a time (the answer must be
 * out before the next is taken: back-pressure). */
static void tconn_work(struct srv *s, struct tconn *t)
{
    for (;;) {
        int f = tconn_flush(s, t);
        if (f < 0) {
            tconn_close(s, t);
            return;
        }
        if (f == 0) return;
        /* take more bytes */
        while (t->inlen < sizeof(t->in)) {
            int n = axl_recv(s->ctx, t->s, t->in + t->inlen, (uint32_t)(sizeof(t->in) - t->inlen));
            if (n <= 0) {
                if (n == 0) t->remote_closed = 1;
                break;
            }
            t->inlen += (size_t)n;
            t->last_ns = now_ns();
        }
        if (t->inlen < 2) break;
        size_t mlen = dns_get16(t->in);
        if (mlen == 0) { /* nothing to parse: a peer out of step */
            s->tcp_bad_len++;
            tconn_close(s, t);
            return;
        }
        if (t->inlen < 2 + mlen) break;
        size_t r = dns_respond(s->db, t->in + 2, mlen, t->out + 2, sizeof(t->out) - 2, 1, &s->c);
        memmove(t->in, t->in + 2 + mlen, t->inlen - 2 - mlen);
        t->inlen -= 2 + mlen;
        if (r) {
            dns_put16(t->out, (uint16_t)r);
            t->outlen = r + 2;
            t->outoff = 0;
        }
    }
    /* The peer is done and every complete query answered: a partial one left
     * behind can never complete. */
    if (t->remote_closed && t->outlen == 0) tconn_close(s, t);
}

static void tcp_accept_all(struct srv *s)
{
    axl_sock_t n;
    while (axl_accept(s->ctx, s->tcp, &n) == 0) {
        struct tconn *t = s->nconns < s->tcp_max ? calloc(1, sizeof(*t)) : NULL;
        if (!t) {
            s->tcp_refused++;
            axl_abort(s->ctx, n);
            continue;
        }
        s->tcp_conns++;
        s->nconns++;
        t->s = n;
        t->last_ns = now_ns();
        t->next = s->conns;
        if (t->next) t->next->pprev = &t->next;
        t->pprev = &s->conns;
        s->conns = t;
        axl_set_user(s->ctx, n, t);
        tconn_work(s, t);
    }
}

static void tcp_sweep(struct srv *s)
{
    uint64_t now = now_ns();
    for (struct tconn *t = s->conns, *nx; t; t = nx) {
        nx = t->next;
        if (now - t->last_ns > s->tcp_idle_ns) {
            s->tcp_idle_closed++;
            tconn_close(s, t);
        }
    }
}

/* ---- main ---------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    const char *zones[MAX_ZONES];
    uint32_t nzones = 0, listen_port = 53, edns_size = DNS_EDNS_SIZE_DEFAULT, tcp_max = 64,
             tcp_idle = 10;
    const char *stats_out = NULL;
    struct axl_mode_flags mf = {0};
    int check = 0, no_tcp = 0;
    const struct axl_opt opts[] = {
        {"zone", 'z', AXL_OPT_MULTI, "FILE", "master zone file (RFC 1035 §5); repeat for more zones",
         zones, 0, MAX_ZONES, &nzones},
        {"listen", 'l', AXL_OPT_U32, "PORT", "UDP and TCP port to serve (default 53)", &listen_port,
         1, 65535},
        {"edns-size", 0, AXL_OPT_U32, "BYTES",
         "our EDNS UDP payload limit, 512..4096 (default 1232)", &edns_size, 512, 4096},
        {"no-tcp", 0, AXL_OPT_FLAG, NULL, "do not serve DNS over TCP", &no_tcp},
        {"tcp-max", 0, AXL_OPT_U32, "N", "concurrent TCP connections (default 64)", &tcp_max, 1,
         4096},
        {"tcp-idle", 0, AXL_OPT_U32, "SEC", "close idle TCP connections after SEC (default 10)",
         &tcp_idle, 1, 3600},
        {"check", 0, AXL_OPT_FLAG, NULL, "compile the zones, print a summary and exit", &check},
        {"stats-out", 0, AXL_OPT_STR, "FILE", "write counters here on SIGUSR1 and at exit",
         &stats_out},
        AXL_MODE_OPTS_SHORT(&mf, 0, 'p', 'a', 0),
        {0},
    };
    int first = axl_opts_parse(argc, argv, PROG,
                               "--zone FILE [--zone FILE...] [--listen PORT] "
                               "(--stack PATH | --port SPEC --addr CIDR [--gw IP])",
                               "Authoritative DNS server: every answer is compiled ahead of time "
                               "from the zone files; served over UDP and TCP on the Axolotl stack.",
                               opts);
    if (first < 0) return 2;
    if (first != argc) {
        fprintf(stderr, PROG ": unexpected argument '%s' (see --help)\n", argv[first]);
        return 2;
    }
    if (nzones == 0) {
        fprintf(stderr, PROG ": no zone: give --zone FILE (see --help)\n");
        return 2;
    }

    struct axl_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.name = PROG;
    char err[1024];
    if (axl_mode_flags_config(&mf, &cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, PROG ": %s\n", err);
        return 2;
    }

    struct dns_zone *zs[MAX_ZONES];
    size_t nrr = 0;
    for (uint32_t i = 0; i < nzones; i++) {
        if (dns_zone_load(zones[i], NULL, &zs[i], err, sizeof(err)) < 0) {
            fprintf(stderr, PROG ": %s\n", err);
            for (uint32_t k = 0; k < i; k++) dns_zone_free(zs[k]);
            return 1;
        }
        nrr += zs[i]->nrr;
    }
    struct dns_db *db;
    struct dns_db_cfg dcfg = {(uint16_t)edns_size, (uint32_t)now_ns()};
    int brc = dns_db_build(&db, zs, nzones, &dcfg, err, sizeof(err));
    for (uint32_t i = 0; i < nzones; i++) dns_zone_free(zs[i]);
    if (brc < 0) {
        fprintf(stderr, PROG ": %s\n", err);
        return 1;
    }
    fprintf(stderr, PROG ": %u zone%s, %zu records, %zu responses compiled for %zu keys\n", nzones,
            nzones == 1 ? "" : "s", nrr, dns_db_responses(db), dns_db_keys(db));
    if (check) {
        dns_db_free(db);
        return 0;
    }

    struct srv *s = calloc(1, sizeof(*s));
    if (!s) {
        fprintf(stderr, PROG ": out of memory\n");
        dns_db_free(db);
        return 1;
    }
    s->db = db;
    s->stats_out = stats_out;
    s->tcp_max = tcp_max;
    s->tcp_idle_ns = (uint64_t)tcp_idle * 1000000000ull;
    int rc = axl_open(&s->ctx, &cfg, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, PROG ": %s\n", err);
        dns_db_free(db);
        free(s);
        return 1;
    }
    if ((rc = axl_socket(s->ctx, AXL_UDP, &s->udp)) < 0 ||
        (rc = axl_bind(s->ctx, s->udp, 0, (uint16_t)listen_port)) < 0) {
        fprintf(stderr, PROG ": UDP port %u: %s\n", listen_port, axl_strerror(rc));
        goto out;
    }
    if (!no_tcp) {
        if ((rc = axl_socket(s->ctx, AXL_TCP, &s->tcp)) < 0 ||
            (rc = axl_bind(s->ctx, s->tcp, 0, (uint16_t)listen_port)) < 0 ||
            (rc = axl_listen(s->ctx, s->tcp, 128)) < 0) {
            fprintf(stderr, PROG ": TCP port %u: %s\n", listen_port, axl_strerror(rc));
            goto out;
        }
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    fprintf(stderr, PROG ": serving on port %u (%s)\n", listen_port,
            axl_ctx_mode(s->ctx) == AXL_MODE_RTC ? "run-to-completion" : "isolated");

    uint64_t last_sweep = now_ns();
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
            struct tconn *t = ev[i].user;
            if (ev[i].sock == s->udp) {
                if (ev[i].type == AXL_EV_NEW_DATA) udp_drain(s);
                continue;
            }
            if (ev[i].sock == s->tcp && s->tcp) {
                if (ev[i].type == AXL_EV_NEW_CONN) tcp_accept_all(s);
                continue;
            }
            if (!t || t->closing) { /* a connection we already gave back */
                if (ev[i].type == AXL_EV_CLEANUP) axl_close(s->ctx, ev[i].sock);
                continue;
            }
            switch (ev[i].type) {
            case AXL_EV_NEW_DATA:
            case AXL_EV_DATA_ACKED:
                tconn_work(s, t);
                break;
            case AXL_EV_REMOTE_CLOSED:
                t->remote_closed = 1;
                tconn_work(s, t);
                break;
            case AXL_EV_CLEANUP:
                tconn_close(s, t);
                break;
            default:
                break;
            }
        }
        free_dead(s);
        /* A datagram can be queued without a fresh event (coalesced). */
        udp_drain(s);
        uint64_t now = now_ns();
        if (now - last_sweep > 1000000000ull) {
            last_sweep = now;
            tcp_sweep(s);
        }
        if (g_dump) {
            g_dump = 0;
            dump_stats(s);
        }
    }
out:
    while (s->conns) tconn_close(s, s->conns);
    free_dead(s);
    if (s->ctx) dump_stats(s);
    if (s->ctx) axl_close_ctx(s->ctx);
    dns_db_free(db);
    free(s);
    return rc < 0 ? 1 : 0;
}
