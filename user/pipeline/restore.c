// SPDX-License-Identifier: GPL-2.0
/* restore: the bans of the database back into the maps at start; or, for a
 * database started afresh, the maps' bans into it (enforce.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "pipeline/enforce_int.h"

/* A ban found in the maps: its key and when the kernel will end it. */
struct present_ban {
	struct xb_addr a;
	uint64_t expires;
};

struct addr_set {
	struct present_ban *a;
	size_t n, cap;
};

static int addr_cmp(const void *x, const void *y)
{
	const struct xb_addr *a = x, *b = y;     /* first member of present_ban */

	if (a->family != b->family)
		return a->family - b->family;
	if (a->prefixlen != b->prefixlen)
		return a->prefixlen - b->prefixlen;
	return memcmp(a->bytes, b->bytes, 16);
}

static int set_add(const struct xb_addr *a, const struct xb_ban *b,
		   const struct xb_meta *m, void *ctx)
{
	struct addr_set *s = ctx;
	int err = xb_grow(&s->a, &s->cap, s->n, sizeof(*s->a), 4096);

	(void)m;
	if (err)
		return err;
	s->a[s->n].a = *a;
	s->a[s->n].a.pad[0] = s->a[s->n].a.pad[1] = 0;
	s->a[s->n++].expires = b->expires;
	return 0;
}

/* Bans to restore, one list per map kind so that long runs go batched. */
struct pending {
	struct xb_addr *a;
	struct xb_ban_req *r;
	size_t n, cap_a, cap_r;
};

struct restore_ctx {
	struct addr_set present;
	struct xb_restore_stats *rs;
	struct pending q[3];            /* IPv4, IPv6, prefixes */
};

static int pending_add(struct pending *q, const struct xb_addr *a, const struct xb_ban_req *r)
{
	int err = xb_grow(&q->a, &q->cap_a, q->n, sizeof(*q->a), 4096);

	if (!err)
		err = xb_grow(&q->r, &q->cap_r, q->n, sizeof(*q->r), 4096);
	if (err)
		return err;
	q->a[q->n] = *a;
	q->r[q->n++] = *r;
	return 0;
}

static int restore_one(const struct xb_state_ban *b, void *ctx)
{
	struct restore_ctx *r = ctx;
	struct xb_addr key = b->addr;
	/* The original expiry, moved from the wall clock to the monotonic clock. */
	struct xb_ban_req req = { .expires = xb_wall_to_mono(b->expires), .rule = b->rule,
				  .offence = b->offence, .flags = b->flags };
	const struct present_ban *p = NULL;

	r->rs->active++;
	key.pad[0] = key.pad[1] = 0;
	if (r->present.n)
		p = bsearch(&key, r->present.a, r->present.n, sizeof(*p), addr_cmp);
	if (p) {
		r->rs->present++;
		/* Kept as it is unless the kernel would end it earlier than
		 * recorded: a crash between recording a re-arm and updating
		 * the map leaves the shorter one there. A second of slack
		 * absorbs the rounding of the recorded (wall, whole-second) end. */
		if (!p->expires || (req.expires && p->expires + NSEC_PER_SEC >= req.expires))
			return 0;
		r->rs->rearmed++;
	}
	return pending_add(&r->q[!xb_addr_is_single(&key) ? 2 : key.family == 4 ? 0 : 1], &key, &req);
}

/* What did not fit waits in e->unstored: its row stays (not "lifted"). */
static void keep_rest(struct xb_enforce *e, const struct pending *q, size_t i,
		      struct xb_restore_stats *rs)
{
	size_t n = q->n - i;

	for (; i < q->n; i++)
		xb_addr_set_add(&e->unstored, &q->a[i]);
	rs->failed += n;
	rs->unstored += n;
	pr_warn("restore: %zu bans not restored: the ban map is full; they stay recorded "
		"and go in when it has room\n", n);
}

/* Through the data plane, each ban with its own request. An allow-listed
 * one is forgotten, another refused one waits; a full map ends its list
 * (the others still load). */
