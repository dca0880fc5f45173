/* SPDX-License-Identifier: MIT */
/*
 * axl-ping - ping over Axolotl: the stack linked into the tool
 * (run-to-completion mode), sending ICMP echo requests from its own address
 * on any port.
 *
 *   axl-ping --port shm:/tmp/wire --addr 198.18.2.2/24 -c 200 -i 0.01 198.18.2.1
 *
 * With --retries N a request that is not answered within -W seconds is sent
 * again with the same sequence number, up to N times: over an impaired link
 * (shmlink loss=10) this proves that every request is eventually answered.
 * Exit status: 0 when every sequence number got a reply, 1 when some did not,
 * 2 on bad arguments.
 *
 * Call chain: main -> pool/port/stack set-up -> loop { axl_stack_poll; send
 * what is due; resend what timed out } -> echo handler (from inside the poll)
 * records replies -> summary.
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/opts.h"
#include "core/pool.h"
#include "net/stack.h"
#include "port/port.h"

#define PROG "axl-ping"

struct probe {
    uint64_t first_sent_ns; /* first transmission (RTT is measured from the last) */
    uint64_t sent_ns;
    uint32_t tries;
    int answered;
    double rtt_ms;
};

struct ping {
    struct probe *p;
    uint32_t count;
    uint16_t id;
    uint32_t size;
    uint32_t dest;
    uint32_t received, dups, bad;
    int quiet;
};

