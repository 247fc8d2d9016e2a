// SPDX-License-Identifier: GPL-2.0
/* rules: OS_Regex, Wazuh's regex dialect for <regex>, translated to PCRE2. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rules/internal.h"

/* Add s to the string being built in *buf. */
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

/* PCRE2 for the escape \c (an escaped special is built in buf), or NULL if
 * OS_Regex has no such escape. */
static const char *escape(char c, char buf[3])
{
	switch (c) {
	case 'w': return "[A-Za-z0-9@_\\-]";
	case 'W': return "[^A-Za-z0-9@_\\-]";
	case 'd': return "[0-9]";
	case 'D': return "[^0-9]";
	case 's': return " ";
	case 'S': return "[^ ]";
	case 't': return "\\t";
	case '.': return ".";
	case 'p': return "[()*+,\\-.:;<=>?\\[\\]!\"'#$%&|{}]";
	case '$': case '(': case ')': case '\\': case '|': case '^': case '+': case '*':
		buf[0] = '\\';
		buf[1] = c;
		buf[2] = '\0';
		return buf;
	}
	return NULL;
}

/* PCRE2 for an unescaped character: literal, except ^ $ | ( ) (kept as they are). */
static void literal(char c, char out[3])
{
	switch (c) {
	case '.': case '?': case '[': case ']': case '{': case '}': case '+': case '*':
		out[0] = '\\';
		out[1] = c;
		out[2] = '\0';
		break;
	default:
		out[0] = c;
		out[1] = '\0';
	}
}

/*
 * OS_Regex: escapes \w \W \d \D \s \S \p \t \. and escaped specials; + and *
 * apply to the escape before them; ^ $ | ( ) keep their meaning; every other
 * character is literal (so '.', '?', '[' are escaped for PCRE2).
 */
int xb_osregex_to_pcre2(const char *in, char **out)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int err = append(&buf, &len, &cap, "");

	/* !err first: after a trailing '\\' p is at the NUL */
	for (const char *p = in; !err && *p; p++) {
		char tmp[3];
		const char *e;

		if (*p != '\\') {
			literal(*p, tmp);
			err = append(&buf, &len, &cap, tmp);
			continue;
		}
		e = escape(*++p, tmp);
		err = e ? append(&buf, &len, &cap, e) : -EINVAL;
		if (!err && (p[1] == '+' || p[1] == '*')) {
			tmp[0] = *++p;
			tmp[1] = '\0';
			err = append(&buf, &len, &cap, tmp);
		}
	}
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	return 0;
}
