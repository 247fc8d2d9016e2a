// SPDX-License-Identifier: GPL-2.0
/*
 * source: sshd's entries from journald through sd-journal.
 *
 * Entries are chosen by fields journald records itself (_COMM, _SYSTEMD_UNIT,
 * _UID), never by SYSLOG_IDENTIFIER, which any local user sets with
 * `logger -t sshd`. The journal match selects the candidates; each entry is
 * checked again before use. The cursor of the last entry handed out is kept
 * in a file so a restart resumes right after it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "common/log.h"
#include "source/internal.h"

#define JOURNAL_BATCH 20000     /* entries per xb_source_read() */

static const char *const sshd_comms[] = { "sshd", "sshd-session", "sshd-auth" };
static const char *const sshd_units[] = { "ssh.service", "sshd.service" };

static int add_matches(sd_journal *j)
{
	char m[64];
	int err;

	for (size_t i = 0; i < sizeof(sshd_comms) / sizeof(sshd_comms[0]); i++) {
		snprintf(m, sizeof(m), "_COMM=%s", sshd_comms[i]);
		if ((err = sd_journal_add_match(j, m, 0)) < 0)
			return err;
	}
	if ((err = sd_journal_add_disjunction(j)) < 0)
		return err;
	for (size_t i = 0; i < sizeof(sshd_units) / sizeof(sshd_units[0]); i++) {
		snprintf(m, sizeof(m), "_SYSTEMD_UNIT=%s", sshd_units[i]);
		if ((err = sd_journal_add_match(j, m, 0)) < 0)
			return err;
	}
	return 0;
}

/* Field value without "NAME=", copied to buf (NUL-terminated). */
static bool field(sd_journal *j, const char *name, char *buf, size_t len)
{
	const void *d;
	size_t n, nl = strlen(name);

	if (sd_journal_get_data(j, name, &d, &n) < 0 || n <= nl)
		return false;
	n -= nl + 1;
	if (n >= len)
		n = len - 1;
	memcpy(buf, (const char *)d + nl + 1, n);
	buf[n] = '\0';
	return true;
}

static bool in_list(const char *v, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v, list[i]))
			return true;
	return false;
}

static char *read_cursor(const char *path)
{
	char buf[1024];
	FILE *f = fopen(path, "re");
	char *c = NULL;

	if (!f)
		return NULL;
	if (fgets(buf, sizeof(buf), f)) {
		buf[strcspn(buf, "\r\n")] = '\0';
		if (buf[0])
			c = strdup(buf);
	}
	fclose(f);
	return c;
}

static int open_sd(const char *dir, sd_journal **j)
{
	if (dir) {
		struct stat st;

		if (stat(dir, &st) < 0)
			return -errno;
		return sd_journal_open_directory(j, dir, 0);
	}
	return sd_journal_open(j, SD_JOURNAL_LOCAL_ONLY);
}

/* Where reading starts: right after the saved cursor, else at the end. */
static int seek_start(struct xb_source *s)
{
	int err;

	if (s->cursor_file)
		s->cursor = read_cursor(s->cursor_file);
	if (s->cursor && sd_journal_seek_cursor(s->j, s->cursor) >= 0) {
		s->skip_cursor_entry = true;
		pr_info("source %s: resuming after the saved cursor\n", s->name);
		return 0;
	}
	/* no usable cursor: new entries only */
	if ((err = sd_journal_seek_tail(s->j)) < 0)
		return err;
	sd_journal_previous(s->j);
	return 0;
}

int xb_source_open_journal(const char *dir, const char *cursor_file, struct xb_source **out)
{
	struct xb_source *s;
	sd_journal *j = NULL;
	char name[512];
	int err;

	if ((err = open_sd(dir, &j)) < 0)
		return err;
	snprintf(name, sizeof(name), dir ? "journal:%s" : "journal", dir);
	s = calloc(1, sizeof(*s));
	if (!s || !(s->name = strdup(name)) ||
	    (cursor_file && !(s->cursor_file = strdup(cursor_file)))) {
		if (s)
			free(s->name);
		free(s);
		sd_journal_close(j);
		return -ENOMEM;
	}
	s->kind = XB_SRC_JOURNAL;
	s->fd = s->ifd = s->wd_file = s->wd_dir = -1;
	s->j = j;
	if ((err = add_matches(j)) < 0)
		goto fail;
	/* an fd to poll; -1 would mean "poll by timeout" */
	s->jfd = sd_journal_get_fd(j);
	if (s->jfd < 0)
		s->jfd = -1;
	if ((err = seek_start(s)) < 0)
		goto fail;
	*out = s;
	return 0;
fail:
	xb_src_journal_close(s);
	free(s->name);
	free(s);
	return err;
}

static int save_cursor(struct xb_source *s)
{
	char tmp[4096];
	FILE *f;
	int err = 0;

	if (!s->cursor_file || !s->cursor || !s->cursor_dirty)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s.tmp", s->cursor_file);
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	/* No fsync: this runs after every batch; write + rename survives a
	 * crash of the process, which is what double counting would come from. */
	if (fprintf(f, "%s\n", s->cursor) < 0 || fflush(f) != 0)
		err = errno ? -errno : -EIO;
	if (fclose(f) != 0 && !err)
		err = -errno;
	if (!err && rename(tmp, s->cursor_file) < 0)
		err = -errno;
	if (err) {
		unlink(tmp);
		return err;
	}
	s->cursor_dirty = false;
	return 0;
}

