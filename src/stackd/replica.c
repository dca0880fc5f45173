/* SPDX-License-Identifier: MIT */
/*
 * replica.c - one replica: a single-threaded process running the engine on
 * the port queue it owns, with its own pool, port socket, ARP cache and
 * connections; nothing mutable is shared with any other replica (NEAT).
 *
 * Call chain: supervisor.c spawn -> fork -> replica_main
 *   -> axl_rstat_attach (status page, state STARTING)
 *   -> pin CPU -> axl_pool_init -> axl_port_open(queue) -> axl_stack_create
 *   -> services from the listener registry (--udp-echo, --tcp-echo: svc/echo.h ...)
 *   -> the service layer (svc/svc.h: the applications' channels)
 *   -> first start only: GATED + doorbell, wait at the start gate (EOF)
 *   -> READY + doorbell
 *   -> replica_run: the loop. Each iteration: axl_stack_poll (the engine)
 *      + axl_svc_poll (the apps' commands, hints, events; a sleeping app is
 *      woken once its burst of news ends, then sched_yield lets it run at
 *      once if it shares our CPU, svc.c SVC_WAKE_QUIET_NS); every
 *      AXL_REPLICA_TICK_NS also the supervisor link (NEW_APP / APP_GONE,
 *      link.h: NEW_APP / APP_GONE, CONNS answered in chunks, CAPTURE
 *      installed as the port's mirror) and the apps' sockets (REGMEM,
 *      hang-ups), the heartbeat, load (busy_ns) and the counter export. Idle (AXL_REPLICA_IDLE_SPINS empty iterations
 *      over AXL_REPLICA_IDLE_NS): every app's sleep word is set
 *      (axl_svc_prepare_sleep), then poll(2) on the port's fd, the
 *      supervisor link, the bell eventfd the apps write instead of a futex
 *      wake (abi.h HELLO) and the apps' sockets, until the next timer (at
 *      most AXL_REPLICA_SLEEP_MAX_MS). No system call while busy except the
 *      once-per-tick look at the link and sockets.
 *   -> SIGTERM: STOPPING, last export, counters dump, apps' connections
 *      aborted, close everything.
 *
 * Start modes: FRESH (first start) and RESTART (after a crash): both open a
 * fresh pool and re-open the queue; a restarted replica starts with no
 * connections, re-creates every listener of the registry and announces
 * itself with a gratuitous ARP (axl_stack_create). Peers of its lost
 * connections get RSTs from the new engine on their next segment (there is
 * no connection state to find).
 *
 * Signals (handlers only set flags): SIGTERM stop; SIGUSR1 write the counters
 * (--stats-out FILE, or FILE.qN for queue N > 0, or stdout); SIGINT ignored
 * (a terminal's ^C reaches the whole process group: the supervisor decides).
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/pool.h"
#include "net/stack.h"
#include "net/stack_priv.h" /* the timer wheel: how long the loop may sleep */
#include "net/stats.h"
#include "net/tcp_dump.h"
#include "port/pcap.h"
#include "stackd/stackd.h"
#include "svc/echo.h"
#include "stackd/director.h"
#include "svc/svc.h"

#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>

/** AXL_REPLICA_TICK_NS: heartbeat and counter export period while busy. */
#define AXL_REPLICA_TICK_NS (10 * AXL_NS_PER_MS)
/** AXL_REPLICA_OPEN_WAIT_MS: how long a queue that is still busy (EBUSY) is
 *  retried; well below the supervisor's default start time-out (10 s). */
#define AXL_REPLICA_OPEN_WAIT_MS 2000u
/** AXL_REPLICA_STANDBY_NICE: a standby makes its pool at this nice value, on
 *  the CPU of the replica it may replace (which must hardly feel it), yet
 *  fast enough to be ready soon after (~10 % of a CPU when that replica spins). */
#define AXL_REPLICA_STANDBY_NICE 10
/** AXL_REPLICA_IDLE_SPINS / _IDLE_NS: empty iterations, and time, before sleeping
 *  (as axl_poll's, src/axl/ctx.c: a replica iteration polls the port, the
 *  timers and every app's channel, and 2,000 of them took several times
 *  50 us; with 200 the replica's CPU per request of a loaded HTTP server
 *  fell ~10 %, docs/BENCHMARKS.md "Isolated mode"). */
#define AXL_REPLICA_IDLE_SPINS 200u
/* AXL_REPLICA_IDLE_NS: stackd.h (the default of --idle-spin-us) */
/** AXL_REPLICA_SLEEP_MAX_MS: longest single sleep (the heartbeat beats at least
 *  this often when idle): an idle replica wakes twice a second, not more;
 *  never more than a quarter of the supervisor's --heartbeat-timeout. */
