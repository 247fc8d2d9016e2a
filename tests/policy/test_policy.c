// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>
#include <criterion/criterion.h>

#include "policy/policy.h"
#include "common/util.h"
#include "lib/testlib.h"
#include "xdpban.h"

#define SEED_AR "<active-response><command>firewall-drop</command><location>local</location>" \
	"<rules_id>5712</rules_id><timeout>600</timeout>" \
	"<repeated_offenders>30,60,90</repeated_offenders></active-response>"

static void escalation_table_step_by_step(void)
{
	/* The seed: 600 s, 1800 s, 3600 s, 5400 s, 5400 s. An offence while the
	 * address is still banned re-arms the ban from now with the next timeout. */
	static const uint64_t want[] = { 600, 1800, 3600, 5400, 5400, 5400 };
	struct fixture f;
	struct xb_decision d;
	int64_t now = 1000000;

	fx_open(&f, SEED_AR, NULL);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		cr_assert_eq(offend(&f, "198.18.0.7", now, &d), 1, "offence %zu", i + 1);
		cr_expect_eq(d.offence, i + 1);
		cr_expect_eq(d.ttl, want[i], "offence %zu: ttl %llu", i + 1, (unsigned long long)d.ttl);
		cr_expect_eq(d.expires, now + (int64_t)want[i]);
		cr_expect_eq(d.rule, 5712);
		cr_expect_not(d.aggregate);
		/* every other offence comes while still banned (re-arm) */
		cr_expect_eq(d.rearm, i > 0 && i % 2 == 0, "offence %zu rearm %d", i + 1, d.rearm);
		now += i % 2 == 0 ? (int64_t)want[i] + 10 : (int64_t)want[i] / 2;
	}
	/* Per address: another address starts at the first step. */
	cr_assert_eq(offend(&f, "198.18.0.8", now, &d), 1);
	cr_expect_eq(d.offence, 1);
	cr_expect_eq(d.ttl, 600);
	fx_close(&f);
}

Test(policy, escalation_table_step_by_step) { escalation_table_step_by_step(); }
Test(policy_deferred, escalation_table_step_by_step, .init = xb_test_defer) { escalation_table_step_by_step(); }

Test(policy, escalate_pure)
{
	struct xb_config *c = conf(
		"<active-response><command>firewall-drop</command><location>local</location>"
		"<rules_id>1</rules_id><timeout>60</timeout>"
		"<repeated_offenders>1,2,3,4,5,6,7,permanent</repeated_offenders></active-response>"
		"<active-response><command>firewall-drop</command><location>local</location>"
		"<rules_id>1</rules_id><timeout>10m</timeout><increment_factor>2</increment_factor>"
		"<max_timeout>1h</max_timeout><random_jitter>100</random_jitter></active-response>"
		"<active-response><command>firewall-drop</command><location>local</location>"
		"<rules_id>1</rules_id><timeout>60</timeout><permanent_after>3</permanent_after>"
		"</active-response>");
	const struct xb_ar *list = &c->ars[0], *formula = &c->ars[1], *perm = &c->ars[2];

	/* more than five values, then permanent */
	cr_expect_eq(xb_escalate(list, 1, 0), 60);
	cr_expect_eq(xb_escalate(list, 7, 0), 360);
	cr_expect_eq(xb_escalate(list, 8, 0), 420);
	cr_expect_eq(xb_escalate(list, 9, 0), XB_TIMEOUT_PERMANENT);
	cr_expect_eq(xb_escalate(list, 50, 0), XB_TIMEOUT_PERMANENT);
	/* formula: 600, 1200, 2400, then the 3600 cap; jitter adds up to 100 s */
	cr_expect_eq(xb_escalate(formula, 1, 0), 600);
	cr_expect_eq(xb_escalate(formula, 2, 0), 1200);
	cr_expect_eq(xb_escalate(formula, 3, 0), 2400);
	cr_expect_eq(xb_escalate(formula, 4, 0), 3600);
	cr_expect_eq(xb_escalate(formula, 1000, 0), 3600);
	cr_expect_eq(xb_escalate(formula, 2, 0.5), 1250);
	/* permanent from the 3rd offence on; no list: the timeout again */
	cr_expect_eq(xb_escalate(perm, 2, 0), 60);
	cr_expect_eq(xb_escalate(perm, 3, 0), XB_TIMEOUT_PERMANENT);
	xb_config_free(c);
}

