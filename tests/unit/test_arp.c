/* SPDX-License-Identifier: MIT */
/*
 * test_arp.c - the ARP cache (net/arp.c) driven by a fake clock: resolution
 * and the pending queue flushed on reply, retries then give-up with a local
 * ICMP host unreachable, pending overflow, aging REACHABLE -> STALE -> probe
 * -> gone, RFC 826 merge/learn rules, eviction when full, RFC 5227 probes and
 * conflicts.
 */
#include "stack_fixture.h"

static const uint8_t mac3[6] = {0x02, 0, 0, 0, 0, 0x03};
static const uint8_t zero_mac[6];

static int setup(void **state)
{
    static struct fx f;
    fx_setup(&f, "mem:t0");
    fx_drain(&f);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fx_teardown(*state);
    return 0;
}

static void inject_reply(struct fx *f, const uint8_t *mac, uint32_t ip)
{
    uint8_t b[64];
    fx_inject(f, b, fx_arp(b, fx_mac_us, mac, 2, mac, ip, fx_mac_us, FX_US));
    fx_poll(f);
}

/* The next frame must be an ARP request for `ip`; returns its Ethernet dst. */
static const uint8_t *expect_request(struct fx *f, uint32_t ip)
{
    assert_int_equal(fx_collect(f), 60);
    assert_int_equal(get16(f->out + 12), 0x0806);
    assert_int_equal(get16(f->out + 14 + 6), 1);
    assert_memory_equal(f->out + 14 + 8, fx_mac_us, 6);
    assert_int_equal(get32(f->out + 14 + 14), FX_US);
    assert_memory_equal(f->out + 14 + 18, zero_mac, 6);
    assert_int_equal(get32(f->out + 14 + 24), ip);
    return f->out;
}

static void test_resolve_flushes_pending_in_order(void **state)
{
    struct fx *f = *state;
    struct axl_udp_sock *us;

    assert_int_equal(axl_udp_bind(f->s, 3000, NULL, NULL, &us), 0);
    for (uint8_t i = 0; i < 3; i++)
        assert_int_equal(axl_udp_sendto(f->s, us, &i, 1, FX_PEER, 3001), 1);
    fx_poll(f);
    assert_memory_equal(expect_request(f, FX_PEER), fx_mac_bcast, 6);
    assert_int_equal(fx_collect(f), AXL_EAGAIN); /* one request, not three */
    const struct axl_arp_entry *e = axl_arp_lookup(f->s, FX_PEER);
    assert_non_null(e);
    assert_int_equal(e->state, AXL_ARP_INCOMPLETE);
    assert_int_equal(e->npend, 3);

    inject_reply(f, fx_mac_peer, FX_PEER);
    assert_int_equal(e->state, AXL_ARP_REACHABLE);
    assert_int_equal(e->npend, 0);
    for (uint8_t i = 0; i < 3; i++) {
        assert_true(fx_collect(f) > 0);
        assert_memory_equal(f->out, fx_mac_peer, 6);
        assert_int_equal(f->out[14 + 20 + 8], i);
    }
    assert_int_equal(fx_collect(f), AXL_EAGAIN);
    assert_int_equal(fx_stat(f, "ArpOutRequests"), 1);
    axl_udp_close(f->s, us);
}

static void test_retries_then_host_unreachable(void **state)
{
    struct fx *f = *state;
    struct axl_udp_sock *us;
    uint8_t r[8];

    assert_int_equal(axl_udp_bind(f->s, 3002, NULL, NULL, &us), 0);
    assert_int_equal(axl_udp_sendto(f->s, us, "a", 1, FX_PEER3, 9), 1);
    assert_int_equal(axl_udp_sendto(f->s, us, "b", 1, FX_PEER3, 9), 1);
    fx_poll(f);
    expect_request(f, FX_PEER3);
    /* RFC 1122 §2.3.2.1: at most one request per second */
    fx_advance(f, 999 * AXL_NS_PER_MS);
    assert_int_equal(fx_collect(f), AXL_EAGAIN);
    fx_advance(f, 1 * AXL_NS_PER_MS);
    expect_request(f, FX_PEER3);
    fx_advance(f, AXL_NS_PER_S);
    expect_request(f, FX_PEER3);
    assert_int_equal(fx_stat(f, "ArpOutRequests"), 3);
    assert_int_equal(fx_stat(f, "ArpResolveFails"), 0);
    fx_advance(f, AXL_NS_PER_S);
    /* given up: nothing more on the wire, no ICMP to ourselves on the wire */
    assert_int_equal(fx_collect(f), AXL_EAGAIN);
    assert_null(axl_arp_lookup(f->s, FX_PEER3));
    assert_int_equal(fx_stat(f, "ArpResolveFails"), 1);
    assert_int_equal(fx_stat(f, "DropArpUnresolved"), 2);
    assert_int_equal(fx_stat(f, "IcmpInDestUnreachs"), 2);
    assert_int_equal(fx_stat(f, "IcmpOutDestUnreachs"), 0);
    /* the socket learns it once */
    assert_int_equal(axl_udp_recvfrom(f->s, us, r, sizeof(r), NULL, NULL), AXL_EHOSTUNREACH);
    assert_int_equal(axl_udp_recvfrom(f->s, us, r, sizeof(r), NULL, NULL), AXL_EAGAIN);
    assert_int_equal(axl_pool_in_use(&f->pool), 0);
    axl_udp_close(f->s, us);
}

