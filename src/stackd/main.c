/* SPDX-License-Identifier: MIT */
/*
 * axl-stackd - the Axolotl stack as a process a user runs.
 *
 *   axl-stackd --port afxdp:veth0 --addr 198.18.0.2/24 [--gw 198.18.0.1]
 *
 * Role and call chain:
 *   main -> parse flags -> axl_port_dev_setup (once per device: XDP program,
 *   TAP device) -> one engine per port queue:
 *       queue 0 runs in this process; queues 1..N-1 each in a forked child
 *       (one single-threaded engine per queue, nothing shared between them;
 *       the service issue grows these into supervised replicas)
 *   engine: axl_pool_init -> axl_port_open -> axl_stack_create ->
 *           axl_stack_run (spins while busy, sleeps when idle)
 *   SIGINT/SIGTERM: stop, dump counters, close the port, tear the device
 *   down (detaches XDP, removes a TAP we created); SIGUSR1: dump counters.
 *
 * Built-in services for the demo and tests: --udp-echo PORT (RFC 862 over UDP).
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/opts.h"
#include "core/pool.h"
#include "net/stack.h"
#include "port/port.h"

#define PROG "axl-stackd"
#define MAX_ECHO 16

struct stackd_cfg {
    const char *port;
    struct axl_cidr addr;
    int has_addr;
    uint32_t gw;
    uint32_t mtu;
    uint8_t mac[6];
    const char *mac_str;
    const char *echo[MAX_ECHO];
    uint16_t echo_port[MAX_ECHO];
    uint32_t necho;
    uint32_t pool_bufs;
    uint32_t buf_size;
    const char *stats_out;
    int cpu;
    const char *cpu_str;
    uint64_t seed;
    int log_level;
    double duration;
};

/* Set only by signal handlers; read by the loop (sig_atomic_t, not packet state). */
static volatile sig_atomic_t g_stop, g_term, g_dump;
/* The per-queue engine processes this (parent) process forked; set-up state,
 * read by the SIGUSR1 handler to pass the request on. Empty in children. */
static pid_t g_kids[64];
static volatile sig_atomic_t g_nkids;

static void on_term(int sig)
{
    (void)sig;
    g_term = 1;
    g_stop = 1;
}
static void on_usr1(int sig)
{
    for (sig_atomic_t i = 0; i < g_nkids; i++)
        kill(g_kids[i], sig); /* async-signal-safe */
    g_dump = 1;
    g_stop = 1;
}
static void on_alarm(int sig)
{
    (void)sig;
    g_term = 1;
    g_stop = 1;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_term;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static void echo_cb(struct axl_udp_sock *us, const uint8_t *data, uint32_t len, uint32_t saddr,
                    uint16_t sport, void *arg)
{
    struct axl_stack *s = arg;
    int rc = axl_udp_sendto(s, us, data, len, saddr, sport);
    if (rc < 0)
        axl_debug("stackd", "udp echo reply failed: %s", axl_strerror(rc));
}

static void dump_stats(struct axl_stack *s, const struct stackd_cfg *cfg, uint32_t queue)
{
    char prefix[32];
    snprintf(prefix, sizeof(prefix), "q%u ", queue);
    if (!cfg->stats_out) {
        axl_stack_stats_dump(s, stdout, prefix);
        fflush(stdout);
        return;
    }
    char path[4096], tmp[4200];
    if (queue == 0)
        snprintf(path, sizeof(path), "%s", cfg->stats_out);
    else
        snprintf(path, sizeof(path), "%s.q%u", cfg->stats_out, queue);
    snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        axl_err("stackd", "cannot write %s: %s", tmp, strerror(errno));
        return;
    }
    axl_stack_stats_dump(s, f, prefix);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        axl_err("stackd", "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
    }
}

static void pin_cpu(int cpu)
{
    if (cpu < 0)
        return;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET((int)(cpu % (n > 0 ? n : 1)), &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0)
        axl_warn("stackd", "cannot pin to CPU %d: %s", cpu, strerror(errno));
}

