// SPDX-License-Identifier: GPL-2.0
/* guard: the protection rules for manual bans, read once per command. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/guard.h"
#include "policy/policy.h"

int xb_cli_guard_open(struct xb_cli_guard *g, const char *conf_path, char *why, size_t len)
{
	int ret;

	memset(g, 0, sizeof(*g));
	ret = xb_config_load(conf_path, &g->conf, why, len);
	if (ret == -ENOENT && xb_config_is_default(conf_path))
		g->conf = NULL;         /* no config installed */
	else if (ret)
		return ret;
	ret = xb_hostaddr_open(false, &g->host);
	if (ret) {
		snprintf(why, len, "cannot read this host's addresses: %s", strerror(-ret));
		xb_config_free(g->conf);
		g->conf = NULL;
	}
	return ret;
}

bool xb_cli_guard_refuses(const struct xb_cli_guard *g, const struct xb_addr *a,
			  char *why, size_t len)
{
	return xb_policy_is_protected(g->conf, g->host, a, why, len);
}

void xb_cli_guard_close(struct xb_cli_guard *g)
{
	xb_hostaddr_close(g->host);
	xb_config_free(g->conf);
	memset(g, 0, sizeof(*g));
}
