// SPDX-License-Identifier: GPL-2.0
/*
 * state_disk: the database as a file. Checkpoints (they fsync, and a busy
 * disk makes an fsync last) run on a thread with a connection of its own,
 * so the daemon's loop never waits for one; a corrupt file is moved aside;
 * and the health of the writes is reported.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "policy/state_int.h"

struct ckpt {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool kick, stop;
	sqlite3 *db;            /* the thread's own connection */
	char error[160];        /* the latest failure, "" after a success */
	bool warned;            /* the current failure was logged */
};

static void ckpt_run(struct ckpt *c)
{
	/* PASSIVE: never waits for the writer, which goes on appending. */
	int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);

	pthread_mutex_lock(&c->mu);
	if (rc == SQLITE_OK || rc == SQLITE_BUSY)
		c->error[0] = 0;
	else
		snprintf(c->error, sizeof(c->error), "checkpoint: %s", sqlite3_errmsg(c->db));
	pthread_mutex_unlock(&c->mu);
}

static void *ckpt_main(void *arg)
{
	struct ckpt *c = arg;

	pthread_mutex_lock(&c->mu);
	while (!c->stop) {
		if (!c->kick) {
			pthread_cond_wait(&c->cv, &c->mu);
			continue;
		}
		c->kick = false;
		pthread_mutex_unlock(&c->mu);
		ckpt_run(c);
		pthread_mutex_lock(&c->mu);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

int xb_state_checkpoint_thread(struct xb_state *s)
{
	sigset_t all, old;
	struct ckpt *c;
	int rc;

	if (s->ck || !strcmp(s->path, XB_STATE_MEMORY))
		return 0;
	if (!(c = calloc(1, sizeof(*c))))
		return -ENOMEM;
	rc = sqlite3_open_v2(s->path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_close(c->db);
		free(c);
		return -EIO;
	}
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	/* Signals are the caller's (its signalfd): the thread blocks them all. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&c->th, NULL, ckpt_main, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		sqlite3_close(c->db);
		free(c);
		return -rc;
	}
	s->ck = c;
	return 0;
}

void state_ckpt_stop(struct xb_state *s)
{
	struct ckpt *c = s->ck;

	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->th, NULL);
	sqlite3_close(c->db);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	free(c);
	s->ck = NULL;
}

/* Wake the thread; say once when its checkpoints start failing and once
 * when they work again. */
static void ckpt_kick(struct xb_state *s)
{
	struct ckpt *c = s->ck;
	char err[sizeof(c->error)];

	pthread_mutex_lock(&c->mu);
	c->kick = true;
	pthread_cond_signal(&c->cv);
	memcpy(err, c->error, sizeof(err));
	pthread_mutex_unlock(&c->mu);
	if (*err && !c->warned)
		pr_warn("state: %s: %s (the write-ahead log grows until it works)\n", s->path, err);
	else if (!*err && c->warned)
		pr_info("state: %s: checkpoints work again\n", s->path);
	c->warned = *err;
}

int xb_state_checkpoint(struct xb_state *s)
{
	int rc;

	if (s->ck) {
		ckpt_kick(s);
		return 0;
	}
	rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	return rc == SQLITE_OK || rc == SQLITE_BUSY ? 0 : state_db_err(s, "checkpoint");
}

void xb_state_health(struct xb_state *s, struct xb_state_health *h)
{
	memset(h, 0, sizeof(*h));
	h->ok = !s->pend.failing;
	h->pending = s->pend.n;
	h->dropped = s->pend.dropped;
	h->failures = s->pend.failures;
	h->failing_since = s->pend.failing_since;
	snprintf(h->error, sizeof(h->error), "%s", s->pend.error);
	if (s->ck) {
		pthread_mutex_lock(&s->ck->mu);
		snprintf(h->checkpoint_error, sizeof(h->checkpoint_error), "%s", s->ck->error);
		pthread_mutex_unlock(&s->ck->mu);
	}
}

/* rename from -> to when from exists. */
static int move_if_there(const char *from, const char *to)
{
	if (rename(from, to) && errno != ENOENT)
		return -errno;
	return 0;
}

int xb_state_quarantine(const char *dir, char *moved, size_t len)
{
	char db[PATH_MAX], from[PATH_MAX + 8], to[PATH_MAX + 64], ts[32];
	time_t now = time(NULL);
	struct tm tm;
	int err;

	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
	if ((size_t)snprintf(db, sizeof(db), "%s/%s", dir, XB_STATE_DB) >= sizeof(db))
		return -ENAMETOOLONG;
	snprintf(to, sizeof(to), "%s.corrupt-%s", db, ts);
	if (rename(db, to))
		return -errno;
	snprintf(moved, len, "%s", to);
	/* Its log belongs to it: applied to a new file it would break that. */
	snprintf(from, sizeof(from), "%s-wal", db);
	snprintf(to, sizeof(to), "%s.corrupt-%s-wal", db, ts);
	err = move_if_there(from, to);
	snprintf(from, sizeof(from), "%s-shm", db);
	unlink(from);           /* an index of that log, rebuilt on open */
	return err;
}

static const char copy_sql[] =
	"BEGIN IMMEDIATE;"
	"INSERT OR REPLACE INTO disk.offences SELECT addr, cmd, count, first, last, until "
	"FROM main.offences;"
	"INSERT OR REPLACE INTO disk.bans SELECT addr, cmd, rule, offence, flags, created, expires "
	"FROM main.bans;"
	"INSERT OR REPLACE INTO disk.v6seen SELECT prefix, addr, last FROM main.v6seen;"
	"INSERT OR REPLACE INTO disk.responses SELECT key, cmd, kind, exe, target, msg, created,"
	" expires FROM main.responses;"
	"COMMIT;";

int xb_state_copy_into(struct xb_state *from, const char *dir)
{
	char path[PATH_MAX + 16];
	struct xb_state *to;
	sqlite3_stmt *q = NULL;
	int err;

	/* Made, with its schema, the usual way first. */
	if ((err = xb_state_try_open(dir, &to)))
		return err;
	snprintf(path, sizeof(path), "%s", to->path);
	xb_state_close(to);
	from->quiet++;
	if (sqlite3_prepare_v2(from->db, "ATTACH DATABASE ?1 AS disk", -1, &q, NULL) != SQLITE_OK) {
		err = state_db_err(from, "attach");
		goto out;
	}
	sqlite3_bind_text(q, 1, path, -1, SQLITE_STATIC);
	if ((err = state_run(from, q, "attach")))
		goto out;
	if (sqlite3_exec(from->db, copy_sql, NULL, NULL, NULL) != SQLITE_OK) {
		err = state_db_err(from, "copy");
		xb_state_rollback(from);
	}
	sqlite3_exec(from->db, "DETACH DATABASE disk", NULL, NULL, NULL);
out:
	sqlite3_finalize(q);
	from->quiet--;
	return err;
}
