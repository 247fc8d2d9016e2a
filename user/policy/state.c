// SPDX-License-Identifier: GPL-2.0
/* state: SQLite persistence of offence history, intended bans and metadata;
 * the statements of each record, direct or deferred (state_int.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/log.h"
#include "policy/state_int.h"

#define BAN_COLS "addr, cmd, rule, offence, flags, created, expires"
#define ACTIVE "(expires = 0 OR expires > ?1)"
#define NOT_PENDING "addr NOT IN (SELECT addr FROM pend.bans)"

const char *const xb_state_sql[S_MAX] = {
	[S_OFF_GET] = "SELECT count, first, last, until FROM offences WHERE addr = ?1 AND cmd = ?2",
	[S_OFF_PUT] = "INSERT OR REPLACE INTO offences (addr, cmd, count, first, last, until) "
		      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[S_OFF_FORGET] = "DELETE FROM offences WHERE until <= ?1",
	[S_BAN_PUT] = "INSERT OR REPLACE INTO bans (" BAN_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[S_BAN_GET] = "SELECT 0, " BAN_COLS " FROM main.bans WHERE addr = ?1",
	[S_BAN_DEL] = "DELETE FROM bans WHERE addr = ?1",
	[S_BAN_COUNT] = "SELECT count(*) FROM bans",
	[S_BAN_ACTIVE] = "SELECT addr, rule, offence, flags, expires FROM bans INDEXED BY bans_restore "
			 "WHERE " ACTIVE " ORDER BY expires, rule, offence, flags",
	[S_BAN_REAP_SEL] = "SELECT " BAN_COLS " FROM bans WHERE expires > 0 AND expires <= ?1",
	[S_BAN_REAP_DEL] = "DELETE FROM bans WHERE expires > 0 AND expires <= ?1",
	/* Keys are ordered by family, prefix length, then address: the bans
	 * inside a prefix are ranges of the primary key. */
	[S_BAN_WITHIN] = "SELECT " BAN_COLS " FROM bans WHERE addr BETWEEN ?1 AND ?2",
	[S_BAN_CLEAR] = "DELETE FROM bans",
	[S_BAN_SCAN] = "SELECT addr, rule, offence, flags, expires FROM bans "
		       "WHERE addr > ?3 AND " ACTIVE " ORDER BY addr LIMIT ?2",
	[S_V6_PUT] = "INSERT OR REPLACE INTO v6seen (prefix, addr, last) VALUES (?1, ?2, ?3)",
	[S_V6_COUNT] = "SELECT count(*) FROM v6seen WHERE prefix = ?1 AND last >= ?2",
	[S_V6_PRUNE] = "DELETE FROM v6seen WHERE last < ?1",
	[S_META_GET] = "SELECT v FROM meta WHERE k = ?1",
	[S_META_PUT] = "INSERT OR REPLACE INTO meta (k, v) VALUES (?1, ?2)",
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",

	/* Deferred: a row in pend overrides the database's (del = 1: deleted). */
	[P_OFF_GET] = "SELECT count, first, last, until FROM ("
		      "SELECT 0 AS src, count, first, last, until FROM pend.offences "
		      "WHERE addr = ?1 AND cmd = ?2 UNION ALL "
		      "SELECT 1, count, first, last, until FROM main.offences "
		      "WHERE addr = ?1 AND cmd = ?2) ORDER BY src LIMIT 1",
	[P_OFF_PUT] = "INSERT OR REPLACE INTO pend.offences (addr, cmd, count, first, last, until) "
		      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[P_OFF_FORGET] = "DELETE FROM pend.offences WHERE until <= ?1",
	[P_OFF_QUIET] = "SELECT count(*) FROM main.offences o WHERE until <= ?1 AND NOT EXISTS "
			"(SELECT 1 FROM pend.offences p WHERE p.addr = o.addr AND p.cmd = o.cmd)",
	[P_BAN_PUT] = "INSERT OR REPLACE INTO pend.bans (del, " BAN_COLS ") "
		      "VALUES (0, ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	/* Then S_BAN_GET when pend has no row: one UNION ALL ordered by its
	 * source cost a sorter per look-up, a tenth of a fleet host's time. */
	[P_BAN_GET] = "SELECT del, " BAN_COLS " FROM pend.bans WHERE addr = ?1",
	[P_BAN_DEL] = "INSERT OR REPLACE INTO pend.bans (addr, del) VALUES (?1, 1)",
	[P_BAN_COUNT] = "SELECT (SELECT count(*) FROM main.bans WHERE " NOT_PENDING ") + "
			"(SELECT count(*) FROM pend.bans WHERE del = 0)",
	[P_BAN_ACTIVE] = "SELECT addr, rule, offence, flags, expires FROM pend.bans "
			 "WHERE del = 0 AND " ACTIVE " UNION ALL "
			 "SELECT addr, rule, offence, flags, expires FROM main.bans "
			 "WHERE " ACTIVE " AND " NOT_PENDING,
	[P_BAN_REAP_SEL] = "SELECT " BAN_COLS " FROM pend.bans "
			   "WHERE del = 0 AND expires > 0 AND expires <= ?1 UNION ALL "
			   "SELECT " BAN_COLS " FROM main.bans "
			   "WHERE expires > 0 AND expires <= ?1 AND " NOT_PENDING,
	[P_BAN_REAP_MARK] = "INSERT OR REPLACE INTO pend.bans (addr, del) SELECT addr, 1 FROM main.bans "
			    "WHERE expires > 0 AND expires <= ?1 AND " NOT_PENDING,
	[P_BAN_REAP_MARK_PEND] = "UPDATE pend.bans SET del = 1 "
				 "WHERE del = 0 AND expires > 0 AND expires <= ?1",
	[P_BAN_WITHIN] = "SELECT " BAN_COLS " FROM pend.bans "
			 "WHERE del = 0 AND addr BETWEEN ?1 AND ?2 UNION ALL "
			 "SELECT " BAN_COLS " FROM main.bans WHERE addr BETWEEN ?1 AND ?2 AND " NOT_PENDING,
	[P_BAN_CLEAR] = "DELETE FROM pend.bans",
	[P_BAN_SCAN] = "SELECT addr, rule, offence, flags, expires FROM main.bans "
		       "WHERE addr > ?3 AND " ACTIVE " AND " NOT_PENDING " ORDER BY addr LIMIT ?2",
	[P_V6_PUT] = "INSERT OR REPLACE INTO pend.v6seen (prefix, addr, last) VALUES (?1, ?2, ?3)",
	[P_V6_COUNT] = "SELECT count(*) FROM ("
		       "SELECT addr FROM pend.v6seen WHERE prefix = ?1 AND last >= ?2 UNION "
		       "SELECT addr FROM main.v6seen WHERE prefix = ?1 AND last >= ?2)",
	[P_V6_PRUNE] = "DELETE FROM pend.v6seen WHERE last < ?1",
	/* Only pend is written: no lock on the database, no disk. */
	[P_BEGIN] = "BEGIN",
	[P_ANY_BANS] = "SELECT EXISTS (SELECT 1 FROM pend.bans)",
	[P_COUNT] = "SELECT (SELECT count(*) FROM pend.offences) + (SELECT count(*) FROM pend.bans) + "
		    "(SELECT count(*) FROM pend.v6seen)",
	[P_LIM_OFF] = "SELECT max(rowid) FROM (SELECT rowid FROM pend.offences ORDER BY rowid LIMIT ?1)",
	[P_LIM_BAN] = "SELECT max(rowid) FROM (SELECT rowid FROM pend.bans ORDER BY rowid LIMIT ?1)",
	[P_LIM_V6] = "SELECT max(rowid) FROM (SELECT rowid FROM pend.v6seen ORDER BY rowid LIMIT ?1)",
	[P_FL_OFF] = "INSERT OR REPLACE INTO main.offences (addr, cmd, count, first, last, until) "
		     "SELECT addr, cmd, count, first, last, until FROM pend.offences WHERE rowid <= ?1",
	[P_FL_BAN_PUT] = "INSERT OR REPLACE INTO main.bans (" BAN_COLS ") "
			 "SELECT " BAN_COLS " FROM pend.bans WHERE del = 0 AND rowid <= ?1",
	[P_FL_BAN_DEL] = "DELETE FROM main.bans WHERE addr IN "
			 "(SELECT addr FROM pend.bans WHERE del = 1 AND rowid <= ?1)",
	[P_FL_V6] = "INSERT OR REPLACE INTO main.v6seen (prefix, addr, last) "
		    "SELECT prefix, addr, last FROM pend.v6seen WHERE rowid <= ?1",
	[P_DROP_OFF] = "DELETE FROM pend.offences WHERE rowid <= ?1",
	[P_DROP_BAN] = "DELETE FROM pend.bans WHERE rowid <= ?1",
	[P_DROP_V6] = "DELETE FROM pend.v6seen WHERE rowid <= ?1",
};

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS offences (addr BLOB NOT NULL, cmd TEXT NOT NULL,"
	" count INTEGER NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL,"
	" until INTEGER NOT NULL, PRIMARY KEY (addr, cmd)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS offences_until ON offences (until);"
	"CREATE TABLE IF NOT EXISTS bans (addr BLOB PRIMARY KEY, cmd TEXT NOT NULL,"
	" rule INTEGER NOT NULL, offence INTEGER NOT NULL, flags INTEGER NOT NULL,"
	" created INTEGER NOT NULL, expires INTEGER NOT NULL) WITHOUT ROWID;"
	/* Covers the restore scan: rows come out grouped by request, no sort. */
	"CREATE INDEX IF NOT EXISTS bans_restore ON bans (expires, rule, offence, flags);"
	"CREATE TABLE IF NOT EXISTS v6seen (prefix BLOB NOT NULL, addr BLOB NOT NULL,"
	" last INTEGER NOT NULL, PRIMARY KEY (prefix, addr)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS v6seen_last ON v6seen (last);"
	"INSERT OR IGNORE INTO meta (k, v) VALUES ('schema', '1');";

/* Schema 2: the responses that wait for their "delete" (state_resp.c).
 * Databases of schema 1 get the table; nothing else changed. */
static const char migrate_2[] =
	"BEGIN IMMEDIATE;"
	"CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, cmd TEXT NOT NULL,"
	" kind INTEGER NOT NULL, exe TEXT NOT NULL, target TEXT NOT NULL, msg TEXT NOT NULL,"
	" created INTEGER NOT NULL, expires INTEGER NOT NULL) WITHOUT ROWID;"
	"UPDATE meta SET v = '2' WHERE k = 'schema' AND CAST(v AS INTEGER) < 2;"
	"COMMIT;";

sqlite3_stmt *state_stmt(struct xb_state *s, int i)
{
	sqlite3_reset(s->st[i]);
	sqlite3_clear_bindings(s->st[i]);
	return s->st[i];
}

/* The statement of an operation: its deferred form when writes are deferred. */
static sqlite3_stmt *pick(struct xb_state *s, int direct, int deferred)
{
	return state_stmt(s, pend_on(s) ? deferred : direct);
}

int state_db_err(struct xb_state *s, const char *what)
{
	int rc = sqlite3_extended_errcode(s->db);

	snprintf(s->last_error, sizeof(s->last_error), "%s: %s", what, sqlite3_errmsg(s->db));
	if (!s->quiet)
		pr_warn("state: %s\n", s->last_error);
	switch (rc & 0xff) {
	case SQLITE_NOMEM: return -ENOMEM;
	case SQLITE_FULL: return -ENOSPC;
	case SQLITE_BUSY: case SQLITE_LOCKED: return -EBUSY;
	case SQLITE_READONLY: case SQLITE_PERM: case SQLITE_AUTH: return -EACCES;
	case SQLITE_CANTOPEN: return -ENOENT;
	case SQLITE_CORRUPT: case SQLITE_NOTADB: return -EUCLEAN;
	default: return -EIO;
	}
}

void state_bind_addr(sqlite3_stmt *q, int col, const struct xb_addr *a)
{
	struct xb_addr k = *a;

	k.pad[0] = k.pad[1] = 0;
	sqlite3_bind_blob(q, col, &k, sizeof(k), SQLITE_TRANSIENT);
}

int state_run(struct xb_state *s, sqlite3_stmt *q, const char *what)
{
	int rc = sqlite3_step(q);

	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return state_db_err(s, what);
	return 0;
}

int state_prepare(struct xb_state *s, int from, int to)
{
	for (int i = from; i < to; i++)
		if (sqlite3_prepare_v3(s->db, xb_state_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
				       &s->st[i], NULL) != SQLITE_OK)
			return state_db_err(s, xb_state_sql[i]);
	return 0;
}

/* The state directory is root's alone, also when it existed before. */
static int make_dir(const char *dir)
{
	struct stat sb;

	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	if (stat(dir, &sb))
		return -errno;
	if (!S_ISDIR(sb.st_mode))
		return -ENOTDIR;
	if ((sb.st_mode & 077) && sb.st_uid == geteuid() && chmod(dir, 0700))
		return -errno;
	return 0;
}

/* s->path for dir, the directory made and the file created root-only
 * before SQLite does (it would honour the umask). */
static int make_file(struct xb_state *s, const char *dir)
{
	int err, fd;

	if ((err = make_dir(dir))) {
		if (!s->quiet)
			pr_warn("state: cannot create %s: %s\n", dir, strerror(-err));
		return err;
	}
	if ((size_t)snprintf(s->path, sizeof(s->path), "%s/%s", dir, XB_STATE_DB) >= sizeof(s->path))
		return -ENAMETOOLONG;
	fd = open(s->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		if (!s->quiet)
			pr_warn("state: cannot open %s: %s\n", s->path, strerror(-err));
		return err;
	}
	fchmod(fd, 0600);
	close(fd);
	return 0;
}

/* The connection, its settings and the schema: -EUCLEAN when the file is
 * not a database or a corrupt one. */
static int open_db(struct xb_state *s)
{
	int rc = sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				 SQLITE_OPEN_NOMUTEX, NULL);

	if (rc != SQLITE_OK)
		return s->db ? state_db_err(s, "open") : -ENOMEM;
	sqlite3_busy_timeout(s->db, 2000);
	/* WAL: readers never block the writer; NORMAL sync survives a crash of
	 * the process (kill -9) and costs no fsync per ban. */
	/* mmap and a 64 MiB cache: a restore of a million bans reads pages
	 * without a pread per page. */
	if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
			 "PRAGMA foreign_keys=OFF; PRAGMA mmap_size=1073741824;"
			 "PRAGMA cache_size=-65536;", NULL, NULL, NULL) != SQLITE_OK ||
	    /* Checkpoints (they fsync) run from the daemon's timer, never in
	     * the middle of a ban: xb_state_checkpoint(). */
	    sqlite3_exec(s->db, "PRAGMA wal_autocheckpoint=0;", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(s->db, schema, NULL, NULL, NULL) != SQLITE_OK)
		return state_db_err(s, "schema");
	if (sqlite3_exec(s->db, migrate_2, NULL, NULL, NULL) != SQLITE_OK) {
		int err = state_db_err(s, "schema 2");

		xb_state_rollback(s);
		return err;
	}
	return state_prepare(s, 0, S_DIRECT_MAX);
}

