// SPDX-License-Identifier: GPL-2.0
/* fleet (pipeline): reports out, decisions in, the manager's decisions
 * (see pipeline/fleet.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/util.h"
#include "pipeline/fleet.h"
#include "policy/policy.h"
#include "xdpban.h"

#define RESEND_NS       (5 * NSEC_PER_SEC)      /* unacked this long: send again */
#define SEND_BATCH      64
#define MAX_TARGETS     64
#define MAX_CMDS        16      /* commands decided for one report */

/* What a fleet decision applies with: the XDP ban. */
static const struct xb_command drop_cmd = {
	.name = XB_DROP_CMD, .executable = XB_DROP_CMD, .timeout_allowed = true,
	.builtin_drop = true, .kind = XB_CMD_DROP,
};
static const struct xb_ar fleet_ar = {
	.command = XB_DROP_CMD, .cmd = &drop_cmd, .level = -1,
};

static const char *afmt(const struct xb_addr *a, char *b)
{
	return xb_addr_fmt(a, b, XB_ADDRSTRLEN);
}

static void fail(struct xb_fleet_run *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void fail(struct xb_fleet_run *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->last_error, sizeof(r->last_error), fmt, ap);
	va_end(ap);
	r->last_error_at = xb_now_wall();
	r->n.errors++;
	pr_warn("fleet: %s\n", r->last_error);
}

/* ---- the outbox ------------------------------------------------------------ */

static void refresh_depth(struct xb_fleet_run *r)
{
	int64_t d = xb_fleet_outbox_depth(r->store);

	if (d >= 0)
		r->outbox = d;
	d = d > 0 ? xb_fleet_outbox_oldest(r->store) : 0;
	if (d >= 0)
		r->oldest = d;
}

/* How many of rows (n) go in one message: consecutive reports of this
 * host, up to report_pack; anything else alone. */
static size_t pack_len(const struct xb_fleet_run *r, const struct xb_fleet_out *rows, size_t n)
{
	size_t k = 1;

	if (rows[0].op != XB_FLEET_PUT || strncmp(rows[0].subject, XB_FLEET_REPORTS ".",
						  strlen(XB_FLEET_REPORTS ".")))
		return 1;
	while (k < n && k < r->conf->fleet.report_pack && rows[k].op == XB_FLEET_PUT &&
	       !strcmp(rows[k].subject, rows[0].subject))
		k++;
	return k;
}

/* Send what is not in flight yet, oldest first. */
static void pump(struct xb_fleet_run *r)
{
	struct xb_fleet_out *rows;
	int n;

	if (!r->up || !xb_fleet_connected(r->cli))
		return;
	rows = malloc(SEND_BATCH * sizeof(*rows));
	if (!rows)
		return;
	for (int round = 0; round < 8; round++) {
		n = xb_fleet_outbox_next(r->store, r->sent_upto, rows, SEND_BATCH);
		for (int i = 0, k; i < n; i += k) {
			k = (int)pack_len(r, &rows[i], (size_t)(n - i));
			if (xb_fleet_send(r->cli, &rows[i], (size_t)k))
				goto out;       /* the broker went away: sent again on return */
			r->sent_upto = rows[i + k - 1].seq;
			r->n.sent += (uint64_t)k;
			r->inflight += k;
		}
		if (n > 0)
			r->progress_ns = xb_now_mono_ns();
		if (n < SEND_BATCH)
			break;
	}
out:
	free(rows);
}

static int queue(struct xb_fleet_run *r, const char *subject, const char *id, const char *data)
{
	int64_t seq;
	int err = xb_fleet_outbox_add(r->store, subject, id, XB_FLEET_PUT, data,
				      r->conf->fleet.outbox_max,
				      &seq);

	if (!err)
		r->outbox++;
	return err;
}

/* ---- every host: reports ----------------------------------------------------- */

/* Does any response bind the alert (fleet_only: one the manager decides)? */
static bool binding_any(const struct xb_config *c, const struct xb_alert *al, bool fleet_only)
{
	for (size_t i = 0; i < c->n_ars; i++) {
		const struct xb_ar *ar = &c->ars[i];

		if (ar->cmd && (!fleet_only || ar->location != XB_LOC_LOCAL) &&
		    xb_ar_binds(ar, al->rule, al->level, al->groups ? al->groups : ""))
			return true;
	}
	return false;
}

/* The name a response travels under: the drop's one, whatever it is called
 * here, so that its keys stay the same. */
static const char *fleet_cmd_name(const struct xb_ar *ar)
{
	return ar->cmd->builtin_drop ? XB_DROP_CMD : ar->command;
}

static int report(struct xb_fleet_run *r, struct xb_fleet_report *rep)
{
	char subj[XB_FLEET_KEY_MAX], data[XB_FLEET_MSG_MAX];
	int64_t seq;
	int err;

	/* The sequence and the row in one commit: an id is never reused. */
	if ((err = xb_fleet_store_begin(r->store)))
		return err;
	if ((err = xb_fleet_next_seq(r->store, &seq)))
		goto fail;
	snprintf(rep->agent, sizeof(rep->agent), "%s", r->conf->fleet.agent_id);
	snprintf(rep->id, sizeof(rep->id), "%s-%" PRId64, rep->agent, seq);
	snprintf(subj, sizeof(subj), XB_FLEET_REPORTS ".%s", rep->agent);
	if ((err = xb_fleet_report_encode(rep, data, sizeof(data))) < 0 ||
	    (err = queue(r, subj, rep->id, data)) || (err = xb_fleet_store_commit(r->store)))
		goto fail;
	return 0;
fail:
	xb_fleet_store_rollback(r->store);
	refresh_depth(r);
	return err;
}

