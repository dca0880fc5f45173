/* SPDX-License-Identifier: MIT */
/*
 * afpacket.c - AF_PACKET port: one PF_PACKET socket with a TPACKET_V3 RX ring
 * and a TPACKET_V3 TX ring (fixed-size slots) sending with PACKET_QDISC_BYPASS.
 *
 * Spec:  afpacket:IFNAME[:QUEUES][,fanout=ID][,blocks=N][,block_kb=N][,tov=MS]
 *                  [,txframes=N][,vnet=0|1][,mtu=N][,mac=aa:bb:cc:dd:ee:ff]
 *   fanout=ID   join PACKET_FANOUT_HASH group ID (0..65535). The port itself is
 *               single-queue: one socket, one RX ring. Several instances (one per
 *               replica, spec afpacket:IF:N,fanout=ID, each opening its queue)
 *               split the interface's traffic by the kernel's symmetric flow hash.
 *               QUEUES > 1 without fanout is refused.
 *   blocks=N    RX ring blocks (default 64, 2..4096).
 *   block_kb=N  RX block size in KiB (default 256, power of two, 64..4096).
 *   tov=MS      block retire timeout in ms (default 1, 1..100).
 *               Latency: a V3 block becomes visible to us only when it is full
 *               or this timeout retires it, so below ~(block size / frame size)
 *               frames per tov every frame waits up to tov. Measured ping RTT
 *               over veth: avg 0.3 ms / max ~1-2 ms with these defaults, avg
 *               1.4 ms with 1 MiB blocks and tov=2. Larger blocks only help at
 *               rates where they fill within a millisecond.
 *   txframes=N  TX ring slots (default 1024, power of two, 64..65536).
 *   vnet=0|1    PACKET_VNET_HDR (default 1): frames with an unfinished checksum
 *               then carry csum_start/csum_off; without it only the flag is set.
 *   mtu=N       IP MTU; must not exceed the interface's (default: the interface's).
 *   mac=...     our MAC (default the interface's). A different MAC puts the
 *               interface into promiscuous mode through a packet membership
 *               (dropped automatically when the socket closes).
 *
 * Call chain: axl_port_open -> afp_open; engine loop -> afp_rx_burst (walk
 * retired blocks, copy each frame into a pool buffer, hand the block back at
 * once) -> ... -> afp_tx_burst (copy into TX slots, free the pkts) -> afp_flush
 * (one send(fd, NULL, 0, MSG_DONTWAIT) per batch). poll(fd, POLLIN) sleeps
 * until the kernel retires a block.
 *
 * IMPORTANT - the interface stays visible to the kernel. Frames addressed to
 * our MAC also reach the kernel's own stack on that interface. The interface
 * must therefore carry no kernel IPv4 address (the kernel would answer ARP and
 * ICMP for it and RST our TCP peers), the stack's IP must not be a kernel
 * address anywhere in the namespace, IPv6 should be disabled on it
 * (sysctl net.ipv6.conf.IF.disable_ipv6=1) and forwarding off in its namespace.
 * Tests run the port in a namespace of its own.
 *
 * Drops, each counted: pool empty (rx_nobuf); frame longer than the snaplen or
 * than a pool buffer, e.g. GSO super-frames from a TSO peer (rx_trunc, never
 * delivered half); GSO frames announced by the vnet header (rx_trunc); VLAN tags
 * stripped by the kernel (we would lose the tag) and malformed ring entries
 * (rx_errors); kernel ring overruns (tp_drops via PACKET_STATISTICS, folded
 * into rx_kernel_drops when a block says TP_STATUS_LOSING, every ~100 ms while
 * polling, before sleeping and at close).
 * Own outgoing frames are not received (PACKET_IGNORE_OUTGOING, and
 * sll_pkttype == PACKET_OUTGOING is skipped as a second line).
 * Timestamps: the kernel's are CLOCK_REALTIME; pkt->ts_ns is left 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/compiler.h"
#include "core/err.h"
#include "core/log.h"
#include "port/port.h"

#define AFP_MOD "afpacket"

/** RX ring geometry (default 64 x 256 KiB = 16 MiB). A 256 KiB block holds
 *  ~170 full-size or ~2000 minimum-size frames; the ring absorbs a burst of
 *  ~11000 full-size frames while the engine is busy elsewhere. */