static int state_open(const char *dir, bool quiet, struct xb_state **out)
{
	struct xb_state *s = calloc(1, sizeof(*s));
	int err = 0;

	if (!s)
		return -ENOMEM;
	s->quiet = quiet;
	if (!dir || !strcmp(dir, XB_STATE_MEMORY))
		snprintf(s->path, sizeof(s->path), "%s", XB_STATE_MEMORY);
	else
		err = make_file(s, dir);
	if (err) {
		free(s);
		return err;
	}
	err = open_db(s);
	if (err) {
		xb_state_close(s);
		return err;
	}
	s->quiet = 0;
	*out = s;
	return 0;
}

int xb_state_open(const char *dir, struct xb_state **out)
{
	return state_open(dir, false, out);
}

int xb_state_try_open(const char *dir, struct xb_state **out)
{
	return state_open(dir, true, out);
}

void xb_state_close(struct xb_state *s)
{
	if (!s)
		return;
	if (pend_on(s) && xb_state_flush(s, 0))
		pr_warn("state: %zu changes could not be written to %s and are lost: %s\n",
			s->pend.n, s->path, s->pend.error);
	state_ckpt_stop(s);
	for (int i = 0; i < S_MAX; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	free(s);
}

const char *xb_state_path(const struct xb_state *s)
{
	return s->path;
}

int xb_state_begin(struct xb_state *s)
{
	return state_run(s, pick(s, S_BEGIN, P_BEGIN), "begin");
}

int xb_state_commit(struct xb_state *s)
{
	return state_run(s, state_stmt(s, S_COMMIT), "commit");
}

void xb_state_rollback(struct xb_state *s)
{
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_step(state_stmt(s, S_ROLLBACK));
}

int xb_state_offence_get(struct xb_state *s, const struct xb_addr *a, const char *cmd,
			 struct xb_offence *o)
{
	sqlite3_stmt *q = pick(s, S_OFF_GET, P_OFF_GET);
	int rc;

	state_bind_addr(q, 1, a);
	sqlite3_bind_text(q, 2, cmd, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return state_db_err(s, "offence get");
	o->count = sqlite3_column_int64(q, 0);
	o->first = sqlite3_column_int64(q, 1);
	o->last = sqlite3_column_int64(q, 2);
	o->until = sqlite3_column_int64(q, 3);
	sqlite3_reset(q);
	return 0;
}

int xb_state_offence_put(struct xb_state *s, const struct xb_addr *a, const char *cmd,
			 const struct xb_offence *o)
{
	sqlite3_stmt *q;

	if (pend_on(s) && !pend_room(s))
		return 0;       /* counted as dropped; the ban itself is in the maps */
	q = pick(s, S_OFF_PUT, P_OFF_PUT);
	state_bind_addr(q, 1, a);
	sqlite3_bind_text(q, 2, cmd, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, o->count);
	sqlite3_bind_int64(q, 4, o->first);
	sqlite3_bind_int64(q, 5, o->last);
	sqlite3_bind_int64(q, 6, o->until);
	return state_run(s, q, "offence put");
}

int xb_state_offence_forget(struct xb_state *s, int64_t before, size_t *n)
{
	sqlite3_stmt *q;
	int err;

	if (pend_on(s))
		return pend_offence_forget(s, before, n);
	q = state_stmt(s, S_OFF_FORGET);
	sqlite3_bind_int64(q, 1, before);
	err = state_run(s, q, "offence forget");
	if (!err && n)
		*n = sqlite3_changes(s->db);
	return err;
}

/* A row of (addr, cmd, rule, offence, flags, created, expires) from column c. */
static int row_ban(sqlite3_stmt *q, int c, struct xb_state_ban *b)
{
	const void *blob = sqlite3_column_blob(q, c);
	const unsigned char *cmd = sqlite3_column_text(q, c + 1);

	memset(b, 0, sizeof(*b));
	if (!blob || sqlite3_column_bytes(q, c) != sizeof(b->addr))
		return -EUCLEAN;        /* a row we did not write */
	memcpy(&b->addr, blob, sizeof(b->addr));
	snprintf(b->cmd, sizeof(b->cmd), "%s", cmd ? (const char *)cmd : "");
	b->rule = sqlite3_column_int64(q, c + 2);
	b->offence = sqlite3_column_int(q, c + 3);
	b->flags = sqlite3_column_int(q, c + 4);
	b->created = sqlite3_column_int64(q, c + 5);
	b->expires = sqlite3_column_int64(q, c + 6);
	return 0;
}

/* A row of (addr, rule, offence, flags, expires): the restore's columns. */
static int row_active(sqlite3_stmt *q, struct xb_state_ban *b)
{
	const void *blob = sqlite3_column_blob(q, 0);

	memset(b, 0, sizeof(*b));
	if (!blob || sqlite3_column_bytes(q, 0) != sizeof(b->addr))
		return -EUCLEAN;
	memcpy(&b->addr, blob, sizeof(b->addr));
	b->rule = sqlite3_column_int64(q, 1);
	b->offence = sqlite3_column_int(q, 2);
	b->flags = sqlite3_column_int(q, 3);
	b->expires = sqlite3_column_int64(q, 4);
	return 0;
}

int xb_state_ban_put(struct xb_state *s, const struct xb_state_ban *b)
{
	sqlite3_stmt *q;

	if (pend_on(s) && !pend_room(s))
		return 0;
	q = pick(s, S_BAN_PUT, P_BAN_PUT);
	state_bind_addr(q, 1, &b->addr);
	sqlite3_bind_text(q, 2, b->cmd, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, b->rule);
	sqlite3_bind_int(q, 4, b->offence);
	sqlite3_bind_int(q, 5, b->flags);
	sqlite3_bind_int64(q, 6, b->created);
	sqlite3_bind_int64(q, 7, b->expires);
	return state_run(s, q, "ban put");
}

int xb_state_ban_get(struct xb_state *s, const struct xb_addr *a, struct xb_state_ban *b)
{
	sqlite3_stmt *q = pick(s, S_BAN_GET, P_BAN_GET);
	int rc, err;

	state_bind_addr(q, 1, a);
	rc = sqlite3_step(q);
	if (rc == SQLITE_DONE && pend_on(s)) {
		/* Not pending: the database's row, if any. */
		q = state_stmt(s, S_BAN_GET);
		state_bind_addr(q, 1, a);
		rc = sqlite3_step(q);
	}
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return state_db_err(s, "ban get");
	/* Column 0: deleted, in memory, not yet in the database. */
	err = sqlite3_column_int(q, 0) ? -ENOENT : row_ban(q, 1, b);
	sqlite3_reset(q);
	return err;
}

int xb_state_ban_del(struct xb_state *s, const struct xb_addr *a)
{
	struct xb_state_ban b;
	sqlite3_stmt *q;
	int err;

	if (pend_on(s) && (err = xb_state_ban_get(s, a, &b)))
		return err;
	q = pick(s, S_BAN_DEL, P_BAN_DEL);
	state_bind_addr(q, 1, a);
	err = state_run(s, q, "ban del");
	if (pend_on(s))
		s->pend.n++;    /* a deletion is always kept: never bring a lifted ban back */
	else if (!err && sqlite3_changes(s->db) == 0)
		return -ENOENT;
	return err;
}

int xb_state_ban_count(struct xb_state *s, size_t *n)
{
	sqlite3_stmt *q = state_stmt(s, pend_has_bans(s) ? P_BAN_COUNT : S_BAN_COUNT);

	if (sqlite3_step(q) != SQLITE_ROW)
		return state_db_err(s, "ban count");
	*n = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return 0;
}

int state_each_ban(struct xb_state *s, sqlite3_stmt *q, xb_state_ban_cb cb, void *ctx,
		   const struct xb_addr *within)
{
	struct xb_state_ban b;
	int rc, err = 0;

	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (row_ban(q, 0, &b))
			continue;
		if (within && (xb_addr_eq(within, &b.addr) || !xb_addr_contains(within, &b.addr)))
			continue;
		if ((err = cb(&b, ctx)) < 0)
			break;
	}
	if (!err && rc != SQLITE_DONE)
		err = state_db_err(s, "ban scan");
	sqlite3_reset(q);
	return err < 0 ? err : 0;
}

/* Rows of (addr, rule, offence, flags, expires) to cb; *n counts them. */
static int each_active(struct xb_state *s, sqlite3_stmt *q, xb_state_ban_cb cb, void *ctx,
		       struct xb_state_ban *last, size_t *n)
{
	struct xb_state_ban b;
	int rc, err = 0;

	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (row_active(q, &b))
			continue;
		if (last)
			*last = b;
		if (n)
			++*n;
		if ((err = cb(&b, ctx)) < 0)
			break;
	}
	if (!err && rc != SQLITE_DONE)
		err = state_db_err(s, "ban scan");
	sqlite3_reset(q);
	return err < 0 ? err : 0;
}

