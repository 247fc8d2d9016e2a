// SPDX-License-Identifier: GPL-2.0
/* config: strict XML config reader (libxml2, no network, no DTD, no entities). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "common/config.h"
#include "common/util.h"

struct pctx {
	const char *name;
	char *err;
	size_t errlen;
	struct xb_config *c;
};

/* Record the first error only: it is the one that explains the rest. */
__attribute__((format(printf, 3, 4)))
static int fail(struct pctx *p, const xmlNode *n, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->err && p->errlen)
		snprintf(p->err, p->errlen, "%s:%ld: %s", p->name,
			 n ? xmlGetLineNo(n) : 0L, msg);
	return -EINVAL;
}

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
	const xmlNode *k;
	xmlChar *raw;
	char *s, *e;

	for (k = n->children; k; k = k->next)
		if (k->type == XML_ELEMENT_NODE)
			return fail(p, k, "<%s> cannot contain <%s>", n->name, k->name);
	raw = xmlNodeGetContent(n);
	if (!raw)
		return -ENOMEM;
	s = (char *)raw;
	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	*out = strndup(s, e - s);
	xmlFree(raw);
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
		return fail(p, n, "<%s> is empty", n->name);
	}
	return 0;
}

/* Replace a single-valued string, refusing a second occurrence. */
static int leaf_once(struct pctx *p, const xmlNode *n, char **slot)
{
	if (*slot)
		return fail(p, n, "<%s> given twice", n->name);
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
		err = fail(p, n, "<%s>: '%s' is not yes or no", n->name, s);
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
		err = fail(p, n, "<%s>: '%s' is not a whole number from 0 to %llu",
			   n->name, s, (unsigned long long)max);
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
		return fail(p, n, "<%s>: '%s' is negative", n->name, s);
	if (xb_parse_duration(s, out))
		return fail(p, n, "<%s>: '%s' is not a duration (seconds, or 10m, 2h, 1d, 1w)",
			    n->name, s);
	if (*out == 0)
		return fail(p, n, "<%s>: must be greater than zero", n->name);
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
	return fail(p, k, "unexpected text '%.20s' in <%s>", s, parent->name);
}

/* Call cb for each child element; refuse stray text. */
#define FOR_EACH_CHILD(p, parent, k, err)                                       \
	for (const xmlNode *k = (parent)->children; k && !(err); k = k->next)    \
		if (k->type == XML_TEXT_NODE || k->type == XML_CDATA_SECTION_NODE) { \
			err = stray_text(p, parent, k);                            \
		} else if (k->type == XML_ELEMENT_NODE)

static void *grow(void *arr, size_t n, size_t sz)
{
	/* Grow by one element; callers zero the new slot. */
	void *np = realloc(arr, (n + 1) * sz);

	if (np)
		memset((char *)np + n * sz, 0, sz);
	return np;
}

static int no_attrs(struct pctx *p, const xmlNode *n, const char *allowed)
{
	for (const xmlAttr *a = n->properties; a; a = a->next)
		if (!allowed || xmlStrcmp(a->name, (const xmlChar *)allowed))
			return fail(p, n, "<%s>: unknown attribute '%s'", n->name, a->name);
	return 0;
}

static int parse_interface(struct pctx *p, const xmlNode *n)
{
	struct xb_config *c = p->c;
	struct xb_conf_iface *ifs, *it;
	xmlChar *mode;
	char *name;
	int err;

	if ((err = no_attrs(p, n, "mode")) || (err = leaf_nonempty(p, n, &name)))
		return err;
	if (strlen(name) >= sizeof(it->name) || strchr(name, '/') || strchr(name, ' ')) {
		err = fail(p, n, "'%s' is not an interface name", name);
		free(name);
		return err;
	}
	for (size_t i = 0; i < c->n_ifaces; i++)
		if (!strcmp(c->ifaces[i].name, name)) {
			err = fail(p, n, "interface %s listed twice", name);
			free(name);
			return err;
		}
	ifs = grow(c->ifaces, c->n_ifaces, sizeof(*ifs));
	if (!ifs) {
		free(name);
		return -ENOMEM;
	}
	c->ifaces = ifs;
	it = &ifs[c->n_ifaces];
	strcpy(it->name, name);
	free(name);
	it->mode = XB_MODE_AUTO;
	mode = xmlGetProp(n, (const xmlChar *)"mode");
	if (mode) {
		if (!xmlStrcmp(mode, (const xmlChar *)"auto"))
			it->mode = XB_MODE_AUTO;
		else if (!xmlStrcmp(mode, (const xmlChar *)"native"))
			it->mode = XB_MODE_NATIVE;
		else if (!xmlStrcmp(mode, (const xmlChar *)"generic"))
			it->mode = XB_MODE_GENERIC;
		else
			err = fail(p, n, "interface mode '%s' is not auto, native or generic", mode);
		xmlFree(mode);
		if (err)
			return err;
	}
	c->n_ifaces++;
	return 0;
}

