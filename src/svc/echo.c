/* SPDX-License-Identifier: MIT */
/*
 * svc/echo.c - RFC 862 TCP echo on the engine's TCP API (see echo.h).
 *
 * Data path: bytes are copied from the receive queue into the send buffer
 * (axl_tcp_send) and released from the receive queue only as far as the send
 * buffer took them, so a peer that does not read its echo closes our
 * receive window instead of growing our memory (flow control end to end).
 * The pump runs on new_data and again on data_acked (room freed).
 * RFC 862: "the server ... sends back any data it receives" until the peer
 * closes; then we close our side (FIN after the echoed bytes).
 */
#include "svc/echo.h"

#include <string.h>

#include "core/err.h"
#include "net/tcp.h"

#define ECHO_IOV 8

static void echo_pump(struct axl_tcb *c, struct axl_svc_echo *e)
{
    struct axl_tcp_iov iov[ECHO_IOV];

    if (!e) return; /* not accepted yet: echo_new_conn pumps it */
    for (;;) {
        int n = axl_tcp_recv(c, iov, ECHO_IOV);
        if (n == 0) { /* FIN received and everything echoed: close our side */
            axl_tcp_shutdown(c);
            return;
        }
        if (n < 0) return; /* AXL_EAGAIN, or an error that cleanup reports */
        uint32_t took = 0;
        int full = 0;
        for (int i = 0; i < n && !full; i++) {
            int k = axl_tcp_send(c, iov[i].base, iov[i].len);
            if (k <= 0) break;
            took += (uint32_t)k;
            if ((uint32_t)k < iov[i].len) full = 1;
        }
        if (!took) return; /* send buffer full: data_acked resumes */
        axl_tcp_recv_done(c, took);
        e->bytes += took;
        if (full) return;
    }
}

static void echo_new_data(struct axl_tcb *c, void *user, uint32_t avail)
{
    (void)avail;
    echo_pump(c, user);
}

static void echo_acked(struct axl_tcb *c, void *user, uint32_t acked, uint32_t room)
{
    (void)acked;
    (void)room;
    echo_pump(c, user);
}

static void echo_remote_closed(struct axl_tcb *c, void *user)
{
    echo_pump(c, user);
}

static void echo_cleanup(struct axl_tcb *c, void *user, int err)
{
    struct axl_svc_echo *e = user;
    (void)err;
    if (!e) return; /* not accepted yet: the listener resets it when it closes */
    if (e->active) e->active--;
    axl_tcp_close(c);
}

static const struct axl_tcp_ops echo_conn_ops;

static void echo_new_conn(struct axl_tcp_listener *l, void *user)
{
    struct axl_svc_echo *e = user;
    struct axl_tcb *c;
    while (axl_tcp_accept(l, &c) == 0) {
        e->conns++;
        e->active++;
        axl_tcp_set_user(c, &echo_conn_ops, e);
        axl_tcp_setopt(c, AXL_TCP_OPT_NODELAY, 1); /* interactive echo (RFC 1122 §4.2.3.4) */
        echo_pump(c, e); /* data may have come with the handshake */
    }
}

static const struct axl_tcp_ops echo_conn_ops = {
    .new_conn = echo_new_conn,
    .new_data = echo_new_data,
    .data_acked = echo_acked,
    .remote_closed = echo_remote_closed,
    .cleanup = echo_cleanup,
};

int axl_svc_echo_open(struct axl_svc_echo *e, struct axl_stack *s, uint16_t port)
{
    memset(e, 0, sizeof(*e));
    e->s = s;
    if (!port) return AXL_EINVAL;
    return axl_tcp_listen(s, port, 0, &echo_conn_ops, e, &e->l);
}

void axl_svc_echo_close(struct axl_svc_echo *e)
{
    if (e->l) axl_tcp_listener_close(e->l);
    e->l = NULL;
}
