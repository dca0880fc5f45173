/* SPDX-License-Identifier: MIT */
/*
 * test_axl_iso.c - the native API (include/axl/axl.h) in isolated mode
 * (src/axl/iso.c) against the real replica service layer (src/svc), all in
 * one process:
 *
 *   main thread   context A: run-to-completion, the peer (198.18.7.1)
 *                 context B (and B2): isolated, attached to the fake stackd
 *   "replica"     a thread running an engine (198.18.7.2) on the other end of
 *                 A's shm wire with axl_svc on top (what replica.c does)
 *   "supervisor"  a thread serving the control protocol (ctl_proto.h) on a
 *                 Unix socket: attach / reattach (a SOCK_SEQPACKET pair per
 *                 channel, the replica's end handed to the replica thread),
 *                 listen / unlisten, ping, stats; it can refuse attaches and
 *                 reattaches (tests of the error paths and the back-off).
 *
 * Checks: open errors (no stack, attach refused) and their messages; accept
 * and echo byte-exact through 16 KiB rings; in-place receive; an outgoing
 * connection, refused connection, half-close and the event sequences;
 * send_mem and send_obj with DATA_ACKED cookies; abort; stale handles; UDP
 * with truncation; a second application; the replica's channel lost
 * (CLEANUP -ECONNABORTED), reattach after refusals, listener re-created;
 * axl_stat through the supervisor.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "axl/axl.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/opts.h"
#include "core/pool.h"
#include "net/stack.h"
#include "port/port.h"
#include "svc/svc.h"

#include "axl_pair.h"

#define IP_A 0xc6120701u
#define IP_B 0xc6120702u
static char tmpdir[64], wire[128], ctlpath[128];

/* ---- the replica thread ----------------------------------------------------------- */

struct rep {
    pthread_t th;
    struct axl_port_cfg pcfg;
    struct axl_pool pool;
    struct axl_port port;
    struct axl_stack *st;
    struct axl_svc svc;
    int pipe_rd, pipe_wr;         /* new channel sockets: struct newapp */
    atomic_int ready, stop, kill_app; /* kill_app: app id whose channel to drop */
    atomic_int rc;
};
struct newapp {
    int fd;
    uint32_t app_id;
};
static struct rep R;

static void *rep_main(void *arg)
{
    (void)arg;
    char spec[300], e[200];
    snprintf(spec, sizeof(spec), "shm:%s,role=b,seed=2,wait=10000", wire);
    int rc = axl_port_parse_spec(spec, &R.pcfg, e, sizeof(e));
    if (rc == 0) rc = axl_pool_init(&R.pool, 4096, 2048, AXL_POOL_HEADROOM);
    R.pcfg.pool = &R.pool;
    if (rc == 0) rc = axl_port_open(&R.port, &R.pcfg);
    struct axl_stack_cfg scfg;
    memset(&scfg, 0, sizeof(scfg));
    axl_parse_cidr("198.18.7.2/24", &scfg.addr);
    scfg.seed = 33;
    if (rc == 0 && !(R.st = axl_stack_create(&scfg, &R.port, &R.pool, axl_clock_ns()))) rc = -1;
    struct axl_chan_params p;
    axl_chan_params_default(&p);
    p.max_socks = 256;
    p.rx_size = p.tx_size = 16384;
    p.evq_slots = p.cmdq_slots = 1024;
    if (rc == 0) rc = axl_svc_init(&R.svc, R.st, &p);
    R.rc = rc;
    R.ready = 1;
    if (rc < 0) return NULL;
    uint64_t last = 0;
    while (!R.stop) {
        uint64_t now = axl_clock_ns();
        uint32_t w = axl_stack_poll(R.st, now);
        w += axl_svc_poll(&R.svc);
        if (now - last > 500000) { /* the link and the apps' sockets, as replica.c's tick */
            last = now;
            struct newapp na;
            while (read(R.pipe_rd, &na, sizeof(na)) == sizeof(na))
                axl_svc_app_add(&R.svc, na.app_id, getpid(), 0, "unit", na.fd);
            int k = atomic_exchange(&R.kill_app, 0);
            if (k) axl_svc_app_gone(&R.svc, (uint32_t)k); /* closes the app's channel socket */
            struct pollfd pfd[AXL_SVC_MAX_APPS + 1];
            uint32_t n = axl_svc_pollfds(&R.svc, pfd, AXL_SVC_MAX_APPS + 1);
            if (poll(pfd, n, 0) > 0) w += axl_svc_pollfds_done(&R.svc, pfd, n);
        }
        if (!w) usleep(20);
    }
    axl_svc_stop(&R.svc);
    for (int i = 0; i < 20; i++) {
        axl_stack_poll(R.st, axl_clock_ns());
        usleep(1000);
    }
    axl_stack_destroy(R.st);
    axl_svc_fini(&R.svc);
    axl_port_close(&R.port);
    axl_pool_fini(&R.pool);
    return NULL;
}

