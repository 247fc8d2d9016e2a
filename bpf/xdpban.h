/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xdpban.h - the one header shared by the XDP program and userspace.
 *
 * Only fixed-width types, #defines and names live here. Addresses in keys are
 * in network byte order (as they sit in the packet); everything else is host
 * order. Userspace converts once, when it parses or prints an address.
 */
#ifndef XDPBAN_H
#define XDPBAN_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#include <linux/bpf.h>          /* struct bpf_timer */
#endif

/* Names of the maps as pinned under the pin directory (and in the object). */
#define XB_MAP_BAN4   "ban4"    /* ARRAY (mmapable) of struct xb_bucket4: a hash table */
#define XB_MAP_BAN6   "ban6"    /* ARRAY (mmapable) of struct xb_bucket6: a hash table */
#define XB_MAP_CNT4   "cnt4"    /* PERCPU_ARRAY of struct xb_cnt, one per ban4 slot */
#define XB_MAP_CNT6   "cnt6"    /* PERCPU_ARRAY of struct xb_cnt, one per ban6 slot */
#define XB_MAP_PFX4   "pfx4"    /* LPM   struct xb_lpm4      -> struct xb_ban */
#define XB_MAP_PFX6   "pfx6"    /* LPM   struct xb_lpm6      -> struct xb_ban */
#define XB_MAP_ALLOW4 "allow4"  /* LPM   struct xb_lpm4      -> struct xb_allow */
#define XB_MAP_ALLOW6 "allow6"  /* LPM   struct xb_lpm6      -> struct xb_allow */
#define XB_MAP_META   "meta"    /* HASH  struct xb_meta_key  -> struct xb_meta (userspace only) */
#define XB_MAP_CTL    "ctl"     /* ARRAY[1] (mmapable)       -> struct xb_ctl */
#define XB_MAP_STATS  "stats"   /* PERCPU_ARRAY[1]           -> struct xb_stats */
#define XB_MAP_CLOCK  "clock"   /* ARRAY[1]                  -> struct xb_clock */
#define XB_MAP_GROW   "grow"    /* ARRAY[1]                  -> struct xb_grow (userspace only) */

#define XB_PIN_DIR_DEFAULT  "/sys/fs/bpf/xdpban"
#define XB_PIN_DIR_ENV      "XDPBAN_PIN_DIR"
#define XB_LINK_PREFIX      "link_"     /* link_<ifname>: one pinned XDP link per interface */

/* Default capacities; all are load-time settings (bpf_map__set_max_entries). */
#define XB_DEF_MAX_BANS     1048576     /* exact bans, per family: the ceiling of growth */
#define XB_INIT_BANS        10000       /* exact bans a new table holds before it first grows */
#define XB_GROW_FACTOR      4           /* a full table grows to this many times its capacity */
#define XB_MAX_MAX_BANS     (1u << 27)  /* keeps xb_tab_slots() within 32 bits */
#define XB_DEF_MAX_PREFIX   65536       /* prefix bans, per family */
#define XB_DEF_MAX_ALLOW    16384       /* allow-list entries, per family */
/*
 * Most kernel memory for a family's per-CPU ban counters (cnt4/6: slots x
 * CPUs x 16 bytes); past it drops are counted with atomic adds on the slot.
 * A per-CPU array entry is two dependent loads (its pointer, then this CPU's
 * copy) that miss the cache once the array is big: under a flood rotating
 * over 100,000 banned sources that cost more than the atomic adds on the
 * slot line the key compare has just loaded (bench-traffic: 0.85 against
 * 2.80 M drops per CPU-second).
 */
#ifndef XB_CNT_PERCPU_MAX
#define XB_CNT_PERCPU_MAX   (4ULL << 20)
#endif

#define XB_MAX_VLAN_DEPTH   2           /* 802.1Q and 802.1ad (QinQ) */

struct xb_in6 {
	__u8 addr[16];                  /* network order */
};

/* LPM trie keys: prefixlen first, as the kernel requires. */
struct xb_lpm4 {
	__u32 prefixlen;                /* host order, 0..32 */
	__u32 addr;                     /* network order */
};

struct xb_lpm6 {
	__u32 prefixlen;                /* host order, 0..128 */
	__u8 addr[16];                  /* network order */
};

