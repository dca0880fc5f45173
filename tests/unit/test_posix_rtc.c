/* SPDX-License-Identifier: MIT */
/*
 * test_posix_rtc.c - the POSIX layer (axl/socket.h) in run-to-completion
 * mode: this thread uses axp_* on context A; a peer thread runs context B
 * with the native API (axl/axl.h); the two engines are joined by a shm port
 * pair. The peer serves:
 *   TCP 7 echo, TCP 13 "hello\n" then orderly close, TCP 9 accept then
 *   reset, TCP 19 accept and never read, UDP 7 echo, UDP 8 answers from
 *   port 8 and from port 10; on request it connects to A (sends "hi",
 *   then echoes).
 * Checks every call and errno of docs/API.md "POSIX layer": socket
 * errors, bind/listen/accept4/connect, blocking and non-blocking I/O,
 * EINPROGRESS/EALREADY/EISCONN/ECONNREFUSED/ECONNRESET/EPIPE+SIGPIPE/
 * ENOTCONN/EADDRINUSE/EBADF/EINVAL, EOF, MSG_PEEK/WAITALL/DONTWAIT/TRUNC,
 * options, poll/select (with a kernel pipe in the set), epoll LT/ET/
 * ONESHOT/RDHUP and its ctl errors and timeouts, UDP with and without
 * connect.
 *
 * A: 198.18.7.1/24 (POSIX layer), B: 198.18.7.2/24 (peer).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "axl/axl.h"
#include "axl/socket.h"
#include "core/log.h"

#define IP_B "198.18.7.2"

static struct axl_ctx *CA, *CB;
static char wire[128], tmpdir[64];
static pthread_t peer_th;
static atomic_int peer_stop;
static atomic_int peer_cmd_port, peer_cmd_count; /* connect requests */
static volatile sig_atomic_t sigpipes;

/* ---- the peer (native API, its own thread and context) ----------------------------- */

enum role { R_ECHO = 1, R_HELLO, R_RESET, R_SINK, R_UECHO, R_U8, R_U10, R_OUT };

static void peer_echo(axl_sock_t s)
{
    char buf[4096];
    for (;;) {
        int n = axl_recv(CB, s, buf, sizeof(buf));
        if (n == 0) {
            axl_close(CB, s);
            return;
        }
        if (n < 0) return;
        int off = 0;
        while (off < n) {
            int w = axl_send(CB, s, buf + off, (uint32_t)(n - off));
            if (w <= 0) return; /* tests send little: room is there */
            off += w;
        }
    }
}

static void *peer_main(void *arg)
{
    (void)arg;
    axl_sock_t l[4], u7, u8, u10;
    static const uint16_t ports[4] = { 7, 13, 9, 19 };
    static const uintptr_t roles[4] = { R_ECHO, R_HELLO, R_RESET, R_SINK };
    for (int i = 0; i < 4; i++) {
        if (axl_socket(CB, AXL_TCP, &l[i]) || axl_bind(CB, l[i], 0, ports[i]) ||
            axl_listen(CB, l[i], 64))
            abort();
        axl_set_user(CB, l[i], (void *)roles[i]);
    }
    if (axl_socket(CB, AXL_UDP, &u7) || axl_bind(CB, u7, 0, 7) || axl_socket(CB, AXL_UDP, &u8) ||
        axl_bind(CB, u8, 0, 8) || axl_socket(CB, AXL_UDP, &u10) || axl_bind(CB, u10, 0, 10))
        abort();
    axl_set_user(CB, u7, (void *)(uintptr_t)R_UECHO);
    axl_set_user(CB, u8, (void *)(uintptr_t)R_U8);
    struct axl_event ev[64];
    while (!atomic_load(&peer_stop)) {
        int c = atomic_exchange(&peer_cmd_count, 0);
        for (int i = 0; i < c; i++) {
            axl_sock_t s;
            if (axl_socket(CB, AXL_TCP, &s) == 0) {
                axl_set_user(CB, s, (void *)(uintptr_t)R_OUT);
                axl_connect(CB, s, ntohl(inet_addr("198.18.7.1")),
                            (uint16_t)atomic_load(&peer_cmd_port));
            }
        }
        int n = axl_poll(CB, ev, 64, 2000000);
        for (int i = 0; i < n; i++) {
            uintptr_t role = (uintptr_t)ev[i].user;
            axl_sock_t s = ev[i].sock;
            switch (ev[i].type) {
            case AXL_EV_NEW_CONN: {
                axl_sock_t c2;
                while (axl_accept(CB, s, &c2) == 0) {
                    axl_set_user(CB, c2, (void *)role);
                    /* bytes that came with the handshake are not always
                     * announced by NEW_DATA after the accept: look now */
                    if (role == R_ECHO) peer_echo(c2);
                    if (role == R_HELLO) {
                        axl_send(CB, c2, "hello\n", 6);
                        axl_close(CB, c2);
                    } else if (role == R_RESET) {
                        axl_abort(CB, c2);
                    }
                }
                break;
            }
            case AXL_EV_CONNECTED:
                if (ev[i].status == 0)
                    axl_send(CB, s, "hi", 2);
                else
                    axl_close(CB, s);
                break;
            case AXL_EV_NEW_DATA:
                if (role == R_ECHO || role == R_OUT) peer_echo(s);
                if (role == R_UECHO || role == R_U8) {
                    char b[70000];
                    uint32_t a;
                    uint16_t p;
                    int k;
                    while ((k = axl_recvfrom(CB, s, b, sizeof(b), &a, &p)) >= 0) {
                        if (role == R_U8) axl_sendto(CB, u10, "from10", 6, a, p);
                        axl_sendto(CB, s, b, (uint32_t)k, a, p);
                    }
                }
                break;
            case AXL_EV_REMOTE_CLOSED:
                if (role == R_ECHO || role == R_OUT) peer_echo(s);
                if (role == R_ECHO || role == R_OUT || role == R_SINK) axl_close(CB, s);
                break;
            case AXL_EV_CLEANUP:
                axl_close(CB, s); /* -EBADF if closed already: harmless */
                break;
            default:
                break;
            }
        }
    }
    return NULL;
}

