/* SPDX-License-Identifier: MIT */
/*
 * abi.h - the shared-memory ABI between one application and one stack replica
 * (the "channel"): layouts, who writes each field, entry formats, limits.
 * Everything here is offsets and indices, never pointers; every struct that
 * lives in shared memory has its size and offsets pinned by _Static_assert.
 * The prose version, with the protocols, is docs/API.md "Channel ABI".
 *
 * Call chain: the stack side (stk.c) creates the two regions and hands them to
 * the application over a Unix socket (msg.c, SCM_RIGHTS); both sides compute
 * the same layout from the parameters (layout.c) and map each region with the
 * protections below; stk.c / app.c then run the queues, byte rings, hints and
 * doorbells; decode.c validates every command and event entry.
 *
 * Two memfd regions per application, split by WRITER (DLibOS partitioning,
 * NewtOS "whatever a process only reads is mapped read-only"):
 *
 *   STK region: written only by the stack.  stack: RW   app: PROT_READ, and the
 *               memfd is sealed F_SEAL_FUTURE_WRITE, so the app cannot get a
 *               writable mapping (nor write(2), nor mprotect its way up).
 *   APP region: written only by the app.    app: RW     stack: PROT_READ.
 *   Both are sealed F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL: no peer can make
 *   the other's mapping fault (SIGBUS) by truncating.
 *
 *   STK region                                   APP region
 *   off                                          off
 *   0        +------------------------------+    0        +------------------------------+
 *            | struct axl_chan_hdr (page)   |             | struct axl_chan_actl (page)  |
 *   sctl     +------------------------------+             |  activity  app->stk futex    |
 *            | struct axl_chan_sctl (page)  |             |  cmdq_prod                   |
 *            |  activity  stk->app futex    |             |  evq_cons                    |
 *            |  evq_prod                    |             |  evq_flags (app sleeps)      |
 *            |  cmdq_cons                   |    a_hint   +------------------------------+
 *            |  cmdq_flags (stack sleeps)   |             | hint bitmap  app->stk        |
 *   s_hint   +------------------------------+    a_ack    | ack bitmap   of stk->app     |
 *            | hint bitmap  stk->app        |    cmdq     +------------------------------+
 *   s_ack    | ack bitmap   of app->stk     |             | command entries              |
 *   evq      +------------------------------+             | cmdq_slots x 64 B            |
 *            | event entries                |    lines    +------------------------------+
 *            | evq_slots x 32 B             |             | socket lines (app indices)   |
 *   slots    +------------------------------+             | max_socks x 64 B             |
 *            | socket table                 |             |  rx_cons | tx_prod | flags   |
 *            | max_socks x 64 B             |    tx       +------------------------------+
 *            |  state gen rx_prod tx_cons.. |             | TX byte-ring data            |
 *   rx       +------------------------------+             | max_socks x tx_size          |
 *            | RX byte-ring data            |             | (socket i at tx + i*tx_size) |
 *            | max_socks x rx_size          |             +------------------------------+
 *            | (socket i at rx + i*rx_size) |
 *            +------------------------------+
 *   Every section starts on a page; each index line is 64 bytes.
 *
 * So each direction's producer-written data and producer index sit in the
 * producer's region, and its consumer index in the consumer's region (a
 * different mapping, hence a different page):
 *
 *   queue / ring     data + producer index        consumer index (+ sleep flag)
 *   command queue    APP (cmdq entries, prod)     STK (cmdq_cons, cmdq_flags)
 *   event queue      STK (evq entries, prod)      APP (evq_cons, evq_flags)
 *   RX byte ring i   STK (rx data, slot.rx_prod)  APP (line.rx_cons)
 *   TX byte ring i   APP (tx data, line.tx_prod)  STK (slot.tx_cons)
 *   hints stk->app   STK (s_hint)                 APP (a_ack)
 *   hints app->stk   APP (a_hint)                 STK (s_ack)
 *
 * Hint bitmaps (NewtOS §5.6.1, adapted): socket i is "hinted" towards the
 * stack when bit i of a_hint differs from bit i of s_ack. The app toggles its
 * bit (only if they are equal) and bumps its activity word; the stack, when
 * the activity word moved, XORs the two bitmaps word by word and acknowledges
 * by copying a_hint into s_ack. NewtOS has the stack clear the app's bits with
 * an atomic swap, which needs memory both sides write; the toggle/ack pair
 * keeps every word single-writer so the read-only rule holds everywhere.
 */
