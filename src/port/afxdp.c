/* SPDX-License-Identifier: MIT */
/*
 * afxdp.c - the AF_XDP port backend (kind "afxdp").
 *
 * Spec:  afxdp:IFNAME[:QUEUES][,mode=drv|skb][,zc=auto|on|off][,ring=N]
 *   mode=drv   attach the XDP program in native mode (default); skb = generic
 *   zc=auto    try zero-copy, fall back to copy on EOPNOTSUPP (default);
 *              on = zero-copy or fail; off = copy
 *   ring=N     descriptors in each of the RX, TX, fill and completion rings
 *              (power of two, 64..16384, default 2048)
 *
 * Device level (dev_setup / dev_teardown, once per interface):
 *   our XDP program (src/port/xdp/axl_xdp.bpf.c, embedded in libaxl as the
 *   byte array axl_xdp_o) is loaded with libbpf and attached the plain way
 *   (bpf_xdp_attach; libxdp's dispatcher cannot load here, see
 *   reference/machine-facts.md). A foreign XDP program on the interface is
 *   never replaced: set-up fails and names it. Our own program is recognised
 *   by its program name and its `axl_xsks` map; the process that attached it
 *   records its pid and start time in the program's `axl_xdp_info` map. If
 *   that process still runs, set-up refuses (EBUSY); if it is gone (crashed),
 *   the stale program is replaced (atomically with XDP_FLAGS_REPLACE, or
 *   detach + attach when the mode changes). Nothing is pinned (bpffs is not
 *   mounted).
 *
 *   The XSKMAP fd each queue needs is kept in a small process-wide table
 *   keyed by ifindex (xdp_devs below). This is set-up state, written only by
 *   dev_setup/open/close/dev_teardown, never by the packet path; forked
 *   children inherit it with the fds. A process that has no entry (a replica
 *   exec'd later) finds our attached program by ifindex instead:
 *   bpf_xdp_query -> bpf_prog_get_fd_by_id -> its map ids -> "axl_xsks".
 *   If nothing (or only a stale program of ours) is attached, open() runs
 *   dev_setup itself and the last close() in that process detaches again
 *   (single-process use). dev_teardown detaches only our program, and only
 *   when this process attached it or its owner is gone. The table
 *   is not locked: open/close/dev_setup run from one thread.
 *
 * Queue level (open ... close): one AF_XDP socket on cfg->queue with its own
 *   UMEM, which is cfg->pool's region: buffer i is UMEM chunk i
 *   (frame_size = pool->buf_size), so a descriptor address is an offset into
 *   the pool and maps straight to its axl_pkt (axl_pool_pkt_at).
 *
 *   Headroom: on RX the kernel writes a frame at
 *       chunk + frame_headroom + XDP_PACKET_HEADROOM (256)
 *   and reports that address in the descriptor. We register
 *   frame_headroom = pool->headroom - 256 (0 when headroom <= 256), so with
 *   headroom >= 256 RX data starts exactly where pool.h says data starts.
 *   In every case we take desc.addr as given: pkt->data = base + desc.addr.
 *   Open a queue in the process that will use it (after fork, not before):
 *   the UMEM pins the pages of the process that registered them.
 *
 * Buffer ownership: the port holds the buffers it has put into the fill
 *   ring (until they come back on the RX ring and are handed to the caller)
 *   and the buffers it accepted for TX (until the completion ring returns
 *   them; then they are freed to the pool). `own[]` records, per pool
 *   buffer, which of the two the port holds, so close() can return every
 *   one of them and axl_pool_in_use() goes back to where it was.
 *
 * Counters: from the socket's XDP_STATISTICS (read every AXDP_STATS_EVERY
 *   rx bursts, before sleeping and at close): rx_nobuf = frames the kernel
 *   dropped because the fill ring was empty; rx_kernel_drops = its other
 *   drops (rest of rx_dropped, and rx_ring_full: we did not drain in time); rx_errors / tx_errors also take the kernel's invalid-descriptor
 *   counts. tx_full counts packets refused because the TX ring was full;
 *   frames above max_frame are taken, freed and counted in tx_too_big.
 *   wakeups counts sendto()/recvfrom() kicks.
 *
 * Call chain (hot path): engine -> axl_port_rx_burst -> afxdp_rx_burst
 *   (peek RX, map descs, release, refill fill ring, reap completions);
 *   engine -> axl_port_tx_burst -> afxdp_tx_burst (reap, reserve, submit);
 *   engine -> axl_port_flush -> afxdp_flush (sendto kick when needed).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_link.h>
#include <linux/if_xdp.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/xsk.h>

#include "core/clock.h"
#include "core/compiler.h"
#include "core/err.h"
#include "core/log.h"
#include "core/pool.h"
#include "port/port.h"

#define MOD "afxdp"

/* The embedded XDP object (build/gen/axl_xdp_obj.c, made by `xxd -i`). */
extern unsigned char axl_xdp_o[];
extern unsigned int axl_xdp_o_len;

/* Names inside axl_xdp.bpf.c. The kernel keeps BPF_OBJ_NAME_LEN - 1 = 15
 * characters of a program name, so "axl_xdp_redirect" reads back as
 * "axl_xdp_redirec"; compare that many. */
#define XDP_PROG_NAME "axl_xdp_redirect"
#define XDP_MAP_NAME  "axl_xsks"
#define XDP_INFO_NAME "axl_xdp_info"
/** AXDP_MAX_QUEUES: must equal AXL_XDP_MAX_QUEUES in axl_xdp.bpf.c (XSKMAP size). */
#define AXDP_MAX_QUEUES 64u
/** AXDP_MAX_DEVS: interfaces one process can drive at once. */
#define AXDP_MAX_DEVS 16

/** Ring sizes (ring=N): a power of two in [AXDP_RING_MIN, AXDP_RING_MAX]. */
#define AXDP_RING_DEFAULT 2048u
#define AXDP_RING_MIN     64u
#define AXDP_RING_MAX     16384u
/** AXDP_BATCH: fill-ring refill and completion reap granularity. */
#define AXDP_BATCH 64u
/** AXDP_STATS_EVERY: rx bursts between XDP_STATISTICS reads (a syscall). */
#define AXDP_STATS_EVERY 1024u
/** Copy-mode sendto() transmits at most this many frames per call unless the
 *  kernel accepts XDP_MAX_TX_SKB_BUDGET (6.17+); flush kicks repeatedly. */
#define AXDP_KERNEL_TX_BUDGET 32u

/** AXDP_BUSY_WAIT_MS / AXDP_BUSY_SLEEP_US: how long, and how often, a bind
 *  refused with EBUSY (queue still held by a dead owner's socket) is retried
 *  with the UMEM kept registered (afxdp_socket). */
#define AXDP_BUSY_WAIT_MS  1000u
#define AXDP_BUSY_SLEEP_US 250u

#ifndef XDP_MAX_TX_SKB_BUDGET
#define XDP_MAX_TX_SKB_BUDGET 9 /* include/uapi/linux/if_xdp.h, Linux 6.17 */
#endif

_Static_assert(AXL_POOL_HEADROOM == XDP_PACKET_HEADROOM, "pool headroom mirrors XDP headroom");

/* The one entry of the program's axl_xdp_info map (layout shared with
 * axl_xdp.bpf.c): who attached the program. A program whose owner no longer
 * runs is stale (its process crashed) and may be replaced. */
struct axl_xdp_info {
    uint32_t owner_pid;
    uint32_t pad;
    uint64_t owner_start;  /* /proc/PID/stat starttime: guards against pid reuse */
    uint64_t out_of_range; /* written by the program */
};
_Static_assert(sizeof(struct axl_xdp_info) == 24, "BPF map value layout");

/* ------------------------------------------------------------------------ */
/* Per-device registry (set-up state only, see the header).                  */

struct xdp_dev {
    int ifindex;      /* 0: free slot */
    int map_fd;       /* the axl_xsks XSKMAP */
    int prog_fd;      /* our attached program (for an exact detach), or -1 */
    uint32_t prog_id; /* its id */
    uint32_t mode;    /* XDP_FLAGS_DRV_MODE or XDP_FLAGS_SKB_MODE as attached */
    pid_t owner;      /* the process that attached it (only it detaches) */
    int attached;     /* this process attached the program (dev_setup ran here) */
    int auto_setup;   /* ... and it was open() doing so: the last close detaches */
    uint32_t nopen;   /* queues of this device open in this process */
};

static struct xdp_dev xdp_devs[AXDP_MAX_DEVS];

static struct xdp_dev *xdp_dev_find(int ifindex)
{
    for (size_t i = 0; i < AXDP_MAX_DEVS; i++)
        if (xdp_devs[i].ifindex == ifindex)
            return &xdp_devs[i];
    return NULL;
}

