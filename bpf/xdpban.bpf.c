// SPDX-License-Identifier: GPL-2.0
/*
 * xdpban.bpf.c - drop frames whose source address is banned.
 *
 * Path per frame: parse Ethernet (+ up to two VLAN tags) and the IPv4/IPv6
 * fixed header -> exact-address table (xdpban.h: two buckets of a cuckoo
 * table in an array, so both lookups are inlined) -> prefix LPM (only while
 * the ctl flag says the family has prefix bans) -> on a hit, the allow LPM
 * (allow wins) -> expiry -> drop and count. Anything we cannot parse passes untouched.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "xdpban.h"

/* #defines that vmlinux.h (BTF) cannot carry. */
#define ETH_P_IP        0x0800
#define ETH_P_IPV6      0x86DD
#define ETH_P_8021Q     0x8100
#define ETH_P_8021AD    0x88A8

/* Capacities are placeholders: userspace sets them before load. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, xb_tab_buckets(XB_DEF_MAX_BANS));
	__type(key, __u32);
	__type(value, struct xb_bucket4);
} ban4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, xb_tab_buckets(XB_DEF_MAX_BANS));
	__type(key, __u32);
	__type(value, struct xb_bucket6);
} ban6 SEC(".maps");

/*
 * Set before load: 1, a ban's drops are counted per CPU in cnt4/6 (sized as
 * ban4/ban6, a counter per slot); 0, with atomic adds on its slot (cnt4/6 of
 * one entry: tables too big for them, XB_CNT_PERCPU_MAX).
 */
const volatile __u32 xb_cnt_percpu = 1;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, xb_tab_slots(XB_DEF_MAX_BANS));
	__type(key, __u32);
	__type(value, struct xb_cnt);
} cnt4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, xb_tab_slots(XB_DEF_MAX_BANS));
	__type(key, __u32);
	__type(value, struct xb_cnt);
} cnt6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, XB_DEF_MAX_PREFIX);
	__type(key, struct xb_lpm4);
	__type(value, struct xb_ban);
} pfx4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, XB_DEF_MAX_PREFIX);
	__type(key, struct xb_lpm6);
	__type(value, struct xb_ban);
} pfx6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, XB_DEF_MAX_ALLOW);
	__type(key, struct xb_lpm4);
	__type(value, struct xb_allow);
} allow4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, XB_DEF_MAX_ALLOW);
	__type(key, struct xb_lpm6);
	__type(value, struct xb_allow);
} allow6 SEC(".maps");

/* Never touched here; declared so it is created and pinned with the rest. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, XB_DEF_MAX_BANS);
	__type(key, struct xb_meta_key);
	__type(value, struct xb_meta);
} meta SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xb_ctl);
} ctl SEC(".maps");

/* Growth state (userspace only): created and pinned with the others. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xb_grow);
} grow SEC(".maps");

/* All counters in one per-CPU slot: one lookup per frame. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xb_stats);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xb_clock);
} clock SEC(".maps");

#define XB_CLOCK_MONOTONIC 1    /* a #define the BTF cannot carry */

/*
 * Parts of the pass and drop paths a benchmark build leaves out, to measure
 * what each costs (tests/bench/xdpban_omit_*.bpf.c). 0 in the product: the
 * compiler removes the tests, the program is the same as without them.
 * HASH, BUCKET2, RETRY and LOOKUP builds no longer find every ban: pass path only.
 */
#define XB_OMIT_BAN_COUNTERS (1u << 0)  /* the ban's packets and bytes */
#define XB_OMIT_EXPIRY       (1u << 1)  /* the clock read and the expiry check */
#define XB_OMIT_STATS        (1u << 2)  /* the per-CPU frame counters */
#define XB_OMIT_HASH         (1u << 3)  /* the hash: address ^ seed instead */
#define XB_OMIT_BUCKET2      (1u << 4)  /* the second bucket's read */
#define XB_OMIT_RETRY        (1u << 5)  /* ctl's moves, read around the probe */
#define XB_OMIT_LOOKUP       (1u << 6)  /* the whole table lookup: parse and count only */
#ifndef XB_BENCH_OMIT
#define XB_BENCH_OMIT 0
#endif

struct xb_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