/* One engine on one queue; returns a process exit status. */
static int run_engine(const struct stackd_cfg *cfg, const struct axl_port_cfg *pcfg_in,
                      uint32_t queue)
{
    struct axl_pool pool;
    struct axl_port port;
    struct axl_port_cfg pcfg = *pcfg_in;
    struct axl_stack *s = NULL;
    struct axl_udp_sock *socks[MAX_ECHO];
    uint32_t nsocks = 0;
    int rc, status = 1;

    pin_cpu(cfg->cpu >= 0 ? cfg->cpu + (int)queue : -1);
    rc = axl_pool_init(&pool, cfg->pool_bufs, cfg->buf_size, AXL_POOL_HEADROOM);
    if (rc < 0) {
        fprintf(stderr, "%s: cannot create a pool of %u x %u B buffers: %s\n", PROG,
                cfg->pool_bufs, cfg->buf_size, axl_strerror(rc));
        return 1;
    }
    pcfg.pool = &pool;
    pcfg.queue = queue;
    memset(&port, 0, sizeof(port));
    rc = axl_port_open(&port, &pcfg);
    if (rc < 0) {
        fprintf(stderr, "%s: cannot open port %s (queue %u): %s\n", PROG, cfg->port, queue,
                axl_strerror(rc));
        goto out_pool;
    }

    struct axl_stack_cfg scfg;
    memset(&scfg, 0, sizeof(scfg));
    scfg.addr = cfg->addr;
    scfg.gw = cfg->gw;
    scfg.mtu = cfg->mtu;
    if (cfg->mac_str) {
        memcpy(scfg.mac, cfg->mac, 6);
        scfg.has_mac = 1;
    }
    scfg.seed = cfg->seed ? cfg->seed + queue : 0;
    s = axl_stack_create(&scfg, &port, &pool, axl_clock_ns());
    if (!s) {
        fprintf(stderr, "%s: cannot start the stack on %s\n", PROG, cfg->port);
        goto out_port;
    }
    for (uint32_t i = 0; i < cfg->necho; i++) {
        rc = axl_udp_bind(s, cfg->echo_port[i], echo_cb, s, &socks[nsocks]);
        if (rc < 0) {
            fprintf(stderr, "%s: --udp-echo %s: %s\n", PROG, cfg->echo[i], axl_strerror(rc));
            goto out_stack;
        }
        nsocks++;
    }

    char ab[16];
    axl_info("stackd", "ready: %s queue %u, %s/%u, %u buffers%s", cfg->port, queue,
             axl_fmt_ipv4(cfg->addr.addr, ab), cfg->addr.prefix, cfg->pool_bufs,
             pool.hugepages ? " (hugepages)" : "");
    for (;;) {
        rc = axl_stack_run(s, &g_stop);
        g_stop = 0;
        if (rc < 0) {
            fprintf(stderr, "%s: engine stopped: %s\n", PROG, axl_strerror(rc));
            break;
        }
        if (g_dump) {
            g_dump = 0;
            dump_stats(s, cfg, queue);
        }
        if (g_term) {
            status = 0;
            break;
        }
    }
    dump_stats(s, cfg, queue);

out_stack:
    for (uint32_t i = 0; i < nsocks; i++)
        axl_udp_close(s, socks[i]);
    axl_stack_destroy(s);
out_port:
    axl_port_close(&port);
out_pool:
    axl_pool_fini(&pool);
    return status;
}

