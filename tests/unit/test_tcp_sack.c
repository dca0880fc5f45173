/* SPDX-License-Identifier: MIT */
/*
 * test_tcp_sack.c - unit tests of the RFC 6675 sender scoreboard
 * (net/tcp_sack.c): scenario tables (one loss, several losses in one window,
 * SACK blocks out of order, overlapping and duplicate, D-SACK, invalid
 * blocks, small segments, reneging, RTO during recovery, the rescue
 * retransmission), sequence wrap-around near 2^32, the range bound and its
 * overflow policy, and a randomised comparison with a brute-force per-byte
 * model of RFC 6675 (Update, IsLost, SetPipe, NextSeg, the §5 and §5.1
 * procedures) driven by a lossy, reordering, duplicating, reneging receiver.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/rand.h"
#include "net/tcp_sack.h"

/* --- fixture: offsets relative to the ISS ---------------------------------- */

struct fx {
    struct axl_tcp_sack sb;
    uint32_t iss, mss;
    struct axl_tcp_sack_ack_res res;
};

static void fx_init(struct fx *f, uint32_t iss, uint32_t mss)
{
    memset(f, 0, sizeof(*f));
    f->iss = iss;
    f->mss = mss;
    assert_int_equal(axl_tcp_sack_init(&f->sb, iss, iss, mss), 0);
}

static uint32_t O(const struct fx *f, uint32_t seq)
{
    return seq - f->iss;
}

/* Send `bytes` of new data in SMSS segments. */
static void fx_send_new(struct fx *f, uint32_t bytes)
{
    while (bytes) {
        uint32_t len = bytes < f->mss ? bytes : f->mss;
        axl_tcp_sack_sent(&f->sb, f->sb.snd_max, len, AXL_TCP_SACK_SEG_NEW);
        bytes -= len;
    }
}

/* An ACK: cumulative ack and n blocks, all as offsets from the ISS. */
static int fx_ack(struct fx *f, uint32_t ack, int n, ...)
{
    struct axl_tcp_sack_block b[AXL_TCP_SACK_MAX_BLOCKS + 1];
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        b[i].left = f->iss + va_arg(ap, uint32_t);
        b[i].right = f->iss + va_arg(ap, uint32_t);
    }
    va_end(ap);
    return axl_tcp_sack_on_ack(&f->sb, f->iss + ack, b, (unsigned)n, &f->res);
}

/* NextSeg as offsets; returns the rule. */
static int fx_next(struct fx *f, uint32_t avail, uint32_t *seq, uint32_t *len)
{
    struct axl_tcp_sack_seg s;
    int rule = axl_tcp_sack_next_seg(&f->sb, avail, &s);
    if (rule) {
        assert_int_equal(rule, s.rule);
        *seq = O(f, s.seq);
        *len = s.len;
    }
    return rule;
}

static int fx_lost(struct fx *f, uint32_t o)
{
    return axl_tcp_sack_is_lost(&f->sb, f->iss + o);
}

/* Ranges sum to the recorded total, sorted, disjoint, non-adjacent. */
static void check_invariants(const struct axl_tcp_sack *sb)
{
    uint64_t sum = 0;
    uint32_t prev_end = 0;
    for (unsigned i = 0; i < sb->n; i++) {
        uint32_t s = sb->r[i].start - sb->snd_una, e = sb->r[i].end - sb->snd_una;
        assert_true(s < e);
        assert_true(e <= sb->snd_max - sb->snd_una);
        if (i) assert_true(s > prev_end);
        prev_end = e;
        sum += e - s;
    }
    assert_int_equal(sum, sb->sacked);
}

/* --- scenarios ------------------------------------------------------------- */

/* RFC 6675 §5, one lost segment in a window of ten: two limited-transmit
 * dupacks, entry on the third, recovery, exit. */
static void one_loss(uint32_t iss)
{
    struct fx f;
    uint32_t seq = 0, len = 0;
    fx_init(&f, iss, 1000);
    fx_send_new(&f, 10000);
    /* Segment 0 is lost; 1, 2 arrive: dupacks below the threshold. */
    assert_int_equal(fx_ack(&f, 0, 1, 1000, 2000), AXL_TCP_SACK_ACK_LIMITED);
    assert_true(f.res.dupack);
    assert_int_equal(f.res.sacked, 1000);
    assert_int_equal(f.sb.dupacks, 1);
    assert_false(fx_lost(&f, 0));
    /* pipe: segment 0 (not lost yet) + segments 2..9 */
    assert_int_equal(axl_tcp_sack_pipe(&f.sb), 9000);
    /* (3.3) limited transmit with cwnd 10 SMSS: one new segment. */
    assert_true(axl_tcp_sack_can_send(&f.sb, 10000));
    assert_int_equal(fx_next(&f, 50000, &seq, &len), AXL_TCP_SACK_SEG_NEW);
    assert_int_equal(seq, 10000);
    assert_int_equal(len, 1000);
    axl_tcp_sack_sent(&f.sb, iss + seq, len, AXL_TCP_SACK_SEG_NEW);
    assert_false(axl_tcp_sack_can_send(&f.sb, 10000));
    assert_int_equal(fx_ack(&f, 0, 1, 1000, 3000), AXL_TCP_SACK_ACK_LIMITED);
    assert_int_equal(axl_tcp_sack_pipe(&f.sb), 9000);
    fx_send_new(&f, 1000); /* segment 11 */
    /* Third dupack: DupAcks = DupThresh and IsLost(HighACK + 1). */
    assert_int_equal(fx_ack(&f, 0, 1, 1000, 4000), AXL_TCP_SACK_ACK_ENTER);
    assert_true(fx_lost(&f, 0));
    assert_true(axl_tcp_sack_in_recovery(&f.sb));
    assert_int_equal(O(&f, f.sb.recovery_point), 12000); /* (4.1) HighData */
    assert_int_equal(O(&f, f.res.rxt.seq), 0);           /* (4.3) */
    assert_int_equal(f.res.rxt.len, 1000);
    assert_int_equal(f.res.rxt.rule, AXL_TCP_SACK_SEG_FAST_RXT);
    assert_int_equal(axl_tcp_sack_pipe(&f.sb), 8000); /* segments 4..11 */
    axl_tcp_sack_sent(&f.sb, f.res.rxt.seq, f.res.rxt.len, f.res.rxt.rule);
    assert_int_equal(O(&f, f.sb.high_rxt), 1000);
    assert_int_equal(axl_tcp_sack_pipe(&f.sb), 9000);
    /* cwnd = 6 SMSS now (the caller's business): nothing to send until pipe
     * drains. Segments 4..8 arrive. */
    const uint32_t cwnd = 6000;
    assert_false(axl_tcp_sack_can_send(&f.sb, cwnd));
    for (uint32_t s = 4; s <= 8; s++) {
        assert_int_equal(fx_ack(&f, 0, 1, 1000, (s + 1) * 1000), AXL_TCP_SACK_ACK_RECOVERY);
        /* SetPipe: the retransmission (1000) + everything above the SACKed
         * range (not lost: nothing is SACKed above it). */
        assert_int_equal(axl_tcp_sack_pipe(&f.sb), 1000 + O(&f, f.sb.snd_max) - (s + 1) * 1000);
        while (axl_tcp_sack_can_send(&f.sb, cwnd)) {
            /* Nothing else is lost: rule (2), new data. */
            assert_int_equal(fx_next(&f, 50000, &seq, &len), AXL_TCP_SACK_SEG_NEW);
            assert_int_equal(seq, O(&f, f.sb.snd_max));
            axl_tcp_sack_sent(&f.sb, iss + seq, len, AXL_TCP_SACK_SEG_NEW);
        }
    }
    /* The retransmission arrives: a partial ACK up to 9000 (segments 9.. are
     * still in flight): still in recovery. */
    assert_int_equal(fx_ack(&f, 9000, 0), AXL_TCP_SACK_ACK_RECOVERY);
    assert_int_equal(f.res.acked, 9000);
    assert_int_equal(f.sb.n, 0);
    assert_int_equal(f.sb.sacked, 0);
    /* ACK of RecoveryPoint: recovery over (§5 (A)). */
    assert_int_equal(fx_ack(&f, 12000, 0), AXL_TCP_SACK_ACK_EXIT);
    assert_false(axl_tcp_sack_in_recovery(&f.sb));
    assert_int_equal(fx_ack(&f, 13000, 0), AXL_TCP_SACK_ACK_NONE);
    check_invariants(&f.sb);
}

