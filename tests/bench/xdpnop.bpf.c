// SPDX-License-Identifier: GPL-2.0
/*
 * xdpnop: xdp_nop passes every frame without touching it. Two uses in
 * the benchmarks: the floor of the per-packet benchmark (the cost of running any
 * XDP program at all) and the pass-only program on the edge veth when
 * nftables or iptables filter, because a veth receives redirected XDP frames
 * natively only while an XDP program is attached to it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_nop(struct xdp_md *ctx)
{
	return XDP_PASS;
}

/* The floor of the traffic benchmark: drop every frame, look at nothing. */
SEC("xdp")
int xdp_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