/*
 * A ban. expires is CLOCK_MONOTONIC in ns, compared with struct xb_clock's
 * now (so a ban ends at most XB_TICK_NS late); 0 means permanent. packets and
 * bytes: in a prefix ban (a trie value), added to by the XDP program with
 * atomic adds; in an exact ban's slot, written by userspace only (what it
 * folded in from cnt4/6 when the ban moved), its drops counted per CPU in
 * struct xb_cnt at the slot's index. A ban's counts are the sum of both.
 */
struct xb_ban {
	__u64 expires;
	__u64 packets;
	__u64 bytes;
	__u32 rule;                     /* rule id that caused it, 0 = manual */
	__u16 offence;                  /* offence number (1 = first), 0 = manual */
	__u16 flags;                    /* XB_BAN_F_* */
};

/*
 * Exact bans live in hash tables laid out in mmapable BPF arrays, not in BPF
 * hash maps: an array lookup is inlined by the verifier, where a hash map's
 * lookup costs four out-of-line kernel calls per hit (lookup, hash, bucket
 * walk, memcmp), and the slot holds key and value in one place.
 *
 * The table is bucketised cuckoo hashing: slots in buckets of XB_BUCKET, and
 * a ban sits in one of the two buckets its hash names (xb_buckets). A lookup
 * reads the whole first bucket and, if the ban is not there, the whole
 * second: 4 slots or 8, whatever the load, so no address is slow (linear
 * probing at 2/3 load read up to 97 slots for some). An insert into two full
 * buckets moves bans to their other bucket to make room (a short chain found
 * by a breadth-first search), and a table counts as full at 4/5 of its
 * slots.
 *
 * Userspace is the only writer (struct xb_tab, under a lock on the pin
 * directory); the program only reads slots and counts drops (struct xb_cnt).
 * How the two stay right while a writer moves bans around (the stores a
 * writer makes, in which order, and why a lookup never misses a ban that
 * stays in the table) is in user/dataplane/bantab.h; the reader's side is
 * here, below struct xb_ctl, shared by the program and the tests.
 */
#define XB_SLOT_EMPTY 0                 /* never used */
#define XB_SLOT_LIVE  1
#define XB_SLOT_DEAD  2                 /* retired: free, like EMPTY */
#define XB_BUCKET     4                 /* slots per bucket */
#define XB_PROBE_TRIES 3                /* probes of one lookup while bans are being moved */

/*
 * The program's counts for the exact ban in slot i of ban4/6: cnt4/6[i], one
 * per CPU, plain adds. Two atomic adds on a slot every CPU reads made the
 * drop path three times as dear (make bench, "what the drop path spends"),
 * and more when CPUs drop for one ban at once. Zero for a slot not LIVE
 * (userspace zeroes it when it retires the slot).
 */
struct xb_cnt {
	__u64 packets;
	__u64 bytes;
};

struct xb_slot4 {
	__u32 addr;                     /* network order */
	__u32 state;                    /* XB_SLOT_* */
	struct xb_ban ban;
};

struct xb_slot6 {
	struct xb_in6 addr;
	__u32 state;
	__u32 pad;
	struct xb_ban ban;
};

/* A bucket is one element of the array (one lookup reads it all); in the
 * mapping, buckets are slots one after the other, slot i in bucket
 * i / XB_BUCKET. */
struct xb_bucket4 {
	struct xb_slot4 s[XB_BUCKET];
};

struct xb_bucket6 {
	struct xb_slot6 s[XB_BUCKET];
};

/* Slots for a capacity of n bans: whole buckets, at most 4/5 full, two
 * buckets at least. */
#define xb_tab_slots(n) ((__u32)((n) + (n) / 4 + XB_BUCKET - 1) / XB_BUCKET * XB_BUCKET < \
			 2 * XB_BUCKET ? 2 * XB_BUCKET : \
			 (__u32)((n) + (n) / 4 + XB_BUCKET - 1) / XB_BUCKET * XB_BUCKET)

/* The array's max_entries for a capacity of n. */
#define xb_tab_buckets(n) (xb_tab_slots(n) / XB_BUCKET)

#ifndef XB_INLINE
#define XB_INLINE static inline __attribute__((always_inline))
#endif

/* A 64-bit finaliser (murmur3's fmix64): every input bit moves every
 * output bit, so with a secret seed the buckets of an address are
 * unpredictable and an attacker cannot aim addresses at one bucket. */
