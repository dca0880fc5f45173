/* SPDX-License-Identifier: MIT */
/*
 * director_core.h - the director's steering loop (NEAT's software NIC
 * driver for a single-queue device), without any process logic: a device
 * port, the replicas' descriptor rings in one shared area (ABI and ownership
 * rules: port/dirport.h) and the private ownership table. The process that
 * runs it is src/stackd/director.c; unit tests run it in one process
 * (tests/unit/test_dirport.c).
 *
 * Call chain: director_main (src/stackd/director.c) -> axl_director_init ->
 *   axl_port_open(device, pool = d->pool) -> axl_director_start -> loop:
 *   axl_director_poll (attach/detach -> RX steer -> TX -> grants),
 *   axl_director_prepare_sleep / axl_director_wake_done around its sleep.
 */
#ifndef AXL_STEER_DIRECTOR_CORE_H
#define AXL_STEER_DIRECTOR_CORE_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "core/pool.h"
#include "port/dirport.h"
#include "port/port.h"

/** AXL_DIR_OWN_BUFS: buffers the director keeps for the device (its RX fill
 *  ring, TX in flight) besides the replicas' quotas. Kept small: a replica's
 *  pool spans the whole area (nbufs = all buffers) and TCP's pool_low test
 *  (net/tcp.c: free <= nbufs / 8) must not trip while the replica holds its
 *  quota; with --pool Q and n replicas that holds while
 *  Q - Q/8 > (AXL_DIR_OWN_BUFS + n * Q) / 8, i.e. up to about 5 replicas. */
#define AXL_DIR_OWN_BUFS 4096u
/** AXL_DIR_BURST: frames per device burst. */
#define AXL_DIR_BURST 64u

/* Every drop and refusal, by reason (dumped by name; folded into the port
 * counters of the status page, see director.c). */
struct axl_dir_stats {
    uint64_t rx_frames;        /* frames the device delivered */
    uint64_t rx_steered;       /* passed to one replica by the hash (descriptor swap) */
    uint64_t rx_bcast;         /* frames with no flow (ARP, non-IPv4) sent to every replica */
    uint64_t rx_bcast_copies;  /* copies made for them (one per attached replica) */
    uint64_t drop_nofill;      /* target replica had lent no free buffer on FILL */
    uint64_t drop_ring_full;   /* target replica's RX ring full */
    uint64_t drop_detached;    /* target replica not attached (dead or restarting) */
    uint64_t drop_too_big;     /* broadcast frame larger than a buffer */
    uint64_t bad_fill;         /* FILL descriptors refused (not the replica's buffer) */
    uint64_t bad_tx;           /* TX descriptors refused (buffer, offset or length) */
    uint64_t tx_frames;        /* frames passed to the device */
    uint64_t tx_dev_busy;      /* TX descriptors left on the ring: device full, retried */
    uint64_t granted;          /* buffers given on FREE (quotas and TX repayment) */
    uint64_t reclaimed;        /* buffers taken back from a detached or dead replica */
    uint64_t attaches, detaches, peers_dead;
    uint64_t wakeups;          /* doorbells rung */
    /* elasticity (axlctl scale): the live redirection table */
    uint64_t reta_changes;     /* times the table was refilled (new active count) */
    uint64_t rx_prev_owner;    /* TCP segments of a moved bucket sent to its previous owner */
    uint64_t rx_new_flow;      /* non-SYN segments of a moved bucket's new flow (its SYN seen) */
    uint64_t flow_full;        /* new flows of a draining bucket the flow table had no room for */
    uint64_t flow_evict;       /* entries reused after AXL_DIR_FLOW_IDLE_MS without a segment */
    uint64_t drained;          /* moved buckets whose previous owner holds none of them now */
};

/** AXL_DIR_FLOWS: entries of the table of new flows in draining buckets (a
 *  power of two); AXL_DIR_FLOW_PROBE: slots looked at per lookup. */
#define AXL_DIR_FLOWS 8192u
#define AXL_DIR_FLOW_PROBE 16u
/** AXL_DIR_FLOW_IDLE_MS: an entry that saw no segment this long may be
 *  reused when its probe window is full (TCP keep-alive probes, RFC 1122
 *  §4.2.3.6, are 2 h apart by default: an idle flow can lose its entry). */
#define AXL_DIR_FLOW_IDLE_MS 60000u
/* A flow whose pure SYN the director passed to a draining bucket's new
 * owner: its later segments go there too (not to the previous owner). */
struct axl_dir_flow {
    uint32_t saddr, daddr, ports; /* as received (peer -> us) */
    uint8_t bucket;
    uint8_t target;   /* the replica its SYN went to */
    uint16_t epoch;   /* the bucket's drain epoch; 0 = empty slot */
    uint32_t seen_ms; /* last segment (the director's clock, ms) */
};

