// SPDX-License-Identifier: GPL-2.0
/*
 * The xb_dp_* API against real pinned maps in a private bpffs (xb_dp_open
 * mounts it on a fresh temp dir), torn down after every test.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <criterion/criterion.h>

#include "dataplane/dataplane.h"
#include "common/addr.h"
#include "dataplane/bantab.h"
#include "common/util.h"

static char dir[64];
static struct xb_dp *dp;

static void rm_pins(void)
{
	char path[512];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
}

/* 0: a small capacity, so each test's maps are quick to create (also in
 * an emulated VM); the default itself is checked once below. */
static void open_dp(uint32_t max_bans)
{
	struct xb_dp_opts o = { .pin_dir = dir, .max_bans = max_bans ? max_bans : 65536,
				.max_prefix = 1024, .max_allow = 1024 };

	cr_assert_eq(xb_dp_open(&o, &dp), 0);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/xbdp-test-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	dp = NULL;
}

static void teardown(void)
{
	xb_dp_close(dp);
	dp = NULL;
	rm_pins();
	umount2(dir, MNT_DETACH);
	rmdir(dir);
}

TestSuite(dataplane, .init = setup, .fini = teardown);

static struct xb_addr A(const char *s)
{
	struct xb_addr a;

	cr_assert_eq(xb_addr_parse(s, &a, false), 0, "%s", s);
	return a;
}

static int pinned_fd(const char *name)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = bpf_obj_get(path);
	cr_assert_geq(fd, 0, "%s pinned", path);
	return fd;
}

static uint32_t ctl_flags(void)
{
	struct xb_ctl c;
	uint32_t zero = 0;
	int fd = pinned_fd(XB_MAP_CTL);

	cr_assert_eq(bpf_map_lookup_elem(fd, &zero, &c), 0);
	close(fd);
	return c.flags;
}

static const struct xb_ban_req perm = { .flags = XB_BAN_F_MANUAL };

/* Pretend the program dropped some packets for a's exact ban. */
static void set_counters(const struct xb_addr *a, uint64_t packets, uint64_t bytes)
{
	int cfd = pinned_fd(XB_MAP_CTL), fd = pinned_fd(a->family == 4 ? XB_MAP_BAN4 : XB_MAP_BAN6);
	struct xb_ctl *c;
	struct xb_tab t;
	struct xb_ban *b;

	cr_assert_eq(xb_ctl_map(cfd, &c), 0);
	cr_assert_eq(xb_tab_map(&t, a->family, fd, c), 0);
	b = xb_tab_find(&t, a->bytes);
	cr_assert_not_null(b);
	b->packets = packets;
	b->bytes = bytes;
	xb_tab_unmap(&t);
	xb_ctl_unmap(c);
	close(fd);
	close(cfd);
}

Test(dataplane, open_mounts_bpffs_and_pins_every_map)
{
	static const char *maps[] = { XB_MAP_BAN4, XB_MAP_BAN6, XB_MAP_PFX4, XB_MAP_PFX6,
				      XB_MAP_ALLOW4, XB_MAP_ALLOW6, XB_MAP_META, XB_MAP_CTL,
				      XB_MAP_STATS, XB_MAP_GROW };
	struct statfs st;

	open_dp(0);
	cr_assert_eq(statfs(dir, &st), 0);
	cr_expect_eq(st.f_type, BPF_FS_MAGIC, "a bpffs was mounted on the pin dir");
	cr_expect_str_eq(xb_dp_pin_dir(dp), dir);
	for (size_t i = 0; i < ARRAY_SIZE(maps); i++)
		close(pinned_fd(maps[i]));
}

/* Small at first (XB_INIT_BANS), with room to grow to a million. */
Test(dataplane, default_capacity_starts_small_and_may_grow_to_a_million)
{
	struct xb_dp_opts o = { .pin_dir = dir };
	const char *maps[] = { XB_MAP_BAN4, XB_MAP_BAN6 };
	struct xb_grow g;
	uint32_t zero = 0, live, cap;
	int fd;

	cr_assert_eq(xb_dp_open(&o, &dp), 0);
	for (size_t i = 0; i < ARRAY_SIZE(maps); i++) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);

		fd = pinned_fd(maps[i]);
		cr_assert_eq(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
		/* An element is a bucket of XB_BUCKET slots. */
		cr_expect_eq(info.max_entries, xb_tab_buckets(XB_INIT_BANS), "%s: %u buckets",
			     maps[i], info.max_entries);
		/* Our own table in an array: nothing evicts a ban (no LRU). */
		cr_expect_eq(info.type, BPF_MAP_TYPE_ARRAY);
		cr_expect(info.map_flags & BPF_F_MMAPABLE);
		close(fd);
	}
	cr_assert_eq(xb_dp_table_fill(dp, 4, &live, &cap), 0);
	cr_expect_eq(cap, XB_INIT_BANS);
	fd = pinned_fd(XB_MAP_GROW);
	cr_assert_eq(bpf_map_lookup_elem(fd, &zero, &g), 0);
	close(fd);
	cr_expect_eq(g.max_bans, XB_DEF_MAX_BANS);
	cr_expect_eq(g.gen, 0);
}

Test(dataplane, no_create_reports_missing_maps)
{
	struct xb_dp_opts o = { .pin_dir = dir, .no_create = true };

	cr_assert_eq(xb_dp_open(&o, &dp), -ENOENT);
	cr_assert_null(dp);
}

Test(dataplane, bans_survive_close_and_reopen)
{
	struct xb_addr a = A("198.18.0.2");
	struct xb_ban b;

	open_dp(0);
	cr_assert_eq(xb_dp_ban(dp, &a, &perm), 0);
	xb_dp_close(dp);
	dp = NULL;
	open_dp(0);
	cr_assert_eq(xb_dp_lookup(dp, &a, &b), 0);
	cr_expect_eq(b.expires, 0);
	cr_expect_eq(b.flags, XB_BAN_F_MANUAL);
}

Test(dataplane, ban_lookup_unban_v4_v6_and_mapped)
{
	const char *addrs[] = { "198.18.0.2", "2001:db8::2", "::ffff:198.18.0.9" };
	struct xb_ban_req req = { .expires = xb_now_mono_ns() + 60 * NSEC_PER_SEC, .rule = 5712,
				  .offence = 2, .flags = XB_BAN_F_DAEMON };
	struct xb_addr a, plain = A("198.18.0.9");
	struct xb_ban b;

	open_dp(0);
	for (size_t i = 0; i < ARRAY_SIZE(addrs); i++) {
		a = A(addrs[i]);
		cr_assert_eq(xb_dp_ban(dp, &a, &req), 0);
		cr_assert_eq(xb_dp_lookup(dp, &a, &b), 0);
		cr_expect_eq(b.expires, req.expires);
		cr_expect_eq(b.rule, 5712);
		cr_expect_eq(b.offence, 2);
	}
	/* The mapped address was stored as plain IPv4. */
	cr_assert_eq(xb_dp_lookup(dp, &plain, &b), 0);
	for (size_t i = 0; i < ARRAY_SIZE(addrs); i++) {
		a = A(addrs[i]);
		cr_assert_eq(xb_dp_unban(dp, &a), 0);
		cr_expect_eq(xb_dp_lookup(dp, &a, &b), -ENOENT);
		cr_expect_eq(xb_dp_unban(dp, &a), -ENOENT);
	}
}

