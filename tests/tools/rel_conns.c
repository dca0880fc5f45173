/* SPDX-License-Identifier: MIT */
/*
 * rel_conns - the kernel-side TCP client of the reliability tests
 * (tests/integration/rel_*.sh, bench/reliability.sh). It runs in the client
 * namespace on the Linux stack and talks to an Axolotl echo service (the
 * replica's built-in --tcp-echo, or an application such as svc_raw echo).
 *
 *   rel_conns [opts] stream IP PORT   --conns K connections; each sends a
 *       --size B record every --interval-us U and checks the echo byte for
 *       byte, for --seconds S. Prints
 *         stream conns=K established=E alive=A reset=R eof=F errors=X
 *                mismatch=M sent=BYTES echoed=BYTES max_gap_ms=G p99_gap_ms=P
 *                max_gap_end_s=T (when the longest gap ended, s after the start)
 *       With --gap-log MS every gap of at least MS ms is also written to
 *       stderr as it ends: "gap conn=I ms=G end=T mono=M" (T: CLOCK_REALTIME, s since
 *       the epoch, to be laid next to other processes' time stamps; mono=
 *       the same end on CLOCK_MONOTONIC, as perf record -k mono stamps).
 *       gap: the time between two consecutive echo arrivals on one connection
 *       (max and p99 over every connection still alive at the end, the time
 *       from its last echo to the end included). A gap mixes two things: the
 *       server holding data, and this client not sending (its 1 ms timer
 *       fired late: on an idle vCPU of this VM a timer can be 20 ms late).
 *       So it also prints records=N (records echoed whole), max_wait_ms /
 *       p99_wait_ms (per record: sent -> its last byte echoed; a record
 *       still unanswered at the end counts as waiting until then; p99 to
 *       0.1 ms), untimed=U (records sent while PEND were already waiting: not
 *       timed) and max_late_ms (the latest a send came after its schedule),
 *       and each gap line ends in wait=W (the longest wait of the records the
 *       arrival completed). It stops early when no connection is left.
 *   rel_conns [opts] hold IP PORT     opens --conns N connections (at most
 *       --inflight connects pending; from the --src addresses in turn), with
 *       --echo checks one byte each, prints
 *         hold conns=N established=E refused=.. reset=.. timeout=.. other=..
 *              first_error=NAME connect_s=T
 *       then "ready"; then with --kill PID sends PID SIGKILL and waits (at most
 *       --seconds) until every established connection was closed by the peer:
 *         closed rst=R fin=F open=O last_ms=T first_ms=T1 exit_ms=X
 *       (T / T1: from the kill to the last / first close; X: until the process
 *       had exited, its fds closed, as its pidfd says; -1 = not known)
 *       without --kill it holds them --seconds and closes them itself:
 *         closed rst=R fin=F open=O
 *   rel_conns [opts] churn IP PORT    for --seconds S, one connection after
 *       the other: connect, one byte echoed, close; an attempt that takes
 *       more than --connect-timeout fails. Prints
 *         churn attempts=A ok=O failed=F rate=OK_PER_S p50_ms=.. p99_ms=..
 *
 * Exit status: 0 when it ran (the figures say how well), 1 on a set-up
 * failure (message), 2 on bad arguments. Every loop is bounded in time.
 *
 * Call chain: main -> parse -> open_conns (non-blocking connect, epoll) ->
 * run_stream | run_hold -> report.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/opts.h"

#define PROG    "rel_conns"
#define MAXSRC  16
#define RECBUF  65536

enum cstate { C_CONNECTING, C_ECHOWAIT, C_UP, C_RST, C_FIN, C_ERR, C_TIMEOUT };

/* stream: records per connection whose echo wait is timed at once */
#define PEND 256u
/* stream: echo waits are kept in 0.1 ms buckets up to 10 s */
#define WAIT_BUCKETS 100000u

