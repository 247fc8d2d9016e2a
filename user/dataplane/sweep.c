// SPDX-License-Identifier: GPL-2.0
/*
 * Removing bans in bulk: the expired ones (sweep) or all of them (flush),
 * and the reasons whose ban is gone. The allow list is never touched.
 */
#include <stdlib.h>

#include "dataplane/internal.h"
#include "common/util.h"

/* Keys collected by a walk, deleted afterwards (never under the walk). */
struct keylist {
	uint8_t *keys;
	size_t n, cap, ksz;
	uint64_t now;           /* 0: take every key */
};

static int keylist_add(struct keylist *l, const void *key)
{
	int err = xb_grow(&l->keys, &l->cap, l->n, l->ksz, 1024);

	if (err)
		return err;
	memcpy(l->keys + l->n++ * l->ksz, key, l->ksz);
	return 0;
}

static int collect_expired(struct xb_dp *dp, int family, const void *key, const void *val, void *ctx)
{
	const struct xb_ban *b = val;
	struct keylist *l = ctx;

	if (l->now && (!b->expires || b->expires > l->now))
		return 0;
	return keylist_add(l, key);
}

static int delete_keys(int fd, struct keylist *l, size_t *removed)
{
	for (size_t i = 0; i < l->n; i++) {
		int err = bpf_map_delete_elem(fd, l->keys + i * l->ksz);

		if (!err && removed)
			(*removed)++;
		else if (err && err != -ENOENT)     /* the program may have beaten us */
			return err;
	}
	return 0;
}

/* Delete the prefix bans of one trie expired at now (all when now is 0). */
static int purge(struct xb_dp *dp, int fd, int family, size_t ksz, uint64_t now,
		 size_t *removed)
{
	struct keylist l = { .ksz = ksz, .now = now };
	struct xb_ban v;
	int err;

	err = dp_walk_lpm(dp, fd, family, ksz, &v, collect_expired, &l);
	if (!err)
		err = delete_keys(fd, &l, removed);
	free(l.keys);
	return err;
}

int dp_sweep_pfx(struct xb_dp *dp, int family, uint64_t now, size_t *removed)
{
	*removed = 0;
	return purge(dp, family == 4 ? dp->pfx4 : dp->pfx6, family, lpm_ksz(family), now,
		     removed);
}

/* Reasons whose ban is gone (expired in the program, or flushed). */
static int collect_orphan(struct xb_dp *dp, int family, const void *key, const void *val, void *ctx)
{
	const struct xb_meta_key *mk = key;
	struct keylist *l = ctx;
	struct xb_addr a;
	union xb_key k;
	bool prefix;
	int fd;

	addr_from(&a, mk->family, mk->prefixlen, mk->addr);
	if (!l->now || !ban_slot(dp, &a, &fd, &k, &prefix))
		return keylist_add(l, key);
	if (prefix ? !dp_pfx_exists(fd, &k, lpm_ksz(a.family))
		   : !xb_tab_find(tab_of(dp, &a), a.bytes))
		return keylist_add(l, key);
	return 0;
}

static int purge_meta(struct xb_dp *dp, bool all)
{
	struct keylist l = { .ksz = sizeof(struct xb_meta_key), .now = !all };
	int err;

	if (map_empty(dp->meta))
		return 0;
	err = dp_walk_hash(dp, dp->meta, 0, sizeof(struct xb_meta_key), sizeof(struct xb_meta),
			   collect_orphan, &l);
	if (!err)
		err = delete_keys(dp->meta, &l, NULL);
	free(l.keys);
	return err;
}

static int purge_all(struct xb_dp *dp, uint64_t now, size_t *removed)
{
	size_t n;
	int err;

	dp_lock(dp);
	n = xb_tab_sweep(&dp->tab4, now) + xb_tab_sweep(&dp->tab6, now);
	if (removed)
		*removed += n;
	err = purge(dp, dp->pfx4, 4, lpm_ksz(4), now, removed);
	if (!err)
		err = purge(dp, dp->pfx6, 6, lpm_ksz(6), now, removed);
	if (!err)
		err = purge_meta(dp, now == 0);
	if (!err)
		dp_ctl_refresh(dp);
	dp_unlock(dp);
	return err;
}

int xb_dp_sweep(struct xb_dp *dp, size_t *removed)
{
	if (removed)
		*removed = 0;
	return purge_all(dp, xb_now_mono_ns(), removed);
}

int xb_dp_flush(struct xb_dp *dp)
{
	return purge_all(dp, 0, NULL);
}
