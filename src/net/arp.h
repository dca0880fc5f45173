/* SPDX-License-Identifier: MIT */
/*
 * net/arp.h - the ARP cache and the Ethernet link output for IPv4 (RFC 826,
 * RFC 1122 §2.3.2, RFC 5227 announcements).
 *
 * Entries live in a fixed array (AXL_ARP_CACHE_SIZE) indexed by a hash table
 * on the IPv4 address. States:
 *
 *   (none) --output miss--> INCOMPLETE --reply/request from it--> REACHABLE
 *   INCOMPLETE --AXL_ARP_RETRIES requests unanswered--> (none): pending packets
 *        dropped, each answered by a local ICMP host unreachable
 *   REACHABLE --reachable lifetime (arp_timeout_ms, default 60 s)--> STALE
 *   STALE --used for output--> still used, re-confirmed by unicast requests
 *        (RFC 1122 §2.3.2.1 "unicast poll"); no answer after AXL_ARP_RETRIES -> (none)
 *   STALE --unused for another lifetime--> (none)
 *   any --ARP from that address (RFC 826 merge)--> REACHABLE
 *
 * While INCOMPLETE, up to AXL_ARP_PENDING_MAX packets wait on the entry (RFC
 * 1122 §2.3.2.2 asks for at least one) and at most AXL_ARP_PENDING_TOTAL over
 * the whole cache; the rest are dropped and counted DropArpPendingOverflow.
 *
 * Call chain: stack.c demux -> axl_arp_input; ipv4.c output ->
 * axl_arp_output -> axl_stack_xmit; timer wheel -> entry timers.
 */
#ifndef AXL_NET_ARP_H
#define AXL_NET_ARP_H

#include <stdint.h>

#include "core/hash.h"
#include "core/pool.h"
#include "core/timer.h"

struct axl_stack;

/** AXL_ARP_CACHE_SIZE: entries in the cache (a power of two). When full, the
 *  least recently updated resolved entry is recycled (an O(n) scan, only on a
 *  miss with a full cache). */
#define AXL_ARP_CACHE_SIZE 256u
/** AXL_ARP_PENDING_MAX: packets queued on one unresolved entry (>= 1,
 *  RFC 1122 §2.3.2.2). 64 holds a 64 KiB datagram fragmented at MTU 1500. */
#define AXL_ARP_PENDING_MAX 64u
/** AXL_ARP_PENDING_TOTAL: packets queued on all unresolved entries together,
 *  so unresolvable destinations cannot drain the buffer pool. */
#define AXL_ARP_PENDING_TOTAL 512u
/** AXL_ARP_RETRIES: requests sent before giving up (RFC 1122 §2.3.2.1). */
#define AXL_ARP_RETRIES 3u
/** AXL_ARP_RETRANS_MS: interval between requests for one address (at most
 *  one per second per destination, RFC 1122 §2.3.2.1). */
#define AXL_ARP_RETRANS_MS 1000u
/** AXL_ARP_REACHABLE_MS_DEFAULT: lifetime of a confirmed entry. */
#define AXL_ARP_REACHABLE_MS_DEFAULT 60000u

_Static_assert((AXL_ARP_CACHE_SIZE & (AXL_ARP_CACHE_SIZE - 1)) == 0, "cache size: power of two");
_Static_assert(AXL_ARP_PENDING_MAX >= 1, "RFC 1122 2.3.2.2: keep at least one packet");
_Static_assert(AXL_ARP_PENDING_TOTAL >= AXL_ARP_PENDING_MAX, "pending bounds");

enum axl_arp_state {
    AXL_ARP_FREE = 0,
    AXL_ARP_INCOMPLETE,
    AXL_ARP_REACHABLE,
    AXL_ARP_STALE,
};

struct axl_arp_entry {
    struct axl_hnode hnode;
    uint32_t ip; /* host order */
    uint8_t mac[6];
    uint8_t state;   /* enum axl_arp_state */
    uint8_t tries;   /* requests sent in the current resolution or probe */
    uint8_t probing; /* STALE entry being re-confirmed */
    uint16_t npend;
    struct axl_pkt *pend_head, *pend_tail; /* frames waiting, data at the IP header */
    uint64_t updated_ns;                   /* last confirmation */
    struct axl_timer timer;
};

struct axl_arp_cache {
    struct axl_arp_entry *entries; /* AXL_ARP_CACHE_SIZE */
    uint32_t *free_idx;            /* stack of free entry indices */
    uint32_t nfree;
    uint32_t npend_total;
    uint64_t reachable_ns;
    struct axl_htab tab;
};

int axl_arp_init(struct axl_stack *s, uint32_t reachable_ms); /* 0 / AXL_ENOMEM */
void axl_arp_fini(struct axl_stack *s);

/* A frame of type 0x0806; pkt->data at the Ethernet header. Consumes pkt. */
void axl_arp_input(struct axl_stack *s, struct axl_pkt *pkt);
/* Send an IPv4 packet (pkt->data at its IP header) to next hop `nexthop`:
 * broadcast/multicast map directly; otherwise resolve, queueing while
 * unresolved. Consumes pkt. 0 when sent or queued, AXL_ENOBUFS when dropped. */
int axl_arp_output(struct axl_stack *s, struct axl_pkt *pkt, uint32_t nexthop);
/* Broadcast an ARP announcement for our address (RFC 5227 §2.3). */
void axl_arp_announce(struct axl_stack *s);
/* Learn (glean) `mac` for on-link `ip` from an IPv4 datagram addressed to us
 * when we hold no usable entry for it. Each queue's engine keeps its own
 * cache and an ARP reply reaches only the queue it lands on, so the engines
 * of a multi-queue port learn their peers from the traffic itself (NEAT §5:
 * replicas fill their ARP tables from matching Ethernet and IP addresses).
 * Never for off-link sources (their frames carry the router's MAC). */
void axl_arp_glean(struct axl_stack *s, uint32_t ip, const uint8_t *mac);

/* Introspection for tests and tools: the entry for ip, or NULL. */
const struct axl_arp_entry *axl_arp_lookup(const struct axl_stack *s, uint32_t ip);

#endif
