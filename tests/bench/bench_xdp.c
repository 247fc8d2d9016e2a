// SPDX-License-Identifier: GPL-2.0
/*
 * bench_xdp: per-packet cost of the XDP filter with BPF_PROG_TEST_RUN.
 *
 * The same four frames (IPv4/IPv6 x banned/not banned) run through three
 * programs, interleaved round by round so that machine noise hits them alike:
 *   floor    - xdpnop, an XDP program that only returns XDP_PASS
 *   xdpban   - bpf/xdpban.bpf.c, its maps filled with 1,000 .. 1,000,000 bans
 *   xdp-filter - Debian's xdp-filter, loaded by scripts/bench.sh and filled
 *                with the same addresses (up to the 10,000 its maps hold);
 *                passed in by program id
 * Each run repeats one frame --repeat times in the kernel; its time is this
 * thread's CPU time around the call over repeat (run_once: the kernel's own
 * figure is whole ns). We print medians over the rounds, each program's time
 * above the floor of the same round, and the ratio xdpban / xdp-filter.
 *
 *   bench_xdp --list N                  print the first N banned addresses
 *   bench_xdp [--bans 1000,100000,1000000] [--repeat N] [--rounds N]
 *             [--xdp-filter COUNT:PROGID]... [--parts] [--probes N] [--out FILE]
 *             [--baseline OLD.bpf.o]
 *   --parts: also what each part of the pass and drop paths costs (path_parts)
 *   --baseline: also an older build of xdpban.bpf.c, on the same maps
 *   --probes N: also the slots read per lookup over N banned and N other
 *             addresses at the highest load (probe_dist)
 *
 * Banned addresses: IPv4 from 198.18.0.0/15 (its last /24 kept free for the
 * frames that must pass), then, beyond those 130,816, from 240.0.0.0/4
 * (reserved, never routed). IPv6 from 2001:db8:1::/96. No frame ever leaves
 * the kernel: BPF_PROG_TEST_RUN without live frames only returns a verdict.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <sys/utsname.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xdpban.h"
#include "xdpban.skel.h"
#include "dataplane/dataplane.h"
#include "dataplane/bantab.h"
#include "xdpnop.skel.h"
#include "xdpban_omit_counters.skel.h"
#include "xdpban_omit_expiry.skel.h"
#include "xdpban_omit_stats.skel.h"
#include "xdpban_omit_all.skel.h"
#include "xdpban_omit_hash.skel.h"
#include "xdpban_omit_bucket2.skel.h"
#include "xdpban_omit_retry.skel.h"
#include "xdpban_omit_lookup.skel.h"

#define V4_RANGE1_N     (131072u - 256u)        /* 198.18.0.0 .. 198.19.254.255 */
#define V4_RANGE1_BASE  0xc6120000u             /* 198.18.0.0 */
#define V4_RANGE2_BASE  0xf0000000u             /* 240.0.0.0 */
#define V4_PASS_SRC     0xc613ff01u             /* 198.19.255.1: never banned */
#define V4_DST          0xc613fffeu             /* 198.19.255.254 */
#define MAX_XF          4
#define MAX_LEVELS      8
#define MAX_ROUNDS      256

enum { F_V4_PASS, F_V4_DROP, F_V6_PASS, F_V6_DROP, F_MAX };
static const char *frame_name[F_MAX] = { "IPv4 pass", "IPv4 drop", "IPv6 pass", "IPv6 drop" };
enum { P_FLOOR, P_XDPBAN, P_BASE, P_XF, P_MAX };

static __u32 ban4_addr(__u32 i)  /* network order */
{
	return htonl(i < V4_RANGE1_N ? V4_RANGE1_BASE + i : V4_RANGE2_BASE + (i - V4_RANGE1_N));
}

static void ban6_addr(__u32 i, __u8 out[16])
{
	static const __u8 base[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1 };
	__u32 low = htonl(i + 1);

	memcpy(out, base, 16);
	memcpy(out + 12, &low, 4);
}

static const __u8 v6_pass_src[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 2, [15] = 1 };
static const __u8 v6_dst[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 2, [15] = 0xfe };

/* A TCP SYN to port 22: what an SSH brute-forcer sends first. */
static size_t build_frame_from(__u8 *buf, int v6, int banned, __u32 ban)
{
	struct ethhdr *eth = (void *)buf;
	struct tcphdr *tcp;
	size_t len;

	memset(buf, 0, 128);
	memcpy(eth->h_dest, "\x02\x00\x00\x00\x00\x02", ETH_ALEN);
	memcpy(eth->h_source, "\x02\x00\x00\x00\x00\x01", ETH_ALEN);
	if (!v6) {
		struct iphdr *ip = (void *)(eth + 1);

		eth->h_proto = htons(ETH_P_IP);
		ip->version = 4;
		ip->ihl = 5;
		ip->ttl = 64;
		ip->protocol = IPPROTO_TCP;
		ip->tot_len = htons(sizeof(*ip) + sizeof(*tcp));
		ip->saddr = banned ? ban4_addr(ban) : htonl(V4_PASS_SRC);
		ip->daddr = htonl(V4_DST);
		tcp = (void *)(ip + 1);
	} else {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		eth->h_proto = htons(ETH_P_IPV6);
		ip6->version = 6;
		ip6->hop_limit = 64;
		ip6->nexthdr = IPPROTO_TCP;
		ip6->payload_len = htons(sizeof(*tcp));
		if (banned)
			ban6_addr(ban, ip6->saddr.s6_addr);
		else
			memcpy(ip6->saddr.s6_addr, v6_pass_src, 16);
		memcpy(ip6->daddr.s6_addr, v6_dst, 16);
		tcp = (void *)(ip6 + 1);
	}
	tcp->source = htons(40000);
	tcp->dest = htons(22);
	tcp->seq = htonl(1);
	tcp->doff = 5;
	tcp->syn = 1;
	tcp->window = htons(64240);
	len = (__u8 *)(tcp + 1) - buf;
	return len < 60 ? 60 : len;     /* pad to the Ethernet minimum */
}

