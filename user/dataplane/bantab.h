/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bantab: userspace's side of the exact-ban tables (xdpban.h: open
 * addressing with linear probing in mmapable BPF arrays). Part of the data
 * plane; its other files are its only users besides tests and benchmarks.
 *
 * Writers must be serialised (the data plane holds a lock on the pin
 * directory: dp_lock in internal.h); the XDP program reads concurrently, so
 * a slot is filled before it turns LIVE and only ever turns DEAD (or, when
 * no probe can reach past it, EMPTY).
 * All functions return 0 or a negative errno.
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
};

/* Map the one-slot ctl array; on a fresh one, choose the random seed. */
int xb_ctl_map(int ctl_fd, struct xb_ctl **out);
void xb_ctl_unmap(struct xb_ctl *ctl);

/* Map a ban4 (family 4) or ban6 (family 6) array; records its size in ctl
 * the first time, refuses (-EINVAL) an array of another size. */
int xb_tab_map(struct xb_tab *t, int family, int map_fd, struct xb_ctl *ctl);
void xb_tab_unmap(struct xb_tab *t);

/* The capacity of a table of nslots (the inverse of xb_tab_slots). */
uint32_t xb_tab_cap(uint32_t nslots);

/* key: __u32 (network order) for family 4, struct xb_in6 for 6. */
struct xb_ban *xb_tab_find(const struct xb_tab *t, const void *key);
/* Insert, or re-arm (expires, rule, offence, flags) keeping the counters.
 * -ENOSPC: capacity reached, or no free slot within XB_PROBE_MAX. */
int xb_tab_put(struct xb_tab *t, const void *key, const struct xb_ban *v, bool *created);
int xb_tab_del(struct xb_tab *t, const void *key);      /* -ENOENT: not there */

/* Every LIVE slot: key and a copy of its ban. cb may not write the table. */
typedef int (*xb_tab_cb)(const void *key, const struct xb_ban *b, void *ctx);
int xb_tab_foreach(const struct xb_tab *t, xb_tab_cb cb, void *ctx);

/* Remove bans expired at now (every ban when now is 0); returns how many.
 * Then moves bans back over tombstones on their probe runs, turns the
 * tombstones no probe needs back into EMPTY slots and recounts. */
size_t xb_tab_sweep(struct xb_tab *t, uint64_t now);

#endif
