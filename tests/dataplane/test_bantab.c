// SPDX-License-Identifier: GPL-2.0
/*
 * bantab (the exact-ban hash tables) on real mmapable BPF arrays made per
 * test: round trips, re-arming, buckets and retired slots (with a fixed seed
 * and keys searched for their buckets), the bucket edges, capacity, making
 * room or refusing it, sweep and its tidying, foreach, what xb_tab_map
 * refuses, the ctl seed, and randomised operations against a reference. Placement is also
 * checked with a copy of the XDP program's probe (find4/find6) and through
 * the bpf() syscall, i.e. as the kernel sees the slots; churn at capacity,
 * the probe-length bound (computed, at the highest load); and the two
 * copies of a ban a writer killed inside a move leaves. (Readers racing the
 * writer: test_bantab_race.c.)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <criterion/criterion.h>

#include "dataplane/bantab.h"
#include "xdpban.h"

/* A fixed seed makes collisions reproducible; set before any insert. */
#define SEED 0x243f6a8885a308d3ULL
#define V4_NET 0xc6120000u      /* 198.18.0.0/15: 131072 addresses */
#define V4_N 0x20000u

union key {
	__u32 a4;               /* network order */
	struct xb_in6 a6;       /* 2001:db8::/32 */
};

static struct {
	int ctl_fd, fd[2], extra[4];
	struct xb_ctl *ctl;
	struct xb_tab t[2];
} F;

static void setup(void)
{
	memset(&F, 0, sizeof(F));
	F.ctl_fd = F.fd[0] = F.fd[1] = -1;
	for (int i = 0; i < 4; i++)
		F.extra[i] = -1;
}

static void teardown(void)
{
	xb_tab_unmap(&F.t[0]);
	xb_tab_unmap(&F.t[1]);
	xb_ctl_unmap(F.ctl);
	F.ctl = NULL;
	if (F.ctl_fd >= 0)
		close(F.ctl_fd);
	for (int i = 0; i < 2; i++)
		if (F.fd[i] >= 0)
			close(F.fd[i]);
	for (int i = 0; i < 4; i++)
		if (F.extra[i] >= 0)
			close(F.extra[i]);
}

TestSuite(bantab, .init = setup, .fini = teardown);

static int mk_array(const char *name, __u32 vsz, __u32 n, __u32 flags)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = flags);
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, name, 4, vsz, n, &o);

	cr_assert(fd >= 0, "bpf_map_create(%s, %u slots): %s", name, n, strerror(errno));
	return fd;
}

static struct xb_tab *tab(int fam)
{
	return &F.t[fam == 6];
}

/* ctl plus ban4/ban6 of n4/n6 slots (whole buckets; 0: that family not made). seed 0 keeps
 * the random one xb_ctl_map chose. */
static void open_tabs(__u32 n4, __u32 n6, __u64 seed)
{
	F.ctl_fd = mk_array("xbt_ctl", sizeof(struct xb_ctl), 1, BPF_F_MMAPABLE);
	cr_assert_eq(xb_ctl_map(F.ctl_fd, &F.ctl), 0);
	if (seed)
		F.ctl->seed = seed;
	if (n4) {
		F.fd[0] = mk_array("xbt_ban4", sizeof(struct xb_bucket4), n4 / XB_BUCKET,
				   BPF_F_MMAPABLE);
		cr_assert_eq(xb_tab_map(&F.t[0], 4, F.fd[0], F.ctl), 0);
		cr_assert_eq(F.t[0].nslots, n4);
		cr_assert_eq(F.ctl->nslots4, n4);
	}
	if (n6) {
		F.fd[1] = mk_array("xbt_ban6", sizeof(struct xb_bucket6), n6 / XB_BUCKET,
				   BPF_F_MMAPABLE);
		cr_assert_eq(xb_tab_map(&F.t[1], 6, F.fd[1], F.ctl), 0);
		cr_assert_eq(F.t[1].nslots, n6);
		cr_assert_eq(F.ctl->nslots6, n6);
	}
}

/* --- keys and slots ------------------------------------------------------- */

/* The i-th test address of a family (i < V4_N for IPv4). */
static union key K(int fam, __u64 i)
{
	union key k;

	memset(&k, 0, sizeof(k));
	if (fam == 4) {
		k.a4 = htonl(V4_NET | (__u32)(i % V4_N));
	} else {
		k.a6.addr[0] = 0x20, k.a6.addr[1] = 0x01;
		k.a6.addr[2] = 0x0d, k.a6.addr[3] = 0xb8;
		for (int b = 0; b < 8; b++)
			k.a6.addr[15 - b] = (__u8)(i >> (8 * b));
	}
	return k;
}

static const char *kstr(int fam, const union key *k)
{
	static char buf[2][INET6_ADDRSTRLEN];
	static int n;

	n ^= 1;
	inet_ntop(fam == 4 ? AF_INET : AF_INET6, k, buf[n], sizeof(buf[n]));
	return buf[n];
}

static void buckets_of(int fam, const union key *k, __u32 b[2])
{
	const struct xb_tab *t = tab(fam);
	__u64 h = fam == 4 ? xb_hash4(k->a4, t->ctl->seed) : xb_hash6(&k->a6, t->ctl->seed);

	xb_buckets(h, t->nslots, &b[0], &b[1]);
}

/* The home of a key: the first slot of its first bucket, where it lands in
 * an empty table. */
static __u32 home_of(int fam, const union key *k)
{
	__u32 b[2];

	buckets_of(fam, k, b);
	return b[0] * XB_BUCKET;
}

/* n distinct keys whose home is target (so one first bucket); *cursor
 * carries on from earlier calls so keys never repeat within a test. */
static void keys_at(int fam, __u32 target, union key *out, int n, __u64 *cursor)
{
	__u64 limit = fam == 4 ? V4_N : 1ULL << 26;

	for (int got = 0; got < n; (*cursor)++) {
		cr_assert_lt(*cursor, limit, "no key with home %u left", target);
		out[got] = K(fam, *cursor);
		if (home_of(fam, &out[got]) == target)
			got++;
	}
}

static __u32 slot_state(int fam, __u32 i)
{
	const struct xb_tab *t = tab(fam);

	if (fam == 4)
		return ((const struct xb_slot4 *)t->slots)[i].state;
	return ((const struct xb_slot6 *)t->slots)[i].state;
}

static bool slot_has(int fam, __u32 i, const union key *k)
{
	const struct xb_tab *t = tab(fam);

	if (fam == 4)
		return ((const struct xb_slot4 *)t->slots)[i].addr == k->a4;
	return !memcmp(&((const struct xb_slot6 *)t->slots)[i].addr, &k->a6, sizeof(k->a6));
}

static bool slot_live_with(int fam, __u32 i, const union key *k)
{
	return slot_state(fam, i) == XB_SLOT_LIVE && slot_has(fam, i, k);
}

/*
 * The XDP program's lookup (xdpban.bpf.c find4/find6) redone over the
 * mapping: nslots from ctl, every slot of the first bucket, then of the
 * second; the first LIVE slot with the key. Returns the slot or -1.
 */