#define AXL_REPLICA_SLEEP_MAX_MS 500u
#define AXL_REPLICA_SLEEP_MIN_MS 10u
/** AXL_REPLICA_CONNS_JOBS: conns answers in progress at once (ctl_proto.h
 *  "conns"); a request beyond it is answered with an empty, final chunk. */
#define AXL_REPLICA_CONNS_JOBS 4u

/* Set only by signal handlers; read by the replica's loop. */
static volatile sig_atomic_t r_stop, r_term, r_dump;

static void on_term(int sig)
{
    (void)sig;
    r_term = 1;
    r_stop = 1;
}
static void on_usr1(int sig)
{
    (void)sig;
    r_dump = 1;
    r_stop = 1;
}

/* Handlers first, then unblock what the supervisor had blocked for its
 * signalfd: a signal sent in between stays pending, never kills us early. */
static void replica_signals(void)
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

static void echo_cb(struct axl_udp_sock *us, const uint8_t *data, uint32_t len, uint32_t saddr,
                    uint16_t sport, void *arg)
{
    struct axl_stack *s = arg;
    int rc = axl_udp_sendto(s, us, data, len, saddr, sport);
    if (rc < 0) axl_debug("replica", "udp echo reply failed: %s", axl_strerror(rc));
}

static void dump_stats(struct axl_stack *s, const struct stackd_cfg *cfg, uint32_t queue)
{
    char prefix[32];
    snprintf(prefix, sizeof(prefix), "q%u ", queue);
    if (!cfg->stats_out) {
        axl_stack_stats_dump(s, stdout, prefix);
        fflush(stdout);
        return;
    }
    char path[4096], tmp[4200];
    if (queue == 0)
        snprintf(path, sizeof(path), "%s", cfg->stats_out);
    else
        snprintf(path, sizeof(path), "%s.q%u", cfg->stats_out, queue);
    snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        axl_err("replica", "cannot write %s: %s", tmp, strerror(errno));
        return;
    }
    axl_stack_stats_dump(s, f, prefix);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        axl_err("replica", "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
    }
}

static int pin_cpu(int cpu)
{
    cpu_set_t set;
    if (cpu < 0 || cpu >= CPU_SETSIZE) return -1;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0) {
        axl_warn("replica", "cannot pin to CPU %d: %s", cpu, strerror(errno));
        return -1;
    }
    return cpu;
}

/* What the engine tick needs. */
struct replica_tick {
    struct axl_rstat_page *pg;
    struct axl_stack *s;
    struct axl_pool *pool;
    struct axl_port *port;
    uint64_t *buf; /* axl_rstat_ncounters() slots */
    uint32_t n;
    struct axl_svc *svc;
    uint64_t busy_ns; /* loop time in iterations that did work (status page: load) */
};

static void export_counters(struct replica_tick *t)
{
    uint32_t k = axl_stack_stats_copy(t->s, t->buf, AXL_STAT__COUNT);
    /* Pool and port counters follow, in status.h's order. */
    t->buf[k++] = t->pool->nbufs;
    t->buf[k++] = axl_pool_in_use(t->pool);
    t->buf[k++] = t->pool->alloc_fail;
    for (unsigned i = 0; i < axl_port_stat_count() && k < t->n; i++)
        t->buf[k++] = axl_port_stat_value(t->port, i);
    if (k < t->n) k += axl_svc_stats_copy(t->svc, t->buf + k, t->n - k);
    axl_rstat_export(t->pg, t->buf, k);
}

/* Called by the engine loop itself (never from a signal handler). */
static void replica_tick(void *arg, uint64_t now_ns, enum axl_tick_event ev)
{
    struct replica_tick *t = arg;
    axl_rstat_beat(t->pg, now_ns);
    axl_rstat_load(t->pg, t->busy_ns, t->s->tcp.nconns);
    if (ev != AXL_TICK_WAKE) export_counters(t); /* periodic, and before sleeping */
}

/* ---- the loop ------------------------------------------------------------------ */

/* A conns answer in progress (link CONNS, ctl_proto.h "conns"). */
struct conns_job {
    int fd; /* -1: free */
    struct axl_tcp_dump_rec *rec;
    uint32_t n, off, total;
    uint64_t t0;
};

struct replica_loop {
    struct axl_stack *s;
    struct axl_port *port;
    struct axl_svc *svc;
    int link; /* supervisor link, -1 once the supervisor is gone */
    struct replica_tick *tick;
    uint32_t idx; /* replica index */
    struct conns_job jobs[AXL_REPLICA_CONNS_JOBS];
    uint32_t njobs;
    struct axl_pcap *cap; /* the running capture (also port->pcap), or NULL */
    struct pollfd pfd[2 + AXL_SVC_MAX_APPS + 1];
    uint64_t sleep_max_ns; /* longest single sleep (AXL_REPLICA_SLEEP_MAX_MS) */
    uint64_t idle_ns;      /* spin this long before sleeping (--idle-spin-us) */
};

