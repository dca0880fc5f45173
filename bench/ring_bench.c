/* SPDX-License-Identifier: MIT */
/*
 * ring_bench.c - throughput and latency of the SPSC ring (core/ring.h)
 * between two processes, the way replicas and applications use it.
 *
 * The rings live in one MAP_SHARED|MAP_ANONYMOUS region created before fork;
 * the parent produces (pinned to --prod-cpu, default 0), the child consumes
 * (pinned to --cons-cpu, default 1). Entries are 64 bytes (one cache line):
 * the producer writes all eight words, the consumer reads and checks them
 * (sequence number and a check word), so a torn or lost entry is an error.
 *
 *   throughput, batch B: reserve/peek up to B entries per call for about
 *     --duration seconds; rate = entries / (consumer finish - producer start).
 *   ping-pong: one entry over ring A, echoed back over ring B, repeated for
 *     about --duration seconds; mean round trip = elapsed / round trips.
 *
 * On a virtual machine the two vCPUs may land on SMT siblings, different
 * cores or different core complexes from run to run, which moves these
 * figures by several times; --repeat N reports the median and the range.
 *
 * Both sides busy-poll (that is the active phase being measured). A child
 * that dies takes the run down with an error; the child is killed if the
 * parent dies (PR_SET_PDEATHSIG). Output is one table on stdout.
 */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/compiler.h"
#include "core/opts.h"
#include "core/ring.h"

#define PROG      "ring_bench"
#define ESIZE     64u
#define CHECK_MUL 0x9e3779b97f4a7c15ull
#define PING_STOP UINT64_MAX
/* A side that waits this long past the planned end gives up. */
#define STALL_NS (10 * AXL_NS_PER_S)

struct ctl {
    alignas(AXL_CACHELINE) _Atomic uint32_t ready;    /* (child) consumer attached */
    alignas(AXL_CACHELINE) _Atomic uint32_t done;     /* (parent) producer finished */
    _Atomic uint64_t total;                           /* (parent) entries produced */
    alignas(AXL_CACHELINE) _Atomic uint64_t consumed; /* (child) results */
    _Atomic uint64_t errors;
    _Atomic uint64_t end_ns;
};

struct bench {
    double duration;
    uint32_t slots;
    uint32_t prod_cpu, cons_cpu;
    uint32_t repeat;
    int no_pin;
    int pinned;
    uint8_t *region;
    size_t region_len, ring_len;
};

/* Busy-wait step. Unpinned, both sides may share one CPU: then give it up,
 * or each wait lasts a scheduler time slice. */
static inline void cpu_relax(const struct bench *b)
{
    if (!b->pinned) {
        sched_yield();
        return;
    }
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static struct ctl *bench_ctl(struct bench *b)
{
    return (struct ctl *)(void *)b->region;
}
static struct axl_ring_shared *bench_ring(struct bench *b, int which)
{
    return (struct axl_ring_shared *)(void *)(b->region + 4096 + (size_t)which * b->ring_len);
}

static int pin_to(uint32_t cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof(set), &set);
}

static void bench_reset(struct bench *b)
{
    memset(b->region, 0, b->region_len); /* also pre-faults every page */
    axl_ring_shared_init(bench_ring(b, 0));
    axl_ring_shared_init(bench_ring(b, 1));
}

static inline void entry_write(uint64_t *e, uint64_t seq)
{
    for (int w = 0; w < 7; w++)
        e[w] = seq + (uint64_t)w;
    e[7] = seq * CHECK_MUL;
}

static inline int entry_check(const uint64_t *e, uint64_t seq)
{
    uint64_t acc = 0;
    for (int w = 0; w < 7; w++)
        acc |= e[w] ^ (seq + (uint64_t)w);
    return acc == 0 && e[7] == seq * CHECK_MUL;
}

/* --- the child side --------------------------------------------------------- */

