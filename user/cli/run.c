// SPDX-License-Identifier: GPL-2.0
/* `xdpban run` (the daemon) and `xdpban reload`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli/cli.h"
#include "common/config.h"
#include "daemon/ctlsock.h"
#include "daemon/daemon.h"
#include "common/log.h"

struct run_cfg {
	struct xb_cli_paths paths;
	bool dry_run, foreground, check;
};
XB_CLI_CFG(struct run_cfg);

static const struct xb_opt run_opts[] = {
	{ .name = "config", .short_opt = 'c', XB_STRING(struct run_cfg, paths.config),
	  .metavar = "FILE", .help = "default $" XB_CONFIG_ENV " or " XB_CONFIG_DEFAULT },
	{ .name = "check", .short_opt = 't', XB_BOOL(struct run_cfg, check),
	  .help = "validate the config and the rules, run nothing (exit 0, or 2 with "
	  "file:line: reason)" },
	{ .name = "dry-run", .short_opt = 'n', XB_BOOL(struct run_cfg, dry_run),
	  .help = "decide and log, ban nothing (no maps, no state written)" },
	{ .name = "foreground", .short_opt = 'f', XB_BOOL(struct run_cfg, foreground),
	  .help = "stay attached to the terminal (systemd needs no flag: under it the "
	  "daemon never forks)" },
	{ .name = "state-dir", .short_opt = 's', XB_STRING(struct run_cfg, paths.state_dir),
	  .metavar = "DIR", .help = "overrides <state_dir> (offence history, bans)" },
	{ .name = "socket", .short_opt = 'S', XB_STRING(struct run_cfg, paths.socket),
	  .metavar = "PATH", .help = "overrides <control_socket> and $" XB_SOCKET_ENV },
	{}
};

const struct xb_opts_spec xb_run_opts = {
	.opts = run_opts,
	.size = sizeof(struct run_cfg),
	.desc = "Follow sshd's log, apply the rules and the active responses, ban and "
		"expire.\n\n"
		"SIGHUP or `xdpban reload` re-reads config and rules; SIGTERM stops.",
};

int do_run(const void *cfg, const struct xb_cli_ctx *ctx, int argc, char **argv)
{
	const struct run_cfg *c = cfg;
	struct xb_daemon_opts o = { .config = ctx->config, .state_dir = ctx->state_dir,
				    .socket = ctx->socket, .pin_dir = ctx->pin_dir,
				    .dry_run = c->dry_run };
	char msg[1024];
	int err;

	if (c->check) {
		err = xb_daemon_check(ctx->config, msg, sizeof(msg));
		if (err) {
			fprintf(stderr, "%s\n", msg);
			return -EINVAL;         /* exit 2, whatever was wrong */
		}
		printf("%s: config and rules ok\n", xb_config_path(ctx->config));
		return 0;
	}
	if (!o.dry_run && (err = xb_need_root("run")))
		return err;
	/* Pinned maps, state and socket are root's alone. */
	umask(0077);
	/* systemd (Type=notify) wants us in the foreground, and so does a pipe
	 * into stdin; otherwise detach, keeping stderr for the log. */
	if (!c->foreground && !getenv("NOTIFY_SOCKET") && !getenv("INVOCATION_ID") && isatty(STDIN_FILENO)) {
		if (daemon(0, 1)) {
			err = -errno;
			fprintf(stderr, "xdpban run: cannot detach: %s\n", strerror(-err));
			return err;
		}
	}
	xb_log_set_timestamps(getenv("JOURNAL_STREAM") == NULL);
	return xb_daemon_run(&o);
}

static const struct xb_opt reload_opts[] = {
	{ .name = "config", .short_opt = 'c', XB_STRING(struct xb_cli_paths, config),
	  .metavar = "FILE", .help = "where to find the daemon's <control_socket> (default $"
	  XB_CONFIG_ENV " or " XB_CONFIG_DEFAULT ")" },
	{ .name = "socket", .short_opt = 'S', XB_STRING(struct xb_cli_paths, socket),
	  .metavar = "PATH", .help = "the daemon's control socket (also $" XB_SOCKET_ENV ")" },
	{}
};

const struct xb_opts_spec xb_reload_opts = {
	.opts = reload_opts,
	.size = sizeof(struct xb_cli_paths),
	.desc = "Make the running daemon re-read its config and rules. A broken config is "
		"refused and the running one stays in force.",
};

int do_reload(const void *cfg, const struct xb_cli_ctx *ctx, int argc, char **argv)
{
	const char *conf = ctx->config, *sock = ctx->socket, *path;
	struct json_object *o, *ok, *msg;
	char buf[4096], *reply = NULL;
	int err;

	if ((err = xb_need_root("reload")))
		return err;
	path = xb_cli_socket_path(conf, sock, buf, sizeof(buf));
	err = xb_ctlsock_request(path, "reload", &reply);
	if (err) {
		fprintf(stderr, "xdpban reload: no daemon answers on %s: %s\n", path, strerror(-err));
		return err == -ECONNREFUSED ? -ENOENT : err;
	}
	o = json_tokener_parse(reply);
	if (!o || !json_object_object_get_ex(o, "ok", &ok)) {
		fprintf(stderr, "xdpban reload: unexpected reply: %s\n", reply);
		err = -EPROTO;
	} else if (!json_object_get_boolean(ok)) {
		fprintf(stderr, "xdpban reload: refused, the running config stays in force: %s\n",
			json_object_object_get_ex(o, "error", &msg) ? json_object_get_string(msg) : "?");
		err = -EINVAL;
	} else {
		printf("reloaded\n");
	}
	json_object_put(o);
	free(reply);
	return err;
}
