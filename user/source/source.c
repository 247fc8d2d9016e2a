// SPDX-License-Identifier: GPL-2.0
/*
 * source: what every kind shares. A source's line buffer and the cutting
 * of lines out of it (a line longer than the buffer is handed out truncated
 * and the rest of it skipped), the default source, and the dispatch of the
 * public calls to the kind: file.c (a followed file), stream.c (an fd,
 * replay), journal.c (journald).
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "source/internal.h"

#define FILE_POLL_MS 1000       /* stat() the path this often, in case inotify missed */

int xb_src_alloc(enum xb_source_kind kind, const char *name, struct xb_source **out)
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

int xb_src_cut_lines(struct xb_source *s, xb_line_cb cb, void *ctx)
{
	size_t start = 0;
	int err = 0;

	while (start < s->len) {
		char *nl = memchr(s->buf + start, '\n', s->len - start);

		if (!nl)
			break;
		size_t n = (size_t)(nl - (s->buf + start)), at = start;

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

int xb_src_flush_partial(struct xb_source *s, xb_line_cb cb, void *ctx)
{
	int err = 0;

	if (s->len && !s->discard)
		err = xb_src_emit(s, s->buf, s->len, cb, ctx);
	s->len = 0;
	s->discard = false;
	return err;
}

int xb_src_drain_fd(struct xb_source *s, int fd, int max_reads, xb_line_cb cb, void *ctx)
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
		if ((err = xb_src_cut_lines(s, cb, ctx)) < 0)
			return err;
	}
	return 0;
}

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
	if (s->len && s->kind != XB_SRC_JOURNAL && (err = xb_src_cut_lines(s, cb, ctx)) < 0)
		return err;
	switch (s->kind) {
	case XB_SRC_FILE:
		return xb_src_file_read(s, cb, ctx);
	case XB_SRC_FD:
		return xb_src_fd_read(s, cb, ctx);
	case XB_SRC_REPLAY:
		return xb_src_replay_read(s, cb, ctx);
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
