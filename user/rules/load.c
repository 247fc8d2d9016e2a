// SPDX-License-Identifier: GPL-2.0
/*
 * rules: load Wazuh-syntax rule XML (libxml2, no network, no entities, no
 * DTD), link the if_sid tree, and match events against it. Correlation
 * state lives in rules_corr.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "rules/internal.h"
#include "common/util.h"

#define MAX_RULE_FILE (16u << 20)

static int fail(struct load_ctx *lc, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct load_ctx *lc, int line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (lc->err && lc->errlen)
		snprintf(lc->err, lc->errlen, "%s:%d: %s", lc->file, line, msg);
	return -EINVAL;
}

/* --- OS_Match -------------------------------------------------------------- */

static void osm_free(struct osmatch *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->alts[i].pat);
	free(m->alts);
	m->alts = NULL;
	m->n = 0;
}

/* "^Failed|error: PAM$" -> alternatives, lowercased (matching is caseless). */
static int osm_compile(struct osmatch *m, const char *text)
{
	const char *p = text;

	osm_free(m);
	for (;;) {
		const char *e = strchr(p, '|');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		struct osm_alt a = { 0 };
		struct osm_alt *na;

		if (n && p[0] == '^') {
			a.start = true;
			p++;
			n--;
		}
		if (n && p[n - 1] == '$') {
			a.end = true;
			n--;
		}
		if (n == 0 && !a.start && !a.end)
			return -EINVAL;
		a.pat = malloc(n + 1);
		if (!a.pat)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++)
			a.pat[i] = (char)xb_lower((unsigned char)p[i]);
		a.pat[n] = '\0';
		a.len = n;
		na = realloc(m->alts, (m->n + 1) * sizeof(*na));
		if (!na) {
			free(a.pat);
			return -ENOMEM;
		}
		m->alts = na;
		m->alts[m->n++] = a;
		if (!e)
			return 0;
		p = e + 1;
	}
}

/*
 * Substring search for short needles in short lines: memchr on the first
 * byte, then compare. Cheaper than memmem's set-up for the ~100-byte
 * messages and ~20-byte patterns rules see (measured: memmem was a third
 * of the whole pipeline).
 */
static bool find_lower(const char *s, size_t n, const char *pat, size_t len)
{
	const char *p = s, *end = s + n - len + 1;     /* caller: len <= n */

	if (len == 0)
		return true;
	while (p < end && (p = memchr(p, pat[0], (size_t)(end - p)))) {
		if (memcmp(p + 1, pat + 1, len - 1) == 0)
			return true;
		p++;
	}
	return false;
}

bool xb_osm_match(const struct osmatch *m, const char *s, size_t n)
{
	for (size_t i = 0; i < m->n; i++) {
		const struct osm_alt *a = &m->alts[i];

		if (a->len > n)
			continue;
		if (a->start && a->end) {
			if (a->len == n && memcmp(s, a->pat, n) == 0)
				return true;
		} else if (a->start) {
			if (memcmp(s, a->pat, a->len) == 0)
				return true;
		} else if (a->end) {
			if (memcmp(s + n - a->len, a->pat, a->len) == 0)
				return true;
		} else if (find_lower(s, n, a->pat, a->len)) {
			return true;
		}
	}
	return false;
}

/* --- OS_Regex -> PCRE2 -------------------------------------------------------- */

static int append(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t n = strlen(s);

	if (*len + n + 1 > *cap) {
		size_t nc = (*cap + n + 1) * 2;
		char *nb = realloc(*buf, nc);

		if (!nb)
			return -ENOMEM;
		*buf = nb;
		*cap = nc;
	}
	memcpy(*buf + *len, s, n + 1);
	*len += n;
	return 0;
}

/*
 * OS_Regex: escapes \w \W \d \D \s \S \p \t \. and escaped specials; + and *
 * apply to the escape before them; ^ $ | ( ) keep their meaning; every other
 * character is literal (so '.', '?', '[' are escaped for PCRE2).
 */