struct conn {
    int fd;
    uint8_t st;
    uint64_t tx_off, rx_off; /* stream: pattern offsets */
    uint64_t next_send_ns, last_rx_ns;
    uint64_t max_gap_ns, max_gap_end_ns; /* the longest gap and when it ended */
    int last_err;
    /* stream: records sent and not yet echoed (stream offset of their end,
     * time sent), oldest first; full: later records are not timed */
    struct pend {
        uint64_t end, t;
    } pend[PEND];
    uint32_t ph, pt;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The byte at stream offset o of connection i: both directions compare it. */
static inline uint8_t pat(uint32_t i, uint64_t o)
{
    return (uint8_t)(i * 131u + (uint32_t)o * 7u + (uint32_t)(o >> 8) * 13u);
}

static const char *errname(int e)
{
    switch (e) {
    case 0:
        return "-";
    case ECONNREFUSED:
        return "ECONNREFUSED";
    case ECONNRESET:
        return "ECONNRESET";
    case ETIMEDOUT:
        return "ETIMEDOUT";
    case EMFILE:
        return "EMFILE";
    case ENFILE:
        return "ENFILE";
    case ENOBUFS:
        return "ENOBUFS";
    case EADDRNOTAVAIL:
        return "EADDRNOTAVAIL";
    case EHOSTUNREACH:
        return "EHOSTUNREACH";
    case ENETUNREACH:
        return "ENETUNREACH";
    case EPIPE:
        return "EPIPE";
    default:
        return "other";
    }
}

struct cfg {
    uint32_t conns, inflight, size, interval_us;
    double seconds, connect_timeout;
    int echo;
    uint64_t kill_pid;
    double gap_log_ms; /* stream: log gaps >= this (0 = none) */
    uint32_t src[MAXSRC];
    uint32_t nsrc;
    struct sockaddr_in dst;
};

struct run {
    struct cfg c;
    struct conn *cs;
    int ep;
    uint32_t established, refused, reset, timeout, other, open_fail;
    int first_err;
};

static void set_err(struct run *r, struct conn *k, int e)
{
    k->last_err = e;
    if (!r->first_err) r->first_err = e;
    if (k->fd >= 0) {
        epoll_ctl(r->ep, EPOLL_CTL_DEL, k->fd, NULL);
        close(k->fd);
        k->fd = -1;
    }
    if (e == ECONNRESET || e == EPIPE)
        k->st = C_RST;
    else if (e == ETIMEDOUT)
        k->st = C_TIMEOUT;
    else
        k->st = C_ERR;
}

static int start_connect(struct run *r, uint32_t i)
{
    struct conn *k = &r->cs[i];
    k->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (k->fd < 0) {
        int e = errno;
        r->open_fail++;
        set_err(r, k, e);
        return -1;
    }
    int one = 1;
    setsockopt(k->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (r->c.nsrc) {
        struct sockaddr_in sa = {.sin_family = AF_INET};
        sa.sin_addr.s_addr = htonl(r->c.src[i % r->c.nsrc]);
#ifdef IP_BIND_ADDRESS_NO_PORT
        setsockopt(k->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
#endif
        if (bind(k->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
            set_err(r, k, errno);
            return -1;
        }
    }
    k->st = C_CONNECTING;
    struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.u32 = i};
    epoll_ctl(r->ep, EPOLL_CTL_ADD, k->fd, &ev);
    if (connect(k->fd, (struct sockaddr *)&r->c.dst, sizeof(r->c.dst)) < 0 &&
        errno != EINPROGRESS) {
        set_err(r, k, errno);
        return -1;
    }
    return 0;
}

static void became_up(struct run *r, struct conn *k, uint32_t i)
{
    k->st = C_UP;
    k->last_rx_ns = now_ns();
    k->next_send_ns = k->last_rx_ns + (uint64_t)(i % 97) * 10000ull; /* spread the sends */
    r->established++;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u32 = i};
    epoll_ctl(r->ep, EPOLL_CTL_MOD, k->fd, &ev);
}

/* Connect phase: every connection established, failed or timed out. */
static void open_conns(struct run *r)
{
    uint32_t next = 0, pending = 0;
    uint64_t deadline = now_ns() + (uint64_t)(r->c.connect_timeout * 1e9);
    struct epoll_event evs[256];
    uint8_t byte;
    while ((next < r->c.conns || pending) && now_ns() < deadline) {
        while (next < r->c.conns && pending < r->c.inflight) {
            if (start_connect(r, next) == 0) pending++;
            next++;
        }
        int n = epoll_wait(r->ep, evs, 256, 10);
        for (int j = 0; j < n; j++) {
            uint32_t i = evs[j].data.u32;
            struct conn *k = &r->cs[i];
            if (k->fd < 0) continue;
            if (k->st == C_CONNECTING) {
                int e = 0;
                socklen_t el = sizeof(e);
                if (!(evs[j].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) continue;
                getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &e, &el);
                if (e) {
                    set_err(r, k, e);
                    pending--;
                } else if (r->c.echo) {
                    k->st = C_ECHOWAIT;
                    byte = pat(i, 0);
                    if (write(k->fd, &byte, 1) != 1) {
                        set_err(r, k, errno);
                        pending--;
                        continue;
                    }
                    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u32 = i};
                    epoll_ctl(r->ep, EPOLL_CTL_MOD, k->fd, &ev);
                } else {
                    became_up(r, k, i);
                    pending--;
                }
            } else if (k->st == C_ECHOWAIT) {
                ssize_t m = read(k->fd, &byte, 1);
                if (m == 1 && byte == pat(i, 0)) {
                    k->tx_off = k->rx_off = 1;
                    became_up(r, k, i);
                } else if (m == 0) {
                    set_err(r, k, ECONNRESET);
                    k->st = C_FIN;
                } else if (m < 0 && errno == EAGAIN) {
                    continue;
                } else {
                    set_err(r, k, m < 0 ? errno : EPROTO);
                }
                pending--;
            }
        }
    }
    for (uint32_t i = 0; i < r->c.conns; i++) {
        struct conn *k = &r->cs[i];
        if (i >= next) {
            k->st = C_TIMEOUT;
            k->fd = -1;
        } else if (k->fd >= 0 && (k->st == C_CONNECTING || k->st == C_ECHOWAIT)) {
            set_err(r, k, ETIMEDOUT);
        }
    }
    for (uint32_t i = 0; i < r->c.conns; i++) {
        struct conn *k = &r->cs[i];
        if (k->st == C_UP) continue;
        if (k->last_err == ECONNREFUSED)
            r->refused++;
        else if (k->st == C_RST || k->st == C_FIN)
            r->reset++;
        else if (k->st == C_TIMEOUT)
            r->timeout++;
        else
            r->other++;
    }
}

/* A connection the peer closed or broke during the run phase. */
static void peer_closed(struct run *r, struct conn *k, int e)
{
    set_err(r, k, e);
    if (e == 0) k->st = C_FIN;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void run_stream(struct run *r)
{
    uint64_t t_start = now_ns(), t_end = t_start + (uint64_t)(r->c.seconds * 1e9);
    uint64_t iv = (uint64_t)r->c.interval_us * 1000ull, sent = 0, echoed = 0, mism = 0;
    uint64_t late = 0, untimed = 0, waited = 0, max_wait = 0;
    uint32_t *wh = calloc(WAIT_BUCKETS, sizeof(uint32_t));
    static uint8_t buf[RECBUF];
    if (!wh) {
        fprintf(stderr, "%s: out of memory\n", PROG);
        exit(1);
    }
    struct epoll_event evs[256];
    for (;;) {
        uint64_t t = now_ns();
        if (t >= t_end) break;
        for (uint32_t i = 0; i < r->c.conns; i++) {
            struct conn *k = &r->cs[i];
            if (k->st != C_UP || t < k->next_send_ns) continue;
            uint32_t b = r->c.size;
            for (uint32_t j = 0; j < b; j++)
                buf[j] = pat(i, k->tx_off + j);
            ssize_t m = send(k->fd, buf, b, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (t - k->next_send_ns > late) late = t - k->next_send_ns;
            if (m > 0) {
                k->tx_off += (uint64_t)m;
                sent += (uint64_t)m;
                if (k->pt - k->ph < PEND)
                    k->pend[k->pt++ % PEND] = (struct pend){k->tx_off, t};
                else
                    untimed++;
            } else if (m < 0 && errno != EAGAIN) {
                peer_closed(r, k, errno);
                continue;
            }
            k->next_send_ns += iv;
            if (k->next_send_ns < t) k->next_send_ns = t + iv; /* we fell behind: no burst */
        }
        uint32_t up = 0;
        for (uint32_t i = 0; i < r->c.conns; i++)
            up += r->cs[i].st == C_UP;
        if (!up) break; /* every connection ended: nothing left to measure */
        int n = epoll_wait(r->ep, evs, 256, 1);
        t = now_ns();
        for (int j = 0; j < n; j++) {
            uint32_t i = evs[j].data.u32;
            struct conn *k = &r->cs[i];
            if (k->st != C_UP) continue;
            ssize_t m = recv(k->fd, buf, sizeof(buf), MSG_DONTWAIT);
            if (m > 0) {
                for (ssize_t q = 0; q < m; q++)
                    if (buf[q] != pat(i, k->rx_off + (uint64_t)q)) mism++;
                k->rx_off += (uint64_t)m;
                echoed += (uint64_t)m;
                /* every record now echoed whole: how long it waited (the
                 * stack's and both kernels' part, not the client's timer) */
                uint64_t w_now = 0;
                while (k->ph != k->pt && k->pend[k->ph % PEND].end <= k->rx_off) {
                    uint64_t w = t - k->pend[k->ph % PEND].t;
                    k->ph++;
                    wh[w / 100000u < WAIT_BUCKETS ? w / 100000u : WAIT_BUCKETS - 1]++;
                    waited++;
                    if (w > max_wait) max_wait = w;
                    if (w > w_now) w_now = w;
                }
                if (r->c.gap_log_ms > 0 && k->last_rx_ns &&
                    (double)(t - k->last_rx_ns) >= r->c.gap_log_ms * 1e6) {
                    struct timespec rt;
                    clock_gettime(CLOCK_REALTIME, &rt);
                    fprintf(stderr, "gap conn=%u ms=%.1f end=%lld.%06ld mono=%.6f wait=%.1f\n", i,
                            (double)(t - k->last_rx_ns) / 1e6, (long long)rt.tv_sec,
                            rt.tv_nsec / 1000, (double)t / 1e9, (double)w_now / 1e6);
                }
                if (t - k->last_rx_ns > k->max_gap_ns) {
                    k->max_gap_ns = t - k->last_rx_ns;
                    k->max_gap_end_ns = t;
                }
                k->last_rx_ns = t;
            } else if (m == 0) {
                peer_closed(r, k, 0);
            } else if (errno != EAGAIN) {
                peer_closed(r, k, errno);
            }
        }
    }
    uint64_t t = now_ns(), *gaps = calloc(r->c.conns + 1, sizeof(uint64_t));
    uint32_t alive = 0, rst = 0, fin = 0, err = 0;
    uint64_t worst = 0, worst_end = 0;
    for (uint32_t i = 0; i < r->c.conns; i++) {
        struct conn *k = &r->cs[i];
        if (k->st == C_UP) {
            uint64_t g = k->max_gap_ns, ge = k->max_gap_end_ns;
            if (t - k->last_rx_ns > g) {
                g = t - k->last_rx_ns;
                ge = t;
            }
            if (g > worst) {
                worst = g;
                worst_end = ge;
            }
            gaps[alive++] = g;
        } else if (k->last_err == 0 && k->st == C_FIN) {
            fin++;
        } else if (k->st == C_RST) {
            rst++;
        } else if (k->st != C_TIMEOUT || k->fd >= 0) {
            err++;
        }
    }
    /* a record still unanswered at the end (alive connections only) waited
     * at least until now */
    for (uint32_t i = 0; i < r->c.conns; i++) {
        struct conn *k = &r->cs[i];
        if (k->st == C_UP && k->ph != k->pt && t - k->pend[k->ph % PEND].t > max_wait)
            max_wait = t - k->pend[k->ph % PEND].t;
    }
    uint64_t p99_wait = 0, below = 0;
    for (uint32_t b = 0; b < WAIT_BUCKETS && waited; b++) {
        below += wh[b];
        if (below * 100 >= waited * 99) {
            p99_wait = (uint64_t)(b + 1) * 100000u; /* the bucket's upper edge */
            break;
        }
    }
    qsort(gaps, alive, sizeof(uint64_t), cmp_u64);
    double mx = alive ? (double)gaps[alive - 1] / 1e6 : 0;
    double p99 =
        alive ? (double)gaps[(alive * 99) / 100 < alive ? (alive * 99) / 100 : alive - 1] / 1e6 : 0;
    printf("stream conns=%u established=%u alive=%u reset=%u eof=%u errors=%u mismatch=%llu "
           "sent=%llu echoed=%llu max_gap_ms=%.1f p99_gap_ms=%.1f max_gap_end_s=%.3f "
           "records=%llu max_wait_ms=%.1f p99_wait_ms=%.1f untimed=%llu max_late_ms=%.1f\n",
           r->c.conns, r->established, alive, rst, fin, err, (unsigned long long)mism,
           (unsigned long long)sent, (unsigned long long)echoed, mx, p99,
           worst_end > t_start ? (double)(worst_end - t_start) / 1e9 : 0.0,
           (unsigned long long)waited, (double)max_wait / 1e6, (double)p99_wait / 1e6,
           (unsigned long long)untimed, (double)late / 1e6);
    free(gaps);
    free(wh);
}

static void run_hold(struct run *r)
{
    struct epoll_event evs[256];
    uint8_t buf[4096];
    uint32_t open = 0, rst = 0, fin = 0;
    for (uint32_t i = 0; i < r->c.conns; i++)
        open += r->cs[i].st == C_UP;
    uint64_t t0 = now_ns(), last = 0, first = 0, gone = 0;
    int pfd = -1;
    if (r->c.kill_pid) {
        /* when the process is really gone (its fds closed: what the stack sees) */
        pfd = (int)syscall(SYS_pidfd_open, (pid_t)r->c.kill_pid, 0);
        if (pfd >= 0) {
            struct epoll_event ev = {.events = EPOLLIN, .data.u32 = UINT32_MAX};
            if (epoll_ctl(r->ep, EPOLL_CTL_ADD, pfd, &ev) < 0) {
                close(pfd);
                pfd = -1;
            }
        }
        if (kill((pid_t)r->c.kill_pid, SIGKILL) < 0) {
            fprintf(stderr, "%s: kill %llu: %s\n", PROG, (unsigned long long)r->c.kill_pid,
                    strerror(errno));
            exit(1);
        }
        t0 = now_ns();
    }
    uint64_t t_end = t0 + (uint64_t)(r->c.seconds * 1e9);
    while (now_ns() < t_end && (open || !r->c.kill_pid)) {
        int n = epoll_wait(r->ep, evs, 256, 5);
        for (int j = 0; j < n; j++) {
            uint32_t i = evs[j].data.u32;
            if (i == UINT32_MAX) { /* the pidfd: the killed process has exited */
                if (!gone) gone = now_ns();
                epoll_ctl(r->ep, EPOLL_CTL_DEL, pfd, NULL);
                continue;
            }
            struct conn *k = &r->cs[i];
            if (k->st != C_UP) continue;
            ssize_t m = recv(k->fd, buf, sizeof(buf), MSG_DONTWAIT);
            if (m > 0 || (m < 0 && errno == EAGAIN)) continue;
            int e = m == 0 ? 0 : errno;
            peer_closed(r, k, e);
            if (e == 0)
                fin++;
            else
                rst++;
            open--;
            last = now_ns();
            if (!first) first = last;
        }
    }
    if (pfd >= 0) close(pfd);
    if (r->c.kill_pid)
        printf("closed rst=%u fin=%u open=%u last_ms=%.1f first_ms=%.1f exit_ms=%.1f\n", rst, fin,
               open, last ? (double)(last - t0) / 1e6 : 0.0,
               first ? (double)(first - t0) / 1e6 : 0.0, gone ? (double)(gone - t0) / 1e6 : -1.0);
    else
        printf("closed rst=%u fin=%u open=%u\n", rst, fin, open);
}

/* One attempt: connect, a byte echoed, close. 0 or errno. */
static int churn_one(const struct cfg *c, uint32_t n)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return errno;
    uint64_t deadline = now_ns() + (uint64_t)(c->connect_timeout * 1e9);
    int e = 0, ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLOUT}, out;
    if (c->nsrc) {
        struct sockaddr_in sa = {.sin_family = AF_INET};
        sa.sin_addr.s_addr = htonl(c->src[n % c->nsrc]);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) e = errno;
    }
    if (!e && connect(fd, (struct sockaddr *)&c->dst, sizeof(c->dst)) < 0 && errno != EINPROGRESS)
        e = errno;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    uint8_t b = (uint8_t)n, r;
    int stage = 0; /* 0 connecting, 1 waiting for the echo */
    while (!e) {
        uint64_t t = now_ns();
        if (t >= deadline) {
            e = ETIMEDOUT;
            break;
        }
        int k = epoll_wait(ep, &out, 1, (int)((deadline - t) / 1000000 + 1));
        if (k <= 0) continue;
        if (stage == 0) {
            socklen_t el = sizeof(e);
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
            if (e) break;
            if (write(fd, &b, 1) != 1) {
                e = errno;
                break;
            }
            ev.events = EPOLLIN;
            epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
            stage = 1;
        } else {
            ssize_t m = read(fd, &r, 1);
            if (m == 1) break;
            if (m == 0 || (m < 0 && errno != EAGAIN)) e = m == 0 ? ECONNRESET : errno;
        }
    }
    if (!e && r != b) e = EPROTO;
    close(ep);
    close(fd);
    return e;
}

