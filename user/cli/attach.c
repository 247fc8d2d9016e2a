// SPDX-License-Identifier: GPL-2.0
/* attach / detach: pinned XDP links, one per interface, sharing the maps. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/log.h"
#include "common/util.h"

#define XB_STR_(x) #x
#define XB_STR(x) XB_STR_(x)

struct attach_cfg {
	struct xb_cli_paths paths;
	int mode;               /* enum xb_mode */
	uint64_t max_bans;      /* 0: $XDPBAN_MAX_BANS or the default */
};
XB_CLI_CFG(struct attach_cfg);

static const struct xb_opt_name modes[] = {
	{ "native", XB_MODE_NATIVE }, { "generic", XB_MODE_GENERIC }, { "auto", XB_MODE_AUTO }, {}
};

static const struct xb_opt attach_opts[] = {
	{ .name = "mode", .short_opt = 'm', XB_ENUM(struct attach_cfg, mode, modes),
	  .metavar = "MODE", .help = "native (driver), generic (skb) or auto (default: native, "
	  "falling back to generic with a message)" },
	{ .name = "max-bans", .short_opt = 'n', XB_COUNT(struct attach_cfg, max_bans),
	  .min = 1, .max = XB_MAX_MAX_BANS, .metavar = "N",
	  .help = "exact bans per family when the maps are first created (default "
	  XB_STR(XB_DEF_MAX_BANS) "; also $XDPBAN_MAX_BANS); ignored afterwards" },
	{}
};

const struct xb_opts_spec xb_attach_opts = {
	.opts = attach_opts,
	.pos = { .metavar = "IFACE...", .min = 1, .max = XB_POS_ANY, .missing = "which interface?" },
	.size = sizeof(struct attach_cfg),
	.defaults = &(const struct attach_cfg){ .mode = XB_MODE_AUTO },
	.desc = "Attach the XDP filter to each interface. The link is pinned in the pin "
		"directory (link_IFACE), so it stays after xdpban exits; every interface "
		"shares the same ban maps.\n\n"
		"Attaching an interface that is already attached replaces the program in "
		"place; changing its mode needs a detach first. Every other interface "
		"whose pinned link runs the program of another xdpban build is upgraded "
		"to this one in place, on the same maps.",
};

int do_attach(const void *cfg, const struct xb_cli_ctx *ctx, int argc, char **argv)
{
	const struct attach_cfg *c = cfg;
	enum xb_mode used;
	struct xb_dp *dp;
	int err;

	err = xb_cli_dp_open(ctx, true, (uint32_t)c->max_bans, &dp);
	if (err)
		return err;
	for (int i = 0; i < argc && !err; i++) {
		err = xb_dp_attach(dp, argv[i], (enum xb_mode)c->mode, &used);
		if (!err)
			pr_info("%s: attached (%s mode), pins in %s\n", argv[i], xb_mode_str(used),
				xb_dp_pin_dir(dp));
	}
	/* The other interfaces: a program left by another xdpban build goes. */
	if (!err) {
		int n = xb_dp_upgrade_links(dp);

		if (n < 0)
			pr_warn("xdpban: cannot upgrade the pinned links: %s\n", strerror(-n));
	}
	xb_dp_close(dp);
	return err;
}

const struct xb_opts_spec xb_detach_opts = {
	.pos = { .metavar = "IFACE...", .min = 1, .max = XB_POS_ANY, .missing = "which interface?" },
	.size = sizeof(struct xb_cli_paths),
	.desc = "Detach the XDP filter from each interface (removes its pinned link). "
		"Bans stay in the pinned maps for the next attach.",
};

int do_detach(const void *cfg, const struct xb_cli_ctx *ctx, int argc, char **argv)
{
	struct xb_dp *dp;
	int err;

	err = xb_cli_dp_open(ctx, false, 0, &dp);
	if (err)
		return err;
	for (int i = 0; i < argc && !err; i++) {
		err = xb_dp_detach(dp, argv[i]);
		if (!err)
			pr_info("%s: detached\n", argv[i]);
	}
	xb_dp_close(dp);
	return err;
}
