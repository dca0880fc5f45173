/* SPDX-License-Identifier: MIT */
/*
 * net/ipv4.h - IPv4 input (validation, address filtering, reassembly, demux
 * to ICMP/UDP), routing and output (with fragmentation). RFC 791,
 * RFC 1122 §3.2.1, RFC 815.
 *
 * Reassembly (RFC 791 §3.2, RFC 815): at most AXL_REASM_MAX_DGRAMS datagrams
 * in progress, at most AXL_REASM_MAX_FRAGS fragments each, at most
 * reasm_max_bytes of buffers held (each held fragment costs one pool buffer,
 * buf_size bytes, whatever its length; the bound is also capped at half the
 * pool so fragments can never starve reception), and reasm_timeout_ms per
 * datagram. Overlaps are not merged: any overlap that is not an exact
 * duplicate discards the whole datagram (the RFC 5722 policy, applied to
 * IPv4), and later fragments of it are discarded until its timer runs out.
 *
 * Call chain: stack.c demux -> axl_ipv4_input -> (reassembly) -> icmp/udp
 * input; icmp.c/udp.c -> axl_ipv4_output(_pkt) -> arp.c link output.
 */
#ifndef AXL_NET_IPV4_H
#define AXL_NET_IPV4_H

#include <stdint.h>

#include "core/pool.h"
#include "core/timer.h"

struct axl_stack;
struct axl_ipdg;

/** AXL_REASM_MAX_DGRAMS: datagrams reassembled concurrently; a new one past
 *  this evicts the oldest (counted DropIpReasmEvict). */
#define AXL_REASM_MAX_DGRAMS 64u
/** AXL_REASM_MAX_FRAGS: fragments per datagram (64 x 1480 bytes covers the
 *  64 KiB maximum at MTU 1500); more discards the datagram (DropIpFragTooBig). */
#define AXL_REASM_MAX_FRAGS 64u
/** AXL_REASM_TIMEOUT_MS_DEFAULT: reassembly lifetime (Linux ipfrag_time). */
#define AXL_REASM_TIMEOUT_MS_DEFAULT 30000u
/** AXL_REASM_MAX_BYTES_DEFAULT: buffer memory reassembly may hold. */
#define AXL_REASM_MAX_BYTES_DEFAULT (4u << 20)
/** AXL_IP_TTL_DEFAULT: TTL of datagrams we originate (RFC 1700 suggests 64). */
#define AXL_IP_TTL_DEFAULT 64u

enum axl_reasm_state {
    AXL_REASM_FREE = 0,
    AXL_REASM_ACTIVE,
    AXL_REASM_POISONED, /* discarded; swallow its fragments until the timer */
};

struct axl_reasm_frag {
    struct axl_pkt *pkt; /* data/len narrowed to the fragment's payload */
    uint16_t off;        /* payload offset in the datagram, bytes */
    uint16_t len;
};

struct axl_reasm {
    uint8_t state;
    uint8_t proto;
    uint8_t have_last;
    uint8_t first_idx_valid; /* fragment at offset 0 present */
    uint16_t id;
    uint16_t nfrags;
    uint32_t src, dst;
    uint32_t total;   /* payload length, known once the last fragment came */
    uint32_t covered; /* payload bytes held (no overlaps, so sum of lens) */
    uint64_t started_ns;
    /* header fields of fragment 0 */
    const uint8_t *iph;
    uint16_t iph_len;
    uint8_t ttl, tos, to_bcast, l2flags;
    struct axl_timer timer;
    struct axl_reasm_frag frags[AXL_REASM_MAX_FRAGS]; /* sorted by offset */
};

struct axl_ipv4_state {
    uint16_t next_id;
    uint32_t nactive;    /* reassembly slots not FREE */
    uint64_t reasm_held; /* bytes of buffers held by reassembly */
    uint64_t reasm_max;  /* bound on reasm_held */
    uint64_t reasm_timeout_ns;
    struct axl_reasm *reasm; /* AXL_REASM_MAX_DGRAMS slots */
};

/* How to send a datagram. */
struct axl_ipv4_out {
    uint32_t dst; /* host order */
    uint8_t proto;
    uint8_t ttl; /* 0 = AXL_IP_TTL_DEFAULT */
    uint8_t tos;
    uint8_t df; /* set DF: never fragment, AXL_EMSGSIZE if too big */
};

int axl_ipv4_init(struct axl_stack *s, uint32_t reasm_timeout_ms, uint32_t reasm_max_bytes);
void axl_ipv4_fini(struct axl_stack *s);

/* Input of an Ethernet frame of type 0x0800; the IP header starts at
 * pkt->data + l3_off. Consumes pkt. */
void axl_ipv4_input(struct axl_stack *s, struct axl_pkt *pkt, uint32_t l3_off, unsigned l2flags);

/* Next hop for dst: dst itself when on-link (or broadcast), else the gateway.
 * 0 or AXL_EHOSTUNREACH. */
int axl_ipv4_route(const struct axl_stack *s, uint32_t dst, uint32_t *nexthop);

/* Send hdr||data (copied into pool buffers), fragmenting when it exceeds the
 * MTU. The transport checksum must already be in hdr. Returns 0,
 * AXL_EMSGSIZE, AXL_ENOBUFS or AXL_EHOSTUNREACH. */
int axl_ipv4_output(struct axl_stack *s, const struct axl_ipv4_out *o, const uint8_t *hdr,
                    uint32_t hlen, const uint8_t *data, uint32_t dlen);
/* Send the transport bytes at pkt->data (pkt->len of them) without copying
 * when they fit the MTU; else as axl_ipv4_output. Consumes pkt. */
int axl_ipv4_output_pkt(struct axl_stack *s, const struct axl_ipv4_out *o, struct axl_pkt *pkt);

#endif
