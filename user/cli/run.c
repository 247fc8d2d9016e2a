// SPDX-License-Identifier: GPL-2.0
/* `xdpban run` (the daemon) and `xdpban reload`. */
#include <errno.h>
#include <getopt.h>
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

static void run_usage(FILE *f)
{
	fprintf(f,
		"usage: xdpban run [--config FILE] [--dry-run] [--foreground] [--state-dir DIR] [--socket PATH]\n"
		"  Follow sshd's log, apply the rules and the active responses, ban and expire.\n"
		"  --config FILE    default $" XB_CONFIG_ENV " or " XB_CONFIG_DEFAULT "\n"
		"  --dry-run        decide and log, ban nothing (no maps, no state written)\n"
		"  --foreground     stay attached to the terminal (systemd needs no flag:\n"
		"                   under it the daemon never forks)\n"
		"  --state-dir DIR  overrides <state_dir> (offence history, bans)\n"
		"  --socket PATH    overrides <control_socket> and $" XB_SOCKET_ENV "\n"
		"  SIGHUP or `xdpban reload` re-reads config and rules; SIGTERM stops.\n");
}

int do_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "socket", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct xb_daemon_opts o = { .pin_dir = xb_global.pin_dir };
	bool foreground = false;
	int c, err;

	while ((c = getopt_long(argc, argv, "c:nfs:S:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': o.config = optarg; break;
		case 'n': o.dry_run = true; break;
		case 'f': foreground = true; break;
		case 's': o.state_dir = optarg; break;
		case 'S': o.socket = optarg; break;
		case 'h': run_usage(stdout); return 0;
		default: run_usage(stderr); return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "xdpban run: unexpected argument '%s'\n", argv[optind]);
		run_usage(stderr);
		return -EINVAL;
	}
	if (!o.dry_run && (err = xb_need_root("run")))
		return err;
	/* Pinned maps, state and socket are root's alone. */
	umask(0077);
	/* systemd (Type=notify) wants us in the foreground, and so does a pipe
	 * into stdin; otherwise detach, keeping stderr for the log. */
	if (!foreground && !getenv("NOTIFY_SOCKET") && !getenv("INVOCATION_ID") && isatty(STDIN_FILENO)) {
		if (daemon(0, 1)) {
			err = -errno;
			fprintf(stderr, "xdpban run: cannot detach: %s\n", strerror(-err));
			return err;
		}
	}
	xb_log_set_timestamps(getenv("JOURNAL_STREAM") == NULL);
	return xb_daemon_run(&o);
}

int do_reload(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *conf = NULL, *sock = NULL, *path;
	struct xb_config *cf = NULL;
	struct json_object *o, *ok, *msg;
	char buf[4096], *reply = NULL;
	int c, err;

	while ((c = getopt_long(argc, argv, "c:S:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 'S': sock = optarg; break;
		case 'h':
			printf("usage: xdpban reload [--config FILE] [--socket PATH]\n"
			       "  Make the running daemon re-read its config and rules. A broken\n"
			       "  config is refused and the running one stays in force.\n");
			return 0;
		default:
			return -EINVAL;
		}
	}
	if ((err = xb_need_root("reload")))
		return err;
	/* A broken config must not hide the running daemon: the default then. */
	if (xb_config_load(conf, &cf, NULL, 0))
		cf = NULL;
	snprintf(buf, sizeof(buf), "%s", xb_ctlsock_path(sock, cf));
	xb_config_free(cf);
	path = buf;
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
