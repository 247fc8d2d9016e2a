// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <criterion/criterion.h>

#include "common/config.h"
#include "common/util.h"

#define CONF_DIR "tests/data/conf/"

static int parse(const char *xml, struct xb_config **c, char *err, size_t len)
{
	return xb_config_parse(xml, strlen(xml), "t.conf", c, err, len);
}

/* xml is refused: -EINVAL, no config, and an error that says want. */
static void expect_refused(size_t i, const char *xml, const char *want)
{
	struct xb_config *c = NULL;
	char err[512] = "";

	cr_expect_eq(parse(xml, &c, err, sizeof(err)), -EINVAL, "case %zu", i);
	cr_expect_null(c, "case %zu", i);
	cr_expect(strstr(err, want), "case %zu: want '%s', got '%s'", i, want, err);
}

Test(config, seed_block_pasted_unchanged)
{
	struct xb_config *c = NULL;
	char err[512];

	cr_assert_eq(xb_config_load(CONF_DIR "seed.conf", &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c->n_ars, 1);
	cr_expect_str_eq(c->ars[0].command, "firewall-drop");
	cr_expect(c->ars[0].cmd && c->ars[0].cmd->builtin_drop);
	cr_expect_eq(c->ars[0].location, XB_LOC_LOCAL);
	cr_assert_eq(c->ars[0].n_rules_id, 1);
	cr_expect_eq(c->ars[0].rules_id[0], 5712);
	cr_expect_eq(c->ars[0].timeout, 600);
	cr_assert_eq(c->ars[0].n_repeated, 3);
	cr_expect_eq(c->ars[0].repeated[0], 1800);
	cr_expect_eq(c->ars[0].repeated[1], 3600);
	cr_expect_eq(c->ars[0].repeated[2], 5400);
	/* Defaults for everything else. */
	cr_expect_str_eq(c->state_dir, XB_STATE_DIR_DEFAULT);
	cr_expect_eq(c->offender_memory, 7 * 86400);
	cr_expect_eq(c->v6agg.prefix_len, 64);
	cr_expect(c->v6agg.enabled);
	xb_config_free(c);
}

Test(config, full_file)
{
	struct xb_config *c = NULL;
	char err[512], buf[XB_ADDRSTRLEN];

	cr_assert_eq(xb_config_load(CONF_DIR "full.conf", &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c->n_ifaces, 2);
	cr_expect_str_eq(c->ifaces[0].name, "eth0");
	cr_expect_eq(c->ifaces[0].mode, XB_MODE_NATIVE);
	cr_expect_eq(c->ifaces[1].mode, XB_MODE_AUTO);
	cr_assert_eq(c->n_sources, 2);
	cr_expect_eq(c->sources[0].type, XB_SRC_JOURNAL);
	cr_expect_str_eq(c->sources[1].path, "/var/log/auth.log");
	cr_expect_str_eq(c->rules_dir, "/usr/share/xdpban/rules");
	cr_expect_str_eq(c->local_rules, "/etc/xdpban/local_rules.xml");
	cr_assert_eq(c->n_allow, 2);
	cr_expect_str_eq(xb_addr_fmt(&c->allow[0], buf, sizeof(buf)), "198.18.0.0/24");
	cr_expect_str_eq(xb_addr_fmt(&c->allow[1], buf, sizeof(buf)), "2001:db8:1::/48");
	cr_expect_str_eq(c->state_dir, "/var/lib/xdpban-test");
	cr_expect_str_eq(c->ctl_socket, "/run/xdpban-test.sock");
	cr_expect_eq(c->offender_memory, 2 * 86400);
	cr_expect_eq(c->v6agg.prefix_len, 56);
	cr_expect_eq(c->v6agg.threshold, 4);
	cr_expect_eq(c->v6agg.window, 1800);
	cr_assert_eq(c->n_ars, 2);
	cr_expect_eq(c->ars[0].n_rules_id, 2);
	cr_expect_eq(c->ars[0].rules_id[1], 5720);
	cr_expect_eq(c->ars[0].n_repeated, 7);
	cr_expect_eq(c->ars[0].repeated[6], XB_TIMEOUT_PERMANENT);
	cr_expect_eq(c->ars[1].location, XB_LOC_SERVER);
	cr_expect_eq(c->ars[1].level, 10);
	cr_expect_str_eq(c->ars[1].rules_group, "authentication_failures,|invalid_login,");
	cr_expect_eq(c->ars[1].timeout, 3600);
	cr_expect_float_eq(c->ars[1].increment_factor, 2.0, 1e-9);
	cr_expect_eq(c->ars[1].max_timeout, 604800);
	cr_expect_eq(c->ars[1].random_jitter, 60);
	cr_expect_eq(c->ars[1].permanent_after, 10);
	xb_config_free(c);
}

Test(config, ossec_conf_fragment)
{
	struct xb_config *c = NULL;
	char err[512], buf[XB_ADDRSTRLEN];

	cr_assert_eq(xb_config_load(CONF_DIR "ossec.conf", &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c->n_allow, 2);
	cr_expect_str_eq(xb_addr_fmt(&c->allow[1], buf, sizeof(buf)), "198.18.5.5");
	cr_assert_eq(c->n_cmds, 2);
	cr_assert_eq(c->n_ars, 2);
	cr_expect(c->ars[0].disabled);
	cr_expect_not(c->ars[0].cmd->builtin_drop);
	cr_expect(c->ars[1].cmd->builtin_drop);
	xb_config_free(c);
}

/* Every response of the seed's table: built-ins by name or as the relative
 * executable, scripts by path, and their settings. */
Test(config, responses_built_in_and_scripts)
{
	static const char xml[] =
		"<xdpban><active_response_dir>/opt/ar</active_response_dir>"
		"<hosts_deny>/tmp/hd</hosts_deny><protected_accounts>admin, deploy</protected_accounts>"
		"<command><name>block</name><executable>/opt/bin/route-null</executable>"
		"<timeout_allowed>yes</timeout_allowed></command>"
		"<command><name>nr</name><executable>route-null</executable></command>"
		"<command><name>s</name><executable>wazuh-slack</executable>"
		"<extra_args>https://hooks.example/x</extra_args></command>"
		"<active-response><command>block</command><location>local</location>"
		"<rules_id>5712</rules_id><timeout>60</timeout></active-response>"
		"<active-response><command>nr</command><location>local</location>"
		"<rules_id>5712</rules_id><timeout>60</timeout></active-response>"
		"<active-response><command>host-deny</command><location>local</location>"
		"<rules_id>5712</rules_id><timeout>60</timeout></active-response>"
		"<active-response><command>disable-account</command><location>local</location>"
		"<rules_id>5763</rules_id><timeout>60</timeout></active-response>"
		"<active-response><command>s</command><location>local</location>"
		"<level>10</level></active-response></xdpban>";
	struct xb_config *c = NULL;
	char err[512];

	cr_assert_eq(xb_config_parse(xml, sizeof(xml) - 1, "t.conf", &c, err, sizeof(err)), 0,
		     "%s", err);
	cr_expect_str_eq(c->ar_dir, "/opt/ar");
	cr_expect_str_eq(c->hosts_deny, "/tmp/hd");
	cr_assert_eq(c->n_protected, 2);
	cr_expect_str_eq(c->protected_accounts[1], "deploy");
	cr_expect_eq(c->ars[0].cmd->kind, XB_CMD_SCRIPT, "an absolute path is a program");
	cr_expect_eq(c->ars[0].timeout, 60);
	cr_expect_eq(c->ars[1].cmd->kind, XB_CMD_ROUTE_NULL);
	cr_expect_eq(c->ars[1].timeout, XB_TIMEOUT_PERMANENT, "timeout_allowed defaults to no");
	cr_expect_eq(c->ars[2].cmd->kind, XB_CMD_HOST_DENY);
	cr_expect_eq(c->ars[3].cmd->kind, XB_CMD_DISABLE_ACCOUNT);
	cr_expect_eq(c->ars[4].cmd->kind, XB_CMD_WEBHOOK);
	xb_config_free(c);
	cr_expect_eq(xb_config_parse("<xdpban/>", 9, "d.conf", &c, err, sizeof(err)), 0);
	cr_expect_str_eq(c->ar_dir, XB_AR_DIR_DEFAULT);
	cr_expect_str_eq(c->hosts_deny, XB_HOSTS_DENY_DEFAULT);
	xb_config_free(c);
}

Test(config, webhook_needs_its_url)
{
	static const char xml[] =
		"<xdpban><active-response><command>webhook</command><location>local</location>"
		"<level>10</level></active-response></xdpban>";
	struct xb_config *c = NULL;
	char err[512];

	cr_expect_eq(xb_config_parse(xml, sizeof(xml) - 1, "t.conf", &c, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "t.conf:1: command 'webhook' posts to a webhook"), "%s", err);
}

/* Each bad config names the file, the line and the reason. */
Test(config, bad_configs_refused_with_line)
{
	static const struct { const char *file, *want; } bad[] = {
		{ "bad-unknown.conf", "bad-unknown.conf:6: unknown element <tiemout>" },
		{ "bad-timeout.conf", "bad-timeout.conf:6: <timeout>: '-600' is negative" },
		{ "bad-agent.conf", "bad-agent.conf:2: location defined-agent needs several hosts: configure <fleet>" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct xb_config *c = NULL;
		char path[256], err[512];

		snprintf(path, sizeof(path), CONF_DIR "%s", bad[i].file);
		cr_expect_eq(xb_config_load(path, &c, err, sizeof(err)), -EINVAL, "%s", bad[i].file);
		cr_expect_null(c);
		cr_expect(strstr(err, bad[i].want), "%s: got '%s'", bad[i].file, err);
	}
}

Test(config, bad_values)
{
	static const struct { const char *xml, *want; } bad[] = {
		{ "<xdpban><active-response><command>firewall-drop</command><location>local</location>"
		  "<rules_id>5712</rules_id><timeout>0</timeout></active-response></xdpban>",
		  "t.conf:1: <timeout>: must be greater than zero" },
		{ "<xdpban><active-response><command>firewall-drop</command><location>local</location>"
		  "<rules_id>5712</rules_id><timeout>ten</timeout></active-response></xdpban>",
		  "'ten' is not a duration" },
		{ "<xdpban><active-response><location>local</location>"
		  "<rules_id>5712</rules_id><timeout>600</timeout></active-response></xdpban>",
		  "without <command>" },
		{ "<xdpban><active-response><command>nope</command><location>local</location>"
		  "<rules_id>5712</rules_id></active-response></xdpban>",
		  "command 'nope'" },
		{ "<xdpban><active-response><command>firewall-drop</command><location>local</location>"
		  "<rules_id>57x2</rules_id></active-response></xdpban>",
		  "'57x2' is not a rule id" },
		{ "<xdpban><active-response><command>firewall-drop</command><location>local</location>"
		  "<rules_id>5712</rules_id><repeated_offenders>30,-5</repeated_offenders></active-response></xdpban>",
		  "'-5' is negative" },
		{ "<xdpban><active-response><command>firewall-drop</command><location>all</location>"
		  "<rules_id>5712</rules_id></active-response></xdpban>",
		  "t.conf:1: location all needs several hosts: configure <fleet>" },
		{ "<xdpban><active-response><command>firewall-drop</command><location>mars</location>"
		  "<rules_id>5712</rules_id></active-response></xdpban>",
		  "location 'mars'" },
		{ "<xdpban><active-response><command>firewall-drop</command><location>local</location>"
		  "<level>21</level></active-response></xdpban>", "<level>" },
		{ "<xdpban><white_list>198.18.0.1/16</white_list></xdpban>", "white_list" },
		{ "<xdpban><interface mode=\"turbo\">eth0</interface></xdpban>", "turbo" },
		{ "<xdpban><source type=\"file\">relative.log</source></xdpban>", "absolute path" },
		{ "<xdpban>hello<state_dir>/x</state_dir></xdpban>", "unexpected text 'hello'" },
		{ "<xdpban><state_dir>/x</xdpban>", "t.conf:1:" },
		{ "<wazuh/>", "root element is <wazuh>" },
		{ "<!DOCTYPE x [<!ENTITY e \"198.18.0.1\">]><xdpban><white_list>&e;</white_list></xdpban>",
		  "DOCTYPE" },
		{ "<xdpban><global><logall>yes</logall></global></xdpban>", "<logall>" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		expect_refused(i, bad[i].xml, bad[i].want);
}

Test(config, wazuh_details)
{
	struct xb_config *c = NULL;
	char err[512];
	/* no timeout = never undone; timeout_allowed no = timeout ignored */
	const char *xml =
		"<xdpban><command><name>firewall-drop</name><executable>firewall-drop</executable>"
		"<timeout_allowed>no</timeout_allowed></command>"
		"<active-response><command>firewall-drop</command><location>AS</location>"
		"<rules_id>5712</rules_id><timeout>600</timeout></active-response>"
		"<active-response><command>xdp-drop</command><location>local</location>"
		"<level>10</level></active-response></xdpban>";

	cr_assert_eq(parse(xml, &c, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(c->ars[0].location, XB_LOC_SERVER);
	cr_expect_eq(c->ars[0].timeout, XB_TIMEOUT_PERMANENT);
	cr_expect_eq(c->ars[1].timeout, XB_TIMEOUT_PERMANENT);
	xb_config_free(c);
}

Test(config, missing_file)
{
	struct xb_config *c = NULL;
	char err[512];

	cr_expect_eq(xb_config_load("/nonexistent/xdpban.conf", &c, err, sizeof(err)), -ENOENT);
	cr_expect(strstr(err, "/nonexistent/xdpban.conf"));
}

Test(config, path_precedence)
{
	setenv(XB_CONFIG_ENV, "/tmp/env.conf", 1);
	cr_expect_str_eq(xb_config_path("/a.conf"), "/a.conf");
	cr_expect_str_eq(xb_config_path(NULL), "/tmp/env.conf");
	unsetenv(XB_CONFIG_ENV);
	cr_expect_str_eq(xb_config_path(NULL), XB_CONFIG_DEFAULT);
}

Test(config, metrics_address)
{
	static const char *const good[] = { "127.0.0.1:9477", "[::1]:9477", "[2001:db8::1]:80",
					    "0.0.0.0:65535" };
	static const char *const bad[] = { "localhost:9477", "127.0.0.1:0", "127.0.0.1:65536",
					   "[::1]9477", "9477", "127.0.0.1:", "198.18.0.1:9x",
					   "::1:9477", "[198.18.0.1]:80", "127.0.0.1:-1" };
	struct xb_config *c = NULL;
	char xml[256], err[512];

	cr_assert_eq(parse("<xdpban/>", &c, err, sizeof(err)), 0, "%s", err);
	cr_expect_null(c->metrics, "off by default");
	xb_config_free(c);
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		c = NULL;
		snprintf(xml, sizeof(xml), "<xdpban><metrics>%s</metrics></xdpban>", good[i]);
		cr_expect_eq(parse(xml, &c, err, sizeof(err)), 0, "%s: %s", good[i], err);
		if (c)
			cr_expect_str_eq(c->metrics, good[i]);
		xb_config_free(c);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		c = NULL;
		err[0] = '\0';
		snprintf(xml, sizeof(xml), "<xdpban><metrics>%s</metrics></xdpban>", bad[i]);
		cr_expect_eq(parse(xml, &c, err, sizeof(err)), -EINVAL, "%s", bad[i]);
		cr_expect_null(c, "%s", bad[i]);
		cr_expect(strstr(err, "t.conf:1: <metrics> needs"), "%s: got '%s'", bad[i], err);
	}
}

#define FLEET "<fleet><agent_id>edge-1</agent_id><role>agent</role>" \
	      "<url>nats://198.18.0.1:4222</url></fleet>"

/* With <fleet>, the seed's defined-agent block works, a comma list too. */
Test(config, fleet_locations)
{
	static const char xml[] =
		"<xdpban><active-response><command>firewall-drop</command>"
		"<location>defined-agent</location><agent_id>001, edge-2</agent_id>"
		"<rules_id>5712</rules_id><timeout>600</timeout></active-response>"
		"<active-response><command>firewall-drop</command><location>any</location>"
		"<rules_id>5763</rules_id></active-response>" FLEET "</xdpban>";
	struct xb_config *c = NULL;
	char err[512];

	cr_assert_eq(parse(xml, &c, err, sizeof(err)), 0, "%s", err);
	cr_expect(c->fleet.enabled);
	cr_expect_not(c->fleet.manager);
	cr_expect_str_eq(c->fleet.agent_id, "edge-1");
	cr_expect_eq(c->fleet.n_urls, 1);
	cr_expect_eq(c->fleet.grace, 10, "default grace");
	cr_expect_eq(c->fleet.report_rate, 200, "default report_rate");
	cr_expect_eq(c->fleet.outbox_max, 10000, "default outbox_max");
	cr_expect_eq(c->fleet.replicas, 1, "default replicas");
	cr_expect_eq(c->fleet.report_pack, XB_FLEET_PACK_DEF, "default report_pack: 16");
	cr_expect_eq(c->ars[0].location, XB_LOC_DEFINED_AGENT);
	cr_expect(xb_agent_list_has(c->ars[0].agent_id, "edge-2"));
	cr_expect(xb_agent_list_has(c->ars[0].agent_id, "001"));
	cr_expect_not(xb_agent_list_has(c->ars[0].agent_id, "edge"));
	cr_expect_eq(c->ars[1].location, XB_LOC_ALL);
	xb_config_free(c);
}

Test(config, fleet_report_pack)
{
	struct xb_config *c = NULL;
	char err[512];

	cr_assert_eq(parse("<xdpban><fleet><agent_id>e</agent_id><role>agent</role>"
			   "<url>nats://198.18.0.1:4222</url><report_pack>1</report_pack>"
			   "</fleet></xdpban>", &c, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(c->fleet.report_pack, 1, "1: a message per report");
	xb_config_free(c);
	c = NULL;
	cr_expect_eq(parse("<xdpban><fleet><agent_id>e</agent_id><role>agent</role>"
			   "<url>nats://198.18.0.1:4222</url><report_pack>65</report_pack>"
			   "</fleet></xdpban>", &c, err, sizeof(err)), -EINVAL, "above the bound");
	cr_expect_null(c);
	cr_expect_eq(parse("<xdpban><fleet><agent_id>e</agent_id><role>agent</role>"
			   "<url>nats://198.18.0.1:4222</url><report_pack>0</report_pack>"
			   "</fleet></xdpban>", &c, err, sizeof(err)), -EINVAL, "zero");
	cr_expect_null(c);
}

/* Any other command travels too (the target runs it), but an account. */
Test(config, fleet_other_commands)
{
	static const char xml[] =
		"<xdpban><command><name>notify</name><executable>notify.sh</executable>"
		"</command><active-response><command>host-deny</command>"
		"<location>defined-agent</location><agent_id>edge-2</agent_id>"
		"<rules_id>5712</rules_id><timeout>60</timeout></active-response>"
		"<active-response><command>notify</command><location>all</location>"
		"<rules_id>5712</rules_id></active-response>" FLEET "</xdpban>";
	struct xb_config *c = NULL;
	char err[512];

	cr_assert_eq(parse(xml, &c, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(xb_config_command(c, "notify")->kind, XB_CMD_SCRIPT);
	cr_expect_eq(xb_config_command(c, "host-deny")->kind, XB_CMD_HOST_DENY);
	cr_expect_null(xb_config_command(c, "no-such"));
	xb_config_free(c);
}

/* A restart, not a reload: the manager sets the stream up at connect. */
Test(config, fleet_replicas)
{
	struct xb_config *a = NULL, *b = NULL;
	char err[512];

	cr_assert_eq(parse("<xdpban><fleet><agent_id>m</agent_id><role>manager</role>"
			   "<url>nats://198.18.0.1:4222</url><url>nats://198.18.0.2:4222</url>"
			   "<url>nats://198.18.0.3:4222</url><replicas>3</replicas></fleet></xdpban>",
			   &a, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(a->fleet.replicas, 3);
	cr_assert_eq(parse("<xdpban><fleet><agent_id>m</agent_id><role>manager</role>"
			   "<url>nats://198.18.0.1:4222</url><url>nats://198.18.0.2:4222</url>"
			   "<url>nats://198.18.0.3:4222</url></fleet></xdpban>",
			   &b, err, sizeof(err)), 0, "%s", err);
	cr_expect_not(xb_fleet_same(&a->fleet, &b->fleet));
	xb_config_free(a);
	xb_config_free(b);
}

Test(config, fleet_refused_with_line)
{
	static const struct { const char *xml, *want; } bad[] = {
		{ "<xdpban><fleet><role>agent</role><url>nats://198.18.0.1:4222</url></fleet></xdpban>",
		  "t.conf:1: <fleet> without <agent_id>" },
		{ "<xdpban><fleet><agent_id>a b</agent_id></fleet></xdpban>", "agent_id 'a b'" },
		{ "<xdpban><fleet><agent_id>all</agent_id></fleet></xdpban>", "agent_id 'all'" },
		{ "<xdpban><fleet><agent_id>x</agent_id><role>boss</role></fleet></xdpban>",
		  "role 'boss'" },
		{ "<xdpban><fleet><agent_id>x</agent_id><role>agent</role></fleet></xdpban>",
		  "without <url>" },
		{ "<xdpban><fleet><agent_id>x</agent_id><role>agent</role>"
		  "<url>http://198.18.0.1</url></fleet></xdpban>", "is not nats://" },
		{ "<xdpban><fleet><agent_id>x</agent_id><role>agent</role>"
		  "<url>tls://198.18.0.1:4222</url></fleet></xdpban>", "needs <ca>, <cert> and <key>" },
		{ "<xdpban><fleet><agent_id>x</agent_id><role>agent</role><ca>/a</ca>"
		  "<url>nats://198.18.0.1:4222</url></fleet></xdpban>", "go together" },
		{ "<xdpban><fleet><agent_id>x</agent_id>\n<replicas>0</replicas></fleet></xdpban>",
		  "t.conf:2: replicas must be 1 to 5" },
		{ "<xdpban><fleet><agent_id>x</agent_id><replicas>6</replicas></fleet></xdpban>",
		  "<replicas>: '6' is not a whole number from 0 to 5" },
		{ "<xdpban><fleet><agent_id>x</agent_id><replicas>three</replicas></fleet></xdpban>",
		  "<replicas>: 'three'" },
		{ "<xdpban>" FLEET "\n<active-response><command>disable-account</command>"
		  "<location>all</location><rules_id>5712</rules_id></active-response></xdpban>",
		  "t.conf:2: location all: 'disable-account' locks an account" },
		{ "<xdpban><fleet><agent_id>x</agent_id><colour>red</colour></fleet></xdpban>",
		  "unknown element <colour> in <fleet>" },
		{ "<xdpban>" FLEET "\n<active-response><command>firewall-drop</command>"
		  "<location>defined-agent</location><agent_id>ok,bad id</agent_id>"
		  "<rules_id>5712</rules_id></active-response></xdpban>", "t.conf:2: agent_id: 'bad id'" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		expect_refused(i, bad[i].xml, bad[i].want);
}

/* <max_bans>: the ceiling the exact-ban tables grow to (per family). */
Test(config, max_bans)
{
	struct xb_config *c = NULL;
	char err[512] = "";
	static const struct {
		const char *xml, *want;
	} bad[] = {
		{ "<xdpban><max_bans>0</max_bans></xdpban>", "t.conf:1: <max_bans>: '0'" },
		{ "<xdpban><max_bans>-5</max_bans></xdpban>", "t.conf:1: <max_bans>: '-5'" },
		{ "<xdpban><max_bans>lots</max_bans></xdpban>", "t.conf:1: <max_bans>: 'lots'" },
		{ "<xdpban><max_bans>10k</max_bans></xdpban>", "t.conf:1: <max_bans>: '10k'" },
		{ "<xdpban><max_bans>134217729</max_bans></xdpban>",
		  "t.conf:1: <max_bans>: '134217729' is not a whole number from 1 to 134217728" },
		{ "<xdpban>\n<max_bans></max_bans></xdpban>", "t.conf:2:" },
		{ "<xdpban><max_bans>1000</max_bans>\n<max_bans>2000</max_bans></xdpban>",
		  "t.conf:2: <max_bans> given twice" },
	};

	cr_assert_eq(parse("<xdpban/>", &c, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(c->max_bans, 0, "absent: the data plane's default");
	xb_config_free(c);
	c = NULL;
	cr_assert_eq(parse("<xdpban><max_bans>50000</max_bans></xdpban>", &c, err, sizeof(err)), 0,
		     "%s", err);
	cr_expect_eq(c->max_bans, 50000);
	xb_config_free(c);
	c = NULL;
	cr_assert_eq(parse("<xdpban><max_bans>134217728</max_bans></xdpban>", &c, err,
			   sizeof(err)), 0, "%s", err);
	cr_expect_eq(c->max_bans, 134217728);
	xb_config_free(c);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		expect_refused(i, bad[i].xml, bad[i].want);
}
