/* SPDX-License-Identifier: MIT */
/*
 * axlctl - talk to a running axl-stackd over its control socket: replica
 * status, counters (like nstat), fault injection, health.
 *
 *   axlctl [--ctl PATH] replicas [--json]
 *   axlctl [--ctl PATH] stats [-a] [--json | --prom | --watch SEC [--count N]]
 *   axlctl [--ctl PATH] kill-replica N [--signal KILL|SEGV|ABRT|TERM|STOP]
 *   axlctl [--ctl PATH] scale N [--json]
 *   axlctl [--ctl PATH] health [--json]
 *   axlctl [--ctl PATH] conns [--state S] [--port P] [--replica N] [--json]
 *   axlctl [--ctl PATH] capture [-r N] [-c COUNT] [--duration SEC]
 *                       [--filter "host A|port P|proto tcp|udp|icmp"]... -w FILE
 *
 * Role and call chain: main -> parse flags -> ctl_connect (PATH from --ctl,
 * else $AXL_STACK, else /run/axl/stack.sock) -> request (one "AXL1 ..."
 * line, protocol in src/stackd/ctl_proto.h) -> read_response (lines up to
 * ".") -> print_* (tables or JSON). Every value from the socket is parsed
 * defensively: a malformed response is an error, never a crash.
 * conns and capture: the answer's "ok" line brings one socket per replica
 * (SCM_RIGHTS); the replicas write to them directly (ctl_proto.h), and
 * every record read from them is validated before use.
 *
 * Exit status: 0 done (health: every replica running); 1 cannot connect,
 * error from the stack, or (health) a replica is not running; 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/opts.h"
#include "net/tcp_dump.h"
#include "port/pcap.h"
#include "stackd/ctl_proto.h"

#define PROG "axlctl"
/** Longest response we accept (every counter of 64 replicas fits easily). */
#define RESP_MAX (16u << 20)
/** Most lines / fields we handle in one response / line. */
#define MAX_LINES  8192
#define MAX_FIELDS 80

struct opts {
    const char *ctl;
    int json;
    int all;
    const char *signal;
    double timeout;
    double watch;   /* stats --watch SEC, 0 = once */
    uint32_t count; /* stats --watch: rounds, 0 = until interrupted */
    int prom;       /* stats --prom */
    const char *state;   /* conns --state */
    uint32_t port;       /* conns --port */
    const char *replica; /* conns / capture --replica */
    uint32_t cap_count;  /* capture -c */
    double duration;     /* capture --duration */
    const char *write;   /* capture -w FILE */
    const char *filter[8];
    uint32_t nfilter;
};

/** MAX_FDS: sockets one answer may carry (one per replica). */
#define MAX_FDS 64

struct resp {
    char *buf; /* owned; lines point into it */
    char *lines[MAX_LINES];
    int nlines;     /* body lines (status and "." excluded) */
    char *err_code; /* NULL when "ok" */
    char *err_msg;
    int fds[MAX_FDS]; /* sockets that came with the answer (conns, capture) */
    int nfds;
};

static void die_usage(const char *msg)
{
    fprintf(stderr, "%s: %s (try --help)\n", PROG, msg);
    exit(2);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- transport ----------------------------------------------------------------- */

static int ctl_connect(const char *path)
{
    struct sockaddr_un sa;
    if (strlen(path) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "%s: cannot connect to %s: path too long\n", PROG, path);
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fprintf(stderr, "%s: socket: %s\n", PROG, strerror(errno));
        return -1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        fprintf(stderr,
                "%s: cannot connect to %s: %s (is axl-stackd running? --ctl PATH or $%s "
                "names another socket)\n",
                PROG, path, strerror(e), AXL_CTL_ENV);
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read until a line "." arrives; split into lines. 0 or -1 (message printed). */
static int read_response(int fd, double timeout, struct resp *r)
{
    size_t len = 0, cap = 65536;
    double deadline = now_s() + timeout;
    memset(r, 0, sizeof(*r));
    r->buf = malloc(cap);
    if (!r->buf) return -1;
    for (;;) {
        /* Done when the buffer ends with "\n.\n" or is exactly ".\n" preceded by a status. */
        if (len >= 2 && r->buf[len - 1] == '\n' && r->buf[len - 2] == '.' &&
            (len == 2 || r->buf[len - 3] == '\n'))
            break;
        double left = deadline - now_s();
        if (left <= 0) {
            fprintf(stderr, "%s: no complete answer within %.1f s\n", PROG, timeout);
            return -1;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int pr = poll(&pfd, 1, (int)(left * 1000) + 1);
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) continue;
        if (len + 4096 + 1 > cap) {
            if (cap >= RESP_MAX) {
                fprintf(stderr, "%s: answer larger than %u bytes\n", PROG, RESP_MAX);
                return -1;
            }
            char *nb = realloc(r->buf, cap * 2);
            if (!nb) return -1;
            r->buf = nb;
            cap *= 2;
        }
        union {
            char b[CMSG_SPACE(sizeof(int) * MAX_FDS)];
            struct cmsghdr align;
        } cm;
        struct iovec iov = {r->buf + len, cap - len - 1};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.b,
                             .msg_controllen = sizeof(cm.b)};
        ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
        if (n < 0 && errno == EINTR) continue;
        for (struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL; c; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
            size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < k; i++) {
                int f;
                memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(f));
                if (r->nfds < MAX_FDS)
                    r->fds[r->nfds++] = f;
                else
                    close(f);
            }
        }
        if (n < 0) {
            fprintf(stderr, "%s: reading the answer: %s\n", PROG, strerror(errno));
            return -1;
        }
        if (n == 0) {
            fprintf(stderr, "%s: axl-stackd closed the connection before answering\n", PROG);
            return -1;
        }
        len += (size_t)n;
    }
    r->buf[len] = '\0';
    /* Split: status line, body lines, ".". */
    char *save = NULL, *line = strtok_r(r->buf, "\n", &save);
    if (!line) goto bad;
    if (!strcmp(line, "ok")) {
        r->err_code = NULL;
    } else if (!strncmp(line, "err ", 4)) {
        r->err_code = line + 4;
        char *sp = strchr(r->err_code, ' ');
        r->err_msg = sp ? sp + 1 : (char *)"";
        if (sp) *sp = '\0';
    } else
        goto bad;
    while ((line = strtok_r(NULL, "\n", &save))) {
        if (!strcmp(line, AXL_CTL_END)) return 0;
        if (r->nlines == MAX_LINES) goto bad;
        r->lines[r->nlines++] = line;
    }
