/* SPDX-License-Identifier: MIT */
/*
 * test_log.c - unit tests of the small core modules: log.c (line format, one
 * write per line, level filter, truncation, AXL_LOG from the environment),
 * err.c (text for every AXL_E* and errno) and rand.c (getrandom, the seeded
 * generator's reproducibility and bounds).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/compiler.h"
#include "core/err.h"
#include "core/log.h"
#include "core/rand.h"

/* Run fn with stderr redirected into buf. */
static void capture(void (*fn)(void), char *buf, size_t len)
{
    fflush(stderr);
    int saved = dup(2);
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    dup2(fileno(tmp), 2);
    fn();
    dup2(saved, 2);
    close(saved);
    rewind(tmp);
    size_t n = fread(buf, 1, len - 1, tmp);
    buf[n] = '\0';
    fclose(tmp);
}

static void log_some(void)
{
    axl_log_set_level(AXL_LOG_INFO);
    axl_info("tcp", "listening on port %d", 80);
    axl_debug("tcp", "not shown %d", 1);
    axl_err("port", "open failed: %s\n", "boom"); /* caller's newline is not doubled */
    axl_log_set_level(AXL_LOG_ERR);
    axl_warn("x", "not shown");
    axl_log_set_level(AXL_LOG_DEBUG);
    axl_debug("arp", "now shown");
    axl_log_set_level(AXL_LOG_INFO);
}

static void test_log_format(void **state)
{
    (void)state;
    char buf[2048], want[256];
    capture(log_some, buf, sizeof(buf));
    long pid = (long)getpid();
    snprintf(want, sizeof(want),
             "axl[%ld] INFO tcp: listening on port 80\n"
             "axl[%ld] ERR port: open failed: boom\n"
             "axl[%ld] DEBUG arp: now shown\n",
             pid, pid, pid);
    assert_string_equal(buf, want);
}

