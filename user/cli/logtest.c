// SPDX-License-Identifier: GPL-2.0
/*
 * xdpban logtest: run log lines through the decoder and the rules, as
 * wazuh-logtest and fail2ban-regex do. Time comes from the lines, so
 * correlation over an old log behaves as it did live.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/cli.h"
#include "common/config.h"
#include "decode/decode.h"
#include "pipeline/detect.h"
#include "source/source.h"
#include "common/util.h"

struct rule_count {
	uint32_t id;
	uint8_t level;
	uint64_t n;
};

struct lt {
	struct xb_detect *det;          /* the daemon's line -> alert path, counted */
	bool json, quiet, all;
	struct rule_count *counts;     /* a few rules: searched in turn */
	size_t ncounts, counts_cap;
};

static void count_rule(struct lt *t, uint32_t id, uint8_t level)
{
	for (size_t i = 0; i < t->ncounts; i++)
		if (t->counts[i].id == id) {
			t->counts[i].n++;
			return;
		}
	if (xb_grow(&t->counts, &t->counts_cap, t->ncounts, sizeof(*t->counts), 8))
		return;         /* statistics only */
	t->counts[t->ncounts++] = (struct rule_count){ id, level, 1 };
}

static void print_text(struct lt *t, const struct xb_event *ev, enum xb_decode_res res,
		       int matched, const struct xb_alert *al)
{
	uint64_t no = xb_detect_counts(t->det)->lines;
	char a[XB_ADDRSTRLEN];

	if (res == XB_DEC_MALFORMED) {
		printf("%llu: not decodable\n", (unsigned long long)no);
		return;
	}
	printf("%llu: program=%s", (unsigned long long)no, ev->program[0] ? ev->program : "-");
	if (ev->pid)
		printf(" pid=%d", ev->pid);
	if (ev->hostname[0])
		printf(" host=%s", ev->hostname);
	if (res == XB_DEC_SSHD) {
		printf(" decoder=%s kind=%s", ev->decoder ? ev->decoder : "-",
		       xb_ev_kind_name(ev->kind));
		if (ev->has_src)
			printf(" srcip=%s", xb_addr_str(&ev->src, a, sizeof(a)));
		if (ev->port)
			printf(" port=%u", ev->port);
		if (ev->user_set)
			printf(" user='%s'%s", ev->user, ev->invalid_user ? " (invalid)" : "");
		if (ev->src_from_session)
			printf(" (address from the session)");
		if (ev->nocount)
			printf(" (held: counts only if the session never logs in)");
	}
	if (matched)
		printf("\n    rule %u level %u%s: %s\n", al->rule, al->level,
		       al->noalert ? " (noalert)" : "", al->description);
	else
		printf("\n    no rule\n");
}

/* The event's half of a JSON line. */
static void json_event(json_object *o, const struct xb_event *ev)
{
	char a[XB_ADDRSTRLEN];

	if (ev->has_src)
		json_object_object_add(o, "srcip",
				       json_object_new_string(xb_addr_str(&ev->src, a, sizeof(a))));
	if (ev->port)
		json_object_object_add(o, "srcport", json_object_new_int(ev->port));
	if (ev->user_set)
		json_object_object_add(o, "user", json_object_new_string(ev->user));
	json_object_object_add(o, "program", json_object_new_string(ev->program));
	json_object_object_add(o, "decoder", ev->decoder ? json_object_new_string(ev->decoder) : NULL);
	json_object_object_add(o, "kind", json_object_new_string(xb_ev_kind_name(ev->kind)));
	if (ev->ts_usec)
		json_object_object_add(o, "timestamp", json_object_new_int64(ev->ts_usec / 1000000));
	if (ev->src_from_session)
		json_object_object_add(o, "srcip_from_session", json_object_new_boolean(1));
	if (ev->nocount)
		json_object_object_add(o, "held", json_object_new_boolean(1));
}

/* One line's JSON; al NULL: no rule matched (--all only); rel: an earlier
 * line its session released, marked "released": true. */