static int64_t prog_find(int fam, const union key *k)
{
	const struct xb_tab *t = tab(fam);
	__u32 n = fam == 4 ? t->ctl->nslots4 : t->ctl->nslots6, b[2];

	if (n < 2 * XB_BUCKET || n != t->nslots)
		return -1;
	buckets_of(fam, k, b);
	for (int q = 0; q < 2; q++)
		for (__u32 j = 0; j < XB_BUCKET; j++)
			if (slot_live_with(fam, b[q] * XB_BUCKET + j, k))
				return b[q] * XB_BUCKET + j;
	return -1;
}

/* Slot i as the kernel holds it, read with the bpf() syscall, not the mmap. */
static void kernel_slot(int fam, __u32 i, __u32 *state, union key *k, struct xb_ban *b)
{
	__u32 idx = i / XB_BUCKET, j = i % XB_BUCKET;

	if (fam == 4) {
		struct xb_bucket4 bk;

		cr_assert_eq(bpf_map_lookup_elem(F.fd[0], &idx, &bk), 0);
		*state = bk.s[j].state, k->a4 = bk.s[j].addr, *b = bk.s[j].ban;
	} else {
		struct xb_bucket6 bk;

		cr_assert_eq(bpf_map_lookup_elem(F.fd[1], &idx, &bk), 0);
		*state = bk.s[j].state, k->a6 = bk.s[j].addr, *b = bk.s[j].ban;
	}
}

static __u32 live_of(int fam)
{
	return fam == 4 ? F.ctl->live4 : F.ctl->live6;
}

static __u32 dead_of(int fam)
{
	return fam == 4 ? F.ctl->dead4 : F.ctl->dead6;
}

static __u32 count_state(int fam, __u32 st)
{
	__u32 n = 0;

	for (__u32 i = 0; i < tab(fam)->nslots; i++)
		n += slot_state(fam, i) == st;
	return n;
}

/* ctl's counts must be what the slots say. */
static void check_counts(int fam, __u32 live, __u32 dead)
{
	cr_assert_eq(live_of(fam), live, "IPv%d live %u, want %u", fam, live_of(fam), live);
	cr_assert_eq(dead_of(fam), dead, "IPv%d dead %u, want %u", fam, dead_of(fam), dead);
	cr_assert_eq(count_state(fam, XB_SLOT_LIVE), live);
	cr_assert_eq(count_state(fam, XB_SLOT_DEAD), dead);
}

static struct xb_ban B(__u64 expires, __u32 rule, __u16 offence, __u16 flags)
{
	return (struct xb_ban){ .expires = expires, .rule = rule, .offence = offence, .flags = flags };
}

static int put(int fam, const union key *k, __u64 expires, bool *created)
{
	struct xb_ban b = B(expires, 5712, 1, XB_BAN_F_DAEMON);

	return xb_tab_put(tab(fam), k, &b, created);
}

/* Found by bantab and by the program's probe, in the same slot. */
static struct xb_ban *must_find(int fam, const union key *k)
{
	struct xb_ban *b = xb_tab_find(tab(fam), k);
	int64_t at = prog_find(fam, k);

	cr_assert_not_null(b, "%s not found", kstr(fam, k));
	cr_assert_geq(at, 0, "%s: the program's probe misses it", kstr(fam, k));
	cr_assert_eq((void *)b, (void *)(tab(fam)->slots + at * tab(fam)->slot_sz +
					  (fam == 4 ? offsetof(struct xb_slot4, ban)
						    : offsetof(struct xb_slot6, ban))));
	return b;
}

static void must_miss(int fam, const union key *k)
{
	cr_assert_null(xb_tab_find(tab(fam), k), "%s still found", kstr(fam, k));
	cr_assert_lt(prog_find(fam, k), 0, "%s: the program still finds it", kstr(fam, k));
}

/* --- round trip, re-arm --------------------------------------------------- */

static void round_trip(int fam)
{
	union key a = K(fam, 7), b = K(fam, 8);
	struct xb_ban v = B(123456789, 5710, 3, XB_BAN_F_DAEMON), *got, kb;
	bool created = false;
	union key kk;
	__u32 st, h;

	open_tabs(fam == 4 ? 96 : 0, fam == 6 ? 96 : 0, 0);
	must_miss(fam, &a);
	cr_assert_eq(xb_tab_del(tab(fam), &a), -ENOENT);

	v.packets = 55, v.bytes = 66;   /* a new ban's counters start at zero */
	cr_assert_eq(xb_tab_put(tab(fam), &a, &v, &created), 0);
	cr_assert(created);
	got = must_find(fam, &a);
	cr_assert_eq(got->expires, 123456789);
	cr_assert_eq(got->rule, 5710);
	cr_assert_eq(got->offence, 3);
	cr_assert_eq(got->flags, XB_BAN_F_DAEMON);
	cr_assert_eq(got->packets, 0);
	cr_assert_eq(got->bytes, 0);
	must_miss(fam, &b);
	check_counts(fam, 1, 0);

	/* The kernel's view of the home slot (not the mmap) holds it, LIVE. */
	h = home_of(fam, &a);
	kernel_slot(fam, h, &st, &kk, &kb);
	cr_assert_eq(st, XB_SLOT_LIVE);
	cr_assert(!memcmp(&kk, &a, fam == 4 ? 4 : 16));
	cr_assert_eq(kb.expires, 123456789);
	cr_assert_eq(kb.rule, 5710);

	cr_assert_eq(xb_tab_del(tab(fam), &a), 0);
	must_miss(fam, &a);
	cr_assert_eq(xb_tab_del(tab(fam), &a), -ENOENT);
	check_counts(fam, 0, 1);
	kernel_slot(fam, h, &st, &kk, &kb);
	cr_assert_eq(st, XB_SLOT_DEAD);

	/* created may be NULL; putting it back revives it with fresh counters. */
	got = NULL;
	cr_assert_eq(xb_tab_put(tab(fam), &a, &v, NULL), 0);
	got = must_find(fam, &a);
	cr_assert_eq(got->packets, 0);
	check_counts(fam, 1, 0);        /* took its own tombstone back */
}

Test(bantab, round_trip4) { round_trip(4); }
Test(bantab, round_trip6) { round_trip(6); }

static void rearm(int fam)
{
	union key a = K(fam, 1000);
	struct xb_ban v = B(1000, 5710, 1, XB_BAN_F_DAEMON), *got;
	bool created = false;

	open_tabs(fam == 4 ? 96 : 0, fam == 6 ? 96 : 0, 0);
	cr_assert_eq(xb_tab_put(tab(fam), &a, &v, &created), 0);
	cr_assert(created);
	/* What the program's atomic adds would have counted. */
	got = must_find(fam, &a);
	got->packets = 7;
	got->bytes = 700;

	v = B(0, 5712, 2, XB_BAN_F_MANUAL);
	v.packets = 999, v.bytes = 999;         /* ignored on re-arm */
	cr_assert_eq(xb_tab_put(tab(fam), &a, &v, &created), 0);
	cr_assert_not(created);
	cr_assert_eq(must_find(fam, &a), got, "re-arm moved the ban");
	cr_assert_eq(got->expires, 0);
	cr_assert_eq(got->rule, 5712);
	cr_assert_eq(got->offence, 2);
	cr_assert_eq(got->flags, XB_BAN_F_MANUAL);
	cr_assert_eq(got->packets, 7);
	cr_assert_eq(got->bytes, 700);
	check_counts(fam, 1, 0);

	/* And back from permanent to a deadline. */
	v = B(5000, 5720, 3, XB_BAN_F_DAEMON | XB_BAN_F_AGGREGATE);
	created = true;
	cr_assert_eq(xb_tab_put(tab(fam), &a, &v, &created), 0);
	cr_assert_not(created);
	cr_assert_eq(got->expires, 5000);
	cr_assert_eq(got->offence, 3);
	cr_assert_eq(got->flags, XB_BAN_F_DAEMON | XB_BAN_F_AGGREGATE);
	cr_assert_eq(got->packets, 7);
	check_counts(fam, 1, 0);
}

