// SPDX-License-Identifier: GPL-2.0
/*
 * xdpban logtest: run log lines through the decoder and the rules, as
 * wazuh-logtest and fail2ban-regex do. Time comes from the lines, so
 * correlation over an old log behaves as it did live.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
	bool json, quiet;
	struct rule_count *counts;
	size_t ncounts;
};

static void count_rule(struct lt *t, uint32_t id, uint8_t level)
{
	for (size_t i = 0; i < t->ncounts; i++)
		if (t->counts[i].id == id) {
			t->counts[i].n++;
			return;
		}
	struct rule_count *n = realloc(t->counts, (t->ncounts + 1) * sizeof(*n));

	if (!n)
		return;         /* statistics only */
	t->counts = n;
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
		printf(" decoder=sshd kind=%s", xb_ev_kind_name(ev->kind));
		if (ev->has_src)
			printf(" srcip=%s", xb_addr_str(&ev->src, a, sizeof(a)));
		if (ev->port)
			printf(" port=%u", ev->port);
		if (ev->user_set)
			printf(" user='%s'%s", ev->user, ev->invalid_user ? " (invalid)" : "");
	}
	if (matched)
		printf("\n    rule %u level %u%s: %s\n", al->rule, al->level,
		       al->noalert ? " (noalert)" : "", al->description);
	else
		printf("\n    no rule\n");
}

static void print_json(struct lt *t, const struct xb_event *ev, const struct xb_alert *al)
{
	char a[XB_ADDRSTRLEN];
	json_object *o = json_object_new_object();

	if (!o)
		return;
	json_object_object_add(o, "line",
			       json_object_new_int64((int64_t)xb_detect_counts(t->det)->lines));
	json_object_object_add(o, "rule", json_object_new_int64(al->rule));
	json_object_object_add(o, "level", json_object_new_int(al->level));
	json_object_object_add(o, "description", json_object_new_string(al->description));
	json_object_object_add(o, "groups", json_object_new_string(al->groups));
	if (ev->has_src)
		json_object_object_add(o, "srcip",
				       json_object_new_string(xb_addr_str(&ev->src, a, sizeof(a))));
	if (ev->port)
		json_object_object_add(o, "srcport", json_object_new_int(ev->port));
	if (ev->user_set)
		json_object_object_add(o, "user", json_object_new_string(ev->user));
	json_object_object_add(o, "program", json_object_new_string(ev->program));
	json_object_object_add(o, "kind", json_object_new_string(xb_ev_kind_name(ev->kind)));
	if (ev->ts_usec)
		json_object_object_add(o, "timestamp", json_object_new_int64(ev->ts_usec / 1000000));
	if (al->frequency)
		json_object_object_add(o, "frequency", json_object_new_int64(al->frequency));
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static int on_line(const struct xb_line *line, void *ctx)
{
	struct lt *t = ctx;
	struct xb_detect_out o;

	/* no header: maybe a bare sshd message (sshd -E, journalctl -o cat);
	 * every program's lines are shown with the rule they match */
	xb_detect_line(t->det, line, XB_DETECT_ANY | XB_DETECT_OTHER, &o);
	if (o.matched)
		count_rule(t, o.al.rule, o.al.level);
	if (t->quiet)
		return 0;
	if (t->json) {
		if (o.matched && o.al.level > 0)
			print_json(t, &o.ev, &o.al);
	} else {
		print_text(t, &o.ev, o.res, o.matched, &o.al);
	}
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

static void usage(FILE *f)
{
	fprintf(f,
		"usage: xdpban logtest [--rules DIR] [--local-rules FILE] [--json] [--quiet]\n"
		"                      [--max-sources N] [FILE|-]\n"
		"Decode log lines (syslog, RFC 5424, ISO 8601, bare sshd messages; .gz too) and\n"
		"show the rule each one matches. Time comes from the lines.\n"
		"  --rules DIR         rule files (default: $XDPBAN_RULES_DIR, ../rules next to\n"
		"                      the binary, else %s/share/xdpban/rules)\n"
		"  --local-rules FILE  extra rules loaded last (overwrite=\"yes\" redefines)\n"
		"  --json              one JSON object per line that raised an alert (level > 0)\n"
		"  --quiet             only the summary (on stderr)\n"
		"  --max-sources N     correlation entries kept (default 16384)\n",
		XDPBAN_PREFIX);
}

int do_logtest(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rules", required_argument, NULL, 'r' },
		{ "local-rules", required_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "max-sources", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *rules_dir = NULL, *local = NULL, *input = "-";
	char dirbuf[PATH_MAX + 32], err[512];
	struct lt t = { 0 };
	struct xb_source *src = NULL;
	struct xb_detect_conf dc;
	enum xb_detect_part failed;
	uint64_t max_sources = 16384;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "r:l:jqm:h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': rules_dir = optarg; break;
		case 'l': local = optarg; break;
		case 'j': t.json = true; break;
		case 'q': t.quiet = true; break;
		case 'm':
			if (xb_parse_u64(optarg, 1u << 24, &max_sources) < 0 || !max_sources) {
				fprintf(stderr, "xdpban logtest: bad --max-sources '%s'\n", optarg);
				return -EINVAL;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return -EINVAL;
		}
	}
	if (optind + 1 < argc) {
		usage(stderr);
		return -EINVAL;
	}
	if (optind < argc)
		input = argv[optind];
	if (!rules_dir)
		rules_dir = xb_rules_dir_default(dirbuf, sizeof(dirbuf));

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
