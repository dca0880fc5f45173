/* SPDX-License-Identifier: MIT */
/*
 * shmlink.c - the "shm" port: a virtual Ethernet wire between two processes
 * over shared memory, with optional impairments (loss, duplication,
 * reordering, corruption, delay/jitter, rate limit) for tests, and a way to
 * measure the stack without the kernel.
 *
 * Spec:  shm:PATH[,loss=P][,dup=P][,reorder=P][,corrupt=P][,delay=US][,jitter=US]
 *            [,rate=MBIT][,seed=N][,slots=N][,mtu=N][,role=a|b|auto][,wait=MS]
 *   P is a percentage (loss=10, loss=0.5); US microseconds; MBIT Mbit/s.
 *   slots: per direction, power of two in 16..32768 (default 1024; side A's
 *   value rules, B adopts it). mtu: 576..9000 (default 1500; A's value rules).
 *   role: auto (default) = the first process to open PATH becomes side A, the
 *   next one side B; role=b waits (wait=MS, default 5000) for A to appear.
 *
 * Attachment (layout and ABI in shmlink.h): side A listens on the Unix stream
 * socket PATH. When B connects, A creates a fresh memfd region (two SPSC rings
 * of fixed-size frame slots, src/core/ring.h) and two eventfd doorbells and
 * sends them with SCM_RIGHTS. A keeps listening: when B leaves (EOF on the
 * connection) A drops that region, and the next connection gets a new one, so
 * a restarted B re-attaches and can never touch the old region again. One
 * peer at a time: a second concurrent connection is closed at once. B, when A
 * goes away, keeps trying to reconnect every 100 ms. While no peer is
 * attached the wire is unplugged: frames sent are dropped and counted
 * (link_drops), as are frames left in the rings when a peer leaves.
 * B's open() blocks until attached (at most wait= ms), so A must be serviced
 * by another process's engine loop meanwhile, never by the same thread.
 *
 * Data path (hot): rx_burst peeks the inbound ring, validates each slot's
 * length (14 <= len <= frame_max; violations counted in rx_errors and not
 * delivered), copies into pool buffers and releases the batch; tx_burst copies
 * frames into outbound slots and publishes once per burst. The peer's doorbell
 * is rung only when it set NEED_WAKEUP (ring.h), once per burst, counted in
 * wakeups. Control work (accept, EOF, reconnect) costs one poll(2) at most
 * every 2 ms while busy, and happens on wake-up while idle.
 *
 * Sleeping: fd() is an epoll set holding the inbound doorbell, the control
 * socket(s) and a timerfd; prepare_sleep arms the timerfd for the earliest
 * held frame (delay, reorder, rate queue) and calls
 * axl_ring_cons__prepare_sleep; wake_done clears NEED_WAKEUP and drains the
 * eventfd and timerfd.
 *
 * Impairments are applied by the sender, per frame, in this order:
 *   loss -> corrupt -> dup -> reorder -> delay/jitter -> rate -> ring
 * with a PRNG seeded from seed= (or from getrandom, logged at open so that a
 * run can be repeated). Same seed + same frames = same decisions.
 *   loss     drops the frame (imp_lost).
 *   corrupt  flips one random bit of one random byte after the 14-byte
 *            Ethernet header (imp_corrupt); frames of 14 bytes are left alone.
 *   dup      sends a copy right behind the frame (imp_dup); the copy is a new
 *            pool buffer, no copy if the pool is empty.
 *   reorder  holds the frame back and sends it right after the next one
 *            (imp_reord counts frames that did arrive after their successor).
 *            A frame is picked with probability q = P/(100-P) while none is
 *            held, which makes P % of frames arrive late (P <= 50). A held
 *            frame with no successor within 1 ms is sent as it is.
 *   delay    holds frames in a time-ordered queue (binary heap keyed by due
 *            time, then arrival order) until due = now + delay + U[-jitter,
 *            +jitter] (not below now), imp_delayed. With jitter, frames may
 *            overtake each other, as on netem.
 *   rate     token bucket of rate Mbit/s, depth max(2 frames, 1 ms of rate);
 *            frames without tokens wait in a FIFO of AXL_SHMLINK_RATE_QLEN;
 *            beyond it they are dropped (imp_ratelimited). While that FIFO is
 *            not empty the link counts as busy and credit is not capped, so a
 *            sender that was descheduled still gets the full rate over time.
 * A capture (pcap=) on the sending side records frames as the engine handed
 * them to tx_burst, before any impairment; the receiving side's capture shows
 * what arrived.
 * Held frames stay in their pool buffers (the caller's, ownership passed with
 * tx_burst); at most held_max = min(AXL_SHMLINK_HELD_MAX, pool nbufs / 2) are
 * held for delay, beyond that tx_burst refuses (tx_full). Held frames are
 * released in rx_burst, tx_burst, flush and prepare_sleep; close() frees them
 * back to the pool (counted in link_drops).
 */
#include "port/shmlink.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/compiler.h"
#include "core/err.h"
#include "core/log.h"
#include "core/opts.h"
#include "core/pool.h"
#include "core/rand.h"
#include "core/ring.h"
#include "port/port.h"

/** AXL_SHMLINK_HELD_MAX: frames held for delay/jitter, at most (and at most
 *  half the pool, so that held frames cannot starve the engine). */
#define AXL_SHMLINK_HELD_MAX 4096u
/** AXL_SHMLINK_RATE_QLEN: frames waiting for rate tokens before drops. */
#define AXL_SHMLINK_RATE_QLEN 64u
/** AXL_SHMLINK_REORDER_HOLD_NS: a frame held for reordering goes out alone
 *  after this long without a successor. */
#define AXL_SHMLINK_REORDER_HOLD_NS (1 * AXL_NS_PER_MS)
#define SHM_CTL_INTERVAL_NS         (2 * AXL_NS_PER_MS)
#define SHM_CTL_TICK_MASK           63u
#define SHM_RECONNECT_NS            (100 * AXL_NS_PER_MS)
#define SHM_WAIT_MS_DEFAULT         5000u
#define SHM_MTU_DEFAULT             1500u
#define SHM_MAX_DELAY_US            10000000ull /* 10 s */
#define SHM_MAX_RATE_MBIT           100000.0    /* 100 Gbit/s */

enum shm_state { SHM_DOWN, SHM_CONNECTING, SHM_UP };
enum shm_role { SHM_ROLE_AUTO, SHM_ROLE_A, SHM_ROLE_B };

struct shm_held {
    uint64_t due; /* monotonic ns */
    uint64_t seq; /* arrival order: ties keep FIFO order */
    struct axl_pkt *pkt;
};

struct shm_imp {
    uint32_t loss_ppm, dup_ppm, reorder_ppm, corrupt_ppm;
    uint64_t delay_ns, jitter_ns;
    double rate_bps; /* 0 = unlimited */
};

