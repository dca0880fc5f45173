/* SPDX-License-Identifier: MIT */
/*
 * metrics.c - the supervisor's Prometheus endpoint (axl-stackd --metrics
 * unix:PATH | tcp:IP:PORT): HTTP/1.x GET /metrics answered with the text
 * exposition format 0.0.4.
 *
 * What it serves: every counter of `axlctl stats --prom` (the same names,
 * axl_<Counter>{replica="N"}, from the same status pages), plus per replica
 * axl_replica_state{replica,state} (1 for the current state, 0 for the
 * others), axl_replica_restarts_total, axl_replica_load (busy fraction over
 * the last second), axl_replica_conns (TCP entries),
 * axl_replica_heartbeat_age_seconds, and behind the director
 * axl_replica_buckets / axl_replica_draining (axlctl scale).
 *
 * The TCP form listens on the KERNEL stack of the supervisor's network
 * namespace (e.g. 127.0.0.1:9100), never on the bypassed device: a scraper
 * reaches it like any node exporter. The Unix form creates PATH (mode 0600,
 * a stale socket file is replaced) and removes it at exit.
 *
 * Served from the supervisor's epoll loop with non-blocking sockets, one
 * request per connection (Connection: close). At most AXL_METRICS_CLIENTS at
 * once (the oldest is dropped for a new one); a request is at most
 * AXL_METRICS_REQ_MAX bytes (431 beyond); methods other than GET/HEAD get
 * 405, other paths 404. Nothing here runs in a replica.
 *
 * Call chain: main.c --metrics -> supervisor.c supervisor_run ->
 *   metrics_open; loop -> metrics_event -> accept | read -> answer ->
 *   sup_view / sup_counters (supervisor.c) -> write.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "core/err.h"
#include "core/log.h"
#include "stackd/metrics.h"
#include "stackd/stackd.h"

struct buf {
    char *p;
    size_t len, cap;
    int oom;
};

static void AXL_PRINTF(2, 3) bprintf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    if (b->oom) return;
    for (;;) {
        size_t room = b->cap - b->len;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 65536;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
}

static int name_ok(const char *n)
{
    if (!n || !*n) return 0;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return 0;
    return 1;
}

/* The exposition body. */
static void body(struct buf *b, struct sup *S)
{
    static const char *const states[] = {"starting", "running", "stopping", "failed", "stopped"};
    uint32_t nr = sup_nreplicas(S), nc = axl_rstat_ncounters();
    uint64_t *v = calloc((size_t)nr * nc + 1, sizeof(*v));
    if (!v) {
        b->oom = 1;
        return;
    }
    for (uint32_t r = 0; r < nr; r++)
        sup_counters(S, r, v + (size_t)r * nc, nc);
    for (uint32_t c = 0; c < nc; c++) { /* as axlctl stats --prom */
        const char *name = axl_rstat_name(c);
        if (!name_ok(name)) continue;
        bprintf(b, "# TYPE axl_%s counter\n", name);
        for (uint32_t r = 0; r < nr; r++)
            bprintf(b, "axl_%s{replica=\"%u\"} %llu\n", name, r,
                    (unsigned long long)v[(size_t)r * nc + c]);
    }
    free(v);
    struct replica_view *rv = calloc(nr ? nr : 1, sizeof(*rv));
    if (!rv) {
        b->oom = 1;
        return;
    }
    for (uint32_t r = 0; r < nr; r++)
        sup_view(S, r, &rv[r]);
    bprintf(b, "# HELP axl_replica_state Replica state (1 for the current one).\n"
               "# TYPE axl_replica_state gauge\n");
    for (uint32_t r = 0; r < nr; r++)
        for (size_t k = 0; k < sizeof(states) / sizeof(states[0]); k++)
            bprintf(b, "axl_replica_state{replica=\"%u\",state=\"%s\"} %d\n", r, states[k],
                    !strcmp(rv[r].state, states[k]));
    bprintf(b, "# HELP axl_replica_restarts_total Restarts after deaths.\n"
               "# TYPE axl_replica_restarts_total counter\n");
    for (uint32_t r = 0; r < nr; r++)
        bprintf(b, "axl_replica_restarts_total{replica=\"%u\"} %u\n", r, rv[r].restarts);
    bprintf(b, "# HELP axl_replica_load Busy fraction of the replica's loop over the last "
               "second.\n# TYPE axl_replica_load gauge\n");
    for (uint32_t r = 0; r < nr; r++)
        if (rv[r].load >= 0) bprintf(b, "axl_replica_load{replica=\"%u\"} %.4f\n", r, rv[r].load);
    bprintf(b, "# HELP axl_replica_conns TCP connections the replica holds.\n"
               "# TYPE axl_replica_conns gauge\n");
    for (uint32_t r = 0; r < nr; r++)
        if (rv[r].conns >= 0)
            bprintf(b, "axl_replica_conns{replica=\"%u\"} %lld\n", r, (long long)rv[r].conns);
    bprintf(b, "# HELP axl_replica_heartbeat_age_seconds Time since the last heartbeat.\n"
               "# TYPE axl_replica_heartbeat_age_seconds gauge\n");
    for (uint32_t r = 0; r < nr; r++)
        if (rv[r].hb_age_ms >= 0)
            bprintf(b, "axl_replica_heartbeat_age_seconds{replica=\"%u\"} %.3f\n", r,
                    (double)rv[r].hb_age_ms / 1e3);
    /* behind the director (axlctl scale): the steering table's buckets */
    int table = 0;
    for (uint32_t r = 0; r < nr; r++)
        table |= rv[r].buckets >= 0;
    if (table) {
        bprintf(b, "# HELP axl_replica_buckets Redirection-table buckets the replica owns (new "
                   "flows).\n# TYPE axl_replica_buckets gauge\n");
        for (uint32_t r = 0; r < nr; r++)
            if (rv[r].buckets >= 0)
                bprintf(b, "axl_replica_buckets{replica=\"%u\"} %lld\n", r,
                        (long long)rv[r].buckets);
        bprintf(b, "# HELP axl_replica_draining Buckets another replica owns that the replica "
                   "still holds connections of.\n# TYPE axl_replica_draining gauge\n");
        for (uint32_t r = 0; r < nr; r++)
            if (rv[r].draining >= 0)
                bprintf(b, "axl_replica_draining{replica=\"%u\"} %lld\n", r,
                        (long long)rv[r].draining);
    }
    free(rv);
}