static void test_one_loss(void **state)
{
    (void)state;
    one_loss(1000);
    one_loss(0xfffff000u); /* the window crosses 2^32 */
    one_loss(0xffffffffu);
}

/* Several losses in one window: segments 0, 4, 7 and the last (11) lost;
 * NextSeg walks rules (1), (3) and the rescue (4). */
static void multi_loss(uint32_t iss)
{
    struct fx f;
    uint32_t seq = 0, len = 0;
    fx_init(&f, iss, 1000);
    fx_send_new(&f, 12000);
    assert_int_equal(fx_ack(&f, 0, 1, 1000, 2000), AXL_TCP_SACK_ACK_LIMITED);
    assert_int_equal(fx_ack(&f, 0, 1, 1000, 3000), AXL_TCP_SACK_ACK_LIMITED);
    assert_int_equal(fx_ack(&f, 0, 1, 1000, 4000), AXL_TCP_SACK_ACK_ENTER);
    axl_tcp_sack_sent(&f.sb, f.res.rxt.seq, f.res.rxt.len, f.res.rxt.rule);
    /* Segments 5, 6 arrive. Segment 4 has only 2 SACKed segments above: not
     * lost; NextSeg offers new data (2), else rule (3) for segment 4. */
    assert_int_equal(fx_ack(&f, 0, 2, 5000, 6000, 1000, 4000), AXL_TCP_SACK_ACK_RECOVERY);
    assert_int_equal(fx_ack(&f, 0, 2, 5000, 7000, 1000, 4000), AXL_TCP_SACK_ACK_RECOVERY);
    assert_false(fx_lost(&f, 4000));
    assert_int_equal(fx_next(&f, 500, &seq, &len), AXL_TCP_SACK_SEG_NEW);
    assert_int_equal(len, 500);
    assert_int_equal(fx_next(&f, 0, &seq, &len), AXL_TCP_SACK_SEG_UNSACKED);
    assert_int_equal(seq, 4000);
    assert_int_equal(len, 1000);
    /* Segment 8 arrives: now 3 SACKed segments lie above 4: lost, rule (1),
     * even with new data waiting. Segment 7 is not lost yet. */
    assert_int_equal(fx_ack(&f, 0, 3, 8000, 9000, 5000, 7000, 1000, 4000),
                     AXL_TCP_SACK_ACK_RECOVERY);
    assert_true(fx_lost(&f, 4000));
    assert_true(fx_lost(&f, 4999));
    assert_false(fx_lost(&f, 7000));
    assert_false(fx_lost(&f, 11000));
    assert_int_equal(fx_next(&f, 5000, &seq, &len), AXL_TCP_SACK_SEG_LOST);
    assert_int_equal(seq, 4000);
    assert_int_equal(len, 1000);
    uint32_t pipe = axl_tcp_sack_pipe(&f.sb);
    axl_tcp_sack_sent(&f.sb, iss + seq, len, AXL_TCP_SACK_SEG_LOST);
    assert_int_equal(axl_tcp_sack_pipe(&f.sb), pipe + 1000);
    assert_int_equal(O(&f, f.sb.high_rxt), 5000);
    /* Segment 7: rule (3) (not lost, below the highest SACK). */
    assert_int_equal(fx_next(&f, 0, &seq, &len), AXL_TCP_SACK_SEG_UNSACKED);
    assert_int_equal(seq, 7000);
    /* Segments 9, 10 arrive: 7 becomes lost; pipe by hand: 0 and 4 are
     * retransmitted (2000), 7 is lost and not retransmitted (0), 11 is
     * unSACKed and not lost (1000). */
    assert_int_equal(fx_ack(&f, 0, 3, 8000, 11000, 5000, 7000, 1000, 4000),
                     AXL_TCP_SACK_ACK_RECOVERY);
    assert_true(fx_lost(&f, 7000));
    assert_int_equal(axl_tcp_sack_pipe(&f.sb), 3000);
    assert_int_equal(fx_next(&f, 0, &seq, &len), AXL_TCP_SACK_SEG_LOST);
    assert_int_equal(seq, 7000);
    axl_tcp_sack_sent(&f.sb, iss + seq, len, AXL_TCP_SACK_SEG_LOST);
    /* Nothing lost or unSACKed below the highest SACK remains above HighRxt;
     * no rescue yet (HighACK has not passed RescueRxt). */
    assert_int_equal(fx_next(&f, 0, &seq, &len), AXL_TCP_SACK_SEG_NONE);
    /* The first retransmission arrives: partial ACK to 4000. Now the rescue
     * (4) may send the highest unSACKed segment, 11, once. */
    assert_int_equal(fx_ack(&f, 4000, 2, 8000, 11000, 5000, 7000), AXL_TCP_SACK_ACK_RECOVERY);
    assert_int_equal(fx_next(&f, 0, &seq, &len), AXL_TCP_SACK_SEG_RESCUE);
    assert_int_equal(seq, 11000);
    assert_int_equal(len, 1000);
    uint32_t hr = f.sb.high_rxt;
    axl_tcp_sack_sent(&f.sb, iss + seq, len, AXL_TCP_SACK_SEG_RESCUE);
    assert_int_equal(f.sb.high_rxt, hr); /* rule (4): HighRxt not updated */
    assert_int_equal(fx_next(&f, 0, &seq, &len), AXL_TCP_SACK_SEG_NONE);
    /* Retransmissions of 4 and 7 arrive: partial ACK to 11000; still one
     * rescue only. */
    assert_int_equal(fx_ack(&f, 11000, 0), AXL_TCP_SACK_ACK_RECOVERY);
    assert_int_equal(fx_next(&f, 0, &seq, &len), AXL_TCP_SACK_SEG_NONE);
    assert_int_equal(fx_ack(&f, 12000, 0), AXL_TCP_SACK_ACK_EXIT);
    check_invariants(&f.sb);
}

