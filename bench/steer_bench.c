/* SPDX-License-Identifier: MIT */
/*
 * steer_bench.c - the director's per-frame steering decision
 * (src/steer/director_core.c route, through axl_director_steer_of) in one
 * process, against the fixed-table decision it replaced (axl_steer_frame_hash
 * + axl_steer_queue), so the cost of the live redirection table and of a
 * drain (axlctl scale) is a ratio measured in the same run:
 *
 *   fixed     axl_steer_queue(axl_steer_frame_hash(frame), n)  (before scale)
 *   reta      the director with its table, no bucket draining
 *   draining  every bucket draining after scale 4 -> 1, frames of flows
 *             whose SYN the director saw during the drain (flow-table hits)
 *
 * Frames: --flows TCP flows (ACK segments of 60 bytes, distinct source
 * ports), cycled for --frames decisions per variant, --repeat N runs (the
 * median is printed). One table on stdout: ns per frame and the ratio to
 * "fixed". No device, no delivery: the decision only.
 *
 *   steer_bench [--flows N] [--frames N] [--repeat N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/opts.h"
#include "port/dirport.h"
#include "port/port.h"
#include "steer/director_core.h"
#include "steer/steer.h"

#define PROG "steer_bench"
#define NREP 4u

static uint32_t mkframe(uint8_t *f, uint16_t sport, uint8_t flags)
{
    memset(f, 0, 64);
    f[0] = 2;
    f[6] = 2;
    f[12] = 0x08;
    uint8_t *ip = f + 14;
    ip[0] = 0x45;
    ip[3] = 40;
    ip[8] = 64;
    ip[9] = 6;
    const uint8_t src[4] = {198, 18, 0, 1}, dst[4] = {198, 18, 0, 2};
    memcpy(ip + 12, src, 4);
    memcpy(ip + 16, dst, 4);
    uint8_t *t = ip + 20;
    t[0] = (uint8_t)(sport >> 8);
    t[1] = (uint8_t)sport;
    t[3] = 80;
    t[12] = 0x50;
    t[13] = flags;
    return 60;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    uint32_t nflows = 4096, nframes = 20000000, repeat = 5;
    const struct axl_opt opts[] = {
        {"flows", 0, AXL_OPT_U32, "N", "TCP flows (default 4096)", &nflows, 1, 60000},
        {"frames", 0, AXL_OPT_U32, "N", "decisions per variant and run (default 20000000)",
         &nframes, 1000, 2000000000},
        {"repeat", 0, AXL_OPT_U32, "N", "runs; the median is printed (default 5)", &repeat, 1,
         99},
        {0},
    };
    int first = axl_opts_parse(argc, argv, PROG, "[options]",
                               "Cost of the director's steering decision per frame: fixed table, "
                               "live table, live table while every bucket drains.",
                               opts);
    if (first < 0) return 2;
    if (first != argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", PROG, argv[first]);
        return 2;
    }

    /* a director over a shared area, replicas "attached" (our own pid) */
    struct axl_dir_geom g = {NREP, NREP * 128 + 1024, 2048, 256};
    struct axl_dir_layout l;
    if (axl_dir_layout(&g, &l) < 0) return 1;
    int memfd = memfd_create("steer-bench", MFD_CLOEXEC);
    if (memfd < 0 || ftruncate(memfd, (off_t)l.total) < 0) {
        perror(PROG);
        return 1;
    }
    int bells[NREP], dbell = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    for (uint32_t q = 0; q < NREP; q++)
        bells[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    uint8_t *ctl = mmap(NULL, l.area_off, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    static struct axl_director d;
    if (ctl == MAP_FAILED || axl_director_init(&d, &g, memfd, bells, dbell, 128, 1) < 0) {
        fprintf(stderr, "%s: director set-up failed\n", PROG);
        return 1;
    }
    struct axl_port dev;
    struct axl_port_cfg dc;
    char err[128];
    if (axl_port_parse_spec("mem:dev,rxcap=64,txcap=64", &dc, err, sizeof(err)) < 0) return 1;
    dc.pool = &d.pool;
    memset(&dev, 0, sizeof(dev));
    if (axl_port_open(&dev, &dc) < 0) return 1;
    axl_director_start(&d, &dev);
    for (uint32_t q = 0; q < NREP; q++) {
        struct axl_dir_slot *s = (struct axl_dir_slot *)(ctl + axl_dir_block_off(&l, q));
        atomic_store(&s->req, ((uint64_t)(uint32_t)getpid() << 32) | (q + 1));
    }
    axl_director_poll(&d, axl_clock_ns());

    uint8_t(*fr)[64] = calloc(nflows, 64);
    uint8_t syn[64];
    if (!fr) return 1;
    for (uint32_t i = 0; i < nflows; i++)
        mkframe(fr[i], (uint16_t)(1024 + i), 0x10);
    double *res = calloc((size_t)repeat * 3, sizeof(double));
    volatile uint64_t sink = 0;
    for (uint32_t r = 0; r < repeat; r++) {
        for (int v = 0; v < 3; v++) {
            if (v == 1) { /* back to 4, nobody holds anything: the drains end */
                axl_director_set_active(&d, NREP);
                axl_director_sweep(&d);
                if (axl_director_sweep(&d)) {
                    fprintf(stderr, "%s: buckets still draining\n", PROG);
                    return 1;
                }
            }
            if (v == 2) { /* 4 -> 1 with every replica holding every bucket */
                for (uint32_t q = 0; q < NREP; q++) {
                    struct axl_dir_slot *s = (struct axl_dir_slot *)(ctl + axl_dir_block_off(&l, q));
                    for (uint32_t b = 0; b < AXL_STEER_RETA_SIZE; b++)
                        atomic_store(&s->conns[b], 1);
                }
                axl_director_set_active(&d, 1);
                for (uint32_t i = 0; i < nflows; i++) { /* their SYNs: new flows */
                    mkframe(syn, (uint16_t)(1024 + i), 0x02);
                    sink += (uint64_t)axl_director_steer_of(&d, syn, 60);
                }
            }
            uint64_t t0 = axl_clock_ns(), acc = 0;
            for (uint32_t k = 0, i = 0; k < nframes; k++, i = i + 1 == nflows ? 0 : i + 1) {
                if (v == 0) {
                    uint32_t h = 0;
                    if (axl_steer_frame_hash(fr[i], 60, &h)) acc += axl_steer_queue(h, NREP);
                } else {
                    acc += (uint64_t)axl_director_steer_of(&d, fr[i], 60);
                }
            }
            res[(size_t)v * repeat + r] = (double)(axl_clock_ns() - t0) / nframes;
            sink += acc;
            if (v == 2) { /* undo: counts to 0, drains end, back to 4 */
                for (uint32_t q = 0; q < NREP; q++) {
                    struct axl_dir_slot *s = (struct axl_dir_slot *)(ctl + axl_dir_block_off(&l, q));
                    for (uint32_t b = 0; b < AXL_STEER_RETA_SIZE; b++)
                        atomic_store(&s->conns[b], 0);
                }
                axl_director_sweep(&d);
                axl_director_sweep(&d);
            }
        }
    }
    static const char *const name[3] = {"fixed (before: hash + axl_steer_queue)",
                                        "reta (live table, nothing draining)",
                                        "draining (4 -> 1, flow-table hits)"};
    double base = 0;
    printf("%-42s %12s %8s\n", "decision", "ns/frame", "ratio");
    for (int v = 0; v < 3; v++) {
        qsort(res + (size_t)v * repeat, repeat, sizeof(double), cmp_d);
        double med = res[(size_t)v * repeat + repeat / 2];
        if (v == 0) base = med;
        printf("%-42s %12.2f %8.2f\n", name[v], med, base > 0 ? med / base : 0.0);
    }
    printf("(%u flows, %u frames x %u runs, median; flow table full: %llu; check %llu)\n", nflows,
           nframes, repeat, (unsigned long long)d.st.flow_full, (unsigned long long)(sink & 1));
    axl_port_close(&dev);
    axl_director_fini(&d);
    free(fr);
    free(res);
    return 0;
}