static void client_drop(struct metrics *m, struct metrics_client *c)
{
    if (c->fd >= 0) {
        epoll_ctl(m->epfd, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    free(c->out);
    memset(c, 0, sizeof(*c));
    c->fd = -1;
}

static void reply(struct metrics_client *c, struct sup *S, int head)
{
    struct buf b = {0}, h = {0};
    const char *status = "200 OK", *type = "text/plain; version=0.0.4; charset=utf-8";
    char *line_end = memchr(c->in, '\r', c->inlen);
    if (!line_end) line_end = memchr(c->in, '\n', c->inlen);
    char line[256];
    size_t ll = line_end ? (size_t)(line_end - c->in) : 0;
    if (ll >= sizeof(line)) ll = sizeof(line) - 1;
    memcpy(line, c->in, ll);
    line[ll] = '\0';
    char method[16] = "", path[200] = "", ver[16] = "";
    if (sscanf(line, "%15s %199s %15s", method, path, ver) != 3 || strncmp(ver, "HTTP/1.", 7)) {
        status = "400 Bad Request";
        bprintf(&b, "bad request\n");
    } else if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
        status = "405 Method Not Allowed";
        bprintf(&b, "only GET\n");
    } else if (strcmp(path, "/metrics") && strncmp(path, "/metrics?", 9)) {
        status = "404 Not Found";
        bprintf(&b, "try /metrics\n");
    } else {
        head = head || !strcmp(method, "HEAD");
        body(&b, S);
    }
    if (b.oom) {
        free(b.p);
        b = (struct buf){0};
        status = "500 Internal Server Error";
        bprintf(&b, "out of memory\n");
    }
    bprintf(&h,
            "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n"
            "\r\n",
            status, type, b.len);
    if (!head && !b.oom && !h.oom) bprintf(&h, "%.*s", (int)b.len, b.p ? b.p : "");
    free(b.p);
    c->out = h.p;
    c->outlen = h.len;
    c->outcap = h.cap;
    c->oom = h.oom;
}

/* Write what the socket takes; 1 when done (or failed): drop the client. */
static int client_flush(struct metrics *m, struct metrics_client *c, uint64_t tag)
{
    while (c->outoff < c->outlen) {
        ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);
        if (n > 0) {
            c->outoff += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = tag};
            epoll_ctl(m->epfd, EPOLL_CTL_MOD, c->fd, &ev);
            return 0;
        }
        return 1;
    }
    return 1;
}

