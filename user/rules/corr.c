// SPDX-License-Identifier: GPL-2.0
/*
 * rules: correlation state for frequency rules. A fixed pool of
 * entries keyed by (rule, source) - source "any" for rules without
 * same_source_ip - each with a ring of the last `frequency` event times, a
 * chained hash over them and an LRU list; when the pool is full the least
 * recently updated entry is reused. All memory is allocated in xb_corr_new().
 * The hash is seeded with a secret chosen per correlator: sources are the
 * attacker's choice (any address of an IPv6 /64), and with a known hash they
 * could be lined up on one chain.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "rules/internal.h"
#include "xdpban.h"

#define NIL UINT32_MAX

struct centry {
	uint32_t rule;          /* rule index, NIL when free */
	uint32_t hnext;         /* hash chain */
	uint32_t prev, next;    /* LRU list, head = most recent */
	struct xb_addr src;     /* family 0: "any source" */
	uint32_t count, head;   /* ring fill and next write slot */
	int64_t ignore_until;   /* usec */
};

struct xb_correlator {
	struct centry *e;
	int64_t *ring;          /* max_freq slots per entry */
	uint32_t *bucket;
	uint32_t nbuckets, max, used, ring_slots;
	uint32_t lru_head, lru_tail, free_head;
	uint64_t evictions;
	uint64_t seed[2];       /* secret, random */
};

/* The secret: from getrandom(), else (no entropy yet, which should not
 * happen once the system is up) from what an attacker cannot easily know. */
static void pick_seed(struct xb_correlator *c)
{
	struct timespec ts;

	if (getrandom(c->seed, sizeof(c->seed), GRND_NONBLOCK) == sizeof(c->seed))
		return;
	pr_warn("rules: no random seed for the correlation hash (%s), using the clock\n",
		strerror(errno));
	clock_gettime(CLOCK_MONOTONIC, &ts);
	c->seed[0] = xb_mix64((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ (uintptr_t)c);
	c->seed[1] = xb_mix64(c->seed[0] ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)&ts);
}

int xb_corr_new(const struct xb_ruleset *rs, uint32_t max_entries, struct xb_correlator **out)
{
	struct xb_correlator *c = calloc(1, sizeof(*c));

	if (!max_entries)
		max_entries = 16384;
	if (!c)
		return -ENOMEM;
	c->max = max_entries;
	pick_seed(c);
	c->ring_slots = rs->max_freq ? rs->max_freq : 1;
	for (c->nbuckets = 16; c->nbuckets < 2 * max_entries; c->nbuckets <<= 1)
		;
	c->e = calloc(max_entries, sizeof(*c->e));
	c->ring = calloc((size_t)max_entries * c->ring_slots, sizeof(*c->ring));
	c->bucket = malloc(c->nbuckets * sizeof(*c->bucket));
	if (!c->e || !c->ring || !c->bucket) {
		xb_corr_free(c);
		return -ENOMEM;
	}
	memset(c->bucket, 0xff, c->nbuckets * sizeof(*c->bucket));
	for (uint32_t i = 0; i < max_entries; i++) {
		c->e[i].rule = NIL;
		c->e[i].next = i + 1 < max_entries ? i + 1 : NIL;  /* free list via next */
	}
	c->free_head = 0;
	c->lru_head = c->lru_tail = NIL;
	*out = c;
	return 0;
}

void xb_corr_free(struct xb_correlator *c)
{
	if (!c)
		return;
	free(c->e);
	free(c->ring);
	free(c->bucket);
	free(c);
}

uint32_t xb_corr_entries(const struct xb_correlator *c)
{
	return c->used;
}

uint64_t xb_corr_evictions(const struct xb_correlator *c)
{
	return c->evictions;
}

/* The longest hash chain: how well the hash spreads chosen keys (tests). */
uint32_t xb_corr_longest_chain(const struct xb_correlator *c)
{
	uint32_t longest = 0;

	for (uint32_t b = 0; b < c->nbuckets; b++) {
		uint32_t n = 0;

		for (uint32_t i = c->bucket[b]; i != NIL; i = c->e[i].hnext)
			n++;
		if (n > longest)
			longest = n;
	}
	return longest;
}

/* Keyed as the data plane's tables are: xb_mix64 over the seeded words. */
static uint32_t hash(const struct xb_correlator *c, uint32_t rule, const struct xb_addr *a)
{
	uint64_t w[2], h;

	memcpy(w, a->bytes, 16);
	h = xb_mix64(c->seed[0] ^ ((uint64_t)rule << 8) ^ a->family);
	h = xb_mix64(h ^ w[0]);
	h = xb_mix64(h ^ w[1] ^ c->seed[1]);
	return (uint32_t)(h >> 32);
}

static bool key_eq(const struct centry *e, uint32_t rule, const struct xb_addr *a)
{
	uint64_t x[2], y[2];

	memcpy(x, e->src.bytes, 16);    /* two word compares, no memcmp call */
	memcpy(y, a->bytes, 16);
	return e->rule == rule && e->src.family == a->family && x[0] == y[0] && x[1] == y[1];
}

