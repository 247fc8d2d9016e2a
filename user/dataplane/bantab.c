// SPDX-License-Identifier: GPL-2.0
/*
 * bantab.c - the exact-ban hash tables, written through mmap.
 *
 * The XDP program reads an address's two buckets (xb_buckets of its seeded
 * hash), whole. The order of the stores below is what keeps a concurrent
 * reader right (bantab.h: the protocol). An insert into two full buckets
 * moves bans to their other bucket (make_room); sweeps drop the second copy
 * a killed writer may leave, and empty retired slots.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dataplane/bantab.h"
#include "common/util.h"

int xb_ctl_map(int ctl_fd, struct xb_ctl **out)
{
	struct xb_ctl *c;
	__u64 seed = 0, zero = 0;

	c = mmap(NULL, sysconf(_SC_PAGESIZE), PROT_READ | PROT_WRITE, MAP_SHARED, ctl_fd, 0);
	if (c == MAP_FAILED)
		return -errno;
	/* First use of these maps: pick the seed. Two processes racing here
	 * agree on whichever seed lands first. */
	if (!__atomic_load_n(&c->seed, __ATOMIC_ACQUIRE)) {
		while (!seed)
			if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed)) {
				munmap(c, sysconf(_SC_PAGESIZE));
				return -EIO;
			}
		__atomic_compare_exchange_n(&c->seed, &zero, seed, false,
					    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
	}
	*out = c;
	return 0;
}

void xb_ctl_unmap(struct xb_ctl *ctl)
{
	if (ctl)
		munmap(ctl, sysconf(_SC_PAGESIZE));
}

uint32_t xb_tab_cap(uint32_t nslots)
{
	uint64_t c = (uint64_t)nslots * 4 / 5;

	while (c < XB_MAX_MAX_BANS && xb_tab_slots(c + 1) <= nslots)
		c++;
	while (c && xb_tab_slots(c) > nslots)
		c--;
	return (uint32_t)c;
}

int xb_tab_map(struct xb_tab *t, int family, int map_fd, struct xb_ctl *ctl)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), zero = 0, *ns;
	size_t page = sysconf(_SC_PAGESIZE);
	void *m;

	memset(t, 0, sizeof(*t));
	t->cnt_fd = -1;
	if (family != 4 && family != 6)
		return -EINVAL;
	if (bpf_obj_get_info_by_fd(map_fd, &info, &len))
		return -errno;
	t->family = family;
	t->slot_sz = family == 4 ? sizeof(struct xb_slot4) : sizeof(struct xb_slot6);
	/* An element is a bucket; two at least (a key needs two). */
	if (info.type != BPF_MAP_TYPE_ARRAY || info.value_size != t->slot_sz * XB_BUCKET ||
	    !(info.map_flags & BPF_F_MMAPABLE) || info.max_entries < 2 ||
	    info.max_entries > UINT32_MAX / XB_BUCKET)
		return -EINVAL;
	t->nslots = info.max_entries * XB_BUCKET;
	t->cap = xb_tab_cap(t->nslots);
	if ((family == 4 ? ctl->cap4 : ctl->cap6) && (family == 4 ? ctl->cap4 : ctl->cap6) < t->cap)
		t->cap = family == 4 ? ctl->cap4 : ctl->cap6;
	ns = family == 4 ? &ctl->nslots4 : &ctl->nslots6;
	if (!__atomic_compare_exchange_n(ns, &zero, t->nslots, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) && zero != t->nslots)
		return -EINVAL;
	t->map_len = ((size_t)t->nslots * t->slot_sz + page - 1) / page * page;
	m = mmap(NULL, t->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
	if (m == MAP_FAILED)
		return -errno;
	t->slots = m;
	t->ctl = ctl;
	t->live = family == 4 ? &ctl->live4 : &ctl->live6;
	t->dead = family == 4 ? &ctl->dead4 : &ctl->dead6;
	return 0;
}

