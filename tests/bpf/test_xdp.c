// SPDX-License-Identifier: GPL-2.0
/*
 * The XDP program on crafted frames (bpf_prog_test_run_opts): one test per
 * code path, asserting the verdict, data_size_out, the global counters and
 * the map side effects. Each test gets a fresh, unpinned copy of the object.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <criterion/criterion.h>

#include "xdpban.h"
#include "xdpban.skel.h"
#include "dataplane/bantab.h"
#include "common/util.h"

#define XDP_DROP_V 1
#define XDP_PASS_V 2
#define ETH_P_8021AD_V 0x88A8
#define ETH_P_8021Q_V 0x8100

static struct xdpban *skel;
static struct xb_ctl *ctl;
static struct xb_tab tab4, tab6;
static int ncpu;

#define TEST_SLOTS xb_tab_slots(1024)
#define TEST_SLOTS_MAX 1536      /* TEST_SLOTS as a constant */

static void setup(void)
{
	skel = xdpban__open();
	cr_assert_not_null(skel, "open the XDP object: %s", strerror(errno));
	bpf_map__set_max_entries(skel->maps.ban4, TEST_SLOTS / XB_BUCKET);
	bpf_map__set_max_entries(skel->maps.ban6, TEST_SLOTS / XB_BUCKET);
	bpf_map__set_max_entries(skel->maps.cnt4, TEST_SLOTS);
	bpf_map__set_max_entries(skel->maps.cnt6, TEST_SLOTS);
	cr_assert_eq(xdpban__load(skel), 0, "load the XDP object");
	cr_assert_eq(xb_ctl_map(bpf_map__fd(skel->maps.ctl), &ctl), 0);
	cr_assert_eq(xb_tab_map(&tab4, 4, bpf_map__fd(skel->maps.ban4), ctl), 0);
	cr_assert_eq(xb_tab_map(&tab6, 6, bpf_map__fd(skel->maps.ban6), ctl), 0);
	cr_assert_eq(xb_tab_use_counters(&tab4, bpf_map__fd(skel->maps.cnt4)), 0);
	cr_assert_eq(xb_tab_use_counters(&tab6, bpf_map__fd(skel->maps.cnt6)), 0);
	ncpu = libbpf_num_possible_cpus();
	cr_assert_gt(ncpu, 0);
}

static void teardown(void)
{
	xb_tab_unmap(&tab4);
	xb_tab_unmap(&tab6);
	xb_ctl_unmap(ctl);
	ctl = NULL;
	xdpban__destroy(skel);
	skel = NULL;
}

TestSuite(xdp, .init = setup, .fini = teardown);

/* --- frames ---------------------------------------------------------------- */

/* b starts 2 bytes into an aligned struct so the IP header (at 14 + 4n)
 * is 4-byte aligned, as in a driver's receive buffer. */
struct frame {
	uint16_t pad;
	uint8_t b[510];
	size_t len;
} __attribute__((aligned(8)));

struct vlan_tag {
	uint16_t tci;
	uint16_t proto;
};

/* Ethernet + vlans tags (outer TPID 802.1ad when two) + IP header + payload. */
static void build(struct frame *f, const char *src, int vlans, int ihl)
{
	struct ethhdr *eth = (struct ethhdr *)f->b;
	bool v6 = strchr(src, ':') != NULL;
	uint16_t proto = htons(v6 ? ETH_P_IPV6 : ETH_P_IP);
	uint8_t *p = f->b + sizeof(*eth);
	const size_t payload = 32;

	memset(f, 0, sizeof(*f));
	memcpy(eth->h_dest, "\x02\x00\x00\x00\x00\x01", 6);
	memcpy(eth->h_source, "\x02\x00\x00\x00\x00\x02", 6);
	if (vlans == 0) {
		eth->h_proto = proto;
	} else {
		eth->h_proto = htons(vlans > 1 ? ETH_P_8021AD_V : ETH_P_8021Q_V);
		for (int i = 0; i < vlans; i++) {
			struct vlan_tag *t = (struct vlan_tag *)p;

			t->tci = htons(100 + i);
			t->proto = i + 1 < vlans ? htons(ETH_P_8021Q_V) : proto;
			p += sizeof(*t);
		}
	}
	if (v6) {
		struct ipv6hdr *ip6 = (struct ipv6hdr *)p;

		ip6->version = 6;
		ip6->payload_len = htons(payload);
		ip6->nexthdr = 17;
		ip6->hop_limit = 64;
		cr_assert_eq(inet_pton(AF_INET6, src, &ip6->saddr), 1);
		cr_assert_eq(inet_pton(AF_INET6, "2001:db8::1", &ip6->daddr), 1);
		p += sizeof(*ip6);
	} else {
		struct iphdr *ip = (struct iphdr *)p;

		ip->version = 4;
		ip->ihl = ihl;
		ip->ttl = 64;
		ip->protocol = 17;
		ip->tot_len = htons(ihl * 4 + payload);
		cr_assert_eq(inet_pton(AF_INET, src, &ip->saddr), 1);
		cr_assert_eq(inet_pton(AF_INET, "198.18.0.1", &ip->daddr), 1);
		/* Options (if any) are NOPs: we only need them to be there. */
		memset(p + sizeof(*ip), 1, ihl * 4 - sizeof(*ip));
		p += ihl * 4;
	}
	p += payload;
	f->len = p - f->b;
}

