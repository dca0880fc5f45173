/* SPDX-License-Identifier: MIT */
/*
 * ctl.c - the supervisor's control socket: a Unix stream socket speaking the
 * line protocol of ctl_proto.h (ping, replicas, stats, conns, capture,
 * kill-replica, apps, listeners, and the application session commands attach, reattach, listen,
 * unlisten, served with apps.c).
 *
 * Sessions: a client that attached is an application; its channel sockets
 * go out with the first byte of the "ok" line of the attach / reattach reply
 * (SCM_RIGHTS on the stream: the output buffer remembers the offset and the
 * fds, and client_flush sends that byte with sendmsg). The session ends when
 * the connection closes (client_drop -> sup_app_detach).
 *
 * Ownership of the path: PATH.lock is flock()ed for the supervisor's whole
 * life, so "another live axl-stackd owns PATH" is a lock that cannot be taken
 * (the kernel drops it when that process dies, however it dies). With the
 * lock held, a socket file left at PATH is stale (its owner is gone) and is
 * replaced. The socket is created with mode 0600 (umask 077 around bind),
 * its directory (mode 0755) when missing; both files go at exit.
 *
 * Clients are served from the supervisor's single-threaded epoll loop with
 * non-blocking I/O: requests are read up to a newline (at most
 * AXL_CTL_LINE_MAX bytes), answered into a per-client output buffer, and the
 * buffer is written as the socket accepts it (EPOLLOUT while some is left).
 * At most AXL_CTL_MAX_CLIENTS at once; a client over the limit is told so and
 * closed; one whose unread output grows past AXL_CTL_OUT_MAX is dropped.
 *
 * Call chain: supervisor.c loop -> ctl_event -> accept | client_read ->
 *   handle_line -> cmd_* -> sup_view / sup_counters / sup_kill (supervisor.c)
 *   -> client_flush.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <netinet/in.h>

#include "core/err.h"
#include "core/log.h"
#include "stackd/stackd.h"

#define CMDS                                                                                       \
    "ping, replicas, stats, conns, capture, kill-replica, scale, apps, listeners, attach, "        \
    "reattach, listen, unlisten"

/** AXL_CTL_OUT_MAX: unread response bytes a client may hold us to. */
#define AXL_CTL_OUT_MAX (8u << 20)

struct ctl_client {
    int fd; /* -1: free slot */
    uint32_t inlen;
    char in[AXL_CTL_LINE_MAX];
    int discard; /* the current line is over-long: skip to its newline */
    int eof;     /* the client has finished sending: close once answered */
    char *out;
    size_t outlen, outoff, outcap;
    int oom; /* an append failed: drop the client */
    uint32_t app_id; /* session: the application's id, 0 = not attached */
    int pfd[AXL_MAX_REPLICAS]; /* fds that go with the byte at out[pfd_off] */
    uint32_t npfd;
    size_t pfd_off;
};

/* ---- output buffer --------------------------------------------------------- */

static void out_vadd(struct ctl_client *cl, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || cl->oom) return;
    size_t need = cl->outlen + (size_t)n + 1;
    if (need > AXL_CTL_OUT_MAX) {
        cl->oom = 1;
        return;
    }
    if (need > cl->outcap) {
        size_t cap = cl->outcap ? cl->outcap : 4096;
        while (cap < need)
            cap *= 2;
        char *p = realloc(cl->out, cap);
        if (!p) {
            cl->oom = 1;
            return;
        }
        cl->out = p;
        cl->outcap = cap;
    }
    vsnprintf(cl->out + cl->outlen, (size_t)n + 1, fmt, ap);
    cl->outlen += (size_t)n;
}

static void AXL_PRINTF(2, 3) out_add(struct ctl_client *cl, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    out_vadd(cl, fmt, ap);
    va_end(ap);
}

static void AXL_PRINTF(3, 4)
    reply_err(struct ctl_client *cl, const char *code, const char *fmt, ...)
{
    va_list ap;
    out_add(cl, "err %s ", code);
    va_start(ap, fmt);
    out_vadd(cl, fmt, ap);
    va_end(ap);
    out_add(cl, "\n" AXL_CTL_END "\n");
}

/* ---- commands ------------------------------------------------------------------ */

static void fmt_ms(char *b, size_t n, double ms)
{
    if (ms < 0)
        snprintf(b, n, "-");
    else
        snprintf(b, n, "%.3f", ms);
}
static void fmt_i64(char *b, size_t n, int64_t v)
{
    if (v < 0)
        snprintf(b, n, "-");
    else
        snprintf(b, n, "%lld", (long long)v);
}

