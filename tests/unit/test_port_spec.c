/* SPDX-License-Identifier: MIT */
/*
 * test_port_spec.c - table test of the port spec parser (port.c): good specs
 * with the fields they must produce, bad specs with the exact error text; plus
 * axl_port_opt, the counter dump, and axl_port_open's argument checks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "port/port.h"

struct good_case {
    const char *spec;
    const char *kind, *name;
    uint32_t nqueues, mtu;
    const char *pcap;
    int has_mac;
    uint32_t nopts;
    const char *k0, *v0, *k1, *v1;
};

static const struct good_case good[] = {
    {"afxdp:veth0", "afxdp", "veth0", 1, 0, "", 0, 0, NULL, NULL, NULL, NULL},
    {"afxdp:veth0:4", "afxdp", "veth0", 4, 0, "", 0, 0, NULL, NULL, NULL, NULL},
    {"afxdp:veth0,mode=skb", "afxdp", "veth0", 1, 0, "", 0, 1, "mode", "skb", NULL, NULL},
    {"afpacket:veth0:64", "afpacket", "veth0", 64, 0, "", 0, 0, NULL, NULL, NULL, NULL},
    {"tap:axl0:2,mtu=9000,pcap=/tmp/x.pcap,mac=02:00:00:00:00:01", "tap", "axl0", 2, 9000,
     "/tmp/x.pcap", 1, 0, NULL, NULL, NULL, NULL},
    {"shm:/run/axl/wire0,loss=0.1,seed=7", "shm", "/run/axl/wire0", 1, 0, "", 0, 2, "loss", "0.1",
     "seed", "7"},
    /* for shm everything up to the first ',' is the path, ':' included */
    {"shm:/tmp/a:b:3,dup=1", "shm", "/tmp/a:b:3", 1, 0, "", 0, 1, "dup", "1", NULL, NULL},
    {"mem:x,mtu=576", "mem", "x", 1, 576, "", 0, 0, NULL, NULL, NULL, NULL},
    {"tap:abcdefghijklmno", "tap", "abcdefghijklmno", 1, 0, "", 0, 0, NULL, NULL, NULL, NULL},
};

struct bad_case {
    const char *spec;
    const char *err;
};

static const struct bad_case bad[] = {
    {"", "empty port spec"},
    {"foo:bar", "unknown port kind 'foo' (expected afxdp, afpacket, tap, shm or mem)"},
    {":veth0", "unknown port kind '' (expected afxdp, afpacket, tap, shm or mem)"},
    {"afxdp", "missing ':NAME' after 'afxdp' (expected KIND:NAME[:QUEUES])"},
    {"afxdp,mtu=1500", "missing ':NAME' after 'afxdp' (expected KIND:NAME[:QUEUES])"},
    {"afxdp:", "empty port name"},
    {"afxdp:,mtu=1500", "empty port name"},
    {"shm:", "empty port name"},
    {"afxdp::2", "empty port name"},
    {"afxdp:veth0:0", "bad queue count '0' (expected 1..64)"},
    {"afxdp:veth0:65", "bad queue count '65' (expected 1..64)"},
    {"afxdp:veth0:x", "bad queue count 'x' (expected 1..64)"},
    {"afxdp:veth0:", "bad queue count '' (expected 1..64)"},
    {"afxdp:veth0:2:3", "bad queue count '2:3' (expected 1..64)"},
    {"afxdp:veth0:-1", "bad queue count '-1' (expected 1..64)"},
    {"afxdp:veth0,mtu=575", "bad mtu '575' (expected 576..9000)"},
    {"afxdp:veth0,mtu=9001", "bad mtu '9001' (expected 576..9000)"},
    {"afxdp:veth0,mtu=1500x", "bad mtu '1500x' (expected 576..9000)"},
    {"afxdp:veth0,mac=zz", "bad mac 'zz' (expected unicast aa:bb:cc:dd:ee:ff)"},
    {"afxdp:veth0,mac=01:00:5e:00:00:01",
     "bad mac '01:00:5e:00:00:01' (expected unicast aa:bb:cc:dd:ee:ff)"},
    {"afxdp:veth0,mac=00:00:00:00:00:00",
     "bad mac '00:00:00:00:00:00' (expected unicast aa:bb:cc:dd:ee:ff)"},
    {"afxdp:averyveryverylongname",
     "interface name 'averyveryverylongname' too long (max 15 bytes)"},
    {"afxdp:veth0,mode", "option 'mode' is not key=value"},
    {"afxdp:veth0,=skb", "option '=skb' is not key=value"},
    {"afxdp:veth0,,mode=skb", "empty option in port spec"},
    {"afxdp:veth0,", "empty option in port spec"},
    {"afxdp:veth0,mode=", "option 'mode' has an empty value"},
    {"afxdp:veth0,mtu=1500,mtu=9000", "duplicate option 'mtu'"},
    {"afxdp:veth0,a=1,a=2", "duplicate option 'a'"},
    {"afxdp:veth0,pcap=a,pcap=b", "duplicate option 'pcap'"},
    {"afxdp:veth0,a=1,b=2,c=3,d=4,e=5,f=6,g=7,h=8,i=9,j=10,k=11,l=12,m=13,n=14,o=15,p=16,q=17",
     "too many options (max 16)"},
};