static int osregex_to_pcre2(const char *in, char **out)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int err = 0;

	err = append(&buf, &len, &cap, "");
	for (const char *p = in; *p && !err; p++) {
		char tmp[3] = { 0 };

		if (*p == '\\') {
			p++;
			switch (*p) {
			case 'w': err = append(&buf, &len, &cap, "[A-Za-z0-9@_\\-]"); break;
			case 'W': err = append(&buf, &len, &cap, "[^A-Za-z0-9@_\\-]"); break;
			case 'd': err = append(&buf, &len, &cap, "[0-9]"); break;
			case 'D': err = append(&buf, &len, &cap, "[^0-9]"); break;
			case 's': err = append(&buf, &len, &cap, " "); break;
			case 'S': err = append(&buf, &len, &cap, "[^ ]"); break;
			case 't': err = append(&buf, &len, &cap, "\\t"); break;
			case '.': err = append(&buf, &len, &cap, "."); break;
			case 'p': err = append(&buf, &len, &cap, "[()*+,\\-.:;<=>?\\[\\]!\"'#$%&|{}]"); break;
			case '$': case '(': case ')': case '\\': case '|': case '^': case '+': case '*':
				tmp[0] = '\\';
				tmp[1] = *p;
				err = append(&buf, &len, &cap, tmp);
				break;
			default:
				err = -EINVAL;
			}
			if (!err && (p[1] == '+' || p[1] == '*')) {
				tmp[0] = *++p;
				tmp[1] = 0;
				err = append(&buf, &len, &cap, tmp);
			}
			continue;
		}
		switch (*p) {
		case '^': case '$': case '|': case '(': case ')':
			tmp[0] = *p;
			break;
		case '.': case '?': case '[': case ']': case '{': case '}': case '+': case '*':
			tmp[0] = '\\';
			tmp[1] = *p;
			break;
		default:
			tmp[0] = *p;
		}
		err = append(&buf, &len, &cap, tmp);
	}
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	return 0;
}

static int regex_compile(struct load_ctx *lc, int line, struct rule *r, const char *text, bool pcre)
{
	char *pat = NULL;
	int errcode, err;
	PCRE2_SIZE erroff;
	uint32_t flags = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;

	if (!pcre) {
		err = osregex_to_pcre2(text, &pat);
		if (err == -ENOMEM)
			return err;
		if (err)
			return fail(lc, line, "<regex>: unsupported OS_Regex escape in '%s'", text);
		flags |= PCRE2_CASELESS;        /* OS_Regex compares caselessly */
	}
	r->regex = pcre2_compile((PCRE2_SPTR)(pat ? pat : text), PCRE2_ZERO_TERMINATED, flags,
				 &errcode, &erroff, NULL);
	free(pat);
	if (!r->regex) {
		PCRE2_UCHAR msg[128];

		pcre2_get_error_message(errcode, msg, sizeof(msg));
		return fail(lc, line, "<regex>: %s at offset %zu", (char *)msg, (size_t)erroff);
	}
	pcre2_jit_compile(r->regex, PCRE2_JIT_COMPLETE);   /* interpreter if no JIT */
	return 0;
}

/* --- XML ------------------------------------------------------------------- */

