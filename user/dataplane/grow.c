// SPDX-License-Identifier: GPL-2.0
/*
 * Growing the exact-ban tables online ("memory follows the bans").
 *
 * A table starts small (XB_INIT_BANS) and, when full, is replaced, under the
 * writers' lock, by new maps XB_GROW_FACTOR times as big (at most the
 * ceiling, the grow map's max_bans): new ban4/6, cnt4/6, meta and ctl, the tries,
 * stats and clock reused. Every ban is copied with its end and its counts
 * into the new maps, a new program instance using them replaces the old one
 * on every pinned link (bpf_link_update, atomic), and the new maps are
 * pinned over the old (rename: atomic for an opener). Until the swap the old
 * program drops with the old maps; after it the new maps hold every ban: no
 * banned frame passes. What the old program counted between the copy and the
 * swap is added after it (a second pass, once no old program runs). The grow
 * map's gen then counts one more: a process holding the old maps reloads at
 * its next lock (dp_lock).
 */
#include <errno.h>
#include <dirent.h>
#include <limits.h>
#include <linux/membarrier.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dataplane/internal.h"
#include "common/log.h"
#include "common/util.h"
#include "xdpban.skel.h"

/* Under the lock: tables grown by another process, or a growth cut short. */
void dp_check_fresh(struct xb_dp *dp)
{
	int err = dp_grow_cut_short(dp) ? dp_grow_recover(dp->pin_dir) : 0;

	err = err ?: dp_reload(dp);
	if (!err)
		dp_heal_links(dp);
	if (err)
		pr_warn("xdpban: cannot reload the grown ban tables: %s\n", strerror(-err));
}

/* The ids of the maps prog_fd's program uses; its count, or -errno. */
static int prog_map_ids(int prog_fd, __u32 *ids, __u32 max)
{
	struct bpf_prog_info info = { .nr_map_ids = max, .map_ids = (__u64)(unsigned long)ids };
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return -errno;
	return (int)(info.nr_map_ids < max ? info.nr_map_ids : max);
}

static __u32 map_id(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

static bool has_id(const __u32 *ids, int n, __u32 id)
{
	for (int i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

static bool uses_map(int prog_fd, __u32 id)
{
	__u32 ids[64];
	int n = prog_map_ids(prog_fd, ids, 64);

	return n > 0 && has_id(ids, n, id);
}

/* A link switched by links_update, and the program it ran before. */
struct switched {
	char name[NAME_MAX + 1];
	int old_prog;
};

/*
 * Every pinned link running one of our programs (any process's instance:
 * the daemon's, a CLI's; it counts in our stats map): point it at prog_fd,
 * atomically against its current program. sw (room for max) records them,
 * *done their number, for links_undo.
 */
struct update {
	int prog_fd;
	__u32 stats;
	struct switched *sw;
	size_t max, *done;
};

static int update_one(int fd, const char *name, const char *path, void *ctx)
{
	LIBBPF_OPTS(bpf_link_update_opts, o, .flags = BPF_F_REPLACE);
	struct update *u = ctx;
	struct bpf_link_info li = {};
	__u32 len = sizeof(li);
	int pfd, err;

	(void)path;
	pfd = bpf_obj_get_info_by_fd(fd, &li, &len) ? -1 : bpf_prog_get_fd_by_id(li.prog_id);
	if (pfd < 0 || !uses_map(pfd, u->stats)) {
		if (pfd >= 0)
			close(pfd);     /* not ours to change */
		return 0;
	}
	if (*u->done == u->max) {
		err = -E2BIG;
	} else {
		o.old_prog_fd = pfd;
		err = bpf_link_update(fd, u->prog_fd, &o);
	}
	if (err) {
		close(pfd);
		return err;
	}
	snprintf(u->sw[*u->done].name, sizeof(u->sw[*u->done].name), "%s", name);
	u->sw[(*u->done)++].old_prog = pfd;
	return 0;
}

static int links_update(struct xb_dp *dp, int prog_fd, struct switched *sw, size_t max,
			size_t *done)
{
	struct update u = { .prog_fd = prog_fd, .stats = map_id(dp->stats), .sw = sw,
			    .max = max, .done = done };

	*done = 0;
	return dp_links_walk(dp, update_one, &u);
}

/* Put back the programs links_update replaced (undo true), or just let go
 * of them. */
static void links_done(struct xb_dp *dp, int prog_fd, struct switched *sw, size_t n, bool undo)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < n; i++) {
		LIBBPF_OPTS(bpf_link_update_opts, o, .flags = BPF_F_REPLACE, .old_prog_fd = prog_fd);
		int fd;

		snprintf(path, sizeof(path), "%s/%s", dp->pin_dir, sw[i].name);
		fd = undo ? bpf_obj_get(path) : -1;
		if (fd >= 0) {
			bpf_link_update(fd, sw[i].old_prog, &o);
			close(fd);
		}
		close(sw[i].old_prog);
	}
}

/* Wait until no program run that began before now is still going: XDP runs
 * inside an RCU read-side section, and MEMBARRIER_CMD_GLOBAL is
 * synchronize_rcu(). Without it (nohz_full), a margin far above any run. */
static void wait_old_runs(void)
{
	if (syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0))
		usleep(100000);
}

