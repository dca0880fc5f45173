/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * axl_xdp.bpf.c - the XDP program the afxdp port attaches to its interface.
 *
 * Every frame received on queue q is redirected to the AF_XDP socket that
 * the replica owning queue q registered in `axl_xsks`; when no socket is
 * registered for q the frame goes to the kernel stack (XDP_PASS), so the
 * interface keeps working before the stack starts and after it stops.
 * The stack owns the interface: ARP and everything else go to it as well.
 *
 * Per-queue counters in `axl_xdp_stats` (redirected, passed) let tests and
 * axlctl see what the program did.
 *
 * `axl_xdp_info` (one entry) is written by user space only: the process that
 * attached the program records its pid and start time there, so another
 * process can tell a live owner from one that crashed (src/port/afxdp.c).
 * The program itself only counts frames from queues beyond the XSKMAP in it,
 * which also keeps the map among the program's maps, where afxdp.c finds it.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define AXL_XDP_MAX_QUEUES 64

struct {
    __uint(type, BPF_MAP_TYPE_XSKMAP);
    __uint(max_entries, AXL_XDP_MAX_QUEUES);
    __type(key, __u32);
    __type(value, __u32);
} axl_xsks SEC(".maps");

struct axl_xdp_counters {
    __u64 redirected;
    __u64 passed;
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, AXL_XDP_MAX_QUEUES);
    __type(key, __u32);
    __type(value, struct axl_xdp_counters);
} axl_xdp_stats SEC(".maps");

/* Layout shared with struct axl_xdp_info in src/port/afxdp.c. */
struct axl_xdp_info {
    __u32 owner_pid; /* process that attached the program */
    __u32 pad;
    __u64 owner_start;  /* its start time (/proc/PID/stat field 22) */
    __u64 out_of_range; /* frames from rx queues >= AXL_XDP_MAX_QUEUES (passed) */
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct axl_xdp_info);
} axl_xdp_info SEC(".maps");

SEC("xdp")
int axl_xdp_redirect(struct xdp_md *ctx)
{
    __u32 q = ctx->rx_queue_index;
    struct axl_xdp_counters *c;
    long act;

    if (q >= AXL_XDP_MAX_QUEUES) {
        __u32 zero = 0;
        struct axl_xdp_info *info = bpf_map_lookup_elem(&axl_xdp_info, &zero);

        if (info)
            __sync_fetch_and_add(&info->out_of_range, 1);
        return XDP_PASS;
    }
    c = bpf_map_lookup_elem(&axl_xdp_stats, &q);
    act = bpf_redirect_map(&axl_xsks, q, XDP_PASS);

    if (c) {
        if (act == XDP_REDIRECT)
            c->redirected++;
        else
            c->passed++;
    }
    return (int)act;
}

char _license[] SEC("license") = "Dual BSD/GPL";