static void rule_clear(struct rule *r)
{
	osm_free(&r->match);
	osm_free(&r->program_name);
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

static int parse_sid_list(struct load_ctx *lc, int line, const char *text,
			  uint32_t **ids, size_t *n)
{
	char *dup = strdup(text), *save = NULL, *tok;
	int err = 0;

	if (!dup)
		return -ENOMEM;
	for (tok = strtok_r(dup, ", \t\n", &save); tok; tok = strtok_r(NULL, ", \t\n", &save)) {
		uint32_t id = 0, *nid;

		if (parse_uint(tok, 999999999, &id) < 0 || id == 0) {
			err = fail(lc, line, "bad rule id '%s'", tok);
			break;
		}
		nid = realloc(*ids, (*n + 1) * sizeof(*nid));
		if (!nid) {
			err = -ENOMEM;
			break;
		}
		*ids = nid;
		(*ids)[(*n)++] = id;
	}
	free(dup);
	if (!err && *n == 0)
		err = fail(lc, line, "empty rule id list");
	return err;
}

static char *node_text(xmlNode *n)
{
	xmlChar *c = xmlNodeGetContent(n);
	char *s;
	size_t b = 0, e;

	if (!c)
		return strdup("");
	e = strlen((char *)c);
	while (b < e && strchr(" \t\r\n", c[b]))
		b++;
	while (e > b && strchr(" \t\r\n", c[e - 1]))
		e--;
	s = strndup((char *)c + b, e - b);
	xmlFree(c);
	return s;
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

static int parse_rule_attrs(struct load_ctx *lc, xmlNode *node, struct rule *r, bool *overwrite)
{
	int line = xmlGetLineNo(node);
	bool have_id = false, have_level = false;

	for (xmlAttr *a = node->properties; a; a = a->next) {
		const char *name = (const char *)a->name;
		xmlChar *v = xmlNodeListGetString(node->doc, a->children, 1);
		const char *val = v ? (const char *)v : "";
		uint32_t u = 0;
		int err = 0;

		if (!strcmp(name, "id")) {
			err = parse_uint(val, 999999999, &r->id) || r->id == 0 ? -1 : 0;
			have_id = true;
		} else if (!strcmp(name, "level")) {
			err = parse_uint(val, 16, &u);
			r->level = (uint8_t)u;
			have_level = true;
		} else if (!strcmp(name, "frequency")) {
			/* the correlator keeps `frequency` timestamps per entry: bounded */
			err = parse_uint(val, 256, &r->frequency) || r->frequency < 2 ? -1 : 0;
		} else if (!strcmp(name, "timeframe")) {
			err = parse_uint(val, 999999, &r->timeframe) || r->timeframe == 0 ? -1 : 0;
		} else if (!strcmp(name, "ignore")) {
			err = parse_uint(val, 999999, &r->ignore);
		} else if (!strcmp(name, "overwrite")) {
			if (!strcmp(val, "yes"))
				*overwrite = true;
			else if (strcmp(val, "no"))
				err = -1;
		} else if (!strcmp(name, "noalert")) {
			if (!strcmp(val, "1") || !strcmp(val, "yes"))
				r->noalert = true;
			else if (strcmp(val, "0") && strcmp(val, "no"))
				err = -1;
		} else {
			xmlFree(v);
			return fail(lc, line, "<rule>: unknown attribute '%s'", name);
		}
		if (err) {
			int rc = fail(lc, line, "<rule>: bad %s=\"%s\"", name, val);

			xmlFree(v);
			return rc;
		}
		xmlFree(v);
	}
	if (!have_id)
		return fail(lc, line, "<rule> without id");
	if (!have_level)
		return fail(lc, line, "rule %u: no level", r->id);
	return 0;
}

static int parse_rule(struct load_ctx *lc, xmlNode *node, const char *outer_groups, struct rule *r,
		      bool *overwrite)
{
	int line = xmlGetLineNo(node), err;

	r->line = line;
	r->file = strdup(lc->file);
	if (!r->file)
		return -ENOMEM;
	if ((err = parse_rule_attrs(lc, node, r, overwrite)))
		return err;
	if (outer_groups && (err = str_append(&r->groups, outer_groups)))
		return err;

	for (xmlNode *c = node->children; c; c = c->next) {
		const char *name = (const char *)c->name;
		int cl = xmlGetLineNo(c);
		char *text;

		if (c->type == XML_COMMENT_NODE || c->type == XML_TEXT_NODE) {
			if (c->type == XML_TEXT_NODE && !xmlIsBlankNode(c))
				return fail(lc, cl, "rule %u: stray text", r->id);
			continue;
		}
		if (c->type != XML_ELEMENT_NODE)
			return fail(lc, cl, "rule %u: unexpected XML node", r->id);
		if (!strcmp(name, "mitre") || !strcmp(name, "info"))
			continue;       /* documentation only */
		/* of the rule's elements only <regex> takes an attribute (type) */
		if (c->properties && strcmp(name, "regex"))
			return fail(lc, cl, "<%s>: unexpected attribute", name);
		text = node_text(c);
		if (!text)
			return -ENOMEM;
		err = 0;
		if (!strcmp(name, "if_sid")) {
			err = parse_sid_list(lc, cl, text, &r->if_sid, &r->n_if_sid);
		} else if (!strcmp(name, "if_matched_sid")) {
			uint32_t *ids = NULL;
			size_t n = 0;

			err = parse_sid_list(lc, cl, text, &ids, &n);
			if (!err && n != 1)
				err = fail(lc, cl, "<if_matched_sid> takes one rule id");
			if (!err)
				r->if_matched_sid = ids[0];
			free(ids);
		} else if (!strcmp(name, "same_source_ip") || !strcmp(name, "same_srcip")) {
			r->same_source_ip = true;
		} else if (!strcmp(name, "decoded_as")) {
			free(r->decoded_as);
			r->decoded_as = strdup(text);
			err = r->decoded_as ? 0 : -ENOMEM;
		} else if (!strcmp(name, "program_name")) {
			if (r->program_name.n)
				err = fail(lc, cl, "rule %u: second <program_name>", r->id);
			else if ((err = osm_compile(&r->program_name, text)) == -EINVAL)
				err = fail(lc, cl, "rule %u: empty alternative in <program_name>", r->id);
		} else if (!strcmp(name, "match")) {
			if (r->match.n)
				err = fail(lc, cl, "rule %u: second <match>", r->id);
			else if ((err = osm_compile(&r->match, text)) == -EINVAL)
				err = fail(lc, cl, "rule %u: empty alternative in <match>", r->id);
		} else if (!strcmp(name, "regex")) {
			xmlChar *type = xmlGetProp(c, (const xmlChar *)"type");
			bool pcre = false;

			for (xmlAttr *a = c->properties; a && !err; a = a->next)
				if (strcmp((const char *)a->name, "type"))
					err = fail(lc, cl, "<regex>: unknown attribute '%s'", a->name);
			if (!err && type && !strcmp((char *)type, "pcre2"))
				pcre = true;
			else if (!err && type && strcmp((char *)type, "osregex"))
				err = fail(lc, cl, "<regex>: unknown type '%s'", type);
			xmlFree(type);
			if (!err && r->regex)
				err = fail(lc, cl, "rule %u: second <regex>", r->id);
			if (!err)
				err = regex_compile(lc, cl, r, text, pcre);
		} else if (!strcmp(name, "description")) {
			free(r->description);
			r->description = strdup(text);
			err = r->description ? 0 : -ENOMEM;
		} else if (!strcmp(name, "group")) {
			err = str_append(&r->groups, text);
		} else if (!strcmp(name, "options")) {
			if (strcmp(text, "no_full_log") && strcmp(text, "alert_by_email") &&
			    strcmp(text, "no_email_alert") && strcmp(text, "no_log") &&
			    strcmp(text, "no_counter"))
				err = fail(lc, cl, "rule %u: unknown option '%s'", r->id, text);
		} else {
			err = fail(lc, cl, "rule %u: unknown element <%s>", r->id, name);
		}
		free(text);
		if (err)
			return err;
	}
	if (r->frequency && !r->if_matched_sid)
		return fail(lc, line, "rule %u: frequency needs <if_matched_sid>", r->id);
	if (r->if_matched_sid && !r->frequency)
		r->frequency = 1;       /* a plain "seen before": fires on each */
	if (r->frequency && !r->timeframe)
		r->timeframe = 360;     /* Wazuh's default */
	if (!r->description) {
		r->description = strdup("");
		if (!r->description)
			return -ENOMEM;
	}
	if (!r->groups && !(r->groups = strdup("")))
		return -ENOMEM;
	return 0;
}

static struct rule *find_rule(struct xb_ruleset *rs, uint32_t id, size_t *idx)
{
	for (size_t i = 0; i < rs->n; i++)
		if (rs->r[i].id == id) {
			if (idx)
				*idx = i;
			return &rs->r[i];
		}
	return NULL;
}

static int add_rule(struct load_ctx *lc, struct xb_ruleset *rs, xmlNode *node, const char *groups)
{
	struct rule r = { 0 }, *old;
	bool overwrite = false;
	int err = parse_rule(lc, node, groups, &r, &overwrite);

	if (err) {
		rule_clear(&r);
		return err;
	}
	old = find_rule(rs, r.id, NULL);
	if (old) {
		if (!overwrite) {
			err = fail(lc, r.line, "rule %u already defined at %s:%d (use overwrite=\"yes\")",
				   r.id, old->file, old->line);
			rule_clear(&r);
			return err;
		}
		rule_clear(old);        /* same place in the order, new definition */
		*old = r;
		return 0;
	}
	if (overwrite) {
		err = fail(lc, r.line, "rule %u: overwrite=\"yes\" but no such rule", r.id);
		rule_clear(&r);
		return err;
	}
	if (rs->n == rs->cap) {
		size_t nc = rs->cap ? rs->cap * 2 : 64;
		struct rule *nr = realloc(rs->r, nc * sizeof(*nr));

		if (!nr) {
			rule_clear(&r);
			return -ENOMEM;
		}
		rs->r = nr;
		rs->cap = nc;
	}
	rs->r[rs->n++] = r;
	return 0;
}

static int load_doc(struct load_ctx *lc, struct xb_ruleset *rs, const char *xml, size_t len)
{
	static const char open_tag[] = "<xdpban-rules>", close_tag[] = "</xdpban-rules>";
	size_t ol = sizeof(open_tag) - 1, cl = sizeof(close_tag) - 1;
	char *buf;
	xmlParserCtxtPtr ctxt;
	xmlDoc *doc;
	int err = 0;

	if (len >= 3 && !memcmp(xml, "\xef\xbb\xbf", 3)) {     /* UTF-8 BOM */
		xml += 3;
		len -= 3;
	}
	/* Wazuh rule files hold several top-level <group>s: wrap them in one
	 * root on the same line so line numbers stay right. An XML declaration
	 * is blanked (it must come first). */
	buf = malloc(ol + len + cl + 1);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, open_tag, ol);
	memcpy(buf + ol, xml, len);
	memcpy(buf + ol + len, close_tag, cl + 1);
	{
		char *p = buf + ol;

		while (p < buf + ol + len && strchr(" \t\r\n", *p))
			p++;
		if (!strncmp(p, "<?xml", 5)) {
			char *e = strstr(p, "?>");

			if (e)
				for (; p < e + 2; p++)
					if (*p != '\n')
						*p = ' ';
		}
	}
	ctxt = xmlNewParserCtxt();
	if (!ctxt) {
		free(buf);
		return -ENOMEM;
	}
	/* No XML_PARSE_NOENT (entities stay unexpanded), no DTD loading, no net. */
	doc = xmlCtxtReadMemory(ctxt, buf, (int)(ol + len + cl), lc->file, NULL,
				XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	free(buf);
	if (!doc) {
		const xmlError *e = xmlCtxtGetLastError(ctxt);
		char msg[160];

		snprintf(msg, sizeof(msg), "%s", e && e->message ? e->message : "XML error");
		msg[strcspn(msg, "\n")] = '\0';
		err = fail(lc, e ? e->line : 0, "%s", msg);
		xmlFreeParserCtxt(ctxt);
		return err;
	}
	for (xmlNode *g = xmlDocGetRootElement(doc)->children; g && !err; g = g->next) {
		if (g->type == XML_COMMENT_NODE || (g->type == XML_TEXT_NODE && xmlIsBlankNode(g)))
			continue;
		if (g->type == XML_ENTITY_REF_NODE || g->type == XML_DTD_NODE) {
			err = fail(lc, xmlGetLineNo(g), "entities and DTDs are not allowed");
			break;
		}
		if (g->type != XML_ELEMENT_NODE || strcmp((const char *)g->name, "group")) {
			err = fail(lc, xmlGetLineNo(g), "expected <group>, found <%s>",
				   g->name ? (const char *)g->name : "text");
			break;
		}
		xmlChar *gname = xmlGetProp(g, (const xmlChar *)"name");

		for (xmlAttr *a = g->properties; a && !err; a = a->next)
			if (strcmp((const char *)a->name, "name"))
				err = fail(lc, xmlGetLineNo(g), "<group>: unknown attribute '%s'", a->name);
		for (xmlNode *c = g->children; c && !err; c = c->next) {
			if (c->type == XML_COMMENT_NODE || (c->type == XML_TEXT_NODE && xmlIsBlankNode(c)))
				continue;
			if (c->type != XML_ELEMENT_NODE || strcmp((const char *)c->name, "rule")) {
				err = fail(lc, xmlGetLineNo(c), "expected <rule>, found <%s>",
					   c->type == XML_ELEMENT_NODE ? (const char *)c->name : "text or entity");
				break;
			}
			err = add_rule(lc, rs, c, (const char *)gname);
		}
		xmlFree(gname);
	}
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	return err;
}

static int read_file(const char *path, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;
	struct stat st;
	char *buf;
	size_t got = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		err = -errno;
	else if (!S_ISREG(st.st_mode))
		err = -EINVAL;
	else if ((size_t)st.st_size > MAX_RULE_FILE)
		err = -EFBIG;
	if (err) {
		close(fd);
		return err;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			err = r < 0 ? -errno : 0;
			break;
		}
		got += (size_t)r;
	}
	close(fd);
	if (err) {
		free(buf);
		return err;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return 0;
}

static int load_file(struct load_ctx *lc, struct xb_ruleset *rs, const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	int err = read_file(path, &buf, &len);

	lc->file = path;
	if (err) {
		if (lc->err)
			snprintf(lc->err, lc->errlen, "%s: %s", path, strerror(-err));
		return err;
	}
	err = load_doc(lc, rs, buf, len);
	free(buf);
	return err;
}

/* --- linking ---------------------------------------------------------------- */

static int push_idx(uint32_t **arr, size_t *n, uint32_t v)
{
	uint32_t *na = realloc(*arr, (*n + 1) * sizeof(*na));

	if (!na)
		return -ENOMEM;
	*arr = na;
	(*arr)[(*n)++] = v;
	return 0;
}

/* Depth-first walk: a child reachable from itself would loop forever. */
static int check_cycles(struct load_ctx *lc, struct xb_ruleset *rs, size_t i, uint8_t *state)
{
	int err;

	if (state[i] == 1) {
		lc->file = rs->r[i].file;
		return fail(lc, rs->r[i].line, "rule %u: if_sid loop", rs->r[i].id);
	}
	if (state[i] == 2)
		return 0;
	state[i] = 1;
	for (size_t k = 0; k < rs->r[i].n_children; k++)
		if ((err = check_cycles(lc, rs, rs->r[i].children[k], state)))
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

static int link_rules(struct load_ctx *lc, struct xb_ruleset *rs)
{
	uint8_t *state;
	int err = 0;

	for (size_t i = 0; i < rs->n && !err; i++) {
		struct rule *r = &rs->r[i];
		size_t pi;

		lc->file = r->file;
		if (!r->n_if_sid && !r->if_matched_sid) {
			err = push_idx(&rs->roots, &rs->n_roots, (uint32_t)i);
			continue;
		}
		for (size_t k = 0; k < r->n_if_sid && !err; k++) {
			if (!find_rule(rs, r->if_sid[k], &pi))
				err = fail(lc, r->line, "rule %u: if_sid %u: no such rule", r->id, r->if_sid[k]);
			else
				err = push_idx(&rs->r[pi].children, &rs->r[pi].n_children, (uint32_t)i);
		}
		if (r->if_matched_sid && !err) {
			if (!find_rule(rs, r->if_matched_sid, &pi)) {
				err = fail(lc, r->line, "rule %u: if_matched_sid %u: no such rule", r->id,
					   r->if_matched_sid);
				break;
			}
			err = push_idx(&rs->r[pi].counters, &rs->r[pi].n_counters, (uint32_t)i);
			/* Wazuh: if_matched_sid X also makes the rule X's child */
			bool dup = false;

			for (size_t k = 0; k < r->n_if_sid; k++)
				dup |= r->if_sid[k] == r->if_matched_sid;
			if (!err && !dup)
				err = push_idx(&rs->r[pi].children, &rs->r[pi].n_children, (uint32_t)i);
		}
		if (r->frequency > rs->max_freq)
			rs->max_freq = r->frequency;
	}
	if (err)
		return err;
	sort_by_level(rs, rs->roots, rs->n_roots);
	for (size_t i = 0; i < rs->n; i++)
		sort_by_level(rs, rs->r[i].children, rs->r[i].n_children);
	state = calloc(rs->n ? rs->n : 1, 1);
	if (!state)
		return -ENOMEM;
	for (size_t i = 0; i < rs->n && !err; i++)
		err = check_cycles(lc, rs, i, state);
	free(state);
	if (!err && rs->n && !rs->n_roots) {
		lc->file = rs->r[0].file;
		err = fail(lc, rs->r[0].line, "no root rule (every rule has a parent)");
	}
	return err;
}

static struct xb_ruleset *ruleset_new(void)
{
	struct xb_ruleset *rs = calloc(1, sizeof(*rs));

	if (!rs)
		return NULL;
	rs->md = pcre2_match_data_create(16, NULL);
	if (!rs->md) {
		free(rs);
		return NULL;
	}
	return rs;
}

static int finish(struct load_ctx *lc, struct xb_ruleset *rs, int err, struct xb_ruleset **out)
{
	if (!err)
		err = link_rules(lc, rs);
	if (err) {
		if (err == -ENOMEM && lc->err)
			snprintf(lc->err, lc->errlen, "out of memory");
		xb_ruleset_free(rs);
		return err;
	}
	*out = rs;
	return 0;
}

static int xml_filter(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 4 && !strcmp(d->d_name + n - 4, ".xml");
}

int xb_ruleset_load(const char *rules_dir, const char *local_rules_file,
		    struct xb_ruleset **out, char *err, size_t errlen)
{
	struct load_ctx lc = { .err = err, .errlen = errlen, .file = "" };
	struct xb_ruleset *rs = ruleset_new();
	int rc = 0;

	if (err && errlen)
		err[0] = '\0';
	if (!rs)
		return -ENOMEM;
	if (rules_dir) {
		struct dirent **list;
		int n = scandir(rules_dir, &list, xml_filter, alphasort);

		if (n < 0) {
			rc = -errno;
			if (err)
				snprintf(err, errlen, "%s: %s", rules_dir, strerror(-rc));
			xb_ruleset_free(rs);
			return rc;
		}
		for (int i = 0; i < n; i++) {
			char path[4096];

			if (!rc) {
				snprintf(path, sizeof(path), "%s/%s", rules_dir, list[i]->d_name);
				rc = load_file(&lc, rs, path);
			}
			free(list[i]);
		}
		free(list);
	}
	if (!rc && local_rules_file)
		rc = load_file(&lc, rs, local_rules_file);
	/* lc.file may point at a stack path: errors after this use rule->file */
	lc.file = "";
	return finish(&lc, rs, rc, out);
}

int xb_ruleset_load_mem(const char *name, const char *xml, size_t len,
			struct xb_ruleset **out, char *err, size_t errlen)
{
	struct load_ctx lc = { .err = err, .errlen = errlen, .file = name };
	struct xb_ruleset *rs = ruleset_new();

	if (err && errlen)
		err[0] = '\0';
	if (!rs)
		return -ENOMEM;
	return finish(&lc, rs, load_doc(&lc, rs, xml, len), out);
}

void xb_ruleset_free(struct xb_ruleset *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->n; i++)
		rule_clear(&rs->r[i]);
	free(rs->r);
	free(rs->roots);
	pcre2_match_data_free(rs->md);
	free(rs);
}

size_t xb_ruleset_count(const struct xb_ruleset *rs)
{
	return rs->n;
}

static void fill_info(const struct rule *r, struct xb_rule_info *info)
{
	info->id = r->id;
	info->level = r->level;
	info->noalert = r->noalert;
	info->frequency = r->if_matched_sid ? r->frequency : 0;
	info->timeframe = r->timeframe;
	info->ignore = r->ignore;
	info->same_source_ip = r->same_source_ip;
	info->if_matched_sid = r->if_matched_sid;
	info->description = r->description;
	info->groups = r->groups;
	info->file = r->file;
	info->line = r->line;
}

int xb_rule_find(const struct xb_ruleset *rs, uint32_t id, struct xb_rule_info *info)
{
	for (size_t i = 0; i < rs->n; i++)
		if (rs->r[i].id == id) {
			if (info)
				fill_info(&rs->r[i], info);
			return 0;
		}
	return -ENOENT;
}

int xb_rule_foreach(const struct xb_ruleset *rs,
		    int (*cb)(const struct xb_rule_info *info, void *ctx), void *ctx)
{
	for (size_t i = 0; i < rs->n; i++) {
		struct xb_rule_info info;
		int err;

		fill_info(&rs->r[i], &info);
		if ((err = cb(&info, ctx)) < 0)
			return err;
	}
	return 0;
}

/* --- matching ----------------------------------------------------------------- */

struct eval_ctx {
	const struct xb_ruleset *rs;
	struct xb_correlator *corr;
	const struct xb_event *ev;
	const char *lmsg;       /* lowercased message */
	size_t llen;
	char lprog[32];
	size_t lproglen;
	int64_t now;
};

static bool conditions(struct eval_ctx *x, const struct rule *r)
{
	if (r->decoded_as && (!x->ev->decoder || strcmp(r->decoded_as, x->ev->decoder)))
		return false;
	if (r->program_name.n && !xb_osm_match(&r->program_name, x->lprog, x->lproglen))
		return false;
	if (r->match.n && !xb_osm_match(&r->match, x->lmsg, x->llen))
		return false;
	if (r->regex && pcre2_match(r->regex, (PCRE2_SPTR)x->ev->msg, x->ev->msg_len, 0, 0,
				    x->rs->md, NULL) < 0)
		return false;
	return true;
}

/* Deepest matching rule under index i, or -1. */
static long try_rule(struct eval_ctx *x, uint32_t i)
{
	const struct rule *r = &x->rs->r[i];

	if (!conditions(x, r))
		return -1;
	if (r->if_matched_sid && !xb_corr_fires(x->corr, x->rs, i, x->ev, x->now))
		return -1;
	/* this event counts for the correlation rules watching r */
	for (size_t k = 0; k < r->n_counters; k++)
		xb_corr_push(x->corr, x->rs, r->counters[k], x->ev, x->now);
	for (size_t k = 0; k < r->n_children; k++) {
		long res = try_rule(x, r->children[k]);

		if (res >= 0)
			return res;
	}
	return i;
}

int xb_rules_eval(const struct xb_ruleset *rs, struct xb_correlator *corr,
		  const struct xb_event *ev, struct xb_alert *out)
{
	char lbuf[4096];
	struct eval_ctx x = { .rs = rs, .corr = corr, .ev = ev, .lmsg = lbuf };
	size_t n = ev->msg_len < sizeof(lbuf) ? ev->msg_len : sizeof(lbuf);
	size_t pl = strnlen(ev->program, sizeof(ev->program));

	/* Rules see at most the first 4 KiB of a message (sshd's are < 1 KiB). */
	for (size_t i = 0; i < n; i++)
		lbuf[i] = (char)xb_lower((unsigned char)ev->msg[i]);
	x.llen = n;
	if (pl >= sizeof(x.lprog))
		pl = sizeof(x.lprog) - 1;
	for (size_t i = 0; i < pl; i++)
		x.lprog[i] = (char)xb_lower((unsigned char)ev->program[i]);
	x.lproglen = pl;
	x.now = ev->ts_usec ? ev->ts_usec : xb_now_wall() * 1000000;

	for (size_t k = 0; k < rs->n_roots; k++) {
		long res = try_rule(&x, rs->roots[k]);

		if (res >= 0) {
			const struct rule *r = &rs->r[res];

			memset(out, 0, sizeof(*out));
			out->rule = r->id;
			out->level = r->noalert ? 0 : r->level;
			out->noalert = r->noalert;
			out->description = r->description;
			out->groups = r->groups;
			out->frequency = r->if_matched_sid ? r->frequency : 0;
			out->same_source_ip = r->same_source_ip;
			out->ev = ev;
			return 1;
		}
	}
	return 0;
}
