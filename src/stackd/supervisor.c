/* SPDX-License-Identifier: MIT */
/*
 * supervisor.c - axl-stackd's supervisor: sets the device up, forks one
 * replica per queue, watches them, restarts the dead, serves the control
 * socket, and tears everything down at the end (NEAT §6.3.6, NewtOS's
 * reincarnation server).
 *
 * Call chain: main -> supervisor_run
 *   -> ctl_open (the control socket; refuses when a live stackd owns it)
 *   -> axl_port_dev_setup (XDP program / TAP device, once)
 *   -> spawn(i, FRESH) for every replica: status page memfd
 *      (axl_rstat_create), the supervisor link (a SOCK_SEQPACKET socketpair
 *      per incarnation, link.h: application sessions reach the replica over
 *      it, apps.c), fork -> replica_main (replica.c); the start gate
 *      (a pipe) opens once every replica reports GATED (set up), so that the
 *      stack starts serving on all queues at once
 *      (frames for a waiting replica queue in its RX ring)
 *   -> the event loop (epoll, one thread, no work in signal handlers):
 *        signalfd  SIGCHLD -> reap -> on_death -> spawn(i, RESTART) or give up
 *                  SIGTERM/SIGINT -> begin_stop; SIGUSR1 -> forwarded
 *        eventfd   a replica became ready -> scan
 *        ctl       control clients (ctl.c)
 *        timeout   every AXL_SUP_SCAN_MS: scan = read every status page,
 *                  notice READY (log restart-to-serving), heartbeat stalls,
 *                  start time-outs, corrupt pages
 *   -> stop: SIGTERM to every replica, reap (SIGKILL after AXL_SUP_STOP_S),
 *      axl_port_dev_teardown, ctl_close.
 *
 * Liveness: a replica is dead when waitpid says so (SIGCHLD), hung when its
 * heartbeat counter has not moved for --heartbeat-timeout seconds (default 2;
 * an idle replica beats at least every 100 ms, a busy one every 10 ms), and
 * stuck when it is not ready --start-timeout seconds after its fork. Hung and
 * stuck replicas, and those whose status page fails validation, are killed
 * with SIGKILL and handled as dead.
 *
 * Restart policy: a replica that dies unexpectedly is restarted at once, in
 * restart mode, on the same queue and CPU. One that dies more than
 * --restart-limit times within --restart-window seconds is given up (state
 * "failed", a log line saying so); the others keep serving. A replica whose
 * very first start fails (bad port, no memory) is a configuration error: the
 * supervisor stops everything and exits 1. If every replica has been given
 * up, it exits 1 too.
 *
 * Timing: restart-to-serving = the replica's ready time (its status page,
 * CLOCK_MONOTONIC) - the supervisor's clock just before fork() (for a
 * pre-forked standby, see spawn_spare: just before its release); down time =
 * ready - the moment the supervisor noticed the death. Both are logged and
 * shown by `axlctl replicas`.
 *
 * If the supervisor itself dies, every replica gets SIGTERM from the kernel
 * (PR_SET_PDEATHSIG) and leaves; the XDP program of a dead owner is adopted
 * by the next axl-stackd (afxdp.c), the stale control socket replaced (ctl.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <netinet/in.h>

#include "core/clock.h"
#include "core/compiler.h"
#include "core/err.h"
#include "core/log.h"
#include "stackd/director.h"
#include "stackd/metrics.h"
#include "stackd/stackd.h"

/** AXL_SUP_SCAN_MS: status pages are read at least this often. */
#define AXL_SUP_SCAN_MS 100
/** AXL_SUP_STOP_S: time replicas get to leave after SIGTERM before SIGKILL. */
#define AXL_SUP_STOP_S 5
/** AXL_SUP_LOAD_MS: window over which a replica's load (busy fraction) is measured. */
#define AXL_SUP_LOAD_MS 1000
/** AXL_SUP_HIST: deaths remembered per replica for the crash-loop rule
 *  (must exceed any --restart-limit we accept). */
#define AXL_SUP_HIST 64

enum { TAG_SIG = 1, TAG_BELL = 2, TAG_CTL = 16, TAG_METRICS = 64 };
_Static_assert(TAG_CTL + 1 + AXL_CTL_MAX_CLIENTS <= TAG_METRICS, "epoll tags");

enum rep_state { R_STARTING, R_RUNNING, R_STOPPING, R_FAILED, R_STOPPED };
static const char *const rep_state_name[] = {"starting", "running", "stopping", "failed",
                                             "stopped"};

/* Why the supervisor itself killed a replica (shown as its last exit). */
enum kill_reason { K_NONE, K_INJECTED, K_HUNG, K_START_TIMEOUT, K_BAD_PAGE, K_STOP };

struct replica {
    uint32_t idx, queue;
    int cpu; /* pin target, -1 = none */
    enum rep_state state;
    pid_t pid; /* 0 = none */
    uint32_t gen;
    uint32_t restarts;
    int ever_ready;
    struct axl_rstat_id id;
    const void *map; /* status page, read-only; NULL when none */
    size_t map_size;
    struct axl_rstat_view view; /* last valid read */
    int view_ok;
    uint64_t fork_ns, ready_ns, death_ns;
    uint64_t last_hb, last_hb_change_ns;
    enum kill_reason kill_reason;
    int kill_sig;
    uint64_t deaths[AXL_SUP_HIST]; /* ring of death times */
    uint32_t ndeaths;
    char last_exit[32];
    double restart_ms, down_ms;
    uint64_t *snap; /* last counter snapshot (axl_rstat_ncounters()) */
    int link_fd;    /* our end of this incarnation's supervisor link, -1 = none */
    /* load: busy_ns growth over at least AXL_SUP_LOAD_MS of our clock */
    uint64_t load_t0, load_busy0;
    double load; /* busy fraction 0..1, -1 = not measured yet */
    /* The standby: the next incarnation, pre-forked once this one is ready,
     * its pool already made, waiting at spare_go (1 byte = go, EOF = exit). */
    pid_t spare_pid; /* 0 = none */
    int spare_go;    /* our end of its gate (socketpair), -1 = none */
    int spare_link;  /* our end of its supervisor link, -1 = none */
    struct axl_rstat_id spare_id;
    const void *spare_map;
    size_t spare_map_size;
    /* The queue hand-over (afxdp): the pool region every incarnation maps,
     * and our copy of the running incarnation's queue socket, taken when it
     * became ready, given to its standby when it dies (spare_go, SCM_RIGHTS). */
    int pool_fd;  /* -1 = none (private pools, no hand-over) */
    int xsk_copy; /* -1 = none */
};

