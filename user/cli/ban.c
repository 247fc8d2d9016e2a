// SPDX-License-Identifier: GPL-2.0
/* ban, unban, allow, unallow, flush: edit the pinned maps. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/context.h"
#include "cli/cli.h"
#include "common/config.h"
#include "daemon/ctlsock.h"
#include "policy/hostaddr.h"
#include "common/log.h"
#include "pipeline/enforce.h"
#include "policy/policy.h"
#include "common/util.h"

static void ban_usage(FILE *f)
{
	fprintf(f,
		"usage: xdpban ban ADDR[/PREFIX]... [--ttl DURATION | --permanent] [--reason TEXT]\n"
		"       xdpban ban --file FILE|- [--ttl DURATION | --permanent] [--reason TEXT]\n"
		"\n"
		"Drop every packet from an address or prefix (IPv4 or IPv6; ::ffff:a.b.c.d is\n"
		"the IPv4 address). Banning again re-arms the ban and keeps its counters.\n"
		"  -t, --ttl DURATION  lift the ban after 90s, 10m, 2h, 1d, 1w or plain seconds\n"
		"  -p, --permanent     never expire (the default for manual bans, like a\n"
		"                      blackhole route: lift it with 'xdpban unban')\n"
		"  -r, --reason TEXT   free text shown by 'list' (up to %d bytes kept)\n"
		"  -f, --file FILE     one ADDR[/PREFIX] per line ('-' = stdin), '#' starts a\n"
		"                      comment; loaded with batched map updates. A bad line is\n"
		"                      reported with its number, the rest still loads, and the\n"
		"                      exit status is then 2.\n"
		"Loopback and unspecified addresses (127/8, ::1, 0.0.0.0, ::) are refused,\n"
		"and so are this host's own addresses and the <white_list> of the config\n"
		"($XDPBAN_CONFIG or %s; exit status 4).\n",
		XB_REASON_LEN - 1, XB_CONFIG_DEFAULT);
}

struct ban_opts {
	struct xb_ban_req req;
	const char *file;
};

static int parse_ban_opts(int argc, char **argv, struct ban_opts *o)
{
	static const struct option opts[] = {
		{ "ttl", required_argument, NULL, 't' },
		{ "permanent", no_argument, NULL, 'p' },
		{ "reason", required_argument, NULL, 'r' },
		{ "file", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	bool ttl = false, perm = false;
	uint64_t secs = 0;
	int c;

	memset(o, 0, sizeof(*o));
	o->req.flags = XB_BAN_F_MANUAL;
	while ((c = getopt_long(argc, argv, "t:pr:f:h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (xb_parse_duration(optarg, &secs) || !secs) {
				fprintf(stderr, "xdpban: ban: bad duration '%s' (e.g. 90s, 10m, 2h, 1d)\n", optarg);
				return -EINVAL;
			}
			ttl = true;
			break;
		case 'p':
			perm = true;
			break;
		case 'r':
			o->req.reason = optarg;
			break;
		case 'f':
			o->file = optarg;
			break;
		case 'h':
			ban_usage(stdout);
			return 1;
		default:
			ban_usage(stderr);
			return -EINVAL;
		}
	}
	if (ttl && perm) {
		fprintf(stderr, "xdpban: ban: --ttl and --permanent exclude each other\n");
		return -EINVAL;
	}
	if (ttl)
		o->req.expires = xb_now_mono_ns() + secs * NSEC_PER_SEC;
	if (!o->file && optind >= argc) {
		fprintf(stderr, "xdpban: ban: which address?\n");
		ban_usage(stderr);
		return -EINVAL;
	}
	if (o->file && optind < argc) {
		fprintf(stderr, "xdpban: ban: give addresses or --file, not both\n");
		return -EINVAL;
	}
	return 0;
}

static bool refuse(const struct xb_addr *a)
{
	return xb_addr_is_loopback(a);
}

static int ban_report(const char *where, const struct xb_addr *a, int err)
{
	char buf[XB_ADDRSTRLEN];

	xb_addr_fmt(a, buf, sizeof(buf));
	if (err == -EPERM)
		fprintf(stderr, "xdpban: %s: %s is on the allow list (unallow it first)\n", where, buf);
	else if (err != -ENOSPC)        /* a full map has said so already */
		fprintf(stderr, "xdpban: %s: cannot ban %s: %s\n", where, buf, strerror(-err));
	return err;
}