#define AFP_RX_BLOCK_KB_DEF 256u
#define AFP_RX_BLOCKS_DEF   64u
#define AFP_RX_FRAME_HINT   2048u /* tp_frame_size: V3 frames are variable-sized */
#define AFP_RX_TOV_DEF_MS   1u
#define AFP_TX_FRAMES_DEF   1024u
#define AFP_TX_BLOCK_SIZE   (1u << 16)
/** Fold PACKET_STATISTICS at most this often while polling. */
#define AFP_STATS_PERIOD_NS  (100 * AXL_NS_PER_MS)
#define AFP_STATS_CHECK_MASK 1023u /* look at the clock every 1024 rx_burst calls */

/* Data offset inside a V3 TX slot (tp_hdrlen - sizeof(sockaddr_ll), no
 * PACKET_TX_HAS_OFF): where the kernel starts reading. */
#define AFP_TX_DATA_OFF TPACKET_ALIGN(sizeof(struct tpacket3_hdr))
#define AFP_VNET_LEN    sizeof(struct virtio_net_hdr)

struct afp_priv {
    int fd;
    int vnet;     /* PACKET_VNET_HDR active on both rings */
    uint8_t *map; /* RX ring, then TX ring, one mapping */
    size_t map_len;
    /* RX ring: nblocks blocks of block_size bytes. */
    uint32_t rx_block_size, rx_nblocks;
    uint32_t rx_cur;      /* block we are reading (or waiting for) */
    uint32_t rx_left;     /* frames left in rx_cur; 0 = block not opened */
    uint32_t rx_next_off; /* offset in rx_cur of the next tpacket3_hdr */
    uint32_t rx_room;     /* bytes a pool buffer holds after headroom */
    /* TX ring: nframes slots of frame_size bytes, contiguous. */
    uint8_t *tx_ring;
    uint32_t tx_frame_size, tx_nframes, tx_cur;
    uint32_t tx_unkicked; /* slots filled since the last send() */
    /* Statistics folding. */
    uint32_t polls;
    uint64_t stats_last_ns;
};

/* Parse an unsigned option into *out within [lo, hi]; absent keeps *out. */
static int afp_opt_u32(const struct axl_port_cfg *cfg, const char *key, uint32_t lo, uint32_t hi,
                       uint32_t *out)
{
    const char *v = axl_port_opt(cfg, key);
    char *end;
    unsigned long x;

    if (!v) return 0;
    errno = 0;
    x = strtoul(v, &end, 0);
    if (errno || end == v || *end || x < lo || x > hi) {
        axl_err(AFP_MOD, "%s: bad %s=%s (expected %u..%u)", cfg->name, key, v, lo, hi);
        return AXL_EINVAL;
    }
    *out = (uint32_t)x;
    return 0;
}

static int afp_check_keys(const struct axl_port_cfg *cfg)
{
    static const char *const known[] = {"fanout", "blocks", "block_kb", "tov", "txframes",
                                        "vnet",   "mtu",    "pcap",     "mac"};
    for (uint32_t i = 0; i < cfg->nopts; i++) {
        size_t k;
        for (k = 0; k < AXL_ARRAY_SIZE(known); k++)
            if (strcmp(cfg->opts[i].key, known[k]) == 0) break;
        if (k == AXL_ARRAY_SIZE(known)) {
            axl_err(AFP_MOD, "%s: unknown option '%s'", cfg->name, cfg->opts[i].key);
            return AXL_EINVAL;
        }
    }
    return 0;
}

