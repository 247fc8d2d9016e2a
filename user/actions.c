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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "actions.h"
#include "log.h"
#include "util.h"
#include "xdpban.skel.h"

#define BATCH_CHUNK 8192        /* elements per batched syscall */

struct xb_dp {
	struct xdpban *skel;
	char pin_dir[PATH_MAX - 512];  /* room for "/<name>" in PATH_MAX */
	int ban4, ban6, pfx4, pfx6, allow4, allow6, meta, ctl, stats;
	uint32_t max_bans, max_prefix;
	int ncpu;
};

const char *xb_mode_str(enum xb_mode m)
{
	switch (m) {
	case XB_MODE_AUTO: return "auto";
	case XB_MODE_NATIVE: return "native";
	case XB_MODE_GENERIC: return "generic";
	}
	return "unknown";
}

int xb_mode_parse(const char *s, enum xb_mode *m)
{
	static const enum xb_mode all[] = { XB_MODE_AUTO, XB_MODE_NATIVE, XB_MODE_GENERIC };

	for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
		if (s && !strcmp(s, xb_mode_str(all[i]))) {
			*m = all[i];
			return 0;
		}
	}
	return -EINVAL;
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
	bpf_map__set_max_entries(dp->skel->maps.ban4, bans);
	bpf_map__set_max_entries(dp->skel->maps.ban6, bans);
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
	dp->ban4 = bpf_map__fd(dp->skel->maps.ban4);
	dp->ban6 = bpf_map__fd(dp->skel->maps.ban6);
	dp->pfx4 = bpf_map__fd(dp->skel->maps.pfx4);
	dp->pfx6 = bpf_map__fd(dp->skel->maps.pfx6);
	dp->allow4 = bpf_map__fd(dp->skel->maps.allow4);
	dp->allow6 = bpf_map__fd(dp->skel->maps.allow6);
	dp->meta = bpf_map__fd(dp->skel->maps.meta);
	dp->ctl = bpf_map__fd(dp->skel->maps.ctl);
	dp->stats = bpf_map__fd(dp->skel->maps.stats);
	dp->max_bans = bpf_map__max_entries(dp->skel->maps.ban4);
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
	xdpban__destroy(dp->skel);      /* unloads nothing pinned */
	free(dp);
}

const char *xb_dp_pin_dir(const struct xb_dp *dp)
{
	return dp->pin_dir;
}

/* --- keys ----------------------------------------------------------------- */

/* Largest key of any ban map (struct xb_lpm6). */
union xb_key {
	__u32 v4;
	struct xb_in6 v6;
	struct xb_lpm4 l4;
	struct xb_lpm6 l6;
};

static bool addr_valid(const struct xb_addr *a)
{
	return a && ((a->family == 4 && a->prefixlen <= 32) ||
		     (a->family == 6 && a->prefixlen <= 128));
}

