/* SPDX-License-Identifier: MIT */
/*
 * fuzz_tcp_engine.c - libFuzzer target for TCP inside the engine (net/tcp*.c)
 * on the mem port: a listener and live connections driven by segments whose
 * sequence and acknowledgment numbers are relative to what the engine last
 * sent, so the fuzzer reaches ESTABLISHED, data transfer, loss recovery,
 * closing states and ICMP handling instead of bouncing off the sequence
 * checks.
 *
 * Each input builds a fresh engine (pool, port, stack, a listener on port 80
 * that accepts everything, one active open to the peer's port 9000), plays a
 * script, closes every handle, destroys the engine and aborts if a pool
 * buffer leaked or was freed twice. Script records: op(1) len(1) body(len).
 *
 *   op % 8 == 0  inject body as a raw frame
 *   op % 8 == 1  a TCP segment from the peer with valid checksums:
 *                body = ctl(1) flags(1) dseq(2) dack(2) win(2) optlen(1)
 *                options(optlen, <= 40, padded with EOL) payload...
 *                ports: ctl bit 0 set -> the reverse of the last segment the
 *                engine sent; else peer port 40000 + (ctl >> 1 & 7) -> 80.
 *                SEQ = that segment's ACK + dseq, ACK = its SEQ + SEG.LEN +
 *                dack (signed 16-bit offsets).
 *   op % 8 == 2  advance the clock by body[0] * 50 ms (1 ms without a body)
 *   op % 8 == 3  the application sends body on handle body[0] % NH
 *                (zero-copy when body[0] has bit 7; the buffer is static)
 *   op % 8 == 4  the application reads (or recv/recv_done) on a handle
 *   op % 8 == 5  shutdown / close / abort of a handle (by body[1] % 3)
 *   op % 8 == 6  an ICMP error quoting the last segment the engine sent:
 *                body = type selector(1) code(1) mtu(2)
 *   op % 8 == 7  setopt on a handle: body = handle opt value(4)
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
#include "net/tcp.h"
#include "port/memport.h"
#include "port/port.h"
#include "wire/csum.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define US   0xc6120001u
#define PEER 0xc6120002u
#define NH   8 /* handles the application holds at most */

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
static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/* The application: the handles it holds (accepted or connected). */
struct app {
    struct axl_stack *s;
    struct axl_tcb *h[NH];
};

/* The last TCP segment the engine sent. */
struct last {
    int valid;
    uint16_t sport, dport;
    uint32_t seq, ack, seglen;
    uint8_t quote[48];
    size_t qlen;
};

static void app_add(struct app *a, struct axl_tcb *c)
{
    for (int i = 0; i < NH; i++)
        if (!a->h[i]) {
            a->h[i] = c;
            return;
        }
    axl_tcp_abort(c); /* no room: the application refuses it */
}

static const struct axl_tcp_ops ops;

static void ev_new_conn(struct axl_tcp_listener *l, void *u)
{
    struct axl_tcb *c;
    while (axl_tcp_accept(l, &c) == 0) {
        axl_tcp_set_user(c, &ops, u); /* accepted connections start with no user */
        app_add(u, c);
    }
}
static void ev_data(struct axl_tcb *c, void *u, uint32_t avail)
{
    (void)u;
    /* Echo a little of it from inside the callback (re-entrancy). */
    uint8_t b[64];
    if (avail > 1000) {
        int n = axl_tcp_read(c, b, sizeof(b));
        if (n > 0) (void)axl_tcp_send(c, b, (uint32_t)n);
    }
}
static void ev_cleanup(struct axl_tcb *c, void *u, int err)
{
    struct app *a = u;
    if (err != -ECONNRESET) return; /* keep the handle: the script may still use it */
    for (int i = 0; i < NH; i++)
        if (a->h[i] == c) {
            a->h[i] = NULL;
            axl_tcp_close(c); /* closing from inside the callback */
        }
}
static const struct axl_tcp_ops ops = {
    .new_conn = ev_new_conn,
    .new_data = ev_data,
    .cleanup = ev_cleanup,
};

static size_t eth_ip(uint8_t *b, uint8_t proto, size_t plen)
{
    memcpy(b, mac_us, 6);
    memcpy(b + 6, mac_peer, 6);
    put16(b + 12, 0x0800);
    uint8_t *ip = b + 14;
    ip[0] = 0x45;
    ip[1] = 0;
    put16(ip + 2, (uint16_t)(20 + plen));
    put16(ip + 4, 7);
    put16(ip + 6, 0x4000);
    ip[8] = 64;
    ip[9] = proto;
    put16(ip + 10, 0);
    put32(ip + 12, PEER);
    put32(ip + 16, US);
    put16(ip + 10, axl_csum(ip, 20));
    return 34;
}

