// SPDX-License-Identifier: GPL-2.0
/* The fleet stage without a broker: messages, the grace rule, the decisions
 * a host holds, and fleet.db (outbox, history, reports seen, held). */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <criterion/criterion.h>

#include "common/util.h"
#include "fleet/fleet.h"
#include "lib/testlib.h"

/* ---- messages ------------------------------------------------------------ */

Test(fleet_msg, report_round_trip)
{
	struct xb_fleet_report r = { .kind = XB_FLEET_ALERT, .id = "edge1-42", .agent = "edge1",
				     .ts = 1796186000, .addr = A("2001:db8:70::12"),
				     .cmd = "firewall-drop", .rule = 5712, .level = 10,
				     .groups = "syslog,sshd,authentication_failures," }, back;
	char buf[XB_FLEET_MSG_MAX];

	cr_assert_gt(xb_fleet_report_encode(&r, buf, sizeof(buf)), 0);
	cr_assert_eq(xb_fleet_report_decode(buf, strlen(buf), &back), 0, "%s", buf);
	cr_expect_eq(back.kind, XB_FLEET_ALERT);
	cr_expect_str_eq(back.id, "edge1-42");
	cr_expect_str_eq(back.agent, "edge1");
	cr_expect_eq(back.ts, r.ts);
	cr_expect(xb_addr_eq(&back.addr, &r.addr));
	cr_expect_str_eq(back.cmd, "firewall-drop");
	cr_expect_eq(back.rule, 5712);
	cr_expect_eq(back.level, 10);
	cr_expect_str_eq(back.groups, r.groups);
}

Test(fleet_msg, hello_round_trip)
{
	struct xb_fleet_report r = { .kind = XB_FLEET_HELLO, .id = "edge2-1", .agent = "edge2",
				     .ts = 1, .n_own = 2 }, back;
	char buf[XB_FLEET_MSG_MAX];

	r.own[0] = A("198.18.60.12");
	r.own[1] = A("2001:db8:62::1");
	cr_assert_gt(xb_fleet_report_encode(&r, buf, sizeof(buf)), 0);
	cr_assert_eq(xb_fleet_report_decode(buf, strlen(buf), &back), 0, "%s", buf);
	cr_expect_eq(back.kind, XB_FLEET_HELLO);
	cr_expect_eq(back.n_own, 2);
	cr_expect(xb_addr_eq(&back.own[1], &r.own[1]));
}

Test(fleet_msg, decision_round_trip_and_key)
{
	struct xb_fleet_decision d = { .target = "all", .addr = A("198.18.70.11"),
				       .cmd = "firewall-drop", .rule = 5712, .offence = 3,
				       .issued = 100, .end = 0, .by = "edge1" }, back;
	char buf[XB_FLEET_MSG_MAX], key[XB_FLEET_KEY_MAX];

	cr_assert_gt(xb_fleet_decision_encode(&d, buf, sizeof(buf)), 0);
	cr_assert_eq(xb_fleet_decision_decode(buf, strlen(buf), &back), 0, "%s", buf);
	cr_expect_str_eq(back.target, "all");
	cr_expect_eq(back.offence, 3);
	cr_expect_eq(back.end, 0, "a ban that never ends travels as end 0");
	cr_expect_str_eq(back.by, "edge1");
	cr_assert_eq(xb_fleet_key("all", &d.addr, d.cmd, key, sizeof(key)), 0);
	cr_expect_str_eq(key, "all.198-18-70-11.firewall-drop");
	d.addr = A("2001:db8::/64");
	cr_assert_eq(xb_fleet_key("edge2", &d.addr, d.cmd, key, sizeof(key)), 0);
	cr_expect_str_eq(key, "edge2.2001-db8--_64.firewall-drop", "KV keys take no ':' nor '/'");
	cr_expect_eq(xb_fleet_key("bad id", &d.addr, d.cmd, key, sizeof(key)), -EINVAL);
	cr_expect_eq(xb_fleet_key("edge2", &d.addr, "a.b", key, sizeof(key)), -EINVAL);
}

