/* SPDX-License-Identifier: MIT */
/*
 * stack.h - the engine: one single-threaded protocol stack instance (one
 * replica, or the stack linked into an application in run-to-completion mode)
 * bound to one port queue and one buffer pool.
 *
 * Loop (axl_stack_poll), hot:
 *   RX burst -> per-frame demux (eth -> arp | ipv4 -> icmp | udp | tcp)
 *   -> protocol work (replies queue into the TX batch) -> timers (wheel)
 *   -> TX burst + flush.
 * axl_stack_run() repeats it, spinning while there is work and sleeping in
 * poll(2) on the port's fd (timeout = next timer) when idle.
 *
 * All state is inside struct axl_stack; nothing global on the packet path.
 * The TCP API is in net/tcp.h.
 */
#ifndef AXL_NET_STACK_H
#define AXL_NET_STACK_H

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "core/opts.h"
#include "core/pool.h"
#include "port/port.h"

struct axl_stack;
struct axl_udp_sock;
struct axl_steer_reta;
struct axl_tcp_secret;

struct axl_stack_cfg {
    struct axl_cidr addr;      /* our IPv4 address and prefix */
    uint32_t gw;               /* default gateway (host order), 0 = none */
    uint32_t mtu;              /* 0 = the port's MTU */
    uint8_t mac[6];            /* used when has_mac, else the port's MAC */
    int has_mac;
    /* Tunables; 0 = default (defaults documented in the implementation). */
    uint32_t arp_timeout_ms;   /* reachable lifetime of a cache entry */
    uint32_t icmp_rate;        /* ICMP errors per second (token bucket) */
    uint32_t reasm_timeout_ms; /* IPv4 reassembly timeout (RFC 791: 15 s upper bound) */
    uint32_t reasm_max_bytes;  /* memory bound for all pending reassembly */
    uint64_t seed;             /* for randomised choices (ports, ids); 0 = random */
    /* TCP (net/tcp_priv.h documents the defaults) */
    uint32_t tcp_msl_ms;       /* maximum segment lifetime; TIME-WAIT is 2 MSL (30 s) */
    uint32_t tcp_sndbuf;       /* default send buffer per connection (1 MiB) */
    uint32_t tcp_rcvbuf;       /* default receive buffer per connection (1 MiB) */
    uint32_t tcp_max_conns;    /* connections per engine, all states (262144) */
    uint8_t tcp_no_sack;       /* do not negotiate SACK (tests, interop experiments) */
    /* Steering (src/steer/steer.h): this engine is queue steer_queue of
     * steer_nqueues under the symmetric RSS hash; TCP active opens then pick
     * ephemeral ports whose flow lands on that queue. steer_nqueues <= 1: off. */
    uint16_t steer_queue, steer_nqueues;
    /* Behind the director (port/dirport.h): its live redirection table
     * (read-only; ports are picked in buckets it gives steer_queue, and none
     * when it gives none: connect fails with EADDRNOTAVAIL), and this
     * engine's per-bucket TCP connection counts (uint32[128] in shared
     * memory, kept as TCBs enter and leave the table; TIME-WAIT is out).
     * NULL: off. */
    const struct axl_steer_reta *steer_reta;
    _Atomic uint32_t *tcp_bucket_conns;
    /* RFC 6528 ISN, SYN-cookie and timestamp-offset secrets (net/tcp_isn.h):
     * copied; NULL = the engine's own (from the seed when seeded, else
     * getrandom). Programs pass the boot's (axl_tcp_secret_default). */
    const struct axl_tcp_secret *tcp_secret;
};

/* Create an engine on an open port (which uses `pool`). now_ns is the current
 * monotonic time. Sends a gratuitous ARP. Returns NULL with a logged reason. */
struct axl_stack *axl_stack_create(const struct axl_stack_cfg *cfg, struct axl_port *port,
                                   struct axl_pool *pool, uint64_t now_ns);
void axl_stack_destroy(struct axl_stack *s);

/* One loop iteration at time now_ns. Returns the amount of work done (frames
 * received + sent + timers fired); 0 means idle. */
uint32_t axl_stack_poll(struct axl_stack *s, uint64_t now_ns);

/* Run until *stop becomes non-zero (set from a signal handler). Spins while
 * busy, sleeps when idle (~0% CPU). Returns 0 or negative AXL_E*. */
int axl_stack_run(struct axl_stack *s, volatile sig_atomic_t *stop);

