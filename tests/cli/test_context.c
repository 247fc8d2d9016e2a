// SPDX-License-Identifier: GPL-2.0
/* The command context: the rules folder is --rules, else the config's
 * <rules_dir>, else xb_rules_dir_default(); the rest is what was given. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <criterion/criterion.h>

#include "cli/context.h"
#include "common/config.h"

static void conf_file(char *path, const char *body)
{
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	dprintf(fd, "<xdpban>%s</xdpban>\n", body);
	close(fd);
}

Test(context, rules_dir_from_option_config_default)
{
	char path[] = "/tmp/xbt-ctx-XXXXXX", bare[] = "/tmp/xbt-ctx-XXXXXX", def[4096];
	struct xb_cli_paths p = { .config = path };
	struct xb_cli_ctx ctx;

	conf_file(path, "<rules_dir>/from/the/config</rules_dir>");
	conf_file(bare, "");
	setenv(XB_RULES_DIR_ENV, "/from/the/env", 1);
	cr_assert_str_eq(xb_rules_dir_default(def, sizeof(def)), "/from/the/env");

	p.rules_dir = "/given";
	xb_cli_ctx_init(&ctx, "logtest", NULL, &p, true);
	cr_expect_str_eq(ctx.rules_dir, "/given");
	p.rules_dir = NULL;
	xb_cli_ctx_init(&ctx, "logtest", NULL, &p, true);
	cr_expect_str_eq(ctx.rules_dir, "/from/the/config");
	p.config = bare;
	xb_cli_ctx_init(&ctx, "logtest", NULL, &p, true);
	cr_expect_str_eq(ctx.rules_dir, "/from/the/env");
	p.config = "/nonexistent.conf";
	xb_cli_ctx_init(&ctx, "logtest", NULL, &p, true);
	cr_expect_str_eq(ctx.rules_dir, "/from/the/env", "a missing config means the default");
	unlink(path);
	unlink(bare);
}

Test(context, paths_as_given)
{
	struct xb_cli_paths p = { .config = "/c", .state_dir = "/s", .socket = "/k" };
	struct xb_cli_ctx ctx;

	xb_cli_ctx_init(&ctx, "run", "/pins", &p, false);
	cr_expect_str_eq(ctx.cmd, "run");
	cr_expect_str_eq(ctx.pin_dir, "/pins");
	cr_expect_str_eq(ctx.config, "/c");
	cr_expect_str_eq(ctx.state_dir, "/s");
	cr_expect_str_eq(ctx.socket, "/k");
	cr_expect_null(ctx.rules_dir, "only commands that read rules resolve them");
}
