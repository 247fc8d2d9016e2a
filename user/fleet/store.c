// SPDX-License-Identifier: GPL-2.0
/* fleet: fleet.db, the fleet's own tables in the state directory (fleet.h).
 * Apart from the offence state (policy/), so that a report's history, its
 * "seen" mark and the decisions it makes commit in one transaction. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "common/log.h"
#include "fleet/fleet.h"

#define SEEN_KEEP (7 * 86400)   /* s a report id is remembered (JetStream keeps 1 d) */

#define STMT_CACHE 48
#define OWN_MAX    4096

struct xb_fleet_store {
	sqlite3 *db;
	/* Prepared statements by their SQL (literals: the pointer is the key):
	 * parsing each time was a quarter of the manager's time. */
	struct { const char *sql; sqlite3_stmt *st; } cache[STMT_CACHE];
	/* The fleet hosts' own addresses, read once per hello. */
	struct own { struct xb_addr a; char agent[XB_AGENT_ID_MAX + 1]; } *own;
	size_t n_own;
	bool own_valid;
	/* The message sequence, in memory; meta gets it with the outermost
	 * commit (an upsert per decision showed in the profile). A rolled
	 * back number is never sent, so it may be given again. */
	int64_t seq;
	bool seq_loaded, seq_dirty;
	int depth;              /* savepoints open */
	/* Reports counted per agent in the open transaction, written with
	 * its commit: one upsert per agent a turn, not one per report. */
	struct counted { char agent[XB_AGENT_ID_MAX + 1]; int64_t last, n; } *counted;
	size_t n_counted, cap_counted;
};

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	/* WAL + NORMAL: a commit survives the process being killed (what the
	 * manager's ack-after-commit needs); the daemon's loop never waits on
	 * an fsync per report. */
	"PRAGMA synchronous=NORMAL;"
	/* Nested savepoints (a turn's, a report's) journal the pages they
	 * touch: in memory, not a temp file (a pwrite per page was a quarter
	 * of the manager's time). */
	"PRAGMA temp_store=MEMORY;"
	"CREATE TABLE IF NOT EXISTS outbox(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" id TEXT NOT NULL, subject TEXT NOT NULL, del INTEGER NOT NULL, data TEXT NOT NULL,"
	" at INTEGER NOT NULL DEFAULT (unixepoch()));"
	"CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS seen(id TEXT PRIMARY KEY, at INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS seen_at ON seen(at);"
	"CREATE TABLE IF NOT EXISTS hist(addr TEXT NOT NULL, cmd TEXT NOT NULL,"
	" count INTEGER NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL,"
	" until INTEGER NOT NULL, PRIMARY KEY(addr, cmd));"
	"CREATE TABLE IF NOT EXISTS agents(id TEXT PRIMARY KEY, last INTEGER NOT NULL,"
	" reports INTEGER NOT NULL, own TEXT NOT NULL DEFAULT '');"
	"CREATE TABLE IF NOT EXISTS held(key TEXT PRIMARY KEY, data TEXT NOT NULL,"
	" ends INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE IF NOT EXISTS issued(key TEXT PRIMARY KEY, ends INTEGER NOT NULL)"
	" WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS issued_ends ON issued(ends);";

static int db_err(struct xb_fleet_store *s, int rc, const char *what)
{
	pr_warn("fleet.db: %s: %s\n", what, sqlite3_errmsg(s->db));
	return rc == SQLITE_FULL ? -ENOSPC : rc == SQLITE_BUSY ? -EBUSY : -EIO;
}

int xb_fleet_store_open(const char *dir, struct xb_fleet_store **out)
{
	struct xb_fleet_store *s = calloc(1, sizeof(*s));
	char path[PATH_MAX];
	int rc;

	if (!s)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/fleet.db", dir);
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			     SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(s->db, 1000);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, schema, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		pr_warn("fleet: %s: %s\n", path, s->db ? sqlite3_errmsg(s->db) : "cannot open");
		sqlite3_close(s->db);
		free(s);
		return -EIO;
	}
	*out = s;
	return 0;
}

void xb_fleet_store_close(struct xb_fleet_store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < STMT_CACHE; i++)
		sqlite3_finalize(s->cache[i].st);
	free(s->own);
	free(s->counted);
	sqlite3_close(s->db);
	free(s);
}


