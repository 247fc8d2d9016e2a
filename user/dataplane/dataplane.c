// SPDX-License-Identifier: GPL-2.0
/*
 * actions: the pinned BPF maps and XDP links behind the xb_dp_* API.
 *
 * Every process (CLI or daemon) loads the skeleton with each map's pin path
 * set, so libbpf reuses the pinned maps when they exist and creates and pins
 * them otherwise: bans live in bpffs, not in any process.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dataplane/dataplane.h"
#include "dataplane/bantab.h"
#include "common/log.h"
#include "common/util.h"
#include "xdpban.skel.h"

#define BATCH_CHUNK 8192        /* elements per batched syscall */

struct xb_dp {
	struct xdpban *skel;
	char pin_dir[PATH_MAX - 512];  /* room for "/<name>" in PATH_MAX */
	int pfx4, pfx6, allow4, allow6, meta, stats;
	struct xb_ctl *ctl;             /* mmap of the ctl map */
	struct xb_tab tab4, tab6;       /* the exact-ban tables, mmapped */
	int lock_fd;                    /* the pin directory: flock serialises writers */
	int locked;                     /* nesting depth of dp_lock */
	uint32_t max_bans, max_prefix;
	int ncpu;
};

/*
 * Writers (CLI and daemon, any number of processes) take an exclusive flock
 * on the pin directory around every change: the tables and ctl are written
 * through shared mappings, with no kernel call to serialise them.
 */
static void dp_lock(struct xb_dp *dp)
{
	if (dp->locked++ == 0)
		while (flock(dp->lock_fd, LOCK_EX) && errno == EINTR)
			;
}

static void dp_unlock(struct xb_dp *dp)
{
	if (--dp->locked == 0)
		flock(dp->lock_fd, LOCK_UN);
}

/* --- pin directory -------------------------------------------------------- */

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

static const char *pick_pin_dir(const struct xb_dp_opts *opts)
{
	const char *env = getenv(XB_PIN_DIR_ENV);

	if (opts && opts->pin_dir && *opts->pin_dir)
		return opts->pin_dir;
	if (env && *env)
		return env;
	return XB_PIN_DIR_DEFAULT;
}

/* --- open / close --------------------------------------------------------- */

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
	const char *dir = pick_pin_dir(opts);
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
		err = prepare_pin_dir(dir);
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

/* --- keys ----------------------------------------------------------------- */

/* A key of any trie (the exact bans are in tables: see tab_of). */
union xb_key {
	struct xb_lpm4 l4;
	struct xb_lpm6 l6;
};

static bool addr_valid(const struct xb_addr *a)
{
	return a && ((a->family == 4 && a->prefixlen <= 32) ||
		     (a->family == 6 && a->prefixlen <= 128));
}

static void lpm_key(const struct xb_addr *a, union xb_key *k)
{
	memset(k, 0, sizeof(*k));
	if (a->family == 4) {
		k->l4.prefixlen = a->prefixlen;
		memcpy(&k->l4.addr, a->bytes, 4);
	} else {
		k->l6.prefixlen = a->prefixlen;
		memcpy(k->l6.addr, a->bytes, 16);
	}
}

/* For a prefix, its trie and key; for a single address fd is -1 (its ban
 * lives in tab_of(dp, a)). false: bad address. */
static bool ban_slot(const struct xb_dp *dp, const struct xb_addr *a, int *fd,
		     union xb_key *k, bool *prefix)
{
	if (!addr_valid(a))
		return false;
	*prefix = !xb_addr_is_single(a);
	lpm_key(a, k);
	*fd = !*prefix ? -1 : a->family == 4 ? dp->pfx4 : dp->pfx6;
	return true;
}

static void meta_key(const struct xb_addr *a, struct xb_meta_key *k)
{
	memset(k, 0, sizeof(*k));
	k->family = a->family;
	k->prefixlen = a->prefixlen;
	memcpy(k->addr, a->bytes, a->family == 4 ? 4 : 16);
}

