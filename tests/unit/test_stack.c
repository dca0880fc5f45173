/* SPDX-License-Identifier: MIT */
/*
 * test_stack.c - the engine end to end on the mem port with a deterministic
 * clock: gratuitous ARP, ARP replies, ping byte-exact, UDP to a closed port,
 * UDP echo through the API (callback and recvfrom), fragmentation on send,
 * checksum handling, the ICMP rate limit, a table of malformed frames each
 * bumping its own drop counter and producing nothing, TX ring overflow, the
 * sleep policy, and the pool drained after destroy (every test's teardown).
 */
#include "stack_fixture.h"

#include <pthread.h>
#include <time.h>

#include "wire/csum.h"

static const uint8_t ping_req[98] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00,
    0x45, 0x00, 0x00, 0x54, 0xb5, 0xc4, 0x40, 0x00, 0x40, 0x01, 0xf8, 0xbc, 0xc6, 0x12,
    0x00, 0x02, 0xc6, 0x12, 0x00, 0x01, 0x08, 0x00, 0xd6, 0x6b, 0x0d, 0x05, 0x00, 0x01,
    0x9d, 0x3b, 0x5e, 0x65, 0x00, 0x00, 0x00, 0x00, 0x4e, 0x1a, 0x0c, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b,
    0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29,
    0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
};

/* The reply with IP id 0 and IP checksum 0: the test patches in the engine's
 * id and the header checksum (computed by the reference). */
static const uint8_t ping_rep[98] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00,
    0x45, 0x00, 0x00, 0x54, 0x00, 0x00, 0x00, 0x00, 0x40, 0x01, 0x00, 0x00, 0xc6, 0x12,
    0x00, 0x01, 0xc6, 0x12, 0x00, 0x02, 0x00, 0x00, 0xde, 0x6b, 0x0d, 0x05, 0x00, 0x01,
    0x9d, 0x3b, 0x5e, 0x65, 0x00, 0x00, 0x00, 0x00, 0x4e, 0x1a, 0x0c, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b,
    0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29,
    0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
};

/* who-has 198.18.0.1 tell 198.18.0.2 */
static const uint8_t arp_req[42] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x06,
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02,
    0xc6, 0x12, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc6, 0x12, 0x00, 0x01,
};

/* 198.18.0.1 is-at 02:00:00:00:00:01, padded to 60 bytes */
static const uint8_t arp_rep[60] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00,
    0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0xc6, 0x12,
    0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0xc6, 0x12, 0x00, 0x02, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* RFC 5227 announcement: request, sender IP == target IP == ours */
static const uint8_t garp[60] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00,
    0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0xc6, 0x12,
    0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc6, 0x12, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static int setup(void **state)
{
    static struct fx f;
    fx_setup(&f, "mem:t0");
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fx_teardown(*state);
    return 0;
}

/* Check an IPv4 frame's header checksum and return its payload. */
static const uint8_t *ip_payload(const struct fx *f, uint8_t proto, uint32_t *plen)
{
    const uint8_t *ip = f->out + 14;
    assert_true(f->outlen >= 34);
    assert_int_equal(get16(f->out + 12), 0x0800);
    assert_int_equal(ip[0], 0x45);
    assert_int_equal(ref_csum(ip, 20, 0), 0);
    assert_int_equal(ip[9], proto);
    *plen = get16(ip + 2) - 20u;
    return ip + 20;
}

static void test_gratuitous_arp_at_start(void **state)
{
    struct fx *f = *state;
    assert_int_equal(fx_collect(f), sizeof(garp));
    assert_memory_equal(f->out, garp, sizeof(garp));
    assert_int_equal(fx_stat(f, "ArpOutGratuitous"), 1);
    assert_int_equal(fx_collect(f), AXL_EAGAIN);
}

static void test_arp_reply_for_our_ip(void **state)
{
    struct fx *f = *state;
    fx_drain(f);
    fx_inject(f, arp_req, sizeof(arp_req));
    assert_true(fx_poll(f) >= 2); /* one in, one out */
    assert_int_equal(fx_collect(f), sizeof(arp_rep));
    assert_memory_equal(f->out, arp_rep, sizeof(arp_rep));
    assert_int_equal(fx_stat(f, "ArpInRequests"), 1);
    assert_int_equal(fx_stat(f, "ArpOutReplies"), 1);
    /* RFC 826: the requester was learned */
    const struct axl_arp_entry *e = axl_arp_lookup(f->s, FX_PEER);
    assert_non_null(e);
    assert_int_equal(e->state, AXL_ARP_REACHABLE);
    assert_memory_equal(e->mac, fx_mac_peer, 6);
}

static void test_ping_echo_reply_byte_exact(void **state)
{
    struct fx *f = *state;
    uint8_t want[sizeof(ping_rep)];

    fx_drain(f);
    fx_learn(f, FX_PEER, fx_mac_peer);
    uint16_t id = f->s->ip.next_id;
    fx_inject(f, ping_req, sizeof(ping_req));
    fx_poll(f);
    assert_int_equal(fx_collect(f), sizeof(ping_rep));
    memcpy(want, ping_rep, sizeof(want));
    put16(want + 14 + 4, id);
    put16(want + 14 + 10, ref_csum(want + 14, 20, 0));
    assert_memory_equal(f->out, want, sizeof(want));
    assert_int_equal(fx_stat(f, "IcmpInEchos"), 1);
    assert_int_equal(fx_stat(f, "IcmpOutEchoReps"), 1);
    assert_int_equal(fx_stat(f, "IpInDelivers"), 1);
    assert_int_equal(axl_pool_in_use(&f->pool), 0);
}

