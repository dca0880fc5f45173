/* SPDX-License-Identifier: MIT */
/*
 * test_dirport.c - the director (src/stackd/director.c) and its "dir" ports
 * (src/port/dirport.c) in one process, the device being an in-memory port:
 *  - RX frames reach the replica the symmetric hash names, as descriptors of
 *    the shared area (the buffer changes owner, nothing is copied); ARP goes
 *    to every replica;
 *  - TX frames of every replica reach the device; the replica's share of
 *    buffers is paid back;
 *  - bad descriptors on FILL and TX (outside the area, another's buffer,
 *    lengths) are refused and counted by the director; bad RX descriptors are
 *    refused and counted by the port;
 *  - a replica process that dies holding buffers: the director notices and
 *    takes them back; its successor attaches and is served;
 *  - after detach every buffer is the director's again (accounting full).
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "port/dirport.h"
#include "port/memport.h"
#include "stackd/director.h"
#include "steer/steer.h"

#define NREP 2u
#define QUOTA 256u
#define NBUFS (NREP * QUOTA + 1024u)
#define RING 256u

static const uint32_t US = 0xc6120002u;   /* 198.18.0.2 */
static const uint32_t PEER = 0xc6120001u; /* 198.18.0.1 */

struct rig {
    int memfd, bells[NREP], dbell;
    struct axl_dir_geom g;
    struct axl_director d;
    struct axl_port dev;
    struct axl_pool rpool[NREP];
    struct axl_port rport[NREP];
    int open[NREP];
    /* what each replica received: the 32-bit tag in the payload */
    uint32_t got[NREP][1024];
    uint32_t ngot[NREP];
};

static uint32_t mkudp(uint8_t *f, uint16_t sport, uint16_t dport, uint32_t tag)
{
    memset(f, 0, 60);
    static const uint8_t dst[6] = {2, 0, 0, 0, 0, 1}, src[6] = {2, 0, 0, 0, 0, 2};
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    f[12] = 0x08;
    f[13] = 0x00;
    uint8_t *ip = f + 14;
    ip[0] = 0x45;
    ip[3] = 32; /* total length 20 + 8 + 4 */
    ip[8] = 64;
    ip[9] = 17;
    for (int i = 0; i < 4; i++) {
        ip[12 + i] = (uint8_t)(PEER >> (24 - 8 * i));
        ip[16 + i] = (uint8_t)(US >> (24 - 8 * i));
    }
    uint8_t *u = ip + 20;
    u[0] = (uint8_t)(sport >> 8);
    u[1] = (uint8_t)sport;
    u[2] = (uint8_t)(dport >> 8);
    u[3] = (uint8_t)dport;
    u[5] = 12;
    memcpy(u + 8, &tag, 4);
    return 60;
}

static uint32_t mkarp(uint8_t *f)
{
    memset(f, 0, 60);
    memset(f, 0xff, 6);
    f[6] = 2;
    f[11] = 2;
    f[12] = 0x08;
    f[13] = 0x06;
    return 60;
}

static uint32_t expect_q(uint16_t sport, uint16_t dport)
{
    return axl_steer_queue(axl_steer_hash4(PEER, US, sport, dport), NREP);
}

