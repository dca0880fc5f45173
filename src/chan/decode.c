/* SPDX-License-Identifier: MIT */
/*
 * decode.c - validation of everything one side of a channel reads from the
 * other's entries: commands (stack side), events (app side) and the control
 * messages of the Unix socket (both sides).
 *
 * All three are pure functions over a private copy: the caller copies the
 * entry out of shared memory first (stk.c / app.c), so the peer cannot change
 * a field between its check and its use (no double fetch). The only shared
 * state consulted is the socket table, which the stack alone writes.
 *
 * Called by: axl_chan_stk_poll_cmd, axl_chan_app_poll_event, axl_chan_msg_recv,
 * the fuzz targets tests/fuzz/fuzz_chan_*.c.
 */
#include "chan/chan.h"

#include <string.h>

#include "core/err.h"

#define BAD(k)                                                                                     \
    do {                                                                                           \
        *viol = (k);                                                                               \
        return AXL_EMALFORMED;                                                                     \
    } while (0)

/* Fields of a command an opcode may use; every other field must be 0. */
enum {
    U_LEN = 1u << 0,
    U_OFF = 1u << 1,
    U_REGION = 1u << 2,
    U_POS = 1u << 3,
    U_ARG = 1u << 4,
    U_ADDR = 1u << 5, /* port, family, addr */
};

static int addr_zero(const struct axl_chan_cmd *c)
{
    static const uint8_t zero[16];
    return c->port == 0 && c->family == 0 && memcmp(c->addr, zero, sizeof(zero)) == 0;
}

static int unused_nonzero(const struct axl_chan_cmd *c, unsigned used)
{
    return (!(used & U_LEN) && c->len) || (!(used & U_OFF) && c->off) ||
           (!(used & U_REGION) && c->region) || (!(used & U_POS) && c->pos) ||
           (!(used & U_ARG) && c->arg) || (!(used & U_ADDR) && !addr_zero(c));
}

static int addr_ok(const struct axl_chan_cmd *c)
{
    static const uint8_t zero[12];
    if (c->family == AXL_CHAN_AF_INET) return memcmp(c->addr + 4, zero, sizeof(zero)) == 0;
    return c->family == AXL_CHAN_AF_INET6;
}

static int opt_value_ok(uint32_t opt, uint32_t v)
{
    switch (opt) {
    case AXL_CHAN_OPT_NODELAY:
    case AXL_CHAN_OPT_KEEPALIVE:
    case AXL_CHAN_OPT_REUSEADDR:
    case AXL_CHAN_OPT_REUSEPORT:
        return v <= 1;
    case AXL_CHAN_OPT_KEEPIDLE:
    case AXL_CHAN_OPT_KEEPINTVL:
        return v >= 1 && v <= 32767;
    case AXL_CHAN_OPT_KEEPCNT:
        return v >= 1 && v <= 127;
    case AXL_CHAN_OPT_LINGER:
        return v <= 65535 || v == 0xffffffffu;
    default:
        return 0;
    }
}

