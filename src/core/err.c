/* SPDX-License-Identifier: MIT */
/*
 * err.c - text for Axolotl error codes (err.h).
 *
 * The AXL_E* values that alias a negated errno are described by the C
 * library's errno text; the Axolotl-only codes (below -4096) by our own.
 * Every string returned is static and immutable, so this is safe from any
 * thread and from a signal handler's point of view needs no buffer.
 */
#include <string.h>

#include "core/err.h"

const char *axl_strerror(int err)
{
    switch (err) {
    case AXL_OK:
        return "success";
    case AXL_ETRUNC:
        return "truncated: a header or field runs past the end of the buffer";
    case AXL_EMALFORMED:
        return "malformed: a field has a value the format forbids";
    case AXL_ECSUM:
        return "checksum mismatch";
    case AXL_EVERSION:
        return "ABI or protocol version mismatch";
    default:
        break;
    }
    /* Negated errno (the usual form) or, leniently, a positive errno. */
    if (err <= -4096 || err >= 4096) return "unknown error";
    int e = err < 0 ? -err : err;
    /* strerrordesc_np (glibc >= 2.32) returns a static description, or NULL for
     * a number that is not an errno; unlike strerror it never formats into a
     * shared buffer. */
    const char *s = strerrordesc_np(e);
    return s ? s : "unknown error";
}
