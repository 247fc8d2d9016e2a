// SPDX-License-Identifier: GPL-2.0
/*
 * Rules: loading (errors name file:line), matching (if_sid chains, deepest
 * child, level 0, noalert, match/regex/program_name), correlation
 * (frequency, timeframe edges, ignore, same_source_ip, the cap on entries),
 * overwrite from a local file, and the shipped sshd rules on real lines.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <criterion/criterion.h>

#include "decode/decode.h"
#include "rules/internal.h"
#include "rules/rules.h"
#include "common/util.h"
#include "lib/testlib.h"

/* corr.c, for the tests (its declaration belongs in rules/internal.h) */

#define SEC 1000000LL

static const char base_xml[] =
	"<group name=\"t,\">\n"
	"  <rule id=\"100\" level=\"0\">\n"
	"    <decoded_as>sshd</decoded_as>\n"
	"  </rule>\n"
	"  <rule id=\"105\" level=\"0\">\n"
	"    <if_sid>100</if_sid>\n"
	"    <match>^Connection closed</match>\n"
	"  </rule>\n"
	"  <rule id=\"110\" level=\"5\">\n"
	"    <if_sid>100</if_sid>\n"
	"    <match>illegal user|invalid user</match>\n"
	"    <group>invalid_login,</group>\n"
	"  </rule>\n"
	"  <rule id=\"120\" level=\"10\" frequency=\"8\" timeframe=\"120\" ignore=\"60\">\n"
	"    <if_matched_sid>110</if_matched_sid>\n"
	"    <same_source_ip />\n"
	"  </rule>\n"
	"  <rule id=\"130\" level=\"7\" noalert=\"1\">\n"
	"    <if_sid>100</if_sid>\n"
	"    <match>quiet$</match>\n"
	"  </rule>\n"
	"  <rule id=\"140\" level=\"3\">\n"
	"    <if_sid>100</if_sid>\n"
	"    <regex>^Accepted \\S+ for \\w+ from</regex>\n"
	"  </rule>\n"
	"  <rule id=\"141\" level=\"4\">\n"
	"    <if_sid>140</if_sid>\n"
	"    <regex type=\"pcre2\">for (?:root|admin) </regex>\n"
	"    <description>root login</description>\n"
	"  </rule>\n"
	"  <rule id=\"150\" level=\"6\">\n"
	"    <if_sid>100</if_sid>\n"
	"    <match>not allowed because</match>\n"
	"  </rule>\n"
	"  <rule id=\"151\" level=\"9\" frequency=\"4\" timeframe=\"10\">\n"
	"    <if_matched_sid>150</if_matched_sid>\n"
	"  </rule>\n"
	"  <rule id=\"160\" level=\"2\">\n"
	"    <program_name>^sshd-session$</program_name>\n"
	"    <match>^hello</match>\n"
	"  </rule>\n"
	"</group>\n";

static void expect_error(const char *xml, const char *needle);

static struct xb_ruleset *load(const char *xml)
{
	struct xb_ruleset *rs = NULL;
	char err[256];
	int rc = xb_ruleset_load_mem("t.xml", xml, strlen(xml), &rs, err, sizeof(err));

	cr_assert_eq(rc, 0, "load: %s", err);
	return rs;
}

/* An event as the decoder would hand it. */
static struct xb_event mk(const char *msg, const char *addr, int64_t ts)
{
	struct xb_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.decoder = "sshd";
	strcpy(ev.program, "sshd");
	ev.msg = msg;
	ev.msg_len = strlen(msg);
	ev.ts_usec = ts;
	if (addr) {
		cr_assert_eq(xb_addr_parse(addr, &ev.src, false), 0);
		ev.has_src = true;
	}
	return ev;
}

/* rule id that matched (0 if none), level in *level */
static uint32_t eval(struct xb_ruleset *rs, struct xb_correlator *c, const char *msg, const char *addr,
		     int64_t ts, int *level)
{
	struct xb_event ev = mk(msg, addr, ts);
	struct xb_alert al;

	if (!xb_rules_eval(rs, c, &ev, &al))
		return 0;
	if (level)
		*level = al.level;
	return al.rule;
}

