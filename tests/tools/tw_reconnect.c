/* SPDX-License-Identifier: MIT */
/*
 * tw_reconnect.c - one TCP connection from a fixed local port, made with the
 * POSIX layer, for tests/integration/tcp_secret.sh: connect from --lport to
 * IP PORT, read until the server closes (it closes first and so keeps the
 * connection in TIME-WAIT), close, keep the engine running --linger seconds
 * (our FIN answered), exit. Run again on the same port against the same
 * server, a new engine's SYN meets that TIME-WAIT; the server accepts it only
 * if its timestamp (or ISN) is newer than the last one's (RFC 6191; Linux:
 * PAWS), which the boot's TCP secrets give (src/net/tcp_secret.c). Prints
 *   connect_ms=T bytes=N retrans=R rsts_out=O
 * (the engine's TcpRetransSegs / TcpOutRsts: a refused SYN costs a reset and
 * a retransmission one second later). Exit 0 when it connected and read the
 * server's bytes, 1 on failure (message), 2 on bad arguments.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "axl/axl.h"
#include "axl/mode_flags.h"
#include "axl/socket.h"
#include "core/opts.h"

#define PROG "tw_reconnect"

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* Let the engine run for ms (our FIN and its answer), nothing to wait on. */
static void linger(double ms)
{
    int ep = axp_epoll_create1(0);
    double end = now_ms() + ms;
    struct epoll_event ev;
    while (now_ms() < end) axp_epoll_wait(ep, &ev, 1, 10);
    axp_close(ep);
}

int main(int argc, char **argv)
{
    struct axl_mode_flags mf = {0};
    uint32_t lport = 0;
    double timeout = 5, linger_s = 0.3;
    const struct axl_opt opts[] = {
        AXL_MODE_OPTS(&mf),
        {"lport", 0, AXL_OPT_U32, "PORT", "local port to connect from", &lport, 1024, 65535},
        {"timeout", 'w', AXL_OPT_DOUBLE, "SEC", "give up after SEC seconds (default 5)", &timeout,
         0.1, 60},
        {"linger", 0, AXL_OPT_DOUBLE, "SEC",
         "keep the engine running SEC seconds after the close (default 0.3)", &linger_s, 0, 10},
        {0},
    };
    int first = axl_opts_parse(argc, argv, PROG, "[options] --lport PORT IP PORT",
                               "One TCP connection from a fixed local port; reads until the "
                               "server closes.",
                               opts);
    if (first < 0) return 2;
    struct sockaddr_in dst = {.sin_family = AF_INET};
    uint32_t rport = 0;
    if (argc - first != 2 || inet_pton(AF_INET, argv[first], &dst.sin_addr) != 1 ||
        sscanf(argv[first + 1], "%u", &rport) != 1 || rport == 0 || rport > 65535) {
        fprintf(stderr, "%s: give IP PORT (try --help)\n", PROG);
        return 2;
    }
    if (!lport) {
        fprintf(stderr, "%s: --lport is required (try --help)\n", PROG);
        return 2;
    }
    dst.sin_port = htons((uint16_t)rport);
    struct axl_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    char err[256];
    if (axl_mode_flags_config(&mf, &cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s: %s\n", PROG, err);
        return 2;
    }
    cfg.mode = cfg.port ? AXL_MODE_RTC : AXL_MODE_ISOLATED;
    if (axp_init(&cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s: %s\n", PROG, err);
        return 1;
    }
    int fd = axp_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in src = {.sin_family = AF_INET, .sin_port = htons((uint16_t)lport)};
    if (fd < 0 || axp_bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
        fprintf(stderr, "%s: bind to port %u: %s\n", PROG, lport, strerror(errno));
        return 1;
    }
    const double t0 = now_ms(), end = t0 + timeout * 1e3;
    if (axp_connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0 && errno != EINPROGRESS) {
        fprintf(stderr, "%s: connect: %s\n", PROG, strerror(errno));
        return 1;
    }
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int e = 0;
    socklen_t el = sizeof(e);
    while (axp_poll(&p, 1, 10) == 0 && now_ms() < end) {
    }
    if (!(p.revents & POLLOUT) || axp_getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0 || e) {
        fprintf(stderr, "%s: connect: %s\n", PROG, e ? strerror(e) : "timed out");
        return 1;
    }
    const double connected = now_ms() - t0;
    char buf[4096];
    uint64_t bytes = 0;
    for (;;) {
        ssize_t n = axp_read(fd, buf, sizeof(buf));
        if (n > 0) {
            bytes += (uint64_t)n;
            continue;
        }
        if (n == 0) break;
        if (errno != EAGAIN || now_ms() >= end) {
            fprintf(stderr, "%s: read: %s\n", PROG, n < 0 && errno != EAGAIN ? strerror(errno) : "timed out");
            return 1;
        }
        p = (struct pollfd){.fd = fd, .events = POLLIN};
        axp_poll(&p, 1, 10);
    }
    axp_close(fd);
    linger(linger_s * 1e3);
    uint64_t retrans = 0, rsts = 0;
    axl_stat(axp_ctx(), "TcpRetransSegs", &retrans);
    axl_stat(axp_ctx(), "TcpOutRsts", &rsts);
    printf("connect_ms=%.1f bytes=%llu retrans=%llu rsts_out=%llu\n", connected,
           (unsigned long long)bytes, (unsigned long long)retrans, (unsigned long long)rsts);
    axp_exit();
    return bytes ? 0 : 1;
}
