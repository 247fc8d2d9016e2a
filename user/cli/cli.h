/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Subcommands. Each do_<cmd>() parses its own options (argv[0] is the
 * subcommand name), prints one clear line on error, and returns 0 or a
 * negative errno; only main() turns that into an exit code.
 */
#ifndef XB_CMD_H
#define XB_CMD_H

#include <stdbool.h>

struct xb_global {
	const char *pin_dir;    /* --pin-dir, NULL for the default */
	int verbose;
};
extern struct xb_global xb_global;

int do_attach(int argc, char **argv);   /* cmd_attach.c */
int do_detach(int argc, char **argv);
int do_status(int argc, char **argv);   /* cmd_status.c */
int do_ban(int argc, char **argv);      /* cmd_ban.c */
int do_unban(int argc, char **argv);
int do_allow(int argc, char **argv);
int do_unallow(int argc, char **argv);
int do_flush(int argc, char **argv);
int do_list(int argc, char **argv);     /* cmd_list.c */
int do_stats(int argc, char **argv);
int do_logtest(int argc, char **argv);  /* cmd_logtest.c */
int do_run(int argc, char **argv);      /* cmd_run.c */
int do_reload(int argc, char **argv);

/* Shared by the subcommands: root check with a clear message (-EPERM). */
int xb_need_root(const char *what);
/* True when argv holds -h or --help (printing is the caller's). */
bool xb_wants_help(int argc, char **argv);

#endif
