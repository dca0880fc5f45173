/* SPDX-License-Identifier: MIT */
/*
 * rel_hostile - a hostile application for the reliability tests
 * (tests/integration/rel_hostile.sh, bench/reliability.sh). It attaches to
 * axl-stackd like any application (control socket "attach", channel fds by
 * SCM_RIGHTS, src/chan's app side) and then misbehaves:
 *
 *   rel_hostile [--ctl PATH] [--seconds S] scribble
 *       for S seconds: attach, open a TCP socket, then write random values
 *       into every byte of the APP region (every byte it can write: control
 *       words, indices, hint and ack bitmaps, the command queue, socket
 *       lines, TX rings) pass after pass, ringing the replica's bell after
 *       each pass, until the replica disconnects it (the channel reads DOWN)
 *       or 2 s pass; then detach and attach again. Prints
 *         scribble attaches=N disconnected=D passes=P bytes=B seconds=S
 *   rel_hostile [--ctl PATH] readonly
 *       tries to write the STK region, which the replica maps to it
 *       read-only: a store in a child process (must die of SIGSEGV),
 *       mprotect to PROT_WRITE, and a new writable shared mapping of the
 *       memfd (both must fail: F_SEAL_FUTURE_WRITE). Prints
 *         readonly store=SIGSEGV|wrote mprotect=ERRNO|allowed mmap_rw=ERRNO|allowed
 *   rel_hostile [--ctl PATH] [--seconds S] peek MARKER
 *       for S seconds: attaches and searches every byte of both regions it
 *       was given (STK and APP) for MARKER, which another application's
 *       connections carry. Prints
 *         peek scans=N bytes=B found=F
 *
 *   rel_hostile [--ctl PATH] open-many N
 *       a well-formed app that opens N TCP sockets on replica 0 (more than
 *       the channel's --socks has room for). Prints the answers:
 *         openmany n=N ok=K emfile=E other=O
 *
 * Exit status: 0 when it ran (the printed line says what happened), 1 on a
 * set-up failure (message), 2 on bad arguments.
 *
 * Call chain: main -> attach (ctl_connect, ctl_cmd, axl_chan_recv_hello_bell,
 * axl_chan_map_app) -> scribble | readonly | peek -> detach.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chan/chan.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/opts.h"
#include "stackd/ctl_proto.h"

#define PROG  "rel_hostile"
#define MAXCH 64

struct att {
    int cfd;
    int n;
    struct axl_chan_app a[MAXCH];
    int sock[MAXCH];   /* the channel sockets: closing one ends the channel */
    int stk_fd[MAXCH]; /* kept for the readonly test */
};

static int ctl_connect(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || strlen(path) >= sizeof(sa.sun_path)) {
        if (fd >= 0) close(fd);
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One reply up to its "." line; the fds that came with it. */
static int ctl_cmd(int fd, const char *line, char *buf, size_t cap, int *fds, int *nfds)
{
    char req[256];
    int n = snprintf(req, sizeof(req), "%s %s\n", AXL_CTL_PROTO, line);
    if (write(fd, req, (size_t)n) != n) return -1;
    size_t len = 0;
    *nfds = 0;
    for (;;) {
        union {
            char b[CMSG_SPACE(sizeof(int) * MAXCH)];
            struct cmsghdr al;
        } cm;
        struct iovec iov = {buf + len, cap - len - 1};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.b,
                           .msg_controllen = sizeof(cm.b)};
        ssize_t k = recvmsg(fd, &m, MSG_CMSG_CLOEXEC);
        if (k <= 0) return -1;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                int q = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
                for (int i = 0; i < q && *nfds < MAXCH; i++)
                    memcpy(&fds[(*nfds)++], CMSG_DATA(c) + (size_t)i * sizeof(int), sizeof(int));
            }
        len += (size_t)k;
        buf[len] = '\0';
        if ((len >= 2 && !strncmp(buf + len - 2, "\n.", 2)) || strstr(buf, "\n.\n")) return 0;
        if (len + 1 >= cap) return -1;
    }
}

