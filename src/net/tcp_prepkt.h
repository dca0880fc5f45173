/* SPDX-License-Identifier: MIT */
/*
 * net/tcp_prepkt.h - pre-packetised objects (Sandstorm, SIGCOMM 2014): a
 * byte string (an HTTP response: headers + content) that the engine turns
 * into ready TCP/IPv4/Ethernet frames once - payload cut per MSS, the
 * payload's checksum sum precomputed per segment - and then sends on any
 * connection by patching only what differs per connection and per send:
 * addresses, ports, sequence and acknowledgement numbers, window, IP id and
 * the checksums, updated incrementally (RFC 1624). Retransmissions are
 * regenerated from the pre-built segments at the sequence offset (a segment
 * boundary of the object, or a partial segment built from the object bytes).
 *
 * Two variants (Sandstorm §4):
 *   AXL_TCP_OBJ_PRECOPY  frames are kept whole in pool buffers the object
 *                        holds (a few per segment, built on demand); a send
 *                        takes one the port has given back, patches its
 *                        headers in place and lends it to the port without
 *                        copying the payload (when none is back: built as
 *                        MEMCPY, counted in axl_tcp_obj_stats.copied).
 *   AXL_TCP_OBJ_MEMCPY   the header template and the payload are copied
 *                        into a fresh buffer per send.
 *
 * An object belongs to one engine; the service layer registers it on every
 * replica. It is referenced by the send queues that hold it and freed when
 * the creator released it and no connection refers to it any more.
 *
 * Call chain: axl_obj_register (include/axl/axl.h) or the service's OBJ_REG
 * -> axl_tcp_obj_create; axl_send_obj / OBJ_SEND -> axl_tcp_send_obj ->
 * the send queue (a chunk of kind "object") -> tcp_output.c asks
 * tcp_prepkt.c for the frame of [seq, seq+len).
 */
#ifndef AXL_NET_TCP_PREPKT_H
#define AXL_NET_TCP_PREPKT_H

#include <stdint.h>

struct axl_stack;
struct axl_tcb;
struct axl_tcp_obj;

enum axl_tcp_obj_variant { AXL_TCP_OBJ_PRECOPY = 0, AXL_TCP_OBJ_MEMCPY = 1 };

/* Pre-packetise len bytes at data (1..AXL_TCP_OBJ_MAX), which must stay
 * unchanged until the object is freed. Segments are cut for the engine's
 * MSS (its MTU - 40); a connection with a smaller MSS still sends the object
 * correctly, building its segments from the bytes. 0, AXL_EINVAL, AXL_ENOMEM. */
int axl_tcp_obj_create(struct axl_stack *s, const void *data, uint32_t len,
                       enum axl_tcp_obj_variant v, struct axl_tcp_obj **out);
/* Drop the creator's reference. */
void axl_tcp_obj_release(struct axl_tcp_obj *o);
/* Queue the whole object after the bytes already queued on c. All or
 * nothing: returns len, or the errors of axl_tcp_send (AXL_EAGAIN: no room
 * in the send buffer). zc_done(cookie) once all of it is acknowledged (or
 * the connection ended). */
int axl_tcp_send_obj(struct axl_tcb *c, struct axl_tcp_obj *o, void *cookie);
uint32_t axl_tcp_obj_len(const struct axl_tcp_obj *o);

/* What an object's sends did (PRECOPY; MEMCPY objects count nothing). */
struct axl_tcp_obj_stats {
    uint64_t lent;        /* template sends from a ready frame, lent to the port */
    uint64_t copied;      /* template sends built as MEMCPY: no ready frame was back */
    uint64_t built;       /* ready frames built (each one payload copy) */
    uint32_t frames;      /* ready frames held now */
    uint32_t frames_lent; /* of those, with the port now */
};
void axl_tcp_obj_get_stats(const struct axl_tcp_obj *o, struct axl_tcp_obj_stats *st);

#define AXL_TCP_OBJ_MAX (64u << 20)

#endif
