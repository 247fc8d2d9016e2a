// SPDX-License-Identifier: GPL-2.0
/*
 * File, fd and replay sources on real files: start at the end or the start,
 * partial lines, rotation by rename and by copytruncate, a file that appears
 * later, inotify wake-ups, gzip replay, pipes, over-long lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <criterion/criterion.h>

#include "source/source.h"

#define MAXL 64

struct got {
	char *l[MAXL];
	size_t n;
	int stop_after;         /* >0: return -ECANCELED after that many */
};

static int collect(const struct xb_line *line, void *ctx)
{
	struct got *g = ctx;

	cr_assert_lt(g->n, MAXL);
	g->l[g->n] = strndup(line->text, line->len > 1000 ? 1000 : line->len);
	cr_assert_not_null(g->l[g->n]);
	g->n++;
	if (g->stop_after && (int)g->n >= g->stop_after)
		return -ECANCELED;
	return 0;
}

static void got_free(struct got *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->l[i]);
	g->n = 0;
}

/* read once and compare with the expected lines */
static void expect(struct xb_source *s, const char *const *want, size_t n)
{
	struct got g = { 0 };

	cr_assert_eq(xb_source_read(s, collect, &g), 0);
	cr_assert_eq(g.n, n, "got %zu lines, want %zu (first: %s)", g.n, n, g.n ? g.l[0] : "-");
	for (size_t i = 0; i < n; i++)
		cr_assert_str_eq(g.l[i], want[i]);
	got_free(&g);
}

static char dir[64];

