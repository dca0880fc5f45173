/* SPDX-License-Identifier: MIT */
/*
 * test_chan_hostile.c - a peer that writes garbage where it may write:
 *   - crafted bad indices on every queue and ring, in both directions: each
 *     is refused, counted by kind, offers nothing, and the channel works again
 *     once the index is sane;
 *   - a hostile application process that scribbles random values over every
 *     writable byte of its mappings for ~2 s while the stack (this process)
 *     keeps serving it at full speed: no crash, no out-of-bounds access
 *     (ASan), no stall, violations counted, and the stack's own region and
 *     private state stay consistent.
 */
#include "test_chan_fixture.h"

#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>

#include "core/clock.h"
#include "core/rand.h"

static void test_bad_indices_stack_side(void **state)
{
    (void)state;
    struct axl_chan_params p;
    struct chan_pair cp;
    struct axl_chan_cmd c;
    struct axl_span sp[2];
    struct axl_cspan cs[2];
    unsigned v;
    chan_small_params(&p);
    chan_pair_open(&cp, &p);
    struct axl_chan_actl *actl = cp.app.actl;
    struct axl_chan_stats *st = &cp.stk.stats;

    /* command queue: producer index beyond the queue, or behind the consumer */
    atomic_store(&actl->cmdq_prod, 65);
    assert_int_equal(axl_chan_stk_poll_cmd(&cp.stk, &c, &v), AXL_EMALFORMED);
    assert_int_equal(v, AXL_CHAN_V_QUEUE_INDEX);
    atomic_store(&actl->cmdq_prod, 0xffffffffu);
    assert_int_equal(axl_chan_stk_poll_cmd(&cp.stk, &c, &v), AXL_EMALFORMED);
    assert_int_equal(st->v[AXL_CHAN_V_QUEUE_INDEX], 2);
    atomic_store(&actl->cmdq_prod, 0);
    assert_int_equal(axl_chan_stk_poll_cmd(&cp.stk, &c, &v), 0);

    /* event queue: consumer index beyond what was produced */
    struct axl_chan_event e = {.type = AXL_CHAN_EV_DONE, .sock = AXL_CHAN_SOCK_NONE, .arg = 1};
    for (int i = 0; i < 64; i++)
        assert_int_equal(axl_chan_stk_post(&cp.stk, &e), 0);
    atomic_store(&actl->evq_cons, 65);
    assert_int_equal(axl_chan_stk_post(&cp.stk, &e), AXL_ENOBUFS);
    assert_int_equal(st->v[AXL_CHAN_V_QUEUE_INDEX], 3);
    assert_int_equal(st->queue_full, 1);
    atomic_store(&actl->evq_cons, 60);
    assert_int_equal(axl_chan_stk_post(&cp.stk, &e), 0);

    /* TX ring: producer index more than a ring ahead / behind the consumer */
    int id = axl_chan_stk_sock_alloc(&cp.stk, AXL_CHAN_PROTO_TCP, AXL_CHAN_SS_ESTABLISHED);
    struct axl_chan_line *ln = &cp.app.lines[id];
    atomic_store(&ln->tx_prod, 4097);
    assert_int_equal(axl_chan_stk_tx_peek(&cp.stk, (uint32_t)id, cs), AXL_EMALFORMED);
    assert_int_equal(cs[0].len + cs[1].len, 0);
    atomic_store(&ln->tx_prod, 0xfffffff0u);
    assert_int_equal(axl_chan_stk_tx_peek(&cp.stk, (uint32_t)id, cs), AXL_EMALFORMED);
    atomic_store(&ln->tx_prod, 4096);
    assert_int_equal(axl_chan_stk_tx_peek(&cp.stk, (uint32_t)id, cs), 4096);
    axl_chan_stk_tx_consume(&cp.stk, (uint32_t)id, 4096);

    /* RX ring: consumer index beyond the producer's (once there is data: an
     * empty ring as we last saw it needs no look at the consumer at all) */
    assert_int_equal(axl_chan_stk_rx_reserve(&cp.stk, (uint32_t)id, sp), 4096);
    axl_chan_stk_rx_publish(&cp.stk, (uint32_t)id, 100);
    atomic_store(&ln->rx_cons, 101);
    assert_int_equal(axl_chan_stk_rx_reserve(&cp.stk, (uint32_t)id, sp), AXL_EMALFORMED);
    atomic_store(&ln->rx_cons, 0x80000000u);
    assert_int_equal(axl_chan_stk_rx_reserve(&cp.stk, (uint32_t)id, sp), AXL_EMALFORMED);
    atomic_store(&ln->rx_cons, 100);
    assert_int_equal(axl_chan_stk_rx_reserve(&cp.stk, (uint32_t)id, sp), 4096);
    assert_int_equal(st->v[AXL_CHAN_V_RING_INDEX], 4);

    /* a freed socket's rings are not served */
    axl_chan_stk_sock_free(&cp.stk, (uint32_t)id);
    assert_int_equal(axl_chan_stk_tx_peek(&cp.stk, (uint32_t)id, cs), AXL_EINVAL);
    assert_int_equal(axl_chan_stk_rx_reserve(&cp.stk, (uint32_t)id, sp), AXL_EINVAL);

    assert_int_equal(st->violations, 7);
    assert_int_equal(atomic_load(&cp.app.sctl->violations), 7);
    chan_pair_close(&cp);
}

