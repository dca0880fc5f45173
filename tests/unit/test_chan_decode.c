/* SPDX-License-Identifier: MIT */
/*
 * test_chan_decode.c - every validation rule of the channel decoders
 * (chan/decode.c): a table of crafted commands (each with the violation it
 * must be reported as), the event rules on the app side (including stale
 * generations), and the control-message checks; then the same rules through
 * the real queues of a mapped channel, where each violation must be counted
 * by kind in the stats and published to the app.
 */
#include "test_chan_fixture.h"

#include <arpa/inet.h>

/* A small table: 8 sockets, 0 free, 1..7 in use with generation 3;
 * registered region 0 of 4096 bytes, region 1 unregistered. */
struct dfix {
    struct axl_chan_slot slots[8];
    uint64_t reg[2];
    struct axl_chan_dctx d;
};

static void dfix_init(struct dfix *f)
{
    memset(f, 0, sizeof(*f));
    for (int i = 1; i < 8; i++) {
        atomic_store(&f->slots[i].state, AXL_CHAN_SS_ESTABLISHED);
        atomic_store(&f->slots[i].gen, 3);
        atomic_store(&f->slots[i].tx_cons, 1000);
    }
    f->reg[0] = 4096;
    f->d = (struct axl_chan_dctx){8, 4096, 8192, 2, f->slots, f->reg};
}

static struct axl_chan_cmd cmd(uint16_t op, uint32_t sock)
{
    struct axl_chan_cmd c;
    memset(&c, 0, sizeof(c));
    c.op = op;
    c.sock = sock;
    c.gen = sock == AXL_CHAN_SOCK_NONE ? 0 : 3;
    c.cookie = 0x1234;
    return c;
}

struct cmd_case {
    const char *name;
    struct axl_chan_cmd c;
    unsigned viol;
};

