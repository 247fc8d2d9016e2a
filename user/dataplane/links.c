// SPDX-License-Identifier: GPL-2.0
/*
 * XDP links: attach the program to an interface, detach it, list them. Each
 * link is pinned in the pin directory as XB_LINK_PREFIX<ifname>, so it
 * outlives the process that made it.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dataplane/internal.h"
#include "common/log.h"
#include "xdpban.skel.h"

static int link_path(const struct xb_dp *dp, const char *ifname, char *buf, size_t len)
{
	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ || strchr(ifname, '/'))
		return -EINVAL;
	snprintf(buf, len, "%s/%s%s", dp->pin_dir, XB_LINK_PREFIX, ifname);
	return 0;
}

/* The mode our link runs in, asked from the interface itself. */
static enum xb_mode link_mode(int ifindex, __u32 prog_id)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (!ifindex || bpf_xdp_query(ifindex, 0, &q))
		return XB_MODE_AUTO;
	if (q.drv_prog_id == prog_id || q.attach_mode == XDP_ATTACHED_DRV)
		return XB_MODE_NATIVE;
	if (q.skb_prog_id == prog_id || q.attach_mode == XDP_ATTACHED_SKB)
		return XB_MODE_GENERIC;
	return XB_MODE_AUTO;
}

static int link_info(int fd, struct bpf_link_info *info)
{
	__u32 len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	return bpf_obj_get_info_by_fd(fd, info, &len);
}

static int link_new(int prog_fd, int ifindex, enum xb_mode mode)
{
	LIBBPF_OPTS(bpf_link_create_opts, o,
		    .flags = mode == XB_MODE_NATIVE ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE);

	return bpf_link_create(prog_fd, ifindex, BPF_XDP, &o);
}

/* Our link on ifindex pinned at path, or -ENOENT. A pin whose interface
 * vanished (or was renumbered) is dropped. */
static int link_pinned(const char *path, int ifindex, struct bpf_link_info *info)
{
	int fd = bpf_obj_get(path);

	if (fd < 0)
		return -ENOENT;
	if (!link_info(fd, info) && info->type == BPF_LINK_TYPE_XDP &&
	    info->xdp.ifindex == (__u32)ifindex)
		return fd;
	close(fd);
	unlink(path);
	return -ENOENT;
}

/*
 * Attaching an interface that already carries our link replaces the program
 * in place (atomic, keeps the mode) when the mode asked for is auto or the
 * same; changing the mode needs a detach first. Closes fd.
 */
static int link_replace(int fd, const struct bpf_link_info *info, int prog_fd,
			const char *ifname, enum xb_mode mode, enum xb_mode *used)
{
	enum xb_mode cur = link_mode((int)info->xdp.ifindex, info->prog_id);
	int err;

	if (mode != XB_MODE_AUTO && cur != XB_MODE_AUTO && mode != cur) {
		pr_warn("xdpban: %s: already attached in %s mode; detach it first to change the mode\n",
			ifname, xb_mode_str(cur));
		close(fd);
		return -EEXIST;
	}
	err = bpf_link_update(fd, prog_fd, NULL);
	close(fd);
	if (err) {
		pr_warn("xdpban: %s: cannot replace the program: %s\n", ifname, strerror(-err));
		return err;
	}
	pr_info("%s: already attached (%s mode); program replaced\n", ifname, xb_mode_str(cur));
	if (used)
		*used = cur;
	return 0;
}

/* A new link in *mode; auto tries native first, then falls back to generic
 * (*mode: the one tried last). The link's fd, or a negative errno. */
static int link_create(int prog_fd, int ifindex, const char *ifname, enum xb_mode *mode)
{
	int fd;

	if (*mode == XB_MODE_AUTO) {
		fd = link_new(prog_fd, ifindex, XB_MODE_NATIVE);
		if (fd >= 0) {
			*mode = XB_MODE_NATIVE;
		} else if (fd != -EBUSY && fd != -EEXIST) {
			pr_info("%s: native XDP unavailable (%s), falling back to generic mode\n",
				ifname, strerror(-fd));
			*mode = XB_MODE_GENERIC;
			fd = link_new(prog_fd, ifindex, *mode);
		}
	} else {
		fd = link_new(prog_fd, ifindex, *mode);
	}
	if (fd >= 0)
		return fd;
	if (fd == -EBUSY || fd == -EEXIST)
		pr_warn("xdpban: %s: another XDP program is already attached\n", ifname);
	else if (fd == -EOPNOTSUPP || fd == -EINVAL)
		pr_warn("xdpban: %s: %s XDP not supported: %s\n", ifname, xb_mode_str(*mode),
			strerror(-fd));
	else
		pr_warn("xdpban: %s: cannot attach: %s\n", ifname, strerror(-fd));
	return fd == -EINVAL ? -EOPNOTSUPP : fd;
}

