// SPDX-License-Identifier: GPL-2.0
/* policy: bindings, protection, IPv6 aggregation and escalating timeouts. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "policy/policy.h"
#include "common/util.h"
#include "xdpban.h"

/* Longest finite ban: ten years (keeps monotonic ns far from overflow). */
#define MAX_FINITE_TTL (10ULL * 365 * 86400)

struct xb_policy {
	const struct xb_config *conf;
	struct xb_state *st;
	const struct xb_hostaddr *host;
	double (*rnd)(void);
};

static double default_rnd(void)
{
	uint32_t v = 0;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
		v = (uint32_t)random();
	return v / 4294967296.0;
}

uint64_t xb_escalate(const struct xb_ar *ar, uint32_t n, double rnd)
{
	uint64_t t;

	if (n == 0)
		n = 1;
	if (ar->permanent_after && n >= ar->permanent_after)
		return XB_TIMEOUT_PERMANENT;
	if (ar->timeout == XB_TIMEOUT_PERMANENT)
		return XB_TIMEOUT_PERMANENT;
	if (n == 1) {
		t = ar->timeout;
	} else if (ar->increment_factor > 0) {
		/* fail2ban's bantime.increment in spirit: grows geometrically. */
		double d = (double)ar->timeout;

		/* Multiply step by step (no libm): stops as soon as the cap is reached. */
		for (uint32_t i = 1; i < n && d < (double)MAX_FINITE_TTL; i++)
			d *= ar->increment_factor;

		t = d >= (double)MAX_FINITE_TTL ? MAX_FINITE_TTL : (uint64_t)d;
	} else if (ar->n_repeated) {
		/* Wazuh: 2nd offence uses list[0]; once used up, the last value. */
		size_t i = n - 2 < ar->n_repeated ? n - 2 : ar->n_repeated - 1;

		t = ar->repeated[i];
		if (t == XB_TIMEOUT_PERMANENT)
			return t;
	} else {
		t = ar->timeout;
	}
	if (ar->max_timeout && t > ar->max_timeout)
		t = ar->max_timeout;
	if (ar->random_jitter && rnd > 0 && rnd < 1)
		t += (uint64_t)(rnd * (double)ar->random_jitter);
	if (t > MAX_FINITE_TTL)
		t = MAX_FINITE_TTL;
	return t;
}

/* Wazuh's OS_Match: '|'-separated case-insensitive substrings, '^' anchors
 * at the start, '$' at the end. */
static bool os_match(const char *pattern, const char *text)
{
	const char *p = pattern;

	if (!text)
		return false;
	while (*p) {
		const char *e = strchr(p, '|');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		bool start = false, end = false;
		char alt[256];

		if (len && *p == '^') {
			start = true;
			p++;
			len--;
		}
		if (len && p[len - 1] == '$') {
			end = true;
			len--;
		}
		if (len < sizeof(alt)) {
			size_t tl = strlen(text);

			memcpy(alt, p, len);
			alt[len] = 0;
			if (start && end) {
				if (tl == len && !strncasecmp(text, alt, len))
					return true;
			} else if (start) {
				if (!strncasecmp(text, alt, len))
					return true;
			} else if (end) {
				if (tl >= len && !strcasecmp(text + tl - len, alt))
					return true;
			} else if (strcasestr(text, alt)) {
				return true;
			}
		}
		if (!e)
			break;
		p = e + 1;
	}
	return false;
}

bool xb_ar_here(const struct xb_config *c, const struct xb_ar *ar)
{
	/* In a fleet the manager decides server and defined-agent (fleet/);
	 * all bans here at once too, with this host's own history. */
	return !c->fleet.enabled || ar->location == XB_LOC_LOCAL || ar->location == XB_LOC_ALL;
}

