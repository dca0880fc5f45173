/* SPDX-License-Identifier: MIT */
/*
 * test_tcp_pair.c - two engines talking TCP to each other through two mem
 * ports, with a pump in between that moves frames both ways under seeded
 * impairment (loss, reordering, duplication), driven by one deterministic
 * clock. Byte-exact transfers in both directions at once (SACK and
 * NewReno, CUBIC and NewReno congestion control), simultaneous open, many
 * short connections in a row, and every buffer back in both pools at the end.
 *
 * Engine A: 198.18.0.1 (02:..:0a), engine B: 198.18.0.2 (02:..:0b).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/rand.h"
#include "net/stack.h"
#include "net/stack_priv.h"
#include "net/tcp.h"
#include "port/memport.h"

#define IP_A  0xc6120001u
#define IP_B  0xc6120002u
#define NBUFS 8192u

struct side {
    struct axl_pool pool;
    struct axl_port port;
    struct axl_stack *s;
};

/* What the pump checks on the wire: every data segment of the flow from
 * port `sport` carries exactly the source bytes at its sequence number. */
struct wirecheck {
    const uint8_t *src;
    uint32_t len;
    uint16_t sport;
    int have_isn;
    uint32_t isn;
    uint64_t checked;
};

struct imp {
    struct wirecheck wc;
    uint32_t loss_ppm, dup_ppm, reorder_ppm;
    struct axl_rand rng;
    uint8_t held[2048];
    int held_len;
};

struct pair {
    struct side a, b;
    uint64_t now;
    struct imp ab, ba;
    uint64_t moved, dropped;
};

static void side_up(struct side *sd, const char *spec, uint32_t ip, const struct axl_stack_cfg *in)
{
    char err[128];
    struct axl_port_cfg pc;
    assert_int_equal(axl_pool_init(&sd->pool, NBUFS, 2048, AXL_POOL_HEADROOM), 0);
    assert_int_equal(axl_port_parse_spec(spec, &pc, err, sizeof(err)), 0);
    pc.pool = &sd->pool;
    assert_int_equal(axl_port_open(&sd->port, &pc), 0);
    struct axl_stack_cfg cfg = *in;
    cfg.addr.addr = ip;
    cfg.addr.prefix = 24;
    sd->s = axl_stack_create(&cfg, &sd->port, &sd->pool, 1000 * AXL_NS_PER_S);
    assert_non_null(sd->s);
}

static void side_down(struct side *sd)
{
    axl_stack_destroy(sd->s);
    axl_memport_tx_discard(&sd->port);
    assert_int_equal(axl_pool_in_use(&sd->pool), 0);
    assert_int_equal(sd->pool.double_free, 0);
    axl_port_close(&sd->port);
    axl_pool_fini(&sd->pool);
}

static void pair_up(struct pair *p, const struct axl_stack_cfg *cfg, uint64_t seed)
{
    memset(p, 0, sizeof(*p));
    p->now = 1000 * AXL_NS_PER_S;
    side_up(&p->a, "mem:a,mac=02:00:00:00:00:0a,rxcap=65536,txcap=65536", IP_A, cfg);
    side_up(&p->b, "mem:b,mac=02:00:00:00:00:0b,rxcap=65536,txcap=65536", IP_B, cfg);
    axl_rand_seed(&p->ab.rng, seed);
    axl_rand_seed(&p->ba.rng, seed * 31 + 7);
}

static void pair_down(struct pair *p)
{
    side_down(&p->a);
    side_down(&p->b);
}