static void history_survives_restart(void)
{
	char dir[] = "/tmp/xb-policy-XXXXXX", cmd[64];
	struct fixture f;
	struct xb_decision d;

	cr_assert_not_null(mkdtemp(dir));
	fx_open(&f, SEED_AR, dir);
	cr_assert_eq(offend(&f, "198.18.0.7", 1000, &d), 1);
	cr_assert_eq(offend(&f, "198.18.0.7", 2000, &d), 1);
	cr_expect_eq(d.ttl, 1800);
	fx_close(&f);

	fx_open(&f, SEED_AR, dir);       /* the daemon restarted */
	cr_assert_eq(offend(&f, "198.18.0.7", 9000, &d), 1);
	cr_expect_eq(d.offence, 3);
	cr_expect_eq(d.ttl, 3600);
	fx_close(&f);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_expect_eq(system(cmd), 0);
}

Test(policy, history_survives_restart) { history_survives_restart(); }
Test(policy_deferred, history_survives_restart, .init = xb_test_defer) { history_survives_restart(); }

static void forgotten_after_quiet_period(void)
{
	struct fixture f;
	struct xb_decision d;
	size_t n = 0;

	fx_open(&f, "<offender_memory>1d</offender_memory>" SEED_AR, NULL);
	cr_assert_eq(offend(&f, "198.18.0.7", 1000, &d), 1);
	cr_assert_eq(offend(&f, "198.18.0.7", 2000, &d), 1);     /* banned until 3800 */
	cr_expect_eq(d.offence, 2);
	/* one second short of a quiet day after the ban ended: remembered */
	cr_assert_eq(offend(&f, "198.18.0.7", 3800 + 86400 - 1, &d), 1);
	cr_expect_eq(d.offence, 3);
	/* the 3rd ban ends at 3800+86399+3600; a full quiet day later: forgotten */
	cr_assert_eq(offend(&f, "198.18.0.7", 3800 + 86399 + 3600 + 86400, &d), 1);
	cr_expect_eq(d.offence, 1);
	cr_expect_eq(d.ttl, 600);
	/* housekeeping removes quiet histories */
	cr_assert_eq(xb_policy_forget(f.p, 10000000, &n), 0);
	cr_expect_eq(n, 1);
	fx_close(&f);
}

Test(policy, forgotten_after_quiet_period) { forgotten_after_quiet_period(); }
Test(policy_deferred, forgotten_after_quiet_period, .init = xb_test_defer) { forgotten_after_quiet_period(); }

Test(policy, allow_list_and_loopback_never_banned)
{
	struct fixture f;
	struct xb_decision d;
	char why[256];

	fx_open(&f, "<white_list>198.18.1.0/24</white_list><global><white_list>2001:db8:5::1"
		"</white_list></global>" SEED_AR, NULL);
	cr_expect_eq(offend(&f, "198.18.1.77", 1000, &d), 0);
	cr_expect_eq(offend(&f, "2001:db8:5::1", 1000, &d), 0);
	cr_expect_eq(offend(&f, "127.0.0.1", 1000, &d), 0);
	cr_expect_eq(offend(&f, "::1", 1000, &d), 0);
	cr_expect_eq(offend(&f, "198.18.2.1", 1000, &d), 1);
	/* a prefix overlapping the allow list is protected too */
	{
		struct xb_addr p = A("198.18.0.0/16");

		cr_expect(xb_policy_is_protected(f.c, NULL, &p, why, sizeof(why)));
		cr_expect(strstr(why, "allow list"), "%s", why);
	}
	fx_close(&f);
}

