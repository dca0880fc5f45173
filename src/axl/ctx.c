/* SPDX-License-Identifier: MIT */
/*
 * axl/ctx.c - the mode-independent half of the native API (include/axl/axl.h):
 * mode flags (axl_mode_opt), contexts, the handle table, the event FIFO and
 * axl_poll's loop; every call checks its handle here and then goes to the
 * backend of the context's mode (rtc.c or iso.c) through struct
 * axl_backend_ops (axl_priv.h).
 *
 * axl_poll: one backend work step (RTC: one engine iteration; isolated: drain
 * the channels), then hand out events. With nothing to hand out it repeats,
 * spinning while work happens and for AXL_POLL_SPIN_NS after the last work,
 * then asks the backend to sleep (RTC: poll(2) on the port until the next
 * timer; isolated: the channels' futex doorbells) for at most what is left
 * of the caller's timeout.
 *
 * Call chain: application -> axl_* here -> c->ops->* (rtc.c | iso.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axl/axl_priv.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/opts.h"
#include "port/port.h"

/** AXL_POLL_SPIN_NS / AXL_POLL_SPINS: axl_poll keeps polling without sleeping
 *  for this long (and at least this many empty steps) after the last work: a
 *  wake-up costs ~10 us on these machines (docs/ARCHITECTURE.md). */
#define AXL_POLL_SPIN_NS (50 * AXL_NS_PER_US)
#define AXL_POLL_SPINS   200u
/** AXL_POLL_PROBE: with an adaptive spin (ctx.spin_adapt), every this many
 *  sleeps one spin is full length again, to find out whether spinning pays
 *  (a spin that finds work restores the full length; one that finds none
 *  halves it, down to none). In isolated mode with the app and its replica
 *  on one CPU the replica cannot run while the app spins: every spin is
 *  wasted, and the app now sleeps as soon as it has nothing to do. */
#define AXL_POLL_PROBE 32u
/** AXL_EVQ_INIT: initial event FIFO capacity (grows by doubling). */
#define AXL_EVQ_INIT 1024u
/** Buffer-size limits of struct axl_config (those of the channel rings). */
#define AXL_BUF_DEFAULT  65536u
#define AXL_BUF_MIN      4096u
#define AXL_BUF_MAX      (16u << 20)
#define AXL_SOCKS_DEFAULT 4096u
#define AXL_SOCKS_MAX     65536u

static void errf(char *err, size_t errlen, const char *fmt, const char *a, const char *b)
{
    if (err && errlen) snprintf(err, errlen, fmt, a, b);
}

/* ---- mode flags ------------------------------------------------------------- */