static void test_pending_overflow_keeps_latest(void **state)
{
    struct fx *f = *state;
    struct axl_udp_sock *us;
    const uint32_t n = AXL_ARP_PENDING_MAX + 6;

    assert_int_equal(axl_udp_bind(f->s, 3003, NULL, NULL, &us), 0);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t v = (uint8_t)i;
        assert_int_equal(axl_udp_sendto(f->s, us, &v, 1, FX_PEER, 9), 1);
    }
    fx_poll(f);
    assert_int_equal(fx_stat(f, "DropArpPendingOverflow"), 6);
    assert_int_equal(axl_arp_lookup(f->s, FX_PEER)->npend, AXL_ARP_PENDING_MAX);
    expect_request(f, FX_PEER);
    inject_reply(f, fx_mac_peer, FX_PEER);
    for (uint32_t i = 6; i < n; i++) {
        while (fx_collect(f) == AXL_EAGAIN && fx_poll(f))
            ;
        assert_true(f->outlen > 0);
        assert_int_equal(f->out[14 + 20 + 8], (uint8_t)i);
    }
    assert_int_equal(fx_collect(f), AXL_EAGAIN);
    axl_udp_close(f->s, us);
}

static void test_aging_stale_probe_and_expiry(void **state)
{
    struct fx *f = *state;
    struct axl_udp_sock *us;

    fx_learn(f, FX_PEER, fx_mac_peer);
    const struct axl_arp_entry *e = axl_arp_lookup(f->s, FX_PEER);
    assert_int_equal(e->state, AXL_ARP_REACHABLE);
    fx_advance(f, 59 * AXL_NS_PER_S);
    assert_int_equal(e->state, AXL_ARP_REACHABLE);
    fx_advance(f, 1 * AXL_NS_PER_S);
    assert_int_equal(e->state, AXL_ARP_STALE);
    assert_int_equal(fx_collect(f), AXL_EAGAIN); /* aging alone sends nothing */

    /* used while STALE: sent at once, and re-confirmed by unicast request */
    assert_int_equal(axl_udp_bind(f->s, 3004, NULL, NULL, &us), 0);
    assert_int_equal(axl_udp_sendto(f->s, us, "s", 1, FX_PEER, 9), 1);
    fx_poll(f);
    assert_true(fx_collect(f) > 0);
    assert_int_equal(get16(f->out + 12), 0x0800);
    assert_memory_equal(expect_request(f, FX_PEER), fx_mac_peer, 6); /* unicast poll */
    /* the peer answers: REACHABLE again */
    inject_reply(f, fx_mac_peer, FX_PEER);
    assert_int_equal(e->state, AXL_ARP_REACHABLE);

    /* STALE again, probed, never answers: removed after 3 probes */
    fx_advance(f, 60 * AXL_NS_PER_S);
    assert_int_equal(e->state, AXL_ARP_STALE);
    assert_int_equal(axl_udp_sendto(f->s, us, "t", 1, FX_PEER, 9), 1);
    fx_poll(f);
    axl_memport_tx_discard(&f->port);
    fx_advance(f, AXL_NS_PER_S);
    expect_request(f, FX_PEER);
    fx_advance(f, AXL_NS_PER_S);
    expect_request(f, FX_PEER);
    fx_advance(f, AXL_NS_PER_S);
    assert_null(axl_arp_lookup(f->s, FX_PEER));
    assert_int_equal(fx_stat(f, "ArpResolveFails"), 1);

    /* STALE and unused for another lifetime: removed silently */
    fx_learn(f, FX_PEER3, mac3);
    fx_advance(f, 60 * AXL_NS_PER_S);
    assert_int_equal(axl_arp_lookup(f->s, FX_PEER3)->state, AXL_ARP_STALE);
    fx_advance(f, 60 * AXL_NS_PER_S);
    assert_null(axl_arp_lookup(f->s, FX_PEER3));
    assert_int_equal(fx_collect(f), AXL_EAGAIN);
    axl_udp_close(f->s, us);
}

