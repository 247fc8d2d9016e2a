// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <bpf/libbpf.h>

#include "common/log.h"

static enum xb_log_level log_level = XB_LOG_INFO;
static int log_ts;

void xb_log_set_level(enum xb_log_level lvl) { log_level = lvl; }
enum xb_log_level xb_log_get_level(void) { return log_level; }
void xb_log_set_timestamps(int on) { log_ts = on; }

static void vlog(enum xb_log_level lvl, const char *fmt, va_list ap)
{
	if (lvl > log_level)
		return;
	if (log_ts) {
		struct timespec ts;
		struct tm tm;
		char buf[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ld ", buf, ts.tv_nsec / 1000000);
	}
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
