// SPDX-License-Identifier: GPL-2.0
/* list, stats: read the pinned maps (never create them). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/cli.h"
#include "common/util.h"

struct list_cfg {
	struct xb_cli_paths paths;
	bool json, allow;
};
XB_CLI_CFG(struct list_cfg);

static const struct xb_opt list_opts[] = {
	{ .name = "json", .short_opt = 'j', XB_BOOL(struct list_cfg, json),
	  .help = "one JSON array; each entry has addr, prefix, expires_in (whole seconds left, rounded down; null "
	  "when permanent), packets, bytes, rule, offence, reason (null when none), "
	  "created (epoch seconds or null)" },
	{ .name = "allow", .short_opt = 'a', XB_BOOL(struct list_cfg, allow),
	  .help = "list the allow list instead (addr, prefix, packets passed)" },
	{}
};

const struct xb_opts_spec xb_list_opts = {
	.opts = list_opts,
	.size = sizeof(struct list_cfg),
	.desc = "List the bans: address or prefix, time left, packets and bytes dropped, "
		"rule and offence (0 = manual ban), reason. Expired bans still awaiting "
		"removal are not shown.",
};

struct list_ctx {
	bool json;
	bool first;
	uint64_t now;
	size_t n;
};

/* Whole seconds left, rounded down: a fresh 20 s ban never shows more than
 * 20, although its kernel end may lie up to a second past decision + 20 s
 * (the recorded end is rounded up to the second, and a restore re-arms to
 * it). 0 means it ends within the second. */
static uint64_t secs_left(uint64_t expires, uint64_t now)
{
	return expires > now ? (expires - now) / NSEC_PER_SEC : 0;
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
		/* Wall clock, comparable between hosts (a fleet ban has one end). */
		json_object_object_add(o, "expires_at", b->expires ?
				       json_object_new_int64(xb_mono_to_wall(b->expires)) : NULL);
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

int do_list(const void *cfg, const struct xb_cli_ctx *ctx, int argc, char **argv)
{
	const struct list_cfg *o = cfg;
	struct list_ctx c = { .first = true, .json = o->json };
	struct xb_dp *dp;
	int err;

	err = xb_cli_dp_open(ctx, false, 0, &dp);
	if (err)
		return err;
	c.now = xb_now_mono_ns();
	err = o->allow ? xb_dp_foreach_allow(dp, print_allow, &c) : xb_dp_foreach_ban(dp, print_ban, &c);
	xb_dp_close(dp);
	if (c.json)
		printf(c.first ? "[]\n" : "\n]\n");
	if (err)
		fprintf(stderr, "xdpban: list: %s\n", strerror(-err));
	return err;
}

struct stats_cfg {
	struct xb_cli_paths paths;
	bool json;
};
XB_CLI_CFG(struct stats_cfg);

static const struct xb_opt stats_opts[] = {
	{ .name = "json", .short_opt = 'j', XB_BOOL(struct stats_cfg, json),
	  .help = "one JSON object" },
	{}
};

const struct xb_opts_spec xb_stats_opts = {
	.opts = stats_opts,
	.size = sizeof(struct stats_cfg),
	.desc = "Global counters of the XDP program, summed over CPUs: seen, passed, dropped, "
		"dropped_bytes, dropped_prefix, passed_allowed, passed_expired, parse_fail, "
		"non_ip. They count from the creation of the maps.",
};

int do_stats(const void *cfg, const struct xb_cli_ctx *ctx, int argc, char **argv)
{
	static const char *const names[] = XB_STAT_NAMES;
	const struct stats_cfg *o = cfg;
	static const char *const fill_names[] = { "bans4", "capacity4", "bans6", "capacity6" };
	uint64_t v[XB_STAT_MAX];
	uint32_t fill[4], ceiling;
	struct xb_dp *dp;
	int err;

	_Static_assert(ARRAY_SIZE(names) == XB_STAT_MAX, "a name for every counter");
	err = xb_cli_dp_open(ctx, false, 0, &dp);
	if (err)
		return err;
	err = xb_dp_stats(dp, v);
	/* The exact-ban tables: bans held and capacity (they grow when full). */
	if (!err)
		err = xb_dp_table_fill(dp, 4, &fill[0], &fill[1]);
	if (!err)
		err = xb_dp_table_fill(dp, 6, &fill[2], &fill[3]);
	ceiling = xb_dp_max_bans(dp);   /* what they may grow to */
	xb_dp_close(dp);
	if (err) {
		fprintf(stderr, "xdpban: stats: %s\n", strerror(-err));
		return err;
	}
	if (o->json) {
		json_object *j = json_object_new_object();

		if (!j)
			return -ENOMEM;
		for (int i = 0; i < XB_STAT_MAX; i++)
			json_object_object_add(j, names[i], json_object_new_uint64(v[i]));
		for (int i = 0; i < 4; i++)
			json_object_object_add(j, fill_names[i], json_object_new_uint64(fill[i]));
		json_object_object_add(j, "max_bans", json_object_new_uint64(ceiling));
		printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
		json_object_put(j);
		return 0;
	}
	for (int i = 0; i < XB_STAT_MAX; i++)
		printf("%-16s %llu\n", names[i], (unsigned long long)v[i]);
	for (int i = 0; i < 4; i++)
		printf("%-16s %u\n", fill_names[i], fill[i]);
	printf("%-16s %u\n", "max_bans", ceiling);
	return 0;
}
