/* SPDX-License-Identifier: MIT */
/*
 * test_chan_proc.c - the channel between two processes, as it will run: the
 * parent plays the replica (creates the channel after the fork, hands it over
 * with SCM_RIGHTS, serves it), the child plays the application (receives the
 * hello, maps, works). Covers:
 *   - commands and completions, and 100 pre-mapped NEW_CONN sockets accepted
 *     without a new mapping (through an event queue smaller than that: the
 *     stack retries, never blocks);
 *   - 64 MiB each way through one socket's TX and RX byte rings, byte-exact,
 *     batched, with the doorbell protocol (wake-ups counted);
 *   - ping-pong where both sides sleep at once whenever idle: every round
 *     trip needs a wake-up and none may be lost (no sleep ends by timeout);
 *   - futex_waitv over several channels;
 *   - registered memory: hand-over of a sealed memfd, SEND|REG validated and
 *     read zero-copy by the stack, DATA_ACKED back; an unsealed memfd refused.
 * Children report failure as a non-zero exit code (the line that failed).
 */
#include "test_chan_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "core/clock.h"

#define CHILD_CHECK(cond)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "child: %s:%d: %s\n", __FILE__, __LINE__, #cond);                      \
            _exit(__LINE__ % 250 + 2);                                                             \
        }                                                                                          \
    } while (0)

struct proc {
    int sv[2];
    pid_t pid;
};

/* Fork before any channel exists: the child holds only its socket end. */
static void proc_start(struct proc *p, int (*child)(int sock, void *arg), void *arg)
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p->sv), 0);
    p->pid = fork();
    assert_true(p->pid >= 0);
    if (p->pid == 0) {
        close(p->sv[0]);
        _exit(child(p->sv[1], arg));
    }
    close(p->sv[1]);
}

static int proc_finish(struct proc *p)
{
    int rc = chan_wait_child(p->pid);
    close(p->sv[0]);
    return rc;
}

/* Child: receive a hello and map the channel; the fds are closed after. */
static void child_attach(int sock, struct axl_chan_app *a)
{
    struct axl_chan_hello h;
    int fds[2];
    CHILD_CHECK(axl_chan_recv_hello(sock, &h, fds) == 0);
    CHILD_CHECK(axl_chan_map_app(a, &h, fds) == 0);
    close(fds[0]);
    close(fds[1]);
}

/* Child: next valid event, sleeping while there is none (<= 5 s). */
static int child_event(struct axl_chan_app *a, struct axl_chan_event *e)
{
    unsigned v;
    uint64_t end = axl_clock_ns() + 5 * AXL_NS_PER_S;
    uint32_t ids[64];
    while (axl_clock_ns() < end) {
        int r = axl_chan_app_poll_event(a, e, &v);
        CHILD_CHECK(r >= 0);
        if (r == 1) return 1;
        axl_chan_app_scan(a, ids, 64);
        axl_chan_app_sleep(a, 100 * AXL_NS_PER_MS);
    }
    return 0;
}

static void parent_hello(int sock, struct axl_chan_stk *ch)
{
    assert_int_equal(axl_chan_send_hello(sock, ch), 0);
    axl_chan_stk_drop_fds(ch);
}

static struct axl_chan_event done_ev(const struct axl_chan_cmd *c, uint32_t sock, uint32_t gen)
{
    struct axl_chan_event e;
    memset(&e, 0, sizeof(e));
    e.type = AXL_CHAN_EV_DONE;
    e.sock = sock;
    e.gen = gen;
    e.cookie = c->cookie;
    e.arg = c->op;
    return e;
}

/* Pin the calling process to one CPU (if there is more than one): with both
 * sides polling, the scheduler must not stack them on one core. Returns 1 if
 * pinned; *old gets the previous mask. */
static int pin_cpu(int cpu, cpu_set_t *old)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(*old), old) < 0 || CPU_COUNT(old) < 2) return 0;
    int n = -1;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, old) && ++n == cpu) {
            CPU_ZERO(&set);
            CPU_SET(c, &set);
            return sched_setaffinity(0, sizeof(set), &set) == 0;
        }
    return 0;
}

static int maps_count(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    int n = 0, ch;
    if (!f) return -1;
    while ((ch = fgetc(f)) != EOF)
        n += ch == '\n';
    fclose(f);
    return n;
}

/* ------------------------------------------------------------------------ */
/* commands, completions, pre-mapped accept                                  */

#define NCONN 100