Test(policy, host_addresses_never_banned)
{
	struct fixture f;
	struct xb_hostaddr *h;
	struct xb_policy *p;
	struct xb_decision d;
	char why[256];
	const struct xb_addr *own;

	cr_assert_eq(xb_hostaddr_open(false, &h), 0);
	cr_assert_gt(xb_hostaddr_count(h), 0);
	own = xb_hostaddr_get(h, 0);
	fx_open(&f, SEED_AR, NULL);
	cr_assert_eq(xb_policy_new(f.c, f.st, h, &p), 0);
	f.ev.has_src = true;
	f.ev.src = *own;
	cr_expect_eq(xb_policy_alert(p, &f.al, 1000, &d, 1, why, sizeof(why)), 0);
	cr_expect(strstr(why, "loopback") || strstr(why, "this host"), "%s", why);
	xb_policy_free(p);
	xb_hostaddr_close(h);
	fx_close(&f);
}

static void ipv6_prefix_aggregation(void)
{
	struct fixture f;
	struct xb_decision d;
	char buf[XB_ADDRSTRLEN];

	fx_open(&f, "<ipv6_aggregate><threshold>3</threshold><window>1h</window></ipv6_aggregate>"
		SEED_AR, NULL);
	cr_assert_eq(offend(&f, "2001:db8:7:1::a", 1000, &d), 1);
	cr_expect_not(d.aggregate);
	cr_expect_eq(d.addr.prefixlen, 128);
	cr_assert_eq(offend(&f, "2001:db8:7:1::b", 1100, &d), 1);
	cr_expect_not(d.aggregate);
	/* a different /64 does not count */
	cr_assert_eq(offend(&f, "2001:db8:7:2::c", 1150, &d), 1);
	cr_expect_not(d.aggregate);
	cr_assert_eq(offend(&f, "2001:db8:7:1::c", 1200, &d), 1);
	cr_expect(d.aggregate);
	cr_expect_str_eq(xb_addr_fmt(&d.addr, buf, sizeof(buf)), "2001:db8:7:1::/64");
	cr_expect_eq(d.offence, 1, "the prefix has its own history");
	cr_expect_eq(d.ttl, 600);
	cr_expect_str_eq(xb_addr_fmt(&d.offender, buf, sizeof(buf)), "2001:db8:7:1::c");
	/* the next rotation re-arms the prefix with the next timeout */
	cr_assert_eq(offend(&f, "2001:db8:7:1::d", 1300, &d), 1);
	cr_expect(d.aggregate);
	cr_expect_eq(d.offence, 2);
	cr_expect(d.rearm);
	cr_expect_eq(d.ttl, 1800);
	/* outside the window, addresses count anew */
	cr_assert_eq(offend(&f, "2001:db8:7:3::1", 10000, &d), 1);
	cr_assert_eq(offend(&f, "2001:db8:7:3::2", 20000, &d), 1);
	cr_assert_eq(offend(&f, "2001:db8:7:3::3", 30000, &d), 1);
	cr_expect_not(d.aggregate);
	fx_close(&f);
}

Test(policy, ipv6_prefix_aggregation) { ipv6_prefix_aggregation(); }
Test(policy_deferred, ipv6_prefix_aggregation, .init = xb_test_defer) { ipv6_prefix_aggregation(); }

Test(policy, wazuh_binding)
{
	struct xb_config *c = conf(
		"<active-response><command>firewall-drop</command><location>local</location>"
		"<level>10</level><rules_group>authentication_failures,</rules_group>"
		"<rules_id>5763</rules_id></active-response>"
		"<active-response><command>firewall-drop</command><location>local</location>"
		"<level>8</level></active-response>"
		"<active-response><command>firewall-drop</command><location>local</location>"
		"<rules_group>^syslog|invalid_login,</rules_group></active-response>");
	const struct xb_ar *both = &c->ars[0], *lvl = &c->ars[1], *grp = &c->ars[2];
	const char *g = "syslog,sshd,authentication_failures,";

	cr_expect(xb_ar_binds(both, 5712, 10, g));
	cr_expect_not(xb_ar_binds(both, 5712, 9, g), "level and group must both match");
	cr_expect_not(xb_ar_binds(both, 5712, 12, "syslog,sshd,"), "level and group must both match");
	cr_expect(xb_ar_binds(both, 5763, 3, "x,"), "rules_id is an extra OR");
	cr_expect_not(xb_ar_binds(both, 5763, 0, g), "level 0 never triggers");
	cr_expect(xb_ar_binds(lvl, 1, 8, NULL));
	cr_expect_not(xb_ar_binds(lvl, 1, 7, NULL));
	cr_expect(xb_ar_binds(grp, 1, 3, "SYSLOG,sshd,"));
	cr_expect(xb_ar_binds(grp, 1, 3, "sshd,invalid_login,"));
	cr_expect_not(xb_ar_binds(grp, 1, 3, "sshd,authentication_failed,"));
	xb_config_free(c);
}