static struct xdp_dev *xdp_dev_new(int ifindex)
{
    struct xdp_dev *d = xdp_dev_find(0);

    if (!d)
        return NULL;
    memset(d, 0, sizeof(*d));
    d->ifindex = ifindex;
    d->map_fd = -1;
    d->prog_fd = -1;
    return d;
}

static void xdp_dev_free(struct xdp_dev *d)
{
    if (d->map_fd >= 0)
        close(d->map_fd);
    if (d->prog_fd >= 0)
        close(d->prog_fd);
    memset(d, 0, sizeof(*d));
}

/* ------------------------------------------------------------------------ */
/* Per-queue state.                                                          */

enum { OWN_NONE = 0, OWN_FILL = 1, OWN_TX = 2 };

struct afxdp {
    /* hot: touched every burst */
    struct xsk_ring_cons rx;
    struct xsk_ring_prod tx;
    struct xsk_ring_prod fill;
    struct xsk_ring_cons comp;
    struct axl_pool *pool;
    uint8_t *own;         /* per pool buffer: OWN_* */
    uint32_t fill_target; /* buffers we try to keep in the fill ring */
    uint32_t fill_held;   /* buffers currently in fill/RX rings */
    uint32_t tx_held;     /* buffers submitted for TX, not yet completed */
    uint32_t tx_pending;  /* submitted since the last kick */
    uint32_t bursts;      /* rx bursts since the last statistics read */
    uint32_t ring;        /* size of every ring */
    uint32_t kick_budget; /* frames the kernel sends per sendto() */
    int xsk_fd;
    uint16_t queue;
    /* cold */
    char ifname[IF_NAMESIZE];
    struct xsk_umem *umem;
    struct xsk_socket *xsk;
    struct xdp_dev *dev;
    int zerocopy;
    struct xdp_statistics last; /* kernel counters already folded into stats */
    /* where open() spent its time (the info line; restart-to-serving) */
    uint64_t t_umem, t_bind; /* ns: UMEM registration, socket create + bind */
    uint32_t busy, zc_refused; /* EBUSY retries, zero-copy refusals before copy mode */
    /* A socket taken over from a dead predecessor (afxdp_adopt): no libxdp
     * objects, our own ring mappings (fill, comp, rx, tx). */
    int adopted;
    void *rmap[4];
    size_t rlen[4];
};

/* ------------------------------------------------------------------------ */
/* Options.                                                                  */

struct afxdp_opts {
    uint32_t mode; /* XDP_FLAGS_DRV_MODE / XDP_FLAGS_SKB_MODE */
    int zc;        /* -1 auto, 0 off, 1 on */
    uint32_t ring;
};

static int afxdp_parse_opts(const struct axl_port_cfg *cfg, struct afxdp_opts *o)
{
    o->mode = XDP_FLAGS_DRV_MODE;
    o->zc = -1;
    o->ring = AXDP_RING_DEFAULT;
    for (uint32_t i = 0; i < cfg->nopts && i < AXL_PORT_MAX_OPTS; i++) {
        const char *k = cfg->opts[i].key, *v = cfg->opts[i].val ? cfg->opts[i].val : "";

        if (!k)
            continue;
        if (!strcmp(k, "mode")) {
            if (!strcmp(v, "drv") || !strcmp(v, "native"))
                o->mode = XDP_FLAGS_DRV_MODE;
            else if (!strcmp(v, "skb") || !strcmp(v, "generic"))
                o->mode = XDP_FLAGS_SKB_MODE;
            else
                goto bad;
        } else if (!strcmp(k, "zc")) {
            if (!strcmp(v, "auto"))
                o->zc = -1;
            else if (!strcmp(v, "on") || !strcmp(v, "1"))
                o->zc = 1;
            else if (!strcmp(v, "off") || !strcmp(v, "0"))
                o->zc = 0;
            else
                goto bad;
        } else if (!strcmp(k, "ring")) {
            char *end;
            unsigned long n = strtoul(v, &end, 10);

            if (*v == '\0' || *end != '\0' || n < AXDP_RING_MIN || n > AXDP_RING_MAX ||
                !axl_is_pow2(n))
                goto bad;
            o->ring = (uint32_t)n;
        } else if (strcmp(k, "mtu") && strcmp(k, "pcap") && strcmp(k, "mac")) {
            axl_err(MOD, "%s: unknown option '%s' (afxdp knows mode, zc, ring)", cfg->name, k);
            return AXL_EINVAL;
        }
        continue;
    bad:
        axl_err(MOD, "%s: bad value '%s' for option '%s' (mode=drv|skb, zc=auto|on|off, "
                     "ring=power of two %u..%u)",
                cfg->name, v, k, AXDP_RING_MIN, AXDP_RING_MAX);
        return AXL_EINVAL;
    }
    return 0;
}

static const char *mode_name(uint32_t mode)
{
    if (mode == XDP_FLAGS_SKB_MODE)
        return "skb";
    return mode == XDP_FLAGS_HW_MODE ? "hw" : "drv";
}

/* Number of rx queues the interface has (/sys/class/net/IF/queues/rx-*). */
static int if_rx_queues(const char *ifname)
{
    char path[PATH_MAX];
    struct dirent *e;
    DIR *dir;
    int n = 0;

    snprintf(path, sizeof(path), "/sys/class/net/%s/queues", ifname);
    dir = opendir(path);
    if (!dir)
        return -errno;
    while ((e = readdir(dir)) != NULL)
        if (!strncmp(e->d_name, "rx-", 3))
            n++;
    closedir(dir);
    return n;
}

/* ------------------------------------------------------------------------ */
/* Finding and attaching the XDP program.                                    */

/* Start time of a process in clock ticks since boot (field 22 of
 * /proc/PID/stat), 0 if there is no such process or it is a zombie. */
static uint64_t proc_start_time(pid_t pid)
{
    char path[64], buf[1024], *s;
    unsigned long long start = 0;
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    s = strrchr(buf, ')'); /* the command name may contain spaces and ')' */
    if (!s || s[1] != ' ' || s[2] == 'Z' || s[2] == 'X')
        return 0; /* a zombie has released its sockets: as good as gone */
    /* After ")": state is field 3, starttime field 22: skip 19 fields. */
    for (int f = 0; f < 20 && s; f++)
        s = strchr(s + 1, ' ');
    if (!s || sscanf(s + 1, "%llu", &start) != 1)
        return 0;
    return start;
}

/* Record this process as the owner in a freshly loaded program's info map. */
static int owner_record(int info_fd)
{
    struct axl_xdp_info info = {0};
    uint32_t zero = 0;

    info.owner_pid = (uint32_t)getpid();
    info.owner_start = proc_start_time(getpid());
    return bpf_map_update_elem(info_fd, &zero, &info, BPF_ANY) ? -errno : 0;
}

/* Pid of the live process that attached the program (info map fd), or 0 if
 * that process is gone (or unknown: info_fd < 0). */
static pid_t owner_alive(int info_fd)
{
    struct axl_xdp_info info;
    uint32_t zero = 0;
    uint64_t start;

    if (info_fd < 0 || bpf_map_lookup_elem(info_fd, &zero, &info) || !info.owner_pid)
        return 0;
    start = proc_start_time((pid_t)info.owner_pid);
    if (!start || start != info.owner_start)
        return 0;
    return (pid_t)info.owner_pid;
}

/* If prog_id is our program, return 0 with its fd, the fd of its axl_xsks
 * map and of its axl_xdp_info map (-1 if it has none: an older build); each
 * out pointer may be NULL. AXL_ENOENT if it is someone else's (its name in
 * `name`, size BPF_OBJ_NAME_LEN); other negative values on errors. */