/* Take every frame the engine sent; remember the last TCP segment. */
static void drain(struct axl_port *port, struct last *l)
{
    static uint8_t f[16384];
    int n;
    while ((n = axl_memport_collect(port, f, sizeof(f))) > 0) {
        if (n < 54 || get16(f + 12) != 0x0800 || f[23] != 6) continue;
        const uint8_t *ip = f + 14;
        size_t ihl = (size_t)(ip[0] & 15) * 4;
        size_t tot = get16(ip + 2);
        if (ihl != 20 || tot < 40 || tot + 14 > (size_t)n) continue;
        const uint8_t *t = ip + 20;
        size_t thl = (size_t)(t[12] >> 4) * 4;
        if (thl < 20 || 20 + thl > tot) continue;
        l->valid = 1;
        l->sport = get16(t);
        l->dport = get16(t + 2);
        l->seq = get32(t + 4);
        l->ack = get32(t + 8);
        l->seglen = (uint32_t)(tot - 20 - thl) + ((t[13] & 0x02) ? 1u : 0u) + ((t[13] & 0x01) ? 1u : 0u);
        l->qlen = tot < sizeof(l->quote) ? tot : sizeof(l->quote);
        memcpy(l->quote, ip, l->qlen);
    }
}

static void tcp_segment(struct axl_port *port, const struct last *l, const uint8_t *b, size_t len)
{
    static uint8_t frame[2048];
    if (len < 9) return;
    uint8_t ctl = b[0];
    size_t ol = b[8] > 40 ? 40 : b[8];
    if (9 + ol > len) ol = len - 9;
    size_t hl = 20 + ((ol + 3) & ~(size_t)3);
    size_t pl = len - 9 - ol;
    if (pl > 1460) pl = 1460;
    size_t o = eth_ip(frame, 6, hl + pl);
    uint8_t *t = frame + o;
    uint16_t sport = (uint16_t)(40000 + (ctl >> 1 & 7)), dport = 80;
    uint32_t seq = 0, ack = 0;
    if (l->valid) {
        if (ctl & 1) {
            sport = l->dport;
            dport = l->sport;
        }
        seq = l->ack;
        ack = l->seq + l->seglen;
    }
    seq += (uint32_t)(int32_t)(int16_t)get16(b + 2);
    ack += (uint32_t)(int32_t)(int16_t)get16(b + 4);
    put16(t, sport);
    put16(t + 2, dport);
    put32(t + 4, seq);
    put32(t + 8, ack);
    t[12] = (uint8_t)((hl / 4) << 4);
    t[13] = b[1];
    put16(t + 14, get16(b + 6));
    put16(t + 16, 0);
    put16(t + 18, 0);
    memset(t + 20, 0, hl - 20);
    memcpy(t + 20, b + 9, ol);
    memcpy(t + hl, b + 9 + ol, pl);
    uint32_t sum = axl_csum_partial(t, hl + pl, 0);
    sum = axl_csum_add32(sum, axl_csum_pseudo_ipv4(PEER, US, 6, (uint16_t)(hl + pl)));
    put16(t + 16, axl_csum_fold(sum));
    axl_memport_inject(port, frame, (uint32_t)(o + hl + pl), 0);
}