static int parse_source(struct pctx *p, const xmlNode *n)
{
	struct xb_config *c = p->c;
	struct xb_conf_source *ss, s = { .type = XB_SRC_FILE };
	xmlChar *type;
	char *text;
	int err;

	if ((err = no_attrs(p, n, "type")) || (err = leaf_text(p, n, &text)))
		return err;
	type = xmlGetProp(n, (const xmlChar *)"type");
	if (type) {
		if (!xmlStrcmp(type, (const xmlChar *)"journald"))
			s.type = XB_SRC_JOURNAL;
		else if (!xmlStrcmp(type, (const xmlChar *)"file"))
			s.type = XB_SRC_FILE;
		else if (!xmlStrcmp(type, (const xmlChar *)"stdin"))
			s.type = XB_SRC_FD;
		else
			err = fail(p, n, "source type '%s' is not journald, file or stdin", type);
		xmlFree(type);
	}
	if (!err && s.type == XB_SRC_FILE && *text != '/')
		err = fail(p, n, "a file source needs an absolute path, got '%s'", text);
	if (!err && s.type != XB_SRC_FILE && *text)
		err = fail(p, n, "a %s source takes no path", xb_src_type_name(s.type));
	if (err) {
		free(text);
		return err;
	}
	if (s.type == XB_SRC_FILE) {
		s.path = text;
	} else {
		free(text);
	}
	for (size_t i = 0; i < c->n_sources; i++)
		if (c->sources[i].type == s.type && s.type != XB_SRC_FILE) {
			free(s.path);
			return fail(p, n, "%s source listed twice", xb_src_type_name(s.type));
		}
	ss = grow(c->sources, c->n_sources, sizeof(*ss));
	if (!ss) {
		free(s.path);
		return -ENOMEM;
	}
	c->sources = ss;
	ss[c->n_sources++] = s;
	return 0;
}

static int parse_white_list(struct pctx *p, const xmlNode *n)
{
	struct xb_config *c = p->c;
	struct xb_addr a, *arr;
	char *s;
	int err;

	if ((err = no_attrs(p, n, NULL)) || (err = leaf_nonempty(p, n, &s)))
		return err;
	if (xb_addr_parse(s, &a, false)) {
		err = fail(p, n, "white_list: '%s' is not an address or prefix "
			   "(numeric, host bits zero)", s);
		free(s);
		return err;
	}
	free(s);
	arr = grow(c->allow, c->n_allow, sizeof(*arr));
	if (!arr)
		return -ENOMEM;
	c->allow = arr;
	arr[c->n_allow++] = a;
	return 0;
}

static int parse_global(struct pctx *p, const xmlNode *n)
{
	int err = no_attrs(p, n, NULL);

	FOR_EACH_CHILD(p, n, k, err) {
		if (name_is(k, "white_list"))
			err = parse_white_list(p, k);
		else
			err = fail(p, k, "unknown element <%s> in <global> "
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
				err = fail(p, k, "prefix_len must be 32..127");
			c->v6agg.prefix_len = v;
		} else if (name_is(k, "threshold")) {
			err = parse_uint(p, k, 1000000, &v);
			if (!err && v < 2)
				err = fail(p, k, "threshold must be at least 2");
			c->v6agg.threshold = v;
		} else if (name_is(k, "window")) {
			err = parse_duration(p, k, false, &c->v6agg.window);
		} else if (name_is(k, "disabled")) {
			err = parse_bool(p, k, &dis);
		} else {
			err = fail(p, k, "unknown element <%s> in <ipv6_aggregate>", k->name);
		}
	}
	c->v6agg.enabled = !dis;
	return err;
}

