/* SPDX-License-Identifier: MIT */
/*
 * director.c - the director process and its axl-stackd glue (director.h).
 * The director owns a single-queue device and steers its frames to the
 * replicas as descriptors of one shared buffer area (ABI and ownership
 * rules: port/dirport.h); its loop is src/steer/director_core.c, summarised
 * here.
 *
 * RX (hot): device burst -> axl_steer_frame_hash (symmetric Toeplitz over the
 * 4-tuple, the address pair for fragments/ICMP) -> replica
 * axl_steer_queue(hash, n). The frame's buffer B is passed on q's RX ring and
 * becomes q's; a buffer F that q lent on FILL becomes the director's (swap:
 * no copy, q's share constant). Frames without a flow (ARP, anything not
 * IPv4) go to EVERY attached replica: an ARP reply must reach the replica
 * that asked, and a request teaches every replica the sender; each replica
 * gets its own copy in one of its FILL buffers (the one copy on this path;
 * ARP is rare). Every replica answers an ARP request for our address with the
 * same reply (same MAC and IP), which the peer simply takes again.
 *
 * TX: each attached replica's TX ring is read, every descriptor checked
 * against the ownership table (buffer index inside the area and owned by
 * that replica; offset and length inside the buffer; length 14..max frame),
 * the buffer becomes the director's and goes to the device port, which frees
 * it into the director's pool when done; the director owes the replica one
 * buffer and pays on FREE. Descriptors the device refuses (ring full) stay on
 * the TX ring and are retried.
 *
 * Copies: none in the director on the unicast path. Where the device port
 * itself copies (AF_PACKET RX/TX rings, TAP read/write, AF_XDP in copy mode
 * on veth), that is the kernel<->user copy every port makes, into or out of
 * the shared area directly: the AF_XDP UMEM is the shared area itself
 * (d->pool), so no second copy appears.
 *
 * Attach, restart, reclaim: a replica's dir port writes a new token into its
 * slot; the director reclaims every buffer the slot's previous holder owned
 * (O(buffers), once per attach), resets the slot's four rings, grants the
 * quota on FREE and acks. Every AXL_DIR_PEER_CHECK_MS it also checks that each
 * attached replica's process lives (kill(pid, 0)) and reclaims the buffers of
 * a dead one at once. A restarted replica attaches with a new token.
 *
 * Liveness of the director itself: it runs as one more process in the
 * supervisor's table (the last entry), with a status page, heartbeat and
 * counters like a replica; `axlctl replicas` and `axlctl stats` show it. If
 * it dies, the supervisor kills every replica too and restarts the whole set
 * (a new director cannot know which buffers the old one's replicas hold).
 *
 * Counters on the status page (names of a replica's page): the engine's are
 * 0; PoolBuffers/PoolInUse/PoolAllocFails are the director's pool (in use =
 * held by replicas, the device and frames in flight); the port counters are
 * the device's, with the director's drops folded in: rx_nobuf += no FILL
 * buffer, link_drops += RX ring full or replica detached, rx_errors += bad
 * FILL/TX descriptors, rx_trunc += broadcast frame too big. The full list by
 * name is written on SIGUSR1 and at exit (--stats-out FILE.dir, else stdout).
 *
 * Call chain: see director.h.
 */
#include "stackd/director.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/compiler.h"
#include "core/err.h"
#include "core/log.h"
#include "net/stats.h"
#include "stackd/stackd.h"
#include "steer/steer.h"

#define MOD "director"
/** AXL_DIR_TICK_NS: heartbeat and counter export period while busy. */
#define AXL_DIR_TICK_NS (10 * AXL_NS_PER_MS)
/** AXL_DIR_SPIN: idle polls before sleeping. */
#define AXL_DIR_SPIN 64u

/* ---- axl-stackd glue ------------------------------------------------------------ */

static void bell_ring(int fd);

