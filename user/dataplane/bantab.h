/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bantab: userspace's side of the exact-ban tables (xdpban.h: open
 * addressing with linear probing in mmapable BPF arrays). Part of the data
 * plane; its other files are its only users besides tests and benchmarks.
 *
 * Writers must be serialised (the data plane holds a lock on the pin
 * directory: dp_lock in internal.h); the XDP program reads concurrently.
 * All functions return 0 or a negative errno.
 *
 * The reader/writer protocol. A writer's stores, each kind in this order:
 *   insert   key and ban into a DEAD or EMPTY slot, then state LIVE;
 *   re-arm   expires, rule, offence, flags of the LIVE slot, in place;
 *   remove   state DEAD, in every slot holding the key;
 *   move     (a sweep's compaction, nearer the home slot) ctl->moves + 1
 *            (odd: a move is under way); a copy of the ban, counters zero,
 *            into a DEAD slot d earlier on its run, state LIVE; moves + 2;
 *            then the original's state DEAD, its counters added to d's;
 *            moves + 1 (even). A later copy of a key found LIVE (a writer killed
 *            inside a move) is dropped the same way: moves + 1, DEAD,
 *            counters added to the first, moves + 1;
 *   reclaim  DEAD -> EMPTY only for a slot on no LIVE key's probe run.
 * A reader (xdpban.h) reads moves, probes from the home slot to the first
 * EMPTY one, reading each state before its key, stops at the first LIVE
 * slot with the key, and after a miss reads moves again: if it changed it
 * probes again, XB_PROBE_TRIES times in all.
 * Why a ban that stays in the table is found: a LIVE slot's key never
 * changes and no slot on a LIVE key's run turns EMPTY, so only a move (or
 * a dropped copy) can hide a ban: from a reader that read d before the copy
 * was published and the original after it was retired. moves changed in
 * between, so that reader probes again, from after the copy was published.
 * A lookup misses only if each of its probes straddles a move of that very
 * ban. Two LIVE copies are harmless: readers stop at the first.
 * Memory order: on x86 (TSO) stores become visible in program order and
 * loads are not reordered with older loads, so these plain stores and loads
 * are enough; the writer's release stores and the reader's volatile loads
 * only keep the compilers from reordering them. A weakly ordered CPU
 * (arm64) needs release stores on the writer's side (they are) and
 * load-acquire on the reader's loads of moves and of each state: BPF has
 * load-acquire only from kernel 6.15, and the program does not use it, so
 * there a probe may miss a moving ban, or match a slot's stale key.
 */
#ifndef XB_BANTAB_H
#define XB_BANTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xdpban.h"

struct xb_tab {
	int family;             /* 4 or 6 */
	uint32_t nslots;        /* the array's max_entries */
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

/* Map a ban4 (family 4) or ban6 (family 6) array; records its size in ctl
 * the first time, refuses (-EINVAL) an array of another size. */
int xb_tab_map(struct xb_tab *t, int family, int map_fd, struct xb_ctl *ctl);
void xb_tab_unmap(struct xb_tab *t);
/* The program's per-CPU counters of the table (cnt4/cnt6, one entry per
 * slot): read into every ban's packets and bytes, moved with it, zeroed
 * when its slot is retired. Without them a table counts only what is in its
 * slots (tests that write them). -EINVAL: not a PERCPU_ARRAY of the table's
 * size. */
int xb_tab_use_counters(struct xb_tab *t, int cnt_fd);

/* The capacity of a table of nslots (the inverse of xb_tab_slots). */
uint32_t xb_tab_cap(uint32_t nslots);

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
 * -ENOSPC: capacity reached, or no free slot within XB_PROBE_MAX. */
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
 * Then moves bans back over tombstones on their probe runs (dropping any
 * second copy), turns the tombstones no probe needs back into EMPTY slots
 * and recounts. */
size_t xb_tab_sweep(struct xb_tab *t, uint64_t now);

#endif