Test(dataplane, rearm_keeps_counters)
{
	struct xb_addr a = A("198.18.0.2");
	struct xb_ban b;

	open_dp(0);
	cr_assert_eq(xb_dp_ban(dp, &a, &perm), 0);
	set_counters(&a, 7, 700);

	struct xb_ban_req again = { .expires = xb_now_mono_ns() + NSEC_PER_SEC * 3600, .rule = 5710,
				    .offence = 3 };
	cr_assert_eq(xb_dp_ban(dp, &a, &again), 0);
	cr_assert_eq(xb_dp_lookup(dp, &a, &b), 0);
	cr_expect_eq(b.packets, 7);
	cr_expect_eq(b.bytes, 700);
	cr_expect_eq(b.expires, again.expires);
	cr_expect_eq(b.offence, 3);
}

Test(dataplane, rearm_prefix_keeps_counters)
{
	struct xb_addr p = A("2001:db8:5::/48");
	struct xb_lpm6 k = { .prefixlen = 48 };
	struct xb_ban b;
	int fd;

	open_dp(0);
	cr_assert_eq(xb_dp_ban(dp, &p, &perm), 0);
	fd = pinned_fd(XB_MAP_PFX6);
	memcpy(k.addr, p.bytes, 16);
	cr_assert_eq(bpf_map_lookup_elem(fd, &k, &b), 0);
	b.packets = 5;
	cr_assert_eq(bpf_map_update_elem(fd, &k, &b, BPF_EXIST), 0);
	close(fd);
	struct xb_ban_req again = { .expires = xb_now_mono_ns() + NSEC_PER_SEC * 60 };
	cr_assert_eq(xb_dp_ban(dp, &p, &again), 0);
	cr_assert_eq(xb_dp_lookup(dp, &p, &b), 0);
	cr_expect_eq(b.packets, 5);
	cr_expect_eq(b.expires, again.expires);
}

Test(dataplane, prefix_bans_drive_the_ctl_flags)
{
	struct xb_addr p4 = A("198.18.0.0/16"), p6 = A("2001:db8::/32"), inner = A("198.18.1.0/24");
	struct xb_ban b;

	open_dp(0);
	cr_expect_eq(ctl_flags(), 0);
	cr_assert_eq(xb_dp_ban(dp, &p4, &perm), 0);
	cr_expect_eq(ctl_flags(), XB_CTL_PFX4);
	cr_assert_eq(xb_dp_ban(dp, &p6, &perm), 0);
	cr_expect_eq(ctl_flags(), XB_CTL_PFX4 | XB_CTL_PFX6);
	cr_assert_eq(xb_dp_lookup(dp, &p4, &b), 0);
	/* Lookup is by the exact prefix, not longest match. */
	cr_expect_eq(xb_dp_lookup(dp, &inner, &b), -ENOENT);
	cr_expect_eq(xb_dp_unban(dp, &inner), -ENOENT);
	cr_assert_eq(xb_dp_unban(dp, &p4), 0);
	cr_expect_eq(ctl_flags(), XB_CTL_PFX6);
	cr_assert_eq(xb_dp_unban(dp, &p6), 0);
	cr_expect_eq(ctl_flags(), 0);
}

/* A trie lookup returns a covering prefix too: this very prefix is told
 * apart by the length the ban records, and by a walk for a ban written
 * without it (older versions). */
Test(dataplane, prefix_lookup_is_exact_also_for_older_entries)
{
	struct xb_addr p48 = A("2001:db8:1::/48"), in48 = A("2001:db8:1:2::/64"),
		       old64 = A("2001:db8:2:3::/64"), in64 = A("2001:db8:2:3:4::/80");
	struct xb_lpm6 k = { .prefixlen = 64 };
	struct xb_ban raw = { .expires = 0, .flags = XB_BAN_F_MANUAL }, b;
	int fd;

	open_dp(0);
	cr_assert_eq(xb_dp_ban(dp, &p48, &perm), 0);
	cr_assert_eq(xb_dp_lookup(dp, &p48, &b), 0);
	cr_expect_eq((b.flags & XB_BAN_PLEN_MASK) >> XB_BAN_PLEN_SHIFT, 49, "the /48 records 48 + 1");
	cr_expect_eq(xb_dp_lookup(dp, &in48, &b), -ENOENT, "a /64 inside the /48 is not banned");
	memcpy(k.addr, old64.bytes, 16);
	fd = pinned_fd(XB_MAP_PFX6);
	cr_assert_eq(bpf_map_update_elem(fd, &k, &raw, BPF_NOEXIST), 0);
	close(fd);
	cr_expect_eq(xb_dp_lookup(dp, &old64, &b), 0, "an older /64 is found");
	cr_expect_eq(b.flags, XB_BAN_F_MANUAL);
	cr_expect_eq(xb_dp_lookup(dp, &in64, &b), -ENOENT, "a /80 inside the older /64 is not");
	cr_expect_eq(xb_dp_unban(dp, &old64), 0);
}

Test(dataplane, full_map_is_enospc_and_nothing_evicted)
{
	struct xb_addr a;
	struct xb_ban b;
	char s[32];

	open_dp(4);
	for (int i = 1; i <= 4; i++) {
		snprintf(s, sizeof(s), "198.18.0.%d", i);
		a = A(s);
		cr_assert_eq(xb_dp_ban(dp, &a, &perm), 0, "%s", s);
	}
	a = A("198.18.0.5");
	cr_assert_eq(xb_dp_ban(dp, &a, &perm), -ENOSPC);
	for (int i = 1; i <= 4; i++) {
		snprintf(s, sizeof(s), "198.18.0.%d", i);
		a = A(s);
		cr_expect_eq(xb_dp_lookup(dp, &a, &b), 0, "%s still banned", s);
	}
	/* Re-arming an existing ban still works on a full map. */
	a = A("198.18.0.1");
	cr_expect_eq(xb_dp_ban(dp, &a, &perm), 0);
}