static void test_cmd_rules(void **state)
{
    (void)state;
    struct dfix f;
    dfix_init(&f);
    struct axl_chan_cmd c;
    struct cmd_case t[96];
    int n = 0;
#define CASE(nm, expr, v)                                                                          \
    do {                                                                                           \
        expr;                                                                                      \
        t[n++] = (struct cmd_case){nm, c, v};                                                      \
    } while (0)
    /* valid */
    CASE("open tcp", (c = cmd(AXL_CHAN_OP_OPEN, AXL_CHAN_SOCK_NONE), c.arg = 6), 0);
    CASE("open udp", (c = cmd(AXL_CHAN_OP_OPEN, AXL_CHAN_SOCK_NONE), c.arg = 17), 0);
    CASE("bind v4",
         (c = cmd(AXL_CHAN_OP_BIND, 1), c.family = 4, c.port = htons(80), c.addr[0] = 198), 0);
    CASE("bind v6", (c = cmd(AXL_CHAN_OP_BIND, 1), c.family = 6, c.addr[15] = 1), 0);
    CASE("listen", (c = cmd(AXL_CHAN_OP_LISTEN, 2), c.arg = 8), 0);
    /* backlog above the socket limit: accepted (the stack clamps it) */
    CASE("listen > socks", (c = cmd(AXL_CHAN_OP_LISTEN, 2), c.arg = 9), 0);
    CASE("listen huge", (c = cmd(AXL_CHAN_OP_LISTEN, 2), c.arg = UINT32_MAX), 0);
    CASE("connect", (c = cmd(AXL_CHAN_OP_CONNECT, 2), c.family = 4, c.port = htons(9)), 0);
    CASE("accept", (c = cmd(AXL_CHAN_OP_ACCEPT, 3), c.arg = 2), 0);
    CASE("send ring", (c = cmd(AXL_CHAN_OP_SEND, 3), c.len = 8192), 0);
    CASE("send more", (c = cmd(AXL_CHAN_OP_SEND, 3), c.len = 1, c.flags = AXL_CHAN_SENDF_MORE), 0);
    CASE("send reg",
         (c = cmd(AXL_CHAN_OP_SEND, 3), c.flags = AXL_CHAN_SENDF_REG, c.off = 96, c.len = 4000,
          c.pos = 1000 + 8192),
         0);
    CASE("recv_done", (c = cmd(AXL_CHAN_OP_RECV_DONE, 4), c.len = 4096), 0);
    CASE("shutdown", (c = cmd(AXL_CHAN_OP_SHUTDOWN, 4), c.arg = 2), 0);
    CASE("close", (c = cmd(AXL_CHAN_OP_CLOSE, 4)), 0);
    CASE("abort", (c = cmd(AXL_CHAN_OP_CLOSE, 4), c.flags = AXL_CHAN_CLOSEF_ABORT), 0);
    CASE("setopt", (c = cmd(AXL_CHAN_OP_SETOPT, 5), c.arg = AXL_CHAN_OPT_KEEPIDLE, c.len = 60), 0);
    CASE("linger off",
         (c = cmd(AXL_CHAN_OP_SETOPT, 5), c.arg = AXL_CHAN_OPT_LINGER, c.len = 0xffffffffu), 0);
    /* opcode / flags / reserved */
    CASE("op 0", (c = cmd(0, 1)), AXL_CHAN_V_OPCODE);
    CASE("op 14", (c = cmd(14, 1)), AXL_CHAN_V_OPCODE);
    /* pre-packetised objects */
    CASE("obj_reg", (c = cmd(AXL_CHAN_OP_OBJ_REG, AXL_CHAN_SOCK_NONE), c.off = 96, c.len = 4000,
                     c.arg = 1), 0);
    CASE("obj_reg on a socket", (c = cmd(AXL_CHAN_OP_OBJ_REG, 1), c.len = 1), AXL_CHAN_V_SOCK);
    CASE("obj_reg variant 2", (c = cmd(AXL_CHAN_OP_OBJ_REG, AXL_CHAN_SOCK_NONE), c.len = 1,
                               c.arg = 2), AXL_CHAN_V_ARG);
    CASE("obj_reg empty", (c = cmd(AXL_CHAN_OP_OBJ_REG, AXL_CHAN_SOCK_NONE)), AXL_CHAN_V_LEN);
    CASE("obj_reg past the region", (c = cmd(AXL_CHAN_OP_OBJ_REG, AXL_CHAN_SOCK_NONE),
                                     c.off = 65536, c.len = 1), AXL_CHAN_V_RANGE);
    CASE("obj_reg bad region", (c = cmd(AXL_CHAN_OP_OBJ_REG, AXL_CHAN_SOCK_NONE), c.region = 9,
                                c.len = 1), AXL_CHAN_V_REGION);
    CASE("obj_send", (c = cmd(AXL_CHAN_OP_OBJ_SEND, 3), c.arg = 7), 0);
    CASE("obj_send id too big", (c = cmd(AXL_CHAN_OP_OBJ_SEND, 3), c.arg = AXL_CHAN_OBJS_MAX),
         AXL_CHAN_V_ARG);
    CASE("obj_send with len", (c = cmd(AXL_CHAN_OP_OBJ_SEND, 3), c.len = 1), AXL_CHAN_V_RESERVED);
    CASE("obj_free", (c = cmd(AXL_CHAN_OP_OBJ_FREE, AXL_CHAN_SOCK_NONE), c.arg = 7), 0);
    CASE("obj_free on a socket", (c = cmd(AXL_CHAN_OP_OBJ_FREE, 3)), AXL_CHAN_V_SOCK);
    CASE("op ffff", (c = cmd(0xffff, 1)), AXL_CHAN_V_OPCODE);
    CASE("close flags", (c = cmd(AXL_CHAN_OP_CLOSE, 1), c.flags = 2), AXL_CHAN_V_FLAGS);
    CASE("listen flags", (c = cmd(AXL_CHAN_OP_LISTEN, 1), c.arg = 1, c.flags = 1),
         AXL_CHAN_V_FLAGS);
    CASE("reserved byte", (c = cmd(AXL_CHAN_OP_CLOSE, 1), c.reserved = 1), AXL_CHAN_V_RESERVED);
    CASE("close with len", (c = cmd(AXL_CHAN_OP_CLOSE, 1), c.len = 1), AXL_CHAN_V_RESERVED);
    CASE("ring send with off", (c = cmd(AXL_CHAN_OP_SEND, 1), c.len = 1, c.off = 1),
         AXL_CHAN_V_RESERVED);
    CASE("listen with addr", (c = cmd(AXL_CHAN_OP_LISTEN, 1), c.arg = 1, c.addr[7] = 1),
         AXL_CHAN_V_RESERVED);
    CASE("open with gen", (c = cmd(AXL_CHAN_OP_OPEN, AXL_CHAN_SOCK_NONE), c.arg = 6, c.gen = 1),
         AXL_CHAN_V_RESERVED);
    /* socket id and generation */
    CASE("open with sock", (c = cmd(AXL_CHAN_OP_OPEN, 1), c.gen = 0, c.arg = 6), AXL_CHAN_V_SOCK);
    CASE("open bad proto", (c = cmd(AXL_CHAN_OP_OPEN, AXL_CHAN_SOCK_NONE), c.arg = 1),
         AXL_CHAN_V_ARG);
    CASE("sock 8", (c = cmd(AXL_CHAN_OP_CLOSE, 8)), AXL_CHAN_V_SOCK);
    CASE("sock none", (c = cmd(AXL_CHAN_OP_CLOSE, AXL_CHAN_SOCK_NONE)), AXL_CHAN_V_SOCK);
    CASE("sock huge", (c = cmd(AXL_CHAN_OP_CLOSE, 0x7fffffff)), AXL_CHAN_V_SOCK);
    CASE("free slot", (c = cmd(AXL_CHAN_OP_CLOSE, 0)), AXL_CHAN_V_FREE);
    CASE("old gen", (c = cmd(AXL_CHAN_OP_CLOSE, 1), c.gen = 2), AXL_CHAN_V_GEN);
    CASE("new gen", (c = cmd(AXL_CHAN_OP_CLOSE, 1), c.gen = 4), AXL_CHAN_V_GEN);
    /* lengths */
    CASE("send 0", (c = cmd(AXL_CHAN_OP_SEND, 1)), AXL_CHAN_V_LEN);
    CASE("send > ring", (c = cmd(AXL_CHAN_OP_SEND, 1), c.len = 8193), AXL_CHAN_V_LEN);
    CASE("recv_done 0", (c = cmd(AXL_CHAN_OP_RECV_DONE, 1)), AXL_CHAN_V_LEN);
    CASE("recv_done > ring", (c = cmd(AXL_CHAN_OP_RECV_DONE, 1), c.len = 4097), AXL_CHAN_V_LEN);
    /* registered memory */
    CASE("reg region 1 unregistered",
         (c = cmd(AXL_CHAN_OP_SEND, 1), c.flags = 1, c.region = 1, c.len = 1, c.pos = 1000),
         AXL_CHAN_V_REGION);
    CASE("reg region 2 out of range",
         (c = cmd(AXL_CHAN_OP_SEND, 1), c.flags = 1, c.region = 2, c.len = 1, c.pos = 1000),
         AXL_CHAN_V_REGION);
    CASE("reg len 0", (c = cmd(AXL_CHAN_OP_SEND, 1), c.flags = 1, c.pos = 1000), AXL_CHAN_V_LEN);
    CASE("reg past end",
         (c = cmd(AXL_CHAN_OP_SEND, 1), c.flags = 1, c.off = 4000, c.len = 97, c.pos = 1000),
         AXL_CHAN_V_RANGE);
    CASE("reg off past end",
         (c = cmd(AXL_CHAN_OP_SEND, 1), c.flags = 1, c.off = 4097, c.len = 1, c.pos = 1000),
         AXL_CHAN_V_RANGE);
    CASE("reg off+len wraps",
         (c = cmd(AXL_CHAN_OP_SEND, 1), c.flags = 1, c.off = ~0ull, c.len = 2, c.pos = 1000),
         AXL_CHAN_V_RANGE);
    CASE("reg pos behind", (c = cmd(AXL_CHAN_OP_SEND, 1), c.flags = 1, c.len = 1, c.pos = 999),
         AXL_CHAN_V_POS);
    CASE("reg pos too far",
         (c = cmd(AXL_CHAN_OP_SEND, 1), c.flags = 1, c.len = 1, c.pos = 1000 + 8193),
         AXL_CHAN_V_POS);
    /* addresses and arguments */
    CASE("bind family 0", (c = cmd(AXL_CHAN_OP_BIND, 1), c.port = 1), AXL_CHAN_V_ADDR);
    CASE("bind family 2", (c = cmd(AXL_CHAN_OP_BIND, 1), c.family = 2), AXL_CHAN_V_ADDR);
    CASE("bind v4 junk", (c = cmd(AXL_CHAN_OP_BIND, 1), c.family = 4, c.addr[4] = 1),
         AXL_CHAN_V_ADDR);
    CASE("connect port 0", (c = cmd(AXL_CHAN_OP_CONNECT, 1), c.family = 4), AXL_CHAN_V_ADDR);
    CASE("listen 0", (c = cmd(AXL_CHAN_OP_LISTEN, 1)), AXL_CHAN_V_ARG);
    CASE("accept listener 8", (c = cmd(AXL_CHAN_OP_ACCEPT, 1), c.arg = 8), AXL_CHAN_V_ARG);
    CASE("shutdown 3", (c = cmd(AXL_CHAN_OP_SHUTDOWN, 1), c.arg = 3), AXL_CHAN_V_ARG);
    CASE("setopt 0", (c = cmd(AXL_CHAN_OP_SETOPT, 1)), AXL_CHAN_V_ARG);
    CASE("setopt 9", (c = cmd(AXL_CHAN_OP_SETOPT, 1), c.arg = 9), AXL_CHAN_V_ARG);
    CASE("nodelay 2", (c = cmd(AXL_CHAN_OP_SETOPT, 1), c.arg = 1, c.len = 2), AXL_CHAN_V_ARG);
    CASE("keepcnt 0", (c = cmd(AXL_CHAN_OP_SETOPT, 1), c.arg = 5), AXL_CHAN_V_ARG);
#undef CASE
    assert_true(n <= 96);
    for (int i = 0; i < n; i++) {
        unsigned v = 99;
        int r = axl_chan_cmd_decode(&t[i].c, &f.d, &v);
        if (v != t[i].viol || r != (t[i].viol ? AXL_EMALFORMED : 0))
            fail_msg("case '%s': got %d / %s, want %s", t[i].name, r, axl_chan_viol_name(v),
                     axl_chan_viol_name(t[i].viol));
    }
}