static void test_merge_and_learn_rules(void **state)
{
    struct fx *f = *state;
    uint8_t b[64];

    /* RFC 826: a request about someone else from an unknown host teaches nothing */
    fx_inject(f, b, fx_arp(b, fx_mac_bcast, mac3, 1, mac3, FX_PEER3, zero_mac, FX_PEER));
    fx_poll(f);
    assert_null(axl_arp_lookup(f->s, FX_PEER3));
    assert_int_equal(fx_stat(f, "DropArpNotForUs"), 1);
    /* ... but it refreshes a host we already know (merge): here a new MAC
     * announced by gratuitous ARP (RFC 5227 announcement) */
    fx_learn(f, FX_PEER, fx_mac_peer);
    fx_inject(f, b, fx_arp(b, fx_mac_bcast, mac3, 1, mac3, FX_PEER, zero_mac, FX_PEER));
    fx_poll(f);
    assert_memory_equal(axl_arp_lookup(f->s, FX_PEER)->mac, mac3, 6);
    assert_int_equal(fx_collect(f), AXL_EAGAIN); /* not for us: no reply */
    /* a reply to us from an unknown host is learned too (target is us) */
    inject_reply(f, mac3, FX_PEER3);
    assert_non_null(axl_arp_lookup(f->s, FX_PEER3));
}

static void test_conflict_and_probe(void **state)
{
    struct fx *f = *state;
    uint8_t b[64];

    /* someone else claims our address: counted, never learned */
    fx_inject(f, b, fx_arp(b, fx_mac_bcast, mac3, 1, mac3, FX_US, zero_mac, FX_US));
    fx_poll(f);
    assert_int_equal(fx_stat(f, "ArpAddrConflicts"), 1);
    assert_null(axl_arp_lookup(f->s, FX_US));
    assert_int_equal(fx_collect(f), AXL_EAGAIN);
    /* RFC 5227 probe for our address (sender IP 0): we answer, learn nothing */
    fx_inject(f, b, fx_arp(b, fx_mac_bcast, mac3, 1, mac3, 0, zero_mac, FX_US));
    fx_poll(f);
    assert_int_equal(fx_collect(f), 60);
    assert_int_equal(get16(f->out + 14 + 6), 2);
    assert_memory_equal(f->out, mac3, 6);
    assert_null(axl_arp_lookup(f->s, 0));
}

static void test_cache_full_evicts_oldest(void **state)
{
    struct fx *f = *state;
    uint8_t b[64];

    fx_teardown(f);
    struct axl_stack_cfg cfg = {.addr = {FX_US, 16}, .seed = 7};
    fx_setup_cfg(f, "mem:t0", &cfg);
    fx_drain(f);
    for (uint32_t i = 0; i <= AXL_ARP_CACHE_SIZE; i++) {
        uint8_t mac[6] = {0x02, 0, 0, 1, (uint8_t)(i >> 8), (uint8_t)i};
        uint32_t ip = 0xc6120100u + i; /* 198.18.1.0 + i */
        fx_inject(f, b, fx_arp(b, fx_mac_bcast, mac, 1, mac, ip, zero_mac, FX_US));
        fx_advance(f, AXL_NS_PER_MS);
        axl_memport_tx_discard(&f->port);
    }
    assert_int_equal(fx_stat(f, "ArpCacheEvictions"), 1);
    assert_null(axl_arp_lookup(f->s, 0xc6120100u)); /* the oldest went */
    assert_non_null(axl_arp_lookup(f->s, 0xc6120101u));
    assert_non_null(axl_arp_lookup(f->s, 0xc6120100u + AXL_ARP_CACHE_SIZE));
}

static void test_broadcast_needs_no_resolution(void **state)
{
    struct fx *f = *state;
    struct axl_udp_sock *us;

    assert_int_equal(axl_udp_bind(f->s, 3005, NULL, NULL, &us), 0);
    assert_int_equal(axl_udp_sendto(f->s, us, "b", 1, 0xc61200ffu, 9), 1);
    assert_int_equal(axl_udp_sendto(f->s, us, "b", 1, 0xffffffffu, 9), 1);
    assert_int_equal(axl_udp_sendto(f->s, us, "m", 1, 0xe0000101u, 9), 1);
    fx_poll(f);
    assert_true(fx_collect(f) > 0);
    assert_memory_equal(f->out, fx_mac_bcast, 6);
    assert_true(fx_collect(f) > 0);
    assert_memory_equal(f->out, fx_mac_bcast, 6);
    static const uint8_t mc[6] = {0x01, 0x00, 0x5e, 0x00, 0x01, 0x01}; /* RFC 1112 §6.4 */
    assert_true(fx_collect(f) > 0);
    assert_memory_equal(f->out, mc, 6);
    assert_int_equal(fx_stat(f, "ArpOutRequests"), 0);
    axl_udp_close(f->s, us);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_resolve_flushes_pending_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retries_then_host_unreachable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_overflow_keeps_latest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aging_stale_probe_and_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_and_learn_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conflict_and_probe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_full_evicts_oldest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broadcast_needs_no_resolution, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