/* A full prefix trie first gives up its expired prefixes, never a live one. */
static void full_prefix_map(int fam)
{
	struct xb_dp_opts o = { .pin_dir = dir, .max_bans = 64, .max_prefix = 4, .max_allow = 16 };
	struct xb_ban_req old = { .expires = xb_now_mono_ns() - 1, .flags = XB_BAN_F_DAEMON };
	struct xb_ban_req live = { .expires = xb_now_mono_ns() + 3600 * NSEC_PER_SEC };
	struct xb_addr p[7], single = A(fam == 4 ? "198.18.9.9" : "2001:db8:9::9");
	struct xb_ban b;
	char s[64];

	for (int i = 0; i < 7; i++) {
		if (fam == 4)
			snprintf(s, sizeof(s), "198.18.%d.0/24", i + 1);
		else
			snprintf(s, sizeof(s), "2001:db8:%x::/48", i + 1);
		p[i] = A(s);
	}
	cr_assert_eq(xb_dp_open(&o, &dp), 0);
	cr_assert_eq(xb_dp_ban(dp, &single, &old), 0);
	/* Full: two expired, two live. */
	cr_assert_eq(xb_dp_ban(dp, &p[0], &old), 0);
	cr_assert_eq(xb_dp_ban(dp, &p[1], &live), 0);
	cr_assert_eq(xb_dp_ban(dp, &p[2], &old), 0);
	cr_assert_eq(xb_dp_ban(dp, &p[3], &perm), 0);
	/* The expired ones make room, one sweep for both. */
	cr_assert_eq(xb_dp_ban(dp, &p[4], &live), 0, "a full trie with expired entries");
	cr_expect_eq(xb_dp_lookup(dp, &p[0], &b), -ENOENT);
	cr_expect_eq(xb_dp_lookup(dp, &p[2], &b), -ENOENT);
	cr_assert_eq(xb_dp_ban(dp, &p[5], &perm), 0);
	/* Full of live bans: refused, nothing evicted. */
	cr_assert_eq(xb_dp_ban(dp, &p[6], &perm), -ENOSPC);
	cr_expect_eq(xb_dp_lookup(dp, &p[6], &b), -ENOENT);
	for (int i = 1; i < 6; i++)
		if (i != 2)
			cr_expect_eq(xb_dp_lookup(dp, &p[i], &b), 0, "prefix %d evicted", i);
	cr_expect_eq(xb_dp_lookup(dp, &p[1], &b), 0);
	cr_expect_eq(b.expires, live.expires);
	/* Re-arming a live prefix still works when full; exact bans untouched
	 * (even an expired one: only prefixes were swept). */
	cr_expect_eq(xb_dp_ban(dp, &p[3], &live), 0);
	cr_expect_eq(xb_dp_lookup(dp, &single, &b), 0);
	cr_expect_eq(ctl_flags() & (fam == 4 ? XB_CTL_PFX4 : XB_CTL_PFX6),
		     fam == 4 ? XB_CTL_PFX4 : XB_CTL_PFX6);
}

Test(dataplane, full_prefix_map_sweeps_expired_first4) { full_prefix_map(4); }
Test(dataplane, full_prefix_map_sweeps_expired_first6) { full_prefix_map(6); }

/* The ceiling is kept with the pins: an open that asks for none keeps it
 * (a full table at it refuses, evicting nothing); one that asks for more
 * raises it, and the table grows. */
Test(dataplane, pinned_ceiling_kept_unless_a_later_open_asks_for_more)
{
	struct xb_dp_opts none = { .pin_dir = dir };
	struct xb_addr a[3] = { A("198.18.0.1"), A("198.18.0.2"), A("198.18.0.3") };
	struct xb_ban b;
	uint32_t live, cap;

	open_dp(2);
	xb_dp_close(dp);
	dp = NULL;
	cr_assert_eq(xb_dp_open(&none, &dp), 0);
	cr_assert_eq(xb_dp_ban(dp, &a[0], &perm), 0);
	cr_assert_eq(xb_dp_ban(dp, &a[1], &perm), 0);
	cr_assert_eq(xb_dp_ban(dp, &a[2], &perm), -ENOSPC, "full at the ceiling");
	cr_expect_eq(xb_dp_lookup(dp, &a[0], &b), 0, "nothing evicted");
	cr_expect_eq(xb_dp_lookup(dp, &a[1], &b), 0, "nothing evicted");
	xb_dp_close(dp);
	dp = NULL;
	open_dp(0);             /* 65536 asked: the new ceiling */
	cr_assert_eq(xb_dp_ban(dp, &a[2], &perm), 0);
	cr_assert_eq(xb_dp_table_fill(dp, 4, &live, &cap), 0);
	cr_expect_eq(live, 3);
	cr_expect_eq(cap, 2 * XB_GROW_FACTOR);
}

/* A ceiling set on the open maps (a reload's <max_bans>): raised, the full
 * table grows; below what a table holds, refused and kept; check_only
 * changes nothing. */
Test(dataplane, set_max_bans_raises_and_refuses_below_the_tables)
{
	struct xb_addr a[3] = { A("198.18.0.1"), A("198.18.0.2"), A("198.18.0.3") };
	uint32_t live, cap, held;

	open_dp(2);
	cr_assert_eq(xb_dp_ban(dp, &a[0], &perm), 0);
	cr_assert_eq(xb_dp_ban(dp, &a[1], &perm), 0);
	cr_assert_eq(xb_dp_ban(dp, &a[2], &perm), -ENOSPC, "full at the ceiling");
	cr_expect_eq(xb_dp_set_max_bans(dp, 1, false, &held), -ERANGE);
	cr_expect_eq(held, 2);
	cr_expect_eq(xb_dp_max_bans(dp), 2, "kept");
	cr_expect_eq(xb_dp_set_max_bans(dp, 100, true, &held), 0);
	cr_expect_eq(xb_dp_max_bans(dp), 2, "only checked");
	cr_assert_eq(xb_dp_set_max_bans(dp, 100, false, &held), 0);
	cr_expect_eq(xb_dp_max_bans(dp), 100);
	cr_assert_eq(xb_dp_ban(dp, &a[2], &perm), 0, "the full table grew");
	cr_assert_eq(xb_dp_table_fill(dp, 4, &live, &cap), 0);
	cr_expect_eq(live, 3);
	cr_expect_eq(cap, 2 * XB_GROW_FACTOR);
	cr_expect_eq(xb_dp_set_max_bans(dp, 7, false, &held), -ERANGE, "below the grown table");
	cr_expect_eq(xb_dp_set_max_bans(dp, 8, false, &held), 0, "down to it is fine");
	cr_expect_eq(xb_dp_max_bans(dp), 8);
	cr_expect_eq(xb_dp_set_max_bans(dp, 0, false, &held), 0);
	cr_expect_eq(xb_dp_max_bans(dp), XB_DEF_MAX_BANS, "0: the default");
}

