// SPDX-License-Identifier: GPL-2.0
/* config: strict XML config reader (libxml2, no network, no DTD, no entities). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "common/config.h"
#include "common/util.h"
#include "common/xml.h"

#define MAX_CONFIG_FILE (16u << 20)

struct pctx {
	struct xb_xml_err xe;
	struct xb_config *c;
	/* capacities of c's arrays while they grow */
	size_t cap_ifaces, cap_sources, cap_allow, cap_cmds, cap_ars, cap_protected;
};

const char *xb_config_path(const char *path)
{
	const char *env;

	if (path && *path)
		return path;
	env = getenv(XB_CONFIG_ENV);
	return env && *env ? env : XB_CONFIG_DEFAULT;
}

static bool is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *xb_rules_dir_default(char *buf, size_t len)
{
	static const char *const beside[] = { "../rules", "../share/xdpban/rules" };
	const char *env = getenv(XB_RULES_DIR_ENV);
	char exe[PATH_MAX], *slash;
	ssize_t n;

	if (env && *env)
		return env;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		for (size_t i = 0; slash && i < ARRAY_SIZE(beside); i++) {
			*slash = '\0';
			snprintf(buf, len, "%s/%s", exe, beside[i]);
			if (is_dir(buf))
				return buf;
		}
	}
	return XDPBAN_PREFIX "/share/xdpban/rules";
}

bool xb_config_is_default(const char *path)
{
	const char *env = getenv(XB_CONFIG_ENV);

	return !(path && *path) && !(env && *env);
}

const char *xb_src_type_name(enum xb_source_kind t)
{
	switch (t) {
	case XB_SRC_JOURNAL: return "journald";
	case XB_SRC_FILE: return "file";
	case XB_SRC_FD: return "stdin";
	case XB_SRC_REPLAY: return "replay";
	}
	return "?";
}

const char *xb_location_name(enum xb_ar_location l)
{
	switch (l) {
	case XB_LOC_LOCAL: return "local";
	case XB_LOC_SERVER: return "server";
	case XB_LOC_DEFINED_AGENT: return "defined-agent";
	case XB_LOC_ALL: return "all";
	}
	return "?";
}

static bool name_is(const xmlNode *n, const char *s)
{
	return !xmlStrcmp(n->name, (const xmlChar *)s);
}

/* Text of a leaf element, trimmed, in a malloc'ed string. */
static int leaf_text(struct pctx *p, const xmlNode *n, char **out)
{
	for (const xmlNode *k = n->children; k; k = k->next)
		if (k->type == XML_ELEMENT_NODE)
			return xb_xml_fail(&p->xe, k, "<%s> cannot contain <%s>", n->name, k->name);
	*out = xb_xml_text(n);
	return *out ? 0 : -ENOMEM;
}

static int leaf_nonempty(struct pctx *p, const xmlNode *n, char **out)
{
	int err = leaf_text(p, n, out);

	if (err)
		return err;
	if (!**out) {
		free(*out);
		*out = NULL;
		return xb_xml_fail(&p->xe, n, "<%s> is empty", n->name);
	}
	return 0;
}

/* Replace a single-valued string, refusing a second occurrence. */
static int leaf_once(struct pctx *p, const xmlNode *n, char **slot)
{
	if (*slot)
		return xb_xml_fail(&p->xe, n, "<%s> given twice", n->name);
	return leaf_nonempty(p, n, slot);
}

static int parse_bool(struct pctx *p, const xmlNode *n, bool *out)
{
	char *s;
	int err = leaf_nonempty(p, n, &s);

	if (err)
		return err;
	if (!strcasecmp(s, "yes") || !strcasecmp(s, "true") || !strcmp(s, "1"))
		*out = true;
	else if (!strcasecmp(s, "no") || !strcasecmp(s, "false") || !strcmp(s, "0"))
		*out = false;
	else
		err = xb_xml_fail(&p->xe, n, "<%s>: '%s' is not yes or no", n->name, s);
	free(s);
	return err;
}

static int parse_uint(struct pctx *p, const xmlNode *n, uint64_t max, uint64_t *out)
{
	char *s;
	int err = leaf_nonempty(p, n, &s);

	if (err)
		return err;
	if (xb_parse_u64(s, max, out))
		err = xb_xml_fail(&p->xe, n, "<%s>: '%s' is not a whole number from 0 to %llu",
				  n->name, s, (unsigned long long)max);
	free(s);
	return err;
}

/* <max_bans>: from 1 to XB_CONF_MAX_BANS, once. */
static int parse_max_bans(struct pctx *p, const xmlNode *n, uint32_t *out)
{
	uint64_t v = 0;
	char *s;
	int err;

	if (*out)
		return xb_xml_fail(&p->xe, n, "<%s> given twice", n->name);
	err = leaf_nonempty(p, n, &s);
	if (err)
		return err;
	if (xb_parse_u64(s, XB_CONF_MAX_BANS, &v) || !v)
		err = xb_xml_fail(&p->xe, n, "<%s>: '%s' is not a whole number from 1 to %u",
				  n->name, s, XB_CONF_MAX_BANS);
	else
		*out = (uint32_t)v;
	free(s);
	return err;
}

/* A positive duration; "permanent" only where allowed. */
static int duration_text(struct pctx *p, const xmlNode *n, const char *s,
			 bool perm_ok, uint64_t *out)
{
	if (perm_ok && !strcasecmp(s, "permanent")) {
		*out = XB_TIMEOUT_PERMANENT;
		return 0;
	}
	if (*s == '-')
		return xb_xml_fail(&p->xe, n, "<%s>: '%s' is negative", n->name, s);
	if (xb_parse_duration(s, out))
		return xb_xml_fail(&p->xe, n, "<%s>: '%s' is not a duration "
				   "(seconds, or 10m, 2h, 1d, 1w)", n->name, s);
	if (*out == 0)
		return xb_xml_fail(&p->xe, n, "<%s>: must be greater than zero", n->name);
	return 0;
}

