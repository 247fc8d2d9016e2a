// SPDX-License-Identifier: GPL-2.0
/* The option table engine: parsing, errors (one line each) and the help. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include "cli/opts.h"

struct t_cfg {
	bool flag, ttl_given;
	int verbose, mode;
	const char *name, *config;
	uint64_t ttl, count;
};

static const struct xb_opt_name modes[] = { { "one", 1 }, { "two", 2 }, { "three", 3 }, {} };

static const struct xb_opt t_opts[] = {
	{ .name = "flag", .short_opt = 'b', XB_BOOL(struct t_cfg, flag), .help = "a flag" },
	{ .name = "verbose", .short_opt = 'v', XB_REPEAT(struct t_cfg, verbose), .help = "louder" },
	{ .name = "name", .short_opt = 'n', XB_STRING(struct t_cfg, name), .metavar = "TEXT",
	  .help = "a string" },
	{ .name = "ttl", .short_opt = 't', XB_DURATION(struct t_cfg, ttl),
	  XB_GIVEN(struct t_cfg, ttl_given), .min = 1, .metavar = "DURATION",
	  .help = "a duration" },
	{ .name = "count", .short_opt = 'c', XB_COUNT(struct t_cfg, count), .min = 1, .max = 10,
	  .metavar = "N", .help = "a count" },
	{ .name = "mode", .short_opt = 'm', XB_ENUM(struct t_cfg, mode, modes), .metavar = "MODE",
	  .help = "one of three" },
	{ .name = "config", XB_STRING(struct t_cfg, config), .metavar = "FILE",
	  .help = "a long option without a short one, and a help text long enough to be "
	  "wrapped onto a second line of the help" },
	{}
};

static const struct xb_opts_spec t_spec = {
	.opts = t_opts,
	.pos = { "ARG...", 1, 2, "which arg?" },
	.size = sizeof(struct t_cfg),
	.defaults = &(const struct t_cfg){ .count = 3, .mode = 2 },
	.desc = "What the test command does.",
};

/* No options but --help, any number of arguments. */
static const struct xb_opts_spec bare_spec = {
	.pos = { "ADDR...", 0, XB_POS_ANY },
	.size = sizeof(struct t_cfg),
};

#define ARGV(...) (char *[]){ __VA_ARGS__, NULL }
#define ARGC(...) ((int)(sizeof((char *[]){ __VA_ARGS__ }) / sizeof(char *)))
/* Parse "t" ARGS... with t_spec into c; the stderr it wrote goes to err. */
#define PARSE(spec, c, err, ...) \
	parse(spec, c, err, ARGC("t", __VA_ARGS__), ARGV("t", __VA_ARGS__))

static int first;

static int parse(const struct xb_opts_spec *s, struct t_cfg *c, char *err, int argc,
		 char **argv)
{
	FILE *f = tmpfile();
	int saved = dup(2), rc;
	size_t n;

	cr_assert(f && saved >= 0);
	fflush(stderr);
	dup2(fileno(f), 2);
	rc = xb_opts_parse("t", s, c, argc, argv, &first);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	n = fread(err, 1, 4095, f);
	err[n] = '\0';
	fclose(f);
	return rc;
}

static size_t lines(const char *s)
{
	size_t n = 0;

	while ((s = strchr(s, '\n')))
		n++, s++;
	return n;
}

Test(opts, every_type)
{
	char **argv = ARGV("t", "-b", "--name", "x", "--ttl", "2h", "--count=5", "-m", "three",
			   "-vv", "pos", "--config", "c.conf", "-v");
	struct t_cfg c;
	char err[4096];
	int rc = parse(&t_spec, &c, err, 14, argv);

	cr_assert_eq(rc, 0, "%s", err);
	cr_expect_str_empty(err);
	cr_expect(c.flag);
	cr_expect_str_eq(c.name, "x");
	cr_expect_eq(c.ttl, 7200);
	cr_expect(c.ttl_given);
	cr_expect_eq(c.count, 5);
	cr_expect_eq(c.mode, 3);
	cr_expect_eq(c.verbose, 3);
	cr_expect_str_eq(c.config, "c.conf");
	/* the positional arguments, moved behind the options */
	cr_expect_eq(first, 13);
	cr_expect_str_eq(argv[first], "pos");
}