static size_t build_frame(__u8 *buf, int v6, int banned)
{
	return build_frame_from(buf, v6, banned, 7);
}

struct frame {
	__u8 data[128];
	size_t len;
};

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/*
 * Mean ns per run of prog on frame; *verdict gets the XDP action. The kernel
 * reports whole ns (it divides by repeat), too coarse for a program a few ns
 * above the floor, so this thread's CPU time around the whole call is
 * divided by repeat instead. CPU time leaves out the time the thread was
 * preempted (as the kernel's timer does). It takes in the call's fixed cost:
 * about 1.6 ms of CPU whenever repeat > 1 (15 us with repeat 1: the kernel
 * readies the XDP dispatcher for a repeated run), 0.8 ns a run at 2,000,000
 * runs, the same for every program: it cancels above the floor, and its
 * jitter is why a measurement takes millions of runs.
 */
static int run_once(int prog_fd, const struct frame *f, __u32 repeat, double *ns, __u32 *verdict)
{
	__u8 out[256];
	LIBBPF_OPTS(bpf_test_run_opts, o,
		.data_in = f->data, .data_size_in = f->len,
		.data_out = out, .data_size_out = sizeof(out),
		.repeat = repeat);
	double t0 = cpu_now(), t1;
	int err = bpf_prog_test_run_opts(prog_fd, &o);

	t1 = cpu_now();
	if (err)
		return -errno;
	*ns = (t1 - t0) / repeat;
	*verdict = o.retval;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
	double s[MAX_ROUNDS];

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* memlock of a map as the kernel accounts it (/proc/self/fdinfo). */
static long long map_memlock(int fd)
{
	char path[64], line[256];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %lld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* Insert bans [from, to) into the ban4 and ban6 tables, as xb_dp_ban does. */
static int fill_bans(struct xb_tab *t4, struct xb_tab *t6, __u32 from, __u32 to, __u64 expires)
{
	struct xb_ban v = { .expires = expires, .rule = 5712, .offence = 1,
			    .flags = XB_BAN_F_DAEMON };

	for (__u32 i = from; i < to; i++) {
		__u32 a4 = ban4_addr(i);
		struct xb_in6 a6;
		int err;

		ban6_addr(i, a6.addr);
		if ((err = xb_tab_put(t4, &a4, &v, NULL)) || (err = xb_tab_put(t6, &a6, &v, NULL))) {
			fprintf(stderr, "bench_xdp: ban %u: %s\n", i, strerror(-err));
			return err;
		}
	}
	return 0;
}

/* Entries of a map, counted by walking its keys (xdp-filter's are small). */
static long count_keys(int fd, size_t key_size)
{
	__u8 cur[64], next[64];
	long n = 0;
	void *prev = NULL;

	if (key_size > sizeof(cur))
		return -EINVAL;
	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(cur, next, key_size);
		prev = cur;
		n++;
	}
	return n;
}

struct xf {
	__u32 count;            /* addresses per family loaded by the script */
	__u32 id;
	int fd;
	char name[BPF_OBJ_NAME_LEN];
	long n4, n6;            /* entries found in its filter maps */
};

/* Open an xdp-filter program by id and count what its filter maps hold. */
static int xf_open(struct xf *x)
{
	struct bpf_prog_info pi = {};
	__u32 len = sizeof(pi), ids[16] = {}, nmaps;

	x->fd = bpf_prog_get_fd_by_id(x->id);
	if (x->fd < 0) {
		int err = -errno;

		fprintf(stderr, "bench_xdp: xdp-filter program id %u: %s\n", x->id, strerror(-err));
		return err;
	}
	if (bpf_obj_get_info_by_fd(x->fd, &pi, &len))
		return -errno;
	snprintf(x->name, sizeof(x->name), "%s", pi.name);
	nmaps = pi.nr_map_ids < 16 ? pi.nr_map_ids : 16;
	memset(&pi, 0, sizeof(pi));
	pi.nr_map_ids = nmaps;
	pi.map_ids = (__u64)(unsigned long)ids;
	len = sizeof(pi);
	if (bpf_obj_get_info_by_fd(x->fd, &pi, &len))
		return -errno;
	x->n4 = x->n6 = -1;
	for (__u32 i = 0; i < nmaps; i++) {
		struct bpf_map_info mi = {};
		__u32 mlen = sizeof(mi);
		int mfd = bpf_map_get_fd_by_id(ids[i]);

		if (mfd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(mfd, &mi, &mlen)) {
			if (!strcmp(mi.name, "filter_ipv4"))
				x->n4 = count_keys(mfd, mi.key_size);
			else if (!strcmp(mi.name, "filter_ipv6"))
				x->n6 = count_keys(mfd, mi.key_size);
		}
		close(mfd);
	}
	return 0;
}

static const char *verdict_name(__u32 v)
{
	static const char *n[] = { "ABORTED", "DROP", "PASS", "TX", "REDIRECT" };

	return v < 5 ? n[v] : "?";
}

/* --- what the pass and drop paths spend (--parts) ------------------------- */

/*
 * The product's program built without one part of its pass or drop path
 * (tests/bench/xdpban_omit_*.bpf.c), loaded on the product's own maps, so
 * every variant looks up the same tables and the difference to the product
 * is what that part costs. Each runs alone on one CPU, then (drop) on both
 * CPUs at once: the same ban (the two CPUs' atomic adds fight over its cache
 * line) and two different bans (only the machine is shared). --baseline
 * loads an older build of the program the same way.
 */
struct part {
	const char *name;
	const void *(*elf)(size_t *sz);
	struct bpf_object *obj;
	int fd;
};

#define PART(n, what) { .name = what, .elf = (const void *(*)(size_t *))xdpban_omit_##n##__elf_bytes }

/* Load the object in elf (or, NULL, the file path) on main_obj's maps. */
static int obj_load_on(struct bpf_object **objp, const void *elf, size_t sz, const char *path,
		       struct bpf_object *main_obj, __u32 percpu, int *fd)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "xdpban");
	struct bpf_program *prog;
	struct bpf_map *map;
	struct bpf_object *obj;
	int err;

	obj = *objp = elf ? bpf_object__open_mem(elf, sz, &oo) : bpf_object__open_file(path, &oo);
	if (!obj)
		return -errno;
	bpf_object__for_each_map(map, obj) {
		struct bpf_map *m;

		if (bpf_map__is_internal(map))
			continue;
		m = bpf_object__find_map_by_name(main_obj, bpf_map__name(map));
		if (!m)
			return -ENOENT;
		if ((err = bpf_map__reuse_fd(map, bpf_map__fd(m))))
			return err;
	}
	/* Count where the product does (xb_cnt_percpu, the one .rodata value). */
	map = bpf_object__find_map_by_name(obj, ".rodata");
	if (map) {
		size_t vsz;
		const void *v = bpf_map__initial_value(map, &vsz);
		__u32 ro[16];

		if (!v || vsz != sizeof(__u32) * (vsz / sizeof(__u32)) || vsz > sizeof(ro))
			return -EINVAL;
		memcpy(ro, v, vsz);
		ro[0] = percpu;
		if ((err = bpf_map__set_initial_value(map, ro, vsz)))
			return err;
	}
	/* The clock program would re-arm the shared tick; only xdpban runs. */
	prog = bpf_object__find_program_by_name(obj, "xdpban_clock");
	if (prog)
		bpf_program__set_autoload(prog, false);
	if ((err = bpf_object__load(obj)))
		return err;
	prog = bpf_object__find_program_by_name(obj, "xdpban");
	*fd = prog ? bpf_program__fd(prog) : -ENOENT;
	return *fd < 0 ? *fd : 0;
}