void xb_fleet_run_alert(struct xb_fleet_run *r, const struct xb_alert *al)
{
	struct xb_fleet_report rep = { .kind = XB_FLEET_ALERT };
	char why[256], ab[XB_ADDRSTRLEN];
	int err;

	if (!r->cli || al->level == 0 || al->noalert || !al->ev || !al->ev->has_src ||
	    (al->frequency > 1 && !al->same_source_ip) || !binding_any(r->conf, al, false))
		return;
	/* Protected here (allow list, this host): nobody bans it on our word. */
	if (xb_policy_is_protected(r->conf, r->host, &al->ev->src, why, sizeof(why)))
		return;
	rep.ts = al->ev->ts_usec > 0 ? al->ev->ts_usec / 1000000 : xb_now_wall();
	rep.addr = al->ev->src;
	snprintf(rep.cmd, sizeof(rep.cmd), "%s", XB_DROP_CMD);
	rep.rule = al->rule;
	rep.level = al->level;
	snprintf(rep.groups, sizeof(rep.groups), "%s", al->groups ? al->groups : "");
	err = report(r, &rep);
	if (err == -ENOSPC) {
		/* Local bans go on; status says reports are being lost. */
		if (!r->n.reports_dropped++)
			fail(r, "outbox full (%" PRIu64 " reports): reports are dropped",
			     r->conf->fleet.outbox_max);
		return;
	}
	if (err) {
		fail(r, "cannot queue the report of %s: %s", afmt(&rep.addr, ab), strerror(-err));
		return;
	}
	r->n.reports++;
	pr_info("fleet: report %s rule %u from %s\n", afmt(&rep.addr, ab), rep.rule, rep.agent);
	/* Packing: while a message is in flight, what follows waits for its
	 * ack (the turn that brings it sends them together). */
	if (r->conf->fleet.report_pack == 1 || !r->inflight)
		pump(r);
}

/* This host's own addresses, for the manager's protection. */
static void hello(struct xb_fleet_run *r)
{
	struct xb_fleet_report rep = { .kind = XB_FLEET_HELLO, .ts = xb_now_wall() };

	for (size_t i = 0; r->host && i < xb_hostaddr_count(r->host) &&
	     rep.n_own < XB_FLEET_HELLO_ADDRS; i++) {
		const struct xb_addr *a = xb_hostaddr_get(r->host, i);

		if (!xb_addr_is_loopback(a))
			rep.own[rep.n_own++] = *a;
	}
	if (report(r, &rep))
		fail(r, "cannot queue the hello");
}

/* ---- every host: decisions --------------------------------------------------- */

static bool protected_here(struct xb_fleet_run *r, const struct xb_addr *a, char *why, size_t len)
{
	return xb_policy_is_protected(r->conf, r->host, a, why, len);
}

/* Ban a until end (wall s, 0: never) in the maps and the state, as the
 * local path does, the map's expiry computed from the wall end itself. */
static void ban(struct xb_fleet_run *r, const struct xb_fleet_decision *d, int64_t end)
{
	struct xb_enforce *e = r->enf;
	int64_t now = xb_now_wall();
	struct xb_decision dec = {
		.addr = d->addr, .offender = d->addr, .ar = &fleet_ar, .rule = d->rule,
		.offence = d->offence, .expires = end,
		.ttl = end ? (uint64_t)(end > now ? end - now : 1) : XB_TIMEOUT_PERMANENT,
	};
	struct xb_state_ban old, row = {
		.addr = d->addr, .rule = d->rule, .flags = XB_BAN_F_DAEMON,
		.offence = d->offence > UINT16_MAX ? UINT16_MAX : d->offence,
		.created = now, .expires = end,
	};
	uint64_t mono = xb_now_mono_ns();
	char why[256], ab[XB_ADDRSTRLEN];

	if (protected_here(r, &d->addr, why, sizeof(why))) {
		pr_info("fleet: not banning %s from %s: %s\n", afmt(&d->addr, ab), d->by, why);
		return;
	}
	if (!xb_state_ban_get(e->st, &d->addr, &old) && (old.expires == 0 || old.expires > now)) {
		if (old.expires == 0 || (end && old.expires >= end))
			return;         /* banned here at least as long already */
		dec.rearm = true;
		if (old.offence > row.offence)
			row.offence = old.offence;
	}
	snprintf(row.cmd, sizeof(row.cmd), "%s", XB_DROP_CMD);
	if (xb_state_ban_put(e->st, &row))
		r->n.errors++;
	/* mono such that mono + ttl is the wall end on the monotonic clock. */
	if (end && dec.ttl * NSEC_PER_SEC < xb_wall_to_mono(end))
		mono = xb_wall_to_mono(end) - dec.ttl * NSEC_PER_SEC;
	xb_enforce_apply(e, &dec, mono);
	dec.rearm ? r->n.extended++ : r->n.applied++;
	/* The record is written at the next tick (the KV has it meanwhile). */
}

