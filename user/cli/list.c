// SPDX-License-Identifier: GPL-2.0
/* list, stats: read the pinned maps (never create them). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/context.h"
#include "cli/cli.h"
#include "common/util.h"

static void list_usage(FILE *f)
{
	fprintf(f,
		"usage: xdpban list [--json] [--allow]\n"
		"\n"
		"List the bans: address or prefix, time left, packets and bytes dropped,\n"
		"rule and offence (0 = manual ban), reason. Expired bans still awaiting\n"
		"removal are not shown.\n"
		"  -j, --json   one JSON array; each entry has addr, prefix, expires_in\n"
		"               (seconds, null when permanent), packets, bytes, rule, offence,\n"
		"               reason (null when none), created (epoch seconds or null)\n"
		"  -a, --allow  list the allow list instead (addr, prefix, packets passed)\n");
}

struct list_ctx {
	bool json;
	bool first;
	uint64_t now;
	size_t n;
};

/* Seconds left, rounded up; an expired ban not yet swept shows 0. */
static uint64_t secs_left(uint64_t expires, uint64_t now)
{
	return expires > now ? (expires - now + NSEC_PER_SEC - 1) / NSEC_PER_SEC : 0;
}

static void json_out(struct list_ctx *c, json_object *o)
{
	printf("%s\n  %s", c->first ? "[" : ",",
	       json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	c->first = false;
	json_object_put(o);
}

static int print_ban(const struct xb_addr *a, const struct xb_ban *b, const struct xb_meta *m, void *ctx)
{
	struct list_ctx *c = ctx;
	char addr[XB_ADDRSTRLEN], reason[XB_REASON_LEN];
	uint64_t left = secs_left(b->expires, c->now);

	/* Expired but not yet removed: it no longer drops, so it is not a ban. */
	if (b->expires && b->expires <= c->now)
		return 0;
	c->n++;
	reason[0] = '\0';
	if (m)
		snprintf(reason, sizeof(reason), "%.*s", XB_REASON_LEN - 1, m->reason);
	if (c->json) {
		json_object *o = json_object_new_object();

		if (!o)
			return -ENOMEM;
		json_object_object_add(o, "addr", json_object_new_string(xb_addr_str(a, addr, sizeof(addr))));
		json_object_object_add(o, "prefix", json_object_new_int(a->prefixlen));
		json_object_object_add(o, "expires_in", b->expires ? json_object_new_uint64(left) : NULL);
		json_object_object_add(o, "packets", json_object_new_uint64(b->packets));
		json_object_object_add(o, "bytes", json_object_new_uint64(b->bytes));
		json_object_object_add(o, "rule", json_object_new_int64(b->rule));
		json_object_object_add(o, "offence", json_object_new_int(b->offence));
		json_object_object_add(o, "reason", m ? json_object_new_string(reason) : NULL);
		json_object_object_add(o, "created", m ? json_object_new_int64((int64_t)m->created) : NULL);
		json_out(c, o);
		return 0;
	}
	char ttl[32];

	if (c->n == 1)
		printf("%-43s %-10s %12s %14s %6s %4s %s\n", "ADDRESS", "EXPIRES", "PACKETS", "BYTES",
		       "RULE", "OFF", "REASON");
	if (b->expires)
		xb_fmt_duration(left, ttl, sizeof(ttl));
	else
		snprintf(ttl, sizeof(ttl), "never");
	printf("%-43s %-10s %12llu %14llu %6u %4u %s\n", xb_addr_fmt(a, addr, sizeof(addr)), ttl,
	       (unsigned long long)b->packets, (unsigned long long)b->bytes, b->rule, b->offence, reason);
	return 0;
}

static int print_allow(const struct xb_addr *a, const struct xb_allow *v, void *ctx)
{
	struct list_ctx *c = ctx;
	char addr[XB_ADDRSTRLEN];

	c->n++;
	if (c->json) {
		json_object *o = json_object_new_object();

		if (!o)
			return -ENOMEM;
		json_object_object_add(o, "addr", json_object_new_string(xb_addr_str(a, addr, sizeof(addr))));
		json_object_object_add(o, "prefix", json_object_new_int(a->prefixlen));
		json_object_object_add(o, "packets", json_object_new_uint64(v->packets));
		json_out(c, o);
		return 0;
	}
	if (c->n == 1)
		printf("%-43s %12s\n", "ALLOWED", "PACKETS");
	printf("%-43s %12llu\n", xb_addr_fmt(a, addr, sizeof(addr)), (unsigned long long)v->packets);
	return 0;
}

int do_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "allow", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct list_ctx c = { .first = true };
	bool allow = false;
	struct xb_dp *dp;
	int ch, err;

	while ((ch = getopt_long(argc, argv, "jah", opts, NULL)) != -1) {
		switch (ch) {
		case 'j': c.json = true; break;
		case 'a': allow = true; break;
		case 'h': list_usage(stdout); return 0;
		default: list_usage(stderr); return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "xdpban: list: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	err = xb_cli_dp_open("list", false, 0, &dp);
	if (err)
		return err;
	c.now = xb_now_mono_ns();
	err = allow ? xb_dp_foreach_allow(dp, print_allow, &c) : xb_dp_foreach_ban(dp, print_ban, &c);
	xb_dp_close(dp);
	if (c.json)
		printf(c.first ? "[]\n" : "\n]\n");
	if (err)
		fprintf(stderr, "xdpban: list: %s\n", strerror(-err));
	return err;
}

static void stats_usage(FILE *f)
{
	fprintf(f,
		"usage: xdpban stats [--json]\n"
		"\n"
		"Global counters of the XDP program, summed over CPUs: seen, passed, dropped,\n"
		"dropped_bytes, dropped_prefix, passed_allowed, passed_expired, parse_fail,\n"
		"non_ip. They count from the creation of the maps.\n"
		"  -j, --json   one JSON object\n");
}

int do_stats(int argc, char **argv)
{
	static const char *const names[] = XB_STAT_NAMES;
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	uint64_t v[XB_STAT_MAX];
	bool json = false;
	struct xb_dp *dp;
	int ch, err;

	_Static_assert(ARRAY_SIZE(names) == XB_STAT_MAX, "a name for every counter");
	while ((ch = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (ch) {
		case 'j': json = true; break;
		case 'h': stats_usage(stdout); return 0;
		default: stats_usage(stderr); return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "xdpban: stats: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	err = xb_cli_dp_open("stats", false, 0, &dp);
	if (err)
		return err;
	err = xb_dp_stats(dp, v);
	xb_dp_close(dp);
	if (err) {
		fprintf(stderr, "xdpban: stats: %s\n", strerror(-err));
		return err;
	}
	if (json) {
		json_object *o = json_object_new_object();

		if (!o)
			return -ENOMEM;
		for (int i = 0; i < XB_STAT_MAX; i++)
			json_object_object_add(o, names[i], json_object_new_uint64(v[i]));
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
		return 0;
	}
	for (int i = 0; i < XB_STAT_MAX; i++)
		printf("%-16s %llu\n", names[i], (unsigned long long)v[i]);
	return 0;
}