/* ---- fixture -------------------------------------------------------------------------- */

struct opener {
    struct axl_config cfg;
    char err[256];
    int rc;
    struct axl_ctx *c;
    atomic_int done;
};

static void *open_b(void *arg)
{
    struct opener *o = arg;
    o->rc = axl_open(&o->c, &o->cfg, o->err, sizeof(o->err));
    atomic_store(&o->done, 1);
    return NULL;
}

static void on_sigpipe(int sig)
{
    (void)sig;
    sigpipes++;
}

static int group_setup(void **state)
{
    (void)state;
    static char pa[200], pb[200];
    axl_log_set_level(AXL_LOG_ERR);
    signal(SIGPIPE, on_sigpipe);
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/axp-rtc-XXXXXX");
    if (!mkdtemp(tmpdir)) return -1;
    snprintf(wire, sizeof(wire), "%s/wire", tmpdir);
    snprintf(pa, sizeof(pa), "shm:%s,role=a,seed=1", wire);
    snprintf(pb, sizeof(pb), "shm:%s,role=b,seed=2,wait=10000", wire);
    struct axl_config ca = { .port = pa, .addr = "198.18.7.1/24", .seed = 11 };
    char err[256];
    if (axl_open(&CA, &ca, err, sizeof(err)) < 0) {
        fprintf(stderr, "open A: %s\n", err);
        return -1;
    }
    static struct opener o;
    o.cfg = (struct axl_config){ .port = pb, .addr = "198.18.7.2/24", .seed = 22 };
    pthread_t th;
    if (pthread_create(&th, NULL, open_b, &o) != 0) return -1;
    struct axl_event ev[8];
    while (!atomic_load(&o.done)) (void)axl_poll(CA, ev, 8, 1000000);
    pthread_join(th, NULL);
    if (o.rc < 0) {
        fprintf(stderr, "open B: %s\n", o.err);
        return -1;
    }
    CB = o.c;
    if (pthread_create(&peer_th, NULL, peer_main, NULL) != 0) return -1;
    if (axp_init_ctx(CA) < 0) return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    axp_exit();
    atomic_store(&peer_stop, 1);
    pthread_join(peer_th, NULL);
    axl_close_ctx(CB);
    axl_close_ctx(CA);
    unlink(wire);
    rmdir(tmpdir);
    return 0;
}

/* ---- helpers --------------------------------------------------------------------------- */