static void client_read(struct metrics *m, struct metrics_client *c, struct sup *S, uint64_t tag)
{
    for (;;) {
        if (c->inlen + 1 >= sizeof(c->in)) {
            static const char big[] = "HTTP/1.1 431 Request Header Fields Too Large\r\n"
                                      "Content-Length: 0\r\nConnection: close\r\n\r\n";
            ssize_t w = send(c->fd, big, sizeof(big) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
            (void)w;
            client_drop(m, c);
            return;
        }
        ssize_t n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - 1 - c->inlen, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (n <= 0) {
            client_drop(m, c);
            return;
        }
        c->inlen += (uint32_t)n;
        c->in[c->inlen] = '\0';
        if (strstr(c->in, "\r\n\r\n") || strstr(c->in, "\n\n")) break;
    }
    reply(c, S, 0);
    if (c->oom || client_flush(m, c, tag)) client_drop(m, c);
}

static void do_accept(struct metrics *m)
{
    for (;;) {
        int fd = accept4(m->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                axl_warn("metrics", "accept: %s", strerror(errno));
            return;
        }
        uint32_t i, oldest = 0;
        for (i = 0; i < AXL_METRICS_CLIENTS; i++) {
            if (m->c[i].fd < 0) break;
            if (m->c[i].seq < m->c[oldest].seq) oldest = i;
        }
        if (i == AXL_METRICS_CLIENTS) { /* full: the oldest (a slow or stuck scraper) goes */
            client_drop(m, &m->c[oldest]);
            i = oldest;
        }
        struct metrics_client *c = &m->c[i];
        c->fd = fd;
        c->seq = ++m->seq;
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = m->tag_base + 1 + i};
        if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            close(fd);
            c->fd = -1;
        }
    }
}

void metrics_event(struct metrics *m, struct sup *S, uint64_t tag, uint32_t events)
{
    if (tag == m->tag_base) {
        do_accept(m);
        return;
    }
    uint64_t i = tag - m->tag_base - 1;
    if (i >= AXL_METRICS_CLIENTS || m->c[i].fd < 0) return;
    struct metrics_client *c = &m->c[i];
    if (c->out) {
        if (client_flush(m, c, tag)) client_drop(m, c);
        return;
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) client_read(m, c, S, tag);
}

