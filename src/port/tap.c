/* SPDX-License-Identifier: MIT */
/*
 * tap.c - TAP port: a Linux tap device (IFF_TAP|IFF_NO_PI, IFF_MULTI_QUEUE when
 * QUEUES > 1); each port instance owns one queue = one open("/dev/net/tun") +
 * TUNSETIFF on the device name. The kernel side of the tap is an ordinary
 * interface (typically moved into a test namespace: `ip link set NAME netns NS`;
 * our fds keep working after the move).
 *
 * Spec:  tap:NAME[:QUEUES][,vnet=0|1][,persist=0|1][,mtu=N][,mac=aa:bb:cc:dd:ee:ff]
 *   vnet=1     IFF_VNET_HDR + TUNSETVNETHDRSZ(10) + TUNSETOFFLOAD(TUN_F_CSUM):
 *              the kernel may hand us frames with an unfinished L4 checksum
 *              (VIRTIO_NET_HDR_F_NEEDS_CSUM -> AXL_PKT_F_CSUM_PARTIAL with
 *              csum_start/csum_off; F_DATA_VALID -> AXL_PKT_F_CSUM_OK). No GSO is
 *              offered, so a GSO frame should never come; if one does it is
 *              dropped (rx_trunc). On TX a zero header (no offload) is prepended.
 *              Default vnet=0: the kernel hands finished checksums. vnet and the
 *              queue count are device-wide: every queue must agree.
 *   persist=1  keep a device we create after the last queue closes.
 *   mtu=N      set the device MTU (default: leave it, 1500 for a new device).
 *   mac=...    our MAC; must differ from the kernel side's MAC. Default: the
 *              kernel side's MAC (random, chosen by the kernel at creation)
 *              with the last byte's low bit flipped, made unicast and locally
 *              administered: random, yet the same for every queue and process
 *              of the device without any coordination (a per-queue random MAC
 *              would have ARP answered by one queue with a MAC that the other
 *              queues do not accept).
 *
 * Lifetime: without dev_setup, open() creates the device if it does not exist
 * (further queues of the same process or others attach while it lives) and
 * brings it up. dev_setup() creates it persistent (and up) once, so that
 * queues opened later by other processes attach; it marks the device with the
 * alias "axolotl-dev-setup" so that dev_teardown() deletes only what dev_setup
 * created. A device we created is removed when the last queue fd closes unless
 * persist=1; one that existed before is never removed. After the kernel side
 * has been moved into another namespace it is out of our reach by name:
 * close() then just closes the fd (the kernel deletes a non-persistent device
 * with its last fd) and dev_teardown() leaves it to that namespace (a
 * persistent tap is destroyed together with the namespace that holds it).
 *
 * Cost: one read()/write() syscall per frame is inherent to TAP (~1 us each
 * here), which caps a queue at about 0.6 Mpps per core (machine-facts 2.3).
 * TAP is the portable fallback, not the fast path.
 *
 * Drops, each counted: pool empty (the frame is read into a scratch buffer and
 * dropped: rx_nobuf); frame larger than a pool buffer or a GSO frame
 * (rx_trunc); short frame, bad vnet header or read error (rx_errors).
 * The multi-queue kernel side steers a flow to the queue that last wrote it
 * (tun automq flow table), else by flow hash.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/compiler.h"
#include "core/err.h"
#include "core/log.h"
#include "port/port.h"

#define TAP_MOD "tap"
#define TAP_DEV "/dev/net/tun"
/** Scratch receive area: large enough for any frame a tap can carry (64 KiB
 *  MTU + Ethernet header), so an oversize frame is read whole and counted. */
#define TAP_SCRATCH  (65536u + 64u)
#define TAP_VNET_LEN sizeof(struct virtio_net_hdr)
#define TAP_ALIAS    "axolotl-dev-setup"

