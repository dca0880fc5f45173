/* SPDX-License-Identifier: MIT */
/*
 * test_ipv4_frag.c - IPv4 reassembly and fragmentation (net/ipv4.c):
 * round trips in every arrival order, duplicates, overlaps (RFC 5722-style
 * whole-datagram discard), the reassembly timeout with its ICMP time
 * exceeded, the memory and concurrency bounds, too many fragments, and a
 * large ping whose reply is fragmented on output.
 */
#include "stack_fixture.h"

#define DPORT 7000

static uint8_t dgram[70000]; /* UDP header + payload of the datagram under test */
static size_t dgram_len;

static int setup(void **state)
{
    static struct fx f;
    fx_setup(&f, "mem:t0");
    fx_drain(&f);
    fx_learn(&f, FX_PEER, fx_mac_peer);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fx_teardown(*state);
    return 0;
}

/* A UDP datagram of n payload bytes (pattern depends on seed). */
static void make_dgram(size_t n, unsigned seed)
{
    static uint8_t payload[66000];
    for (size_t i = 0; i < n; i++)
        payload[i] = (uint8_t)(i * 31 + seed);
    dgram_len = fx_udp(dgram, FX_PEER, FX_US, 1234, DPORT, payload, n);
}

/* Inject bytes [off, off+len) of the datagram as a fragment. */
static void inject_frag(struct fx *f, const uint8_t *src, uint16_t id, uint8_t proto, size_t off,
                        size_t len, int mf)
{
    static uint8_t b[2048];
    size_t o = fx_eth(b, fx_mac_us, fx_mac_peer, 0x0800);
    memcpy(b + o + 20, src + off, len);
    fx_ip(b + o, FX_PEER, FX_US, proto, (uint16_t)len, id,
          (uint16_t)((mf ? 0x2000 : 0) | (off / 8)));
    fx_inject(f, b, o + 20 + len);
}

static void expect_delivered(struct fx *f, struct axl_udp_sock *us)
{
    static uint8_t r[70000];
    int n = axl_udp_recvfrom(f->s, us, r, sizeof(r), NULL, NULL);
    assert_int_equal(n, (int)(dgram_len - 8));
    assert_memory_equal(r, dgram + 8, dgram_len - 8);
}

static void test_round_trip_all_orders(void **state)
{
    struct fx *f = *state;
    struct axl_udp_sock *us;
    static const int perm_src[4] = {0, 1, 2, 3};
    uint8_t r[8];

    assert_int_equal(axl_udp_bind(f->s, DPORT, NULL, NULL, &us), 0);
    make_dgram(1000, 1); /* 1008 bytes: 4 fragments of 256, 256, 256, 240 */
    int count = 0;
    /* every permutation of 4 (Heap's algorithm would do; 24 is few enough to
     * enumerate by nested loops) */
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++)
            for (int c = 0; c < 4; c++)
                for (int d = 0; d < 4; d++) {
                    if (a == b || a == c || a == d || b == c || b == d || c == d) continue;
                    int order[4] = {perm_src[a], perm_src[b], perm_src[c], perm_src[d]};
                    for (int k = 0; k < 4; k++) {
                        size_t off = (size_t)order[k] * 256;
                        size_t len = order[k] == 3 ? dgram_len - 768 : 256;
                        inject_frag(f, dgram, (uint16_t)(100 + count), 17, off, len, order[k] != 3);
                        fx_poll(f);
                        if (k < 3)
                            assert_int_equal(axl_udp_recvfrom(f->s, us, r, 8, NULL, NULL),
                                             AXL_EAGAIN);
                    }
                    expect_delivered(f, us);
                    count++;
                }
    assert_int_equal(count, 24);
    assert_int_equal(fx_stat(f, "IpReasmOKs"), 24);
    assert_int_equal(fx_stat(f, "IpReasmReqds"), 96);
    assert_int_equal(f->s->ip.nactive, 0);
    assert_int_equal(f->s->ip.reasm_held, 0);
    axl_udp_close(f->s, us);
}

static void test_duplicates_ignored(void **state)
{
    struct fx *f = *state;
    struct axl_udp_sock *us;

    assert_int_equal(axl_udp_bind(f->s, DPORT, NULL, NULL, &us), 0);
    make_dgram(600, 2); /* 608: 0..200, 200..400, 400..608 */
    inject_frag(f, dgram, 5, 17, 0, 200, 1);
    inject_frag(f, dgram, 5, 17, 200, 200, 1);
    inject_frag(f, dgram, 5, 17, 200, 200, 1);
    inject_frag(f, dgram, 5, 17, 0, 200, 1);
    inject_frag(f, dgram, 5, 17, 400, 208, 0);
    fx_poll(f);
    expect_delivered(f, us);
    assert_int_equal(fx_stat(f, "DropIpFragDup"), 2);
    assert_int_equal(fx_stat(f, "IpReasmOKs"), 1);
    axl_udp_close(f->s, us);
}