/* The ban map (exact or prefix) and key for a; false: bad address. */
static bool ban_slot(const struct xb_dp *dp, const struct xb_addr *a, int *fd,
		     union xb_key *k, bool *prefix)
{
	memset(k, 0, sizeof(*k));
	if (!addr_valid(a))
		return false;
	*prefix = !xb_addr_is_single(a);
	if (a->family == 4) {
		if (*prefix) {
			k->l4.prefixlen = a->prefixlen;
			memcpy(&k->l4.addr, a->bytes, 4);
			*fd = dp->pfx4;
		} else {
			memcpy(&k->v4, a->bytes, 4);
			*fd = dp->ban4;
		}
	} else {
		if (*prefix) {
			k->l6.prefixlen = a->prefixlen;
			memcpy(k->l6.addr, a->bytes, 16);
			*fd = dp->pfx6;
		} else {
			memcpy(k->v6.addr, a->bytes, 16);
			*fd = dp->ban6;
		}
	}
	return true;
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

/* Keep the fast path at one hash lookup: the program consults a prefix or
 * allow trie only while its flag is set. Called after every change to them. */
static int ctl_refresh(struct xb_dp *dp)
{
	struct xb_ctl c = {};
	__u32 zero = 0;
	int err;

	if (!map_empty(dp->pfx4))
		c.flags |= XB_CTL_PFX4;
	if (!map_empty(dp->pfx6))
		c.flags |= XB_CTL_PFX6;
	if (!map_empty(dp->allow4))
		c.flags |= XB_CTL_ALLOW4;
	if (!map_empty(dp->allow6))
		c.flags |= XB_CTL_ALLOW6;
	err = bpf_map_update_elem(dp->ctl, &zero, &c, BPF_ANY);
	if (err)
		pr_warn("xdpban: cannot update the control map: %s\n", strerror(-err));
	return err;
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

/* Insert, or re-arm keeping the counters the program has accumulated. */
static int ban_one(struct xb_dp *dp, int fd, const union xb_key *k, const struct xb_ban *v,
		   bool *created)
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
			continue;       /* expired and removed meanwhile: insert */
		nv.packets = old.packets;
		nv.bytes = old.bytes;
		err = bpf_map_update_elem(fd, k, &nv, BPF_EXIST);
		if (err == -ENOENT)
			continue;
		/* Re-arming a ban that has just expired races the program's
		 * lazy delete: it may have looked the old value up an instant
		 * before our update and delete the new one an instant after
		 * (a window of ~100 ns, far shorter than one syscall). Look
		 * again and insert afresh if it went. */
		if (!err && old.expires && old.expires <= xb_now_mono_ns() &&
		    bpf_map_lookup_elem(fd, k, &old) == -ENOENT)
			continue;
		*created = false;
		return err;
	}
	return -EAGAIN;
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
	err = ban_one(dp, fd, &k, &v, &created);
	if (err)
		return full_error(dp, prefix, err);
	if (req->reason)
		meta_set(dp, a, req->reason);
	else if (created)
		meta_del(dp, a);        /* a stale reason of an earlier ban */
	if (prefix)
		return ctl_refresh(dp);
	return 0;
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

/* Batched writes of one run: keys/values/meta for up to BATCH_CHUNK bans. */
struct batch {
	struct xb_dp *dp;
	int fd;
	size_t ksz, n, cap;
	uint8_t *keys;
	struct xb_ban *vals;
	struct xb_meta_key *mkeys;      /* NULL: no reason to store */
	struct xb_meta *mvals;
	bool *mhas;                     /* per slot: has a reason; NULL: all have */
};

/* Store the pending bans; *stored counts those written. The kernel's batch
 * update takes no BPF_NOEXIST: values of existing bans already carry their
 * counters when they get here. */
static int batch_flush(struct batch *b, size_t *stored)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bo, .elem_flags = BPF_ANY);
	__u32 count = b->n;
	int err = 0;

	*stored = 0;
	if (!b->n)
		return 0;
	err = bpf_map_update_batch(b->fd, b->keys, b->vals, &count, &bo);
	if (err && err != -E2BIG && err != -ENOSPC)
		count = 0;      /* early failure: count was not written back */
	if (count > b->n)
		count = b->n;
	if (b->mkeys && count) {
		__u32 mc = count;

		if (b->mhas) {
			/* Only the stored bans that carry a reason, packed to the front. */
			mc = 0;
			for (size_t i = 0; i < count; i++) {
				if (!b->mhas[i])
					continue;
				b->mkeys[mc] = b->mkeys[i];
				b->mvals[mc++] = b->mvals[i];
			}
		}
		if (mc && bpf_map_update_batch(b->dp->meta, b->mkeys, b->mvals, &mc, &bo))
			pr_warn("xdpban: cannot store the reasons of bans\n");
	}
	*stored = count;
	b->n = 0;
	return err;
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

/* One range of exact bans of one family, in order, with batched updates.
 * fresh: the map was empty, so no key needs an existence check. Returns the
 * raw kernel error; *done counts the bans stored. */
