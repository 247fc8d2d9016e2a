// SPDX-License-Identifier: GPL-2.0
/*
 * rules: match one event against the ruleset - from the roots down, the
 * first matching child (by level) is descended into, the deepest match wins.
 */
#include <string.h>

#include "rules/internal.h"
#include "common/util.h"

struct eval_ctx {
	const struct xb_ruleset *rs;
	struct xb_correlator *corr;
	const struct xb_event *ev;
	const char *lmsg;       /* lowercased message */
	size_t llen;
	char lprog[32];
	size_t lproglen;
	int64_t now;
};

static bool conditions(struct eval_ctx *x, const struct rule *r)
{
	if (r->decoded_as && (!x->ev->decoder || strcmp(r->decoded_as, x->ev->decoder)))
		return false;
	if (r->program_name.n && !xb_osm_match(&r->program_name, x->lprog, x->lproglen))
		return false;
	if (r->match.n && !xb_osm_match(&r->match, x->lmsg, x->llen))
		return false;
	if (r->regex && pcre2_match(r->regex, (PCRE2_SPTR)x->ev->msg, x->ev->msg_len, 0, 0,
				    x->rs->md, NULL) < 0)
		return false;
	return true;
}

/* Deepest matching rule under index i, or -1. */
static long try_rule(struct eval_ctx *x, uint32_t i)
{
	const struct rule *r = &x->rs->r[i];

	if (!conditions(x, r))
		return -1;
	/* a line that counts for nothing completes no count either */
	if (r->if_matched_sid && (x->ev->nocount || !xb_corr_fires(x->corr, x->rs, i, x->ev, x->now)))
		return -1;
	for (size_t k = 0; k < r->n_children; k++) {
		long res = try_rule(x, r->children[k]);

		if (res >= 0)
			return res;
	}
	return i;
}

/* Rules see at most the first 4 KiB of a message (sshd's are < 1 KiB). */
static void lower_fields(struct eval_ctx *x, char *lbuf, size_t lsize)
{
	const struct xb_event *ev = x->ev;
	size_t n = ev->msg_len < lsize ? ev->msg_len : lsize;
	size_t pl = strnlen(ev->program, sizeof(ev->program));

	for (size_t i = 0; i < n; i++)
		lbuf[i] = (char)xb_lower((unsigned char)ev->msg[i]);
	x->lmsg = lbuf;
	x->llen = n;
	if (pl >= sizeof(x->lprog))
		pl = sizeof(x->lprog) - 1;
	for (size_t i = 0; i < pl; i++)
		x->lprog[i] = (char)xb_lower((unsigned char)ev->program[i]);
	x->lproglen = pl;
}

static void fill_alert(const struct rule *r, const struct xb_event *ev, struct xb_alert *out)
{
	memset(out, 0, sizeof(*out));
	out->rule = r->id;
	out->level = r->noalert ? 0 : r->level;
	out->noalert = r->noalert;
	out->description = r->description;
	out->groups = r->groups;
	out->frequency = r->if_matched_sid ? r->frequency : 0;
	out->same_source_ip = r->same_source_ip;
	out->ev = ev;
}

int xb_rules_eval(const struct xb_ruleset *rs, struct xb_correlator *corr,
		  const struct xb_event *ev, struct xb_alert *out)
{
	char lbuf[4096];
	struct eval_ctx x = { .rs = rs, .corr = corr, .ev = ev };

	lower_fields(&x, lbuf, sizeof(lbuf));
	x.now = ev->ts_usec ? ev->ts_usec : xb_now_wall() * 1000000;
	for (size_t k = 0; k < rs->n_roots; k++) {
		long res = try_rule(&x, rs->roots[k]);

		if (res >= 0) {
			const struct rule *r = &rs->r[res];

			/* as in Wazuh, a line counts for the correlation rules
			 * watching its result only, not every rule on the way */
			if (!ev->nocount)
				for (size_t c = 0; c < r->n_counters; c++)
					xb_corr_push(corr, rs, r->counters[c], ev, x.now);
			fill_alert(r, ev, out);
			return 1;
		}
	}
	return 0;
}