struct shm_priv {
    struct axl_pool *pool;
    int side;
    enum shm_role role;
    enum shm_state state;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    dev_t path_dev; /* A: the socket file we created (unlinked on close) */
    ino_t path_ino;
    int listen_fd, conn_fd, efd_in, efd_out, ep_fd, timer_fd;
    uint64_t timer_at; /* armed deadline, 0 = not armed */
    uint8_t *base;     /* mapped region while UP */
    size_t size;
    uint64_t generation;
    struct axl_shmlink_layout lay; /* validated private copy */
    uint32_t slots, frame_max, mtu;
    struct axl_ring_prod tx;
    struct axl_ring_cons rx;
    uint32_t tx_pending; /* slots reserved since the last submit */
    uint32_t tick;
    uint64_t ctl_next_ns;
    uint64_t reconnect_ns; /* B: next connect attempt while DOWN */
    uint64_t bad_len_logged;
    /* impairment (applied on our TX) */
    struct shm_imp imp;
    int impaired;
    uint64_t seed;
    struct axl_rand rng;
    struct shm_held *heap;
    uint32_t nheld, held_max;
    uint64_t held_seq;
    struct axl_pkt *reord;
    uint64_t reord_due;
    struct axl_pkt *rq_head, *rq_tail;
    uint32_t nrq;
    double tokens, bucket; /* bits */
    uint64_t tok_ns;
};

/* ------------------------------------------------------------------------ */
/* small helpers                                                             */

static uint64_t fnv1a64(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
}

/* Locally administered unicast MAC from the path and the side. */
static void shm_derive_mac(const char *path, int side, uint8_t mac[6])
{
    uint64_t h = fnv1a64(path);
    mac[0] = 0x02;
    mac[1] = (uint8_t)(h >> 8);
    mac[2] = (uint8_t)(h >> 16);
    mac[3] = (uint8_t)(h >> 24);
    mac[4] = (uint8_t)(h >> 32);
    mac[5] = (uint8_t)((h & 0xfe) | (uint64_t)side);
}

