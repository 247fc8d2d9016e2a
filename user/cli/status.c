// SPDX-License-Identifier: GPL-2.0
/*
 * status: at a glance, from the maps (interfaces, bans by family, kind and
 * origin, counters) and from the daemon's control socket (pid, uptime,
 * config, dry-run, sources and their lag, drops in the last minute). Without
 * a daemon the last figure is "n/a": only the daemon samples the counter
 * over time, and status should answer at once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "cli/cli.h"
#include "common/config.h"
#include "daemon/ctlsock.h"
#include "common/util.h"

struct counts {
	size_t exact4, exact6, pfx4, pfx6, manual, daemon, allow, links;
	struct json_object *ifs;        /* --json: the attachments */
	bool print;
};

static int count_ban(const struct xb_addr *a, const struct xb_ban *b, const struct xb_meta *m,
		     void *ctx)
{
	struct counts *c = ctx;
	bool single = xb_addr_is_single(a);

	(void)m;
	if (a->family == 4)
		single ? c->exact4++ : c->pfx4++;
	else
		single ? c->exact6++ : c->pfx6++;
	/* Whatever the daemon did not make was made by hand. */
	(b->flags & XB_BAN_F_DAEMON) ? c->daemon++ : c->manual++;
	return 0;
}

static int count_allow(const struct xb_addr *a, const struct xb_allow *v, void *ctx)
{
	(void)a;
	(void)v;
	((struct counts *)ctx)->allow++;
	return 0;
}

static int on_link(const char *ifname, int ifindex, enum xb_mode mode, void *ctx)
{
	struct counts *c = ctx;

	c->links++;
	if (c->ifs) {
		struct json_object *o = json_object_new_object();

		if (!o)
			return -ENOMEM;
		json_object_object_add(o, "name", json_object_new_string(ifname));
		json_object_object_add(o, "ifindex", json_object_new_int(ifindex));
		json_object_object_add(o, "mode", ifindex ? json_object_new_string(xb_mode_str(mode)) : NULL);
		json_object_array_add(c->ifs, o);
	}
	if (!c->print)
		return 0;
	if (ifindex)
		printf("  %-16s ifindex %-5d %s mode\n", ifname, ifindex, xb_mode_str(mode));
	else
		printf("  %-16s (interface gone; 'xdpban detach %s' removes the pin)\n", ifname, ifname);
	return 0;
}

/* The daemon's status reply as JSON, or NULL when none answers (*why says). */
static struct json_object *daemon_status(const char *sock, const char *conf, char *buf,
					 size_t len, const char **path, int *why)
{
	struct json_object *o, *ok;
	char *reply = NULL;
	int err;

	*path = xb_cli_socket_path(conf, sock, buf, len);
	err = xb_ctlsock_request(*path, "status", &reply);
	if (err) {
		*why = err;
		return NULL;
	}
	o = json_tokener_parse(reply);
	free(reply);
	if (!o || !json_object_object_get_ex(o, "ok", &ok) || !json_object_get_boolean(ok)) {
		json_object_put(o);
		*why = -EPROTO;
		return NULL;
	}
	return o;
}

static int64_t jint(struct json_object *o, const char *key, int64_t dflt)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && v ? json_object_get_int64(v) : dflt;
}

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : "?";
}

/* The database and what waits in memory: a failing disk is said plainly,
 * with what it costs (bans still enforced, their record not yet written). */
static void print_state(struct json_object *d)
{
	struct json_object *rec = NULL, *ok;
	int64_t since = jint(d, "state_failing_since", 0), unstored = jint(d, "unstored_bans", 0);
	char ub[32];

	if (json_object_object_get_ex(d, "state_ok", &ok) && json_object_get_boolean(ok)) {
		printf("state: ok, %s", jstr(d, "state"));
	} else {
		printf("state: FAILING");
		if (since > 0)
			printf(" for %s", xb_fmt_duration((uint64_t)(time(NULL) - since), ub, sizeof(ub)));
		printf(" (%s); bans go on, kept in memory", jstr(d, "state_error"));
	}
	if (jint(d, "state_pending", 0) || jint(d, "state_dropped", 0) || jint(d, "state_failures", 0))
		printf("; %lld changes waiting, %lld dropped, %lld failed writes",
		       (long long)jint(d, "state_pending", 0), (long long)jint(d, "state_dropped", 0),
		       (long long)jint(d, "state_failures", 0));
	printf("\n");
	if (unstored)
		printf("bans recorded but not yet in the maps (full): %lld, stored as room frees\n",
		       (long long)unstored);
	if (jint(d, "singled_bans", 0))
		printf("prefix bans narrowed to one address (prefix map full): %lld\n",
		       (long long)jint(d, "singled_bans", 0));
	if (json_object_object_get_ex(d, "checkpoint_error", &ok) && ok)
		printf("checkpoint: %s\n", json_object_get_string(ok));
	if (json_object_object_get_ex(d, "reconcile", &rec) && rec)
		printf("reconcile: %lld passes%s, %lld checked, %lld lifted outside the daemon, "
		       "last took %lld ms\n", (long long)jint(rec, "passes", 0),
		       jint(rec, "running", 0) ? " (one running)" : "", (long long)jint(rec, "checked", 0),
		       (long long)jint(rec, "lifted", 0), (long long)jint(rec, "last_ms", 0));
	if (json_object_object_get_ex(d, "loop", &rec) && rec &&
	    json_object_object_get_ex(rec, "longest_ms", &ok))
		printf("event loop: longest turn %.1f ms (%s)\n", json_object_get_double(ok),
		       jstr(rec, "longest_in"));
}