static void rig_up(struct rig *r)
{
    struct axl_dir_layout l;
    struct axl_port_cfg dc;
    char err[128];

    memset(r, 0, sizeof(*r));
    r->g = (struct axl_dir_geom){NREP, NBUFS, 2048, RING};
    assert_int_equal(axl_dir_layout(&r->g, &l), 0);
    r->memfd = memfd_create("test-dir", MFD_CLOEXEC);
    assert_true(r->memfd >= 0);
    assert_int_equal(ftruncate(r->memfd, (off_t)l.total), 0);
    r->dbell = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    for (uint32_t q = 0; q < NREP; q++)
        r->bells[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    assert_int_equal(axl_director_init(&r->d, &r->g, r->memfd, r->bells, r->dbell, QUOTA, 1), 0);
    assert_int_equal(axl_port_parse_spec("mem:dev,rxcap=8192,txcap=8192", &dc, err, sizeof(err)),
                     0);
    dc.pool = &r->d.pool;
    assert_int_equal(axl_port_open(&r->dev, &dc), 0);
    axl_director_start(&r->d, &r->dev);
}

static void rep_open(struct rig *r, uint32_t q, uint32_t wait_ms)
{
    char spec[256], err[128];
    struct axl_port_cfg c;
    snprintf(spec, sizeof(spec), "dir:%d:%u,bufs=%u,bsize=2048,ring=%u,bell=%d,dbell=%d,wait_ms=%u",
             r->memfd, NREP, NBUFS, RING, r->bells[q], r->dbell, wait_ms);
    assert_int_equal(axl_port_parse_spec(spec, &c, err, sizeof(err)), 0);
    assert_int_equal(axl_dirport_pool_attach(&r->rpool[q], &c), 0);
    c.pool = &r->rpool[q];
    c.queue = q;
    assert_int_equal(axl_port_open(&r->rport[q], &c), 0);
    r->open[q] = 1;
}

static void rep_close(struct rig *r, uint32_t q)
{
    if (!r->open[q]) return;
    axl_port_close(&r->rport[q]);
    axl_pool_fini(&r->rpool[q]);
    r->open[q] = 0;
}

/* Director iterations and replica bursts; received frames are recorded and
 * freed (as an engine would). */
static void pump(struct rig *r, int rounds)
{
    struct axl_pkt *pk[64];
    for (int i = 0; i < rounds; i++) {
        axl_director_poll(&r->d, axl_clock_ns());
        for (uint32_t q = 0; q < NREP; q++) {
            if (!r->open[q]) continue;
            uint32_t n = axl_port_rx_burst(&r->rport[q], pk, 64);
            for (uint32_t k = 0; k < n; k++) {
                /* the frame lies in the shared area, in a buffer now ours */
                assert_true(pk[k]->data >= r->rpool[q].base &&
                            pk[k]->data + pk[k]->len <= r->rpool[q].base + r->rpool[q].size);
                uint32_t tag = 0xffffffffu;
                if (pk[k]->len >= 46 && pk[k]->data[12] == 0x08 && pk[k]->data[13] == 0x00)
                    memcpy(&tag, pk[k]->data + 42, 4);
                if (r->ngot[q] < 1024) r->got[q][r->ngot[q]++] = tag;
                axl_pkt_free(&r->rpool[q], pk[k]);
            }
            axl_port_flush(&r->rport[q]);
        }
    }
}

static void rig_down(struct rig *r)
{
    for (uint32_t q = 0; q < NREP; q++)
        rep_close(r, q);
    axl_port_close(&r->dev);
    axl_director_fini(&r->d);
    close(r->memfd);
    close(r->dbell);
    for (uint32_t q = 0; q < NREP; q++)
        close(r->bells[q]);
}

static int has_tag(const struct rig *r, uint32_t q, uint32_t tag)
{
    for (uint32_t i = 0; i < r->ngot[q]; i++)
        if (r->got[q][i] == tag) return 1;
    return 0;
}

/* Every buffer is somewhere: the director's table and pool agree. */
static void check_accounting(struct rig *r)
{
    uint32_t sum = axl_director_owned(&r->d, -1);
    for (uint32_t q = 0; q < NREP; q++)
        sum += axl_director_owned(&r->d, (int)q);
    assert_int_equal(sum, NBUFS);
}

static void test_steer_by_hash(void **state)
{
    (void)state;
    struct rig *r = calloc(1, sizeof(*r));
    uint8_t f[64];
    uint32_t want[NREP] = {0};
    rig_up(r);
    rep_open(r, 0, 0);
    rep_open(r, 1, 0);
    pump(r, 4); /* attach: quota granted, FILL posted */
    for (uint32_t q = 0; q < NREP; q++)
        assert_int_equal(axl_director_owned(&r->d, (int)q), QUOTA);
    for (uint32_t i = 0; i < 200; i++) {
        uint16_t sport = (uint16_t)(40000 + i * 7);
        assert_int_equal(axl_memport_inject(&r->dev, f, mkudp(f, sport, 7, i), 0), 0);
        want[expect_q(sport, 7)]++;
    }
    pump(r, 20);
    assert_int_equal(r->d.st.rx_steered, 200);
    assert_int_equal(r->d.st.rx_bcast_copies, 0); /* no copy on the unicast path */
    assert_true(want[0] > 0 && want[1] > 0);
    for (uint32_t q = 0; q < NREP; q++)
        assert_int_equal(r->ngot[q], want[q]);
    for (uint32_t i = 0; i < 200; i++)
        assert_true(has_tag(r, expect_q((uint16_t)(40000 + i * 7), 7), i));
    /* each replica's share is unchanged by the swaps */
    for (uint32_t q = 0; q < NREP; q++)
        assert_int_equal(axl_director_owned(&r->d, (int)q), QUOTA);
    check_accounting(r);

    /* ARP carries no flow: every replica gets it */
    assert_int_equal(axl_memport_inject(&r->dev, f, mkarp(f), 0), 0);
    pump(r, 4);
    assert_int_equal(r->d.st.rx_bcast, 1);
    assert_int_equal(r->d.st.rx_bcast_copies, NREP);
    for (uint32_t q = 0; q < NREP; q++)
        assert_int_equal(r->ngot[q], want[q] + 1);
    rig_down(r);
    free(r);
}

static void test_tx_through_director(void **state)
{
    (void)state;
    struct rig *r = calloc(1, sizeof(*r));
    uint8_t f[64], out[2048];
    rig_up(r);
    rep_open(r, 0, 0);
    rep_open(r, 1, 0);
    pump(r, 4);
    for (uint32_t round = 0; round < 50; round++)
        for (uint32_t q = 0; q < NREP; q++) {
            struct axl_pkt *p = axl_pkt_alloc(&r->rpool[q]);
            assert_non_null(p);
            p->len = mkudp(f, 7, (uint16_t)(1000 + q), round * 10 + q);
            memcpy(p->data, f, p->len);
            assert_int_equal(axl_port_tx_burst(&r->rport[q], &p, 1), 1);
            axl_port_flush(&r->rport[q]);
        }
    pump(r, 10);
    assert_int_equal(r->d.st.tx_frames, 100);
    assert_int_equal(axl_memport_tx_pending(&r->dev), 100);
    uint32_t seen[NREP] = {0};
    for (uint32_t i = 0; i < 100; i++) {
        int n = axl_memport_collect(&r->dev, out, sizeof(out));
        assert_int_equal(n, 60);
        uint32_t q = (uint32_t)((out[36] << 8 | out[37]) - 1000); /* UDP dport */
        assert_true(q < NREP);
        uint32_t tag;
        memcpy(&tag, out + 42, 4);
        assert_int_equal(tag % 10, q);
        seen[q]++;
    }
    assert_int_equal(seen[0], 50);
    assert_int_equal(seen[1], 50);
    /* repaid: each replica holds its quota again */
    for (uint32_t q = 0; q < NREP; q++)
        assert_int_equal(axl_director_owned(&r->d, (int)q), QUOTA);
    check_accounting(r);
    rig_down(r);
    free(r);
}

/* A producer handle on ring `which` of replica q, bypassing its port. */
static void raw_prod(struct rig *r, uint32_t q, enum axl_dir_ring which, struct axl_ring_prod *h)
{
    struct axl_dir_layout l;
    axl_dir_layout(&r->g, &l);
    uint8_t *b = r->d.ctl + axl_dir_block_off(&l, q) + axl_dir_ring_off(&l, which);
    axl_ring_prod_attach(h, (struct axl_ring_shared *)b, RING, sizeof(struct axl_dir_desc));
}

static void raw_put(struct axl_ring_prod *h, uint32_t buf, uint16_t off, uint16_t len)
{
    uint32_t idx;
    assert_int_equal(axl_ring_prod__reserve(h, 1, &idx), 1);
    struct axl_dir_desc *e = axl_ring_prod__entry(h, idx);
    e->buf = buf;
    e->off = off;
    e->len = len;
    axl_ring_prod__submit(h, 1);
}

static uint32_t first_owned(const struct axl_director *d, int who)
{
    for (uint32_t b = 0; b < NBUFS; b++)
        if (d->owner[b] == (who < 0 ? 0 : who + 1)) return b;
    fail_msg("nobody owns anything");
    return 0;
}

static void test_bad_descriptors(void **state)
{
    (void)state;
    struct rig *r = calloc(1, sizeof(*r));
    struct axl_ring_prod h;
    uint8_t f[64];
    rig_up(r);
    rep_open(r, 0, 0);
    pump(r, 4);
    /* replica 1: the director attaches it, but we write its rings by hand */
    rep_open(r, 1, 0);
    r->open[1] = 0; /* pump leaves its port alone */
    pump(r, 2);
    assert_int_equal(axl_director_owned(&r->d, 1), QUOTA);
    uint32_t mine = first_owned(&r->d, 1), other = first_owned(&r->d, 0),
             dirs = first_owned(&r->d, -1);

    /* FILL: outside the area, replica 0's buffer, the director's, then ours */
    raw_prod(r, 1, AXL_DIR_FILL, &h);
    raw_put(&h, NBUFS + 5, 0, 0);
    raw_put(&h, other, 0, 0);
    raw_put(&h, dirs, 0, 0);
    raw_put(&h, mine, 0, 0);
    uint16_t sport = 1;
    while (expect_q(sport, 9) != 1)
        sport++;
    axl_memport_inject(&r->dev, f, mkudp(f, sport, 9, 77), 0);
    pump(r, 2);
    assert_int_equal(r->d.st.bad_fill, 3);
    assert_int_equal(r->d.st.rx_steered, 1);
    assert_int_equal(r->d.owner[mine], 0); /* swapped: the director's now */
    axl_memport_inject(&r->dev, f, mkudp(f, sport, 9, 78), 0);
    pump(r, 2);
    assert_int_equal(r->d.st.drop_nofill, 1); /* nothing valid left on FILL */

    /* TX: outside, not ours, too long, past the buffer end, then one good */
    uint32_t mine2 = first_owned(&r->d, 1);
    memcpy(r->d.pool.base + (size_t)mine2 * 2048 + 256, f, 60);
    raw_prod(r, 1, AXL_DIR_TX, &h);
    raw_put(&h, NBUFS, 256, 60);
    raw_put(&h, other, 256, 60);
    raw_put(&h, mine2, 256, 5000);
    raw_put(&h, mine2, 2040, 60);
    raw_put(&h, mine2, 256, 10);
    raw_put(&h, mine2, 256, 60);
    raw_put(&h, mine2, 256, 60); /* the same buffer twice: no longer ours */
    pump(r, 2);
    assert_int_equal(r->d.st.bad_tx, 6);
    assert_int_equal(r->d.st.tx_frames, 1);
    assert_int_equal(axl_memport_tx_pending(&r->dev), 1);
    check_accounting(r);

    /* RX at the replica: the port refuses what the director must not send */
    struct axl_pkt *held = axl_pkt_alloc(&r->rpool[0]);
    assert_non_null(held);
    struct axl_port_stats before = r->rport[0].stats;
    struct axl_dirport_info info;
    raw_prod(r, 0, AXL_DIR_RX, &h);
    raw_put(&h, NBUFS + 1, 256, 60);   /* outside the area */
    raw_put(&h, held->idx, 256, 60);   /* a buffer the engine holds */
    raw_put(&h, dirs + 1, 256, 10);    /* runt */
    raw_put(&h, dirs + 1, 2000, 100);  /* past the buffer end */
    struct axl_pkt *pk[8];
    assert_int_equal(axl_port_rx_burst(&r->rport[0], pk, 8), 0);
    assert_int_equal(r->rport[0].stats.rx_errors - before.rx_errors, 4);
    assert_int_equal(axl_dirport_info(&r->rport[0], &info), 0);
    assert_int_equal(info.bad_rx_desc, 4);
    axl_pkt_free(&r->rpool[0], held);
    r->open[1] = 1;
    rig_down(r);
    free(r);
}

/* A replica process dies holding buffers; its successor is served. */
static void test_replica_death_reclaim(void **state)
{
    (void)state;
    struct rig *r = calloc(1, sizeof(*r));
    uint8_t f[64];
    rig_up(r);
    rep_open(r, 0, 0);
    pump(r, 4);
    uint16_t s1 = 1;
    while (expect_q(s1, 9) != 1)
        s1++;
    uint16_t s0 = 1;
    while (expect_q(s0, 9) != 0)
        s0++;

    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) { /* the doomed replica 1: takes 5 frames, keeps them, dies */
        struct axl_pkt *pk[8];
        uint32_t got = 0;
        rep_open(r, 1, 0);
        uint64_t t0 = axl_clock_ns();
        while (got < 5 && axl_clock_ns() - t0 < 5 * AXL_NS_PER_S) {
            got += axl_port_rx_burst(&r->rport[1], pk, 1);
            struct timespec ts = {0, 100000};
            nanosleep(&ts, NULL);
        }
        _exit(got >= 5 ? 0 : 3); /* no close: a crash */
    }
    int ws = 0, done = 0;
    uint32_t tag = 0;
    uint64_t t0 = axl_clock_ns();
    while (!done && axl_clock_ns() - t0 < 10 * AXL_NS_PER_S) {
        axl_memport_inject(&r->dev, f, mkudp(f, s1, 9, 1000 + tag), 0);
        axl_memport_inject(&r->dev, f, mkudp(f, s0, 9, 2000 + tag), 0);
        tag++;
        pump(r, 1);
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
        done = waitpid(pid, &ws, WNOHANG) == pid;
    }
    assert_true(done);
    assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    assert_true(r->ngot[0] > 0); /* replica 0 was served all along */
    /* the director notices within its peer-check period */
    t0 = axl_clock_ns();
    while (r->d.st.peers_dead == 0 && axl_clock_ns() - t0 < 5 * AXL_NS_PER_S) {
        pump(r, 1);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(r->d.st.peers_dead, 1);
    assert_int_equal(axl_director_owned(&r->d, 1), 0);
    assert_true(r->d.st.reclaimed >= QUOTA);
    check_accounting(r);
    uint32_t n0 = r->ngot[0];
    axl_memport_inject(&r->dev, f, mkudp(f, s1, 9, 5555), 0);
    axl_memport_inject(&r->dev, f, mkudp(f, s0, 9, 6666), 0);
    pump(r, 2);
    assert_true(r->d.st.drop_detached >= 1); /* nobody to take it */
    assert_true(has_tag(r, 0, 6666) && r->ngot[0] == n0 + 1);

    /* the successor attaches and is served */
    rep_open(r, 1, 0);
    pump(r, 4);
    assert_int_equal(axl_director_owned(&r->d, 1), QUOTA);
    axl_memport_inject(&r->dev, f, mkudp(f, s1, 9, 7777), 0);
    pump(r, 4);
    assert_true(has_tag(r, 1, 7777));
    check_accounting(r);
    rig_down(r);
    free(r);
}

static void test_accounting_back_to_full(void **state)
{
    (void)state;
    struct rig *r = calloc(1, sizeof(*r));
    uint8_t f[64];
    rig_up(r);
    uint32_t dev_held = axl_pool_in_use(&r->d.pool); /* the mem device holds none */
    assert_int_equal(dev_held, 0);
    rep_open(r, 0, 0);
    rep_open(r, 1, 0);
    pump(r, 4);
    for (uint32_t i = 0; i < 300; i++) {
        axl_memport_inject(&r->dev, f, mkudp(f, (uint16_t)(2000 + i), 53, i), 0);
        if (i % 3 == 0) {
            uint32_t q = i % NREP;
            struct axl_pkt *p = axl_pkt_alloc(&r->rpool[q]);
            assert_non_null(p);
            p->len = mkudp(f, 53, 9, i);
            memcpy(p->data, f, p->len);
            axl_port_tx_burst(&r->rport[q], &p, 1);
        }
        if (i % 16 == 0) pump(r, 1);
    }
    pump(r, 20);
    assert_int_equal(r->ngot[0] + r->ngot[1], 300);
    assert_int_equal(r->d.st.tx_frames, 100);
    rep_close(r, 0);
    rep_close(r, 1);
    pump(r, 2);
    assert_int_equal(r->d.st.detaches, 2);
    assert_int_equal(axl_director_owned(&r->d, -1), NBUFS);
    assert_int_equal(r->d.pool.nfree, NBUFS); /* every buffer back */
    assert_int_equal(r->d.pool.double_free + r->d.pool.bad_free, 0);
    rig_down(r);
    free(r);
}

static void test_bad_geometry(void **state)
{
    (void)state;
    struct axl_director d;
    struct axl_dir_geom g = {2, 1000, 2048, RING};
    int bells[2] = {-1, -1};
    /* 2 x 512 does not fit in 1000 buffers */
    assert_int_equal(axl_director_init(&d, &g, -1, bells, -1, 512, 1), AXL_EINVAL);
    g.ring = 100; /* not a power of two */
    struct axl_dir_layout l;
    assert_int_equal(axl_dir_layout(&g, &l), AXL_EINVAL);
    struct axl_port_cfg c;
    char err[128];
    struct axl_pool pool;
    assert_int_equal(axl_port_parse_spec("dir:3:2,bufs=10", &c, err, sizeof(err)), 0);
    assert_int_equal(axl_dirport_pool_attach(&pool, &c), AXL_EINVAL); /* bsize, bell missing */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steer_by_hash),
        cmocka_unit_test(test_tx_through_director),
        cmocka_unit_test(test_bad_descriptors),
        cmocka_unit_test(test_replica_death_reclaim),
        cmocka_unit_test(test_accounting_back_to_full),
        cmocka_unit_test(test_bad_geometry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