XB_INLINE __u64 xb_mix64(__u64 x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* A 32-bit half of a hash scaled to [0, n) (no modulo). */
XB_INLINE __u32 xb_scale(__u32 h, __u32 n)
{
	return (__u32)(((__u64)h * n) >> 32);
}

/* The two buckets of hash h in a table of nslots (nslots / XB_BUCKET >= 2):
 * from its top and bottom halves, the second moved on by one if they meet. */
XB_INLINE void xb_buckets(__u64 h, __u32 nslots, __u32 *b1, __u32 *b2)
{
	__u32 nb = nslots / XB_BUCKET;

	*b1 = xb_scale((__u32)(h >> 32), nb);
	*b2 = xb_scale((__u32)h, nb);
	if (*b2 == *b1)
		*b2 = *b1 + 1 >= nb ? 0 : *b1 + 1;
}

XB_INLINE __u64 xb_hash4(__u32 addr, __u64 seed)
{
	return xb_mix64(addr ^ seed);
}

/* An IPv6 address as its two 64-bit halves, as they sit in memory. */
XB_INLINE __u64 xb_hash6w(__u64 hi, __u64 lo, __u64 seed)
{
	return xb_mix64(xb_mix64(hi ^ seed) ^ lo);
}

XB_INLINE __u64 xb_hash6(const struct xb_in6 *a, __u64 seed)
{
	__u64 hi, lo;

	__builtin_memcpy(&hi, a->addr, 8);
	__builtin_memcpy(&lo, a->addr + 8, 8);
	return xb_hash6w(hi, lo, seed);
}

#define XB_BAN_F_MANUAL     (1u << 0)   /* made by `xdpban ban` */
#define XB_BAN_F_DAEMON     (1u << 1)   /* made by `xdpban run` */
#define XB_BAN_F_AGGREGATE  (1u << 2)   /* an IPv6 /64 standing in for several offenders */
/* Bits 8-15 of a prefix ban's flags: its own prefix length + 1 (0: not
 * recorded, a ban written before this field). A trie lookup is longest-match;
 * with these bits userspace tells this very prefix from a covering one in one
 * lookup, not a walk of the whole trie. Never read by the program. */
#define XB_BAN_PLEN_SHIFT   8
#define XB_BAN_PLEN_MASK    (0xffu << XB_BAN_PLEN_SHIFT)

struct xb_allow {
	__u64 packets;                  /* packets passed because of this entry */
};

/* Userspace-only metadata: free text that must not weigh on the fast path. */
#define XB_REASON_LEN 48
struct xb_meta_key {
	__u8 family;                    /* 4 or 6 */
	__u8 prefixlen;
	__u8 pad[2];
	__u8 addr[16];                  /* network order; IPv4 in the first 4 bytes */
};

struct xb_meta {
	__u64 created;                  /* wall clock, seconds since the epoch */
	char reason[XB_REASON_LEN];
};

/*
 * The data plane's clock: a BPF timer re-armed every XB_TICK_NS writes
 * CLOCK_MONOTONIC into now, so the drop path reads the time from a map
 * instead of calling a clock helper per packet. It runs in the kernel with no
 * process around (the pinned map holds it); userspace (re)arms it on every
 * open by running the xdpban_clock program once. now = 0: not armed yet, the
 * program then reads the clock itself.
 */
#define XB_TICK_NS 50000000ULL          /* 50 ms: bans end at most this late */
struct xb_clock {
	struct bpf_timer timer;
	__u64 now;                      /* CLOCK_MONOTONIC ns at the last tick */
};

/*
 * Runtime control, written by userspace (through its mmap, under the writers'
 * lock); the program reads flags, the seed and the table sizes.
 */
struct xb_ctl {
	__u32 flags;                    /* XB_CTL_*, derived from the maps after every change */
	__u32 nslots4;                  /* slots of ban4 (its max_entries); 0: not set up */
	__u32 nslots6;
	__u32 moves;                    /* bans moved (or copies dropped) so far: bantab.h */
	__u64 seed;                     /* hash seed, random, chosen when the maps are made */
	__u32 live4, dead4;             /* slots LIVE and DEAD in ban4 (userspace's count) */
	__u32 live6, dead6;
	/* The capacity asked for when the tables were made (userspace only;
	 * 0: what the slots hold), kept exact though slots come in buckets. */
	__u32 cap4, cap6;
	/* Nothing more: pins of this size must keep opening (a growth's state
	 * is in its own map, XB_MAP_GROW). */
};

/*
 * Growth (userspace only, user/dataplane/grow.c), in a map of its own that
 * every generation of tables shares, so pins made before growth (whose ctl
 * has no room for it) still open: the most bans a table may grow to, and
 * how many times the tables were replaced (a process holding older ones
 * reloads at its next lock).
 */
struct xb_grow {
	__u32 max_bans;
	__u32 gen;
};
#define XB_CTL_PFX4 (1u << 0)           /* pfx4 holds at least one entry */
#define XB_CTL_PFX6 (1u << 1)           /* pfx6 holds at least one entry */
#define XB_CTL_ALLOW4 (1u << 2)         /* allow4 holds at least one entry */
#define XB_CTL_ALLOW6 (1u << 3)         /* allow6 holds at least one entry */

/*
 * A lookup, the reader's side of the tables (bantab.h has the whole
 * protocol): note ctl's moves, read every slot of the first bucket with
 * xb_match4/6 and, without a hit there, every slot of the second; the first
 * slot in that order that matches is the ban. A probe that missed while
 * moves changed may have missed a ban being moved, so probe again
 * (XB_PROBE_TRIES in all). Every load is made once, where it stands, in this
 * order: the state of a slot before its key, moves before and after the
 * slots.
 */
#define XB_READ_ONCE(x) (*(const volatile __typeof__(x) *)&(x))



/* hi, lo: the address's two 64-bit halves as they sit in memory. */
typedef __u64 __attribute__((may_alias)) xb_u64_alias;
/* An IPv4 slot's key and state (adjacent, 8-byte aligned) in one load: one
 * compare instead of two, and the two read together. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define XB_WORD4(addr, state) ((__u64)(addr) | (__u64)(state) << 32)
#else
#define XB_WORD4(addr, state) ((__u64)(addr) << 32 | (__u64)(state))
#endif

XB_INLINE int xb_match4(const struct xb_slot4 *s, __u32 addr)
{
	return *(const volatile xb_u64_alias *)s == XB_WORD4(addr, XB_SLOT_LIVE);
}

XB_INLINE int xb_match6(const struct xb_slot6 *s, __u64 hi, __u64 lo)
{
	const volatile xb_u64_alias *w = (const volatile xb_u64_alias *)s->addr.addr;

	return XB_READ_ONCE(s->state) == XB_SLOT_LIVE && w[0] == hi && w[1] == lo;
}

XB_INLINE __u32 xb_moves(const struct xb_ctl *c)
{
	return XB_READ_ONCE(c->moves);
}

/* After a probe that missed: did a writer move bans meanwhile? */
XB_INLINE int xb_probe_stale(const struct xb_ctl *c, __u32 moves_before)
{
	return xb_moves(c) != moves_before;
}

/* Global per-CPU counters: indexes into struct xb_stats, the one value of XB_MAP_STATS. */
enum xb_stat {
	/* Every frame the program saw: passed + dropped, summed by userspace
	 * (xb_dp_stats); the program leaves this slot alone (one add fewer a
	 * frame), older builds counted it. */
	XB_STAT_SEEN = 0,
	XB_STAT_PASSED,                 /* frames passed, for any reason */
	XB_STAT_DROPPED,                /* frames dropped (exact + prefix) */
	XB_STAT_DROPPED_BYTES,          /* bytes of dropped frames */
	XB_STAT_DROPPED_PREFIX,         /* of the dropped, those hit by a prefix ban */
	XB_STAT_PASSED_ALLOWED,         /* banned but allow-listed */
	XB_STAT_PASSED_EXPIRED,         /* ban found but expired (and removed) */
	XB_STAT_PARSE_FAIL,             /* truncated or malformed frames (passed) */
	XB_STAT_NON_IP,                 /* neither IPv4 nor IPv6 (passed) */
	XB_STAT_MAX
};

struct xb_stats {
	__u64 v[XB_STAT_MAX];
};

#define XB_STAT_NAMES { \
	"seen", "passed", "dropped", "dropped_bytes", "dropped_prefix", \
	"passed_allowed", "passed_expired", "parse_fail", "non_ip" }

#endif /* XDPBAN_H */