static void lift(struct xb_fleet_run *r, const struct xb_fleet_decision *d)
{
	struct xb_enforce *e = r->enf;
	struct xb_state_ban old;
	char ab[XB_ADDRSTRLEN];

	/* Only a ban of ours: one this host made longer itself stays. */
	if (xb_state_ban_get(e->st, &d->addr, &old) ||
	    (old.expires && d->end && (old.expires > d->end + 1 || old.expires < d->end - 1)) ||
	    (!old.expires) != (!d->end))
		return;
	if (e->dp)
		xb_dp_unban(e->dp, &d->addr);
	xb_state_ban_del(e->st, &d->addr);
	r->n.lifted++;
	pr_info("unban %s rule %u offence %u: lifted by the fleet\n", afmt(&d->addr, ab), d->rule,
		d->offence);
}

/* A decision for another command than the drop: this host runs it as its
 * own config defines it (a manager can only ask for what the agent has),
 * through the executor, which lifts it at the decision's end. */
static const struct xb_command *cmd_here(struct xb_fleet_run *r, const struct xb_fleet_decision *d)
{
	const struct xb_command *cmd = xb_config_command(r->conf, d->cmd);
	char ab[XB_ADDRSTRLEN];

	if (!cmd || cmd->kind == XB_CMD_DISABLE_ACCOUNT || !r->enf->resp) {
		fail(r, "decision %s for %s: %s", d->cmd, afmt(&d->addr, ab),
		     !cmd ? "no such command here" : !r->enf->resp ? "responses are off here" :
		     "an account is the host's own: never from the fleet");
		return NULL;
	}
	return cmd;
}

static void run_cmd(struct xb_fleet_run *r, const struct xb_fleet_decision *d, int64_t end)
{
	const struct xb_command *cmd;
	int64_t now = xb_now_wall();
	char why[256], ab[XB_ADDRSTRLEN], action[64];
	struct xb_resp_req q = {
		.addr = d->addr, .user = "", .rule = d->rule, .offence = d->offence,
		.description = "a fleet decision", .groups = "", .action = action,
		.ttl = end ? (uint64_t)(end > now ? end - now : 1) : XB_TIMEOUT_PERMANENT,
	};

	if (protected_here(r, &d->addr, why, sizeof(why))) {
		pr_info("fleet: not running %s for %s from %s: %s\n", d->cmd, afmt(&d->addr, ab),
			d->by, why);
		return;
	}
	if (!(cmd = cmd_here(r, d)))
		return;
	if (cmd->builtin_drop) {
		ban(r, d, end);
		return;
	}
	snprintf(action, sizeof(action), "decided by the fleet (offence %u)", d->offence);
	q.cmd = cmd;
	pr_info("fleet: run %s for %s (offence %u, from %s)\n", d->cmd, afmt(&d->addr, ab),
		d->offence, d->by);
	xb_resp_fire(r->enf->resp, &q, now);
	r->n.applied++;
}

static void apply(struct xb_fleet_run *r, const struct xb_fleet_decision *d, int64_t end)
{
	if (!strcmp(d->cmd, XB_DROP_CMD))
		ban(r, d, end);
	else
		run_cmd(r, d, end);
}

static void withdraw(struct xb_fleet_run *r, const struct xb_fleet_decision *d)
{
	const struct xb_command *cmd;

	if (!strcmp(d->cmd, XB_DROP_CMD)) {
		lift(r, d);
		return;
	}
	if ((cmd = cmd_here(r, d))) {
		xb_resp_lift(r->enf->resp, cmd->name, &d->addr);
		r->n.lifted++;
	}
}

/* The key is the decision's own (TARGET.ADDR.CMD), for this host or all. */
static bool key_matches(const struct xb_fleet_run *r, const char *key,
			const struct xb_fleet_decision *d)
{
	char want[XB_FLEET_KEY_MAX];

	return (!strcmp(d->target, r->conf->fleet.agent_id) || !strcmp(d->target, XB_FLEET_ALL)) &&
	       !xb_fleet_key(d->target, &d->addr, d->cmd, want, sizeof(want)) && !strcmp(want, key);
}

static void on_decision(struct xb_fleet_run *r, const struct xb_fleet_ev *ev)
{
	struct xb_fleet_decision d, gone;
	enum xb_fleet_act act;
	int64_t now = xb_now_wall(), end = 0;
	char ab[XB_ADDRSTRLEN], eb[32];
	const struct xb_fleet_held *h;

	r->n.decisions++;
	if (ev->del) {
		if (xb_fleet_table_del(&r->held, ev->key, now, &gone, &end, &act))
			return;         /* not held here: nothing to lift */
		xb_fleet_held_del(r->store, ev->key);
		if (gone.end && gone.end <= now)
			return;         /* the purge of an ended one: the kernel lifted it */
		if (act == XB_FLEET_LIFT)
			withdraw(r, &gone);
		else if (act == XB_FLEET_APPLY)
			apply(r, &gone, end);
		return;
	}
	if (xb_fleet_decision_decode(ev->data, ev->len, &d) || !key_matches(r, ev->key, &d)) {
		fail(r, "decision %s: not a decision for this host", ev->key);
		return;
	}
	act = xb_fleet_table_put(&r->held, ev->key, &d, now, &end);
	if (d.end && d.end <= now) {
		r->n.stale++;
		return;         /* ended before it reached us: never applied */
	}
	if ((h = xb_fleet_table_get(&r->held, ev->key)))
		xb_fleet_held_put(r->store, h);
	if (act != XB_FLEET_APPLY)
		return;         /* a replay, or held as long already */
	pr_info("fleet: decision %s%s%s until %s (offence %u, from %s, for %s)\n",
		strcmp(d.cmd, XB_DROP_CMD) ? d.cmd : "", strcmp(d.cmd, XB_DROP_CMD) ? " " : "",
		afmt(&d.addr, ab), xb_fmt_wall(end, eb, sizeof(eb)), d.offence, d.by, d.target);
	apply(r, &d, end);
}

