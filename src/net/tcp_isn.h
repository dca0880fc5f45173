/* SPDX-License-Identifier: MIT */
/*
 * tcp_isn.h - initial sequence numbers (RFC 6528) and SYN cookies
 * (RFC 4987 §3.6).
 *
 * ISN (RFC 6528 §3, RFC 9293 §3.4.1):
 *
 *     ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
 *
 * M is a 32-bit timer that ticks every 4 µs (it wraps in ~4.8 hours), taken
 * from the caller's now_ns: nothing here reads a clock. F is SipHash-2-4
 * (axl_siphash24) of the 4-tuple keyed by 128 secret bits, truncated to 32
 * bits. Successive ISNs of one 4-tuple therefore advance with time like
 * RFC 9293's clock, while an off-path attacker cannot predict another tuple's.
 * The key is never rotated (rotation would break the per-tuple monotonicity
 * that protects TIME_WAIT reuse); a supervisor that keeps one secret across
 * replica restarts keeps ISNs monotonic across restarts too.
 *
 * SYN cookies: when the SYN queue is full, a listener answers a SYN with a
 * SYN-ACK whose ISN encodes what it must remember, and keeps no state. The
 * third segment (the ACK) brings it back as ack - 1. Layout of the cookie:
 *
 *    31  30 29     27 26                                          0
 *   | ctr  | mss idx |                 MAC (27 bits)                |
 *
 *   ctr      the low 2 bits of the counter now_ns / 64 s. A cookie is
 *            accepted in its own period and the next one (64 to 128 s after
 *            it was made); periods 2 and 3 later are refused outright, 4 and
 *            later alias to a counter the MAC no longer matches.
 *   mss idx  index into the table below: the largest entry <= the MSS the
 *            SYN offered (536 when it offered none, RFC 9293 §3.7.1, or less
 *            than 536: every IPv4 host accepts 576-byte datagrams, RFC 1122
 *            §3.3.3, so the error is bounded).
 *   MAC      low 27 bits of SipHash-2-4 under a key separate from the ISN
 *            key, over the 4-tuple, the peer's ISN, the full counter, the mss
 *            index and the option byte below. A forged cookie passes with
 *            probability 2^-27 per try (x 1/2 for a counter value in window).
 *
 * Options. A cookie has no room for window scale, SACK-permitted or ECN, so
 * where the SYN carried timestamps they travel in the low 6 bits of the
 * TSval we send in the SYN-ACK, which the peer echoes as TSecr in its ACK
 * (RFC 7323 §3.2), as Linux does:
 *
 *     TSval bits  5    4     3..0
 *                 ECN  SACK  window shift (0..14; 15 = no window scale)
 *
 * The TSval is our ts_now with these 6 bits replaced, moved back by 64 if
 * that would put it ahead of ts_now, so it never runs ahead of our TS clock.
 * The option byte enters the MAC, so a peer cannot alter it. Where the SYN
 * carried no timestamps, window scaling, SACK and ECN are lost: the
 * connection runs without them (a 64 KiB window at most). That is the price
 * of keeping no state, and only applies while the SYN queue overflows.
 *
 * Call chain: net/tcp listen path (SYN in, SYN-ACK out, ACK of a cookie;
 * active open ISN) -> here -> core/hash.c.
 */
#ifndef AXL_NET_TCP_ISN_H
#define AXL_NET_TCP_ISN_H

#include <stddef.h>
#include <stdint.h>

/** AXL_TCP_ISN_TICK_NS: the ISN timer M advances once per 4 µs (RFC 6528 §3). */
#define AXL_TCP_ISN_TICK_NS 4000u
/** AXL_TCP_COOKIE_PERIOD_NS: one SYN-cookie counter period, 64 s; a cookie
 *  lives one to two periods. Must exceed the longest SYN-ACK retransmission
 *  wait a client tolerates before its ACK arrives (Linux: ~63 s in total). */
#define AXL_TCP_COOKIE_PERIOD_NS (64ull * 1000000000ull)
/** AXL_TCP_COOKIE_MAC_BITS: authenticated bits in each cookie. */
#define AXL_TCP_COOKIE_MAC_BITS 27
/** AXL_TCP_COOKIE_NMSS: entries in the MSS table (3 bits of the cookie). */
#define AXL_TCP_COOKIE_NMSS 8
/** AXL_TCP_COOKIE_TS_BITS: low TSval bits that carry options. */
#define AXL_TCP_COOKIE_TS_BITS 6
_Static_assert(2 + 3 + AXL_TCP_COOKIE_MAC_BITS == 32, "cookie layout fills 32 bits");
_Static_assert(AXL_TCP_COOKIE_NMSS == 1 << 3, "mss index is 3 bits");