Test(bantab, rearm_keeps_counters4) { rearm(4); }
Test(bantab, rearm_keeps_counters6) { rearm(6); }

/* --- buckets and retired slots ------------------------------------------- */

/* In which bucket of its two key sits: 0, 1, or -1 if not found. */
static int which_bucket(int fam, const union key *k)
{
	int64_t at = prog_find(fam, k);
	__u32 b[2];

	if (at < 0)
		return -1;
	buckets_of(fam, k, b);
	return (__u32)at / XB_BUCKET == b[0] ? 0 : 1;
}

static void collisions(int fam)
{
	const __u32 n = 96;
	union key k[7];
	bool created;
	__u64 cur = 0;
	struct xb_ban *b;
	__u32 h;
	int dup = 0;

	open_tabs(fam == 4 ? n : 0, fam == 6 ? n : 0, SEED);
	keys_at(fam, 40, k, 7, &cur);
	h = home_of(fam, &k[0]);
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(put(fam, &k[i], 100 + i, &created), 0);
		cr_assert(created);
	}
	/* The first bucket fills in order; the fifth goes to its second. */
	for (int i = 0; i < XB_BUCKET; i++) {
		cr_assert(slot_live_with(fam, h + i, &k[i]), "k%d not in slot %u", i, h + i);
		cr_assert_eq(must_find(fam, &k[i])->expires, 100 + i);
		cr_assert_eq(xb_tab_probe_len(tab(fam), &k[i]), XB_BUCKET);
	}
	cr_assert_eq(which_bucket(fam, &k[4]), 1);
	cr_assert_eq(must_find(fam, &k[4])->expires, 104);
	cr_assert_eq(xb_tab_probe_len(tab(fam), &k[4]), 2 * XB_BUCKET);
	cr_assert_eq(xb_tab_probe_len(tab(fam), &k[6]), 2 * XB_BUCKET, "a miss reads both");
	check_counts(fam, 5, 0);

	/* Deleting one hides none of the others. */
	b = must_find(fam, &k[2]);
	b->packets = 42;
	cr_assert_eq(xb_tab_del(tab(fam), &k[2]), 0);
	cr_assert_eq(slot_state(fam, h + 2), XB_SLOT_DEAD);
	must_miss(fam, &k[2]);
	for (int i = 0; i < 5; i++)
		if (i != 2)
			cr_assert_eq(must_find(fam, &k[i])->expires, 100 + i);
	check_counts(fam, 4, 1);

	/* A new key of that bucket takes the retired slot, with fresh counters. */
	cr_assert_eq(put(fam, &k[5], 105, &created), 0);
	cr_assert(created);
	cr_assert(slot_live_with(fam, h + 2, &k[5]), "retired slot not reused");
	cr_assert_eq(must_find(fam, &k[5])->packets, 0);
	check_counts(fam, 5, 0);

	/* A key in its second bucket is re-armed there, not added again, even
	 * with a slot of its first bucket free. */
	cr_assert_eq(xb_tab_del(tab(fam), &k[1]), 0);
	cr_assert_eq(put(fam, &k[4], 999, &created), 0);
	cr_assert_not(created);
	cr_assert_eq(which_bucket(fam, &k[4]), 1);
	cr_assert_eq(must_find(fam, &k[4])->expires, 999);
	for (__u32 i = 0; i < n; i++)
		dup += slot_live_with(fam, i, &k[4]);
	cr_assert_eq(dup, 1, "k4 is LIVE in %d slots", dup);
	check_counts(fam, 4, 1);
}

Test(bantab, buckets_and_retired_slots4) { collisions(4); }
Test(bantab, buckets_and_retired_slots6) { collisions(6); }

/* The buckets of a key are two different ones, also in the smallest table
 * (two buckets) and at the last bucket; the last slot as the kernel sees it
 * has the mapping's stride. */
static void edges(int fam)
{
	const __u32 n = 96, last = n / XB_BUCKET - 1;
	union key w;
	__u64 cur = 0;
	__u32 st, b[2];
	union key kk;
	struct xb_ban kb;

	for (__u64 h = 0; h < 100000; h++) {
		__u32 b1, b2;

		xb_buckets(xb_mix64(h), 2 * XB_BUCKET, &b1, &b2);
		cr_assert(b1 < 2 && b2 < 2 && b1 != b2);
		xb_buckets(xb_mix64(h), n, &b1, &b2);
		cr_assert(b1 <= last && b2 <= last && b1 != b2);
	}
	open_tabs(fam == 4 ? n : 0, fam == 6 ? n : 0, SEED);
	keys_at(fam, last * XB_BUCKET, &w, 1, &cur);
	for (int i = 0; i < XB_BUCKET; i++) {
		union key f;

		keys_at(fam, last * XB_BUCKET, &f, 1, &cur);
		cr_assert_eq(put(fam, &f, 1, NULL), 0);
	}
	cr_assert_eq(put(fam, &w, 10, NULL), 0);
	buckets_of(fam, &w, b);
	cr_assert_eq(which_bucket(fam, &w), 1);
	kernel_slot(fam, n - 1, &st, &kk, &kb);
	cr_assert_eq(st, XB_SLOT_LIVE);
	cr_assert_eq(kb.expires, 1);
	cr_assert_eq(must_find(fam, &w)->expires, 10);
	cr_assert_eq(xb_tab_sweep(tab(fam), 0), XB_BUCKET + 1);
	check_counts(fam, 0, 0);
	cr_assert_eq(count_state(fam, XB_SLOT_EMPTY), n);
}

Test(bantab, bucket_edges4) { edges(4); }
Test(bantab, bucket_edges6) { edges(6); }

/* --- capacity ------------------------------------------------------------- */

/* Whole buckets: a table made for n holds n, and a few more when n is not a
 * bucket's worth. */