/* ---- the supervisor thread (control protocol) ---------------------------------------- */

struct sup {
    pthread_t th;
    int lfd;
    atomic_int stop;
    atomic_int refuse_attach;    /* answer attach with EMFILE */
    atomic_int refuse_reattach;  /* answer reattach with ESRCH this many times */
    atomic_int reattaches, listens, unlistens, attaches;
    uint32_t next_app, gen;
};
static struct sup S;

struct cl {
    int fd;
    char in[1024];
    size_t len;
};

static void reply(int fd, const char *text, int pass_fd)
{
    size_t n = strlen(text), off = 0;
    if (pass_fd >= 0) { /* the fd goes with the first byte */
        union {
            char b[CMSG_SPACE(sizeof(int))];
            struct cmsghdr al;
        } cm;
        memset(&cm, 0, sizeof(cm));
        struct iovec iov = {(void *)text, 1};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.b,
                           .msg_controllen = sizeof(cm.b)};
        struct cmsghdr *ch = CMSG_FIRSTHDR(&m);
        ch->cmsg_level = SOL_SOCKET;
        ch->cmsg_type = SCM_RIGHTS;
        ch->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(ch), &pass_fd, sizeof(int));
        if (sendmsg(fd, &m, MSG_NOSIGNAL) == 1) off = 1;
    }
    while (off < n) {
        ssize_t w = send(fd, text + off, n - off, MSG_NOSIGNAL);
        if (w <= 0) return;
        off += (size_t)w;
    }
}

/* A channel to the replica thread: returns the app's end. */
static int new_channel(uint32_t app_id)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) return -1;
    struct newapp na = {sv[1], app_id};
    if (write(R.pipe_wr, &na, sizeof(na)) != sizeof(na)) {
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    return sv[0];
}

static void handle(struct cl *c, uint32_t *app, char *line)
{
    char out[512];
    if (!strncmp(line, "AXL1 attach ", 12)) {
        if (S.refuse_attach) {
            reply(c->fd, "err EMFILE too many applications (32)\n.\n", -1);
            return;
        }
        *app = ++S.next_app;
        S.attaches++;
        int fd = new_channel(*app);
        snprintf(out, sizeof(out), "ok\napp=%u replicas=1\nreplica=0 queue=0 gen=%u\n.\n", *app,
                 ++S.gen);
        reply(c->fd, out, fd);
        close(fd);
    } else if (!strcmp(line, "AXL1 reattach 0")) {
        if (S.refuse_reattach > 0) {
            S.refuse_reattach--;
            reply(c->fd, "err ESRCH replica 0 is not running\n.\n", -1);
            return;
        }
        S.reattaches++;
        int fd = new_channel(*app);
        snprintf(out, sizeof(out), "ok\nreplica=0 queue=0 gen=%u\n.\n", ++S.gen);
        reply(c->fd, out, fd);
        close(fd);
    } else if (!strncmp(line, "AXL1 listen ", 12)) {
        S.listens++;
        reply(c->fd, "ok\n.\n", -1);
    } else if (!strncmp(line, "AXL1 unlisten ", 14)) {
        S.unlistens++;
        reply(c->fd, "ok\n.\n", -1);
    } else if (!strcmp(line, "AXL1 ping")) {
        reply(c->fd, "ok\npid=1 proto=1 uptime_ms=1 replicas=1 running=1 failed=0 port=shm "
                     "addr=198.18.7.2/24\n.\n", -1);
    } else if (!strcmp(line, "AXL1 stats")) {
        reply(c->fd, "ok\nreplicas 0\nTestCounter 7 7\nTestOther 1 1\n.\n", -1);
    } else {
        reply(c->fd, "err ENOENT unknown command\n.\n", -1);
    }
}