int main(int argc, char **argv)
{
    struct stackd_cfg cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.pool_bufs = 16384;
    cfg.buf_size = 2048;
    cfg.cpu_str = NULL;
    cfg.log_level = AXL_LOG_INFO;
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
         cfg.echo, 0, MAX_ECHO, &cfg.necho},
        {"pool", 0, AXL_OPT_U32, "N", "packet buffers per queue (default 16384)", &cfg.pool_bufs,
         256, 1u << 22},
        {"buf-size", 0, AXL_OPT_U32, "B", "buffer size, 2048 or 4096 (jumbo: 16384 on tap/shm)",
         &cfg.buf_size, 2048, 16384},
        {"cpu", 0, AXL_OPT_U32, "N", "pin queue q's engine to CPU N+q", &cpu, 0, 4095},
        {"stats-out", 0, AXL_OPT_STR, "FILE",
         "write counters here on SIGUSR1 and at exit (default: stdout at exit)", &cfg.stats_out},
        {"seed", 0, AXL_OPT_U64, "N", "seed for randomised choices (default: random)",
         &cfg.seed},
        {"duration", 0, AXL_OPT_DOUBLE, "SEC", "stop by itself after SEC seconds (0 = never)",
         &cfg.duration, 0, 1e7},
        {"log-level", 0, AXL_OPT_LOGLEVEL, "LEVEL", "err, warn, info (default) or debug",
         &cfg.log_level},
        {0},
    };
    int first = axl_opts_parse(argc, argv, PROG, "--port SPEC --addr CIDR [options]",
                               "Runs the Axolotl user-space TCP/IP stack on a packet port. "
                               "Stops on SIGINT/SIGTERM; SIGUSR1 writes the counters.",
                               opts);
    if (first < 0)
        return 2;
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
    if (axl_parse_cidr(addr_str, &cfg.addr) < 0 || cfg.addr.prefix == 0 ||
        cfg.addr.prefix > 32) {
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
    if (!axl_is_pow2(cfg.buf_size)) {
        fprintf(stderr, "%s: --buf-size: %u is not a power of two\n", PROG, cfg.buf_size);
        return 2;
    }
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--cpu") || !strncmp(argv[i], "--cpu=", 6))
            pin = 1;
    cfg.cpu = pin ? (int)cpu : -1;

    struct axl_port_cfg pcfg;
    char err[256];
    memset(&pcfg, 0, sizeof(pcfg));
    if (axl_port_parse_spec(cfg.port, &pcfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s: --port: %s\n", PROG, err);
        return 2;
    }
    if (cfg.mtu)
        pcfg.mtu = cfg.mtu;

    install_signals();
    if (cfg.duration > 0) {
        struct itimerval it = {0};
        it.it_value.tv_sec = (time_t)cfg.duration;
        it.it_value.tv_usec = (suseconds_t)((cfg.duration - (double)(time_t)cfg.duration) * 1e6);
        if (it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0)
            it.it_value.tv_usec = 1;
        setitimer(ITIMER_REAL, &it, NULL);
    }

    int rc = axl_port_dev_setup(&pcfg);
    if (rc < 0) {
        fprintf(stderr, "%s: cannot set up %s: %s\n", PROG, cfg.port, axl_strerror(rc));
        return 1;
    }

    /* Queues 1..N-1: one engine process each. */
    for (uint32_t q = 1; q < pcfg.nqueues; q++) {
        pid_t pid = fork();
        if (pid < 0) {
            fprintf(stderr, "%s: fork: %s\n", PROG, strerror(errno));
            g_term = g_stop = 1;
            break;
        }
        if (pid == 0) {
            g_nkids = 0;
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            _exit(run_engine(&cfg, &pcfg, q));
        }
        g_kids[g_nkids] = pid;
        g_nkids = g_nkids + 1;
    }

    int status = g_term ? 1 : run_engine(&cfg, &pcfg, 0);
    for (sig_atomic_t i = 0; i < g_nkids; i++)
        kill(g_kids[i], SIGTERM);
    for (sig_atomic_t i = 0; i < g_nkids; i++) {
        int ws;
        while (waitpid(g_kids[i], &ws, 0) < 0 && errno == EINTR)
            ;
        if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
            status = 1;
    }
    axl_port_dev_teardown(&pcfg);
    return status;
}