int xb_state_ban_foreach_active(struct xb_state *s, int64_t now, xb_state_ban_cb cb, void *ctx)
{
	/* The restore path: only the columns a map entry needs (cmd and
	 * created are left empty), read straight from the covering index. */
	sqlite3_stmt *q = state_stmt(s, pend_has_bans(s) ? P_BAN_ACTIVE : S_BAN_ACTIVE);

	sqlite3_bind_int64(q, 1, now);
	return each_active(s, q, cb, ctx, NULL, NULL);
}

int xb_state_ban_scan(struct xb_state *s, const struct xb_addr *after, int64_t now, size_t max,
		      xb_state_ban_cb cb, void *ctx, struct xb_addr *last, size_t *n)
{
	sqlite3_stmt *q = pick(s, S_BAN_SCAN, P_BAN_SCAN);
	struct xb_state_ban lb = { 0 };
	int err;

	*n = 0;
	sqlite3_bind_int64(q, 1, now);
	sqlite3_bind_int64(q, 2, max > INT64_MAX ? INT64_MAX : (int64_t)max);
	if (after)
		state_bind_addr(q, 3, after);
	else
		sqlite3_bind_zeroblob(q, 3, 0);         /* sorts before every key */
	err = each_active(s, q, cb, ctx, &lb, n);
	if (!err && *n)
		*last = lb.addr;
	return err;
}