struct tap_priv {
    int fd;
    int unpersist; /* clear the device's persistence at close (see tap_close) */
    int vnet;
    uint32_t vlen; /* TAP_VNET_LEN or 0 */
    uint32_t room; /* bytes a pool buffer holds after headroom */
    uint8_t *scratch;
};

struct tap_params {
    uint32_t vnet, persist;
};

/* Devices this process created persistent in dev_setup (set-up state, never
 * touched on the packet path): a queue this same process, or a child it forked
 * (axl-stackd's replicas), opens on one of them clears the persistence when it
 * closes, so the device goes away with the last queue fd even after its kernel
 * side moved to another namespace, where dev_teardown can no longer find it by
 * name. A replica killed by a signal never runs close: the device stays
 * persistent, and its restarted replica attaches again. */
#define TAP_CREATED_MAX 16
static struct {
    char name[IFNAMSIZ];
    pid_t pid;
} tap_created[TAP_CREATED_MAX];

static int tap_created_here(const char *name)
{
    for (unsigned i = 0; i < TAP_CREATED_MAX; i++)
        if ((tap_created[i].pid == getpid() || tap_created[i].pid == getppid()) &&
            strcmp(tap_created[i].name, name) == 0)
            return 1;
    return 0;
}

static void tap_created_note(const char *name)
{
    for (unsigned i = 0; i < TAP_CREATED_MAX; i++) {
        if (tap_created[i].pid == 0 || tap_created[i].pid != getpid()) {
            snprintf(tap_created[i].name, sizeof(tap_created[i].name), "%.*s", IFNAMSIZ - 1, name);
            tap_created[i].pid = getpid();
            return;
        }
    }
}

static int tap_params(const struct axl_port_cfg *cfg, struct tap_params *tp)
{
    tp->vnet = 0;
    tp->persist = 0;
    for (uint32_t i = 0; i < cfg->nopts; i++) {
        const char *k = cfg->opts[i].key, *v = cfg->opts[i].val;
        uint32_t *dst = strcmp(k, "vnet") == 0      ? &tp->vnet
                        : strcmp(k, "persist") == 0 ? &tp->persist
                                                    : NULL;
        if (!dst) {
            axl_err(TAP_MOD, "%s: unknown option '%s' (tap takes vnet=, persist=)", cfg->name, k);
            return AXL_EINVAL;
        }
        if ((v[0] != '0' && v[0] != '1') || v[1]) {
            axl_err(TAP_MOD, "%s: %s=%s: expected 0 or 1", cfg->name, k, v);
            return AXL_EINVAL;
        }
        *dst = (uint32_t)(v[0] - '0');
    }
    if (strlen(cfg->name) == 0 || strlen(cfg->name) >= IFNAMSIZ) {
        axl_err(TAP_MOD, "bad device name '%s' (1..%d bytes)", cfg->name, IFNAMSIZ - 1);
        return AXL_EINVAL;
    }
    return 0;
}

/* Open one queue of device `name` (creating it if absent). fd or -errno. */
static int tap_queue_open(const char *name, uint32_t nqueues, int vnet, int existed)
{
    struct ifreq ifr;
    short flags =
        IFF_TAP | IFF_NO_PI | (nqueues > 1 ? IFF_MULTI_QUEUE : 0) | (vnet ? IFF_VNET_HDR : 0);
    int fd, rc;

    fd = open(TAP_DEV, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        axl_err(TAP_MOD, "%s: open %s: %s", name, TAP_DEV, strerror(-rc));
        return rc;
    }
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, name, strlen(name) + 1);
    ifr.ifr_flags = flags;
    rc = ioctl(fd, TUNSETIFF, &ifr) < 0 ? -errno : 0;
    if (rc == -EINVAL && existed && nqueues == 1) {
        /* An existing multi-queue device: we become one of its queues. */
        memset(&ifr, 0, sizeof(ifr));
        memcpy(ifr.ifr_name, name, strlen(name) + 1);
        ifr.ifr_flags = (short)(flags | IFF_MULTI_QUEUE);
        rc = ioctl(fd, TUNSETIFF, &ifr) < 0 ? -errno : 0;
    }
    if (rc < 0) {
        axl_err(TAP_MOD, "%s: TUNSETIFF: %s%s", name, strerror(-rc),
                existed ? " (device exists: is it a tap with the same queue/vnet mode, with a "
                          "free queue?)"
                        : "");
        goto err;
    }
    if (vnet) {
        int sz = (int)TAP_VNET_LEN;
        if (ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0 ||
            ioctl(fd, TUNSETOFFLOAD, (unsigned long)TUN_F_CSUM) < 0) {
            rc = -errno;
            axl_err(TAP_MOD, "%s: vnet header set-up: %s", name, strerror(-rc));
            goto err;
        }
    }
    return fd;
