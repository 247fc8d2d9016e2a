// SPDX-License-Identifier: GPL-2.0
/* respond: disable-account, the alert's user locked for the timeout the way
 * `usermod -L` does it ('!' before the hash in shadow), unlocked on expiry.
 * Never root, never a protected account, never a system account (a uid
 * outside login.defs' UID_MIN..UID_MAX), never a user of no local account. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <shadow.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "respond/internal.h"

#define MAX_SHADOW (64u << 20)

static const char *path_or(const char *p, const char *dflt)
{
	return p && *p ? p : dflt;
}

/* UID_MIN / UID_MAX of login.defs; Debian's defaults when absent. */
static void login_range(const char *defs, unsigned long *lo, unsigned long *hi)
{
	char line[256], key[64];
	unsigned long v;
	FILE *f = fopen(defs, "re");

	*lo = 1000;
	*hi = 60000;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, " %63s %lu", key, &v) == 2 && *key != '#') {
			if (!strcmp(key, "UID_MIN"))
				*lo = v;
			else if (!strcmp(key, "UID_MAX"))
				*hi = v;
		}
	if (f)
		fclose(f);
}

static bool name_ok(const char *u)
{
	size_t n = strlen(u);

	if (!n || n > 32 || *u == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)u[i]) && !strchr("._-", u[i]))
			return false;
	return true;
}

/* May user be locked? -ECANCELED (logged) when it must not be. */
static int may_lock(const struct xb_resp *r, const char *user)
{
	const char *pw = path_or(r->o.passwd, "/etc/passwd");
	unsigned long lo, hi;
	struct passwd *p = NULL;
	FILE *f;

	if (!name_ok(user)) {
		pr_info("disable-account: '%.40s' is no user name: nothing locked\n", user);
		return -ECANCELED;
	}
	for (size_t i = 0; i < r->o.n_protected; i++)
		if (!strcmp(r->o.protected_accounts[i], user)) {
			pr_info("disable-account: %s is a protected account: not locked\n", user);
			return -ECANCELED;
		}
	if ((f = fopen(pw, "re")))
		while ((p = fgetpwent(f)) && strcmp(p->pw_name, user))
			;
	login_range(path_or(r->o.login_defs, "/etc/login.defs"), &lo, &hi);
	if (!p || p->pw_uid == 0 || p->pw_uid < lo || p->pw_uid > hi || !strcmp(user, "root")) {
		pr_info("disable-account: %s is %s: not locked\n", user,
			!p ? "no local account" : p->pw_uid == 0 ? "root" :
			"a system account (outside login.defs' UID range)");
		if (f)
			fclose(f);
		return -ECANCELED;
	}
	fclose(f);
	return 0;
}

/* The lock lckpwdf(3) takes (a write lock on /etc/.pwd.lock, which shadow's
 * tools honour), tried a few times over ~50 ms instead of lckpwdf's 15 s
 * wait: the event loop never waits on passwd(1). */
static int lock_pwd(int *out)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd = open("/etc/.pwd.lock", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		return -errno;
	for (int i = 0; i < 5; i++) {
		if (!fcntl(fd, F_SETLK, &fl)) {
			*out = fd;
			return 0;
		}
		usleep(10000);
	}
	close(fd);
	return -EBUSY;
}

/* Rewrite shadow with user's hash locked (lock) or unlocked; the file
 * through a temp file and rename, under the shadow lock when it is /etc's. */
static int set_locked(const struct xb_resp *r, const char *user, bool lock, bool *changed)
{
	const char *path = path_or(r->o.shadow, "/etc/shadow");
	bool sys = !strcmp(path, "/etc/shadow");
	char tmp[4096], *buf = NULL, *out = NULL;
	size_t len = 0, n = 0, ul = strlen(user);
	struct stat sb;
	int fd = -1, lk = -1, err;

	*changed = false;
	if (sys && (err = lock_pwd(&lk)))
		return err;
	err = xb_read_file(path, MAX_SHADOW, &buf, &len);
	if (!err && (stat(path, &sb) || !(out = malloc(len + 2))))
		err = errno ? -errno : -ENOMEM;
	for (size_t i = 0; !err && i < len; ) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t ll = nl ? (size_t)(nl - (buf + i)) : len - i;
		bool mine = ll > ul && !memcmp(buf + i, user, ul) && buf[i + ul] == ':';
		size_t h = i + ul + 1;  /* the hash */

		if (mine && lock && !(h < i + ll && buf[h] == '!')) {
			memcpy(out + n, buf + i, ul + 1);
			n += ul + 1;
			out[n++] = '!';
			memcpy(out + n, buf + h, i + ll - h);
			n += i + ll - h;
			*changed = true;
		} else if (mine && !lock && h < i + ll && buf[h] == '!') {
			memcpy(out + n, buf + i, ul + 1);
			n += ul + 1;
			memcpy(out + n, buf + h + 1, i + ll - h - 1);
			n += i + ll - h - 1;
			*changed = true;
		} else {
			memcpy(out + n, buf + i, ll);
			n += ll;
		}
		out[n++] = '\n';
		i += ll + (nl != NULL);
	}
	if (!err && *changed) {
		snprintf(tmp, sizeof(tmp), "%s.xdpban-XXXXXX", path);
		if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0 || fchmod(fd, sb.st_mode & 07777) ||
		    fchown(fd, sb.st_uid, sb.st_gid) || write(fd, out, n) != (ssize_t)n ||
		    fsync(fd) || close(fd) || rename(tmp, path)) {
			err = errno ? -errno : -EIO;
			if (fd >= 0)
				unlink(tmp);
		}
	}
	if (sys)
		close(lk);              /* and the lock with it */
	free(buf);
	free(out);
	return err;
}

static int apply(struct xb_resp *r, const struct xb_resp_row *row)
{
	bool changed;
	int err = may_lock(r, row->target);

	if (!err)
		err = set_locked(r, row->target, true, &changed);
	if (!err && !changed) {
		/* Locked already, by someone else: theirs to unlock, not ours. */
		pr_info("disable-account: %s is locked already: left as it is\n", row->target);
		return -ECANCELED;
	}
	return err;
}

static int lift(struct xb_resp *r, const struct xb_resp_row *row)
{
	bool changed;
	int err = set_locked(r, row->target, false, &changed);

	return err ? err : changed ? 0 : -ENOENT;
}

const struct xb_backend xb_disable_account = {
	.name = "disable-account", .apply = apply, .lift = lift,
	.resync = NULL,         /* the shadow file keeps the lock across a reboot */
};
