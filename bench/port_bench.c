/* SPDX-License-Identifier: MIT */
/*
 * port_bench.c - packet rate of one port, either direction, through the port
 * API exactly as the engine uses it (bursts, flush, pool buffers).
 *
 *   port_bench --port SPEC [--size N] [--seconds S] tx
 *       blasts prebuilt Ethernet/IPv4/UDP frames of N bytes (the bytes handed
 *       to the port, no FCS) in bursts of --burst, to --dst-mac / --dst-ip,
 *       for S seconds; refused frames are retried. Reports the frames the port
 *       accepted per second (Mpps) and Gbit/s of frame bytes.
 *   port_bench --port SPEC [--seconds S] rx
 *       counts the bench's frames received (IPv4/UDP to --dport; others, such
 *       as the kernel's IPv6 neighbour discovery, are ignored), timed from the
 *       first burst that brings some until S seconds later or until none came
 *       for --idle-ms.
 *
 * Output: a human line and one machine line for scripts (bench/ports.sh):
 *   RESULT kind=K dir=tx|rx size=N frames=F seconds=T mpps=M gbps=G
 * --stats adds the port's counters (axl_port_stats_dump).
 *
 * Orchestration helpers: --cpu pins the process; --ready FILE is created once
 * the port is open; --wait-start waits (at most 60 s) for SIGUSR1 before the
 * run starts (so that a script can, e.g., move a tap into a namespace first);
 * --linger keeps the port open a while after the result is printed.
 *
 * Frames are prebuilt: every pool buffer gets the whole frame once at start;
 * per frame only the 42 header bytes are rewritten (a buffer may have carried
 * a received frame in between) and the length set. The RX side frees frames
 * unread: both measure the port, not a protocol.
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/compiler.h"
#include "core/err.h"
#include "core/log.h"
#include "core/opts.h"
#include "core/pool.h"
#include "port/port.h"

#define HDR_BYTES 42u /* Ethernet 14 + IPv4 20 + UDP 8 */
#define BURST_MAX 256u

struct bench {
    const char *spec, *ready_file;
    uint32_t size, burst, pool_bufs, idle_ms, first_timeout, linger_ms;
    double seconds;
    int wait_start, stats, sleep_idle;
    uint32_t cpu;
    uint8_t dst_mac[6];
    uint32_t src_ip, dst_ip, sport, dport;
    int log_level;
};

static uint16_t csum16(const uint8_t *p, size_t len)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* Ethernet + IPv4 + UDP to the bench's addresses; payload bytes i & 0xff.
 * UDP checksum 0 (none), which IPv4 allows. */
static void build_frame(const struct bench *b, const uint8_t src_mac[6], uint8_t *f)
{
    uint32_t ip_len = b->size - 14, udp_len = ip_len - 20;

    memcpy(f, b->dst_mac, 6);
    memcpy(f + 6, src_mac, 6);
    axl_store_be16(f + 12, 0x0800);
    uint8_t *ip = f + 14;
    memset(ip, 0, 20);
    ip[0] = 0x45;
    axl_store_be16(ip + 2, (uint16_t)ip_len);
    axl_store_be16(ip + 6, 0x4000); /* DF */
    ip[8] = 64;
    ip[9] = 17;
    axl_store_be32(ip + 12, b->src_ip);
    axl_store_be32(ip + 16, b->dst_ip);
    axl_store_be16(ip + 10, csum16(ip, 20));
    uint8_t *udp = ip + 20;
    axl_store_be16(udp, (uint16_t)b->sport);
    axl_store_be16(udp + 2, (uint16_t)b->dport);
    axl_store_be16(udp + 4, (uint16_t)udp_len);
    axl_store_be16(udp + 6, 0);
    for (uint32_t i = HDR_BYTES; i < b->size; i++)
        f[i] = (uint8_t)i;
}

static volatile sig_atomic_t stop_flag;
static void on_stop(int sig)
{
    (void)sig;
    stop_flag = 1;
}

