/* SPDX-License-Identifier: MIT */
/*
 * steer.h - partitioning traffic between replicas: the symmetric RSS hash,
 * queue selection, and the source-port picker for active opens.
 *
 * The hash is Toeplitz (Microsoft RSS, "Verifying the RSS Hash Calculation")
 * over the IPv4 4-tuple, exactly as an RSS NIC computes it:
 *
 *     input = saddr(4) | daddr(4) | sport(2) | dport(2)     network byte order
 *     hash  = XOR over every set input bit i of key[i .. i+31] (32-bit window)
 *
 * With the symmetric key 0x6d5a repeated (Woo & Park, "Scalable TCP Session
 * Monitoring with Symmetric Receive-side Scaling", 2012) the key has a period
 * of 16 bits, so swapping the addresses (32-bit fields) and the ports (16-bit
 * fields) leaves every window unchanged: both directions of a flow hash to the
 * same value, so a flow and its replies land on the same queue. The price of
 * the periodic key is that the hash only depends on the XOR of the six 16-bit
 * words of the tuple (axl_steer_fold); that is enough to spread flows, not to
 * resist an adversary choosing ports (a NIC with this key has the same limit).
 *
 * Queue selection is a NIC redirection table of 128 entries filled in
 * equal blocks (entry i -> queue i * n / 128; `ethtool -X IF equal n` fills
 * i % n instead, equally valid):
 *
 *     queue = ((hash & 127) * nqueues) >> 7
 *
 * The block fill is what the kernel's own transmit-queue pick computes
 * (reciprocal_scale(skb->hash, n) = (hash * n) >> 32) when the tc emulation
 * puts the 7-bit table index in the top bits of skb->hash, so that program
 * needs no queue count.
 *
 * Users: the tc program that emulates RSS on the kernel peer of a veth
 * (tests/bpf/steer_rss.bpf.c, same key and table), the director
 * (src/stackd/director.c) for RX, and TCP's ephemeral port choice
 * (src/net/tcp.c pick_port -> axl_steer_port_ok) so that replies to a
 * connection a replica opened come back to that replica.
 */
#ifndef AXL_STEER_STEER_H
#define AXL_STEER_STEER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/** AXL_STEER_KEY_LEN: bytes of a Toeplitz key (40, as NICs take). A 4-tuple
 *  needs 12 + 4 of them. */
#define AXL_STEER_KEY_LEN 40
/** AXL_STEER_RETA_SIZE: entries of the emulated redirection table. */
#define AXL_STEER_RETA_SIZE 128u /* the ">> 7" in axl_steer_queue */
/** AXL_STEER_MAX_QUEUES: largest queue count the picker and director handle. */
#define AXL_STEER_MAX_QUEUES 64u

/* The symmetric key (0x6d, 0x5a repeated). */
extern const uint8_t axl_steer_sym_key[AXL_STEER_KEY_LEN];
/* Microsoft's default RSS key (for the published test vectors). */
extern const uint8_t axl_steer_ms_key[AXL_STEER_KEY_LEN];

/* Toeplitz hash of `len` bytes (len <= AXL_STEER_KEY_LEN - 4) under `key`. */
uint32_t axl_toeplitz(const uint8_t *key, const uint8_t *data, size_t len);

/* Toeplitz of the IPv4 4-tuple (host-order arguments) under `key`. */
uint32_t axl_steer_hash4_key(const uint8_t *key, uint32_t saddr, uint32_t daddr, uint16_t sport,
                             uint16_t dport);

/* The XOR of the six 16-bit words of the tuple: under the symmetric key the
 * hash is a function of this alone (axl_steer_sym_fold_hash). */
static inline uint16_t axl_steer_fold(uint32_t saddr, uint32_t daddr, uint16_t sport,
                                      uint16_t dport)
{
    return (uint16_t)((saddr >> 16) ^ saddr ^ (daddr >> 16) ^ daddr ^ sport ^ dport);
}
/* Toeplitz under the symmetric key of a folded tuple (16 table lookups'
 * worth of shifts; what the director runs per frame). */
uint32_t axl_steer_sym_fold_hash(uint16_t fold);

/* Symmetric hash of a 4-tuple (either direction gives the same value). */
static inline uint32_t axl_steer_hash4(uint32_t saddr, uint32_t daddr, uint16_t sport,
                                       uint16_t dport)
{
    return axl_steer_sym_fold_hash(axl_steer_fold(saddr, daddr, sport, dport));
}

