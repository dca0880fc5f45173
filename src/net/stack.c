/* SPDX-License-Identifier: MIT */
/*
 * net/stack.c - the engine: creation, the poll loop, the sleep policy, the
 * Ethernet demux, the TX batch, counters, and helpers for datagram chains.
 *
 * Loop (axl_stack_poll), hot:
 *   rx_burst(AXL_RX_BURST) -> eth_input per frame -> arp | ipv4 -> icmp | udp | tcp
 *   (replies are appended to the TX batch; a full batch goes out at once)
 *   -> axl_tw_advance(now) -> tx_burst of the rest -> port flush.
 * No system call and no allocation per packet: buffers come from the pool,
 * frames leave in batches, the port decides when to kick the kernel.
 *
 * Sleep policy (axl_stack_run, axl_stack_run_tick): poll while there is work; after
 * AXL_IDLE_SPINS empty iterations spanning at least AXL_IDLE_NS, ask the port
 * (prepare_sleep) and sleep in poll(2) on its fd until RX work or the next
 * timer (capped at AXL_SLEEP_MAX_MS so a stop flag set without a signal is
 * noticed). A port without an fd cannot wake us: we nap 1 ms at a time.
 *
 * Time: protocol code never reads the clock; `now` enters through
 * axl_stack_poll (run() reads the vDSO clock once per iteration), which is
 * what lets unit tests drive a deterministic clock.
 *
 * Call chain: replica main / RTC application / tests -> axl_stack_poll|run
 *   -> eth_input -> arp.c | ipv4.c -> icmp.c | udp.c | tcp_input.c -> axl_stack_xmit
 *   -> axl_stack_tx_flush -> port tx_burst.
 */
#include "net/stack.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/compiler.h"
#include "core/err.h"
#include "core/log.h"
#include "core/rand.h"
#include "net/stack_priv.h"
#include "wire/csum.h"
#include "wire/eth.h"
#include "wire/ipv4.h"

/** AXL_IDLE_SPINS / AXL_IDLE_NS: empty iterations, and time, before sleeping. */
#define AXL_IDLE_SPINS 2000u
#define AXL_IDLE_NS    (50 * AXL_NS_PER_US)
/** AXL_SLEEP_MAX_MS: longest single sleep. */
#define AXL_SLEEP_MAX_MS 100u

/* --- TX ------------------------------------------------------------------------ */

void axl_stack_tx_flush(struct axl_stack *s)
{
    uint32_t n = s->ntx;
    if (!n) return;
    uint32_t sent = axl_port_tx_burst(s->port, s->txb, n);
    if (sent > n) sent = n; /* a port may not claim more than it was given */
    for (uint32_t i = sent; i < n; i++) {
        axl_pkt_free(s->pool, s->txb[i]);
        AXL_STAT_INC(s, DropTxRingFull);
    }
    s->tx_done += sent;
    s->ntx = 0;
}

void axl_stack_xmit(struct axl_stack *s, struct axl_pkt *pkt)
{
    if (pkt->len < AXL_ETH_MIN_FRAME && axl_pkt_room(s->pool, pkt) >= AXL_ETH_MIN_FRAME) {
        /* IEEE 802.3 minimum frame; zeroed so no stale buffer bytes leak. */
        memset(pkt->data + pkt->len, 0, AXL_ETH_MIN_FRAME - pkt->len);
        pkt->len = AXL_ETH_MIN_FRAME;
    }
    if (axl_unlikely(pkt->len > s->max_frame)) {
        AXL_STAT_INC(s, DropTxTooBig);
        axl_pkt_free(s->pool, pkt);
        return;
    }
    pkt->next = NULL;
    s->txb[s->ntx++] = pkt;
    if (s->ntx == AXL_TX_BATCH) axl_stack_tx_flush(s);
}

/* --- RX demux ------------------------------------------------------------------ */

