// SPDX-License-Identifier: GPL-2.0
/*
 * bench_attach: put one of the benchmark's trivial XDP programs on an
 * interface in native (driver) mode, or take it off.
 *
 *   bench_attach IFNAME pass     xdp_nop: pass everything. veth receives
 *                                redirected XDP frames natively only while
 *                                some XDP program is attached, so nftables and
 *                                iptables run behind this one.
 *   bench_attach IFNAME drop     xdp_drop: the floor of the traffic benchmark
 *   bench_attach IFNAME detach
 *
 * The attachment is made over netlink without a link object, so it stays
 * after this process exits and goes away with the interface (or detach).
 * Run inside the interface's network namespace.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xdpnop.skel.h"

int main(int argc, char **argv)
{
	struct xdpnop *skel;
	int ifindex, err, fd;

	if (argc != 3 || (strcmp(argv[2], "pass") && strcmp(argv[2], "drop") &&
			  strcmp(argv[2], "detach"))) {
		fprintf(stderr, "usage: bench_attach IFNAME pass|drop|detach\n");
		return 2;
	}
	ifindex = if_nametoindex(argv[1]);
	if (!ifindex) {
		fprintf(stderr, "bench_attach: %s: %s\n", argv[1], strerror(errno));
		return 3;
	}
	if (!strcmp(argv[2], "detach")) {
		err = bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
		if (err)
			fprintf(stderr, "bench_attach: detach %s: %s\n", argv[1], strerror(-err));
		return err ? 1 : 0;
	}
	skel = xdpnop__open_and_load();
	if (!skel) {
		fprintf(stderr, "bench_attach: load: %s\n", strerror(errno));
		return 1;
	}
	fd = bpf_program__fd(strcmp(argv[2], "pass") ? skel->progs.xdp_drop : skel->progs.xdp_nop);
	/* No XDP_FLAGS_UPDATE_IF_NOEXIST: replace whatever the last case left. */
	err = bpf_xdp_attach(ifindex, fd, XDP_FLAGS_DRV_MODE, NULL);
	if (err)
		fprintf(stderr, "bench_attach: attach to %s: %s\n", argv[1], strerror(-err));
	xdpnop__destroy(skel);  /* the interface keeps its own reference */
	return err ? 1 : 0;
}