static void test_ping_from_unknown_peer_gleans(void **state)
{
    struct fx *f = *state;

    fx_drain(f);
    fx_inject(f, ping_req, sizeof(ping_req));
    fx_poll(f);
    /* An on-link sender's MAC is learnt from its frame (NEAT-style gleaning:
     * per-queue engines see only the ARP replies that land on their queue),
     * so the echo reply leaves at once, to the sender's MAC, with no ARP. */
    assert_int_equal(fx_collect(f), sizeof(ping_rep));
    assert_memory_equal(f->out, fx_mac_peer, 6);
    assert_int_equal(get16(f->out + 12), 0x0800);
    assert_int_equal(f->out[14 + 20], 0); /* echo reply */
    assert_int_equal(fx_collect(f), AXL_EAGAIN);
    assert_int_equal(fx_stat(f, "ArpGleaned"), 1);
    assert_int_equal(fx_stat(f, "ArpOutRequests"), 0);
    /* A second datagram finds the entry fresh: nothing more is gleaned. */
    fx_inject(f, ping_req, sizeof(ping_req));
    fx_poll(f);
    assert_int_equal(fx_collect(f), sizeof(ping_rep));
    assert_int_equal(fx_stat(f, "ArpGleaned"), 1);
}

static void test_udp_to_unknown_peer_resolves_first(void **state)
{
    struct fx *f = *state;
    uint8_t b[128];
    struct axl_udp_sock *us;

    fx_drain(f);
    assert_int_equal(axl_udp_bind(f->s, 5555, NULL, NULL, &us), 0);
    assert_int_equal(axl_udp_sendto(f->s, us, "hi", 2, FX_PEER, 7), 2);
    fx_poll(f);
    /* Nothing known about the peer: a broadcast who-has goes out first. */
    assert_int_equal(fx_collect(f), 60);
    assert_memory_equal(f->out, fx_mac_bcast, 6);
    assert_int_equal(get16(f->out + 12), 0x0806);
    assert_int_equal(get32(f->out + 14 + 24), FX_PEER);
    assert_int_equal(fx_collect(f), AXL_EAGAIN);
    /* The peer answers; the queued datagram leaves. */
    size_t n = fx_arp(b, fx_mac_us, fx_mac_peer, 2, fx_mac_peer, FX_PEER, fx_mac_us, FX_US);
    fx_inject(f, b, n);
    fx_poll(f);
    assert_true(fx_collect(f) > 0);
    assert_memory_equal(f->out, fx_mac_peer, 6);
    assert_int_equal(f->out[14 + 9], 17); /* UDP */
    assert_int_equal(fx_stat(f, "ArpInReplies"), 1);
    axl_udp_close(f->s, us);
}

static void test_udp_closed_port_unreachable(void **state)
{
    struct fx *f = *state;
    uint8_t b[256];
    uint32_t plen;

    fx_drain(f);
    fx_learn(f, FX_PEER, fx_mac_peer);
    size_t n = fx_udp_frame(b, FX_PEER, FX_US, 40000, 9999, "hello", 5);
    fx_inject(f, b, n);
    fx_poll(f);
    assert_true(fx_collect(f) > 0);
    const uint8_t *ic = ip_payload(f, 1, &plen);
    assert_int_equal(get32(f->out + 14 + 12), FX_US);
    assert_int_equal(get32(f->out + 14 + 16), FX_PEER);
    assert_int_equal(ic[0], 3);
    assert_int_equal(ic[1], 3);
    assert_int_equal(ref_csum(ic, plen, 0), 0);
    /* quote: the whole offending datagram (it fits in 576 bytes) */
    assert_int_equal(plen, 8 + (n - 14));
    assert_memory_equal(ic + 8, b + 14, n - 14);
    assert_int_equal(fx_stat(f, "UdpNoPorts"), 1);
    assert_int_equal(fx_stat(f, "DropUdpNoPort"), 1);
    assert_int_equal(fx_stat(f, "IcmpOutDestUnreachs"), 1);
}

static void echo_cb(struct axl_udp_sock *us, const uint8_t *data, uint32_t len, uint32_t saddr,
                    uint16_t sport, void *arg)
{
    struct fx *f = arg;
    assert_int_equal(axl_udp_sendto(f->s, us, data, len, saddr, sport), (int)len);
}