/* ---- the manager ---------------------------------------------------------------- */

/* Which hosts a block bans: their ids, or "all". */
static size_t targets(const struct xb_fleet_run *r, const struct xb_ar *ar,
		      char out[][XB_AGENT_ID_MAX + 1], size_t max)
{
	size_t n = 0;
	char buf[512], *save = NULL;

	switch (ar->location) {
	case XB_LOC_SERVER:
		snprintf(out[n++], XB_AGENT_ID_MAX + 1, "%s", r->conf->fleet.agent_id);
		break;
	case XB_LOC_ALL:
		snprintf(out[n++], XB_AGENT_ID_MAX + 1, "%s", XB_FLEET_ALL);
		break;
	case XB_LOC_DEFINED_AGENT:
		snprintf(buf, sizeof(buf), "%s", ar->agent_id ? ar->agent_id : "");
		for (char *t = strtok_r(buf, ",", &save); t && n < max; t = strtok_r(NULL, ",", &save)) {
			while (*t == ' ' || *t == '\t')
				t++;
			for (char *e = t + strlen(t); e > t && (e[-1] == ' ' || e[-1] == '\t'); )
				*--e = 0;
			if (xb_agent_id_ok(t, strlen(t)))
				snprintf(out[n++], XB_AGENT_ID_MAX + 1, "%s", t);
		}
		break;
	case XB_LOC_LOCAL:
		break;
	}
	return n;
}

/* Allow list and the manager's own, every fleet host's own, the brokers. */
static bool protected_fleet(struct xb_fleet_run *r, const struct xb_addr *a, char *why, size_t len)
{
	struct xb_addr brokers[XB_FLEET_URLS_MAX];
	char who[128], ab[XB_ADDRSTRLEN];
	size_t nb;

	if (protected_here(r, a, why, len))
		return true;
	if (xb_fleet_agent_owns(r->store, a, who, sizeof(who)) > 0) {
		snprintf(why, len, "%s is (or contains) the address of fleet host %s", afmt(a, ab), who);
		return true;
	}
	nb = xb_fleet_broker_addrs(&r->conf->fleet, brokers, XB_FLEET_URLS_MAX);
	for (size_t i = 0; i < nb; i++)
		if (xb_addr_contains(a, &brokers[i])) {
			snprintf(why, len, "%s is (or contains) a broker's address", afmt(a, ab));
			return true;
		}
	return false;
}

/* Queue the decisions for every target (in the caller's transaction);
 * the manager remembers each key's end, to purge it then. */
static int publish(struct xb_fleet_run *r, struct xb_fleet_decision *d,
		   char tg[][XB_AGENT_ID_MAX + 1], size_t nt, bool del)
{
	char key[XB_FLEET_KEY_MAX], subj[XB_FLEET_KEY_MAX + 32], id[XB_AGENT_ID_MAX + 24];
	char data[XB_FLEET_MSG_MAX] = "";
	int64_t seq;
	int err = 0;

	for (size_t i = 0; i < nt && !err; i++) {
		snprintf(d->target, sizeof(d->target), "%s", tg[i]);
		if ((err = xb_fleet_key(tg[i], &d->addr, d->cmd, key, sizeof(key))) ||
		    (err = xb_fleet_next_seq(r->store, &seq)))
			break;
		snprintf(subj, sizeof(subj), "$KV." XB_FLEET_BUCKET ".%s", key);
		snprintf(id, sizeof(id), "d-%s-%" PRId64, r->conf->fleet.agent_id, seq);
		if (!del && (err = xb_fleet_decision_encode(d, data, sizeof(data))) < 0)
			break;
		/* Decisions are never dropped for room: the bound is for reports. */
		err = xb_fleet_outbox_add(r->store, subj, id, del ? XB_FLEET_DEL : XB_FLEET_PUT, data,
					  SIZE_MAX, &seq);
		if (!err)
			err = del ? xb_fleet_issued_del(r->store, key, true) :
				    xb_fleet_issued_put(r->store, key, d->end);
		if (!err)
			r->outbox++;
	}
	return err < 0 ? err : 0;
}

static void targets_text(char tg[][XB_AGENT_ID_MAX + 1], size_t nt, char *buf, size_t len)
{
	*buf = 0;
	for (size_t i = 0; i < nt; i++) {
		size_t l = strlen(buf);

		snprintf(buf + l, len - l, "%s%s", i ? "," : "", tg[i]);
	}
}

/* One response for one alert report: its history (per address and
 * command), grace, escalation, decisions. */