/* The other responses, when any ran: failing and hanging scripts show here. */
static void print_responses(struct json_object *d)
{
	struct json_object *r;

	if (!json_object_object_get_ex(d, "responses", &r) || !r ||
	    !(jint(r, "started", 0) || jint(r, "applied", 0) || jint(r, "active", 0) ||
	      jint(r, "failed", 0) || jint(r, "posted", 0) || jint(r, "post_failed", 0)))
		return;
	printf("responses: %lld in force, %lld applied, %lld lifted; scripts %lld started, "
	       "%lld running, %lld failed (%lld hung), %lld aborted; %lld refused, %lld errors; "
	       "webhooks %lld posted, %lld failed\n", (long long)jint(r, "active", 0),
	       (long long)jint(r, "applied", 0), (long long)jint(r, "lifted", 0),
	       (long long)jint(r, "started", 0), (long long)jint(r, "running", 0),
	       (long long)jint(r, "failed", 0), (long long)jint(r, "hung", 0),
	       (long long)jint(r, "aborted", 0), (long long)jint(r, "refused", 0),
	       (long long)jint(r, "errors", 0), (long long)jint(r, "posted", 0),
	       (long long)jint(r, "post_failed", 0));
}

/* The fleet: who this host is, the broker, what waits, what was applied. */
static void print_fleet(struct json_object *d)
{
	struct json_object *f, *v, *agents;
	char ub[32];

	if (!json_object_object_get_ex(d, "fleet", &f) || !f)
		return;
	json_object_object_get_ex(f, "connected", &v);
	printf("fleet: %s %s, broker %s", jstr(f, "role"), jstr(f, "agent_id"),
	       v && json_object_get_boolean(v) ? "connected" : "NOT CONNECTED");
	if (!(v && json_object_get_boolean(v)) && jint(f, "down_since", 0) > 0)
		printf(" for %s", xb_fmt_duration((uint64_t)(time(NULL) - jint(f, "down_since", 0)),
						  ub, sizeof(ub)));
	printf("; outbox %lld of %lld", (long long)jint(f, "outbox", 0),
	       (long long)jint(f, "outbox_max", 0));
	if (jint(f, "outbox_age", 0) > 0)
		printf(", the oldest waiting %s",
		       xb_fmt_duration((uint64_t)jint(f, "outbox_age", 0), ub, sizeof(ub)));
	if (jint(f, "lag", -1) >= 0)
		printf("; lag %lld %s", (long long)jint(f, "lag", 0),
		       !strcmp(jstr(f, "role"), "manager") ? "reports not yet delivered" :
		       "decisions not yet delivered");
	if (jint(f, "reports_dropped", 0))
		printf(" (FULL: %lld reports dropped)", (long long)jint(f, "reports_dropped", 0));
	printf("\n  %lld reports, %lld sent, %lld acked; decisions %lld received, %lld applied, "
	       "%lld extended, %lld lifted, %lld ended before arriving; %lld held; %lld errors\n",
	       (long long)jint(f, "reports", 0), (long long)jint(f, "sent", 0),
	       (long long)jint(f, "acked", 0), (long long)jint(f, "decisions", 0),
	       (long long)jint(f, "applied", 0), (long long)jint(f, "extended", 0),
	       (long long)jint(f, "lifted", 0), (long long)jint(f, "stale", 0),
	       (long long)jint(f, "held", 0), (long long)jint(f, "errors", 0));
	if (json_object_object_get_ex(f, "last_error", &v) && v)
		printf("  last error: %s\n", json_object_get_string(v));
	if (!json_object_object_get_ex(f, "agents", &agents) || !agents)
		return;
	printf("  manager: %lld decided, %lld same attack (grace), %lld refused, %lld delayed "
	       "(over report_rate), %lld ended keys purged (%lld failed); agents seen:\n",
	       (long long)jint(f, "decided", 0), (long long)jint(f, "folded", 0),
	       (long long)jint(f, "refused", 0), (long long)jint(f, "delayed", 0),
	       (long long)jint(f, "purged", 0), (long long)jint(f, "purge_errors", 0));
	for (size_t i = 0; i < json_object_array_length(agents); i++) {
		struct json_object *a = json_object_array_get_idx(agents, i);
		int64_t last = jint(a, "last_report", 0);

		printf("    %-16s %lld reports, last %s ago, own %s\n", jstr(a, "id"),
		       (long long)jint(a, "reports", 0),
		       xb_fmt_duration((uint64_t)(last ? time(NULL) - last : 0), ub, sizeof(ub)),
		       jstr(a, "own"));
	}
}