static int parse_duration(struct pctx *p, const xmlNode *n, bool perm_ok, uint64_t *out)
{
	char *s;
	int err = leaf_nonempty(p, n, &s);

	if (err)
		return err;
	err = duration_text(p, n, s, perm_ok, out);
	free(s);
	return err;
}

/* Text between elements: whitespace is fine; "#..." is taken as a comment
 * (the seed's example annotates values that way); anything else is an error. */
static int stray_text(struct pctx *p, const xmlNode *parent, const xmlNode *k)
{
	const char *s = (const char *)k->content;

	while (s && isspace((unsigned char)*s))
		s++;
	if (!s || !*s || *s == '#')
		return 0;
	return xb_xml_fail(&p->xe, k, "unexpected text '%.20s' in <%s>", s, parent->name);
}

/* The loop's body runs for each child element; stray text sets err. */
#define FOR_EACH_CHILD(p, parent, k, err)                                       \
	for (const xmlNode *k = (parent)->children; k && !(err); k = k->next)    \
		if (k->type == XML_TEXT_NODE || k->type == XML_CDATA_SECTION_NODE) { \
			err = stray_text(p, parent, k);                            \
		} else if (k->type == XML_ELEMENT_NODE)

static int no_attrs(struct pctx *p, const xmlNode *n, const char *allowed)
{
	for (const xmlAttr *a = n->properties; a; a = a->next)
		if (!allowed || xmlStrcmp(a->name, (const xmlChar *)allowed))
			return xb_xml_fail(&p->xe, n, "<%s>: unknown attribute '%s'",
					   n->name, a->name);
	return 0;
}

/* The mode="" attribute of an <interface>, if any. */
static int iface_mode(struct pctx *p, const xmlNode *n, enum xb_mode *mode)
{
	xmlChar *m = xmlGetProp(n, (const xmlChar *)"mode");
	int err = 0;

	*mode = XB_MODE_AUTO;
	if (!m)
		return 0;
	if (!xmlStrcmp(m, (const xmlChar *)"auto"))
		*mode = XB_MODE_AUTO;
	else if (!xmlStrcmp(m, (const xmlChar *)"native"))
		*mode = XB_MODE_NATIVE;
	else if (!xmlStrcmp(m, (const xmlChar *)"generic"))
		*mode = XB_MODE_GENERIC;
	else
		err = xb_xml_fail(&p->xe, n, "interface mode '%s' is not auto, native or generic",
				  m);
	xmlFree(m);
	return err;
}

static int iface_name(struct pctx *p, const xmlNode *n, struct xb_conf_iface *it)
{
	struct xb_config *c = p->c;
	char *name;
	int err = leaf_nonempty(p, n, &name);

	if (err)
		return err;
	if (strlen(name) >= sizeof(it->name) || strchr(name, '/') || strchr(name, ' ')) {
		err = xb_xml_fail(&p->xe, n, "'%s' is not an interface name", name);
	} else {
		for (size_t i = 0; !err && i < c->n_ifaces; i++)
			if (!strcmp(c->ifaces[i].name, name))
				err = xb_xml_fail(&p->xe, n, "interface %s listed twice", name);
	}
	if (!err)
		strcpy(it->name, name);
	free(name);
	return err;
}

static int parse_interface(struct pctx *p, const xmlNode *n)
{
	struct xb_config *c = p->c;
	struct xb_conf_iface it = { 0 };
	int err;

	if ((err = no_attrs(p, n, "mode")) || (err = iface_name(p, n, &it)) ||
	    (err = iface_mode(p, n, &it.mode)))
		return err;
	if ((err = xb_grow(&c->ifaces, &p->cap_ifaces, c->n_ifaces, sizeof(*c->ifaces), 4)))
		return err;
	c->ifaces[c->n_ifaces++] = it;
	return 0;
}

/* The type="" attribute of a <source>: file when absent. */
static int source_type(struct pctx *p, const xmlNode *n, enum xb_source_kind *type)
{
	xmlChar *t = xmlGetProp(n, (const xmlChar *)"type");
	int err = 0;

	*type = XB_SRC_FILE;
	if (!t)
		return 0;
	if (!xmlStrcmp(t, (const xmlChar *)"journald"))
		*type = XB_SRC_JOURNAL;
	else if (!xmlStrcmp(t, (const xmlChar *)"file"))
		*type = XB_SRC_FILE;
	else if (!xmlStrcmp(t, (const xmlChar *)"stdin"))
		*type = XB_SRC_FD;
	else
		err = xb_xml_fail(&p->xe, n, "source type '%s' is not journald, file or stdin", t);
	xmlFree(t);
	return err;
}

/* A file source takes an absolute path, the others nothing; s->path owns text. */
static int source_path(struct pctx *p, const xmlNode *n, struct xb_conf_source *s, char *text)
{
	if (s->type == XB_SRC_FILE && *text != '/') {
		xb_xml_fail(&p->xe, n, "a file source needs an absolute path, got '%s'", text);
		free(text);
		return -EINVAL;
	}
	if (s->type != XB_SRC_FILE && *text) {
		free(text);
		return xb_xml_fail(&p->xe, n, "a %s source takes no path",
				   xb_src_type_name(s->type));
	}
	if (s->type == XB_SRC_FILE)
		s->path = text;
	else
		free(text);
	return 0;
}

static int parse_source(struct pctx *p, const xmlNode *n)
{
	struct xb_config *c = p->c;
	struct xb_conf_source s = { 0 };
	char *text;
	int err;

	if ((err = no_attrs(p, n, "type")) || (err = leaf_text(p, n, &text)))
		return err;
	if ((err = source_type(p, n, &s.type))) {
		free(text);
		return err;
	}
	if ((err = source_path(p, n, &s, text)))
		return err;
	for (size_t i = 0; i < c->n_sources; i++)
		if (c->sources[i].type == s.type && s.type != XB_SRC_FILE)
			return xb_xml_fail(&p->xe, n, "%s source listed twice",
					   xb_src_type_name(s.type));
	if ((err = xb_grow(&c->sources, &p->cap_sources, c->n_sources, sizeof(*c->sources), 4))) {
		free(s.path);
		return err;
	}
	c->sources[c->n_sources++] = s;
	return 0;
}

