// SPDX-License-Identifier: GPL-2.0
/*
 * Bans: insert or re-arm (one, or many batched), lift, and look one up.
 * Single addresses go to the exact-ban tables, prefixes to the tries; a
 * ban's reason, if any, is kept beside it in the meta map.
 */
#include <stdio.h>
#include <stdlib.h>

#include "dataplane/internal.h"
#include "common/log.h"
#include "common/util.h"

static int full_error(struct xb_dp *dp, bool prefix, int err)
{
	if (err == -E2BIG || err == -ENOSPC) {
		pr_warn("xdpban: %s map full (%u entries)\n", prefix ? "prefix ban" : "ban",
			prefix ? dp->max_prefix : dp->max_bans);
		return -ENOSPC;
	}
	return err;
}

static void meta_value(struct xb_meta *m, const char *reason)
{
	memset(m, 0, sizeof(*m));
	m->created = (__u64)xb_now_wall();
	snprintf(m->reason, sizeof(m->reason), "%s", reason);
}

static int meta_set(struct xb_dp *dp, const struct xb_addr *a, const char *reason)
{
	struct xb_meta_key mk;
	struct xb_meta m;
	int err;

	meta_key(a, &mk);
	meta_value(&m, reason);
	err = bpf_map_update_elem(dp->meta, &mk, &m, BPF_ANY);
	if (err)
		pr_warn("xdpban: reason not stored: %s\n",
			err == -E2BIG ? "reason map full" : strerror(-err));
	return err;
}

static void meta_del(struct xb_dp *dp, const struct xb_addr *a)
{
	struct xb_meta_key mk;

	meta_key(a, &mk);
	bpf_map_delete_elem(dp->meta, &mk);
}

/* A prefix ban: insert, or re-arm keeping the counters the program has
 * accumulated (those landing between our read and write are lost). */
static int ban_pfx(int fd, const union xb_key *k, const struct xb_ban *v, bool *created)
{
	struct xb_ban old, nv = *v;
	int err;

	for (int tries = 0; tries < 3; tries++) {
		err = bpf_map_update_elem(fd, k, &nv, BPF_NOEXIST);
		if (err != -EEXIST) {
			*created = true;
			return err;
		}
		if (bpf_map_lookup_elem(fd, k, &old))
			continue;       /* removed meanwhile: insert */
		nv.packets = old.packets;
		nv.bytes = old.bytes;
		err = bpf_map_update_elem(fd, k, &nv, BPF_EXIST);
		if (err == -ENOENT)
			continue;
		*created = false;
		return err;
	}
	return -EAGAIN;
}

/* A prefix ban, under the lock. A full trie first gives up its expired
 * prefixes (never a live one) and tries again. */
static int ban_prefix(struct xb_dp *dp, const struct xb_addr *a, int fd, const union xb_key *k,
		      const struct xb_ban *v, bool *created)
{
	int err = ban_pfx(fd, k, v, created);
	size_t n = 0;

	if ((err == -ENOSPC || err == -E2BIG) &&
	    !dp_sweep_pfx(dp, a->family, xb_now_mono_ns(), &n) && n) {
		pr_debug("xdpban: prefix ban map full: %zu expired prefix bans removed\n", n);
		err = ban_pfx(fd, k, v, created);
	}
	return err;
}

/* An exact ban, under the lock. A full table first gives up its expired
 * bans (never a live one) and tries again. */
static int ban_exact(struct xb_dp *dp, const struct xb_addr *a, const struct xb_ban *v,
		     bool *created)
{
	struct xb_tab *t = tab_of(dp, a);
	int err = xb_tab_put(t, a->bytes, v, created);

	if (err == -ENOSPC && xb_tab_sweep(t, xb_now_mono_ns()))
		err = xb_tab_put(t, a->bytes, v, created);
	/* Still full: grow it (up to the ceiling) and try once more. */
	if (err == -ENOSPC && !dp_grow(dp, a->family))
		err = xb_tab_put(tab_of(dp, a), a->bytes, v, created);
	return err;
}