static void wire_check(struct wirecheck *wc, const uint8_t *f, int n)
{
    if (!wc->src || n < 54 || f[12] != 0x08 || f[13] != 0 || f[23] != 6) return;
    const uint8_t *ip = f + 14;
    unsigned ihl = (unsigned)(ip[0] & 15) * 4;
    unsigned tot = (unsigned)(ip[2] << 8 | ip[3]);
    const uint8_t *t = ip + ihl;
    uint16_t sport = (uint16_t)(t[0] << 8 | t[1]);
    if (sport != wc->sport) return;
    uint32_t seq = (uint32_t)t[4] << 24 | (uint32_t)t[5] << 16 | (uint32_t)t[6] << 8 | t[7];
    unsigned hl = (unsigned)(t[12] >> 4) * 4;
    unsigned dl = tot - ihl - hl;
    if (t[13] & 0x02) {
        wc->have_isn = 1;
        wc->isn = seq;
        return;
    }
    if (!dl || !wc->have_isn) return;
    uint32_t off = seq - wc->isn - 1;
    if (off + dl > wc->len) fail_msg("segment beyond the data: off %u len %u", off, dl);
    if (memcmp(t + hl, wc->src + off, dl) != 0) {
        long found = -1;
        for (uint32_t k = 0; k + dl <= wc->len; k++)
            if (memcmp(t + hl, wc->src + k, 16) == 0) {
                found = k;
                break;
            }
        unsigned firstbad = 0;
        while (firstbad < dl && t[hl + firstbad] == wc->src[off + firstbad])
            firstbad++;
        fail_msg("wrong bytes on the wire: seq off %u len %u flags %#x (payload starts like "
                 "offset %ld; first bad byte %u)",
                 off, dl, t[13], found, firstbad);
    }
    wc->checked++;
}

/* Move every frame from one port to the other through the impairment. */
static void move(struct pair *p, struct side *from, struct side *to, struct imp *im)
{
    uint8_t buf[2048];
    int n;
    while ((n = axl_memport_collect(&from->port, buf, sizeof(buf))) > 0) {
        wire_check(&im->wc, buf, n);
        if (axl_rand_ppm(&im->rng, im->loss_ppm)) {
            p->dropped++;
            continue;
        }
        if (!im->held_len && axl_rand_ppm(&im->rng, im->reorder_ppm)) {
            memcpy(im->held, buf, (size_t)n); /* overtaken by the next frame */
            im->held_len = n;
            continue;
        }
        assert_int_equal(axl_memport_inject(&to->port, buf, (uint32_t)n, 0), 0);
        if (axl_rand_ppm(&im->rng, im->dup_ppm))
            assert_int_equal(axl_memport_inject(&to->port, buf, (uint32_t)n, 0), 0);
        if (im->held_len) {
            assert_int_equal(axl_memport_inject(&to->port, im->held, (uint32_t)im->held_len, 0), 0);
            im->held_len = 0;
        }
        p->moved++;
    }
}

/* One step: both engines run, frames cross, time advances by dt. */
static void step(struct pair *p, uint64_t dt)
{
    axl_stack_poll(p->a.s, p->now);
    move(p, &p->a, &p->b, &p->ab);
    axl_stack_poll(p->b.s, p->now);
    move(p, &p->b, &p->a, &p->ba);
    p->now += dt;
}

/* ---- a bulk application on both ends ------------------------------------------ */

struct flow {
    struct axl_tcb *c;
    const uint8_t *tx;
    uint32_t tx_len, tx_off;
    uint8_t *rx;
    uint32_t rx_len, rx_cap;
    int eof, shut, err, cleanup, connected;
    int zc;             /* send by reference */
    uint32_t rx_budget; /* with slow: bytes it may still read in this step */
    int slow;           /* read at most rx_budget bytes per step */
};

static void flow_pump(struct flow *f)
{
    if (!f->c || f->err) return;
    while (f->tx_off < f->tx_len) {
        uint32_t n = f->tx_len - f->tx_off;
        int rc;
        if (f->zc) {
            if (n > 4000) n = 4000;
            rc = axl_tcp_send_zc(f->c, f->tx + f->tx_off, n, NULL);
        } else {
            rc = axl_tcp_send(f->c, f->tx + f->tx_off, n);
        }
        if (rc <= 0) break;
        f->tx_off += (uint32_t)rc;
    }
    if (f->tx_off == f->tx_len && !f->shut) {
        f->shut = 1;
        assert_int_equal(axl_tcp_shutdown(f->c), 0);
    }
    for (;;) {
        struct axl_tcp_iov iov[8];
        int n = axl_tcp_recv(f->c, iov, 8);
        if (n == 0) {
            f->eof = 1;
            break;
        }
        if (n < 0) {
            if (n != AXL_EAGAIN) f->err = n;
            break;
        }
        uint32_t got = 0;
        for (int i = 0; i < n; i++) {
            uint32_t k = iov[i].len;
            if (f->slow && k > f->rx_budget - got) k = f->rx_budget - got;
            assert_true(f->rx_len + k <= f->rx_cap);
            memcpy(f->rx + f->rx_len, iov[i].base, k);
            f->rx_len += k;
            got += k;
        }
        axl_tcp_recv_done(f->c, got);
        if (f->slow) {
            f->rx_budget -= got;
            if (!f->rx_budget) break;
        }
    }
}

