/* SPDX-License-Identifier: MIT */
/*
 * portcheck_kernel.c - port-level reachability check against the Linux kernel.
 *
 * Opens an afpacket or tap port by calling its ops table directly (no stack),
 * answers ARP requests for --ip, ICMP echo requests to it and UDP datagrams to
 * port 7 (echo, checksum 0) with minimal hand-built replies, and prints the
 * port counters ("qN PortRxPackets 123") and its own ("tool icmp_echo 200") at
 * exit. Runs until --duration seconds have passed or SIGTERM/SIGINT.
 * Used by tests/integration/port_afpacket.sh and port_tap.sh: the kernel in a
 * test namespace pings this address.
 *
 * With `--tap NAME:Q` one process opens all Q queues (queue 0 creates the
 * device, the others attach); `--queue N` opens only queue N (several
 * processes, after `--setup-only` created the device). `--ready-file F` is
 * written once every queue is open.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/compiler.h"
#include "core/err.h"
#include "core/log.h"
#include "core/pool.h"
#include "port/port.h"

#define MAXQ   8
#define BURST  32
#define ETH_HL 14

struct tool_stats {
    uint64_t arp_req, arp_reply, icmp_echo, udp_echo, ignored, reply_nobuf, tx_refused;
    uint64_t seen_csum_partial, seen_csum_ok;
    uint64_t rx_per_q[MAXQ];
};

struct tool {
    struct axl_pool pool;
    struct axl_port ports[MAXQ];
    uint32_t nports;
    uint8_t ip[4];
    struct tool_stats st;
};

/* Set from the signal handler only; read by the main loop. Test tool, not src/. */
static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static uint16_t csum16(const uint8_t *p, size_t len)
{
    uint32_t s = 0;
    for (size_t i = 0; i + 1 < len; i += 2)
        s += (uint32_t)p[i] << 8 | p[i + 1];
    if (len & 1) s += (uint32_t)p[len - 1] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

static struct axl_pkt *reply_arp(struct tool *t, struct axl_port *p, const uint8_t *f, uint32_t len)
{
    const uint8_t *a = f + ETH_HL;
    struct axl_pkt *r;
    uint8_t *o;

    if (len < ETH_HL + 28 || axl_load_be16(a) != 1 || axl_load_be16(a + 2) != 0x0800 || a[4] != 6 ||
        a[5] != 4)
        return NULL;
    if (axl_load_be16(a + 6) != 1 || memcmp(a + 24, t->ip, 4) != 0) return NULL;
    t->st.arp_req++;
    r = axl_pkt_alloc(&t->pool);
    if (!r) {
        t->st.reply_nobuf++;
        return NULL;
    }
    o = r->data;
    memset(o, 0, 60);
    memcpy(o, a + 8, 6); /* to the requester's hardware address */
    memcpy(o + 6, p->mac, 6);
    axl_store_be16(o + 12, 0x0806);
    axl_store_be16(o + 14, 1);
    axl_store_be16(o + 16, 0x0800);
    o[18] = 6;
    o[19] = 4;
    axl_store_be16(o + 20, 2);
    memcpy(o + 22, p->mac, 6);
    memcpy(o + 28, t->ip, 4);
    memcpy(o + 32, a + 8, 10); /* tha, tpa = requester's sha, spa */
    r->len = 60;               /* padded to the Ethernet minimum */
    t->st.arp_reply++;
    return r;
}

static struct axl_pkt *reply_ipv4(struct tool *t, struct axl_port *p, const struct axl_pkt *in)
{
    const uint8_t *f = in->data, *ip = f + ETH_HL;
    uint32_t len = in->len, ihl, tot;
    struct axl_pkt *r;
    uint8_t *o, *oip, *l4;
    uint8_t proto;

    if (len < ETH_HL + 20 || (ip[0] >> 4) != 4) return NULL;
    ihl = (uint32_t)(ip[0] & 15) * 4;
    tot = axl_load_be16(ip + 2);
    if (ihl < 20 || tot < ihl + 8 || ETH_HL + tot > len || memcmp(ip + 16, t->ip, 4) != 0)
        return NULL;
    if (axl_load_be16(ip + 6) & 0x3fff) /* fragments: not for this tool */
        return NULL;
    proto = ip[9];
    if (in->flags & AXL_PKT_F_CSUM_PARTIAL) t->st.seen_csum_partial++;
    if (in->flags & AXL_PKT_F_CSUM_OK) t->st.seen_csum_ok++;
    if (proto == 1 && ip[ihl] != 8) return NULL;
    if (proto == 17 && axl_load_be16(ip + ihl + 2) != 7) return NULL;
    if (proto != 1 && proto != 17) return NULL;
    r = axl_pkt_alloc(&t->pool);
    if (!r) {
        t->st.reply_nobuf++;
        return NULL;
    }
    o = r->data;
    memcpy(o, f, ETH_HL + tot);
    memcpy(o, f + 6, 6);
    memcpy(o + 6, p->mac, 6);
    oip = o + ETH_HL;
    memcpy(oip + 12, ip + 16, 4);
    memcpy(oip + 16, ip + 12, 4);
    oip[8] = 64;
    oip[10] = oip[11] = 0;
    axl_store_be16(oip + 10, csum16(oip, ihl));
    l4 = oip + ihl;
    if (proto == 1) {
        l4[0] = 0; /* echo reply */
        l4[2] = l4[3] = 0;
        axl_store_be16(l4 + 2, csum16(l4, tot - ihl));
        t->st.icmp_echo++;
    } else {
        uint16_t sp = axl_load_be16(l4), dp = axl_load_be16(l4 + 2);
        axl_store_be16(l4, dp);
        axl_store_be16(l4 + 2, sp);
        l4[6] = l4[7] = 0; /* no checksum (RFC 768 permits it over IPv4) */
        t->st.udp_echo++;
    }
    r->len = ETH_HL + tot;
    return r;
}

static void serve_port(struct tool *t, struct axl_port *p, uint32_t qi, int *busy)
{
    struct axl_pkt *rx[BURST], *tx[BURST];
    uint32_t n, ntx = 0, sent;

    n = p->ops->rx_burst(p, rx, BURST);
    if (n) *busy = 1;
    t->st.rx_per_q[qi] += n;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *f = rx[i]->data;
        struct axl_pkt *r = NULL;
        uint16_t type = rx[i]->len >= ETH_HL ? axl_load_be16(f + 12) : 0;
        int to_us = memcmp(f, p->mac, 6) == 0 || memcmp(f, "\xff\xff\xff\xff\xff\xff", 6) == 0;

        if (to_us && type == 0x0806)
            r = reply_arp(t, p, f, rx[i]->len);
        else if (to_us && type == 0x0800)
            r = reply_ipv4(t, p, rx[i]);
        if (r)
            tx[ntx++] = r;
        else
            t->st.ignored++;
        axl_pkt_free(&t->pool, rx[i]);
    }
    if (!ntx) return;
    sent = p->ops->tx_burst(p, tx, ntx);
    if (sent < ntx) {
        t->st.tx_refused += ntx - sent;
        axl_pkt_free_bulk(&t->pool, tx + sent, ntx - sent);
    }
    if (p->ops->flush) p->ops->flush(p);
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: portcheck_kernel (--afpacket IF | --tap NAME[:Q]) --ip A.B.C.D [options]\n"
            "Answer ARP, ICMP echo and UDP echo (port 7) for --ip on a port opened through\n"
            "its ops table; print the port counters at exit.\n"
            "  --afpacket IF      AF_PACKET port on interface IF\n"
            "  --tap NAME[:Q]     TAP port NAME with Q queues (all opened here unless --queue)\n"
            "  --ip A.B.C.D       address to answer for (198.18.0.0/15 in tests)\n"
            "  --opt K=V          backend option (repeatable): vnet=1, persist=1, fanout=N ...\n"
            "  --mac M            our MAC (default: interface MAC / random for tap)\n"
            "  --queue N          open only queue N\n"
            "  --duration S       stop after S seconds (default 20, max 600)\n"
            "  --ready-file F     create F once the port is open\n"
            "  --setup-only       run the backend's dev_setup and exit\n"
            "  --teardown-only    run the backend's dev_teardown and exit\n"
            "  --log-level L      err|warn|info|debug (default info)\n"
            "  -h, --help         this text\n");
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {{"afpacket", required_argument, 0, 'a'},
                                       {"tap", required_argument, 0, 't'},
                                       {"ip", required_argument, 0, 'i'},
                                       {"opt", required_argument, 0, 'o'},
                                       {"mac", required_argument, 0, 'm'},
                                       {"queue", required_argument, 0, 'q'},
                                       {"duration", required_argument, 0, 'd'},
                                       {"ready-file", required_argument, 0, 'r'},
                                       {"setup-only", no_argument, 0, 'S'},
                                       {"teardown-only", no_argument, 0, 'T'},
                                       {"log-level", required_argument, 0, 'l'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    static struct tool t; /* large; zeroed */
    char spec[512] = "", err[256];
    const char *ready = NULL, *mac = NULL;
    struct axl_port_cfg cfg;
    const struct axl_port_ops *ops = NULL;
    struct pollfd pfd[MAXQ];
    struct sigaction sa;
    int c, only_q = -1, setup_only = 0, teardown_only = 0, rc = 1;
    double duration = 20;
    uint64_t deadline;

    axl_log_set_level(AXL_LOG_INFO);
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case 'a':
        case 't':
            if (spec[0]) {
                fprintf(stderr, "portcheck_kernel: only one port\n");
                return 2;
            }
            snprintf(spec, sizeof(spec), "%s:%s", c == 'a' ? "afpacket" : "tap", optarg);
            break;
        case 'i':
            if (inet_pton(AF_INET, optarg, t.ip) != 1) {
                fprintf(stderr, "portcheck_kernel: bad --ip '%s'\n", optarg);
                return 2;
            }
            break;
        case 'o':
            if (!spec[0] || strlen(spec) + strlen(optarg) + 2 > sizeof(spec)) {
                fprintf(stderr, "portcheck_kernel: --opt needs a port first\n");
                return 2;
            }
            strcat(spec, ",");
            strcat(spec, optarg);
            break;
        case 'm':
            mac = optarg;
            break;
        case 'q':
            only_q = atoi(optarg);
            break;
        case 'd':
            duration = atof(optarg);
            break;
        case 'r':
            ready = optarg;
            break;
        case 'S':
            setup_only = 1;
            break;
        case 'T':
            teardown_only = 1;
            break;
        case 'l':
            if (axl_log_parse_level(optarg) < 0) {
                fprintf(stderr, "portcheck_kernel: bad --log-level\n");
                return 2;
            }
            axl_log_set_level(axl_log_parse_level(optarg));
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!spec[0] || optind != argc || duration <= 0 || duration > 600) {
        usage(stderr);
        return 2;
    }
    if (mac) {
        size_t l = strlen(spec);
        snprintf(spec + l, sizeof(spec) - l, ",mac=%s", mac);
    }
    if (axl_port_parse_spec(spec, &cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "portcheck_kernel: %s: %s\n", spec, err);
        return 2;
    }
    ops = strcmp(cfg.kind, "tap") == 0 ? &axl_port_tap_ops : &axl_port_afpacket_ops;
    if (setup_only || teardown_only) {
        if (setup_only) return ops->dev_setup && ops->dev_setup(&cfg) < 0 ? 1 : 0;
        if (ops->dev_teardown) ops->dev_teardown(&cfg);
        return 0;
    }
    if (!t.ip[0]) {
        fprintf(stderr, "portcheck_kernel: --ip is required\n");
        return 2;
    }
    if (cfg.nqueues > MAXQ || (only_q >= 0 && (uint32_t)only_q >= cfg.nqueues)) {
        fprintf(stderr, "portcheck_kernel: bad queue count/--queue\n");
        return 2;
    }
    if (axl_pool_init(&t.pool, 4096, 2048, AXL_POOL_HEADROOM) < 0) {
        fprintf(stderr, "portcheck_kernel: pool init failed\n");
        return 1;
    }
    cfg.pool = &t.pool;
    for (uint32_t q = 0; q < cfg.nqueues; q++) {
        struct axl_port *p = &t.ports[t.nports];
        int orc;
        if (only_q >= 0 && q != (uint32_t)only_q) continue;
        memset(p, 0, sizeof(*p));
        p->cfg = cfg; /* option pointers keep pointing into cfg, which outlives p */
        p->cfg.queue = q;
        p->ops = ops;
        orc = ops->open(p, &p->cfg);
        if (orc < 0) {
            fprintf(stderr, "portcheck_kernel: open %s queue %u: %s\n", spec, q, axl_strerror(orc));
            goto out;
        }
        pfd[t.nports].fd = ops->fd(p);
        pfd[t.nports].events = POLLIN;
        t.nports++;
    }
    printf("open %s queues %u mac %02x:%02x:%02x:%02x:%02x:%02x mtu %u\n", spec, t.nports,
           t.ports[0].mac[0], t.ports[0].mac[1], t.ports[0].mac[2], t.ports[0].mac[3],
           t.ports[0].mac[4], t.ports[0].mac[5], t.ports[0].mtu);
    fflush(stdout);

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (ready) {
        FILE *f = fopen(ready, "w");
        if (!f) {
            perror(ready);
            goto out;
        }
        fclose(f);
    }

    deadline = axl_clock_ns() + (uint64_t)(duration * 1e9);
    while (!g_stop && axl_clock_ns() < deadline) {
        int busy = 0, may_sleep = 1;
        for (uint32_t i = 0; i < t.nports; i++)
            serve_port(&t, &t.ports[i], i, &busy);
        if (busy) continue;
        for (uint32_t i = 0; i < t.nports; i++)
            if (t.ports[i].ops->prepare_sleep && !t.ports[i].ops->prepare_sleep(&t.ports[i]))
                may_sleep = 0;
        if (may_sleep && poll(pfd, t.nports, 50) < 0 && errno != EINTR) {
            perror("poll");
            goto out;
        }
    }
    rc = 0;
out:
    for (uint32_t i = 0; i < t.nports; i++) {
        char pfx[16];
        struct axl_port *p = &t.ports[i];
        snprintf(pfx, sizeof(pfx), "q%u", p->cfg.queue);
        p->ops->close(p); /* folds the final kernel drop count first */
        axl_port_stats_dump(p, stdout, pfx);
        printf("%s rx_seen %llu\n", pfx, (unsigned long long)t.st.rx_per_q[i]);
    }
#define P(f) printf("tool %s %llu\n", #f, (unsigned long long)t.st.f)
    P(arp_req);
    P(arp_reply);
    P(icmp_echo);
    P(udp_echo);
    P(ignored);
    P(reply_nobuf);
    P(tx_refused);
    P(seen_csum_partial);
    P(seen_csum_ok);
#undef P
    printf("tool pool_in_use %u\n", axl_pool_in_use(&t.pool));
    if (axl_pool_in_use(&t.pool) != 0) {
        fprintf(stderr, "portcheck_kernel: %u buffers leaked\n", axl_pool_in_use(&t.pool));
        rc = 1;
    }
    axl_pool_fini(&t.pool);
    return rc;
}