static int parse_white_list(struct pctx *p, const xmlNode *n)
{
	struct xb_config *c = p->c;
	struct xb_addr a;
	char *s;
	int err;

	if ((err = no_attrs(p, n, NULL)) || (err = leaf_nonempty(p, n, &s)))
		return err;
	if (xb_addr_parse(s, &a, false))
		err = xb_xml_fail(&p->xe, n, "white_list: '%s' is not an address or prefix "
				  "(numeric, host bits zero)", s);
	free(s);
	if (err || (err = xb_grow(&c->allow, &p->cap_allow, c->n_allow, sizeof(*c->allow), 8)))
		return err;
	c->allow[c->n_allow++] = a;
	return 0;
}

static int parse_global(struct pctx *p, const xmlNode *n)
{
	int err = no_attrs(p, n, NULL);

	FOR_EACH_CHILD(p, n, k, err) {
		if (name_is(k, "white_list"))
			err = parse_white_list(p, k);
		else
			err = xb_xml_fail(&p->xe, k, "unknown element <%s> in <global> "
					  "(xdpban reads only white_list there)", k->name);
	}
	return err;
}

static int parse_v6agg(struct pctx *p, const xmlNode *n)
{
	struct xb_config *c = p->c;
	uint64_t v;
	bool dis = false;
	int err = no_attrs(p, n, NULL);

	FOR_EACH_CHILD(p, n, k, err) {
		if (name_is(k, "prefix_len")) {
			err = parse_uint(p, k, 128, &v);
			if (!err && (v < 32 || v > 127))
				err = xb_xml_fail(&p->xe, k, "prefix_len must be 32..127");
			c->v6agg.prefix_len = v;
		} else if (name_is(k, "threshold")) {
			err = parse_uint(p, k, 1000000, &v);
			if (!err && v < 2)
				err = xb_xml_fail(&p->xe, k, "threshold must be at least 2");
			c->v6agg.threshold = v;
		} else if (name_is(k, "window")) {
			err = parse_duration(p, k, false, &c->v6agg.window);
		} else if (name_is(k, "disabled")) {
			err = parse_bool(p, k, &dis);
		} else {
			err = xb_xml_fail(&p->xe, k, "unknown element <%s> in <ipv6_aggregate>",
					  k->name);
		}
	}
	c->v6agg.enabled = !dis;
	return err;
}

static void command_free(struct xb_command *cmd)
{
	free(cmd->name);
	free(cmd->executable);
	free(cmd->extra_args);
}

/* A <command> needs a name no other one has, and an executable. */
static int command_check(struct pctx *p, const xmlNode *n, const struct xb_command *cmd)
{
	struct xb_config *c = p->c;

	if (!cmd->name)
		return xb_xml_fail(&p->xe, n, "<command> without <name>");
	if (!cmd->executable)
		return xb_xml_fail(&p->xe, n, "<command> %s without <executable>", cmd->name);
	for (size_t i = 0; i < c->n_cmds; i++)
		if (!strcmp(c->cmds[i].name, cmd->name))
			return xb_xml_fail(&p->xe, n, "command %s defined twice", cmd->name);
	return 0;
}

static int parse_command(struct pctx *p, const xmlNode *n)
{
	struct xb_config *c = p->c;
	struct xb_command cmd = { .line = xb_xml_line(n) };
	int err = no_attrs(p, n, NULL);

	FOR_EACH_CHILD(p, n, k, err) {
		if (name_is(k, "name"))
			err = leaf_once(p, k, &cmd.name);
		else if (name_is(k, "executable"))
			err = leaf_once(p, k, &cmd.executable);
		else if (name_is(k, "extra_args"))
			err = leaf_once(p, k, &cmd.extra_args);
		else if (name_is(k, "timeout_allowed"))
			err = parse_bool(p, k, &cmd.timeout_allowed);
		else if (!name_is(k, "expect"))  /* deprecated in Wazuh 4.2, ignored there too */
			err = xb_xml_fail(&p->xe, k, "unknown element <%s> in <command>", k->name);
	}
	if (!err)
		err = command_check(p, n, &cmd);
	if (!err)
		err = xb_grow(&c->cmds, &p->cap_cmds, c->n_cmds, sizeof(*c->cmds), 4);
	if (err) {
		command_free(&cmd);
		return err;
	}
	c->cmds[c->n_cmds++] = cmd;
	return 0;
}

/* Strip the white space around a list item, in place. */
static char *trim(char *tok)
{
	while (isspace((unsigned char)*tok))
		tok++;
	for (char *e = tok + strlen(tok); e > tok && isspace((unsigned char)e[-1]); )
		*--e = 0;
	return tok;
}

static int parse_rules_id(struct pctx *p, const xmlNode *n, struct xb_ar *ar)
{
	char *s, *tok, *save = NULL;
	size_t cap = 0;
	int err;

	if (ar->rules_id)
		return xb_xml_fail(&p->xe, n, "<rules_id> given twice");
	if ((err = leaf_nonempty(p, n, &s)))
		return err;
	for (tok = strtok_r(s, ",", &save); tok && !err; tok = strtok_r(NULL, ",", &save)) {
		uint64_t v;

		tok = trim(tok);
		if (xb_parse_u64(tok, UINT32_MAX, &v) || v == 0)
			err = xb_xml_fail(&p->xe, n, "rules_id: '%s' is not a rule id", tok);
		else if (!(err = xb_grow(&ar->rules_id, &cap, ar->n_rules_id,
					 sizeof(*ar->rules_id), 4)))
			ar->rules_id[ar->n_rules_id++] = v;
	}
	if (!err && !ar->n_rules_id)
		err = xb_xml_fail(&p->xe, n, "rules_id is empty");
	free(s);
	return err;
}