#ifndef AXL_CHAN_ABI_H
#define AXL_CHAN_ABI_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define AXL_CHAN_MAGIC       0x4e484341u /* "ACHN" in little-endian memory */
/* Version 2: the HELLO may carry a third fd, the stack's doorbell eventfd
 * ("bell", see AXL_CHAN_MSG_HELLO); version 1 had futex doorbells only.
 * Version 3: the socket slot is 128 bytes and carries the socket's local and
 * peer address and port (struct axl_chan_slot "Addresses"). */
#define AXL_CHAN_ABI_VERSION 3u
#define AXL_CHAN_PAGE        4096u

/** Limits, checked by axl_chan_layout() on both sides. */
#define AXL_CHAN_SOCKS_DEFAULT  4096u /* sockets per application */
#define AXL_CHAN_SOCKS_MIN      64u   /* multiple of 64 (one bitmap word) */
#define AXL_CHAN_SOCKS_MAX      65536u
#define AXL_CHAN_RING_DEFAULT   65536u /* bytes per socket ring, power of two */
#define AXL_CHAN_RING_MIN       4096u  /* a page: rings are page-aligned */
#define AXL_CHAN_RING_MAX       (16u << 20)
#define AXL_CHAN_QUEUE_DEFAULT  4096u /* entries per command / event queue */
#define AXL_CHAN_QUEUE_MIN      64u
#define AXL_CHAN_QUEUE_MAX      65536u
#define AXL_CHAN_REGMEM_DEFAULT 16u /* registered app memory regions per app */
#define AXL_CHAN_REGMEM_MAX     256u
/** AXL_CHAN_REGMEM_BYTES_MAX: largest registered region (the stack maps it). */
#define AXL_CHAN_REGMEM_BYTES_MAX (1ull << 34)
/** AXL_CHAN_REGION_MAX: largest STK or APP region (virtual; memfd pages are
 *  only allocated when touched). 65536 sockets x 16 MiB would be 1 TiB: the
 *  product of max_socks and a ring size must stay under this. */
#define AXL_CHAN_REGION_MAX (1ull << 36)

#define AXL_CHAN_SOCK_NONE 0xffffffffu /* "no socket" in sock fields */

enum axl_chan_region { AXL_CHAN_R_STK = 0, AXL_CHAN_R_APP = 1, AXL_CHAN_NREGIONS = 2 };

/* ------------------------------------------------------------------------ */
/* STK region                                                                */

/* Page 0 of the STK region, written once by the stack before the hand-over.
 * The app recomputes the layout from the hello and compares field by field. */
struct axl_chan_hdr {
    uint32_t magic;                   /* (stk) AXL_CHAN_MAGIC */
    uint32_t version;                 /* (stk) AXL_CHAN_ABI_VERSION */
    uint32_t hdr_size;                /* (stk) sizeof(struct axl_chan_hdr) */
    uint32_t page_size;               /* (stk) AXL_CHAN_PAGE */
    uint32_t app_id;                  /* (stk) the supervisor's number for this application */
    uint32_t max_socks;               /* (stk) sockets in the table, multiple of 64 */
    uint32_t rx_size;                 /* (stk) bytes per RX ring, power of two */
    uint32_t tx_size;                 /* (stk) bytes per TX ring, power of two */
    uint32_t evq_slots;               /* (stk) event queue entries, power of two */
    uint32_t cmdq_slots;              /* (stk) command queue entries, power of two */
    uint32_t max_regmem;              /* (stk) registered memory regions the app may use */
    uint32_t evt_size;                /* (stk) sizeof(struct axl_chan_event) */
    uint32_t cmd_size;                /* (stk) sizeof(struct axl_chan_cmd) */
    uint32_t slot_size;               /* (stk) sizeof(struct axl_chan_slot) */
    uint32_t line_size;               /* (stk) sizeof(struct axl_chan_line) */
    uint32_t reserved0;               /* (stk) 0 */
    uint64_t nonce;                   /* (stk) random per channel: tells two channels apart */
    uint64_t size[AXL_CHAN_NREGIONS]; /* (stk) bytes of the STK and APP memfds */
    /* (stk) section offsets: STK region then APP region */
    uint64_t sctl_off, s_hint_off, s_ack_off, evq_off, slots_off, rx_off;
    uint64_t actl_off, a_hint_off, a_ack_off, cmdq_off, lines_off, tx_off;
};
_Static_assert(sizeof(struct axl_chan_hdr) == 184, "chan ABI: hdr");
_Static_assert(offsetof(struct axl_chan_hdr, nonce) == 64, "chan ABI: hdr");
_Static_assert(offsetof(struct axl_chan_hdr, sctl_off) == 88, "chan ABI: hdr");
_Static_assert(offsetof(struct axl_chan_hdr, actl_off) == 136, "chan ABI: hdr");