static int prog_is_ours(uint32_t prog_id, int *prog_fd_out, int *map_fd_out, int *info_fd_out,
                        char *name)
{
    struct bpf_prog_info info;
    uint32_t map_ids[16], len = sizeof(info);
    int fd, err, found = -1, info_fd = -1;

    fd = bpf_prog_get_fd_by_id(prog_id);
    if (fd < 0)
        return -errno;
    memset(&info, 0, sizeof(info));
    info.nr_map_ids = AXL_ARRAY_SIZE(map_ids);
    info.map_ids = (uint64_t)(uintptr_t)map_ids;
    if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
        err = -errno;
        goto err;
    }
    memcpy(name, info.name, BPF_OBJ_NAME_LEN);
    name[BPF_OBJ_NAME_LEN - 1] = '\0';
    if (strncmp(info.name, XDP_PROG_NAME, BPF_OBJ_NAME_LEN - 1)) {
        err = AXL_ENOENT;
        goto err;
    }
    for (uint32_t i = 0; i < info.nr_map_ids && i < AXL_ARRAY_SIZE(map_ids); i++) {
        struct bpf_map_info mi;
        uint32_t mlen = sizeof(mi);
        int mfd = bpf_map_get_fd_by_id(map_ids[i]);

        if (mfd < 0)
            continue;
        memset(&mi, 0, sizeof(mi));
        if (bpf_obj_get_info_by_fd(mfd, &mi, &mlen))
            close(mfd);
        else if (found < 0 && mi.type == BPF_MAP_TYPE_XSKMAP && !strcmp(mi.name, XDP_MAP_NAME))
            found = mfd;
        else if (info_fd < 0 && mi.type == BPF_MAP_TYPE_ARRAY &&
                 mi.value_size == sizeof(struct axl_xdp_info) && !strcmp(mi.name, XDP_INFO_NAME))
            info_fd = mfd;
        else
            close(mfd);
    }
    if (found < 0) {
        err = AXL_ENOENT; /* right name, but not our map layout */
        goto err;
    }
    if (map_fd_out)
        *map_fd_out = found;
    else
        close(found);
    if (info_fd_out)
        *info_fd_out = info_fd;
    else if (info_fd >= 0)
        close(info_fd);
    if (prog_fd_out)
        *prog_fd_out = fd;
    else
        close(fd);
    return 0;
err:
    if (found >= 0)
        close(found);
    if (info_fd >= 0)
        close(info_fd);
    close(fd);
    return err;
}

/* What is attached to ifindex: *prog_id (0 = nothing) and its mode flag. */
static int xdp_attached(int ifindex, uint32_t *prog_id, uint32_t *mode)
{
    LIBBPF_OPTS(bpf_xdp_query_opts, q);
    int err = bpf_xdp_query(ifindex, 0, &q);

    if (err)
        return err < 0 ? err : AXL_EINVAL;
    *prog_id = 0;
    *mode = 0;
    if (q.drv_prog_id) {
        *prog_id = q.drv_prog_id;
        *mode = XDP_FLAGS_DRV_MODE;
    } else if (q.skb_prog_id) {
        *prog_id = q.skb_prog_id;
        *mode = XDP_FLAGS_SKB_MODE;
    } else if (q.hw_prog_id) {
        *prog_id = q.hw_prog_id;
        *mode = XDP_FLAGS_HW_MODE;
    } else if (q.prog_id) {
        *prog_id = q.prog_id;
        *mode = XDP_FLAGS_DRV_MODE;
    }
    return 0;
}

/* Load the embedded object; return the program and map fds (dup'ed, the
 * object itself is closed again). */
static int xdp_load(const char *ifname, int *prog_fd, int *map_fd)
{
    int info_fd;
    LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "axl_xdp");
    struct bpf_object *obj;
    struct bpf_program *prog;
    int err, pfd, mfd;

    *prog_fd = *map_fd = -1;
    obj = bpf_object__open_mem(axl_xdp_o, axl_xdp_o_len, &oo);
    if (!obj) {
        err = -errno;
        axl_err(MOD, "%s: cannot open the embedded XDP object: %s", ifname, axl_strerror(err));
        return err;
    }
    err = bpf_object__load(obj);
    if (err) {
        axl_err(MOD, "%s: cannot load the XDP program: %s", ifname, axl_strerror(err));
        goto err;
    }
    prog = bpf_object__find_program_by_name(obj, XDP_PROG_NAME);
    mfd = bpf_object__find_map_fd_by_name(obj, XDP_MAP_NAME);
    info_fd = bpf_object__find_map_fd_by_name(obj, XDP_INFO_NAME);
    pfd = prog ? bpf_program__fd(prog) : -1;
    if (pfd < 0 || mfd < 0 || info_fd < 0) {
        err = AXL_ENOENT;
        axl_err(MOD, "%s: embedded XDP object lacks %s/%s", ifname, XDP_PROG_NAME, XDP_MAP_NAME);
        goto err;
    }
    err = owner_record(info_fd);
    if (err) {
        axl_err(MOD, "%s: cannot record the owner in %s: %s", ifname, XDP_INFO_NAME,
                axl_strerror(err));
        goto err;
    }
    *prog_fd = fcntl(pfd, F_DUPFD_CLOEXEC, 3);
    *map_fd = fcntl(mfd, F_DUPFD_CLOEXEC, 3);
    if (*prog_fd < 0 || *map_fd < 0) {
        err = -errno;
        goto err;
    }
    bpf_object__close(obj);
    return 0;
err:
    if (*prog_fd >= 0)
        close(*prog_fd);
    if (*map_fd >= 0)
        close(*map_fd);
    *prog_fd = *map_fd = -1;
    bpf_object__close(obj);
    return err;
}

/* The program's tag (a hash of its instructions) and id. */
static int prog_tag(int prog_fd, uint8_t tag[BPF_TAG_SIZE], uint32_t *id)
{
    struct bpf_prog_info info;
    uint32_t len = sizeof(info);

    memset(&info, 0, sizeof(info));
    if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
        return -errno;
    memcpy(tag, info.tag, BPF_TAG_SIZE);
    *id = info.id;
    return 0;
}

/* Detach prog_fd from ifindex only if it is still the attached program. */
static int xdp_detach_exact(int ifindex, int prog_fd, uint32_t mode)
{
    LIBBPF_OPTS(bpf_xdp_attach_opts, ao, .old_prog_fd = prog_fd);

    return bpf_xdp_detach(ifindex, mode | XDP_FLAGS_REPLACE, &ao);
}