static void test_udp_echo_callback(void **state)
{
    struct fx *f = *state;
    struct axl_udp_sock *us;
    uint8_t b[256];
    uint32_t plen;

    fx_drain(f);
    fx_learn(f, FX_PEER, fx_mac_peer);
    assert_int_equal(axl_udp_bind(f->s, 7, echo_cb, f, &us), 0);
    assert_int_equal(axl_udp_local_port(us), 7);
    size_t n = fx_udp_frame(b, FX_PEER, FX_US, 40001, 7, "ping-pong", 9);
    fx_inject(f, b, n);
    fx_poll(f);
    assert_true(fx_collect(f) > 0);
    const uint8_t *u = ip_payload(f, 17, &plen);
    assert_int_equal(plen, 17);
    assert_int_equal(get16(u), 7);
    assert_int_equal(get16(u + 2), 40001);
    assert_memory_equal(u + 8, "ping-pong", 9);
    uint8_t chk[64];
    fx_udp(chk, FX_US, FX_PEER, 7, 40001, "ping-pong", 9);
    assert_memory_equal(u, chk, 17); /* checksum identical to the reference */
    assert_int_equal(fx_stat(f, "UdpInDatagrams"), 1);
    assert_int_equal(fx_stat(f, "UdpOutDatagrams"), 1);
    axl_udp_close(f->s, us);
}

static void test_udp_recvfrom_queue(void **state)
{
    struct fx *f = *state;
    struct axl_udp_sock *us;
    uint8_t b[256], r[64];
    uint32_t saddr;
    uint16_t sport;

    fx_drain(f);
    assert_int_equal(axl_udp_bind(f->s, 5000, NULL, NULL, &us), 0);
    assert_int_equal(axl_udp_recvfrom(f->s, us, r, sizeof(r), &saddr, &sport), AXL_EAGAIN);
    for (int i = 0; i < 3; i++) {
        char msg[24];
        snprintf(msg, sizeof(msg), "dgram-%d", i);
        fx_inject(f, b, fx_udp_frame(b, FX_PEER, FX_US, (uint16_t)(1000 + i), 5000, msg, 7));
    }
    fx_poll(f);
    for (int i = 0; i < 3; i++) {
        char msg[24];
        snprintf(msg, sizeof(msg), "dgram-%d", i);
        assert_int_equal(axl_udp_recvfrom(f->s, us, r, sizeof(r), &saddr, &sport), 7);
        assert_memory_equal(r, msg, 7);
        assert_int_equal(saddr, FX_PEER);
        assert_int_equal(sport, 1000 + i);
    }
    assert_int_equal(axl_udp_recvfrom(f->s, us, r, sizeof(r), NULL, NULL), AXL_EAGAIN);
    /* a short buffer truncates, like recvfrom without MSG_TRUNC */
    fx_inject(f, b, fx_udp_frame(b, FX_PEER, FX_US, 1, 5000, "abcdefgh", 8));
    fx_poll(f);
    assert_int_equal(axl_udp_recvfrom(f->s, us, r, 3, NULL, NULL), 3);
    assert_memory_equal(r, "abc", 3);
    assert_int_equal(axl_udp_recvfrom(f->s, us, r, sizeof(r), NULL, NULL), AXL_EAGAIN);
    /* no output at all: a bound port is not "unreachable" */
    assert_int_equal(axl_memport_tx_pending(&f->port), 0);
    axl_udp_close(f->s, us);
}

static void test_udp_rcvbuf_overflow(void **state)
{
    struct fx *f = *state;
    struct axl_udp_sock *us;
    uint8_t b[128];

    fx_drain(f);
    assert_int_equal(axl_udp_bind(f->s, 5001, NULL, NULL, &us), 0);
    for (int i = 0; i < 300; i++)
        fx_inject(f, b, fx_udp_frame(b, FX_PEER, FX_US, 1, 5001, "x", 1));
    while (axl_memport_rx_pending(&f->port))
        fx_poll(f);
    assert_int_equal(fx_stat(f, "UdpInDatagrams"), AXL_UDP_RCVQ_DEFAULT);
    assert_int_equal(fx_stat(f, "UdpRcvbufErrors"), 300 - AXL_UDP_RCVQ_DEFAULT);
    assert_int_equal(fx_stat(f, "DropUdpRcvbuf"), 300 - AXL_UDP_RCVQ_DEFAULT);
    /* queued datagrams hold their buffers (zero copy) ... */
    assert_int_equal(axl_pool_in_use(&f->pool), AXL_UDP_RCVQ_DEFAULT);
    /* ... and teardown (destroy with the socket open) returns them */
}

static void test_udp_bind_rules(void **state)
{
    struct fx *f = *state;
    struct axl_udp_sock *a, *b, *c;

    assert_int_equal(axl_udp_bind(f->s, 0, NULL, NULL, &a), 0);
    assert_int_equal(axl_udp_bind(f->s, 0, NULL, NULL, &b), 0);
    assert_true(axl_udp_local_port(a) >= 49152);
    assert_true(axl_udp_local_port(b) >= 49152);
    assert_int_not_equal(axl_udp_local_port(a), axl_udp_local_port(b));
    assert_int_equal(axl_udp_bind(f->s, axl_udp_local_port(a), NULL, NULL, &c), AXL_EADDRINUSE);
    assert_int_equal(axl_udp_bind(f->s, 53, NULL, NULL, &c), 0);
    assert_int_equal(axl_udp_bind(f->s, 53, NULL, NULL, &c), AXL_EADDRINUSE);
    assert_int_equal(axl_udp_sendto(f->s, a, "x", 1, FX_PEER, 0), AXL_EINVAL);
    assert_int_equal(axl_udp_sendto(f->s, a, f->out, 65508, FX_PEER, 9), AXL_EMSGSIZE);
    assert_int_equal(axl_udp_sendto(f->s, a, "x", 1, 0x08080808u, 9), 1); /* via gateway */
    assert_int_equal(axl_udp_sendto(f->s, a, "x", 1, 0x7f000001u, 9), AXL_EHOSTUNREACH);
    assert_int_equal(axl_udp_sendto(f->s, a, "x", 1, FX_US, 9), AXL_EHOSTUNREACH);
    axl_udp_close(f->s, a);
    axl_udp_close(f->s, b);
}