static int child_cmds(int sock, void *arg)
{
    (void)arg;
    struct axl_chan_app a;
    struct axl_chan_event e;
    struct axl_chan_asock s, acc[NCONN];
    struct axl_cspan cs[2];
    child_attach(sock, &a);

    struct axl_chan_cmd c;
    memset(&c, 0, sizeof(c));
    c.op = AXL_CHAN_OP_OPEN;
    c.sock = AXL_CHAN_SOCK_NONE;
    c.arg = AXL_CHAN_PROTO_TCP;
    c.cookie = 1;
    CHILD_CHECK(axl_chan_app_submit(&a, &c, 1) == 1);
    axl_chan_app_kick(&a);
    CHILD_CHECK(child_event(&a, &e));
    CHILD_CHECK(e.type == AXL_CHAN_EV_DONE && e.cookie == 1 && e.status == 0);
    CHILD_CHECK(axl_chan_app_sock(&a, e.sock, e.gen, &s) == 0);

    /* One batch of commands, one kick; completions in order. */
    struct axl_chan_cmd b[8];
    uint16_t ops[8] = {AXL_CHAN_OP_BIND,     AXL_CHAN_OP_SETOPT,    AXL_CHAN_OP_LISTEN,
                       AXL_CHAN_OP_SEND,     AXL_CHAN_OP_RECV_DONE, AXL_CHAN_OP_SEND,
                       AXL_CHAN_OP_SHUTDOWN, AXL_CHAN_OP_CLOSE};
    memset(b, 0, sizeof(b));
    for (int i = 0; i < 8; i++) {
        b[i].op = ops[i];
        b[i].sock = s.id;
        b[i].gen = s.gen;
        b[i].cookie = 100 + (uint64_t)i;
    }
    b[0].family = AXL_CHAN_AF_INET;
    b[0].port = 0x5000;
    b[1].arg = AXL_CHAN_OPT_NODELAY;
    b[1].len = 1;
    b[2].arg = 16;
    b[3].len = 10;
    b[4].len = 10;
    b[5].len = 7;
    b[5].flags = AXL_CHAN_SENDF_MORE;
    b[6].arg = 1;
    CHILD_CHECK(axl_chan_app_submit(&a, b, 8) == 8);
    axl_chan_app_kick(&a);
    for (int i = 0; i < 8; i++) {
        CHILD_CHECK(child_event(&a, &e));
        CHILD_CHECK(e.type == AXL_CHAN_EV_DONE && e.cookie == 100 + (uint64_t)i &&
                    e.arg == ops[i] && e.sock == s.id);
    }

    /* NCONN connections arrive pre-mapped, with data already in them. Wait a
     * little first, so that they pile up beyond the event queue. */
    usleep(50000);
    int maps0 = maps_count();
    for (int i = 0; i < NCONN; i++) {
        CHILD_CHECK(child_event(&a, &e));
        CHILD_CHECK(e.type == AXL_CHAN_EV_NEW_CONN && e.arg == s.id);
        CHILD_CHECK(axl_chan_app_sock(&a, e.sock, e.gen, &acc[i]) == 0);
        CHILD_CHECK(axl_chan_app_rx_peek(&a, &acc[i], cs) == 64);
        CHILD_CHECK(chan_pat_check(cs[0].p, cs[0].len, e.sock * 7u));
        axl_chan_app_rx_commit(&a, &acc[i], 64);
        memset(&c, 0, sizeof(c));
        c.op = AXL_CHAN_OP_ACCEPT;
        c.sock = e.sock;
        c.gen = e.gen;
        c.arg = s.id;
        c.cookie = 1000 + (uint64_t)i;
        while (axl_chan_app_submit(&a, &c, 1) == 0) { /* full: let the stack drain */
            axl_chan_app_kick(&a);
            sched_yield();
        }
        axl_chan_app_kick(&a);
    }
    CHILD_CHECK(maps_count() == maps0); /* accept mapped nothing */
    CHILD_CHECK(a.stats.violations == 0);
    axl_chan_app_unmap(&a);
    return 0;
}