static int afxdp_setup(const struct axl_port_cfg *cfg, int auto_setup, struct xdp_dev **out)
{
    LIBBPF_OPTS(bpf_xdp_attach_opts, ao);
    struct afxdp_opts o;
    struct xdp_dev *d = NULL;
    uint32_t old_id = 0, old_mode = 0, new_id = 0;
    int ifindex, nrxq, err, old_fd = -1, old_map_fd = -1, old_info_fd = -1;
    int prog_fd = -1, map_fd = -1, flags, adopt = 0;
    uint8_t old_tag[BPF_TAG_SIZE], new_tag[BPF_TAG_SIZE];
    char name[BPF_OBJ_NAME_LEN];

    err = afxdp_parse_opts(cfg, &o);
    if (err)
        return err;
    ifindex = (int)if_nametoindex(cfg->name);
    if (!ifindex) {
        axl_err(MOD, "no interface '%s'", cfg->name);
        return AXL_ENOENT;
    }
    d = xdp_dev_find(ifindex);
    if (d && d->attached) { /* already set up by this process */
        if (out)
            *out = d;
        return 0;
    }
    if (d && d->nopen) {
        /* Our queues use another process's program: replacing it would
         * strand them in its map. */
        axl_err(MOD, "%s: %u queue(s) of this process use the attached program; not replacing it",
                cfg->name, d->nopen);
        return -EBUSY;
    }
    nrxq = if_rx_queues(cfg->name);
    if (nrxq < 0) {
        axl_err(MOD, "%s: cannot count rx queues: %s", cfg->name, axl_strerror(nrxq));
        return nrxq;
    }
    if (cfg->nqueues > (uint32_t)nrxq || cfg->nqueues > AXDP_MAX_QUEUES) {
        axl_err(MOD, "%s: %u queues requested, the interface has %d rx queues (max %u)",
                cfg->name, cfg->nqueues, nrxq, AXDP_MAX_QUEUES);
        return AXL_EINVAL;
    }

    err = xdp_attached(ifindex, &old_id, &old_mode);
    if (err) {
        axl_err(MOD, "%s: cannot query XDP state: %s", cfg->name, axl_strerror(err));
        return err;
    }
    if (old_id) {
        pid_t owner;

        err = prog_is_ours(old_id, &old_fd, &old_map_fd, &old_info_fd, name);
        if (err == AXL_ENOENT) {
            axl_err(MOD,
                    "%s: another XDP program ('%s', id %u, %s mode) is attached; refusing to "
                    "replace it (remove it with `ip link set dev %s xdp off`)",
                    cfg->name, name, old_id, mode_name(old_mode), cfg->name);
            return AXL_EEXIST;
        }
        if (err) {
            axl_err(MOD, "%s: cannot inspect attached XDP program id %u: %s", cfg->name, old_id,
                    axl_strerror(err));
            return err;
        }
        owner = owner_alive(old_info_fd);
        if (owner && owner != getpid()) {
            axl_err(MOD, "%s: the axolotl XDP program (id %u) is in use by process %d; not "
                         "replacing it",
                    cfg->name, old_id, (int)owner);
            err = -EBUSY;
            goto err;
        }
    }

    err = xdp_load(cfg->name, &prog_fd, &map_fd);
    if (err)
        goto err;
    err = prog_tag(prog_fd, new_tag, &new_id);
    if (err)
        goto err;
    /* A stale program with our exact code, in the mode we want, is adopted
     * rather than replaced: sockets other processes (replicas that outlived
     * the crashed owner) registered in its map keep working. */
    if (old_fd >= 0 && old_info_fd >= 0 && old_mode == o.mode &&
        !prog_tag(old_fd, old_tag, &old_id) && !memcmp(old_tag, new_tag, BPF_TAG_SIZE) &&
        !owner_record(old_info_fd)) {
        adopt = 1;
        close(prog_fd);
        close(map_fd);
        prog_fd = old_fd;
        map_fd = old_map_fd;
        old_fd = old_map_fd = -1;
        axl_warn(MOD, "%s: adopting the axolotl XDP program (id %u) left by an earlier run",
                 cfg->name, old_id);
    } else if (old_fd >= 0) {
        axl_warn(MOD, "%s: replacing a stale axolotl XDP program (id %u) left by an earlier run",
                 cfg->name, old_id);
    }
    if (old_fd >= 0 && old_mode != o.mode) {
        /* Native and generic cannot be swapped atomically: detach first. */
        err = xdp_detach_exact(ifindex, old_fd, old_mode);
        if (err) {
            axl_err(MOD, "%s: cannot detach the stale program: %s", cfg->name, axl_strerror(err));
            goto err;
        }
        close(old_fd);
        old_fd = -1;
    }
    if (old_fd >= 0) {
        ao.old_prog_fd = old_fd;
        flags = (int)(o.mode | XDP_FLAGS_REPLACE);
    } else {
        flags = (int)(o.mode | XDP_FLAGS_UPDATE_IF_NOEXIST);
    }
    err = adopt ? 0 : bpf_xdp_attach(ifindex, prog_fd, (uint32_t)flags, &ao);
    if (err) {
        axl_err(MOD, "%s: cannot attach the XDP program in %s mode: %s%s", cfg->name,
                mode_name(o.mode), axl_strerror(err),
                o.mode == XDP_FLAGS_DRV_MODE ? " (try mode=skb)" : "");
        goto err;
    }

    if (!d)
        d = xdp_dev_new(ifindex);
    if (!d) {
        err = AXL_ENOMEM;
        axl_err(MOD, "%s: more than %d AF_XDP devices in one process", cfg->name, AXDP_MAX_DEVS);
        if (!adopt)
            xdp_detach_exact(ifindex, prog_fd, o.mode);
        goto err;
    }
    if (d->map_fd >= 0)
        close(d->map_fd);
    if (d->prog_fd >= 0)
        close(d->prog_fd);
    d->map_fd = map_fd;
    d->prog_fd = prog_fd;
    d->prog_id = adopt ? old_id : new_id;
    d->mode = o.mode;
    d->owner = getpid();
    d->attached = 1;
    d->auto_setup = auto_setup;
    if (old_fd >= 0)
        close(old_fd);
    if (old_map_fd >= 0)
        close(old_map_fd);
    if (old_info_fd >= 0)
        close(old_info_fd);
    axl_info(MOD, "%s: XDP program %s (id %u, %s mode, %d rx queues)", cfg->name,
             adopt ? "adopted" : "attached", d->prog_id, mode_name(o.mode), nrxq);
    if (out)
        *out = d;
    return 0;
err:
    if (old_fd >= 0)
        close(old_fd);
    if (old_map_fd >= 0)
        close(old_map_fd);
    if (old_info_fd >= 0)
        close(old_info_fd);
    if (prog_fd >= 0)
        close(prog_fd);
    if (map_fd >= 0)
        close(map_fd);
    return err;
}

static int afxdp_dev_setup(const struct axl_port_cfg *cfg)
{
    return afxdp_setup(cfg, 0, NULL);
}

static void afxdp_detach_entry(struct xdp_dev *d, const char *ifname)
{
    if (d->attached && d->owner == getpid() && d->prog_fd >= 0) {
        int err = xdp_detach_exact(d->ifindex, d->prog_fd, d->mode);

        if (err)
            axl_warn(MOD, "%s: XDP program id %u no longer attached (%s); left alone", ifname,
                     d->prog_id, axl_strerror(err));
        else
            axl_info(MOD, "%s: XDP program id %u detached", ifname, d->prog_id);
    }
    xdp_dev_free(d);
}

static void afxdp_dev_teardown(const struct axl_port_cfg *cfg)
{
    int ifindex = (int)if_nametoindex(cfg->name);
    struct xdp_dev *d;
    uint32_t id, mode;
    int fd, info_fd = -1;
    pid_t owner;
    char name[BPF_OBJ_NAME_LEN];

    if (!ifindex)
        return;
    d = xdp_dev_find(ifindex);
    if (d && d->attached) {
        if (d->nopen)
            axl_warn(MOD, "%s: tearing down with %u queue(s) still open", cfg->name, d->nopen);
        afxdp_detach_entry(d, cfg->name);
        return;
    }
    /* Not set up by this process: detach our program if one is attached
     * (clean-up after a crashed owner); never touch a foreign one. */
    if (xdp_attached(ifindex, &id, &mode) || !id)
        return;
    if (prog_is_ours(id, &fd, NULL, &info_fd, name))
        return;
    owner = owner_alive(info_fd);
    if (owner && owner != getpid())
        axl_warn(MOD, "%s: XDP program id %u belongs to live process %d; left attached",
                 cfg->name, id, (int)owner);
    else if (!xdp_detach_exact(ifindex, fd, mode))
        axl_info(MOD, "%s: stale XDP program id %u detached", cfg->name, id);
    if (info_fd >= 0)
        close(info_fd);
    close(fd);
}

/* The registry entry for an open(): existing, found attached, or set up. */
static int afxdp_dev_get(const struct axl_port_cfg *cfg, int ifindex, struct xdp_dev **out)
{
    struct xdp_dev *d = xdp_dev_find(ifindex);
    uint32_t id, mode;
    int err, map_fd = -1, info_fd = -1;
    pid_t owner;
    char name[BPF_OBJ_NAME_LEN];

    if (d) {
        *out = d;
        return 0;
    }
    err = xdp_attached(ifindex, &id, &mode);
    if (err) {
        axl_err(MOD, "%s: cannot query XDP state: %s", cfg->name, axl_strerror(err));
        return err;
    }
    if (!id)
        return afxdp_setup(cfg, 1, out); /* nobody set it up: we do, we undo */
    err = prog_is_ours(id, NULL, &map_fd, &info_fd, name);
    if (err == AXL_ENOENT) {
        axl_err(MOD, "%s: a foreign XDP program ('%s', id %u) is attached; cannot receive",
                cfg->name, name, id);
        return AXL_EEXIST;
    }
    if (err) {
        axl_err(MOD, "%s: cannot inspect XDP program id %u: %s", cfg->name, id, axl_strerror(err));
        return err;
    }
    owner = owner_alive(info_fd);
    if (info_fd >= 0)
        close(info_fd);
    if (!owner) { /* left by a crashed run: replace it, and detach at the end */
        close(map_fd);
        return afxdp_setup(cfg, 1, out);
    }
    d = xdp_dev_new(ifindex);
    if (!d) {
        close(map_fd);
        axl_err(MOD, "%s: more than %d AF_XDP devices in one process", cfg->name, AXDP_MAX_DEVS);
        return AXL_ENOMEM;
    }
    d->map_fd = map_fd;
    d->prog_id = id;
    d->mode = mode;
    axl_debug(MOD, "%s: using XDP program id %u attached by process %d", cfg->name, id,
              (int)owner);
    *out = d;
    return 0;
}

static void afxdp_dev_put(struct xdp_dev *d, const char *ifname)
{
    if (d->nopen)
        d->nopen--;
    if (d->nopen)
        return;
    if (d->auto_setup && d->owner == getpid())
        afxdp_detach_entry(d, ifname);
    else if (!d->attached)
        xdp_dev_free(d); /* only a found map fd: drop it */
}

/* ------------------------------------------------------------------------ */
/* Buffers: fill ring, completion ring.                                      */

