/* SPDX-License-Identifier: MIT */
/*
 * steer.c - Toeplitz hashing (Microsoft RSS), the symmetric key, and the
 * frame classifier the director steers by. See steer.h for the definitions.
 *
 * Call chain: director rx -> axl_steer_frame_hash -> axl_steer_hash4 ->
 * axl_steer_sym_fold_hash; tcp.c pick_port -> axl_steer_port_ok.
 */
#include "steer/steer.h"

#include "core/compiler.h"

const uint8_t axl_steer_sym_key[AXL_STEER_KEY_LEN] = {
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
};

/* "Verifying the RSS Hash Calculation" (Microsoft NDIS documentation). */
const uint8_t axl_steer_ms_key[AXL_STEER_KEY_LEN] = {
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
    0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
    0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

uint32_t axl_toeplitz(const uint8_t *key, const uint8_t *data, size_t len)
{
    /* window = key bits [i, i+32); shifted left one bit per input bit, the next
     * key bit entering at the bottom. */
    uint32_t hash = 0;
    uint32_t win = ((uint32_t)key[0] << 24) | ((uint32_t)key[1] << 16) | ((uint32_t)key[2] << 8) |
                   key[3];
    if (len > AXL_STEER_KEY_LEN - 4) len = AXL_STEER_KEY_LEN - 4;
    for (size_t i = 0; i < len; i++) {
        uint8_t next = key[i + 4];
        for (int b = 7; b >= 0; b--) {
            if (data[i] & (1u << b)) hash ^= win;
            win = (win << 1) | ((next >> b) & 1u);
        }
    }
    return hash;
}

uint32_t axl_steer_hash4_key(const uint8_t *key, uint32_t saddr, uint32_t daddr, uint16_t sport,
                             uint16_t dport)
{
    uint8_t in[12];
    axl_store_be32(in, saddr);
    axl_store_be32(in + 4, daddr);
    axl_store_be16(in + 8, sport);
    axl_store_be16(in + 10, dport);
    return axl_toeplitz(key, in, sizeof(in));
}

uint32_t axl_steer_sym_fold_hash(uint16_t fold)
{
    /* The key repeats every 16 bits, so input bit i meets the same window as
     * bit i mod 16: the Toeplitz hash of the tuple equals that of its 16-bit
     * XOR fold (steer.h). */
    uint8_t in[2] = {(uint8_t)(fold >> 8), (uint8_t)fold};
    return axl_toeplitz(axl_steer_sym_key, in, sizeof(in));
}

enum {
    ETH_HLEN_ = 14,
    ETHERTYPE_IPV4_ = 0x0800,
    ETHERTYPE_VLAN_ = 0x8100,
    IPPROTO_TCP_ = 6,
    IPPROTO_UDP_ = 17,
};

int axl_steer_frame_tcp(const uint8_t *f, uint32_t len, uint32_t *hash, int *tcp_flags,
                        uint32_t tuple[3])
{
    uint32_t off = ETH_HLEN_;
    *tcp_flags = -1;
    if (len < ETH_HLEN_ + 20) return 0;
    uint16_t et = axl_load_be16(f + 12);
    if (et == ETHERTYPE_VLAN_) { /* one 802.1Q tag */
        if (len < ETH_HLEN_ + 4 + 20) return 0;
        et = axl_load_be16(f + 16);
        off += 4;
    }
    if (et != ETHERTYPE_IPV4_) return 0;
    const uint8_t *ip = f + off;
    uint32_t ihl = (uint32_t)(ip[0] & 0x0f) * 4;
    if ((ip[0] >> 4) != 4 || ihl < 20 || off + ihl > len) return 0;
    uint32_t saddr = axl_load_be32(ip + 12), daddr = axl_load_be32(ip + 16);
    uint16_t frag = axl_load_be16(ip + 6);
    uint16_t sport = 0, dport = 0;
    /* Ports only for an unfragmented TCP/UDP datagram: every fragment of a
     * datagram must reach the same replica (it reassembles), and only the
     * first carries the ports, so fragments use the address pair, as RSS NICs
     * do (Microsoft RSS: IPv4 2-tuple for fragments). */
    if ((frag & 0x3fff) == 0 && (ip[9] == IPPROTO_TCP_ || ip[9] == IPPROTO_UDP_) &&
        off + ihl + 4 <= len) {
        sport = axl_load_be16(ip + ihl);
        dport = axl_load_be16(ip + ihl + 2);
        /* RFC 9293 §3.1: the flags are byte 13 of the TCP header */
        if (ip[9] == IPPROTO_TCP_ && off + ihl + 14 <= len) {
            *tcp_flags = ip[ihl + 13];
            tuple[0] = saddr;
            tuple[1] = daddr;
            tuple[2] = ((uint32_t)sport << 16) | dport;
        }
    }
    *hash = axl_steer_hash4(saddr, daddr, sport, dport);
    return 1;
}

int axl_steer_frame_hash(const uint8_t *f, uint32_t len, uint32_t *hash)
{
    int fl;
    uint32_t tu[3];
    return axl_steer_frame_tcp(f, len, hash, &fl, tu);
}