static int run_len(const struct frame *f, size_t len, uint32_t *size_out)
{
	uint8_t out[sizeof(f->b)];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->b, .data_size_in = len,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
	int err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.xdpban), &o);

	cr_assert_eq(err, 0, "test run: %s", strerror(-err));
	if (size_out)
		*size_out = o.data_size_out;
	/* The program never rewrites a frame. */
	cr_assert_eq(o.data_size_out, len);
	cr_assert_eq(memcmp(out, f->b, len), 0, "frame left untouched");
	return o.retval;
}

static int run(const struct frame *f)
{
	return run_len(f, f->len, NULL);
}

static uint64_t stat(enum xb_stat i)
{
	struct xb_stats vals[ncpu];
	uint64_t sum = 0;
	uint32_t zero = 0;

	cr_assert_eq(bpf_map_lookup_elem(bpf_map__fd(skel->maps.stats), &zero, vals), 0);
	for (int c = 0; c < ncpu; c++)
		sum += vals[c].v[i];
	return sum;
}

/* Every counter at once: names the one that is off. */
static void expect_stats(uint64_t seen, uint64_t passed, uint64_t dropped, uint64_t dropped_prefix,
			 uint64_t allowed, uint64_t expired, uint64_t parse_fail, uint64_t non_ip)
{
	/* seen is passed + dropped (xb_dp_stats sums them): the program's own
	 * slot stays 0, and every frame is counted once, as one or the other. */
	cr_expect_eq(stat(XB_STAT_SEEN), 0, "the program counts no seen");
	cr_expect_eq(stat(XB_STAT_PASSED) + stat(XB_STAT_DROPPED), seen, "seen %lu",
		     (unsigned long)(stat(XB_STAT_PASSED) + stat(XB_STAT_DROPPED)));
	cr_expect_eq(stat(XB_STAT_PASSED), passed, "passed %lu", (unsigned long)stat(XB_STAT_PASSED));
	cr_expect_eq(stat(XB_STAT_DROPPED), dropped, "dropped");
	cr_expect_eq(stat(XB_STAT_DROPPED_PREFIX), dropped_prefix, "dropped_prefix");
	cr_expect_eq(stat(XB_STAT_PASSED_ALLOWED), allowed, "passed_allowed");
	cr_expect_eq(stat(XB_STAT_PASSED_EXPIRED), expired, "passed_expired");
	cr_expect_eq(stat(XB_STAT_PARSE_FAIL), parse_fail, "parse_fail");
	cr_expect_eq(stat(XB_STAT_NON_IP), non_ip, "non_ip");
}

/* --- map helpers ------------------------------------------------------------ */

static void ban4(const char *a, uint64_t expires)
{
	struct xb_ban v = { .expires = expires };
	bool created;
	uint32_t k;

	cr_assert_eq(inet_pton(AF_INET, a, &k), 1);
	cr_assert_eq(xb_tab_put(&tab4, &k, &v, &created), 0);
	cr_assert(created);
}

static int get4(const char *a, struct xb_ban *v)
{
	uint32_t k;

	cr_assert_eq(inet_pton(AF_INET, a, &k), 1);
	return xb_tab_get(&tab4, &k, v);
}

static void ban6(const char *a, uint64_t expires)
{
	struct xb_ban v = { .expires = expires };
	struct xb_in6 k;
	bool created;

	cr_assert_eq(inet_pton(AF_INET6, a, k.addr), 1);
	cr_assert_eq(xb_tab_put(&tab6, &k, &v, &created), 0);
	cr_assert(created);
}

static int get6(const char *a, struct xb_ban *v)
{
	struct xb_in6 k;

	cr_assert_eq(inet_pton(AF_INET6, a, k.addr), 1);
	return xb_tab_get(&tab6, &k, v);
}

/* The program's packets for slot i of ban4, summed over CPUs. */
static uint64_t slot_packets4(uint32_t i)
{
	struct xb_cnt v[ncpu];
	uint64_t n = 0;

	cr_assert_eq(bpf_map_lookup_elem(bpf_map__fd(skel->maps.cnt4), &i, v), 0);
	for (int c = 0; c < ncpu; c++)
		n += v[c].packets;
	return n;
}

/* The flags as ctl_refresh would write them (ctl is shared memory). */
static void set_ctl(uint32_t flags)
{
	ctl->flags = flags;
}

static void lpm4(struct bpf_map *m, const char *a, uint32_t plen, const void *val)
{
	struct xb_lpm4 k = { .prefixlen = plen };

	cr_assert_eq(inet_pton(AF_INET, a, &k.addr), 1);
	cr_assert_eq(bpf_map_update_elem(bpf_map__fd(m), &k, val, BPF_NOEXIST), 0);
}

static void lpm6(struct bpf_map *m, const char *a, uint32_t plen, const void *val)
{
	struct xb_lpm6 k = { .prefixlen = plen };

	cr_assert_eq(inet_pton(AF_INET6, a, k.addr), 1);
	cr_assert_eq(bpf_map_update_elem(bpf_map__fd(m), &k, val, BPF_NOEXIST), 0);
}