int axl_mode_opt(struct axl_config *cfg, const char *name, const char *val, char *err,
                 size_t errlen)
{
    static const char *const names[] = {"stack", "port", "addr", "gw", "mtu", "mac", "pcap"};
    unsigned i;
    if (!cfg || !name) return 0;
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (!strcmp(name, names[i])) break;
    if (i == sizeof(names) / sizeof(names[0])) return 0;
    if (!val || !*val) {
        errf(err, errlen, "--%s needs a value%s", name, "");
        return -EINVAL;
    }
    if (!strcmp(name, "stack")) {
        if (strlen(val) >= 108) { /* sizeof(sun_path) */
            errf(err, errlen, "--stack: '%s' is too long for a Unix socket path%s", val, "");
            return -EINVAL;
        }
        cfg->stack = val;
    } else if (!strcmp(name, "port")) {
        struct axl_port_cfg *pc = calloc(1, sizeof(*pc));
        char e[200];
        if (!pc) return -ENOMEM;
        int rc = axl_port_parse_spec(val, pc, e, sizeof(e));
        uint32_t nq = pc->nqueues;
        free(pc);
        if (rc < 0) {
            errf(err, errlen, "--port: %s%s", e, "");
            return -EINVAL;
        }
        if (nq > 1) {
            errf(err, errlen, "--port: '%s': one queue only in run-to-completion mode%s", val, "");
            return -EINVAL;
        }
        cfg->port = val;
    } else if (!strcmp(name, "addr")) {
        struct axl_cidr cidr;
        if (axl_parse_cidr(val, &cidr) < 0 || cidr.prefix == 0 || cidr.addr == 0) {
            errf(err, errlen, "--addr: '%s' is not an IPv4 address with a prefix (a.b.c.d/len)%s",
                 val, "");
            return -EINVAL;
        }
        cfg->addr = val;
    } else if (!strcmp(name, "gw")) {
        uint32_t a;
        if (axl_parse_ipv4(val, &a) < 0) {
            errf(err, errlen, "--gw: '%s' is not an IPv4 address%s", val, "");
            return -EINVAL;
        }
        cfg->gw = val;
    } else if (!strcmp(name, "mtu")) {
        uint64_t v;
        if (axl_parse_u64(val, &v) < 0 || v < 576 || v > 9000) {
            errf(err, errlen, "--mtu: '%s' is not a number in 576..9000%s", val, "");
            return -EINVAL;
        }
        cfg->mtu = (uint32_t)v;
    } else if (!strcmp(name, "mac")) {
        uint8_t m[6];
        if (axl_parse_mac(val, m) < 0) {
            errf(err, errlen, "--mac: '%s' is not a MAC address (aa:bb:cc:dd:ee:ff)%s", val, "");
            return -EINVAL;
        }
        cfg->mac = val;
    } else { /* pcap */
        cfg->pcap = val;
    }
    return 1;
}

const char *axl_mode_help(void)
{
    return "Stack (one of two modes):\n"
           "  --stack PATH     isolated: attach to axl-stackd at PATH (default $" AXL_STACK_ENV
           ", else " AXL_STACK_DEFAULT ")\n"
           "  --port SPEC      run-to-completion: the stack runs inside this process on\n"
           "                   port SPEC (afxdp:IF, afpacket:IF, tap:NAME, shm:PATH; one queue)\n"
           "  --addr CIDR      run-to-completion: our IPv4 address and prefix\n"
           "  --gw IP          run-to-completion: default gateway\n"
           "  --mtu N          run-to-completion: IP MTU (576..9000, default: the port's)\n"
           "  --mac MAC        run-to-completion: MAC address override\n"
           "  --pcap FILE      run-to-completion: write every frame to FILE (pcap)\n";
}

/* ---- handles ------------------------------------------------------------------ */

axl_sock_t axl_sk_handle(const struct axl_ctx *c, const struct axl_sk *s)
{
    return (axl_sock_t)s->gen << 32 | (uint32_t)(s - c->sk + 1);
}

static struct axl_sk *sk_get(struct axl_ctx *c, axl_sock_t h)
{
    if (!c) return NULL;
    uint32_t lo = (uint32_t)h;
    if (lo == 0 || lo > c->max_socks) return NULL;
    struct axl_sk *s = &c->sk[lo - 1];
    if (!s->used || s->gen != (uint32_t)(h >> 32)) return NULL;
    return s;
}

struct axl_sk *axl_sk_alloc(struct axl_ctx *c)
{
    if (!c->nfree) return NULL;
    struct axl_sk *s = &c->sk[c->free_idx[--c->nfree]];
    uint32_t gen = s->gen;
    uint8_t in_dirty = s->in_dirty;
    struct axl_sk *dnext = s->dnext;
    memset(s, 0, sizeof(*s));
    s->gen = gen;
    s->in_dirty = in_dirty;
    s->dnext = dnext;
    s->used = 1;
    s->ctx = c;
    s->cid = UINT32_MAX;
    s->state = AXL_SS_OPEN;
    return s;
}

void axl_sk_free(struct axl_ctx *c, struct axl_sk *s)
{
    s->used = 0;
    s->pend = 0;
    s->user = NULL;
    if (++s->gen == 0) s->gen = 1; /* a handle is never 0 */
    c->free_idx[c->nfree++] = (uint32_t)(s - c->sk);
}

