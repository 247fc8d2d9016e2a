// SPDX-License-Identifier: GPL-2.0
/*
 * bench_latency: the daemon's two timings.
 *
 *   bench_latency latency LOGFILE COUNT
 *     For COUNT fresh addresses (2001:db8::/32): append one priming
 *     "Invalid user" line, then the line that completes the correlation
 *     (frequency 2 in the driver's local rule), and time from that write()
 *     to the ban being present in the pinned map (polled). Needs a running
 *     `xdpban run` following LOGFILE with the same $XDPBAN_PIN_DIR.
 *     Prints p50, p90, p99 and max in ms.
 *
 *   bench_latency restore STATEDIR COUNT
 *     Writes COUNT bans into a state database (expiries spread over 1000
 *     distinct seconds, like bans made in bursts), empties the maps, then
 *     times xb_enforce_restore() into empty maps and again with every ban
 *     already present (the kill -9 restart case).
 *
 * Addresses only from 2001:db8::/32; nothing is sent on any network.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>

#include "dataplane/dataplane.h"
#include "pipeline/enforce.h"
#include "policy/state.h"
#include "common/util.h"
#include "xdpban.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* CPU seconds of this process (user + system): on a shared, loaded machine
 * the wall time also counts the others' work. */
static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static struct xb_addr v6(uint32_t i)
{
	struct xb_addr a = { .family = 6, .prefixlen = 128 };

	/* 2001:db8:b:<i>::1 style, each in its own /64 (no aggregation). */
	a.bytes[0] = 0x20; a.bytes[1] = 0x01; a.bytes[2] = 0x0d; a.bytes[3] = 0xb8;
	a.bytes[4] = 0x00; a.bytes[5] = 0x0b;
	a.bytes[6] = i >> 8; a.bytes[7] = i;
	a.bytes[13] = i >> 16;
	a.bytes[15] = 1;
	return a;
}

static int append(int fd, const char *addr, int n)
{
	char line[256];
	time_t t = time(NULL);
	struct tm tm;
	char ts[32];
	int len;

	localtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%b %e %H:%M:%S", &tm);
	len = snprintf(line, sizeof(line), "%s bench sshd[%d]: Invalid user bench%d from %s port %d\n",
		       ts, 2000 + n, n, addr, 50000 + n);
	return write(fd, line, len) == len ? 0 : -errno;
}

/* A ban missing after 1 s: say which one, and whether (when) it came. */
static void late(struct xb_dp *dp, const struct xb_addr *a, unsigned i, double t0)
{
	char buf[XB_ADDRSTRLEN];
	struct xb_ban b;

	while (xb_dp_lookup(dp, a, &b) != 0 && now_ms() < t0 + 5000)
		usleep(1000);
	xb_addr_str(a, buf, sizeof(buf));
	if (xb_dp_lookup(dp, a, &b) == 0)
		printf("missed: ban %u (%s) in the map only after %.0f ms\n", i, buf, now_ms() - t0);
	else
		printf("missed: ban %u (%s) not in the map after 5 s\n", i, buf);
}

static int latency(const char *log, unsigned count)
{
	struct xb_dp_opts o = { 0 };
	struct xb_dp *dp;
	double *lat;
	unsigned missed = 0, got = 0;
	int fd, err;

	lat = calloc(count, sizeof(*lat));
	if (!lat)
		return -ENOMEM;
	fd = open(log, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0 || (err = xb_dp_open(&o, &dp))) {
		err = fd < 0 ? -errno : err;
		fprintf(stderr, "bench_latency: %s\n", strerror(-err));
		free(lat);
		return err;
	}
	for (unsigned i = 0; i < count; i++) {
		struct xb_addr a = v6(i);
		struct xb_ban b;
		char buf[XB_ADDRSTRLEN];
		double t0, deadline;

		xb_addr_str(&a, buf, sizeof(buf));
		if ((err = append(fd, buf, 1)))
			break;
		usleep(2000);           /* the priming line is not what we time */
		t0 = now_ms();
		if ((err = append(fd, buf, 2)))
			break;
		deadline = t0 + 1000;
		while (xb_dp_lookup(dp, &a, &b) != 0) {
			if (now_ms() > deadline)
				break;
			usleep(20);
		}
		if (now_ms() > deadline) {
			missed++;
			late(dp, &a, i, t0);
			continue;
		}
		lat[got++] = now_ms() - t0;
	}
	close(fd);
	xb_dp_close(dp);
	if (err) {
		fprintf(stderr, "bench_latency: write: %s\n", strerror(-err));
		free(lat);
		return err;
	}
	qsort(lat, got, sizeof(*lat), cmp_double);
	if (got)
		printf("reaction latency, log line -> ban in map, %u bans: p50 %.3f ms, p90 %.3f ms, "
		       "p99 %.3f ms, max %.3f ms (missed %u)\n", got, lat[got / 2], lat[got * 9 / 10],
		       lat[got * 99 / 100], lat[got - 1], missed);
	else
		printf("reaction latency: no ban appeared (missed %u)\n", missed);
	free(lat);
	return missed ? -ETIMEDOUT : 0;
}