/* The stack's index page. Each field on its own cache line. */
struct axl_chan_sctl {
    alignas(64) _Atomic uint32_t activity;   /* (stk) bumped after every batch of
                                                events / RX bytes / hints; the app
                                                sleeps on it (futex) */
    alignas(64) _Atomic uint32_t evq_prod;   /* (stk) event queue producer index */
    alignas(64) _Atomic uint32_t cmdq_cons;  /* (stk) command queue consumer index */
    alignas(64) _Atomic uint32_t cmdq_flags; /* (stk) sleep word: bit 0
                                                AXL_RING_F_NEED_WAKEUP = the stack
                                                sleeps on the app's activity; bits
                                                1..31 = the activity value it saw */
    alignas(64) _Atomic uint32_t state;      /* (stk) enum axl_chan_state */
    _Atomic uint32_t violations;             /* (stk) violations the stack counted
                                                (informational for the app) */
};
_Static_assert(sizeof(struct axl_chan_sctl) == 320, "chan ABI: sctl");
_Static_assert(offsetof(struct axl_chan_sctl, evq_prod) == 64, "chan ABI: sctl");
_Static_assert(offsetof(struct axl_chan_sctl, cmdq_cons) == 128, "chan ABI: sctl");
_Static_assert(offsetof(struct axl_chan_sctl, cmdq_flags) == 192, "chan ABI: sctl");
_Static_assert(offsetof(struct axl_chan_sctl, state) == 256, "chan ABI: sctl");

enum axl_chan_state {
    AXL_CHAN_ST_UP = 1,   /* serving */
    AXL_CHAN_ST_DOWN = 2, /* the stack disconnected this application */
};

/* A socket's slot in the table (STK region). `rx_off`, `tx_off`, `rx_size`
 * and `tx_size` are written once when the channel is created and never
 * change; the rest changes over the socket's lifetimes. A slot is reused
 * (gen + 1) only after the app's CLOSE *and* the stack's CLEANUP.
 *
 * Addresses (laddr, lport, raddr, rport; IPv4, network byte order, as in
 * commands and datagram records; 0 = none yet): written by the stack only,
 * zeroed when the slot is allocated, each field then set once, always
 * *before* the event that tells the app about it, and unchanged until the
 * slot is freed:
 *   BIND                 lport (and laddr: the address bound, 0 = any)
 *                        before its DONE;
 *   LISTEN               lport, laddr as bound;
 *   NEW_CONN (accepted)  all four, before the NEW_CONN event;
 *   CONNECT (TCP)        all four (laddr: the stack's address, lport: the
 *                        port the stack chose when none was bound) before
 *                        the DONE(CONNECT, 0); a failed connect leaves raddr
 *                        and rport set to the destination asked for;
 *   CONNECT (UDP)        raddr, rport (lport, laddr once bound) before its
 *                        DONE; an unbound UDP socket gets lport at its first
 *                        SEND / CONNECT (an ephemeral port).
 * The app reads them after that event (the event queue's release/acquire
 * orders them): getsockname = laddr:lport, getpeername = raddr:rport. They
 * are informational: nothing in the stack depends on what the app makes of
 * them, so the app needs no validation beyond "0 = not known". */