static void afp_fold_stats(struct axl_port *p, struct afp_priv *a)
{
    struct tpacket_stats_v3 st;
    socklen_t len = sizeof(st);

    /* The kernel resets the counters on every read, so they add up. */
    if (getsockopt(a->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0)
        p->stats.rx_kernel_drops += st.tp_drops;
    a->stats_last_ns = axl_clock_ns();
}

static inline struct tpacket_block_desc *afp_block(const struct afp_priv *a, uint32_t i)
{
    return (struct tpacket_block_desc *)(void *)(a->map + (size_t)i * a->rx_block_size);
}

static inline void afp_block_release(struct afp_priv *a)
{
    struct tpacket_block_desc *bd = afp_block(a, a->rx_cur);
    /* (B) store-release: the kernel may refill the block only after every read
     * of its frames above is done. Pairs with the kernel's smp_rmb before it
     * checks block_status in prb_dispatch_next_block. */
    __atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
    a->rx_left = 0;
    a->rx_cur = a->rx_cur + 1 == a->rx_nblocks ? 0 : a->rx_cur + 1;
}

/* Open rx_cur if the kernel has retired it. 1 if frames are ready. */
static inline int afp_block_open(struct axl_port *p, struct afp_priv *a)
{
    struct tpacket_block_desc *bd = afp_block(a, a->rx_cur);
    /* (A) load-acquire: frames written by the kernel are visible once it has
     * flipped the block to TP_STATUS_USER (kernel: smp_wmb, then status). */
    uint32_t st = __atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE);

    if (!(st & TP_STATUS_USER)) return 0;
    if (axl_unlikely(st & TP_STATUS_LOSING)) afp_fold_stats(p, a);
    a->rx_left = bd->hdr.bh1.num_pkts;
    a->rx_next_off = bd->hdr.bh1.offset_to_first_pkt;
    if (axl_unlikely(a->rx_left == 0)) {
        afp_block_release(a);
        return 0;
    }
    return 1;
}

/* Copy one ring frame into a pool buffer, or count why not. */
static inline struct axl_pkt *afp_take_frame(struct axl_port *p, struct afp_priv *a,
                                             const uint8_t *blk, const struct tpacket3_hdr *h)
{
    const struct sockaddr_ll *sll =
        (const struct sockaddr_ll *)(const void *)((const uint8_t *)h + AFP_TX_DATA_OFF);
    uint32_t mac = h->tp_mac, snap = h->tp_snaplen, len = h->tp_len;
    uint32_t hoff = (uint32_t)((const uint8_t *)h - blk);
    uint32_t status = h->tp_status;
    struct axl_pkt *pkt;
    const uint8_t *frame;

    if (axl_unlikely(sll->sll_pkttype == PACKET_OUTGOING))
        return NULL; /* our own frame, not a drop */
    if (axl_unlikely((uint64_t)hoff + mac + snap > a->rx_block_size ||
                     (a->vnet && mac < AFP_VNET_LEN) || snap < ETH_HLEN)) {
        p->stats.rx_errors++;
        return NULL;
    }
    if (axl_unlikely(snap < len || len > a->rx_room)) {
        p->stats.rx_trunc++; /* GSO super-frame or jumbo: never deliver half */
        return NULL;
    }
    if (axl_unlikely(status & TP_STATUS_VLAN_VALID)) {
        p->stats.rx_errors++; /* tag stripped into tp_vlan_tci; VLANs unsupported */
        return NULL;
    }
    frame = (const uint8_t *)h + mac;
    pkt = axl_pkt_alloc(p->cfg.pool);
    if (axl_unlikely(!pkt)) {
        p->stats.rx_nobuf++;
        return NULL;
    }
    memcpy(pkt->data, frame, len);
    pkt->len = len;
    pkt->queue = (uint16_t)p->cfg.queue;
    if (a->vnet) {
        struct virtio_net_hdr vh;
        memcpy(&vh, frame - AFP_VNET_LEN, sizeof(vh));
        if (axl_unlikely(vh.gso_type != VIRTIO_NET_HDR_GSO_NONE)) {
            axl_pkt_free(p->cfg.pool, pkt);
            p->stats.rx_trunc++;
            return NULL;
        }
        if (vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
            uint32_t cs = vh.csum_start, co = vh.csum_offset; /* host order on LE hosts */
            if (axl_unlikely(cs + co + 2u > len)) {
                axl_pkt_free(p->cfg.pool, pkt);
                p->stats.rx_errors++;
                return NULL;
            }
            pkt->csum_start = (uint16_t)cs;
            pkt->csum_off = (uint16_t)co;
        }
    }
    if (status & TP_STATUS_CSUMNOTREADY) {
        pkt->flags |= AXL_PKT_F_CSUM_PARTIAL;
        p->stats.rx_csum_partial++;
    } else if (status & TP_STATUS_CSUM_VALID) {
        pkt->flags |= AXL_PKT_F_CSUM_OK;
    }
    p->stats.rx_packets++;
    p->stats.rx_bytes += len;
    return pkt;
}

