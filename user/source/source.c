// SPDX-License-Identifier: GPL-2.0
/*
 * source: files (inotify, rotation by rename and copytruncate), stdin and
 * pipes, replay of old plain or gzip files. Journald is in source_journal.c.
 * Lines are cut in one buffer per source; a line longer than the buffer is
 * handed out truncated and the rest of it skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "source/internal.h"

#define LINE_BUF (256u << 10)   /* also the longest line handed out whole */
#define FILE_POLL_MS 1000       /* stat() the path this often, in case inotify missed */
#define FD_READS_PER_CALL 64    /* bound one xb_source_read() on a busy pipe */
#define REPLAY_CHUNKS 16        /* 4 MiB per call: keeps an event loop responsive */

static int src_alloc(enum xb_source_kind kind, const char *name, struct xb_source **out)
{
	struct xb_source *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->kind = kind;
	s->fd = s->ifd = -1;
	s->wd_file = s->wd_dir = -1;
	s->name = strdup(name);
	s->buf = malloc(LINE_BUF);
	if (!s->name || !s->buf) {
		free(s->name);
		free(s->buf);
		free(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

int xb_src_emit(struct xb_source *s, const char *text, size_t len, xb_line_cb cb, void *ctx)
{
	struct xb_line l = { .text = text, .len = len };

	s->lines++;
	return cb(&l, ctx);
}

/* Cut complete lines out of s->buf[0..len); keep the partial tail. */
static int cut_lines(struct xb_source *s, xb_line_cb cb, void *ctx)
{
	size_t start = 0;
	int err = 0;

	while (start < s->len) {
		char *nl = memchr(s->buf + start, '\n', s->len - start);

		if (!nl)
			break;
		size_t n = (size_t)(nl - (s->buf + start));

		size_t at = start;

		start += n + 1;
		if (s->discard)
			s->discard = false;     /* the tail of an over-long line */
		else if ((err = xb_src_emit(s, s->buf + at, n, cb, ctx)) < 0)
			break;
	}
	if (start) {
		memmove(s->buf, s->buf + start, s->len - start);
		s->len -= start;
	}
	if (!err && s->len == LINE_BUF) {       /* no newline in a full buffer */
		if (!s->discard)
			err = xb_src_emit(s, s->buf, s->len, cb, ctx);
		s->discard = true;
		s->len = 0;
	}
	return err;
}

/* The unterminated last line, at EOF or before switching files. */
static int flush_partial(struct xb_source *s, xb_line_cb cb, void *ctx)
{
	int err = 0;

	if (s->len && !s->discard)
		err = xb_src_emit(s, s->buf, s->len, cb, ctx);
	s->len = 0;
	s->discard = false;
	return err;
}

/* read() until EAGAIN/EOF (max_reads > 0 bounds it). 1 at EOF, 0, -errno. */
static int drain_fd(struct xb_source *s, int fd, int max_reads, xb_line_cb cb, void *ctx)
{
	for (int i = 0; max_reads <= 0 || i < max_reads; i++) {
		ssize_t r;
		int err;

		if (max_reads > 0) {    /* a pipe or tty: never block, read only what waits */
			struct pollfd p = { .fd = fd, .events = POLLIN };

			if (poll(&p, 1, 0) <= 0)
				return 0;
		}
		r = read(fd, s->buf + s->len, LINE_BUF - s->len);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return -errno;
		}
		if (r == 0)
			return 1;
		s->len += (size_t)r;
		s->off += r;
		if ((err = cut_lines(s, cb, ctx)) < 0)
			return err;
	}
	return 0;
}

/* --- files ------------------------------------------------------------------ */

static void file_watch(struct xb_source *s)
{
	if (s->ifd >= 0 && s->fd >= 0) {
		/* a watch on the path's current inode; rotation replaces it */
		char procpath[64];

		snprintf(procpath, sizeof(procpath), "/proc/self/fd/%d", s->fd);
		s->wd_file = inotify_add_watch(s->ifd, procpath, IN_MODIFY);
	}
}

static int file_open_current(struct xb_source *s, bool at_end)
{
	struct stat st;
	int fd = open(s->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	s->fd = fd;
	s->ino = st.st_ino;
	s->dev = st.st_dev;
	s->off = 0;
	if (at_end && S_ISREG(st.st_mode)) {
		s->off = lseek(fd, 0, SEEK_END);
		if (s->off < 0)
			s->off = 0;
	}
	if (s->wd_file >= 0)
		inotify_rm_watch(s->ifd, s->wd_file);
	s->wd_file = -1;
	file_watch(s);
	return 0;
}

int xb_source_open_file(const char *path, bool from_start, struct xb_source **out)
{
	struct xb_source *s;
	char *dcopy;
	int err = src_alloc(XB_SRC_FILE, path, &s);

	if (err)
		return err;
	s->path = strdup(path);
	dcopy = strdup(path);
	if (!s->path || !dcopy) {
		free(dcopy);
		xb_source_close(s);
		return -ENOMEM;
	}
	s->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (s->ifd < 0) {
		err = -errno;
		free(dcopy);
		xb_source_close(s);
		return err;
	}
	/* the directory tells about creation and renames of the path */
	s->wd_dir = inotify_add_watch(s->ifd, dirname(dcopy),
				      IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE);
	if (s->wd_dir < 0)
		pr_debug("source %s: no inotify on its directory (%s), polling\n", path, strerror(errno));
	free(dcopy);
	err = file_open_current(s, !from_start);
	if (err && err != -ENOENT) {
		xb_source_close(s);
		return err;
	}
	if (err == -ENOENT)
		pr_info("source %s: does not exist yet, waiting for it\n", path);
	*out = s;
	return 0;
}

static void drain_inotify(struct xb_source *s)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	while (read(s->ifd, buf, sizeof(buf)) > 0)
		;
}

static int file_read(struct xb_source *s, xb_line_cb cb, void *ctx)
{
	struct stat st, pst;
	int err;

	if (s->ifd >= 0)
		drain_inotify(s);
	if (s->fd < 0) {
		/* a file that appears (again) is read from its start */
		if (file_open_current(s, false) < 0)
			return 0;
	}
	for (int round = 0; round < 4; round++) {
		/* copytruncate: the file got shorter than what we read */
		if (fstat(s->fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size < s->off) {
			pr_info("source %s: truncated, reading from its start\n", s->path);
			lseek(s->fd, 0, SEEK_SET);
			s->off = 0;
			s->len = 0;
			s->discard = false;
		}
		err = drain_fd(s, s->fd, 0, cb, ctx);
		if (err < 0)
			return err;
		/* rename rotation: the path now names another file */
		if (stat(s->path, &pst) < 0 || (pst.st_ino == s->ino && pst.st_dev == s->dev))
			return 0;       /* same file, or not recreated yet: keep the old one */
		err = drain_fd(s, s->fd, 0, cb, ctx);   /* the old file's last lines */
		if (err < 0)
			return err;
		if ((err = flush_partial(s, cb, ctx)) < 0)
			return err;
		pr_info("source %s: rotated, following the new file\n", s->path);
		if (s->wd_file >= 0)
			inotify_rm_watch(s->ifd, s->wd_file);
		s->wd_file = -1;
		close(s->fd);
		s->fd = -1;
		if (file_open_current(s, false) < 0)
			return 0;
	}
	return 0;
}

/* --- fd and replay ------------------------------------------------------------- */

int xb_source_open_fd(int fd, const char *name, struct xb_source **out)
{
	struct xb_source *s;
	int err = src_alloc(XB_SRC_FD, name ? name : "stdin", &s);

	if (err)
		return err;
	s->fd = fd;
	*out = s;
	return 0;
}

int xb_source_open_replay(const char *path, struct xb_source **out)
{
	struct xb_source *s;
	int fd, err;

	if (!strcmp(path, "-")) {
		fd = dup(0);
	} else {
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0)
		return -errno;
	err = src_alloc(XB_SRC_REPLAY, strcmp(path, "-") ? path : "stdin", &s);
	if (err) {
		close(fd);
		return err;
	}
	/* zlib reads plain files through unchanged, so one path serves both */
	s->gz = gzdopen(fd, "rb");
	if (!s->gz) {
		close(fd);
		xb_source_close(s);
		return -ENOMEM;
	}
	gzbuffer(s->gz, 128 << 10);
	*out = s;
	return 0;
}

static int replay_read(struct xb_source *s, xb_line_cb cb, void *ctx)
{
	for (int i = 0; i < REPLAY_CHUNKS; i++) {
		int r = gzread(s->gz, s->buf + s->len, (unsigned)(LINE_BUF - s->len));
		int err;

		if (r < 0) {
			int zerr;
			const char *msg = gzerror(s->gz, &zerr);

			pr_warn("source %s: %s\n", s->name, msg);
			s->eof = true;
			return zerr == Z_ERRNO ? -EIO : -EBADMSG;
		}
		if (r == 0) {
			int zerr = Z_OK;
			const char *msg = gzerror(s->gz, &zerr);

			s->eof = true;
			err = flush_partial(s, cb, ctx);
			if (zerr != Z_OK) {     /* e.g. a truncated .gz: say so */
				pr_warn("source %s: %s\n", s->name, msg);
				return -EBADMSG;
			}
			return err;
		}
		s->len += (size_t)r;
		if ((err = cut_lines(s, cb, ctx)) < 0)
			return err;
	}
	return 0;
}

/* --- common -------------------------------------------------------------------- */

int xb_source_open_default(const char *cursor_file, struct xb_source **out)
{
	static const char *const files[] = { "/var/log/auth.log", "/var/log/secure", "/var/log/messages" };

	if (xb_src_journal_has_sshd() && xb_source_open_journal(NULL, cursor_file, out) == 0)
		return 0;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (access(files[i], R_OK) == 0)
			return xb_source_open_file(files[i], false, out);
	return -ENOENT;
}

int xb_source_fd(const struct xb_source *s)
{
	switch (s->kind) {
	case XB_SRC_FILE:
		return s->ifd;
	case XB_SRC_FD:
		return s->eof ? -1 : s->fd;
	case XB_SRC_JOURNAL:
		return s->jfd;
	default:
		return -1;
	}
}

int xb_source_timeout_ms(const struct xb_source *s)
{
	switch (s->kind) {
	case XB_SRC_FILE:
		return FILE_POLL_MS;
	case XB_SRC_REPLAY:
		return s->eof ? -1 : 0;
	case XB_SRC_JOURNAL:
		return xb_src_journal_timeout(s);
	default:
		return -1;
	}
}

int xb_source_read(struct xb_source *s, xb_line_cb cb, void *ctx)
{
	int err;

	/* complete lines left over when a callback stopped the last call */
	if (s->len && s->kind != XB_SRC_JOURNAL && (err = cut_lines(s, cb, ctx)) < 0)
		return err;
	switch (s->kind) {
	case XB_SRC_FILE:
		return file_read(s, cb, ctx);
	case XB_SRC_FD:
		if (s->eof)
			return 0;
		err = drain_fd(s, s->fd, FD_READS_PER_CALL, cb, ctx);
		if (err == 1) {
			s->eof = true;
			return flush_partial(s, cb, ctx);
		}
		return err;
	case XB_SRC_REPLAY:
		return s->eof ? 0 : replay_read(s, cb, ctx);
	case XB_SRC_JOURNAL:
		return xb_src_journal_read(s, cb, ctx);
	}
	return -EINVAL;
}

bool xb_source_eof(const struct xb_source *s)
{
	return s->eof;
}

enum xb_source_kind xb_source_kind(const struct xb_source *s)
{
	return s->kind;
}

const char *xb_source_name(const struct xb_source *s)
{
	return s->name;
}

uint64_t xb_source_lines(const struct xb_source *s)
{
	return s->lines;
}

int64_t xb_source_last_usec(const struct xb_source *s)
{
	return s->last_usec;
}

void xb_source_close(struct xb_source *s)
{
	if (!s)
		return;
	if (s->kind == XB_SRC_JOURNAL)
		xb_src_journal_close(s);
	if (s->gz)
		gzclose(s->gz);         /* closes its fd */
	if (s->fd > 2 && s->kind != XB_SRC_REPLAY)
		close(s->fd);
	if (s->ifd >= 0)
		close(s->ifd);
	free(s->path);
	free(s->name);
	free(s->buf);
	free(s);
}
