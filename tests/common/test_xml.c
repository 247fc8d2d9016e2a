// SPDX-License-Identifier: GPL-2.0
/*
 * The one XML reader (common/xml): DTDs and entities refused, parse errors
 * as FILE:LINE, the helpers; and the whole-file reader it is fed from.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <criterion/criterion.h>

#include "common/util.h"
#include "common/xml.h"

static int read_doc(const char *xml, xmlDoc **doc, char *err, size_t len)
{
	struct xb_xml_err xe = { .file = "t.xml", .buf = err, .len = len };

	*doc = NULL;
	return xb_xml_read(&xe, xml, strlen(xml), "the test", doc);
}

static void expect_refused(const char *xml, const char *want)
{
	xmlDoc *doc;
	char err[256] = "";

	cr_expect_eq(read_doc(xml, &doc, err, sizeof(err)), -EINVAL, "accepted: %s", xml);
	cr_expect_null(doc);
	cr_expect(strstr(err, want), "want '%s', got '%s'", want, err);
}

Test(xml, good_document_parses)
{
	xmlDoc *doc;
	char err[256] = "";
	const xmlNode *root, *b;
	char *text;

	cr_assert_eq(read_doc("<a>\n  <b>  x y \n</b>\n</a>", &doc, err, sizeof(err)), 0,
		     "%s", err);
	root = xmlDocGetRootElement(doc);
	cr_assert_str_eq((const char *)root->name, "a");
	for (b = root->children; b && b->type != XML_ELEMENT_NODE; b = b->next)
		;
	cr_assert_not_null(b);
	cr_expect_eq(xb_xml_line(b), 2);
	cr_expect_eq(xb_xml_line(NULL), 0);
	text = xb_xml_text(b);
	cr_assert_not_null(text);
	cr_expect_str_eq(text, "x y", "trimmed");
	free(text);
	xmlFreeDoc(doc);
}

Test(xml, dtd_refused)
{
	expect_refused("<!DOCTYPE a [<!ENTITY e \"v\">]><a>&e;</a>",
		       "a DOCTYPE is not allowed in the test");
	expect_refused("<!DOCTYPE a SYSTEM \"http://example.invalid/a.dtd\"><a/>", "t.xml:");
	expect_refused("<!DOCTYPE a>\n<a/>", "DOCTYPE");
}

Test(xml, entities_refused)
{
	/* without a DTD no entity is declared: a reference is a parse error */
	expect_refused("<a>\n&e;</a>", "t.xml:2: Entity 'e' not defined");
	/* an external entity (XXE) is refused with its DTD, nothing fetched */
	expect_refused("<!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n<a>&x;</a>",
		       "DOCTYPE");
}

Test(xml, predefined_entities_are_text)
{
	xmlDoc *doc;
	char err[256] = "";
	char *text;

	cr_assert_eq(read_doc("<a>&lt;&amp;&#65;</a>", &doc, err, sizeof(err)), 0, "%s", err);
	text = xb_xml_text(xmlDocGetRootElement(doc));
	cr_expect_str_eq(text, "<&A");
	free(text);
	xmlFreeDoc(doc);
}

Test(xml, malformed_gives_file_and_line)
{
	expect_refused("<a>\n<b>\n</a>", "t.xml:3: ");
	expect_refused("<a>\n</b>", "t.xml:2: Opening and ending tag mismatch");
	expect_refused("", "t.xml:1: Document is empty");
	expect_refused("<a/><b/>", "t.xml:1: Extra content at the end of the document");
}

Test(xml, fail_formats_and_returns_einval)
{
	char err[64];
	struct xb_xml_err xe = { .file = "f.conf", .buf = err, .len = sizeof(err) };
	struct xb_xml_err none = { .file = "f.conf" };

	cr_expect_eq(xb_xml_fail_at(&xe, 7, "bad %s %d", "x", 3), -EINVAL);
	cr_expect_str_eq(err, "f.conf:7: bad x 3");
	cr_expect_eq(xb_xml_fail(&xe, NULL, "no node"), -EINVAL);
	cr_expect_str_eq(err, "f.conf:0: no node");
	cr_expect_eq(xb_xml_fail_at(&none, 1, "nowhere to write"), -EINVAL);
}

Test(xml, read_file_whole_and_bounded)
{
	char path[] = "/tmp/xdpban-det-xml-XXXXXX";
	int fd = mkstemp(path);
	static const char body[] = "<a>file</a>\n";
	char *buf = NULL;
	size_t len = 0;

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, body, sizeof(body) - 1), (ssize_t)sizeof(body) - 1);
	close(fd);
	cr_assert_eq(xb_read_file(path, 1024, &buf, &len), 0);
	cr_expect_eq(len, sizeof(body) - 1);
	cr_expect_str_eq(buf, body, "NUL-terminated");
	free(buf);
	cr_expect_eq(xb_read_file(path, sizeof(body) - 1, &buf, &len), 0, "exactly max bytes");
	free(buf);
	cr_expect_eq(xb_read_file(path, sizeof(body) - 2, &buf, &len), -EFBIG);
	unlink(path);
	cr_expect_eq(xb_read_file(path, 1024, &buf, &len), -ENOENT);
	cr_expect_eq(xb_read_file("/tmp", 1024, &buf, &len), -EISDIR);
}