/* What a broker (or an agent) may send that must not be believed. */
Test(fleet_msg, refused)
{
	static const char *const reports[] = {
		"", "[]", "{}", "not json",
		"{\"v\":2,\"type\":\"alert\",\"id\":\"a-1\",\"agent\":\"a\",\"ts\":1,\"addr\":\"198.18.0.1\","
		"\"cmd\":\"firewall-drop\",\"rule\":1,\"level\":10,\"groups\":\"\"}",
		"{\"v\":1,\"type\":\"alert\",\"id\":\"a-1\",\"agent\":\"a b\",\"ts\":1,\"addr\":\"198.18.0.1\","
		"\"cmd\":\"firewall-drop\",\"rule\":1,\"level\":10,\"groups\":\"\"}",
		"{\"v\":1,\"type\":\"alert\",\"id\":\"a-1\",\"agent\":\"a\",\"ts\":1,\"addr\":\"example.org\","
		"\"cmd\":\"firewall-drop\",\"rule\":1,\"level\":10,\"groups\":\"\"}",
		"{\"v\":1,\"type\":\"alert\",\"id\":\"a-1\",\"agent\":\"a\",\"ts\":1,\"addr\":\"198.18.0.1\","
		"\"cmd\":\"../bin/sh\",\"rule\":1,\"level\":10,\"groups\":\"\"}",
		"{\"v\":1,\"type\":\"alert\",\"id\":\"a-1\",\"agent\":\"a\",\"ts\":1,\"addr\":\"198.18.0.1\","
		"\"cmd\":\"firewall-drop\",\"rule\":1,\"level\":99,\"groups\":\"\"}",
		"{\"v\":1,\"type\":\"alert\",\"id\":\"a-1\",\"agent\":\"a\",\"ts\":\"1\",\"addr\":\"198.18.0.1\","
		"\"cmd\":\"firewall-drop\",\"rule\":1,\"level\":10,\"groups\":\"\"}",
		"{\"v\":1,\"type\":\"shout\",\"id\":\"a-1\",\"agent\":\"a\",\"ts\":1}",
	};
	static const char *const decisions[] = {
		"{\"v\":1,\"target\":\"edge 1\",\"addr\":\"198.18.0.1\",\"cmd\":\"firewall-drop\","
		"\"rule\":1,\"offence\":1,\"issued\":1,\"end\":2,\"by\":\"x\"}",
		"{\"v\":1,\"target\":\"all\",\"addr\":\"198.18.0.1\",\"cmd\":\"firewall-drop\","
		"\"rule\":1,\"offence\":1,\"issued\":1,\"end\":-5,\"by\":\"x\"}",
		"{\"v\":1,\"target\":\"all\",\"addr\":\"198.18.0.1/33\",\"cmd\":\"firewall-drop\","
		"\"rule\":1,\"offence\":1,\"issued\":1,\"end\":2,\"by\":\"x\"}",
	};
	struct xb_fleet_report r;
	struct xb_fleet_decision d;

	for (size_t i = 0; i < ARRAY_SIZE(reports); i++)
		cr_expect_eq(xb_fleet_report_decode(reports[i], strlen(reports[i]), &r), -EINVAL,
			     "report %zu", i);
	for (size_t i = 0; i < ARRAY_SIZE(decisions); i++)
		cr_expect_eq(xb_fleet_decision_decode(decisions[i], strlen(decisions[i]), &d), -EINVAL,
			     "decision %zu", i);
}

/* ---- the grace rule -------------------------------------------------------- */

Test(fleet_grace, one_attack_seen_by_three_hosts_counts_once)
{
	struct xb_fleet_hist h = { 0 };
	int64_t t = 1000000;

	cr_expect(xb_fleet_hist_step(&h, t, t, 10, 86400), "the first report counts");
	h.until = t + 600;
	cr_expect_not(xb_fleet_hist_step(&h, t + 2, t + 2, 10, 86400), "edge2, 2 s later");
	cr_expect_not(xb_fleet_hist_step(&h, t - 1, t + 3, 10, 86400), "edge3, seen earlier, late");
	cr_expect_eq(h.count, 1);
	cr_expect(xb_fleet_hist_step(&h, t + 10, t + 10, 10, 86400), "10 s on: a new offence");
	cr_expect_eq(h.count, 2);
	cr_expect_eq(h.first, t);
	cr_expect_eq(h.last, t + 10);
}

Test(fleet_grace, grace_counts_from_the_counted_offence)
{
	struct xb_fleet_hist h = { 0 };

	/* Reports every 4 s with a grace of 10: 0 counts, 4 and 8 fold, 12 counts. */
	cr_expect(xb_fleet_hist_step(&h, 100, 100, 10, 86400));
	cr_expect_not(xb_fleet_hist_step(&h, 104, 104, 10, 86400));
	cr_expect_not(xb_fleet_hist_step(&h, 108, 108, 10, 86400));
	cr_expect(xb_fleet_hist_step(&h, 112, 112, 10, 86400));
	cr_expect_eq(h.count, 2);
}