/*
 * The grown maps are pinned in two steps, so a crash at any point leaves a
 * set that opens: first each as grow_<name> (staged; ctl last, so grow_ctl
 * means all are), then, once the links run them, each renamed over its
 * name (ctl last again). An opener (dp_grow_recover, under the lock) that
 * finds grow_ctl finishes the renames; staged pins without it are dropped.
 * Either way xb_dp_open then points any link still running replaced maps
 * at its own program (dp_heal_links).
 */
static const char *const grown_maps[] = {
	XB_MAP_BAN4, XB_MAP_BAN6, XB_MAP_CNT4, XB_MAP_CNT6, XB_MAP_META, XB_MAP_CTL,
};
#define NGROWN (sizeof(grown_maps) / sizeof(grown_maps[0]))

/* Tests: stop (_exit) at this step of a growth, as a crash would (0: never). */
int dp_grow_crash_at;

static void crash_point(int step)
{
	if (dp_grow_crash_at == step)
		_exit(86);
}

/* bpffs refuses dots in names: the staged name is grow_<name>. */
static void staged_path(const char *dir, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/grow_%s", dir, name);
}

static void unstage(const char *dir)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < NGROWN; i++) {
		staged_path(dir, grown_maps[i], path, sizeof(path));
		unlink(path);
	}
}

static int stage(const char *dir, struct xdpban *s)
{
	struct bpf_map *maps[NGROWN] = { s->maps.ban4, s->maps.ban6, s->maps.cnt4,
					 s->maps.cnt6, s->maps.meta, s->maps.ctl };
	char path[PATH_MAX];
	int err = 0;

	unstage(dir);
	for (size_t i = 0; !err && i < NGROWN; i++) {
		staged_path(dir, grown_maps[i], path, sizeof(path));
		err = bpf_obj_pin(bpf_map__fd(maps[i]), path);
		if (err)
			pr_warn("xdpban: %s: cannot pin the grown map: %s\n", path, strerror(-err));
		crash_point(1);
	}
	if (err)
		unstage(dir);
	return err;
}

/* Rename every staged pin over its name, ctl last. */
static int unstage_over(const char *dir)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	int err = 0;

	for (size_t i = 0; i < NGROWN; i++) {
		staged_path(dir, grown_maps[i], tmp, sizeof(tmp));
		snprintf(path, sizeof(path), "%s/%s", dir, grown_maps[i]);
		if (rename(tmp, path) && errno != ENOENT && !err) {
			err = -errno;
			pr_warn("xdpban: %s: cannot pin the grown map: %s\n", path, strerror(-err));
		}
		crash_point(3);
	}
	return err;
}