/* --- not banned ------------------------------------------------------------ */

Test(xdp, ipv4_not_banned_passes)
{
	struct frame f;
	uint32_t out;

	ban4("198.18.0.9", 0);
	build(&f, "198.18.0.2", 0, 5);
	cr_assert_eq(run_len(&f, f.len, &out), XDP_PASS_V);
	cr_expect_eq(out, f.len);
	expect_stats(1, 1, 0, 0, 0, 0, 0, 0);
}

Test(xdp, ipv6_not_banned_passes)
{
	struct frame f;

	ban6("2001:db8::9", 0);
	build(&f, "2001:db8::2", 0, 5);
	cr_assert_eq(run(&f), XDP_PASS_V);
	expect_stats(1, 1, 0, 0, 0, 0, 0, 0);
}

/* --- exact bans ------------------------------------------------------------- */

Test(xdp, ipv4_banned_permanent_drops_and_counts)
{
	struct xb_ban v;
	struct frame f;

	ban4("198.18.0.2", 0);
	build(&f, "198.18.0.2", 0, 5);
	cr_assert_eq(run(&f), XDP_DROP_V);
	cr_assert_eq(run(&f), XDP_DROP_V);
	expect_stats(2, 0, 2, 0, 0, 0, 0, 0);
	cr_expect_eq(stat(XB_STAT_DROPPED_BYTES), 2 * f.len);
	cr_assert_eq(get4("198.18.0.2", &v), 0);
	cr_expect_eq(v.packets, 2);
	cr_expect_eq(v.bytes, 2 * f.len);
}

Test(xdp, ipv4_banned_future_expiry_drops)
{
	struct frame f;

	ban4("198.18.0.2", xb_now_mono_ns() + 60 * NSEC_PER_SEC);
	build(&f, "198.18.0.2", 0, 5);
	cr_assert_eq(run(&f), XDP_DROP_V);
	expect_stats(1, 0, 1, 0, 0, 0, 0, 0);
}

Test(xdp, ipv6_banned_drops_and_counts)
{
	struct xb_ban v;
	struct frame f;

	ban6("2001:db8::2", 0);
	build(&f, "2001:db8::2", 0, 5);
	cr_assert_eq(run(&f), XDP_DROP_V);
	expect_stats(1, 0, 1, 0, 0, 0, 0, 0);
	cr_assert_eq(get6("2001:db8::2", &v), 0);
	cr_expect_eq(v.packets, 1);
	cr_expect_eq(v.bytes, f.len);
}

Test(xdp, ipv4_with_options_banned_drops)
{
	struct frame f;

	ban4("198.18.0.2", 0);
	build(&f, "198.18.0.2", 0, 15);         /* 40 bytes of options, the maximum */
	cr_assert_eq(run(&f), XDP_DROP_V);
	expect_stats(1, 0, 1, 0, 0, 0, 0, 0);
}

/* --- VLAN ------------------------------------------------------------------- */

Test(xdp, one_vlan_tag_banned_drops)
{
	struct frame f;

	ban4("198.18.0.2", 0);
	build(&f, "198.18.0.2", 1, 5);
	cr_assert_eq(run(&f), XDP_DROP_V);
	expect_stats(1, 0, 1, 0, 0, 0, 0, 0);
}

Test(xdp, two_vlan_tags_banned_drops)
{
	struct frame f;

	ban6("2001:db8::2", 0);
	build(&f, "2001:db8::2", 2, 5);
	cr_assert_eq(run(&f), XDP_DROP_V);
	expect_stats(1, 0, 1, 0, 0, 0, 0, 0);
}

Test(xdp, one_vlan_tag_not_banned_passes)
{
	struct frame f;

	build(&f, "198.18.0.3", 1, 5);
	cr_assert_eq(run(&f), XDP_PASS_V);
	expect_stats(1, 1, 0, 0, 0, 0, 0, 0);
}

Test(xdp, three_vlan_tags_pass_as_non_ip)
{
	struct frame f;

	ban4("198.18.0.2", 0);
	build(&f, "198.18.0.2", 3, 5);
	cr_assert_eq(run(&f), XDP_PASS_V);
	expect_stats(1, 1, 0, 0, 0, 0, 0, 1);
}

/* --- expiry ----------------------------------------------------------------- */

/* The program never writes a slot's key or state: an expired ban passes and
 * stays until userspace sweeps it (or reuses its slot). */
Test(xdp, ipv4_expired_passes_until_swept)
{
	struct xb_ban v;
	struct frame f;

	ban4("198.18.0.2", xb_now_mono_ns() - NSEC_PER_SEC);
	build(&f, "198.18.0.2", 0, 5);
	cr_assert_eq(run(&f), XDP_PASS_V);
	cr_assert_eq(run(&f), XDP_PASS_V);
	expect_stats(2, 2, 0, 0, 0, 2, 0, 0);
	cr_expect_eq(get4("198.18.0.2", &v), 0, "still there, counters untouched");
	cr_expect_eq(v.packets, 0);
	cr_expect_eq(xb_tab_sweep(&tab4, xb_now_mono_ns()), 1);
	cr_expect_eq(get4("198.18.0.2", &v), -ENOENT, "swept");
	/* Gone: the next frame is a plain pass. */
	cr_assert_eq(run(&f), XDP_PASS_V);
	expect_stats(3, 3, 0, 0, 0, 2, 0, 0);
}

