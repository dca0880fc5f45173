/* SPDX-License-Identifier: MIT */
/*
 * apps.c - the supervisor's application sessions (ctl_proto.h "attach",
 * "reattach", "listen", "unlisten", "apps", "listeners"): who is attached
 * (SO_PEERCRED pid and uid, a name, an id), a channel socket per replica,
 * the applications' entries in the listener registry, and the end of a
 * session.
 *
 * A channel socket is one SOCK_SEQPACKET socketpair per (application,
 * replica incarnation): the replica's end travels over the replica's
 * supervisor link in a NEW_APP message (link.h), the application's end in
 * the attach / reattach reply (ctl.c, SCM_RIGHTS). The supervisor keeps
 * neither end. When the control connection closes, every running replica
 * gets APP_GONE and the app's registry entries go; a replica that restarts
 * knows nothing of the app until it reattaches.
 *
 * Call chain: ctl.c handle_line -> sup_app_* -> sup_replica_link
 * (supervisor.c) -> axl_link_send (link.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netinet/in.h>

#include "core/err.h"
#include "core/log.h"
#include "stackd/stackd.h"

const char *axl_reg_kind_name(unsigned kind)
{
    switch (kind) {
    case AXL_REG_UDP_ECHO: return "udp-echo";
    case AXL_REG_TCP_ECHO: return "tcp-echo";
    case AXL_REG_APP: return "app";
    default: return "?";
    }
}

static struct sup_app *find(struct sup *S, uint32_t id)
{
    struct sup_apps *A = sup_apps_of(S);
    if (!id) return NULL;
    for (uint32_t i = 0; i < AXL_SUP_MAX_APPS; i++)
        if (A->a[i].id == id) return &A->a[i];
    return NULL;
}

int sup_app_attach(struct sup *S, int ctl_fd, const char *name, uint32_t *id)
{
    struct sup_apps *A = sup_apps_of(S);
    struct ucred cr;
    socklen_t len = sizeof(cr);
    if (getsockopt(ctl_fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0) return -errno;
    struct sup_app *a = NULL;
    for (uint32_t i = 0; i < AXL_SUP_MAX_APPS && !a; i++)
        if (!A->a[i].id) a = &A->a[i];
    if (!a) return -EMFILE;
    memset(a, 0, sizeof(*a));
    if (++A->next_id == 0) A->next_id = 1; /* ids are never 0 */
    a->id = A->next_id;
    a->pid = cr.pid;
    a->uid = cr.uid;
    snprintf(a->name, sizeof(a->name), "%s", name);
    *id = a->id;
    axl_info("sup", "app %u attached: %s (pid %d, uid %u)", a->id, a->name, (int)a->pid,
             (unsigned)a->uid);
    return 0;
}

int sup_app_channel(struct sup *S, uint32_t id, uint32_t i, int *app_fd, uint32_t *queue,
                    uint32_t *gen)
{
    struct sup_app *a = find(S, id);
    if (!a) return AXL_ENOENT;
    int link = sup_replica_link(S, i, queue, gen);
    if (link < 0) return link;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) return -errno;
    struct axl_link_msg m;
    memset(&m, 0, sizeof(m));
    m.magic = AXL_LINK_MAGIC;
    m.type = AXL_LINK_NEW_APP;
    m.nfds = 1;
    m.app_id = a->id;
    m.pid = a->pid;
    m.uid = a->uid;
    snprintf(m.name, sizeof(m.name), "%s", a->name);
    int rc = axl_link_send(link, &m, sv[1]);
    close(sv[1]);
    if (rc < 0) {
        close(sv[0]);
        axl_warn("sup", "app %u: cannot reach replica %u: %s", a->id, i, strerror(-rc));
        return rc == -EAGAIN ? -EBUSY : rc;
    }
    a->chan_gen[i] = *gen;
    *app_fd = sv[0];
    return 0;
}

void sup_app_detach(struct sup *S, uint32_t id)
{
    struct sup_app *a = find(S, id);
    if (!a) return;
    struct axl_registry *r = sup_registry(S);
    uint32_t k = 0;
    for (uint32_t i = 0; i < r->n; i++) /* keep the order of the others */
        if (!(r->e[i].kind == AXL_REG_APP && r->e[i].app == id)) r->e[k++] = r->e[i];
    r->n = k;
    struct axl_link_msg m;
    memset(&m, 0, sizeof(m));
    m.magic = AXL_LINK_MAGIC;
    m.type = AXL_LINK_APP_GONE;
    m.app_id = id;
    for (uint32_t i = 0; i < sup_nreplicas(S) && i < AXL_MAX_REPLICAS; i++) {
        uint32_t q, g;
        int link = sup_replica_link(S, i, &q, &g);
        if (link < 0 || a->chan_gen[i] != g) continue; /* no channel in this incarnation */
        int rc = axl_link_send(link, &m, -1);
        if (rc < 0) axl_warn("sup", "app %u: replica %u not told it left: %s", id, i, strerror(-rc));
    }
    axl_info("sup", "app %u detached: %s (pid %d)", id, a->name, (int)a->pid);
    memset(a, 0, sizeof(*a));
}

int sup_app_listen(struct sup *S, uint32_t id, uint8_t proto, uint16_t port, int add)
{
    struct axl_registry *r = sup_registry(S);
    for (uint32_t i = 0; i < r->n; i++) {
        struct axl_reg_entry *e = &r->e[i];
        if (e->proto != proto || e->port != port) continue;
        if (e->kind != AXL_REG_APP || e->app != id) return AXL_EEXIST; /* someone else's */
        if (add) return 0;                                             /* ours already */
        r->e[i] = r->e[--r->n];
        return 0;
    }
    if (!add) return AXL_ENOENT;
    if (r->n >= AXL_REG_MAX) return AXL_ENOBUFS;
    r->e[r->n++] = (struct axl_reg_entry){AXL_REG_APP, proto, port, id};
    return 0;
}

uint32_t sup_app_channels(struct sup *S, const struct sup_app *a)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < sup_nreplicas(S) && i < AXL_MAX_REPLICAS; i++) {
        uint32_t q, g;
        if (sup_replica_link(S, i, &q, &g) >= 0 && a->chan_gen[i] == g) n++;
    }
    return n;
}

uint32_t sup_app_listeners(struct sup *S, uint32_t id)
{
    const struct axl_registry *r = sup_registry(S);
    uint32_t n = 0;
    for (uint32_t i = 0; i < r->n; i++)
        n += r->e[i].kind == AXL_REG_APP && r->e[i].app == id;
    return n;
}