static int ban_range(struct xb_dp *dp, const struct xb_addr *addrs, size_t n,
		     const struct reqs *rq, bool fresh, bool check_allow, size_t *done)
{
	int family = addrs[0].family;
	struct batch b = { .dp = dp, .fd = family == 4 ? dp->ban4 : dp->ban6,
			   .ksz = family == 4 ? 4 : 16 };
	bool reasons = any_reason(rq, n);
	struct xb_ban old;
	size_t stored, i;
	int err = 0;

	/* Buffers sized to the run: a mixed v4/v6 input makes many short runs. */
	size_t cap = n < BATCH_CHUNK ? n : BATCH_CHUNK;

	*done = 0;
	b.cap = cap;
	b.keys = malloc(cap * b.ksz);
	b.vals = malloc(cap * sizeof(*b.vals));
	if (reasons) {
		b.mkeys = malloc(cap * sizeof(*b.mkeys));
		b.mvals = malloc(cap * sizeof(*b.mvals));
		if (rq->stride)
			b.mhas = malloc(cap * sizeof(*b.mhas));
	}
	if (!b.keys || !b.vals ||
	    (reasons && (!b.mkeys || !b.mvals || (rq->stride && !b.mhas)))) {
		err = -ENOMEM;
		goto out;
	}
	/* One reason for all: filled once, not per ban. */
	for (i = 0; reasons && !rq->stride && i < cap; i++)
		meta_value(&b.mvals[i], rq->r->reason);
	for (i = 0; i < n; i++) {
		const struct xb_ban_req *req = req_at(rq, i);
		union xb_key k = {};

		if (check_allow && is_allowed(dp, &addrs[i])) {
			err = -EPERM;
			break;
		}
		memcpy(&k, addrs[i].bytes, b.ksz);
		ban_value(req, &b.vals[b.n]);
		/* Already banned: re-armed in the same batch, keeping the
		 * counters read here (increments landing between this read
		 * and the write are lost, as in xb_dp_ban). */
		if (!fresh && !bpf_map_lookup_elem(b.fd, &k, &old)) {
			b.vals[b.n].packets = old.packets;
			b.vals[b.n].bytes = old.bytes;
		}
		memcpy(b.keys + b.n * b.ksz, &k, b.ksz);
		if (b.mkeys)
			meta_key(&addrs[i], &b.mkeys[b.n]);
		if (b.mhas) {
			b.mhas[b.n] = req->reason != NULL;
			if (req->reason)
				meta_value(&b.mvals[b.n], req->reason);
		}
		if (++b.n == b.cap) {
			err = batch_flush(&b, &stored);
			*done += stored;
			if (err)
				break;
		}
	}
	if (!err || err == -EPERM) {
		int ferr = batch_flush(&b, &stored);

		*done += stored;
		if (ferr)
			err = ferr;
	}
out:
	free(b.keys);
	free(b.vals);
	free(b.mkeys);
	free(b.mvals);
	free(b.mhas);
	return err;
}

struct range_job {
	struct xb_dp *dp;
	const struct xb_addr *addrs;
	size_t n, done;
	struct reqs rq;
	int err;
};

static void *range_thread(void *arg)
{
	struct range_job *j = arg;

	j->err = ban_range(j->dp, j->addrs, j->n, &j->rq, true, false, &j->done);
	return NULL;
}

/* Undo the bans a job stored (used when an earlier range failed). */
static void range_undo(struct range_job *j)
{
	for (size_t i = 0; i < j->done; i++) {
		union xb_key k;
		bool prefix;
		int fd;

		if (ban_slot(j->dp, &j->addrs[i], &fd, &k, &prefix))
			bpf_map_delete_elem(fd, &k);
		if (req_at(&j->rq, i)->reason)
			meta_del(j->dp, &j->addrs[i]);
	}
	j->done = 0;
}

/*
 * One run of exact bans of one family. A big load into an empty map is the
 * kernel's insert cost alone: split it over two threads (two CPUs) when it
 * fits, so the halves never race each other for the last free slots. If the
 * first half still fails (a concurrent writer), the second half is undone
 * so that what is stored is exactly addrs[0..*done).
 */
