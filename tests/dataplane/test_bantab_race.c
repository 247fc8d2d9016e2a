// SPDX-License-Identifier: GPL-2.0
/*
 * Readers racing the writer of the exact-ban tables, on the XDP object's own
 * mmapped arrays (a fresh, unpinned copy per test). A writer thread inserts
 * (moving bans to their other bucket to make room), deletes and sweeps
 * while reader threads look bans up, either with the program's lookup
 * compiled for userspace (xdpban.h's xb_match4/6, driven as find4/find6
 * drive them) or by running the program itself on frames
 * (BPF_PROG_TEST_RUN). A ban that is in the table for the whole of a lookup
 * must be found. XB_RACE_SECS
 * (default 1) seconds per test; set it higher for a long run.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <criterion/criterion.h>

#include "dataplane/bantab.h"
#include "xdpban.h"
#include "xdpban.skel.h"

#define SEED 0x243f6a8885a308d3ULL
/* Keys whose two buckets both lie among WIDTH buckets from FIRST: more of
 * them than fit, so inserts keep moving bans to their other bucket to make
 * room (and often find none); a sweep every CHANGES changes. */
#define CAP 600
#define NLIVE 20
#define NTARGET 8               /* churning slowly: in for many lookups */
#define NCHURN 120
#define TARGET_EVERY 64         /* sweeps between two changes of a target */
#define FIRST 25
#define WIDTH 10
#define CHANGES 32
#define READERS 2
#define REPEAT 100000           /* runs of one frame per BPF_PROG_TEST_RUN */
#define XDP_PASS_V 2

/* b starts 2 bytes into an aligned struct: the IP header is aligned. */
struct frame {
	uint16_t pad;
	uint8_t b[86];
} __attribute__((aligned(8)));

union key {
	__u32 a4;               /* 198.18.0.0/15, network order */
	struct xb_in6 a6;       /* 2001:db8::/32 */
};

static union key K(int fam, __u32 i)
{
	union key k;

	memset(&k, 0, sizeof(k));
	if (fam == 4) {
		k.a4 = htonl(0xc6120000u | (i & 0x1ffff));
	} else {
		k.a6.addr[0] = 0x20, k.a6.addr[1] = 0x01;
		k.a6.addr[2] = 0x0d, k.a6.addr[3] = 0xb8;
		k.a6.addr[11] = 0x77;
		memcpy(k.a6.addr + 12, &(__u32){ htonl(i) }, 4);
	}
	return k;
}

/* --- the program's lookup, over the mapping -------------------------------- */

/*
 * xdpban.bpf.c's find4/find6 driving xdpban.h's xb_match4/6, as userspace
 * code: slot i is what bpf_map_lookup_elem gives (NULL past the end), every
 * slot of the first bucket, then of the second; a probe that missed while
 * moves changed is made again, XB_PROBE_TRIES in all.
 */
struct arr {
	uint8_t *base;
	__u32 n;
	size_t sz;
};

static bool match(const struct arr *a, int fam, __u32 i, const union key *k)
{
	const void *s = i < a->n ? a->base + (size_t)i * a->sz : NULL;
	__u64 hi, lo;

	if (!s)
		return false;
	if (fam == 4)
		return xb_match4(s, k->a4);
	memcpy(&hi, k->a6.addr, 8);
	memcpy(&lo, k->a6.addr + 8, 8);
	return xb_match6(s, hi, lo);
}

static bool probe(const struct arr *a, int fam, __u32 b1, __u32 b2, const union key *k)
{
	for (int q = 0; q < 2; q++) {
		bool found = false;

		/* The whole bucket, as the program reads it. */
		for (__u32 j = 0; j < XB_BUCKET; j++)
			found |= match(a, fam, (q ? b2 : b1) * XB_BUCKET + j, k);
		if (found)
			return true;
	}
	return false;
}

/* *tries (may be NULL): the probes it took. */
static bool prog_find(const struct arr *a, const struct xb_ctl *c, int fam, const union key *k,
		      int *tries)
{
	__u32 n = fam == 4 ? c->nslots4 : c->nslots6, b1, b2, moves;
	__u64 h = fam == 4 ? xb_hash4(k->a4, c->seed) : xb_hash6(&k->a6, c->seed);

	if (n < 2 * XB_BUCKET)
		return false;
	xb_buckets(h, n, &b1, &b2);
	for (int try = 1; try <= XB_PROBE_TRIES; try++) {
		if (tries)
			*tries = try;
		moves = xb_moves(c);
		if (probe(a, fam, b1, b2, k))
			return true;
		if (!xb_probe_stale(c, moves))
			break;
	}
	return false;
}