Test(bantab, cap_inverts_slots)
{
	for (__u32 n = 1; n <= 1000; n++) {
		__u32 c = xb_tab_cap(xb_tab_slots(n));

		cr_assert(c >= n && xb_tab_slots(c) == xb_tab_slots(n), "n=%u: cap %u", n, c);
		cr_assert_eq(xb_tab_slots(n) % XB_BUCKET, 0);
		cr_assert_geq(xb_tab_slots(n), 2 * XB_BUCKET);
		cr_assert_leq((__u64)c * 5, (__u64)xb_tab_slots(n) * 4 + 5 * XB_BUCKET);
	}
	cr_assert_eq(xb_tab_cap(xb_tab_slots(1048576)), 1048576);
	cr_assert_eq(xb_tab_cap(xb_tab_slots(XB_DEF_MAX_BANS)), XB_DEF_MAX_BANS);
	/* For any size: the most bans whose xb_tab_slots fits. */
	for (__u32 s = 2 * XB_BUCKET; s <= 5000; s++) {
		__u32 c = xb_tab_cap(s);

		cr_assert_leq(xb_tab_slots(c), s, "s=%u", s);
		cr_assert_gt(xb_tab_slots(c + 1), s, "s=%u", s);
	}
}

static void full(int fam, __u32 want)
{
	__u32 n = xb_tab_slots(want), cap;
	union key extra;
	bool created = true;

	open_tabs(fam == 4 ? n : 0, fam == 6 ? n : 0, 0);
	cap = tab(fam)->cap;
	cr_assert(cap >= want && xb_tab_slots(cap) == n, "cap %u for %u", cap, want);
	extra = K(fam, cap + 1);
	for (__u32 i = 0; i < cap; i++) {
		union key k = K(fam, i);

		cr_assert_eq(put(fam, &k, 1000 + i, NULL), 0, "key %u of %u", i, cap);
	}
	cr_assert_eq(put(fam, &extra, 1, NULL), -ENOSPC);
	must_miss(fam, &extra);
	for (__u32 i = 0; i < cap; i++) {
		union key k = K(fam, i);

		cr_assert_eq(must_find(fam, &k)->expires, 1000 + i, "key %u evicted", i);
	}
	check_counts(fam, cap, 0);

	/* Full, re-arming still works; after one removal the new key fits. */
	{
		union key k = K(fam, cap / 2);

		cr_assert_eq(put(fam, &k, 77, &created), 0);
		cr_assert_not(created);
		cr_assert_eq(must_find(fam, &k)->expires, 77);
		cr_assert_eq(xb_tab_del(tab(fam), &k), 0);
		cr_assert_eq(put(fam, &extra, 1, &created), 0);
		cr_assert(created);
		must_find(fam, &extra);
		cr_assert_eq(put(fam, &k, 77, NULL), -ENOSPC);
		check_counts(fam, cap, dead_of(fam));
		cr_assert_eq(live_of(fam), cap);
	}
}

Test(bantab, full_table4) { full(4, 1000); }
Test(bantab, full_table6) { full(6, 1000); }
/* Tiny tables: one slot (no EMPTY slot at all when full), and 2 of 3. */
Test(bantab, full_tiny4) { full(4, 1); }
Test(bantab, full_tiny6) { full(6, 2); }

/* n keys whose buckets are b1 (first) and b2, or, with any_order, b2 and
 * b1 too. */
static void keys_in(int fam, __u32 b1, __u32 b2, bool any_order, union key *out, int n,
		    __u64 *cursor)
{
	__u64 limit = fam == 4 ? V4_N : 1ULL << 26;

	for (int got = 0; got < n; (*cursor)++) {
		__u32 b[2];

		cr_assert_lt(*cursor, limit, "no key of buckets %u, %u left", b1, b2);
		out[got] = K(fam, *cursor);
		buckets_of(fam, &out[got], b);
		if ((b[0] == b1 && b[1] == b2) || (any_order && b[0] == b2 && b[1] == b1))
			got++;
	}
}

/*
 * Three buckets. Both buckets of a new key full: a ban there whose other
 * bucket has room moves (a chain of one), in a moves bracket, and the key
 * takes its slot. When every ban the search reaches has its other bucket
 * full too, -ENOSPC below capacity; a removal makes room.
 */
static void room(int fam)
{
	const __u32 n = 3 * XB_BUCKET;
	union key a[XB_BUCKET], c[XB_BUCKET], x, y[2 * XB_BUCKET + 1];
	__u64 cur = 0;
	__u32 moves, b[2];
	bool created;

	open_tabs(fam == 4 ? n : 0, fam == 6 ? n : 0, SEED);
	/* Bucket 0 full of {0, 2} bans, bucket 1 of {1, 2} ones. */
	keys_in(fam, 0, 2, false, a, XB_BUCKET, &cur);
	cur = 0;
	keys_in(fam, 1, 2, false, c, XB_BUCKET, &cur);
	for (int i = 0; i < XB_BUCKET; i++) {
		cr_assert_eq(put(fam, &a[i], 1, NULL), 0);
		cr_assert_eq(put(fam, &c[i], 1, NULL), 0);
	}
	cur = 0;
	keys_in(fam, 0, 1, true, &x, 1, &cur);
	buckets_of(fam, &x, b);
	moves = F.ctl->moves;
	cr_assert_eq(put(fam, &x, 7, &created), 0, "no room made");
	cr_assert(created);
	cr_assert(slot_live_with(fam, b[0] * XB_BUCKET, &x), "x not where the moved ban was");
	cr_assert_eq(F.ctl->moves, moves + 4, "one move, in its bracket");
	cr_assert_eq(count_state(fam, XB_SLOT_LIVE), 2 * XB_BUCKET + 1);
	for (int i = 0; i < XB_BUCKET; i++) {
		must_find(fam, &a[i]);
		must_find(fam, &c[i]);
	}
	cr_assert_eq(which_bucket(fam, b[0] == 0 ? &a[0] : &c[0]), 1, "moved to its other bucket");
	check_counts(fam, 2 * XB_BUCKET + 1, 0);

	/* Now only {0, 1} bans in 0 and 1: none can move anywhere. */
	cr_assert_eq(xb_tab_sweep(tab(fam), 0), 2 * XB_BUCKET + 1);
	cur = 0;
	keys_in(fam, 0, 1, true, y, 2 * XB_BUCKET + 1, &cur);
	for (int i = 0; i < 2 * XB_BUCKET; i++)
		cr_assert_eq(put(fam, &y[i], 1, NULL), 0, "key %d", i);
	cr_assert_lt(live_of(fam), tab(fam)->cap);
	cr_assert_eq(put(fam, &y[2 * XB_BUCKET], 1, NULL), -ENOSPC, "room from nowhere");
	must_miss(fam, &y[2 * XB_BUCKET]);
	for (int i = 0; i < 2 * XB_BUCKET; i++)
		must_find(fam, &y[i]);
	cr_assert_eq(xb_tab_del(tab(fam), &y[3]), 0);
	cr_assert_eq(put(fam, &y[2 * XB_BUCKET], 1, &created), 0);
	cr_assert(created);
	must_find(fam, &y[2 * XB_BUCKET]);
	check_counts(fam, 2 * XB_BUCKET, 0);
}

Test(bantab, room_made_or_refused4) { room(4); }
Test(bantab, room_made_or_refused6) { room(6); }

/* --- sweep ---------------------------------------------------------------- */