/* ---- events ----------------------------------------------------------------------- */

static int evq_grow(struct axl_ctx *c)
{
    uint32_t ncap = c->evq_cap * 2;
    struct axl_event *n = malloc((size_t)ncap * sizeof(*n));
    if (!n) return -ENOMEM;
    for (uint32_t i = 0; i < c->evq_len; i++)
        n[i] = c->evq[(c->evq_head + i) & (c->evq_cap - 1)];
    free(c->evq);
    c->evq = n;
    c->evq_cap = ncap;
    c->evq_head = 0;
    return 0;
}

static void ev_put(struct axl_ctx *c, axl_sock_t h, uint32_t type, int32_t status,
                   uint64_t cookie, uint32_t arg)
{
    if (c->evq_len == c->evq_cap && evq_grow(c) < 0) {
        c->ev_nomem++;
        return;
    }
    struct axl_event *e = &c->evq[(c->evq_head + c->evq_len++) & (c->evq_cap - 1)];
    memset(e, 0, sizeof(*e));
    e->type = type;
    e->status = status;
    e->sock = h;
    e->cookie = cookie;
    e->arg = arg;
}

void axl_sk_flush(struct axl_ctx *c, struct axl_sk *s)
{
    uint32_t p = s->pend;
    if (!p || !s->used) {
        s->pend = 0;
        return;
    }
    s->pend = 0;
    axl_sock_t h = axl_sk_handle(c, s);
    if (p & AXL_PEND_CONN) ev_put(c, h, AXL_EV_NEW_CONN, 0, 0, 0);
    if (p & AXL_PEND_DATA) ev_put(c, h, AXL_EV_NEW_DATA, 0, 0, c->ops->readable(c, s));
    if (p & AXL_PEND_ACKED) {
        uint64_t a = s->pend_acked;
        s->pend_acked = 0;
        ev_put(c, h, AXL_EV_DATA_ACKED, 0, 0, a > UINT32_MAX ? UINT32_MAX : (uint32_t)a);
    }
}

void axl_sk_pend(struct axl_ctx *c, struct axl_sk *s, uint32_t what)
{
    s->pend |= what;
    if (!s->in_dirty) {
        s->in_dirty = 1;
        s->dnext = c->dirty;
        c->dirty = s;
    }
}

void axl_sk_flush_all(struct axl_ctx *c)
{
    while (c->dirty) {
        struct axl_sk *s = c->dirty;
        c->dirty = s->dnext;
        s->dnext = NULL;
        s->in_dirty = 0;
        axl_sk_flush(c, s);
    }
}

void axl_ev_push(struct axl_ctx *c, struct axl_sk *s, uint32_t type, int32_t status,
                 uint64_t cookie, uint32_t arg)
{
    if (s) axl_sk_flush(c, s); /* keep the socket's order */
    ev_put(c, s ? axl_sk_handle(c, s) : AXL_SOCK_NONE, type, status, cookie, arg);
}

static int ev_take(struct axl_ctx *c, struct axl_event *ev, int max)
{
    int n = 0;
    while (n < max && c->evq_len) {
        struct axl_event *e = &c->evq[c->evq_head];
        c->evq_head = (c->evq_head + 1) & (c->evq_cap - 1);
        c->evq_len--;
        void *user = NULL;
        if (e->sock != AXL_SOCK_NONE) {
            struct axl_sk *s = sk_get(c, e->sock);
            if (!s) { /* the application closed it meanwhile */
                c->ev_stale++;
                continue;
            }
            user = s->user;
        }
        ev[n] = *e;
        ev[n].user = user;
        n++;
    }
    return n;
}

/* ---- contexts ------------------------------------------------------------------------ */

