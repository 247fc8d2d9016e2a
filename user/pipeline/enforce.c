// SPDX-License-Identifier: GPL-2.0
/* enforce: decisions -> the maps and the state database (see enforce.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "pipeline/enforce_int.h"

#define MAX_DECISIONS   4
#define FLUSH_AFTER     1024    /* changes a table written after an alert */

static const char *afmt(const struct xb_addr *a, char *buf)
{
	return xb_addr_fmt(a, buf, XB_ADDRSTRLEN);
}

static const char *ttl_fmt(uint64_t ttl, char *buf, unsigned len)
{
	if (ttl == XB_TIMEOUT_PERMANENT) {
		snprintf(buf, len, "permanent");
		return buf;
	}
	return xb_fmt_duration(ttl, buf, len);
}

/* A recorded ban's length for the log: its end - its start. */
static const char *ban_len_fmt(const struct xb_state_ban *b, char *buf, unsigned len)
{
	return xb_fmt_duration(b->expires > b->created ? b->expires - b->created : 0, buf, len);
}

void enforce_log_unban(const struct xb_state_ban *b, const char *why)
{
	char ab[XB_ADDRSTRLEN], tb[32];

	pr_info("unban %s rule %u offence %u timeout %s: %s\n", afmt(&b->addr, ab), b->rule,
		b->offence, b->expires ? ban_len_fmt(b, tb, sizeof(tb)) : "permanent", why);
}

/* ---- the clocks of a decision ------------------------------------------- */

int64_t xb_enforce_wall_ceil(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec + (ts.tv_nsec > 0);
}

void xb_enforce_ban_req(const struct xb_decision *dec, uint64_t mono_now, struct xb_ban_req *req)
{
	*req = (struct xb_ban_req){
		.expires = !dec->expires || dec->ttl == XB_TIMEOUT_PERMANENT ? 0 :
			   mono_now + dec->ttl * NSEC_PER_SEC,
		.rule = dec->rule,
		.offence = dec->offence > UINT16_MAX ? UINT16_MAX : dec->offence,
		.flags = XB_BAN_F_DAEMON | (dec->aggregate ? XB_BAN_F_AGGREGATE : 0),
	};
}

/* ---- decisions ---------------------------------------------------------- */

struct ban_list {
	struct xb_state_ban *b;
	size_t n, cap;
};

static int ban_list_add(struct ban_list *l, const struct xb_state_ban *b)
{
	int err = xb_grow(&l->b, &l->cap, l->n, sizeof(*l->b), 16);

	if (err)
		return err;
	l->b[l->n++] = *b;
	return 0;
}

static int within_add(const struct xb_state_ban *b, void *ctx)
{
	return ban_list_add(ctx, b);
}

/* The prefix ban covers its addresses: free their map slots, except those of
 * bans that outlast it (a repeat offender's 5400 s is not cut to the new
 * prefix's 600 s). expires: the prefix ban's end (wall s, 0 = permanent). */
static void unban_within(struct xb_enforce *e, const struct xb_addr *pfx, int64_t expires)
{
	struct ban_list w = { 0 };
	char pb[XB_ADDRSTRLEN], why[XB_ADDRSTRLEN + 32];

	snprintf(why, sizeof(why), "covered by the ban of %s", afmt(pfx, pb));
	if (xb_state_ban_foreach_within(e->st, pfx, within_add, &w) == 0) {
		for (size_t i = 0; i < w.n; i++) {
			if (expires && (!w.b[i].expires || w.b[i].expires > expires))
				continue;
			xb_state_ban_del(e->st, &w.b[i].addr);
			if (xb_dp_unban(e->dp, &w.b[i].addr) == 0)
				enforce_log_unban(&w.b[i], why);
		}
	}
	free(w.b);
}

static void log_ban(const struct xb_decision *dec, const char *verb, const char *extra)
{
	char ab[XB_ADDRSTRLEN], tb[32], wb[32];

	pr_info("%s %s rule %u offence %u timeout %s until %s%s\n", verb, afmt(&dec->addr, ab),
		dec->rule, dec->offence, ttl_fmt(dec->ttl, tb, sizeof(tb)),
		xb_fmt_wall(dec->expires, wb, sizeof(wb)), extra);
}