int xb_tab_set_cap(struct xb_tab *t, uint32_t want)
{
	uint32_t *c = t->family == 4 ? &t->ctl->cap4 : &t->ctl->cap6, zero = 0;

	if (!want || want > xb_tab_cap(t->nslots))
		return -EINVAL;
	__atomic_compare_exchange_n(c, &zero, want, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
	t->cap = __atomic_load_n(c, __ATOMIC_ACQUIRE);
	return 0;
}

void xb_tab_unmap(struct xb_tab *t)
{
	if (t && t->slots)
		munmap(t->slots, t->map_len);
	if (t) {
		t->slots = NULL;
		free(t->pcpu);
		t->pcpu = NULL;
		t->cnt_fd = -1;
	}
}

int xb_tab_use_counters(struct xb_tab *t, int cnt_fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int ncpu = libbpf_num_possible_cpus();

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	if (bpf_obj_get_info_by_fd(cnt_fd, &info, &len))
		return -errno;
	if (info.type != BPF_MAP_TYPE_PERCPU_ARRAY || info.value_size != sizeof(struct xb_cnt) ||
	    info.max_entries != t->nslots)
		return -EINVAL;
	free(t->pcpu);
	t->pcpu = calloc(ncpu, sizeof(*t->pcpu));
	if (!t->pcpu)
		return -ENOMEM;
	t->ncpu = ncpu;
	t->cnt_fd = cnt_fd;
	return 0;
}

bool xb_tab_counters_fit(uint32_t nslots, int ncpu)
{
	return ncpu > 0 && (uint64_t)nslots * ncpu * sizeof(struct xb_cnt) <= XB_CNT_PERCPU_MAX;
}

/* --- the program's per-CPU counters of a slot ----------------------------- */

/* Add slot i's per-CPU counts to *b. */
static void cnt_add(const struct xb_tab *t, uint32_t i, struct xb_ban *b)
{
	if (t->cnt_fd < 0 || bpf_map_lookup_elem(t->cnt_fd, &i, t->pcpu))
		return;
	for (int c = 0; c < t->ncpu; c++) {
		b->packets += t->pcpu[c].packets;
		b->bytes += t->pcpu[c].bytes;
	}
}

/* Zero slot i's counters: it was retired, a later ban there starts from 0.
 * A frame the program counts between the read before this and this (it found
 * the slot LIVE just before the retirement) is lost. */
static void cnt_zero(const struct xb_tab *t, uint32_t i)
{
	if (t->cnt_fd < 0)
		return;
	memset(t->pcpu, 0, t->ncpu * sizeof(*t->pcpu));
	bpf_map_update_elem(t->cnt_fd, &i, t->pcpu, BPF_ANY);
}

/* --- slots ---------------------------------------------------------------- */

static void *slot(const struct xb_tab *t, uint32_t i)
{
	return t->slots + (size_t)i * t->slot_sz;
}

static uint32_t *state(const struct xb_tab *t, uint32_t i)
{
	if (t->family == 4)
		return &((struct xb_slot4 *)slot(t, i))->state;
	return &((struct xb_slot6 *)slot(t, i))->state;
}

static struct xb_ban *ban(const struct xb_tab *t, uint32_t i)
{
	if (t->family == 4)
		return &((struct xb_slot4 *)slot(t, i))->ban;
	return &((struct xb_slot6 *)slot(t, i))->ban;
}

static void *key_of(const struct xb_tab *t, uint32_t i)
{
	if (t->family == 4)
		return &((struct xb_slot4 *)slot(t, i))->addr;
	return &((struct xb_slot6 *)slot(t, i))->addr;
}

static size_t key_sz(const struct xb_tab *t)
{
	return t->family == 4 ? sizeof(__u32) : sizeof(struct xb_in6);
}

/* The two buckets of key. */
static void buckets(const struct xb_tab *t, const void *key, uint32_t b[2])
{
	__u64 h;

	if (t->family == 4) {
		__u32 a;

		memcpy(&a, key, sizeof(a));
		h = xb_hash4(a, t->ctl->seed);
	} else {
		struct xb_in6 a;

		memcpy(&a, key, sizeof(a));
		h = xb_hash6(&a, t->ctl->seed);
	}
	xb_buckets(h, t->nslots, &b[0], &b[1]);
}

/* The k-th slot (0 .. 2 * XB_BUCKET - 1) key may sit in, in the order the
 * program reads them. */
static uint32_t cand(const uint32_t b[2], uint32_t k)
{
	return b[k / XB_BUCKET] * XB_BUCKET + k % XB_BUCKET;
}

static bool holds(const struct xb_tab *t, uint32_t i, const void *key)
{
	return *state(t, i) == XB_SLOT_LIVE && !memcmp(key_of(t, i), key, key_sz(t));
}

/*
 * Look key up as the program does. Returns the first LIVE slot holding key,
 * or -ENOENT; *free gets the first slot not LIVE of its two buckets (the
 * insertion point), or -1 when both are full.
 */
static int64_t probe(const struct xb_tab *t, const void *key, int64_t *free)
{
	uint32_t b[2];

	buckets(t, key, b);
	*free = -1;
	for (uint32_t k = 0; k < 2 * XB_BUCKET; k++) {
		uint32_t i = cand(b, k);

		if (holds(t, i, key))
			return i;
		if (*free < 0 && *state(t, i) != XB_SLOT_LIVE)
			*free = i;
	}
	return -ENOENT;
}

struct xb_ban *xb_tab_find(const struct xb_tab *t, const void *key)
{
	int64_t free, i = probe(t, key, &free);

	return i < 0 ? NULL : ban(t, (uint32_t)i);
}

uint32_t xb_tab_probe_len(const struct xb_tab *t, const void *key)
{
	int64_t free, i = probe(t, key, &free);
	uint32_t b[2];

	buckets(t, key, b);
	/* Whole buckets: the first only for a ban found there. */
	return i >= 0 && (uint32_t)i / XB_BUCKET == b[0] ? XB_BUCKET : 2 * XB_BUCKET;
}

int xb_tab_get(const struct xb_tab *t, const void *key, struct xb_ban *out)
{
	int64_t free, i = probe(t, key, &free);

	if (i < 0)
		return -ENOENT;
	*out = *ban(t, (uint32_t)i);
	cnt_add(t, (uint32_t)i, out);
	return 0;
}

/* --- the writer's stores (bantab.h: the protocol) ------------------------- */

static void publish(struct xb_tab *t, uint32_t i, const void *key, const struct xb_ban *v)
{
	memcpy(key_of(t, i), key, key_sz(t));
	*ban(t, i) = *v;
	__atomic_store_n(state(t, i), XB_SLOT_LIVE, __ATOMIC_RELEASE);
}

static void retire(struct xb_tab *t, uint32_t i)
{
	__atomic_store_n(state(t, i), XB_SLOT_DEAD, __ATOMIC_RELEASE);
}

/* Retire slot i of a ban leaving the table: its counts go with it. */
static void retire_gone(struct xb_tab *t, uint32_t i)
{
	retire(t, i);
	cnt_zero(t, i);
}

/* moves + by: odd while a move (or the drop of a copy) is under way, even
 * between them, so that a snapshot can tell it read the table between two
 * moves (xb_tab_snapshot); the program only asks whether it changed. */
static void moves_bump(struct xb_tab *t, uint32_t by)
{
	__atomic_store_n(&t->ctl->moves, t->ctl->moves + by, __ATOMIC_RELEASE);
}

/*
 * Retire slot p, a copy of the ban whose first copy is in slot first, inside
 * a moves bracket: moves changed before the retirement, so a reader that
 * passed first before it was published and reaches p after probes again.
 * The counts p had, in its slot and per CPU, go to first's slot (the
 * program's adds landing on p between their read and cnt_zero are lost).
 */
static void fold_copy(struct xb_tab *t, uint32_t p, uint32_t first)
{
	struct xb_ban *from = ban(t, p), *to = ban(t, first), c = { 0 };

	retire(t, p);
	c.packets = __atomic_load_n(&from->packets, __ATOMIC_RELAXED);
	c.bytes = __atomic_load_n(&from->bytes, __ATOMIC_RELAXED);
	cnt_add(t, p, &c);
	cnt_zero(t, p);
	__atomic_fetch_add(&to->packets, c.packets, __ATOMIC_RELAXED);
	__atomic_fetch_add(&to->bytes, c.bytes, __ATOMIC_RELAXED);
}

static void drop_copy(struct xb_tab *t, uint32_t p, uint32_t first)
{
	moves_bump(t, 1);
	fold_copy(t, p, first);
	moves_bump(t, 1);
}

/* Move the ban in slot p to the free slot d (its other bucket): publish a
 * copy (counters from zero), then drop the original. moves also changes
 * between the two (+2, still odd): a reader that found d not yet published
 * read moves before that, and one that found p retired reads it after, so
 * the two readings differ even when both fall inside the bracket. */
static void move(struct xb_tab *t, uint32_t p, uint32_t d)
{
	struct xb_ban v = *ban(t, p);

	if (*state(t, d) != XB_SLOT_DEAD)
		(*t->dead)++;   /* d EMPTY: p's slot is one DEAD more */
	v.packets = v.bytes = 0;
	moves_bump(t, 1);
	publish(t, d, key_of(t, p), &v);
	moves_bump(t, 2);
	fold_copy(t, p, d);
	moves_bump(t, 1);
}

/* Retire every copy of key in its buckets; returns how many. */
static uint32_t retire_all(struct xb_tab *t, const void *key)
{
	uint32_t b[2], n = 0;

	buckets(t, key, b);
	for (uint32_t k = 0; k < 2 * XB_BUCKET; k++) {
		uint32_t i = cand(b, k);

		if (holds(t, i, key)) {
			retire_gone(t, i);
			n++;
		}
	}
	return n;
}

/* --- making room ---------------------------------------------------------- */

#define KICK_NODES 512          /* slots one search for room may visit */

struct kick {
	uint32_t slot;
	int32_t parent;         /* index in the queue, -1 for a slot of the key's own */
};

static bool on_path(const struct kick *q, int32_t at, uint32_t slot)
{
	for (; at >= 0; at = q[at].parent)
		if (q[at].slot == slot)
			return true;
	return false;
}

/* The bucket of the ban in slot s that s is not in. */
static uint32_t other_bucket(const struct xb_tab *t, uint32_t s)
{
	uint32_t b[2];

	buckets(t, key_of(t, s), b);
	return b[0] == s / XB_BUCKET ? b[1] : b[0];
}

/*
 * Both buckets of key are full: find the shortest chain of bans, each to go
 * to its other bucket, that ends at a free slot (breadth first), and move
 * them from the far end, so that every move lands in a free slot and every
 * ban stays in one of its buckets all along. Returns the slot of key's
 * buckets so freed, or -ENOSPC.
 */
static int64_t make_room(struct xb_tab *t, const void *key)
{
	struct kick q[KICK_NODES];
	uint32_t b[2], n = 0;

	buckets(t, key, b);
	for (uint32_t k = 0; k < 2 * XB_BUCKET; k++)
		q[n++] = (struct kick){ cand(b, k), -1 };
	for (uint32_t h = 0; h < n; h++) {
		uint32_t alt = other_bucket(t, q[h].slot);

		for (uint32_t j = 0; j < XB_BUCKET; j++) {
			uint32_t to = alt * XB_BUCKET + j;

			if (*state(t, to) == XB_SLOT_LIVE)
				continue;
			for (int32_t c = (int32_t)h; c >= 0; c = q[c].parent) {
				move(t, q[c].slot, to);
				to = q[c].slot;
			}
			return to;
		}
		for (uint32_t j = 0; j < XB_BUCKET && n < KICK_NODES; j++) {
			uint32_t s = alt * XB_BUCKET + j;

			if (!on_path(q, (int32_t)h, s))
				q[n++] = (struct kick){ s, (int32_t)h };
		}
	}
	return -ENOSPC;
}

/* --- tidying -------------------------------------------------------------- */

/* Drop the later copy of any key found twice (a writer killed inside a
 * move); the program stops at the first. */
static void compact(struct xb_tab *t)
{
	/* Odd with the writers' lock held: a writer was killed inside a move. */
	if (t->ctl->moves & 1)
		moves_bump(t, 1);
	for (uint32_t p = 0; p < t->nslots; p++) {
		int64_t free, first;

		if (*state(t, p) != XB_SLOT_LIVE)
			continue;
		first = probe(t, key_of(t, p), &free);
		if (first >= 0 && (uint32_t)first != p)
			drop_copy(t, p, (uint32_t)first);
	}
}

/*
 * Turn every DEAD slot into EMPTY (no lookup stops at either: the two only
 * tell a retired slot from one never used) and recount live and dead from
 * the slots, so a writer killed mid-update leaves the counts wrong only
 * until the next sweep.
 */
static void reclaim(struct xb_tab *t)
{
	uint32_t live = 0;

	for (uint32_t p = 0; p < t->nslots; p++) {
		uint32_t st = *state(t, p);

		if (st == XB_SLOT_LIVE)
			live++;
		else if (st == XB_SLOT_DEAD)
			__atomic_store_n(state(t, p), XB_SLOT_EMPTY, __ATOMIC_RELEASE);
	}
	*t->live = live;
	*t->dead = 0;
}

int xb_tab_put(struct xb_tab *t, const void *key, const struct xb_ban *v, bool *created)
{
	int64_t free, i = probe(t, key, &free);
	struct xb_ban *b, nv;

	if (i >= 0) {
		/* Re-arm in place: the counters the program is adding to stay. */
		b = ban(t, (uint32_t)i);
		__atomic_store_n(&b->expires, v->expires, __ATOMIC_RELAXED);
		b->rule = v->rule;
		b->offence = v->offence;
		b->flags = v->flags;
		if (created)
			*created = false;
		return 0;
	}
	if (*t->live >= t->cap)
		return -ENOSPC;
	if (free < 0 && (free = make_room(t, key)) < 0)
		return -ENOSPC;
	if (*state(t, (uint32_t)free) == XB_SLOT_DEAD)
		(*t->dead)--;
	nv = *v;
	nv.packets = nv.bytes = 0;
	publish(t, (uint32_t)free, key, &nv);
	(*t->live)++;
	if (created)
		*created = true;
	return 0;
}

int xb_tab_del(struct xb_tab *t, const void *key)
{
	uint32_t n = retire_all(t, key);

	if (!n)
		return -ENOENT;
	(*t->live)--;
	*t->dead += n;
	return 0;       /* retired slots are reused by inserts, emptied by sweeps */
}

/* Is slot i, LIVE with key, a later copy of a ban whose first copy is
 * elsewhere? */
static bool later_copy(const struct xb_tab *t, uint32_t i, const void *key)
{
	int64_t free, first = probe(t, key, &free);

	return first >= 0 && (uint32_t)first != i;
}

static int snap_add(struct xb_tab_snap *s, size_t ksz, const void *key, const struct xb_ban *b,
		    uint32_t at)
{
	int err = xb_grow(&s->keys, &s->cap_keys, s->n, ksz, 1024);

	if (!err)
		err = xb_grow(&s->bans, &s->cap_bans, s->n, sizeof(*s->bans), 1024);
	if (!err)
		err = xb_grow(&s->at, &s->cap_at, s->n, sizeof(*s->at), 1024);
	if (err)
		return err;
	memcpy(s->keys + s->n * ksz, key, ksz);
	s->at[s->n] = at;
	s->bans[s->n++] = *b;
	return 0;
}

#define CNT_BATCH 1024          /* entries per batched read of a cnt map */

/* The per-CPU counts of the snapshot's slots, added to its bans: one lookup
 * a slot for a few, else the whole map read in batches. */
static int snap_counts(const struct xb_tab *t, struct xb_tab_snap *s)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	uint64_t *sum = NULL;
	struct xb_cnt *vals = NULL;
	__u32 *keys = NULL, batch = 0, count;
	bool first = true;
	int err = 0;

	if (t->cnt_fd < 0)
		return 0;
	if (s->n < t->nslots / 64) {
		for (size_t i = 0; i < s->n; i++)
			cnt_add(t, s->at[i], &s->bans[i]);
		return 0;
	}
	sum = calloc((size_t)t->nslots * 2, sizeof(*sum));
	keys = calloc(CNT_BATCH, sizeof(*keys));
	vals = calloc((size_t)CNT_BATCH * t->ncpu, sizeof(*vals));
	if (!sum || !keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		count = CNT_BATCH;
		err = bpf_map_lookup_batch(t->cnt_fd, first ? NULL : &batch, &batch, keys, vals,
					   &count, &bo);
		first = false;
		if (err && err != -ENOENT)
			goto out;
		for (__u32 k = 0; k < count; k++) {
			if (keys[k] >= t->nslots)
				continue;
			for (int c = 0; c < t->ncpu; c++) {
				sum[keys[k] * 2] += vals[k * t->ncpu + c].packets;
				sum[keys[k] * 2 + 1] += vals[k * t->ncpu + c].bytes;
			}
		}
		if (err == -ENOENT) {
			err = 0;
			break;
		}
	}
	for (size_t i = 0; i < s->n; i++) {
		s->bans[i].packets += sum[s->at[i] * 2];
		s->bans[i].bytes += sum[s->at[i] * 2 + 1];
	}
out:
	free(sum);
	free(keys);
	free(vals);
	return err;
}