bool xb_ar_binds(const struct xb_ar *ar, uint32_t rule, unsigned level, const char *groups)
{
	bool level_set = ar->level >= 0, group_set = ar->rules_group && *ar->rules_group;
	bool lv, gr;

	if (ar->disabled || level == 0)
		return false;   /* level-0 rules never trigger a response */
	for (size_t i = 0; i < ar->n_rules_id; i++)
		if (ar->rules_id[i] == rule)
			return true;
	lv = level_set && level >= (unsigned)ar->level;
	gr = group_set && os_match(ar->rules_group, groups);
	if (level_set && group_set)
		return lv && gr;
	return lv || gr;
}

/* Overlap both ways: an allow entry inside a banned prefix protects it too. */
static bool overlaps(const struct xb_addr *x, const struct xb_addr *y)
{
	return xb_addr_contains(x, y) || xb_addr_contains(y, x);
}

bool xb_policy_is_protected(const struct xb_config *c, const struct xb_hostaddr *h,
			    const struct xb_addr *a, char *why, size_t len)
{
	char buf[XB_ADDRSTRLEN];
	struct xb_addr lo;

	if (xb_addr_is_loopback(a)) {
		snprintf(why, len, "%s is a loopback or unspecified address", xb_addr_fmt(a, buf, sizeof(buf)));
		return true;
	}
	xb_addr_parse(a->family == 4 ? "127.0.0.1" : "::1", &lo, false);
	if (xb_addr_contains(a, &lo)) {
		snprintf(why, len, "%s contains loopback", xb_addr_fmt(a, buf, sizeof(buf)));
		return true;
	}
	for (size_t i = 0; c && i < c->n_allow; i++)
		if (overlaps(&c->allow[i], a)) {
			char wb[XB_ADDRSTRLEN];

			snprintf(why, len, "%s is on the allow list (%s)",
				 xb_addr_fmt(a, buf, sizeof(buf)), xb_addr_fmt(&c->allow[i], wb, sizeof(wb)));
			return true;
		}
	for (size_t i = 0; h && i < xb_hostaddr_count(h); i++) {
		const struct xb_addr *ha = xb_hostaddr_get(h, i);

		if (xb_addr_contains(a, ha)) {
			char hb[XB_ADDRSTRLEN];

			snprintf(why, len, "%s is (or contains) this host's address %s",
				 xb_addr_fmt(a, buf, sizeof(buf)), xb_addr_fmt(ha, hb, sizeof(hb)));
			return true;
		}
	}
	return false;
}

int xb_policy_new(const struct xb_config *conf, struct xb_state *st,
		  const struct xb_hostaddr *h, struct xb_policy **out)
{
	struct xb_policy *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->conf = conf;
	p->st = st;
	p->host = h;
	p->rnd = default_rnd;
	*out = p;
	return 0;
}

void xb_policy_free(struct xb_policy *p)
{
	free(p);
}

void xb_policy_set_config(struct xb_policy *p, const struct xb_config *conf)
{
	p->conf = conf;
}

void xb_policy_set_state(struct xb_policy *p, struct xb_state *st)
{
	p->st = st;
}

void xb_policy_set_rnd(struct xb_policy *p, double (*rnd)(void))
{
	p->rnd = rnd ? rnd : default_rnd;
}

/* The IPv6 prefix to ban instead of a, if aggregation applies. */
static int v6_target(struct xb_policy *p, const struct xb_addr *a, int64_t now,
		     struct xb_addr *target, bool *agg)
{
	const struct xb_config *c = p->conf;
	struct xb_addr pfx;
	unsigned distinct = 0;
	char why[160];
	int err;

	*target = *a;
	*agg = false;
	if (a->family != 6 || !c->v6agg.enabled || !xb_addr_is_single(a))
		return 0;
	pfx = xb_addr_prefix(a, c->v6agg.prefix_len);
	err = xb_state_v6_seen(p->st, &pfx, a, now, now - (int64_t)c->v6agg.window, &distinct);
	if (err)
		return err;
	if (distinct < c->v6agg.threshold)
		return 0;
	/* A prefix holding the host's own or allow-listed addresses stays single. */
	if (xb_policy_is_protected(c, p->host, &pfx, why, sizeof(why)))
		return 0;
	*target = pfx;
	*agg = true;
	return 0;
}

