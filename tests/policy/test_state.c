// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <criterion/criterion.h>

#include <sqlite3.h>

#include "common/records.h"
#include "policy/state.h"
#include "xdpban.h"

static struct xb_addr A(const char *s)
{
	struct xb_addr a;

	cr_assert_eq(xb_addr_parse(s, &a, false), 0, "%s", s);
	return a;
}

static char dir[64];

static void mkdir_tmp(void)
{
	strcpy(dir, "/tmp/xb-state-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void rm_tmp(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

static int collect(const struct xb_state_ban *b, void *ctx)
{
	struct xb_state_ban *arr = ctx;
	size_t i = 0;

	while (arr[i].addr.family)
		i++;
	arr[i] = *b;
	return 0;
}

Test(state, offences_and_bans_survive_reopen, .init = mkdir_tmp, .fini = rm_tmp)
{
	struct xb_state *st;
	struct xb_offence o = { .count = 3, .first = 100, .last = 200, .until = 5600 }, g;
	struct xb_state_ban b = { .addr = A("198.18.0.7"), .cmd = "firewall-drop", .rule = 5712,
				  .offence = 3, .flags = XB_BAN_F_DAEMON, .created = 200, .expires = 5600 }, gb;
	struct stat sb;
	char path[128], v[32];
	size_t n;

	cr_assert_eq(xb_state_open(dir, &st), 0);
	cr_assert_eq(xb_state_offence_put(st, &b.addr, "firewall-drop", &o), 0);
	cr_assert_eq(xb_state_ban_put(st, &b), 0);
	cr_assert_eq(xb_state_meta_put(st, "cursor", "s=abc"), 0);
	xb_state_close(st);

	snprintf(path, sizeof(path), "%s/" XB_STATE_DB, dir);
	cr_assert_eq(stat(path, &sb), 0);
	cr_expect_eq(sb.st_mode & 0777, 0600, "db mode %o", sb.st_mode & 0777);
	cr_assert_eq(stat(dir, &sb), 0);
	cr_expect_eq(sb.st_mode & 0777, 0700, "dir mode %o", sb.st_mode & 0777);

	cr_assert_eq(xb_state_open(dir, &st), 0);
	cr_assert_eq(xb_state_offence_get(st, &b.addr, "firewall-drop", &g), 0);
	cr_expect_eq(g.count, 3);
	cr_expect_eq(g.until, 5600);
	cr_expect_eq(xb_state_offence_get(st, &b.addr, "other", &g), -ENOENT);
	cr_assert_eq(xb_state_ban_get(st, &b.addr, &gb), 0);
	cr_expect_eq(gb.rule, 5712);
	cr_expect_eq(gb.offence, 3);
	cr_expect_eq(gb.expires, 5600);
	cr_expect_str_eq(gb.cmd, "firewall-drop");
	cr_expect(xb_addr_eq(&gb.addr, &b.addr));
	cr_assert_eq(xb_state_meta_get(st, "cursor", v, sizeof(v)), 0);
	cr_expect_str_eq(v, "s=abc");
	cr_expect_eq(xb_state_meta_get(st, "nope", v, sizeof(v)), -ENOENT);
	/* No duplicate: a second put replaces. */
	b.offence = 4;
	cr_assert_eq(xb_state_ban_put(st, &b), 0);
	cr_assert_eq(xb_state_ban_count(st, &n), 0);
	cr_expect_eq(n, 1);
	cr_expect_eq(xb_state_ban_del(st, &b.addr), 0);
	cr_expect_eq(xb_state_ban_del(st, &b.addr), -ENOENT);
	xb_state_close(st);
}

Test(state, active_and_reap)
{
	struct xb_state *st;
	struct xb_state_ban got[8];
	const char *addrs[] = { "198.18.0.1", "198.18.0.2", "2001:db8::1", "2001:db8::/64" };
	int64_t exp[] = { 100, 300, 0, 200 };
	size_t n;

	cr_assert_eq(xb_state_open(XB_STATE_MEMORY, &st), 0);
	for (int i = 0; i < 4; i++) {
		struct xb_state_ban b = { .addr = A(addrs[i]), .cmd = "firewall-drop",
					  .rule = 5712, .offence = 1, .expires = exp[i] };

		cr_assert_eq(xb_state_ban_put(st, &b), 0);
	}
	memset(got, 0, sizeof(got));
	cr_assert_eq(xb_state_ban_foreach_active(st, 150, collect, got), 0);
	/* permanent first (expires 0), then by expiry; the one ended at 100 is out */
	cr_expect_eq(got[0].expires, 0);
	cr_expect_eq(got[1].expires, 200);
	cr_expect_eq(got[2].expires, 300);
	cr_expect_eq(got[3].addr.family, 0);

	memset(got, 0, sizeof(got));
	cr_assert_eq(xb_state_ban_foreach_within(st, &(struct xb_addr){0}, collect, got), 0);
	memset(got, 0, sizeof(got));
	{
		struct xb_addr pfx = A("2001:db8::/64");

		cr_assert_eq(xb_state_ban_foreach_within(st, &pfx, collect, got), 0);
		cr_expect_eq(got[0].addr.family, 6);
		cr_expect_eq(got[0].addr.prefixlen, 128);
		cr_expect_eq(got[1].addr.family, 0);
	}

	memset(got, 0, sizeof(got));
	cr_assert_eq(xb_state_ban_reap(st, 250, collect, got), 0);
	cr_expect_eq(got[0].addr.family, 4);
	cr_expect_eq(got[1].addr.family, 6);
	cr_expect_eq(got[2].addr.family, 0);
	cr_assert_eq(xb_state_ban_count(st, &n), 0);
	cr_expect_eq(n, 2);
	memset(got, 0, sizeof(got));
	cr_assert_eq(xb_state_ban_reap(st, 250, collect, got), 0);
	cr_expect_eq(got[0].addr.family, 0, "reaped twice");
	xb_state_close(st);
}

Test(state, v6_distinct_and_forget)
{
	struct xb_state *st;
	struct xb_addr pfx = A("2001:db8:1:2::/64");
	const char *hosts[] = { "2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2::1", "2001:db8:1:2::3" };
	unsigned d = 0;
	size_t n = 0;
	struct xb_offence o = { .count = 1, .first = 10, .last = 10, .until = 100 };

	cr_assert_eq(xb_state_open(NULL, &st), 0);
	for (int i = 0; i < 3; i++) {
		struct xb_addr h = A(hosts[i]);

		cr_assert_eq(xb_state_v6_seen(st, &pfx, &h, 1000 + i, 0, &d), 0);
	}
	cr_expect_eq(d, 2, "a repeated address counts once");
	{
		struct xb_addr h = A(hosts[3]);

		/* window starts after the first two: only ::1 (again at 1002) and ::3 */
		cr_assert_eq(xb_state_v6_seen(st, &pfx, &h, 5000, 1002, &d), 0);
		cr_expect_eq(d, 2);
	}
	cr_assert_eq(xb_state_offence_put(st, &pfx, "firewall-drop", &o), 0);
	o.until = XB_UNTIL_FOREVER;
	cr_assert_eq(xb_state_offence_put(st, &(struct xb_addr){ .family = 4, .prefixlen = 32 },
					  "firewall-drop", &o), 0);
	cr_assert_eq(xb_state_offence_forget(st, 99, &n), 0);
	cr_expect_eq(n, 0);
	cr_assert_eq(xb_state_offence_forget(st, 100, &n), 0);
	cr_expect_eq(n, 1, "permanent histories are kept");
	xb_state_close(st);
}

Test(state, transaction_rollback)
{
	struct xb_state *st;
	struct xb_state_ban b = { .addr = A("198.18.0.9"), .cmd = "firewall-drop", .expires = 10 };
	size_t n;

	cr_assert_eq(xb_state_open(NULL, &st), 0);
	cr_assert_eq(xb_state_begin(st), 0);
	cr_assert_eq(xb_state_ban_put(st, &b), 0);
	xb_state_rollback(st);
	cr_assert_eq(xb_state_ban_count(st, &n), 0);
	cr_expect_eq(n, 0);
	xb_state_close(st);
}

static int count_cb(const struct xb_state_ban *b, void *ctx)
{
	(void)b;
	++*(size_t *)ctx;
	return 0;
}

static struct xb_state_ban sban(const char *addr, int64_t expires)
{
	return (struct xb_state_ban){ .addr = A(addr), .cmd = "firewall-drop", .rule = 5712,
				      .offence = 1, .flags = XB_BAN_F_DAEMON, .created = 100,
				      .expires = expires };
}

/* Deferred writes: read back at once from memory, in the database (seen by
 * another connection) only after a flush; a deletion too. */
Test(state, deferred_writes_reach_the_database_at_flush, .init = mkdir_tmp, .fini = rm_tmp)
{
	struct xb_state *st, *other;
	struct xb_state_ban b = sban("198.18.0.7", 5600), gb;
	struct xb_offence o = { .count = 2, .first = 100, .last = 200, .until = 5600 }, g;
	struct xb_state_health h;
	size_t n = 0;

	cr_assert_eq(xb_state_open(dir, &st), 0);
	cr_assert_eq(xb_state_set_deferred(st), 0);
	cr_assert_eq(xb_state_open(dir, &other), 0);
	cr_assert_eq(xb_state_begin(st), 0);
	cr_assert_eq(xb_state_offence_put(st, &b.addr, "firewall-drop", &o), 0);
	cr_assert_eq(xb_state_ban_put(st, &b), 0);
	cr_assert_eq(xb_state_commit(st), 0);
	cr_expect_eq(xb_state_ban_get(st, &b.addr, &gb), 0, "read from memory");
	cr_expect_eq(xb_state_offence_get(st, &b.addr, "firewall-drop", &g), 0);
	cr_expect_eq(g.count, 2);
	cr_expect_eq(xb_state_ban_count(st, &n), 0);
	cr_expect_eq(n, 1);
	cr_expect_eq(xb_state_ban_get(other, &b.addr, &gb), -ENOENT, "not in the database yet");
	xb_state_health(st, &h);
	cr_expect(h.ok);
	cr_expect_eq(h.pending, 2);

	cr_assert_eq(xb_state_flush(st, 0), 0);
	cr_expect_eq(xb_state_ban_get(other, &b.addr, &gb), 0, "flushed");
	cr_expect_eq(gb.expires, 5600);
	cr_expect_eq(xb_state_offence_get(other, &b.addr, "firewall-drop", &g), 0);
	xb_state_health(st, &h);
	cr_expect_eq(h.pending, 0);

	cr_expect_eq(xb_state_ban_del(st, &b.addr), 0);
	cr_expect_eq(xb_state_ban_get(st, &b.addr, &gb), -ENOENT, "deleted in memory");
	cr_expect_eq(xb_state_ban_del(st, &b.addr), -ENOENT);
	n = 0;
	cr_assert_eq(xb_state_ban_foreach_active(st, 0, count_cb, &n), 0);
	cr_expect_eq(n, 0, "the deletion hides the database's row");
	cr_expect_eq(xb_state_ban_get(other, &b.addr, &gb), 0);
	cr_assert_eq(xb_state_flush(st, 0), 0);
	cr_expect_eq(xb_state_ban_get(other, &b.addr, &gb), -ENOENT);
	xb_state_close(other);
	xb_state_close(st);
}

/* Reads merge memory and the database: active, within, reap, v6 counts. */
Test(state, deferred_reads_merge)
{
	struct xb_state *st;
	struct xb_state_ban got[8];
	struct xb_addr pfx = A("2001:db8:7::/64"), h1 = A("2001:db8:7::1"), h2 = A("2001:db8:7::2");
	unsigned d = 0;
	size_t n = 0;

	cr_assert_eq(xb_state_open(XB_STATE_MEMORY, &st), 0);
	{
		struct xb_state_ban in_db[] = { sban("2001:db8:7::1", 300), sban("198.18.0.1", 100),
						sban("2001:db8:8::1", 0) };

		for (size_t i = 0; i < 3; i++)
			cr_assert_eq(xb_state_ban_put(st, &in_db[i]), 0);
		cr_assert_eq(xb_state_v6_seen(st, &pfx, &h1, 1000, 0, &d), 0);
	}
	cr_assert_eq(xb_state_set_deferred(st), 0);
	{
		struct xb_state_ban b = sban("2001:db8:7::2", 400), re = sban("2001:db8:7::1", 900);

		cr_assert_eq(xb_state_ban_put(st, &b), 0);
		cr_assert_eq(xb_state_ban_put(st, &re), 0);     /* overrides the database's */
	}
	memset(got, 0, sizeof(got));
	cr_assert_eq(xb_state_ban_foreach_within(st, &pfx, collect, got), 0);
	cr_expect_eq(got[2].addr.family, 0, "two inside, once each");
	cr_expect(got[0].expires == 900 || got[1].expires == 900);
	cr_expect(got[0].expires != 300 && got[1].expires != 300, "the old row is hidden");
	cr_assert_eq(xb_state_ban_foreach_active(st, 150, count_cb, &n), 0);
	cr_expect_eq(n, 3);
	memset(got, 0, sizeof(got));
	cr_assert_eq(xb_state_ban_reap(st, 500, collect, got), 0);
	/* the database's ended one and the one in memory, in any order */
	cr_expect_eq(got[0].addr.family + got[1].addr.family, 10);
	cr_expect_eq(got[2].addr.family, 0);
	memset(got, 0, sizeof(got));
	cr_assert_eq(xb_state_ban_reap(st, 500, collect, got), 0);
	cr_expect_eq(got[0].addr.family, 0, "reaped twice");
	cr_assert_eq(xb_state_ban_count(st, &n), 0);
	cr_expect_eq(n, 2);
	cr_assert_eq(xb_state_v6_seen(st, &pfx, &h2, 1001, 0, &d), 0);
	cr_expect_eq(d, 2, "one in the database, one in memory");
	cr_assert_eq(xb_state_v6_seen(st, &pfx, &h1, 1002, 0, &d), 0);
	cr_expect_eq(d, 2);
	cr_assert_eq(xb_state_flush(st, 1), 0);
	cr_assert_eq(xb_state_flush(st, 0), 0);
	cr_assert_eq(xb_state_ban_count(st, &n), 0);
	cr_expect_eq(n, 2);
	cr_assert_eq(xb_state_v6_seen(st, &pfx, &h2, 1003, 0, &d), 0);
	cr_expect_eq(d, 2);
	xb_state_close(st);
}

/* The reconciliation's walk: every active ban once, in slices, in order. */
Test(state, scan_in_slices)
{
	struct xb_state *st;
	struct xb_addr last, prev = { 0 };
	size_t n, total = 0, calls = 0;
	bool first = true;

	cr_assert_eq(xb_state_open(XB_STATE_MEMORY, &st), 0);
	for (int i = 0; i < 100; i++) {
		char a[32];
		struct xb_state_ban b;

		snprintf(a, sizeof(a), i % 2 ? "198.18.1.%d" : "2001:db8::%x", i);
		b = sban(a, i % 10 ? 1000 : 50);        /* every tenth has ended */
		cr_assert_eq(xb_state_ban_put(st, &b), 0);
	}
	do {
		cr_assert_eq(xb_state_ban_scan(st, first ? NULL : &prev, 100, 7, count_cb, &total,
					       &last, &n), 0);
		if (n) {
			cr_expect(first || memcmp(&last, &prev, sizeof(last)) > 0, "in order");
			prev = last;
		}
		first = false;
		cr_assert_lt(++calls, 100);
	} while (n == 7);
	cr_expect_eq(total, 90);
	cr_expect_eq(calls, 13);
	xb_state_close(st);
}

/* A file that is not a database: -EUCLEAN, moved aside, then a fresh one. */
Test(state, corrupt_file_is_moved_aside, .init = mkdir_tmp, .fini = rm_tmp)
{
	char path[128], moved[256], junk[8192];
	struct xb_state *st;
	struct stat sb;
	FILE *f;

	snprintf(path, sizeof(path), "%s/" XB_STATE_DB, dir);
	memset(junk, 'x', sizeof(junk));
	cr_assert_not_null(f = fopen(path, "w"));
	cr_assert_eq(fwrite(junk, 1, sizeof(junk), f), sizeof(junk));
	fclose(f);
	cr_assert_eq(xb_state_open(dir, &st), -EUCLEAN);
	cr_assert_eq(xb_state_quarantine(dir, moved, sizeof(moved)), 0);
	cr_expect(strstr(moved, XB_STATE_DB ".corrupt-"), "%s", moved);
	cr_assert_eq(stat(moved, &sb), 0);
	cr_expect_eq(sb.st_size, sizeof(junk), "kept as it was");
	cr_assert_eq(xb_state_open(dir, &st), 0);
	xb_state_close(st);
}

/* A small tmpfs for the state, so that the disk can really be full. */
static void mount_tmp(void)
{
	mkdir_tmp();
	cr_assert_eq(mount("tmpfs", dir, "tmpfs", 0, "size=256k,mode=0700"), 0);
}

static void umount_tmp(void)
{
	umount2(dir, MNT_DETACH);
	rm_tmp();
}

/* Fill the file system holding dir; returns the filler's path in buf. */
static void fill_disk(char *buf, size_t len)
{
	char block[4096];
	int fd;

	snprintf(buf, len, "%s/filler", dir);
	fd = open(buf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0);
	memset(block, 0, sizeof(block));
	for (int i = 0; i < 1024 && write(fd, block, sizeof(block)) > 0; i++)
		;
	/* the last partial block */
	while (write(fd, block, 1) > 0)
		;
	close(fd);
}

/* Disk full: no change is lost, reads go on from memory, the failure shows
 * in the health until space returns and one flush writes it all. */
Test(state, disk_full_keeps_changes_in_memory, .init = mount_tmp, .fini = umount_tmp)
{
	struct xb_state *st;
	struct xb_state_health h;
	struct xb_state_ban b = sban("198.18.0.1", 5000), gb;
	char filler[128];
	size_t n = 0;

	cr_assert_eq(xb_state_open(dir, &st), 0);
	cr_assert_eq(xb_state_set_deferred(st), 0);
	cr_assert_eq(xb_state_ban_put(st, &b), 0);
	cr_assert_eq(xb_state_flush(st, 0), 0);
	fill_disk(filler, sizeof(filler));
	for (int i = 0; i < 500; i++) {
		char a[32];
		struct xb_offence o = { .count = 1, .first = 100, .last = 100, .until = 5000 };

		snprintf(a, sizeof(a), "2001:db8:%x::1", i);
		b = sban(a, 5000);
		cr_assert_eq(xb_state_offence_put(st, &b.addr, "firewall-drop", &o), 0);
		cr_assert_eq(xb_state_ban_put(st, &b), 0);
		xb_state_flush(st, 0);
	}
	xb_state_health(st, &h);
	cr_expect_not(h.ok, "the disk is full: the flush must have failed");
	cr_expect_not(xb_state_ok(st));
	cr_expect_geq(h.pending, 100, "pending %zu", h.pending);
	cr_expect_gt(h.failures, 0);
	cr_expect(strstr(h.error, "full"), "error: %s", h.error);
	cr_expect_gt(h.failing_since, 0);
	cr_expect_eq(xb_state_ban_get(st, &b.addr, &gb), 0, "read from memory");
	cr_assert_eq(xb_state_ban_count(st, &n), 0);
	cr_expect_eq(n, 501);

	cr_assert_eq(unlink(filler), 0);
	cr_assert_eq(xb_state_flush(st, 0), 0);
	xb_state_health(st, &h);
	cr_expect(h.ok);
	cr_expect_eq(h.pending, 0);
	cr_expect_eq(h.error[0], 0);
	xb_state_close(st);
	cr_assert_eq(xb_state_open(dir, &st), 0);
	cr_assert_eq(xb_state_ban_count(st, &n), 0);
	cr_expect_eq(n, 501, "every ban in the database");
	xb_state_close(st);
}

/* Checkpoints on their own thread: started, woken, stopped, nothing lost. */
Test(state, checkpoint_thread, .init = mkdir_tmp, .fini = rm_tmp)
{
	struct xb_state *st;
	struct xb_state_health h;
	size_t n = 0;

	cr_assert_eq(xb_state_open(dir, &st), 0);
	cr_assert_eq(xb_state_set_deferred(st), 0);
	cr_assert_eq(xb_state_checkpoint_thread(st), 0);
	for (int i = 0; i < 300; i++) {
		char a[32];
		struct xb_state_ban b;

		snprintf(a, sizeof(a), "198.18.%d.%d", i / 200, i % 200);
		b = sban(a, 5000);
		cr_assert_eq(xb_state_ban_put(st, &b), 0);
		cr_assert_eq(xb_state_flush(st, 0), 0);
		if (i % 50 == 0)
			cr_assert_eq(xb_state_checkpoint(st), 0);
	}
	usleep(100000);
	cr_assert_eq(xb_state_checkpoint(st), 0);
	xb_state_health(st, &h);
	cr_expect_eq(h.checkpoint_error[0], 0, "%s", h.checkpoint_error);
	xb_state_close(st);
	cr_assert_eq(xb_state_open(dir, &st), 0);
	cr_assert_eq(xb_state_ban_count(st, &n), 0);
	cr_expect_eq(n, 300);
	xb_state_close(st);
}

/* What a state kept in memory holds goes into the database once it opens. */
Test(state, copy_into_the_database, .init = mkdir_tmp, .fini = rm_tmp)
{
	struct xb_state *mem, *st;
	struct xb_state_ban b = sban("198.18.0.9", 5000), old = sban("198.18.0.9", 100), gb;
	struct xb_offence o = { .count = 3, .first = 1, .last = 2, .until = 5000 }, g;

	cr_assert_eq(xb_state_open(dir, &st), 0);
	cr_assert_eq(xb_state_ban_put(st, &old), 0);
	xb_state_close(st);
	cr_assert_eq(xb_state_open(XB_STATE_MEMORY, &mem), 0);
	cr_assert_eq(xb_state_ban_put(mem, &b), 0);
	cr_assert_eq(xb_state_offence_put(mem, &b.addr, "firewall-drop", &o), 0);
	cr_assert_eq(xb_state_copy_into(mem, dir), 0);
	xb_state_close(mem);
	cr_assert_eq(xb_state_open(dir, &st), 0);
	cr_assert_eq(xb_state_ban_get(st, &b.addr, &gb), 0);
	cr_expect_eq(gb.expires, 5000, "memory's row replaced the database's");
	cr_assert_eq(xb_state_offence_get(st, &b.addr, "firewall-drop", &g), 0);
	cr_expect_eq(g.count, 3);
	xb_state_close(st);
}

static int resp_seen(const struct xb_resp_row *r, void *ctx)
{
	struct xb_resp_row *out = ctx;

	*out = *r;
	out->msg = strdup(r->msg);
	return 0;
}

/* A schema-1 database (before the responses table) is migrated on open;
 * a response row survives a reopen and leaves on delete. */
Test(state, schema_1_migrates_and_responses_survive_reopen, .init = mkdir_tmp, .fini = rm_tmp)
{
	struct xb_resp_row r = { .key = "route-null-198.18.0.7", .cmd = "route-null", .kind = 2,
				 .exe = "", .target = "198.18.0.7", .msg = "{\"command\":\"add\"}",
				 .created = 100, .expires = 700 }, got = { 0 };
	char path[128], v[8];
	struct xb_state *st;
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/%s", dir, XB_STATE_DB);
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, "CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);"
				  "INSERT INTO meta VALUES ('schema', '1');", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	cr_assert_eq(xb_state_open(dir, &st), 0);
	cr_expect_eq(xb_state_meta_get(st, "schema", v, sizeof(v)), 0);
	cr_expect_str_eq(v, "2");
	cr_expect_eq(xb_state_resp_put(st, &r), 0);
	xb_state_close(st);
	cr_assert_eq(xb_state_open(dir, &st), 0);
	cr_expect_eq(xb_state_resp_foreach(st, resp_seen, &got), 0);
	cr_expect_str_eq(got.key, r.key);
	cr_expect_str_eq(got.target, "198.18.0.7");
	cr_expect_str_eq(got.msg, r.msg);
	cr_expect_eq(got.kind, 2);
	cr_expect_eq(got.expires, 700);
	free(got.msg);
	cr_expect_eq(xb_state_resp_del(st, r.key), 0);
	cr_expect_eq(xb_state_resp_del(st, r.key), -ENOENT);
	xb_state_close(st);
}
