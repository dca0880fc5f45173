/* SPDX-License-Identifier: MIT */
/*
 * log.c - leveled logging to stderr (log.h).
 *
 * Each message is formatted into one stack buffer and written with a single
 * write(2), so lines from several replica processes sharing a stderr never
 * interleave mid-line (POSIX makes writes up to PIPE_BUF atomic on pipes).
 * Lines longer than AXL_LOG_LINE_MAX are cut and end in "...".
 *
 * Level: INFO by default; the AXL_LOG environment variable (err|warn|info|
 * debug or 0..3) replaces that default when the library is loaded (and, should
 * a message be logged before that, at the first message); an explicit
 * axl_log_set_level() (--log-level) wins over the environment.
 * axl_log_level_cur is written only during start-up and read on every log
 * call site; it is the one process-wide setting of the library.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/log.h"

/** AXL_LOG_LINE_MAX: longest line written, newline included. */
#define AXL_LOG_LINE_MAX 1024

int axl_log_level_cur = AXL_LOG_INFO;

/* 0: not yet looked at AXL_LOG; 1: done (env applied, or a level was set). */
static int log_level_decided;

static const char *const level_names[] = {"ERR", "WARN", "INFO", "DEBUG"};

int axl_log_parse_level(const char *s)
{
    static const char *const names[] = {"err", "warn", "info", "debug"};
    if (!s) return -1;
    for (int i = 0; i < (int)AXL_ARRAY_SIZE(names); i++)
        if (strcasecmp(s, names[i]) == 0) return i;
    if (strcasecmp(s, "error") == 0) return AXL_LOG_ERR;
    if (strcasecmp(s, "warning") == 0) return AXL_LOG_WARN;
    if (s[0] >= '0' && s[0] <= '3' && s[1] == '\0') return s[0] - '0';
    return -1;
}

void axl_log_set_level(int level)
{
    if (level < AXL_LOG_ERR) level = AXL_LOG_ERR;
    if (level > AXL_LOG_DEBUG) level = AXL_LOG_DEBUG;
    axl_log_level_cur = level;
    log_level_decided = 1;
}

static void log_apply_env(void)
{
    if (log_level_decided) return;
    log_level_decided = 1;
    const char *env = getenv("AXL_LOG");
    if (!env || !*env) return;
    int lvl = axl_log_parse_level(env);
    if (lvl < 0) {
        axl_log_msg(AXL_LOG_WARN, "log", "AXL_LOG='%.32s' is not a level (err|warn|info|debug)",
                    env);
        return;
    }
    axl_log_level_cur = lvl;
}

__attribute__((constructor)) static void log_ctor(void)
{
    log_apply_env();
}

void axl_log_msg(int level, const char *module, const char *fmt, ...)
{
    log_apply_env();
    if (level > axl_log_level_cur) return;
    if (level < AXL_LOG_ERR) level = AXL_LOG_ERR;
    if (level > AXL_LOG_DEBUG) level = AXL_LOG_DEBUG;

    char line[AXL_LOG_LINE_MAX];
    const size_t cap = sizeof(line) - 1; /* keep one byte for the newline */
    int n = snprintf(line, cap + 1, "axl[%ld] %s %s: ", (long)getpid(), level_names[level],
                     module ? module : "-");
    size_t len = n < 0 ? 0 : AXL_MIN((size_t)n, cap);

    va_list ap;
    va_start(ap, fmt);
    n = vsnprintf(line + len, cap + 1 - len, fmt, ap);
    va_end(ap);
    if (n > 0) {
        if ((size_t)n > cap - len) {
            len = cap;
            memcpy(line + cap - 3, "...", 3);
        } else {
            len += (size_t)n;
        }
    }
    while (len > 0 && line[len - 1] == '\n') /* the caller's own newline */
        len--;
    line[len++] = '\n';

    /* One write per line; retry only what a signal cut short. */
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(STDERR_FILENO, line + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        off += (size_t)w;
    }
}