/*
 * The daemon's protection rules for a file of bans: the config and the host's
 * addresses are read once (xb_policy_check_protected() per line would read
 * them a million times), with the same rule for a missing default config.
 */
struct guard {
	struct xb_config *conf;
	struct xb_hostaddr *host;
};

static int guard_open(struct guard *g)
{
	char err[512];
	int ret;

	memset(g, 0, sizeof(*g));
	ret = xb_config_load(NULL, &g->conf, err, sizeof(err));
	if (ret == -ENOENT && xb_config_is_default(NULL)) {
		g->conf = NULL;         /* no config installed: host addresses still count */
	} else if (ret) {
		fprintf(stderr, "xdpban ban: cannot check the allow list: %s\n", err);
		return ret;
	}
	ret = xb_hostaddr_open(false, &g->host);
	if (ret) {
		fprintf(stderr, "xdpban ban: cannot read this host's addresses: %s\n", strerror(-ret));
		xb_config_free(g->conf);
		g->conf = NULL;
	}
	return ret;
}

static void guard_close(struct guard *g)
{
	xb_hostaddr_close(g->host);
	xb_config_free(g->conf);
}

struct loaded {
	struct xb_addr *addrs;
	unsigned *lines;
	size_t n, cap;
};

static int loaded_add(struct loaded *l, const struct xb_addr *a, unsigned line)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4096;
		struct xb_addr *na = realloc(l->addrs, cap * sizeof(*na));
		unsigned *nl;

		if (!na)
			return -ENOMEM;
		l->addrs = na;
		nl = realloc(l->lines, cap * sizeof(*nl));
		if (!nl)
			return -ENOMEM;
		l->lines = nl;
		l->cap = cap;
	}
	l->addrs[l->n] = *a;
	l->lines[l->n++] = line;
	return 0;
}

/* Read FILE into l; bad lines are reported and counted, never fatal. */
static int read_file(const char *file, FILE *f, const struct guard *g, struct loaded *l,
		     size_t *bad)
{
	char *line = NULL, *s, *e, why[256];
	size_t cap = 0;
	unsigned no = 0;
	struct xb_addr a;
	int err = 0;

	while (getline(&line, &cap, f) >= 0) {
		no++;
		s = line;
		if ((e = strchr(s, '#')))
			*e = '\0';
		while (isspace((unsigned char)*s))
			s++;
		e = s + strlen(s);
		while (e > s && isspace((unsigned char)e[-1]))
			*--e = '\0';
		if (!*s)
			continue;
		if (xb_addr_parse(s, &a, false)) {
			fprintf(stderr, "xdpban: %s:%u: bad address or prefix '%.64s'\n", file, no, s);
			(*bad)++;
			continue;
		}
		if (refuse(&a)) {
			fprintf(stderr, "xdpban: %s:%u: refusing to ban loopback or unspecified '%s'\n",
				file, no, s);
			(*bad)++;
			continue;
		}
		if (xb_policy_is_protected(g->conf, g->host, &a, why, sizeof(why))) {
			fprintf(stderr, "xdpban: %s:%u: refused: %s\n", file, no, why);
			(*bad)++;
			continue;
		}
		err = loaded_add(l, &a, no);
		if (err)
			break;
	}
	if (!err && ferror(f))
		err = -EIO;
	free(line);
	return err;
}

