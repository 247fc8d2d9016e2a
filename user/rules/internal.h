/* SPDX-License-Identifier: GPL-2.0 */
/* rules internals shared by rules.c (loading, matching) and rules_corr.c. */
#ifndef XB_RULES_INT_H
#define XB_RULES_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "rules/rules.h"

/* One OS_Match alternative, lowercased. */
struct osm_alt {
	char *pat;
	size_t len;
	bool start, end;        /* ^ and $ anchors */
};

struct osmatch {
	struct osm_alt *alts;
	size_t n;
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
	size_t n_if_sid;
	char *decoded_as;
	struct osmatch program_name, match;
	pcre2_code *regex;
	char *description, *groups, *file;
	int line;
	uint32_t *children;     /* indices, definition order */
	size_t n_children;
	uint32_t *counters;     /* rules whose if_matched_sid is this rule */
	size_t n_counters;
};

struct xb_ruleset {
	struct rule *r;
	size_t n, cap;
	uint32_t *roots;
	size_t n_roots;
	uint32_t max_freq;
	pcre2_match_data *md;   /* scratch: one ruleset is used by one thread */
};

struct load_ctx {
	char *err;
	size_t errlen;
	const char *file;
};

static inline unsigned xb_lower(unsigned c)
{
	return c - 'A' < 26u ? c + 32 : c;
}

bool xb_osm_match(const struct osmatch *m, const char *lower_s, size_t n);

/* rules_corr.c: record ev for correlation rule ri / does ri fire now? */
void xb_corr_push(struct xb_correlator *c, const struct xb_ruleset *rs, uint32_t ri,
		  const struct xb_event *ev, int64_t now);
bool xb_corr_fires(struct xb_correlator *c, const struct xb_ruleset *rs, uint32_t ri,
		   const struct xb_event *ev, int64_t now);

#endif