static int decide(struct xb_policy *p, const struct xb_ar *ar, const struct xb_alert *al,
		  const struct xb_addr *target, bool agg, int64_t now, struct xb_decision *d)
{
	struct xb_offence o;
	struct xb_state_ban old, b = { 0 };
	int64_t quiet = (int64_t)p->conf->offender_memory;
	uint64_t ttl;
	int err;

	err = xb_state_offence_get(p->st, target, XB_DROP_CMD, &o);
	if (err == -ENOENT || (!err && o.until != XB_UNTIL_FOREVER && o.until + quiet <= now)) {
		memset(&o, 0, sizeof(o));       /* no history, or quiet long enough: forgotten */
		o.first = now;
	} else if (err) {
		return err;
	}
	if (o.count < UINT32_MAX)
		o.count++;
	o.last = now;
	ttl = xb_escalate(ar, o.count, p->rnd());

	memset(d, 0, sizeof(*d));
	d->addr = *target;
	d->offender = al->ev->src;
	d->ar = ar;
	d->rule = al->rule;
	d->offence = o.count;
	d->ttl = ttl;
	d->aggregate = agg;
	d->expires = ttl == XB_TIMEOUT_PERMANENT ? 0 : now + (int64_t)ttl;

	err = xb_state_ban_get(p->st, target, &old);
	if (!err && (old.expires == 0 || old.expires > now)) {
		d->rearm = true;
		/* Never shorten a ban in force (e.g. a second, milder binding). */
		if (old.expires == 0)
			d->expires = 0;
		else if (d->expires && old.expires > d->expires)
			d->expires = old.expires;
		if (d->expires == 0)
			d->ttl = XB_TIMEOUT_PERMANENT;
		else
			d->ttl = d->expires - now;
	} else if (err && err != -ENOENT) {
		return err;
	}
	o.until = d->expires ? d->expires : XB_UNTIL_FOREVER;
	if ((err = xb_state_offence_put(p->st, target, XB_DROP_CMD, &o)))
		return err;
	b.addr = *target;
	snprintf(b.cmd, sizeof(b.cmd), "%s", ar->cmd ? ar->cmd->name : ar->command);
	b.rule = al->rule;
	b.offence = o.count > UINT16_MAX ? UINT16_MAX : o.count;
	b.flags = XB_BAN_F_DAEMON | (agg ? XB_BAN_F_AGGREGATE : 0);
	b.created = now;
	b.expires = d->expires;
	return xb_state_ban_put(p->st, &b);
}

int xb_policy_alert(struct xb_policy *p, const struct xb_alert *al, int64_t now,
		    struct xb_decision *out, size_t max, char *why, size_t whylen)
{
	const struct xb_config *c = p->conf;
	const struct xb_event *ev = al->ev;
	const struct xb_ar *ar = NULL;
	struct xb_addr target;
	bool agg = false;
	size_t n = 0;
	int err = 0;

