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
#include "xdpban.skel.h"

void dp_check_fresh(struct xb_dp *dp)
{
	int err = dp_reload(dp);

	if (err)
		pr_warn("xdpban: cannot reload the grown ban tables: %s\n", strerror(-err));
}

/* Every pinned link: point it at prog_fd. *done counts those updated. */
static int links_update(struct xb_dp *dp, int prog_fd, int old_fd, size_t *done)
{
	size_t plen = strlen(XB_LINK_PREFIX);
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dp->pin_dir);
	int err = 0;

	if (!d)
		return -errno;
	*done = 0;
	while (!err && (de = readdir(d))) {
		LIBBPF_OPTS(bpf_link_update_opts, o);
		int fd;

		if (strncmp(de->d_name, XB_LINK_PREFIX, plen))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dp->pin_dir, de->d_name);
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		/* Only links still running old_fd's program (undo: the reverse). */
		o.flags = BPF_F_REPLACE;
		o.old_prog_fd = old_fd;
		err = bpf_link_update(fd, prog_fd, &o);
		if (err == -EPERM)
			err = 0;        /* another program there: not ours to change */
		else if (!err)
			(*done)++;
		close(fd);
	}
	closedir(d);
	return err;
}

/* Wait until no program run that began before now is still going: XDP runs
 * inside an RCU read-side section, and MEMBARRIER_CMD_GLOBAL is
 * synchronize_rcu(). Without it (nohz_full), a margin far above any run. */
static void wait_old_runs(void)
{
	if (syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0))
		usleep(100000);
}

/* Pin the new map over the old one's name. */
static int repin(const char *dir, struct bpf_map *map)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	int err;

	snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(map));
	/* bpffs refuses dots in names. */
	snprintf(tmp, sizeof(tmp), "%s/grow_%s", dir, bpf_map__name(map));
	unlink(tmp);
	err = bpf_obj_pin(bpf_map__fd(map), tmp);
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		pr_warn("xdpban: %s: cannot pin the grown map: %s\n", path, strerror(-err));
	return err;
}

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
	struct xb_tab *old = family == 4 ? &dp->tab4 : &dp->tab6;
	struct xb_grow gs = dp_grow_state(dp);
	uint32_t ceiling = gs.max_bans ? gs.max_bans : XB_DEF_MAX_BANS;
	__u32 zero = 0;
	uint64_t want = (uint64_t)old->cap * XB_GROW_FACTOR;
	struct xb_dp n = { .lock_fd = -1, .ncpu = dp->ncpu };
	struct copied c4 = { 0 }, c6 = { 0 };
	uint32_t n4, n6;
	size_t done = 0, undone;
	int err, meta_fd;

	if (old->cap >= ceiling)
		return -ENOSPC;
	if (want > ceiling)
		want = ceiling;
	n4 = family == 4 ? (uint32_t)want : dp->tab4.cap;
	n6 = family == 6 ? (uint32_t)want : dp->tab6.cap;
	memcpy(n.pin_dir, dp->pin_dir, sizeof(n.pin_dir));
	n.skel = grown_skel(dp, n4, n6);
	if (!n.skel)
		return -errno;
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
	/* The swap: from here the new maps decide. */
	err = links_update(dp, bpf_program__fd(n.skel->progs.xdpban),
			   bpf_program__fd(dp->skel->progs.xdpban), &done);
	if (err) {
		pr_warn("xdpban: cannot switch a link to the grown tables: %s\n", strerror(-err));
		links_update(dp, bpf_program__fd(dp->skel->progs.xdpban),
			     bpf_program__fd(n.skel->progs.xdpban), &undone);
		goto fail;
	}
	wait_old_runs();
	tab_carry(&dp->tab4, &n.tab4, &c4);
	tab_carry(&dp->tab6, &n.tab6, &c6);
	err = repin(dp->pin_dir, n.skel->maps.ban4);
	err = err ?: repin(dp->pin_dir, n.skel->maps.ban6);
	err = err ?: repin(dp->pin_dir, n.skel->maps.cnt4);
	err = err ?: repin(dp->pin_dir, n.skel->maps.cnt6);
	err = err ?: repin(dp->pin_dir, n.skel->maps.meta);
	err = err ?: repin(dp->pin_dir, n.skel->maps.ctl);
	/* Even half re-pinned, the links run the new maps: keep them (processes
	 * opening the old pins then miss this growth: said loudly). */
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
	return 0;
fail:
	xb_tab_snap_free(&c4.s);
	xb_tab_snap_free(&c6.s);
	dp_release_skel(&n);
	return err;
}
