/* SPDX-License-Identifier: MIT */
/*
 * axlctl - talk to a running axl-stackd over its control socket: replica
 * status, counters (like nstat), fault injection, health.
 *
 *   axlctl [--ctl PATH] replicas [--json]
 *   axlctl [--ctl PATH] stats [-a] [--json | --prom | --watch SEC [--count N]]
 *   axlctl [--ctl PATH] kill-replica N [--signal KILL|SEGV|ABRT|TERM|STOP]
 *   axlctl [--ctl PATH] health [--json]
 *
 * Role and call chain: main -> parse flags -> ctl_connect (PATH from --ctl,
 * else $AXL_STACK, else /run/axl/stack.sock) -> request (one "AXL1 ..."
 * line, protocol in src/stackd/ctl_proto.h) -> read_response (lines up to
 * ".") -> print_* (tables or JSON). Every value from the socket is parsed
 * defensively: a malformed response is an error, never a crash.
 *
 * Exit status: 0 done (health: every replica running); 1 cannot connect,
 * error from the stack, or (health) a replica is not running; 2 usage.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/opts.h"
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
};

struct resp {
    char *buf; /* owned; lines point into it */
    char *lines[MAX_LINES];
    int nlines;     /* body lines (status and "." excluded) */
    char *err_code; /* NULL when "ok" */
    char *err_msg;
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
        ssize_t n = recv(fd, r->buf + len, cap - len - 1, 0);
        if (n < 0 && errno == EINTR) continue;
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
    }
    return rc;
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
        printf("%-7s %-8s %-5s %-4s %-9s %-8s %-8s %-16s %-10s %s\n", "REPLICA", "PID", "QUEUE",
               "CPU", "STATE", "UPTIME", "RESTARTS", "LAST EXIT", "RESTART", "HEARTBEAT");
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
        printf("%-7s %-8s %-5s %-4s %-9s %-8s %-8s %-16s %-10s %s\n", kv_get(&kv, "replica"),
               kv_get(&kv, "pid"), kv_get(&kv, "queue"), kv_get(&kv, "cpu"), kv_get(&kv, "state"),
               up, kv_get(&kv, "restarts"), kv_get(&kv, "last_exit"), rs, hb);
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
        printf("%s: axl-stackd pid %s on %s (%s), %s of %s replicas running, %s failed, up %s\n",
               healthy ? "healthy" : "degraded", kv_get(&kv, "pid"), kv_get(&kv, "port"),
               kv_get(&kv, "addr"), run, nrep, kv_get(&kv, "failed"), up);
    }
    free(r.buf);
    return healthy ? 0 : 1;
}

int main(int argc, char **argv)
{
    struct opts o = {0};
    o.timeout = 5;
    const struct axl_opt table[] = {
        {"ctl", 'c', AXL_OPT_STR, "PATH",
         "the stack's control socket (default: $" AXL_CTL_ENV " or " AXL_CTL_DEFAULT_PATH ")",
         &o.ctl},
        {"stack", 0, AXL_OPT_STR, "PATH", "same as --ctl", &o.ctl},
        {"json", 'j', AXL_OPT_FLAG, NULL, "machine-readable output (replicas, stats, health)",
         &o.json},
        {"all", 'a', AXL_OPT_FLAG, NULL, "stats: show counters that are zero too", &o.all},
        {"watch", 'w', AXL_OPT_DOUBLE, "SEC",
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
        "runs and 1 otherwise.",
        table);
    if (first < 0) return 2;
    if (!o.ctl) {
        const char *env = getenv(AXL_CTL_ENV);
        o.ctl = env && *env ? env : AXL_CTL_DEFAULT_PATH;
    }
    if (!*o.ctl) die_usage("--ctl: empty path");
    if (first >= argc) die_usage("missing command: replicas, stats, kill-replica N or health");
    const char *cmd = argv[first];
    int nargs = argc - first - 1;
    if (!strcmp(cmd, "kill-replica")) {
        if (nargs != 1) die_usage("kill-replica takes one replica number");
        return cmd_kill(&o, argv[first + 1]);
    }
    if (nargs != 0) die_usage("unexpected argument after the command");
    if (!strcmp(cmd, "replicas")) return cmd_replicas(&o);
    if (!strcmp(cmd, "stats")) return cmd_stats(&o);
    if (!strcmp(cmd, "health") || !strcmp(cmd, "ping")) return cmd_health(&o);
    fprintf(stderr, "%s: unknown command '%s' (replicas, stats, kill-replica, health)\n", PROG,
            cmd);
    return 2;
}