static struct sockaddr_in sin_of(const char *ip, uint16_t port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = inet_addr(ip);
    a.sin_port = htons(port);
    return a;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A blocking TCP connection to the peer's port. */
static int tcp_to(uint16_t port)
{
    int fd = axp_socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = sin_of(IP_B, port);
    assert_int_equal(axp_connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

/* Wait (poll, bounded) for events on fd. */
static short wait_for(int fd, short events, int ms)
{
    struct pollfd p = { fd, events, 0 };
    int r = axp_poll(&p, 1, ms);
    assert_true(r >= 0);
    return r ? p.revents : 0;
}

#define ERRNO_IS(call, e)                                                                          \
    do {                                                                                           \
        errno = 0;                                                                                 \
        assert_int_equal((long)(call), -1);                                                        \
        assert_int_equal(errno, (e));                                                              \
    } while (0)

/* ---- tests ---------------------------------------------------------------------------- */

static void test_socket_errors(void **state)
{
    (void)state;
    ERRNO_IS(axp_socket(AF_INET, SOCK_STREAM, IPPROTO_UDP), EPROTONOSUPPORT);
    int fd = axp_socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_true(axp_is_ours(fd));
    /* a reserved kernel number: the kernel knows it, but cannot use it */
    assert_true(fcntl(fd, F_GETFD) >= 0);
    char c;
    ERRNO_IS(read(fd, &c, 1), EBADF);
    assert_int_equal(axp_fcntl(fd, F_GETFD), FD_CLOEXEC);
    int v;
    socklen_t vl = sizeof(v);
    assert_int_equal(axp_getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &vl), 0);
    assert_int_equal(v, SOCK_STREAM);
    vl = sizeof(v);
    assert_int_equal(axp_getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &vl), 0);
    assert_int_equal(v, 65536);
    vl = 1;
    ERRNO_IS(axp_getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &vl), EINVAL);
    vl = sizeof(v);
    ERRNO_IS(axp_getsockopt(fd, SOL_SOCKET, 9999, &v, &vl), ENOPROTOOPT);
    struct sockaddr_in a = sin_of(IP_B, 7);
    socklen_t al = sizeof(a);
    ERRNO_IS(axp_getpeername(fd, (struct sockaddr *)&a, &al), ENOTCONN);
    ERRNO_IS(axp_recv(fd, &c, 1, 0), ENOTCONN);
    int before = sigpipes;
    ERRNO_IS(axp_send(fd, "x", 1, MSG_NOSIGNAL), EPIPE);
    assert_int_equal(sigpipes, before);
    ERRNO_IS(axp_send(fd, "x", 1, 0), EPIPE);
    assert_int_equal(sigpipes, before + 1); /* SIGPIPE without MSG_NOSIGNAL */
    ERRNO_IS(axp_shutdown(fd, SHUT_WR), ENOTCONN);
    ERRNO_IS(axp_shutdown(fd, 7), EINVAL);
    struct sockaddr_in lo;
    ERRNO_IS(axp_accept(fd, NULL, NULL), EINVAL);
    struct sockaddr_in6 s6;
    memset(&s6, 0, sizeof(s6));
    s6.sin6_family = AF_INET6;
    ERRNO_IS(axp_bind(fd, (struct sockaddr *)&s6, sizeof(s6)), EAFNOSUPPORT);
    lo = sin_of("198.18.7.1", 4000);
    ERRNO_IS(axp_bind(fd, (struct sockaddr *)&lo, 4), EINVAL);
    struct sockaddr_in other = sin_of("198.18.7.99", 4000);
    ERRNO_IS(axp_bind(fd, (struct sockaddr *)&other, sizeof(other)), EADDRNOTAVAIL);
    assert_int_equal(axp_bind(fd, (struct sockaddr *)&lo, sizeof(lo)), 0);
    ERRNO_IS(axp_bind(fd, (struct sockaddr *)&lo, sizeof(lo)), EINVAL);
    al = sizeof(a);
    assert_int_equal(axp_getsockname(fd, (struct sockaddr *)&a, &al), 0);
    assert_int_equal(ntohs(a.sin_port), 4000);
    /* the port is taken by fd (EADDRINUSE at bind, as Linux) */
    int fd2 = axp_socket(AF_INET, SOCK_STREAM, 0);
    ERRNO_IS(axp_bind(fd2, (struct sockaddr *)&lo, sizeof(lo)), EADDRINUSE);
    assert_int_equal(axp_close(fd2), 0);
    int u = axp_socket(AF_INET, SOCK_DGRAM, 0);
    ERRNO_IS(axp_listen(u, 1), EOPNOTSUPP);
    ERRNO_IS(axp_accept(u, NULL, NULL), EOPNOTSUPP);
    ERRNO_IS(axp_send(u, "x", 1, 0), EDESTADDRREQ);
    static char big[70000];
    struct sockaddr_in b = sin_of(IP_B, 7);
    ERRNO_IS(axp_sendto(u, big, sizeof(big), 0, (struct sockaddr *)&b, sizeof(b)), EMSGSIZE);
    assert_int_equal(axp_close(u), 0);
    assert_int_equal(axp_close(fd), 0);
    ERRNO_IS(axp_close(fd), EBADF);
    ERRNO_IS(axp_recv(fd, &c, 1, 0), EBADF);
    ERRNO_IS(axp_recv(-1, &c, 1, 0), EBADF);
    /* kernel descriptors go to the kernel */
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(axp_write(p[1], "k", 1), 1);
    assert_int_equal(axp_read(p[0], &c, 1), 1);
    assert_int_equal(c, 'k');
    assert_int_equal(axp_close(p[0]), 0);
    assert_int_equal(axp_close(p[1]), 0);
    ERRNO_IS(axp_socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP), EPROTONOSUPPORT);
}

