// SPDX-License-Identifier: GPL-2.0
/* xml: libxml2 with the options both the config and the rules need. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>

#include "common/xml.h"

/*
 * NONET: nothing is fetched. No NOENT, DTDLOAD or DTDATTR: entities are never
 * substituted and no DTD is read. NOERROR, NOWARNING: the context keeps the
 * error, libxml2 prints nothing.
 */
#define XB_XML_OPTIONS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)

static int vfail(const struct xb_xml_err *xe, long line, const char *fmt, va_list ap)
{
	char msg[256];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (xe->buf && xe->len)
		snprintf(xe->buf, xe->len, "%s:%ld: %s", xe->file, line, msg);
	return -EINVAL;
}

int xb_xml_fail_at(const struct xb_xml_err *xe, long line, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = vfail(xe, line, fmt, ap);
	va_end(ap);
	return err;
}

int xb_xml_fail(const struct xb_xml_err *xe, const xmlNode *n, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = vfail(xe, xb_xml_line(n), fmt, ap);
	va_end(ap);
	return err;
}

long xb_xml_line(const xmlNode *n)
{
	return n ? xmlGetLineNo(n) : 0;
}

char *xb_xml_text(const xmlNode *n)
{
	xmlChar *raw = xmlNodeGetContent(n);
	const char *s, *e;
	char *out;

	if (!raw)
		return NULL;
	s = (const char *)raw;
	while (*s && strchr(" \t\r\n", *s))
		s++;
	e = s + strlen(s);
	while (e > s && strchr(" \t\r\n", e[-1]))
		e--;
	out = strndup(s, (size_t)(e - s));
	xmlFree(raw);
	return out;
}

static void quiet_generic(void *ctx, const char *msg, ...)
{
}

static void quiet_structured(void *ctx, xmlErrorPtr e)
{
}

/* The parse error as "FILE:LINE: first line of libxml2's message". */
static int parse_error(const struct xb_xml_err *xe, xmlParserCtxtPtr ctxt)
{
	xmlErrorPtr e = xmlCtxtGetLastError(ctxt);
	char msg[160] = "not well-formed XML";

	if (e && e->message) {
		snprintf(msg, sizeof(msg), "%s", e->message);
		msg[strcspn(msg, "\n")] = '\0';
	}
	return xb_xml_fail_at(xe, e ? e->line : 0, "%s", msg);
}

/* A DOCTYPE is where entities (and external ones) are declared: refuse it. */
static int check_doc(const struct xb_xml_err *xe, xmlDoc *doc, const char *kind)
{
	if (doc->intSubset || doc->extSubset)
		return xb_xml_fail(xe, (const xmlNode *)doc->intSubset,
				   "a DOCTYPE is not allowed in %s", kind);
	if (!xmlDocGetRootElement(doc))
		return xb_xml_fail(xe, NULL, "empty document");
	return 0;
}

int xb_xml_read(const struct xb_xml_err *xe, const char *buf, size_t len, const char *kind,
		xmlDoc **out)
{
	xmlParserCtxtPtr ctxt;
	xmlDoc *doc;
	int err;

	if (len > INT_MAX)
		return xb_xml_fail(xe, NULL, "file too large");
	/* Some errors (encodings, memory) bypass the context: silence those too. */
	xmlSetGenericErrorFunc(NULL, quiet_generic);
	xmlSetStructuredErrorFunc(NULL, quiet_structured);
	ctxt = xmlNewParserCtxt();
	if (!ctxt)
		return -ENOMEM;
	doc = xmlCtxtReadMemory(ctxt, buf, (int)len, xe->file, NULL, XB_XML_OPTIONS);
	if (!doc) {
		err = parse_error(xe, ctxt);
		xmlFreeParserCtxt(ctxt);
		return err;
	}
	xmlFreeParserCtxt(ctxt);
	err = check_doc(xe, doc, kind);
	if (err) {
		xmlFreeDoc(doc);
		return err;
	}
	*out = doc;
	return 0;
}
