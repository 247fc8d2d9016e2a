// SPDX-License-Identifier: GPL-2.0
/*
 * bench_grow: the exact-ban tables growing under a flood (scripts/bench-grow.sh).
 *
 *   bench_grow grow --family 4|6 --base ADDR --steps 10000,40000 [--passed-cmd CMD]
 *       For each step S: fill the family's table with bans of base, base+1,
 *       ... until it holds S (it must then be full), note every ban (end and
 *       counters), then ban one more: the table grows. Prints the growth's
 *       time by step, how long the writers' lock was held, the frames the
 *       program dropped meanwhile, what CMD (a shell command printing a
 *       count: frames of banned sources that got past XDP) counted during
 *       it, and whether every noted ban is still there with its end and its
 *       counters not below what they were. Exit 1 if a ban was lost or reset
 *       or a banned frame passed. The addresses from base on must not be
 *       banned yet (one call per family and base).
 *   bench_grow fill --to N [--base4 ADDR --base6 ADDR] [--reason TEXT]
 *       Both families to N bans each, in chunks (the tables grow 4x as they
 *       fill, as under a daemon), then print the kernel memory of every
 *       pinned map (bytes_memlock from fdinfo): total, ban4+ban6, cnt4+cnt6,
 *       meta, and the capacities.
 *   bench_grow verify
 *       After the flood: the bans' counters add up to the program's dropped.
 *
 * Works on the pins of $XDPBAN_PIN_DIR. IPv4 bans count up from base within
 * 198.18.0.0/15, then go on in 240.0.0.0/4 (reserved, never routed: these
 * bans see no frame); IPv6 ones count up in the low 32 bits.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "dataplane/internal.h"
#include "common/util.h"

#define V4_END   0xc6140000u    /* 198.20.0.0: the end of 198.18.0.0/15 */
#define V4_SPILL 0xf0000000u    /* 240.0.0.0 */
#define CHUNK    8192u          /* bans per batch: as the daemon's, no bulk growth */

static struct xb_addr nth(const struct xb_addr *base, uint32_t i)
{
	struct xb_addr a = *base;
	uint32_t v;

	if (a.family == 4) {
		memcpy(&v, a.bytes, 4);
		v = ntohl(v);
		v = (uint64_t)v + i < V4_END ? v + i : V4_SPILL + (i - (V4_END - v));
		v = htonl(v);
		memcpy(a.bytes, &v, 4);
	} else {
		memcpy(&v, a.bytes + 12, 4);
		v = htonl(ntohl(v) + i);
		memcpy(a.bytes + 12, &v, 4);
	}
	return a;
}

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

/* Ban base+from .. base+to-1. */
static int ban_range(struct xb_dp *dp, const struct xb_addr *base, uint32_t from, uint32_t to,
		     const char *reason)
{
	struct xb_ban_req req = { .expires = xb_now_mono_ns() + 7200ull * 1000000000ull,
				  .flags = XB_BAN_F_MANUAL, .reason = reason };
	struct xb_addr *a = malloc(CHUNK * sizeof(*a));
	int err = a ? 0 : -ENOMEM;

	while (!err && from < to) {
		uint32_t n = to - from < CHUNK ? to - from : CHUNK;
		size_t done;

		for (uint32_t i = 0; i < n; i++)
			a[i] = nth(base, from + i);
		err = xb_dp_ban_batch(dp, a, n, &req, &done);
		from += n;
	}
	free(a);
	return err;
}

struct noted {
	struct xb_addr a;
	uint64_t expires, packets;
};

struct notes {
	struct noted *v;
	size_t n, cap;
	uint64_t sum;
};

static int note(const struct xb_addr *a, const struct xb_ban *b, const struct xb_meta *m,
		void *ctx)
{
	struct notes *ns = ctx;

	(void)m;
	if (!xb_addr_is_single(a))
		return 0;
	if (ns->n == ns->cap) {
		size_t c = ns->cap ? 2 * ns->cap : 65536;
		struct noted *v = realloc(ns->v, c * sizeof(*v));

		if (!v)
			return -ENOMEM;
		ns->v = v, ns->cap = c;
	}
	ns->v[ns->n++] = (struct noted){ *a, b->expires, b->packets };
	ns->sum += b->packets;
	return 0;
}

