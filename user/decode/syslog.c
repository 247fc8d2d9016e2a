// SPDX-License-Identifier: GPL-2.0
/*
 * decode: syslog headers -> time, host, program, pid and the message.
 * RFC 3164 with an optional <PRI> (and an ISO 8601 time in place of the
 * 3164 one, as rsyslog and journalctl -o short-iso write), and RFC 5424.
 * Hand-written scanners, no regex and no allocation: this runs for every
 * log line.
 */
#include <errno.h>

#include "decode/internal.h"

/* Next space-delimited token at *i: [*tok, *tok + *tl); skips one space after. */
static int token(const char *s, size_t len, size_t *i, const char **tok, size_t *tl)
{
	size_t p = *i, st = p;

	while (p < len && s[p] != ' ')
		p++;
	if (p == st || p >= len)
		return -EINVAL;
	*tok = s + st;
	*tl = p - st;
	*i = p + 1;
	return 0;
}

/* 3164 tag "prog[pid]: " or "prog: "; if absent the message starts at *i. */
static void parse_tag(const char *s, size_t len, size_t i, struct xb_event *ev)
{
	size_t p = i;

	while (p < len && s[p] != '[' && s[p] != ':' && s[p] != ' ')
		p++;
	if (p == i || p >= len || s[p] == ' ') {
		ev->msg = s + i;
		ev->msg_len = len - i;
		return;
	}
	size_t pend = p;
	int pid = 0;

	if (s[p] == '[') {
		p++;
		while (p < len && IS_DIGIT(s[p]) && pid < 100000000)
			pid = pid * 10 + (s[p++] - '0');
		if (p >= len || s[p] != ']') {
			ev->msg = s + i;
			ev->msg_len = len - i;
			return;
		}
		p++;
	}
	if (p >= len || s[p] != ':') {
		ev->msg = s + i;
		ev->msg_len = len - i;
		return;
	}
	p++;
	if (p < len && s[p] == ' ')
		p++;
	set_str(ev->program, sizeof(ev->program), s + i, pend - i);
	ev->pid = pid;
	ev->msg = s + p;
	ev->msg_len = len - p;
}

/* 5424 TIMESTAMP and the space after it: "-" (none) or ISO 8601. */
static int parse_5424_time(const char *s, size_t len, size_t *i, struct xb_event *ev)
{
	if (*i < len && s[*i] == '-') {     /* NILVALUE time, then a space */
		if (*i + 1 >= len || s[*i + 1] != ' ')
			return -EINVAL;
		*i += 2;
		return 0;
	}
	if (xb_dec_time_iso(s, len, i, &ev->ts_usec) < 0 || *i >= len || s[*i] != ' ')
		return -EINVAL;
	(*i)++;
	return 0;
}

/* HOSTNAME APP-NAME PROCID MSGID, each followed by a space; "-" is none. */
static int parse_5424_fields(const char *s, size_t len, size_t *i, struct xb_event *ev)
{
	const char *tok;
	size_t tl;

	if (token(s, len, i, &tok, &tl) < 0)
		return -EINVAL;
	if (!(tl == 1 && *tok == '-'))
		set_str(ev->hostname, sizeof(ev->hostname), tok, tl);
	if (token(s, len, i, &tok, &tl) < 0)           /* APP-NAME */
		return -EINVAL;
	if (!(tl == 1 && *tok == '-'))
		set_str(ev->program, sizeof(ev->program), tok, tl);
	if (token(s, len, i, &tok, &tl) < 0)           /* PROCID */
		return -EINVAL;
	ev->pid = 0;
	for (size_t k = 0; k < tl && IS_DIGIT(tok[k]) && ev->pid < 100000000; k++)
		ev->pid = ev->pid * 10 + (tok[k] - '0');
	if (token(s, len, i, &tok, &tl) < 0)           /* MSGID */
		return -EINVAL;
	return 0;
}