static void *sup_main(void *arg)
{
    (void)arg;
    struct cl cls[8];
    uint32_t apps[8];
    for (int i = 0; i < 8; i++)
        cls[i].fd = -1;
    while (!S.stop) {
        struct pollfd p[9];
        int n = 0;
        p[n++] = (struct pollfd){.fd = S.lfd, .events = POLLIN};
        for (int i = 0; i < 8; i++)
            p[n++] = (struct pollfd){.fd = cls[i].fd, .events = POLLIN};
        if (poll(p, (nfds_t)n, 10) <= 0) continue;
        if (p[0].revents & POLLIN) {
            int fd = accept4(S.lfd, NULL, NULL, SOCK_CLOEXEC);
            for (int i = 0; i < 8 && fd >= 0; i++)
                if (cls[i].fd < 0) {
                    cls[i].fd = fd;
                    cls[i].len = 0;
                    apps[i] = 0;
                    fd = -1;
                }
            if (fd >= 0) close(fd);
        }
        for (int i = 0; i < 8; i++) {
            if (cls[i].fd < 0 || !p[i + 1].revents) continue;
            ssize_t r = recv(cls[i].fd, cls[i].in + cls[i].len, sizeof(cls[i].in) - cls[i].len - 1, 0);
            if (r <= 0) { /* the session ends: the replica forgets the app */
                if (apps[i]) R.kill_app = (int)apps[i];
                close(cls[i].fd);
                cls[i].fd = -1;
                continue;
            }
            cls[i].len += (size_t)r;
            cls[i].in[cls[i].len] = 0;
            char *nl;
            while ((nl = strchr(cls[i].in, '\n'))) {
                *nl = 0;
                handle(&cls[i], &apps[i], cls[i].in);
                size_t used = (size_t)(nl - cls[i].in) + 1;
                memmove(cls[i].in, nl + 1, cls[i].len - used + 1);
                cls[i].len -= used;
            }
        }
    }
    for (int i = 0; i < 8; i++)
        if (cls[i].fd >= 0) close(cls[i].fd);
    return NULL;
}

/* ---- fixture -------------------------------------------------------------------------- */

static int open_iso(struct axl_ctx **c, const char *name, char *err, size_t errlen)
{
    struct axl_config cfg = {.stack = ctlpath, .name = name};
    return axl_open(c, &cfg, err, errlen);
}