/* One repeated_offenders value: minutes, or "permanent". */
static int repeated_value(struct pctx *p, const xmlNode *n, const char *tok, uint64_t *secs)
{
	uint64_t v;

	if (!strcasecmp(tok, "permanent")) {
		*secs = XB_TIMEOUT_PERMANENT;
		return 0;
	}
	if (*tok == '-')
		return xb_xml_fail(&p->xe, n, "repeated_offenders: '%s' is negative", tok);
	if (xb_parse_u64(tok, 1000000000ULL, &v))
		return xb_xml_fail(&p->xe, n, "repeated_offenders: '%s' is not a number of minutes",
				   tok);
	if (v == 0)
		return xb_xml_fail(&p->xe, n,
				   "repeated_offenders: values must be greater than zero");
	*secs = v * 60;
	return 0;
}

static int parse_repeated(struct pctx *p, const xmlNode *n, struct xb_ar *ar)
{
	char *s, *tok, *save = NULL;
	int err;

	if (ar->n_repeated)
		return xb_xml_fail(&p->xe, n, "<repeated_offenders> given twice");
	if ((err = leaf_nonempty(p, n, &s)))
		return err;
	for (tok = strtok_r(s, ",", &save); tok && !err; tok = strtok_r(NULL, ",", &save)) {
		if (ar->n_repeated == XB_MAX_REPEATED)
			err = xb_xml_fail(&p->xe, n, "repeated_offenders: more than %d values",
					  XB_MAX_REPEATED);
		else if (!(err = repeated_value(p, n, trim(tok), &ar->repeated[ar->n_repeated])))
			ar->n_repeated++;
	}
	if (!err && !ar->n_repeated)
		err = xb_xml_fail(&p->xe, n, "repeated_offenders is empty");
	free(s);
	return err;
}

static int parse_location(struct pctx *p, const xmlNode *n, struct xb_ar *ar, bool *seen)
{
	static const struct { const char *name; enum xb_ar_location loc; } locs[] = {
		{ "local", XB_LOC_LOCAL }, { "server", XB_LOC_SERVER },
		{ "AS", XB_LOC_SERVER }, { "analysisd", XB_LOC_SERVER },
		{ "analysis-server", XB_LOC_SERVER }, { "defined-agent", XB_LOC_DEFINED_AGENT },
		{ "all", XB_LOC_ALL }, { "any", XB_LOC_ALL },
	};
	char *s;
	int err;

	if (*seen)
		return xb_xml_fail(&p->xe, n, "<location> given twice");
	if ((err = leaf_nonempty(p, n, &s)))
		return err;
	*seen = true;
	for (size_t i = 0; i < ARRAY_SIZE(locs); i++)
		if (!strcasecmp(s, locs[i].name)) {
			ar->location = locs[i].loc;
			free(s);
			return 0;
		}
	err = xb_xml_fail(&p->xe, n, "location '%s' is not local, server, defined-agent or all", s);
	free(s);
	return err;
}

static int parse_factor(struct pctx *p, const xmlNode *n, double *out)
{
	char *s, *end;
	int err = leaf_nonempty(p, n, &s);

	if (err)
		return err;
	*out = strtod(s, &end);
	if (*end || !isfinite(*out) || *out < 1.0 || *out > 1000.0)
		err = xb_xml_fail(&p->xe, n, "increment_factor '%s' is not a number from 1 to 1000",
				  s);
	free(s);
	return err;
}

static void ar_free(struct xb_ar *ar)
{
	free(ar->command);
	free(ar->agent_id);
	free(ar->rules_id);
	free(ar->rules_group);
}

/* An <active-response> being read: what was seen matters for the checks. */
struct ar_parse {
	struct xb_ar ar;
	bool loc_seen, timeout_seen;
};

static int ar_timeout(struct pctx *p, const xmlNode *k, struct ar_parse *a)
{
	int err;

	if (a->timeout_seen)
		err = xb_xml_fail(&p->xe, k, "<timeout> given twice");
	else
		err = parse_duration(p, k, true, &a->ar.timeout);
	a->timeout_seen = true;
	return err;
}

/* The xdpban extensions: formula mode and permanent_after. */
static int ar_extension(struct pctx *p, const xmlNode *k, struct xb_ar *ar)
{
	uint64_t v;
	int err;

	if (name_is(k, "increment_factor"))
		return parse_factor(p, k, &ar->increment_factor);
	if (name_is(k, "max_timeout"))
		return parse_duration(p, k, false, &ar->max_timeout);
	if (name_is(k, "random_jitter"))
		return parse_duration(p, k, false, &ar->random_jitter);
	if (!name_is(k, "permanent_after"))
		return xb_xml_fail(&p->xe, k, "unknown element <%s> in <active-response>", k->name);
	err = parse_uint(p, k, 1000000, &v);
	if (!err && v == 0)
		err = xb_xml_fail(&p->xe, k, "permanent_after must be at least 1");
	ar->permanent_after = v;
	return err;
}

static int ar_child(struct pctx *p, const xmlNode *k, struct ar_parse *a)
{
	struct xb_ar *ar = &a->ar;
	uint64_t v;
	int err;

	if (name_is(k, "command"))
		return leaf_once(p, k, &ar->command);
	if (name_is(k, "location"))
		return parse_location(p, k, ar, &a->loc_seen);
	if (name_is(k, "agent_id"))
		return leaf_once(p, k, &ar->agent_id);
	if (name_is(k, "rules_id"))
		return parse_rules_id(p, k, ar);
	if (name_is(k, "rules_group"))
		return leaf_once(p, k, &ar->rules_group);
	if (name_is(k, "level")) {
		err = parse_uint(p, k, 20, &v);
		ar->level = v;
		return err;
	}
	if (name_is(k, "timeout"))
		return ar_timeout(p, k, a);
	if (name_is(k, "repeated_offenders"))
		return parse_repeated(p, k, ar);
	if (name_is(k, "disabled"))
		return parse_bool(p, k, &ar->disabled);
	return ar_extension(p, k, ar);
}

