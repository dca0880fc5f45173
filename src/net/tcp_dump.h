/* SPDX-License-Identifier: MIT */
/*
 * net/tcp_dump.h - a read-only snapshot of an engine's TCP connection table,
 * for `axlctl conns` (the ss -tan of the stack). Nothing in the engine
 * changes: the walk reads the listener table and the 4-tuple hash table
 * (net/tcp_priv.h) and copies a fixed-size record per entry.
 *
 * The record is also the wire format of a conns answer (stackd/ctl_proto.h
 * "conns"): fixed size, host byte order, no pointers; the reader validates
 * every field it uses (axl_tcp_dump_ok).
 *
 * Call chain: stackd/replica.c (link CONNS) -> axl_tcp_dump ->
 *   records sent in chunks on the request's socket -> tools/axlctl conns.
 * Cost: O(listening ports scanned (65536 slots) + connections); bounded by
 * the caller's `max` records.
 */
#ifndef AXL_NET_TCP_DUMP_H
#define AXL_NET_TCP_DUMP_H

#include <stdint.h>

struct axl_stack;

/* axl_tcp_info.state: RFC 9293 §3.3.2 states, numbered as net/tcp_priv.h
 * enum axl_tcp_conn_state (LISTEN = 1 ... TIME_WAIT = 10). */
#define AXL_TCP_DUMP_NSTATES 11u

/* axl_tcp_info.flags */
enum {
    AXL_TCP_DUMP_PASSIVE = 1u << 0, /* opened by a listener (else an active open) */
    AXL_TCP_DUMP_ORPHAN = 1u << 1,  /* the application closed its handle */
    AXL_TCP_DUMP_RECOVERY = 1u << 2, /* in fast recovery */
    AXL_TCP_DUMP_SACK = 1u << 3,    /* SACK in use */
    AXL_TCP_DUMP_TS = 1u << 4,      /* timestamps in use */
};

struct axl_tcp_dump_rec {
    uint32_t laddr, raddr; /* host order; raddr 0 for a listener */
    uint16_t lport, rport;
    uint8_t state;         /* see AXL_TCP_DUMP_NSTATES */
    uint8_t flags;         /* AXL_TCP_DUMP_* */
    uint16_t mss;          /* send MSS (0 for a listener) */
    uint32_t sndq;         /* bytes in the send queue (unacknowledged + unsent);
                              listener: connections waiting in the accept queue */
    uint32_t rcvq;         /* bytes received, not yet read by the application;
                              listener: SYN-queue length */
    uint32_t cwnd;         /* bytes (listener: its backlog) */
    uint32_t ssthresh;     /* bytes */
    uint32_t srtt_us;      /* smoothed RTT (RFC 6298), 0 = no sample yet */
    uint32_t rttvar_us;
    uint32_t rto_ms;
    uint32_t snd_wnd;      /* peer's window, bytes */
    uint64_t retrans;      /* segments retransmitted */
    uint32_t owner_app;    /* the service application that owns it, 0 = none /
                              unknown (filled by the replica, not the engine) */
    uint32_t owner_pid;    /* that application's pid, 0 = unknown */
};
_Static_assert(sizeof(struct axl_tcp_dump_rec) == 64, "conns record (wire format)");

/* Fill out[0..max) with the listeners, then the connections. Returns the
 * number of entries the engine holds (may exceed max: only max written). */
uint32_t axl_tcp_dump(const struct axl_stack *s, struct axl_tcp_dump_rec *out, uint32_t max);

/* 1 if a record read from another process is sane enough to print. */
int axl_tcp_dump_ok(const struct axl_tcp_dump_rec *r);

/* "ESTAB", "SYN-SENT", ... (ss names); "?" for a bad value. */
const char *axl_tcp_dump_state_name(unsigned state);

#endif
