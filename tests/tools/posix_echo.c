/* SPDX-License-Identifier: MIT */
/*
 * posix_echo.c - a TCP and UDP echo server (RFC 862) written only with the
 * POSIX layer (axl/socket.h), in three event-loop variants: select, poll,
 * epoll (level- or edge-triggered). Integration tests run it against Linux
 * clients in RTC mode (--port/--addr) or attached to axl-stackd (--stack).
 *
 *   posix_echo --port afxdp:IF --addr 198.18.0.2/24 --tcp 7 --udp 7 --loop epoll
 *   posix_echo --stack /tmp/x/stackd.sock --tcp 7 --loop poll
 *
 * Non-blocking sockets; bytes a client sends are written back in order (a
 * connection whose echo does not fit waits for POLLOUT before it reads
 * again). SIGINT/SIGTERM end it; --stats-out FILE gets the layer's counters
 * (axp_get_stats) then, and "ready" goes to stdout once listening.
 *
 * Call chain: main -> axp_* (src/posix) -> axl API -> engine / axl-stackd.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "axl/mode_flags.h"
#include "axl/socket.h"
#include "core/opts.h"

#define BUFSZ 16384
#define MAXEV 256

struct conn {
    int used;
    uint32_t off, len; /* echo bytes not yet written back */
    uint8_t buf[BUFSZ];
};

static volatile sig_atomic_t stop;
static void on_sig(int s)
{
    (void)s;
    stop = 1;
}

struct srv {
    int lfd, ufd, ep, et;
    struct conn **c; /* by descriptor */
    int cap;
    uint64_t conns, bytes, dgrams;
};

static struct conn *conn_get(struct srv *S, int fd)
{
    if (fd >= S->cap) {
        int n = S->cap ? S->cap : 64;
        while (n <= fd) n *= 2;
        struct conn **q = realloc(S->c, (size_t)n * sizeof(*q));
        if (!q) return NULL;
        memset(q + S->cap, 0, (size_t)(n - S->cap) * sizeof(*q));
        S->c = q;
        S->cap = n;
    }
    if (!S->c[fd]) S->c[fd] = calloc(1, sizeof(struct conn));
    return S->c[fd];
}

static void conn_close(struct srv *S, int fd)
{
    if (S->ep >= 0) axp_epoll_ctl(S->ep, EPOLL_CTL_DEL, fd, NULL);
    axp_close(fd);
    if (fd < S->cap && S->c[fd]) S->c[fd]->used = 0;
}

static void ep_set(struct srv *S, int fd, uint32_t ev, int op)
{
    if (S->ep < 0) return;
    struct epoll_event e = { .events = ev | (S->et ? EPOLLET : 0), .data.fd = fd };
    if (axp_epoll_ctl(S->ep, op, fd, &e) < 0) perror("posix_echo: epoll_ctl");
}

static void do_accept(struct srv *S)
{
    for (;;) {
        int fd = axp_accept4(S->lfd, NULL, NULL, SOCK_NONBLOCK);
        if (fd < 0) {
            if (errno != EAGAIN) perror("posix_echo: accept");
            return;
        }
        struct conn *c = conn_get(S, fd);
        if (!c) {
            axp_close(fd);
            continue;
        }
        c->used = 1;
        c->off = c->len = 0;
        S->conns++;
        ep_set(S, fd, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_ADD);
    }
}

/* Flush pending echo bytes: 1 done, 0 blocked, -1 closed. */
static int conn_flush(struct srv *S, int fd, struct conn *c)
{
    while (c->off < c->len) {
        ssize_t w = axp_send(fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN) return 0;
            conn_close(S, fd);
            return -1;
        }
        c->off += (uint32_t)w;
    }
    c->off = c->len = 0;
    return 1;
}

/* Readable or writable: echo until blocked. */
static void conn_io(struct srv *S, int fd)
{
    struct conn *c = fd < S->cap ? S->c[fd] : NULL;
    if (!c || !c->used) return;
    for (;;) {
        int f = conn_flush(S, fd, c);
        if (f < 0) return;
        if (f == 0) {
            ep_set(S, fd, EPOLLOUT, EPOLL_CTL_MOD);
            return;
        }
        ssize_t n = axp_recv(fd, c->buf, BUFSZ, 0);
        if (n > 0) {
            c->len = (uint32_t)n;
            S->bytes += (uint64_t)n;
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            ep_set(S, fd, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_MOD);
            return;
        }
        conn_close(S, fd); /* EOF or error */
        return;
    }
}

