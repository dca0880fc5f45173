/* SPDX-License-Identifier: MIT */
/*
 * test_svc_layer.c - the replica service layer (src/svc) in one process:
 * engine A serves an application through a channel (the app side is
 * src/chan's, driven by the test), engine B is the remote peer using the
 * engine's TCP/UDP API directly; two mem ports and a pump between them,
 * one deterministic clock. Commands go in, frames and events come out:
 *   - listen / pre-mapped accept / echo / orderly close, slot reuse;
 *   - an outgoing connection from the app;
 *   - TX bytes leave zero-copy and tx_cons moves only when acknowledged;
 *   - UDP datagram records both ways;
 *   - our FIN first, then the peer sends more than the RX ring and closes:
 *     every byte reaches a slow reader before REMOTE_CLOSED / CLEANUP, and
 *     closing while the engine still holds bytes leaks nothing;
 *   - the slot's addresses (accepted, connected, bound, UDP connected);
 *     BIND refuses an address that is not the engine's; conns owners;
 *   - the app goes away with a connection open: the peer is reset, every
 *     counter back to zero; with 700 open and a port taking 300 frames at
 *     once, they are reset in batches and no RST is lost;
 *   - LISTEN with a backlog above the socket limit is clamped (not a
 *     violation), 0 is a violation; a hostile app passing the violation bound is
 *     disconnected (channel DOWN) and reclaimed;
 *   - every pool buffer back at the end (no leaks, ASan checks the rest).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chan/chan.h"
#include "core/clock.h"
#include "core/compiler.h"
#include "core/err.h"
#include "net/stack.h"
#include "net/tcp.h"
#include "net/tcp_dump.h"
#include "port/memport.h"
#include "svc/svc.h"

#define IP_A  0xc6120001u
#define IP_B  0xc6120002u
#define NBUFS 4096u

struct side {
    struct axl_pool pool;
    struct axl_port port;
    struct axl_stack *s;
};

struct fx {
    struct side a, b;
    uint64_t now;
    struct axl_svc svc;
    int sv[2];
    struct axl_chan_app app;
    struct axl_chan_event ev[256]; /* events the app saw, in order */
    unsigned nev;
    /* peer (engine B) */
    struct axl_tcb *pc;
    uint8_t prx[65536];
    uint32_t prx_len;
    int p_connected, p_cleanup, p_err;
    unsigned m_conn, m_reset, m_other; /* many peer connections (m_ops) */
    struct axl_tcp_listener *pl;
};

static void side_up(struct side *sd, const char *spec, uint32_t ip)
{
    char err[128];
    struct axl_port_cfg pc;
    struct axl_stack_cfg cfg;
    memset(&cfg, 0, sizeof(cfg));
    assert_int_equal(axl_pool_init(&sd->pool, NBUFS, 2048, AXL_POOL_HEADROOM), 0);
    assert_int_equal(axl_port_parse_spec(spec, &pc, err, sizeof(err)), 0);
    pc.pool = &sd->pool;
    assert_int_equal(axl_port_open(&sd->port, &pc), 0);
    cfg.addr.addr = ip;
    cfg.addr.prefix = 24;
    cfg.seed = 42;
    sd->s = axl_stack_create(&cfg, &sd->port, &sd->pool, 1000 * AXL_NS_PER_S);
    assert_non_null(sd->s);
}

static void side_down(struct side *sd)
{
    axl_stack_destroy(sd->s);
    axl_memport_tx_discard(&sd->port);
    assert_int_equal(axl_pool_in_use(&sd->pool), 0);
    axl_port_close(&sd->port);
    axl_pool_fini(&sd->pool);
}

static void move(struct side *from, struct side *to)
{
    uint8_t buf[2048];
    int n;
    while ((n = axl_memport_collect(&from->port, buf, sizeof(buf))) > 0)
        assert_int_equal(axl_memport_inject(&to->port, buf, (uint32_t)n, 0), 0);
}

static struct fx *F;

/* One loop iteration of both engines and the service, frames moved between
 * them; the app does nothing. */
static void step_net(struct fx *f)
{
    axl_stack_poll(f->a.s, f->now);
    axl_svc_poll(&f->svc);
    move(&f->a, &f->b);
    axl_stack_poll(f->b.s, f->now);
    move(&f->b, &f->a);
    f->now += 100 * AXL_NS_PER_US;
}

/* step_net, then the app collects its events. */
static void step(struct fx *f)
{
    step_net(f);
    /* the app: collect events */
    struct axl_chan_event e;
    unsigned v;
    int r;
    while ((r = axl_chan_app_poll_event(&f->app, &e, &v)) != 0) {
        assert_int_equal(r, 1); /* every event the service posts is well-formed */
        if (f->nev < 256) f->ev[f->nev++] = e;
    }
}

/* Run until an event of `type` (and op for DONE) arrives; returns it. */
static struct axl_chan_event want(struct fx *f, uint16_t type, uint32_t op)
{
    for (int i = 0; i < 20000; i++) {
        for (unsigned k = 0; k < f->nev; k++)
            if (f->ev[k].type == type && (type != AXL_CHAN_EV_DONE || f->ev[k].arg == op)) {
                struct axl_chan_event e = f->ev[k];
                memmove(&f->ev[k], &f->ev[k + 1], (f->nev - k - 1) * sizeof(e));
                f->nev--;
                return e;
            }
        step(f);
    }
    fail_msg("no event %u (op %u)", type, op);
    struct axl_chan_event z = {0};
    return z;
}

static void cmd(struct fx *f, uint16_t op, uint32_t sock, uint32_t gen, uint32_t arg, uint32_t len,
                uint16_t flags)
{
    struct axl_chan_cmd c;
    memset(&c, 0, sizeof(c));
    c.op = op;
    c.sock = sock;
    c.gen = gen;
    c.arg = arg;
    c.len = len;
    c.flags = flags;
    assert_int_equal(axl_chan_app_submit(&f->app, &c, 1), 1);
    axl_chan_app_kick(&f->app);
}

static void cmd_addr(struct fx *f, uint16_t op, uint32_t sock, uint32_t gen, uint32_t ip,
                     uint16_t port)
{
    struct axl_chan_cmd c;
    memset(&c, 0, sizeof(c));
    c.op = op;
    c.sock = sock;
    c.gen = gen;
    c.family = AXL_CHAN_AF_INET;
    c.port = htons(port);
    uint32_t be = htonl(ip);
    memcpy(c.addr, &be, 4);
    assert_int_equal(axl_chan_app_submit(&f->app, &c, 1), 1);
    axl_chan_app_kick(&f->app);
}

/* ---- the peer -------------------------------------------------------------------- */