static void test_multi_loss(void **state)
{
    (void)state;
    multi_loss(1);
    multi_loss(0xffffd000u);
}

/* Blocks out of order, overlapping, repeated; D-SACK; invalid blocks. */
static void test_blocks(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 0xfffffe00u, 100);
    fx_send_new(&f, 2000);
    assert_int_equal(fx_ack(&f, 0, 1, 500, 600), AXL_TCP_SACK_ACK_LIMITED);
    assert_int_equal(fx_ack(&f, 0, 2, 300, 400, 500, 600), AXL_TCP_SACK_ACK_LIMITED);
    assert_int_equal(f.res.sacked, 100);
    assert_int_equal(f.sb.n, 2);
    /* [400, 500) fills the gap: one merged range. */
    assert_int_equal(fx_ack(&f, 0, 2, 400, 500, 300, 600), AXL_TCP_SACK_ACK_ENTER);
    assert_int_equal(f.sb.n, 1);
    assert_int_equal(O(&f, f.sb.r[0].start), 300);
    assert_int_equal(O(&f, f.sb.r[0].end), 600);
    assert_int_equal(f.sb.sacked, 300);
    /* A covering block: only the new parts count. */
    assert_int_equal(fx_ack(&f, 0, 1, 250, 700), AXL_TCP_SACK_ACK_RECOVERY);
    assert_int_equal(f.res.sacked, 150);
    assert_int_equal(f.sb.sacked, 450);
    /* Nothing new: not a dupack in RFC 6675's sense. */
    assert_int_equal(fx_ack(&f, 0, 2, 300, 700, 250, 600), AXL_TCP_SACK_ACK_RECOVERY);
    assert_int_equal(f.res.sacked, 0);
    assert_false(f.res.dupack);
    /* Separate ranges, reported highest first. */
    fx_ack(&f, 0, 3, 1500, 1600, 1100, 1200, 900, 1000);
    assert_int_equal(f.sb.n, 4);
    check_invariants(&f.sb);
    /* D-SACK (RFC 2883 §4): first block below the cumulative ACK ... */
    fx_ack(&f, 100, 2, 0, 100, 250, 700);
    assert_true(f.res.dsack);
    assert_int_equal(f.res.invalid, 0);
    assert_int_equal(f.res.acked, 100);
    /* ... or inside the second block. */
    fx_ack(&f, 100, 2, 300, 400, 250, 700);
    assert_true(f.res.dsack);
    assert_int_equal(f.sb.sacked, 450 + 300);
    /* Not a D-SACK when only the second position matches. */
    fx_ack(&f, 100, 2, 1100, 1200, 1100, 1150);
    assert_false(f.res.dsack);
    /* Invalid: empty, reversed, starting at or below SND.UNA, beyond SND.MAX,
     * straddling SND.UNA. Counted, ignored. */
    uint32_t before = f.sb.sacked;
    fx_ack(&f, 100, 4, 800, 800, 850, 820, 100, 150, 1900, 2100);
    assert_int_equal(f.res.invalid, 4);
    assert_false(f.res.dsack);
    fx_ack(&f, 100, 1, 50, 150); /* below-ACK left edge: not D-SACK (right > ack), invalid */
    assert_int_equal(f.res.invalid, 1);
    assert_int_equal(f.sb.sacked, before);
    /* A block ending exactly at SND.MAX is fine. */
    fx_ack(&f, 100, 1, 1900, 2000);
    assert_int_equal(f.res.invalid, 0);
    assert_int_equal(f.res.sacked, 100);
    /* Too many blocks or an ACK beyond SND.MAX: refused, nothing changes. */
    assert_int_equal(fx_ack(&f, 2001, 0), AXL_EINVAL);
    assert_int_equal(fx_ack(&f, 100, 5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10), AXL_EINVAL);
    assert_int_equal(O(&f, f.sb.snd_una), 100);
    /* An old ACK moves nothing; its valid blocks still count. */
    assert_int_equal(fx_ack(&f, 50, 1, 1700, 1800), AXL_TCP_SACK_ACK_RECOVERY);
    assert_int_equal(f.res.acked, 0);
    assert_int_equal(f.res.sacked, 100);
    /* The cumulative ACK cuts through a range: the part below goes. */
    assert_int_equal(fx_ack(&f, 1150, 0), AXL_TCP_SACK_ACK_RECOVERY);
    assert_true(f.res.reneged); /* ... and data at SND.UNA is SACKed: reneging */
    assert_int_equal(O(&f, f.sb.r[0].start), 1150);
    check_invariants(&f.sb);
}

/* Small segments: three dupacks enter recovery even though IsLost() is false
 * (§5 step (1)); three discontiguous small ranges make IsLost() true on the
 * first dupack (step (2)). */
