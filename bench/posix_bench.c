/* SPDX-License-Identifier: MIT */
/*
 * posix_bench.c - cost of a non-blocking recv() that finds nothing: through
 * the POSIX layer (axp_recv on a connected TCP socket with an empty receive
 * ring, MSG_DONTWAIT -> EAGAIN) beside the kernel's recv() on a connected
 * kernel TCP socket over loopback (-> EAGAIN), in the same run.
 *
 * Our side runs in RTC mode: two engines in this process joined by a shm
 * port pair (as test_posix_rtc), a peer thread accepting with the native
 * API. Prints "posix_recv_empty_ns N" and "kernel_recv_empty_ns N" (median
 * of --reps runs of --iters calls each).
 *
 * Call chain: main -> axp_recv -> axl_recv (RTC engine); kernel: recv(2).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "axl/axl.h"
#include "axl/socket.h"
#include "core/log.h"
#include "core/opts.h"

static struct axl_ctx *CA, *CB;
static atomic_int stop_peer, b_open;
static char err_b[256];

static void *peer(void *arg)
{
    const char *spec = arg;
    struct axl_config cb = { .port = spec, .addr = "198.18.9.2/24", .seed = 2 };
    if (axl_open(&CB, &cb, err_b, sizeof(err_b)) < 0) {
        atomic_store(&b_open, -1);
        return NULL;
    }
    atomic_store(&b_open, 1);
    axl_sock_t l, c;
    if (axl_socket(CB, AXL_TCP, &l) || axl_bind(CB, l, 0, 9) || axl_listen(CB, l, 8)) abort();
    struct axl_event ev[16];
    while (!atomic_load(&stop_peer)) {
        int n = axl_poll(CB, ev, 16, 2000000);
        for (int i = 0; i < n; i++)
            if (ev[i].type == AXL_EV_NEW_CONN)
                while (axl_accept(CB, l, &c) == 0) {
                }
    }
    return NULL;
}

static uint64_t ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double measure(ssize_t (*fn)(int, void *, size_t, int), int fd, uint32_t iters, uint32_t reps)
{
    double r[64];
    char b[64];
    for (uint32_t k = 0; k < reps; k++) {
        uint64_t t0 = ns();
        for (uint32_t i = 0; i < iters; i++)
            if (fn(fd, b, sizeof(b), MSG_DONTWAIT) >= 0 || errno != EAGAIN) {
                fprintf(stderr, "posix_bench: recv did not say EAGAIN\n");
                exit(1);
            }
        r[k] = (double)(ns() - t0) / iters;
    }
    qsort(r, reps, sizeof(double), cmp);
    return r[reps / 2];
}

int main(int argc, char **argv)
{
    uint32_t iters = 1000000, reps = 7;
    const struct axl_opt opts[] = {
        { "iters", 'n', AXL_OPT_U32, "N", "calls per run", &iters, 1000, 1e9 },
        { "reps", 'r', AXL_OPT_U32, "N", "runs (median reported)", &reps, 1, 64 },
        { 0 },
    };
    if (axl_opts_parse(argc, argv, "posix_bench", "[options]",
                       "Non-blocking recv on an empty socket: POSIX layer vs kernel.", opts) < 0)
        return 2;
    axl_log_set_level(AXL_LOG_ERR);
    char dir[] = "/tmp/axp-bench-XXXXXX", wire[128], pa[200], pb[200];
    if (!mkdtemp(dir)) return 1;
    snprintf(wire, sizeof(wire), "%s/wire", dir);
    snprintf(pa, sizeof(pa), "shm:%s,role=a", wire);
    snprintf(pb, sizeof(pb), "shm:%s,role=b,wait=10000", wire);
    struct axl_config ca = { .port = pa, .addr = "198.18.9.1/24", .seed = 1 };
    char err[256];
    if (axl_open(&CA, &ca, err, sizeof(err)) < 0) {
        fprintf(stderr, "posix_bench: %s\n", err);
        return 1;
    }
    pthread_t th;
    pthread_create(&th, NULL, peer, pb);
    struct axl_event ev[8];
    while (!atomic_load(&b_open)) axl_poll(CA, ev, 8, 1000000);
    if (atomic_load(&b_open) < 0) {
        fprintf(stderr, "posix_bench: peer: %s\n", err_b);
        return 1;
    }
    if (axp_init_ctx(CA) < 0) return 1;
    int fd = axp_socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(9) };
    a.sin_addr.s_addr = inet_addr("198.18.9.2");
    if (axp_connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        perror("posix_bench: connect");
        return 1;
    }
    /* kernel: a loopback TCP pair */
    int kl = socket(AF_INET, SOCK_STREAM, 0), kc = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in la = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t ll = sizeof(la);
    if (bind(kl, (struct sockaddr *)&la, sizeof(la)) || listen(kl, 1) ||
        getsockname(kl, (struct sockaddr *)&la, &ll) || connect(kc, (struct sockaddr *)&la, ll)) {
        perror("posix_bench: kernel loopback");
        return 1;
    }
    int ka = accept(kl, NULL, NULL);
    double ours = measure(axp_recv, fd, iters, reps);
    double kern = measure(recv, kc, iters / 10 ? iters / 10 : 1, reps);
    printf("posix_recv_empty_ns %.1f\nkernel_recv_empty_ns %.1f\n", ours, kern);
    close(ka);
    close(kc);
    close(kl);
    axp_close(fd);
    axp_exit();
    atomic_store(&stop_peer, 1);
    pthread_join(th, NULL);
    axl_close_ctx(CB);
    axl_close_ctx(CA);
    unlink(wire);
    rmdir(dir);
    return 0;
}