Test(dataplane, allow_list_refuses_bans_and_unallow)
{
	struct xb_addr net = A("198.18.4.0/24"), host = A("198.18.4.4"), out = A("198.18.5.5");
	struct xb_addr wider = A("198.18.0.0/16");

	open_dp(0);
	cr_assert_eq(xb_dp_allow(dp, &net), 0);
	cr_assert_eq(xb_dp_allow(dp, &net), 0, "allowing twice is fine");
	cr_expect_eq(xb_dp_ban(dp, &host, &perm), -EPERM);
	cr_expect_eq(xb_dp_ban(dp, &out, &perm), 0);
	/* A wider prefix is not wholly allowed: stored; the program lets the
	 * allowed part through. */
	cr_expect_eq(xb_dp_ban(dp, &wider, &perm), 0);
	cr_expect_eq(ctl_flags(), XB_CTL_ALLOW4 | XB_CTL_PFX4, "allow trie consulted while it has entries");
	cr_assert_eq(xb_dp_unallow(dp, &net), 0);
	cr_expect_eq(ctl_flags(), XB_CTL_PFX4, "and skipped once it is empty");
	cr_expect_eq(xb_dp_unallow(dp, &net), -ENOENT);
	cr_expect_eq(xb_dp_ban(dp, &host, &perm), 0);
}

struct seen {
	size_t bans, prefixes, with_reason, allows;
	char reason[XB_REASON_LEN];
};

static int count_ban(const struct xb_addr *a, const struct xb_ban *b, const struct xb_meta *m, void *ctx)
{
	struct seen *s = ctx;

	if (xb_addr_is_single(a))
		s->bans++;
	else
		s->prefixes++;
	if (m) {
		s->with_reason++;
		memcpy(s->reason, m->reason, sizeof(s->reason));
	}
	return 0;
}

static int count_allow(const struct xb_addr *a, const struct xb_allow *v, void *ctx)
{
	((struct seen *)ctx)->allows++;
	return 0;
}

Test(dataplane, batch_bans_many_and_foreach_sees_them)
{
	const size_t n = 20000;
	struct xb_addr *v = calloc(n, sizeof(*v));
	struct xb_ban_req req = { .flags = XB_BAN_F_MANUAL, .reason = "bulk" };
	struct seen s = {};
	size_t done = 0;

	cr_assert_not_null(v);
	for (size_t i = 0; i < n; i++) {
		char buf[64];

		if (i % 2)
			snprintf(buf, sizeof(buf), "2001:db8:%zx::%zx", i >> 16, i & 0xffff);
		else
			snprintf(buf, sizeof(buf), "198.18.%zu.%zu", (i >> 8) & 0xff, i & 0xff);
		cr_assert_eq(xb_addr_parse(buf, &v[i], false), 0, "%s", buf);
	}
	/* Half are IPv4 with duplicates past 512 (198.18.x.y wraps at 65536
	 * only, so none here): all distinct. */
	v[n - 1] = A("198.18.200.0/24");
	open_dp(0);
	cr_assert_eq(xb_dp_ban_batch(dp, v, n, &req, &done), 0);
	cr_expect_eq(done, n);
	/* Again: every one is re-armed, none duplicated. */
	cr_assert_eq(xb_dp_ban_batch(dp, v, 100, &req, &done), 0);
	cr_expect_eq(done, 100);
	cr_assert_eq(xb_dp_foreach_ban(dp, count_ban, &s), 0);
	cr_expect_eq(s.bans, n - 1);
	cr_expect_eq(s.prefixes, 1);
	cr_expect_eq(s.with_reason, n);
	cr_expect_str_eq(s.reason, "bulk");
	free(v);
}

Test(dataplane, batch_stops_at_allowed_address)
{
	struct xb_addr v[5] = { A("198.18.0.1"), A("198.18.0.2"), A("198.18.9.9"), A("198.18.0.4"),
				A("198.18.0.5") };
	struct xb_addr net = A("198.18.9.0/24");
	struct xb_ban b;
	size_t done = 99;

	open_dp(0);
	cr_assert_eq(xb_dp_allow(dp, &net), 0);
	cr_assert_eq(xb_dp_ban_batch(dp, v, 5, &perm, &done), -EPERM);
	cr_expect_eq(done, 2, "stored up to the allowed one");
	cr_expect_eq(xb_dp_lookup(dp, &v[1], &b), 0);
	cr_expect_eq(xb_dp_lookup(dp, &v[3], &b), -ENOENT, "the rest left untouched");
	cr_assert_eq(xb_dp_ban_batch(dp, v + 3, 2, &perm, &done), 0);
	cr_expect_eq(done, 2);
}

Test(dataplane, batch_full_reports_enospc_and_count)
{
	struct xb_addr v[10];
	size_t done = 0;
	char s[32];

	for (int i = 0; i < 10; i++) {
		snprintf(s, sizeof(s), "2001:db8::%x", i + 1);
		v[i] = A(s);
	}
	open_dp(6);
	cr_assert_eq(xb_dp_ban_batch(dp, v, 10, &perm, &done), -ENOSPC);
	cr_expect_eq(done, 6);
}

Test(dataplane, sweep_removes_only_expired)
{
	struct xb_ban_req old = { .expires = xb_now_mono_ns() - 1, .reason = "old" };
	struct xb_ban_req live = { .expires = xb_now_mono_ns() + 3600 * NSEC_PER_SEC, .reason = "live" };
	struct xb_addr e1 = A("198.18.0.1"), e2 = A("2001:db8::/64"), l1 = A("198.18.0.2");
	struct xb_addr p1 = A("2001:db8::7");
	struct seen s = {};
	size_t removed = 0;
	struct xb_ban b;

	open_dp(0);
	cr_assert_eq(xb_dp_ban(dp, &e1, &old), 0);
	cr_assert_eq(xb_dp_ban(dp, &e2, &old), 0);
	cr_assert_eq(xb_dp_ban(dp, &l1, &live), 0);
	cr_assert_eq(xb_dp_ban(dp, &p1, &perm), 0);
	cr_assert_eq(xb_dp_sweep(dp, &removed), 0);
	cr_expect_eq(removed, 2);
	cr_expect_eq(xb_dp_lookup(dp, &e1, &b), -ENOENT);
	cr_expect_eq(xb_dp_lookup(dp, &e2, &b), -ENOENT);
	cr_expect_eq(xb_dp_lookup(dp, &l1, &b), 0);
	cr_expect_eq(xb_dp_lookup(dp, &p1, &b), 0);
	cr_expect_eq(ctl_flags(), 0, "last prefix gone: flag cleared");
	cr_assert_eq(xb_dp_foreach_ban(dp, count_ban, &s), 0);
	cr_expect_eq(s.with_reason, 1, "reasons of swept bans removed too");
}