static void child_consume(struct bench *b, uint32_t batch)
{
    struct ctl *c = bench_ctl(b);
    struct axl_ring_cons r;
    axl_ring_cons_attach(&r, bench_ring(b, 0), b->slots, ESIZE);
    atomic_store_explicit(&c->ready, 1, memory_order_release);
    uint64_t seq = 0, errors = 0;
    for (;;) { /* hot loop */
        uint32_t idx, n = axl_ring_cons__peek(&r, batch, &idx);
        if (!n) {
            if (atomic_load_explicit(&c->done, memory_order_acquire) &&
                seq == atomic_load_explicit(&c->total, memory_order_relaxed) &&
                axl_ring_cons__peek(&r, 1, &idx) == 0)
                break;
            cpu_relax(b);
            continue;
        }
        for (uint32_t i = 0; i < n; i++)
            errors += !entry_check(axl_ring_cons__entry(&r, idx + i), seq++);
        axl_ring_cons__release(&r, n);
    }
    atomic_store(&c->end_ns, axl_clock_ns());
    atomic_store(&c->errors, errors);
    atomic_store(&c->consumed, seq);
}

static void child_echo(struct bench *b)
{
    struct ctl *c = bench_ctl(b);
    struct axl_ring_cons in;
    struct axl_ring_prod out;
    axl_ring_cons_attach(&in, bench_ring(b, 0), b->slots, ESIZE);
    axl_ring_prod_attach(&out, bench_ring(b, 1), b->slots, ESIZE);
    atomic_store_explicit(&c->ready, 1, memory_order_release);
    uint64_t n = 0;
    for (;;) {
        uint32_t idx, o;
        if (!axl_ring_cons__peek(&in, 1, &idx)) {
            cpu_relax(b);
            continue;
        }
        uint64_t seq = *(const uint64_t *)axl_ring_cons__entry(&in, idx);
        axl_ring_cons__release(&in, 1);
        if (seq == PING_STOP) break;
        while (!axl_ring_prod__reserve(&out, 1, &o))
            cpu_relax(b);
        *(uint64_t *)axl_ring_prod__entry(&out, o) = seq;
        axl_ring_prod__submit(&out, 1);
        n++;
    }
    atomic_store(&c->consumed, n);
}

/* Fork the child running `role` (0: consumer with batch, 1: echo). */
static pid_t spawn(struct bench *b, int role, uint32_t batch)
{
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid != 0) return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    if (b->pinned && pin_to(b->cons_cpu) != 0) _exit(1);
    if (role == 0)
        child_consume(b, batch);
    else
        child_echo(b);
    _exit(0);
}

/* Wait for the child to attach; 0, or -1 if it died or stalled. */
static int wait_ready(struct bench *b, pid_t pid)
{
    uint64_t t0 = axl_clock_ns();
    while (!atomic_load_explicit(&bench_ctl(b)->ready, memory_order_acquire)) {
        if (axl_clock_ns() - t0 > STALL_NS || waitpid(pid, NULL, WNOHANG) == pid) return -1;
        usleep(100);
    }
    return 0;
}