Test(rules, chains_levels_noalert_regex)
{
	struct xb_ruleset *rs = load(base_xml);
	struct xb_event ev = mk("hello", NULL, SEC);
	struct xb_alert al;
	int level = -1;

	cr_assert_eq(eval(rs, NULL, "Invalid user x from 198.18.0.1", "198.18.0.1", SEC, &level), 110);
	cr_assert_eq(level, 5);
	/* 105 (level 0) is defined first but 110 (level 5) is tried first, as in Wazuh */
	cr_assert_eq(eval(rs, NULL, "Connection closed by invalid user x 198.18.0.1 port 1", "198.18.0.1", SEC, &level), 110,
		     "siblings are tried by level, highest first");
	cr_assert_eq(eval(rs, NULL, "Connection closed by x", "198.18.0.1", SEC, &level), 105);
	cr_assert_eq(level, 0);
	cr_assert_eq(eval(rs, NULL, "something else", NULL, SEC, &level), 100);
	cr_assert_eq(level, 0);
	cr_assert_eq(eval(rs, NULL, "be QUIET", NULL, SEC, &level), 130, "OS_Match is caseless, $ anchors");
	cr_assert_eq(level, 0, "noalert reports level 0");
	cr_assert_eq(eval(rs, NULL, "quiet not at the end", NULL, SEC, &level), 100);
	cr_assert_eq(eval(rs, NULL, "Accepted password for bob from 198.18.0.1 port 1 ssh2", NULL, SEC, &level), 140);
	cr_assert_eq(level, 3);
	cr_assert_eq(eval(rs, NULL, "Accepted password for root from 198.18.0.1 port 1 ssh2", NULL, SEC, &level), 141,
		     "the deepest child");
	cr_assert_eq(level, 4);
	cr_assert_eq(eval(rs, NULL, "Accepted password for roo!t from 198.18.0.1", NULL, SEC, &level), 100,
		     "\\w does not take '!'");
	/* program_name, and a root rule that is not decoded_as */
	strcpy(ev.program, "sshd-session");
	cr_assert_eq(xb_rules_eval(rs, NULL, &ev, &al), 1);
	cr_assert_eq(al.rule, 160, "roots are tried by level too: 160 (2) before 100 (0)");
	cr_assert_eq(al.level, 2);
	cr_assert_str_eq(al.description, "");
	strcpy(ev.program, "sshd");
	cr_assert_eq(xb_rules_eval(rs, NULL, &ev, &al), 1);
	cr_assert_eq(al.rule, 100, "program_name is anchored: sshd is not sshd-session");
	ev.decoder = NULL;
	cr_assert_eq(xb_rules_eval(rs, NULL, &ev, &al), 0, "nothing matches");

	struct xb_rule_info info;

	cr_assert_eq(xb_rule_find(rs, 120, &info), 0);
	cr_assert_eq(info.frequency, 8);
	cr_assert_eq(info.timeframe, 120);
	cr_assert_eq(info.ignore, 60);
	cr_assert(info.same_source_ip);
	cr_assert_str_eq(info.groups, "t,");
	cr_assert_eq(info.line, 14);
	cr_assert_eq(xb_rule_find(rs, 110, &info), 0);
	cr_assert_str_eq(info.groups, "t,invalid_login,");
	cr_assert_eq(xb_rule_find(rs, 999, NULL), -ENOENT);
	cr_assert_eq(xb_ruleset_count(rs), 10);
	xb_ruleset_free(rs);
}

/* Eight matching lines inside the timeframe fire a frequency-8 rule; the
 * eighth a second outside it does not. */
Test(rules, bom_declaration_comments_and_several_groups)
{
	static const char xml[] =
		"\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<!-- two top-level groups, as Wazuh files have -->\n"
		"<group name=\"a,\"><rule id=\"1\" level=\"0\"><decoded_as>sshd</decoded_as></rule></group>\n"
		"<group name=\"b,\">\n<rule id=\"2\" level=\"3\"><if_sid>1</if_sid><match>x</match>\n"
		"<options>no_full_log</options><mitre><id>T1110</id></mitre></rule></group>\n";
	struct xb_ruleset *rs = load(xml);
	struct xb_rule_info info;

	cr_assert_eq(xb_rule_find(rs, 2, &info), 0);
	cr_assert_eq(info.line, 5, "line numbers survive the wrapping");
	cr_assert_str_eq(info.groups, "b,");
	cr_assert_eq(eval(rs, NULL, "xyz", NULL, SEC, NULL), 2);
	xb_ruleset_free(rs);
}

