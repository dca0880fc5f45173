/* SPDX-License-Identifier: MIT */
/*
 * net/icmp.h - ICMP for IPv4 (RFC 792, RFC 1122 §3.2.2): echo replies, error
 * generation with the RFC 1122 §3.2.2 restrictions and a token-bucket rate
 * limit (RFC 1812 §4.3.2.8), and error reception passed to transports.
 *
 * Call chain: ipv4.c demux -> axl_icmp_input; ipv4.c/udp.c/arp.c ->
 * axl_icmp_send_error -> ipv4.c output (or local delivery when the offending
 * datagram was our own, e.g. ARP resolution failure).
 */
#ifndef AXL_NET_ICMP_H
#define AXL_NET_ICMP_H

#include <stdint.h>

#include "net/stack.h"

struct axl_stack;
struct axl_ipdg;

/** AXL_ICMP_RATE_DEFAULT: error messages per second (token refill rate). */
#define AXL_ICMP_RATE_DEFAULT 100u
/** Burst: the bucket holds rate / 2 tokens (at least 1): 50 by default. */
#define AXL_ICMP_BURST_DIV 2u
/** AXL_ICMP_QUOTE_MAX: an error message carries the offending datagram up to
 *  this many bytes in total (IP + ICMP + quote), RFC 1812 §4.3.2.3. */
#define AXL_ICMP_QUOTE_MAX 576u

struct axl_icmp_state {
    axl_icmp_echo_fn echo_fn; /* echo replies go here when set (axl-ping) */
    void *echo_arg;
    uint32_t rate;    /* tokens per second */
    uint32_t burst;   /* bucket size in tokens */
    uint64_t credit;  /* tokens * 1e9 (nanotoken resolution) */
    uint64_t last_ns; /* last refill */
};

void axl_icmp_init(struct axl_stack *s, uint32_t rate);

/* ICMP datagram for us. Consumes dg->head. */
void axl_icmp_input(struct axl_stack *s, struct axl_ipdg *dg);

/* Report a problem with datagram dg (not consumed) to its source: type/code
 * with `rest` in the second header word. Applies RFC 1122 §3.2.2 (no error
 * about an ICMP error, a broadcast/multicast, a non-initial fragment, or a
 * non-unicast source) and the rate limit. Returns 1 if sent (or delivered
 * locally), 0 if suppressed. */
int axl_icmp_send_error(struct axl_stack *s, const struct axl_ipdg *dg, uint8_t type, uint8_t code,
                        uint32_t rest);

#endif