static int check_buf(uint32_t *v, const char *what, char *err, size_t errlen)
{
    if (*v == 0) *v = AXL_BUF_DEFAULT;
    if (*v < AXL_BUF_MIN || *v > AXL_BUF_MAX || (*v & (*v - 1))) {
        char b[16];
        snprintf(b, sizeof(b), "%u", *v);
        errf(err, errlen, "%s = %s: not a power of two in 4096..16777216", what, b);
        return -EINVAL;
    }
    return 0;
}

int axl_open(struct axl_ctx **out, const struct axl_config *cfg, char *err, size_t errlen)
{
    return axl_open_pool(out, cfg, 0, err, errlen);
}

int axl_open_pool(struct axl_ctx **out, const struct axl_config *cfg, uint32_t pool_bufs, char *err,
                  size_t errlen)
{
    if (err && errlen) err[0] = 0;
    if (!out || !cfg) {
        errf(err, errlen, "axl_open: no %s%s", out ? "config" : "output pointer", "");
        return -EINVAL;
    }
    *out = NULL;
    enum axl_mode mode = cfg->mode ? cfg->mode : (cfg->port ? AXL_MODE_RTC : AXL_MODE_ISOLATED);
    if (mode != AXL_MODE_RTC && mode != AXL_MODE_ISOLATED) {
        errf(err, errlen, "axl_open: unknown mode%s%s", "", "");
        return -EINVAL;
    }
    if (mode == AXL_MODE_RTC && cfg->stack) {
        errf(err, errlen, "--stack (isolated) and --port (run-to-completion) exclude each other%s%s",
             "", "");
        return -EINVAL;
    }
    if (mode == AXL_MODE_RTC && (!cfg->port || !cfg->addr)) {
        errf(err, errlen, "run-to-completion mode needs --port and --addr%s%s", "", "");
        return -EINVAL;
    }
    if (mode == AXL_MODE_ISOLATED && (cfg->port || cfg->addr || cfg->gw || cfg->mac || cfg->pcap ||
                                      cfg->mtu)) {
        errf(err, errlen,
             "--port/--addr/--gw/--mtu/--mac/--pcap are for run-to-completion mode; the "
             "isolated stack has its own (%s%s)",
             cfg->stack ? "--stack given" : "no --port", "");
        return -EINVAL;
    }
    uint32_t rx = cfg->rx_size, tx = cfg->tx_size, ms = cfg->max_socks;
    if (check_buf(&rx, "rx_size", err, errlen) < 0 || check_buf(&tx, "tx_size", err, errlen) < 0)
        return -EINVAL;
    if (ms == 0) ms = AXL_SOCKS_DEFAULT;
    if (ms > AXL_SOCKS_MAX) {
        errf(err, errlen, "max_socks: at most 65536%s%s", "", "");
        return -EINVAL;
    }
    ms = (ms + 63) & ~63u; /* whole bitmap words (the channel's rule) */

    struct axl_ctx *c = calloc(1, sizeof(*c));
    if (!c) goto nomem;
    c->mode = mode;
    c->pool_bufs = pool_bufs;
    c->rx_size = rx;
    c->tx_size = tx;
    c->max_socks = ms;
    c->sk = calloc(ms, sizeof(*c->sk));
    c->free_idx = malloc((size_t)ms * sizeof(uint32_t));
    c->evq_cap = AXL_EVQ_INIT;
    c->evq = malloc((size_t)c->evq_cap * sizeof(*c->evq));
    if (!c->sk || !c->free_idx || !c->evq) goto nomem;
    for (uint32_t i = 0; i < ms; i++) {
        c->sk[i].gen = 1;
        c->free_idx[i] = ms - 1 - i; /* slot 0 first */
    }
    c->nfree = ms;
    int rc = mode == AXL_MODE_RTC ? axl_rtc_open(c, cfg, err, errlen)
                                  : axl_iso_open(c, cfg, err, errlen);
    if (rc < 0) {
        free(c->sk);
        free(c->free_idx);
        free(c->evq);
        free(c);
        return rc;
    }
    *out = c;
    return 0;
nomem:
    if (c) {
        free(c->sk);
        free(c->free_idx);
        free(c->evq);
        free(c);
    }
    errf(err, errlen, "axl_open: out of memory%s%s", "", "");
    return -ENOMEM;
}

