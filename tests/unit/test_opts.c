/* SPDX-License-Identifier: MIT */
/*
 * test_opts.c - unit tests of core/opts.c: every option type, ranges, the
 * exact error messages, MULTI capacity, positional arguments, the generated
 * --help (in a child process, which must exit 0), and table tests of the
 * IPv4, CIDR, MAC, number parsers and formatters.
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
#include "core/log.h"
#include "core/opts.h"

#define PROG "axl-test"

struct cfg {
    int verbose;
    const char *port;
    uint32_t replicas;
    uint32_t mask;
    uint64_t bytes;
    double loss;
    uint32_t gw;
    struct axl_cidr addr;
    uint8_t mac[6];
    int level;
    const char *echo[3];
    uint32_t necho;
};

static struct cfg cfg;
static struct axl_opt table[] = {
    {"verbose", 'v', AXL_OPT_FLAG, NULL, "say more", &cfg.verbose},
    {"port", 'p', AXL_OPT_STR, "SPEC", "packet port", &cfg.port},
    {"replicas", 0, AXL_OPT_U32, "N", "replica processes", &cfg.replicas, 1, 64},
    {"mask", 'm', AXL_OPT_U32, "BITS", "a 32-bit mask", &cfg.mask},
    {"bytes", 0, AXL_OPT_U64, "SIZE", "a byte count", &cfg.bytes},
    {"loss", 0, AXL_OPT_DOUBLE, "PCT", "loss in percent", &cfg.loss, 0, 100},
    {"gw", 'g', AXL_OPT_IPV4, "IP", "default gateway", &cfg.gw},
    {"addr", 'a', AXL_OPT_CIDR, "CIDR", "our address", &cfg.addr},
    {"mac", 0, AXL_OPT_MAC, "MAC", "our MAC", cfg.mac},
    {"log-level", 0, AXL_OPT_LOGLEVEL, "LEVEL", "err, warn, info or debug", &cfg.level},
    {"echo", 'e', AXL_OPT_MULTI, "PORT", "echo port", cfg.echo, 0, 3, &cfg.necho},
    {0},
};

/* Run the parser on a NULL-terminated list of arguments (after argv[0]),
 * capturing what it writes to stderr. Returns the parser's result. */
static char errbuf[4096];
static char *argv_store[32];
static int run(const char *first, ...)
{
    va_list ap;
    int argc = 0;
    argv_store[argc++] = (char *)PROG;
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *))
        argv_store[argc++] = (char *)a;
    va_end(ap);
    argv_store[argc] = NULL;

    fflush(stderr);
    int saved = dup(2);
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    dup2(fileno(tmp), 2);
    int rc = axl_opts_parse(argc, argv_store, PROG, "[OPTIONS] FILE...", "A test program.", table);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(tmp);
    size_t n = fread(errbuf, 1, sizeof(errbuf) - 1, tmp);
    errbuf[n] = '\0';
    fclose(tmp);
    return rc;
}

static int reset(void **state)
{
    (void)state;
    memset(&cfg, 0, sizeof(cfg));
    return 0;
}

static void test_each_type(void **state)
{
    (void)state;
    int rc = run("-v", "--port", "afxdp:veth0", "--replicas=8", "-m", "0xff00ff00", "--bytes",
                 "64Ki", "--loss", "0.5", "-g", "198.18.0.1", "--addr", "198.18.0.2/24", "--mac",
                 "02:00:00:AA:bb:0c", "--log-level", "warn", "-e", "7", "--echo", "9", NULL);
    assert_int_equal(rc, 23); /* argc: no positional arguments */
    assert_string_equal(errbuf, "");
    assert_int_equal(cfg.verbose, 1);
    assert_string_equal(cfg.port, "afxdp:veth0");
    assert_int_equal(cfg.replicas, 8);
    assert_int_equal(cfg.mask, 0xff00ff00u);
    assert_int_equal(cfg.bytes, 65536);
    assert_true(cfg.loss == 0.5);
    assert_int_equal(cfg.gw, 0xc6120001u);
    assert_int_equal(cfg.addr.addr, 0xc6120002u);
    assert_int_equal(cfg.addr.prefix, 24);
    static const uint8_t mac[6] = {0x02, 0, 0, 0xaa, 0xbb, 0x0c};
    assert_memory_equal(cfg.mac, mac, 6);
    assert_int_equal(cfg.level, AXL_LOG_WARN);
    assert_int_equal(axl_log_level_cur, AXL_LOG_WARN);
    axl_log_set_level(AXL_LOG_INFO);
    assert_int_equal(cfg.necho, 2);
    assert_string_equal(cfg.echo[0], "7");
    assert_string_equal(cfg.echo[1], "9");
}

