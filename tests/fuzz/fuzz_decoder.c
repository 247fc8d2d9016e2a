// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz the decoder on raw lines: xb_decode_line (with a syslog header and as
 * a bare journald message) and xb_decode_line_any. Besides the sanitizers,
 * each event must hold: its pointers inside the line, its strings
 * terminated, a port only with an address, and an address whose text stands
 * in the message as a token of its own, after the user name when the form
 * puts the user first (never inside the user's text).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode/decode.h"

#define check(cond) do { if (!(cond)) fail(#cond, __LINE__); } while (0)

static const uint8_t *cur;
static size_t cur_len;

static void fail(const char *what, int line)
{
	fprintf(stderr, "fuzz_decoder:%d: %s does not hold on %zu bytes: '%.*s'\n",
		line, what, cur_len, (int)cur_len, (const char *)cur);
	abort();
}

static bool addr_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
	       c == ':' || c == '.';
}

/* The first token (a maximal run of address characters, less one trailing
 * colon) at or after from that parses as a; -1 if none. Every form's
 * address token is one. */
static long find_addr(const char *m, size_t n, size_t from, const struct xb_addr *a)
{
	for (size_t i = from; i < n;) {
		size_t e = i;
		struct xb_addr t;

		if (!addr_char(m[i]) || (i > 0 && addr_char(m[i - 1]))) {
			i++;
			continue;
		}
		while (e < n && addr_char(m[e]))
			e++;
		if (xb_addr_parse_host(m + i, e - i, &t) == 0 && xb_addr_eq(&t, a))
			return (long)i;
		/* older sshd's "A: 11: reason" puts a colon right after A */
		if (e - i > 1 && m[e - 1] == ':' &&
		    xb_addr_parse_host(m + i, e - i - 1, &t) == 0 && xb_addr_eq(&t, a))
			return (long)i;
		i = e;
	}
	return -1;
}

/* Where the user's text first stands in the message, when it can be told
 * (not cut to the buffer, no control byte made '?'); -1 otherwise. */
static long find_user(const struct xb_event *ev)
{
	size_t ul = strlen(ev->user);
	const char *p;

	if (!ev->user_set || ul >= sizeof(ev->user) - 1 || strchr(ev->user, '?'))
		return -1;
	p = memmem(ev->msg, ev->msg_len, ev->user, ul);
	return p ? p - ev->msg : -1;
}

static void check_event(const struct xb_event *ev, enum xb_decode_res res, const char *line,
			size_t len)
{
	long u;

	check(res == XB_DEC_OTHER || res == XB_DEC_SSHD || res == XB_DEC_MALFORMED);
	/* sshd's own lines decode as "sshd", its pam_unix lines as "pam" (Wazuh's decoders) */
	check(res != XB_DEC_SSHD || (ev->decoder && (!strcmp(ev->decoder, "sshd") ||
		(!strcmp(ev->decoder, "pam") && ev->msg_len >= 8 && !memcmp(ev->msg, "pam_unix", 8)))));
	check(ev->kind >= XB_EV_NONE && ev->kind < XB_EV_KIND_MAX);
	check(ev->msg >= line && ev->msg + ev->msg_len <= line + len);
	check(memchr(ev->user, '\0', sizeof(ev->user)));
	check(memchr(ev->program, '\0', sizeof(ev->program)));
	check(memchr(ev->hostname, '\0', sizeof(ev->hostname)));
	check(ev->has_src || ev->port == 0);
	if (!ev->has_src)
		return;
	check(ev->src.family == 4 || ev->src.family == 6);
	check(xb_addr_is_single(&ev->src));
	check(find_addr(ev->msg, ev->msg_len, 0, &ev->src) >= 0);
	/* PAM's "rhost=A user=U" is the one form with the user after it */
	u = find_user(ev);
	if (u >= 0 && strncmp(ev->msg, "pam_unix(", 9))
		check(find_addr(ev->msg, ev->msg_len, (size_t)u + strlen(ev->user), &ev->src) >= 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a copy of exactly size bytes: ASan sees any read past the line */
	char *line = malloc(size ? size : 1);
	struct xb_line l = { .text = line, .len = size };
	struct xb_event ev;
	enum xb_decode_res res;
	bool bare;

	if (!line)
		return 0;
	memcpy(line, data, size);
	cur = data;
	cur_len = size;
	res = xb_decode_line(&l, &ev);
	check_event(&ev, res, line, size);
	/* a line it calls malformed may keep what the bare try found: the
	 * pipeline drops malformed lines, so only the position rules apply */
	res = xb_decode_line_any(&l, &ev, &bare);
	check_event(&ev, res, line, size);
	l.bare = true;
	l.program = "sshd-session";
	l.pid = 7;
	res = xb_decode_line(&l, &ev);
	check(res == XB_DEC_SSHD);
	check_event(&ev, res, line, size);
	free(line);
	return 0;
}