struct sup {
    const struct stackd_cfg *cfg;
    struct axl_port_cfg *pcfg;
    struct axl_registry reg;
    struct replica r[AXL_MAX_REPLICAS];
    uint32_t n;
    uint32_t ncounters;
    uint64_t *scratch; /* ncounters: a snapshot being read */
    int epfd, sigfd, bellfd;
    int gate_r, gate_w; /* the start gate (a pipe): closed once every replica is set up */
    struct ctl ctl;
    int ctl_open;
    pid_t pid;
    uint64_t start_ns;
    uint64_t deadline_ns; /* --duration, 0 = none */
    int stopping;
    uint64_t stop_deadline_ns;
    int killed_all;
    int status; /* exit status */
    int announced;
    struct sup_apps apps; /* application sessions (apps.c) */
    struct axl_dir_sup dir; /* the director (director.h): entry dir.idx when dir.on */
    uint32_t req_id;        /* last conns / capture request id (link.h) */
    struct metrics metrics; /* --metrics (metrics.h): listen_fd -1 when off */
};

/* ---- the registry ----------------------------------------------------------------- */

int axl_registry_add(struct axl_registry *r, uint8_t kind, uint8_t proto, uint16_t port)
{
    for (uint32_t i = 0; i < r->n; i++)
        if (r->e[i].kind == kind && r->e[i].proto == proto && r->e[i].port == port)
            return AXL_EEXIST;
    if (r->n >= AXL_REG_MAX) return AXL_ENOBUFS;
    r->e[r->n].kind = kind;
    r->e[r->n].proto = proto;
    r->e[r->n].port = port;
    r->e[r->n].app = 0;
    r->n++;
    return 0;
}

/* ---- helpers -------------------------------------------------------------------- */

static const char *sig_name(int sig)
{
    const char *n = sigabbrev_np(sig);
    return n ? n : "?";
}

static double ns_to_ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

/* CPU for replica i: --cpu N -> N+i (mod the CPUs online); default: the i-th
 * CPU (mod their number) of those this process may run on. */
static int pick_cpu(const struct stackd_cfg *cfg, uint32_t i)
{
    if (cfg->no_pin) return -1;
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    if (online < 1) online = 1;
    if (cfg->cpu >= 0) return (int)(((long)cfg->cpu + i) % online);
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return (int)(i % (uint32_t)online);
    int n = CPU_COUNT(&set);
    if (n <= 0) return -1;
    int want = (int)(i % (uint32_t)n);
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &set) && want-- == 0) return c;
    return -1;
}

static void unmap_page(struct replica *r)
{
    if (r->map) munmap((void *)r->map, r->map_size);
    r->map = NULL;
    r->map_size = 0;
    r->view_ok = 0;
}

/* Take a counter snapshot from the live page (keeps the old one if the page
 * is busy or gone). */
static void snapshot(struct sup *S, struct replica *r)
{
    if (!r->map || !r->snap) return;
    int n = axl_rstat_counters(r->map, r->map_size, S->scratch, S->ncounters);
    if (n >= 0)
        memcpy(r->snap, S->scratch, (size_t)S->ncounters * sizeof(*r->snap));
    else if (n != AXL_EAGAIN)
        axl_debug("sup", "replica %u: counters unreadable: %s", r->idx, axl_strerror(n));
}

/* ---- spawning ------------------------------------------------------------------------- */

/* The pool region of replica i, shared by all its incarnations (pool.h
 * axl_pool_init_fd): 2 MiB pages when the system has them reserved (as the
 * private pool would use), else normal ones. -1 when it cannot be made: the
 * replicas then make private pools and restarts bind afresh. */
static int pool_memfd(const struct stackd_cfg *cfg, uint32_t i)
{
    const size_t huge = 2u << 20;
    size_t size = (size_t)cfg->pool_bufs * cfg->buf_size;
    char name[32];
    snprintf(name, sizeof(name), "axl-pool-%u", i);
    int fd = memfd_create(name, MFD_CLOEXEC | MFD_HUGETLB);
    if (fd >= 0) {
        size_t len = (size + huge - 1) / huge * huge;
        void *m = MAP_FAILED;
        if (ftruncate(fd, (off_t)len) == 0) /* a trial map reserves the pages, or fails */
            m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (m != MAP_FAILED) {
            munmap(m, len);
            return fd;
        }
        close(fd);
    }
    fd = memfd_create(name, MFD_CLOEXEC);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if (fd < 0 || ftruncate(fd, (off_t)((size + page - 1) / page * page)) != 0) {
        axl_warn("sup", "replica %u: no shared pool region (%s): restarts bind the queue afresh", i,
                 strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    return fd;
}

static void child_cleanup(struct sup *S, const struct replica *self)
{
    /* Nothing of the supervisor stays in a replica: its epoll instance,
     * signalfd, control socket and the status pages it maps. */
    close(S->epfd);
    close(S->sigfd);
    if (S->gate_w >= 0) close(S->gate_w); /* else the gate never opens for anyone */
    if (S->ctl_open) ctl_forget(&S->ctl);
    metrics_forget(&S->metrics);
    director_sup_forget(&S->dir); /* the header page is read-only for a replica */
    for (uint32_t i = 0; i < S->n; i++) {
        if (S->r[i].map) munmap((void *)S->r[i].map, S->r[i].map_size);
        if (S->r[i].link_fd >= 0) close(S->r[i].link_fd); /* other replicas' links */
        if (S->r[i].spare_go >= 0) close(S->r[i].spare_go); /* else a standby never sees EOF */
        if (S->r[i].spare_link >= 0) close(S->r[i].spare_link);
        if (S->r[i].spare_map) munmap((void *)S->r[i].spare_map, S->r[i].spare_map_size);
        /* a copy of a queue socket kept here would hold the queue busy */
        if (S->r[i].xsk_copy >= 0) close(S->r[i].xsk_copy);
        if (S->r[i].pool_fd >= 0 && &S->r[i] != self) close(S->r[i].pool_fd);
    }
}

static void close_link(struct replica *r)
{
    if (r->link_fd >= 0) close(r->link_fd);
    r->link_fd = -1;
}

/* Fork the next incarnation of replica r: creates its status page (identity
 * in *id) and its supervisor link (our end in *link), and returns the pid,
 * with the page mapped read-only at *map. gate: the fd it waits at (the
 * start gate, or a standby's own gate), -1 = none. */
static pid_t fork_process(struct sup *S, struct replica *r, uint32_t mode, int gate,
                          struct axl_rstat_id *id, const void **map, size_t *size, int *link)
{
    id->replica = r->idx;
    id->queue = r->queue;
    id->generation = r->gen + 1;
    id->mode = mode;
    id->ncounters = S->ncounters;
    int fd = axl_rstat_create(id, map, size);
    if (fd < 0) {
        axl_err("sup", "replica %u: status page: %s", r->idx, axl_strerror(fd));
        return fd;
    }
    int lk[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, lk) < 0) {
        int rc = -errno;
        axl_err("sup", "replica %u: link: %s", r->idx, strerror(errno));
        close(fd);
        munmap((void *)*map, *size);
        return rc;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        int rc = -errno;
        axl_err("sup", "replica %u: fork: %s", r->idx, strerror(errno));
        close(fd);
        close(lk[0]);
        close(lk[1]);
        munmap((void *)*map, *size);
        return rc;
    }
    if (pid == 0) {
        if (r->cpu >= 0 && r->cpu < CPU_SETSIZE) {
            /* Onto the replica's CPU before anything else: the fork ran on
             * ours, which may be another replica's, and a new incarnation
             * or standby must not take time there (its set-up took up to
             * 4 ms on another replica's CPU before replica_main pinned it). */
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(r->cpu, &set);
            (void)sched_setaffinity(0, sizeof(set), &set); /* replica_main says if it fails */
        }
        munmap((void *)*map, *size); /* the replica maps it read-write itself */
        child_cleanup(S, r);
        close(lk[0]);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != S->pid) _exit(1); /* the supervisor died before prctl */
        struct replica_args a = {
            S->cfg, S->pcfg,   &S->reg, *id,
            fd,     S->bellfd, r->cpu,  gate,
            lk[1],  r->pool_fd};
        a.dir = S->dir.on ? &S->dir : NULL; /* director.h */
        exit(replica_main(&a)); /* exit, not _exit: LeakSanitizer checks the replica */
    }
    close(fd);
    close(lk[1]);
    *link = lk[0];
    return pid;
}