static void ep_add(struct shm_priv *s, int fd)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    if (epoll_ctl(s->ep_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
        axl_warn("shm", "%s: epoll_ctl add: %s", s->path, strerror(errno));
}

static void close_fd(struct shm_priv *s, int *fd)
{
    if (*fd < 0) return;
    if (s->ep_fd >= 0)
        epoll_ctl(s->ep_fd, EPOLL_CTL_DEL, *fd, NULL); /* ENOENT if never added: fine */
    close(*fd);
    *fd = -1;
}

static int tx_room(struct shm_priv *s, uint32_t k)
{
    if (s->state != SHM_UP) return 1; /* unplugged: emitting drops, never blocks */
    return axl_ring_prod__free(&s->tx, k) >= k;
}

/* ------------------------------------------------------------------------ */
/* attach / detach                                                           */

/* Drop the current attachment; count what the link loses with it. */
static void shm_detach(struct axl_port *p, struct shm_priv *s, const char *why)
{
    if (s->state == SHM_UP) {
        uint32_t out =
            s->tx.cached_prod - atomic_load_explicit(&s->tx.sh->cons, memory_order_acquire);
        uint32_t in =
            atomic_load_explicit(&s->rx.sh->prod, memory_order_acquire) - s->rx.cached_cons;
        if (out <= s->slots) p->stats.link_drops += out;
        if (in <= s->slots) p->stats.link_drops += in;
        munmap(s->base, s->size);
        s->base = NULL;
        close_fd(s, &s->efd_in);
        close_fd(s, &s->efd_out);
        axl_info("shm", "%s side %c: peer detached (%s)", s->path, 'A' + s->side, why);
    }
    close_fd(s, &s->conn_fd);
    s->state = SHM_DOWN;
    s->tx_pending = 0;
    s->reconnect_ns = axl_clock_ns() + SHM_RECONNECT_NS;
}

static void shm_attach_rings(struct shm_priv *s)
{
    struct axl_ring_shared *ab = (void *)(s->base + s->lay.ring_off[AXL_SHMLINK_RING_AB]);
    struct axl_ring_shared *ba = (void *)(s->base + s->lay.ring_off[AXL_SHMLINK_RING_BA]);
    if (s->side == AXL_SHMLINK_SIDE_A) {
        axl_ring_prod_attach(&s->tx, ab, s->slots, s->lay.slot_size);
        axl_ring_cons_attach(&s->rx, ba, s->slots, s->lay.slot_size);
    } else {
        axl_ring_prod_attach(&s->tx, ba, s->slots, s->lay.slot_size);
        axl_ring_cons_attach(&s->rx, ab, s->slots, s->lay.slot_size);
    }
    s->tx_pending = 0;
}

/* Side A: a peer connected on conn_fd; build a fresh region and send it. */
static int shm_a_attach(struct axl_port *p, struct shm_priv *s)
{
    int memfd = -1, efd[2] = {-1, -1}, ret;
    uint8_t *base = MAP_FAILED;
    struct axl_shmlink_hdr *h;

    memfd = memfd_create("axl-shmlink", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (memfd < 0) goto err_errno;
    if (ftruncate(memfd, (off_t)s->lay.region_size) < 0) goto err_errno;
    /* Neither side may resize the region under the other's mapping. */
    if (fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) goto err_errno;
    base = mmap(NULL, s->lay.region_size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    if (base == MAP_FAILED) goto err_errno;
    efd[0] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    efd[1] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (efd[0] < 0 || efd[1] < 0) goto err_errno;

    h = (struct axl_shmlink_hdr *)(void *)base;
    memset(h, 0, sizeof(*h));
    h->magic = AXL_SHMLINK_MAGIC;
    h->version = AXL_SHMLINK_ABI_VERSION;
    h->hdr_size = AXL_SHMLINK_HDR_SIZE;
    h->slots = s->slots;
    h->slot_size = s->lay.slot_size;
    h->frame_max = s->frame_max;
    h->mtu = s->mtu;
    h->region_size = s->lay.region_size;
    h->ring_off[0] = s->lay.ring_off[0];
    h->ring_off[1] = s->lay.ring_off[1];
    h->ring_bytes = s->lay.ring_bytes;
    h->generation = s->generation + 1;
    memcpy(h->mac[AXL_SHMLINK_SIDE_A], p->mac, 6);
    axl_ring_shared_init((void *)(base + s->lay.ring_off[0]));
    axl_ring_shared_init((void *)(base + s->lay.ring_off[1]));

    struct axl_shmlink_hello hello = {AXL_SHMLINK_MAGIC, AXL_SHMLINK_ABI_VERSION,
                                      s->lay.region_size};
    int fds[3] = {memfd, efd[0], efd[1]};
    union {
        char buf[CMSG_SPACE(sizeof(fds))];
        struct cmsghdr align;
    } cm;
    struct iovec iov = {.iov_base = &hello, .iov_len = sizeof(hello)};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf, .msg_controllen = sizeof(cm.buf)};
    memset(cm.buf, 0, sizeof(cm.buf));
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(fds));
    memcpy(CMSG_DATA(c), fds, sizeof(fds));
    if (sendmsg(s->conn_fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)sizeof(hello))
        goto err_errno;

    close(memfd);
    s->base = base;
    s->size = s->lay.region_size;
    s->efd_in = efd[AXL_SHMLINK_SIDE_A];
    s->efd_out = efd[AXL_SHMLINK_SIDE_B];
    ep_add(s, s->efd_in);
    shm_attach_rings(s);
    s->generation++;
    s->state = SHM_UP;
    axl_info("shm", "%s side A: peer attached (attachment %llu)", s->path,
             (unsigned long long)s->generation);
    return 0;

err_errno:
    ret = errno ? -errno : AXL_EINVAL;
    axl_warn("shm", "%s side A: cannot attach peer: %s", s->path, strerror(errno));
    if (base != MAP_FAILED) munmap(base, s->lay.region_size);
    if (memfd >= 0) close(memfd);
    if (efd[0] >= 0) close(efd[0]);
    if (efd[1] >= 0) close(efd[1]);
    return ret;
}

/* Side B: receive A's hello with the region and doorbells from conn_fd and
 * validate everything before using it. 0, AXL_EAGAIN (nothing yet),
 * -ECONNRESET (A closed: busy or gone), AXL_EVERSION, AXL_EMALFORMED, ... */
static int shm_b_attach(struct axl_port *p, struct shm_priv *s)
{
    struct axl_shmlink_hello hello;
    struct axl_shmlink_hdr h;
    struct axl_shmlink_layout lay;
    int fds[3] = {-1, -1, -1}, nfds = 0, ret;
    uint8_t *base = MAP_FAILED;
    struct stat st;
    union {
        char buf[CMSG_SPACE(8 * sizeof(int))];
        struct cmsghdr align;
    } cm;
    struct iovec iov = {.iov_base = &hello, .iov_len = sizeof(hello)};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf, .msg_controllen = sizeof(cm.buf)};

    ssize_t n = recvmsg(s->conn_fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0)
        return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? AXL_EAGAIN : -errno;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
            if (nfds < 3)
                fds[nfds] = fd;
            else
                close(fd);
            nfds++;
        }
    }
    if (n == 0) {
        ret = -ECONNRESET;
        goto err;
    }
    if (n != (ssize_t)sizeof(hello) || nfds != 3 || (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) ||
        hello.magic != AXL_SHMLINK_MAGIC) {
        axl_err("shm", "%s side B: malformed attach message (%zd bytes, %d fds)", s->path, n, nfds);
        ret = AXL_EMALFORMED;
        goto err;
    }
    if (hello.version != AXL_SHMLINK_ABI_VERSION) {
        axl_err("shm", "%s side B: peer speaks shmlink ABI %u, we speak %u", s->path, hello.version,
                AXL_SHMLINK_ABI_VERSION);
        ret = AXL_EVERSION;
        goto err;
    }
    if (fstat(fds[0], &st) < 0 || !S_ISREG(st.st_mode) ||
        (uint64_t)st.st_size != hello.region_size || hello.region_size < AXL_SHMLINK_HDR_SIZE ||
        hello.region_size > AXL_SHMLINK_REGION_MAX) {
        axl_err("shm", "%s side B: region size does not match", s->path);
        ret = AXL_EMALFORMED;
        goto err;
    }
    int seals = fcntl(fds[0], F_GET_SEALS);
    if (seals < 0 || !(seals & F_SEAL_SHRINK)) {
        axl_err("shm", "%s side B: region is not sealed against shrinking", s->path);
        ret = AXL_EMALFORMED;
        goto err;
    }
    base = mmap(NULL, hello.region_size, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
    if (base == MAP_FAILED) {
        ret = -errno;
        goto err;
    }
    memcpy(&h, base, sizeof(h)); /* validate a private copy; never re-read */
    if (h.magic != AXL_SHMLINK_MAGIC) {
        axl_err("shm", "%s side B: bad region magic 0x%08x", s->path, h.magic);
        ret = AXL_EMALFORMED;
        goto err;
    }
    if (h.version != AXL_SHMLINK_ABI_VERSION) {
        axl_err("shm", "%s side B: region has shmlink ABI %u, we speak %u", s->path, h.version,
                AXL_SHMLINK_ABI_VERSION);
        ret = AXL_EVERSION;
        goto err;
    }
    if (h.hdr_size != AXL_SHMLINK_HDR_SIZE || axl_shmlink_layout(h.slots, h.frame_max, &lay) < 0 ||
        lay.slot_size != h.slot_size || lay.ring_bytes != h.ring_bytes ||
        lay.ring_off[0] != h.ring_off[0] || lay.ring_off[1] != h.ring_off[1] ||
        lay.region_size != h.region_size || h.region_size != hello.region_size ||
        h.mtu + AXL_SHMLINK_L2_OVERHEAD != h.frame_max) {
        axl_err("shm", "%s side B: inconsistent region header", s->path);
        ret = AXL_EMALFORMED;
        goto err;
    }
    if (s->frame_max && s->frame_max != h.frame_max) {
        axl_err("shm", "%s side B: new peer's frame size %u differs from %u", s->path, h.frame_max,
                s->frame_max);
        ret = AXL_EINVAL;
        goto err;
    }
    /* A hostile A could hand us fds of any kind: never block on them. */
    for (int i = 1; i < 3; i++) {
        int fl = fcntl(fds[i], F_GETFL);
        if (fl < 0 || fcntl(fds[i], F_SETFL, fl | O_NONBLOCK) < 0) {
            ret = -errno;
            goto err;
        }
    }
    s->lay = lay;
    s->slots = h.slots;
    s->frame_max = h.frame_max;
    s->mtu = h.mtu;
    s->base = base;
    s->size = hello.region_size;
    close(fds[0]);
    s->efd_in = fds[1 + AXL_SHMLINK_SIDE_B];
    s->efd_out = fds[1 + AXL_SHMLINK_SIDE_A];
    memcpy(base + offsetof(struct axl_shmlink_hdr, mac[AXL_SHMLINK_SIDE_B]), p->mac, 6);
    ep_add(s, s->efd_in);
    shm_attach_rings(s);
    s->generation = h.generation;
    s->state = SHM_UP;
    axl_info("shm", "%s side B: attached (%u slots of %u bytes, mtu %u)", s->path, s->slots,
             lay.slot_size, s->mtu);
    return 0;
err:
    if (base != MAP_FAILED) munmap(base, hello.region_size);
    for (int i = 0; i < 3; i++)
        if (fds[i] >= 0) close(fds[i]);
    return ret;
}

/* Connect to PATH with a non-blocking socket. 0 or -errno. */
static int shm_connect(const char *path, int *out)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), err;

    if (fd < 0) return -errno;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    /* AF_UNIX connects at once or fails (EAGAIN: the accept queue is full). */
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        err = -errno;
        close(fd);
        return err;
    }
    *out = fd;
    return 0;
}