static void sweep(int fam)
{
	const __u32 n = 96;
	__u32 h = 20;
	const __u64 exp[] = { 0, 100, 300, 301, 1000, 200, 0 };
	union key k[7], c[5];
	__u64 cur = 0;

	open_tabs(fam == 4 ? n : 0, fam == 6 ? n : 0, SEED);
	for (int i = 0; i < 7; i++) {
		k[i] = K(fam, 50000 + i);
		cr_assert_eq(put(fam, &k[i], exp[i], NULL), 0);
	}
	/* Expired: 100, 200 and 300 (== now); kept: permanent and later ones. */
	cr_assert_eq(xb_tab_sweep(tab(fam), 300), 3);
	for (int i = 0; i < 7; i++) {
		if (exp[i] && exp[i] <= 300)
			must_miss(fam, &k[i]);
		else
			cr_assert_eq(must_find(fam, &k[i])->expires, exp[i]);
	}
	cr_assert_eq(live_of(fam), 4);
	cr_assert_eq(xb_tab_sweep(tab(fam), 300), 0);
	/* now 0: everything, permanent bans included. */
	cr_assert_eq(xb_tab_sweep(tab(fam), 0), 4);
	for (int i = 0; i < 7; i++)
		must_miss(fam, &k[i]);
	check_counts(fam, 0, 0);

	/* Five bans of one first bucket: c0..c3 there, c4 in its second. */
	keys_at(fam, h, c, 5, &cur);
	h = home_of(fam, &c[0]);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(put(fam, &c[i], i == 1 || i == 4 ? 50 : 0, NULL), 0);
	must_find(fam, &c[2])->packets = 11;
	must_find(fam, &c[3])->bytes = 1300;
	cr_assert_eq(xb_tab_sweep(tab(fam), 60), 2);
	/* Nothing moves: the others keep their slots and counts; the
	 * retired slots are emptied. */
	cr_assert_eq(must_find(fam, &c[2])->packets, 11);
	cr_assert_eq(must_find(fam, &c[3])->bytes, 1300);
	cr_assert(slot_live_with(fam, h + 2, &c[2]));
	cr_assert(slot_live_with(fam, h + 3, &c[3]));
	cr_assert_eq(slot_state(fam, h + 1), XB_SLOT_EMPTY);
	check_counts(fam, 3, 0);
	for (int i = 0; i < 5; i++)
		if (i == 1 || i == 4)
			must_miss(fam, &c[i]);
		else
			must_find(fam, &c[i]);

	/* Deleting c3 then c2 leaves two DEAD slots: a sweep that removes
	 * nothing still empties them. */
	cr_assert_eq(xb_tab_del(tab(fam), &c[3]), 0);
	cr_assert_eq(xb_tab_del(tab(fam), &c[2]), 0);
	check_counts(fam, 1, 2);
	cr_assert_eq(xb_tab_sweep(tab(fam), 60), 0);
	check_counts(fam, 1, 0);
	cr_assert(slot_live_with(fam, h, &c[0]));
	must_find(fam, &c[0]);
	cr_assert_eq(count_state(fam, XB_SLOT_EMPTY), n - 1);
}

Test(bantab, sweep4) { sweep(4); }
Test(bantab, sweep6) { sweep(6); }

/* --- foreach -------------------------------------------------------------- */

struct seen {
	int fam, calls, stop_at;
	int hits[64];
	__u64 exp[64];
};

/* Keys are K(fam, 3000 + i), i < 64. */
static int collect(const void *key, const struct xb_ban *b, void *ctx)
{
	struct seen *s = ctx;

	s->calls++;
	for (int i = 0; i < 64; i++) {
		union key k = K(s->fam, 3000 + i);

		if (!memcmp(key, &k, s->fam == 4 ? 4 : 16)) {
			s->hits[i]++;
			s->exp[i] = b->expires;
			break;
		}
	}
	return s->calls == s->stop_at ? -ECANCELED : 0;
}

static void foreach(int fam)
{
	struct seen s = { .fam = fam };

	open_tabs(fam == 4 ? 300 : 0, fam == 6 ? 300 : 0, 0);
	cr_assert_eq(xb_tab_foreach(tab(fam), collect, &s), 0);
	cr_assert_eq(s.calls, 0);
	for (int i = 0; i < 64; i++) {
		union key k = K(fam, 3000 + i);

		cr_assert_eq(put(fam, &k, 10 * i, NULL), 0);
	}
	for (int i = 0; i < 64; i += 4) {
		union key k = K(fam, 3000 + i);

		cr_assert_eq(xb_tab_del(tab(fam), &k), 0);
	}
	cr_assert_eq(xb_tab_foreach(tab(fam), collect, &s), 0);
	cr_assert_eq(s.calls, 48);
	for (int i = 0; i < 64; i++) {
		cr_assert_eq(s.hits[i], i % 4 ? 1 : 0, "key %d visited %d times", i, s.hits[i]);
		if (i % 4)
			cr_assert_eq(s.exp[i], 10 * i);
	}

	/* The callback's error stops the walk and comes back. */
	memset(&s, 0, sizeof(s));
	s.fam = fam, s.stop_at = 5;
	cr_assert_eq(xb_tab_foreach(tab(fam), collect, &s), -ECANCELED);
	cr_assert_eq(s.calls, 5);
}

Test(bantab, foreach4) { foreach(4); }
Test(bantab, foreach6) { foreach(6); }

/* --- a writer killed inside a move ------------------------------------------ */

static struct xb_ban *ban_at(int fam, __u32 i)
{
	const struct xb_tab *t = tab(fam);

	return (struct xb_ban *)(t->slots + i * t->slot_sz +
				 (fam == 4 ? offsetof(struct xb_slot4, ban)
					   : offsetof(struct xb_slot6, ban)));
}

/*
 * A move publishes a copy of the ban (counters from zero) in a free slot
 * and only then retires the original: a writer killed in between (kill -9)
 * leaves two LIVE copies. killed_move() makes that state by hand, in one
 * bucket (a real move goes to the other bucket; the order is what counts):
 * k[0..2] on one run from home h, k[0] removed, then k[1]'s copy in h; the
 * program's counts on the original are (7, 700), on the copy (3, 300), on
 * k[2] (5, 500). Returns h.
 */
static __u32 killed_move(int fam, union key k[3])
{
	const __u32 h = 32;
	struct xb_tab *t = tab(fam);
	__u64 cur = 0;
	struct xb_ban *b;

	open_tabs(fam == 4 ? 96 : 0, fam == 6 ? 96 : 0, SEED);
	keys_at(fam, h, k, 3, &cur);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(put(fam, &k[i], 0, NULL), 0);
	cr_assert(slot_live_with(fam, h + 1, &k[1]));
	b = must_find(fam, &k[1]);
	b->packets = 7, b->bytes = 700;
	b = must_find(fam, &k[2]);
	b->packets = 5, b->bytes = 500;
	cr_assert_eq(xb_tab_del(t, &k[0]), 0);
	memcpy(t->slots + h * t->slot_sz, t->slots + (h + 1) * t->slot_sz, t->slot_sz);
	b = ban_at(fam, h);
	b->packets = 3, b->bytes = 300;
	cr_assert(slot_live_with(fam, h, &k[1]));
	cr_assert(slot_live_with(fam, h + 1, &k[1]));
	/* The program stops at the first copy. */
	cr_assert_eq(must_find(fam, &k[1]), b);
	return h;
}