/* Top the fill ring up to fill_target (in batches of AXDP_BATCH). */
static void afxdp_refill(struct afxdp *x)
{
    struct axl_pkt *pk[AXDP_BATCH];
    uint32_t want, got, idx;

    while (x->fill_held < x->fill_target) {
        want = AXL_MIN(AXDP_BATCH, x->fill_target - x->fill_held);
        want = AXL_MIN(want, xsk_prod_nb_free(&x->fill, want));
        if (!want)
            return;
        got = axl_pkt_alloc_bulk(x->pool, pk, want);
        if (!got)
            return; /* pool dry: the engine holds everything; retry next burst */
        if (xsk_ring_prod__reserve(&x->fill, got, &idx) != got) {
            axl_pkt_free_bulk(x->pool, pk, got);
            return;
        }
        for (uint32_t i = 0; i < got; i++) {
            *xsk_ring_prod__fill_addr(&x->fill, idx + i) =
                (uint64_t)pk[i]->idx * x->pool->buf_size;
            x->own[pk[i]->idx] = OWN_FILL;
        }
        xsk_ring_prod__submit(&x->fill, got);
        x->fill_held += got;
        if (got < want)
            return;
    }
}

/* Free every buffer the completion ring returns. */
static void afxdp_reap(struct afxdp *x, struct axl_port_stats *st)
{
    struct axl_pkt *pk[AXDP_BATCH];
    uint32_t n, idx, k;

    for (uint32_t round = 0; round < x->ring / AXDP_BATCH + 1; round++) {
        n = xsk_ring_cons__peek(&x->comp, AXDP_BATCH, &idx);
        if (!n)
            return;
        k = 0;
        for (uint32_t i = 0; i < n; i++) {
            uint64_t addr = *xsk_ring_cons__comp_addr(&x->comp, idx + i);
            struct axl_pkt *pkt;

            if (axl_unlikely(addr >= x->pool->size)) {
                st->tx_errors++;
                continue;
            }
            pkt = axl_pool_pkt_at(x->pool, addr);
            if (axl_unlikely(x->own[pkt->idx] != OWN_TX)) {
                st->tx_errors++; /* a completion for a buffer we did not send */
                continue;
            }
            x->own[pkt->idx] = OWN_NONE;
            pk[k++] = pkt;
        }
        xsk_ring_cons__release(&x->comp, n);
        x->tx_held -= k;
        axl_pkt_free_bulk(x->pool, pk, k);
    }
}

/* Fold the kernel's XDP_STATISTICS deltas into the port counters. */
static void afxdp_fold_stats(struct afxdp *x, struct axl_port_stats *st)
{
    struct xdp_statistics s;
    socklen_t len = sizeof(s);
    uint64_t dropped, empty;

    x->bursts = 0;
    memset(&s, 0, sizeof(s));
    if (getsockopt(x->xsk_fd, SOL_XDP, XDP_STATISTICS, &s, &len))
        return;
    dropped = s.rx_dropped - x->last.rx_dropped;
    empty = s.rx_fill_ring_empty_descs - x->last.rx_fill_ring_empty_descs;
    /* In copy mode a frame that finds the fill ring empty is counted in both
     * rx_dropped and rx_fill_ring_empty_descs: report it once, as rx_nobuf. */
    empty = AXL_MIN(empty, dropped);
    st->rx_nobuf += empty;
    st->rx_kernel_drops += dropped - empty + (s.rx_ring_full - x->last.rx_ring_full);
    st->rx_errors += s.rx_invalid_descs - x->last.rx_invalid_descs;
    st->tx_errors += s.tx_invalid_descs - x->last.tx_invalid_descs;
    x->last = s;
}

/* ------------------------------------------------------------------------ */
/* Open / close.                                                             */

static int if_info(const char *ifname, uint8_t mac[6], uint32_t *mtu)
{
    struct ifreq ifr;
    int fd, err = 0;

    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, ifname, strnlen(ifname, IF_NAMESIZE - 1));
    if (ioctl(fd, SIOCGIFHWADDR, &ifr)) {
        err = -errno;
        goto err;
    }
    memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
    if (ioctl(fd, SIOCGIFMTU, &ifr)) {
        err = -errno;
        goto err;
    }
    *mtu = (uint32_t)ifr.ifr_mtu;
err:
    close(fd);
    return err;
}

/* Bind with the UMEM kept registered. Registering pins the whole pool
 * (32 MB by default: 10-30 ms here), binding costs well under a ms, so every
 * retry below reuses the one UMEM (and its fill/completion rings) and repeats
 * only the socket bind:
 *  - zc < 0 (auto): a zero-copy refusal (EOPNOTSUPP on veth) -> copy mode;
 *  - EBUSY: the queue's previous socket (a replica that just died) is still
 *    being released - the kernel frees its buffer pool from a work item
 *    (xp_release_deferred, under the RTNL lock), and xp_assign_dev refuses the
 *    queue until then. Retried every AXDP_BUSY_SLEEP_US for up to
 *    AXDP_BUSY_WAIT_MS, then EBUSY is returned (a queue really held by a live
 *    socket stays busy). */
static int afxdp_socket(struct afxdp *x, const struct axl_port_cfg *cfg, int zc_opt)
{
    struct xsk_umem_config uc = {
        .fill_size = x->ring,
        .comp_size = x->ring,
        .frame_size = x->pool->buf_size,
        .frame_headroom = x->pool->headroom > XDP_PACKET_HEADROOM
                              ? x->pool->headroom - XDP_PACKET_HEADROOM
                              : 0,
        .flags = 0,
    };
    struct xsk_socket_config sc = {
        .rx_size = x->ring,
        .tx_size = x->ring,
        .libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
        .xdp_flags = 0,
    };
    int zc = zc_opt != 0, err;
    uint32_t busy = 0;
    const uint64_t t0 = axl_clock_ns();

    err = xsk_umem__create(&x->umem, x->pool->base, x->pool->size, &x->fill, &x->comp, &uc);
    const uint64_t t1 = axl_clock_ns();
    x->t_umem = t1 - t0;
    if (err) {
        x->umem = NULL;
        axl_err(MOD, "%s: cannot register the pool as UMEM (%zu bytes, frame %u): %s",
                cfg->name, x->pool->size, x->pool->buf_size, axl_strerror(err));
        return err;
    }
    for (;;) {
        sc.bind_flags = (uint16_t)(XDP_USE_NEED_WAKEUP | (zc ? XDP_ZEROCOPY : XDP_COPY));
        err = xsk_socket__create(&x->xsk, cfg->name, cfg->queue, x->umem, &x->rx, &x->tx, &sc);
        if (!err)
            break;
        x->xsk = NULL;
        if (err == -EBUSY &&
            axl_clock_ns() - t0 < (uint64_t)AXDP_BUSY_WAIT_MS * AXL_NS_PER_MS) {
            struct timespec ts = {0, AXDP_BUSY_SLEEP_US * 1000L};
            busy++;
            nanosleep(&ts, NULL);
            continue;
        }
        if (err != -EBUSY && zc && zc_opt < 0) {
            axl_debug(MOD, "%s q%u: zero-copy bind refused (%s), trying copy mode", cfg->name,
                      cfg->queue, axl_strerror(err));
            x->zc_refused++;
            zc = 0;
            continue;
        }
        axl_err(MOD, "%s q%u: cannot bind AF_XDP socket%s: %s%s", cfg->name, cfg->queue,
                zc ? " in zero-copy mode" : "", axl_strerror(err),
                err == -EBUSY ? " (the queue is held by another AF_XDP socket)" : "");
        xsk_umem__delete(x->umem);
        x->umem = NULL;
        return err;
    }
    x->t_bind = axl_clock_ns() - t1;
    x->busy = busy;
    if (busy)
        axl_info(MOD, "%s q%u: queue still held by its previous socket; bound after %u retries, "
                      "%.1f ms (UMEM kept registered)",
                 cfg->name, cfg->queue, busy, (double)(axl_clock_ns() - t0) / 1e6);
    return 0;
}