Test(dataplane, flush_removes_bans_keeps_allow_list)
{
	struct xb_addr a = A("198.18.0.1"), p = A("198.18.2.0/24"), al = A("198.18.3.3");
	struct xb_ban_req r = { .reason = "x" };
	struct seen s = {};
	int fd;
	char key[32];

	open_dp(0);
	cr_assert_eq(xb_dp_ban(dp, &a, &r), 0);
	cr_assert_eq(xb_dp_ban(dp, &p, &r), 0);
	cr_assert_eq(xb_dp_allow(dp, &al), 0);
	cr_assert_eq(xb_dp_flush(dp), 0);
	cr_assert_eq(xb_dp_foreach_ban(dp, count_ban, &s), 0);
	cr_expect_eq(s.bans + s.prefixes, 0);
	cr_assert_eq(xb_dp_foreach_allow(dp, count_allow, &s), 0);
	cr_expect_eq(s.allows, 1);
	cr_expect_eq(ctl_flags(), XB_CTL_ALLOW4, "prefix flags cleared, allow flag kept");
	fd = pinned_fd(XB_MAP_META);
	cr_expect_neq(bpf_map_get_next_key(fd, NULL, key), 0, "no reasons left");
	close(fd);
}

Test(dataplane, stats_start_at_zero)
{
	uint64_t v[XB_STAT_MAX];

	open_dp(0);
	memset(v, 0xff, sizeof(v));
	cr_assert_eq(xb_dp_stats(dp, v), 0);
	for (int i = 0; i < XB_STAT_MAX; i++)
		cr_expect_eq(v[i], 0, "counter %d", i);
}

/* seen is passed + dropped, whatever the map's own seen slot holds (a pin
 * an older build counted in). */
Test(dataplane, stats_seen_is_passed_plus_dropped)
{
	int ncpu = libbpf_num_possible_cpus(), fd;
	uint64_t v[XB_STAT_MAX];
	__u32 zero = 0;

	open_dp(0);
	cr_assert_gt(ncpu, 0);
	{
		struct xb_stats vals[ncpu];

		memset(vals, 0, sizeof(vals));
		for (int c = 0; c < ncpu; c++) {
			vals[c].v[XB_STAT_SEEN] = 1000;
			vals[c].v[XB_STAT_PASSED] = 3;
			vals[c].v[XB_STAT_DROPPED] = 4;
		}
		fd = pinned_fd(XB_MAP_STATS);
		cr_assert_eq(bpf_map_update_elem(fd, &zero, vals, BPF_ANY), 0);
		close(fd);
	}
	cr_assert_eq(xb_dp_stats(dp, v), 0);
	cr_expect_eq(v[XB_STAT_SEEN], 7ull * ncpu);
	cr_expect_eq(v[XB_STAT_PASSED], 3ull * ncpu);
	cr_expect_eq(v[XB_STAT_DROPPED], 4ull * ncpu);
}

Test(dataplane, bad_addresses_are_einval)
{
	struct xb_addr a = A("198.18.0.1");

	open_dp(0);
	a.family = 5;
	cr_expect_eq(xb_dp_ban(dp, &a, &perm), -EINVAL);
	cr_expect_eq(xb_dp_unban(dp, &a), -EINVAL);
	cr_expect_eq(xb_dp_allow(dp, &a), -EINVAL);
	a.family = 4;
	a.prefixlen = 33;
	cr_expect_eq(xb_dp_ban(dp, &a, &perm), -EINVAL);
}

Test(dataplane, mode_names_round_trip)
{
	enum xb_mode m;

	cr_assert_eq(xb_mode_parse("generic", &m), 0);
	cr_expect_eq(m, XB_MODE_GENERIC);
	cr_assert_eq(xb_mode_parse("native", &m), 0);
	cr_expect_str_eq(xb_mode_str(m), "native");
	cr_expect_eq(xb_mode_parse("skb", &m), -EINVAL);
}

struct links {
	int n;
	char name[32];
	enum xb_mode mode;
};

static int on_link(const char *ifname, int ifindex, enum xb_mode mode, void *ctx)
{
	struct links *l = ctx;

	l->n++;
	snprintf(l->name, sizeof(l->name), "%s", ifname);
	l->mode = mode;
	cr_expect_gt(ifindex, 0);
	return 0;
}

/* Criterion runs each test in its own process: a private network
 * namespace gives a loopback to attach to without touching the host. */
Test(dataplane, attach_detach_in_private_netns)
{
	struct links l = {};
	enum xb_mode used = XB_MODE_NATIVE;

	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s", strerror(errno));
	open_dp(0);
	cr_expect_eq(xb_dp_attach(dp, "xbnosuch0", XB_MODE_AUTO, &used), -ENODEV);
	cr_expect_eq(xb_dp_detach(dp, "lo"), -ENOENT);
	/* lo has no native XDP: auto falls back to generic. */
	cr_assert_eq(xb_dp_attach(dp, "lo", XB_MODE_AUTO, &used), 0);
	cr_expect_eq(used, XB_MODE_GENERIC);
	cr_assert_eq(xb_dp_foreach_link(dp, on_link, &l), 0);
	cr_expect_eq(l.n, 1);
	cr_expect_str_eq(l.name, "lo");
	cr_expect_eq(l.mode, XB_MODE_GENERIC);
	/* Again: replaced in place; a different mode is refused. */
	cr_expect_eq(xb_dp_attach(dp, "lo", XB_MODE_GENERIC, &used), 0);
	cr_expect_eq(xb_dp_attach(dp, "lo", XB_MODE_NATIVE, &used), -EEXIST);
	cr_assert_eq(xb_dp_detach(dp, "lo"), 0);
	l.n = 0;
	cr_assert_eq(xb_dp_foreach_link(dp, on_link, &l), 0);
	cr_expect_eq(l.n, 0);
	cr_expect_eq(xb_dp_attach(dp, "lo", XB_MODE_NATIVE, &used), -EOPNOTSUPP);
}

static struct xb_addr *v6_run(size_t n)
{
	struct xb_addr *v = calloc(n, sizeof(*v));
	char buf[64];

	cr_assert_not_null(v);
	for (size_t i = 0; i < n; i++) {
		snprintf(buf, sizeof(buf), "2001:db8:%zx:%zx::1", i >> 16, i & 0xffff);
		cr_assert_eq(xb_addr_parse(buf, &v[i], false), 0, "%s", buf);
	}
	return v;
}

struct prefix_check {
	const struct xb_addr *v;
	size_t n, stored, outside;
};

/* v6_run's address i is 2001:db8:(i>>16):(i&0xffff)::1: decode i back. */
static int in_prefix(const struct xb_addr *a, const struct xb_ban *b, const struct xb_meta *m, void *ctx)
{
	struct prefix_check *c = ctx;
	size_t i = (size_t)(a->bytes[4] << 8 | a->bytes[5]) << 16 | (a->bytes[6] << 8 | a->bytes[7]);

	c->stored++;
	if (i >= c->n || !xb_addr_eq(a, &c->v[i]))
		c->outside++;
	return 0;
}

