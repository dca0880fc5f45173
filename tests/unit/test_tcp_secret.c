/* SPDX-License-Identifier: MIT */
/*
 * test_tcp_secret.c - TCP secrets kept for the boot (src/net/tcp_secret.c).
 * The file is created once (0600, exactly the secret's size) and read back
 * the same by every later caller; one that others may read, that is not a
 * regular file of the right size, or a link is refused; AXL_TCP_SECRET picks
 * the file or "none". Two engines given the same secrets (a replica and its
 * restarted successor) continue each other's ISNs for a tuple: the second
 * one's ISN is the first one's plus the 4 µs clock ticks between them
 * (RFC 6528 §3), which their own random secrets never give.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/pool.h"
#include "net/stack.h"
#include "net/tcp.h"
#include "net/tcp_isn.h"
#include "port/port.h"

struct dir {
    char path[64];  /* a fresh directory */
    char file[128]; /* path/sub/tcp-secret (sub is created by the keeper) */
};

static int setup(void **state)
{
    struct dir *d = calloc(1, sizeof(*d));
    snprintf(d->path, sizeof(d->path), "/tmp/axl-secret-test.XXXXXX");
    assert_non_null(mkdtemp(d->path));
    snprintf(d->file, sizeof(d->file), "%s/sub/tcp-secret", d->path);
    *state = d;
    return 0;
}

static int teardown(void **state)
{
    struct dir *d = *state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->path);
    assert_int_equal(system(cmd), 0);
    free(d);
    return 0;
}

