/* SPDX-License-Identifier: MIT */
/*
 * timer.h - hierarchical timing wheel (Varghese & Lauck, scheme 6).
 *
 * Time is counted in ticks of `tick_ns` (default 1 ms). AXL_TW_LEVELS levels
 * of AXL_TW_SLOTS slots each; level L covers 64^(L+1) ticks. A timer further
 * out than the wheel's span is parked in the top-level slot at the far end of
 * the span and re-cascaded until due, so any 64-bit deadline is accepted.
 *
 * Timers are intrusive (embed struct axl_timer in your object): start, stop and
 * re-arm are O(1); advancing is O(1) amortised per tick plus O(expired).
 * No allocation ever. Single-threaded, per replica.
 *
 * Deadlines are rounded *up* to a tick boundary: a timer never fires before
 * its deadline and, when the engine advances on time, at most one tick after.
 * A deadline at or before an already processed tick (the past) fires on the
 * next axl_tw_advance() call, whatever its now_ns.
 *
 * Callbacks may start/stop any timer, including the one firing. A callback
 * must not call axl_tw_advance() itself. The wheel holds pointers into itself:
 * never copy an initialised wheel.
 */
#ifndef AXL_CORE_TIMER_H
#define AXL_CORE_TIMER_H

#include <stdint.h>

#define AXL_TW_BITS   6
#define AXL_TW_SLOTS  (1u << AXL_TW_BITS)
#define AXL_TW_LEVELS 5 /* 64^5 ticks = 2^30 ms ~ 12.4 days at 1 ms/tick */

struct axl_timer;
typedef void (*axl_timer_fn)(struct axl_timer *t, void *arg);

struct axl_timer {
    struct axl_timer *next, *prev; /* slot list; prev == NULL when not armed */
    uint64_t expires;              /* absolute tick */
    axl_timer_fn fn;
    void *arg;
};

struct axl_tw_slot {
    struct axl_timer head; /* sentinel of a circular list */
};

struct axl_timer_wheel {
    uint64_t tick_ns;       /* nanoseconds per tick */
    uint64_t now_tick;      /* every tick < now_tick has been processed */
    uint64_t origin_ns;     /* ns value that maps to tick 0 */
    uint32_t armed;         /* number of armed timers */
    uint64_t fired;         /* total callbacks run */
    struct axl_tw_slot slots[AXL_TW_LEVELS][AXL_TW_SLOTS];
    /* Bit s of occupied[L] is set iff slots[L][s] is non-empty: finding the
     * next event is a few bit operations, never a scan of the 320 slots. */
    uint64_t occupied[AXL_TW_LEVELS];
    /* Timers armed for a tick already processed: run by the next advance. */
    struct axl_timer pending;
};
_Static_assert(AXL_TW_SLOTS == 64, "occupied[] is one 64-bit word per level");

/* now_ns: the current monotonic time, becomes tick 0. tick_ns > 0 (0 is taken
 * as 1 ms). */
void axl_tw_init(struct axl_timer_wheel *tw, uint64_t now_ns, uint64_t tick_ns);
/* Prepare a timer (not armed). */
void axl_timer_init(struct axl_timer *t, axl_timer_fn fn, void *arg);
/* Arm (or re-arm) to fire at absolute time `when_ns`; a time in the past fires
 * on the next advance. */
void axl_timer_start_at(struct axl_timer_wheel *tw, struct axl_timer *t, uint64_t when_ns);
/* Arm relative to the wheel's current time. */
void axl_timer_start(struct axl_timer_wheel *tw, struct axl_timer *t, uint64_t delay_ns);
/* Disarm; harmless on an unarmed timer. */
void axl_timer_stop(struct axl_timer_wheel *tw, struct axl_timer *t);
static inline int axl_timer_armed(const struct axl_timer *t) { return t->prev != 0; }
/* Run every timer due at or before now_ns. Returns the number fired. */
uint32_t axl_tw_advance(struct axl_timer_wheel *tw, uint64_t now_ns);
/* Nanoseconds from now_ns until the earliest armed timer could be due
 * (a lower bound, never later than the true deadline); UINT64_MAX if none.
 * The engine uses it as its sleep timeout. */
uint64_t axl_tw_next_ns(const struct axl_timer_wheel *tw, uint64_t now_ns);
/* Current wheel time in ns (origin + now_tick * tick_ns): the start of the
 * first tick not yet processed, so after advance(now) it is in (now, now+tick]. */
uint64_t axl_tw_now_ns(const struct axl_timer_wheel *tw);

#endif
