// SPDX-License-Identifier: GPL-2.0
/* The command context, and the helpers the data-plane commands share. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/context.h"
#include "common/config.h"
#include "common/log.h"
#include "common/util.h"
#include "daemon/ctlsock.h"

/* The one rule of run and logtest: --rules, the config's, the default. */
static const char *rules_dir(const char *given, const char *conf, char *buf, size_t len)
{
	struct xb_config *c = NULL;
	char err[512];
	int ret;

	if (given)
		return given;
	ret = xb_config_load(conf, &c, err, sizeof(err));
	if (!ret && c->rules_dir) {
		snprintf(buf, len, "%s", c->rules_dir);
		xb_config_free(c);
		return buf;
	}
	if (ret && ret != -ENOENT)
		pr_debug("config: %s; rules from the default folder\n", err);
	xb_config_free(c);
	return xb_rules_dir_default(buf, len);
}

void xb_cli_ctx_init(struct xb_cli_ctx *ctx, const char *cmd, const char *pin_dir,
		     const struct xb_cli_paths *p, bool rules)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->cmd = cmd;
	ctx->pin_dir = pin_dir;
	ctx->config = p->config;
	ctx->state_dir = p->state_dir;
	ctx->socket = p->socket;
	if (rules)
		ctx->rules_dir = rules_dir(p->rules_dir, p->config, ctx->rules_buf,
					   sizeof(ctx->rules_buf));
}

int xb_need_root(const char *what)
{
	if (geteuid() == 0)
		return 0;
	fprintf(stderr, "xdpban: %s needs root (CAP_BPF and CAP_NET_ADMIN)\n", what);
	return -EPERM;
}

int xb_cli_dp_open(const struct xb_cli_ctx *ctx, bool create, uint32_t max_bans,
		   struct xb_dp **dp)
{
	struct xb_dp_opts o = { .pin_dir = ctx->pin_dir, .max_bans = max_bans,
				.no_create = !create };
	const char *env = getenv("XDPBAN_MAX_BANS");
	int err;

	err = xb_need_root(ctx->cmd);
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

const char *xb_cli_socket_path(const char *config, const char *socket, char *buf, size_t len)
{
	struct xb_config *c = NULL;

	if (xb_config_load(config, &c, NULL, 0))
		c = NULL;
	snprintf(buf, len, "%s", xb_ctlsock_path(socket, c));
	xb_config_free(c);
	return buf;
}
