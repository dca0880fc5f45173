/* SPDX-License-Identifier: MIT */
/*
 * tcp.h - TCP segments (RFC 9293 §3.1): checked view, accessors, options
 * (RFC 9293 §3.2, RFC 7323, RFC 2018), repr parse/emit, and sequence-number
 * arithmetic (RFC 9293 §3.4).
 *
 *   0              2              4                              8
 *   | source port  |  dest port   |        sequence number       |
 *   |     acknowledgment number    |doff|rsvd| flags | window    |
 *   |   checksum   | urgent ptr   |  options (doff*4 - 20) ...   | data ...
 *
 * The view covers exactly one segment: the caller passes the IPv4 payload
 * length (total length minus IHL*4), never a buffer length that includes
 * link-layer padding, because TCP carries no length field of its own.
 * axl_tcp_view_check() validates the fixed header: 0, AXL_ETRUNC (fewer than
 * 20 bytes) or AXL_EMALFORMED (data offset below 5, or a data offset that
 * reaches past the end of the segment). After it succeeds every accessor stays
 * inside the segment.
 *
 * Options are a separate, second step (axl_tcp_opts_parse(), or
 * axl_tcp_repr_parse() which calls it). An option with a length below 2 or
 * running past the header, and a known option whose length is not the one its
 * RFC fixes, make the whole segment malformed: RFC 9293 §3.2 (MUST-7) requires
 * handling an illegal length and suggests a reset; Axolotl drops the segment
 * instead, because a reset triggered by one forged segment is an attack
 * vector (RFC 5961 spirit). Unknown options are skipped by their length
 * (RFC 9293 §3.2, MUST-5). The checksum needs the pseudo-header, so it is also
 * separate: axl_tcp_view_verify(); a port that delivered a frame with
 * AXL_PKT_F_CSUM_PARTIAL (never crossed a wire) skips it, a port that set
 * AXL_PKT_F_CSUM_OK may too.
 *
 * Call chain: net/tcp input/output (the state machine) -> here;
 * net/tcp_ooo.c uses struct axl_tcp_sack_block.
 */
#ifndef AXL_WIRE_TCP_H
#define AXL_WIRE_TCP_H

#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"

enum {
    AXL_TCP_OFF_SPORT = 0,
    AXL_TCP_OFF_DPORT = 2,
    AXL_TCP_OFF_SEQ = 4,
    AXL_TCP_OFF_ACK = 8,
    AXL_TCP_OFF_DOFF = 12, /* data offset (high nibble) + reserved */
    AXL_TCP_OFF_FLAGS = 13,
    AXL_TCP_OFF_WIN = 14,
    AXL_TCP_OFF_CSUM = 16,
    AXL_TCP_OFF_URG = 18,
    AXL_TCP_HLEN_MIN = 20,
    /** Data offset is 4 bits of 32-bit words: at most 60 bytes of header. */
    AXL_TCP_HLEN_MAX = 60,
    /** Room for options: 60 - 20. */
    AXL_TCP_OPT_MAX = 40,
    /** Largest segment whose length fits the 16-bit pseudo-header field. */
    AXL_TCP_MAX_LEN = 65535,
};

/* Control bits (RFC 9293 §3.1; CWR/ECE from RFC 3168). */
#define AXL_TCP_FIN 0x01u
#define AXL_TCP_SYN 0x02u
#define AXL_TCP_RST 0x04u
#define AXL_TCP_PSH 0x08u
#define AXL_TCP_ACK 0x10u
#define AXL_TCP_URG 0x20u
#define AXL_TCP_ECE 0x40u
#define AXL_TCP_CWR 0x80u

/* Option kinds (IANA "TCP Option Kind Numbers"). */
enum {
    AXL_TCPOPT_EOL = 0,       /* RFC 9293 §3.2 */
    AXL_TCPOPT_NOP = 1,       /* RFC 9293 §3.2 */
    AXL_TCPOPT_MSS = 2,       /* RFC 9293 §3.2, length 4 */
    AXL_TCPOPT_WS = 3,        /* RFC 7323 §2.2, length 3 */
    AXL_TCPOPT_SACK_PERM = 4, /* RFC 2018 §2, length 2 */
    AXL_TCPOPT_SACK = 5,      /* RFC 2018 §3, length 2 + 8n */
    AXL_TCPOPT_TS = 8,        /* RFC 7323 §3.2, length 10 */
};

