// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

int xb_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int xb_parse_duration(const char *s, uint64_t *secs)
{
	static const struct { char suffix; uint64_t mult; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'w', 604800 },
	};
	char *end;
	unsigned long long v;
	uint64_t mult = 1;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	if (*end) {
		unsigned i;

		if (end[1])
			return -EINVAL;
		for (i = 0; i < ARRAY_SIZE(units); i++)
			if (*end == units[i].suffix)
				break;
		if (i == ARRAY_SIZE(units))
			return -EINVAL;
		mult = units[i].mult;
	}
	/* Keep every duration representable in ns on the monotonic clock. */
	if (v > (UINT64_MAX / NSEC_PER_SEC / 4) / mult)
		return -ERANGE;
	*secs = v * mult;
	return 0;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t xb_now_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

int64_t xb_now_wall(void)
{
	return (int64_t)time(NULL);
}

int64_t xb_mono_to_wall(uint64_t mono_ns)
{
	if (!mono_ns)
		return 0;
	int64_t delta_ns = (int64_t)(mono_ns - xb_now_mono_ns());

	/* Round up: a ban never ends earlier for having been converted. */
	return (int64_t)(clock_ns(CLOCK_REALTIME) / NSEC_PER_SEC) +
	       (delta_ns + (int64_t)NSEC_PER_SEC - 1) / (int64_t)NSEC_PER_SEC;
}

uint64_t xb_wall_to_mono(int64_t wall_s)
{
	if (!wall_s)
		return 0;
	int64_t now_wall_ns = (int64_t)clock_ns(CLOCK_REALTIME);
	int64_t mono = (int64_t)xb_now_mono_ns() + (wall_s * (int64_t)NSEC_PER_SEC - now_wall_ns);

	return mono > 1 ? (uint64_t)mono : 1;  /* already past: expires at once */
}

const char *xb_fmt_duration(uint64_t secs, char *buf, unsigned len)
{
	uint64_t d = secs / 86400, h = secs % 86400 / 3600, m = secs % 3600 / 60, s = secs % 60;

	if (d)
		snprintf(buf, len, "%llud%lluh", (unsigned long long)d, (unsigned long long)h);
	else if (h)
		snprintf(buf, len, "%lluh%llum", (unsigned long long)h, (unsigned long long)m);
	else if (m)
		snprintf(buf, len, "%llum%llus", (unsigned long long)m, (unsigned long long)s);
	else
		snprintf(buf, len, "%llus", (unsigned long long)s);
	return buf;
}

const char *xb_fmt_wall(int64_t t, char *buf, size_t len)
{
	struct tm tm;
	time_t tt = t;

	if (!t) {
		snprintf(buf, len, "never");
		return buf;
	}
	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

int xb_grow(void *arr, size_t *cap, size_t n, size_t elsz, size_t min)
{
	void **p = arr, *np;
	size_t ncap;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : min;
	if (ncap <= n || ncap > SIZE_MAX / elsz)
		return -ENOMEM;
	np = realloc(*p, ncap * elsz);
	if (!np)
		return -ENOMEM;
	*p = np;
	*cap = ncap;
	return 0;
}

/* Read fd to its end into *buf (one byte kept for the NUL); *len grows. */
static int read_all(int fd, size_t max_bytes, char **buf, size_t *len, size_t *cap)
{
	for (;;) {
		size_t room;
		ssize_t n;
		int err = xb_grow(buf, cap, *len + 1, 1, 65536);

		if (err)
			return err;
		room = *cap - *len - 1;
		if (room > max_bytes - *len + 1)
			room = max_bytes - *len + 1;    /* one byte past max tells "too long" */
		n = read(fd, *buf + *len, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		*len += (size_t)n;
		if (*len > max_bytes)
			return -EFBIG;
	}
}

int xb_read_file(const char *path, size_t max_bytes, char **buf, size_t *len)
{
	char *b = NULL;
	size_t n = 0, cap = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	err = read_all(fd, max_bytes, &b, &n, &cap);
	close(fd);
	if (err) {
		free(b);
		return err;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}