static volatile sig_atomic_t g_stop;
static void on_sig(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void fill_payload(uint8_t *buf, uint32_t len, uint16_t seq)
{
    for (uint32_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(i + seq);
}

static void on_reply(void *arg, uint32_t saddr, uint16_t id, uint16_t seq, const uint8_t *data,
                     uint32_t len, uint8_t ttl)
{
    struct ping *pg = arg;
    uint8_t want[65536];
    if (id != pg->id || saddr != pg->dest || seq == 0 || seq > pg->count)
        return;
    struct probe *pr = &pg->p[seq - 1];
    fill_payload(want, pg->size, seq);
    if (len != pg->size || memcmp(data, want, len) != 0) {
        pg->bad++;
        printf("%u bytes from %s: icmp_seq=%u CORRUPT payload\n", len + 8, "peer", seq);
        return;
    }
    if (pr->answered) {
        pg->dups++;
        return;
    }
    pr->answered = 1;
    pr->rtt_ms = (double)(axl_clock_ns() - pr->sent_ns) / 1e6;
    pg->received++;
    if (!pg->quiet) {
        char ab[16];
        printf("%u bytes from %s: icmp_seq=%u ttl=%u time=%.3f ms%s\n", len + 8,
               axl_fmt_ipv4(saddr, ab), seq, ttl, pr->rtt_ms,
               pr->tries > 1 ? " (after retries)" : "");
    }
}

int main(int argc, char **argv)
{
    const char *port_spec = NULL, *addr_str = NULL;
    uint32_t gw = 0, count = 5, size = 56, retries = 0;
    double interval = 1.0, wait_s = 1.0, deadline_s = 0;
    int quiet = 0, log_level = AXL_LOG_WARN;
    const struct axl_opt opts[] = {
        {"port", 'p', AXL_OPT_STR, "SPEC", "packet port (see axl-stackd --help)", &port_spec},
        {"addr", 'a', AXL_OPT_STR, "CIDR", "our IPv4 address and prefix", &addr_str},
        {"gw", 'g', AXL_OPT_IPV4, "IP", "default gateway", &gw},
        {"count", 'c', AXL_OPT_U32, "N", "echo requests to send (default 5)", &count, 1, 65535},
        {"interval", 'i', AXL_OPT_DOUBLE, "SEC", "seconds between requests (default 1)",
         &interval, 0.0001, 60},
        {"size", 's', AXL_OPT_U32, "B", "data bytes per request (default 56)", &size, 0, 65000},
        {"wait", 'W', AXL_OPT_DOUBLE, "SEC", "reply timeout per try (default 1)", &wait_s, 0.001,
         60},
        {"retries", 'r', AXL_OPT_U32, "N", "resend an unanswered request up to N times", &retries,
         0, 1000},
        {"deadline", 'w', AXL_OPT_DOUBLE, "SEC", "stop after SEC seconds in all (default: none)",
         &deadline_s, 0, 86400},
        {"quiet", 'q', AXL_OPT_FLAG, NULL, "print only the summary", &quiet},
        {"log-level", 0, AXL_OPT_LOGLEVEL, "LEVEL", "err, warn (default), info or debug",
         &log_level},
        {0},
    };
    axl_log_set_level(AXL_LOG_WARN);
    int first = axl_opts_parse(argc, argv, PROG, "--port SPEC --addr CIDR [options] DEST",
                               "Sends ICMP echo requests over the Axolotl stack (linked in) "
                               "and reports replies like ping(8).",
                               opts);
    if (first < 0)
        return 2;
    if (!port_spec || !addr_str) {
        fprintf(stderr, "%s: --port and --addr are required (try --help)\n", PROG);
        return 2;
    }
    if (first != argc - 1) {
        fprintf(stderr, "%s: exactly one destination address is required (try --help)\n", PROG);
        return 2;
    }
    struct axl_cidr cidr;
    uint32_t dest;
    if (axl_parse_cidr(addr_str, &cidr) < 0 || cidr.prefix == 0) {
        fprintf(stderr, "%s: --addr: '%s' is not an IPv4 address with a prefix\n", PROG, addr_str);
        return 2;
    }
    if (axl_parse_ipv4(argv[first], &dest) < 0) {
        fprintf(stderr, "%s: '%s' is not an IPv4 address\n", PROG, argv[first]);
        return 2;
    }
    struct axl_port_cfg pcfg;
    char err[256];
    memset(&pcfg, 0, sizeof(pcfg));
    if (axl_port_parse_spec(port_spec, &pcfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s: --port: %s\n", PROG, err);
        return 2;
    }

    signal(SIGINT, on_sig);
    signal(SIGTERM, on_sig);
    struct axl_pool pool;
    struct axl_port port;
    struct axl_stack *s = NULL;
    int status = 1, rc;
    struct ping pg = {.count = count, .size = size, .dest = dest, .quiet = quiet};
    pg.p = calloc(count, sizeof(*pg.p));
    uint8_t *payload = malloc(size ? size : 1);
    if (!pg.p || !payload) {
        fprintf(stderr, "%s: out of memory\n", PROG);
        return 1;
    }
    if ((rc = axl_pool_init(&pool, 4096, 2048, AXL_POOL_HEADROOM)) < 0) {
        fprintf(stderr, "%s: pool: %s\n", PROG, axl_strerror(rc));
        goto out_mem;
    }
    pcfg.pool = &pool;
    memset(&port, 0, sizeof(port));
    if ((rc = axl_port_open(&port, &pcfg)) < 0) {
        fprintf(stderr, "%s: cannot open port %s: %s\n", PROG, port_spec, axl_strerror(rc));
        goto out_pool;
    }
    struct axl_stack_cfg scfg = {.addr = cidr, .gw = gw};
    uint64_t now = axl_clock_ns();
    if (!(s = axl_stack_create(&scfg, &port, &pool, now))) {
        fprintf(stderr, "%s: cannot start the stack\n", PROG);
        goto out_port;
    }
    pg.id = (uint16_t)(getpid() ^ (now >> 10));
    axl_icmp_set_echo_handler(s, on_reply, &pg);

    char ab[16];
    if (!quiet)
        printf("PING %s from %s: %u data bytes%s\n", axl_fmt_ipv4(dest, ab), addr_str, size,
               retries ? " (with retries)" : "");
    uint64_t ival = (uint64_t)(interval * 1e9), wait_ns = (uint64_t)(wait_s * 1e9);
    uint64_t start = axl_clock_ns(), next_send = start;
    uint64_t end_by = deadline_s > 0 ? start + (uint64_t)(deadline_s * 1e9) : UINT64_MAX;
    uint32_t next_seq = 1, transmitted = 0, resent = 0;
    for (;;) {
        now = axl_clock_ns();
        if (g_stop || now >= end_by)
            break;
        if (next_seq <= count && now >= next_send) {
            fill_payload(payload, size, (uint16_t)next_seq);
            struct probe *pr = &pg.p[next_seq - 1];
            pr->first_sent_ns = pr->sent_ns = now;
            pr->tries = 1;
            rc = axl_icmp_echo_send(s, dest, pg.id, (uint16_t)next_seq, payload, size);
            if (rc < 0)
                fprintf(stderr, "%s: icmp_seq=%u: %s\n", PROG, next_seq, axl_strerror(rc));
            transmitted++;
            next_seq++;
            next_send += ival;
        }
        /* Retries, and the end condition: every probe answered or given up. */
        int outstanding = 0;
        for (uint32_t i = 0; i + 1 < next_seq; i++) {
            struct probe *pr = &pg.p[i];
            if (pr->answered)
                continue;
            if (now - pr->sent_ns < wait_ns) {
                outstanding = 1;
                continue;
            }
            if (pr->tries <= retries) {
                fill_payload(payload, size, (uint16_t)(i + 1));
                pr->sent_ns = now;
                pr->tries++;
                resent++;
                axl_icmp_echo_send(s, dest, pg.id, (uint16_t)(i + 1), payload, size);
                outstanding = 1;
            }
        }
        if (next_seq > count && !outstanding)
            break;
        if (axl_stack_poll(s, now) == 0) {
            struct timespec ts = {0, 20000};
            nanosleep(&ts, NULL);
        }
    }
    axl_stack_poll(s, axl_clock_ns()); /* flush the last replies out */

    double min = 1e18, max = 0, sum = 0, sq = 0;
    uint32_t first_try = 0;
    for (uint32_t i = 0; i < count; i++) {
        struct probe *pr = &pg.p[i];
        if (!pr->answered)
            continue;
        if (pr->tries == 1)
            first_try++;
        min = fmin(min, pr->rtt_ms);
        max = fmax(max, pr->rtt_ms);
        sum += pr->rtt_ms;
        sq += pr->rtt_ms * pr->rtt_ms;
    }
    printf("--- %s axl-ping statistics ---\n", axl_fmt_ipv4(dest, ab));
    printf("%u packets transmitted, %u received, %.1f%% packet loss, %u retransmitted, "
           "%u answered at the first try, %u duplicates, %u corrupt\n",
           transmitted, pg.received,
           transmitted ? 100.0 * (transmitted - pg.received) / transmitted : 0.0, resent,
           first_try, pg.dups, pg.bad);
    if (pg.received) {
        double avg = sum / pg.received;
        printf("rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms\n", min, avg, max,
               sqrt(fmax(0, sq / pg.received - avg * avg)));
    }
    status = (pg.received == count && transmitted == count) ? 0 : 1;
    axl_stack_destroy(s);
out_port:
    axl_port_close(&port);
out_pool:
    axl_pool_fini(&pool);
out_mem:
    free(payload);
    free(pg.p);
    return status;
}
