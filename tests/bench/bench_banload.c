// SPDX-License-Identifier: GPL-2.0
/*
 * bench_banload: write a file of addresses straight into xdpban's pinned
 * exact-ban maps (PIN_DIR/ban4, PIN_DIR/ban6) with batched updates. The
 * traffic benchmark uses it only when `xdpban ban --file` did not store the
 * whole list, so the benchmark measures the filter even while the CLI is
 * being worked on. Keys and values follow bpf/xdpban.h.
 *
 *   bench_banload PIN_DIR FILE TTL_SECONDS
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "xdpban.h"

static int flush_batch(int fd, void *keys, struct xb_ban *vals, __u32 n, const char *what)
{
	__u32 cnt = n;

	if (!n)
		return 0;
	if (bpf_map_update_batch(fd, keys, vals, &cnt, NULL) || cnt != n) {
		int err = errno ? -errno : -EIO;

		fprintf(stderr, "bench_banload: %s batch update: %s\n", what, strerror(-err));
		return err;
	}
	return 0;
}

int main(int argc, char **argv)
{
	enum { CHUNK = 4096 };
	static __u32 k4[CHUNK];
	static struct xb_in6 k6[CHUNK];
	static struct xb_ban vals[CHUNK];
	char path[512], line[128];
	unsigned long long total = 0;
	__u32 n4 = 0, n6 = 0;
	struct timespec ts;
	int fd4, fd6, err = 0;
	FILE *f;

	if (argc != 4) {
		fprintf(stderr, "usage: bench_banload PIN_DIR FILE TTL_SECONDS\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/%s", argv[1], XB_MAP_BAN4);
	fd4 = bpf_obj_get(path);
	snprintf(path, sizeof(path), "%s/%s", argv[1], XB_MAP_BAN6);
	fd6 = bpf_obj_get(path);
	if (fd4 < 0 || fd6 < 0) {
		fprintf(stderr, "bench_banload: %s/%s or %s: %s\n", argv[1], XB_MAP_BAN4, XB_MAP_BAN6,
			strerror(errno));
		return 3;
	}
	f = fopen(argv[2], "r");
	if (!f) {
		fprintf(stderr, "bench_banload: %s: %s\n", argv[2], strerror(errno));
		return 3;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	for (int i = 0; i < CHUNK; i++) {
		vals[i].expires = (ts.tv_sec + strtoull(argv[3], NULL, 10)) * 1000000000ULL +
				  ts.tv_nsec;
		vals[i].flags = XB_BAN_F_MANUAL;
	}
	while (!err && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!*line)
			continue;
		if (inet_pton(AF_INET, line, &k4[n4]) == 1) {
			if (++n4 == CHUNK) {
				err = flush_batch(fd4, k4, vals, n4, XB_MAP_BAN4);
				n4 = 0;
			}
		} else if (inet_pton(AF_INET6, line, k6[n6].addr) == 1) {
			if (++n6 == CHUNK) {
				err = flush_batch(fd6, k6, vals, n6, XB_MAP_BAN6);
				n6 = 0;
			}
		} else {
			fprintf(stderr, "bench_banload: %s: bad address '%.64s'\n", argv[2], line);
			err = -EINVAL;
		}
		total++;
	}
	if (!err)
		err = flush_batch(fd4, k4, vals, n4, XB_MAP_BAN4);
	if (!err)
		err = flush_batch(fd6, k6, vals, n6, XB_MAP_BAN6);
	fclose(f);
	if (!err)
		printf("bench_banload: %llu bans written\n", total);
	return err ? 1 : 0;
}