/* --- the clock tick ----------------------------------------------------------- */

static void set_clock(uint64_t now)
{
	struct xb_clock c = { .now = now };
	uint32_t zero = 0;

	/* The kernel leaves the timer field alone on a userspace update. */
	cr_assert_eq(bpf_map_update_elem(bpf_map__fd(skel->maps.clock), &zero, &c, BPF_ANY), 0);
}

static uint64_t get_clock(void)
{
	struct xb_clock c;
	uint32_t zero = 0;

	cr_assert_eq(bpf_map_lookup_elem(bpf_map__fd(skel->maps.clock), &zero, &c), 0);
	return c.now;
}

/* Expiry is judged against the tick's time, not a clock read per frame: a
 * ban with a minute left is over when the tick says an hour has passed. */
Test(xdp, expiry_uses_the_ticks_time)
{
	struct frame f;

	ban4("198.18.0.2", xb_now_mono_ns() + 60 * NSEC_PER_SEC);
	build(&f, "198.18.0.2", 0, 5);
	cr_assert_eq(run(&f), XDP_DROP_V, "not armed: the program reads the clock itself");
	set_clock(xb_now_mono_ns() + 3600 * NSEC_PER_SEC);
	cr_assert_eq(run(&f), XDP_PASS_V);
	expect_stats(2, 1, 1, 0, 0, 1, 0, 0);
}

/* xdpban_clock starts a timer that keeps the time current on its own. */
Test(xdp, clock_program_arms_a_running_tick)
{
	unsigned char frame[64] = {};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = sizeof(frame));
	uint64_t t0, t1, real;

	cr_expect_eq(get_clock(), 0, "not armed until userspace asks");
	cr_assert_eq(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.xdpban_clock), &o), 0);
	cr_assert_eq(o.retval, XDP_PASS_V, "armed");
	t0 = get_clock();
	cr_assert_neq(t0, 0);
	usleep(4 * XB_TICK_NS / 1000);
	t1 = get_clock();
	real = xb_now_mono_ns();
	cr_expect_geq(t1 - t0, 2 * XB_TICK_NS, "ticked on: %lu ns", (unsigned long)(t1 - t0));
	cr_expect_leq(real - t1, 2 * XB_TICK_NS, "and is current: %lu ns behind", (unsigned long)(real - t1));
	/* Arming again (every xdpban command does) is harmless. */
	cr_assert_eq(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.xdpban_clock), &o), 0);
	cr_expect_eq(o.retval, XDP_PASS_V);
}

Test(xdp, ipv6_expired_passes_until_swept)
{
	struct xb_ban v;
	struct frame f;

	ban6("2001:db8::2", xb_now_mono_ns() - NSEC_PER_SEC);
	build(&f, "2001:db8::2", 0, 5);
	cr_assert_eq(run(&f), XDP_PASS_V);
	expect_stats(1, 1, 0, 0, 0, 1, 0, 0);
	cr_expect_eq(get6("2001:db8::2", &v), 0);
	cr_expect_eq(xb_tab_sweep(&tab6, xb_now_mono_ns()), 1);
	cr_expect_eq(get6("2001:db8::2", &v), -ENOENT);
}

/* --- prefixes --------------------------------------------------------------- */

Test(xdp, ipv4_prefix_banned_drops)
{
	struct xb_ban v = {}, got;
	struct xb_lpm4 k = { .prefixlen = 24 };
	struct frame f;

	lpm4(skel->maps.pfx4, "198.18.7.0", 24, &v);
	set_ctl(XB_CTL_PFX4);
	build(&f, "198.18.7.77", 0, 5);
	cr_assert_eq(run(&f), XDP_DROP_V);
	expect_stats(1, 0, 1, 1, 0, 0, 0, 0);
	inet_pton(AF_INET, "198.18.7.0", &k.addr);
	cr_assert_eq(bpf_map_lookup_elem(bpf_map__fd(skel->maps.pfx4), &k, &got), 0);
	cr_expect_eq(got.packets, 1);
	cr_expect_eq(got.bytes, f.len);
	/* Outside the prefix: passes. */
	build(&f, "198.18.8.1", 0, 5);
	cr_assert_eq(run(&f), XDP_PASS_V);
}

Test(xdp, ipv6_prefix_banned_drops)
{
	struct xb_ban v = {};
	struct frame f;

	lpm6(skel->maps.pfx6, "2001:db8:1::", 48, &v);
	set_ctl(XB_CTL_PFX6);
	build(&f, "2001:db8:1:2::3", 1, 5);
	cr_assert_eq(run(&f), XDP_DROP_V);
	expect_stats(1, 0, 1, 1, 0, 0, 0, 0);
}

Test(xdp, prefix_ignored_while_ctl_flag_clear)
{
	struct xb_ban v = {};
	struct frame f;

	/* The flag is what keeps the common path at one lookup: without it
	 * the trie is not consulted at all. */
	lpm4(skel->maps.pfx4, "198.18.7.0", 24, &v);
	build(&f, "198.18.7.77", 0, 5);
	cr_assert_eq(run(&f), XDP_PASS_V);
	expect_stats(1, 1, 0, 0, 0, 0, 0, 0);
}