static void udp_io(struct srv *S)
{
    static uint8_t b[65536];
    for (;;) {
        struct sockaddr_in from;
        socklen_t fl = sizeof(from);
        ssize_t n = axp_recvfrom(S->ufd, b, sizeof(b), 0, (struct sockaddr *)&from, &fl);
        if (n < 0) return;
        S->dgrams++;
        axp_sendto(S->ufd, b, (size_t)n, 0, (struct sockaddr *)&from, fl);
    }
}

static int want_out(struct srv *S, int fd)
{
    return fd < S->cap && S->c[fd] && S->c[fd]->used && S->c[fd]->off < S->c[fd]->len;
}

static void loop_poll(struct srv *S)
{
    struct pollfd *p = NULL;
    int pcap = 0;
    while (!stop) {
        int n = 0;
        if (pcap < S->cap + 2) {
            pcap = S->cap + 2;
            p = realloc(p, (size_t)pcap * sizeof(*p));
            if (!p) abort();
        }
        if (S->lfd >= 0) p[n++] = (struct pollfd){ S->lfd, POLLIN, 0 };
        if (S->ufd >= 0) p[n++] = (struct pollfd){ S->ufd, POLLIN, 0 };
        for (int fd = 0; fd < S->cap; fd++)
            if (S->c[fd] && S->c[fd]->used)
                p[n++] = (struct pollfd){ fd, (short)(want_out(S, fd) ? POLLOUT : POLLIN), 0 };
        int r = axp_poll(p, (nfds_t)n, 200);
        if (r < 0) {
            if (errno != EINTR) perror("posix_echo: poll");
            continue;
        }
        for (int i = 0; i < n && r > 0; i++) {
            if (!p[i].revents) continue;
            if (p[i].fd == S->lfd)
                do_accept(S);
            else if (p[i].fd == S->ufd)
                udp_io(S);
            else
                conn_io(S, p[i].fd);
        }
    }
    free(p);
}

static void loop_select(struct srv *S)
{
    while (!stop) {
        fd_set r, w;
        FD_ZERO(&r);
        FD_ZERO(&w);
        int maxfd = -1;
        if (S->lfd >= 0) FD_SET(S->lfd, &r), maxfd = S->lfd;
        if (S->ufd >= 0) {
            FD_SET(S->ufd, &r);
            if (S->ufd > maxfd) maxfd = S->ufd;
        }
        for (int fd = 0; fd < S->cap && fd < FD_SETSIZE; fd++) {
            if (!S->c[fd] || !S->c[fd]->used) continue;
            FD_SET(fd, want_out(S, fd) ? &w : &r);
            if (fd > maxfd) maxfd = fd;
        }
        struct timeval tv = { 0, 200000 };
        int n = axp_select(maxfd + 1, &r, &w, NULL, &tv);
        if (n < 0) {
            if (errno != EINTR) perror("posix_echo: select");
            continue;
        }
        if (S->lfd >= 0 && FD_ISSET(S->lfd, &r)) do_accept(S);
        if (S->ufd >= 0 && FD_ISSET(S->ufd, &r)) udp_io(S);
        for (int fd = 0; fd <= maxfd; fd++)
            if (fd != S->lfd && fd != S->ufd && (FD_ISSET(fd, &r) || FD_ISSET(fd, &w)))
                conn_io(S, fd);
    }
}

static void loop_epoll(struct srv *S)
{
    struct epoll_event ev[MAXEV];
    if (S->lfd >= 0) ep_set(S, S->lfd, EPOLLIN, EPOLL_CTL_ADD);
    if (S->ufd >= 0) ep_set(S, S->ufd, EPOLLIN, EPOLL_CTL_ADD);
    while (!stop) {
        int n = axp_epoll_wait(S->ep, ev, MAXEV, 200);
        if (n < 0) {
            if (errno != EINTR) perror("posix_echo: epoll_wait");
            continue;
        }
        for (int i = 0; i < n; i++) {
            int fd = ev[i].data.fd;
            if (fd == S->lfd)
                do_accept(S);
            else if (fd == S->ufd)
                udp_io(S);
            else
                conn_io(S, fd);
        }
    }
}

