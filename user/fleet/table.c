// SPDX-License-Identifier: GPL-2.0
/* fleet: the decisions a host holds and what each new one changes (fleet.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "fleet/fleet.h"

/* Ends compared with 0 as "never": is a later than b? */
static bool later(int64_t a, int64_t b)
{
	if (a == b)
		return false;
	return a == 0 || (b != 0 && a > b);
}

static bool live(const struct xb_fleet_decision *d, int64_t now)
{
	return d->end == 0 || d->end > now;
}

static bool same_target(const struct xb_fleet_decision *a, const struct xb_fleet_decision *b)
{
	return xb_addr_eq(&a->addr, &b->addr) && !strcmp(a->cmd, b->cmd);
}

/* The longest live end over what holds d's (addr, cmd); false when none. */
static bool longest(const struct xb_fleet_table *t, const struct xb_fleet_decision *d,
		    int64_t now, int64_t *end)
{
	bool any = false;

	for (size_t i = 0; i < t->n; i++) {
		const struct xb_fleet_decision *h = &t->h[i].d;

		if (!same_target(h, d) || !live(h, now))
			continue;
		if (!any || later(h->end, *end))
			*end = h->end;
		any = true;
	}
	return any;
}

static struct xb_fleet_held *find(const struct xb_fleet_table *t, const char *key)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->h[i].key, key))
			return &t->h[i];
	return NULL;
}

const struct xb_fleet_held *xb_fleet_table_get(const struct xb_fleet_table *t, const char *key)
{
	return find(t, key);
}

enum xb_fleet_act xb_fleet_table_put(struct xb_fleet_table *t, const char *key,
				     const struct xb_fleet_decision *d, int64_t now,
				     int64_t *end)
{
	struct xb_fleet_held *h = find(t, key);
	int64_t before = 0;
	bool had = longest(t, d, now, &before);

	if (!live(d, now) || strlen(key) >= sizeof(h->key))
		return XB_FLEET_NONE;   /* expired: never applied */
	if (h && live(&h->d, now) && !later(d->end, h->d.end))
		return XB_FLEET_NONE;   /* a replay, or shorter: the longer stands */
	if (!h) {
		if (xb_grow(&t->h, &t->cap, t->n, sizeof(*t->h), 16))
			return XB_FLEET_NONE;
		h = &t->h[t->n++];
		strcpy(h->key, key);
	}
	h->d = *d;
	if (had && !later(d->end, before))
		return XB_FLEET_NONE;   /* another key holds it at least as long */
	*end = d->end;
	return XB_FLEET_APPLY;
}

int xb_fleet_table_del(struct xb_fleet_table *t, const char *key, int64_t now,
		       struct xb_fleet_decision *out, int64_t *end, enum xb_fleet_act *act)
{
	struct xb_fleet_held *h = find(t, key);
	int64_t rest = 0;

	*act = XB_FLEET_NONE;
	if (!h)
		return -ENOENT;
	*out = h->d;
	*h = t->h[--t->n];
	if (!live(out, now))
		return 0;       /* it had ended: nothing in force to change */
	if (!longest(t, out, now, &rest))
		*act = XB_FLEET_LIFT;
	else if (later(out->end, rest))
		*act = XB_FLEET_APPLY;
	*end = rest;
	return 0;
}

int xb_fleet_table_add(struct xb_fleet_table *t, const struct xb_fleet_held *h)
{
	struct xb_fleet_held *o = find(t, h->key);
	int err;

	if (o) {
		*o = *h;
		return 0;
	}
	if ((err = xb_grow(&t->h, &t->cap, t->n, sizeof(*t->h), 16)))
		return err;
	t->h[t->n++] = *h;
	return 0;
}

size_t xb_fleet_table_expire(struct xb_fleet_table *t, int64_t now)
{
	size_t n = 0;

	for (size_t i = 0; i < t->n; )
		if (!live(&t->h[i].d, now)) {
			t->h[i] = t->h[--t->n];
			n++;
		} else {
			i++;
		}
	return n;
}

void xb_fleet_table_free(struct xb_fleet_table *t)
{
	free(t->h);
	memset(t, 0, sizeof(*t));
}