static void test_proc_cmds_events(void **state)
{
    (void)state;
    struct proc pr;
    struct axl_chan_params p;
    struct axl_chan_stk ch;
    struct axl_chan_cmd c;
    unsigned v;
    proc_start(&pr, child_cmds, NULL);
    chan_small_params(&p);
    p.max_socks = 128;
    assert_int_equal(axl_chan_create(&ch, &p, 1), 0);
    parent_hello(pr.sv[0], &ch);

    int cmds = 0, accepts = 0, posted = 0, listener = -1, lgen = 0;
    uint64_t end = axl_clock_ns() + 20 * AXL_NS_PER_S;
    while (accepts < NCONN && axl_clock_ns() < end) {
        int work = 0, r;
        while ((r = axl_chan_stk_poll_cmd(&ch, &c, &v)) == 1) {
            struct axl_chan_event e;
            work = 1;
            cmds++;
            if (c.op == AXL_CHAN_OP_OPEN) {
                int id = axl_chan_stk_sock_alloc(&ch, AXL_CHAN_PROTO_TCP, AXL_CHAN_SS_OPEN);
                assert_true(id >= 0);
                listener = id;
                lgen = (int)atomic_load(&ch.slots[id].gen);
                e = done_ev(&c, (uint32_t)id, (uint32_t)lgen);
            } else if (c.op == AXL_CHAN_OP_ACCEPT) {
                assert_int_equal(c.arg, listener);
                assert_int_equal(atomic_load(&ch.slots[c.sock].state), AXL_CHAN_SS_PENDING);
                axl_chan_stk_sock_state(&ch, c.sock, AXL_CHAN_SS_ESTABLISHED);
                accepts++;
                continue;
            } else {
                if (c.op == AXL_CHAN_OP_LISTEN)
                    axl_chan_stk_sock_state(&ch, c.sock, AXL_CHAN_SS_LISTEN);
                e = done_ev(&c, c.sock, c.gen);
            }
            assert_int_equal(axl_chan_stk_post(&ch, &e), 0);
        }
        assert_int_equal(r, 0);
        /* After the 9 set-up commands: connections, as fast as the event
         * queue (64) takes them; a full queue means retry later. */
        while (cmds >= 9 && posted < NCONN) {
            int id = axl_chan_stk_sock_alloc(&ch, AXL_CHAN_PROTO_TCP, AXL_CHAN_SS_PENDING);
            assert_true(id >= 0);
            struct axl_span sp[2];
            assert_true(axl_chan_stk_rx_reserve(&ch, (uint32_t)id, sp) >= 64);
            chan_pat_fill(sp[0].p, 64, (uint64_t)id * 7u);
            axl_chan_stk_rx_publish(&ch, (uint32_t)id, 64);
            struct axl_chan_event e = {.type = AXL_CHAN_EV_NEW_CONN,
                                       .sock = (uint32_t)id,
                                       .gen = atomic_load(&ch.slots[id].gen),
                                       .arg = (uint32_t)listener,
                                       .arg2 = (uint32_t)lgen};
            if (axl_chan_stk_post(&ch, &e) < 0) {
                axl_chan_stk_sock_free(&ch, (uint32_t)id);
                break;
            }
            posted++;
            work = 1;
        }
        if (work)
            axl_chan_stk_kick(&ch);
        else
            axl_chan_stk_sleep(&ch, 100 * AXL_NS_PER_MS);
    }
    assert_int_equal(proc_finish(&pr), 0);
    assert_int_equal(accepts, NCONN);
    assert_int_equal(ch.stats.violations, 0);
    assert_true(ch.stats.queue_full > 0); /* 100 connections through 64 slots */
    axl_chan_stk_close(&ch);
}

/* ------------------------------------------------------------------------ */
/* 64 MiB each way                                                           */

#define STREAM_BYTES (64ull << 20)
#define STREAM_RING  (256u << 10)
#define STREAM_BATCH (64u << 10)           /* bytes written per batch, at most */
#define SPIN_NS      (200 * AXL_NS_PER_US) /* poll this long before sleeping */

/* The pattern as a table: byte i is tab[i % CHAN_PAT_PERIOD], and the table
 * runs one ring past the period so any span is one memcpy / memcmp. */
static uint8_t *pat_table(void)
{
    uint8_t *t = malloc(CHAN_PAT_PERIOD + STREAM_RING);
    if (t) chan_pat_fill(t, CHAN_PAT_PERIOD + STREAM_RING, 0);
    return t;
}

static const uint8_t *pat_at(const uint8_t *t, uint64_t pos)
{
    return t + pos % CHAN_PAT_PERIOD;
}

struct stream_report {
    struct axl_chan_stats st;
    uint64_t batches;
};