Test(rules, os_regex_translation)
{
	static const char xml[] =
		"<group name=\"r,\"><rule id=\"1\" level=\"0\"><decoded_as>sshd</decoded_as></rule>\n"
		"<rule id=\"2\" level=\"3\"><if_sid>1</if_sid><regex>^x\\d+\\s\\w+\\p$</regex></rule>\n"
		"<rule id=\"3\" level=\"4\"><if_sid>1</if_sid><regex>^a.b?\\.c\\$|^q\\(\\d*\\)</regex></rule>\n"
		"</group>";
	struct xb_ruleset *rs = load(xml);

	cr_assert_eq(eval(rs, NULL, "x12 ab-c@d_e!", NULL, SEC, NULL), 2);
	cr_assert_eq(eval(rs, NULL, "X12 AB!", NULL, SEC, NULL), 2, "OS_Regex is caseless");
	cr_assert_eq(eval(rs, NULL, "x12 ab c!", NULL, SEC, NULL), 1, "\\w+ stops at a space");
	cr_assert_eq(eval(rs, NULL, "x ab!", NULL, SEC, NULL), 1, "\\d+ needs a digit");
	cr_assert_eq(eval(rs, NULL, "a.b?Zc$", NULL, SEC, NULL), 3, "'.' and '?' literal, \\. any, \\$ literal");
	cr_assert_eq(eval(rs, NULL, "aXbYZc$", NULL, SEC, NULL), 1, "a literal '.' is not any character");
	cr_assert_eq(eval(rs, NULL, "q()", NULL, SEC, NULL), 3);
	xb_ruleset_free(rs);
	expect_error("<group name=\"x\"><rule id=\"1\" level=\"1\"><regex>\\q</regex></rule></group>",
		     "unsupported OS_Regex escape");
	/* a trailing backslash: refused, and nothing read past the pattern's end */
	expect_error("<group name=\"x\"><rule id=\"1\" level=\"1\"><regex>a\\</regex></rule></group>",
		     "unsupported OS_Regex escape in 'a\\'");
	expect_error("<group name=\"x\"><rule id=\"1\" level=\"1\"><regex type=\"posix\">a</regex></rule></group>",
		     "unknown type 'posix'");
}

Test(rules, frequency_and_timeframe_edges)
{
	struct xb_ruleset *rs = load(base_xml);
	struct xb_correlator *c;
	const char *m = "Invalid user x from A";
	int64_t t0 = 1000 * SEC;

	cr_assert_eq(xb_corr_new(rs, 100, &c), 0);
	for (int i = 0; i < 7; i++)
		cr_assert_eq(eval(rs, c, m, "198.18.0.1", t0 + i * SEC, NULL), 110);
	cr_assert_eq(eval(rs, c, m, "198.18.0.1", t0 + 120 * SEC, NULL), 120, "8th line exactly at the edge");

	for (int i = 0; i < 7; i++)
		cr_assert_eq(eval(rs, c, m, "198.18.0.2", t0 + i * SEC, NULL), 110);
	cr_assert_eq(eval(rs, c, m, "198.18.0.2", t0 + 120 * SEC + 1, NULL), 110, "8th line 1 us outside");
	/* the window slides: lines 2..9 span 1 s .. 121 s = 120 s */
	cr_assert_eq(eval(rs, c, m, "198.18.0.2", t0 + 121 * SEC, NULL), 120);
	xb_corr_free(c);
	xb_ruleset_free(rs);
}

Test(rules, ignore_is_per_source_and_window_restarts)
{
	struct xb_ruleset *rs = load(base_xml);
	struct xb_correlator *c;
	const char *m = "Failed password for invalid user x";
	int64_t t = 5000 * SEC;
	int fired = 0;

	cr_assert_eq(xb_corr_new(rs, 100, &c), 0);
	for (int i = 0; i < 8; i++)
		fired += eval(rs, c, m, "2001:db8::1", t + i * SEC, NULL) == 120;
	cr_assert_eq(fired, 1);
	/* 8 more within the 60 s ignore: no alert */
	fired = 0;
	for (int i = 8; i < 16; i++)
		fired += eval(rs, c, m, "2001:db8::1", t + i * SEC, NULL) == 120;
	cr_assert_eq(fired, 0, "ignore=60 suppresses");
	/* another source is not muted by the first one's ignore */
	fired = 0;
	for (int i = 0; i < 8; i++)
		fired += eval(rs, c, m, "2001:db8::2", t + (10 + i) * SEC, NULL) == 120;
	cr_assert_eq(fired, 1);
	/* after the ignore time the first source fires again */
	cr_assert_eq(eval(rs, c, m, "2001:db8::1", t + 68 * SEC, NULL), 120);
	/* and the window restarted: the next line alone does not fire */
	cr_assert_eq(eval(rs, c, m, "2001:db8::1", t + 200 * SEC, NULL), 110);
	xb_corr_free(c);
	xb_ruleset_free(rs);
}