static struct axl_chan_event ev(uint16_t type, uint32_t sock, uint32_t gen)
{
    struct axl_chan_event e;
    memset(&e, 0, sizeof(e));
    e.type = type;
    e.sock = sock;
    e.gen = gen;
    return e;
}

static void test_event_rules(void **state)
{
    (void)state;
    struct axl_chan_slot slots[8];
    memset(slots, 0, sizeof(slots));
    for (int i = 1; i < 8; i++) {
        atomic_store(&slots[i].state, AXL_CHAN_SS_ESTABLISHED);
        atomic_store(&slots[i].gen, 5);
    }
    atomic_store(&slots[0].gen, 5); /* free, last generation 5 */
    struct axl_chan_edctx d = {8, 4096, 8192, slots};
    struct {
        const char *name;
        struct axl_chan_event e;
        int ret;
        unsigned viol;
    } t[48];
    struct axl_chan_event e;
    int n = 0;
#define CASE(nm, expr, r, v)                                                                       \
    do {                                                                                           \
        expr;                                                                                      \
        t[n].name = nm;                                                                            \
        t[n].e = e;                                                                                \
        t[n].ret = r;                                                                              \
        t[n++].viol = v;                                                                           \
    } while (0)
    CASE("new_conn", (e = ev(1, 3, 5), e.arg = 2, e.arg2 = 5), 0, 0);
    CASE("new_data", (e = ev(2, 3, 5), e.arg = 4096), 0, 0);
    CASE("acked ring", (e = ev(3, 3, 5), e.arg = 8192), 0, 0);
    CASE("acked reg", (e = ev(3, 3, 5), e.arg = 1 << 30, e.cookie = 9), 0, 0);
    CASE("remote_closed rst", (e = ev(4, 3, 5), e.status = -ECONNRESET), 0, 0);
    CASE("cleanup", (e = ev(5, 3, 5)), 0, 0);
    CASE("done", (e = ev(6, 3, 5), e.arg = AXL_CHAN_OP_SEND, e.cookie = 77), 0, 0);
    CASE("done open failed", (e = ev(6, AXL_CHAN_SOCK_NONE, 0), e.arg = 1, e.status = -ENOBUFS), 0,
         0);
    CASE("cleanup of freed slot", (e = ev(5, 0, 5)), 0, 0);
    CASE("stale gen", (e = ev(2, 3, 4), e.arg = 1), 1, 0);
    CASE("stale very old gen", (e = ev(2, 3, 5u - 0x7fffffffu), e.arg = 1), 1, 0);
    CASE("new_data on freed slot", (e = ev(2, 0, 5), e.arg = 1), 1, 0);
    CASE("type 0", (e = ev(0, 3, 5)), AXL_EMALFORMED, AXL_CHAN_V_OPCODE);
    CASE("type 7", (e = ev(7, 3, 5)), AXL_EMALFORMED, AXL_CHAN_V_OPCODE);
    CASE("flags", (e = ev(5, 3, 5), e.flags = 1), AXL_EMALFORMED, AXL_CHAN_V_FLAGS);
    CASE("cleanup cookie", (e = ev(5, 3, 5), e.cookie = 1), AXL_EMALFORMED, AXL_CHAN_V_RESERVED);
    CASE("new_data arg2", (e = ev(2, 3, 5), e.arg2 = 1), AXL_EMALFORMED, AXL_CHAN_V_RESERVED);
    CASE("new_data status", (e = ev(2, 3, 5), e.status = -1), AXL_EMALFORMED, AXL_CHAN_V_STATUS);
    CASE("positive status", (e = ev(4, 3, 5), e.status = 1), AXL_EMALFORMED, AXL_CHAN_V_STATUS);
    CASE("huge status", (e = ev(4, 3, 5), e.status = -5000), AXL_EMALFORMED, AXL_CHAN_V_STATUS);
    CASE("new_conn listener 8", (e = ev(1, 3, 5), e.arg = 8), AXL_EMALFORMED, AXL_CHAN_V_ARG);
    CASE("new_data > ring", (e = ev(2, 3, 5), e.arg = 4097), AXL_EMALFORMED, AXL_CHAN_V_LEN);
    CASE("acked 0", (e = ev(3, 3, 5)), AXL_EMALFORMED, AXL_CHAN_V_LEN);
    CASE("acked ring > ring", (e = ev(3, 3, 5), e.arg = 8193), AXL_EMALFORMED, AXL_CHAN_V_LEN);
    CASE("done op 0", (e = ev(6, 3, 5)), AXL_EMALFORMED, AXL_CHAN_V_ARG);
    CASE("done op 14", (e = ev(6, 3, 5), e.arg = 14), AXL_EMALFORMED, AXL_CHAN_V_ARG);
    CASE("no sock", (e = ev(5, AXL_CHAN_SOCK_NONE, 0)), AXL_EMALFORMED, AXL_CHAN_V_SOCK);
    CASE("done none gen", (e = ev(6, AXL_CHAN_SOCK_NONE, 1), e.arg = 1), AXL_EMALFORMED,
         AXL_CHAN_V_RESERVED);
    CASE("sock 8", (e = ev(5, 8, 5)), AXL_EMALFORMED, AXL_CHAN_V_SOCK);
    CASE("future gen", (e = ev(5, 3, 6)), AXL_EMALFORMED, AXL_CHAN_V_GEN);
#undef CASE
    for (int i = 0; i < n; i++) {
        unsigned v = 99;
        int r = axl_chan_evt_decode(&t[i].e, &d, &v);
        if (r != t[i].ret || v != t[i].viol)
            fail_msg("case '%s': got %d / %s, want %d / %s", t[i].name, r, axl_chan_viol_name(v),
                     t[i].ret, axl_chan_viol_name(t[i].viol));
    }
}