static void cmd_ping(struct ctl_client *cl, struct sup *S)
{
    pid_t pid;
    int64_t up;
    uint32_t running, failed;
    const char *port;
    char addr[32];
    uint32_t active, max;
    char act[16] = "-", mx[16] = "-";
    sup_summary(S, &pid, &up, &running, &failed, &port, addr, sizeof(addr));
    sup_scale_info(S, &active, &max);
    if (max) {
        snprintf(act, sizeof(act), "%u", active);
        snprintf(mx, sizeof(mx), "%u", max);
    }
    out_add(cl,
            "ok\npid=%d proto=%d uptime_ms=%lld replicas=%u running=%u failed=%u port=%s "
            "addr=%s active=%s scale_max=%s\n" AXL_CTL_END "\n",
            (int)pid, AXL_CTL_VERSION, (long long)up, sup_nreplicas(S), running, failed, port,
            addr, act, mx);
}

/* Replicas that serve applications: 0..n-1, the director (--director, the
 * last entry of `axlctl replicas`) excluded (sup_replica_link says
 * AXL_ENOENT for it whatever its state). */
static uint32_t app_replicas(struct sup *S)
{
    uint32_t n = sup_nreplicas(S), q, g;
    while (n && sup_replica_link(S, n - 1, &q, &g) == AXL_ENOENT)
        n--;
    return n;
}

static void cmd_replicas(struct ctl_client *cl, struct sup *S)
{
    out_add(cl, "ok\n");
    for (uint32_t i = 0; i < sup_nreplicas(S); i++) {
        struct replica_view v;
        char up[24], rs[24], dn[24], hb[24], pid[16], cpu[16], load[16], conns[24];
        char bk[24], dr[24];
        sup_view(S, i, &v);
        fmt_i64(bk, sizeof(bk), v.buckets);
        fmt_i64(dr, sizeof(dr), v.draining);
        if (v.load < 0)
            snprintf(load, sizeof(load), "-");
        else
            snprintf(load, sizeof(load), "%.3f", v.load);
        fmt_i64(conns, sizeof(conns), v.conns);
        fmt_i64(up, sizeof(up), v.uptime_ms);
        fmt_ms(rs, sizeof(rs), v.restart_ms);
        fmt_ms(dn, sizeof(dn), v.down_ms);
        fmt_i64(hb, sizeof(hb), v.hb_age_ms);
        fmt_i64(pid, sizeof(pid), v.pid > 0 ? v.pid : -1);
        fmt_i64(cpu, sizeof(cpu), v.cpu);
        out_add(cl,
                "replica=%u pid=%s queue=%u cpu=%s state=%s gen=%u uptime_ms=%s restarts=%u "
                "last_exit=%s restart_ms=%s down_ms=%s hb_age_ms=%s heartbeat=%llu load=%s "
                "conns=%s role=%s buckets=%s draining=%s\n",
                v.idx, pid, v.queue, cpu, v.state, v.gen, up, v.restarts, v.last_exit, rs, dn, hb,
                (unsigned long long)v.heartbeat, load, conns, v.role, bk, dr);
    }
    out_add(cl, AXL_CTL_END "\n");
}

static void cmd_stats(struct ctl_client *cl, struct sup *S)
{
    uint32_t nr = sup_nreplicas(S), nc = axl_rstat_ncounters();
    uint64_t *v = calloc((size_t)nr * nc, sizeof(*v));
    if (!v) {
        reply_err(cl, "ENOMEM", "out of memory");
        return;
    }
    for (uint32_t r = 0; r < nr; r++)
        sup_counters(S, r, v + (size_t)r * nc, nc);
    out_add(cl, "ok\nreplicas");
    for (uint32_t r = 0; r < nr; r++)
        out_add(cl, " %u", r);
    out_add(cl, "\n");
    for (uint32_t c = 0; c < nc; c++) {
        const char *name = axl_rstat_name(c);
        uint64_t total = 0;
        if (!name) continue;
        out_add(cl, "%s", name);
        for (uint32_t r = 0; r < nr; r++) {
            uint64_t x = v[(size_t)r * nc + c];
            total += x;
            out_add(cl, " %llu", (unsigned long long)x);
        }
        out_add(cl, " %llu\n", (unsigned long long)total);
    }
    out_add(cl, AXL_CTL_END "\n");
    free(v);
}

static const struct {
    const char *name;
    int sig;
} kill_sigs[] = {
    {"KILL", SIGKILL}, {"SEGV", SIGSEGV}, {"ABRT", SIGABRT}, {"TERM", SIGTERM}, {"STOP", SIGSTOP},
};

static int parse_u32(const char *s, uint32_t *out)
{
    char *end;
    if (!s || !*s || *s == '-' || *s == '+') return -1;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v > 0xffffffffUL) return -1;
    *out = (uint32_t)v;
    return 0;
}