static int ban_file(struct xb_dp *dp, const struct ban_opts *o)
{
	const char *name = strcmp(o->file, "-") ? o->file : "stdin";
	struct loaded l = {};
	struct guard g;
	size_t bad = 0, stored = 0, i = 0, done;
	uint64_t t0 = xb_now_mono_ns();
	FILE *f;
	int err;

	f = strcmp(o->file, "-") ? fopen(o->file, "r") : stdin;
	if (!f) {
		err = -errno;
		fprintf(stderr, "xdpban: ban: %s: %s\n", o->file, strerror(-err));
		return err;
	}
	err = guard_open(&g);
	if (!err) {
		err = read_file(name, f, &g, &l, &bad);
		guard_close(&g);
		if (err)
			fprintf(stderr, "xdpban: ban: reading %s: %s\n", name, strerror(-err));
	}
	if (f != stdin)
		fclose(f);
	if (err)
		goto out;
	/* An allow-listed address is reported like a bad line; a full map
	 * or a kernel error stops the load. */
	while (i < l.n) {
		err = xb_dp_ban_batch(dp, l.addrs + i, l.n - i, &o->req, &done);
		i += done;
		stored += done;
		if (!err)
			break;
		if (err != -EPERM) {
			ban_report(name, &l.addrs[i], err);
			fprintf(stderr, "xdpban: ban: stopped at %s:%u; %zu bans stored\n",
				name, l.lines[i], stored);
			goto out;
		}
		fprintf(stderr, "xdpban: %s:%u: ", name, l.lines[i]);
		ban_report("ban", &l.addrs[i], err);
		bad++;
		i++;
		err = 0;
	}
	pr_info("%zu bans stored from %s in %.3f s\n", stored, name,
		(double)(xb_now_mono_ns() - t0) / 1e9);
	if (bad) {
		fprintf(stderr, "xdpban: ban: %zu bad line%s in %s (the rest loaded)\n",
			bad, bad == 1 ? "" : "s", name);
		err = -EINVAL;
	}
out:
	free(l.addrs);
	free(l.lines);
	return err;
}

/* The host's own addresses and the configured allow list are never banned
 * by hand either: -EPERM with one line saying why. */
static int check_protected(const struct xb_addr *a)
{
	char why[512];
	int ret = xb_policy_check_protected(a, NULL, why, sizeof(why));

	if (ret < 0) {
		fprintf(stderr, "xdpban ban: cannot check the allow list: %s\n", why);
		return ret;
	}
	if (ret > 0) {
		fprintf(stderr, "xdpban ban: refused: %s\n", why);
		return -EPERM;
	}
	return 0;
}

int do_ban(int argc, char **argv)
{
	struct ban_opts o;
	struct xb_addr *addrs;
	struct xb_dp *dp;
	int n, err;

	err = parse_ban_opts(argc, argv, &o);
	if (err)
		return err > 0 ? 0 : err;
	n = argc - optind;
	addrs = calloc(n ? n : 1, sizeof(*addrs));
	if (!addrs)
		return -ENOMEM;
	/* Check every argument before touching the maps: all or nothing. */
	for (int i = 0; i < n; i++) {
		err = xb_cli_addr("ban", argv[optind + i], &addrs[i]);
		if (!err && refuse(&addrs[i])) {
			fprintf(stderr, "xdpban: ban: refusing to ban loopback or unspecified '%s'\n",
				argv[optind + i]);
			err = -EINVAL;
		}
		if (!err)
			err = check_protected(&addrs[i]);
		if (err)
			goto out;
	}
	err = xb_cli_dp_open("ban", true, 0, &dp);
	if (err)
		goto out;
	if (o.file) {
		err = ban_file(dp, &o);
	} else {
		for (int i = 0; i < n && !err; i++) {
			err = xb_dp_ban(dp, &addrs[i], &o.req);
			if (err)
				ban_report("ban", &addrs[i], err);
		}
	}
	xb_dp_close(dp);
out:
	free(addrs);
	return err;
}

/* unban / allow / unallow share one shape: ADDR... -> one call each. */
static int each_addr(int argc, char **argv, const char *usage, bool create,
		     int (*fn)(struct xb_dp *, const struct xb_addr *), const char *enoent)
{
	struct xb_addr a;
	struct xb_dp *dp;
	char buf[XB_ADDRSTRLEN];
	int err = 0;

	if (xb_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc < 2) {
		fprintf(stderr, "xdpban: %s: which address?\n", argv[0]);
		fputs(usage, stderr);
		return -EINVAL;
	}
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-' && strcmp(argv[i], "--")) {
			fprintf(stderr, "xdpban: %s: unknown option '%s'\n", argv[0], argv[i]);
			return -EINVAL;
		}
		err = xb_cli_addr(argv[0], argv[i], &a);
		if (err)
			return err;
	}
	err = xb_cli_dp_open(argv[0], create, 0, &dp);
	if (err)
		return err;
	for (int i = 1; i < argc && !err; i++) {
		if (!strcmp(argv[i], "--"))
			continue;
		xb_cli_addr(argv[0], argv[i], &a);
		err = fn(dp, &a);
		if (err == -ENOENT)
			fprintf(stderr, "xdpban: %s: %s %s\n", argv[0],
				xb_addr_fmt(&a, buf, sizeof(buf)), enoent);
		else if (err && err != -ENOSPC)
			fprintf(stderr, "xdpban: %s: %s: %s\n", argv[0],
				xb_addr_fmt(&a, buf, sizeof(buf)), strerror(-err));
	}
	xb_dp_close(dp);
	return err;
}