static int child_stream(int sock, void *arg)
{
    (void)arg;
    struct axl_chan_app a;
    struct axl_chan_event e;
    struct axl_chan_asock s;
    struct axl_span sp[2];
    struct axl_cspan cs[2];
    uint32_t ids[64];
    struct stream_report rep;
    uint8_t *tab = pat_table();
    cpu_set_t old;
    CHILD_CHECK(tab);
    pin_cpu(1, &old);
    child_attach(sock, &a);
    CHILD_CHECK(child_event(&a, &e) && e.type == AXL_CHAN_EV_NEW_CONN);
    CHILD_CHECK(axl_chan_app_sock(&a, e.sock, e.gen, &s) == 0);

    uint64_t sent = 0, rcvd = 0, batches = 0;
    uint64_t idle_since = 0;
    uint64_t end = axl_clock_ns() + 60 * AXL_NS_PER_S;
    while ((sent < STREAM_BYTES || rcvd < STREAM_BYTES) && axl_clock_ns() < end) {
        int work = 0;
        if (sent < STREAM_BYTES) {
            int n = axl_chan_app_tx_reserve(&a, &s, sp);
            CHILD_CHECK(n >= 0);
            uint64_t k = AXL_MIN(AXL_MIN((uint64_t)n, STREAM_BATCH), STREAM_BYTES - sent);
            if (k) {
                uint32_t k0 = (uint32_t)AXL_MIN(k, sp[0].len);
                memcpy(sp[0].p, pat_at(tab, sent), k0);
                memcpy(sp[1].p, pat_at(tab, sent + k0), (uint32_t)k - k0);
                axl_chan_app_tx_publish(&a, &s, (uint32_t)k);
                sent += k;
                work = 1;
            }
        }
        int n = axl_chan_app_rx_peek(&a, &s, cs);
        CHILD_CHECK(n >= 0);
        if (n) {
            CHILD_CHECK(memcmp(cs[0].p, pat_at(tab, rcvd), cs[0].len) == 0 &&
                        memcmp(cs[1].p, pat_at(tab, rcvd + cs[0].len), cs[1].len) == 0);
            axl_chan_app_rx_commit(&a, &s, (uint32_t)n);
            rcvd += (uint32_t)n;
            work = 1;
        }
        axl_chan_app_scan(&a, ids, 64);
        if (work) {
            axl_chan_app_kick(&a);
            batches++;
            idle_since = 0;
        } else if (!idle_since) {
            idle_since = axl_clock_ns();
        } else if (axl_clock_ns() - idle_since > SPIN_NS) {
            axl_chan_app_sleep(&a, 50 * AXL_NS_PER_MS);
            idle_since = 0;
        }
    }
    CHILD_CHECK(sent == STREAM_BYTES && rcvd == STREAM_BYTES);
    CHILD_CHECK(a.stats.violations == 0);
    rep.st = a.stats;
    rep.batches = batches;
    CHILD_CHECK(send(sock, &rep, sizeof(rep), 0) == sizeof(rep));
    axl_chan_app_unmap(&a);
    free(tab);
    return 0;
}

