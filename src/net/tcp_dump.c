/* SPDX-License-Identifier: MIT */
/*
 * net/tcp_dump.c - read-only snapshot of the TCP tables (net/tcp_dump.h).
 *
 * Call chain: stackd/replica.c conns request -> axl_tcp_dump -> reads
 * s->tcp.listeners[] and s->tcp.conns (net/tcp_priv.h); nothing is
 * modified, no timer, no allocation. TCBs that left the tables (TF_DEAD,
 * waiting to be reaped) are not in the hash table and are not shown, as in
 * ss(8) a closed socket is gone.
 */
#include "net/tcp_dump.h"

#include <string.h>

#include "net/stack_priv.h"
#include "net/tcp_priv.h"

_Static_assert(AXL_TCP__NSTATES == AXL_TCP_DUMP_NSTATES, "tcp_dump states");

static uint32_t clamp32(uint64_t v)
{
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static void info_of_tcb(const struct axl_tcb *t, struct axl_tcp_dump_rec *r)
{
    memset(r, 0, sizeof(*r));
    r->laddr = t->laddr;
    r->raddr = t->raddr;
    r->lport = t->lport;
    r->rport = t->rport;
    r->state = t->state;
    r->flags = (uint8_t)(((t->flags & TF_PASSIVE) ? AXL_TCP_DUMP_PASSIVE : 0) |
                         ((t->flags & TF_ORPHAN) ? AXL_TCP_DUMP_ORPHAN : 0) |
                         ((t->flags & TF_RECOVERY) ? AXL_TCP_DUMP_RECOVERY : 0) |
                         ((t->flags & TF_SACK_OK) ? AXL_TCP_DUMP_SACK : 0) |
                         ((t->flags & TF_TS_OK) ? AXL_TCP_DUMP_TS : 0));
    r->mss = t->snd_mss;
    r->sndq = t->sq.bytes;
    r->rcvq = t->rq.bytes;
    r->cwnd = t->cc.cwnd;
    r->ssthresh = t->cc.ssthresh;
    if (t->rtt.has_sample) { /* srtt and rttvar are kept in 2^-3 ns */
        r->srtt_us = clamp32((t->rtt.srtt >> 3) / 1000);
        r->rttvar_us = clamp32((t->rtt.rttvar >> 3) / 1000);
    }
    r->rto_ms = clamp32(t->rtt.rto_ns / 1000000);
    r->snd_wnd = t->snd_wnd;
    r->retrans = t->retrans;
}

uint32_t axl_tcp_dump(const struct axl_stack *s, struct axl_tcp_dump_rec *out, uint32_t max)
{
    const struct axl_tcp_state *ts = &s->tcp;
    uint32_t n = 0;

    if (ts->listeners)
        for (uint32_t p = 0; p < 65536; p++) {
            const struct axl_tcp_listener *l = ts->listeners[p];
            if (!l) continue;
            if (n < max) {
                struct axl_tcp_dump_rec *r = &out[n];
                memset(r, 0, sizeof(*r));
                r->laddr = s->addr;
                r->lport = l->port;
                r->state = AXL_TCP_LISTEN;
                r->sndq = l->nacc;
                r->rcvq = l->nsyn;
                r->cwnd = l->backlog;
            }
            n++;
        }
    const struct axl_htab *h = &ts->conns;
    if (h->buckets)
        for (uint32_t b = 0; b <= h->mask; b++)
            for (const struct axl_hnode *hn = h->buckets[b]; hn; hn = hn->next) {
                const struct axl_tcb *t =
                    (const struct axl_tcb *)((const char *)hn - offsetof(struct axl_tcb, hnode));
                if (n < max) info_of_tcb(t, &out[n]);
                n++;
            }
    return n;
}

int axl_tcp_dump_ok(const struct axl_tcp_dump_rec *r)
{
    return r->state >= AXL_TCP_LISTEN && r->state < AXL_TCP_DUMP_NSTATES &&
           (r->state == AXL_TCP_LISTEN || (r->raddr != 0 && r->rport != 0)) && r->lport != 0;
}

const char *axl_tcp_dump_state_name(unsigned state)
{
    static const char *const names[AXL_TCP_DUMP_NSTATES] = {
        "CLOSED",   "LISTEN",     "SYN-SENT", "SYN-RECV", "ESTAB",    "FIN-WAIT-1",
        "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT"};
    return state < AXL_TCP_DUMP_NSTATES ? names[state] : "?";
}
