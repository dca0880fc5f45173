/* SPDX-License-Identifier: MIT */
/*
 * posix/poll.c - readiness calls of the POSIX layer: poll, select and
 * epoll (level- and edge-triggered, EPOLLONESHOT, EPOLLRDHUP).
 *
 * poll/select are stateless: they run the pump, then ask each of our
 * descriptors for its readiness (axp_ready, O(n) in the set, as the
 * kernel's poll is). epoll keeps, per instance, a ready list like the
 * kernel's eventpoll: the pump's events put a registration on it
 * (axp_edge), epoll_ctl ADD/MOD put it there when the socket is ready
 * already, and epoll_wait looks only at that list (O(ready), not O(set)):
 * an entry whose socket is no longer ready leaves the list; an
 * edge-triggered or one-shot entry leaves it once reported; a
 * level-triggered one stays while ready.
 *
 * Kernel descriptors in the set: poll/select hand them to the kernel's
 * poll; an epoll instance registers them in a kernel epoll of its own. When
 * nothing is ready, the wait happens in the kernel on those descriptors plus
 * axl_ctx_fd() (RTC mode: capped at AXP_MIX_WAIT_MS, since the engine's
 * timers do not wake that descriptor); without kernel descriptors the wait
 * is axl_poll's own (futex / port), so an idle program sleeps.
 *
 * Call chain: application -> axp_poll/axp_select/axp_epoll_* -> axp_pump,
 * axp_ready (instance.c); kernel poll/epoll_wait for kernel descriptors.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "posix/posix_priv.h"

/** AXP_MIX_WAIT_MS: longest kernel wait in RTC mode with kernel descriptors
 * in the set (the engine's timers must run). */
#define AXP_MIX_WAIT_MS 10

/** Registration bits that are flags, not interest (Linux EP_PRIVATE_BITS). */
#define EP_FLAGS ((uint32_t)(EPOLLET | EPOLLONESHOT | EPOLLEXCLUSIVE | EPOLLWAKEUP))

static int ep_has_ready(struct axp *P, struct axp_ep *ep);

/* Wait for "something" with kernel descriptors k[0..nk) (room for one more
 * entry at k[nk]). timeout_ns < 0: none. 0 or -errno. */
static int mixed_wait(struct axp *P, struct pollfd *k, nfds_t nk, int64_t timeout_ns)
{
    int ms = timeout_ns < 0 ? -1 : (int)((timeout_ns + 999999) / 1000000);
    int cfd = axl_ctx_fd(P->ctx);
    int rtc = axl_ctx_mode(P->ctx) == AXL_MODE_RTC;
    if ((cfd < 0 || rtc) && (ms < 0 || ms > (cfd < 0 ? 1 : AXP_MIX_WAIT_MS)))
        ms = cfd < 0 ? 1 : AXP_MIX_WAIT_MS;
    axl_flush(P->ctx);
    nfds_t n = nk;
    if (cfd >= 0) {
        k[n].fd = cfd;
        k[n].events = POLLIN;
        k[n].revents = 0;
        n++;
    }
    P->st.waits++;
    if (poll(k, n, ms) < 0) return -errno;
    return 0;
}

static int64_t deadline_ms(int timeout_ms)
{
    return timeout_ms > 0 ? axp_now_ns() + (int64_t)timeout_ms * 1000000 : 0;
}

/* Time left: -1 none, 0 expired, else ns. */
static int64_t left(int timeout_ms, int64_t deadline)
{
    if (timeout_ms < 0) return -1;
    if (timeout_ms == 0) return 0;
    int64_t t = deadline - axp_now_ns();
    return t > 0 ? t : 0;
}

/* ---- poll / select ---------------------------------------------------------------------- */

