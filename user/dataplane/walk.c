// SPDX-License-Identifier: GPL-2.0
/*
 * Walks of the maps: every entry of a trie or a hash, and on top of them
 * every ban (tables, then tries, each with its reason) and every allow entry.
 */
#include <stdlib.h>
#include <unistd.h>

#include "dataplane/internal.h"
#include "common/util.h"

/* All keys of a (small) trie, collected first: a trie's next-key walk
 * restarts when the current key is deleted under it. */
static int lpm_keys(int fd, size_t ksz, union xb_key **out, size_t *n)
{
	union xb_key *keys = NULL, cur, next;
	size_t cap = 0, cnt = 0;
	void *prev = NULL;
	int err;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		err = xb_grow(&keys, &cap, cnt, sizeof(*keys), 64);
		if (err) {
			free(keys);
			return err;
		}
		memset(&keys[cnt], 0, sizeof(keys[cnt]));
		memcpy(&keys[cnt++], &next, ksz);
		cur = next;
		prev = &cur;
	}
	*out = keys;
	*n = cnt;
	return 0;
}

/* Does this very prefix exist? The whole trie is walked: only for bans
 * written without their prefix length (XB_BAN_PLEN_MASK), by older versions. */
static bool pfx_walk_exists(int fd, const union xb_key *k, size_t ksz)
{
	union xb_key *keys;
	size_t n;
	bool hit = false;

	if (lpm_keys(fd, ksz, &keys, &n))
		return false;
	for (size_t i = 0; i < n && !hit; i++)
		hit = !memcmp(&keys[i], k, ksz);
	free(keys);
	return hit;
}

int dp_pfx_get(int fd, const union xb_key *k, size_t ksz, struct xb_ban *out)
{
	unsigned plen;

	/* Longest-match: what comes back is this prefix or one covering it. */
	if (bpf_map_lookup_elem(fd, k, out))
		return -ENOENT;
	plen = (out->flags & XB_BAN_PLEN_MASK) >> XB_BAN_PLEN_SHIFT;
	if (plen)
		return plen - 1 == k->l4.prefixlen ? 0 : -ENOENT;
	return pfx_walk_exists(fd, k, ksz) && !bpf_map_lookup_elem(fd, k, out) ? 0 : -ENOENT;
}

bool dp_pfx_exists(int fd, const union xb_key *k, size_t ksz)
{
	struct xb_ban v;

	return dp_pfx_get(fd, k, ksz, &v) == 0;
}

int dp_walk_hash(struct xb_dp *dp, int fd, int family, size_t ksz, size_t vsz,
		 dp_kv_cb cb, void *ctx)
{
	uint8_t *keys = malloc(BATCH_CHUNK * ksz), *vals = malloc(BATCH_CHUNK * vsz);
	__u64 in_batch = 0, out_batch = 0;
	bool first = true;
	int err = 0;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		__u32 count = BATCH_CHUNK;
		int berr = bpf_map_lookup_batch(fd, first ? NULL : &in_batch, &out_batch,
						keys, vals, &count, NULL);

		if (berr && berr != -ENOENT) {
			err = berr;
			goto out;
		}
		for (__u32 i = 0; i < count; i++) {
			err = cb(dp, family, keys + i * ksz, vals + i * vsz, ctx);
			if (err)
				goto out;
		}
		if (berr == -ENOENT)
			break;
		in_batch = out_batch;
		first = false;
	}
out:
	free(keys);
	free(vals);
	return err;
}

int dp_walk_lpm(struct xb_dp *dp, int fd, int family, size_t ksz, void *val,
		dp_kv_cb cb, void *ctx)
{
	union xb_key *keys;
	size_t n;
	int err;

	err = lpm_keys(fd, ksz, &keys, &n);
	if (err)
		return err;
	for (size_t i = 0; i < n && !err; i++) {
		if (bpf_map_lookup_elem(fd, &keys[i], val))
			continue;       /* removed meanwhile */
		err = cb(dp, family, &keys[i], val, ctx);
	}
	free(keys);
	return err;
}