/* Hot loop: allocate, stamp headers, tx_burst, flush; retry refusals. */
static uint64_t run_tx(const struct bench *b, struct axl_port *p, struct axl_pool *pool,
                       const uint8_t *tmpl, uint64_t *elapsed_ns)
{
    struct axl_pkt *pkts[BURST_MAX], *rx[64];
    uint32_t have = 0, iter = 0;
    uint64_t sent = 0, t0 = axl_clock_ns(), end = t0 + (uint64_t)(b->seconds * 1e9), now = t0;

    while (!stop_flag) {
        if (have < b->burst) {
            uint32_t k = axl_pkt_alloc_bulk(pool, pkts + have, b->burst - have);
            for (uint32_t i = have; i < have + k; i++) {
                memcpy(pkts[i]->data, tmpl, HDR_BYTES);
                pkts[i]->len = b->size;
            }
            have += k;
        }
        uint32_t acc = have ? axl_port_tx_burst(p, pkts, have) : 0;
        if (acc && acc < have) memmove(pkts, pkts + acc, (have - acc) * sizeof(pkts[0]));
        have -= acc;
        sent += acc;
        axl_port_flush(p);
        if ((++iter & 63) == 0) {
            /* Keep the pool healthy if the device hands us frames too. */
            uint32_t g = axl_port_rx_burst(p, rx, 64);
            axl_pkt_free_bulk(pool, rx, g);
            now = axl_clock_ns();
            if (now >= end) break;
        }
    }
    *elapsed_ns = now - t0;
    axl_pkt_free_bulk(pool, pkts, have);
    /* Give completions a moment to come back before the counters are read. */
    for (uint64_t until = axl_clock_ns() + 50 * AXL_NS_PER_MS; axl_clock_ns() < until;) {
        axl_port_flush(p);
        uint32_t g = axl_port_rx_burst(p, rx, 64);
        axl_pkt_free_bulk(pool, rx, g);
    }
    return sent;
}

struct rx_result {
    uint64_t frames, bytes; /* bench frames received */
    uint64_t other;         /* other frames (ARP, IPv6 ND, ...): not counted */
    uint64_t timed;         /* bench frames after the first burst, over elapsed_ns */
    uint64_t elapsed_ns;    /* first burst .. last burst with bench frames */
};

/* One of ours: IPv4 (no options) / UDP to --dport. */
static int is_bench_frame(const struct bench *b, const struct axl_pkt *pkt)
{
    const uint8_t *f = pkt->data;
    return pkt->len >= HDR_BYTES && axl_load_be16(f + 12) == 0x0800 && f[14] == 0x45 &&
           f[23] == 17 && axl_load_be16(f + 36) == b->dport;
}

static void run_rx(const struct bench *b, struct axl_port *p, struct axl_pool *pool,
                   struct rx_result *r)
{
    struct axl_pkt *pkts[BURST_MAX];
    uint64_t t_first = 0, t_last = 0, first_burst = 0;
    uint64_t start = axl_clock_ns(), now = start;
    uint64_t first_deadline = start + (uint64_t)b->first_timeout * AXL_NS_PER_S;
    uint64_t idle_ns = (uint64_t)b->idle_ms * AXL_NS_PER_MS, run_ns = (uint64_t)(b->seconds * 1e9);
    uint32_t iter = 0;

    memset(r, 0, sizeof(*r));
    while (!stop_flag) {
        uint32_t got = axl_port_rx_burst(p, pkts, b->burst), ours = 0;
        for (uint32_t i = 0; i < got; i++) {
            if (is_bench_frame(b, pkts[i])) {
                ours++;
                r->bytes += pkts[i]->len;
            }
        }
        axl_pkt_free_bulk(pool, pkts, got);
        r->other += got - ours;
        if (ours) {
            now = axl_clock_ns();
            if (!t_first) {
                t_first = now;
                first_burst = ours;
            }
            t_last = now;
            r->frames += ours;
            if (now - t_first >= run_ns) break;
            continue;
        }
        if ((++iter & 255) == 0 || b->sleep_idle) {
            now = axl_clock_ns();
            if (!t_first && now >= first_deadline) break;
            if (t_first && (now - t_last >= idle_ns || now - t_first >= run_ns)) break;
        }
        if (b->sleep_idle && p->ops->prepare_sleep && p->ops->prepare_sleep(p)) {
            struct pollfd pf = {.fd = axl_port_fd(p), .events = POLLIN};
            if (pf.fd >= 0) poll(&pf, 1, 10);
            if (p->ops->wake_done) p->ops->wake_done(p);
        }
    }
    /* The first burst arrived at t_first: the rate counts what came after. */
    r->elapsed_ns = t_last - t_first;
    r->timed = r->frames - first_burst;
}