static void test_tcp_echo_blocking(void **state)
{
    (void)state;
    int fd = tcp_to(7);
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    assert_int_equal(axp_getpeername(fd, (struct sockaddr *)&a, &al), 0);
    assert_int_equal(a.sin_addr.s_addr, inet_addr(IP_B));
    assert_int_equal(ntohs(a.sin_port), 7);
    al = sizeof(a);
    assert_int_equal(axp_getsockname(fd, (struct sockaddr *)&a, &al), 0);
    assert_int_equal(a.sin_addr.s_addr, inet_addr("198.18.7.1"));
    assert_true(ntohs(a.sin_port) != 0);
    int one = 1, v = 0;
    socklen_t vl = sizeof(v);
    assert_int_equal(axp_setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
    assert_int_equal(axp_getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &vl), 0);
    assert_int_equal(v, 1);
    assert_int_equal(axp_setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)), 0);
    vl = sizeof(v);
    assert_int_equal(axp_getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, &vl), 0);
    assert_int_equal(v, 1);
    /* write/read, byte-exact */
    char out[3000], in[3000];
    for (size_t i = 0; i < sizeof(out); i++) out[i] = (char)(i * 7 + 1);
    assert_int_equal(axp_write(fd, out, sizeof(out)), sizeof(out));
    assert_int_equal(axp_recv(fd, in, sizeof(in), MSG_WAITALL), sizeof(in));
    assert_memory_equal(in, out, sizeof(out));
    /* writev / MSG_PEEK / readv */
    struct iovec wv[3] = { { "ab", 2 }, { "cde", 3 }, { "f", 1 } };
    assert_int_equal(axp_writev(fd, wv, 3), 6);
    assert_true(wait_for(fd, POLLIN, 5000) & POLLIN);
    char pk[16] = { 0 };
    /* wait until all 6 are there, peeking */
    for (int i = 0; i < 500 && axp_recv(fd, pk, sizeof(pk), MSG_PEEK) < 6; i++) usleep(2000), axp_poll(NULL, 0, 1);
    assert_int_equal(axp_recv(fd, pk, sizeof(pk), MSG_PEEK), 6);
    assert_memory_equal(pk, "abcdef", 6);
    int nr = 0;
    assert_int_equal(axp_ioctl(fd, FIONREAD, &nr), 0);
    assert_int_equal(nr, 6);
    char r1[4], r2[4];
    struct iovec rv[2] = { { r1, 4 }, { r2, 4 } };
    assert_int_equal(axp_readv(fd, rv, 2), 6);
    assert_memory_equal(r1, "abcd", 4);
    assert_memory_equal(r2, "ef", 2);
    /* MSG_DONTWAIT on a blocking socket */
    ERRNO_IS(axp_recv(fd, in, 1, MSG_DONTWAIT), EAGAIN);
    /* sendmsg/recvmsg */
    struct msghdr m;
    memset(&m, 0, sizeof(m));
    struct iovec sv = { "xyz", 3 };
    m.msg_iov = &sv;
    m.msg_iovlen = 1;
    assert_int_equal(axp_sendmsg(fd, &m, 0), 3);
    char rb[8];
    struct iovec rvv = { rb, sizeof(rb) };
    memset(&m, 0, sizeof(m));
    m.msg_iov = &rvv;
    m.msg_iovlen = 1;
    assert_int_equal(axp_recvmsg(fd, &m, 0), 3);
    assert_memory_equal(rb, "xyz", 3);
    /* half-close: the peer echoes then closes; we read EOF; POLLRDHUP */
    assert_int_equal(axp_write(fd, "end", 3), 3);
    assert_int_equal(axp_shutdown(fd, SHUT_WR), 0);
    assert_int_equal(axp_recv(fd, rb, 3, MSG_WAITALL), 3);
    assert_memory_equal(rb, "end", 3);
    assert_int_equal(axp_read(fd, rb, sizeof(rb)), 0);
    short re = wait_for(fd, POLLIN | POLLRDHUP | POLLOUT, 1000);
    assert_true(re & POLLRDHUP);
    assert_true(re & POLLIN);
    assert_true(re & POLLHUP); /* both directions shut */
    int before = sigpipes;
    ERRNO_IS(axp_write(fd, "x", 1), EPIPE);
    assert_int_equal(sigpipes, before + 1);
    ERRNO_IS(axp_send(fd, "x", 1, MSG_NOSIGNAL), EPIPE);
    assert_int_equal(sigpipes, before + 1);
    assert_int_equal(axp_close(fd), 0);
}

static void test_nonblock_connect(void **state)
{
    (void)state;
    int fd = axp_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_int_equal(axp_fcntl(fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
    struct sockaddr_in a = sin_of(IP_B, 7);
    ERRNO_IS(axp_connect(fd, (struct sockaddr *)&a, sizeof(a)), EINPROGRESS);
    ERRNO_IS(axp_connect(fd, (struct sockaddr *)&a, sizeof(a)), EALREADY);
    char c;
    ERRNO_IS(axp_send(fd, "x", 1, 0), EAGAIN); /* still connecting */
    assert_true(wait_for(fd, POLLOUT, 5000) & POLLOUT);
    int err = -1;
    socklen_t el = sizeof(err);
    assert_int_equal(axp_getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el), 0);
    assert_int_equal(err, 0);
    ERRNO_IS(axp_connect(fd, (struct sockaddr *)&a, sizeof(a)), EISCONN);
    ERRNO_IS(axp_recv(fd, &c, 1, 0), EAGAIN);
    ERRNO_IS(axp_read(fd, &c, 1), EAGAIN);
    /* switch to blocking with fcntl, and back with FIONBIO */
    assert_int_equal(axp_fcntl(fd, F_SETFL, 0), 0);
    assert_int_equal(axp_fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    assert_int_equal(axp_send(fd, "q", 1, 0), 1);
    assert_int_equal(axp_recv(fd, &c, 1, 0), 1);
    assert_int_equal(c, 'q');
    int on = 1;
    assert_int_equal(axp_ioctl(fd, FIONBIO, &on), 0);
    ERRNO_IS(axp_recv(fd, &c, 1, 0), EAGAIN);
    assert_int_equal(axp_close(fd), 0);
}

static void test_refused(void **state)
{
    (void)state;
    struct sockaddr_in a = sin_of(IP_B, 4444); /* nobody listens */
    int fd = axp_socket(AF_INET, SOCK_STREAM, 0);
    ERRNO_IS(axp_connect(fd, (struct sockaddr *)&a, sizeof(a)), ECONNREFUSED);
    assert_int_equal(axp_close(fd), 0);
    fd = axp_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ERRNO_IS(axp_connect(fd, (struct sockaddr *)&a, sizeof(a)), EINPROGRESS);
    short re = wait_for(fd, POLLOUT, 5000);
    assert_true(re & POLLOUT);
    assert_true(re & POLLERR);
    int err = 0;
    socklen_t el = sizeof(err);
    assert_int_equal(axp_getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el), 0);
    assert_int_equal(err, ECONNREFUSED);
    assert_int_equal(axp_getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el), 0);
    assert_int_equal(err, 0); /* read and cleared */
    /* the socket may connect again (Linux: TCP_CLOSE) */
    struct sockaddr_in e = sin_of(IP_B, 7);
    int r = axp_connect(fd, (struct sockaddr *)&e, sizeof(e));
    assert_true(r == 0 || errno == EINPROGRESS);
    assert_true(wait_for(fd, POLLOUT, 5000) & POLLOUT);
    assert_int_equal(axp_send(fd, "z", 1, 0), 1);
    assert_int_equal(axp_close(fd), 0);
}