static void print_daemon(struct json_object *d, const char *path, int why)
{
	struct json_object *srcs;
	char ub[32];

	if (!d) {
		printf("daemon: not running (no answer on %s: %s)\n", path,
		       why == -EPROTO ? "unexpected reply" : strerror(-why));
		printf("drops in the last minute: n/a (needs the daemon)\n");
		return;
	}
	printf("daemon: running, pid %lld, up %s, config %s%s\n", (long long)jint(d, "pid", 0),
	       xb_fmt_duration((uint64_t)jint(d, "uptime", 0), ub, sizeof(ub)), jstr(d, "config"),
	       jint(d, "dry_run", 0) ? ", dry-run (nothing is banned)" : "");
	if (jint(d, "drops_1m", -1) >= 0)
		printf("drops in the last minute: %lld (over %lld s)\n",
		       (long long)jint(d, "drops_1m", 0), (long long)jint(d, "drops_window", 0));
	else
		printf("drops in the last minute: n/a (the daemon has no maps: dry-run)\n");
	printf("daemon counters: %lld lines, %lld alerts, %lld bans, %lld re-bans, %lld expired, "
	       "%lld refused, %lld errors\n", (long long)jint(d, "lines", 0),
	       (long long)jint(d, "alerts", 0), (long long)jint(d, "bans", 0),
	       (long long)jint(d, "rebans", 0), (long long)jint(d, "expired", 0),
	       (long long)jint(d, "refused", 0), (long long)jint(d, "errors", 0));
	print_state(d);
	print_responses(d);
	print_fleet(d);
	printf("sources:\n");
	if (!json_object_object_get_ex(d, "sources", &srcs) || !json_object_array_length(srcs))
		printf("  none\n");
	for (size_t i = 0; srcs && i < json_object_array_length(srcs); i++) {
		struct json_object *s = json_object_array_get_idx(srcs, i);
		int64_t lag = jint(s, "lag", -1);

		printf("  %-32s %lld lines, ", jstr(s, "name"), (long long)jint(s, "lines", 0));
		if (lag < 0)
			printf("no line yet\n");
		else
			printf("newest line %s old\n", xb_fmt_duration((uint64_t)lag, ub, sizeof(ub)));
	}
}

static struct json_object *family_json(size_t exact, size_t prefix)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "exact", json_object_new_int64(exact));
	json_object_object_add(o, "prefix", json_object_new_int64(prefix));
	return o;
}

static int print_json(const char *pin_dir, struct counts *c, const uint64_t v[XB_STAT_MAX],
		      struct json_object *d)
{
	struct json_object *o = json_object_new_object(), *bans = json_object_new_object(),
			   *pk = json_object_new_object(), *dm = d ? d : json_object_new_object(), *x;

	if (!o || !bans || !pk || !dm) {
		json_object_put(o);
		json_object_put(bans);
		json_object_put(pk);
		if (!d)
			json_object_put(dm);
		return -ENOMEM;
	}
	json_object_object_add(o, "pin_dir", json_object_new_string(pin_dir));
	json_object_object_add(o, "interfaces", json_object_get(c->ifs));
	json_object_object_add(bans, "ipv4", family_json(c->exact4, c->pfx4));
	json_object_object_add(bans, "ipv6", family_json(c->exact6, c->pfx6));
	json_object_object_add(bans, "manual", json_object_new_int64(c->manual));
	json_object_object_add(bans, "daemon", json_object_new_int64(c->daemon));
	json_object_object_add(bans, "total",
			       json_object_new_int64(c->exact4 + c->exact6 + c->pfx4 + c->pfx6));
	json_object_object_add(o, "bans", bans);
	json_object_object_add(o, "allowed", json_object_new_int64(c->allow));
	json_object_object_add(pk, "seen", json_object_new_int64(v[XB_STAT_SEEN]));
	json_object_object_add(pk, "dropped", json_object_new_int64(v[XB_STAT_DROPPED]));
	json_object_object_add(pk, "dropped_prefix", json_object_new_int64(v[XB_STAT_DROPPED_PREFIX]));
	json_object_object_add(pk, "passed", json_object_new_int64(v[XB_STAT_PASSED]));
	json_object_object_add(o, "packets", pk);
	/* null: not known without a daemon (or in its dry-run) */
	if (d && json_object_object_get_ex(d, "drops_1m", &x) && x)
		json_object_object_add(o, "drops_last_minute", json_object_get(x));
	else
		json_object_object_add(o, "drops_last_minute", NULL);
	json_object_object_add(dm, "running", json_object_new_boolean(d != NULL));
	json_object_object_del(dm, "ok");
	json_object_object_add(o, "daemon", d ? json_object_get(d) : dm);
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return 0;
}

