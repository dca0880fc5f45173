/* SPDX-License-Identifier: MIT */
/*
 * test_axl_rtc.c - the native API (include/axl/axl.h) in run-to-completion
 * mode: two contexts in one process, each with its own engine, joined by a
 * shm port pair (src/port/shmlink.h). Side B's open blocks until side A has
 * accepted it, so B is opened on a thread while this thread polls A; after
 * that one thread drives both contexts (one at a time, as the API asks).
 *
 * Checks: mode flags and axl_open errors, connect/accept/echo byte-exact,
 * in-place receive, send_mem with DATA_ACKED cookies, shutdown / close /
 * abort and the CLEANUP statuses, connection refused, stale handles
 * (-EBADF), UDP sendto/recvfrom with truncation, axl_poll's timeout.
 *
 * A: 198.18.6.1/24, B: 198.18.6.2/24.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "axl/axl.h"
#include "axl/mode_flags.h"
#include "core/clock.h"
#include "core/log.h"

#include "axl_pair.h"

#define IP_A 0xc6120601u
#define IP_B 0xc6120602u
static char wire[128], tmpdir[64];

/* ---- fixture -------------------------------------------------------------------- */

struct opener {
    struct axl_config cfg;
    char err[256];
    int rc;
    struct axl_ctx *c;
    volatile int done;
};

static void *open_b(void *arg)
{
    struct opener *o = arg;
    o->rc = axl_open(&o->c, &o->cfg, o->err, sizeof(o->err));
    o->done = 1;
    return NULL;
}

static int group_setup(void **state)
{
    (void)state;
    static char pa[200], pb[200];
    axl_log_set_level(AXL_LOG_ERR);
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/axl-rtc-XXXXXX");
    if (!mkdtemp(tmpdir)) return -1;
    snprintf(wire, sizeof(wire), "%s/wire", tmpdir);
    snprintf(pa, sizeof(pa), "shm:%s,role=a,seed=1", wire);
    snprintf(pb, sizeof(pb), "shm:%s,role=b,seed=2,wait=10000", wire);
    struct axl_config ca = {.port = pa, .addr = "198.18.6.1/24", .seed = 11};
    char err[256];
    if (axl_open(&A.c, &ca, err, sizeof(err)) < 0) {
        fprintf(stderr, "open A: %s\n", err);
        return -1;
    }
    static struct opener o;
    memset(&o, 0, sizeof(o));
    o.cfg = (struct axl_config){.port = pb, .addr = "198.18.6.2/24", .seed = 22};
    pthread_t th;
    if (pthread_create(&th, NULL, open_b, &o) != 0) return -1;
    struct axl_event ev[8];
    while (!o.done)
        (void)axl_poll(A.c, ev, 8, 1000000); /* serve B's attachment */
    pthread_join(th, NULL);
    if (o.rc < 0) {
        fprintf(stderr, "open B: %s\n", o.err);
        return -1;
    }
    B.c = o.c;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    axl_close_ctx(B.c);
    axl_close_ctx(A.c);
    unlink(wire);
    rmdir(tmpdir);
    return 0;
}

/* Wait up to 5 s for that event (pumping both sides). */
static struct axl_event wait_ev(struct side *s, uint32_t type, axl_sock_t sock)
{
    return wait_ev_for(s, type, sock, 5);
}

/* A listener on A, a connection from B, accepted: returns both handles. */
static void conn_pair(uint16_t port, axl_sock_t *l, axl_sock_t *sa, axl_sock_t *sb)
{
    assert_int_equal(axl_socket(A.c, AXL_TCP, l), 0);
    assert_int_equal(axl_bind(A.c, *l, 0, port), 0);
    assert_int_equal(axl_listen(A.c, *l, 16), 0);
    assert_int_equal(axl_socket(B.c, AXL_TCP, sb), 0);
    assert_int_equal(axl_connect(B.c, *sb, IP_A, port), 0);
    struct axl_event e = wait_ev(&B, AXL_EV_CONNECTED, *sb);
    assert_int_equal(e.status, 0);
    wait_ev(&A, AXL_EV_NEW_CONN, *l);
    assert_int_equal(axl_accept(A.c, *l, sa), 0);
    assert_int_not_equal(*sa, AXL_SOCK_NONE);
    axl_sock_t x;
    assert_int_equal(axl_accept(A.c, *l, &x), -EAGAIN);
}