static void test_reset_and_eof(void **state)
{
    (void)state;
    /* the peer resets at once */
    int fd = tcp_to(9);
    short re = wait_for(fd, POLLIN, 5000);
    assert_true(re & POLLERR);
    assert_true(re & POLLHUP);
    char b[16];
    ERRNO_IS(axp_recv(fd, b, sizeof(b), 0), ECONNRESET);
    assert_int_equal(axp_recv(fd, b, sizeof(b), 0), 0); /* then EOF */
    ERRNO_IS(axp_send(fd, "x", 1, MSG_NOSIGNAL), EPIPE);
    assert_int_equal(axp_close(fd), 0);
    /* the peer sends and closes: data, then EOF; epoll says EPOLLRDHUP */
    fd = tcp_to(13);
    int ep = axp_epoll_create1(EPOLL_CLOEXEC);
    assert_true(ep >= 0);
    struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.u64 = 77 };
    assert_int_equal(axp_epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
    struct epoll_event out[4];
    int64_t t0 = now_ms();
    int got = 0;
    while (now_ms() - t0 < 5000) {
        int n = axp_epoll_wait(ep, out, 4, 100);
        assert_true(n >= 0);
        if (n && (out[0].events & EPOLLRDHUP)) {
            got = 1;
            break;
        }
    }
    assert_true(got);
    assert_int_equal(out[0].data.u64, 77);
    assert_int_equal(axp_recv(fd, b, sizeof(b), 0), 6);
    assert_memory_equal(b, "hello\n", 6);
    assert_int_equal(axp_recv(fd, b, sizeof(b), 0), 0);
    assert_int_equal(axp_close(ep), 0);
    assert_int_equal(axp_close(fd), 0);
}