static int reap(pid_t pid, int kill_it)
{
    int st = 0;
    if (kill_it) kill(pid, SIGKILL);
    if (waitpid(pid, &st, 0) != pid) return -1;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* --- the parent side -------------------------------------------------------- */

struct result {
    uint64_t count;
    double seconds;
};

static int run_throughput(struct bench *b, uint32_t batch, struct result *res)
{
    bench_reset(b);
    struct ctl *c = bench_ctl(b);
    pid_t pid = spawn(b, 0, batch);
    if (pid < 0) return -1;
    if (wait_ready(b, pid) < 0) {
        reap(pid, 1);
        return -1;
    }
    struct axl_ring_prod r;
    axl_ring_prod_attach(&r, bench_ring(b, 0), b->slots, ESIZE);
    const uint64_t len_ns = (uint64_t)(b->duration * 1e9);
    uint64_t seq = 0, spins = 0;
    uint64_t t0 = axl_clock_ns(), stop = t0 + len_ns;
    for (;;) { /* hot loop */
        uint32_t idx, n = axl_ring_prod__reserve(&r, batch, &idx);
        if (!n) {
            if ((++spins & 0xffff) == 0 && axl_clock_ns() > stop + STALL_NS)
                break; /* the consumer stopped consuming */
            cpu_relax(b);
            continue;
        }
        for (uint32_t i = 0; i < n; i++)
            entry_write(axl_ring_prod__entry(&r, idx + i), seq++);
        axl_ring_prod__submit(&r, n);
        if ((seq & 4095) < n && axl_clock_ns() >= stop) break;
    }
    atomic_store_explicit(&c->total, seq, memory_order_relaxed);
    atomic_store_explicit(&c->done, 1, memory_order_release);
    if (reap(pid, 0) < 0) return -1;
    uint64_t got = atomic_load(&c->consumed), errors = atomic_load(&c->errors);
    if (got != seq || errors) {
        fprintf(stderr,
                "%s: batch %u: produced %" PRIu64 ", consumed %" PRIu64 ", %" PRIu64
                " bad entries\n",
                PROG, batch, seq, got, errors);
        return -1;
    }
    res->count = seq;
    res->seconds = (double)(atomic_load(&c->end_ns) - t0) / 1e9;
    return 0;
}

static int run_pingpong(struct bench *b, struct result *res)
{
    bench_reset(b);
    struct ctl *c = bench_ctl(b);
    pid_t pid = spawn(b, 1, 1);
    if (pid < 0) return -1;
    if (wait_ready(b, pid) < 0) {
        reap(pid, 1);
        return -1;
    }
    struct axl_ring_prod out;
    struct axl_ring_cons in;
    axl_ring_prod_attach(&out, bench_ring(b, 0), b->slots, ESIZE);
    axl_ring_cons_attach(&in, bench_ring(b, 1), b->slots, ESIZE);
    const uint64_t len_ns = (uint64_t)(b->duration * 1e9);
    uint64_t n = 0, bad = 0, t0 = axl_clock_ns(), now = t0;
    int stalled = 0;
    while (now - t0 < len_ns && !stalled) {
        for (int k = 0; k < 256; k++, n++) { /* hot loop: one round trip each */
            uint32_t idx;
            while (!axl_ring_prod__reserve(&out, 1, &idx))
                cpu_relax(b);
            *(uint64_t *)axl_ring_prod__entry(&out, idx) = n;
            axl_ring_prod__submit(&out, 1);
            uint64_t spins = 0;
            while (!axl_ring_cons__peek(&in, 1, &idx)) {
                if ((++spins & 0xfffff) == 0 && axl_clock_ns() - t0 > len_ns + STALL_NS) {
                    stalled = 1;
                    break;
                }
                cpu_relax(b);
            }
            if (stalled) break;
            bad += *(const uint64_t *)axl_ring_cons__entry(&in, idx) != n;
            axl_ring_cons__release(&in, 1);
        }
        now = axl_clock_ns();
    }
    if (stalled) {
        reap(pid, 1);
        fprintf(stderr, "%s: ping-pong: the echo process stopped answering\n", PROG);
        return -1;
    }
    uint32_t idx;
    while (!axl_ring_prod__reserve(&out, 1, &idx))
        cpu_relax(b);
    *(uint64_t *)axl_ring_prod__entry(&out, idx) = PING_STOP;
    axl_ring_prod__submit(&out, 1);
    if (reap(pid, 0) < 0) return -1;
    if (bad || atomic_load(&c->consumed) != n) {
        fprintf(stderr, "%s: ping-pong: %" PRIu64 " wrong replies\n", PROG, bad);
        return -1;
    }
    res->count = n;
    res->seconds = (double)(now - t0) / 1e9;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    struct bench b = {.duration = 1.0, .slots = 1024, .prod_cpu = 0, .cons_cpu = 1, .repeat = 1};
    const struct axl_opt opts[] = {
        {"duration", 'd', AXL_OPT_DOUBLE, "SEC", "length of each test (default 1)", &b.duration,
         0.01, 60},
        {"slots", 's', AXL_OPT_U32, "N", "ring size in entries, a power of two (default 1024)",
         &b.slots, 64, 1u << 20},
        {"prod-cpu", 0, AXL_OPT_U32, "CPU", "producer's CPU (default 0)", &b.prod_cpu, 0, 4095},
        {"cons-cpu", 0, AXL_OPT_U32, "CPU", "consumer's CPU (default 1)", &b.cons_cpu, 0, 4095},
        {"repeat", 'r', AXL_OPT_U32, "N",
         "runs of each test; the table shows median, min, max "
         "(default 1)",
         &b.repeat, 1, 1000},
        {"no-pin", 0, AXL_OPT_FLAG, NULL, "do not pin the two processes", &b.no_pin},
        {0},
    };
    int first = axl_opts_parse(argc, argv, PROG, "[OPTIONS]",
                               "Measures the SPSC ring between two processes: entries per "
                               "second at batch 1 and 32, and the ping-pong round-trip time.",
                               opts);
    if (first < 0) return 2;
    if (first < argc) {
        fprintf(stderr, "%s: unexpected argument '%s' (try --help)\n", PROG, argv[first]);
        return 2;
    }
    if (!axl_is_pow2(b.slots)) {
        fprintf(stderr, "%s: --slots: %u is not a power of two\n", PROG, b.slots);
        return 2;
    }

    b.pinned = 0;
    if (!b.no_pin) {
        cpu_set_t set;
        if (sched_getaffinity(0, sizeof(set), &set) == 0 && b.prod_cpu < CPU_SETSIZE &&
            b.cons_cpu < CPU_SETSIZE && CPU_ISSET(b.prod_cpu, &set) &&
            CPU_ISSET(b.cons_cpu, &set) && b.prod_cpu != b.cons_cpu)
            b.pinned = 1;
        else
            fprintf(stderr, "%s: CPUs %u and %u are not both available: running unpinned\n", PROG,
                    b.prod_cpu, b.cons_cpu);
    }

    b.ring_len = (axl_ring_bytes(b.slots, ESIZE) + 4095) & ~(size_t)4095;
    b.region_len = 4096 + 2 * b.ring_len;
    b.region = mmap(NULL, b.region_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (b.region == MAP_FAILED) {
        fprintf(stderr, "%s: mmap: %s\n", PROG, strerror(errno));
        return 1;
    }
    if (b.pinned && pin_to(b.prod_cpu) != 0) {
        fprintf(stderr, "%s: sched_setaffinity: %s\n", PROG, strerror(errno));
        munmap(b.region, b.region_len);
        return 1;
    }

    if (b.pinned)
        printf("%s: SPSC ring, %u-byte entries, %u slots, producer CPU %u, consumer CPU %u, "
               "%.2g s per run\n",
               PROG, ESIZE, b.slots, b.prod_cpu, b.cons_cpu, b.duration);
    else
        printf("%s: SPSC ring, %u-byte entries, %u slots, unpinned, %.2g s per run\n", PROG, ESIZE,
               b.slots, b.duration);
    printf("%-21s %5s %4s %12s %10s %10s %10s\n", "test", "batch", "runs", "entries/run", "median",
           "min", "max");
    fflush(stdout);

    /* Three tests: throughput at batch 1 and 32 (M entries/s), then the
     * ping-pong round trip (ns). Each is run --repeat times. */
    int rc = 0;
    double *vals = calloc(b.repeat, sizeof(*vals));
    if (!vals) {
        munmap(b.region, b.region_len);
        return 1;
    }
    static const uint32_t batches[] = {1, 32, 0};
    for (unsigned t = 0; t < AXL_ARRAY_SIZE(batches) && rc == 0; t++) {
        uint64_t entries = 0;
        for (uint32_t k = 0; k < b.repeat && rc == 0; k++) {
            struct result res;
            if (batches[t] ? run_throughput(&b, batches[t], &res) < 0
                           : run_pingpong(&b, &res) < 0) {
                rc = 1;
                break;
            }
            entries += res.count;
            vals[k] = batches[t] ? (double)res.count / res.seconds / 1e6
                                 : res.seconds * 1e9 / (double)res.count;
        }
        if (rc) break;
        qsort(vals, b.repeat, sizeof(*vals), cmp_double);
        const char *unit = batches[t] ? "M/s" : "ns";
        double med =
            b.repeat % 2 ? vals[b.repeat / 2] : (vals[b.repeat / 2 - 1] + vals[b.repeat / 2]) / 2;
        printf("%-21s %5u %4u %12" PRIu64 " %6.1f %-3s %6.1f %-3s %6.1f %s\n",
               batches[t] ? "throughput" : "ping-pong round trip", batches[t] ? batches[t] : 1,
               b.repeat, entries / b.repeat, med, unit, vals[0], unit, vals[b.repeat - 1], unit);
        fflush(stdout);
    }
    free(vals);
    munmap(b.region, b.region_len);
    if (rc) fprintf(stderr, "%s: failed\n", PROG);
    return rc;
}
