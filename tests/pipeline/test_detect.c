// SPDX-License-Identifier: GPL-2.0
/* pipeline/detect: the one line -> alert path of the daemon and logtest. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <criterion/criterion.h>

#include "pipeline/detect.h"
#include "lib/testlib.h"

/* The shipped rules: $XDPBAN_RULES_DIR, ./rules, or next to the build tree. */
static struct xb_detect *detect(void)
{
	struct xb_detect_conf c = { .rules_dir = xb_test_rules_dir() };
	struct xb_detect *d = NULL;
	char err[512];

	cr_assert_eq(xb_detect_new(&c, &d, NULL, err, sizeof(err)), 0, "%s", err);
	return d;
}

static void line(struct xb_detect *d, const char *text, unsigned flags, struct xb_detect_out *o)
{
	struct xb_line l = { .text = text, .len = strlen(text) };

	xb_detect_line(d, &l, flags, o);
}

/* Eight invalid users from one address, a second apart: each is 5710
 * (level 5), and the eighth completes 5712 (frequency 8, level 10). */
Test(detect, invalid_users_fire_5710_then_5712)
{
	struct xb_detect *d = detect();
	struct xb_detect_out o;
	char text[160];

	for (int i = 1; i <= 8; i++) {
		snprintf(text, sizeof(text), "2024-03-23T09:55:%02d.000Z srv sshd[%d]: "
			 "Invalid user u%d from 198.18.0.7 port 22", i, 100 + i, i);
		line(d, text, 0, &o);
		cr_assert_eq(o.res, XB_DEC_SSHD, "line %d", i);
		cr_assert(o.matched, "line %d", i);
		cr_expect(o.raised, "line %d", i);
		cr_expect_eq(o.al.rule, i < 8 ? 5710 : 5712, "line %d: rule %u", i, o.al.rule);
		cr_expect_eq(o.al.level, i < 8 ? 5 : 10, "line %d", i);
		cr_expect_eq(o.al.ev, &o.ev);
	}
	cr_expect_eq(xb_detect_counts(d)->lines, 8);
	cr_expect_eq(xb_detect_counts(d)->sshd, 8);
	cr_expect_eq(xb_detect_counts(d)->alerts, 8);
	cr_expect_eq(xb_detect_counts(d)->raised, 8);
	xb_detect_free(d);
}

Test(detect, malformed_lines_counted_never_matched)
{
	struct xb_detect *d = detect();
	struct xb_detect_out o;

	line(d, "this line has no syslog header at all", 0, &o);
	cr_expect_eq(o.res, XB_DEC_MALFORMED);
	cr_expect_not(o.matched);
	cr_expect_not(o.raised);
	line(d, "this line has no syslog header at all", XB_DETECT_ANY | XB_DETECT_OTHER, &o);
	cr_expect_eq(o.res, XB_DEC_MALFORMED, "not an sshd message either");
	cr_expect_not(o.matched);
	cr_expect_eq(xb_detect_counts(d)->lines, 2);
	cr_expect_eq(xb_detect_counts(d)->malformed, 2);
	cr_expect_eq(xb_detect_counts(d)->sshd, 0);
	cr_expect_eq(xb_detect_counts(d)->alerts, 0);
	xb_detect_free(d);
}

/* `sshd -e` and `journalctl -o cat` write no header: such a line is sshd's
 * only where the operator vouches for the input (XB_DETECT_ANY). */
Test(detect, headerless_lines_only_with_any)
{
	struct xb_detect *d = detect();
	struct xb_detect_out o;
	const char *bare = "Invalid user guest from 198.18.1.1 port 1111";

	line(d, bare, 0, &o);
	cr_expect_eq(o.res, XB_DEC_MALFORMED);
	cr_expect_not(o.matched);
	cr_expect_eq(xb_detect_counts(d)->bare, 0);
	line(d, bare, XB_DETECT_ANY, &o);
	cr_expect_eq(o.res, XB_DEC_SSHD);
	cr_assert(o.matched);
	cr_expect(o.raised);
	cr_expect_eq(o.al.rule, 5710);
	cr_expect_eq(xb_detect_counts(d)->bare, 1);
	cr_expect_eq(xb_detect_counts(d)->malformed, 1);
	cr_expect_eq(xb_detect_counts(d)->sshd, 1);
	cr_expect_eq(xb_detect_counts(d)->raised, 1);
	xb_detect_free(d);
}

/* Other programs' lines: counted; the daemon skips the rules for them. */
Test(detect, other_programs)
{
	struct xb_detect *d = detect();
	struct xb_detect_out o;
	const char *cron = "2024-03-23T09:55:01.000Z srv CRON[101]: pam_unix(cron:session): "
			   "session opened for user root(uid=0) by (uid=0)";

	line(d, cron, 0, &o);
	cr_expect_eq(o.res, XB_DEC_OTHER);
	cr_expect_not(o.matched);
	line(d, cron, XB_DETECT_OTHER, &o);
	cr_expect_eq(o.res, XB_DEC_OTHER);
	cr_expect_not(o.matched, "no shipped rule is about cron");
	cr_expect_eq(xb_detect_counts(d)->other, 2);
	xb_detect_free(d);
}

/* A reload's new object takes over the counters; a bad rule names its half. */
Test(detect, swap_keeps_counters_and_errors_say_where)
{
	struct xb_detect *d = detect(), *next = detect();
	struct xb_detect_conf bad = { .rules_dir = "/nonexistent/rules" };
	enum xb_detect_part part = 0;
	struct xb_detect_out o;
	struct xb_detect *none = NULL;
	char err[512];

	line(d, "2024-03-23T09:55:01.000Z srv sshd[1]: Invalid user a from 198.18.0.9 port 22",
	     0, &o);
	xb_detect_swap(&d, next);
	cr_expect_eq(d, next);
	cr_expect_eq(xb_detect_counts(d)->lines, 1);
	cr_expect_eq(xb_detect_counts(d)->raised, 1);
	cr_expect_gt(xb_detect_rule_count(d), 0);
	xb_detect_free(d);

	cr_expect_eq(xb_detect_new(&bad, &none, &part, err, sizeof(err)), -ENOENT);
	cr_expect_eq(part, XB_DETECT_RULES);
	cr_expect(strstr(err, "/nonexistent/rules"), "err: %s", err);
	cr_expect_null(none);
}
