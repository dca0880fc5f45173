/* SPDX-License-Identifier: MIT */
/*
 * tcp_isn.c - RFC 6528 ISNs and RFC 4987 §3.6 SYN cookies (tcp_isn.h has the
 * layouts). One SipHash per ISN, per cookie made and per cookie checked;
 * nothing is stored between calls.
 * Call chain: net/tcp connect/listen paths -> here -> core/hash.c.
 */
#include "net/tcp_isn.h"

#include "core/compiler.h"
#include "core/err.h"
#include "core/hash.h"
#include "core/rand.h"
#include "wire/tcp.h"

/* MSS values a cookie can carry, ascending (each one a common path MSS). */
static const uint16_t cookie_mss[AXL_TCP_COOKIE_NMSS] = {
    536,  /* RFC 9293 §3.7.1 default, also the floor for smaller offers */
    1220, /* IPv6 minimum MTU 1280 - 60 */
    1360, /* IPsec / VPN paths */
    1400, /* a common MSS clamp on tunnels and overlay networks */
    1440, /* 1500 - 60 (IPv6, or IPv4 + 20 bytes of tunnel) */
    1460, /* Ethernet 1500 - 40 */
    4312, /* 4352-byte MTUs (FDDI, some virtual links) - 40 */
    8960, /* 9000-byte jumbo frames - 40 */
};

enum {
    COOKIE_CTR_SHIFT = 30,
    COOKIE_MSS_SHIFT = 27,
    TS_WS_NONE = 0x0f,
    TS_SACK = 0x10,
    TS_ECN = 0x20,
    TS_MASK = (1 << AXL_TCP_COOKIE_TS_BITS) - 1,
    OPT_TS_PRESENT = 0x40, /* in the MAC's option byte */
};
#define COOKIE_MAC_MASK ((1u << AXL_TCP_COOKIE_MAC_BITS) - 1)

int axl_tcp_secret_init(struct axl_tcp_secret *s)
{
    return axl_random_bytes(s, sizeof(*s));
}

static void put_tuple(uint8_t b[12], const struct axl_tcp_tuple *t)
{
    axl_store_be32(b, t->laddr);
    axl_store_be16(b + 4, t->lport);
    axl_store_be32(b + 6, t->raddr);
    axl_store_be16(b + 10, t->rport);
}

uint32_t axl_tcp_isn(const struct axl_tcp_secret *s, const struct axl_tcp_tuple *t, uint64_t now_ns)
{
    uint8_t b[12];
    put_tuple(b, t);
    uint32_t m = (uint32_t)(now_ns / AXL_TCP_ISN_TICK_NS); /* RFC 6528 §3: M */
    return m + (uint32_t)axl_siphash24(s->isn_key, b, sizeof(b));
}

uint16_t axl_tcp_cookie_mss(unsigned idx)
{
    return cookie_mss[idx % AXL_TCP_COOKIE_NMSS];
}

static uint32_t cookie_mac(const struct axl_tcp_secret *s, const struct axl_tcp_tuple *t,
                           uint32_t peer_isn, uint64_t ctr, unsigned mss_idx, uint8_t opt)
{
    uint8_t b[26];
    put_tuple(b, t);
    axl_store_be32(b + 12, peer_isn);
    axl_store_be32(b + 16, (uint32_t)(ctr >> 32));
    axl_store_be32(b + 20, (uint32_t)ctr);
    b[24] = (uint8_t)mss_idx;
    b[25] = opt;
    return (uint32_t)axl_siphash24(s->cookie_key, b, sizeof(b)) & COOKIE_MAC_MASK;
}

/* The 6 option bits of a TSval (layout in tcp_isn.h). */
static uint8_t ts_bits(const struct axl_tcp_syn_opts *o)
{
    uint8_t v = o->ws_ok ? (uint8_t)AXL_MIN(o->ws_shift, 14) : TS_WS_NONE;
    if (o->sack_ok) v |= TS_SACK;
    if (o->ecn_ok) v |= TS_ECN;
    return v;
}

uint32_t axl_tcp_cookie_make(const struct axl_tcp_secret *s, const struct axl_tcp_tuple *t,
                             uint32_t peer_isn, const struct axl_tcp_syn_opts *o, uint64_t now_ns,
                             uint32_t ts_now, uint32_t *tsval)
{
    unsigned idx = 0;
    for (unsigned i = AXL_TCP_COOKIE_NMSS - 1; i > 0; i--) {
        if (o->mss >= cookie_mss[i]) {
            idx = i;
            break;
        }
    }
    uint8_t opt = 0;
    if (o->ts_ok) {
        uint8_t bits = ts_bits(o);
        opt = (uint8_t)(OPT_TS_PRESENT | bits);
        uint32_t v = (ts_now & ~(uint32_t)TS_MASK) | bits;
        /* never ahead of our clock: the peer's PAWS (RFC 7323 §5) compares
         * later TSvals against this one */
        if (axl_seq_gt(v, ts_now)) v -= 1u << AXL_TCP_COOKIE_TS_BITS;
        *tsval = v;
    }
    uint64_t ctr = now_ns / AXL_TCP_COOKIE_PERIOD_NS;
    return (uint32_t)(ctr & 3) << COOKIE_CTR_SHIFT | (uint32_t)idx << COOKIE_MSS_SHIFT |
           cookie_mac(s, t, peer_isn, ctr, idx, opt);
}

int axl_tcp_cookie_check(const struct axl_tcp_secret *s, const struct axl_tcp_tuple *t,
                         uint32_t cookie, uint32_t peer_isn, int has_ts, uint32_t tsecr,
                         uint64_t now_ns, struct axl_tcp_syn_opts *o)
{
    uint64_t now_ctr = now_ns / AXL_TCP_COOKIE_PERIOD_NS;
    uint64_t age = (now_ctr - (cookie >> COOKIE_CTR_SHIFT)) & 3;
    if (age > 1 || age > now_ctr) return AXL_EINVAL; /* expired, or from the future */
    uint64_t ctr = now_ctr - age;
    unsigned idx = (cookie >> COOKIE_MSS_SHIFT) & (AXL_TCP_COOKIE_NMSS - 1);
    uint8_t bits = (uint8_t)(tsecr & TS_MASK);
    uint8_t opt = has_ts ? (uint8_t)(OPT_TS_PRESENT | bits) : 0;
    if (cookie_mac(s, t, peer_isn, ctr, idx, opt) != (cookie & COOKIE_MAC_MASK)) return AXL_EINVAL;
    o->mss = cookie_mss[idx];
    o->ts_ok = has_ts != 0;
    o->ws_ok = has_ts && (bits & TS_WS_NONE) != TS_WS_NONE;
    o->ws_shift = o->ws_ok ? (bits & TS_WS_NONE) : 0;
    o->sack_ok = has_ts && (bits & TS_SACK);
    o->ecn_ok = has_ts && (bits & TS_ECN);
    return 0;
}