static void test_bad_indices_app_side(void **state)
{
    (void)state;
    struct axl_chan_params p;
    struct chan_pair cp;
    struct axl_chan_event e;
    struct axl_chan_asock s;
    struct axl_span sp[2];
    struct axl_cspan cs[2];
    unsigned v;
    chan_small_params(&p);
    chan_pair_open(&cp, &p);
    struct axl_chan_sctl *sctl = cp.stk.sctl; /* the stack's writable view */
    struct axl_chan_stats *st = &cp.app.stats;
    int id = axl_chan_stk_sock_alloc(&cp.stk, AXL_CHAN_PROTO_TCP, AXL_CHAN_SS_ESTABLISHED);
    struct axl_chan_slot *sl = &cp.stk.slots[id];
    assert_int_equal(axl_chan_app_sock(&cp.app, (uint32_t)id, 1, &s), 0);

    atomic_store(&sctl->evq_prod, 100);
    assert_int_equal(axl_chan_app_poll_event(&cp.app, &e, &v), AXL_EMALFORMED);
    assert_int_equal(v, AXL_CHAN_V_QUEUE_INDEX);
    atomic_store(&sctl->evq_prod, 0);

    struct axl_chan_cmd c[65];
    memset(c, 0, sizeof(c));
    assert_int_equal(axl_chan_app_submit(&cp.app, c, 65), 64);
    atomic_store(&sctl->cmdq_cons, 65); /* consumed more than was produced */
    assert_int_equal(axl_chan_app_submit(&cp.app, c, 10), 0);
    assert_int_equal(st->v[AXL_CHAN_V_QUEUE_INDEX], 2);
    atomic_store(&sctl->cmdq_cons, 54);
    assert_int_equal(axl_chan_app_submit(&cp.app, c, 65), 54);

    atomic_store(&sl->rx_prod, 4097);
    assert_int_equal(axl_chan_app_rx_peek(&cp.app, &s, cs), AXL_EMALFORMED);
    atomic_store(&sl->rx_prod, 0);
    assert_int_equal(axl_chan_app_tx_reserve(&cp.app, &s, sp), 4096);
    axl_chan_app_tx_publish(&cp.app, &s, 4000);
    atomic_store(&sl->tx_cons, 4001); /* beyond what the app produced */
    assert_int_equal(axl_chan_app_tx_reserve(&cp.app, &s, sp), AXL_EMALFORMED);
    atomic_store(&sl->tx_cons, 4000);
    assert_int_equal(axl_chan_app_tx_reserve(&cp.app, &s, sp), 4096);
    assert_int_equal(st->v[AXL_CHAN_V_RING_INDEX], 2);

    /* slot contents that do not match the layout */
    sl->rx_off += 4096;
    struct axl_chan_asock s2;
    assert_int_equal(axl_chan_app_sock(&cp.app, (uint32_t)id, 1, &s2), AXL_EMALFORMED);
    assert_int_equal(st->v[AXL_CHAN_V_SLOT], 1);
    sl->rx_off -= 4096;

    /* a bad event in the queue is consumed, counted; the next one is fine */
    struct axl_chan_event bad = {.type = 9},
                          good = {.type = AXL_CHAN_EV_CLEANUP, .sock = (uint32_t)id, .gen = 1};
    assert_int_equal(axl_chan_stk_post(&cp.stk, &bad), 0);
    assert_int_equal(axl_chan_stk_post(&cp.stk, &good), 0);
    assert_int_equal(axl_chan_app_poll_event(&cp.app, &e, &v), AXL_EMALFORMED);
    assert_int_equal(v, AXL_CHAN_V_OPCODE);
    assert_int_equal(axl_chan_app_poll_event(&cp.app, &e, &v), 1);
    assert_int_equal(e.type, AXL_CHAN_EV_CLEANUP);
    assert_int_equal(st->violations, 6);
    chan_pair_close(&cp);
}