int axp_poll(struct pollfd *fds, nfds_t nfds, int timeout_ms)
{
    struct axp *P = axp_g;
    if (!P) return poll(fds, nfds, timeout_ms);
    if (!fds && nfds) return axp_fail(EFAULT);
    if (nfds > 1048576) return axp_fail(EINVAL); /* RLIMIT_NOFILE's ceiling */
    struct pollfd kst[33];
    nfds_t kidx_st[32];
    struct pollfd *k = kst;
    nfds_t *kidx = kidx_st;
    nfds_t nk = 0;
    for (nfds_t i = 0; i < nfds; i++) {
        struct axp_fde *f = axp_fde(fds[i].fd);
        if (fds[i].fd >= 0 && (!f || f->kind == AXP_K_NONE)) nk++;
    }
    if (nk > 32) {
        k = malloc((nk + 1) * sizeof(*k));
        kidx = malloc(nk * sizeof(*kidx));
        if (!k || !kidx) {
            free(k);
            free(kidx);
            return axp_fail(ENOMEM);
        }
    }
    int64_t deadline = deadline_ms(timeout_ms);
    int ret;
    for (;;) {
        int r = axp_pump(P, 0);
        if (r < 0) {
            ret = axp_fail(-r);
            break;
        }
        int ready = 0;
        nfds_t j = 0;
        for (nfds_t i = 0; i < nfds; i++) {
            struct pollfd *p = &fds[i];
            p->revents = 0;
            if (p->fd < 0) continue;
            struct axp_fde *f = axp_fde(p->fd);
            if (!f || f->kind == AXP_K_NONE) {
                k[j].fd = p->fd;
                k[j].events = p->events;
                k[j].revents = 0;
                kidx[j++] = i;
                continue;
            }
            uint32_t m = 0;
            if (f->kind == AXP_K_FREE)
                m = POLLNVAL;
            else if (f->kind == AXP_K_SOCK)
                m = axp_ready(P, f->u.s) & ((uint16_t)p->events | POLLERR | POLLHUP);
            else
                m = ep_has_ready(P, f->u.ep) ? (POLLIN & (uint16_t)p->events) : 0;
            p->revents = (short)m;
            if (m) ready++;
        }
        if (nk) {
            int kr = poll(k, nk, 0);
            if (kr < 0) {
                ret = -1;
                break;
            }
            for (nfds_t x = 0; x < nk; x++) {
                fds[kidx[x]].revents = k[x].revents;
                if (k[x].revents) ready++;
            }
        }
        int64_t t = left(timeout_ms, deadline);
        if (ready || t == 0) {
            ret = ready;
            break;
        }
        r = nk ? mixed_wait(P, k, nk, t) : axp_pump(P, t);
        if (r < 0) {
            ret = axp_fail(-r);
            break;
        }
    }
    if (k != kst) {
        int e = errno;
        free(k);
        free(kidx);
        errno = e;
    }
    return ret;
}

