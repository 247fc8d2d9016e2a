/* SPDX-License-Identifier: GPL-2.0 */
/*
 * state: what the daemon must remember across restarts and reboots, in one
 * SQLite database (WAL mode) at <state_dir>/xdpban.db, readable by root only.
 *
 *   offences  (addr, cmd) -> count, first, last offence, until (wall s):
 *             the escalation history; "until" is when the address was last
 *             known bad (end of its ban), the start of the quiet period.
 *   bans      addr -> cmd, rule, offence, flags, created, expires (wall s,
 *             0 = permanent): the bans the daemon intends; the truth the maps
 *             are resynchronised from after a restart or a reboot.
 *   v6seen    (prefix, addr) -> last: recent IPv6 offenders per prefix.
 *   responses key -> the response applied and its end (schema 2): what must
 *             be lifted ("delete") on time, also after a restart.
 *   meta      key -> value (schema version, boot id, ...).
 *
 * Addresses are stored as the 20-byte struct xb_addr (padding zeroed), so a
 * restore needs no text parsing. All functions return 0 or a negative errno.
 *
 * Deferred writes (the daemon): every change goes to memory first and reaches
 * the database at xb_state_flush(); reads see memory first. A database that
 * cannot take them (disk full, I/O errors) then costs no decision: the
 * changes wait in memory (bounded) and the next flush writes them.
 */
#ifndef XB_STATE_H
#define XB_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"

#define XB_STATE_DB        "xdpban.db"
#define XB_STATE_MEMORY    ":memory:"      /* for --dry-run and tests */
#define XB_UNTIL_FOREVER   INT64_MAX

struct xb_state;

/* dir: created (0700) if missing; the database file is made 0600.
 * XB_STATE_MEMORY: a private in-memory database. -EUCLEAN: the file is not
 * a database, or a corrupt one (see xb_state_quarantine). */
int xb_state_open(const char *dir, struct xb_state **out);
/* The same, logging nothing on failure (an attempt repeated until it works). */
int xb_state_try_open(const char *dir, struct xb_state **out);
/* In deferred mode the changes still in memory are written first. */
void xb_state_close(struct xb_state *st);
const char *xb_state_path(const struct xb_state *st);
/* Move the database under dir (and its write-ahead log) aside, to
 * <db>.corrupt-<UTC time>; moved gets the new name. Then open starts afresh. */
int xb_state_quarantine(const char *dir, char *moved, size_t len);

/* Every record of from (e.g. a state kept in memory while the disk could not
 * be opened) into the database under dir, replacing what it has. */
int xb_state_copy_into(struct xb_state *from, const char *dir);

/* Defer every later write (see above). */
int xb_state_set_deferred(struct xb_state *st);
/* Write at most max (0: all) changes per table from memory, in one
 * transaction. On failure they stay in memory; the first failure is logged,
 * and the recovery, not each attempt. 0 or the database's error. */
int xb_state_flush(struct xb_state *st, size_t max);
/* Did the last flush go through (always true unless deferred)? */
bool xb_state_ok(const struct xb_state *st);

struct xb_state_health {
	bool ok;                /* the database takes the writes */
	size_t pending;         /* changes in memory, not yet in the database */
	size_t dropped;         /* changes not kept (memory bound reached) */
	uint64_t failures;      /* flushes that failed */
	int64_t failing_since;  /* wall s of the first failure, 0 when ok */
	char error[160];        /* the latest failure, "" */
	char checkpoint_error[160]; /* the latest failed checkpoint, "" */
};
void xb_state_health(struct xb_state *st, struct xb_state_health *h);

/* Group several changes into one durable commit (and make them atomic). */
int xb_state_begin(struct xb_state *st);
int xb_state_commit(struct xb_state *st);
void xb_state_rollback(struct xb_state *st);

struct xb_offence {
	uint32_t count;
	int64_t first;          /* wall s of the first offence remembered */
	int64_t last;           /* wall s of the latest offence */
	int64_t until;          /* end of the latest ban, XB_UNTIL_FOREVER if permanent */
};
/* -ENOENT when there is no history. */
int xb_state_offence_get(struct xb_state *st, const struct xb_addr *a, const char *cmd,
			 struct xb_offence *o);