static void test_udp_sendto_fragments(void **state)
{
    struct fx *f = *state;
    struct axl_udp_sock *us;
    static uint8_t data[4000], dgram[4100];
    uint32_t plen;

    fx_drain(f);
    fx_learn(f, FX_PEER, fx_mac_peer);
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 7 + 3);
    assert_int_equal(axl_udp_bind(f->s, 6000, NULL, NULL, &us), 0);
    assert_int_equal(axl_udp_sendto(f->s, us, data, sizeof(data), FX_PEER, 6001), 4000);
    fx_poll(f);
    uint32_t got = 0, expect_off = 0;
    int last = 0, nfrag = 0;
    uint16_t id = 0;
    while (fx_collect(f) > 0) {
        const uint8_t *p = ip_payload(f, 17, &plen);
        const uint8_t *ip = f->out + 14;
        uint16_t frag = get16(ip + 6);
        if (nfrag == 0) id = get16(ip + 4);
        assert_int_equal(get16(ip + 4), id);
        assert_int_equal((frag & 0x1fff) * 8u, expect_off);
        assert_true(20 + plen <= 1500);
        memcpy(dgram + expect_off, p, plen);
        expect_off += plen;
        got += plen;
        last = !(frag & 0x2000);
        nfrag++;
    }
    assert_int_equal(nfrag, 3);
    assert_true(last);
    assert_int_equal(got, 8 + sizeof(data));
    uint8_t ref[4100];
    fx_udp(ref, FX_US, FX_PEER, 6000, 6001, data, sizeof(data));
    assert_memory_equal(dgram, ref, got);
    assert_int_equal(fx_stat(f, "IpFragOKs"), 1);
    assert_int_equal(fx_stat(f, "IpFragCreates"), 3);
    axl_udp_close(f->s, us);
}

static void test_udp_checksum_rules(void **state)
{
    struct fx *f = *state;
    struct axl_udp_sock *us;
    uint8_t b[128], r[16];

    fx_drain(f);
    assert_int_equal(axl_udp_bind(f->s, 5002, NULL, NULL, &us), 0);
    /* bad checksum: dropped */
    size_t n = fx_udp_frame(b, FX_PEER, FX_US, 1, 5002, "data", 4);
    b[14 + 20 + 6] ^= 0x55;
    fx_inject(f, b, n);
    fx_poll(f);
    assert_int_equal(fx_stat(f, "UdpInCsumErrors"), 1);
    assert_int_equal(axl_udp_recvfrom(f->s, us, r, sizeof(r), NULL, NULL), AXL_EAGAIN);
    /* the same bytes marked CSUM_PARTIAL (local offload): accepted, counted */
    assert_int_equal(axl_memport_inject(&f->port, b, (uint32_t)n, AXL_PKT_F_CSUM_PARTIAL), 0);
    fx_poll(f);
    assert_int_equal(fx_stat(f, "UdpInCsumPartial"), 1);
    assert_int_equal(axl_udp_recvfrom(f->s, us, r, sizeof(r), NULL, NULL), 4);
    /* zero checksum: none was sent (RFC 768) */
    put16(b + 14 + 20 + 6, 0);
    fx_inject(f, b, n);
    fx_poll(f);
    assert_int_equal(axl_udp_recvfrom(f->s, us, r, sizeof(r), NULL, NULL), 4);
    assert_int_equal(fx_stat(f, "UdpInCsumErrors"), 1);
    axl_udp_close(f->s, us);
}

static void test_icmp_rate_limit(void **state)
{
    struct fx *f = *state;
    uint8_t b[128];

    fx_drain(f);
    fx_learn(f, FX_PEER, fx_mac_peer);
    for (int i = 0; i < 200; i++)
        fx_inject(f, b, fx_udp_frame(b, FX_PEER, FX_US, 1, 9, "x", 1));
    while (axl_memport_rx_pending(&f->port))
        fx_poll(f);                                          /* same instant: no refill */
    assert_int_equal(fx_stat(f, "IcmpOutDestUnreachs"), 50); /* the burst */
    assert_int_equal(fx_stat(f, "IcmpOutRateLimited"), 150);
    assert_int_equal(axl_memport_tx_pending(&f->port), 50);
    axl_memport_tx_discard(&f->port);
    /* 100 ms later: 10 tokens at 100/s */
    f->now += 100 * AXL_NS_PER_MS;
    for (int i = 0; i < 20; i++)
        fx_inject(f, b, fx_udp_frame(b, FX_PEER, FX_US, 1, 9, "x", 1));
    fx_poll(f);
    assert_int_equal(fx_stat(f, "IcmpOutDestUnreachs"), 60);
    assert_int_equal(fx_stat(f, "IcmpOutRateLimited"), 160);
    /* echo replies are not rate limited */
    for (int i = 0; i < 20; i++)
        fx_inject(f, ping_req, sizeof(ping_req));
    fx_poll(f);
    assert_int_equal(fx_stat(f, "IcmpOutEchoReps"), 20);
}