Test(rules, same_source_ip_or_any)
{
	struct xb_ruleset *rs = load(base_xml);
	struct xb_correlator *c;
	int64_t t = 7000 * SEC;
	int fired = 0;

	cr_assert_eq(xb_corr_new(rs, 100, &c), 0);
	/* rule 120 counts per source: 4 + 4 from two sources never fire */
	for (int i = 0; i < 8; i++)
		fired += eval(rs, c, "invalid user", i % 2 ? "198.18.0.1" : "198.18.0.2", t + i * SEC, NULL) == 120;
	cr_assert_eq(fired, 0);
	/* no address: never counted for a same_source_ip rule */
	for (int i = 0; i < 20; i++)
		fired += eval(rs, c, "invalid user", NULL, t + i * SEC, NULL) == 120;
	cr_assert_eq(fired, 0);
	/* rule 151 (frequency 4 in 10 s, any source): mixed sources fire */
	cr_assert_eq(eval(rs, c, "User a not allowed because x", "198.18.0.1", t, NULL), 150);
	cr_assert_eq(eval(rs, c, "User a not allowed because x", "198.18.0.2", t + 1, NULL), 150);
	cr_assert_eq(eval(rs, c, "User a not allowed because x", NULL, t + 2, NULL), 150);
	cr_assert_eq(eval(rs, c, "User a not allowed because x", "2001:db8::9", t + 3, NULL), 151);
	/* without a correlator nothing fires */
	for (int i = 0; i < 10; i++)
		cr_assert_eq(eval(rs, NULL, "invalid user", "198.18.0.1", t + i, NULL), 110);
	xb_corr_free(c);
	xb_ruleset_free(rs);
}

Test(rules, correlation_cap_evicts_oldest)
{
	struct xb_ruleset *rs = load(base_xml);
	struct xb_correlator *c;
	int64_t t = 9000 * SEC;

	cr_assert_eq(xb_corr_new(rs, 2, &c), 0);
	for (int i = 0; i < 7; i++) {
		eval(rs, c, "invalid user", "198.18.0.1", t + i, NULL);
		eval(rs, c, "invalid user", "198.18.0.2", t + i, NULL);
	}
	cr_assert_eq(xb_corr_entries(c), 2);
	cr_assert_eq(xb_corr_evictions(c), 0);
	/* a third source pushes out the least recently updated (198.18.0.1) */
	eval(rs, c, "invalid user", "198.18.0.3", t + 8, NULL);
	cr_assert_eq(xb_corr_entries(c), 2);
	cr_assert_eq(xb_corr_evictions(c), 1);
	cr_assert_eq(eval(rs, c, "invalid user", "198.18.0.2", t + 9, NULL), 120, "kept entry fires");
	cr_assert_eq(eval(rs, c, "invalid user", "198.18.0.1", t + 10, NULL), 110, "evicted entry starts over");
	xb_corr_free(c);
	xb_ruleset_free(rs);
}

/* ---- the correlation hash: chosen sources must not pile up --------------- */

#define M1 0xff51afd7ed558ccdULL
#define M2 0xc4ceb9fe1a85ec53ULL

/* The inverse of an odd multiplier modulo 2^64 (Newton's iteration). */
static uint64_t inverse(uint64_t m)
{
	uint64_t x = m;

	for (int i = 0; i < 5; i++)
		x *= 2 - m * x;
	return x;
}

/*
 * An IPv6 source in 2001:db8::/64 whose key hashed to bucket 0 of any table
 * of up to 2^16 buckets under the correlator's old, unseeded hash:
 *   h = C ^ rule; h ^= w0 * M1; h = (h ^ h >> 29) * M2; h ^= w1 + family;
 *   h = (h ^ h >> 32) * M1; return (u32)(h ^ h >> 31)
 * Everything after "^= w1" can be undone, so an attacker picks the output.
 */
