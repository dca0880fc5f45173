/* SPDX-License-Identifier: MIT */
/*
 * svc/echo.h - the built-in RFC 862 TCP echo service of a replica
 * (axl-stackd --tcp-echo PORT): every byte received on a connection is sent
 * back on it; the peer's FIN is answered with ours once everything received
 * has been echoed.
 *
 * Call chain: replica.c (listener registry, AXL_REG_TCP_ECHO) ->
 * axl_svc_echo_open -> net/tcp.h listen; engine events (inside
 * axl_stack_poll) -> echo_new_conn / echo_pump -> axl_tcp_recv ->
 * axl_tcp_send (copy) -> axl_tcp_recv_done.
 */
#ifndef AXL_SVC_ECHO_H
#define AXL_SVC_ECHO_H

#include <stdint.h>

struct axl_stack;
struct axl_tcp_listener;

struct axl_svc_echo {
    struct axl_stack *s;
    struct axl_tcp_listener *l;
    uint64_t conns;  /* connections accepted */
    uint64_t bytes;  /* bytes echoed */
    uint32_t active; /* connections not yet closed */
};

/* Listen on `port` (host order). 0, AXL_EADDRINUSE, AXL_ENOMEM, AXL_EINVAL. */
int axl_svc_echo_open(struct axl_svc_echo *e, struct axl_stack *s, uint16_t port);
/* Stop listening; open connections stay with the engine (freed with it). */
void axl_svc_echo_close(struct axl_svc_echo *e);

#endif