/* ---- conns (ctl_proto.h) -------------------------------------------------------- */

static void job_end(struct replica_loop *L, struct conns_job *j)
{
    close(j->fd);
    free(j->rec);
    memset(j, 0, sizeof(*j));
    j->fd = -1;
    L->njobs--;
}

/* Send what the socket takes now: 1 while more is left. */
static int job_step(struct replica_loop *L, struct conns_job *j, uint64_t now)
{
    struct {
        struct axl_conns_hdr h;
        struct axl_tcp_dump_rec r[AXL_CONNS_CHUNK];
    } d;
    for (;;) {
        uint32_t k = j->n - j->off < AXL_CONNS_CHUNK ? j->n - j->off : AXL_CONNS_CHUNK;
        d.h.magic = AXL_CONNS_MAGIC;
        d.h.nrec = (uint16_t)k;
        d.h.flags = j->off + k == j->n ? AXL_CONNS_LAST : 0;
        d.h.replica = L->idx;
        d.h.total = j->total;
        if (k) memcpy(d.r, j->rec + j->off, k * sizeof(d.r[0]));
        size_t len = sizeof(d.h) + k * sizeof(d.r[0]);
        ssize_t w = send(j->fd, &d, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (now - j->t0 > (uint64_t)AXL_CONNS_TIMEOUT_MS * AXL_NS_PER_MS) break; /* give up */
            return 1;
        }
        if (w != (ssize_t)len) break; /* the reader is gone */
        j->off += k;
        if (d.h.flags & AXL_CONNS_LAST) break;
    }
    job_end(L, j);
    return 0;
}