static void test_tcp_closed_port_gets_rst(void **state)
{
    struct fx *f = *state;
    uint8_t b[128];
    uint32_t plen;

    fx_drain(f);
    fx_learn(f, FX_PEER, fx_mac_peer);
    size_t o = fx_eth(b, fx_mac_us, fx_mac_peer, 0x0800);
    uint8_t *t = b + o + 20;
    memset(t, 0, 20);
    put16(t, 40000);
    put16(t + 2, 81);
    put32(t + 4, 1000);
    t[12] = 5 << 4;
    t[13] = 0x02; /* SYN */
    put16(t + 14, 1024);
    uint8_t ph[12];
    put32(ph, FX_PEER);
    put32(ph + 4, FX_US);
    ph[8] = 0;
    ph[9] = 6;
    put16(ph + 10, 20);
    put16(t + 16, ref_csum(t, 20, (uint16_t)~ref_csum(ph, 12, 0)));
    fx_ip(b + o, FX_PEER, FX_US, 6, 20, 7, 0x4000);
    fx_inject(f, b, o + 40);
    fx_poll(f);
    assert_true(fx_collect(f) > 0);
    const uint8_t *r = ip_payload(f, 6, &plen);
    assert_int_equal(plen, 20);
    assert_int_equal(r[13], 0x14);           /* RST|ACK (RFC 9293 §3.10.7.1) */
    assert_int_equal(get32(r + 8), 1001);    /* ACK = SEG.SEQ + SEG.LEN */
    assert_int_equal(fx_stat(f, "IpInDelivers"), 1);
    assert_int_equal(fx_stat(f, "DropTcpNoSocket"), 1);
}

/* ---- malformed frames: each bumps exactly its drop counter, sends nothing ---- */

typedef size_t (*build_fn)(uint8_t *b);