int metrics_open(struct metrics *m, const char *spec, int epfd, uint64_t tag_base)
{
    memset(m, 0, sizeof(*m));
    m->listen_fd = -1;
    m->epfd = epfd;
    m->tag_base = tag_base;
    for (uint32_t i = 0; i < AXL_METRICS_CLIENTS; i++)
        m->c[i].fd = -1;
    if (!strncmp(spec, "unix:", 5)) {
        struct sockaddr_un sa;
        const char *path = spec + 5;
        if (!*path || strlen(path) >= sizeof(sa.sun_path)) {
            fprintf(stderr, "%s: --metrics unix:PATH: PATH must be 1..%zu bytes\n", PROG,
                    sizeof(sa.sun_path) - 1);
            return AXL_EINVAL;
        }
        struct stat st;
        if (lstat(path, &st) == 0) {
            if (!S_ISSOCK(st.st_mode)) {
                fprintf(stderr, "%s: --metrics: %s exists and is not a socket\n", PROG, path);
                return AXL_EEXIST;
            }
            unlink(path); /* stale: a live owner would be a second stack on one path */
        }
        memset(&sa, 0, sizeof(sa));
        sa.sun_family = AF_UNIX;
        memcpy(sa.sun_path, path, strlen(path) + 1);
        m->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        mode_t old = umask(077);
        int rc = m->listen_fd < 0 || bind(m->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0;
        umask(old);
        if (rc || listen(m->listen_fd, 16) < 0) {
            fprintf(stderr, "%s: --metrics %s: %s\n", PROG, spec, strerror(errno));
            goto err;
        }
        snprintf(m->path, sizeof(m->path), "%s", path);
    } else if (!strncmp(spec, "tcp:", 4)) {
        char ip[64];
        const char *colon = strrchr(spec + 4, ':');
        uint32_t addr;
        char *end;
        unsigned long port = colon ? strtoul(colon + 1, &end, 10) : 0;
        size_t il = colon ? (size_t)(colon - (spec + 4)) : 0;
        if (!colon || il == 0 || il >= sizeof(ip) || !colon[1] || *end || port < 1 || port > 65535) {
            fprintf(stderr, "%s: --metrics tcp:IP:PORT: '%s' is not an IPv4 address and a port\n",
                    PROG, spec);
            return AXL_EINVAL;
        }
        memcpy(ip, spec + 4, il);
        ip[il] = '\0';
        if (axl_parse_ipv4(ip, &addr) < 0) {
            fprintf(stderr, "%s: --metrics: '%s' is not an IPv4 address\n", PROG, ip);
            return AXL_EINVAL;
        }
        struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                  .sin_addr.s_addr = htonl(addr)};
        int one = 1;
        m->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (m->listen_fd < 0 ||
            setsockopt(m->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
            bind(m->listen_fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
            listen(m->listen_fd, 16) < 0) {
            fprintf(stderr, "%s: --metrics %s (on the kernel's stack): %s\n", PROG, spec,
                    strerror(errno));
            goto err;
        }
    } else {
        fprintf(stderr, "%s: --metrics: 'unix:PATH' or 'tcp:IP:PORT', not '%s'\n", PROG, spec);
        return AXL_EINVAL;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag_base};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, m->listen_fd, &ev) < 0) {
        fprintf(stderr, "%s: --metrics: epoll: %s\n", PROG, strerror(errno));
        goto err;
    }
    axl_info("metrics", "Prometheus metrics on %s (GET /metrics)", spec);
    return 0;
err:
    if (m->listen_fd >= 0) close(m->listen_fd);
    m->listen_fd = -1;
    if (m->path[0]) unlink(m->path);
    m->path[0] = '\0';
    return AXL_EINVAL;
}

void metrics_close(struct metrics *m)
{
    for (uint32_t i = 0; i < AXL_METRICS_CLIENTS; i++)
        if (m->c[i].fd >= 0) client_drop(m, &m->c[i]);
    if (m->listen_fd >= 0) close(m->listen_fd);
    m->listen_fd = -1;
    if (m->path[0]) unlink(m->path);
    m->path[0] = '\0';
}

void metrics_forget(struct metrics *m)
{
    for (uint32_t i = 0; i < AXL_METRICS_CLIENTS; i++) {
        if (m->c[i].fd >= 0) close(m->c[i].fd);
        free(m->c[i].out);
        m->c[i].out = NULL;
        m->c[i].fd = -1;
    }
    if (m->listen_fd >= 0) close(m->listen_fd);
    m->listen_fd = -1;
}