/* The keys of net's family and prefix length plen whose address lies in
 * net (a masked prefix): [lo, hi]. */
static void key_range(const struct xb_addr *net, unsigned plen, struct xb_addr *lo,
		      struct xb_addr *hi)
{
	*lo = (struct xb_addr){ .family = net->family, .prefixlen = plen };
	memcpy(lo->bytes, net->bytes, sizeof(lo->bytes));
	*hi = *lo;
	for (unsigned bit = net->prefixlen; bit < 128; bit++)
		hi->bytes[bit / 8] |= 0x80 >> (bit % 8);
}

static int within_range(struct xb_state *s, const struct xb_addr *lo, const struct xb_addr *hi,
			const struct xb_addr *prefix, xb_state_ban_cb cb, void *ctx)
{
	sqlite3_stmt *q = pick(s, S_BAN_WITHIN, P_BAN_WITHIN);

	state_bind_addr(q, 1, lo);
	state_bind_addr(q, 2, hi);
	return state_each_ban(s, q, cb, ctx, prefix);
}

int xb_state_ban_foreach_within(struct xb_state *s, const struct xb_addr *prefix,
				xb_state_ban_cb cb, void *ctx)
{
	unsigned max = prefix->family == 4 ? 32 : 128;
	struct xb_addr net = *prefix, lo, hi;
	int err;

	if ((prefix->family != 4 && prefix->family != 6) || prefix->prefixlen >= max)
		return 0;
	xb_addr_mask(&net);
	/* The single addresses inside: one range of keys. */
	key_range(&net, max, &lo, &hi);
	err = within_range(s, &lo, &hi, prefix, cb, ctx);
	if (err || net.prefixlen + 1u >= max)
		return err;
	/* Longer prefixes inside (rare): every key of those lengths, filtered. */
	lo = (struct xb_addr){ .family = net.family, .prefixlen = net.prefixlen + 1 };
	hi = (struct xb_addr){ .family = net.family, .prefixlen = max - 1 };
	memset(hi.bytes, 0xff, sizeof(hi.bytes));
	return within_range(s, &lo, &hi, prefix, cb, ctx);
}

