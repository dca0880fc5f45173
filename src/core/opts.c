/* SPDX-License-Identifier: MIT */
/*
 * opts.c - command-line parsing from one option table (opts.h).
 *
 * axl_opts_parse builds getopt_long's long-option array and short-option
 * string from the table, then converts and checks each value as it comes.
 * getopt's own messages are silenced (opterr = 0, leading ':') so that every
 * error reads the same way:
 *
 *     axl-stackd: --replicas: '0' is out of range 1..64
 *     axl-stackd: unknown option '--frobnicate'
 *     axl-stackd: --port: missing value
 *     axl-stackd: --gw: bad address '10.1.2' (want a.b.c.d)
 *     Try 'axl-stackd --help' for more information.
 *
 * GNU getopt permutes argv so positional arguments end up after the options;
 * the return value is the index of the first of them. -h/--help print the
 * generated usage to stdout and exit(0). Parsing may be repeated (tests do):
 * getopt is fully re-initialised each time (optind = 0, a glibc feature).
 *
 * The value parsers are strict (no leading space, no sign, no trailing
 * bytes, no octal-looking leading zeros in addresses) because a silently
 * misread address or size is worse than an error at start-up.
 */
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/compiler.h"
#include "core/log.h"
#include "core/opts.h"

/** Help layout: option column width cap and total line width. */
#define OPTS_COL_MAX 30
#define OPTS_WIDTH   80

/* getopt_long `val` for table entry i when it has no short name. */
#define OPTS_LONG_VAL(i) (256 + (i))

static inline int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int hex_val(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* --- value parsers ---------------------------------------------------------- */

/* 0 ok, -1 syntax, -2 does not fit in 64 bits. */
static int parse_u64_ex(const char *s, uint64_t *out)
{
    if (!s) return -1;
    const char *p = s;
    unsigned base = 10;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    }
    int d = base == 16 ? hex_val(*p) : (is_digit(*p) ? *p - '0' : -1);
    if (d < 0) return -1;
    uint64_t v = 0;
    int overflow = 0;
    for (;;) {
        d = base == 16 ? hex_val(*p) : (is_digit(*p) ? *p - '0' : -1);
        if (d < 0) break;
        if (v > (UINT64_MAX - (unsigned)d) / base)
            overflow = 1;
        else
            v = v * base + (unsigned)d;
        p++;
    }
    uint64_t mult = 1;
    if (*p) {
        int exp;
        switch (*p) {
        case 'k':
        case 'K':
            exp = 1;
            break;
        case 'M':
            exp = 2;
            break;
        case 'G':
            exp = 3;
            break;
        case 'T':
            exp = 4;
            break;
        default:
            return -1;
        }
        p++;
        uint64_t unit = 1000;
        if (*p == 'i') {
            unit = 1024;
            p++;
        }
        if (*p) return -1;
        while (exp--)
            mult *= unit;
    }
    if (overflow || v > UINT64_MAX / mult) return -2;
    *out = v * mult;
    return 0;
}

int axl_parse_u64(const char *s, uint64_t *out)
{
    return parse_u64_ex(s, out) == 0 ? 0 : -1;
}

