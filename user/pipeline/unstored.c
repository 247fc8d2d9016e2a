// SPDX-License-Identifier: GPL-2.0
/*
 * unstored: bans recorded in the database that the maps could not take (a
 * full map at restore or at a decision, no memory). They are not lifted:
 * their rows stay, reconciliation leaves them be, and they are stored again,
 * as their rows then say, when room appears (enforce.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "pipeline/enforce_int.h"

void enforce_unstored(struct xb_enforce *e, const struct xb_addr *a, int err)
{
	char ab[XB_ADDRSTRLEN];
	bool first = e->unstored.n == 0;

	xb_addr_fmt(a, ab, sizeof(ab));
	if (xb_addr_set_add(&e->unstored, a)) {
		pr_warn("cannot ban %s: %s (and no memory to try again later)\n", ab, strerror(-err));
		return;
	}
	/* Said once while the maps are full, not for every ban. */
	if (first)
		pr_warn("cannot ban %s yet: %s; it stays recorded and goes into the maps when "
			"they have room (bans waiting: \"unstored_bans\" in status)\n", ab,
			err == -ENOSPC ? "the ban map is full" : strerror(-err));
	else
		pr_debug("cannot ban %s yet: %s\n", ab, strerror(-err));
}

/* 0: stored, or no longer wanted (its row gone or ended); 1: not tried;
 * else the map's error. */
static int retry_one(struct xb_enforce *e, const struct xb_addr *a, int64_t now)
{
	struct xb_state_ban row;
	struct xb_ban_req req;
	int err = xb_state_ban_get(e->st, a, &row);

	if (err == -ENOENT || (!err && row.expires && row.expires <= now))
		return 0;       /* forgotten, or ended (the expiry path logs it) */
	if (err)
		return 1;
	req = (struct xb_ban_req){ .expires = xb_wall_to_mono(row.expires), .rule = row.rule,
				   .offence = row.offence, .flags = row.flags };
	err = xb_dp_ban(e->dp, a, &req);
	if (err == -EPERM) {
		enforce_forget(e, a, "on the allow list, not stored");
		return 0;
	}
	return err;
}

size_t xb_enforce_retry(struct xb_enforce *e, int64_t now, size_t max)
{
	struct xb_addr_set *u = &e->unstored;
	bool full[3] = { false };       /* exact IPv4, exact IPv6, prefixes */
	size_t stored = 0, tried = 0, w = 0, had = u->n;

	if (!e->dp || !u->n)
		return 0;
	xb_addr_set_sort(u);
	for (size_t i = 0; i < u->n; i++) {
		const struct xb_addr a = u->a[i];
		int kind = !xb_addr_is_single(&a) ? 2 : a.family == 4 ? 0 : 1;
		int r = full[kind] || tried >= max ? 1 : (tried++, retry_one(e, &a, now));

		if (r == -ENOSPC)
			full[kind] = true;      /* this map is still full: the rest wait */
		if (r)
			u->a[w++] = a;
		else
			stored++;
	}
	u->n = w;
	if (had && !u->n)
		pr_info("the bans that waited for room are in the maps now\n");
	else if (stored)
		pr_debug("%zu waiting bans stored, %zu still wait\n", stored, u->n);
	return stored;
}
