/* SPDX-License-Identifier: GPL-2.0 */
/*
 * enforce: the alert -> ban half of the pipeline. The policy's decisions go
 * into the maps (the kernel drops) and stay recorded in the state database
 * (what a restart restores), each with its log line; and the two are kept
 * in step: restore at start, expiry, reconcile, forgetting lifted bans.
 */
#ifndef XB_ENFORCE_H
#define XB_ENFORCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/records.h"
#include "dataplane/dataplane.h"
#include "policy/policy.h"
#include "policy/state.h"

/* What decisions act on; the caller owns dp, st and pol. */
struct xb_enforce {
	struct xb_dp *dp;       /* NULL in dry-run: decisions are logged only */
	struct xb_state *st;
	struct xb_policy *pol;
	bool dry_run;
	struct {
		uint64_t bans, rebans, expired, refused, errors;
	} n;
};

/* An alert: the policy decides (at the wall second rounded up), and each
 * decision is applied. */
void xb_enforce_alert(struct xb_enforce *e, const struct xb_alert *al);
/* One decision taken at monotonic mono_now: into the maps (a refused one is
 * dropped from the database: the maps are the judge), logged. */
void xb_enforce_apply(struct xb_enforce *e, const struct xb_decision *dec, uint64_t mono_now);
/* Bans that ended by wall time now leave the database, logged as expiries. */
void xb_enforce_reap(struct xb_enforce *e, int64_t now);
/* Bans that left the maps before their time were lifted on purpose: forget
 * them too (bounded: the first 65536 bans are checked). */
void xb_enforce_reconcile(struct xb_enforce *e, int64_t now);

/*
 * Forget the recorded ban of a, or every ban when a is NULL (*n, may be NULL,
 * says how many). why: the log line's reason ("lifted with xdpban unban"),
 * NULL for none. 0, -ENOENT when a had no ban, or a negative errno.
 * The offence history is kept.
 */
int xb_enforce_forget(struct xb_state *st, const struct xb_addr *a, const char *why, size_t *n);
/* The same in the database under state_dir when no daemon has it open (the
 * CLI), silently; 0 when there is no database. path gets the database's. */
int xb_enforce_forget_stored(const char *state_dir, const struct xb_addr *a,
			     char *path, size_t len);

struct xb_restore_stats {
	size_t active;          /* unexpired bans in the database */
	size_t present;         /* of those, already in the maps */
	size_t rearmed;         /* of the present, ending earlier than recorded: re-armed */
	size_t inserted;        /* re-inserted (or re-armed) with their original expiry */
	size_t failed;          /* could not be stored (map full, allow-listed) */
};

/*
 * Resynchronise the maps from the database at wall time now: every active
 * ban the maps lack is inserted with its original expiry (batched); bans in
 * the maps are left as they are (no duplicates, manual bans untouched).
 */
int xb_enforce_restore(struct xb_dp *dp, struct xb_state *st, int64_t now,
		       struct xb_restore_stats *rs);

/*
 * The clocks of a ban decision. The policy gets the wall time rounded up to
 * the second, so the recorded end (what a restart restores) is never early;
 * the map's expiry counts from the monotonic time the decision was taken.
 */
int64_t xb_enforce_wall_ceil(void);
/* The map request for dec decided at mono_now: expires mono_now + ttl
 * (0 for a permanent ban). */
void xb_enforce_ban_req(const struct xb_decision *dec, uint64_t mono_now, struct xb_ban_req *req);

#endif
