/* SPDX-License-Identifier: MIT */
/*
 * memport.h - the in-memory port (kind "mem", axl_port_mem_ops in port.h) for
 * unit tests and fuzzing: the test injects frames, which rx_burst copies into
 * pool buffers, and collects the frames the engine transmitted (tx_burst
 * copies them out and frees the packets at once, so the pool never holds
 * them; with txdefer it keeps them until the test completes them).
 *
 * Spec: "mem:NAME[,mtu=N][,mac=..][,max_frame=N][,rxcap=N][,txcap=N]".
 *   max_frame  largest frame accepted by tx_burst (default mtu + 14); larger
 *              frames are freed and counted tx_too_big
 *   rxcap      frames that can wait for rx_burst (default 4096)
 *   txcap      transmitted frames kept until collected (default 4096); when
 *              full, tx_burst refuses (tx_full), like a full device ring
 *   txdefer    1: tx_burst keeps the packets themselves, as AF_XDP keeps a
 *              TX descriptor's buffer, until axl_memport_complete (the
 *              "device" reads them then, so a frame changed while in
 *              flight shows in what is collected); default 0
 * Default MAC 02:00:00:00:00:01 (locally administered), MTU 1500.
 * No fd: an engine on a mem port cannot sleep on it (tests drive it).
 *
 * Call chain: test/fuzzer -> axl_memport_inject -> (engine) rx_burst;
 * engine tx_burst -> queue -> axl_memport_collect -> test/fuzzer.
 */
#ifndef AXL_PORT_MEMPORT_H
#define AXL_PORT_MEMPORT_H

#include <stdint.h>

#include "port/port.h"

/** Default queue bounds. */
#define AXL_MEMPORT_CAP_DEFAULT 4096u

/* Queue a frame for reception; flags are AXL_PKT_F_CSUM_PARTIAL/CSUM_OK to
 * emulate a port's checksum metadata. 0, AXL_EINVAL (not a mem port, len 0
 * or > 65535) or AXL_ENOBUFS (rx queue full). */
int axl_memport_inject(struct axl_port *p, const void *frame, uint32_t len, uint16_t flags);
uint32_t axl_memport_rx_pending(const struct axl_port *p);

/* Take the oldest transmitted frame: copies min(len, buflen) bytes and
 * returns the frame's full length, or AXL_EAGAIN when none is waiting. */
int axl_memport_collect(struct axl_port *p, void *buf, uint32_t buflen);
uint32_t axl_memport_tx_pending(const struct axl_port *p);
/* Drop every transmitted frame not yet collected (and, with txdefer, the
 * ones not yet completed: their packets go back to the pool). */
void axl_memport_tx_discard(struct axl_port *p);
/* txdefer: the device sends the n oldest deferred frames (copies them to
 * the collect queue) and completes them (frees the packets). Returns how
 * many (fewer when fewer wait). */
uint32_t axl_memport_complete(struct axl_port *p, uint32_t n);
uint32_t axl_memport_tx_deferred(const struct axl_port *p);
/* Switch txdefer on or off (frames already deferred stay until completed). */
void axl_memport_set_tx_defer(struct axl_port *p, int on);
/* Accept at most n frames per tx_burst call (0 = no limit): emulates a
 * device ring that fills up. */
void axl_memport_set_tx_limit(struct axl_port *p, uint32_t n);

#endif
