// SPDX-License-Identifier: GPL-2.0
/* ban, unban, allow, unallow, flush: edit the pinned maps. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli/cli.h"
#include "cli/guard.h"
#include "common/config.h"
#include "common/util.h"
#include "daemon/ctlsock.h"
#include "pipeline/enforce.h"

struct ban_cfg {
	struct xb_cli_paths paths;
	uint64_t ttl;           /* seconds */
	bool ttl_given, permanent;
	const char *reason, *file;
	int location;           /* 0: this host's maps; else an enum xb_ar_location */
	const char *agent_id;
};
XB_CLI_CFG(struct ban_cfg);

/* A fleet ban is the manager's decision, sent to its daemon. */
static const struct xb_opt_name locations[] = {
	{ "server", XB_LOC_SERVER }, { "defined-agent", XB_LOC_DEFINED_AGENT },
	{ "all", XB_LOC_ALL }, { NULL, 0 },
};

#define LOCATION_OPTS(T)                                                               \
	{ .name = "location", .short_opt = 'l', XB_ENUM(T, location, locations),        \
	  .metavar = "WHERE", .help = "on the manager: a fleet decision for the manager "  \
	  "(server), the agents of --agent-id (defined-agent) or every host (all), with " \
	  "one wall-clock end for all" },                                               \
	{ .name = "agent-id", .short_opt = 'a', XB_STRING(T, agent_id), .metavar = "ID[,ID]", \
	  .help = "the agents of --location defined-agent" },                           \
	{ .name = "config", .short_opt = 'c', XB_STRING(T, paths.config), .metavar = "FILE", \
	  .help = "the allow list's config, and where --location finds the daemon" },  \
	{ .name = "socket", .short_opt = 'S', XB_STRING(T, paths.socket), .metavar = "PATH", \
	  .help = "the daemon's control socket, for --location (also $" XB_SOCKET_ENV ")" }

_Static_assert(XB_REASON_LEN - 1 == 47, "the --reason help says how much is kept");

static const struct xb_opt ban_opts[] = {
	{ .name = "ttl", .short_opt = 't', XB_DURATION(struct ban_cfg, ttl),
	  XB_GIVEN(struct ban_cfg, ttl_given), .min = 1, .metavar = "DURATION",
	  .help = "lift the ban after 90s, 10m, 2h, 1d, 1w or plain seconds" },
	{ .name = "permanent", .short_opt = 'p', XB_BOOL(struct ban_cfg, permanent),
	  .help = "never expire (the default for manual bans, like a blackhole route: "
	  "lift it with 'xdpban unban')" },
	{ .name = "reason", .short_opt = 'r', XB_STRING(struct ban_cfg, reason),
	  .metavar = "TEXT", .help = "free text shown by 'list' (up to 47 bytes kept)" },
	{ .name = "file", .short_opt = 'f', XB_STRING(struct ban_cfg, file), .metavar = "FILE",
	  .help = "one ADDR[/PREFIX] per line ('-' = stdin), '#' starts a comment; loaded "
	  "with batched map updates. A bad line is reported with its number, the rest "
	  "still loads, and the exit status is then 2." },
	LOCATION_OPTS(struct ban_cfg),
	{}
};

const struct xb_opts_spec xb_ban_opts = {
	.opts = ban_opts,
	.pos = { .metavar = "[ADDR[/PREFIX]...]", .min = 0, .max = XB_POS_ANY },
	.size = sizeof(struct ban_cfg),
	.desc = "Drop every packet from an address or prefix (IPv4 or IPv6; ::ffff:a.b.c.d "
		"is the IPv4 address): the arguments, or the lines of --file FILE|- (not "
		"both). Banning again re-arms the ban and keeps its counters. --ttl and "
		"--permanent exclude each other.\n\n"
		"Loopback and unspecified addresses (127/8, ::1, 0.0.0.0, ::) are refused, "
		"and so are this host's own addresses and the <white_list> of the config "
		"($" XB_CONFIG_ENV " or " XB_CONFIG_DEFAULT "; exit status 4).",
};

