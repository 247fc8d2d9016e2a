// SPDX-License-Identifier: GPL-2.0
/* restore: the bans of the database back into the maps at start (enforce.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "pipeline/enforce.h"

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

/* Through the data plane, each ban with its own request. A refused or bad
 * entry is skipped; a full map ends its list (the others still load). */
static void restore_apply(struct xb_dp *dp, struct pending *q, struct xb_restore_stats *rs)
{
	char buf[XB_ADDRSTRLEN];
	size_t i = 0, done;

	while (i < q->n) {
		int err = xb_dp_ban_many(dp, q->a + i, q->r + i, q->n - i, &done);

		rs->inserted += done;
		i += done;
		if (!err)
			break;
		if (err == -ENOSPC) {
			rs->failed += q->n - i;
			pr_warn("restore: %zu bans not restored: the ban map is full\n", q->n - i);
			break;
		}
		rs->failed++;
		pr_warn("restore: %s: %s\n", xb_addr_fmt(&q->a[i], buf, sizeof(buf)),
			err == -EPERM ? "on the allow list, not restored" : strerror(-err));
		i++;
	}
}

int xb_enforce_restore(struct xb_dp *dp, struct xb_state *st, int64_t now,
		       struct xb_restore_stats *rs)
{
	struct restore_ctx r = { .rs = rs };
	int err;

	memset(rs, 0, sizeof(*rs));
	/* What the maps hold already (no duplicate, manual bans untouched). */
	err = xb_dp_foreach_ban(dp, set_add, &r.present);
	if (!err) {
		if (r.present.n)
			qsort(r.present.a, r.present.n, sizeof(*r.present.a), addr_cmp);
		err = xb_state_ban_foreach_active(st, now, restore_one, &r);
	}
	for (size_t k = 0; k < ARRAY_SIZE(r.q); k++) {
		if (!err)
			restore_apply(dp, &r.q[k], rs);
		free(r.q[k].a);
		free(r.q[k].r);
	}
	free(r.present.a);
	return err;
}