void axl_close_ctx(struct axl_ctx *c)
{
    if (!c) return;
    for (uint32_t i = 0; i < c->max_socks; i++) {
        struct axl_sk *s = &c->sk[i];
        if (!s->used) continue;
        c->ops->close(c, s, 0);
        axl_sk_free(c, s);
    }
    c->ops->destroy(c);
    free(c->sk);
    free(c->free_idx);
    free(c->evq);
    free(c);
}

enum axl_mode axl_ctx_mode(const struct axl_ctx *c)
{
    return c ? c->mode : 0;
}
uint32_t axl_ctx_replicas(const struct axl_ctx *c)
{
    return c ? c->nreplicas : 0;
}
uint32_t axl_ctx_addr(const struct axl_ctx *c)
{
    return c ? c->addr : 0;
}

/* ---- the event loop ---------------------------------------------------------------- */

int axl_poll(struct axl_ctx *c, struct axl_event *ev, int max, int64_t timeout_ns)
{
    if (!c || !ev || max <= 0) return -EINVAL;
    uint64_t start = 0, idle_since = 0;
    uint32_t idle = 0, spins = AXL_POLL_SPINS;
    uint64_t spin_ns = AXL_POLL_SPIN_NS;
    if (c->spin_adapt) {
        spins = 1;
        spin_ns = c->spin_sleeps >= AXL_POLL_PROBE ? AXL_POLL_SPIN_NS : c->spin_ns;
    }
    for (;;) {
        int w = c->ops->work(c);
        axl_sk_flush_all(c);
        int n = ev_take(c, ev, max);
        if (n > 0) return n;
        if (w < 0) return w;
        if (timeout_ns == 0) return 0;
        uint64_t now = axl_clock_ns();
        if (!start) start = now;
        if (timeout_ns > 0 && now - start >= (uint64_t)timeout_ns) return 0;
        if (w > 0) {
            if (idle && c->spin_adapt) { /* the spin found work: it pays */
                c->spin_ns = AXL_POLL_SPIN_NS;
                c->st_spin_hits++;
            }
            idle = 0;
            continue;
        }
        if (idle++ == 0) idle_since = now;
        if (idle < spins || now - idle_since < spin_ns) continue;
        if (c->spin_adapt) { /* a spin that found nothing: halve it (not after a probe) */
            int probe = c->spin_sleeps >= AXL_POLL_PROBE;
            if (!probe) c->spin_ns = c->spin_ns / 2 < AXL_NS_PER_US ? 0 : c->spin_ns / 2;
            c->spin_sleeps = probe ? 0 : c->spin_sleeps + 1;
            spin_ns = c->spin_sleeps >= AXL_POLL_PROBE ? AXL_POLL_SPIN_NS : c->spin_ns;
        }
        uint64_t left = timeout_ns < 0 ? UINT64_MAX : start + (uint64_t)timeout_ns - now;
        c->st_sleeps++;
        c->ops->sleep(c, left);
        idle = 0;
    }
}

void axl_flush(struct axl_ctx *c)
{
    if (c) c->ops->flush(c);
}

int axl_ctx_fd(struct axl_ctx *c)
{
    return c ? c->ops->fd(c) : -1;
}

/* ---- sockets ------------------------------------------------------------------------- */