static void conns_start(struct replica_loop *L, int fd)
{
    struct conns_job *j = NULL;
    for (uint32_t i = 0; i < AXL_REPLICA_CONNS_JOBS; i++)
        if (L->jobs[i].fd < 0) {
            j = &L->jobs[i];
            break;
        }
    if (!j) { /* busy: an empty final answer rather than none */
        struct axl_conns_hdr h = {AXL_CONNS_MAGIC, 0, AXL_CONNS_LAST, L->idx, 0};
        if (send(fd, &h, sizeof(h), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
            axl_debug("replica", "conns: %s", strerror(errno));
        close(fd);
        return;
    }
    /* A bounded snapshot: the table as it is now, copied once. */
    uint32_t want = axl_tcp_dump(L->s, NULL, 0);
    uint32_t cap = want < AXL_CONNS_MAX ? want : AXL_CONNS_MAX;
    j->rec = cap ? calloc(cap, sizeof(*j->rec)) : NULL;
    if (cap && !j->rec) cap = 0;
    j->total = axl_tcp_dump(L->s, j->rec, cap);
    j->n = j->total < cap ? j->total : cap;
    if (L->svc && j->n) { /* which application owns each connection */
        uint32_t *app = calloc(j->n, sizeof(*app));
        pid_t *pid = calloc(j->n, sizeof(*pid));
        if (app && pid && axl_svc_conn_owners(L->svc, j->rec, j->n, app, pid) >= 0)
            for (uint32_t i = 0; i < j->n; i++) {
                j->rec[i].owner_app = app[i];
                j->rec[i].owner_pid = pid[i] > 0 ? (uint32_t)pid[i] : 0;
            }
        free(app);
        free(pid);
    }
    j->off = 0;
    j->fd = fd;
    j->t0 = axl_clock_ns();
    L->njobs++;
    job_step(L, j, j->t0);
}

static uint32_t jobs_poll(struct replica_loop *L, uint64_t now)
{
    uint32_t work = 0;
    for (uint32_t i = 0; i < AXL_REPLICA_CONNS_JOBS && L->njobs; i++)
        if (L->jobs[i].fd >= 0) {
            job_step(L, &L->jobs[i], now);
            work++;
        }
    return work;
}

/* ---- capture (ctl_proto.h) ------------------------------------------------------- */

static void cap_hello(int fd, uint32_t idx, int status, uint32_t snaplen)
{
    struct axl_cap_hello h = {AXL_CAP_MAGIC, status, idx, snaplen};
    if (send(fd, &h, sizeof(h), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
        axl_debug("replica", "capture: %s", strerror(errno));
}

static void cap_stop(struct replica_loop *L, const char *why)
{
    struct axl_pcap *pc = L->cap;
    if (!pc) return;
    if (L->port->pcap == pc) L->port->pcap = NULL;
    L->cap = NULL;
    axl_info("replica", "replica %u: capture ended (%s): %llu frames sent, %llu dropped", L->idx,
             why, (unsigned long long)pc->records, (unsigned long long)pc->dropped);
    axl_pcap_close(pc); /* closes the socket: the reader sees the end */
}

static void cap_start(struct replica_loop *L, const struct axl_link_cap *c, int fd)
{
    if (L->port->pcap) { /* a pcap= mirror, or a capture already */
        cap_hello(fd, L->idx, -EBUSY, 0);
        close(fd);
        return;
    }
    struct axl_pcap_filter f = {c->host, c->port, c->proto};
    struct axl_pcap *pc;
    int rc = axl_pcap_open_stream(&pc, fd, c->snaplen, &f, c->limit);
    if (rc < 0) {
        cap_hello(fd, L->idx, -ENOMEM, 0);
        close(fd);
        return;
    }
    cap_hello(fd, L->idx, 0, pc->snaplen);
    L->cap = pc;
    L->port->pcap = pc; /* port.h: rx_burst / tx_burst mirror from now on */
    char hb[16];
    axl_info("replica", "replica %u: capture started (host %s port %u proto %u limit %u)", L->idx,
             c->host ? axl_fmt_ipv4(c->host, hb) : "any", c->port, c->proto, c->limit);
}

/* Once per tick: has the capture ended (limit, reader gone)? */
static void cap_check(struct replica_loop *L)
{
    if (!L->cap) return;
    if (axl_pcap_done(L->cap)) {
        cap_stop(L, L->cap->closed ? "reader gone" : "frame limit reached");
        return;
    }
    struct pollfd p = {.fd = L->cap->fd, .events = 0};
    if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR | POLLNVAL)))
        cap_stop(L, "reader gone");
}

/* Messages from the supervisor (link.h). */
static uint32_t link_drain(struct replica_loop *L)
{
    uint32_t work = 0;
    while (L->link >= 0) {
        struct axl_link_msg m;
        int fd;
        int r = axl_link_recv(L->link, &m, &fd);
        if (r == 0) break;
        work++;
        if (r == AXL_EMALFORMED) {
            L->svc->st[AXL_SVC_SvcLinkBad]++;
            continue;
        }
        if (r < 0) { /* the supervisor is gone: PR_SET_PDEATHSIG ends us too */
            L->link = -1; /* closed at exit */
            break;
        }
        if (m.type == AXL_LINK_NEW_APP)
            axl_svc_app_add(L->svc, m.app_id, m.pid, m.uid, m.name, fd);
        else if (m.type == AXL_LINK_CONNS)
            conns_start(L, fd);
        else if (m.type == AXL_LINK_CAPTURE)
            cap_start(L, &m.cap, fd);
        else
            axl_svc_app_gone(L->svc, m.app_id);
    }
    return work;
}

/* The link and the apps' sockets: fill pfd from index `first`; count. */
static uint32_t fill_fds(struct replica_loop *L, uint32_t first)
{
    uint32_t n = first;
    if (L->link >= 0) L->pfd[n++] = (struct pollfd){.fd = L->link, .events = POLLIN};
    n += axl_svc_pollfds(L->svc, L->pfd + n, (uint32_t)(sizeof(L->pfd) / sizeof(L->pfd[0])) - n);
    return n;
}

static uint32_t handle_fds(struct replica_loop *L, uint32_t first, uint32_t n)
{
    uint32_t work = 0, i = first;
    if (L->link >= 0 && i < n && L->pfd[i].fd == L->link) {
        if (L->pfd[i].revents) work += link_drain(L);
        i++;
    }
    /* the service's entries: the bell, then the app sockets (app_add above
     * may have added one: it is not in this set, next time it is) */
    return work + axl_svc_pollfds_done(L->svc, L->pfd + i, n - i);
}

/* A look without sleeping (once per tick while busy). */
static uint32_t check_fds(struct replica_loop *L)
{
    uint32_t n = fill_fds(L, 0);
    if (poll(L->pfd, n, 0) <= 0) return 0;
    return handle_fds(L, 0, n);
}

static void replica_sleep(struct replica_loop *L, uint64_t now)
{
    struct axl_port *p = L->port;
    uint64_t wait = axl_tw_next_ns(&L->s->tw, now);
    int pfd_port = axl_port_fd(p);
    if (pfd_port < 0) wait = AXL_MIN(wait, AXL_NS_PER_MS);
    wait = AXL_MIN(wait, axl_svc_sleep_max_ns(L->svc));
    wait = AXL_MIN(wait, L->sleep_max_ns);
    if (L->njobs) wait = AXL_MIN(wait, AXL_NS_PER_MS); /* a conns answer goes on soon */
    if (wait == 0) return;
    if (!axl_svc_prepare_sleep(L->svc)) return; /* an app sent something meanwhile */
    if (p->ops->prepare_sleep && !p->ops->prepare_sleep(p)) {
        axl_svc_wake_done(L->svc);
        return;
    }
    uint32_t first = 0;
    if (pfd_port >= 0) L->pfd[first++] = (struct pollfd){.fd = pfd_port, .events = POLLIN};
    uint32_t n = fill_fds(L, first);
    int ms = (int)((wait + AXL_NS_PER_MS - 1) / AXL_NS_PER_MS);
    int r = poll(L->pfd, n, ms); /* EINTR: a signal; the caller looks at the flags */
    if (p->ops->wake_done) p->ops->wake_done(p);
    axl_svc_wake_done(L->svc);
    if (r > 0) handle_fds(L, first, n);
}

static int replica_run(struct replica_loop *L)
{
    uint32_t idle = 0;
    uint64_t idle_since = 0, last_tick = 0, prev = axl_clock_ns();
    int prev_work = 0;
    struct replica_tick *t = L->tick;
    while (!r_stop) {
        uint64_t now = axl_clock_ns();
        uint32_t work = 0;
        if (prev_work) t->busy_ns += now - prev; /* load: the last iteration did work */
        prev = now;
        if (now - last_tick >= AXL_REPLICA_TICK_NS) {
            last_tick = now;
            replica_tick(t, now, AXL_TICK_PERIOD);
            work += check_fds(L);
            if (L->njobs) jobs_poll(L, now);
            cap_check(L);
        }
        work += axl_stack_poll(L->s, now);
        work += axl_svc_poll(L->svc);
        if (L->svc->woke) {
            /* Let the app we woke run now if it shares our CPU, while we are
             * runnable: its kick back then needs no bell write. Counted as
             * work: the idle spin starts again, so that an app on another
             * CPU finds us awake when it answers. */
            L->svc->woke = 0;
            sched_yield();
            work++;
        }
        prev_work = work != 0;
        if (work) {
            idle = 0;
            continue;
        }
        if (idle++ == 0) idle_since = now;
        if (idle < AXL_REPLICA_IDLE_SPINS || now - idle_since < L->idle_ns) continue;
        replica_tick(t, now, AXL_TICK_SLEEP);
        replica_sleep(L, now);
        last_tick = axl_clock_ns();
        prev = last_tick; /* the sleep is not load */
        replica_tick(t, last_tick, AXL_TICK_WAKE);
        if (L->njobs) jobs_poll(L, last_tick);
        cap_check(L);
        idle = 0;
    }
    return 0;
}

/* The start gate: at the first start every replica sets itself up (queue
 * open: frames for it wait in its RX ring), reports GATED and waits here
 * until the supervisor closes the gate's write end, so that the stack starts
 * serving on every queue at once. 0 to go on, 1 when told to stop. */
static int wait_at_gate(int fd)
{
    char c;
    ssize_t n;
    do {
        n = read(fd, &c, 1); /* blocks; a signal interrupts it (no SA_RESTART) */
    } while (n < 0 && errno == EINTR && !r_term);
    return r_term ? 1 : 0;
}

/* A standby (RESTART mode with a gate, supervisor.c spawn_spare) waits
 * here, its pool made, until the supervisor sends one byte (go: its
 * predecessor died), with the predecessor's queue socket to take over when
 * it has one (SCM_RIGHTS: *xsk, else -1), or closes the gate (stop). 0 to go
 * on, 1 to stop. */
static int standby_wait(int fd, int *xsk)
{
    char c;
    ssize_t n;
    union {
        struct cmsghdr h;
        char b[CMSG_SPACE(sizeof(int))];
    } u;
    *xsk = -1;
    do {
        struct iovec iov = {&c, 1};
        struct msghdr m = {
            .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof(u.b)};
        n = recvmsg(fd, &m, MSG_CMSG_CLOEXEC);
        if (n == 1) {
            struct cmsghdr *h = CMSG_FIRSTHDR(&m);
            if (h && h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS &&
                h->cmsg_len == CMSG_LEN(sizeof(int)))
                memcpy(xsk, CMSG_DATA(h), sizeof(int));
            else if (h) /* not what the supervisor sends: ignore it */
                axl_warn("replica", "standby: unexpected control message at the gate");
        }
    } while (n < 0 && errno == EINTR && !r_term);
    if (n == 1 && !r_term) return 0;
    if (*xsk >= 0) close(*xsk);
    *xsk = -1;
    return 1;
}

static void ring_doorbell(int fd)
{
    uint64_t one = 1;
    if (fd >= 0 && write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        axl_debug("replica", "doorbell: %s", strerror(errno));
}

/* Open our queue. A queue whose previous owner just died may still be
 * busy: the kernel releases an AF_XDP socket's buffer pool from a work queue
 * (xp_release_deferred, under the RTNL lock), so for a few ms after the death
 * a bind on that queue fails with EBUSY. Retry for up to
 * AXL_REPLICA_OPEN_WAIT_MS; the port's own error lines are held back while
 * retrying (they would repeat) and shown for a failure that is final. */
static int open_queue(struct axl_port *port, const struct axl_port_cfg *pcfg, uint32_t idx,
                      int adopt_fd)
{
    const uint64_t t0 = axl_clock_ns();
    const int level = axl_log_level_cur;
    uint32_t tries = 0;
    int rc;

    if (adopt_fd >= 0) { /* the predecessor's socket, still bound: no bind to wait for */
        struct axl_port_cfg c = *pcfg;
        c.adopt = 1;
        c.adopt_fd = adopt_fd; /* axl_port_open owns it now */
        memset(port, 0, sizeof(*port));
        rc = axl_port_open(port, &c);
        if (rc == 0) return 0;
        axl_warn("replica", "replica %u: cannot take over queue %u's socket (%s); binding afresh",
                 idx, pcfg->queue, axl_strerror(rc));
    }

    for (;;) {
        tries++;
        axl_log_level_cur = AXL_LOG_ERR - 1; /* this process only; restored below */
        memset(port, 0, sizeof(*port));
        rc = axl_port_open(port, pcfg);
        axl_log_level_cur = level;
        if (rc != -EBUSY || axl_clock_ns() - t0 >= AXL_REPLICA_OPEN_WAIT_MS * AXL_NS_PER_MS) break;
        struct timespec ts = {0, 2000000}; /* 2 ms: let the kernel's clean-up run */
        nanosleep(&ts, NULL);
    }
    if (rc < 0) { /* say why, with the port's own words */
        memset(port, 0, sizeof(*port));
        rc = axl_port_open(port, pcfg);
        if (rc == 0) return 0;
    } else if (tries > 1)
        axl_info("replica",
                 "replica %u: queue %u was still held by its previous owner; opened after "
                 "%u tries, %.1f ms",
                 idx, pcfg->queue, tries, (double)(axl_clock_ns() - t0) / 1e6);
    return rc;
}

int replica_main(const struct replica_args *a)
{
    const struct stackd_cfg *cfg = a->cfg;
    const uint32_t queue = a->id.queue;
    struct axl_rstat_page pg;
    struct axl_pool pool;
    struct axl_port port;
    struct axl_port_cfg pcfg = *a->pcfg;
    struct axl_stack *s = NULL;
    struct axl_udp_sock *socks[AXL_REG_MAX];
    uint32_t nsocks = 0;
    static struct axl_svc_echo techo[AXL_REG_MAX]; /* one replica per process */
    uint32_t ntecho = 0;
    static struct axl_svc svc; /* one replica per process */
    int svc_up = 0;
    uint64_t *buf = NULL;
    int rc, status = 1;
    int gate_fd = a->gate_fd;
    const int standby = a->id.mode == AXL_RSTAT_RESTART && gate_fd >= 0;

    if (a->dir && a->id.replica == a->dir->idx) return director_main(a); /* director.c */
    replica_signals();
    memset(&pool, 0, sizeof(pool));
    memset(&port, 0, sizeof(port));
    rc = axl_rstat_attach(&pg, a->status_fd, &a->id);
    close(a->status_fd);
    if (rc < 0) {
        fprintf(stderr, "%s: replica %u: status page: %s\n", PROG, a->id.replica, axl_strerror(rc));
        return 1;
    }
    atomic_store_explicit(&pg.hdr->start_ns, axl_clock_ns(), memory_order_relaxed);
    atomic_store_explicit(&pg.hdr->cpu, pin_cpu(a->cpu), memory_order_relaxed);
    axl_rstat_set_state(&pg, AXL_RSTAT_STARTING);
    if (standby && setpriority(PRIO_PROCESS, 0, AXL_REPLICA_STANDBY_NICE) < 0)
        axl_debug("replica", "standby: nice %d: %s", AXL_REPLICA_STANDBY_NICE, strerror(errno));

    buf = calloc(a->id.ncounters, sizeof(*buf));
    if (!buf) {
        fprintf(stderr, "%s: replica %u: out of memory\n", PROG, a->id.replica);
        goto out_page;
    }
    const uint64_t t_pool = axl_clock_ns();
    rc = a->dir ? director_replica_prepare(a->dir, queue, cfg, &pcfg, &pool) /* shared area */
         : a->pool_fd >= 0 /* the region every incarnation shares (supervisor.c pool_memfd) */
             ? axl_pool_init_fd(&pool, cfg->pool_bufs, cfg->buf_size, AXL_POOL_HEADROOM, a->pool_fd)
             : axl_pool_init(&pool, cfg->pool_bufs, cfg->buf_size, AXL_POOL_HEADROOM);
    if (rc < 0 && !a->dir && a->pool_fd >= 0) { /* a private pool: only no take-over then */
        axl_warn("replica", "replica %u: shared pool region unusable (%s); private pool",
                 a->id.replica, axl_strerror(rc));
        rc = axl_pool_init(&pool, cfg->pool_bufs, cfg->buf_size, AXL_POOL_HEADROOM);
    }
    if (a->pool_fd >= 0) close(a->pool_fd); /* mapped (or failed): the fd is not needed */
    if (rc < 0) {
        fprintf(stderr, "%s: cannot create a pool of %u x %u B buffers: %s\n", PROG, cfg->pool_bufs,
                cfg->buf_size, axl_strerror(rc));
        goto out_page;
    }
    pcfg.pool = &pool;
    pcfg.queue = queue;
    uint64_t t_queue = axl_clock_ns();
    double pool_ms = (double)(t_queue - t_pool) / 1e6;
    uint64_t t_go = t_pool;
    int adopt_fd = -1;
    if (standby) {
        int stop = standby_wait(gate_fd, &adopt_fd);
        close(gate_fd);
        gate_fd = -1;
        if (stop) {
            status = 0;
            goto out_pool;
        }
        if (getpriority(PRIO_PROCESS, 0) != 0 && setpriority(PRIO_PROCESS, 0, 0) < 0)
            axl_warn("replica", "replica %u: cannot go back to nice 0: %s", a->id.replica,
                     strerror(errno)); /* the supervisor does it first, when it can */
        t_go = t_queue = axl_clock_ns();
    }
    rc = open_queue(&port, &pcfg, a->id.replica, pool.shared ? adopt_fd : -1);
    if (adopt_fd >= 0 && !pool.shared) close(adopt_fd); /* not our frames' region */
    if (rc < 0) {
        fprintf(stderr, "%s: cannot open port %s (queue %u): %s\n", PROG, cfg->port, queue,
                axl_strerror(rc));
        goto out_pool;
    }

    struct axl_stack_cfg scfg;
    memset(&scfg, 0, sizeof(scfg));
    scfg.addr = cfg->addr;
    scfg.gw = cfg->gw;
    scfg.mtu = cfg->mtu;
    if (cfg->mac_str) {
        memcpy(scfg.mac, cfg->mac, 6);
        scfg.has_mac = 1;
    }
    /* every replica and incarnation: the boot's TCP secrets (tcp_secret.c) */
    if (cfg->tcp_secret_kept) scfg.tcp_secret = &cfg->tcp_secret;
    /* A fixed --seed gives each replica and incarnation its own stream. */
    scfg.seed = cfg->seed ? cfg->seed + queue + ((uint64_t)a->id.generation << 32) : 0;
    if (a->dir) { /* the director steers by the symmetric hash: active opens pick ports for us */
        scfg.steer_queue = (uint16_t)queue;
        scfg.steer_nqueues = (uint16_t)a->dir->g.nrep;
        /* ... in the buckets the director's live table gives us (axlctl
         * scale), and our per-bucket connection counts tell it when a bucket
         * that moved away is drained (steer/director_core.c "Scaling") */
        scfg.steer_reta = axl_dirport_reta(&port);
        scfg.tcp_bucket_conns = axl_dirport_bucket_conns(&port);
    }
    const uint64_t t_engine = axl_clock_ns();
    s = axl_stack_create(&scfg, &port, &pool, t_engine);
    if (!s) {
        fprintf(stderr, "%s: cannot start the stack on %s\n", PROG, cfg->port);
        goto out_port;
    }
    for (uint32_t i = 0; i < a->reg->n && i < AXL_REG_MAX; i++) {
        const struct axl_reg_entry *e = &a->reg->e[i];
        if (e->kind == AXL_REG_TCP_ECHO && e->proto == IPPROTO_TCP) {
            rc = axl_svc_echo_open(&techo[ntecho], s, e->port);
            if (rc < 0) {
                fprintf(stderr, "%s: --tcp-echo %u: %s\n", PROG, e->port, axl_strerror(rc));
                goto out_stack;
            }
            ntecho++;
            continue;
        }
        if (e->kind != AXL_REG_UDP_ECHO || e->proto != IPPROTO_UDP) continue;
        rc = axl_udp_bind(s, e->port, echo_cb, s, &socks[nsocks]);
        if (rc < 0) {
            fprintf(stderr, "%s: --udp-echo %u: %s\n", PROG, e->port, axl_strerror(rc));
            goto out_stack;
        }
        nsocks++;
    }

    struct axl_chan_params cp;
    axl_chan_params_default(&cp);
    if (cfg->chan_socks) cp.max_socks = cfg->chan_socks;
    if (cfg->chan_ring) cp.rx_size = cp.tx_size = cfg->chan_ring;
    if (cfg->chan_queue) cp.evq_slots = cp.cmdq_slots = cfg->chan_queue;
    rc = axl_svc_init(&svc, s, &cp);
    if (rc < 0) {
        fprintf(stderr, "%s: replica %u: service layer: %s\n", PROG, a->id.replica,
                axl_strerror(rc));
        goto out_stack;
    }
    svc.wake_quiet_ns = (uint64_t)cfg->wake_quiet_us * AXL_NS_PER_US;
    svc.wake_max_ns = (uint64_t)cfg->wake_hold_us * AXL_NS_PER_US;
    svc_up = 1;
    struct replica_tick tick = {&pg, s, &pool, &port, buf, a->id.ncounters, &svc};
    /* the supervisor copies the queue socket for our successor (only useful
     * with the region it can map too) */
    axl_rstat_handover_fd(&pg, pool.shared ? axl_port_handover_fd(&port) : -1);
    export_counters(&tick);
    const uint64_t t_set = axl_clock_ns();
    if (gate_fd >= 0) {
        axl_rstat_set_state(&pg, AXL_RSTAT_GATED);
        ring_doorbell(a->doorbell_fd);
        int stop = wait_at_gate(gate_fd);
        close(gate_fd);
        if (stop) {
            status = 0;
            goto out_stack;
        }
    }
    axl_rstat_beat(&pg, axl_clock_ns());
    const uint64_t t_ready = axl_clock_ns();
    atomic_store_explicit(&pg.hdr->ready_ns, t_ready, memory_order_relaxed);
    axl_rstat_set_state(&pg, AXL_RSTAT_READY); /* release: ready_ns is visible first */
    ring_doorbell(a->doorbell_fd);

    char ab[16];
    axl_info("replica",
             "replica %u ready (%s): %s queue %u, %s/%u, %u buffers%s, %u service%s; "
             "set-up %.1f ms (pool %.1f%s, queue %.1f%s%s, engine %.1f)%s",
             a->id.replica, a->id.mode == AXL_RSTAT_RESTART ? "restart mode" : "fresh", cfg->port,
             queue, axl_fmt_ipv4(cfg->addr.addr, ab), cfg->addr.prefix, cfg->pool_bufs,
             pool.hugepages ? " (hugepages)" : "", nsocks + ntecho, nsocks + ntecho == 1 ? "" : "s",
             (double)(t_set - t_go) / 1e6, pool_ms, standby ? " beforehand" : "",
             (double)(t_engine - t_queue) / 1e6, port.open_note[0] ? ": " : "", port.open_note,
             (double)(t_set - t_engine) / 1e6,
             a->gate_fd >= 0 && !standby ? ", then the start gate" : "");

    struct replica_loop *L = calloc(1, sizeof(*L));
    if (!L) {
        fprintf(stderr, "%s: replica %u: out of memory\n", PROG, a->id.replica);
        goto out_stack;
    }
    L->s = s;
    L->port = &port;
    L->svc = &svc;
    L->link = a->link_fd;
    L->tick = &tick;
    L->idx = a->id.replica;
    L->idle_ns = (uint64_t)cfg->idle_spin_us * AXL_NS_PER_US;
    {
        double q = cfg->hb_timeout / 4 * 1e9; /* 4 beats per time-out at least */
        uint64_t mx = (uint64_t)AXL_REPLICA_SLEEP_MAX_MS * AXL_NS_PER_MS;
        uint64_t mn = (uint64_t)AXL_REPLICA_SLEEP_MIN_MS * AXL_NS_PER_MS;
        L->sleep_max_ns = q > 0 && q < (double)mx ? AXL_MAX((uint64_t)q, mn) : mx;
    }
    for (uint32_t i = 0; i < AXL_REPLICA_CONNS_JOBS; i++)
        L->jobs[i].fd = -1;
    for (;;) {
        rc = replica_run(L);
        r_stop = 0;
        if (rc < 0) {
            fprintf(stderr, "%s: replica %u: engine stopped: %s\n", PROG, a->id.replica,
                    axl_strerror(rc));
            break;
        }
        if (r_dump) {
            r_dump = 0;
            dump_stats(s, cfg, queue);
        }
        if (r_term) {
            status = 0;
            break;
        }
    }
    axl_rstat_set_state(&pg, AXL_RSTAT_STOPPING);
    export_counters(&tick);
    dump_stats(s, cfg, queue);
    for (uint32_t i = 0; i < AXL_REPLICA_CONNS_JOBS; i++)
        if (L->jobs[i].fd >= 0) job_end(L, &L->jobs[i]);
    cap_stop(L, "replica stopping");
    free(L);

out_stack:
    if (svc_up) axl_svc_stop(&svc); /* every app connection aborted: the peers get RSTs */
    for (uint32_t i = 0; i < ntecho; i++)
        axl_svc_echo_close(&techo[i]);
    for (uint32_t i = 0; i < nsocks; i++)
        axl_udp_close(s, socks[i]);
    axl_stack_destroy(s);
    if (svc_up) axl_svc_fini(&svc);
out_port:
    axl_port_close(&port);
out_pool:
    axl_pool_fini(&pool);
out_page:
    if (a->link_fd >= 0) close(a->link_fd);
    free(buf);
    axl_rstat_detach(&pg);
    return status;
}