/* Big loads into an empty map take the two-thread path. */
Test(dataplane, big_batch_into_empty_map)
{
	const size_t n = 50000;
	struct xb_addr *v = v6_run(n);
	struct seen s = {};
	size_t done = 0;
	struct xb_ban b;

	open_dp(0);
	cr_assert_eq(xb_dp_ban_batch(dp, v, n, &perm, &done), 0);
	cr_expect_eq(done, n);
	cr_assert_eq(xb_dp_foreach_ban(dp, count_ban, &s), 0);
	cr_expect_eq(s.bans, n);
	cr_expect_eq(xb_dp_lookup(dp, &v[0], &b), 0);
	cr_expect_eq(xb_dp_lookup(dp, &v[n - 1], &b), 0);
	free(v);
}

/* More than fits: what is stored is exactly the first *done addresses. */
Test(dataplane, big_batch_full_keeps_the_prefix_contract)
{
	const size_t n = 50000;
	const uint32_t caps[] = { 40000, 15000 };

	for (size_t c = 0; c < ARRAY_SIZE(caps); c++) {
		struct xb_addr *v = v6_run(n);
		struct prefix_check pc = { .v = v };
		size_t done = 0;

		open_dp(caps[c]);
		cr_assert_eq(xb_dp_ban_batch(dp, v, n, &perm, &done), -ENOSPC);
		cr_expect_leq(done, caps[c]);
		pc.n = done;
		cr_assert_eq(xb_dp_foreach_ban(dp, in_prefix, &pc), 0);
		cr_expect_eq(pc.stored, done, "cap %u: stored %zu, done %zu", caps[c], pc.stored, done);
		cr_expect_eq(pc.outside, 0, "cap %u: only addrs[0..done) stored", caps[c]);
		cr_expect_eq(done, caps[c], "filled to the last slot");
		xb_dp_close(dp);
		dp = NULL;
		rm_pins();
		free(v);
	}
}

/* xb_dp_ban_many: each address keeps its own request, in the threaded
 * big-run path as well as the small one, and counters of existing bans stay. */
Test(dataplane, ban_many_keeps_each_expiry)
{
	const size_t n = 50000;     /* several reason batches */
	struct xb_addr *v = v6_run(n);
	struct xb_ban_req *r = calloc(n + 3, sizeof(*r));
	struct xb_addr small[4] = { A("198.18.0.7"), A("198.18.0.8"), A("198.18.7.0/24"),
				    A("2001:db8:1::7") };
	struct seen s = {};
	uint64_t t0 = xb_now_mono_ns();
	struct xb_ban b;
	size_t done = 0;

	cr_assert_not_null(v);
	cr_assert_not_null(r);
	for (size_t i = 0; i < n; i++) {
		r[i].expires = t0 + (i + 1) * NSEC_PER_SEC;
		r[i].rule = 5700 + i % 50;
		r[i].offence = i % 7 + 1;
		r[i].flags = XB_BAN_F_DAEMON;
	}
	open_dp(0);
	cr_assert_eq(xb_dp_ban_many(dp, v, r, n, &done), 0);
	cr_expect_eq(done, n);
	for (size_t i = 0; i < n; i += 997) {
		cr_assert_eq(xb_dp_lookup(dp, &v[i], &b), 0);
		cr_expect_eq(b.expires, r[i].expires, "entry %zu", i);
		cr_expect_eq(b.rule, r[i].rule, "entry %zu", i);
		cr_expect_eq(b.offence, r[i].offence, "entry %zu", i);
	}
	cr_assert_eq(xb_dp_lookup(dp, &v[n - 1], &b), 0);
	cr_expect_eq(b.expires, r[n - 1].expires);

	/* Mixed families and a prefix, reasons on some; an existing ban's
	 * counters survive its re-arm. */
	cr_assert_eq(xb_dp_ban(dp, &small[0], &perm), 0);
	set_counters(&small[0], 5, 0);
	struct xb_ban_req sr[4] = {
		{ .expires = t0 + 11 * NSEC_PER_SEC, .rule = 1, .reason = "first" },
		{ .expires = t0 + 12 * NSEC_PER_SEC, .rule = 2 },
		{ .expires = t0 + 22 * NSEC_PER_SEC, .rule = 3 },
		{ .expires = 0, .rule = 4, .reason = "fourth" },
	};
	cr_assert_eq(xb_dp_ban_many(dp, small, sr, 4, &done), 0);
	cr_expect_eq(done, 4);
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(xb_dp_lookup(dp, &small[i], &b), 0);
		cr_expect_eq(b.expires, sr[i].expires, "small %d", i);
		cr_expect_eq(b.rule, sr[i].rule, "small %d", i);
		if (i == 0)
			cr_expect_eq(b.packets, 5, "counters kept");
	}
	/* Reasons only where asked for (one batch mixes both). */
	cr_assert_eq(xb_dp_foreach_ban(dp, count_ban, &s), 0);
	cr_expect_eq(s.with_reason, 2);
	cr_expect_eq(s.bans, n + 3);
	free(v);
	free(r);
}

Test(dataplane, ban_many_stops_at_allowed_and_full)
{
	struct xb_addr v[4] = { A("198.18.0.1"), A("198.18.9.9"), A("198.18.0.3"), A("198.18.0.4") };
	struct xb_ban_req r[4] = { { .expires = 1, .rule = 1 }, { .rule = 2 }, { .rule = 3 }, { .rule = 4 } };
	struct xb_addr net = A("198.18.9.0/24");
	struct xb_ban b;
	size_t done = 99;

	open_dp(2);
	cr_assert_eq(xb_dp_allow(dp, &net), 0);
	cr_assert_eq(xb_dp_ban_many(dp, v, r, 4, &done), -EPERM);
	cr_expect_eq(done, 1, "stored up to the allowed one");
	cr_assert_eq(xb_dp_lookup(dp, &v[0], &b), 0);
	cr_expect_eq(b.rule, 1);
	cr_expect_eq(xb_dp_lookup(dp, &v[2], &b), -ENOENT);
	/* Two slots: v[0] holds one but has expired, so it gives its slot up;
	 * a live ban never does. */
	cr_assert_eq(xb_dp_ban_many(dp, v + 2, r + 2, 2, &done), 0);
	cr_expect_eq(done, 2);
	cr_expect_eq(xb_dp_lookup(dp, &v[0], &b), -ENOENT, "the expired ban made room");
	cr_assert_eq(xb_dp_lookup(dp, &v[2], &b), 0);
	cr_expect_eq(b.rule, 3);
	cr_assert_eq(xb_dp_ban_many(dp, v, r + 1, 1, &done), -ENOSPC);
	cr_expect_eq(done, 0, "full of live bans");
	cr_assert_eq(xb_dp_lookup(dp, &v[3], &b), 0, "nothing evicted");
}

/* --- growth ----------------------------------------------------------------- */

