// SPDX-License-Identifier: GPL-2.0
/* The protection rules of manual bans: the config's allow list, loopback
 * and the host's own addresses, read once by xb_cli_guard_open(). */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <criterion/criterion.h>

#include "cli/guard.h"

static struct xb_addr A(const char *s)
{
	struct xb_addr a;

	cr_assert_eq(xb_addr_parse(s, &a, false), 0, "%s", s);
	return a;
}

/* Moved from tests/policy (xb_policy_check_protected): the same cases. */
Test(guard, config_loopback_and_errors)
{
	struct xb_addr lo = A("127.0.0.1"), other = A("198.19.255.77");
	struct xb_cli_guard g;
	char why[256];

	cr_assert_eq(xb_cli_guard_open(&g, "tests/data/conf/seed.conf", why, sizeof(why)), 0,
		     "%s", why);
	cr_expect(xb_cli_guard_refuses(&g, &lo, why, sizeof(why)));
	cr_expect_not(xb_cli_guard_refuses(&g, &other, why, sizeof(why)), "%s", why);
	xb_cli_guard_close(&g);
	cr_expect_eq(xb_cli_guard_open(&g, "tests/data/conf/bad-unknown.conf", why, sizeof(why)),
		     -EINVAL);
	cr_expect(strstr(why, "bad-unknown.conf:6"), "%s", why);
	cr_expect_eq(xb_cli_guard_open(&g, "/nonexistent.conf", why, sizeof(why)), -ENOENT);
}

Test(guard, allow_list_of_the_config)
{
	char path[] = "/tmp/xbt-guard-XXXXXX", why[256];
	struct xb_addr in = A("198.18.31.7"), out = A("198.18.32.7"), pfx = A("198.18.0.0/16");
	struct xb_cli_guard g;
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	dprintf(fd, "<xdpban>\n  <white_list>198.18.31.0/24</white_list>\n</xdpban>\n");
	close(fd);
	cr_assert_eq(xb_cli_guard_open(&g, path, why, sizeof(why)), 0, "%s", why);
	unlink(path);
	cr_expect(xb_cli_guard_refuses(&g, &in, why, sizeof(why)));
	cr_expect_str_eq(why, "198.18.31.7 is on the allow list (198.18.31.0/24)");
	cr_expect_not(xb_cli_guard_refuses(&g, &out, why, sizeof(why)), "%s", why);
	/* a prefix holding an allowed one is refused too */
	cr_expect(xb_cli_guard_refuses(&g, &pfx, why, sizeof(why)));
	xb_cli_guard_close(&g);
}

Test(guard, host_addresses)
{
	struct xb_addr own = A("198.18.30.1"), pfx = A("2001:db8:30::/48");
	struct xb_cli_guard g;
	char why[256];

	if (geteuid() != 0)
		cr_skip_test("needs root for a private network namespace");
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %m");
	cr_assert_eq(system("ip link add xbt0 type veth peer name xbt1 && ip link set xbt0 up && "
			    "ip addr add 198.18.30.1/24 dev xbt0 && "
			    "ip addr add 2001:db8:30::1/64 dev xbt0 nodad"), 0);
	cr_assert_eq(xb_cli_guard_open(&g, "tests/data/conf/seed.conf", why, sizeof(why)), 0,
		     "%s", why);
	cr_expect(xb_cli_guard_refuses(&g, &own, why, sizeof(why)));
	cr_expect(strstr(why, "this host's address 198.18.30.1"), "%s", why);
	cr_expect(xb_cli_guard_refuses(&g, &pfx, why, sizeof(why)));
	cr_expect(strstr(why, "this host's address 2001:db8:30::1"), "%s", why);
	xb_cli_guard_close(&g);
}