static void old_hash_collider(uint32_t ri, uint32_t k, char *out, size_t len)
{
	struct xb_addr a;
	uint64_t w[2], h, t;

	cr_assert_eq(xb_addr_parse("2001:db8::", &a, false), 0);
	memcpy(w, a.bytes, 16);
	h = 0x9e3779b97f4a7c15ULL ^ ri;
	h ^= w[0] * M1;
	h = (h ^ (h >> 29)) * M2;
	t = ((uint64_t)k << 47) * inverse(M1);  /* output k << 16: low 16 bits 0 */
	w[1] = ((t ^ (t >> 32)) ^ h) - 6;
	memcpy(a.bytes + 8, &w[1], 8);
	xb_addr_str(&a, out, len);
}

Test(rules, correlation_hash_is_seeded)
{
	struct xb_ruleset *rs = load(base_xml);
	struct xb_correlator *c;
	long ri = xb_rule_index(rs, 120);
	int64_t t = 20000 * SEC;
	const uint32_t n = 4000;
	char a[XB_ADDRSTRLEN];

	cr_assert_geq(ri, 0);
	cr_assert_eq(xb_corr_new(rs, 0, &c), 0);
	for (uint32_t k = 1; k <= n; k++) {
		old_hash_collider((uint32_t)ri, k, a, sizeof(a));
		cr_assert_eq(eval(rs, c, "invalid user", a, t, NULL), 110, "%s", a);
	}
	cr_assert_eq(xb_corr_entries(c), n, "every source is its own entry");
	cr_expect_leq(xb_corr_longest_chain(c), 16, "%u entries on one hash chain",
		      xb_corr_longest_chain(c));
	/* counting is unchanged: the 8th line of one source fires, once */
	old_hash_collider((uint32_t)ri, 77, a, sizeof(a));
	for (int i = 1; i < 7; i++)
		cr_assert_eq(eval(rs, c, "invalid user", a, t + i * SEC, NULL), 110);
	cr_assert_eq(eval(rs, c, "invalid user", a, t + 7 * SEC, NULL), 120);
	cr_assert_eq(eval(rs, c, "invalid user", a, t + 8 * SEC, NULL), 110);
	old_hash_collider((uint32_t)ri, 78, a, sizeof(a));
	cr_assert_eq(eval(rs, c, "invalid user", a, t + 8 * SEC, NULL), 110, "its neighbour did not count");
	xb_corr_free(c);
	xb_ruleset_free(rs);
}

static void expect_error(const char *xml, const char *needle)
{
	struct xb_ruleset *rs = NULL;
	char err[256];

	cr_assert_eq(xb_ruleset_load_mem("bad.xml", xml, strlen(xml), &rs, err, sizeof(err)), -EINVAL,
		     "accepted: %s", xml);
	cr_assert_null(rs);
	cr_assert(strstr(err, needle), "error '%s' lacks '%s'", err, needle);
}