/* The program the link on ifname runs now. */
static int link_prog(const char *ifname, __u32 *id)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	char path[256];
	int fd, pfd;

	snprintf(path, sizeof(path), "%s/link_%s", dir, ifname);
	fd = bpf_obj_get(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	close(fd);
	*id = info.prog_id;
	pfd = bpf_prog_get_fd_by_id(info.prog_id);
	cr_assert_geq(pfd, 0);
	return pfd;
}

/* XDP verdict of prog for an IPv4 frame from src (a 60-byte frame). */
static int verdict4(int prog, const struct xb_addr *src)
{
	unsigned char f[64] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f, .data_size_in = 60);

	f[12] = 0x08, f[13] = 0x00;             /* IPv4 */
	f[14] = 0x45;
	f[16] = 0, f[17] = 46;                  /* total length */
	f[22] = 64, f[23] = 17;                 /* ttl, UDP */
	memcpy(f + 26, src->bytes, 4);
	f[30] = 198, f[31] = 19, f[33] = 1;     /* 198.19.0.1 */
	cr_assert_eq(bpf_prog_test_run_opts(prog, &o), 0);
	return (int)o.retval;
}

static struct xb_addr nth4(uint32_t i)
{
	char s[32];

	snprintf(s, sizeof(s), "198.18.%u.%u", (i >> 8) & 0xff, i & 0xff);
	return A(s);
}

static uint32_t pinned_entries(const char *name)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd = pinned_fd(name);

	cr_assert_eq(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	close(fd);
	return info.max_entries;
}

/* Banning past the first capacity grows the table: the link runs a new
 * program on new maps, every ban still drops, counts are kept, and another
 * handle (a second process's) reloads and bans into the grown table. */
Test(dataplane, full_table_grows_online_keeping_bans_and_counts)
{
	enum { N = XB_INIT_BANS + 2000 };
	struct xb_addr *a = calloc(N, sizeof(*a)), extra = A("198.18.100.1");
	struct xb_dp_opts o2 = { .pin_dir = dir, .no_create = true };
	struct xb_dp *dp2 = NULL;
	struct xb_ban got;
	struct xb_ctl c;
	struct xb_grow g;
	uint32_t zero = 0, live, cap, id0, id1;
	size_t done = 0;
	int prog, drops = 0;

	cr_assert_not_null(a);
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s", strerror(errno));
	open_dp(100000);
	cr_assert_eq(xb_dp_attach(dp, "lo", XB_MODE_GENERIC, NULL), 0);
	cr_assert_eq(xb_dp_open(&o2, &dp2), 0);
	for (uint32_t i = 0; i < N; i++)
		a[i] = nth4(i);
	cr_assert_eq(xb_dp_ban(dp, &a[0], &perm), 0);
	prog = link_prog("lo", &id0);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(verdict4(prog, &a[0]), XDP_DROP);
	close(prog);
	cr_assert_eq(pinned_entries(XB_MAP_BAN4), xb_tab_buckets(XB_INIT_BANS));

	cr_assert_eq(xb_dp_ban_batch(dp, a, N, &perm, &done), 0);
	cr_assert_eq(done, N);
	cr_expect_eq(pinned_entries(XB_MAP_BAN4), xb_tab_buckets(XB_INIT_BANS * XB_GROW_FACTOR),
		     "ban4 grown and re-pinned");
	cr_expect_eq(pinned_entries(XB_MAP_BAN6), xb_tab_buckets(XB_INIT_BANS), "ban6 kept");
	cr_assert_eq(xb_dp_table_fill(dp, 4, &live, &cap), 0);
	cr_expect_eq(live, N);
	cr_expect_eq(cap, XB_INIT_BANS * XB_GROW_FACTOR);
	{
		int fd = pinned_fd(XB_MAP_CTL);

		cr_assert_eq(bpf_map_lookup_elem(fd, &zero, &c), 0);
		close(fd);
		fd = pinned_fd(XB_MAP_GROW);
		cr_assert_eq(bpf_map_lookup_elem(fd, &zero, &g), 0);
		close(fd);
	}
	cr_expect_eq(g.gen, 1);
	cr_expect_eq(c.live4, N);

	prog = link_prog("lo", &id1);
	cr_expect_neq(id1, id0, "the link runs the new program");
	for (uint32_t i = 0; i < N; i++)
		drops += verdict4(prog, &a[i]) == XDP_DROP;
	cr_expect_eq(drops, N, "every ban drops after the growth");
	cr_expect_eq(verdict4(prog, &extra), XDP_PASS);
	cr_assert_eq(xb_dp_lookup(dp, &a[0], &got), 0);
	cr_expect_eq(got.packets, 4, "3 dropped before the growth, 1 after");

	/* The second handle still holds the old maps: it reloads at its lock. */
	cr_assert_eq(xb_dp_ban(dp2, &extra, &perm), 0);
	cr_expect_eq(verdict4(prog, &extra), XDP_DROP, "a ban from the stale handle lands");
	cr_assert_eq(xb_dp_lookup(dp2, &a[0], &got), 0);
	cr_expect_eq(got.packets, 4);
	close(prog);
	xb_dp_close(dp2);
	free(a);
}

/* The ctl value as versions before growth pinned it: flags .. cap6. */
#define OLD_CTL_SIZE 48

/* Pins left by a version with fixed-size tables (here made for 5,000 bans:
 * its ctl is 48 bytes, and it had no growth state) keep working after the
 * upgrade, bans kept, and the table grows from them. */
Test(dataplane, pins_of_the_fixed_size_version_open_and_grow)
{
	enum { OLD = 5000, N = OLD + 1000 };
	struct xb_addr *a = calloc(N, sizeof(*a));
	struct xb_dp_opts o = { .pin_dir = dir };
	unsigned char val[4096] = { 0 };
	char path[512];
	uint32_t zero = 0, live, cap;
	struct xb_ban got;
	size_t done = 0;
	int fd, nfd;
	LIBBPF_OPTS(bpf_map_create_opts, mo, .map_flags = BPF_F_MMAPABLE);

	cr_assert_not_null(a);
	open_dp(OLD);
	for (uint32_t i = 0; i < N; i++)
		a[i] = nth4(i);
	cr_assert_eq(xb_dp_ban(dp, &a[0], &perm), 0);
	xb_dp_close(dp);
	dp = NULL;
	/* Rewrite the pins as the old version left them. */
	fd = pinned_fd(XB_MAP_CTL);
	cr_assert_eq(bpf_map_lookup_elem(fd, &zero, val), 0);
	close(fd);
	nfd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "ctl", 4, OLD_CTL_SIZE, 1, &mo);
	cr_assert_geq(nfd, 0, "%s", strerror(errno));
	cr_assert_eq(bpf_map_update_elem(nfd, &zero, val, BPF_ANY), 0);
	snprintf(path, sizeof(path), "%s/%s", dir, XB_MAP_CTL);
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(bpf_obj_pin(nfd, path), 0);
	close(nfd);
	snprintf(path, sizeof(path), "%s/grow", dir);
	unlink(path);

	cr_assert_eq(xb_dp_open(&o, &dp), 0, "the old pins open");
	cr_assert_eq(xb_dp_lookup(dp, &a[0], &got), 0, "the old ban is there");
	cr_assert_eq(xb_dp_table_fill(dp, 4, &live, &cap), 0);
	cr_expect_eq(cap, OLD);
	cr_assert_eq(xb_dp_ban_batch(dp, a, N, &perm, &done), 0);
	cr_expect_eq(done, N);
	cr_assert_eq(xb_dp_table_fill(dp, 4, &live, &cap), 0);
	cr_expect_eq(live, N);
	cr_expect_eq(cap, OLD * XB_GROW_FACTOR, "grown from the old table");
	for (uint32_t i = 0; i < N; i++)
		cr_assert_eq(xb_dp_lookup(dp, &a[i], &got), 0, "ban %u", i);
	free(a);
}