struct status_cfg {
	struct xb_cli_paths paths;
	bool json;
};
XB_CLI_CFG(struct status_cfg);

static const struct xb_opt status_opts[] = {
	{ .name = "json", .short_opt = 'j', XB_BOOL(struct status_cfg, json),
	  .help = "one JSON object" },
	{ .name = "config", .short_opt = 'c', XB_STRING(struct status_cfg, paths.config),
	  .metavar = "FILE", .help = "where to find the daemon's <control_socket>" },
	{ .name = "socket", .short_opt = 'S', XB_STRING(struct status_cfg, paths.socket),
	  .metavar = "PATH", .help = "the daemon's control socket (also $" XB_SOCKET_ENV ")" },
	{}
};

const struct xb_opts_spec xb_status_opts = {
	.opts = status_opts,
	.size = sizeof(struct status_cfg),
	.desc = "Attached interfaces and their XDP mode; bans by family, kind (exact or "
		"prefix) and origin (manual or daemon); the allow list; packet counters; "
		"the daemon (pid, uptime, config, dry-run), the sources it follows and how "
		"old their newest line is, the state database (a failing disk, changes kept in "
		"memory, bans waiting for room in the maps), reconciliation, and the drops "
		"of the last minute (sampled by the "
		"daemon: n/a without one).\n\n"
		"Exit status 3 when no interface is attached.",
};

/* Walk the maps: interfaces (printed unless --json), bans, allow list, counters. */
static int collect(struct xb_dp *dp, bool json, struct counts *c, uint64_t v[XB_STAT_MAX])
{
	int err;

	if (!json)
		printf("pin directory: %s\ninterfaces:\n", xb_dp_pin_dir(dp));
	err = xb_dp_foreach_link(dp, on_link, c);
	if (!c->links && !json)
		printf("  none attached\n");
	if (!err)
		err = xb_dp_foreach_ban(dp, count_ban, c);
	if (!err)
		err = xb_dp_foreach_allow(dp, count_allow, c);
	if (!err)
		err = xb_dp_stats(dp, v);
	if (err)
		fprintf(stderr, "xdpban: status: %s\n", strerror(-err));
	return err;
}

static void print_text(const struct counts *c, const uint64_t v[XB_STAT_MAX],
		       struct json_object *d, const char *path, int why)
{
	printf("bans: %zu IPv4, %zu IPv6, %zu IPv4 prefixes, %zu IPv6 prefixes; %zu allowed\n",
	       c->exact4, c->exact6, c->pfx4, c->pfx6, c->allow);
	printf("bans by origin: %zu manual, %zu daemon\n", c->manual, c->daemon);
	printf("packets: %llu seen, %llu dropped (%llu by prefix), %llu passed\n",
	       (unsigned long long)v[XB_STAT_SEEN], (unsigned long long)v[XB_STAT_DROPPED],
	       (unsigned long long)v[XB_STAT_DROPPED_PREFIX],
	       (unsigned long long)v[XB_STAT_PASSED]);
	print_daemon(d, path, why);
}

int do_status(const void *cfg, const struct xb_cli_ctx *ctx, int argc, char **argv)
{
	const struct status_cfg *o = cfg;
	struct json_object *d = NULL;
	struct counts c = { .print = !o->json };
	uint64_t v[XB_STAT_MAX];
	char buf[4096];
	const char *path = NULL;
	struct xb_dp *dp;
	int err, why = 0;

	err = xb_cli_dp_open(ctx, false, 0, &dp);
	if (err)
		return err;
	if (o->json && !(c.ifs = json_object_new_array())) {
		xb_dp_close(dp);
		return -ENOMEM;
	}
	err = collect(dp, o->json, &c, v);
	if (err)
		goto out;
	d = daemon_status(ctx->socket, ctx->config, buf, sizeof(buf), &path, &why);
	if (o->json) {
		err = print_json(xb_dp_pin_dir(dp), &c, v, d);
		if (err)
			goto out;
	} else {
		print_text(&c, v, d, path, why);
	}
	err = c.links ? 0 : -ENOENT;
out:
	json_object_put(d);
	json_object_put(c.ifs);
	xb_dp_close(dp);
	return err;
}
