// SPDX-License-Identifier: GPL-2.0
/*
 * rules: Wazuh-syntax rule XML -> rules appended to a ruleset. The document
 * is read by common/xml (no network, no entities, no DTD); every refusal
 * names FILE:LINE.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rules/internal.h"
#include "common/util.h"
#include "common/xml.h"

#define MAX_RULE_FILE (16u << 20)

void xb_rule_clear(struct rule *r)
{
	xb_osm_free(&r->match);
	free(r->match_src);
	xb_osm_free(&r->program_name);
	pcre2_code_free(r->regex);
	free(r->if_sid);
	free(r->decoded_as);
	free(r->description);
	free(r->groups);
	free(r->file);
	free(r->children);
	free(r->counters);
	memset(r, 0, sizeof(*r));
}

static int parse_uint(const char *s, uint32_t max, uint32_t *out)
{
	uint64_t v;
	int err = xb_parse_u64(s, max, &v);

	if (!err)
		*out = (uint32_t)v;
	return err;
}

/* "5700, 5710" appended to *ids. */
static int parse_sid_list(struct xb_xml_err *xe, const xmlNode *c, const char *text,
			  uint32_t **ids, size_t *n, size_t *cap)
{
	static const char sep[] = ", \t\n";
	char *dup = strdup(text), *save = NULL, *tok;
	int err = 0;

	if (!dup)
		return -ENOMEM;
	for (tok = strtok_r(dup, sep, &save); tok && !err; tok = strtok_r(NULL, sep, &save)) {
		uint32_t id = 0;

		if (parse_uint(tok, 999999999, &id) < 0 || id == 0)
			err = xb_xml_fail(xe, c, "bad rule id '%s'", tok);
		else
			err = xb_push_idx(ids, n, cap, id);
	}
	free(dup);
	if (!err && *n == 0)
		err = xb_xml_fail(xe, c, "empty rule id list");
	return err;
}

static int parse_if_matched_sid(struct xb_xml_err *xe, const xmlNode *c, struct rule *r,
				const char *text)
{
	uint32_t *ids = NULL;
	size_t n = 0, cap = 0;
	int err = parse_sid_list(xe, c, text, &ids, &n, &cap);

	if (!err && n != 1)
		err = xb_xml_fail(xe, c, "<if_matched_sid> takes one rule id");
	if (!err)
		r->if_matched_sid = ids[0];
	free(ids);
	return err;
}

/* Add a comma-separated group list to *dst, keeping one comma between. */
/* Plain concatenation: Wazuh joins a rule's <match> texts as they are. */
static int cat_append(char **dst, const char *add)
{
	size_t a = *dst ? strlen(*dst) : 0, b = strlen(add);
	char *n = realloc(*dst, a + b + 1);

	if (!n)
		return -ENOMEM;
	memcpy(n + a, add, b + 1);
	*dst = n;
	return 0;
}

static int str_append(char **dst, const char *add)
{
	size_t a = *dst ? strlen(*dst) : 0, b = strlen(add);
	bool comma = a && (*dst)[a - 1] != ',' && b;
	char *n = realloc(*dst, a + b + 2);

	if (!n)
		return -ENOMEM;
	if (!a)
		n[0] = '\0';
	if (comma)
		strcat(n, ",");
	strcat(n, add);
	*dst = n;
	return 0;
}

static int set_string(char **slot, const char *text)
{
	free(*slot);
	*slot = strdup(text);
	return *slot ? 0 : -ENOMEM;
}

/* <match>, <program_name>: one each, OS_Match. */
static int parse_osmatch(struct xb_xml_err *xe, const xmlNode *c, const struct rule *r,
			 struct osmatch *m, const char *text)
{
	int err;

	if (m->n)
		return xb_xml_fail(xe, c, "rule %u: second <%s>", r->id, c->name);
	err = xb_osm_compile(m, text);
	if (err == -EINVAL)
		return xb_xml_fail(xe, c, "rule %u: empty alternative in <%s>", r->id, c->name);
	return err;
}

static int regex_compile(struct xb_xml_err *xe, const xmlNode *c, struct rule *r,
			 const char *text, bool pcre)
{
	char *pat = NULL;
	int errcode, err;
	PCRE2_SIZE erroff;
	uint32_t flags = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;

	if (!pcre) {
		err = xb_osregex_to_pcre2(text, &pat);
		if (err == -ENOMEM)
			return err;
		if (err)
			return xb_xml_fail(xe, c, "<regex>: unsupported OS_Regex escape in '%s'",
					   text);
		flags |= PCRE2_CASELESS;        /* OS_Regex compares caselessly */
	}
	r->regex = pcre2_compile((PCRE2_SPTR)(pat ? pat : text), PCRE2_ZERO_TERMINATED, flags,
				 &errcode, &erroff, NULL);
	free(pat);
	if (!r->regex) {
		PCRE2_UCHAR msg[128];

		pcre2_get_error_message(errcode, msg, sizeof(msg));
		return xb_xml_fail(xe, c, "<regex>: %s at offset %zu", (char *)msg, (size_t)erroff);
	}
	pcre2_jit_compile(r->regex, PCRE2_JIT_COMPLETE);   /* interpreter if no JIT */
	return 0;
}