Test(policy, no_binding_no_ban)
{
	struct fixture f;
	struct xb_decision d;
	char why[256];

	fx_open(&f, SEED_AR, NULL);
	f.al.rule = 5710;
	f.al.level = 5;
	f.ev.has_src = true;
	f.ev.src = A("198.18.0.9");
	cr_expect_eq(xb_policy_alert(f.p, &f.al, 1000, &d, 1, why, sizeof(why)), 0);
	cr_expect(strstr(why, "no active-response"), "%s", why);
	f.al.rule = 5712;
	f.ev.has_src = false;
	cr_expect_eq(xb_policy_alert(f.p, &f.al, 1000, &d, 1, why, sizeof(why)), 0);
	fx_close(&f);
}

/* 5719 counts "not allowed" lines from every source: the line that completes
 * the count may be a bystander's, so such an alert never bans. The same rule
 * counted per source does. */
Test(policy, correlation_over_all_sources_never_bans)
{
	struct fixture f;
	struct xb_decision d;
	char why[256];

	fx_open(&f, "<active-response><command>firewall-drop</command><location>local</location>"
		"<rules_id>5719</rules_id><timeout>600</timeout></active-response>", NULL);
	f.al.rule = 5719;
	f.al.frequency = 8;
	f.al.same_source_ip = false;
	f.ev.has_src = true;
	f.ev.src = A("198.18.0.9");
	cr_expect_eq(xb_policy_alert(f.p, &f.al, 1000, &d, 1, why, sizeof(why)), 0);
	cr_expect(strstr(why, "every source"), "%s", why);
	f.al.same_source_ip = true;
	cr_expect_eq(xb_policy_alert(f.p, &f.al, 1000, &d, 1, why, sizeof(why)), 1);
	fx_close(&f);
}

static void permanent_bans(void)
{
	struct fixture f;
	struct xb_decision d;

	fx_open(&f, "<active-response><command>firewall-drop</command><location>local</location>"
		"<rules_id>5712</rules_id><timeout>60</timeout>"
		"<repeated_offenders>permanent</repeated_offenders></active-response>", NULL);
	cr_assert_eq(offend(&f, "198.18.0.30", 1000, &d), 1);
	cr_expect_eq(d.ttl, 60);
	cr_assert_eq(offend(&f, "198.18.0.30", 1030, &d), 1);
	cr_expect_eq(d.ttl, XB_TIMEOUT_PERMANENT);
	cr_expect_eq(d.expires, 0);
	cr_expect(d.rearm);
	/* a permanent ban is never shortened, and its history never forgotten */
	cr_assert_eq(offend(&f, "198.18.0.30", 100000000, &d), 1);
	cr_expect_eq(d.expires, 0);
	cr_expect_eq(d.offence, 3);
	fx_close(&f);
}

Test(policy, permanent_bans) { permanent_bans(); }
Test(policy_deferred, permanent_bans, .init = xb_test_defer) { permanent_bans(); }