int axl_chan_cmd_decode(const struct axl_chan_cmd *c, const struct axl_chan_dctx *d, unsigned *viol)
{
    static const uint16_t flags_ok[AXL_CHAN_OP_MAX + 1] = {
        [AXL_CHAN_OP_SEND] = AXL_CHAN_SENDF_REG | AXL_CHAN_SENDF_MORE,
        [AXL_CHAN_OP_CLOSE] = AXL_CHAN_CLOSEF_ABORT,
    };
    static const uint8_t used[AXL_CHAN_OP_MAX + 1] = {
        [AXL_CHAN_OP_OPEN] = U_ARG,
        [AXL_CHAN_OP_BIND] = U_ADDR,
        [AXL_CHAN_OP_LISTEN] = U_ARG,
        [AXL_CHAN_OP_CONNECT] = U_ADDR,
        [AXL_CHAN_OP_ACCEPT] = U_ARG,
        [AXL_CHAN_OP_SEND] = U_LEN, /* | U_OFF | U_REGION | U_POS with REG */
        [AXL_CHAN_OP_RECV_DONE] = U_LEN,
        [AXL_CHAN_OP_SHUTDOWN] = U_ARG,
        [AXL_CHAN_OP_CLOSE] = 0,
        [AXL_CHAN_OP_SETOPT] = U_ARG | U_LEN,
        [AXL_CHAN_OP_OBJ_REG] = U_REGION | U_OFF | U_LEN | U_ARG,
        [AXL_CHAN_OP_OBJ_SEND] = U_ARG,
        [AXL_CHAN_OP_OBJ_FREE] = U_ARG,
    };
    *viol = AXL_CHAN_V_NONE;
    if (c->op < 1 || c->op > AXL_CHAN_OP_MAX) BAD(AXL_CHAN_V_OPCODE);
    if (c->flags & ~flags_ok[c->op]) BAD(AXL_CHAN_V_FLAGS);
    unsigned u = used[c->op];
    int reg = c->op == AXL_CHAN_OP_SEND && (c->flags & AXL_CHAN_SENDF_REG);
    if (reg) u |= U_OFF | U_REGION | U_POS;
    if (c->reserved || unused_nonzero(c, u)) BAD(AXL_CHAN_V_RESERVED);

    if (c->op == AXL_CHAN_OP_OBJ_REG) {
        if (c->sock != AXL_CHAN_SOCK_NONE) BAD(AXL_CHAN_V_SOCK);
        if (c->gen) BAD(AXL_CHAN_V_RESERVED);
        if (c->arg > 1) BAD(AXL_CHAN_V_ARG);
        if (c->region >= d->max_regmem || d->reg_size[c->region] == 0) BAD(AXL_CHAN_V_REGION);
        if (c->len < 1 || c->len > AXL_CHAN_OBJ_MAX) BAD(AXL_CHAN_V_LEN);
        if (c->off > d->reg_size[c->region] || c->len > d->reg_size[c->region] - c->off)
            BAD(AXL_CHAN_V_RANGE);
        return 0;
    }
    if (c->op == AXL_CHAN_OP_OBJ_FREE) {
        if (c->sock != AXL_CHAN_SOCK_NONE) BAD(AXL_CHAN_V_SOCK);
        if (c->gen) BAD(AXL_CHAN_V_RESERVED);
        if (c->arg >= AXL_CHAN_OBJS_MAX) BAD(AXL_CHAN_V_ARG);
        return 0;
    }
    if (c->op == AXL_CHAN_OP_OPEN) {
        if (c->sock != AXL_CHAN_SOCK_NONE) BAD(AXL_CHAN_V_SOCK);
        if (c->gen) BAD(AXL_CHAN_V_RESERVED);
        if (c->arg != AXL_CHAN_PROTO_TCP && c->arg != AXL_CHAN_PROTO_UDP) BAD(AXL_CHAN_V_ARG);
        return 0;
    }
    if (c->sock >= d->max_socks) BAD(AXL_CHAN_V_SOCK);
    const struct axl_chan_slot *s = &d->slots[c->sock];
    if (atomic_load_explicit(&s->state, memory_order_relaxed) == AXL_CHAN_SS_FREE)
        BAD(AXL_CHAN_V_FREE);
    if (c->gen != atomic_load_explicit(&s->gen, memory_order_relaxed)) BAD(AXL_CHAN_V_GEN);

    switch (c->op) {
    case AXL_CHAN_OP_BIND:
        if (!addr_ok(c)) BAD(AXL_CHAN_V_ADDR);
        break;
    case AXL_CHAN_OP_CONNECT:
        if (!addr_ok(c) || c->port == 0) BAD(AXL_CHAN_V_ADDR);
        break;
    case AXL_CHAN_OP_LISTEN:
        /* Any backlog >= 1: the stack clamps it to its socket limit, as
         * POSIX listen() clamps to an implementation limit (SOMAXCONN).
         * 0 stays a violation: a listener that can take no connection is
         * not a request (listen(2) wrappers clamp 0 to 1 before). */
        if (c->arg < 1) BAD(AXL_CHAN_V_ARG);
        break;
    case AXL_CHAN_OP_ACCEPT:
        if (c->arg >= d->max_socks) BAD(AXL_CHAN_V_ARG);
        break;
    case AXL_CHAN_OP_SEND:
        if (!reg) {
            if (c->len < 1 || c->len > d->tx_size) BAD(AXL_CHAN_V_LEN);
            break;
        }
        if (c->region >= d->max_regmem || d->reg_size[c->region] == 0) BAD(AXL_CHAN_V_REGION);
        if (c->len < 1) BAD(AXL_CHAN_V_LEN);
        if (c->off > d->reg_size[c->region] || c->len > d->reg_size[c->region] - c->off)
            BAD(AXL_CHAN_V_RANGE);
        /* The splice point cannot be behind what the stack is done with, nor
         * more than a ring ahead of it. */
        if (c->pos - atomic_load_explicit(&s->tx_cons, memory_order_relaxed) > d->tx_size)
            BAD(AXL_CHAN_V_POS);
        break;
    case AXL_CHAN_OP_RECV_DONE:
        if (c->len < 1 || c->len > d->rx_size) BAD(AXL_CHAN_V_LEN);
        break;
    case AXL_CHAN_OP_SHUTDOWN:
        if (c->arg > 2) BAD(AXL_CHAN_V_ARG);
        break;
    case AXL_CHAN_OP_SETOPT:
        if (!opt_value_ok(c->arg, c->len)) BAD(AXL_CHAN_V_ARG);
        break;
    case AXL_CHAN_OP_OBJ_SEND:
        if (c->arg >= AXL_CHAN_OBJS_MAX) BAD(AXL_CHAN_V_ARG);
        break;
    default: /* CLOSE: nothing beyond the common checks */
        break;
    }
    return 0;
}