/* A cached statement, ready to bind; NULL sql never matches. */
static int stmt_get(struct xb_fleet_store *s, const char *sql, sqlite3_stmt **st)
{
	size_t i;
	int rc;

	for (i = 0; i < STMT_CACHE && s->cache[i].sql; i++)
		if (s->cache[i].sql == sql) {
			*st = s->cache[i].st;
			return SQLITE_OK;
		}
	rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
	if (rc == SQLITE_OK && i < STMT_CACHE) {
		s->cache[i].sql = sql;
		s->cache[i].st = *st;
	}
	return rc;
}

/* Done with a statement: a cached one is reset for its next use. */
static void stmt_done(struct xb_fleet_store *s, sqlite3_stmt *st)
{
	for (size_t i = 0; i < STMT_CACHE && s->cache[i].sql; i++)
		if (s->cache[i].st == st) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return;
		}
	sqlite3_finalize(st);   /* the cache was full */
}

/* Prepare sql and bind "t" (text), "i" (int64) arguments in order. */
static int prep(struct xb_fleet_store *s, sqlite3_stmt **st, const char *sql, const char *types, ...)
{
	va_list ap;
	int rc = stmt_get(s, sql, st);

	if (rc != SQLITE_OK)
		return db_err(s, rc, sql);
	va_start(ap, types);
	for (int i = 0; types[i] && rc == SQLITE_OK; i++)
		rc = types[i] == 't' ? sqlite3_bind_text(*st, i + 1, va_arg(ap, const char *), -1,
							 SQLITE_TRANSIENT) :
				       sqlite3_bind_int64(*st, i + 1, va_arg(ap, int64_t));
	va_end(ap);
	if (rc != SQLITE_OK) {
		stmt_done(s, *st);
		return db_err(s, rc, sql);
	}
	return 0;
}

/* Run a statement that returns no rows. */
static int run(struct xb_fleet_store *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	stmt_done(s, st);
	return rc == SQLITE_DONE ? 0 : db_err(s, rc, "step");
}

/* Savepoints: they nest (one report inside the batch of a turn), and the
 * outermost one's release is the commit. Cached like the rest: parsing
 * them through sqlite3_exec twice per report showed in the profile. */
static int exec(struct xb_fleet_store *s, const char *sql)
{
	sqlite3_stmt *st;
	int err = prep(s, &st, sql, "");

	return err ? err : run(s, st);
}

static int seq_write(struct xb_fleet_store *s)
{
	sqlite3_stmt *st;
	int err = prep(s, &st, "INSERT INTO meta(k, v) VALUES('seq', ?) "
		       "ON CONFLICT(k) DO UPDATE SET v = max(v, excluded.v)", "i", s->seq);

	if (!err && !(err = run(s, st)))
		s->seq_dirty = false;
	return err;
}

int xb_fleet_store_begin(struct xb_fleet_store *s)
{
	int err = exec(s, "SAVEPOINT fleet");

	if (!err)
		s->depth++;
	return err;
}

static int counted_write(struct xb_fleet_store *s)
{
	int err = 0;

	for (size_t i = 0; i < s->n_counted && !err; i++) {
		struct counted *c = &s->counted[i];
		sqlite3_stmt *st;

		err = prep(s, &st, "INSERT INTO agents(id, last, reports) VALUES(?,?,?) "
			   "ON CONFLICT(id) DO UPDATE SET last = max(last, excluded.last), "
			   "reports = reports + excluded.reports", "tii", c->agent, c->last, c->n);
		if (!err)
			err = run(s, st);
	}
	if (!err)
		s->n_counted = 0;
	return err;
}

int xb_fleet_store_commit(struct xb_fleet_store *s)
{
	int err = 0;

	if (s->depth == 1 && s->seq_dirty)
		err = seq_write(s);
	if (!err && s->depth == 1)
		err = counted_write(s);
	if (!err && !(err = exec(s, "RELEASE fleet")))
		s->depth--;
	return err;
}

void xb_fleet_store_rollback(struct xb_fleet_store *s)
{
	exec(s, "ROLLBACK TO fleet");
	exec(s, "RELEASE fleet");
	if (s->depth > 0)
		s->depth--;
	if (!s->depth)
		s->n_counted = 0;       /* their reports come again */
	s->own_valid = false;   /* a hello may have been undone */
}

static int64_t count_rows(struct xb_fleet_store *s, const char *sql)
{
	sqlite3_stmt *st;
	int64_t n = -EIO;

	if (prep(s, &st, sql, ""))
		return -EIO;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	stmt_done(s, st);
	return n;
}

