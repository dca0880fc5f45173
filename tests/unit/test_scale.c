/* SPDX-License-Identifier: MIT */
/*
 * test_scale.c - elasticity behind the director (axlctl scale): the live
 * redirection table (steer.h struct axl_steer_reta) and the migration rule
 * of src/steer/director_core.c ("Scaling"), in one process:
 *  - the table is filled in equal blocks over the active replicas, published
 *    in the header page with a new generation on every change, and a
 *    restarted director takes the supervisor's active count;
 *  - a moved bucket keeps non-SYN TCP segments on its previous owner while
 *    that replica's count for it is > 0; pure SYNs (and the rest of their
 *    flow), UDP go to the new owner; the previous owner is forgotten once
 *    its count is 0 or it detaches;
 *  - bogus counts and table values cannot steer another replica's buckets;
 *  - the engine counts its connections per bucket and picks ports only in
 *    buckets the table gives it (EADDRNOTAVAIL when it owns none).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "port/dirport.h"
#include "port/memport.h"
#include "steer/director_core.h"
#include "steer/steer.h"
#include "tcp_fixture.h"

#define NREP  4u
#define QUOTA 128u
#define NBUFS (NREP * QUOTA + 1024u)
#define RING  256u

static const uint32_t US = 0xc6120002u;   /* 198.18.0.2 */
static const uint32_t PEER = 0xc6120001u; /* 198.18.0.1 */

struct rig {
    int memfd, bells[NREP], dbell;
    struct axl_dir_geom g;
    struct axl_dir_layout l;
    struct axl_director d;
    struct axl_port dev;
    uint8_t *ctl; /* the test's own read-write view (it plays replicas and supervisor) */
};

static struct axl_dir_slot *slot_of(struct rig *r, uint32_t q)
{
    return (struct axl_dir_slot *)(r->ctl + axl_dir_block_off(&r->l, q));
}