static void test_small_segments(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 42, 1000);
    for (int i = 0; i < 10; i++)
        axl_tcp_sack_sent(&f.sb, f.sb.snd_max, 100, AXL_TCP_SACK_SEG_NEW);
    assert_int_equal(fx_ack(&f, 0, 1, 100, 200), AXL_TCP_SACK_ACK_LIMITED);
    assert_int_equal(fx_ack(&f, 0, 1, 100, 300), AXL_TCP_SACK_ACK_LIMITED);
    assert_int_equal(fx_ack(&f, 0, 1, 100, 400), AXL_TCP_SACK_ACK_ENTER);
    assert_false(fx_lost(&f, 0));         /* one range of 300 bytes: 1 segment */
    assert_int_equal(f.res.rxt.len, 100); /* up to the SACKed data */

    fx_init(&f, 42, 1000);
    for (int i = 0; i < 10; i++)
        axl_tcp_sack_sent(&f.sb, f.sb.snd_max, 100, AXL_TCP_SACK_SEG_NEW);
    assert_int_equal(fx_ack(&f, 0, 3, 600, 700, 400, 500, 200, 300), AXL_TCP_SACK_ACK_ENTER);
    assert_int_equal(f.sb.dupacks, 1);
    assert_true(fx_lost(&f, 0));
    assert_true(fx_lost(&f, 199));
    assert_false(fx_lost(&f, 300)); /* only 2 ranges above */
    assert_true(fx_lost(&f, 250));  /* the rest of its own range counts too */
    assert_false(fx_lost(&f, 299)); /* but not at its last octet */

    /* The byte rule: more than 2 SMSS SACKed above in one range. */
    fx_init(&f, 42, 1000);
    fx_send_new(&f, 5000);
    assert_int_equal(fx_ack(&f, 0, 1, 1000, 3001), AXL_TCP_SACK_ACK_ENTER);
    fx_init(&f, 42, 1000);
    fx_send_new(&f, 5000);
    assert_int_equal(fx_ack(&f, 0, 1, 1000, 3000), AXL_TCP_SACK_ACK_LIMITED);
}

/* RFC 2018 §8: a later ACK that no longer reports SACKed data does not make
 * the sender forget it; a cumulative ACK stopping at SACKed data is reneging,
 * and the next RTO then discards the SACK information. Without reneging the
 * RTO keeps it (RFC 6675 §5.1) and the retransmissions skip SACKed data. */
static void test_renege(void **state)
{
    (void)state;
    struct fx f;
    uint32_t seq = 0, len = 0;
    fx_init(&f, 0xffffff00u, 1000);
    fx_send_new(&f, 8000);
    fx_ack(&f, 0, 1, 3000, 5000);
    /* Later ACKs without the block: still SACKed. */
    fx_ack(&f, 1000, 0);
    assert_true(axl_tcp_sack_is_sacked(&f.sb, f.iss + 3000));
    assert_false(f.res.reneged);
    fx_ack(&f, 1000, 1, 6000, 7000);
    assert_true(axl_tcp_sack_is_sacked(&f.sb, f.iss + 4999));
    assert_int_equal(f.sb.sacked, 3000);
    /* RTO without reneging: ranges kept, HighRxt reset, everything unSACKed
     * below RecoveryPoint lost; NextSeg skips the SACKed data. */
    axl_tcp_sack_on_rto(&f.sb);
    assert_int_equal(f.sb.n, 2);
    assert_int_equal(O(&f, f.sb.high_rxt), 1000);
    assert_int_equal(O(&f, f.sb.recovery_point), 8000);
    assert_int_equal(axl_tcp_sack_pipe(&f.sb), 0);
    static const uint32_t want[][2] = {{1000, 1000}, {2000, 1000}, {5000, 1000}, {7000, 1000}};
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(fx_next(&f, 0, &seq, &len), AXL_TCP_SACK_SEG_LOST);
        assert_int_equal(seq, want[i][0]);
        assert_int_equal(len, want[i][1]);
        axl_tcp_sack_sent(&f.sb, f.iss + seq, len, AXL_TCP_SACK_SEG_LOST);
        assert_int_equal(axl_tcp_sack_pipe(&f.sb), (i + 1) * 1000);
    }
    /* Then new data (rule 2); rules 3/4 are not used after an RTO. */
    assert_int_equal(fx_next(&f, 0, &seq, &len), AXL_TCP_SACK_SEG_NONE);
    assert_int_equal(fx_next(&f, 3000, &seq, &len), AXL_TCP_SACK_SEG_NEW);
    assert_int_equal(seq, 8000);

    /* Reneging: the receiver ACKs up to 3000 but not the SACKed [3000, 5000). */
    fx_init(&f, 0xffffff00u, 1000);
    fx_send_new(&f, 8000);
    fx_ack(&f, 0, 1, 3000, 5000);
    assert_int_equal(fx_ack(&f, 3000, 0), AXL_TCP_SACK_ACK_NONE);
    assert_true(f.res.reneged);
    assert_true(axl_tcp_sack_is_sacked(&f.sb, f.iss + 3000)); /* kept (RFC 2018 §8) */
    /* The reneged range still counts above SND.UNA: one more SACKed segment
     * makes HighACK + 1 lost, and the fast retransmit sends from SND.UNA
     * although the scoreboard has it SACKed. */
    assert_int_equal(fx_ack(&f, 3000, 1, 6000, 7000), AXL_TCP_SACK_ACK_ENTER);
    assert_true(f.res.reneged);
    assert_int_equal(O(&f, f.res.rxt.seq), 3000);
    assert_int_equal(f.res.rxt.len, 1000);
    axl_tcp_sack_sent(&f.sb, f.res.rxt.seq, f.res.rxt.len, f.res.rxt.rule);
    /* The RTO discards the SACK information: go-back-N from SND.UNA. */
    axl_tcp_sack_on_rto(&f.sb);
    assert_int_equal(f.sb.n, 0);
    assert_int_equal(f.sb.sacked, 0);
    assert_false(axl_tcp_sack_in_recovery(&f.sb));
    assert_int_equal(axl_tcp_sack_pipe(&f.sb), 0);
    for (uint32_t o = 3000; o < 8000; o += 1000) {
        assert_int_equal(fx_next(&f, 0, &seq, &len), AXL_TCP_SACK_SEG_LOST);
        assert_int_equal(seq, o);
        axl_tcp_sack_sent(&f.sb, f.iss + seq, len, AXL_TCP_SACK_SEG_LOST);
    }
    assert_int_equal(fx_next(&f, 0, &seq, &len), AXL_TCP_SACK_SEG_NONE);
}