/* Become side A: listen on PATH. 0; 1 with *live = a connection to an A that
 * already exists; or -errno. A stale socket file (nobody listening) is
 * replaced. Two processes replacing the same stale file at the same instant
 * can both end up as A (the later one owns PATH); start-up scripts avoid
 * that by removing stale paths first or by role=. */
static int shm_listen(struct shm_priv *s, int *live)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;
    int fd, ret;

    memcpy(sa.sun_path, s->path, strlen(s->path) + 1);
    for (int attempt = 0; attempt < 2; attempt++) {
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) return -errno;
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            if (listen(fd, 8) < 0 || stat(s->path, &st) < 0) {
                ret = -errno;
                close(fd);
                unlink(s->path);
                return ret;
            }
            s->listen_fd = fd;
            s->path_dev = st.st_dev;
            s->path_ino = st.st_ino;
            return 0;
        }
        ret = -errno;
        close(fd);
        if (ret != -EADDRINUSE) return ret;
        ret = shm_connect(s->path, live);
        if (ret == 0) return 1;
        if (ret != -ECONNREFUSED) return ret;
        if (lstat(s->path, &st) == 0 && !S_ISSOCK(st.st_mode))
            return -EEXIST; /* never remove something that is not a socket */
        axl_info("shm", "%s: replacing stale socket", s->path);
        unlink(s->path);
    }
    return -EADDRINUSE;
}

/* Control plane: accept/refuse peers, notice EOF, reconnect. One poll(2). */
static void shm_service(struct axl_port *p, struct shm_priv *s, uint64_t now)
{
    struct pollfd pf[2] = {{.fd = s->listen_fd, .events = POLLIN},
                           {.fd = s->conn_fd, .events = POLLIN}};
    char junk[64];

    s->ctl_next_ns = now + SHM_CTL_INTERVAL_NS;
    if (s->side == AXL_SHMLINK_SIDE_B && s->state == SHM_DOWN) {
        if (now < s->reconnect_ns) return;
        s->reconnect_ns = now + SHM_RECONNECT_NS;
        if (shm_connect(s->path, &s->conn_fd) == 0) {
            s->state = SHM_CONNECTING;
            ep_add(s, s->conn_fd);
        }
        return;
    }
    if (poll(pf, 2, 0) <= 0) return;
    if (s->conn_fd >= 0 && pf[1].revents) {
        if (s->state == SHM_CONNECTING) {
            int ret = shm_b_attach(p, s);
            if (ret < 0 && ret != AXL_EAGAIN) {
                axl_warn("shm", "%s side B: re-attach failed: %s", s->path, axl_strerror(ret));
                shm_detach(p, s, "attach failed");
            }
        } else {
            /* The peer never sends after the hello: data is discarded, EOF or
             * an error means it left. */
            ssize_t r = recv(s->conn_fd, junk, sizeof(junk), MSG_DONTWAIT);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
                shm_detach(p, s, r == 0 ? "connection closed" : strerror(errno));
        }
    }
    if (s->listen_fd >= 0 && (pf[0].revents & POLLIN)) {
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0 && s->conn_fd >= 0) {
            axl_warn("shm", "%s side A: refusing a second peer (one is attached)", s->path);
            close(fd);
        } else if (fd >= 0) {
            s->conn_fd = fd;
            ep_add(s, fd);
            if (shm_a_attach(p, s) < 0) close_fd(s, &s->conn_fd);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* TX: emission and impairment stages                                        */

static void shm_submit(struct axl_port *p, struct shm_priv *s)
{
    if (!s->tx_pending || s->state != SHM_UP) return;
    axl_ring_prod__submit(&s->tx, s->tx_pending); /* one publish per burst */
    s->tx_pending = 0;
    if (axl_ring_prod__needs_wakeup(&s->tx)) {
        uint64_t one = 1;
        if (write(s->efd_out, &one, sizeof(one)) == (ssize_t)sizeof(one)) p->stats.wakeups++;
    }
}

/* Copy pkt into the next outbound slot and free it. The caller checked room. */
static void shm_emit(struct axl_port *p, struct shm_priv *s, struct axl_pkt *pkt)
{
    uint32_t idx;

    if (s->state != SHM_UP) {
        p->stats.link_drops++;
    } else if (!axl_ring_prod__reserve(&s->tx, 1, &idx)) {
        p->stats.tx_errors++; /* not reached: callers check tx_room() first */
    } else {
        struct axl_shmlink_slot *slot = axl_ring_prod__entry(&s->tx, idx);
        slot->len = pkt->len;
        slot->flags = 0;
        memcpy(slot->data, pkt->data, pkt->len);
        s->tx_pending++;
        p->stats.tx_packets++;
        p->stats.tx_bytes += pkt->len;
    }
    axl_pkt_free(s->pool, pkt);
}

/* Tokens accrue with time. While frames wait in the rate queue the virtual
 * link is busy, so the time since the last refill is all sending time, even
 * if we were not scheduled (a descheduled sender catches up on return); an
 * idle link keeps at most `bucket` bits of credit. */
static void rate_refill(struct shm_priv *s, uint64_t now)
{
    if (now > s->tok_ns) {
        s->tokens += (double)(now - s->tok_ns) * s->imp.rate_bps / 1e9;
        s->tok_ns = now;
    }
    if (!s->nrq && s->tokens > s->bucket) s->tokens = s->bucket;
}

static void stage_rate(struct axl_port *p, struct shm_priv *s, struct axl_pkt *pkt, uint64_t now)
{
    double bits = (double)pkt->len * 8;

    if (s->imp.rate_bps == 0) {
        shm_emit(p, s, pkt);
        return;
    }
    rate_refill(s, now);
    if (!s->nrq && s->tokens >= bits) {
        s->tokens -= bits;
        shm_emit(p, s, pkt);
    } else if (s->nrq < AXL_SHMLINK_RATE_QLEN) {
        pkt->next = NULL;
        if (s->rq_tail)
            s->rq_tail->next = pkt;
        else
            s->rq_head = pkt;
        s->rq_tail = pkt;
        s->nrq++;
    } else {
        p->stats.imp_ratelimited++;
        axl_pkt_free(s->pool, pkt);
    }
}

static int held_before(const struct shm_held *a, const struct shm_held *b)
{
    return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void heap_push(struct shm_priv *s, struct axl_pkt *pkt, uint64_t due)
{
    uint32_t i = s->nheld++;
    struct shm_held e = {due, s->held_seq++, pkt};
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!held_before(&e, &s->heap[parent])) break;
        s->heap[i] = s->heap[parent];
        i = parent;
    }
    s->heap[i] = e;
}

static struct axl_pkt *heap_pop(struct shm_priv *s)
{
    struct axl_pkt *top = s->heap[0].pkt;
    struct shm_held last = s->heap[--s->nheld];
    uint32_t i = 0;
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= s->nheld) break;
        if (c + 1 < s->nheld && held_before(&s->heap[c + 1], &s->heap[c])) c++;
        if (!held_before(&s->heap[c], &last)) break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (s->nheld) s->heap[i] = last;
    return top;
}