/* The maps refused dec (err): allow-listed is final, the rest waits. */
static void apply_failed(struct xb_enforce *e, const struct xb_decision *dec, int err)
{
	char ab[XB_ADDRSTRLEN];

	e->n.errors++;
	if (err != -EPERM && err != -EINVAL) {
		enforce_unstored(e, &dec->addr, err);
		return;
	}
	pr_warn("cannot %s %s (rule %u offence %u): %s\n", dec->rearm ? "re-ban" : "ban",
		afmt(&dec->addr, ab), dec->rule, dec->offence, strerror(-err));
	if (!dec->rearm)
		xb_state_ban_del(e->st, &dec->addr);    /* the maps are the judge */
}

/* The row of a single ban standing in for dec's prefix; false when the
 * address is already banned at least as long. */
static bool single_row(struct xb_enforce *e, const struct xb_decision *dec,
		       struct xb_decision *one)
{
	struct xb_state_ban old, row = { .rule = dec->rule, .flags = XB_BAN_F_DAEMON,
					 .offence = dec->offence > UINT16_MAX ? UINT16_MAX : dec->offence,
					 .created = xb_now_wall(), .expires = dec->expires };

	*one = *dec;
	one->addr = row.addr = dec->offender;
	one->aggregate = false;
	one->rearm = !xb_state_ban_get(e->st, &one->addr, &old) &&
		     (!old.expires || old.expires > row.created);
	if (one->rearm && (!old.expires || (dec->expires && old.expires >= dec->expires)))
		return false;
	if (one->rearm && old.offence > row.offence)
		one->offence = row.offence = old.offence;
	snprintf(row.cmd, sizeof(row.cmd), "%s", dec->ar->cmd ? dec->ar->cmd->name : dec->ar->command);
	xb_state_ban_put(e->st, &row);
	return true;
}

/* The prefix map is full: ban the latest offender alone, so that a full
 * prefix map never stops the bans of IPv6 attackers. */
static void apply_single(struct xb_enforce *e, const struct xb_decision *dec, uint64_t mono)
{
	char pb[XB_ADDRSTRLEN], extra[XB_ADDRSTRLEN + 48];
	struct xb_decision one;
	struct xb_ban_req req;
	int err;

	e->n.singled++;
	if (!dec->rearm)
		xb_state_ban_del(e->st, &dec->addr);    /* the prefix is not in the maps */
	if (!single_row(e, dec, &one))
		return;
	xb_enforce_ban_req(&one, mono, &req);
	err = xb_dp_ban(e->dp, &one.addr, &req);
	if (err) {
		apply_failed(e, &one, err);
		return;
	}
	xb_addr_set_del(&e->unstored, &one.addr);
	one.rearm ? e->n.rebans++ : e->n.bans++;
	snprintf(extra, sizeof(extra), " (alone: the prefix map is full for %s)",
		 afmt(&dec->addr, pb));
	log_ban(&one, one.rearm ? "re-ban" : "ban", extra);
}

void xb_enforce_apply(struct xb_enforce *e, const struct xb_decision *dec, uint64_t mono_now)
{
	char ab[XB_ADDRSTRLEN], ob[XB_ADDRSTRLEN], tb[32], wb[32], extra[96] = "";
	const char *verb = dec->rearm ? "re-ban" : "ban";
	struct xb_ban_req req;
	int err;

	xb_enforce_ban_req(dec, mono_now, &req);
	if (dec->aggregate)
		snprintf(extra, sizeof(extra), " (IPv6 prefix; latest offender %s)",
			 afmt(&dec->offender, ob));
	if (e->dry_run) {
		pr_info("dry-run: would %s %s rule %u offence %u timeout %s until %s%s\n", verb,
			afmt(&dec->addr, ab), dec->rule, dec->offence, ttl_fmt(dec->ttl, tb, sizeof(tb)),
			xb_fmt_wall(dec->expires, wb, sizeof(wb)), extra);
		dec->rearm ? e->n.rebans++ : e->n.bans++;
		return;
	}
	err = xb_dp_ban(e->dp, &dec->addr, &req);
	if (err == -ENOSPC && dec->aggregate) {
		apply_single(e, dec, mono_now);
		return;
	}
	if (err) {
		apply_failed(e, dec, err);
		return;
	}
	xb_addr_set_del(&e->unstored, &dec->addr);
	dec->rearm ? e->n.rebans++ : e->n.bans++;
	log_ban(dec, verb, extra);
	if (dec->aggregate && !dec->rearm)
		unban_within(e, &dec->addr, dec->expires);
}