/* Make the new process (with this identity and page) the replica's current one. */
static void adopt(struct sup *S, struct replica *r, pid_t pid, const struct axl_rstat_id *id,
                  const void *map, size_t size, uint64_t t0, int link)
{
    unmap_page(r);
    close_link(r);
    r->link_fd = link;
    r->id = *id;
    r->gen = id->generation;
    r->map = map;
    r->map_size = size;
    r->pid = pid;
    r->fork_ns = t0;
    r->ready_ns = 0;
    r->state = R_STARTING;
    r->kill_reason = K_NONE;
    r->kill_sig = 0;
    r->last_hb = 0;
    r->last_hb_change_ns = t0;
    r->load_t0 = r->load_busy0 = 0;
    r->load = -1;
    memset(r->snap, 0, (size_t)S->ncounters * sizeof(*r->snap));
}

/* Start replica r now (its next incarnation). 0 or negative AXL_E*. */
static int spawn(struct sup *S, struct replica *r, uint32_t mode)
{
    struct axl_rstat_id id;
    const void *map;
    size_t size;
    int link = -1;
    uint64_t t0 = axl_clock_ns();
    pid_t pid = fork_process(S, r, mode, mode == AXL_RSTAT_FRESH ? S->gate_r : -1, &id, &map,
                             &size, &link);
    if (pid < 0) return pid;
    adopt(S, r, pid, &id, map, size, t0, link);
    axl_debug("sup", "replica %u: forked pid %d (generation %u, %s)", r->idx, (int)pid, r->gen,
              mode == AXL_RSTAT_RESTART ? "restart mode" : "fresh");
    return 0;
}

/* ---- the standby --------------------------------------------------------------------
 * Restart-to-serving was mostly the new process making its pool (32 MB of
 * page faults for the default --pool) and the fork itself. So once an
 * incarnation is ready, its successor is forked at once, makes its pool at
 * nice 10 (it shares the CPU with the replica it will replace, which must
 * hardly feel it) and waits at its own gate. On a death, promote() gives
 * it normal priority and one byte: it opens the queue and starts serving.
 * Not with the director (its replicas share one area, director.c). */

static void forget_spare(struct replica *r)
{
    if (r->spare_go >= 0) close(r->spare_go);
    if (r->spare_link >= 0) close(r->spare_link);
    if (r->spare_map) munmap((void *)r->spare_map, r->spare_map_size);
    r->spare_go = r->spare_link = -1;
    r->spare_map = NULL;
    r->spare_map_size = 0;
    r->spare_pid = 0;
}

static void spawn_spare(struct sup *S, struct replica *r)
{
    if (S->dir.on || S->stopping || r->spare_pid > 0 || r->state != R_RUNNING) return;
    int g[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, g) < 0) {
        axl_warn("sup", "replica %u: standby gate: %s (restarts fork afresh)", r->idx,
                 strerror(errno));
        return;
    }
    r->spare_go = g[0]; /* set before the fork: the child closes it (child_cleanup) */
    pid_t pid = fork_process(S, r, AXL_RSTAT_RESTART, g[1], &r->spare_id, &r->spare_map,
                             &r->spare_map_size, &r->spare_link);
    close(g[1]);
    if (pid < 0) {
        r->spare_map = NULL; /* fork_process unmapped it */
        r->spare_link = -1;
        forget_spare(r);
        return;
    }
    r->spare_pid = pid;
    axl_debug("sup", "replica %u: standby pid %d forked (generation %u)", r->idx, (int)pid,
              r->spare_id.generation);
}

/* The standby's go: one byte, with the queue socket to take over (fd >= 0)
 * as SCM_RIGHTS. 1 when sent. */
