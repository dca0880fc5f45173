/* SPDX-License-Identifier: MIT */
/*
 * port.h - packet I/O backends behind one small ops table.
 *
 * A port instance is one queue of one device, owned by one engine (replica).
 * Backends: afxdp.c, afpacket.c, tap.c, shmlink.c; pcap.c mirrors any port.
 *
 * Spec syntax (command line):  KIND:NAME[:QUEUES][,key=value...]
 *     afxdp:veth0            afxdp:veth0:4         afxdp:veth0,mode=skb
 *     afpacket:veth0         tap:axl0:2            shm:/run/axl/wire0,loss=0.1,seed=7
 * Common keys (all ports): mtu=N, pcap=FILE, mac=aa:bb:cc:dd:ee:ff.
 * Backend keys are documented in each backend's file header and in
 * docs/ARCHITECTURE.md.
 *
 * Ownership:
 *  - rx_burst hands out packets allocated from cfg->pool; the caller owns them
 *    and frees them to that pool.
 *  - tx_burst takes packets allocated from cfg->pool; it returns how many it
 *    accepted (a prefix of the array), and takes ownership of those: it frees
 *    them (after copying, or once the device reports completion). Packets not
 *    accepted stay the caller's (it may retry or free and count them).
 *  - tx_burst may batch internally; flush() pushes anything pending out to the
 *    device (one syscall per batch at most). The engine calls flush once per
 *    loop iteration after its TX burst.
 *
 * Sleeping: fd() returns a descriptor that poll(2) reports readable when RX
 * work arrives (or -1 if the backend cannot sleep). Before sleeping the engine
 * calls prepare_sleep(); a return of 0 means work raced in, do not sleep.
 */
#ifndef AXL_PORT_PORT_H
#define AXL_PORT_PORT_H

#include <stdint.h>
#include <stdio.h>

#include "core/pool.h"

#define AXL_PORT_MAX_OPTS 16
#define AXL_PORT_NAME_MAX 256

struct axl_port;
struct axl_pcap;

struct axl_port_kv {
    const char *key;
    const char *val;
};

/* Parsed spec + what the engine supplies. */
struct axl_port_cfg {
    char kind[16];                   /* "afxdp", "afpacket", "tap", "shm" */
    char name[AXL_PORT_NAME_MAX];    /* interface name or shm path */
    uint32_t nqueues;                /* QUEUES from the spec (default 1) */
    uint32_t queue;                  /* which queue this instance owns (0..nqueues-1) */
    uint32_t mtu;                    /* IP MTU; 0 = backend default (1500) */
    char pcap_path[AXL_PORT_NAME_MAX]; /* "" = no mirror */
    uint8_t mac[6];                  /* set if has_mac */
    int has_mac;
    uint32_t nopts;                  /* backend-specific key=value pairs */
    struct axl_port_kv opts[AXL_PORT_MAX_OPTS];
    char optbuf[1024];               /* storage the kv pointers point into */
    struct axl_pool *pool;           /* buffers for RX (and the AF_XDP UMEM) */
    /* afxdp: take over this queue's socket, still bound, from the process that
     * had it (a replica that died; its pool region is cfg->pool's, shared)
     * instead of binding a new one. open() owns adopt_fd from then on (closes
     * it on failure). Other kinds ignore it. */
    int adopt;
    int adopt_fd;
};

/* Counters every backend keeps (nstat-like names in the engine's dump). */
struct axl_port_stats {
    uint64_t rx_packets, rx_bytes;
    uint64_t tx_packets, tx_bytes;
    uint64_t rx_nobuf;       /* frames dropped: pool empty */
    uint64_t rx_trunc;       /* frames dropped: larger than a buffer / snaplen */
    uint64_t rx_kernel_drops;/* drops the kernel reports (ring full, tp_drops, xsk rx_dropped) */
    uint64_t rx_csum_partial;/* frames delivered with an unfinished L4 checksum */
    uint64_t rx_errors;      /* other receive errors (bad vnet header, ...) */
    uint64_t tx_full;        /* tx_burst refusals: device ring full */
    uint64_t tx_errors;      /* send failures */
    uint64_t tx_too_big;     /* frames above the port's MTU, refused and freed */
    uint64_t wakeups;        /* kernel kicks / doorbells issued */
    /* shmlink impairment accounting */
    uint64_t imp_lost, imp_dup, imp_reord, imp_corrupt, imp_delayed, imp_ratelimited;
    uint64_t link_drops;     /* TX frames dropped because the link is down (shm: no peer) */
};

struct axl_port_ops {
    const char *name;
    /* Device-wide set-up/tear-down done once per device before/after all its
     * queues are opened (e.g. attach the XDP program). May be NULL. Called by
     * the process that owns the device (the supervisor before it forks). */
    int (*dev_setup)(const struct axl_port_cfg *cfg);
    void (*dev_teardown)(const struct axl_port_cfg *cfg);
    int (*open)(struct axl_port *p, const struct axl_port_cfg *cfg);
    uint32_t (*rx_burst)(struct axl_port *p, struct axl_pkt **pkts, uint32_t n);
    uint32_t (*tx_burst)(struct axl_port *p, struct axl_pkt **pkts, uint32_t n);
    int (*flush)(struct axl_port *p);
    int (*fd)(struct axl_port *p);
    int (*prepare_sleep)(struct axl_port *p); /* 1: may sleep; 0: work pending */
    /* The fd another process may keep to hand the open queue over to this
     * one's successor (cfg->adopt), or -1. May be NULL (no hand-over). */
    int (*handover_fd)(struct axl_port *p);
    void (*wake_done)(struct axl_port *p);    /* after waking (may be NULL) */
    void (*close)(struct axl_port *p);
};

