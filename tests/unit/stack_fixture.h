/* SPDX-License-Identifier: MIT */
/*
 * stack_fixture.h - shared fixture for the engine's unit tests
 * (test_stack.c, test_arp.c, test_ipv4_frag.c): a pool, a mem port and an
 * engine driven by a deterministic clock, plus builders for the frames a peer
 * would send. Builders compute checksums with a naive reference (ref_csum),
 * independent of src/wire/csum.c.
 *
 * Addresses (RFC 2544 range): us 198.18.0.1/24 (02:00:00:00:00:01),
 * peer 198.18.0.2 (02:00:00:00:00:02), gateway 198.18.0.254.
 */
#ifndef AXL_TESTS_STACK_FIXTURE_H
#define AXL_TESTS_STACK_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/compiler.h"
#include "core/err.h"
#include "core/pool.h"
#include "net/stack.h"
#include "net/stack_priv.h"
#include "port/memport.h"
#include "port/port.h"

#define FX_US    0xc6120001u /* 198.18.0.1 */
#define FX_PEER  0xc6120002u /* 198.18.0.2 */
#define FX_PEER3 0xc6120003u
#define FX_GW    0xc61200feu
#define FX_NBUFS 1024u

static const uint8_t fx_mac_us[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t fx_mac_peer[6] = {0x02, 0, 0, 0, 0, 0x02};
static const uint8_t fx_mac_bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

struct fx {
    struct axl_pool pool;
    struct axl_port port;
    struct axl_stack *s;
    uint64_t now;
    uint8_t out[70000];
    int outlen;
};

/* Naive RFC 1071 over big-endian 16-bit words, for fixtures. */
static inline uint16_t ref_csum(const uint8_t *p, size_t n, uint32_t sum)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1) sum += (uint32_t)p[n - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static inline void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}
static inline uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t get32(const uint8_t *p)
{
    return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/* Ethernet header; returns 14. */
static inline size_t fx_eth(uint8_t *b, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
    memcpy(b, dst, 6);
    memcpy(b + 6, src, 6);
    put16(b + 12, type);
    return 14;
}

/* 20-byte IPv4 header with checksum; frag = flags|offset/8 field. */
static inline size_t fx_ip(uint8_t *b, uint32_t src, uint32_t dst, uint8_t proto, uint16_t plen,
                           uint16_t id, uint16_t frag)
{
    b[0] = 0x45;
    b[1] = 0;
    put16(b + 2, (uint16_t)(20 + plen));
    put16(b + 4, id);
    put16(b + 6, frag);
    b[8] = 64;
    b[9] = proto;
    put16(b + 10, 0);
    put32(b + 12, src);
    put32(b + 16, dst);
    put16(b + 10, ref_csum(b, 20, 0));
    return 20;
}

/* UDP header + payload at b with checksum; returns 8 + n. */
static inline size_t fx_udp(uint8_t *b, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                            const void *data, size_t n)
{
    put16(b, sport);
    put16(b + 2, dport);
    put16(b + 4, (uint16_t)(8 + n));
    put16(b + 6, 0);
    if (n) memcpy(b + 8, data, n);
    uint8_t ph[12];
    put32(ph, src);
    put32(ph + 4, dst);
    ph[8] = 0;
    ph[9] = 17;
    put16(ph + 10, (uint16_t)(8 + n));
    uint16_t c = ref_csum(ph, 12, 0);
    c = ref_csum(b, 8 + n, (uint16_t)~c);
    put16(b + 6, c ? c : 0xffff);
    return 8 + n;
}

/* A whole UDP frame peer -> us (or to dst). */
static inline size_t fx_udp_frame(uint8_t *b, uint32_t src, uint32_t dst, uint16_t sport,
                                  uint16_t dport, const void *data, size_t n)
{
    size_t o = fx_eth(b, fx_mac_us, fx_mac_peer, 0x0800);
    size_t ul = fx_udp(b + o + 20, src, dst, sport, dport, data, n);
    fx_ip(b + o, src, dst, 17, (uint16_t)ul, 0x1234, 0);
    return o + 20 + ul;
}

/* ICMP echo request frame peer -> us. */
static inline size_t fx_ping_frame(uint8_t *b, uint32_t src, uint32_t dst, uint16_t id,
                                   uint16_t seq, const void *data, size_t n)
{
    size_t o = fx_eth(b, fx_mac_us, fx_mac_peer, 0x0800);
    uint8_t *ic = b + o + 20;
    ic[0] = 8;
    ic[1] = 0;
    put16(ic + 2, 0);
    put16(ic + 4, id);
    put16(ic + 6, seq);
    if (n) memcpy(ic + 8, data, n);
    put16(ic + 2, ref_csum(ic, 8 + n, 0));
    fx_ip(b + o, src, dst, 1, (uint16_t)(8 + n), 0x4242, 0);
    return o + 20 + 8 + n;
}

/* ARP frame (42 bytes). */
static inline size_t fx_arp(uint8_t *b, const uint8_t *eth_dst, const uint8_t *eth_src, uint16_t op,
                            const uint8_t *sha, uint32_t spa, const uint8_t *tha, uint32_t tpa)
{
    size_t o = fx_eth(b, eth_dst, eth_src, 0x0806);
    put16(b + o, 1);
    put16(b + o + 2, 0x0800);
    b[o + 4] = 6;
    b[o + 5] = 4;
    put16(b + o + 6, op);
    memcpy(b + o + 8, sha, 6);
    put32(b + o + 14, spa);
    memcpy(b + o + 18, tha, 6);
    put32(b + o + 24, tpa);
    return o + 28;
}

static inline uint32_t fx_poll(struct fx *f)
{
    return axl_stack_poll(f->s, f->now);
}
static inline uint32_t fx_advance(struct fx *f, uint64_t ns)
{
    f->now += ns;
    return fx_poll(f);
}
static inline int fx_collect(struct fx *f)
{
    f->outlen = axl_memport_collect(&f->port, f->out, sizeof(f->out));
    return f->outlen;
}
static inline void fx_inject(struct fx *f, const void *frame, size_t n)
{
    assert_int_equal(axl_memport_inject(&f->port, frame, (uint32_t)n, 0), 0);
}
static inline int64_t fx_stat(struct fx *f, const char *name)
{
    int64_t v = axl_stack_stat(f->s, name);
    assert_true(v >= 0); /* the name exists */
    return v;
}

/* Bring up pool + mem port + engine. spec e.g. "mem:t0" or "mem:t0,mtu=576". */
static inline void fx_setup_cfg(struct fx *f, const char *spec, const struct axl_stack_cfg *cfg_in)
{
    char err[128];
    struct axl_port_cfg pc;
    memset(f, 0, sizeof(*f));
    assert_int_equal(axl_pool_init(&f->pool, FX_NBUFS, 2048, AXL_POOL_HEADROOM), 0);
    assert_int_equal(axl_port_parse_spec(spec, &pc, err, sizeof(err)), 0);
    pc.pool = &f->pool;
    pc.has_mac = 1;
    memcpy(pc.mac, fx_mac_us, 6);
    assert_int_equal(axl_port_open(&f->port, &pc), 0);
    struct axl_stack_cfg cfg;
    if (cfg_in) {
        cfg = *cfg_in;
    } else {
        memset(&cfg, 0, sizeof(cfg));
        cfg.addr.addr = FX_US;
        cfg.addr.prefix = 24;
        cfg.gw = FX_GW;
        cfg.seed = 42;
    }
    f->now = 1000 * AXL_NS_PER_S;
    f->s = axl_stack_create(&cfg, &f->port, &f->pool, f->now);
    assert_non_null(f->s);
}

static inline void fx_setup(struct fx *f, const char *spec)
{
    fx_setup_cfg(f, spec, NULL);
}

/* Destroy everything; every buffer must be back in the pool. */
static inline void fx_teardown(struct fx *f)
{
    axl_stack_destroy(f->s);
    f->s = NULL;
    axl_memport_tx_discard(&f->port);
    assert_int_equal(axl_pool_in_use(&f->pool), 0);
    assert_int_equal(f->pool.double_free, 0); /* a double free would hide a leak */
    assert_int_equal(f->pool.bad_free, 0);
    axl_port_close(&f->port);
    axl_pool_fini(&f->pool);
}

/* Discard the gratuitous ARP and anything else sent so far. */
static inline void fx_drain(struct fx *f)
{
    fx_poll(f);
    axl_memport_tx_discard(&f->port);
}

/* Teach the engine the peer's MAC with an ARP request from it (the engine
 * answers; the answer is discarded). */
static inline void fx_learn(struct fx *f, uint32_t ip, const uint8_t *mac)
{
    uint8_t b[64];
    static const uint8_t zero[6];
    size_t n = fx_arp(b, fx_mac_bcast, mac, 1, mac, ip, zero, FX_US);
    fx_inject(f, b, n);
    fx_poll(f);
    axl_memport_tx_discard(&f->port);
}

#endif
