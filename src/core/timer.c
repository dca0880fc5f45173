/* SPDX-License-Identifier: MIT */
/*
 * timer.c - hierarchical timing wheel (timer.h), Varghese & Lauck scheme 6
 * with cascading, as in the classic Linux wheel.
 *
 * Placement. A timer due at tick e, armed when the next tick to process is
 * `now` (tw->now_tick), goes to
 *     level L = floor(log64(e - now))   (level 0 when e - now < 64)
 *     slot    = (e >> 6L) & 63
 * Level 0 slots therefore hold exactly one deadline each. A level-L slot is
 * emptied ("cascaded") at the first tick t >= now with t % 64^L == 0 and
 * (t >> 6L) & 63 == slot, which is exactly e rounded down to 64^L: its timers
 * are re-placed relative to t and land on a lower level. The distance in slot
 * index is at most 63, so a slot never holds timers of two different rounds.
 * Deadlines beyond the span (64^5 ticks) are placed as if due at the span's
 * last tick and re-placed (possibly parked again) when that slot cascades.
 *
 * Advancing. Only "event ticks" are visited: the next non-empty level-0 slot
 * or the next cascade of a non-empty higher slot, found from one 64-bit
 * occupancy word per level (rotate + count trailing zeros). Skipping the
 * ticks between is equivalent to processing them, since they touch only
 * empty slots, so an idle engine waking after ten seconds does a handful of
 * bit operations, not ten thousand slot visits.
 *
 * Firing. The due slot is spliced onto a list on the stack and now_tick moves
 * past it before any callback runs; each timer is unlinked (disarmed) just
 * before its callback. A callback may therefore stop, start or re-arm any
 * timer, the firing one and those still waiting on the local list included;
 * a timer re-armed for the tick being fired or earlier goes to the pending
 * list and runs on the next advance (so a callback re-arming itself at 0 delay
 * cannot spin the loop).
 *
 * axl_tw_next_ns: exact for level-0 timers; for a higher level, the minimum
 * deadline of its next slot to cascade (every later slot of that level is due
 * later), found by scanning at most AXL_TW_SCAN_MAX timers of that slot; a
 * longer slot yields its cascade tick, a lower bound. Either way the engine
 * never sleeps past a deadline, and at worst wakes once early per level.
 *
 * Call chain: engine loop -> axl_tw_advance(now) -> callbacks (tcp
 * retransmit, delayed ACK, persist, keep-alive, TIME_WAIT, ARP aging);
 * engine sleep -> axl_tw_next_ns(now) as the poll timeout.
 */
#include <stddef.h>
#include <stdint.h>

#include "core/clock.h"
#include "core/timer.h"

#define TW_SPAN_BITS ((unsigned)(AXL_TW_LEVELS * AXL_TW_BITS))
#define TW_SPAN      (1ull << TW_SPAN_BITS) /* ticks covered by the wheel */
#define TW_MASK      (AXL_TW_SLOTS - 1u)

/** AXL_TW_SCAN_MAX: timers axl_tw_next_ns looks at in one higher-level slot
 *  to give an exact answer; beyond that it answers the slot's cascade tick. */
#define AXL_TW_SCAN_MAX 16

/* --- circular doubly linked lists with a sentinel ------------------------ */

static inline void list_init(struct axl_timer *h)
{
    h->next = h;
    h->prev = h;
}
static inline int list_empty(const struct axl_timer *h)
{
    return h->next == h;
}
static inline void list_add_tail(struct axl_timer *h, struct axl_timer *t)
{
    t->prev = h->prev;
    t->next = h;
    h->prev->next = t;
    h->prev = t;
}
/* Move every node of `from` onto the empty list `to`; `from` becomes empty. */
static inline void list_splice_init(struct axl_timer *from, struct axl_timer *to)
{
    list_init(to);
    if (list_empty(from)) return;
    to->next = from->next;
    to->prev = from->prev;
    to->next->prev = to;
    to->prev->next = to;
    list_init(from);
}

/* Unlink an armed timer from whatever list holds it (a slot, the pending list
 * or a firing list on the stack). When that leaves a wheel slot empty, its
 * occupancy bit is cleared: the remaining neighbour is then the slot's own
 * sentinel, recognised by address. */
static void tw_unlink(struct axl_timer_wheel *tw, struct axl_timer *t)
{
    struct axl_timer *n = t->next, *p = t->prev;
    p->next = n;
    n->prev = p;
    t->next = NULL;
    t->prev = NULL;
    if (n == p) {
        uintptr_t off = (uintptr_t)n - (uintptr_t)&tw->slots[0][0];
        if (off < sizeof(tw->slots)) {
            size_t i = off / sizeof(struct axl_tw_slot);
            tw->occupied[i / AXL_TW_SLOTS] &= ~(1ull << (i % AXL_TW_SLOTS));
        }
    }
}