	if (why && whylen)
		*why = 0;
	if (al->level == 0 || al->noalert)
		return 0;
	if (!ev || !ev->has_src) {
		if (why && whylen)
			snprintf(why, whylen, "rule %u: the line has no source address", al->rule);
		return 0;
	}
	/* A correlation rule that counts every source's lines (5705, 5719)
	 * says "many failures here", not who made them: its alert carries
	 * whichever line completed the count, which an attacker can arrange
	 * to be a bystander's. Such alerts are logged, never acted on. */
	if (al->frequency > 1 && !al->same_source_ip) {
		if (why && whylen)
			snprintf(why, whylen, "rule %u counts lines from every source: "
				 "its alert does not identify an attacker", al->rule);
		return 0;
	}
	for (size_t i = 0; i < c->n_ars && !ar; i++)
		if (c->ars[i].cmd && c->ars[i].cmd->builtin_drop && xb_ar_here(c, &c->ars[i]) &&
		    xb_ar_binds(&c->ars[i], al->rule, al->level, al->groups))
			ar = &c->ars[i];
	if (!ar) {
		if (why && whylen)
			snprintf(why, whylen, "rule %u (level %u): no active-response binds to it",
				 al->rule, al->level);
		return 0;
	}
	/* One alert is one offence of the XDP ban, however many blocks bind:
	 * the first binding block decides. */
	if (xb_policy_is_protected(c, p->host, &ev->src, why, whylen))
		return 0;
	if (!max)
		return 0;
	if ((err = xb_state_begin(p->st)))
		return err;
	err = v6_target(p, &ev->src, now, &target, &agg);
	if (!err)
		err = decide(p, ar, al, &target, agg, now, &out[0]);
	if (!err)
		n = 1;
	if (!err)
		err = xb_state_commit(p->st);
	if (err) {
		xb_state_rollback(p->st);
		return err;
	}
	return (int)n;
}

/* One response decision: the offence of (addr, command) and its timeout. */
static int decide_resp(struct xb_policy *p, const struct xb_ar *ar, const struct xb_alert *al,
		       int64_t now, struct xb_decision *d)
{
	const struct xb_addr *a = &al->ev->src;
	int64_t quiet = (int64_t)p->conf->offender_memory;
	struct xb_offence o;
	int err = xb_state_offence_get(p->st, a, ar->cmd->name, &o);

	if (err == -ENOENT || (!err && o.until != XB_UNTIL_FOREVER && o.until + quiet <= now)) {
		memset(&o, 0, sizeof(o));
		o.first = now;
	} else if (err) {
		return err;
	}
	if (o.count < UINT32_MAX)
		o.count++;
	o.last = now;
	memset(d, 0, sizeof(*d));
	d->addr = d->offender = *a;
	d->ar = ar;
	d->rule = al->rule;
	d->offence = o.count;
	d->ttl = xb_escalate(ar, o.count, p->rnd());
	d->expires = d->ttl == XB_TIMEOUT_PERMANENT ? 0 : now + (int64_t)d->ttl;
	o.until = d->expires ? d->expires : XB_UNTIL_FOREVER;
	return xb_state_offence_put(p->st, a, ar->cmd->name, &o);
}

int xb_policy_responses(struct xb_policy *p, const struct xb_alert *al, int64_t now,
			struct xb_decision *out, size_t max, char *why, size_t whylen)
{
	const struct xb_config *c = p->conf;
	char tmp[256];
	size_t n = 0;
	int err = 0;

	if (al->level == 0 || al->noalert || !al->ev || !al->ev->has_src ||
	    (al->frequency > 1 && !al->same_source_ip))
		return 0;       /* xb_policy_alert says why */
	for (size_t i = 0; i < c->n_ars && n < max && !err; i++) {
		const struct xb_ar *ar = &c->ars[i];
		bool dup = false;

		/* In a fleet, server and defined-agent run where the manager says. */
		if (!ar->cmd || ar->cmd->builtin_drop || !xb_ar_here(c, ar) ||
		    !xb_ar_binds(ar, al->rule, al->level, al->groups))
			continue;
		/* One alert is one run of a command, however many blocks name it. */
		for (size_t j = 0; j < n; j++)
			dup |= out[j].ar->cmd == ar->cmd;
		if (dup)
			continue;
		if (xb_policy_is_protected(c, p->host, &al->ev->src, why ? why : tmp,
					   why ? whylen : sizeof(tmp)))
			return 0;
		err = decide_resp(p, ar, al, now, &out[n]);
		if (!err)
			n++;
	}
	return err ? err : (int)n;
}

int xb_policy_forget(struct xb_policy *p, int64_t now, size_t *forgotten)
{
	return xb_state_offence_forget(p->st, now - (int64_t)p->conf->offender_memory, forgotten);
}