void xb_enforce_alert(struct xb_enforce *e, const struct xb_alert *al)
{
	struct xb_decision dec[MAX_DECISIONS];
	char why[256];
	/* Both clocks at decision time: a 20 s ban lasts at least 20 s. */
	uint64_t mono = xb_now_mono_ns();
	int n;

	n = xb_policy_alert(e->pol, al, xb_enforce_wall_ceil(), dec, MAX_DECISIONS, why, sizeof(why));
	if (n < 0) {
		e->n.errors++;
		pr_warn("rule %u: cannot record the offence: %s\n", al->rule, strerror(-n));
		return;
	}
	if (n == 0 && *why) {
		if (strstr(why, "no active-response") || strstr(why, "no source address")) {
			pr_debug("%s\n", why);
		} else {
			e->n.refused++;
			pr_info("not banning: %s (rule %u)\n", why, al->rule);
		}
	}
	for (int i = 0; i < n; i++)
		xb_enforce_apply(e, &dec[i], mono);
	/* The ban is in the maps before any script starts: a failing one
	 * cannot stop it. */
	xb_enforce_respond(e, al, dec, n > 0 ? n : 0);
	/* The maps first, the disk after: the kernel enforces the end. */
	if (n > 0)
		xb_enforce_flush(e, FLUSH_AFTER, false);
}

void xb_enforce_flush(struct xb_enforce *e, size_t max, bool force)
{
	/* A failing database is tried again by the timer, not at every alert. */
	if (force || xb_state_ok(e->st))
		xb_state_flush(e->st, max);
}

void xb_enforce_free(struct xb_enforce *e)
{
	xb_addr_set_free(&e->unstored);
	xb_addr_set_free(&e->rec.maps);
	xb_addr_set_free(&e->rec.maybe);
}

/* ---- the database against the maps -------------------------------------- */

static int on_expired(const struct xb_state_ban *b, void *ctx)
{
	struct xb_enforce *e = ctx;
	char ab[XB_ADDRSTRLEN], tb[32];

	e->n.expired++;
	pr_info("%sexpire %s rule %u offence %u timeout %s\n", e->dry_run ? "dry-run: " : "",
		afmt(&b->addr, ab), b->rule, b->offence, ban_len_fmt(b, tb, sizeof(tb)));
	return 0;
}

void xb_enforce_reap(struct xb_enforce *e, int64_t now)
{
	/* The kernel already stopped dropping; here the record catches up. */
	if (xb_state_ban_reap(e->st, now, on_expired, e))
		e->n.errors++;
}

/* ---- forgetting lifted bans --------------------------------------------- */

void enforce_forget(struct xb_enforce *e, const struct xb_addr *a, const char *why)
{
	struct xb_state_ban full;

	/* The caller's row may lack created: fetch it for the log line. */
	if (xb_state_ban_get(e->st, a, &full) || xb_state_ban_del(e->st, a))
		return;
	xb_addr_set_del(&e->unstored, a);
	enforce_log_unban(&full, why);
}

int xb_enforce_forget(struct xb_state *st, const struct xb_addr *a, const char *why, size_t *n)
{
	struct xb_state_ban b;
	size_t cleared = 0;
	int ret;

	if (!a) {
		ret = xb_state_ban_clear(st, &cleared);
		if (!ret && why)
			pr_info("unban: %zu bans %s\n", cleared, why);
		if (n)
			*n = cleared;
		return ret;
	}
	ret = xb_state_ban_get(st, a, &b);
	if (!ret)
		ret = xb_state_ban_del(st, a);
	if (!ret && why)
		enforce_log_unban(&b, why);
	return ret;
}

int xb_enforce_forget_stored(const char *state_dir, const struct xb_addr *a,
			     char *path, size_t len)
{
	struct xb_state *st = NULL;
	int ret;

	snprintf(path, len, "%s/%s", state_dir, XB_STATE_DB);
	if (access(path, F_OK))
		return 0;       /* no database: nothing to forget */
	ret = xb_state_open(state_dir, &st);
	if (!ret)
		ret = xb_enforce_forget(st, a, NULL, NULL);
	xb_state_close(st);
	return ret;
}
