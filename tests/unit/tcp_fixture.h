/* SPDX-License-Identifier: MIT */
/*
 * tcp_fixture.h - shared fixture for the TCP unit tests (test_tcp_*.c): the
 * engine on the mem port with a deterministic clock (stack_fixture.h), a
 * builder for the segments a peer sends (options written byte by byte here,
 * checksums by the naive reference, independent of src/wire), a parser that
 * checks every segment the engine sends (IPv4 and TCP checksums by the
 * reference) and an event recorder behind struct axl_tcp_ops.
 *
 * Addresses: us 198.18.0.1 (the engine), peer 198.18.0.2 (the test).
 */
#ifndef AXL_TESTS_TCP_FIXTURE_H
#define AXL_TESTS_TCP_FIXTURE_H

#include "stack_fixture.h"

#include "net/tcp.h"
#include "net/tcp_priv.h"
#include "wire/tcp.h"

#define T_FIN 0x01
#define T_SYN 0x02
#define T_RST 0x04
#define T_PSH 0x08
#define T_ACK 0x10
#define T_URG 0x20

/* One segment, either direction. */
struct tseg {
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t win;
    uint16_t urg;
    /* options (to send: the has_* that are set; received: what was found) */
    int has_mss, has_ws, has_sackok, has_ts;
    uint16_t mss;
    uint8_t ws;
    uint32_t tsval, tsecr;
    int nsack;
    uint32_t sack[4][2];
    int bad_csum; /* send: corrupt the checksum */
    const uint8_t *data;
    uint32_t len;
    uint8_t payload[2048]; /* received payload copy */
};

/* Build a frame peer -> us carrying sg; returns its length. */
static inline size_t tf_frame(uint8_t *b, const struct tseg *sg)
{
    size_t o = fx_eth(b, fx_mac_us, fx_mac_peer, 0x0800);
    uint8_t *t = b + o + 20;
    uint8_t opt[40];
    size_t ol = 0;
    if (sg->has_mss) {
        opt[ol++] = 2;
        opt[ol++] = 4;
        put16(opt + ol, sg->mss);
        ol += 2;
    }
    if (sg->has_sackok) {
        opt[ol++] = 1;
        opt[ol++] = 1;
        opt[ol++] = 4;
        opt[ol++] = 2;
    }
    if (sg->has_ts) {
        opt[ol++] = 1;
        opt[ol++] = 1;
        opt[ol++] = 8;
        opt[ol++] = 10;
        put32(opt + ol, sg->tsval);
        put32(opt + ol + 4, sg->tsecr);
        ol += 8;
    }
    if (sg->has_ws) {
        opt[ol++] = 1;
        opt[ol++] = 3;
        opt[ol++] = 3;
        opt[ol++] = sg->ws;
    }
    if (sg->nsack) {
        opt[ol++] = 1;
        opt[ol++] = 1;
        opt[ol++] = 5;
        opt[ol++] = (uint8_t)(2 + 8 * sg->nsack);
        for (int i = 0; i < sg->nsack; i++) {
            put32(opt + ol, sg->sack[i][0]);
            put32(opt + ol + 4, sg->sack[i][1]);
            ol += 8;
        }
    }
    size_t hl = 20 + ol;
    put16(t, sg->sport);
    put16(t + 2, sg->dport);
    put32(t + 4, sg->seq);
    put32(t + 8, sg->ack);
    t[12] = (uint8_t)((hl / 4) << 4);
    t[13] = sg->flags;
    put16(t + 14, sg->win);
    put16(t + 16, 0);
    put16(t + 18, sg->urg);
    memcpy(t + 20, opt, ol);
    if (sg->len) memcpy(t + hl, sg->data, sg->len);
    size_t tl = hl + sg->len;
    uint8_t ph[12];
    put32(ph, FX_PEER);
    put32(ph + 4, FX_US);
    ph[8] = 0;
    ph[9] = 6;
    put16(ph + 10, (uint16_t)tl);
    uint16_t c = ref_csum(ph, 12, 0);
    c = ref_csum(t, tl, (uint16_t)~c);
    if (sg->bad_csum) c ^= 0x5a5a;
    put16(t + 16, c);
    fx_ip(b + o, FX_PEER, FX_US, 6, (uint16_t)tl, 0x7777, 0x4000);
    return o + 20 + tl;
}

static inline void tf_send(struct fx *f, const struct tseg *sg)
{
    static uint8_t b[4096];
    size_t n = tf_frame(b, sg);
    fx_inject(f, b, n);
    fx_poll(f);
}

/* Parse the next frame the engine sent as a TCP segment (asserting it is
 * one, with correct checksums). Returns 0, or -1 when nothing was sent. */