static void addr_from(struct xb_addr *a, int family, unsigned plen, const void *bytes)
{
	memset(a, 0, sizeof(*a));
	a->family = family;
	a->prefixlen = plen;
	memcpy(a->bytes, bytes, family == 4 ? 4 : 16);
}

static bool map_empty(int fd)
{
	union xb_key k;

	return bpf_map_get_next_key(fd, NULL, &k) != 0;
}

/* The exact table of a single address's family. */
static struct xb_tab *tab_of(struct xb_dp *dp, const struct xb_addr *a)
{
	return a->family == 4 ? &dp->tab4 : &dp->tab6;
}

/* Keep the fast path at one table probe: the program consults a prefix or
 * allow trie only while its flag is set. Called, under the writers' lock,
 * after every change to them. */
static void ctl_refresh(struct xb_dp *dp)
{
	__u32 flags = 0;

	if (!map_empty(dp->pfx4))
		flags |= XB_CTL_PFX4;
	if (!map_empty(dp->pfx6))
		flags |= XB_CTL_PFX6;
	if (!map_empty(dp->allow4))
		flags |= XB_CTL_ALLOW4;
	if (!map_empty(dp->allow6))
		flags |= XB_CTL_ALLOW6;
	__atomic_store_n(&dp->ctl->flags, flags, __ATOMIC_RELEASE);
}

static void ctl_refresh_locked(struct xb_dp *dp)
{
	dp_lock(dp);
	ctl_refresh(dp);
	dp_unlock(dp);
}

/* Is the whole of a covered by one allow-list entry? */
static bool is_allowed(struct xb_dp *dp, const struct xb_addr *a)
{
	int fd = a->family == 4 ? dp->allow4 : dp->allow6;
	struct xb_allow v;
	union xb_key k;

	lpm_key(a, &k);
	return !bpf_map_lookup_elem(fd, &k, &v);
}

static int full_error(struct xb_dp *dp, bool prefix, int err)
{
	if (err == -E2BIG || err == -ENOSPC) {
		pr_warn("xdpban: %s map full (%u entries)\n", prefix ? "prefix ban" : "ban",
			prefix ? dp->max_prefix : dp->max_bans);
		return -ENOSPC;
	}
	return err;
}

/* --- bans ----------------------------------------------------------------- */

static int meta_set(struct xb_dp *dp, const struct xb_addr *a, const char *reason)
{
	struct xb_meta_key mk;
	struct xb_meta m = {};
	int err;

	meta_key(a, &mk);
	m.created = (__u64)xb_now_wall();
	snprintf(m.reason, sizeof(m.reason), "%s", reason);
	err = bpf_map_update_elem(dp->meta, &mk, &m, BPF_ANY);
	if (err)
		pr_warn("xdpban: reason not stored: %s\n",
			err == -E2BIG ? "reason map full" : strerror(-err));
	return err;
}

static void meta_del(struct xb_dp *dp, const struct xb_addr *a)
{
	struct xb_meta_key mk;

	meta_key(a, &mk);
	bpf_map_delete_elem(dp->meta, &mk);
}

/* A prefix ban: insert, or re-arm keeping the counters the program has
 * accumulated (those landing between our read and write are lost). */
static int ban_pfx(int fd, const union xb_key *k, const struct xb_ban *v, bool *created)
{
	struct xb_ban old, nv = *v;
	int err;

	for (int tries = 0; tries < 3; tries++) {
		err = bpf_map_update_elem(fd, k, &nv, BPF_NOEXIST);
		if (err != -EEXIST) {
			*created = true;
			return err;
		}
		if (bpf_map_lookup_elem(fd, k, &old))
			continue;       /* removed meanwhile: insert */
		nv.packets = old.packets;
		nv.bytes = old.bytes;
		err = bpf_map_update_elem(fd, k, &nv, BPF_EXIST);
		if (err == -ENOENT)
			continue;
		*created = false;
		return err;
	}
	return -EAGAIN;
}