static void lru_unlink(struct xb_correlator *c, uint32_t i)
{
	struct centry *e = &c->e[i];

	if (e->prev != NIL)
		c->e[e->prev].next = e->next;
	else
		c->lru_head = e->next;
	if (e->next != NIL)
		c->e[e->next].prev = e->prev;
	else
		c->lru_tail = e->prev;
}

static void lru_push_front(struct xb_correlator *c, uint32_t i)
{
	struct centry *e = &c->e[i];

	e->prev = NIL;
	e->next = c->lru_head;
	if (c->lru_head != NIL)
		c->e[c->lru_head].prev = i;
	c->lru_head = i;
	if (c->lru_tail == NIL)
		c->lru_tail = i;
}

static void hash_remove(struct xb_correlator *c, uint32_t i)
{
	uint32_t *pp = &c->bucket[hash(c, c->e[i].rule, &c->e[i].src) & (c->nbuckets - 1)];

	while (*pp != NIL && *pp != i)
		pp = &c->e[*pp].hnext;
	if (*pp == i)
		*pp = c->e[i].hnext;
}

static uint32_t lookup(struct xb_correlator *c, uint32_t rule, const struct xb_addr *a, uint32_t h)
{
	for (uint32_t i = c->bucket[h & (c->nbuckets - 1)]; i != NIL; i = c->e[i].hnext)
		if (key_eq(&c->e[i], rule, a))
			return i;
	return NIL;
}

/* The key of rule ri for ev, false when the rule cannot count it. */
static bool make_key(const struct rule *r, const struct xb_event *ev, struct xb_addr *key)
{
	memset(key, 0, sizeof(*key));
	if (!r->same_source_ip)
		return true;
	if (!ev->has_src)
		return false;
	key->family = ev->src.family;
	memcpy(key->bytes, ev->src.bytes, ev->src.family == 4 ? 4 : 16);
	return true;
}

/* The entry of (ri, key), made (or taken from the oldest) when absent. */
static uint32_t entry_get(struct xb_correlator *c, uint32_t ri, const struct xb_addr *key)
{
	uint32_t h = hash(c, ri, key), i = lookup(c, ri, key, h);
	struct centry *e;

	if (i != NIL) {
		lru_unlink(c, i);
		lru_push_front(c, i);
		return i;
	}
	if (c->free_head != NIL) {
		i = c->free_head;
		c->free_head = c->e[i].next;
		c->used++;
	} else {
		i = c->lru_tail;        /* oldest goes */
		lru_unlink(c, i);
		hash_remove(c, i);
		c->evictions++;
	}
	e = &c->e[i];
	e->rule = ri;
	e->src = *key;
	e->count = e->head = 0;
	e->ignore_until = 0;
	e->hnext = c->bucket[h & (c->nbuckets - 1)];
	c->bucket[h & (c->nbuckets - 1)] = i;
	lru_push_front(c, i);
	return i;
}

void xb_corr_push(struct xb_correlator *c, const struct xb_ruleset *rs, uint32_t ri,
		  const struct xb_event *ev, int64_t now)
{
	const struct rule *r = &rs->r[ri];
	struct xb_addr key;
	struct centry *e;
	uint32_t i;

	if (!c || !make_key(r, ev, &key))
		return;
	i = entry_get(c, ri, &key);
	e = &c->e[i];
	c->ring[(size_t)i * c->ring_slots + e->head] = now;
	e->head = (e->head + 1) % r->frequency;
	if (e->count < r->frequency)
		e->count++;
}

/*
 * The line being matched is the frequency-th when frequency - 1 earlier
 * lines are in the ring: the ring holds results only (as in Wazuh), and
 * the line itself is still on its way down the tree.
 */
bool xb_corr_fires(struct xb_correlator *c, const struct xb_ruleset *rs, uint32_t ri,
		   const struct xb_event *ev, int64_t now)
{
	const struct rule *r = &rs->r[ri];
	struct xb_addr key;
	uint32_t i;
	struct centry *e;
	int64_t oldest;

	if (!c || !make_key(r, ev, &key))
		return false;
	if (r->frequency > 1) {
		i = lookup(c, ri, &key, hash(c, ri, &key));
		if (i == NIL || c->e[i].count + 1 < r->frequency)
			return false;
	} else {
		i = entry_get(c, ri, &key);     /* it holds the ignore time */
	}
	e = &c->e[i];
	if (e->ignore_until && now < e->ignore_until)
		return false;
	if (r->frequency > 1) {
		/* the oldest of the last frequency - 1 stamps */
		oldest = c->ring[(size_t)i * c->ring_slots + (e->head + 1) % r->frequency];
		if (now - oldest > (int64_t)r->timeframe * 1000000)
			return false;
	}
	e->count = 0;           /* a new window starts after firing */
	e->head = 0;
	e->ignore_until = r->ignore ? now + (int64_t)r->ignore * 1000000 : 0;
	return true;
}