err:
    close(fd);
    return rc;
}

/* Bring the device up and apply/read the MTU (by name, in our namespace). */
static int tap_link_up(const char *name, uint32_t want_mtu, uint32_t *mtu)
{
    struct ifreq ifr;
    int s, rc = 0;

    s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -errno;
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, name, strlen(name) + 1);
    if (want_mtu) {
        ifr.ifr_mtu = (int)want_mtu;
        if (ioctl(s, SIOCSIFMTU, &ifr) < 0) {
            rc = -errno;
            axl_err(TAP_MOD, "%s: set mtu %u: %s", name, want_mtu, strerror(-rc));
            goto err;
        }
    }
    if (ioctl(s, SIOCGIFMTU, &ifr) < 0) {
        rc = -errno;
        goto err;
    }
    if (mtu) *mtu = (uint32_t)ifr.ifr_mtu;
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
        rc = -errno;
        goto err;
    }
    if (!(ifr.ifr_flags & IFF_UP)) {
        ifr.ifr_flags = (short)(ifr.ifr_flags | IFF_UP);
        if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
            rc = -errno;
            axl_err(TAP_MOD, "%s: bring up: %s", name, strerror(-rc));
            goto err;
        }
    }
err:
    close(s);
    return rc;
}

static void tap_close(struct axl_port *p);

