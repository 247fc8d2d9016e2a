// SPDX-License-Identifier: GPL-2.0
/* respond: host-deny, an "ALL: ADDR" line in hosts.deny. The file is
 * rewritten whole, through a temporary file renamed over it, under a lock
 * on the file itself; every other line stays as it was. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "respond/internal.h"

#define MAX_HOSTS_DENY (16u << 20)

/* hosts_access(5) writes IPv6 addresses in brackets. */
static void deny_line(const char *target, char *buf, size_t len)
{
	snprintf(buf, len, strchr(target, ':') ? "ALL: [%s]" : "ALL: %s", target);
}

/* Is this line ours for target ("ALL: A", also Wazuh's "ALL:A")? */
static bool is_ours(const char *line, size_t n, const char *want)
{
	size_t wl = strlen(want);
	const char *addr = want + 5;    /* past "ALL: " */

	if (n == wl && !memcmp(line, want, n))
		return true;
	return n == 4 + strlen(addr) && !memcmp(line, "ALL:", 4) && !memcmp(line + 4, addr, n - 4);
}

/* flock, tried a few times over ~50 ms: whoever holds it longer makes this
 * attempt fail (logged), never the event loop wait. */
static int lock_nb(int fd)
{
	for (int i = 0; i < 5; i++) {
		if (!flock(fd, LOCK_EX | LOCK_NB))
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -1;
		usleep(10000);
	}
	errno = EBUSY;
	return -1;
}

/* The file locked: opened (created if missing), flocked, and still the one
 * at path (a concurrent rewrite renames a new file in). */
static int lock_file(const char *path, int *out)
{
	for (int i = 0; i < 8; i++) {
		struct stat a, b;
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

		if (fd < 0)
			return -errno;
		if (lock_nb(fd) || fstat(fd, &a)) {
			int err = -errno;

			close(fd);
			return err;
		}
		if (!stat(path, &b) && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
			*out = fd;
			return 0;
		}
		close(fd);
	}
	return -EBUSY;
}

/* Write buf as the new content of path: temp file beside it, same mode and
 * owner, synced, renamed. */
static int replace(const char *path, int old_fd, const char *buf, size_t len)
{
	char tmp[4096];
	struct stat sb;
	int fd, err = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.xdpban-XXXXXX", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	if (fstat(old_fd, &sb) || (fd = mkostemp(tmp, O_CLOEXEC)) < 0)
		return -errno;
	if (fchmod(fd, sb.st_mode & 07777) || fchown(fd, sb.st_uid, sb.st_gid) ||
	    (len && write(fd, buf, len) != (ssize_t)len) || fsync(fd))
		err = errno ? -errno : -EIO;
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

/* Add or remove target's line; *changed says whether the file changed. */
static int edit(const char *path, const char *target, bool add, bool *changed)
{
	char want[160], *old = NULL, *out = NULL;
	size_t len = 0, n = 0;
	bool found = false;
	int fd = -1, err = lock_file(path, &fd);

	*changed = false;
	if (err)
		return err;
	deny_line(target, want, sizeof(want));
	err = xb_read_file(path, MAX_HOSTS_DENY, &old, &len);
	if (!err && !(out = malloc(len + strlen(want) + 2)))
		err = -ENOMEM;
	for (size_t i = 0; !err && i < len; ) {
		const char *nl = memchr(old + i, '\n', len - i);
		size_t ll = nl ? (size_t)(nl - (old + i)) : len - i;
		bool mine = is_ours(old + i, ll, want);

		found |= mine;
		if (!mine || add) {
			memcpy(out + n, old + i, ll);
			n += ll;
			out[n++] = '\n';
		}
		i += ll + (nl != NULL);
	}
	if (!err && add && !found)
		n += sprintf(out + n, "%s\n", want);
	if (!err && found != add) {
		err = replace(path, fd, out, n);
		*changed = !err;
	}
	free(old);
	free(out);
	close(fd);              /* and the lock with it */
	return err;
}

static int apply(struct xb_resp *r, const struct xb_resp_row *row)
{
	bool changed;
	int err = edit(r->o.hosts_deny, row->target, true, &changed);

	if (err)
		pr_warn("host-deny %s: %s: %s\n", row->target, r->o.hosts_deny, strerror(-err));
	return err;
}

static int lift(struct xb_resp *r, const struct xb_resp_row *row)
{
	bool changed;
	int err = edit(r->o.hosts_deny, row->target, false, &changed);

	if (err)
		pr_warn("host-deny %s: %s: %s\n", row->target, r->o.hosts_deny, strerror(-err));
	return err ? err : changed ? 0 : -ENOENT;
}

const struct xb_backend xb_host_deny = {
	.name = "host-deny", .apply = apply, .lift = lift,
	.resync = apply,        /* a line removed by hand while it was due comes back */
};
