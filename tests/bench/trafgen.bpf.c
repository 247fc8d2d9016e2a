// SPDX-License-Identifier: GPL-2.0
/*
 * trafgen: the flood generator of `make bench-traffic`. Run by
 * BPF_PROG_TEST_RUN in live-frames mode (BPF_F_TEST_XDP_LIVE_FRAMES) on a
 * template frame, it gives every frame the next source address of the
 * banned set and redirects it into the sender's veth. The frames reach the
 * edge as xdp_frames, the way a NIC's do, before any skb exists.
 *
 * Only the source address changes. IPv4 frames get their header checksum
 * recomputed, because the IPv4 stack drops bad headers before iptables'
 * PREROUTING would see them. L4 checksums are left alone: every frame is
 * meant to be dropped (or, unfiltered, ignored by a closed port).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_P_IP   0x0800
#define ETH_P_IPV6 0x86DD

/* Set by the generator between open and load. */
const volatile __u32 tx_ifindex;        /* sender's veth, in the generator's netns */
const volatile __u32 n_src = 1;         /* sources to rotate over, >= 1 */
const volatile __u32 src4_base;         /* host order */
const volatile __u32 src6_base_low;     /* host order; last 32 bits of the IPv6 source */

/* Per-CPU frame counter: no atomics on the generator's hot path. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} seq SEC(".maps");

static __always_inline __u16 ip4_csum(struct iphdr *ip)
{
	__u16 *w = (__u16 *)ip;
	__u32 sum = 0;

	ip->check = 0;
#pragma unroll
	for (int i = 0; i < (int)(sizeof(*ip) / 2); i++)
		sum += w[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

SEC("xdp")
int trafgen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 key = 0, idx;
	__u64 *n;

	n = bpf_map_lookup_elem(&seq, &key);
	if (!n)
		return XDP_ABORTED;
	idx = (__u32)(*n % n_src);
	(*n)++;

	if ((void *)(eth + 1) > end)
		return XDP_ABORTED;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end)
			return XDP_ABORTED;
		ip->saddr = bpf_htonl(src4_base + idx);
		ip->check = ip4_csum(ip);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end)
			return XDP_ABORTED;
		ip6->saddr.in6_u.u6_addr32[3] = bpf_htonl(src6_base_low + idx);
	} else {
		return XDP_ABORTED;
	}
	return bpf_redirect(tx_ifindex, 0);
}

char LICENSE[] SEC("license") = "GPL";