int axl_chan_evt_decode(const struct axl_chan_event *e, const struct axl_chan_edctx *d,
                        unsigned *viol)
{
    enum { E_COOKIE = 1, E_ARG = 2, E_ARG2 = 4, E_STATUS = 8 };
    static const uint8_t used[AXL_CHAN_EV_MAX + 1] = {
        [AXL_CHAN_EV_NEW_CONN] = E_ARG | E_ARG2,
        [AXL_CHAN_EV_NEW_DATA] = E_ARG,
        [AXL_CHAN_EV_DATA_ACKED] = E_ARG | E_COOKIE,
        [AXL_CHAN_EV_REMOTE_CLOSED] = E_STATUS,
        [AXL_CHAN_EV_CLEANUP] = E_STATUS,
        [AXL_CHAN_EV_DONE] = E_ARG | E_ARG2 | E_COOKIE | E_STATUS, /* arg2: OBJ_REG only */
    };
    *viol = AXL_CHAN_V_NONE;
    if (e->type < 1 || e->type > AXL_CHAN_EV_MAX) BAD(AXL_CHAN_V_OPCODE);
    if (e->flags) BAD(AXL_CHAN_V_FLAGS);
    unsigned u = used[e->type];
    if ((!(u & E_COOKIE) && e->cookie) || (!(u & E_ARG) && e->arg) || (!(u & E_ARG2) && e->arg2))
        BAD(AXL_CHAN_V_RESERVED);
    if (!(u & E_STATUS) && e->status) BAD(AXL_CHAN_V_STATUS);
    if (e->status > 0 || e->status < -4095) BAD(AXL_CHAN_V_STATUS);

    switch (e->type) {
    case AXL_CHAN_EV_NEW_CONN:
        if (e->arg >= d->max_socks) BAD(AXL_CHAN_V_ARG);
        break;
    case AXL_CHAN_EV_NEW_DATA:
        if (e->arg > d->rx_size) BAD(AXL_CHAN_V_LEN);
        break;
    case AXL_CHAN_EV_DATA_ACKED:
        if (e->arg < 1 || (e->cookie == 0 && e->arg > d->tx_size)) BAD(AXL_CHAN_V_LEN);
        break;
    case AXL_CHAN_EV_DONE:
        if (e->arg < 1 || e->arg > AXL_CHAN_OP_MAX) BAD(AXL_CHAN_V_ARG);
        if (e->arg2 && e->arg != AXL_CHAN_OP_OBJ_REG) BAD(AXL_CHAN_V_RESERVED);
        if (e->arg2 >= AXL_CHAN_OBJS_MAX) BAD(AXL_CHAN_V_ARG);
        break;
    default:
        break;
    }

    if (e->sock == AXL_CHAN_SOCK_NONE) {
        if (e->type != AXL_CHAN_EV_DONE) BAD(AXL_CHAN_V_SOCK);
        if (e->gen) BAD(AXL_CHAN_V_RESERVED);
        return 0;
    }
    if (e->sock >= d->max_socks) BAD(AXL_CHAN_V_SOCK);
    const struct axl_chan_slot *s = &d->slots[e->sock];
    uint32_t sgen = atomic_load_explicit(&s->gen, memory_order_acquire);
    uint32_t st = atomic_load_explicit(&s->state, memory_order_relaxed);
    int32_t age = (int32_t)(sgen - e->gen);
    if (age < 0) BAD(AXL_CHAN_V_GEN); /* a generation the stack never handed out */
    if (age > 0) return 1;            /* the slot was reused since */
    if (st == AXL_CHAN_SS_FREE && e->type != AXL_CHAN_EV_CLEANUP && e->type != AXL_CHAN_EV_DONE)
        return 1; /* freed since: only the last words of a socket can arrive now */
    return 0;
}