static void rig_up(struct rig *r, uint32_t want_active)
{
    struct axl_port_cfg dc;
    char err[128];

    memset(r, 0, sizeof(*r));
    r->g = (struct axl_dir_geom){NREP, NBUFS, 2048, RING};
    assert_int_equal(axl_dir_layout(&r->g, &r->l), 0);
    r->memfd = memfd_create("test-scale", MFD_CLOEXEC);
    assert_true(r->memfd >= 0);
    assert_int_equal(ftruncate(r->memfd, (off_t)r->l.total), 0);
    r->ctl = mmap(NULL, r->l.area_off, PROT_READ | PROT_WRITE, MAP_SHARED, r->memfd, 0);
    assert_true(r->ctl != MAP_FAILED);
    atomic_store(&axl_dir_supw(r->ctl)->want_active, want_active); /* the supervisor's word */
    r->dbell = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    for (uint32_t q = 0; q < NREP; q++)
        r->bells[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    assert_int_equal(axl_director_init(&r->d, &r->g, r->memfd, r->bells, r->dbell, QUOTA, 1), 0);
    assert_int_equal(axl_port_parse_spec("mem:dev,rxcap=256,txcap=256", &dc, err, sizeof(err)), 0);
    dc.pool = &r->d.pool;
    assert_int_equal(axl_port_open(&r->dev, &dc), 0);
    axl_director_start(&r->d, &r->dev);
}

/* Replica q attaches (a live pid: ours) and is served by the next poll. */
static void attach(struct rig *r, uint32_t q)
{
    uint64_t tok = ((uint64_t)(uint32_t)getpid() << 32) | (q + 1);
    atomic_store(&slot_of(r, q)->req, tok);
    axl_director_poll(&r->d, axl_clock_ns());
    assert_true(r->d.rep[q].attached);
}

static void rig_down(struct rig *r)
{
    axl_port_close(&r->dev);
    axl_director_fini(&r->d);
    munmap(r->ctl, r->l.area_off);
    close(r->memfd);
    close(r->dbell);
    for (uint32_t q = 0; q < NREP; q++)
        close(r->bells[q]);
}

static const struct axl_steer_reta *reta(struct rig *r)
{
    return axl_dir_reta(r->ctl);
}

/* A frame peer:sport -> us:dport: TCP with `flags`, or UDP when flags < 0. */
static uint32_t mkframe(uint8_t *f, uint16_t sport, uint16_t dport, int flags)
{
    memset(f, 0, 64);
    f[0] = 2;
    f[6] = 2;
    f[12] = 0x08;
    uint8_t *ip = f + 14;
    ip[0] = 0x45;
    ip[8] = 64;
    ip[9] = flags < 0 ? 17 : 6;
    for (int i = 0; i < 4; i++) {
        ip[12 + i] = (uint8_t)(PEER >> (24 - 8 * i));
        ip[16 + i] = (uint8_t)(US >> (24 - 8 * i));
    }
    uint8_t *t = ip + 20;
    t[0] = (uint8_t)(sport >> 8);
    t[1] = (uint8_t)sport;
    t[2] = (uint8_t)(dport >> 8);
    t[3] = (uint8_t)dport;
    if (flags >= 0) {
        t[12] = 0x50;
        t[13] = (uint8_t)flags;
        ip[3] = 40;
        return 54 + 6;
    }
    ip[3] = 28;
    return 60;
}

static uint32_t bucket_of(uint16_t sport, uint16_t dport)
{
    return axl_steer_hash4(PEER, US, sport, dport) & (AXL_STEER_RETA_SIZE - 1);
}

/* Two sweeps: the first after a move only ends the grace period. */
static uint32_t settle(struct rig *r)
{
    axl_director_sweep(&r->d);
    return axl_director_sweep(&r->d);
}

static int steer(struct rig *r, uint16_t sport, uint16_t dport, int flags)
{
    uint8_t f[64];
    uint32_t n = mkframe(f, sport, dport, flags);
    return axl_director_steer_of(&r->d, f, n);
}

/* A source port (from `from`) whose flow to port 80 is in bucket b. */
static uint16_t port_in_bucket(uint32_t b, uint16_t from)
{
    for (uint32_t p = from; p < 65536; p++)
        if (bucket_of((uint16_t)p, 80) == b) return (uint16_t)p;
    fail_msg("no port for bucket %u", b);
    return 0;
}

static void test_reta_fill(void **st)
{
    (void)st;
    struct rig r;
    rig_up(&r, 0); /* 0: every replica active */
    assert_int_equal(atomic_load(&reta(&r)->nactive), NREP);
    uint32_t g0 = atomic_load(&reta(&r)->gen);
    for (uint32_t b = 0; b < AXL_STEER_RETA_SIZE; b++) {
        /* the fixed table of steer.h over all replicas */
        assert_int_equal(atomic_load(&reta(&r)->owner[b]), axl_steer_queue(b, NREP));
        assert_int_equal(atomic_load(&reta(&r)->prev[b]), AXL_STEER_NONE);
    }
    for (uint32_t n = 1; n <= NREP; n++) {
        assert_int_equal(axl_director_set_active(&r.d, n), n);
        uint32_t per[NREP] = {0};
        for (uint32_t b = 0; b < AXL_STEER_RETA_SIZE; b++) {
            uint32_t o = atomic_load(&reta(&r)->owner[b]);
            assert_true(o < n);
            assert_int_equal(o, axl_steer_queue(b, n)); /* the same block fill */
            per[o]++;
        }
        for (uint32_t q = 0; q < n; q++) /* equal blocks: 128 / n, give or take one */
            assert_true(per[q] >= AXL_STEER_RETA_SIZE / n && per[q] <= AXL_STEER_RETA_SIZE / n + 1);
        assert_int_equal(atomic_load(&reta(&r)->nactive), n);
    }
    assert_true(atomic_load(&reta(&r)->gen) - g0 >= NREP - 1); /* a new generation per change */
    uint32_t g1 = atomic_load(&reta(&r)->gen);
    assert_int_equal(axl_director_set_active(&r.d, NREP), NREP); /* no change: same generation */
    assert_int_equal(atomic_load(&reta(&r)->gen), g1);
    assert_int_equal(axl_director_set_active(&r.d, 0), NREP); /* out of range: all */
    assert_int_equal(axl_director_set_active(&r.d, 99), NREP);
    /* nobody attached holds anything: no bucket drains */
    assert_int_equal(r.d.ndraining, 0);
    /* the supervisor's word is applied by the loop */
    atomic_store(&axl_dir_supw(r.ctl)->want_active, 2);
    axl_director_poll(&r.d, axl_clock_ns());
    assert_int_equal(atomic_load(&reta(&r)->nactive), 2);
    assert_int_equal(r.d.st.reta_changes, 2 + NREP - 1 + 1 - 1);
    rig_down(&r);

    /* a (re)started director comes up with the supervisor's active count */
    rig_up(&r, 3);
    assert_int_equal(atomic_load(&reta(&r)->nactive), 3);
    for (uint32_t b = 0; b < AXL_STEER_RETA_SIZE; b++)
        assert_int_equal(atomic_load(&reta(&r)->owner[b]), axl_steer_queue(b, 3));
    rig_down(&r);
}

static void test_move_keeps_flows(void **st)
{
    (void)st;
    struct rig r;
    rig_up(&r, 2);
    for (uint32_t q = 0; q < NREP; q++)
        attach(&r, q);
    /* a bucket of replica 1 at 2 active that goes to replica 0 at 1 active */
    uint32_t b = 0;
    while (axl_steer_queue(b, 2) != 1)
        b++;
    uint16_t old_flow = port_in_bucket(b, 20000), new_flow = port_in_bucket(b, old_flow + 1);
    assert_int_equal(steer(&r, old_flow, 80, 0x10), 1);
    atomic_store(&slot_of(&r, 1)->conns[b], 1); /* replica 1 holds the old flow */
    assert_int_equal(axl_director_set_active(&r.d, 1), 1);
    assert_int_equal(atomic_load(&reta(&r)->owner[b]), 0);
    assert_int_equal(atomic_load(&reta(&r)->prev[b]), 1);
    /* every bucket that moved drains for at least one sweep period, even
     * where the old owner's count is 0 (a SYN may still be in its ring) */
    assert_int_equal(r.d.ndraining, 64);
    uint32_t bz = b + 1;
    while (axl_steer_queue(bz, 2) != 1)
        bz++;
    uint16_t zp = port_in_bucket(bz, 20000);
    assert_int_equal(steer(&r, zp, 80, 0x10), 1);
    assert_int_equal(axl_director_sweep(&r.d), 64); /* the grace period ends */
    assert_int_equal(steer(&r, zp, 80, 0x10), 1);
    assert_int_equal(axl_director_sweep(&r.d), 1); /* only b is held */
    assert_int_equal(steer(&r, zp, 80, 0x10), 0);
    assert_int_equal(atomic_load(&reta(&r)->prev[bz]), AXL_STEER_NONE);
    /* the old flow's segments stay on replica 1: ACK, data, FIN, RST, SYN+ACK */
    assert_int_equal(steer(&r, old_flow, 80, 0x10), 1);
    assert_int_equal(steer(&r, old_flow, 80, 0x18), 1);
    assert_int_equal(steer(&r, old_flow, 80, 0x11), 1);
    assert_int_equal(steer(&r, old_flow, 80, 0x04), 1);
    assert_int_equal(steer(&r, old_flow, 80, 0x12), 1);
    /* a pure SYN is a new flow: the new owner, and its handshake follows it */
    assert_int_equal(steer(&r, new_flow, 80, 0x02), 0);
    assert_int_equal(steer(&r, new_flow, 80, 0x10), 0);
    assert_int_equal(steer(&r, new_flow, 80, 0x18), 0);
    assert_int_equal(steer(&r, old_flow, 80, 0x10), 1); /* the old one still on 1 */
    /* not TCP: the table's owner */
    assert_int_equal(steer(&r, old_flow, 80, -1), 0);
    /* counted on the loop's path (poll), not by steer_of */
    uint8_t f[64];
    uint32_t n = mkframe(f, old_flow, 80, 0x10);
    assert_int_equal(axl_memport_inject(&r.dev, f, n, 0), 0);
    n = mkframe(f, new_flow, 80, 0x10);
    assert_int_equal(axl_memport_inject(&r.dev, f, n, 0), 0);
    axl_director_poll(&r.d, axl_clock_ns());
    assert_int_equal(r.d.st.rx_prev_owner, 1);
    assert_int_equal(r.d.st.rx_new_flow, 1);
    /* back to 2 active while it drains: b is replica 1's again; the new
     * flow stays on replica 0 (its table entry), the old one on 1 */
    atomic_store(&slot_of(&r, 0)->conns[b], 1); /* replica 0 holds new_flow */
    assert_int_equal(axl_director_set_active(&r.d, 2), 2);
    assert_int_equal(atomic_load(&reta(&r)->owner[b]), 1);
    assert_int_equal(steer(&r, new_flow, 80, 0x10), 0);
    assert_int_equal(steer(&r, old_flow, 80, 0x10), 1);
    uint16_t third = port_in_bucket(b, new_flow + 1);
    assert_int_equal(steer(&r, third, 80, 0x02), 1); /* new flows: the owner */
    assert_int_equal(steer(&r, third, 80, 0x10), 1);
    assert_int_equal(settle(&r), 1); /* replica 0 still holds new_flow */
    /* and to 1 active again: every flow still where it was */
    assert_int_equal(axl_director_set_active(&r.d, 1), 1);
    assert_int_equal(steer(&r, new_flow, 80, 0x10), 0);
    assert_int_equal(steer(&r, old_flow, 80, 0x10), 1);
    assert_int_equal(steer(&r, third, 80, 0x10), 1);
    atomic_store(&slot_of(&r, 0)->conns[b], 0);
    /* the replicas' counts reach 0: the drain ends, its flows are forgotten */
    atomic_store(&slot_of(&r, 1)->conns[b], 0);
    assert_int_equal(settle(&r), 0);
    assert_int_equal(steer(&r, old_flow, 80, 0x10), 0);
    assert_int_equal(steer(&r, new_flow, 80, 0x10), 0);
    assert_int_equal(atomic_load(&reta(&r)->prev[b]), AXL_STEER_NONE);
    assert_int_equal(r.d.ndraining, 0);
    assert_int_equal(r.d.st.drained, 63 + 63 + 64); /* 1 -> 2 -> 1: every moved bucket */

    /* scale back up with replica 0 holding a flow of a bucket that moves to 2:
     * the sweep lets go of it once the count is 0, without traffic */
    uint32_t b2 = 0;
    while (axl_steer_queue(b2, 4) != 2)
        b2++;
    atomic_store(&slot_of(&r, 0)->conns[b2], 3);
    assert_int_equal(axl_director_set_active(&r.d, 4), 4);
    assert_int_equal(atomic_load(&reta(&r)->prev[b2]), 0);
    assert_int_equal(settle(&r), 1); /* still held */
    uint16_t p2 = port_in_bucket(b2, 30000);
    assert_int_equal(steer(&r, p2, 80, 0x10), 0);
    atomic_store(&slot_of(&r, 0)->conns[b2], 0);
    assert_int_equal(axl_director_sweep(&r.d), 0);
    assert_int_equal(atomic_load(&reta(&r)->prev[b2]), AXL_STEER_NONE);
    assert_int_equal(steer(&r, p2, 80, 0x10), 2);

    /* a previous owner that detaches is forgotten too */
    atomic_store(&slot_of(&r, 2)->conns[b2], 1);
    assert_int_equal(axl_director_set_active(&r.d, 1), 1);
    assert_int_equal(atomic_load(&reta(&r)->prev[b2]), 2);
    atomic_store(&slot_of(&r, 2)->req, 0);
    axl_director_poll(&r.d, axl_clock_ns());
    assert_false(r.d.rep[2].attached);
    assert_int_equal(steer(&r, p2, 80, 0x10), 0); /* at once */
    assert_int_equal(settle(&r), 0);
    assert_int_equal(atomic_load(&reta(&r)->prev[b2]), AXL_STEER_NONE);
    rig_down(&r);
}

/* The table of new flows is bounded: full, it says so (the flow's later
 * segments go to the old owner); entries silent for AXL_DIR_FLOW_IDLE_MS
 * make room. */
static void test_flow_table_bounds(void **st)
{
    (void)st;
    struct rig r;
    rig_up(&r, 2);
    for (uint32_t q = 0; q < NREP; q++)
        attach(&r, q);
    uint32_t b = AXL_STEER_RETA_SIZE - 1; /* replica 1's at 2, replica 0's at 1 */
    atomic_store(&slot_of(&r, 1)->conns[b], 1);
    uint64_t t = axl_clock_ns();
    axl_director_poll(&r.d, t);
    assert_int_equal(axl_director_set_active(&r.d, 1), 1);
    settle(&r);
    assert_int_equal(atomic_load(&reta(&r)->prev[b]), 1);
    /* new flows of bucket b: (sport, dport) pairs in it, far more than fit */
    uint32_t added = 0, stored = 0;
    uint16_t sp[AXL_DIR_FLOWS + 2048], dp[AXL_DIR_FLOWS + 2048];
    for (uint32_t dport = 1; dport < 65536 && added < AXL_DIR_FLOWS + 2048; dport++)
        for (uint32_t sport = 1024; sport < 1024 + 2048 && added < AXL_DIR_FLOWS + 2048; sport++)
            if (bucket_of((uint16_t)sport, (uint16_t)dport) == b) {
                sp[added] = (uint16_t)sport;
                dp[added] = (uint16_t)dport;
                assert_int_equal(steer(&r, sp[added], dp[added], 0x02), 0);
                added++;
            }
    assert_int_equal(added, AXL_DIR_FLOWS + 2048);
    assert_true(r.d.st.flow_full > 0);
    for (uint32_t i = 0; i < added; i++) { /* stored ones follow their SYN, the rest go to 1 */
        int q = steer(&r, sp[i], dp[i], 0x10);
        assert_true(q == 0 || q == 1);
        stored += q == 0;
    }
    assert_int_equal(stored + r.d.st.flow_full, added);
    assert_true(stored > AXL_DIR_FLOWS / 2);
    /* a minute of silence later, new flows take the idle entries */
    axl_director_poll(&r.d, t + (uint64_t)(AXL_DIR_FLOW_IDLE_MS + 1000) * AXL_NS_PER_MS);
    uint64_t full0 = r.d.st.flow_full;
    uint32_t later = 0;
    for (uint32_t dport = 40000; dport < 65536 && later < 128; dport++)
        if (bucket_of(5000, (uint16_t)dport) == b) {
            assert_int_equal(steer(&r, 5000, (uint16_t)dport, 0x02), 0);
            assert_int_equal(steer(&r, 5000, (uint16_t)dport, 0x10), 0);
            later++;
        }
    assert_int_equal(later, 128);
    assert_int_equal(r.d.st.flow_full, full0);
    assert_true(r.d.st.flow_evict > 0);
    rig_down(&r);
}

static void test_bogus_counts(void **st)
{
    (void)st;
    struct rig r;
    rig_up(&r, 2);
    for (uint32_t q = 0; q < NREP; q++)
        attach(&r, q);
    /* replica 3 (parked) claims connections in every bucket; replica 1
     * claims 4 billion in all of them */
    for (uint32_t b = 0; b < AXL_STEER_RETA_SIZE; b++) {
        atomic_store(&slot_of(&r, 3)->conns[b], 0xffffffffu);
        atomic_store(&slot_of(&r, 1)->conns[b], 0xffffffffu);
    }
    assert_int_equal(axl_director_set_active(&r.d, 1), 1);
    for (uint32_t b = 0; b < AXL_STEER_RETA_SIZE; b++) {
        uint32_t p = atomic_load(&reta(&r)->prev[b]);
        /* only buckets that moved away from 1 name it; 3 never owned one */
        if (axl_steer_queue(b, 2) == 1)
            assert_int_equal(p, 1);
        else
            assert_int_equal(p, AXL_STEER_NONE);
        uint16_t sp = port_in_bucket(b, 1024);
        int q = steer(&r, sp, 80, 0x10);
        assert_true(q == 0 || (q == 1 && axl_steer_queue(b, 2) == 1));
        assert_int_equal(steer(&r, sp, 80, 0x02), 0); /* new flows: never misrouted */
        assert_int_equal(steer(&r, sp, 80, -1), 0);
    }
    /* a replica scribbling on the table cannot make it name a replica that
     * does not exist for the port picker: values >= nrep are nobody's */
    struct axl_steer_reta *w = axl_dir_reta(r.ctl);
    for (uint32_t b = 0; b < AXL_STEER_RETA_SIZE; b++)
        atomic_store(&w->owner[b], 200);
    for (uint32_t q = 0; q < NREP; q++)
        assert_false(axl_steer_reta_any(w, q));
    /* the director keeps its private table: steering is unchanged */
    assert_int_equal(steer(&r, port_in_bucket(0, 1024), 80, 0x02), 0);
    rig_down(&r);
}

static void test_port_picker(void **st)
{
    (void)st;
    static struct axl_steer_reta t;
    memset(&t, 0, sizeof(t));
    for (uint32_t b = 0; b < AXL_STEER_RETA_SIZE; b++) {
        atomic_store(&t.owner[b], (uint8_t)axl_steer_reta_fill(b, 2));
        atomic_store(&t.prev[b], AXL_STEER_NONE);
    }
    uint32_t ok0 = 0, ok1 = 0;
    for (uint32_t p = 40000; p < 41000; p++) {
        int a = axl_steer_reta_port_ok(&t, US, PEER, (uint16_t)p, 80, 0);
        int c = axl_steer_reta_port_ok(&t, US, PEER, (uint16_t)p, 80, 1);
        assert_true(a != c);
        assert_int_equal(a, axl_steer_port_ok(US, PEER, (uint16_t)p, 80, 0, 2));
        ok0 += (uint32_t)a;
        ok1 += (uint32_t)c;
    }
    assert_true(ok0 > 300 && ok1 > 300);
    assert_true(axl_steer_reta_any(&t, 0));
    assert_false(axl_steer_reta_any(&t, 2)); /* parked */
    /* a draining bucket is no one's for new active opens */
    uint32_t b = axl_steer_hash4(US, PEER, 40000, 80) & 127;
    atomic_store(&t.prev[b], 1);
    assert_false(axl_steer_reta_port_ok(&t, US, PEER, 40000, 80, t.owner[b]));
}

/* ---- the engine's side ---------------------------------------------------- */

static void test_engine_counts(void **st)
{
    (void)st;
    static struct axl_steer_reta t;
    static _Atomic uint32_t counts[AXL_STEER_RETA_SIZE];
    struct tfx x;
    struct axl_stack_cfg cfg;
    memset(&t, 0, sizeof(t));
    for (uint32_t b = 0; b < AXL_STEER_RETA_SIZE; b++) {
        atomic_store(&t.owner[b], 0); /* everything ours (queue 0) */
        atomic_store(&t.prev[b], AXL_STEER_NONE);
        atomic_store(&counts[b], 0);
    }
    memset(&cfg, 0, sizeof(cfg));
    cfg.addr.addr = FX_US;
    cfg.addr.prefix = 24;
    cfg.gw = FX_GW;
    cfg.seed = 42;
    cfg.steer_queue = 0;
    cfg.steer_nqueues = 2;
    cfg.steer_reta = &t;
    cfg.tcp_bucket_conns = counts;
    memset(&x, 0, sizeof(x));
    fx_setup_cfg(&x.f, "mem:t0", &cfg);
    fx_drain(&x.f);
    fx_learn(&x.f, FX_PEER, fx_mac_peer);

    /* a passive open: one connection in its bucket */
    tfx_passive(&x, 0, 0, 0);
    uint32_t b = axl_steer_hash4(FX_US, FX_PEER, TF_PORT, TF_PEER_PORT) & 127;
    assert_int_equal(atomic_load(&counts[b]), 1);
    uint32_t sum = 0;
    for (uint32_t k = 0; k < AXL_STEER_RETA_SIZE; k++)
        sum += atomic_load(&counts[k]);
    assert_int_equal(sum, 1);
    /* the peer resets it: the count goes back */
    struct tseg sg = tfx_seg(&x, T_RST);
    tf_send(&x.f, &sg);
    assert_int_equal(atomic_load(&counts[b]), 0);
    axl_tcp_close(x.c);
    x.c = NULL;

    /* a second one (peer port + 1) that we close first: TIME-WAIT is no
     * connection for the drain rule, the TCB stays in the table */
    struct tseg r;
    x.ev.new_conn = 0;
    x.ev.accepted = NULL;
    sg = tfx_seg(&x, T_SYN);
    sg.sport = TF_PEER_PORT + 1;
    sg.seq = 2000000;
    sg.ack = 0;
    tf_send(&x.f, &sg);
    assert_int_equal(tf_recv(&x.f, &r), 0);
    assert_int_equal(r.flags, T_SYN | T_ACK);
    sg = tfx_seg(&x, T_ACK);
    sg.sport = TF_PEER_PORT + 1;
    sg.seq = 2000001;
    sg.ack = r.seq + 1;
    tf_send(&x.f, &sg);
    assert_non_null(x.ev.accepted);
    uint32_t b2 = axl_steer_hash4(FX_US, FX_PEER, TF_PORT, TF_PEER_PORT + 1) & 127;
    assert_int_equal(atomic_load(&counts[b2]), 1);
    struct axl_tcb *t2 = x.ev.accepted;
    axl_tcp_close(t2); /* our FIN */
    fx_poll(&x.f);
    assert_int_equal(tf_recv(&x.f, &r), 0);
    assert_true(r.flags & T_FIN);
    sg = tfx_seg(&x, T_ACK | T_FIN); /* the peer ACKs it and closes */
    sg.sport = TF_PEER_PORT + 1;
    sg.seq = 2000001;
    sg.ack = r.seq + 1;
    tf_send(&x.f, &sg);
    fx_drain(&x.f);
    assert_int_equal(t2->state, AXL_TCP_TIME_WAIT);
    assert_int_equal(axl_tcp_conn_count(x.f.s), 1);
    assert_int_equal(atomic_load(&counts[b2]), 0);

    /* active opens: ports only in buckets the table gives queue 0 */
    struct tev ev2;
    memset(&ev2, 0, sizeof(ev2));
    for (uint32_t k = 0; k < AXL_STEER_RETA_SIZE; k++)
        atomic_store(&t.owner[k], (uint8_t)(k & 1)); /* odd buckets: replica 1 */
    for (int i = 0; i < 8; i++) {
        struct axl_tcb *c;
        assert_int_equal(axl_tcp_connect(x.f.s, FX_PEER, 80, 0, &tev_ops, &ev2, &c), 0);
        uint32_t cb = axl_steer_hash4(FX_US, FX_PEER, c->lport, 80) & 127;
        assert_int_equal(cb & 1, 0);
        assert_int_equal(atomic_load(&counts[cb]) >= 1, 1);
        axl_tcp_abort(c); /* the handle is given back too */
        assert_int_equal(atomic_load(&counts[cb]), 0);
        fx_drain(&x.f);
    }
    /* parked: no bucket is ours, the connect says so at once */
    for (uint32_t k = 0; k < AXL_STEER_RETA_SIZE; k++)
        atomic_store(&t.owner[k], 1);
    struct axl_tcb *c = NULL;
    assert_int_equal(axl_tcp_connect(x.f.s, FX_PEER, 80, 0, &tev_ops, &ev2, &c), AXL_EADDRNOTAVAIL);
    /* every bucket drains from another replica: parked for active opens too */
    for (uint32_t k = 0; k < AXL_STEER_RETA_SIZE; k++) {
        atomic_store(&t.owner[k], 0);
        atomic_store(&t.prev[k], 1);
    }
    assert_int_equal(axl_tcp_connect(x.f.s, FX_PEER, 80, 0, &tev_ops, &ev2, &c), AXL_EADDRNOTAVAIL);
    for (uint32_t k = 0; k < AXL_STEER_RETA_SIZE; k++)
        assert_int_equal(atomic_load(&counts[k]), 0);
    tfx_teardown(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reta_fill),
        cmocka_unit_test(test_move_keeps_flows),
        cmocka_unit_test(test_flow_table_bounds),
        cmocka_unit_test(test_bogus_counts),
        cmocka_unit_test(test_port_picker),
        cmocka_unit_test(test_engine_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
