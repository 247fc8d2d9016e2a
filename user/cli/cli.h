/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Subcommands. Each file declares a command's options once (an xb_opts_spec,
 * see opts.h) and its do_<cmd>(), which main calls with the options parsed
 * into cfg, the context and the positional arguments only. It prints one
 * clear line on error and returns 0 or a negative errno; only main() turns
 * that into an exit code.
 */
#ifndef XB_CLI_H
#define XB_CLI_H

#include <stddef.h>

#include "cli/context.h"
#include "cli/opts.h"

typedef int xb_cmd_fn(const void *cfg, const struct xb_cli_ctx *ctx, int argc, char **argv);

/* A command's option struct starts with its struct xb_cli_paths. */
#define XB_CLI_CFG(T) _Static_assert(offsetof(T, paths) == 0, #T " starts with its paths")

extern const struct xb_opts_spec xb_attach_opts, xb_detach_opts;        /* attach.c */
xb_cmd_fn do_attach, do_detach;
extern const struct xb_opts_spec xb_status_opts;                        /* status.c */
xb_cmd_fn do_status;
extern const struct xb_opts_spec xb_ban_opts, xb_unban_opts, xb_allow_opts,
	xb_unallow_opts, xb_flush_opts;                                 /* ban.c */
xb_cmd_fn do_ban, do_unban, do_allow, do_unallow, do_flush;
extern const struct xb_opts_spec xb_list_opts, xb_stats_opts;           /* list.c */
xb_cmd_fn do_list, do_stats;
extern const struct xb_opts_spec xb_logtest_opts;                       /* logtest.c */
xb_cmd_fn do_logtest;
extern const struct xb_opts_spec xb_run_opts, xb_reload_opts;           /* run.c */
xb_cmd_fn do_run, do_reload;
extern const struct xb_opts_spec xb_ar_opts;                            /* ar.c */
xb_cmd_fn do_ar;

/* ban --file (banfile.c): load FILE ('-': stdin) into the maps with req,
 * after the protection rules of the config at conf (NULL: the default). */
int xb_cli_ban_file(struct xb_dp *dp, const char *file, const struct xb_ban_req *req,
		    const char *conf);
/* One line for a ban the maps refused (none for a full map: it said so). */
int xb_cli_ban_report(const char *where, const struct xb_addr *a, int err);

#endif