static void ban_value(const struct xb_ban_req *req, struct xb_ban *v)
{
	memset(v, 0, sizeof(*v));
	v->expires = req->expires;
	v->rule = req->rule;
	v->offence = req->offence;
	v->flags = req->flags & ~XB_BAN_PLEN_MASK;
}

int xb_dp_ban(struct xb_dp *dp, const struct xb_addr *a, const struct xb_ban_req *req)
{
	struct xb_ban v;
	union xb_key k;
	bool prefix, created;
	int fd, err;

	if (!req || !ban_slot(dp, a, &fd, &k, &prefix))
		return -EINVAL;
	if (dp_is_allowed(dp, a))
		return -EPERM;
	ban_value(req, &v);
	if (prefix)
		v.flags |= (a->prefixlen + 1u) << XB_BAN_PLEN_SHIFT;
	dp_lock(dp);
	err = prefix ? ban_prefix(dp, a, fd, &k, &v, &created) : ban_exact(dp, a, &v, &created);
	if (prefix)
		dp_ctl_refresh(dp);     /* also after a sweep of a full trie */
	if (!err) {
		if (req->reason)
			meta_set(dp, a, req->reason);
		else if (created)
			meta_del(dp, a);        /* a stale reason of an earlier ban */
	} else {
		err = full_error(dp, prefix, err);
	}
	dp_unlock(dp);
	return err;
}

/*
 * The requests of a batched call: one for all (stride 0, xb_dp_ban_batch) or
 * one per address (stride 1, xb_dp_ban_many). at(r, i) is addrs[i]'s.
 */
struct reqs {
	const struct xb_ban_req *r;
	size_t stride;
};

static const struct xb_ban_req *req_at(const struct reqs *r, size_t i)
{
	return &r->r[i * r->stride];
}

static struct reqs reqs_from(const struct reqs *r, size_t i)
{
	return (struct reqs){ .r = req_at(r, i), .stride = r->stride };
}

static bool any_reason(const struct reqs *r, size_t n)
{
	for (size_t i = 0; i < (r->stride ? n : 1); i++)
		if (req_at(r, i)->reason)
			return true;
	return false;
}

/* Reasons of a run, written in batches of BATCH_CHUNK. */
struct metabuf {
	struct xb_dp *dp;
	struct xb_meta_key *keys;
	struct xb_meta *vals;
	size_t n;
};

static void meta_flush(struct metabuf *m)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bo, .elem_flags = BPF_ANY);
	__u32 count = m->n;

	if (m->n && bpf_map_update_batch(m->dp->meta, m->keys, m->vals, &count, &bo))
		pr_warn("xdpban: cannot store the reasons of bans\n");
	m->n = 0;
}

/*
 * One run of exact bans of one family, in order, under the lock. The table
 * is written through its mapping, so even a million bans take no system
 * call; only reasons go to the kernel, batched. *done counts bans stored.
 */