Test(opts, defaults_and_given)
{
	struct t_cfg c = { .flag = true, .name = "stale" };
	char err[4096];

	cr_assert_eq(PARSE(&t_spec, &c, err, "a", "b"), 0, "%s", err);
	cr_expect_not(c.flag);
	cr_expect_null(c.name);
	cr_expect_eq(c.count, 3);
	cr_expect_eq(c.mode, 2);
	cr_expect_not(c.ttl_given);
	cr_expect_eq(first, 1);
	cr_assert_eq(PARSE(&bare_spec, &c, err, "x"), 0, "%s", err);
	cr_expect_eq(c.count, 0, "no defaults: zeroes");
}

Test(opts, unambiguous_prefix_of_a_long_option)
{
	struct t_cfg c;
	char err[4096];

	cr_assert_eq(PARSE(&t_spec, &c, err, "--na", "x", "--cou", "4", "--conf", "f", "--fl", "a"),
		     0, "%s", err);
	cr_expect_str_eq(c.name, "x");
	cr_expect_eq(c.count, 4);
	cr_expect_str_eq(c.config, "f");
	cr_expect(c.flag);
	cr_expect_eq(PARSE(&t_spec, &c, err, "--co", "4", "a"), -EINVAL);
	cr_expect_str_eq(err, "xdpban: t: option '--co' is ambiguous: --count, --config\n");
}

/* Each bad command line: -EINVAL and exactly this one line. */
static void bad(const char *want, struct t_cfg *c, char *err, int rc)
{
	cr_expect_eq(rc, -EINVAL, "%s", want);
	cr_expect_str_eq(err, want);
	cr_expect_eq(lines(err), 1, "%s", err);
}

Test(opts, value_errors)
{
	struct t_cfg c;
	char err[4096];

	bad("xdpban: t: bad duration '5x' (e.g. 90s, 10m, 2h, 1d)\n", &c, err,
	    PARSE(&t_spec, &c, err, "--ttl", "5x", "a"));
	bad("xdpban: t: bad duration '0' (e.g. 90s, 10m, 2h, 1d)\n", &c, err,
	    PARSE(&t_spec, &c, err, "-t", "0", "a"));
	bad("xdpban: t: --count: not a number from 1 to 10: '0'\n", &c, err,
	    PARSE(&t_spec, &c, err, "--count", "0", "a"));
	bad("xdpban: t: --count: not a number from 1 to 10: '11'\n", &c, err,
	    PARSE(&t_spec, &c, err, "-c", "11", "a"));
	bad("xdpban: t: --count: not a number from 1 to 10: 'x'\n", &c, err,
	    PARSE(&t_spec, &c, err, "-c", "x", "a"));
	bad("xdpban: t: bad mode 'four' (one, two or three)\n", &c, err,
	    PARSE(&t_spec, &c, err, "--mode", "four", "a"));
}

Test(opts, option_errors)
{
	struct t_cfg c;
	char err[4096];

	bad("xdpban: t: unrecognized option '--bogus'\n", &c, err,
	    PARSE(&t_spec, &c, err, "a", "--bogus"));
	bad("xdpban: t: unrecognized option '--bogus'\n", &c, err,
	    PARSE(&t_spec, &c, err, "--bogus=1", "a"));
	bad("xdpban: t: unrecognized option '-Z'\n", &c, err,
	    PARSE(&t_spec, &c, err, "-bZ", "a"));
	bad("xdpban: t: unknown option '--bogus'\n", &c, err,
	    PARSE(&bare_spec, &c, err, "--bogus"));
	bad("xdpban: t: unknown option '-x'\n", &c, err, PARSE(&bare_spec, &c, err, "-x"));
	bad("xdpban: t: option '--name' requires an argument\n", &c, err,
	    PARSE(&t_spec, &c, err, "a", "--name"));
	bad("xdpban: t: option '-n' requires an argument\n", &c, err,
	    PARSE(&t_spec, &c, err, "a", "-n"));
	bad("xdpban: t: option '--flag' takes no argument\n", &c, err,
	    PARSE(&t_spec, &c, err, "--flag=yes", "a"));
}

