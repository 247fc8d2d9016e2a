// SPDX-License-Identifier: GPL-2.0
/* enforce: the responses besides the ban, between the policy, the
 * responder (respond/) and the state (see enforce.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "pipeline/enforce.h"

#define MAX_RESPONSES 8

static int store_put(void *ctx, const struct xb_resp_row *r)
{
	struct xb_enforce *e = ctx;

	return e->st ? xb_state_resp_put(e->st, r) : 0;
}

static int store_del(void *ctx, const char *key)
{
	struct xb_enforce *e = ctx;
	int err = e->st ? xb_state_resp_del(e->st, key) : 0;

	return err == -ENOENT ? 0 : err;
}

void xb_enforce_resp_opts(struct xb_enforce *e, const struct xb_config *c,
			  struct xb_resp_opts *o)
{
	*o = (struct xb_resp_opts){
		.ar_dir = c->ar_dir, .hosts_deny = c->hosts_deny,
		.protected_accounts = c->protected_accounts, .n_protected = c->n_protected,
		.dry_run = e->dry_run,
		.store_put = store_put, .store_del = store_del, .store_ctx = e,
	};
}

/* "banned 10m (offence 2)" for the notification. */
static void action_text(const struct xb_decision *ban, int n_ban, char *buf, size_t len)
{
	char tb[32];

	*buf = 0;
	if (n_ban <= 0)
		return;
	if (ban->ttl == XB_TIMEOUT_PERMANENT)
		snprintf(tb, sizeof(tb), "for good");
	else
		xb_fmt_duration(ban->ttl, tb, sizeof(tb));
	snprintf(buf, len, "%s %s (offence %u)", ban->rearm ? "ban re-armed," : "banned", tb,
		 ban->offence);
}

void xb_enforce_respond(struct xb_enforce *e, const struct xb_alert *al,
			const struct xb_decision *ban, int n_ban)
{
	struct xb_decision d[MAX_RESPONSES];
	char why[256], action[96];
	int n;

	if (!e->resp || !e->pol)
		return;
	n = xb_policy_responses(e->pol, al, xb_enforce_wall_ceil(), d, MAX_RESPONSES, why,
				sizeof(why));
	if (n < 0) {
		e->n.errors++;
		pr_warn("rule %u: cannot record the response: %s\n", al->rule, strerror(-n));
		return;
	}
	action_text(ban, n_ban, action, sizeof(action));
	for (int i = 0; i < n; i++) {
		struct xb_resp_req q = {
			.cmd = d[i].ar->cmd, .addr = d[i].offender,
			.user = al->ev->user_set ? al->ev->user : "",
			.rule = al->rule, .level = al->level, .offence = d[i].offence,
			.description = al->description, .groups = al->groups,
			.action = action, .ttl = d[i].ttl,
		};

		xb_resp_fire(e->resp, &q, xb_now_wall());
	}
}

struct rows {
	struct xb_resp_row *r;
	size_t n, cap;
};

static int collect(const struct xb_resp_row *r, void *ctx)
{
	struct rows *l = ctx;
	int err = xb_grow(&l->r, &l->cap, l->n, sizeof(*l->r), 16);

	if (err)
		return err;
	l->r[l->n] = *r;
	if (!(l->r[l->n].msg = strdup(r->msg)))
		return -ENOMEM;
	l->n++;
	return 0;
}

int xb_enforce_resp_restore(struct xb_enforce *e, int64_t now, size_t *n)
{
	struct rows l = { 0 };
	int err;

	*n = 0;
	if (!e->resp || !e->st)
		return 0;
	/* Read them all first: restoring may lift (and delete) rows. */
	err = xb_state_resp_foreach(e->st, collect, &l);
	for (size_t i = 0; !err && i < l.n; i++)
		if (!xb_resp_restore(e->resp, &l.r[i], now))
			(*n)++;
	for (size_t i = 0; i < l.n; i++)
		free(l.r[i].msg);
	free(l.r);
	return err;
}