enum {
    AXL_TCPOLEN_MSS = 4,
    AXL_TCPOLEN_WS = 3,
    AXL_TCPOLEN_SACK_PERM = 2,
    AXL_TCPOLEN_TS = 10,
    /** Most SACK blocks one option can carry: 2 + 8 * 4 = 34 <= 40 (RFC 2018 §3).
     *  With timestamps (12 bytes as emitted) only 3 fit. */
    AXL_TCP_SACK_MAX = 4,
    AXL_TCP_SACK_MAX_TS = 3,
    /** Largest window shift (RFC 7323 §2.3): a received shift above 14 is used
     *  as 14, the parser clamps it. */
    AXL_TCP_WS_MAX = 14,
    /** MSS assumed when a SYN carries no MSS option (RFC 9293 §3.7.1). */
    AXL_TCP_MSS_DEFAULT = 536,
};
_Static_assert(2 + 8 * AXL_TCP_SACK_MAX <= AXL_TCP_OPT_MAX, "SACK blocks must fit the options");
_Static_assert(12 + 4 + 8 * AXL_TCP_SACK_MAX_TS <= AXL_TCP_OPT_MAX, "SACK with timestamps");

struct axl_tcp_view {
    const uint8_t *p;
    size_t len; /* the whole segment: header + options + data */
};

/* 0, AXL_ETRUNC or AXL_EMALFORMED (see the header comment). */
int axl_tcp_view_check(const struct axl_tcp_view *v);
/* Verify the checksum of a checked view over the pseudo-header (RFC 9293
 * §3.1): 0 or AXL_ECSUM. saddr/daddr host order. */
int axl_tcp_view_verify(const struct axl_tcp_view *v, uint32_t saddr, uint32_t daddr);

static inline uint16_t axl_tcp_view_sport(const struct axl_tcp_view *v)
{
    return axl_load_be16(v->p + AXL_TCP_OFF_SPORT);
}
static inline uint16_t axl_tcp_view_dport(const struct axl_tcp_view *v)
{
    return axl_load_be16(v->p + AXL_TCP_OFF_DPORT);
}
static inline uint32_t axl_tcp_view_seq(const struct axl_tcp_view *v)
{
    return axl_load_be32(v->p + AXL_TCP_OFF_SEQ);
}
static inline uint32_t axl_tcp_view_ack(const struct axl_tcp_view *v)
{
    return axl_load_be32(v->p + AXL_TCP_OFF_ACK);
}
/* Header length in bytes (data offset * 4), options included. */
static inline unsigned axl_tcp_view_hlen(const struct axl_tcp_view *v)
{
    return (unsigned)(v->p[AXL_TCP_OFF_DOFF] >> 4) * 4;
}
/* The 4 reserved bits (RFC 9293 §3.1: MUST be zero on send, ignored on receipt). */
static inline unsigned axl_tcp_view_reserved(const struct axl_tcp_view *v)
{
    return v->p[AXL_TCP_OFF_DOFF] & 0x0f;
}
static inline uint8_t axl_tcp_view_flags(const struct axl_tcp_view *v)
{
    return v->p[AXL_TCP_OFF_FLAGS];
}
/* The raw 16-bit window field (unscaled). */
static inline uint16_t axl_tcp_view_window(const struct axl_tcp_view *v)
{
    return axl_load_be16(v->p + AXL_TCP_OFF_WIN);
}
static inline uint16_t axl_tcp_view_csum(const struct axl_tcp_view *v)
{
    return axl_load_be16(v->p + AXL_TCP_OFF_CSUM);
}
static inline uint16_t axl_tcp_view_urg(const struct axl_tcp_view *v)
{
    return axl_load_be16(v->p + AXL_TCP_OFF_URG);
}
static inline const uint8_t *axl_tcp_view_opts(const struct axl_tcp_view *v)
{
    return v->p + AXL_TCP_HLEN_MIN;
}
static inline size_t axl_tcp_view_opts_len(const struct axl_tcp_view *v)
{
    return (size_t)axl_tcp_view_hlen(v) - AXL_TCP_HLEN_MIN;
}
static inline const uint8_t *axl_tcp_view_payload(const struct axl_tcp_view *v)
{
    return v->p + axl_tcp_view_hlen(v);
}
static inline size_t axl_tcp_view_payload_len(const struct axl_tcp_view *v)
{
    return v->len - axl_tcp_view_hlen(v);
}

/* One SACK block (RFC 2018 §3): left edge is the first sequence number of the
 * block, right edge the one just past its last byte. */
struct axl_tcp_sack_block {
    uint32_t left, right;
};

/* The options Axolotl understands. Fields are valid only when their has_*
 * flag is set. The parser reports every option where it finds it; which ones
 * count in which segment (MSS/WS/SACK-permitted only on a SYN, RFC 9293
 * §3.7.1, RFC 7323 §2.2, RFC 2018 §2) is the state machine's decision. When
 * an option appears twice, the last occurrence wins. */
struct axl_tcp_opts {
    uint8_t has_mss;
    uint8_t has_ws;
    uint8_t has_sack_perm;
    uint8_t has_ts;
    uint8_t ws_shift; /* 0..14: clamped on parse (RFC 7323 §2.3), must be <= 14 to emit */
    uint8_t sack_n;   /* SACK blocks present, 0..AXL_TCP_SACK_MAX */
    uint16_t mss;
    uint32_t ts_val, ts_ecr;
    struct axl_tcp_sack_block sack[AXL_TCP_SACK_MAX];
};

