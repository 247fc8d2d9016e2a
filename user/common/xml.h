/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xml: the one XML reader, used by the config and the rule files. libxml2
 * parses without network access, entity substitution or DTD loading, and
 * prints nothing; a document with a DOCTYPE (so any entity declaration) is
 * refused, and a reference to an undeclared entity is a parse error.
 * Errors are written as "FILE:LINE: reason".
 */
#ifndef XB_XML_H
#define XB_XML_H

#include <stddef.h>

#include <libxml/tree.h>

/* Where errors go: file names the document in messages; buf may be NULL. */
struct xb_xml_err {
	const char *file;
	char *buf;
	size_t len;
};

/*
 * Parse buf[0..len) into *doc (free with xmlFreeDoc). kind says what the
 * document is in the DOCTYPE refusal ("a DOCTYPE is not allowed in the
 * config"). 0, -EINVAL (error written) or -ENOMEM.
 */
int xb_xml_read(const struct xb_xml_err *xe, const char *buf, size_t len, const char *kind,
		xmlDoc **doc);

/* Write "FILE:LINE: reason" (LINE of node n, 0 if NULL) and return -EINVAL. */
int xb_xml_fail(const struct xb_xml_err *xe, const xmlNode *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same at a given line. */
int xb_xml_fail_at(const struct xb_xml_err *xe, long line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Line of node n in its document, 0 if n is NULL. */
long xb_xml_line(const xmlNode *n);
/* The text content of n, leading and trailing white space trimmed, in a
 * malloc'ed string; NULL when out of memory. */
char *xb_xml_text(const xmlNode *n);

#endif