/* The request the options make, after the checks that need them all. */
static int ban_request(const struct ban_cfg *c, int argc, struct xb_ban_req *req)
{
	if (c->ttl_given && c->permanent) {
		fprintf(stderr, "xdpban: ban: --ttl and --permanent exclude each other\n");
		return -EINVAL;
	}
	*req = (struct xb_ban_req){ .flags = XB_BAN_F_MANUAL, .reason = c->reason };
	if (c->ttl_given)
		req->expires = xb_now_mono_ns() + c->ttl * NSEC_PER_SEC;
	if (!c->file && !argc) {
		fprintf(stderr, "xdpban: ban: which address?\n");
		xb_opts_usage(stderr, "ban", &xb_ban_opts);
		return -EINVAL;
	}
	if (c->file && argc) {
		fprintf(stderr, "xdpban: ban: give addresses or --file, not both\n");
		return -EINVAL;
	}
	return 0;
}

/*
 * Parse and check every argument before touching the maps: all or nothing.
 * The host's own addresses and the configured allow list are never banned
 * by hand either: -EPERM with one line saying why.
 */
static int check_addrs(const struct xb_cli_ctx *ctx, int argc, char **argv,
		       struct xb_addr *addrs)
{
	struct xb_cli_guard g;
	bool guard = false;
	char why[512];
	int err = 0;

	for (int i = 0; i < argc && !err; i++) {
		err = xb_cli_addr("ban", argv[i], &addrs[i]);
		if (!err && xb_addr_is_loopback(&addrs[i])) {
			fprintf(stderr, "xdpban: ban: refusing to ban loopback or unspecified '%s'\n",
				argv[i]);
			err = -EINVAL;
		}
		if (!err && !guard) {   /* read once, when the first address needs it */
			err = xb_cli_guard_open(&g, ctx->config, why, sizeof(why));
			if (err)
				fprintf(stderr, "xdpban ban: cannot check the allow list: %s\n",
					why);
			guard = !err;
		}
		if (!err && xb_cli_guard_refuses(&g, &addrs[i], why, sizeof(why))) {
			fprintf(stderr, "xdpban ban: refused: %s\n", why);
			err = -EPERM;
		}
	}
	if (guard)
		xb_cli_guard_close(&g);
	return err;
}

/* "fleet ban|unban LOCATION TTL AGENTS ADDR" to the manager's daemon. */
static int fleet_request(const struct xb_cli_ctx *ctx, const char *verb, int loc,
			 const char *agents, uint64_t ttl, int argc, char **argv)
{
	char path[PATH_MAX], req[512];
	const char *sock = xb_cli_socket_path(ctx->config, ctx->socket, path, sizeof(path));
	int err = 0;

	if (agents && (strchr(agents, ' ') || !*agents)) {
		fprintf(stderr, "xdpban %s: --agent-id takes ID[,ID] without spaces\n", verb);
		return -EINVAL;
	}
	if (loc == XB_LOC_DEFINED_AGENT && !agents) {
		fprintf(stderr, "xdpban %s: --location defined-agent needs --agent-id\n", verb);
		return -EINVAL;
	}
	for (int i = 0; i < argc && !err; i++) {
		struct json_object *o, *v;
		struct xb_addr a;
		char *reply = NULL, ab[XB_ADDRSTRLEN];

		if ((err = xb_cli_addr(verb, argv[i], &a)))
			break;
		snprintf(req, sizeof(req), "fleet %s %s %llu %s %s", verb, xb_location_name(loc),
			 (unsigned long long)ttl, agents ? agents : "-", xb_addr_fmt(&a, ab, sizeof(ab)));
		err = xb_ctlsock_request(sock, req, &reply);
		if (err) {
			fprintf(stderr, "xdpban %s: no daemon answers on %s: %s\n", verb, sock,
				strerror(-err));
			return err == -ECONNREFUSED ? -ENOENT : err;
		}
		o = json_tokener_parse(reply);
		if (!o || !json_object_object_get_ex(o, "ok", &v) || !json_object_get_boolean(v)) {
			fprintf(stderr, "xdpban %s: %s: %s\n", verb, ab,
				o && json_object_object_get_ex(o, "error", &v) ?
				json_object_get_string(v) : "refused");
			err = o && json_object_object_get_ex(o, "errno", &v) ?
			      -(int)json_object_get_int(v) : -EINVAL;
		} else {
			printf("%s %s: fleet decision for %s queued\n", verb, ab,
			       xb_location_name(loc));
		}
		json_object_put(o);
		free(reply);
	}
	return err;
}