/*
 * With no daemon running, the state database of the config ($XDPBAN_CONFIG or
 * the default) forgets the lifted ban itself, or the next start would restore
 * it. a NULL: every ban (flush). No config or no database: nothing to forget.
 */
static void forget_in_state(const struct xb_addr *a)
{
	struct xb_config *c = NULL;
	char path[PATH_MAX], err[512], buf[XB_ADDRSTRLEN];
	int ret;

	ret = xb_config_load(NULL, &c, err, sizeof(err));
	if (ret) {
		if (ret != -ENOENT || !xb_config_is_default(NULL))
			fprintf(stderr, "xdpban: the daemon's database keeps the ban (a restart "
				"restores it): %s\n", err);
		return;
	}
	ret = xb_enforce_forget_stored(c->state_dir, a, path, sizeof(path));
	if (ret && ret != -ENOENT)
		fprintf(stderr, "xdpban: %s: cannot forget %s: %s (a restart of the daemon "
			"restores it)\n", path, a ? xb_addr_fmt(a, buf, sizeof(buf)) : "the bans",
			strerror(-ret));
	xb_config_free(c);
}

/* A running daemon forgets the ban too, or its restart would bring it back. */
static void notify_unban(const struct xb_addr *a)
{
	struct xb_config *c = NULL;
	char path[PATH_MAX];
	int err;

	/* A broken config must not hide the running daemon: the default then. */
	if (xb_config_load(NULL, &c, NULL, 0))
		c = NULL;
	snprintf(path, sizeof(path), "%s", xb_ctlsock_path(NULL, c));
	xb_config_free(c);
	err = xb_ctlsock_notify_unban(path, a);
	if (err == -ENOENT || err == -ECONNREFUSED)
		forget_in_state(a);
}

static int unban_notify(struct xb_dp *dp, const struct xb_addr *a)
{
	int err = xb_dp_unban(dp, a);

	if (!err)
		notify_unban(a);
	return err;
}

int do_unban(int argc, char **argv)
{
	return each_addr(argc, argv,
			 "usage: xdpban unban ADDR[/PREFIX]...\n\n"
			 "Lift bans at once. A prefix ban is lifted by its exact prefix; an\n"
			 "address inside a banned prefix needs the prefix unbanned (or an allow).\n",
			 false, unban_notify, "is not banned");
}

int do_allow(int argc, char **argv)
{
	return each_addr(argc, argv,
			 "usage: xdpban allow ADDR[/PREFIX]...\n\n"
			 "Never drop packets from these addresses: the allow list wins over any\n"
			 "ban, exact or prefix. New bans covered by the list are refused.\n",
			 true, xb_dp_allow, "");
}

int do_unallow(int argc, char **argv)
{
	return each_addr(argc, argv,
			 "usage: xdpban unallow ADDR[/PREFIX]...\n\n"
			 "Remove entries from the allow list (by their exact prefix).\n",
			 false, xb_dp_unallow, "is not on the allow list");
}

int do_flush(int argc, char **argv)
{
	struct xb_dp *dp;
	int err;

	if (xb_wants_help(argc, argv)) {
		printf("usage: xdpban flush\n\nRemove every ban, exact and prefix. The allow list is kept.\n");
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "xdpban: flush: takes no arguments\n");
		return -EINVAL;
	}
	err = xb_cli_dp_open("flush", false, 0, &dp);
	if (err)
		return err;
	err = xb_dp_flush(dp);
	if (err)
		fprintf(stderr, "xdpban: flush: %s\n", strerror(-err));
	else
		notify_unban(NULL);
	xb_dp_close(dp);
	return err;
}