static void eth_input(struct axl_stack *s, struct axl_pkt *pkt)
{
    struct axl_eth_view v = {pkt->data, pkt->len};
    unsigned l2 = 0;

    pkt->next = NULL;
    int rc = axl_eth_view_check(&v);
    if (axl_unlikely(rc < 0)) {
        if (rc == AXL_ETRUNC)
            AXL_STAT_INC(s, DropEthTrunc);
        else
            AXL_STAT_INC(s, DropEth8023);
        goto drop;
    }
    const uint8_t *dst = axl_eth_view_dst(&v);
    if (axl_unlikely(!axl_eth_addr_eq(dst, s->mac))) {
        if (!axl_eth_is_bcast(dst)) {
            AXL_STAT_INC(s, DropEthNotForUs); /* other hosts, multicast (no groups) */
            goto drop;
        }
        l2 = AXL_L2_BCAST;
    }
    if (axl_unlikely(axl_eth_addr_eq(axl_eth_view_src(&v), s->mac))) {
        AXL_STAT_INC(s, DropEthOwnSrc);
        goto drop;
    }
    switch (axl_eth_view_type(&v)) {
    case AXL_ETHERTYPE_IPV4:
        axl_ipv4_input(s, pkt, AXL_ETH_HLEN, l2);
        return;
    case AXL_ETHERTYPE_ARP:
        axl_arp_input(s, pkt);
        return;
    default:
        AXL_STAT_INC(s, DropEthUnknownType);
        goto drop;
    }
drop:
    axl_pkt_free(s->pool, pkt);
}

/* --- the loop ------------------------------------------------------------------- */

uint32_t axl_stack_poll(struct axl_stack *s, uint64_t now_ns)
{
    struct axl_pkt *rx[AXL_RX_BURST];

    if (now_ns > s->now_ns) s->now_ns = now_ns; /* never let time run backwards */
    s->tx_done = 0;
    uint32_t n = axl_port_rx_burst(s->port, rx, AXL_RX_BURST);
    for (uint32_t i = 0; i < n; i++) /* hot */
        eth_input(s, rx[i]);
    uint32_t fired = axl_tw_advance(&s->tw, s->now_ns);
    axl_tcp_poll_end(s); /* free the TCBs closed during this iteration */
    axl_stack_tx_flush(s);
    axl_port_flush(s->port);
    return n + s->tx_done + fired;
}

static void stack_sleep(struct axl_stack *s, uint64_t now)
{
    struct axl_port *p = s->port;
    uint64_t wait = axl_tw_next_ns(&s->tw, now);
    int fd = axl_port_fd(p);

    if (fd < 0) wait = AXL_MIN(wait, AXL_NS_PER_MS);
    wait = AXL_MIN(wait, (uint64_t)AXL_SLEEP_MAX_MS * AXL_NS_PER_MS);
    if (wait == 0) return;
    if (p->ops->prepare_sleep && !p->ops->prepare_sleep(p)) return; /* work raced in */
    int ms = (int)((wait + AXL_NS_PER_MS - 1) / AXL_NS_PER_MS);
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    (void)poll(fd >= 0 ? &pfd : NULL, fd >= 0 ? 1 : 0, ms); /* EINTR: re-check *stop */
    if (p->ops->wake_done) p->ops->wake_done(p);
}

int axl_stack_run_tick(struct axl_stack *s, volatile sig_atomic_t *stop,
                       const struct axl_stack_tick *tick)
{
    uint32_t idle = 0;
    uint64_t idle_since = 0, last_tick = 0;

    if (!s || !stop || (tick && !tick->fn)) return AXL_EINVAL;
    while (!*stop) {
        uint64_t now = axl_clock_ns();
        if (tick && now - last_tick >= tick->period_ns) {
            last_tick = now;
            tick->fn(tick->arg, now, AXL_TICK_PERIOD);
        }
        if (axl_stack_poll(s, now)) {
            idle = 0;
            continue;
        }
        if (idle++ == 0) idle_since = now;
        if (idle < AXL_IDLE_SPINS || now - idle_since < AXL_IDLE_NS) continue;
        if (tick) tick->fn(tick->arg, now, AXL_TICK_SLEEP);
        stack_sleep(s, now);
        if (tick) {
            last_tick = axl_clock_ns();
            tick->fn(tick->arg, last_tick, AXL_TICK_WAKE);
        }
        idle = 0;
    }
    return 0;
}

int axl_stack_run(struct axl_stack *s, volatile sig_atomic_t *stop)
{
    return axl_stack_run_tick(s, stop, NULL);
}