Test(fleet_grace, quiet_history_is_forgotten)
{
	struct xb_fleet_hist h = { .count = 4, .first = 1, .last = 10, .until = 100 };

	/* offender_memory 50 s after the latest ban ended at 100. */
	cr_expect(xb_fleet_hist_step(&h, 149, 149, 10, 50));
	cr_expect_eq(h.count, 5, "not yet forgotten at 149");
	h.until = 200;
	cr_expect(xb_fleet_hist_step(&h, 250, 250, 10, 50));
	cr_expect_eq(h.count, 1, "forgotten at 250: a first offence again");
	h.until = XB_FLEET_FOREVER;
	h.last = 0;
	cr_expect(xb_fleet_hist_step(&h, 1000000, 1000000, 10, 50));
	cr_expect_eq(h.count, 2, "a ban that never ends is never forgotten");
}

/* ---- reconciliation of the decisions a host holds ----------------------------- */

static struct xb_fleet_decision dec(const char *addr, int64_t end)
{
	struct xb_fleet_decision d = { .target = "all", .addr = A(addr), .cmd = "firewall-drop",
				       .rule = 5712, .offence = 1, .issued = 1, .end = end,
				       .by = "edge1" };
	return d;
}

Test(fleet_table, apply_replay_extend_never_shorten)
{
	struct xb_fleet_table t = { 0 };
	struct xb_fleet_decision d = dec("198.18.70.11", 1600);
	int64_t end = -1;

	cr_expect_eq(xb_fleet_table_put(&t, "all.a.fd", &d, 1000, &end), XB_FLEET_APPLY);
	cr_expect_eq(end, 1600);
	cr_expect_eq(xb_fleet_table_put(&t, "all.a.fd", &d, 1001, &end), XB_FLEET_NONE,
		     "a replay changes nothing");
	d.end = 1500;
	cr_expect_eq(xb_fleet_table_put(&t, "all.a.fd", &d, 1002, &end), XB_FLEET_NONE,
		     "never shortened");
	cr_expect_eq(xb_fleet_table_get(&t, "all.a.fd")->d.end, 1600);
	d.end = 3400;
	d.offence = 2;
	cr_expect_eq(xb_fleet_table_put(&t, "all.a.fd", &d, 1003, &end), XB_FLEET_APPLY);
	cr_expect_eq(end, 3400, "extended");
	d.end = 0;
	cr_expect_eq(xb_fleet_table_put(&t, "all.a.fd", &d, 1004, &end), XB_FLEET_APPLY);
	cr_expect_eq(end, 0, "permanent outlasts everything");
	d.end = 99999;
	cr_expect_eq(xb_fleet_table_put(&t, "all.a.fd", &d, 1005, &end), XB_FLEET_NONE);
	xb_fleet_table_free(&t);
}

Test(fleet_table, expired_never_applied)
{
	struct xb_fleet_table t = { 0 };
	struct xb_fleet_decision d = dec("198.18.70.18", 1004);
	int64_t end = -1;

	cr_expect_eq(xb_fleet_table_put(&t, "all.h.fd", &d, 1004, &end), XB_FLEET_NONE,
		     "ends now: never applied");
	cr_expect_eq(xb_fleet_table_put(&t, "all.h.fd", &d, 2000, &end), XB_FLEET_NONE);
	cr_expect_null(xb_fleet_table_get(&t, "all.h.fd"));
	d.end = 1200;
	cr_expect_eq(xb_fleet_table_put(&t, "all.h.fd", &d, 1100, &end), XB_FLEET_APPLY,
		     "100 s remain: applied, with its own end");
	cr_expect_eq(end, 1200);
	cr_expect_eq(xb_fleet_table_expire(&t, 1200), 1);
	cr_expect_eq(t.n, 0);
	xb_fleet_table_free(&t);
}