static int decide_one(struct xb_fleet_run *r, const struct xb_fleet_report *rep,
		      const struct xb_ar *ar, int64_t now)
{
	char tg[MAX_TARGETS][XB_AGENT_ID_MAX + 1], tt[512], ab[XB_ADDRSTRLEN], eb[32];
	struct xb_fleet_decision d = { .addr = rep->addr, .rule = rep->rule, .issued = now };
	const char *cmd = fleet_cmd_name(ar);
	struct xb_fleet_hist h = { 0 };
	size_t nt;
	bool counted;
	int err;

	err = xb_fleet_hist_get(r->store, &rep->addr, cmd, &h);
	if (err && err != -ENOENT)
		return err;
	counted = xb_fleet_hist_step(&h, rep->ts, now, r->conf->fleet.grace,
				     r->conf->offender_memory);
	if (counted) {
		uint64_t ttl = xb_escalate(ar, h.count, 0);
		int64_t end = ttl == XB_TIMEOUT_PERMANENT ? 0 : now + (int64_t)ttl;

		/* Never shorten a fleet decision in force. */
		if (h.until == XB_FLEET_FOREVER)
			end = 0;
		else if (end && h.until > end)
			end = h.until;
		h.until = end ? end : XB_FLEET_FOREVER;
		r->n.decided++;
	} else {
		r->n.folded++;
	}
	d.end = h.until == XB_FLEET_FOREVER ? 0 : h.until;
	d.offence = h.count;
	snprintf(d.cmd, sizeof(d.cmd), "%s", cmd);
	snprintf(d.by, sizeof(d.by), "%s", rep->agent);
	nt = targets(r, ar, tg, MAX_TARGETS);
	if ((err = xb_fleet_hist_put(r->store, &rep->addr, cmd, &h)) ||
	    (err = publish(r, &d, tg, nt, false)))
		return err;
	targets_text(tg, nt, tt, sizeof(tt));
	/* The drop's line stays as it was: "decide ADDR ..." (others name theirs). */
	pr_info("fleet: %s %s%s%s offence %u until %s for %s (%s, rule %u, report %s)\n",
		counted ? "decide" : "same attack:", ar->cmd->builtin_drop ? "" : cmd,
		ar->cmd->builtin_drop ? "" : " ", afmt(&rep->addr, ab), d.offence,
		xb_fmt_wall(d.end, eb, sizeof(eb)), tt, xb_location_name(ar->location), rep->rule,
		rep->id);
	return 0;
}

/* One alert report: each response the manager's config binds to it, but
 * for local ones (the agent's business), decided once per command. */
static int decide(struct xb_fleet_run *r, const struct xb_fleet_report *rep, int64_t now)
{
	struct xb_alert al = { .rule = rep->rule, .level = rep->level, .groups = rep->groups };
	const char *done[MAX_CMDS];
	char why[256], ab[XB_ADDRSTRLEN];
	size_t n_done = 0;
	int err = 0;

	if (!binding_any(r->conf, &al, true)) {
		pr_info("fleet: %s reports %s (rule %u): decided there\n", rep->agent,
			afmt(&rep->addr, ab), rep->rule);
		return 0;
	}
	if (protected_fleet(r, &rep->addr, why, sizeof(why))) {
		r->n.refused++;
		pr_info("fleet: not banning %s reported by %s: %s\n", afmt(&rep->addr, ab),
			rep->agent, why);
		return 0;
	}
	for (size_t i = 0; i < r->conf->n_ars && !err; i++) {
		const struct xb_ar *ar = &r->conf->ars[i];
		bool again = false;

		if (!ar->cmd || ar->location == XB_LOC_LOCAL ||
		    !xb_ar_binds(ar, al.rule, al.level, al.groups))
			continue;
		/* One decision per command: the first block that binds it. */
		for (size_t k = 0; k < n_done && !again; k++)
			again = !strcmp(done[k], fleet_cmd_name(ar));
		if (again || n_done == MAX_CMDS)
			continue;
		done[n_done++] = fleet_cmd_name(ar);
		err = decide_one(r, rep, ar, now);
	}
	return err;
}

/* A token bucket per agent: one compromised agent cannot flood the
 * manager; what is over the rate waits in the stream, none is dropped.
 * n reports in one message are taken whole when a burst's worth (n, at
 * most one second's) is there, the bucket then owing the rest: the rate
 * holds over time, and a pack is never cut by it. */
static bool rate_ok(struct xb_fleet_run *r, const char *agent, unsigned n)
{
	double rate = (double)r->conf->fleet.report_rate;
	uint64_t now = xb_now_mono_ns();
	struct xb_fleet_bucket *b = NULL;

	for (size_t i = 0; i < r->n_buckets && !b; i++)
		if (!strcmp(r->buckets[i].agent, agent))
			b = &r->buckets[i];
	if (!b) {
		if (xb_grow(&r->buckets, &r->cap_buckets, r->n_buckets, sizeof(*r->buckets), 16))
			return true;
		b = &r->buckets[r->n_buckets++];
		*b = (struct xb_fleet_bucket){ .tokens = rate, .at_ns = now };
		snprintf(b->agent, sizeof(b->agent), "%.*s", XB_AGENT_ID_MAX, agent);
	}
	b->tokens += (double)(now - b->at_ns) / NSEC_PER_SEC * rate;
	if (b->tokens > rate)
		b->tokens = rate;       /* a burst of one second's worth */
	b->at_ns = now;
	if (b->tokens < (n < rate ? (double)n : rate)) {
		if (!b->delayed++)
			pr_warn("fleet: %s reports faster than %" PRIu64 "/s: the rest waits\n", agent,
				r->conf->fleet.report_rate);
		r->n.delayed++;
		return false;
	}
	b->tokens -= n;
	return true;
}

/* The report's subject names its sender; the body must say the same. */
static bool sender_ok(const struct xb_fleet_ev *ev, const struct xb_fleet_report *rep)
{
	return !strcmp(ev->key, rep->agent);
}

