/* SPDX-License-Identifier: MIT */
/*
 * pcap_write.c - writes N Ethernet/IPv4/UDP frames of growing size through
 * the project's pcap writer (src/port/pcap.c), so that an independent reader
 * (tshark, in tests/integration/pcap_tshark.sh) can check the file.
 *   pcap_write FILE N [SNAPLEN]
 * Frame i: 02:00:00:00:00:01 -> 02:00:00:00:00:02, 198.18.0.1:1000+i ->
 * 198.18.0.2:9, UDP payload of i+1 bytes (i % 256), frame length 43 + i
 * (at least 60: short frames are padded as on a wire).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/compiler.h"
#include "port/pcap.h"

static uint16_t ip_csum(const uint8_t *p, size_t len)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static uint32_t build(uint8_t *f, uint32_t i)
{
    static const uint8_t dst[6] = {2, 0, 0, 0, 0, 2}, src[6] = {2, 0, 0, 0, 0, 1};
    uint32_t payload = i + 1, udp_len = 8 + payload, ip_len = 20 + udp_len;
    uint32_t len = 14 + ip_len;

    memset(f, 0, 60);
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    axl_store_be16(f + 12, 0x0800);
    uint8_t *ip = f + 14;
    ip[0] = 0x45;
    axl_store_be16(ip + 2, (uint16_t)ip_len);
    axl_store_be16(ip + 4, (uint16_t)i);
    ip[8] = 64;
    ip[9] = 17;
    axl_store_be32(ip + 12, 0xc6120001); /* 198.18.0.1 */
    axl_store_be32(ip + 16, 0xc6120002); /* 198.18.0.2 */
    axl_store_be16(ip + 10, ip_csum(ip, 20));
    uint8_t *udp = ip + 20;
    axl_store_be16(udp, (uint16_t)(1000 + i));
    axl_store_be16(udp + 2, 9);
    axl_store_be16(udp + 4, (uint16_t)udp_len);
    axl_store_be16(udp + 6, 0); /* no checksum (allowed for UDP over IPv4) */
    memset(udp + 8, (int)(i & 0xff), payload);
    return len < 60 ? 60 : len;
}

int main(int argc, char **argv)
{
    static uint8_t frame[1600];
    struct axl_pcap *pc;
    uint64_t sec;
    uint32_t nsec, n, snap;

    if (argc < 3 || (n = (uint32_t)atoi(argv[2])) == 0 || n > 1400) {
        fprintf(stderr, "usage: pcap_write FILE N(1..1400) [SNAPLEN]\n");
        return 2;
    }
    snap = argc > 3 ? (uint32_t)atoi(argv[3]) : 0;
    if (axl_pcap_open(&pc, argv[1], snap) < 0) return 1;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t len = build(frame, i);
        axl_clock_realtime(&sec, &nsec);
        axl_pcap_write(pc, frame, len, sec, nsec);
    }
    axl_pcap_close(pc);
    return 0;
}