static int send_go(int sock, int fd)
{
    char go = 1;
    struct iovec iov = {&go, 1};
    union {
        struct cmsghdr h;
        char b[CMSG_SPACE(sizeof(int))];
    } u;
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    memset(&u, 0, sizeof(u));
    if (fd >= 0) {
        m.msg_control = u.b;
        m.msg_controllen = sizeof(u.b);
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    return sendmsg(sock, &m, MSG_NOSIGNAL) == 1;
}

/* Make the standby the replica's current incarnation, handing it the dead
 * one's queue socket (xsk >= 0; stays the caller's). 0, or -1 when there is
 * none that can go (then the caller forks afresh). */
static int promote(struct sup *S, struct replica *r, int xsk)
{
    if (r->spare_pid <= 0) return -1;
    if (setpriority(PRIO_PROCESS, (id_t)r->spare_pid, 0) < 0)
        axl_warn("sup", "replica %u: standby pid %d: cannot restore its priority: %s", r->idx,
                 (int)r->spare_pid, strerror(errno));
    uint64_t t0 = axl_clock_ns();
    if (!send_go(r->spare_go, xsk)) { /* it died: reap() forgets it */
        axl_warn("sup", "replica %u: standby pid %d gone (%s); forking afresh", r->idx,
                 (int)r->spare_pid, strerror(errno));
        kill(r->spare_pid, SIGKILL);
        return -1;
    }
    adopt(S, r, r->spare_pid, &r->spare_id, r->spare_map, r->spare_map_size, t0, r->spare_link);
    r->spare_map = NULL; /* now r->map, r->link_fd */
    r->spare_link = -1;
    forget_spare(r); /* closes our end of its gate: it has its byte */
    axl_debug("sup", "replica %u: standby pid %d released (generation %u)", r->idx, (int)r->pid,
              r->gen);
    return 0;
}

static void send_kill(struct replica *r, int sig, enum kill_reason why)
{
    if (r->pid <= 0) return;
    if (kill(r->pid, sig) == 0) {
        if (why != K_NONE && (r->kill_reason == K_NONE || why != K_STOP)) r->kill_reason = why;
        r->kill_sig = sig;
    }
}

static uint32_t nlive(const struct sup *S)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < S->n; i++)
        n += (S->r[i].pid > 0) + (S->r[i].spare_pid > 0);
    return n;
}

/* Let every replica waiting at the start gate go (EOF on the pipe). */
static void open_gate(struct sup *S)
{
    if (S->gate_w >= 0) close(S->gate_w);
    S->gate_w = -1;
}

static void begin_stop(struct sup *S, int status, const char *why)
{
    if (status > S->status) S->status = status;
    if (S->stopping) return;
    S->stopping = 1;
    open_gate(S);
    S->stop_deadline_ns = axl_clock_ns() + (uint64_t)AXL_SUP_STOP_S * AXL_NS_PER_S;
    axl_info("sup", "stopping (%s): %u replica%s to stop", why, nlive(S), nlive(S) == 1 ? "" : "s");
    for (uint32_t i = 0; i < S->n; i++) {
        struct replica *r = &S->r[i];
        if (r->pid > 0) {
            send_kill(r, SIGTERM, K_STOP);
            r->state = R_STOPPING;
        }
        if (r->xsk_copy >= 0) { /* the replica's own closes the socket as it leaves */
            close(r->xsk_copy);
            r->xsk_copy = -1;
        }
        if (r->spare_pid > 0) { /* EOF at its gate; SIGTERM if it is still making its pool */
            close(r->spare_go);
            r->spare_go = -1;
            kill(r->spare_pid, SIGTERM);
        }
    }
}

/* ---- deaths ---------------------------------------------------------------------------- */

static void describe_exit(struct replica *r, int ws)
{
    switch (r->kill_reason) {
    case K_HUNG:
        snprintf(r->last_exit, sizeof(r->last_exit), "hung");
        return;
    case K_START_TIMEOUT:
        snprintf(r->last_exit, sizeof(r->last_exit), "start-timeout");
        return;
    case K_BAD_PAGE:
        snprintf(r->last_exit, sizeof(r->last_exit), "bad-status-page");
        return;
    default:
        break;
    }
    if (WIFEXITED(ws))
        snprintf(r->last_exit, sizeof(r->last_exit), "exit:%d", WEXITSTATUS(ws));
    else if (WIFSIGNALED(ws))
        snprintf(r->last_exit, sizeof(r->last_exit), "signal:%s", sig_name(WTERMSIG(ws)));
    else
        snprintf(r->last_exit, sizeof(r->last_exit), "unknown");
}

/* Deaths within the window, this one included. */
static uint32_t record_death(struct sup *S, struct replica *r, uint64_t now)
{
    r->deaths[r->ndeaths % AXL_SUP_HIST] = now;
    r->ndeaths++;
    uint64_t window = (uint64_t)(S->cfg->restart_window * 1e9);
    uint32_t k = 0, have = r->ndeaths < AXL_SUP_HIST ? r->ndeaths : AXL_SUP_HIST;
    for (uint32_t j = 0; j < have; j++)
        if (now - r->deaths[j] <= window) k++;
    return k;
}

static void on_death_do(struct sup *S, struct replica *r, int ws, uint64_t now, int xsk);

static void on_death(struct sup *S, struct replica *r, int ws, uint64_t now)
{
    /* Our copy of its queue socket goes to the standby, if any; either way
     * we drop ours now: kept, it would hold the queue busy for a fresh bind. */
    int xsk = r->xsk_copy;
    r->xsk_copy = -1;
    on_death_do(S, r, ws, now, xsk);
    if (xsk >= 0) close(xsk);
}