/* --- datagram chains -------------------------------------------------------------- */

uint32_t axl_chain_copy(const struct axl_pkt *head, uint32_t off, void *dst, uint32_t n)
{
    uint8_t *d = dst;
    uint32_t copied = 0;
    for (const struct axl_pkt *p = head; p && n; p = p->next) {
        if (off >= p->len) {
            off -= p->len;
            continue;
        }
        uint32_t k = AXL_MIN(p->len - off, n);
        memcpy(d + copied, p->data + off, k);
        copied += k;
        n -= k;
        off = 0;
    }
    return copied;
}

uint32_t axl_chain_csum(const struct axl_pkt *head, uint32_t len, uint32_t sum)
{
    uint32_t pos = 0;
    for (const struct axl_pkt *p = head; p && len; p = p->next) {
        uint32_t k = AXL_MIN(p->len, len);
        uint32_t part = axl_csum_partial(p->data, k, 0);
        if (pos & 1) /* RFC 1071 §2(B): a piece at an odd offset sums byte-swapped */
            part = (uint32_t)__builtin_bswap16((uint16_t)part);
        sum = axl_csum_add32(sum, part);
        pos += k;
        len -= k;
    }
    return sum;
}

void axl_chain_trim(struct axl_pool *pool, struct axl_pkt *head, uint32_t len)
{
    for (struct axl_pkt *p = head; p; p = p->next) {
        if (len <= p->len) {
            p->len = len;
            axl_pkt_free_chain(pool, p->next);
            p->next = NULL;
            return;
        }
        len -= p->len;
    }
}

const uint8_t *axl_ipdg_linear(struct axl_stack *s, const struct axl_ipdg *dg)
{
    if (!dg->head->next) return dg->head->data;
    axl_chain_copy(dg->head, 0, s->scratch, AXL_MIN(dg->len, AXL_SCRATCH_LEN));
    return s->scratch;
}

/* --- counters --------------------------------------------------------------------- */

void axl_stack_stats_dump(const struct axl_stack *s, FILE *out, const char *prefix)
{
    /* Same line format as axl_port_stats_dump: "[prefix ]Name value". */
    const char *pf = prefix ? prefix : "";
    const char *sep = *pf ? " " : "";
    for (unsigned i = 0; i < AXL_STAT__COUNT; i++)
        fprintf(out, "%s%s%s %llu\n", pf, sep, axl_stat_name(i), (unsigned long long)s->stats.v[i]);
    fprintf(out, "%s%sPoolBuffers %u\n", pf, sep, s->pool->nbufs);
    fprintf(out, "%s%sPoolInUse %u\n", pf, sep, axl_pool_in_use(s->pool));
    fprintf(out, "%s%sPoolAllocFails %llu\n", pf, sep, (unsigned long long)s->pool->alloc_fail);
    axl_port_stats_dump(s->port, out, pf);
}

int64_t axl_stack_stat(const struct axl_stack *s, const char *name)
{
    int id = name ? axl_stat_id(name) : -1;
    return id < 0 ? -1 : (int64_t)s->stats.v[id];
}

uint32_t axl_stack_stats_copy(const struct axl_stack *s, uint64_t *dst, uint32_t n)
{
    if (!s || !dst) return 0;
    n = AXL_MIN(n, (uint32_t)AXL_STAT__COUNT);
    memcpy(dst, s->stats.v, (size_t)n * sizeof(*dst));
    return n;
}

/* --- life cycle ------------------------------------------------------------------- */

static uint32_t pick_mtu(const struct axl_stack_cfg *cfg, const struct axl_port *port,
                         const struct axl_pool *pool)
{
    uint32_t mtu = port->mtu ? port->mtu : 1500;
    if (cfg->mtu && cfg->mtu < mtu) mtu = cfg->mtu;
    if (port->max_frame && port->max_frame - AXL_ETH_HLEN < mtu)
        mtu = port->max_frame - AXL_ETH_HLEN;
    uint32_t bufroom = pool->buf_size - pool->headroom - AXL_ETH_HLEN;
    return AXL_MIN(mtu, bufroom);
}