static size_t m_eth_trunc(uint8_t *b)
{
    memset(b, 0xab, 10);
    return 10;
}
static size_t m_eth_8023(uint8_t *b)
{
    size_t n = fx_eth(b, fx_mac_us, fx_mac_peer, 0x0100);
    memset(b + n, 0, 46);
    return n + 46;
}
static size_t m_eth_other(uint8_t *b)
{
    static const uint8_t other[6] = {0x02, 0, 0, 0, 0, 0x09};
    size_t n = fx_udp_frame(b, FX_PEER, FX_US, 1, 2, "x", 1);
    memcpy(b, other, 6);
    return n;
}
static size_t m_eth_mcast(uint8_t *b)
{
    static const uint8_t mc[6] = {0x01, 0x00, 0x5e, 0, 0, 0x01};
    size_t n = fx_udp_frame(b, FX_PEER, FX_US, 1, 2, "x", 1);
    memcpy(b, mc, 6);
    return n;
}
static size_t m_eth_own_src(uint8_t *b)
{
    size_t n = fx_udp_frame(b, FX_PEER, FX_US, 1, 2, "x", 1);
    memcpy(b + 6, fx_mac_us, 6);
    return n;
}
static size_t m_eth_ipv6(uint8_t *b)
{
    size_t n = fx_eth(b, fx_mac_us, fx_mac_peer, 0x86dd);
    memset(b + n, 0, 46);
    return n + 46;
}
static size_t m_arp_trunc(uint8_t *b)
{
    return fx_arp(b, fx_mac_bcast, fx_mac_peer, 1, fx_mac_peer, FX_PEER, fx_mac_us, FX_US) - 8;
}
static size_t m_arp_htype(uint8_t *b)
{
    size_t n = fx_arp(b, fx_mac_bcast, fx_mac_peer, 1, fx_mac_peer, FX_PEER, fx_mac_us, FX_US);
    put16(b + 14, 6);
    return n;
}
static size_t m_arp_plen(uint8_t *b)
{
    size_t n = fx_arp(b, fx_mac_bcast, fx_mac_peer, 1, fx_mac_peer, FX_PEER, fx_mac_us, FX_US);
    b[14 + 5] = 16;
    return n;
}
static size_t m_arp_op(uint8_t *b)
{
    size_t n = fx_arp(b, fx_mac_bcast, fx_mac_peer, 3, fx_mac_peer, FX_PEER, fx_mac_us, FX_US);
    return n;
}
static size_t m_arp_mcast_sender(uint8_t *b)
{
    static const uint8_t mc[6] = {0x01, 0, 0, 0, 0, 0x02};
    return fx_arp(b, fx_mac_bcast, fx_mac_peer, 1, mc, FX_PEER, fx_mac_us, FX_US);
}
static size_t m_arp_not_for_us(uint8_t *b)
{
    /* from a host we have no entry for, about someone else */
    static const uint8_t zero[6], mac3[6] = {0x02, 0, 0, 0, 0, 0x03};
    return fx_arp(b, fx_mac_bcast, mac3, 1, mac3, FX_PEER3, zero, 0xc6120004u);
}
static size_t m_ip_trunc_hdr(uint8_t *b)
{
    size_t n = fx_udp_frame(b, FX_PEER, FX_US, 1, 2, "x", 1);
    (void)n;
    return 14 + 12;
}
static size_t m_ip_trunc_total(uint8_t *b)
{
    size_t n = fx_udp_frame(b, FX_PEER, FX_US, 1, 2, "0123456789", 10);
    return n - 5; /* total length says more than the frame holds */
}
static size_t m_ip_version(uint8_t *b)
{
    size_t n = fx_udp_frame(b, FX_PEER, FX_US, 1, 2, "x", 1);
    b[14] = 0x65;
    put16(b + 14 + 10, 0);
    put16(b + 14 + 10, ref_csum(b + 14, 20, 0));
    return n;
}
static size_t m_ip_ihl(uint8_t *b)
{
    size_t n = fx_udp_frame(b, FX_PEER, FX_US, 1, 2, "x", 1);
    b[14] = 0x44;
    return n;
}
static size_t m_ip_ihl_past_frame(uint8_t *b)
{
    size_t n = fx_udp_frame(b, FX_PEER, FX_US, 1, 2, "x", 1);
    b[14] = 0x4f; /* 60-byte header in a 29-byte datagram frame */
    return n;
}
static size_t m_ip_len(uint8_t *b)
{
    size_t n = fx_udp_frame(b, FX_PEER, FX_US, 1, 2, "x", 1);
    put16(b + 14 + 2, 16);
    put16(b + 14 + 10, 0);
    put16(b + 14 + 10, ref_csum(b + 14, 20, 0));
    return n;
}
static size_t m_ip_csum(uint8_t *b)
{
    size_t n = fx_udp_frame(b, FX_PEER, FX_US, 1, 2, "x", 1);
    b[14 + 10] ^= 1;
    return n;
}
static size_t m_ip_src_loop(uint8_t *b)
{
    return fx_udp_frame(b, 0x7f000001u, FX_US, 1, 2, "x", 1);
}
static size_t m_ip_src_ours(uint8_t *b)
{
    return fx_udp_frame(b, FX_US, FX_US, 1, 2, "x", 1);
}
static size_t m_ip_src_bcast(uint8_t *b)
{
    return fx_udp_frame(b, 0xc61200ffu, FX_US, 1, 2, "x", 1);
}
static size_t m_ip_src_mcast(uint8_t *b)
{
    return fx_udp_frame(b, 0xe0000001u, FX_US, 1, 2, "x", 1);
}
static size_t m_ip_other_dst(uint8_t *b)
{
    return fx_udp_frame(b, FX_PEER, FX_PEER3, 1, 2, "x", 1);
}
static size_t m_ip_mcast_dst(uint8_t *b)
{
    return fx_udp_frame(b, FX_PEER, 0xe0000001u, 1, 2, "x", 1);
}
static size_t m_ip_link_bcast(uint8_t *b)
{
    size_t n = fx_udp_frame(b, FX_PEER, FX_US, 1, 2, "x", 1);
    memcpy(b, fx_mac_bcast, 6);
    return n;
}
static size_t m_icmp_csum(uint8_t *b)
{
    size_t n = fx_ping_frame(b, FX_PEER, FX_US, 1, 1, "abcd", 4);
    b[14 + 20 + 2] ^= 0x10;
    return n;
}
static size_t m_icmp_trunc(uint8_t *b)
{
    size_t o = fx_eth(b, fx_mac_us, fx_mac_peer, 0x0800);
    memset(b + o + 20, 0, 4);
    fx_ip(b + o, FX_PEER, FX_US, 1, 4, 1, 0);
    return o + 24 + 30; /* with Ethernet padding */
}
static size_t m_icmp_bcast_echo(uint8_t *b)
{
    size_t n = fx_ping_frame(b, FX_PEER, 0xc61200ffu, 1, 1, "abcd", 4);
    memcpy(b, fx_mac_bcast, 6);
    return n;
}
static size_t m_icmp_timestamp(uint8_t *b)
{
    size_t n = fx_ping_frame(b, FX_PEER, FX_US, 1, 1, "abcdefghijkl", 12);
    uint8_t *ic = b + 14 + 20;
    ic[0] = 13;
    put16(ic + 2, 0);
    put16(ic + 2, ref_csum(ic, 20, 0));
    return n;
}
static size_t m_icmp_bad_quote(uint8_t *b)
{
    /* a port unreachable quoting a datagram that was never ours */
    uint8_t q[28];
    fx_ip(q, FX_PEER, FX_PEER3, 17, 8, 1, 0);
    memset(q + 20, 0, 8);
    size_t n = fx_ping_frame(b, FX_PEER, FX_US, 0, 0, q, sizeof(q));
    uint8_t *ic = b + 14 + 20;
    ic[0] = 3;
    ic[1] = 3;
    put16(ic + 2, 0);
    put16(ic + 2, ref_csum(ic, 8 + sizeof(q), 0));
    return n;
}
static size_t m_udp_trunc(uint8_t *b)
{
    size_t n = fx_udp_frame(b, FX_PEER, FX_US, 1, 2, "abcd", 4);
    put16(b + 14 + 20 + 4, 40);
    return n;
}
static size_t m_udp_badlen(uint8_t *b)
{
    size_t n = fx_udp_frame(b, FX_PEER, FX_US, 1, 2, "abcd", 4);
    put16(b + 14 + 20 + 4, 4);
    return n;
}
static size_t m_udp_csum(uint8_t *b)
{
    size_t n = fx_udp_frame(b, FX_PEER, FX_US, 1, 2, "abcd", 4);
    b[n - 1] ^= 0xff;
    return n;
}
static size_t m_udp_short(uint8_t *b)
{
    size_t o = fx_eth(b, fx_mac_us, fx_mac_peer, 0x0800);
    memset(b + o + 20, 0, 6);
    fx_ip(b + o, FX_PEER, FX_US, 17, 6, 1, 0);
    return o + 26 + 20;
}
static size_t m_frag_bad_offset(uint8_t *b)
{
    size_t o = fx_eth(b, fx_mac_us, fx_mac_peer, 0x0800);
    memset(b + o + 20, 0x11, 64);
    fx_ip(b + o, FX_PEER, FX_US, 17, 64, 99, 0x2000 | 8185); /* 65480 + 64 > 65515 */
    return o + 20 + 64;
}
static size_t m_frag_bad_len(uint8_t *b)
{
    size_t o = fx_eth(b, fx_mac_us, fx_mac_peer, 0x0800);
    memset(b + o + 20, 0x11, 12);
    fx_ip(b + o, FX_PEER, FX_US, 17, 12, 99, 0x2000); /* MF with 12 bytes */
    return o + 20 + 12 + 14;
}

