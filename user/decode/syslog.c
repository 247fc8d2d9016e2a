// SPDX-License-Identifier: GPL-2.0
/*
 * decode: syslog headers and the program/pid, then hand sshd's messages to
 * decode_sshd.c. Hand-written scanners, no regex and no allocation: this
 * runs for every log line.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "decode/decode.h"

#define IS_DIGIT(c) ((unsigned)((unsigned char)(c) - '0') < 10u)

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + (int64_t)doe - 719468;
}

/* Local-time facts for year-less 3164 stamps, refreshed once an hour. */
static struct {
	int64_t valid_until;
	int64_t now;
	int year;
	long gmtoff;
} tzc;

static void tz_refresh(void)
{
	time_t now = time(NULL);
	struct tm tm;

	if ((int64_t)now < tzc.valid_until)
		return;
	localtime_r(&now, &tm);
	tzc.now = now;
	tzc.year = tm.tm_year + 1900;
	tzc.gmtoff = tm.tm_gmtoff;
	tzc.valid_until = (int64_t)now + 3600;
}

static int num2(const char *s)
{
	if (!IS_DIGIT(s[0]) || !IS_DIGIT(s[1]))
		return -1;
	return (s[0] - '0') * 10 + (s[1] - '0');
}

/* "hh:mm:ss" at s (8 bytes available) -> seconds of day, -1 if not. */
static int hms(const char *s)
{
	int h = num2(s), m = num2(s + 3), sec = num2(s + 6);

	if (h < 0 || m < 0 || sec < 0 || s[2] != ':' || s[5] != ':' || h > 23 || m > 59 || sec > 60)
		return -1;
	return h * 3600 + m * 60 + sec;
}

/* ".123456" -> microseconds; advances *i. */
static int64_t frac_usec(const char *s, size_t len, size_t *i)
{
	int64_t us = 0;
	int digits = 0;

	if (*i >= len || s[*i] != '.')
		return 0;
	(*i)++;
	while (*i < len && IS_DIGIT(s[*i])) {
		if (digits < 6) {
			us = us * 10 + (s[*i] - '0');
			digits++;
		}
		(*i)++;
	}
	while (digits++ < 6)
		us *= 10;
	return us;
}

static int month_of(const char *s)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

	for (int m = 0; m < 12; m++)
		if (s[0] == months[3 * m] && s[1] == months[3 * m + 1] && s[2] == months[3 * m + 2])
			return m + 1;
	return 0;
}

/* "Nov 28 07:01:08[.123]" -> usec, advancing *i past it. */
static int parse_3164_time(const char *s, size_t len, size_t *i, int64_t *ts)
{
	size_t p = *i;
	int mon, day, sod;

	if (len - p < 15)
		return -EINVAL;
	mon = month_of(s + p);
	if (!mon || s[p + 3] != ' ')
		return -EINVAL;
	if (s[p + 4] == ' ' && IS_DIGIT(s[p + 5]))
		day = s[p + 5] - '0';
	else if ((day = num2(s + p + 4)) < 0)
		return -EINVAL;
	if (day < 1 || day > 31 || s[p + 6] != ' ' || (sod = hms(s + p + 7)) < 0)
		return -EINVAL;
	p += 15;
	int64_t us = frac_usec(s, len, &p);

	tz_refresh();
	int64_t t = days_from_civil(tzc.year, (unsigned)mon, (unsigned)day) * 86400 + sod - tzc.gmtoff;
	if (t > tzc.now + 86400)        /* December's lines read in January */
		t = days_from_civil(tzc.year - 1, (unsigned)mon, (unsigned)day) * 86400 + sod - tzc.gmtoff;
	*ts = t * 1000000 + us;
	*i = p;
	return 0;
}

