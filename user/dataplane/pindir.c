// SPDX-License-Identifier: GPL-2.0
/*
 * The pin directory: which one, and making it a bpffs the maps and links can
 * be pinned in (every process shares the data plane through these pins).
 */
#include <errno.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "dataplane/internal.h"
#include "common/log.h"

static bool on_bpffs(const char *dir)
{
	struct statfs st;

	return !statfs(dir, &st) && st.f_type == BPF_FS_MAGIC;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

static int mount_bpffs(const char *dir)
{
	if (mount("bpf", dir, "bpf", 0, "mode=0700")) {
		int err = -errno;

		pr_warn("xdpban: cannot mount bpffs on %s: %s\n", dir, strerror(-err));
		return err;
	}
	pr_debug("mounted bpffs on %s\n", dir);
	return 0;
}

/*
 * Make dir usable for pins: it must be on a bpffs. Inside an existing bpffs
 * a subdirectory is enough; elsewhere mount a private one on dir itself. The
 * default dir lives under /sys/fs/bpf, which may be unmounted (e.g. inside
 * `ip netns exec`): then mount bpffs there, where systemd would have.
 */
static int prepare_pin_dir(const char *dir)
{
	int err;

	if (on_bpffs(dir))
		return 0;
	err = mkdir_p(dir, 0700);
	if (err && !strcmp(dir, XB_PIN_DIR_DEFAULT) && !on_bpffs("/sys/fs/bpf")) {
		err = mount_bpffs("/sys/fs/bpf");
		if (!err)
			err = mkdir_p(dir, 0700);
	}
	if (err) {
		pr_warn("xdpban: cannot create pin directory %s: %s\n", dir, strerror(-err));
		return err;
	}
	if (on_bpffs(dir))
		return 0;
	return mount_bpffs(dir);
}

/* Without creating anything: are there maps to open? */
static int maps_pinned(const char *dir)
{
	char path[PATH_MAX];
	int err;

	snprintf(path, sizeof(path), "%s/%s", dir, XB_MAP_BAN4);
	if (!access(path, F_OK))
		return 0;
	err = -errno;
	if (err == -ENOENT)
		pr_warn("xdpban: nothing attached and no bans: no xdpban maps in %s\n", dir);
	else
		pr_warn("xdpban: %s: %s\n", path, strerror(-err));
	return err;
}

const char *dp_pin_dir_pick(const struct xb_dp_opts *opts)
{
	const char *env = getenv(XB_PIN_DIR_ENV);

	if (opts && opts->pin_dir && *opts->pin_dir)
		return opts->pin_dir;
	if (env && *env)
		return env;
	return XB_PIN_DIR_DEFAULT;
}

int dp_pin_dir_ready(const char *dir, bool no_create)
{
	return no_create ? maps_pinned(dir) : prepare_pin_dir(dir);
}
