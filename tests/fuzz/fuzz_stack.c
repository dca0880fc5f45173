/* SPDX-License-Identifier: MIT */
/*
 * fuzz_stack.c - libFuzzer target for the whole engine on the mem port.
 *
 * Each input builds a fresh engine (pool, port, stack with a UDP echo socket
 * on port 7 and a queueing socket on port 5000), plays a script, destroys
 * everything and aborts if a pool buffer leaked. Script records:
 *
 *   op(1) len(2, big-endian) body(len)
 *   op % 6 == 0  inject body as a raw frame
 *   op % 6 == 1  inject body as a raw frame marked CSUM_PARTIAL
 *   op % 6 == 2  advance the clock by body[0] * 100 ms (0: 1 ms) and poll
 *   op % 6 == 3  IPv4 from the peer with a valid header: body = proto(1)
 *                frag field(2) id(2) payload...  (reaches reassembly and the
 *                transports, which random bytes rarely would)
 *   op % 6 == 4  UDP from the peer with valid checksums: body = dport(2)
 *                payload...
 *   op % 6 == 5  the application sends body as a UDP datagram to the peer
 *                (or, if body[0] is odd, to an unresolvable host)
 * A poll follows every record; the clock moves 1 ms per record.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/pool.h"
#include "net/stack.h"
#include "port/memport.h"
#include "port/port.h"
#include "wire/csum.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define US    0xc6120001u
#define PEER  0xc6120002u
#define OTHER 0xc6120063u

static const uint8_t mac_us[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t mac_peer[6] = {0x02, 0, 0, 0, 0, 0x02};

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

static size_t ip_frame(uint8_t *b, uint8_t proto, uint16_t frag, uint16_t id, const uint8_t *pl,
                       size_t n)
{
    memcpy(b, mac_us, 6);
    memcpy(b + 6, mac_peer, 6);
    put16(b + 12, 0x0800);
    uint8_t *ip = b + 14;
    ip[0] = 0x45;
    ip[1] = 0;
    put16(ip + 2, (uint16_t)(20 + n));
    put16(ip + 4, id);
    put16(ip + 6, frag);
    ip[8] = 64;
    ip[9] = proto;
    put16(ip + 10, 0);
    put32(ip + 12, PEER);
    put32(ip + 16, US);
    put16(ip + 10, axl_csum(ip, 20));
    memcpy(ip + 20, pl, n);
    return 34 + n;
}

static void echo_cb(struct axl_udp_sock *us, const uint8_t *d, uint32_t len, uint32_t saddr,
                    uint16_t sport, void *arg)
{
    axl_udp_sendto(arg, us, d, len, saddr, sport);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t frame[2048], dg[2048];
    struct axl_pool pool;
    struct axl_port port;
    struct axl_port_cfg pc;
    char err[64];

    axl_log_set_level(AXL_LOG_ERR);
    if (axl_pool_init(&pool, 256, 2048, AXL_POOL_HEADROOM) < 0) abort();
    if (axl_port_parse_spec("mem:fuzz", &pc, err, sizeof(err)) < 0) abort();
    pc.pool = &pool;
    pc.has_mac = 1;
    memcpy(pc.mac, mac_us, 6);
    if (axl_port_open(&port, &pc) < 0) abort();
    struct axl_stack_cfg cfg = {
        .addr = {US, 24}, .gw = 0xc61200feu, .seed = 1, .reasm_max_bytes = 64 * 2048};
    uint64_t now = 1000 * AXL_NS_PER_S;
    struct axl_stack *s = axl_stack_create(&cfg, &port, &pool, now);
    if (!s) abort();
    struct axl_udp_sock *echo, *q;
    if (axl_udp_bind(s, 7, echo_cb, s, &echo) < 0 || axl_udp_bind(s, 5000, NULL, NULL, &q) < 0)
        abort();
    /* the peer is known (it sent an ARP request) */
    static const uint8_t arp[42] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0,    0, 0, 0,
                                    0x02, 0x08, 0x06, 0,    1,    8,    0,    6,    4, 0, 1,
                                    0x02, 0,    0,    0,    0,    0x02, 0xc6, 0x12, 0, 2, 0,
                                    0,    0,    0,    0,    0,    0xc6, 0x12, 0,    1};
    axl_memport_inject(&port, arp, sizeof(arp), 0);
    axl_stack_poll(s, now);

    size_t i = 0;
    while (i + 3 <= size) {
        uint8_t op = data[i];
        size_t len = (size_t)data[i + 1] << 8 | data[i + 2];
        i += 3;
        if (len > size - i) len = size - i;
        const uint8_t *body = data + i;
        i += len;
        switch (op % 6) {
        case 0:
        case 1:
            if (len)
                axl_memport_inject(&port, body, (uint32_t)len, op % 6 ? AXL_PKT_F_CSUM_PARTIAL : 0);
            break;
        case 2:
            now += len && body[0] ? body[0] * 100 * AXL_NS_PER_MS : AXL_NS_PER_MS;
            break;
        case 3:
            if (len >= 5 && len - 5 <= 1480)
                axl_memport_inject(
                    &port, frame,
                    (uint32_t)ip_frame(frame, body[0], (uint16_t)(body[1] << 8 | body[2]),
                                       (uint16_t)(body[3] << 8 | body[4]), body + 5, len - 5),
                    0);
            break;
        case 4:
            if (len >= 2 && len - 2 <= 1472) {
                size_t n = len - 2;
                put16(dg, 40000);
                memcpy(dg + 2, body, 2);
                put16(dg + 4, (uint16_t)(8 + n));
                put16(dg + 6, 0);
                memcpy(dg + 8, body + 2, n);
                uint32_t sum = axl_csum_partial(dg, 8 + n, 0);
                sum = axl_csum_add32(sum, axl_csum_pseudo_ipv4(PEER, US, 17, (uint16_t)(8 + n)));
                uint16_t c = axl_csum_fold(sum);
                put16(dg + 6, c ? c : 0xffff);
                axl_memport_inject(&port, frame, (uint32_t)ip_frame(frame, 17, 0, 1, dg, 8 + n), 0);
            }
            break;
        default:
            axl_udp_sendto(s, q, body, (uint32_t)len, len && (body[0] & 1) ? OTHER : PEER, 9);
            break;
        }
        now += AXL_NS_PER_MS;
        axl_stack_poll(s, now);
        /* the port keeps what was sent; the test only needs it not to grow forever */
        if (axl_memport_tx_pending(&port) > 1000) axl_memport_tx_discard(&port);
        uint8_t tmp[8];
        while (axl_udp_recvfrom(s, q, tmp, sizeof(tmp), NULL, NULL) != AXL_EAGAIN && (op & 0x80))
            ; /* read one datagram per record, all of them when op has bit 7 */
    }
    axl_stack_destroy(s);
    axl_memport_tx_discard(&port);
    if (axl_pool_in_use(&pool) != 0 || pool.double_free || pool.bad_free)
        abort(); /* a buffer leaked, or was freed twice (which could hide a leak) */
    axl_port_close(&port);
    axl_pool_fini(&pool);
    return 0;
}