/* <regex [type="osregex|pcre2"]>: one per rule. */
static int parse_regex(struct xb_xml_err *xe, const xmlNode *c, struct rule *r, const char *text)
{
	xmlChar *type = xmlGetProp(c, (const xmlChar *)"type");
	bool pcre = false;
	int err = 0;

	for (const xmlAttr *a = c->properties; a && !err; a = a->next)
		if (strcmp((const char *)a->name, "type"))
			err = xb_xml_fail(xe, c, "<regex>: unknown attribute '%s'", a->name);
	if (!err && type && !strcmp((char *)type, "pcre2"))
		pcre = true;
	else if (!err && type && strcmp((char *)type, "osregex"))
		err = xb_xml_fail(xe, c, "<regex>: unknown type '%s'", type);
	xmlFree(type);
	if (!err && r->regex)
		err = xb_xml_fail(xe, c, "rule %u: second <regex>", r->id);
	if (!err)
		err = regex_compile(xe, c, r, text, pcre);
	return err;
}

/* <options>: Wazuh's output options, accepted and ignored. */
static int check_option(struct xb_xml_err *xe, const xmlNode *c, const struct rule *r,
			const char *text)
{
	static const char *const known[] = {
		"no_full_log", "alert_by_email", "no_email_alert", "no_log", "no_counter",
	};

	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		if (!strcmp(text, known[i]))
			return 0;
	return xb_xml_fail(xe, c, "rule %u: unknown option '%s'", r->id, text);
}

/* One child element of a <rule>, its trimmed text in text. */
static int rule_element(struct xb_xml_err *xe, const xmlNode *c, struct rule *r,
			const char *text)
{
	const char *name = (const char *)c->name;

	if (!strcmp(name, "if_sid"))
		return parse_sid_list(xe, c, text, &r->if_sid, &r->n_if_sid, &r->cap_if_sid);
	if (!strcmp(name, "if_matched_sid"))
		return parse_if_matched_sid(xe, c, r, text);
	if (!strcmp(name, "same_source_ip") || !strcmp(name, "same_srcip")) {
		r->same_source_ip = true;
		return 0;
	}
	if (!strcmp(name, "decoded_as"))
		return set_string(&r->decoded_as, text);
	if (!strcmp(name, "program_name"))
		return parse_osmatch(xe, c, r, &r->program_name, text);
	if (!strcmp(name, "match"))     /* several are joined: compiled in rule_finish() */
		return cat_append(&r->match_src, text);
	if (!strcmp(name, "regex"))
		return parse_regex(xe, c, r, text);
	if (!strcmp(name, "description"))
		return set_string(&r->description, text);
	if (!strcmp(name, "group"))
		return str_append(&r->groups, text);
	if (!strcmp(name, "options"))
		return check_option(xe, c, r, text);
	return xb_xml_fail(xe, c, "rule %u: unknown element <%s>", r->id, name);
}

/* One child node of a <rule>: comments and blank text pass, elements are read. */
static int rule_child(struct xb_xml_err *xe, const xmlNode *c, struct rule *r)
{
	const char *name = (const char *)c->name;
	char *text;
	int err;

	if (c->type == XML_COMMENT_NODE || c->type == XML_TEXT_NODE) {
		if (c->type == XML_TEXT_NODE && !xmlIsBlankNode(c))
			return xb_xml_fail(xe, c, "rule %u: stray text", r->id);
		return 0;
	}
	if (c->type != XML_ELEMENT_NODE)
		return xb_xml_fail(xe, c, "rule %u: unexpected XML node", r->id);
	if (!strcmp(name, "mitre") || !strcmp(name, "info"))
		return 0;       /* documentation only */
	/* of the rule's elements only <regex> takes an attribute (type) */
	if (c->properties && strcmp(name, "regex"))
		return xb_xml_fail(xe, c, "<%s>: unexpected attribute", name);
	text = xb_xml_text(c);
	if (!text)
		return -ENOMEM;
	err = rule_element(xe, c, r, text);
	free(text);
	return err;
}