static const struct {
    const char *counter;
    build_fn build;
} malformed[] = {
    {"DropEthTrunc", m_eth_trunc},
    {"DropEth8023", m_eth_8023},
    {"DropEthNotForUs", m_eth_other},
    {"DropEthNotForUs", m_eth_mcast},
    {"DropEthOwnSrc", m_eth_own_src},
    {"DropEthUnknownType", m_eth_ipv6},
    {"DropArpTrunc", m_arp_trunc},
    {"DropArpMalformed", m_arp_htype},
    {"DropArpMalformed", m_arp_plen},
    {"DropArpMalformed", m_arp_op},
    {"DropArpBadSender", m_arp_mcast_sender},
    {"DropArpNotForUs", m_arp_not_for_us},
    {"DropIpTrunc", m_ip_trunc_hdr},
    {"DropIpTrunc", m_ip_trunc_total},
    {"DropIpTrunc", m_ip_ihl_past_frame},
    {"DropIpBadVersion", m_ip_version},
    {"DropIpBadIhl", m_ip_ihl},
    {"DropIpBadLen", m_ip_len},
    {"DropIpBadCsum", m_ip_csum},
    {"DropIpBadSrc", m_ip_src_loop},
    {"DropIpBadSrc", m_ip_src_ours},
    {"DropIpBadSrc", m_ip_src_bcast},
    {"DropIpBadSrc", m_ip_src_mcast},
    {"DropIpNotForUs", m_ip_other_dst},
    {"DropIpNotForUs", m_ip_mcast_dst},
    {"DropIpLinkBcast", m_ip_link_bcast},
    {"DropIcmpBadCsum", m_icmp_csum},
    {"DropIcmpTrunc", m_icmp_trunc},
    {"DropIcmpBcastEcho", m_icmp_bcast_echo},
    {"DropIcmpUnsupported", m_icmp_timestamp},
    {"DropIcmpBadQuote", m_icmp_bad_quote},
    {"DropUdpTrunc", m_udp_trunc},
    {"DropUdpTrunc", m_udp_short},
    {"DropUdpBadLen", m_udp_badlen},
    {"DropUdpBadCsum", m_udp_csum},
    {"DropIpFragBadOffset", m_frag_bad_offset},
    {"DropIpFragBadLen", m_frag_bad_len},
};

static uint64_t drop_sum(const struct fx *f)
{
    uint64_t sum = 0;
    for (unsigned i = 0; i < AXL_STAT__COUNT; i++)
        if (strncmp(axl_stat_name(i), "Drop", 4) == 0) sum += f->s->stats.v[i];
    return sum;
}

static void test_malformed_frames_table(void **state)
{
    struct fx *f = *state;
    uint8_t b[2048];

    fx_drain(f);
    fx_learn(f, FX_PEER, fx_mac_peer);
    for (size_t i = 0; i < AXL_ARRAY_SIZE(malformed); i++) {
        memset(b, 0, sizeof(b));
        size_t n = malformed[i].build(b);
        int64_t before = fx_stat(f, malformed[i].counter);
        uint64_t drops = drop_sum(f);
        fx_inject(f, b, n);
        fx_poll(f);
        if (fx_stat(f, malformed[i].counter) != before + 1 || drop_sum(f) != drops + 1 ||
            axl_memport_tx_pending(&f->port) != 0)
            fail_msg("case %zu (%s): counter %lld -> %lld, drops +%llu, %u frames out", i,
                     malformed[i].counter, (long long)before,
                     (long long)fx_stat(f, malformed[i].counter),
                     (unsigned long long)(drop_sum(f) - drops), axl_memport_tx_pending(&f->port));
        assert_int_equal(axl_pool_in_use(&f->pool), 0);
    }
}

