/* SPDX-License-Identifier: MIT */
/*
 * rand.c - kernel randomness for secrets (rand.h): ISN keys, SYN-cookie
 * secrets, hash seeds. Called at start-up, never on the packet path.
 * The seeded xoshiro generator itself is all inline in rand.h.
 */
#include <errno.h>
#include <sys/random.h>

#include "core/rand.h"

int axl_random_bytes(void *buf, unsigned len)
{
    unsigned char *p = buf;
    while (len > 0) {
        /* getrandom(2) blocks only until the pool is first initialised; reads
         * of more than 256 bytes may return short or be interrupted. */
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        p += n;
        len -= (unsigned)n;
    }
    return 0;
}