Test(xdp, prefix_expired_passes)
{
	struct xb_ban v = { .expires = xb_now_mono_ns() - NSEC_PER_SEC };
	struct frame f;

	struct xb_lpm4 k = { .prefixlen = 24 };
	struct xb_ban got;

	lpm4(skel->maps.pfx4, "198.18.7.0", 24, &v);
	set_ctl(XB_CTL_PFX4);
	build(&f, "198.18.7.77", 0, 5);
	cr_assert_eq(run(&f), XDP_PASS_V);
	expect_stats(1, 1, 0, 0, 0, 1, 0, 0);
	/* The program cannot name the stored prefix: the entry stays for
	 * xb_dp_sweep(), harmlessly (it no longer drops). */
	inet_pton(AF_INET, "198.18.7.0", &k.addr);
	cr_expect_eq(bpf_map_lookup_elem(bpf_map__fd(skel->maps.pfx4), &k, &got), 0);
	cr_expect_eq(got.packets, 0);
}

/* --- allow list --------------------------------------------------------------- */

Test(xdp, allowed_wins_over_exact_ban)
{
	struct xb_allow a = {}, got;
	struct xb_lpm4 k = { .prefixlen = 16 };
	struct xb_ban v;
	struct frame f;

	ban4("198.18.0.2", 0);
	lpm4(skel->maps.allow4, "198.18.0.0", 16, &a);
	set_ctl(XB_CTL_ALLOW4);
	build(&f, "198.18.0.2", 0, 5);
	cr_assert_eq(run(&f), XDP_PASS_V);
	expect_stats(1, 1, 0, 0, 1, 0, 0, 0);
	inet_pton(AF_INET, "198.18.0.0", &k.addr);
	cr_assert_eq(bpf_map_lookup_elem(bpf_map__fd(skel->maps.allow4), &k, &got), 0);
	cr_expect_eq(got.packets, 1);
	cr_assert_eq(get4("198.18.0.2", &v), 0);
	cr_expect_eq(v.packets, 0, "an allowed frame is not counted against the ban");
}

Test(xdp, allowed_wins_over_prefix_ban_v6)
{
	struct xb_allow a = {};
	struct xb_ban v = {};
	struct frame f;

	lpm6(skel->maps.pfx6, "2001:db8::", 32, &v);
	lpm6(skel->maps.allow6, "2001:db8:0:1::5", 128, &a);
	set_ctl(XB_CTL_PFX6 | XB_CTL_ALLOW6);
	build(&f, "2001:db8:0:1::5", 0, 5);
	cr_assert_eq(run(&f), XDP_PASS_V);
	build(&f, "2001:db8:0:1::6", 0, 5);
	cr_assert_eq(run(&f), XDP_DROP_V);
	expect_stats(2, 1, 1, 1, 1, 0, 0, 0);
}

Test(xdp, allow_list_alone_changes_nothing)
{
	struct xb_allow a = {};
	struct frame f;

	lpm4(skel->maps.allow4, "198.18.0.0", 16, &a);
	set_ctl(XB_CTL_ALLOW4);
	build(&f, "198.18.0.2", 0, 5);
	cr_assert_eq(run(&f), XDP_PASS_V);
	expect_stats(1, 1, 0, 0, 0, 0, 0, 0);   /* allow consulted only on a hit */
}

/* Userspace clears the flag while the allow list is empty; the program then
 * skips the trie, so an entry that is there without its flag is not seen. */
Test(xdp, allow_ignored_while_ctl_flag_clear)
{
	struct xb_allow a = {};
	struct frame f;

	ban4("198.18.0.2", 0);
	lpm4(skel->maps.allow4, "198.18.0.0", 16, &a);
	set_ctl(XB_CTL_ALLOW6);
	build(&f, "198.18.0.2", 0, 5);
	cr_assert_eq(run(&f), XDP_DROP_V);
	expect_stats(1, 0, 1, 0, 0, 0, 0, 0);
}

/* --- malformed and foreign frames ----------------------------------------------- */

Test(xdp, non_ip_passes)
{
	struct frame f;

	build(&f, "198.18.0.2", 0, 5);
	((struct ethhdr *)f.b)->h_proto = htons(ETH_P_ARP);
	ban4("198.18.0.2", 0);
	cr_assert_eq(run(&f), XDP_PASS_V);
	expect_stats(1, 1, 0, 0, 0, 0, 0, 1);
}

/* Every length short of the full headers, for each layout, passes as a
 * parse failure (the kernel will not run frames under ETH_HLEN). */
static void truncate_all(const char *src, int vlans, int ihl, size_t hdr_end)
{
	struct frame f;
	uint64_t n = 0;

	ban4("198.18.0.2", 0);
	ban6("2001:db8::2", 0);
	build(&f, src, vlans, ihl);
	for (size_t len = ETH_HLEN; len < hdr_end; len++, n++)
		cr_assert_eq(run_len(&f, len, NULL), XDP_PASS_V, "length %zu", len);
	expect_stats(n, n, 0, 0, 0, 0, n, 0);
	/* The full headers are enough to drop. */
	cr_assert_eq(run_len(&f, hdr_end, NULL), XDP_DROP_V);
}

