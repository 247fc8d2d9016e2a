// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>
#include <criterion/criterion.h>

#include "common/addr.h"
#include "common/util.h"

static const char *fmt(const struct xb_addr *a)
{
	static char buf[XB_ADDRSTRLEN];

	return xb_addr_fmt(a, buf, sizeof(buf));
}

Test(addr, parses_and_formats)
{
	static const struct { const char *in, *out; int fam, plen; } ok[] = {
		{ "198.18.0.2", "198.18.0.2", 4, 32 },
		{ "198.18.0.0/15", "198.18.0.0/15", 4, 15 },
		{ "2001:db8::1", "2001:db8::1", 6, 128 },
		{ "2001:DB8:0:0::/64", "2001:db8::/64", 6, 64 },
		{ "::ffff:198.18.0.7", "198.18.0.7", 4, 32 },
		{ "::ffff:198.18.0.0/112", "198.18.0.0/16", 4, 16 },
		{ "0.0.0.0/0", "0.0.0.0/0", 4, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		struct xb_addr a;

		cr_assert_eq(xb_addr_parse(ok[i].in, &a, false), 0, "%s", ok[i].in);
		cr_expect_eq(a.family, ok[i].fam, "%s", ok[i].in);
		cr_expect_eq(a.prefixlen, ok[i].plen, "%s", ok[i].in);
		cr_expect_str_eq(fmt(&a), ok[i].out);
	}
}

Test(addr, rejects_bad_input)
{
	static const char *bad[] = {
		"", "198.18.0", "198.18.0.256", "198.18.0.1/33", "198.18.0.1/", "198.18.0.1/-1",
		"198.18.0.1/8", /* host bits set */ "2001:db8::1/129", "host.example", "0x7f.1.1.1",
		"010.1.1.1", "::ffff:198.18.0.1/95", "198.18.0.1 ", "2001:db8::/64x",
		/* the prefix is digits only: no space, tab, sign or leading zero */
		"10.0.0.0/ 8", "10.0.0.0/\t8", "10.0.0.0/+8", "10.0.0.0/ +8", "10.0.0.0/8 ",
		"10.0.0.0/08", "2001:db8::/ 32", "2001:db8::/\n32", "2001:db8::/0032", "10.0.0.0//8",
		"10.0.0.0/8/8", "10.0.0.0/1e1",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct xb_addr a;

		cr_expect_eq(xb_addr_parse(bad[i], &a, false), -EINVAL, "'%s' accepted", bad[i]);
	}
}

Test(addr, masks_on_request_and_contains)
{
	struct xb_addr net, host, other;

	cr_assert_eq(xb_addr_parse("2001:db8:1:2:3::1/64", &net, true), 0);
	cr_expect_str_eq(fmt(&net), "2001:db8:1:2::/64");
	cr_assert_eq(xb_addr_parse("2001:db8:1:2:ffff::9", &host, false), 0);
	cr_assert_eq(xb_addr_parse("2001:db8:1:3::9", &other, false), 0);
	cr_expect(xb_addr_contains(&net, &host));
	cr_expect_not(xb_addr_contains(&net, &other));
	cr_expect_not(xb_addr_contains(&host, &net));
}

Test(addr, parse_host_takes_a_slice_and_no_prefix)
{
	struct xb_addr a;
	const char *line = "198.18.0.9 port 22";

	cr_assert_eq(xb_addr_parse_host(line, 10, &a), 0);
	cr_expect_str_eq(fmt(&a), "198.18.0.9");
	cr_expect_eq(xb_addr_parse_host("198.18.0.0/24", 13, &a), -EINVAL);
	cr_expect_eq(xb_addr_parse_host(line, 0, &a), -EINVAL);
}

/* A slice is the address only when all of its bytes are: an embedded NUL
 * must not cut it short into something that parses. */
Test(addr, parse_host_refuses_an_embedded_nul)
{
	static const char v4[] = "198.18.0.9\0junk", v6[] = "2001:db8::1\0:ffff", end[] = "198.18.0.9\0";
	struct xb_addr a;

	cr_expect_eq(xb_addr_parse_host(v4, sizeof(v4) - 1, &a), -EINVAL);
	cr_expect_eq(xb_addr_parse_host(v6, sizeof(v6) - 1, &a), -EINVAL);
	cr_expect_eq(xb_addr_parse_host(end, sizeof(end) - 1, &a), -EINVAL, "a trailing NUL inside len");
	cr_expect_eq(xb_addr_parse_host("\0", 1, &a), -EINVAL);
	cr_assert_eq(xb_addr_parse_host(end, sizeof(end) - 2, &a), 0, "the same bytes without the NUL");
	cr_expect_str_eq(fmt(&a), "198.18.0.9");
}

Test(addr, loopback_and_unspecified)
{
	struct xb_addr a;

	xb_addr_parse("127.0.0.53", &a, false);
	cr_expect(xb_addr_is_loopback(&a));
	xb_addr_parse("::1", &a, false);
	cr_expect(xb_addr_is_loopback(&a));
	xb_addr_parse("198.18.0.1", &a, false);
	cr_expect_not(xb_addr_is_loopback(&a));
}

Test(util, durations)
{
	static const struct { const char *in; uint64_t secs; } ok[] = {
		{ "90", 90 }, { "90s", 90 }, { "10m", 600 }, { "2h", 7200 }, { "1d", 86400 }, { "1w", 604800 },
	};
	uint64_t v;

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		cr_assert_eq(xb_parse_duration(ok[i].in, &v), 0, "%s", ok[i].in);
		cr_expect_eq(v, ok[i].secs, "%s", ok[i].in);
	}
	cr_expect_eq(xb_parse_duration("", &v), -EINVAL);
	cr_expect_eq(xb_parse_duration("-5", &v), -EINVAL);
	cr_expect_eq(xb_parse_duration("5x", &v), -EINVAL);
	cr_expect_eq(xb_parse_duration("5mm", &v), -EINVAL);
	cr_expect_eq(xb_parse_duration("99999999999999999999", &v), -ERANGE);
}

Test(util, wall_and_monotonic_clock_round_trip)
{
	int64_t wall = xb_now_wall() + 600;
	uint64_t mono = xb_wall_to_mono(wall);
	int64_t back = xb_mono_to_wall(mono);

	cr_expect(back >= wall && back <= wall + 1, "wall %lld back %lld", (long long)wall, (long long)back);
	cr_expect_eq(xb_wall_to_mono(0), 0);
	cr_expect_eq(xb_mono_to_wall(0), 0);
	cr_expect_eq(xb_wall_to_mono(1), 1, "a past expiry must expire at once, not be permanent");
}
