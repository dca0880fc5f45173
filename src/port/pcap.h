/* SPDX-License-Identifier: MIT */
/*
 * pcap.h - classic libpcap capture files, written from the packet path.
 *
 * tcpdump cannot see frames that bypass the kernel, so every port can mirror
 * what it receives and sends into a pcap file (spec key pcap=FILE). The file is
 * the classic format (not pcapng): a 24-byte global header with the
 * nanosecond-resolution magic 0xa1b23c4d, version 2.4, LINKTYPE_ETHERNET (1),
 * then one 16-byte record header + the captured bytes per frame, all in host
 * byte order (readers detect the order from the magic). tshark, tcpdump and
 * Wireshark read it.
 *
 * Call chain: axl_port_rx_burst / axl_port_tx_burst (port.h)
 *   -> axl_pcap_mirror / axl_pcap_mirror_begin+end (one CLOCK_REALTIME read
 *      per burst)
 *   -> axl_pcap_write (memcpy into the buffer) -> axl_pcap_flush (write(2)).
 *
 * Cost: records are appended to a 1 MiB buffer; the file sees one write(2)
 * per buffer-full, never one per frame. The buffer is also written out when
 * its oldest record is older than AXL_PCAP_FLUSH_MS (checked on each write),
 * by axl_pcap_flush() (the engine calls it, through axl_port_idle(), before it
 * sleeps) and on close, so a capture of an idle port is never more than that
 * interval behind.
 *
 * TX bursts: axl_port_tx_burst records the frames before tx_burst takes them
 * (mirror_begin) and takes back the records of refused frames afterwards
 * (mirror_end), so an engine's retry does not capture a frame twice. A single
 * burst larger than AXL_PCAP_BUF is written in pieces and not taken back.
 *
 * Stream mode (axl_pcap_open_stream, for `axlctl capture`): instead of a
 * file, a SOCK_SEQPACKET socket whose reader writes the file. Each record
 * (header + bytes) is one datagram, sent without blocking at the end of
 * every burst; a datagram the socket cannot take is dropped and counted,
 * a reader that went away (EPIPE) ends the capture (axl_pcap_done). Only
 * frames that match the filter are recorded (RX: before copying; TX: the
 * burst's records are filtered after the refused ones are taken back), at
 * most `limit` records. No global header is sent: the reader writes it.
 *
 * Write errors (disk full, ...) are counted, the affected records are dropped
 * and counted, and mirroring goes on; the packet path never fails because of
 * the capture. Single-threaded: one writer per port queue.
 */
#ifndef AXL_PORT_PCAP_H
#define AXL_PORT_PCAP_H

#include <stdint.h>

#include "core/pool.h"

#define AXL_PCAP_MAGIC_NS      0xa1b23c4du /* nanosecond timestamps */
#define AXL_PCAP_VERSION_MAJOR 2
#define AXL_PCAP_VERSION_MINOR 4
#define AXL_PCAP_LINKTYPE_ETH  1u
/** AXL_PCAP_SNAPLEN: default and largest bytes kept per frame. */
#define AXL_PCAP_SNAPLEN 65535u
/** AXL_PCAP_BUF: bytes buffered before a write(2); must hold one full record,
 *  and should hold a whole TX burst (64 jumbo frames fit) so that the records
 *  of refused frames can be taken back (axl_pcap_mirror_end). */
#define AXL_PCAP_BUF (1024u * 1024u)
/** AXL_PCAP_FLUSH_MS: oldest buffered record is written out after this long. */
#define AXL_PCAP_FLUSH_MS 100u

/* On-disk headers (host byte order). */
struct axl_pcap_file_hdr {
    uint32_t magic;
    uint16_t version_major;
    uint16_t version_minor;
    int32_t thiszone;
    uint32_t sigfigs;
    uint32_t snaplen;
    uint32_t linktype;
};
_Static_assert(sizeof(struct axl_pcap_file_hdr) == 24, "pcap file header");

struct axl_pcap_rec_hdr {
    uint32_t ts_sec;
    uint32_t ts_nsec;
    uint32_t incl_len;
    uint32_t orig_len;
};
_Static_assert(sizeof(struct axl_pcap_rec_hdr) == 16, "pcap record header");
_Static_assert(AXL_PCAP_BUF >= AXL_PCAP_SNAPLEN + sizeof(struct axl_pcap_rec_hdr),
               "AXL_PCAP_BUF must hold one full record");

/* A capture filter: every non-zero term must match (AND). host: IPv4
 * source or destination (ARP sender or target); port: TCP or UDP source or
 * destination (first fragments only); proto: IPPROTO_ICMP/TCP/UDP. */
struct axl_pcap_filter {
    uint32_t host; /* host order, 0 = any */
    uint16_t port; /* 0 = any */
    uint8_t proto; /* 0 = any */
};
/* 1 if the Ethernet frame matches (an empty filter matches everything). */
int axl_pcap_filter_match(const struct axl_pcap_filter *f, const uint8_t *frame, uint32_t len);

struct axl_pcap {
    int fd;
    /* stream mode (axl_pcap_open_stream) */
    int stream;                  /* 1: fd is a SOCK_SEQPACKET socket, one record per datagram */
    int closed;                  /* the reader went away (or the limit was reached) */
    struct axl_pcap_filter filt; /* what is recorded */
    uint64_t limit;              /* records at most, 0 = no limit */
    uint32_t snaplen;
    uint8_t *buf;          /* AXL_PCAP_BUF bytes */
    uint32_t len;          /* bytes buffered */
    uint32_t nrec_buf;     /* records buffered (to count drops on error) */
    uint64_t oldest_ns;    /* realtime ns of the oldest buffered record */
    uint64_t records;      /* records written to the file */
    uint64_t bytes;        /* bytes written to the file (headers included) */
    uint64_t write_calls;  /* write(2) calls made */
    uint64_t write_errors; /* failed write(2) calls */
    uint64_t dropped;      /* records lost to write errors */
    /* the TX burst being mirrored (mirror_begin .. mirror_end) */
    int burst_open;      /* 0 when the burst did not fit and cannot be trimmed */
    uint32_t burst_off;  /* buffer offset of its first record */
    uint32_t burst_nrec; /* nrec_buf before it */
    uint32_t burst_n;    /* records it added */
    uint64_t burst_sec;  /* its timestamp */
    uint32_t burst_nsec;
};

/* Create (truncate) `path` and write the global header. snaplen 0 means
 * AXL_PCAP_SNAPLEN; larger values are clamped to it. 0 or negative AXL_E*. */
int axl_pcap_open(struct axl_pcap **out, const char *path, uint32_t snaplen);
/* Stream mode on socket fd (taken over: closed by axl_pcap_close). 0 or
 * negative AXL_E*. */
int axl_pcap_open_stream(struct axl_pcap **out, int fd, uint32_t snaplen,
                         const struct axl_pcap_filter *f, uint64_t limit);
/* Stream mode: 1 once the capture is over (reader gone, limit reached). */
int axl_pcap_done(const struct axl_pcap *pc);
/* Append one record (kept in the buffer until it fills or ages). */
void axl_pcap_write(struct axl_pcap *pc, const uint8_t *data, uint32_t len, uint64_t ts_sec,
                    uint32_t ts_nsec);
/* Write out everything buffered. 0 or negative AXL_E* (also counted). */
int axl_pcap_flush(struct axl_pcap *pc);
/* Flush, close the file, free. NULL is fine. */
void axl_pcap_close(struct axl_pcap *pc);

#endif