static __always_inline int pass(__u64 *st, __u32 why)
{
	if (XB_BENCH_OMIT & XB_OMIT_STATS)
		return XDP_PASS;
	if (why != XB_STAT_PASSED)
		st[why]++;      /* per-CPU slot: no other writer */
	st[XB_STAT_PASSED]++;
	return XDP_PASS;
}

/* The tick's time (an inlined array read), or the clock itself when the
 * tick was never armed. */
static __always_inline __u64 now_ns(void)
{
	__u32 zero = 0;
	struct xb_clock *c = bpf_map_lookup_elem(&clock, &zero);

	if (c && c->now)
		return c->now;
	return bpf_ktime_get_ns();
}

/*
 * A ban was found: the allow list (only while it has entries) wins, then an
 * expired ban passes (userspace reuses or sweeps its slot), else the frame is
 * dropped and counted against the ban: in this CPU's counter of its slot
 * (cnt), or (cnt NULL: a prefix ban, or xb_cnt_percpu 0) with atomic adds.
 */
static __always_inline int verdict(__u64 *st, struct xb_ban *b, struct xb_cnt *cnt,
				   bool allowed_list, void *allow_map, void *allow_key,
				   bool prefix, __u64 len)
{
	if (allowed_list) {
		struct xb_allow *a = bpf_map_lookup_elem(allow_map, allow_key);

		if (a) {
			__sync_fetch_and_add(&a->packets, 1);
			return pass(st, XB_STAT_PASSED_ALLOWED);
		}
	}
	if (!(XB_BENCH_OMIT & XB_OMIT_EXPIRY) && b->expires && b->expires <= now_ns())
		return pass(st, XB_STAT_PASSED_EXPIRED);
	if (!(XB_BENCH_OMIT & XB_OMIT_BAN_COUNTERS)) {
		if (cnt) {
			cnt->packets++;         /* per-CPU: no other writer */
			cnt->bytes += len;
		} else {
			/* Atomic: several CPUs may drop for one ban at once. */
			__sync_fetch_and_add(&b->packets, 1);
			__sync_fetch_and_add(&b->bytes, len);
		}
	}
	if (!(XB_BENCH_OMIT & XB_OMIT_STATS)) {
		st[XB_STAT_DROPPED]++;
		st[XB_STAT_DROPPED_BYTES] += len;
		if (prefix)
			st[XB_STAT_DROPPED_PREFIX]++;
	}
	return XDP_DROP;
}

/*
 * A lookup (xdpban.h): every slot of the first bucket, then, without a hit,
 * of the second (a bounded loop, no bpf_loop); the first match in that
 * order is the ban. A
 * probe that missed while a writer moved bans is made again, XB_PROBE_TRIES
 * in all. *at: the hit's slot.
 */
static __always_inline struct xb_ban *probe4(__u32 addr, __u32 b1, __u32 b2, __u32 *at)
{
	for (int k = 0; k < ((XB_BENCH_OMIT & XB_OMIT_BUCKET2) ? 1 : 2); k++) {
		__u32 b = k ? b2 : b1;
		struct xb_bucket4 *bk = bpf_map_lookup_elem(&ban4, &b);
		int hit = -1;

		if (!bk)
			return NULL;
		/* The whole bucket, no early exit: the same few cache
		 * lines whichever slot holds the ban. */
		for (int j = XB_BUCKET - 1; j >= 0; j--)
			if (xb_match4(&bk->s[j], addr))
				hit = j;        /* the first in bucket order wins */
		if (hit >= 0 && hit < XB_BUCKET) {
			*at = b * XB_BUCKET + hit;
			return &bk->s[hit].ban;
		}
	}
	return NULL;
}

/* The ban of addr and, in *cnt, this CPU's counter of its slot. */
static __always_inline struct xb_ban *find4(const struct xb_ctl *c, __u32 addr,
					    struct xb_cnt **cnt)
{
	__u32 n = c->nslots4, b1, b2, at = 0, moves;
	struct xb_ban *b = NULL;