static void ev_connected(struct axl_tcb *c, void *u)
{
    (void)c;
    ((struct flow *)u)->connected = 1;
}
static void ev_data(struct axl_tcb *c, void *u, uint32_t avail)
{
    (void)c;
    (void)avail;
    flow_pump(u);
}
static void ev_acked(struct axl_tcb *c, void *u, uint32_t acked, uint32_t room)
{
    (void)c;
    (void)acked;
    (void)room;
    flow_pump(u);
}
static void ev_cleanup(struct axl_tcb *c, void *u, int err)
{
    (void)c;
    struct flow *f = u;
    f->cleanup = 1;
    if (err) f->err = err;
}

static const struct axl_tcp_ops flow_ops = {
    .connected = ev_connected,
    .new_data = ev_data,
    .data_acked = ev_acked,
    .cleanup = ev_cleanup,
};

struct server {
    struct flow *f;
    struct axl_tcp_listener *l;
};

static void srv_new_conn(struct axl_tcp_listener *l, void *u)
{
    struct server *sv = u;
    struct axl_tcb *c;
    while (axl_tcp_accept(l, &c) == 0) {
        assert_null(sv->f->c);
        sv->f->c = c;
        axl_tcp_set_user(c, &flow_ops, sv->f);
        flow_pump(sv->f);
    }
}

static const struct axl_tcp_ops srv_ops = {.new_conn = srv_new_conn};

static uint8_t *make_data(uint32_t n, uint32_t seed)
{
    uint8_t *d = malloc(n);
    struct axl_rand r;
    axl_rand_seed(&r, seed);
    for (uint32_t i = 0; i < n; i += 8) {
        uint64_t v = axl_rand_u64(&r);
        memcpy(d + i, &v, AXL_MIN(8u, n - i));
    }
    return d;
}

/* A sends na bytes to B, B sends nb bytes to A, at once; both half-close
 * after their data; everything must arrive intact. */