static long run_count(const char *cmd)
{
	long v = -1;
	FILE *f;

	if (!cmd)
		return 0;
	f = popen(cmd, "r");
	if (!f || fscanf(f, "%ld", &v) != 1)
		v = -1;
	if (f)
		pclose(f);
	return v;
}

static int grow_steps(struct xb_dp *dp, const struct xb_addr *base, const char *steps,
		      const char *passed_cmd)
{
	int family = base->family, bad = 0;
	uint32_t mine = 0;

	for (const char *p = steps; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
		uint32_t step = (uint32_t)strtoul(p, NULL, 10), live, cap, cap1, lost = 0, reset = 0;
		struct notes ns = { 0 };
		uint64_t st0[XB_STAT_MAX], st1[XB_STAT_MAX], t0, t1, sum1 = 0;
		long p0, p1;
		int err;

		xb_dp_table_fill(dp, family, &live, &cap);
		err = step > live ? ban_range(dp, base, mine, mine + (step - live), NULL) : 0;
		mine += step > live ? step - live : 0;
		xb_dp_table_fill(dp, family, &live, &cap);
		if (err || live != step || cap != step) {
			fprintf(stderr, "bench_grow: IPv%d: %u bans in a table of %u, not a full one of %u (%s)\n",
				family, live, cap, step, strerror(-err));
			return 1;
		}
		if ((err = xb_dp_foreach_ban(dp, note, &ns)))
			return 1;
		p0 = run_count(passed_cmd);
		xb_dp_stats(dp, st0);
		/* The ban that does not fit: the growth runs inside it, under the lock. */
		dp_lock(dp);
		t0 = xb_now_mono_ns();
		{
			struct xb_addr a = nth(base, mine++);
			struct xb_ban_req req = { .expires = xb_now_mono_ns() + 7200ull * 1000000000ull,
						  .flags = XB_BAN_F_MANUAL };

			err = xb_dp_ban(dp, &a, &req);
		}
		t1 = xb_now_mono_ns();
		dp_unlock(dp);
		xb_dp_stats(dp, st1);
		p1 = run_count(passed_cmd);
		xb_dp_table_fill(dp, family, &live, &cap1);
		for (size_t i = 0; i < ns.n; i++) {
			struct xb_ban b;

			if (xb_dp_lookup(dp, &ns.v[i].a, &b) || b.expires != ns.v[i].expires) {
				lost++;
				continue;
			}
			reset += b.packets < ns.v[i].packets;
			sum1 += b.packets;
		}
		printf("IPv%d %u -> %u bans: growth %.1f ms (new program %.1f, copy and staging %.1f, "
		       "switch %.2f, RCU wait %.1f, carry and pins %.1f), writers' lock held %.1f ms; "
		       "banned frames passed %ld, dropped meanwhile %llu; bans (both families) kept %zu of %zu, "
		       "counters %llu before, %llu after, %u reset\n",
		       family, cap, cap1, ms(dp->grow_times.total), ms(dp->grow_times.load),
		       ms(dp->grow_times.copy), ms(dp->grow_times.swap), ms(dp->grow_times.wait),
		       ms(dp->grow_times.finish), ms(t1 - t0), p0 < 0 || p1 < 0 ? -1 : p1 - p0,
		       (unsigned long long)(st1[XB_STAT_DROPPED] - st0[XB_STAT_DROPPED]),
		       ns.n - lost, ns.n, (unsigned long long)ns.sum, (unsigned long long)sum1, reset);
		if (err || cap1 <= cap) {
			fprintf(stderr, "bench_grow: IPv%d: the ban past %u did not grow the table (%s)\n",
				family, cap, strerror(-err));
			bad = 1;
		}
		if (lost || reset || p0 < 0 || p1 < 0 || p1 != p0)
			bad = 1;
		free(ns.v);
	}
	return bad;
}