static int live_copies(int fam, const union key *k)
{
	int n = 0;

	for (__u32 i = 0; i < tab(fam)->nslots; i++)
		n += slot_live_with(fam, i, k);
	return n;
}

/* Unban removes both copies: no later lookup finds the second. */
static void dup_del(int fam)
{
	union key k[3];
	struct xb_ban *b;

	killed_move(fam, k);
	cr_assert_eq(xb_tab_del(tab(fam), &k[1]), 0);
	cr_assert_eq(live_copies(fam, &k[1]), 0, "a copy of the unbanned address is LIVE");
	must_miss(fam, &k[1]);
	cr_assert_eq(xb_tab_del(tab(fam), &k[1]), -ENOENT);
	/* The ban behind them is untouched, its counters too. */
	b = must_find(fam, &k[2]);
	cr_assert_eq(b->packets, 5);
	cr_assert_eq(b->bytes, 500);
	/* The killed writer left the counts wrong; the next sweep recounts. */
	cr_assert_eq(xb_tab_sweep(tab(fam), 1), 0);
	check_counts(fam, 1, dead_of(fam));
	must_miss(fam, &k[1]);
	cr_assert_eq(must_find(fam, &k[2])->packets, 5);
}

Test(bantab, killed_move_unban_removes_both_copies4) { dup_del(4); }
Test(bantab, killed_move_unban_removes_both_copies6) { dup_del(6); }

struct listed {
	int fam, calls, hits;
	union key k;
};

static int count_listed(const void *key, const struct xb_ban *b, void *ctx)
{
	struct listed *l = ctx;

	l->calls++;
	l->hits += !memcmp(key, &l->k, l->fam == 4 ? 4 : 16);
	return 0;
}

/* foreach lists the ban once; a sweep keeps the first copy, with the
 * counts of both, and drops the other. */
static void dup_sweep(int fam)
{
	union key k[3];
	__u32 h = killed_move(fam, k);
	struct listed l = { .fam = fam, .k = k[1] };
	struct xb_ban *b;

	cr_assert_eq(xb_tab_foreach(tab(fam), count_listed, &l), 0);
	cr_assert_eq(l.hits, 1, "listed %d times", l.hits);
	cr_assert_eq(l.calls, 2);

	cr_assert_eq(xb_tab_sweep(tab(fam), 1), 0, "nothing expired");
	cr_assert_eq(live_copies(fam, &k[1]), 1);
	cr_assert(slot_live_with(fam, h, &k[1]), "the first copy is the one kept");
	b = must_find(fam, &k[1]);
	cr_assert_eq(b->packets, 10, "packets %llu", (unsigned long long)b->packets);
	cr_assert_eq(b->bytes, 1000);
	b = must_find(fam, &k[2]);
	cr_assert_eq(b->packets, 5);
	cr_assert_eq(b->bytes, 500);
	check_counts(fam, 2, dead_of(fam));
}

Test(bantab, killed_move_sweep_keeps_one_copy4) { dup_sweep(4); }
Test(bantab, killed_move_sweep_keeps_one_copy6) { dup_sweep(6); }

/* Re-armed after the kill (only the first copy changes), the ban outlives
 * the stale copy's deadline; the sweep that drops the copy keeps its counts. */
static void dup_rearm(int fam)
{
	union key k[3];
	__u32 h = killed_move(fam, k);
	bool created = true;
	struct xb_ban *b;

	ban_at(fam, h)->expires = ban_at(fam, h + 1)->expires = 100;
	cr_assert_eq(put(fam, &k[1], 0, &created), 0);
	cr_assert_not(created);
	cr_assert_eq(xb_tab_sweep(tab(fam), 200), 0, "a live ban was swept");
	b = must_find(fam, &k[1]);
	cr_assert_eq(b->expires, 0);
	cr_assert_eq(b->packets, 10);
	cr_assert_eq(live_copies(fam, &k[1]), 1);
}

Test(bantab, killed_move_rearmed_ban_outlives_its_copy4) { dup_rearm(4); }
Test(bantab, killed_move_rearmed_ban_outlives_its_copy6) { dup_rearm(6); }

/* Both copies past their deadline go together, counted once. */
static void dup_expire(int fam)
{
	union key k[3];
	__u32 h = killed_move(fam, k);

	ban_at(fam, h)->expires = ban_at(fam, h + 1)->expires = 100;
	cr_assert_eq(xb_tab_sweep(tab(fam), 200), 1);
	must_miss(fam, &k[1]);
	cr_assert_eq(live_copies(fam, &k[1]), 0);
	cr_assert_eq(must_find(fam, &k[2])->packets, 5);
	check_counts(fam, 1, dead_of(fam));
}

Test(bantab, killed_move_expired_copies_go_together4) { dup_expire(4); }
Test(bantab, killed_move_expired_copies_go_together6) { dup_expire(6); }

/* --- mapping -------------------------------------------------------------- */

Test(bantab, map_refuses_wrong_arrays)
{
	struct xb_tab t;

	F.ctl_fd = mk_array("xbt_ctl", sizeof(struct xb_ctl), 1, BPF_F_MMAPABLE);
	cr_assert_eq(xb_ctl_map(F.ctl_fd, &F.ctl), 0);

	/* Another family's slot size, either way round. */
	F.extra[0] = mk_array("xbt_b6", sizeof(struct xb_bucket6), 24, BPF_F_MMAPABLE);
	cr_assert_eq(xb_tab_map(&t, 4, F.extra[0], F.ctl), -EINVAL);
	F.extra[1] = mk_array("xbt_b4", sizeof(struct xb_bucket4), 24, BPF_F_MMAPABLE);
	cr_assert_eq(xb_tab_map(&t, 6, F.extra[1], F.ctl), -EINVAL);
	/* Not mmapable. */
	F.extra[2] = mk_array("xbt_nomm", sizeof(struct xb_bucket4), 24, 0);
	cr_assert_eq(xb_tab_map(&t, 4, F.extra[2], F.ctl), -EINVAL);
	/* Elements of one slot, not a bucket, or a single bucket (a key
	 * needs two). */
	{
		int odd = mk_array("xbt_odd", sizeof(struct xb_slot4), 96, BPF_F_MMAPABLE);
		int one = mk_array("xbt_one", sizeof(struct xb_bucket4), 1, BPF_F_MMAPABLE);

		cr_assert_eq(xb_tab_map(&t, 4, odd, F.ctl), -EINVAL, "slots, not buckets");
		cr_assert_eq(xb_tab_map(&t, 4, one, F.ctl), -EINVAL, "one bucket");
		close(odd);
		close(one);
	}
	xb_tab_unmap(&t);               /* harmless after a refusal */
	/* None of that may have claimed a size in ctl. */
	cr_assert_eq(F.ctl->nslots4, 0);
	cr_assert_eq(F.ctl->nslots6, 0);

	/* The first table sets the size; one that disagrees is refused, one
	 * that agrees (a second opener) is fine. */
	F.fd[0] = mk_array("xbt_ban4", sizeof(struct xb_bucket4), 24, BPF_F_MMAPABLE);
	cr_assert_eq(xb_tab_map(&F.t[0], 4, F.fd[0], F.ctl), 0);
	cr_assert_eq(F.ctl->nslots4, 96);
	F.extra[3] = mk_array("xbt_ban4b", sizeof(struct xb_bucket4), 38, BPF_F_MMAPABLE);
	cr_assert_eq(xb_tab_map(&t, 4, F.extra[3], F.ctl), -EINVAL);
	cr_assert_eq(F.ctl->nslots4, 96);
	cr_assert_eq(xb_tab_map(&t, 4, F.fd[0], F.ctl), 0);
	cr_assert_eq(t.nslots, 96);
	cr_assert_eq(t.cap, 77);
	xb_tab_unmap(&t);
	/* The IPv6 size is its own. */
	F.fd[1] = mk_array("xbt_ban6", sizeof(struct xb_bucket6), 38, BPF_F_MMAPABLE);
	cr_assert_eq(xb_tab_map(&F.t[1], 6, F.fd[1], F.ctl), 0);
	cr_assert_eq(F.ctl->nslots6, 152);
	cr_assert_eq(F.ctl->nslots4, 96);
	cr_assert_eq(xb_tab_map(&t, 6, F.extra[3], F.ctl), -EINVAL);
	cr_assert_lt(xb_tab_map(&t, 4, -1, F.ctl), 0);
}