Test(rules, load_errors_name_file_and_line)
{
	expect_error("<group name=\"x\">\n<rule id=\"1\" level=\"3\">\n<foo>1</foo>\n</rule></group>",
		     "bad.xml:3: rule 1: unknown element <foo>");
	expect_error("<group name=\"x\">\n\n<rule id=\"1\" level=\"3\" colour=\"red\"/></group>",
		     "bad.xml:3: <rule>: unknown attribute 'colour'");
	expect_error("<group name=\"x\"><rule id=\"1\" level=\"99\"/></group>", "bad.xml:1: <rule>: bad level");
	expect_error("<group name=\"x\"><rule id=\"1\"/></group>", "no level");
	expect_error("<group name=\"x\"><rule id=\"1\" level=\"1\"/><rule id=\"2\" level=\"1\" frequency=\"100000\">"
		     "<if_matched_sid>1</if_matched_sid></rule></group>", "bad frequency");
	expect_error("<group name=\"x\"><rule id=\"1\" level=\"1\"/>\n<rule id=\"1\" level=\"2\"/></group>",
		     "bad.xml:2: rule 1 already defined at bad.xml:1");
	expect_error("<group name=\"x\"><rule id=\"1\" level=\"1\"/>\n<rule id=\"2\" level=\"2\"><if_sid>7</if_sid></rule></group>",
		     "bad.xml:2: rule 2: if_sid 7: no such rule");
	expect_error("<group name=\"x\"><rule id=\"1\" level=\"1\">\n<regex>(</regex></rule></group>", "bad.xml:2: <regex>");
	expect_error("<group name=\"x\"><rule id=\"1\" level=\"1\" frequency=\"3\"/></group>", "needs <if_matched_sid>");
	expect_error("<group name=\"x\"><rule id=\"1\" level=\"1\" overwrite=\"yes\"/></group>", "no such rule");
	expect_error("<group name=\"x\">\n<rule id=\"1\" level=\"1\">\n</group>", "bad.xml:3:");
	expect_error("<group name=\"x\"><rule id=\"1\" level=\"1\"><match>a||b</match></rule></group>", "empty alternative");
	expect_error("<group name=\"x\"><rule id=\"1\" level=\"1\"/><rule id=\"2\" level=\"1\"><if_sid>3</if_sid></rule>"
		     "<rule id=\"3\" level=\"1\"><if_sid>2</if_sid></rule></group>", "loop");
	expect_error("<var name=\"X\">1</var>", "expected <group>");
	/* no DTD, no entities: an XXE attempt fails to load, nothing is fetched */
	expect_error("<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n"
		     "<group name=\"x\"><rule id=\"1\" level=\"1\"><match>&x;</match></rule></group>", "bad.xml:");
	expect_error("<group name=\"x\"><rule id=\"1\" level=\"1\"><match>&x;</match></rule></group>", "bad.xml:1:");
}

/* ---- files: the shipped rules and a local overwrite ---------------------- */

/* Decode + rules over lines from one source, n times one second apart; returns
 * the line number (1-based) of the first alert of rule id, 0 if none. */
static int first_fire(struct xb_ruleset *rs, const char *fmt, int n, uint32_t id)
{
	struct xb_correlator *c;
	int first = 0;

	cr_assert_eq(xb_corr_new(rs, 0, &c), 0);
	for (int i = 0; i < n; i++) {
		char line[256];
		struct xb_line l;
		struct xb_event ev;
		struct xb_alert al;

		snprintf(line, sizeof(line), fmt, i % 60);
		l = (struct xb_line){ .text = line, .len = strlen(line) };
		cr_assert_eq(xb_decode_line(&l, &ev), XB_DEC_SSHD, "%s", line);
		if (xb_rules_eval(rs, c, &ev, &al) && al.rule == id && !first) {
			struct xb_rule_info info;

			first = i + 1;
			/* The alert says whether it counted one source's lines. */
			cr_assert_eq(xb_rule_find(rs, id, &info), 0);
			cr_expect_eq(al.same_source_ip, info.same_source_ip, "rule %u", id);
			cr_expect_eq(al.frequency, info.frequency, "rule %u", id);
		}
	}
	xb_corr_free(c);
	return first;
}

