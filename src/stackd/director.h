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
};
/* Does this configuration need the director (single-queue device and more
 * than one replica, or --director)? If so create the shared area and the
 * doorbells: returns 1 (one more process to supervise), 0 (no director), or
 * negative AXL_E* after printing why. */
int director_sup_init(struct axl_dir_sup *ds, const struct stackd_cfg *cfg,
                      const struct axl_port_cfg *pcfg, uint32_t nrep);
void director_sup_fini(struct axl_dir_sup *ds);
/* In replica q: replace the device spec in *pcfg by this replica's "dir:"
 * spec and map the shared area as *pool. 0 or negative AXL_E* (printed). */
int director_replica_prepare(const struct axl_dir_sup *ds, uint32_t q,
                             const struct stackd_cfg *cfg, struct axl_port_cfg *pcfg,
                             struct axl_pool *pool);
/* Body of the director process (after fork); its exit status. */
int director_main(const struct replica_args *a);

#endif
