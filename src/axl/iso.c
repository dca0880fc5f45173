/* SPDX-License-Identifier: MIT */
/*
 * axl/iso.c - the isolated backend of the native API (include/axl/axl.h):
 * the application attaches to a running axl-stackd and talks to each of its
 * replicas over a shared-memory channel (src/chan, app side). The stack runs
 * in other, protected processes; while both sides are busy no system call is
 * made (commands, events, byte rings and hints are shared memory; a doorbell
 * rings only when the peer sleeps).
 *
 * Attach (axl_iso_open): connect to the control socket (cfg->stack, else
 * $AXL_STACK, else AXL_STACK_DEFAULT), "AXL1 attach NAME" (ctl_proto.h); the
 * "ok" line brings one SOCK_SEQPACKET socket per running replica
 * (SCM_RIGHTS), the body says which replica each is. On each the replica
 * sends the channel HELLO (two memfds and its bell eventfd): mapped with
 * axl_chan_recv_hello_bell / axl_chan_map_app / axl_chan_app_set_bell. The
 * control connection stays open: it is the session (closing it detaches),
 * and carries "reattach I", "listen PROTO PORT", "unlisten ..." and "stats".
 *
 * Sockets (NEAT's replicated listeners):
 *   TCP listener   a channel socket on EVERY replica (OPEN, BIND, LISTEN,
 *                  each waited for); NEW_CONN from any replica queues the
 *                  pre-mapped PENDING socket on the API listener (FIFO);
 *                  axl_accept takes one and issues ACCEPT (no wait); events
 *                  that came before the accept (FIN, reset) are replayed.
 *                  The supervisor is told "listen tcp PORT" (axlctl shows it).
 *   TCP connect    one replica, round-robin over the running ones (a parked
 *                  replica behind the director, axlctl scale, refuses with
 *                  EADDRNOTAVAIL: the connect goes on to the next one): OPEN
 *                  (waited for: it names the socket), [BIND], CONNECT; its
 *                  DONE is the CONNECTED event.
 *   UDP            bound on every replica (one port: picked here when 0, so
 *                  that it is the same everywhere); datagrams are read from
 *                  any replica's RX ring (round-robin), sent from the replica
 *                  the last datagram came from (else round-robin), as records
 *                  (abi.h struct axl_chan_dgram) in the TX ring.
 *   close          lazy: CLOSE is queued and the handle is free at once; the
 *                  channel socket is forgotten at its DONE(CLOSE). Unread
 *                  received bytes make it an abort (RFC 1122 §4.2.2.13), as
 *                  AXL_SO_LINGER 0 does.
 *
 * Data: axl_send copies into the socket's TX ring and queues SEND;
 * axl_recv_peek shows the RX ring in place, axl_recv_done commits (a hint
 * tells the stack when it had found the ring full, abi.h RX_WANT);
 * axl_send_mem = SEND|REG from a sealed memfd registered with every replica
 * (REGMEM on the channel socket); axl_obj_register = OBJ_REG on every
 * replica (object id per replica), axl_send_obj = OBJ_SEND.
 *
 * Control commands that must answer (OPEN, BIND, LISTEN, OBJ_REG) are waited
 * for: the channel's event queue is drained meanwhile (other events are
 * translated and queued for axl_poll as usual), at most ISO_CMD_WAIT_NS, then
 * -ETIMEDOUT with a log line. Commands the queue cannot take wait in a
 * private overflow FIFO (order kept) and go at the next flush.
 *
 * Replica death: its channel socket hangs up (looked at every ISO_CHECK_NS
 * while busy, after every sleep) or the stack marks the channel DOWN. Its
 * connections get REMOTE_CLOSED + CLEANUP with -ECONNABORTED (CONNECTED
 * with it while connecting), its pending accepts go, the channel is unmapped;
 * the application keeps working on the other replicas. From axl_poll the
 * library then asks "AXL1 reattach I" with a growing back-off
 * (ISO_RETRY_MIN_NS .. ISO_RETRY_MAX_NS) until the restarted replica answers,
 * maps the new channel, registers the memory and objects again and re-creates
 * the listeners and UDP sockets on it.
 *
 * Sleeping: axl_poll (ctx.c) spins, then iso_sleep sets every channel's sleep
 * word (axl_chan_app_prepare_sleep) and waits in futex_waitv on the
 * replicas' activity words, at most ISO_SLEEP_MAX_NS (a dead replica moves
 * no word: the library looks at the sockets after each sleep). The replicas
 * wake us with FUTEX_WAKE; we ring their bell eventfd. axl_ctx_fd: -1 (a
 * futex cannot be polled).
 *
 * Validation: everything the replicas write is checked by src/chan (events,
 * slots, ring indices) and here (datagram records, socket ids, generations,
 * the listener an event names); violations are counted (AxlIsoViolations) and
 * a channel with more than ISO_VIOL_MAX is dropped like a dead replica.
 *
 * Call chain: ctx.c axl_open -> axl_iso_open -> ctl_request("attach") ->
 * rep_map (HELLO); axl_poll -> iso_work -> drain (axl_chan_app_poll_event ->
 * on_event -> axl_ev_push / axl_sk_pend) + scan + kick, check_fds ->
 * rep_down / reattach; API calls -> iso_* -> cmd_put -> axl_chan_app_submit.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "axl/axl_priv.h"
#include "chan/chan.h"
#include "chan/doorbell.h"
#include "core/clock.h"
#include "core/compiler.h"
#include "core/err.h"
#include "core/log.h"
#include "core/opts.h"
#include "core/rand.h"
#include "stackd/ctl_proto.h"

/** ISO_CTL_WAIT_MS: longest wait for an answer of axl-stackd's control socket. */
#define ISO_CTL_WAIT_MS 5000
/** ISO_HELLO_WAIT_NS: longest wait for a replica's HELLO after (re)attach. */
#define ISO_HELLO_WAIT_NS (5 * AXL_NS_PER_S)
/** ISO_CMD_WAIT_NS: longest wait for the DONE of a control command. */
#define ISO_CMD_WAIT_NS (5 * AXL_NS_PER_S)
/** ISO_CHECK_NS: while busy, the channel sockets are looked at this often
 *  (one poll(2) with timeout 0): a replica that died hangs its socket up. */
#define ISO_CHECK_NS (50 * AXL_NS_PER_MS)
/** ISO_CHECK_FAST_NS: the same while a replica is being reattached. */
#define ISO_CHECK_FAST_NS (1 * AXL_NS_PER_MS)
/** ISO_SLEEP_MAX_NS: longest single sleep (then the sockets are looked at):
 *  an idle app wakes 4 times a second, and sees a dead replica within it. */
#define ISO_SLEEP_MAX_NS (250 * AXL_NS_PER_MS)
/** ISO_RETRY_MIN_NS / ISO_RETRY_MAX_NS: reattach back-off bounds. */
#define ISO_RETRY_MIN_NS (5 * AXL_NS_PER_MS)
#define ISO_RETRY_MAX_NS (500 * AXL_NS_PER_MS)
/** ISO_DRAIN_NS: on axl_close_ctx, how long closed connections may take to
 *  finish before the session ends (its end aborts what is left). */
#define ISO_DRAIN_NS (200 * AXL_NS_PER_MS)
/** ISO_EVENTS_PER_STEP: events taken from one channel per work step. */
#define ISO_EVENTS_PER_STEP 1024u
/** ISO_VIOL_MAX: malformed events after which a channel is given up. */
#define ISO_VIOL_MAX 64u
/** ISO_BACKLOG_DEFAULT: listen backlog when the application gives 0. */
#define ISO_BACKLOG_DEFAULT 128u
/** ISO_EPHEMERAL_LO/HI: UDP ports picked for unbound sockets (RFC 6335 §6). */
#define ISO_EPHEMERAL_LO 49152u
#define ISO_EPHEMERAL_HI 65535u

#define NONE AXL_CHAN_SOCK_NONE

/* Cookies of our own commands (user cookies travel only with SEND|REG and
 * OBJ_SEND, whose answers are told apart by their opcode). */
#define CK_SYNC   (1ull << 63) /* | sequence: a waited-for command */
#define CK_IGNORE (1ull << 62) /* nothing to do with the DONE but errors */

/* What a channel socket is to us. */
enum cs_kind {
    CS_FREE = 0,
    CS_OPENING, /* OPEN sent, DONE being waited for */
    CS_LISTEN,  /* a replica's copy of an API listener */
    CS_PENDING, /* announced by NEW_CONN, queued on the API listener */
    CS_CONN,    /* an API connection */
    CS_UDP,     /* a replica's copy of an API UDP socket */
    CS_ORPHAN,  /* closed by us: waiting for DONE(CLOSE) */
};

struct iso_cs {
    struct axl_chan_asock as; /* rings (attached sockets) */
    uint32_t gen;
    uint32_t owner;     /* API slot index + 1, 0 = none */
    uint32_t owner_gen; /* the API slot's generation then */
    uint32_t lsn;       /* PENDING: the listening channel socket (ACCEPT's arg) */
    int32_t status;     /* PENDING: CLEANUP / REMOTE_CLOSED status before the accept */
    uint8_t kind;       /* enum cs_kind */
    uint8_t attached;   /* `as` is valid */
    uint8_t rclosed, dead; /* PENDING: REMOTE_CLOSED / CLEANUP before the accept */
};

enum rep_state { REP_DOWN = 0, REP_HELLO, REP_UP };

struct iso_rep {
    uint32_t idx;
    int state; /* enum rep_state */
    int fd;    /* channel socket, -1 when none */
    uint32_t queue, gen, epoch;
    struct axl_chan_app a;
    struct iso_cs *cs; /* a.lay.p.max_socks */
    struct axl_chan_cmd *ovf; /* commands the queue could not take (FIFO) */
    uint32_t ovf_head, ovf_n, ovf_cap;
    int kick;
    uint64_t viol_seen;
    uint64_t retry_at, backoff, hello_deadline;
};

/* Per API slot: the accept FIFO of a listener and UDP bookkeeping. */
struct iso_x {
    uint64_t *acc; /* gen << 32 | rep << 24 | id */
    uint32_t acc_head, acc_n, acc_cap;
    uint32_t udp_rr;
    uint8_t registered; /* "listen PROTO PORT" told to the supervisor */
    uint8_t retry;      /* connect: EADDRNOTAVAIL from a parked replica, try the next */
    uint8_t tries;      /* replicas the connect was refused by */
};

struct axl_obj {
    struct axl_mem *m;
    uint64_t off;
    uint32_t len;
    int copy;
    uint32_t id[AXL_ISO_MAX_REPLICAS];
    uint32_t epoch[AXL_ISO_MAX_REPLICAS];
};

struct iso {
    int ctl; /* the session (control connection), -1 once gone */
    char path[108];
    char name[40];
    uint32_t app_id;
    uint32_t nrep;
    struct iso_rep rep[AXL_ISO_MAX_REPLICAS];
    uint32_t rr;
    uint32_t nretry; /* sockets with iso_x.retry set (connect_retries) */
    uint64_t next_check;
    uint64_t seq;
    /* the one command being waited for */
    uint64_t w_cookie;
    int w_got;
    struct axl_chan_event w_ev;
    struct iso_x *x;
    struct axl_mem **mems;
    uint32_t nmem, capmem;
    struct axl_obj **objs;
    uint32_t nobj, capobj;
    struct axl_rand rnd;
    /* counters (axl_stat "AxlIso...") */
    uint64_t st_lost, st_reattach, st_reattach_fail, st_ovf, st_timeout, st_viol, st_aborted,
        st_cmds, st_conn_retry;
    uint64_t st_sleeps; /* futex_waitv / nanosleep calls of iso_sleep */
    uint64_t st_wakes;  /* replica wake-ups (bell writes) of channels since unmapped */
};

static struct iso *B(struct axl_ctx *c)
{
    return c->bk;
}

/* ---- control connection (ctl_proto.h) ------------------------------------------- */

static const struct {
    const char *name;
    int err;
} err_names[] = {
    {"EINVAL", EINVAL}, {"ENOENT", ENOENT}, {"ESRCH", ESRCH},   {"EPERM", EPERM},
    {"EALREADY", EALREADY}, {"EEXIST", EEXIST}, {"EMFILE", EMFILE}, {"EAGAIN", EAGAIN},
    {"EBUSY", EBUSY}, {"ENOBUFS", ENOBUFS}, {"EPROTO", EPROTO}, {"E2BIG", E2BIG},
    {"ENOMEM", ENOMEM}, {"EIO", EIO},
};