Test(xdp, truncated_ipv4_at_every_boundary)
{
	truncate_all("198.18.0.2", 0, 5, ETH_HLEN + 20);
}

Test(xdp, truncated_ipv4_options)
{
	truncate_all("198.18.0.2", 0, 8, ETH_HLEN + 32);
}

Test(xdp, truncated_ipv6_at_every_boundary)
{
	truncate_all("2001:db8::2", 0, 5, ETH_HLEN + 40);
}

Test(xdp, truncated_two_vlans_at_every_boundary)
{
	truncate_all("198.18.0.2", 2, 5, ETH_HLEN + 8 + 20);
}

Test(xdp, truncated_one_vlan_ipv6)
{
	truncate_all("2001:db8::2", 1, 5, ETH_HLEN + 4 + 40);
}

Test(xdp, ipv4_bad_ihl_passes)
{
	struct frame f;

	ban4("198.18.0.2", 0);
	build(&f, "198.18.0.2", 0, 5);
	((struct iphdr *)(f.b + ETH_HLEN))->ihl = 4;
	cr_assert_eq(run(&f), XDP_PASS_V);
	expect_stats(1, 1, 0, 0, 0, 0, 1, 0);
}

Test(xdp, ipv4_ihl_beyond_frame_passes)
{
	struct frame f;

	ban4("198.18.0.2", 0);
	build(&f, "198.18.0.2", 0, 5);
	((struct iphdr *)(f.b + ETH_HLEN))->ihl = 15;   /* claims 60 bytes; frame has 52 */
	cr_assert_eq(run_len(&f, ETH_HLEN + 52, NULL), XDP_PASS_V);
	expect_stats(1, 1, 0, 0, 0, 0, 1, 0);
}

Test(xdp, ip_version_mismatch_passes)
{
	struct frame f;

	ban4("198.18.0.2", 0);
	build(&f, "198.18.0.2", 0, 5);
	((struct iphdr *)(f.b + ETH_HLEN))->version = 6;
	cr_assert_eq(run(&f), XDP_PASS_V);
	ban6("2001:db8::2", 0);
	build(&f, "2001:db8::2", 0, 5);
	((struct ipv6hdr *)(f.b + ETH_HLEN))->version = 4;
	cr_assert_eq(run(&f), XDP_PASS_V);
	expect_stats(2, 2, 0, 0, 0, 0, 2, 0);
}

Test(xdp, mapped_address_is_not_special_on_the_wire)
{
	struct frame f;

	/* Userspace folds ::ffff:a.b.c.d to IPv4; an IPv6 frame carrying it
	 * is matched in ban6 only (such frames do not occur on real wires). */
	ban4("198.18.0.2", 0);
	build(&f, "::ffff:198.18.0.2", 0, 5);
	cr_assert_eq(run(&f), XDP_PASS_V);
	expect_stats(1, 1, 0, 0, 0, 0, 0, 0);
}

/* --- the buckets ----------------------------------------------------------- */

/* The two buckets of an IPv4 or IPv6 address in the test tables. */
static void buckets4(uint32_t a, uint32_t b[2])
{
	xb_buckets(xb_hash4(a, ctl->seed), tab4.nslots, &b[0], &b[1]);
}

static void buckets6(const struct xb_in6 *a, uint32_t b[2])
{
	xb_buckets(xb_hash6(a, ctl->seed), tab6.nslots, &b[0], &b[1]);
}

/* The slot a ban sits in (-1: not there). */
static int64_t slot_of(const struct xb_tab *t, const void *key)
{
	const struct xb_ban *b = xb_tab_find(t, key);

	return b ? (int64_t)(((const uint8_t *)b - t->slots) / t->slot_sz) : -1;
}

/* n addresses of 198.18.0.0/15 whose first bucket is b1, from index *from
 * on (moved past them); with b2 set (not ~0u), their second must be it, with
 * avoid set, it must not be that. */
static void first_in4(uint32_t b1, uint32_t b2, uint32_t avoid, uint32_t *out, int n,
		      uint32_t *from)
{
	for (; *from < 131072 && n; (*from)++) {
		uint32_t a = htonl(0xc6120000u + *from), b[2];

		buckets4(a, b);
		if (b[0] != b1 || (b2 != ~0u && b[1] != b2) || b[1] == avoid)
			continue;
		*out++ = a;
		n--;
	}
	cr_assert_eq(n, 0, "too few addresses of bucket %u", b1);
}

/* XB_BUCKET + 2 IPv6 addresses of 2001:db8::/32 with one first bucket. */
static void first_in6(struct xb_in6 *out)
{
	static uint8_t cnt[TEST_SLOTS_MAX / XB_BUCKET];
	static struct xb_in6 addrs[TEST_SLOTS_MAX / XB_BUCKET][XB_BUCKET + 2];

	memset(cnt, 0, sizeof(cnt));
	for (uint32_t i = 1; i < 200000; i++) {
		struct xb_in6 k = { .addr = { 0x20, 0x01, 0x0d, 0xb8 } };
		uint32_t be = htonl(i), b[2];

		memcpy(k.addr + 12, &be, 4);
		buckets6(&k, b);
		addrs[b[0]][cnt[b[0]]++] = k;
		if (cnt[b[0]] == XB_BUCKET + 2) {
			memcpy(out, addrs[b[0]], sizeof(addrs[b[0]]));
			return;
		}
	}
	cr_assert_fail("no %d addresses share a bucket", XB_BUCKET + 2);
}

