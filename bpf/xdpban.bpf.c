// SPDX-License-Identifier: GPL-2.0
/* Placeholder: passes everything until the filter lands. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "xdpban.h"

SEC("xdp")
int xdpban(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
