/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bantab: userspace's side of the exact-ban tables (xdpban.h: bucketised
 * cuckoo hashing in mmapable BPF arrays, two buckets per key). Part of the
 * data plane; its other files are its only users besides tests and
 * benchmarks.
 *
 * Writers must be serialised (the data plane holds a lock on the pin
 * directory: dp_lock in internal.h); the XDP program reads concurrently.
 * All functions return 0 or a negative errno.
 *
 * The reader/writer protocol. A writer's stores, each kind in this order:
 *   insert   key and ban into a slot not LIVE of the key's buckets, then
 *            state LIVE (release);
 *   re-arm   expires, rule, offence, flags of the LIVE slot, in place;
 *   remove   state DEAD (release) in every slot holding the key, then its
 *            per-CPU counts zeroed (cnt4/6);
 *   move     (making room for an insert: a ban to its other bucket)
 *            ctl->moves + 1 (odd: a move is under way); a copy of the ban,
 *            counters zero, into a free slot d, state LIVE; moves + 2; the
 *            original's state DEAD, its counts (slot and per CPU) added to
 *            d's slot; moves + 1 (even). A chain of moves runs from its far
 *            end, so each lands in a free slot. A later copy of a key found
 *            LIVE (a writer killed inside a move) is dropped the same way:
 *            moves + 1, DEAD, counts to the first copy, moves + 1;
 *   reclaim  DEAD -> EMPTY (the two differ only for the tests).
 * A reader (xdpban.h) reads moves, reads every slot of the key's first
 * bucket, then of its second, each state before (or, IPv4, with) its key,
 * takes the first LIVE slot with the key, and after a miss reads moves
 * again: if it changed it probes again, XB_PROBE_TRIES times in all.
 * Why a ban that stays in the table is found: a ban is always in one of its
 * two buckets, and only a move takes it out of a slot, so a probe misses it
 * only if it read d before the copy was published and the original after
 * it was retired. moves changed in between, so that reader probes again,
 * from after the copy was published. A lookup misses only if each of its
 * probes straddles a move of that very ban. Two LIVE copies are harmless:
 * readers take the first.
 * Memory order, and the kernels it holds on (xdpban supports 6.1 and later):
 *   x86-64, every kernel: stores become visible in program order and loads
 *     are not reordered with older loads (TSO), so the writer's C11 release
 *     stores compile to plain stores, and the program's loads, made once
 *     each (XB_READ_ONCE) in the order above, see them in that order: the
 *     protocol holds as stated.
 *   arm64 and other weakly ordered CPUs: the writer side holds (release
 *     stores of the states and of moves order every store before them). The
 *     reader side needs load-acquire on moves and on each state; the BPF
 *     instruction set has it (BPF_LOAD_ACQ) only from kernel 6.15, and the
 *     program does not use it, as it must load on 6.1: there a probe may
 *     miss a ban being moved (its loads of moves and of the slots may be
 *     reordered), and an IPv6 probe may match a slot's stale key. An IPv4
 *     slot's key and state are one aligned 64-bit load (xb_match4,
 *     single-copy atomic on arm64 too), so an IPv4 probe never pairs a new
 *     state with an old key. No arm64 test exists.
 */
#ifndef XB_BANTAB_H
#define XB_BANTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xdpban.h"

struct xb_tab {
	int family;             /* 4 or 6 */
	uint32_t nslots;        /* the array's max_entries x XB_BUCKET */
	uint32_t cap;           /* most LIVE slots: the ban capacity */
	size_t slot_sz;         /* sizeof(struct xb_slot4/6) */
	uint8_t *slots;         /* shared mapping of the array */
	size_t map_len;
	struct xb_ctl *ctl;     /* shared mapping of ctl (not owned) */
	uint32_t *live, *dead;  /* ctl's counts for this family */
	int cnt_fd;             /* cnt4/cnt6 (xb_tab_use_counters), -1: none */
	int ncpu;               /* possible CPUs: values per cnt entry */
	struct xb_cnt *pcpu;    /* room for one entry's per-CPU values */
};