/* An exact ban, under the lock. A full table first gives up its expired
 * bans (never a live one) and tries again. */
static int ban_exact(struct xb_dp *dp, const struct xb_addr *a, const struct xb_ban *v,
		     bool *created)
{
	struct xb_tab *t = tab_of(dp, a);
	int err = xb_tab_put(t, a->bytes, v, created);

	if (err == -ENOSPC && xb_tab_sweep(t, xb_now_mono_ns()))
		err = xb_tab_put(t, a->bytes, v, created);
	return err;
}

static void ban_value(const struct xb_ban_req *req, struct xb_ban *v)
{
	memset(v, 0, sizeof(*v));
	v->expires = req->expires;
	v->rule = req->rule;
	v->offence = req->offence;
	v->flags = req->flags;
}

int xb_dp_ban(struct xb_dp *dp, const struct xb_addr *a, const struct xb_ban_req *req)
{
	struct xb_ban v;
	union xb_key k;
	bool prefix, created;
	int fd, err;

	if (!req || !ban_slot(dp, a, &fd, &k, &prefix))
		return -EINVAL;
	if (is_allowed(dp, a))
		return -EPERM;
	ban_value(req, &v);
	dp_lock(dp);
	err = prefix ? ban_pfx(fd, &k, &v, &created) : ban_exact(dp, a, &v, &created);
	if (!err) {
		if (req->reason)
			meta_set(dp, a, req->reason);
		else if (created)
			meta_del(dp, a);        /* a stale reason of an earlier ban */
		if (prefix)
			ctl_refresh(dp);
	} else {
		err = full_error(dp, prefix, err);
	}
	dp_unlock(dp);
	return err;
}

/*
 * The requests of a batched call: one for all (stride 0, xb_dp_ban_batch) or
 * one per address (stride 1, xb_dp_ban_many). at(r, i) is addrs[i]'s.
 */
struct reqs {
	const struct xb_ban_req *r;
	size_t stride;
};

static const struct xb_ban_req *req_at(const struct reqs *r, size_t i)
{
	return &r->r[i * r->stride];
}

static struct reqs reqs_from(const struct reqs *r, size_t i)
{
	return (struct reqs){ .r = req_at(r, i), .stride = r->stride };
}

static bool any_reason(const struct reqs *r, size_t n)
{
	for (size_t i = 0; i < (r->stride ? n : 1); i++)
		if (req_at(r, i)->reason)
			return true;
	return false;
}

static void meta_value(struct xb_meta *m, const char *reason)
{
	memset(m, 0, sizeof(*m));
	m->created = (__u64)xb_now_wall();
	snprintf(m->reason, sizeof(m->reason), "%s", reason);
}

/* Reasons of a run, written in batches of BATCH_CHUNK. */
struct metabuf {
	struct xb_dp *dp;
	struct xb_meta_key *keys;
	struct xb_meta *vals;
	size_t n;
};

static void meta_flush(struct metabuf *m)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bo, .elem_flags = BPF_ANY);
	__u32 count = m->n;

	if (m->n && bpf_map_update_batch(m->dp->meta, m->keys, m->vals, &count, &bo))
		pr_warn("xdpban: cannot store the reasons of bans\n");
	m->n = 0;
}

/*
 * One run of exact bans of one family, in order, under the lock. The table
 * is written through its mapping, so even a million bans take no system
 * call; only reasons go to the kernel, batched. *done counts bans stored.
 */