/* What a whole <active-response> needs once all its children are read. */
static int ar_check(struct pctx *p, const xmlNode *n, const struct ar_parse *a)
{
	const struct xb_ar *ar = &a->ar;

	if (!ar->command)
		return xb_xml_fail(&p->xe, n, "<active-response> without <command>");
	if (!a->loc_seen)
		return xb_xml_fail(&p->xe, n,
				   "<active-response> without <location> (local or server)");
	if (ar->location == XB_LOC_DEFINED_AGENT && !ar->agent_id)
		return xb_xml_fail(&p->xe, n, "location defined-agent needs <agent_id>");
	if (ar->agent_id && ar->location == XB_LOC_DEFINED_AGENT) {
		for (const char *s = ar->agent_id; s; ) {
			const char *e = strchr(s, ',');
			size_t l = e ? (size_t)(e - s) : strlen(s);

			while (l && isspace((unsigned char)*s)) {
				s++;
				l--;
			}
			while (l && isspace((unsigned char)s[l - 1]))
				l--;
			if (!xb_agent_id_ok(s, l))
				return xb_xml_fail(&p->xe, n, "agent_id: '%.*s' is not an agent id "
						   "(letters, digits, '-', '_'; comma list)", (int)l, s);
			s = e ? e + 1 : NULL;
		}
	}
	if (!ar->n_rules_id && ar->level < 0 && !ar->rules_group)
		return xb_xml_fail(&p->xe, n,
				   "<active-response> needs rules_id, rules_group or level");
	if (ar->increment_factor > 0 && ar->n_repeated)
		return xb_xml_fail(&p->xe, n, "use either repeated_offenders or increment_factor, "
				   "not both");
	return 0;
}

static int parse_ar(struct pctx *p, const xmlNode *n)
{
	struct xb_config *c = p->c;
	struct ar_parse a = { .ar = { .line = xb_xml_line(n), .level = -1 } };
	int err = no_attrs(p, n, NULL);

	FOR_EACH_CHILD(p, n, k, err)
		err = ar_child(p, k, &a);
	if (!err)
		err = ar_check(p, n, &a);
	if (!err && !a.timeout_seen)
		a.ar.timeout = XB_TIMEOUT_PERMANENT;   /* Wazuh: no timeout, never undone */
	if (!err)
		err = xb_grow(&c->ars, &p->cap_ars, c->n_ars, sizeof(*c->ars), 4);
	if (err) {
		ar_free(&a.ar);
		return err;
	}
	c->ars[c->n_ars++] = a.ar;
	return 0;
}

/* <state_dir>, <control_socket>: an absolute path; a later one wins. */
static int parse_abs_path(struct pctx *p, const xmlNode *k, char **slot)
{
	char *s = NULL;
	int err = leaf_nonempty(p, k, &s);

	if (err)
		return err;
	if (*s != '/') {
		free(s);
		return xb_xml_fail(&p->xe, k, "<%s> needs an absolute path", k->name);
	}
	free(*slot);
	*slot = s;
	return 0;
}

int xb_config_hostport(const char *s, struct sockaddr_storage *ss, unsigned *len)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(s, ':');
	char *end;
	unsigned long port;
	size_t hl;

	if (!colon || colon == s || strlen(colon + 1) > 5 || !isdigit((unsigned char)colon[1]))
		return -EINVAL;
	port = strtoul(colon + 1, &end, 10);
	hl = (size_t)(colon - s);
	if (*end || port < 1 || port > 65535 || hl >= sizeof(host))
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[' && colon[-1] == ']') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		snprintf(host, sizeof(host), "%.*s", (int)hl - 2, s + 1);
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return -EINVAL;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		snprintf(host, sizeof(host), "%.*s", (int)hl, s);
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return -EINVAL;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		*len = sizeof(*a);
	}
	return 0;
}

/* <metrics>ADDRESS:PORT</metrics>: checked here so a typo fails the load. */
static int parse_metrics(struct pctx *p, const xmlNode *k)
{
	struct sockaddr_storage ss;
	unsigned len;
	char *s = NULL;
	int err = leaf_nonempty(p, k, &s);

	if (err)
		return err;
	if (xb_config_hostport(s, &ss, &len)) {
		free(s);
		return xb_xml_fail(&p->xe, k, "<metrics> needs ADDRESS:PORT or [ADDRESS]:PORT, numeric");
	}
	free(p->c->metrics);
	p->c->metrics = s;
	return 0;
}

/* <protected_accounts>: a comma list of user names, added up. */
static int parse_accounts(struct pctx *p, const xmlNode *k)
{
	struct xb_config *c = p->c;
	char *s = NULL, *save = NULL;
	int err = leaf_nonempty(p, k, &s);

	for (char *t = err ? NULL : strtok_r(s, ",", &save); t && !err;
	     t = strtok_r(NULL, ",", &save)) {
		char *name = trim(t);

		if (!*name)
			continue;
		err = xb_grow(&c->protected_accounts, &p->cap_protected, c->n_protected,
			      sizeof(*c->protected_accounts), 4);
		if (!err && !(c->protected_accounts[c->n_protected] = strdup(name)))
			err = -ENOMEM;
		if (!err)
			c->n_protected++;
	}
	free(s);
	return err;
}

/* <rules_dir>: a later one wins. */
static int parse_rules_dir(struct pctx *p, const xmlNode *k)
{
	char *s = NULL;
	int err = leaf_nonempty(p, k, &s);

	if (!err) {
		free(p->c->rules_dir);
		p->c->rules_dir = s;
	}
	return err;
}

/* ---- <fleet> ------------------------------------------------------------- */

bool xb_agent_id_ok(const char *s, size_t len)
{
	if (!len || len > XB_AGENT_ID_MAX || (len == 3 && !strncasecmp(s, "all", 3)))
		return false;   /* "all" names the key of every host's decisions */
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return false;
	return true;
}

bool xb_agent_list_has(const char *ids, const char *id)
{
	size_t n = strlen(id);

	for (const char *p = ids; p && *p; ) {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		const char *a = p;

		while (l && isspace((unsigned char)*a)) {
			a++;
			l--;
		}
		while (l && isspace((unsigned char)a[l - 1]))
			l--;
		if (l == n && !strncmp(a, id, n))
			return true;
		p = e ? e + 1 : NULL;
	}
	return false;
}