int xb_tab_snapshot(const struct xb_tab *t, bool whole, struct xb_tab_snap *s)
{
	uint32_t m = __atomic_load_n(&t->ctl->moves, __ATOMIC_ACQUIRE);
	int err;

	s->n = 0;
	if (whole && (m & 1))
		return -EAGAIN;
	for (uint32_t i = 0; i < t->nslots; i++) {
		uint8_t key[sizeof(struct xb_in6)];
		struct xb_ban copy;

		if (__atomic_load_n(state(t, i), __ATOMIC_ACQUIRE) != XB_SLOT_LIVE)
			continue;
		memcpy(key, key_of(t, i), key_sz(t));
		if (later_copy(t, i, key))
			continue;
		copy = *ban(t, i);
		if ((err = snap_add(s, key_sz(t), key, &copy, i)))
			return err;
	}
	/* Inside the moves bracket: a move folds a slot's counts into another. */
	if ((err = snap_counts(t, s)))
		return err;
	if (whole && __atomic_load_n(&t->ctl->moves, __ATOMIC_ACQUIRE) != m)
		return -EAGAIN;
	return 0;
}

void xb_tab_snap_free(struct xb_tab_snap *s)
{
	free(s->keys);
	free(s->bans);
	free(s->at);
	memset(s, 0, sizeof(*s));
}