static void p_pull(struct axl_tcb *c)
{
    int n;
    while ((n = axl_tcp_read(c, F->prx + F->prx_len, (uint32_t)sizeof(F->prx) - F->prx_len)) > 0)
        F->prx_len += (uint32_t)n;
}
static void p_connected(struct axl_tcb *c, void *u)
{
    (void)c;
    (void)u;
    F->p_connected = 1;
}
static void p_data(struct axl_tcb *c, void *u, uint32_t avail)
{
    (void)u;
    (void)avail;
    p_pull(c);
}
static void p_closed(struct axl_tcb *c, void *u)
{
    (void)u;
    p_pull(c);
}
static void p_cleanup(struct axl_tcb *c, void *u, int err)
{
    (void)c;
    (void)u;
    F->p_cleanup = 1;
    F->p_err = err;
}
static void p_new_conn(struct axl_tcp_listener *l, void *u);
static const struct axl_tcp_ops p_ops = {.new_conn = p_new_conn,
                                         .connected = p_connected,
                                         .new_data = p_data,
                                         .remote_closed = p_closed,
                                         .cleanup = p_cleanup};
static void p_new_conn(struct axl_tcp_listener *l, void *u)
{
    (void)u;
    if (axl_tcp_accept(l, &F->pc) == 0) {
        axl_tcp_set_user(F->pc, &p_ops, F);
        F->p_connected = 1;
    }
}

/* Many peer connections: only counted. */
static void m_connected(struct axl_tcb *c, void *u)
{
    (void)c;
    (void)u;
    F->m_conn++;
}
static void m_cleanup(struct axl_tcb *c, void *u, int err)
{
    (void)c;
    (void)u;
    if (err == -ECONNRESET)
        F->m_reset++;
    else
        F->m_other++;
}
static const struct axl_tcp_ops m_ops = {.connected = m_connected, .cleanup = m_cleanup};

/* ---- set-up ------------------------------------------------------------------------ */

/* Engine A on port spec_a; the app's channel has max_socks sockets and
 * evq event slots. */
static int setup_with(void **state, const char *spec_a, uint32_t max_socks, uint32_t evq)
{
    struct fx *f = calloc(1, sizeof(*f));
    F = f;
    f->now = 1000 * AXL_NS_PER_S;
    side_up(&f->a, spec_a, IP_A);
    side_up(&f->b, "mem:b,mac=02:00:00:00:00:0b", IP_B);
    struct axl_chan_params p;
    axl_chan_params_default(&p);
    p.max_socks = max_socks;
    p.rx_size = p.tx_size = 4096;
    p.evq_slots = evq;
    p.cmdq_slots = 64;
    assert_int_equal(axl_svc_init(&f->svc, f->a.s, &p), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, f->sv), 0);
    assert_int_equal(axl_svc_app_add(&f->svc, 7, getpid(), getuid(), "unit", f->sv[1]), 0);
    struct axl_chan_hello h;
    int fds[AXL_CHAN_NREGIONS], bell = -1;
    assert_int_equal(axl_chan_recv_hello_bell(f->sv[0], &h, fds, &bell), 0);
    assert_true(bell >= 0); /* a replica's HELLO carries its bell */
    assert_int_equal(axl_chan_map_app(&f->app, &h, fds), 0);
    close(fds[0]);
    close(fds[1]);
    axl_chan_app_set_bell(&f->app, bell);
    assert_int_equal(f->app.app_id, 7);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, "mem:a,mac=02:00:00:00:00:0a", 64, 64);
}

/* A's port refuses frames beyond 300 waiting (a device TX ring of 300
 * slots: step() empties it once per loop iteration); 1024 sockets. */
static int setup_small_ring(void **state)
{
    return setup_with(state, "mem:a,mac=02:00:00:00:00:0a,txcap=300", 1024, 1024);
}

static int teardown(void **state)
{
    struct fx *f = *state;
    axl_svc_stop(&f->svc);
    if (f->pc) axl_tcp_abort(f->pc);
    if (f->pl) axl_tcp_listener_close(f->pl);
    for (int i = 0; i < 10; i++)
        step(f);
    axl_chan_app_unmap(&f->app);
    close(f->sv[0]);
    side_down(&f->b);
    axl_stack_destroy(f->a.s);
    axl_svc_fini(&f->svc);
    axl_memport_tx_discard(&f->a.port);
    assert_int_equal(axl_pool_in_use(&f->a.pool), 0);
    axl_port_close(&f->a.port);
    axl_pool_fini(&f->a.pool);
    free(f);
    return 0;
}

/* App: a TCP listener on port; returns its id (gen in *gen). */
static uint32_t app_listen_bl(struct fx *f, uint16_t port, uint32_t *gen, uint32_t backlog)
{
    cmd(f, AXL_CHAN_OP_OPEN, AXL_CHAN_SOCK_NONE, 0, AXL_CHAN_PROTO_TCP, 0, 0);
    struct axl_chan_event e = want(f, AXL_CHAN_EV_DONE, AXL_CHAN_OP_OPEN);
    assert_int_equal(e.status, 0);
    uint32_t id = e.sock;
    *gen = e.gen;
    cmd_addr(f, AXL_CHAN_OP_BIND, id, *gen, 0, port);
    assert_int_equal(want(f, AXL_CHAN_EV_DONE, AXL_CHAN_OP_BIND).status, 0);
    cmd(f, AXL_CHAN_OP_LISTEN, id, *gen, backlog, 0, 0);
    assert_int_equal(want(f, AXL_CHAN_EV_DONE, AXL_CHAN_OP_LISTEN).status, 0);
    return id;
}

static uint32_t app_listen(struct fx *f, uint16_t port, uint32_t *gen)
{
    return app_listen_bl(f, port, gen, 8);
}

/* App: write bytes into socket s's TX ring and SEND them. */
static void app_send(struct fx *f, struct axl_chan_asock *s, const void *p, uint32_t n)
{
    struct axl_span sp[2];
    assert_true(axl_chan_app_tx_reserve(&f->app, s, sp) >= (int)n);
    uint32_t k = n < sp[0].len ? n : sp[0].len;
    memcpy(sp[0].p, p, k);
    if (n > k) memcpy(sp[1].p, (const uint8_t *)p + k, n - k);
    axl_chan_app_tx_publish(&f->app, s, n);
    cmd(f, AXL_CHAN_OP_SEND, s->id, s->gen, 0, n, 0);
}

static uint32_t app_read(struct fx *f, struct axl_chan_asock *s, uint8_t *dst, uint32_t max)
{
    struct axl_cspan sp[2];
    int n = axl_chan_app_rx_peek(&f->app, s, sp);
    assert_true(n >= 0);
    uint32_t got = 0;
    for (int i = 0; i < 2 && got < max; i++) {
        uint32_t k = sp[i].len < max - got ? sp[i].len : max - got;
        memcpy(dst + got, sp[i].p, k);
        got += k;
    }
    axl_chan_app_rx_commit(&f->app, s, got);
    if (got) cmd(f, AXL_CHAN_OP_RECV_DONE, s->id, s->gen, 0, got, 0);
    return got;
}

