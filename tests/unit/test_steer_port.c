/* SPDX-License-Identifier: MIT */
/*
 * test_steer_port.c - the source-port picker for active opens (src/net/tcp.c
 * pick_port with axl_stack_cfg.steer_*): an engine told it is queue q of n
 * opens connections whose reply direction hashes (symmetric Toeplitz,
 * src/steer/steer.h) to q, for every q and n; off (n = 0), ports land on
 * every queue; explicit ports are never second-guessed.
 */
#include "stack_fixture.h"

#include "net/tcp.h"
#include "steer/steer.h"

static const struct axl_tcp_ops no_ops;

static void setup_engine(struct fx *f, uint16_t q, uint16_t n)
{
    struct axl_stack_cfg cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.addr.addr = FX_US;
    cfg.addr.prefix = 24;
    cfg.gw = FX_GW;
    cfg.seed = 42 + q + 7u * n;
    cfg.steer_queue = q;
    cfg.steer_nqueues = n;
    fx_setup_cfg(f, "mem:steer", &cfg);
}

/* Open `count` connections to peer:dport; count how many land on each queue
 * of `n` (reply direction: peer -> us). */
static void open_many(struct fx *f, uint32_t count, uint16_t dport, uint32_t n, uint32_t *per_q)
{
    for (uint32_t i = 0; i < count; i++) {
        struct axl_tcb *c = NULL;
        struct axl_tcp_info info;
        assert_int_equal(axl_tcp_connect(f->s, FX_PEER, dport, 0, &no_ops, NULL, &c), 0);
        axl_tcp_get_info(c, &info);
        assert_true(info.lport >= 1024);
        uint32_t h = axl_steer_hash4(FX_PEER, FX_US, dport, info.lport);
        per_q[axl_steer_queue(h, n)]++;
    }
}

static void test_ports_land_on_own_queue(void **state)
{
    (void)state;
    static struct fx f;
    for (uint16_t n = 2; n <= 4; n++)
        for (uint16_t q = 0; q < n; q++) {
            uint32_t per_q[4] = {0};
            setup_engine(&f, q, n);
            open_many(&f, 300, (uint16_t)(5000 + q), n, per_q);
            assert_int_equal(per_q[q], 300);
            fx_teardown(&f);
        }
}

static void test_off_spreads_over_all_queues(void **state)
{
    (void)state;
    static struct fx f;
    uint32_t per_q[4] = {0};
    setup_engine(&f, 0, 0);
    open_many(&f, 400, 5001, 4, per_q);
    for (int q = 0; q < 4; q++)
        assert_true(per_q[q] > 40); /* random ports: every queue gets some */
    fx_teardown(&f);
}

static void test_explicit_port_kept(void **state)
{
    (void)state;
    static struct fx f;
    struct axl_tcb *c = NULL;
    struct axl_tcp_info info;
    setup_engine(&f, 1, 2);
    /* a port that hashes to queue 0 is still used when asked for */
    uint16_t p = 40000;
    while (axl_steer_port_ok(FX_US, FX_PEER, p, 80, 1, 2))
        p++;
    assert_int_equal(axl_tcp_connect(f.s, FX_PEER, 80, p, &no_ops, NULL, &c), 0);
    axl_tcp_get_info(c, &info);
    assert_int_equal(info.lport, p);
    fx_teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ports_land_on_own_queue),
        cmocka_unit_test(test_off_spreads_over_all_queues),
        cmocka_unit_test(test_explicit_port_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
