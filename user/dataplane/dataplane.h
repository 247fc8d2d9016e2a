/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dataplane: the last stage of the pipeline, where decisions take effect in
 * the kernel. Owns the pinned BPF maps and the XDP attachments; every ban,
 * unban and allow from the CLI or the daemon goes through here. All
 * functions return 0 or a negative errno.
 */
#ifndef XB_DATAPLANE_H
#define XB_DATAPLANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xdpban.h"
#include "common/addr.h"
#include "common/mode.h"

struct xb_dp_opts {
	const char *pin_dir;    /* NULL: $XDPBAN_PIN_DIR, else XB_PIN_DIR_DEFAULT */
	uint32_t max_bans;      /* 0: default; the ceiling the exact tables grow to */
	uint32_t max_prefix;
	uint32_t max_allow;
	bool no_create;         /* -ENOENT instead of creating maps that do not exist */
};

struct xb_dp;

/*
 * Messages: open, attach, detach and a full map log one line themselves
 * (pr_warn); -ENOENT and -EPERM from ban/unban/allow are left to the caller.
 */

/* Open the pinned maps, creating and pinning them (and mounting bpffs on the
 * pin directory if needed) when they do not exist yet. */
int xb_dp_open(const struct xb_dp_opts *opts, struct xb_dp **out);
void xb_dp_close(struct xb_dp *dp);
const char *xb_dp_pin_dir(const struct xb_dp *dp);

/* Start, or re-arm, the data plane's clock tick (struct xb_clock) by running
 * the object's xdpban_clock program once; xb_dp_open does it every time.
 * Without it the program reads the clock per dropped frame: slower, correct. */
int xb_clock_arm(int clock_prog_fd);

/* Attach the XDP program to an interface (pinned link, survives exit).
 * *used receives the mode that took effect (auto falls back to generic). */
int xb_dp_attach(struct xb_dp *dp, const char *ifname, enum xb_mode mode, enum xb_mode *used);
int xb_dp_detach(struct xb_dp *dp, const char *ifname);  /* -ENOENT: not attached */
/* Point every pinned link running one of our programs of another build
 * (another program tag) at this binary's, in place and atomically, on the
 * same maps; how many were. */
int xb_dp_upgrade_links(struct xb_dp *dp);
typedef int (*xb_link_cb)(const char *ifname, int ifindex, enum xb_mode mode, void *ctx);
int xb_dp_foreach_link(struct xb_dp *dp, xb_link_cb cb, void *ctx);

struct xb_ban_req {
	uint64_t expires;       /* CLOCK_MONOTONIC ns (xb_now_mono_ns() + ttl); 0 = permanent */
	uint32_t rule;          /* 0 = manual */
	uint16_t offence;
	uint16_t flags;         /* XB_BAN_F_* */
	const char *reason;     /* NULL: no metadata entry */
};

/* Insert or re-arm a ban (counters of an existing ban are kept).
 * -ENOSPC when the map is full; -EPERM for an allow-listed address. */
int xb_dp_ban(struct xb_dp *dp, const struct xb_addr *a, const struct xb_ban_req *req);
/* Many bans at once with batched map updates. *done counts those stored;
 * stops at the first error (e.g. -ENOSPC), leaving the rest untouched. */
int xb_dp_ban_batch(struct xb_dp *dp, const struct xb_addr *addrs, size_t n,
		    const struct xb_ban_req *req, size_t *done);
/* As xb_dp_ban_batch with a request per address: reqs[i] for addrs[i]
 * (e.g. the daemon's restore, each ban with its own expiry and rule). */
int xb_dp_ban_many(struct xb_dp *dp, const struct xb_addr *addrs,
		   const struct xb_ban_req *reqs, size_t n, size_t *done);
int xb_dp_unban(struct xb_dp *dp, const struct xb_addr *a);     /* -ENOENT: not banned */
/* Hold the writers' lock across many calls (they nest): a run of bans
 * then pays one flock and one freshness check, not one per ban. Other
 * writers wait until xb_dp_release. */
void xb_dp_hold(struct xb_dp *dp);
void xb_dp_release(struct xb_dp *dp);
int xb_dp_lookup(struct xb_dp *dp, const struct xb_addr *a, struct xb_ban *out);
int xb_dp_allow(struct xb_dp *dp, const struct xb_addr *a);
int xb_dp_unallow(struct xb_dp *dp, const struct xb_addr *a);   /* -ENOENT: not listed */

typedef int (*xb_ban_cb)(const struct xb_addr *a, const struct xb_ban *b,
			 const struct xb_meta *meta /* may be NULL */, void *ctx);
int xb_dp_foreach_ban(struct xb_dp *dp, xb_ban_cb cb, void *ctx);
typedef int (*xb_allow_cb)(const struct xb_addr *a, const struct xb_allow *v, void *ctx);
int xb_dp_foreach_allow(struct xb_dp *dp, xb_allow_cb cb, void *ctx);

/* Global counters summed over CPUs. */
int xb_dp_stats(struct xb_dp *dp, uint64_t out[XB_STAT_MAX]);
/* The exact-ban table of family 4 or 6: bans it holds and its capacity. */
int xb_dp_table_fill(struct xb_dp *dp, int family, uint32_t *live, uint32_t *cap);
/* The ceiling the exact-ban tables grow to (per family). */
uint32_t xb_dp_max_bans(struct xb_dp *dp);
/* Set that ceiling (0: XB_DEF_MAX_BANS) for every process sharing the pins;
 * with check_only, only say whether it could be. *held: the larger of the
 * tables' capacities; -ERANGE (nothing changed) when max is below it, as a
 * grown table does not shrink. */
int xb_dp_set_max_bans(struct xb_dp *dp, uint32_t max, bool check_only, uint32_t *held);
/* Remove expired bans; *removed may be NULL. */
int xb_dp_sweep(struct xb_dp *dp, size_t *removed);
/* Remove every ban (allow list kept). */
int xb_dp_flush(struct xb_dp *dp);

#endif