/* --- placement ------------------------------------------------------------ */

static void tw_place(struct axl_timer_wheel *tw, struct axl_timer *t)
{
    uint64_t now = tw->now_tick, e = t->expires;
    if (e < now) {
        list_add_tail(&tw->pending, t);
        return;
    }
    uint64_t delta = e - now, at = e;
    if (delta >= TW_SPAN) { /* park: re-placed when this slot cascades */
        delta = TW_SPAN - 1;
        at = now + delta;
    }
    unsigned lvl = delta < AXL_TW_SLOTS ? 0 : (unsigned)(63 - __builtin_clzll(delta)) / AXL_TW_BITS;
    unsigned slot = (unsigned)(at >> (lvl * AXL_TW_BITS)) & TW_MASK;
    list_add_tail(&tw->slots[lvl][slot].head, t);
    tw->occupied[lvl] |= 1ull << slot;
}

/* Distance from slot s to the first set bit of `bits` at or after s, cyclically. */
static inline unsigned first_set_from(uint64_t bits, unsigned s)
{
    uint64_t r = s ? (bits >> s) | (bits << (64 - s)) : bits;
    return (unsigned)__builtin_ctzll(r);
}

/* The next tick >= now_tick at which level `lvl` has work: the deadline of its
 * next non-empty slot (level 0) or that slot's cascade tick. UINT64_MAX if the
 * level is empty. */
static uint64_t level_next_tick(const struct axl_timer_wheel *tw, unsigned lvl)
{
    uint64_t bits = tw->occupied[lvl];
    if (!bits) return UINT64_MAX;
    unsigned sh = lvl * AXL_TW_BITS;
    uint64_t now = tw->now_tick;
    uint64_t k0 = (now >> sh) + ((now & ((1ull << sh) - 1)) != 0); /* ceil(now / 64^lvl) */
    uint64_t k = k0 + first_set_from(bits, (unsigned)(k0 & TW_MASK));
    if (k > (UINT64_MAX >> sh)) return UINT64_MAX;
    return k << sh;
}

static uint64_t next_event_tick(const struct axl_timer_wheel *tw)
{
    uint64_t best = UINT64_MAX;
    for (unsigned l = 0; l < AXL_TW_LEVELS; l++) {
        uint64_t t = level_next_tick(tw, l);
        if (t < best) best = t;
    }
    return best;
}

/* --- public API ----------------------------------------------------------- */

void axl_tw_init(struct axl_timer_wheel *tw, uint64_t now_ns, uint64_t tick_ns)
{
    tw->tick_ns = tick_ns ? tick_ns : AXL_NS_PER_MS;
    tw->now_tick = 0;
    tw->origin_ns = now_ns;
    tw->armed = 0;
    tw->fired = 0;
    for (unsigned l = 0; l < AXL_TW_LEVELS; l++) {
        tw->occupied[l] = 0;
        for (unsigned s = 0; s < AXL_TW_SLOTS; s++)
            list_init(&tw->slots[l][s].head);
    }
    list_init(&tw->pending);
    tw->pending.expires = 0;
    tw->pending.fn = NULL;
    tw->pending.arg = NULL;
}

void axl_timer_init(struct axl_timer *t, axl_timer_fn fn, void *arg)
{
    t->next = NULL;
    t->prev = NULL;
    t->expires = 0;
    t->fn = fn;
    t->arg = arg;
}

/* Tick of a deadline, rounded up so that a timer never fires early. */
static uint64_t tw_tick_of(const struct axl_timer_wheel *tw, uint64_t when_ns)
{
    if (when_ns <= tw->origin_ns) return 0;
    uint64_t d = when_ns - tw->origin_ns;
    return d / tw->tick_ns + (d % tw->tick_ns != 0);
}

void axl_timer_stop(struct axl_timer_wheel *tw, struct axl_timer *t)
{
    if (!t->prev) return;
    tw_unlink(tw, t);
    tw->armed--;
}

void axl_timer_start_at(struct axl_timer_wheel *tw, struct axl_timer *t, uint64_t when_ns)
{
    axl_timer_stop(tw, t);
    t->expires = tw_tick_of(tw, when_ns);
    tw_place(tw, t);
    tw->armed++;
}

