/* SPDX-License-Identifier: GPL-2.0 */
/*
 * opts: a command's options, declared once in a table. Parsing (getopt_long
 * built from the table, so unambiguous prefixes of long options work), -h /
 * --help and the usage text all come from it. Each option fills one field of
 * the command's struct; a bad option or argument is one line on stderr and
 * -EINVAL.
 */
#ifndef XB_CLI_OPTS_H
#define XB_CLI_OPTS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum xb_opt_type {
	XB_OPT_BOOL,            /* bool: true when given */
	XB_OPT_REPEAT,          /* int: one more each time given (-vv) */
	XB_OPT_STRING,          /* const char *: the argument */
	XB_OPT_DURATION,        /* uint64_t seconds (xb_parse_duration), min..max */
	XB_OPT_COUNT,           /* uint64_t (xb_parse_u64), min..max */
	XB_OPT_ENUM,            /* int: the value of one of names */
};

/* An ENUM option's choices; a NULL name ends the table. */
struct xb_opt_name {
	const char *name;
	int value;
};

struct xb_opt {
	const char *name;               /* long name; NULL ends a table */
	char short_opt;                 /* 0: long only */
	enum xb_opt_type type;
	size_t off;                     /* the field it fills: set with XB_BOOL() etc. */
	bool track_given;               /* XB_GIVEN(): also set a bool when given */
	size_t given;
	const char *metavar;            /* the argument in help: "DURATION" */
	const char *help;
	uint64_t min, max;              /* DURATION, COUNT; max 0: no limit */
	const struct xb_opt_name *names; /* ENUM */
};

/* offsetof(T, m), and a compile error unless T.m has type ctype. */
#define XB_OPT_OFF(T, m, ctype) (offsetof(T, m) + 0 * sizeof((ctype *)0 == &((T *)0)->m))
#define XB_BOOL(T, m)           .type = XB_OPT_BOOL, .off = XB_OPT_OFF(T, m, bool)
#define XB_REPEAT(T, m)         .type = XB_OPT_REPEAT, .off = XB_OPT_OFF(T, m, int)
#define XB_STRING(T, m)         .type = XB_OPT_STRING, .off = XB_OPT_OFF(T, m, const char *)
#define XB_DURATION(T, m)       .type = XB_OPT_DURATION, .off = XB_OPT_OFF(T, m, uint64_t)
#define XB_COUNT(T, m)          .type = XB_OPT_COUNT, .off = XB_OPT_OFF(T, m, uint64_t)
#define XB_ENUM(T, m, tbl)      .type = XB_OPT_ENUM, .off = XB_OPT_OFF(T, m, int), .names = (tbl)
#define XB_GIVEN(T, m)          .track_given = true, .given = XB_OPT_OFF(T, m, bool)

#define XB_POS_ANY UINT_MAX

/* The positional arguments. */
struct xb_pos {
	const char *metavar;            /* "IFACE...", "[FILE|-]"; NULL: none taken */
	unsigned min, max;              /* max XB_POS_ANY: no limit */
	const char *missing;            /* the error when fewer than min: "which interface?" */
};

struct xb_opts_spec {
	const struct xb_opt *opts;      /* NULL: none but --help */
	struct xb_pos pos;
	size_t size;                    /* of the struct the options fill */
	const void *defaults;           /* its values before parsing; NULL: zeroes */
	const char *desc;               /* what the command does, for --help */
	bool stop_at_pos;               /* options end at the first positional (xdpban's own) */
};

/*
 * Parse argv (argv[0] is the command's name; cmd NULL for xdpban's own
 * options) into cfg, s->size bytes. 0 with the positional arguments in
 * argv[*first] to argv[argc - 1]; 1 when --help was printed on stdout;
 * -EINVAL after one line on stderr (and the usage, for a missing argument).
 */
int xb_opts_parse(const char *cmd, const struct xb_opts_spec *s, void *cfg,
		  int argc, char **argv, int *first);
/* The --help text: synopsis, s->desc, one line per option. */
void xb_opts_usage(FILE *f, const char *cmd, const struct xb_opts_spec *s);

#endif
