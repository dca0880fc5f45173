/* SPDX-License-Identifier: MIT */
/*
 * net/tcp_sack.h - the sender-side SACK scoreboard and conservative SACK-based
 * loss recovery of RFC 6675, over one connection's send sequence space
 * [SND.UNA, SND.MAX).
 *
 * Pure: no clock, no stack, no allocation; one fixed-size struct per
 * connection. The scoreboard only tracks sequence numbers: the data itself
 * stays in the connection's retransmission queue until cumulatively
 * acknowledged, whatever was SACKed (RFC 2018 §8, RFC 6675 §4 note).
 *
 * Call chain (the TCP state machine of a SACK-permitted connection):
 *   every segment sent (new data or retransmission) -> axl_tcp_sack_sent
 *   every acceptable ACK -> axl_tcp_sack_on_ack, which returns what loss
 *     recovery must do now (enum axl_tcp_sack_verdict); the state machine
 *     then drives net/tcp_cc.c and, while cwnd - pipe >= 1 SMSS, sends what
 *     axl_tcp_sack_next_seg returns (RFC 6675 §5 step (C));
 *   retransmission timeout -> axl_tcp_sack_on_rto (RFC 6675 §5.1).
 *
 * RFC 6675 names vs. ours (its octet numbers are inclusive, ours half-open):
 *   HighACK + 1      = snd_una        HighData + 1 = snd_max
 *   HighRxt + 1      = high_rxt       RescueRxt + 1 = rescue_rxt
 *   RecoveryPoint + 1 = recovery_point
 *
 * Retransmission record: RFC 6675 needs no per-segment marks. NextSeg rules
 * (1) and (3) always return the lowest unSACKed octet above HighRxt (IsLost
 * is monotone: an octet with enough SACKed data above it has at least as much
 * above every lower octet), and step (C.2) moves HighRxt to the end of what
 * was sent; so "retransmitted in this recovery" is exactly "unSACKed and below
 * HighRxt", which is SetPipe's rule (b). The rule (4) rescue retransmission
 * does not move HighRxt, as the RFC says, and is counted in pipe only until
 * the next SetPipe. After an RTO, high_rxt restarts at SND.UNA (§5.1).
 *
 * IsLost (RFC 6675 §4): true when DupThresh (3) discontiguous SACKed segments
 * lie above the octet, or more than (DupThresh - 1) * SMSS SACKed bytes do.
 * The scoreboard keeps byte ranges, not segments, so a SACKed range of L
 * bytes counts as ceil(L / SMSS) segments: exact for full-sized segments,
 * never more than the true count, every discontiguous range counting at least
 * once; and since ceil(L1/S) + ceil(L2/S) + ... >= 3 whenever L1 + L2 + ...
 * > 2 S, the byte rule is implied: IsLost(s) <=> sum of ceil(L/SMSS) over the
 * SACKed bytes above s >= 3. After an RTO, every unSACKed octet below the
 * RecoveryPoint recorded then is lost (the timer is the loss signal,
 * RFC 5681 §3.1), until the cumulative ACK passes it.
 *
 * Cost: the ranges are a sorted array; every operation is O(ranges) <=
 * AXL_TCP_SACK_MAX_RANGES, a few dozen compares, on ACKs carrying SACK
 * blocks and during recovery only. Memory: 292 bytes per connection.
 */
#ifndef AXL_NET_TCP_SACK_H
#define AXL_NET_TCP_SACK_H

#include <stdint.h>
#include "wire/tcp.h"

/** AXL_TCP_SACK_MAX_RANGES: SACKed ranges remembered per connection (each is
 *  a hole's upper neighbour, so this bounds the holes tracked in one window).
 *  When an ACK reports a new range and all 32 are in use, the highest range
 *  in sequence space is forgotten (the new one, if it is the highest): its
 *  data counts as unSACKed again, which can only cause a spurious
 *  retransmission, never a missed one; the lowest ranges, where recovery
 *  works next, are kept. Counted in axl_tcp_sack_ack_res.overflow. */
#define AXL_TCP_SACK_MAX_RANGES 32
/** DupThresh (RFC 6675 §2, RFC 5681 §3.2). */
#define AXL_TCP_SACK_DUPTHRESH 3
/** SACK blocks in one ACK: at most 4 fit in the 40 option bytes (RFC 2018 §3). */
#define AXL_TCP_SACK_MAX_BLOCKS 4

/* Sequence comparisons modulo 2^32 (RFC 9293 §3.4), valid within 2^31. */
static inline int tcp_sack_seq_lt(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) < 0;
}
static inline int tcp_sack_seq_le(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) <= 0;
}
static inline int tcp_sack_seq_gt(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) > 0;
}
static inline int tcp_sack_seq_ge(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) >= 0;
}