static inline int tf_recv(struct fx *f, struct tseg *sg)
{
    memset(sg, 0, sizeof(*sg));
    for (;;) {
        if (fx_collect(f) <= 0) return -1;
        if (get16(f->out + 12) == 0x0806) continue; /* ARP: not for these tests */
        break;
    }
    const uint8_t *ip = f->out + 14;
    assert_int_equal(get16(f->out + 12), 0x0800);
    assert_int_equal(ref_csum(ip, 20, 0), 0);
    assert_int_equal(ip[9], 6);
    assert_true(ip[6] & 0x40); /* DF: segments are never fragmented */
    uint32_t tl = get16(ip + 2) - 20u;
    const uint8_t *t = ip + 20;
    uint8_t ph[12];
    memcpy(ph, ip + 12, 8);
    ph[8] = 0;
    ph[9] = 6;
    put16(ph + 10, (uint16_t)tl);
    uint16_t c = ref_csum(ph, 12, 0);
    assert_int_equal(ref_csum(t, tl, (uint16_t)~c), 0);
    sg->sport = get16(t);
    sg->dport = get16(t + 2);
    sg->seq = get32(t + 4);
    sg->ack = get32(t + 8);
    sg->flags = t[13];
    sg->win = get16(t + 14);
    sg->urg = get16(t + 18);
    uint32_t hl = (uint32_t)(t[12] >> 4) * 4;
    assert_true(hl >= 20 && hl <= tl);
    for (uint32_t i = 20; i < hl;) {
        uint8_t k = t[i];
        if (k == 0) break;
        if (k == 1) {
            i++;
            continue;
        }
        uint8_t l = t[i + 1];
        assert_true(l >= 2 && i + l <= hl);
        if (k == 2) {
            sg->has_mss = 1;
            sg->mss = get16(t + i + 2);
        } else if (k == 3) {
            sg->has_ws = 1;
            sg->ws = t[i + 2];
        } else if (k == 4) {
            sg->has_sackok = 1;
        } else if (k == 8) {
            sg->has_ts = 1;
            sg->tsval = get32(t + i + 2);
            sg->tsecr = get32(t + i + 6);
        } else if (k == 5) {
            sg->nsack = (l - 2) / 8;
            for (int j = 0; j < sg->nsack; j++) {
                sg->sack[j][0] = get32(t + i + 2 + 8 * j);
                sg->sack[j][1] = get32(t + i + 6 + 8 * j);
            }
        }
        i += l;
    }
    sg->len = tl - hl;
    assert_true(sg->len <= sizeof(sg->payload));
    memcpy(sg->payload, t + hl, sg->len);
    sg->data = sg->payload;
    return 0;
}

/* Take everything the engine sent; *last is the last segment. Returns the
 * number of segments. */
static inline int tf_drain(struct fx *f, struct tseg *last)
{
    static struct tseg tmp;
    int n = 0;
    while (tf_recv(f, &tmp) == 0) {
        n++;
        if (last) memcpy(last, &tmp, sizeof(tmp));
    }
    if (last && n) last->data = last->payload;
    return n;
}

/* Nothing more was sent. */
static inline void tf_none(struct fx *f)
{
    struct tseg sg;
    int rc = tf_recv(f, &sg);
    if (rc == 0)
        fail_msg("unexpected segment flags %#x seq %u ack %u len %u", sg.flags, sg.seq, sg.ack,
                 sg.len);
}

/* Advance the clock from `from` in 1 ms steps until the engine sends
 * something (at most max_ms steps); returns the time it appeared, 0 if it
 * did not. Nothing may appear before `from`. */
static inline uint64_t tf_step_until_sent(struct fx *f, uint64_t from, unsigned max_ms)
{
    f->now = from;
    fx_poll(f);
    if (axl_memport_tx_pending(&f->port)) return 0;
    for (unsigned i = 1; i <= max_ms; i++) {
        f->now = from + i * AXL_NS_PER_MS;
        fx_poll(f);
        if (axl_memport_tx_pending(&f->port)) return f->now;
    }
    return 0;
}

/* ---- events --------------------------------------------------------------- */

struct tev {
    int new_conn, connected, data, acked, zc, remote_closed, cleanup;
    int cleanup_err;
    uint32_t last_avail, acked_bytes;
    void *zc_cookie[16];
    struct axl_tcp_listener *l;
    struct axl_tcb *accepted; /* auto-accept in new_conn when set_autoaccept */
    int autoaccept;
    int close_in_cleanup;
};

static const struct axl_tcp_ops tev_ops;

