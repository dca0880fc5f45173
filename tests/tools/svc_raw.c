/* SPDX-License-Identifier: MIT */
/*
 * svc_raw - a raw test application for the replica service layer: attaches
 * through axl-stackd's control socket (ctl_proto.h "attach") and drives the
 * channels with src/chan's application side directly (no libaxl), so the
 * service layer is tested on its own.
 *
 *   svc_raw [--ctl PATH] [--name N] [--seconds S] echo PORT     TCP echo server on every
 *                                                               replica (prints "ready")
 *   svc_raw [--ctl PATH] [--seconds S] connect IP PORT TEXT     outgoing connection from
 *                                                               replica 0: sends TEXT, prints
 *                                                               the reply
 *   svc_raw [--ctl PATH] [--seconds S] udp-echo PORT            UDP echo on every replica
 *
 * Call chain: main -> attach (control socket, fds by SCM_RIGHTS) ->
 * axl_chan_recv_hello_bell -> axl_chan_map_app -> axl_chan_app_set_bell ->
 * loop { poll_event -> on_event (OPEN/BIND/LISTEN/ACCEPT/SEND/RECV_DONE/CLOSE
 * commands) ; scan hints ; kick ; sleep a little when idle }.
 * Exit status: 0 done, 1 failure (a message says why), 2 usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "chan/chan.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/opts.h"
#include "stackd/ctl_proto.h"

#define PROG    "svc_raw"
#define MAXCH   64
#define MAXSOCK 65536 /* AXL_CHAN_SOCKS_MAX: whatever --socks the stack runs with */

enum mode { M_ECHO, M_CONNECT, M_UDP };

struct rsock {
    int used, attached, eof, closed, is_listener;
    uint32_t gen;
    struct axl_chan_asock s;
};

struct chn {
    int fd;
    uint32_t replica;
    struct axl_chan_app a;
    struct rsock *sk; /* MAXSOCK */
    uint32_t listener;
    int have_listener;
};

static volatile sig_atomic_t stop;
static void on_sig(int s)
{
    (void)s;
    stop = 1;
}

static enum mode mode;
static uint16_t port;
static uint32_t dst_ip;
static const char *text;
static char *reply;
static size_t reply_len, reply_want;
static int connected_done, result = -1;
static int dirty; /* something was published since the last kick */

/* ---- control socket -------------------------------------------------------------- */

static int ctl_connect(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || strlen(path) >= sizeof(sa.sun_path)) return -1;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Read one reply (up to the "." line) into buf; fds that came with it into fds. */
static int ctl_reply(int fd, char *buf, size_t cap, int *fds, int *nfds)
{
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
        ssize_t n = recvmsg(fd, &m, MSG_CMSG_CLOEXEC);
        if (n <= 0) return -1;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
                for (int i = 0; i < k && *nfds < MAXCH; i++)
                    memcpy(&fds[(*nfds)++], CMSG_DATA(c) + (size_t)i * sizeof(int), sizeof(int));
            }
        len += (size_t)n;
        buf[len] = '\0';
        if ((len >= 2 && !strncmp(buf + len - 2, "\n.", 2)) || strstr(buf, "\n.\n")) return 0;
        if (len + 1 >= cap) return -1;
    }
}

static int ctl_cmd(int fd, const char *line, char *buf, size_t cap, int *fds, int *nfds)
{
    char req[256];
    int n = snprintf(req, sizeof(req), "%s %s\n", AXL_CTL_PROTO, line);
    if (write(fd, req, (size_t)n) != n) return -1;
    return ctl_reply(fd, buf, cap, fds, nfds);
}

/* ---- channel helpers -------------------------------------------------------------- */