/* "2020-03-23T09:55:42[.391078](Z|+07:00|-0700)" -> usec, advancing *i. */
static int parse_iso_time(const char *s, size_t len, size_t *i, int64_t *ts)
{
	size_t p = *i;
	int y, mo, d, sod, off = 0;

	if (len - p < 19 || s[p + 4] != '-' || s[p + 7] != '-' || (s[p + 10] != 'T' && s[p + 10] != ' '))
		return -EINVAL;
	if ((y = num2(s + p)) < 0 || num2(s + p + 2) < 0)
		return -EINVAL;
	y = y * 100 + num2(s + p + 2);
	mo = num2(s + p + 5);
	d = num2(s + p + 8);
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || (sod = hms(s + p + 11)) < 0)
		return -EINVAL;
	p += 19;
	int64_t us = frac_usec(s, len, &p);
	if (p < len && s[p] == 'Z') {
		p++;
	} else if (p < len && (s[p] == '+' || s[p] == '-')) {
		int sign = s[p] == '-' ? -1 : 1, oh, om;

		if (len - p < 5 || (oh = num2(s + p + 1)) < 0)
			return -EINVAL;
		p += 3;
		if (s[p] == ':')
			p++;
		if (len - p < 2 || (om = num2(s + p)) < 0)
			return -EINVAL;
		p += 2;
		off = sign * (oh * 3600 + om * 60);
	} else {
		/* no zone: local time */
		tz_refresh();
		off = (int)tzc.gmtoff;
	}
	*ts = (days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + sod - off) * 1000000 + us;
	*i = p;
	return 0;
}

static void set_str(char *dst, size_t dlen, const char *s, size_t n)
{
	if (n >= dlen)
		n = dlen - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

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

static int parse_5424(const char *s, size_t len, size_t i, struct xb_event *ev)
{
	const char *tok;
	size_t tl;

	/* version "1 " */
	if (len - i < 2 || s[i] != '1' || s[i + 1] != ' ')
		return -EINVAL;
	i += 2;
	if (i < len && s[i] == '-') {     /* NILVALUE time, then a space */
		if (i + 1 >= len || s[i + 1] != ' ')
			return -EINVAL;
		i += 2;
	} else {
		if (parse_iso_time(s, len, &i, &ev->ts_usec) < 0 || i >= len || s[i] != ' ')
			return -EINVAL;
		i++;
	}
	if (token(s, len, &i, &tok, &tl) < 0)
		return -EINVAL;
	if (!(tl == 1 && *tok == '-'))
		set_str(ev->hostname, sizeof(ev->hostname), tok, tl);
	if (token(s, len, &i, &tok, &tl) < 0)           /* APP-NAME */
		return -EINVAL;
	if (!(tl == 1 && *tok == '-'))
		set_str(ev->program, sizeof(ev->program), tok, tl);
	if (token(s, len, &i, &tok, &tl) < 0)           /* PROCID */
		return -EINVAL;
	ev->pid = 0;
	for (size_t k = 0; k < tl && IS_DIGIT(tok[k]) && ev->pid < 100000000; k++)
		ev->pid = ev->pid * 10 + (tok[k] - '0');
	if (token(s, len, &i, &tok, &tl) < 0)           /* MSGID */
		return -EINVAL;
	/* STRUCTURED-DATA: "-" or [..][..] with \] escapes */
	if (i < len && s[i] == '-') {
		i++;
	} else {
		while (i < len && s[i] == '[') {
			bool quoted = false;

			i++;
			/* PARAM-VALUEs are quoted and may hold ']' (escaped or not) */
			while (i < len && (quoted || s[i] != ']')) {
				if (s[i] == '\\' && i + 1 < len)
					i++;
				else if (s[i] == '"')
					quoted = !quoted;
				i++;
			}
			if (i >= len)
				return -EINVAL;
			i++;
		}
	}
	if (i < len && s[i] == ' ')
		i++;
	if (len - i >= 3 && (unsigned char)s[i] == 0xef && (unsigned char)s[i + 1] == 0xbb &&
	    (unsigned char)s[i + 2] == 0xbf)
		i += 3;         /* BOM */
	ev->msg = s + i;
	ev->msg_len = len - i;
	return 0;
}

int xb_decode_syslog(const char *s, size_t len, struct xb_event *ev)
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
		if (parse_iso_time(s, len, &i, &ev->ts_usec) < 0)
			return -EINVAL;
	} else if (parse_3164_time(s, len, &i, &ev->ts_usec) < 0) {
		return -EINVAL;
	}
	if (i >= len || s[i] != ' ')
		return -EINVAL;
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

