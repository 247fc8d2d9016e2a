// SPDX-License-Identifier: GPL-2.0
/*
 * The journald source on real journal files written by
 * systemd-journal-remote from export-format input (no running journald
 * needed): sshd's entries are picked by trusted fields, a forged entry
 * (SYSLOG_IDENTIFIER=sshd from logger, or a user's process named sshd) is
 * ignored, and the cursor file makes a restart continue without double
 * counting or missing entries.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <systemd/sd-journal.h>
#include <criterion/criterion.h>

#include "decode/decode.h"
#include "source/source.h"

#define JREMOTE "/lib/systemd/systemd-journal-remote"
#define BOOT "0123456789abcdef0123456789abcdef"

static char dir[64], cursor[128];

static void setup(void)
{
	strcpy(dir, "/tmp/xdpban-det-journal-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(cursor, sizeof(cursor), "%s/cursor", dir);
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

struct ent {
	const char *comm, *uid, *unit, *ident, *msg;
};

/* Write entries (1 s apart from t0) into dir/name with systemd-journal-remote. */
static void write_journal(const char *name, long long t0, const struct ent *e, size_t n)
{
	char cmd[256];
	FILE *p;

	snprintf(cmd, sizeof(cmd), JREMOTE " -o '%s/%s' - 2>/dev/null", dir, name);
	p = popen(cmd, "w");
	cr_assert_not_null(p);
	for (size_t i = 0; i < n; i++) {
		fprintf(p, "__REALTIME_TIMESTAMP=%lld\n__MONOTONIC_TIMESTAMP=%lld\n_BOOT_ID=" BOOT "\n",
			(t0 + (long long)i) * 1000000, (t0 + (long long)i) * 1000000);
		if (e[i].comm)
			fprintf(p, "_COMM=%s\n", e[i].comm);
		if (e[i].uid)
			fprintf(p, "_UID=%s\n", e[i].uid);
		if (e[i].unit)
			fprintf(p, "_SYSTEMD_UNIT=%s\n", e[i].unit);
		if (e[i].ident)
			fprintf(p, "SYSLOG_IDENTIFIER=%s\n", e[i].ident);
		fprintf(p, "_PID=%zu\nMESSAGE=%s\n\n", 100 + i, e[i].msg);
	}
	cr_assert_eq(pclose(p), 0, "systemd-journal-remote failed");
}

struct got {
	char msg[16][128];
	char prog[16][32];
	long long ts[16];
	int n;
};

static int collect(const struct xb_line *l, void *ctx)
{
	struct got *g = ctx;
	struct xb_event ev;

	cr_assert_lt(g->n, 16);
	cr_assert(l->bare, "journald hands out bare messages");
	snprintf(g->msg[g->n], sizeof(g->msg[0]), "%.*s", (int)l->len, l->text);
	snprintf(g->prog[g->n], sizeof(g->prog[0]), "%s", l->program);
	g->ts[g->n] = l->ts_usec;
	/* and the decoder takes them as they are */
	cr_assert_eq(xb_decode_line(l, &ev), XB_DEC_SSHD);
	g->n++;
	return 0;
}

static int stop_cb(const struct xb_line *l, void *ctx)
{
	(void)l;
	(void)ctx;
	return -ECANCELED;
}

static void read_all(struct xb_source *s, struct got *g)
{
	memset(g, 0, sizeof(*g));
	cr_assert_eq(xb_source_read(s, collect, g), 0);
}

static const struct ent batch1[] = {
	{ "sshd", "0", NULL, "sshd", "first" },
	{ "sshd", "0", "ssh.service", "sshd", "Failed password for root from 198.18.0.1 port 22 ssh2" },
	/* forged: a local user's logger -t sshd */
	{ "logger", "1000", "session-1.scope", "sshd", "Failed password for root from 203.0.113.7 port 22 ssh2" },
	/* forged: a user's own process named sshd (prctl/exec) */
	{ "sshd", "1000", "session-1.scope", "sshd", "Failed password for root from 203.0.113.8 port 22 ssh2" },
	{ "sshd-session", "0", NULL, "sshd-session", "Invalid user x from 2001:db8::2 port 1" },
	/* root process in the ssh unit under another name */
	{ "ssh-helper", "0", "ssh.service", NULL, "Connection closed by 198.18.0.3 port 2 [preauth]" },
	/* root, but neither sshd's name nor its unit */
	{ "cron", "0", "cron.service", "sshd", "Failed password for root from 203.0.113.9 port 22 ssh2" },
};

static const struct ent batch2[] = {
	{ "logger", "1000", NULL, "sshd", "Failed password for root from 203.0.113.7 port 22 ssh2" },
	{ "sshd", "0", "ssh.service", NULL, "Failed password for bob from 198.18.0.4 port 22 ssh2" },
	{ "sshd", "0", "ssh.service", NULL, "Failed password for bob from 198.18.0.5 port 22 ssh2" },
};