/* --- the race ----------------------------------------------------------------- */

/*
 * Keys 0 .. nlive-1 are banned for good; the others churn in and out, every
 * insert into full buckets moving some of either kind: NTARGET of them
 * slowly (the program's lookups are long), the rest fast. A key's state is
 * its incarnation << 1 | in: the writer marks a key out before it deletes
 * (or expires) it and in, with a new incarnation, after it inserted it. A
 * reader that sees the same "in" before and after its lookup knows the ban
 * was in the table all along: then a miss is a bug.
 */
struct race {
	int fam;
	struct xdpban *skel;
	struct xb_ctl *ctl;
	struct xb_tab t;
	struct arr arr;
	union key *keys;
	struct frame *frames;   /* a frame from each key, for the program */
	size_t frame_len;
	atomic_uint *st;
	__u64 *exp;
	__u32 nlive, nfast, nkeys;     /* targets: nlive .. nfast - 1 */
	int ncpu;
	atomic_bool stop;
	atomic_ullong lookups, live_lookups, misses, perm_misses, again, third, sweeps, ops, bad;
};

static __u64 rnd(__u64 *s)
{
	__u64 z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static bool is_in(struct race *r, __u32 j)
{
	return atomic_load_explicit(&r->st[j], memory_order_relaxed) & 1;
}

static void mark(struct race *r, __u32 j, bool in)
{
	unsigned v = atomic_load_explicit(&r->st[j], memory_order_relaxed);

	atomic_store(&r->st[j], in ? ((v >> 1) + 1) << 1 | 1 : v & ~1u);
}

/* Key j in or out; some get a deadline a later sweep passes. */
static void churn(struct race *r, __u32 j, __u64 *s, __u64 now)
{
	struct xb_ban v = { .expires = rnd(s) % 4 ? 0 : now + 1 + rnd(s) % 8, .rule = 5712 };

	if (is_in(r, j)) {
		mark(r, j, false);
		if (xb_tab_del(&r->t, &r->keys[j]))
			atomic_fetch_add(&r->bad, 1);
	} else if (!xb_tab_put(&r->t, &r->keys[j], &v, NULL)) {
		r->exp[j] = v.expires;
		mark(r, j, true);
	}
}

/* CHANGES changes, then a sweep (expiry, dropping copies, reclaim). Deadlines
 * count in the writer's own time, far before the program's clock: for the
 * program a ban with one is found but expired (and passes). */
static void *writer(void *arg)
{
	struct race *r = arg;
	__u64 s = 0x5eed, now = 1000;
	unsigned long long ops = 0, sweeps = 0;

	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		for (int n = 0; n < CHANGES; n++, ops++)
			churn(r, r->nfast + rnd(&s) % (r->nkeys - r->nfast), &s, now);
		if (sweeps % TARGET_EVERY == 0)
			churn(r, r->nlive + rnd(&s) % (r->nfast - r->nlive), &s, now);
		now += 4;
		for (__u32 j = r->nlive; j < r->nkeys; j++)
			if (is_in(r, j) && r->exp[j] && r->exp[j] <= now)
				mark(r, j, false);
		xb_tab_sweep(&r->t, now);
		sweeps++;
	}
	atomic_store(&r->ops, ops);
	atomic_store(&r->sweeps, sweeps);
	return NULL;
}

/* --- readers ------------------------------------------------------------------ */

/* A lookup of key i: returns the misses among *runs lookups (*tries: the
 * probes the last one took, when known). */
typedef unsigned (*lookup_fn)(struct race *r, __u32 i, unsigned *runs, int *tries);

static unsigned look_c(struct race *r, __u32 i, unsigned *runs, int *tries)
{
	*runs = 1;
	return !prog_find(&r->arr, r->ctl, r->fam, &r->keys[i], tries);
}

/* Frames passed other than as expired bans: misses, as the only user of
 * the program is this reader. */
static __u64 passed_unbanned(struct race *r)
{
	struct xb_stats v[r->ncpu];
	__u32 zero = 0;
	__u64 n = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(r->skel->maps.stats), &zero, v))
		return 0;
	for (int c = 0; c < r->ncpu; c++)
		n += v[c].v[XB_STAT_PASSED] - v[c].v[XB_STAT_PASSED_EXPIRED];
	return n;
}

static unsigned look_prog(struct race *r, __u32 i, unsigned *runs, int *tries)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = r->frames[i].b, .data_size_in = r->frame_len,
		    .repeat = REPEAT);
	__u64 before = passed_unbanned(r);

	*runs = REPEAT;
	*tries = 1;
	if (bpf_prog_test_run_opts(bpf_program__fd(r->skel->progs.xdpban), &o)) {
		atomic_fetch_add(&r->bad, 1);
		return 0;
	}
	return (unsigned)(passed_unbanned(r) - before);
}