static int ban_run(struct xb_dp *dp, const struct xb_addr *addrs, size_t n,
		   const struct reqs *rq, size_t *done)
{
	int family = addrs[0].family;
	bool check_allow = !map_empty(family == 4 ? dp->allow4 : dp->allow6);
	struct metabuf m = { .dp = dp };
	size_t i;
	int err = 0;

	*done = 0;
	/* A bulk load that cannot fit: one growth to its size, not several
	 * (each copies the table); if it fails, ban_exact grows or refuses. */
	{
		const struct xb_tab *t = family == 4 ? &dp->tab4 : &dp->tab6;
		uint64_t need = (uint64_t)__atomic_load_n(t->live, __ATOMIC_RELAXED) + n;

		if (n > BATCH_CHUNK && need > t->cap)
			dp_grow_to(dp, family, need > UINT32_MAX ? UINT32_MAX : (uint32_t)need);
	}
	if (any_reason(rq, n)) {
		m.keys = malloc(BATCH_CHUNK * sizeof(*m.keys));
		m.vals = malloc(BATCH_CHUNK * sizeof(*m.vals));
		if (!m.keys || !m.vals) {
			err = -ENOMEM;
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		const struct xb_ban_req *req = req_at(rq, i);
		struct xb_ban v;
		bool created;

		if (check_allow && dp_is_allowed(dp, &addrs[i])) {
			err = -EPERM;
			break;
		}
		ban_value(req, &v);
		err = ban_exact(dp, &addrs[i], &v, &created);
		if (err) {
			err = full_error(dp, false, err);
			break;
		}
		if (req->reason && m.keys) {
			meta_key(&addrs[i], &m.keys[m.n]);
			meta_value(&m.vals[m.n], req->reason);
			if (++m.n == BATCH_CHUNK)
				meta_flush(&m);
		}
	}
	*done = i;
	meta_flush(&m);
out:
	free(m.keys);
	free(m.vals);
	return err;
}

/* The shared body of xb_dp_ban_batch and xb_dp_ban_many. */
static int ban_batched(struct xb_dp *dp, const struct xb_addr *addrs, size_t n,
		       const struct reqs *rq, size_t *done)
{
	size_t i = 0, d;
	int err = 0;

	if (done)
		*done = 0;
	if (!rq->r || (n && !addrs))
		return -EINVAL;
	dp_lock(dp);
	/* Runs of consecutive exact addresses of one family go batched, in
	 * order, so *done is always a prefix of addrs. */
	while (i < n) {
		size_t j = i;

		if (!addr_valid(&addrs[i])) {
			err = -EINVAL;
			break;
		}
		if (!xb_addr_is_single(&addrs[i])) {
			err = xb_dp_ban(dp, &addrs[i], req_at(rq, i));
			if (err)
				break;
			i++;
			continue;
		}
		while (j < n && addr_valid(&addrs[j]) && xb_addr_is_single(&addrs[j]) &&
		       addrs[j].family == addrs[i].family)
			j++;
		struct reqs sub = reqs_from(rq, i);

		err = ban_run(dp, addrs + i, j - i, &sub, &d);
		i += d;
		if (err)
			break;
	}
	dp_unlock(dp);
	if (done)
		*done = i;
	return err;
}

int xb_dp_ban_batch(struct xb_dp *dp, const struct xb_addr *addrs, size_t n,
		    const struct xb_ban_req *req, size_t *done)
{
	struct reqs rq = { .r = req, .stride = 0 };

	return ban_batched(dp, addrs, n, &rq, done);
}

int xb_dp_ban_many(struct xb_dp *dp, const struct xb_addr *addrs,
		   const struct xb_ban_req *reqs, size_t n, size_t *done)
{
	struct reqs rq = { .r = reqs, .stride = 1 };

	return ban_batched(dp, addrs, n, &rq, done);
}

int xb_dp_unban(struct xb_dp *dp, const struct xb_addr *a)
{
	union xb_key k;
	bool prefix;
	int fd, err;

	if (!ban_slot(dp, a, &fd, &k, &prefix))
		return -EINVAL;
	dp_lock(dp);
	/* The exact key, also in a trie. */
	err = prefix ? bpf_map_delete_elem(fd, &k) : xb_tab_del(tab_of(dp, a), a->bytes);
	if (!err) {
		meta_del(dp, a);
		if (prefix)
			dp_ctl_refresh(dp);
	}
	dp_unlock(dp);
	return err;
}

int xb_dp_lookup(struct xb_dp *dp, const struct xb_addr *a, struct xb_ban *out)
{
	union xb_key k;
	bool prefix;
	int fd;

	if (!ban_slot(dp, a, &fd, &k, &prefix))
		return -EINVAL;
	if (!prefix) {
		int err;

		/* Under the lock: another process's insert (xb_tab_put making
		 * room) may be moving this very ban, and a miss here
		 * means "lifted" to the daemon's reconciliation. */
		dp_lock(dp);
		err = xb_tab_get(tab_of(dp, a), a->bytes, out);
		dp_unlock(dp);
		return err;
	}
	return dp_pfx_get(fd, &k, lpm_ksz(a->family), out);
}

void xb_dp_hold(struct xb_dp *dp)
{
	dp_lock(dp);
}

void xb_dp_release(struct xb_dp *dp)
{
	dp_unlock(dp);
}