int axl_chan_msg_check(const void *buf, size_t len, unsigned nfds, struct axl_chan_msg *out)
{
    static const uint8_t want_fds[AXL_CHAN_MSG_MAX + 1] = {
        [AXL_CHAN_MSG_HELLO] = 2,
        [AXL_CHAN_MSG_REGMEM] = 1,
        [AXL_CHAN_MSG_REGMEM_ACK] = 0,
    };
    struct axl_chan_msg m;
    size_t body;
    if (len != sizeof(m)) return AXL_EMALFORMED;
    memcpy(&m, buf, sizeof(m));
    if (m.magic != AXL_CHAN_MAGIC) return AXL_EMALFORMED;
    if (m.version != AXL_CHAN_ABI_VERSION) return AXL_EVERSION;
    if (m.type < 1 || m.type > AXL_CHAN_MSG_MAX || m.reserved) return AXL_EMALFORMED;
    int bell = m.type == AXL_CHAN_MSG_HELLO && m.nfds == (uint32_t)want_fds[m.type] + 1; /* v2 */
    if ((m.nfds != want_fds[m.type] && !bell) || nfds != m.nfds) return AXL_EMALFORMED;
    switch (m.type) {
    case AXL_CHAN_MSG_HELLO: {
        const struct axl_chan_hello *h = &m.u.hello;
        struct axl_chan_params p = {h->max_socks, h->rx_size,    h->tx_size,
                                    h->evq_slots, h->cmdq_slots, h->max_regmem};
        struct axl_chan_layout l;
        if (h->reserved || axl_chan_layout(&p, &l) < 0) return AXL_EMALFORMED;
        body = sizeof(*h);
        break;
    }
    case AXL_CHAN_MSG_REGMEM:
        if (m.u.regmem.size < 1 || m.u.regmem.size > AXL_CHAN_REGMEM_BYTES_MAX ||
            m.u.regmem.status || m.u.regmem.region)
            return AXL_EMALFORMED;
        body = sizeof(m.u.regmem);
        break;
    default: /* REGMEM_ACK */
        if (m.u.regmem.size || m.u.regmem.status > 0 || m.u.regmem.status < -4095 ||
            m.u.regmem.region >= AXL_CHAN_REGMEM_MAX || (m.u.regmem.status && m.u.regmem.region))
            return AXL_EMALFORMED;
        body = sizeof(m.u.regmem);
        break;
    }
    for (size_t i = body; i < sizeof(m.u.bytes); i++)
        if (m.u.bytes[i]) return AXL_EMALFORMED;
    *out = m;
    return 0;
}