int xb_state_offence_put(struct xb_state *st, const struct xb_addr *a, const char *cmd,
			 const struct xb_offence *o);
/* Forget histories whose quiet period started at or before `before`;
 * *n (may be NULL) receives how many. */
int xb_state_offence_forget(struct xb_state *st, int64_t before, size_t *n);

struct xb_state_ban {
	struct xb_addr addr;
	char cmd[32];
	uint32_t rule;
	uint16_t offence;
	uint16_t flags;         /* XB_BAN_F_* */
	int64_t created;        /* wall s */
	int64_t expires;        /* wall s, 0 = permanent */
};
int xb_state_ban_put(struct xb_state *st, const struct xb_state_ban *b);
int xb_state_ban_get(struct xb_state *st, const struct xb_addr *a, struct xb_state_ban *b);
int xb_state_ban_del(struct xb_state *st, const struct xb_addr *a);     /* -ENOENT */
int xb_state_ban_count(struct xb_state *st, size_t *n);
/* Forget every ban (after `xdpban flush`); *n (may be NULL) gets how many. */
int xb_state_ban_clear(struct xb_state *st, size_t *n);

typedef int (*xb_state_ban_cb)(const struct xb_state_ban *b, void *ctx);
/* Bans still in force at `now` (permanent or expires > now), ordered by
 * (expires, rule, offence, flags) so equal requests come together. For speed
 * (the restore path) cmd and created are not filled in. */
int xb_state_ban_foreach_active(struct xb_state *st, int64_t now, xb_state_ban_cb cb, void *ctx);
/* Active bans in address order, from the one after *after (NULL: the
 * first), at most max; *n says how many, *last the last one's address.
 * Deferred changes not yet written are left out (in memory, they are new).
 * For a walk in slices (the daemon's reconciliation). */
int xb_state_ban_scan(struct xb_state *st, const struct xb_addr *after, int64_t now, size_t max,
		      xb_state_ban_cb cb, void *ctx, struct xb_addr *last, size_t *n);
/* Bans of one family inside prefix (prefix itself excluded). */
int xb_state_ban_foreach_within(struct xb_state *st, const struct xb_addr *prefix,
				xb_state_ban_cb cb, void *ctx);
/* Hand out the bans that ended at or before now (0 < expires <= now), then
 * delete them. The callback sees each exactly once. */
int xb_state_ban_reap(struct xb_state *st, int64_t now, xb_state_ban_cb cb, void *ctx);

/* Note that addr (IPv6) offended at `now` inside prefix and count the
 * distinct addresses of that prefix seen since `since`. Old rows are pruned. */
int xb_state_v6_seen(struct xb_state *st, const struct xb_addr *prefix,
		     const struct xb_addr *addr, int64_t now, int64_t since, unsigned *distinct);

/* Move the write-ahead log into the database (call it every few seconds:
 * automatic checkpoints are off so a ban never waits for an fsync). With
 * the checkpoint thread running it only wakes the thread. */
int xb_state_checkpoint(struct xb_state *st);
/* Run checkpoints on a thread of their own with its own connection: their
 * fsync never holds the caller. Stopped by xb_state_close. */
int xb_state_checkpoint_thread(struct xb_state *st);

/* A response in force (records.h: struct xb_resp_row). Written at once,
 * not deferred: there are few, and each is an effect outside the maps that
 * a restart must lift. */
struct xb_resp_row;
int xb_state_resp_put(struct xb_state *st, const struct xb_resp_row *r);
int xb_state_resp_del(struct xb_state *st, const char *key);    /* -ENOENT */
/* Every row; r->msg is valid during the callback only. */
int xb_state_resp_foreach(struct xb_state *st, int (*cb)(const struct xb_resp_row *r, void *ctx),
			  void *ctx);

/* Small key/value store. get: -ENOENT when absent; value truncated to len. */
int xb_state_meta_get(struct xb_state *st, const char *key, char *val, size_t len);
int xb_state_meta_put(struct xb_state *st, const char *key, const char *val);

#endif