static void test_positional(void **state)
{
    (void)state;
    /* GNU permutation: options may follow positional arguments. */
    int rc = run("in.pcap", "--replicas", "4", "out.pcap", "-v", NULL);
    assert_int_equal(rc, 4);
    assert_string_equal(argv_store[4], "in.pcap");
    assert_string_equal(argv_store[5], "out.pcap");
    assert_int_equal(cfg.replicas, 4);
    assert_int_equal(cfg.verbose, 1);
    /* "--" ends the options. */
    rc = run("--", "-v", NULL);
    assert_int_equal(rc, 2);
    assert_string_equal(argv_store[rc], "-v");
    assert_int_equal(run(NULL), 1);
}

static void test_ranges(void **state)
{
    (void)state;
    assert_int_equal(run("--replicas", "1", NULL), 3);
    assert_int_equal(run("--replicas", "64", NULL), 3);
    assert_int_equal(run("--replicas", "0x40", NULL), 3);
    assert_int_equal(cfg.replicas, 64);
    assert_int_equal(run("--replicas", "0", NULL), -1);
    assert_non_null(strstr(errbuf, PROG ": --replicas: '0' is out of range 1..64\n"));
    assert_non_null(strstr(errbuf, "Try '" PROG " --help' for more information.\n"));
    assert_int_equal(run("--replicas", "65", NULL), -1);
    assert_non_null(strstr(errbuf, "'65' is out of range 1..64"));
    /* No declared range: U32 must still fit 32 bits. */
    assert_int_equal(run("-m", "4294967295", NULL), 3);
    assert_int_equal(run("-m", "4294967296", NULL), -1);
    assert_non_null(strstr(errbuf, PROG ": --mask: '4294967296' is out of range 0..4294967295"));
    assert_int_equal(run("--bytes", "18446744073709551615", NULL), 3);
    assert_int_equal(cfg.bytes, UINT64_MAX);
    assert_int_equal(run("--bytes", "18446744073709551616", NULL), -1);
    assert_non_null(strstr(errbuf, "out of range"));
    assert_int_equal(run("--bytes", "20Gi", NULL), 3);
    assert_int_equal(cfg.bytes, 20ull << 30);
    assert_int_equal(run("--bytes", "3M", NULL), 3);
    assert_int_equal(cfg.bytes, 3000000);
    assert_int_equal(run("--bytes", "17179869184Gi", NULL), -1); /* 2^64: overflow */
    assert_int_equal(run("--loss", "100", NULL), 3);
    assert_int_equal(run("--loss", "100.5", NULL), -1);
    assert_non_null(strstr(errbuf, PROG ": --loss: '100.5' is out of range 0..100"));
    assert_int_equal(run("--loss", "-0.1", NULL), -1);
}