static void on_death_do(struct sup *S, struct replica *r, int ws, uint64_t now, int xsk)
{
    pid_t pid = r->pid;
    snapshot(S, r); /* its last export stays visible until the next incarnation */
    unmap_page(r);
    close_link(r); /* its apps' channels died with it: they reattach */
    r->pid = 0;
    r->death_ns = now;
    describe_exit(r, ws);

    if (S->dir.on && r->idx == S->dir.idx && !S->stopping) /* director.c: the set restarts */
        for (uint32_t j = 0; j < S->dir.idx; j++)
            send_kill(&S->r[j], SIGKILL, K_NONE);
    if (S->stopping) {
        r->state = R_STOPPED;
        int clean = WIFEXITED(ws) && WEXITSTATUS(ws) == 0;
        if (!clean) {
            axl_warn("sup", "replica %u (pid %d) ended badly while stopping: %s", r->idx, (int)pid,
                     r->last_exit);
            S->status = 1; /* not a clean stop (it crashed, or had to be killed) */
        }
        return;
    }
    if (!r->ever_ready) {
        /* The first start failed: the port, memory or set-up is wrong. */
        r->state = R_FAILED;
        axl_err("sup", "replica %u (queue %u) failed to start (%s); stopping", r->idx, r->queue,
                r->last_exit);
        begin_stop(S, 1, "a replica could not start");
        return;
    }
    const char *why = r->kill_reason == K_INJECTED ? " (injected by the control socket)"
                      : r->kill_reason == K_HUNG   ? " (killed: no heartbeat)"
                                                   : "";
    uint32_t k = record_death(S, r, now);
    if (k > S->cfg->restart_limit) {
        r->state = R_FAILED;
        uint32_t others = 0;
        for (uint32_t i = 0; i < S->n; i++)
            if (S->r[i].state == R_RUNNING || S->r[i].state == R_STARTING) others++;
        axl_err("sup",
                "replica %u (queue %u) crash-looping: died %u times within %.1f s (last: %s%s); "
                "giving up on it, queue %u is no longer served; %u other replica%s keep%s serving",
                r->idx, r->queue, k, S->cfg->restart_window, r->last_exit, why, r->queue, others,
                others == 1 ? "" : "s", others == 1 ? "s" : "");
        if (others == 0) begin_stop(S, 1, "every replica was given up");
        return;
    }
    axl_warn("sup", "replica %u (queue %u, pid %d) died: %s%s; restarting it", r->idx, r->queue,
             (int)pid, r->last_exit, why);
    r->restarts++;
    if (promote(S, r, xsk) < 0 && spawn(S, r, AXL_RSTAT_RESTART) < 0) {
        r->state = R_FAILED;
        axl_err("sup", "replica %u: cannot restart it; giving up on queue %u", r->idx, r->queue);
    }
}

static void reap(struct sup *S)
{
    for (;;) {
        int ws;
        pid_t pid = waitpid(-1, &ws, WNOHANG);
        if (pid <= 0) return;
        uint64_t now = axl_clock_ns();
        for (uint32_t i = 0; i < S->n; i++) {
            struct replica *r = &S->r[i];
            if (r->pid == pid) {
                on_death(S, r, ws, now);
                break;
            }
            if (r->spare_pid == pid) {
                if (!S->stopping && !(WIFEXITED(ws) && WEXITSTATUS(ws) == 0))
                    axl_warn("sup", "replica %u: standby pid %d died (%s %d); its next restart "
                             "forks afresh", r->idx, (int)pid,
                             WIFSIGNALED(ws) ? "signal" : "exit",
                             WIFSIGNALED(ws) ? WTERMSIG(ws) : WEXITSTATUS(ws));
                forget_spare(r);
                break;
            }
        }
    }
}

/* ---- watching ------------------------------------------------------------------------ */

/* Take a copy of the ready incarnation's queue socket (its status page says
 * which fd; checked to be an AF_XDP socket), for the hand-over to its
 * successor. Only with a shared pool region (r->pool_fd): without it the
 * successor could not reach the frames. A failure only costs the
 * hand-over: the successor binds afresh. */
static void take_socket_copy(struct replica *r)
{
    if (r->xsk_copy >= 0) close(r->xsk_copy);
    r->xsk_copy = -1;
    if (r->pool_fd < 0 || r->view.handover_fd < 0 || r->pid <= 0) return;
    int pfd = (int)syscall(SYS_pidfd_open, r->pid, 0);
    if (pfd < 0) {
        axl_debug("sup", "replica %u: pidfd_open: %s (no queue hand-over)", r->idx,
                  strerror(errno));
        return;
    }
    int fd = (int)syscall(SYS_pidfd_getfd, pfd, r->view.handover_fd, 0);
    close(pfd);
    int dom = 0;
    socklen_t len = sizeof(dom);
    if (fd >= 0 && (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &len) < 0 || dom != AF_XDP)) {
        close(fd);
        fd = -1;
        errno = EBADF;
    }
    if (fd < 0) {
        axl_warn("sup", "replica %u (pid %d): cannot copy its queue socket (fd %d): %s; its "
                 "successor will bind afresh", r->idx, (int)r->pid, r->view.handover_fd,
                 strerror(errno));
        return;
    }
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) axl_debug("sup", "FD_CLOEXEC: %s", strerror(errno));
    r->xsk_copy = fd;
}

static void became_ready(struct replica *r)
{
    uint64_t ready = r->view.ready_ns;
    take_socket_copy(r);
    r->state = R_RUNNING;
    r->ready_ns = ready;
    r->restart_ms = ns_to_ms(ready >= r->fork_ns ? ready - r->fork_ns : 0);
    if (r->gen == 1 && !r->ever_ready) {
        r->ever_ready = 1;
        axl_info("sup", "replica %u ready: pid %d, queue %u, cpu %d, %.1f ms from fork", r->idx,
                 (int)r->pid, r->queue, r->view.cpu, r->restart_ms);
        return;
    }
    r->ever_ready = 1;
    r->down_ms = ns_to_ms(ready >= r->death_ns ? ready - r->death_ns : 0);
    axl_info("sup",
             "replica %u serving again: pid %d, queue %u, generation %u (restart %u), "
             "restart-to-serving %.3f ms (fork to ready), down %.3f ms (death noticed to ready)",
             r->idx, (int)r->pid, r->queue, r->gen, r->restarts, r->restart_ms, r->down_ms);
}