/* bytes_memlock of the map behind fd (the kernel's own figure, fdinfo). */
static unsigned long long memlock(int fd)
{
	char path[64], line[256];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

static int print_memory(struct xb_dp *dp, uint32_t n)
{
	unsigned long long total = 0, tabs = 0, cnts = 0, meta = 0;
	const char *dir = xb_dp_pin_dir(dp);
	uint32_t l4, c4, l6, c6;
	struct dirent *de;
	char path[PATH_MAX];
	DIR *d = opendir(dir);

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);
		unsigned long long m;
		int fd;

		if (de->d_name[0] == '.' || !strncmp(de->d_name, XB_LINK_PREFIX, strlen(XB_LINK_PREFIX)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
			m = memlock(fd);
			total += m;
			if (!strcmp(de->d_name, XB_MAP_BAN4) || !strcmp(de->d_name, XB_MAP_BAN6))
				tabs += m;
			else if (!strcmp(de->d_name, XB_MAP_CNT4) || !strcmp(de->d_name, XB_MAP_CNT6))
				cnts += m;
			else if (!strcmp(de->d_name, XB_MAP_META))
				meta += m;
		}
		close(fd);
	}
	closedir(d);
	xb_dp_table_fill(dp, 4, &l4, &c4);
	xb_dp_table_fill(dp, 6, &l6, &c6);
	printf("memory %u bans per family: total %.1f MiB, ban4+ban6 %.1f MiB, cnt4+cnt6 %.1f MiB, "
	       "meta %.1f MiB; capacity %u/%u (held %u/%u)\n", n, total / 1048576.0,
	       tabs / 1048576.0, cnts / 1048576.0, meta / 1048576.0, c4, c6, l4, l6);
	return 0;
}

struct sum { uint64_t packets; };

static int add_up(const struct xb_addr *a, const struct xb_ban *b, const struct xb_meta *m,
		  void *ctx)
{
	(void)a, (void)m;
	((struct sum *)ctx)->packets += b->packets;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "family", required_argument, 0, 'f' }, { "base", required_argument, 0, 'b' },
		{ "steps", required_argument, 0, 's' }, { "passed-cmd", required_argument, 0, 'p' },
		{ "to", required_argument, 0, 't' }, { "base4", required_argument, 0, '4' },
		{ "base6", required_argument, 0, '6' }, { "reason", required_argument, 0, 'r' },
		{ 0 }
	};
	const char *cmd = argc > 1 ? argv[1] : "", *base = NULL, *steps = "10000,40000";
	const char *passed = NULL, *reason = NULL, *b4 = "198.19.0.0", *b6 = "2001:db8:2::";
	struct xb_addr ba, a4, a6;
	uint32_t to = 0;
	struct xb_dp *dp;
	int c, family = 4, rc = 0;

	optind = 2;
	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (c) {
		case 'f': family = atoi(optarg); break;
		case 'b': base = optarg; break;
		case 's': steps = optarg; break;
		case 'p': passed = optarg; break;
		case 't': to = (uint32_t)strtoul(optarg, NULL, 10); break;
		case '4': b4 = optarg; break;
		case '6': b6 = optarg; break;
		case 'r': reason = optarg; break;
		default: return 2;
		}
	}
	if (xb_dp_open(&(struct xb_dp_opts){ 0 }, &dp))
		return 1;
	if (!strcmp(cmd, "grow")) {
		if (!base || xb_addr_parse(base, &ba, false) || ba.family != family) {
			fprintf(stderr, "bench_grow: --base: an IPv%d address\n", family);
			rc = 2;
		} else {
			rc = grow_steps(dp, &ba, steps, passed);
		}
	} else if (!strcmp(cmd, "fill")) {
		uint32_t l4, c4, l6, c6;

		if (xb_addr_parse(b4, &a4, false) || xb_addr_parse(b6, &a6, false)) {
			rc = 2;
		} else {
			xb_dp_table_fill(dp, 4, &l4, &c4);
			xb_dp_table_fill(dp, 6, &l6, &c6);
			/* Each family from where it stands (bans of this base only). */
			if ((to > l4 && ban_range(dp, &a4, l4, to, reason)) ||
			    (to > l6 && ban_range(dp, &a6, l6, to, reason)))
				rc = 1;
			else
				rc = print_memory(dp, to) ? 1 : 0;
		}
	} else if (!strcmp(cmd, "verify")) {
		uint64_t st[XB_STAT_MAX];
		struct sum s = { 0 };

		xb_dp_foreach_ban(dp, add_up, &s);
		xb_dp_stats(dp, st);
		printf("bans' counters %llu, dropped %llu\n", (unsigned long long)s.packets,
		       (unsigned long long)st[XB_STAT_DROPPED]);
		rc = s.packets != st[XB_STAT_DROPPED];
	} else {
		fprintf(stderr, "usage: bench_grow grow|fill|verify ...\n");
		rc = 2;
	}
	xb_dp_close(dp);
	return rc;
}