static int ban_run(struct xb_dp *dp, const struct xb_addr *addrs, size_t n,
		   const struct reqs *rq, size_t *done)
{
	int family = addrs[0].family;
	bool check_allow = !map_empty(family == 4 ? dp->allow4 : dp->allow6);
	struct metabuf m = { .dp = dp };
	size_t i;
	int err = 0;

	*done = 0;
	if (any_reason(rq, n)) {
		m.keys = malloc(BATCH_CHUNK * sizeof(*m.keys));
		m.vals = malloc(BATCH_CHUNK * sizeof(*m.vals));
		if (!m.keys || !m.vals) {
			err = -ENOMEM;
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		const struct xb_ban_req *req = req_at(rq, i);
		struct xb_ban v;
		bool created;

		if (check_allow && is_allowed(dp, &addrs[i])) {
			err = -EPERM;
			break;
		}
		ban_value(req, &v);
		err = ban_exact(dp, &addrs[i], &v, &created);
		if (err) {
			err = full_error(dp, false, err);
			break;
		}
		if (req->reason && m.keys) {
			meta_key(&addrs[i], &m.keys[m.n]);
			meta_value(&m.vals[m.n], req->reason);
			if (++m.n == BATCH_CHUNK)
				meta_flush(&m);
		}
	}
	*done = i;
	meta_flush(&m);
out:
	free(m.keys);
	free(m.vals);
	return err;
}

/* The shared body of xb_dp_ban_batch and xb_dp_ban_many. */
static int ban_batched(struct xb_dp *dp, const struct xb_addr *addrs, size_t n,
		       const struct reqs *rq, size_t *done)
{
	size_t i = 0, d;
	int err = 0;

	if (done)
		*done = 0;
	if (!rq->r || (n && !addrs))
		return -EINVAL;
	dp_lock(dp);
	/* Runs of consecutive exact addresses of one family go batched, in
	 * order, so *done is always a prefix of addrs. */
	while (i < n) {
		size_t j = i;

		if (!addr_valid(&addrs[i])) {
			err = -EINVAL;
			break;
		}
		if (!xb_addr_is_single(&addrs[i])) {
			err = xb_dp_ban(dp, &addrs[i], req_at(rq, i));
			if (err)
				break;
			i++;
			continue;
		}
		while (j < n && addr_valid(&addrs[j]) && xb_addr_is_single(&addrs[j]) &&
		       addrs[j].family == addrs[i].family)
			j++;
		struct reqs sub = reqs_from(rq, i);

		err = ban_run(dp, addrs + i, j - i, &sub, &d);
		i += d;
		if (err)
			break;
	}
	dp_unlock(dp);
	if (done)
		*done = i;
	return err;
}

int xb_dp_ban_batch(struct xb_dp *dp, const struct xb_addr *addrs, size_t n,
		    const struct xb_ban_req *req, size_t *done)
{
	struct reqs rq = { .r = req, .stride = 0 };

	return ban_batched(dp, addrs, n, &rq, done);
}

int xb_dp_ban_many(struct xb_dp *dp, const struct xb_addr *addrs,
		   const struct xb_ban_req *reqs, size_t n, size_t *done)
{
	struct reqs rq = { .r = reqs, .stride = 1 };

	return ban_batched(dp, addrs, n, &rq, done);
}

int xb_dp_unban(struct xb_dp *dp, const struct xb_addr *a)
{
	union xb_key k;
	bool prefix;
	int fd, err;

	if (!ban_slot(dp, a, &fd, &k, &prefix))
		return -EINVAL;
	dp_lock(dp);
	/* The exact key, also in a trie. */
	err = prefix ? bpf_map_delete_elem(fd, &k) : xb_tab_del(tab_of(dp, a), a->bytes);
	if (!err) {
		meta_del(dp, a);
		if (prefix)
			ctl_refresh(dp);
	}
	dp_unlock(dp);
	return err;
}

/* --- iteration ------------------------------------------------------------ */

/* All keys of a (small) trie, collected first: a trie's next-key walk
 * restarts when the current key is deleted under it. */
static int lpm_keys(int fd, size_t ksz, union xb_key **out, size_t *n)
{
	union xb_key *keys = NULL, cur, next;
	size_t cap = 0, cnt = 0;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		if (cnt == cap) {
			union xb_key *nk;

			cap = cap ? cap * 2 : 64;
			nk = realloc(keys, cap * sizeof(*keys));
			if (!nk) {
				free(keys);
				return -ENOMEM;
			}
			keys = nk;
		}
		memset(&keys[cnt], 0, sizeof(keys[cnt]));
		memcpy(&keys[cnt++], &next, ksz);
		cur = next;
		prev = &cur;
	}
	*out = keys;
	*n = cnt;
	return 0;
}