static void scan(struct sup *S, uint64_t now)
{
    uint64_t hb_limit = (uint64_t)(S->cfg->hb_timeout * 1e9);
    uint64_t start_limit = (uint64_t)(S->cfg->start_timeout * 1e9);
    uint32_t gated = 0;

    for (uint32_t i = 0; i < S->n; i++) {
        struct replica *r = &S->r[i];
        if (r->pid <= 0 || !r->map || r->kill_reason == K_HUNG ||
            r->kill_reason == K_START_TIMEOUT || r->kill_reason == K_BAD_PAGE)
            continue;
        struct axl_rstat_view v;
        int rc = axl_rstat_read(r->map, r->map_size, &r->id, now, &v);
        if (rc < 0) {
            axl_err("sup", "replica %u (pid %d): status page fails validation (%s); killing it",
                    r->idx, (int)r->pid, axl_strerror(rc));
            r->view_ok = 0;
            send_kill(r, SIGKILL, K_BAD_PAGE);
            continue;
        }
        r->view = v;
        r->view_ok = 1;
        if (!r->load_t0 || v.busy_ns < r->load_busy0) {
            r->load_t0 = now;
            r->load_busy0 = v.busy_ns;
        } else if (now - r->load_t0 >= (uint64_t)AXL_SUP_LOAD_MS * AXL_NS_PER_MS) {
            double f = (double)(v.busy_ns - r->load_busy0) / (double)(now - r->load_t0);
            r->load = f > 1 ? 1 : f; /* busy time is measured on the replica's clock */
            r->load_t0 = now;
            r->load_busy0 = v.busy_ns;
        }
        if (v.heartbeat != r->last_hb) {
            r->last_hb = v.heartbeat;
            r->last_hb_change_ns = now;
        }
        if (r->state == R_STARTING) {
            if (v.state == AXL_RSTAT_GATED) {
                gated++;
                if (now - r->fork_ns > start_limit) {
                    axl_err("sup",
                            "replica %u (pid %d): the start gate is still closed %.1f s after "
                            "its start; killing it",
                            r->idx, (int)r->pid, S->cfg->start_timeout);
                    send_kill(r, SIGKILL, K_START_TIMEOUT);
                }
            } else if (v.state == AXL_RSTAT_READY || v.state == AXL_RSTAT_STOPPING) {
                if (v.state == AXL_RSTAT_READY) {
                    became_ready(r);
                    spawn_spare(S, r);
                } else
                    r->state = R_RUNNING;
            } else if (now - r->fork_ns > start_limit) {
                axl_err("sup", "replica %u (pid %d): not ready %.1f s after its start; killing it",
                        r->idx, (int)r->pid, S->cfg->start_timeout);
                send_kill(r, SIGKILL, K_START_TIMEOUT);
            }
            continue;
        }
        if (r->state == R_RUNNING && now - r->last_hb_change_ns > hb_limit) {
            axl_err("sup", "replica %u (pid %d): no heartbeat for %.1f s; killing it", r->idx,
                    (int)r->pid, ns_to_ms(now - r->last_hb_change_ns) / 1e3);
            send_kill(r, SIGKILL, K_HUNG);
        }
    }
    if (S->gate_w >= 0 && gated == S->n && !S->stopping) {
        axl_info("sup", "all %u replica%s set up; opening the start gate", S->n,
                 S->n == 1 ? "" : "s");
        open_gate(S);
    }
    if (!S->announced && !S->stopping) {
        uint32_t ready = 0;
        for (uint32_t i = 0; i < S->n; i++)
            if (S->r[i].state == R_RUNNING) ready++;
        if (ready == S->n) {
            S->announced = 1;
            axl_info("sup", "ready: %u replica%s serving %s", S->n, S->n == 1 ? "" : "s",
                     S->cfg->port);
        }
    }
}

/* ---- what the control socket sees ----------------------------------------------------------- */

uint32_t sup_nreplicas(struct sup *S)
{
    return S->n;
}

int sup_scale(struct sup *S, uint32_t n, uint32_t *max)
{
    *max = S->dir.on ? S->dir.max : 0;
    if (!S->dir.on) return AXL_ENOTSUP;
    int rc = director_sup_scale(&S->dir, n);
    if (rc == 0)
        axl_info("sup", "scale: %u of %u replicas active (the director refills its table)", n,
                 S->dir.max);
    return rc;
}

void sup_scale_info(struct sup *S, uint32_t *active, uint32_t *max)
{
    *active = S->dir.on ? director_sup_applied(&S->dir) : 0;
    *max = S->dir.on ? S->dir.max : 0;
}

int sup_replica_link(struct sup *S, uint32_t i, uint32_t *queue, uint32_t *gen)
{
    /* The director (the last entry) is no replica for applications or
     * link requests: "no such replica" (AXL_ENOENT), not "not running",
     * so callers count it out (ctl.c app_replicas) instead of retrying. */
    if (i >= S->n || (S->dir.on && i == S->dir.idx)) return AXL_ENOENT;
    struct replica *r = &S->r[i];
    if (r->pid <= 0 || r->link_fd < 0 || (r->state != R_RUNNING && r->state != R_STARTING))
        return -ESRCH;
    *queue = r->queue;
    *gen = r->gen;
    return r->link_fd;
}

struct axl_registry *sup_registry(struct sup *S)
{
    return &S->reg;
}

struct sup_apps *sup_apps_of(struct sup *S)
{
    return &S->apps;
}

void sup_view(struct sup *S, uint32_t i, struct replica_view *v)
{
    struct replica *r = &S->r[i];
    uint64_t now = axl_clock_ns();
    struct axl_rstat_view rv;

    memset(v, 0, sizeof(*v));
    v->idx = r->idx;
    v->queue = r->queue;
    v->gen = r->gen;
    v->restarts = r->restarts;
    v->pid = r->pid;
    v->cpu = r->cpu;
    v->state = rep_state_name[r->state];
    snprintf(v->last_exit, sizeof(v->last_exit), "%s", r->last_exit[0] ? r->last_exit : "-");
    v->uptime_ms = r->pid > 0 ? (int64_t)((now - r->fork_ns) / AXL_NS_PER_MS) : -1;
    v->restart_ms = r->gen > 1 || r->ever_ready ? r->restart_ms : -1;
    v->down_ms = r->restarts ? r->down_ms : -1;
    v->hb_age_ms = -1;
    v->load = -1;
    v->conns = -1;
    if (r->pid > 0 && r->map && axl_rstat_read(r->map, r->map_size, &r->id, now, &rv) == 0) {
        if (rv.cpu >= 0) v->cpu = rv.cpu;
        v->load = r->load;
        if (!(S->dir.on && i == S->dir.idx)) v->conns = rv.conns; /* the director has none */
        v->heartbeat = rv.heartbeat;
        if (rv.heartbeat_ns)
            v->hb_age_ms =
                rv.heartbeat_ns <= now ? (int64_t)((now - rv.heartbeat_ns) / AXL_NS_PER_MS) : 0;
    }
    if (r->state == R_STARTING && r->restart_ms == 0) v->restart_ms = -1;
    v->role = "active";
    v->buckets = v->draining = -1;
    if (S->dir.on && i == S->dir.idx) {
        v->role = "director";
    } else if (S->dir.on) {
        struct axl_dir_role dr;
        director_sup_role(&S->dir, i, &dr);
        if (dr.role) {
            if (r->pid <= 0 || r->state != R_RUNNING) { /* its counts died with it */
                dr.draining = 0;
                dr.role = dr.buckets ? "active" : "parked";
            }
            v->role = dr.role;
            v->buckets = dr.buckets;
            v->draining = dr.draining;
        }
    }
}