/* One attribute of <rule>: 0, -EINVAL (a bad value) or -ENOENT (unknown). */
static int rule_attr(const char *name, const char *val, struct rule *r, bool *overwrite)
{
	uint32_t u = 0;

	if (!strcmp(name, "id"))
		return parse_uint(val, 999999999, &r->id) || r->id == 0 ? -EINVAL : 0;
	if (!strcmp(name, "level")) {
		int err = parse_uint(val, 16, &u);

		r->level = (uint8_t)u;
		return err ? -EINVAL : 0;
	}
	if (!strcmp(name, "frequency"))     /* the correlator keeps `frequency` stamps: bounded */
		return parse_uint(val, 256, &r->frequency) || r->frequency < 2 ? -EINVAL : 0;
	if (!strcmp(name, "timeframe"))
		return parse_uint(val, 999999, &r->timeframe) || r->timeframe == 0 ? -EINVAL : 0;
	if (!strcmp(name, "ignore"))
		return parse_uint(val, 999999, &r->ignore) ? -EINVAL : 0;
	if (!strcmp(name, "overwrite")) {
		*overwrite = !strcmp(val, "yes");
		return *overwrite || !strcmp(val, "no") ? 0 : -EINVAL;
	}
	if (!strcmp(name, "noalert")) {
		if (!strcmp(val, "1") || !strcmp(val, "yes"))
			r->noalert = true;
		else if (strcmp(val, "0") && strcmp(val, "no"))
			return -EINVAL;
		return 0;
	}
	return -ENOENT;
}

static int parse_rule_attrs(struct xb_xml_err *xe, const xmlNode *node, struct rule *r,
			    bool *overwrite)
{
	bool have_id = false, have_level = false;

	for (const xmlAttr *a = node->properties; a; a = a->next) {
		const char *name = (const char *)a->name;
		xmlChar *v = xmlNodeListGetString(node->doc, a->children, 1);
		int err = rule_attr(name, v ? (const char *)v : "", r, overwrite);

		if (err == -ENOENT)
			err = xb_xml_fail(xe, node, "<rule>: unknown attribute '%s'", name);
		else if (err)
			err = xb_xml_fail(xe, node, "<rule>: bad %s=\"%s\"", name,
					  v ? (const char *)v : "");
		xmlFree(v);
		if (err)
			return err;
		have_id |= !strcmp(name, "id");
		have_level |= !strcmp(name, "level");
	}
	if (!have_id)
		return xb_xml_fail(xe, node, "<rule> without id");
	if (!have_level)
		return xb_xml_fail(xe, node, "rule %u: no level", r->id);
	return 0;
}

/* Checks and Wazuh's defaults once every child of the <rule> is read. */
static int rule_finish(struct xb_xml_err *xe, struct rule *r)
{
	if (r->frequency && !r->if_matched_sid)
		return xb_xml_fail_at(xe, r->line, "rule %u: frequency needs <if_matched_sid>",
				      r->id);
	if (r->if_matched_sid && !r->frequency)
		r->frequency = 1;       /* a plain "seen before": fires on each */
	if (r->frequency && !r->timeframe)
		r->timeframe = 360;     /* Wazuh's default */
	if (r->match_src) {
		int err = xb_osm_compile(&r->match, r->match_src);

		if (err == -EINVAL)
			return xb_xml_fail_at(xe, r->line, "rule %u: empty alternative in <match>",
					      r->id);
		if (err)
			return err;
	}
	if (!r->description && !(r->description = strdup("")))
		return -ENOMEM;
	if (!r->groups && !(r->groups = strdup("")))
		return -ENOMEM;
	return 0;
}

static int parse_rule(struct xb_xml_err *xe, const xmlNode *node, const char *outer_groups,
		      struct rule *r, bool *overwrite)
{
	int err;

	r->line = xb_xml_line(node);
	r->file = strdup(xe->file);
	if (!r->file)
		return -ENOMEM;
	if ((err = parse_rule_attrs(xe, node, r, overwrite)))
		return err;
	if (outer_groups && (err = str_append(&r->groups, outer_groups)))
		return err;
	for (const xmlNode *c = node->children; c; c = c->next)
		if ((err = rule_child(xe, c, r)))
			return err;
	return rule_finish(xe, r);
}

/* A rule id defined again replaces the old one in place, if it says so. */
static int add_rule(struct xb_xml_err *xe, struct xb_ruleset *rs, const xmlNode *node,
		    const char *groups)
{
	struct rule r = { 0 };
	bool overwrite = false;
	int err = parse_rule(xe, node, groups, &r, &overwrite);
	long old;

	if (err)
		goto fail;
	old = xb_rule_index(rs, r.id);
	if (old >= 0 && !overwrite) {
		err = xb_xml_fail_at(xe, r.line,
				     "rule %u already defined at %s:%d (use overwrite=\"yes\")",
				     r.id, rs->r[old].file, rs->r[old].line);
		goto fail;
	}
	if (old >= 0) {
		xb_rule_clear(&rs->r[old]);     /* same place in the order, new definition */
		rs->r[old] = r;
		return 0;
	}
	if (overwrite) {
		err = xb_xml_fail_at(xe, r.line, "rule %u: overwrite=\"yes\" but no such rule",
				     r.id);
		goto fail;
	}
	if ((err = xb_grow(&rs->r, &rs->cap, rs->n, sizeof(*rs->r), 64)))
		goto fail;
	rs->r[rs->n++] = r;
	return 0;
fail:
	xb_rule_clear(&r);
	return err;
}