/* Hot path. */
static uint32_t afp_rx_burst(struct axl_port *p, struct axl_pkt **pkts, uint32_t n)
{
    struct afp_priv *a = p->priv;
    uint32_t got = 0;

    if (axl_unlikely((++a->polls & AFP_STATS_CHECK_MASK) == 0) &&
        axl_clock_ns() - a->stats_last_ns >= AFP_STATS_PERIOD_NS)
        afp_fold_stats(p, a);

    while (got < n) {
        const uint8_t *blk;
        if (a->rx_left == 0 && !afp_block_open(p, a)) break;
        blk = (const uint8_t *)afp_block(a, a->rx_cur);
        while (a->rx_left && got < n) {
            const struct tpacket3_hdr *h;
            struct axl_pkt *pkt;
            if (axl_unlikely((uint64_t)a->rx_next_off + sizeof(*h) > a->rx_block_size)) {
                p->stats.rx_errors += a->rx_left;
                a->rx_left = 0;
                break;
            }
            h = (const struct tpacket3_hdr *)(const void *)(blk + a->rx_next_off);
            pkt = afp_take_frame(p, a, blk, h);
            if (pkt) pkts[got++] = pkt;
            a->rx_next_off += h->tp_next_offset;
            a->rx_left--;
        }
        if (a->rx_left == 0) afp_block_release(a); /* hand it back as soon as it is consumed */
    }
    return got;
}

static inline uint32_t *afp_tx_status(const struct afp_priv *a, uint32_t slot)
{
    struct tpacket3_hdr *h =
        (struct tpacket3_hdr *)(void *)(a->tx_ring + (size_t)slot * a->tx_frame_size);
    return &h->tp_status;
}

static int afp_kick(struct axl_port *p, struct afp_priv *a)
{
    if (a->tx_unkicked == 0) return 0;
    p->stats.wakeups++;
    if (send(a->fd, NULL, 0, MSG_DONTWAIT) < 0 && errno != EAGAIN && errno != ENOBUFS &&
        errno != EINTR) {
        int e = errno;
        p->stats.tx_errors++;
        axl_debug(AFP_MOD, "%s: send: %s", p->cfg.name, strerror(e));
        a->tx_unkicked = 0; /* the kernel has looked at (and refused) the slots */
        return -e;
    }
    /* EAGAIN/ENOBUFS leave slots in SEND_REQUEST; the next kick retries them. */
    a->tx_unkicked = 0;
    return 0;
}

/* Reclaim a slot the kernel refused (TP_STATUS_WRONG_FORMAT, with PACKET_LOSS). */
static inline int afp_tx_slot_free(struct axl_port *p, struct afp_priv *a, uint32_t slot)
{
    uint32_t *st = afp_tx_status(a, slot);
    /* (C) load-acquire: pairs with the kernel's release of the slot. */
    uint32_t v = __atomic_load_n(st, __ATOMIC_ACQUIRE);

    if (v == TP_STATUS_AVAILABLE) return 1;
    if (v & TP_STATUS_WRONG_FORMAT) {
        p->stats.tx_errors++;
        *st = TP_STATUS_AVAILABLE;
        return 1;
    }
    return 0;
}

/* Hot path: copy frames into TX slots; the pkts are freed right after. */
static uint32_t afp_tx_burst(struct axl_port *p, struct axl_pkt **pkts, uint32_t n)
{
    struct afp_priv *a = p->priv;
    struct axl_pool *pool = p->cfg.pool;
    uint32_t vlen = a->vnet ? (uint32_t)AFP_VNET_LEN : 0;
    uint32_t i;

    for (i = 0; i < n; i++) {
        struct axl_pkt *pkt = pkts[i];
        struct tpacket3_hdr *h;
        uint8_t *d;

        if (axl_port_tx_unfit(p, pkt, ETH_HLEN, p->max_frame)) {
            axl_pkt_free(pool, pkt);
            continue;
        }
        if (!afp_tx_slot_free(p, a, a->tx_cur)) {
            /* Ring full: push what is pending, then look once more. */
            afp_kick(p, a);
            if (!afp_tx_slot_free(p, a, a->tx_cur)) {
                p->stats.tx_full++;
                break;
            }
        }
        h = (struct tpacket3_hdr *)(void *)(a->tx_ring + (size_t)a->tx_cur * a->tx_frame_size);
        d = (uint8_t *)h + AFP_TX_DATA_OFF;
        if (vlen) memset(d, 0, vlen); /* no offload requested: flags 0, GSO_NONE */
        memcpy(d + vlen, pkt->data, pkt->len);
        h->tp_len = pkt->len + vlen;
        h->tp_next_offset = 0;
        /* (D) store-release: the frame bytes before the status flip. */
        __atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
        a->tx_cur = (a->tx_cur + 1) & (a->tx_nframes - 1);
        a->tx_unkicked++;
        p->stats.tx_packets++;
        p->stats.tx_bytes += pkt->len;
        axl_pkt_free(pool, pkt);
    }
    return i;
}