static struct axl_chan_msg hello_msg(void)
{
    struct axl_chan_msg m;
    memset(&m, 0, sizeof(m));
    m.magic = AXL_CHAN_MAGIC;
    m.version = AXL_CHAN_ABI_VERSION;
    m.type = AXL_CHAN_MSG_HELLO;
    m.nfds = 2;
    m.u.hello = (struct axl_chan_hello){1, 64, 4096, 4096, 64, 64, 4, 0, 99};
    return m;
}

static void test_msg_rules(void **state)
{
    (void)state;
    struct axl_chan_msg m = hello_msg(), out;
    assert_int_equal(axl_chan_msg_check(&m, sizeof(m), 2, &out), 0);
    assert_int_equal(out.u.hello.nonce, 99);
    assert_int_equal(axl_chan_msg_check(&m, sizeof(m) - 1, 2, &out), AXL_EMALFORMED);
    assert_int_equal(axl_chan_msg_check(&m, sizeof(m), 1, &out), AXL_EMALFORMED); /* fds */
    assert_int_equal(axl_chan_msg_check(&m, sizeof(m), 3, &out), AXL_EMALFORMED);
    m.nfds = 3; /* v2: a HELLO with the stack's bell */
    assert_int_equal(axl_chan_msg_check(&m, sizeof(m), 3, &out), 0);
    assert_int_equal(axl_chan_msg_check(&m, sizeof(m), 2, &out), AXL_EMALFORMED);
    m.nfds = 4;
    assert_int_equal(axl_chan_msg_check(&m, sizeof(m), 4, &out), AXL_EMALFORMED);
    m = hello_msg();
    m.magic++;
    assert_int_equal(axl_chan_msg_check(&m, sizeof(m), 2, &out), AXL_EMALFORMED);
    m = hello_msg();
    m.version = AXL_CHAN_ABI_VERSION + 1;
    assert_int_equal(axl_chan_msg_check(&m, sizeof(m), 2, &out), AXL_EVERSION);
    m.version = 1; /* futex-only stacks */
    assert_int_equal(axl_chan_msg_check(&m, sizeof(m), 2, &out), AXL_EVERSION);
    m = hello_msg();
    m.type = 4;
    assert_int_equal(axl_chan_msg_check(&m, sizeof(m), 2, &out), AXL_EMALFORMED);
    m = hello_msg();
    m.u.hello.rx_size = 5000; /* no layout */
    assert_int_equal(axl_chan_msg_check(&m, sizeof(m), 2, &out), AXL_EMALFORMED);
    m = hello_msg();
    m.u.bytes[47] = 1; /* trailing bytes must be 0 */
    assert_int_equal(axl_chan_msg_check(&m, sizeof(m), 2, &out), AXL_EMALFORMED);
    m = hello_msg();
    m.nfds = 1;
    assert_int_equal(axl_chan_msg_check(&m, sizeof(m), 1, &out), AXL_EMALFORMED);

    memset(&m, 0, sizeof(m));
    m.magic = AXL_CHAN_MAGIC;
    m.version = AXL_CHAN_ABI_VERSION;
    m.type = AXL_CHAN_MSG_REGMEM;
    m.nfds = 1;
    m.u.regmem.size = 1 << 20;
    assert_int_equal(axl_chan_msg_check(&m, sizeof(m), 1, &out), 0);
    m.u.regmem.size = AXL_CHAN_REGMEM_BYTES_MAX + 1;
    assert_int_equal(axl_chan_msg_check(&m, sizeof(m), 1, &out), AXL_EMALFORMED);
    m.u.regmem.size = 0;
    assert_int_equal(axl_chan_msg_check(&m, sizeof(m), 1, &out), AXL_EMALFORMED);
    m.type = AXL_CHAN_MSG_REGMEM_ACK;
    m.nfds = 0;
    m.u.regmem.region = 3;
    assert_int_equal(axl_chan_msg_check(&m, sizeof(m), 0, &out), 0);
    m.u.regmem.status = -EINVAL;
    assert_int_equal(axl_chan_msg_check(&m, sizeof(m), 0, &out), AXL_EMALFORMED);
    m.u.regmem.region = 0;
    assert_int_equal(axl_chan_msg_check(&m, sizeof(m), 0, &out), 0);
    m.u.regmem.status = 1;
    assert_int_equal(axl_chan_msg_check(&m, sizeof(m), 0, &out), AXL_EMALFORMED);
}