/* ------------------------------------------------------------------------ */
/* the scribbler                                                             */

#define SCRIBBLE_NS (2 * AXL_NS_PER_S)

/* Child: overwrite every writable byte of its mappings with random values,
 * again and again: whole-region sweeps mixed with random word stores into
 * the index page, hint bitmaps, commands and socket lines. */
static int scribbler(int sock)
{
    struct axl_chan_app a;
    struct axl_chan_hello h;
    struct axl_chan_regmem m;
    int fds[2];
    struct axl_rand rng;
    if (axl_chan_recv_hello(sock, &h, fds) < 0 || axl_chan_map_app(&a, &h, fds) < 0) return 2;
    if (axl_chan_regmem_create(&m, 65536) < 0 || axl_chan_regmem_register(sock, &m, 1) < 0)
        return 3;
    axl_rand_seed(&rng, (uint64_t)getpid());
    uint8_t *base = a.app;
    size_t size = a.lay.size[AXL_CHAN_R_APP];
    size_t ctl_end = a.lay.tx_off; /* index page .. socket lines */
    char go = 1;
    if (send(sock, &go, 1, 0) != 1) return 4;
    for (uint64_t round = 0;; round++) {
        if (round % 64 == 0) { /* sweep everything, including all TX data */
            for (size_t off = 0; off + 8 <= size; off += 8) {
                uint64_t x = axl_rand_u64(&rng);
                memcpy(base + off, &x, 8);
            }
            for (size_t off = 0; off + 8 <= m.size; off += 8) {
                uint64_t x = axl_rand_u64(&rng);
                memcpy(m.base + off, &x, 8);
            }
        }
        /* the control part, word by word; every other round spares the index
         * page so that commands flow and get decoded */
        size_t from = round & 1 ? AXL_CHAN_PAGE : 0;
        for (int i = 0; i < 4096; i++) {
            size_t off = from + axl_rand_below(&rng, (uint32_t)((ctl_end - from) / 4)) * 4;
            uint32_t x = (uint32_t)axl_rand_u64(&rng);
            /* small values near the real indices now and then */
            if (x & 1) x = (x >> 24) - 128;
            memcpy(base + off, &x, 4);
        }
        /* in the rounds that spare the index page, behave for a moment: put
         * our real producer index back and send a few valid commands too */
        if (round & 1) {
            /* Our own scribbling may have let the stack consume garbage past
             * our private producer index: adopt its consumer index (a real
             * app that did this to itself would have to do the same), then
             * publish. */
            a.cmdq.cached_prod = a.cmdq.cached_cons = atomic_load(a.cmdq.cons);
            atomic_store(&a.actl->cmdq_prod, a.cmdq.cached_prod);
            struct axl_chan_cmd ok[2];
            uint32_t id = (uint32_t)round % 8;
            memset(ok, 0, sizeof(ok));
            ok[0].op = AXL_CHAN_OP_RECV_DONE;
            ok[0].sock = id;
            ok[0].gen = 1;
            ok[0].len = 1;
            ok[1].op = AXL_CHAN_OP_SEND;
            ok[1].flags = AXL_CHAN_SENDF_REG;
            ok[1].sock = id;
            ok[1].gen = 1;
            ok[1].off = round % 60000;
            ok[1].len = 4096;
            ok[1].pos = atomic_load(&a.slots[id].tx_cons);
            axl_chan_app_submit(&a, ok, 2);
            axl_chan_app_kick(&a);
            /* Every 16th such round, leave the index page alone until the
             * stack has taken what we published (bounded: 20 ms), so that
             * valid commands get through however the two processes are
             * scheduled. */
            if (round % 32 == 1) {
                uint64_t t = axl_clock_ns();
                while (atomic_load(a.cmdq.cons) != a.cmdq.cached_prod &&
                       axl_clock_ns() - t < 20 * AXL_NS_PER_MS)
                    ;
            }
        }
        /* and some well-formed-looking commands with random fields */
        struct axl_chan_cmd c;
        for (int i = 0; i < 8; i++) {
            uint64_t r = axl_rand_u64(&rng);
            memset(&c, 0, sizeof(c));
            c.op = (uint16_t)(1 + r % 10);
            c.sock = (uint32_t)(r >> 8) % 70;
            c.gen = (uint32_t)(r >> 16) % 3;
            c.len = (uint32_t)(r >> 20) % 5000;
            c.flags = (uint16_t)((r >> 40) & 1);
            c.region = (uint32_t)(r >> 41) % 3;
            c.off = (r >> 44) % 70000;
            c.pos = (uint32_t)axl_rand_u64(&rng);
            axl_chan_app_submit(&a, &c, 1);
        }
        axl_chan_app_kick(&a);
    }
}