static bool str_same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

bool xb_fleet_same(const struct xb_conf_fleet *a, const struct xb_conf_fleet *b)
{
	if (a->enabled != b->enabled || a->manager != b->manager || a->replicas != b->replicas ||
	    strcmp(a->agent_id, b->agent_id) || a->n_urls != b->n_urls ||
	    !str_same(a->ca, b->ca) || !str_same(a->cert, b->cert) || !str_same(a->key, b->key))
		return false;
	for (size_t i = 0; i < a->n_urls; i++)
		if (strcmp(a->urls[i], b->urls[i]))
			return false;
	return true;
}

/* nats://HOST:PORT or tls://HOST:PORT; HOST may be [IPv6]. */
static bool url_ok(const char *u)
{
	const char *h = !strncmp(u, "nats://", 7) ? u + 7 : !strncmp(u, "tls://", 6) ? u + 6 : NULL;

	if (!h || !*h || strpbrk(h, " /@,"))
		return false;
	return true;
}

static int fleet_url(struct pctx *p, const xmlNode *k, struct xb_conf_fleet *f)
{
	char *s = NULL;
	int err = leaf_nonempty(p, k, &s);

	if (err)
		return err;
	if (!url_ok(s))
		err = xb_xml_fail(&p->xe, k, "<url>: '%s' is not nats://HOST:PORT or tls://HOST:PORT",
				  s);
	else if (f->n_urls == XB_FLEET_URLS_MAX)
		err = xb_xml_fail(&p->xe, k, "more than %d <url>", XB_FLEET_URLS_MAX);
	if (err) {
		free(s);
		return err;
	}
	f->urls[f->n_urls++] = s;
	return 0;
}

static int fleet_child(struct pctx *p, const xmlNode *k, struct xb_conf_fleet *f, bool *role)
{
	char *s = NULL;
	int err;

	if (name_is(k, "url"))
		return fleet_url(p, k, f);
	if (name_is(k, "ca"))
		return parse_abs_path(p, k, &f->ca);
	if (name_is(k, "cert"))
		return parse_abs_path(p, k, &f->cert);
	if (name_is(k, "key"))
		return parse_abs_path(p, k, &f->key);
	if (name_is(k, "grace"))
		return parse_duration(p, k, false, &f->grace);
	if (name_is(k, "report_rate")) {
		err = parse_uint(p, k, 1000000, &f->report_rate);
		if (!err && !f->report_rate)
			err = xb_xml_fail(&p->xe, k, "report_rate must be at least 1");
		return err;
	}
	if (name_is(k, "report_pack")) {
		err = parse_uint(p, k, XB_FLEET_PACK_MAX, &f->report_pack);
		if (!err && !f->report_pack)
			err = xb_xml_fail(&p->xe, k, "report_pack must be 1 to %d", XB_FLEET_PACK_MAX);
		return err;
	}
	if (name_is(k, "replicas")) {
		/* JetStream's own bound: a RAFT group of at most five. */
		err = parse_uint(p, k, 5, &f->replicas);
		if (!err && !f->replicas)
			err = xb_xml_fail(&p->xe, k, "replicas must be 1 to 5");
		return err;
	}
	if (name_is(k, "outbox_max")) {
		err = parse_uint(p, k, 10000000, &f->outbox_max);
		if (!err && !f->outbox_max)
			err = xb_xml_fail(&p->xe, k, "outbox_max must be at least 1");
		return err;
	}
	if (!name_is(k, "agent_id") && !name_is(k, "role"))
		return xb_xml_fail(&p->xe, k, "unknown element <%s> in <fleet>", k->name);
	if ((err = leaf_nonempty(p, k, &s)))
		return err;
	if (name_is(k, "agent_id")) {
		if (*f->agent_id)
			err = xb_xml_fail(&p->xe, k, "<agent_id> given twice");
		else if (!xb_agent_id_ok(s, strlen(s)))
			err = xb_xml_fail(&p->xe, k, "agent_id '%s' is not 1 to %d letters, digits, "
					  "'-' or '_' (and not \"all\")", s, XB_AGENT_ID_MAX);
		else
			strcpy(f->agent_id, s);
	} else if (*role) {
		err = xb_xml_fail(&p->xe, k, "<role> given twice");
	} else if (!strcmp(s, "manager") || !strcmp(s, "agent")) {
		f->manager = !strcmp(s, "manager");
		*role = true;
	} else {
		err = xb_xml_fail(&p->xe, k, "role '%s' is not manager or agent", s);
	}
	free(s);
	return err;
}

static int parse_fleet(struct pctx *p, const xmlNode *n)
{
	struct xb_conf_fleet *f = &p->c->fleet;
	bool role = false;
	int tls = 0, err = no_attrs(p, n, NULL);

	if (!err && f->enabled)
		return xb_xml_fail(&p->xe, n, "<fleet> given twice");
	f->enabled = true;
	f->line = xb_xml_line(n);
	FOR_EACH_CHILD(p, n, k, err)
		err = fleet_child(p, k, f, &role);
	if (err)
		return err;
	if (!*f->agent_id)
		return xb_xml_fail(&p->xe, n, "<fleet> without <agent_id>");
	if (!role)
		return xb_xml_fail(&p->xe, n, "<fleet> without <role> (manager or agent)");
	if (!f->n_urls)
		return xb_xml_fail(&p->xe, n, "<fleet> without <url> (the broker)");
	tls = !!f->ca + !!f->cert + !!f->key;
	if (tls && tls != 3)
		return xb_xml_fail(&p->xe, n, "<fleet>: <ca>, <cert> and <key> go together");
	for (size_t i = 0; i < f->n_urls; i++)
		if (!strncmp(f->urls[i], "tls://", 6) && !tls)
			return xb_xml_fail(&p->xe, n, "<fleet>: %s needs <ca>, <cert> and <key>",
					   f->urls[i]);
	return 0;
}