static int err_by_name(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof(err_names) / sizeof(err_names[0]); i++)
        if (strlen(err_names[i].name) == n && !memcmp(err_names[i].name, s, n))
            return -err_names[i].err;
    return -EIO;
}

/* Send one request and read its answer. 0 with *body (malloc'd, the lines
 * after "ok" up to the "." line; NULL allowed) and the fds that came with
 * it, or a negative errno: the answer's code (msg gets its text), -ETIMEDOUT,
 * -EPIPE (the connection is gone), -EPROTO (not the protocol). */
static int ctl_request(struct iso *b, const char *line, char **body, int *fds, int *nfds,
                       int maxfds, char *msg, size_t msglen)
{
    char req[AXL_CTL_LINE_MAX];
    int rc;
    if (body) *body = NULL;
    if (nfds) *nfds = 0;
    if (msg && msglen) msg[0] = 0;
    if (b->ctl < 0) return -EPIPE;
    int n = snprintf(req, sizeof(req), "%s %s\n", AXL_CTL_PROTO, line);
    if (n < 0 || (size_t)n >= sizeof(req)) return -E2BIG;
    for (int off = 0; off < n;) {
        ssize_t w = send(b->ctl, req + off, (size_t)(n - off), MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -EPIPE;
        off += (int)w;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    if (!buf) return -ENOMEM;
    uint64_t deadline = axl_clock_ns() + (uint64_t)ISO_CTL_WAIT_MS * AXL_NS_PER_MS;
    for (;;) {
        /* complete when the answer ends with a "." line */
        if (len >= 2 && buf[len - 1] == '\n' &&
            ((len == 2 && buf[0] == '.') || (len > 2 && buf[len - 2] == '.' && buf[len - 3] == '\n')))
            break;
        if (len + 1 >= cap) {
            if (cap >= (8u << 20)) {
                rc = -E2BIG;
                goto fail;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                rc = -ENOMEM;
                goto fail;
            }
            buf = nb;
            cap *= 2;
        }
        uint64_t now = axl_clock_ns();
        if (now >= deadline) {
            rc = -ETIMEDOUT;
            goto fail;
        }
        struct pollfd p = {.fd = b->ctl, .events = POLLIN};
        int pr = poll(&p, 1, (int)((deadline - now) / AXL_NS_PER_MS) + 1);
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) continue; /* the deadline decides */
        union {
            char b[CMSG_SPACE(sizeof(int) * AXL_ISO_MAX_REPLICAS)];
            struct cmsghdr al;
        } cm;
        struct iovec iov = {buf + len, cap - len - 1};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.b,
                            .msg_controllen = sizeof(cm.b)};
        ssize_t r = recvmsg(b->ctl, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        for (struct cmsghdr *ch = CMSG_FIRSTHDR(&mh); ch; ch = CMSG_NXTHDR(&mh, ch)) {
            if (ch->cmsg_level != SOL_SOCKET || ch->cmsg_type != SCM_RIGHTS) continue;
            int k = (int)((ch->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            for (int i = 0; i < k; i++) {
                int fd;
                memcpy(&fd, CMSG_DATA(ch) + (size_t)i * sizeof(int), sizeof(int));
                if (fds && nfds && *nfds < maxfds)
                    fds[(*nfds)++] = fd;
                else
                    close(fd); /* more than the answer may carry */
            }
        }
        if (r <= 0) {
            rc = -EPIPE;
            goto fail;
        }
        len += (size_t)r;
        buf[len] = 0;
    }
    buf[len] = 0;
    if (!strncmp(buf, "ok\n", 3)) {
        if (body) {
            memmove(buf, buf + 3, len - 3 + 1);
            buf[len - 3 - 2] = 0; /* drop ".\n" */
            *body = buf;
        } else {
            free(buf);
        }
        return 0;
    }
    if (!strncmp(buf, "err ", 4)) {
        const char *code = buf + 4, *sp = strchr(code, ' '), *nl = strchr(code, '\n');
        if (!sp || (nl && sp > nl)) sp = nl ? nl : code + strlen(code);
        rc = err_by_name(code, (size_t)(sp - code));
        if (msg && msglen) {
            const char *t = *sp == ' ' ? sp + 1 : sp;
            size_t tl = nl && nl > t ? (size_t)(nl - t) : strlen(t);
            snprintf(msg, msglen, "%.*s", (int)tl, t);
        }
        goto fail;
    }
    rc = -EPROTO;
fail:
    if (nfds && fds) { /* an answer that failed keeps no fd */
        for (int i = 0; i < *nfds; i++)
            close(fds[i]);
        *nfds = 0;
    }
    free(buf);
    return rc;
}

/* Value of key=... in a line ("" when missing). */
static int kv_get(const char *line, const char *key, char *out, size_t outlen)
{
    size_t kl = strlen(key);
    const char *p = line;
    while ((p = strstr(p, key))) {
        if ((p == line || p[-1] == ' ') && p[kl] == '=') {
            p += kl + 1;
            size_t n = strcspn(p, " \n");
            snprintf(out, outlen, "%.*s", (int)n, p);
            return 0;
        }
        p += kl;
    }
    if (outlen) out[0] = 0;
    return -1;
}

static int kv_u32(const char *line, const char *key, uint32_t *v)
{
    char b[32];
    uint64_t x;
    if (kv_get(line, key, b, sizeof(b)) < 0 || axl_parse_u64(b, &x) < 0 || x > UINT32_MAX)
        return -1;
    *v = (uint32_t)x;
    return 0;
}

/* Tell the supervisor about a listener (axlctl listeners); failures are only
 * logged: the replicas' listeners work without the registry entry. */
static void registry(struct axl_ctx *c, struct axl_sk *s, int add)
{
    struct iso *b = B(c);
    struct iso_x *x = &b->x[s - c->sk];
    char line[64], msg[160];
    if (add == x->registered || !s->lport) return;
    snprintf(line, sizeof(line), "%s %s %u", add ? "listen" : "unlisten",
             s->type == AXL_TCP ? "tcp" : "udp", s->lport);
    int rc = ctl_request(b, line, NULL, NULL, NULL, 0, msg, sizeof(msg));
    if (rc < 0 && b->ctl >= 0)
        axl_warn("axl", "axl-stackd: %s: %s", line, msg[0] ? msg : axl_strerror(rc));
    x->registered = (uint8_t)add;
}

/* ---- commands --------------------------------------------------------------------- */

static void cmd_put(struct iso *b, struct iso_rep *r, const struct axl_chan_cmd *cmd)
{
    b->st_cmds++;
    r->kick = 1;
    if (r->ovf_n == 0 && axl_chan_app_submit(&r->a, cmd, 1) == 1) return;
    if (r->ovf_n == r->ovf_cap) {
        uint32_t ncap = r->ovf_cap ? r->ovf_cap * 2 : 256;
        struct axl_chan_cmd *n = malloc((size_t)ncap * sizeof(*n));
        if (!n) {
            axl_err("axl", "replica %u: out of memory for a queued command (lost)", r->idx);
            return;
        }
        for (uint32_t i = 0; i < r->ovf_n; i++)
            n[i] = r->ovf[(r->ovf_head + i) % r->ovf_cap];
        free(r->ovf);
        r->ovf = n;
        r->ovf_cap = ncap;
        r->ovf_head = 0;
    }
    r->ovf[(r->ovf_head + r->ovf_n++) % r->ovf_cap] = *cmd;
    b->st_ovf++;
}

static void ovf_flush(struct iso_rep *r)
{
    while (r->ovf_n && axl_chan_app_submit(&r->a, &r->ovf[r->ovf_head], 1) == 1) {
        r->ovf_head = (r->ovf_head + 1) % r->ovf_cap;
        r->ovf_n--;
        r->kick = 1;
    }
}

static void rep_kick(struct iso_rep *r)
{
    if (r->state != REP_UP) return;
    if (r->ovf_n) ovf_flush(r);
    if (r->kick) {
        r->kick = 0;
        axl_chan_app_kick(&r->a);
    }
}

static void cmd_sock(struct iso *b, struct iso_rep *r, uint16_t op, uint16_t flags, uint32_t id,
                     uint32_t gen, uint32_t arg, uint32_t len, uint64_t cookie)
{
    struct axl_chan_cmd cmd;
    memset(&cmd, 0, sizeof(cmd));
    cmd.op = op;
    cmd.flags = flags;
    cmd.sock = id;
    cmd.gen = gen;
    cmd.arg = arg;
    cmd.len = len;
    cmd.cookie = cookie;
    cmd_put(b, r, &cmd);
}

static void cmd_addr(struct iso *b, struct iso_rep *r, uint16_t op, uint32_t id, uint32_t gen,
                     uint32_t addr, uint16_t port, uint64_t cookie)
{
    struct axl_chan_cmd cmd;
    memset(&cmd, 0, sizeof(cmd));
    cmd.op = op;
    cmd.sock = id;
    cmd.gen = gen;
    cmd.family = AXL_CHAN_AF_INET;
    cmd.port = htons(port);
    cmd.addr[0] = (uint8_t)(addr >> 24);
    cmd.addr[1] = (uint8_t)(addr >> 16);
    cmd.addr[2] = (uint8_t)(addr >> 8);
    cmd.addr[3] = (uint8_t)addr;
    cmd.cookie = cookie;
    cmd_put(b, r, &cmd);
}

static uint64_t sync_cookie(struct iso *b)
{
    return CK_SYNC | (++b->seq & 0x3fffffffffffffffull);
}

static struct iso_cs *cs_of(struct iso_rep *r, uint32_t id, uint32_t gen)
{
    if (r->state != REP_UP || id >= r->a.lay.p.max_socks) return NULL;
    struct iso_cs *k = &r->cs[id];
    return k->kind != CS_FREE && k->gen == gen ? k : NULL;
}

/* The API socket a channel socket belongs to (NULL: none any more). */
static struct axl_sk *owner_of(struct axl_ctx *c, const struct iso_cs *k)
{
    if (!k->owner || k->owner > c->max_socks) return NULL;
    struct axl_sk *s = &c->sk[k->owner - 1];
    return s->used && s->gen == k->owner_gen ? s : NULL;
}

static void cs_own(struct axl_ctx *c, struct iso_cs *k, struct axl_sk *s)
{
    k->owner = (uint32_t)(s - c->sk) + 1;
    k->owner_gen = s->gen;
}

/* Give a channel socket back: CLOSE (abort: reset) and forget it at its DONE. */
static void cs_close(struct iso *b, struct iso_rep *r, uint32_t id, int abort_)
{
    struct iso_cs *k = &r->cs[id];
    if (r->state != REP_UP || k->kind == CS_FREE || k->kind == CS_ORPHAN) return;
    cmd_sock(b, r, AXL_CHAN_OP_CLOSE, abort_ ? AXL_CHAN_CLOSEF_ABORT : 0, id, k->gen, 0, 0,
             CK_IGNORE);
    k->kind = CS_ORPHAN;
    k->owner = 0;
}

/* ---- replica channels --------------------------------------------------------------- */

static void rep_down(struct axl_ctx *c, struct iso_rep *r, const char *why);
static void on_event(struct axl_ctx *c, struct iso_rep *r, const struct axl_chan_event *e);

/* Take this channel's events (at most max). Returns how many. */
static uint32_t drain(struct axl_ctx *c, struct iso_rep *r, uint32_t max)
{
    struct iso *b = B(c);
    uint32_t n = 0;
    while (n < max && r->state == REP_UP) {
        struct axl_chan_event e;
        unsigned v;
        int rc = axl_chan_app_poll_event(&r->a, &e, &v);
        if (rc == 0) break;
        n++;
        if (rc < 0) {
            b->st_viol++;
            axl_warn("axl", "replica %u: malformed event (%s)", r->idx, axl_chan_viol_name(v));
            continue;
        }
        on_event(c, r, &e);
    }
    return n;
}

/* Is the replica's end still there? (poll with timeout 0; the channel socket
 * carries nothing but REGMEM answers, which are read where they are asked.) */
static int rep_alive(struct iso_rep *r)
{
    struct pollfd p = {.fd = r->fd, .events = POLLIN};
    if (r->fd < 0) return 0;
    if (poll(&p, 1, 0) <= 0) return 1;
    if (p.revents & (POLLHUP | POLLERR | POLLNVAL)) return 0;
    if (p.revents & POLLIN) { /* an unasked message, or the end of the stream */
        struct axl_chan_msg m;
        int fds[AXL_CHAN_MSG_FDS_MAX];
        int rc = axl_chan_msg_recv(r->fd, &m, fds);
        if (rc == -EPIPE || (rc < 0 && rc != AXL_EAGAIN && rc != AXL_EMALFORMED &&
                             rc != AXL_EVERSION))
            return 0;
        if (rc == 0)
            for (uint32_t i = 0; i < m.nfds; i++)
                close(fds[i]);
    }
    return 1;
}

/* Wait for the DONE with `cookie` on replica r, draining its events
 * meanwhile. 0 (*out = the DONE), -ECONNABORTED (the replica went), or
 * -ETIMEDOUT. */
static int wait_done(struct axl_ctx *c, struct iso_rep *r, uint64_t cookie,
                     struct axl_chan_event *out)
{
    struct iso *b = B(c);
    b->w_cookie = cookie;
    b->w_got = 0;
    rep_kick(r);
    uint64_t t0 = axl_clock_ns(), last_look = t0;
    uint32_t spins = 0;
    for (;;) {
        if (r->state != REP_UP) break;
        drain(c, r, UINT32_MAX);
        if (b->w_got) {
            b->w_cookie = 0;
            *out = b->w_ev;
            return 0;
        }
        if (r->state != REP_UP) break;
        rep_kick(r);
        uint64_t now = axl_clock_ns();
        if (now - last_look >= ISO_CHECK_NS) {
            last_look = now;
            if (!axl_chan_app_up(&r->a) || !rep_alive(r)) {
                rep_down(c, r, "its channel closed");
                break;
            }
        }
        if (now - t0 >= ISO_CMD_WAIT_NS) {
            b->w_cookie = 0;
            b->st_timeout++;
            axl_warn("axl", "replica %u did not answer a command within %llu ms", r->idx,
                     (unsigned long long)(ISO_CMD_WAIT_NS / AXL_NS_PER_MS));
            return -ETIMEDOUT;
        }
        if (++spins > 200) /* the replica is busy elsewhere or asleep: nap on its word */
            axl_chan_app_sleep(&r->a, AXL_NS_PER_MS);
    }
    b->w_cookie = 0;
    return -ECONNABORTED;
}

/* Submit one command that answers with a DONE and wait for it: its status,
 * or a wait error. *e gets the DONE. */
static int call(struct axl_ctx *c, struct iso_rep *r, struct axl_chan_cmd *cmd,
                struct axl_chan_event *e)
{
    struct iso *b = B(c);
    cmd->cookie = sync_cookie(b);
    cmd_put(b, r, cmd);
    int rc = wait_done(c, r, cmd->cookie, e);
    return rc < 0 ? rc : e->status;
}

/* OPEN a socket of `proto` on r: its id (>= 0) or negative errno. */
static int rep_open(struct axl_ctx *c, struct iso_rep *r, uint32_t proto, uint32_t *gen)
{
    struct axl_chan_cmd cmd;
    struct axl_chan_event e;
    memset(&cmd, 0, sizeof(cmd));
    cmd.op = AXL_CHAN_OP_OPEN;
    cmd.sock = NONE;
    cmd.arg = proto;
    int rc = call(c, r, &cmd, &e);
    if (rc < 0) return rc;
    if (e.sock >= r->a.lay.p.max_socks) {
        B(c)->st_viol++;
        return -EIO;
    }
    struct iso_cs *k = &r->cs[e.sock];
    memset(k, 0, sizeof(*k));
    k->kind = CS_OPENING;
    k->gen = e.gen;
    if (axl_chan_app_sock(&r->a, e.sock, e.gen, &k->as) == 0) k->attached = 1;
    if (!k->attached) {
        B(c)->st_viol++;
        cs_close(B(c), r, e.sock, 1);
        return -EIO;
    }
    *gen = e.gen;
    return (int)e.sock;
}

static int rep_bind(struct axl_ctx *c, struct iso_rep *r, uint32_t id, uint32_t gen, uint16_t port)
{
    struct axl_chan_cmd cmd;
    struct axl_chan_event e;
    memset(&cmd, 0, sizeof(cmd));
    cmd.op = AXL_CHAN_OP_BIND;
    cmd.sock = id;
    cmd.gen = gen;
    cmd.family = AXL_CHAN_AF_INET;
    cmd.port = htons(port);
    return call(c, r, &cmd, &e);
}

/* Options given before the socket existed on the replica (ctx.c keeps them). */
static void send_opts(struct iso *b, struct iso_rep *r, struct axl_sk *s, uint32_t id, uint32_t gen)
{
    for (uint32_t o = AXL_SO_NODELAY; o <= AXL_SO_LINGER; o++)
        if (s->opts_set & (1u << o))
            cmd_sock(b, r, AXL_CHAN_OP_SETOPT, 0, id, gen, o, s->optval[o], CK_IGNORE);
}

/* A TCP listener's copy on replica r: 0 or negative errno. */
static int listen_on(struct axl_ctx *c, struct iso_rep *r, struct axl_sk *s)
{
    struct iso *b = B(c);
    uint32_t gen;
    int id = rep_open(c, r, AXL_CHAN_PROTO_TCP, &gen);
    if (id < 0) return id;
    struct iso_cs *k = &r->cs[id];
    k->kind = CS_LISTEN;
    cs_own(c, k, s);
    send_opts(b, r, s, (uint32_t)id, gen);
    int rc = rep_bind(c, r, (uint32_t)id, gen, s->lport);
    if (rc == 0) {
        struct axl_chan_cmd cmd;
        struct axl_chan_event e;
        memset(&cmd, 0, sizeof(cmd));
        cmd.op = AXL_CHAN_OP_LISTEN;
        cmd.sock = (uint32_t)id;
        cmd.gen = gen;
        cmd.arg = AXL_MIN(s->backlog, r->a.lay.p.max_socks);
        rc = call(c, r, &cmd, &e);
    }
    if (rc < 0) {
        if (r->state == REP_UP) cs_close(b, r, (uint32_t)id, 1);
        return rc;
    }
    s->lid[r->idx] = (uint32_t)id;
    s->lgen[r->idx] = gen;
    return 0;
}

/* A UDP socket's copy on replica r. */
static int udp_on(struct axl_ctx *c, struct iso_rep *r, struct axl_sk *s, uint16_t port)
{
    struct iso *b = B(c);
    uint32_t gen;
    int id = rep_open(c, r, AXL_CHAN_PROTO_UDP, &gen);
    if (id < 0) return id;
    struct iso_cs *k = &r->cs[id];
    k->kind = CS_UDP;
    cs_own(c, k, s);
    send_opts(b, r, s, (uint32_t)id, gen);
    int rc = rep_bind(c, r, (uint32_t)id, gen, port);
    if (rc < 0) {
        if (r->state == REP_UP) cs_close(b, r, (uint32_t)id, 1);
        return rc;
    }
    s->lid[r->idx] = (uint32_t)id;
    s->lgen[r->idx] = gen;
    return 0;
}

static int lid_alloc(struct axl_sk *s)
{
    if (s->lid) return 0;
    s->lid = malloc(AXL_ISO_MAX_REPLICAS * sizeof(uint32_t));
    s->lgen = malloc(AXL_ISO_MAX_REPLICAS * sizeof(uint32_t));
    if (!s->lid || !s->lgen) {
        free(s->lid);
        free(s->lgen);
        s->lid = s->lgen = NULL;
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < AXL_ISO_MAX_REPLICAS; i++)
        s->lid[i] = NONE;
    return 0;
}

static void lid_free(struct axl_sk *s)
{
    free(s->lid);
    free(s->lgen);
    s->lid = s->lgen = NULL;
}

/* Register memory m with replica r (REGMEM on its channel socket). */
static int mem_reg_on(struct iso *b, struct iso_rep *r, struct axl_mem *m)
{
    struct axl_chan_regmem rm = {m->fd, m->base, m->size};
    int rc = axl_chan_regmem_register(r->fd, &rm, ++b->seq);
    if (rc < 0) {
        axl_warn("axl", "replica %u: cannot register %zu bytes of memory: %s", r->idx, m->size,
                 axl_strerror(rc));
        m->region[r->idx] = UINT32_MAX;
        return rc;
    }
    m->region[r->idx] = (uint32_t)rc;
    m->gen[r->idx] = r->epoch;
    return 0;
}

static int mem_region(struct iso_rep *r, const struct axl_mem *m, uint32_t *region)
{
    if (m->region[r->idx] == UINT32_MAX || m->gen[r->idx] != r->epoch) return -1;
    *region = m->region[r->idx];
    return 0;
}

static int obj_reg_on(struct axl_ctx *c, struct iso_rep *r, struct axl_obj *o)
{
    uint32_t region;
    if (mem_region(r, o->m, &region) < 0) return -ENOBUFS;
    struct axl_chan_cmd cmd;
    struct axl_chan_event e;
    memset(&cmd, 0, sizeof(cmd));
    cmd.op = AXL_CHAN_OP_OBJ_REG;
    cmd.sock = NONE;
    cmd.region = region;
    cmd.off = o->off;
    cmd.len = o->len;
    cmd.arg = (uint32_t)o->copy;
    int rc = call(c, r, &cmd, &e);
    if (rc < 0) return rc;
    o->id[r->idx] = e.arg2;
    o->epoch[r->idx] = r->epoch;
    return 0;
}

/* Map the channel whose HELLO waits on r->fd. 0 or negative errno. */
static int rep_map(struct iso_rep *r, char *err, size_t errlen)
{
    struct axl_chan_hello h;
    int rf[AXL_CHAN_NREGIONS], bell = -1;
    int rc = axl_chan_recv_hello_bell(r->fd, &h, rf, &bell);
    if (rc < 0) {
        snprintf(err, errlen, "replica %u: no valid channel HELLO: %s", r->idx, axl_strerror(rc));
        return rc;
    }
    rc = axl_chan_map_app(&r->a, &h, rf);
    close(rf[0]);
    close(rf[1]);
    if (rc < 0) {
        if (bell >= 0) close(bell);
        snprintf(err, errlen, "replica %u: cannot map its channel: %s", r->idx, axl_strerror(rc));
        return rc;
    }
    axl_chan_app_set_bell(&r->a, bell);
    /* REGMEM waits for its answer on this socket: never for ever */
    struct timeval tv = {(time_t)(ISO_CMD_WAIT_NS / AXL_NS_PER_S), 0};
    (void)setsockopt(r->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)setsockopt(r->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    r->cs = calloc(r->a.lay.p.max_socks, sizeof(*r->cs));
    if (!r->cs) {
        axl_chan_app_unmap(&r->a);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    r->epoch++;
    r->viol_seen = 0;
    r->state = REP_UP;
    return 0;
}

/* A channel just came up again: memory, objects, listeners, UDP sockets. */
static void rep_restore(struct axl_ctx *c, struct iso_rep *r)
{
    struct iso *b = B(c);
    uint32_t nl = 0, nu = 0, bad = 0;
    for (uint32_t i = 0; i < b->nmem && r->state == REP_UP; i++)
        mem_reg_on(b, r, b->mems[i]);
    for (uint32_t i = 0; i < b->nobj && r->state == REP_UP; i++)
        if (obj_reg_on(c, r, b->objs[i]) < 0) bad++;
    for (uint32_t i = 0; i < c->max_socks && r->state == REP_UP; i++) {
        struct axl_sk *s = &c->sk[i];
        if (!s->used || !s->lid || s->lid[r->idx] != NONE) continue;
        int rc;
        if (s->type == AXL_TCP && s->state == AXL_SS_LISTEN) {
            rc = listen_on(c, r, s);
            nl += rc == 0;
        } else if (s->type == AXL_UDP) {
            rc = udp_on(c, r, s, s->lport);
            nu += rc == 0;
        } else {
            continue;
        }
        if (rc < 0) {
            bad++;
            axl_warn("axl", "replica %u: cannot re-create %s port %u: %s", r->idx,
                     s->type == AXL_TCP ? "listener on" : "UDP socket on", s->lport,
                     axl_strerror(rc));
        }
    }
    if (r->state == REP_UP)
        axl_info("axl", "replica %u reattached: %u listener(s), %u UDP socket(s) re-created%s",
                 r->idx, nl, nu, bad ? " (some failed)" : "");
}

/* Its channel is gone: every connection on it ends with -ECONNABORTED. */
static void rep_down(struct axl_ctx *c, struct iso_rep *r, const char *why)
{
    struct iso *b = B(c);
    if (r->state == REP_DOWN) return;
    int was_up = r->state == REP_UP;
    uint32_t aborted = 0;
    if (was_up) {
        for (uint32_t i = 0; i < c->max_socks; i++) {
            struct axl_sk *s = &c->sk[i];
            if (!s->used) continue;
            if (s->lid) {
                s->lid[r->idx] = NONE;
                struct iso_x *x = &b->x[i];
                uint32_t k = 0;
                for (uint32_t j = 0; j < x->acc_n; j++) { /* its pending accepts go */
                    uint64_t v = x->acc[x->acc_head + j];
                    if (((v >> 24) & 0xff) != r->idx) x->acc[k++] = v;
                }
                x->acc_head = 0;
                x->acc_n = k;
            }
            if (s->type != AXL_TCP || s->cid == NONE || s->rep != r->idx) continue;
            s->cid = NONE;
            aborted++;
            if (s->cleaned) continue;
            s->cleaned = 1;
            s->error = -ECONNABORTED;
            if (s->state == AXL_SS_CONNECTING) {
                axl_ev_push(c, s, AXL_EV_CONNECTED, -ECONNABORTED, 0, 0);
            } else if (!s->remote_closed) {
                s->remote_closed = 1;
                axl_ev_push(c, s, AXL_EV_REMOTE_CLOSED, -ECONNABORTED, 0, 0);
            }
            s->state = AXL_SS_CLOSED;
            axl_ev_push(c, s, AXL_EV_CLEANUP, -ECONNABORTED, 0, 0);
        }
        b->st_lost++;
        b->st_aborted += aborted;
        axl_warn("axl", "replica %u lost (%s): %u connection(s) aborted; reattaching", r->idx, why,
                 aborted);
        b->st_wakes += r->a.stats.wakes;
        axl_chan_app_unmap(&r->a);
        free(r->cs);
        r->cs = NULL;
    }
    free(r->ovf);
    r->ovf = NULL;
    r->ovf_n = r->ovf_cap = r->ovf_head = 0;
    r->kick = 0;
    if (r->fd >= 0) close(r->fd);
    r->fd = -1;
    r->state = REP_DOWN;
    if (!r->backoff) r->backoff = ISO_RETRY_MIN_NS;
    r->retry_at = axl_clock_ns() + r->backoff;
}

/* Ask for a new channel to replica r ("reattach I"). */
static void rep_reattach(struct axl_ctx *c, struct iso_rep *r, uint64_t now)
{
    struct iso *b = B(c);
    char line[32], msg[160];
    int fds[AXL_ISO_MAX_REPLICAS], nfds = 0;
    char *body = NULL;
    snprintf(line, sizeof(line), "reattach %u", r->idx);
    int rc = ctl_request(b, line, &body, fds, &nfds, AXL_ISO_MAX_REPLICAS, msg, sizeof(msg));
    free(body);
    if (rc < 0 || nfds != 1) {
        for (int i = 0; i < nfds; i++)
            close(fds[i]);
        if (rc != -ESRCH) b->st_reattach_fail++;
        if (rc != -ESRCH && rc != -EPIPE)
            axl_warn("axl", "reattach to replica %u: %s", r->idx,
                     msg[0] ? msg : rc < 0 ? axl_strerror(rc) : "no channel socket");
        r->backoff = AXL_MIN(r->backoff * 2, (uint64_t)ISO_RETRY_MAX_NS);
        r->retry_at = now + r->backoff;
        return;
    }
    r->fd = fds[0];
    r->state = REP_HELLO;
    r->hello_deadline = now + ISO_HELLO_WAIT_NS;
}

/* The HELLO of a reattached replica arrived (or its time ran out). */
static void rep_hello(struct axl_ctx *c, struct iso_rep *r, uint64_t now, short revents)
{
    struct iso *b = B(c);
    char err[200];
    if (revents & POLLIN) {
        if (rep_map(r, err, sizeof(err)) == 0) {
            b->st_reattach++;
            r->backoff = 0;
            rep_restore(c, r);
            return;
        }
        axl_warn("axl", "%s", err);
    } else if (!(revents & (POLLHUP | POLLERR | POLLNVAL)) && now < r->hello_deadline) {
        return;
    }
    b->st_reattach_fail++;
    r->state = REP_HELLO; /* rep_down: nothing mapped */
    rep_down(c, r, "no HELLO");
    r->backoff = AXL_MIN(r->backoff * 2, (uint64_t)ISO_RETRY_MAX_NS);
    r->retry_at = now + r->backoff;
}

/* Every ISO_CHECK_NS and after each sleep: the sockets of the session and of
 * the channels (hang-ups), reattach attempts, HELLOs. Returns work done. */
static int check_fds(struct axl_ctx *c, uint64_t now)
{
    struct iso *b = B(c);
    struct pollfd p[1 + AXL_ISO_MAX_REPLICAS];
    uint32_t map[1 + AXL_ISO_MAX_REPLICAS];
    uint32_t n = 0;
    int work = 0, fast = 0;
    if (b->ctl >= 0) {
        p[n] = (struct pollfd){.fd = b->ctl, .events = POLLIN};
        map[n++] = UINT32_MAX;
    }
    for (uint32_t i = 0; i < b->nrep; i++)
        if (b->rep[i].fd >= 0) {
            p[n] = (struct pollfd){.fd = b->rep[i].fd, .events = POLLIN};
            map[n++] = i;
        }
    if (n && poll(p, n, 0) > 0) {
        for (uint32_t k = 0; k < n; k++) {
            if (!p[k].revents) continue;
            if (map[k] == UINT32_MAX) {
                char junk[256];
                ssize_t rr = recv(b->ctl, junk, sizeof(junk), MSG_DONTWAIT);
                if (rr == 0 || (rr < 0 && errno != EAGAIN && errno != EINTR)) {
                    axl_warn("axl", "axl-stackd closed the session (control connection)");
                    close(b->ctl);
                    b->ctl = -1;
                    work = 1;
                }
                continue;
            }
            struct iso_rep *r = &b->rep[map[k]];
            if (r->state == REP_HELLO) {
                rep_hello(c, r, now, p[k].revents);
                work = 1;
            } else if (r->state == REP_UP && !rep_alive(r)) {
                rep_down(c, r, "its channel socket closed");
                work = 1;
            }
        }
    }
    for (uint32_t i = 0; i < b->nrep; i++) {
        struct iso_rep *r = &b->rep[i];
        if (r->state == REP_UP && !axl_chan_app_up(&r->a)) {
            rep_down(c, r, "the replica disconnected us");
            work = 1;
        }
        if (r->state == REP_HELLO && now >= r->hello_deadline) rep_hello(c, r, now, 0);
        if (r->state == REP_DOWN && b->ctl >= 0 && now >= r->retry_at) {
            rep_reattach(c, r, now);
            work = 1;
        }
        fast |= r->state == REP_HELLO;
    }
    /* next look: soon while a HELLO is awaited, at the next reattach attempt,
     * else ISO_CHECK_NS */
    uint64_t next = now + (fast ? ISO_CHECK_FAST_NS : ISO_CHECK_NS);
    for (uint32_t i = 0; i < b->nrep && b->ctl >= 0; i++)
        if (b->rep[i].state == REP_DOWN) next = AXL_MIN(next, AXL_MAX(b->rep[i].retry_at, now + 1));
    b->next_check = next;
    return work;
}

/* ---- events --------------------------------------------------------------------------- */

static void acc_push(struct iso_x *x, uint64_t v)
{
    if (x->acc_head + x->acc_n == x->acc_cap) {
        if (x->acc_head) { /* compact */
            memmove(x->acc, x->acc + x->acc_head, x->acc_n * sizeof(*x->acc));
            x->acc_head = 0;
        } else {
            uint32_t ncap = x->acc_cap ? x->acc_cap * 2 : 64;
            uint64_t *n = realloc(x->acc, ncap * sizeof(*n));
            if (!n) return; /* the pending socket stays unaccepted; closed with the listener */
            x->acc = n;
            x->acc_cap = ncap;
        }
    }
    x->acc[x->acc_head + x->acc_n++] = v;
}

/* The connection ended (CLEANUP of its channel socket). RFC 9293 §3.10.7:
 * the peer's FIN or reset, or our own close, ended it; the app still closes
 * the handle. */
static void conn_cleanup(struct axl_ctx *c, struct axl_sk *s, int32_t status)
{
    if (s->cleaned) return;
    s->cleaned = 1;
    if (status) s->error = status;
    if (s->state == AXL_SS_CONNECTING) {
        axl_ev_push(c, s, AXL_EV_CONNECTED, status ? status : -ECONNRESET, 0, 0);
    } else if (status && !s->remote_closed) {
        s->remote_closed = 1;
        axl_ev_push(c, s, AXL_EV_REMOTE_CLOSED, status, 0, 0);
    }
    s->state = AXL_SS_CLOSED;
    axl_ev_push(c, s, AXL_EV_CLEANUP, status, 0, 0);
}

static void discard_rx(struct iso_rep *r, struct iso_cs *k)
{
    struct axl_cspan sp[2];
    int n = axl_chan_app_rx_peek(&r->a, &k->as, sp);
    if (n > 0) {
        axl_chan_app_rx_commit(&r->a, &k->as, (uint32_t)n);
        r->kick = 1;
    }
}

static void on_done(struct axl_ctx *c, struct iso_rep *r, const struct axl_chan_event *e)
{
    struct iso *b = B(c);
    if ((e->cookie & CK_SYNC) && e->cookie == b->w_cookie) {
        b->w_ev = *e;
        b->w_got = 1;
        return;
    }
    struct iso_cs *k = e->sock != NONE ? cs_of(r, e->sock, e->gen) : NULL;
    switch (e->arg) {
    case AXL_CHAN_OP_CLOSE:
        if (k && k->kind == CS_ORPHAN) k->kind = CS_FREE;
        return;
    case AXL_CHAN_OP_CONNECT: {
        struct axl_sk *s = k && k->kind == CS_CONN ? owner_of(c, k) : NULL;
        if (!s || s->cid != e->sock || s->state != AXL_SS_CONNECTING) return;
        struct iso_x *x = &b->x[s - c->sk];
        if (e->status == -EADDRNOTAVAIL && x->tries + 1u < b->nrep && !s->lport) {
            /* A parked replica (axlctl scale: the director gives it no
             * bucket) picks no port: the connect goes to the next replica
             * (connect_retries, from iso_work), the app never sees this. */
            cs_close(b, r, e->sock, 1);
            s->cid = NONE;
            x->tries++;
            b->st_conn_retry++;
            if (!x->retry) b->nretry++;
            x->retry = 1;
            return;
        }
        if (e->status == 0) {
            s->state = AXL_SS_ESTABLISHED;
            axl_ev_push(c, s, AXL_EV_CONNECTED, 0, 0, 0);
        } else { /* CONNECTED(err) now; the CLEANUP that follows ends it */
            s->error = e->status;
            s->state = AXL_SS_CLOSED;
            axl_ev_push(c, s, AXL_EV_CONNECTED, e->status, 0, 0);
        }
        return;
    }
    case AXL_CHAN_OP_SEND:
    case AXL_CHAN_OP_OBJ_SEND: {
        struct axl_sk *s = k && k->kind == CS_CONN ? owner_of(c, k) : NULL;
        if (s && e->cookie) /* a zero-touch send that will not happen: its memory is free */
            axl_ev_push(c, s, AXL_EV_DATA_ACKED, e->status ? e->status : -EPIPE, e->cookie, 0);
        return;
    }
    case AXL_CHAN_OP_OPEN:
        /* an OPEN whose wait timed out: give the socket back */
        if (e->status == 0 && e->sock < r->a.lay.p.max_socks && r->cs[e->sock].kind == CS_FREE) {
            r->cs[e->sock].kind = CS_OPENING;
            r->cs[e->sock].gen = e->gen;
            cs_close(b, r, e->sock, 1);
        }
        return;
    default:
        if (e->status && e->status != -EBADF)
            axl_debug("axl", "replica %u: command %u on socket %u: %s", r->idx, e->arg, e->sock,
                      axl_strerror(e->status));
        return;
    }
}

static void on_new_conn(struct axl_ctx *c, struct iso_rep *r, const struct axl_chan_event *e)
{
    struct iso *b = B(c);
    uint32_t id = e->sock, max = r->a.lay.p.max_socks;
    if (id >= max) return;
    struct iso_cs *n = &r->cs[id];
    memset(n, 0, sizeof(*n));
    n->kind = CS_PENDING;
    n->gen = e->gen;
    n->lsn = e->arg;
    struct iso_cs *l = cs_of(r, e->arg, e->arg2);
    struct axl_sk *ls = l && l->kind == CS_LISTEN ? owner_of(c, l) : NULL;
    if (axl_chan_app_sock(&r->a, id, e->gen, &n->as) == 0) n->attached = 1;
    if (!ls || !n->attached || ls->state != AXL_SS_LISTEN) { /* nobody takes it */
        cs_close(b, r, id, 1);
        return;
    }
    acc_push(&b->x[ls - c->sk], (uint64_t)e->gen << 32 | (uint64_t)r->idx << 24 | id);
    axl_sk_pend(c, ls, AXL_PEND_CONN);
}

static void on_event(struct axl_ctx *c, struct iso_rep *r, const struct axl_chan_event *e)
{
    if (e->type == AXL_CHAN_EV_DONE) {
        on_done(c, r, e);
        return;
    }
    if (e->type == AXL_CHAN_EV_NEW_CONN) {
        on_new_conn(c, r, e);
        return;
    }
    struct iso_cs *k = cs_of(r, e->sock, e->gen);
    if (!k) return;
    if (k->kind == CS_PENDING) { /* before the accept: remember the end */
        if (e->type == AXL_CHAN_EV_REMOTE_CLOSED && !k->rclosed) {
            k->rclosed = 1;
            if (e->status) k->status = e->status;
        } else if (e->type == AXL_CHAN_EV_CLEANUP) {
            k->dead = 1;
            k->status = e->status;
        }
        return;
    }
    if (k->kind != CS_CONN && k->kind != CS_UDP) return;
    struct axl_sk *s = owner_of(c, k);
    if (!s) return;
    if (k->kind == CS_UDP) {
        if (e->type == AXL_CHAN_EV_NEW_DATA) axl_sk_pend(c, s, AXL_PEND_DATA);
        return;
    }
    if (s->cid != e->sock || s->rep != r->idx) return;
    switch (e->type) {
    case AXL_CHAN_EV_NEW_DATA:
        if (s->rd_shut)
            discard_rx(r, k);
        else
            axl_sk_pend(c, s, AXL_PEND_DATA);
        break;
    case AXL_CHAN_EV_DATA_ACKED:
        if (e->cookie) {
            axl_ev_push(c, s, AXL_EV_DATA_ACKED, 0, e->cookie, e->arg);
        } else {
            s->pend_acked += e->arg;
            axl_sk_pend(c, s, AXL_PEND_ACKED);
        }
        break;
    case AXL_CHAN_EV_REMOTE_CLOSED:
        if (s->remote_closed || s->state == AXL_SS_CONNECTING || s->cleaned) break;
        s->remote_closed = 1;
        if (e->status) s->error = e->status;
        axl_ev_push(c, s, AXL_EV_REMOTE_CLOSED, e->status, 0, 0);
        break;
    case AXL_CHAN_EV_CLEANUP:
        conn_cleanup(c, s, e->status);
        break;
    default:
        break;
    }
}

/* ---- the loop -------------------------------------------------------------------------- */

static uint32_t iso_readable(struct axl_ctx *c, struct axl_sk *s);

static int connect_retries(struct axl_ctx *c);

static int iso_work(struct axl_ctx *c)
{
    struct iso *b = B(c);
    int work = 0, up = 0;
    for (uint32_t i = 0; i < b->nrep; i++) {
        struct iso_rep *r = &b->rep[i];
        if (r->state != REP_UP) continue;
        up++;
        if (r->ovf_n) ovf_flush(r);
        work += (int)drain(c, r, ISO_EVENTS_PER_STEP);
        if (r->state != REP_UP) continue;
        uint32_t ids[256];
        uint32_t n = axl_chan_app_scan(&r->a, ids, 256);
        for (uint32_t j = 0; j < n; j++) { /* the stack freed TX room or set RX EOF */
            if (ids[j] >= r->a.lay.p.max_socks) continue;
            struct iso_cs *k = &r->cs[ids[j]];
            struct axl_sk *s = k->kind == CS_CONN ? owner_of(c, k) : NULL;
            if (s && s->cid == ids[j] && s->rep == i && !s->rd_shut && iso_readable(c, s))
                axl_sk_pend(c, s, AXL_PEND_DATA);
        }
        work += (int)n;
        if (r->a.stats.violations != r->viol_seen) {
            b->st_viol += r->a.stats.violations - r->viol_seen;
            r->viol_seen = r->a.stats.violations;
            if (r->viol_seen > ISO_VIOL_MAX) {
                rep_down(c, r, "too many malformed events");
                continue;
            }
        }
        rep_kick(r);
    }
    if (b->nretry) work += connect_retries(c);
    uint64_t now = axl_clock_ns();
    if (now >= b->next_check) work += check_fds(c, now);
    if (!up && b->ctl < 0) {
        int any = 0;
        for (uint32_t i = 0; i < b->nrep; i++)
            any |= b->rep[i].state == REP_UP;
        if (!any) return -ENOTCONN; /* axl-stackd is gone for good */
    }
    return work > 0;
}

static void iso_flush(struct axl_ctx *c)
{
    struct iso *b = B(c);
    for (uint32_t i = 0; i < b->nrep; i++)
        rep_kick(&b->rep[i]);
}

static void iso_sleep(struct axl_ctx *c, uint64_t max_ns)
{
    struct iso *b = B(c);
    const _Atomic uint32_t *words[AXL_ISO_MAX_REPLICAS];
    uint32_t vals[AXL_ISO_MAX_REPLICAS], idx[AXL_ISO_MAX_REPLICAS], n = 0;
    uint64_t now = axl_clock_ns();
    uint64_t wait = AXL_MIN(max_ns, (uint64_t)ISO_SLEEP_MAX_NS);
    iso_flush(c);
    /* wake up for a reattach attempt or to look for a HELLO, not sooner
     * than ISO_CHECK_FAST_NS; else after ISO_SLEEP_MAX_NS at most (a dead
     * replica moves no word: the sockets are looked at after the sleep) */
    for (uint32_t i = 0; i < b->nrep; i++) {
        struct iso_rep *r = &b->rep[i];
        if (r->state == REP_HELLO) wait = AXL_MIN(wait, ISO_CHECK_FAST_NS);
        if (r->state == REP_DOWN && b->ctl >= 0)
            wait = AXL_MIN(wait, AXL_MAX(r->retry_at > now ? r->retry_at - now : 0,
                                         (uint64_t)ISO_CHECK_FAST_NS));
        if (r->state != REP_UP) continue;
        if (!axl_chan_app_prepare_sleep(&r->a)) { /* something came: do not sleep */
            for (uint32_t j = 0; j < n; j++)
                axl_chan_app_wake_done(&b->rep[idx[j]].a);
            return;
        }
        words[n] = &r->a.sctl->activity;
        vals[n] = r->a.stk_act_seen;
        idx[n++] = i;
    }
    if (wait == 0) wait = 1;
    b->st_sleeps++;
    if (n) {
        (void)axl_futex_waitv(words, vals, n, wait);
        for (uint32_t j = 0; j < n; j++)
            axl_chan_app_wake_done(&b->rep[idx[j]].a);
    } else {
        struct timespec ts = {(time_t)(wait / AXL_NS_PER_S), (long)(wait % AXL_NS_PER_S)};
        nanosleep(&ts, NULL);
    }
    /* slept long: look at the sockets now (short naps keep the schedule) */
    if (axl_clock_ns() - now >= ISO_CHECK_NS) b->next_check = 0;
}

static int iso_fd(struct axl_ctx *c)
{
    (void)c;
    return -1; /* the replicas wake us with a futex, which poll(2) cannot wait for */
}

/* ---- sockets -------------------------------------------------------------------------- */

static struct iso_rep *rep_of(struct iso *b, uint32_t i)
{
    return i < b->nrep && b->rep[i].state == REP_UP ? &b->rep[i] : NULL;
}

/* The channel socket of an API connection (NULL: none, or its replica died). */
static struct iso_cs *conn_cs(struct iso *b, struct axl_sk *s, struct iso_rep **rp)
{
    if (s->cid == NONE) return NULL;
    struct iso_rep *r = rep_of(b, s->rep);
    if (!r) return NULL;
    struct iso_cs *k = cs_of(r, s->cid, s->cgen);
    if (!k || k->kind != CS_CONN) return NULL;
    *rp = r;
    return k;
}

static int conn_err(const struct axl_sk *s)
{
    if (s->error) return s->error;
    return s->cleaned ? -EPIPE : -ENOTCONN;
}

static int iso_socket(struct axl_ctx *c, struct axl_sk *s)
{
    (void)c;
    s->cid = NONE; /* nothing exists on a replica before bind/listen/connect */
    return 0;
}

static int udp_bind_all(struct axl_ctx *c, struct axl_sk *s, uint16_t port)
{
    struct iso *b = B(c);
    int rc = lid_alloc(s);
    if (rc < 0) return rc;
    int tries = port ? 1 : 32;
    for (int t = 0; t < tries; t++) {
        uint16_t p = port;
        if (!p) /* one port on every replica: we pick it (RFC 6056 §3.3.1, random) */
            p = (uint16_t)(ISO_EPHEMERAL_LO +
                           axl_rand_below(&b->rnd, ISO_EPHEMERAL_HI - ISO_EPHEMERAL_LO + 1));
        uint32_t made = 0;
        rc = 0;
        for (uint32_t i = 0; i < b->nrep && rc == 0; i++) {
            struct iso_rep *r = rep_of(b, i);
            if (!r) continue;
            rc = udp_on(c, r, s, p);
            made += rc == 0;
        }
        if (rc == 0 && made == 0) rc = -ENETDOWN;
        if (rc == 0) {
            s->lport = p;
            return 0;
        }
        for (uint32_t i = 0; i < b->nrep; i++) { /* undo */
            struct iso_rep *r = rep_of(b, i);
            if (r && s->lid[i] != NONE) cs_close(b, r, s->lid[i], 0);
            s->lid[i] = NONE;
        }
        if (rc != -EADDRINUSE) break;
    }
    lid_free(s);
    return rc;
}

static int iso_bind(struct axl_ctx *c, struct axl_sk *s, uint32_t addr, uint16_t port)
{
    (void)addr;
    if (s->type == AXL_UDP) {
        int rc = udp_bind_all(c, s, port);
        if (rc == 0 && port) registry(c, s, 1);
        return rc;
    }
    s->lport = port; /* TCP: the replicas take it at listen / connect */
    return 0;
}

static int iso_listen(struct axl_ctx *c, struct axl_sk *s, uint32_t backlog)
{
    struct iso *b = B(c);
    int rc = lid_alloc(s);
    if (rc < 0) return rc;
    s->backlog = backlog ? backlog : ISO_BACKLOG_DEFAULT;
    uint32_t made = 0, up = 0;
    rc = 0;
    for (uint32_t i = 0; i < b->nrep && rc == 0; i++) {
        struct iso_rep *r = rep_of(b, i);
        if (!r) continue;
        up++;
        rc = listen_on(c, r, s);
        made += rc == 0;
    }
    if (rc == 0 && up && !made) rc = -ENETDOWN;
    if (rc < 0) {
        for (uint32_t i = 0; i < b->nrep; i++) {
            struct iso_rep *r = rep_of(b, i);
            if (r && s->lid[i] != NONE) cs_close(b, r, s->lid[i], 1);
        }
        lid_free(s);
        return rc;
    }
    /* Replicas that are not running get it when they are reattached. */
    s->state = AXL_SS_LISTEN;
    registry(c, s, 1);
    return 0;
}

static int iso_accept(struct axl_ctx *c, struct axl_sk *l, struct axl_sk *n)
{
    struct iso *b = B(c);
    struct iso_x *x = &b->x[l - c->sk];
    while (x->acc_n) {
        uint64_t v = x->acc[x->acc_head];
        x->acc_head++;
        if (--x->acc_n == 0) x->acc_head = 0;
        uint32_t id = (uint32_t)(v & 0xffffff), ri = (uint32_t)(v >> 24) & 0xff,
                 gen = (uint32_t)(v >> 32);
        struct iso_rep *r = rep_of(b, ri);
        struct iso_cs *k = r ? cs_of(r, id, gen) : NULL;
        if (!k || k->kind != CS_PENDING) continue;
        k->kind = CS_CONN;
        cs_own(c, k, n);
        cmd_sock(b, r, AXL_CHAN_OP_ACCEPT, 0, id, gen, k->lsn, 0, CK_IGNORE);
        n->rep = ri;
        n->cid = id;
        n->cgen = gen;
        n->state = AXL_SS_ESTABLISHED;
        n->lport = l->lport;
        /* What happened before the accept (bytes, FIN, reset) is told now. */
        struct axl_cspan sp[2];
        if (axl_chan_app_rx_peek(&r->a, &k->as, sp) > 0) axl_sk_pend(c, n, AXL_PEND_DATA);
        if (k->rclosed && !k->dead) {
            n->remote_closed = 1;
            if (k->status) n->error = k->status;
            axl_ev_push(c, n, AXL_EV_REMOTE_CLOSED, k->status, 0, 0);
        }
        if (k->dead) {
            if (k->rclosed) n->remote_closed = 1;
            conn_cleanup(c, n, k->status);
        }
        return 0;
    }
    return -EAGAIN;
}

/* A TCP connect on the first running replica from index `from` on. */
static int connect_from(struct axl_ctx *c, struct axl_sk *s, uint32_t from, uint32_t addr,
                        uint16_t port)
{
    struct iso *b = B(c);
    struct iso_rep *r = NULL;
    for (uint32_t k = 0; k < b->nrep && !r; k++)
        r = rep_of(b, (from + k) % b->nrep);
    if (!r) return -ENETDOWN;
    b->rr = (r->idx + 1) % b->nrep;
    uint32_t gen;
    int id = rep_open(c, r, AXL_CHAN_PROTO_TCP, &gen);
    if (id < 0) return id == -ECONNABORTED ? -ENETDOWN : id;
    struct iso_cs *k = &r->cs[id];
    k->kind = CS_CONN;
    cs_own(c, k, s);
    send_opts(b, r, s, (uint32_t)id, gen);
    if (s->lport) {
        int rc = rep_bind(c, r, (uint32_t)id, gen, s->lport);
        if (rc < 0) {
            if (r->state == REP_UP) cs_close(b, r, (uint32_t)id, 1);
            return rc == -ECONNABORTED ? -ENETDOWN : rc;
        }
    }
    cmd_addr(b, r, AXL_CHAN_OP_CONNECT, (uint32_t)id, gen, addr, port, CK_IGNORE);
    s->rep = r->idx;
    s->cid = (uint32_t)id;
    s->cgen = gen;
    s->state = AXL_SS_CONNECTING;
    s->raddr = addr;
    s->rport = port;
    return 0;
}

static int iso_connect(struct axl_ctx *c, struct axl_sk *s, uint32_t addr, uint16_t port)
{
    struct iso *b = B(c);
    if (s->type == AXL_UDP) {
        if (!s->lid) {
            int rc = udp_bind_all(c, s, 0);
            if (rc < 0) return rc;
        }
        s->raddr = addr; /* 0/0 dissolves the association */
        s->rport = port;
        return 0;
    }
    b->x[s - c->sk].tries = 0;
    return connect_from(c, s, b->rr, addr, port); /* round-robin over the running replicas */
}

/* Connects a parked replica refused (EADDRNOTAVAIL): on to the next one. */
static int connect_retries(struct axl_ctx *c)
{
    struct iso *b = B(c);
    int work = 0;
    for (uint32_t i = 0; i < c->max_socks && b->nretry; i++) {
        struct iso_x *x = &b->x[i];
        if (!x->retry) continue;
        x->retry = 0;
        b->nretry--;
        struct axl_sk *s = &c->sk[i];
        if (!s->used || s->state != AXL_SS_CONNECTING || s->cleaned) continue;
        work++;
        int rc = connect_from(c, s, (s->rep + 1) % b->nrep, s->raddr, s->rport);
        if (rc < 0) conn_cleanup(c, s, rc); /* CONNECTED(rc), then CLEANUP */
    }
    return work;
}

static int iso_shutdown(struct axl_ctx *c, struct axl_sk *s, int how)
{
    struct iso *b = B(c);
    struct iso_rep *r = NULL;
    struct iso_cs *k = conn_cs(b, s, &r);
    if (how != 1 && !s->rd_shut) { /* SHUT_RD: drop what is queued and what comes */
        s->rd_shut = 1;
        if (k) discard_rx(r, k);
    }
    if (how != 0 && !s->wr_shut) {
        s->wr_shut = 1; /* FIN after what is queued (RFC 9293 §3.10.4) */
        if (k) cmd_sock(b, r, AXL_CHAN_OP_SHUTDOWN, 0, s->cid, s->cgen, 1, 0, CK_IGNORE);
    }
    return 0;
}

static void iso_close(struct axl_ctx *c, struct axl_sk *s, int abort_)
{
    struct iso *b = B(c);
    struct iso_x *x = &b->x[s - c->sk];
    if (x->retry) { /* a connect waiting for its next replica: no more */
        x->retry = 0;
        b->nretry--;
    }
    if (s->lid) { /* a listener or UDP socket: its copy on every replica */
        for (uint32_t i = 0; i < b->nrep; i++) {
            struct iso_rep *r = rep_of(b, i);
            if (r && s->lid[i] != NONE && cs_of(r, s->lid[i], s->lgen[i]))
                cs_close(b, r, s->lid[i], 0);
        }
        while (x->acc_n) { /* connections nobody accepted: reset */
            uint64_t v = x->acc[x->acc_head++];
            x->acc_n--;
            struct iso_rep *r = rep_of(b, (uint32_t)(v >> 24) & 0xff);
            uint32_t id = (uint32_t)(v & 0xffffff);
            if (r && cs_of(r, id, (uint32_t)(v >> 32))) cs_close(b, r, id, 1);
        }
        registry(c, s, 0);
        lid_free(s);
    }
    struct iso_rep *r = NULL;
    struct iso_cs *k = s->type == AXL_TCP ? conn_cs(b, s, &r) : NULL;
    if (k) {
        struct axl_cspan sp[2];
        int unread = !s->rd_shut && axl_chan_app_rx_peek(&r->a, &k->as, sp) > 0;
        /* unread data: reset (RFC 1122 §4.2.2.13); SO_LINGER 0: reset */
        cs_close(b, r, s->cid, abort_ || unread || s->optval[AXL_SO_LINGER] == 0);
    }
    free(x->acc);
    memset(x, 0, sizeof(*x));
    s->cid = NONE;
}

static int iso_setopt(struct axl_ctx *c, struct axl_sk *s, enum axl_sockopt opt, uint32_t val)
{
    struct iso *b = B(c);
    /* enum axl_sockopt and AXL_CHAN_OPT_* have the same numbers */
    if (s->lid) {
        for (uint32_t i = 0; i < b->nrep; i++) {
            struct iso_rep *r = rep_of(b, i);
            if (r && s->lid[i] != NONE)
                cmd_sock(b, r, AXL_CHAN_OP_SETOPT, 0, s->lid[i], s->lgen[i], opt, val, CK_IGNORE);
        }
        return 0;
    }
    struct iso_rep *r = NULL;
    if (conn_cs(b, s, &r))
        cmd_sock(b, r, AXL_CHAN_OP_SETOPT, 0, s->cid, s->cgen, opt, val, CK_IGNORE);
    return 0; /* otherwise kept by ctx.c and sent when the socket is made */
}

/* Read `n` bytes at `off` of what two spans show. */
static void span_copy(const struct axl_cspan sp[2], uint32_t off, void *dst, uint32_t n)
{
    uint8_t *d = dst;
    for (int i = 0; i < 2 && n; i++) {
        if (off >= sp[i].len) {
            off -= sp[i].len;
            continue;
        }
        uint32_t k = AXL_MIN(sp[i].len - off, n);
        memcpy(d, sp[i].p + off, k);
        d += k;
        n -= k;
        off = 0;
    }
}

/* The next datagram record on any replica of UDP socket s: replica index and
 * header, or -1 (none). Bad records are violations (the ring is skipped). */
static int udp_next(struct axl_ctx *c, struct axl_sk *s, struct axl_chan_dgram *h,
                    struct axl_cspan sp[2], int *avail)
{
    struct iso *b = B(c);
    struct iso_x *x = &b->x[s - c->sk];
    if (!s->lid) return -1;
    for (uint32_t t = 0; t < b->nrep; t++) {
        uint32_t i = (x->udp_rr + t) % b->nrep;
        struct iso_rep *r = rep_of(b, i);
        struct iso_cs *k = r && s->lid[i] != NONE ? cs_of(r, s->lid[i], s->lgen[i]) : NULL;
        if (!k || k->kind != CS_UDP) continue;
        int n = axl_chan_app_rx_peek(&r->a, &k->as, sp);
        if (n <= 0) continue;
        if ((uint32_t)n >= sizeof(*h)) span_copy(sp, 0, h, sizeof(*h));
        if ((uint32_t)n < sizeof(*h) || h->len > AXL_CHAN_DGRAM_MAX ||
            AXL_CHAN_DGRAM_SPAN(h->len) > (uint32_t)n) {
            b->st_viol++; /* the replica wrote a bad record: skip what is there */
            axl_chan_app_rx_commit(&r->a, &k->as, (uint32_t)n);
            continue;
        }
        *avail = n;
        return (int)i;
    }
    return -1;
}

static uint32_t iso_readable(struct axl_ctx *c, struct axl_sk *s)
{
    struct iso *b = B(c);
    struct axl_cspan sp[2];
    if (s->type == AXL_UDP) {
        struct axl_chan_dgram h;
        int av;
        return udp_next(c, s, &h, sp, &av) >= 0 ? h.len : 0;
    }
    struct iso_rep *r = NULL;
    struct iso_cs *k = conn_cs(b, s, &r);
    if (!k || s->rd_shut) return 0;
    int n = axl_chan_app_rx_peek(&r->a, &k->as, sp);
    return n > 0 ? (uint32_t)n : 0;
}

static int iso_info(struct axl_ctx *c, struct axl_sk *s, struct axl_sock_info *i)
{
    struct iso *b = B(c);
    i->readable = iso_readable(c, s);
    if (s->type == AXL_UDP) {
        i->send_room = AXL_CHAN_DGRAM_MAX;
        return 0;
    }
    struct iso_rep *r = NULL;
    struct iso_cs *k = conn_cs(b, s, &r);
    if (!k) {
        i->rx_eof = s->remote_closed;
        return 0;
    }
    struct axl_span sp[2];
    int room = axl_chan_app_tx_reserve(&r->a, &k->as, sp);
    i->send_room = room > 0 && !s->wr_shut ? (uint32_t)room : 0;
    i->rx_eof = axl_chan_app_rx_eof(&r->a, &k->as) || (s->remote_closed && !i->readable);
    /* The replica wrote the connection's addresses into its slot before the
     * event that announced it (src/chan/abi.h, "Addresses"); 0 = not known. */
    if (k->attached && k->as.id < r->a.lay.p.max_socks) {
        const struct axl_chan_slot *sl = &r->a.slots[k->as.id];
        uint32_t la = atomic_load_explicit(&sl->laddr, memory_order_relaxed),
                 ra = atomic_load_explicit(&sl->raddr, memory_order_relaxed);
        uint16_t lp = atomic_load_explicit(&sl->lport, memory_order_relaxed),
                 rp = atomic_load_explicit(&sl->rport, memory_order_relaxed);
        if (lp) {
            i->lport = ntohs(lp);
            if (la) i->laddr = ntohl(la);
        }
        if (rp && ra) {
            i->raddr = ntohl(ra);
            i->rport = ntohs(rp);
        }
    }
    return 0;
}

/* ---- data ------------------------------------------------------------------------------ */

static int iso_send(struct axl_ctx *c, struct axl_sk *s, const void *buf, uint32_t len)
{
    struct iso *b = B(c);
    struct iso_rep *r = NULL;
    struct iso_cs *k = conn_cs(b, s, &r);
    if (!k || s->cleaned) return conn_err(s);
    struct axl_span sp[2];
    int room = axl_chan_app_tx_reserve(&r->a, &k->as, sp);
    if (room == 0) { /* full: ask for a hint when room frees, and look once more */
        axl_chan_app_tx_want(&r->a, &k->as, 1);
        room = axl_chan_app_tx_reserve(&r->a, &k->as, sp);
    }
    if (room < 0) return room == -EPIPE ? -EPIPE : -EIO;
    if (room == 0) return -EAGAIN;
    uint32_t n = AXL_MIN(len, (uint32_t)room), a = AXL_MIN(n, sp[0].len);
    memcpy(sp[0].p, buf, a);
    if (n > a) memcpy(sp[1].p, (const uint8_t *)buf + a, n - a);
    axl_chan_app_tx_publish(&r->a, &k->as, n);
    cmd_sock(b, r, AXL_CHAN_OP_SEND, 0, s->cid, s->cgen, 0, n, 0);
    return (int)n;
}

static int rx_result(struct axl_ctx *c, struct axl_sk *s, struct iso_rep *r, struct iso_cs *k)
{
    (void)c;
    if (k && axl_chan_app_rx_eof(&r->a, &k->as)) {
        int32_t e = atomic_load_explicit(&r->a.slots[s->cid].error, memory_order_relaxed);
        return e < 0 && e >= -4095 && e != -EPIPE ? e : 0;
    }
    if (!k) {
        if (s->error) return s->error;
        return s->remote_closed || s->cleaned ? 0 : -ENOTCONN;
    }
    return -EAGAIN;
}

static int iso_recv_peek(struct axl_ctx *c, struct axl_sk *s, struct axl_iov *iov, unsigned n)
{
    struct iso *b = B(c);
    struct iso_rep *r = NULL;
    struct iso_cs *k = conn_cs(b, s, &r);
    if (!k) return rx_result(c, s, r, NULL);
    struct axl_cspan sp[2];
    int av = axl_chan_app_rx_peek(&r->a, &k->as, sp);
    if (av < 0) return -EIO;
    if (av == 0) return rx_result(c, s, r, k);
    iov[0].base = sp[0].p;
    iov[0].len = sp[0].len;
    uint32_t total = sp[0].len;
    if (n > 1 && sp[1].len) {
        iov[1].base = sp[1].p;
        iov[1].len = sp[1].len;
        total += sp[1].len;
    }
    return (int)total;
}

static int iso_recv_done(struct axl_ctx *c, struct axl_sk *s, uint32_t n)
{
    struct iso *b = B(c);
    struct iso_rep *r = NULL;
    struct iso_cs *k = conn_cs(b, s, &r);
    if (!k) return conn_err(s);
    struct axl_cspan sp[2];
    int av = axl_chan_app_rx_peek(&r->a, &k->as, sp);
    if (av < 0) return -EIO;
    if (n > (uint32_t)av) return -EINVAL;
    axl_chan_app_rx_commit(&r->a, &k->as, n); /* hints the stack if it found the ring full */
    r->kick = 1;
    return 0;
}

static int iso_recv(struct axl_ctx *c, struct axl_sk *s, void *buf, uint32_t len)
{
    struct iso *b = B(c);
    struct iso_rep *r = NULL;
    struct iso_cs *k = conn_cs(b, s, &r);
    if (!k) return rx_result(c, s, r, NULL);
    struct axl_cspan sp[2];
    int av = axl_chan_app_rx_peek(&r->a, &k->as, sp);
    if (av < 0) return -EIO;
    if (av == 0) return rx_result(c, s, r, k);
    uint32_t m = AXL_MIN(len, (uint32_t)av);
    span_copy(sp, 0, buf, m);
    axl_chan_app_rx_commit(&r->a, &k->as, m);
    r->kick = 1;
    return (int)m;
}

/* ---- registered memory and objects -------------------------------------------------------- */

static int iso_mem_alloc(struct axl_ctx *c, size_t size, struct axl_mem **out)
{
    struct iso *b = B(c);
    long pg = sysconf(_SC_PAGESIZE);
    size_t sz = (size + (size_t)pg - 1) & ~((size_t)pg - 1);
    if (sz < size || sz > AXL_CHAN_REGMEM_BYTES_MAX) return -EINVAL;
    if (b->nmem == b->capmem) {
        uint32_t ncap = b->capmem ? b->capmem * 2 : 8;
        struct axl_mem **n = realloc(b->mems, ncap * sizeof(*n));
        if (!n) return -ENOMEM;
        b->mems = n;
        b->capmem = ncap;
    }
    struct axl_mem *m = calloc(1, sizeof(*m));
    if (!m) return -ENOMEM;
    struct axl_chan_regmem rm;
    int rc = axl_chan_regmem_create(&rm, sz);
    if (rc < 0) {
        free(m);
        return rc;
    }
    m->base = rm.base;
    m->size = sz;
    m->fd = rm.fd;
    for (uint32_t i = 0; i < AXL_ISO_MAX_REPLICAS; i++)
        m->region[i] = UINT32_MAX;
    for (uint32_t i = 0; i < b->nrep; i++) {
        struct iso_rep *r = rep_of(b, i);
        if (!r) continue;
        rc = mem_reg_on(b, r, m);
        if (rc < 0) break;
    }
    if (rc < 0) {
        /* A replica refused (too many regions, too big): the memory stays
         * registered where it was until the session ends (there is no
         * REGMEM_DEL in the channel ABI). */
        axl_chan_regmem_destroy(&rm);
        free(m);
        return rc;
    }
    b->mems[b->nmem++] = m;
    *out = m;
    return 0;
}

static void iso_mem_free(struct axl_ctx *c, struct axl_mem *m)
{
    struct iso *b = B(c);
    for (uint32_t i = 0; i < b->nmem; i++)
        if (b->mems[i] == m) {
            b->mems[i] = b->mems[--b->nmem];
            break;
        }
    /* The replicas keep their read-only mapping until the session ends. */
    munmap(m->base, m->size);
    close(m->fd);
    free(m);
}

static int iso_send_mem(struct axl_ctx *c, struct axl_sk *s, struct axl_mem *m, uint64_t off,
                        uint32_t len, uint64_t cookie)
{
    struct iso *b = B(c);
    struct iso_rep *r = NULL;
    struct iso_cs *k = conn_cs(b, s, &r);
    uint32_t region;
    if (!k || s->cleaned) return conn_err(s);
    if (mem_region(r, m, &region) < 0) return -ENOBUFS; /* not registered with this replica */
    struct axl_chan_cmd cmd;
    memset(&cmd, 0, sizeof(cmd));
    cmd.op = AXL_CHAN_OP_SEND;
    cmd.flags = AXL_CHAN_SENDF_REG;
    cmd.sock = s->cid;
    cmd.gen = s->cgen;
    cmd.len = len;
    cmd.cookie = cookie;
    cmd.off = off;
    cmd.region = region;
    cmd.pos = k->as.tx.pos; /* after the ring bytes queued so far (abi.h TX ordering) */
    cmd_put(b, r, &cmd);
    return 0;
}

static int iso_obj_register(struct axl_ctx *c, struct axl_mem *m, uint64_t off, uint32_t len,
                            int copy, struct axl_obj **out)
{
    struct iso *b = B(c);
    if (len > AXL_CHAN_OBJ_MAX) return -EINVAL;
    if (b->nobj == b->capobj) {
        uint32_t ncap = b->capobj ? b->capobj * 2 : 16;
        struct axl_obj **n = realloc(b->objs, ncap * sizeof(*n));
        if (!n) return -ENOMEM;
        b->objs = n;
        b->capobj = ncap;
    }
    struct axl_obj *o = calloc(1, sizeof(*o));
    if (!o) return -ENOMEM;
    o->m = m;
    o->off = off;
    o->len = len;
    o->copy = copy;
    for (uint32_t i = 0; i < AXL_ISO_MAX_REPLICAS; i++)
        o->id[i] = UINT32_MAX;
    int rc = 0;
    for (uint32_t i = 0; i < b->nrep && rc == 0; i++) {
        struct iso_rep *r = rep_of(b, i);
        if (r) rc = obj_reg_on(c, r, o);
    }
    if (rc < 0) {
        for (uint32_t i = 0; i < b->nrep; i++) {
            struct iso_rep *r = rep_of(b, i);
            if (r && o->id[i] != UINT32_MAX && o->epoch[i] == r->epoch)
                cmd_sock(b, r, AXL_CHAN_OP_OBJ_FREE, 0, NONE, 0, o->id[i], 0, CK_IGNORE);
        }
        free(o);
        return rc;
    }
    b->objs[b->nobj++] = o;
    *out = o;
    return 0;
}

static int iso_send_obj(struct axl_ctx *c, struct axl_sk *s, struct axl_obj *o, uint64_t cookie)
{
    struct iso *b = B(c);
    struct iso_rep *r = NULL;
    struct iso_cs *k = conn_cs(b, s, &r);
    if (!k || s->cleaned) return conn_err(s);
    if (o->id[r->idx] == UINT32_MAX || o->epoch[r->idx] != r->epoch) return -ENOBUFS;
    cmd_sock(b, r, AXL_CHAN_OP_OBJ_SEND, 0, s->cid, s->cgen, o->id[r->idx], 0, cookie);
    return 0;
}

static void iso_obj_free(struct axl_ctx *c, struct axl_obj *o)
{
    struct iso *b = B(c);
    for (uint32_t i = 0; i < b->nrep; i++) {
        struct iso_rep *r = rep_of(b, i);
        if (r && o->id[i] != UINT32_MAX && o->epoch[i] == r->epoch)
            cmd_sock(b, r, AXL_CHAN_OP_OBJ_FREE, 0, NONE, 0, o->id[i], 0, CK_IGNORE);
    }
    for (uint32_t i = 0; i < b->nobj; i++)
        if (b->objs[i] == o) {
            b->objs[i] = b->objs[--b->nobj];
            break;
        }
    free(o);
}

/* ---- UDP ---------------------------------------------------------------------------------- */

static int iso_sendto(struct axl_ctx *c, struct axl_sk *s, const void *buf, uint32_t len,
                      uint32_t addr, uint16_t port)
{
    struct iso *b = B(c);
    struct iso_x *x = &b->x[s - c->sk];
    if (!s->lid) {
        int rc = udp_bind_all(c, s, 0);
        if (rc < 0) return rc;
    }
    /* From the replica the last datagram came from (its ARP entry is fresh
     * and the flow's replies come back there), else round-robin. */
    struct iso_rep *r = NULL;
    struct iso_cs *k = NULL;
    for (uint32_t t = 0; t <= b->nrep && !k; t++) {
        uint32_t i = t == 0 ? s->rep : (x->udp_rr + t) % b->nrep;
        r = rep_of(b, i);
        k = r && s->lid[i] != NONE ? cs_of(r, s->lid[i], s->lgen[i]) : NULL;
        if (k && k->kind != CS_UDP) k = NULL;
    }
    if (!k) return -ENETDOWN;
    uint32_t span = AXL_CHAN_DGRAM_SPAN(len);
    if (span > k->as.tx.size) return -EMSGSIZE;
    struct axl_span sp[2];
    int room = axl_chan_app_tx_reserve(&r->a, &k->as, sp);
    if (room >= 0 && (uint32_t)room < span) {
        axl_chan_app_tx_want(&r->a, &k->as, 1);
        room = axl_chan_app_tx_reserve(&r->a, &k->as, sp);
    }
    if (room < 0) return -EIO;
    if ((uint32_t)room < span) return -EAGAIN;
    struct axl_chan_dgram h = {len, htonl(addr), htons(port), 0, 0};
    static const uint8_t pad[8];
    const struct {
        const void *p;
        uint32_t n;
    } parts[3] = {{&h, sizeof(h)}, {buf, len}, {pad, span - (uint32_t)sizeof(h) - len}};
    uint32_t si = 0, so = 0;
    for (int i = 0; i < 3; i++) {
        uint32_t off = 0;
        while (off < parts[i].n) {
            uint32_t m = AXL_MIN(parts[i].n - off, sp[si].len - so);
            memcpy(sp[si].p + so, (const uint8_t *)parts[i].p + off, m);
            off += m;
            so += m;
            if (so == sp[si].len) {
                si++;
                so = 0;
            }
        }
    }
    axl_chan_app_tx_publish(&r->a, &k->as, span);
    cmd_sock(b, r, AXL_CHAN_OP_SEND, 0, s->lid[r->idx], s->lgen[r->idx], 0, span, 0);
    return 0;
}

static int iso_recvfrom(struct axl_ctx *c, struct axl_sk *s, void *buf, uint32_t len,
                        uint32_t *addr, uint16_t *port)
{
    struct iso *b = B(c);
    struct axl_chan_dgram h;
    struct axl_cspan sp[2];
    int av;
    int i = udp_next(c, s, &h, sp, &av);
    if (i < 0) return -EAGAIN;
    struct iso_rep *r = &b->rep[i];
    struct iso_cs *k = &r->cs[s->lid[i]];
    uint32_t m = AXL_MIN(len, h.len);
    if (m) span_copy(sp, sizeof(h), buf, m);
    axl_chan_app_rx_commit(&r->a, &k->as, AXL_CHAN_DGRAM_SPAN(h.len));
    r->kick = 1;
    s->rep = (uint32_t)i; /* answers go out where the question came in */
    b->x[s - c->sk].udp_rr = (uint32_t)i + 1;
    if (addr) *addr = ntohl(h.addr);
    if (port) *port = ntohs(h.port);
    return (int)m;
}

/* ---- counters ------------------------------------------------------------------------------ */

static int iso_stat(struct axl_ctx *c, const char *name, uint64_t *val)
{
    struct iso *b = B(c);
    static const char *const own[] = {"AxlIsoReplicasLost",     "AxlIsoReattaches",
                                      "AxlIsoReattachFailures", "AxlIsoCmdOverflow",
                                      "AxlIsoCmdTimeouts",      "AxlIsoViolations",
                                      "AxlIsoConnsAborted",     "AxlIsoCmds",
                                      "AxlIsoConnectRetries",   "AxlIsoSleeps",
                                      "AxlIsoWakes"};
    uint64_t wakes = b->st_wakes;
    for (uint32_t i = 0; i < b->nrep; i++)
        if (b->rep[i].state == REP_UP) wakes += b->rep[i].a.stats.wakes;
    const uint64_t ownv[] = {b->st_lost,    b->st_reattach, b->st_reattach_fail,
                             b->st_ovf,     b->st_timeout,  b->st_viol,
                             b->st_aborted, b->st_cmds,     b->st_conn_retry,
                             b->st_sleeps,  wakes};
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
        if (!strcmp(name, own[i])) {
            *val = ownv[i];
            return 0;
        }
    if (!strcmp(name, "AxlIsoReplicasUp")) {
        uint64_t n = 0;
        for (uint32_t i = 0; i < b->nrep; i++)
            n += b->rep[i].state == REP_UP;
        *val = n;
        return 0;
    }
    /* the stack's: the supervisor's "stats" answer, the total column */
    char *body = NULL;
    int rc = ctl_request(b, "stats", &body, NULL, NULL, 0, NULL, 0);
    if (rc < 0) return rc == -EPIPE ? -ENOTCONN : rc;
    rc = -ENOENT;
    size_t nl = strlen(name);
    for (char *l = body; l && *l;) {
        char *e = strchr(l, '\n');
        if (!strncmp(l, name, nl) && l[nl] == ' ') {
            char *end = e ? e : l + strlen(l);
            char *sp = end;
            while (sp > l && sp[-1] != ' ')
                sp--;
            char num[32];
            uint64_t v;
            snprintf(num, sizeof(num), "%.*s", (int)(end - sp), sp);
            if (axl_parse_u64(num, &v) == 0) {
                *val = v;
                rc = 0;
            }
            break;
        }
        l = e ? e + 1 : NULL;
    }
    free(body);
    return rc;
}

/* ---- open / destroy -------------------------------------------------------------------------- */

static void iso_destroy(struct axl_ctx *c)
{
    struct iso *b = B(c);
    if (!b) return;
    /* Let what was closed finish (FIN after the queued data) while the
     * session lasts: its end aborts every connection still open. */
    uint64_t t0 = axl_clock_ns();
    for (;;) {
        iso_flush(c);
        int busy = 0;
        for (uint32_t i = 0; i < b->nrep; i++) {
            struct iso_rep *r = &b->rep[i];
            if (r->state != REP_UP) continue;
            drain(c, r, UINT32_MAX);
            if (r->state != REP_UP) continue;
            busy |= r->ovf_n != 0;
            for (uint32_t j = 0; j < r->a.lay.p.max_socks && !busy; j++) {
                struct iso_cs *k = &r->cs[j];
                if (k->kind != CS_ORPHAN && k->kind != CS_CONN) continue;
                /* a socket is over when the stack freed its slot */
                busy = atomic_load_explicit(&r->a.slots[j].state, memory_order_acquire) !=
                           AXL_CHAN_SS_FREE &&
                       atomic_load_explicit(&r->a.slots[j].gen, memory_order_relaxed) == k->gen;
            }
        }
        if (!busy || axl_clock_ns() - t0 >= ISO_DRAIN_NS) break;
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
    for (uint32_t i = 0; i < b->nrep; i++) {
        struct iso_rep *r = &b->rep[i];
        if (r->state == REP_UP) {
            axl_chan_app_unmap(&r->a);
            free(r->cs);
        }
        free(r->ovf);
        if (r->fd >= 0) close(r->fd);
    }
    if (b->ctl >= 0) close(b->ctl);
    for (uint32_t i = 0; i < b->nobj; i++)
        free(b->objs[i]);
    free(b->objs);
    for (uint32_t i = 0; i < b->nmem; i++) {
        munmap(b->mems[i]->base, b->mems[i]->size);
        close(b->mems[i]->fd);
        free(b->mems[i]);
    }
    free(b->mems);
    if (b->x)
        for (uint32_t i = 0; i < c->max_socks; i++)
            free(b->x[i].acc);
    free(b->x);
    free(b);
    c->bk = NULL;
}

static const struct axl_backend_ops iso_ops = {
    .destroy = iso_destroy,
    .work = iso_work,
    .sleep = iso_sleep,
    .flush = iso_flush,
    .fd = iso_fd,
    .socket = iso_socket,
    .bind = iso_bind,
    .listen = iso_listen,
    .accept = iso_accept,
    .connect = iso_connect,
    .shutdown = iso_shutdown,
    .close = iso_close,
    .setopt = iso_setopt,
    .info = iso_info,
    .send = iso_send,
    .recv = iso_recv,
    .recv_peek = iso_recv_peek,
    .recv_done = iso_recv_done,
    .mem_alloc = iso_mem_alloc,
    .mem_free = iso_mem_free,
    .send_mem = iso_send_mem,
    .obj_register = iso_obj_register,
    .send_obj = iso_send_obj,
    .obj_free = iso_obj_free,
    .sendto = iso_sendto,
    .recvfrom = iso_recvfrom,
    .stat = iso_stat,
    .readable = iso_readable,
};

/* The application's name for axlctl: 1..32 of [A-Za-z0-9._-]. */
static void app_name(const char *in, char *out, size_t outlen)
{
    size_t n = 0;
    if (!in || !*in) in = program_invocation_short_name;
    if (!in || !*in) in = "app";
    for (; *in && n + 1 < outlen && n < 32; in++) {
        char ch = *in;
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '.' || ch == '_' || ch == '-';
        out[n++] = ok ? ch : '_';
    }
    out[n] = 0;
}

int axl_iso_open(struct axl_ctx *c, const struct axl_config *cfg, char *err, size_t errlen)
{
    const char *path = cfg->stack;
    if (!path || !*path) path = getenv(AXL_STACK_ENV);
    if (!path || !*path) path = AXL_STACK_DEFAULT;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path)) {
        snprintf(err, errlen, "control socket path too long: %s", path);
        return -EINVAL;
    }
    struct iso *b = calloc(1, sizeof(*b));
    if (!b) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    b->ctl = -1;
    for (uint32_t i = 0; i < AXL_ISO_MAX_REPLICAS; i++) {
        b->rep[i].idx = i;
        b->rep[i].fd = -1;
    }
    snprintf(b->path, sizeof(b->path), "%s", path);
    app_name(cfg->name, b->name, sizeof(b->name));
    axl_rand_seed(&b->rnd, cfg->seed ? cfg->seed : axl_clock_ns() ^ ((uint64_t)getpid() << 32));
    c->bk = b;
    c->ops = &iso_ops;
    /* the replica may share our CPU: spin only while spinning pays (ctx.c) */
    c->spin_adapt = 1;
    c->spin_ns = 50 * AXL_NS_PER_US;
    b->x = calloc(c->max_socks, sizeof(*b->x));
    int rc, fds[AXL_ISO_MAX_REPLICAS], nfds = 0;
    char *body = NULL, msg[200], line[64];
    if (!b->x) {
        snprintf(err, errlen, "out of memory");
        rc = -ENOMEM;
        goto fail;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    b->ctl = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (b->ctl < 0 || connect(b->ctl, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        rc = -errno;
        snprintf(err, errlen, "cannot reach axl-stackd at %s: %s%s", path, strerror(-rc),
                 rc == -ENOENT || rc == -ECONNREFUSED
                     ? " (is axl-stackd running? --stack PATH or $" AXL_STACK_ENV " names its "
                       "control socket)"
                     : "");
        goto fail;
    }
    snprintf(line, sizeof(line), "attach %s", b->name);
    rc = ctl_request(b, line, &body, fds, &nfds, AXL_ISO_MAX_REPLICAS, msg, sizeof(msg));
    if (rc < 0) {
        snprintf(err, errlen, "axl-stackd at %s refused to attach %s: %s", path, b->name,
                 msg[0] ? msg : axl_strerror(rc));
        goto fail;
    }
    if (kv_u32(body, "app", &b->app_id) < 0 || kv_u32(body, "replicas", &b->nrep) < 0 ||
        b->nrep == 0 || b->nrep > AXL_ISO_MAX_REPLICAS) {
        snprintf(err, errlen, "axl-stackd at %s: unexpected attach answer", path);
        rc = -EPROTO;
        goto fail;
    }
    /* one line per channel socket, in the order of the fds */
    int k = 0;
    for (char *l = strchr(body, '\n'); l && k < nfds; l = strchr(l + 1, '\n')) {
        uint32_t ri;
        if (kv_u32(l + 1, "replica", &ri) < 0) continue;
        if (ri >= b->nrep || b->rep[ri].fd >= 0) {
            snprintf(err, errlen, "axl-stackd at %s: bad replica line in the attach answer", path);
            rc = -EPROTO;
            goto fail;
        }
        struct iso_rep *r = &b->rep[ri];
        r->fd = fds[k];
        fds[k++] = -1;
        kv_u32(l + 1, "queue", &r->queue);
        kv_u32(l + 1, "gen", &r->gen);
    }
    for (; k < nfds; k++)
        if (fds[k] >= 0) close(fds[k]);
    nfds = 0;
    free(body);
    body = NULL;
    /* the HELLOs */
    uint64_t deadline = axl_clock_ns() + ISO_HELLO_WAIT_NS;
    uint32_t up = 0;
    for (uint32_t i = 0; i < b->nrep; i++) {
        struct iso_rep *r = &b->rep[i];
        if (r->fd < 0) {
            r->state = REP_DOWN; /* not running now: reattached later */
            continue;
        }
        struct pollfd p = {.fd = r->fd, .events = POLLIN};
        uint64_t now = axl_clock_ns();
        int pr = now < deadline ? poll(&p, 1, (int)((deadline - now) / AXL_NS_PER_MS) + 1) : 0;
        if (pr <= 0 || rep_map(r, msg, sizeof(msg)) < 0) {
            if (pr <= 0) snprintf(msg, sizeof(msg), "replica %u sent no HELLO in time", i);
            axl_warn("axl", "%s; retrying later", msg);
            r->state = REP_HELLO;
            rep_down(c, r, "no HELLO");
            continue;
        }
        up++;
    }
    if (!up) {
        snprintf(err, errlen, "axl-stackd at %s has no running replica to attach to", path);
        rc = -ENETDOWN;
        goto fail;
    }
    /* our address: "ping" says addr=A.B.C.D/LEN */
    if (ctl_request(b, "ping", &body, NULL, NULL, 0, NULL, 0) == 0) {
        char a[40];
        struct axl_cidr cidr;
        if (kv_get(body, "addr", a, sizeof(a)) == 0 && axl_parse_cidr(a, &cidr) == 0)
            c->addr = cidr.addr;
        free(body);
        body = NULL;
    }
    c->nreplicas = b->nrep;
    b->next_check = axl_clock_ns() + ISO_CHECK_NS;
    axl_info("axl", "attached to axl-stackd at %s as app %u (%s): %u of %u replicas", path,
             b->app_id, b->name, up, b->nrep);
    return 0;
fail:
    for (int i = 0; i < nfds; i++)
        if (fds[i] >= 0) close(fds[i]);
    free(body);
    iso_destroy(c);
    c->ops = NULL;
    return rc;
}