static int tap_open(struct axl_port *p, const struct axl_port_cfg *cfg)
{
    struct tap_params tp;
    struct tap_priv *t;
    struct ifreq ifr;
    uint8_t kmac[6];
    int existed, rc;

    p->priv = NULL;
    if ((rc = tap_params(cfg, &tp)) < 0) return rc;
    if (!cfg->pool || cfg->pool->buf_size <= cfg->pool->headroom) {
        axl_err(TAP_MOD, "%s: no usable buffer pool", cfg->name);
        return AXL_EINVAL;
    }
    t = calloc(1, sizeof(*t));
    if (!t) return AXL_ENOMEM;
    t->fd = -1;
    p->priv = t;
    t->scratch = malloc(TAP_SCRATCH);
    if (!t->scratch) {
        rc = AXL_ENOMEM;
        goto err;
    }
    t->vnet = (int)tp.vnet;
    t->vlen = tp.vnet ? (uint32_t)TAP_VNET_LEN : 0;
    t->room = cfg->pool->buf_size - cfg->pool->headroom;

    existed = if_nametoindex(cfg->name) != 0;
    rc = tap_queue_open(cfg->name, cfg->nqueues, t->vnet, existed);
    if (rc < 0) goto err;
    t->fd = rc;
    t->unpersist = existed && !tp.persist && tap_created_here(cfg->name);
    if (!existed && tp.persist && ioctl(t->fd, TUNSETPERSIST, 1UL) < 0) {
        rc = -errno;
        axl_err(TAP_MOD, "%s: TUNSETPERSIST: %s", cfg->name, strerror(-rc));
        goto err;
    }
    /* Kernel-side MAC, asked through the queue fd. */
    memset(&ifr, 0, sizeof(ifr));
    if (ioctl(t->fd, SIOCGIFHWADDR, &ifr) < 0) {
        rc = -errno;
        axl_err(TAP_MOD, "%s: SIOCGIFHWADDR: %s", cfg->name, strerror(-rc));
        goto err;
    }
    memcpy(kmac, ifr.ifr_hwaddr.sa_data, 6);
    if ((rc = tap_link_up(cfg->name, cfg->mtu, &p->mtu)) < 0) {
        axl_err(TAP_MOD, "%s: link set-up: %s", cfg->name, axl_strerror(rc));
        goto err;
    }
    p->max_frame = p->mtu + ETH_HLEN;
    if (t->room < p->max_frame) {
        axl_err(TAP_MOD, "%s: pool buffers hold %u bytes, frames need %u (mtu %u)", cfg->name,
                t->room, p->max_frame, p->mtu);
        rc = AXL_EINVAL;
        goto err;
    }
    if (cfg->has_mac) {
        if (memcmp(cfg->mac, kmac, 6) == 0) {
            axl_err(TAP_MOD, "%s: mac equals the kernel side's MAC", cfg->name);
            rc = AXL_EINVAL;
            goto err;
        }
        memcpy(p->mac, cfg->mac, 6);
    } else {
        memcpy(p->mac, kmac, 6);
        p->mac[0] = (uint8_t)((p->mac[0] & 0xfe) | 0x02); /* unicast, locally administered */
        p->mac[5] ^= 0x01;                                /* never the kernel side's */
    }
    p->ifindex = (int)if_nametoindex(cfg->name);
    axl_info(TAP_MOD, "%s: queue %u/%u fd %d mtu %u vnet %d%s mac %02x:%02x:%02x:%02x:%02x:%02x",
             cfg->name, cfg->queue, cfg->nqueues, t->fd, p->mtu, t->vnet,
             existed      ? " (attached)"
             : tp.persist ? " (created, persistent)"
                          : " (created)",
             p->mac[0], p->mac[1], p->mac[2], p->mac[3], p->mac[4], p->mac[5]);
    return 0;
err:
    tap_close(p);
    return rc;
}

/* Fill pkt from one read frame; 0 to deliver, else the frame is dropped and
 * counted here. */
static inline int tap_rx_meta(struct axl_port *p, const struct tap_priv *t,
                              const struct virtio_net_hdr *vh, struct axl_pkt *pkt, ssize_t r)
{
    uint32_t flen;

    if (axl_unlikely(r < (ssize_t)t->vlen + ETH_HLEN)) {
        p->stats.rx_errors++;
        return -1;
    }
    flen = (uint32_t)r - t->vlen;
    if (axl_unlikely(flen > t->room)) {
        p->stats.rx_trunc++;
        return -1;
    }
    pkt->len = flen;
    pkt->queue = (uint16_t)p->cfg.queue;
    if (t->vnet) {
        /* tun's legacy vnet header is in host byte order (no TUNSETVNETLE/BE). */
        if (axl_unlikely((vh->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) != VIRTIO_NET_HDR_GSO_NONE)) {
            p->stats.rx_trunc++;
            return -1;
        }
        if (vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
            uint32_t cs = vh->csum_start, co = vh->csum_offset;
            if (axl_unlikely(cs + co + 2u > flen)) {
                p->stats.rx_errors++;
                return -1;
            }
            pkt->flags |= AXL_PKT_F_CSUM_PARTIAL;
            pkt->csum_start = (uint16_t)cs;
            pkt->csum_off = (uint16_t)co;
            p->stats.rx_csum_partial++;
        } else if (vh->flags & VIRTIO_NET_HDR_F_DATA_VALID) {
            pkt->flags |= AXL_PKT_F_CSUM_OK;
        }
    }
    p->stats.rx_packets++;
    p->stats.rx_bytes += flen;
    return 0;
}