static void test_proc_stream_64mib(void **state)
{
    (void)state;
    struct proc pr;
    struct axl_chan_params p;
    struct axl_chan_stk ch;
    struct axl_span sp[2];
    struct axl_cspan cs[2];
    uint32_t ids[64];
    uint8_t *tab = pat_table();
    cpu_set_t old;
    assert_non_null(tab);
    proc_start(&pr, child_stream, NULL); /* first: the child pins itself to CPU 1 */
    int pinned = pin_cpu(0, &old);
    chan_small_params(&p);
    p.rx_size = p.tx_size = STREAM_RING;
    assert_int_equal(axl_chan_create(&ch, &p, 2), 0);
    parent_hello(pr.sv[0], &ch);
    int id = axl_chan_stk_sock_alloc(&ch, AXL_CHAN_PROTO_TCP, AXL_CHAN_SS_PENDING);
    struct axl_chan_event e = {
        .type = AXL_CHAN_EV_NEW_CONN, .sock = (uint32_t)id, .gen = atomic_load(&ch.slots[id].gen)};
    assert_int_equal(axl_chan_stk_post(&ch, &e), 0);
    axl_chan_stk_kick(&ch);

    uint64_t sent = 0, rcvd = 0, batches = 0, t0 = axl_clock_ns();
    uint64_t end = t0 + 60 * AXL_NS_PER_S;
    uint64_t idle_since = 0;
    while ((sent < STREAM_BYTES || rcvd < STREAM_BYTES) && axl_clock_ns() < end) {
        int work = 0;
        axl_chan_stk_scan(&ch, ids, 64);
        int n = axl_chan_stk_tx_peek(&ch, (uint32_t)id, cs);
        assert_true(n >= 0);
        if (n) {
            if (memcmp(cs[0].p, pat_at(tab, rcvd), cs[0].len) ||
                memcmp(cs[1].p, pat_at(tab, rcvd + cs[0].len), cs[1].len))
                fail_msg("TX stream differs near byte %llu", (unsigned long long)rcvd);
            axl_chan_stk_tx_consume(&ch, (uint32_t)id, (uint32_t)n);
            rcvd += (uint32_t)n;
            work = 1;
        }
        if (sent < STREAM_BYTES) {
            n = axl_chan_stk_rx_reserve(&ch, (uint32_t)id, sp);
            assert_true(n >= 0);
            uint64_t k = AXL_MIN(AXL_MIN((uint64_t)n, STREAM_BATCH), STREAM_BYTES - sent);
            if (k) {
                uint32_t k0 = (uint32_t)AXL_MIN(k, sp[0].len);
                memcpy(sp[0].p, pat_at(tab, sent), k0);
                memcpy(sp[1].p, pat_at(tab, sent + k0), (uint32_t)k - k0);
                axl_chan_stk_rx_publish(&ch, (uint32_t)id, (uint32_t)k);
                sent += k;
                work = 1;
            }
        }
        if (work) {
            axl_chan_stk_kick(&ch);
            batches++;
            idle_since = 0;
        } else if (!idle_since) {
            idle_since = axl_clock_ns();
        } else if (axl_clock_ns() - idle_since > SPIN_NS) {
            axl_chan_stk_sleep(&ch, 50 * AXL_NS_PER_MS);
            idle_since = 0;
        }
    }
    uint64_t dt = axl_clock_ns() - t0;
    if (pinned) sched_setaffinity(0, sizeof(old), &old);
    struct stream_report rep;
    assert_int_equal(recv(pr.sv[0], &rep, sizeof(rep), 0), sizeof(rep));
    assert_int_equal(proc_finish(&pr), 0);
    assert_int_equal(sent, STREAM_BYTES);
    assert_int_equal(rcvd, STREAM_BYTES);
    print_message("  stream: 2 x 64 MiB in %.2f s (%.0f MiB/s each way), batches stk %llu app "
                  "%llu\n",
                  dt / 1e9, 64.0 / (dt / 1e9), (unsigned long long)batches,
                  (unsigned long long)rep.batches);
    print_message("  doorbell: stk wakes %llu (suppressed %llu) sleeps %llu aborted %llu | app "
                  "wakes %llu sleeps %llu aborted %llu\n",
                  (unsigned long long)ch.stats.wakes, (unsigned long long)ch.stats.wakes_suppressed,
                  (unsigned long long)ch.stats.sleeps, (unsigned long long)ch.stats.sleeps_aborted,
                  (unsigned long long)rep.st.wakes, (unsigned long long)rep.st.sleeps,
                  (unsigned long long)rep.st.sleeps_aborted);
    assert_int_equal(ch.stats.violations, 0);
    /* A wake-up only for a sleep the peer announced: one per sleep word, plus
     * the 1 ms re-wake of a word left standing (a descheduled sleeper). */
    assert_true(ch.stats.wakes <= 2 * (rep.st.sleeps + rep.st.sleeps_aborted) + 10);
    assert_true(rep.st.wakes <= 2 * (ch.stats.sleeps + ch.stats.sleeps_aborted) + 10);
    /* Busy both ways: a kick per batch, and almost no kick makes a system
     * call. (Each side on its own CPU: wake-ups only when another process
     * takes a side's CPU for longer than the 200 us spin. Sharing one CPU,
     * every ring's worth the idle side sleeps and must be woken.) */
    assert_true(ch.stats.kicks >= 1000 && rep.st.kicks >= 1000);
    assert_true(ch.stats.wakes + rep.st.wakes <=
                (ch.stats.kicks + rep.st.kicks) / (pinned ? 10 : 2));
    axl_chan_stk_close(&ch);
    free(tab);
}

/* ------------------------------------------------------------------------ */
/* ping-pong with immediate sleeps: the doorbell must never lose a wake-up   */

#define PINGS 2000