int xb_fleet_outbox_add(struct xb_fleet_store *s, const char *subject, const char *id,
			enum xb_fleet_op op, const char *data, size_t max, int64_t *seq)
{
	sqlite3_stmt *st;
	int64_t n = max == SIZE_MAX ? 0 : count_rows(s, "SELECT count(*) FROM outbox");
	int err;

	if (n < 0)
		return (int)n;
	if ((size_t)n >= max)
		return -ENOSPC;
	if ((err = prep(s, &st, "INSERT INTO outbox(id, subject, del, data) VALUES(?,?,?,?)",
			"ttit", id, subject, (int64_t)op, data)))
		return err;
	if ((err = run(s, st)))
		return err;
	*seq = sqlite3_last_insert_rowid(s->db);
	return 0;
}

int xb_fleet_outbox_del(struct xb_fleet_store *s, int64_t seq)
{
	sqlite3_stmt *st;
	int err = prep(s, &st, "DELETE FROM outbox WHERE seq = ?", "i", seq);

	return err ? err : run(s, st);
}

int xb_fleet_outbox_del_range(struct xb_fleet_store *s, int64_t first, int64_t last)
{
	sqlite3_stmt *st;
	int err = prep(s, &st, "DELETE FROM outbox WHERE seq BETWEEN ? AND ?", "ii", first, last);

	if (!err)
		err = run(s, st);
	return err ? err : sqlite3_changes(s->db);
}

int xb_fleet_outbox_next(struct xb_fleet_store *s, int64_t after, struct xb_fleet_out *out,
			 int max)
{
	sqlite3_stmt *st;
	int n = 0, rc, err;

	if ((err = prep(s, &st, "SELECT seq, id, subject, del, data FROM outbox WHERE seq > ? "
			"ORDER BY seq LIMIT ?", "ii", after, (int64_t)max)))
		return err;
	while (n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct xb_fleet_out *o = &out[n++];

		o->seq = sqlite3_column_int64(st, 0);
		snprintf(o->id, sizeof(o->id), "%s", sqlite3_column_text(st, 1));
		snprintf(o->subject, sizeof(o->subject), "%s", sqlite3_column_text(st, 2));
		o->op = (enum xb_fleet_op)sqlite3_column_int(st, 3);
		snprintf(o->data, sizeof(o->data), "%s", sqlite3_column_text(st, 4));
	}
	stmt_done(s, st);
	return n;
}

int64_t xb_fleet_outbox_depth(struct xb_fleet_store *s)
{
	return count_rows(s, "SELECT count(*) FROM outbox");
}

int64_t xb_fleet_outbox_oldest(struct xb_fleet_store *s)
{
	return count_rows(s, "SELECT coalesce(min(at), 0) FROM outbox");
}

int xb_fleet_next_seq(struct xb_fleet_store *s, int64_t *seq)
{
	if (!s->seq_loaded) {
		int64_t v = count_rows(s, "SELECT coalesce(max(v), 0) FROM meta WHERE k = 'seq'");

		if (v < 0)
			return (int)v;
		s->seq = v;
		s->seq_loaded = true;
	}
	*seq = ++s->seq;
	s->seq_dirty = true;
	/* Outside a transaction: now. */
	return s->depth ? 0 : seq_write(s);
}

/* One statement for the look-up and the mark (each report pays it). */
int xb_fleet_seen_mark(struct xb_fleet_store *s, const char *id, int64_t now, bool *seen)
{
	sqlite3_stmt *st;
	int err = prep(s, &st, "INSERT OR IGNORE INTO seen(id, at) VALUES(?, ?)", "ti", id, now);

	if (err || (err = run(s, st)))
		return err;
	*seen = sqlite3_changes(s->db) == 0;
	return 0;
}

int xb_fleet_seen_prune(struct xb_fleet_store *s, int64_t now)
{
	sqlite3_stmt *st;
	int err = prep(s, &st, "DELETE FROM seen WHERE at < ?", "i", now - SEEN_KEEP);

	return err ? err : run(s, st);
}

static const char *akey(const struct xb_addr *a, char *b)
{
	return xb_addr_fmt(a, b, XB_ADDRSTRLEN);
}