Test(rules, shipped_sshd_rules)
{
	struct xb_ruleset *rs = NULL;
	char err[256];
	struct xb_rule_info info;
	static const struct { uint32_t id; uint8_t level; } want[] = {
		{ 5700, 0 }, { 5701, 8 }, { 5702, 5 }, { 5703, 10 }, { 5704, 4 }, { 5705, 10 }, { 5706, 6 },
		{ 5710, 5 }, { 5712, 10 }, { 5715, 3 }, { 5716, 5 }, { 5718, 5 }, { 5719, 10 }, { 5720, 10 },
		{ 5750, 0 }, { 5758, 8 }, { 5760, 5 }, { 5763, 10 }, { 5721, 0 }, { 5722, 0 }, { 5761, 0 },
		{ 5707, 14 }, { 5714, 14 }, { 5762, 4 }, { 5500, 0 }, { 5503, 5 }, { 5551, 10 },
		{ 190011, 10 }, { 190016, 0 }, { 190017, 0 },
	};
	size_t n_sshd = 0;

	cr_assert_eq(xb_ruleset_load(xb_test_rules_dir(), NULL, &rs, err, sizeof(err)), 0, "%s", err);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		cr_assert_eq(xb_rule_find(rs, want[i].id, &info), 0, "rule %u missing", want[i].id);
		cr_assert_eq(info.level, want[i].level, "rule %u level", want[i].id);
	}
	/* every one of Wazuh's 63 sshd ids, 5700-5763 but 5708 */
	for (uint32_t id = 5700; id <= 5763; id++)
		n_sshd += xb_rule_find(rs, id, &info) == 0;
	cr_assert_eq(n_sshd, 63);
	cr_assert_eq(xb_rule_find(rs, 5712, &info), 0);
	cr_assert(info.frequency == 8 && info.timeframe == 120 && info.ignore == 60 && info.same_source_ip);
	cr_assert_eq(first_fire(rs, "Nov 28 07:01:%02d h sshd[1]: Invalid user u from 198.18.0.4 port 22", 20, 5712), 8);
	cr_assert_eq(first_fire(rs, "Nov 28 07:01:%02d h sshd[1]: Failed password for root from 2001:db8::4 port 22 ssh2",
				20, 5763), 8);
	cr_assert_eq(first_fire(rs, "Nov 28 07:01:%02d h sshd[1]: Failed publickey for root from 198.18.0.4 port 22 ssh2",
				20, 5720), 8);
	cr_assert_eq(first_fire(rs, "Nov 28 07:01:%02d h sshd[1]: Did not receive identification string from 198.18.0.4",
				3, 5706), 1);
	cr_assert_eq(first_fire(rs, "Nov 28 07:01:%02d h sshd[1]: banner exchange: Connection from 198.18.0.4 port 5: invalid format",
				12, 190015), 10, "xdpban's own: 10 invalid banners");
	cr_assert_eq(first_fire(rs, "Nov 28 07:01:%02d h sshd[1]: Connection closed by authenticating user root 198.18.0.4 port 5 [preauth]",
				12, 190011), 10, "key-only brute force");
	cr_assert_eq(first_fire(rs, "Nov 28 07:01:%02d h sshd[1]: Failed password for invalid user u from 198.18.0.4 port 22 ssh2",
				12, 5763), 0, "an invalid user's password is 5710's (as in Wazuh)");
	cr_assert_eq(first_fire(rs, "Nov 28 07:01:%02d h sshd[1]: Bad protocol version identification 'x' from 198.18.0.4 port 5",
				1, 5701), 1);
	cr_assert_eq(first_fire(rs, "Nov 28 07:01:%02d h sshd[1]: fatal: Timeout before authentication for 198.18.0.4 port 5",
				6, 5705), 6);
	cr_assert_eq(first_fire(rs, "Nov 28 07:01:%02d h sshd[1]: User bob from 198.18.0.4 not allowed because not listed in AllowUsers",
				9, 5719), 8);
	cr_assert_eq(first_fire(rs, "Nov 28 07:01:%02d h sshd[1]: reverse mapping checking getaddrinfo for x [198.18.0.4] failed - POSSIBLE BREAK-IN ATTEMPT!",
				6, 5703), 6);
	cr_assert_eq(first_fire(rs, "Nov 28 07:01:%02d h sshd[1]: error: maximum authentication attempts exceeded for root from 198.18.0.4 port 5 ssh2 [preauth]",
				1, 5758), 1);
	cr_assert_eq(first_fire(rs, "Nov 28 07:01:%02d h sshd[1]: Unable to negotiate with 198.18.0.4 port 5: no matching cipher found. Their offer: x",
				1, 5753), 1);
	cr_assert_eq(first_fire(rs, "Nov 28 07:01:%02d h sshd[1]: Accepted password for bob from 198.18.0.4 port 5 ssh2",
				1, 5715), 1);
	/* as in Wazuh: 5710 matches "invalid user" anywhere in the line */
	cr_assert_eq(first_fire(rs, "Nov 28 07:01:%02d h sshd[1]: Connection closed by invalid user bob 198.18.0.4 port 5 [preauth]",
				10, 5712), 8);
	cr_assert_eq(first_fire(rs, "Nov 28 07:01:%02d h sshd[1]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.18.0.4  user=root",
				10, 5551), 8, "Wazuh's PAM rule");
	xb_ruleset_free(rs);
}

