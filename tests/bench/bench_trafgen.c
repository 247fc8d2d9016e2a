// SPDX-License-Identifier: GPL-2.0
/*
 * bench_trafgen: the flood of `make bench-traffic`, generated as XDP frames.
 *
 * BPF_PROG_TEST_RUN in live-frames mode (BPF_F_TEST_XDP_LIVE_FRAMES) runs
 * bpf/trafgen.bpf.c on a template frame; the program gives each frame the
 * next source address of the banned set and redirects it into the sender's
 * veth, so the edge receives xdp_frames as from a NIC, before any skb exists.
 * Run it inside the sender's network namespace (ip netns exec): the redirect
 * target is looked up there.
 *
 *   bench_trafgen --ifname IF --dst-mac MAC --dst ADDR --src-base ADDR
 *                 [--n-src N] [--proto udp|syn] [--dport P]
 *                 [--count N] [--seconds S] [--batch N]
 *   bench_trafgen --list N --src-base ADDR   (the N sources, one a line)
 *
 * The flood is bounded twice: at --count frames and at --seconds; it is sent
 * in chunks so the time bound holds. Prints "sent=N seconds=S pps=P".
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/ether.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "trafgen.skel.h"

#define CHUNK 262144u   /* frames per test run: ~50-150 ms at the rates seen */

struct addr {
	int family;
	union { struct in_addr v4; struct in6_addr v6; };
};

static int parse_addr(const char *s, struct addr *a)
{
	if (inet_pton(AF_INET, s, &a->v4) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, s, &a->v6) == 1)
		a->family = AF_INET6;
	else
		return -EINVAL;
	return 0;
}

static int list_sources(const struct addr *base, __u32 n)
{
	char buf[INET6_ADDRSTRLEN];

	for (__u32 i = 0; i < n; i++) {
		struct addr a = *base;

		if (a.family == AF_INET) {
			a.v4.s_addr = htonl(ntohl(a.v4.s_addr) + i);
			printf("%s\n", inet_ntop(AF_INET, &a.v4, buf, sizeof(buf)));
		} else {
			__u32 low;

			memcpy(&low, &a.v6.s6_addr[12], 4);
			low = htonl(ntohl(low) + i);
			memcpy(&a.v6.s6_addr[12], &low, 4);
			printf("%s\n", inet_ntop(AF_INET6, &a.v6, buf, sizeof(buf)));
		}
	}
	return 0;
}

static int if_mac(const char *ifname, __u8 mac[ETH_ALEN])
{
	struct ifreq ifr = {};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		err = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	close(fd);
	return err;
}

