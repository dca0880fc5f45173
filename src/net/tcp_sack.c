/* SPDX-License-Identifier: MIT */
/*
 * net/tcp_sack.c - RFC 6675 sender scoreboard and loss recovery steps (see
 * tcp_sack.h for the contract, the naming map and the limits).
 *
 * The ranges r[0..n) are sorted by sequence number relative to snd_una,
 * disjoint and never adjacent (adjacent ranges are merged), and lie inside
 * [snd_una, snd_max]. All positions are compared as offsets from snd_una,
 * which is what makes the code immune to sequence wrap-around: every stored
 * sequence number is within 2^31 above snd_una.
 */
#include "net/tcp_sack.h"

#include <string.h>

#include "core/err.h"

/* Offset of seq above snd_una (valid for seq in [snd_una, snd_una + 2^31)). */
static inline uint32_t off(const struct axl_tcp_sack *sb, uint32_t seq)
{
    return seq - sb->snd_una;
}

static inline uint32_t segs_of(const struct axl_tcp_sack *sb, uint32_t bytes)
{
    return (bytes + sb->mss - 1) / sb->mss;
}

int axl_tcp_sack_init(struct axl_tcp_sack *sb, uint32_t snd_una, uint32_t snd_max, uint32_t mss)
{
    if (mss == 0 || mss > 65535 || tcp_sack_seq_lt(snd_max, snd_una)) return AXL_EINVAL;
    memset(sb, 0, sizeof(*sb));
    sb->snd_una = snd_una;
    sb->snd_max = snd_max;
    sb->high_rxt = snd_una;
    sb->mss = (uint16_t)mss;
    return 0;
}

int axl_tcp_sack_set_mss(struct axl_tcp_sack *sb, uint32_t mss)
{
    if (mss == 0 || mss > 65535) return AXL_EINVAL;
    sb->mss = (uint16_t)mss;
    return 0;
}

int axl_tcp_sack_is_sacked(const struct axl_tcp_sack *sb, uint32_t seq)
{
    uint32_t o = off(sb, seq);
    for (unsigned i = 0; i < sb->n; i++) {
        if (o < off(sb, sb->r[i].start)) return 0;
        if (o < off(sb, sb->r[i].end)) return 1;
    }
    return 0;
}

/* Forget everything below a new snd_una (cumulatively acknowledged now). */
static void trim_below(struct axl_tcp_sack *sb, uint32_t una)
{
    unsigned drop = 0;
    for (; drop < sb->n; drop++) {
        struct axl_tcp_sack_range *r = &sb->r[drop];
        if (tcp_sack_seq_le(r->end, una)) {
            sb->sacked -= r->end - r->start;
            continue;
        }
        if (tcp_sack_seq_lt(r->start, una)) {
            sb->sacked -= una - r->start;
            r->start = una;
        }
        break;
    }
    if (drop) {
        memmove(&sb->r[0], &sb->r[drop], (sb->n - drop) * sizeof(sb->r[0]));
        sb->n = (uint8_t)(sb->n - drop);
    }
}

/* Record [left, right) as SACKed (inside (snd_una, snd_max], checked by the
 * caller). Returns the bytes newly SACKed; *overflow counts forgotten ranges. */
static uint32_t insert_range(struct axl_tcp_sack *sb, uint32_t left, uint32_t right,
                             uint8_t *overflow)
{
    uint32_t L = off(sb, left), R = off(sb, right);
    unsigned i = 0, j;
    /* i: first range that ends at or after L (overlaps or touches, or lies above). */
    while (i < sb->n && off(sb, sb->r[i].end) < L)
        i++;
    /* j: first range that starts strictly after R. */
    j = i;
    uint32_t covered = 0;
    while (j < sb->n && off(sb, sb->r[j].start) <= R) {
        uint32_t s = off(sb, sb->r[j].start), e = off(sb, sb->r[j].end);
        uint32_t lo = s > L ? s : L, hi = e < R ? e : R;
        if (hi > lo) covered += hi - lo;
        j++;
    }
    uint32_t fresh = (R - L) - covered;
    if (i < j) {
        /* Merge ranges i..j-1 with the block into r[i]. */
        if (off(sb, sb->r[i].start) < L) left = sb->r[i].start;
        if (off(sb, sb->r[j - 1].end) > R) right = sb->r[j - 1].end;
        sb->r[i].start = left;
        sb->r[i].end = right;
        memmove(&sb->r[i + 1], &sb->r[j], (sb->n - j) * sizeof(sb->r[0]));
        sb->n = (uint8_t)(sb->n - (j - i - 1));
        sb->sacked += fresh;
        return fresh;
    }
    /* A new range at position i. */
    if (sb->n == AXL_TCP_SACK_MAX_RANGES) {
        (*overflow)++;
        if (i == sb->n) return 0; /* the new range is the highest: it is the one forgotten */
        struct axl_tcp_sack_range *top = &sb->r[sb->n - 1];
        sb->sacked -= top->end - top->start;
        sb->n--;
    }
    memmove(&sb->r[i + 1], &sb->r[i], (sb->n - i) * sizeof(sb->r[0]));
    sb->r[i].start = left;
    sb->r[i].end = right;
    sb->n++;
    sb->sacked += fresh;
    return fresh;
}