static void run_churn(const struct cfg *c)
{
    uint64_t t0 = now_ns(), end = t0 + (uint64_t)(c->seconds * 1e9);
    uint32_t cap = 1u << 20, a = 0, okn = 0, first_err = 0;
    uint64_t *lat = calloc(cap, sizeof(uint64_t));
    while (now_ns() < end && a < cap) {
        uint64_t t = now_ns();
        int e = churn_one(c, a);
        a++;
        if (!e)
            lat[okn++] = now_ns() - t;
        else if (!first_err)
            first_err = (uint32_t)e;
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    qsort(lat, okn, sizeof(uint64_t), cmp_u64);
    printf("churn attempts=%u ok=%u failed=%u rate=%.1f p50_ms=%.2f p99_ms=%.2f first_error=%s\n",
           a, okn, a - okn, (double)okn / secs, okn ? (double)lat[okn / 2] / 1e6 : 0.0,
           okn ? (double)lat[(okn * 99) / 100 < okn ? (okn * 99) / 100 : okn - 1] / 1e6 : 0.0,
           errname((int)first_err));
    free(lat);
}

int main(int argc, char **argv)
{
    struct run r;
    memset(&r, 0, sizeof(r));
    struct cfg *c = &r.c;
    const char *src = NULL;
    c->conns = 8;
    c->inflight = 256;
    c->size = 32;
    c->interval_us = 1000;
    c->seconds = 5;
    c->connect_timeout = 20;
    const struct axl_opt opts[] = {
        {"conns", 'n', AXL_OPT_U32, "N", "connections (default 8)", &c->conns, 1, 1000000},
        {"inflight", 0, AXL_OPT_U32, "N", "connects pending at once (default 256)", &c->inflight, 1,
         65536},
        {"src", 0, AXL_OPT_STR, "A,B,..", "source addresses, used in turn (default: the route's)",
         &src},
        {"size", 0, AXL_OPT_U32, "B", "stream: bytes per record (default 32)", &c->size, 1, RECBUF},
        {"interval-us", 0, AXL_OPT_U32, "U",
         "stream: one record per connection every U us "
         "(default 1000)",
         &c->interval_us, 50, 10000000},
        {"seconds", 0, AXL_OPT_DOUBLE, "S", "stream: run time; hold: hold / wait time (default 5)",
         &c->seconds, 0, 3600},
        {"connect-timeout", 0, AXL_OPT_DOUBLE, "S", "the connect phase ends after S (default 20)",
         &c->connect_timeout, 0.1, 3600},
        {"gap-log", 0, AXL_OPT_DOUBLE, "MS",
         "stream: write every gap >= MS ms to stderr as it "
         "ends (conn, length, CLOCK_REALTIME end)",
         &c->gap_log_ms, 0, 1e6},
        {"echo", 0, AXL_OPT_FLAG, NULL, "hold: check one echoed byte per connection", &c->echo},
        {"kill", 0, AXL_OPT_U64, "PID", "hold: SIGKILL PID once ready and time the closes",
         &c->kill_pid, 1, 4194304},
        {0},
    };
    int first = axl_opts_parse(argc, argv, PROG, "[options] stream|hold|churn IP PORT",
                               "Kernel-side TCP client of the reliability tests.", opts);
    if (first < 0) return 2;
    if (argc - first != 3 || (strcmp(argv[first], "stream") && strcmp(argv[first], "hold") &&
                              strcmp(argv[first], "churn"))) {
        fprintf(stderr, "%s: expected stream|hold|churn IP PORT (--help)\n", PROG);
        return 2;
    }
    int stream = !strcmp(argv[first], "stream");
    uint32_t ip;
    uint64_t port;
    if (axl_parse_ipv4(argv[first + 1], &ip) < 0) {
        fprintf(stderr, "%s: '%s' is not an IPv4 address\n", PROG, argv[first + 1]);
        return 2;
    }
    if (axl_parse_u64(argv[first + 2], &port) < 0 || port < 1 || port > 65535) {
        fprintf(stderr, "%s: '%s' is not a port 1..65535\n", PROG, argv[first + 2]);
        return 2;
    }
    if (src) {
        char tmp[512];
        snprintf(tmp, sizeof(tmp), "%s", src);
        for (char *save = NULL, *t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            if (c->nsrc == MAXSRC || axl_parse_ipv4(t, &c->src[c->nsrc]) < 0) {
                fprintf(stderr, "%s: bad --src list '%s' (at most %d IPv4 addresses)\n", PROG, src,
                        MAXSRC);
                return 2;
            }
            c->nsrc++;
        }
    }
    c->dst.sin_family = AF_INET;
    c->dst.sin_addr.s_addr = htonl(ip);
    c->dst.sin_port = htons((uint16_t)port);
    /* fds: one per connection plus a few; never above the hard limit */
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < (rlim_t)c->conns + 64) {
        rl.rlim_cur = rl.rlim_max < (rlim_t)c->conns + 64 ? rl.rlim_max : (rlim_t)c->conns + 64;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGPIPE, SIG_IGN);
    if (!strcmp(argv[first], "churn")) {
        run_churn(c);
        return 0;
    }
    r.cs = calloc(c->conns, sizeof(*r.cs));
    r.ep = epoll_create1(EPOLL_CLOEXEC);
    if (!r.cs || r.ep < 0) {
        fprintf(stderr, "%s: out of memory / epoll: %s\n", PROG, strerror(errno));
        return 1;
    }
    for (uint32_t i = 0; i < c->conns; i++)
        r.cs[i].fd = -1;
    uint64_t t0 = now_ns();
    open_conns(&r);
    if (!stream) {
        printf("hold conns=%u established=%u refused=%u reset=%u timeout=%u other=%u "
               "first_error=%s connect_s=%.2f\n",
               c->conns, r.established, r.refused, r.reset, r.timeout, r.other,
               errname(r.first_err), (double)(now_ns() - t0) / 1e9);
        printf("ready\n");
        fflush(stdout);
        run_hold(&r);
    } else {
        run_stream(&r);
    }
    fflush(stdout);
    for (uint32_t i = 0; i < c->conns; i++)
        if (r.cs[i].fd >= 0) close(r.cs[i].fd);
    free(r.cs);
    close(r.ep);
    return 0;
}