/* Take over the queue's socket from a replica that died (cfg->adopt: the
 * supervisor kept a copy of its fd and handed it to us). The socket stays
 * bound and in the XSKMAP, so there is no bind to wait for: the kernel
 * releases a dead owner's socket only after an RCU grace period and a work
 * item under the RTNL lock (afxdp_socket: EBUSY), 4-60 ms on a loaded
 * machine, while this is a few mmap calls. The UMEM is the pool region, which
 * every incarnation of the queue maps from the same memfd (pool.h
 * axl_pool_init_fd), so the frames are where they were.
 *
 * Copy mode only (veth, and any driver without zero-copy): a buffer the
 * kernel took from the fill ring is in the RX ring or, when that ring was
 * full, in the kernel's free list, which cannot happen here as we never give
 * the kernel more buffers than the RX ring holds (fill_target <= ring); a
 * zero-copy driver keeps fill buffers in its hardware ring, invisible here,
 * so a zero-copy socket is refused. A TX frame the kernel has consumed but
 * not yet completed (its skb in flight) is in neither TX range: copy mode
 * copied its bytes into the skb, and its late completion is counted as a
 * tx error and ignored (the buffer is already free).
 *
 * Who owns which buffer is rebuilt from the rings, the only state the dead
 * process left that matters (its own bookkeeping died with it), and every
 * value in them is checked, as it came from a process that may have crashed
 * while writing: fill ring [kernel consumer, producer) and RX ring
 * [consumer, producer) are the kernel's (OWN_FILL: they come back as RX
 * descriptors), TX ring [kernel consumer, producer) and completion ring
 * [consumer, producer) are in flight (OWN_TX: they come back through the
 * completion ring); every other buffer is free. Reading each kernel-moved
 * index before the other end means a buffer moving meanwhile is counted in
 * both ranges (the marks are a set) and never in none. RX descriptors the
 * dead replica had peeked but not released are received again (a duplicate
 * that TCP discards). 0, or negative AXL_E* (the caller closes nothing: fd
 * is closed here on failure, and opens afresh). */
static int afxdp_adopt(struct afxdp *x, const struct axl_port_cfg *cfg, int fd)
{
    static const off_t pgoff[4] = {XDP_UMEM_PGOFF_FILL_RING, XDP_UMEM_PGOFF_COMPLETION_RING,
                                   XDP_PGOFF_RX_RING, XDP_PGOFF_TX_RING};
    struct xdp_mmap_offsets off;
    socklen_t olen = sizeof(off);
    int domain = 0;
    socklen_t dlen = sizeof(domain);
    const struct xdp_ring_offset *ro[4];
    struct axl_pool *pool = x->pool;
    const uint32_t n = x->ring;
    uint32_t fill_n = 0, tx_n = 0;
    int err = AXL_EINVAL;

    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &dlen) || domain != AF_XDP ||
        getsockopt(fd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &olen) || olen != sizeof(off)) {
        axl_err(MOD, "%s q%u: the socket to take over is no AF_XDP socket", cfg->name, cfg->queue);
        close(fd);
        return AXL_EINVAL;
    }
    {
        /* Zero-copy: the driver holds fill buffers in its own RX ring, which
         * the rings do not show; taken for free they would be written twice. */
        struct xdp_options xo;
        socklen_t xlen = sizeof(xo);
        memset(&xo, 0, sizeof(xo));
        if (getsockopt(fd, SOL_XDP, XDP_OPTIONS, &xo, &xlen) || (xo.flags & XDP_OPTIONS_ZEROCOPY)) {
            axl_info(MOD, "%s q%u: the socket to take over is in zero-copy mode (or unreadable); "
                          "binding afresh", cfg->name, cfg->queue);
            close(fd);
            return AXL_ENOTSUP;
        }
    }
    ro[0] = &off.fr;
    ro[1] = &off.cr;
    ro[2] = &off.rx;
    ro[3] = &off.tx;
    for (int i = 0; i < 4; i++) {
        size_t esz = i < 2 ? sizeof(uint64_t) : sizeof(struct xdp_desc);
        x->rlen[i] = ro[i]->desc + (size_t)n * esz;
        x->rmap[i] = mmap(NULL, x->rlen[i], PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                          pgoff[i]);
        if (x->rmap[i] == MAP_FAILED) { /* e.g. rings of another size than ring= */
            err = -errno;
            x->rmap[i] = NULL;
            axl_err(MOD, "%s q%u: cannot map ring %d of the socket to take over: %s", cfg->name,
                    cfg->queue, i, axl_strerror(err));
            goto fail;
        }
    }
#define RING_SET(r, i)                                                                             \
    do {                                                                                           \
        (r)->mask = n - 1;                                                                         \
        (r)->size = n;                                                                             \
        (r)->producer = (uint32_t *)((char *)x->rmap[i] + ro[i]->producer);                        \
        (r)->consumer = (uint32_t *)((char *)x->rmap[i] + ro[i]->consumer);                        \
        (r)->ring = (char *)x->rmap[i] + ro[i]->desc;                                              \
        (r)->flags = (uint32_t *)((char *)x->rmap[i] + ro[i]->flags);                              \
    } while (0)
    RING_SET(&x->fill, 0);
    RING_SET(&x->comp, 1);
    RING_SET(&x->rx, 2);
    RING_SET(&x->tx, 3);
#undef RING_SET
    /* Kernel-moved index first (see above); ours are still (the writer is dead). */
    uint32_t fcons = __atomic_load_n(x->fill.consumer, __ATOMIC_ACQUIRE);
    uint32_t fprod = __atomic_load_n(x->fill.producer, __ATOMIC_ACQUIRE);
    uint32_t rprod = __atomic_load_n(x->rx.producer, __ATOMIC_ACQUIRE);
    uint32_t rcons = __atomic_load_n(x->rx.consumer, __ATOMIC_ACQUIRE);
    uint32_t tcons = __atomic_load_n(x->tx.consumer, __ATOMIC_ACQUIRE);
    uint32_t tprod = __atomic_load_n(x->tx.producer, __ATOMIC_ACQUIRE);
    uint32_t cprod = __atomic_load_n(x->comp.producer, __ATOMIC_ACQUIRE);
    uint32_t ccons = __atomic_load_n(x->comp.consumer, __ATOMIC_ACQUIRE);
    if (fprod - fcons > n || rprod - rcons > n || tprod - tcons > n || cprod - ccons > n) {
        axl_err(MOD, "%s q%u: the rings of the socket to take over are inconsistent", cfg->name,
                cfg->queue);
        goto fail;
    }
    struct {
        uint32_t from, to;
        int desc; /* RX/TX descriptors (else addresses) */
        const void *ring;
        uint8_t mark;
    } ranges[4] = {
        {fcons, fprod, 0, x->fill.ring, OWN_FILL},
        {rcons, rprod, 1, x->rx.ring, OWN_FILL},
        {tcons, tprod, 1, x->tx.ring, OWN_TX},
        {ccons, cprod, 0, x->comp.ring, OWN_TX},
    };
    for (int k = 0; k < 4; k++)
        for (uint32_t i = ranges[k].from; i != ranges[k].to; i++) {
            uint64_t addr = ranges[k].desc
                                ? ((const struct xdp_desc *)ranges[k].ring)[i & (n - 1)].addr
                                : ((const uint64_t *)ranges[k].ring)[i & (n - 1)];
            if (addr >= pool->size)
                goto bad;
            uint32_t b = (uint32_t)(addr / pool->buf_size);
            if (x->own[b] != OWN_NONE && x->own[b] != ranges[k].mark)
                goto bad; /* one buffer both at the kernel's RX and in flight */
            if (x->own[b] == OWN_NONE) {
                x->own[b] = ranges[k].mark;
                fill_n += ranges[k].mark == OWN_FILL;
                tx_n += ranges[k].mark == OWN_TX;
            }
        }
    /* Out of the (fresh) pool with them: take every buffer, give back the rest. */
    {
        struct axl_pkt **all = malloc((size_t)pool->nbufs * sizeof(*all));
        uint32_t got = 0, k = 0, g;
        if (!all) {
            err = AXL_ENOMEM;
            memset(x->own, OWN_NONE, pool->nbufs);
            goto fail;
        }
        while (got < pool->nbufs &&
               (g = axl_pkt_alloc_bulk(pool, all + got, AXL_MIN(AXDP_BATCH, pool->nbufs - got))))
            got += g;
        for (uint32_t i = 0; i < got; i++)
            if (x->own[all[i]->idx] == OWN_NONE)
                all[k++] = all[i];
        axl_pkt_free_bulk(pool, all, k);
        free(all);
    }
    x->fill.cached_prod = fprod;
    x->fill.cached_cons = fcons + n;
    x->tx.cached_prod = tprod;
    x->tx.cached_cons = tcons + n;
    x->rx.cached_cons = rcons;
    x->rx.cached_prod = rprod;
    x->comp.cached_cons = ccons;
    x->comp.cached_prod = cprod;
    x->fill_held = fill_n;
    x->tx_held = tx_n;
    x->xsk_fd = fd;
    x->adopted = 1;
    {   /* the kernel's counters are the socket's: count from here on */
        socklen_t slen = sizeof(x->last);
        if (getsockopt(fd, SOL_XDP, XDP_STATISTICS, &x->last, &slen))
            memset(&x->last, 0, sizeof(x->last));
    }
    if (tprod != tcons) /* what the dead replica queued goes out now, before our first reply */
        (void)sendto(fd, NULL, 0, MSG_DONTWAIT, NULL, 0);
    axl_debug(MOD, "%s q%u: took over the socket: %u buffers at the kernel's RX, %u in flight",
              cfg->name, cfg->queue, fill_n, tx_n);
    return 0;