static void restore_apply(struct xb_enforce *e, struct pending *q, struct xb_restore_stats *rs)
{
	char buf[XB_ADDRSTRLEN];
	size_t i = 0, done;

	while (i < q->n) {
		int err = xb_dp_ban_many(e->dp, q->a + i, q->r + i, q->n - i, &done);

		rs->inserted += done;
		i += done;
		if (!err)
			break;
		if (err == -ENOSPC) {
			keep_rest(e, q, i, rs);
			break;
		}
		rs->failed++;
		if (err == -EPERM) {
			rs->allowed++;
			enforce_forget(e, &q->a[i], "on the allow list, not restored");
		} else {
			rs->unstored++;
			xb_addr_set_add(&e->unstored, &q->a[i]);
			pr_warn("restore: %s: %s\n", xb_addr_fmt(&q->a[i], buf, sizeof(buf)),
				strerror(-err));
		}
		i++;
	}
}

int xb_enforce_restore(struct xb_enforce *e, int64_t now, struct xb_restore_stats *rs)
{
	struct restore_ctx r = { .rs = rs };
	int err;

	memset(rs, 0, sizeof(*rs));
	/* What the maps hold already (no duplicate, manual bans untouched). */
	err = xb_dp_foreach_ban(e->dp, set_add, &r.present);
	if (!err) {
		if (r.present.n)
			qsort(r.present.a, r.present.n, sizeof(*r.present.a), addr_cmp);
		err = xb_state_ban_foreach_active(e->st, now, restore_one, &r);
	}
	for (size_t k = 0; k < ARRAY_SIZE(r.q); k++) {
		if (!err)
			restore_apply(e, &r.q[k], rs);
		free(r.q[k].a);
		free(r.q[k].r);
	}
	free(r.present.a);
	return err;
}

/* ---- the maps into a new database --------------------------------------- */

struct learn_ctx {
	struct addr_set bans;           /* the daemon's, unexpired */
	struct xb_ban *b;
	size_t cap_b;
	uint64_t mono;
};

static int learn_add(const struct xb_addr *a, const struct xb_ban *b,
		     const struct xb_meta *m, void *ctx)
{
	struct learn_ctx *l = ctx;
	size_t i = l->bans.n;
	int err;

	if (!(b->flags & XB_BAN_F_DAEMON) || (b->expires && b->expires <= l->mono))
		return 0;       /* manual bans are the operator's, not ours */
	if ((err = xb_grow(&l->b, &l->cap_b, i, sizeof(*l->b), 256)) ||
	    (err = set_add(a, b, m, &l->bans)))
		return err;
	l->b[i] = *b;
	return 0;
}

/* A ban of the maps as a row and, if none, an offence history: escalation
 * goes on from its offence number. */
static bool learn_one(struct xb_enforce *e, const struct xb_addr *a, const struct xb_ban *b,
		      int64_t now)
{
	struct xb_state_ban row = { .addr = *a, .rule = b->rule, .offence = b->offence,
				    .flags = b->flags, .created = now,
				    .expires = xb_mono_to_wall(b->expires) };
	struct xb_offence o = { .count = b->offence ? b->offence : 1, .first = now, .last = now,
				.until = row.expires ? row.expires : XB_UNTIL_FOREVER };
	struct xb_offence old;

	if (!xb_state_ban_get(e->st, a, &row))
		return false;   /* recorded already */
	snprintf(row.cmd, sizeof(row.cmd), "%s", XB_DROP_CMD);
	if (xb_state_ban_put(e->st, &row))
		return false;
	if (xb_state_offence_get(e->st, a, XB_DROP_CMD, &old) == -ENOENT)
		xb_state_offence_put(e->st, a, XB_DROP_CMD, &o);
	return true;
}

int xb_enforce_learn(struct xb_enforce *e, int64_t now, size_t *n)
{
	struct learn_ctx l = { .mono = xb_now_mono_ns() };
	int err = xb_dp_foreach_ban(e->dp, learn_add, &l);

	*n = 0;
	for (size_t i = 0; !err && i < l.bans.n; i++)
		*n += learn_one(e, &l.bans.a[i].a, &l.b[i], now);
	if (!err)
		xb_enforce_flush(e, 0, false);
	free(l.bans.a);
	free(l.b);
	return err;
}