static void submit(struct chn *c, struct axl_chan_cmd *cmd)
{
    dirty = 1;
    while (axl_chan_app_submit(&c->a, cmd, 1) != 1) { /* queue full: let the stack drain */
        axl_chan_app_kick(&c->a);
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
}

static void cmd_simple(struct chn *c, uint16_t op, uint32_t sock, uint32_t gen, uint32_t arg,
                       uint32_t len)
{
    struct axl_chan_cmd cmd;
    memset(&cmd, 0, sizeof(cmd));
    cmd.op = op;
    cmd.sock = sock;
    cmd.gen = gen;
    cmd.arg = arg;
    cmd.len = len;
    submit(c, &cmd);
}

static void cmd_addr(struct chn *c, uint16_t op, uint32_t sock, uint32_t gen, uint32_t ip,
                     uint16_t p)
{
    struct axl_chan_cmd cmd;
    memset(&cmd, 0, sizeof(cmd));
    cmd.op = op;
    cmd.sock = sock;
    cmd.gen = gen;
    cmd.family = AXL_CHAN_AF_INET;
    cmd.port = htons(p);
    uint32_t be = htonl(ip);
    memcpy(cmd.addr, &be, 4);
    submit(c, &cmd);
}

/* Copy n readable RX bytes at offset `off` from the read position. */
static void rx_copy(const struct axl_cspan sp[2], uint32_t off, void *dst, uint32_t n)
{
    uint8_t *d = dst;
    for (int i = 0; i < 2 && n; i++) {
        if (off >= sp[i].len) {
            off -= sp[i].len;
            continue;
        }
        uint32_t k = sp[i].len - off < n ? sp[i].len - off : n;
        memcpy(d, sp[i].p + off, k);
        d += k;
        n -= k;
        off = 0;
    }
}

static uint32_t tx_put(const struct axl_span sp[2], uint32_t off, const void *src, uint32_t n)
{
    const uint8_t *s = src;
    uint32_t done = 0;
    for (int i = 0; i < 2 && n; i++) {
        if (off >= sp[i].len) {
            off -= sp[i].len;
            continue;
        }
        uint32_t k = sp[i].len - off < n ? sp[i].len - off : n;
        memcpy(sp[i].p + off, s + done, k);
        done += k;
        n -= k;
        off = 0;
    }
    return done;
}

/* TCP echo of what is readable (as far as the TX ring takes it). */
static void tcp_pump(struct chn *c, uint32_t id)
{
    struct rsock *r = &c->sk[id];
    if (!r->attached || r->closed) return;
    struct axl_cspan rs[2];
    int av = axl_chan_app_rx_peek(&c->a, &r->s, rs);
    if (av > 0 && mode == M_ECHO) {
        struct axl_span ts[2];
        int room = axl_chan_app_tx_reserve(&c->a, &r->s, ts);
        uint32_t n = (uint32_t)(room < av ? room : av);
        if (room <= 0) {
            axl_chan_app_tx_want(&c->a, &r->s, 1);
            n = 0;
        }
        if (n) {
            uint8_t *tmp = malloc(n);
            rx_copy(rs, 0, tmp, n);
            tx_put(ts, 0, tmp, n);
            free(tmp);
            axl_chan_app_tx_publish(&c->a, &r->s, n);
            axl_chan_app_rx_commit(&c->a, &r->s, n);
            cmd_simple(c, AXL_CHAN_OP_SEND, id, r->gen, 0, n);
            cmd_simple(c, AXL_CHAN_OP_RECV_DONE, id, r->gen, 0, n);
        }
        av -= (int)n;
    } else if (av > 0 && mode == M_CONNECT) {
        size_t want = reply_want - reply_len;
        uint32_t n = (uint32_t)((size_t)av < want ? (size_t)av : want);
        rx_copy(rs, 0, reply + reply_len, n);
        reply_len += n;
        axl_chan_app_rx_commit(&c->a, &r->s, (uint32_t)av);
        cmd_simple(c, AXL_CHAN_OP_RECV_DONE, id, r->gen, 0, (uint32_t)av);
        av = 0;
        if (reply_len == reply_want) {
            r->closed = 1;
            cmd_simple(c, AXL_CHAN_OP_CLOSE, id, r->gen, 0, 0);
            result = 0;
        }
    }
    if (r->eof && av == 0 && !r->closed && mode == M_ECHO) {
        r->closed = 1; /* everything echoed: FIN after it (the stack drains first) */
        cmd_simple(c, AXL_CHAN_OP_CLOSE, id, r->gen, 0, 0);
    }
}

/* UDP echo: every datagram record back to its sender. */
static void udp_pump(struct chn *c, uint32_t id)
{
    struct rsock *r = &c->sk[id];
    for (;;) {
        struct axl_cspan rs[2];
        int av = axl_chan_app_rx_peek(&c->a, &r->s, rs);
        if (av < (int)sizeof(struct axl_chan_dgram)) return;
        struct axl_chan_dgram h;
        rx_copy(rs, 0, &h, sizeof(h));
        uint32_t span = AXL_CHAN_DGRAM_SPAN(h.len);
        if (h.len > AXL_CHAN_DGRAM_MAX || (uint32_t)av < span) {
            fprintf(stderr, "%s: bad datagram record (len %u, %d readable)\n", PROG, h.len, av);
            exit(1);
        }
        struct axl_span ts[2];
        int room = axl_chan_app_tx_reserve(&c->a, &r->s, ts);
        if (room < (int)span) {
            axl_chan_app_tx_want(&c->a, &r->s, 1);
            return;
        }
        uint8_t *buf = malloc(span);
        rx_copy(rs, 0, buf, span); /* header (addr/port of the sender) + payload + padding */
        tx_put(ts, 0, buf, span);
        free(buf);
        axl_chan_app_tx_publish(&c->a, &r->s, span);
        axl_chan_app_rx_commit(&c->a, &r->s, span);
        cmd_simple(c, AXL_CHAN_OP_SEND, id, r->gen, 0, span);
        cmd_simple(c, AXL_CHAN_OP_RECV_DONE, id, r->gen, 0, span);
    }
}

static void attach_sock(struct chn *c, uint32_t id, uint32_t gen)
{
    struct rsock *r = &c->sk[id];
    memset(r, 0, sizeof(*r));
    r->used = 1;
    r->gen = gen;
    if (axl_chan_app_sock(&c->a, id, gen, &r->s) == 0) r->attached = 1;
}

static void on_event(struct chn *c, const struct axl_chan_event *e)
{
    struct rsock *r = e->sock < MAXSOCK ? &c->sk[e->sock] : NULL;
    switch (e->type) {
    case AXL_CHAN_EV_DONE:
        if (e->status && e->arg != AXL_CHAN_OP_CLOSE) {
            fprintf(stderr, "%s: replica %u: command %u failed: %s\n", PROG, c->replica, e->arg,
                    strerror(-e->status));
            if (e->arg != AXL_CHAN_OP_SEND) exit(1);
        }
        if (e->arg == AXL_CHAN_OP_OPEN) {
            attach_sock(c, e->sock, e->gen);
            if (mode == M_CONNECT) {
                cmd_addr(c, AXL_CHAN_OP_CONNECT, e->sock, e->gen, dst_ip, port);
            } else {
                c->listener = e->sock;
                c->have_listener = 1;
                c->sk[e->sock].is_listener = 1;
                cmd_addr(c, AXL_CHAN_OP_BIND, e->sock, e->gen, 0, port);
                if (mode == M_ECHO) cmd_simple(c, AXL_CHAN_OP_LISTEN, e->sock, e->gen, 128, 0);
            }
        } else if (e->arg == AXL_CHAN_OP_CONNECT && r) {
            connected_done = 1;
            struct axl_span ts[2];
            uint32_t n = (uint32_t)strlen(text);
            int room = axl_chan_app_tx_reserve(&c->a, &r->s, ts);
            if (room < (int)n) {
                fprintf(stderr, "%s: TEXT larger than the TX ring\n", PROG);
                exit(1);
            }
            tx_put(ts, 0, text, n);
            axl_chan_app_tx_publish(&c->a, &r->s, n);
            cmd_simple(c, AXL_CHAN_OP_SEND, e->sock, e->gen, 0, n);
        } else if ((e->arg == AXL_CHAN_OP_LISTEN || e->arg == AXL_CHAN_OP_BIND) &&
                   !(mode == M_ECHO && e->arg == AXL_CHAN_OP_BIND)) {
            printf("ready replica=%u\n", c->replica);
            fflush(stdout);
        }
        break;
    case AXL_CHAN_EV_NEW_CONN:
        attach_sock(c, e->sock, e->gen);
        cmd_simple(c, AXL_CHAN_OP_ACCEPT, e->sock, e->gen, e->arg, 0);
        tcp_pump(c, e->sock);
        break;
    case AXL_CHAN_EV_NEW_DATA:
    case AXL_CHAN_EV_DATA_ACKED:
        if (!r || !r->attached) break;
        if (r->s.id == e->sock && c->sk[e->sock].gen == e->gen) {
            if (mode == M_UDP)
                udp_pump(c, e->sock);
            else
                tcp_pump(c, e->sock);
        }
        break;
    case AXL_CHAN_EV_REMOTE_CLOSED:
        if (!r || !r->attached) break;
        r->eof = 1;
        tcp_pump(c, e->sock);
        break;
    case AXL_CHAN_EV_CLEANUP:
        if (!r) break;
        if (!r->closed) {
            r->closed = 1;
            cmd_simple(c, AXL_CHAN_OP_CLOSE, e->sock, e->gen, 0, 0);
        }
        break;
    default:
        break;
    }
}

static int serve(struct chn *c)
{
    int work = 0;
    struct axl_chan_event e;
    unsigned v;
    int r;
    while ((r = axl_chan_app_poll_event(&c->a, &e, &v)) != 0) {
        if (r < 0) {
            fprintf(stderr, "%s: replica %u: bad event (%s)\n", PROG, c->replica,
                    axl_chan_viol_name(v));
            exit(1);
        }
        on_event(c, &e);
        work++;
    }
    uint32_t ids[256];
    uint32_t n = axl_chan_app_scan(&c->a, ids, 256);
    for (uint32_t i = 0; i < n; i++)
        if (ids[i] < MAXSOCK && c->sk[ids[i]].attached && !c->sk[ids[i]].is_listener) {
            if (mode == M_UDP)
                udp_pump(c, ids[i]);
            else
                tcp_pump(c, ids[i]);
        }
    if (dirty) { /* kick only after a batch: an idle app must let the replica sleep */
        axl_chan_app_kick(&c->a);
        dirty = 0;
    }
    if (!axl_chan_app_up(&c->a)) {
        fprintf(stderr, "%s: replica %u disconnected us\n", PROG, c->replica);
        exit(1);
    }
    return work + (int)n;
}

int main(int argc, char **argv)
{
    const char *ctl = getenv(AXL_CTL_ENV);
    const char *name = "svc_raw";
    double seconds = 30;
    const struct axl_opt opts[] = {
        {"ctl", 0, AXL_OPT_STR, "PATH", "control socket (default $AXL_STACK)", &ctl},
        {"name", 0, AXL_OPT_STR, "NAME", "application name (default svc_raw)", &name},
        {"seconds", 0, AXL_OPT_DOUBLE, "S", "give up / stop after S seconds (default 30)",
         &seconds, 0.1, 3600},
        {0},
    };
    int first = axl_opts_parse(argc, argv, PROG,
                               "[options] echo PORT | connect IP PORT TEXT | udp-echo PORT",
                               "A raw application of the axl-stackd service layer (tests).", opts);
    if (first < 0) return 2;
    int nargs = argc - first;
    char **av = argv + first;
    uint64_t p = 0;
    if (nargs == 2 && !strcmp(av[0], "echo"))
        mode = M_ECHO;
    else if (nargs == 2 && !strcmp(av[0], "udp-echo"))
        mode = M_UDP;
    else if (nargs == 4 && !strcmp(av[0], "connect"))
        mode = M_CONNECT;
    else {
        fprintf(stderr, "%s: expected echo PORT | connect IP PORT TEXT | udp-echo PORT (--help)\n",
                PROG);
        return 2;
    }
    if (axl_parse_u64(av[mode == M_CONNECT ? 2 : 1], &p) < 0 || p < 1 || p > 65535) {
        fprintf(stderr, "%s: '%s' is not a port 1..65535\n", PROG, av[mode == M_CONNECT ? 2 : 1]);
        return 2;
    }
    port = (uint16_t)p;
    if (mode == M_CONNECT) {
        struct in_addr ia;
        if (inet_pton(AF_INET, av[1], &ia) != 1) {
            fprintf(stderr, "%s: '%s' is not an IPv4 address\n", PROG, av[1]);
            return 2;
        }
        dst_ip = ntohl(ia.s_addr);
        text = av[3];
        reply_want = strlen(text);
        reply = calloc(1, reply_want + 1);
    }
    if (!ctl) ctl = AXL_CTL_DEFAULT_PATH;
    signal(SIGTERM, on_sig);
    signal(SIGINT, on_sig);
    signal(SIGPIPE, SIG_IGN);

    int cfd = ctl_connect(ctl);
    if (cfd < 0) {
        fprintf(stderr, "%s: cannot connect to %s: %s\n", PROG, ctl, strerror(errno));
        return 1;
    }
    static char buf[65536];
    int fds[MAXCH], nfds;
    char line[64];
    snprintf(line, sizeof(line), "attach %s", name);
    if (ctl_cmd(cfd, line, buf, sizeof(buf), fds, &nfds) < 0 || strncmp(buf, "ok\n", 3)) {
        fprintf(stderr, "%s: attach refused: %s\n", PROG, buf);
        return 1;
    }
    static struct chn ch[MAXCH];
    int nch = 0;
    const char *l = buf;
    while ((l = strstr(l, "\nreplica=")) && nch < nfds) {
        ch[nch].replica = (uint32_t)strtoul(l + 9, NULL, 10);
        ch[nch].fd = fds[nch];
        nch++;
        l++;
    }
    if (nch == 0) {
        fprintf(stderr, "%s: no running replica in the reply: %s\n", PROG, buf);
        return 1;
    }
    if (mode == M_CONNECT) nch = 1; /* replica 0 only */
    for (int i = 0; i < nch; i++) {
        struct axl_chan_hello h;
        int rf[AXL_CHAN_NREGIONS], bell = -1;
        int rc = axl_chan_recv_hello_bell(ch[i].fd, &h, rf, &bell);
        if (rc < 0 || (rc = axl_chan_map_app(&ch[i].a, &h, rf)) < 0) {
            fprintf(stderr, "%s: replica %u: HELLO: %s\n", PROG, ch[i].replica, axl_strerror(rc));
            return 1;
        }
        close(rf[0]);
        close(rf[1]);
        axl_chan_app_set_bell(&ch[i].a, bell);
        ch[i].sk = calloc(MAXSOCK, sizeof(*ch[i].sk));
        cmd_simple(&ch[i], AXL_CHAN_OP_OPEN, AXL_CHAN_SOCK_NONE, 0,
                   mode == M_UDP ? AXL_CHAN_PROTO_UDP : AXL_CHAN_PROTO_TCP, 0);
        axl_chan_app_kick(&ch[i].a);
    }
    if (mode != M_CONNECT) {
        snprintf(line, sizeof(line), "listen %s %u", mode == M_UDP ? "udp" : "tcp", port);
        if (ctl_cmd(cfd, line, buf, sizeof(buf), fds, &nfds) < 0 || strncmp(buf, "ok\n", 3)) {
            fprintf(stderr, "%s: listen refused: %s\n", PROG, buf);
            return 1;
        }
    }
    uint64_t end = axl_clock_ns() + (uint64_t)(seconds * 1e9);
    while (!stop && axl_clock_ns() < end && result != 0) {
        int work = 0;
        for (int i = 0; i < nch; i++)
            work += serve(&ch[i]);
        if (!work) /* idle: sleep on the first channel a little (the others are polled) */
            axl_chan_app_sleep(&ch[0].a, nch > 1 ? 2000000ull : 50000000ull);
    }
    if (mode == M_CONNECT) {
        for (int k = 0; k < 100; k++) /* let the CLOSE reach the stack */
            serve(&ch[0]);
        if (result != 0) {
            fprintf(stderr, "%s: no full reply (%zu of %zu bytes, connected=%d)\n", PROG,
                    reply_len, reply_want, connected_done);
            return 1;
        }
        printf("%s\n", reply);
    }
    return 0;
}