static int attach_locked(struct xb_dp *dp, const char *ifname, enum xb_mode mode,
			 enum xb_mode *used);

/* Under the writers' lock, which reloads tables grown by another process:
 * a link must never be pointed back at a program running replaced maps. */
int xb_dp_attach(struct xb_dp *dp, const char *ifname, enum xb_mode mode, enum xb_mode *used)
{
	int err;

	dp_lock(dp);
	err = attach_locked(dp, ifname, mode, used);
	dp_unlock(dp);
	return err;
}

static int attach_locked(struct xb_dp *dp, const char *ifname, enum xb_mode mode,
			 enum xb_mode *used)
{
	int prog_fd = bpf_program__fd(dp->skel->progs.xdpban);
	char path[PATH_MAX];
	struct bpf_link_info info;
	int ifindex, fd, err;

	if (link_path(dp, ifname, path, sizeof(path))) {
		pr_warn("xdpban: bad interface name '%s'\n", ifname ? ifname : "");
		return -EINVAL;
	}
	ifindex = if_nametoindex(ifname);
	if (!ifindex) {
		pr_warn("xdpban: %s: no such interface\n", ifname);
		return -ENODEV;
	}
	fd = link_pinned(path, ifindex, &info);
	if (fd >= 0)
		return link_replace(fd, &info, prog_fd, ifname, mode, used);
	fd = link_create(prog_fd, ifindex, ifname, &mode);
	if (fd < 0)
		return fd;
	/* The pin keeps the link (and so the program) alive after we exit. */
	err = bpf_obj_pin(fd, path);
	if (err) {
		pr_warn("xdpban: %s: cannot pin the link at %s: %s\n", ifname, path, strerror(-err));
		close(fd);      /* last reference: detaches */
		return err;
	}
	close(fd);
	if (used)
		*used = mode;
	return 0;
}

int xb_dp_detach(struct xb_dp *dp, const char *ifname)
{
	char path[PATH_MAX];
	int fd, err;

	if (link_path(dp, ifname, path, sizeof(path))) {
		pr_warn("xdpban: bad interface name '%s'\n", ifname ? ifname : "");
		return -EINVAL;
	}
	fd = bpf_obj_get(path);
	if (fd < 0) {
		if (fd == -ENOENT)
			pr_warn("xdpban: %s: not attached\n", ifname);
		else
			pr_warn("xdpban: %s: %s\n", path, strerror(-fd));
		return fd;
	}
	/* Detach now even if some other process still holds the link. */
	err = bpf_link_detach(fd);
	close(fd);
	if (err && err != -ENOLINK && err != -EINVAL)
		pr_warn("xdpban: %s: detach: %s\n", ifname, strerror(-err));
	if (unlink(path)) {
		err = -errno;
		pr_warn("xdpban: cannot remove %s: %s\n", path, strerror(-err));
		return err;
	}
	return 0;
}

int dp_links_walk(struct xb_dp *dp, dp_link_fn fn, void *ctx)
{
	size_t plen = strlen(XB_LINK_PREFIX);
	struct dirent *de;
	char path[PATH_MAX];
	DIR *d;
	int err = 0;

	d = opendir(dp->pin_dir);
	if (!d)
		return -errno;
	while (!err && (de = readdir(d))) {
		int fd;

		if (strncmp(de->d_name, XB_LINK_PREFIX, plen))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dp->pin_dir, de->d_name);
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		err = fn(fd, de->d_name, path, ctx);
		close(fd);
	}
	closedir(d);
	return err;
}

struct each_link {
	xb_link_cb cb;
	void *ctx;
};

static int each_link(int fd, const char *name, const char *path, void *ctx)
{
	struct each_link *e = ctx;
	struct bpf_link_info info;

	if (link_info(fd, &info) || info.type != BPF_LINK_TYPE_XDP)
		return 0;
	return e->cb(name + strlen(XB_LINK_PREFIX), (int)info.xdp.ifindex,
		     link_mode((int)info.xdp.ifindex, info.prog_id), e->ctx);
}

int xb_dp_foreach_link(struct xb_dp *dp, xb_link_cb cb, void *ctx)
{
	struct each_link e = { .cb = cb, .ctx = ctx };

	return dp_links_walk(dp, each_link, &e);
}