static int wait_for_start(void)
{
    sigset_t set;
    struct timespec ts = {60, 0};
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    if (sigtimedwait(&set, NULL, &ts) < 0) {
        fprintf(stderr, "port_bench: no SIGUSR1 within 60 s\n");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct bench b = {.size = 64,
                      .burst = 32,
                      .pool_bufs = 16384,
                      .idle_ms = 500,
                      .first_timeout = 10,
                      .seconds = 3,
                      .dst_mac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x99},
                      .src_ip = 0xc6120001, /* 198.18.0.1 */
                      .dst_ip = 0xc6120063, /* 198.18.0.99 */
                      .sport = 1024,
                      .dport = 9,
                      .cpu = UINT32_MAX, /* not pinned */
                      .log_level = AXL_LOG_WARN};
    const struct axl_opt opts[] = {
        {"port", 'p', AXL_OPT_STR, "SPEC", "port to measure (see port.h)", &b.spec},
        {"size", 's', AXL_OPT_U32, "N", "tx: frame bytes without FCS (60..9018, default 64)",
         &b.size, 60, 9018},
        {"seconds", 't', AXL_OPT_DOUBLE, "S", "duration (default 3)", &b.seconds, 0.1, 600},
        {"burst", 'b', AXL_OPT_U32, "N", "frames per burst (default 32)", &b.burst, 1, BURST_MAX},
        {"pool", 0, AXL_OPT_U32, "N", "pool buffers (default 16384)", &b.pool_bufs, 512, 1 << 20},
        {"dst-mac", 0, AXL_OPT_MAC, "MAC", "tx: destination MAC (default 02:00:00:00:00:99)",
         b.dst_mac},
        {"src-ip", 0, AXL_OPT_IPV4, "A.B.C.D", "tx: source IP (default 198.18.0.1)", &b.src_ip},
        {"dst-ip", 0, AXL_OPT_IPV4, "A.B.C.D", "tx: destination IP (default 198.18.0.99)",
         &b.dst_ip},
        {"dport", 0, AXL_OPT_U32, "N", "tx: UDP destination port (default 9)", &b.dport, 1, 65535},
        {"cpu", 'c', AXL_OPT_U32, "N", "pin to this CPU", &b.cpu, 0, 1023},
        {"idle-ms", 0, AXL_OPT_U32, "MS", "rx: stop after this long without frames (500)",
         &b.idle_ms, 1, 60000},
        {"first-timeout", 0, AXL_OPT_U32, "S", "rx: wait this long for the first frame (10)",
         &b.first_timeout, 1, 600},
        {"sleep", 0, AXL_OPT_FLAG, NULL, "rx: sleep on the port's fd when idle (else spin)",
         &b.sleep_idle},
        {"ready", 0, AXL_OPT_STR, "FILE", "create FILE once the port is open", &b.ready_file},
        {"wait-start", 0, AXL_OPT_FLAG, NULL, "wait for SIGUSR1 before running (60 s max)",
         &b.wait_start},
        {"stats", 0, AXL_OPT_FLAG, NULL, "print the port's counters at the end", &b.stats},
        {"linger", 0, AXL_OPT_U32, "MS",
         "keep the port open MS ms after printing the result (a tap then still exists for "
         "its counters to be read)",
         &b.linger_ms, 0, 60000},
        {"log-level", 0, AXL_OPT_LOGLEVEL, "LEVEL", "err|warn|info|debug (default warn)",
         &b.log_level},
        {0},
    };
    struct axl_port_cfg cfg;
    struct axl_port port;
    struct axl_pool pool;
    char err[256];
    int first, ret = 1, dir_tx;
    uint64_t frames, elapsed = 0;

    axl_log_set_level(AXL_LOG_WARN);
    first = axl_opts_parse(argc, argv, "port_bench", "--port SPEC [options] tx|rx",
                           "Measures a port's packet rate in one direction.", opts);
    if (first < 0) return 2;
    if (!b.spec || first != argc - 1 ||
        (strcmp(argv[first], "tx") != 0 && strcmp(argv[first], "rx") != 0)) {
        fprintf(stderr, "port_bench: need --port SPEC and one of tx, rx (see --help)\n");
        return 2;
    }
    dir_tx = strcmp(argv[first], "tx") == 0;
    if (b.cpu != UINT32_MAX) {
        cpu_set_t cs;
        CPU_ZERO(&cs);
        CPU_SET(b.cpu, &cs);
        if (sched_setaffinity(0, sizeof(cs), &cs) < 0) {
            fprintf(stderr, "port_bench: cannot pin to CPU %u: %s\n", b.cpu, strerror(errno));
            return 1;
        }
    }
    if (b.wait_start) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGUSR1);
        sigprocmask(SIG_BLOCK, &set, NULL); /* before --ready: no lost signal */
    }
    signal(SIGINT, on_stop);
    signal(SIGTERM, on_stop);

    if (axl_port_parse_spec(b.spec, &cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "port_bench: --port: %s\n", err);
        return 2;
    }
    if (axl_pool_init(&pool, b.pool_bufs, cfg.mtu > 3000 ? 16384 : 2048, AXL_POOL_HEADROOM) < 0) {
        fprintf(stderr, "port_bench: cannot create a pool of %u buffers\n", b.pool_bufs);
        return 1;
    }
    cfg.pool = &pool;
    ret = axl_port_open(&port, &cfg);
    if (ret < 0) {
        fprintf(stderr, "port_bench: cannot open %s: %s\n", b.spec, axl_strerror(ret));
        axl_pool_fini(&pool);
        return 1;
    }
    ret = 1;
    if (dir_tx && b.size > port.max_frame) {
        fprintf(stderr, "port_bench: --size %u exceeds the port's largest frame %u\n", b.size,
                port.max_frame);
        goto out;
    }
    if (b.ready_file) {
        FILE *f = fopen(b.ready_file, "w");
        if (!f) {
            fprintf(stderr, "port_bench: %s: %s\n", b.ready_file, strerror(errno));
            goto out;
        }
        fprintf(f, "%d\n", (int)getpid());
        fclose(f);
    }
    if (b.wait_start && wait_for_start() < 0) goto out;

    uint32_t size = b.size;
    if (dir_tx) {
        uint8_t tmpl[9018];
        build_frame(&b, port.mac, tmpl);
        for (uint32_t i = 0; i < pool.nbufs; i++) /* prebuild every buffer */
            memcpy(axl_pool_buf(&pool, i) + pool.headroom, tmpl, b.size);
        frames = run_tx(&b, &port, &pool, tmpl, &elapsed);
    } else {
        struct rx_result r;
        run_rx(&b, &port, &pool, &r);
        frames = r.timed;
        elapsed = r.elapsed_ns;
        size = r.frames ? (uint32_t)((r.bytes + r.frames / 2) / r.frames) : 0; /* mean */
        if (r.other)
            printf("(%llu frames that are not the bench's were ignored)\n",
                   (unsigned long long)r.other);
    }
    double secs = (double)elapsed / 1e9;
    double mpps = secs > 0 ? (double)frames / secs / 1e6 : 0;
    double gbps = mpps * size * 8 / 1e3;
    printf("%s %s: %llu frames of %u bytes in %.3f s = %.3f Mpps, %.2f Gbit/s of frame bytes\n",
           b.spec, dir_tx ? "tx" : "rx", (unsigned long long)frames, size, secs, mpps, gbps);
    printf("RESULT kind=%s dir=%s size=%u frames=%llu seconds=%.3f mpps=%.4f gbps=%.3f\n", cfg.kind,
           dir_tx ? "tx" : "rx", size, (unsigned long long)frames, secs, mpps, gbps);
    if (b.stats) axl_port_stats_dump(&port, stdout, "port_bench");
    ret = frames ? 0 : 3;
    fflush(stdout);
    if (b.linger_ms) {
        struct timespec ts = {b.linger_ms / 1000, (long)(b.linger_ms % 1000) * 1000000};
        nanosleep(&ts, NULL);
    }
out:
    axl_port_close(&port);
    axl_pool_fini(&pool);
    return ret;
}