static bool pfx_exists(int fd, const union xb_key *k, size_t ksz)
{
	union xb_key *keys;
	size_t n;
	bool hit = false;

	if (lpm_keys(fd, ksz, &keys, &n))
		return false;
	for (size_t i = 0; i < n && !hit; i++)
		hit = !memcmp(&keys[i], k, ksz);
	free(keys);
	return hit;
}

int xb_dp_lookup(struct xb_dp *dp, const struct xb_addr *a, struct xb_ban *out)
{
	union xb_key k;
	bool prefix;
	int fd;

	if (!ban_slot(dp, a, &fd, &k, &prefix))
		return -EINVAL;
	if (!prefix) {
		const struct xb_ban *b;

		/* Under the lock: another process's compaction (in xb_tab_sweep
		 * or xb_tab_put) may be moving this very ban, and a miss here means "lifted"
		 * to the daemon's reconciliation. */
		dp_lock(dp);
		b = xb_tab_find(tab_of(dp, a), a->bytes);
		if (b)
			*out = *b;
		dp_unlock(dp);
		return b ? 0 : -ENOENT;
	}
	/* A trie lookup is longest-match: make sure this very prefix exists. */
	if (!pfx_exists(fd, &k, a->family == 4 ? sizeof(k.l4) : sizeof(k.l6)))
		return -ENOENT;
	return bpf_map_lookup_elem(fd, &k, out);
}

typedef int (*kv_cb)(struct xb_dp *dp, int family, const void *key, const void *val, void *ctx);

/* Every entry of a hash map, in batches (fast for a million reasons). */
static int walk_hash(struct xb_dp *dp, int fd, int family, size_t ksz, size_t vsz,
		     kv_cb cb, void *ctx)
{
	uint8_t *keys = malloc(BATCH_CHUNK * ksz), *vals = malloc(BATCH_CHUNK * vsz);
	__u64 in_batch = 0, out_batch = 0;
	bool first = true;
	int err = 0;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		__u32 count = BATCH_CHUNK;
		int berr = bpf_map_lookup_batch(fd, first ? NULL : &in_batch, &out_batch,
						keys, vals, &count, NULL);

		if (berr && berr != -ENOENT) {
			err = berr;
			goto out;
		}
		for (__u32 i = 0; i < count; i++) {
			err = cb(dp, family, keys + i * ksz, vals + i * vsz, ctx);
			if (err)
				goto out;
		}
		if (berr == -ENOENT)
			break;
		in_batch = out_batch;
		first = false;
	}
out:
	free(keys);
	free(vals);
	return err;
}

static int walk_lpm(struct xb_dp *dp, int fd, int family, size_t ksz, void *val,
		    kv_cb cb, void *ctx)
{
	union xb_key *keys;
	size_t n;
	int err;

	err = lpm_keys(fd, ksz, &keys, &n);
	if (err)
		return err;
	for (size_t i = 0; i < n && !err; i++) {
		if (bpf_map_lookup_elem(fd, &keys[i], val))
			continue;       /* removed meanwhile */
		err = cb(dp, family, &keys[i], val, ctx);
	}
	free(keys);
	return err;
}

struct ban_walk {
	xb_ban_cb cb;
	void *ctx;
	bool prefix;
	bool has_meta;
};

