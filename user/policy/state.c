// SPDX-License-Identifier: GPL-2.0
/* state: SQLite persistence of offence history, intended bans and metadata. */
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
#include "policy/state.h"

enum {
	S_OFF_GET, S_OFF_PUT, S_OFF_FORGET,
	S_BAN_PUT, S_BAN_GET, S_BAN_DEL, S_BAN_COUNT, S_BAN_ACTIVE, S_BAN_REAP_SEL,
	S_BAN_REAP_DEL, S_BAN_V6, S_BAN_CLEAR,
	S_V6_PUT, S_V6_COUNT, S_V6_PRUNE,
	S_META_GET, S_META_PUT,
	S_BEGIN, S_COMMIT, S_ROLLBACK,
	S_MAX
};

static const char *const sql[S_MAX] = {
	[S_OFF_GET] = "SELECT count, first, last, until FROM offences WHERE addr = ?1 AND cmd = ?2",
	[S_OFF_PUT] = "INSERT OR REPLACE INTO offences (addr, cmd, count, first, last, until) "
		      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[S_OFF_FORGET] = "DELETE FROM offences WHERE until <= ?1",
	[S_BAN_PUT] = "INSERT OR REPLACE INTO bans (addr, cmd, rule, offence, flags, created, expires) "
		      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[S_BAN_GET] = "SELECT addr, cmd, rule, offence, flags, created, expires FROM bans WHERE addr = ?1",
	[S_BAN_DEL] = "DELETE FROM bans WHERE addr = ?1",
	[S_BAN_COUNT] = "SELECT count(*) FROM bans",
	[S_BAN_ACTIVE] = "SELECT addr, rule, offence, flags, expires FROM bans INDEXED BY bans_restore "
			 "WHERE expires = 0 OR expires > ?1 ORDER BY expires, rule, offence, flags",
	[S_BAN_REAP_SEL] = "SELECT addr, cmd, rule, offence, flags, created, expires FROM bans "
			   "WHERE expires > 0 AND expires <= ?1",
	[S_BAN_REAP_DEL] = "DELETE FROM bans WHERE expires > 0 AND expires <= ?1",
	[S_BAN_V6] = "SELECT addr, cmd, rule, offence, flags, created, expires FROM bans "
		     "WHERE substr(addr, 1, 1) = ?1",
	[S_BAN_CLEAR] = "DELETE FROM bans",
	[S_V6_PUT] = "INSERT OR REPLACE INTO v6seen (prefix, addr, last) VALUES (?1, ?2, ?3)",
	[S_V6_COUNT] = "SELECT count(*) FROM v6seen WHERE prefix = ?1 AND last >= ?2",
	[S_V6_PRUNE] = "DELETE FROM v6seen WHERE last < ?1",
	[S_META_GET] = "SELECT v FROM meta WHERE k = ?1",
	[S_META_PUT] = "INSERT OR REPLACE INTO meta (k, v) VALUES (?1, ?2)",
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
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

struct xb_state {
	sqlite3 *db;
	sqlite3_stmt *st[S_MAX];
	char path[PATH_MAX];
	int64_t last_v6_prune;
};

static int db_err(struct xb_state *s, const char *what)
{
	int rc = sqlite3_extended_errcode(s->db);

	pr_warn("state: %s: %s\n", what, sqlite3_errmsg(s->db));
	switch (rc & 0xff) {
	case SQLITE_NOMEM: return -ENOMEM;
	case SQLITE_FULL: return -ENOSPC;
	case SQLITE_BUSY: case SQLITE_LOCKED: return -EBUSY;
	case SQLITE_READONLY: case SQLITE_PERM: case SQLITE_AUTH: return -EACCES;
	case SQLITE_CANTOPEN: return -ENOENT;
	default: return -EIO;
	}
}

/* A prepared statement, reset and cleared for new bindings. */
static sqlite3_stmt *stmt(struct xb_state *s, int i)
{
	sqlite3_reset(s->st[i]);
	sqlite3_clear_bindings(s->st[i]);
	return s->st[i];
}

/* The key: the address struct with its padding zeroed. */
static void bind_addr(sqlite3_stmt *q, int col, const struct xb_addr *a)
{
	struct xb_addr k = *a;

	k.pad[0] = k.pad[1] = 0;
	sqlite3_bind_blob(q, col, &k, sizeof(k), SQLITE_TRANSIENT);
}

static int run(struct xb_state *s, sqlite3_stmt *q, const char *what)
{
	int rc = sqlite3_step(q);

	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return db_err(s, what);
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

int xb_state_open(const char *dir, struct xb_state **out)
{
	struct xb_state *s = calloc(1, sizeof(*s));
	int err, rc;

	if (!s)
		return -ENOMEM;
	if (!dir || !strcmp(dir, XB_STATE_MEMORY)) {
		snprintf(s->path, sizeof(s->path), "%s", XB_STATE_MEMORY);
	} else {
		if ((err = make_dir(dir))) {
			pr_warn("state: cannot create %s: %s\n", dir, strerror(-err));
			free(s);
			return err;
		}
		if ((size_t)snprintf(s->path, sizeof(s->path), "%s/%s", dir, XB_STATE_DB) >= sizeof(s->path)) {
			free(s);
			return -ENAMETOOLONG;
		}
		/* Create it root-only before SQLite does (it would honour the umask). */
		int fd = open(s->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

		if (fd < 0) {
			err = -errno;
			pr_warn("state: cannot open %s: %s\n", s->path, strerror(-err));
			free(s);
			return err;
		}
		fchmod(fd, 0600);
		close(fd);
	}
	rc = sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			     SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		err = s->db ? db_err(s, "open") : -ENOMEM;
		goto fail;
	}
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
	    sqlite3_exec(s->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
		err = db_err(s, "schema");
		goto fail;
	}
	for (int i = 0; i < S_MAX; i++)
		if (sqlite3_prepare_v3(s->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT,
				       &s->st[i], NULL) != SQLITE_OK) {
			err = db_err(s, sql[i]);
			goto fail;
		}
	*out = s;
	return 0;
fail:
	xb_state_close(s);
	return err;
}

void xb_state_close(struct xb_state *s)
{
	if (!s)
		return;
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
	return run(s, stmt(s, S_BEGIN), "begin");
}

int xb_state_commit(struct xb_state *s)
{
	return run(s, stmt(s, S_COMMIT), "commit");
}

void xb_state_rollback(struct xb_state *s)
{
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_step(stmt(s, S_ROLLBACK));
}

int xb_state_offence_get(struct xb_state *s, const struct xb_addr *a, const char *cmd,
			 struct xb_offence *o)
{
	sqlite3_stmt *q = stmt(s, S_OFF_GET);
	int rc;

	bind_addr(q, 1, a);
	sqlite3_bind_text(q, 2, cmd, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return db_err(s, "offence get");
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
	sqlite3_stmt *q = stmt(s, S_OFF_PUT);

	bind_addr(q, 1, a);
	sqlite3_bind_text(q, 2, cmd, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, o->count);
	sqlite3_bind_int64(q, 4, o->first);
	sqlite3_bind_int64(q, 5, o->last);
	sqlite3_bind_int64(q, 6, o->until);
	return run(s, q, "offence put");
}

int xb_state_offence_forget(struct xb_state *s, int64_t before, size_t *n)
{
	sqlite3_stmt *q = stmt(s, S_OFF_FORGET);
	int err;

	sqlite3_bind_int64(q, 1, before);
	err = run(s, q, "offence forget");
	if (!err && n)
		*n = sqlite3_changes(s->db);
	return err;
}

static int row_ban(sqlite3_stmt *q, struct xb_state_ban *b)
{
	const void *blob = sqlite3_column_blob(q, 0);
	const unsigned char *cmd = sqlite3_column_text(q, 1);

	memset(b, 0, sizeof(*b));
	if (!blob || sqlite3_column_bytes(q, 0) != sizeof(b->addr))
		return -EUCLEAN;        /* a row we did not write */
	memcpy(&b->addr, blob, sizeof(b->addr));
	snprintf(b->cmd, sizeof(b->cmd), "%s", cmd ? (const char *)cmd : "");
	b->rule = sqlite3_column_int64(q, 2);
	b->offence = sqlite3_column_int(q, 3);
	b->flags = sqlite3_column_int(q, 4);
	b->created = sqlite3_column_int64(q, 5);
	b->expires = sqlite3_column_int64(q, 6);
	return 0;
}

int xb_state_ban_put(struct xb_state *s, const struct xb_state_ban *b)
{
	sqlite3_stmt *q = stmt(s, S_BAN_PUT);

	bind_addr(q, 1, &b->addr);
	sqlite3_bind_text(q, 2, b->cmd, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, b->rule);
	sqlite3_bind_int(q, 4, b->offence);
	sqlite3_bind_int(q, 5, b->flags);
	sqlite3_bind_int64(q, 6, b->created);
	sqlite3_bind_int64(q, 7, b->expires);
	return run(s, q, "ban put");
}

int xb_state_ban_get(struct xb_state *s, const struct xb_addr *a, struct xb_state_ban *b)
{
	sqlite3_stmt *q = stmt(s, S_BAN_GET);
	int rc, err;

	bind_addr(q, 1, a);
	rc = sqlite3_step(q);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return db_err(s, "ban get");
	err = row_ban(q, b);
	sqlite3_reset(q);
	return err;
}

int xb_state_ban_del(struct xb_state *s, const struct xb_addr *a)
{
	sqlite3_stmt *q = stmt(s, S_BAN_DEL);
	int err;

	bind_addr(q, 1, a);
	err = run(s, q, "ban del");
	if (!err && sqlite3_changes(s->db) == 0)
		return -ENOENT;
	return err;
}

int xb_state_ban_count(struct xb_state *s, size_t *n)
{
	sqlite3_stmt *q = stmt(s, S_BAN_COUNT);

	if (sqlite3_step(q) != SQLITE_ROW)
		return db_err(s, "ban count");
	*n = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return 0;
}

static int each_ban(struct xb_state *s, sqlite3_stmt *q, xb_state_ban_cb cb, void *ctx,
		    const struct xb_addr *within)
{
	struct xb_state_ban b;
	int rc, err = 0;

	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (row_ban(q, &b))
			continue;
		if (within && (xb_addr_eq(within, &b.addr) || !xb_addr_contains(within, &b.addr)))
			continue;
		if ((err = cb(&b, ctx)) < 0)
			break;
	}
	if (!err && rc != SQLITE_DONE)
		err = db_err(s, "ban scan");
	sqlite3_reset(q);
	return err < 0 ? err : 0;
}

int xb_state_ban_foreach_active(struct xb_state *s, int64_t now, xb_state_ban_cb cb, void *ctx)
{
	sqlite3_stmt *q = stmt(s, S_BAN_ACTIVE);
	struct xb_state_ban b;
	int rc, err = 0;

	/* The restore path: only the columns a map entry needs (cmd and
	 * created are left empty), read straight from the covering index. */
	memset(&b, 0, sizeof(b));
	sqlite3_bind_int64(q, 1, now);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const void *blob = sqlite3_column_blob(q, 0);

		if (!blob || sqlite3_column_bytes(q, 0) != sizeof(b.addr))
			continue;
		memcpy(&b.addr, blob, sizeof(b.addr));
		b.rule = sqlite3_column_int64(q, 1);
		b.offence = sqlite3_column_int(q, 2);
		b.flags = sqlite3_column_int(q, 3);
		b.expires = sqlite3_column_int64(q, 4);
		if ((err = cb(&b, ctx)) < 0)
			break;
	}
	if (!err && rc != SQLITE_DONE)
		err = db_err(s, "ban scan");
	sqlite3_reset(q);
	return err < 0 ? err : 0;
}

int xb_state_ban_foreach_within(struct xb_state *s, const struct xb_addr *prefix,
				xb_state_ban_cb cb, void *ctx)
{
	sqlite3_stmt *q = stmt(s, S_BAN_V6);
	uint8_t fam = prefix->family;

	/* The blob starts with the family byte: scan that family only. */
	sqlite3_bind_blob(q, 1, &fam, 1, SQLITE_TRANSIENT);
	return each_ban(s, q, cb, ctx, prefix);
}

int xb_state_ban_reap(struct xb_state *s, int64_t now, xb_state_ban_cb cb, void *ctx)
{
	sqlite3_stmt *q;
	int err;

	if ((err = xb_state_begin(s)))
		return err;
	q = stmt(s, S_BAN_REAP_SEL);
	sqlite3_bind_int64(q, 1, now);
	err = each_ban(s, q, cb, ctx, NULL);
	if (!err) {
		q = stmt(s, S_BAN_REAP_DEL);
		sqlite3_bind_int64(q, 1, now);
		err = run(s, q, "ban reap");
	}
	if (!err)
		err = xb_state_commit(s);
	if (err)
		xb_state_rollback(s);
	return err;
}

int xb_state_v6_seen(struct xb_state *s, const struct xb_addr *prefix,
		     const struct xb_addr *addr, int64_t now, int64_t since, unsigned *distinct)
{
	sqlite3_stmt *q;
	int err;

	/* Prune at most once a minute: the count below filters by time anyway. */
	if (now - s->last_v6_prune >= 60) {
		q = stmt(s, S_V6_PRUNE);
		sqlite3_bind_int64(q, 1, since);
		if ((err = run(s, q, "v6 prune")))
			return err;
		s->last_v6_prune = now;
	}
	q = stmt(s, S_V6_PUT);
	bind_addr(q, 1, prefix);
	bind_addr(q, 2, addr);
	sqlite3_bind_int64(q, 3, now);
	if ((err = run(s, q, "v6 seen")))
		return err;
	q = stmt(s, S_V6_COUNT);
	bind_addr(q, 1, prefix);
	sqlite3_bind_int64(q, 2, since);
	if (sqlite3_step(q) != SQLITE_ROW)
		return db_err(s, "v6 count");
	*distinct = sqlite3_column_int(q, 0);
	sqlite3_reset(q);
	return 0;
}

int xb_state_meta_get(struct xb_state *s, const char *key, char *val, size_t len)
{
	sqlite3_stmt *q = stmt(s, S_META_GET);
	int rc;

	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return db_err(s, "meta get");
	snprintf(val, len, "%s", (const char *)sqlite3_column_text(q, 0));
	sqlite3_reset(q);
	return 0;
}

int xb_state_meta_put(struct xb_state *s, const char *key, const char *val)
{
	sqlite3_stmt *q = stmt(s, S_META_PUT);

	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, val, -1, SQLITE_STATIC);
	return run(s, q, "meta put");
}

int xb_state_checkpoint(struct xb_state *s)
{
	int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);

	return rc == SQLITE_OK || rc == SQLITE_BUSY ? 0 : db_err(s, "checkpoint");
}

int xb_state_ban_clear(struct xb_state *s, size_t *n)
{
	int err = run(s, stmt(s, S_BAN_CLEAR), "ban clear");

	if (!err && n)
		*n = sqlite3_changes(s->db);
	return err;
}