/* STRUCTURED-DATA: "-" or [..][..] with \] escapes; advances *i past it. */
static int skip_5424_sd(const char *s, size_t len, size_t *i)
{
	size_t p = *i;

	if (p < len && s[p] == '-') {
		*i = p + 1;
		return 0;
	}
	while (p < len && s[p] == '[') {
		bool quoted = false;

		p++;
		/* PARAM-VALUEs are quoted and may hold ']' (escaped or not) */
		while (p < len && (quoted || s[p] != ']')) {
			if (s[p] == '\\' && p + 1 < len)
				p++;
			else if (s[p] == '"')
				quoted = !quoted;
			p++;
		}
		if (p >= len)
			return -EINVAL;
		p++;
	}
	*i = p;
	return 0;
}

/* "1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD [BOM]MSG" at s + i. */
static int parse_5424(const char *s, size_t len, size_t i, struct xb_event *ev)
{
	/* version "1 " */
	if (len - i < 2 || s[i] != '1' || s[i + 1] != ' ')
		return -EINVAL;
	i += 2;
	if (parse_5424_time(s, len, &i, ev) < 0 || parse_5424_fields(s, len, &i, ev) < 0 ||
	    skip_5424_sd(s, len, &i) < 0)
		return -EINVAL;
	if (i < len && s[i] == ' ')
		i++;
	if (len - i >= 3 && (unsigned char)s[i] == 0xef && (unsigned char)s[i + 1] == 0xbb &&
	    (unsigned char)s[i + 2] == 0xbf)
		i += 3;         /* BOM */
	ev->msg = s + i;
	ev->msg_len = len - i;
	return 0;
}

/* Solaris' message id "[ID 800047 auth.notice] " before the message: its
 * syslog writes it, at the very start, so nothing of the client's is here. */
static void cut_solaris_id(struct xb_event *ev)
{
	struct span m = { ev->msg, ev->msg_len };
	size_t k = 0;

	if (!cut_prefix(&m, LIT("[ID ")))
		return;
	while (k < m.n && k < 12 && IS_DIGIT(m.s[k]))
		k++;
	if (k == 0 || k >= m.n || m.s[k] != ' ')
		return;
	for (k++; k < m.n && k < 48 && m.s[k] != ']'; k++)
		if (!((m.s[k] >= 'a' && m.s[k] <= 'z') || IS_DIGIT(m.s[k]) || m.s[k] == '.'))
			return;
	if (k + 1 >= m.n || m.s[k] != ']' || m.s[k + 1] != ' ')
		return;
	ev->msg = m.s + k + 2;
	ev->msg_len = m.n - k - 2;
}

static int syslog_header(const char *s, size_t len, struct xb_event *ev);

int xb_decode_syslog(const char *s, size_t len, struct xb_event *ev)
{
	int err = syslog_header(s, len, ev);

	if (!err)
		cut_solaris_id(ev);
	return err;
}

static int syslog_header(const char *s, size_t len, struct xb_event *ev)
{
	size_t i = 0;
	const char *tok;
	size_t tl;

	ev->ts_usec = 0;
	ev->hostname[0] = ev->program[0] = '\0';
	ev->pid = 0;
	if (len && s[0] == '<') {       /* <PRI> */
		i = 1;
		while (i < len && i < 5 && IS_DIGIT(s[i]))
			i++;
		if (i == 1 || i >= len || s[i] != '>')
			return -EINVAL;
		i++;
		if (i < len && s[i] == '1' && i + 1 < len && s[i + 1] == ' ')
			return parse_5424(s, len, i, ev);
	}
	if (i < len && IS_DIGIT(s[i])) {
		if (xb_dec_time_iso(s, len, &i, &ev->ts_usec) < 0)
			return -EINVAL;
	} else if (xb_dec_time_3164(s, len, &i, &ev->ts_usec) < 0) {
		return -EINVAL;
	}
	if (i >= len || s[i] != ' ')
		return -EINVAL;
	/* Wazuh's own samples put two spaces after an ISO time */
	for (int k = 0; k < 4 && i < len && s[i] == ' '; k++)
		i++;
	{
		size_t save = i;

		if (token(s, len, &i, &tok, &tl) < 0)
			return -EINVAL;
		/* no host field ("Nov 28 07:01:08 sshd[1]: ..."): the token is the tag */
		if (tok[tl - 1] == ':') {
			parse_tag(s, len, save, ev);
			return 0;
		}
	}
	set_str(ev->hostname, sizeof(ev->hostname), tok, tl);
	parse_tag(s, len, i, ev);
	return 0;
}