int dp_grow_recover(const char *dir)
{
	struct xb_grow g;
	char path[PATH_MAX];
	__u32 zero = 0;
	int err, fd;

	staged_path(dir, XB_MAP_CTL, path, sizeof(path));
	if (access(path, F_OK)) {
		unstage(dir);   /* an unfinished staging: the links never ran it */
		return 0;
	}
	pr_warn("xdpban: %s: finishing a growth cut short\n", dir);
	err = unstage_over(dir);
	/* Processes holding the replaced tables reload at their next lock. */
	snprintf(path, sizeof(path), "%s/%s", dir, XB_MAP_GROW);
	fd = bpf_obj_get(path);
	if (fd >= 0 && !bpf_map_lookup_elem(fd, &zero, &g)) {
		g.gen++;
		bpf_map_update_elem(fd, &zero, &g, BPF_ANY);
	}
	if (fd >= 0)
		close(fd);
	return err;
}

bool dp_grow_cut_short(const struct xb_dp *dp)
{
	char path[PATH_MAX];

	staged_path(dp->pin_dir, XB_MAP_CTL, path, sizeof(path));
	return !access(path, F_OK);
}

struct heal {
	struct xb_dp *dp;
	__u32 stats, ban4, ban6;
	int healed;
};

static int heal_one(int fd, const char *name, const char *path, void *ctx)
{
	LIBBPF_OPTS(bpf_link_update_opts, o, .flags = BPF_F_REPLACE);
	struct heal *h = ctx;
	struct bpf_link_info li = {};
	__u32 len = sizeof(li), ids[64];
	int pfd, n;

	(void)name;
	pfd = bpf_obj_get_info_by_fd(fd, &li, &len) ? -1 : bpf_prog_get_fd_by_id(li.prog_id);
	n = pfd < 0 ? -1 : prog_map_ids(pfd, ids, 64);
	/* Ours (it counts in our stats) but on replaced tables. */
	if (n > 0 && has_id(ids, n, h->stats) &&
	    !(has_id(ids, n, h->ban4) && has_id(ids, n, h->ban6))) {
		o.old_prog_fd = pfd;
		if (!bpf_link_update(fd, bpf_program__fd(h->dp->skel->progs.xdpban), &o)) {
			pr_warn("xdpban: %s ran replaced ban tables: switched to the pinned ones\n",
				path);
			h->healed++;
		}
	}
	if (pfd >= 0)
		close(pfd);
	return 0;
}

int dp_heal_links(struct xb_dp *dp)
{
	struct heal h = {
		.dp = dp, .stats = map_id(dp->stats),
		.ban4 = map_id(bpf_map__fd(dp->skel->maps.ban4)),
		.ban6 = map_id(bpf_map__fd(dp->skel->maps.ban6)),
	};
	int err = dp_links_walk(dp, heal_one, &h);

	return err ? err : h.healed;
}

/*
 * Upgrading in place: a pinned link running one of our programs (it counts
 * in our stats) whose code is not this binary's (another program tag: an
 * earlier or later xdpban) is pointed at our instance, which runs on the
 * same pinned maps: atomic (bpf_link_update against the program it runs),
 * so no frame meets no program, and bans and counters stay where they are.
 */
struct upgrade {
	int prog_fd;
	__u32 stats;
	__u8 tag[BPF_TAG_SIZE];
	int done;
};