static int part_load(struct part *p, struct bpf_object *main_obj, __u32 percpu)
{
	size_t sz;
	const void *elf = p->elf(&sz);

	return obj_load_on(&p->obj, elf, sz, NULL, main_obj, percpu, &p->fd);
}

struct pair_arg {
	int cpu, fd;
	const struct frame *f;
	__u32 repeat;
	pthread_barrier_t *go;
	double ns;
	int err;
};

static void *pair_run(void *a)
{
	struct pair_arg *p = a;
	cpu_set_t set;
	__u32 v;

	CPU_ZERO(&set);
	CPU_SET(p->cpu, &set);
	p->err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set) ? -EINVAL : 0;
	pthread_barrier_wait(p->go);
	if (!p->err)
		p->err = run_once(p->fd, p->f, p->repeat, &p->ns, &v);
	return NULL;
}

/* fd on CPU 0 with f0 and on CPU 1 with f1, at the same time: the mean of
 * the two threads' ns per run. */
static int run_pair(int fd, const struct frame *f0, const struct frame *f1, __u32 repeat,
		    double *ns)
{
	pthread_barrier_t go;
	struct pair_arg a[2] = {
		{ .cpu = 0, .fd = fd, .f = f0, .repeat = repeat, .go = &go },
		{ .cpu = 1, .fd = fd, .f = f1, .repeat = repeat, .go = &go },
	};
	pthread_t t[2];

	pthread_barrier_init(&go, NULL, 2);
	for (int i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, pair_run, &a[i])) {
			if (i)
				pthread_join(t[0], NULL);       /* never: barrier of 2 */
			pthread_barrier_destroy(&go);
			return -EAGAIN;
		}
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&go);
	*ns = (a[0].ns + a[1].ns) / 2;
	return a[0].err ? a[0].err : a[1].err;
}

/* Columns: one CPU on each frame, then two CPUs dropping. */
enum { C_V4P, C_V4D, C_V6P, C_V6D, C_V4_SAME, C_V4_DIFF, C_MAX };

