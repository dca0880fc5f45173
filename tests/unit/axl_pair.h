/* SPDX-License-Identifier: MIT */
/*
 * axl_pair.h - the two-context fixture of the native-API tests
 * (test_axl_rtc.c, test_axl_iso.c): sides A and B, each a context and a log
 * of the events its axl_poll returned; pump both, find (and consume) an
 * event, wait for one. Included by one test file each (static definitions).
 */
#ifndef AXL_TESTS_AXL_PAIR_H
#define AXL_TESTS_AXL_PAIR_H

#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "axl/axl.h"
#include "core/clock.h"

#define MAXEV 8192

struct side {
    struct axl_ctx *c;
    struct axl_event log[MAXEV];
    int n;
};

static struct side A, B;

static int test_setup(void **state)
{
    (void)state;
    A.n = B.n = 0;
    return 0;
}

/* Poll both sides once; append their events to the logs. */
static int pump_once(void)
{
    int got = 0;
    struct side *sides[2] = {&A, &B};
    for (int i = 0; i < 2; i++) {
        struct side *s = sides[i];
        int room = MAXEV - s->n;
        assert_true(room > 0);
        int n = axl_poll(s->c, s->log + s->n, room > 64 ? 64 : room, 0);
        assert_true(n >= 0);
        s->n += n;
        got += n;
    }
    return got;
}

static void pump_ms(int ms)
{
    uint64_t end = axl_clock_ns() + (uint64_t)ms * 1000000u;
    while (axl_clock_ns() < end)
        if (!pump_once()) usleep(50);
}

/* Find (and consume) an event of `type` for `sock` in s's log. */
static int take(struct side *s, uint32_t type, axl_sock_t sock, struct axl_event *out)
{
    for (int i = 0; i < s->n; i++)
        if (s->log[i].type == type && s->log[i].sock == sock) {
            if (out) *out = s->log[i];
            s->log[i].type = 0;
            return 1;
        }
    return 0;
}

/* Wait up to wait_s seconds for that event (pumping both sides). */
static struct axl_event wait_ev_for(struct side *s, uint32_t type, axl_sock_t sock, unsigned wait_s)
{
    struct axl_event e;
    memset(&e, 0, sizeof(e));
    uint64_t end = axl_clock_ns() + (uint64_t)wait_s * 1000000000ull;
    while (!take(s, type, sock, &e)) {
        if (axl_clock_ns() > end)
            fail_msg("no event type %u for sock %llx", type, (unsigned long long)sock);
        if (!pump_once()) usleep(50);
    }
    return e;
}

#endif