int xb_fleet_hist_get(struct xb_fleet_store *s, const struct xb_addr *a, const char *cmd,
		      struct xb_fleet_hist *h)
{
	char ab[XB_ADDRSTRLEN];
	sqlite3_stmt *st;
	int err = prep(s, &st, "SELECT count, first, last, until FROM hist WHERE addr = ? AND cmd = ?",
		       "tt", akey(a, ab), cmd);
	int rc;

	if (err)
		return err;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		h->count = sqlite3_column_int64(st, 0);
		h->first = sqlite3_column_int64(st, 1);
		h->last = sqlite3_column_int64(st, 2);
		h->until = sqlite3_column_int64(st, 3);
	}
	stmt_done(s, st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

int xb_fleet_hist_put(struct xb_fleet_store *s, const struct xb_addr *a, const char *cmd,
		      const struct xb_fleet_hist *h)
{
	char ab[XB_ADDRSTRLEN];
	sqlite3_stmt *st;
	/* An upsert updates the row in place; OR REPLACE deleted and inserted it. */
	int err = prep(s, &st, "INSERT INTO hist(addr, cmd, count, first, last, until) "
		       "VALUES(?,?,?,?,?,?) ON CONFLICT(addr, cmd) DO UPDATE SET "
		       "count = excluded.count, first = excluded.first, last = excluded.last, "
		       "until = excluded.until", "ttiiii", akey(a, ab), cmd, (int64_t)h->count,
		       h->first, h->last, h->until);

	return err ? err : run(s, st);
}

int xb_fleet_agent_seen(struct xb_fleet_store *s, const char *agent, int64_t now,
			const struct xb_addr *own, unsigned n_own)
{
	char list[XB_FLEET_HELLO_ADDRS * XB_ADDRSTRLEN] = "", ab[XB_ADDRSTRLEN];
	sqlite3_stmt *st;
	int err;

	for (unsigned i = 0; own && i < n_own; i++) {
		size_t l = strlen(list);

		snprintf(list + l, sizeof(list) - l, "%s%s", l ? "," : "", akey(&own[i], ab));
	}
	if (own)
		s->own_valid = false;
	if (own)
		err = prep(s, &st, "INSERT INTO agents(id, last, reports, own) VALUES(?,?,0,?) "
			   "ON CONFLICT(id) DO UPDATE SET last = excluded.last, own = excluded.own",
			   "tit", agent, now, list);
	else
		err = prep(s, &st, "INSERT INTO agents(id, last, reports) VALUES(?,?,1) "
			   "ON CONFLICT(id) DO UPDATE SET last = excluded.last, "
			   "reports = reports + 1", "ti", agent, now);
	return err ? err : run(s, st);
}

int xb_fleet_agent_count(struct xb_fleet_store *s, const char *agent, int64_t now)
{
	struct counted *c = NULL;

	if (!s->depth)
		return xb_fleet_agent_seen(s, agent, now, NULL, 0);
	for (size_t i = 0; i < s->n_counted && !c; i++)
		if (!strcmp(s->counted[i].agent, agent))
			c = &s->counted[i];
	if (!c) {
		if (s->n_counted == s->cap_counted) {
			size_t cap = s->cap_counted ? 2 * s->cap_counted : 16;
			struct counted *n = realloc(s->counted, cap * sizeof(*n));

			if (!n)
				return -ENOMEM;
			s->counted = n;
			s->cap_counted = cap;
		}
		c = &s->counted[s->n_counted++];
		snprintf(c->agent, sizeof(c->agent), "%s", agent);
		c->n = 0;
	}
	c->last = now;
	c->n++;
	return 0;
}

int xb_fleet_agent_foreach(struct xb_fleet_store *s, xb_fleet_agent_fn fn, void *ctx)
{
	sqlite3_stmt *st;
	int err = prep(s, &st, "SELECT id, last, reports, own FROM agents ORDER BY id", "");

	if (err)
		return err;
	while (!err && sqlite3_step(st) == SQLITE_ROW)
		err = fn((const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1),
			 sqlite3_column_int64(st, 2), (const char *)sqlite3_column_text(st, 3), ctx);
	stmt_done(s, st);
	return err;
}

static int own_load(const char *agent, int64_t last, uint64_t reports, const char *own, void *ctx)
{
	struct xb_fleet_store *s = ctx;
	char buf[XB_FLEET_HELLO_ADDRS * XB_ADDRSTRLEN], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", own);
	for (char *t = strtok_r(buf, ",", &save); t && s->n_own < OWN_MAX;
	     t = strtok_r(NULL, ",", &save)) {
		struct own *o = &s->own[s->n_own];

		if (xb_addr_parse(t, &o->a, false))
			continue;
		snprintf(o->agent, sizeof(o->agent), "%s", agent);
		s->n_own++;
	}
	return 0;
}

int xb_fleet_agent_owns(struct xb_fleet_store *s, const struct xb_addr *a, char *who, size_t len)
{
	char ab[XB_ADDRSTRLEN];
	int err;

	if (!s->own_valid) {
		if (!s->own && !(s->own = calloc(OWN_MAX, sizeof(*s->own))))
			return -ENOMEM;
		s->n_own = 0;
		if ((err = xb_fleet_agent_foreach(s, own_load, s)) < 0)
			return err;
		s->own_valid = true;
	}
	for (size_t i = 0; i < s->n_own; i++)
		if (xb_addr_contains(a, &s->own[i].a)) {
			snprintf(who, len, "%s (%s)", s->own[i].agent, akey(&s->own[i].a, ab));
			return 1;
		}
	return 0;
}

int xb_fleet_issued_put(struct xb_fleet_store *s, const char *key, int64_t ends)
{
	sqlite3_stmt *st;
	int err = prep(s, &st, "INSERT INTO issued(key, ends) VALUES(?, ?) ON CONFLICT(key) "
		       "DO UPDATE SET ends = excluded.ends", "ti", key, ends);

	return err ? err : run(s, st);
}

int xb_fleet_issued_del(struct xb_fleet_store *s, const char *key, bool unending)
{
	sqlite3_stmt *st;
	int err = unending ? prep(s, &st, "DELETE FROM issued WHERE key = ? AND ends = 0", "t", key) :
			     prep(s, &st, "DELETE FROM issued WHERE key = ?", "t", key);

	return err ? err : run(s, st);
}

int xb_fleet_issued_ended(struct xb_fleet_store *s, int64_t now, char (*keys)[XB_FLEET_KEY_MAX],
			  int max)
{
	sqlite3_stmt *st;
	int n = 0, err = prep(s, &st, "SELECT key FROM issued WHERE ends != 0 AND ends <= ? "
			      "ORDER BY ends LIMIT ?", "ii", now, (int64_t)max);

	if (err)
		return err;
	while (n < max && sqlite3_step(st) == SQLITE_ROW)
		snprintf(keys[n++], XB_FLEET_KEY_MAX, "%s", sqlite3_column_text(st, 0));
	stmt_done(s, st);
	return n;
}

int xb_fleet_held_put(struct xb_fleet_store *s, const struct xb_fleet_held *h)
{
	char data[XB_FLEET_MSG_MAX];
	sqlite3_stmt *st;
	int err = xb_fleet_decision_encode(&h->d, data, sizeof(data));

	if (err < 0)
		return err;
	err = prep(s, &st, "INSERT INTO held(key, data, ends) VALUES(?, ?, ?) ON CONFLICT(key) "
		   "DO UPDATE SET data = excluded.data, ends = excluded.ends", "tti",
		   h->key, data, h->d.end);
	return err ? err : run(s, st);
}

int xb_fleet_held_expire(struct xb_fleet_store *s, int64_t now)
{
	sqlite3_stmt *st;
	int err = prep(s, &st, "DELETE FROM held WHERE ends != 0 AND ends <= ?", "i", now);

	return err ? err : run(s, st);
}

int xb_fleet_held_del(struct xb_fleet_store *s, const char *key)
{
	sqlite3_stmt *st;
	int err = prep(s, &st, "DELETE FROM held WHERE key = ?", "t", key);

	return err ? err : run(s, st);
}

int xb_fleet_held_load(struct xb_fleet_store *s, struct xb_fleet_table *t)
{
	sqlite3_stmt *st;
	int err = prep(s, &st, "SELECT key, data FROM held", "");

	if (err)
		return err;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(st, 0);
		const char *d = (const char *)sqlite3_column_text(st, 1);
		struct xb_fleet_held h = { 0 };

		if (strlen(k) >= sizeof(h.key) || xb_fleet_decision_decode(d, strlen(d), &h.d))
			continue;
		strcpy(h.key, k);
		if ((err = xb_fleet_table_add(t, &h)))
			break;
	}
	stmt_done(s, st);
	return err;
}