int main(int argc, char **argv)
{
    struct axl_mode_flags mf = { 0 };
    const char *loop = "epoll", *stats_out = NULL;
    uint32_t tcp_port = 0, udp_port = 0;
    const struct axl_opt opts[] = {
        AXL_MODE_OPTS(&mf),
        { "tcp", 't', AXL_OPT_U32, "PORT", "TCP echo port", &tcp_port, 1, 65535 },
        { "udp", 'u', AXL_OPT_U32, "PORT", "UDP echo port", &udp_port, 1, 65535 },
        { "loop", 'l', AXL_OPT_STR, "KIND", "select | poll | epoll | epoll-et (default epoll)", &loop },
        { "stats-out", 0, AXL_OPT_STR, "FILE", "write the POSIX layer's counters here at exit",
          &stats_out },
        { 0 },
    };
    int first = axl_opts_parse(argc, argv, "posix_echo", "[options]",
                               "TCP/UDP echo server on the Axolotl POSIX layer.", opts);
    if (first < 0) return 2;
    if (first != argc) {
        fprintf(stderr, "posix_echo: unexpected argument '%s' (try --help)\n", argv[first]);
        return 2;
    }
    if (strcmp(loop, "select") && strcmp(loop, "poll") && strcmp(loop, "epoll") &&
        strcmp(loop, "epoll-et")) {
        fprintf(stderr, "posix_echo: --loop must be select, poll, epoll or epoll-et, not '%s'\n", loop);
        return 2;
    }
    if (!tcp_port && !udp_port) {
        fprintf(stderr, "posix_echo: give --tcp PORT and/or --udp PORT (try --help)\n");
        return 2;
    }
    struct axl_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    char err[256];
    if (axl_mode_flags_config(&mf, &cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "posix_echo: %s\n", err);
        return 2;
    }
    cfg.mode = cfg.port ? AXL_MODE_RTC : AXL_MODE_ISOLATED;
    if (axp_init(&cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "posix_echo: %s\n", err);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sig;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct srv S = { .lfd = -1, .ufd = -1, .ep = -1 };
    if (tcp_port) {
        S.lfd = axp_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        int one = 1;
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)tcp_port) };
        if (S.lfd < 0 || axp_setsockopt(S.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
            axp_bind(S.lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || axp_listen(S.lfd, 128) < 0) {
            fprintf(stderr, "posix_echo: TCP port %u: %s\n", tcp_port, strerror(errno));
            return 1;
        }
    }
    if (udp_port) {
        S.ufd = axp_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)udp_port) };
        if (S.ufd < 0 || axp_bind(S.ufd, (struct sockaddr *)&a, sizeof(a)) < 0) {
            fprintf(stderr, "posix_echo: UDP port %u: %s\n", udp_port, strerror(errno));
            return 1;
        }
    }
    printf("ready\n");
    fflush(stdout);
    if (!strncmp(loop, "epoll", 5)) {
        S.et = !strcmp(loop, "epoll-et");
        S.ep = axp_epoll_create1(EPOLL_CLOEXEC);
        if (S.ep < 0) {
            perror("posix_echo: epoll_create1");
            return 1;
        }
        loop_epoll(&S);
    } else if (!strcmp(loop, "poll")) {
        loop_poll(&S);
    } else {
        loop_select(&S);
    }
    struct axp_stats st;
    axp_get_stats(&st);
    if (stats_out) {
        FILE *f = fopen(stats_out, "w");
        if (f) {
            fprintf(f,
                    "conns %llu\nbytes %llu\ndgrams %llu\npumps %llu\nwaits %llu\nevents %llu\n"
                    "events_stale %llu\naccept_queued %llu\naccept_reset %llu\nclose_reset %llu\n"
                    "udp_foreign_drop %llu\nfd_reserved %llu\n",
                    (unsigned long long)S.conns, (unsigned long long)S.bytes,
                    (unsigned long long)S.dgrams, (unsigned long long)st.pumps,
                    (unsigned long long)st.waits, (unsigned long long)st.events,
                    (unsigned long long)st.events_stale, (unsigned long long)st.accept_queued,
                    (unsigned long long)st.accept_reset, (unsigned long long)st.close_reset,
                    (unsigned long long)st.udp_foreign_drop, (unsigned long long)st.fd_reserved);
            fclose(f);
        }
    }
    for (int fd = 0; fd < S.cap; fd++) {
        if (S.c[fd] && S.c[fd]->used) axp_close(fd);
        free(S.c[fd]);
    }
    free(S.c);
    axp_exit();
    return 0;
}
