/* SPDX-License-Identifier: MIT */
/*
 * ctl_proto.h - the axl-stackd control protocol (version 1), shared by the
 * server (src/stackd/ctl.c) and its client (tools/axlctl).
 *
 * Transport: a Unix stream socket (default AXL_CTL_DEFAULT_PATH, or the
 * AXL_CTL_ENV environment variable, or --ctl PATH), mode 0600, owned by one
 * live axl-stackd (a lock file PATH.lock held for the supervisor's lifetime).
 *
 * Requests and responses are text lines, easy to type into `socat -
 * UNIX-CONNECT:PATH`. A connection may carry any number of requests; each is
 * answered in order.
 *
 *   request   AXL1 <command> [arg ...]\n         (at most AXL_CTL_LINE_MAX bytes)
 *   response  ok\n | err <CODE> <message>\n      (CODE: errno name, e.g. EINVAL)
 *             <body line>\n ...                  (never starts with '.')
 *             .\n                                (end of the response)
 *
 * Commands and their bodies (values never contain spaces):
 *   ping            one line: pid= proto= uptime_ms= replicas= running= failed=
 *                   port= addr= active= scale_max=   (active: replicas the
 *                   director's redirection table has in force, scale_max: M
 *                   of --scale-max; "-" without a director)
 *   replicas        one line per replica: replica= pid= queue= cpu= state=
 *                   gen= uptime_ms= restarts= last_exit= restart_ms= down_ms=
 *                   hb_age_ms= heartbeat= load= conns= role= buckets= draining=
 *                   ("-" where a value is unknown; load: busy fraction 0..1
 *                   of the replica's loop over the last second; conns: TCBs
 *                   its engine holds; role: active | draining | parked |
 *                   director (behind the director: owns table buckets / owns
 *                   none but holds connections of buckets that are
 *                   another's now / neither; "active" without a director);
 *                   buckets: redirection-table entries it owns; draining:
 *                   buckets another owns that it still holds connections of)
 *                   state: starting | running | stopping | failed | stopped
 *                   last_exit: - | exit:N | signal:NAME | hung | start-timeout |
 *                   bad-status-page
 *   stats           first line: "replicas I J ..." (the replica indices), then
 *                   one line per counter: "<Name> <value per replica> <total>"
 *                   (every counter, zeros included; the current incarnation's
 *                   values, or a dead one's last export)
 *   kill-replica N [SIG]
 *                   fault injection: send SIG (KILL, SEGV, ABRT, TERM, STOP;
 *                   default KILL) to replica N; one line: replica= pid= signal=
 *   scale N         behind the director (axl-stackd --director --scale-max M):
 *                   N (1..M) replicas own the director's redirection table
 *                   (new flows); the others keep their connections until
 *                   they close, then are parked (src/steer/director_core.c
 *                   "Scaling"). One line: active=N scale_max=M, answered at
 *                   once; the director applies it within a poll (ping's
 *                   active= says when). ENOTSUP without a director, ERANGE
 *                   for N outside 1..M. The supervisor remembers N: a
 *                   restarted director comes back with it.
 *
 *   conns [I]       TCP connections (like ss -tan) of every running replica, or
 *                   of replica I. Answered without waiting for the replicas:
 *                   the "ok" line carries (SCM_RIGHTS, as for attach) one
 *                   SOCK_SEQPACKET socket per replica asked; body: one line
 *                   per socket "replica=I queue=Q gen=G". Each replica, from
 *                   its own loop, snapshots its table (net/tcp_dump.h,
 *                   at most AXL_CONNS_MAX entries, listeners first) and
 *                   sends datagrams of struct axl_conns_hdr + nrec records
 *                   (struct axl_tcp_dump_rec, at most AXL_CONNS_CHUNK per
 *                   datagram; as many datagrams per loop tick as the socket
 *                   takes, never blocking traffic), the last one flagged
 *                   AXL_CONNS_LAST, then closes the socket. A reader that
 *                   does not read within AXL_CONNS_TIMEOUT_MS is given up on.
 *                   ESRCH when no asked replica runs.
 *   capture I|all COUNT HOST PORT PROTO
 *                   mirror frames the replicas receive and send: as conns,
 *                   one SOCK_SEQPACKET socket per running replica asked (the
 *                   ok line's SCM_RIGHTS; body "replica=I queue=Q gen=G").
 *                   On each, the replica first sends struct axl_cap_hello
 *                   (status 0 = capturing, or a negative errno: EBUSY when a
 *                   capture or a pcap= mirror already runs on it), then one
 *                   datagram per frame: a pcap record header
 *                   (port/pcap.h struct axl_pcap_rec_hdr) + the frame bytes.
 *                   Only frames matching every given term are copied (in the
 *                   replica): HOST an IPv4 address (source or destination),
 *                   PORT a TCP/UDP port (either side), PROTO icmp|tcp|udp;
 *                   "-" for a term not used. COUNT: frames per replica (0 =
 *                   no limit); the replica closes the socket after COUNT.
 *                   A datagram the socket cannot take is dropped (counted in
 *                   the replica, never blocking). The capture stops when the
 *                   reader closes its socket (the replica notices within a
 *                   tick or one sleep, <= 100 ms). A replica with no capture
 *                   pays nothing (one NULL pointer test per burst).
 *   apps            one line per attached application: app= pid= uid= name=
 *                   channels= listeners=
 *   listeners       one line per registry entry: kind= proto= port= app=
 *                   (kind udp-echo | tcp-echo | app; app=- for built-ins)
 *
 * Applications (src/axl) attach over the same socket:
 *   attach NAME     make this connection an application session. The
 *                   supervisor reads the peer's credentials (SO_PEERCRED),
 *                   gives it an app id, and for every running replica makes a
 *                   SOCK_SEQPACKET socketpair: one end goes to the replica
 *                   (over its supervisor link, with app id, pid and uid),
 *                   the other to the application. Response: the "ok" line is
 *                   sent with SCM_RIGHTS carrying those sockets (in the order
 *                   of the body lines); body: "app=ID replicas=N" (N: the
 *                   replicas that serve applications, 0..N-1; with
 *                   --director the director, the last entry of "replicas",
 *                   is not one of them), then one
 *                   line per socket: "replica=I queue=Q gen=G" (G: the
 *                   replica's incarnation). A replica that is not running has
 *                   no line; the app reattaches to it later. On each socket
 *                   the replica speaks first: the channel HELLO (src/chan,
 *                   docs/API.md "Hand-over"), then REGMEM requests are
 *                   served on it. NAME: 1..32 of [A-Za-z0-9._-].
 *                   The session lasts until the control connection closes
 *                   (the app exited or detached): the supervisor then drops
 *                   the app's registry entries and tells the replicas, which
 *                   reclaim its sockets. A connection attaches at most once
 *                   (EALREADY).
 *   reattach I      (sessions only) a new channel to replica I, after it was
 *                   restarted: "ok" with 1 socket; body "replica=I queue=Q
 *                   gen=G". ESRCH while replica I is not running; ENOENT
 *                   for I >= N (the director included).
 *   listen PROTO PORT
 *   unlisten PROTO PORT
 *                   (sessions only) record / drop an application listener
 *                   (PROTO tcp|udp) in the listener registry, which axlctl
 *                   shows and restarted replicas are told about. EEXIST when
 *                   another application holds it.
 *
 * Errors: EPROTO (not "AXL1"), EINVAL (bad arguments), ENOENT (unknown command
 * or replica), ESRCH (replica not running), E2BIG (line too long), ENOTSUP and
 * ERANGE (scale), EPERM
 * (session command on a connection that did not attach), EALREADY, EEXIST,
 * EMFILE (too many applications).
 */