	if ((XB_BENCH_OMIT & XB_OMIT_LOOKUP) || n < 2 * XB_BUCKET)
		return NULL;
	xb_buckets((XB_BENCH_OMIT & XB_OMIT_HASH) ? addr ^ c->seed : xb_hash4(addr, c->seed),
		   n, &b1, &b2);
	/* The first probe straight, the others (a writer moved bans
	 * meanwhile: rare) in a loop of their own, so the common path keeps
	 * its values in registers. */
	moves = xb_moves(c);
	b = probe4(addr, b1, b2, &at);
	if (!(XB_BENCH_OMIT & XB_OMIT_RETRY) && !b && xb_probe_stale(c, moves))
		for (int try = 1; try < XB_PROBE_TRIES; try++) {
			moves = xb_moves(c);
			b = probe4(addr, b1, b2, &at);
			if (b || !xb_probe_stale(c, moves))
				break;
		}
	if (b && xb_cnt_percpu && !(*cnt = bpf_map_lookup_elem(&cnt4, &at)))
		return NULL;    /* cannot happen: cnt4 has a slot per ban4 slot */
	return b;
}

static __always_inline struct xb_ban *probe6(__u64 hi, __u64 lo, __u32 b1, __u32 b2, __u32 *at)
{
	for (int k = 0; k < ((XB_BENCH_OMIT & XB_OMIT_BUCKET2) ? 1 : 2); k++) {
		__u32 b = k ? b2 : b1;
		struct xb_bucket6 *bk = bpf_map_lookup_elem(&ban6, &b);
		int hit = -1;

		if (!bk)
			return NULL;
		for (int j = XB_BUCKET - 1; j >= 0; j--)
			if (xb_match6(&bk->s[j], hi, lo))
				hit = j;
		if (hit >= 0 && hit < XB_BUCKET) {
			*at = b * XB_BUCKET + hit;
			return &bk->s[hit].ban;
		}
	}
	return NULL;
}

static __always_inline struct xb_ban *find6(const struct xb_ctl *c, __u64 hi, __u64 lo,
					    struct xb_cnt **cnt)
{
	__u32 n = c->nslots6, b1, b2, at = 0, moves;
	struct xb_ban *b = NULL;

	if ((XB_BENCH_OMIT & XB_OMIT_LOOKUP) || n < 2 * XB_BUCKET)
		return NULL;
	xb_buckets((XB_BENCH_OMIT & XB_OMIT_HASH) ? hi ^ lo ^ c->seed : xb_hash6w(hi, lo, c->seed),
		   n, &b1, &b2);
	moves = xb_moves(c);
	b = probe6(hi, lo, b1, b2, &at);
	if (!(XB_BENCH_OMIT & XB_OMIT_RETRY) && !b && xb_probe_stale(c, moves))
		for (int try = 1; try < XB_PROBE_TRIES; try++) {
			moves = xb_moves(c);
			b = probe6(hi, lo, b1, b2, &at);
			if (b || !xb_probe_stale(c, moves))
				break;
		}
	if (b && xb_cnt_percpu && !(*cnt = bpf_map_lookup_elem(&cnt6, &at)))
		return NULL;
	return b;
}

static __always_inline int check4(__u64 *st, const struct xb_ctl *c, struct iphdr *ip, __u64 len)
{
	struct xb_lpm4 lkey;    /* filled only when a trie is consulted */
	struct xb_cnt *cnt = NULL;
	__u32 saddr = ip->saddr;
	struct xb_ban *b;

	b = find4(c, saddr, &cnt);
	if (b) {
		lkey.prefixlen = 32;
		lkey.addr = saddr;
		return verdict(st, b, cnt, c->flags & XB_CTL_ALLOW4, &allow4, &lkey, false, len);
	}
	if (!(c->flags & XB_CTL_PFX4))
		return pass(st, XB_STAT_PASSED);
	lkey.prefixlen = 32;
	lkey.addr = saddr;
	b = bpf_map_lookup_elem(&pfx4, &lkey);
	if (!b)
		return pass(st, XB_STAT_PASSED);
	return verdict(st, b, NULL, c->flags & XB_CTL_ALLOW4, &allow4, &lkey, true, len);
}

