// SPDX-License-Identifier: GPL-2.0
/*
 * reconcile: the recorded bans against the maps, to forget those lifted
 * outside the daemon (enforce.h). Linear: the prefix bans in the maps are
 * read in one walk (looking each up alone walks the whole trie), the exact
 * ones are looked up directly; the database is read in address order, a
 * slice at a time, so that a pass over any number of bans never holds the
 * daemon's loop for long.
 */
#include <errno.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "pipeline/enforce_int.h"

#define SLICE 256               /* rows of the database a slice reads */
#define LIFTED "lifted outside the daemon"

static int add_prefix(const struct xb_addr *a, const struct xb_ban *b,
		      const struct xb_meta *m, void *ctx)
{
	(void)b;
	(void)m;
	return xb_addr_is_single(a) ? 0 : xb_addr_set_add(ctx, a);
}

/* The prefix bans in the maps now, sorted. A walk that fails (no memory)
 * says nothing: then nothing is forgotten. */
static int snapshot(struct xb_enforce *e, struct xb_addr_set *s)
{
	int err;

	xb_addr_set_free(s);
	err = xb_dp_foreach_ban(e->dp, add_prefix, s);
	if (err) {
		xb_addr_set_free(s);
		return err;
	}
	xb_addr_set_sort(s);
	return 0;
}

void xb_enforce_reconcile(struct xb_enforce *e, int64_t now)
{
	struct xb_reconcile *r = &e->rec;
	int err;

	(void)now;
	if (!e->dp || r->running)
		return;
	xb_addr_set_free(&r->maybe);
	r->checked = r->lifted = 0;
	r->slices = 0;
	r->begun = false;
	r->started_ns = xb_now_mono_ns();
	if ((err = snapshot(e, &r->maps))) {
		pr_warn("reconcile: cannot read the maps (%s): nothing is forgotten\n", strerror(-err));
		return;
	}
	r->work_ns = xb_now_mono_ns() - r->started_ns;
	r->running = true;
	pr_debug("reconcile: a pass begins (%zu prefix bans in the maps, read in %.1f ms)\n",
		 r->maps.n, r->work_ns / 1e6);
}

struct slice {
	struct xb_enforce *e;
	int64_t now;
	struct xb_addr_set gone;        /* exact bans the maps lack */
};

static int check_row(const struct xb_state_ban *b, void *ctx)
{
	struct slice *sl = ctx;
	struct xb_enforce *e = sl->e;
	struct xb_ban v;

	e->rec.checked++;
	/* The recorded end is rounded up to the second: a ban the kernel has
	 * just ended is an expiry for the expiry path to log, not an unban. */
	if (b->expires && b->expires <= sl->now + 1)
		return 0;
	if (xb_addr_set_has(&e->unstored, &b->addr))
		return 0;       /* never stored: not lifted */
	if (!xb_addr_is_single(&b->addr))
		return xb_addr_set_has(&e->rec.maps, &b->addr) ? 0 :
		       xb_addr_set_add(&e->rec.maybe, &b->addr);
	/* Only a sure miss counts: any other error keeps the row. */
	if (xb_dp_lookup(e->dp, &b->addr, &v) != -ENOENT)
		return 0;
	return xb_addr_set_add(&sl->gone, &b->addr);
}

/* A prefix missing at the start may have been banned since (the maps are
 * written before the database): only one still missing was lifted. */
static void finish(struct xb_enforce *e)
{
	struct xb_reconcile *r = &e->rec;
	struct xb_addr_set now = { 0 };

	if (r->maybe.n && !snapshot(e, &now)) {
		for (size_t i = 0; i < r->maybe.n; i++)
			if (!xb_addr_set_has(&now, &r->maybe.a[i])) {
				enforce_forget(e, &r->maybe.a[i], LIFTED);
				r->lifted++;
			}
	}
	xb_addr_set_free(&now);
	xb_addr_set_free(&r->maps);
	xb_addr_set_free(&r->maybe);
	r->running = false;
	r->passes++;
	r->last_ms = r->work_ns / 1000000;
	pr_debug("reconcile: %zu bans checked, %zu lifted outside the daemon: %.1f ms of work "
		 "in %u slices over %.1f s\n", r->checked, r->lifted, r->work_ns / 1e6, r->slices,
		 (xb_now_mono_ns() - r->started_ns) / 1e9);
}

/* One slice: at most SLICE rows; *n says how many there were. */
static int one_slice(struct xb_enforce *e, int64_t now, size_t *n)
{
	struct xb_reconcile *r = &e->rec;
	struct slice sl = { .e = e, .now = now };
	struct xb_addr last;
	int err;

	err = xb_state_ban_scan(e->st, r->begun ? &r->after : NULL, now, SLICE, check_row, &sl,
				&last, n);
	for (size_t i = 0; !err && i < sl.gone.n; i++) {
		enforce_forget(e, &sl.gone.a[i], LIFTED);
		r->lifted++;
	}
	xb_addr_set_free(&sl.gone);
	if (!err && *n) {
		r->after = last;
		r->begun = true;
	}
	r->slices++;
	return err;
}

bool xb_enforce_reconcile_step(struct xb_enforce *e, int64_t now, uint64_t budget_ns)
{
	struct xb_reconcile *r = &e->rec;
	uint64_t t0 = xb_now_mono_ns();
	size_t n = 0;
	int err;

	if (!r->running)
		return false;
	do {
		err = one_slice(e, now, &n);
	} while (!err && n == SLICE && xb_now_mono_ns() - t0 < budget_ns);
	r->work_ns += xb_now_mono_ns() - t0;
	if (err) {
		pr_warn("reconcile: %s: stopped, nothing more is forgotten\n", strerror(-err));
		xb_addr_set_free(&r->maps);
		xb_addr_set_free(&r->maybe);
		r->running = false;
		return false;
	}
	if (n == SLICE)
		return true;
	finish(e);
	return false;
}
