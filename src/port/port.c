/* SPDX-License-Identifier: MIT */
/*
 * port.c - the backend-independent part of ports: spec parsing, the table of
 * backends, open/close with the pcap mirror, and the counter dump.
 *
 * Call chain: engine/supervisor -> axl_port_parse_spec -> axl_port_dev_setup
 * (once per device) -> axl_port_open (per queue) -> ops->open [+ axl_pcap_open]
 * ... axl_port_rx_burst/tx_burst (port.h, inline) ... axl_port_close.
 *
 * Spec grammar (see port.h):  KIND:NAME[:QUEUES][,key=value...]
 *  - KIND is one of afxdp, afpacket, tap, shm, mem.
 *  - For shm, NAME is a file-system path and may itself contain ':', so for
 *    shm everything after "shm:" up to the first ',' is the path and there is
 *    no QUEUES field (a wire has one queue). No kind's NAME can contain ','.
 *  - Common keys: mtu=576..9000, pcap=FILE, mac=aa:bb:cc:dd:ee:ff (unicast).
 *    Every other key=value goes, unchecked, into cfg->opts for the backend,
 *    which rejects keys it does not know. A key may appear once.
 */
#include "port/port.h"

#include <net/if.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/compiler.h"
#include "core/err.h"
#include "core/log.h"
#include "core/opts.h"
#include "port/dirport.h" /* axl_port_dir_ops: the director's replica end */
#include "port/pcap.h"

#define AXL_PORT_MAX_QUEUES 64u
#define AXL_PORT_MTU_MIN    576u  /* RFC 791: every host must accept 576-byte datagrams */
#define AXL_PORT_MTU_MAX    9000u /* jumbo frames */

static const struct {
    const char *kind;
    const struct axl_port_ops *ops;
    int is_netdev; /* NAME is a kernel interface name (IFNAMSIZ limit) */
} port_kinds[] = {
    {"afxdp", &axl_port_afxdp_ops, 1}, {"afpacket", &axl_port_afpacket_ops, 1},
    {"tap", &axl_port_tap_ops, 1},     {"shm", &axl_port_shm_ops, 0},
    {"mem", &axl_port_mem_ops, 0},
    {"dir", &axl_port_dir_ops, 0}, /* dirport.h: a replica behind the director */
};

static int kind_index(const char *kind, size_t len)
{
    for (size_t i = 0; i < AXL_ARRAY_SIZE(port_kinds); i++)
        if (strlen(port_kinds[i].kind) == len && memcmp(port_kinds[i].kind, kind, len) == 0)
            return (int)i;
    return -1;
}

const struct axl_port_ops *axl_port_find_ops(const char *kind)
{
    int i = kind ? kind_index(kind, strlen(kind)) : -1;
    return i < 0 ? NULL : port_kinds[i].ops;
}