static int upgrade_one(int fd, const char *name, const char *path, void *ctx)
{
	LIBBPF_OPTS(bpf_link_update_opts, o, .flags = BPF_F_REPLACE);
	struct upgrade *u = ctx;
	struct bpf_link_info li = {};
	struct bpf_prog_info pi = {};
	__u32 len = sizeof(li), plen = sizeof(pi);
	int pfd, err = 0;

	(void)path;
	pfd = bpf_obj_get_info_by_fd(fd, &li, &len) ? -1 : bpf_prog_get_fd_by_id(li.prog_id);
	if (pfd < 0)
		return 0;
	if (uses_map(pfd, u->stats) && !bpf_obj_get_info_by_fd(pfd, &pi, &plen) &&
	    memcmp(pi.tag, u->tag, BPF_TAG_SIZE)) {
		o.old_prog_fd = pfd;
		err = bpf_link_update(fd, u->prog_fd, &o);
		if (err)
			pr_warn("xdpban: %s: cannot upgrade the program in place: %s\n",
				name + strlen(XB_LINK_PREFIX), strerror(-err));
		else
			pr_info("%s: program of another xdpban build (id %u) upgraded in place\n",
				name + strlen(XB_LINK_PREFIX), li.prog_id);
		u->done += !err;
	}
	close(pfd);
	return 0;
}

int xb_dp_upgrade_links(struct xb_dp *dp)
{
	struct upgrade u = { 0 };
	struct bpf_prog_info pi = {};
	__u32 len = sizeof(pi);
	int err;

	dp_lock(dp);
	u.stats = map_id(dp->stats);
	u.prog_fd = bpf_program__fd(dp->skel->progs.xdpban);
	err = bpf_obj_get_info_by_fd(u.prog_fd, &pi, &len);
	if (!err) {
		memcpy(u.tag, pi.tag, BPF_TAG_SIZE);
		err = dp_links_walk(dp, upgrade_one, &u);
	}
	dp_unlock(dp);
	return err ? err : u.done;
}

#define MAX_LINKS 256       /* interfaces a growth switches at most */

struct copied {
	struct xb_tab_snap s;   /* the bans as copied, with their counts then */
};

/* Copy every ban of from into to (an empty table), counts included. */
static int tab_copy(const struct xb_tab *from, struct xb_tab *to, struct copied *c)
{
	size_t ksz = from->family == 4 ? sizeof(__u32) : sizeof(struct xb_in6);
	int err = xb_tab_snapshot(from, false, &c->s);

	for (size_t i = 0; !err && i < c->s.n; i++) {
		const void *key = c->s.keys + i * ksz;
		struct xb_ban *b;

		err = xb_tab_put(to, key, &c->s.bans[i], NULL);
		if (err)
			break;
		b = xb_tab_find(to, key);
		b->packets = c->s.bans[i].packets;
		b->bytes = c->s.bans[i].bytes;
	}
	return err;
}

/* After the swap: what the old program counted since the copy. */
static void tab_carry(const struct xb_tab *from, struct xb_tab *to, const struct copied *c)
{
	size_t ksz = from->family == 4 ? sizeof(__u32) : sizeof(struct xb_in6);

	for (size_t i = 0; i < c->s.n; i++) {
		const void *key = c->s.keys + i * ksz;
		struct xb_ban now, *b;

		if (xb_tab_get(from, key, &now) || !(b = xb_tab_find(to, key)))
			continue;
		__atomic_fetch_add(&b->packets, now.packets - c->s.bans[i].packets,
				   __ATOMIC_RELAXED);
		__atomic_fetch_add(&b->bytes, now.bytes - c->s.bans[i].bytes, __ATOMIC_RELAXED);
	}
}

static int meta_copy_one(struct xb_dp *dp, int family, const void *key, const void *val,
			 void *ctx)
{
	bpf_map_update_elem(*(int *)ctx, key, val, BPF_ANY);
	return 0;
}

/* The new skeleton: the grown family's table wants bans, the other keeps
 * its capacity; tries, stats and clock are the old ones. */
static struct xdpban *grown_skel(struct xb_dp *dp, uint32_t n4, uint32_t n6)
{
	struct xdpban *o = dp->skel, *s = xdpban__open();
	__u32 s4 = xb_tab_slots(n4), s6 = xb_tab_slots(n6);
	bool percpu = xb_tab_counters_fit(s4 > s6 ? s4 : s6, dp->ncpu);
	int err;