struct axl_chan_slot {
    _Atomic uint32_t state;   /* (stk) enum axl_chan_sock_state */
    _Atomic uint32_t gen;     /* (stk) generation, +1 at each allocation */
    _Atomic uint32_t rx_prod; /* (stk) RX ring producer index (bytes, free-running) */
    _Atomic uint32_t tx_cons; /* (stk) TX ring consumer index: bytes the stack is
                                 done with (for TCP: acknowledged by the peer) */
    _Atomic uint32_t flags;   /* (stk) AXL_CHAN_SF_* */
    _Atomic int32_t error;    /* (stk) socket error (negative errno) or 0 */
    uint32_t rx_size;         /* (stk) RX ring bytes (= hdr.rx_size) */
    uint32_t tx_size;         /* (stk) TX ring bytes (= hdr.tx_size) */
    uint64_t rx_off;          /* (stk) offset of the RX data in the STK region */
    uint64_t tx_off;          /* (stk) offset of the TX data in the APP region */
    _Atomic uint32_t proto;   /* (stk) AXL_CHAN_PROTO_* */
    _Atomic uint32_t listen;  /* (stk) PENDING socket: its listening socket id */
    /* Addresses (see above); a second cache line, touched at set-up only. */
    _Atomic uint32_t laddr;   /* (stk) local IPv4 address, network byte order */
    _Atomic uint32_t raddr;   /* (stk) peer IPv4 address, network byte order */
    _Atomic uint16_t lport;   /* (stk) local port, network byte order */
    _Atomic uint16_t rport;   /* (stk) peer port, network byte order */
    uint32_t reserved[15];    /* (stk) 0 */
};
_Static_assert(sizeof(struct axl_chan_slot) == 128, "chan ABI: slot");
_Static_assert(offsetof(struct axl_chan_slot, rx_off) == 32, "chan ABI: slot");
_Static_assert(offsetof(struct axl_chan_slot, proto) == 48, "chan ABI: slot");
_Static_assert(offsetof(struct axl_chan_slot, laddr) == 56, "chan ABI: slot");
_Static_assert(offsetof(struct axl_chan_slot, lport) == 64, "chan ABI: slot");
_Static_assert(offsetof(struct axl_chan_slot, rport) == 66, "chan ABI: slot");

enum axl_chan_sock_state {
    AXL_CHAN_SS_FREE = 0,        /* not allocated */
    AXL_CHAN_SS_OPEN = 1,        /* allocated by OPEN, neither listening nor connected */
    AXL_CHAN_SS_LISTEN = 2,      /* listening */
    AXL_CHAN_SS_CONNECTING = 3,  /* CONNECT in progress */
    AXL_CHAN_SS_PENDING = 4,     /* announced by NEW_CONN, not yet accepted */
    AXL_CHAN_SS_ESTABLISHED = 5, /* data flows */
    AXL_CHAN_SS_CLOSING = 6,     /* the app closed it; the stack drains, then CLEANUP */
    AXL_CHAN_SS_DEAD = 7,        /* the connection is gone; waiting for the app's CLOSE */
    AXL_CHAN_SS_COUNT
};

enum {
    AXL_CHAN_SF_RX_EOF = 1u << 0,  /* no RX byte will follow rx_prod (FIN) */
    AXL_CHAN_SF_RX_WANT = 1u << 1, /* the RX ring filled up: hint the stack when
                                      you free space (it may owe a window update) */
    AXL_CHAN_SF_TX_SHUT = 1u << 2, /* the stack takes no more TX bytes */
    AXL_CHAN_SF_ALL = 0x7u,
};

enum { AXL_CHAN_PROTO_TCP = 6, AXL_CHAN_PROTO_UDP = 17 };

/* ------------------------------------------------------------------------ */
/* APP region                                                                */

struct axl_chan_actl {
    alignas(64) _Atomic uint32_t activity;  /* (app) bumped after every batch of
                                               commands / TX bytes / hints; the
                                               stack sleeps on it (futex) */
    alignas(64) _Atomic uint32_t cmdq_prod; /* (app) command queue producer index */
    alignas(64) _Atomic uint32_t evq_cons;  /* (app) event queue consumer index */
    alignas(64) _Atomic uint32_t evq_flags; /* (app) sleep word: bit 0
                                               AXL_RING_F_NEED_WAKEUP = the app
                                               sleeps on the stack's activity;
                                               bits 1..31 = the value it saw */
};
_Static_assert(sizeof(struct axl_chan_actl) == 256, "chan ABI: actl");
_Static_assert(offsetof(struct axl_chan_actl, evq_flags) == 192, "chan ABI: actl");

/* The app's indices for one socket (APP region). */
struct axl_chan_line {
    _Atomic uint32_t rx_cons; /* (app) RX ring consumer index */
    _Atomic uint32_t tx_prod; /* (app) TX ring producer index */
    _Atomic uint32_t flags;   /* (app) AXL_CHAN_LF_* */
    uint32_t reserved[13];    /* (app) ignored by the stack */
};
_Static_assert(sizeof(struct axl_chan_line) == 64, "chan ABI: line");