static int parse_command(struct pctx *p, const xmlNode *n)
{
	struct xb_config *c = p->c;
	struct xb_command cmd = { .line = xmlGetLineNo(n) }, *arr;
	bool expect_seen = false;
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
		else if (name_is(k, "expect"))
			expect_seen = true;     /* deprecated in Wazuh 4.2, ignored there too */
		else
			err = fail(p, k, "unknown element <%s> in <command>", k->name);
	}
	(void)expect_seen;
	if (!err && !cmd.name)
		err = fail(p, n, "<command> without <name>");
	if (!err && !cmd.executable)
		err = fail(p, n, "<command> %s without <executable>", cmd.name);
	for (size_t i = 0; !err && i < c->n_cmds; i++)
		if (!strcmp(c->cmds[i].name, cmd.name))
			err = fail(p, n, "command %s defined twice", cmd.name);
	if (!err && !(arr = grow(c->cmds, c->n_cmds, sizeof(*arr))))
		err = -ENOMEM;
	if (err) {
		free(cmd.name);
		free(cmd.executable);
		free(cmd.extra_args);
		return err;
	}
	c->cmds = arr;
	arr[c->n_cmds++] = cmd;
	return 0;
}

static int parse_rules_id(struct pctx *p, const xmlNode *n, struct xb_ar *ar)
{
	char *s, *tok, *save = NULL;
	int err;

	if (ar->rules_id)
		return fail(p, n, "<rules_id> given twice");
	if ((err = leaf_nonempty(p, n, &s)))
		return err;
	for (tok = strtok_r(s, ",", &save); tok && !err; tok = strtok_r(NULL, ",", &save)) {
		uint64_t v;
		uint32_t *ids;

		while (isspace((unsigned char)*tok))
			tok++;
		for (char *e = tok + strlen(tok); e > tok && isspace((unsigned char)e[-1]); )
			*--e = 0;
		if (xb_parse_u64(tok, UINT32_MAX, &v) || v == 0) {
			err = fail(p, n, "rules_id: '%s' is not a rule id", tok);
			break;
		}
		ids = realloc(ar->rules_id, (ar->n_rules_id + 1) * sizeof(*ids));
		if (!ids) {
			err = -ENOMEM;
			break;
		}
		ar->rules_id = ids;
		ids[ar->n_rules_id++] = v;
	}
	if (!err && !ar->n_rules_id)
		err = fail(p, n, "rules_id is empty");
	free(s);
	return err;
}

