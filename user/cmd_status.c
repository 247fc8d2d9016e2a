// SPDX-License-Identifier: GPL-2.0
/* status: interfaces, bans and drops at a glance (daemon state comes later). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "actions_cli.h"
#include "cmd.h"
#include "util.h"

struct counts {
	size_t exact4, exact6, pfx4, pfx6, allow, links;
};

static int count_ban(const struct xb_addr *a, const struct xb_ban *b, const struct xb_meta *m, void *ctx)
{
	struct counts *c = ctx;
	bool single = xb_addr_is_single(a);

	if (a->family == 4)
		single ? c->exact4++ : c->pfx4++;
	else
		single ? c->exact6++ : c->pfx6++;
	return 0;
}

static int count_allow(const struct xb_addr *a, const struct xb_allow *v, void *ctx)
{
	((struct counts *)ctx)->allow++;
	return 0;
}

static int print_link(const char *ifname, int ifindex, enum xb_mode mode, void *ctx)
{
	struct counts *c = ctx;

	c->links++;
	if (ifindex)
		printf("  %-16s ifindex %-5d %s mode\n", ifname, ifindex, xb_mode_str(mode));
	else
		printf("  %-16s (interface gone; 'xdpban detach %s' removes the pin)\n", ifname, ifname);
	return 0;
}

int do_status(int argc, char **argv)
{
	struct counts c = {};
	uint64_t v[XB_STAT_MAX];
	struct xb_dp *dp;
	int err;

	if (xb_wants_help(argc, argv)) {
		printf("usage: xdpban status\n\n"
		       "Attached interfaces and their XDP mode, ban and allow-list sizes, drops.\n"
		       "Exit status 3 when no interface is attached.\n");
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "xdpban: status: unexpected argument '%s'\n", argv[1]);
		return -EINVAL;
	}
	err = xb_cli_dp_open("status", false, 0, &dp);
	if (err)
		return err;
	printf("pin directory: %s\ninterfaces:\n", xb_dp_pin_dir(dp));
	err = xb_dp_foreach_link(dp, print_link, &c);
	if (!c.links)
		printf("  none attached\n");
	if (!err)
		err = xb_dp_foreach_ban(dp, count_ban, &c);
	if (!err)
		err = xb_dp_foreach_allow(dp, count_allow, &c);
	if (!err)
		err = xb_dp_stats(dp, v);
	xb_dp_close(dp);
	if (err) {
		fprintf(stderr, "xdpban: status: %s\n", strerror(-err));
		return err;
	}
	printf("bans: %zu IPv4, %zu IPv6, %zu IPv4 prefixes, %zu IPv6 prefixes; %zu allowed\n",
	       c.exact4, c.exact6, c.pfx4, c.pfx6, c.allow);
	printf("packets: %llu seen, %llu dropped (%llu by prefix), %llu passed\n",
	       (unsigned long long)v[XB_STAT_SEEN], (unsigned long long)v[XB_STAT_DROPPED],
	       (unsigned long long)v[XB_STAT_DROPPED_PREFIX], (unsigned long long)v[XB_STAT_PASSED]);
	return c.links ? 0 : -ENOENT;
}