/* RTO during recovery (§5.1): RecoveryPoint = HighData, recovery ended, no
 * new recovery until HighACK reaches it. */
static void test_rto_in_recovery(void **state)
{
    (void)state;
    struct fx f;
    uint32_t seq = 0, len = 0;
    fx_init(&f, 7, 1000);
    fx_send_new(&f, 10000);
    assert_int_equal(fx_ack(&f, 0, 1, 1000, 3000), AXL_TCP_SACK_ACK_LIMITED);
    assert_int_equal(fx_ack(&f, 0, 0), AXL_TCP_SACK_ACK_NONE); /* no SACK info: no dupack */
    assert_int_equal(f.sb.dupacks, 1);
    assert_int_equal(fx_ack(&f, 0, 1, 1000, 5000), AXL_TCP_SACK_ACK_ENTER);
    assert_int_equal(f.sb.dupacks, 2); /* entered by IsLost(HighACK + 1), step (2) */
    axl_tcp_sack_sent(&f.sb, f.res.rxt.seq, f.res.rxt.len, f.res.rxt.rule);
    fx_send_new(&f, 2000); /* HighData = 12000 */
    axl_tcp_sack_on_rto(&f.sb);
    assert_false(axl_tcp_sack_in_recovery(&f.sb));
    assert_int_equal(O(&f, f.sb.recovery_point), 12000);
    assert_int_equal(O(&f, f.sb.high_rxt), 0);
    /* Retransmit from SND.UNA, skipping [1000, 5000). */
    assert_int_equal(fx_next(&f, 0, &seq, &len), AXL_TCP_SACK_SEG_LOST);
    assert_int_equal(seq, 0);
    axl_tcp_sack_sent(&f.sb, f.iss + seq, len, AXL_TCP_SACK_SEG_LOST);
    assert_int_equal(fx_next(&f, 0, &seq, &len), AXL_TCP_SACK_SEG_LOST);
    assert_int_equal(seq, 5000);
    axl_tcp_sack_sent(&f.sb, f.iss + seq, len, AXL_TCP_SACK_SEG_LOST);
    /* Dupacks with lots of new SACK data: no recovery before 12000 is ACKed. */
    for (int i = 0; i < 5; i++)
        assert_int_equal(fx_ack(&f, 0, 1, 1000, 8000 + 500 * (uint32_t)i),
                         AXL_TCP_SACK_ACK_AFTER_RTO);
    assert_false(axl_tcp_sack_in_recovery(&f.sb));
    /* pipe: [0, 1000) retransmitted; [5000, 6000) was too but is SACKed now;
     * the rest below 12000 is lost (after the RTO) and not yet resent. */
    assert_int_equal(axl_tcp_sack_pipe(&f.sb), 1000);
    assert_int_equal(fx_ack(&f, 11000, 0), AXL_TCP_SACK_ACK_AFTER_RTO);
    assert_int_equal(fx_ack(&f, 12000, 0), AXL_TCP_SACK_ACK_NONE);
    /* Normal SACK recovery is possible again. */
    fx_send_new(&f, 5000);
    assert_int_equal(fx_ack(&f, 12000, 1, 13000, 16000), AXL_TCP_SACK_ACK_ENTER);
}

/* The range bound: 32 ranges; the policy drops the highest. */
static void test_bounds(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 0xfffffff0u, 10);
    fx_send_new(&f, 1000);
    for (uint32_t i = 0; i < AXL_TCP_SACK_MAX_RANGES; i++) {
        fx_ack(&f, 0, 1, 20 + 20 * i, 30 + 20 * i);
        assert_int_equal(f.res.overflow, 0);
        assert_int_equal(f.res.sacked, 10);
    }
    assert_int_equal(f.sb.n, AXL_TCP_SACK_MAX_RANGES);
    check_invariants(&f.sb);
    /* A new highest range does not fit: it is the one forgotten. */
    fx_ack(&f, 0, 1, 900, 910);
    assert_int_equal(f.res.overflow, 1);
    assert_int_equal(f.res.sacked, 0);
    assert_false(axl_tcp_sack_is_sacked(&f.sb, f.iss + 900));
    assert_int_equal(f.sb.n, AXL_TCP_SACK_MAX_RANGES);
    /* A new low range evicts the current highest, [640, 650). */
    fx_ack(&f, 0, 1, 5, 7);
    assert_int_equal(f.res.overflow, 1);
    assert_true(axl_tcp_sack_is_sacked(&f.sb, f.iss + 5));
    assert_false(axl_tcp_sack_is_sacked(&f.sb, f.iss + 640));
    assert_true(axl_tcp_sack_is_sacked(&f.sb, f.iss + 620));
    check_invariants(&f.sb);
    /* Merging needs no room. */
    fx_ack(&f, 0, 1, 30, 40);
    assert_int_equal(f.res.overflow, 0);
    assert_int_equal(f.sb.n, AXL_TCP_SACK_MAX_RANGES - 1);
    check_invariants(&f.sb);
    /* One block bridging everything collapses the table. */
    fx_ack(&f, 0, 1, 5, 1000);
    assert_int_equal(f.sb.n, 1);
    assert_int_equal(f.sb.sacked, 995);
    check_invariants(&f.sb);
    assert_int_equal(axl_tcp_sack_init(&f.sb, 0, 0, 0), AXL_EINVAL);
    assert_int_equal(axl_tcp_sack_init(&f.sb, 10, 5, 100), AXL_EINVAL);
    assert_int_equal(axl_tcp_sack_set_mss(&f.sb, 70000), AXL_EINVAL);
}

/* --- the brute-force per-byte model ------------------------------------------ */

#define MW (1u << 17) /* bytes of sequence space a random run may use */

struct model {
    uint32_t mss, una, max, high_rxt, rescue, rp; /* offsets from the ISS */
    int rescue_set, rp_set, in_rec, after_rto, reneged;
    unsigned dupacks;
    uint32_t pipe;
    uint8_t *sacked; /* per byte */
    uint8_t *lost;   /* scratch: IsLost per byte */
};

/* IsLost for every byte of [una, max), straight from the definition:
 * DupThresh "segments" SACKed above, a run of L contiguous SACKed bytes
 * counting ceil(L / SMSS); after an RTO, unSACKed bytes below RP. */
