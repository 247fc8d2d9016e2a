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

static uint32_t fnv(uint32_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

static uint32_t key_hash(const char *key)
{
	return fnv(2166136261u, key, strlen(key));
}

static uint32_t target_hash(const struct xb_fleet_decision *d)
{
	uint32_t h = fnv(2166136261u, &d->addr.family, 2);

	h = fnv(h, d->addr.bytes, sizeof(d->addr.bytes));
	return fnv(h, d->cmd, strlen(d->cmd));
}

static void slot_put(uint32_t *ix, size_t slots, uint32_t hash, size_t i)
{
	size_t m = slots - 1, s = hash & m;

	while (ix[s])
		s = (s + 1) & m;
	ix[s] = (uint32_t)(i + 1);
}

/* Both indexes from h, for room for at least want entries. */
static int reindex(struct xb_fleet_table *t, size_t want)
{
	size_t slots = t->slots ? t->slots : 64;
	uint32_t *k, *g;

	while (slots < 2 * want)
		slots *= 2;
	if (slots > UINT32_MAX)
		return -ENOMEM;
	k = calloc(slots, sizeof(*k));
	g = calloc(slots, sizeof(*g));
	if (!k || !g) {
		free(k);
		free(g);
		return -ENOMEM;
	}
	free(t->by_key);
	free(t->by_target);
	t->by_key = k;
	t->by_target = g;
	t->slots = slots;
	for (size_t i = 0; i < t->n; i++) {
		slot_put(k, slots, key_hash(t->h[i].key), i);
		slot_put(g, slots, target_hash(&t->h[i].d), i);
	}
	t->stale = false;
	return 0;
}

static int fresh(const struct xb_fleet_table *ct)
{
	struct xb_fleet_table *t = (struct xb_fleet_table *)ct;   /* the index is a cache */

	return (!t->stale && t->by_key) ? 0 : reindex(t, t->n);
}

/* The longest live end over what holds d's (addr, cmd); false when none. */
static bool longest(const struct xb_fleet_table *t, const struct xb_fleet_decision *d,
		    int64_t now, int64_t *end)
{
	bool any = false;
	size_t m, s;

	if (fresh(t))
		return false;
	m = t->slots - 1;
	for (s = target_hash(d) & m; t->by_target[s]; s = (s + 1) & m) {
		const struct xb_fleet_decision *h = &t->h[t->by_target[s] - 1].d;

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
	size_t m, s;

	if (fresh(t))
		return NULL;
	m = t->slots - 1;
	for (s = key_hash(key) & m; t->by_key[s]; s = (s + 1) & m)
		if (!strcmp(t->h[t->by_key[s] - 1].key, key))
			return &t->h[t->by_key[s] - 1];
	return NULL;
}

/* A new entry at the end of h, in both indexes. */
static struct xb_fleet_held *append(struct xb_fleet_table *t, const char *key,
				    const struct xb_fleet_decision *d)
{
	struct xb_fleet_held *h;

	if (xb_grow(&t->h, &t->cap, t->n, sizeof(*t->h), 16))
		return NULL;
	if ((t->stale || 2 * (t->n + 1) > t->slots) && reindex(t, t->n + 1))
		return NULL;
	h = &t->h[t->n];
	strcpy(h->key, key);
	h->d = *d;
	slot_put(t->by_key, t->slots, key_hash(key), t->n);
	slot_put(t->by_target, t->slots, target_hash(d), t->n);
	t->n++;
	return h;
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
		if (!append(t, key, d))
			return XB_FLEET_NONE;
	} else if (same_target(&h->d, d)) {
		h->d = *d;
	} else {
		h->d = *d;      /* the key's target moved: its slot by target too */
		t->stale = true;
	}
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
	t->stale = true;
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

	if (o) {
		if (!same_target(&o->d, &h->d))
			t->stale = true;
		*o = *h;
		return 0;
	}
	if (strnlen(h->key, sizeof(h->key)) >= sizeof(h->key))
		return -EINVAL;
	return append(t, h->key, &h->d) ? 0 : -ENOMEM;
}

size_t xb_fleet_table_expire(struct xb_fleet_table *t, int64_t now)
{
	size_t n = 0;

	for (size_t i = 0; i < t->n; )
		if (!live(&t->h[i].d, now)) {
			t->h[i] = t->h[--t->n];
			t->stale = true;
			n++;
		} else {
			i++;
		}
	return n;
}

void xb_fleet_table_free(struct xb_fleet_table *t)
{
	free(t->h);
	free(t->by_key);
	free(t->by_target);
	memset(t, 0, sizeof(*t));
}
