// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <criterion/criterion.h>

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
