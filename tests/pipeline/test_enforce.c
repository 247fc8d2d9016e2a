// SPDX-License-Identifier: GPL-2.0
/* pipeline/enforce: the clocks of a ban decision, forgetting lifted bans. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <criterion/criterion.h>

#include "pipeline/enforce.h"
#include "policy/policy.h"
#include "common/util.h"
#include "lib/testlib.h"
#include "xdpban.h"

/* The daemon's clocks: a 20 s ban is recorded to end no earlier than 20 s
 * from the real now (the wall second rounded up), the map's expiry is the
 * monotonic now + 20 s, and a restart's conversion keeps it so. */
Test(enforce, ban_never_ends_early)
{
	struct fixture f;
	struct xb_decision d;
	struct xb_ban_req req;
	struct timespec w0;
	uint64_t m0;

	fx_open(&f, "<active-response><command>firewall-drop</command><location>local</location>"
		"<rules_id>5712</rules_id><timeout>20</timeout></active-response>", NULL);
	m0 = xb_now_mono_ns();
	clock_gettime(CLOCK_REALTIME, &w0);
	cr_assert_eq(offend(&f, "198.18.0.20", xb_enforce_wall_ceil(), &d), 1);
	cr_expect_eq(d.ttl, 20);
	cr_expect_geq((uint64_t)d.expires * NSEC_PER_SEC,
		      (uint64_t)w0.tv_sec * NSEC_PER_SEC + (uint64_t)w0.tv_nsec + 20 * NSEC_PER_SEC,
		      "recorded end %lld is before now + 20 s (%lld.%09ld)", (long long)d.expires,
		      (long long)w0.tv_sec + 20, w0.tv_nsec);
	xb_enforce_ban_req(&d, m0, &req);
	cr_expect_eq(req.expires, m0 + 20 * NSEC_PER_SEC);
	cr_expect_eq(req.rule, 5712);
	cr_expect_eq(req.flags, XB_BAN_F_DAEMON);
	/* Restored after a restart from the recorded end (1 ms for clock noise). */
	cr_expect_geq(xb_wall_to_mono(d.expires) + 1000000, m0 + 20 * NSEC_PER_SEC);
	/* Permanent stays permanent. */
	d.expires = 0;
	d.ttl = XB_TIMEOUT_PERMANENT;
	xb_enforce_ban_req(&d, m0, &req);
	cr_expect_eq(req.expires, 0);
	fx_close(&f);
}

static struct xb_state_ban ban(const char *addr, int64_t created, int64_t expires)
{
	return (struct xb_state_ban){ .addr = A(addr), .cmd = "firewall-drop", .rule = 5712,
				      .offence = 1, .flags = XB_BAN_F_DAEMON,
				      .created = created, .expires = expires };
}

/* The daemon's "unbanned" and "flushed": the ban leaves the database (the
 * offence history stays), a second time it is unknown. */
Test(enforce, forget_one_and_all)
{
	struct xb_state *st;
	struct xb_state_ban b[] = { ban("198.18.0.7", 100, 700), ban("2001:db8::/64", 100, 0),
				    ban("198.18.0.8", 100, 700) };
	struct xb_offence o = { .count = 1, .first = 100, .last = 100, .until = 700 }, g;
	struct xb_addr a = A("198.18.0.7");
	size_t n = 99;

	cr_assert_eq(xb_state_open(XB_STATE_MEMORY, &st), 0);
	for (size_t i = 0; i < ARRAY_SIZE(b); i++)
		cr_assert_eq(xb_state_ban_put(st, &b[i]), 0);
	cr_assert_eq(xb_state_offence_put(st, &a, "firewall-drop", &o), 0);

	cr_expect_eq(xb_enforce_forget(st, &a, "lifted with xdpban unban", NULL), 0);
	cr_expect_eq(xb_enforce_forget(st, &a, "lifted with xdpban unban", NULL), -ENOENT);
	cr_expect_eq(xb_state_offence_get(st, &a, "firewall-drop", &g), 0, "history kept");
	cr_assert_eq(xb_state_ban_count(st, &n), 0);
	cr_expect_eq(n, 2);
	cr_expect_eq(xb_enforce_forget(st, NULL, NULL, &n), 0);
	cr_expect_eq(n, 2);
	cr_assert_eq(xb_state_ban_count(st, &n), 0);
	cr_expect_eq(n, 0);
	xb_state_close(st);
}