/* Walk `len` option bytes. 0 with *o filled (zeroed first), or AXL_EMALFORMED:
 * an option length below 2 or past the end, MSS length != 4, WS != 3,
 * SACK-permitted != 2, timestamps != 10, SACK length not 2 + 8n with
 * 1 <= n <= 4. Parsing stops at EOL. */
int axl_tcp_opts_parse(const uint8_t *opt, size_t len, struct axl_tcp_opts *o);

/* Bytes axl_tcp_opts_emit() will write for *o (a multiple of 4, may exceed
 * AXL_TCP_OPT_MAX: the emitter then refuses). */
size_t axl_tcp_opts_len(const struct axl_tcp_opts *o);

/* Write the options of *o in the layouts Linux uses, each group already a
 * multiple of 4 bytes (NOP padded), in this fixed order:
 *   MSS                     02 04 mm mm
 *   SACK-permitted + TS     04 02 08 0a <TSval> <TSecr>       (both)
 *   TS                      01 01 08 0a <TSval> <TSecr>       (TS only)
 *   SACK-permitted          01 01 04 02                       (no TS)
 *   WS                      01 03 03 ss
 *   SACK blocks             01 01 05 <2+8n> <left right>...
 * Returns the option length (0..40), AXL_ETRUNC (buf shorter than that),
 * AXL_EMSGSIZE (more than 40 bytes: fewer SACK blocks must be sent) or
 * AXL_EINVAL (ws_shift > 14, sack_n > 4). */
int axl_tcp_opts_emit(const struct axl_tcp_opts *o, uint8_t *buf, size_t len);

struct axl_tcp_repr {
    uint16_t sport, dport; /* host order */
    uint32_t seq, ack;
    uint8_t flags;   /* AXL_TCP_* */
    uint16_t window; /* the raw field: the scaled window >> shift is the caller's job */
    uint16_t urg;
    struct axl_tcp_opts opts;
    const uint8_t *payload; /* may alias the output buffer (see emit) */
    size_t payload_len;
};

/* From a checked view: 0, or AXL_EMALFORMED when the options are (drop the
 * segment). The reserved bits are ignored (RFC 9293 §3.1). */
int axl_tcp_repr_parse(const struct axl_tcp_view *v, struct axl_tcp_repr *r);

/* Write header + options + payload (copied behind the header unless it
 * already sits there) with the checksum over the pseudo-header. Returns the
 * segment length, AXL_ETRUNC (buffer too small), AXL_EMSGSIZE (segment over
 * 65535 bytes or options over 40) or AXL_EINVAL (bad options). */
int axl_tcp_repr_emit(const struct axl_tcp_repr *r, uint32_t saddr, uint32_t daddr, uint8_t *buf,
                      size_t len);

/* Write header + options only; the payload stays where it is (another
 * buffer: zero-copy transmit) and is summed into the checksum from
 * r->payload. Returns the header length or the errors of axl_tcp_repr_emit. */
int axl_tcp_repr_emit_hdr(const struct axl_tcp_repr *r, uint32_t saddr, uint32_t daddr,
                          uint8_t *buf, size_t len);

/* Checksum value to store for a segment of tcp_len bytes whose partial sum
 * (header with a zero checksum field, options, data) is `sum`. */
uint16_t axl_tcp_csum_finish(uint32_t sum, uint32_t saddr, uint32_t daddr, uint16_t tcp_len);

/*
 * Sequence-number arithmetic (RFC 9293 §3.4): numbers live in a space of
 * 2^32 and are compared modulo 2^32, so "a < b" means b lies less than 2^31
 * ahead of a. Two numbers exactly 2^31 apart compare as less than each other:
 * every window in use must stay below 2^31 (RFC 7323 §2.3 bounds the scaled
 * window to 2^30 for that reason).
 */
static inline int axl_seq_lt(uint32_t a, uint32_t b)
{
    return ((a - b) & 0x80000000u) != 0;
}
static inline int axl_seq_le(uint32_t a, uint32_t b)
{
    return a == b || axl_seq_lt(a, b);
}
static inline int axl_seq_gt(uint32_t a, uint32_t b)
{
    return axl_seq_lt(b, a);
}
static inline int axl_seq_ge(uint32_t a, uint32_t b)
{
    return axl_seq_le(b, a);
}
/* lo <= a < hi, modulo 2^32 (an empty range when lo == hi). RFC 9293 §3.4's
 * "lo < a =< hi" tests are axl_seq_between(a - 1, lo, hi). */
static inline int axl_seq_between(uint32_t a, uint32_t lo, uint32_t hi)
{
    return a - lo < hi - lo;
}
static inline uint32_t axl_seq_max(uint32_t a, uint32_t b)
{
    return axl_seq_lt(a, b) ? b : a;
}
static inline uint32_t axl_seq_min(uint32_t a, uint32_t b)
{
    return axl_seq_lt(a, b) ? a : b;
}

#endif
