/* SPDX-License-Identifier: GPL-2.0 */
/*
 * enforce: the alert -> ban half of the pipeline. The policy's decisions go
 * into the maps first (the kernel drops), then the state database records
 * them (what a restart restores; the state may keep them in memory until
 * the disk takes them), each with its log line; and the two are kept in
 * step: restore at start, expiry, reconcile, forgetting lifted bans.
 *   enforce.c    decisions, expiry, forgetting
 *   reconcile.c  bans lifted outside the daemon, found in slices
 *   unstored.c   bans the maps could not take, stored when room appears
 *   restore.c    the database into the maps at start; or the maps into a
 *                new database
 *   respond.c    the other responses of an alert (respond/), their rows in
 *                the state, restored at start
 */
#ifndef XB_ENFORCE_H
#define XB_ENFORCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/records.h"
#include "dataplane/dataplane.h"
#include "pipeline/addrset.h"
#include "policy/policy.h"
#include "policy/state.h"
#include "respond/respond.h"

/* A pass of reconciliation, done a slice per call (reconcile.c). */
struct xb_reconcile {
	bool running, begun;            /* begun: the scan is past its first slice */
	struct xb_addr after;           /* the scan's position in the database */
	struct xb_addr_set maps;        /* the prefix bans in the maps at the start */
	struct xb_addr_set maybe;       /* prefix rows the maps lacked then */
	size_t checked, lifted;
	unsigned slices;
	uint64_t started_ns, work_ns;   /* monotonic start; time spent in slices */
	uint64_t last_ms;               /* the latest finished pass: work in ms */
	uint64_t passes;
};

/* What decisions act on; the caller owns dp, st and pol. Zero the rest;
 * xb_enforce_free releases it. */
struct xb_enforce {
	struct xb_dp *dp;       /* NULL in dry-run: decisions are logged only */
	struct xb_state *st;
	struct xb_policy *pol;
	struct xb_resp *resp;   /* the other responses; NULL: none run */
	bool dry_run;
	/* Bans recorded but not in the maps (full, out of memory): their rows
	 * stay, reconciliation leaves them be, xb_enforce_retry stores them. */
	struct xb_addr_set unstored;
	struct xb_reconcile rec;
	struct {
		uint64_t bans, rebans, expired, refused, errors;
		uint64_t singled;       /* prefix bans made single ones (prefix map full) */
	} n;
};

void xb_enforce_free(struct xb_enforce *e);

/* An alert: the policy decides (at the wall second rounded up), and each
 * decision is applied. */
void xb_enforce_alert(struct xb_enforce *e, const struct xb_alert *al);
/* One decision taken at monotonic mono_now: into the maps, logged. One the
 * maps refuse (allow-listed) leaves the database; one they cannot hold yet
 * stays recorded and unstored. A prefix the prefix map cannot hold bans
 * the offender alone instead. */
void xb_enforce_apply(struct xb_enforce *e, const struct xb_decision *dec, uint64_t mono_now);
/* Bans that ended by wall time now leave the database, logged as expiries. */
void xb_enforce_reap(struct xb_enforce *e, int64_t now);
/* What the state keeps in memory into the database (at most max changes a
 * table; 0: all). Skipped when the database is failing, unless force. */
void xb_enforce_flush(struct xb_enforce *e, size_t max, bool force);

/*
 * Bans that left the maps before their time were lifted on purpose (`xdpban
 * unban`/`flush` without telling us): forget them too, or a restart would
 * bring them back. A pass starts with one walk of the maps and goes through
 * the database in address order, a slice at a time: begin it, then step
 * until it is done. Bans not stored (unstored) are not "lifted".
 */
void xb_enforce_reconcile(struct xb_enforce *e, int64_t now);
/* Work on the pass for about budget_ns; true while it is not finished. */
bool xb_enforce_reconcile_step(struct xb_enforce *e, int64_t now, uint64_t budget_ns);

/* Store again (at most max of) the bans the maps could not take, as their
 * rows now say; those ended or forgotten meanwhile leave the set too.
 * Returns how many left it. */
size_t xb_enforce_retry(struct xb_enforce *e, int64_t now, size_t max);

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

/* respond.c: the responder's options for config c, its rows stored in e's
 * state (c and e must outlive the responder, or be set again). */
void xb_enforce_resp_opts(struct xb_enforce *e, const struct xb_config *c,
			  struct xb_resp_opts *o);
/* The responses an alert calls for besides the ban; ban/n_ban: the
 * decisions applied (the notification says what was done). */
void xb_enforce_respond(struct xb_enforce *e, const struct xb_alert *al,
			const struct xb_decision *ban, int n_ban);
/* The stored responses into the responder at start: those due lifted. */
int xb_enforce_resp_restore(struct xb_enforce *e, int64_t now, size_t *n);

struct xb_restore_stats {
	size_t active;          /* unexpired bans in the database */
	size_t present;         /* of those, already in the maps */
	size_t rearmed;         /* of the present, ending earlier than recorded: re-armed */
	size_t inserted;        /* re-inserted (or re-armed) with their original expiry */
	size_t failed;          /* could not be stored: */
	size_t unstored;        /*   kept, to be stored when room appears (map full) */
	size_t allowed;         /*   allow-listed now: forgotten */
};

/*
 * Resynchronise the maps from the database at wall time now: every active
 * ban the maps lack is inserted with its original expiry (batched); bans in
 * the maps are left as they are (no duplicates, manual bans untouched).
 * Those that do not fit go to e->unstored.
 */
int xb_enforce_restore(struct xb_enforce *e, int64_t now, struct xb_restore_stats *rs);
/* The other way, for a database started afresh (the old one was corrupt):
 * the daemon's bans in the maps become its rows and offence histories.
 * *n gets how many. */
int xb_enforce_learn(struct xb_enforce *e, int64_t now, size_t *n);

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