struct reader {
	struct race *r;
	__u32 first, lo, hi;    /* looks up keys lo .. hi - 1 */
	lookup_fn look;
	unsigned long long lookups, live, misses, perm, again, third;
};

/* One lookup of key i, counted if the ban was in all along. */
static void look_once(struct reader *rd, __u32 i)
{
	struct race *r = rd->r;
	unsigned before = atomic_load(&r->st[i]), runs, missed;
	int tries = 1;

	if (!(before & 1))
		return;
	missed = rd->look(r, i, &runs, &tries);
	atomic_thread_fence(memory_order_acquire);
	rd->lookups += runs;
	if (atomic_load(&r->st[i]) != before)
		return;
	rd->live += runs;
	rd->misses += missed;
	rd->perm += i < r->nlive ? missed : 0;
	rd->again += !missed && tries > 1;
	rd->third += !missed && tries > 2;
}

static void *reader(void *arg)
{
	struct reader *rd = arg;
	struct race *r = rd->r;
	__u32 i = rd->first;

	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		look_once(rd, i);
		if (++i == rd->hi)
			i = rd->lo;
	}
	atomic_fetch_add(&r->lookups, rd->lookups);
	atomic_fetch_add(&r->live_lookups, rd->live);
	atomic_fetch_add(&r->misses, rd->misses);
	atomic_fetch_add(&r->perm_misses, rd->perm);
	atomic_fetch_add(&r->again, rd->again);
	atomic_fetch_add(&r->third, rd->third);
	return NULL;
}

/* --- set-up ------------------------------------------------------------------- */

static unsigned race_secs(void)
{
	const char *e = getenv("XB_RACE_SECS");
	long v = e ? strtol(e, NULL, 10) : 0;

	return v > 0 ? (unsigned)v : 1;
}

/* Ethernet + IPv4/IPv6 header from key k, and 32 bytes of payload. */
static size_t build_frame(uint8_t *f, int fam, const union key *k)
{
	struct ethhdr *eth = (struct ethhdr *)f;

	memset(f, 0, sizeof(((struct frame *)0)->b));
	eth->h_proto = htons(fam == 4 ? ETH_P_IP : ETH_P_IPV6);
	if (fam == 4) {
		struct iphdr *ip = (struct iphdr *)(eth + 1);

		ip->version = 4, ip->ihl = 5, ip->ttl = 64, ip->protocol = 17;
		ip->tot_len = htons(sizeof(*ip) + 32);
		ip->saddr = k->a4;
		ip->daddr = htonl(0xc6130001u);
		return sizeof(*eth) + sizeof(*ip) + 32;
	}
	struct ipv6hdr *ip6 = (struct ipv6hdr *)(eth + 1);

	ip6->version = 6, ip6->nexthdr = 17, ip6->hop_limit = 64;
	ip6->payload_len = htons(32);
	memcpy(&ip6->saddr, &k->a6, 16);
	ip6->daddr.s6_addr[0] = 0x20, ip6->daddr.s6_addr[15] = 1;
	return sizeof(*eth) + sizeof(*ip6) + 32;
}

/* The object, with tables of CAP bans; the family's table mapped. */
static void open_object(struct race *r, int fam)
{
	memset(r, 0, sizeof(*r));
	r->fam = fam;
	r->skel = xdpban__open();
	cr_assert_not_null(r->skel, "open the XDP object: %s", strerror(errno));
	bpf_map__set_max_entries(r->skel->maps.ban4, xb_tab_buckets(CAP));
	bpf_map__set_max_entries(r->skel->maps.ban6, xb_tab_buckets(CAP));
	bpf_map__set_max_entries(r->skel->maps.cnt4, xb_tab_slots(CAP));
	bpf_map__set_max_entries(r->skel->maps.cnt6, xb_tab_slots(CAP));
	cr_assert_eq(xdpban__load(r->skel), 0, "load the XDP object");
	cr_assert_eq(xb_ctl_map(bpf_map__fd(r->skel->maps.ctl), &r->ctl), 0);
	r->ctl->seed = SEED;
	cr_assert_eq(xb_tab_map(&r->t, fam, bpf_map__fd(fam == 4 ? r->skel->maps.ban4
								 : r->skel->maps.ban6), r->ctl), 0);
	r->arr = (struct arr){ r->t.slots, r->t.nslots, r->t.slot_sz };
	r->ncpu = libbpf_num_possible_cpus();
	cr_assert_gt(r->ncpu, 0);
}