Test(opts, positional_min_max)
{
	char **argv = ARGV("t", "--", "-b");
	struct t_cfg c;
	char err[4096];

	cr_expect_eq(PARSE(&t_spec, &c, err, "-b"), -EINVAL);
	cr_expect(!strncmp(err, "xdpban: t: which arg?\nusage: xdpban t ", 37), "%s", err);
	bad("xdpban: t: unexpected argument 'c'\n", &c, err,
	    PARSE(&t_spec, &c, err, "a", "b", "c"));
	/* after "--" everything is positional */
	cr_assert_eq(parse(&t_spec, &c, err, 3, argv), 0, "%s", err);
	cr_expect_not(c.flag);
	cr_expect_eq(first, 2);
	cr_expect_str_eq(argv[first], "-b");
}

Test(opts, stop_at_the_first_positional)
{
	struct xb_opts_spec s = t_spec;
	char **argv = ARGV("xdpban", "-v", "cmd", "-b", "x");
	struct t_cfg c;
	char err[4096];

	s.stop_at_pos = true;
	s.pos = (struct xb_pos){ "COMMAND [ARGS]", 0, XB_POS_ANY, NULL };
	cr_assert_eq(parse(&s, &c, err, 5, argv), 0, "%s", err);
	cr_expect_eq(c.verbose, 1);
	cr_expect_not(c.flag, "-b belongs to the command");
	cr_expect_eq(first, 2);
	cr_expect_str_eq(argv[first], "cmd");
}

Test(opts, help_option, .init = cr_redirect_stdout)
{
	struct t_cfg c;
	char err[4096];

	cr_expect_eq(PARSE(&t_spec, &c, err, "a", "--help"), 1);
	cr_expect_eq(PARSE(&bare_spec, &c, err, "-h"), 1);
	cr_expect_eq(PARSE(&t_spec, &c, err, "--he"), 1, "a prefix of --help, and no positional "
		     "needed for help");
	cr_expect_str_empty(err);
}

Test(opts, generated_help_names_every_option)
{
	char *buf = NULL, row[128], *flag, *more;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert(f);
	xb_opts_usage(f, "t", &t_spec);
	fclose(f);
	cr_expect(!strncmp(buf, "usage: xdpban t [--flag] [--verbose] [--name TEXT] ", 51),
		  "%s", buf);
	cr_expect(strstr(buf, "ARG...\n"), "%s", buf);
	cr_expect(strstr(buf, "\nWhat the test command does.\n"), "%s", buf);
	for (const struct xb_opt *o = t_opts; o->name; o++) {
		if (o->short_opt)
			snprintf(row, sizeof(row), "  -%c, --%s", o->short_opt, o->name);
		else
			snprintf(row, sizeof(row), "      --%s", o->name);
		cr_expect(strstr(buf, row), "%s missing in\n%s", row, buf);
		cr_expect(strstr(buf, o->help) || o->type == XB_OPT_STRING, "%s", o->help);
	}
	cr_expect(strstr(buf, "  -h, --help"), "%s", buf);
	cr_expect(strstr(buf, "a count (default 3)"), "a count's default: %s", buf);
	/* a long help goes on at the column where every help starts */
	flag = strstr(buf, "  -b, --flag");
	more = strstr(buf, "text long\n");

	cr_assert(flag && more, "%s", buf);
	more += strlen("text long\n");
	cr_expect_eq(strspn(more, " "), strstr(flag, "a flag") - flag, "%s", buf);
	cr_expect(!strncmp(more + strspn(more, " "), "enough", 6), "%s", buf);
	for (char *l = buf; *l; l = strchr(l, '\n') + 1)
		cr_expect_leq(strcspn(l, "\n"), 79, "%.*s", (int)strcspn(l, "\n"), l);
	free(buf);
}
