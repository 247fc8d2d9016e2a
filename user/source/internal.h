/* SPDX-License-Identifier: GPL-2.0 */
/*
 * source internals shared by its files: source.c (the common part: a
 * source's buffer, cutting lines, dispatch by kind, close), file.c
 * (following a file), stream.c (an fd, replay of an old file) and
 * journal.c (journald).
 */
#ifndef XB_SOURCE_INT_H
#define XB_SOURCE_INT_H

#include <sys/types.h>
#include <zlib.h>

#include "source/source.h"

struct sd_journal;

#define LINE_BUF (256u << 10)   /* also the longest line handed out whole */
#define HEAD_LEN 256            /* a followed file's first bytes kept (file.c) */

struct xb_source {
	enum xb_source_kind kind;
	char *name;
	char *path;             /* files */
	int fd;                 /* file or input fd, -1 if none */
	gzFile gz;              /* replay */
	int ifd, wd_file, wd_dir;       /* inotify */
	ino_t ino;
	dev_t dev;
	off_t off;
	char head[HEAD_LEN];    /* files: the first bytes as we read them */
	size_t head_len;
	bool eof;
	char *buf;              /* partial line, LINE_BUF bytes */
	size_t len;
	bool discard;           /* skipping the rest of an over-long line */
	uint64_t lines;
	int64_t last_usec;
	/* journald */
	struct sd_journal *j;
	int jfd;
	char *cursor_file;
	char *cursor;           /* of the last entry handed out or skipped */
	bool cursor_dirty;
	bool skip_cursor_entry; /* first next() may land on the saved entry */
	bool more;              /* stopped at the per-call bound: call again */
	uint64_t forged;        /* entries dropped by the trusted-field check */
};

/* source.c: a source of that kind with its line buffer; fds set to -1. */
int xb_src_alloc(enum xb_source_kind kind, const char *name, struct xb_source **out);
/* Hand one line to cb, counting it. */
int xb_src_emit(struct xb_source *s, const char *text, size_t len, xb_line_cb cb, void *ctx);
/* Cut the complete lines out of s->buf[0..len); the partial tail stays. */
int xb_src_cut_lines(struct xb_source *s, xb_line_cb cb, void *ctx);
/* Hand out the unterminated last line (at EOF or before switching files). */
int xb_src_flush_partial(struct xb_source *s, xb_line_cb cb, void *ctx);
/* read() fd into the buffer and cut lines until EAGAIN/EOF; max_reads > 0
 * bounds it and polls first (never blocks). 1 at EOF, 0, or -errno. */
int xb_src_drain_fd(struct xb_source *s, int fd, int max_reads, xb_line_cb cb, void *ctx);

/* file.c, stream.c: xb_source_read() of each kind. */
int xb_src_file_read(struct xb_source *s, xb_line_cb cb, void *ctx);
int xb_src_fd_read(struct xb_source *s, xb_line_cb cb, void *ctx);
int xb_src_replay_read(struct xb_source *s, xb_line_cb cb, void *ctx);

/* journal.c */
int xb_src_journal_read(struct xb_source *s, xb_line_cb cb, void *ctx);
int xb_src_journal_timeout(const struct xb_source *s);
void xb_src_journal_close(struct xb_source *s);
bool xb_src_journal_has_sshd(void);

#endif