int sup_replica_request(struct sup *S, uint32_t i, uint16_t type, const struct axl_link_cap *cap,
                        int *out_fd, uint32_t *queue, uint32_t *gen)
{
    int link = sup_replica_link(S, i, queue, gen);
    if (link < 0) return link;
    if (S->r[i].state != R_RUNNING) return -ESRCH;
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) return -errno;
    struct axl_link_msg m;
    memset(&m, 0, sizeof(m));
    m.magic = AXL_LINK_MAGIC;
    m.type = type;
    m.nfds = 1;
    if (++S->req_id == 0) S->req_id = 1;
    m.app_id = S->req_id;
    if (cap) m.cap = *cap;
    int rc = axl_link_send(link, &m, sp[1]);
    close(sp[1]);
    if (rc < 0) {
        close(sp[0]);
        axl_warn("sup", "replica %u: request on its link failed: %s", i, axl_strerror(rc));
        return rc;
    }
    *out_fd = sp[0];
    return 0;
}

void sup_counters(struct sup *S, uint32_t i, uint64_t *dst, uint32_t n)
{
    struct replica *r = &S->r[i];
    snapshot(S, r);
    for (uint32_t k = 0; k < n; k++)
        dst[k] = k < S->ncounters ? r->snap[k] : 0;
}

int sup_kill(struct sup *S, uint32_t i, int sig)
{
    if (i >= S->n) return AXL_ENOENT;
    struct replica *r = &S->r[i];
    if (r->pid <= 0 || S->stopping) return -ESRCH;
    axl_info("sup", "replica %u (pid %d): sending SIG%s (fault injection)", r->idx, (int)r->pid,
             sig_name(sig));
    if (kill(r->pid, sig) < 0) return -errno;
    if (sig != SIGSTOP) r->kill_reason = K_INJECTED;
    r->kill_sig = sig;
    return 0;
}

void sup_summary(struct sup *S, pid_t *pid, int64_t *uptime_ms, uint32_t *running, uint32_t *failed,
                 const char **port, char *addr, size_t addrlen)
{
    char ab[16];
    *pid = S->pid;
    *uptime_ms = (int64_t)((axl_clock_ns() - S->start_ns) / AXL_NS_PER_MS);
    *running = *failed = 0;
    for (uint32_t i = 0; i < S->n; i++) {
        if (S->r[i].state == R_RUNNING) (*running)++;
        if (S->r[i].state == R_FAILED) (*failed)++;
    }
    *port = S->cfg->port;
    snprintf(addr, addrlen, "%s/%u", axl_fmt_ipv4(S->cfg->addr.addr, ab), S->cfg->addr.prefix);
}

/* ---- the loop ----------------------------------------------------------------------------- */

static void on_signal(struct sup *S)
{
    struct signalfd_siginfo si;
    for (;;) {
        ssize_t n = read(S->sigfd, &si, sizeof(si));
        if (n != (ssize_t)sizeof(si)) return; /* EAGAIN: drained */
        switch (si.ssi_signo) {
        case SIGCHLD:
            reap(S);
            break;
        case SIGTERM:
        case SIGINT:
            begin_stop(S, 0, si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
            break;
        case SIGUSR1:
            for (uint32_t i = 0; i < S->n; i++)
                if (S->r[i].pid > 0) kill(S->r[i].pid, SIGUSR1);
            break;
        default:
            break;
        }
    }
}

static int loop_timeout_ms(const struct sup *S, uint64_t now)
{
    uint64_t t = (uint64_t)AXL_SUP_SCAN_MS * AXL_NS_PER_MS;
    if (S->deadline_ns && !S->stopping)
        t = S->deadline_ns > now ? AXL_MIN(t, S->deadline_ns - now) : 0;
    if (S->stopping && !S->killed_all)
        t = S->stop_deadline_ns > now ? AXL_MIN(t, S->stop_deadline_ns - now) : 0;
    return (int)((t + AXL_NS_PER_MS - 1) / AXL_NS_PER_MS);
}

static int sup_loop(struct sup *S)
{
    struct epoll_event evs[32];
    uint64_t last_scan = 0;

    for (;;) {
        uint64_t now = axl_clock_ns();
        if (S->stopping && nlive(S) == 0) return 0;
        int n = epoll_wait(S->epfd, evs, 32, loop_timeout_ms(S, now));
        if (n < 0 && errno != EINTR) {
            axl_err("sup", "epoll_wait: %s", strerror(errno));
            begin_stop(S, 1, "internal error");
            n = 0;
        }
        int bell = 0;
        for (int i = 0; i < n; i++) {
            uint64_t tag = evs[i].data.u64;
            if (tag == TAG_SIG)
                on_signal(S);
            else if (tag == TAG_BELL) {
                uint64_t v;
                if (read(S->bellfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
                    axl_debug("sup", "doorbell: %s", strerror(errno));
                bell = 1;
            } else if (tag >= TAG_METRICS)
                metrics_event(&S->metrics, S, tag, evs[i].events);
            else if (tag >= TAG_CTL && S->ctl_open)
                ctl_event(&S->ctl, S, tag, evs[i].events);
        }
        now = axl_clock_ns();
        if (S->deadline_ns && now >= S->deadline_ns && !S->stopping)
            begin_stop(S, 0, "--duration reached");
        if (bell || now - last_scan >= (uint64_t)AXL_SUP_SCAN_MS * AXL_NS_PER_MS) {
            scan(S, now);
            last_scan = now;
        }
        if (S->stopping && !S->killed_all && now >= S->stop_deadline_ns) {
            S->killed_all = 1;
            for (uint32_t i = 0; i < S->n; i++) {
                if (S->r[i].pid > 0) {
                    axl_warn("sup", "replica %u (pid %d) did not stop in %d s; SIGKILL",
                             S->r[i].idx, (int)S->r[i].pid, AXL_SUP_STOP_S);
                    kill(S->r[i].pid, SIGKILL);
                }
                if (S->r[i].spare_pid > 0) kill(S->r[i].spare_pid, SIGKILL);
            }
        }
    }
}

static int sup_fds(struct sup *S)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGUSR1);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) return -errno;
    signal(SIGPIPE, SIG_IGN);
    S->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    S->bellfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    S->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (S->sigfd < 0 || S->bellfd < 0 || S->epfd < 0) return -errno;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_SIG};
    if (epoll_ctl(S->epfd, EPOLL_CTL_ADD, S->sigfd, &ev) < 0) return -errno;
    ev.data.u64 = TAG_BELL;
    if (epoll_ctl(S->epfd, EPOLL_CTL_ADD, S->bellfd, &ev) < 0) return -errno;
    return 0;
}