static int parse_repeated(struct pctx *p, const xmlNode *n, struct xb_ar *ar)
{
	char *s, *tok, *save = NULL;
	int err;

	if (ar->n_repeated)
		return fail(p, n, "<repeated_offenders> given twice");
	if ((err = leaf_nonempty(p, n, &s)))
		return err;
	for (tok = strtok_r(s, ",", &save); tok && !err; tok = strtok_r(NULL, ",", &save)) {
		uint64_t v;

		while (isspace((unsigned char)*tok))
			tok++;
		for (char *e = tok + strlen(tok); e > tok && isspace((unsigned char)e[-1]); )
			*--e = 0;
		if (ar->n_repeated == XB_MAX_REPEATED) {
			err = fail(p, n, "repeated_offenders: more than %d values", XB_MAX_REPEATED);
		} else if (!strcasecmp(tok, "permanent")) {
			ar->repeated[ar->n_repeated++] = XB_TIMEOUT_PERMANENT;
		} else if (*tok == '-') {
			err = fail(p, n, "repeated_offenders: '%s' is negative", tok);
		} else if (xb_parse_u64(tok, 1000000000ULL, &v)) {
			err = fail(p, n, "repeated_offenders: '%s' is not a number of minutes", tok);
		} else if (v == 0) {
			err = fail(p, n, "repeated_offenders: values must be greater than zero");
		} else {
			ar->repeated[ar->n_repeated++] = v * 60;
		}
	}
	if (!err && !ar->n_repeated)
		err = fail(p, n, "repeated_offenders is empty");
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
		return fail(p, n, "<location> given twice");
	if ((err = leaf_nonempty(p, n, &s)))
		return err;
	*seen = true;
	for (size_t i = 0; i < ARRAY_SIZE(locs); i++)
		if (!strcasecmp(s, locs[i].name)) {
			ar->location = locs[i].loc;
			free(s);
			return 0;
		}
	err = fail(p, n, "location '%s' is not local, server, defined-agent or all", s);
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

static int parse_ar(struct pctx *p, const xmlNode *n)
{
	struct xb_config *c = p->c;
	struct xb_ar ar = { .line = xmlGetLineNo(n), .level = -1 }, *arr;
	bool loc_seen = false, timeout_seen = false;
	uint64_t v;
	int err = no_attrs(p, n, NULL);

	FOR_EACH_CHILD(p, n, k, err) {
		if (name_is(k, "command")) {
			err = leaf_once(p, k, &ar.command);
		} else if (name_is(k, "location")) {
			err = parse_location(p, k, &ar, &loc_seen);
		} else if (name_is(k, "agent_id")) {
			err = leaf_once(p, k, &ar.agent_id);
		} else if (name_is(k, "rules_id")) {
			err = parse_rules_id(p, k, &ar);
		} else if (name_is(k, "rules_group")) {
			err = leaf_once(p, k, &ar.rules_group);
		} else if (name_is(k, "level")) {
			err = parse_uint(p, k, 20, &v);
			ar.level = v;
		} else if (name_is(k, "timeout")) {
			if (timeout_seen)
				err = fail(p, k, "<timeout> given twice");
			else
				err = parse_duration(p, k, true, &ar.timeout);
			timeout_seen = true;
		} else if (name_is(k, "repeated_offenders")) {
			err = parse_repeated(p, k, &ar);
		} else if (name_is(k, "disabled")) {
			err = parse_bool(p, k, &ar.disabled);
		} else if (name_is(k, "increment_factor")) {
			char *s, *end;

			if (!(err = leaf_nonempty(p, k, &s))) {
				ar.increment_factor = strtod(s, &end);
				if (*end || !isfinite(ar.increment_factor) ||
				    ar.increment_factor < 1.0 || ar.increment_factor > 1000.0)
					err = fail(p, k, "increment_factor '%s' is not a number from 1 to 1000", s);
				free(s);
			}
		} else if (name_is(k, "max_timeout")) {
			err = parse_duration(p, k, false, &ar.max_timeout);
		} else if (name_is(k, "random_jitter")) {
			err = parse_duration(p, k, false, &ar.random_jitter);
		} else if (name_is(k, "permanent_after")) {
			err = parse_uint(p, k, 1000000, &v);
			if (!err && v == 0)
				err = fail(p, k, "permanent_after must be at least 1");
			ar.permanent_after = v;
		} else {
			err = fail(p, k, "unknown element <%s> in <active-response>", k->name);
		}
	}
	if (!err && !ar.command)
		err = fail(p, n, "<active-response> without <command>");
	if (!err && !loc_seen)
		err = fail(p, n, "<active-response> without <location> (local or server)");
	if (!err && ar.location == XB_LOC_DEFINED_AGENT && !ar.agent_id)
		err = fail(p, n, "location defined-agent needs <agent_id>");
	if (!err && !ar.disabled && (ar.location == XB_LOC_DEFINED_AGENT || ar.location == XB_LOC_ALL))
		err = fail(p, n, "location %s needs multi-host operation, which xdpban does not "
			   "have yet; use local or server", xb_location_name(ar.location));
	if (!err && !ar.n_rules_id && ar.level < 0 && !ar.rules_group)
		err = fail(p, n, "<active-response> needs rules_id, rules_group or level");
	if (!err && ar.increment_factor > 0 && ar.n_repeated)
		err = fail(p, n, "use either repeated_offenders or increment_factor, not both");
	if (!err && !timeout_seen)
		ar.timeout = XB_TIMEOUT_PERMANENT;   /* Wazuh: no timeout, never undone */
	if (!err && !(arr = grow(c->ars, c->n_ars, sizeof(*arr))))
		err = -ENOMEM;
	if (err) {
		ar_free(&ar);
		return err;
	}
	c->ars = arr;
	arr[c->n_ars++] = ar;
	return 0;
}

static int parse_root(struct pctx *p, const xmlNode *root)
{
	struct xb_config *c = p->c;
	uint64_t v;
	int err = 0;

	if (!name_is(root, "xdpban") && !name_is(root, "ossec_config"))
		return fail(p, root, "root element is <%s>, expected <xdpban> or <ossec_config>",
			    root->name);
	FOR_EACH_CHILD(p, root, k, err) {
		if (name_is(k, "interface"))
			err = parse_interface(p, k);
		else if (name_is(k, "source"))
			err = parse_source(p, k);
		else if (name_is(k, "rules_dir")) {
			char *s = NULL;

			if (!(err = leaf_nonempty(p, k, &s))) {
				free(c->rules_dir);
				c->rules_dir = s;
			}
		} else if (name_is(k, "local_rules")) {
			err = leaf_once(p, k, &c->local_rules);
		} else if (name_is(k, "white_list"))
			err = parse_white_list(p, k);
		else if (name_is(k, "global"))
			err = parse_global(p, k);
		else if (name_is(k, "state_dir") || name_is(k, "control_socket")) {
			char *s = NULL, **slot = name_is(k, "state_dir") ? &c->state_dir : &c->ctl_socket;

			if (!(err = leaf_nonempty(p, k, &s))) {
				if (*s != '/') {
					err = fail(p, k, "<%s> needs an absolute path", k->name);
					free(s);
				} else {
					free(*slot);
					*slot = s;
				}
			}
		} else if (name_is(k, "offender_memory"))
			err = parse_duration(p, k, false, &c->offender_memory);
		else if (name_is(k, "ipv6_aggregate"))
			err = parse_v6agg(p, k);
		else if (name_is(k, "command"))
			err = parse_command(p, k);
		else if (name_is(k, "active-response"))
			err = parse_ar(p, k);
		else
			err = fail(p, k, "unknown element <%s>", k->name);
	}
	(void)v;
	return err;
}

/* Built-in commands stand for the XDP ban whatever <command> block says. */
static bool is_builtin(const char *name)
{
	return !strcmp(name, "firewall-drop") || !strcmp(name, "xdp-drop");
}

static int resolve(struct pctx *p, const xmlNode *root)
{
	struct xb_config *c = p->c;
	static struct xb_command builtin[2] = {
		{ .name = "firewall-drop", .executable = "firewall-drop",
		  .timeout_allowed = true, .builtin_drop = true },
		{ .name = "xdp-drop", .executable = "xdp-drop",
		  .timeout_allowed = true, .builtin_drop = true },
	};

	for (size_t i = 0; i < c->n_cmds; i++)
		c->cmds[i].builtin_drop = is_builtin(c->cmds[i].name);
	for (size_t i = 0; i < c->n_ars; i++) {
		struct xb_ar *ar = &c->ars[i];

		ar->cmd = NULL;
		for (size_t j = 0; j < c->n_cmds; j++)
			if (!strcmp(c->cmds[j].name, ar->command))
				ar->cmd = &c->cmds[j];
		if (!ar->cmd)
			for (size_t j = 0; j < ARRAY_SIZE(builtin); j++)
				if (!strcmp(builtin[j].name, ar->command))
					ar->cmd = &builtin[j];
		if (!ar->cmd) {
			char msg[64];

			snprintf(msg, sizeof(msg), "%s", ar->command);
			if (p->err && p->errlen)
				snprintf(p->err, p->errlen, "%s:%d: active-response uses command '%s', "
					 "which is neither built in (firewall-drop, xdp-drop) nor "
					 "defined in a <command> block", p->name, ar->line, msg);
			return -EINVAL;
		}
		if (!ar->cmd->builtin_drop && !ar->disabled) {
			if (p->err && p->errlen)
				snprintf(p->err, p->errlen, "%s:%d: command '%s' runs an external "
					 "script; xdpban only performs the built-in firewall-drop "
					 "(xdp-drop); set <disabled>yes</disabled> to keep the block",
					 p->name, ar->line, ar->command);
			return -EINVAL;
		}
		/* Wazuh honours timeout only when the command allows it. */
		if (!ar->cmd->timeout_allowed)
			ar->timeout = XB_TIMEOUT_PERMANENT;
	}
	(void)root;
	return 0;
}

static int set_defaults(struct xb_config *c)
{
	if (!c->state_dir && !(c->state_dir = strdup(XB_STATE_DIR_DEFAULT)))
		return -ENOMEM;
	if (!c->ctl_socket && !(c->ctl_socket = strdup(XB_SOCKET_DEFAULT)))
		return -ENOMEM;
	if (!c->offender_memory)
		c->offender_memory = 7 * 86400;
	if (!c->v6agg.prefix_len)
		c->v6agg.prefix_len = 64;
	if (!c->v6agg.threshold)
		c->v6agg.threshold = 3;
	if (!c->v6agg.window)
		c->v6agg.window = 3600;
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

static void quiet_errors(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

static void quiet_structured(void *ctx, xmlErrorPtr e)
{
	(void)ctx;
	(void)e;
}

int xb_config_parse(const char *buf, size_t len, const char *name,
		    struct xb_config **out, char *err, size_t errlen)
{
	struct pctx p = { .name = name ? name : "(config)", .err = err, .errlen = errlen };
	xmlParserCtxtPtr ctxt;
	xmlDocPtr doc;
	xmlNodePtr root;
	int ret;

	if (err && errlen)
		*err = 0;
	if (len > INT_MAX)
		return fail(&p, NULL, "file too large");
	/* libxml2 prints to stderr by default; we report the first error ourselves. */
	xmlSetGenericErrorFunc(NULL, quiet_errors);
	xmlSetStructuredErrorFunc(NULL, quiet_structured);
	ctxt = xmlNewParserCtxt();
	if (!ctxt)
		return -ENOMEM;
	/* NONET: no fetching; no NOENT/DTDLOAD: entities are never substituted. */
	doc = xmlCtxtReadMemory(ctxt, buf, (int)len, p.name, NULL,
				XML_PARSE_NONET | XML_PARSE_NOCDATA);
	if (!doc) {
		xmlErrorPtr xe = xmlCtxtGetLastError(ctxt);
		char msg[160] = "not well-formed XML";

		if (xe && xe->message) {
			snprintf(msg, sizeof(msg), "%s", xe->message);
			msg[strcspn(msg, "\n")] = 0;
		}
		if (err && errlen)
			snprintf(err, errlen, "%s:%d: %s", p.name, xe ? xe->line : 0, msg);
		xmlFreeParserCtxt(ctxt);
		return -EINVAL;
	}
	xmlFreeParserCtxt(ctxt);
	ret = 0;
	if (doc->intSubset || doc->extSubset) {
		ret = fail(&p, (xmlNodePtr)doc->intSubset, "a DOCTYPE is not allowed in the config");
		goto out_doc;
	}
	root = xmlDocGetRootElement(doc);
	if (!root) {
		ret = fail(&p, NULL, "empty document");
		goto out_doc;
	}
	p.c = config_new();
	if (!p.c) {
		ret = -ENOMEM;
		goto out_doc;
	}
	ret = parse_root(&p, root);
	if (!ret)
		ret = resolve(&p, root);
	if (!ret)
		ret = set_defaults(p.c);
	if (!ret && !(p.c->path = strdup(p.name)))
		ret = -ENOMEM;
	if (ret) {
		if (ret == -ENOMEM && err && errlen)
			snprintf(err, errlen, "%s: out of memory", p.name);
		xb_config_free(p.c);
	} else {
		*out = p.c;
	}
out_doc:
	xmlFreeDoc(doc);
	return ret;
}

int xb_config_load(const char *path, struct xb_config **out, char *err, size_t errlen)
{
	FILE *f;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int ret;

	path = xb_config_path(path);
	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	for (;;) {
		size_t n;

		if (cap - len < 4096) {
			char *nb;

			if (cap > (16u << 20)) {
				ret = -EFBIG;
				if (err && errlen)
					snprintf(err, errlen, "%s: larger than 16 MiB", path);
				goto out;
			}
			nb = realloc(buf, cap + 65536);
			if (!nb) {
				ret = -ENOMEM;
				goto out;
			}
			buf = nb;
			cap += 65536;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		ret = -EIO;
		if (err && errlen)
			snprintf(err, errlen, "%s: read error", path);
		goto out;
	}
	ret = xb_config_parse(buf, len, path, out, err, errlen);
out:
	free(buf);
	fclose(f);
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
	for (size_t i = 0; i < c->n_cmds; i++) {
		free(c->cmds[i].name);
		free(c->cmds[i].executable);
		free(c->cmds[i].extra_args);
	}
	free(c->cmds);
	for (size_t i = 0; i < c->n_ars; i++)
		ar_free(&c->ars[i]);
	free(c->ars);
	free(c);
}