int director_sup_init(struct axl_dir_sup *ds, const struct stackd_cfg *cfg,
                      const struct axl_port_cfg *pcfg, uint32_t nrep, uint32_t active)
{
    struct axl_dir_layout l;
    memset(ds, 0, sizeof(*ds));
    ds->memfd = ds->dir_bell = -1;
    for (uint32_t q = 0; q < AXL_DIR_MAX_REPLICAS; q++)
        ds->bells[q] = -1;
    if (!cfg->director && !(pcfg->nqueues == 1 && nrep > 1)) return 0;
    if (pcfg->nqueues != 1) {
        fprintf(stderr, "%s: --director steers a single-queue device; %s has %u queues\n", PROG,
                cfg->port, pcfg->nqueues);
        return AXL_EINVAL;
    }
    if (nrep + 1 > AXL_MAX_REPLICAS || nrep > AXL_DIR_MAX_REPLICAS) {
        fprintf(stderr, "%s: at most %d replicas with the director\n", PROG, AXL_MAX_REPLICAS - 1);
        return AXL_EINVAL;
    }
    ds->g.nrep = nrep;
    ds->g.buf_size = cfg->buf_size;
    ds->g.ring = AXL_DIR_RING_DEFAULT;
    ds->quota = cfg->pool_bufs;
    ds->g.nbufs = cfg->pool_bufs * nrep + AXL_DIR_OWN_BUFS;
    if (axl_dir_layout(&ds->g, &l) < 0) {
        fprintf(stderr, "%s: the director cannot use %u buffers of %u B for %u replicas\n", PROG,
                ds->g.nbufs, ds->g.buf_size, nrep);
        return AXL_EINVAL;
    }
    ds->memfd = memfd_create("axl-director", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (ds->memfd < 0 || ftruncate(ds->memfd, (off_t)l.total) < 0) {
        fprintf(stderr, "%s: director: shared area of %zu bytes: %s\n", PROG, l.total,
                strerror(errno));
        director_sup_fini(ds);
        return AXL_ENOMEM;
    }
    /* Nobody may resize it under the others' mappings. */
    (void)fcntl(ds->memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
    ds->dir_bell = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    for (uint32_t q = 0; q < nrep; q++)
        ds->bells[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    for (uint32_t q = 0; q < nrep; q++)
        if (ds->bells[q] < 0 || ds->dir_bell < 0) {
            fprintf(stderr, "%s: director: eventfd: %s\n", PROG, strerror(errno));
            director_sup_fini(ds);
            return AXL_ENOMEM;
        }
    /* Our window on the header page and the slots: we write the active
     * count we want (struct axl_dir_supw) and read the live table and the
     * replicas' per-bucket counts for `axlctl replicas`. Never inherited:
     * child_cleanup (supervisor.c) -> director_sup_forget. */
    ds->ctl_bytes = l.area_off;
    ds->ctl = mmap(NULL, l.area_off, PROT_READ | PROT_WRITE, MAP_SHARED, ds->memfd, 0);
    if (ds->ctl == MAP_FAILED) {
        ds->ctl = NULL;
        fprintf(stderr, "%s: director: cannot map the shared area: %s\n", PROG, strerror(errno));
        director_sup_fini(ds);
        return AXL_ENOMEM;
    }
    ds->l = l;
    ds->max = nrep;
    ds->active = active;
    atomic_store_explicit(&axl_dir_supw(ds->ctl)->want_active, active, memory_order_release);
    ds->on = 1;
    ds->idx = nrep;
    axl_info(MOD,
             "single-queue device %s: a director steers it to %u replicas, %u of them "
             "active (%u buffers of %u B shared, %u per replica, %.1f MiB)",
             cfg->port, nrep, active, ds->g.nbufs, ds->g.buf_size, ds->quota,
             (double)l.total / (1024.0 * 1024.0));
    return 1;
}

void director_sup_forget(struct axl_dir_sup *ds)
{
    if (ds->ctl) munmap(ds->ctl, ds->ctl_bytes);
    ds->ctl = NULL;
}

int director_sup_scale(struct axl_dir_sup *ds, uint32_t n)
{
    if (!ds->on || !ds->ctl) return AXL_ENOTSUP;
    if (n < 1 || n > ds->max) return -ERANGE;
    ds->active = n;
    atomic_store_explicit(&axl_dir_supw(ds->ctl)->want_active, n, memory_order_release);
    bell_ring(ds->dir_bell); /* it may sleep (up to 100 ms otherwise) */
    return 0;
}

uint32_t director_sup_applied(const struct axl_dir_sup *ds)
{
    if (!ds->on || !ds->ctl) return 0;
    uint32_t n = atomic_load_explicit(&axl_dir_reta(ds->ctl)->nactive, memory_order_acquire);
    return n <= ds->max ? n : 0; /* the director's word: checked all the same */
}

void director_sup_role(const struct axl_dir_sup *ds, uint32_t q, struct axl_dir_role *out)
{
    memset(out, 0, sizeof(*out));
    if (!ds->on || !ds->ctl || q >= ds->max) return;
    const struct axl_steer_reta *r = axl_dir_reta(ds->ctl);
    const struct axl_dir_slot *slot =
        (const struct axl_dir_slot *)((uint8_t *)ds->ctl + axl_dir_block_off(&ds->l, q));
    for (uint32_t b = 0; b < AXL_STEER_RETA_SIZE; b++) {
        uint32_t c = atomic_load_explicit(&slot->conns[b], memory_order_relaxed);
        if (atomic_load_explicit(&r->owner[b], memory_order_relaxed) == q)
            out->buckets++;
        else if (c)
            out->draining++; /* connections in a bucket that is another's now */
        out->conns += c;
    }
    out->role = out->buckets ? "active" : out->draining ? "draining" : "parked";
}

void director_sup_fini(struct axl_dir_sup *ds)
{
    director_sup_forget(ds);
    if (ds->memfd >= 0) close(ds->memfd);
    if (ds->dir_bell >= 0) close(ds->dir_bell);
    for (uint32_t q = 0; q < AXL_DIR_MAX_REPLICAS; q++)
        if (ds->bells[q] >= 0) close(ds->bells[q]);
    ds->memfd = ds->dir_bell = -1;
    for (uint32_t q = 0; q < AXL_DIR_MAX_REPLICAS; q++)
        ds->bells[q] = -1;
    ds->on = 0;
}

int director_replica_prepare(const struct axl_dir_sup *ds, uint32_t q,
                             const struct stackd_cfg *cfg, struct axl_port_cfg *pcfg,
                             struct axl_pool *pool)
{
    char spec[256], err[256];
    snprintf(spec, sizeof(spec), "dir:%d:%u,bufs=%u,bsize=%u,ring=%u,bell=%d,dbell=%d",
             ds->memfd, ds->g.nrep, ds->g.nbufs, ds->g.buf_size, ds->g.ring, ds->bells[q],
             ds->dir_bell);
    /* parsed in place: the option pointers point into pcfg->optbuf */
    if (axl_port_parse_spec(spec, pcfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s: replica %u: dir port: %s\n", PROG, q, err);
        return AXL_EINVAL;
    }
    pcfg->mtu = cfg->mtu;
    int rc = axl_dirport_pool_attach(pool, pcfg);
    if (rc < 0)
        fprintf(stderr, "%s: replica %u: cannot map the director's buffer area: %s\n", PROG, q,
                axl_strerror(rc));
    return rc;
}

/* ---- the director process ----------------------------------------------------------- */

/* Set only by signal handlers. */
static volatile sig_atomic_t d_stop, d_dump;

static void on_term(int sig)
{
    (void)sig;
    d_stop = 1;
}
static void on_usr1(int sig)
{
    (void)sig;
    d_dump = 1;
}

static void dir_signals(void)
{
    struct sigaction sa;
    sigset_t all;
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGPIPE, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &sa, NULL);
    sigfillset(&all);
    sigprocmask(SIG_UNBLOCK, &all, NULL);
}

static void dir_dump(const struct axl_director *d, const struct stackd_cfg *cfg)
{
    if (!cfg->stats_out) {
        axl_director_stats_dump(d, stdout, "dir ");
        fflush(stdout);
        return;
    }
    char path[4200], tmp[4300];
    snprintf(path, sizeof(path), "%s.dir", cfg->stats_out);
    snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        axl_err(MOD, "cannot write %s: %s", tmp, strerror(errno));
        return;
    }
    axl_director_stats_dump(d, f, "dir ");
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        axl_err(MOD, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
    }
}

/* The status page's counters (see the file header for what they mean here). */
static void dir_export(struct axl_rstat_page *pg, const struct axl_director *d, uint64_t *buf,
                       uint32_t n)
{
    struct axl_port port = *d->dev; /* a copy: the folded counters are ours only */
    const struct axl_dir_stats *s = &d->st;
    uint32_t k = AXL_STAT__COUNT;
    memset(buf, 0, (size_t)n * sizeof(*buf));
    port.stats.rx_nobuf += s->drop_nofill;
    port.stats.link_drops += s->drop_ring_full + s->drop_detached;
    port.stats.rx_errors += s->bad_fill + s->bad_tx;
    port.stats.rx_trunc += s->drop_too_big;
    if (k + 3 <= n) {
        buf[k++] = d->pool.nbufs;
        buf[k++] = axl_pool_in_use(&d->pool);
        buf[k++] = d->pool.alloc_fail;
    }
    for (unsigned i = 0; i < axl_port_stat_count() && k < n; i++)
        buf[k++] = axl_port_stat_value(&port, i);
    k = axl_rstat_dir_first(); /* in status.c's order */
    const uint64_t dirc[AXL_RSTAT_NDIR] = {s->reta_changes, s->rx_prev_owner, s->rx_new_flow,
                                           s->drained};
    for (uint32_t i = 0; i < AXL_RSTAT_NDIR && k < n; i++)
        buf[k++] = dirc[i];
    axl_rstat_export(pg, buf, n);
}

static int pin_self(int cpu)
{
    cpu_set_t set;
    if (cpu < 0 || cpu >= CPU_SETSIZE) return -1;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof(set), &set) == 0 ? cpu : -1;
}

static void bell_ring(int fd)
{
    uint64_t one = 1;
    if (fd >= 0 && write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        axl_debug(MOD, "doorbell: %s", strerror(errno));
}

/* Open the device queue; an AF_XDP queue whose previous owner (an earlier
 * director) just died stays busy for a few ms (see replica.c open_queue). */
static int open_device(struct axl_port *port, const struct axl_port_cfg *pcfg)
{
    const uint64_t t0 = axl_clock_ns();
    int rc;
    for (;;) {
        memset(port, 0, sizeof(*port));
        rc = axl_port_open(port, pcfg);
        if (rc != -EBUSY || axl_clock_ns() - t0 >= 2000 * AXL_NS_PER_MS) return rc;
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
}

int director_main(const struct replica_args *a)
{
    const struct axl_dir_sup *ds = a->dir;
    const struct stackd_cfg *cfg = a->cfg;
    struct axl_rstat_page pg;
    struct axl_port port;
    struct axl_port_cfg pcfg = *a->pcfg;
    struct axl_director *d = NULL;
    uint64_t *buf = NULL;
    int status = 1, gate = a->gate_fd, rc;

    dir_signals();
    memset(&port, 0, sizeof(port));
    rc = axl_rstat_attach(&pg, a->status_fd, &a->id);
    close(a->status_fd);
    if (rc < 0) {
        fprintf(stderr, "%s: director: status page: %s\n", PROG, axl_strerror(rc));
        return 1;
    }
    atomic_store_explicit(&pg.hdr->start_ns, axl_clock_ns(), memory_order_relaxed);
    atomic_store_explicit(&pg.hdr->cpu, pin_self(a->cpu), memory_order_relaxed);
    axl_rstat_set_state(&pg, AXL_RSTAT_STARTING);
    buf = calloc(a->id.ncounters, sizeof(*buf));
    d = calloc(1, sizeof(*d));
    if (!buf || !d) {
        fprintf(stderr, "%s: director: out of memory\n", PROG);
        goto out_page;
    }
    if (axl_director_init(d, &ds->g, ds->memfd, ds->bells, ds->dir_bell, ds->quota,
                          a->id.generation) < 0)
        goto out_page;
    pcfg.pool = &d->pool;
    pcfg.queue = 0;
    rc = open_device(&port, &pcfg);
    if (rc < 0) {
        fprintf(stderr, "%s: director: cannot open port %s: %s\n", PROG, cfg->port,
                axl_strerror(rc));
        goto out_dir;
    }
    axl_director_start(d, &port);
    dir_export(&pg, d, buf, a->id.ncounters);
    if (gate >= 0) {
        /* The director serves at once (the replicas need it to set up);
         * GATED only tells the supervisor it is set up too. */
        /* (never O_NONBLOCK: the file description is the replicas' too) */
        axl_rstat_set_state(&pg, AXL_RSTAT_GATED);
    } else {
        atomic_store_explicit(&pg.hdr->ready_ns, axl_clock_ns(), memory_order_relaxed);
        axl_rstat_set_state(&pg, AXL_RSTAT_READY);
    }
    axl_rstat_beat(&pg, axl_clock_ns());
    bell_ring(a->doorbell_fd);
    axl_info(MOD, "director ready (%s): %s queue 0 -> %u replicas", 
             a->id.mode == AXL_RSTAT_RESTART ? "restart mode" : "fresh", cfg->port, ds->g.nrep);

    uint64_t last_tick = 0;
    uint32_t idle = 0;
    while (!d_stop) {
        uint64_t now = axl_clock_ns();
        uint32_t w = axl_director_poll(d, now);
        if (now - last_tick >= AXL_DIR_TICK_NS) {
            last_tick = now;
            axl_rstat_beat(&pg, now);
            dir_export(&pg, d, buf, a->id.ncounters);
            if (gate >= 0) {
                char c;
                struct pollfd gp = {gate, POLLIN, 0};
                if (poll(&gp, 1, 0) == 1 && read(gate, &c, 1) == 0) { /* EOF: the gate is open */
                    close(gate);
                    gate = -1;
                    atomic_store_explicit(&pg.hdr->ready_ns, axl_clock_ns(), memory_order_relaxed);
                    axl_rstat_set_state(&pg, AXL_RSTAT_READY);
                    bell_ring(a->doorbell_fd);
                }
            }
        }
        if (d_dump) {
            d_dump = 0;
            dir_dump(d, cfg);
        }
        if (w) {
            idle = 0;
            continue;
        }
        if (++idle < AXL_DIR_SPIN) continue;
        idle = 0;
        if (!axl_director_prepare_sleep(d)) {
            axl_director_wake_done(d);
            continue;
        }
        axl_port_idle(&port);
        axl_rstat_beat(&pg, axl_clock_ns());
        dir_export(&pg, d, buf, a->id.ncounters);
        struct pollfd pfd[3];
        int npfd = 0, dfd = axl_port_fd(&port);
        if (dfd >= 0) pfd[npfd++] = (struct pollfd){dfd, POLLIN, 0};
        pfd[npfd++] = (struct pollfd){ds->dir_bell, POLLIN, 0};
        if (gate >= 0) pfd[npfd++] = (struct pollfd){gate, POLLIN, 0};
        /* A wake-up at least every 100 ms: heartbeat, peer checks. A device
         * that cannot sleep (no fd) is polled every ms. */
        (void)poll(pfd, (nfds_t)npfd, dfd >= 0 ? 100 : 1);
        axl_director_wake_done(d);
        last_tick = 0; /* beat at once */
    }
    status = 0;
    axl_rstat_set_state(&pg, AXL_RSTAT_STOPPING);
    dir_export(&pg, d, buf, a->id.ncounters);
    dir_dump(d, cfg);
    axl_port_close(&port);
out_dir:
    axl_director_fini(d);
out_page:
    if (gate >= 0) close(gate);
    free(d);
    free(buf);
    axl_rstat_detach(&pg);
    return status;
}