static void test_send_full(void **state)
{
    (void)state;
    int fd = tcp_to(19); /* the peer never reads */
    int on = 1;
    assert_int_equal(axp_ioctl(fd, FIONBIO, &on), 0);
    static char buf[16384];
    size_t total = 0;
    int64_t t0 = now_ms();
    for (;;) {
        ssize_t w = axp_send(fd, buf, sizeof(buf), 0);
        if (w < 0) {
            assert_int_equal(errno, EAGAIN);
            /* give the window time to close, then make sure it stays full */
            if (!(wait_for(fd, POLLOUT, 1000) & POLLOUT)) break; /* full for 1 s: the peer window is shut */
            continue;
        }
        total += (size_t)w;
        assert_true(now_ms() - t0 < 10000);
    }
    assert_true(total >= 65536); /* our send buffer at least */
    assert_false(wait_for(fd, POLLOUT, 50) & POLLOUT);
    /* SO_SNDTIMEO bounds a blocking send */
    int off = 0;
    assert_int_equal(axp_ioctl(fd, FIONBIO, &off), 0);
    struct timeval tv = { 0, 100000 };
    assert_int_equal(axp_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
    int64_t t1 = now_ms();
    errno = 0;
    ssize_t w = axp_send(fd, buf, sizeof(buf), 0);
    /* EAGAIN, or the few bytes that came free meanwhile (Linux: partial count) */
    assert_true((w == -1 && errno == EAGAIN) || (w > 0 && w < (ssize_t)sizeof(buf)));
    assert_true(now_ms() - t1 >= 90);
    assert_int_equal(axp_close(fd), 0);
}

static void test_listen_accept(void **state)
{
    (void)state;
    int l = axp_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    assert_int_equal(axp_setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
    struct sockaddr_in a = sin_of("0.0.0.0", 5000);
    assert_int_equal(axp_bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(axp_listen(l, 4), 0);
    int v = 0;
    socklen_t vl = sizeof(v);
    assert_int_equal(axp_getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl), 0);
    assert_int_equal(v, 1);
    ERRNO_IS(axp_accept(l, NULL, NULL), EAGAIN);
    ERRNO_IS(axp_accept4(l, NULL, NULL, 0x1234), EINVAL);
    char b[8];
    ERRNO_IS(axp_recv(l, b, 1, 0), ENOTCONN);
    ERRNO_IS(axp_connect(l, (struct sockaddr *)&a, sizeof(a)), EISCONN);
    atomic_store(&peer_cmd_port, 5000);
    atomic_store(&peer_cmd_count, 3);
    assert_true(wait_for(l, POLLIN, 5000) & POLLIN);
    int c[3];
    for (int i = 0; i < 3; i++) {
        struct sockaddr_in pa;
        socklen_t pl = sizeof(pa);
        int64_t t0 = now_ms();
        while ((c[i] = axp_accept4(l, (struct sockaddr *)&pa, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0) {
            assert_int_equal(errno, EAGAIN);
            assert_true(now_ms() - t0 < 5000);
            wait_for(l, POLLIN, 100);
        }
        assert_int_equal(pl, sizeof(pa));
        assert_int_equal(pa.sin_addr.s_addr, inet_addr(IP_B));
        assert_int_equal(axp_fcntl(c[i], F_GETFL) & O_NONBLOCK, O_NONBLOCK);
        assert_int_equal(axp_fcntl(c[i], F_GETFD), FD_CLOEXEC);
    }
    /* each got "hi" from the peer and echoes */
    for (int i = 0; i < 3; i++) {
        assert_true(wait_for(c[i], POLLIN, 5000) & POLLIN);
        assert_int_equal(axp_recv(c[i], b, sizeof(b), 0), 2);
        assert_memory_equal(b, "hi", 2);
        assert_int_equal(axp_send(c[i], "ok", 2, 0), 2);
        assert_true(wait_for(c[i], POLLIN, 5000) & POLLIN);
        assert_int_equal(axp_recv(c[i], b, sizeof(b), 0), 2);
        assert_memory_equal(b, "ok", 2);
    }
    /* a second listener on the port: EADDRINUSE */
    int l2 = axp_socket(AF_INET, SOCK_STREAM, 0);
    ERRNO_IS(axp_bind(l2, (struct sockaddr *)&a, sizeof(a)), EADDRINUSE);
    assert_int_equal(axp_close(l2), 0);
    /* a blocking accept with SO_RCVTIMEO times out with EAGAIN */
    assert_int_equal(axp_fcntl(l, F_SETFL, 0), 0);
    struct timeval tv = { 0, 100000 };
    assert_int_equal(axp_setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    int64_t t0 = now_ms();
    ERRNO_IS(axp_accept(l, NULL, NULL), EAGAIN);
    assert_true(now_ms() - t0 >= 90);
    for (int i = 0; i < 3; i++) assert_int_equal(axp_close(c[i]), 0);
    assert_int_equal(axp_close(l), 0);
}

static void test_epoll(void **state)
{
    (void)state;
    int fd = tcp_to(7);
    assert_int_equal(axp_fcntl(fd, F_SETFL, O_NONBLOCK), 0);
    int ep = axp_epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
    struct epoll_event out[8];
    /* ctl errors */
    ERRNO_IS(axp_epoll_create1(12345), EINVAL);
    ERRNO_IS(axp_epoll_create(0), EINVAL);
    ERRNO_IS(axp_epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev), ENOENT);
    ERRNO_IS(axp_epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL), ENOENT);
    ERRNO_IS(axp_epoll_ctl(ep, 99, fd, &ev), EINVAL);
    ERRNO_IS(axp_epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev), EINVAL);
    ERRNO_IS(axp_epoll_ctl(fd, EPOLL_CTL_ADD, fd, &ev), EINVAL); /* not an epoll */
    ERRNO_IS(axp_epoll_wait(ep, out, 0, 0), EINVAL);
    ERRNO_IS(axp_epoll_wait(fd, out, 8, 0), EINVAL);
    assert_int_equal(axp_epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
    ERRNO_IS(axp_epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), EEXIST);
    /* timeouts: 0 returns at once, 100 ms waits about that long */
    assert_int_equal(axp_epoll_wait(ep, out, 8, 0), 0);
    int64_t t0 = now_ms();
    assert_int_equal(axp_epoll_wait(ep, out, 8, 100), 0);
    int64_t dt = now_ms() - t0;
    assert_true(dt >= 90);
    assert_true(dt < 3000);
    /* level-triggered: reported while unread */
    assert_int_equal(axp_send(fd, "abc", 3, 0), 3);
    assert_int_equal(axp_epoll_wait(ep, out, 8, 5000), 1);
    assert_int_equal(out[0].data.fd, fd);
    assert_true(out[0].events & EPOLLIN);
    assert_int_equal(axp_epoll_wait(ep, out, 8, 0), 1);
    char b[16];
    for (int64_t t = now_ms(); axp_recv(fd, b, sizeof(b), MSG_PEEK) < 3 && now_ms() - t < 5000;)
        axp_epoll_wait(ep, out, 8, 10);
    assert_int_equal(axp_recv(fd, b, sizeof(b), 0), 3);
    assert_int_equal(axp_epoll_wait(ep, out, 8, 0), 0);
    /* edge-triggered: once per arrival */
    ev.events = EPOLLIN | EPOLLET;
    assert_int_equal(axp_epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev), 0);
    assert_int_equal(axp_send(fd, "d", 1, 0), 1);
    assert_int_equal(axp_epoll_wait(ep, out, 8, 5000), 1);
    assert_int_equal(axp_epoll_wait(ep, out, 8, 20), 0); /* not again, though unread */
    assert_int_equal(axp_send(fd, "e", 1, 0), 1);
    assert_int_equal(axp_epoll_wait(ep, out, 8, 5000), 1); /* new data: again */
    for (int64_t t = now_ms(); axp_recv(fd, b, sizeof(b), MSG_PEEK) < 2 && now_ms() - t < 5000;)
        axp_poll(NULL, 0, 5);
    assert_int_equal(axp_recv(fd, b, sizeof(b), 0), 2);
    /* one-shot: once, then silent until re-armed */
    ev.events = EPOLLIN | EPOLLONESHOT;
    assert_int_equal(axp_epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev), 0);
    assert_int_equal(axp_send(fd, "f", 1, 0), 1);
    assert_int_equal(axp_epoll_wait(ep, out, 8, 5000), 1);
    assert_int_equal(axp_epoll_wait(ep, out, 8, 20), 0);
    assert_int_equal(axp_send(fd, "g", 1, 0), 1);
    assert_int_equal(axp_epoll_wait(ep, out, 8, 50), 0);
    assert_int_equal(axp_epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev), 0); /* re-arm */
    assert_int_equal(axp_epoll_wait(ep, out, 8, 5000), 1);
    /* EPOLLOUT, level: writable */
    ev.events = EPOLLOUT;
    assert_int_equal(axp_epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev), 0);
    assert_int_equal(axp_epoll_wait(ep, out, 8, 0), 1);
    assert_true(out[0].events & EPOLLOUT);
    /* a kernel pipe in the same set */
    int p[2];
    assert_int_equal(pipe(p), 0);
    struct epoll_event pe = { .events = EPOLLIN, .data.fd = p[0] };
    assert_int_equal(axp_epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL), 0);
    assert_int_equal(axp_epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &pe), 0);
    ERRNO_IS(axp_epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &pe), EEXIST);
    assert_int_equal(axp_epoll_wait(ep, out, 8, 0), 0);
    assert_int_equal(write(p[1], "k", 1), 1);
    assert_int_equal(axp_epoll_wait(ep, out, 8, 1000), 1);
    assert_int_equal(out[0].data.fd, p[0]);
    /* closing a socket removes it from the set */
    assert_int_equal(axp_epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
    assert_int_equal(axp_close(fd), 0);
    ERRNO_IS(axp_epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL), EBADF);
    assert_int_equal(axp_close(ep), 0);
    close(p[0]);
    close(p[1]);
}