static uint64_t st(struct fx *f, enum axl_svc_stat k)
{
    return f->svc.st[k];
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_listen_accept_echo_close(void **state)
{
    struct fx *f = *state;
    uint32_t lgen, lid = app_listen(f, 80, &lgen);
    assert_int_equal(atomic_load(&f->app.slots[lid].state), AXL_CHAN_SS_LISTEN);
    assert_int_equal(axl_tcp_connect(f->b.s, IP_A, 80, 0, &p_ops, f, &f->pc), 0);
    struct axl_chan_event nc = want(f, AXL_CHAN_EV_NEW_CONN, 0);
    assert_int_equal(nc.arg, lid);
    assert_int_equal(nc.arg2, lgen);
    struct axl_chan_asock s;
    assert_int_equal(axl_chan_app_sock(&f->app, nc.sock, nc.gen, &s), 0);
    assert_int_equal(atomic_load(&f->app.slots[nc.sock].state), AXL_CHAN_SS_PENDING);
    /* the accepted socket's addresses are in its slot when NEW_CONN comes */
    struct axl_tcp_info pi;
    axl_tcp_get_info(f->pc, &pi);
    assert_int_equal(atomic_load(&f->app.slots[nc.sock].laddr), htonl(IP_A));
    assert_int_equal(atomic_load(&f->app.slots[nc.sock].lport), htons(80));
    assert_int_equal(atomic_load(&f->app.slots[nc.sock].raddr), htonl(IP_B));
    assert_int_equal(atomic_load(&f->app.slots[nc.sock].rport), htons(pi.lport));
    assert_int_equal(atomic_load(&f->app.slots[lid].lport), htons(80)); /* the listener's */
    assert_int_equal(atomic_load(&f->app.slots[lid].raddr), 0);
    /* data before the accept lands in the pre-mapped socket's ring */
    assert_int_equal(axl_tcp_send(f->pc, "hello", 5), 5);
    struct axl_chan_event nd = want(f, AXL_CHAN_EV_NEW_DATA, 0);
    assert_int_equal(nd.sock, nc.sock);
    assert_int_equal(nd.arg, 5);
    cmd(f, AXL_CHAN_OP_ACCEPT, nc.sock, nc.gen, lid, 0, 0);
    assert_int_equal(want(f, AXL_CHAN_EV_DONE, AXL_CHAN_OP_ACCEPT).status, 0);
    assert_int_equal(atomic_load(&f->app.slots[nc.sock].state), AXL_CHAN_SS_ESTABLISHED);
    uint8_t buf[64];
    assert_int_equal(app_read(f, &s, buf, sizeof(buf)), 5);
    assert_memory_equal(buf, "hello", 5);

    uint32_t cons0 = atomic_load(&f->app.slots[nc.sock].tx_cons);
    app_send(f, &s, "world!", 6);
    struct axl_chan_event ack = want(f, AXL_CHAN_EV_DATA_ACKED, 0);
    assert_int_equal(ack.arg, 6);
    assert_int_equal(ack.cookie, 0);
    /* tx_cons moved exactly when the peer had acknowledged the bytes */
    assert_int_equal(atomic_load(&f->app.slots[nc.sock].tx_cons) - cons0, 6);
    assert_int_equal(f->prx_len, 6);
    assert_memory_equal(f->prx, "world!", 6);
    assert_int_equal(st(f, AXL_SVC_SvcConnsNow), 1);
    assert_int_equal(st(f, AXL_SVC_SvcSocketsNow), 2);

    /* peer closes: REMOTE_CLOSED, RX_EOF; the app closes: CLEANUP, slot FREE */
    axl_tcp_close(f->pc);
    f->pc = NULL;
    struct axl_chan_event rc = want(f, AXL_CHAN_EV_REMOTE_CLOSED, 0);
    assert_int_equal(rc.status, 0);
    assert_true(atomic_load(&f->app.slots[nc.sock].flags) & AXL_CHAN_SF_RX_EOF);
    assert_int_equal(axl_chan_app_rx_eof(&f->app, &s), 1);
    cmd(f, AXL_CHAN_OP_CLOSE, nc.sock, nc.gen, 0, 0, 0);
    assert_int_equal(want(f, AXL_CHAN_EV_DONE, AXL_CHAN_OP_CLOSE).status, 0);
    struct axl_chan_event cu = want(f, AXL_CHAN_EV_CLEANUP, 0);
    assert_int_equal(cu.sock, nc.sock);
    for (int i = 0; i < 100; i++)
        step(f);
    assert_int_equal(atomic_load(&f->app.slots[nc.sock].state), AXL_CHAN_SS_FREE);
    assert_int_equal(st(f, AXL_SVC_SvcConnsNow), 0);
    assert_int_equal(st(f, AXL_SVC_SvcSocketsNow), 1);

    /* the slot is reused with the next generation */
    assert_int_equal(axl_tcp_connect(f->b.s, IP_A, 80, 0, &p_ops, f, &f->pc), 0);
    struct axl_chan_event nc2 = want(f, AXL_CHAN_EV_NEW_CONN, 0);
    assert_int_equal(nc2.sock, nc.sock);
    assert_int_equal(nc2.gen, nc.gen + 1);
    assert_int_equal(st(f, AXL_SVC_SvcViolations), 0);
}

static void test_connect_out(void **state)
{
    struct fx *f = *state;
    assert_int_equal(axl_tcp_listen(f->b.s, 9000, 0, &p_ops, f, &f->pl), 0);
    cmd(f, AXL_CHAN_OP_OPEN, AXL_CHAN_SOCK_NONE, 0, AXL_CHAN_PROTO_TCP, 0, 0);
    struct axl_chan_event o = want(f, AXL_CHAN_EV_DONE, AXL_CHAN_OP_OPEN);
    struct axl_chan_asock s;
    assert_int_equal(axl_chan_app_sock(&f->app, o.sock, o.gen, &s), 0);
    cmd_addr(f, AXL_CHAN_OP_CONNECT, o.sock, o.gen, IP_B, 9000);
    struct axl_chan_event d = want(f, AXL_CHAN_EV_DONE, AXL_CHAN_OP_CONNECT);
    assert_int_equal(d.status, 0);
    assert_int_equal(atomic_load(&f->app.slots[o.sock].state), AXL_CHAN_SS_ESTABLISHED);
    /* its addresses: the engine's, the port it chose, the peer's */
    for (int i = 0; i < 100 && !f->pc; i++)
        step(f);
    assert_non_null(f->pc);
    struct axl_tcp_info pi;
    axl_tcp_get_info(f->pc, &pi);
    assert_int_equal(atomic_load(&f->app.slots[o.sock].laddr), htonl(IP_A));
    assert_int_equal(atomic_load(&f->app.slots[o.sock].lport), htons(pi.rport));
    assert_true(pi.rport != 0);
    assert_int_equal(atomic_load(&f->app.slots[o.sock].raddr), htonl(IP_B));
    assert_int_equal(atomic_load(&f->app.slots[o.sock].rport), htons(9000));
    /* 10000 bytes through a 4096-byte TX ring: the app refills as acks free it */
    static uint8_t src[10000];
    for (uint32_t i = 0; i < sizeof(src); i++)
        src[i] = (uint8_t)(i * 7 + 3);
    uint32_t sent = 0;
    for (int i = 0; i < 50000 && f->prx_len < sizeof(src); i++) {
        struct axl_span sp[2];
        int room = axl_chan_app_tx_reserve(&f->app, &s, sp);
        uint32_t n = (uint32_t)room < sizeof(src) - sent ? (uint32_t)room : sizeof(src) - sent;
        if (n) app_send(f, &s, src + sent, n);
        sent += n;
        step(f);
        f->nev = 0;
    }
    assert_int_equal(f->prx_len, sizeof(src));
    assert_memory_equal(f->prx, src, sizeof(src));
    /* connect to a closed port: DONE with -ECONNREFUSED */
    cmd(f, AXL_CHAN_OP_OPEN, AXL_CHAN_SOCK_NONE, 0, AXL_CHAN_PROTO_TCP, 0, 0);
    o = want(f, AXL_CHAN_EV_DONE, AXL_CHAN_OP_OPEN);
    cmd_addr(f, AXL_CHAN_OP_CONNECT, o.sock, o.gen, IP_B, 9001);
    d = want(f, AXL_CHAN_EV_DONE, AXL_CHAN_OP_CONNECT);
    assert_int_equal(d.status, -ECONNREFUSED);
    assert_int_equal(want(f, AXL_CHAN_EV_CLEANUP, 0).sock, o.sock);
}

static void test_udp_records(void **state)
{
    struct fx *f = *state;
    cmd(f, AXL_CHAN_OP_OPEN, AXL_CHAN_SOCK_NONE, 0, AXL_CHAN_PROTO_UDP, 0, 0);
    struct axl_chan_event o = want(f, AXL_CHAN_EV_DONE, AXL_CHAN_OP_OPEN);
    struct axl_chan_asock s;
    assert_int_equal(axl_chan_app_sock(&f->app, o.sock, o.gen, &s), 0);
    cmd_addr(f, AXL_CHAN_OP_BIND, o.sock, o.gen, 0, 53);
    assert_int_equal(want(f, AXL_CHAN_EV_DONE, AXL_CHAN_OP_BIND).status, 0);
    struct axl_udp_sock *pu;
    assert_int_equal(axl_udp_bind(f->b.s, 5000, NULL, NULL, &pu), 0);
    assert_int_equal(axl_udp_sendto(f->b.s, pu, "ping!", 5, IP_A, 53), 5);
    struct axl_chan_event nd = want(f, AXL_CHAN_EV_NEW_DATA, 0);
    assert_int_equal(nd.arg, AXL_CHAN_DGRAM_SPAN(5));
    uint8_t rec[64];
    assert_int_equal(app_read(f, &s, rec, sizeof(rec)), AXL_CHAN_DGRAM_SPAN(5));
    struct axl_chan_dgram h;
    memcpy(&h, rec, sizeof(h));
    assert_int_equal(h.len, 5);
    assert_int_equal(ntohl(h.addr), IP_B);
    assert_int_equal(ntohs(h.port), 5000);
    assert_memory_equal(rec + 16, "ping!", 5);
    /* echo the record back (same header: to the sender) */
    app_send(f, &s, rec, AXL_CHAN_DGRAM_SPAN(5));
    assert_int_equal(want(f, AXL_CHAN_EV_DATA_ACKED, 0).arg, AXL_CHAN_DGRAM_SPAN(5));
    uint8_t got[16];
    uint32_t sa;
    uint16_t sp;
    int n = AXL_EAGAIN;
    for (int i = 0; i < 100 && n == AXL_EAGAIN; i++) {
        step(f);
        n = axl_udp_recvfrom(f->b.s, pu, got, sizeof(got), &sa, &sp);
    }
    assert_int_equal(n, 5);
    assert_memory_equal(got, "ping!", 5);
    assert_int_equal(sa, IP_A);
    assert_int_equal(sp, 53);
    /* a malformed record (len beyond the SEND) is a violation, nothing sent */
    struct axl_chan_dgram bad = {4000, 0, 0, 0, 0};
    app_send(f, &s, &bad, sizeof(bad));
    for (int i = 0; i < 10; i++)
        step(f);
    assert_int_equal(st(f, AXL_SVC_SvcBadSend), 1);
    assert_int_equal(st(f, AXL_SVC_SvcViolations), 1);
    axl_udp_close(f->b.s, pu);
}

static void test_app_gone_resets_and_reclaims(void **state)
{
    struct fx *f = *state;
    uint32_t lgen, lid = app_listen(f, 81, &lgen);
    (void)lid;
    assert_int_equal(axl_tcp_connect(f->b.s, IP_A, 81, 0, &p_ops, f, &f->pc), 0);
    struct axl_chan_event nc = want(f, AXL_CHAN_EV_NEW_CONN, 0);
    struct axl_chan_asock s;
    assert_int_equal(axl_chan_app_sock(&f->app, nc.sock, nc.gen, &s), 0);
    cmd(f, AXL_CHAN_OP_ACCEPT, nc.sock, nc.gen, lid, 0, 0);
    want(f, AXL_CHAN_EV_DONE, AXL_CHAN_OP_ACCEPT);
    app_send(f, &s, "unacked", 7); /* zero-copy reference into the app's ring */
    step(f);
    assert_int_equal(st(f, AXL_SVC_SvcConnsNow), 1);
    axl_svc_app_gone(&f->svc, 7);
    for (int i = 0; i < 100; i++)
        step(f);
    assert_true(f->p_cleanup);
    assert_int_equal(f->p_err, -ECONNRESET); /* the peer got an RST */
    assert_int_equal(st(f, AXL_SVC_SvcConnsNow), 0);
    assert_int_equal(st(f, AXL_SVC_SvcSocketsNow), 0);
    assert_int_equal(st(f, AXL_SVC_SvcAppsNow), 0);
    assert_int_equal(st(f, AXL_SVC_SvcReclaimPending), 0);
    assert_int_equal(st(f, AXL_SVC_SvcAppsGone), 1);
    assert_int_equal(f->svc.napps, 0);
    assert_null(f->svc.dying);
    assert_int_equal(axl_tcp_conn_count(f->a.s), 0);
}

/* The app dies holding more connections (700) than A's port takes frames
 * at once (300): the service resets them SVC_RECLAIM_BATCH (256) per loop
 * iteration, so no RST is refused by the port and every peer learns. */
static void test_app_gone_many_conns_batched(void **state)
{
    struct fx *f = *state;
    enum { N = 700 };
    uint32_t lgen, lid = app_listen_bl(f, 82, &lgen, 1024);
    (void)lid;
    for (unsigned i = 0; i < N; i++) {
        struct axl_tcb *c;
        assert_int_equal(axl_tcp_connect(f->b.s, IP_A, 82, 0, &m_ops, f, &c), 0);
        if (i % 50 == 49) /* handshakes a batch at a time (A's port takes 300) */
            for (int k = 0; k < 10; k++)
                step(f);
    }
    for (int k = 0; k < 200 && st(f, AXL_SVC_SvcConnsNow) < N; k++)
        step(f);
    assert_int_equal(f->m_conn, N);
    assert_int_equal(st(f, AXL_SVC_SvcConnsNow), N); /* PENDING sockets hold them */
    int64_t drops0 = axl_stack_stat(f->a.s, "DropTxRingFull");
    axl_svc_app_gone(&f->svc, 7);
    assert_int_equal(st(f, AXL_SVC_SvcReclaimConns), N);
    step(f); /* one loop iteration: one batch */
    assert_int_equal(st(f, AXL_SVC_SvcReclaimConns), N - 256);
    assert_int_equal(st(f, AXL_SVC_SvcReclaimResets), 256);
    assert_int_equal(st(f, AXL_SVC_SvcReclaimPending), 1); /* not freed before all are reset */
    for (int i = 0; i < 100; i++)
        step(f);
    assert_int_equal(f->m_reset, N); /* every peer got its RST */
    assert_int_equal(f->m_other, 0);
    assert_int_equal(axl_stack_stat(f->a.s, "DropTxRingFull"), drops0);
    assert_int_equal(st(f, AXL_SVC_SvcReclaimResets), N);
    assert_int_equal(st(f, AXL_SVC_SvcReclaimConns), 0);
    assert_int_equal(st(f, AXL_SVC_SvcConnsNow), 0);
    assert_int_equal(st(f, AXL_SVC_SvcSocketsNow), 0);
    assert_int_equal(st(f, AXL_SVC_SvcReclaimPending), 0);
    assert_null(f->svc.dying);
    assert_int_equal(axl_tcp_conn_count(f->a.s), 0);
    assert_int_equal(axl_tcp_conn_count(f->b.s), 0);
}

/* LISTEN with a backlog beyond the socket limit (64): clamped, like POSIX
 * listen(); not a violation. The listener works. */
static void test_listen_backlog_clamped(void **state)
{
    struct fx *f = *state;
    uint32_t arg[2] = {128, UINT32_MAX};
    uint32_t id[2], gen[2];
    for (int i = 0; i < 2; i++) {
        cmd(f, AXL_CHAN_OP_OPEN, AXL_CHAN_SOCK_NONE, 0, AXL_CHAN_PROTO_TCP, 0, 0);
        struct axl_chan_event e = want(f, AXL_CHAN_EV_DONE, AXL_CHAN_OP_OPEN);
        assert_int_equal(e.status, 0);
        id[i] = e.sock;
        gen[i] = e.gen;
        cmd_addr(f, AXL_CHAN_OP_BIND, e.sock, e.gen, 0, (uint16_t)(83 + i));
        assert_int_equal(want(f, AXL_CHAN_EV_DONE, AXL_CHAN_OP_BIND).status, 0);
        cmd(f, AXL_CHAN_OP_LISTEN, e.sock, e.gen, arg[i], 0, 0);
        assert_int_equal(want(f, AXL_CHAN_EV_DONE, AXL_CHAN_OP_LISTEN).status, 0);
    }
    assert_int_equal(st(f, AXL_SVC_SvcViolations), 0);
    assert_int_equal(st(f, AXL_SVC_SvcCmdErrors), 0);
    assert_int_equal(axl_tcp_connect(f->b.s, IP_A, 84, 0, &p_ops, f, &f->pc), 0);
    struct axl_chan_event nc = want(f, AXL_CHAN_EV_NEW_CONN, 0);
    assert_int_equal(nc.arg, id[1]); /* on the UINT32_MAX listener */
    assert_true(f->p_connected);
    /* backlog 0 stays a violation (decoder) */
    cmd(f, AXL_CHAN_OP_LISTEN, id[0], gen[0], 0, 0, 0);
    for (int i = 0; i < 5; i++)
        step(f);
    assert_int_equal(st(f, AXL_SVC_SvcViolations), 1);
}

static void test_hostile_app_disconnected(void **state)
{
    struct fx *f = *state;
    cmd(f, AXL_CHAN_OP_OPEN, AXL_CHAN_SOCK_NONE, 0, AXL_CHAN_PROTO_TCP, 0, 0);
    struct axl_chan_event o = want(f, AXL_CHAN_EV_DONE, AXL_CHAN_OP_OPEN);
    /* SENDs of bytes the TX ring does not hold, and commands for free slots */
    for (int i = 0; i < AXL_SVC_VIOL_MAX; i++) {
        cmd(f, AXL_CHAN_OP_SEND, o.sock, o.gen, 0, 100, 0);
        if (i % 2) cmd(f, AXL_CHAN_OP_CLOSE, 63, 1, 0, 0, 0);
        step(f);
        if (!axl_chan_app_up(&f->app)) break;
    }
    assert_int_equal(axl_chan_app_up(&f->app), 0); /* the app sees DOWN */
    assert_int_equal(st(f, AXL_SVC_SvcAppsDisconnected), 1);
    assert_true(st(f, AXL_SVC_SvcViolations) >= AXL_SVC_VIOL_MAX);
    assert_true(st(f, AXL_SVC_SvcBadSend) >= 1);
    for (int i = 0; i < 10; i++)
        step(f);
    assert_int_equal(st(f, AXL_SVC_SvcSocketsNow), 0);
    assert_int_equal(st(f, AXL_SVC_SvcAppsNow), 0);
    assert_int_equal(f->svc.napps, 0);
}

/* Our FIN goes first (SHUTDOWN), then the peer sends far more than the RX
 * ring holds and closes: the engine reaches TIME-WAIT (cleanup 0) with the
 * bytes the ring could not take; the service keeps the connection until the
 * slow reader has every byte, and REMOTE_CLOSED / CLEANUP come only after
 * the last byte is in the ring. */
static void test_close_drains_rx(void **state)
{
    struct fx *f = *state;
    enum { N = 40000 };
    static uint8_t src[N], got[N];
    for (uint32_t i = 0; i < N; i++)
        src[i] = (uint8_t)(i * 13 + i / 251);
    uint32_t lgen, lid = app_listen_bl(f, 82, &lgen, 1024);
    assert_int_equal(axl_tcp_connect(f->b.s, IP_A, 82, 0, &p_ops, f, &f->pc), 0);
    struct axl_chan_event nc = want(f, AXL_CHAN_EV_NEW_CONN, 0);
    struct axl_chan_asock s;
    assert_int_equal(axl_chan_app_sock(&f->app, nc.sock, nc.gen, &s), 0);
    cmd(f, AXL_CHAN_OP_ACCEPT, nc.sock, nc.gen, lid, 0, 0);
    assert_int_equal(want(f, AXL_CHAN_EV_DONE, AXL_CHAN_OP_ACCEPT).status, 0);
    cmd(f, AXL_CHAN_OP_SHUTDOWN, nc.sock, nc.gen, 1, 0, 0); /* our FIN first */
    assert_int_equal(want(f, AXL_CHAN_EV_DONE, AXL_CHAN_OP_SHUTDOWN).status, 0);
    f->nev = 0;
    uint32_t sent = 0, have = 0;
    int peer_closed = 0, rclosed = 0, cleanup = 0, ended_early = 0;
    for (int i = 0; i < 200000 && !(have == N && cleanup); i++) {
        if (!peer_closed) {
            int n = axl_tcp_send(f->pc, src + sent, N - sent);
            if (n > 0) sent += (uint32_t)n;
            if (sent == N) { /* FIN after the data; the peer holds nothing unread */
                axl_tcp_close(f->pc);
                f->pc = NULL;
                peer_closed = 1;
            }
        }
        step(f);
        for (unsigned e = 0; e < f->nev; e++) {
            struct axl_cspan sp[2];
            int avail = axl_chan_app_rx_peek(&f->app, &s, sp);
            if (f->ev[e].sock != nc.sock) continue;
            if (f->ev[e].type == AXL_CHAN_EV_REMOTE_CLOSED) {
                assert_int_equal(f->ev[e].status, 0);
                /* every byte is in the ring (or read) when it comes */
                if (have + (uint32_t)avail != N) ended_early = 1;
                assert_true(atomic_load(&f->app.slots[nc.sock].flags) & AXL_CHAN_SF_RX_EOF);
                rclosed = 1;
            }
            if (f->ev[e].type == AXL_CHAN_EV_CLEANUP) {
                assert_true(rclosed);
                assert_int_equal(f->ev[e].status, 0);
                cleanup = 1;
            }
        }
        f->nev = 0;
        if (i % 4 == 0 && have < N) { /* a slow reader: 300 bytes per 4 steps */
            struct axl_cspan sp[2];
            int avail = axl_chan_app_rx_peek(&f->app, &s, sp);
            assert_true(avail >= 0);
            uint32_t take = AXL_MIN((uint32_t)avail, 300u), k = 0;
            for (int j = 0; j < 2 && k < take; j++) {
                uint32_t m = AXL_MIN(sp[j].len, take - k);
                memcpy(got + have + k, sp[j].p, m);
                k += m;
            }
            axl_chan_app_rx_commit(&f->app, &s, k);
            if (k) cmd(f, AXL_CHAN_OP_RECV_DONE, s.id, s.gen, 0, k, 0);
            have += k;
        }
    }
    assert_int_equal(sent, N);
    assert_false(ended_early);
    assert_int_equal(have, N);
    assert_memory_equal(got, src, N);
    assert_true(rclosed);
    assert_true(cleanup);
    assert_int_equal(axl_chan_app_rx_eof(&f->app, &s), 1);
    assert_int_equal(st(f, AXL_SVC_SvcConnsNow), 0); /* the handle went back */
    cmd(f, AXL_CHAN_OP_CLOSE, nc.sock, nc.gen, 0, 0, 0);
    assert_int_equal(want(f, AXL_CHAN_EV_DONE, AXL_CHAN_OP_CLOSE).status, 0);
    for (int i = 0; i < 20; i++)
        step(f);
    assert_int_equal(atomic_load(&f->app.slots[nc.sock].state), AXL_CHAN_SS_FREE);
    assert_int_equal(st(f, AXL_SVC_SvcSocketsNow), 1);
    assert_int_equal(st(f, AXL_SVC_SvcViolations), 0);
}

/* The same end, but the app closes the socket while the engine still holds
 * bytes for it: the handle goes back at once, nothing leaks (teardown checks
 * every pool buffer). */
static void test_close_while_draining(void **state)
{
    struct fx *f = *state;
    enum { N = 30000 };
    static uint8_t src[N];
    memset(src, 'x', sizeof(src));
    uint32_t lgen, lid = app_listen(f, 83, &lgen);
    assert_int_equal(axl_tcp_connect(f->b.s, IP_A, 83, 0, &p_ops, f, &f->pc), 0);
    struct axl_chan_event nc = want(f, AXL_CHAN_EV_NEW_CONN, 0);
    cmd(f, AXL_CHAN_OP_ACCEPT, nc.sock, nc.gen, lid, 0, 0);
    want(f, AXL_CHAN_EV_DONE, AXL_CHAN_OP_ACCEPT);
    cmd(f, AXL_CHAN_OP_SHUTDOWN, nc.sock, nc.gen, 1, 0, 0);
    want(f, AXL_CHAN_EV_DONE, AXL_CHAN_OP_SHUTDOWN);
    uint32_t sent = 0;
    for (int i = 0; i < 20000 && f->pc; i++) {
        int n = axl_tcp_send(f->pc, src + sent, N - sent);
        if (n > 0) sent += (uint32_t)n;
        if (sent == N) {
            axl_tcp_close(f->pc);
            f->pc = NULL;
        }
        step(f);
        f->nev = 0;
    }
    assert_null(f->pc);
    for (int i = 0; i < 200; i++) /* the peer's FIN arrives: TIME-WAIT */
        step(f);
    f->nev = 0;
    /* the ring is full, the rest waits in the engine: no CLEANUP yet */
    assert_int_equal(st(f, AXL_SVC_SvcConnsNow), 1);
    assert_false(atomic_load(&f->app.slots[nc.sock].flags) & AXL_CHAN_SF_RX_EOF);
    cmd(f, AXL_CHAN_OP_CLOSE, nc.sock, nc.gen, 0, 0, 0);
    assert_int_equal(want(f, AXL_CHAN_EV_DONE, AXL_CHAN_OP_CLOSE).status, 0);
    want(f, AXL_CHAN_EV_CLEANUP, 0);
    for (int i = 0; i < 20; i++)
        step(f);
    assert_int_equal(st(f, AXL_SVC_SvcConnsNow), 0);
    assert_int_equal(atomic_load(&f->app.slots[nc.sock].state), AXL_CHAN_SS_FREE);
}

/* BIND takes INADDR_ANY or the engine's address, nothing else
 * (EADDRNOTAVAIL); the slot shows what was bound, and a UDP CONNECT's peer. */
static void test_bind_address(void **state)
{
    struct fx *f = *state;
    cmd(f, AXL_CHAN_OP_OPEN, AXL_CHAN_SOCK_NONE, 0, AXL_CHAN_PROTO_TCP, 0, 0);
    struct axl_chan_event o = want(f, AXL_CHAN_EV_DONE, AXL_CHAN_OP_OPEN);
    cmd_addr(f, AXL_CHAN_OP_BIND, o.sock, o.gen, IP_B, 7000); /* the peer's: not ours */
    assert_int_equal(want(f, AXL_CHAN_EV_DONE, AXL_CHAN_OP_BIND).status, -EADDRNOTAVAIL);
    cmd_addr(f, AXL_CHAN_OP_BIND, o.sock, o.gen, 0x7f000001u, 7000); /* loopback: not ours */
    assert_int_equal(want(f, AXL_CHAN_EV_DONE, AXL_CHAN_OP_BIND).status, -EADDRNOTAVAIL);
    assert_int_equal(atomic_load(&f->app.slots[o.sock].lport), 0); /* nothing bound */
    cmd_addr(f, AXL_CHAN_OP_BIND, o.sock, o.gen, IP_A, 7000); /* ours */
    assert_int_equal(want(f, AXL_CHAN_EV_DONE, AXL_CHAN_OP_BIND).status, 0);
    assert_int_equal(atomic_load(&f->app.slots[o.sock].laddr), htonl(IP_A));
    assert_int_equal(atomic_load(&f->app.slots[o.sock].lport), htons(7000));
    cmd(f, AXL_CHAN_OP_LISTEN, o.sock, o.gen, 4, 0, 0);
    assert_int_equal(want(f, AXL_CHAN_EV_DONE, AXL_CHAN_OP_LISTEN).status, 0);
    assert_int_equal(axl_tcp_connect(f->b.s, IP_A, 7000, 0, &p_ops, f, &f->pc), 0);
    assert_int_equal(want(f, AXL_CHAN_EV_NEW_CONN, 0).arg, o.sock); /* it listens */

    /* UDP: INADDR_ANY; then CONNECT shows the peer */
    cmd(f, AXL_CHAN_OP_OPEN, AXL_CHAN_SOCK_NONE, 0, AXL_CHAN_PROTO_UDP, 0, 0);
    struct axl_chan_event u = want(f, AXL_CHAN_EV_DONE, AXL_CHAN_OP_OPEN);
    cmd_addr(f, AXL_CHAN_OP_BIND, u.sock, u.gen, 0, 5353);
    assert_int_equal(want(f, AXL_CHAN_EV_DONE, AXL_CHAN_OP_BIND).status, 0);
    assert_int_equal(atomic_load(&f->app.slots[u.sock].laddr), 0);
    assert_int_equal(atomic_load(&f->app.slots[u.sock].lport), htons(5353));
    cmd_addr(f, AXL_CHAN_OP_CONNECT, u.sock, u.gen, IP_B, 53);
    assert_int_equal(want(f, AXL_CHAN_EV_DONE, AXL_CHAN_OP_CONNECT).status, 0);
    assert_int_equal(atomic_load(&f->app.slots[u.sock].raddr), htonl(IP_B));
    assert_int_equal(atomic_load(&f->app.slots[u.sock].rport), htons(53));
    /* an unbound UDP socket gets its ephemeral port at CONNECT */
    cmd(f, AXL_CHAN_OP_OPEN, AXL_CHAN_SOCK_NONE, 0, AXL_CHAN_PROTO_UDP, 0, 0);
    struct axl_chan_event e = want(f, AXL_CHAN_EV_DONE, AXL_CHAN_OP_OPEN);
    assert_int_equal(atomic_load(&f->app.slots[e.sock].lport), 0);
    cmd_addr(f, AXL_CHAN_OP_CONNECT, e.sock, e.gen, IP_B, 53);
    assert_int_equal(want(f, AXL_CHAN_EV_DONE, AXL_CHAN_OP_CONNECT).status, 0);
    assert_true(atomic_load(&f->app.slots[e.sock].lport) != 0);
    assert_int_equal(st(f, AXL_SVC_SvcViolations), 0);
}

/* conns owners: the app's listener, the connection it accepted and the one
 * it opened itself are the app's (id 7, our pid); an engine listener the
 * service does not hold is nobody's. */
static void test_conn_owners(void **state)
{
    struct fx *f = *state;
    uint32_t lgen, lid = app_listen(f, 84, &lgen);
    assert_int_equal(axl_tcp_connect(f->b.s, IP_A, 84, 0, &p_ops, f, &f->pc), 0);
    struct axl_chan_event nc = want(f, AXL_CHAN_EV_NEW_CONN, 0);
    cmd(f, AXL_CHAN_OP_ACCEPT, nc.sock, nc.gen, lid, 0, 0);
    want(f, AXL_CHAN_EV_DONE, AXL_CHAN_OP_ACCEPT);
    struct axl_tcb *first = f->pc;
    f->pc = NULL;
    /* an outgoing connection of the app */
    assert_int_equal(axl_tcp_listen(f->b.s, 9100, 0, &p_ops, f, &f->pl), 0);
    cmd(f, AXL_CHAN_OP_OPEN, AXL_CHAN_SOCK_NONE, 0, AXL_CHAN_PROTO_TCP, 0, 0);
    struct axl_chan_event o = want(f, AXL_CHAN_EV_DONE, AXL_CHAN_OP_OPEN);
    cmd_addr(f, AXL_CHAN_OP_CONNECT, o.sock, o.gen, IP_B, 9100);
    assert_int_equal(want(f, AXL_CHAN_EV_DONE, AXL_CHAN_OP_CONNECT).status, 0);
    /* an engine listener nobody holds through the service */
    struct axl_tcp_listener *other;
    assert_int_equal(axl_tcp_listen(f->a.s, 85, 0, NULL, NULL, &other), 0);
    struct axl_tcp_dump_rec rec[16];
    uint32_t n = axl_tcp_dump(f->a.s, rec, 16), app[16];
    pid_t pid[16];
    assert_int_equal(n, 4); /* 2 listeners, 2 connections */
    assert_int_equal(axl_svc_conn_owners(&f->svc, rec, n, app, pid), 3);
    int nl = 0, nconn = 0, active = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (rec[i].lport == 85) {
            assert_int_equal(app[i], 0);
            assert_int_equal(pid[i], 0);
            continue;
        }
        assert_int_equal(app[i], 7);
        assert_int_equal(pid[i], getpid());
        if (rec[i].state == 1) nl++; /* LISTEN (tcp_dump.h: RFC 9293 states from 1) */
        else nconn++;
        if (rec[i].rport == 9100) active++;
    }
    assert_int_equal(nl, 1);
    assert_int_equal(nconn, 2);
    assert_int_equal(active, 1); /* the one the app opened itself */
    axl_tcp_listener_close(other);
    axl_tcp_abort(first);
}

