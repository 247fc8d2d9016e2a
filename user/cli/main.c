// SPDX-License-Identifier: GPL-2.0
/* xdpban: dispatch to a subcommand; map its negative errno to an exit code. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/log.h"
#include "common/util.h"
#include "xdpban.h"

static const struct cmd {
	const char *name;
	xb_cmd_fn *fn;
	const struct xb_opts_spec *opts;        /* its options and positional arguments */
	bool rules;             /* reads rules: the context resolves their folder */
	const char *summary;
} cmds[] = {
	{ "attach", do_attach, &xb_attach_opts, false,
	  "attach the XDP filter to an interface" },
	{ "detach", do_detach, &xb_detach_opts, false,
	  "detach it from an interface" },
	{ "status", do_status, &xb_status_opts, false,
	  "interfaces, bans, drops and daemon at a glance" },
	{ "ban", do_ban, &xb_ban_opts, false,
	  "ban an address or prefix (or a file of them)" },
	{ "unban", do_unban, &xb_unban_opts, false,
	  "lift a ban" },
	{ "allow", do_allow, &xb_allow_opts, false,
	  "never drop an address or prefix" },
	{ "unallow", do_unallow, &xb_unallow_opts, false,
	  "remove an allow-list entry" },
	{ "list", do_list, &xb_list_opts, false,
	  "list bans (and the allow list)" },
	{ "stats", do_stats, &xb_stats_opts, false,
	  "global counters of the data plane" },
	{ "flush", do_flush, &xb_flush_opts, false,
	  "remove every ban" },
	{ "logtest", do_logtest, &xb_logtest_opts, true,
	  "run log lines through the decoder and rules" },
	{ "run", do_run, &xb_run_opts, false,
	  "the daemon: follow sshd's log and ban" },
	{ "reload", do_reload, &xb_reload_opts, false,
	  "make the running daemon re-read its config" },
	{ "ar", do_ar, &xb_ar_opts, false,
	  "a Wazuh agent's firewall-drop: execd's protocol on stdin" },
};

/* xdpban's own options, before the command. */
struct global_cfg {
	int verbose;
	bool quiet, version;
	const char *pin_dir;
};

static const struct xb_opt global_opts[] = {
	{ .name = "verbose", .short_opt = 'v', XB_REPEAT(struct global_cfg, verbose),
	  .help = "more messages, including libbpf's" },
	{ .name = "quiet", .short_opt = 'q', XB_BOOL(struct global_cfg, quiet),
	  .help = "only warnings and errors" },
	{ .name = "pin-dir", .short_opt = 'p', XB_STRING(struct global_cfg, pin_dir),
	  .metavar = "DIR", .help = "where maps and links are pinned (default "
	  XB_PIN_DIR_DEFAULT ", or $XDPBAN_PIN_DIR); a bpffs is mounted there if needed" },
	{ .name = "version", .short_opt = 'V', XB_BOOL(struct global_cfg, version),
	  .help = "print the version" },
	{}
};

static const struct xb_opts_spec global_spec = {
	.opts = global_opts,
	.pos = { .metavar = "COMMAND [ARGS]", .min = 0, .max = XB_POS_ANY },
	.size = sizeof(struct global_cfg),
	.stop_at_pos = true,
};

/* Exit codes (documented in the README and the man page). */
enum {
	EXIT_OK = 0, EXIT_ERR = 1, EXIT_USAGE = 2, EXIT_NOENT = 3,
	EXIT_PERM = 4, EXIT_FULL = 5, EXIT_NOSUPP = 6,
};

static int exit_code(int err)
{
	switch (err) {
	case 0: return EXIT_OK;
	case -EINVAL: return EXIT_USAGE;
	case -ENOENT: case -ENODEV: return EXIT_NOENT;
	case -EPERM: case -EACCES: return EXIT_PERM;
	case -ENOSPC: case -E2BIG: return EXIT_FULL;
	case -EOPNOTSUPP: case -ENOSYS: return EXIT_NOSUPP;
	default: return EXIT_ERR;
	}
}

/* What follows the options in xdpban's --help. */
static void commands_usage(FILE *f)
{
	fprintf(f, "\ncommands (any unambiguous prefix will do):\n");
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\n'xdpban COMMAND --help' for each command's options.\n"
		"exit codes: 0 ok, 1 error, 2 bad usage or input, 3 not found / nothing attached,\n"
		"            4 not permitted, 5 map full, 6 kernel lacks a feature\n");
}

static void usage(FILE *f)
{
	xb_opts_usage(f, NULL, &global_spec);
	commands_usage(f);
}

/* Unambiguous prefixes are accepted ("st" is ambiguous, "stat" is stats). */
static const struct cmd *find_cmd(const char *name)
{
	const struct cmd *hit = NULL;
	size_t n = strlen(name);

	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
		if (!strncmp(cmds[i].name, name, n)) {
			if (hit)
				return NULL;
			hit = &cmds[i];
		}
	}
	return hit;
}

/* Parse the command's options (argv[0] is its name), build its context, run it. */
static int run_cmd(const struct cmd *cmd, const struct global_cfg *g, int argc, char **argv)
{
	struct xb_cli_ctx ctx;
	void *cfg = malloc(cmd->opts->size);
	int first, err;

	if (!cfg)
		return -ENOMEM;
	err = xb_opts_parse(cmd->name, cmd->opts, cfg, argc, argv, &first);
	if (!err) {
		xb_cli_ctx_init(&ctx, cmd->name, g->pin_dir, cfg, cmd->rules);
		err = cmd->fn(cfg, &ctx, argc - first, argv + first);
	}
	free(cfg);
	return err > 0 ? 0 : err;       /* > 0: --help was printed */
}

/* Invoked as firewall-drop (a symlink in Wazuh's active-response/bin):
 * `xdpban ar`, its arguments after. */
static int as_firewall_drop(int argc, char **argv)
{
	struct global_cfg g = { 0 };
	char *av[argc + 1];

	av[0] = "ar";
	for (int i = 1; i <= argc; i++)
		av[i] = argv[i];
	xb_log_set_level(XB_LOG_INFO);
	xb_log_libbpf();
	return exit_code(run_cmd(find_cmd("ar"), &g, argc, av));
}

int main(int argc, char **argv)
{
	struct global_cfg g;
	const struct cmd *cmd;
	const char *base = strrchr(argv[0], '/');
	int first, err;

	if (!strcmp(base ? base + 1 : argv[0], "firewall-drop"))
		return as_firewall_drop(argc, argv);
	err = xb_opts_parse(NULL, &global_spec, &g, argc, argv, &first);
	if (err) {
		if (err > 0)
			commands_usage(stdout);
		return err > 0 ? EXIT_OK : EXIT_USAGE;
	}
	if (g.version) {
		printf("xdpban %s\n", XDPBAN_VERSION);
		return EXIT_OK;
	}
	if (first >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	xb_log_set_level(g.quiet ? XB_LOG_WARN : g.verbose > 0 ? XB_LOG_DEBUG : XB_LOG_INFO);
	xb_log_libbpf();
	cmd = find_cmd(argv[first]);
	if (!cmd) {
		fprintf(stderr, "xdpban: unknown or ambiguous command '%s'\n", argv[first]);
		usage(stderr);
		return EXIT_USAGE;
	}
	return exit_code(run_cmd(cmd, &g, argc - first, argv + first));
}
