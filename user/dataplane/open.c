// SPDX-License-Identifier: GPL-2.0
/*
 * Opening the data plane: the skeleton, its maps and the clock tick.
 *
 * Every process (CLI or daemon) loads the skeleton with each map's pin path
 * set, so libbpf reuses the pinned maps when they exist and creates and pins
 * them otherwise: bans live in bpffs, not in any process.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dataplane/internal.h"
#include "common/log.h"
#include "xdpban.skel.h"

/* A pinned map keeps the capacity it was created with: adopt it, or libbpf
 * would refuse to reuse the pin. */
static int adopt_pinned_size(struct bpf_map *map, const char *path)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd, err;

	fd = bpf_obj_get(path);
	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	close(fd);
	if (err)
		return err;
	return bpf_map__set_max_entries(map, info.max_entries);
}

/* *at_load: the failure (if any) came from the load itself, unreported. */
static int load_skel(struct xb_dp *dp, const char *dir, uint32_t bans, uint32_t pfx,
		     uint32_t allow, bool *at_load)
{
	char path[PATH_MAX];
	struct bpf_map *map;
	int err;

	*at_load = false;
	dp->skel = xdpban__open();
	if (!dp->skel) {
		err = -errno;
		pr_warn("xdpban: cannot open the BPF object: %s\n", strerror(-err));
		return err;
	}
	bpf_map__set_max_entries(dp->skel->maps.ban4, xb_tab_slots(bans));
	bpf_map__set_max_entries(dp->skel->maps.ban6, xb_tab_slots(bans));
	bpf_map__set_max_entries(dp->skel->maps.pfx4, pfx);
	bpf_map__set_max_entries(dp->skel->maps.pfx6, pfx);
	bpf_map__set_max_entries(dp->skel->maps.allow4, allow);
	bpf_map__set_max_entries(dp->skel->maps.allow6, allow);
	/* Reasons are optional extras: a hash's bucket array is allocated at
	 * creation even without prealloc, so do not size it for every ban of
	 * both families (a full meta map only loses the text, with a warning). */
	bpf_map__set_max_entries(dp->skel->maps.meta, bans);
	bpf_object__for_each_map(map, dp->skel->obj) {
		/* Only our own maps are shared state; compiler-made ones
		 * (.rodata, .bss) belong to each program instance. */
		if (bpf_map__is_internal(map))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(map));
		err = adopt_pinned_size(map, path);
		if (!err)
			err = bpf_map__set_pin_path(map, path);
		if (err) {
			pr_warn("xdpban: %s: %s\n", path, strerror(-err));
			return err;
		}
	}
	*at_load = true;
	return xdpban__load(dp->skel);
}

int xb_clock_arm(int clock_prog_fd)
{
	unsigned char frame[64] = {};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = sizeof(frame));
	int err;

	err = bpf_prog_test_run_opts(clock_prog_fd, &o);
	if (!err && o.retval != XDP_PASS)
		err = -EOPNOTSUPP;
	if (err)
		pr_debug("xdpban: data-plane clock tick not armed (%s): the program reads the clock itself\n",
			 strerror(-err));
	return err;
}

int xb_dp_open(const struct xb_dp_opts *opts, struct xb_dp **out)
{
	const char *dir = dp_pin_dir_pick(opts);
	uint32_t bans = XB_DEF_MAX_BANS, pfx = XB_DEF_MAX_PREFIX, allow = XB_DEF_MAX_ALLOW;
	struct xb_dp *dp;
	char path[PATH_MAX];
	bool at_load;
	int err;

	if (opts && opts->max_bans)
		bans = opts->max_bans;
	if (opts && opts->max_prefix)
		pfx = opts->max_prefix;
	if (opts && opts->max_allow)
		allow = opts->max_allow;
	if (strlen(dir) >= sizeof(dp->pin_dir)) {
		pr_warn("xdpban: pin directory name too long\n");
		return -ENAMETOOLONG;
	}
	if (opts && opts->no_create) {
		snprintf(path, sizeof(path), "%s/%s", dir, XB_MAP_BAN4);
		if (access(path, F_OK)) {
			err = -errno;
			if (err == -ENOENT)
				pr_warn("xdpban: nothing attached and no bans: no xdpban maps in %s\n", dir);
			else
				pr_warn("xdpban: %s: %s\n", path, strerror(-err));
			return err;
		}
	} else {
		err = dp_pin_dir_prepare(dir);
		if (err)
			return err;
	}

	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return -ENOMEM;
	dp->lock_fd = -1;
	snprintf(dp->pin_dir, sizeof(dp->pin_dir), "%s", dir);
	dp->ncpu = libbpf_num_possible_cpus();
	if (dp->ncpu <= 0) {
		err = dp->ncpu ? dp->ncpu : -EINVAL;
		goto fail;
	}
	/* Two processes creating the maps at once: the loser's pin fails with
	 * EEXIST; its second try reuses the winner's maps. */
	for (int attempt = 0;; attempt++) {
		err = load_skel(dp, dir, bans, pfx, allow, &at_load);
		if (err != -EEXIST || attempt)
			break;
		xdpban__destroy(dp->skel);
		dp->skel = NULL;
	}
	if (err) {
		if (at_load)
			pr_warn("xdpban: cannot load the XDP program and maps in %s: %s%s\n", dir,
				strerror(-err), err == -EINVAL ?
				" (pins of another layout, or a kernel too old?)" : "");
		goto fail;
	}
	dp->pfx4 = bpf_map__fd(dp->skel->maps.pfx4);
	dp->pfx6 = bpf_map__fd(dp->skel->maps.pfx6);
	dp->allow4 = bpf_map__fd(dp->skel->maps.allow4);
	dp->allow6 = bpf_map__fd(dp->skel->maps.allow6);
	dp->meta = bpf_map__fd(dp->skel->maps.meta);
	dp->stats = bpf_map__fd(dp->skel->maps.stats);
	dp->lock_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dp->lock_fd < 0) {
		err = -errno;
		pr_warn("xdpban: %s: %s\n", dir, strerror(-err));
		goto fail;
	}
	err = xb_ctl_map(bpf_map__fd(dp->skel->maps.ctl), &dp->ctl);
	if (!err)
		err = xb_tab_map(&dp->tab4, 4, bpf_map__fd(dp->skel->maps.ban4), dp->ctl);
	if (!err)
		err = xb_tab_map(&dp->tab6, 6, bpf_map__fd(dp->skel->maps.ban6), dp->ctl);
	if (err) {
		pr_warn("xdpban: cannot map the ban tables in %s: %s\n", dir, strerror(-err));
		goto fail;
	}
	dp->max_bans = dp->tab4.cap;
	dp->max_prefix = bpf_map__max_entries(dp->skel->maps.pfx4);
	xb_clock_arm(bpf_program__fd(dp->skel->progs.xdpban_clock));
	*out = dp;
	return 0;
fail:
	xb_dp_close(dp);
	return err;
}

void xb_dp_close(struct xb_dp *dp)
{
	if (!dp)
		return;
	xb_tab_unmap(&dp->tab4);
	xb_tab_unmap(&dp->tab6);
	xb_ctl_unmap(dp->ctl);
	if (dp->lock_fd >= 0)
		close(dp->lock_fd);
	xdpban__destroy(dp->skel);      /* unloads nothing pinned */
	free(dp);
}

const char *xb_dp_pin_dir(const struct xb_dp *dp)
{
	return dp->pin_dir;
}
