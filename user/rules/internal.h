/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rules internals shared by the stage's files: osmatch.c (OS_Match),
 * osregex.c (OS_Regex -> PCRE2), load.c (rule XML -> rules), link.c (the
 * if_sid tree), ruleset.c (the ruleset and its public entry points),
 * eval.c (matching) and corr.c (correlation state).
 */
#ifndef XB_RULES_INT_H
#define XB_RULES_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "rules/rules.h"

struct xb_xml_err;

/* One OS_Match alternative, lowercased. */
struct osm_alt {
	char *pat;
	size_t len;
	bool start, end;        /* ^ and $ anchors */
};

struct osmatch {
	struct osm_alt *alts;
	size_t n, cap;
};

struct rule {
	uint32_t id;
	uint8_t level;
	bool noalert;
	bool same_source_ip;
	uint32_t frequency;     /* >= 1 when if_matched_sid is set */
	uint32_t timeframe, ignore;
	uint32_t if_matched_sid;
	uint32_t *if_sid;
	size_t n_if_sid, cap_if_sid;
	char *decoded_as;
	struct osmatch program_name, match;
	char *match_src;        /* <match> texts joined, as Wazuh joins them */
	pcre2_code *regex;
	char *description, *groups, *file;
	int line;
	uint32_t *children;     /* indices, definition order */
	size_t n_children, cap_children;
	uint32_t *counters;     /* rules whose if_matched_sid is this rule */
	size_t n_counters, cap_counters;
};

struct xb_ruleset {
	struct rule *r;
	size_t n, cap;
	uint32_t *roots;
	size_t n_roots, cap_roots;
	uint32_t max_freq;
	pcre2_match_data *md;   /* scratch: one ruleset is used by one thread */
};

static inline unsigned xb_lower(unsigned c)
{
	return c - 'A' < 26u ? c + 32 : c;
}

/* osmatch.c: "^Failed|error: PAM$" -> m (-EINVAL: an empty alternative);
 * match against a lowercased string. */
int xb_osm_compile(struct osmatch *m, const char *text);
void xb_osm_free(struct osmatch *m);
bool xb_osm_match(const struct osmatch *m, const char *lower_s, size_t n);

/* osregex.c: OS_Regex in -> PCRE2 *out (malloc'ed); -EINVAL: an escape
 * OS_Regex does not have. */
int xb_osregex_to_pcre2(const char *in, char **out);

/* load.c: append the rules of one document / file to rs (errors FILE:LINE
 * through xe, whose file is set to path); free what a rule holds. */
int xb_rules_load_doc(struct xb_xml_err *xe, struct xb_ruleset *rs, const char *xml, size_t len);
int xb_rules_load_file(struct xb_xml_err *xe, struct xb_ruleset *rs, const char *path);
void xb_rule_clear(struct rule *r);

/* link.c: build the if_sid tree (children by level, roots), refuse unknown
 * parents, loops and a ruleset without a root. */
int xb_rules_link(struct xb_xml_err *xe, struct xb_ruleset *rs);

/* ruleset.c: index of rule id in rs->r, or -1; add v to a growing index list. */
long xb_rule_index(const struct xb_ruleset *rs, uint32_t id);
int xb_push_idx(uint32_t **arr, size_t *n, size_t *cap, uint32_t v);

/* corr.c: the longest hash chain, for the test that the seed spreads keys. */
uint32_t xb_corr_longest_chain(const struct xb_correlator *c);
/* corr.c: record ev for correlation rule ri / does ri fire now? */
void xb_corr_push(struct xb_correlator *c, const struct xb_ruleset *rs, uint32_t ri,
		  const struct xb_event *ev, int64_t now);
bool xb_corr_fires(struct xb_correlator *c, const struct xb_ruleset *rs, uint32_t ri,
		   const struct xb_event *ev, int64_t now);

#endif
