/* SPDX-License-Identifier: GPL-2.0 */
/*
 * decode internals shared by its files: timestamp.c (header times),
 * syslog.c (headers), line.c (a line -> an event), sshd.c (the table of
 * sshd's message forms) and sshd_auth.c ("Failed/Accepted ...").
 *
 * The span scanners are static inline: they run several times per line.
 * Each one takes a field sshd writes itself off one end of the message.
 */
#ifndef XB_DECODE_INT_H
#define XB_DECODE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "decode/decode.h"

#define IS_DIGIT(c) ((unsigned)((unsigned char)(c) - '0') < 10u)

/* A literal and its length, for the prefix/suffix cutters. */
#define LIT(x) x, sizeof(x) - 1

/* The part of the message still to parse. */
struct span {
	const char *s;
	size_t n;
};

static inline bool has_prefix(struct span sp, const char *lit, size_t ll)
{
	return sp.n >= ll && memcmp(sp.s, lit, ll) == 0;
}

static inline bool cut_prefix(struct span *sp, const char *lit, size_t ll)
{
	if (!has_prefix(*sp, lit, ll))
		return false;
	sp->s += ll;
	sp->n -= ll;
	return true;
}

static inline bool cut_suffix(struct span *sp, const char *lit, size_t ll)
{
	if (sp->n < ll || memcmp(sp->s + sp->n - ll, lit, ll) != 0)
		return false;
	sp->n -= ll;
	return true;
}

/* Remove a trailing " port DIGITS". */
static inline bool cut_port(struct span *sp, uint16_t *port)
{
	size_t e = sp->n, d = e;
	unsigned v = 0;

	while (d > 0 && IS_DIGIT(sp->s[d - 1]))
		d--;
	if (d == e || e - d > 5 || d < 6 || memcmp(sp->s + d - 6, " port ", 6) != 0)
		return false;
	for (size_t k = d; k < e; k++)
		v = v * 10 + (unsigned)(sp->s[k] - '0');
	if (v > 65535)
		return false;
	*port = (uint16_t)v;
	sp->n = d - 6;
	return true;
}

/* Remove the last space-separated token, returned in *tok. */
static inline bool cut_last_token(struct span *sp, struct span *tok)
{
	size_t e = sp->n, b = e;

	while (b > 0 && sp->s[b - 1] != ' ')
		b--;
	if (b == e || b == 0)
		return false;
	tok->s = sp->s + b;
	tok->n = e - b;
	sp->n = b - 1;
	return true;
}

/* Leading token up to a space or the end. */
static inline bool cut_first_token(struct span *sp, struct span *tok)
{
	size_t e = 0;

	while (e < sp->n && sp->s[e] != ' ')
		e++;
	if (e == 0)
		return false;
	tok->s = sp->s;
	tok->n = e;
	sp->s += e;
	sp->n -= e;
	return true;
}

/* The source address: only a numeric one (a host name is never resolved). */
static inline void set_addr(struct xb_event *ev, struct span tok)
{
	ev->has_src = xb_addr_parse_host(tok.s, tok.n, &ev->src) == 0;
}

/* Copy attacker text for display: control bytes become '?'. */
static inline void set_user(struct xb_event *ev, struct span u)
{
	size_t n = u.n < sizeof(ev->user) - 1 ? u.n : sizeof(ev->user) - 1;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)u.s[i];

		ev->user[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	ev->user[n] = '\0';
	ev->user_set = true;
}

/* "invalid user U" / "illegal user U" -> U, and mark the event. */
static inline void cut_invalid(struct xb_event *ev, struct span *u)
{
	if (cut_prefix(u, LIT("invalid user ")) || cut_prefix(u, LIT("illegal user ")))
		ev->invalid_user = true;
}

/* Bounded copy, always NUL-terminated (program, host name). */
static inline void set_str(char *dst, size_t dlen, const char *s, size_t n)
{
	if (n >= dlen)
		n = dlen - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

/* sshd_auth.c: m follows "Failed " or "Accepted "; returns kind. */
enum xb_ev_kind xb_dec_failed_accepted(struct xb_event *ev, struct span m, enum xb_ev_kind kind);

/* timestamp.c: the time at s + *i -> *ts (usec), advancing *i past it.
 * 0 or -EINVAL. "Nov 28 07:01:08[.123]" and ISO 8601 (with or without a
 * zone). */
int xb_dec_time_3164(const char *s, size_t len, size_t *i, int64_t *ts);
int xb_dec_time_iso(const char *s, size_t len, size_t *i, int64_t *ts);

#endif