static int path_parts(FILE *out, struct bpf_object *main_obj, int prog_fd, int nop_fd,
		      __u32 bans, __u32 repeat, int rounds, __u32 percpu)
{
	struct part parts[] = {
		{ .name = "nothing (the product)" },
		PART(stats, "the per-CPU frame stats"),
		PART(hash, "the hash (address ^ seed instead)"),
		PART(bucket2, "the second bucket"),
		PART(retry, "ctl's moves read around the probe"),
		PART(counters, "the ban's packets and bytes"),
		PART(expiry, "the clock read and expiry check"),
		PART(all, "ban counters, expiry and stats"),
		PART(lookup, "the table lookup (parse and count only)"),
	};
	enum { NP = sizeof(parts) / sizeof(parts[0]) };
	static double t[NP + 1][C_MAX][MAX_ROUNDS];
	static const __u32 want[C_MAX] = { XDP_PASS, XDP_DROP, XDP_PASS, XDP_DROP, XDP_DROP, XDP_DROP };
	__u32 verdict[NP][C_MAX] = {};
	double fl[C_MAX];
	struct frame f[C_MAX], f4b;
	int err = 0, two_cpus = sysconf(_SC_NPROCESSORS_ONLN) >= 2;

	f[C_V4P].len = build_frame_from(f[C_V4P].data, 0, 0, 0);
	f[C_V4D].len = build_frame_from(f[C_V4D].data, 0, 1, 7);
	f[C_V6P].len = build_frame_from(f[C_V6P].data, 1, 0, 0);
	f[C_V6D].len = build_frame_from(f[C_V6D].data, 1, 1, 7);
	f[C_V4_SAME] = f[C_V4_DIFF] = f[C_V4D];
	f4b.len = build_frame_from(f4b.data, 0, 1, 8);
	parts[0].fd = prog_fd;
	for (int i = 1; i < NP; i++)
		if ((err = part_load(&parts[i], main_obj, percpu))) {
			fprintf(stderr, "bench_xdp: loading the variant without %s: %s\n",
				parts[i].name, strerror(-err));
			goto out;
		}
	for (int r = 0; r < rounds; r++)
		for (int k = 0; k <= NP; k++) {
			int i = (k + r) % (NP + 1);     /* a rotating order, as in main */
			int fd = i == NP ? nop_fd : parts[i].fd;
			__u32 v = 0, *vp = i == NP ? &v : verdict[i];

			for (int c = C_V4P; c <= C_V6D; c++)
				if ((err = run_once(fd, &f[c], repeat, &t[i][c][r], &vp[c])))
					goto out;
			if (two_cpus &&
			    ((err = run_pair(fd, &f[C_V4D], &f[C_V4D], repeat, &t[i][C_V4_SAME][r])) ||
			     (err = run_pair(fd, &f[C_V4D], &f4b, repeat, &t[i][C_V4_DIFF][r]))))
				goto out;
			if (i < NP)
				vp[C_V4_SAME] = vp[C_V4_DIFF] = vp[C_V4D];
		}
	for (int c = 0; c < C_MAX; c++)
		fl[c] = median(t[NP][c], rounds);
	fprintf(out, "\n### What the pass and drop paths spend (%u bans, %u runs x %d rounds, medians)\n\n"
		"The product's program and builds of it without one part, on the same maps "
		"(tests/bench/xdpban_omit_*.bpf.c). ns per frame, raw / above the floor "
		"(xdpnop on the same frame in the same round). *2 CPUs*: both CPUs run the program "
		"at once, on one banned source (its counters shared) or on two. A build that no "
		"longer finds the ban (the hash, the second bucket) shows only its verdict there.\n\n"
		"| left out | IPv4 pass | IPv4 drop | IPv6 pass | IPv6 drop | "
		"IPv4 drop, 2 CPUs, same ban | IPv4 drop, 2 CPUs, 2 bans |\n"
		"| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n", bans, repeat, rounds);
	fprintf(out, "| (floor: xdpnop) | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n",
		fl[C_V4P], fl[C_V4D], fl[C_V6P], fl[C_V6D], fl[C_V4_SAME], fl[C_V4_DIFF]);
	for (int i = 0; i < NP; i++) {
		fprintf(out, "| %s |", parts[i].name);
		for (int c = 0; c < C_MAX; c++) {
			double m = median(t[i][c], rounds);

			if (c >= C_V4_SAME && !two_cpus)
				fprintf(out, " - |");
			else if (verdict[i][c] != want[c])
				fprintf(out, " (%s) |", verdict_name(verdict[i][c]));
			else
				fprintf(out, " %.2f / %.2f |", m, m - fl[c]);
		}
		fprintf(out, "\n");
	}
	fflush(out);
out:
	for (int i = 1; i < NP; i++)
		bpf_object__close(parts[i].obj);
	return err;
}

static int list_addrs(__u32 n)
{
	char buf[INET6_ADDRSTRLEN];

	for (__u32 i = 0; i < n; i++) {
		__u32 a4 = ban4_addr(i);
		__u8 a6[16];

		ban6_addr(i, a6);
		printf("%s\n", inet_ntop(AF_INET, &a4, buf, sizeof(buf)));
		printf("%s\n", inet_ntop(AF_INET6, a6, buf, sizeof(buf)));
	}
	return 0;
}