static void transfer(const struct axl_stack_cfg *cfg, uint64_t seed, uint32_t loss_ppm,
                     uint32_t reorder_ppm, uint32_t dup_ppm, uint32_t na, uint32_t nb, int cc,
                     int zc, int slow)
{
    static struct pair p;
    pair_up(&p, cfg, seed);
    p.ab.loss_ppm = p.ba.loss_ppm = loss_ppm;
    p.ab.reorder_ppm = p.ba.reorder_ppm = reorder_ppm;
    p.ab.dup_ppm = p.ba.dup_ppm = dup_ppm;
    uint8_t *da = make_data(na, (uint32_t)seed), *db = make_data(nb, (uint32_t)seed + 1);
    struct flow fa = {.tx = da, .tx_len = na, .rx = malloc(nb + 1), .rx_cap = nb, .zc = zc};
    struct flow fb = {.tx = db, .tx_len = nb, .rx = malloc(na + 1), .rx_cap = na, .slow = slow};
    fa.slow = slow;
    struct server sv = {.f = &fb};
    assert_int_equal(axl_tcp_listen(p.b.s, 5001, 8, &srv_ops, &sv, &sv.l), 0);
    assert_int_equal(axl_tcp_connect(p.a.s, IP_B, 5001, 0, &flow_ops, &fa, &fa.c), 0);
    p.ab.wc = (struct wirecheck){.src = da, .len = na, .sport = fa.c->lport};
    p.ba.wc = (struct wirecheck){.src = db, .len = nb, .sport = 5001};
    if (cc >= 0) assert_int_equal(axl_tcp_setopt(fa.c, AXL_TCP_OPT_CC, (uint32_t)cc), 0);
    int steps = 0;
    while (!(fa.eof && fb.eof && fa.cleanup && fb.cleanup) && steps < 4000000) {
        /* Slow readers: 300 ms stalled (longer than the 200 ms override timeout
         * of the sender), then 300 ms at `slow` bytes per step. */
        fa.rx_budget = fb.rx_budget = (steps % 6000) < 3000 ? 0 : (uint32_t)slow;
        flow_pump(&fa);
        flow_pump(&fb);
        step(&p, 100 * AXL_NS_PER_US);
        steps++;
        if (fa.err || fb.err) break;
    }
    print_message("seed %llu loss %u ppm: %d steps (%.1f s simulated), %llu frames moved, "
                  "%llu dropped, retrans A %lld B %lld\n",
                  (unsigned long long)seed, loss_ppm, steps, steps * 1e-4,
                  (unsigned long long)p.moved, (unsigned long long)p.dropped,
                  (long long)axl_stack_stat(p.a.s, "TcpRetransSegs"),
                  (long long)axl_stack_stat(p.b.s, "TcpRetransSegs"));
    assert_int_equal(fa.err, 0);
    assert_int_equal(fb.err, 0);
    assert_int_equal(fb.rx_len, na);
    assert_int_equal(fa.rx_len, nb);
    assert_memory_equal(fb.rx, da, na);
    assert_memory_equal(fa.rx, db, nb);
    assert_true(p.ab.wc.checked > 0 && p.ba.wc.checked > 0);
    if (loss_ppm >= 10000 && na >= (1u << 20)) /* hundreds of segments: some were lost */
        assert_true(axl_stack_stat(p.a.s, "TcpRetransSegs") > 0);
    if (slow && cfg->tcp_rcvbuf && cfg->tcp_rcvbuf <= 8192) {
        /* The slow readers closed their windows and opened them again. */
        assert_true(axl_stack_stat(p.a.s, "TcpToZeroWindowAdv") +
                        axl_stack_stat(p.b.s, "TcpToZeroWindowAdv") >
                    0);
        assert_true(axl_stack_stat(p.a.s, "TcpFromZeroWindowAdv") +
                        axl_stack_stat(p.b.s, "TcpFromZeroWindowAdv") >
                    0);
    }
    axl_tcp_close(fa.c);
    axl_tcp_close(fb.c);
    axl_tcp_listener_close(sv.l);
    /* Let TIME-WAIT run out: no connection left anywhere. */
    for (int i = 0; i < 700; i++)
        step(&p, 100 * AXL_NS_PER_MS);
    assert_int_equal(axl_tcp_conn_count(p.a.s), 0);
    assert_int_equal(axl_tcp_conn_count(p.b.s), 0);
    assert_int_equal(axl_stack_stat(p.a.s, "TcpCurrEstab"), 0);
    assert_int_equal(axl_stack_stat(p.b.s, "TcpCurrEstab"), 0);
    pair_down(&p);
    free(da);
    free(db);
    free(fa.rx);
    free(fb.rx);
}

static void test_pair_clean_both_ways(void **state)
{
    (void)state;
    struct axl_stack_cfg cfg = {.seed = 1};
    transfer(&cfg, 1, 0, 0, 0, 2u << 20, 2u << 20, -1, 0, 0);
}

static void test_pair_loss_1pct_sack_cubic(void **state)
{
    (void)state;
    struct axl_stack_cfg cfg = {.seed = 2};
    transfer(&cfg, 2, 10000, 0, 0, 2u << 20, 1u << 20, -1, 0, 0);
}

static void test_pair_loss_5pct_reorder_dup(void **state)
{
    (void)state;
    struct axl_stack_cfg cfg = {.seed = 3};
    transfer(&cfg, 3, 50000, 20000, 10000, 1u << 20, 512u << 10, -1, 1, 0);
}

static void test_pair_loss_newreno_no_sack(void **state)
{
    (void)state;
    struct axl_stack_cfg cfg = {.seed = 4, .tcp_no_sack = 1};
    transfer(&cfg, 4, 20000, 5000, 0, 1u << 20, 256u << 10, AXL_TCP_CC_NEWRENO, 0, 0);
}

static void test_pair_small_buffers_zero_window(void **state)
{
    (void)state;
    /* A 4 KiB receive window on both sides and readers that stall for 300 ms,
     * then take 200 bytes per 100 us: the window closes and reopens all the
     * time (receiver SWS avoidance, the sender's override timeout, window
     * updates, persist probes when an update is lost), under 2% loss. */
    struct axl_stack_cfg cfg = {.seed = 5, .tcp_rcvbuf = 4096, .tcp_sndbuf = 8192};
    transfer(&cfg, 5, 20000, 0, 0, 100u << 10, 100u << 10, -1, 0, 200);
}

