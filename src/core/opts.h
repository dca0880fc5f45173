/* SPDX-License-Identifier: MIT */
/*
 * opts.h - command-line flags from one table: parsing (getopt_long), value
 * checking with clear messages, and a generated --help.
 *
 *   static const struct axl_opt opts[] = {
 *       { "port", 'p', AXL_OPT_STR, "SPEC", "packet port (afxdp:IF[:Q], ...)", &cfg.port },
 *       { "replicas", 0, AXL_OPT_U32, "N", "replica processes", &cfg.replicas, 1, 64 },
 *       { 0 },
 *   };
 *   int first = axl_opts_parse(argc, argv, "axl-stackd", "usage line", "description", opts);
 *   // first < 0: error already printed; exit(2). first == argc - npositional.
 *
 * The table ends with an entry whose name is NULL and short_name 0. A NULL dst
 * means "check the value, store nothing". Arguments are permuted (GNU style):
 * positional arguments end up at argv[first..argc-1].
 *
 * --help and -h are handled: usage is printed to stdout and the process exits 0.
 */
#ifndef AXL_CORE_OPTS_H
#define AXL_CORE_OPTS_H

#include <stdint.h>
#include <stdio.h>

enum axl_opt_type {
    AXL_OPT_FLAG,  /* int *: set to 1 */
    AXL_OPT_STR,   /* const char **: points into argv */
    AXL_OPT_U32,   /* uint32_t *: decimal/hex (suffixes as U64), checked against [min,max] */
    AXL_OPT_U64,   /* uint64_t *: with optional k/M/G/T or Ki/Mi/Gi/Ti suffix, checked */
    AXL_OPT_DOUBLE,/* double *: checked against [min,max] */
    AXL_OPT_IPV4,  /* uint32_t * (host order): dotted quad */
    AXL_OPT_CIDR,  /* struct axl_cidr *: a.b.c.d/len */
    AXL_OPT_MAC,   /* uint8_t[6]: aa:bb:cc:dd:ee:ff */
    AXL_OPT_LOGLEVEL, /* int *: err|warn|info|debug, applied via axl_log_set_level */
    AXL_OPT_MULTI, /* const char *[]: repeated string; `max` is capacity, count
                      goes to *(uint32_t *)count; the first occurrence on the
                      command line replaces what the caller preset */
};

struct axl_cidr {
    uint32_t addr;   /* host order */
    uint8_t prefix;  /* 0..32 */
};

struct axl_opt {
    const char *name;      /* long name without dashes; NULL ends the table */
    int short_name;        /* 0 for none */
    enum axl_opt_type type;
    const char *metavar;   /* shown in --help, e.g. "CIDR" */
    const char *help;
    void *dst;
    double min, max;       /* numeric range, inclusive (ignored when min == max == 0);
                              U32 without a range is still checked to fit 32 bits */
    uint32_t *count;       /* AXL_OPT_MULTI only */
};

/* Parse argv. Returns the index of the first positional argument, or -1 after
 * printing "PROG: <what is wrong>" and a hint to use --help to stderr.
 * `usage` is the synopsis shown by --help, `desc` a paragraph after it. */
int axl_opts_parse(int argc, char **argv, const char *prog, const char *usage, const char *desc,
                   const struct axl_opt *opts);
void axl_opts_usage(FILE *out, const char *prog, const char *usage, const char *desc,
                    const struct axl_opt *opts);

/* Value parsers, reusable by port specs etc. 0 or -1 (*out untouched on -1).
 * Strict: no spaces or signs, no trailing bytes; IPv4 parts are 0..255 in
 * decimal without leading zeros; CIDR needs "/len" (0..32); MAC is six
 * two-digit hex groups separated by ':'. */
int axl_parse_ipv4(const char *s, uint32_t *out);
int axl_parse_cidr(const char *s, struct axl_cidr *out);
int axl_parse_mac(const char *s, uint8_t mac[6]);
int axl_parse_u64(const char *s, uint64_t *out); /* decimal/0x, k/M/G (x1000) and Ki/Mi/Gi */
int axl_parse_double(const char *s, double *out);
/* Formatting helpers; return buf. */
char *axl_fmt_ipv4(uint32_t addr, char buf[16]);
char *axl_fmt_mac(const uint8_t mac[6], char buf[18]);

#endif
