// SPDX-License-Identifier: GPL-2.0
/*
 * rules: link the loaded rules into Wazuh's tree. if_sid makes a rule its
 * parents' child, if_matched_sid makes it a child of and a counter on the
 * rule it counts; a rule with neither is a root. Siblings are sorted by
 * level; loops and unknown parents are refused.
 */
#include <errno.h>
#include <stdlib.h>

#include "rules/internal.h"
#include "common/xml.h"

/* Rule i becomes a child of each rule its if_sid names. */
static int link_if_sid(struct xb_xml_err *xe, struct xb_ruleset *rs, size_t i)
{
	struct rule *r = &rs->r[i];

	for (size_t k = 0; k < r->n_if_sid; k++) {
		long pi = xb_rule_index(rs, r->if_sid[k]);
		struct rule *p;
		int err;

		if (pi < 0)
			return xb_xml_fail_at(xe, r->line, "rule %u: if_sid %u: no such rule",
					      r->id, r->if_sid[k]);
		p = &rs->r[pi];
		err = xb_push_idx(&p->children, &p->n_children, &p->cap_children, (uint32_t)i);
		if (err)
			return err;
	}
	return 0;
}

/* Rule i counts the matches of its if_matched_sid rule, and (as in Wazuh)
 * is that rule's child too. */
static int link_if_matched_sid(struct xb_xml_err *xe, struct xb_ruleset *rs, size_t i)
{
	struct rule *r = &rs->r[i];
	long pi = xb_rule_index(rs, r->if_matched_sid);
	struct rule *p;
	bool dup = false;
	int err;

	if (pi < 0)
		return xb_xml_fail_at(xe, r->line, "rule %u: if_matched_sid %u: no such rule",
				      r->id, r->if_matched_sid);
	p = &rs->r[pi];
	if ((err = xb_push_idx(&p->counters, &p->n_counters, &p->cap_counters, (uint32_t)i)))
		return err;
	for (size_t k = 0; k < r->n_if_sid; k++)
		dup |= r->if_sid[k] == r->if_matched_sid;
	if (dup)
		return 0;
	return xb_push_idx(&p->children, &p->n_children, &p->cap_children, (uint32_t)i);
}

static int link_rule(struct xb_xml_err *xe, struct xb_ruleset *rs, size_t i)
{
	struct rule *r = &rs->r[i];
	int err;

	xe->file = r->file;
	if (!r->n_if_sid && !r->if_matched_sid)
		return xb_push_idx(&rs->roots, &rs->n_roots, &rs->cap_roots, (uint32_t)i);
	if ((err = link_if_sid(xe, rs, i)))
		return err;
	if (r->if_matched_sid && (err = link_if_matched_sid(xe, rs, i)))
		return err;
	if (r->frequency > rs->max_freq)
		rs->max_freq = r->frequency;
	return 0;
}

/* Depth-first walk: a child reachable from itself would loop forever. */
static int check_cycles(struct xb_xml_err *xe, const struct xb_ruleset *rs, size_t i,
			uint8_t *state)
{
	int err;

	if (state[i] == 1) {
		xe->file = rs->r[i].file;
		return xb_xml_fail_at(xe, rs->r[i].line, "rule %u: if_sid loop", rs->r[i].id);
	}
	if (state[i] == 2)
		return 0;
	state[i] = 1;
	for (size_t k = 0; k < rs->r[i].n_children; k++)
		if ((err = check_cycles(xe, rs, rs->r[i].children[k], state)))
			return err;
	state[i] = 2;
	return 0;
}

/*
 * Siblings are tried as Wazuh orders them: higher level first, definition
 * order among equal levels (insertion sort: stable, lists are short).
 */
static void sort_by_level(const struct xb_ruleset *rs, uint32_t *idx, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		uint32_t v = idx[i];
		size_t k = i;

		while (k > 0 && rs->r[idx[k - 1]].level < rs->r[v].level) {
			idx[k] = idx[k - 1];
			k--;
		}
		idx[k] = v;
	}
}

int xb_rules_link(struct xb_xml_err *xe, struct xb_ruleset *rs)
{
	uint8_t *state;
	int err = 0;

	for (size_t i = 0; i < rs->n && !err; i++)
		err = link_rule(xe, rs, i);
	if (err)
		return err;
	sort_by_level(rs, rs->roots, rs->n_roots);
	for (size_t i = 0; i < rs->n; i++)
		sort_by_level(rs, rs->r[i].children, rs->r[i].n_children);
	state = calloc(rs->n ? rs->n : 1, 1);
	if (!state)
		return -ENOMEM;
	for (size_t i = 0; i < rs->n && !err; i++)
		err = check_cycles(xe, rs, i, state);
	free(state);
	if (!err && rs->n && !rs->n_roots) {
		xe->file = rs->r[0].file;
		err = xb_xml_fail_at(xe, rs->r[0].line, "no root rule (every rule has a parent)");
	}
	return err;
}