/* A bucket holds XB_BUCKET bans; the next ban of that first bucket goes to
 * its second, where the program finds it reading both (8 slots); an address
 * of that first bucket never banned passes. */
Test(xdp, ipv4_ban_in_its_second_bucket)
{
	uint32_t a[XB_BUCKET + 2], b[2], from = 0, last = XB_BUCKET;
	char s[INET_ADDRSTRLEN];
	struct xb_ban v = {};
	struct frame f;

	buckets4(htonl(0xc6120000u), b);
	first_in4(b[0], ~0u, ~0u, a, XB_BUCKET + 2, &from);
	for (uint32_t i = 0; i <= last; i++)
		cr_assert_eq(xb_tab_put(&tab4, &a[i], &v, NULL), 0);
	buckets4(a[last], b);
	cr_assert_eq(slot_of(&tab4, &a[last]) / XB_BUCKET, b[1], "in its second bucket");
	cr_expect_eq(xb_tab_probe_len(&tab4, &a[last]), 2 * XB_BUCKET);
	cr_expect_eq(xb_tab_probe_len(&tab4, &a[0]), XB_BUCKET);
	build(&f, inet_ntop(AF_INET, &a[last], s, sizeof(s)), 0, 5);
	cr_assert_eq(run(&f), XDP_DROP_V);
	cr_assert_eq(xb_tab_del(&tab4, &a[1]), 0);
	cr_assert_eq(run(&f), XDP_DROP_V, "found beside a retired slot");
	build(&f, inet_ntop(AF_INET, &a[1], s, sizeof(s)), 0, 5);
	cr_assert_eq(run(&f), XDP_PASS_V, "the removed one passes");
	build(&f, inet_ntop(AF_INET, &a[last + 1], s, sizeof(s)), 0, 5);
	cr_assert_eq(run(&f), XDP_PASS_V, "same bucket, never banned");
	expect_stats(4, 2, 2, 0, 0, 0, 0, 0);
	{
		struct xb_ban got;

		cr_assert_eq(xb_tab_get(&tab4, &a[last], &got), 0);
		cr_expect_eq(got.packets, 2);
	}
}

Test(xdp, ipv6_ban_in_its_second_bucket)
{
	struct xb_in6 a[XB_BUCKET + 2];
	const int last = XB_BUCKET, extra = XB_BUCKET + 1;
	char s[INET6_ADDRSTRLEN];
	struct xb_ban v = {};
	uint32_t b[2];
	struct frame f;

	first_in6(a);
	for (int i = 0; i <= last; i++)
		cr_assert_eq(xb_tab_put(&tab6, &a[i], &v, NULL), 0);
	buckets6(&a[last], b);
	cr_assert_eq(slot_of(&tab6, &a[last]) / XB_BUCKET, b[1], "in its second bucket");
	build(&f, inet_ntop(AF_INET6, a[last].addr, s, sizeof(s)), 0, 5);
	cr_assert_eq(run(&f), XDP_DROP_V);
	build(&f, inet_ntop(AF_INET6, a[extra].addr, s, sizeof(s)), 0, 5);
	cr_assert_eq(run(&f), XDP_PASS_V);
	expect_stats(2, 1, 1, 0, 0, 0, 0, 0);
}

/* The program counts per CPU in cnt4 at the ban's slot. An insert into two
 * full buckets moves a ban to its other bucket; its counts go along, and
 * the slot it left starts the new ban there from zero. */
Test(xdp, counts_follow_a_moved_ban)
{
	uint32_t x, bx[2], z[1], bz[2], fill[XB_BUCKET], from = 0, zfrom = 0;
	char str[INET_ADDRSTRLEN];
	struct xb_ban v = {}, got;
	int64_t at;
	struct frame f;

	x = htonl(0xc6120000u);
	buckets4(x, bx);
	from = 1;
	cr_assert_eq(xb_tab_put(&tab4, &x, &v, NULL), 0);
	cr_assert_eq(slot_of(&tab4, &x), bx[0] * XB_BUCKET, "x first in its first bucket");
	first_in4(bx[0], ~0u, bx[1], fill, XB_BUCKET - 1, &from);
	for (int i = 0; i < XB_BUCKET - 1; i++)
		cr_assert_eq(xb_tab_put(&tab4, &fill[i], &v, NULL), 0);
	/* z: first bucket x's, second another one, filled first. */
	zfrom = from;
	first_in4(bx[0], ~0u, bx[1], z, 1, &zfrom);
	buckets4(z[0], bz);
	from = 0;
	for (uint32_t k = 0; k < XB_BUCKET; k++) {
		uint32_t c;

		first_in4(bz[1], ~0u, bx[0], &c, 1, &from);
		from++;
		cr_assert_eq(xb_tab_put(&tab4, &c, &v, NULL), 0);
	}
	build(&f, inet_ntop(AF_INET, &x, str, sizeof(str)), 0, 5);
	cr_assert_eq(run(&f), XDP_DROP_V);
	cr_assert_eq(run(&f), XDP_DROP_V);
	cr_expect_eq(slot_packets4(bx[0] * XB_BUCKET), 2, "counted per CPU at its slot");
	cr_assert_eq(xb_tab_put(&tab4, &z[0], &v, NULL), 0, "room made");
	at = slot_of(&tab4, &x);
	cr_assert_eq(at / XB_BUCKET, bx[1], "x moved to its second bucket");
	cr_expect_eq(slot_of(&tab4, &z[0]), bx[0] * XB_BUCKET, "z where x was");
	cr_expect_eq(slot_packets4(bx[0] * XB_BUCKET), 0, "the slot it left starts from zero");
	cr_assert_eq(xb_tab_get(&tab4, &x, &got), 0);
	cr_expect_eq(got.packets, 2, "no count lost in the move");
	cr_expect_eq(got.bytes, 2 * f.len);
	cr_assert_eq(run(&f), XDP_DROP_V);
	cr_assert_eq(xb_tab_get(&tab4, &x, &got), 0);
	cr_expect_eq(got.packets, 3);
	cr_assert_eq(xb_tab_get(&tab4, &z[0], &got), 0);
	cr_expect_eq(got.packets, 0, "a new ban in the slot left behind starts at 0");
}