bad:
    fprintf(stderr, "%s: malformed answer from axl-stackd\n", PROG);
    return -1;
}

/* One request on a fresh connection. 0, or -1 (message printed). */
static int request(const struct opts *o, const char *req, struct resp *r)
{
    char line[AXL_CTL_LINE_MAX];
    int n = snprintf(line, sizeof(line), "%s %s\n", AXL_CTL_PROTO, req);
    if (n < 0 || (size_t)n >= sizeof(line)) return -1;
    int fd = ctl_connect(o->ctl);
    if (fd < 0) return -1;
    memset(r, 0, sizeof(*r));
    int rc = send_all(fd, line, (size_t)n);
    if (rc < 0)
        fprintf(stderr, "%s: sending to %s: %s\n", PROG, o->ctl, strerror(errno));
    else
        rc = read_response(fd, o->timeout, r);
    close(fd);
    if (rc == 0 && r->err_code) {
        fprintf(stderr, "%s: %s (%s)\n", PROG, r->err_msg, r->err_code);
        rc = -1;
    }
    if (rc < 0) {
        free(r->buf);
        r->buf = NULL;
        for (int i = 0; i < r->nfds; i++)
            close(r->fds[i]);
        r->nfds = 0;
    }
    return rc;
}

/* An answer that carries no sockets must not keep any. */
static void resp_close_fds(struct resp *r)
{
    for (int i = 0; i < r->nfds; i++)
        close(r->fds[i]);
    r->nfds = 0;
}

/* ---- parsing key=value lines ----------------------------------------------------- */

struct kv {
    char *k[MAX_FIELDS];
    char *v[MAX_FIELDS];
    int n;
};