static int parse_levels(const char *s, __u32 *lv, int *n)
{
	char *dup = strdup(s), *tok, *save = NULL;

	if (!dup)
		return -ENOMEM;
	*n = 0;
	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *end;
		unsigned long v = strtoul(tok, &end, 10);

		if (*end || !v || v > XB_DEF_MAX_BANS || *n >= MAX_LEVELS ||
		    (*n && v <= lv[*n - 1])) {
			free(dup);
			return -EINVAL;
		}
		lv[(*n)++] = v;
	}
	free(dup);
	return *n ? 0 : -EINVAL;
}

/* --- probe lengths (--probes N) ------------------------------------------- */

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return (x > y) - (x < y);
}

/* The q-quantile of sorted v[n]: the value at rank ceil(q n). */
static __u32 quantile(const __u32 *v, size_t n, double q)
{
	size_t r = (size_t)(q * n + 0.999999);

	return v[r ? r - 1 : 0];
}

struct probe_addr {
	__u32 len, idx;
};

static int cmp_probe(const void *a, const void *b)
{
	return cmp_u32(&((const struct probe_addr *)a)->len, &((const struct probe_addr *)b)->len);
}

/* Median ns above the floor of prog on one frame, over rounds. */
static int above_floor(int prog_fd, int nop_fd, const struct frame *f, __u32 repeat, int rounds,
		       double *ns, __u32 *verdict)
{
	double a[MAX_ROUNDS];
	__u32 v;
	int err;

	for (int r = 0; r < rounds; r++) {
		double fl, t;

		if ((err = run_once(nop_fd, f, repeat, &fl, &v)) ||
		    (err = run_once(prog_fd, f, repeat, &t, verdict)))
			return err;
		a[r] = t - fl;
	}
	*ns = median(a, rounds);
	return 0;
}

/*
 * The slots a lookup reads (xb_tab_probe_len: as the program probes) over n
 * banned and n other addresses, in tables of capacity n filled to it: the
 * highest load a table reaches. Then the program's time above the floor for
 * the median address and the slowest one of each kind.
 */
static int probe_dist(FILE *out, int nop_fd, __u32 n, __u32 repeat, int rounds)
{
	struct xdpban *skel = xdpban__open();
	struct xb_ctl *ctl = NULL;
	struct xb_tab t[2] = {};
	struct probe_addr *pa = NULL;
	__u32 *len = NULL;
	int err = 0;

	if (!skel)
		return -errno;
	bpf_map__set_max_entries(skel->maps.ban4, xb_tab_buckets(n));
	bpf_map__set_max_entries(skel->maps.ban6, xb_tab_buckets(n));
	skel->rodata->xb_cnt_percpu = xb_tab_counters_fit(xb_tab_slots(n), libbpf_num_possible_cpus());
	bpf_map__set_max_entries(skel->maps.cnt4, skel->rodata->xb_cnt_percpu ? xb_tab_slots(n) : 1);
	bpf_map__set_max_entries(skel->maps.cnt6, skel->rodata->xb_cnt_percpu ? xb_tab_slots(n) : 1);
	if ((err = xdpban__load(skel)) ||
	    (err = xb_ctl_map(bpf_map__fd(skel->maps.ctl), &ctl)) ||
	    (err = xb_tab_map(&t[0], 4, bpf_map__fd(skel->maps.ban4), ctl)) ||
	    (err = xb_tab_map(&t[1], 6, bpf_map__fd(skel->maps.ban6), ctl)) ||
	    (err = fill_bans(&t[0], &t[1], 0, n, 0)))
		goto out;
	pa = calloc(n, sizeof(*pa));
	len = calloc(n, sizeof(*len));
	if (!pa || !len) {
		err = -ENOMEM;
		goto out;
	}
	fprintf(out, "\n### Slots read per lookup at the highest load (%u bans in a table of %u slots, "
		"%.1f%% full)\n\n"
		"Computed from the table as the program probes (xb_tab_probe_len), over %u banned "
		"and %u never-banned addresses per family; then the program's time above the floor "
		"(BPF_PROG_TEST_RUN, %u runs x %d rounds, median) for the address of median probe "
		"length and for the slowest one.\n\n"
		"| family | addresses | median | p99 | p99.9 | max | p99.9 / median | "
		"ns above floor: median address | slowest address | ratio |\n"
		"| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
		n, t[0].nslots, 100.0 * n / t[0].nslots, n, n, repeat, rounds);
	for (int fam = 0; fam < 2; fam++)
		for (int banned = 1; banned >= 0; banned--) {
			__u32 base = banned ? 0 : n, med, p99, p999, max;
			struct frame fmed, fmax;
			double nmed, nmax;
			__u32 vmed, vmax;

			for (__u32 i = 0; i < n; i++) {
				__u32 a4 = ban4_addr(base + i);
				struct xb_in6 a6;

				ban6_addr(base + i, a6.addr);
				pa[i].idx = base + i;
				pa[i].len = xb_tab_probe_len(&t[fam], fam ? (void *)&a6 : (void *)&a4);
				len[i] = pa[i].len;
			}
			qsort(len, n, sizeof(*len), cmp_u32);
			qsort(pa, n, sizeof(*pa), cmp_probe);
			med = quantile(len, n, 0.5);
			p99 = quantile(len, n, 0.99);
			p999 = quantile(len, n, 0.999);
			max = len[n - 1];
			fmed.len = build_frame_from(fmed.data, fam, 1, pa[n / 2].idx);
			fmax.len = build_frame_from(fmax.data, fam, 1, pa[n - 1].idx);
			if ((err = above_floor(bpf_program__fd(skel->progs.xdpban), nop_fd, &fmed,
					       repeat, rounds, &nmed, &vmed)) ||
			    (err = above_floor(bpf_program__fd(skel->progs.xdpban), nop_fd, &fmax,
					       repeat, rounds, &nmax, &vmax)))
				goto out;
			if (vmed != vmax || vmed != (banned ? XDP_DROP : XDP_PASS)) {
				fprintf(stderr, "bench_xdp: probe frames: verdicts %s, %s\n",
					verdict_name(vmed), verdict_name(vmax));
				err = -EPROTO;
				goto out;
			}
			fprintf(out, "| IPv%d | %s | %u | %u | %u | %u | %.2f | %.1f | %.1f | %.2f |\n",
				fam ? 6 : 4, banned ? "banned" : "not banned", med, p99, p999, max,
				(double)p999 / med, nmed, nmax, nmed > 0 ? nmax / nmed : 0.0);
		}
	fflush(out);
out:
	free(pa);
	free(len);
	xb_tab_unmap(&t[0]);
	xb_tab_unmap(&t[1]);
	xb_ctl_unmap(ctl);
	xdpban__destroy(skel);
	return err;
}