/* A SACK block as carried in the option: [left, right) (RFC 2018 §3). */
/* struct axl_tcp_sack_block (left, right) is the wire module's (wire/tcp.h):
 * blocks go from the option parser to the scoreboard unchanged. */

/* Why NextSeg (or recovery entry) chose a segment. */
enum axl_tcp_sack_rule {
    AXL_TCP_SACK_SEG_NONE = 0,
    AXL_TCP_SACK_SEG_LOST = 1,     /* NextSeg rule (1): lost data above HighRxt */
    AXL_TCP_SACK_SEG_NEW = 2,      /* rule (2): previously unsent data at HighData + 1 */
    AXL_TCP_SACK_SEG_UNSACKED = 3, /* rule (3): unSACKed, not yet deemed lost */
    AXL_TCP_SACK_SEG_RESCUE = 4,   /* rule (4): the rescue retransmission */
    AXL_TCP_SACK_SEG_FAST_RXT = 5, /* §5 step (4.3): the first retransmission */
};

struct axl_tcp_sack_seg {
    uint32_t seq, len;
    uint8_t rule; /* enum axl_tcp_sack_rule */
};

/* What loss recovery must do after an ACK (RFC 6675 §5). */
enum axl_tcp_sack_verdict {
    AXL_TCP_SACK_ACK_NONE = 0, /* nothing beyond normal processing */
    AXL_TCP_SACK_ACK_LIMITED,  /* §5 step (3): a duplicate ACK below the threshold. HighRxt
                                  and pipe are set; the caller MAY send new data while
                                  cwnd - pipe >= SMSS (limited transmit, RFC 3042) */
    AXL_TCP_SACK_ACK_ENTER,    /* §5 step (4): loss. The caller reduces the window
                                  (axl_tcp_cc_on_congestion, REC_SACK), sends res.rxt,
                                  then runs step (C) */
    AXL_TCP_SACK_ACK_RECOVERY, /* §5 (B): still in recovery, pipe recomputed: run (C) */
    AXL_TCP_SACK_ACK_EXIT,     /* §5 (A): the cumulative ACK covered RecoveryPoint */
    AXL_TCP_SACK_ACK_AFTER_RTO /* §5.1: repairing after a timeout (below the RTO's
                                  RecoveryPoint); pipe recomputed; retransmit with NextSeg
                                  while cwnd - pipe >= SMSS */
};

/* Per-ACK facts, for the state machine and the replica's counters. */
struct axl_tcp_sack_ack_res {
    uint32_t acked;   /* bytes newly acknowledged cumulatively */
    uint32_t sacked;  /* bytes newly SACKed (neither acked nor SACKed before) */
    uint8_t dupack;   /* a duplicate ACK in RFC 6675 §2's sense: new SACK information */
    uint8_t dsack;    /* the first block was a D-SACK (RFC 2883 §4): recognised, counted,
                         not entered in the scoreboard and not used for undo */
    uint8_t invalid;  /* blocks ignored: empty or reversed, not inside (SND.UNA, SND.MAX] */
    uint8_t overflow; /* SACKed ranges forgotten for lack of room (AXL_TCP_SACK_MAX_RANGES) */
    uint8_t reneged;  /* the cumulative ACK stops at SACKed data: the receiver discarded
                         data it had SACKed (RFC 2018 §8) */
    struct axl_tcp_sack_seg rxt; /* with ..._ACK_ENTER: the segment to retransmit */
};

struct axl_tcp_sack_range {
    uint32_t start, end; /* [start, end), start < end, inside [snd_una, snd_max] */
};

enum {
    AXL_TCP_SACK_F_RECOVERY = 1,  /* in SACK loss recovery (§5) */
    AXL_TCP_SACK_F_RP = 2,        /* recovery_point is set */
    AXL_TCP_SACK_F_RESCUE = 4,    /* rescue_rxt is set */
    AXL_TCP_SACK_F_AFTER_RTO = 8, /* repairing after an RTO (§5.1) */
    AXL_TCP_SACK_F_RENEGED = 16,  /* reneging seen since the last RTO */
};

struct axl_tcp_sack {
    uint32_t snd_una, snd_max;
    uint32_t high_rxt;       /* unSACKed octets below this were retransmitted */
    uint32_t rescue_rxt;     /* RescueRxt + 1, with AXL_TCP_SACK_F_RESCUE */
    uint32_t recovery_point; /* RecoveryPoint + 1, with AXL_TCP_SACK_F_RP */
    uint32_t pipe;           /* RFC 6675 §2 "pipe", bytes */
    uint32_t sacked;         /* SACKed bytes above snd_una (Update()'s total) */
    uint16_t mss;            /* SMSS */
    uint8_t n;               /* ranges in use */
    uint8_t dupacks;         /* DupAcks (§5), saturating */
    uint8_t flags;           /* AXL_TCP_SACK_F_* */
    struct axl_tcp_sack_range r[AXL_TCP_SACK_MAX_RANGES]; /* sorted, disjoint, non-adjacent */
};
_Static_assert(sizeof(struct axl_tcp_sack) == 292, "per-connection SACK scoreboard size");