static int split_kv(char *line, struct kv *kv)
{
    char *save = NULL;
    kv->n = 0;
    for (char *t = strtok_r(line, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(t, '=');
        if (!eq || kv->n == MAX_FIELDS) return -1;
        *eq = '\0';
        kv->k[kv->n] = t;
        kv->v[kv->n] = eq + 1;
        kv->n++;
    }
    return 0;
}

static const char *kv_get(const struct kv *kv, const char *k)
{
    for (int i = 0; i < kv->n; i++)
        if (!strcmp(kv->k[i], k)) return kv->v[i];
    return "-";
}

static int is_number(const char *s)
{
    if (!*s) return 0;
    char *end;
    strtod(s, &end);
    return *end == '\0' && (*s == '-' ? s[1] >= '0' && s[1] <= '9' : *s >= '0' && *s <= '9');
}

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void json_val(const char *v)
{
    if (!strcmp(v, "-"))
        fputs("null", stdout);
    else if (is_number(v))
        fputs(v, stdout);
    else
        json_str(v);
}

/* "1234" ms -> "1.2s", "3m05s", ... */
static void fmt_dur_ms(const char *v, char *out, size_t n)
{
    if (!is_number(v)) {
        snprintf(out, n, "%s", v);
        return;
    }
    double ms = strtod(v, NULL);
    if (ms < 1000)
        snprintf(out, n, "%.0fms", ms);
    else if (ms < 60e3)
        snprintf(out, n, "%.1fs", ms / 1e3);
    else if (ms < 3600e3)
        snprintf(out, n, "%dm%02ds", (int)(ms / 60e3), (int)(ms / 1e3) % 60);
    else
        snprintf(out, n, "%dh%02dm", (int)(ms / 3600e3), (int)(ms / 60e3) % 60);
}

/* ---- commands -------------------------------------------------------------------- */

static int cmd_replicas(const struct opts *o)
{
    struct resp r;
    if (request(o, "replicas", &r) < 0) return 1;
    if (o->json)
        fputs("{\"replicas\":[", stdout);
    else
        printf("%-7s %-8s %-5s %-4s %-9s %-6s %-6s %-9s %-7s %-8s %-8s %-16s %-10s %s\n", "REPLICA",
               "PID", "QUEUE", "CPU", "STATE", "LOAD", "CONNS", "ROLE", "BUCKETS", "UPTIME",
               "RESTARTS", "LAST EXIT", "RESTART", "HEARTBEAT");
    for (int i = 0; i < r.nlines; i++) {
        struct kv kv;
        if (split_kv(r.lines[i], &kv) < 0) {
            fprintf(stderr, "%s: malformed replica line\n", PROG);
            free(r.buf);
            return 1;
        }
        if (o->json) {
            printf("%s{", i ? "," : "");
            for (int k = 0; k < kv.n; k++) {
                printf("%s", k ? "," : "");
                json_str(kv.k[k]);
                putchar(':');
                json_val(kv.v[k]);
            }
            putchar('}');
            continue;
        }
        char up[24], hb[32], rs[24];
        fmt_dur_ms(kv_get(&kv, "uptime_ms"), up, sizeof(up));
        const char *h = kv_get(&kv, "hb_age_ms");
        if (is_number(h))
            snprintf(hb, sizeof(hb), "%sms ago", h);
        else
            snprintf(hb, sizeof(hb), "-");
        const char *rm = kv_get(&kv, "restart_ms");
        if (is_number(rm))
            snprintf(rs, sizeof(rs), "%.1fms", strtod(rm, NULL));
        else
            snprintf(rs, sizeof(rs), "-");
        char load[16];
        const char *lv = kv_get(&kv, "load");
        if (is_number(lv))
            snprintf(load, sizeof(load), "%.1f%%", strtod(lv, NULL) * 100);
        else
            snprintf(load, sizeof(load), "-");
        /* role (axlctl scale): active / draining / parked behind the director;
         * BUCKETS: table entries owned, +K buckets it still drains */
        char bk[32];
        const char *nb = kv_get(&kv, "buckets"), *nd = kv_get(&kv, "draining");
        if (is_number(nb) && is_number(nd) && strcmp(nd, "0"))
            snprintf(bk, sizeof(bk), "%s+%s", nb, nd);
        else
            snprintf(bk, sizeof(bk), "%s", nb);
        printf("%-7s %-8s %-5s %-4s %-9s %-6s %-6s %-9s %-7s %-8s %-8s %-16s %-10s %s\n",
               kv_get(&kv, "replica"), kv_get(&kv, "pid"), kv_get(&kv, "queue"), kv_get(&kv, "cpu"),
               kv_get(&kv, "state"), load, kv_get(&kv, "conns"), kv_get(&kv, "role"), bk, up,
               kv_get(&kv, "restarts"), kv_get(&kv, "last_exit"), rs, hb);
    }
    if (o->json) puts("]}");
    free(r.buf);
    return 0;
}

/* A decimal counter value: 0 or -1. */
static int parse_u64(const char *s, unsigned long long *v)
{
    char *end;
    if (*s < '0' || *s > '9') return -1;
    errno = 0;
    *v = strtoull(s, &end, 10);
    return errno || *end ? -1 : 0;
}

/* One answer to "stats": counter names, and values per replica plus the
 * total in the last column. */
struct stats_tab {
    struct resp r; /* owns the strings */
    char *ids[MAX_FIELDS];
    char **name;
    unsigned long long *val; /* [counter][nrep + 1] */
    int nrep, ncnt;
};
#define SV(t, i, c) ((t)->val[(size_t)(i) * (size_t)((t)->nrep + 1) + (size_t)(c)])

static void stats_free(struct stats_tab *t)
{
    free(t->val);
    free(t->name);
    free(t->r.buf);
    memset(t, 0, sizeof(*t));
}

/* 0, or -1 after printing why. */
static int stats_fetch(const struct opts *o, struct stats_tab *t)
{
    memset(t, 0, sizeof(*t));
    if (request(o, "stats", &t->r) < 0) return -1;
    struct resp *r = &t->r;
    if (r->nlines < 1 || strncmp(r->lines[0], "replicas", 8) != 0) goto bad;
    char *save = NULL;
    strtok_r(r->lines[0], " ", &save); /* "replicas I J ..." */
    for (char *tok = strtok_r(NULL, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        if (t->nrep == MAX_FIELDS - 2 || !is_number(tok)) goto bad;
        t->ids[t->nrep++] = tok;
    }
    t->ncnt = r->nlines - 1;
    t->val = calloc((size_t)t->ncnt * (size_t)(t->nrep + 1), sizeof(*t->val));
    t->name = calloc((size_t)t->ncnt + 1, sizeof(*t->name));
    if (!t->val || !t->name) goto bad;
    for (int i = 0; i < t->ncnt; i++) {
        int nf = 0;
        char *s2 = NULL;
        for (char *tok = strtok_r(r->lines[i + 1], " ", &s2); tok; tok = strtok_r(NULL, " ", &s2)) {
            if (nf == 0)
                t->name[i] = tok;
            else if (nf > t->nrep + 1 || parse_u64(tok, &SV(t, i, nf - 1)) < 0)
                goto bad;
            nf++;
        }
        if (nf != t->nrep + 2) goto bad;
    }
    return 0;
bad:
    fflush(stdout);
    fprintf(stderr, "%s: malformed stats answer\n", PROG);
    stats_free(t);
    return -1;
}

static void stats_print_json(const struct stats_tab *t)
{
    fputs("{\"replicas\":[", stdout);
    for (int c = 0; c < t->nrep; c++) {
        printf("%s{\"replica\":%s,\"counters\":{", c ? "," : "", t->ids[c]);
        for (int i = 0; i < t->ncnt; i++) {
            printf("%s", i ? "," : "");
            json_str(t->name[i]);
            printf(":%llu", SV(t, i, c));
        }
        fputs("}}", stdout);
    }
    fputs("],\"total\":{", stdout);
    for (int i = 0; i < t->ncnt; i++) {
        printf("%s", i ? "," : "");
        json_str(t->name[i]);
        printf(":%llu", SV(t, i, t->nrep));
    }
    puts("}}");
}

/* Prometheus text exposition format 0.0.4: one metric family per counter,
 * named axl_<counter> (the counter names are [A-Za-z0-9_] already: checked),
 * one sample per replica with a replica label. The total is left to PromQL
 * (sum by ()). */
static void stats_print_prom(const struct stats_tab *t)
{
    for (int i = 0; i < t->ncnt; i++) {
        const char *n = t->name[i];
        int okname = 1;
        for (const char *p = n; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '_'))
                okname = 0;
        if (!okname) continue;
        printf("# TYPE axl_%s counter\n", n);
        for (int c = 0; c < t->nrep; c++)
            printf("axl_%s{replica=\"%s\"} %llu\n", n, t->ids[c], SV(t, i, c));
    }
}

static void stats_print_table(const struct stats_tab *t, int all)
{
    printf("%-28s", "#counter");
    for (int c = 0; c < t->nrep; c++) {
        char h[32];
        snprintf(h, sizeof(h), "replica%s", t->ids[c]);
        printf(" %14s", h);
    }
    printf(" %14s\n", "total");
    for (int i = 0; i < t->ncnt; i++) {
        if (!all && SV(t, i, t->nrep) == 0) continue; /* like nstat: zeros hidden */
        printf("%-28s", t->name[i]);
        for (int c = 0; c <= t->nrep; c++)
            printf(" %14llu", SV(t, i, c));
        putchar('\n');
    }
}

/* --watch SEC: every SEC seconds, the totals that moved, with their change
 * and rate (like `nstat` run in a loop); --count N rounds (0 = until
 * interrupted). A counter that went backwards (a replica restarted and its
 * counters began again) shows its new value as the change. */
static int stats_watch(const struct opts *o)
{
    struct stats_tab prev, cur;
    if (stats_fetch(o, &prev) < 0) return 1;
    double t_prev = now_s();
    for (unsigned round = 0; o->count == 0 || round < o->count; round++) {
        struct timespec ts = {(time_t)o->watch, (long)((o->watch - (double)(time_t)o->watch) * 1e9)};
        nanosleep(&ts, NULL);
        if (stats_fetch(o, &cur) < 0) {
            stats_free(&prev);
            return 1;
        }
        double t_cur = now_s(), dt = t_cur - t_prev;
        printf("# %.2f s  %-28s %16s %14s %14s\n", dt, "counter", "total", "change", "per second");
        for (int i = 0; i < cur.ncnt; i++) {
            unsigned long long now_v = SV(&cur, i, cur.nrep), was = 0;
            for (int j = 0; j < prev.ncnt; j++)
                if (!strcmp(prev.name[j], cur.name[i])) {
                    was = SV(&prev, j, prev.nrep);
                    break;
                }
            unsigned long long d = now_v >= was ? now_v - was : now_v;
            if (d == 0 && !o->all) continue;
            printf("%-38s %16llu %14llu %14.1f\n", cur.name[i], now_v, d, dt > 0 ? (double)d / dt : 0.0);
        }
        fflush(stdout);
        stats_free(&prev);
        prev = cur;
        t_prev = t_cur;
    }
    stats_free(&prev);
    return 0;
}

static int cmd_stats(const struct opts *o)
{
    if (o->watch > 0) {
        if (o->json || o->prom) die_usage("--watch prints a table: drop --json / --prom");
        return stats_watch(o);
    }
    struct stats_tab t;
    if (stats_fetch(o, &t) < 0) return 1;
    if (o->json)
        stats_print_json(&t);
    else if (o->prom)
        stats_print_prom(&t);
    else
        stats_print_table(&t, o->all);
    stats_free(&t);
    return 0;
}

static int cmd_kill(const struct opts *o, const char *n)
{
    char req[128], *end;
    errno = 0;
    unsigned long idx = strtoul(n, &end, 10);
    if (!*n || *end || errno || idx > 65535) die_usage("kill-replica: N is a replica number");
    const char *sig = o->signal ? o->signal : "KILL";
    if (!strncmp(sig, "SIG", 3)) sig += 3;
    for (const char *p = sig; *p; p++)
        if (*p < 'A' || *p > 'Z')
            die_usage("--signal: a name such as KILL, SEGV, ABRT, TERM, STOP");
    snprintf(req, sizeof(req), "kill-replica %lu %s", idx, sig);
    struct resp r;
    if (request(o, req, &r) < 0) return 1;
    struct kv kv;
    if (r.nlines != 1 || split_kv(r.lines[0], &kv) < 0) {
        fprintf(stderr, "%s: malformed answer\n", PROG);
        free(r.buf);
        return 1;
    }
    printf("replica %s (pid %s): sent SIG%s\n", kv_get(&kv, "replica"), kv_get(&kv, "pid"),
           kv_get(&kv, "signal"));
    free(r.buf);
    return 0;
}

/* scale N: ask, then wait (up to --timeout) until the director's table is
 * in force (ping's active=), so that what follows sees the new roles. */
static int cmd_scale(const struct opts *o, const char *n)
{
    char req[64], *end;
    errno = 0;
    unsigned long want = strtoul(n, &end, 10);
    if (!*n || *end || errno || *n == '-' || want > 65535)
        die_usage("scale: N is a number of active replicas (1..--scale-max)");
    snprintf(req, sizeof(req), "scale %lu", want);
    struct resp r;
    if (request(o, req, &r) < 0) return 1;
    struct kv kv;
    if (r.nlines != 1 || split_kv(r.lines[0], &kv) < 0 || !is_number(kv_get(&kv, "active"))) {
        fprintf(stderr, "%s: malformed answer\n", PROG);
        free(r.buf);
        return 1;
    }
    char mx[16];
    snprintf(mx, sizeof(mx), "%s", kv_get(&kv, "scale_max"));
    free(r.buf);
    const double t_end = now_s() + o->timeout;
    for (;;) {
        if (request(o, "ping", &r) < 0) return 1;
        const char *act = r.nlines == 1 && split_kv(r.lines[0], &kv) == 0 ? kv_get(&kv, "active")
                                                                          : "";
        int done = is_number(act) && strtoul(act, NULL, 10) == want;
        free(r.buf);
        if (done) break;
        if (now_s() >= t_end) {
            fprintf(stderr,
                    "%s: scale %lu: asked, but the director has not applied it within %.1f s\n",
                    PROG, want, o->timeout);
            return 1;
        }
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (o->json)
        printf("{\"active\":%lu,\"scale_max\":%s}\n", want, is_number(mx) ? mx : "null");
    else
        printf("scale: %lu of %s replicas active\n", want, mx);
    return 0;
}

static int cmd_health(const struct opts *o)
{
    struct resp r;
    if (request(o, "ping", &r) < 0) return 1;
    struct kv kv;
    if (r.nlines != 1 || split_kv(r.lines[0], &kv) < 0) {
        fprintf(stderr, "%s: malformed answer\n", PROG);
        free(r.buf);
        return 1;
    }
    const char *nrep = kv_get(&kv, "replicas"), *run = kv_get(&kv, "running");
    int healthy = is_number(nrep) && !strcmp(nrep, run);
    if (o->json) {
        printf("{\"healthy\":%s", healthy ? "true" : "false");
        for (int k = 0; k < kv.n; k++) {
            putchar(',');
            json_str(kv.k[k]);
            putchar(':');
            json_val(kv.v[k]);
        }
        puts("}");
    } else {
        char up[24];
        fmt_dur_ms(kv_get(&kv, "uptime_ms"), up, sizeof(up));
        char act[64] = "";
        if (is_number(kv_get(&kv, "active"))) /* behind the director (axlctl scale) */
            snprintf(act, sizeof(act), ", %.16s of %.16s active", kv_get(&kv, "active"),
                     kv_get(&kv, "scale_max"));
        printf("%s: axl-stackd pid %s on %s (%s), %s of %s replicas running%s, %s failed, up %s\n",
               healthy ? "healthy" : "degraded", kv_get(&kv, "pid"), kv_get(&kv, "port"),
               kv_get(&kv, "addr"), run, nrep, act, kv_get(&kv, "failed"), up);
    }
    free(r.buf);
    return healthy ? 0 : 1;
}


/* ---- conns ---------------------------------------------------------------------- */

/* Who holds a local port: from "listeners" and "apps" (registry entries). */
struct owner {
    uint16_t port;
    char who[48]; /* "pid 1234 (name)", "tcp-echo" */
};
struct owners {
    struct owner o[256];
    int n;
};

static void owners_fetch(const struct opts *o, struct owners *ow)
{
    struct resp la, aa;
    ow->n = 0;
    if (request(o, "listeners", &la) < 0) return;
    if (request(o, "apps", &aa) < 0) {
        free(la.buf);
        return;
    }
    resp_close_fds(&la);
    resp_close_fds(&aa);
    for (int i = 0; i < la.nlines && ow->n < 256; i++) {
        struct kv kv;
        if (split_kv(la.lines[i], &kv) < 0 || strcmp(kv_get(&kv, "proto"), "tcp")) continue;
        unsigned long port = strtoul(kv_get(&kv, "port"), NULL, 10);
        if (port < 1 || port > 65535) continue;
        struct owner *w = &ow->o[ow->n];
        const char *kind = kv_get(&kv, "kind"), *app = kv_get(&kv, "app");
        if (!strcmp(kind, "app")) {
            snprintf(w->who, sizeof(w->who), "app %s", app);
            for (int k = 0; k < aa.nlines; k++) { /* apps lines are split once each */
                char line[512];
                struct kv ak;
                snprintf(line, sizeof(line), "%s", aa.lines[k]);
                if (split_kv(line, &ak) < 0 || strcmp(kv_get(&ak, "app"), app)) continue;
                snprintf(w->who, sizeof(w->who), "pid=%.12s(%.24s)", kv_get(&ak, "pid"),
                         kv_get(&ak, "name"));
            }
        } else
            snprintf(w->who, sizeof(w->who), "%.40s", kind);
        w->port = (uint16_t)port;
        ow->n++;
    }
    free(la.buf);
    free(aa.buf);
}

static const char *owner_of(const struct owners *ow, const struct axl_tcp_dump_rec *r, char *buf,
                            size_t len)
{
    /* The replica's service layer names the application of each of its
     * sockets (listeners, accepted and opened connections alike). */
    if (r->owner_pid) {
        snprintf(buf, len, "pid %u (app %u)", r->owner_pid, r->owner_app);
        return buf;
    }
    /* Otherwise listeners and the connections they accepted: the holder of
     * the local port in the registry (built-in services). */
    if (r->state != 1 && !(r->flags & AXL_TCP_DUMP_PASSIVE)) return "-";
    for (int i = 0; i < ow->n; i++)
        if (ow->o[i].port == r->lport) return ow->o[i].who;
    return "-";
}

/* --state: ss names (case-insensitive), "established" too. -1 = bad. */
static int state_by_name(const char *n)
{
    if (!strcasecmp(n, "established")) return 4;
    if (!strcasecmp(n, "syn-received")) return 3;
    for (unsigned i = 1; i < AXL_TCP_DUMP_NSTATES; i++)
        if (!strcasecmp(n, axl_tcp_dump_state_name(i))) return (int)i;
    return -1;
}

struct conn_row {
    struct axl_tcp_dump_rec r;
    uint32_t replica;
};

/* Read one replica's answer (until AXL_CONNS_LAST or EOF). 0 or -1. */
static int conns_read(int fd, double deadline, struct conn_row **rows, size_t *n, size_t *cap,
                      uint32_t want_replica, uint32_t *total)
{
    static union {
        struct axl_conns_hdr h;
        uint8_t b[sizeof(struct axl_conns_hdr) + AXL_CONNS_CHUNK * sizeof(struct axl_tcp_dump_rec)];
    } d;
    for (;;) {
        double left = deadline - now_s();
        if (left <= 0) {
            fprintf(stderr, "%s: replica %u: no complete answer in time\n", PROG, want_replica);
            return -1;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int pr = poll(&p, 1, (int)(left * 1000) + 1);
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) continue;
        ssize_t got = recv(fd, d.b, sizeof(d.b), 0);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
            fprintf(stderr, "%s: replica %u: answer cut short\n", PROG, want_replica);
            return -1;
        }
        if ((size_t)got < sizeof(d.h) || d.h.magic != AXL_CONNS_MAGIC ||
            d.h.nrec > AXL_CONNS_CHUNK ||
            (size_t)got != sizeof(d.h) + d.h.nrec * sizeof(struct axl_tcp_dump_rec) ||
            d.h.replica != want_replica) {
            fprintf(stderr, "%s: replica %u: malformed conns answer\n", PROG, want_replica);
            return -1;
        }
        *total = d.h.total;
        const struct axl_tcp_dump_rec *rec = (const void *)(d.b + sizeof(d.h));
        for (uint32_t i = 0; i < d.h.nrec; i++) {
            struct axl_tcp_dump_rec r;
            memcpy(&r, &rec[i], sizeof(r));
            if (!axl_tcp_dump_ok(&r)) continue; /* never print what does not make sense */
            if (*n == *cap) {
                size_t nc = *cap ? *cap * 2 : 256;
                struct conn_row *nr = realloc(*rows, nc * sizeof(**rows));
                if (!nr) return -1;
                *rows = nr;
                *cap = nc;
            }
            (*rows)[*n].r = r;
            (*rows)[*n].replica = want_replica;
            (*n)++;
        }
        if (d.h.flags & AXL_CONNS_LAST) return 0;
    }
}

static void fmt_addr(char *b, size_t n, uint32_t a, uint16_t port)
{
    if (!a && !port) {
        snprintf(b, n, "*:*");
        return;
    }
    snprintf(b, n, "%u.%u.%u.%u:%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255, port);
}

static int cmd_conns(const struct opts *o)
{
    int want_state = -1;
    uint32_t want_rep = 0;
    char req[64] = "conns";
    if (o->state && (want_state = state_by_name(o->state)) < 0)
        die_usage("--state: one of listen, syn-sent, syn-recv, estab(lished), fin-wait-1, "
                  "fin-wait-2, close-wait, closing, last-ack, time-wait");
    if (o->port > 65535) die_usage("--port: 1..65535");
    if (o->replica) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(o->replica, &end, 10);
        if (!*o->replica || *end || errno || v > 65535) die_usage("--replica: a replica number");
        want_rep = (uint32_t)v;
        snprintf(req, sizeof(req), "conns %u", want_rep);
    }
    struct owners ow;
    owners_fetch(o, &ow);
    struct resp r;
    if (request(o, req, &r) < 0) return 1;
    int rc = 0;
    if (r.nlines != r.nfds) {
        fprintf(stderr, "%s: the answer brought %d sockets for %d replicas\n", PROG, r.nfds,
                r.nlines);
        rc = 1;
    }
    struct conn_row *rows = NULL;
    size_t n = 0, cap = 0;
    double deadline = now_s() + o->timeout;
    for (int i = 0; i < r.nlines && i < r.nfds && !rc; i++) {
        struct kv kv;
        uint32_t total = 0;
        size_t before = n;
        if (split_kv(r.lines[i], &kv) < 0 || !is_number(kv_get(&kv, "replica"))) {
            fprintf(stderr, "%s: malformed conns answer\n", PROG);
            rc = 1;
            break;
        }
        uint32_t rep = (uint32_t)strtoul(kv_get(&kv, "replica"), NULL, 10);
        if (conns_read(r.fds[i], deadline, &rows, &n, &cap, rep, &total) < 0) {
            rc = 1;
            break;
        }
        if (total > n - before && total > AXL_CONNS_MAX)
            fprintf(stderr, "%s: replica %u holds %u entries; the first %u are shown\n", PROG, rep,
                    total, AXL_CONNS_MAX);
    }
    resp_close_fds(&r);
    free(r.buf);
    if (rc) {
        free(rows);
        return rc;
    }
    if (o->json)
        fputs("{\"conns\":[", stdout);
    else
        printf("%-11s %8s %8s %-21s %-21s %9s %8s %7s %7s %s\n", "State", "Recv-Q", "Send-Q",
               "Local Address:Port", "Peer Address:Port", "RTT(ms)", "Cwnd", "Retrans", "Replica",
               "Owner");
    int shown = 0;
    for (size_t i = 0; i < n; i++) {
        const struct axl_tcp_dump_rec *c = &rows[i].r;
        if (want_state >= 0 && c->state != want_state) continue;
        if (o->port && c->lport != o->port && c->rport != o->port) continue;
        char la[32], pa[32], rtt[24];
        fmt_addr(la, sizeof(la), c->laddr, c->lport);
        fmt_addr(pa, sizeof(pa), c->raddr, c->rport);
        if (c->state == 1 || !c->srtt_us)
            snprintf(rtt, sizeof(rtt), "-");
        else
            snprintf(rtt, sizeof(rtt), "%.3f", c->srtt_us / 1000.0);
        char whobuf[48];
        const char *who = owner_of(&ow, c, whobuf, sizeof(whobuf));
        if (o->json) {
            printf("%s{\"state\":\"%s\",\"local\":\"%s\",\"peer\":\"%s\",\"lport\":%u,"
                   "\"rport\":%u,\"recv_q\":%u,\"send_q\":%u,\"rtt_ms\":%s,\"rttvar_ms\":%.3f,"
                   "\"rto_ms\":%u,\"cwnd\":%u,\"ssthresh\":%u,\"mss\":%u,\"snd_wnd\":%u,"
                   "\"retrans\":%llu,\"replica\":%u,\"owner\":",
                   shown ? "," : "", axl_tcp_dump_state_name(c->state), la, pa, c->lport, c->rport,
                   c->rcvq, c->sndq, strcmp(rtt, "-") ? rtt : "null", c->rttvar_us / 1000.0,
                   c->rto_ms, c->cwnd, c->ssthresh, c->mss, c->snd_wnd,
                   (unsigned long long)c->retrans, rows[i].replica);
            json_val(who);
            putchar('}');
        } else
            printf("%-11s %8u %8u %-21s %-21s %9s %8u %7llu %7u %s\n",
                   axl_tcp_dump_state_name(c->state), c->rcvq, c->sndq, la, pa, rtt,
                   c->state == 1 ? 0 : c->cwnd, (unsigned long long)c->retrans, rows[i].replica,
                   who);
        shown++;
    }
    if (o->json) puts("]}");
    free(rows);
    return 0;
}

/* ---- capture -------------------------------------------------------------------- */

static volatile sig_atomic_t cap_stop;
static void on_cap_signal(int sig)
{
    (void)sig;
    cap_stop = 1;
}

/* --filter terms -> the request's HOST PORT PROTO ("-" = any). */
static void cap_terms(const struct opts *o, char *host, size_t hn, char *port, size_t pn,
                      char *proto, size_t prn)
{
    snprintf(host, hn, "-");
    snprintf(port, pn, "-");
    snprintf(proto, prn, "-");
    for (uint32_t i = 0; i < o->nfilter; i++) {
        char kind[16], val[64], extra[8];
        int k = sscanf(o->filter[i], "%15s %63s %7s", kind, val, extra);
        uint32_t a;
        if (k != 2) die_usage("--filter: \"host A\", \"port P\" or \"proto tcp|udp|icmp\"");
        if (!strcmp(kind, "host")) {
            if (axl_parse_ipv4(val, &a) < 0) die_usage("--filter host: an IPv4 address");
            if (strcmp(host, "-")) die_usage("--filter host: given twice");
            snprintf(host, hn, "%s", val);
        } else if (!strcmp(kind, "port")) {
            char *end;
            unsigned long v = strtoul(val, &end, 10);
            if (*end || v < 1 || v > 65535) die_usage("--filter port: 1..65535");
            if (strcmp(port, "-")) die_usage("--filter port: given twice");
            snprintf(port, pn, "%lu", v);
        } else if (!strcmp(kind, "proto")) {
            if (strcmp(val, "tcp") && strcmp(val, "udp") && strcmp(val, "icmp"))
                die_usage("--filter proto: tcp, udp or icmp");
            if (strcmp(proto, "-")) die_usage("--filter proto: given twice");
            snprintf(proto, prn, "%.8s", val);
        } else
            die_usage("--filter: \"host A\", \"port P\" or \"proto tcp|udp|icmp\"");
    }
}

static int cmd_capture(const struct opts *o)
{
    char host[64], port[16], proto[16], req[256], target[16] = "all";
    if (!o->write) die_usage("capture: -w FILE is required (\"-\" for standard output)");
    cap_terms(o, host, sizeof(host), port, sizeof(port), proto, sizeof(proto));
    if (o->replica) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(o->replica, &end, 10);
        if (!*o->replica || *end || errno || v > 65535) die_usage("--replica: a replica number");
        snprintf(target, sizeof(target), "%lu", v);
    }
    if (!o->cap_count && o->duration <= 0)
        fprintf(stderr, "%s: capturing until interrupted (Ctrl-C); -c COUNT or --duration SEC "
                        "bound it\n", PROG);
    int tostdout = !strcmp(o->write, "-");
    int out = tostdout ? STDOUT_FILENO : open(o->write, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
        fprintf(stderr, "%s: cannot write %s: %s\n", PROG, o->write, strerror(errno));
        return 1;
    }
    FILE *f = fdopen(out, "wb");
    if (!f) {
        fprintf(stderr, "%s: %s: %s\n", PROG, o->write, strerror(errno));
        if (!tostdout) close(out);
        return 1;
    }
    struct axl_pcap_file_hdr fh = {AXL_PCAP_MAGIC_NS, AXL_PCAP_VERSION_MAJOR,
                                   AXL_PCAP_VERSION_MINOR, 0, 0, AXL_PCAP_SNAPLEN,
                                   AXL_PCAP_LINKTYPE_ETH};
    fwrite(&fh, sizeof(fh), 1, f);
    fflush(f);

    snprintf(req, sizeof(req), "capture %s %u %s %s %s", target, o->cap_count, host, port, proto);
    struct resp r;
    if (request(o, req, &r) < 0) {
        fclose(f);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_cap_signal; /* no SA_RESTART: poll returns EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int n = r.nfds < r.nlines ? r.nfds : r.nlines, open_n = 0, rc = 0;
    struct pollfd pfd[MAX_FDS];
    int hello[MAX_FDS];
    uint32_t rep[MAX_FDS];
    for (int i = 0; i < n; i++) {
        struct kv kv;
        pfd[i] = (struct pollfd){.fd = r.fds[i], .events = POLLIN};
        hello[i] = 0;
        rep[i] = 0;
        if (split_kv(r.lines[i], &kv) == 0 && is_number(kv_get(&kv, "replica")))
            rep[i] = (uint32_t)strtoul(kv_get(&kv, "replica"), NULL, 10);
        open_n++;
    }
    static uint8_t buf[sizeof(struct axl_pcap_rec_hdr) + AXL_PCAP_SNAPLEN + 1];
    uint64_t frames = 0, bad = 0;
    double t0 = now_s(), end = o->duration > 0 ? t0 + o->duration : 0;
    while (!cap_stop && open_n > 0 && (!o->cap_count || frames < o->cap_count)) {
        int ms = 200;
        if (end) {
            double left = end - now_s();
            if (left <= 0) break;
            if (left * 1000 < ms) ms = (int)(left * 1000) + 1;
        }
        int pr = poll(pfd, (nfds_t)n, ms);
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) continue;
        for (int i = 0; i < n && (!o->cap_count || frames < o->cap_count); i++) {
            if (pfd[i].fd < 0 || !pfd[i].revents) continue;
            ssize_t got = recv(pfd[i].fd, buf, sizeof(buf), MSG_DONTWAIT);
            if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
            if (got <= 0) { /* the replica ended its capture (its COUNT, or it stopped) */
                close(pfd[i].fd);
                pfd[i].fd = -1;
                open_n--;
                continue;
            }
            if (!hello[i]) {
                struct axl_cap_hello h;
                if (got != (ssize_t)sizeof(h)) goto malformed;
                memcpy(&h, buf, sizeof(h));
                if (h.magic != AXL_CAP_MAGIC || h.replica != rep[i]) goto malformed;
                if (h.status < 0) {
                    fprintf(stderr, "%s: replica %u cannot capture: %s\n", PROG, rep[i],
                            h.status == -EBUSY ? "a capture or a pcap= mirror runs there already"
                                               : strerror(-h.status));
                    rc = 1;
                    close(pfd[i].fd);
                    pfd[i].fd = -1;
                    open_n--;
                    continue;
                }
                hello[i] = 1;
                continue;
            }
            struct axl_pcap_rec_hdr rh;
            if ((size_t)got < sizeof(rh)) goto malformed;
            memcpy(&rh, buf, sizeof(rh));
            if (rh.incl_len != (size_t)got - sizeof(rh) || rh.incl_len > AXL_PCAP_SNAPLEN ||
                rh.orig_len < rh.incl_len || rh.ts_nsec >= 1000000000u)
                goto malformed;
            if (fwrite(buf, (size_t)got, 1, f) != 1) {
                fprintf(stderr, "%s: writing %s: %s\n", PROG, o->write, strerror(errno));
                rc = 1;
                cap_stop = 1;
                break;
            }
            frames++;
            continue;
        malformed:
            bad++;
            close(pfd[i].fd);
            pfd[i].fd = -1;
            open_n--;
            fprintf(stderr, "%s: replica %u: malformed capture data; its capture dropped\n", PROG,
                    rep[i]);
            rc = 1;
        }
    }
    for (int i = 0; i < n; i++) /* the replicas notice and stop copying */
        if (pfd[i].fd >= 0) close(pfd[i].fd);
    for (int i = n; i < r.nfds; i++)
        close(r.fds[i]);
    free(r.buf);
    if (fclose(f) != 0) {
        fprintf(stderr, "%s: writing %s: %s\n", PROG, o->write, strerror(errno));
        rc = 1;
    }
    fprintf(stderr, "%s: %llu frame%s captured from %d replica%s in %.1f s%s\n", PROG,
            (unsigned long long)frames, frames == 1 ? "" : "s", n, n == 1 ? "" : "s",
            now_s() - t0, tostdout ? "" : "");
    return rc;
}