/* ---- waking a sleeping app (svc.c SVC_WAKE_QUIET_NS / SVC_WAKE_MAX_NS) ---------- */

/* An accepted connection with a Nagle-free peer: each byte it sends is news
 * (NEW_DATA) for the app. Returns with no event pending. */
static void wake_fixture(struct fx *f, uint64_t quiet_ns, uint64_t hold_ns)
{
    uint32_t lgen, lid = app_listen(f, 80, &lgen);
    assert_int_equal(axl_tcp_connect(f->b.s, IP_A, 80, 0, &p_ops, f, &f->pc), 0);
    struct axl_chan_event nc = want(f, AXL_CHAN_EV_NEW_CONN, 0);
    cmd(f, AXL_CHAN_OP_ACCEPT, nc.sock, nc.gen, lid, 0, 0);
    assert_int_equal(want(f, AXL_CHAN_EV_DONE, AXL_CHAN_OP_ACCEPT).status, 0);
    assert_int_equal(axl_tcp_setopt(f->pc, AXL_TCP_OPT_NODELAY, 1), 0);
    for (int i = 0; i < 20; i++)
        step(f);
    usleep(1000); /* past the default quiet time: no hold left in progress */
    step(f);
    f->nev = 0;
    /* the first hold of an app uses these (later ones adapt the quiet time) */
    f->svc.wake_quiet_ns = quiet_ns;
    f->svc.wake_max_ns = hold_ns;
    assert_int_equal(st(f, AXL_SVC_SvcAppWakes), 0); /* it never slept */
    uint32_t ids[64];
    axl_chan_app_scan(&f->app, ids, 64); /* the app has seen all news */
    assert_int_equal(axl_chan_app_prepare_sleep(&f->app), 1);
}