/* Redirection-table lookup: the queue a hash lands on (nqueues >= 1). */
static inline uint32_t axl_steer_queue(uint32_t hash, uint32_t nqueues)
{
    return nqueues > 1 ? ((hash & (AXL_STEER_RETA_SIZE - 1)) * nqueues) >> 7 : 0;
}

/* Does the flow (laddr:lport <-> raddr:rport) land on queue `q` of `n`?
 * The port picker's test (RFC 6056 ports are still chosen by the usual
 * algorithm; ports that would land elsewhere are skipped). 1 when n <= 1. */
static inline int axl_steer_port_ok(uint32_t laddr, uint32_t raddr, uint16_t lport,
                                    uint16_t rport, uint32_t q, uint32_t n)
{
    return n <= 1 || axl_steer_queue(axl_steer_hash4(laddr, raddr, lport, rport), n) == q;
}

/* ---- the live redirection table (the director's, port/dirport.h) ----------
 * Behind the director the table is not fixed: `axlctl scale N` refills it
 * over N active replicas (the same block fill as axl_steer_queue over N),
 * like `ethtool -X IF equal N` on a NIC. owner[b] is the replica that gets
 * NEW flows of bucket b = (hash & 127); prev[b] is set while b drains
 * after a move (other replicas still hold connections of it): the replica
 * its older connections' segments go to (AXL_STEER_NONE: not draining). The
 * director writes it (gen bumped with a release store after every change);
 * replicas only read it. Values read from it are untrusted (another
 * process's memory): an entry >= the replica count means "nobody". */
#define AXL_STEER_NONE 0xffu
struct axl_steer_reta {
    _Atomic uint32_t gen;     /* bumped (release) after every change */
    _Atomic uint32_t nactive; /* replicas that own buckets (1..nrep) */
    _Atomic uint8_t owner[AXL_STEER_RETA_SIZE];
    _Atomic uint8_t prev[AXL_STEER_RETA_SIZE];
};

/* The owner of bucket b when n replicas are active (block fill). */
static inline uint32_t axl_steer_reta_fill(uint32_t b, uint32_t n)
{
    return n > 1 ? ((b & (AXL_STEER_RETA_SIZE - 1)) * n) >> 7 : 0;
}

/* The live-table port test: the flow's bucket is q's for new flows and no
 * other replica still drains it (replies to our SYN are not pure SYNs, and
 * a draining bucket's non-SYN segments go to its previous owner). */
static inline int axl_steer_reta_port_ok(const struct axl_steer_reta *r, uint32_t laddr,
                                         uint32_t raddr, uint16_t lport, uint16_t rport, uint32_t q)
{
    uint32_t b = axl_steer_hash4(laddr, raddr, lport, rport) & (AXL_STEER_RETA_SIZE - 1);
    return atomic_load_explicit(&r->owner[b], memory_order_relaxed) == q &&
           atomic_load_explicit(&r->prev[b], memory_order_relaxed) == AXL_STEER_NONE;
}

/* Does q own at least one bucket it may open connections in? */
static inline int axl_steer_reta_any(const struct axl_steer_reta *r, uint32_t q)
{
    for (uint32_t b = 0; b < AXL_STEER_RETA_SIZE; b++)
        if (atomic_load_explicit(&r->owner[b], memory_order_relaxed) == q &&
            atomic_load_explicit(&r->prev[b], memory_order_relaxed) == AXL_STEER_NONE)
            return 1;
    return 0;
}

/* Frame classification for steering (the director): the hash of an Ethernet
 * frame carrying IPv4 TCP or UDP (first fragment or unfragmented), or of the
 * address pair only for other IPv4 (later fragments: ports unknown; ICMP).
 * Returns 1 and sets *hash for IPv4, 0 for anything else (ARP, IPv6...).
 * Reads only within `len` bytes. */
int axl_steer_frame_hash(const uint8_t *frame, uint32_t len, uint32_t *hash);

/* The TCP details the director's migration rule needs (director_core.c):
 * like axl_steer_frame_hash, and *tcp_flags = the TCP flags byte of an
 * unfragmented TCP segment (-1 for anything else), the 4-tuple in *tuple
 * (saddr, daddr, sport << 16 | dport) when it is TCP. */
int axl_steer_frame_tcp(const uint8_t *frame, uint32_t len, uint32_t *hash, int *tcp_flags,
                        uint32_t tuple[3]);

#endif
