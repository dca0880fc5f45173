/* SPDX-License-Identifier: MIT */
/*
 * test_pcap.c - the pcap writer (pcap.c): frames written through the writer
 * and the port mirror are read back by parsing the file's headers here; the
 * buffering (one write(2) per buffer-full or age) is checked through the
 * writer's counters; axl_port_open names per-queue capture files FILE.qN.
 * tests/integration/pcap_tshark.sh checks that tshark reads the same files.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/pool.h"
#include "port/pcap.h"
#include "port/port.h"

static char tmpdir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/axl-test-pcap-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void fill(uint8_t *buf, uint32_t len, uint32_t seed)
{
    for (uint32_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(seed * 31 + i * 7);
}

/* Parse a capture, checking every record against fill(len_of(i), i). */
static uint32_t check_capture(const char *path, uint32_t snaplen, uint32_t (*len_of)(uint32_t))
{
    size_t len, off;
    uint8_t *buf = read_file(path, &len), expect[70000];
    struct axl_pcap_file_hdr fh;
    uint32_t n = 0;
    uint64_t now = (uint64_t)time(NULL);

    assert_true(len >= sizeof(fh));
    memcpy(&fh, buf, sizeof(fh));
    assert_int_equal(fh.magic, 0xa1b23c4du);
    assert_int_equal(fh.version_major, 2);
    assert_int_equal(fh.version_minor, 4);
    assert_int_equal(fh.thiszone, 0);
    assert_int_equal(fh.snaplen, snaplen);
    assert_int_equal(fh.linktype, 1);
    for (off = sizeof(fh); off < len; n++) {
        struct axl_pcap_rec_hdr rh;
        assert_true(off + sizeof(rh) <= len);
        memcpy(&rh, buf + off, sizeof(rh));
        off += sizeof(rh);
        uint32_t want = len_of(n);
        assert_int_equal(rh.orig_len, want);
        assert_int_equal(rh.incl_len, want < snaplen ? want : snaplen);
        assert_true(rh.ts_nsec < 1000000000u);
        assert_true(rh.ts_sec + 5 >= now && rh.ts_sec <= now + 5);
        assert_true(off + rh.incl_len <= len);
        fill(expect, want, n);
        assert_memory_equal(buf + off, expect, rh.incl_len);
        off += rh.incl_len;
    }
    free(buf);
    return n;
}

static uint32_t len_small(uint32_t i)
{
    return 60 + (i * 37) % 1455;
}
static uint32_t len_mixed(uint32_t i)
{
    return i % 3 == 0 ? 9018 : 14 + i;
}

static void test_write_read_back(void **state)
{
    char path[128];
    struct axl_pcap *pc;
    uint8_t frame[2000];
    uint64_t sec;
    uint32_t nsec;
    (void)state;

    snprintf(path, sizeof(path), "%s/a.pcap", tmpdir);
    assert_int_equal(axl_pcap_open(&pc, path, 0), 0);
    assert_int_equal(pc->snaplen, AXL_PCAP_SNAPLEN);
    assert_int_equal(pc->write_calls, 1); /* the global header */
    axl_clock_realtime(&sec, &nsec);
    for (uint32_t i = 0; i < 100; i++) {
        fill(frame, len_small(i), i);
        axl_pcap_write(pc, frame, len_small(i), sec, nsec);
    }
    /* Buffered: ~77 KB, no write yet. */
    assert_int_equal(pc->write_calls, 1);
    assert_int_equal(pc->records, 0);
    assert_int_equal(axl_pcap_flush(pc), 0);
    assert_int_equal(pc->write_calls, 2);
    assert_int_equal(pc->records, 100);
    assert_int_equal(axl_pcap_flush(pc), 0); /* nothing to do */
    assert_int_equal(pc->write_calls, 2);
    axl_pcap_close(pc);
    assert_int_equal(check_capture(path, AXL_PCAP_SNAPLEN, len_small), 100);
}