/* Every wake-up is counted once, by one reason. */
static void wake_sum(struct fx *f)
{
    assert_int_equal(st(f, AXL_SVC_SvcAppWakes),
                     st(f, AXL_SVC_SvcAppWakesQuiet) + st(f, AXL_SVC_SvcAppWakesHeld) +
                         st(f, AXL_SVC_SvcAppWakesQueue) + st(f, AXL_SVC_SvcAppWakesIdle));
}

/* News that never pauses is held at most wake_max_ns, then the app is woken
 * once (not at every iteration with news, not at the long quiet time). */
static void test_wake_held(void **state)
{
    struct fx *f = *state;
    wake_fixture(f, 10 * AXL_NS_PER_S, 3 * AXL_NS_PER_MS);
    uint64_t t0 = axl_clock_ns(), news = 0;
    while (st(f, AXL_SVC_SvcAppWakes) == 0 && axl_clock_ns() - t0 < 2 * AXL_NS_PER_S) {
        assert_int_equal(axl_tcp_send(f->pc, "x", 1), 1);
        step(f);
        news++;
    }
    uint64_t held = axl_clock_ns() - t0;
    assert_int_equal(st(f, AXL_SVC_SvcAppWakes), 1);
    assert_int_equal(st(f, AXL_SVC_SvcAppWakesHeld), 1);
    assert_true(held >= 3 * AXL_NS_PER_MS);
    assert_true(held < AXL_NS_PER_S);
    assert_true(news > 2); /* several iterations of news went into one wake-up */
    axl_chan_app_wake_done(&f->app);
    wake_sum(f);
}

