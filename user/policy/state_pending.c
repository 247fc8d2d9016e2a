// SPDX-License-Identifier: GPL-2.0
/*
 * state_pending: deferred writes. Changes go to an in-memory database
 * ("pend") attached beside the real one, with the same tables and a del
 * mark; reads take pend's row before the database's. xb_state_flush moves
 * a bounded batch into the database and out of pend in one transaction: a
 * failed commit (disk full) rolls both back, and nothing is lost.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "policy/state_int.h"

/* Changes kept in memory at most (about 100 bytes each); deletions are
 * always kept. Beyond it a change is dropped: the ban holds in the maps, a
 * restart forgets it. */
#define PEND_MAX (1u << 18)

static const char pend_schema[] =
	"ATTACH DATABASE ':memory:' AS pend;"
	"CREATE TABLE pend.offences (addr BLOB NOT NULL, cmd TEXT NOT NULL, count INTEGER,"
	" first INTEGER, last INTEGER, until INTEGER, UNIQUE (addr, cmd));"
	/* rowid: the order of the changes (a replaced row moves to the end) */
	"CREATE TABLE pend.bans (addr BLOB NOT NULL UNIQUE, del INTEGER NOT NULL, cmd TEXT,"
	" rule INTEGER, offence INTEGER, flags INTEGER, created INTEGER, expires INTEGER);"
	"CREATE TABLE pend.v6seen (prefix BLOB NOT NULL, addr BLOB NOT NULL,"
	" last INTEGER NOT NULL, UNIQUE (prefix, addr));";

bool pend_on(const struct xb_state *s)
{
	return s->pend.on;
}

bool pend_room(struct xb_state *s)
{
	if (s->pend.n < PEND_MAX) {
		s->pend.n++;
		return true;
	}
	if (!s->pend.dropped++)
		pr_warn("state: %u changes wait in memory for %s: further ones are not kept "
			"(their bans hold in the maps; a restart forgets them)\n", PEND_MAX, s->path);
	return false;
}

static int64_t one_int(struct xb_state *s, int i)
{
	sqlite3_stmt *q = state_stmt(s, i);
	int64_t v = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;

	sqlite3_reset(q);
	return v;
}

bool pend_has_bans(struct xb_state *s)
{
	return pend_on(s) && one_int(s, P_ANY_BANS);
}

int xb_state_set_deferred(struct xb_state *s)
{
	int err;

	if (s->pend.on)
		return 0;
	if (sqlite3_exec(s->db, pend_schema, NULL, NULL, NULL) != SQLITE_OK)
		return state_db_err(s, "deferred writes");
	if ((err = state_prepare(s, S_DIRECT_MAX, S_MAX)))
		return err;
	s->pend.on = true;
	return 0;
}

int pend_offence_forget(struct xb_state *s, int64_t before, size_t *n)
{
	sqlite3_stmt *q = state_stmt(s, P_OFF_QUIET);
	size_t quiet = 0;
	int err;

	sqlite3_bind_int64(q, 1, before);
	if (sqlite3_step(q) == SQLITE_ROW)
		quiet = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	q = state_stmt(s, P_OFF_FORGET);
	sqlite3_bind_int64(q, 1, before);
	if ((err = state_run(s, q, "offence forget")))
		return err;
	if (n)
		*n = quiet + sqlite3_changes(s->db);
	/* A forgotten history reads as none already: decide() resets a quiet one. */
	if (before > s->pend.forget_before)
		s->pend.forget_before = before;
	return 0;
}

/* The ended bans, in memory or in the database, each handed out once: they
 * turn into deletions in memory. */
int pend_ban_reap(struct xb_state *s, int64_t now, xb_state_ban_cb cb, void *ctx)
{
	sqlite3_stmt *q;
	int err;

	if ((err = xb_state_begin(s)))
		return err;
	q = state_stmt(s, P_BAN_REAP_SEL);
	sqlite3_bind_int64(q, 1, now);
	err = state_each_ban(s, q, cb, ctx, NULL);
	if (!err) {
		q = state_stmt(s, P_BAN_REAP_MARK);
		sqlite3_bind_int64(q, 1, now);
		err = state_run(s, q, "ban reap");
	}
	if (!err) {
		s->pend.n += sqlite3_changes(s->db);
		q = state_stmt(s, P_BAN_REAP_MARK_PEND);
		sqlite3_bind_int64(q, 1, now);
		err = state_run(s, q, "ban reap");
	}
	if (!err)
		err = xb_state_commit(s);
	if (err)
		xb_state_rollback(s);
	return err;
}