static void test_keep_creates_then_reads(void **state)
{
    struct dir *d = *state;
    struct axl_tcp_secret a, b;
    memset(&a, 0, sizeof(a));
    assert_int_equal(axl_tcp_secret_keep(&a, d->file), 0);
    struct stat st;
    assert_int_equal(stat(d->file, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, sizeof(struct axl_tcp_secret));
    assert_int_equal(st.st_uid, geteuid());
    struct axl_tcp_secret zero;
    memset(&zero, 0, sizeof(zero));
    assert_memory_not_equal(&a, &zero, sizeof(a)); /* getrandom filled it */
    memset(&b, 0, sizeof(b));
    assert_int_equal(axl_tcp_secret_keep(&b, d->file), 0); /* read, not made again */
    assert_memory_equal(&a, &b, sizeof(a));
    /* no temporary file left beside it */
    char dir[160];
    snprintf(dir, sizeof(dir), "%s/sub", d->path);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "test $(ls -A '%s' | wc -l) -eq 1", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_keep_refuses(void **state)
{
    struct dir *d = *state;
    struct axl_tcp_secret a;
    assert_int_equal(axl_tcp_secret_keep(&a, d->file), 0);
    /* readable by others: not a secret */
    assert_int_equal(chmod(d->file, 0644), 0);
    assert_int_equal(axl_tcp_secret_keep(&a, d->file), -EPERM);
    assert_int_equal(chmod(d->file, 0600), 0);
    /* the wrong size */
    assert_int_equal(truncate(d->file, 7), 0);
    assert_int_equal(axl_tcp_secret_keep(&a, d->file), -EINVAL);
    /* a link (to a file that would pass) */
    char real[160], link_[160];
    snprintf(real, sizeof(real), "%s/real", d->path);
    snprintf(link_, sizeof(link_), "%s/link", d->path);
    assert_int_equal(axl_tcp_secret_keep(&a, real), 0);
    assert_int_equal(symlink(real, link_), 0);
    assert_int_equal(axl_tcp_secret_keep(&a, link_), -ELOOP);
    /* a directory */
    assert_int_equal(axl_tcp_secret_keep(&a, d->path), -EINVAL);
    /* nonsense paths */
    assert_int_equal(axl_tcp_secret_keep(&a, ""), -EINVAL);
    assert_int_equal(axl_tcp_secret_keep(&a, NULL), -EINVAL);
}

static void test_default_env(void **state)
{
    struct dir *d = *state;
    struct axl_tcp_secret a, b;
    char note[256];
    assert_int_equal(setenv(AXL_TCP_SECRET_ENV, "none", 1), 0);
    assert_int_equal(axl_tcp_secret_default(&a, note, sizeof(note)), 0);
    assert_non_null(strstr(note, "none"));
    assert_int_equal(setenv(AXL_TCP_SECRET_ENV, d->file, 1), 0);
    assert_int_equal(axl_tcp_secret_default(&a, note, sizeof(note)), 1);
    assert_non_null(strstr(note, d->file));
    assert_int_equal(axl_tcp_secret_keep(&b, d->file), 0);
    assert_memory_equal(&a, &b, sizeof(a));
    /* a file it may not use: the engine's own secrets, and the note says why */
    assert_int_equal(chmod(d->file, 0640), 0);
    assert_int_equal(axl_tcp_secret_default(&a, note, sizeof(note)), 0);
    assert_non_null(strstr(note, "owner or mode"));
    unsetenv(AXL_TCP_SECRET_ENV);
}

/* The ISN an engine created with secret sec (NULL: its own) gives the
 * connection 198.18.0.1:40000 -> 198.18.0.2:80 at time t. */
static uint32_t engine_isn(const struct axl_tcp_secret *sec, uint64_t t)
{
    static const struct axl_tcp_ops ops = {0};
    char err[128];
    struct axl_pool pool;
    struct axl_port port;
    struct axl_port_cfg pc;
    struct axl_stack_cfg cfg;
    memset(&cfg, 0, sizeof(cfg));
    assert_int_equal(axl_pool_init(&pool, 256, 2048, AXL_POOL_HEADROOM), 0);
    assert_int_equal(axl_port_parse_spec("mem:a,mac=02:00:00:00:00:0a", &pc, err, sizeof(err)), 0);
    pc.pool = &pool;
    assert_int_equal(axl_port_open(&port, &pc), 0);
    cfg.addr.addr = 0xc6120001u;
    cfg.addr.prefix = 24;
    cfg.tcp_secret = sec;
    struct axl_stack *s = axl_stack_create(&cfg, &port, &pool, t);
    assert_non_null(s);
    axl_stack_poll(s, t);
    struct axl_tcb *c;
    assert_int_equal(axl_tcp_connect(s, 0xc6120002u, 80, 40000, &ops, NULL, &c), 0);
    struct axl_tcp_info i;
    axl_tcp_get_info(c, &i);
    axl_tcp_abort(c);
    axl_stack_destroy(s);
    axl_port_close(&port);
    axl_pool_fini(&pool);
    return i.snd_una; /* SYN_SENT: the ISN */
}

static void test_engines_continue_isns(void **state)
{
    struct dir *d = *state;
    struct axl_tcp_secret sec;
    assert_int_equal(axl_tcp_secret_keep(&sec, d->file), 0);
    const uint64_t t1 = 5000 * AXL_NS_PER_S, t2 = t1 + 3 * AXL_NS_PER_S + 123456;
    uint32_t a = engine_isn(&sec, t1), b = engine_isn(&sec, t2);
    /* the successor goes on from the predecessor's clock, not from scratch */
    assert_int_equal(b - a, (uint32_t)(t2 / AXL_TCP_ISN_TICK_NS - t1 / AXL_TCP_ISN_TICK_NS));
    assert_int_equal(engine_isn(&sec, t1), a); /* and it is the secret that decides */
    /* engines with secrets of their own: unrelated ISNs (a chance of 2^-32
     * to match) */
    uint32_t x = engine_isn(NULL, t1), y = engine_isn(NULL, t2);
    assert_int_not_equal(y - x, (uint32_t)(t2 / AXL_TCP_ISN_TICK_NS - t1 / AXL_TCP_ISN_TICK_NS));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_keep_creates_then_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keep_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_engines_continue_isns, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