/* The CLI's, with no daemon: the database under state_dir if there is one. */
Test(enforce, forget_stored)
{
	char dir[] = "/tmp/xb-enforce-XXXXXX", path[256], cmd[64];
	struct xb_state_ban b = ban("198.18.0.9", 100, 0), got;
	struct xb_addr a = b.addr;
	struct xb_state *st;

	cr_assert_not_null(mkdtemp(dir));
	/* No database yet: nothing to forget, and none is created. */
	cr_expect_eq(xb_enforce_forget_stored(dir, &a, path, sizeof(path)), 0);
	cr_expect_eq(access(path, F_OK), -1);
	cr_assert_eq(xb_state_open(dir, &st), 0);
	cr_assert_eq(xb_state_ban_put(st, &b), 0);
	xb_state_close(st);

	cr_expect_eq(xb_enforce_forget_stored(dir, &a, path, sizeof(path)), 0);
	cr_expect(strstr(path, XB_STATE_DB), "path %s", path);
	cr_expect_eq(xb_enforce_forget_stored(dir, &a, path, sizeof(path)), -ENOENT);
	cr_assert_eq(xb_state_open(dir, &st), 0);
	cr_expect_eq(xb_state_ban_get(st, &a, &got), -ENOENT);
	xb_state_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_expect_eq(system(cmd), 0);
}

/* ---- against real maps (a private bpffs, small maps) -------------------- */

#include <sys/mount.h>

static char pins[64];

struct mfix {
	struct fixture f;
	struct xb_dp *dp;
	struct xb_enforce e;
};

static void pins_setup(void)
{
	snprintf(pins, sizeof(pins), "/tmp/xb-enforce-pins-XXXXXX");
	cr_assert_not_null(mkdtemp(pins));
}

static void pins_teardown(void)
{
	char cmd[128];

	/* the pins go; a bpffs's own files (maps.debug, ...) stay with it */
	snprintf(cmd, sizeof(cmd), "rm -f %s/* 2>/dev/null", pins);
	cr_log_info("cleanup: %d", system(cmd));
	umount2(pins, MNT_DETACH);
	rmdir(pins);
}

TestSuite(enforce_maps, .init = pins_setup, .fini = pins_teardown);

#define AR_AGG "<ipv6_aggregate><threshold>2</threshold></ipv6_aggregate>" \
	"<active-response><command>firewall-drop</command><location>local</location>" \
	"<rules_id>5712</rules_id><timeout>600</timeout>" \
	"<repeated_offenders>30,60,90</repeated_offenders></active-response>"

static void mfix_open(struct mfix *m, uint32_t max_bans, uint32_t max_prefix)
{
	struct xb_dp_opts o = { .pin_dir = pins, .max_bans = max_bans, .max_prefix = max_prefix,
				.max_allow = 64 };

	fx_open(&m->f, AR_AGG, NULL);
	cr_assert_eq(xb_state_set_deferred(m->f.st), 0);
	cr_assert_eq(xb_dp_open(&o, &m->dp), 0);
	m->e = (struct xb_enforce){ .dp = m->dp, .st = m->f.st, .pol = m->f.p };
}

static void mfix_close(struct mfix *m)
{
	xb_enforce_free(&m->e);
	xb_dp_flush(m->dp);
	xb_dp_close(m->dp);
	fx_close(&m->f);
}

/* The daemon's path for one alert from src. */
static void alert(struct mfix *m, const char *src)
{
	m->f.ev.has_src = true;
	m->f.ev.src = A(src);
	xb_enforce_alert(&m->e, &m->f.al);
}

static bool in_maps(struct mfix *m, const char *a)
{
	struct xb_addr x = A(a);
	struct xb_ban v;

	return xb_dp_lookup(m->dp, &x, &v) == 0;
}

static bool recorded(struct mfix *m, const char *a)
{
	struct xb_addr x = A(a);
	struct xb_state_ban b;

	return xb_state_ban_get(m->f.st, &x, &b) == 0;
}