struct axl_stack *axl_stack_create(const struct axl_stack_cfg *cfg, struct axl_port *port,
                                   struct axl_pool *pool, uint64_t now_ns)
{
    if (!cfg || !port || !port->ops || !pool) {
        axl_err("stack", "create: missing configuration, port or pool");
        return NULL;
    }
    if (cfg->addr.addr == 0 || cfg->addr.prefix == 0 || cfg->addr.prefix > 32) {
        axl_err("stack", "create: need an IPv4 address with a prefix of 1..32");
        return NULL;
    }
    if (pool->headroom < AXL_STACK_HEADROOM_MIN) {
        axl_err("stack", "create: pool headroom %u < %u", pool->headroom, AXL_STACK_HEADROOM_MIN);
        return NULL;
    }
    if (port->max_frame && port->max_frame < AXL_ETH_HLEN + AXL_IPV4_MIN_MTU) {
        axl_err("stack", "create: port max_frame %u below the IPv4 minimum", port->max_frame);
        return NULL;
    }
    const uint8_t *mac = cfg->has_mac ? cfg->mac : port->mac;
    if (axl_eth_is_mcast(mac) || axl_eth_is_zero(mac)) {
        axl_err("stack", "create: MAC address must be unicast and non-zero");
        return NULL;
    }
    uint32_t mask = cfg->addr.prefix ? ~0u << (32 - cfg->addr.prefix) : 0;
    if (cfg->gw && ((cfg->gw ^ cfg->addr.addr) & mask)) {
        axl_err("stack", "create: gateway is not on the local subnet");
        return NULL;
    }

    struct axl_stack *s = calloc(1, sizeof(*s));
    if (!s) {
        axl_err("stack", "create: out of memory");
        return NULL;
    }
    s->port = port;
    s->pool = pool;
    memcpy(s->mac, mac, 6);
    s->addr = cfg->addr.addr;
    s->mask = mask;
    /* /31 (RFC 3021) and /32 have no directed broadcast. */
    s->netbcast = cfg->addr.prefix <= 30 ? (s->addr | ~mask) : 0;
    s->gw = cfg->gw;
    s->mtu = pick_mtu(cfg, port, pool);
    s->max_frame = port->max_frame ? port->max_frame : s->mtu + AXL_ETH_HLEN;
    s->now_ns = now_ns;
    if (s->mtu < AXL_IPV4_MIN_MTU) {
        axl_err("stack", "create: MTU %u below the IPv4 minimum of 68", s->mtu);
        free(s);
        return NULL;
    }
    uint64_t seed = cfg->seed;
    if (!seed && axl_random_bytes(&seed, sizeof(seed)) < 0) seed = axl_clock_ns();
    axl_rand_seed(&s->rng, seed);
    axl_tw_init(&s->tw, now_ns, AXL_TICK_NS);

    s->scratch = malloc(AXL_SCRATCH_LEN);
    if (!s->scratch || axl_arp_init(s, cfg->arp_timeout_ms) < 0 ||
        axl_ipv4_init(s, cfg->reasm_timeout_ms, cfg->reasm_max_bytes) < 0 || axl_udp_init(s) < 0 ||
        axl_tcp_init(s, cfg) < 0) {
        axl_err("stack", "create: out of memory");
        axl_stack_destroy(s);
        return NULL;
    }
    axl_icmp_init(s, cfg->icmp_rate);

    char ab[16], mb[18];
    axl_info("stack", "%s/%u mac %s mtu %u", axl_fmt_ipv4(s->addr, ab), cfg->addr.prefix,
             axl_fmt_mac(s->mac, mb), s->mtu);
    axl_arp_announce(s); /* RFC 5227 §2.3 */
    axl_stack_tx_flush(s);
    axl_port_flush(s->port);
    return s;
}

void axl_stack_destroy(struct axl_stack *s)
{
    if (!s) return;
    axl_tcp_fini(s); /* unaccepted connections are reset */
    axl_stack_tx_flush(s); /* what is queued still leaves */
    axl_port_flush(s->port);
    axl_udp_fini(s);
    axl_ipv4_fini(s);
    axl_arp_fini(s);
    free(s->scratch);
    free(s);
}
