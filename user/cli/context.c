// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/context.h"
#include "cli/cli.h"
#include "common/util.h"

int xb_cli_dp_open(const char *what, bool create, uint32_t max_bans, struct xb_dp **dp)
{
	struct xb_dp_opts o = { .pin_dir = xb_global.pin_dir, .max_bans = max_bans,
				.no_create = !create };
	const char *env = getenv("XDPBAN_MAX_BANS");
	int err;

	err = xb_need_root(what);
	if (err)
		return err;
	if (!o.max_bans && env && *env) {
		uint64_t v;

		if (xb_parse_u64(env, XB_MAX_MAX_BANS, &v) || !v) {
			fprintf(stderr, "xdpban: XDPBAN_MAX_BANS: not a number from 1 to %u: '%s'\n",
				XB_MAX_MAX_BANS, env);
			return -EINVAL;
		}
		o.max_bans = (uint32_t)v;
	}
	return xb_dp_open(&o, dp);
}

int xb_cli_addr(const char *cmd, const char *s, struct xb_addr *a)
{
	char buf[XB_ADDRSTRLEN];

	if (!xb_addr_parse(s, a, false))
		return 0;
	if (!xb_addr_parse(s, a, true))
		fprintf(stderr, "xdpban: %s: '%s' has host bits set below the prefix (did you mean %s?)\n",
			cmd, s, xb_addr_fmt(a, buf, sizeof(buf)));
	else
		fprintf(stderr, "xdpban: %s: bad address or prefix '%s'\n", cmd, s);
	return -EINVAL;
}