/* NLIVE bans for good and NCHURN churning (half of them in to start),
 * all with a home among WIDTH slots. */
static void setup_race(struct race *r, int fam)
{
	open_object(r, fam);
	r->nlive = NLIVE;
	r->nfast = NLIVE + NTARGET;
	r->nkeys = NLIVE + NTARGET + NCHURN;
	r->keys = calloc(r->nkeys, sizeof(*r->keys));
	r->frames = calloc(r->nkeys, sizeof(*r->frames));
	r->st = calloc(r->nkeys, sizeof(*r->st));
	r->exp = calloc(r->nkeys, sizeof(*r->exp));
	cr_assert(r->keys && r->frames && r->st && r->exp);
	for (__u32 i = 0, c = 0; i < r->nkeys; c++) {
		struct xb_ban v = { .rule = 1 };
		union key k = K(fam, c);
		__u64 h = fam == 4 ? xb_hash4(k.a4, SEED) : xb_hash6(&k.a6, SEED);
		__u32 b1, b2;

		cr_assert_lt(c, fam == 4 ? 0x20000u : 1u << 24, "too few keys of those buckets");
		xb_buckets(h, r->t.nslots, &b1, &b2);
		if (b1 - FIRST >= WIDTH || b2 - FIRST >= WIDTH)
			continue;
		r->keys[i] = k;
		r->frame_len = build_frame(r->frames[i].b, fam, &k);
		if (i < r->nlive) {
			cr_assert_eq(xb_tab_put(&r->t, &r->keys[i], &v, NULL), 0);
			mark(r, i, true);
		} else if (i % 2 && !xb_tab_put(&r->t, &r->keys[i], &v, NULL)) {
			mark(r, i, true);       /* the buckets fill up: some find no room */
		}
		i++;
	}
}

static void teardown_race(struct race *r)
{
	xb_tab_unmap(&r->t);
	xb_ctl_unmap(r->ctl);
	xdpban__destroy(r->skel);
	free(r->keys);
	free(r->frames);
	free(r->st);
	free(r->exp);
}

/* --- the tests ---------------------------------------------------------------- */

/* readers threads looking up keys lo .. hi - 1. */
static void run_threads(struct race *r, lookup_fn look, int readers, __u32 lo, __u32 hi)
{
	struct timespec ts = { .tv_sec = race_secs() };
	struct reader rd[READERS];
	pthread_t w, rt[READERS];

	cr_assert_eq(pthread_create(&w, NULL, writer, r), 0);
	for (int i = 0; i < readers; i++) {
		rd[i] = (struct reader){ .r = r, .first = lo + i * (hi - lo) / readers,
					 .lo = lo, .hi = hi, .look = look };
		cr_assert_eq(pthread_create(&rt[i], NULL, reader, &rd[i]), 0);
	}
	nanosleep(&ts, NULL);
	atomic_store(&r->stop, true);
	pthread_join(w, NULL);
	for (int i = 0; i < readers; i++)
		pthread_join(rt[i], NULL);
}

static void log_race(struct race *r, bool prog)
{
	char tries[96] = "";

	if (!prog)
		snprintf(tries, sizeof(tries), ", %llu found by a second probe, %llu by a third",
			 (unsigned long long)(r->again - r->third), (unsigned long long)r->third);
	cr_log_info("IPv%d, %s: %llu lookups, %llu of a ban in all along, %llu of those missed "
		    "(%llu of a ban for good)%s; writer: %llu changes, %llu sweeps, %u bans moved",
		    r->fam, prog ? "program" : "probe", (unsigned long long)r->lookups,
		    (unsigned long long)r->live_lookups, (unsigned long long)r->misses,
		    (unsigned long long)r->perm_misses, tries, (unsigned long long)r->ops,
		    (unsigned long long)r->sweeps, r->ctl->moves);
}

/* The probe looks up every key, the program (slower) the targets. */
static void race(int fam, bool prog)
{
	const char *who = prog ? "program" : "probe";
	struct race r;

	setup_race(&r, fam);
	if (prog)
		run_threads(&r, look_prog, 1, r.nlive, r.nfast);
	else
		run_threads(&r, look_c, READERS, 0, r.nkeys);
	log_race(&r, prog);
	/* At rest every ban is where the writer says. */
	for (__u32 i = 0; i < r.nkeys; i++)
		cr_assert_eq(prog_find(&r.arr, r.ctl, fam, &r.keys[i], NULL), is_in(&r, i),
			     "key %u", i);
	cr_expect_eq(r.misses, 0, "IPv%d, %s: %llu of %llu lookups missed a ban that was in",
		     fam, who, (unsigned long long)r.misses, (unsigned long long)r.live_lookups);
	cr_assert_eq(r.bad, 0, "%llu failed operations", (unsigned long long)r.bad);
	cr_assert_gt(r.live_lookups, 0);
	cr_assert_gt(r.ctl->moves, 0, "no ban was moved: nothing raced");
	teardown_race(&r);
}