static int spec_fail(char *err, size_t errlen, const char *fmt, ...) AXL_PRINTF(3, 4);
static int spec_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Decimal number of at most 9 digits, no sign, no spaces. 0 or -1. */
static int parse_dec(const char *s, size_t len, uint32_t *out)
{
    uint32_t v = 0;
    if (len == 0 || len > 9) return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (uint32_t)(s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Printable excerpt of user text for error messages (at most 64 bytes). */
#define EXCERPT(s, len) (int)((len) > 64 ? 64 : (len)), (s)

static int parse_option(struct axl_port_cfg *cfg, const char *opt, size_t len, size_t *used,
                        char *err, size_t errlen)
{
    const char *eq = memchr(opt, '=', len);
    size_t klen, vlen;
    const char *val;

    if (len == 0) return spec_fail(err, errlen, "empty option in port spec");
    if (!eq || eq == opt)
        return spec_fail(err, errlen, "option '%.*s' is not key=value", EXCERPT(opt, len));
    klen = (size_t)(eq - opt);
    val = eq + 1;
    vlen = len - klen - 1;
    if (vlen == 0)
        return spec_fail(err, errlen, "option '%.*s' has an empty value", EXCERPT(opt, klen));

    if (klen == 3 && memcmp(opt, "mtu", 3) == 0) {
        uint32_t mtu;
        if (cfg->mtu) return spec_fail(err, errlen, "duplicate option 'mtu'");
        if (parse_dec(val, vlen, &mtu) < 0 || mtu < AXL_PORT_MTU_MIN || mtu > AXL_PORT_MTU_MAX)
            return spec_fail(err, errlen, "bad mtu '%.*s' (expected %u..%u)", EXCERPT(val, vlen),
                             AXL_PORT_MTU_MIN, AXL_PORT_MTU_MAX);
        cfg->mtu = mtu;
        return 0;
    }
    if (klen == 4 && memcmp(opt, "pcap", 4) == 0) {
        if (cfg->pcap_path[0]) return spec_fail(err, errlen, "duplicate option 'pcap'");
        if (vlen >= sizeof(cfg->pcap_path))
            return spec_fail(err, errlen, "pcap path too long (max %zu bytes)",
                             sizeof(cfg->pcap_path) - 1);
        memcpy(cfg->pcap_path, val, vlen);
        cfg->pcap_path[vlen] = '\0';
        return 0;
    }
    if (klen == 3 && memcmp(opt, "mac", 3) == 0) {
        char mac[32];
        if (cfg->has_mac) return spec_fail(err, errlen, "duplicate option 'mac'");
        if (vlen >= sizeof(mac)) goto bad_mac;
        memcpy(mac, val, vlen);
        mac[vlen] = '\0';
        if (axl_parse_mac(mac, cfg->mac) < 0 || (cfg->mac[0] & 1) ||
            !(cfg->mac[0] | cfg->mac[1] | cfg->mac[2] | cfg->mac[3] | cfg->mac[4] | cfg->mac[5]))
            goto bad_mac;
        cfg->has_mac = 1;
        return 0;
    bad_mac:
        return spec_fail(err, errlen, "bad mac '%.*s' (expected unicast aa:bb:cc:dd:ee:ff)",
                         EXCERPT(val, vlen));
    }

    /* Backend option: "key\0value\0" into optbuf. */
    for (uint32_t i = 0; i < cfg->nopts; i++)
        if (strlen(cfg->opts[i].key) == klen && memcmp(cfg->opts[i].key, opt, klen) == 0)
            return spec_fail(err, errlen, "duplicate option '%.*s'", EXCERPT(opt, klen));
    if (cfg->nopts >= AXL_PORT_MAX_OPTS)
        return spec_fail(err, errlen, "too many options (max %d)", AXL_PORT_MAX_OPTS);
    if (*used + klen + vlen + 2 > sizeof(cfg->optbuf))
        return spec_fail(err, errlen, "options too long (max %zu bytes)", sizeof(cfg->optbuf));
    char *k = cfg->optbuf + *used;
    memcpy(k, opt, klen);
    k[klen] = '\0';
    char *v = k + klen + 1;
    memcpy(v, val, vlen);
    v[vlen] = '\0';
    *used += klen + vlen + 2;
    cfg->opts[cfg->nopts].key = k;
    cfg->opts[cfg->nopts].val = v;
    cfg->nopts++;
    return 0;
}

int axl_port_parse_spec(const char *spec, struct axl_port_cfg *cfg, char *err, size_t errlen)
{
    size_t klen, nlen, used = 0;
    const char *name, *p;
    int ki;

    memset(cfg, 0, sizeof(*cfg)); /* pool = NULL, queue = 0: the caller sets them */
    cfg->nqueues = 1;
    if (err && errlen) err[0] = '\0';
    if (!spec || !*spec) return spec_fail(err, errlen, "empty port spec");

    klen = strcspn(spec, ":,");
    ki = kind_index(spec, klen);
    if (ki < 0)
        return spec_fail(err, errlen,
                         "unknown port kind '%.*s' (expected afxdp, afpacket, tap, shm or mem)",
                         EXCERPT(spec, klen));
    memcpy(cfg->kind, spec, klen); /* <= 8 bytes, known kind */
    if (spec[klen] != ':')
        return spec_fail(err, errlen, "missing ':NAME' after '%s' (expected KIND:NAME[:QUEUES])",
                         cfg->kind);

    name = spec + klen + 1;
    nlen = strcmp(cfg->kind, "shm") == 0 ? strcspn(name, ",") : strcspn(name, ":,");
    if (nlen == 0) return spec_fail(err, errlen, "empty port name");
    if (nlen >= sizeof(cfg->name))
        return spec_fail(err, errlen, "port name too long (max %zu bytes)", sizeof(cfg->name) - 1);
    if (port_kinds[ki].is_netdev && nlen >= IFNAMSIZ)
        return spec_fail(err, errlen, "interface name '%.*s' too long (max %d bytes)",
                         EXCERPT(name, nlen), IFNAMSIZ - 1);
    memcpy(cfg->name, name, nlen);
    cfg->name[nlen] = '\0';

    p = name + nlen;
    if (*p == ':') {
        size_t qlen = strcspn(p + 1, ",");
        uint32_t q;
        if (parse_dec(p + 1, qlen, &q) < 0 || q < 1 || q > AXL_PORT_MAX_QUEUES)
            return spec_fail(err, errlen, "bad queue count '%.*s' (expected 1..%u)",
                             EXCERPT(p + 1, qlen), AXL_PORT_MAX_QUEUES);
        cfg->nqueues = q;
        p += 1 + qlen;
    }
    while (*p == ',') {
        size_t olen = strcspn(p + 1, ",");
        if (parse_option(cfg, p + 1, olen, &used, err, errlen) < 0) return -1;
        p += 1 + olen;
    }
    return 0;
}

const char *axl_port_opt(const struct axl_port_cfg *cfg, const char *key)
{
    uint32_t n = cfg->nopts < AXL_PORT_MAX_OPTS ? cfg->nopts : AXL_PORT_MAX_OPTS;
    for (uint32_t i = 0; i < n; i++)
        if (cfg->opts[i].key && strcmp(cfg->opts[i].key, key) == 0) return cfg->opts[i].val;
    return NULL;
}

int axl_port_dev_setup(const struct axl_port_cfg *cfg)
{
    const struct axl_port_ops *ops = axl_port_find_ops(cfg->kind);
    if (!ops) {
        axl_err("port", "unknown port kind '%s'", cfg->kind);
        return AXL_EINVAL;
    }
    return ops->dev_setup ? ops->dev_setup(cfg) : 0;
}

void axl_port_dev_teardown(const struct axl_port_cfg *cfg)
{
    const struct axl_port_ops *ops = axl_port_find_ops(cfg->kind);
    if (ops && ops->dev_teardown) ops->dev_teardown(cfg);
}

/* Copy a cfg so that the option pointers that point into src->optbuf point
 * into dst->optbuf (the port keeps its own copy; the caller's may go away). */
static void cfg_copy(struct axl_port_cfg *dst, const struct axl_port_cfg *src)
{
    uintptr_t lo = (uintptr_t)src->optbuf, hi = lo + sizeof(src->optbuf);

    *dst = *src;
    if (dst->nopts > AXL_PORT_MAX_OPTS) dst->nopts = AXL_PORT_MAX_OPTS;
    for (uint32_t i = 0; i < dst->nopts; i++) {
        uintptr_t k = (uintptr_t)src->opts[i].key, v = (uintptr_t)src->opts[i].val;
        if (k >= lo && k < hi) dst->opts[i].key = dst->optbuf + (k - lo);
        if (v >= lo && v < hi) dst->opts[i].val = dst->optbuf + (v - lo);
    }
}

int axl_port_open(struct axl_port *p, const struct axl_port_cfg *cfg)
{
    const struct axl_port_ops *ops = axl_port_find_ops(cfg->kind);
    char path[AXL_PORT_NAME_MAX + 16];
    int ret;

    memset(p, 0, sizeof(*p));
    if (cfg->adopt && (!ops || !ops->handover_fd || !cfg->pool || cfg->queue >= cfg->nqueues)) {
        close(cfg->adopt_fd); /* nothing here can take it over: the caller opens afresh */
        return AXL_ENOTSUP;
    }
    if (!ops) {
        axl_err("port", "unknown port kind '%s'", cfg->kind);
        return AXL_EINVAL;
    }
    if (!ops->open || !ops->rx_burst || !ops->tx_burst || !ops->close) {
        axl_err("port", "port kind '%s' is not available in this build", cfg->kind);
        return AXL_ENOTSUP;
    }
    if (!cfg->pool || cfg->nqueues == 0 || cfg->queue >= cfg->nqueues) {
        axl_err("port", "%s:%s: bad configuration (pool %s, queue %u of %u)", cfg->kind, cfg->name,
                cfg->pool ? "set" : "missing", cfg->queue, cfg->nqueues);
        return AXL_EINVAL;
    }
    cfg_copy(&p->cfg, cfg);
    p->ops = ops;
    ret = ops->open(p, &p->cfg);
    if (ret < 0) {
        axl_err("port", "%s:%s queue %u: open failed: %s", cfg->kind, cfg->name, cfg->queue,
                axl_strerror(ret));
        p->ops = NULL;
        return ret;
    }
    if (cfg->pcap_path[0]) {
        if (cfg->nqueues > 1)
            snprintf(path, sizeof(path), "%s.q%u", cfg->pcap_path, cfg->queue);
        else
            snprintf(path, sizeof(path), "%s", cfg->pcap_path);
        ret = axl_pcap_open(&p->pcap, path, AXL_PCAP_SNAPLEN);
        if (ret < 0) {
            axl_err("port", "%s:%s: cannot open capture file %s: %s", cfg->kind, cfg->name, path,
                    axl_strerror(ret));
            goto err;
        }
        axl_info("port", "%s:%s queue %u: capturing to %s", cfg->kind, cfg->name, cfg->queue, path);
    }
    return 0;
err:
    p->ops->close(p);
    p->ops = NULL;
    return ret;
}

int axl_port_handover_fd(struct axl_port *p)
{
    return p->ops && p->ops->handover_fd ? p->ops->handover_fd(p) : -1;
}

void axl_port_close(struct axl_port *p)
{
    if (!p->ops) return;
    if (p->pcap) {
        axl_pcap_close(p->pcap); /* flushes */
        p->pcap = NULL;
    }
    p->ops->close(p);
    p->ops = NULL;
}

void axl_port_idle(struct axl_port *p)
{
    if (p->pcap) axl_pcap_flush(p->pcap);
}

/* Counter names: stable (scripts and tests parse them), nstat-like. */
static const struct {
    const char *name;
    size_t off;
} port_counters[] = {
#define C(field, name)                                                                             \
    {                                                                                              \
        name, offsetof(struct axl_port_stats, field)                                               \
    }
    C(rx_packets, "PortRxPackets"),
    C(rx_bytes, "PortRxBytes"),
    C(tx_packets, "PortTxPackets"),
    C(tx_bytes, "PortTxBytes"),
    C(rx_nobuf, "PortRxNoBufDrops"),
    C(rx_trunc, "PortRxTruncDrops"),
    C(rx_kernel_drops, "PortRxKernelDrops"),
    C(rx_csum_partial, "PortRxCsumPartial"),
    C(rx_errors, "PortRxErrors"),
    C(tx_full, "PortTxFull"),
    C(tx_errors, "PortTxErrors"),
    C(tx_too_big, "PortTxTooBig"),
    C(wakeups, "PortWakeups"),
    C(imp_lost, "PortImpLost"),
    C(imp_dup, "PortImpDuplicated"),
    C(imp_reord, "PortImpReordered"),
    C(imp_corrupt, "PortImpCorrupted"),
    C(imp_delayed, "PortImpDelayed"),
    C(imp_ratelimited, "PortImpRateDrops"),
    C(link_drops, "PortLinkDownDrops"),
#undef C
};
_Static_assert(AXL_ARRAY_SIZE(port_counters) * sizeof(uint64_t) == sizeof(struct axl_port_stats),
               "every counter in struct axl_port_stats needs a name in port_counters");

void axl_port_stats_dump(const struct axl_port *p, FILE *out, const char *prefix)
{
    const char *sep = prefix && *prefix ? " " : "";
    if (!prefix) prefix = "";
    for (size_t i = 0; i < AXL_ARRAY_SIZE(port_counters); i++) {
        uint64_t v;
        memcpy(&v, (const char *)&p->stats + port_counters[i].off, sizeof(v));
        fprintf(out, "%s%s%s %llu\n", prefix, sep, port_counters[i].name, (unsigned long long)v);
    }
}

unsigned axl_port_stat_count(void)
{
    return (unsigned)AXL_ARRAY_SIZE(port_counters);
}

const char *axl_port_stat_name(unsigned i)
{
    return i < AXL_ARRAY_SIZE(port_counters) ? port_counters[i].name : NULL;
}

uint64_t axl_port_stat_value(const struct axl_port *p, unsigned i)
{
    uint64_t v = 0;
    if (p && i < AXL_ARRAY_SIZE(port_counters))
        memcpy(&v, (const char *)&p->stats + port_counters[i].off, sizeof(v));
    return v;
}
