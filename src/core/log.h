/* SPDX-License-Identifier: MIT */
/*
 * log.h - leveled logging to stderr: "axl[pid] LEVEL module: message".
 * The level is set once at start-up (from --log-level or AXL_LOG) and only
 * read afterwards; nothing on the packet path logs above DEBUG, and DEBUG
 * calls are cheap when disabled (one compare).
 */
#ifndef AXL_CORE_LOG_H
#define AXL_CORE_LOG_H

#include "core/compiler.h"

enum axl_log_level {
    AXL_LOG_ERR = 0,
    AXL_LOG_WARN = 1,
    AXL_LOG_INFO = 2,
    AXL_LOG_DEBUG = 3,
};

extern int axl_log_level_cur; /* set only by axl_log_set_level() at start-up */

void axl_log_set_level(int level);
/* "err", "warn", "info", "debug" (or 0..3); returns level or -1. */
int axl_log_parse_level(const char *s);
void axl_log_msg(int level, const char *module, const char *fmt, ...) AXL_PRINTF(3, 4);

#define axl_log(level, module, ...)                                                                \
    do {                                                                                           \
        if (axl_unlikely((level) <= axl_log_level_cur))                                            \
            axl_log_msg((level), (module), __VA_ARGS__);                                           \
    } while (0)
#define axl_err(mod, ...)   axl_log(AXL_LOG_ERR, mod, __VA_ARGS__)
#define axl_warn(mod, ...)  axl_log(AXL_LOG_WARN, mod, __VA_ARGS__)
#define axl_info(mod, ...)  axl_log(AXL_LOG_INFO, mod, __VA_ARGS__)
#define axl_debug(mod, ...) axl_log(AXL_LOG_DEBUG, mod, __VA_ARGS__)

#endif