static void test_tx_ring_full_counted(void **state)
{
    struct fx *f = *state;

    fx_drain(f);
    fx_learn(f, FX_PEER, fx_mac_peer);
    axl_memport_set_tx_limit(&f->port, 1);
    for (int i = 0; i < 3; i++)
        fx_inject(f, ping_req, sizeof(ping_req));
    fx_poll(f);
    assert_int_equal(axl_memport_tx_pending(&f->port), 1);
    assert_int_equal(fx_stat(f, "DropTxRingFull"), 2);
    assert_int_equal(axl_pool_in_use(&f->pool), 0);
    axl_memport_set_tx_limit(&f->port, 0);
}

static void test_stats_dump_and_lookup(void **state)
{
    struct fx *f = *state;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    assert_non_null(m);
    axl_stack_stats_dump(f->s, m, "r0");
    fclose(m);
    assert_non_null(strstr(buf, "r0 IpInReceives 0\n"));
    assert_non_null(strstr(buf, "r0 ArpOutGratuitous 1\n"));
    assert_non_null(strstr(buf, "r0 DropTxTooBig 0\n"));
    assert_non_null(strstr(buf, "r0 PortTxPackets 1\n"));
    /* every counter is printed, zero or not */
    for (unsigned i = 0; i < AXL_STAT__COUNT; i++)
        assert_non_null(strstr(buf, axl_stat_name(i)));
    free(buf);
    assert_int_equal(axl_stack_stat(f->s, "NoSuchCounter"), -1);
    assert_int_equal(axl_stack_stat(f->s, "ArpOutGratuitous"), 1);
}

/* Destroy with work in flight everywhere: queued datagrams, packets waiting
 * for ARP, fragments in reassembly, a half-full TX batch. */
static void test_destroy_returns_every_buffer(void **state)
{
    struct fx *f = *state;
    struct axl_udp_sock *us;
    uint8_t b[256];

    fx_drain(f);
    assert_int_equal(axl_udp_bind(f->s, 4000, NULL, NULL, &us), 0);
    fx_inject(f, b, fx_udp_frame(b, FX_PEER, FX_US, 1, 4000, "q", 1));
    size_t o = fx_eth(b, fx_mac_us, fx_mac_peer, 0x0800);
    memset(b + o + 20, 0x22, 64);
    fx_ip(b + o, FX_PEER, FX_US, 17, 64, 77, 0x2000);
    fx_inject(f, b, o + 84);
    fx_poll(f);
    assert_int_equal(axl_udp_sendto(f->s, us, "w", 1, FX_PEER3, 1), 1); /* waits for ARP */
    assert_true(axl_pool_in_use(&f->pool) >= 3);
    /* teardown destroys and checks in_use == 0 */
}

/* ---- the sleep policy ---- */

struct stopper {
    volatile sig_atomic_t *stop;
    unsigned ms;
};

static void *stop_later(void *arg)
{
    struct stopper *st = arg;
    struct timespec ts = {0, (long)st->ms * 1000000L};
    nanosleep(&ts, NULL);
    *st->stop = 1;
    return NULL;
}

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * AXL_NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void test_run_idles_without_spinning(void **state)
{
    struct fx *f = *state;
    volatile sig_atomic_t stop = 0;
    struct stopper st = {&stop, 300};
    pthread_t th;

    fx_drain(f);
    uint64_t wall0 = axl_clock_ns(), cpu0 = thread_cpu_ns();
    assert_int_equal(pthread_create(&th, NULL, stop_later, &st), 0);
    assert_int_equal(axl_stack_run(f->s, &stop), 0);
    pthread_join(th, NULL);
    uint64_t wall = axl_clock_ns() - wall0, cpu = thread_cpu_ns() - cpu0;
    assert_true(wall >= 250 * AXL_NS_PER_MS);
    /* The mem port has no fd, so the engine naps 1 ms at a time: it must use
     * far less than a core. */
    print_message("idle run: cpu %llu us in %llu us wall\n", (unsigned long long)(cpu / 1000),
                  (unsigned long long)(wall / 1000));
    if (cpu * 4 > wall)
        fail_msg("idle engine used %llu ns CPU in %llu ns", (unsigned long long)cpu,
                 (unsigned long long)wall);
    stop = 1;
    assert_int_equal(axl_stack_run(f->s, &stop), 0); /* returns at once */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_gratuitous_arp_at_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arp_reply_for_our_ip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ping_echo_reply_byte_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ping_from_unknown_peer_gleans, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_udp_to_unknown_peer_resolves_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_udp_closed_port_unreachable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_udp_echo_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_udp_recvfrom_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_udp_rcvbuf_overflow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_udp_bind_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_udp_sendto_fragments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_udp_checksum_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_icmp_rate_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_closed_port_gets_rst, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_frames_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_ring_full_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stats_dump_and_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_returns_every_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_idles_without_spinning, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