int main(int argc, char **argv)
{
    struct opts o = {0};
    o.timeout = 5;
    const struct axl_opt table[] = {
        {"ctl", 0, AXL_OPT_STR, "PATH",
         "the stack's control socket (default: $" AXL_CTL_ENV " or " AXL_CTL_DEFAULT_PATH ")",
         &o.ctl},
        {"stack", 0, AXL_OPT_STR, "PATH", "same as --ctl", &o.ctl},
        {"json", 'j', AXL_OPT_FLAG, NULL, "machine-readable output (replicas, stats, health)",
         &o.json},
        {"all", 'a', AXL_OPT_FLAG, NULL, "stats: show counters that are zero too", &o.all},
        {"watch", 0, AXL_OPT_DOUBLE, "SEC",
         "stats: every SEC seconds, print the totals that changed with their rates", &o.watch,
         0.1, 3600},
        {"count", 'n', AXL_OPT_U32, "N", "stats --watch: stop after N rounds (default: never)",
         &o.count},
        {"prom", 0, AXL_OPT_FLAG, NULL,
         "stats: Prometheus text exposition (axl_<Counter>{replica=\"N\"})", &o.prom},
        {"signal", 's', AXL_OPT_STR, "SIG",
         "kill-replica: KILL (default), SEGV, ABRT, TERM, or STOP (a hang: the heartbeat "
         "stalls)",
         &o.signal},
        {"timeout", 't', AXL_OPT_DOUBLE, "SEC", "wait this long for an answer (default 5)",
         &o.timeout, 0.1, 3600},
        {"state", 0, AXL_OPT_STR, "STATE",
         "conns: only this state (listen, syn-sent, syn-recv, estab, fin-wait-1, fin-wait-2, "
         "close-wait, closing, last-ack, time-wait)",
         &o.state},
        {"port", 'p', AXL_OPT_U32, "PORT", "conns: only connections with this local or peer port",
         &o.port, 1, 65535},
        {"replica", 'r', AXL_OPT_STR, "N", "conns, capture: only replica N (default: all)",
         &o.replica},
        {"write", 'w', AXL_OPT_STR, "FILE", "capture: write the pcap to FILE (- = stdout)",
         &o.write},
        {"frames", 'c', AXL_OPT_U32, "COUNT",
         "capture: stop after COUNT frames (each replica also stops after COUNT)", &o.cap_count},
        {"duration", 'd', AXL_OPT_DOUBLE, "SEC", "capture: stop after SEC seconds", &o.duration,
         0.01, 86400},
        {"filter", 'f', AXL_OPT_MULTI, "TERM",
         "capture: \"host A\", \"port P\" or \"proto tcp|udp|icmp\"; repeat to AND terms "
         "(evaluated in the replicas: only matching frames are copied)",
         o.filter, 0, 8, &o.nfilter},
        {0},
    };
    int first = axl_opts_parse(
        argc, argv, PROG, "[--ctl PATH] COMMAND [ARGS] [options]",
        "Talks to a running axl-stackd over its control socket. Commands: "
        "'replicas' shows every replica (pid, queue, cpu, state, uptime, restarts, last exit, "
        "restart-to-serving time, heartbeat age); 'stats' prints the counters per replica and "
        "in total, like nstat (zeros hidden unless -a; --watch SEC repeats with rates, --json and "
        "--prom change the format); 'kill-replica N' sends replica N a "
        "signal (fault injection, --signal, default KILL); 'health' exits 0 when every replica "
        "runs and 1 otherwise; 'conns' lists the TCP connections and listeners of every replica "
        "like ss -tan (state, queues, RTT, cwnd, retransmissions, replica, owner; --state, "
        "--port, --replica filter, --json); 'capture -w FILE' writes a pcap of the frames the "
        "replicas receive and send (readable by tshark -r; -r N, -c COUNT, --duration SEC, "
        "--filter TERM; stops at COUNT, after SEC, or on Ctrl-C). 'replicas' also shows each "
        "replica's load (busy fraction over the last second) and TCP entries, and behind the "
        "director its role (active, draining: still holds connections of buckets that moved "
        "away, parked) and the steering-table buckets it owns. 'scale N' (axl-stackd "
        "--director --scale-max M) makes N of the M replicas active: the director rewrites its "
        "128-entry redirection table, new flows go to the N, existing connections stay where "
        "they are until they close; it waits until the table is in force (--timeout).",
        table);
    if (first < 0) return 2;
    if (!o.ctl) {
        const char *env = getenv(AXL_CTL_ENV);
        o.ctl = env && *env ? env : AXL_CTL_DEFAULT_PATH;
    }
    if (!*o.ctl) die_usage("--ctl: empty path");
    if (first >= argc)
        die_usage(
            "missing command: replicas, stats, conns, capture, kill-replica N, scale N or health");
    const char *cmd = argv[first];
    int nargs = argc - first - 1;
    if (!strcmp(cmd, "kill-replica")) {
        if (nargs != 1) die_usage("kill-replica takes one replica number");
        return cmd_kill(&o, argv[first + 1]);
    }
    if (!strcmp(cmd, "scale")) {
        if (nargs != 1) die_usage("scale takes one number: the active replicas (1..--scale-max)");
        return cmd_scale(&o, argv[first + 1]);
    }
    if (nargs != 0) die_usage("unexpected argument after the command");
    if (!strcmp(cmd, "replicas")) return cmd_replicas(&o);
    if (!strcmp(cmd, "stats")) return cmd_stats(&o);
    if (!strcmp(cmd, "health") || !strcmp(cmd, "ping")) return cmd_health(&o);
    if (!strcmp(cmd, "conns")) return cmd_conns(&o);
    if (!strcmp(cmd, "capture")) return cmd_capture(&o);
    fprintf(stderr,
            "%s: unknown command '%s' (replicas, stats, conns, capture, kill-replica, scale, "
            "health)\n",
            PROG, cmd);
    return 2;
}