Test(rules, local_overwrite_changes_5712_to_frequency_5)
{
	char path[] = "/tmp/xdpban-det-rules-XXXXXX";
	int fd = mkstemp(path);
	static const char local[] =
		"<group name=\"local,\">\n"
		"  <rule id=\"5712\" level=\"10\" frequency=\"5\" timeframe=\"120\" ignore=\"60\" overwrite=\"yes\">\n"
		"    <if_matched_sid>5710</if_matched_sid>\n"
		"    <same_source_ip />\n"
		"    <description>local: 5 invalid users</description>\n"
		"  </rule>\n"
		"</group>\n";
	struct xb_ruleset *rs = NULL;
	struct xb_rule_info info;
	char err[256];

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, local, sizeof(local) - 1), (ssize_t)sizeof(local) - 1);
	close(fd);
	cr_assert_eq(xb_ruleset_load(xb_test_rules_dir(), path, &rs, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(xb_rule_find(rs, 5712, &info), 0);
	cr_assert_eq(info.frequency, 5);
	cr_assert_str_eq(info.description, "local: 5 invalid users");
	cr_assert_str_eq(info.file, path);
	cr_assert_eq(first_fire(rs, "Nov 28 07:01:%02d h sshd[1]: Invalid user u from 198.18.0.4 port 22", 20, 5712), 5);
	xb_ruleset_free(rs);
	/* a missing local file is an error that names it */
	cr_assert_eq(xb_ruleset_load(xb_test_rules_dir(), "/nonexistent/local.xml", &rs, err, sizeof(err)), -ENOENT);
	cr_assert(strstr(err, "/nonexistent/local.xml"), "%s", err);
	unlink(path);
}

/* Several <match> elements are one pattern, joined as Wazuh joins them. */
Test(rules, several_match_elements_are_joined)
{
	struct xb_ruleset *rs = load(
		"<group name=\"t,\">\n"
		"  <rule id=\"1\" level=\"0\"><decoded_as>sshd</decoded_as></rule>\n"
		"  <rule id=\"2\" level=\"3\"><if_sid>1</if_sid>\n"
		"    <match>first thing|</match>\n"
		"    <match>second thing</match>\n"
		"  </rule>\n"
		"</group>\n");

	cr_assert_eq(eval(rs, NULL, "a first thing", NULL, 1, NULL), 2);
	cr_assert_eq(eval(rs, NULL, "a second thing", NULL, 1, NULL), 2);
	cr_assert_eq(eval(rs, NULL, "a third thing", NULL, 1, NULL), 1);
	xb_ruleset_free(rs);
}

/* As in Wazuh, a line counts for the rule watching its result only: a line
 * that goes on to a child of the counted rule does not count for it, and a
 * held line (nocount) neither counts nor completes a count. */
Test(rules, lines_count_for_their_result_only)
{
	struct xb_ruleset *rs = load(
		"<group name=\"t,\">\n"
		"  <rule id=\"1\" level=\"0\"><decoded_as>sshd</decoded_as></rule>\n"
		"  <rule id=\"2\" level=\"5\"><if_sid>1</if_sid><match>^Failed</match></rule>\n"
		"  <rule id=\"3\" level=\"5\"><if_sid>2</if_sid><match>password</match></rule>\n"
		"  <rule id=\"4\" level=\"10\" frequency=\"3\" timeframe=\"60\">\n"
		"    <if_matched_sid>2</if_matched_sid><same_source_ip/></rule>\n"
		"</group>\n");
	struct xb_correlator *c = NULL;
	struct xb_event ev;
	struct xb_alert al;

	cr_assert_eq(xb_corr_new(rs, 64, &c), 0);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(eval(rs, c, "Failed password", "198.18.0.9", 1000000LL * (10 + i), NULL), 3,
			     "a password failure is 3's, never counted for 4");
	cr_assert_eq(eval(rs, c, "Failed publickey", "198.18.0.9", 20000000, NULL), 2);
	cr_assert_eq(eval(rs, c, "Failed publickey", "198.18.0.9", 21000000, NULL), 2);
	ev = mk("Failed publickey", "198.18.0.9", 22000000);
	ev.nocount = true;
	cr_assert_eq(xb_rules_eval(rs, c, &ev, &al), 1);
	cr_assert_eq(al.rule, 2, "a held line completes no count");
	cr_assert_eq(eval(rs, c, "Failed publickey", "198.18.0.9", 23000000, NULL), 4,
		     "the third counted line fires");
	xb_corr_free(c);
	xb_ruleset_free(rs);
}