int axp_select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *tv)
{
    if (!axp_g) return select(nfds, rd, wr, ex, tv);
    if (nfds < 0 || nfds > FD_SETSIZE) return axp_fail(EINVAL);
    int timeout_ms = -1;
    if (tv) {
        if (tv->tv_sec < 0 || tv->tv_usec < 0 || tv->tv_usec >= 1000000) return axp_fail(EINVAL);
        int64_t ms = (int64_t)tv->tv_sec * 1000 + (tv->tv_usec + 999) / 1000;
        timeout_ms = ms > 0x7fffffff ? 0x7fffffff : (int)ms;
    }
    struct pollfd pst[64];
    struct pollfd *p = pst;
    int n = 0;
    for (int fd = 0; fd < nfds; fd++)
        if ((rd && FD_ISSET(fd, rd)) || (wr && FD_ISSET(fd, wr)) || (ex && FD_ISSET(fd, ex))) n++;
    if (n > 64 && !(p = malloc((size_t)n * sizeof(*p)))) return axp_fail(ENOMEM);
    int i = 0;
    for (int fd = 0; fd < nfds; fd++) {
        short ev = 0;
        if (rd && FD_ISSET(fd, rd)) ev |= POLLIN;
        if (wr && FD_ISSET(fd, wr)) ev |= POLLOUT;
        if (ex && FD_ISSET(fd, ex)) ev |= POLLPRI;
        if (!ev) continue;
        p[i].fd = fd;
        p[i].events = ev;
        p[i].revents = 0;
        i++;
    }
    int64_t t0 = axp_now_ns();
    int r = axp_poll(p, (nfds_t)n, timeout_ms);
    if (r < 0) goto out;
    for (i = 0; i < n; i++)
        if (p[i].revents & POLLNVAL) {
            r = axp_fail(EBADF);
            goto out;
        }
    if (rd) FD_ZERO(rd);
    if (wr) FD_ZERO(wr);
    if (ex) FD_ZERO(ex);
    r = 0;
    /* Linux's POLLIN_SET / POLLOUT_SET / POLLEX_SET */
    for (i = 0; i < n; i++) {
        short e = p[i].events, v = p[i].revents;
        if ((e & POLLIN) && (v & (POLLIN | POLLRDNORM | POLLRDBAND | POLLHUP | POLLERR))) {
            FD_SET(p[i].fd, rd);
            r++;
        }
        if ((e & POLLOUT) && (v & (POLLOUT | POLLWRNORM | POLLWRBAND | POLLERR))) {
            FD_SET(p[i].fd, wr);
            r++;
        }
        if ((e & POLLPRI) && (v & POLLPRI)) {
            FD_SET(p[i].fd, ex);
            r++;
        }
    }
    if (tv) { /* Linux writes back the time not slept */
        int64_t used = axp_now_ns() - t0;
        int64_t rem = (int64_t)tv->tv_sec * 1000000000 + (int64_t)tv->tv_usec * 1000 - used;
        if (rem < 0) rem = 0;
        tv->tv_sec = (time_t)(rem / 1000000000);
        tv->tv_usec = (suseconds_t)(rem % 1000000000 / 1000);
    }
out:
    if (p != pst) {
        int e = errno;
        free(p);
        errno = e;
    }
    return r;
}

/* ---- epoll ------------------------------------------------------------------------------- */

int axp_epoll_create1(int flags)
{
    if (flags & ~EPOLL_CLOEXEC) return axp_fail(EINVAL);
    if (axp_ensure() < 0) return -1;
    struct axp *P = axp_g;
    struct axp_ep *ep = calloc(1, sizeof(*ep));
    if (!ep) return axp_fail(ENOMEM);
    int fd = axp_fd_alloc(P);
    if (fd < 0) {
        free(ep);
        return axp_fail(-fd);
    }
    ep->fd = fd;
    ep->kfd = -1;
    P->tab[fd].kind = AXP_K_EPOLL;
    P->tab[fd].cloexec = !!(flags & EPOLL_CLOEXEC);
    P->tab[fd].u.ep = ep;
    return fd;
}

int axp_epoll_create(int size)
{
    if (size <= 0) return axp_fail(EINVAL);
    return axp_epoll_create1(0);
}

static void rdl_unlink(struct axp_ep *ep, struct axp_epi *e)
{
    if (!e->on_rdl) return;
    if (e->rd_prev)
        e->rd_prev->rd_next = e->rd_next;
    else
        ep->rd_head = e->rd_next;
    if (e->rd_next)
        e->rd_next->rd_prev = e->rd_prev;
    else
        ep->rd_tail = e->rd_prev;
    e->rd_next = e->rd_prev = NULL;
    e->on_rdl = 0;
}

static void epi_free(struct axp_ep *ep, struct axp_epi *e, int unlink_sock)
{
    rdl_unlink(ep, e);
    if (e->all_prev)
        e->all_prev->all_next = e->all_next;
    else
        ep->all = e->all_next;
    if (e->all_next) e->all_next->all_prev = e->all_prev;
    if (unlink_sock) {
        struct axp_epi **pp = &e->s->epi;
        while (*pp && *pp != e) pp = &(*pp)->s_next;
        if (*pp) *pp = e->s_next;
    }
    free(e);
}

