// SPDX-License-Identifier: GPL-2.0
/* opts: parse a command line, and write the help, from one table of options. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/opts.h"
#include "common/util.h"

#define MAX_OPTS  32            /* per table; more is a bug in the table */
#define LONG_ONLY 256           /* getopt value of option i without a short one: LONG_ONLY + i */
#define WIDTH     79            /* of the help text */
#define HELP_COL  24            /* where option help starts, at most */

static const struct xb_opt help_opt = {
	.name = "help", .short_opt = 'h', .type = XB_OPT_BOOL, .help = "show this help",
};

static size_t count_opts(const struct xb_opts_spec *s)
{
	size_t n = 0;

	while (s->opts && s->opts[n].name)
		n++;
	return n;
}

static bool takes_arg(const struct xb_opt *o)
{
	return o->type != XB_OPT_BOOL && o->type != XB_OPT_REPEAT;
}

static int opt_val(const struct xb_opt *o, size_t i)
{
	return o->short_opt ? o->short_opt : LONG_ONLY + (int)i;
}

/* Option i of the table, or help_opt, or NULL. */
static const struct xb_opt *opt_at(const struct xb_opts_spec *s, size_t i)
{
	size_t n = count_opts(s);

	return i < n ? &s->opts[i] : i == n ? &help_opt : NULL;
}

static const struct xb_opt *find_val(const struct xb_opts_spec *s, int val)
{
	const struct xb_opt *o;

	for (size_t i = 0; (o = opt_at(s, i)); i++)
		if (opt_val(o, i) == val)
			return o;
	return NULL;
}

