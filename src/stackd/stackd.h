/* SPDX-License-Identifier: MIT */
/*
 * stackd.h - what the parts of axl-stackd share: the configuration from the
 * command line, the listener registry, the replica entry point, the
 * supervisor's view for the control socket, and the control server.
 *
 *   main.c        flags -> struct stackd_cfg -> supervisor_run
 *   supervisor.c  device set-up, fork/watch/restart replicas, the event loop
 *   replica.c     one replica process: engine on its queue + status page
 *   status.c      the shared status page (status.h)
 *   ctl.c         the control socket server (protocol in ctl_proto.h)
 *   apps.c        application sessions: attach, channels, registry entries
 *   link.c        the supervisor -> replica link (link.h)
 *   metrics.c     the Prometheus endpoint (--metrics, metrics.h)
 */
#ifndef AXL_STACKD_STACKD_H
#define AXL_STACKD_STACKD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/clock.h"
#include "core/opts.h"
#include "net/tcp_isn.h"
#include "port/port.h"
#include "stackd/ctl_proto.h"
#include "stackd/link.h"
#include "stackd/status.h"

#define PROG "axl-stackd"
/** AXL_MAX_ECHO: --udp-echo ports. */
#define AXL_MAX_ECHO 16
/** AXL_MAX_REPLICAS: replica processes per supervisor. */
#define AXL_MAX_REPLICAS 64
/** AXL_REG_MAX: listener registry entries. */
#define AXL_REG_MAX 256
/** AXL_SUP_MAX_APPS: attached applications (each holds a control connection). */
#define AXL_SUP_MAX_APPS 32

struct stackd_cfg {
    const char *port;
    struct axl_cidr addr;
    uint32_t gw;
    uint32_t mtu;
    uint8_t mac[6];
    const char *mac_str;
    const char *echo[AXL_MAX_ECHO];
    uint16_t echo_port[AXL_MAX_ECHO];
    uint32_t necho;
    /* the replica's service layer (svc/svc.h): channel sizes per application */
    uint32_t chan_socks, chan_ring, chan_queue;
    /* waking sleeping apps (svc.c SVC_WAKE_QUIET_NS / SVC_WAKE_MAX_NS) and the
     * replica's own spin before it sleeps (replica.c AXL_REPLICA_IDLE_NS), us */
    uint32_t wake_quiet_us, wake_hold_us, idle_spin_us;
    /* the boot's TCP secrets every replica uses (net/tcp_isn.h), when kept */
    struct axl_tcp_secret tcp_secret;
    int tcp_secret_kept;
    const char *tcp_echo[AXL_MAX_ECHO];
    uint16_t tcp_echo_port[AXL_MAX_ECHO];
    uint32_t ntcp_echo;
    uint32_t pool_bufs;
    uint32_t buf_size;
    const char *stats_out;
    int cpu; /* base CPU from --cpu, or -1: replica i on the i-th allowed CPU */
    int no_pin;
    uint64_t seed;
    double duration;
    uint32_t replicas; /* 0 = one per port queue */
    const char *ctl_path;
    double hb_timeout;      /* seconds without a heartbeat before a replica is killed */
    double start_timeout;   /* seconds a replica may take to become ready */
    uint32_t restart_limit; /* give up after more restarts than this ... */
    double restart_window;  /* ... within this many seconds */
    int director;           /* --director: a director process steers the device (director.h) */
    uint32_t scale_max;     /* --scale-max M: replicas forked behind the director (0 = --replicas) */
    const char *metrics;    /* --metrics unix:PATH|tcp:IP:PORT (metrics.h), NULL = off */
};

/** AXL_REPLICA_IDLE_NS: how long a replica with nothing to do keeps polling
 *  before it sleeps (the default of --idle-spin-us; replica.c). */
#define AXL_REPLICA_IDLE_NS (50 * AXL_NS_PER_US)

/* The listener registry: what every replica serves, re-created in a replica
 * that restarts. Supervisor-owned; a replica receives the table as it stood
 * when it was forked. It holds the built-in services (--udp-echo,
 * --tcp-echo), which a replica serves itself, and the applications'
 * listeners (ctl_proto.h "listen"), which the application opens on each of
 * its channels itself (also after a restart, when it reattaches): for those
 * the registry is the record of who holds a port. */