int axl_socket(struct axl_ctx *c, enum axl_sock_type type, axl_sock_t *out)
{
    if (!c || !out) return -EINVAL;
    if (type != AXL_TCP && type != AXL_UDP) return -EPROTONOSUPPORT;
    struct axl_sk *s = axl_sk_alloc(c);
    if (!s) return -EMFILE;
    s->type = (uint8_t)type;
    s->optval[AXL_SO_LINGER] = 0xffffffffu;
    int rc = c->ops->socket(c, s);
    if (rc < 0) {
        axl_sk_free(c, s);
        return rc;
    }
    *out = axl_sk_handle(c, s);
    return 0;
}

int axl_bind(struct axl_ctx *c, axl_sock_t h, uint32_t addr, uint16_t port)
{
    struct axl_sk *s = sk_get(c, h);
    if (!s) return -EBADF;
    if (s->state != AXL_SS_OPEN || s->lport) return -EINVAL; /* bound already */
    if (addr && addr != c->addr) return -EADDRNOTAVAIL;
    return c->ops->bind(c, s, addr, port);
}

int axl_listen(struct axl_ctx *c, axl_sock_t h, uint32_t backlog)
{
    struct axl_sk *s = sk_get(c, h);
    if (!s) return -EBADF;
    if (s->type != AXL_TCP) return -EOPNOTSUPP;
    if (s->state == AXL_SS_LISTEN) return 0;
    if (s->state != AXL_SS_OPEN) return -EINVAL;
    if (!s->lport) return -EDESTADDRREQ; /* bind a port first */
    return c->ops->listen(c, s, backlog);
}

int axl_accept(struct axl_ctx *c, axl_sock_t lh, axl_sock_t *out)
{
    struct axl_sk *l = sk_get(c, lh);
    if (!l) return -EBADF;
    if (!out) return -EINVAL;
    if (l->state != AXL_SS_LISTEN) return -EINVAL;
    struct axl_sk *n = axl_sk_alloc(c);
    if (!n) return -EMFILE;
    n->type = AXL_TCP;
    n->optval[AXL_SO_LINGER] = 0xffffffffu;
    int rc = c->ops->accept(c, l, n);
    if (rc < 0) {
        axl_sk_free(c, n);
        return rc;
    }
    *out = axl_sk_handle(c, n);
    return 0;
}

int axl_connect(struct axl_ctx *c, axl_sock_t h, uint32_t addr, uint16_t port)
{
    struct axl_sk *s = sk_get(c, h);
    if (!s) return -EBADF;
    if (s->type == AXL_TCP) {
        if (s->state == AXL_SS_CONNECTING) return -EALREADY;
        if (s->state != AXL_SS_OPEN) return -EISCONN;
        if (!addr || !port) return -EINVAL;
    }
    return c->ops->connect(c, s, addr, port);
}

int axl_shutdown(struct axl_ctx *c, axl_sock_t h, int how)
{
    struct axl_sk *s = sk_get(c, h);
    if (!s) return -EBADF;
    if (how < 0 || how > 2) return -EINVAL;
    if (s->type != AXL_TCP) return -EOPNOTSUPP;
    if (s->state != AXL_SS_ESTABLISHED && s->state != AXL_SS_CONNECTING &&
        s->state != AXL_SS_CLOSED)
        return -ENOTCONN;
    return c->ops->shutdown(c, s, how);
}

static int do_close(struct axl_ctx *c, axl_sock_t h, int abort)
{
    struct axl_sk *s = sk_get(c, h);
    if (!s) return -EBADF;
    c->ops->close(c, s, abort);
    axl_sk_free(c, s);
    return 0;
}

int axl_close(struct axl_ctx *c, axl_sock_t h)
{
    return do_close(c, h, 0);
}

int axl_abort(struct axl_ctx *c, axl_sock_t h)
{
    return do_close(c, h, 1);
}

void axl_set_user(struct axl_ctx *c, axl_sock_t h, void *user)
{
    struct axl_sk *s = sk_get(c, h);
    if (s) s->user = user;
}

void *axl_get_user(struct axl_ctx *c, axl_sock_t h)
{
    struct axl_sk *s = sk_get(c, h);
    return s ? s->user : NULL;
}