struct axl_port {
    const struct axl_port_ops *ops;
    struct axl_port_cfg cfg;
    struct axl_port_stats stats;
    uint8_t mac[6];        /* our MAC on this port (backend fills in open) */
    uint32_t mtu;          /* IP MTU in force (backend fills in open) */
    uint32_t max_frame;    /* largest frame it can send/receive */
    int ifindex;           /* 0 if not a kernel interface */
    struct axl_pcap *pcap; /* mirror, or NULL */
    void *priv;            /* backend state */
    char open_note[128];   /* the backend's account of open() (where the time went), or "" */
};

/* The backends (one file each). */
extern const struct axl_port_ops axl_port_afxdp_ops;    /* afxdp.c */
extern const struct axl_port_ops axl_port_afpacket_ops; /* afpacket.c */
extern const struct axl_port_ops axl_port_tap_ops;      /* tap.c */
extern const struct axl_port_ops axl_port_shm_ops;      /* shmlink.c */
extern const struct axl_port_ops axl_port_mem_ops;      /* memport.c: in-memory, for tests/fuzz */

/* Parse "KIND:NAME[:Q][,k=v...]" into cfg (pool/queue left unset).
 * 0, or -1 with a message in err (size errlen). */
int axl_port_parse_spec(const char *spec, struct axl_port_cfg *cfg, char *err, size_t errlen);
/* Value of a backend option or NULL. */
const char *axl_port_opt(const struct axl_port_cfg *cfg, const char *key);

const struct axl_port_ops *axl_port_find_ops(const char *kind);

/* Device-wide set-up (see ops) for a parsed cfg. 0 or negative AXL_E*. */
int axl_port_dev_setup(const struct axl_port_cfg *cfg);
void axl_port_dev_teardown(const struct axl_port_cfg *cfg);

/* Open queue cfg->queue with cfg->pool; opens the pcap mirror if requested.
 * 0 or negative AXL_E*, with a log message saying why. */
int axl_port_open(struct axl_port *p, const struct axl_port_cfg *cfg);
void axl_port_close(struct axl_port *p);
/* ops->handover_fd, or -1. */
int axl_port_handover_fd(struct axl_port *p);
/* The engine calls this when it is about to sleep (idle): writes out the pcap
 * mirror's buffer so a capture is never far behind an idle port. */
void axl_port_idle(struct axl_port *p);

/* Mirror hooks (pcap.c). RX: axl_pcap_mirror records the frames received.
 * TX: the frames are recorded before ownership passes (mirror_begin), and the
 * records of the frames tx_burst refused are taken back afterwards
 * (mirror_end), so a refused frame that the engine retries is captured once. */
void axl_pcap_mirror(struct axl_pcap *pc, struct axl_pkt **pkts, uint32_t n);
void axl_pcap_mirror_begin(struct axl_pcap *pc, struct axl_pkt **pkts, uint32_t n);
void axl_pcap_mirror_end(struct axl_pcap *pc, uint32_t accepted);

static inline uint32_t axl_port_rx_burst(struct axl_port *p, struct axl_pkt **pkts, uint32_t n)
{
    uint32_t got = p->ops->rx_burst(p, pkts, n);
    if (p->pcap && got)
        axl_pcap_mirror(p->pcap, pkts, got);
    return got;
}

static inline uint32_t axl_port_tx_burst(struct axl_port *p, struct axl_pkt **pkts, uint32_t n)
{
    if (p->pcap && n) {
        axl_pcap_mirror_begin(p->pcap, pkts, n); /* before ownership passes */
        uint32_t acc = p->ops->tx_burst(p, pkts, n);
        axl_pcap_mirror_end(p->pcap, acc);
        return acc;
    }
    return p->ops->tx_burst(p, pkts, n);
}

/* A frame a backend cannot send: shorter than `min` or longer than `max`
 * bytes. Counts it (tx_too_big or tx_errors) and returns 1; the caller, which
 * owns it once offered, frees it. */
static inline int axl_port_tx_unfit(struct axl_port *p, const struct axl_pkt *pkt, uint32_t min,
                                    uint32_t max)
{
    if (__builtin_expect(pkt->len >= min && pkt->len <= max, 1))
        return 0;
    if (pkt->len > max)
        p->stats.tx_too_big++;
    else
        p->stats.tx_errors++;
    return 1;
}

static inline int axl_port_flush(struct axl_port *p)
{
    return p->ops->flush ? p->ops->flush(p) : 0;
}
static inline int axl_port_fd(struct axl_port *p) { return p->ops->fd ? p->ops->fd(p) : -1; }

/* Print the port's counters as "name value" lines with a prefix. */
void axl_port_stats_dump(const struct axl_port *p, FILE *out, const char *prefix);
/* The same counters by index (the order the dump prints them), for exporting
 * them without text (the replica's status page, src/stackd/status.h):
 * axl_port_stat_count() of them; the name is NULL and the value 0 past the end. */
unsigned axl_port_stat_count(void);
const char *axl_port_stat_name(unsigned i);
uint64_t axl_port_stat_value(const struct axl_port *p, unsigned i);

#endif