static uint8_t pat(uint32_t i)
{
    return (uint8_t)(i * 7u + (i >> 9));
}

/* ---- tests ------------------------------------------------------------------------- */

/* parse ARGS (NULL-terminated) with a table holding only the mode flags
 * (-s/-p/-a/-g short names), then apply the rules; returns what
 * axl_mode_flags_config returned (or 99 when parsing itself failed) */
static int mf_parse(struct axl_mode_flags *mf, struct axl_config *cfg, char *err, size_t len, ...)
{
    char *argv[16] = {(char *)"axl-test"};
    int argc = 1;
    va_list ap;
    va_start(ap, len);
    for (const char *a; argc < 15 && (a = va_arg(ap, const char *));)
        argv[argc++] = (char *)a;
    va_end(ap);
    memset(mf, 0, sizeof(*mf));
    memset(cfg, 0, sizeof(*cfg));
    const struct axl_opt opts[] = {AXL_MODE_OPTS_SHORT(mf, 's', 'p', 'a', 'g'), {0}};
    if (axl_opts_parse(argc, argv, "axl-test", "", "", opts) != argc) return 99;
    return axl_mode_flags_config(mf, cfg, err, len);
}

static void test_mode_flags(void **state)
{
    (void)state;
    struct axl_mode_flags mf;
    struct axl_config cfg;
    char err[256];
    /* none: nothing given, cfg left for isolated mode at the default socket */
    assert_int_equal(mf_parse(&mf, &cfg, err, sizeof(err), NULL), 0);
    assert_int_equal(axl_mode_flags_given(&mf), 0);
    assert_null(cfg.stack);
    assert_null(cfg.port);
    /* run-to-completion, short names and every flag stored */
    assert_int_equal(mf_parse(&mf, &cfg, err, sizeof(err), "-p", "tap:axl0", "-a", "198.18.0.2/24",
                              "-g", "198.18.0.1", "--mtu", "1400", "--mac", "02:00:00:00:00:01",
                              "--pcap", "/tmp/x.pcap", NULL),
                     0);
    assert_int_equal(axl_mode_flags_given(&mf), 1);
    assert_string_equal(cfg.port, "tap:axl0");
    assert_string_equal(cfg.addr, "198.18.0.2/24");
    assert_string_equal(cfg.gw, "198.18.0.1");
    assert_int_equal(cfg.mtu, 1400);
    assert_string_equal(cfg.mac, "02:00:00:00:00:01");
    assert_string_equal(cfg.pcap, "/tmp/x.pcap");
    /* isolated */
    assert_int_equal(mf_parse(&mf, &cfg, err, sizeof(err), "-s", "/tmp/s.sock", NULL), 0);
    assert_string_equal(cfg.stack, "/tmp/s.sock");
    /* the rules, as usage errors with a message */
    assert_int_equal(mf_parse(&mf, &cfg, err, sizeof(err), "--port", "tap:axl0", NULL), -EINVAL);
    assert_string_equal(err, "--port needs --addr CIDR");
    assert_int_equal(mf_parse(&mf, &cfg, err, sizeof(err), "--stack", "/tmp/s", "--port",
                              "tap:axl0", "--addr", "198.18.0.2/24", NULL),
                     -EINVAL);
    assert_non_null(strstr(err, "not both"));
    assert_int_equal(mf_parse(&mf, &cfg, err, sizeof(err), "--gw", "198.18.0.1", NULL), -EINVAL);
    assert_non_null(strstr(err, "--gw is for run-to-completion"));
    assert_int_equal(
        mf_parse(&mf, &cfg, err, sizeof(err), "--stack", "/tmp/s", "--pcap", "/tmp/p", NULL),
        -EINVAL);
    assert_non_null(strstr(err, "--pcap"));
    /* a bad value: axl_mode_opt's message */
    assert_int_equal(
        mf_parse(&mf, &cfg, err, sizeof(err), "--port", "tap:axl0", "--addr", "198.18.0.2", NULL),
        -EINVAL);
    assert_non_null(strstr(err, "--addr"));
}