static void test_poll_select_mixed(void **state)
{
    (void)state;
    int fd = tcp_to(7);
    int p[2];
    assert_int_equal(pipe(p), 0);
    /* nothing ready: poll with a timeout waits that long */
    struct pollfd pf[3] = { { fd, POLLIN, 0 }, { p[0], POLLIN, 0 }, { -1, POLLIN, 0 } };
    int64_t t0 = now_ms();
    assert_int_equal(axp_poll(pf, 3, 100), 0);
    assert_true(now_ms() - t0 >= 90);
    /* the pipe */
    assert_int_equal(write(p[1], "k", 1), 1);
    assert_int_equal(axp_poll(pf, 3, 1000), 1);
    assert_true(pf[1].revents & POLLIN);
    assert_int_equal(pf[0].revents, 0);
    char c;
    assert_int_equal(read(p[0], &c, 1), 1);
    /* our socket, while waiting in the kernel on the pipe too */
    assert_int_equal(axp_send(fd, "s", 1, 0), 1);
    assert_int_equal(axp_poll(pf, 3, 5000), 1);
    assert_true(pf[0].revents & POLLIN);
    /* select: readable socket, writable socket and pipe */
    fd_set r, w;
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_SET(fd, &r);
    FD_SET(p[0], &r);
    FD_SET(fd, &w);
    FD_SET(p[1], &w);
    int nfds = (fd > p[1] ? fd : p[1]) + 1;
    struct timeval tv = { 1, 0 };
    assert_int_equal(axp_select(nfds, &r, &w, NULL, &tv), 3);
    assert_true(FD_ISSET(fd, &r));
    assert_false(FD_ISSET(p[0], &r));
    assert_true(FD_ISSET(fd, &w));
    assert_true(FD_ISSET(p[1], &w));
    assert_int_equal(axp_recv(fd, &c, 1, 0), 1);
    /* a closed descriptor of ours: POLLNVAL / EBADF */
    int dead = axp_socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(axp_close(dead), 0);
    struct pollfd pd = { dead, POLLIN, 0 };
    assert_int_equal(axp_poll(&pd, 1, 0), 1);
    assert_int_equal(pd.revents, POLLNVAL);
    FD_ZERO(&r);
    FD_SET(dead, &r);
    tv.tv_sec = 0;
    ERRNO_IS(axp_select(dead + 1, &r, NULL, NULL, &tv), EBADF);
    ERRNO_IS(axp_select(FD_SETSIZE + 1, NULL, NULL, NULL, &tv), EINVAL);
    assert_int_equal(axp_close(fd), 0);
    close(p[0]);
    close(p[1]);
}