static __always_inline int check6(__u64 *st, const struct xb_ctl *c, struct ipv6hdr *ip6, __u64 len)
{
	struct xb_lpm6 lkey;    /* filled only when a trie is consulted */
	struct xb_cnt *cnt = NULL;
	struct xb_ban *b;
	__u64 hi, lo;

	/* Two 8-byte loads: memcpy from a packet of unknown alignment became
	 * byte loads and shifts. The verifier allows unaligned packet reads
	 * where the CPU does them cheaply (x86, arm64). */
	hi = ((const xb_u64_alias *)&ip6->saddr)[0];
	lo = ((const xb_u64_alias *)&ip6->saddr)[1];
	b = find6(c, hi, lo, &cnt);
	if (b) {
		if (c->flags & XB_CTL_ALLOW6) {        /* the key only for the allow trie */
			lkey.prefixlen = 128;
			__builtin_memcpy(lkey.addr, &ip6->saddr, 16);
		}
		return verdict(st, b, cnt, c->flags & XB_CTL_ALLOW6, &allow6, &lkey, false, len);
	}
	if (!(c->flags & XB_CTL_PFX6))
		return pass(st, XB_STAT_PASSED);
	lkey.prefixlen = 128;
	__builtin_memcpy(lkey.addr, &ip6->saddr, 16);
	b = bpf_map_lookup_elem(&pfx6, &lkey);
	if (!b)
		return pass(st, XB_STAT_PASSED);
	return verdict(st, b, NULL, c->flags & XB_CTL_ALLOW6, &allow6, &lkey, true, len);
}

SEC("xdp")
int xdpban(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u64 len = end - data;
	struct ethhdr *eth = data;
	void *p;
	__u32 zero = 0;
	struct xb_ctl *c;
	__u16 proto;
	__u64 *st;

	st = bpf_map_lookup_elem(&stats, &zero);
	c = bpf_map_lookup_elem(&ctl, &zero);
	if (!st || !c)
		return XDP_PASS;        /* cannot happen: one-slot arrays */
	/* No XB_STAT_SEEN increment: every frame is counted once as passed or
	 * dropped, and userspace sums the two (xb_dp_stats). */
	if ((void *)(eth + 1) > end)
		return pass(st, XB_STAT_PARSE_FAIL);
	proto = eth->h_proto;
	p = eth + 1;

#pragma unroll
	for (int i = 0; i < XB_MAX_VLAN_DEPTH; i++) {
		struct xb_vlan_hdr *vh = p;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(vh + 1) > end)
			return pass(st, XB_STAT_PARSE_FAIL);
		proto = vh->proto;
		p = vh + 1;
	}

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = p;

		if ((void *)(ip + 1) > end)
			return pass(st, XB_STAT_PARSE_FAIL);
		/* Options are fine (we only read saddr) but the header must be
		 * well-formed and entirely inside the frame. */
		if (ip->version != 4 || ip->ihl < 5 || p + ip->ihl * 4 > end)
			return pass(st, XB_STAT_PARSE_FAIL);
		return check4(st, c, ip, len);
	}
	if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = p;

		if ((void *)(ip6 + 1) > end)
			return pass(st, XB_STAT_PARSE_FAIL);
		if (ip6->version != 6)
			return pass(st, XB_STAT_PARSE_FAIL);
		return check6(st, c, ip6, len);
	}
	/* ARP, a third VLAN tag, anything else: not ours to judge. */
	return pass(st, XB_STAT_NON_IP);
}

static int clock_tick(void *map, __u32 *key, struct xb_clock *c)
{
	c->now = bpf_ktime_get_ns();
	bpf_timer_start(&c->timer, XB_TICK_NS, 0);
	return 0;
}

/*
 * Run once with BPF_PROG_TEST_RUN by userspace (never attached): start, or
 * re-arm, the tick. The timer keeps a reference on this program, so it goes
 * on after the process that ran it exits, for as long as the map is pinned.
 */
SEC("xdp")
int xdpban_clock(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct xb_clock *c = bpf_map_lookup_elem(&clock, &zero);
	long err;

	if (!c)
		return XDP_ABORTED;
	err = bpf_timer_init(&c->timer, &clock, XB_CLOCK_MONOTONIC);
	if (err && err != -16 /* EBUSY: initialised by an earlier run */)
		return XDP_ABORTED;
	if (bpf_timer_set_callback(&c->timer, clock_tick))
		return XDP_ABORTED;
	c->now = bpf_ktime_get_ns();
	if (bpf_timer_start(&c->timer, XB_TICK_NS, 0))
		return XDP_ABORTED;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