enum axl_reg_kind {
    AXL_REG_UDP_ECHO = 1, /* RFC 862 echo over UDP */
    AXL_REG_TCP_ECHO = 2, /* RFC 862 echo over TCP */
    AXL_REG_APP = 3,      /* an application's listener */
};
struct axl_reg_entry {
    uint8_t kind;  /* enum axl_reg_kind */
    uint8_t proto; /* IPPROTO_UDP / IPPROTO_TCP */
    uint16_t port; /* host order */
    uint32_t app;  /* AXL_REG_APP: the application's id, else 0 */
};
/* "udp-echo", "tcp-echo", "app". */
const char *axl_reg_kind_name(unsigned kind);
struct axl_registry {
    uint32_t n;
    struct axl_reg_entry e[AXL_REG_MAX];
};
/* 0, AXL_EEXIST (same kind/proto/port), AXL_ENOBUFS (full). */
int axl_registry_add(struct axl_registry *r, uint8_t kind, uint8_t proto, uint16_t port);

/* ---- replica ---------------------------------------------------------------- */
struct axl_dir_sup;
struct replica_args {
    const struct stackd_cfg *cfg;
    const struct axl_port_cfg *pcfg;
    const struct axl_registry *reg;
    struct axl_rstat_id id;
    int status_fd;   /* the status page memfd (this incarnation's) */
    int doorbell_fd; /* eventfd: written once when ready */
    int cpu;         /* CPU to pin to, -1 = none */
    int gate_fd;     /* first start: read end of the start gate (EOF = go), else -1 */
    int link_fd;     /* this incarnation's end of the supervisor link (link.h) */
    int pool_fd;     /* memfd of the pool region all incarnations of this replica share
                      * (afxdp: a successor takes over the queue socket), -1 = private pool */
    const struct axl_dir_sup *dir; /* director on: the shared area (director.h), else NULL */
};
/* Body of a replica process (after fork); returns its exit status. */
int replica_main(const struct replica_args *a);

/* ---- supervisor ----------------------------------------------------------------- */
int supervisor_run(const struct stackd_cfg *cfg, struct axl_port_cfg *pcfg);

struct sup;
/* What the control socket shows of one replica (a copy, refreshed from the
 * status page when asked). */
struct replica_view {
    uint32_t idx, queue, gen, restarts;
    pid_t pid; /* 0 = none */
    int cpu;   /* -1 = not pinned / unknown */
    const char *state;
    char last_exit[32];
    int64_t uptime_ms; /* -1 = not running */
    double restart_ms; /* last fork -> ready, -1 = none yet */
    double down_ms;    /* last death noticed -> ready again, -1 = none */
    int64_t hb_age_ms; /* -1 = none */
    uint64_t heartbeat;
    double load;   /* busy fraction over the last second, -1 = unknown */
    int64_t conns; /* TCP entries it holds, -1 = unknown */
    /* behind the director (axlctl scale): "active", "draining", "parked",
     * "director" (the director's own entry); "active" without a director */
    const char *role;
    int64_t buckets;  /* redirection-table buckets it owns, -1 = no table */
    int64_t draining; /* moved buckets it still holds connections of, -1 = no table */
};
uint32_t sup_nreplicas(struct sup *S);
/* axlctl scale: n active replicas behind the director. 0, AXL_ENOTSUP (no
 * director), -ERANGE (n not 1..max; *max says the bound). */
int sup_scale(struct sup *S, uint32_t n, uint32_t *max);
/* The director's active count in force and the maximum; 0, 0 = no director. */
void sup_scale_info(struct sup *S, uint32_t *active, uint32_t *max);
void sup_view(struct sup *S, uint32_t i, struct replica_view *v);
/* Counters of replica i (current incarnation, else its last export) into
 * dst[n]; n = axl_rstat_ncounters(). */