/* An empty scoreboard for [snd_una, snd_max), SMSS mss (1..65535). */
int axl_tcp_sack_init(struct axl_tcp_sack *sb, uint32_t snd_una, uint32_t snd_max, uint32_t mss);
/* SMSS changed (PMTUD). -AXL_EINVAL outside 1..65535. */
int axl_tcp_sack_set_mss(struct axl_tcp_sack *sb, uint32_t mss);

/* Process an ACK: cumulative ACK `ack` and n SACK blocks as received
 * (RFC 6675 Update() and the §5 procedure). Returns the verdict, or
 * -AXL_EINVAL (nothing changed) if ack is above SND.MAX or n exceeds
 * AXL_TCP_SACK_MAX_BLOCKS. An ACK below SND.UNA moves nothing but its blocks
 * are still considered. res may be NULL. */
int axl_tcp_sack_on_ack(struct axl_tcp_sack *sb, uint32_t ack, const struct axl_tcp_sack_block *blk,
                        unsigned n, struct axl_tcp_sack_ack_res *res);

/* Report a transmission of [seq, seq + len) (RFC 6675 §5 steps C.2-C.4): a
 * retransmission (below SND.MAX) moves HighRxt to its end unless it is the
 * rescue (rule 4, which records RescueRxt = RecoveryPoint instead); data
 * beyond SND.MAX moves SND.MAX; pipe grows by len. */
void axl_tcp_sack_sent(struct axl_tcp_sack *sb, uint32_t seq, uint32_t len,
                       enum axl_tcp_sack_rule rule);

/* RFC 6675 §4 NextSeg(): the next segment to send during recovery (or after
 * an RTO). avail_new: bytes of previously unsent data that may be sent now
 * (queued data within the peer's window; 0 if none). Returns the rule used
 * (1-4) with *seg filled, or 0 when nothing should be sent. Rules (3) and (4)
 * apply only in loss recovery, not after an RTO. No side effects: report the
 * transmission with axl_tcp_sack_sent. */
int axl_tcp_sack_next_seg(const struct axl_tcp_sack *sb, uint32_t avail_new,
                          struct axl_tcp_sack_seg *seg);

/* RFC 6675 §4 IsLost(seq), for seq in [SND.UNA, SND.MAX) (0 outside). */
int axl_tcp_sack_is_lost(const struct axl_tcp_sack *sb, uint32_t seq);

/* RFC 6675 §4 SetPipe(): recompute pipe, store and return it. */
uint32_t axl_tcp_sack_set_pipe(struct axl_tcp_sack *sb);

/* The retransmission timer expired (RFC 6675 §5.1): RecoveryPoint = HighData,
 * loss recovery terminated, no new recovery until the cumulative ACK reaches
 * RecoveryPoint; HighRxt restarts at SND.UNA; pipe recomputed (all unSACKed
 * data below RecoveryPoint now counts as lost). The SACKed ranges are kept
 * (§5.1: keep using SACK information after the RTO) unless the receiver has
 * been seen reneging, in which case they are all discarded as RFC 2018 §8
 * prescribes for a timeout that may be due to reneging. */
void axl_tcp_sack_on_rto(struct axl_tcp_sack *sb);
/* Time-based loss detection (RFC 8985 §6.2, net/tcp_recovery.c): the hole
 * at HighACK + 1, below SACKed data, stayed unfilled for the reordering
 * window, so it is lost although fewer than DupThresh segments are SACKed
 * above it. Enters recovery as §5 step (4) does and names the segment to
 * retransmit in res->rxt (AXL_TCP_SACK_ACK_ENTER); AXL_TCP_SACK_ACK_NONE
 * (nothing changed) in recovery, after an RTO before RecoveryPoint, or
 * without such a hole. */
int axl_tcp_sack_enter_on_time(struct axl_tcp_sack *sb, struct axl_tcp_sack_ack_res *res);

/* Is SACKed data recorded for seq? */
int axl_tcp_sack_is_sacked(const struct axl_tcp_sack *sb, uint32_t seq);

static inline uint32_t axl_tcp_sack_pipe(const struct axl_tcp_sack *sb)
{
    return sb->pipe;
}
static inline int axl_tcp_sack_in_recovery(const struct axl_tcp_sack *sb)
{
    return (sb->flags & AXL_TCP_SACK_F_RECOVERY) != 0;
}
/* RFC 6675 §5 (C.5) / (3.3): may another SMSS go out under cwnd? */
static inline int axl_tcp_sack_can_send(const struct axl_tcp_sack *sb, uint32_t cwnd)
{
    return cwnd >= sb->pipe && cwnd - sb->pipe >= sb->mss;
}

#endif