static int child_pingpong(int sock, void *arg)
{
    (void)arg;
    struct axl_chan_app a;
    struct axl_chan_event e;
    struct axl_chan_asock s;
    struct axl_cspan cs[2];
    uint32_t ids[64];
    child_attach(sock, &a);
    CHILD_CHECK(child_event(&a, &e) && e.type == AXL_CHAN_EV_NEW_CONN);
    CHILD_CHECK(axl_chan_app_sock(&a, e.sock, e.gen, &s) == 0);
    for (uint32_t i = 0; i < PINGS; i++) {
        uint8_t b = (uint8_t)i;
        struct axl_span sp[2];
        CHILD_CHECK(axl_chan_app_tx_reserve(&a, &s, sp) > 0);
        sp[0].p[0] = b;
        axl_chan_app_tx_publish(&a, &s, 1);
        axl_chan_app_kick(&a);
        uint64_t give_up = axl_clock_ns() + 10 * AXL_NS_PER_S;
        for (;;) {
            CHILD_CHECK(axl_clock_ns() < give_up);
            /* Note the stack's activity first, then look at the ring, then
             * sleep on what was noted: a publish after the look bumps the
             * activity past it, so the sleep returns at once. (Scanning
             * after the look would take in a bump whose data was never
             * seen, and sleep through it.) */
            axl_chan_app_scan(&a, ids, 64);
            int n = axl_chan_app_rx_peek(&a, &s, cs);
            CHILD_CHECK(n >= 0);
            if (n) {
                const uint8_t want = (uint8_t)(255u - b);
                CHILD_CHECK(n == 1 && cs[0].p[0] == want);
                axl_chan_app_rx_commit(&a, &s, 1);
                break;
            }
            axl_chan_app_sleep(&a, AXL_NS_PER_S); /* no spinning at all */
        }
    }
    struct axl_chan_stats st = a.stats;
    CHILD_CHECK(send(sock, &st, sizeof(st), 0) == sizeof(st));
    axl_chan_app_unmap(&a);
    return 0;
}

static void test_proc_pingpong_sleep(void **state)
{
    (void)state;
    struct proc pr;
    struct axl_chan_params p;
    struct axl_chan_stk ch;
    struct axl_span sp[2];
    struct axl_cspan cs[2];
    uint32_t ids[64];
    proc_start(&pr, child_pingpong, NULL);
    chan_small_params(&p);
    assert_int_equal(axl_chan_create(&ch, &p, 3), 0);
    parent_hello(pr.sv[0], &ch);
    int id = axl_chan_stk_sock_alloc(&ch, AXL_CHAN_PROTO_TCP, AXL_CHAN_SS_PENDING);
    struct axl_chan_event e = {
        .type = AXL_CHAN_EV_NEW_CONN, .sock = (uint32_t)id, .gen = atomic_load(&ch.slots[id].gen)};
    assert_int_equal(axl_chan_stk_post(&ch, &e), 0);
    axl_chan_stk_kick(&ch);
    uint64_t t0 = axl_clock_ns();
    uint32_t pongs = 0;
    while (pongs < PINGS && axl_clock_ns() - t0 < 20 * AXL_NS_PER_S) {
        axl_chan_stk_scan(&ch, ids, 64);
        int n = axl_chan_stk_tx_peek(&ch, (uint32_t)id, cs);
        assert_true(n >= 0);
        if (n == 0) {
            axl_chan_stk_sleep(&ch, AXL_NS_PER_S);
            continue;
        }
        assert_int_equal(n, 1);
        uint8_t b = cs[0].p[0];
        assert_int_equal(b, (uint8_t)pongs);
        axl_chan_stk_tx_consume(&ch, (uint32_t)id, 1);
        assert_true(axl_chan_stk_rx_reserve(&ch, (uint32_t)id, sp) > 0);
        sp[0].p[0] = (uint8_t)(255 - b);
        axl_chan_stk_rx_publish(&ch, (uint32_t)id, 1);
        axl_chan_stk_kick(&ch);
        pongs++;
    }
    uint64_t dt = axl_clock_ns() - t0;
    struct axl_chan_stats ast;
    if (pongs < PINGS) { /* do not wait for a child that waits for us */
        kill(pr.pid, SIGKILL);
        proc_finish(&pr);
        fail_msg("only %u of %u round trips", pongs, PINGS);
    }
    assert_int_equal(recv(pr.sv[0], &ast, sizeof(ast), 0), sizeof(ast));
    assert_int_equal(proc_finish(&pr), 0);
    assert_int_equal(pongs, PINGS);
    print_message("  ping-pong: %u round trips in %.3f s (%.1f us each); stk sleeps %llu wakes "
                  "%llu | app sleeps %llu wakes %llu; timeouts %llu/%llu\n",
                  PINGS, dt / 1e9, dt / 1e3 / PINGS, (unsigned long long)ch.stats.sleeps,
                  (unsigned long long)ch.stats.wakes, (unsigned long long)ast.sleeps,
                  (unsigned long long)ast.wakes, (unsigned long long)ch.stats.sleep_timeouts,
                  (unsigned long long)ast.sleep_timeouts);
    /* Every sleep ended by a wake-up or by work that was already there: with
     * a 1 s timeout, a single lost wake-up would show here. */
    assert_int_equal(ch.stats.sleep_timeouts, 0);
    assert_int_equal(ast.sleep_timeouts, 0);
    assert_true(ch.stats.sleeps > PINGS / 4 && ast.sleeps > PINGS / 4);
    assert_true(ch.stats.wakes > PINGS / 4 && ast.wakes > PINGS / 4);
    assert_true(dt < 20 * AXL_NS_PER_S);
    axl_chan_stk_close(&ch);
}

