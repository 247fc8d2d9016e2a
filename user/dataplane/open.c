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

/* The capacities to create the maps with (pinned maps keep their own). */
struct caps {
	uint32_t bans, pfx, allow;
	bool bans_asked;        /* bans was given (opts->max_bans) */
	uint32_t init;          /* exact bans a new table holds before it grows */
};

static struct caps caps_of(const struct xb_dp_opts *opts)
{
	struct caps c = { XB_DEF_MAX_BANS, XB_DEF_MAX_PREFIX, XB_DEF_MAX_ALLOW, false, 0 };

	if (opts && opts->max_bans)
		c.bans = opts->max_bans, c.bans_asked = true;
	if (opts && opts->max_prefix)
		c.pfx = opts->max_prefix;
	if (opts && opts->max_allow)
		c.allow = opts->max_allow;
	/* Small first: the tables grow (grow.c) up to c.bans. */
	c.init = c.bans < XB_INIT_BANS ? c.bans : XB_INIT_BANS;
	return c;
}

static void size_maps(struct xdpban *skel, const struct caps *c)
{
	bpf_map__set_max_entries(skel->maps.ban4, xb_tab_buckets(c->init));
	bpf_map__set_max_entries(skel->maps.ban6, xb_tab_buckets(c->init));
	bpf_map__set_max_entries(skel->maps.pfx4, c->pfx);
	bpf_map__set_max_entries(skel->maps.pfx6, c->pfx);
	bpf_map__set_max_entries(skel->maps.allow4, c->allow);
	bpf_map__set_max_entries(skel->maps.allow6, c->allow);
	/* Reasons: a hash's bucket array is allocated at creation even without
	 * prealloc, so it is sized for the tables as they are, and grows with
	 * them (a full meta map only loses the text, with a warning). */
	bpf_map__set_max_entries(skel->maps.meta, 2 * c->init);
}

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

static int pin_maps(struct xdpban *skel, const char *dir)
{
	char path[PATH_MAX];
	struct bpf_map *map;
	int err;

	bpf_object__for_each_map(map, skel->obj) {
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
	return 0;
}

/*
 * Per-CPU ban counters (a cnt4/6 entry per slot) when slots x CPUs fit in
 * XB_CNT_PERCPU_MAX, else atomic adds on the slot (cnt4/6 of one entry).
 * Pinned counters keep the choice made at their creation; every program
 * instance follows it, so all count in one place.
 */
static int pick_counters(struct xdpban *skel, const char *dir, int ncpu)
{
	char path[PATH_MAX];
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	__u32 n4 = bpf_map__max_entries(skel->maps.ban4) * XB_BUCKET;
	__u32 n6 = bpf_map__max_entries(skel->maps.ban6) * XB_BUCKET;
	bool percpu = xb_tab_counters_fit(n4 > n6 ? n4 : n6, ncpu);
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, XB_MAP_CNT4);
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		int err = bpf_obj_get_info_by_fd(fd, &info, &len) ? -errno : 0;

		close(fd);
		if (err)
			return err;
		percpu = info.max_entries == n4 && n4 > 1;
	}
	bpf_map__set_max_entries(skel->maps.cnt4, percpu ? n4 : 1);
	bpf_map__set_max_entries(skel->maps.cnt6, percpu ? n6 : 1);
	skel->rodata->xb_cnt_percpu = percpu;
	return 0;
}

/* *at_load: the failure (if any) came from the load itself, unreported. */
static int load_skel(struct xb_dp *dp, const char *dir, const struct caps *c, bool *at_load)
{
	int err;

	*at_load = false;
	dp->skel = xdpban__open();
	if (!dp->skel) {
		err = -errno;
		pr_warn("xdpban: cannot open the BPF object: %s\n", strerror(-err));
		return err;
	}
	size_maps(dp->skel, c);
	err = pin_maps(dp->skel, dir);
	if (!err)
		err = pick_counters(dp->skel, dir, dp->ncpu);
	if (err)
		return err;
	*at_load = true;
	return xdpban__load(dp->skel);
}

