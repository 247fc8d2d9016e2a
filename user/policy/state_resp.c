// SPDX-License-Identifier: GPL-2.0
/* state: the responses table (schema 2), written directly. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "common/records.h"
#include "policy/state_int.h"

static int prep(struct xb_state *s, const char *sql, sqlite3_stmt **q)
{
	if (sqlite3_prepare_v2(s->db, sql, -1, q, NULL) != SQLITE_OK)
		return state_db_err(s, "responses");
	return 0;
}

int xb_state_resp_put(struct xb_state *s, const struct xb_resp_row *r)
{
	sqlite3_stmt *q = NULL;
	int err = prep(s, "INSERT OR REPLACE INTO responses (key, cmd, kind, exe, target, msg, "
		       "created, expires) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", &q);

	if (err)
		return err;
	sqlite3_bind_text(q, 1, r->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, r->cmd, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 3, r->kind);
	sqlite3_bind_text(q, 4, r->exe, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, r->target, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 6, r->msg ? r->msg : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 7, r->created);
	sqlite3_bind_int64(q, 8, r->expires);
	err = state_run(s, q, "response put");
	sqlite3_finalize(q);
	return err;
}

int xb_state_resp_del(struct xb_state *s, const char *key)
{
	sqlite3_stmt *q = NULL;
	int err = prep(s, "DELETE FROM responses WHERE key = ?1", &q);

	if (err)
		return err;
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	err = state_run(s, q, "response delete");
	if (!err && !sqlite3_changes(s->db))
		err = -ENOENT;
	sqlite3_finalize(q);
	return err;
}

static void col_text(sqlite3_stmt *q, int i, char *buf, size_t len)
{
	const unsigned char *t = sqlite3_column_text(q, i);

	snprintf(buf, len, "%s", t ? (const char *)t : "");
}

int xb_state_resp_foreach(struct xb_state *s, int (*cb)(const struct xb_resp_row *r, void *ctx),
			  void *ctx)
{
	sqlite3_stmt *q = NULL;
	int rc = SQLITE_DONE, err = prep(s, "SELECT key, cmd, kind, exe, target, msg, created, expires "
			   "FROM responses ORDER BY expires", &q);

	while (!err && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct xb_resp_row r = { .kind = sqlite3_column_int(q, 2),
					 .msg = (char *)sqlite3_column_text(q, 5),
					 .created = sqlite3_column_int64(q, 6),
					 .expires = sqlite3_column_int64(q, 7) };

		col_text(q, 0, r.key, sizeof(r.key));
		col_text(q, 1, r.cmd, sizeof(r.cmd));
		col_text(q, 3, r.exe, sizeof(r.exe));
		col_text(q, 4, r.target, sizeof(r.target));
		if (!r.msg)
			r.msg = "";
		err = cb(&r, ctx);
	}
	if (!err && rc != SQLITE_DONE)
		err = state_db_err(s, "responses");
	sqlite3_finalize(q);
	return err;
}
