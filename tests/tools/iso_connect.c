/* SPDX-License-Identifier: MIT */
/*
 * iso_connect - an application that opens connections one after the other
 * through axl-stackd (isolated mode, the POSIX layer), for
 * tests/integration/scale.sh: behind a scaled-down director, connects the
 * round-robin gives a parked replica must be passed on to an active one
 * (src/axl/iso.c) without the application seeing EADDRNOTAVAIL.
 *
 *   iso_connect --stack PATH [--count N] [--hold SEC [--ready F] [--stop F]] IP PORT
 *
 * Each connection: connect, write one line, read its echo (at most 5 s),
 * close. With --hold SEC the N connections are opened first and kept: each
 * then echoes a line every 20 ms for SEC seconds or until the file --stop
 * FILE exists (the file --ready FILE is created once all are open), and is
 * closed at the end. Prints "connect
 * count=N ok=K failed=F first_error=NAME retries=R" (ok: connections whose
 * every echo came back right; R: the library's AxlIsoConnectRetries). Exit
 * 0 when all N did, 1 if not, 2 usage.
 *
 * Call chain: main -> axp_init (isolated) -> axp_socket / axp_connect /
 * axp_send / axp_poll / axp_recv -> src/axl/iso.c -> axl-stackd replicas.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "axl/axl.h"
#include "axl/socket.h"
#include "core/opts.h"

/* One line echoed on fd: 0, or an errno value. */
static int echo_line(int fd, uint32_t i, uint32_t k)
{
    char msg[64], got[64];
    int n = snprintf(msg, sizeof(msg), "iso-connect-%u-%u\n", i, k), have = 0, e = 0;
    if (axp_send(fd, msg, (size_t)n, 0) != n) return errno ? errno : EIO;
    while (have < n) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (axp_poll(&p, 1, 5000) <= 0) {
            e = ETIMEDOUT;
            break;
        }
        ssize_t r = axp_recv(fd, got + have, sizeof(got) - (size_t)have, 0);
        if (r <= 0) {
            e = r < 0 ? errno : ECONNRESET;
            break;
        }
        have += (int)r;
    }
    if (!e && (have != n || memcmp(got, msg, (size_t)n))) e = EBADMSG;
    return e;
}

/* A connected socket, or -errno. */
static int open_one(const struct sockaddr_in *dst)
{
    int fd = axp_socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -errno;
    if (axp_connect(fd, (const struct sockaddr *)dst, sizeof(*dst)) < 0) {
        int e = errno;
        axp_close(fd);
        return -(e ? e : EIO);
    }
    return fd;
}

/* One connection: 0 when its line came back, else an errno value. */
static int one(const struct sockaddr_in *dst, uint32_t i)
{
    int fd = open_one(dst);
    if (fd < 0) return -fd;
    int e = echo_line(fd, i, 0);
    axp_close(fd);
    return e;
}

int main(int argc, char **argv)
{
    const char *stack = NULL, *ready = NULL, *stop = NULL;
    uint32_t count = 8;
    double hold = 0;
    const struct axl_opt opts[] = {
        {"stack", 's', AXL_OPT_STR, "PATH", "axl-stackd's control socket (default $AXL_STACK)",
         &stack},
        {"count", 'c', AXL_OPT_U32, "N", "connections, one after the other (default 8)", &count, 1,
         100000},
        {"hold", 0, AXL_OPT_DOUBLE, "SEC",
         "keep the connections open, each echoing a line every 20 ms, for SEC seconds", &hold,
         0.1, 600},
        {"ready", 0, AXL_OPT_STR, "FILE", "with --hold: created once every connection is open",
         &ready},
        {"stop", 0, AXL_OPT_STR, "FILE", "with --hold: end early once FILE exists", &stop},
        {0},
    };
    int first = axl_opts_parse(argc, argv, "iso_connect", "[--stack PATH] [--count N] IP PORT",
                               "Opens N echo connections one after the other through axl-stackd "
                               "(isolated mode) and checks each echo.",
                               opts);
    if (first < 0) return 2;
    if (argc - first != 2) {
        fprintf(stderr, "iso_connect: give IP PORT (try --help)\n");
        return 2;
    }
    struct sockaddr_in dst = {.sin_family = AF_INET};
    char *end;
    unsigned long port = strtoul(argv[first + 1], &end, 10);
    if (inet_pton(AF_INET, argv[first], &dst.sin_addr) != 1 || *end || port < 1 || port > 65535) {
        fprintf(stderr, "iso_connect: '%s %s' is not an IPv4 address and a port\n", argv[first],
                argv[first + 1]);
        return 2;
    }
    dst.sin_port = htons((uint16_t)port);
    struct axl_config cfg;
    char err[256];
    memset(&cfg, 0, sizeof(cfg));
    if (stack && axl_mode_opt(&cfg, "stack", stack, err, sizeof(err)) < 0) {
        fprintf(stderr, "iso_connect: %s\n", err);
        return 2;
    }
    cfg.mode = AXL_MODE_ISOLATED;
    if (axp_init(&cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "iso_connect: %s\n", err);
        return 1;
    }
    uint32_t ok = 0, failed = 0;
    int first_err = 0;
    if (hold > 0) {
        int *fds = calloc(count, sizeof(*fds)), *err_of = calloc(count, sizeof(int));
        if (!fds || !err_of) return 1;
        for (uint32_t i = 0; i < count; i++) {
            fds[i] = open_one(&dst);
            if (fds[i] < 0) err_of[i] = -fds[i];
        }
        if (ready) {
            FILE *f = fopen(ready, "w");
            if (f) fclose(f);
        }
        struct timespec t0, now, tick = {0, 20 * 1000 * 1000};
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (uint32_t k = 1;; k++) { /* bounded by --hold */
            for (uint32_t i = 0; i < count; i++)
                if (!err_of[i]) err_of[i] = echo_line(fds[i], i, k);
            clock_gettime(CLOCK_MONOTONIC, &now);
            if ((double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9 >= hold ||
                (stop && access(stop, F_OK) == 0))
                break;
            nanosleep(&tick, NULL);
        }
        for (uint32_t i = 0; i < count; i++) {
            if (fds[i] >= 0) axp_close(fds[i]);
            if (!err_of[i]) {
                ok++;
                continue;
            }
            failed++;
            if (!first_err) first_err = err_of[i];
        }
        free(fds);
        free(err_of);
        count = ok + failed;
    }
    for (uint32_t i = 0; hold <= 0 && i < count; i++) {
        int e = one(&dst, i);
        if (!e) {
            ok++;
            continue;
        }
        failed++;
        if (!first_err) first_err = e;
    }
    uint64_t retries = 0;
    if (axl_stat(axp_ctx(), "AxlIsoConnectRetries", &retries) < 0) retries = 0;
    printf("connect count=%u ok=%u failed=%u first_error=%s retries=%llu\n", count, ok, failed,
           first_err ? strerrorname_np(first_err) : "-", (unsigned long long)retries);
    axp_exit();
    return ok == count ? 0 : 1;
}