static int load_maps(struct xb_dp *dp, const char *dir, const struct caps *c)
{
	bool at_load;
	int err;

	/* Two processes creating the maps at once: the loser's pin fails with
	 * EEXIST; its second try reuses the winner's maps. */
	for (int attempt = 0;; attempt++) {
		err = load_skel(dp, dir, c, &at_load);
		if (err != -EEXIST || attempt)
			break;
		xdpban__destroy(dp->skel);
		dp->skel = NULL;
	}
	if (err && at_load)
		pr_warn("xdpban: cannot load the XDP program and maps in %s: %s%s\n", dir,
			strerror(-err), err == -EINVAL ?
			" (pins of another layout, or a kernel too old?)" : "");
	return err;
}

/* The map fds and the mapped tables of dp->skel; init: the capacity of
 * tables made by this process (0: none). */
int dp_use_skel(struct xb_dp *dp, uint32_t init)
{
	int err;

	dp->pfx4 = bpf_map__fd(dp->skel->maps.pfx4);
	dp->pfx6 = bpf_map__fd(dp->skel->maps.pfx6);
	dp->allow4 = bpf_map__fd(dp->skel->maps.allow4);
	dp->allow6 = bpf_map__fd(dp->skel->maps.allow6);
	dp->meta = bpf_map__fd(dp->skel->maps.meta);
	dp->stats = bpf_map__fd(dp->skel->maps.stats);
	dp->grow = bpf_map__fd(dp->skel->maps.grow);
	dp->gen = dp_grow_state(dp).gen;
	err = xb_ctl_map(bpf_map__fd(dp->skel->maps.ctl), &dp->ctl);
	if (!err)
		err = xb_tab_map(&dp->tab4, 4, bpf_map__fd(dp->skel->maps.ban4), dp->ctl);
	if (!err)
		err = xb_tab_map(&dp->tab6, 6, bpf_map__fd(dp->skel->maps.ban6), dp->ctl);
	/* Made for init: hold that many, not the few more of whole buckets
	 * (tables made by someone else keep what they were made for). */
	if (!err && init && xb_tab_slots(init) == dp->tab4.nslots)
		err = xb_tab_set_cap(&dp->tab4, init);
	if (!err && init && xb_tab_slots(init) == dp->tab6.nslots)
		err = xb_tab_set_cap(&dp->tab6, init);
	if (!err && dp->skel->rodata->xb_cnt_percpu)
		err = xb_tab_use_counters(&dp->tab4, bpf_map__fd(dp->skel->maps.cnt4));
	if (!err && dp->skel->rodata->xb_cnt_percpu)
		err = xb_tab_use_counters(&dp->tab6, bpf_map__fd(dp->skel->maps.cnt6));
	if (err) {
		pr_warn("xdpban: cannot map the ban tables in %s: %s\n", dp->pin_dir,
			strerror(-err));
		return err;
	}
	dp->max_bans = dp_grow_state(dp).max_bans;
	dp->max_prefix = bpf_map__max_entries(dp->skel->maps.pfx4);
	return 0;
}

struct xb_grow dp_grow_state(const struct xb_dp *dp)
{
	struct xb_grow g = { 0 };
	__u32 zero = 0;

	if (bpf_map_lookup_elem(dp->grow, &zero, &g))
		memset(&g, 0, sizeof(g));
	return g;
}

/* Under the writers' lock. */
static int use_maps(struct xb_dp *dp, const struct caps *c)
{
	struct xb_grow g;
	__u32 zero = 0;
	int err;

	err = dp_use_skel(dp, c->init);
	if (err)
		return err;
	/* The ceiling of growth: chosen by whoever made the maps, or by
	 * whoever asks for one (never below what the tables hold already);
	 * pins from before growth have none yet: the default. */
	g = dp_grow_state(dp);
	if (!g.max_bans || c->bans_asked) {
		uint32_t held = dp->tab4.cap > dp->tab6.cap ? dp->tab4.cap : dp->tab6.cap;

		g.max_bans = c->bans > held ? c->bans : held;
		err = bpf_map_update_elem(dp->grow, &zero, &g, BPF_ANY);
		if (err) {
			pr_warn("xdpban: cannot set the ban ceiling: %s\n", strerror(-err));
			return err;
		}
	}
	dp->max_bans = g.max_bans;
	return 0;
}