static void test_errors(void **state)
{
    (void)state;
    assert_int_equal(run("--frobnicate", NULL), -1);
    assert_non_null(strstr(errbuf, PROG ": unknown option '--frobnicate'\n"));
    assert_int_equal(run("--frobnicate=3", NULL), -1);
    assert_non_null(strstr(errbuf, "unknown option '--frobnicate'\n"));
    assert_int_equal(run("-x", NULL), -1);
    assert_non_null(strstr(errbuf, PROG ": unknown option '-x'\n"));
    assert_int_equal(run("--port", NULL), -1);
    assert_non_null(strstr(errbuf, PROG ": --port: missing value\n"));
    assert_int_equal(run("-p", NULL), -1);
    assert_non_null(strstr(errbuf, PROG ": --port: missing value\n"));
    assert_int_equal(run("--replicas", NULL), -1);
    assert_non_null(strstr(errbuf, "--replicas: missing value"));
    assert_int_equal(run("--verbose=1", NULL), -1);
    assert_non_null(strstr(errbuf, PROG ": --verbose: takes no value\n"));
    assert_int_equal(run("--replicas", "four", NULL), -1);
    assert_non_null(strstr(errbuf, PROG ": --replicas: 'four' is not a number\n"));
    assert_int_equal(run("--replicas", "-1", NULL), -1);
    assert_int_equal(run("--replicas", "", NULL), -1);
    assert_int_equal(run("--replicas", "8 ", NULL), -1);
    assert_int_equal(run("--loss", "abc", NULL), -1);
    assert_non_null(strstr(errbuf, "--loss: 'abc' is not a number"));
    assert_int_equal(run("--gw", "10.1.2", NULL), -1);
    assert_non_null(strstr(errbuf, PROG ": --gw: bad address '10.1.2'"));
    assert_int_equal(run("--addr", "10.1.2.3", NULL), -1);
    assert_non_null(strstr(errbuf, PROG ": --addr: bad address '10.1.2.3'"));
    assert_int_equal(run("--mac", "02:00:00:00:00", NULL), -1);
    assert_non_null(strstr(errbuf, PROG ": --mac: bad MAC address"));
    assert_int_equal(run("--log-level", "loud", NULL), -1);
    assert_non_null(strstr(errbuf, "--log-level: 'loud' is not a log level"));
    /* Each error is one line plus the hint, nothing from getopt itself. */
    assert_int_equal(run("--frob", NULL), -1);
    int lines = 0;
    for (const char *p = errbuf; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 2);
}

static void test_multi(void **state)
{
    (void)state;
    cfg.necho = 1; /* a preset default */
    cfg.echo[0] = "default";
    assert_int_equal(run("-v", NULL), 2);
    assert_int_equal(cfg.necho, 1); /* untouched when not given */
    assert_int_equal(run("-e", "1", "-e", "2", "-e", "3", NULL), 7);
    assert_int_equal(cfg.necho, 3); /* the first occurrence replaced the preset */
    assert_string_equal(cfg.echo[0], "1");
    assert_string_equal(cfg.echo[2], "3");
    assert_int_equal(run("-e", "1", "-e", "2", "-e", "3", "-e", "4", NULL), -1);
    assert_non_null(strstr(errbuf, PROG ": --echo: given more than 3 times"));
}

static void test_usage_text(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    axl_opts_usage(f, PROG, "[OPTIONS] FILE...", "A test program.", table);
    fclose(f);
    assert_non_null(strstr(buf, "Usage: " PROG " [OPTIONS] FILE...\n"));
    assert_non_null(strstr(buf, "A test program."));
    assert_non_null(strstr(buf, "  -v, --verbose "));
    assert_non_null(strstr(buf, "  -p, --port=SPEC "));
    assert_non_null(strstr(buf, "      --replicas=N "));
    assert_non_null(strstr(buf, "replica processes [1..64]"));
    assert_non_null(strstr(buf, "loss in percent [0..100]"));
    assert_non_null(strstr(buf, "  -e, --echo=PORT "));
    assert_non_null(strstr(buf, "  -h, --help "));
    for (const struct axl_opt *o = table; o->name; o++) {
        assert_non_null(strstr(buf, o->name));
        assert_non_null(strstr(buf, o->help));
    }
    /* Help texts start in one column. */
    const char *a = strstr(buf, "say more"), *b = strstr(buf, "packet port");
    const char *la = a, *lb = b;
    while (la > buf && la[-1] != '\n')
        la--;
    while (lb > buf && lb[-1] != '\n')
        lb--;
    assert_int_equal(a - la, b - lb);
    free(buf);
}