/* Map the one-slot ctl array; on a fresh one, choose the random seed. */
int xb_ctl_map(int ctl_fd, struct xb_ctl **out);
void xb_ctl_unmap(struct xb_ctl *ctl);

/* Map a ban4 (family 4) or ban6 (family 6) array of buckets; records its
 * size in slots in ctl the first time, refuses (-EINVAL) an array of another
 * size. */
int xb_tab_map(struct xb_tab *t, int family, int map_fd, struct xb_ctl *ctl);
void xb_tab_unmap(struct xb_tab *t);
/* The program's per-CPU counters of the table (cnt4/cnt6, one entry per
 * slot): read into every ban's packets and bytes, moved with it, zeroed
 * when its slot is retired. Without them a table counts only what is in its
 * slots (tests that write them). -EINVAL: not a PERCPU_ARRAY of the table's
 * size. */
int xb_tab_use_counters(struct xb_tab *t, int cnt_fd);
/* Whether tables of nslots get per-CPU counters on ncpu CPUs (within
 * XB_CNT_PERCPU_MAX), as the data plane makes them. */
bool xb_tab_counters_fit(uint32_t nslots, int ncpu);

/* The most bans a table of nslots holds (xb_tab_slots(n) for any n up to
 * it is nslots). */
uint32_t xb_tab_cap(uint32_t nslots);
/* Hold at most want bans (at most xb_tab_cap): recorded in ctl by the first
 * to ask, which every later mapping follows. -EINVAL: more than it holds. */
int xb_tab_set_cap(struct xb_tab *t, uint32_t want);

/* key: __u32 (network order) for family 4, struct xb_in6 for 6. The ban's
 * slot: its packets and bytes are only what userspace folded in there. */
struct xb_ban *xb_tab_find(const struct xb_tab *t, const void *key);
/* A copy of the ban with its whole counts (the slot's and the program's
 * per-CPU ones). -ENOENT: not there. */
int xb_tab_get(const struct xb_tab *t, const void *key, struct xb_ban *out);
/* Slots the XDP program reads to look key up (xdpban.h, one probe): a hit's
 * up to its own, a miss's up to the EMPTY one that ends it. */
uint32_t xb_tab_probe_len(const struct xb_tab *t, const void *key);
/* Insert, or re-arm (expires, rule, offence, flags) keeping the counters.
 * -ENOSPC: capacity reached, or no room in reach of the key's buckets. */
int xb_tab_put(struct xb_tab *t, const void *key, const struct xb_ban *v, bool *created);
/* Remove the ban, every copy of it. -ENOENT: not there. */
int xb_tab_del(struct xb_tab *t, const void *key);

/* Every ban (its first LIVE copy): keys (key size each) and a copy of each
 * ban, read with no lock. whole: -EAGAIN unless no move began or ended
 * while it was read, so nothing moved past the reader (missed, or counted
 * from a copy still without the original's counters); without the lock a
 * sweep may be compacting, so callers try again, then take the lock. */
struct xb_tab_snap {
	uint8_t *keys;
	struct xb_ban *bans;
	uint32_t *at;           /* the slot each was read from */
	size_t n, cap_keys, cap_bans, cap_at;
};
int xb_tab_snapshot(const struct xb_tab *t, bool whole, struct xb_tab_snap *s);
void xb_tab_snap_free(struct xb_tab_snap *s);

/* xb_tab_snapshot (not whole), then cb for each ban; cb may write the table. */
typedef int (*xb_tab_cb)(const void *key, const struct xb_ban *b, void *ctx);
int xb_tab_foreach(const struct xb_tab *t, xb_tab_cb cb, void *ctx);

/* Remove bans expired at now (every ban when now is 0); returns how many.
 * Then drops the second copy a writer killed inside a move may have left,
 * turns retired slots back into EMPTY ones and recounts. */
size_t xb_tab_sweep(struct xb_tab *t, uint64_t now);

#endif