bad:
    axl_err(MOD, "%s q%u: the rings of the socket to take over hold a buffer twice or outside "
                 "the pool",
            cfg->name, cfg->queue);
    memset(x->own, OWN_NONE, pool->nbufs);
    err = AXL_EINVAL;
fail:
    for (int i = 0; i < 4; i++)
        if (x->rmap[i])
            munmap(x->rmap[i], x->rlen[i]);
    memset(x->rmap, 0, sizeof(x->rmap));
    memset(&x->fill, 0, sizeof(x->fill));
    memset(&x->comp, 0, sizeof(x->comp));
    memset(&x->rx, 0, sizeof(x->rx));
    memset(&x->tx, 0, sizeof(x->tx));
    close(fd);
    return err;
}

static void afxdp_close(struct axl_port *p);

static int afxdp_open_queue(struct axl_port *p, const struct axl_port_cfg *cfg, int *adopt_fd);

/* open: cfg->adopt_fd is ours whatever happens (closed on failure). */
static int afxdp_open(struct axl_port *p, const struct axl_port_cfg *cfg)
{
    int adopt_fd = cfg->adopt ? cfg->adopt_fd : -1;
    int err = afxdp_open_queue(p, cfg, &adopt_fd);

    if (err && adopt_fd >= 0)
        close(adopt_fd);
    return err;
}

static int afxdp_open_queue(struct axl_port *p, const struct axl_port_cfg *cfg, int *adopt_fd)
{
    struct axl_pool *pool = cfg->pool;
    struct afxdp_opts o;
    struct afxdp *x = NULL;
    struct xdp_dev *d = NULL;
    struct xdp_options xo;
    socklen_t olen = sizeof(xo);
    uint32_t ifmtu = 0, q = cfg->queue, rxroom;
    int ifindex, nrxq, err;
    const uint64_t t_open = axl_clock_ns();
    uint64_t t_sock, t_map;

    err = afxdp_parse_opts(cfg, &o);
    if (err)
        return err;
    if (!pool || !pool->base || !axl_is_pow2(pool->buf_size) || pool->buf_size < 2048 ||
        ((uintptr_t)pool->base & 4095) || pool->headroom >= pool->buf_size / 2) {
        axl_err(MOD, "%s: unusable pool (need page-aligned region, power-of-two buffers >= 2048, "
                     "headroom < half a buffer)",
                cfg->name);
        return AXL_EINVAL;
    }
    ifindex = strlen(cfg->name) < IF_NAMESIZE ? (int)if_nametoindex(cfg->name) : 0;
    if (!ifindex) {
        axl_err(MOD, "no interface '%s'", cfg->name);
        return AXL_ENOENT;
    }
    nrxq = if_rx_queues(cfg->name);
    if (nrxq < 0 || q >= (uint32_t)nrxq || q >= AXDP_MAX_QUEUES) {
        axl_err(MOD, "%s: queue %u does not exist (%d rx queues, max %u)", cfg->name, q, nrxq,
                AXDP_MAX_QUEUES);
        return AXL_EINVAL;
    }
    err = if_info(cfg->name, p->mac, &ifmtu);
    if (err) {
        axl_err(MOD, "%s: cannot read MAC/MTU: %s", cfg->name, axl_strerror(err));
        return err;
    }
    if (cfg->mtu > ifmtu) {
        axl_err(MOD, "%s: mtu=%u exceeds the interface MTU %u", cfg->name, cfg->mtu, ifmtu);
        return AXL_EINVAL;
    }

    err = afxdp_dev_get(cfg, ifindex, &d);
    if (err)
        return err;
    d->nopen++;

    x = calloc(1, sizeof(*x));
    if (!x) {
        err = AXL_ENOMEM;
        goto err;
    }
    x->xsk_fd = -1;
    x->queue = (uint16_t)q;
    memcpy(x->ifname, cfg->name, strlen(cfg->name)); /* < IF_NAMESIZE, checked above */
    x->dev = d;
    x->pool = pool;
    x->ring = o.ring;
    x->own = calloc(pool->nbufs, 1);
    if (!x->own) {
        err = AXL_ENOMEM;
        goto err;
    }
    p->priv = x;

    t_sock = axl_clock_ns();
    if (*adopt_fd >= 0) { /* the dead predecessor's socket, still bound */
        int fd = *adopt_fd;
        *adopt_fd = -1; /* afxdp_adopt closes it on failure */
        err = afxdp_adopt(x, cfg, fd);
        x->t_bind = axl_clock_ns() - t_sock;
    } else { /* zc=auto: zero-copy first; any refusal (EOPNOTSUPP on veth) -> copy. */
        err = afxdp_socket(x, cfg, o.zc);
    }
    if (err)
        goto err;
    if (!x->adopted)
        x->xsk_fd = xsk_socket__fd(x->xsk);
    memset(&xo, 0, sizeof(xo));
    if (!getsockopt(x->xsk_fd, SOL_XDP, XDP_OPTIONS, &xo, &olen))
        x->zerocopy = !!(xo.flags & XDP_OPTIONS_ZEROCOPY);

    /* Copy mode: let one sendto() move a whole ring (Linux 6.17+); older
     * kernels refuse the option and flush kicks per AXDP_KERNEL_TX_BUDGET. */
    x->kick_budget = AXDP_KERNEL_TX_BUDGET;
    if (!x->zerocopy) {
        int budget = (int)x->ring;

        if (!setsockopt(x->xsk_fd, SOL_XDP, XDP_MAX_TX_SKB_BUDGET, &budget, sizeof(budget)))
            x->kick_budget = x->ring;
    }

    /* Keep up to half the pool (at most a ring) in the kernel's hands. */
    x->fill_target = AXL_MIN(x->ring, pool->nbufs / 2);
    afxdp_refill(x);
    if (!x->fill_held) {
        axl_err(MOD, "%s q%u: pool has no free buffers for the fill ring", cfg->name, q);
        err = AXL_ENOBUFS;
        goto err;
    }

    t_map = axl_clock_ns();
    err = bpf_map_update_elem(d->map_fd, &q, &x->xsk_fd, BPF_ANY);
    if (err) {
        err = -errno;
        axl_err(MOD, "%s q%u: cannot register the socket in %s: %s", cfg->name, q, XDP_MAP_NAME,
                axl_strerror(err));
        goto err;
    }

    if (cfg->has_mac)
        memcpy(p->mac, cfg->mac, 6);
    p->mtu = cfg->mtu ? cfg->mtu : ifmtu;
    rxroom = pool->buf_size - AXL_MAX(pool->headroom, (uint32_t)XDP_PACKET_HEADROOM);
    p->max_frame = AXL_MIN(rxroom, p->mtu + 14);
    p->ifindex = ifindex;
    if (x->adopted)
        snprintf(p->open_note, sizeof(p->open_note),
                 "socket taken over %.1f (%u buffers at RX, %u in flight), rest %.1f, xskmap %.2f ms",
                 (double)x->t_bind / 1e6, x->fill_held, x->tx_held,
                 (double)(t_map - t_sock - x->t_bind) / 1e6, (double)(axl_clock_ns() - t_map) / 1e6);
    else
        snprintf(p->open_note, sizeof(p->open_note),
                 "UMEM %.1f, bind %.1f%s, rest %.1f, xskmap %.2f ms; %u EBUSY retries",
                 (double)x->t_umem / 1e6, (double)x->t_bind / 1e6,
                 x->zc_refused ? " (zero-copy refused first)" : "",
                 (double)(t_map - t_sock - x->t_umem - x->t_bind) / 1e6,
                 (double)(axl_clock_ns() - t_map) / 1e6, x->busy);
    axl_info(MOD,
             "%s q%u: AF_XDP socket in %s mode (XDP %s), ring %u, fill %u, tx budget %u; "
             "opened in %.1f ms (checks %.1f, %s)",
             cfg->name, q, x->zerocopy ? "zero-copy" : "copy", mode_name(d->mode), x->ring,
             x->fill_held, x->kick_budget, (double)(axl_clock_ns() - t_open) / 1e6,
             (double)(t_sock - t_open) / 1e6, p->open_note);
    return 0;
err:
    if (x) {
        p->priv = x;
        afxdp_close(p); /* also drops the device reference */
    } else {
        afxdp_dev_put(d, cfg->name);
    }
    return err;
}