static void stage_delay(struct axl_port *p, struct shm_priv *s, struct axl_pkt *pkt, uint64_t now)
{
    uint64_t d = s->imp.delay_ns;

    if (!s->heap) {
        stage_rate(p, s, pkt, now);
        return;
    }
    if (s->nheld >= s->held_max) { /* not reached: tx_burst checks room */
        p->stats.tx_errors++;
        axl_pkt_free(s->pool, pkt);
        return;
    }
    if (s->imp.jitter_ns) {
        uint64_t j = axl_rand_u64(&s->rng) % (2 * s->imp.jitter_ns + 1); /* bias < 2^-29 */
        d = d + j > s->imp.jitter_ns ? d + j - s->imp.jitter_ns : 0;
    }
    p->stats.imp_delayed++;
    heap_push(s, pkt, now + d);
}

static void stage_reorder(struct axl_port *p, struct shm_priv *s, struct axl_pkt *pkt, uint64_t now)
{
    if (!s->reord && axl_rand_ppm(&s->rng, s->imp.reorder_ppm)) {
        s->reord = pkt;
        s->reord_due = now + AXL_SHMLINK_REORDER_HOLD_NS;
        return;
    }
    stage_delay(p, s, pkt, now);
    if (s->reord) {
        struct axl_pkt *r = s->reord;
        s->reord = NULL;
        p->stats.imp_reord++;
        stage_delay(p, s, r, now);
    }
}

/* Loss, corruption and duplication, then the holding stages. */
static void shm_impair(struct axl_port *p, struct shm_priv *s, struct axl_pkt *pkt, uint64_t now)
{
    struct axl_pkt *clone = NULL;

    if (axl_rand_ppm(&s->rng, s->imp.loss_ppm)) {
        p->stats.imp_lost++;
        axl_pkt_free(s->pool, pkt);
        return;
    }
    if (axl_rand_ppm(&s->rng, s->imp.corrupt_ppm) && pkt->len > AXL_SHMLINK_FRAME_MIN) {
        uint32_t off =
            AXL_SHMLINK_FRAME_MIN + axl_rand_below(&s->rng, pkt->len - AXL_SHMLINK_FRAME_MIN);
        uint8_t bit = (uint8_t)(1u << axl_rand_below(&s->rng, 8));
        if (axl_pkt_is_held(pkt)) {
            /* A held frame is its owner's to send again (core/pool.h): the
             * corruption goes into a copy; the frame is handed back. */
            struct axl_pkt *cp = axl_pkt_alloc(s->pool);
            if (!cp || axl_pkt_room(s->pool, cp) < pkt->len) {
                if (cp) axl_pkt_free(s->pool, cp);
                p->stats.tx_errors++; /* no buffer for the copy: not sent */
                axl_pkt_free(s->pool, pkt);
                return;
            }
            memcpy(cp->data, pkt->data, pkt->len);
            cp->len = pkt->len;
            axl_pkt_free(s->pool, pkt);
            pkt = cp;
        }
        pkt->data[off] ^= bit;
        p->stats.imp_corrupt++;
    }
    if (axl_rand_ppm(&s->rng, s->imp.dup_ppm)) {
        clone = axl_pkt_alloc(s->pool);
        if (clone && axl_pkt_room(s->pool, clone) >= pkt->len) {
            memcpy(clone->data, pkt->data, pkt->len);
            clone->len = pkt->len;
            p->stats.imp_dup++;
        } else if (clone) {
            axl_pkt_free(s->pool, clone);
            clone = NULL;
        }
    }
    stage_reorder(p, s, pkt, now);
    if (clone) stage_reorder(p, s, clone, now);
}

static int has_held(const struct shm_priv *s)
{
    return s->reord || s->nheld || s->nrq;
}

/* Send whatever is due; what cannot go (ring full) stays held. */
static void shm_release_due(struct axl_port *p, struct shm_priv *s, uint64_t now)
{
    if (s->reord && now >= s->reord_due && tx_room(s, 1) && (!s->heap || s->nheld < s->held_max)) {
        struct axl_pkt *r = s->reord;
        s->reord = NULL; /* no successor came: goes out in order */
        stage_delay(p, s, r, now);
    }
    if (s->nrq) {
        rate_refill(s, now);
        while (s->rq_head && s->tokens >= (double)s->rq_head->len * 8 && tx_room(s, 1)) {
            struct axl_pkt *q = s->rq_head;
            s->rq_head = q->next;
            if (!s->rq_head) s->rq_tail = NULL;
            s->nrq--;
            s->tokens -= (double)q->len * 8;
            q->next = NULL;
            shm_emit(p, s, q);
        }
        if (!s->nrq && s->tokens > s->bucket) s->tokens = s->bucket;
    }
    while (s->nheld && s->heap[0].due <= now && tx_room(s, 1))
        stage_rate(p, s, heap_pop(s), now);
}

/* Earliest time something held can go, UINT64_MAX if nothing. */
static uint64_t shm_next_deadline(const struct shm_priv *s)
{
    uint64_t t = UINT64_MAX;
    if (s->reord) t = s->reord_due;
    if (s->nheld && s->heap[0].due < t) t = s->heap[0].due;
    if (s->nrq) {
        double need = (double)s->rq_head->len * 8 - s->tokens;
        uint64_t at =
            need <= 0 ? s->tok_ns : s->tok_ns + (uint64_t)(need * 1e9 / s->imp.rate_bps) + 1;
        if (at < t) t = at;
    }
    if (s->side == AXL_SHMLINK_SIDE_B && s->state == SHM_DOWN && s->reconnect_ns < t)
        t = s->reconnect_ns;
    return t;
}

/* ------------------------------------------------------------------------ */
/* ops                                                                       */

/* Periodic work on the RX path: control plane every few ms, held frames. */
static void shm_housekeeping(struct axl_port *p, struct shm_priv *s)
{
    int ctl = (++s->tick & SHM_CTL_TICK_MASK) == 0;
    if (axl_likely(!ctl && !has_held(s))) return;
    uint64_t now = axl_clock_ns();
    if (ctl && now >= s->ctl_next_ns) shm_service(p, s, now);
    if (has_held(s)) {
        shm_release_due(p, s, now);
        shm_submit(p, s);
    }
}