static void tev_new_conn(struct axl_tcp_listener *l, void *u)
{
    struct tev *e = u;
    e->new_conn++;
    e->l = l;
    if (e->autoaccept) {
        struct axl_tcb *c;
        if (axl_tcp_accept(l, &c) == 0) {
            e->accepted = c;
            axl_tcp_set_user(c, &tev_ops, e);
        }
    }
}
static void tev_connected(struct axl_tcb *c, void *u)
{
    (void)c;
    ((struct tev *)u)->connected++;
}
static void tev_data(struct axl_tcb *c, void *u, uint32_t avail)
{
    (void)c;
    struct tev *e = u;
    e->data++;
    e->last_avail = avail;
}
static void tev_acked(struct axl_tcb *c, void *u, uint32_t acked, uint32_t room)
{
    (void)c;
    (void)room;
    struct tev *e = u;
    e->acked++;
    e->acked_bytes += acked;
}
static void tev_zc(struct axl_tcb *c, void *u, void *cookie)
{
    (void)c;
    struct tev *e = u;
    if (e->zc < 16) e->zc_cookie[e->zc] = cookie;
    e->zc++;
}
static void tev_remote_closed(struct axl_tcb *c, void *u)
{
    (void)c;
    ((struct tev *)u)->remote_closed++;
}
static void tev_cleanup(struct axl_tcb *c, void *u, int err)
{
    struct tev *e = u;
    e->cleanup++;
    e->cleanup_err = err;
    if (e->close_in_cleanup) axl_tcp_close(c);
}

static const struct axl_tcp_ops tev_ops = {
    .new_conn = tev_new_conn,
    .connected = tev_connected,
    .new_data = tev_data,
    .data_acked = tev_acked,
    .zc_done = tev_zc,
    .remote_closed = tev_remote_closed,
    .cleanup = tev_cleanup,
};

/* ---- common set-ups ------------------------------------------------------- */

#define TF_PORT      8080
#define TF_PEER_PORT 40000

struct tfx {
    struct fx f;
    struct tev ev;
    struct axl_tcp_listener *l;
    struct axl_tcb *c;
    uint32_t iss;     /* ours */
    uint32_t irs;     /* the peer's */
    uint32_t snd_nxt; /* the peer's next sequence number */
    uint32_t rcv_nxt; /* what the peer expects from us next */
    uint32_t ts;      /* the peer's TS clock */
    uint32_t ts_us;   /* our last TSval */
    int use_ts;
};

static inline void tfx_setup(struct tfx *x)
{
    memset(x, 0, sizeof(*x));
    fx_setup(&x->f, "mem:t0");
    fx_drain(&x->f);
    fx_learn(&x->f, FX_PEER, fx_mac_peer);
}

static inline void tfx_teardown(struct tfx *x)
{
    if (x->c) axl_tcp_close(x->c);
    x->c = NULL;
    fx_teardown(&x->f);
}

/* A segment from the peer of the current connection. */
static inline struct tseg tfx_seg(struct tfx *x, uint8_t flags)
{
    struct tseg s;
    memset(&s, 0, sizeof(s));
    s.sport = TF_PEER_PORT;
    s.dport = TF_PORT;
    s.seq = x->snd_nxt;
    s.ack = x->rcv_nxt;
    s.flags = flags;
    s.win = 65535;
    if (x->use_ts) {
        s.has_ts = 1;
        s.tsval = x->ts;
        s.tsecr = x->ts_us;
    }
    return s;
}

/* Listen on TF_PORT and complete a passive handshake with the options the
 * flags ask for (mss 1460, ws 7, sack, ts). Leaves x->c accepted. */
static inline void tfx_passive(struct tfx *x, int ts, int sack, int ws)
{
    struct tseg sg, r;
    x->ev.autoaccept = 1;
    assert_int_equal(axl_tcp_listen(x->f.s, TF_PORT, 4, &tev_ops, &x->ev, &x->l), 0);
    x->irs = 1000000;
    x->snd_nxt = x->irs;
    x->ts = 5000;
    x->use_ts = ts;
    sg = tfx_seg(x, T_SYN);
    sg.ack = 0;
    sg.has_mss = 1;
    sg.mss = 1460;
    sg.has_sackok = sack;
    sg.has_ws = ws;
    sg.ws = 7;
    sg.tsecr = 0;
    tf_send(&x->f, &sg);
    assert_int_equal(tf_recv(&x->f, &r), 0);
    assert_int_equal(r.flags, T_SYN | T_ACK);
    assert_int_equal(r.ack, x->irs + 1);
    x->iss = r.seq;
    x->snd_nxt = x->irs + 1;
    x->rcv_nxt = x->iss + 1;
    if (ts) x->ts_us = r.tsval;
    sg = tfx_seg(x, T_ACK);
    tf_send(&x->f, &sg);
    assert_int_equal(x->ev.new_conn, 1);
    assert_non_null(x->ev.accepted);
    x->c = x->ev.accepted;
    assert_int_equal(x->c->state, AXL_TCP_ESTABLISHED);
    tf_none(&x->f);
}

/* Send data from the peer; the engine's state is checked by the caller. */
static inline void tfx_data(struct tfx *x, const void *d, uint32_t n, uint8_t extra)
{
    struct tseg sg = tfx_seg(x, T_ACK | extra);
    sg.data = d;
    sg.len = n;
    tf_send(&x->f, &sg);
    x->snd_nxt += n + ((extra & T_FIN) ? 1 : 0);
}

#endif