/* Hot path: one read() per frame until EAGAIN or n frames. */
static uint32_t tap_rx_burst(struct axl_port *p, struct axl_pkt **pkts, uint32_t n)
{
    struct tap_priv *t = p->priv;
    struct axl_pool *pool = p->cfg.pool;
    struct virtio_net_hdr vh;
    uint32_t got = 0, tries;

    for (tries = 0; got < n && tries < n; tries++) {
        struct axl_pkt *pkt = axl_pkt_alloc(pool);
        struct iovec iov[3];
        int cnt = 0;
        ssize_t r;

        if (t->vlen) iov[cnt++] = (struct iovec){.iov_base = &vh, .iov_len = t->vlen};
        if (pkt) iov[cnt++] = (struct iovec){.iov_base = pkt->data, .iov_len = t->room};
        iov[cnt++] = (struct iovec){.iov_base = t->scratch, .iov_len = TAP_SCRATCH};
        r = readv(t->fd, iov, cnt);
        if (r <= 0) {
            if (pkt) axl_pkt_free(pool, pkt);
            if (r < 0 && errno != EAGAIN && errno != EINTR) p->stats.rx_errors++;
            break;
        }
        if (axl_unlikely(!pkt)) {
            p->stats.rx_nobuf++; /* read into scratch and dropped */
            continue;
        }
        if (tap_rx_meta(p, t, &vh, pkt, r) < 0) {
            axl_pkt_free(pool, pkt);
            continue;
        }
        pkts[got++] = pkt;
    }
    return got;
}

/* Hot path: one write() per frame; frames are freed once written. */
static uint32_t tap_tx_burst(struct axl_port *p, struct axl_pkt **pkts, uint32_t n)
{
    static const struct virtio_net_hdr zero_vh; /* read-only */
    struct tap_priv *t = p->priv;
    struct axl_pool *pool = p->cfg.pool;
    uint32_t i;

    for (i = 0; i < n; i++) {
        struct axl_pkt *pkt = pkts[i];
        struct iovec iov[2];
        int cnt = 0;
        ssize_t r;

        if (axl_port_tx_unfit(p, pkt, ETH_HLEN, p->max_frame)) {
            axl_pkt_free(pool, pkt);
            continue;
        }
        if (t->vlen) iov[cnt++] = (struct iovec){.iov_base = (void *)&zero_vh, .iov_len = t->vlen};
        iov[cnt++] = (struct iovec){.iov_base = pkt->data, .iov_len = pkt->len};
        r = writev(t->fd, iov, cnt);
        if (axl_unlikely(r < 0)) {
            if (errno == EAGAIN || errno == ENOBUFS) {
                p->stats.tx_full++;
                break; /* pkts[i..] stay the caller's */
            }
            p->stats.tx_errors++;
        } else {
            p->stats.tx_packets++;
            p->stats.tx_bytes += pkt->len;
        }
        axl_pkt_free(pool, pkt);
    }
    return i;
}

static int tap_fd(struct axl_port *p)
{
    return ((struct tap_priv *)p->priv)->fd;
}

/* Nothing is buffered in user space: the fd's readability is the whole truth. */
static int tap_prepare_sleep(struct axl_port *p)
{
    (void)p;
    return 1;
}

static void tap_close(struct axl_port *p)
{
    struct tap_priv *t = p->priv;

    if (!t) return;
    /* The kernel deletes a non-persistent device with its last queue fd,
     * wherever its kernel side lives now. A device our dev_setup made
     * persistent loses that here (other queues may still hold it open). */
    if (t->fd >= 0 && t->unpersist && ioctl(t->fd, TUNSETPERSIST, 0UL) < 0)
        axl_warn(TAP_MOD, "%s: clearing persistence: %s", p->cfg.name, strerror(errno));
    if (t->fd >= 0) close(t->fd);
    free(t->scratch);
    free(t);
    p->priv = NULL;
}

/* /sys/class/net/NAME/ifalias of the device in our namespace: 0, or -errno. */
static int tap_alias_path(const char *name, char *path, size_t len)
{
    int n = snprintf(path, len, "/sys/class/net/%s/ifalias", name);
    return n < 0 || (size_t)n >= len ? AXL_EINVAL : 0;
}