/* Hot: one peek, one bulk allocation, one copy per frame, one release. */
static uint32_t shm_rx_burst(struct axl_port *p, struct axl_pkt **pkts, uint32_t n)
{
    struct shm_priv *s = p->priv;
    uint32_t idx, got, nb, out = 0;
    uint64_t bytes = 0;

    shm_housekeeping(p, s);
    if (s->state != SHM_UP) return 0;
    got = axl_ring_cons__peek(&s->rx, n, &idx);
    if (!got) return 0;
    nb = axl_pkt_alloc_bulk(s->pool, pkts, got);
    for (uint32_t i = 0; i < got; i++) {
        const struct axl_shmlink_slot *slot = axl_ring_cons__entry(&s->rx, idx + i);
        if (i + 2 < got) /* slots are far apart: help the prefetcher */
            __builtin_prefetch(axl_ring_cons__entry(&s->rx, idx + i + 2));
        /* Read the length once: the peer may change it under us. */
        uint32_t len = __atomic_load_n(&slot->len, __ATOMIC_RELAXED);
        if (axl_unlikely(len < AXL_SHMLINK_FRAME_MIN || len > s->frame_max)) {
            p->stats.rx_errors++;
            if (s->bad_len_logged++ < 4)
                axl_warn("shm", "%s side %c: peer wrote a bad slot length %u (max %u); dropped",
                         s->path, 'A' + s->side, len, s->frame_max);
            continue;
        }
        if (axl_unlikely(out >= nb)) {
            p->stats.rx_nobuf++;
            continue;
        }
        struct axl_pkt *pkt = pkts[out];
        if (axl_unlikely(len > axl_pkt_room(s->pool, pkt))) {
            p->stats.rx_trunc++;
            continue;
        }
        memcpy(pkt->data, slot->data, len);
        pkt->len = len;
        pkt->queue = 0;
        pkt->ts_ns = 0; /* the engine stamps bursts with its loop clock */
        bytes += len;
        out++;
    }
    axl_ring_cons__release(&s->rx, got);
    if (out < nb) axl_pkt_free_bulk(s->pool, pkts + out, nb - out);
    p->stats.rx_packets += out;
    p->stats.rx_bytes += bytes;
    return out;
}

static uint32_t shm_tx_burst(struct axl_port *p, struct axl_pkt **pkts, uint32_t n)
{
    struct shm_priv *s = p->priv;
    uint32_t i, idx, room, used = 0;

    if (axl_unlikely(s->state != SHM_UP && !s->impaired && !has_held(s))) {
        p->stats.link_drops += n; /* unplugged wire */
        axl_pkt_free_bulk(s->pool, pkts, n);
        return n;
    }
    if (s->impaired || has_held(s)) {
        uint64_t now = axl_clock_ns();
        shm_release_due(p, s, now);
        for (i = 0; i < n; i++) {
            struct axl_pkt *pkt = pkts[i];
            if (axl_port_tx_unfit(p, pkt, AXL_SHMLINK_FRAME_MIN, s->frame_max)) {
                axl_pkt_free(s->pool, pkt);
                continue;
            }
            /* Worst case one frame becomes three emissions (itself, its
             * duplicate, a released reordered frame) or three held frames. */
            if (!tx_room(s, 3) || (s->heap && s->held_max - s->nheld < 3)) {
                p->stats.tx_full++;
                break;
            }
            shm_impair(p, s, pkt, now);
        }
        shm_release_due(p, s, now); /* zero-delay frames go out in this burst */
        shm_submit(p, s);
        return i;
    }

    /* Fast path, hot: reserve once, copy, publish once. */
    room = axl_ring_prod__reserve(&s->tx, n, &idx);
    for (i = 0; i < n; i++) {
        struct axl_pkt *pkt = pkts[i];
        if (axl_port_tx_unfit(p, pkt, AXL_SHMLINK_FRAME_MIN, s->frame_max))
            continue; /* accepted and freed below */
        if (axl_unlikely(used == room)) {
            p->stats.tx_full++;
            break;
        }
        struct axl_shmlink_slot *slot = axl_ring_prod__entry(&s->tx, idx + used++);
        slot->len = pkt->len;
        slot->flags = 0;
        memcpy(slot->data, pkt->data, pkt->len);
        p->stats.tx_bytes += pkt->len;
    }
    axl_ring_prod__cancel(&s->tx, room - used);
    p->stats.tx_packets += used;
    s->tx_pending += used;
    shm_submit(p, s);
    axl_pkt_free_bulk(s->pool, pkts, i);
    return i;
}

static int shm_flush(struct axl_port *p)
{
    struct shm_priv *s = p->priv;
    if (has_held(s)) {
        shm_release_due(p, s, axl_clock_ns());
        shm_submit(p, s);
    }
    return 0;
}

static int shm_fd(struct axl_port *p)
{
    struct shm_priv *s = p->priv;
    return s->ep_fd;
}