static int ban_entry(struct xb_dp *dp, int family, const void *key, const void *val, void *ctx)
{
	struct ban_walk *w = ctx;
	struct xb_meta_key mk;
	struct xb_meta m;
	struct xb_addr a;

	if (!w->prefix)
		addr_from(&a, family, family == 4 ? 32 : 128, key);
	else if (family == 4)
		addr_from(&a, 4, ((const struct xb_lpm4 *)key)->prefixlen,
			  &((const struct xb_lpm4 *)key)->addr);
	else
		addr_from(&a, 6, ((const struct xb_lpm6 *)key)->prefixlen,
			  ((const struct xb_lpm6 *)key)->addr);
	if (w->has_meta) {
		meta_key(&a, &mk);
		if (!bpf_map_lookup_elem(dp->meta, &mk, &m))
			return w->cb(&a, val, &m, w->ctx);
	}
	return w->cb(&a, val, NULL, w->ctx);
}

struct tab_walk {
	struct xb_dp *dp;
	int family;
	struct ban_walk *w;
};

static int tab_entry(const void *key, const struct xb_ban *b, void *ctx)
{
	struct tab_walk *t = ctx;

	return ban_entry(t->dp, t->family, key, b, t->w);
}

int xb_dp_foreach_ban(struct xb_dp *dp, xb_ban_cb cb, void *ctx)
{
	struct ban_walk w = { .cb = cb, .ctx = ctx, .has_meta = !map_empty(dp->meta) };
	struct tab_walk t4 = { dp, 4, &w }, t6 = { dp, 6, &w };
	struct xb_ban v;
	int err;

	err = xb_tab_foreach(&dp->tab4, tab_entry, &t4);
	if (!err)
		err = xb_tab_foreach(&dp->tab6, tab_entry, &t6);
	w.prefix = true;
	if (!err)
		err = walk_lpm(dp, dp->pfx4, 4, sizeof(struct xb_lpm4), &v, ban_entry, &w);
	if (!err)
		err = walk_lpm(dp, dp->pfx6, 6, sizeof(struct xb_lpm6), &v, ban_entry, &w);
	return err;
}

struct allow_walk {
	xb_allow_cb cb;
	void *ctx;
};

static int allow_entry(struct xb_dp *dp, int family, const void *key, const void *val, void *ctx)
{
	struct allow_walk *w = ctx;
	struct xb_addr a;

	if (family == 4)
		addr_from(&a, 4, ((const struct xb_lpm4 *)key)->prefixlen,
			  &((const struct xb_lpm4 *)key)->addr);
	else
		addr_from(&a, 6, ((const struct xb_lpm6 *)key)->prefixlen,
			  ((const struct xb_lpm6 *)key)->addr);
	return w->cb(&a, val, w->ctx);
}

int xb_dp_foreach_allow(struct xb_dp *dp, xb_allow_cb cb, void *ctx)
{
	struct allow_walk w = { .cb = cb, .ctx = ctx };
	struct xb_allow v;
	int err;

	err = walk_lpm(dp, dp->allow4, 4, sizeof(struct xb_lpm4), &v, allow_entry, &w);
	if (!err)
		err = walk_lpm(dp, dp->allow6, 6, sizeof(struct xb_lpm6), &v, allow_entry, &w);
	return err;
}

/* --- allow list ----------------------------------------------------------- */

int xb_dp_allow(struct xb_dp *dp, const struct xb_addr *a)
{
	struct xb_allow v = {};
	union xb_key k;
	int err;

	if (!addr_valid(a))
		return -EINVAL;
	lpm_key(a, &k);
	/* Listing an entry again keeps its counter. */
	err = bpf_map_update_elem(a->family == 4 ? dp->allow4 : dp->allow6, &k, &v, BPF_NOEXIST);
	if (err == -EEXIST)
		return 0;
	if (err == -ENOSPC || err == -E2BIG) {
		pr_warn("xdpban: allow list full\n");
		return -ENOSPC;
	}
	if (!err)
		ctl_refresh_locked(dp);
	return err;
}