/* A burst, then nothing: the app is woken once the news was quiet for
 * wake_quiet_ns. */
static void test_wake_quiet(void **state)
{
    struct fx *f = *state;
    wake_fixture(f, 2 * AXL_NS_PER_MS, 10 * AXL_NS_PER_S);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(axl_tcp_send(f->pc, "x", 1), 1);
        step(f);
    }
    uint64_t t0 = axl_clock_ns();
    while (st(f, AXL_SVC_SvcAppWakes) == 0 && axl_clock_ns() - t0 < 2 * AXL_NS_PER_S)
        step(f);
    assert_true(axl_clock_ns() - t0 < AXL_NS_PER_S);
    assert_int_equal(st(f, AXL_SVC_SvcAppWakesQuiet), 1);
    assert_int_equal(st(f, AXL_SVC_SvcAppWakes), 1);
    for (int i = 0; i < 20; i++) /* no news since: no second wake-up */
        step(f);
    assert_int_equal(st(f, AXL_SVC_SvcAppWakes), 1);
    axl_chan_app_wake_done(&f->app);
    wake_sum(f);
}

/* The replica never sleeps while a sleeping app has news it holds. */
static void test_wake_idle(void **state)
{
    struct fx *f = *state;
    wake_fixture(f, 10 * AXL_NS_PER_S, 10 * AXL_NS_PER_S);
    assert_int_equal(axl_tcp_send(f->pc, "x", 1), 1);
    step(f);
    step(f);
    assert_int_equal(st(f, AXL_SVC_SvcAppWakes), 0); /* held */
    axl_svc_prepare_sleep(&f->svc);
    axl_svc_wake_done(&f->svc);
    assert_int_equal(st(f, AXL_SVC_SvcAppWakesIdle), 1);
    assert_int_equal(st(f, AXL_SVC_SvcAppWakes), 1);
    axl_chan_app_wake_done(&f->app);
    wake_sum(f);
}