static void test_overlap_discards_whole_datagram(void **state)
{
    struct fx *f = *state;
    struct axl_udp_sock *us;
    uint8_t r[8];

    assert_int_equal(axl_udp_bind(f->s, DPORT, NULL, NULL, &us), 0);
    make_dgram(40, 3); /* 48 bytes */
    inject_frag(f, dgram, 9, 17, 0, 16, 1);
    inject_frag(f, dgram, 9, 17, 8, 16, 1); /* overlaps [8,16) */
    fx_poll(f);
    assert_int_equal(fx_stat(f, "DropIpFragOverlap"), 2); /* both fragments freed */
    assert_int_equal(fx_stat(f, "IpReasmFails"), 1);
    /* the rest of it is discarded too (RFC 5722 §4), nothing is delivered */
    inject_frag(f, dgram, 9, 17, 16, 16, 1);
    inject_frag(f, dgram, 9, 17, 32, 16, 0);
    fx_poll(f);
    assert_int_equal(fx_stat(f, "DropIpFragPoisoned"), 2);
    assert_int_equal(axl_udp_recvfrom(f->s, us, r, 8, NULL, NULL), AXL_EAGAIN);
    assert_int_equal(axl_pool_in_use(&f->pool), 0);
    /* after the reassembly timeout the id can be used again */
    fx_advance(f, 30 * AXL_NS_PER_S);
    assert_int_equal(f->s->ip.nactive, 0);
    for (size_t off = 0; off < 48; off += 16)
        inject_frag(f, dgram, 9, 17, off, 16, off < 32);
    fx_poll(f);
    expect_delivered(f, us);
    /* a fragment beyond a known end, and two different ends, are overlaps */
    inject_frag(f, dgram, 10, 17, 32, 16, 0);
    inject_frag(f, dgram, 10, 17, 48, 8, 1);
    inject_frag(f, dgram, 11, 17, 32, 16, 0);
    inject_frag(f, dgram, 11, 17, 24, 16, 0);
    fx_poll(f);
    assert_int_equal(fx_stat(f, "IpReasmFails"), 3);
    assert_int_equal(fx_collect(f), AXL_EAGAIN); /* no ICMP about discards */
    axl_udp_close(f->s, us);
}

static void test_timeout_sends_time_exceeded(void **state)
{
    struct fx *f = *state;

    make_dgram(100, 4);
    /* fragment 0 present: RFC 1122 §3.3.2 time exceeded, code 1 */
    inject_frag(f, dgram, 20, 17, 0, 64, 1);
    /* only a later fragment: discarded silently */
    inject_frag(f, dgram, 21, 17, 64, 44, 0);
    fx_poll(f);
    assert_int_equal(f->s->ip.nactive, 2);
    fx_advance(f, 29 * AXL_NS_PER_S);
    assert_int_equal(fx_collect(f), AXL_EAGAIN);
    fx_advance(f, 1 * AXL_NS_PER_S);
    assert_int_equal(fx_stat(f, "IpReasmTimeout"), 2);
    assert_int_equal(fx_stat(f, "DropIpReasmTimeout"), 2);
    assert_true(fx_collect(f) > 0);
    const uint8_t *ip = f->out + 14, *ic = ip + 20;
    assert_int_equal(ip[9], 1);
    assert_int_equal(get32(ip + 16), FX_PEER);
    assert_int_equal(ic[0], 11);
    assert_int_equal(ic[1], 1);
    assert_int_equal(get16(ic + 8 + 4), 20); /* quotes fragment 0's header */
    assert_int_equal(ref_csum(ic, get16(ip + 2) - 20u, 0), 0);
    assert_int_equal(fx_collect(f), AXL_EAGAIN);
    assert_int_equal(fx_stat(f, "IcmpOutTimeExcds"), 1);
    assert_int_equal(axl_pool_in_use(&f->pool), 0);
}

static void test_memory_bound(void **state)
{
    struct fx *f = *state;
    struct axl_udp_sock *us;

    fx_teardown(f);
    struct axl_stack_cfg cfg = {.addr = {FX_US, 24}, .seed = 3, .reasm_max_bytes = 8 * 2048};
    fx_setup_cfg(f, "mem:t0", &cfg);
    fx_drain(f);
    assert_int_equal(axl_udp_bind(f->s, DPORT, NULL, NULL, &us), 0);
    make_dgram(100, 5);
    for (uint16_t id = 0; id < 10; id++) {
        inject_frag(f, dgram, id, 17, 0, 64, 1);
        fx_advance(f, AXL_NS_PER_MS);
    }
    assert_int_equal(f->s->ip.reasm_held, 8 * 2048);
    assert_int_equal(fx_stat(f, "DropIpReasmMem"), 2);
    assert_int_equal(fx_stat(f, "IpReasmFails"), 2);
    /* the oldest went; the newest completes */
    inject_frag(f, dgram, 9, 17, 64, 44, 0);
    fx_poll(f);
    expect_delivered(f, us);
    inject_frag(f, dgram, 0, 17, 64, 44, 0); /* its first half was evicted */
    fx_poll(f);
    assert_int_equal(fx_stat(f, "IpReasmOKs"), 1);
    axl_udp_close(f->s, us);
}