static void fleet_free(struct xb_conf_fleet *f)
{
	for (size_t i = 0; i < f->n_urls; i++)
		free(f->urls[i]);
	free(f->ca);
	free(f->cert);
	free(f->key);
}

static int root_child(struct pctx *p, const xmlNode *k)
{
	struct xb_config *c = p->c;

	if (name_is(k, "fleet"))
		return parse_fleet(p, k);

	if (name_is(k, "interface"))
		return parse_interface(p, k);
	if (name_is(k, "source"))
		return parse_source(p, k);
	if (name_is(k, "rules_dir"))
		return parse_rules_dir(p, k);
	if (name_is(k, "local_rules"))
		return leaf_once(p, k, &c->local_rules);
	if (name_is(k, "white_list"))
		return parse_white_list(p, k);
	if (name_is(k, "global"))
		return parse_global(p, k);
	if (name_is(k, "state_dir"))
		return parse_abs_path(p, k, &c->state_dir);
	if (name_is(k, "control_socket"))
		return parse_abs_path(p, k, &c->ctl_socket);
	if (name_is(k, "metrics"))
		return parse_metrics(p, k);
	if (name_is(k, "offender_memory"))
		return parse_duration(p, k, false, &c->offender_memory);
	if (name_is(k, "max_bans")) {
		c->max_bans_line = (int)xb_xml_line(k);
		return parse_max_bans(p, k, &c->max_bans);
	}
	if (name_is(k, "ipv6_aggregate"))
		return parse_v6agg(p, k);
	if (name_is(k, "command"))
		return parse_command(p, k);
	if (name_is(k, "active_response_dir"))
		return parse_abs_path(p, k, &c->ar_dir);
	if (name_is(k, "hosts_deny"))
		return parse_abs_path(p, k, &c->hosts_deny);
	if (name_is(k, "protected_accounts"))
		return parse_accounts(p, k);
	if (name_is(k, "active-response"))
		return parse_ar(p, k);
	return xb_xml_fail(&p->xe, k, "unknown element <%s>", k->name);
}

static int parse_root(struct pctx *p, const xmlNode *root)
{
	int err = 0;

	if (!name_is(root, "xdpban") && !name_is(root, "ossec_config"))
		return xb_xml_fail(&p->xe, root, "root element is <%s>, expected <xdpban> or "
				   "<ossec_config>", root->name);
	FOR_EACH_CHILD(p, root, k, err)
		err = root_child(p, k);
	return err;
}

static const struct {
	const char *name;
	enum xb_cmd_kind kind;
} builtins[] = {
	{ "firewall-drop", XB_CMD_DROP }, { "xdp-drop", XB_CMD_DROP },
	{ "route-null", XB_CMD_ROUTE_NULL }, { "host-deny", XB_CMD_HOST_DENY },
	{ "disable-account", XB_CMD_DISABLE_ACCOUNT },
	{ "wazuh-slack", XB_CMD_WEBHOOK }, { "webhook", XB_CMD_WEBHOOK },
};

enum xb_cmd_kind xb_cmd_builtin(const char *executable)
{
	if (!executable || *executable == '/')
		return XB_CMD_SCRIPT;   /* an absolute path is always a program */
	for (size_t i = 0; i < ARRAY_SIZE(builtins); i++)
		if (!strcmp(builtins[i].name, executable))
			return builtins[i].kind;
	return XB_CMD_SCRIPT;
}

const char *xb_cmd_kind_name(enum xb_cmd_kind k)
{
	switch (k) {
	case XB_CMD_SCRIPT: return "script";
	case XB_CMD_DROP: return "xdp-drop";
	case XB_CMD_ROUTE_NULL: return "route-null";
	case XB_CMD_HOST_DENY: return "host-deny";
	case XB_CMD_DISABLE_ACCOUNT: return "disable-account";
	case XB_CMD_WEBHOOK: return "webhook";
	}
	return "?";
}

/* The <command> an <active-response> names: a defined one, else a built-in
 * (timeout allowed, as Wazuh's shipped ar.conf has them). */
const struct xb_command *xb_config_command(const struct xb_config *c, const char *name)
{
#define BUILTIN(n, k) { .name = n, .executable = n, .timeout_allowed = true, \
			.builtin_drop = (k) == XB_CMD_DROP, .kind = k }
	static const struct xb_command builtin[] = {
		BUILTIN("firewall-drop", XB_CMD_DROP), BUILTIN("xdp-drop", XB_CMD_DROP),
		BUILTIN("route-null", XB_CMD_ROUTE_NULL), BUILTIN("host-deny", XB_CMD_HOST_DENY),
		BUILTIN("disable-account", XB_CMD_DISABLE_ACCOUNT),
		BUILTIN("wazuh-slack", XB_CMD_WEBHOOK), BUILTIN("webhook", XB_CMD_WEBHOOK),
	};
#undef BUILTIN
	const struct xb_command *cmd = NULL;

	for (size_t j = 0; j < c->n_cmds; j++)
		if (!strcmp(c->cmds[j].name, name))
			cmd = &c->cmds[j];
	for (size_t j = 0; !cmd && j < ARRAY_SIZE(builtin); j++)
		if (!strcmp(builtin[j].name, name))
			cmd = &builtin[j];
	return cmd;
}