/* ------------------------------------------------------------------------ */
/* futex_waitv over three channels                                           */

static int child_many(int sock, void *arg)
{
    (void)arg;
    struct axl_chan_app a[3];
    char order[3];
    for (int i = 0; i < 3; i++)
        child_attach(sock, &a[i]);
    /* the parent tells us which channel to poke next, we poke it later */
    for (int round = 0; round < 3; round++) {
        CHILD_CHECK(recv(sock, order, 1, 0) == 1);
        int k = order[0];
        CHILD_CHECK(k >= 0 && k < 3);
        usleep(20000); /* let the parent fall asleep */
        struct axl_chan_cmd c;
        memset(&c, 0, sizeof(c));
        c.op = AXL_CHAN_OP_OPEN;
        c.sock = AXL_CHAN_SOCK_NONE;
        c.arg = AXL_CHAN_PROTO_UDP;
        c.cookie = (uint64_t)round;
        CHILD_CHECK(axl_chan_app_submit(&a[k], &c, 1) == 1);
        axl_chan_app_kick(&a[k]);
    }
    for (int i = 0; i < 3; i++)
        axl_chan_app_unmap(&a[i]);
    return 0;
}

static void test_proc_wait_many(void **state)
{
    (void)state;
    struct proc pr;
    struct axl_chan_params p;
    struct axl_chan_stk ch[3], *chs[3];
    struct axl_chan_cmd c;
    unsigned v;
    proc_start(&pr, child_many, NULL);
    chan_small_params(&p);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(axl_chan_create(&ch[i], &p, (uint32_t)i), 0);
        parent_hello(pr.sv[0], &ch[i]);
        chs[i] = &ch[i];
    }
    const char order[3] = {2, 0, 1};
    int woken = 0;
    for (int round = 0; round < 3; round++) {
        assert_int_equal(send(pr.sv[0], &order[round], 1, 0), 1);
        int got = -1;
        uint64_t end = axl_clock_ns() + 10 * AXL_NS_PER_S;
        while (got < 0 && axl_clock_ns() < end) {
            int ready = 1;
            for (int i = 0; i < 3 && got < 0; i++) {
                axl_chan_stk_scan(&ch[i], NULL, 0);
                if (axl_chan_stk_poll_cmd(&ch[i], &c, &v) == 1) got = i;
            }
            if (got >= 0) break;
            for (int i = 0; i < 3; i++)
                ready &= axl_chan_stk_prepare_sleep(&ch[i]);
            if (!ready) { /* something moved meanwhile: look again */
                for (int i = 0; i < 3; i++)
                    axl_chan_stk_wake_done(&ch[i]);
                continue;
            }
            int r = axl_chan_wait_many(chs, 3, 5 * AXL_NS_PER_S);
            if (r >= 0) {
                assert_int_equal(r, order[round]); /* the right channel woke us */
                woken++;
            } else {
                assert_true(r == -EAGAIN || r == -EINTR);
            }
        }
        assert_int_equal(got, order[round]);
        assert_int_equal(c.cookie, (uint64_t)round);
    }
    assert_true(woken >= 1);
    assert_int_equal(proc_finish(&pr), 0);
    for (int i = 0; i < 3; i++)
        axl_chan_stk_close(&ch[i]);
}

/* ------------------------------------------------------------------------ */
/* registered memory: zero-touch send                                        */

#define REG_SIZE (1u << 20)

static int child_regmem(int sock, void *arg)
{
    (void)arg;
    struct axl_chan_app a;
    struct axl_chan_event e;
    struct axl_chan_asock s;
    struct axl_chan_regmem m;
    child_attach(sock, &a);
    CHILD_CHECK(child_event(&a, &e) && e.type == AXL_CHAN_EV_NEW_CONN);
    CHILD_CHECK(axl_chan_app_sock(&a, e.sock, e.gen, &s) == 0);

    /* An unsealed memfd is refused. */
    struct axl_chan_regmem bad = {memfd_create("unsealed", MFD_CLOEXEC), NULL, 4096};
    CHILD_CHECK(bad.fd >= 0 && ftruncate(bad.fd, 4096) == 0);
    CHILD_CHECK(axl_chan_regmem_register(sock, &bad, 1) == -EINVAL);
    close(bad.fd);

    CHILD_CHECK(axl_chan_regmem_create(&m, REG_SIZE) == 0);
    chan_pat_fill(m.base, REG_SIZE, 0);
    int rid = axl_chan_regmem_register(sock, &m, 2);
    CHILD_CHECK(rid >= 0);

    struct axl_chan_cmd c[2];
    memset(c, 0, sizeof(c));
    c[0].op = AXL_CHAN_OP_SEND;
    c[0].flags = AXL_CHAN_SENDF_REG;
    c[0].sock = s.id;
    c[0].gen = s.gen;
    c[0].region = (uint32_t)rid;
    c[0].off = 4096;
    c[0].len = 500000;
    c[0].pos = atomic_load(&a.lines[s.id].tx_prod);
    c[0].cookie = 55;
    c[1] = c[0];
    c[1].off = REG_SIZE - 10; /* runs past the end: refused */
    c[1].cookie = 56;
    CHILD_CHECK(axl_chan_app_submit(&a, c, 2) == 2);
    axl_chan_app_kick(&a);
    CHILD_CHECK(child_event(&a, &e));
    CHILD_CHECK(e.type == AXL_CHAN_EV_DATA_ACKED && e.cookie == 55 && e.arg == 500000);
    axl_chan_regmem_destroy(&m);
    axl_chan_app_unmap(&a);
    return 0;
}