/* What a turn of the loop brings (reports, decisions, acks) is stored in
 * one transaction; the reports are acknowledged after its commit, and only
 * then are the decisions they made sent. A report is decided straight in
 * that transaction (a savepoint each cost a tenth of the manager): one
 * that fails undoes the turn, whose reports all come again (a second
 * later), then each report is decided in its own savepoint (careful) for
 * CAREFUL_NS after the latest failure, so that a report failing again
 * fails alone, however often it comes back. */
#define REPORT_BATCH 256
#define CAREFUL_NS (5 * NSEC_PER_SEC)  /* past the nak's 1 s and the redelivery */
struct batch {
	struct xb_fleet_ev ev[REPORT_BATCH];
	size_t n;
	bool open;              /* the turn's transaction */
	uint64_t careful_until; /* monotonic ns: a savepoint per report until then */
	uint64_t decided, folded, refused;      /* r->n's at the transaction's start */
};

static void batch_release(struct xb_fleet_run *r, struct batch *b, bool done)
{
	for (size_t i = 0; i < b->n; i++) {
		xb_fleet_ack(r->cli, &b->ev[i], done);
		xb_fleet_ev_done(&b->ev[i]);
	}
	b->n = 0;
}

static void batch_begin(struct xb_fleet_run *r, struct batch *b)
{
	if (b->open)
		return;
	b->open = !xb_fleet_store_begin(r->store);
	b->decided = r->n.decided;
	b->folded = r->n.folded;
	b->refused = r->n.refused;
}

/* A report failed outside a savepoint: the transaction is undone, its
 * reports asked again (what they counted with them). */
static void batch_abort(struct xb_fleet_run *r, struct batch *b)
{
	if (b->open) {
		xb_fleet_store_rollback(r->store);
		b->open = false;
	}
	r->n.decided = b->decided;
	r->n.folded = b->folded;
	r->n.refused = b->refused;
	refresh_depth(r);
	batch_release(r, b, false);
	b->careful_until = xb_now_mono_ns() + CAREFUL_NS;
}

static void batch_end(struct xb_fleet_run *r, struct batch *b)
{
	int err = 0;

	if (b->open) {
		err = xb_fleet_store_commit(r->store);
		if (err) {
			xb_fleet_store_rollback(r->store);
			refresh_depth(r);
			fail(r, "%zu reports: %s (asked again)", b->n, strerror(-err));
		}
		b->open = false;
	}
	/* A manager killed before the commit gets the reports again, and one
	 * killed after it knows them (seen). */
	batch_release(r, b, !err);
	pump(r);
}

/* One report in the batch's transaction. */
static int report_in(struct xb_fleet_run *r, const struct xb_fleet_report *rep, int64_t now,
		     bool *seen)
{
	int err = xb_fleet_seen_mark(r->store, rep->id, now, seen);

	if (err || *seen)
		return err;
	/* An alert is counted once its savepoint is released (on_report). */
	if (rep->kind == XB_FLEET_HELLO)
		return xb_fleet_agent_seen(r->store, rep->agent, now, rep->own, rep->n_own);
	return decide(r, rep, now);
}

/* One report of a message (a line of a pack): REP_OK stored or refused
 * for good, REP_NAK the message is asked again now (what its earlier
 * lines stored stays in the transaction: known when it comes again),
 * REP_ABORT the turn was undone (the message asked again too). */
enum { REP_OK = 0, REP_NAK, REP_ABORT };
static int one_report(struct xb_fleet_run *r, struct batch *b, const struct xb_fleet_ev *ev,
		      const char *line, size_t len)
{
	struct xb_fleet_report rep;
	bool seen = false;
	int64_t now;
	int err;

	if (xb_fleet_report_decode(line, len, &rep) || !sender_ok(ev, &rep)) {
		r->n.refused++;
		b->refused++;   /* final, whatever becomes of the batch */
		pr_warn("fleet: refused a report on %s: %s\n", ev->key,
			xb_fleet_report_decode(line, len, &rep) ? "malformed" :
			"it names another agent");
		return REP_OK;  /* never to be seen again */
	}
	now = xb_now_wall();
	if (b->open && xb_now_mono_ns() >= b->careful_until) {
		if ((err = report_in(r, &rep, now, &seen))) {
			fail(r, "report %s from %s: %s (the turn's %zu messages asked again)", rep.id,
			     rep.agent, strerror(-err), b->n + 1);
			return REP_ABORT;
		}
	} else {
		/* Its own savepoint: a report that fails is undone alone. */
		err = b->open ? xb_fleet_store_begin(r->store) : -EIO;
		if (!err && (err = report_in(r, &rep, now, &seen)))
			xb_fleet_store_rollback(r->store);
		else if (!err)
			err = xb_fleet_store_commit(r->store);
		if (err) {
			refresh_depth(r);
			fail(r, "report %s from %s: %s (asked again)", rep.id, rep.agent,
			     strerror(-err));
			b->careful_until = xb_now_mono_ns() + CAREFUL_NS;
			return REP_NAK;
		}
	}
	/* A count lost (no memory) is only a count. */
	if (!seen && rep.kind == XB_FLEET_ALERT && xb_fleet_agent_count(r->store, rep.agent, now))
		r->n.errors++;
	return REP_OK;
}