/* axl_stack_run with a callback for the process that runs the engine (a
 * replica's heartbeat and counter export, src/stackd/replica.c): the loop
 * itself, never a signal handler, calls fn(arg, now, event) with
 *   AXL_TICK_PERIOD  at least every period_ns while the engine is busy,
 *   AXL_TICK_SLEEP   right before it sleeps,
 *   AXL_TICK_WAKE    right after it wakes.
 * So a loop that is stuck stops calling it, and an idle one still calls it at
 * least every AXL_SLEEP_MAX_MS (100 ms). Cost when busy: one compare per
 * iteration. tick == NULL is axl_stack_run. */
enum axl_tick_event { AXL_TICK_PERIOD, AXL_TICK_SLEEP, AXL_TICK_WAKE };
struct axl_stack_tick {
    void (*fn)(void *arg, uint64_t now_ns, enum axl_tick_event ev);
    void *arg;
    uint64_t period_ns;
};
int axl_stack_run_tick(struct axl_stack *s, volatile sig_atomic_t *stop,
                       const struct axl_stack_tick *tick);

/* Counters as "Name value" lines (nstat-like names, then drops by reason, then
 * the port's counters), each line prefixed with `prefix`. */
void axl_stack_stats_dump(const struct axl_stack *s, FILE *out, const char *prefix);
/* Look one counter up by name; -1 if unknown. */
int64_t axl_stack_stat(const struct axl_stack *s, const char *name);
/* Copy up to n counters, in net/stats.h order (AXL_STATS_LIST; names from
 * axl_stat_name()), into dst. Returns how many were copied (at most
 * AXL_STAT__COUNT). No name lookups: cheap enough to export every few ms. */
uint32_t axl_stack_stats_copy(const struct axl_stack *s, uint64_t *dst, uint32_t n);

/* ---- UDP (internal API; the socket layer of a later issue builds on it) ----
 * A bound socket receives datagrams into a bounded queue (recvfrom) or, if a
 * callback is given, the callback runs for each datagram from inside the loop.
 */
typedef void (*axl_udp_recv_fn)(struct axl_udp_sock *us, const uint8_t *data, uint32_t len,
                                uint32_t saddr, uint16_t sport, void *arg);

/* Bind local port (host order; 0 = pick an ephemeral one). cb may be NULL.
 * 0, AXL_EADDRINUSE, AXL_ENOMEM. */
int axl_udp_bind(struct axl_stack *s, uint16_t port, axl_udp_recv_fn cb, void *arg,
                 struct axl_udp_sock **out);
uint16_t axl_udp_local_port(const struct axl_udp_sock *us);
/* Send one datagram (addresses/ports host order). Fragments when larger than
 * the MTU allows. Queues behind ARP resolution if needed.
 * Returns len, or AXL_EMSGSIZE / AXL_ENOBUFS / AXL_EHOSTUNREACH. */
int axl_udp_sendto(struct axl_stack *s, struct axl_udp_sock *us, const void *data, uint32_t len,
                   uint32_t daddr, uint16_t dport);
/* Dequeue one datagram (when bound without a callback). Returns its length
 * (truncated to buflen, like recvfrom without MSG_TRUNC), or AXL_EAGAIN.
 * An ICMP error about an earlier datagram from this socket (or a failed ARP
 * resolution) is returned once, before any data, as a negative errno value:
 * AXL_EHOSTUNREACH, -ECONNREFUSED (port unreachable), AXL_EMSGSIZE, ... */
int axl_udp_recvfrom(struct axl_stack *s, struct axl_udp_sock *us, void *buf, uint32_t buflen,
                     uint32_t *saddr, uint16_t *sport);
void axl_udp_close(struct axl_stack *s, struct axl_udp_sock *us);

/* ---- ICMP echo (ping) from the stack: what axl-ping uses -----------------
 * Replies to our requests are passed to the handler (if set) with the
 * sender, identifier, sequence number and data; otherwise they are counted
 * and dropped (DropIcmpEchoReply). */
typedef void (*axl_icmp_echo_fn)(void *arg, uint32_t saddr, uint16_t id, uint16_t seq,
                                 const uint8_t *data, uint32_t len, uint8_t ttl);
void axl_icmp_set_echo_handler(struct axl_stack *s, axl_icmp_echo_fn fn, void *arg);
/* Send an echo request (RFC 792) with `len` bytes of data; fragments when it
 * exceeds the MTU. Returns 0, AXL_EMSGSIZE, AXL_ENOBUFS or AXL_EHOSTUNREACH. */
int axl_icmp_echo_send(struct axl_stack *s, uint32_t daddr, uint16_t id, uint16_t seq,
                       const void *data, uint32_t len);

#endif
