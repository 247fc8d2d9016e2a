// SPDX-License-Identifier: GPL-2.0
/*
 * source: streams read once to their end. An fd (stdin, a pipe), read only
 * as far as it has data; and replay of an old file, plain or gzip.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "source/internal.h"

#define FD_READS_PER_CALL 64    /* bound one xb_source_read() on a busy pipe */
#define REPLAY_CHUNKS 16        /* 4 MiB per call: keeps an event loop responsive */

int xb_source_open_fd(int fd, const char *name, struct xb_source **out)
{
	struct xb_source *s;
	int err = xb_src_alloc(XB_SRC_FD, name ? name : "stdin", &s);

	if (err)
		return err;
	s->fd = fd;
	*out = s;
	return 0;
}

int xb_src_fd_read(struct xb_source *s, xb_line_cb cb, void *ctx)
{
	int err;

	if (s->eof)
		return 0;
	err = xb_src_drain_fd(s, s->fd, FD_READS_PER_CALL, cb, ctx);
	if (err == 1) {
		s->eof = true;
		return xb_src_flush_partial(s, cb, ctx);
	}
	return err;
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
	err = xb_src_alloc(XB_SRC_REPLAY, strcmp(path, "-") ? path : "stdin", &s);
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

/* gzread() returned 0: the end, or a damaged file (a truncated .gz). */
static int replay_end(struct xb_source *s, xb_line_cb cb, void *ctx)
{
	int zerr = Z_OK;
	const char *msg = gzerror(s->gz, &zerr);
	int err;

	s->eof = true;
	err = xb_src_flush_partial(s, cb, ctx);
	if (zerr != Z_OK) {     /* e.g. a truncated .gz: say so */
		pr_warn("source %s: %s\n", s->name, msg);
		return -EBADMSG;
	}
	return err;
}

int xb_src_replay_read(struct xb_source *s, xb_line_cb cb, void *ctx)
{
	if (s->eof)
		return 0;
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
		if (r == 0)
			return replay_end(s, cb, ctx);
		s->len += (size_t)r;
		if ((err = xb_src_cut_lines(s, cb, ctx)) < 0)
			return err;
	}
	return 0;
}