int axl_setopt(struct axl_ctx *c, axl_sock_t h, enum axl_sockopt opt, uint32_t val)
{
    struct axl_sk *s = sk_get(c, h);
    if (!s) return -EBADF;
    switch (opt) {
    case AXL_SO_NODELAY:
    case AXL_SO_KEEPALIVE:
    case AXL_SO_REUSEADDR:
    case AXL_SO_REUSEPORT:
        if (val > 1) return -EINVAL;
        break;
    case AXL_SO_KEEPIDLE:
    case AXL_SO_KEEPINTVL:
        if (val < 1 || val > 32767) return -EINVAL;
        break;
    case AXL_SO_KEEPCNT:
        if (val < 1 || val > 127) return -EINVAL;
        break;
    case AXL_SO_LINGER:
        if (val > 65535 && val != 0xffffffffu) return -EINVAL;
        break;
    default:
        return -ENOPROTOOPT;
    }
    if (s->type != AXL_TCP && opt != AXL_SO_REUSEADDR && opt != AXL_SO_REUSEPORT)
        return -ENOPROTOOPT;
    int rc = c->ops->setopt(c, s, opt, val);
    if (rc < 0) return rc;
    s->opts_set |= 1u << opt;
    s->optval[opt] = val;
    return 0;
}

int axl_sock_info(struct axl_ctx *c, axl_sock_t h, struct axl_sock_info *info)
{
    struct axl_sk *s = sk_get(c, h);
    if (!s) return -EBADF;
    if (!info) return -EINVAL;
    memset(info, 0, sizeof(*info));
    info->type = s->type;
    info->state = s->state;
    info->laddr = s->laddr ? s->laddr : c->addr;
    info->lport = s->lport;
    info->raddr = s->raddr;
    info->rport = s->rport;
    info->error = s->error;
    info->replica = s->state == AXL_SS_LISTEN ? 0 : s->rep;
    info->tx_shut = s->wr_shut;
    return c->ops->info(c, s, info);
}

/* ---- data -------------------------------------------------------------------------- */

int axl_send(struct axl_ctx *c, axl_sock_t h, const void *buf, uint32_t len)
{
    struct axl_sk *s = sk_get(c, h);
    if (!s) return -EBADF;
    if (s->type != AXL_TCP) return -EOPNOTSUPP;
    if (!buf && len) return -EINVAL;
    if (s->wr_shut) return -EPIPE;
    if (len == 0) return 0;
    return c->ops->send(c, s, buf, len);
}

int axl_recv(struct axl_ctx *c, axl_sock_t h, void *buf, uint32_t len)
{
    struct axl_sk *s = sk_get(c, h);
    if (!s) return -EBADF;
    if (s->type != AXL_TCP) return -EOPNOTSUPP;
    if (!buf || !len) return -EINVAL;
    if (s->rd_shut) return 0;
    return c->ops->recv(c, s, buf, len);
}

int axl_recv_peek(struct axl_ctx *c, axl_sock_t h, struct axl_iov *iov, unsigned n)
{
    struct axl_sk *s = sk_get(c, h);
    if (!s) return -EBADF;
    if (s->type != AXL_TCP) return -EOPNOTSUPP;
    if (!iov || !n) return -EINVAL;
    for (unsigned i = 0; i < n; i++)
        iov[i] = (struct axl_iov){NULL, 0};
    if (s->rd_shut) return 0;
    return c->ops->recv_peek(c, s, iov, n);
}

int axl_recv_done(struct axl_ctx *c, axl_sock_t h, uint32_t n)
{
    struct axl_sk *s = sk_get(c, h);
    if (!s) return -EBADF;
    if (s->type != AXL_TCP) return -EOPNOTSUPP;
    if (n == 0) return 0;
    return c->ops->recv_done(c, s, n);
}

int axl_mem_alloc(struct axl_ctx *c, size_t size, struct axl_mem **out)
{
    if (!c || !out || !size) return -EINVAL;
    return c->ops->mem_alloc(c, size, out);
}