static void m_compute_lost(struct model *m)
{
    uint32_t done = 0, run = 0;
    for (uint32_t o = m->max; o-- > m->una;) {
        uint32_t segs = done + (run + m->mss - 1) / m->mss;
        m->lost[o] = segs >= 3;
        if (m->after_rto && o < m->rp && !m->sacked[o]) m->lost[o] = 1;
        if (m->sacked[o]) {
            run++;
        } else {
            done += (run + m->mss - 1) / m->mss;
            run = 0;
        }
    }
}

static void m_set_pipe(struct model *m)
{
    m_compute_lost(m);
    uint32_t p = 0;
    for (uint32_t o = m->una; o < m->max; o++) {
        if (m->sacked[o]) continue;
        if (!m->lost[o]) p++;
        if (o < m->high_rxt) p++;
    }
    m->pipe = p;
}

/* A segment from o, up to SMSS, not into SACKed data, below `lim`. */
static void m_seg(const struct model *m, uint32_t o, uint32_t lim, uint32_t *len)
{
    uint32_t e = o;
    while (e < lim && e - o < m->mss && !m->sacked[e])
        e++;
    *len = e - o;
}

static int m_next_seg(struct model *m, uint32_t avail, uint32_t *seq, uint32_t *len)
{
    m_compute_lost(m);
    int hs_set = 0;
    uint32_t hs = 0; /* highest SACKed octet */
    for (uint32_t o = m->max; o-- > m->una;)
        if (m->sacked[o]) {
            hs = o;
            hs_set = 1;
            break;
        }
    uint32_t lim = m->after_rto ? (m->rp < m->max ? m->rp : m->max) : m->max;
    uint32_t from = m->high_rxt > m->una ? m->high_rxt : m->una;
    /* Rule 1: the smallest qualifying octet, searched over all octets. */
    for (uint32_t o = from; o < m->max; o++) {
        int below = m->after_rto ? o < lim : (hs_set && o < hs);
        if (!m->sacked[o] && below && m->lost[o]) {
            *seq = o;
            m_seg(m, o, lim, len);
            return 1;
        }
    }
    if (avail) {
        *seq = m->max;
        *len = avail < m->mss ? avail : m->mss;
        return 2;
    }
    if (!m->in_rec) return 0;
    for (uint32_t o = from; o < m->max; o++) {
        if (!m->sacked[o] && hs_set && o < hs) {
            *seq = o;
            m_seg(m, o, m->max, len);
            return 3;
        }
    }
    if (m->rescue_set && !(m->una > m->rescue)) return 0;
    for (uint32_t h = m->max; h-- > m->una;) {
        if (m->sacked[h]) continue;
        uint32_t s = h;
        while (s > m->una && !m->sacked[s - 1] && h + 1 - (s - 1) <= m->mss)
            s--;
        *seq = s;
        *len = h + 1 - s;
        return 4;
    }
    return 0;
}

static void m_sent(struct model *m, uint32_t seq, uint32_t len, int rule)
{
    uint32_t end = seq + len;
    if (seq < m->max) {
        if (rule == 4) {
            m->rescue = m->rp;
            m->rescue_set = 1;
        } else {
            uint32_t hi = end < m->max ? end : m->max;
            if (hi > m->high_rxt) m->high_rxt = hi;
        }
    }
    if (end > m->max) m->max = end;
    m->pipe += len;
}

struct m_res {
    uint32_t acked, sacked;
    int dupack, dsack, invalid, reneged;
    uint32_t rxt_seq, rxt_len;
};

static int m_ack(struct model *m, uint32_t ack, const uint32_t (*b)[2], unsigned n, struct m_res *r)
{
    memset(r, 0, sizeof(*r));
    int cumulative = 0;
    if (ack > m->una) {
        r->acked = ack - m->una;
        m->una = ack;
        if (m->high_rxt < ack) m->high_rxt = ack;
        cumulative = 1;
    }
    for (unsigned i = 0; i < n; i++) {
        uint32_t l = b[i][0], rr = b[i][1];
        if (i == 0 && l < rr &&
            (rr <= ack || (n > 1 && b[1][0] < b[1][1] && b[1][0] <= l && rr <= b[1][1]))) {
            r->dsack = 1;
            continue;
        }
        if (!(l < rr) || !(l > m->una) || rr > m->max) {
            r->invalid++;
            continue;
        }
        for (uint32_t o = l; o < rr; o++)
            if (!m->sacked[o]) {
                m->sacked[o] = 1;
                r->sacked++;
            }
    }
    if (m->una < m->max && m->sacked[m->una]) {
        r->reneged = 1;
        m->reneged = 1;
    }
    r->dupack = r->sacked > 0;
    if (cumulative) m->dupacks = 0;
    if (m->in_rec) {
        if (m->una >= m->rp) {
            m->in_rec = 0;
            m->rescue_set = 0;
            return AXL_TCP_SACK_ACK_EXIT;
        }
        m_set_pipe(m);
        return AXL_TCP_SACK_ACK_RECOVERY;
    }
    if (m->after_rto) {
        if (m->una < m->rp) {
            m_set_pipe(m);
            return AXL_TCP_SACK_ACK_AFTER_RTO;
        }
        m->after_rto = 0;
    }
    if (!r->dupack) return AXL_TCP_SACK_ACK_NONE;
    m->dupacks++;
    m_compute_lost(m);
    if (m->dupacks >= 3 || (m->una < m->max && m->lost[m->una])) {
        m->in_rec = 1;
        m->rp = m->max;
        m->rp_set = 1;
        uint32_t e = m->una;
        if (m->sacked[m->una]) /* reneged at SND.UNA: the first SMSS regardless */
            e = m->una + (m->max - m->una < m->mss ? m->max - m->una : m->mss);
        else
            while (e < m->max && e - m->una < m->mss && !m->sacked[e])
                e++;
        r->rxt_seq = m->una;
        r->rxt_len = e - m->una;
        m->high_rxt = m->una;
        m->rescue = e;
        m->rescue_set = 1;
        m_set_pipe(m);
        return AXL_TCP_SACK_ACK_ENTER;
    }
    m->high_rxt = m->una;
    m_set_pipe(m);
    return AXL_TCP_SACK_ACK_LIMITED;
}

static void m_rto(struct model *m)
{
    m->rp = m->max;
    m->rp_set = 1;
    m->after_rto = 1;
    m->in_rec = 0;
    m->rescue_set = 0;
    m->high_rxt = m->una;
    m->dupacks = 0;
    if (m->reneged) {
        memset(m->sacked + m->una, 0, m->max - m->una);
        m->reneged = 0;
    }
    m_set_pipe(m);
}

