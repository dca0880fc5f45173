/* SPDX-License-Identifier: MIT */
/*
 * director.h - the director: NEAT's software NIC driver for a device with one
 * queue. It owns the device queue and steers every received frame to a
 * replica by the symmetric RSS hash (steer/steer.h), and sends what the
 * replicas hand it; frames move as descriptors of one shared buffer area
 * (port/dirport.h has the ABI and the ownership rules).
 *
 * Two layers:
 *  - the core (struct axl_director): the steering loop over a device port
 *    and the replicas' rings, with the private ownership table. No process
 *    logic: unit tests run it in one process with "mem" and "dir" ports.
 *  - the axl-stackd glue: the supervisor creates the shared area and the
 *    doorbells before it forks anything (director_sup_init), the director
 *    runs as one more supervised process (director_main: status page,
 *    heartbeat, counters, like a replica), and each replica opens a "dir"
 *    port instead of the device (director_replica_prepare).
 *
 * Call chain: supervisor.c supervisor_run -> director_sup_init; fork ->
 *   replica_main -> director_main (the director's entry) -> axl_director_init
 *   -> axl_port_open(device, queue 0) -> axl_director_start -> loop:
 *   axl_director_poll (attach/detach -> rx steer -> tx -> grants), sleep on
 *   the device and its doorbell when idle; replica_main (a replica) ->
 *   director_replica_prepare -> "dir" port (dirport.c).
 */
#ifndef AXL_STACKD_DIRECTOR_H
#define AXL_STACKD_DIRECTOR_H

#include <stdint.h>

#include "core/pool.h"
#include "port/port.h"
#include "steer/director_core.h"

/* ---- axl-stackd glue --------------------------------------------------------- */
struct stackd_cfg;
struct replica_args;

/* What the supervisor sets up before forking (inherited by every child). */
struct axl_dir_sup {
    int on;          /* 1: a director process runs as entry `idx` */
    uint32_t idx;    /* its index in the supervisor's table (= nrep, the last) */
    uint32_t quota;
    struct axl_dir_geom g;
    int memfd;
    int dir_bell;
    int bells[AXL_DIR_MAX_REPLICAS];
    /* elasticity (axlctl scale): g.nrep = max replicas forked, `active` of
     * them own buckets; the supervisor's mapping of header + slots (ctl) */
    uint32_t max, active;
    void *ctl;
    size_t ctl_bytes;
    struct axl_dir_layout l;
};
/* Does this configuration need the director (single-queue device and more
 * than one replica, or --director)? If so create the shared area for nrep
 * replicas (--scale-max), `active` of them owning the redirection table
 * (--replicas), and the doorbells: returns 1 (one more process to
 * supervise), 0 (no director), or negative AXL_E* after printing why. */
int director_sup_init(struct axl_dir_sup *ds, const struct stackd_cfg *cfg,
                      const struct axl_port_cfg *pcfg, uint32_t nrep, uint32_t active);
void director_sup_fini(struct axl_dir_sup *ds);
/* In a forked child: drop the supervisor's mapping (a replica must see the
 * header page read-only). */
void director_sup_forget(struct axl_dir_sup *ds);
/* Ask the director for n active replicas (the supervisor's word in the
 * header page; remembered there and in ds->active, so a restarted director
 * comes back with it). 0, AXL_ENOTSUP (no director), -ERANGE (n not 1..max). */
int director_sup_scale(struct axl_dir_sup *ds, uint32_t n);
/* The active count the director has put in force (its table), 0 = none. */
uint32_t director_sup_applied(const struct axl_dir_sup *ds);
/* Replica q in the live table: buckets it owns, buckets it drains (it holds
 * connections of buckets another replica owns now: its per-bucket counts),
 * connections by its counts. */
struct axl_dir_role {
    const char *role; /* "active", "draining", "parked"; NULL: no director */
    uint32_t buckets, draining;
    uint64_t conns;
};
void director_sup_role(const struct axl_dir_sup *ds, uint32_t q, struct axl_dir_role *out);
/* In replica q: replace the device spec in *pcfg by this replica's "dir:"
 * spec and map the shared area as *pool. 0 or negative AXL_E* (printed). */
int director_replica_prepare(const struct axl_dir_sup *ds, uint32_t q,
                             const struct stackd_cfg *cfg, struct axl_port_cfg *pcfg,
                             struct axl_pool *pool);
/* Body of the director process (after fork); its exit status. */
int director_main(const struct replica_args *a);

#endif