Test(fleet_table, two_keys_one_address)
{
	struct xb_fleet_table t = { 0 };
	struct xb_fleet_decision mine = dec("198.18.70.11", 2000), every = dec("198.18.70.11", 3000);
	struct xb_fleet_decision gone;
	enum xb_fleet_act act;
	int64_t end = -1;

	cr_expect_eq(xb_fleet_table_put(&t, "edge2.a.fd", &mine, 1000, &end), XB_FLEET_APPLY);
	cr_expect_eq(xb_fleet_table_put(&t, "all.a.fd", &every, 1000, &end), XB_FLEET_APPLY);
	cr_expect_eq(end, 3000);
	/* The longer one lifted: the shorter one still holds. */
	cr_assert_eq(xb_fleet_table_del(&t, "all.a.fd", 1100, &gone, &end, &act), 0);
	cr_expect_eq(act, XB_FLEET_APPLY);
	cr_expect_eq(end, 2000);
	cr_expect_eq(gone.end, 3000);
	cr_assert_eq(xb_fleet_table_del(&t, "edge2.a.fd", 1100, &gone, &end, &act), 0);
	cr_expect_eq(act, XB_FLEET_LIFT, "nothing holds it: lift");
	cr_expect_eq(xb_fleet_table_del(&t, "edge2.a.fd", 1100, &gone, &end, &act), -ENOENT,
		     "a delete replayed changes nothing");
	/* A shorter key under a longer one: no change, and deleting it neither. */
	cr_expect_eq(xb_fleet_table_put(&t, "all.a.fd", &every, 1200, &end), XB_FLEET_APPLY);
	cr_expect_eq(xb_fleet_table_put(&t, "edge2.a.fd", &mine, 1200, &end), XB_FLEET_NONE);
	cr_assert_eq(xb_fleet_table_del(&t, "edge2.a.fd", 1300, &gone, &end, &act), 0);
	cr_expect_eq(act, XB_FLEET_NONE);
	xb_fleet_table_free(&t);
}

/* Thousands of decisions, two keys per address, deletions and expiry in
 * between: the indexes find every one that is left, and none that is not. */
Test(fleet_table, many_keys_indexed)
{
	struct xb_fleet_table t = { 0 };
	struct xb_fleet_decision gone;
	enum xb_fleet_act act;
	char a[32], k[64];
	int64_t end;

	for (int i = 0; i < 3000; i++) {
		struct xb_fleet_decision d;

		snprintf(a, sizeof(a), "198.18.%d.%d", 80 + i / 250, 1 + i % 250);
		d = dec(a, i % 3 ? 5000 : 1500);
		snprintf(k, sizeof(k), "all.%d.fd", i);
		cr_assert_eq(xb_fleet_table_put(&t, k, &d, 1000, &end), XB_FLEET_APPLY);
		d.end = 4000;
		snprintf(k, sizeof(k), "edge2.%d.fd", i);
		cr_assert_eq(xb_fleet_table_put(&t, k, &d, 1000, &end),
			     i % 3 ? XB_FLEET_NONE : XB_FLEET_APPLY);
	}
	cr_expect_eq(t.n, 6000);
	cr_assert_eq(xb_fleet_table_del(&t, "all.1.fd", 1100, &gone, &end, &act), 0);
	cr_expect_eq(act, XB_FLEET_APPLY, "edge2's shorter key still holds it");
	cr_expect_eq(end, 4000);
	cr_expect_eq(xb_fleet_table_expire(&t, 1500), 1000, "every third all-key ended");
	cr_expect_eq(t.n, 4999);
	cr_expect_null(xb_fleet_table_get(&t, "all.0.fd"));
	cr_expect_null(xb_fleet_table_get(&t, "all.1.fd"));
	cr_expect_not_null(xb_fleet_table_get(&t, "edge2.0.fd"));
	cr_expect_not_null(xb_fleet_table_get(&t, "all.2999.fd"));
	cr_assert_eq(xb_fleet_table_del(&t, "edge2.0.fd", 1600, &gone, &end, &act), 0);
	cr_expect_eq(act, XB_FLEET_LIFT, "nothing else holds 198.18.80.1");
	xb_fleet_table_free(&t);
}

/* ---- fleet.db ---------------------------------------------------------------- */

static char dir[64];

