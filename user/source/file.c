// SPDX-License-Identifier: GPL-2.0
/*
 * source: following a log file by path. inotify on the file (writes) and
 * on its directory (creation, renames); rotation by rename (the old file is
 * drained to its end first) and by copytruncate (read again from 0).
 *
 * A copytruncate shows as a file shorter than what we read, unless it grew
 * past that again before we looked. So the file's first bytes are kept as
 * they were read: an appended file never changes them, a truncated and
 * rewritten one does (its first line has another time and pid). The inode
 * change time is no help here: every append changes it too.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "source/internal.h"

/* Keep the first bytes of what was read so far (up to HEAD_LEN). */
static void head_keep(struct xb_source *s)
{
	size_t want = s->off < HEAD_LEN ? (size_t)s->off : HEAD_LEN;
	ssize_t n;

	if (s->head_len >= want)
		return;
	n = pread(s->fd, s->head + s->head_len, want - s->head_len, (off_t)s->head_len);
	if (n > 0)
		s->head_len += (size_t)n;
}

/* Does the file still start with the bytes kept? */
static bool head_same(const struct xb_source *s)
{
	char now[HEAD_LEN];

	if (!s->head_len)
		return true;
	return pread(s->fd, now, s->head_len, 0) == (ssize_t)s->head_len &&
	       !memcmp(now, s->head, s->head_len);
}

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
	s->head_len = 0;
	if (at_end && S_ISREG(st.st_mode)) {
		s->off = lseek(fd, 0, SEEK_END);
		if (s->off < 0)
			s->off = 0;
		head_keep(s);
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
	int err = xb_src_alloc(XB_SRC_FILE, path, &s);

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

/*
 * A writer without O_APPEND goes on at its old offset after a copytruncate:
 * the file then starts with a hole (NULs). Start at its first other byte.
 */
static void skip_hole(struct xb_source *s)
{
	off_t at = lseek(s->fd, 0, SEEK_DATA);
	char b[4096];
	ssize_t n;

	if (at < 0)
		at = 0;
	while ((n = pread(s->fd, b, sizeof(b), at)) > 0) {
		ssize_t i = 0;

		while (i < n && !b[i])
			i++;
		at += i;
		if (i < n)
			break;
	}
	s->off = lseek(s->fd, at, SEEK_SET) < 0 ? 0 : at;
}

/* copytruncate: the file is shorter than what we read, or starts with other
 * bytes. The old file's unfinished line is handed out, as for a rename. */
static int check_truncated(struct xb_source *s, xb_line_cb cb, void *ctx)
{
	struct stat st;

	if (fstat(s->fd, &st) || !S_ISREG(st.st_mode))
		return 0;
	if (st.st_size >= s->off && head_same(s))
		return 0;
	pr_info("source %s: truncated, reading from its start\n", s->path);
	s->head_len = 0;
	skip_hole(s);
	return xb_src_flush_partial(s, cb, ctx);
}

/*
 * Rename rotation: when the path names another file now, hand out the old
 * file's last lines and switch to the new one. 1 when switched (read it),
 * 0 when not (same file, or not recreated yet: keep the old one), -errno.
 */
static int check_rotated(struct xb_source *s, xb_line_cb cb, void *ctx)
{
	struct stat pst;
	int err;

	if (stat(s->path, &pst) < 0 || (pst.st_ino == s->ino && pst.st_dev == s->dev))
		return 0;
	err = xb_src_drain_fd(s, s->fd, 0, cb, ctx);    /* the old file's last lines */
	if (err < 0)
		return err;
	if ((err = xb_src_flush_partial(s, cb, ctx)) < 0)
		return err;
	pr_info("source %s: rotated, following the new file\n", s->path);
	if (s->wd_file >= 0)
		inotify_rm_watch(s->ifd, s->wd_file);
	s->wd_file = -1;
	close(s->fd);
	s->fd = -1;
	if (file_open_current(s, false) < 0)
		return 0;
	return 1;
}

int xb_src_file_read(struct xb_source *s, xb_line_cb cb, void *ctx)
{
	int err;

	if (s->ifd >= 0)
		drain_inotify(s);
	if (s->fd < 0) {
		/* a file that appears (again) is read from its start */
		if (file_open_current(s, false) < 0)
			return 0;
	}
	for (int round = 0; round < 4; round++) {
		if ((err = check_truncated(s, cb, ctx)) < 0)
			return err;
		err = xb_src_drain_fd(s, s->fd, 0, cb, ctx);
		if (err < 0)
			return err;
		head_keep(s);
		if ((err = check_rotated(s, cb, ctx)) <= 0)
			return err;
	}
	return 0;
}
