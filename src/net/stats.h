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
    X(IpInUnknownProtos) /* no handler for the protocol */                                         \
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
    /* TCP (RFC 4022 tcp* names as nstat prints them) */                                           \
    X(TcpActiveOpens)  /* SYN-SENT entered from CLOSED (connect) */                                \
    X(TcpPassiveOpens) /* SYN-RECEIVED entered from LISTEN (incl. SYN-cookie ACKs) */              \
    X(TcpAttemptFails) /* SYN-SENT/SYN-RECEIVED -> CLOSED (or back to LISTEN) */                   \
    X(TcpEstabResets)  /* ESTABLISHED/CLOSE-WAIT -> CLOSED by an error (RST, timeout) */           \
    X(TcpCurrEstab)    /* gauge: connections in ESTABLISHED or CLOSE-WAIT now */                   \
    X(TcpInSegs)       /* segments received, errors included */                                    \
    X(TcpOutSegs)      /* segments sent, retransmissions included */                               \
    X(TcpRetransSegs)  /* segments retransmitted */                                                \
    X(TcpInErrs)       /* segments with a bad header, options or checksum */                       \
    X(TcpOutRsts)      /* segments sent with RST */                                                \
    X(TcpInCsumErrors)                                                                             \
    X(TcpInCsumPartial) /* checksum not verified: local peer used offload */                       \
    /* TCP, TcpExt-style (Linux nstat TcpExt* names where one exists) */                           \
    X(TcpSynCookiesSent)      /* SYN-ACKs with a cookie (SYN queue full) */                        \
    X(TcpSynCookiesRecv)      /* valid cookie ACKs: connections established */                     \
    X(TcpSynCookiesFailed)    /* ACKs to a listener whose cookie did not check */                  \
    X(TcpListenOverflows)     /* SYNs or final ACKs refused: accept queue full */                  \
    X(TcpSynDataDropped)      /* data on a SYN, not acknowledged (no TFO; the peer resends) */     \
    X(TcpChallengeAcks)       /* RFC 5961 challenge ACKs sent */                                   \
    X(TcpChallengeAckLimited) /* ... suppressed by the per-second limit (RFC 5961 §7) */          \
    X(TcpSynChallenge)        /* SYNs in a synchronized state answered with a challenge */         \
    X(TcpOowRateLimited)      /* duplicate ACKs to out-of-window segments suppressed */            \
    X(TcpPawsEstabRejected)   /* RFC 7323 PAWS: old timestamps rejected */                         \
    X(TcpZeroWindowDrops)     /* data beyond a zero receive window (probes), ACK processed */      \
    X(TcpToZeroWindowAdv)     /* we advertised a zero window (the application lags) */             \
    X(TcpFromZeroWindowAdv)   /* ... and opened it again */                                        \
    X(TcpDelayedAcks)         /* ACKs sent by the delayed-ACK timer */                             \
    X(TcpTimeouts)            /* retransmission timer expirations (SYN ones included) */           \
    X(TcpFastRetrans)         /* fast retransmits (recovery entries) */                            \
    X(TcpRenoRecovery)        /* NewReno fast recoveries (RFC 6582) */                             \
    X(TcpSackRecovery)        /* SACK loss recoveries (RFC 6675) */                                \
    X(TcpDsackRecv)           /* D-SACK blocks received (RFC 2883) */                              \
    X(TcpSackReneging)        /* the peer discarded data it had SACKed */                          \
    X(TcpOfoQueue)            /* segments held out of order */                                     \
    X(TcpWinProbes)           /* zero-window probes sent */                                        \
    X(TcpKeepAliveProbes)     /* keep-alive probes sent */                                         \
    X(TcpKeepAliveTimeouts)   /* connections closed by keep-alive */                               \
    X(TcpAbortOnTimeout)      /* connections given up after retransmissions/probes */              \
    X(TcpAbortOnClose)        /* closed with unread data: reset */                                 \
    X(TcpAbortOnData)         /* data after close: reset */                                        \
    X(TcpTimeWaitReused)      /* TIME-WAIT connections reopened by a new SYN (RFC 6191) */         \
    X(TcpUrgRcvd)             /* segments with URG (delivered inline, RFC 6093) */                 \
    X(TcpIcmpSoftErrors)      /* ICMP errors kept as a connection's soft error (RFC 5461) */       \
    X(TcpIcmpHardAborts)      /* handshakes aborted by an ICMP hard error (RFC 1122 §4.2.3.9) */  \
    X(TcpPmtuUpdates)         /* send MSS lowered by fragmentation-needed (RFC 1191) */            \
    X(TcpLostRetransmit)      /* retransmissions found lost by later data's SACKs, resent */       \
    /* pre-packetised objects (net/tcp_prepkt.h) */                                                \
    X(TcpObjSegsTemplate) /* object segments sent from their pre-built template */                  \
    X(TcpObjSegsRebuilt)  /* object bytes sent off a template boundary: built from the bytes */     \
    X(TcpObjSegsFallback) /* object bytes on a connection whose MSS is below the templates' */      \
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
    /* TCP: each discarded segment counts once, at its reason. A segment whose                     \
       control part was processed but whose data was discarded counts too. */                      \
    X(DropTcpTrunc)   /* shorter than its header */                                                \
    X(DropTcpBadHdr)  /* data offset below 5 or past the end, port 0 */                            \
    X(DropTcpBadOpts) /* malformed options (wire/tcp.h) */                                         \
    X(DropTcpBadCsum)                                                                              \
    X(DropTcpBcast)          /* to a broadcast/multicast address (RFC 1122 §4.2.3.10) */          \
    X(DropTcpNoSocket)       /* closed port: answered with RST (RFC 9293 §3.10.7.1) */            \
    X(DropTcpListenRst)      /* RST to a listener: ignored */                                      \
    X(DropTcpListenAck)      /* ACK to a listener (no valid cookie): answered with RST */          \
    X(DropTcpListenNoSyn)    /* neither SYN, ACK nor RST to a listener */                          \
    X(DropTcpListenOverflow) /* accept queue full */                                               \
    X(DropTcpNoMem)          /* no TCB: the engine holds tcp_max_conns */                          \
    X(DropTcpSynSentBadAck)  /* SYN-SENT: unacceptable ACK, answered with RST */                   \
    X(DropTcpSynSentRst)     /* SYN-SENT: RST without an acceptable ACK */                         \
    X(DropTcpSynSentNoSyn)   /* SYN-SENT: neither SYN nor RST */                                   \
    X(DropTcpDupSyn)         /* SYN-RECEIVED: the peer's SYN again, SYN-ACK resent */              \
    X(DropTcpSynRcvdBadAck)  /* SYN-RECEIVED: unacceptable ACK, answered with RST */               \
    X(DropTcpSynRcvdSyn)     /* SYN-RECEIVED (passive): a new SYN: back to LISTEN */               \
    X(DropTcpNoTs)           /* timestamps negotiated, segment without (RFC 7323 §3.2) */         \
    X(DropTcpPaws)           /* PAWS (RFC 7323 §5) */                                             \
    X(DropTcpOutOfWindow)    /* unacceptable sequence number: duplicate ACK sent */                \
    X(DropTcpRstOutOfWindow) /* RST outside the window */                                          \
    X(DropTcpRstChallenge)   /* RST in the window, not at RCV.NXT: challenge ACK (RFC 5961) */     \
    X(DropTcpSynChallenge)   /* SYN in a synchronized state: challenge ACK (RFC 5961) */           \
    X(DropTcpNoAck)          /* no ACK bit in a synchronized state */                              \
    X(DropTcpAckInvalid)     /* ACK outside [SND.UNA - MAX.SND.WND, SND.NXT] (RFC 5961 §5) */     \
    X(DropTcpAfterClose)     /* data after the application closed: RST */                          \
    X(DropTcpDataAfterFin)   /* data after the peer's FIN */                                       \
    X(DropTcpOfo)            /* out-of-order queue refused the segment (memory bound) */           \
    X(DropTcpTimeWait)       /* consumed in TIME-WAIT (retransmitted FIN, ACKed) */                \
    X(DropTcpTimeWaitRst)    /* RST in TIME-WAIT: ignored (RFC 1337) */                            \
    X(DropTcpIcmpNoConn)     /* ICMP error quoting a segment of no connection (or TIME-WAIT) */   \
    X(DropTcpIcmpOutOfWindow) /* ... whose quoted sequence number is not in flight (RFC 5927) */ \
    X(DropTcpIcmpPmtu)       /* fragmentation-needed that would not lower the send MSS */          \
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