/* The rowid up to which a batch of at most max rows of a pend table goes. */
static int64_t batch_end(struct xb_state *s, int lim, size_t max)
{
	sqlite3_stmt *q = state_stmt(s, lim);
	int64_t end;

	sqlite3_bind_int64(q, 1, max > INT64_MAX ? INT64_MAX : (int64_t)max);
	end = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
	sqlite3_reset(q);
	return end;
}

static int run_with(struct xb_state *s, int i, int64_t v)
{
	sqlite3_stmt *q = state_stmt(s, i);

	sqlite3_bind_int64(q, 1, v);
	return state_run(s, q, "flush");
}

/* One pend table: its oldest rows into the database, then out of pend. */
static int flush_table(struct xb_state *s, int lim, const int *writes, int drop, size_t max)
{
	int64_t end = batch_end(s, lim, max);
	int err = 0;

	if (!end)
		return 0;
	for (const int *w = writes; *w && !err; w++)
		err = run_with(s, *w, end);
	return err ? err : run_with(s, drop, end);
}

/* The batch, in one transaction of both databases. */
static int flush_batch(struct xb_state *s, size_t max)
{
	static const int off[] = { P_FL_OFF, 0 }, ban[] = { P_FL_BAN_PUT, P_FL_BAN_DEL, 0 },
			 v6[] = { P_FL_V6, 0 };
	int err = state_run(s, state_stmt(s, S_BEGIN), "flush");

	if (!err && s->pend.forget_before)
		err = run_with(s, S_OFF_FORGET, s->pend.forget_before);
	if (!err && s->pend.prune_before)
		err = run_with(s, S_V6_PRUNE, s->pend.prune_before);
	if (!err)
		err = flush_table(s, P_LIM_OFF, off, P_DROP_OFF, max);
	if (!err)
		err = flush_table(s, P_LIM_BAN, ban, P_DROP_BAN, max);
	if (!err)
		err = flush_table(s, P_LIM_V6, v6, P_DROP_V6, max);
	if (!err)
		err = state_run(s, state_stmt(s, S_COMMIT), "flush");
	if (err) {
		xb_state_rollback(s);
		return err;
	}
	s->pend.forget_before = s->pend.prune_before = 0;
	return 0;
}

static void flush_failed(struct xb_state *s)
{
	s->pend.failures++;
	snprintf(s->pend.error, sizeof(s->pend.error), "%s", s->last_error);
	if (s->pend.failing)
		return;         /* said once, when it started */
	s->pend.failing = true;
	s->pend.failing_since = xb_now_wall();
	pr_warn("state: cannot write %s (%s): bans go on, %zu changes wait in memory "
		"and are written when it can take them\n", s->path, s->pend.error, s->pend.n);
}

static void flush_recovered(struct xb_state *s)
{
	char tb[32];

	s->pend.failing = false;
	pr_info("state: %s takes writes again: the changes kept in memory are written "
		"(for %s, %llu attempts failed%s)\n", s->path,
		xb_fmt_duration(xb_now_wall() - s->pend.failing_since, tb, sizeof(tb)),
		(unsigned long long)s->pend.failures,
		s->pend.dropped ? "; some could not be kept" : "");
	s->pend.failing_since = 0;
	s->pend.error[0] = 0;
}

int xb_state_flush(struct xb_state *s, size_t max)
{
	int err;

	if (!pend_on(s) || (!s->pend.n && !s->pend.forget_before && !s->pend.prune_before))
		return 0;
	s->quiet++;
	err = flush_batch(s, max ? max : SIZE_MAX);
	s->quiet--;
	s->pend.n = one_int(s, P_COUNT);
	if (err)
		flush_failed(s);
	else if (s->pend.failing && !s->pend.n)
		flush_recovered(s);
	return err;
}

bool xb_state_ok(const struct xb_state *s)
{
	return !s->pend.failing;
}
