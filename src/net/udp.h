/* SPDX-License-Identifier: MIT */
/*
 * net/udp.h - UDP (RFC 768, RFC 1122 §4.1): sockets bound by local port in a
 * direct-indexed table (O(1) demux), bounded zero-copy receive queues, sendto
 * with fragmentation. The API is in stack.h.
 *
 * Call chain: ipv4.c demux -> axl_udp_input -> socket queue or callback;
 * application -> axl_udp_sendto -> ipv4.c output; icmp.c -> axl_udp_err.
 */
#ifndef AXL_NET_UDP_H
#define AXL_NET_UDP_H

#include <stdint.h>

#include "core/pool.h"
#include "net/stack.h"

struct axl_stack;
struct axl_ipdg;

/** AXL_UDP_RCVQ_DEFAULT: datagrams a socket queues before dropping
 *  (UdpRcvbufErrors). Queued datagrams hold their pool buffers (zero copy). */
#define AXL_UDP_RCVQ_DEFAULT 256u
/** Ephemeral ports (RFC 6335 §6, IANA dynamic range). */
#define AXL_UDP_EPHEMERAL_LO 49152u
#define AXL_UDP_EPHEMERAL_HI 65535u

struct axl_udp_dgram {
    struct axl_pkt *head; /* payload slices */
    uint32_t len;
    uint32_t saddr;
    uint16_t sport;
};

struct axl_udp_sock {
    struct axl_stack *s;
    uint16_t port;
    axl_udp_recv_fn cb;
    void *arg;
    int err; /* pending error from ICMP, reported once by recvfrom */
    uint32_t qcap, qhead, qlen;
    struct axl_udp_dgram *q;          /* ring of qcap */
    struct axl_udp_sock *next, *prev; /* all sockets of the stack */
};

struct axl_udp_state {
    struct axl_udp_sock **by_port; /* 65536 entries */
    struct axl_udp_sock *all;
};

int axl_udp_init(struct axl_stack *s);
void axl_udp_fini(struct axl_stack *s);

/* UDP datagram for us. Consumes dg->head. */
void axl_udp_input(struct axl_stack *s, struct axl_ipdg *dg);
/* An ICMP error about a datagram we sent from local port `sport`. */
void axl_udp_err(struct axl_stack *s, uint16_t sport, int err);

#endif