static void test_proc_regmem(void **state)
{
    (void)state;
    struct proc pr;
    struct axl_chan_params p;
    struct axl_chan_stk ch;
    struct axl_chan_cmd c;
    struct axl_chan_msg m;
    unsigned v;
    int fds[AXL_CHAN_MSG_FDS_MAX];
    proc_start(&pr, child_regmem, NULL);
    chan_small_params(&p);
    assert_int_equal(axl_chan_create(&ch, &p, 4), 0);
    parent_hello(pr.sv[0], &ch);
    assert_int_equal(fcntl(pr.sv[0], F_SETFL, O_NONBLOCK), 0);
    int id = axl_chan_stk_sock_alloc(&ch, AXL_CHAN_PROTO_TCP, AXL_CHAN_SS_PENDING);
    struct axl_chan_event e = {
        .type = AXL_CHAN_EV_NEW_CONN, .sock = (uint32_t)id, .gen = atomic_load(&ch.slots[id].gen)};
    assert_int_equal(axl_chan_stk_post(&ch, &e), 0);
    axl_chan_stk_kick(&ch);

    int regs = 0, sends = 0, bad = 0, eof = 0;
    uint64_t end = axl_clock_ns() + 10 * AXL_NS_PER_S;
    while ((sends < 1 || bad < 1) && axl_clock_ns() < end) {
        int r = eof ? AXL_EAGAIN : axl_chan_msg_recv(pr.sv[0], &m, fds);
        if (r == -EPIPE) { /* the child is done with the socket */
            eof = 1;
            continue;
        }
        if (r == 0) {
            assert_int_equal(m.type, AXL_CHAN_MSG_REGMEM);
            r = axl_chan_stk_serve_regmem(&ch, pr.sv[0], &m, fds[0]);
            assert_true(regs > 0 || r == AXL_EINVAL); /* the first one is unsealed */
            regs++;
            continue;
        }
        assert_int_equal(r, AXL_EAGAIN);
        r = axl_chan_stk_poll_cmd(&ch, &c, &v);
        if (r == 1) {
            assert_int_equal(c.op, AXL_CHAN_OP_SEND);
            const uint8_t *data = axl_chan_stk_regmem_ptr(&ch, c.region, c.off, c.len);
            assert_non_null(data);
            assert_true(chan_pat_check(data, c.len, c.off)); /* read in place */
            struct axl_chan_event ack = {.type = AXL_CHAN_EV_DATA_ACKED,
                                         .sock = c.sock,
                                         .gen = c.gen,
                                         .cookie = c.cookie,
                                         .arg = c.len};
            assert_int_equal(axl_chan_stk_post(&ch, &ack), 0);
            axl_chan_stk_kick(&ch);
            sends++;
        } else if (r < 0) {
            assert_int_equal(v, AXL_CHAN_V_RANGE);
            bad++;
        } else {
            usleep(100);
        }
    }
    assert_int_equal(proc_finish(&pr), 0);
    assert_int_equal(regs, 2);
    assert_int_equal(sends, 1);
    assert_int_equal(ch.stats.v[AXL_CHAN_V_RANGE], 1);
    assert_null(axl_chan_stk_regmem_ptr(&ch, 0, REG_SIZE - 10, 11));
    axl_chan_stk_close(&ch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proc_cmds_events),    cmocka_unit_test(test_proc_stream_64mib),
        cmocka_unit_test(test_proc_pingpong_sleep), cmocka_unit_test(test_proc_wait_many),
        cmocka_unit_test(test_proc_regmem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