/* Sum of ceil(len / SMSS) over the SACKed bytes above offset o (exclusive of
 * o itself), stopping once DupThresh is reached. */
static uint32_t segs_above(const struct axl_tcp_sack *sb, uint32_t o)
{
    uint32_t segs = 0;
    for (unsigned k = sb->n; k-- > 0 && segs < AXL_TCP_SACK_DUPTHRESH;) {
        uint32_t s = off(sb, sb->r[k].start), e = off(sb, sb->r[k].end);
        if (e <= o + 1) break;
        if (s < o + 1) s = o + 1;
        segs += segs_of(sb, e - s);
    }
    return segs;
}

int axl_tcp_sack_is_lost(const struct axl_tcp_sack *sb, uint32_t seq)
{
    uint32_t o = off(sb, seq);
    if (o >= off(sb, sb->snd_max)) return 0;
    /* §5.1 (see header): after an RTO, unSACKed data below RecoveryPoint is
     * lost. */
    if ((sb->flags & AXL_TCP_SACK_F_AFTER_RTO) && o < off(sb, sb->recovery_point) &&
        !axl_tcp_sack_is_sacked(sb, seq))
        return 1;
    /* RFC 6675 §4 IsLost(), in the segment-count form derived in the header. */
    return segs_above(sb, o) >= AXL_TCP_SACK_DUPTHRESH;
}

/* Pipe contribution of the unSACKed hole [a, b) (offsets), whose octets are
 * all lost or all not lost by the SACK rule (`lost`). */
static uint64_t hole_pipe(const struct axl_tcp_sack *sb, uint32_t a, uint32_t b, int lost)
{
    uint64_t p = 0;
    uint32_t nl_from = lost ? b : a; /* octets >= nl_from are not lost */
    if ((sb->flags & AXL_TCP_SACK_F_AFTER_RTO) && !lost) {
        uint32_t rp = off(sb, sb->recovery_point);
        nl_from = rp > a ? (rp < b ? rp : b) : a;
    }
    /* SetPipe (a): an octet not deemed lost is in the network. */
    p += b - nl_from;
    /* SetPipe (b): an octet at or below HighRxt was retransmitted. */
    uint32_t hr = off(sb, sb->high_rxt);
    if (tcp_sack_seq_lt(sb->high_rxt, sb->snd_una)) hr = 0;
    if (hr > a) p += (hr < b ? hr : b) - a;
    return p;
}

uint32_t axl_tcp_sack_set_pipe(struct axl_tcp_sack *sb)
{
    /* RFC 6675 §4 SetPipe(), hole by hole from the top: the holes are the
     * unSACKed stretches of [snd_una, snd_max); every octet of a hole has the
     * same SACKed ranges above it, hence the same IsLost(). O(ranges). */
    uint64_t pipe = 0;
    uint32_t segs = 0;
    uint32_t top = off(sb, sb->snd_max);
    for (unsigned k = sb->n + 1; k-- > 0;) {
        uint32_t a = k ? off(sb, sb->r[k - 1].end) : 0;
        uint32_t b = k < sb->n ? off(sb, sb->r[k].start) : top;
        if (k < sb->n) {
            uint32_t len = off(sb, sb->r[k].end) - off(sb, sb->r[k].start);
            segs += segs_of(sb, len);
        }
        if (b > a) pipe += hole_pipe(sb, a, b, segs >= AXL_TCP_SACK_DUPTHRESH);
    }
    sb->pipe = pipe > UINT32_MAX ? UINT32_MAX : (uint32_t)pipe;
    return sb->pipe;
}