static void afxdp_close(struct axl_port *p)
{
    struct afxdp *x = p->priv;
    struct xdp_dev *d;
    uint32_t q;

    if (!x)
        return;
    d = x->dev;
    q = x->queue;
    if (x->xsk) {
        afxdp_reap(x, &p->stats);
        afxdp_fold_stats(x, &p->stats);
        if (d && d->map_fd >= 0)
            bpf_map_delete_elem(d->map_fd, &q);
        xsk_socket__delete(x->xsk);
    } else if (x->adopted) {
        afxdp_reap(x, &p->stats);
        afxdp_fold_stats(x, &p->stats);
        if (d && d->map_fd >= 0)
            bpf_map_delete_elem(d->map_fd, &q);
        for (int i = 0; i < 4; i++)
            if (x->rmap[i])
                munmap(x->rmap[i], x->rlen[i]);
        close(x->xsk_fd);
    }
    if (x->umem)
        xsk_umem__delete(x->umem);
    /* The kernel is done with the region: take back what we still hold
     * (fill ring, unreaped RX descriptors, TX in flight). O(nbufs), once. */
    if (x->own) {
        for (uint32_t i = 0; i < x->pool->nbufs; i++)
            if (x->own[i] != OWN_NONE)
                axl_pkt_free(x->pool, &x->pool->pkts[i]);
        free(x->own);
    }
    if (d)
        afxdp_dev_put(d, x->ifname);
    free(x);
    p->priv = NULL;
}

/* ------------------------------------------------------------------------ */
/* Packet path.                                                              */

/* Hot. */
static uint32_t afxdp_rx_burst(struct axl_port *p, struct axl_pkt **pkts, uint32_t n)
{
    struct afxdp *x = p->priv;
    struct axl_pool *pool = x->pool;
    uint32_t idx, got, out = 0;
    uint64_t bytes = 0;

    got = xsk_ring_cons__peek(&x->rx, n, &idx);
    for (uint32_t i = 0; i < got; i++) {
        const struct xdp_desc *desc = xsk_ring_cons__rx_desc(&x->rx, idx + i);
        uint64_t addr = desc->addr;
        uint32_t len = desc->len;
        struct axl_pkt *pkt;

        if (axl_unlikely(addr >= pool->size)) {
            p->stats.rx_errors++;
            continue;
        }
        pkt = axl_pool_pkt_at(pool, addr);
        if (axl_unlikely(x->own[pkt->idx] != OWN_FILL)) {
            p->stats.rx_errors++; /* not a buffer we gave the kernel */
            continue;
        }
        x->own[pkt->idx] = OWN_NONE;
        x->fill_held--;
        if (axl_unlikely((addr % pool->buf_size) + len > pool->buf_size || len == 0)) {
            p->stats.rx_errors++;
            axl_pkt_free(pool, pkt);
            continue;
        }
        pkt->data = pool->base + addr;
        pkt->len = len;
        pkt->flags = AXL_PKT_F_INUSE;
        pkt->csum_start = pkt->csum_off = 0;
        pkt->l3_off = pkt->l4_off = 0;
        pkt->queue = x->queue;
        pkt->ts_ns = 0;
        pkt->next = NULL;
        bytes += len;
        pkts[out++] = pkt;
    }
    if (got)
        xsk_ring_cons__release(&x->rx, got);
    else if (axl_unlikely(xsk_ring_prod__needs_wakeup(&x->fill))) {
        /* Zero-copy drivers stop RX when the fill ring ran dry and ask to be
         * kicked once it has buffers again (copy mode never sets this). */
        p->stats.wakeups++;
        (void)recvfrom(x->xsk_fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
    }
    p->stats.rx_packets += out;
    p->stats.rx_bytes += bytes;

    if (x->fill_held + AXDP_BATCH <= x->fill_target)
        afxdp_refill(x);
    if (x->tx_held)
        afxdp_reap(x, &p->stats);
    if (axl_unlikely(++x->bursts >= AXDP_STATS_EVERY))
        afxdp_fold_stats(x, &p->stats);
    return out;
}

/* Hot. Accepts a prefix of pkts: frames too large (or empty) in it are
 * freed and counted; the prefix ends where the TX ring is full. */
static uint32_t afxdp_tx_burst(struct axl_port *p, struct axl_pkt **pkts, uint32_t n)
{
    struct afxdp *x = p->priv;
    struct axl_pool *pool = x->pool;
    uint32_t room, take, ok = 0, idx = 0, j = 0;
    uint64_t bytes = 0;

    if (x->tx_held)
        afxdp_reap(x, &p->stats);
    room = xsk_prod_nb_free(&x->tx, n);
    take = AXL_MIN(n, room);
    for (uint32_t i = 0; i < take; i++)
        ok += pkts[i]->len && pkts[i]->len <= p->max_frame &&
              pkts[i]->len <= axl_pkt_room(pool, pkts[i]);
    if (ok && xsk_ring_prod__reserve(&x->tx, ok, &idx) != ok)
        return 0; /* cannot happen: room was checked */
    for (uint32_t i = 0; i < take; i++) {
        struct axl_pkt *pkt = pkts[i];
        struct xdp_desc *d;

        if (axl_unlikely(!pkt->len || pkt->len > p->max_frame ||
                         pkt->len > axl_pkt_room(pool, pkt))) {
            if (pkt->len > p->max_frame)
                p->stats.tx_too_big++;
            else
                p->stats.tx_errors++;
            axl_pkt_free(pool, pkt);
            continue;
        }
        d = xsk_ring_prod__tx_desc(&x->tx, idx + j++);
        d->addr = axl_pkt_addr(pool, pkt);
        d->len = pkt->len;
        d->options = 0;
        x->own[pkt->idx] = OWN_TX;
        bytes += pkt->len;
    }
    if (ok) {
        xsk_ring_prod__submit(&x->tx, ok);
        x->tx_held += ok;
        x->tx_pending += ok;
        p->stats.tx_packets += ok;
        p->stats.tx_bytes += bytes;
    }
    p->stats.tx_full += n - take;
    return take;
}

/* Kick the kernel for what tx_burst submitted: one sendto() per batch when
 * the TX ring asks for a wakeup (copy mode always does), or per
 * kick_budget frames when the kernel caps each call. */
static int afxdp_flush(struct axl_port *p)
{
    struct afxdp *x = p->priv;
    uint32_t kicks;

    if (!x->tx_pending)
        return 0;
    if (!xsk_ring_prod__needs_wakeup(&x->tx)) {
        x->tx_pending = 0;
        return 0;
    }
    kicks = (x->tx_pending + x->kick_budget - 1) / x->kick_budget + 1;
    x->tx_pending = 0;
    for (uint32_t k = 0; k < kicks; k++) {
        ssize_t r = sendto(x->xsk_fd, NULL, 0, MSG_DONTWAIT, NULL, 0);

        p->stats.wakeups++;
        if (r < 0 && errno != EAGAIN && errno != EBUSY && errno != ENOBUFS && errno != ENETDOWN) {
            int err = -errno;

            p->stats.tx_errors++;
            return err;
        }
        afxdp_reap(x, &p->stats);
        /* Done when the kernel consumed every TX descriptor. */
        if (xsk_prod_nb_free(&x->tx, x->ring) == x->ring)
            break;
    }
    return 0;
}

static int afxdp_handover_fd(struct axl_port *p)
{
    struct afxdp *x = p->priv;

    return x ? x->xsk_fd : -1;
}

static int afxdp_fd(struct axl_port *p)
{
    struct afxdp *x = p->priv;

    return x ? x->xsk_fd : -1;
}

/* Before the engine sleeps in poll(fd): give the kernel buffers, push out
 * pending TX, collect statistics. With need_wakeup, a fill ring that asks for
 * a wakeup is served by poll() itself (xsk_poll kicks the driver). */
static int afxdp_prepare_sleep(struct axl_port *p)
{
    struct afxdp *x = p->priv;

    afxdp_refill(x);
    if (x->tx_pending)
        afxdp_flush(p);
    if (x->tx_held)
        afxdp_reap(x, &p->stats);
    afxdp_fold_stats(x, &p->stats);
    return xsk_cons_nb_avail(&x->rx, 1) ? 0 : 1;
}

const struct axl_port_ops axl_port_afxdp_ops = {
    .name = "afxdp",
    .dev_setup = afxdp_dev_setup,
    .dev_teardown = afxdp_dev_teardown,
    .open = afxdp_open,
    .rx_burst = afxdp_rx_burst,
    .tx_burst = afxdp_tx_burst,
    .flush = afxdp_flush,
    .fd = afxdp_fd,
    .prepare_sleep = afxdp_prepare_sleep,
    .handover_fd = afxdp_handover_fd,
    .wake_done = NULL,
    .close = afxdp_close,
};