static void test_mode_opts(void **state)
{
    (void)state;
    struct axl_config cfg;
    char err[256];
    memset(&cfg, 0, sizeof(cfg));
    assert_int_equal(axl_mode_opt(&cfg, "verbose", "1", err, sizeof(err)), 0);
    assert_int_equal(axl_mode_opt(&cfg, "addr", "198.18.0.2", err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "--addr"));
    assert_int_equal(axl_mode_opt(&cfg, "addr", "198.18.0.2/24", err, sizeof(err)), 1);
    assert_string_equal(cfg.addr, "198.18.0.2/24");
    assert_int_equal(axl_mode_opt(&cfg, "mtu", "100", err, sizeof(err)), -EINVAL);
    assert_int_equal(axl_mode_opt(&cfg, "mtu", "1400", err, sizeof(err)), 1);
    assert_int_equal(cfg.mtu, 1400);
    assert_int_equal(axl_mode_opt(&cfg, "gw", "1.2.3", err, sizeof(err)), -EINVAL);
    assert_int_equal(axl_mode_opt(&cfg, "mac", "zz", err, sizeof(err)), -EINVAL);
    assert_int_equal(axl_mode_opt(&cfg, "port", "bogus:x", err, sizeof(err)), -EINVAL);
    assert_int_equal(axl_mode_opt(&cfg, "port", "tap:x:2", err, sizeof(err)), -EINVAL);
    assert_int_equal(axl_mode_opt(&cfg, "stack", "", err, sizeof(err)), -EINVAL);
    assert_int_equal(axl_mode_opt(&cfg, "port", NULL, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(axl_mode_help(), "--stack"));

    /* axl_open refuses mixed or incomplete configurations with a message */
    struct axl_ctx *c = NULL;
    struct axl_config bad = {.port = "shm:/nonexistent/x", .stack = "/tmp/s"};
    assert_int_equal(axl_open(&c, &bad, err, sizeof(err)), -EINVAL);
    assert_null(c);
    assert_true(strlen(err) > 0);
    bad = (struct axl_config){.port = "shm:/nonexistent/x"}; /* no --addr */
    assert_int_equal(axl_open(&c, &bad, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "--addr"));
    bad = (struct axl_config){.stack = "/tmp/s", .addr = "198.18.0.2/24"};
    assert_int_equal(axl_open(&c, &bad, err, sizeof(err)), -EINVAL);
    bad = (struct axl_config){.port = "mem:x", .addr = "198.18.0.2/24", .rx_size = 5000};
    assert_int_equal(axl_open(&c, &bad, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "rx_size"));
    assert_int_equal(axl_ctx_mode(A.c), AXL_MODE_RTC);
    assert_int_equal(axl_ctx_replicas(A.c), 1);
    assert_int_equal(axl_ctx_addr(B.c), IP_B);
}

static void test_echo(void **state)
{
    (void)state;
    axl_sock_t l, sa, sb;
    conn_pair(7001, &l, &sa, &sb);
    struct axl_sock_info in;
    assert_int_equal(axl_sock_info(B.c, sb, &in), 0);
    assert_int_equal(in.state, AXL_SS_ESTABLISHED);
    assert_int_equal(in.raddr, IP_A);
    assert_int_equal(in.rport, 7001);
    assert_int_equal(in.laddr, IP_B);
    int tag = 5;
    axl_set_user(A.c, sa, &tag);
    assert_ptr_equal(axl_get_user(A.c, sa), &tag);

    const uint32_t total = 300000;
    uint8_t *back = malloc(total);
    uint32_t sent = 0, echoed = 0, got = 0;
    uint8_t buf[4096], tmp[8192];
    uint64_t end = axl_clock_ns() + 20000000000ull;
    int saw_user = 0;
    while (got < total) {
        assert_true(axl_clock_ns() < end);
        while (sent < total) {
            uint32_t n = total - sent < sizeof(buf) ? total - sent : (uint32_t)sizeof(buf);
            for (uint32_t i = 0; i < n; i++)
                buf[i] = pat(sent + i);
            int rc = axl_send(B.c, sb, buf, n);
            if (rc == -EAGAIN) break;
            assert_true(rc > 0);
            sent += (uint32_t)rc;
        }
        /* A: echo what it has (copying API) */
        for (;;) {
            int rc = axl_recv(A.c, sa, tmp, sizeof(tmp));
            if (rc == -EAGAIN) break;
            assert_true(rc > 0);
            int w = axl_send(A.c, sa, tmp, (uint32_t)rc);
            assert_int_equal(w, rc); /* 64 KiB send buffer, 8 KiB at a time */
            echoed += (uint32_t)rc;
            if (axl_sock_info(A.c, sa, &in) == 0 && in.send_room < sizeof(tmp)) break;
        }
        while (got < total) {
            int rc = axl_recv(B.c, sb, back + got, total - got);
            if (rc == -EAGAIN) break;
            if (rc <= 0) fail_msg("B recv rc %d got %u", rc, got);
            got += (uint32_t)rc;
        }
        pump_once();
        for (int i = 0; i < A.n; i++)
            if (A.log[i].type == AXL_EV_NEW_DATA && A.log[i].sock == sa) {
                assert_ptr_equal(A.log[i].user, &tag);
                saw_user = 1;
            }
        A.n = B.n = 0;
    }
    assert_true(saw_user);
    assert_int_equal(echoed, total);
    for (uint32_t i = 0; i < total; i++)
        if (back[i] != pat(i)) fail_msg("byte %u differs", i);
    free(back);
    assert_int_equal(axl_close(B.c, sb), 0);
    assert_int_equal(axl_close(A.c, sa), 0);
    assert_int_equal(axl_close(A.c, l), 0);
    pump_ms(20);
}

static void test_recv_in_place(void **state)
{
    (void)state;
    axl_sock_t l, sa, sb;
    conn_pair(7002, &l, &sa, &sb);
    char msg[3000];
    for (unsigned i = 0; i < sizeof(msg); i++)
        msg[i] = (char)('a' + i % 26);
    assert_int_equal(axl_send(B.c, sb, msg, sizeof(msg)), (int)sizeof(msg));
    uint32_t have = 0;
    uint64_t end = axl_clock_ns() + 5000000000ull;
    struct axl_iov iov[4];
    while (have < sizeof(msg)) {
        assert_true(axl_clock_ns() < end);
        pump_once();
        int rc = axl_recv_peek(A.c, sa, iov, 4);
        if (rc == -EAGAIN) continue;
        assert_true(rc > 0);
        have = (uint32_t)rc;
    }
    /* the pieces add up and hold the bytes in order */
    uint32_t off = 0;
    for (int i = 0; i < 4 && iov[i].len; i++) {
        assert_memory_equal(iov[i].base, msg + off, iov[i].len);
        off += iov[i].len;
    }
    assert_int_equal(off, sizeof(msg));
    /* release 1000: the rest is still there, in place */
    assert_int_equal(axl_recv_done(A.c, sa, 1000), 0);
    int rc = axl_recv_peek(A.c, sa, iov, 4);
    assert_int_equal(rc, (int)sizeof(msg) - 1000);
    assert_memory_equal(iov[0].base, msg + 1000, iov[0].len);
    assert_int_equal(axl_recv_done(A.c, sa, (uint32_t)rc), 0);
    assert_int_equal(axl_recv_peek(A.c, sa, iov, 4), -EAGAIN);
    axl_close(B.c, sb);
    axl_close(A.c, sa);
    axl_close(A.c, l);
    pump_ms(20);
}

static void test_send_mem(void **state)
{
    (void)state;
    axl_sock_t l, sa, sb;
    conn_pair(7003, &l, &sa, &sb);
    struct axl_mem *m;
    assert_int_equal(axl_mem_alloc(B.c, 100000, &m), 0);
    assert_true(axl_mem_size(m) >= 100000);
    assert_int_equal(axl_mem_size(m) % 4096, 0);
    uint8_t *p = axl_mem_base(m);
    for (uint32_t i = 0; i < 100000; i++)
        p[i] = pat(i + 13);
    assert_int_equal(axl_send_mem(B.c, sb, m, 0, 0, 1), -EINVAL);
    assert_int_equal(axl_send_mem(B.c, sb, m, axl_mem_size(m) - 10, 11, 1), -EINVAL);
    assert_int_equal(axl_send_mem(B.c, sb, m, 0, 40000, 0xc001), 0);
    assert_int_equal(axl_send_mem(B.c, sb, m, 40000, 20000, 0xc002), 0);
    uint8_t *got = malloc(60000);
    uint32_t n = 0;
    uint64_t end = axl_clock_ns() + 10000000000ull;
    while (n < 60000) {
        assert_true(axl_clock_ns() < end);
        pump_once();
        int rc;
        while ((rc = axl_recv(A.c, sa, got + n, 60000 - n)) > 0)
            n += (uint32_t)rc;
        assert_true(rc == -EAGAIN || n == 60000);
    }
    for (uint32_t i = 0; i < 60000; i++)
        if (got[i] != pat(i + 13)) fail_msg("byte %u differs", i);
    free(got);
    struct axl_event e1 = wait_ev(&B, AXL_EV_DATA_ACKED, sb);
    while (e1.cookie == 0) e1 = wait_ev(&B, AXL_EV_DATA_ACKED, sb); /* skip copy acks */
    assert_int_equal(e1.cookie, 0xc001);
    assert_int_equal(e1.arg, 40000);
    assert_int_equal(e1.status, 0);
    struct axl_event e2 = wait_ev(&B, AXL_EV_DATA_ACKED, sb);
    while (e2.cookie == 0) e2 = wait_ev(&B, AXL_EV_DATA_ACKED, sb);
    assert_int_equal(e2.cookie, 0xc002);
    assert_int_equal(e2.arg, 20000);
    axl_close(B.c, sb);
    axl_close(A.c, sa);
    axl_close(A.c, l);
    pump_ms(20);
    axl_mem_free(B.c, m);
}

/* Pre-packetised objects (Sandstorm), both variants, sent twice each. */
static void test_send_obj(void **state)
{
    (void)state;
    axl_sock_t l, sa, sb;
    conn_pair(7005, &l, &sa, &sb);
    struct axl_mem *m;
    const uint32_t olen = 10000;
    assert_int_equal(axl_mem_alloc(A.c, olen, &m), 0);
    uint8_t *p = axl_mem_base(m);
    for (uint32_t i = 0; i < olen; i++)
        p[i] = pat(i * 3 + 1);
    struct axl_obj *o[2];
    assert_int_equal(axl_obj_register(A.c, m, 0, olen, 2, &o[0]), -EINVAL);
    assert_int_equal(axl_obj_register(A.c, m, 0, olen, 0, &o[0]), 0);
    assert_int_equal(axl_obj_register(A.c, m, 0, olen, 1, &o[1]), 0);
    for (int k = 0; k < 4; k++)
        assert_int_equal(axl_send_obj(A.c, sa, o[k & 1], 0x0b00 + (uint64_t)k), 0);
    uint8_t *got = malloc(4 * olen);
    uint32_t n = 0;
    uint64_t end = axl_clock_ns() + 10000000000ull;
    while (n < 4 * olen) {
        assert_true(axl_clock_ns() < end);
        pump_once();
        int rc;
        while (n < 4 * olen && (rc = axl_recv(B.c, sb, got + n, 4 * olen - n)) > 0)
            n += (uint32_t)rc;
    }
    for (uint32_t i = 0; i < 4 * olen; i++)
        if (got[i] != pat((i % olen) * 3 + 1)) fail_msg("byte %u differs", i);
    free(got);
    for (int k = 0; k < 4; k++) {
        struct axl_event e = wait_ev(&A, AXL_EV_DATA_ACKED, sa);
        while (e.cookie == 0) e = wait_ev(&A, AXL_EV_DATA_ACKED, sa);
        assert_int_equal(e.cookie, 0x0b00 + (uint64_t)k);
        assert_int_equal(e.arg, olen);
    }
    axl_obj_free(A.c, o[0]);
    axl_obj_free(A.c, o[1]);
    axl_close(B.c, sb);
    axl_close(A.c, sa);
    axl_close(A.c, l);
    pump_ms(20);
    axl_mem_free(A.c, m);
}

static void test_shutdown_close(void **state)
{
    (void)state;
    axl_sock_t l, sa, sb;
    conn_pair(7004, &l, &sa, &sb);
    assert_int_equal(axl_send(B.c, sb, "hello", 5), 5);
    assert_int_equal(axl_shutdown(B.c, sb, 1), 0);
    assert_int_equal(axl_send(B.c, sb, "x", 1), -EPIPE);
    assert_int_equal(axl_shutdown(B.c, sb, 3), -EINVAL);
    struct axl_event e = wait_ev(&A, AXL_EV_REMOTE_CLOSED, sa);
    assert_int_equal(e.status, 0);
    char buf[16];
    assert_int_equal(axl_recv(A.c, sa, buf, sizeof(buf)), 5);
    assert_memory_equal(buf, "hello", 5);
    assert_int_equal(axl_recv(A.c, sa, buf, sizeof(buf)), 0); /* end of stream */
    struct axl_sock_info in;
    assert_int_equal(axl_sock_info(A.c, sa, &in), 0);
    assert_int_equal(in.rx_eof, 1);
    /* A still sends after B's half-close, then closes */
    assert_int_equal(axl_send(A.c, sa, "world", 5), 5);
    assert_int_equal(axl_shutdown(A.c, sa, 1), 0);
    e = wait_ev(&B, AXL_EV_REMOTE_CLOSED, sb);
    assert_int_equal(e.status, 0);
    assert_int_equal(axl_recv(B.c, sb, buf, sizeof(buf)), 5);
    assert_memory_equal(buf, "world", 5);
    e = wait_ev(&B, AXL_EV_CLEANUP, sb);
    assert_int_equal(e.status, 0);
    e = wait_ev(&A, AXL_EV_CLEANUP, sa);
    assert_int_equal(e.status, 0);
    assert_int_equal(axl_sock_info(B.c, sb, &in), 0);
    assert_int_equal(in.state, AXL_SS_CLOSED);
    assert_int_equal(axl_close(A.c, sa), 0);
    assert_int_equal(axl_close(B.c, sb), 0);

    /* abort: the peer sees a reset */
    axl_sock_t sa2, sb2;
    assert_int_equal(axl_socket(B.c, AXL_TCP, &sb2), 0);
    assert_int_equal(axl_connect(B.c, sb2, IP_A, 7004), 0);
    wait_ev(&B, AXL_EV_CONNECTED, sb2);
    wait_ev(&A, AXL_EV_NEW_CONN, l);
    assert_int_equal(axl_accept(A.c, l, &sa2), 0);
    assert_int_equal(axl_abort(A.c, sa2), 0);
    e = wait_ev(&B, AXL_EV_REMOTE_CLOSED, sb2);
    assert_int_equal(e.status, -ECONNRESET);
    e = wait_ev(&B, AXL_EV_CLEANUP, sb2);
    assert_int_equal(e.status, -ECONNRESET);
    assert_int_equal(axl_send(B.c, sb2, "x", 1), -ECONNRESET);
    assert_int_equal(axl_close(B.c, sb2), 0);
    axl_close(A.c, l);
    pump_ms(20);
}

static void test_refused_and_stale(void **state)
{
    (void)state;
    axl_sock_t s;
    assert_int_equal(axl_socket(B.c, AXL_TCP, &s), 0);
    assert_int_equal(axl_connect(B.c, s, IP_A, 7999), 0);
    assert_int_equal(axl_connect(B.c, s, IP_A, 7999), -EALREADY);
    struct axl_event e = wait_ev(&B, AXL_EV_CONNECTED, s);
    assert_int_equal(e.status, -ECONNREFUSED);
    e = wait_ev(&B, AXL_EV_CLEANUP, s);
    assert_int_equal(e.status, -ECONNREFUSED);
    assert_int_equal(axl_close(B.c, s), 0);
    /* the handle is stale now, also after its slot is reused */
    assert_int_equal(axl_close(B.c, s), -EBADF);
    assert_int_equal(axl_send(B.c, s, "x", 1), -EBADF);
    axl_sock_t s2;
    assert_int_equal(axl_socket(B.c, AXL_TCP, &s2), 0);
    assert_int_not_equal(s2, s);
    assert_int_equal(axl_recv(B.c, s, &e, 1), -EBADF);
    assert_int_equal(axl_bind(B.c, s, 0, 1), -EBADF);
    assert_int_equal(axl_sock_info(B.c, s, &(struct axl_sock_info){0}), -EBADF);
    assert_int_equal(axl_close(B.c, AXL_SOCK_NONE), -EBADF);
    assert_int_equal(axl_close(B.c, 0xffffffffffffull), -EBADF);
    assert_null(axl_get_user(B.c, s));
    /* wrong use */
    assert_int_equal(axl_listen(B.c, s2, 4), -EDESTADDRREQ);
    assert_int_equal(axl_bind(B.c, s2, IP_A, 80), -EADDRNOTAVAIL);
    assert_int_equal(axl_setopt(B.c, s2, AXL_SO_NODELAY, 2), -EINVAL);
    assert_int_equal(axl_setopt(B.c, s2, AXL_SO_NODELAY, 1), 0);
    assert_int_equal(axl_setopt(B.c, s2, (enum axl_sockopt)99, 1), -ENOPROTOOPT);
    assert_int_equal(axl_sendto(B.c, s2, "x", 1, IP_A, 9), -EOPNOTSUPP);
    assert_int_equal(axl_close(B.c, s2), 0);
    axl_sock_t bad;
    assert_int_equal(axl_socket(B.c, (enum axl_sock_type)3, &bad), -EPROTONOSUPPORT);
}

static void test_udp(void **state)
{
    (void)state;
    axl_sock_t ua, ub;
    assert_int_equal(axl_socket(A.c, AXL_UDP, &ua), 0);
    assert_int_equal(axl_bind(A.c, ua, 0, 5353), 0);
    assert_int_equal(axl_socket(B.c, AXL_UDP, &ub), 0);
    uint8_t big[3000];
    for (unsigned i = 0; i < sizeof(big); i++)
        big[i] = pat(i);
    assert_int_equal(axl_sendto(B.c, ub, "x", 1, 0, 0), -EDESTADDRREQ);
    assert_int_equal(axl_sendto(B.c, ub, big, 65508, IP_A, 5353), -EMSGSIZE);
    assert_int_equal(axl_sendto(B.c, ub, "ping", 4, IP_A, 5353), 0);
    assert_int_equal(axl_sendto(B.c, ub, big, sizeof(big), IP_A, 5353), 0); /* fragmented */
    wait_ev(&A, AXL_EV_NEW_DATA, ua);
    char buf[100];
    uint32_t from;
    uint16_t fport;
    int rc = axl_recvfrom(A.c, ua, buf, sizeof(buf), &from, &fport);
    uint64_t end = axl_clock_ns() + 5000000000ull;
    assert_int_equal(rc, 4);
    assert_memory_equal(buf, "ping", 4);
    assert_int_equal(from, IP_B);
    struct axl_sock_info in;
    assert_int_equal(axl_sock_info(B.c, ub, &in), 0);
    assert_int_equal(fport, in.lport);
    /* the second one truncated to 100 bytes, the rest dropped */
    while ((rc = axl_recvfrom(A.c, ua, buf, sizeof(buf), NULL, NULL)) == -EAGAIN) {
        assert_true(axl_clock_ns() < end);
        pump_once();
    }
    assert_int_equal(rc, 100);
    assert_memory_equal(buf, big, 100);
    assert_int_equal(axl_recvfrom(A.c, ua, buf, sizeof(buf), NULL, NULL), -EAGAIN);
    /* reply over a connected UDP socket */
    assert_int_equal(axl_connect(A.c, ua, IP_B, fport), 0);
    assert_int_equal(axl_sendto(A.c, ua, "pong", 4, 0, 0), 0);
    wait_ev(&B, AXL_EV_NEW_DATA, ub);
    assert_int_equal(axl_recvfrom(B.c, ub, buf, sizeof(buf), &from, &fport), 4);
    assert_memory_equal(buf, "pong", 4);
    assert_int_equal(fport, 5353);
    /* a second bind of the port is refused */
    axl_sock_t u2;
    assert_int_equal(axl_socket(A.c, AXL_UDP, &u2), 0);
    assert_int_equal(axl_bind(A.c, u2, 0, 5353), -EADDRINUSE);
    axl_close(A.c, u2);
    axl_close(A.c, ua);
    axl_close(B.c, ub);
}

static void test_poll_timeout(void **state)
{
    (void)state;
    struct axl_event ev[4];
    pump_ms(5);
    uint64_t t0 = axl_clock_ns();
    int n;
    do {
        n = axl_poll(A.c, ev, 4, 30000000); /* 30 ms */
    } while (n > 0 && axl_clock_ns() - t0 < 1000000000ull); /* stray events: again */
    uint64_t dt = axl_clock_ns() - t0;
    assert_int_equal(n, 0);
    assert_true(dt >= 25000000ull);
    assert_true(dt < 2000000000ull);
    assert_int_equal(axl_poll(A.c, NULL, 4, 0), -EINVAL);
    uint64_t v;
    assert_int_equal(axl_stat(A.c, "TcpActiveOpens", &v), 0);
    assert_int_equal(axl_stat(A.c, "NoSuchCounter", &v), -ENOENT);
    assert_int_equal(axl_stat(B.c, "TcpActiveOpens", &v), 0);
    assert_true(v >= 4);
    assert_true(axl_ctx_fd(A.c) >= 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_mode_opts, test_setup),
        cmocka_unit_test_setup(test_mode_flags, test_setup),
        cmocka_unit_test_setup(test_echo, test_setup),
        cmocka_unit_test_setup(test_recv_in_place, test_setup),
        cmocka_unit_test_setup(test_send_mem, test_setup),
        cmocka_unit_test_setup(test_send_obj, test_setup),
        cmocka_unit_test_setup(test_shutdown_close, test_setup),
        cmocka_unit_test_setup(test_refused_and_stale, test_setup),
        cmocka_unit_test_setup(test_udp, test_setup),
        cmocka_unit_test_setup(test_poll_timeout, test_setup),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