Test(policy, no_aggregation_over_allow_list)
{
	struct fixture f;
	struct xb_decision d;

	fx_open(&f, "<white_list>2001:db8:6:1::99</white_list>"
		"<ipv6_aggregate><threshold>2</threshold></ipv6_aggregate>" SEED_AR, NULL);
	cr_assert_eq(offend(&f, "2001:db8:6:1::a", 1000, &d), 1);
	cr_assert_eq(offend(&f, "2001:db8:6:1::b", 1001, &d), 1);
	cr_expect_not(d.aggregate, "the /64 holds an allow-listed address");
	cr_expect_eq(d.addr.prefixlen, 128);
	fx_close(&f);
}

/* Disk full: decisions go on and escalate from the history in memory; once
 * space returns, one flush puts all of it in the database. */
Test(policy_deferred, escalates_while_the_disk_is_full, .init = xb_test_defer)
{
	char dir[] = "/tmp/xb-policy-XXXXXX", filler[64], block[4096] = { 0 }, cmd[64];
	struct xb_decision d;
	struct fixture f;
	struct xb_state_health h;
	struct xb_offence o;
	struct xb_addr a = A("198.18.0.7");
	int fd;

	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(mount("tmpfs", dir, "tmpfs", 0, "size=256k,mode=0700"), 0);
	xb_test_disk_full = true;
	fx_open(&f, SEED_AR, dir);
	cr_assert_eq(offend(&f, "198.18.0.7", 1000, &d), 1);
	cr_assert_eq(xb_state_flush(f.st, 0), 0);
	snprintf(filler, sizeof(filler), "%s/filler", dir);
	cr_assert_geq(fd = open(filler, O_WRONLY | O_CREAT, 0600), 0);
	while (write(fd, block, sizeof(block)) > 0)
		;
	while (write(fd, block, 1) > 0)
		;
	close(fd);
	for (int i = 0; i < 200; i++) {         /* a flood of others fills memory */
		char src[32];

		snprintf(src, sizeof(src), "198.18.%d.%d", 1 + i / 100, i % 100);
		cr_assert_eq(offend(&f, src, 1500, &d), 1, "%s", src);
		xb_state_flush(f.st, 0);
	}
	xb_state_health(f.st, &h);
	cr_expect_not(h.ok, "the flush must fail on a full disk");
	cr_assert_eq(offend(&f, "198.18.0.7", 2000, &d), 1, "banned while the disk is full");
	cr_expect_eq(d.offence, 2);
	cr_expect_eq(d.ttl, 1800);
	cr_assert_eq(offend(&f, "198.18.0.7", 4000, &d), 1);
	cr_expect_eq(d.offence, 3, "escalated from memory");
	cr_expect_eq(d.ttl, 3600);
	cr_assert_eq(unlink(filler), 0);
	cr_assert_eq(xb_state_flush(f.st, 0), 0);
	xb_state_health(f.st, &h);
	cr_expect(h.ok);
	cr_expect_eq(h.pending, 0);
	fx_close(&f);
	xb_test_deferred = false;
	fx_open(&f, SEED_AR, dir);      /* restarted: the database has it all */
	cr_assert_eq(xb_state_offence_get(f.st, &a, XB_DROP_CMD, &o), 0);
	cr_expect_eq(o.count, 3);
	fx_close(&f);
	umount2(dir, MNT_DETACH);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_expect_eq(system(cmd), 0);
}

/* The other responses of an alert: one decision per command (not per
 * block), each escalating on its own history, none for a protected source,
 * and the XDP ban's history untouched. */