static void test_help_exits_zero(void **state)
{
    (void)state;
    const char *variants[] = {"--help", "-h"};
    for (unsigned v = 0; v < AXL_ARRAY_SIZE(variants); v++) {
        int pfd[2];
        assert_int_equal(pipe(pfd), 0);
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            dup2(pfd[1], 1);
            close(pfd[0]);
            char *argv[] = {(char *)PROG, (char *)"-v", (char *)variants[v], NULL};
            axl_opts_parse(3, argv, PROG, "[OPTIONS]", "Help test.", table);
            _exit(3); /* not reached when --help works */
        }
        close(pfd[1]);
        char out[8192];
        size_t n = 0;
        ssize_t r;
        while ((r = read(pfd[0], out + n, sizeof(out) - 1 - n)) > 0)
            n += (size_t)r;
        out[n] = '\0';
        close(pfd[0]);
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
        assert_non_null(strstr(out, "Usage: " PROG " [OPTIONS]"));
        assert_non_null(strstr(out, "--log-level=LEVEL"));
    }
}

static void test_parse_ipv4(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        uint32_t v;
    } ok[] = {
        {"0.0.0.0", 0},
        {"255.255.255.255", 0xffffffffu},
        {"198.18.0.1", 0xc6120001u},
        {"10.0.100.9", 0x0a006409u},
    };
    for (unsigned i = 0; i < AXL_ARRAY_SIZE(ok); i++) {
        uint32_t v = 1;
        assert_int_equal(axl_parse_ipv4(ok[i].s, &v), 0);
        assert_int_equal(v, ok[i].v);
        char buf[16];
        assert_string_equal(axl_fmt_ipv4(v, buf), ok[i].s);
    }
    static const char *bad[] = {"",         "1.2.3",    "1.2.3.4.5",  "256.1.1.1", "1.2.3.256",
                                "01.2.3.4", "1.2.3.04", "1..3.4",     "1.2.3.",    ".1.2.3",
                                " 1.2.3.4", "1.2.3.4 ", "+1.2.3.4",   "1.2.3.-4",  "0x1.2.3.4",
                                "1.2.3.4/", "1.2.3.4x", "1000.2.3.4", "a.b.c.d",   "1.2.3.4\n"};
    for (unsigned i = 0; i < AXL_ARRAY_SIZE(bad); i++) {
        uint32_t v = 7;
        assert_int_equal(axl_parse_ipv4(bad[i], &v), -1);
        assert_int_equal(v, 7); /* untouched */
    }
    uint32_t v;
    assert_int_equal(axl_parse_ipv4(NULL, &v), -1);
}

static void test_parse_cidr(void **state)
{
    (void)state;
    struct axl_cidr c;
    assert_int_equal(axl_parse_cidr("198.18.0.2/24", &c), 0);
    assert_int_equal(c.addr, 0xc6120002u);
    assert_int_equal(c.prefix, 24);
    assert_int_equal(axl_parse_cidr("0.0.0.0/0", &c), 0);
    assert_int_equal(c.prefix, 0);
    assert_int_equal(axl_parse_cidr("10.1.2.3/32", &c), 0);
    assert_int_equal(c.prefix, 32);
    assert_int_equal(axl_parse_cidr("10.1.2.3/8", &c), 0);
    assert_int_equal(c.prefix, 8);
    static const char *bad[] = {"10.1.2.3",     "10.1.2.3/",    "10.1.2.3/33",  "10.1.2.3/08",
                                "10.1.2.3/-1",  "10.1.2.3/24x", "10.1.2/24",    "/24",
                                "10.1.2.3/100", "10.1.2.3//24", "10.1.2.3/ 24", ""};
    for (unsigned i = 0; i < AXL_ARRAY_SIZE(bad); i++) {
        struct axl_cidr d = {.addr = 5, .prefix = 6};
        assert_int_equal(axl_parse_cidr(bad[i], &d), -1);
        assert_int_equal(d.addr, 5);
    }
}