static void test_concurrency_bound(void **state)
{
    struct fx *f = *state;

    make_dgram(100, 6);
    for (uint16_t id = 0; id <= AXL_REASM_MAX_DGRAMS; id++) {
        inject_frag(f, dgram, id, 17, 0, 64, 1);
        fx_advance(f, AXL_NS_PER_MS);
    }
    assert_int_equal(f->s->ip.nactive, AXL_REASM_MAX_DGRAMS);
    assert_int_equal(fx_stat(f, "DropIpReasmEvict"), 1);
    assert_int_equal(axl_pool_in_use(&f->pool), AXL_REASM_MAX_DGRAMS);
}

static void test_too_many_fragments(void **state)
{
    struct fx *f = *state;

    make_dgram(2000, 7);
    for (size_t i = 0; i <= AXL_REASM_MAX_FRAGS; i++)
        inject_frag(f, dgram, 33, 17, i * 8, 8, 1);
    while (axl_memport_rx_pending(&f->port))
        fx_poll(f);
    assert_int_equal(fx_stat(f, "DropIpFragTooBig"), AXL_REASM_MAX_FRAGS + 1);
    assert_int_equal(axl_pool_in_use(&f->pool), 0);
}

static void test_big_ping_reply_is_fragmented(void **state)
{
    struct fx *f = *state;
    static uint8_t icmp[3008], got[3100];
    size_t n = sizeof(icmp);

    icmp[0] = 8;
    icmp[1] = 0;
    put16(icmp + 4, 0x77);
    put16(icmp + 6, 1);
    for (size_t i = 8; i < n; i++)
        icmp[i] = (uint8_t)(i ^ 0x5a);
    put16(icmp + 2, ref_csum(icmp, n, 0));
    for (size_t off = 0; off < n; off += 1480)
        inject_frag(f, icmp, 0x99, 1, off, off + 1480 < n ? 1480 : n - off, off + 1480 < n);
    fx_poll(f);
    assert_int_equal(fx_stat(f, "IpReasmOKs"), 1);
    /* reply: three fragments of at most 1480 bytes, reassembled here */
    size_t total = 0;
    int frags = 0, more = 1;
    while (more && fx_collect(f) > 0) {
        const uint8_t *ip = f->out + 14;
        uint16_t fo = get16(ip + 6);
        size_t plen = get16(ip + 2) - 20u;
        assert_int_equal(ref_csum(ip, 20, 0), 0);
        assert_int_equal((fo & 0x1fff) * 8u, total);
        memcpy(got + total, ip + 20, plen);
        total += plen;
        more = fo & 0x2000;
        frags++;
    }
    assert_int_equal(frags, 3);
    assert_int_equal(total, n);
    assert_int_equal(got[0], 0);
    assert_int_equal(ref_csum(got, n, 0), 0);
    assert_memory_equal(got + 4, icmp + 4, n - 4);
    assert_int_equal(fx_stat(f, "IcmpOutEchoReps"), 1);
}

static void echo_cb(struct axl_udp_sock *us, const uint8_t *data, uint32_t len, uint32_t saddr,
                    uint16_t sport, void *arg)
{
    (void)us;
    (void)saddr;
    (void)sport;
    *(int *)arg = 1;
    assert_int_equal(len, dgram_len - 8);
    assert_memory_equal(data, dgram + 8, len);
}

static void test_reassembled_to_callback(void **state)
{
    struct fx *f = *state;
    struct axl_udp_sock *us;
    int called = 0;

    assert_int_equal(axl_udp_bind(f->s, DPORT, echo_cb, &called, &us), 0);
    make_dgram(5000, 8);
    for (size_t off = 0; off < dgram_len; off += 1480)
        inject_frag(f, dgram, 0x55, 17, off, off + 1480 < dgram_len ? 1480 : dgram_len - off,
                    off + 1480 < dgram_len);
    fx_poll(f);
    assert_true(called);
    /* a corrupted byte in a later fragment fails the UDP checksum over the chain */
    called = 0;
    dgram[3000] ^= 1;
    for (size_t off = 0; off < dgram_len; off += 1480)
        inject_frag(f, dgram, 0x56, 17, off, off + 1480 < dgram_len ? 1480 : dgram_len - off,
                    off + 1480 < dgram_len);
    fx_poll(f);
    assert_false(called);
    assert_int_equal(fx_stat(f, "UdpInCsumErrors"), 1);
    axl_udp_close(f->s, us);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip_all_orders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicates_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overlap_discards_whole_datagram, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_sends_time_exceeded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrency_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_many_fragments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_ping_reply_is_fragmented, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reassembled_to_callback, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