/*
 * xdpban's maps for a level of bans, at the size the data plane would have
 * grown them to: XB_INIT_BANS, times XB_GROW_FACTOR while full, at most
 * XB_DEF_MAX_BANS; counters per CPU while they fit (xb_tab_counters_fit).
 */
struct xbset {
	struct xdpban *skel;
	struct xb_ctl *ctl;
	struct xb_tab t4, t6;
	__u32 cap;
	bool percpu;
	struct bpf_object *base;        /* --baseline, on these maps */
	int base_fd;
};

static __u32 grown_cap(__u32 bans)
{
	__u64 cap = XB_INIT_BANS;

	while (cap < bans && cap < XB_DEF_MAX_BANS)
		cap *= XB_GROW_FACTOR;
	return cap > XB_DEF_MAX_BANS ? XB_DEF_MAX_BANS : cap;
}

static void xbset_free(struct xbset *x)
{
	xb_tab_unmap(&x->t4);
	xb_tab_unmap(&x->t6);
	xb_ctl_unmap(x->ctl);
	bpf_object__close(x->base);
	xdpban__destroy(x->skel);
	memset(x, 0, sizeof(*x));
}

static int xbset_make(struct xbset *x, __u32 bans, const char *baseline)
{
	__u32 slots;
	int err;

	memset(x, 0, sizeof(*x));
	x->base_fd = -1;
	x->cap = grown_cap(bans);
	slots = xb_tab_slots(x->cap);
	x->skel = xdpban__open();
	if (!x->skel)
		return -errno;
	x->percpu = xb_tab_counters_fit(slots, libbpf_num_possible_cpus());
	x->skel->rodata->xb_cnt_percpu = x->percpu;
	bpf_map__set_max_entries(x->skel->maps.ban4, slots / XB_BUCKET);
	bpf_map__set_max_entries(x->skel->maps.ban6, slots / XB_BUCKET);
	bpf_map__set_max_entries(x->skel->maps.cnt4, x->percpu ? slots : 1);
	bpf_map__set_max_entries(x->skel->maps.cnt6, x->percpu ? slots : 1);
	if ((err = xdpban__load(x->skel)) ||
	    (err = xb_ctl_map(bpf_map__fd(x->skel->maps.ctl), &x->ctl)) ||
	    (err = xb_tab_map(&x->t4, 4, bpf_map__fd(x->skel->maps.ban4), x->ctl)) ||
	    (err = xb_tab_map(&x->t6, 6, bpf_map__fd(x->skel->maps.ban6), x->ctl)) ||
	    (err = xb_tab_set_cap(&x->t4, x->cap)) || (err = xb_tab_set_cap(&x->t6, x->cap)) ||
	    (x->percpu && (err = xb_tab_use_counters(&x->t4, bpf_map__fd(x->skel->maps.cnt4)))) ||
	    (x->percpu && (err = xb_tab_use_counters(&x->t6, bpf_map__fd(x->skel->maps.cnt6)))) ||
	    /* As xb_dp_open does: expiry then reads the tick's time. */
	    (err = xb_clock_arm(bpf_program__fd(x->skel->progs.xdpban_clock))))
		return err;
	if (baseline && (err = obj_load_on(&x->base, NULL, 0, baseline, x->skel->obj, x->percpu,
					   &x->base_fd))) {
		fprintf(stderr, "bench_xdp: loading --baseline %s: %s\n", baseline, strerror(-err));
		return err;
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: bench_xdp --list N\n"
		"       bench_xdp [--bans L1,L2,..] [--repeat N] [--rounds N]\n"
		"                 [--xdp-filter COUNT:PROGID]... [--parts] [--probes N] [--out FILE]\n"
		"                 [--baseline OLD.bpf.o]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "list", required_argument, NULL, 'l' },
		{ "bans", required_argument, NULL, 'b' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "rounds", required_argument, NULL, 'n' },
		{ "xdp-filter", required_argument, NULL, 'x' },
		{ "out", required_argument, NULL, 'o' },
		{ "parts", no_argument, NULL, 'p' },
		{ "probes", required_argument, NULL, 'P' },
		{ "baseline", required_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	__u32 levels[MAX_LEVELS] = { 1000, 100000, 1000000 }, repeat = 10000000;
	int nlevels = 3, rounds = 5, nxf = 0, c, err = 0, prog_fd = -1, nop_fd, parts = 0;
	__u32 probes = 0;
	struct xf xf[MAX_XF] = {};
	struct frame fr[F_MAX];
	struct xbset xs = { .base_fd = -1 };
	struct xdpnop *nop = NULL;
	struct bpf_map *map;
	const char *out_path = NULL, *baseline = NULL;
	FILE *out = stdout;
	struct timespec ts;
	struct utsname un;
	__u32 filled = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			return list_addrs(strtoul(optarg, NULL, 10));
		case 'b':
			if (parse_levels(optarg, levels, &nlevels)) {
				fprintf(stderr, "bench_xdp: bad --bans '%s' (ascending counts up to %u)\n",
					optarg, XB_DEF_MAX_BANS);
				return 2;
			}
			break;
		case 'r':
			repeat = strtoul(optarg, NULL, 10);
			if (!repeat) {
				fprintf(stderr, "bench_xdp: bad --repeat '%s'\n", optarg);
				return 2;
			}
			break;
		case 'n':
			rounds = atoi(optarg);
			if (rounds < 1 || rounds > MAX_ROUNDS) {
				fprintf(stderr, "bench_xdp: --rounds must be 1..%d\n", MAX_ROUNDS);
				return 2;
			}
			break;
		case 'x':
			if (nxf >= MAX_XF ||
			    sscanf(optarg, "%u:%u", &xf[nxf].count, &xf[nxf].id) != 2 || !xf[nxf].count) {
				fprintf(stderr, "bench_xdp: bad --xdp-filter '%s' (COUNT:PROGID)\n", optarg);
				return 2;
			}
			nxf++;
			break;
		case 'o':
			out_path = optarg;
			break;
		case 'p':
			parts = 1;
			break;
		case 'B':
			baseline = optarg;
			break;
		case 'P':
			probes = strtoul(optarg, NULL, 10);
			if (!probes || probes > V4_RANGE1_N) {
				fprintf(stderr, "bench_xdp: bad --probes '%s' (1..%u)\n", optarg, V4_RANGE1_N);
				return 2;
			}
			break;
		default:
			usage();
			return c == 'h' ? 0 : 2;
		}
	}

	for (int i = 0; i < nxf; i++)
		if ((err = xf_open(&xf[i])))
			goto out;

	for (int f = 0; f < F_MAX; f++)
		fr[f].len = build_frame(fr[f].data, f >= F_V6_PASS, f == F_V4_DROP || f == F_V6_DROP);

	nop = xdpnop__open_and_load();
	if (!nop) {
		err = -errno;
		fprintf(stderr, "bench_xdp: loading xdpnop: %s\n", strerror(-err));
		goto out;
	}
	nop_fd = bpf_program__fd(nop->progs.xdp_nop);

	if (out_path && !(out = fopen(out_path, "w"))) {
		err = -errno;
		fprintf(stderr, "bench_xdp: %s: %s\n", out_path, strerror(-err));
		out = stdout;
		goto out;
	}
	uname(&un);
	fprintf(out, "## Per-packet time (BPF_PROG_TEST_RUN)\n\n");
	fprintf(out, "Kernel %s, %ld CPUs. %u runs of each frame per measurement, %d rounds, programs "
		"interleaved (floor, xdpban, xdp-filter) within each round; medians over rounds. "
		"Frames: 60-byte TCP SYN to port 22 (IPv4) / 74-byte (IPv6). "
		"*above floor* = program minus xdpnop in the same round. "
		"*ratio* = xdpban above floor / xdp-filter above floor.\n\n",
		un.release, sysconf(_SC_NPROCESSORS_ONLN), repeat, rounds);
	for (int i = 0; i < nxf; i++)
		fprintf(out, "xdp-filter instance: program `%s` (id %u), filter_ipv4 %ld entries, "
			"filter_ipv6 %ld entries.\n", xf[i].name, xf[i].id, xf[i].n4, xf[i].n6);
	fprintf(out, "xdpban's tables at each level are as the data plane grows them (capacity %u, "
		"times %u while full, at most %u); a table's ban counters are per CPU while they fit "
		"in %llu MiB (cnt4/cnt6), else atomic adds on the slot.%s\n",
		XB_INIT_BANS, XB_GROW_FACTOR, XB_DEF_MAX_BANS, XB_CNT_PERCPU_MAX >> 20,
		baseline ? " *baseline*: the previous build of the program (--baseline), on the "
		"same maps, interleaved with the others." : "");
	fprintf(out, "\n| bans | table (capacity, counters) | frame | floor ns | xdpban ns | "
		"xdp-filter ns (its bans) | xdpban above floor | xdp-filter above floor | ratio |%s "
		"verdicts xdpban / xdp-filter |\n", baseline ? " baseline ns | baseline above floor | "
		"baseline ratio |" : "");
	fprintf(out, "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |%s --- |\n",
		baseline ? " ---: | ---: | ---: |" : "");
	fflush(out);

	clock_gettime(CLOCK_MONOTONIC, &ts);
	for (int l = 0; l < nlevels; l++) {
		__u64 expires = (ts.tv_sec + 86400ULL) * 1000000000ULL;   /* a day from now */
		static double t[P_MAX][F_MAX][MAX_ROUNDS], above[P_MAX][F_MAX][MAX_ROUNDS];
		__u32 verdict[P_MAX][F_MAX] = {};
		struct xf *x = NULL;

		/* A level that needs bigger tables gets new ones, filled anew. */
		if (!xs.skel || grown_cap(levels[l]) != xs.cap) {
			xbset_free(&xs);
			filled = 0;
			if ((err = xbset_make(&xs, levels[l], baseline))) {
				fprintf(stderr, "bench_xdp: xdpban's maps for %u bans: %s\n", levels[l],
					strerror(-err));
				goto out;
			}
		}
		prog_fd = bpf_program__fd(xs.skel->progs.xdpban);
		err = fill_bans(&xs.t4, &xs.t6, filled, levels[l], expires);
		if (err)
			goto out;
		filled = levels[l];
		/* The biggest xdp-filter instance that does not exceed this level. */
		for (int i = 0; i < nxf; i++)
			if (xf[i].count <= levels[l] && (!x || xf[i].count > x->count))
				x = &xf[i];
		/* Each round starts with the next program: none is always first
		 * or last while the machine's load drifts. */
		for (int r = 0; r < rounds; r++)
			for (int f = 0; f < F_MAX; f++) {
				for (int k = 0; k < P_MAX; k++) {
					int p = (k + r) % P_MAX;
					int fd = p == P_FLOOR ? nop_fd : p == P_XDPBAN ? prog_fd :
						 p == P_BASE ? xs.base_fd : x ? x->fd : -1;

					if (fd < 0)
						continue;
					err = run_once(fd, &fr[f], repeat, &t[p][f][r], &verdict[p][f]);
					if (err) {
						fprintf(stderr, "bench_xdp: test run: %s\n", strerror(-err));
						goto out;
					}
				}
				for (int p = 0; p < P_MAX; p++)
					above[p][f][r] = t[p][f][r] - t[P_FLOOR][f][r];
			}
		for (int f = 0; f < F_MAX; f++) {
			double fl = median(t[P_FLOOR][f], rounds), xb = median(t[P_XDPBAN][f], rounds);
			double axb = median(above[P_XDPBAN][f], rounds);
			double axf = x ? median(above[P_XF][f], rounds) : 0;

			fprintf(out, "| %u | %u, %s | %s | %.2f | %.2f | ", levels[l], xs.cap,
				xs.percpu ? "per CPU" : "atomic", frame_name[f], fl, xb);
			if (x)
				fprintf(out, "%.2f (%u) | %.2f | %.2f | %.2f |", median(t[P_XF][f], rounds),
					x->count, axb, axf, axf > 0 ? axb / axf : 0.0);
			else
				fprintf(out, "- | %.2f | - | - |", axb);
			if (baseline) {
				double ab = median(above[P_BASE][f], rounds);

				fprintf(out, " %.2f | %.2f | ", median(t[P_BASE][f], rounds), ab);
				if (x && axf > 0)
					fprintf(out, "%.2f |", ab / axf);
				else
					fprintf(out, "- |");
			}
			fprintf(out, " %s / %s |\n", verdict_name(verdict[P_XDPBAN][f]),
				x ? verdict_name(verdict[P_XF][f]) : "-");
			if (baseline && verdict[P_BASE][f] != verdict[P_XDPBAN][f]) {
				fprintf(stderr, "bench_xdp: baseline's verdict %s, xdpban's %s\n",
					verdict_name(verdict[P_BASE][f]), verdict_name(verdict[P_XDPBAN][f]));
				err = -EPROTO;
				goto out;
			}
		}
		fflush(out);
	}

	if (parts && (err = path_parts(out, xs.skel->obj, prog_fd, nop_fd, filled, repeat, rounds, xs.percpu)))
		goto out;
	if (probes && (err = probe_dist(out, nop_fd, probes, repeat, rounds)))
		goto out;
	{
		long long total = 0;

		fprintf(out, "\n### Kernel memory of the xdpban maps at %u bans per family\n\n", filled);
		fprintf(out, "| map | type | max entries | memlock bytes |\n| --- | --- | ---: | ---: |\n");
		bpf_object__for_each_map(map, xs.skel->obj) {
			long long m;

			if (bpf_map__is_internal(map))
				continue;
			m = map_memlock(bpf_map__fd(map));
			fprintf(out, "| %s | %s | %u | %lld |\n", bpf_map__name(map),
				libbpf_bpf_map_type_str(bpf_map__type(map)), bpf_map__max_entries(map), m);
			if (m > 0)
				total += m;
		}
		fprintf(out, "| **total** | | | **%lld (%.1f MiB)** |\n", total, total / 1048576.0);
	}
out:
	if (out != stdout)
		fclose(out);
	xbset_free(&xs);
	xdpnop__destroy(nop);
	for (int i = 0; i < nxf; i++)
		if (xf[i].fd > 0)
			close(xf[i].fd);
	return err ? 1 : 0;
}