int axl_parse_double(const char *s, double *out)
{
    if (!s || !*s || !(is_digit(*s) || *s == '-' || *s == '+' || *s == '.')) return -1;
    char *end;
    double v = strtod(s, &end);
    if (*end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

/* Dotted quad at the start of s; *end gets the first byte after it. */
static int parse_ipv4_prefix(const char *s, uint32_t *out, const char **end)
{
    const char *p = s;
    uint32_t a = 0;
    if (!p) return -1;
    for (int i = 0; i < 4; i++) {
        if (!is_digit(*p) || (p[0] == '0' && is_digit(p[1])))
            return -1; /* empty part, or a leading zero (octal in inet_aton) */
        unsigned v = 0;
        for (int nd = 0; is_digit(*p); nd++, p++) {
            if (nd == 3) return -1;
            v = v * 10 + (unsigned)(*p - '0');
        }
        if (v > 255) return -1;
        a = a << 8 | v;
        if (i < 3) {
            if (*p != '.') return -1;
            p++;
        }
    }
    *out = a;
    *end = p;
    return 0;
}

int axl_parse_ipv4(const char *s, uint32_t *out)
{
    const char *end;
    uint32_t a;
    if (parse_ipv4_prefix(s, &a, &end) < 0 || *end) return -1;
    *out = a;
    return 0;
}

int axl_parse_cidr(const char *s, struct axl_cidr *out)
{
    const char *p;
    uint32_t a;
    if (parse_ipv4_prefix(s, &a, &p) < 0 || *p != '/') return -1;
    p++;
    if (!is_digit(p[0]) || (p[0] == '0' && p[1]) || (p[1] && (!is_digit(p[1]) || p[2])))
        return -1; /* one or two digits, no leading zero */
    unsigned len = (unsigned)(p[0] - '0');
    if (p[1]) len = len * 10 + (unsigned)(p[1] - '0');
    if (len > 32) return -1;
    out->addr = a;
    out->prefix = (uint8_t)len;
    return 0;
}

int axl_parse_mac(const char *s, uint8_t mac[6])
{
    uint8_t m[6];
    if (!s) return -1;
    for (int i = 0; i < 6; i++) {
        int hi = hex_val(s[3 * i]), lo = hi < 0 ? -1 : hex_val(s[3 * i + 1]);
        if (lo < 0) return -1;
        m[i] = (uint8_t)(hi << 4 | lo);
        char sep = s[3 * i + 2];
        if (i < 5 ? sep != ':' : sep != '\0') return -1;
    }
    memcpy(mac, m, 6);
    return 0;
}

char *axl_fmt_ipv4(uint32_t addr, char buf[16])
{
    snprintf(buf, 16, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 0xff, (addr >> 8) & 0xff,
             addr & 0xff);
    return buf;
}

char *axl_fmt_mac(const uint8_t mac[6], char buf[18])
{
    snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
             mac[5]);
    return buf;
}

/* --- help ------------------------------------------------------------------- */

static const char *opt_metavar(const struct axl_opt *o)
{
    if (o->metavar) return o->metavar;
    switch (o->type) {
    case AXL_OPT_FLAG:
        return NULL;
    case AXL_OPT_U32:
    case AXL_OPT_U64:
        return "N";
    case AXL_OPT_DOUBLE:
        return "X";
    case AXL_OPT_IPV4:
        return "A.B.C.D";
    case AXL_OPT_CIDR:
        return "A.B.C.D/LEN";
    case AXL_OPT_MAC:
        return "MAC";
    case AXL_OPT_LOGLEVEL:
        return "LEVEL";
    case AXL_OPT_STR:
    case AXL_OPT_MULTI:
    default:
        return "VALUE";
    }
}

static int opt_has_range(const struct axl_opt *o)
{
    return !(o->min == 0 && o->max == 0);
}
static int opt_is_integer(const struct axl_opt *o)
{
    return o->type == AXL_OPT_U32 || o->type == AXL_OPT_U64;
}

/* "1..64" for integer options, "0.5..2" for doubles. */
static void fmt_range(char *buf, size_t len, const struct axl_opt *o, double min, double max)
{
    if (opt_is_integer(o))
        snprintf(buf, len, "%.0f..%.0f", min, max);
    else
        snprintf(buf, len, "%.10g..%.10g", min, max);
}

/* Write `text` word-wrapped: the first line continues at column `col`, the
 * following ones start at column `indent`. */
static void put_wrapped(FILE *out, const char *text, int col, int indent)
{
    const char *p = text;
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p) break;
        int wl = (int)strcspn(p, " ");
        if (col > indent && col + 1 + wl > OPTS_WIDTH) {
            fprintf(out, "\n%*s", indent, "");
            col = indent;
        } else if (col > indent) {
            fputc(' ', out);
            col++;
        }
        fwrite(p, 1, (size_t)wl, out);
        col += wl;
        p += wl;
    }
    fputc('\n', out);
}