int xb_state_ban_reap(struct xb_state *s, int64_t now, xb_state_ban_cb cb, void *ctx)
{
	sqlite3_stmt *q;
	int err;

	if (pend_on(s))
		return pend_ban_reap(s, now, cb, ctx);
	if ((err = xb_state_begin(s)))
		return err;
	q = state_stmt(s, S_BAN_REAP_SEL);
	sqlite3_bind_int64(q, 1, now);
	err = state_each_ban(s, q, cb, ctx, NULL);
	if (!err) {
		q = state_stmt(s, S_BAN_REAP_DEL);
		sqlite3_bind_int64(q, 1, now);
		err = state_run(s, q, "ban reap");
	}
	if (!err)
		err = xb_state_commit(s);
	if (err)
		xb_state_rollback(s);
	return err;
}

/* Old rows go at most once a minute: the count filters by time anyway. In
 * deferred mode the database's go at the next flush. */
static int v6_prune(struct xb_state *s, int64_t now, int64_t since)
{
	sqlite3_stmt *q;
	int err;

	if (now - s->last_v6_prune < 60)
		return 0;
	q = pick(s, S_V6_PRUNE, P_V6_PRUNE);
	sqlite3_bind_int64(q, 1, since);
	if ((err = state_run(s, q, "v6 prune")))
		return err;
	if (pend_on(s))
		s->pend.prune_before = since;
	s->last_v6_prune = now;
	return 0;
}