/* Attach as NAME and map every channel. 0 or -1 (message printed when loud). */
static int attach(struct att *t, const char *ctl, const char *name, int keep_stk, int loud)
{
    static char buf[65536];
    int fds[MAXCH], nfds = 0;
    char line[64];
    memset(t, 0, sizeof(*t));
    t->cfd = ctl_connect(ctl);
    if (t->cfd < 0) {
        if (loud) fprintf(stderr, "%s: cannot connect to %s: %s\n", PROG, ctl, strerror(errno));
        return -1;
    }
    snprintf(line, sizeof(line), "attach %s", name);
    if (ctl_cmd(t->cfd, line, buf, sizeof(buf), fds, &nfds) < 0 || strncmp(buf, "ok\n", 3) ||
        nfds == 0) {
        if (loud) fprintf(stderr, "%s: attach refused: %s\n", PROG, buf);
        for (int i = 0; i < nfds; i++) close(fds[i]);
        close(t->cfd);
        return -1;
    }
    for (int i = 0; i < nfds; i++) {
        struct axl_chan_hello h;
        int rf[AXL_CHAN_NREGIONS], bell = -1;
        int rc = axl_chan_recv_hello_bell(fds[i], &h, rf, &bell);
        if (rc == 0) rc = axl_chan_map_app(&t->a[t->n], &h, rf);
        if (rc < 0) {
            if (loud) fprintf(stderr, "%s: HELLO: %s\n", PROG, axl_strerror(rc));
            close(fds[i]);
            continue;
        }
        t->sock[t->n] = fds[i];
        if (keep_stk)
            t->stk_fd[t->n] = rf[AXL_CHAN_R_STK];
        else
            close(rf[AXL_CHAN_R_STK]);
        close(rf[AXL_CHAN_R_APP]);
        axl_chan_app_set_bell(&t->a[t->n], bell);
        t->n++;
    }
    return t->n ? 0 : -1;
}

static void detach(struct att *t)
{
    for (int i = 0; i < t->n; i++) {
        axl_chan_app_unmap(&t->a[i]);
        close(t->sock[i]);
    }
    close(t->cfd);
    t->n = 0;
}

static uint64_t xs(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static int scribble(const char *ctl, double seconds, uint64_t seed)
{
    uint64_t end = axl_clock_ns() + (uint64_t)(seconds * 1e9), rnd = seed | 1;
    unsigned long long attaches = 0, down = 0, passes = 0, bytes = 0;
    while (axl_clock_ns() < end) {
        struct att t;
        if (attach(&t, ctl, "hostile", 0, attaches == 0) < 0) {
            if (attaches == 0) return 1;
            struct timespec ts = {0, 10000000}; /* the supervisor refused: try again soon */
            nanosleep(&ts, NULL);
            continue;
        }
        attaches++;
        for (int i = 0; i < t.n; i++) { /* a legitimate first command: a socket exists */
            struct axl_chan_cmd c;
            memset(&c, 0, sizeof(c));
            c.op = AXL_CHAN_OP_OPEN;
            c.sock = AXL_CHAN_SOCK_NONE;
            c.arg = AXL_CHAN_PROTO_TCP;
            axl_chan_app_submit(&t.a[i], &c, 1);
            axl_chan_app_kick(&t.a[i]);
        }
        uint64_t give_up = axl_clock_ns() + 2000000000ull;
        int alive = t.n;
        while (alive && axl_clock_ns() < give_up && axl_clock_ns() < end) {
            alive = 0;
            for (int i = 0; i < t.n; i++) {
                struct axl_chan_app *a = &t.a[i];
                if (!axl_chan_app_up(a)) continue;
                alive++;
                uint64_t n = a->lay.size[AXL_CHAN_R_APP] / 8;
                uint64_t *w = (uint64_t *)(void *)a->app;
                for (uint64_t k = 0; k < n; k++) w[k] = xs(&rnd);
                bytes += n * 8;
                passes++;
                if (a->has_bell) { /* wake the replica: it must look at the garbage */
                    uint64_t one = 1;
                    if (write(a->bell_fd, &one, sizeof(one)) < 0) { /* counted by nobody */
                    }
                }
            }
        }
        int d = 0;
        for (int i = 0; i < t.n; i++) d += !axl_chan_app_up(&t.a[i]);
        if (d == t.n) down++;
        detach(&t);
    }
    printf("scribble attaches=%llu disconnected=%llu passes=%llu bytes=%llu seconds=%.1f\n",
           attaches, down, passes, bytes, seconds);
    return 0;
}

static const char *ename(int e)
{
    switch (e) {
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case EINVAL: return "EINVAL";
    default: return "other";
    }
}

static int readonly(const char *ctl)
{
    struct att t;
    if (attach(&t, ctl, "hostile-ro", 1, 1) < 0) return 1;
    struct axl_chan_app *a = &t.a[0];
    size_t len = a->lay.size[AXL_CHAN_R_STK];
    /* 1. a plain store into the read-only mapping, in a child */
    const char *store = "?";
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL);
        volatile uint8_t *p = (volatile uint8_t *)(uintptr_t)a->stk;
        p[64] = 0x5a; /* the stack's control words */
        _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    if (WIFSIGNALED(st) && (WTERMSIG(st) == SIGSEGV || WTERMSIG(st) == SIGBUS))
        store = WTERMSIG(st) == SIGSEGV ? "SIGSEGV" : "SIGBUS";
    else if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        store = "wrote";
    /* 2. make the existing mapping writable */
    const char *mp = "allowed";
    if (mprotect((void *)(uintptr_t)a->stk, len, PROT_READ | PROT_WRITE) < 0) mp = ename(errno);
    /* 3. a new writable shared mapping of the memfd */
    const char *mm = "allowed";
    void *w = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, t.stk_fd[0], 0);
    if (w == MAP_FAILED)
        mm = ename(errno);
    else
        munmap(w, len);
    printf("readonly store=%s mprotect=%s mmap_rw=%s\n", store, mp, mm);
    for (int i = 0; i < t.n; i++) close(t.stk_fd[i]);
    detach(&t);
    return 0;
}