/* ev's data and message move into the batch (or are released here). */
static void on_report(struct xb_fleet_run *r, struct batch *b, struct xb_fleet_ev *ev)
{
	const char *line;
	size_t off = 0, len;
	int lines = 0, ret = REP_OK;
	unsigned n = 1;

	/* The sender's rate, by the subject (a forged body is refused below). */
	if (!xb_agent_id_ok(ev->key, strlen(ev->key))) {
		r->n.refused++;
		b->refused++;
		pr_warn("fleet: refused a message on %s: not an agent's subject\n", ev->key);
		xb_fleet_ack(r->cli, ev, true);
		return;
	}
	for (const char *p = ev->data; (p = memchr(p, '\n', ev->len - (size_t)(p - ev->data))); p++)
		n++;
	if (!rate_ok(r, ev->key, n)) {
		xb_fleet_ack(r->cli, ev, false);        /* again in a second */
		return;
	}
	while (ret == REP_OK && xb_fleet_pack_next(ev->data, ev->len, &off, &line, &len)) {
		if (++lines > XB_FLEET_PACK_MAX) {
			r->n.refused++;
			b->refused++;
			pr_warn("fleet: refused the rest of a message on %s: more than %d reports\n",
				ev->key, XB_FLEET_PACK_MAX);
			break;
		}
		ret = one_report(r, b, ev, line, len);
	}
	if (ret != REP_OK) {
		/* Asked again at once: only an ack has to wait for the commit. */
		xb_fleet_ack(r->cli, ev, false);
		if (ret == REP_ABORT) {
			batch_abort(r, b);
			batch_begin(r, b);
		}
		return;
	}
	b->ev[b->n++] = *ev;
	ev->data = NULL;
	ev->msg = NULL;
	if (b->n == REPORT_BATCH) {
		batch_end(r, b);
		batch_begin(r, b);
	}
}

int xb_fleet_run_manual(struct xb_fleet_run *r, const struct xb_addr *a,
			enum xb_ar_location loc, const char *agents, uint64_t ttl, bool lift_it,
			char *why, size_t len)
{
	struct xb_ar ar = { .location = loc, .agent_id = (char *)agents };
	char tg[MAX_TARGETS][XB_AGENT_ID_MAX + 1], ab[XB_ADDRSTRLEN], eb[32], tt[512];
	int64_t now = xb_now_wall();
	struct xb_fleet_decision d = { .addr = *a, .issued = now, .offence = 1,
				       .end = ttl ? now + (int64_t)ttl : 0 };
	size_t nt;
	int err;

	*why = 0;
	if (!r->cli || !r->conf->fleet.manager) {
		snprintf(why, len, "fleet bans are made on the manager");
		return -EPERM;
	}
	if (loc == XB_LOC_DEFINED_AGENT && (!agents || !*agents)) {
		snprintf(why, len, "location defined-agent needs --agent-id");
		return -EINVAL;
	}
	if (!lift_it && protected_fleet(r, a, why, len))
		return -EPERM;
	nt = targets(r, &ar, tg, MAX_TARGETS);
	if (!nt) {
		snprintf(why, len, "no valid agent id in '%s'", agents ? agents : "");
		return -EINVAL;
	}
	snprintf(d.cmd, sizeof(d.cmd), "%s", XB_DROP_CMD);
	snprintf(d.by, sizeof(d.by), "manual");
	if ((err = xb_fleet_store_begin(r->store)))
		return err;
	err = publish(r, &d, tg, nt, lift_it);
	if (!err)
		err = xb_fleet_store_commit(r->store);
	if (err) {
		xb_fleet_store_rollback(r->store);
		refresh_depth(r);
		snprintf(why, len, "cannot queue the decision: %s", strerror(-err));
		return err;
	}
	targets_text(tg, nt, tt, sizeof(tt));
	pr_info("fleet: manual %s %s until %s for %s\n", lift_it ? "lift of" : "ban",
		afmt(a, ab), xb_fmt_wall(d.end, eb, sizeof(eb)), tt);
	pump(r);
	return 0;
}

/* ---- events and time ------------------------------------------------------------- */

void xb_fleet_run_events(struct xb_fleet_run *r)
{
	static struct batch b;          /* the daemon's thread alone */
	struct xb_fleet_ev ev;

	xb_log_hold();
	/* One lock of the maps for the turn's bans, not one per decision. */
	if (r->enf->dp)
		xb_dp_hold(r->enf->dp);
	for (int i = 0; i < 4096 && r->cli && xb_fleet_next(r->cli, &ev); i++) {
		batch_begin(r, &b);
		switch (ev.kind) {
		case XB_FLEET_EV_UP:
			if (!r->up)
				pr_info("fleet: connected to the broker as %s (%s)\n",
					r->conf->fleet.agent_id,
					r->conf->fleet.manager ? "manager" : "agent");
			r->up = true;
			r->up_since = xb_now_wall();
			r->sent_upto = 0;       /* everything unacked goes again */
			r->inflight = 0;
			hello(r);
			break;
		case XB_FLEET_EV_DOWN:
			if (r->up)
				pr_warn("fleet: lost the broker; reports wait in the outbox, local bans go on\n");
			r->up = false;
			r->down_since = xb_now_wall();
			break;
		case XB_FLEET_EV_REPORT:
			on_report(r, &b, &ev);
			break;
		case XB_FLEET_EV_DECISION:
			on_decision(r, &ev);
			break;
		case XB_FLEET_EV_ACKED: {
			int64_t last = ev.seq_last > ev.seq ? ev.seq_last : ev.seq;
			int64_t k = last - ev.seq + 1;
			int gone = xb_fleet_outbox_del_range(r->store, ev.seq, last);

			if (gone >= 0) {
				r->n.acked += (uint64_t)k;
				r->inflight = r->inflight > k ? r->inflight - k : 0;
				r->outbox = r->outbox > gone ? r->outbox - gone : 0;
				r->progress_ns = xb_now_mono_ns();
			}
			break;
		}
		case XB_FLEET_EV_ERROR:
			fail(r, "%s", ev.text);
			break;
		}
		xb_fleet_ev_done(&ev);
	}
	batch_end(r, &b);
	if (r->enf->dp)
		xb_dp_release(r->enf->dp);
	/* The outbox's depth is counted as rows come and go; the tick counts
	 * it afresh (a count(*) a turn was a tenth of the manager's time). */
	xb_log_release();
}