int do_ban(const void *cfg, const struct xb_cli_ctx *ctx, int argc, char **argv)
{
	const struct ban_cfg *c = cfg;
	struct xb_ban_req req;
	struct xb_addr *addrs;
	struct xb_dp *dp;
	int err;

	if (c->location) {
		if (c->file || c->reason || (c->ttl_given && c->permanent) || !argc) {
			fprintf(stderr, "xdpban ban: --location takes addresses and --ttl or "
				"--permanent only\n");
			return -EINVAL;
		}
		return fleet_request(ctx, "ban", c->location, c->agent_id,
				     c->ttl_given ? c->ttl : 0, argc, argv);
	}
	if (c->agent_id) {
		fprintf(stderr, "xdpban ban: --agent-id goes with --location defined-agent\n");
		return -EINVAL;
	}
	err = ban_request(c, argc, &req);
	if (err)
		return err;
	addrs = calloc(argc ? argc : 1, sizeof(*addrs));
	if (!addrs)
		return -ENOMEM;
	err = check_addrs(ctx, argc, argv, addrs);
	if (!err)
		err = xb_cli_dp_open(ctx, true, 0, &dp);
	if (err)
		goto out;
	if (c->file) {
		err = xb_cli_ban_file(dp, c->file, &req, ctx->config);
	} else {
		for (int i = 0; i < argc && !err; i++) {
			err = xb_dp_ban(dp, &addrs[i], &req);
			if (err)
				xb_cli_ban_report("ban", &addrs[i], err);
		}
	}
	xb_dp_close(dp);
out:
	free(addrs);
	return err;
}

/* unban / allow / unallow share one shape: ADDR... -> one call each. */
static int each_addr(const struct xb_cli_ctx *ctx, int argc, char **argv, bool create,
		     int (*fn)(struct xb_dp *, const struct xb_addr *), const char *enoent)
{
	const char *cmd = ctx->cmd;
	struct xb_addr a;
	struct xb_dp *dp;
	char buf[XB_ADDRSTRLEN];
	int err = 0;

	for (int i = 0; i < argc; i++) {
		err = xb_cli_addr(cmd, argv[i], &a);
		if (err)
			return err;
	}
	err = xb_cli_dp_open(ctx, create, 0, &dp);
	if (err)
		return err;
	for (int i = 0; i < argc && !err; i++) {
		xb_cli_addr(cmd, argv[i], &a);
		err = fn(dp, &a);
		if (err == -ENOENT)
			fprintf(stderr, "xdpban: %s: %s %s\n", cmd,
				xb_addr_fmt(&a, buf, sizeof(buf)), enoent);
		else if (err && err != -ENOSPC)
			fprintf(stderr, "xdpban: %s: %s: %s\n", cmd,
				xb_addr_fmt(&a, buf, sizeof(buf)), strerror(-err));
	}
	xb_dp_close(dp);
	return err;
}

/*
 * With no daemon running, the state database of the config ($XDPBAN_CONFIG or
 * the default) forgets the lifted ban itself, or the next start would restore
 * it. a NULL: every ban (flush). No config or no database: nothing to forget.
 */