/* --- snapshots (list, status) ------------------------------------------------- */

struct snapper {
	struct race *r;
	bool whole;
	unsigned long long snaps, again, misses, dups;
};

static __u32 key_index(struct race *r, const void *key)
{
	size_t ksz = r->fam == 4 ? sizeof(__u32) : sizeof(struct xb_in6);

	for (__u32 j = 0; j < r->nkeys; j++)
		if (!memcmp(&r->keys[j], key, ksz))
			return j;
	return UINT32_MAX;
}

/* Snapshots while the writer moves bans: one read whole must hold, once
 * each, every key that was in from before it began until after it ended.
 * The unchecked ones show what a plain walk gets wrong. */
static void *snapper(void *arg)
{
	struct snapper *sp = arg;
	struct race *r = sp->r;
	size_t ksz = r->fam == 4 ? sizeof(__u32) : sizeof(struct xb_in6);
	unsigned *before = calloc(r->nkeys, sizeof(*before));
	unsigned char *seen = calloc(r->nkeys, 1);
	struct xb_tab_snap s = { 0 };

	while (before && seen && !atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		for (__u32 j = 0; j < r->nkeys; j++)
			before[j] = atomic_load(&r->st[j]);
		if (xb_tab_snapshot(&r->t, sp->whole, &s) == -EAGAIN) {
			sp->again++;
			continue;
		}
		memset(seen, 0, r->nkeys);
		for (size_t i = 0; i < s.n; i++) {
			__u32 j = key_index(r, s.keys + i * ksz);

			if (j != UINT32_MAX && seen[j] < 255)
				seen[j]++;
		}
		/* (A key deleted and put back meanwhile may be read twice.) */
		for (__u32 j = 0; j < r->nkeys; j++) {
			if (!(before[j] & 1) || atomic_load(&r->st[j]) != before[j])
				continue;
			sp->misses += !seen[j];
			sp->dups += seen[j] > 1;
		}
		sp->snaps++;
	}
	xb_tab_snap_free(&s);
	free(before);
	free(seen);
	return NULL;
}

static void snapshot_race(int fam)
{
	struct timespec ts = { .tv_sec = race_secs() };
	struct snapper sp[2];
	pthread_t w, t[2];
	struct race r;

	setup_race(&r, fam);
	cr_assert_eq(pthread_create(&w, NULL, writer, &r), 0);
	for (int i = 0; i < 2; i++) {
		sp[i] = (struct snapper){ .r = &r, .whole = i == 0 };
		cr_assert_eq(pthread_create(&t[i], NULL, snapper, &sp[i]), 0);
	}
	nanosleep(&ts, NULL);
	atomic_store(&r.stop, true);
	pthread_join(w, NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	cr_log_info("IPv%d snapshots: whole %llu (%llu read again), %llu missed, %llu twice; "
		    "unchecked %llu, %llu missed, %llu twice; %u moves",
		    fam, sp[0].snaps, sp[0].again, sp[0].misses, sp[0].dups, sp[1].snaps,
		    sp[1].misses, sp[1].dups, r.ctl->moves);
	cr_expect_gt(sp[0].snaps, 0, "no snapshot was read whole");
	cr_expect_eq(sp[0].misses, 0, "IPv%d: a whole snapshot missed %llu bans that were in", fam,
		     sp[0].misses);
	cr_expect_eq(sp[0].dups, 0, "IPv%d: a whole snapshot held a ban twice", fam);
	cr_assert_gt(r.ctl->moves, 0, "no ban was moved: nothing raced");
	teardown_race(&r);
}

TestSuite(bantab_race, .timeout = 600);

Test(bantab_race, whole_snapshot_never_misses_a_ban_in4) { snapshot_race(4); }
Test(bantab_race, whole_snapshot_never_misses_a_ban_in6) { snapshot_race(6); }

Test(bantab_race, probe_never_misses_a_ban_in4) { race(4, false); }
Test(bantab_race, probe_never_misses_a_ban_in6) { race(6, false); }
Test(bantab_race, program_never_misses_a_ban_in4) { race(4, true); }
Test(bantab_race, program_never_misses_a_ban_in6) { race(6, true); }