/* A writer killed inside a move (bantab.h) leaves two LIVE copies of a ban:
 * the program stops at the first (its counters count), and after an unban
 * neither drops. */
Test(xdp, two_copies_of_a_ban_first_counts_unban_removes_both)
{
	uint32_t a = htonl(0xc6120005u), b[2], first, second;
	struct xb_slot4 *s = (struct xb_slot4 *)tab4.slots;
	char str[INET_ADDRSTRLEN];
	struct xb_ban v = {};
	struct frame f;

	buckets4(a, b);
	cr_assert_eq(xb_tab_put(&tab4, &a, &v, NULL), 0);
	first = (uint32_t)slot_of(&tab4, &a);
	cr_assert_eq(first, b[0] * XB_BUCKET);
	/* Its copy in the second bucket, as a move to there leaves it. */
	second = b[1] * XB_BUCKET + 1;
	s[second].addr = a;
	s[second].ban = s[first].ban;
	__atomic_store_n(&s[second].state, XB_SLOT_LIVE, __ATOMIC_RELEASE);

	build(&f, inet_ntop(AF_INET, &a, str, sizeof(str)), 0, 5);
	cr_assert_eq(run(&f), XDP_DROP_V);
	cr_expect_eq(slot_packets4(first), 1, "the first copy counts");
	cr_expect_eq(slot_packets4(second), 0);
	cr_assert_eq(xb_tab_del(&tab4, &a), 0);
	cr_assert_eq(run(&f), XDP_PASS_V, "a copy survived the unban");
	expect_stats(2, 1, 1, 0, 0, 0, 0, 0);
}

/* Where a counter per slot and CPU would take too much memory (open.c:
 * pick_counters), the program is loaded with xb_cnt_percpu 0 and counts
 * with atomic adds on the slot, where the table reads them. */
Test(xdp, counts_on_the_slot_without_per_cpu_counters)
{
	struct xdpban *sk = xdpban__open();
	struct xb_ctl *c = NULL;
	struct xb_tab t = {};
	struct xb_ban v = {}, got;
	uint32_t a;
	struct frame f;

	cr_assert_not_null(sk);
	bpf_map__set_max_entries(sk->maps.ban4, TEST_SLOTS / XB_BUCKET);
	bpf_map__set_max_entries(sk->maps.ban6, TEST_SLOTS / XB_BUCKET);
	bpf_map__set_max_entries(sk->maps.cnt4, 1);
	bpf_map__set_max_entries(sk->maps.cnt6, 1);
	sk->rodata->xb_cnt_percpu = 0;
	cr_assert_eq(xdpban__load(sk), 0);
	cr_assert_eq(xb_ctl_map(bpf_map__fd(sk->maps.ctl), &c), 0);
	cr_assert_eq(xb_tab_map(&t, 4, bpf_map__fd(sk->maps.ban4), c), 0);
	cr_assert_eq(xb_tab_use_counters(&t, bpf_map__fd(sk->maps.cnt4)), -EINVAL,
		     "one entry is not a counter per slot");
	cr_assert_eq(inet_pton(AF_INET, "198.18.0.9", &a), 1);
	cr_assert_eq(xb_tab_put(&t, &a, &v, NULL), 0);
	build(&f, "198.18.0.9", 0, 5);
	for (int i = 0; i < 3; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f.b, .data_size_in = f.len);

		cr_assert_eq(bpf_prog_test_run_opts(bpf_program__fd(sk->progs.xdpban), &o), 0);
		cr_assert_eq(o.retval, XDP_DROP_V);
	}
	cr_assert_eq(xb_tab_get(&t, &a, &got), 0);
	cr_expect_eq(got.packets, 3);
	cr_expect_eq(got.bytes, 3 * f.len);
	xb_tab_unmap(&t);
	xb_ctl_unmap(c);
	xdpban__destroy(sk);
}