/* A 64-byte UDP datagram or a TCP SYN from the base source to dst:dport. */
static size_t build_frame(__u8 *buf, const __u8 *smac, const __u8 *dmac,
			  const struct addr *src, const struct addr *dst, int syn, __u16 dport)
{
	struct ethhdr *eth = (void *)buf;
	size_t l4len = syn ? sizeof(struct tcphdr) : sizeof(struct udphdr) + 18;
	__u8 *l4;
	size_t len;

	memset(buf, 0, 256);
	memcpy(eth->h_dest, dmac, ETH_ALEN);
	memcpy(eth->h_source, smac, ETH_ALEN);
	if (dst->family == AF_INET) {
		struct iphdr *ip = (void *)(eth + 1);

		eth->h_proto = htons(ETH_P_IP);
		ip->version = 4;
		ip->ihl = 5;
		ip->ttl = 64;
		ip->protocol = syn ? IPPROTO_TCP : IPPROTO_UDP;
		ip->tot_len = htons(sizeof(*ip) + l4len);
		ip->saddr = src->v4.s_addr;
		ip->daddr = dst->v4.s_addr;
		l4 = (__u8 *)(ip + 1);  /* the generator writes the header checksum */
	} else {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		eth->h_proto = htons(ETH_P_IPV6);
		ip6->version = 6;
		ip6->hop_limit = 64;
		ip6->nexthdr = syn ? IPPROTO_TCP : IPPROTO_UDP;
		ip6->payload_len = htons(l4len);
		ip6->saddr = src->v6;
		ip6->daddr = dst->v6;
		l4 = (__u8 *)(ip6 + 1);
	}
	if (syn) {
		struct tcphdr *tcp = (void *)l4;

		tcp->source = htons(40000);
		tcp->dest = htons(dport);
		tcp->seq = htonl(1);
		tcp->doff = 5;
		tcp->syn = 1;
		tcp->window = htons(64240);
	} else {
		struct udphdr *udp = (void *)l4;

		udp->source = htons(40000);
		udp->dest = htons(dport);
		udp->len = htons(l4len);
	}
	len = l4 + l4len - buf;
	return len < 60 ? 60 : len;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: bench_trafgen --ifname IF --dst-mac MAC --dst ADDR --src-base ADDR\n"
		"                     [--n-src N] [--proto udp|syn] [--dport P]\n"
		"                     [--count N] [--seconds S] [--batch N]\n"
		"       bench_trafgen --list N --src-base ADDR\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ifname", required_argument, NULL, 'i' },
		{ "dst-mac", required_argument, NULL, 'm' },
		{ "dst", required_argument, NULL, 'd' },
		{ "src-base", required_argument, NULL, 's' },
		{ "n-src", required_argument, NULL, 'n' },
		{ "proto", required_argument, NULL, 'p' },
		{ "dport", required_argument, NULL, 'P' },
		{ "count", required_argument, NULL, 'c' },
		{ "seconds", required_argument, NULL, 't' },
		{ "batch", required_argument, NULL, 'b' },
		{ "list", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *ifname = NULL;
	struct addr dst = {}, src = {};
	__u8 dmac[ETH_ALEN], smac[ETH_ALEN], frame[256];
	int have_mac = 0, syn = 0, c, err, ifindex, prog_fd;
	unsigned long long count = 10000000, sent = 0, list = 0;
	__u32 n_src = 1, batch = 64;
	__u16 dport = 9;
	double seconds = 5, t0, t1;
	struct trafgen *skel;
	size_t len;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'i': ifname = optarg; break;
		case 'm':
			if (!ether_aton_r(optarg, (struct ether_addr *)dmac)) {
				fprintf(stderr, "bench_trafgen: bad MAC '%s'\n", optarg);
				return 2;
			}
			have_mac = 1;
			break;
		case 'd':
		case 's':
			if (parse_addr(optarg, c == 'd' ? &dst : &src)) {
				fprintf(stderr, "bench_trafgen: bad address '%s'\n", optarg);
				return 2;
			}
			break;
		case 'n': n_src = strtoul(optarg, NULL, 10); break;
		case 'p':
			if (strcmp(optarg, "udp") && strcmp(optarg, "syn")) {
				fprintf(stderr, "bench_trafgen: --proto is udp or syn\n");
				return 2;
			}
			syn = !strcmp(optarg, "syn");
			break;
		case 'P': dport = strtoul(optarg, NULL, 10); break;
		case 'c': count = strtoull(optarg, NULL, 10); break;
		case 't': seconds = strtod(optarg, NULL); break;
		case 'b': batch = strtoul(optarg, NULL, 10); break;
		case 'l': list = strtoull(optarg, NULL, 10); break;
		default:
			usage();
			return c == 'h' ? 0 : 2;
		}
	}
	if (list) {
		if (!src.family) {
			usage();
			return 2;
		}
		return list_sources(&src, list);
	}
	if (!ifname || !have_mac || !dst.family || src.family != dst.family || !n_src ||
	    !count || seconds <= 0 || seconds > 600 || !batch) {
		usage();
		return 2;
	}
	ifindex = if_nametoindex(ifname);
	if (!ifindex) {
		fprintf(stderr, "bench_trafgen: %s: %s\n", ifname, strerror(errno));
		return 3;
	}
	err = if_mac(ifname, smac);
	if (err) {
		fprintf(stderr, "bench_trafgen: MAC of %s: %s\n", ifname, strerror(-err));
		return 1;
	}
	len = build_frame(frame, smac, dmac, &src, &dst, syn, dport);

	skel = trafgen__open();
	if (!skel) {
		fprintf(stderr, "bench_trafgen: open: %s\n", strerror(errno));
		return 1;
	}
	skel->rodata->tx_ifindex = ifindex;
	skel->rodata->n_src = n_src;
	if (src.family == AF_INET) {
		skel->rodata->src4_base = ntohl(src.v4.s_addr);
	} else {
		__u32 low;

		memcpy(&low, &src.v6.s6_addr[12], 4);
		skel->rodata->src6_base_low = ntohl(low);
	}
	err = trafgen__load(skel);
	if (err) {
		fprintf(stderr, "bench_trafgen: load: %s\n", strerror(-err));
		trafgen__destroy(skel);
		return 1;
	}
	prog_fd = bpf_program__fd(skel->progs.trafgen);

	t0 = now_s();
	t1 = t0;
	while (sent < count && t1 - t0 < seconds) {
		__u32 n = count - sent < CHUNK ? count - sent : CHUNK;
		LIBBPF_OPTS(bpf_test_run_opts, o,
			.data_in = frame, .data_size_in = len,
			.repeat = n, .batch_size = batch,
			.flags = BPF_F_TEST_XDP_LIVE_FRAMES);

		if (bpf_prog_test_run_opts(prog_fd, &o)) {
			err = -errno;
			fprintf(stderr, "bench_trafgen: live test run: %s\n", strerror(-err));
			break;
		}
		sent += n;
		t1 = now_s();
	}
	printf("sent=%llu seconds=%.3f pps=%.0f\n", sent, t1 - t0, t1 > t0 ? sent / (t1 - t0) : 0.0);
	trafgen__destroy(skel);
	return err ? 1 : 0;
}