static int resolve(struct pctx *p)
{
	struct xb_config *c = p->c;

	for (size_t i = 0; i < c->n_cmds; i++) {
		c->cmds[i].kind = xb_cmd_builtin(c->cmds[i].executable);
		c->cmds[i].builtin_drop = c->cmds[i].kind == XB_CMD_DROP;
	}
	for (size_t i = 0; i < c->n_ars; i++) {
		struct xb_ar *ar = &c->ars[i];

		/* Here, not in ar_check: <fleet> may come after the block. */
		if (!ar->disabled && !c->fleet.enabled &&
		    (ar->location == XB_LOC_DEFINED_AGENT || ar->location == XB_LOC_ALL))
			return xb_xml_fail_at(&p->xe, ar->line, "location %s needs several hosts: "
				"configure <fleet> (agent_id, role, url), or use local or server",
				xb_location_name(ar->location));
		ar->cmd = xb_config_command(c, ar->command);
		if (!ar->cmd)
			return xb_xml_fail_at(&p->xe, ar->line,
				"active-response uses command '%.63s', which is neither built in "
				"(firewall-drop, xdp-drop, route-null, host-deny, disable-account, "
				"wazuh-slack, webhook) nor defined in a <command> block",
				ar->command);
		/* An account is one host's: its name on another means nothing. */
		if (c->fleet.enabled && !ar->disabled && ar->location != XB_LOC_LOCAL &&
		    ar->cmd->kind == XB_CMD_DISABLE_ACCOUNT)
			return xb_xml_fail_at(&p->xe, ar->line,
				"location %s: '%.63s' locks an account of the host that saw the "
				"attack; it runs with location local", xb_location_name(ar->location),
				ar->command);
		if (ar->cmd->kind == XB_CMD_WEBHOOK && !ar->disabled &&
		    (!ar->cmd->extra_args || strncmp(ar->cmd->extra_args, "http", 4)))
			return xb_xml_fail_at(&p->xe, ar->line,
				"command '%s' posts to a webhook: its <extra_args> must be the "
				"URL (http:// or https://)", ar->command);
		/* Wazuh honours timeout only when the command allows it. */
		if (!ar->cmd->timeout_allowed)
			ar->timeout = XB_TIMEOUT_PERMANENT;
	}
	return 0;
}

static int set_defaults(struct xb_config *c)
{
	if (!c->state_dir && !(c->state_dir = strdup(XB_STATE_DIR_DEFAULT)))
		return -ENOMEM;
	if (!c->ctl_socket && !(c->ctl_socket = strdup(XB_SOCKET_DEFAULT)))
		return -ENOMEM;
	if (!c->ar_dir && !(c->ar_dir = strdup(XB_AR_DIR_DEFAULT)))
		return -ENOMEM;
	if (!c->hosts_deny && !(c->hosts_deny = strdup(XB_HOSTS_DENY_DEFAULT)))
		return -ENOMEM;
	if (!c->offender_memory)
		c->offender_memory = 7 * 86400;
	if (!c->v6agg.prefix_len)
		c->v6agg.prefix_len = 64;
	if (!c->v6agg.threshold)
		c->v6agg.threshold = 3;
	if (!c->v6agg.window)
		c->v6agg.window = 3600;
	if (!c->fleet.grace)
		c->fleet.grace = 10;
	if (!c->fleet.outbox_max)
		c->fleet.outbox_max = 10000;
	if (!c->fleet.report_rate)
		c->fleet.report_rate = 200;
	/* Packs only form while a message waits for its ack (a burst); the
	 * manager must be at least as new as its agents, as with Wazuh. */
	if (!c->fleet.report_pack)
		c->fleet.report_pack = XB_FLEET_PACK_DEF;
	if (!c->fleet.replicas)
		c->fleet.replicas = 1;
	return 0;
}

static struct xb_config *config_new(void)
{
	struct xb_config *c = calloc(1, sizeof(*c));

	if (c)
		c->v6agg.enabled = true;
	return c;
}

int xb_config_default(struct xb_config **out)
{
	struct xb_config *c = config_new();
	int err;

	if (!c)
		return -ENOMEM;
	if ((err = set_defaults(c))) {
		xb_config_free(c);
		return err;
	}
	*out = c;
	return 0;
}

/* The config a parsed document describes, in p->c. */
static int build(struct pctx *p, const xmlDoc *doc)
{
	int err;

	p->c = config_new();
	if (!p->c)
		return -ENOMEM;
	if ((err = parse_root(p, xmlDocGetRootElement(doc))) || (err = resolve(p)) ||
	    (err = set_defaults(p->c)))
		return err;
	p->c->path = strdup(p->xe.file);
	return p->c->path ? 0 : -ENOMEM;
}

int xb_config_parse(const char *buf, size_t len, const char *name,
		    struct xb_config **out, char *err, size_t errlen)
{
	struct pctx p = { .xe = { .file = name ? name : "(config)", .buf = err, .len = errlen } };
	xmlDoc *doc = NULL;
	int ret;

	if (err && errlen)
		*err = 0;
	ret = xb_xml_read(&p.xe, buf, len, "the config", &doc);
	if (ret)
		return ret;
	ret = build(&p, doc);
	xmlFreeDoc(doc);
	if (ret) {
		if (ret == -ENOMEM && err && errlen)
			snprintf(err, errlen, "%s: out of memory", p.xe.file);
		xb_config_free(p.c);
		return ret;
	}
	*out = p.c;
	return 0;
}

int xb_config_load(const char *path, struct xb_config **out, char *err, size_t errlen)
{
	char *buf;
	size_t len;
	int ret;

	path = xb_config_path(path);
	ret = xb_read_file(path, MAX_CONFIG_FILE, &buf, &len);
	if (ret) {
		if (err && errlen && ret == -EFBIG)
			snprintf(err, errlen, "%s: larger than 16 MiB", path);
		else if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	ret = xb_config_parse(buf, len, path, out, err, errlen);
	free(buf);
	return ret;
}

void xb_config_free(struct xb_config *c)
{
	if (!c)
		return;
	free(c->path);
	free(c->ifaces);
	for (size_t i = 0; i < c->n_sources; i++)
		free(c->sources[i].path);
	free(c->sources);
	free(c->rules_dir);
	free(c->local_rules);
	free(c->allow);
	free(c->state_dir);
	free(c->ctl_socket);
	free(c->metrics);
	free(c->ar_dir);
	free(c->hosts_deny);
	for (size_t i = 0; i < c->n_protected; i++)
		free(c->protected_accounts[i]);
	free(c->protected_accounts);
	for (size_t i = 0; i < c->n_cmds; i++)
		command_free(&c->cmds[i]);
	free(c->cmds);
	for (size_t i = 0; i < c->n_ars; i++)
		ar_free(&c->ars[i]);
	free(c->ars);
	fleet_free(&c->fleet);
	free(c);
}
