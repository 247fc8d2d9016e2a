// SPDX-License-Identifier: GPL-2.0
/* attach / detach: pinned XDP links, one per interface, sharing the maps. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/context.h"
#include "cli/cli.h"
#include "common/log.h"
#include "common/util.h"

static void attach_usage(FILE *f)
{
	fprintf(f,
		"usage: xdpban attach IFACE... [--mode native|generic|auto] [--max-bans N]\n"
		"\n"
		"Attach the XDP filter to each interface. The link is pinned in the pin\n"
		"directory (link_IFACE), so it stays after xdpban exits; every interface\n"
		"shares the same ban maps.\n"
		"  -m, --mode MODE   native (driver), generic (skb) or auto (default: native,\n"
		"                    falling back to generic with a message)\n"
		"  -n, --max-bans N  exact bans per family when the maps are first created\n"
		"                    (default %u; also $XDPBAN_MAX_BANS); ignored afterwards\n"
		"Attaching an interface that is already attached replaces the program in\n"
		"place; changing its mode needs a detach first.\n",
		XB_DEF_MAX_BANS);
}

int do_attach(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "max-bans", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	enum xb_mode mode = XB_MODE_AUTO, used;
	uint32_t max_bans = 0;
	struct xb_dp *dp;
	uint64_t v;
	int c, err = 0;

	while ((c = getopt_long(argc, argv, "m:n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (xb_mode_parse(optarg, &mode)) {
				fprintf(stderr, "xdpban: attach: bad mode '%s' (native, generic or auto)\n", optarg);
				return -EINVAL;
			}
			break;
		case 'n':
			if (xb_parse_u64(optarg, XB_MAX_MAX_BANS, &v) || !v) {
				fprintf(stderr, "xdpban: attach: --max-bans: not a number from 1 to %u: '%s'\n",
					XB_MAX_MAX_BANS, optarg);
				return -EINVAL;
			}
			max_bans = (uint32_t)v;
			break;
		case 'h':
			attach_usage(stdout);
			return 0;
		default:
			attach_usage(stderr);
			return -EINVAL;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "xdpban: attach: which interface?\n");
		attach_usage(stderr);
		return -EINVAL;
	}
	err = xb_cli_dp_open("attach", true, max_bans, &dp);
	if (err)
		return err;
	for (int i = optind; i < argc && !err; i++) {
		err = xb_dp_attach(dp, argv[i], mode, &used);
		if (!err)
			pr_info("%s: attached (%s mode), pins in %s\n", argv[i], xb_mode_str(used),
				xb_dp_pin_dir(dp));
	}
	xb_dp_close(dp);
	return err;
}

static void detach_usage(FILE *f)
{
	fprintf(f,
		"usage: xdpban detach IFACE...\n"
		"\n"
		"Detach the XDP filter from each interface (removes its pinned link).\n"
		"Bans stay in the pinned maps for the next attach.\n");
}

int do_detach(int argc, char **argv)
{
	struct xb_dp *dp;
	int err;

	if (xb_wants_help(argc, argv)) {
		detach_usage(stdout);
		return 0;
	}
	if (argc < 2 || argv[1][0] == '-') {
		if (argc >= 2)
			fprintf(stderr, "xdpban: detach: unknown option '%s'\n", argv[1]);
		else
			fprintf(stderr, "xdpban: detach: which interface?\n");
		detach_usage(stderr);
		return -EINVAL;
	}
	err = xb_cli_dp_open("detach", false, 0, &dp);
	if (err)
		return err;
	for (int i = 1; i < argc && !err; i++) {
		err = xb_dp_detach(dp, argv[i]);
		if (!err)
			pr_info("%s: detached\n", argv[i]);
	}
	xb_dp_close(dp);
	return err;
}