struct axl_dir_rep {
    struct axl_dir_slot *slot;
    struct axl_ring_cons fill, tx;
    struct axl_ring_prod rx, freer;
    uint64_t token; /* req last served */
    int attached;
    int rx_dirty, free_dirty;
    pid_t pid;
    uint32_t owed; /* buffers still to give on FREE */
    int bell;      /* its eventfd */
    uint64_t nrx, ntx; /* frames to / from it */
};

struct axl_director {
    struct axl_dir_geom g;
    struct axl_dir_layout l;
    uint32_t quota; /* buffers per replica */
    int memfd, bell;
    uint8_t *ctl; /* header + blocks, read-write */
    struct axl_dir_hdr *hdr;
    struct axl_pool pool; /* the whole area; its free list = the director's free buffers */
    uint8_t *owner;       /* per buffer: 0 = director, q + 1 = replica q */
    struct axl_port *dev;
    struct axl_dir_rep rep[AXL_DIR_MAX_REPLICAS];
    struct axl_dir_stats st;
    uint64_t last_peer_check_ns;
    /* The live redirection table (steer.h): private copies (the director
     * is the only writer) published to the header page's reta. */
    struct axl_steer_reta *reta; /* in the header page */
    struct axl_dir_supw *supw;   /* the supervisor's words (read only here) */
    uint32_t nactive;            /* replicas owning buckets now */
    uint32_t want_seen;          /* the supervisor's word when last applied */
    uint32_t now_ms;             /* the poll's clock, for the flow table */
    uint32_t ndraining;          /* buckets with a previous owner */
    uint8_t rowner[AXL_STEER_RETA_SIZE]; /* the table: new flows of bucket b */
    uint8_t rprev[AXL_STEER_RETA_SIZE];  /* previous owner still draining b, or NONE */
    uint16_t epoch[AXL_STEER_RETA_SIZE]; /* bumped when a drain ends (its table entries die) */
    uint8_t rfresh[AXL_STEER_RETA_SIZE]; /* moved since the last sweep: not ended yet */
    struct axl_dir_flow *flows;          /* AXL_DIR_FLOWS */
};

/* Map the area (all buffers the director's, header DOWN, rings reset, acks
 * cleared). rep_bells[nrep], dir_bell: eventfds. quota: buffers granted to
 * each replica at attach; quota * nrep must leave the director at least
 * AXL_DIR_RING_MIN buffers. 0 or negative AXL_E* (logged). */
int axl_director_init(struct axl_director *d, const struct axl_dir_geom *g, int memfd,
                      const int *rep_bells, int dir_bell, uint32_t quota, uint32_t generation);
/* The device port is open on d->pool: publish its MAC/MTU, header UP. */
void axl_director_start(struct axl_director *d, struct axl_port *dev);
/* One loop iteration; returns the work done (frames + descriptors). */
uint32_t axl_director_poll(struct axl_director *d, uint64_t now_ns);
/* Before sleeping: 1 = may sleep, 0 = work is pending. Sets NEED_WAKEUP on
 * the TX rings (replicas ring our doorbell after sending). */
int axl_director_prepare_sleep(struct axl_director *d);
void axl_director_wake_done(struct axl_director *d);
/* Refill the redirection table over the first n replicas (1..nrep; the
 * block fill of steer.h), keeping each moved bucket's previous owner while
 * it holds connections of it (port/dirport.h, director_core.c "Scaling").
 * Returns the active count now in force. The loop also applies the
 * supervisor's want_active word by itself (axl_director_poll). */
uint32_t axl_director_set_active(struct axl_director *d, uint32_t n);
/* End the drain of every moved bucket no attached replica but its owner
 * holds connections of (not in the sweep right after its move: one
 * period's grace); done by the loop every AXL_DIR_PEER_CHECK_MS. Returns
 * buckets still draining. */
uint32_t axl_director_sweep(struct axl_director *d);
/* The replica that receives this frame now (-1: every replica, no flow);
 * steering only, no delivery and no counters (tests). */
int axl_director_steer_of(struct axl_director *d, const uint8_t *frame, uint32_t len);
/* Buffers owned by `who` (-1 = the director, else replica index). */
uint32_t axl_director_owned(const struct axl_director *d, int who);
void axl_director_stats_dump(const struct axl_director *d, FILE *out, const char *prefix);
/* The header and blocks stay mapped until fini; the device port is the
 * caller's (close it before fini: it frees into d->pool). */
void axl_director_fini(struct axl_director *d);

#endif