static int afp_flush(struct axl_port *p)
{
    return afp_kick(p, p->priv);
}

static int afp_fd(struct axl_port *p)
{
    return ((struct afp_priv *)p->priv)->fd;
}

static int afp_prepare_sleep(struct axl_port *p)
{
    struct afp_priv *a = p->priv;
    struct tpacket_block_desc *bd;

    afp_fold_stats(p, a);
    if (a->rx_left) return 0;
    bd = afp_block(a, a->rx_cur);
    return (__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) ? 0 : 1;
}

static int afp_setopt(int fd, int opt, int val, const char *what, const char *ifname)
{
    if (setsockopt(fd, SOL_PACKET, opt, &val, sizeof(val)) < 0) {
        int e = errno;
        axl_err(AFP_MOD, "%s: setsockopt %s: %s", ifname, what, strerror(e));
        return -e;
    }
    return 0;
}

/* Interface facts through ioctl on our socket. */
static int afp_if_info(int fd, const char *ifname, uint8_t mac[6], uint32_t *mtu, int *up)
{
    struct ifreq ifr;

    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, ifname, strlen(ifname) + 1);
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) return -errno;
    if (ifr.ifr_hwaddr.sa_family != 1 /* ARPHRD_ETHER */) {
        axl_err(AFP_MOD, "%s: not an Ethernet interface", ifname);
        return AXL_ENOTSUP;
    }
    memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
    if (ioctl(fd, SIOCGIFMTU, &ifr) < 0) return -errno;
    *mtu = (uint32_t)ifr.ifr_mtu;
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) return -errno;
    *up = !!(ifr.ifr_flags & IFF_UP);
    return 0;
}

static void afp_close(struct axl_port *p);

