/* SPDX-License-Identifier: GPL-2.0 */
/*
 * source: the first stage. Follows one log (journald, a file, stdin, an old
 * possibly gzip-compressed file) and hands out complete lines as struct
 * xb_line. All functions return 0 or a negative errno.
 *
 * Event-loop use (the daemon):
 *   fd = xb_source_fd(src);            add to epoll (level-triggered) if >= 0
 *   t  = xb_source_timeout_ms(src);    wake up after t ms at the latest (-1: no need)
 *   on wake-up or timeout: xb_source_read(src, cb, ctx);
 *   periodically and at exit: xb_source_save_cursor(src) (journald)
 * Batch use (logtest, replay): call xb_source_read() until xb_source_eof().
 *
 * The line handed to the callback is valid only during the callback.
 */
#ifndef XB_SOURCE_H
#define XB_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/records.h"

struct xb_source;

/* Called once per complete line; a negative return stops xb_source_read()
 * and is returned by it. */
typedef int (*xb_line_cb)(const struct xb_line *line, void *ctx);

/*
 * Follow a file by path. from_start=false starts at the current end (the
 * default: old lines were dealt with before). The file may not exist yet: it
 * is picked up when it appears. Rotation by rename (the old file is drained
 * to its end first) and by copytruncate (read again from 0) are handled; a
 * partial last line is kept until its newline arrives.
 */
int xb_source_open_file(const char *path, bool from_start, struct xb_source **out);

/*
 * journald through sd-journal. journal_dir NULL opens the system journal,
 * else that directory (sd_journal_open_directory). Only sshd's entries are
 * read, selected by fields journald records itself: _COMM=sshd|sshd-session
 * or _SYSTEMD_UNIT=ssh.service|sshd.service, and _UID=0 (a local user can
 * neither run as root nor forge trusted fields; SYSLOG_IDENTIFIER is never
 * trusted). cursor_file (may be NULL): where the position is kept; when it
 * holds a valid cursor, reading continues after that entry, else at the end.
 * -ENOENT when there is no journal to read.
 */
int xb_source_open_journal(const char *journal_dir, const char *cursor_file,
			   struct xb_source **out);

/* Lines from an fd (stdin: fd 0) until EOF. The fd is not closed by
 * xb_source_close() when it is 0..2. name is shown in status ("stdin"). */
int xb_source_open_fd(int fd, const char *name, struct xb_source **out);

/* Read an old file once from the start; gzip (auth.log.2.gz) is detected by
 * content, plain files work too. "-" means stdin. */
int xb_source_open_replay(const char *path, struct xb_source **out);

/*
 * The default when nothing is configured: journald when sshd's entries are
 * in the system journal, else the first existing of /var/log/auth.log,
 * /var/log/secure, /var/log/messages (followed from the end). cursor_file as
 * for the journal. -ENOENT when there is none.
 */
int xb_source_open_default(const char *cursor_file, struct xb_source **out);

/* Pollable fd (inotify, sd_journal_get_fd, the input fd) or -1 if none. */
int xb_source_fd(const struct xb_source *src);
/* Longest sleep before the next xb_source_read() (ms), -1 for no limit,
 * 0 when more input is ready right now (replay of a big file). */
int xb_source_timeout_ms(const struct xb_source *src);

/* Hand out the complete lines available now, without blocking. Returns 0,
 * a callback's negative return, or a negative errno of the source. */
int xb_source_read(struct xb_source *src, xb_line_cb cb, void *ctx);
/* True once a finite source (fd, replay) has delivered everything. */
bool xb_source_eof(const struct xb_source *src);

/* Journald: write the cursor of the last line handed out (atomically, via a
 * temporary file). A no-op for the other kinds or without cursor_file. */
int xb_source_save_cursor(struct xb_source *src);

enum xb_source_kind xb_source_kind(const struct xb_source *src);
/* "journal", "journal:DIR", the path, "stdin". */
const char *xb_source_name(const struct xb_source *src);
/* Status: lines handed out so far, and the wall-clock time (usec) of the
 * newest line read from journald (0 when unknown) to show a lag. */
uint64_t xb_source_lines(const struct xb_source *src);
int64_t xb_source_last_usec(const struct xb_source *src);

/* Saves the journal cursor, closes fds (not 0..2), frees. NULL is fine. */
void xb_source_close(struct xb_source *src);

#endif