static void mkdir_tmp(void)
{
	snprintf(dir, sizeof(dir), "/tmp/xdpban-fleet-test.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void rm_tmp(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

Test(fleet_store, outbox_bounded_ordered_and_kept, .init = mkdir_tmp, .fini = rm_tmp)
{
	struct xb_fleet_store *s;
	struct xb_fleet_out out[8];
	int64_t seq, first = 0;

	cr_assert_eq(xb_fleet_store_open(dir, &s), 0);
	for (int i = 0; i < 3; i++) {
		char id[16];

		snprintf(id, sizeof(id), "e-%d", i);
		cr_assert_eq(xb_fleet_outbox_add(s, "xdpban.report.e", id, false, "{}", 3, &seq), 0);
		if (!first)
			first = seq;
	}
	cr_expect_eq(xb_fleet_outbox_add(s, "xdpban.report.e", "e-3", false, "{}", 3, &seq), -ENOSPC,
		     "the bound holds");
	cr_expect_eq(xb_fleet_outbox_depth(s), 3);
	cr_assert_eq(xb_fleet_outbox_del(s, first), 0);
	xb_fleet_store_close(s);
	/* A restart finds what was not acked, oldest first. */
	cr_assert_eq(xb_fleet_store_open(dir, &s), 0);
	cr_assert_eq(xb_fleet_outbox_next(s, 0, out, 8), 2);
	cr_expect_str_eq(out[0].id, "e-1");
	cr_expect_str_eq(out[1].id, "e-2");
	cr_expect_eq(xb_fleet_outbox_next(s, out[0].seq, out, 8), 1);
	/* A pack's ack deletes its rows at once; a duplicate deletes nothing. */
	cr_expect_eq(xb_fleet_outbox_del_range(s, first, out[0].seq), 2);
	cr_expect_eq(xb_fleet_outbox_del_range(s, first, out[0].seq), 0);
	cr_expect_eq(xb_fleet_outbox_depth(s), 0);
	xb_fleet_store_close(s);
}

Test(fleet_store, sequence_seen_history_held, .init = mkdir_tmp, .fini = rm_tmp)
{
	struct xb_fleet_store *s;
	struct xb_fleet_hist h = { .count = 2, .first = 10, .last = 20, .until = XB_FLEET_FOREVER }, g;
	struct xb_fleet_held held = { .key = "all.198-18-70-11.firewall-drop",
				      .d = dec("198.18.70.11", 5000) };
	struct xb_fleet_table t = { 0 };
	struct xb_addr a = A("198.18.70.11");
	int64_t s1, s2;
	bool seen;

	cr_assert_eq(xb_fleet_store_open(dir, &s), 0);
	cr_assert_eq(xb_fleet_next_seq(s, &s1), 0);
	cr_assert_eq(xb_fleet_next_seq(s, &s2), 0);
	cr_expect_eq(s2, s1 + 1);
	cr_assert_eq(xb_fleet_seen_mark(s, "edge1-7", 100, &seen), 0);
	cr_expect_not(seen);
	cr_expect_eq(xb_fleet_hist_get(s, &a, "firewall-drop", &g), -ENOENT);
	cr_assert_eq(xb_fleet_hist_put(s, &a, "firewall-drop", &h), 0);
	cr_assert_eq(xb_fleet_held_put(s, &held), 0);
	cr_assert_eq(xb_fleet_agent_seen(s, "edge2", 100, (struct xb_addr[]){ A("198.18.60.12") }, 1), 0);
	xb_fleet_store_close(s);

	cr_assert_eq(xb_fleet_store_open(dir, &s), 0);
	cr_assert_eq(xb_fleet_next_seq(s, &s1), 0);
	cr_expect_eq(s1, s2 + 1, "the sequence survives a restart (message ids stay unique)");
	cr_assert_eq(xb_fleet_seen_mark(s, "edge1-7", 200, &seen), 0);
	cr_expect(seen, "a redelivered report is known");
	cr_assert_eq(xb_fleet_seen_mark(s, "edge1-8", 200, &seen), 0);
	cr_expect_not(seen);
	cr_assert_eq(xb_fleet_hist_get(s, &a, "firewall-drop", &g), 0);
	cr_expect_eq(g.count, 2);
	cr_expect_eq(g.until, XB_FLEET_FOREVER);
	cr_assert_eq(xb_fleet_held_load(s, &t), 0);
	cr_assert_eq(t.n, 1);
	cr_expect_eq(t.h[0].d.end, 5000);
	{
		struct xb_addr in = A("198.18.60.12"), out = A("198.18.60.13");
		char who[64];

		cr_expect_eq(xb_fleet_agent_owns(s, &in, who, sizeof(who)), 1);
		cr_expect(strstr(who, "edge2"), "%s", who);
		cr_expect_eq(xb_fleet_agent_owns(s, &out, who, sizeof(who)), 0);
	}
	xb_fleet_table_free(&t);
	xb_fleet_store_close(s);
}

Test(fleet_client, broker_addresses)
{
	struct xb_conf_fleet c = { .n_urls = 3,
				   .urls = { "tls://198.18.60.1:4222", "nats://[2001:db8:60::1]:4222",
					     "nats://broker.example:4222" } };
	struct xb_addr a[4];

	cr_assert_eq(xb_fleet_broker_addrs(&c, a, 4), 2, "names are not resolved");
	cr_expect(xb_addr_eq(&a[0], &(struct xb_addr){ 0 }) == false);
	cr_expect(xb_addr_eq(&a[0], (struct xb_addr[]){ A("198.18.60.1") }));
	cr_expect(xb_addr_eq(&a[1], (struct xb_addr[]){ A("2001:db8:60::1") }));
}

Test(fleet_store, issued_keys_end, .init = mkdir_tmp, .fini = rm_tmp)
{
	struct xb_fleet_store *s;
	char keys[4][XB_FLEET_KEY_MAX];

	cr_assert_eq(xb_fleet_store_open(dir, &s), 0);
	cr_assert_eq(xb_fleet_issued_put(s, "all.a.firewall-drop", 100), 0);
	cr_assert_eq(xb_fleet_issued_put(s, "all.b.firewall-drop", 0), 0);
	cr_assert_eq(xb_fleet_issued_put(s, "all.c.firewall-drop", 300), 0);
	cr_assert_eq(xb_fleet_issued_ended(s, 200, keys, 4), 1, "only what ended, never an unending one");
	cr_expect_str_eq(keys[0], "all.a.firewall-drop");
	cr_assert_eq(xb_fleet_issued_put(s, "all.a.firewall-drop", 400), 0);
	cr_expect_eq(xb_fleet_issued_ended(s, 200, keys, 4), 0, "an extension moves the end");
	/* A lift forgets an unending key (its marker stays), not one that ends. */
	cr_assert_eq(xb_fleet_issued_del(s, "all.b.firewall-drop", true), 0);
	cr_assert_eq(xb_fleet_issued_del(s, "all.c.firewall-drop", true), 0);
	cr_expect_eq(xb_fleet_issued_ended(s, 500, keys, 4), 2);
	xb_fleet_store_close(s);
}

/* ---- a batch killed: the manager's guarantee ------------------------------ */

/* What the manager stores for report i of a batch (as pipeline/fleet.c
 * does): its seen mark, its address's history, a decision in the outbox. */
static int store_report(struct xb_fleet_store *s, int i, int64_t now)
{
	struct xb_fleet_hist h = { 0 };
	char id[32], addr[32], subj[64];
	struct xb_addr a;
	int64_t seq;
	bool seen;
	int err;

	snprintf(id, sizeof(id), "agent%03d-b%d", i % 100, i);
	snprintf(addr, sizeof(addr), "198.19.%d.%d", i / 250 % 256, 1 + i % 250);
	if (xb_addr_parse(addr, &a, false))
		return -EINVAL;
	if ((err = xb_fleet_seen_mark(s, id, now, &seen)) || seen)
		return err;
	err = xb_fleet_hist_get(s, &a, "firewall-drop", &h);
	if (err && err != -ENOENT)
		return err;
	xb_fleet_hist_step(&h, now, now, 10, 86400);
	h.until = now + 600;
	snprintf(subj, sizeof(subj), "$KV.xdpban-decisions.all.%d.firewall-drop", i);
	if ((err = xb_fleet_hist_put(s, &a, "firewall-drop", &h)) ||
	    (err = xb_fleet_next_seq(s, &seq)))
		return err;
	snprintf(id, sizeof(id), "d-manager-%lld", (long long)seq);
	return xb_fleet_outbox_add(s, subj, id, XB_FLEET_PUT, "{}", SIZE_MAX, &seq);
}

#define KILL_BATCH 200

/* A manager deciding batch after batch, one transaction each, telling the
 * parent after each commit (its acks); SIGKILLed wherever it is. */
static void child_batches(int wfd, int max)
{
	struct xb_fleet_store *s;

	if (xb_fleet_store_open(dir, &s))
		_exit(2);
	for (int b = 0; b < max; b++) {
		if (xb_fleet_store_begin(s))
			_exit(3);
		for (int i = 0; i < KILL_BATCH; i++)
			if (store_report(s, b * KILL_BATCH + i, 1000))
				_exit(4);
		if (xb_fleet_store_commit(s))
			_exit(5);
		if (write(wfd, "c", 1) != 1)
			_exit(6);
	}
	_exit(0);
}

Test(fleet_store, batch_killed_mid_commit_loses_nothing_counts_once, .init = mkdir_tmp,
     .fini = rm_tmp)
{
	struct xb_fleet_store *s;
	int fds[2], acked = 0, stored = 0, st;
	struct xb_fleet_hist h;
	char c;
	pid_t pid;

	cr_assert_eq(pipe(fds), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (!pid) {
		close(fds[0]);
		child_batches(fds[1], 200);
	}
	close(fds[1]);
	/* Killed after a few commits, most likely in a batch or its commit. */
	while (acked < 3 && read(fds[0], &c, 1) == 1)
		acked++;
	usleep(20000);
	kill(pid, SIGKILL);
	while (read(fds[0], &c, 1) == 1)
		acked++;
	close(fds[0]);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFSIGNALED(st), "the child was killed, not done (status %d)", st);

	/* The broker sends again every report not acked, and the acked ones
	 * too (an ack may be lost): each is known, or stored now, once. */
	cr_assert_eq(xb_fleet_store_open(dir, &s), 0);
	for (int i = 0; i < (acked + 2) * KILL_BATCH; i++) {
		char id[32];
		bool seen;

		snprintf(id, sizeof(id), "agent%03d-b%d", i % 100, i);
		cr_assert_eq(xb_fleet_seen_mark(s, id, 2000, &seen), 0);
		if (seen)
			stored++;
		else
			cr_assert_geq(i, acked * KILL_BATCH, "report %d was acked, then lost", i);
	}
	cr_expect_eq(stored % KILL_BATCH, 0, "a batch is stored whole or not at all (%d)", stored);
	cr_expect_geq(stored, acked * KILL_BATCH);
	cr_expect_leq(stored, (acked + 1) * KILL_BATCH);
	cr_expect_eq(xb_fleet_outbox_depth(s), stored, "one decision per stored report");
	/* Redelivered: nothing counted twice. */
	for (int i = 0; i < stored; i++)
		cr_assert_eq(store_report(s, i, 2000), 0);
	cr_expect_eq(xb_fleet_outbox_depth(s), stored, "a replay queues nothing");
	for (int i = 0; i < stored; i += 97) {
		char addr[32];
		struct xb_addr a;

		snprintf(addr, sizeof(addr), "198.19.%d.%d", i / 250 % 256, 1 + i % 250);
		cr_assert_eq(xb_addr_parse(addr, &a, false), 0);
		cr_assert_eq(xb_fleet_hist_get(s, &a, "firewall-drop", &h), 0);
		cr_expect_eq(h.count, 1, "report %d counted once", i);
	}
	xb_fleet_store_close(s);
}

/* ---- packs: an agent's queued reports in one message ---------------------- */

Test(fleet_msg, pack_lines)
{
	struct xb_fleet_report a = { .kind = XB_FLEET_ALERT, .id = "edge1-1", .agent = "edge1",
				     .ts = 100, .addr = A("198.18.70.1"), .cmd = "firewall-drop",
				     .rule = 5712, .level = 10 };
	struct xb_fleet_report b = a, got;
	char buf[2 * XB_FLEET_MSG_MAX];
	const char *line;
	size_t off = 0, n, len;
	int k = 0;

	snprintf(b.id, sizeof(b.id), "edge1-2");
	b.addr = A("2001:db8:70::2");
	len = (size_t)xb_fleet_report_encode(&a, buf, sizeof(buf));
	buf[len++] = '\n';
	len += (size_t)xb_fleet_report_encode(&b, buf + len, sizeof(buf) - len);
	while (xb_fleet_pack_next(buf, len, &off, &line, &n)) {
		cr_assert_eq(xb_fleet_report_decode(line, n, &got), 0, "line %d", k);
		cr_expect_str_eq(got.id, k ? "edge1-2" : "edge1-1");
		k++;
	}
	cr_expect_eq(k, 2);
	/* One report alone is a pack of one (what an older agent sends). */
	off = 0;
	len = (size_t)xb_fleet_report_encode(&a, buf, sizeof(buf));
	cr_assert(xb_fleet_pack_next(buf, len, &off, &line, &n));
	cr_expect_eq(n, len);
	cr_expect_not(xb_fleet_pack_next(buf, len, &off, &line, &n));
}