static int afp_open(struct axl_port *p, const struct axl_port_cfg *cfg)
{
    struct afp_priv *a;
    struct tpacket_req3 rx_req, tx_req;
    struct sockaddr_ll sll;
    uint32_t blocks = AFP_RX_BLOCKS_DEF, block_kb = AFP_RX_BLOCK_KB_DEF, tov = AFP_RX_TOV_DEF_MS,
             txframes = AFP_TX_FRAMES_DEF;
    uint32_t vnet = 1, fanout = 0, if_mtu = 0, tx_min;
    const char *fanout_s;
    uint8_t if_mac[6];
    int up = 0, ifindex, rc;

    if (&p->cfg != cfg) p->cfg = *cfg;
    p->priv = NULL;
    if (!cfg->pool || cfg->pool->buf_size <= cfg->pool->headroom) {
        axl_err(AFP_MOD, "%s: no usable buffer pool", cfg->name);
        return AXL_EINVAL;
    }
    if (strlen(cfg->name) == 0 || strlen(cfg->name) >= IFNAMSIZ) {
        axl_err(AFP_MOD, "bad interface name '%s'", cfg->name);
        return AXL_EINVAL;
    }
    if ((rc = afp_check_keys(cfg)) < 0 || (rc = afp_opt_u32(cfg, "blocks", 2, 4096, &blocks)) < 0 ||
        (rc = afp_opt_u32(cfg, "block_kb", 64, 4096, &block_kb)) < 0 ||
        (rc = afp_opt_u32(cfg, "tov", 1, 100, &tov)) < 0 ||
        (rc = afp_opt_u32(cfg, "txframes", 64, 65536, &txframes)) < 0 ||
        (rc = afp_opt_u32(cfg, "vnet", 0, 1, &vnet)) < 0 ||
        (rc = afp_opt_u32(cfg, "fanout", 0, 65535, &fanout)) < 0)
        return rc;
    if (!axl_is_pow2(txframes) || !axl_is_pow2(block_kb)) {
        axl_err(AFP_MOD, "%s: txframes=%u and block_kb=%u must be powers of two", cfg->name,
                txframes, block_kb);
        return AXL_EINVAL;
    }
    fanout_s = axl_port_opt(cfg, "fanout");
    if (cfg->nqueues > 1 && !fanout_s) {
        axl_err(AFP_MOD,
                "%s: afpacket is single-queue; %u queues need fanout=ID (one socket per "
                "queue in one PACKET_FANOUT_HASH group)",
                cfg->name, cfg->nqueues);
        return AXL_EINVAL;
    }
    ifindex = (int)if_nametoindex(cfg->name);
    if (ifindex == 0) {
        axl_err(AFP_MOD, "%s: no such interface in this namespace", cfg->name);
        return AXL_ENOENT;
    }

    a = calloc(1, sizeof(*a));
    if (!a) return AXL_ENOMEM;
    a->fd = -1;
    a->map = MAP_FAILED;
    p->priv = a;
    p->ifindex = ifindex;

    /* Protocol 0: nothing is queued before the rings exist and bind() runs. */
    a->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (a->fd < 0) {
        rc = -errno;
        axl_err(AFP_MOD, "%s: socket(AF_PACKET): %s", cfg->name, strerror(-rc));
        goto err;
    }
    if ((rc = afp_if_info(a->fd, cfg->name, if_mac, &if_mtu, &up)) < 0) {
        axl_err(AFP_MOD, "%s: reading interface: %s", cfg->name, axl_strerror(rc));
        goto err;
    }
    if (!up)
        axl_warn(AFP_MOD, "%s: interface is down; nothing will flow until it is up", cfg->name);
    p->mtu = cfg->mtu ? cfg->mtu : if_mtu;
    if (p->mtu > if_mtu || p->mtu < 68) {
        axl_err(AFP_MOD, "%s: mtu %u not within 68..%u (the interface's)", cfg->name, p->mtu,
                if_mtu);
        rc = AXL_EINVAL;
        goto err;
    }
    p->max_frame = p->mtu + ETH_HLEN;
    a->rx_room = cfg->pool->buf_size - cfg->pool->headroom;
    if (a->rx_room < p->max_frame) {
        axl_err(AFP_MOD, "%s: pool buffers hold %u bytes, frames need %u", cfg->name, a->rx_room,
                p->max_frame);
        rc = AXL_EINVAL;
        goto err;
    }
    memcpy(p->mac, cfg->has_mac ? cfg->mac : if_mac, 6);

    if ((rc = afp_setopt(a->fd, PACKET_VERSION, TPACKET_V3, "PACKET_VERSION", cfg->name)) < 0)
        goto err;
    a->vnet = (int)vnet;
    if (vnet && setsockopt(a->fd, SOL_PACKET, PACKET_VNET_HDR, &(int){1}, sizeof(int)) < 0) {
        axl_warn(AFP_MOD, "%s: PACKET_VNET_HDR: %s; checksum offsets unavailable", cfg->name,
                 strerror(errno));
        a->vnet = 0;
    }
    if ((rc = afp_setopt(a->fd, PACKET_QDISC_BYPASS, 1, "PACKET_QDISC_BYPASS", cfg->name)) < 0 ||
        (rc = afp_setopt(a->fd, PACKET_LOSS, 1, "PACKET_LOSS", cfg->name)) < 0)
        goto err;
    if (setsockopt(a->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &(int){1}, sizeof(int)) < 0)
        axl_warn(AFP_MOD, "%s: PACKET_IGNORE_OUTGOING: %s (outgoing frames skipped by type)",
                 cfg->name, strerror(errno));

    memset(&rx_req, 0, sizeof(rx_req));
    rx_req.tp_block_size = block_kb * 1024u;
    rx_req.tp_block_nr = blocks;
    rx_req.tp_frame_size = AFP_RX_FRAME_HINT;
    rx_req.tp_frame_nr = (rx_req.tp_block_size / AFP_RX_FRAME_HINT) * blocks;
    rx_req.tp_retire_blk_tov = tov;
    if (setsockopt(a->fd, SOL_PACKET, PACKET_RX_RING, &rx_req, sizeof(rx_req)) < 0) {
        rc = -errno;
        axl_err(AFP_MOD, "%s: PACKET_RX_RING (%u x %u KiB): %s", cfg->name, blocks, block_kb,
                strerror(-rc));
        goto err;
    }
    a->rx_block_size = rx_req.tp_block_size;
    a->rx_nblocks = blocks;

    /* TX slots: header + vnet header + largest frame, rounded to a power of two. */
    tx_min = (uint32_t)(AFP_TX_DATA_OFF + AFP_VNET_LEN) + p->max_frame;
    a->tx_frame_size = 2048;
    while (a->tx_frame_size < tx_min)
        a->tx_frame_size <<= 1;
    a->tx_nframes = txframes;
    memset(&tx_req, 0, sizeof(tx_req));
    tx_req.tp_frame_size = a->tx_frame_size;
    tx_req.tp_block_size = AXL_MAX(AFP_TX_BLOCK_SIZE, a->tx_frame_size);
    tx_req.tp_frame_nr = txframes;
    tx_req.tp_block_nr =
        (uint32_t)(((uint64_t)txframes * a->tx_frame_size + tx_req.tp_block_size - 1) /
                   tx_req.tp_block_size);
    tx_req.tp_frame_nr = tx_req.tp_block_nr * (tx_req.tp_block_size / a->tx_frame_size);
    a->tx_nframes = tx_req.tp_frame_nr; /* stays a power of two: both factors are */
    if (setsockopt(a->fd, SOL_PACKET, PACKET_TX_RING, &tx_req, sizeof(tx_req)) < 0) {
        rc = -errno;
        axl_err(AFP_MOD, "%s: PACKET_TX_RING: %s", cfg->name, strerror(-rc));
        goto err;
    }

    a->map_len = (size_t)rx_req.tp_block_size * rx_req.tp_block_nr +
                 (size_t)tx_req.tp_block_size * tx_req.tp_block_nr;
    a->map = mmap(NULL, a->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, a->fd, 0);
    if (a->map == MAP_FAILED) {
        rc = -errno;
        axl_err(AFP_MOD, "%s: mmap rings (%zu bytes): %s", cfg->name, a->map_len, strerror(-rc));
        goto err;
    }
    a->tx_ring = a->map + (size_t)rx_req.tp_block_size * rx_req.tp_block_nr;

    memset(&sll, 0, sizeof(sll));
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = ifindex;
    if (bind(a->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
        rc = -errno;
        axl_err(AFP_MOD, "%s: bind: %s", cfg->name, strerror(-rc));
        goto err;
    }
    if (fanout_s &&
        (rc = afp_setopt(a->fd, PACKET_FANOUT, (int)(fanout | (PACKET_FANOUT_HASH << 16)),
                         "PACKET_FANOUT", cfg->name)) < 0)
        goto err;
    if (cfg->has_mac && memcmp(cfg->mac, if_mac, 6) != 0) {
        struct packet_mreq mr;
        memset(&mr, 0, sizeof(mr));
        mr.mr_ifindex = ifindex;
        mr.mr_type = PACKET_MR_PROMISC;
        if (setsockopt(a->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0) {
            rc = -errno;
            axl_err(AFP_MOD, "%s: promiscuous membership: %s", cfg->name, strerror(-rc));
            goto err;
        }
    }
    a->stats_last_ns = axl_clock_ns();
    axl_info(AFP_MOD, "%s: ifindex %d mtu %u, rx %u x %u KiB tov %u ms, tx %u x %u B, vnet %d%s%s",
             cfg->name, ifindex, p->mtu, blocks, block_kb, tov, a->tx_nframes, a->tx_frame_size,
             a->vnet, fanout_s ? ", fanout " : "", fanout_s ? fanout_s : "");
    return 0;
err:
    afp_close(p);
    return rc;
}

static void afp_close(struct axl_port *p)
{
    struct afp_priv *a = p->priv;

    if (!a) return;
    if (a->fd >= 0 && a->map != MAP_FAILED) {
        afp_kick(p, a);
        afp_fold_stats(p, a);
    }
    if (a->map != MAP_FAILED) munmap(a->map, a->map_len);
    if (a->fd >= 0) close(a->fd);
    free(a);
    p->priv = NULL;
}

const struct axl_port_ops axl_port_afpacket_ops = {
    .name = "afpacket",
    .dev_setup = NULL,
    .dev_teardown = NULL,
    .open = afp_open,
    .rx_burst = afp_rx_burst,
    .tx_burst = afp_tx_burst,
    .flush = afp_flush,
    .fd = afp_fd,
    .prepare_sleep = afp_prepare_sleep,
    .wake_done = NULL,
    .close = afp_close,
};
