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
