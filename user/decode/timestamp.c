// SPDX-License-Identifier: GPL-2.0
/*
 * decode: the times in syslog headers -> microseconds since the epoch.
 * RFC 3164 ("Nov 28 07:01:08", no year, local time) and ISO 8601 / RFC 3339
 * ("2020-03-23T09:55:42.391078-07:00"), with optional fractional seconds.
 */
#include <errno.h>
#include <time.h>

#include "decode/internal.h"

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

/* The day of "Nov 28", "Nov  7" or "Nov 7" at s + p + 4 (at least 11
 * bytes there): 1-31, *w gets the bytes it took up to the space after it. */
static int day_3164(const char *s, size_t p, size_t *w)
{
	const char *d = s + p + 4;

	*w = 2;
	if (d[0] == ' ' && IS_DIGIT(d[1]))
		return d[1] - '0';
	if (IS_DIGIT(d[0]) && d[1] == ' ') {
		*w = 1;         /* unpadded, as some syslog daemons write it */
		return d[0] - '0';
	}
	return num2(d);
}

/* "Nov 28 07:01:08[.123]" (or "Nov 7 ...") -> usec, advancing *i past it. */
int xb_dec_time_3164(const char *s, size_t len, size_t *i, int64_t *ts)
{
	size_t p = *i, w;
	int mon, day, sod;

	if (len - p < 14)
		return -EINVAL;
	mon = month_of(s + p);
	if (!mon || s[p + 3] != ' ')
		return -EINVAL;
	day = day_3164(s, p, &w);
	if (day < 1 || day > 31 || len - p < 13 + w || s[p + 4 + w] != ' ' ||
	    (sod = hms(s + p + 5 + w)) < 0)
		return -EINVAL;
	p += 13 + w;
	int64_t us = frac_usec(s, len, &p);

	tz_refresh();
	int64_t t = days_from_civil(tzc.year, (unsigned)mon, (unsigned)day) * 86400 + sod - tzc.gmtoff;
	if (t > tzc.now + 86400)        /* December's lines read in January */
		t = days_from_civil(tzc.year - 1, (unsigned)mon, (unsigned)day) * 86400 + sod - tzc.gmtoff;
	*ts = t * 1000000 + us;
	*i = p;
	return 0;
}

/* The zone after an ISO time: "Z", "+07:00", "-0700", or none (local time).
 * *off gets its offset east of UTC in seconds; advances *p. */
static int iso_zone(const char *s, size_t len, size_t *p, int *off)
{
	if (*p < len && s[*p] == 'Z') {
		(*p)++;
		*off = 0;
	} else if (*p < len && (s[*p] == '+' || s[*p] == '-')) {
		int sign = s[*p] == '-' ? -1 : 1, oh, om;

		if (len - *p < 5 || (oh = num2(s + *p + 1)) < 0)
			return -EINVAL;
		*p += 3;
		if (s[*p] == ':')
			(*p)++;
		if (len - *p < 2 || (om = num2(s + *p)) < 0)
			return -EINVAL;
		*p += 2;
		*off = sign * (oh * 3600 + om * 60);
	} else {
		tz_refresh();
		*off = (int)tzc.gmtoff;
	}
	return 0;
}

/* "2020-03-23T09:55:42[.391078](Z|+07:00|-0700)" -> usec, advancing *i. */
int xb_dec_time_iso(const char *s, size_t len, size_t *i, int64_t *ts)
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

	if (iso_zone(s, len, &p, &off) < 0)
		return -EINVAL;
	*ts = (days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + sod - off) * 1000000 + us;
	*i = p;
	return 0;
}
