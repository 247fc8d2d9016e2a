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
#include "pipeline/enforce.h"

#define MAX_DECISIONS   4
#define RECONCILE_MAX   65536   /* bans checked against the maps at a sweep */

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

static const char *wall_fmt(int64_t t, char *buf, size_t len)
{
	struct tm tm;
	time_t tt = t;

	if (!t) {
		snprintf(buf, len, "never");
		return buf;
	}
	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* A recorded ban's length for the log: its end - its start. */
static const char *ban_len_fmt(const struct xb_state_ban *b, char *buf, unsigned len)
{
	return xb_fmt_duration(b->expires > b->created ? b->expires - b->created : 0, buf, len);
}

static void log_unban(const struct xb_state_ban *b, const char *why)
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
				log_unban(&w.b[i], why);
		}
	}
	free(w.b);
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
			wall_fmt(dec->expires, wb, sizeof(wb)), extra);
		dec->rearm ? e->n.rebans++ : e->n.bans++;
		return;
	}
	err = xb_dp_ban(e->dp, &dec->addr, &req);
	if (err) {
		e->n.errors++;
		pr_warn("cannot %s %s (rule %u offence %u): %s\n", verb, afmt(&dec->addr, ab),
			dec->rule, dec->offence, strerror(-err));
		if (!dec->rearm)
			xb_state_ban_del(e->st, &dec->addr);    /* the maps are the judge */
		return;
	}
	dec->rearm ? e->n.rebans++ : e->n.bans++;
	pr_info("%s %s rule %u offence %u timeout %s until %s%s\n", verb, afmt(&dec->addr, ab),
		dec->rule, dec->offence, ttl_fmt(dec->ttl, tb, sizeof(tb)),
		wall_fmt(dec->expires, wb, sizeof(wb)), extra);
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

struct reconcile_ctx {
	struct xb_enforce *e;
	int64_t now;
	struct ban_list gone;
	size_t checked;
};

static int reconcile_one(const struct xb_state_ban *b, void *ctx)
{
	struct reconcile_ctx *r = ctx;
	struct xb_ban v;

	if (++r->checked > RECONCILE_MAX)
		return -E2BIG;
	/* The recorded end is rounded up to the second: a ban the kernel has
	 * just ended is an expiry for the expiry path to log, not an unban. */
	if (b->expires && b->expires <= r->now + 1)
		return 0;
	if (xb_dp_lookup(r->e->dp, &b->addr, &v) != -ENOENT)
		return 0;
	return ban_list_add(&r->gone, b);
}

/* A ban that left the maps before its time was lifted on purpose (`xdpban
 * unban`/`flush` without telling us): forget it too, or a restart would
 * bring it back. Bounded: with more bans than RECONCILE_MAX only the control
 * socket's "unbanned" tells us. */
void xb_enforce_reconcile(struct xb_enforce *e, int64_t now)
{
	struct reconcile_ctx r = { .e = e, .now = now };
	int err = xb_state_ban_foreach_active(e->st, now, reconcile_one, &r);

	if (!err) {
		for (size_t i = 0; i < r.gone.n; i++) {
			/* The row was read without created: fetch it for the log line. */
			struct xb_state_ban full;

			if (xb_state_ban_get(e->st, &r.gone.b[i].addr, &full))
				continue;
			xb_state_ban_del(e->st, &full.addr);
			log_unban(&full, "lifted outside the daemon");
		}
	}
	free(r.gone.b);
}

/* ---- forgetting lifted bans --------------------------------------------- */

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
		log_unban(&b, why);
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