void *axl_mem_base(const struct axl_mem *m)
{
    return m ? m->base : NULL;
}

size_t axl_mem_size(const struct axl_mem *m)
{
    return m ? m->size : 0;
}

void axl_mem_free(struct axl_ctx *c, struct axl_mem *m)
{
    if (c && m) c->ops->mem_free(c, m);
}

int axl_send_mem(struct axl_ctx *c, axl_sock_t h, struct axl_mem *m, uint64_t off, uint32_t len,
                 uint64_t cookie)
{
    struct axl_sk *s = sk_get(c, h);
    if (!s) return -EBADF;
    if (s->type != AXL_TCP) return -EOPNOTSUPP;
    if (!m || !len || off > m->size || len > m->size - off) return -EINVAL;
    if (s->wr_shut) return -EPIPE;
    return c->ops->send_mem(c, s, m, off, len, cookie);
}

int axl_obj_register(struct axl_ctx *c, struct axl_mem *m, uint64_t off, uint32_t len, int copy,
                     struct axl_obj **out)
{
    if (!c || !m || !out || !len || off > m->size || len > m->size - off) return -EINVAL;
    if (copy != 0 && copy != 1) return -EINVAL;
    return c->ops->obj_register(c, m, off, len, copy, out);
}

int axl_send_obj(struct axl_ctx *c, axl_sock_t h, struct axl_obj *o, uint64_t cookie)
{
    struct axl_sk *s = sk_get(c, h);
    if (!s) return -EBADF;
    if (s->type != AXL_TCP) return -EOPNOTSUPP;
    if (!o) return -EINVAL;
    if (s->wr_shut) return -EPIPE;
    return c->ops->send_obj(c, s, o, cookie);
}

void axl_obj_free(struct axl_ctx *c, struct axl_obj *o)
{
    if (c && o) c->ops->obj_free(c, o);
}

int axl_sendto(struct axl_ctx *c, axl_sock_t h, const void *buf, uint32_t len, uint32_t addr,
               uint16_t port)
{
    struct axl_sk *s = sk_get(c, h);
    if (!s) return -EBADF;
    if (s->type != AXL_UDP) return -EOPNOTSUPP;
    if (!buf && len) return -EINVAL;
    if (len > 65507) return -EMSGSIZE;
    if (!addr && !port) {
        if (!s->raddr) return -EDESTADDRREQ;
        addr = s->raddr;
        port = s->rport;
    } else if (!addr || !port) {
        return -EINVAL;
    }
    return c->ops->sendto(c, s, buf, len, addr, port);
}

int axl_recvfrom(struct axl_ctx *c, axl_sock_t h, void *buf, uint32_t len, uint32_t *addr,
                 uint16_t *port)
{
    struct axl_sk *s = sk_get(c, h);
    if (!s) return -EBADF;
    if (s->type != AXL_UDP) return -EOPNOTSUPP;
    if (!buf && len) return -EINVAL;
    return c->ops->recvfrom(c, s, buf, len, addr, port);
}

struct axl_sk *axl_sk_lookup(struct axl_ctx *c, axl_sock_t h)
{
    return sk_get(c, h);
}

int axl_stat(struct axl_ctx *c, const char *name, uint64_t *val)
{
    if (!c || !name || !val) return -EINVAL;
    if (!strcmp(name, "AxlEventsStale")) {
        *val = c->ev_stale;
        return 0;
    }
    if (!strcmp(name, "AxlEventsLostNoMem")) {
        *val = c->ev_nomem;
        return 0;
    }
    if (!strcmp(name, "AxlPollSleeps")) {
        *val = c->st_sleeps;
        return 0;
    }
    if (!strcmp(name, "AxlPollSpinHits")) {
        *val = c->st_spin_hits;
        return 0;
    }
    return c->ops->stat(c, name, val);
}