static int opt_left_column(char *buf, size_t len, const struct axl_opt *o)
{
    const char *mv = opt_metavar(o);
    char sh[8] = "    ";
    if (o->short_name) snprintf(sh, sizeof(sh), "-%c, ", o->short_name);
    if (o->name)
        return snprintf(buf, len, "  %s--%s%s%s", sh, o->name, mv ? "=" : "", mv ? mv : "");
    return snprintf(buf, len, "  -%c%s%s", o->short_name, mv ? " " : "", mv ? mv : "");
}

void axl_opts_usage(FILE *out, const char *prog, const char *usage, const char *desc,
                    const struct axl_opt *opts)
{
    fprintf(out, "Usage: %s %s\n", prog, usage ? usage : "[OPTIONS]");
    if (desc && *desc) {
        fputc('\n', out);
        put_wrapped(out, desc, 0, 0);
    }
    fprintf(out, "\nOptions:\n");

    int width = 0;
    char left[160];
    int has_h = 0, has_help = 0;
    for (const struct axl_opt *o = opts; o->name || o->short_name; o++) {
        int w = opt_left_column(left, sizeof(left), o);
        if (w <= OPTS_COL_MAX && w > width) width = w;
        has_h |= o->short_name == 'h';
        has_help |= o->name && strcmp(o->name, "help") == 0;
    }
    width = AXL_MAX(width, (int)strlen("  -h, --help"));

    for (const struct axl_opt *o = opts; o->name || o->short_name; o++) {
        int w = opt_left_column(left, sizeof(left), o);
        char help[512], extra[96] = "";
        if (o->type == AXL_OPT_MULTI) {
            snprintf(extra, sizeof(extra), " [at most %.0f]", o->max);
        } else if (opt_has_range(o) && (opt_is_integer(o) || o->type == AXL_OPT_DOUBLE)) {
            char r[64];
            fmt_range(r, sizeof(r), o, o->min, o->max);
            snprintf(extra, sizeof(extra), " [%s]", r);
        }
        snprintf(help, sizeof(help), "%s%s", o->help ? o->help : "", extra);
        fputs(left, out);
        if (w > width) /* too wide: the help text starts on the next line */
            fprintf(out, "\n%*s", width + 2, "");
        else
            fprintf(out, "%*s", width + 2 - w, "");
        put_wrapped(out, help, width + 2, width + 2);
    }
    if (!has_help) {
        int w = fprintf(out, has_h ? "      --help" : "  -h, --help");
        fprintf(out, "%*s", width + 2 - w, "");
        put_wrapped(out, "show this help and exit", width + 2, width + 2);
    }
}

/* --- parsing ---------------------------------------------------------------- */

struct opts_ctx {
    const char *prog;
    const struct axl_opt *opts;
    unsigned n;
    unsigned char *multi_seen; /* per entry: a MULTI option already given */
};

/* "--name" (or "-c" for a short-only option), for messages. */
static const char *opt_display(const struct axl_opt *o, char buf[64])
{
    if (o->name)
        snprintf(buf, 64, "--%s", o->name);
    else
        snprintf(buf, 64, "-%c", o->short_name);
    return buf;
}

static void opt_error(const struct opts_ctx *c, const struct axl_opt *o, const char *fmt, ...)
    AXL_PRINTF(3, 4);
static void opt_error(const struct opts_ctx *c, const struct axl_opt *o, const char *fmt, ...)
{
    char name[64], msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (o)
        fprintf(stderr, "%s: %s: %s\n", c->prog, opt_display(o, name), msg);
    else
        fprintf(stderr, "%s: %s\n", c->prog, msg);
}

