/* SPDX-License-Identifier: MIT */
/*
 * tcp_secret.c - TCP secrets kept for the whole boot (tcp_isn.h).
 *
 * RFC 6528 §3 has the ISN function's secret changed at reboot, not whenever
 * a process starts: an engine that starts again (a replica restarted by the
 * supervisor, a run-to-completion program run again) with new secrets sends
 * ISNs and timestamps unrelated to those of its predecessor, and a peer that
 * still holds the predecessor's connection on the same ports in TIME-WAIT may
 * refuse the new SYN (RFC 6191: it accepts one whose ISN or timestamp is
 * newer). With one secret per boot, shared by every engine of the machine,
 * ISNs (M + F(), M the system-wide CLOCK_MONOTONIC) and timestamps (the same
 * clock plus a per-tuple offset) go on from where the predecessor left them,
 * as Linux's do, and a SYN cookie made by one replica is good in another or
 * in a restarted one.
 *
 * The secret lives in a file (default AXL_TCP_SECRET_PATH on /run, a tmpfs
 * emptied at boot), owned by the user and readable by nobody else; it is
 * created once, atomically (a temporary file linked into place: of two
 * engines starting at once, one creates it and the other reads it).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/tcp_isn.h"

static int read_secret(const char *path, struct axl_tcp_secret *s)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -errno;
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
    } else if (!S_ISREG(st.st_mode) || st.st_size != (off_t)sizeof(*s)) {
        rc = -EINVAL; /* not what we write */
    } else if (st.st_uid != geteuid() || (st.st_mode & 077)) {
        rc = -EPERM; /* someone else's, or others may read it: not secret */
    } else {
        ssize_t n = read(fd, s, sizeof(*s));
        if (n != (ssize_t)sizeof(*s)) rc = n < 0 ? -errno : -EIO;
    }
    close(fd);
    return rc;
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

int axl_tcp_secret_keep(struct axl_tcp_secret *s, const char *path)
{
    char tmp[PATH_MAX];
    if (!path || !*path || strlen(path) + 8 >= sizeof(tmp)) return -EINVAL;
    int rc = read_secret(path, s);
    if (rc != -ENOENT) return rc;

    /* its directory, one level (e.g. /run/axl), as the control socket's */
    snprintf(tmp, sizeof(tmp), "%s", path);
    char *slash = strrchr(tmp, '/');
    if (slash && slash != tmp) {
        *slash = 0;
        if (mkdir(tmp, 0755) < 0 && errno != EEXIST) return -errno;
    }
    snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
    int fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 */
    if (fd < 0) return -errno;
    struct axl_tcp_secret fresh;
    rc = axl_tcp_secret_init(&fresh);
    if (rc == 0) rc = write_all(fd, &fresh, sizeof(fresh));
    if (close(fd) < 0 && rc == 0) rc = -errno;
    if (rc == 0 && link(tmp, path) < 0) rc = -errno; /* never replaces one */
    unlink(tmp);
    if (rc == 0) {
        *s = fresh;
        return 0;
    }
    return rc == -EEXIST ? read_secret(path, s) : rc; /* another engine was first */
}

int axl_tcp_secret_default(struct axl_tcp_secret *s, char *note, size_t notelen)
{
    const char *path = getenv(AXL_TCP_SECRET_ENV);
    if (!path || !*path) path = AXL_TCP_SECRET_PATH;
    if (!strcmp(path, "none")) {
        snprintf(note, notelen, "TCP secrets: this engine's own (%s=none)", AXL_TCP_SECRET_ENV);
        return 0;
    }
    int rc = axl_tcp_secret_keep(s, path);
    if (rc == 0) {
        snprintf(note, notelen, "TCP secrets: kept for the boot in %s", path);
        return 1;
    }
    snprintf(note, notelen,
             "TCP secrets: this engine's own, cannot keep them in %s (%s): a restart may "
             "meet its predecessor's TIME-WAIT",
             path, rc == -EPERM ? "not ours alone: owner or mode" : strerror(-rc));
    return 0;
}