TestSuite(source_journal, .init = setup, .fini = teardown);

Test(source_journal, trusted_fields_and_cursor_resume)
{
	struct xb_source *s;
	struct got g;
	sd_journal *j;
	char *c0 = NULL;
	FILE *f;

	if (access(JREMOTE, X_OK) != 0)
		cr_skip_test("systemd-journal-remote not installed");
	write_journal("a.journal", 1700000000, batch1, sizeof(batch1) / sizeof(batch1[0]));

	/* no cursor: only new entries */
	cr_assert_eq(xb_source_open_journal(dir, cursor, &s), 0);
	cr_assert_eq(xb_source_kind(s), XB_SRC_JOURNAL);
	read_all(s, &g);
	cr_assert_eq(g.n, 0, "started at the end, got '%s'", g.msg[0]);
	xb_source_close(s);

	/* a saved cursor on the first entry: everything after it */
	cr_assert_eq(sd_journal_open_directory(&j, dir, 0), 0);
	cr_assert_eq(sd_journal_next(j), 1);
	cr_assert_eq(sd_journal_get_cursor(j, &c0), 0);
	sd_journal_close(j);
	f = fopen(cursor, "w");
	cr_assert_not_null(f);
	fprintf(f, "%s\n", c0);
	fclose(f);
	free(c0);

	cr_assert_eq(xb_source_open_journal(dir, cursor, &s), 0);
	read_all(s, &g);
	cr_assert_eq(g.n, 3, "got %d entries", g.n);
	cr_assert_str_eq(g.msg[0], "Failed password for root from 198.18.0.1 port 22 ssh2");
	cr_assert_str_eq(g.prog[0], "sshd");
	cr_assert_eq(g.ts[0], 1700000001000000LL);
	cr_assert_str_eq(g.msg[1], "Invalid user x from 2001:db8::2 port 1");
	cr_assert_str_eq(g.prog[1], "sshd-session");
	cr_assert_str_eq(g.msg[2], "Connection closed by 198.18.0.3 port 2 [preauth]");
	cr_assert_str_eq(g.prog[2], "sshd", "selected by its unit: decoded as sshd");
	for (int i = 0; i < g.n; i++)
		cr_assert_null(strstr(g.msg[i], "203.0.113."), "forged entry read: %s", g.msg[i]);
	cr_assert_eq(xb_source_lines(s), 3);
	cr_assert_eq(xb_source_last_usec(s), 1700000005000000LL);
	xb_source_close(s);

	/* restart: nothing is read twice */
	cr_assert_eq(xb_source_open_journal(dir, cursor, &s), 0);
	read_all(s, &g);
	cr_assert_eq(g.n, 0, "double counted '%s'", g.msg[0]);
	xb_source_close(s);

	/* entries written while we were down are read after the restart */
	write_journal("b.journal", 1700000100, batch2, sizeof(batch2) / sizeof(batch2[0]));
	cr_assert_eq(xb_source_open_journal(dir, cursor, &s), 0);
	read_all(s, &g);
	cr_assert_eq(g.n, 2, "got %d", g.n);
	cr_assert_str_eq(g.msg[0], "Failed password for bob from 198.18.0.4 port 22 ssh2");
	cr_assert_str_eq(g.msg[1], "Failed password for bob from 198.18.0.5 port 22 ssh2");
	cr_assert_eq(xb_source_save_cursor(s), 0);
	xb_source_close(s);
	cr_assert_eq(xb_source_open_journal(dir, cursor, &s), 0);
	read_all(s, &g);
	cr_assert_eq(g.n, 0);
	xb_source_close(s);
}

Test(source_journal, live_append_and_missing_dir)
{
	struct xb_source *s;
	struct got g;

	if (access(JREMOTE, X_OK) != 0)
		cr_skip_test("systemd-journal-remote not installed");
	cr_assert_eq(xb_source_open_journal("/nonexistent/xdpban-journal", NULL, &s), -ENOENT);
	write_journal("a.journal", 1700000000, batch1, 2);
	cr_assert_eq(xb_source_open_journal(dir, NULL, &s), 0);
	read_all(s, &g);
	cr_assert_eq(g.n, 0);
	/* a new journal file appears while we follow */
	write_journal("b.journal", 1700000100, batch2, sizeof(batch2) / sizeof(batch2[0]));
	/* a consumer that stops gets the same line again on the next read */
	cr_assert_eq(xb_source_read(s, stop_cb, NULL), -ECANCELED);
	read_all(s, &g);
	cr_assert_eq(g.n, 2, "got %d", g.n);
	cr_assert_str_eq(g.msg[1], "Failed password for bob from 198.18.0.5 port 22 ssh2");
	xb_source_close(s);
}
