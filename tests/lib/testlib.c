// SPDX-License-Identifier: GPL-2.0
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <criterion/criterion.h>

#include "lib/testlib.h"

const char *xb_test_rules_dir(void)
{
	static char buf[PATH_MAX + 32];
	const char *env = getenv("XDPBAN_RULES_DIR");
	char exe[PATH_MAX];
	ssize_t n;

	if (env)
		return env;
	if (access("rules/0095-sshd.xml", R_OK) == 0)
		return "rules";
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	cr_assert(n > 0);
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	for (int up = 2; up <= 3; up++) {
		snprintf(buf, sizeof(buf), "%s%s/rules", exe, up == 2 ? "/../.." : "/../../..");
		if (access(buf, R_OK) == 0)
			return buf;
	}
	cr_assert_fail("cannot find the rules/ directory (set XDPBAN_RULES_DIR)");
	return NULL;
}

struct xb_addr A(const char *s)
{
	struct xb_addr a;

	cr_assert_eq(xb_addr_parse(s, &a, false), 0, "%s", s);
	return a;
}

struct xb_config *conf(const char *body)
{
	struct xb_config *c = NULL;
	char xml[4096], err[512];

	snprintf(xml, sizeof(xml), "<xdpban>%s</xdpban>", body);
	cr_assert_eq(xb_config_parse(xml, strlen(xml), "t.conf", &c, err, sizeof(err)), 0, "%s", err);
	return c;
}

static double zero_rnd(void) { return 0.0; }

bool xb_test_deferred, xb_test_disk_full;
static unsigned alerts;

void xb_test_defer(void)
{
	xb_test_deferred = true;
}

void fx_open(struct fixture *f, const char *body, const char *dir)
{
	memset(f, 0, sizeof(*f));
	f->c = conf(body);
	cr_assert_eq(xb_state_open(dir, &f->st), 0);
	if (xb_test_deferred)
		cr_assert_eq(xb_state_set_deferred(f->st), 0);
	cr_assert_eq(xb_policy_new(f->c, f->st, NULL, &f->p), 0);
	xb_policy_set_rnd(f->p, zero_rnd);
	f->al = (struct xb_alert){ .rule = 5712, .level = 10,
				   .groups = "syslog,sshd,authentication_failures,", .ev = &f->ev };
}

void fx_close(struct fixture *f)
{
	if (xb_test_deferred && !xb_test_disk_full)
		cr_expect(xb_state_ok(f->st), "a flush failed");
	xb_policy_free(f->p);
	xb_state_close(f->st);
	xb_config_free(f->c);
}

/* One alert from src at time now; returns the number of decisions. */
int offend(struct fixture *f, const char *src, int64_t now, struct xb_decision *d)
{
	char why[256];
	int n;

	f->ev.has_src = true;
	f->ev.src = A(src);
	n = xb_policy_alert(f->p, &f->al, now, d, 1, why, sizeof(why));
	if (xb_test_deferred && alerts++ % 2)
		xb_state_flush(f->st, 0);       /* fx_close checks that they all worked */
	return n;
}

