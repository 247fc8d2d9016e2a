/* SPDX-License-Identifier: GPL-2.0 */
/*
 * state internals shared by its files (the API is state.h):
 *   state.c          the database: open, schema, the records' statements
 *   state_pending.c  deferred writes: kept in memory, written by xb_state_flush
 *   state_disk.c     the file: checkpoints on a thread, a corrupt file moved aside
 */
#ifndef XB_STATE_INT_H
#define XB_STATE_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "policy/state.h"

/* Direct statements (S_*) touch the database alone; the deferred ones (P_*,
 * prepared by xb_state_set_deferred) write to the in-memory "pend" database
 * attached beside it and read both, pend first. */
enum {
	S_OFF_GET, S_OFF_PUT, S_OFF_FORGET,
	S_BAN_PUT, S_BAN_GET, S_BAN_DEL, S_BAN_COUNT, S_BAN_ACTIVE, S_BAN_REAP_SEL,
	S_BAN_REAP_DEL, S_BAN_WITHIN, S_BAN_CLEAR, S_BAN_SCAN,
	S_V6_PUT, S_V6_COUNT, S_V6_PRUNE,
	S_META_GET, S_META_PUT,
	S_BEGIN, S_COMMIT, S_ROLLBACK,
	S_DIRECT_MAX,
	P_OFF_GET = S_DIRECT_MAX, P_OFF_PUT, P_OFF_FORGET, P_OFF_QUIET,
	P_BAN_PUT, P_BAN_GET, P_BAN_DEL, P_BAN_COUNT, P_BAN_ACTIVE, P_BAN_REAP_SEL,
	P_BAN_REAP_MARK, P_BAN_REAP_MARK_PEND, P_BAN_WITHIN, P_BAN_CLEAR, P_BAN_SCAN,
	P_V6_PUT, P_V6_COUNT, P_V6_PRUNE,
	P_BEGIN, P_ANY_BANS, P_COUNT,
	/* the flush: per table, the last rowid of a bounded batch, then its writes */
	P_LIM_OFF, P_LIM_BAN, P_LIM_V6,
	P_FL_OFF, P_FL_BAN_PUT, P_FL_BAN_DEL, P_FL_V6,
	P_DROP_OFF, P_DROP_BAN, P_DROP_V6,
	S_MAX
};

/* Deferred writes: what is in memory, and whether the database takes it. */
struct pend_state {
	bool on;                /* xb_state_set_deferred was called */
	bool failing;           /* the last flush failed */
	size_t n;               /* rows in pend (counted up per write, recounted at flush) */
	size_t dropped;         /* changes not kept: pend was full */
	int64_t failing_since;  /* wall s */
	int64_t prune_before;   /* v6seen rows older than this leave the database at flush */
	int64_t forget_before;  /* histories quiet since this leave it at flush */
	uint64_t failures;
	char error[160];
};

struct ckpt;

struct xb_state {
	sqlite3 *db;
	sqlite3_stmt *st[S_MAX];
	char path[PATH_MAX];
	int64_t last_v6_prune;
	int quiet;              /* > 0: database errors are recorded, not logged */
	char last_error[160];   /* the latest database error's message */
	struct pend_state pend;
	struct ckpt *ck;        /* the checkpoint thread, NULL: checkpoints run inline */
};

extern const char *const xb_state_sql[S_MAX];

/* A prepared statement, reset and cleared for new bindings. */
sqlite3_stmt *state_stmt(struct xb_state *s, int i);
/* The last error as a negative errno; logged unless s->quiet. */
int state_db_err(struct xb_state *s, const char *what);
/* Step q once: 0 on a row or the end, else state_db_err. */
int state_run(struct xb_state *s, sqlite3_stmt *q, const char *what);
/* The key: the address struct with its padding zeroed. */
void state_bind_addr(sqlite3_stmt *q, int col, const struct xb_addr *a);
/* Prepare statements [from, to). */
int state_prepare(struct xb_state *s, int from, int to);
/* Each (addr, cmd, ..., expires) row of q to cb; within: only bans inside it. */
int state_each_ban(struct xb_state *s, sqlite3_stmt *q, xb_state_ban_cb cb, void *ctx,
		   const struct xb_addr *within);

/* state_pending.c: what deferred mode adds to the writes of state.c. */
bool pend_on(const struct xb_state *s);
/* Room for one more change in memory (false: dropped, counted). */
bool pend_room(struct xb_state *s);
/* pend holds bans (the merged statements are needed, not the plain ones). */
bool pend_has_bans(struct xb_state *s);
/* The deferred forms of xb_state_offence_forget and xb_state_ban_reap. */
int pend_offence_forget(struct xb_state *s, int64_t before, size_t *n);
int pend_ban_reap(struct xb_state *s, int64_t now, xb_state_ban_cb cb, void *ctx);

/* state_disk.c */
void state_ckpt_stop(struct xb_state *s);

#endif