static void forget_in_state(const struct xb_addr *a)
{
	struct xb_config *c = NULL;
	char path[PATH_MAX], err[512], buf[XB_ADDRSTRLEN];
	int ret;

	ret = xb_config_load(NULL, &c, err, sizeof(err));
	if (ret) {
		if (ret != -ENOENT || !xb_config_is_default(NULL))
			fprintf(stderr, "xdpban: the daemon's database keeps the ban (a restart "
				"restores it): %s\n", err);
		return;
	}
	ret = xb_enforce_forget_stored(c->state_dir, a, path, sizeof(path));
	if (ret && ret != -ENOENT)
		fprintf(stderr, "xdpban: %s: cannot forget %s: %s (a restart of the daemon "
			"restores it)\n", path, a ? xb_addr_fmt(a, buf, sizeof(buf)) : "the bans",
			strerror(-ret));
	xb_config_free(c);
}

/* A running daemon forgets the ban too, or its restart would bring it back. */
static void notify_unban(const struct xb_addr *a)
{
	char path[PATH_MAX];
	int err;

	err = xb_ctlsock_notify_unban(xb_cli_socket_path(NULL, NULL, path, sizeof(path)), a);
	if (err == -ENOENT || err == -ECONNREFUSED)
		forget_in_state(a);
}

static int unban_notify(struct xb_dp *dp, const struct xb_addr *a)
{
	int err = xb_dp_unban(dp, a);

	if (!err)
		notify_unban(a);
	return err;
}

#define ADDRS_POS { "ADDR[/PREFIX]...", 1, XB_POS_ANY, "which address?" }

struct unban_cfg {
	struct xb_cli_paths paths;
	int location;
	const char *agent_id;
};
XB_CLI_CFG(struct unban_cfg);

static const struct xb_opt unban_opts[] = {
	LOCATION_OPTS(struct unban_cfg),
	{}
};

const struct xb_opts_spec xb_unban_opts = {
	.opts = unban_opts,
	.pos = ADDRS_POS,
	.size = sizeof(struct unban_cfg),
	.desc = "Lift bans at once. A prefix ban is lifted by its exact prefix; an address "
		"inside a banned prefix needs the prefix unbanned (or an allow). With "
		"--location (on the manager), the fleet decision is taken back and every host "
		"it named lifts it.",
};

int do_unban(const void *cfg, const struct xb_cli_ctx *ctx, int argc, char **argv)
{
	const struct unban_cfg *c = cfg;

	if (c->location)
		return fleet_request(ctx, "unban", c->location, c->agent_id, 0, argc, argv);
	return each_addr(ctx, argc, argv, false, unban_notify, "is not banned");
}

const struct xb_opts_spec xb_allow_opts = {
	.pos = ADDRS_POS,
	.size = sizeof(struct xb_cli_paths),
	.desc = "Never drop packets from these addresses: the allow list wins over any ban, "
		"exact or prefix. New bans covered by the list are refused.",
};

int do_allow(const void *cfg, const struct xb_cli_ctx *ctx, int argc, char **argv)
{
	return each_addr(ctx, argc, argv, true, xb_dp_allow, "");
}

const struct xb_opts_spec xb_unallow_opts = {
	.pos = ADDRS_POS,
	.size = sizeof(struct xb_cli_paths),
	.desc = "Remove entries from the allow list (by their exact prefix).",
};

int do_unallow(const void *cfg, const struct xb_cli_ctx *ctx, int argc, char **argv)
{
	return each_addr(ctx, argc, argv, false, xb_dp_unallow, "is not on the allow list");
}

const struct xb_opts_spec xb_flush_opts = {
	.size = sizeof(struct xb_cli_paths),
	.desc = "Remove every ban, exact and prefix. The allow list is kept.",
};

int do_flush(const void *cfg, const struct xb_cli_ctx *ctx, int argc, char **argv)
{
	struct xb_dp *dp;
	int err;

	err = xb_cli_dp_open(ctx, false, 0, &dp);
	if (err)
		return err;
	err = xb_dp_flush(dp);
	if (err)
		fprintf(stderr, "xdpban: flush: %s\n", strerror(-err));
	else
		notify_unban(NULL);
	xb_dp_close(dp);
	return err;
}