static void print_json(struct lt *t, const struct xb_event *ev, const struct xb_alert *al,
		       bool rel)
{
	json_object *o = json_object_new_object();

	if (!o)
		return;
	json_object_object_add(o, "line",
			       json_object_new_int64((int64_t)xb_detect_counts(t->det)->lines));
	json_object_object_add(o, "rule", al ? json_object_new_int64(al->rule) : NULL);
	json_object_object_add(o, "level", al ? json_object_new_int(al->level) : NULL);
	if (al) {
		json_object_object_add(o, "description", json_object_new_string(al->description));
		json_object_object_add(o, "groups", json_object_new_string(al->groups));
	}
	json_event(o, ev);
	if (al && al->frequency)
		json_object_object_add(o, "frequency", json_object_new_int64(al->frequency));
	if (rel)
		json_object_object_add(o, "released", json_object_new_boolean(1));
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

/* Lines an ended session released: counted now, shown after the line. */
static void show_released(struct lt *t, const struct xb_detect_out *o)
{
	for (size_t k = 0; k < o->n_rel; k++) {
		const struct xb_detect_rel *r = &o->rel[k];

		if (r->matched)
			count_rule(t, r->al.rule, r->al.level);
		if (t->quiet || !r->matched || (t->json && !t->all && r->al.level == 0))
			continue;
		if (t->json) {
			print_json(t, &r->ev, &r->al, true);
		} else {
			printf("    released (the session ended without a login): rule %u level %u: %s\n",
			       r->al.rule, r->al.level, r->al.description);
		}
	}
}

static int on_line(const struct xb_line *line, void *ctx)
{
	struct lt *t = ctx;
	static struct xb_detect_out o;          /* one thread; ~9 KiB off the stack */

	/* no header: maybe a bare sshd message (sshd -E, journalctl -o cat);
	 * every program's lines are shown with the rule they match */
	xb_detect_line(t->det, line, XB_DETECT_ANY | XB_DETECT_OTHER, &o);
	if (o.matched)
		count_rule(t, o.al.rule, o.al.level);
	if (t->quiet) {
		show_released(t, &o);
		return 0;
	}
	if (t->json) {
		if (o.matched && (o.al.level > 0 || t->all))
			print_json(t, &o.ev, &o.al, false);
		else if (t->all)
			print_json(t, &o.ev, NULL, false);
	} else {
		print_text(t, &o.ev, o.res, o.matched, &o.al);
	}
	show_released(t, &o);
	return 0;
}

static int cmp_count(const void *a, const void *b)
{
	const struct rule_count *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static void summary(struct lt *t)
{
	const struct xb_detect_counts *n = xb_detect_counts(t->det);

	fprintf(stderr, "lines read: %llu, decoded as sshd: %llu (bare messages: %llu), "
		"other programs: %llu, not decodable: %llu, alerts (level > 0): %llu\n",
		(unsigned long long)n->lines, (unsigned long long)n->sshd,
		(unsigned long long)n->bare, (unsigned long long)n->other,
		(unsigned long long)n->malformed, (unsigned long long)n->alerts);
	qsort(t->counts, t->ncounts, sizeof(*t->counts), cmp_count);
	for (size_t i = 0; i < t->ncounts; i++)
		fprintf(stderr, "  rule %u (level %u): %llu\n", t->counts[i].id, t->counts[i].level,
			(unsigned long long)t->counts[i].n);
}

struct logtest_cfg {
	struct xb_cli_paths paths;
	const char *local;
	bool json, quiet, all;
	uint64_t max_sources;
};
XB_CLI_CFG(struct logtest_cfg);

static const struct xb_opt logtest_opts[] = {
	{ .name = "rules", .short_opt = 'r', XB_STRING(struct logtest_cfg, paths.rules_dir),
	  .metavar = "DIR", .help = "rule files (default: the <rules_dir> of the config, "
	  "$" XB_CONFIG_ENV " or " XB_CONFIG_DEFAULT "; else $" XB_RULES_DIR_ENV ", ../rules next to the "
	  "binary, else " XDPBAN_PREFIX "/share/xdpban/rules)" },
	{ .name = "local-rules", .short_opt = 'l', XB_STRING(struct logtest_cfg, local),
	  .metavar = "FILE", .help = "extra rules loaded last (overwrite=\"yes\" redefines)" },
	{ .name = "json", .short_opt = 'j', XB_BOOL(struct logtest_cfg, json),
	  .help = "one JSON object per alerting line (level > 0)" },
	{ .name = "all", .short_opt = 'a', XB_BOOL(struct logtest_cfg, all),
	  .help = "every line, level-0 matches too (with --json: \"rule\": null when none "
	  "matched; the text output always shows every line)" },
	{ .name = "quiet", .short_opt = 'q', XB_BOOL(struct logtest_cfg, quiet),
	  .help = "only the summary (on stderr)" },
	{ .name = "max-sources", .short_opt = 'm', XB_COUNT(struct logtest_cfg, max_sources),
	  .min = 1, .max = 1u << 24, .metavar = "N", .help = "correlation entries kept" },
	{}
};

const struct xb_opts_spec xb_logtest_opts = {
	.opts = logtest_opts,
	.pos = { .metavar = "[FILE|-]", .min = 0, .max = 1 },
	.size = sizeof(struct logtest_cfg),
	.defaults = &(const struct logtest_cfg){ .max_sources = 16384 },
	.desc = "Decode log lines (syslog, RFC 5424, ISO 8601, bare sshd messages; .gz too) "
		"and show the rule each one matches. Time comes from the lines. FILE '-' or "
		"none: standard input.",
};

int do_logtest(const void *cfg, const struct xb_cli_ctx *ctx, int argc, char **argv)
{
	const struct logtest_cfg *o = cfg;
	const char *rules_dir = ctx->rules_dir, *local = o->local, *input = argc ? argv[0] : "-";
	uint64_t max_sources = o->max_sources;
	struct lt t = { .json = o->json, .quiet = o->quiet, .all = o->all };
	struct xb_source *src = NULL;
	struct xb_detect_conf dc;
	enum xb_detect_part failed;
	char err[512];
	int rc;

	dc = (struct xb_detect_conf){ .rules_dir = rules_dir, .local_rules = local,
				      .max_sources = (uint32_t)max_sources };
	rc = xb_detect_new(&dc, &t.det, &failed, err, sizeof(err));
	if (rc && failed == XB_DETECT_RULES) {
		fprintf(stderr, "xdpban logtest: rules: %s\n", err[0] ? err : strerror(-rc));
		return rc == -ENOMEM ? rc : (rc == -ENOENT ? -ENOENT : -EINVAL);
	}
	if (rc) {
		fprintf(stderr, "xdpban logtest: correlation state for %llu sources: %s\n",
			(unsigned long long)max_sources, strerror(-rc));
		goto out;
	}
	rc = xb_source_open_replay(input, &src);
	if (rc) {
		fprintf(stderr, "xdpban logtest: %s: %s\n", input, strerror(-rc));
		goto out;
	}
	while (!xb_source_eof(src) && !(rc = xb_source_read(src, on_line, &t)))
		;
	if (rc)
		fprintf(stderr, "xdpban logtest: %s: %s\n", input, strerror(-rc));
	fflush(stdout);
	summary(&t);
out:
	xb_source_close(src);
	xb_detect_free(t.det);
	free(t.counts);
	return rc;
}