static int peek(const char *ctl, double seconds, const char *marker)
{
    struct att t;
    if (attach(&t, ctl, "peeker", 0, 1) < 0) return 1;
    size_t ml = strlen(marker);
    unsigned long long scans = 0, bytes = 0, found = 0;
    uint64_t end = axl_clock_ns() + (uint64_t)(seconds * 1e9);
    do {
        for (int i = 0; i < t.n; i++) {
            const uint8_t *reg[2] = {t.a[i].stk, t.a[i].app};
            for (int r = 0; r < 2; r++) {
                size_t len = t.a[i].lay.size[r];
                if (len >= ml && memmem(reg[r], len, marker, ml)) found++;
                bytes += len;
            }
        }
        scans++;
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    } while (axl_clock_ns() < end);
    printf("peek scans=%llu bytes=%llu found=%llu\n", scans, bytes, found);
    detach(&t);
    return 0;
}

static int open_many(const char *ctl, uint32_t n)
{
    struct att t;
    if (attach(&t, ctl, "open-many", 0, 1) < 0) return 1;
    struct axl_chan_app *a = &t.a[0];
    uint32_t submitted = 0, answered = 0, okn = 0, emfile = 0, other = 0;
    uint64_t end = axl_clock_ns() + 10000000000ull;
    while (answered < n && axl_clock_ns() < end) {
        while (submitted < n) {
            struct axl_chan_cmd c;
            memset(&c, 0, sizeof(c));
            c.op = AXL_CHAN_OP_OPEN;
            c.sock = AXL_CHAN_SOCK_NONE;
            c.arg = AXL_CHAN_PROTO_TCP;
            if (axl_chan_app_submit(a, &c, 1) != 1) break;
            submitted++;
        }
        axl_chan_app_kick(a);
        struct axl_chan_event e;
        unsigned v;
        int r, got = 0;
        while ((r = axl_chan_app_poll_event(a, &e, &v)) != 0) {
            if (r < 0) {
                fprintf(stderr, "%s: bad event (%s)\n", PROG, axl_chan_viol_name(v));
                return 1;
            }
            got++;
            if (e.type != AXL_CHAN_EV_DONE || e.arg != AXL_CHAN_OP_OPEN) continue;
            answered++;
            if (e.status == 0)
                okn++;
            else if (e.status == -EMFILE)
                emfile++;
            else
                other++;
        }
        if (!got) axl_chan_app_sleep(a, 1000000ull);
    }
    printf("openmany n=%u ok=%u emfile=%u other=%u\n", n, okn, emfile, other);
    detach(&t);
    return 0;
}

int main(int argc, char **argv)
{
    const char *ctl = getenv(AXL_CTL_ENV);
    double seconds = 5;
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    const struct axl_opt opts[] = {
        {"ctl", 0, AXL_OPT_STR, "PATH", "control socket (default $AXL_STACK)", &ctl},
        {"seconds", 0, AXL_OPT_DOUBLE, "S", "scribble / peek for S seconds (default 5)", &seconds,
         0.1, 3600},
        {"seed", 0, AXL_OPT_U64, "N", "random seed of the scribbler", &seed},
        {0},
    };
    int first = axl_opts_parse(argc, argv, PROG, "[options] scribble | readonly | peek MARKER | open-many N",
                               "A hostile application of the axl-stackd service layer (tests).",
                               opts);
    if (first < 0) return 2;
    int nargs = argc - first;
    char **av = argv + first;
    if (!ctl) ctl = AXL_CTL_DEFAULT_PATH;
    signal(SIGPIPE, SIG_IGN);
    if (nargs == 1 && !strcmp(av[0], "scribble")) return scribble(ctl, seconds, seed);
    if (nargs == 1 && !strcmp(av[0], "readonly")) return readonly(ctl);
    if (nargs == 2 && !strcmp(av[0], "peek") && av[1][0]) return peek(ctl, seconds, av[1]);
    uint64_t n = 0;
    if (nargs == 2 && !strcmp(av[0], "open-many") && axl_parse_u64(av[1], &n) == 0 && n >= 1 &&
        n <= 1000000)
        return open_many(ctl, (uint32_t)n);
    fprintf(stderr, "%s: expected scribble | readonly | peek MARKER | open-many N (--help)\n", PROG);
    return 2;
}