/* Compare module and model state. */
static void compare(const struct fx *f, struct model *m, struct axl_rand *rng)
{
    const struct axl_tcp_sack *sb = &f->sb;
    assert_int_equal(O(f, sb->snd_una), m->una);
    assert_int_equal(O(f, sb->snd_max), m->max);
    assert_int_equal(O(f, sb->high_rxt), m->high_rxt);
    assert_int_equal(sb->pipe, m->pipe);
    assert_int_equal(sb->dupacks, m->dupacks);
    assert_int_equal(axl_tcp_sack_in_recovery(sb), m->in_rec);
    assert_int_equal(!!(sb->flags & AXL_TCP_SACK_F_AFTER_RTO), m->after_rto);
    if (m->rp_set) assert_int_equal(O(f, sb->recovery_point), m->rp);
    assert_int_equal(!!(sb->flags & AXL_TCP_SACK_F_RESCUE), m->rescue_set);
    if (m->rescue_set) assert_int_equal(O(f, sb->rescue_rxt), m->rescue);
    check_invariants(sb);
    /* The ranges, byte for byte. */
    uint32_t cnt = 0;
    for (uint32_t o = m->una; o < m->max; o++)
        cnt += m->sacked[o];
    assert_int_equal(sb->sacked, cnt);
    for (unsigned i = 0; i < sb->n; i++) {
        uint32_t s = O(f, sb->r[i].start), e = O(f, sb->r[i].end);
        for (uint32_t o = s; o < e; o++)
            assert_true(m->sacked[o]);
        if (s > m->una) assert_false(m->sacked[s - 1]);
        if (e < m->max) assert_false(m->sacked[e]);
    }
    /* IsLost: every byte of small windows, else range edges and samples. */
    m_compute_lost(m);
    uint32_t w = m->max - m->una;
    if (w <= 3000) {
        for (uint32_t o = m->una; o < m->max; o++)
            assert_int_equal(axl_tcp_sack_is_lost(sb, f->iss + o), m->lost[o]);
    } else {
        for (unsigned i = 0; i < sb->n; i++) {
            uint32_t e[4] = {O(f, sb->r[i].start), O(f, sb->r[i].start) - 1, O(f, sb->r[i].end),
                             O(f, sb->r[i].end) - 1};
            for (int k = 0; k < 4; k++)
                if (e[k] >= m->una && e[k] < m->max)
                    assert_int_equal(axl_tcp_sack_is_lost(sb, f->iss + e[k]), m->lost[e[k]]);
        }
        for (int k = 0; k < 64; k++) {
            uint32_t o = m->una + axl_rand_below(rng, w);
            assert_int_equal(axl_tcp_sack_is_lost(sb, f->iss + o), m->lost[o]);
        }
    }
    if (w) assert_false(axl_tcp_sack_is_lost(sb, f->iss + m->max));
}

/* The lossy network and the receiver of a random run. */
struct net {
    uint32_t seg[4096][2]; /* in flight: offset, len */
    unsigned nseg;
    uint8_t *rcvd; /* per byte at the receiver */
    uint32_t rcv_nxt;
};

static void net_send(struct net *n, uint32_t seq, uint32_t len)
{
    if (n->nseg < 4096) {
        n->seg[n->nseg][0] = seq;
        n->seg[n->nseg][1] = len;
        n->nseg++;
    }
}

static void send_segment(struct fx *f, struct model *m, struct net *n, uint32_t seq, uint32_t len,
                         int rule)
{
    axl_tcp_sack_sent(&f->sb, f->iss + seq, len, rule);
    m_sent(m, seq, len, rule);
    net_send(n, seq, len);
}

/* Step (C) (and limited transmit, and slow start after an RTO): send while
 * cwnd - pipe >= SMSS, comparing NextSeg with the model at every step. */
static void send_loop(struct fx *f, struct model *m, struct net *n, struct axl_rand *rng,
                      uint32_t cwnd, uint32_t *budget)
{
    for (int guard = 0; guard < 64 && axl_tcp_sack_can_send(&f->sb, cwnd); guard++) {
        uint32_t avail = axl_rand_below(rng, 4) ? axl_rand_below(rng, 3 * m->mss) : 0;
        if (avail > *budget) avail = *budget;
        struct axl_tcp_sack_seg s;
        uint32_t mseq = 0, mlen = 0;
        int rule = axl_tcp_sack_next_seg(&f->sb, avail, &s);
        int mrule = m_next_seg(m, avail, &mseq, &mlen);
        assert_int_equal(rule, mrule);
        if (!rule) break;
        assert_int_equal(O(f, s.seq), mseq);
        assert_int_equal(s.len, mlen);
        assert_true(s.len > 0);
        if (rule == AXL_TCP_SACK_SEG_NEW) *budget -= s.len;
        send_segment(f, m, n, mseq, mlen, rule);
    }
}

