/* SPDX-License-Identifier: MIT */
/*
 * pcap.c - buffered classic-pcap writer that mirrors a port's traffic.
 * Format, buffering and flush policy: see pcap.h.
 */
#include "port/pcap.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "port/port.h"

/* write(2) all of buf, retrying short writes and EINTR. 0 or -errno. */
static int pcap_write_all(int fd, const uint8_t *buf, size_t len, uint64_t *calls)
{
    while (len) {
        ssize_t w = write(fd, buf, len);
        (*calls)++;
        if (w < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

int axl_pcap_open(struct axl_pcap **out, const char *path, uint32_t snaplen)
{
    struct axl_pcap *pc = NULL;
    int ret;

    *out = NULL;
    if (!path || !*path) return AXL_EINVAL;
    pc = calloc(1, sizeof(*pc));
    if (!pc) return AXL_ENOMEM;
    pc->fd = -1;
    pc->snaplen = (snaplen == 0 || snaplen > AXL_PCAP_SNAPLEN) ? AXL_PCAP_SNAPLEN : snaplen;
    pc->buf = malloc(AXL_PCAP_BUF);
    if (!pc->buf) {
        ret = AXL_ENOMEM;
        goto err;
    }
    pc->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (pc->fd < 0) {
        ret = -errno;
        axl_err("pcap", "%s: %s", path, strerror(errno));
        goto err;
    }
    struct axl_pcap_file_hdr h = {
        .magic = AXL_PCAP_MAGIC_NS,
        .version_major = AXL_PCAP_VERSION_MAJOR,
        .version_minor = AXL_PCAP_VERSION_MINOR,
        .thiszone = 0,
        .sigfigs = 0,
        .snaplen = pc->snaplen,
        .linktype = AXL_PCAP_LINKTYPE_ETH,
    };
    /* Written at once so that even a capture with no frames is a valid file. */
    ret = pcap_write_all(pc->fd, (const uint8_t *)&h, sizeof(h), &pc->write_calls);
    if (ret < 0) {
        axl_err("pcap", "%s: %s", path, strerror(-ret));
        goto err;
    }
    pc->bytes = sizeof(h);
    *out = pc;
    return 0;
err:
    if (pc->fd >= 0) close(pc->fd);
    free(pc->buf);
    free(pc);
    return ret;
}

int axl_pcap_open_stream(struct axl_pcap **out, int fd, uint32_t snaplen,
                         const struct axl_pcap_filter *f, uint64_t limit)
{
    struct axl_pcap *pc;

    *out = NULL;
    if (fd < 0) return AXL_EINVAL;
    pc = calloc(1, sizeof(*pc));
    if (!pc) return AXL_ENOMEM;
    pc->buf = malloc(AXL_PCAP_BUF);
    if (!pc->buf) {
        free(pc);
        return AXL_ENOMEM;
    }
    pc->fd = fd;
    pc->stream = 1;
    pc->snaplen = (snaplen == 0 || snaplen > AXL_PCAP_SNAPLEN) ? AXL_PCAP_SNAPLEN : snaplen;
    if (f) pc->filt = *f;
    pc->limit = limit;
    *out = pc;
    return 0;
}

int axl_pcap_done(const struct axl_pcap *pc)
{
    return pc->closed || (pc->limit && pc->records + pc->dropped >= pc->limit);
}

/* Stream mode: one datagram per buffered record, never blocking. */
static int pcap_stream_flush(struct axl_pcap *pc)
{
    uint32_t off = 0;
    int ret = 0;
    while (off + sizeof(struct axl_pcap_rec_hdr) <= pc->len) {
        struct axl_pcap_rec_hdr rh;
        memcpy(&rh, pc->buf + off, sizeof(rh));
        uint32_t sz = (uint32_t)sizeof(rh) + rh.incl_len;
        ssize_t w = -1;
        if (!pc->closed) {
            do
                w = send(pc->fd, pc->buf + off, sz, MSG_DONTWAIT | MSG_NOSIGNAL);
            while (w < 0 && errno == EINTR);
            pc->write_calls++;
        }
        if (w == (ssize_t)sz) {
            pc->records++;
            pc->bytes += sz;
        } else {
            pc->dropped++;
            if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS &&
                !pc->closed) {
                pc->closed = 1; /* EPIPE, ECONNRESET: the reader is gone */
                ret = -errno;
            } else if (w >= 0 || errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
                pc->write_errors++; /* the reader is too slow: this record is lost */
        }
        off += sz;
    }
    pc->len = 0;
    pc->nrec_buf = 0;
    return ret;
}

/* Stream mode: may this frame be recorded (filter, limit, reader alive)? */
static int stream_wants(const struct axl_pcap *pc, const uint8_t *data, uint32_t len)
{
    if (pc->closed) return 0;
    if (pc->limit && pc->records + pc->dropped + pc->nrec_buf >= pc->limit) return 0;
    return axl_pcap_filter_match(&pc->filt, data, len);
}

static uint16_t ld16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}
static uint32_t ld32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

int axl_pcap_filter_match(const struct axl_pcap_filter *f, const uint8_t *frame, uint32_t len)
{
    if (!f->host && !f->port && !f->proto) return 1;
    if (len < 14) return 0;
    uint32_t off = 12;
    uint16_t type = ld16(frame + off);
    if (type == 0x8100 && len >= 18) { /* one 802.1Q tag */
        off += 4;
        type = ld16(frame + off);
    }
    off += 2;
    if (type == 0x0806) { /* ARP (RFC 826): sender IP at 14, target IP at 24 */
        if (f->port || f->proto || len < off + 28) return 0;
        return ld32(frame + off + 14) == f->host || ld32(frame + off + 24) == f->host;
    }
    if (type != 0x0800 || len < off + 20) return 0;
    const uint8_t *ip = frame + off;
    uint32_t ihl = (uint32_t)(ip[0] & 0x0f) * 4;
    if ((ip[0] >> 4) != 4 || ihl < 20 || len < off + ihl) return 0;
    uint8_t proto = ip[9];
    if (f->proto && proto != f->proto) return 0;
    if (f->host && ld32(ip + 12) != f->host && ld32(ip + 16) != f->host) return 0;
    if (f->port) {
        int first = (ld16(ip + 6) & 0x1fff) == 0; /* ports only in the first fragment */
        if ((proto != 6 && proto != 17) || !first || len < off + ihl + 4) return 0;
        const uint8_t *l4 = ip + ihl;
        if (ld16(l4) != f->port && ld16(l4 + 2) != f->port) return 0;
    }
    return 1;
}

int axl_pcap_flush(struct axl_pcap *pc)
{
    int ret;

    if (!pc || pc->len == 0) return 0;
    if (pc->stream) return pcap_stream_flush(pc);
    ret = pcap_write_all(pc->fd, pc->buf, pc->len, &pc->write_calls);
    if (ret < 0) {
        /* The records are lost; a partial write may leave a torn record at
         * the end of the file, which readers report as a truncated capture. */
        if (pc->write_errors++ == 0)
            axl_err("pcap", "write failed: %s (records dropped and counted)", strerror(-ret));
        pc->dropped += pc->nrec_buf;
    } else {
        pc->records += pc->nrec_buf;
        pc->bytes += pc->len;
    }
    pc->len = 0;
    pc->nrec_buf = 0;
    return ret;
}

/* Append one record; the caller made room. */
static void pcap_append(struct axl_pcap *pc, const uint8_t *data, uint32_t len, uint64_t ts_sec,
                        uint32_t ts_nsec)
{
    uint32_t incl = len < pc->snaplen ? len : pc->snaplen;
    struct axl_pcap_rec_hdr rh;

    if (pc->nrec_buf == 0) pc->oldest_ns = ts_sec * AXL_NS_PER_S + ts_nsec;
    rh.ts_sec = (uint32_t)ts_sec; /* the classic format's field is 32 bits (until 2106) */
    rh.ts_nsec = ts_nsec;
    rh.incl_len = incl;
    rh.orig_len = len;
    memcpy(pc->buf + pc->len, &rh, sizeof(rh));
    memcpy(pc->buf + pc->len + sizeof(rh), data, incl);
    pc->len += (uint32_t)sizeof(rh) + incl;
    pc->nrec_buf++;
}

/* Age-based flush; now_ns < oldest_ns means the wall clock stepped back. */
static void pcap_flush_if_old(struct axl_pcap *pc, uint64_t now_ns)
{
    if (pc->nrec_buf &&
        (now_ns - pc->oldest_ns >= AXL_PCAP_FLUSH_MS * AXL_NS_PER_MS || now_ns < pc->oldest_ns))
        axl_pcap_flush(pc);
}

static uint32_t rec_size(const struct axl_pcap *pc, uint32_t len)
{
    return (uint32_t)sizeof(struct axl_pcap_rec_hdr) + (len < pc->snaplen ? len : pc->snaplen);
}

void axl_pcap_write(struct axl_pcap *pc, const uint8_t *data, uint32_t len, uint64_t ts_sec,
                    uint32_t ts_nsec)
{
    if (pc->stream && !stream_wants(pc, data, len)) return;
    if (pc->len + rec_size(pc, len) > AXL_PCAP_BUF) axl_pcap_flush(pc);
    pcap_append(pc, data, len, ts_sec, ts_nsec);
    pcap_flush_if_old(pc, ts_sec * AXL_NS_PER_S + ts_nsec);
}

void axl_pcap_mirror(struct axl_pcap *pc, struct axl_pkt **pkts, uint32_t n)
{
    uint64_t sec;
    uint32_t nsec;

    axl_clock_realtime(&sec, &nsec); /* one clock read per burst */
    if (pc->stream) {
        for (uint32_t i = 0; i < n; i++) {
            if (!stream_wants(pc, pkts[i]->data, pkts[i]->len)) continue;
            if (pc->len + rec_size(pc, pkts[i]->len) > AXL_PCAP_BUF) axl_pcap_flush(pc);
            pcap_append(pc, pkts[i]->data, pkts[i]->len, sec, nsec);
        }
        axl_pcap_flush(pc);
        return;
    }
    for (uint32_t i = 0; i < n; i++)
        axl_pcap_write(pc, pkts[i]->data, pkts[i]->len, sec, nsec);
}

/* Stream mode, end of a TX burst: keep only the records the filter and the
 * limit want (the buffer holds this burst's records only: begin flushed the
 * previous ones), then send them. */
static void stream_tx_filter(struct axl_pcap *pc)
{
    uint32_t in = 0, out = 0, kept = 0;
    while (in + sizeof(struct axl_pcap_rec_hdr) <= pc->len) {
        struct axl_pcap_rec_hdr rh;
        memcpy(&rh, pc->buf + in, sizeof(rh));
        uint32_t sz = (uint32_t)sizeof(rh) + rh.incl_len;
        uint32_t saved = pc->nrec_buf;
        pc->nrec_buf = kept; /* stream_wants counts what is kept so far */
        int want = stream_wants(pc, pc->buf + in + sizeof(rh), rh.incl_len);
        pc->nrec_buf = saved;
        if (want) {
            if (out != in) memmove(pc->buf + out, pc->buf + in, sz);
            out += sz;
            kept++;
        }
        in += sz;
    }
    pc->len = out;
    pc->nrec_buf = kept;
    axl_pcap_flush(pc);
}

void axl_pcap_mirror_begin(struct axl_pcap *pc, struct axl_pkt **pkts, uint32_t n)
{
    uint64_t need = 0;

    axl_clock_realtime(&pc->burst_sec, &pc->burst_nsec);
    if (pc->stream) axl_pcap_flush(pc); /* the buffer then holds this burst only */
    for (uint32_t i = 0; i < n; i++)
        need += rec_size(pc, pkts[i]->len);
    if (pc->len + need > AXL_PCAP_BUF) axl_pcap_flush(pc);
    if (need > AXL_PCAP_BUF) {
        /* Larger than the whole buffer: written in pieces, cannot be taken
         * back (documented in pcap.h). */
        pc->burst_open = 0;
        for (uint32_t i = 0; i < n; i++)
            axl_pcap_write(pc, pkts[i]->data, pkts[i]->len, pc->burst_sec, pc->burst_nsec);
        return;
    }
    pc->burst_open = 1;
    pc->burst_off = pc->len;
    pc->burst_nrec = pc->nrec_buf;
    pc->burst_n = n;
    for (uint32_t i = 0; i < n; i++)
        pcap_append(pc, pkts[i]->data, pkts[i]->len, pc->burst_sec, pc->burst_nsec);
}

void axl_pcap_mirror_end(struct axl_pcap *pc, uint32_t accepted)
{
    if (pc->burst_open && accepted < pc->burst_n) {
        /* Walk our own records to where the first refused frame starts. */
        uint32_t off = pc->burst_off;
        for (uint32_t i = 0; i < accepted; i++) {
            struct axl_pcap_rec_hdr rh;
            memcpy(&rh, pc->buf + off, sizeof(rh));
            off += (uint32_t)sizeof(rh) + rh.incl_len;
        }
        pc->len = off;
        pc->nrec_buf = pc->burst_nrec + accepted;
    }
    pc->burst_open = 0;
    if (pc->stream) {
        stream_tx_filter(pc);
        return;
    }
    pcap_flush_if_old(pc, pc->burst_sec * AXL_NS_PER_S + pc->burst_nsec);
}

void axl_pcap_close(struct axl_pcap *pc)
{
    if (!pc) return;
    axl_pcap_flush(pc);
    if (pc->fd >= 0) close(pc->fd);
    free(pc->buf);
    free(pc);
}