static void test_good_specs(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        const struct good_case *g = &good[i];
        struct axl_port_cfg cfg;
        char err[256] = "untouched";
        int ret = axl_port_parse_spec(g->spec, &cfg, err, sizeof(err));
        if (ret != 0) print_error("spec '%s': %s\n", g->spec, err);
        assert_int_equal(ret, 0);
        assert_string_equal(err, "");
        assert_string_equal(cfg.kind, g->kind);
        assert_string_equal(cfg.name, g->name);
        assert_int_equal(cfg.nqueues, g->nqueues);
        assert_int_equal(cfg.queue, 0);
        assert_null(cfg.pool);
        assert_int_equal(cfg.mtu, g->mtu);
        assert_string_equal(cfg.pcap_path, g->pcap);
        assert_int_equal(cfg.has_mac, g->has_mac);
        assert_int_equal(cfg.nopts, g->nopts);
        if (g->k0) {
            assert_string_equal(cfg.opts[0].key, g->k0);
            assert_string_equal(axl_port_opt(&cfg, g->k0), g->v0);
        }
        if (g->k1) {
            assert_string_equal(cfg.opts[1].key, g->k1);
            assert_string_equal(axl_port_opt(&cfg, g->k1), g->v1);
        }
        assert_null(axl_port_opt(&cfg, "nosuchkey"));
        assert_non_null(axl_port_find_ops(cfg.kind));
        assert_string_equal(axl_port_find_ops(cfg.kind)->name, cfg.kind);
    }
}

static void test_mac_value(void **state)
{
    struct axl_port_cfg cfg;
    char err[128];
    static const uint8_t want[6] = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};
    (void)state;
    assert_int_equal(
        axl_port_parse_spec("afpacket:eth0,mac=02:aa:bb:cc:dd:ee", &cfg, err, sizeof(err)), 0);
    assert_memory_equal(cfg.mac, want, 6);
}

static void test_bad_specs(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct axl_port_cfg cfg;
        char err[256] = "";
        int ret = axl_port_parse_spec(bad[i].spec, &cfg, err, sizeof(err));
        if (ret != -1 || strcmp(err, bad[i].err) != 0)
            print_error("spec '%s': ret %d, err '%s', want '%s'\n", bad[i].spec, ret, err,
                        bad[i].err);
        assert_int_equal(ret, -1);
        assert_string_equal(err, bad[i].err);
    }
}

static void test_long_names(void **state)
{
    struct axl_port_cfg cfg;
    char spec[2048], err[256];
    (void)state;

    /* 255 bytes fit, 256 do not. */
    memcpy(spec, "shm:", 4);
    memset(spec + 4, 'a', 255);
    spec[4 + 255] = '\0';
    assert_int_equal(axl_port_parse_spec(spec, &cfg, err, sizeof(err)), 0);
    assert_int_equal(strlen(cfg.name), 255);
    memset(spec + 4, 'a', 256);
    spec[4 + 256] = '\0';
    assert_int_equal(axl_port_parse_spec(spec, &cfg, err, sizeof(err)), -1);
    assert_string_equal(err, "port name too long (max 255 bytes)");

    snprintf(spec, sizeof(spec), "tap:t0,pcap=/%0300d", 0);
    assert_int_equal(axl_port_parse_spec(spec, &cfg, err, sizeof(err)), -1);
    assert_string_equal(err, "pcap path too long (max 255 bytes)");

    /* The option store is bounded. */
    int n = snprintf(spec, sizeof(spec), "mem:m");
    for (int i = 0; i < 8; i++)
        n += snprintf(spec + n, sizeof(spec) - (size_t)n, ",k%d=%0130d", i, i);
    assert_int_equal(axl_port_parse_spec(spec, &cfg, err, sizeof(err)), -1);
    assert_string_equal(err, "options too long (max 1024 bytes)");

    /* A NULL or small error buffer is fine. */
    assert_int_equal(axl_port_parse_spec("nope:x", &cfg, NULL, 0), -1);
    char tiny[8];
    assert_int_equal(axl_port_parse_spec("nope:x", &cfg, tiny, sizeof(tiny)), -1);
    assert_string_equal(tiny, "unknown");
    assert_int_equal(axl_port_parse_spec(NULL, &cfg, err, sizeof(err)), -1);
}