static void icmp_error(struct axl_port *port, const struct last *l, const uint8_t *b, size_t len)
{
    static uint8_t frame[256];
    if (!l->valid || len < 4) return;
    static const uint8_t types[] = {3, 11, 12, 4};
    uint8_t *ic = frame + eth_ip(frame, 1, 8 + l->qlen);
    ic[0] = types[b[0] % 4];
    ic[1] = b[1] % 16;
    put16(ic + 2, 0);
    put16(ic + 4, 0);
    put16(ic + 6, get16(b + 2));
    memcpy(ic + 8, l->quote, l->qlen);
    put16(ic + 2, axl_csum(ic, 8 + l->qlen));
    axl_memport_inject(port, frame, (uint32_t)(34 + 8 + l->qlen), 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t zc[1500];
    struct axl_pool pool;
    struct axl_port port;
    struct axl_port_cfg pc;
    struct app a;
    struct last l;
    char err[64];

    memset(&a, 0, sizeof(a));
    memset(&l, 0, sizeof(l));
    for (size_t i = 0; i < sizeof(zc); i++) zc[i] = (uint8_t)i;
    axl_log_set_level(AXL_LOG_ERR);
    if (axl_pool_init(&pool, 512, 2048, AXL_POOL_HEADROOM) < 0) abort();
    if (axl_port_parse_spec("mem:fuzz", &pc, err, sizeof(err)) < 0) abort();
    pc.pool = &pool;
    pc.has_mac = 1;
    memcpy(pc.mac, mac_us, 6);
    if (axl_port_open(&port, &pc) < 0) abort();
    struct axl_stack_cfg cfg = {.addr = {US, 24},
                                .seed = 1,
                                .tcp_sndbuf = 16384,
                                .tcp_rcvbuf = 16384,
                                .tcp_max_conns = 32};
    uint64_t now = 1000 * AXL_NS_PER_S;
    struct axl_stack *s = axl_stack_create(&cfg, &port, &pool, now);
    if (!s) abort();
    a.s = s;
    /* the peer is known (it sent an ARP request) */
    static const uint8_t arp[42] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0,    0, 0, 0,
                                    0x02, 0x08, 0x06, 0,    1,    8,    0,    6,    4, 0, 1,
                                    0x02, 0,    0,    0,    0,    0x02, 0xc6, 0x12, 0, 2, 0,
                                    0,    0,    0,    0,    0,    0xc6, 0x12, 0,    1};
    axl_memport_inject(&port, arp, sizeof(arp), 0);
    axl_stack_poll(s, now);
    struct axl_tcp_listener *lst;
    if (axl_tcp_listen(s, 80, 4, &ops, &a, &lst) < 0) abort();
    struct axl_tcb *c;
    if (axl_tcp_connect(s, PEER, 9000, 0, &ops, &a, &c) < 0) abort();
    app_add(&a, c);
    axl_stack_poll(s, now);
    drain(&port, &l);

    size_t i = 0;
    while (i + 2 <= size) {
        uint8_t op = data[i];
        size_t len = data[i + 1];
        i += 2;
        if (len > size - i) len = size - i;
        const uint8_t *body = data + i;
        i += len;
        struct axl_tcb **hp = len ? &a.h[body[0] % NH] : &a.h[0];
        switch (op % 8) {
        case 0:
            if (len) axl_memport_inject(&port, body, (uint32_t)len, 0);
            break;
        case 1:
            tcp_segment(&port, &l, body, len);
            break;
        case 2:
            now += len ? body[0] * 50 * AXL_NS_PER_MS : AXL_NS_PER_MS;
            break;
        case 3:
            if (*hp && len > 1) {
                if (body[0] & 0x80)
                    (void)axl_tcp_send_zc(*hp, zc, (uint32_t)(len * 5), NULL);
                else
                    (void)axl_tcp_send(*hp, body + 1, (uint32_t)(len - 1));
            }
            break;
        case 4:
            if (*hp) {
                if (len > 1 && (body[1] & 1)) {
                    struct axl_tcp_iov iov[4];
                    int n = axl_tcp_recv(*hp, iov, 4);
                    if (n > 0) (void)axl_tcp_recv_done(*hp, iov[0].len);
                } else {
                    uint8_t b[512];
                    (void)axl_tcp_read(*hp, b, sizeof(b));
                }
            }
            break;
        case 5:
            if (*hp && len > 1) {
                switch (body[1] % 3) {
                case 0:
                    (void)axl_tcp_shutdown(*hp);
                    break;
                case 1:
                    axl_tcp_close(*hp);
                    *hp = NULL;
                    break;
                default:
                    axl_tcp_abort(*hp);
                    *hp = NULL;
                    break;
                }
            }
            break;
        case 6:
            icmp_error(&port, &l, body, len);
            break;
        default:
            if (*hp && len >= 6) {
                struct axl_tcp_info info;
                (void)axl_tcp_setopt(*hp, (enum axl_tcp_opt)(body[1] % 10), get32(body + 2) % 100000);
                axl_tcp_get_info(*hp, &info);
            }
            break;
        }
        now += AXL_NS_PER_MS;
        axl_stack_poll(s, now);
        drain(&port, &l);
    }
    for (int k = 0; k < NH; k++)
        if (a.h[k]) axl_tcp_close(a.h[k]);
    axl_tcp_listener_close(lst);
    axl_stack_poll(s, now + AXL_NS_PER_MS);
    axl_stack_destroy(s);
    axl_memport_tx_discard(&port);
    if (axl_pool_in_use(&pool) != 0 || pool.double_free || pool.bad_free)
        abort(); /* a buffer leaked, or was freed twice (which could hide a leak) */
    axl_port_close(&port);
    axl_pool_fini(&pool);
    return 0;
}