uint64_t axl_tw_now_ns(const struct axl_timer_wheel *tw)
{
    if (tw->now_tick > (UINT64_MAX - tw->origin_ns) / tw->tick_ns) return UINT64_MAX;
    return tw->origin_ns + tw->now_tick * tw->tick_ns;
}

void axl_timer_start(struct axl_timer_wheel *tw, struct axl_timer *t, uint64_t delay_ns)
{
    uint64_t now = axl_tw_now_ns(tw);
    axl_timer_start_at(tw, t, delay_ns > UINT64_MAX - now ? UINT64_MAX : now + delay_ns);
}

/* Run every timer on `list` (a list on the caller's stack). */
static uint32_t tw_fire_list(struct axl_timer_wheel *tw, struct axl_timer *list)
{
    uint32_t n = 0;
    while (!list_empty(list)) {
        struct axl_timer *t = list->next;
        tw_unlink(tw, t); /* disarmed before the callback: it may re-arm */
        tw->armed--;
        tw->fired++;
        n++;
        t->fn(t, t->arg);
    }
    return n;
}

/* Process event tick t (== tw->now_tick): cascades, then level-0 slot t. */
static uint32_t tw_run_tick(struct axl_timer_wheel *tw, uint64_t t)
{
    struct axl_timer local;
    for (unsigned l = AXL_TW_LEVELS - 1; l >= 1; l--) {
        unsigned sh = l * AXL_TW_BITS;
        if (t & ((1ull << sh) - 1)) continue;
        unsigned s = (unsigned)(t >> sh) & TW_MASK;
        if (!(tw->occupied[l] & (1ull << s))) continue;
        list_splice_init(&tw->slots[l][s].head, &local);
        tw->occupied[l] &= ~(1ull << s);
        while (!list_empty(&local)) {
            struct axl_timer *x = local.next;
            tw_unlink(tw, x);
            tw_place(tw, x); /* relative to t: lands on a lower level */
        }
    }

    unsigned s0 = (unsigned)t & TW_MASK;
    tw->now_tick = t + 1;
    if (!(tw->occupied[0] & (1ull << s0))) return 0;
    list_splice_init(&tw->slots[0][s0].head, &local);
    tw->occupied[0] &= ~(1ull << s0);
    return tw_fire_list(tw, &local);
}

uint32_t axl_tw_advance(struct axl_timer_wheel *tw, uint64_t now_ns)
{
    uint32_t fired = 0;
    struct axl_timer local;

    if (!list_empty(&tw->pending)) { /* overdue when armed: run those armed so far */
        list_splice_init(&tw->pending, &local);
        fired += tw_fire_list(tw, &local);
    }
    if (now_ns < tw->origin_ns) return fired;
    uint64_t target = (now_ns - tw->origin_ns) / tw->tick_ns; /* last tick now due */
    if (target == UINT64_MAX) target--;
    /* Hot when timers are dense: one iteration per event tick. */
    while (tw->now_tick <= target) {
        uint64_t t = next_event_tick(tw);
        if (t > target) {
            tw->now_tick = target + 1;
            break;
        }
        tw->now_tick = t;
        fired += tw_run_tick(tw, t);
    }
    return fired;
}

uint64_t axl_tw_next_ns(const struct axl_timer_wheel *tw, uint64_t now_ns)
{
    if (!list_empty(&tw->pending)) return 0;
    if (tw->armed == 0) return UINT64_MAX;

    uint64_t best = level_next_tick(tw, 0); /* exact */
    for (unsigned l = 1; l < AXL_TW_LEVELS; l++) {
        uint64_t c = level_next_tick(tw, l);
        if (c >= best) continue; /* every timer of this level is due at or after c */
        unsigned sh = l * AXL_TW_BITS;
        const struct axl_timer *head = &tw->slots[l][(c >> sh) & TW_MASK].head;
        /* Later slots of this level cascade (and are due) at c + 64^l or after. */
        uint64_t lb = c > UINT64_MAX - (1ull << sh) ? UINT64_MAX : c + (1ull << sh);
        unsigned seen = 0;
        const struct axl_timer *x;
        for (x = head->next; x != head && seen < AXL_TW_SCAN_MAX; x = x->next, seen++)
            if (x->expires < lb) lb = x->expires;
        if (x != head) lb = c; /* slot too long to scan: its cascade tick is the bound */
        if (lb < best) best = lb;
    }
    if (best == UINT64_MAX || best > (UINT64_MAX - tw->origin_ns) / tw->tick_ns) return UINT64_MAX;
    uint64_t due_ns = tw->origin_ns + best * tw->tick_ns;
    return due_ns > now_ns ? due_ns - now_ns : 0;
}