/* A handle still holding the tables from before a growth (another
 * process's) that attaches must not point the link back at its old
 * program: a ban made after the growth still drops. */
Test(dataplane, attach_from_a_stale_handle_keeps_the_grown_tables)
{
	struct xb_dp_opts o2 = { .pin_dir = dir, .no_create = true };
	struct xb_addr a[12];
	struct xb_dp *dp2 = NULL;
	size_t done = 0;
	__u32 id;
	int prog;

	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s", strerror(errno));
	open_dp(8);             /* a table of 8 ... */
	xb_dp_close(dp);
	dp = NULL;
	open_dp(64);            /* ... that may grow to 64 */
	cr_assert_eq(xb_dp_attach(dp, "lo", XB_MODE_GENERIC, NULL), 0);
	cr_assert_eq(xb_dp_open(&o2, &dp2), 0);
	for (uint32_t i = 0; i < 12; i++)
		a[i] = nth4(i);
	cr_assert_eq(xb_dp_ban_batch(dp, a, 11, &perm, &done), 0);
	cr_assert_eq(done, 11, "grown past 8");
	cr_assert_eq(xb_dp_attach(dp2, "lo", XB_MODE_GENERIC, NULL), 0);
	cr_assert_eq(xb_dp_ban(dp, &a[11], &perm), 0);
	prog = link_prog("lo", &id);
	for (uint32_t i = 0; i < 12; i++)
		cr_expect_eq(verdict4(prog, &a[i]), XDP_DROP, "ban %u", i);
	close(prog);
	xb_dp_close(dp2);
}

extern int dp_grow_crash_at;

/* A process killed at step `step` of a growth (1: staging the new pins,
 * 2: staged, 3: renaming them, 4: links switched, nothing renamed): the
 * next open (and a handle that was open all along) find every ban, the link
 * drops them all, and bans made after land where the link looks. */
static void crash_mid_growth(int step)
{
	struct xb_dp_opts o2 = { .pin_dir = dir, .no_create = true };
	struct xb_addr a[12];
	struct xb_dp *fresh = NULL;
	struct xb_ban b;
	size_t done = 0;
	char path[512];
	int prog, st;
	__u32 id;
	pid_t pid;

	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s", strerror(errno));
	open_dp(8);
	xb_dp_close(dp);
	dp = NULL;
	open_dp(64);            /* the stale handle, open throughout */
	cr_assert_eq(xb_dp_attach(dp, "lo", XB_MODE_GENERIC, NULL), 0);
	for (uint32_t i = 0; i < 12; i++)
		a[i] = nth4(i);
	cr_assert_eq(xb_dp_ban_batch(dp, a, 8, &perm, &done), 0);
	cr_assert_eq(done, 8);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct xb_dp *c = NULL;

		if (xb_dp_open(&o2, &c))
			_exit(1);
		dp_grow_crash_at = step;
		xb_dp_ban(c, &a[8], &perm);     /* the 9th: grows, and dies there */
		_exit(2);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 86, "the child died mid-growth (%d)", st);

	cr_assert_eq(xb_dp_open(&o2, &fresh), 0, "the pins open after the crash");
	for (int i = 0; i < 8; i++)
		cr_expect_eq(xb_dp_lookup(fresh, &a[i], &b), 0, "ban %d kept", i);
	snprintf(path, sizeof(path), "%s/grow_ctl", dir);
	cr_expect_neq(access(path, F_OK), 0, "no staged pins left");
	cr_assert_eq(xb_dp_ban(dp, &a[9], &perm), 0, "the stale handle bans");
	cr_assert_eq(xb_dp_ban(fresh, &a[10], &perm), 0, "the fresh handle bans");
	cr_assert_eq(xb_dp_ban(fresh, &a[11], &perm), 0);
	prog = link_prog("lo", &id);
	for (int i = 0; i < 12; i++)
		if (i != 8)
			cr_expect_eq(verdict4(prog, &a[i]), XDP_DROP, "ban %d drops", i);
	close(prog);
	cr_expect_eq(xb_dp_lookup(dp, &a[10], &b), 0, "the stale handle sees the fresh one's ban");
	xb_dp_close(fresh);
}

Test(dataplane, crash_while_staging_grown_pins) { crash_mid_growth(1); }
Test(dataplane, crash_with_grown_pins_staged) { crash_mid_growth(2); }
Test(dataplane, crash_while_renaming_grown_pins) { crash_mid_growth(3); }
Test(dataplane, crash_after_links_switched) { crash_mid_growth(4); }

/* The link was attached by one process (the daemon's program) and another
 * (a CLI ban) grows the tables: the link must be switched all the same. */
Test(dataplane, growth_in_another_process_switches_its_link)
{
	struct xb_dp_opts o2 = { .pin_dir = dir, .no_create = true };
	struct xb_addr a[12];
	struct xb_dp *dp2 = NULL;
	size_t done = 0;
	__u32 id0, id1;
	int prog;

	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s", strerror(errno));
	open_dp(8);
	xb_dp_close(dp);
	dp = NULL;
	open_dp(64);
	cr_assert_eq(xb_dp_attach(dp, "lo", XB_MODE_GENERIC, NULL), 0);
	close(link_prog("lo", &id0));
	cr_assert_eq(xb_dp_open(&o2, &dp2), 0);
	for (uint32_t i = 0; i < 12; i++)
		a[i] = nth4(i);
	cr_assert_eq(xb_dp_ban_batch(dp2, a, 12, &perm, &done), 0);
	cr_assert_eq(done, 12, "grown past 8");
	prog = link_prog("lo", &id1);
	cr_expect_neq(id1, id0, "the link was switched");
	for (uint32_t i = 0; i < 12; i++)
		cr_expect_eq(verdict4(prog, &a[i]), XDP_DROP, "ban %u", i);
	close(prog);
	xb_dp_close(dp2);
}