static void test_parse_mac(void **state)
{
    (void)state;
    uint8_t m[6];
    assert_int_equal(axl_parse_mac("02:00:5e:10:00:01", m), 0);
    static const uint8_t want[6] = {0x02, 0x00, 0x5e, 0x10, 0x00, 0x01};
    assert_memory_equal(m, want, 6);
    char buf[18];
    assert_string_equal(axl_fmt_mac(m, buf), "02:00:5e:10:00:01");
    assert_int_equal(axl_parse_mac("FF:ff:Ab:cD:00:99", m), 0);
    assert_string_equal(axl_fmt_mac(m, buf), "ff:ff:ab:cd:00:99");
    static const char *bad[] = {
        "02:00:5e:10:00",    "02:00:5e:10:00:01:02", "2:0:5e:10:0:1",  "02-00-5e-10-00-01",
        "02:00:5e:10:00:0g", "02:00:5e:10:00:01 ",   "0200.5e10.0001", "",
        "02:00:5e:10:00:",   "02:00:5e:10:00:001"};
    for (unsigned i = 0; i < AXL_ARRAY_SIZE(bad); i++) {
        uint8_t x[6] = {9, 9, 9, 9, 9, 9};
        assert_int_equal(axl_parse_mac(bad[i], x), -1);
        assert_int_equal(x[0], 9);
    }
}

static void test_parse_numbers(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(axl_parse_u64("0", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(axl_parse_u64("0x1F", &v), 0);
    assert_int_equal(v, 31);
    assert_int_equal(axl_parse_u64("010", &v), 0); /* decimal, not octal */
    assert_int_equal(v, 10);
    assert_int_equal(axl_parse_u64("4k", &v), 0);
    assert_int_equal(v, 4000);
    assert_int_equal(axl_parse_u64("4Ki", &v), 0);
    assert_int_equal(v, 4096);
    assert_int_equal(axl_parse_u64("2Mi", &v), 0);
    assert_int_equal(v, 2u << 20);
    assert_int_equal(axl_parse_u64("1G", &v), 0);
    assert_int_equal(v, 1000000000);
    assert_int_equal(axl_parse_u64("1Ti", &v), 0);
    assert_int_equal(v, 1ull << 40);
    static const char *bad[] = {"", "-1", "+1", " 1", "1 ", "1x", "0x", "1Kb", "1iK", "k", "1.5"};
    for (unsigned i = 0; i < AXL_ARRAY_SIZE(bad); i++)
        assert_int_equal(axl_parse_u64(bad[i], &v), -1);
    double d;
    assert_int_equal(axl_parse_double("2.5", &d), 0);
    assert_true(d == 2.5);
    assert_int_equal(axl_parse_double("-1e3", &d), 0);
    assert_true(d == -1000.0);
    assert_int_equal(axl_parse_double(".25", &d), 0);
    static const char *dbad[] = {"", "nan", "inf", "1e999", "1.5x", " 1", "x1"};
    for (unsigned i = 0; i < AXL_ARRAY_SIZE(dbad); i++)
        assert_int_equal(axl_parse_double(dbad[i], &d), -1);
    assert_int_equal(axl_log_parse_level("DEBUG"), AXL_LOG_DEBUG);
    assert_int_equal(axl_log_parse_level("err"), AXL_LOG_ERR);
    assert_int_equal(axl_log_parse_level("2"), AXL_LOG_INFO);
    assert_int_equal(axl_log_parse_level("4"), -1);
    assert_int_equal(axl_log_parse_level(""), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_each_type, reset),
        cmocka_unit_test_setup(test_positional, reset),
        cmocka_unit_test_setup(test_ranges, reset),
        cmocka_unit_test_setup(test_errors, reset),
        cmocka_unit_test_setup(test_multi, reset),
        cmocka_unit_test(test_usage_text),
        cmocka_unit_test(test_help_exits_zero),
        cmocka_unit_test(test_parse_ipv4),
        cmocka_unit_test(test_parse_cidr),
        cmocka_unit_test(test_parse_mac),
        cmocka_unit_test(test_parse_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