	if (!s)
		return NULL;
	bpf_map__set_max_entries(s->maps.ban4, xb_tab_buckets(n4));
	bpf_map__set_max_entries(s->maps.ban6, xb_tab_buckets(n6));
	bpf_map__set_max_entries(s->maps.cnt4, percpu ? s4 : 1);
	bpf_map__set_max_entries(s->maps.cnt6, percpu ? s6 : 1);
	bpf_map__set_max_entries(s->maps.meta, n4 + n6);
	s->rodata->xb_cnt_percpu = percpu;
	err = bpf_map__reuse_fd(s->maps.pfx4, bpf_map__fd(o->maps.pfx4));
	err = err ?: bpf_map__reuse_fd(s->maps.pfx6, bpf_map__fd(o->maps.pfx6));
	err = err ?: bpf_map__reuse_fd(s->maps.allow4, bpf_map__fd(o->maps.allow4));
	err = err ?: bpf_map__reuse_fd(s->maps.allow6, bpf_map__fd(o->maps.allow6));
	err = err ?: bpf_map__reuse_fd(s->maps.stats, bpf_map__fd(o->maps.stats));
	err = err ?: bpf_map__reuse_fd(s->maps.clock, bpf_map__fd(o->maps.clock));
	err = err ?: bpf_map__reuse_fd(s->maps.grow, bpf_map__fd(o->maps.grow));
	err = err ?: xdpban__load(s);
	if (err) {
		pr_warn("xdpban: cannot load the program for grown tables: %s\n", strerror(-err));
		xdpban__destroy(s);
		errno = -err;
		return NULL;
	}
	return s;
}

int dp_grow(struct xb_dp *dp, int family)
{
	return dp_grow_to(dp, family, 0);
}