#ifndef AXL_STACKD_CTL_PROTO_H
#define AXL_STACKD_CTL_PROTO_H

#define AXL_CTL_PROTO        "AXL1"
#define AXL_CTL_VERSION      1
#define AXL_CTL_DEFAULT_PATH "/run/axl/stack.sock"
#define AXL_CTL_ENV          "AXL_STACK"
/** AXL_CTL_LINE_MAX: longest request line, newline included. */
#define AXL_CTL_LINE_MAX 1024
#define AXL_CTL_END      "."

#include <stdint.h>

/* ---- conns answer (one socket per replica) ---- */
#define AXL_CONNS_MAGIC 0x4e4e4f43u /* "CONN" */
/** AXL_CONNS_MAX: entries one replica reports at most (ss-like snapshot;
 *  more are counted in axl_conns_hdr.total but not sent). */
#define AXL_CONNS_MAX 65536u
/** AXL_CONNS_CHUNK: records per datagram (64 B each: 4 KiB datagrams). */
#define AXL_CONNS_CHUNK 64u
/** AXL_CONNS_TIMEOUT_MS: a reader that takes longer is dropped. */
#define AXL_CONNS_TIMEOUT_MS 5000u
enum { AXL_CONNS_LAST = 1u };
struct axl_conns_hdr {
    uint32_t magic;   /* AXL_CONNS_MAGIC */
    uint16_t nrec;    /* records that follow (<= AXL_CONNS_CHUNK) */
    uint16_t flags;   /* AXL_CONNS_LAST on the final datagram */
    uint32_t replica; /* index of the sender */
    uint32_t total;   /* entries the engine held at the snapshot */
};
_Static_assert(sizeof(struct axl_conns_hdr) == 16, "conns wire header");

/* ---- capture stream (one socket per replica) ---- */
#define AXL_CAP_MAGIC 0x50414341u /* "ACAP" */
struct axl_cap_hello {
    uint32_t magic;   /* AXL_CAP_MAGIC */
    int32_t status;   /* 0 capturing, else negative errno */
    uint32_t replica;
    uint32_t snaplen;
};
_Static_assert(sizeof(struct axl_cap_hello) == 16, "capture hello");

#endif