int xb_tab_foreach(const struct xb_tab *t, xb_tab_cb cb, void *ctx)
{
	struct xb_tab_snap s = { 0 };
	int err = xb_tab_snapshot(t, false, &s);

	for (size_t i = 0; !err && i < s.n; i++)
		err = cb(s.keys + i * key_sz(t), &s.bans[i], ctx);
	xb_tab_snap_free(&s);
	return err;
}

/* Remove the bans expired at now (all of them when now is 0), each with
 * every copy of it; a later copy goes by its first copy's deadline. */
static size_t expire(struct xb_tab *t, uint64_t now)
{
	size_t removed = 0;

	for (uint32_t i = 0; i < t->nslots; i++) {
		struct xb_ban *b = ban(t, i);
		uint8_t key[sizeof(struct xb_in6)];
		uint32_t n;

		if (*state(t, i) != XB_SLOT_LIVE)
			continue;
		if (now && (!b->expires || b->expires > now))
			continue;
		memcpy(key, key_of(t, i), key_sz(t));
		if (later_copy(t, i, key))
			continue;       /* compact drops it */
		n = retire_all(t, key);
		if (!n) {
			retire_gone(t, i);      /* off its run: no probe finds it anyway */
			n = 1;
		}
		(*t->live)--;
		*t->dead += n;
		removed++;
	}
	return removed;
}

size_t xb_tab_sweep(struct xb_tab *t, uint64_t now)
{
	size_t removed = expire(t, now);

	/* Always: besides retired slots there may be copies to drop. */
	compact(t);
	reclaim(t);
	return removed;
}
