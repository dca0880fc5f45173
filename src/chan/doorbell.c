/* SPDX-License-Identifier: MIT */
/*
 * doorbell.c - the futex calls behind the channel doorbells (the protocol
 * around them is in stk.c / app.c and docs/API.md "Sleeping").
 *
 * A doorbell is the peer's activity word: the sleeper waits on the word its
 * peer bumps, with the value it last acted on, so a bump between its last
 * check and the wait makes FUTEX_WAIT return at once (no lost wake-up). The
 * words live in MAP_SHARED memfd mappings of different processes, so the
 * futexes are shared ones (no FUTEX_PRIVATE_FLAG); waiting and waking work on
 * a read-only mapping (the kernel keys a shared futex by inode and offset).
 *
 * Called by: stk.c, app.c.
 */
#include "chan/doorbell.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"

enum axl_doorbell_kicked axl_doorbell_kick(struct axl_doorbell_waker *w, _Atomic uint32_t *activity,
                                           _Atomic uint32_t *peer_flags, int bell_fd)
{
    axl_doorbell_bump(activity);
    return axl_doorbell_ring(w, activity, peer_flags, bell_fd);
}

enum axl_doorbell_kicked axl_doorbell_ring(struct axl_doorbell_waker *w, _Atomic uint32_t *activity,
                                           _Atomic uint32_t *peer_flags, int bell_fd)
{
    int supp;
    atomic_thread_fence(memory_order_seq_cst);
    /* only we write our activity word: this is the value bumped last */
    uint32_t act = atomic_load_explicit(activity, memory_order_relaxed);
    uint32_t f = atomic_load_explicit(peer_flags, memory_order_relaxed);
    if (!(f & AXL_RING_F_NEED_WAKEUP)) return AXL_DOORBELL_NO_SLEEPER;
    if (!axl_doorbell_need_wake(w, f, act, axl_clock_ns(), &supp))
        return supp ? AXL_DOORBELL_SUPPRESSED : AXL_DOORBELL_NOT_NEEDED;
    if (bell_fd >= 0) {
        uint64_t one = 1;
        /* EAGAIN: the counter is saturated, so the sleeper is awake anyway */
        ssize_t r = write(bell_fd, &one, sizeof(one));
        (void)r;
    } else {
        axl_futex_wake(activity);
    }
    return AXL_DOORBELL_WOKE;
}

int axl_futex_wait(const _Atomic uint32_t *word, uint32_t val, uint64_t timeout_ns)
{
    struct timespec ts = {.tv_sec = (time_t)(timeout_ns / 1000000000ull),
                          .tv_nsec = (long)(timeout_ns % 1000000000ull)};
    long r =
        syscall(SYS_futex, (const void *)word, FUTEX_WAIT, val, timeout_ns ? &ts : NULL, NULL, 0);
    if (r == 0) return 1;
    if (errno == ETIMEDOUT) return 0;
    if (errno == EAGAIN || errno == EINTR) return 1; /* the word moved / a signal: look again */
    return -errno;
}

int axl_futex_wake(const _Atomic uint32_t *word)
{
    long r = syscall(SYS_futex, (const void *)word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
    return r < 0 ? -errno : (int)r;
}

int axl_futex_waitv(const _Atomic uint32_t *const *words, const uint32_t *vals, unsigned n,
                    uint64_t timeout_ns)
{
    struct futex_waitv w[FUTEX_WAITV_MAX];
    struct timespec abs;
    if (n == 0 || n > FUTEX_WAITV_MAX) return AXL_EINVAL;
    for (unsigned i = 0; i < n; i++) {
        w[i].val = vals[i];
        w[i].uaddr = (uint64_t)(uintptr_t)words[i];
        w[i].flags = FUTEX_32; /* shared: no FUTEX_PRIVATE_FLAG */
        w[i].__reserved = 0;
    }
    if (timeout_ns) {
        clock_gettime(CLOCK_MONOTONIC, &abs);
        uint64_t ns = (uint64_t)abs.tv_nsec + timeout_ns % 1000000000ull;
        abs.tv_sec += (time_t)(timeout_ns / 1000000000ull + ns / 1000000000ull);
        abs.tv_nsec = (long)(ns % 1000000000ull);
    }
    long r = syscall(SYS_futex_waitv, w, n, 0, timeout_ns ? &abs : NULL, CLOCK_MONOTONIC);
    if (r >= 0) return (int)r;
    return -errno;
}