static void log_long(void)
{
    char big[3000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    axl_warn("big", "%s", big);
}

static void test_log_truncates(void **state)
{
    (void)state;
    char buf[4096];
    capture(log_long, buf, sizeof(buf));
    size_t len = strlen(buf);
    assert_true(len <= 1024 && len > 900);
    assert_memory_equal(buf + len - 4, "...\n", 4);
    assert_ptr_equal(strchr(buf, '\n'), buf + len - 1); /* one line */
}

static void test_log_levels(void **state)
{
    (void)state;
    assert_int_equal(axl_log_parse_level("warn"), AXL_LOG_WARN);
    assert_int_equal(axl_log_parse_level("Warning"), AXL_LOG_WARN);
    assert_int_equal(axl_log_parse_level("error"), AXL_LOG_ERR);
    assert_int_equal(axl_log_parse_level("info"), AXL_LOG_INFO);
    assert_int_equal(axl_log_parse_level("3"), AXL_LOG_DEBUG);
    assert_int_equal(axl_log_parse_level("verbose"), -1);
    assert_int_equal(axl_log_parse_level("33"), -1);
    assert_int_equal(axl_log_parse_level(NULL), -1);
    axl_log_set_level(99); /* clamped */
    assert_int_equal(axl_log_level_cur, AXL_LOG_DEBUG);
    axl_log_set_level(-5);
    assert_int_equal(axl_log_level_cur, AXL_LOG_ERR);
    axl_log_set_level(AXL_LOG_INFO);
}

/* The child (this binary re-executed) prints the level it started with. */
static int child_level(const char *env_value, char *errout, size_t errlen)
{
    int pfd[2], efd[2];
    assert_int_equal(pipe(pfd), 0);
    assert_int_equal(pipe(efd), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(pfd[1], 1);
        dup2(efd[1], 2);
        if (env_value)
            setenv("AXL_LOG", env_value, 1);
        else
            unsetenv("AXL_LOG");
        execl("/proc/self/exe", "test_log", "--print-level", (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    close(efd[1]);
    char out[64] = "";
    ssize_t n = read(pfd[0], out, sizeof(out) - 1);
    out[n > 0 ? n : 0] = '\0';
    n = read(efd[0], errout, errlen - 1);
    errout[n > 0 ? n : 0] = '\0';
    close(pfd[0]);
    close(efd[0]);
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    return atoi(out);
}

static void test_log_env(void **state)
{
    (void)state;
    char err[512];
    assert_int_equal(child_level(NULL, err, sizeof(err)), AXL_LOG_INFO);
    assert_int_equal(child_level("debug", err, sizeof(err)), AXL_LOG_DEBUG);
    assert_int_equal(child_level("ERR", err, sizeof(err)), AXL_LOG_ERR);
    assert_int_equal(child_level("1", err, sizeof(err)), AXL_LOG_WARN);
    assert_int_equal(child_level("chatty", err, sizeof(err)), AXL_LOG_INFO);
    assert_non_null(strstr(err, "WARN log: AXL_LOG='chatty' is not a level"));
}

static void test_strerror(void **state)
{
    (void)state;
    static const int codes[] = {AXL_OK,         AXL_ENOMEM,   AXL_EINVAL,       AXL_EAGAIN,
                                AXL_ENOBUFS,    AXL_ENOENT,   AXL_EEXIST,       AXL_EADDRINUSE,
                                AXL_ENOTSUP,    AXL_EMSGSIZE, AXL_EHOSTUNREACH, AXL_ETRUNC,
                                AXL_EMALFORMED, AXL_ECSUM,    AXL_EVERSION};
    for (unsigned i = 0; i < AXL_ARRAY_SIZE(codes); i++) {
        const char *s = axl_strerror(codes[i]);
        assert_non_null(s);
        assert_true(strlen(s) > 3);
        assert_string_not_equal(s, "unknown error");
        for (unsigned j = 0; j < i; j++)
            assert_string_not_equal(s, axl_strerror(codes[j]));
    }
    assert_string_equal(axl_strerror(-ENOMEM), strerror(ENOMEM));
    assert_string_equal(axl_strerror(-ECONNRESET), strerror(ECONNRESET));
    assert_string_equal(axl_strerror(ETIMEDOUT), strerror(ETIMEDOUT));
    assert_non_null(strstr(axl_strerror(AXL_ECSUM), "checksum"));
    assert_string_equal(axl_strerror(-4000), "unknown error");
    assert_string_equal(axl_strerror(-5000), "unknown error");
    assert_string_equal(axl_strerror(-2147483647 - 1), "unknown error");
}

static void test_random(void **state)
{
    (void)state;
    uint8_t a[1000], b[1000];
    memset(a, 0, sizeof(a));
    memset(b, 0, sizeof(b));
    assert_int_equal(axl_random_bytes(a, sizeof(a)), 0);
    assert_int_equal(axl_random_bytes(b, sizeof(b)), 0);
    assert_memory_not_equal(a, b, sizeof(a));
    unsigned zeros = 0;
    for (unsigned i = 0; i < sizeof(a); i++)
        zeros += a[i] == 0;
    assert_true(zeros < 20); /* ~4 expected */
    assert_int_equal(axl_random_bytes(a, 0), 0);

    /* The seeded generator: same seed, same stream; bounds hold. */
    struct axl_rand r1, r2;
    axl_rand_seed(&r1, 99);
    axl_rand_seed(&r2, 99);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(axl_rand_u64(&r1), axl_rand_u64(&r2));
    unsigned hist[10] = {0}, hits = 0;
    for (int i = 0; i < 100000; i++) {
        uint32_t v = axl_rand_below(&r1, 10);
        assert_true(v < 10);
        hist[v]++;
        hits += (unsigned)axl_rand_ppm(&r1, 250000);
    }
    for (int i = 0; i < 10; i++)
        assert_true(hist[i] > 9000 && hist[i] < 11000);
    assert_true(hits > 23500 && hits < 26500);
    assert_false(axl_rand_ppm(&r1, 0));
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--print-level") == 0) {
        axl_info("child", "started"); /* exercises the lazy path too */
        printf("%d\n", axl_log_level_cur);
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_format), cmocka_unit_test(test_log_truncates),
        cmocka_unit_test(test_log_levels), cmocka_unit_test(test_log_env),
        cmocka_unit_test(test_strerror),   cmocka_unit_test(test_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