enum {
    AXL_CHAN_LF_TX_WANT = 1u << 0, /* hint the app when TX space frees up */
};

/* ------------------------------------------------------------------------ */
/* Command queue entries (app -> stack), 64 bytes.                           */
/*
 * Field use per opcode (a field not listed must be 0: AXL_CHAN_V_RESERVED):
 *   OPEN       sock=NONE gen=0  arg=proto (TCP|UDP)       -> DONE sock/gen = new socket
 *   BIND       sock gen  family port addr
 *   LISTEN     sock gen  arg=backlog (>= 1; the stack clamps it to its limits)
 *   CONNECT    sock gen  family port(!=0) addr
 *   ACCEPT     sock gen  (the PENDING socket from NEW_CONN)  arg=listening socket id
 *   SEND       sock gen  len (1..tx_size): len bytes are in the TX ring
 *              flags REG: region off len pos: send len bytes of registered
 *              region `region` at `off`, spliced into the stream at TX ring
 *              position `pos` (the app's tx_prod when it issued the command);
 *              DATA_ACKED with this cookie when all of it is acknowledged.
 *              flags MORE: more data follows soon (like MSG_MORE).
 *   RECV_DONE  sock gen  len (1..rx_size): the app consumed len RX bytes
 *   SHUTDOWN   sock gen  arg=how (0 RD, 1 WR, 2 RDWR)
 *   CLOSE      sock gen  flags ABORT: reset instead of an orderly close
 *   SETOPT     sock gen  arg=option (AXL_CHAN_OPT_*) len=value
 *   OBJ_REG    sock=NONE gen=0 region off len (1..AXL_CHAN_OBJ_MAX) arg=variant
 *              (0 pre-copy, 1 memcpy): pre-packetise len bytes of registered
 *              memory (net/tcp_prepkt.h) -> DONE arg2 = object id
 *   OBJ_SEND   sock gen  arg=object id: queue the whole object on the socket
 *              (TCP); DATA_ACKED with this cookie when acknowledged
 *   OBJ_FREE   sock=NONE gen=0 arg=object id (freed once no send uses it)
 * `cookie` is free for the app in every command and comes back in DONE.
 *
 * UDP sockets carry datagram records in both byte rings: a struct
 * axl_chan_dgram header, then `len` payload bytes, then padding to the next
 * multiple of 8 (records start 8-byte aligned in ring positions and may wrap
 * around the ring end like any bytes). A SEND's len covers whole records; the
 * stack consumes (tx_cons) records as it sends them and reports DATA_ACKED
 * with the bytes. A datagram that does not fit the RX ring is dropped and
 * counted, never split.
 */
struct axl_chan_cmd {
    uint16_t op;      /* (app) AXL_CHAN_OP_* */
    uint16_t flags;   /* (app) per opcode */
    uint32_t sock;    /* (app) socket id, or AXL_CHAN_SOCK_NONE */
    uint32_t gen;     /* (app) the socket's generation */
    uint32_t len;     /* (app) byte count / option value */
    uint64_t cookie;  /* (app) opaque, echoed in the completion */
    uint64_t off;     /* (app) SEND|REG: offset in the registered region */
    uint32_t region;  /* (app) SEND|REG: registered region id */
    uint32_t pos;     /* (app) SEND|REG: TX ring position of the splice */
    uint32_t arg;     /* (app) per opcode */
    uint16_t port;    /* (app) BIND/CONNECT: port, network byte order */
    uint8_t family;   /* (app) BIND/CONNECT: AXL_CHAN_AF_INET / _INET6 */
    uint8_t reserved; /* (app) 0 */
    uint8_t addr[16]; /* (app) BIND/CONNECT: IPv4 in addr[0..3] (rest 0) or IPv6 */
};
_Static_assert(sizeof(struct axl_chan_cmd) == 64, "chan ABI: cmd");
_Static_assert(offsetof(struct axl_chan_cmd, cookie) == 16, "chan ABI: cmd");
_Static_assert(offsetof(struct axl_chan_cmd, region) == 32, "chan ABI: cmd");
_Static_assert(offsetof(struct axl_chan_cmd, port) == 44, "chan ABI: cmd");
_Static_assert(offsetof(struct axl_chan_cmd, addr) == 48, "chan ABI: cmd");