/* The lowest unSACKed octet at or above `from` (an offset), and the end of
 * its hole. Returns 0 if there is none below snd_max. */
static int first_unsacked(const struct axl_tcp_sack *sb, uint32_t from, uint32_t *o,
                          uint32_t *hole_end)
{
    uint32_t s = from;
    unsigned k = 0;
    for (; k < sb->n; k++) {
        uint32_t rs = off(sb, sb->r[k].start), re = off(sb, sb->r[k].end);
        if (re <= s) continue;
        if (rs <= s) {
            s = re;
            continue;
        }
        break;
    }
    uint32_t top = off(sb, sb->snd_max);
    if (s >= top) return 0;
    *o = s;
    *hole_end = k < sb->n ? off(sb, sb->r[k].start) : top;
    return 1;
}

static void make_seg(const struct axl_tcp_sack *sb, struct axl_tcp_sack_seg *seg, uint32_t o,
                     uint32_t end, enum axl_tcp_sack_rule rule)
{
    uint32_t len = end - o;
    seg->seq = sb->snd_una + o;
    seg->len = len < sb->mss ? len : sb->mss;
    seg->rule = (uint8_t)rule;
}

int axl_tcp_sack_next_seg(const struct axl_tcp_sack *sb, uint32_t avail_new,
                          struct axl_tcp_sack_seg *seg)
{
    int in_rec = (sb->flags & AXL_TCP_SACK_F_RECOVERY) != 0;
    int after_rto = (sb->flags & AXL_TCP_SACK_F_AFTER_RTO) != 0;
    uint32_t from = tcp_sack_seq_gt(sb->high_rxt, sb->snd_una) ? off(sb, sb->high_rxt) : 0;
    uint32_t o = 0, hole_end = 0;
    int cand = first_unsacked(sb, from, &o, &hole_end);
    /* (1.b): below the highest SACKed octet; after an RTO, below the RTO's
     * RecoveryPoint instead (everything there is lost, SACK blocks or not). */
    uint32_t limit = sb->n ? off(sb, sb->r[sb->n - 1].start) : 0;
    if (after_rto) {
        uint32_t rp = off(sb, sb->recovery_point);
        limit = rp < off(sb, sb->snd_max) ? rp : off(sb, sb->snd_max);
        if (hole_end > limit) hole_end = limit;
    }
    if (cand && o < limit) {
        /* Rule (1): the smallest unSACKed octet above HighRxt, below the
         * highest SACK, and lost. It is the only candidate: IsLost is
         * monotone, so if it is not lost no higher octet is. */
        if (axl_tcp_sack_is_lost(sb, sb->snd_una + o)) {
            make_seg(sb, seg, o, hole_end, AXL_TCP_SACK_SEG_LOST);
            return AXL_TCP_SACK_SEG_LOST;
        }
    }
    /* Rule (2): new data, if there is any and the receiver's window allows. */
    if (avail_new) {
        seg->seq = sb->snd_max;
        seg->len = avail_new < sb->mss ? avail_new : sb->mss;
        seg->rule = AXL_TCP_SACK_SEG_NEW;
        return AXL_TCP_SACK_SEG_NEW;
    }
    if (!in_rec) return AXL_TCP_SACK_SEG_NONE;
    /* Rule (3): the same candidate, lost or not (criteria 1.a and 1.b). */
    if (cand && o < limit) {
        make_seg(sb, seg, o, hole_end, AXL_TCP_SACK_SEG_UNSACKED);
        return AXL_TCP_SACK_SEG_UNSACKED;
    }
    /* Rule (4): one rescue retransmission per recovery, once HighACK has
     * passed RescueRxt, of a segment ending with the highest unSACKed octet. */
    if ((sb->flags & AXL_TCP_SACK_F_RESCUE) && !tcp_sack_seq_gt(sb->snd_una, sb->rescue_rxt))
        return AXL_TCP_SACK_SEG_NONE;
    uint32_t top = off(sb, sb->snd_max);
    uint32_t hs, he; /* the highest hole [hs, he) */
    if (sb->n && off(sb, sb->r[sb->n - 1].end) == top) {
        he = off(sb, sb->r[sb->n - 1].start);
        hs = sb->n > 1 ? off(sb, sb->r[sb->n - 2].end) : 0;
    } else {
        he = top;
        hs = sb->n ? off(sb, sb->r[sb->n - 1].end) : 0;
    }
    if (he <= hs) return AXL_TCP_SACK_SEG_NONE; /* nothing unSACKed outstanding */
    uint32_t start = he - hs > sb->mss ? he - sb->mss : hs;
    seg->seq = sb->snd_una + start;
    seg->len = he - start;
    seg->rule = AXL_TCP_SACK_SEG_RESCUE;
    return AXL_TCP_SACK_SEG_RESCUE;
}

