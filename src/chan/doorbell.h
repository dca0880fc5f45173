/* SPDX-License-Identifier: MIT */
/*
 * doorbell.h - shared-futex helpers for the channel doorbells (doorbell.c).
 * Internal to src/chan/.
 */
#ifndef AXL_CHAN_DOORBELL_H
#define AXL_CHAN_DOORBELL_H

#include <stdatomic.h>
#include <stdint.h>

#include "core/ring.h"

/** A sleep word that has not changed is woken again at most this often. */
#define AXL_DOORBELL_REWAKE_NS (1000ull * 1000ull)

/* The value a sleeper stores in its flags word: NEED_WAKEUP plus the low 31
 * bits of the peer activity value it waits to see change. */
static inline uint32_t axl_doorbell_sleep_word(uint32_t seen)
{
    return ((seen & 0x7fffffffu) << 1) | AXL_RING_F_NEED_WAKEUP;
}

/* Waker state: the sleep word it last woke, and when. */
struct axl_doorbell_waker {
    uint32_t last_word;
    uint64_t last_ns;
};

/* After bumping its activity word to `act`, the waker read the sleeper's word
 * `f`: 1 if a FUTEX_WAKE is needed now. Not when the sleeper does not sleep,
 * nor when it already saw `act`, nor a second time for the same sleep word
 * (the first wake came after a bump the sleeper had not seen, so it either
 * woke the sleeper or made its FUTEX_WAIT return at once), except after
 * AXL_DOORBELL_REWAKE_NS as a bound on a word a hostile peer freezes. *suppressed
 * is set when only that rule held the wake back. */
static inline int axl_doorbell_need_wake(struct axl_doorbell_waker *w, uint32_t f, uint32_t act,
                                         uint64_t now, int *suppressed)
{
    *suppressed = 0;
    if (!(f & AXL_RING_F_NEED_WAKEUP) || (f >> 1) == (act & 0x7fffffffu)) return 0;
    if (f == w->last_word && now - w->last_ns < AXL_DOORBELL_REWAKE_NS) {
        *suppressed = 1;
        return 0;
    }
    w->last_word = f;
    w->last_ns = now;
    return 1;
}

/* What axl_doorbell_kick did. */
enum axl_doorbell_kicked {
    AXL_DOORBELL_NO_SLEEPER = 0, /* the peer was not asleep: no syscall */
    AXL_DOORBELL_NOT_NEEDED,     /* asleep, but already saw the bump (or woken before) */
    AXL_DOORBELL_SUPPRESSED,     /* held back by the re-wake bound only */
    AXL_DOORBELL_WOKE,           /* FUTEX_WAKE issued */
};

/* The waker's half of the protocol: bump our `activity` word (the peer
 * sleeps on it), full fence (pairs with the sleeper's prepare_sleep), read
 * the sleeper's flags word and wake it only when axl_doorbell_need_wake()
 * says so: FUTEX_WAKE on `activity`, or, when bell_fd >= 0 (the peer sleeps
 * in poll(2): abi.h AXL_CHAN_MSG_HELLO), an 8-byte write to that eventfd.
 * The clock is read only when the peer sleeps, so a busy pair costs no clock
 * read and no syscall. */
enum axl_doorbell_kicked axl_doorbell_kick(struct axl_doorbell_waker *w, _Atomic uint32_t *activity,
                                           _Atomic uint32_t *peer_flags, int bell_fd);

/* The two halves of axl_doorbell_kick, for a waker that publishes at once but
 * wakes later (the replica: once at the end of its burst, svc.c): bump makes
 * the news visible to a peer that is awake or about to sleep (its
 * prepare_sleep sees the word move), ring is the fence + look + wake of
 * axl_doorbell_kick for the value bumped last. No wake-up is lost as long as
 * every bump is followed by a ring (the Dekker pair is bump ... fence, load
 * against store, fence, load). */
static inline uint32_t axl_doorbell_bump(_Atomic uint32_t *activity)
{
    return atomic_fetch_add_explicit(activity, 1, memory_order_seq_cst) + 1;
}
enum axl_doorbell_kicked axl_doorbell_ring(struct axl_doorbell_waker *w, _Atomic uint32_t *activity,
                                           _Atomic uint32_t *peer_flags, int bell_fd);

/* FUTEX_WAIT while *word == val, at most timeout_ns (0: no limit).
 * 1 woken (or the word had moved, or a signal), 0 timed out, negative errno. */
int axl_futex_wait(const _Atomic uint32_t *word, uint32_t val, uint64_t timeout_ns);

/* FUTEX_WAKE every waiter on word; number woken or negative errno. */
int axl_futex_wake(const _Atomic uint32_t *word);

/* futex_waitv over n <= 128 words: index woken, -ETIMEDOUT, -EAGAIN (one of
 * them already differs), or negative errno. */
int axl_futex_waitv(const _Atomic uint32_t *const *words, const uint32_t *vals, unsigned n,
                    uint64_t timeout_ns);

#endif