int xb_dp_unallow(struct xb_dp *dp, const struct xb_addr *a)
{
	union xb_key k;
	int err;

	if (!addr_valid(a))
		return -EINVAL;
	lpm_key(a, &k);
	err = bpf_map_delete_elem(a->family == 4 ? dp->allow4 : dp->allow6, &k);
	if (!err)
		ctl_refresh_locked(dp);
	return err;
}

/* --- counters, sweep, flush ----------------------------------------------- */

int xb_dp_stats(struct xb_dp *dp, uint64_t out[XB_STAT_MAX])
{
	struct xb_stats *vals = calloc(dp->ncpu, sizeof(*vals));
	__u32 zero = 0;
	int err;

	if (!vals)
		return -ENOMEM;
	memset(out, 0, XB_STAT_MAX * sizeof(out[0]));
	err = bpf_map_lookup_elem(dp->stats, &zero, vals);
	for (int c = 0; !err && c < dp->ncpu; c++)
		for (int i = 0; i < XB_STAT_MAX; i++)
			out[i] += vals[c].v[i];
	free(vals);
	return err;
}

/* Keys collected by a walk, deleted afterwards (never under the walk). */
struct keylist {
	uint8_t *keys;
	size_t n, cap, ksz;
	uint64_t now;           /* 0: take every key */
};

static int keylist_add(struct keylist *l, const void *key)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 1024;
		uint8_t *nk = realloc(l->keys, cap * l->ksz);

		if (!nk)
			return -ENOMEM;
		l->keys = nk;
		l->cap = cap;
	}
	memcpy(l->keys + l->n++ * l->ksz, key, l->ksz);
	return 0;
}

static int collect_expired(struct xb_dp *dp, int family, const void *key, const void *val, void *ctx)
{
	const struct xb_ban *b = val;
	struct keylist *l = ctx;

	if (l->now && (!b->expires || b->expires > l->now))
		return 0;
	return keylist_add(l, key);
}

static int delete_keys(int fd, struct keylist *l, size_t *removed)
{
	for (size_t i = 0; i < l->n; i++) {
		int err = bpf_map_delete_elem(fd, l->keys + i * l->ksz);

		if (!err && removed)
			(*removed)++;
		else if (err && err != -ENOENT)     /* the program may have beaten us */
			return err;
	}
	return 0;
}

/* Delete the prefix bans of one trie for which the collector says so. */
static int purge(struct xb_dp *dp, int fd, int family, size_t ksz, uint64_t now,
		 size_t *removed)
{
	struct keylist l = { .ksz = ksz, .now = now };
	struct xb_ban v;
	int err;

	err = walk_lpm(dp, fd, family, ksz, &v, collect_expired, &l);
	if (!err)
		err = delete_keys(fd, &l, removed);
	free(l.keys);
	return err;
}

/* Reasons whose ban is gone (expired in the program, or flushed). */
static int collect_orphan(struct xb_dp *dp, int family, const void *key, const void *val, void *ctx)
{
	const struct xb_meta_key *mk = key;
	struct keylist *l = ctx;
	struct xb_addr a;
	union xb_key k;
	bool prefix;
	int fd;

	addr_from(&a, mk->family, mk->prefixlen, mk->addr);
	if (!l->now || !ban_slot(dp, &a, &fd, &k, &prefix))
		return keylist_add(l, key);
	if (prefix ? !pfx_exists(fd, &k, a.family == 4 ? sizeof(k.l4) : sizeof(k.l6))
		   : !xb_tab_find(tab_of(dp, &a), a.bytes))
		return keylist_add(l, key);
	return 0;
}