bool xb_decode_is_sshd_program(const char *p, size_t n)
{
	if (n < 4 || memcmp(p, "sshd", 4) != 0)
		return false;
	return n == 4 || (n == 12 && memcmp(p + 4, "-session", 8) == 0) ||
	       (n == 9 && memcmp(p + 4, "-auth", 5) == 0);
}

enum xb_decode_res xb_decode_line(const struct xb_line *in, struct xb_event *ev)
{
	size_t len = in->len;

	/* Reset only what the stages read; user[]/hostname[] are set when used. */
	ev->kind = XB_EV_NONE;
	ev->has_src = false;
	ev->port = 0;
	ev->user[0] = '\0';
	ev->user_set = false;
	ev->invalid_user = false;
	ev->decoder = NULL;
	ev->hostname[0] = '\0';
	while (len && (in->text[len - 1] == '\n' || in->text[len - 1] == '\r'))
		len--;
	if (in->bare) {
		ev->ts_usec = 0;
		ev->pid = in->pid;
		ev->msg = in->text;
		ev->msg_len = len;
		set_str(ev->program, sizeof(ev->program), in->program ? in->program : "sshd",
			in->program ? strlen(in->program) : 4);
	} else {
		if (xb_decode_syslog(in->text, len, ev) < 0) {
			ev->msg = in->text;
			ev->msg_len = len;
			ev->program[0] = '\0';
			if (in->ts_usec)
				ev->ts_usec = in->ts_usec;
			return XB_DEC_MALFORMED;
		}
		if (in->program)        /* trusted name from the source wins */
			set_str(ev->program, sizeof(ev->program), in->program, strlen(in->program));
		if (in->pid)
			ev->pid = in->pid;
	}
	if (in->ts_usec)
		ev->ts_usec = in->ts_usec;
	if (!xb_decode_is_sshd_program(ev->program, strlen(ev->program)))
		return XB_DEC_OTHER;
	ev->decoder = "sshd";
	xb_decode_sshd(ev);
	return XB_DEC_SSHD;
}

enum xb_decode_res xb_decode_line_any(const struct xb_line *in, struct xb_event *ev, bool *bare)
{
	enum xb_decode_res res = xb_decode_line(in, ev);

	if (bare)
		*bare = false;
	if (res == XB_DEC_MALFORMED && !in->bare) {
		struct xb_line b = *in;

		b.bare = true;
		b.program = NULL;
		res = xb_decode_line(&b, ev);
		if (res == XB_DEC_SSHD && ev->kind == XB_EV_NONE) {
			ev->decoder = NULL;
			res = XB_DEC_MALFORMED;
		} else if (bare) {
			*bare = true;
		}
	}
	return res;
}

const char *xb_ev_kind_name(enum xb_ev_kind k)
{
	static const char *const names[XB_EV_KIND_MAX] = {
		[XB_EV_NONE] = "none",
		[XB_EV_AUTH_FAIL] = "auth_fail",
		[XB_EV_INVALID_USER] = "invalid_user",
		[XB_EV_NOT_ALLOWED] = "not_allowed",
		[XB_EV_MAX_AUTH] = "max_auth",
		[XB_EV_TOO_MANY_FAIL] = "too_many_failures",
		[XB_EV_CLOSED_PREAUTH] = "closed_preauth",
		[XB_EV_DISCONN_PREAUTH] = "disconnected_preauth",
		[XB_EV_NO_IDENT] = "no_ident",
		[XB_EV_BAD_PROTO] = "bad_protocol",
		[XB_EV_NEGOTIATE] = "negotiate",
		[XB_EV_TIMEOUT] = "timeout",
		[XB_EV_PAM_FAIL] = "pam_fail",
		[XB_EV_ROOT_REFUSED] = "root_refused",
		[XB_EV_REVERSE_MAP] = "reverse_map",
		[XB_EV_ACCEPTED] = "accepted",
	};

	return (unsigned)k < XB_EV_KIND_MAX && names[k] ? names[k] : "?";
}
