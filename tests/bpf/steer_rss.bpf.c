/* SPDX-License-Identifier: MIT */
/*
 * steer_rss.bpf.c - RSS emulation for tests over veth: a tc (clsact) egress
 * program for the KERNEL peer's end of a veth pair. veth delivers a frame on
 * the receive queue of the other end equal to the frame's transmit queue
 * (skb->queue_mapping), so choosing the transmit queue by the symmetric
 * Toeplitz hash makes our end's queues behave like an RSS NIC's.
 *
 * How the queue is chosen: the program computes the hash exactly as
 * src/steer/steer.c does (key 0x6d5a repeated, 4-tuple for unfragmented
 * TCP/UDP, address pair otherwise; ARP to every queue, below; other
 * non-IPv4 frames untouched) and stores the
 * 7-bit redirection-table index in the top bits of skb->hash (bpf_set_hash).
 * The kernel's transmit-queue pick, which runs after the clsact egress hook
 * (netdev_core_pick_tx -> skb_tx_hash -> reciprocal_scale(hash, n)), then
 * sets queue_mapping = index * n / 128 = axl_steer_queue(hash, n). Writing
 * skb->queue_mapping directly would be overwritten by that pick (only
 * act_skbedit may skip it), and this way the program needs no queue count.
 * Requires XPS off on the device (XPS wins over the hash) -- the default.
 * A TCP socket caches its queue but re-picks on every ooo_okay packet; the
 * flow hash is the same each time, so the flow never moves.
 *
 * Load: tc qdisc add dev IF clsact; tc filter add dev IF egress bpf da obj
 * steer_rss.o sec tc   (tests/integration/steer_rss.sh)
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

/* Toeplitz over 16 input bits under the key 0x6d5a6d5a...: the window for
 * input bit i (MSB first) is key bits [i, i+32). */
static __always_inline __u32 sym_toeplitz16(__u16 fold)
{
    const __u64 key = 0x6d5a6d5a6d5a6d5aull; /* 64 key bits, enough for 16 + 32 */
    __u32 hash = 0;
#pragma unroll
    for (int i = 0; i < 16; i++) {
        if (fold & (0x8000u >> i)) hash ^= (__u32)(key >> (32 - i));
    }
    return hash;
}

/* ARP carries no flow: an RSS NIC would put it on queue 0, where only one
 * replica sees it, and a replica that asked would never hear the answer. So
 * the emulation delivers ARP to every queue (as the director broadcasts it,
 * src/stackd/director.c): 8 copies with table indices 0, 16, ..., 112, which
 * land on every queue of a device with up to 8 (index k*16 -> queue k*n/8).
 * Copies are sent with bpf_clone_redirect to this same device's egress and
 * carry a mark, so the program passes them on instead of copying again. */
#define ARP_COPY_MARK 0xa71c0000u
static __always_inline int arp_to_every_queue(struct __sk_buff *skb)
{
    if ((skb->mark & 0xffff0000u) == ARP_COPY_MARK) {
        __u32 k = skb->mark & 7;
        skb->mark = 0;
        bpf_set_hash(skb, ((k * 16) << 25) | 1);
        return TC_ACT_OK;
    }
#pragma unroll
    for (__u32 k = 1; k < 8; k++) {
        skb->mark = ARP_COPY_MARK | k;
        bpf_clone_redirect(skb, skb->ifindex, 0); /* egress of this device */
    }
    skb->mark = 0;
    bpf_set_hash(skb, 1); /* index 0 */
    return TC_ACT_OK;
}

SEC("tc")
int steer_rss(struct __sk_buff *skb)
{
    __u8 ip[24];
    __u16 proto;
    if (bpf_skb_load_bytes(skb, 12, &proto, 2) < 0) return TC_ACT_OK;
    if (proto == bpf_htons(ETH_P_ARP)) return arp_to_every_queue(skb);
    if (proto != bpf_htons(ETH_P_IP)) return TC_ACT_OK; /* IPv6 etc.: kernel's pick */
    if (bpf_skb_load_bytes(skb, ETH_HLEN, ip, 20) < 0) return TC_ACT_OK;
    __u32 ihl = (ip[0] & 0x0f) * 4;
    if ((ip[0] >> 4) != 4 || ihl < 20) return TC_ACT_OK;
    __u16 fold = (__u16)((ip[12] << 8 | ip[13]) ^ (ip[14] << 8 | ip[15]) ^ (ip[16] << 8 | ip[17]) ^
                         (ip[18] << 8 | ip[19]));
    __u16 frag = (__u16)(ip[6] << 8 | ip[7]);
    if ((frag & 0x3fff) == 0 && (ip[9] == IPPROTO_TCP || ip[9] == IPPROTO_UDP) && ihl <= 60) {
        __u8 ports[4];
        if (bpf_skb_load_bytes(skb, ETH_HLEN + ihl, ports, 4) == 0)
            fold ^= (__u16)((ports[0] << 8 | ports[1]) ^ (ports[2] << 8 | ports[3]));
    }
    __u32 idx = sym_toeplitz16(fold) & 127;
    bpf_set_hash(skb, (idx << 25) | 1);
    return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