static void test_snaplen_and_big_buffers(void **state)
{
    char path[128];
    struct axl_pcap *pc;
    static uint8_t frame[9018];
    uint64_t sec;
    uint32_t nsec;
    (void)state;

    snprintf(path, sizeof(path), "%s/b.pcap", tmpdir);
    assert_int_equal(axl_pcap_open(&pc, path, 128), 0);
    axl_clock_realtime(&sec, &nsec);
    for (uint32_t i = 0; i < 300; i++) {
        fill(frame, len_mixed(i), i);
        axl_pcap_write(pc, frame, len_mixed(i), sec, nsec);
    }
    axl_pcap_close(pc);
    assert_int_equal(check_capture(path, 128, len_mixed), 300);

    /* Full snaplen: 1000 records incl. 334 jumbo frames (~3.5 MB) need a few
     * buffer-fulls, i.e. a handful of write(2) calls, not 1000. */
    snprintf(path, sizeof(path), "%s/c.pcap", tmpdir);
    assert_int_equal(axl_pcap_open(&pc, path, 100000), 0);
    assert_int_equal(pc->snaplen, AXL_PCAP_SNAPLEN); /* clamped */
    for (uint32_t i = 0; i < 1000; i++) {
        fill(frame, len_mixed(i), i);
        axl_pcap_write(pc, frame, len_mixed(i), sec, nsec);
    }
    assert_true(pc->write_calls >= 1 + 3 && pc->write_calls <= 1 + 4);
    axl_pcap_close(pc);
    assert_int_equal(check_capture(path, AXL_PCAP_SNAPLEN, len_mixed), 1000);
}

static void test_age_flush(void **state)
{
    char path[128];
    struct axl_pcap *pc;
    uint8_t frame[60];
    uint64_t sec;
    uint32_t nsec;
    (void)state;

    snprintf(path, sizeof(path), "%s/d.pcap", tmpdir);
    assert_int_equal(axl_pcap_open(&pc, path, 0), 0);
    axl_clock_realtime(&sec, &nsec);
    fill(frame, 60, 0);
    axl_pcap_write(pc, frame, 60, sec, nsec);
    assert_int_equal(pc->write_calls, 1);
    /* A record AXL_PCAP_FLUSH_MS later makes the buffer go out. */
    uint64_t later = sec * AXL_NS_PER_S + nsec + AXL_PCAP_FLUSH_MS * AXL_NS_PER_MS;
    axl_pcap_write(pc, frame, 60, later / AXL_NS_PER_S, (uint32_t)(later % AXL_NS_PER_S));
    assert_int_equal(pc->write_calls, 2);
    assert_int_equal(pc->records, 2);
    /* A wall clock that steps back flushes too (never holds records forever). */
    axl_pcap_write(pc, frame, 60, sec, nsec);
    assert_int_equal(pc->write_calls, 2);
    axl_pcap_write(pc, frame, 60, sec - 10, nsec);
    assert_int_equal(pc->write_calls, 3);
    assert_int_equal(pc->records, 4);
    axl_pcap_close(pc);
}

static void test_mirror_from_pool(void **state)
{
    char path[128];
    struct axl_pcap *pc;
    struct axl_pool pool;
    struct axl_pkt *pkts[16];
    (void)state;

    snprintf(path, sizeof(path), "%s/e.pcap", tmpdir);
    assert_int_equal(axl_pool_init(&pool, 64, 2048, 256), 0);
    assert_int_equal(axl_pkt_alloc_bulk(&pool, pkts, 16), 16);
    for (uint32_t i = 0; i < 16; i++) {
        pkts[i]->len = len_small(i);
        fill(pkts[i]->data, pkts[i]->len, i);
    }
    assert_int_equal(axl_pcap_open(&pc, path, 0), 0);
    axl_pcap_mirror(pc, pkts, 16);
    axl_pcap_close(pc);
    axl_pkt_free_bulk(&pool, pkts, 16);
    assert_int_equal(axl_pool_in_use(&pool), 0);
    axl_pool_fini(&pool);
    assert_int_equal(check_capture(path, AXL_PCAP_SNAPLEN, len_small), 16);
}

/* TX mirroring: records of frames the port refused are taken back, so the
 * engine's retry captures each frame once. */