static void cmd_kill(struct ctl_client *cl, struct sup *S, int argc, char **argv)
{
    uint32_t idx;
    int sig = SIGKILL;
    const char *signame = "KILL";

    if (argc < 2 || argc > 3 || parse_u32(argv[1], &idx) < 0) {
        reply_err(cl, "EINVAL", "usage: kill-replica N [KILL|SEGV|ABRT|TERM|STOP]");
        return;
    }
    if (argc == 3) {
        const char *a = argv[2];
        if (!strncmp(a, "SIG", 3)) a += 3;
        sig = 0;
        for (size_t i = 0; i < sizeof(kill_sigs) / sizeof(kill_sigs[0]); i++)
            if (!strcmp(a, kill_sigs[i].name)) {
                sig = kill_sigs[i].sig;
                signame = kill_sigs[i].name;
            }
        if (!sig) {
            reply_err(cl, "EINVAL", "signal '%s' not offered (KILL, SEGV, ABRT, TERM, STOP)",
                      argv[2]);
            return;
        }
    }
    if (idx >= sup_nreplicas(S)) {
        reply_err(cl, "ENOENT", "no replica %u (replicas 0..%u)", idx, sup_nreplicas(S) - 1);
        return;
    }
    struct replica_view v;
    sup_view(S, idx, &v);
    int rc = sup_kill(S, idx, sig);
    if (rc < 0) {
        reply_err(cl, "ESRCH", "replica %u is not running (state %s)", idx, v.state);
        return;
    }
    out_add(cl, "ok\nreplica=%u pid=%d signal=%s\n" AXL_CTL_END "\n", idx, (int)v.pid, signame);
}

/* scale N: the director's redirection table over N replicas (director.h). */
static void cmd_scale(struct ctl_client *cl, struct sup *S, int argc, char **argv)
{
    uint32_t n, max;
    if (argc != 2 || parse_u32(argv[1], &n) < 0) {
        reply_err(cl, "EINVAL", "usage: scale N (active replicas, 1..--scale-max)");
        return;
    }
    int rc = sup_scale(S, n, &max);
    if (rc == AXL_ENOTSUP)
        reply_err(cl, "ENOTSUP",
                  "scale needs --director: this device's queues are steered by the NIC's RSS "
                  "table");
    else if (rc == -ERANGE)
        reply_err(cl, "ERANGE", "scale %u: the active replicas must be 1..%u (--scale-max %u)", n,
                  max, max);
    else if (rc < 0)
        reply_err(cl, "EIO", "scale: %s", axl_strerror(rc));
    else
        out_add(cl, "ok\nactive=%u scale_max=%u\n" AXL_CTL_END "\n", n, max);
}

/* Queue fds to go with the next byte appended to the output. */
static void fds_mark(struct ctl_client *cl);

/* conns / capture: one socket per asked replica (ctl_proto.h). */
static void request_replicas(struct ctl_client *cl, struct sup *S, const char *what, int all,
                             uint32_t idx, uint16_t type, const struct axl_link_cap *cap)
{
    uint32_t n = sup_nreplicas(S), lq[AXL_MAX_REPLICAS], lg[AXL_MAX_REPLICAS], li[AXL_MAX_REPLICAS];
    if (cl->npfd) {
        reply_err(cl, "EAGAIN", "read the previous reply first");
        return;
    }
    if (!all && idx >= n) {
        reply_err(cl, "ENOENT", "no replica %u (replicas 0..%u)", idx, n - 1);
        return;
    }
    for (uint32_t i = all ? 0 : idx; i < (all ? n : idx + 1) && i < AXL_MAX_REPLICAS; i++) {
        int fd;
        if (sup_replica_request(S, i, type, cap, &fd, &lq[cl->npfd], &lg[cl->npfd]) < 0) continue;
        li[cl->npfd] = i;
        cl->pfd[cl->npfd++] = fd;
    }
    if (!cl->npfd) {
        if (all)
            reply_err(cl, "ESRCH", "%s: no replica serving now", what);
        else
            reply_err(cl, "ESRCH", "%s: replica %u is not serving now", what, idx);
        return;
    }
    fds_mark(cl);
    out_add(cl, "ok\n");
    for (uint32_t k = 0; k < cl->npfd; k++)
        out_add(cl, "replica=%u queue=%u gen=%u\n", li[k], lq[k], lg[k]);
    out_add(cl, AXL_CTL_END "\n");
}

static void cmd_conns(struct ctl_client *cl, struct sup *S, int argc, char **argv)
{
    uint32_t idx = 0;
    if (argc > 2 || (argc == 2 && parse_u32(argv[1], &idx) < 0)) {
        reply_err(cl, "EINVAL", "usage: conns [REPLICA]");
        return;
    }
    request_replicas(cl, S, "conns", argc == 1, idx, AXL_LINK_CONNS, NULL);
}