/* Through the real queues: violations reach the stats (by kind) and the
 * count the app can see; valid commands in between still come through. */
static void test_queue_violations_counted(void **state)
{
    (void)state;
    struct axl_chan_params p;
    struct chan_pair cp;
    struct axl_chan_cmd c[6], out;
    unsigned v;
    chan_small_params(&p);
    chan_pair_open(&cp, &p);
    int id = axl_chan_stk_sock_alloc(&cp.stk, AXL_CHAN_PROTO_TCP, AXL_CHAN_SS_ESTABLISHED);
    assert_int_equal(id, 0);
    c[0] = cmd(AXL_CHAN_OP_CLOSE, 0);
    c[0].gen = 1;
    c[1] = cmd(AXL_CHAN_OP_CLOSE, 0); /* gen 3: wrong */
    c[2] = cmd(AXL_CHAN_OP_SEND, 0);  /* len 0 */
    c[2].gen = 1;
    c[3] = cmd(42, 0);
    c[4] = cmd(AXL_CHAN_OP_CLOSE, 5); /* free slot */
    c[4].gen = 0;
    c[5] = cmd(AXL_CHAN_OP_RECV_DONE, 0);
    c[5].gen = 1;
    c[5].len = 10;
    assert_int_equal(axl_chan_app_submit(&cp.app, c, 6), 6);
    axl_chan_app_kick(&cp.app);
    int want[] = {1, AXL_EMALFORMED, AXL_EMALFORMED, AXL_EMALFORMED, AXL_EMALFORMED, 1, 0};
    unsigned wantv[] = {0, AXL_CHAN_V_GEN, AXL_CHAN_V_LEN, AXL_CHAN_V_OPCODE, AXL_CHAN_V_FREE, 0,
                        0};
    for (int i = 0; i < 7; i++) {
        assert_int_equal(axl_chan_stk_poll_cmd(&cp.stk, &out, &v), want[i]);
        assert_int_equal(v, wantv[i]);
    }
    assert_int_equal(cp.stk.stats.violations, 4);
    assert_int_equal(cp.stk.stats.v[AXL_CHAN_V_GEN], 1);
    assert_int_equal(cp.stk.stats.v[AXL_CHAN_V_FREE], 1);
    assert_int_equal(cp.stk.stats.cmds, 2);
    assert_int_equal(atomic_load(&cp.app.sctl->violations), 4);

    /* queue-full: the app cannot overrun the queue */
    struct axl_chan_cmd many[100];
    for (int i = 0; i < 100; i++)
        many[i] = c[0];
    assert_int_equal(axl_chan_app_submit(&cp.app, many, 100), 64);
    assert_int_equal(axl_chan_app_submit(&cp.app, many, 1), 0);
    assert_int_equal(cp.app.stats.queue_full, 1);

    /* Disconnect is visible to the app. */
    assert_true(axl_chan_app_up(&cp.app));
    axl_chan_stk_disconnect(&cp.stk);
    assert_false(axl_chan_app_up(&cp.app));
    chan_pair_close(&cp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cmd_rules),
        cmocka_unit_test(test_event_rules),
        cmocka_unit_test(test_msg_rules),
        cmocka_unit_test(test_queue_violations_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