static int tap_dev_setup(const struct axl_port_cfg *cfg)
{
    struct tap_params tp;
    char path[128];
    FILE *f;
    int fd, rc;

    if ((rc = tap_params(cfg, &tp)) < 0) return rc;
    if (if_nametoindex(cfg->name) != 0) {
        axl_info(TAP_MOD, "%s: exists; queues will attach to it", cfg->name);
        return 0;
    }
    fd = tap_queue_open(cfg->name, cfg->nqueues, (int)tp.vnet, 0);
    if (fd < 0) return fd;
    if (ioctl(fd, TUNSETPERSIST, 1UL) < 0) {
        rc = -errno;
        axl_err(TAP_MOD, "%s: TUNSETPERSIST: %s", cfg->name, strerror(-rc));
        goto err;
    }
    if ((rc = tap_link_up(cfg->name, cfg->mtu, NULL)) < 0) goto err_unpersist;
    if (!tp.persist) {
        /* Mark it ours, so that dev_teardown deletes only what we created. */
        if ((rc = tap_alias_path(cfg->name, path, sizeof(path))) < 0) goto err_unpersist;
        f = fopen(path, "w");
        if (!f || fputs(TAP_ALIAS "\n", f) == EOF) {
            rc = -errno;
            axl_err(TAP_MOD, "%s: marking %s: %s", cfg->name, path, strerror(-rc));
            if (f) fclose(f);
            goto err_unpersist;
        }
        if (fclose(f) == EOF) {
            rc = -errno;
            goto err_unpersist;
        }
    }
    close(fd);
    if (!tp.persist) tap_created_note(cfg->name);
    axl_info(TAP_MOD, "%s: created (%u queue%s, vnet %u)%s", cfg->name, cfg->nqueues,
             cfg->nqueues > 1 ? "s" : "", tp.vnet, tp.persist ? ", persistent" : "");
    return 0;
err_unpersist:
    ioctl(fd, TUNSETPERSIST, 0UL); /* it goes away with fd below */
err:
    close(fd);
    return rc;
}

static void tap_dev_teardown(const struct axl_port_cfg *cfg)
{
    struct tap_params tp;
    char path[128], alias[64] = "";
    FILE *f;
    int fd;

    if (tap_params(cfg, &tp) < 0 || tp.persist) return;
    if (if_nametoindex(cfg->name) == 0) {
        axl_debug(TAP_MOD, "%s: not in this namespace; left to the namespace that holds it",
                  cfg->name);
        return;
    }
    if (tap_alias_path(cfg->name, path, sizeof(path)) < 0 || !(f = fopen(path, "r"))) return;
    if (!fgets(alias, sizeof(alias), f)) alias[0] = '\0';
    fclose(f);
    if (strncmp(alias, TAP_ALIAS, strlen(TAP_ALIAS)) != 0) {
        axl_debug(TAP_MOD, "%s: not created by dev_setup; left alone", cfg->name);
        return;
    }
    fd = tap_queue_open(cfg->name, cfg->nqueues, (int)tp.vnet, 1);
    if (fd < 0) {
        axl_warn(TAP_MOD, "%s: cannot attach to delete it: %s", cfg->name, axl_strerror(fd));
        return;
    }
    if (ioctl(fd, TUNSETPERSIST, 0UL) < 0)
        axl_warn(TAP_MOD, "%s: clearing persistence: %s", cfg->name, strerror(errno));
    close(fd); /* last fd of a non-persistent device: the kernel deletes it */
}

const struct axl_port_ops axl_port_tap_ops = {
    .name = "tap",
    .dev_setup = tap_dev_setup,
    .dev_teardown = tap_dev_teardown,
    .open = tap_open,
    .rx_burst = tap_rx_burst,
    .tx_burst = tap_tx_burst,
    .flush = NULL,
    .fd = tap_fd,
    .prepare_sleep = tap_prepare_sleep,
    .wake_done = NULL,
    .close = tap_close,
};