static void test_udp(void **state)
{
    (void)state;
    int u = axp_socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in b7 = sin_of(IP_B, 7);
    struct sockaddr_in from;
    socklen_t fl = sizeof(from);
    char buf[200];
    assert_int_equal(axp_sendto(u, "ping", 4, 0, (struct sockaddr *)&b7, sizeof(b7)), 4);
    assert_int_equal(axp_recvfrom(u, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl), 4);
    assert_memory_equal(buf, "ping", 4);
    assert_int_equal(from.sin_addr.s_addr, inet_addr(IP_B));
    assert_int_equal(ntohs(from.sin_port), 7);
    struct sockaddr_in me;
    socklen_t ml = sizeof(me);
    assert_int_equal(axp_getsockname(u, (struct sockaddr *)&me, &ml), 0);
    assert_true(ntohs(me.sin_port) != 0); /* bound by the first sendto */
    /* truncation: recv gives the room, MSG_TRUNC the real length, recvmsg the flag */
    char big[100];
    memset(big, 'q', sizeof(big));
    assert_int_equal(axp_sendto(u, big, 100, 0, (struct sockaddr *)&b7, sizeof(b7)), 100);
    assert_int_equal(axp_recv(u, buf, 10, MSG_PEEK), 10);
    assert_int_equal(axp_recv(u, buf, 10, MSG_PEEK | MSG_TRUNC), 100);
    struct msghdr m;
    memset(&m, 0, sizeof(m));
    struct iovec iv = { buf, 10 };
    m.msg_iov = &iv;
    m.msg_iovlen = 1;
    assert_int_equal(axp_recvmsg(u, &m, 0), 10);
    assert_true(m.msg_flags & MSG_TRUNC);
    assert_int_equal(axp_sendto(u, big, 100, 0, (struct sockaddr *)&b7, sizeof(b7)), 100);
    assert_int_equal(axp_recv(u, buf, 10, MSG_TRUNC), 100);
    /* poll: readable after an echo; non-blocking recv on empty: EAGAIN */
    ERRNO_IS(axp_recv(u, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
    assert_true(wait_for(u, POLLOUT, 0) & POLLOUT);
    /* SO_RCVTIMEO */
    struct timeval tv = { 0, 100000 };
    assert_int_equal(axp_setsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    int64_t t0 = now_ms();
    ERRNO_IS(axp_recv(u, buf, sizeof(buf), 0), EAGAIN);
    assert_true(now_ms() - t0 >= 90);
    assert_int_equal(axp_close(u), 0);
    /* connected UDP: send/recv, and only the peer's datagrams arrive */
    struct axp_stats st0, st1;
    axp_get_stats(&st0);
    u = axp_socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in b8 = sin_of(IP_B, 8);
    assert_int_equal(axp_connect(u, (struct sockaddr *)&b8, sizeof(b8)), 0);
    struct sockaddr_in pa;
    socklen_t pl = sizeof(pa);
    assert_int_equal(axp_getpeername(u, (struct sockaddr *)&pa, &pl), 0);
    assert_int_equal(ntohs(pa.sin_port), 8);
    assert_int_equal(axp_send(u, "conn", 4, 0), 4);
    assert_int_equal(axp_recv(u, buf, sizeof(buf), 0), 4); /* port 10's "from10" is not for us */
    assert_memory_equal(buf, "conn", 4);
    struct iovec wv[2] = { { "ab", 2 }, { "cd", 2 } };
    assert_int_equal(axp_writev(u, wv, 2), 4);
    assert_int_equal(axp_read(u, buf, sizeof(buf)), 4);
    assert_memory_equal(buf, "abcd", 4);
    axp_get_stats(&st1);
    assert_true(st1.udp_foreign_drop >= st0.udp_foreign_drop + 1);
    assert_int_equal(axp_close(u), 0);
}

static void test_close_unread_resets(void **state)
{
    (void)state;
    struct axp_stats s0, s1;
    axp_get_stats(&s0);
    int fd = tcp_to(7);
    assert_int_equal(axp_send(fd, "unread", 6, 0), 6);
    assert_true(wait_for(fd, POLLIN, 5000) & POLLIN);
    assert_int_equal(axp_close(fd), 0); /* bytes unread: RST (RFC 2525 §2.17) */
    axp_get_stats(&s1);
    assert_int_equal(s1.close_reset, s0.close_reset + 1);
}

/* More sockets than one reserved batch, all open at once, then all closed:
 * every number goes back to the pool (it once held only one batch), and the
 * numbers are reused afterwards. */
static void test_many_fds_close_all(void **state)
{
    (void)state;
    enum { N = 100 };
    int fd[N];
    for (int i = 0; i < N; i++) {
        fd[i] = axp_socket(AF_INET, SOCK_STREAM, 0);
        assert_true(fd[i] >= 0);
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(axp_close(fd[i]), 0);
    struct axp_stats st0, st1;
    axp_get_stats(&st0);
    for (int i = 0; i < N; i++) {
        fd[i] = axp_socket(AF_INET, SOCK_DGRAM, 0);
        assert_true(fd[i] >= 0);
    }
    axp_get_stats(&st1);
    assert_int_equal(st1.fd_reserved, st0.fd_reserved); /* reused, none reserved anew */
    for (int i = N - 1; i >= 0; i--)
        assert_int_equal(axp_close(fd[i]), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_socket_errors),
        cmocka_unit_test(test_tcp_echo_blocking),
        cmocka_unit_test(test_nonblock_connect),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_reset_and_eof),
        cmocka_unit_test(test_send_full),
        cmocka_unit_test(test_listen_accept),
        cmocka_unit_test(test_epoll),
        cmocka_unit_test(test_poll_select_mixed),
        cmocka_unit_test(test_udp),
        cmocka_unit_test(test_close_unread_resets),
        cmocka_unit_test(test_many_fds_close_all),
    };
    if (getenv("AXP_TEST")) cmocka_set_test_filter(getenv("AXP_TEST")); /* one test by name */
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
