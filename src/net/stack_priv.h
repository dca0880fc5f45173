/* SPDX-License-Identifier: MIT */
/*
 * stack_priv.h - the engine's insides, shared by the modules of src/net only
 * (stack.c, arp.c, ipv4.c, icmp.c, udp.c, tcp*.c) and by white-box unit tests.
 * The public contract is stack.h.
 *
 * One struct axl_stack holds everything a replica owns: its port and pool,
 * addresses, the timer wheel, the TX batch, the counters and each protocol's
 * state. Every function on the packet path takes it explicitly.
 *
 * Packet conventions inside the engine:
 *  - RX: the port hands a frame with pkt->data at the Ethernet header.
 *  - Delivery to a transport is a struct axl_ipdg: the transport bytes are the
 *    concatenation of a pkt chain (linked by ->next), where each pkt's
 *    data/len has been narrowed to its slice of the transport bytes. An
 *    unfragmented datagram is a chain of one; a reassembled one is its
 *    fragments in order. The receiver owns the chain (frees it or keeps it).
 *  - TX: protocol code builds the transport header at pkt->data of a fresh
 *    pool buffer (which has AXL_POOL_HEADROOM before it); IPv4 prepends its
 *    header, the link layer (arp.c) prepends Ethernet, and axl_stack_xmit()
 *    queues the finished frame in the TX batch.
 */
#ifndef AXL_NET_STACK_PRIV_H
#define AXL_NET_STACK_PRIV_H

#include <stdint.h>

#include "core/pool.h"
#include "core/rand.h"
#include "core/timer.h"
#include "net/arp.h"
#include "net/icmp.h"
#include "net/ipv4.h"
#include "net/stack.h"
#include "net/stats.h"
#include "net/tcp_priv.h"
#include "net/udp.h"
#include "port/port.h"

/** AXL_RX_BURST: frames taken from the port per loop iteration. */
#define AXL_RX_BURST 32
/** AXL_TX_BATCH: frames collected before a tx_burst; a full batch is sent at
 *  once, a partial one at the end of the loop iteration. */
#define AXL_TX_BATCH 32
/** AXL_STACK_HEADROOM_MIN: pool headroom the engine needs to prepend
 *  Ethernet + IPv4 (+ a later TCP) headers without copying. */
#define AXL_STACK_HEADROOM_MIN 64
/** AXL_TICK_NS: timer wheel resolution. */
#define AXL_TICK_NS 1000000ull
/** AXL_SCRATCH_LEN: per-stack buffer for linearising a reassembled datagram
 *  (one IPv4 datagram at most). */
#define AXL_SCRATCH_LEN 65536u

_Static_assert(AXL_POOL_HEADROOM >= AXL_STACK_HEADROOM_MIN, "default pool headroom too small");
_Static_assert(AXL_TX_BATCH >= 1 && AXL_RX_BURST >= 1, "batch sizes");

/* l2 flags passed from the Ethernet demux to IPv4 input */
enum {
    AXL_L2_BCAST = 1u << 0, /* link-layer broadcast */
    AXL_L2_MCAST = 1u << 1, /* link-layer multicast (not broadcast) */
};

/* An IPv4 datagram handed to a transport (see the file comment). */
struct axl_ipdg {
    struct axl_pkt *head; /* chain of transport-byte slices; owned by the receiver */
    uint32_t len;         /* transport bytes in total */
    const uint8_t *iph;   /* IP header as received (fragment 0's when reassembled); lives in
                             head's buffer, valid while head is held */
    uint16_t iph_len;
    uint32_t src, dst; /* host order */
    uint8_t proto, ttl, tos;
    uint8_t to_bcast; /* destination was a broadcast address */
    uint8_t l2flags;  /* AXL_L2_* */
    uint8_t reasm;    /* reassembled from fragments */
};

struct axl_stack {
    struct axl_port *port;
    struct axl_pool *pool;
    uint8_t mac[6];
    uint32_t addr;      /* our address, host order */
    uint32_t mask;      /* prefix mask */
    uint32_t netbcast;  /* directed broadcast of our subnet (0 for /31, /32) */
    uint32_t gw;        /* default gateway or 0 */
    uint32_t mtu;       /* IP MTU in force */
    uint32_t max_frame; /* largest frame the port sends */
    uint64_t now_ns;    /* time of the current loop iteration (from the caller) */
    struct axl_rand rng;
    struct axl_timer_wheel tw;

    uint32_t ntx;     /* frames in txb */
    uint32_t tx_done; /* frames handed to the port this iteration */
    struct axl_pkt *txb[AXL_TX_BATCH];

    struct axl_stats stats;
    struct axl_arp_cache arp;
    struct axl_ipv4_state ip;
    struct axl_icmp_state icmp;
    struct axl_udp_state udp;
    struct axl_tcp_state tcp;
    uint8_t *scratch; /* AXL_SCRATCH_LEN bytes */
};

/* Queue a finished frame (pkt->data at the Ethernet header) for sending; sends
 * the batch when it is full. Consumes pkt (frames above max_frame are freed and
 * counted DropTxTooBig). Pads to the Ethernet minimum. */
void axl_stack_xmit(struct axl_stack *s, struct axl_pkt *pkt);
/* Hand the batch to the port now (frees and counts what it refuses). */
void axl_stack_tx_flush(struct axl_stack *s);

/* Is `a` a broadcast address for us (limited or our subnet's directed)? */
static inline int axl_stack_is_bcast(const struct axl_stack *s, uint32_t a)
{
    return a == 0xffffffffu || (s->netbcast && a == s->netbcast);
}

/* Chains of transport-byte slices (struct axl_ipdg). */
/* Copy up to n bytes starting at offset off; returns bytes copied. */
uint32_t axl_chain_copy(const struct axl_pkt *head, uint32_t off, void *dst, uint32_t n);
/* Partial Internet checksum of the first len bytes (any slice lengths). */
uint32_t axl_chain_csum(const struct axl_pkt *head, uint32_t len, uint32_t sum);
/* Keep only the first len bytes (len <= total); frees slices past the end. */
void axl_chain_trim(struct axl_pool *pool, struct axl_pkt *head, uint32_t len);
/* The transport bytes contiguous: head->data for a chain of one, else a copy
 * in s->scratch (valid until the next call). */
const uint8_t *axl_ipdg_linear(struct axl_stack *s, const struct axl_ipdg *dg);

#endif