static void test_hostile_scribbler(void **state)
{
    (void)state;
    int sv[2];
    struct axl_chan_params p;
    struct axl_chan_stk ch;
    struct axl_chan_msg m;
    int fds[AXL_CHAN_MSG_FDS_MAX];
    uint32_t ids[64];
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(sv[0]);
        _exit(scribbler(sv[1]));
    }
    close(sv[1]);
    chan_small_params(&p);
    assert_int_equal(axl_chan_create(&ch, &p, 9), 0);
    /* a few sockets with rings in use, before the app starts scribbling */
    for (int i = 0; i < 8; i++)
        assert_int_equal(axl_chan_stk_sock_alloc(&ch, AXL_CHAN_PROTO_TCP, AXL_CHAN_SS_ESTABLISHED),
                         i);
    assert_int_equal(axl_chan_send_hello(sv[0], &ch), 0);
    axl_chan_stk_drop_fds(&ch);
    assert_int_equal(axl_chan_msg_recv(sv[0], &m, fds), 0);
    assert_true(axl_chan_stk_serve_regmem(&ch, sv[0], &m, fds[0]) >= 0);
    char go;
    assert_int_equal(recv(sv[0], &go, 1, 0), 1);

    uint64_t t0 = axl_clock_ns(), iters = 0, cmds = 0, bytes_in = 0, bytes_out = 0, sum = 0;
    uint64_t max_iter_ns = 0;
    uint32_t rx_pub[8] = {0};
    while (axl_clock_ns() - t0 < SCRIBBLE_NS) {
        uint64_t it0 = axl_clock_ns();
        struct axl_chan_cmd c;
        unsigned v;
        int r, budget = 256;
        while (budget-- > 0 && (r = axl_chan_stk_poll_cmd(&ch, &c, &v)) != 0) {
            if (r == 1) {
                cmds++;
                if (c.op == AXL_CHAN_OP_SEND && (c.flags & AXL_CHAN_SENDF_REG)) {
                    const uint8_t *d = axl_chan_stk_regmem_ptr(&ch, c.region, c.off, c.len);
                    assert_non_null(d); /* the decoder let it through: it must be mapped */
                    for (uint32_t k = 0; k < c.len; k += 512)
                        sum += d[k];
                }
            }
        }
        uint32_t n = axl_chan_stk_scan(&ch, ids, 64);
        for (uint32_t i = 0; i < n; i++)
            assert_true(ids[i] < p.max_socks);
        for (uint32_t id = 0; id < 8; id++) {
            struct axl_cspan cs[2];
            struct axl_span sp[2];
            int k = axl_chan_stk_tx_peek(&ch, id, cs);
            if (k > 0) {
                for (int s = 0; s < 2; s++) /* read every byte offered (ASan checks) */
                    for (uint32_t b = 0; b < cs[s].len; b++)
                        sum += cs[s].p[b];
                axl_chan_stk_tx_consume(&ch, id, (uint32_t)k / 2 + 1);
                bytes_in += (uint32_t)k;
            }
            k = axl_chan_stk_rx_reserve(&ch, id, sp);
            if (k > 0) {
                uint32_t w = (uint32_t)k < 1000u ? (uint32_t)k : 1000u;
                uint32_t w0 = w < sp[0].len ? w : sp[0].len;
                memset(sp[0].p, 0xab, w0);
                memset(sp[1].p, 0xab, w - w0);
                axl_chan_stk_rx_publish(&ch, id, w);
                rx_pub[id] += w;
                bytes_out += w;
            }
            struct axl_chan_event e = {.type = AXL_CHAN_EV_NEW_DATA,
                                       .sock = id,
                                       .gen = atomic_load(&ch.slots[id].gen),
                                       .arg = 1};
            axl_chan_stk_post(&ch, &e);
        }
        axl_chan_stk_kick(&ch);
        if (iters % 128 == 0) axl_chan_stk_sleep(&ch, AXL_NS_PER_MS); /* even sleeping is safe */
        iters++;
        uint64_t dt = axl_clock_ns() - it0;
        if (dt > max_iter_ns) max_iter_ns = dt;
    }
    kill(pid, SIGKILL); /* our own child */
    int rc = chan_wait_child(pid);
    close(sv[0]);
    print_message("  scribbler: %llu iterations (longest %.1f ms), %llu cmds accepted, %llu "
                  "violations (queue %llu ring %llu opcode %llu gen %llu free %llu), TX read "
                  "%llu B, RX written %llu B, wakes %llu suppressed %llu (sum %llu)\n",
                  (unsigned long long)iters, max_iter_ns / 1e6, (unsigned long long)cmds,
                  (unsigned long long)ch.stats.violations,
                  (unsigned long long)ch.stats.v[AXL_CHAN_V_QUEUE_INDEX],
                  (unsigned long long)ch.stats.v[AXL_CHAN_V_RING_INDEX],
                  (unsigned long long)ch.stats.v[AXL_CHAN_V_OPCODE],
                  (unsigned long long)ch.stats.v[AXL_CHAN_V_GEN],
                  (unsigned long long)ch.stats.v[AXL_CHAN_V_FREE], (unsigned long long)bytes_in,
                  (unsigned long long)bytes_out, (unsigned long long)ch.stats.wakes,
                  (unsigned long long)ch.stats.wakes_suppressed, (unsigned long long)sum);
    assert_int_equal(rc, 128 + SIGKILL); /* it scribbled until we stopped it */
    assert_true(iters > 1000);           /* the stack kept going */
    assert_true(ch.stats.violations > 100);
    assert_true(cmds > 100); /* and valid commands got through meanwhile */
    assert_true(ch.stats.v[AXL_CHAN_V_QUEUE_INDEX] > 0 && ch.stats.v[AXL_CHAN_V_RING_INDEX] > 0);
    uint64_t kinds = 0;
    for (int k = 0; k < AXL_CHAN_V_COUNT; k++)
        kinds += ch.stats.v[k];
    assert_int_equal(kinds, ch.stats.violations);
    /* The stack's region says exactly what the stack did. */
    assert_int_equal(ch.hdr->magic, AXL_CHAN_MAGIC);
    assert_int_equal(atomic_load(&ch.sctl->violations), (uint32_t)ch.stats.violations);
    for (uint32_t id = 0; id < 8; id++) {
        assert_int_equal(atomic_load(&ch.slots[id].gen), 1);
        assert_int_equal(atomic_load(&ch.slots[id].state), AXL_CHAN_SS_ESTABLISHED);
        assert_int_equal(atomic_load(&ch.slots[id].rx_prod), ch.sock[id].rx.pos);
        assert_int_equal(atomic_load(&ch.slots[id].tx_cons), ch.sock[id].tx.pos);
        assert_int_equal(ch.sock[id].rx.pos - rx_pub[id], 0); /* rebased at 0 before the hello */
    }
    for (uint32_t id = 8; id < p.max_socks; id++)
        assert_int_equal(atomic_load(&ch.slots[id].state), AXL_CHAN_SS_FREE);
    assert_int_equal(ch.nfree, p.max_socks - 8);
    axl_chan_stk_close(&ch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_indices_stack_side),
        cmocka_unit_test(test_bad_indices_app_side),
        cmocka_unit_test(test_hostile_scribbler),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