void axp_epi_detach_sock(struct axp_sock *s)
{
    while (s->epi) {
        struct axp_epi *e = s->epi;
        s->epi = e->s_next;
        epi_free(e->ep, e, 0);
    }
}

void axp_ep_free(struct axp *P, struct axp_ep *ep)
{
    (void)P;
    while (ep->all) epi_free(ep, ep->all, 1);
    if (ep->kfd >= 0) close(ep->kfd);
    free(ep);
}

static uint32_t interest(const struct axp_epi *e)
{
    return e->events & ~EP_FLAGS;
}

/* Queue e if its socket is ready now for what it asks (ep_insert/ep_modify). */
static void epi_check(struct axp *P, struct axp_epi *e)
{
    if (axp_ready(P, e->s) & interest(e)) axp_edge(P, e->s, interest(e));
}

int axp_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
    struct axp_fde *f = axp_fde(epfd);
    if (epfd < 0) return axp_fail(EBADF);
    if (!f || f->kind == AXP_K_NONE) {
        if (axp_is_ours(fd)) return axp_fail(EPERM); /* a kernel epoll cannot watch ours */
        return epoll_ctl(epfd, op, fd, ev);
    }
    struct axp *P = axp_g;
    if (f->kind == AXP_K_FREE) return axp_fail(EBADF);
    if (f->kind != AXP_K_EPOLL) return axp_fail(EINVAL);
    struct axp_ep *ep = f->u.ep;
    if (op != EPOLL_CTL_ADD && op != EPOLL_CTL_MOD && op != EPOLL_CTL_DEL) return axp_fail(EINVAL);
    if (op != EPOLL_CTL_DEL && !ev) return axp_fail(EFAULT);
    if (fd < 0) return axp_fail(EBADF);
    if (fd == epfd) return axp_fail(EINVAL);
    struct axp_fde *t = axp_fde(fd);
    if (!t || t->kind == AXP_K_NONE) {
        /* a kernel descriptor: into our kernel epoll */
        if (ep->kfd < 0) {
            if (op != EPOLL_CTL_ADD) {
                /* nothing registered yet: ENOENT, or EBADF for a bad fd */
                if (fcntl(fd, F_GETFD) < 0) return -1;
                return axp_fail(ENOENT);
            }
            ep->kfd = epoll_create1(EPOLL_CLOEXEC);
            if (ep->kfd < 0) return -1;
        }
        int r = epoll_ctl(ep->kfd, op, fd, ev);
        if (r == 0 && op == EPOLL_CTL_ADD) ep->nkernel++;
        if (r == 0 && op == EPOLL_CTL_DEL) ep->nkernel--;
        return r;
    }
    if (t->kind == AXP_K_FREE) return axp_fail(EBADF);
    if (t->kind == AXP_K_EPOLL) return axp_fail(EINVAL); /* nesting our epolls: not supported */
    struct axp_sock *s = t->u.s;
    struct axp_epi *e = s->epi;
    while (e && e->ep != ep) e = e->s_next;
    switch (op) {
    case EPOLL_CTL_ADD:
        if (e) return axp_fail(EEXIST);
        e = calloc(1, sizeof(*e));
        if (!e) return axp_fail(ENOMEM);
        e->ep = ep;
        e->s = s;
        e->fd = fd;
        e->events = ev->events | EPOLLERR | EPOLLHUP; /* always reported (epoll_ctl(2)) */
        e->data = ev->data;
        e->s_next = s->epi;
        s->epi = e;
        e->all_next = ep->all;
        if (ep->all) ep->all->all_prev = e;
        ep->all = e;
        epi_check(P, e);
        return 0;
    case EPOLL_CTL_MOD:
        if (!e) return axp_fail(ENOENT);
        if ((ev->events | e->events) & EPOLLEXCLUSIVE) return axp_fail(EINVAL);
        e->events = ev->events | EPOLLERR | EPOLLHUP;
        e->data = ev->data;
        rdl_unlink(ep, e);
        epi_check(P, e);
        return 0;
    default:
        if (!e) return axp_fail(ENOENT);
        epi_free(ep, e, 1);
        return 0;
    }
}