static void test_find_ops(void **state)
{
    (void)state;
    assert_ptr_equal(axl_port_find_ops("afxdp"), &axl_port_afxdp_ops);
    assert_ptr_equal(axl_port_find_ops("afpacket"), &axl_port_afpacket_ops);
    assert_ptr_equal(axl_port_find_ops("tap"), &axl_port_tap_ops);
    assert_ptr_equal(axl_port_find_ops("shm"), &axl_port_shm_ops);
    assert_ptr_equal(axl_port_find_ops("mem"), &axl_port_mem_ops);
    assert_null(axl_port_find_ops("af"));
    assert_null(axl_port_find_ops(""));
    assert_null(axl_port_find_ops(NULL));
}

static void test_stats_dump(void **state)
{
    struct axl_port p;
    char *buf = NULL;
    size_t len = 0;
    FILE *f;
    (void)state;

    memset(&p, 0, sizeof(p));
    p.stats.rx_packets = 5;
    p.stats.tx_full = 7;
    p.stats.imp_lost = 9;
    p.stats.link_drops = 11;
    f = open_memstream(&buf, &len);
    assert_non_null(f);
    axl_port_stats_dump(&p, f, "port0");
    fclose(f);
    assert_non_null(strstr(buf, "port0 PortRxPackets 5\n"));
    assert_non_null(strstr(buf, "port0 PortTxFull 7\n"));
    assert_non_null(strstr(buf, "port0 PortImpLost 9\n"));
    assert_non_null(strstr(buf, "port0 PortLinkDownDrops 11\n"));
    /* one line per counter */
    size_t lines = 0;
    for (char *c = buf; *c; c++)
        lines += *c == '\n';
    assert_int_equal(lines, sizeof(struct axl_port_stats) / sizeof(uint64_t));
    free(buf);

    buf = NULL;
    f = open_memstream(&buf, &len);
    axl_port_stats_dump(&p, f, NULL);
    fclose(f);
    assert_int_equal(strncmp(buf, "PortRxPackets 5\n", 16), 0);
    free(buf);
}

static void test_open_checks(void **state)
{
    struct axl_port_cfg cfg;
    struct axl_port p;
    char err[128];
    (void)state;

    /* No pool: refused before the backend is called. */
    assert_int_equal(axl_port_parse_spec("shm:/tmp/axl-spec-test.sock", &cfg, err, sizeof(err)), 0);
    assert_int_equal(axl_port_open(&p, &cfg), AXL_EINVAL);
    assert_null(p.ops);
    axl_port_close(&p); /* harmless on a port that is not open */
    /* Queue beyond the count. */
    cfg.pool = (struct axl_pool *)&cfg; /* never dereferenced: refused first */
    cfg.queue = 1;
    assert_int_equal(axl_port_open(&p, &cfg), AXL_EINVAL);
    /* Unknown kind in a hand-made cfg. */
    memset(&cfg, 0, sizeof(cfg));
    strcpy(cfg.kind, "nope");
    assert_int_equal(axl_port_open(&p, &cfg), AXL_EINVAL);
    assert_int_equal(axl_port_dev_setup(&cfg), AXL_EINVAL);
    axl_port_dev_teardown(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_specs),  cmocka_unit_test(test_mac_value),
        cmocka_unit_test(test_bad_specs),   cmocka_unit_test(test_long_names),
        cmocka_unit_test(test_find_ops),    cmocka_unit_test(test_stats_dump),
        cmocka_unit_test(test_open_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