/* A full prefix map: the aggregate decision bans the offender alone. */
Test(enforce_maps, full_prefix_map_bans_the_single_address)
{
	struct xb_ban_req live = { .flags = XB_BAN_F_MANUAL };
	struct mfix m;

	mfix_open(&m, 64, 4);
	for (int i = 0; i < 4; i++) {
		char p[32];
		struct xb_addr a;

		snprintf(p, sizeof(p), "2001:db8:ff:%d::/64", i);
		a = A(p);
		cr_assert_eq(xb_dp_ban(m.dp, &a, &live), 0, "%s", p);
	}
	alert(&m, "2001:db8:5:1::a");
	alert(&m, "2001:db8:5:1::b");           /* the /64's second: aggregate */
	cr_expect_not(in_maps(&m, "2001:db8:5:1::/64"));
	cr_expect(in_maps(&m, "2001:db8:5:1::b"), "the offender is banned alone");
	cr_expect(in_maps(&m, "2001:db8:5:1::a"), "the earlier one stays banned");
	cr_expect(recorded(&m, "2001:db8:5:1::b"), "and recorded, to be restored");
	cr_expect_not(recorded(&m, "2001:db8:5:1::/64"));
	cr_expect_eq(m.e.n.singled, 1);
	cr_expect_eq(m.e.n.bans, 2);
	mfix_close(&m);
}

static int put_row(struct mfix *m, const char *a, int64_t expires)
{
	struct xb_state_ban b = ban(a, xb_now_wall(), expires);

	return xb_state_ban_put(m->f.st, &b);
}

static void reconcile_all(struct mfix *m)
{
	int steps = 0;

	xb_enforce_reconcile(&m->e, xb_now_wall());
	while (xb_enforce_reconcile_step(&m->e, xb_now_wall(), 1000000000ULL))
		cr_assert_lt(++steps, 10000);
}

/* Bans that did not fit at restore are not "lifted": kept, and stored once
 * there is room. */
Test(enforce_maps, restore_keeps_what_did_not_fit)
{
	struct xb_restore_stats rs;
	int64_t end = xb_now_wall() + 3600;
	size_t n = 0, cap;
	struct mfix m;

	mfix_open(&m, 8, 16);
	cap = 8;
	for (int i = 0; i < 12; i++) {
		char a[32];

		snprintf(a, sizeof(a), "198.18.3.%d", i + 1);
		cr_assert_eq(put_row(&m, a, end), 0);
	}
	cr_assert_eq(xb_state_flush(m.f.st, 0), 0);
	cr_assert_eq(xb_enforce_restore(&m.e, xb_now_wall(), &rs), 0);
	cr_expect_eq(rs.active, 12);
	cr_expect_eq(rs.inserted, cap, "inserted %zu", rs.inserted);
	cr_expect_eq(rs.unstored, 12 - cap);
	reconcile_all(&m);
	cr_assert_eq(xb_state_ban_count(m.f.st, &n), 0);
	cr_expect_eq(n, 12, "rows of bans that did not fit are kept (%zu)", n);
	cr_expect_eq(m.e.rec.lifted, 0);
	/* Room appears (the operator lifts two); the retry stores two more. */
	cr_assert_eq(xb_dp_unban(m.dp, &(struct xb_addr){ 0 }), -EINVAL);
	{
		struct xb_addr a1 = A("198.18.3.1"), a2 = A("198.18.3.2");

		cr_assert_eq(xb_dp_unban(m.dp, &a1), 0);
		cr_assert_eq(xb_dp_unban(m.dp, &a2), 0);
	}
	cr_expect_eq(xb_enforce_retry(&m.e, xb_now_wall(), 100), 2);
	xb_addr_set_sort(&m.e.unstored);
	cr_expect_eq(m.e.unstored.n, 12 - cap - 2);
	mfix_close(&m);
}

/* A live ban the exact table cannot take stays recorded and waits. */
Test(enforce_maps, full_ban_map_keeps_the_decision)
{
	struct mfix m;
	size_t n;

	mfix_open(&m, 8, 16);
	for (int i = 0; i < 10; i++) {
		char a[32];

		snprintf(a, sizeof(a), "198.18.4.%d", i + 1);
		alert(&m, a);
	}
	cr_expect_eq(m.e.n.bans, 8);
	cr_expect(recorded(&m, "198.18.4.10"), "the 10th is recorded");
	xb_addr_set_sort(&m.e.unstored);
	cr_expect_eq(m.e.unstored.n, 2);
	reconcile_all(&m);
	cr_assert_eq(xb_state_ban_count(m.f.st, &n), 0);
	cr_expect_eq(n, 10);
	{
		struct xb_addr a = A("198.18.4.1");

		cr_assert_eq(xb_dp_unban(m.dp, &a), 0);
	}
	cr_expect_eq(xb_enforce_retry(&m.e, xb_now_wall(), 100), 1);
	cr_expect(in_maps(&m, "198.18.4.9") || in_maps(&m, "198.18.4.10"));
	mfix_close(&m);
}