/* Manager: the keys of decisions that ended get a purge marker (after
 * any decision queued for them before, before any after); once the
 * broker has it, the key's messages go (client.c): the bucket holds
 * what is in force, not every decision ever made. */
#define PURGE_BATCH 256
static void purge_ended(struct xb_fleet_run *r, int64_t now)
{
	static char keys[PURGE_BATCH][XB_FLEET_KEY_MAX];
	char subj[XB_FLEET_KEY_MAX + 32], id[XB_AGENT_ID_MAX + 24];
	int64_t seq;
	int n, err;

	if ((err = xb_fleet_store_begin(r->store)))
		return;
	n = xb_fleet_issued_ended(r->store, now, keys, PURGE_BATCH);
	err = n < 0 ? n : 0;
	for (int i = 0; i < n && !err; i++) {
		snprintf(subj, sizeof(subj), "$KV." XB_FLEET_BUCKET ".%.*s", XB_FLEET_KEY_MAX - 1, keys[i]);
		if (!(err = xb_fleet_next_seq(r->store, &seq))) {
			snprintf(id, sizeof(id), "d-%s-%" PRId64, r->conf->fleet.agent_id, seq);
			err = xb_fleet_outbox_add(r->store, subj, id, XB_FLEET_PURGE, "", SIZE_MAX, &seq);
		}
		if (!err)
			err = xb_fleet_issued_del(r->store, keys[i], false);
	}
	if (!err && !(err = xb_fleet_store_commit(r->store))) {
		r->n.purged += (uint64_t)n;
		return;
	}
	xb_fleet_store_rollback(r->store);
	fail(r, "cannot queue the purge of ended decisions: %s", strerror(-err));
}

void xb_fleet_run_tick(struct xb_fleet_run *r, int64_t now)
{
	if (!r->cli)
		return;
	if (xb_fleet_table_expire(&r->held, now))
		xb_fleet_held_expire(r->store, now);
	if (r->conf->fleet.manager && now % 60 == 0)
		xb_fleet_seen_prune(r->store, now);
	if (r->conf->fleet.manager)
		purge_ended(r, now);
	refresh_depth(r);
	/* Rows in flight too long (a broker that went and came back): again,
	 * the broker's Nats-Msg-Id dedup keeps each once. */
	if (r->outbox > 0 && r->sent_upto > 0 &&
	    xb_now_mono_ns() - r->progress_ns > RESEND_NS) {
		r->sent_upto = 0;
		r->inflight = 0;
		r->progress_ns = xb_now_mono_ns();
	}
	pump(r);
}

int xb_fleet_run_agents(struct xb_fleet_run *r, xb_fleet_agent_fn fn, void *ctx)
{
	return r->store ? xb_fleet_agent_foreach(r->store, fn, ctx) : 0;
}

/* ---- open and close ----------------------------------------------------------------- */

int xb_fleet_run_open(struct xb_fleet_run *r, const struct xb_config *c, const char *state_dir,
		      struct xb_enforce *e, const struct xb_hostaddr *h)
{
	int err;

	*r = (struct xb_fleet_run){ .conf = c, .enf = e, .host = h };
	if (!c->fleet.enabled)
		return 0;
	if ((err = xb_fleet_store_open(state_dir, &r->store)))
		return err;
	/* What this host held before: a replay of the same decision is then
	 * recognised, and a delete that came while it was away lifts. */
	if ((err = xb_fleet_held_load(r->store, &r->held)))
		goto fail;
	xb_fleet_table_expire(&r->held, xb_now_wall());
	refresh_depth(r);
	if ((err = xb_fleet_new(&c->fleet, &r->cli)))
		goto fail;
	pr_info("fleet: %s %s, brokers %s%s, %" PRId64 " in the outbox, %zu decisions held\n",
		c->fleet.manager ? "manager" : "agent", c->fleet.agent_id, c->fleet.urls[0],
		c->fleet.n_urls > 1 ? " ..." : "", r->outbox, r->held.n);
	return 0;
fail:
	xb_fleet_store_close(r->store);
	r->store = NULL;
	xb_fleet_table_free(&r->held);
	return err;
}

void xb_fleet_run_close(struct xb_fleet_run *r)
{
	xb_fleet_free(r->cli);
	r->cli = NULL;
	xb_fleet_store_close(r->store);
	r->store = NULL;
	xb_fleet_table_free(&r->held);
	free(r->buckets);
	r->buckets = NULL;
	r->n_buckets = r->cap_buckets = 0;
}

void xb_fleet_run_set_config(struct xb_fleet_run *r, const struct xb_config *c)
{
	r->conf = c;
}

int xb_fleet_run_fd(const struct xb_fleet_run *r)
{
	return r->cli ? xb_fleet_fd(r->cli) : -1;
}
