// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <bpf/libbpf.h>

#include "common/log.h"

static enum xb_log_level log_level = XB_LOG_INFO;
static int log_ts;

void xb_log_set_level(enum xb_log_level lvl) { log_level = lvl; }
enum xb_log_level xb_log_get_level(void) { return log_level; }
void xb_log_set_timestamps(int on) { log_ts = on; }

/* Lines held by xb_log_hold's thread (one at a time) until xb_log_release. */
static __thread bool held;
static char hold_buf[64 * 1024];
static size_t hold_len;

static void hold_flush(void)
{
	if (hold_len)
		fwrite(hold_buf, 1, hold_len, stderr);
	hold_len = 0;
}

void xb_log_hold(void) { held = true; }
void xb_log_release(void)
{
	hold_flush();
	held = false;
}

static void emit(enum xb_log_level lvl, const char *line, size_t n)
{
	if (!held) {
		fwrite(line, 1, n, stderr);
		return;
	}
	if (hold_len + n > sizeof(hold_buf))
		hold_flush();
	memcpy(hold_buf + hold_len, line, n);
	hold_len += n;
	/* A warning goes out at once (with what came before it). */
	if (lvl == XB_LOG_WARN)
		hold_flush();
}

/* One write per line: stderr is unbuffered, and a manager deciding
 * thousands of reports a second paid two or three syscalls a line (lines
 * from two threads do not interleave either). */
static void vlog(enum xb_log_level lvl, const char *fmt, va_list ap)
{
	char line[1024];
	size_t n = 0;
	va_list cp;
	int m;

	if (lvl > log_level)
		return;
	if (log_ts) {
		struct timespec ts;
		struct tm tm;
		char buf[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
		m = snprintf(line, sizeof(line), "%s.%03ld ", buf, ts.tv_nsec / 1000000);
		n = m > 0 ? (size_t)m : 0;
	}
	va_copy(cp, ap);
	m = vsnprintf(line + n, sizeof(line) - n, fmt, cp);
	va_end(cp);
	if (m >= 0 && (size_t)m < sizeof(line) - n) {
		emit(lvl, line, n + (size_t)m);
		return;
	}
	/* Longer than the buffer: in two writes, as before. */
	hold_flush();
	fwrite(line, 1, n, stderr);
	vfprintf(stderr, fmt, ap);
}

void xb_log(enum xb_log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(lvl, fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf's warnings are noise unless the user asked for -v. */
	vlog(XB_LOG_DEBUG, fmt, ap);
	(void)level;
	return 0;
}

void xb_log_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