static void test_pair_many_short_connections(void **state)
{
    (void)state;
    static struct pair p;
    struct axl_stack_cfg cfg = {.seed = 6, .tcp_msl_ms = 1000};
    pair_up(&p, &cfg, 6);
    static uint8_t msg[100], back[128];
    for (unsigned i = 0; i < sizeof(msg); i++)
        msg[i] = (uint8_t)i;
    for (int n = 0; n < 300; n++) {
        struct flow fa = {.tx = msg, .tx_len = sizeof(msg), .rx = back, .rx_cap = sizeof(back)};
        struct flow fb = {.tx = msg, .tx_len = sizeof(msg), .rx = back + 0, .rx_cap = 128};
        static uint8_t srx[128];
        fb.rx = srx;
        struct server sv = {.f = &fb};
        assert_int_equal(axl_tcp_listen(p.b.s, 7, 4, &srv_ops, &sv, &sv.l), 0);
        assert_int_equal(axl_tcp_connect(p.a.s, IP_B, 7, 0, &flow_ops, &fa, &fa.c), 0);
        for (int i = 0; i < 20000 && !(fa.eof && fb.eof && fa.cleanup && fb.cleanup); i++) {
            flow_pump(&fa);
            flow_pump(&fb);
            step(&p, 100 * AXL_NS_PER_US);
        }
        assert_true(fa.eof && fb.eof);
        assert_int_equal(fa.rx_len, sizeof(msg));
        assert_int_equal(fb.rx_len, sizeof(msg));
        axl_tcp_close(fa.c);
        axl_tcp_close(fb.c);
        axl_tcp_listener_close(sv.l);
    }
    assert_int_equal(axl_stack_stat(p.a.s, "TcpActiveOpens"), 300);
    assert_int_equal(axl_stack_stat(p.b.s, "TcpPassiveOpens"), 300);
    for (int i = 0; i < 30; i++)
        step(&p, 100 * AXL_NS_PER_MS);
    assert_int_equal(axl_tcp_conn_count(p.a.s), 0);
    assert_int_equal(axl_tcp_conn_count(p.b.s), 0);
    pair_down(&p);
}

static void test_pair_simultaneous_open(void **state)
{
    (void)state;
    static struct pair p;
    struct axl_stack_cfg cfg = {.seed = 7};
    pair_up(&p, &cfg, 7);
    uint8_t *da = make_data(50000, 1), *db = make_data(60000, 2);
    struct flow fa = {.tx = da, .tx_len = 50000, .rx = malloc(60000), .rx_cap = 60000};
    struct flow fb = {.tx = db, .tx_len = 60000, .rx = malloc(50000), .rx_cap = 50000};
    /* Both connect to each other's fixed port in the same instant: the
     * SYNs cross (RFC 9293 §3.5 figure 8). The peers' MACs are learnt by ARP
     * first so that both SYNs leave at once. */
    uint8_t ping[8] = {0};
    axl_icmp_echo_send(p.a.s, IP_B, 1, 1, ping, sizeof(ping));
    for (int i = 0; i < 20; i++)
        step(&p, AXL_NS_PER_MS);
    assert_int_equal(axl_tcp_connect(p.a.s, IP_B, 6000, 5000, &flow_ops, &fa, &fa.c), 0);
    assert_int_equal(axl_tcp_connect(p.b.s, IP_A, 5000, 6000, &flow_ops, &fb, &fb.c), 0);
    for (int i = 0; i < 200000 && !(fa.eof && fb.eof && fa.cleanup && fb.cleanup); i++) {
        flow_pump(&fa);
        flow_pump(&fb);
        step(&p, 100 * AXL_NS_PER_US);
    }
    assert_true(fa.connected && fb.connected);
    assert_int_equal(fa.rx_len, 60000);
    assert_int_equal(fb.rx_len, 50000);
    assert_memory_equal(fa.rx, db, 60000);
    assert_memory_equal(fb.rx, da, 50000);
    axl_tcp_close(fa.c);
    axl_tcp_close(fb.c);
    pair_down(&p);
    free(da);
    free(db);
    free(fa.rx);
    free(fb.rx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pair_clean_both_ways),
        cmocka_unit_test(test_pair_loss_1pct_sack_cubic),
        cmocka_unit_test(test_pair_loss_5pct_reorder_dup),
        cmocka_unit_test(test_pair_loss_newreno_no_sack),
        cmocka_unit_test(test_pair_small_buffers_zero_window),
        cmocka_unit_test(test_pair_many_short_connections),
        cmocka_unit_test(test_pair_simultaneous_open),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