/* capture I|all COUNT HOST PORT PROTO ("-" = any) */
static void cmd_capture(struct ctl_client *cl, struct sup *S, int argc, char **argv)
{
    struct axl_link_cap cap;
    uint32_t idx = 0, count, port = 0;
    int all = 0;
    memset(&cap, 0, sizeof(cap));
    if (argc != 6 || parse_u32(argv[2], &count) < 0) goto usage;
    if (!strcmp(argv[1], "all"))
        all = 1;
    else if (parse_u32(argv[1], &idx) < 0)
        goto usage;
    if (strcmp(argv[3], "-") && axl_parse_ipv4(argv[3], &cap.host) < 0) {
        reply_err(cl, "EINVAL", "capture: '%.64s' is not an IPv4 address", argv[3]);
        return;
    }
    if (strcmp(argv[4], "-") && (parse_u32(argv[4], &port) < 0 || port < 1 || port > 65535)) {
        reply_err(cl, "EINVAL", "capture: port '%.64s' is not 1..65535", argv[4]);
        return;
    }
    cap.port = (uint16_t)port;
    if (!strcmp(argv[5], "icmp"))
        cap.proto = IPPROTO_ICMP;
    else if (!strcmp(argv[5], "tcp"))
        cap.proto = IPPROTO_TCP;
    else if (!strcmp(argv[5], "udp"))
        cap.proto = IPPROTO_UDP;
    else if (strcmp(argv[5], "-")) {
        reply_err(cl, "EINVAL", "capture: protocol '%.64s' is not icmp, tcp or udp", argv[5]);
        return;
    }
    cap.limit = count;
    cap.snaplen = 0; /* whole frames */
    request_replicas(cl, S, "capture", all, idx, AXL_LINK_CAPTURE, &cap);
    return;
usage:
    reply_err(cl, "EINVAL", "usage: capture REPLICA|all COUNT HOST|- PORT|- icmp|tcp|udp|-");
}

/* ---- sessions ---------------------------------------------------------------------- */

/* Queue fds to go with the next byte appended to the output. */
static void fds_mark(struct ctl_client *cl)
{
    cl->pfd_off = cl->outlen;
}

static void cmd_attach(struct ctl_client *cl, struct sup *S, int argc, char **argv)
{
    if (argc != 2 || !axl_app_name_ok(argv[1])) {
        reply_err(cl, "EINVAL", "usage: attach NAME (1..%d of A-Z a-z 0-9 . _ -)",
                  AXL_APP_NAME_MAX);
        return;
    }
    if (cl->app_id) {
        reply_err(cl, "EALREADY", "this connection is application %u already", cl->app_id);
        return;
    }
    if (cl->npfd) {
        reply_err(cl, "EAGAIN", "read the previous reply first");
        return;
    }
    uint32_t id;
    int rc = sup_app_attach(S, cl->fd, argv[1], &id);
    if (rc == -EMFILE) {
        reply_err(cl, "EMFILE", "too many applications (%d)", AXL_SUP_MAX_APPS);
        return;
    }
    if (rc < 0) {
        reply_err(cl, "EIO", "cannot attach: %s", strerror(-rc));
        return;
    }
    cl->app_id = id;
    uint32_t n = app_replicas(S), lq[AXL_MAX_REPLICAS], lg[AXL_MAX_REPLICAS], li[AXL_MAX_REPLICAS];
    for (uint32_t i = 0; i < n && i < AXL_MAX_REPLICAS; i++) {
        int fd;
        if (sup_app_channel(S, id, i, &fd, &lq[cl->npfd], &lg[cl->npfd]) < 0) continue;
        li[cl->npfd] = i;
        cl->pfd[cl->npfd++] = fd;
    }
    fds_mark(cl);
    out_add(cl, "ok\napp=%u replicas=%u\n", id, n);
    for (uint32_t k = 0; k < cl->npfd; k++)
        out_add(cl, "replica=%u queue=%u gen=%u\n", li[k], lq[k], lg[k]);
    out_add(cl, AXL_CTL_END "\n");
}

static int need_session(struct ctl_client *cl, const char *cmd)
{
    if (cl->app_id) return 1;
    reply_err(cl, "EPERM", "%s: only for an attached application (attach NAME first)", cmd);
    return 0;
}