int xb_state_v6_seen(struct xb_state *s, const struct xb_addr *prefix,
		     const struct xb_addr *addr, int64_t now, int64_t since, unsigned *distinct)
{
	sqlite3_stmt *q;
	int err;

	if ((err = v6_prune(s, now, since)))
		return err;
	if (!pend_on(s) || pend_room(s)) {
		q = pick(s, S_V6_PUT, P_V6_PUT);
		state_bind_addr(q, 1, prefix);
		state_bind_addr(q, 2, addr);
		sqlite3_bind_int64(q, 3, now);
		if ((err = state_run(s, q, "v6 seen")))
			return err;
	}
	q = pick(s, S_V6_COUNT, P_V6_COUNT);
	state_bind_addr(q, 1, prefix);
	sqlite3_bind_int64(q, 2, since);
	if (sqlite3_step(q) != SQLITE_ROW)
		return state_db_err(s, "v6 count");
	*distinct = sqlite3_column_int(q, 0);
	sqlite3_reset(q);
	return 0;
}

int xb_state_meta_get(struct xb_state *s, const char *key, char *val, size_t len)
{
	sqlite3_stmt *q = state_stmt(s, S_META_GET);
	int rc;

	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return state_db_err(s, "meta get");
	snprintf(val, len, "%s", (const char *)sqlite3_column_text(q, 0));
	sqlite3_reset(q);
	return 0;
}

int xb_state_meta_put(struct xb_state *s, const char *key, const char *val)
{
	sqlite3_stmt *q = state_stmt(s, S_META_PUT);

	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, val, -1, SQLITE_STATIC);
	return state_run(s, q, "meta put");
}

int xb_state_ban_clear(struct xb_state *s, size_t *n)
{
	size_t known = 0;
	int err;

	if (pend_on(s)) {
		/* Memory first: whatever the database says, none of them stays. */
		xb_state_ban_count(s, &known);
		state_run(s, state_stmt(s, P_BAN_CLEAR), "ban clear");
	}
	err = state_run(s, state_stmt(s, S_BAN_CLEAR), "ban clear");
	if (!err && n)
		*n = pend_on(s) ? known : (size_t)sqlite3_changes(s->db);
	return err;
}