int dp_grow_to(struct xb_dp *dp, int family, uint32_t need)
{
	struct xb_tab *old = family == 4 ? &dp->tab4 : &dp->tab6;
	struct xb_grow gs = dp_grow_state(dp);
	uint32_t ceiling = gs.max_bans ? gs.max_bans : XB_DEF_MAX_BANS;
	__u32 zero = 0;
	uint64_t want = (uint64_t)old->cap * XB_GROW_FACTOR;
	struct xb_dp n = { .lock_fd = -1, .ncpu = dp->ncpu };
	struct copied c4 = { 0 }, c6 = { 0 };
	uint32_t n4, n6;
	struct switched *sw;
	size_t done = 0;
	int err, meta_fd;
	struct dp_grow_times t = { 0 };
	uint64_t t0 = xb_now_mono_ns(), tn;

	if (old->cap >= ceiling)
		return -ENOSPC;
	if (want < need)
		want = need;
	if (want > ceiling)
		want = ceiling;
	n4 = family == 4 ? (uint32_t)want : dp->tab4.cap;
	n6 = family == 6 ? (uint32_t)want : dp->tab6.cap;
	sw = calloc(MAX_LINKS, sizeof(*sw));
	if (!sw)
		return -ENOMEM;
	memcpy(n.pin_dir, dp->pin_dir, sizeof(n.pin_dir));
	n.skel = grown_skel(dp, n4, n6);
	if (!n.skel) {
		err = -errno;
		free(sw);
		return err;
	}
	t.load = (tn = xb_now_mono_ns()) - t0;       /* the new instance, verifier included */
	err = dp_use_skel(&n, 0);
	err = err ?: xb_tab_set_cap(&n.tab4, n4);
	err = err ?: xb_tab_set_cap(&n.tab6, n6);
	if (err)
		goto fail;
	n.ctl->flags = dp->ctl->flags;
	n.max_bans = ceiling;
	err = tab_copy(&dp->tab4, &n.tab4, &c4);
	err = err ?: tab_copy(&dp->tab6, &n.tab6, &c6);
	meta_fd = n.meta;
	if (!err && !map_empty(dp->meta))
		err = dp_walk_hash(dp, dp->meta, 0, sizeof(struct xb_meta_key),
				   sizeof(struct xb_meta), meta_copy_one, &meta_fd);
	if (err)
		goto fail;
	err = stage(dp->pin_dir, n.skel);
	if (err)
		goto fail;
	t.copy = xb_now_mono_ns() - tn;
	tn = xb_now_mono_ns();
	crash_point(2);
	/* The swap: from here the new maps decide. */
	err = links_update(dp, bpf_program__fd(n.skel->progs.xdpban), sw, MAX_LINKS, &done);
	if (err) {
		pr_warn("xdpban: cannot switch a link to the grown tables: %s\n", strerror(-err));
		links_done(dp, bpf_program__fd(n.skel->progs.xdpban), sw, done, true);
		unstage(dp->pin_dir);
		goto fail;
	}
	links_done(dp, -1, sw, done, false);
	t.swap = xb_now_mono_ns() - tn;
	tn = xb_now_mono_ns();
	wait_old_runs();
	t.wait = xb_now_mono_ns() - tn;
	tn = xb_now_mono_ns();
	tab_carry(&dp->tab4, &n.tab4, &c4);
	tab_carry(&dp->tab6, &n.tab6, &c6);
	crash_point(4);
	err = unstage_over(dp->pin_dir);
	/* Even half re-pinned, the links run the new maps: keep them (the next
	 * open finishes the renames: dp_grow_recover). */
	if (err)
		pr_warn("xdpban: grown tables in use but not all pinned in %s: restart the "
			"other xdpban processes\n", dp->pin_dir);
	/* Tell the processes holding the old tables (they reload at their lock). */
	gs.max_bans = ceiling;
	gs.gen++;
	if (bpf_map_update_elem(n.grow, &zero, &gs, BPF_ANY))
		pr_warn("xdpban: cannot count the growth: other xdpban processes keep the old tables\n");
	n.gen = gs.gen;
	pr_info("xdpban: IPv%d ban table grown to %u bans (%zu links switched)\n", family,
		(unsigned)want, done);
	xb_tab_snap_free(&c4.s);
	xb_tab_snap_free(&c6.s);
	dp_adopt(dp, &n);
	xb_clock_arm(bpf_program__fd(dp->skel->progs.xdpban_clock));
	free(sw);
	t.finish = xb_now_mono_ns() - tn;
	t.total = xb_now_mono_ns() - t0;
	dp->grow_times = t;
	return 0;
fail:
	free(sw);
	xb_tab_snap_free(&c4.s);
	xb_tab_snap_free(&c6.s);
	dp_release_skel(&n);
	return err;
}

uint32_t xb_dp_max_bans(struct xb_dp *dp)
{
	uint32_t m;

	dp_lock(dp);
	m = dp_grow_state(dp).max_bans;
	dp_unlock(dp);
	return m ? m : XB_DEF_MAX_BANS;
}

int xb_dp_set_max_bans(struct xb_dp *dp, uint32_t max, bool check_only, uint32_t *held)
{
	struct xb_grow g;
	__u32 zero = 0;
	int err = 0;

	if (!max)
		max = XB_DEF_MAX_BANS;
	if (max > XB_MAX_MAX_BANS)
		return -EINVAL;
	dp_lock(dp);            /* reloads tables another process has grown */
	*held = dp->tab4.cap > dp->tab6.cap ? dp->tab4.cap : dp->tab6.cap;
	/* A table does not shrink: a ceiling below it would be a lie. */
	if (max < *held)
		err = -ERANGE;
	if (!err && !check_only) {
		g = dp_grow_state(dp);
		g.max_bans = max;
		err = bpf_map_update_elem(dp->grow, &zero, &g, BPF_ANY);
		if (!err)
			dp->max_bans = max;
	}
	dp_unlock(dp);
	return err;
}