Test(bantab, two_mappings_share_slots)
{
	struct xb_tab t2;
	union key a = K(4, 11);

	open_tabs(96, 0, 0);
	cr_assert_eq(xb_tab_map(&t2, 4, F.fd[0], F.ctl), 0);
	cr_assert_eq(put(4, &a, 31, NULL), 0);
	cr_assert_not_null(xb_tab_find(&t2, &a));
	cr_assert_eq(xb_tab_find(&t2, &a)->expires, 31);
	cr_assert_eq(xb_tab_del(&t2, &a), 0);
	must_miss(4, &a);
	check_counts(4, 0, 1);
	xb_tab_unmap(&t2);
}

Test(bantab, ctl_seed)
{
	struct xb_ctl *again = NULL;
	__u64 first;
	int fd2;

	F.ctl_fd = mk_array("xbt_ctl", sizeof(struct xb_ctl), 1, BPF_F_MMAPABLE);
	cr_assert_eq(xb_ctl_map(F.ctl_fd, &F.ctl), 0);
	first = F.ctl->seed;
	cr_assert_neq(first, 0);
	/* A later opener keeps it (and everything else in ctl). */
	F.ctl->nslots4 = 96, F.ctl->live4 = 3;
	cr_assert_eq(xb_ctl_map(F.ctl_fd, &again), 0);
	cr_assert_eq(again->seed, first);
	cr_assert_eq(again->nslots4, 96);
	cr_assert_eq(again->live4, 3);
	xb_ctl_unmap(again);
	/* A seed set from outside (here via bpf()) is kept too. */
	{
		struct xb_ctl v = { .seed = SEED };
		__u32 zero = 0;

		cr_assert_eq(bpf_map_update_elem(F.ctl_fd, &zero, &v, 0), 0);
		cr_assert_eq(xb_ctl_map(F.ctl_fd, &again), 0);
		cr_assert_eq(again->seed, SEED);
		xb_ctl_unmap(again);
	}
	/* Another fresh ctl gets its own seed. */
	fd2 = mk_array("xbt_ctl2", sizeof(struct xb_ctl), 1, BPF_F_MMAPABLE);
	F.extra[0] = fd2;
	cr_assert_eq(xb_ctl_map(fd2, &again), 0);
	cr_assert_neq(again->seed, 0);
	cr_assert_neq(again->seed, first);
	cr_assert_neq(again->seed, SEED);
	xb_ctl_unmap(again);
}

/* --- randomised ----------------------------------------------------------- */

static __u64 rng;

