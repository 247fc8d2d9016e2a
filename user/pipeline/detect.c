// SPDX-License-Identifier: GPL-2.0
/* detect: a line -> decode -> rules -> an alert, counted (see detect.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "decode/decode.h"
#include "pipeline/detect.h"
#include "rules/rules.h"

struct xb_detect {
	struct xb_ruleset *rs;
	struct xb_correlator *corr;
	struct xb_sessions *sess;
	struct xb_detect_counts n;
};

int xb_detect_new(const struct xb_detect_conf *c, struct xb_detect **out,
		  enum xb_detect_part *failed, char *err, size_t len)
{
	struct xb_detect *d = calloc(1, sizeof(*d));
	char dir[PATH_MAX + 32];
	enum xb_detect_part part = XB_DETECT_RULES;
	int ret;

	if (err && len)
		err[0] = '\0';
	if (!d) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = xb_ruleset_load(c->rules_dir ? c->rules_dir : xb_rules_dir_default(dir, sizeof(dir)),
			      c->local_rules, &d->rs, err, len);
	if (ret)
		goto fail;
	part = XB_DETECT_CORR;
	ret = xb_corr_new(d->rs, c->max_sources, &d->corr);
	if (!ret)
		ret = xb_sessions_new(c->max_sessions, c->session_timeout, &d->sess);
	if (ret) {
		if (err)
			snprintf(err, len, "correlation state: %s", strerror(-ret));
		goto fail;
	}
	*out = d;
	return 0;
fail:
	if (failed)
		*failed = part;
	xb_detect_free(d);
	return ret;
}

void xb_detect_free(struct xb_detect *d)
{
	if (!d)
		return;
	xb_corr_free(d->corr);
	xb_sessions_free(d->sess);
	xb_ruleset_free(d->rs);
	free(d);
}

void xb_detect_swap(struct xb_detect **cur, struct xb_detect *next)
{
	if (*cur)
		next->n = (*cur)->n;
	xb_detect_free(*cur);
	*cur = next;
}

size_t xb_detect_rule_count(const struct xb_detect *d)
{
	return xb_ruleset_count(d->rs);
}

const struct xb_detect_counts *xb_detect_counts(const struct xb_detect *d)
{
	return &d->n;
}

static enum xb_decode_res decode(struct xb_detect *d, const struct xb_line *line,
				 unsigned flags, struct xb_event *ev)
{
	enum xb_decode_res res;
	bool bare = false;

	res = flags & XB_DETECT_ANY ? xb_decode_line_any(line, ev, &bare) : xb_decode_line(line, ev);
	if (bare)
		d->n.bare++;
	if (res == XB_DEC_MALFORMED)
		d->n.malformed++;
	else if (res == XB_DEC_OTHER)
		d->n.other++;
	else
		d->n.sshd++;
	return res;
}

/* Rules for one decoded event; counts the alert. */
static void match(struct xb_detect *d, const struct xb_event *ev, struct xb_alert *al,
		  bool *matched, bool *raised)
{
	*matched = *raised = false;
	if (xb_rules_eval(d->rs, d->corr, ev, al) != 1)
		return;
	*matched = true;
	if (al->level == 0)
		return;
	d->n.alerts++;
	if (!al->noalert) {
		*raised = true;
		d->n.raised++;
	}
}

/* The held lines an ended session gave back: decoded and matched again. */
static void released(struct xb_detect *d, const struct xb_sess_verdict *v,
		     struct xb_detect_out *out)
{
	for (size_t k = 0; k < v->n_released; k++) {
		struct xb_detect_rel *r = &out->rel[out->n_rel];
		struct xb_line l;

		r->line = v->released[k];
		l = (struct xb_line){ .text = r->line.text, .len = r->line.len,
				      .ts_usec = r->line.ts_usec, .pid = r->line.pid,
				      .bare = r->line.bare,
				      .program = r->line.program[0] ? r->line.program : NULL };
		if (xb_decode_line(&l, &r->ev) != XB_DEC_SSHD)
			continue;
		out->n_rel++;
		match(d, &r->ev, &r->al, &r->matched, &r->raised);
		r->al.ev = &r->ev;
	}
}

void xb_detect_line(struct xb_detect *d, const struct xb_line *line, unsigned flags,
		    struct xb_detect_out *out)
{
	struct xb_sess_verdict v;

	out->matched = out->raised = false;
	out->n_rel = 0;
	d->n.lines++;
	out->res = decode(d, line, flags, &out->ev);
	if (out->res == XB_DEC_MALFORMED || (out->res == XB_DEC_OTHER && !(flags & XB_DETECT_OTHER)))
		return;
	v.n_released = 0;
	if (out->res == XB_DEC_SSHD) {
		xb_sessions_event(d->sess, &out->ev, line, &v);
		out->ev.nocount = v.hold;
	}
	match(d, &out->ev, &out->al, &out->matched, &out->raised);
	out->al.ev = &out->ev;
	released(d, &v, out);
}
