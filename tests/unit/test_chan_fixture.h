/* SPDX-License-Identifier: MIT */
/*
 * test_chan_fixture.h - shared helpers of the channel tests (test_chan_*.c):
 * a channel with both sides mapped in one process (the stack side maps STK
 * read-write and APP read-only, the app side the reverse, at other
 * addresses), small parameters, a byte pattern with a long period, and a
 * forked child whose fate is reported as an exit code.
 */
#ifndef AXL_TEST_CHAN_FIXTURE_H
#define AXL_TEST_CHAN_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chan/chan.h"

struct chan_pair {
    struct axl_chan_stk stk;
    struct axl_chan_app app;
};

static inline void chan_small_params(struct axl_chan_params *p)
{
    p->max_socks = 64;
    p->rx_size = 4096;
    p->tx_size = 4096;
    p->evq_slots = 64;
    p->cmdq_slots = 64;
    p->max_regmem = 4;
}

static inline void chan_pair_open(struct chan_pair *cp, const struct axl_chan_params *p)
{
    struct axl_chan_msg m;
    assert_int_equal(axl_chan_create(&cp->stk, p, 7), 0);
    axl_chan_stk_hello(&cp->stk, &m);
    assert_int_equal(axl_chan_map_app(&cp->app, &m.u.hello, cp->stk.fd), 0);
}

static inline void chan_pair_close(struct chan_pair *cp)
{
    axl_chan_app_unmap(&cp->app);
    axl_chan_stk_close(&cp->stk);
}

/* Byte i of the test stream: a table with a period that is not a power of
 * two, so it never lines up with ring sizes. */
#define CHAN_PAT_PERIOD 65521u
static inline uint8_t chan_pat(uint64_t i)
{
    uint32_t x = (uint32_t)(i % CHAN_PAT_PERIOD) * 2654435761u;
    return (uint8_t)(x >> 24 ^ x >> 11);
}

static inline void chan_pat_fill(uint8_t *p, uint32_t n, uint64_t at)
{
    for (uint32_t i = 0; i < n; i++)
        p[i] = chan_pat(at + i);
}

static inline int chan_pat_check(const uint8_t *p, uint32_t n, uint64_t at)
{
    for (uint32_t i = 0; i < n; i++)
        if (p[i] != chan_pat(at + i)) return 0;
    return 1;
}

/* Wait for a child; its exit status, or 128 + signal. */
static inline int chan_wait_child(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0)
        ;
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
    return -1;
}

#endif