/* Secrets of one stack (all its listeners and connections). Caller-owned;
 * fill it once with axl_tcp_secret_init(). */
struct axl_tcp_secret {
    uint8_t isn_key[16];    /* RFC 6528 F() */
    uint8_t cookie_key[16]; /* SYN-cookie MAC */
};

/* Both keys from getrandom(2): 0 or a negative errno. */
int axl_tcp_secret_init(struct axl_tcp_secret *s);

/* Secrets kept for the whole boot (tcp_secret.c says why): read from path, a
 * regular file of exactly sizeof(*s) bytes owned by the effective user with
 * no access for group or others (else -EPERM / -EINVAL), or, when there is
 * none, created there (its directory too, one level) with new secrets; two
 * callers at once get the same. 0 or a negative errno. */
#define AXL_TCP_SECRET_PATH "/run/axl/tcp-secret"
#define AXL_TCP_SECRET_ENV  "AXL_TCP_SECRET" /* a path, or "none" */
int axl_tcp_secret_keep(struct axl_tcp_secret *s, const char *path);

/* The programs' policy: $AXL_TCP_SECRET (a path; "none": per engine) or
 * AXL_TCP_SECRET_PATH through axl_tcp_secret_keep. 1 when *s holds the kept
 * secrets, 0 when the engine should make its own; note says which (and why)
 * for the log. */
int axl_tcp_secret_default(struct axl_tcp_secret *s, char *note, size_t notelen);

/* A connection's addresses and ports, host order, from our side. */
struct axl_tcp_tuple {
    uint32_t laddr, raddr;
    uint16_t lport, rport;
};

/* RFC 6528 ISN for the tuple at time now_ns (any monotonic ns clock). */
uint32_t axl_tcp_isn(const struct axl_tcp_secret *s, const struct axl_tcp_tuple *t,
                     uint64_t now_ns);

/* What a SYN offered, as far as a cookie can remember it. */
struct axl_tcp_syn_opts {
    uint16_t mss;     /* make: the SYN's MSS option (0: none); check: the table value */
    uint8_t ts_ok;    /* the SYN carried timestamps */
    uint8_t sack_ok;  /* SACK-permitted (RFC 2018 §2) */
    uint8_t ws_ok;    /* window scale offered (RFC 7323 §2.2) ... */
    uint8_t ws_shift; /* ... with this shift, 0..14 (larger is used as 14) */
    uint8_t ecn_ok;   /* an ECN-setup SYN (RFC 3168 §6.1.1) */
};

/* The MSS a table index stands for (idx < AXL_TCP_COOKIE_NMSS). */
uint16_t axl_tcp_cookie_mss(unsigned idx);

/* The ISN for the SYN-ACK answering a SYN with sequence number peer_isn and
 * options *o from tuple *t. With o->ts_ok, *tsval (non-NULL) receives the
 * TSval to put in the SYN-ACK; ts_now is the current value of our TS clock. */
uint32_t axl_tcp_cookie_make(const struct axl_tcp_secret *s, const struct axl_tcp_tuple *t,
                             uint32_t peer_isn, const struct axl_tcp_syn_opts *o, uint64_t now_ns,
                             uint32_t ts_now, uint32_t *tsval);

/* Check the ACK that completes a cookie handshake: cookie = its ack - 1,
 * peer_isn = its seq - 1, has_ts/tsecr from its timestamp option. 0 with *o
 * filled (mss from the table; ts_ok = has_ts; sack/ws/ecn from tsecr, or all
 * zero without timestamps), or AXL_EINVAL (forged, expired, or for another
 * tuple, peer ISN or key). */
int axl_tcp_cookie_check(const struct axl_tcp_secret *s, const struct axl_tcp_tuple *t,
                         uint32_t cookie, uint32_t peer_isn, int has_ts, uint32_t tsecr,
                         uint64_t now_ns, struct axl_tcp_syn_opts *o);

#endif
