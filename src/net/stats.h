/* SPDX-License-Identifier: MIT */
/*
 * stats.h - the engine's counters, one X-macro list: SNMP/nstat-style
 * protocol counters first (names as `nstat` prints them, without the "Ip"/
 * "Udp" table prefix duplicated), then drops by reason (Drop*).
 *
 * Rule: every received frame that is freed without being consumed by a
 * protocol bumps exactly one Drop* counter at the place it is dropped; every
 * frame we build and cannot send bumps one too (DropNoBuf, DropTxRingFull, ...).
 *
 * Counters are plain uint64_t in struct axl_stack (single-threaded engine);
 * AXL_STAT_INC(s, Name) is one increment. axl_stack_stats_dump() and
 * axl_stack_stat() (stack.h) read them by name.
 *
 * Call chain: every net/ module -> AXL_STAT_INC; net/stack.c dump -> here.
 */
#ifndef AXL_NET_STATS_H
#define AXL_NET_STATS_H

#include <stdint.h>

#define AXL_STATS_LIST(X)                                                                          \
    /* IPv4 (RFC 4293 ipSystemStats names) */                                                      \
    X(IpInReceives)      /* datagrams handed to IPv4 input */                                      \
    X(IpInHdrErrors)     /* bad version, IHL, length, checksum, source */                          \
    X(IpInTruncatedPkts) /* frame shorter than the header or total length */                       \
    X(IpInAddrErrors)    /* not addressed to us */                                                 \
    X(IpInUnknownProtos) /* no handler for the protocol (incl. TCP until it exists) */             \
    X(IpInDelivers)      /* datagrams given to ICMP/UDP */                                         \
    X(IpInOptions)       /* datagrams that carried options (skipped, not honoured) */              \
    X(IpOutRequests)     /* datagrams our transports asked IPv4 to send */                         \
    X(IpOutNoRoutes)     /* no on-link route and no gateway */                                     \
    X(IpOutDiscards)     /* output dropped for lack of buffers */                                  \
    X(IpReasmReqds)      /* fragments received */                                                  \
    X(IpReasmOKs)        /* datagrams reassembled */                                               \
    X(IpReasmFails)      /* datagrams given up (overlap, timeout, memory, eviction) */             \
    X(IpReasmTimeout)    /* datagrams given up on timeout */                                       \
    X(IpFragOKs)         /* datagrams fragmented on output */                                      \
    X(IpFragFails)       /* datagrams too big with DF set */                                       \
    X(IpFragCreates)     /* fragments created */                                                   \
    /* ICMP */                                                                                     \
    X(IcmpInMsgs)                                                                                  \
    X(IcmpInErrors) /* bad checksum or truncated */                                                \
    X(IcmpInCsumErrors)                                                                            \
    X(IcmpInDestUnreachs) /* includes ones generated locally (ARP failure) */                      \
    X(IcmpInTimeExcds)                                                                             \
    X(IcmpInEchos)                                                                                 \
    X(IcmpInEchoReps)                                                                              \
    X(IcmpOutMsgs)                                                                                 \
    X(IcmpOutDestUnreachs)                                                                         \
    X(IcmpOutTimeExcds)                                                                            \
    X(IcmpOutEchos)                                                                                \
    X(IcmpOutEchoReps)                                                                             \
    X(IcmpOutRateLimited) /* errors suppressed by the token bucket */                              \
    /* UDP */                                                                                      \
    X(UdpInDatagrams)                                                                              \
    X(UdpNoPorts)                                                                                  \
    X(UdpInErrors)                                                                                 \
    X(UdpInCsumErrors)                                                                             \
    X(UdpRcvbufErrors)                                                                             \
    X(UdpInCsumPartial) /* checksum not verified: local peer used offload */                       \
    X(UdpOutDatagrams)                                                                             \
    /* ARP */                                                                                      \
    X(ArpInRequests)                                                                               \
    X(ArpInReplies)                                                                                \
    X(ArpOutRequests)                                                                              \
    X(ArpOutReplies)                                                                               \
    X(ArpOutGratuitous)  /* RFC 5227 announcements */                                              \
    X(ArpCacheEvictions) /* entries recycled because the cache was full */                         \
    X(ArpResolveFails)   /* entries that got no reply after all retries */                         \
    X(ArpAddrConflicts)  /* someone else claims our address (RFC 5227 §2.4) */                    \
    X(ArpGleaned)        /* entries learnt from an IPv4 frame's source MAC (NEAT) */               \
    /* Drops by reason: Ethernet */                                                                \
    X(DropEthTrunc)       /* shorter than 14 bytes */                                              \
    X(DropEth8023)        /* 802.3 length frame, not Ethernet II */                                \
    X(DropEthNotForUs)    /* unicast to another MAC, or multicast */                               \
    X(DropEthOwnSrc)      /* our own frame looped back */                                          \
    X(DropEthUnknownType) /* not IPv4/ARP (incl. 802.1Q, IPv6 for now) */                          \
    /* ARP */                                                                                      \
    X(DropArpTrunc)                                                                                \
    X(DropArpMalformed)       /* not htype 1/ptype 0x0800/6/4, or bad op */                        \
    X(DropArpBadSender)       /* multicast sender MAC or unusable sender IP */                     \
    X(DropArpNotForUs)        /* not targeting us and nothing to refresh */                        \
    X(DropArpPendingOverflow) /* packets awaiting resolution beyond the bound */                   \
    X(DropArpUnresolved)      /* pending packets dropped when resolution failed */                 \
    X(DropArpCacheFull)       /* every entry busy resolving, no room */                            \
    /* IPv4 input */                                                                               \
    X(DropIpTrunc)                                                                                 \
    X(DropIpBadVersion)                                                                            \
    X(DropIpBadIhl)                                                                                \
    X(DropIpBadLen)                                                                                \
    X(DropIpBadCsum)                                                                               \
    X(DropIpBadSrc) /* RFC 1122 §3.2.1.3 martian source */                                        \
    X(DropIpNotForUs)                                                                              \
    X(DropIpLinkBcast) /* unicast IP in a link broadcast, RFC 1122 §3.3.6 */                      \
    X(DropIpNoTcp)     /* TCP segment: no TCP yet, answered protocol-unreachable */                \
    X(DropIpUnknownProto)                                                                          \
    /* IPv4 reassembly */                                                                          \
    X(DropIpFragOverlap)   /* overlap or inconsistent length: whole datagram dropped */            \
    X(DropIpFragDup)       /* exact duplicate fragment */                                          \
    X(DropIpFragBadOffset) /* offset + length > 65535 */                                           \
    X(DropIpFragBadLen)    /* empty, or not a multiple of 8 with MF set */                         \
    X(DropIpFragTooBig)    /* more fragments than AXL_REASM_MAX_FRAGS */                           \
    X(DropIpFragPoisoned)  /* fragment of a datagram already discarded */                          \
    X(DropIpReasmMem)      /* fragments freed to respect reasm_max_bytes */                        \
    X(DropIpReasmEvict)    /* fragments freed to make room for a new datagram */                   \
    X(DropIpReasmTimeout)  /* fragments freed on timeout */                                        \
    /* ICMP */                                                                                     \
    X(DropIcmpTrunc)                                                                               \
    X(DropIcmpBadCsum)                                                                             \
    X(DropIcmpBcastEcho)   /* echo to broadcast: RFC 1122 §3.2.2.6 MAY discard */                 \
    X(DropIcmpBadQuote)    /* error message quoting something that is not ours */                  \
    X(DropIcmpUnsupported) /* types we do not act on (timestamp, redirect, ...) */                 \
    X(DropIcmpEchoReply)   /* echo replies: no ping client in the engine */                        \
    /* UDP */                                                                                      \
    X(DropUdpTrunc)                                                                                \
    X(DropUdpBadLen)                                                                               \
    X(DropUdpBadCsum)                                                                              \
    X(DropUdpNoPort)                                                                               \
    X(DropUdpRcvbuf)                                                                               \
    /* Output */                                                                                   \
    X(DropNoBuf) /* pool empty when building a frame */                                            \
    X(DropNoRoute)                                                                                 \
    X(DropTxRingFull) /* port refused the frame */                                                 \
    X(DropTxTooBig)   /* frame above the port's max_frame (never sent) */

enum axl_stat_id {
#define AXL_STAT_ENUM_(name) AXL_STAT_##name,
    AXL_STATS_LIST(AXL_STAT_ENUM_)
#undef AXL_STAT_ENUM_
        AXL_STAT__COUNT
};

struct axl_stats {
    uint64_t v[AXL_STAT__COUNT];
};

#define AXL_STAT_INC(s, name)    ((s)->stats.v[AXL_STAT_##name]++)
#define AXL_STAT_ADD(s, name, n) ((s)->stats.v[AXL_STAT_##name] += (n))
#define AXL_STAT_GET(s, name)    ((s)->stats.v[AXL_STAT_##name])

/* Name of counter id (NULL if out of range). */
const char *axl_stat_name(unsigned id);
/* Id of a counter name, or -1. O(number of counters); not for the packet path. */
int axl_stat_id(const char *name);

#endif