static __u64 rnd(void)
{
	/* splitmix64: reproducible from the printed start value */
	__u64 z = (rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

struct ref {
	bool in;
	__u64 expires;
	__u32 rule;
};

/*
 * steps random put/del/sweep on a table of nslots with a pool of keys
 * larger than its capacity (so -ENOSPC happens). After every step each
 * pool key must be found (by bantab and by the program's probe) exactly when
 * the reference has it, with its expires; counts must match the slots.
 */
static void randomised(int fam, __u32 nslots, __u32 pool, int steps, __u64 start)
{
	struct ref *ref = calloc(pool, sizeof(*ref));
	union key *keys = calloc(pool, sizeof(*keys));
	__u64 now = 1000, nospc = 0, early = 0, swept = 0, dels = 0, reuse = 0;
	__u32 live = 0, cap;
	bool cleared = false;

	cr_assert(ref && keys);
	rng = start;
	open_tabs(fam == 4 ? nslots : 0, fam == 6 ? nslots : 0, start);
	cap = tab(fam)->cap;
	/* Keys spread over the family's test range, not consecutive. */
	for (__u32 i = 0; i < pool; i++)
		keys[i] = K(fam, fam == 4 ? (__u64)i * 40503 % V4_N : rnd());

	for (int step = 0; step < steps; step++) {
		__u32 i = rnd() % pool, op = rnd() % 100;
		bool created;
		int err;

		now += rnd() % 3;
		if (op < 70) {
			/* Permanent, short and long bans. */
			__u64 r = rnd() % 10, exp = !r ? 0 : now + 1 + rnd() % (r < 2 ? 3000 : 100000);
			struct xb_ban v = B(exp,
					    (__u32)rnd(), 1, XB_BAN_F_DAEMON);
			__u32 dead = dead_of(fam);

			err = xb_tab_put(tab(fam), &keys[i], &v, &created);
			if (!ref[i].in && live == cap) {
				cr_assert_eq(err, -ENOSPC, "step %d", step);
				nospc++;
			} else if (!ref[i].in && err == -ENOSPC) {
				/* Below capacity: no room in reach of its buckets. */
				early++;
				nospc++;
			} else {
				cr_assert_eq(err, 0, "step %d: put %s: %d (live %u)", step,
					     kstr(fam, &keys[i]), err, live);
				cr_assert_eq(created, !ref[i].in, "step %d", step);
				if (created)
					live++;
				reuse += dead_of(fam) < dead;
				ref[i] = (struct ref){ true, v.expires, v.rule };
			}
		} else if (op < 96) {
			err = xb_tab_del(tab(fam), &keys[i]);
			cr_assert_eq(err, ref[i].in ? 0 : -ENOENT, "step %d", step);
			live -= ref[i].in;
			dels += ref[i].in;
			ref[i].in = false;
		} else {
			/* Once, halfway, everything goes (now 0). */
			__u64 at = step >= steps / 2 && !cleared ? 0 : now;
			size_t want = 0;

			for (__u32 j = 0; j < pool; j++)
				if (ref[j].in && (!at || (ref[j].expires && ref[j].expires <= at))) {
					ref[j].in = false;
					want++;
				}
			cr_assert_eq(xb_tab_sweep(tab(fam), at), want, "step %d", step);
			cleared |= !at;
			live -= (__u32)want;
			swept += want;
		}

		for (__u32 j = 0; j < pool; j++) {
			if (ref[j].in) {
				struct xb_ban *b = must_find(fam, &keys[j]);

				cr_assert_eq(b->expires, ref[j].expires, "step %d", step);
				cr_assert_eq(b->rule, ref[j].rule, "step %d", step);
			} else {
				cr_assert_null(xb_tab_find(tab(fam), &keys[j]), "step %d: %s found",
					       step, kstr(fam, &keys[j]));
			}
		}
		cr_assert_eq(live_of(fam), live, "step %d", step);
		if (step % 50 == 0 || step == steps - 1)
			check_counts(fam, live, dead_of(fam));
	}
	cr_log_info("IPv%d nslots %u: %d steps, %llu ENOSPC (%llu below capacity), %llu deleted, "
		    "%llu swept, %llu retired slots reused; end: live %u dead %u empty %u",
		    fam, nslots, steps, (unsigned long long)nospc, (unsigned long long)early,
		    (unsigned long long)dels,
		    (unsigned long long)swept, (unsigned long long)reuse, live, dead_of(fam),
		    count_state(fam, XB_SLOT_EMPTY));
	/* Every path must have been taken; a big table finds room up to its
	 * capacity (a tiny one's keys share few buckets). */
	if (nslots >= 1000)
		cr_assert_eq(early, 0, "%llu inserts below capacity found no room",
			     (unsigned long long)early);
	cr_assert_gt(nospc, 0);
	cr_assert_gt(swept, 0);
	cr_assert_gt(reuse, 0);
	cr_assert(cleared);
	free(ref);
	free(keys);
}

Test(bantab, random4) { randomised(4, 3000, 6000, 20000, 0x5eed0004); }
Test(bantab, random6) { randomised(6, 3000, 6000, 20000, 0x5eed0006); }
/* Tiny tables (three buckets, two): every key collides, bans move all the time. */
Test(bantab, random_tiny4) { randomised(4, 12, 14, 20000, 0x5eed0104); }
Test(bantab, random_tiny6) { randomised(6, 8, 10, 20000, 0x5eed0106); }

/* --- churn ------------------------------------------------------------------ */

/*
 * Under steady churn at capacity, bans moved to make room stay findable
 * and every lookup still reads one bucket or two. (Under linear probing,
 * tombstones crowded out EMPTY slots until a miss walked 1,024 slots.)
 */
Test(bantab, churn_at_capacity)
{
	const __u32 cap = 3000, churn = 10 * cap;
	union key *live = calloc(cap, sizeof(*live));
	__u32 next = 0, moves0;

	cr_assert_not_null(live);
	rng = 42;
	open_tabs(xb_tab_slots(cap), 0, SEED);
	cr_assert_geq(tab(4)->cap, cap);
	for (__u32 i = 0; i < cap; i++) {
		live[i] = K(4, next++);
		cr_assert_eq(put(4, &live[i], 0, NULL), 0, "ban %u of %u", i, cap);
	}
	moves0 = F.ctl->moves;
	/* Replace a random ban by a new one, sweeping now and then. */
	for (__u32 n = 0; n < churn; n++) {
		__u32 j = rnd() % cap;

		cr_assert_eq(xb_tab_del(tab(4), &live[j]), 0);
		live[j] = K(4, next++);
		cr_assert_eq(put(4, &live[j], 0, NULL), 0, "op %u", n);
		if (n % 100 == 0)
			xb_tab_sweep(tab(4), 1);
	}
	for (__u32 i = 0; i < cap; i++) {
		__u32 len = xb_tab_probe_len(tab(4), &live[i]);

		must_find(4, &live[i]);
		cr_assert(len == XB_BUCKET || len == 2 * XB_BUCKET);
	}
	cr_log_info("%u replacements at %u bans in %u slots: %u moves", churn, cap,
		    tab(4)->nslots, (F.ctl->moves - moves0) / 4);
	free(live);
}

/* The slots a lookup reads (as the program probes them) over 100,000 banned
 * and 100,000 other addresses, at the highest load a table reaches (its
 * capacity): p99.9 at most twice the median. Computed, not timed. */
static int cmp32(const void *a, const void *b)
{
	return (*(const __u32 *)a > *(const __u32 *)b) - (*(const __u32 *)a < *(const __u32 *)b);
}

static void probe_bound(int fam)
{
	const __u32 cap = 100000;
	__u32 *len = calloc(cap, sizeof(*len));

	cr_assert_not_null(len);
	open_tabs(fam == 4 ? xb_tab_slots(cap) : 0, fam == 6 ? xb_tab_slots(cap) : 0, 0);
	cr_assert_eq(tab(fam)->cap, cap);
	for (__u32 i = 0; i < cap; i++) {
		union key k = K(fam, fam == 4 ? i : (__u64)i * 7919);

		cr_assert_eq(put(fam, &k, 0, NULL), 0, "ban %u", i);
	}
	for (int banned = 1; banned >= 0; banned--) {
		__u32 med, p999;

		for (__u32 i = 0; i < cap; i++) {
			/* The others: IPv4 from 240.0.0.0/4 (a key only,
			 * never a frame), IPv6 between the bans. */
			union key k = K(fam, fam == 4 ? i : (__u64)i * 7919 + !banned);

			if (fam == 4 && !banned)
				k.a4 = htonl(0xf0000000u | i);  /* 240/4: outside the bans */

			len[i] = xb_tab_probe_len(tab(fam), &k);
		}
		qsort(len, cap, sizeof(*len), cmp32);
		med = len[cap / 2];
		p999 = len[(size_t)cap * 999 / 1000];
		cr_log_info("IPv%d %s at %u of %u slots: median %u, p99.9 %u, max %u", fam,
			    banned ? "banned" : "not banned", cap, tab(fam)->nslots, med, p999,
			    len[cap - 1]);
		cr_assert_leq(p999, 2 * med, "IPv%d %s: p99.9 %u slots, median %u", fam,
			      banned ? "banned" : "not banned", p999, med);
	}
	free(len);
}

Test(bantab, probe_length_bound4) { probe_bound(4); }
Test(bantab, probe_length_bound6) { probe_bound(6); }

/* A tiny table with every slot used once: a full sweep leaves no tombstone
 * (the first version kept them all once no EMPTY slot was left). */
Test(bantab, sweep_clears_every_tombstone)
{
	union key k[3];
	__u64 cur = 0;

	open_tabs(2 * XB_BUCKET, 0, SEED);
	for (__u32 h = 0; h < 3; h++)
		keys_at(4, 0, &k[h], 1, &cur);
	cr_assert_eq(put(4, &k[0], 0, NULL), 0);
	cr_assert_eq(put(4, &k[1], 0, NULL), 0);
	cr_assert_eq(xb_tab_del(tab(4), &k[0]), 0);
	cr_assert_eq(put(4, &k[2], 0, NULL), 0);
	cr_assert_eq(xb_tab_sweep(tab(4), 0), 2);
	check_counts(4, 0, dead_of(4));
	cr_assert_eq(dead_of(4), 0, "empty table, yet %u tombstones stay", dead_of(4));
}