/* The address or prefix of a trie key. */
static void addr_from_lpm(struct xb_addr *a, int family, const void *key)
{
	if (family == 4)
		addr_from(a, 4, ((const struct xb_lpm4 *)key)->prefixlen,
			  &((const struct xb_lpm4 *)key)->addr);
	else
		addr_from(a, 6, ((const struct xb_lpm6 *)key)->prefixlen,
			  ((const struct xb_lpm6 *)key)->addr);
}

struct ban_walk {
	xb_ban_cb cb;
	void *ctx;
	bool prefix;
	bool has_meta;
};

static int ban_entry(struct xb_dp *dp, int family, const void *key, const void *val, void *ctx)
{
	struct ban_walk *w = ctx;
	struct xb_meta_key mk;
	struct xb_meta m;
	struct xb_addr a;

	if (!w->prefix)
		addr_from(&a, family, family == 4 ? 32 : 128, key);
	else
		addr_from_lpm(&a, family, key);
	if (w->has_meta) {
		meta_key(&a, &mk);
		if (!bpf_map_lookup_elem(dp->meta, &mk, &m))
			return w->cb(&a, val, &m, w->ctx);
	}
	return w->cb(&a, val, NULL, w->ctx);
}

#define SNAP_TRIES 8

/*
 * The bans of a table read whole, between two moves: a few tries without the
 * lock (a sweep may be compacting: moves a few ms apart), then under it. They
 * are handed on after, with no lock held: list may write to a slow pipe.
 */
static int tab_walk(struct xb_dp *dp, const struct xb_tab *tab, int family, struct ban_walk *w)
{
	struct xb_tab_snap s = { 0 };
	size_t ksz = family == 4 ? sizeof(__u32) : sizeof(struct xb_in6);
	int err = -EAGAIN;

	for (int i = 0; i < SNAP_TRIES && err == -EAGAIN; i++) {
		if (i)
			usleep(500u << i);
		err = xb_tab_snapshot(tab, true, &s);
	}
	if (err == -EAGAIN) {
		dp_lock(dp);
		err = xb_tab_snapshot(tab, false, &s);
		dp_unlock(dp);
	}
	for (size_t i = 0; !err && i < s.n; i++)
		err = ban_entry(dp, family, s.keys + i * ksz, &s.bans[i], w);
	xb_tab_snap_free(&s);
	return err;
}

int xb_dp_foreach_ban(struct xb_dp *dp, xb_ban_cb cb, void *ctx)
{
	struct ban_walk w = { .cb = cb, .ctx = ctx, .has_meta = !map_empty(dp->meta) };
	struct xb_ban v;
	int err;

	err = tab_walk(dp, &dp->tab4, 4, &w);
	if (!err)
		err = tab_walk(dp, &dp->tab6, 6, &w);
	w.prefix = true;
	if (!err)
		err = dp_walk_lpm(dp, dp->pfx4, 4, sizeof(struct xb_lpm4), &v, ban_entry, &w);
	if (!err)
		err = dp_walk_lpm(dp, dp->pfx6, 6, sizeof(struct xb_lpm6), &v, ban_entry, &w);
	return err;
}

struct allow_walk {
	xb_allow_cb cb;
	void *ctx;
};

static int allow_entry(struct xb_dp *dp, int family, const void *key, const void *val, void *ctx)
{
	struct allow_walk *w = ctx;
	struct xb_addr a;

	addr_from_lpm(&a, family, key);
	return w->cb(&a, val, w->ctx);
}

int xb_dp_foreach_allow(struct xb_dp *dp, xb_allow_cb cb, void *ctx)
{
	struct allow_walk w = { .cb = cb, .ctx = ctx };
	struct xb_allow v;
	int err;

	err = dp_walk_lpm(dp, dp->allow4, 4, sizeof(struct xb_lpm4), &v, allow_entry, &w);
	if (!err)
		err = dp_walk_lpm(dp, dp->allow6, 6, sizeof(struct xb_lpm6), &v, allow_entry, &w);
	return err;
}