/* Convert and store one value. 0, or -1 after printing the error. */
static int opt_apply(struct opts_ctx *c, unsigned i, const char *arg)
{
    const struct axl_opt *o = &c->opts[i];
    char r[64];

    switch (o->type) {
    case AXL_OPT_FLAG:
        if (o->dst) *(int *)o->dst = 1;
        return 0;
    case AXL_OPT_STR:
        if (o->dst) *(const char **)o->dst = arg;
        return 0;
    case AXL_OPT_U32:
    case AXL_OPT_U64: {
        uint64_t v;
        int rc = parse_u64_ex(arg, &v);
        double lo = o->min, hi = o->max;
        if (!opt_has_range(o)) {
            lo = 0;
            hi = o->type == AXL_OPT_U32 ? (double)UINT32_MAX : 18446744073709551615.0;
        }
        if (rc == -1) {
            opt_error(c, o, "'%s' is not a number", arg);
            return -1;
        }
        if (rc == -2 || (o->type == AXL_OPT_U32 && v > UINT32_MAX) || (double)v < lo ||
            (double)v > hi) {
            if (opt_has_range(o))
                fmt_range(r, sizeof(r), o, lo, hi);
            else
                snprintf(r, sizeof(r), "0..%llu",
                         o->type == AXL_OPT_U32 ? (unsigned long long)UINT32_MAX
                                                : (unsigned long long)UINT64_MAX);
            opt_error(c, o, "'%s' is out of range %s", arg, r);
            return -1;
        }
        if (o->dst) {
            if (o->type == AXL_OPT_U32)
                *(uint32_t *)o->dst = (uint32_t)v;
            else
                *(uint64_t *)o->dst = v;
        }
        return 0;
    }
    case AXL_OPT_DOUBLE: {
        double v;
        if (axl_parse_double(arg, &v) < 0) {
            opt_error(c, o, "'%s' is not a number", arg);
            return -1;
        }
        if (opt_has_range(o) && (v < o->min || v > o->max)) {
            fmt_range(r, sizeof(r), o, o->min, o->max);
            opt_error(c, o, "'%s' is out of range %s", arg, r);
            return -1;
        }
        if (o->dst) *(double *)o->dst = v;
        return 0;
    }
    case AXL_OPT_IPV4: {
        uint32_t a;
        if (axl_parse_ipv4(arg, &a) < 0) {
            opt_error(c, o, "bad address '%s' (want a.b.c.d)", arg);
            return -1;
        }
        if (o->dst) *(uint32_t *)o->dst = a;
        return 0;
    }
    case AXL_OPT_CIDR: {
        struct axl_cidr cidr;
        if (axl_parse_cidr(arg, &cidr) < 0) {
            opt_error(c, o, "bad address '%s' (want a.b.c.d/len, len 0..32)", arg);
            return -1;
        }
        if (o->dst) *(struct axl_cidr *)o->dst = cidr;
        return 0;
    }
    case AXL_OPT_MAC: {
        uint8_t mac[6];
        if (axl_parse_mac(arg, mac) < 0) {
            opt_error(c, o, "bad MAC address '%s' (want aa:bb:cc:dd:ee:ff)", arg);
            return -1;
        }
        if (o->dst) memcpy(o->dst, mac, 6);
        return 0;
    }
    case AXL_OPT_LOGLEVEL: {
        int lvl = axl_log_parse_level(arg);
        if (lvl < 0) {
            opt_error(c, o, "'%s' is not a log level (err, warn, info or debug)", arg);
            return -1;
        }
        if (o->dst) *(int *)o->dst = lvl;
        axl_log_set_level(lvl);
        return 0;
    }
    case AXL_OPT_MULTI: {
        /* The first occurrence replaces whatever the caller preset. */
        if (!c->multi_seen[i]) {
            c->multi_seen[i] = 1;
            *o->count = 0;
        }
        if ((double)*o->count >= o->max) {
            opt_error(c, o, "given more than %.0f times", o->max);
            return -1;
        }
        ((const char **)o->dst)[(*o->count)++] = arg;
        return 0;
    }
    }
    opt_error(c, o, "option table: unknown type %d", (int)o->type);
    return -1;
}

/* Table entry for a getopt return value, or -1. */
static int opt_find_val(const struct opts_ctx *c, int val)
{
    if (val >= OPTS_LONG_VAL(0) && val < OPTS_LONG_VAL((int)c->n)) return val - OPTS_LONG_VAL(0);
    if (val <= 0 || val >= 256) return -1;
    for (unsigned i = 0; i < c->n; i++)
        if (c->opts[i].short_name == val) return (int)i;
    return -1;
}