static bool skippable(const xmlNode *n)
{
	return n->type == XML_COMMENT_NODE || (n->type == XML_TEXT_NODE && xmlIsBlankNode(n));
}

/* <group name="a,b,"> holding <rule>s. */
static int load_group(struct xb_xml_err *xe, struct xb_ruleset *rs, const xmlNode *g)
{
	xmlChar *gname = xmlGetProp(g, (const xmlChar *)"name");
	int err = 0;

	for (const xmlAttr *a = g->properties; a && !err; a = a->next)
		if (strcmp((const char *)a->name, "name"))
			err = xb_xml_fail(xe, g, "<group>: unknown attribute '%s'", a->name);
	for (const xmlNode *c = g->children; c && !err; c = c->next) {
		if (skippable(c))
			continue;
		if (c->type != XML_ELEMENT_NODE || strcmp((const char *)c->name, "rule"))
			err = xb_xml_fail(xe, c, "expected <rule>, found <%s>",
					  c->type == XML_ELEMENT_NODE ? (const char *)c->name
								      : "text or entity");
		else
			err = add_rule(xe, rs, c, (const char *)gname);
	}
	xmlFree(gname);
	return err;
}

/*
 * Wazuh rule files hold several top-level <group>s: wrap them in one root on
 * the same line so line numbers stay right. A UTF-8 BOM is dropped and an XML
 * declaration blanked (it must come first). *out_len excludes the NUL.
 */
static char *wrap_doc(const char *xml, size_t len, size_t *out_len)
{
	static const char open_tag[] = "<xdpban-rules>", close_tag[] = "</xdpban-rules>";
	size_t ol = sizeof(open_tag) - 1, cl = sizeof(close_tag) - 1;
	char *buf, *p;

	if (len >= 3 && !memcmp(xml, "\xef\xbb\xbf", 3)) {
		xml += 3;
		len -= 3;
	}
	buf = malloc(ol + len + cl + 1);
	if (!buf)
		return NULL;
	memcpy(buf, open_tag, ol);
	memcpy(buf + ol, xml, len);
	memcpy(buf + ol + len, close_tag, cl + 1);
	p = buf + ol;
	while (p < buf + ol + len && strchr(" \t\r\n", *p))
		p++;
	if (!strncmp(p, "<?xml", 5)) {
		char *e = strstr(p, "?>");

		if (e)
			for (; p < e + 2; p++)
				if (*p != '\n')
					*p = ' ';
	}
	*out_len = ol + len + cl;
	return buf;
}

int xb_rules_load_doc(struct xb_xml_err *xe, struct xb_ruleset *rs, const char *xml, size_t len)
{
	size_t wlen;
	char *buf = wrap_doc(xml, len, &wlen);
	xmlDoc *doc = NULL;
	int err;

	if (!buf)
		return -ENOMEM;
	err = xb_xml_read(xe, buf, wlen, "a rule file", &doc);
	free(buf);
	if (err)
		return err;
	for (const xmlNode *g = xmlDocGetRootElement(doc)->children; g && !err; g = g->next) {
		if (skippable(g))
			continue;
		if (g->type != XML_ELEMENT_NODE || strcmp((const char *)g->name, "group"))
			err = xb_xml_fail(xe, g, "expected <group>, found <%s>",
					  g->name ? (const char *)g->name : "text");
		else
			err = load_group(xe, rs, g);
	}
	xmlFreeDoc(doc);
	return err;
}

int xb_rules_load_file(struct xb_xml_err *xe, struct xb_ruleset *rs, const char *path)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int err = 0;

	xe->file = path;
	/* a rule file is a regular file: a FIFO would block the load */
	if (stat(path, &st) < 0)
		err = -errno;
	else if (!S_ISREG(st.st_mode))
		err = -EINVAL;
	if (!err)
		err = xb_read_file(path, MAX_RULE_FILE, &buf, &len);
	if (err) {
		if (xe->buf)
			snprintf(xe->buf, xe->len, "%s: %s", path, strerror(-err));
		return err;
	}
	err = xb_rules_load_doc(xe, rs, buf, len);
	free(buf);
	return err;
}
