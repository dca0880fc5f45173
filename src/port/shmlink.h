/* SPDX-License-Identifier: MIT */
/*
 * shmlink.h - the shared-memory ABI of the "shm" port (shmlink.c): a virtual
 * Ethernet wire between two processes.
 *
 * Side A (the first process to open PATH) creates one memfd per attachment,
 * maps it, fills in the header and both rings, and hands the memfd and the two
 * doorbell eventfds to side B over the Unix stream socket at PATH
 * (SCM_RIGHTS, message struct axl_shmlink_hello, fds in the order
 * memfd, A's doorbell, B's doorbell). The memfd is sealed against shrinking
 * and growing, so neither side can make the other's mapping fault.
 *
 *   offset 0                     AXL_SHMLINK_HDR_SIZE          ring_off[1]
 *   +----------------------------+-----------------------------+-----------------------------+
 *   | struct axl_shmlink_hdr     | ring A->B                   | ring B->A                   |
 *   | (magic, version, sizes,    | axl_ring_shared (192 bytes: | same layout                 |
 *   |  offsets, MACs)            |  prod | cons | flags lines) |                             |
 *   |                            | slot 0 | slot 1 | ... | n-1 |                             |
 *   +----------------------------+-----------------------------+-----------------------------+
 *   each ring occupies ring_bytes (page-aligned); a slot is slot_size bytes:
 *   +--------+----------+-------------------------------+
 *   | len u32| flags u32| frame bytes (frame_max)  ...  |   slot_size = 8 + frame_max,
 *   +--------+----------+-------------------------------+   rounded up to 64
 *
 * Who writes what: A writes the whole header before handing it over and only
 * mac[0] ever; B writes only mac[1]. In ring A->B, A is the producer (prod,
 * slot contents) and B the consumer (cons, flags); in ring B->A the reverse.
 * Neither side re-reads the header after attaching: each keeps private copies
 * of the sizes it validated, and validates every slot length it reads (ring.h
 * clamps the peer's indices).
 */
#ifndef AXL_PORT_SHMLINK_H
#define AXL_PORT_SHMLINK_H

#include <stddef.h>
#include <stdint.h>

#include "core/ring.h"

#define AXL_SHMLINK_MAGIC       0x574c5841u /* "AXLW" in little-endian memory */
#define AXL_SHMLINK_ABI_VERSION 1u
#define AXL_SHMLINK_HDR_SIZE    4096u
#define AXL_SHMLINK_PAGE        4096u
/** Slots per direction: default, and the accepted range (powers of two). */
#define AXL_SHMLINK_SLOTS_DEFAULT 1024u
#define AXL_SHMLINK_SLOTS_MIN     16u
#define AXL_SHMLINK_SLOTS_MAX     32768u
/** Frame size: Ethernet header + one 802.1Q tag on top of the IP MTU. */
#define AXL_SHMLINK_L2_OVERHEAD 18u
#define AXL_SHMLINK_FRAME_MIN   14u /* an Ethernet header */
#define AXL_SHMLINK_FRAME_MAX   (9000u + AXL_SHMLINK_L2_OVERHEAD)
#define AXL_SHMLINK_SLOT_HDR    8u
/** Largest region a side accepts (32768 jumbo slots per direction fit). */
#define AXL_SHMLINK_REGION_MAX (1ull << 30)

enum { AXL_SHMLINK_SIDE_A = 0, AXL_SHMLINK_SIDE_B = 1 };
enum { AXL_SHMLINK_RING_AB = 0, AXL_SHMLINK_RING_BA = 1 };

struct axl_shmlink_hdr {
    uint32_t magic;       /* (A) AXL_SHMLINK_MAGIC */
    uint32_t version;     /* (A) AXL_SHMLINK_ABI_VERSION */
    uint32_t hdr_size;    /* (A) AXL_SHMLINK_HDR_SIZE */
    uint32_t slots;       /* (A) slots per direction, a power of two */
    uint32_t slot_size;   /* (A) bytes per slot, see axl_shmlink_layout() */
    uint32_t frame_max;   /* (A) largest frame in bytes (mtu + 18) */
    uint32_t mtu;         /* (A) IP MTU of the wire */
    uint32_t reserved0;   /* (A) 0 */
    uint64_t region_size; /* (A) bytes of the whole memfd */
    uint64_t ring_off[2]; /* (A) offsets of ring A->B and ring B->A */
    uint64_t ring_bytes;  /* (A) bytes per ring (index block + slots), page-aligned */
    uint64_t generation;  /* (A) attachment number on A's side (1, 2, ...) */
    uint8_t mac[2][6];    /* (A) mac[0] = A's MAC; (B) mac[1] = B's MAC */
    uint8_t reserved1[4]; /* 0 */
};
_Static_assert(sizeof(struct axl_shmlink_hdr) == 88, "shmlink ABI: header");
_Static_assert(sizeof(struct axl_shmlink_hdr) <= AXL_SHMLINK_HDR_SIZE, "shmlink ABI: header");

struct axl_shmlink_slot {
    uint32_t len;   /* (producer) frame bytes; the consumer checks 14 <= len <= frame_max */
    uint32_t flags; /* (producer) reserved, 0; ignored by the consumer */
    uint8_t data[]; /* frame_max bytes */
};
_Static_assert(sizeof(struct axl_shmlink_slot) == AXL_SHMLINK_SLOT_HDR, "shmlink ABI: slot");

/* Sent by A with the three fds. */
struct axl_shmlink_hello {
    uint32_t magic;       /* AXL_SHMLINK_MAGIC */
    uint32_t version;     /* AXL_SHMLINK_ABI_VERSION */
    uint64_t region_size; /* must equal the memfd's size and the header's */
};
_Static_assert(sizeof(struct axl_shmlink_hello) == 16, "shmlink ABI: hello");

struct axl_shmlink_layout {
    uint32_t slot_size;
    uint64_t ring_bytes;
    uint64_t ring_off[2];
    uint64_t region_size;
};

/* The one layout both sides compute from (slots, frame_max); B compares it
 * field by field with what A wrote. 0, or -1 if the parameters are out of
 * range. */
static inline int axl_shmlink_layout(uint32_t slots, uint32_t frame_max,
                                     struct axl_shmlink_layout *l)
{
    if (slots < AXL_SHMLINK_SLOTS_MIN || slots > AXL_SHMLINK_SLOTS_MAX || (slots & (slots - 1)) ||
        frame_max < AXL_SHMLINK_FRAME_MIN || frame_max > AXL_SHMLINK_FRAME_MAX)
        return -1;
    l->slot_size = (AXL_SHMLINK_SLOT_HDR + frame_max + 63u) & ~63u;
    l->ring_bytes = (axl_ring_bytes(slots, l->slot_size) + AXL_SHMLINK_PAGE - 1) &
                    ~(uint64_t)(AXL_SHMLINK_PAGE - 1);
    l->ring_off[0] = AXL_SHMLINK_HDR_SIZE;
    l->ring_off[1] = AXL_SHMLINK_HDR_SIZE + l->ring_bytes;
    l->region_size = AXL_SHMLINK_HDR_SIZE + 2 * l->ring_bytes;
    return l->region_size <= AXL_SHMLINK_REGION_MAX ? 0 : -1;
}

#endif
