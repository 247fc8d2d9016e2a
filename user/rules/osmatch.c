// SPDX-License-Identifier: GPL-2.0
/*
 * rules: OS_Match, Wazuh's literal matcher for <match> and <program_name>:
 * '|' alternatives, '^' and '$' anchors, compared caselessly.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rules/internal.h"
#include "common/util.h"

void xb_osm_free(struct osmatch *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->alts[i].pat);
	free(m->alts);
	m->alts = NULL;
	m->n = m->cap = 0;
}

/* One alternative p[0..n): anchors taken off, the rest lowercased. */
static int osm_alt(struct osm_alt *a, const char *p, size_t n)
{
	if (n && p[0] == '^') {
		a->start = true;
		p++;
		n--;
	}
	if (n && p[n - 1] == '$') {
		a->end = true;
		n--;
	}
	if (n == 0 && !a->start && !a->end)
		return -EINVAL;
	a->pat = malloc(n + 1);
	if (!a->pat)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		a->pat[i] = (char)xb_lower((unsigned char)p[i]);
	a->pat[n] = '\0';
	a->len = n;
	return 0;
}

int xb_osm_compile(struct osmatch *m, const char *text)
{
	const char *p = text;

	xb_osm_free(m);
	for (;;) {
		const char *e = strchr(p, '|');
		struct osm_alt a = { 0 };
		int err = osm_alt(&a, p, e ? (size_t)(e - p) : strlen(p));

		if (!err)
			err = xb_grow(&m->alts, &m->cap, m->n, sizeof(*m->alts), 4);
		if (err) {
			free(a.pat);
			return err;
		}
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
