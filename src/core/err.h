/* SPDX-License-Identifier: MIT */
/*
 * err.h - Axolotl error codes. Functions return 0 (or a count) on success and a
 * negative AXL_E* on failure. Where a POSIX errno fits, the AXL_E* value *is*
 * the negated errno, so callers at the socket layer can return it unchanged.
 */
#ifndef AXL_CORE_ERR_H
#define AXL_CORE_ERR_H

#include <errno.h>

enum {
    AXL_OK = 0,
    AXL_ENOMEM = -ENOMEM,
    AXL_EINVAL = -EINVAL,
    AXL_EAGAIN = -EAGAIN,
    AXL_ENOBUFS = -ENOBUFS,
    AXL_ENOENT = -ENOENT,
    AXL_EEXIST = -EEXIST,
    AXL_EADDRINUSE = -EADDRINUSE,
    AXL_EADDRNOTAVAIL = -EADDRNOTAVAIL,
    AXL_ENOTSUP = -EOPNOTSUPP,
    AXL_EMSGSIZE = -EMSGSIZE,
    AXL_EHOSTUNREACH = -EHOSTUNREACH,
    /* Axolotl-only codes live below -4096 so they never collide with errno. */
    AXL_ETRUNC = -4097,    /* a header or field runs past the end of the buffer */
    AXL_EMALFORMED = -4098, /* a field has a value the format forbids */
    AXL_ECSUM = -4099,     /* checksum mismatch */
    AXL_EVERSION = -4100,  /* ABI or protocol version mismatch */
};

/* Human-readable text for any AXL_E* (including negated errno values). */
const char *axl_strerror(int err);

#endif
