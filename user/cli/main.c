// SPDX-License-Identifier: GPL-2.0
/* xdpban: dispatch to a subcommand; map its negative errno to an exit code. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/log.h"

struct xb_global xb_global;

static const struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} cmds[] = {
	{ "attach",  do_attach,  "attach the XDP filter to an interface" },
	{ "detach",  do_detach,  "detach it from an interface" },
	{ "status",  do_status,  "interfaces, bans, drops and daemon at a glance" },
	{ "ban",     do_ban,     "ban an address or prefix (or a file of them)" },
	{ "unban",   do_unban,   "lift a ban" },
	{ "allow",   do_allow,   "never drop an address or prefix" },
	{ "unallow", do_unallow, "remove an allow-list entry" },
	{ "list",    do_list,    "list bans (and the allow list)" },
	{ "stats",   do_stats,   "global counters of the data plane" },
	{ "flush",   do_flush,   "remove every ban" },
	{ "logtest", do_logtest, "run log lines through the decoder and rules" },
	{ "run",     do_run,     "the daemon: follow sshd's log and ban" },
	{ "reload",  do_reload,  "make the running daemon re-read its config" },
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

static void usage(FILE *f)
{
	fprintf(f, "usage: xdpban [-v|-q] [--pin-dir DIR] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f, "\n'xdpban COMMAND --help' for each command's options.\n"
		"exit codes: 0 ok, 1 error, 2 bad usage or input, 3 not found / nothing attached,\n"
		"            4 not permitted, 5 map full, 6 kernel lacks a feature\n");
}

/* Unambiguous prefixes are accepted ("st" is ambiguous, "stat" is stats). */
static const struct cmd *find_cmd(const char *name)
{
	const struct cmd *hit = NULL;
	size_t n = strlen(name);

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
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

int xb_need_root(const char *what)
{
	if (geteuid() == 0)
		return 0;
	fprintf(stderr, "xdpban: %s needs root (CAP_BPF and CAP_NET_ADMIN)\n", what);
	return -EPERM;
}

bool xb_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return true;
	}
	return false;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	const struct cmd *cmd;
	int c;

	/* '+': stop at the subcommand; its options are its own. */
	while ((c = getopt_long(argc, argv, "+vqp:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'v': xb_global.verbose++; break;
		case 'q': xb_global.verbose = -1; break;
		case 'p': xb_global.pin_dir = optarg; break;
		case 'h': usage(stdout); return EXIT_OK;
		case 'V': printf("xdpban %s\n", XDPBAN_VERSION); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	xb_log_set_level(xb_global.verbose < 0 ? XB_LOG_WARN :
			 xb_global.verbose > 0 ? XB_LOG_DEBUG : XB_LOG_INFO);
	xb_log_libbpf();
	cmd = find_cmd(argv[optind]);
	if (!cmd) {
		fprintf(stderr, "xdpban: unknown or ambiguous command '%s'\n", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	argv += optind;
	argc -= optind;
	optind = 0;     /* reset getopt for the subcommand */
	return exit_code(cmd->fn(argc, argv));
}