Test(policy, responses_escalate_per_command)
{
	struct fixture f;
	struct xb_decision d[4], ban;
	char why[256];
	int n;

	fx_open(&f,
		"<white_list>198.18.7.0/24</white_list>"
		"<active-response><command>firewall-drop</command><location>local</location>"
		"<rules_id>5712</rules_id><timeout>600</timeout></active-response>"
		"<active-response><command>route-null</command><location>local</location>"
		"<rules_id>5712</rules_id><timeout>60</timeout>"
		"<repeated_offenders>2,3</repeated_offenders></active-response>"
		"<active-response><command>route-null</command><location>local</location>"
		"<level>10</level><timeout>60</timeout></active-response>"
		"<active-response><command>host-deny</command><location>local</location>"
		"<rules_id>5712</rules_id><timeout>30</timeout></active-response>",
		XB_STATE_MEMORY);
	f.ev.has_src = true;
	f.ev.src = A("198.18.0.7");
	for (int i = 1; i <= 3; i++) {
		n = xb_policy_responses(f.p, &f.al, 1000 * i, d, 4, why, sizeof(why));
		cr_assert_eq(n, 2, "offence %d: %s", i, why);
		cr_expect_str_eq(d[0].ar->cmd->name, "route-null");
		cr_expect_eq(d[0].offence, (uint32_t)i);
		cr_expect_eq(d[0].ttl, i == 1 ? 60 : i == 2 ? 120 : 180);
		cr_expect_str_eq(d[1].ar->cmd->name, "host-deny");
		cr_expect_eq(d[1].ttl, 30);
	}
	cr_expect_eq(offend(&f, "198.18.0.7", 4000, &ban), 1);
	cr_expect_eq(ban.offence, 1, "the XDP ban counts its own offences");
	f.ev.src = A("198.18.7.7");
	cr_expect_eq(xb_policy_responses(f.p, &f.al, 5000, d, 4, why, sizeof(why)), 0);
	cr_expect(strstr(why, "allow list"), "%s", why);
	fx_close(&f);
}

#define FLEET_AGENT "<fleet><agent_id>edge1</agent_id><role>agent</role>" \
	"<url>nats://198.18.60.1:4222</url></fleet>"
#define AR_AT(loc) "<active-response><command>firewall-drop</command><location>" loc \
	"</location><rules_id>5712</rules_id><timeout>600</timeout></active-response>"

/* In a fleet, server and defined-agent are the manager's to decide: the
 * seeing host neither bans nor counts; local and all ban here at once. */
Test(policy, fleet_locations_decided_here_or_by_the_manager)
{
	static const struct { const char *body; int want; } cases[] = {
		{ FLEET_AGENT AR_AT("server"), 0 },
		{ FLEET_AGENT "<active-response><command>firewall-drop</command>"
		  "<location>defined-agent</location><agent_id>edge2</agent_id>"
		  "<rules_id>5712</rules_id></active-response>", 0 },
		{ FLEET_AGENT AR_AT("all"), 1 },
		{ FLEET_AGENT AR_AT("local"), 1 },
		{ AR_AT("server"), 1 },         /* no fleet: server is this host, as before */
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct fixture f;
		struct xb_decision d;

		fx_open(&f, cases[i].body, XB_STATE_MEMORY);
		cr_expect_eq(offend(&f, "198.18.70.11", 1000000, &d), cases[i].want, "case %zu", i);
		cr_expect_eq(xb_ar_here(f.c, &f.c->ars[0]), cases[i].want == 1, "case %zu", i);
		fx_close(&f);
	}
}

#define HD_AT(loc) "<active-response><command>host-deny</command><location>" loc \
	"</location><agent_id>edge2</agent_id><rules_id>5712</rules_id><timeout>60</timeout>" \
	"</active-response>"

/* The other responses follow the same rule: a defined-agent host-deny is
 * run where the manager sends it, never by the host that saw the attack. */
Test(policy, fleet_responses_decided_here_or_by_the_manager)
{
	static const struct { const char *body; int want; } cases[] = {
		{ FLEET_AGENT HD_AT("defined-agent"), 0 },
		{ FLEET_AGENT HD_AT("server"), 0 },
		{ FLEET_AGENT HD_AT("all"), 1 },
		{ FLEET_AGENT HD_AT("local"), 1 },
		{ HD_AT("server"), 1 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct fixture f;
		struct xb_decision d[2];
		char why[256] = "";

		fx_open(&f, cases[i].body, XB_STATE_MEMORY);
		f.ev.has_src = true;
		f.ev.src = A("198.18.70.12");
		cr_expect_eq(xb_policy_responses(f.p, &f.al, 1000, d, 2, why, sizeof(why)),
			     cases[i].want, "case %zu: %s", i, why);
		fx_close(&f);
	}
}