static void cmd_reattach(struct ctl_client *cl, struct sup *S, int argc, char **argv)
{
    uint32_t idx, q, g;
    int fd;
    if (!need_session(cl, "reattach")) return;
    if (argc != 2 || parse_u32(argv[1], &idx) < 0) {
        reply_err(cl, "EINVAL", "usage: reattach N");
        return;
    }
    if (idx >= app_replicas(S)) {
        reply_err(cl, "ENOENT", "no replica %u (applications use replicas 0..%u)", idx,
                  app_replicas(S) - 1);
        return;
    }
    if (cl->npfd) {
        reply_err(cl, "EAGAIN", "read the previous reply first");
        return;
    }
    int rc = sup_app_channel(S, cl->app_id, idx, &fd, &q, &g);
    if (rc == -ESRCH) {
        reply_err(cl, "ESRCH", "replica %u is not running", idx);
        return;
    }
    if (rc < 0) {
        reply_err(cl, "EIO", "no channel to replica %u: %s", idx, strerror(-rc));
        return;
    }
    cl->pfd[cl->npfd++] = fd;
    fds_mark(cl);
    out_add(cl, "ok\nreplica=%u queue=%u gen=%u\n" AXL_CTL_END "\n", idx, q, g);
}

static void cmd_listen(struct ctl_client *cl, struct sup *S, int argc, char **argv, int add)
{
    const char *cmd = add ? "listen" : "unlisten";
    uint32_t port;
    uint8_t proto;
    if (!need_session(cl, cmd)) return;
    if (argc != 3 || parse_u32(argv[2], &port) < 0 || port < 1 || port > 65535 ||
        (strcmp(argv[1], "tcp") && strcmp(argv[1], "udp"))) {
        reply_err(cl, "EINVAL", "usage: %s tcp|udp PORT (1..65535)", cmd);
        return;
    }
    proto = !strcmp(argv[1], "tcp") ? IPPROTO_TCP : IPPROTO_UDP;
    int rc = sup_app_listen(S, cl->app_id, proto, (uint16_t)port, add);
    if (rc == AXL_EEXIST)
        reply_err(cl, "EEXIST", "%s port %u is held by another listener", argv[1], port);
    else if (rc == AXL_ENOENT)
        reply_err(cl, "ENOENT", "you do not hold %s port %u", argv[1], port);
    else if (rc < 0)
        reply_err(cl, "ENOBUFS", "the listener registry is full (%d)", AXL_REG_MAX);
    else
        out_add(cl, "ok\n" AXL_CTL_END "\n");
}

static void cmd_apps(struct ctl_client *cl, struct sup *S)
{
    const struct sup_apps *A = sup_apps_of(S);
    out_add(cl, "ok\n");
    for (uint32_t i = 0; i < AXL_SUP_MAX_APPS; i++) {
        const struct sup_app *a = &A->a[i];
        if (!a->id) continue;
        out_add(cl, "app=%u pid=%d uid=%u name=%s channels=%u listeners=%u\n", a->id, (int)a->pid,
                (unsigned)a->uid, a->name, sup_app_channels(S, a), sup_app_listeners(S, a->id));
    }
    out_add(cl, AXL_CTL_END "\n");
}

static void cmd_listeners(struct ctl_client *cl, struct sup *S)
{
    const struct axl_registry *r = sup_registry(S);
    out_add(cl, "ok\n");
    for (uint32_t i = 0; i < r->n; i++) {
        const struct axl_reg_entry *e = &r->e[i];
        char app[16] = "-";
        if (e->kind == AXL_REG_APP) snprintf(app, sizeof(app), "%u", e->app);
        out_add(cl, "kind=%s proto=%s port=%u app=%s\n", axl_reg_kind_name(e->kind),
                e->proto == IPPROTO_TCP ? "tcp" : "udp", e->port, app);
    }
    out_add(cl, AXL_CTL_END "\n");
}

/* Split a request line into at most 8 space-separated tokens. */
static int tokenize(char *line, char **argv, int max)
{
    int n = 0;
    for (char *p = strtok(line, " \t"); p; p = strtok(NULL, " \t")) {
        if (n == max) return -1;
        argv[n++] = p;
    }
    return n;
}