void axl_tcp_sack_sent(struct axl_tcp_sack *sb, uint32_t seq, uint32_t len,
                       enum axl_tcp_sack_rule rule)
{
    uint32_t end = seq + len;
    if (tcp_sack_seq_lt(seq, sb->snd_max)) {
        if (rule == AXL_TCP_SACK_SEG_RESCUE) {
            /* NextSeg rule (4): RescueRxt = RecoveryPoint; HighRxt untouched. */
            sb->rescue_rxt = sb->recovery_point;
            sb->flags |= AXL_TCP_SACK_F_RESCUE;
        } else {
            /* (C.2): HighRxt = the highest octet retransmitted. */
            uint32_t hi = tcp_sack_seq_lt(end, sb->snd_max) ? end : sb->snd_max;
            if (tcp_sack_seq_gt(hi, sb->high_rxt)) sb->high_rxt = hi;
        }
    }
    /* (C.3): HighData follows new data. */
    if (tcp_sack_seq_gt(end, sb->snd_max)) sb->snd_max = end;
    /* (C.4): pipe += octets transmitted. */
    uint64_t p = (uint64_t)sb->pipe + len;
    sb->pipe = p > UINT32_MAX ? UINT32_MAX : (uint32_t)p;
}

/* §5 step (4.1)-(4.3): enter loss recovery; the segment to retransmit. */
static void enter_recovery(struct axl_tcp_sack *sb, struct axl_tcp_sack_seg *rxt)
{
    sb->flags |= AXL_TCP_SACK_F_RECOVERY | AXL_TCP_SACK_F_RP | AXL_TCP_SACK_F_RESCUE;
    sb->recovery_point = sb->snd_max; /* (4.1) RecoveryPoint = HighData */
    /* (4.3): retransmit the segment starting at HighACK + 1, up to SMSS, not
     * into SACKed data (unless the receiver reneged on data right there:
     * then the first SMSS goes regardless). */
    uint32_t end = off(sb, sb->snd_max);
    if (sb->n && off(sb, sb->r[0].start) > 0) end = off(sb, sb->r[0].start);
    make_seg(sb, rxt, 0, end, AXL_TCP_SACK_SEG_FAST_RXT);
    /* HighRxt moves when the caller reports the retransmission (C.2);
     * RescueRxt is set now so no rescue precedes the first partial ACK. */
    sb->high_rxt = sb->snd_una;
    sb->rescue_rxt = rxt->seq + rxt->len;
}