/* Report ready registrations (ep_send_events). Hot when busy. */
static int harvest(struct axp *P, struct axp_ep *ep, struct epoll_event *out, int max)
{
    struct axp_epi *e = ep->rd_head;
    ep->rd_head = ep->rd_tail = NULL;
    struct axp_epi *keep_head = NULL, *keep_tail = NULL; /* level-triggered, still ready */
    int n = 0;
    while (e) {
        struct axp_epi *next = e->rd_next;
        if (n == max) { /* give the rest back, ahead of the re-queued */
            e->rd_prev = NULL;
            ep->rd_head = e;
            struct axp_epi *last = e;
            while (last->rd_next) last = last->rd_next;
            ep->rd_tail = last;
            break;
        }
        e->rd_next = e->rd_prev = NULL;
        e->on_rdl = 0;
        uint32_t m = axp_ready(P, e->s) & interest(e);
        if (m) {
            out[n].events = m;
            out[n].data = e->data;
            n++;
            if (e->events & EPOLLONESHOT)
                e->events &= EP_FLAGS; /* disabled until EPOLL_CTL_MOD */
            else if (!(e->events & EPOLLET)) {
                e->on_rdl = 1;
                e->rd_prev = keep_tail;
                if (keep_tail)
                    keep_tail->rd_next = e;
                else
                    keep_head = e;
                keep_tail = e;
            }
        }
        e = next;
    }
    if (keep_head) {
        if (ep->rd_tail) {
            ep->rd_tail->rd_next = keep_head;
            keep_head->rd_prev = ep->rd_tail;
        } else {
            ep->rd_head = keep_head;
        }
        ep->rd_tail = keep_tail;
    }
    return n;
}

static int ep_has_ready(struct axp *P, struct axp_ep *ep)
{
    for (struct axp_epi *e = ep->rd_head; e; e = e->rd_next)
        if (axp_ready(P, e->s) & interest(e)) return 1;
    if (ep->nkernel) {
        struct pollfd p = { ep->kfd, POLLIN, 0 };
        if (poll(&p, 1, 0) > 0) return 1;
    }
    return 0;
}

int axp_epoll_wait(int epfd, struct epoll_event *ev, int maxevents, int timeout_ms)
{
    struct axp_fde *f = axp_fde(epfd);
    if (epfd < 0) return axp_fail(EBADF);
    if (!f || f->kind == AXP_K_NONE) return epoll_wait(epfd, ev, maxevents, timeout_ms);
    struct axp *P = axp_g;
    if (f->kind == AXP_K_FREE) return axp_fail(EBADF);
    if (f->kind != AXP_K_EPOLL) return axp_fail(EINVAL);
    if (maxevents <= 0) return axp_fail(EINVAL);
    if (!ev) return axp_fail(EFAULT);
    struct axp_ep *ep = f->u.ep;
    int64_t deadline = deadline_ms(timeout_ms);
    for (;;) {
        int r = axp_pump(P, 0);
        if (r < 0) return axp_fail(-r);
        int n = ep->rd_head ? harvest(P, ep, ev, maxevents) : 0;
        if (ep->nkernel && n < maxevents) {
            int k = epoll_wait(ep->kfd, ev + n, maxevents - n, 0);
            if (k > 0) n += k;
        }
        int64_t t = left(timeout_ms, deadline);
        if (n || t == 0) return n;
        if (ep->nkernel) {
            struct pollfd k[2] = { { ep->kfd, POLLIN, 0 } };
            r = mixed_wait(P, k, 1, t);
        } else {
            r = axp_pump(P, t);
        }
        if (r < 0) return axp_fail(-r);
    }
}