/* Reconcile: linear (many prefixes in well under a second), in slices,
 * forgets what was lifted, keeps what was banned while it ran. */
Test(enforce_maps, reconcile_in_slices)
{
	struct xb_ban_req live = { .flags = XB_BAN_F_DAEMON };
	int64_t end = xb_now_wall() + 3600;
	uint64_t t0;
	int steps = 0;
	struct mfix m;
	size_t n;

	mfix_open(&m, 64, 4096);
	live.expires = xb_wall_to_mono(end);
	for (int i = 0; i < 2000; i++) {
		char p[40];
		struct xb_addr a;

		snprintf(p, sizeof(p), "2001:db8:%x:%x::/64", i / 256, i % 256);
		a = A(p);
		cr_assert_eq(xb_dp_ban(m.dp, &a, &live), 0);
		cr_assert_eq(put_row(&m, p, end), 0);
	}
	cr_assert_eq(put_row(&m, "198.18.5.1", end), 0);       /* never in the maps */
	cr_assert_eq(xb_state_flush(m.f.st, 0), 0);
	for (int i = 0; i < 10; i++) {
		char p[40];
		struct xb_addr a;

		snprintf(p, sizeof(p), "2001:db8:0:%x::/64", i);
		a = A(p);
		cr_assert_eq(xb_dp_unban(m.dp, &a), 0);        /* lifted behind our back */
	}
	t0 = xb_now_mono_ns();
	xb_enforce_reconcile(&m.e, xb_now_wall());
	{       /* banned after the pass began: the maps first, then the row */
		struct xb_addr a = A("2001:db8:ffff::/64");

		cr_assert_eq(xb_dp_ban(m.dp, &a, &live), 0);
		cr_assert_eq(put_row(&m, "2001:db8:ffff::/64", end), 0);
		cr_assert_eq(xb_state_flush(m.f.st, 0), 0);
	}
	while (xb_enforce_reconcile_step(&m.e, xb_now_wall(), 1))
		cr_assert_lt(++steps, 1000);
	cr_expect_geq(steps, 5, "a slice per step (%d)", steps);
	cr_expect_lt(xb_now_mono_ns() - t0, NSEC_PER_SEC, "linear: %.3f s",
		     (xb_now_mono_ns() - t0) / 1e9);
	cr_expect_eq(m.e.rec.checked, 2002);
	cr_expect_eq(m.e.rec.lifted, 11);
	cr_assert_eq(xb_state_ban_count(m.f.st, &n), 0);
	cr_expect_eq(n, 1991);
	cr_expect(recorded(&m, "2001:db8:ffff::/64"), "banned during the pass: kept");
	cr_expect_not(recorded(&m, "2001:db8:0:3::/64"));
	mfix_close(&m);
}

/* A new database learns the daemon's bans from the maps: rows and history. */
Test(enforce_maps, learn_from_the_maps)
{
	struct xb_ban_req daemon_ban = { .flags = XB_BAN_F_DAEMON, .rule = 5712, .offence = 2 },
			  manual = { .flags = XB_BAN_F_MANUAL };
	struct xb_addr a = A("198.18.6.1"), b = A("198.18.6.2");
	struct xb_state_ban row;
	struct xb_offence o;
	struct mfix m;
	size_t n = 0;

	mfix_open(&m, 64, 16);
	daemon_ban.expires = xb_now_mono_ns() + 1800 * NSEC_PER_SEC;
	cr_assert_eq(xb_dp_ban(m.dp, &a, &daemon_ban), 0);
	cr_assert_eq(xb_dp_ban(m.dp, &b, &manual), 0);
	cr_assert_eq(xb_enforce_learn(&m.e, xb_now_wall(), &n), 0);
	cr_expect_eq(n, 1, "the daemon's ban only");
	cr_assert_eq(xb_state_ban_get(m.f.st, &a, &row), 0);
	cr_expect_eq(row.rule, 5712);
	cr_expect_eq(row.offence, 2);
	cr_expect_geq(row.expires, xb_now_wall() + 1799);
	cr_expect_not(recorded(&m, "198.18.6.2"));
	cr_assert_eq(xb_state_offence_get(m.f.st, &a, XB_DROP_CMD, &o), 0);
	cr_expect_eq(o.count, 2);
	alert(&m, "198.18.6.1");
	cr_assert_eq(xb_state_ban_get(m.f.st, &a, &row), 0);
	cr_expect_eq(row.offence, 3, "escalation goes on from the learned history");
	mfix_close(&m);
}