/* An app asleep whose event queue fills is woken at half full, whatever
 * the hold: the queue must never fill while it sleeps. */
static void test_wake_queue(void **state)
{
    struct fx *f = *state;
    wake_fixture(f, 10 * AXL_NS_PER_S, 10 * AXL_NS_PER_S);
    for (int i = 0; i < 200 && st(f, AXL_SVC_SvcAppWakes) == 0; i++) {
        assert_int_equal(axl_tcp_send(f->pc, "x", 1), 1);
        step_net(f); /* the app does not take its events */
    }
    assert_int_equal(st(f, AXL_SVC_SvcAppWakesQueue), 1);
    assert_int_equal(st(f, AXL_SVC_SvcAppWakes), 1);
    assert_int_equal(st(f, AXL_SVC_SvcEventsDeferred), 0);
    axl_chan_app_wake_done(&f->app);
    wake_sum(f);
}

static void test_stat_names(void **state)
{
    (void)state;
    assert_int_equal(axl_svc_stat_count(), AXL_SVC__COUNT);
    assert_string_equal(axl_svc_stat_name(AXL_SVC_SvcAppsNow), "SvcAppsNow");
    assert_string_equal(axl_svc_stat_name(AXL_SVC_SvcBellWakes), "SvcBellWakes");
    assert_string_equal(axl_svc_stat_name(AXL_SVC_SvcAppWakesHeld), "SvcAppWakesHeld");
    assert_null(axl_svc_stat_name(AXL_SVC__COUNT));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_listen_accept_echo_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_udp_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_app_gone_resets_and_reclaims, setup, teardown),
        cmocka_unit_test_setup_teardown(test_app_gone_many_conns_batched, setup_small_ring,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_listen_backlog_clamped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_app_disconnected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_drains_rx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_while_draining, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bind_address, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conn_owners, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wake_held, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wake_quiet, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wake_idle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wake_queue, setup, teardown),
        cmocka_unit_test(test_stat_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