static void random_run(uint64_t seed)
{
    struct axl_rand rng;
    axl_rand_seed(&rng, seed);
    static const uint32_t mss_choice[] = {1, 3, 10, 100, 536};
    uint32_t mss = mss_choice[axl_rand_below(&rng, 5)];
    uint32_t iss = axl_rand_below(&rng, 2) ? (uint32_t)axl_rand_u64(&rng)
                                           : 0u - axl_rand_below(&rng, 3 * mss * 20 + 1);
    uint32_t cwnd = mss * (2 + axl_rand_below(&rng, 20));
    uint32_t loss_ppm = 10000 + axl_rand_below(&rng, 200000);
    struct fx f;
    fx_init(&f, iss, mss);
    struct model m = {.mss = mss};
    m.sacked = calloc(MW + 1, 1);
    m.lost = calloc(MW + 1, 1);
    struct net *n = calloc(1, sizeof(*n));
    n->rcvd = calloc(MW + 1, 1);
    assert_non_null(m.sacked);
    assert_non_null(m.lost);
    assert_non_null(n->rcvd);
    uint32_t budget = MW - 64 * mss; /* new data still allowed */

    for (int step = 0; step < 400; step++) {
        unsigned what = axl_rand_below(&rng, 100);
        struct axl_tcp_sack_ack_res res;
        if (what < 25 || n->nseg == 0) {
            /* Sending outside recovery: new data while the flight fits cwnd. */
            if (!axl_tcp_sack_in_recovery(&f.sb) && !(f.sb.flags & AXL_TCP_SACK_F_AFTER_RTO)) {
                while (m.max - m.una + mss <= cwnd && budget >= mss) {
                    send_segment(&f, &m, n, m.max, mss, AXL_TCP_SACK_SEG_NEW);
                    budget -= mss;
                }
            } else {
                send_loop(&f, &m, n, &rng, cwnd, &budget);
            }
            if (n->nseg == 0 && m.max == m.una) break; /* all done */
            if (n->nseg == 0) {
                /* Everything in flight vanished: the timer fires. */
                axl_tcp_sack_on_rto(&f.sb);
                m_rto(&m);
                compare(&f, &m, &rng);
                send_loop(&f, &m, n, &rng, cwnd, &budget);
            }
            compare(&f, &m, &rng);
            continue;
        }
        if (what < 26) {
            axl_tcp_sack_on_rto(&f.sb);
            m_rto(&m);
            compare(&f, &m, &rng);
            send_loop(&f, &m, n, &rng, cwnd, &budget);
            compare(&f, &m, &rng);
            continue;
        }
        if (what < 27 && axl_rand_below(&rng, 4) == 0) {
            /* The receiver reneges on everything out of order. */
            memset(n->rcvd + n->rcv_nxt, 0, MW - n->rcv_nxt);
            continue;
        }
        /* Deliver one segment: mostly the oldest, sometimes another
         * (reordering); some are lost, some duplicated. */
        unsigned idx = axl_rand_below(&rng, 4) ? 0 : axl_rand_below(&rng, n->nseg);
        uint32_t s = n->seg[idx][0], len = n->seg[idx][1];
        if (axl_rand_below(&rng, 10)) {
            memmove(&n->seg[idx], &n->seg[idx + 1], (n->nseg - idx - 1) * sizeof(n->seg[0]));
            n->nseg--;
        }
        if (axl_rand_ppm(&rng, loss_ppm)) continue;
        int dup = 1;
        for (uint32_t o = s; o < s + len; o++) {
            if (!n->rcvd[o] && o >= n->rcv_nxt) dup = 0;
            n->rcvd[o] = 1;
        }
        while (n->rcvd[n->rcv_nxt])
            n->rcv_nxt++;
        /* The ACK: cumulative, then the block of the arriving segment first
         * (RFC 2018 §4), then other out-of-order ranges, or a D-SACK first
         * for a duplicate (RFC 2883), sometimes a bogus block. */
        uint32_t b[AXL_TCP_SACK_MAX_BLOCKS][2];
        unsigned nb = 0;
        uint32_t ack = n->rcv_nxt;
        if (dup && axl_rand_below(&rng, 2)) {
            b[nb][0] = s;
            b[nb][1] = s + len;
            nb++;
        }
        /* Out-of-order ranges above rcv_nxt (up to the highest byte sent). */
        uint32_t rr[64][2];
        unsigned nr = 0;
        for (uint32_t o = ack; o < m.max && nr < 64;) {
            if (!n->rcvd[o]) {
                o++;
                continue;
            }
            uint32_t e = o;
            while (e < m.max && n->rcvd[e])
                e++;
            rr[nr][0] = o;
            rr[nr][1] = e;
            nr++;
            o = e;
        }
        /* The range holding the arriving segment first. */
        for (unsigned i = 0; i < nr && nb < AXL_TCP_SACK_MAX_BLOCKS; i++)
            if (rr[i][0] <= s && s < rr[i][1]) {
                b[nb][0] = rr[i][0];
                b[nb][1] = rr[i][1];
                nb++;
                rr[i][1] = rr[i][0]; /* used */
            }
        while (nb < 3 && nr) {
            unsigned i = axl_rand_below(&rng, nr);
            if (rr[i][1] > rr[i][0]) {
                b[nb][0] = rr[i][0];
                b[nb][1] = rr[i][1];
                nb++;
                rr[i][1] = rr[i][0];
            } else if (axl_rand_below(&rng, 3) == 0) {
                break;
            }
        }
        if (nb < AXL_TCP_SACK_MAX_BLOCKS && axl_rand_below(&rng, 20) == 0) {
            uint32_t l = axl_rand_below(&rng, m.max + 10), r = axl_rand_below(&rng, m.max + 10);
            b[nb][0] = l;
            b[nb][1] = r;
            nb++;
        }
        if (axl_rand_below(&rng, 20) == 0) continue; /* the ACK is lost */
        struct axl_tcp_sack_block blk[AXL_TCP_SACK_MAX_BLOCKS];
        for (unsigned i = 0; i < nb; i++) {
            blk[i].left = iss + b[i][0];
            blk[i].right = iss + b[i][1];
        }
        int v = axl_tcp_sack_on_ack(&f.sb, iss + ack, blk, nb, &res);
        struct m_res mr;
        int mv = m_ack(&m, ack, (const uint32_t(*)[2])b, nb, &mr);
        assert_int_equal(v, mv);
        assert_int_equal(res.acked, mr.acked);
        assert_int_equal(res.sacked, mr.sacked);
        assert_int_equal(res.dupack, mr.dupack);
        assert_int_equal(res.dsack, mr.dsack);
        assert_int_equal(res.invalid, mr.invalid);
        assert_int_equal(res.reneged, mr.reneged);
        assert_int_equal(res.overflow, 0);
        compare(&f, &m, &rng);
        if (v == AXL_TCP_SACK_ACK_ENTER) {
            assert_int_equal(O(&f, res.rxt.seq), mr.rxt_seq);
            assert_int_equal(res.rxt.len, mr.rxt_len);
            send_segment(&f, &m, n, mr.rxt_seq, mr.rxt_len, AXL_TCP_SACK_SEG_FAST_RXT);
        }
        if (v != AXL_TCP_SACK_ACK_NONE && v != AXL_TCP_SACK_ACK_EXIT)
            send_loop(&f, &m, n, &rng, cwnd, &budget);
        compare(&f, &m, &rng);
    }
    free(m.sacked);
    free(m.lost);
    free(n->rcvd);
    free(n);
}

static void test_random_vs_model(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 300; seed++)
        random_run(seed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_loss), cmocka_unit_test(test_multi_loss),
        cmocka_unit_test(test_blocks),   cmocka_unit_test(test_small_segments),
        cmocka_unit_test(test_renege),   cmocka_unit_test(test_rto_in_recovery),
        cmocka_unit_test(test_bounds),   cmocka_unit_test(test_random_vs_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