void sup_counters(struct sup *S, uint32_t i, uint64_t *dst, uint32_t n);
/* Fault injection. 0, AXL_ENOENT (no such replica), -ESRCH (not running). */
int sup_kill(struct sup *S, uint32_t i, int sig);
void sup_summary(struct sup *S, pid_t *pid, int64_t *uptime_ms, uint32_t *running, uint32_t *failed,
                 const char **port, char *addr, size_t addrlen);

/* Replica i's supervisor link if it is running (its queue and generation in
 * *queue, *gen), else -ESRCH; AXL_ENOENT for no such replica. */
int sup_replica_link(struct sup *S, uint32_t i, uint32_t *queue, uint32_t *gen);
/* A conns / capture request (link.h CONNS, CAPTURE) to running replica i:
 * a SOCK_SEQPACKET socketpair, one end sent to the replica, the other in
 * *out_fd. 0, -ESRCH (not running), AXL_ENOENT, negative errno. */
int sup_replica_request(struct sup *S, uint32_t i, uint16_t type, const struct axl_link_cap *cap,
                        int *out_fd, uint32_t *queue, uint32_t *gen);
struct axl_registry *sup_registry(struct sup *S);
struct sup_apps *sup_apps_of(struct sup *S);

/* ---- application sessions (apps.c) ------------------------------------------------- */
struct sup_app {
    uint32_t id; /* 0 = free slot */
    pid_t pid;
    uid_t uid;
    char name[AXL_APP_NAME_MAX + 1];
    uint32_t chan_gen[AXL_MAX_REPLICAS]; /* replica generation of its channel, 0 = none */
};
struct sup_apps {
    struct sup_app a[AXL_SUP_MAX_APPS];
    uint32_t next_id;
};
/* A session for the peer of control connection fd (SO_PEERCRED): its id in
 * *id. 0, -EMFILE (table full), negative errno. */
int sup_app_attach(struct sup *S, int ctl_fd, const char *name, uint32_t *id);
/* A channel of app `id` to replica i: a SOCK_SEQPACKET socketpair, one end
 * sent to the replica (NEW_APP on its link), the other in *app_fd. 0, -ESRCH
 * (not running), AXL_ENOENT, negative errno. */
int sup_app_channel(struct sup *S, uint32_t id, uint32_t i, int *app_fd, uint32_t *queue,
                    uint32_t *gen);
/* The session ended: registry entries dropped, APP_GONE to every replica. */
void sup_app_detach(struct sup *S, uint32_t id);
/* listen (add = 1) / unlisten: 0, AXL_EEXIST (another holds it), AXL_ENOENT
 * (unlisten of an entry it does not hold), AXL_ENOBUFS. */
int sup_app_listen(struct sup *S, uint32_t id, uint8_t proto, uint16_t port, int add);
/* Live channels and registry entries of app a. */
uint32_t sup_app_channels(struct sup *S, const struct sup_app *a);
uint32_t sup_app_listeners(struct sup *S, uint32_t id);

/* ---- control socket server (ctl.c) ------------------------------------------------ */
#define AXL_CTL_MAX_CLIENTS 32
struct ctl_client;
struct ctl {
    char path[108];
    char lock_path[128];
    int lock_fd;
    int listen_fd;
    int epfd;
    uint64_t tag_base;          /* epoll tags: tag_base = listen, tag_base+1+i = client i */
    struct ctl_client *clients; /* AXL_CTL_MAX_CLIENTS */
    struct sup *sup;            /* for sessions that end (set by ctl_event) */
};
/* Take the lock, replace a stale socket, bind, listen (0600), register with
 * epfd. 0, or a negative AXL_E* after printing why. */
int ctl_open(struct ctl *c, const char *path, int epfd, uint64_t tag_base);
/* An epoll event whose tag is in [tag_base, tag_base + 1 + AXL_CTL_MAX_CLIENTS). */
void ctl_event(struct ctl *c, struct sup *S, uint64_t tag, uint32_t events);
/* Close everything and remove the socket and lock file. */
void ctl_close(struct ctl *c);
/* In a forked child: close the descriptors without touching the files. */
void ctl_forget(struct ctl *c);

#endif