enum axl_chan_op {
    AXL_CHAN_OP_OPEN = 1,
    AXL_CHAN_OP_BIND = 2,
    AXL_CHAN_OP_LISTEN = 3,
    AXL_CHAN_OP_CONNECT = 4,
    AXL_CHAN_OP_ACCEPT = 5,
    AXL_CHAN_OP_SEND = 6,
    AXL_CHAN_OP_RECV_DONE = 7,
    AXL_CHAN_OP_SHUTDOWN = 8,
    AXL_CHAN_OP_CLOSE = 9,
    AXL_CHAN_OP_SETOPT = 10,
    AXL_CHAN_OP_OBJ_REG = 11,
    AXL_CHAN_OP_OBJ_SEND = 12,
    AXL_CHAN_OP_OBJ_FREE = 13,
    AXL_CHAN_OP_MAX = 13
};

/** AXL_CHAN_OBJ_MAX: largest pre-packetised object (bytes). */
#define AXL_CHAN_OBJ_MAX (64u << 20)
/** AXL_CHAN_OBJS_MAX: object ids per application are below this. */
#define AXL_CHAN_OBJS_MAX 65536u

/* UDP datagram record header in a byte ring (see above). */
struct axl_chan_dgram {
    uint32_t len;     /* (writer) payload bytes, 0..65507 */
    uint32_t addr;    /* (writer) peer IPv4 address, network byte order (TX: 0 =
                         the connected destination) */
    uint16_t port;    /* (writer) peer port, network byte order */
    uint16_t flags;   /* (writer) 0 */
    uint32_t reserved;/* (writer) 0 */
};
_Static_assert(sizeof(struct axl_chan_dgram) == 16, "chan ABI: dgram");
#define AXL_CHAN_DGRAM_MAX 65507u
/* Ring bytes one datagram of `len` payload bytes takes. */
#define AXL_CHAN_DGRAM_SPAN(len) (16u + (((uint32_t)(len) + 7u) & ~7u))

enum {
    AXL_CHAN_SENDF_REG = 1u << 0,
    AXL_CHAN_SENDF_MORE = 1u << 1,
    AXL_CHAN_CLOSEF_ABORT = 1u << 0,
};

enum { AXL_CHAN_AF_INET = 4, AXL_CHAN_AF_INET6 = 6 };

enum axl_chan_opt {
    AXL_CHAN_OPT_NODELAY = 1,   /* 0/1 */
    AXL_CHAN_OPT_KEEPALIVE = 2, /* 0/1 */
    AXL_CHAN_OPT_KEEPIDLE = 3,  /* seconds, 1..32767 */
    AXL_CHAN_OPT_KEEPINTVL = 4, /* seconds, 1..32767 */
    AXL_CHAN_OPT_KEEPCNT = 5,   /* 1..127 */
    AXL_CHAN_OPT_REUSEADDR = 6, /* 0/1 */
    AXL_CHAN_OPT_REUSEPORT = 7, /* 0/1 */
    AXL_CHAN_OPT_LINGER = 8,    /* seconds, 0..65535, or 0xffffffff = off */
    AXL_CHAN_OPT_MAX = 8
};

/* ------------------------------------------------------------------------ */
/* Event queue entries (stack -> app), 32 bytes.                             */
/*
 *   NEW_CONN       sock gen = the new (PENDING, pre-mapped) socket;
 *                  arg = listening socket id, arg2 = its generation
 *   NEW_DATA       sock gen; arg = bytes readable in the RX ring (<= rx_size)
 *   DATA_ACKED     sock gen; arg = bytes acknowledged (> 0); cookie = the
 *                  SEND|REG command's cookie, or 0 for TX ring bytes
 *                  (then arg <= tx_size)
 *   REMOTE_CLOSED  sock gen; status 0 (FIN) or negative errno (reset, timeout)
 *   CLEANUP        sock gen; status as above; the slot may be reused after it
 *                  and the app's CLOSE
 *   DONE           completion: arg = opcode, cookie = the command's cookie,
 *                  status 0 or negative errno; sock gen = the command's socket
 *                  (for OPEN: the new socket; NONE if it failed); arg2 = the
 *                  object id for OBJ_REG, else 0. Every command gets one DONE
 *                  except SEND, RECV_DONE and OBJ_SEND, which are answered by
 *                  DATA_ACKED (and by a DONE with the error only when they
 *                  fail); CONNECT's DONE comes when the connection is
 *                  established (status 0) or failed.
 * Unused fields are 0.
 */
