/* SPDX-License-Identifier: MIT */
/*
 * axl-stackd - the Axolotl stack as a service: a supervisor and its replicas.
 *
 *   axl-stackd --port afxdp:veth0:2 --addr 198.18.0.2/24 [--gw 198.18.0.1]
 *              [--replicas N] [--director [--scale-max M]] [--ctl PATH]
 *              [--udp-echo PORT ...]
 *
 * Role and call chain:
 *   main -> parse flags -> supervisor_run (supervisor.c):
 *       ctl_open (control socket, ctl.c) -> axl_port_dev_setup (once per
 *       device: XDP program, TAP device) -> fork one replica per queue
 *       (replica.c: pool -> port queue -> engine -> services -> loop with
 *       heartbeat) -> watch (SIGCHLD, heartbeats), restart the dead, serve
 *       axlctl -> on SIGINT/SIGTERM/--duration: stop the replicas, tear the
 *       device down (detach XDP, remove a TAP we created), remove the socket.
 *   SIGUSR1: every replica writes its counters (--stats-out FILE for queue 0,
 *   FILE.qN for queue N; stdout without --stats-out).
 *
 * Built-in services for the demo and tests: --udp-echo PORT and --tcp-echo PORT
 * (RFC 862 over UDP and TCP),
 * kept in the supervisor's listener registry and re-created by a restarted
 * replica.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/opts.h"
#include "port/port.h"
#include "chan/chan.h"
#include "stackd/stackd.h"
#include "svc/svc.h"

int main(int argc, char **argv)
{
    struct stackd_cfg cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.pool_bufs = 16384;
    cfg.buf_size = 2048;
    cfg.hb_timeout = 2.0;
    cfg.wake_quiet_us = (uint32_t)(AXL_SVC_WAKE_QUIET_NS / AXL_NS_PER_US);
    cfg.wake_hold_us = (uint32_t)(AXL_SVC_WAKE_MAX_NS / AXL_NS_PER_US);
    cfg.idle_spin_us = (uint32_t)(AXL_REPLICA_IDLE_NS / AXL_NS_PER_US);
    cfg.start_timeout = 10.0;
    cfg.restart_limit = 5;
    cfg.restart_window = 10.0;
    int log_level = AXL_LOG_INFO;
    const char *addr_str = NULL;
    uint32_t cpu = 0;
    int pin = 0;

    const struct axl_opt opts[] = {
        {"port", 'p', AXL_OPT_STR, "SPEC",
         "packet port: afxdp:IF[:QUEUES], afpacket:IF, tap:NAME[:QUEUES], shm:PATH "
         "(options after commas, e.g. shm:/tmp/w,loss=10,seed=1; pcap=FILE mirrors "
         "any port)",
         &cfg.port},
        {"addr", 'a', AXL_OPT_STR, "CIDR", "our IPv4 address and prefix, e.g. 198.18.0.2/24",
         &addr_str},
        {"gw", 'g', AXL_OPT_IPV4, "IP", "default gateway", &cfg.gw},
        {"mtu", 0, AXL_OPT_U32, "N", "IP MTU (default: the port's)", &cfg.mtu, 576, 9000},
        {"mac", 0, AXL_OPT_STR, "MAC", "our MAC address (default: the port's)", &cfg.mac_str},
        {"udp-echo", 0, AXL_OPT_MULTI, "PORT", "serve UDP echo (RFC 862) on PORT; repeatable",
         cfg.echo, 0, AXL_MAX_ECHO, &cfg.necho},
        {"tcp-echo", 0, AXL_OPT_MULTI, "PORT", "serve TCP echo (RFC 862) on PORT; repeatable",
         cfg.tcp_echo, 0, AXL_MAX_ECHO, &cfg.ntcp_echo},
        {"socks", 0, AXL_OPT_U32, "N",
         "sockets per application channel, a multiple of 64 (default 4096)", &cfg.chan_socks,
         AXL_CHAN_SOCKS_MIN, AXL_CHAN_SOCKS_MAX},
        {"ring", 0, AXL_OPT_U32, "BYTES",
         "RX and TX ring bytes per application socket, a power of two (default 65536)",
         &cfg.chan_ring, AXL_CHAN_RING_MIN, AXL_CHAN_RING_MAX},
        {"queue", 0, AXL_OPT_U32, "N",
         "command and event queue entries per application, a power of two (default 4096)",
         &cfg.chan_queue, AXL_CHAN_QUEUE_MIN, AXL_CHAN_QUEUE_MAX},
        {"wake-quiet-us", 0, AXL_OPT_U32, "US",
         "wake a sleeping application once its news has been quiet this long (default 20; "
         "adapts down per application when waiting does not pay; 0 = at once)",
         &cfg.wake_quiet_us, 0, 10000},
        {"wake-hold-us", 0, AXL_OPT_U32, "US",
         "... but never hold news from a sleeping application longer than this (default 1000)",
         &cfg.wake_hold_us, 0, 100000},
        {"idle-spin-us", 0, AXL_OPT_U32, "US",
         "a replica with nothing to do polls this long before it sleeps (default 50; longer "
         "spares applications on other CPUs their bell writes, at the price of CPU)",
         &cfg.idle_spin_us, 0, 1000000},
        {"pool", 0, AXL_OPT_U32, "N", "packet buffers per queue (default 16384)", &cfg.pool_bufs,
         256, 1u << 22},
        {"buf-size", 0, AXL_OPT_U32, "B", "buffer size, 2048 or 4096 (jumbo: 16384 on tap/shm)",
         &cfg.buf_size, 2048, 16384},
        {"director", 0, AXL_OPT_FLAG, NULL,
         "a director process owns the (single-queue) device and steers frames to the replicas "
         "by the symmetric RSS hash (automatic with --replicas N > 1 on one queue)",
         &cfg.director},
        {"replicas", 'r', AXL_OPT_U32, "N",
         "replica processes, replica i owning queue i (default: one per port queue); with "
         "--scale-max, the replicas active at start",
         &cfg.replicas, 1, AXL_MAX_REPLICAS},
        {"scale-max", 0, AXL_OPT_U32, "M",
         "with the director: fork M replicas (M >= --replicas) of which --replicas N own the "
         "steering table at start; 'axlctl scale K' (1..M) changes the active count at run time "
         "(default M = N)",
         &cfg.scale_max, 1, AXL_MAX_REPLICAS},
        {"metrics", 0, AXL_OPT_STR, "unix:PATH|tcp:IP:PORT",
         "serve Prometheus text (HTTP GET /metrics) from the supervisor: the counters of "
         "'axlctl stats --prom' per replica plus replica state, restarts, load and connections; "
         "the tcp form listens on the kernel's stack (e.g. tcp:127.0.0.1:9100)",
         &cfg.metrics},
        {"ctl", 0, AXL_OPT_STR, "PATH",
         "control socket for axlctl (default: $" AXL_CTL_ENV " or " AXL_CTL_DEFAULT_PATH ")",
         &cfg.ctl_path},
        {"cpu", 0, AXL_OPT_U32, "N",
         "pin replica i to CPU N+i (default: the i-th CPU this process may use)", &cpu, 0, 4095},
        {"no-pin", 0, AXL_OPT_FLAG, NULL, "do not pin replicas to CPUs", &cfg.no_pin},
        {"heartbeat-timeout", 0, AXL_OPT_DOUBLE, "SEC",
         "kill and restart a replica whose heartbeat stalls this long (default 2)", &cfg.hb_timeout,
         0.2, 3600},
        {"start-timeout", 0, AXL_OPT_DOUBLE, "SEC",
         "kill a replica not ready this long after its start (default 10)", &cfg.start_timeout, 0.5,
         3600},
        {"restart-limit", 0, AXL_OPT_U32, "N",
         "give a replica up after more than N restarts within --restart-window (default 5)",
         &cfg.restart_limit, 0, 60},
        {"restart-window", 0, AXL_OPT_DOUBLE, "SEC", "crash-loop window (default 10)",
         &cfg.restart_window, 0.1, 86400},
        {"stats-out", 0, AXL_OPT_STR, "FILE",
         "write counters here on SIGUSR1 and at exit (default: stdout at exit)", &cfg.stats_out},
        {"seed", 0, AXL_OPT_U64, "N", "seed for randomised choices (default: random)", &cfg.seed},
        {"duration", 0, AXL_OPT_DOUBLE, "SEC", "stop by itself after SEC seconds (0 = never)",
         &cfg.duration, 0, 1e7},
        {"log-level", 0, AXL_OPT_LOGLEVEL, "LEVEL", "err, warn, info (default) or debug",
         &log_level},
        {0},
    };
    int first = axl_opts_parse(argc, argv, PROG, "--port SPEC --addr CIDR [options]",
                               "Runs the Axolotl user-space TCP/IP stack on a packet port: a "
                               "supervisor and one replica process per queue, restarted when "
                               "they crash or hang; axlctl talks to it over --ctl. Stops on "
                               "SIGINT/SIGTERM; SIGUSR1 writes the counters.",
                               opts);
    if (first < 0) return 2;
    if (first < argc) {
        fprintf(stderr, "%s: unexpected argument '%s' (try --help)\n", PROG, argv[first]);
        return 2;
    }
    if (!cfg.port) {
        fprintf(stderr, "%s: --port is required (try --help)\n", PROG);
        return 2;
    }
    if (!addr_str) {
        fprintf(stderr, "%s: --addr is required, e.g. --addr 198.18.0.2/24 (try --help)\n", PROG);
        return 2;
    }
    if (axl_parse_cidr(addr_str, &cfg.addr) < 0 || cfg.addr.prefix == 0 || cfg.addr.prefix > 32) {
        fprintf(stderr, "%s: --addr: '%s' is not an IPv4 address with a prefix 1..32\n", PROG,
                addr_str);
        return 2;
    }
    if (cfg.mac_str && axl_parse_mac(cfg.mac_str, cfg.mac) < 0) {
        fprintf(stderr, "%s: --mac: '%s' is not a MAC address aa:bb:cc:dd:ee:ff\n", PROG,
                cfg.mac_str);
        return 2;
    }
    for (uint32_t i = 0; i < cfg.necho; i++) {
        uint64_t p;
        if (axl_parse_u64(cfg.echo[i], &p) < 0 || p == 0 || p > 65535) {
            fprintf(stderr, "%s: --udp-echo: '%s' is not a port number 1..65535\n", PROG,
                    cfg.echo[i]);
            return 2;
        }
        cfg.echo_port[i] = (uint16_t)p;
    }
    for (uint32_t i = 0; i < cfg.ntcp_echo; i++) {
        uint64_t p;
        if (axl_parse_u64(cfg.tcp_echo[i], &p) < 0 || p == 0 || p > 65535) {
            fprintf(stderr, "%s: --tcp-echo: '%s' is not a port number 1..65535\n", PROG,
                    cfg.tcp_echo[i]);
            return 2;
        }
        cfg.tcp_echo_port[i] = (uint16_t)p;
    }
    if (!cfg.seed) { /* a seeded stack keeps its reproducible secrets */
        char note[256];
        cfg.tcp_secret_kept = axl_tcp_secret_default(&cfg.tcp_secret, note, sizeof(note));
        if (cfg.tcp_secret_kept)
            axl_info("stackd", "%s", note);
        else
            axl_warn("stackd", "%s", note);
    }
    struct axl_chan_params cp;
    struct axl_chan_layout cl;
    axl_chan_params_default(&cp);
    if (cfg.chan_socks) cp.max_socks = cfg.chan_socks;
    if (cfg.chan_ring) cp.rx_size = cp.tx_size = cfg.chan_ring;
    if (cfg.chan_queue) cp.evq_slots = cp.cmdq_slots = cfg.chan_queue;
    if (axl_chan_layout(&cp, &cl) < 0) {
        fprintf(stderr,
                "%s: --socks %u --ring %u --queue %u: not a channel size (sockets a multiple of "
                "64, ring and queue sizes powers of two, sockets x ring at most %llu bytes)\n",
                PROG, cp.max_socks, cp.rx_size, cp.evq_slots,
                (unsigned long long)AXL_CHAN_REGION_MAX);
        return 2;
    }
    if (!axl_is_pow2(cfg.buf_size)) {
        fprintf(stderr, "%s: --buf-size: %u is not a power of two\n", PROG, cfg.buf_size);
        return 2;
    }
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--cpu") || !strncmp(argv[i], "--cpu=", 6)) pin = 1;
    cfg.cpu = pin ? (int)cpu : -1;

    struct axl_port_cfg pcfg;
    char err[256];
    memset(&pcfg, 0, sizeof(pcfg));
    if (axl_port_parse_spec(cfg.port, &pcfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s: --port: %s\n", PROG, err);
        return 2;
    }
    if (cfg.mtu) pcfg.mtu = cfg.mtu;

    if (cfg.replicas > pcfg.nqueues && pcfg.nqueues > 1) { /* one queue: the director (director.h) */
        fprintf(stderr,
                "%s: --replicas %u: the port has %u queue%s (each replica owns one; give the "
                "port more, e.g. afxdp:IF:%u)\n",
                PROG, cfg.replicas, pcfg.nqueues, pcfg.nqueues == 1 ? "" : "s", cfg.replicas);
        return 2;
    }
    if (cfg.replicas > AXL_MAX_REPLICAS || (!cfg.replicas && pcfg.nqueues > AXL_MAX_REPLICAS)) {
        fprintf(stderr, "%s: at most %d replicas\n", PROG, AXL_MAX_REPLICAS);
        return 2;
    }
    if (cfg.scale_max) {
        uint32_t n = cfg.replicas ? cfg.replicas : pcfg.nqueues;
        if (!cfg.director) {
            fprintf(stderr,
                    "%s: --scale-max needs --director (a single-queue device the director "
                    "steers; a multi-queue device's queues are steered by the NIC's RSS table)\n",
                    PROG);
            return 2;
        }
        if (cfg.scale_max < n) {
            fprintf(stderr, "%s: --scale-max %u is below --replicas %u\n", PROG, cfg.scale_max, n);
            return 2;
        }
        if (cfg.scale_max >= AXL_MAX_REPLICAS) {
            fprintf(stderr, "%s: --scale-max: at most %d replicas with the director\n", PROG,
                    AXL_MAX_REPLICAS - 1);
            return 2;
        }
    }
    if (!cfg.ctl_path) {
        const char *env = getenv(AXL_CTL_ENV);
        cfg.ctl_path = env && *env ? env : AXL_CTL_DEFAULT_PATH;
    }
    return supervisor_run(&cfg, &pcfg);
}