static int purge_meta(struct xb_dp *dp, bool all)
{
	struct keylist l = { .ksz = sizeof(struct xb_meta_key), .now = !all };
	int err;

	if (map_empty(dp->meta))
		return 0;
	err = walk_hash(dp, dp->meta, 0, sizeof(struct xb_meta_key), sizeof(struct xb_meta),
			collect_orphan, &l);
	if (!err)
		err = delete_keys(dp->meta, &l, NULL);
	free(l.keys);
	return err;
}

static int purge_all(struct xb_dp *dp, uint64_t now, size_t *removed)
{
	size_t n;
	int err;

	dp_lock(dp);
	n = xb_tab_sweep(&dp->tab4, now) + xb_tab_sweep(&dp->tab6, now);
	if (removed)
		*removed += n;
	err = purge(dp, dp->pfx4, 4, sizeof(struct xb_lpm4), now, removed);
	if (!err)
		err = purge(dp, dp->pfx6, 6, sizeof(struct xb_lpm6), now, removed);
	if (!err)
		err = purge_meta(dp, now == 0);
	if (!err)
		ctl_refresh(dp);
	dp_unlock(dp);
	return err;
}

int xb_dp_sweep(struct xb_dp *dp, size_t *removed)
{
	if (removed)
		*removed = 0;
	return purge_all(dp, xb_now_mono_ns(), removed);
}

int xb_dp_flush(struct xb_dp *dp)
{
	return purge_all(dp, 0, NULL);
}

/* --- XDP links ------------------------------------------------------------ */

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

/*
 * Attaching an interface that already carries our link replaces the program
 * in place (atomic, keeps the mode) when the mode asked for is auto or the
 * same; changing the mode needs a detach first.
 */
int xb_dp_attach(struct xb_dp *dp, const char *ifname, enum xb_mode mode, enum xb_mode *used)
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
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		err = link_info(fd, &info);
		if (!err && info.type == BPF_LINK_TYPE_XDP && info.xdp.ifindex == (__u32)ifindex) {
			enum xb_mode cur = link_mode(ifindex, info.prog_id);

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
		/* A pin whose interface vanished (or was renumbered): drop it. */
		close(fd);
		unlink(path);
	}

	if (mode == XB_MODE_AUTO) {
		fd = link_new(prog_fd, ifindex, XB_MODE_NATIVE);
		if (fd >= 0) {
			mode = XB_MODE_NATIVE;
		} else if (fd != -EBUSY && fd != -EEXIST) {
			pr_info("%s: native XDP unavailable (%s), falling back to generic mode\n",
				ifname, strerror(-fd));
			mode = XB_MODE_GENERIC;
			fd = link_new(prog_fd, ifindex, mode);
		}
	} else {
		fd = link_new(prog_fd, ifindex, mode);
	}
	if (fd < 0) {
		if (fd == -EBUSY || fd == -EEXIST)
			pr_warn("xdpban: %s: another XDP program is already attached\n", ifname);
		else if (fd == -EOPNOTSUPP || fd == -EINVAL)
			pr_warn("xdpban: %s: %s XDP not supported: %s\n", ifname, xb_mode_str(mode),
				strerror(-fd));
		else
			pr_warn("xdpban: %s: cannot attach: %s\n", ifname, strerror(-fd));
		return fd == -EINVAL ? -EOPNOTSUPP : fd;
	}
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

int xb_dp_foreach_link(struct xb_dp *dp, xb_link_cb cb, void *ctx)
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
		struct bpf_link_info info;
		int fd;

		if (strncmp(de->d_name, XB_LINK_PREFIX, plen))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dp->pin_dir, de->d_name);
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		if (!link_info(fd, &info) && info.type == BPF_LINK_TYPE_XDP)
			err = cb(de->d_name + plen, (int)info.xdp.ifindex,
				 link_mode((int)info.xdp.ifindex, info.prog_id), ctx);
		close(fd);
	}
	closedir(d);
	return err;
}
