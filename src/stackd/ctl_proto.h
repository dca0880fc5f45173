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
 *                   port= addr=
 *   replicas        one line per replica: replica= pid= queue= cpu= state=
 *                   gen= uptime_ms= restarts= last_exit= restart_ms= down_ms=
 *                   hb_age_ms= heartbeat=   ("-" where a value is unknown)
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
 *
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
 *                   of the body lines); body: "app=ID replicas=N", then one
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
 *                   gen=G". ESRCH while replica I is not running.
 *   listen PROTO PORT
 *   unlisten PROTO PORT
 *                   (sessions only) record / drop an application listener
 *                   (PROTO tcp|udp) in the listener registry, which axlctl
 *                   shows and restarted replicas are told about. EEXIST when
 *                   another application holds it.
 *
 * Errors: EPROTO (not "AXL1"), EINVAL (bad arguments), ENOENT (unknown command
 * or replica), ESRCH (replica not running), E2BIG (line too long), EPERM
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

#endif
