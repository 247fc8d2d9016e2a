/* SPDX-License-Identifier: GPL-2.0 */
/* source internals shared by source.c and source_journal.c. */
#ifndef XB_SOURCE_INT_H
#define XB_SOURCE_INT_H

#include <sys/types.h>
#include <zlib.h>

#include "source/source.h"

struct sd_journal;

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

int xb_src_emit(struct xb_source *s, const char *text, size_t len, xb_line_cb cb, void *ctx);
int xb_src_journal_read(struct xb_source *s, xb_line_cb cb, void *ctx);
int xb_src_journal_timeout(const struct xb_source *s);
void xb_src_journal_close(struct xb_source *s);
bool xb_src_journal_has_sshd(void);

#endif