int xb_source_save_cursor(struct xb_source *s)
{
	if (!s || s->kind != XB_SRC_JOURNAL)
		return 0;
	return save_cursor(s);
}

static void remember_cursor(struct xb_source *s)
{
	char *c = NULL;

	if (sd_journal_get_cursor(s->j, &c) >= 0) {
		free(s->cursor);
		s->cursor = c;
		s->cursor_dirty = true;
	}
}

/* journald's own fields of an entry (never SYSLOG_IDENTIFIER). */
struct trusted {
	char comm[64], unit[128], uid[16], pid[16];
	bool by_comm;           /* comm is one of sshd's names */
};

/* The current entry is sshd's: the name sshd runs under, or its unit, and root. */
static bool trusted_sshd(sd_journal *j, struct trusted *t)
{
	bool by_unit;

	field(j, "_COMM", t->comm, sizeof(t->comm));
	field(j, "_SYSTEMD_UNIT", t->unit, sizeof(t->unit));
	field(j, "_UID", t->uid, sizeof(t->uid));
	field(j, "_PID", t->pid, sizeof(t->pid));
	t->by_comm = in_list(t->comm, sshd_comms, sizeof(sshd_comms) / sizeof(sshd_comms[0]));
	by_unit = in_list(t->unit, sshd_units, sizeof(sshd_units) / sizeof(sshd_units[0]));
	return (t->by_comm || by_unit) && !strcmp(t->uid, "0");
}

/*
 * The current entry: handed to cb when it is sshd's, else skipped (and
 * counted when the trusted fields say it is not). Returns 0, or cb's
 * negative return; the entry is then handed out again next time.
 */
static int journal_entry(struct xb_source *s, xb_line_cb cb, void *ctx)
{
	struct trusted t = { 0 };
	const void *msg;
	size_t mlen;
	uint64_t usec = 0;
	int err;

	if (s->skip_cursor_entry) {
		s->skip_cursor_entry = false;
		if (s->cursor && sd_journal_test_cursor(s->j, s->cursor) > 0)
			return 0;       /* handed out before the restart */
	}
	if (!trusted_sshd(s->j, &t)) {
		s->forged++;
		remember_cursor(s);
		return 0;
	}
	if (sd_journal_get_data(s->j, "MESSAGE", &msg, &mlen) < 0 || mlen < 8) {
		remember_cursor(s);
		return 0;
	}
	sd_journal_get_realtime_usec(s->j, &usec);
	struct xb_line l = {
		.text = (const char *)msg + 8,
		.len = mlen - 8,
		.ts_usec = (int64_t)usec,
		.program = t.by_comm ? t.comm : "sshd",
		.pid = atoi(t.pid),
		.bare = true,
	};

	s->last_usec = (int64_t)usec;
	s->lines++;
	if ((err = cb(&l, ctx)) < 0) {
		sd_journal_previous(s->j);
		return err;
	}
	remember_cursor(s);
	return 0;
}

int xb_src_journal_read(struct xb_source *s, xb_line_cb cb, void *ctx)
{
	int err = 0, n = 0, serr;

	if (s->jfd >= 0)
		sd_journal_process(s->j);       /* re-arms the fd */
	s->more = false;
	while (n < JOURNAL_BATCH) {
		int r = sd_journal_next(s->j);

		if (r < 0) {
			err = r;
			break;
		}
		if (r == 0)
			break;
		n++;
		if ((err = journal_entry(s, cb, ctx)) < 0)
			break;
	}
	if (n == JOURNAL_BATCH)
		s->more = true;
	serr = save_cursor(s);
	if (serr < 0)
		pr_warn("source %s: cannot save the cursor to %s: %s\n", s->name, s->cursor_file,
			strerror(-serr));
	return err;
}

int xb_src_journal_timeout(const struct xb_source *s)
{
	uint64_t t;
	struct timespec now;
	uint64_t now_us;

	if (s->more)
		return 0;
	if (sd_journal_get_timeout(s->j, &t) < 0 || t == UINT64_MAX)
		return s->jfd >= 0 ? -1 : 1000;
	clock_gettime(CLOCK_MONOTONIC, &now);
	now_us = (uint64_t)now.tv_sec * 1000000 + (uint64_t)now.tv_nsec / 1000;
	return t <= now_us ? 0 : (int)((t - now_us + 999) / 1000);
}

void xb_src_journal_close(struct xb_source *s)
{
	if (s->cursor_file)
		save_cursor(s);
	sd_journal_close(s->j);
	s->j = NULL;
	free(s->cursor);
	free(s->cursor_file);
	s->cursor = s->cursor_file = NULL;
}

bool xb_src_journal_has_sshd(void)
{
	sd_journal *j;
	bool found = false;

	if (sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY) < 0)
		return false;
	if (add_matches(j) >= 0 && sd_journal_seek_tail(j) >= 0)
		found = sd_journal_previous(j) > 0;
	sd_journal_close(j);
	return found;
}