static int count_row(const struct xb_state_ban *b, void *ctx)
{
	(void)b;
	++*(size_t *)ctx;
	return 0;
}

static int restore(const char *dir, unsigned count)
{
	struct xb_dp_opts o = { 0 };
	struct xb_restore_stats rs;
	struct xb_enforce e;
	struct xb_state *st;
	struct xb_dp *dp;
	int64_t now = xb_now_wall();
	double t0, t1, c0;
	int err;

	if ((err = xb_state_open(dir, &st)))
		return err;
	t0 = now_ms();
	err = xb_state_begin(st);
	for (unsigned i = 0; i < count && !err; i++) {
		struct xb_state_ban b = { .addr = v6(i), .cmd = "firewall-drop", .rule = 5712,
					  .offence = 1, .flags = XB_BAN_F_DAEMON, .created = now,
					  .expires = now + 3600 + i % 1000 };

		err = xb_state_ban_put(st, &b);
	}
	if (!err)
		err = xb_state_commit(st);
	if (err || (err = xb_dp_open(&o, &dp))) {
		fprintf(stderr, "bench_latency: %s\n", strerror(-err));
		xb_state_close(st);
		return err;
	}
	printf("restore: %u bans written to the database in %.2f s\n", count, (now_ms() - t0) / 1e3);
	xb_dp_flush(dp);
	{
		size_t rows = 0;

		t0 = now_ms();
		err = xb_state_ban_foreach_active(st, xb_now_wall(), count_row, &rows);
		printf("restore: reading %zu rows alone takes %.3f s\n", rows, (now_ms() - t0) / 1e3);
	}
	e = (struct xb_enforce){ .dp = dp, .st = st };
	t0 = now_ms();
	c0 = cpu_s();
	err = xb_enforce_restore(&e, xb_now_wall(), &rs);
	t1 = now_ms();
	if (!err)
		printf("restore into empty maps: %zu bans in %.3f s (cpu %.3f s; %zu failed)\n",
		       rs.inserted, (t1 - t0) / 1e3, cpu_s() - c0, rs.failed);
	if (!err) {
		t0 = now_ms();
		c0 = cpu_s();
		err = xb_enforce_restore(&e, xb_now_wall(), &rs);
		t1 = now_ms();
		if (!err)
			printf("restore with every ban present (restart): %zu checked, %zu inserted "
			       "in %.3f s (cpu %.3f s)\n", rs.present, rs.inserted, (t1 - t0) / 1e3,
			       cpu_s() - c0);
	}
	xb_enforce_free(&e);
	xb_dp_flush(dp);
	xb_dp_close(dp);
	xb_state_close(st);
	return err;
}

int main(int argc, char **argv)
{
	unsigned long n;
	int err;

	if (argc != 4 || (strcmp(argv[1], "latency") && strcmp(argv[1], "restore"))) {
		fprintf(stderr, "usage: bench_latency latency LOGFILE COUNT | restore STATEDIR COUNT\n");
		return 2;
	}
	n = strtoul(argv[3], NULL, 10);
	if (!n || n > 4000000) {
		fprintf(stderr, "bench_latency: COUNT must be 1..4000000\n");
		return 2;
	}
	err = !strcmp(argv[1], "latency") ? latency(argv[2], n) : restore(argv[2], n);
	return err ? 1 : 0;
}
