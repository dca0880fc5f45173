/* SPDX-License-Identifier: MIT */
/*
 * link.h - the supervisor link: a SOCK_SEQPACKET socketpair between the
 * supervisor and one replica incarnation, made at fork (supervisor.c
 * fork_process). The supervisor speaks, the replica listens:
 *
 *   NEW_APP   an application attached (ctl_proto.h "attach"/"reattach"):
 *             app id, its pid and uid (SO_PEERCRED of its control
 *             connection), its name, and 1 fd: the replica's end of a fresh
 *             SOCK_SEQPACKET socketpair whose other end the application got.
 *             The replica creates the app's channel and sends the HELLO on it
 *             (svc/svc.h).
 *   APP_GONE  the application's control connection closed (it exited or
 *             detached): the replica aborts and frees everything of that app.
 *   CONNS     `axlctl conns` (ctl_proto.h "conns"): 1 fd, the replica's end
 *             of a SOCK_SEQPACKET socketpair whose other end axlctl got. The
 *             replica snapshots its TCP table (net/tcp_dump.h, at most
 *             AXL_CONNS_MAX records) and sends it in chunks from its loop
 *             (struct axl_conns_hdr + records; as many per tick as the
 *             socket takes, never blocking), then closes the socket.
 *   CAPTURE   `axlctl capture` (ctl_proto.h "capture"): 1 fd as for CONNS,
 *             plus the filter and the frame limit (cap). The replica mirrors
 *             matching frames into that socket (port/pcap.h stream mode)
 *             until the limit, or until the reader goes away.
 *
 * One message per datagram, 64 bytes, fds by SCM_RIGHTS. The supervisor
 * never blocks on a link (non-blocking send; a replica too slow to drain its
 * link loses the message, which is logged, and the app sees no HELLO on that
 * socket). The replica validates every message (axl_link_recv) even though
 * the supervisor is trusted: a malformed one is counted and dropped.
 *
 * Call chain: ctl.c (attach) -> apps.c sup_app_channel -> axl_link_send;
 * ctl.c (conns, capture) -> supervisor.c sup_replica_request -> axl_link_send;
 * replica.c loop (link fd readable) -> axl_link_recv -> svc/svc.h
 * axl_svc_app_add / axl_svc_app_gone.
 */
#ifndef AXL_STACKD_LINK_H
#define AXL_STACKD_LINK_H

#include <stdint.h>

#define AXL_LINK_MAGIC 0x4b4e4c41u /* "ALNK" */
/** AXL_APP_NAME_MAX: application name length (ctl_proto.h "attach NAME"). */
#define AXL_APP_NAME_MAX 32

enum axl_link_type {
    AXL_LINK_NEW_APP = 1,  /* 1 fd */
    AXL_LINK_APP_GONE = 2, /* 0 fds */
    AXL_LINK_CONNS = 3,    /* 1 fd; app_id: request id */
    AXL_LINK_CAPTURE = 4,  /* 1 fd; app_id: request id; cap: what to capture */
};

/* CAPTURE parameters (port/pcap.h struct axl_pcap_filter, host order). */
struct axl_link_cap {
    uint32_t host;  /* 0 = any */
    uint16_t port;  /* 0 = any */
    uint8_t proto;  /* 0 = any, else IPPROTO_ICMP / _TCP / _UDP */
    uint8_t pad;
    uint32_t limit; /* frames, 0 = no limit */
    uint32_t snaplen;
};

struct axl_link_msg {
    uint32_t magic;  /* AXL_LINK_MAGIC */
    uint16_t type;   /* enum axl_link_type */
    uint16_t nfds;   /* 1 for NEW_APP, else 0 */
    uint32_t app_id; /* 1.. */
    int32_t pid;     /* NEW_APP: the app's pid (SO_PEERCRED) */
    uint32_t uid;    /* NEW_APP: its uid */
    uint32_t reserved;
    union {
        char name[AXL_APP_NAME_MAX + 8]; /* NEW_APP: NUL-terminated, 1..32 of [A-Za-z0-9._-] */
        struct axl_link_cap cap;         /* CAPTURE */
    };
};
_Static_assert(sizeof(struct axl_link_msg) == 64, "link msg");

/* 1 if name is 1..AXL_APP_NAME_MAX characters of [A-Za-z0-9._-]. */
int axl_app_name_ok(const char *name);

/* Send one message (with fd when >= 0) without blocking: 0 or negative errno
 * (-EAGAIN: the link is full). */
int axl_link_send(int link, const struct axl_link_msg *m, int fd);

/* Receive one message: 1 (with *fd = the passed fd or -1), 0 (none, the
 * link is non-blocking), -EPIPE (the supervisor is gone), AXL_EMALFORMED
 * (dropped; any fds that came with it closed), or negative errno. */
int axl_link_recv(int link, struct axl_link_msg *m, int *fd);

#endif