static void test_mirror_tx_trim(void **state)
{
    char path[128];
    struct axl_pcap *pc;
    struct axl_pool pool;
    struct axl_pkt *pkts[32];
    (void)state;

    snprintf(path, sizeof(path), "%s/f.pcap", tmpdir);
    assert_int_equal(axl_pool_init(&pool, 64, 2048, 256), 0);
    assert_int_equal(axl_pkt_alloc_bulk(&pool, pkts, 32), 32);
    for (uint32_t i = 0; i < 32; i++) {
        pkts[i]->len = len_small(i);
        fill(pkts[i]->data, pkts[i]->len, i);
    }
    assert_int_equal(axl_pcap_open(&pc, path, 0), 0);
    axl_pcap_mirror_begin(pc, pkts, 10); /* frames 0..9 offered, 0..3 accepted */
    axl_pcap_mirror_end(pc, 4);
    axl_pcap_mirror_begin(pc, pkts + 4, 28); /* the retry: 4..31 offered, none accepted */
    axl_pcap_mirror_end(pc, 0);
    axl_pcap_mirror_begin(pc, pkts + 4, 28); /* all accepted */
    axl_pcap_mirror_end(pc, 28);
    axl_pcap_close(pc);
    axl_pkt_free_bulk(&pool, pkts, 32);
    axl_pool_fini(&pool);
    assert_int_equal(check_capture(path, AXL_PCAP_SNAPLEN, len_small), 32);
}

static void test_open_errors(void **state)
{
    struct axl_pcap *pc = (struct axl_pcap *)1;
    (void)state;
    assert_int_equal(axl_pcap_open(&pc, "/nonexistent-dir/x.pcap", 0), -ENOENT);
    assert_null(pc);
    assert_int_equal(axl_pcap_open(&pc, "", 0), AXL_EINVAL);
    assert_int_equal(axl_pcap_open(&pc, "/dev/full", 0), -ENOSPC); /* header write fails */
    assert_int_equal(axl_pcap_flush(NULL), 0);
    axl_pcap_close(NULL);
}

/* axl_port_open: one capture file per queue (FILE.qN) on multi-queue ports.
 * Uses the shm port as side A (needs no peer to open). */
static void test_port_capture_names(void **state)
{
    struct axl_pool pool;
    struct axl_port_cfg cfg;
    struct axl_port p;
    char spec[256], err[128], want[160];
    struct stat st;
    (void)state;

    assert_int_equal(axl_pool_init(&pool, 64, 2048, 256), 0);
    snprintf(spec, sizeof(spec), "shm:%s/w.sock,role=a,pcap=%s/cap.pcap", tmpdir, tmpdir);
    assert_int_equal(axl_port_parse_spec(spec, &cfg, err, sizeof(err)), 0);
    cfg.pool = &pool;
    cfg.nqueues = 2; /* as a multi-queue device's queue 1 would be */
    cfg.queue = 1;
    assert_int_equal(axl_port_open(&p, &cfg), 0);
    assert_non_null(p.pcap);
    axl_port_idle(&p);
    axl_port_close(&p);
    snprintf(want, sizeof(want), "%s/cap.pcap.q1", tmpdir);
    assert_int_equal(stat(want, &st), 0);
    assert_int_equal(st.st_size, 24);

    cfg.nqueues = 1;
    cfg.queue = 0;
    assert_int_equal(axl_port_open(&p, &cfg), 0);
    axl_port_close(&p);
    snprintf(want, sizeof(want), "%s/cap.pcap", tmpdir);
    assert_int_equal(stat(want, &st), 0);

    /* An unwritable capture path fails the open and leaves nothing behind. */
    snprintf(spec, sizeof(spec), "shm:%s/w.sock,role=a,pcap=/nonexistent-dir/x", tmpdir);
    assert_int_equal(axl_port_parse_spec(spec, &cfg, err, sizeof(err)), 0);
    cfg.pool = &pool;
    assert_int_equal(axl_port_open(&p, &cfg), -ENOENT);
    assert_null(p.ops);
    snprintf(want, sizeof(want), "%s/w.sock", tmpdir);
    assert_int_not_equal(stat(want, &st), 0); /* side A unlinked its socket */
    axl_pool_fini(&pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_read_back),    cmocka_unit_test(test_snaplen_and_big_buffers),
        cmocka_unit_test(test_age_flush),          cmocka_unit_test(test_mirror_from_pool),
        cmocka_unit_test(test_mirror_tx_trim),     cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_port_capture_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