static void handle_line(struct ctl_client *cl, struct sup *S, char *line)
{
    char *argv[8];
    size_t len = strlen(line);
    if (len && line[len - 1] == '\r') line[len - 1] = '\0'; /* typed through a terminal */
    int argc = tokenize(line, argv, 8);
    if (argc <= 0) {
        if (argc < 0) reply_err(cl, "EINVAL", "too many arguments");
        return; /* empty line: nothing to answer */
    }
    if (strcmp(argv[0], AXL_CTL_PROTO) != 0) {
        reply_err(cl, "EPROTO", "expected '%s <command>' (this axl-stackd speaks %s)",
                  AXL_CTL_PROTO, AXL_CTL_PROTO);
        return;
    }
    if (argc < 2) {
        reply_err(cl, "EINVAL", "missing command (" CMDS ")");
        return;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "ping") && argc == 2)
        cmd_ping(cl, S);
    else if (!strcmp(cmd, "replicas") && argc == 2)
        cmd_replicas(cl, S);
    else if (!strcmp(cmd, "stats") && argc == 2)
        cmd_stats(cl, S);
    else if (!strcmp(cmd, "conns"))
        cmd_conns(cl, S, argc - 1, argv + 1);
    else if (!strcmp(cmd, "capture"))
        cmd_capture(cl, S, argc - 1, argv + 1);
    else if (!strcmp(cmd, "kill-replica"))
        cmd_kill(cl, S, argc - 1, argv + 1);
    else if (!strcmp(cmd, "scale"))
        cmd_scale(cl, S, argc - 1, argv + 1);
    else if (!strcmp(cmd, "apps") && argc == 2)
        cmd_apps(cl, S);
    else if (!strcmp(cmd, "listeners") && argc == 2)
        cmd_listeners(cl, S);
    else if (!strcmp(cmd, "attach"))
        cmd_attach(cl, S, argc - 1, argv + 1);
    else if (!strcmp(cmd, "reattach"))
        cmd_reattach(cl, S, argc - 1, argv + 1);
    else if (!strcmp(cmd, "listen") || !strcmp(cmd, "unlisten"))
        cmd_listen(cl, S, argc - 1, argv + 1, !strcmp(cmd, "listen"));
    else if (!strcmp(cmd, "ping") || !strcmp(cmd, "replicas") || !strcmp(cmd, "stats") ||
             !strcmp(cmd, "apps") || !strcmp(cmd, "listeners"))
        reply_err(cl, "EINVAL", "%s takes no arguments", cmd);
    else
        reply_err(cl, "ENOENT", "unknown command '%.64s' (" CMDS ")", cmd);
}

/* ---- clients --------------------------------------------------------------------- */

static void client_drop(struct ctl *c, struct ctl_client *cl)
{
    for (uint32_t i = 0; i < cl->npfd; i++)
        close(cl->pfd[i]);
    if (cl->app_id && c->sup) sup_app_detach(c->sup, cl->app_id); /* the session ends */
    if (cl->fd >= 0) {
        epoll_ctl(c->epfd, EPOLL_CTL_DEL, cl->fd, NULL);
        close(cl->fd);
    }
    free(cl->out);
    memset(cl, 0, sizeof(*cl));
    cl->fd = -1;
}

/* Write what the socket takes; EPOLLOUT while output remains. 0 or -1 (dropped). */
static int client_flush(struct ctl *c, struct ctl_client *cl, uint64_t tag)
{
    if (cl->oom) {
        axl_warn("ctl", "client dropped: its response exceeded %u bytes or memory",
                 AXL_CTL_OUT_MAX);
        client_drop(c, cl);
        return -1;
    }
    while (cl->outoff < cl->outlen) {
        size_t end = cl->outlen;
        ssize_t n;
        if (cl->npfd && cl->outoff < cl->pfd_off) end = cl->pfd_off; /* up to the fds' byte */
        if (cl->npfd && cl->outoff == cl->pfd_off) {
            union {
                char buf[CMSG_SPACE(sizeof(int) * AXL_MAX_REPLICAS)];
                struct cmsghdr align;
            } cm;
            struct iovec iov = {cl->out + cl->outoff, end - cl->outoff};
            struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
                                 .msg_controllen = CMSG_SPACE(sizeof(int) * cl->npfd)};
            memset(cm.buf, 0, sizeof(cm.buf));
            struct cmsghdr *ch = CMSG_FIRSTHDR(&msg);
            ch->cmsg_level = SOL_SOCKET;
            ch->cmsg_type = SCM_RIGHTS;
            ch->cmsg_len = CMSG_LEN(sizeof(int) * cl->npfd);
            memcpy(CMSG_DATA(ch), cl->pfd, sizeof(int) * cl->npfd);
            n = sendmsg(cl->fd, &msg, MSG_NOSIGNAL);
            if (n > 0) { /* the fds went with the first byte: the app holds them now */
                for (uint32_t i = 0; i < cl->npfd; i++)
                    close(cl->pfd[i]);
                cl->npfd = 0;
            }
        } else {
            n = send(cl->fd, cl->out + cl->outoff, end - cl->outoff, MSG_NOSIGNAL);
        }
        if (n > 0) {
            cl->outoff += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        client_drop(c, cl); /* peer gone */
        return -1;
    }
    if (cl->outoff == cl->outlen) cl->outoff = cl->outlen = 0;
    if (cl->eof && !cl->outlen) {
        client_drop(c, cl); /* answered everything it asked */
        return -1;
    }
    struct epoll_event ev = {.events = (cl->eof ? 0u : EPOLLIN) | (cl->outlen ? EPOLLOUT : 0u),
                             .data.u64 = tag};
    epoll_ctl(c->epfd, EPOLL_CTL_MOD, cl->fd, &ev);
    return 0;
}