static void mkdir_tmp(void)
{
	strcpy(dir, "/tmp/xdpban-det-src-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void rm_tmp(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

static void append(const char *path, const char *text)
{
	FILE *f = fopen(path, "a");

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

TestSuite(source_file, .init = mkdir_tmp, .fini = rm_tmp);

Test(source_file, starts_at_end_and_keeps_partial_lines)
{
	char p[128];
	struct xb_source *s;

	snprintf(p, sizeof(p), "%s/auth.log", dir);
	append(p, "old 1\nold 2\n");
	cr_assert_eq(xb_source_open_file(p, false, &s), 0);
	cr_assert_eq(xb_source_kind(s), XB_SRC_FILE);
	cr_assert_geq(xb_source_fd(s), 0);
	expect(s, NULL, 0);
	append(p, "new 1\nnew 2\npart");
	/* inotify wakes us up */
	struct pollfd pfd = { .fd = xb_source_fd(s), .events = POLLIN };

	cr_assert_eq(poll(&pfd, 1, 2000), 1, "no inotify event");
	expect(s, (const char *[]){ "new 1", "new 2" }, 2);
	append(p, "ial\n");
	expect(s, (const char *[]){ "partial" }, 1);
	cr_assert_eq(xb_source_lines(s), 3);
	xb_source_close(s);

	cr_assert_eq(xb_source_open_file(p, true, &s), 0);
	expect(s, (const char *[]){ "old 1", "old 2", "new 1", "new 2", "partial" }, 5);
	xb_source_close(s);
}

Test(source_file, rotation_by_rename)
{
	char p[128], p1[140];
	struct xb_source *s;

	snprintf(p, sizeof(p), "%s/auth.log", dir);
	snprintf(p1, sizeof(p1), "%s/auth.log.1", dir);
	append(p, "a\n");
	cr_assert_eq(xb_source_open_file(p, true, &s), 0);
	expect(s, (const char *[]){ "a" }, 1);
	append(p, "b\nc-part");
	cr_assert_eq(rename(p, p1), 0);
	/* the logger still writes to the renamed file until it reopens */
	append(p1, "ial\nd\n");
	expect(s, (const char *[]){ "b", "c-partial", "d" }, 3);
	append(p1, "e\n");
	append(p, "new 1\nnew 2\n");
	expect(s, (const char *[]){ "e", "new 1", "new 2" }, 3);
	append(p, "new 3\n");
	expect(s, (const char *[]){ "new 3" }, 1);
	/* removed and recreated */
	cr_assert_eq(unlink(p), 0);
	append(p, "again\n");
	expect(s, (const char *[]){ "again" }, 1);
	xb_source_close(s);
}

Test(source_file, rotation_by_copytruncate)
{
	char p[128];
	struct xb_source *s;

	snprintf(p, sizeof(p), "%s/secure", dir);
	append(p, "one\ntwo\n");
	cr_assert_eq(xb_source_open_file(p, true, &s), 0);
	expect(s, (const char *[]){ "one", "two" }, 2);
	cr_assert_eq(truncate(p, 0), 0);
	append(p, "x\n");
	expect(s, (const char *[]){ "x" }, 1);
	append(p, "y\n");
	expect(s, (const char *[]){ "y" }, 1);
	xb_source_close(s);
}

/* n syslog-like lines "TAG i ..." of about 60 bytes each */
static void append_lines(const char *path, const char *tag, int from, int n)
{
	for (int i = from; i < from + n; i++) {
		char l[128];

		snprintf(l, sizeof(l), "Nov 28 07:%02d:%02d srv sshd[%d]: %s line %d of the log\n",
			 i / 60 % 60, i % 60, 1000 + i, tag, i);
		append(path, l);
	}
}

/* every line read is "TAG i" for i in [from, from + n), in order, whole */
static void expect_lines(struct xb_source *s, const char *tag, int from, int n)
{
	struct got g = { 0 };

	cr_assert_eq(xb_source_read(s, collect, &g), 0);
	cr_assert_eq(g.n, (size_t)n, "got %zu lines, want %d (first: %s)", g.n, n, g.n ? g.l[0] : "-");
	for (int i = 0; i < n; i++) {
		char want[128];
		int k = from + i;

		snprintf(want, sizeof(want), "Nov 28 07:%02d:%02d srv sshd[%d]: %s line %d of the log",
			 k / 60 % 60, k % 60, 1000 + k, tag, k);
		cr_assert_str_eq(g.l[i], want, "line %d", i);
	}
	got_free(&g);
}

/* logrotate's copytruncate: copy, then truncate in place */
static void copytruncate(const char *path)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "cp '%s' '%s.1'", path, path);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(truncate(path, 0), 0);
}

/* Truncated and written past the old end before we look again: the size
 * alone no longer shows it. Every new line comes whole, none lost. */
Test(source_file, copytruncate_then_quick_regrowth)
{
	char p[128];
	struct xb_source *s;

	snprintf(p, sizeof(p), "%s/auth.log", dir);
	append_lines(p, "old", 0, 5);
	cr_assert_eq(xb_source_open_file(p, true, &s), 0);
	expect_lines(s, "old", 0, 5);
	copytruncate(p);
	append_lines(p, "new", 100, 12);
	expect_lines(s, "new", 100, 12);
	append_lines(p, "new", 112, 3);
	expect_lines(s, "new", 112, 3);
	/* again, from a source that started at the end of the file */
	xb_source_close(s);
	cr_assert_eq(xb_source_open_file(p, false, &s), 0);
	expect(s, NULL, 0);
	append_lines(p, "more", 200, 2);
	expect_lines(s, "more", 200, 2);
	copytruncate(p);
	append_lines(p, "again", 300, 40);
	expect_lines(s, "again", 300, 40);
	xb_source_close(s);
}

/* A writer without O_APPEND goes on at its old offset after the truncation:
 * the file starts with a hole. Its lines still come whole. */
Test(source_file, copytruncate_with_a_writer_at_its_old_offset)
{
	char p[128];
	struct xb_source *s;
	FILE *f;
	long end;

	snprintf(p, sizeof(p), "%s/auth.log", dir);
	append_lines(p, "old", 0, 4);
	cr_assert_eq(xb_source_open_file(p, true, &s), 0);
	expect_lines(s, "old", 0, 4);
	f = fopen(p, "r+");
	cr_assert_not_null(f);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	end = ftell(f);
	copytruncate(p);
	cr_assert_eq(fseek(f, end, SEEK_SET), 0);
	fputs("Nov 28 08:00:00 srv sshd[9]: after the hole\n", f);
	fclose(f);
	expect(s, (const char *[]){ "Nov 28 08:00:00 srv sshd[9]: after the hole" }, 1);
	xb_source_close(s);
}

Test(source_file, file_that_appears_later)
{
	char p[128];
	struct xb_source *s;

	snprintf(p, sizeof(p), "%s/later.log", dir);
	cr_assert_eq(xb_source_open_file(p, false, &s), 0);
	expect(s, NULL, 0);
	append(p, "first\nsecond\n");
	struct pollfd pfd = { .fd = xb_source_fd(s), .events = POLLIN };

	cr_assert_eq(poll(&pfd, 1, 2000), 1, "no inotify event for the new file");
	expect(s, (const char *[]){ "first", "second" }, 2);
	xb_source_close(s);
	/* a directory that does not exist is an error only if... it is not: we wait */
	cr_assert_eq(xb_source_open_file("/nonexistent-dir-xdpban/x.log", false, &s), 0);
	expect(s, NULL, 0);
	xb_source_close(s);
}

Test(source_file, replay_gzip_and_plain)
{
	char p[128], q[128];
	struct xb_source *s;
	gzFile gz;
	struct got g = { 0 };

	snprintf(p, sizeof(p), "%s/auth.log.2.gz", dir);
	gz = gzopen(p, "wb");
	cr_assert_not_null(gz);
	gzputs(gz, "Nov 28 07:01:08 h sshd[1]: one\nNov 28 07:01:09 h sshd[1]: two\nno newline at end");
	gzclose(gz);
	cr_assert_eq(xb_source_open_replay(p, &s), 0);
	while (!xb_source_eof(s))
		cr_assert_eq(xb_source_read(s, collect, &g), 0);
	cr_assert_eq(g.n, 3);
	cr_assert_str_eq(g.l[1], "Nov 28 07:01:09 h sshd[1]: two");
	cr_assert_str_eq(g.l[2], "no newline at end");
	got_free(&g);
	xb_source_close(s);

	snprintf(q, sizeof(q), "%s/plain.log", dir);
	append(q, "p1\r\np2\n");
	cr_assert_eq(xb_source_open_replay(q, &s), 0);
	while (!xb_source_eof(s))
		cr_assert_eq(xb_source_read(s, collect, &g), 0);
	cr_assert_eq(g.n, 2);
	cr_assert_str_eq(g.l[0], "p1\r", "the decoder strips the CR, the source hands out bytes");
	got_free(&g);
	xb_source_close(s);

	/* a corrupt gzip file is an error, not a crash */
	snprintf(q, sizeof(q), "%s/bad.gz", dir);
	append(q, "\x1f\x8b\x08\x00garbage-garbage-garbage");
	cr_assert_eq(xb_source_open_replay(q, &s), 0);
	int rc = 0;

	while (!xb_source_eof(s) && !(rc = xb_source_read(s, collect, &g)))
		;
	cr_assert_lt(rc, 0);
	got_free(&g);
	xb_source_close(s);
	cr_assert_eq(xb_source_open_replay("/nonexistent/x.gz", &s), -ENOENT);
}

Test(source_file, pipe_and_callback_stop)
{
	int fds[2];
	struct xb_source *s;
	struct got g = { .stop_after = 2 };

	cr_assert_eq(pipe(fds), 0);
	cr_assert_eq(xb_source_open_fd(fds[0], "pipe", &s), 0);
	cr_assert_str_eq(xb_source_name(s), "pipe");
	cr_assert_eq(xb_source_fd(s), fds[0]);
	cr_assert_eq(xb_source_read(s, collect, &g), 0, "an empty pipe does not block");
	cr_assert_eq(g.n, 0);
	cr_assert_eq(write(fds[1], "1\n2\n3\n", 6), 6);
	cr_assert_eq(xb_source_read(s, collect, &g), -ECANCELED);
	cr_assert_eq(g.n, 2);
	got_free(&g);
	g.stop_after = 0;
	cr_assert_eq(write(fds[1], "4\ntail", 6), 6);
	close(fds[1]);
	while (!xb_source_eof(s))
		cr_assert_eq(xb_source_read(s, collect, &g), 0);
	cr_assert_eq(g.n, 3);
	cr_assert_str_eq(g.l[0], "3");
	cr_assert_str_eq(g.l[2], "tail");
	got_free(&g);
	xb_source_close(s);     /* closes fds[0] */
}

Test(source_file, overlong_line_is_cut_not_fatal)
{
	char p[128];
	struct xb_source *s;
	struct got g = { 0 };
	size_t big = 300 << 10;
	char *line = malloc(big + 2);

	cr_assert_not_null(line);
	memset(line, 'x', big);
	line[big] = '\n';
	line[big + 1] = '\0';
	snprintf(p, sizeof(p), "%s/long.log", dir);
	append(p, line);
	append(p, "short\n");
	free(line);
	cr_assert_eq(xb_source_open_replay(p, &s), 0);
	while (!xb_source_eof(s))
		cr_assert_eq(xb_source_read(s, collect, &g), 0);
	cr_assert_eq(g.n, 2, "one cut line, then the next line intact");
	cr_assert_str_eq(g.l[1], "short");
	got_free(&g);
	xb_source_close(s);
}