int supervisor_run(const struct stackd_cfg *cfg, struct axl_port_cfg *pcfg)
{
    static struct sup sup; /* one per process; big (the replica table) */
    struct sup *S = &sup;
    int rc;

    memset(S, 0, sizeof(*S));
    S->cfg = cfg;
    S->pcfg = pcfg;
    S->pid = getpid();
    S->start_ns = axl_clock_ns();
    S->sigfd = S->bellfd = S->epfd = -1;
    S->gate_r = S->gate_w = -1;
    S->metrics.listen_fd = -1;
    for (uint32_t i = 0; i < AXL_METRICS_CLIENTS; i++)
        S->metrics.c[i].fd = -1;
    S->n = cfg->replicas ? cfg->replicas : pcfg->nqueues;
    {
        /* --scale-max M: M replicas forked, S->n of them active (director.h) */
        uint32_t active = S->n;
        if (cfg->scale_max > S->n) S->n = cfg->scale_max;
        rc = director_sup_init(&S->dir, cfg, pcfg, S->n, active); /* 1: one more entry */
    }
    if (rc < 0) return 1;
    S->n += (uint32_t)rc;
    S->ncounters = axl_rstat_ncounters();
    S->scratch = calloc(S->ncounters, sizeof(*S->scratch));
    if (!S->scratch) {
        fprintf(stderr, "%s: out of memory\n", PROG);
        return 1;
    }
    if (cfg->duration > 0) S->deadline_ns = S->start_ns + (uint64_t)(cfg->duration * 1e9);
    for (uint32_t i = 0; i < cfg->necho; i++)
        if (axl_registry_add(&S->reg, AXL_REG_UDP_ECHO, IPPROTO_UDP, cfg->echo_port[i]) ==
            AXL_ENOBUFS) {
            fprintf(stderr, "%s: too many services\n", PROG);
            rc = 2;
            goto out_free;
        }
    for (uint32_t i = 0; i < cfg->ntcp_echo; i++)
        if (axl_registry_add(&S->reg, AXL_REG_TCP_ECHO, IPPROTO_TCP, cfg->tcp_echo_port[i]) ==
            AXL_ENOBUFS) {
            fprintf(stderr, "%s: too many services\n", PROG);
            rc = 2;
            goto out_free;
        }
    for (uint32_t i = 0; i < S->n; i++) {
        struct replica *r = &S->r[i];
        r->idx = r->queue = i;
        r->cpu = pick_cpu(cfg, i);
        r->state = R_STOPPED;
        r->restart_ms = r->down_ms = -1;
        r->link_fd = -1;
        r->spare_go = r->spare_link = -1;
        r->xsk_copy = -1;
        r->pool_fd = -1;
        r->snap = calloc(S->ncounters, sizeof(*r->snap));
        if (!r->snap) {
            fprintf(stderr, "%s: out of memory\n", PROG);
            rc = 1;
            goto out_free;
        }
    }
    if (!strcmp(pcfg->kind, "afxdp") && !S->dir.on)
        for (uint32_t i = 0; i < S->n; i++)
            S->r[i].pool_fd = pool_memfd(cfg, i);
    if ((rc = sup_fds(S)) < 0) {
        fprintf(stderr, "%s: supervisor set-up: %s\n", PROG, axl_strerror(rc));
        rc = 1;
        goto out_fds;
    }
    if (ctl_open(&S->ctl, cfg->ctl_path, S->epfd, TAG_CTL) < 0) {
        rc = 1;
        goto out_fds;
    }
    S->ctl_open = 1;
    if (cfg->metrics && metrics_open(&S->metrics, cfg->metrics, S->epfd, TAG_METRICS) < 0) {
        rc = 1;
        goto out_ctl;
    }
    rc = axl_port_dev_setup(pcfg);
    if (rc < 0) {
        fprintf(stderr, "%s: cannot set up %s: %s\n", PROG, cfg->port, axl_strerror(rc));
        rc = 1;
        goto out_ctl;
    }
    axl_info("sup", "supervisor pid %d: %u replica%s on %s (%u queue%s), heartbeat timeout %.1f s",
             (int)S->pid, S->n, S->n == 1 ? "" : "s", cfg->port, pcfg->nqueues,
             pcfg->nqueues == 1 ? "" : "s", cfg->hb_timeout);
    int gate[2];
    if (pipe2(gate, O_CLOEXEC) < 0) {
        fprintf(stderr, "%s: pipe: %s\n", PROG, strerror(errno));
        rc = 1;
        goto out_dev;
    }
    S->gate_r = gate[0];
    S->gate_w = gate[1];
    for (uint32_t i = 0; i < S->n; i++)
        if (spawn(S, &S->r[i], AXL_RSTAT_FRESH) < 0) {
            begin_stop(S, 1, "cannot start the replicas");
            break;
        }
    close(S->gate_r); /* the replicas have theirs; restarted ones start without a gate */
    S->gate_r = -1;
    sup_loop(S);
    rc = S->status;
    open_gate(S);
    for (uint32_t i = 0; i < S->n; i++) {
        unmap_page(&S->r[i]);
        close_link(&S->r[i]);
    }
out_dev:
    axl_port_dev_teardown(pcfg);
out_ctl:
    metrics_close(&S->metrics);
    ctl_close(&S->ctl);
    S->ctl_open = 0;
out_fds:
    if (S->epfd >= 0) close(S->epfd);
    if (S->sigfd >= 0) close(S->sigfd);
    if (S->bellfd >= 0) close(S->bellfd);
out_free:
    for (uint32_t i = 0; i < S->n; i++) {
        free(S->r[i].snap);
        if (S->r[i].pool_fd >= 0) close(S->r[i].pool_fd);
        if (S->r[i].xsk_copy >= 0) close(S->r[i].xsk_copy);
    }
    director_sup_fini(&S->dir);
    free(S->scratch);
    return rc;
}