static int ban_run(struct xb_dp *dp, const struct xb_addr *addrs, size_t n,
		   const struct reqs *rq, size_t *done)
{
	int family = addrs[0].family;
	bool check_allow = !map_empty(family == 4 ? dp->allow4 : dp->allow6);
	bool fresh = map_empty(family == 4 ? dp->ban4 : dp->ban6);
	int err;

	*done = 0;
	if (fresh && !check_allow && n >= 4 * BATCH_CHUNK && n <= dp->max_bans) {
		size_t mid = n / 2;
		struct range_job jobs[2] = {
			{ .dp = dp, .addrs = addrs, .n = mid, .rq = *rq },
			{ .dp = dp, .addrs = addrs + mid, .n = n - mid, .rq = reqs_from(rq, mid) },
		};
		pthread_t t;

		if (!pthread_create(&t, NULL, range_thread, &jobs[1])) {
			range_thread(&jobs[0]);
			pthread_join(t, NULL);
			if (jobs[0].err) {
				range_undo(&jobs[1]);
				*done = jobs[0].done;
				err = jobs[0].err;
			} else {
				*done = mid + jobs[1].done;
				err = jobs[1].err;
			}
			return err ? full_error(dp, false, err) : 0;
		}
	}
	err = ban_range(dp, addrs, n, rq, fresh, check_allow, done);
	if (err && err != -EPERM)
		err = full_error(dp, false, err);
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
	err = bpf_map_delete_elem(fd, &k);      /* exact key, also in a trie */
	if (err)
		return err;
	meta_del(dp, a);
	return prefix ? ctl_refresh(dp) : 0;
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
	/* A trie lookup is longest-match: make sure this very prefix exists. */
	if (prefix && !pfx_exists(fd, &k, a->family == 4 ? sizeof(k.l4) : sizeof(k.l6)))
		return -ENOENT;
	return bpf_map_lookup_elem(fd, &k, out);
}

typedef int (*kv_cb)(struct xb_dp *dp, int family, const void *key, const void *val, void *ctx);

/* Every entry of a hash map, in batches (fast for a million bans). Falls
 * back to the next-key walk on kernels without batch ops. */
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

int xb_dp_foreach_ban(struct xb_dp *dp, xb_ban_cb cb, void *ctx)
{
	struct ban_walk w = { .cb = cb, .ctx = ctx, .has_meta = !map_empty(dp->meta) };
	struct xb_ban v;
	int err;

	err = walk_hash(dp, dp->ban4, 4, 4, sizeof(v), ban_entry, &w);
	if (!err)
		err = walk_hash(dp, dp->ban6, 6, 16, sizeof(v), ban_entry, &w);
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
	return err ?: ctl_refresh(dp);
}

int xb_dp_unallow(struct xb_dp *dp, const struct xb_addr *a)
{
	union xb_key k;
	int err;

	if (!addr_valid(a))
		return -EINVAL;
	lpm_key(a, &k);
	err = bpf_map_delete_elem(a->family == 4 ? dp->allow4 : dp->allow6, &k);
	return err ?: ctl_refresh(dp);
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

/* Delete the bans of one map for which the collector says so. */
static int purge(struct xb_dp *dp, int fd, int family, size_t ksz, bool lpm, uint64_t now,
		 size_t *removed)
{
	struct keylist l = { .ksz = ksz, .now = now };
	struct xb_ban v;
	int err;

	if (lpm)
		err = walk_lpm(dp, fd, family, ksz, &v, collect_expired, &l);
	else
		err = walk_hash(dp, fd, family, ksz, sizeof(v), collect_expired, &l);
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
		   : !!bpf_map_lookup_elem(fd, &k, &(struct xb_ban){}))
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
	int err;

	err = purge(dp, dp->ban4, 4, 4, false, now, removed);
	if (!err)
		err = purge(dp, dp->ban6, 6, 16, false, now, removed);
	if (!err)
		err = purge(dp, dp->pfx4, 4, sizeof(struct xb_lpm4), true, now, removed);
	if (!err)
		err = purge(dp, dp->pfx6, 6, sizeof(struct xb_lpm6), true, now, removed);
	if (!err)
		err = purge_meta(dp, now == 0);
	if (!err)
		err = ctl_refresh(dp);
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