static void client_read(struct ctl *c, struct ctl_client *cl, struct sup *S, uint64_t tag)
{
    for (;;) {
        char buf[4096];
        ssize_t n = recv(cl->fd, buf, sizeof(buf), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n == 0) { /* EOF: answer what it asked, then close */
            cl->eof = 1;
            break;
        }
        if (n < 0) {
            client_drop(c, cl);
            return;
        }
        for (ssize_t i = 0; i < n; i++) {
            char ch = buf[i];
            if (ch == '\n') {
                if (cl->discard)
                    reply_err(cl, "E2BIG", "request longer than %d bytes", AXL_CTL_LINE_MAX);
                else {
                    cl->in[cl->inlen] = '\0';
                    handle_line(cl, S, cl->in);
                }
                cl->inlen = 0;
                cl->discard = 0;
            } else if (ch == '\0') {
                cl->discard = 1; /* no NUL bytes in a text request */
            } else if (!cl->discard) {
                if (cl->inlen + 1 >= AXL_CTL_LINE_MAX)
                    cl->discard = 1;
                else
                    cl->in[cl->inlen++] = ch;
            }
        }
        if (cl->outlen > AXL_CTL_OUT_MAX / 2) break; /* let it read before asking more */
    }
    client_flush(c, cl, tag);
}

static void do_accept(struct ctl *c)
{
    for (;;) {
        int fd = accept4(c->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                axl_warn("ctl", "accept: %s", strerror(errno));
            return;
        }
        uint32_t i;
        for (i = 0; i < AXL_CTL_MAX_CLIENTS; i++)
            if (c->clients[i].fd < 0) break;
        if (i == AXL_CTL_MAX_CLIENTS) {
            static const char busy[] = "err EBUSY too many control clients\n" AXL_CTL_END "\n";
            ssize_t w = send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
            (void)w;
            close(fd);
            continue;
        }
        struct ctl_client *cl = &c->clients[i];
        memset(cl, 0, sizeof(*cl));
        cl->fd = fd;
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = c->tag_base + 1 + i};
        if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            axl_warn("ctl", "epoll_ctl: %s", strerror(errno));
            close(fd);
            cl->fd = -1;
        }
    }
}

void ctl_event(struct ctl *c, struct sup *S, uint64_t tag, uint32_t events)
{
    c->sup = S;
    if (tag == c->tag_base) {
        do_accept(c);
        return;
    }
    uint64_t i = tag - c->tag_base - 1;
    if (i >= AXL_CTL_MAX_CLIENTS || c->clients[i].fd < 0) return;
    struct ctl_client *cl = &c->clients[i];
    if (events & EPOLLIN) {
        client_read(c, cl, S, tag);
        if (cl->fd < 0) return;
    } else if (events & EPOLLOUT) {
        if (client_flush(c, cl, tag) < 0) return;
    }
    if ((events & EPOLLERR) || ((events & EPOLLHUP) && !(events & (EPOLLIN | EPOLLOUT))))
        client_drop(c, cl);
}

/* ---- the socket file ---------------------------------------------------------------- */

/* mkdir -p of path's directory (mode 0755). 0 or -errno. */
static int make_parent_dirs(const char *path)
{
    char dir[sizeof(((struct ctl *)0)->path)];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) return 0;
    *slash = '\0';
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(dir, 0755) < 0 && errno != EEXIST) return -errno;
        *p = '/';
    }
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) return -errno;
    return 0;
}

/* Hold PATH.lock: 0, -EBUSY (a live owner holds it) or -errno. Retries when
 * the file it locked was unlinked meanwhile by an exiting owner. */
static int take_lock(struct ctl *c)
{
    for (int tries = 0; tries < 8; tries++) {
        int fd = open(c->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) return -errno;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
            int e = errno;
            close(fd);
            return e == EWOULDBLOCK ? -EBUSY : -e;
        }
        struct stat a, b;
        if (fstat(fd, &a) == 0 && stat(c->lock_path, &b) == 0 && a.st_ino == b.st_ino &&
            a.st_dev == b.st_dev) {
            c->lock_fd = fd;
            char pid[24];
            int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
            if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)n, 0) < 0)
                axl_debug("ctl", "lock file: %s", strerror(errno));
            return 0;
        }
        close(fd); /* locked a file that is no longer at the path: again */
    }
    return -EBUSY;
}