int axl_tcp_sack_on_ack(struct axl_tcp_sack *sb, uint32_t ack, const struct axl_tcp_sack_block *blk,
                        unsigned n, struct axl_tcp_sack_ack_res *res)
{
    struct axl_tcp_sack_ack_res dummy;
    if (!res) res = &dummy;
    memset(res, 0, sizeof(*res));
    if (tcp_sack_seq_gt(ack, sb->snd_max) || n > AXL_TCP_SACK_MAX_BLOCKS) return AXL_EINVAL;
    int cumulative = 0;
    if (tcp_sack_seq_gt(ack, sb->snd_una)) {
        res->acked = ack - sb->snd_una;
        trim_below(sb, ack);
        sb->snd_una = ack;
        if (tcp_sack_seq_lt(sb->high_rxt, ack)) sb->high_rxt = ack;
        cumulative = 1;
    }
    /* Update(): record each valid block (RFC 6675 §4, RFC 2018 §5). */
    for (unsigned i = 0; i < n; i++) {
        uint32_t l = blk[i].left, r = blk[i].right;
        /* RFC 2883 §4: the first block reports a duplicate if it lies below
         * the cumulative ACK, or inside the second block. */
        if (i == 0 && tcp_sack_seq_lt(l, r) &&
            (tcp_sack_seq_le(r, ack) ||
             (n > 1 && tcp_sack_seq_lt(blk[1].left, blk[1].right) &&
              tcp_sack_seq_le(blk[1].left, l) && tcp_sack_seq_le(r, blk[1].right)))) {
            res->dsack = 1;
            continue;
        }
        if (!tcp_sack_seq_lt(l, r) || !tcp_sack_seq_lt(sb->snd_una, l) ||
            tcp_sack_seq_gt(r, sb->snd_max)) {
            res->invalid++;
            continue;
        }
        res->sacked += insert_range(sb, l, r, &res->overflow);
    }
    /* The receiver holds no data at snd_una, yet we have it SACKed: it
     * reneged (RFC 2018 §8). Keep the ranges (the RTO discards them). */
    if (sb->n && sb->r[0].start == sb->snd_una) {
        res->reneged = 1;
        sb->flags |= AXL_TCP_SACK_F_RENEGED;
    }
    res->dupack = res->sacked > 0; /* RFC 6675 §2 */

    /* The §5 procedure. */
    if (cumulative) sb->dupacks = 0;
    if (sb->flags & AXL_TCP_SACK_F_RECOVERY) {
        if (tcp_sack_seq_ge(sb->snd_una, sb->recovery_point)) {
            /* (A): recovery over. The scoreboard above HighACK is kept. */
            sb->flags &= (uint8_t) ~(AXL_TCP_SACK_F_RECOVERY | AXL_TCP_SACK_F_RESCUE);
            return AXL_TCP_SACK_ACK_EXIT;
        }
        axl_tcp_sack_set_pipe(sb); /* (B.1) done above, (B.2) */
        return AXL_TCP_SACK_ACK_RECOVERY;
    }
    if (sb->flags & AXL_TCP_SACK_F_AFTER_RTO) {
        if (tcp_sack_seq_lt(sb->snd_una, sb->recovery_point)) {
            /* §5.1: no new recovery before HighACK reaches RecoveryPoint. */
            axl_tcp_sack_set_pipe(sb);
            return AXL_TCP_SACK_ACK_AFTER_RTO;
        }
        sb->flags &= (uint8_t)~AXL_TCP_SACK_F_AFTER_RTO;
    }
    if (!res->dupack) return AXL_TCP_SACK_ACK_NONE;
    if (sb->dupacks < UINT8_MAX) sb->dupacks++;
    /* (1) DupAcks >= DupThresh, or (2) IsLost(HighACK + 1): loss. */
    if (sb->dupacks >= AXL_TCP_SACK_DUPTHRESH || axl_tcp_sack_is_lost(sb, sb->snd_una)) {
        enter_recovery(sb, &res->rxt);
        axl_tcp_sack_set_pipe(sb); /* (4.4), before the (4.3) send is reported */
        return AXL_TCP_SACK_ACK_ENTER;
    }
    /* (3) Limited transmit, paced by pipe: (3.1) HighRxt = HighACK, (3.2). */
    sb->high_rxt = sb->snd_una;
    axl_tcp_sack_set_pipe(sb);
    return AXL_TCP_SACK_ACK_LIMITED;
}

int axl_tcp_sack_enter_on_time(struct axl_tcp_sack *sb, struct axl_tcp_sack_ack_res *res)
{
    memset(res, 0, sizeof(*res));
    if (sb->flags & (AXL_TCP_SACK_F_RECOVERY | AXL_TCP_SACK_F_AFTER_RTO))
        return AXL_TCP_SACK_ACK_NONE;
    if (!sb->n || off(sb, sb->r[0].start) == 0)
        return AXL_TCP_SACK_ACK_NONE; /* no hole at HighACK */
    enter_recovery(sb, &res->rxt);
    axl_tcp_sack_set_pipe(sb);
    return AXL_TCP_SACK_ACK_ENTER;
}

void axl_tcp_sack_on_rto(struct axl_tcp_sack *sb)
{
    /* RFC 6675 §5.1. */
    sb->recovery_point = sb->snd_max;
    sb->flags |= AXL_TCP_SACK_F_RP | AXL_TCP_SACK_F_AFTER_RTO;
    sb->flags &= (uint8_t) ~(AXL_TCP_SACK_F_RECOVERY | AXL_TCP_SACK_F_RESCUE);
    sb->high_rxt = sb->snd_una;
    sb->dupacks = 0;
    if (sb->flags & AXL_TCP_SACK_F_RENEGED) {
        /* RFC 2018 §8: after a timeout that may come from reneging, the
         * SACKed marks are turned off; here reneging was seen. */
        sb->n = 0;
        sb->sacked = 0;
        sb->flags &= (uint8_t)~AXL_TCP_SACK_F_RENEGED;
    }
    axl_tcp_sack_set_pipe(sb);
}