/* Check the table itself (a programming error, reported like a user one). */
static int opts_check_table(const struct opts_ctx *c)
{
    for (unsigned i = 0; i < c->n; i++) {
        const struct axl_opt *o = &c->opts[i];
        int sn = o->short_name;
        if (sn && (sn <= ' ' || sn >= 127 || sn == ':' || sn == '?' || sn == '-')) {
            opt_error(c, o, "option table: bad short name");
            return -1;
        }
        if (o->type == AXL_OPT_MULTI && (!o->count || !o->dst || o->max < 1)) {
            opt_error(c, o, "option table: a MULTI option needs dst, count and max >= 1");
            return -1;
        }
        if ((unsigned)o->type > AXL_OPT_MULTI) {
            opt_error(c, o, "option table: unknown type %d", (int)o->type);
            return -1;
        }
    }
    return 0;
}

int axl_opts_parse(int argc, char **argv, const char *prog, const char *usage, const char *desc,
                   const struct axl_opt *opts)
{
    struct opts_ctx c = {.prog = prog, .opts = opts};
    while (opts[c.n].name || opts[c.n].short_name)
        c.n++;
    if (opts_check_table(&c) < 0) return -1;

    int rc = -1;
    struct option *lo = calloc(c.n + 2, sizeof(*lo));
    char *so = malloc(2 * c.n + 4);
    c.multi_seen = calloc(c.n + 1, 1);
    if (!lo || !so || !c.multi_seen) {
        opt_error(&c, NULL, "out of memory");
        goto out;
    }

    /* Long options (and the short-option string) from the table. */
    unsigned nl = 0;
    size_t ns = 0;
    int has_h = 0, has_help = 0;
    so[ns++] = ':'; /* report a missing value as ':' rather than '?' */
    for (unsigned i = 0; i < c.n; i++) {
        const struct axl_opt *o = &opts[i];
        int arg = o->type == AXL_OPT_FLAG ? no_argument : required_argument;
        int val = o->short_name ? o->short_name : OPTS_LONG_VAL((int)i);
        if (o->name) {
            lo[nl++] = (struct option){o->name, arg, NULL, val};
            has_help |= strcmp(o->name, "help") == 0;
        }
        if (o->short_name) {
            so[ns++] = (char)o->short_name;
            if (arg == required_argument) so[ns++] = ':';
            has_h |= o->short_name == 'h';
        }
    }
    const int help_val = OPTS_LONG_VAL((int)c.n);
    if (!has_help) lo[nl++] = (struct option){"help", no_argument, NULL, help_val};
    if (!has_h) so[ns++] = 'h';
    so[ns] = '\0';
    lo[nl] = (struct option){0};

    optind = 0; /* glibc: full re-initialisation, so parsing can be repeated */
    opterr = 0;
    for (;;) {
        int ch = getopt_long(argc, argv, so, lo, NULL);
        if (ch == -1) break;
        if (ch == help_val || (ch == 'h' && !has_h)) {
            axl_opts_usage(stdout, prog, usage, desc, opts);
            fflush(stdout);
            free(lo);
            free(so);
            free(c.multi_seen);
            exit(0);
        }
        if (ch == ':') {
            int i = opt_find_val(&c, optopt);
            if (i >= 0)
                opt_error(&c, &opts[i], "missing value");
            else
                opt_error(&c, NULL, "missing value for '%s'", argv[optind - 1]);
            goto out;
        }
        if (ch == '?') {
            int i = opt_find_val(&c, optopt);
            const char *bad = argv[optind - 1];
            if (i >= 0 && strncmp(bad, "--", 2) == 0 && strchr(bad, '='))
                opt_error(&c, &opts[i], "takes no value");
            else if (optopt > 0 && optopt < 256 && i < 0)
                opt_error(&c, NULL, "unknown option '-%c'", optopt);
            else
                opt_error(&c, NULL, "unknown option '%.*s'", (int)strcspn(bad, "="), bad);
            goto out;
        }
        int i = opt_find_val(&c, ch);
        if (i < 0) {
            opt_error(&c, NULL, "unknown option");
            goto out;
        }
        if (opt_apply(&c, (unsigned)i, optarg) < 0) goto out;
    }
    rc = optind;
out:
    if (rc < 0) fprintf(stderr, "Try '%s --help' for more information.\n", prog);
    free(lo);
    free(so);
    free(c.multi_seen);
    return rc;
}