static int group_setup(void **state)
{
    (void)state;
    static char pa[200];
    axl_log_set_level(AXL_LOG_ERR);
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/axl-iso-XXXXXX");
    if (!mkdtemp(tmpdir)) return -1;
    snprintf(wire, sizeof(wire), "%s/wire", tmpdir);
    snprintf(ctlpath, sizeof(ctlpath), "%s/stack.sock", tmpdir);
    snprintf(pa, sizeof(pa), "shm:%s,role=a,seed=1", wire);
    struct axl_config ca = {.port = pa, .addr = "198.18.7.1/24", .seed = 11};
    char err[256];
    if (axl_open(&A.c, &ca, err, sizeof(err)) < 0) {
        fprintf(stderr, "open A: %s\n", err);
        return -1;
    }
    int pp[2];
    if (pipe2(pp, O_NONBLOCK | O_CLOEXEC) < 0) return -1;
    R.pipe_rd = pp[0];
    R.pipe_wr = pp[1];
    if (pthread_create(&R.th, NULL, rep_main, NULL) != 0) return -1;
    struct axl_event ev[8];
    while (!R.ready)
        (void)axl_poll(A.c, ev, 8, 1000000); /* serve the replica's attachment to the wire */
    if (R.rc < 0) {
        fprintf(stderr, "replica: %d\n", R.rc);
        return -1;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(ctlpath) >= sizeof(sa.sun_path)) return -1;
    memcpy(sa.sun_path, ctlpath, strlen(ctlpath) + 1);
    S.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (S.lfd < 0 || bind(S.lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(S.lfd, 8) < 0)
        return -1;
    if (pthread_create(&S.th, NULL, sup_main, NULL) != 0) return -1;
    if (open_iso(&B.c, "unit-b", err, sizeof(err)) < 0) {
        fprintf(stderr, "open B: %s\n", err);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    axl_close_ctx(B.c);
    axl_close_ctx(A.c);
    S.stop = 1;
    pthread_join(S.th, NULL);
    R.stop = 1;
    pthread_join(R.th, NULL);
    close(S.lfd);
    close(R.pipe_rd);
    close(R.pipe_wr);
    unlink(ctlpath);
    unlink(wire);
    rmdir(tmpdir);
    return 0;
}

static struct axl_event wait_ev(struct side *s, uint32_t type, axl_sock_t sock)
{
    return wait_ev_for(s, type, sock, 10);
}

/* A listener on B (isolated), a connection from A, accepted. */
static void conn_in(uint16_t port, axl_sock_t *l, axl_sock_t *sb, axl_sock_t *sa)
{
    assert_int_equal(axl_socket(B.c, AXL_TCP, l), 0);
    assert_int_equal(axl_bind(B.c, *l, 0, port), 0);
    assert_int_equal(axl_listen(B.c, *l, 16), 0);
    assert_int_equal(axl_socket(A.c, AXL_TCP, sa), 0);
    assert_int_equal(axl_connect(A.c, *sa, IP_B, port), 0);
    struct axl_event e = wait_ev(&A, AXL_EV_CONNECTED, *sa);
    assert_int_equal(e.status, 0);
    wait_ev(&B, AXL_EV_NEW_CONN, *l);
    assert_int_equal(axl_accept(B.c, *l, sb), 0);
    axl_sock_t x;
    assert_int_equal(axl_accept(B.c, *l, &x), -EAGAIN);
}

static uint8_t pat(uint32_t i)
{
    return (uint8_t)(i * 13u + (i >> 10));
}

/* Move `len` pattern bytes from (sc, s) to (rc, r), checking them; returns
 * when all arrived. */
static void stream(struct side *src, axl_sock_t s, struct side *dst, axl_sock_t r, uint32_t len)
{
    uint32_t sent = 0, got = 0;
    uint8_t buf[4096];
    uint64_t end = axl_clock_ns() + 20000000000ull;
    while (got < len) {
        assert_true(axl_clock_ns() < end);
        while (sent < len) {
            uint32_t n = len - sent < sizeof(buf) ? len - sent : (uint32_t)sizeof(buf);
            for (uint32_t i = 0; i < n; i++)
                buf[i] = pat(sent + i);
            int k = axl_send(src->c, s, buf, n);
            if (k == -EAGAIN) break;
            assert_true(k > 0);
            sent += (uint32_t)k;
        }
        pump_once();
        for (;;) {
            int k = axl_recv(dst->c, r, buf, sizeof(buf));
            if (k == -EAGAIN) break;
            assert_true(k > 0);
            for (int i = 0; i < k; i++)
                if (buf[i] != pat(got + (uint32_t)i)) fail_msg("byte %u differs", got + i);
            got += (uint32_t)k;
        }
    }
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_open_errors(void **state)
{
    (void)state;
    struct axl_ctx *c = NULL;
    char err[300], path[200];
    snprintf(path, sizeof(path), "%s/none.sock", tmpdir);
    struct axl_config cfg = {.stack = path};
    assert_int_equal(axl_open(&c, &cfg, err, sizeof(err)), -ENOENT);
    assert_null(c);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "is axl-stackd running"));
    S.refuse_attach = 1;
    assert_int_equal(open_iso(&c, "refused", err, sizeof(err)), -EMFILE);
    S.refuse_attach = 0;
    assert_non_null(strstr(err, "refused"));
    assert_non_null(strstr(err, "too many applications"));
    /* run-to-completion flags do not go with isolated mode */
    struct axl_config bad = {.mode = AXL_MODE_ISOLATED, .addr = "198.18.7.9/24"};
    assert_int_equal(axl_open(&c, &bad, err, sizeof(err)), -EINVAL);
    assert_int_equal(axl_ctx_mode(B.c), AXL_MODE_ISOLATED);
    assert_int_equal(axl_ctx_replicas(B.c), 1);
    assert_int_equal(axl_ctx_addr(B.c), IP_B);
    assert_int_equal(axl_ctx_fd(B.c), -1);
}

static void test_echo_in(void **state)
{
    (void)state;
    axl_sock_t l, sb, sa;
    int listens = S.listens;
    conn_in(7001, &l, &sb, &sa);
    assert_int_equal(S.listens, listens + 1); /* "listen tcp 7001" told to the supervisor */
    struct axl_sock_info in;
    assert_int_equal(axl_sock_info(B.c, sb, &in), 0);
    assert_int_equal(in.state, AXL_SS_ESTABLISHED);
    assert_int_equal(in.lport, 7001);
    /* the peer's address and port, from the slot the replica filled */
    struct axl_sock_info pa;
    assert_int_equal(axl_sock_info(A.c, sa, &pa), 0);
    assert_int_equal(in.laddr, IP_B);
    assert_int_equal(in.raddr, IP_A);
    assert_int_equal(in.rport, pa.lport);
    assert_int_equal(pa.rport, 7001);
    /* 200 KB each way through 16 KiB rings */
    stream(&A, sa, &B, sb, 200000);
    stream(&B, sb, &A, sa, 200000);
    /* in place: peek shows, done releases */
    uint64_t end = axl_clock_ns() + 5000000000ull;
    int k;
    while ((k = axl_send(A.c, sa, "hello", 5)) == -EAGAIN) { /* A's buffer drains as acks come */
        assert_true(axl_clock_ns() < end);
        pump_once();
    }
    assert_int_equal(k, 5);
    B.n = 0;
    wait_ev(&B, AXL_EV_NEW_DATA, sb);
    struct axl_iov iov[2];
    int n = axl_recv_peek(B.c, sb, iov, 2);
    assert_int_equal(n, 5);
    assert_memory_equal(iov[0].base, "hello", 5);
    assert_int_equal(axl_recv_done(B.c, sb, 2), 0);
    n = axl_recv_peek(B.c, sb, iov, 2);
    assert_int_equal(n, 3);
    assert_memory_equal(iov[0].base, "llo", 3);
    assert_int_equal(axl_recv_done(B.c, sb, 4), -EINVAL);
    assert_int_equal(axl_recv_done(B.c, sb, 3), 0);
    assert_int_equal(axl_recv_peek(B.c, sb, iov, 2), -EAGAIN);
    /* A closes: B sees REMOTE_CLOSED(0), reads 0, closes; A's CLEANUP(0) */
    assert_int_equal(axl_close(A.c, sa), 0);
    struct axl_event e = wait_ev(&B, AXL_EV_REMOTE_CLOSED, sb);
    assert_int_equal(e.status, 0);
    char b[8];
    assert_int_equal(axl_recv(B.c, sb, b, sizeof(b)), 0);
    assert_int_equal(axl_close(B.c, sb), 0);
    assert_int_equal(axl_send(B.c, sb, "x", 1), -EBADF); /* stale */
    int unl = S.unlistens;
    assert_int_equal(axl_close(B.c, l), 0);
    assert_int_equal(S.unlistens, unl + 1);
    pump_ms(20);
}

static void test_connect_out(void **state)
{
    (void)state;
    axl_sock_t l, sa, sb;
    assert_int_equal(axl_socket(A.c, AXL_TCP, &l), 0);
    assert_int_equal(axl_bind(A.c, l, 0, 7002), 0);
    assert_int_equal(axl_listen(A.c, l, 16), 0);
    assert_int_equal(axl_socket(B.c, AXL_TCP, &sb), 0);
    assert_int_equal(axl_setopt(B.c, sb, AXL_SO_NODELAY, 1), 0);
    assert_int_equal(axl_connect(B.c, sb, IP_A, 7002), 0);
    assert_int_equal(axl_connect(B.c, sb, IP_A, 7002), -EALREADY);
    struct axl_event e = wait_ev(&B, AXL_EV_CONNECTED, sb);
    assert_int_equal(e.status, 0);
    wait_ev(&A, AXL_EV_NEW_CONN, l);
    assert_int_equal(axl_accept(A.c, l, &sa), 0);
    stream(&B, sb, &A, sa, 50000);
    /* B half-closes: A reads EOF, still sends; then A closes */
    assert_int_equal(axl_shutdown(B.c, sb, 1), 0);
    assert_int_equal(axl_send(B.c, sb, "x", 1), -EPIPE);
    e = wait_ev(&A, AXL_EV_REMOTE_CLOSED, sa);
    assert_int_equal(e.status, 0);
    stream(&A, sa, &B, sb, 30000);
    assert_int_equal(axl_close(A.c, sa), 0);
    e = wait_ev(&B, AXL_EV_REMOTE_CLOSED, sb);
    assert_int_equal(e.status, 0);
    e = wait_ev(&B, AXL_EV_CLEANUP, sb);
    assert_int_equal(e.status, 0);
    assert_int_equal(axl_close(B.c, sb), 0);
    assert_int_equal(axl_close(A.c, l), 0);
    /* nobody listens on 7099: CONNECTED(-ECONNREFUSED), then CLEANUP */
    assert_int_equal(axl_socket(B.c, AXL_TCP, &sb), 0);
    assert_int_equal(axl_connect(B.c, sb, IP_A, 7099), 0);
    e = wait_ev(&B, AXL_EV_CONNECTED, sb);
    assert_int_equal(e.status, -ECONNREFUSED);
    e = wait_ev(&B, AXL_EV_CLEANUP, sb);
    assert_int_equal(e.status, -ECONNREFUSED);
    assert_int_equal(axl_close(B.c, sb), 0);
    pump_ms(20);
}

static void test_send_mem_obj(void **state)
{
    (void)state;
    axl_sock_t l, sb, sa;
    conn_in(7004, &l, &sb, &sa);
    struct axl_mem *m;
    assert_int_equal(axl_mem_alloc(B.c, 100000, &m), 0);
    assert_true(axl_mem_size(m) >= 100000);
    uint8_t *p = axl_mem_base(m);
    for (uint32_t i = 0; i < 100000; i++)
        p[i] = pat(i);
    /* ring bytes, then 60000 registered bytes, then ring bytes: in order */
    uint8_t head[1000];
    for (uint32_t i = 0; i < sizeof(head); i++)
        head[i] = (uint8_t)~pat(i);
    assert_int_equal(axl_send(B.c, sb, head, sizeof(head)), (int)sizeof(head));
    assert_int_equal(axl_send_mem(B.c, sb, m, 10, 60000, 77), 0);
    assert_int_equal(axl_send(B.c, sb, "tail", 4), 4);
    assert_int_equal(axl_send_mem(B.c, sb, m, 0, 200000, 1), -EINVAL);
    uint8_t *got = malloc(70000);
    uint32_t n = 0;
    uint64_t end = axl_clock_ns() + 10000000000ull;
    while (n < 1000 + 60000 + 4) {
        assert_true(axl_clock_ns() < end);
        pump_once();
        int k = axl_recv(A.c, sa, got + n, 70000 - n);
        if (k > 0) n += (uint32_t)k;
    }
    assert_memory_equal(got, head, 1000);
    assert_memory_equal(got + 1000, p + 10, 60000);
    assert_memory_equal(got + 61000, "tail", 4);
    struct axl_event e = wait_ev(&B, AXL_EV_DATA_ACKED, sb);
    while (e.cookie != 77) e = wait_ev(&B, AXL_EV_DATA_ACKED, sb);
    assert_int_equal(e.status, 0);
    assert_int_equal(e.arg, 60000);
    /* a pre-packetised object, twice */
    struct axl_obj *o;
    assert_int_equal(axl_obj_register(B.c, m, 100, 5000, 0, &o), 0);
    assert_int_equal(axl_send_obj(B.c, sb, o, 88), 0);
    assert_int_equal(axl_send_obj(B.c, sb, o, 89), 0);
    n = 0;
    while (n < 10000) {
        assert_true(axl_clock_ns() < end + 10000000000ull);
        pump_once();
        int k = axl_recv(A.c, sa, got + n, 70000 - n);
        if (k > 0) n += (uint32_t)k;
    }
    assert_memory_equal(got, p + 100, 5000);
    assert_memory_equal(got + 5000, p + 100, 5000);
    int seen88 = 0, seen89 = 0;
    while (!(seen88 && seen89)) {
        e = wait_ev(&B, AXL_EV_DATA_ACKED, sb);
        seen88 |= e.cookie == 88;
        seen89 |= e.cookie == 89;
    }
    free(got);
    assert_int_equal(axl_abort(B.c, sb), 0); /* A sees the reset */
    e = wait_ev(&A, AXL_EV_CLEANUP, sa);
    assert_int_equal(e.status, -ECONNRESET);
    assert_int_equal(axl_close(A.c, sa), 0);
    axl_obj_free(B.c, o);
    pump_ms(20);
    axl_mem_free(B.c, m);
    assert_int_equal(axl_close(B.c, l), 0);
}

static void test_udp(void **state)
{
    (void)state;
    axl_sock_t ub, ua, ux;
    assert_int_equal(axl_socket(B.c, AXL_UDP, &ub), 0);
    assert_int_equal(axl_bind(B.c, ub, 0, 7003), 0);
    assert_int_equal(axl_socket(A.c, AXL_UDP, &ua), 0);
    assert_int_equal(axl_bind(A.c, ua, 0, 7013), 0);
    assert_int_equal(axl_sendto(A.c, ua, "ping-1", 6, IP_B, 7003), 0);
    assert_int_equal(axl_sendto(A.c, ua, "a-longer-datagram", 17, IP_B, 7003), 0);
    wait_ev(&B, AXL_EV_NEW_DATA, ub);
    char buf[64];
    uint32_t addr = 0;
    uint16_t port = 0;
    int n = -EAGAIN;
    uint64_t end = axl_clock_ns() + 5000000000ull;
    while ((n = axl_recvfrom(B.c, ub, buf, sizeof(buf), &addr, &port)) == -EAGAIN) {
        assert_true(axl_clock_ns() < end);
        pump_once();
    }
    assert_int_equal(n, 6);
    assert_memory_equal(buf, "ping-1", 6);
    assert_int_equal(addr, IP_A);
    assert_int_equal(port, 7013);
    while ((n = axl_recvfrom(B.c, ub, buf, 4, NULL, NULL)) == -EAGAIN) { /* truncated */
        assert_true(axl_clock_ns() < end);
        pump_once();
    }
    assert_int_equal(n, 4);
    assert_memory_equal(buf, "a-lo", 4);
    assert_int_equal(axl_recvfrom(B.c, ub, buf, sizeof(buf), NULL, NULL), -EAGAIN);
    /* B answers; an unbound socket with connect sends from a port of its own */
    assert_int_equal(axl_sendto(B.c, ub, "pong", 4, IP_A, 7013), 0);
    assert_int_equal(axl_socket(B.c, AXL_UDP, &ux), 0);
    assert_int_equal(axl_connect(B.c, ux, IP_A, 7013), 0);
    assert_int_equal(axl_sendto(B.c, ux, "from-ux", 7, 0, 0), 0);
    struct axl_sock_info in;
    assert_int_equal(axl_sock_info(B.c, ux, &in), 0);
    assert_true(in.lport >= 49152);
    int got_pong = 0, got_ux = 0;
    while (!(got_pong && got_ux)) {
        assert_true(axl_clock_ns() < end);
        pump_once();
        n = axl_recvfrom(A.c, ua, buf, sizeof(buf), &addr, &port);
        if (n == 4 && !memcmp(buf, "pong", 4)) got_pong = port == 7003;
        if (n == 7 && !memcmp(buf, "from-ux", 7)) got_ux = port == in.lport;
    }
    assert_int_equal(axl_close(B.c, ub), 0);
    assert_int_equal(axl_close(B.c, ux), 0);
    assert_int_equal(axl_close(A.c, ua), 0);
    pump_ms(10);
}

static void test_second_app(void **state)
{
    (void)state;
    struct side B2;
    memset(&B2, 0, sizeof(B2));
    char err[256];
    assert_int_equal(open_iso(&B2.c, "unit-b2", err, sizeof(err)), 0);
    axl_sock_t l2, s2, sa;
    assert_int_equal(axl_socket(B2.c, AXL_TCP, &l2), 0);
    assert_int_equal(axl_bind(B2.c, l2, 0, 7005), 0);
    assert_int_equal(axl_listen(B2.c, l2, 4), 0);
    assert_int_equal(axl_socket(A.c, AXL_TCP, &sa), 0);
    assert_int_equal(axl_connect(A.c, sa, IP_B, 7005), 0);
    struct axl_event ev[16];
    uint64_t end = axl_clock_ns() + 5000000000ull;
    int accepted = 0;
    while (!accepted) {
        assert_true(axl_clock_ns() < end);
        pump_once();
        (void)axl_poll(B2.c, ev, 16, 0);
        accepted = axl_accept(B2.c, l2, &s2) == 0;
    }
    assert_int_equal(axl_send(B2.c, s2, "two", 3), 3);
    char b[8];
    int n = -EAGAIN;
    while ((n = axl_recv(A.c, sa, b, sizeof(b))) == -EAGAIN) {
        assert_true(axl_clock_ns() < end);
        pump_once();
        (void)axl_poll(B2.c, ev, 16, 0);
    }
    assert_int_equal(n, 3);
    assert_memory_equal(b, "two", 3);
    axl_abort(A.c, sa);
    axl_close_ctx(B2.c); /* its session ends; B goes on */
    axl_sock_t l, sb;
    conn_in(7006, &l, &sb, &sa);
    stream(&A, sa, &B, sb, 1000);
    axl_abort(A.c, sa);
    axl_close(B.c, sb);
    axl_close(B.c, l);
    pump_ms(10);
}

static void test_replica_lost(void **state)
{
    (void)state;
    axl_sock_t l, sb, sa;
    uint64_t v;
    conn_in(7007, &l, &sb, &sa);
    stream(&A, sa, &B, sb, 1000);
    int re = S.reattaches;
    S.refuse_reattach = 2; /* "not running yet" twice: the library backs off and retries */
    R.kill_app = 1; /* B is app 1 (the first attach) */
    struct axl_event e = wait_ev(&B, AXL_EV_REMOTE_CLOSED, sb);
    assert_int_equal(e.status, -ECONNABORTED);
    e = wait_ev(&B, AXL_EV_CLEANUP, sb);
    assert_int_equal(e.status, -ECONNABORTED);
    assert_int_equal(axl_send(B.c, sb, "x", 1), -ECONNABORTED);
    assert_int_equal(axl_close(B.c, sb), 0);
    e = wait_ev(&A, AXL_EV_CLEANUP, sa); /* the replica reset the peer */
    assert_int_equal(axl_close(A.c, sa), 0);
    /* reattached, listener re-created: A connects again */
    uint64_t end = axl_clock_ns() + 10000000000ull;
    while (S.reattaches == re || axl_stat(B.c, "AxlIsoReplicasUp", &v) < 0 || v != 1) {
        assert_true(axl_clock_ns() < end);
        pump_once();
        usleep(100);
    }
    assert_int_equal(S.refuse_reattach, 0);
    assert_int_equal(axl_stat(B.c, "AxlIsoReplicasLost", &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(axl_stat(B.c, "AxlIsoReattaches", &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(axl_socket(A.c, AXL_TCP, &sa), 0);
    assert_int_equal(axl_connect(A.c, sa, IP_B, 7007), 0);
    e = wait_ev(&A, AXL_EV_CONNECTED, sa);
    assert_int_equal(e.status, 0);
    wait_ev(&B, AXL_EV_NEW_CONN, l);
    assert_int_equal(axl_accept(B.c, l, &sb), 0);
    stream(&A, sa, &B, sb, 20000);
    stream(&B, sb, &A, sa, 20000);
    axl_abort(A.c, sa);
    axl_close(B.c, sb);
    axl_close(B.c, l);
    pump_ms(10);
}

static void test_stat(void **state)
{
    (void)state;
    uint64_t v = 0;
    assert_int_equal(axl_stat(B.c, "TestCounter", &v), 0); /* the "total" column */
    assert_int_equal(v, 7);
    assert_int_equal(axl_stat(B.c, "NoSuchCounter", &v), -ENOENT);
    assert_int_equal(axl_stat(B.c, "AxlIsoCmds", &v), 0);
    assert_true(v > 0);
    assert_int_equal(axl_stat(B.c, "AxlIsoViolations", &v), 0);
    assert_int_equal(v, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_open_errors, test_setup),
        cmocka_unit_test_setup(test_echo_in, test_setup),
        cmocka_unit_test_setup(test_connect_out, test_setup),
        cmocka_unit_test_setup(test_send_mem_obj, test_setup),
        cmocka_unit_test_setup(test_udp, test_setup),
        cmocka_unit_test_setup(test_second_app, test_setup),
        cmocka_unit_test_setup(test_replica_lost, test_setup),
        cmocka_unit_test_setup(test_stat, test_setup),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