static int lock_owner(const char *lock_path)
{
    char b[24] = "";
    int fd = open(lock_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, b, sizeof(b) - 1);
    close(fd);
    return n > 0 ? atoi(b) : 0;
}

int ctl_open(struct ctl *c, const char *path, int epfd, uint64_t tag_base)
{
    struct sockaddr_un sa;
    int rc;

    memset(c, 0, sizeof(*c));
    c->lock_fd = c->listen_fd = -1;
    c->epfd = epfd;
    c->tag_base = tag_base;
    if (!path || !*path || strlen(path) >= sizeof(sa.sun_path) || strlen(path) >= sizeof(c->path)) {
        fprintf(stderr, "%s: --ctl: '%s' is not a usable socket path (1..%zu bytes)\n", PROG,
                path ? path : "", sizeof(sa.sun_path) - 1);
        return AXL_EINVAL;
    }
    snprintf(c->path, sizeof(c->path), "%s", path);
    snprintf(c->lock_path, sizeof(c->lock_path), "%s.lock", path);
    c->clients = calloc(AXL_CTL_MAX_CLIENTS, sizeof(*c->clients));
    if (!c->clients) return AXL_ENOMEM;
    for (uint32_t i = 0; i < AXL_CTL_MAX_CLIENTS; i++)
        c->clients[i].fd = -1;

    if ((rc = make_parent_dirs(path)) < 0) {
        fprintf(stderr, "%s: cannot create the directory of control socket %s: %s\n", PROG, path,
                strerror(-rc));
        goto err;
    }
    if ((rc = take_lock(c)) < 0) {
        if (rc == -EBUSY)
            fprintf(stderr,
                    "%s: cannot use control socket %s: another live axl-stackd (pid %d) serves it "
                    "(use --ctl PATH for a second stack)\n",
                    PROG, path, lock_owner(c->lock_path));
        else
            fprintf(stderr, "%s: cannot lock %s: %s\n", PROG, c->lock_path, strerror(-rc));
        goto err;
    }
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            fprintf(stderr,
                    "%s: cannot use control socket %s: a file that is not a socket is there\n",
                    PROG, path);
            rc = AXL_EEXIST;
            goto err;
        }
        axl_info("ctl", "replacing stale control socket %s (its owner is gone)", path);
        unlink(path);
    }
    c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->listen_fd < 0) {
        rc = -errno;
        fprintf(stderr, "%s: socket: %s\n", PROG, strerror(errno));
        goto err;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    mode_t old = umask(077);
    rc = bind(c->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
    umask(old);
    if (rc == 0 && chmod(path, 0600) < 0) rc = -errno;
    if (rc == 0 && listen(c->listen_fd, 16) < 0) rc = -errno;
    if (rc < 0) {
        fprintf(stderr, "%s: cannot serve control socket %s: %s\n", PROG, path, strerror(-rc));
        unlink(path);
        goto err;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag_base};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->listen_fd, &ev) < 0) {
        rc = -errno;
        unlink(path);
        goto err;
    }
    axl_info("ctl", "control socket %s", path);
    return 0;
err:
    if (c->listen_fd >= 0) close(c->listen_fd);
    if (c->lock_fd >= 0) close(c->lock_fd); /* the lock file stays: someone else's, or harmless */
    c->listen_fd = c->lock_fd = -1;
    free(c->clients);
    c->clients = NULL;
    return rc;
}

void ctl_close(struct ctl *c)
{
    c->sup = NULL; /* the replicas are gone: no one to tell about ending sessions */
    if (c->clients)
        for (uint32_t i = 0; i < AXL_CTL_MAX_CLIENTS; i++)
            if (c->clients[i].fd >= 0) client_drop(c, &c->clients[i]);
    free(c->clients);
    c->clients = NULL;
    if (c->listen_fd >= 0) {
        close(c->listen_fd);
        unlink(c->path);
    }
    if (c->lock_fd >= 0) {
        unlink(c->lock_path); /* while still holding it: see take_lock's re-check */
        close(c->lock_fd);
    }
    c->listen_fd = c->lock_fd = -1;
}

void ctl_forget(struct ctl *c)
{
    if (c->clients)
        for (uint32_t i = 0; i < AXL_CTL_MAX_CLIENTS; i++) {
            if (c->clients[i].fd >= 0) close(c->clients[i].fd);
            for (uint32_t k = 0; k < c->clients[i].npfd; k++)
                close(c->clients[i].pfd[k]);
            free(c->clients[i].out);
        }
    free(c->clients);
    c->clients = NULL;
    if (c->listen_fd >= 0) close(c->listen_fd);
    if (c->lock_fd >= 0) close(c->lock_fd);
    c->listen_fd = c->lock_fd = -1;
}