static int shm_prepare_sleep(struct axl_port *p)
{
    struct shm_priv *s = p->priv;
    uint64_t now = axl_clock_ns(), t;

    if (has_held(s)) {
        shm_release_due(p, s, now);
        shm_submit(p, s);
    }
    t = shm_next_deadline(s);
    if (t <= now) return 0;
    if (t != UINT64_MAX && t != s->timer_at) {
        struct itimerspec its = {.it_value = {.tv_sec = (time_t)(t / AXL_NS_PER_S),
                                              .tv_nsec = (long)(t % AXL_NS_PER_S)}};
        if (timerfd_settime(s->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
            return 0; /* cannot arm: keep polling rather than oversleep */
        s->timer_at = t;
    }
    if (s->state != SHM_UP) return 1;
    if (!axl_ring_cons__prepare_sleep(&s->rx)) {
        axl_ring_cons__wake_done(&s->rx); /* work raced in: no doorbells needed */
        return 0;
    }
    return 1;
}

static void shm_wake_done(struct axl_port *p)
{
    struct shm_priv *s = p->priv;
    uint64_t v;

    if (s->state == SHM_UP) {
        axl_ring_cons__wake_done(&s->rx);
        if (read(s->efd_in, &v, sizeof(v)) < 0 && errno != EAGAIN)
            axl_debug("shm", "%s: doorbell read: %s", s->path, strerror(errno));
    }
    if (s->timer_at) {
        if (read(s->timer_fd, &v, sizeof(v)) == (ssize_t)sizeof(v)) s->timer_at = 0;
    }
    shm_service(p, s, axl_clock_ns());
}

/* ------------------------------------------------------------------------ */
/* open / close                                                              */

static int parse_pct(const char *path, const char *key, const char *v, double max, uint32_t *ppm)
{
    double d;
    if (axl_parse_double(v, &d) < 0 || !(d >= 0 && d <= max)) {
        axl_err("shm", "%s: bad %s=%s (expected a percentage 0..%g)", path, key, v, max);
        return AXL_EINVAL;
    }
    *ppm = (uint32_t)(d * 10000.0 + 0.5);
    return 0;
}

static int parse_u64_max(const char *path, const char *key, const char *v, uint64_t max,
                         uint64_t *out)
{
    if (axl_parse_u64(v, out) < 0 || *out > max) {
        axl_err("shm", "%s: bad %s=%s (expected 0..%llu)", path, key, v, (unsigned long long)max);
        return AXL_EINVAL;
    }
    return 0;
}

static int shm_parse_opts(struct shm_priv *s, const struct axl_port_cfg *cfg, uint32_t *wait_ms,
                          int *have_seed)
{
    static const char *const known[] = {"loss", "dup",  "reorder", "corrupt", "delay", "jitter",
                                        "rate", "seed", "slots",   "role",    "wait"};
    const char *v;
    uint64_t u;

    for (uint32_t i = 0; i < cfg->nopts && i < AXL_PORT_MAX_OPTS; i++) {
        size_t k;
        for (k = 0; k < AXL_ARRAY_SIZE(known); k++)
            if (strcmp(cfg->opts[i].key, known[k]) == 0) break;
        if (k == AXL_ARRAY_SIZE(known)) {
            axl_err("shm", "%s: unknown option '%s'", s->path, cfg->opts[i].key);
            return AXL_EINVAL;
        }
    }
    if ((v = axl_port_opt(cfg, "loss")) && parse_pct(s->path, "loss", v, 100, &s->imp.loss_ppm))
        return AXL_EINVAL;
    if ((v = axl_port_opt(cfg, "dup")) && parse_pct(s->path, "dup", v, 100, &s->imp.dup_ppm))
        return AXL_EINVAL;
    if ((v = axl_port_opt(cfg, "corrupt")) &&
        parse_pct(s->path, "corrupt", v, 100, &s->imp.corrupt_ppm))
        return AXL_EINVAL;
    if ((v = axl_port_opt(cfg, "reorder"))) {
        uint32_t ppm;
        if (parse_pct(s->path, "reorder", v, 50, &ppm)) return AXL_EINVAL;
        /* q/(1+q) of frames end up late when each is held with probability
         * q while none is held: choose q so that this equals P. */
        double f = ppm / 1e6;
        s->imp.reorder_ppm = (uint32_t)(f / (1.0 - f) * 1e6 + 0.5);
    }
    if ((v = axl_port_opt(cfg, "delay"))) {
        if (parse_u64_max(s->path, "delay", v, SHM_MAX_DELAY_US, &u)) return AXL_EINVAL;
        s->imp.delay_ns = u * AXL_NS_PER_US;
    }
    if ((v = axl_port_opt(cfg, "jitter"))) {
        if (parse_u64_max(s->path, "jitter", v, SHM_MAX_DELAY_US, &u)) return AXL_EINVAL;
        s->imp.jitter_ns = u * AXL_NS_PER_US;
    }
    if ((v = axl_port_opt(cfg, "rate"))) {
        double d;
        if (axl_parse_double(v, &d) < 0 || !(d > 0 && d <= SHM_MAX_RATE_MBIT)) {
            axl_err("shm", "%s: bad rate=%s (expected Mbit/s, >0..%g)", s->path, v,
                    SHM_MAX_RATE_MBIT);
            return AXL_EINVAL;
        }
        s->imp.rate_bps = d * 1e6;
    }
    if ((v = axl_port_opt(cfg, "seed"))) {
        if (parse_u64_max(s->path, "seed", v, UINT64_MAX, &s->seed)) return AXL_EINVAL;
        *have_seed = 1;
    }
    if ((v = axl_port_opt(cfg, "slots"))) {
        if (axl_parse_u64(v, &u) < 0 || u < AXL_SHMLINK_SLOTS_MIN || u > AXL_SHMLINK_SLOTS_MAX ||
            !axl_is_pow2(u)) {
            axl_err("shm", "%s: bad slots=%s (expected a power of two, %u..%u)", s->path, v,
                    AXL_SHMLINK_SLOTS_MIN, AXL_SHMLINK_SLOTS_MAX);
            return AXL_EINVAL;
        }
        s->slots = (uint32_t)u;
    }
    if ((v = axl_port_opt(cfg, "role"))) {
        if (strcmp(v, "a") == 0 || strcmp(v, "A") == 0)
            s->role = SHM_ROLE_A;
        else if (strcmp(v, "b") == 0 || strcmp(v, "B") == 0)
            s->role = SHM_ROLE_B;
        else if (strcmp(v, "auto") == 0)
            s->role = SHM_ROLE_AUTO;
        else {
            axl_err("shm", "%s: bad role=%s (expected a, b or auto)", s->path, v);
            return AXL_EINVAL;
        }
    }
    if ((v = axl_port_opt(cfg, "wait"))) {
        if (parse_u64_max(s->path, "wait", v, 600000, &u)) return AXL_EINVAL;
        *wait_ms = (uint32_t)u;
    }
    s->impaired = s->imp.loss_ppm || s->imp.dup_ppm || s->imp.reorder_ppm || s->imp.corrupt_ppm ||
                  s->imp.delay_ns || s->imp.jitter_ns || s->imp.rate_bps > 0;
    return 0;
}

static void shm_port_close(struct axl_port *p);

/* Decide the side: connect to an existing A, or become A. Retries (10 ms
 * apart, until deadline) while PATH does not exist yet (role=b) or while A's
 * accept queue is full. */
static int shm_establish(struct shm_priv *s, uint64_t deadline)
{
    int ret;
    for (;;) {
        ret = -ENOENT;
        if (s->role != SHM_ROLE_A) {
            ret = shm_connect(s->path, &s->conn_fd);
            if (ret == 0) {
                s->side = AXL_SHMLINK_SIDE_B;
                return 0;
            }
            if (ret != -ENOENT && ret != -ECONNREFUSED && ret != -EAGAIN) return ret;
        }
        if (s->role != SHM_ROLE_B && ret != -EAGAIN) {
            int live = -1;
            ret = shm_listen(s, &live);
            if (ret == 0) {
                s->side = AXL_SHMLINK_SIDE_A;
                return 0;
            }
            if (ret == 1 && s->role == SHM_ROLE_AUTO) {
                s->conn_fd = live; /* someone became A just before us */
                s->side = AXL_SHMLINK_SIDE_B;
                return 0;
            }
            if (ret == 1) {
                close(live);
                axl_err("shm", "%s: role=a but a side A is already listening", s->path);
                return AXL_EADDRINUSE;
            }
            if (ret != -EAGAIN) return ret;
        }
        if (axl_clock_ns() >= deadline) {
            axl_err("shm", "%s: no side A answered within the wait time", s->path);
            return -ETIMEDOUT;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static int shm_port_open(struct axl_port *p, const struct axl_port_cfg *cfg)
{
    struct shm_priv *s;
    uint32_t wait_ms = SHM_WAIT_MS_DEFAULT;
    int have_seed = 0, ret;
    uint64_t deadline;

    s = calloc(1, sizeof(*s));
    if (!s) return AXL_ENOMEM;
    p->priv = s;
    s->listen_fd = s->conn_fd = s->efd_in = s->efd_out = s->ep_fd = s->timer_fd = -1;
    s->pool = cfg->pool;
    s->slots = AXL_SHMLINK_SLOTS_DEFAULT;
    if (strlen(cfg->name) >= sizeof(s->path)) {
        axl_err("shm", "%s: path too long for a Unix socket (max %zu bytes)", cfg->name,
                sizeof(s->path) - 1);
        ret = AXL_EINVAL;
        goto err;
    }
    memcpy(s->path, cfg->name, strlen(cfg->name) + 1);
    ret = shm_parse_opts(s, cfg, &wait_ms, &have_seed);
    if (ret < 0) goto err;
    s->mtu = cfg->mtu ? cfg->mtu : SHM_MTU_DEFAULT;
    s->frame_max = s->mtu + AXL_SHMLINK_L2_OVERHEAD;
    if (axl_shmlink_layout(s->slots, s->frame_max, &s->lay) < 0) {
        axl_err("shm", "%s: %u slots of %u bytes do not fit", s->path, s->slots, s->frame_max);
        ret = AXL_EINVAL;
        goto err;
    }

    s->ep_fd = epoll_create1(EPOLL_CLOEXEC);
    s->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (s->ep_fd < 0 || s->timer_fd < 0) {
        ret = -errno;
        goto err;
    }
    ep_add(s, s->timer_fd);

    deadline = axl_clock_ns() + (uint64_t)wait_ms * AXL_NS_PER_MS;
    ret = shm_establish(s, deadline);
    if (ret < 0) goto err;
    if (cfg->has_mac)
        memcpy(p->mac, cfg->mac, 6);
    else
        shm_derive_mac(s->path, s->side, p->mac);

    if (s->side == AXL_SHMLINK_SIDE_A) {
        ep_add(s, s->listen_fd);
        s->state = SHM_DOWN;
    } else {
        /* B: the region comes with A's answer; A's engine serves it. */
        uint32_t cfg_slots = s->slots, cfg_frame = s->frame_max;
        s->frame_max = 0; /* adopt A's */
        s->state = SHM_CONNECTING;
        ep_add(s, s->conn_fd);
        for (;;) {
            uint64_t now = axl_clock_ns();
            struct pollfd pf = {.fd = s->conn_fd, .events = POLLIN};
            if (now >= deadline) {
                axl_err("shm", "%s side B: side A did not answer within %u ms", s->path, wait_ms);
                ret = -ETIMEDOUT;
                goto err;
            }
            int ms = (int)((deadline - now + AXL_NS_PER_MS - 1) / AXL_NS_PER_MS);
            if (poll(&pf, 1, ms) < 0 && errno != EINTR) {
                ret = -errno;
                goto err;
            }
            ret = shm_b_attach(p, s);
            if (ret == 0) break;
            if (ret == -ECONNRESET) {
                axl_err("shm",
                        "%s side B: side A closed the connection (another peer is "
                        "attached?)",
                        s->path);
                ret = AXL_EADDRINUSE;
                goto err;
            }
            if (ret != AXL_EAGAIN) goto err;
        }
        if ((cfg->mtu && cfg->mtu != s->mtu) ||
            (axl_port_opt(cfg, "slots") && cfg_slots != s->slots))
            axl_warn("shm", "%s side B: using side A's mtu %u and %u slots (asked %u, %u)", s->path,
                     s->mtu, s->slots, cfg_frame - AXL_SHMLINK_L2_OVERHEAD, cfg_slots);
    }
    p->mtu = s->mtu;
    p->max_frame = s->frame_max;
    p->ifindex = 0;

    if (s->imp.delay_ns || s->imp.jitter_ns) {
        uint32_t half = s->pool->nbufs / 2;
        s->held_max = half < AXL_SHMLINK_HELD_MAX ? half : AXL_SHMLINK_HELD_MAX;
        if (s->held_max < 3) {
            axl_err("shm", "%s: pool too small to hold delayed frames", s->path);
            ret = AXL_EINVAL;
            goto err;
        }
        s->heap = calloc(s->held_max, sizeof(*s->heap));
        if (!s->heap) {
            ret = AXL_ENOMEM;
            goto err;
        }
    }
    if (s->imp.rate_bps > 0) {
        double ms_bits = s->imp.rate_bps / 1000.0;
        s->bucket = AXL_MAX(2.0 * s->frame_max * 8, ms_bits);
        s->tokens = s->bucket;
        s->tok_ns = axl_clock_ns();
    }
    if (s->impaired) {
        if (!have_seed && getrandom(&s->seed, sizeof(s->seed), 0) != (ssize_t)sizeof(s->seed))
            s->seed = axl_clock_ns() ^ ((uint64_t)getpid() << 32);
        if (!have_seed)
            axl_warn("shm",
                     "%s side %c: impairments with random seed %llu (add seed=%llu to "
                     "repeat this run)",
                     s->path, 'A' + s->side, (unsigned long long)s->seed,
                     (unsigned long long)s->seed);
        axl_rand_seed(&s->rng, s->seed);
    }
    s->ctl_next_ns = axl_clock_ns() + SHM_CTL_INTERVAL_NS;
    axl_info("shm", "%s: side %c, mtu %u, %u slots per direction", s->path, 'A' + s->side, s->mtu,
             s->slots);
    return 0;
err:
    shm_port_close(p);
    return ret;
}

static void shm_port_close(struct axl_port *p)
{
    struct shm_priv *s = p->priv;

    if (!s) return;
    /* Held frames go back to the pool: the wire is cut with them on it. */
    if (s->reord) {
        axl_pkt_free(s->pool, s->reord);
        s->reord = NULL;
        p->stats.link_drops++;
    }
    while (s->nheld) {
        axl_pkt_free(s->pool, heap_pop(s));
        p->stats.link_drops++;
    }
    while (s->rq_head) {
        struct axl_pkt *q = s->rq_head;
        s->rq_head = q->next;
        axl_pkt_free(s->pool, q);
        p->stats.link_drops++;
    }
    s->rq_tail = NULL;
    s->nrq = 0;
    shm_detach(p, s, "port closed");
    if (s->listen_fd >= 0) {
        struct stat st;
        /* Unlink PATH only if it is still our socket (a new A may own it). */
        if (stat(s->path, &st) == 0 && st.st_dev == s->path_dev && st.st_ino == s->path_ino)
            unlink(s->path);
        close_fd(s, &s->listen_fd);
    }
    close_fd(s, &s->timer_fd);
    if (s->ep_fd >= 0) close(s->ep_fd);
    free(s->heap);
    free(s);
    p->priv = NULL;
}

const struct axl_port_ops axl_port_shm_ops = {
    .name = "shm",
    .dev_setup = NULL,
    .dev_teardown = NULL,
    .open = shm_port_open,
    .rx_burst = shm_rx_burst,
    .tx_burst = shm_tx_burst,
    .flush = shm_flush,
    .fd = shm_fd,
    .prepare_sleep = shm_prepare_sleep,
    .wake_done = shm_wake_done,
    .close = shm_port_close,
};