/* One line: "xdpban: CMD: ...". */
static void __attribute__((format(printf, 2, 3))) say(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "xdpban: %s%s", cmd ? cmd : "", cmd ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* getopt_long's view of the table, -h/--help added. */
static int build_getopt(const struct xb_opts_spec *s, struct option *lo, char *sh)
{
	const struct xb_opt *o;
	size_t i;

	if (count_opts(s) > MAX_OPTS)
		return -E2BIG;
	if (s->stop_at_pos)
		*sh++ = '+';
	*sh++ = ':';            /* a missing argument returns ':', not '?' */
	for (i = 0; (o = opt_at(s, i)); i++) {
		lo[i] = (struct option){ o->name, takes_arg(o) ? required_argument : no_argument,
					 NULL, opt_val(o, i) };
		if (o->short_opt) {
			*sh++ = o->short_opt;
			if (takes_arg(o))
				*sh++ = ':';
		}
	}
	lo[i] = (struct option){ 0 };
	*sh = '\0';
	return 0;
}

/* "native, generic or auto" */
static void enum_choices(const struct xb_opt_name *v, char *buf, size_t len)
{
	size_t n = 0, at = 0;

	while (v[n].name)
		n++;
	buf[0] = '\0';
	for (size_t i = 0; i < n && at < len; i++)
		at += snprintf(buf + at, len - at, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ",
			       v[i].name);
}

static int set_enum(const char *cmd, const struct xb_opt *o, const char *arg, int *field)
{
	char choices[256];

	for (const struct xb_opt_name *v = o->names; v->name; v++) {
		if (!strcmp(v->name, arg)) {
			*field = v->value;
			return 0;
		}
	}
	enum_choices(o->names, choices, sizeof(choices));
	say(cmd, "bad %s '%s' (%s)", o->name, arg, choices);
	return -EINVAL;
}

static int set_number(const char *cmd, const struct xb_opt *o, const char *arg, uint64_t *field)
{
	uint64_t v, max = o->max ? o->max : UINT64_MAX;

	if (o->type == XB_OPT_DURATION) {
		if (xb_parse_duration(arg, &v) || v < o->min || v > max) {
			say(cmd, "bad duration '%s' (e.g. 90s, 10m, 2h, 1d)", arg);
			return -EINVAL;
		}
	} else if (xb_parse_u64(arg, max, &v) || v < o->min) {
		say(cmd, "--%s: not a number from %llu to %llu: '%s'", o->name,
		    (unsigned long long)o->min, (unsigned long long)max, arg);
		return -EINVAL;
	}
	*field = v;
	return 0;
}

static int set_opt(const char *cmd, const struct xb_opt *o, const char *arg, void *cfg)
{
	char *field = (char *)cfg + o->off;
	int err = 0;

	switch (o->type) {
	case XB_OPT_BOOL:
		*(bool *)field = true;
		break;
	case XB_OPT_REPEAT:
		(*(int *)field)++;
		break;
	case XB_OPT_STRING:
		*(const char **)field = arg;
		break;
	case XB_OPT_DURATION:
	case XB_OPT_COUNT:
		err = set_number(cmd, o, arg, (uint64_t *)field);
		break;
	case XB_OPT_ENUM:
		err = set_enum(cmd, o, arg, (int *)field);
		break;
	}
	if (!err && o->track_given)
		*(bool *)((char *)cfg + o->given) = true;
	return err;
}

/* "--s" when both --socket and --state-dir start so: say which they are. */
static bool ambiguous(const char *cmd, const struct xb_opts_spec *s, const char *arg)
{
	size_t len = strcspn(arg, "="), hits = 0, at = 0;
	const struct xb_opt *o;
	char list[256] = "";

	for (size_t i = 0; (o = opt_at(s, i)); i++) {
		if (strncmp(o->name, arg, len))
			continue;
		if (strlen(o->name) == len)
			return false;
		if (at < sizeof(list))
			at += snprintf(list + at, sizeof(list) - at, "%s--%s", hits ? ", " : "",
				       o->name);
		hits++;
	}
	if (hits < 2)
		return false;
	say(cmd, "option '--%.*s' is ambiguous: %s", (int)len, arg, list);
	return true;
}

/*
 * getopt's complaint as one line. Commands that never had options say
 * "unknown option", the others getopt's "unrecognized option" (scripts
 * grep both).
 */
static int bad_option(const char *cmd, const struct xb_opts_spec *s, int c, char **argv)
{
	const char *word = count_opts(s) ? "unrecognized" : "unknown";
	const char *arg = argv[optind - 1];
	const struct xb_opt *o = optopt ? find_val(s, optopt) : NULL;
	bool is_long = !strncmp(arg, "--", 2);

	if (c == ':' && o && is_long)
		say(cmd, "option '--%s' requires an argument", o->name);
	else if (c == ':' && o)
		say(cmd, "option '-%c' requires an argument", o->short_opt);
	else if (o)             /* a known option given "=value" */
		say(cmd, "option '--%s' takes no argument", o->name);
	else if (optopt)
		say(cmd, "%s option '-%c'", word, optopt);
	else if (!ambiguous(cmd, s, arg + 2))
		say(cmd, "%s option '%.*s'", word, (int)strcspn(arg, "="), arg);
	return -EINVAL;
}

static int check_pos(const char *cmd, const struct xb_opts_spec *s, int argc, char **argv,
		     int first)
{
	unsigned n = (unsigned)(argc - first);

	if (n < s->pos.min) {
		if (s->pos.missing)
			say(cmd, "%s", s->pos.missing);
		xb_opts_usage(stderr, cmd, s);
		return -EINVAL;
	}
	if (n > s->pos.max) {
		say(cmd, "unexpected argument '%s'", argv[first + s->pos.max]);
		return -EINVAL;
	}
	return 0;
}

int xb_opts_parse(const char *cmd, const struct xb_opts_spec *s, void *cfg,
		  int argc, char **argv, int *first)
{
	struct option lo[MAX_OPTS + 2];
	char sh[3 + 2 * (MAX_OPTS + 1) + 1];
	const struct xb_opt *o;
	int c, err;

	if (s->defaults)
		memcpy(cfg, s->defaults, s->size);
	else
		memset(cfg, 0, s->size);
	err = build_getopt(s, lo, sh);
	if (err) {
		say(cmd, "too many options in the table");
		return err;
	}
	optind = 0;             /* a fresh start, also for getopt's permutation */
	opterr = 0;             /* its errors are ours to word */
	while ((c = getopt_long(argc, argv, sh, lo, NULL)) != -1) {
		o = c == '?' || c == ':' ? NULL : find_val(s, c);
		if (!o)
			return bad_option(cmd, s, c, argv);
		if (o == &help_opt) {
			xb_opts_usage(stdout, cmd, s);
			return 1;
		}
		err = set_opt(cmd, o, optarg, cfg);
		if (err)
			return err;
	}
	*first = optind;
	return check_pos(cmd, s, argc, argv, optind);
}

/* One unbreakable word at *col: after a space on this line, or at indent on the next. */
static void put_word(FILE *f, const char *w, int len, int indent, int *col)
{
	if (*col > indent && *col + 1 + len > WIDTH) {
		fputc('\n', f);
		*col = 0;
	}
	if (*col < indent)
		*col += fprintf(f, "%*s", indent - *col, "");
	else if (*col > indent)
		*col += fprintf(f, " ");
	*col += fprintf(f, "%.*s", len, w);
}

/* text from column col, wrapped at indent; '\n' breaks the line. */
static void wrap(FILE *f, const char *text, int indent, int col)
{
	while (*text) {
		int len = (int)strcspn(text, " \n");

		if (len)
			put_word(f, text, len, indent, &col);
		text += len;
		if (*text == '\n') {
			fputc('\n', f);
			col = 0;
		}
		if (*text)
			text++;
	}
	if (col)
		fputc('\n', f);
}

static void print_synopsis(FILE *f, const char *cmd, const struct xb_opts_spec *s)
{
	int col = fprintf(f, "usage: xdpban%s%s", cmd ? " " : "", cmd ? cmd : ""), indent = col + 1;
	const struct xb_opt *o;
	char item[128];
	int len;

	for (size_t i = 0; (o = opt_at(s, i)) && o != &help_opt; i++) {
		if (takes_arg(o))
			len = snprintf(item, sizeof(item), "[--%s %s]", o->name,
				       o->metavar ? o->metavar : "ARG");
		else
			len = snprintf(item, sizeof(item), "[--%s]", o->name);
		put_word(f, item, len, indent, &col);
	}
	if (s->pos.metavar)
		put_word(f, s->pos.metavar, (int)strlen(s->pos.metavar), indent, &col);
	fputc('\n', f);
}

/* "  -m, --mode MODE" */
static int opt_left(const struct xb_opt *o, char *buf, size_t len)
{
	int n = o->short_opt ? snprintf(buf, len, "  -%c, --%s", o->short_opt, o->name) :
		snprintf(buf, len, "      --%s", o->name);

	if (takes_arg(o) && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - n, " %s", o->metavar ? o->metavar : "ARG");
	return n;
}

/* The help of o, with the default of a count that has one. */
static void opt_help(const struct xb_opts_spec *s, const struct xb_opt *o, char *buf, size_t len)
{
	uint64_t v = 0;

	if (o->type == XB_OPT_COUNT && s->defaults)
		memcpy(&v, (const char *)s->defaults + o->off, sizeof(v));
	if (v)
		snprintf(buf, len, "%s (default %llu)", o->help ? o->help : "",
			 (unsigned long long)v);
	else
		snprintf(buf, len, "%s", o->help ? o->help : "");
}

static void print_options(FILE *f, const struct xb_opts_spec *s)
{
	const struct xb_opt *o;
	char left[128], help[1024];
	int at = 0, col;

	for (size_t i = 0; (o = opt_at(s, i)); i++) {
		col = opt_left(o, left, sizeof(left)) + 2;
		if (col > at)
			at = col;
	}
	if (at > HELP_COL)
		at = HELP_COL;
	for (size_t i = 0; (o = opt_at(s, i)); i++) {
		col = opt_left(o, left, sizeof(left));
		fputs(left, f);
		if (col + 2 > at) {     /* too long: the help starts on the next line */
			fputc('\n', f);
			col = 0;
		}
		opt_help(s, o, help, sizeof(help));
		wrap(f, help, at, col);
	}
}

void xb_opts_usage(FILE *f, const char *cmd, const struct xb_opts_spec *s)
{
	print_synopsis(f, cmd, s);
	if (s->desc) {
		fputc('\n', f);
		wrap(f, s->desc, 0, 0);
	}
	fprintf(f, "\noptions:\n");
	print_options(f, s);
}
