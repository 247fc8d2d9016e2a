// SPDX-License-Identifier: GPL-2.0
/* The host's addresses, followed as they change. Each test runs in its own
 * network namespace (Criterion forks per test), so nothing outside changes. */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <criterion/criterion.h>

#include "policy/hostaddr.h"
#include "common/util.h"

static struct xb_addr A(const char *s)
{
	struct xb_addr a;

	cr_assert_eq(xb_addr_parse(s, &a, false), 0, "%s", s);
	return a;
}

static void private_netns(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root for a private network namespace");
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %m");
	cr_assert_eq(system("ip link set lo up && ip link add xbt0 type veth peer name xbt1 && ip link set xbt0 up"), 0);
}

/* Wait (bounded) until the set has or lacks a. */
static bool wait_for(struct xb_hostaddr *h, const struct xb_addr *a, bool present)
{
	for (int i = 0; i < 50; i++) {
		struct pollfd pfd = { .fd = xb_hostaddr_fd(h), .events = POLLIN };
		bool changed;

		if (xb_hostaddr_covered(h, a) == present)
			return true;
		if (poll(&pfd, 1, 100) > 0)
			cr_assert_eq(xb_hostaddr_update(h, &changed), 0);
	}
	return xb_hostaddr_covered(h, a) == present;
}

Test(hostaddr, follows_changes, .init = private_netns)
{
	struct xb_hostaddr *h;
	struct xb_addr v4 = A("198.18.3.3"), v6 = A("2001:db8:3::3"), lo = A("127.0.0.1"),
		       net = A("198.18.3.0/24"), other = A("198.18.4.0/24");

	cr_assert_eq(xb_hostaddr_open(true, &h), 0);
	cr_assert_geq(xb_hostaddr_fd(h), 0);
	cr_expect(xb_hostaddr_covered(h, &lo));
	cr_expect_not(xb_hostaddr_covered(h, &v4));

	cr_assert_eq(system("ip addr add 198.18.3.3/24 dev xbt0 && "
			    "ip addr add 2001:db8:3::3/64 dev xbt0 nodad"), 0);
	cr_expect(wait_for(h, &v4, true), "IPv4 address added but not seen");
	cr_expect(wait_for(h, &v6, true), "IPv6 address added but not seen");
	cr_expect(xb_hostaddr_covered(h, &net), "a prefix holding a host address is covered");
	cr_expect_not(xb_hostaddr_covered(h, &other));

	cr_assert_eq(system("ip addr del 198.18.3.3/24 dev xbt0"), 0);
	cr_expect(wait_for(h, &v4, false), "IPv4 address removed but still listed");
	cr_expect(xb_hostaddr_covered(h, &v6));
	xb_hostaddr_close(h);
}

Test(hostaddr, snapshot, .init = private_netns)
{
	struct xb_hostaddr *h;
	struct xb_addr v4 = A("198.18.3.9");

	cr_assert_eq(system("ip addr add 198.18.3.9/32 dev xbt0"), 0);
	cr_assert_eq(xb_hostaddr_open(false, &h), 0);
	cr_expect_eq(xb_hostaddr_fd(h), -1);
	cr_expect(xb_hostaddr_covered(h, &v4));
	cr_expect_geq(xb_hostaddr_count(h), 2);        /* 127.0.0.1, ::1?, 198.18.3.9 */
	cr_expect_null(xb_hostaddr_get(h, xb_hostaddr_count(h)));
	xb_hostaddr_close(h);
}