void dp_release_skel(struct xb_dp *dp)
{
	xb_tab_unmap(&dp->tab4);
	xb_tab_unmap(&dp->tab6);
	xb_ctl_unmap(dp->ctl);
	dp->ctl = NULL;
	xdpban__destroy(dp->skel);      /* unloads nothing pinned */
	dp->skel = NULL;
}

/* Tables replaced by a growth in another process: load what is pinned now
 * (under the writers' lock, so no growth is half done). */
int dp_reload(struct xb_dp *dp)
{
	struct xb_dp tmp = { .lock_fd = -1, .ncpu = dp->ncpu };
	struct caps c = caps_of(NULL);
	int err;

	memcpy(tmp.pin_dir, dp->pin_dir, sizeof(tmp.pin_dir));
	err = load_maps(&tmp, dp->pin_dir, &c);
	if (!err)
		err = dp_use_skel(&tmp, 0);
	if (err) {
		dp_release_skel(&tmp);
		return err;
	}
	dp_adopt(dp, &tmp);
	xb_clock_arm(bpf_program__fd(dp->skel->progs.xdpban_clock));
	return 0;
}

void dp_adopt(struct xb_dp *dp, struct xb_dp *from)
{
	int lock_fd = dp->lock_fd, locked = dp->locked;

	dp_release_skel(dp);
	dp->skel = from->skel;
	dp->pfx4 = from->pfx4, dp->pfx6 = from->pfx6;
	dp->allow4 = from->allow4, dp->allow6 = from->allow6;
	dp->meta = from->meta, dp->stats = from->stats;
	dp->grow = from->grow, dp->gen = from->gen;
	dp->ctl = from->ctl;
	dp->tab4 = from->tab4, dp->tab6 = from->tab6;
	dp->max_bans = from->max_bans, dp->max_prefix = from->max_prefix;
	dp->lock_fd = lock_fd, dp->locked = locked;
	memset(from, 0, sizeof(*from));
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
	struct caps c = caps_of(opts);
	struct xb_dp *dp;
	int err;

	if (strlen(dir) >= sizeof(dp->pin_dir)) {
		pr_warn("xdpban: pin directory name too long\n");
		return -ENAMETOOLONG;
	}
	err = dp_pin_dir_ready(dir, opts && opts->no_create);
	if (err)
		return err;
	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return -ENOMEM;
	dp->lock_fd = -1;
	snprintf(dp->pin_dir, sizeof(dp->pin_dir), "%s", dir);
	dp->ncpu = libbpf_num_possible_cpus();
	if (dp->ncpu <= 0)
		err = dp->ncpu ? dp->ncpu : -EINVAL;
	if (!err) {
		dp->lock_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dp->lock_fd < 0) {
			err = -errno;
			pr_warn("xdpban: %s: %s\n", dir, strerror(-err));
		}
	}
	/* Under the writers' lock: a growth in another process replaces the
	 * pins one by one, and this one must not load half of them. */
	if (!err) {
		while (flock(dp->lock_fd, LOCK_EX) && errno == EINTR)
			;
		err = dp_grow_recover(dir);
		if (!err)
			err = load_maps(dp, dir, &c);
		if (!err)
			err = use_maps(dp, &c);
		if (!err)
			dp_heal_links(dp);
		flock(dp->lock_fd, LOCK_UN);
	}
	if (err) {
		xb_dp_close(dp);
		return err;
	}
	xb_clock_arm(bpf_program__fd(dp->skel->progs.xdpban_clock));
	*out = dp;
	return 0;
}

void xb_dp_close(struct xb_dp *dp)
{
	if (!dp)
		return;
	dp_release_skel(dp);
	if (dp->lock_fd >= 0)
		close(dp->lock_fd);
	free(dp);
}

const char *xb_dp_pin_dir(const struct xb_dp *dp)
{
	return dp->pin_dir;
}
