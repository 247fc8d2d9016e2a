// SPDX-License-Identifier: GPL-2.0
/* ban --file: a list of addresses, checked line by line, loaded in batches. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/guard.h"
#include "common/log.h"
#include "common/util.h"

int xb_cli_ban_report(const char *where, const struct xb_addr *a, int err)
{
	char buf[XB_ADDRSTRLEN];

	xb_addr_fmt(a, buf, sizeof(buf));
	if (err == -EPERM)
		fprintf(stderr, "xdpban: %s: %s is on the allow list (unallow it first)\n", where, buf);
	else if (err != -ENOSPC)        /* a full map has said so already */
		fprintf(stderr, "xdpban: %s: cannot ban %s: %s\n", where, buf, strerror(-err));
	return err;
}

/* The good lines: addresses for the batched update, and where each was. */
struct loaded {
	struct xb_addr *addrs;
	unsigned *lines;
	size_t n, addrs_cap, lines_cap;
};

static int loaded_add(struct loaded *l, const struct xb_addr *a, unsigned line)
{
	if (xb_grow(&l->addrs, &l->addrs_cap, l->n, sizeof(*l->addrs), 4096) ||
	    xb_grow(&l->lines, &l->lines_cap, l->n, sizeof(*l->lines), 4096))
		return -ENOMEM;
	l->addrs[l->n] = *a;
	l->lines[l->n++] = line;
	return 0;
}

/* The line without its comment and surrounding blanks ("" when none is left). */
static char *trim(char *s)
{
	char *e;

	if ((e = strchr(s, '#')))
		*e = '\0';
	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Read the list into l; bad lines are reported and counted, never fatal. */
static int read_bans(const char *name, FILE *f, const struct xb_cli_guard *g, struct loaded *l,
		     size_t *bad)
{
	char *line = NULL, *s, why[256];
	size_t cap = 0;
	unsigned no = 0;
	struct xb_addr a;
	int err = 0;

	while (!err && getline(&line, &cap, f) >= 0) {
		no++;
		s = trim(line);
		if (!*s)
			continue;
		if (xb_addr_parse(s, &a, false)) {
			fprintf(stderr, "xdpban: %s:%u: bad address or prefix '%.64s'\n", name, no, s);
			(*bad)++;
		} else if (xb_addr_is_loopback(&a)) {
			fprintf(stderr, "xdpban: %s:%u: refusing to ban loopback or unspecified '%s'\n",
				name, no, s);
			(*bad)++;
		} else if (xb_cli_guard_refuses(g, &a, why, sizeof(why))) {
			fprintf(stderr, "xdpban: %s:%u: refused: %s\n", name, no, why);
			(*bad)++;
		} else {
			err = loaded_add(l, &a, no);
		}
	}
	if (!err && ferror(f))
		err = -EIO;
	free(line);
	return err;
}

/* Open and read the list under the protection rules of the config at conf. */
static int load_bans(const char *file, const char *name, const char *conf, struct loaded *l,
		     size_t *bad)
{
	struct xb_cli_guard g;
	char why[512];
	FILE *f;
	int err;

	f = strcmp(file, "-") ? fopen(file, "r") : stdin;
	if (!f) {
		err = -errno;
		fprintf(stderr, "xdpban: ban: %s: %s\n", file, strerror(-err));
		return err;
	}
	err = xb_cli_guard_open(&g, conf, why, sizeof(why));
	if (err) {
		fprintf(stderr, "xdpban ban: cannot check the allow list: %s\n", why);
	} else {
		err = read_bans(name, f, &g, l, bad);
		xb_cli_guard_close(&g);
		if (err)
			fprintf(stderr, "xdpban: ban: reading %s: %s\n", name, strerror(-err));
	}
	if (f != stdin)
		fclose(f);
	return err;
}

/*
 * Store the loaded bans. An allow-listed address is reported like a bad
 * line; a full map or a kernel error stops the load.
 */
static int store_bans(struct xb_dp *dp, const char *name, const struct loaded *l,
		      const struct xb_ban_req *req, size_t *stored, size_t *bad)
{
	size_t i = 0, done;
	int err;

	while (i < l->n) {
		err = xb_dp_ban_batch(dp, l->addrs + i, l->n - i, req, &done);
		i += done;
		*stored += done;
		if (!err)
			break;
		if (err != -EPERM) {
			xb_cli_ban_report(name, &l->addrs[i], err);
			fprintf(stderr, "xdpban: ban: stopped at %s:%u; %zu bans stored\n",
				name, l->lines[i], *stored);
			return err;
		}
		fprintf(stderr, "xdpban: %s:%u: ", name, l->lines[i]);
		xb_cli_ban_report("ban", &l->addrs[i], err);
		(*bad)++;
		i++;
	}
	return 0;
}

int xb_cli_ban_file(struct xb_dp *dp, const char *file, const struct xb_ban_req *req,
		    const char *conf)
{
	const char *name = strcmp(file, "-") ? file : "stdin";
	uint64_t t0 = xb_now_mono_ns();
	struct loaded l = {};
	size_t bad = 0, stored = 0;
	int err;

	err = load_bans(file, name, conf, &l, &bad);
	if (!err)
		err = store_bans(dp, name, &l, req, &stored, &bad);
	if (!err)
		pr_info("%zu bans stored from %s in %.3f s\n", stored, name,
			(double)(xb_now_mono_ns() - t0) / 1e9);
	if (!err && bad) {
		fprintf(stderr, "xdpban: ban: %zu bad line%s in %s (the rest loaded)\n",
			bad, bad == 1 ? "" : "s", name);
		err = -EINVAL;
	}
	free(l.addrs);
	free(l.lines);
	return err;
}