struct axl_chan_event {
    uint16_t type;   /* (stk) AXL_CHAN_EV_* */
    uint16_t flags;  /* (stk) 0 */
    uint32_t sock;   /* (stk) socket id or AXL_CHAN_SOCK_NONE */
    uint32_t gen;    /* (stk) the socket's generation */
    int32_t status;  /* (stk) 0 or negative errno */
    uint64_t cookie; /* (stk) see above */
    uint32_t arg;    /* (stk) see above */
    uint32_t arg2;   /* (stk) see above */
};
_Static_assert(sizeof(struct axl_chan_event) == 32, "chan ABI: event");
_Static_assert(offsetof(struct axl_chan_event, cookie) == 16, "chan ABI: event");

enum axl_chan_ev {
    AXL_CHAN_EV_NEW_CONN = 1,
    AXL_CHAN_EV_NEW_DATA = 2,
    AXL_CHAN_EV_DATA_ACKED = 3,
    AXL_CHAN_EV_REMOTE_CLOSED = 4,
    AXL_CHAN_EV_CLEANUP = 5,
    AXL_CHAN_EV_DONE = 6,
    AXL_CHAN_EV_MAX = 6
};

/* ------------------------------------------------------------------------ */
/* Control messages on the Unix socket (SCM_RIGHTS), 64 bytes each.          */

enum axl_chan_msg_type {
    AXL_CHAN_MSG_HELLO = 1,      /* stack -> app, 2 or 3 fds: STK region, APP
                                    region [, bell]. The bell is an eventfd of
                                    the stack: an app that got one wakes the
                                    stack by write(2)ing an 8-byte 1 to it
                                    instead of FUTEX_WAKE on its activity word
                                    (same rule for when: doorbell.h), because a
                                    replica sleeps in poll(2) on its port, its
                                    apps and its supervisor at once, and poll
                                    cannot wait on a futex. Without a bell the
                                    stack sleeps on the futex (FUTEX_WAKE). */
    AXL_CHAN_MSG_REGMEM = 2,     /* app -> stack, 1 fd: a sealed memfd to register */
    AXL_CHAN_MSG_REGMEM_ACK = 3, /* stack -> app, 0 fds: region id or error */
    AXL_CHAN_MSG_MAX = 3
};

/** AXL_CHAN_MSG_FDS_MAX: most fds one message carries (HELLO with a bell). */
#define AXL_CHAN_MSG_FDS_MAX 3
/** AXL_CHAN_HELLO_BELL: index of the bell among the HELLO's fds. */
#define AXL_CHAN_HELLO_BELL 2

struct axl_chan_hello {
    uint32_t app_id;
    uint32_t max_socks, rx_size, tx_size;
    uint32_t evq_slots, cmdq_slots, max_regmem;
    uint32_t reserved; /* 0 */
    uint64_t nonce;    /* = hdr.nonce; the region sizes follow from the layout */
};
_Static_assert(sizeof(struct axl_chan_hello) == 40, "chan ABI: hello");

struct axl_chan_regmem_msg {
    uint64_t size;   /* REGMEM: bytes of the memfd */
    uint64_t cookie; /* REGMEM / REGMEM_ACK: echoed */
    int32_t status;  /* REGMEM_ACK: 0 or negative errno; REGMEM: 0 */
    uint32_t region; /* REGMEM_ACK: the region id to put in SEND|REG; REGMEM: 0 */
};
_Static_assert(sizeof(struct axl_chan_regmem_msg) == 24, "chan ABI: regmem msg");

struct axl_chan_msg {
    uint32_t magic;    /* AXL_CHAN_MAGIC */
    uint16_t version;  /* AXL_CHAN_ABI_VERSION */
    uint16_t type;     /* enum axl_chan_msg_type */
    uint32_t nfds;     /* fds that travel with it: 2 or 3 / 1 / 0 by type */
    uint32_t reserved; /* 0 */
    union {
        struct axl_chan_hello hello;
        struct axl_chan_regmem_msg regmem;
        uint8_t bytes[48];
    } u;
};
_Static_assert(sizeof(struct axl_chan_msg) == 64, "chan ABI: msg");
_Static_assert(offsetof(struct axl_chan_msg, u) == 16, "chan ABI: msg");

#endif
