/* SPDX-License-Identifier: MIT */
/*
 * metrics.h - the supervisor's Prometheus endpoint (axl-stackd --metrics
 * unix:PATH | tcp:IP:PORT), served by metrics.c from the supervisor's loop.
 *
 * Call chain: supervisor.c supervisor_run -> metrics_open; sup_loop ->
 * metrics_event (tags tag_base .. tag_base + AXL_METRICS_CLIENTS);
 * fork (a replica) -> metrics_forget; exit -> metrics_close.
 */
#ifndef AXL_STACKD_METRICS_H
#define AXL_STACKD_METRICS_H

#include <stdint.h>

/** AXL_METRICS_CLIENTS: scrapers served at once (the oldest is dropped for a new one). */
#define AXL_METRICS_CLIENTS 8
/** AXL_METRICS_REQ_MAX: bytes of request line and headers we read. */
#define AXL_METRICS_REQ_MAX 4096

#include <stddef.h>

struct sup;
struct metrics_client {
    int fd;       /* -1: free */
    uint64_t seq; /* accept order (the oldest goes first when full) */
    uint32_t inlen;
    char in[AXL_METRICS_REQ_MAX];
    char *out; /* the whole answer, once the request is in */
    size_t outlen, outoff, outcap;
    int oom;
};
struct metrics {
    int listen_fd; /* -1: off */
    int epfd;
    uint64_t tag_base;
    uint64_t seq;
    char path[108]; /* unix form: removed at exit */
    struct metrics_client c[AXL_METRICS_CLIENTS];
};

int metrics_open(struct metrics *m, const char *spec, int epfd, uint64_t tag_base);
void metrics_event(struct metrics *m, struct sup *S, uint64_t tag, uint32_t events);
void metrics_close(struct metrics *m);
void metrics_forget(struct metrics *m);

#endif
