/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rules: the third stage. Wazuh-syntax rule files (a documented subset) are
 * loaded into a ruleset; events are matched against it as Wazuh does: a
 * rule's children are tried in order of level (highest first; definition
 * order among equal levels), the first that matches is descended into, and
 * the deepest match is the result. Correlation rules (frequency, timeframe,
 * ignore over if_matched_sid, same_source_ip) count with the events' own
 * timestamps, so replaying old logs correlates exactly as live ones. As in
 * Wazuh, a line counts for the rules whose if_matched_sid is its result
 * (the deepest match), not for every rule on its way down; an event with
 * nocount set counts for none.
 *
 * Supported syntax (anything else is an error naming file:line):
 *   <group name="a,b,">             top level; several per file are fine
 *     <rule id level [frequency timeframe ignore overwrite noalert]>
 *                                   (level 0-16, frequency 2-256)
 *       <if_sid>5700, 5710</if_sid>  parent(s); a rule without any is a root
 *       <if_matched_sid>5710</if_matched_sid>  count matches of that rule
 *       <same_source_ip/>            count per source address
 *       <decoded_as>sshd</decoded_as>
 *       <program_name>sshd|sshd-session</program_name>   (OS_Match)
 *       <match>^Failed|error: PAM</match>  (OS_Match; several are joined)
 *       <regex [type="osregex|pcre2"]>...</regex>
 *       <description>, <group>, <options>, <mitre>, <info> (kept/ignored)
 * OS_Match: '|' alternatives, '^' start anchor, '$' end anchor,
 * case-insensitive literal text, matched on the message (first 4 KiB).
 * OS_Regex is translated to PCRE2 and matched caselessly (\w \d \s \p \W
 * \D \S \t \. \$ \| \( \) \\, + * after an escape; any other character is
 * literal); type="pcre2" is PCRE2 as written. Every regex is JIT-compiled.
 * if_matched_sid without frequency fires on every match of that rule (with
 * same_source_ip: of that rule for this source) within timeframe (360 s).
 * A ruleset and its correlator are used from one thread (scratch state).
 * Files are parsed by libxml2 without network access, entity expansion or
 * DTD loading.
 *
 * Differences from Wazuh, on purpose: `ignore` is kept per source when the
 * rule has same_source_ip (one attacker does not mute the rule for others);
 * a correlation rule's window restarts after it fires (16 lines fire a
 * frequency-8 rule twice, not nine times).
 */
#ifndef XB_RULES_H
#define XB_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/records.h"

struct xb_ruleset;
struct xb_correlator;

struct xb_rule_info {
	uint32_t id;
	uint8_t level;
	bool noalert;
	uint32_t frequency;     /* 0: not a correlation rule */
	uint32_t timeframe;     /* seconds */
	uint32_t ignore;        /* seconds */
	bool same_source_ip;
	uint32_t if_matched_sid;        /* 0 if none */
	const char *description;
	const char *groups;     /* "syslog,sshd,invalid_login,authentication_failed," */
	const char *file;       /* where it was (last) defined */
	int line;
};

/*
 * Load every *.xml in rules_dir (sorted by name), then local_rules_file
 * (either may be NULL). A rule id defined twice is an error unless the later
 * one says overwrite="yes": it then replaces the earlier definition in place.
 * On error returns -EINVAL (or -ENOENT/-EACCES for files), and err holds
 * "FILE:LINE: reason".
 */
int xb_ruleset_load(const char *rules_dir, const char *local_rules_file,
		    struct xb_ruleset **out, char *err, size_t errlen);
/* Same from memory (tests): name is used in messages. */
int xb_ruleset_load_mem(const char *name, const char *xml, size_t len,
			struct xb_ruleset **out, char *err, size_t errlen);
void xb_ruleset_free(struct xb_ruleset *rs);

size_t xb_ruleset_count(const struct xb_ruleset *rs);
/* Lookup by id: 0 or -ENOENT. */
int xb_rule_find(const struct xb_ruleset *rs, uint32_t id, struct xb_rule_info *info);
/* Every rule in definition order; a negative callback return stops and is
 * returned. */
int xb_rule_foreach(const struct xb_ruleset *rs,
		    int (*cb)(const struct xb_rule_info *info, void *ctx), void *ctx);

/*
 * Correlation state for one ruleset: a hash of (rule, source) -> ring of the
 * last `frequency` timestamps, at most max_entries entries (0: 16384); the
 * least recently updated entry is evicted first. Everything is allocated
 * here, nothing per line. -ENOMEM.
 */
int xb_corr_new(const struct xb_ruleset *rs, uint32_t max_entries, struct xb_correlator **out);
void xb_corr_free(struct xb_correlator *c);
/* Entries in use / evicted so far (status). */
uint32_t xb_corr_entries(const struct xb_correlator *c);
uint64_t xb_corr_evictions(const struct xb_correlator *c);

/*
 * Match one event. Returns 1 and fills *out with the deepest rule that
 * matched (out->level 0: no alert - a level-0 or noalert rule), or 0 when no
 * rule matched. corr may be NULL: correlation rules then never fire.
 * out->ev points to ev. Time is ev->ts_usec (0: the wall clock).
 */
int xb_rules_eval(const struct xb_ruleset *rs, struct xb_correlator *corr,
		  const struct xb_event *ev, struct xb_alert *out);

#endif
