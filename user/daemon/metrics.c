// SPDX-License-Identifier: GPL-2.0
/*
 * metrics: Prometheus' text format at http://<metrics>/metrics, served by
 * libmicrohttpd from the daemon's own loop (external mode: MHD's epoll fd
 * sits in the daemon's epoll, MHD_run() runs when it is ready and at each
 * tick for its timeouts). No thread: a scrape reads the same counters the
 * control socket does, in the same thread, so nothing needs a lock.
 *
 * The XDP counters are those of `xdpban stats` under Prometheus names; the
 * bans by family, kind and origin are counted by walking the maps at each
 * scrape, as `xdpban status` does.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "common/log.h"
#include "common/util.h"
#include "daemon/internal.h"
#include "respond/respond.h"

#define METRICS_CONN_MAX        16      /* scrapers at once */
#define METRICS_CONN_PER_IP     4
#define METRICS_CONN_TIMEOUT    10      /* s a connection may idle */
#define METRICS_RUN_MAX         8       /* MHD_run() rounds per wake-up */

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[256];

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	pr_warn("metrics: %s%s", buf, buf[0] && buf[strlen(buf) - 1] == '\n' ? "" : "\n");
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample(FILE *f, const char *name, const char *labels, uint64_t v)
{
	fprintf(f, "%s%s%s%s %llu\n", name, labels ? "{" : "", labels ? labels : "",
		labels ? "}" : "", (unsigned long long)v);
}

/* A label value with \, " and newline escaped, as the text format wants. */
static void label_value(char *out, size_t len, const char *v)
{
	size_t o = 0;

	for (; *v && o + 3 < len; v++) {
		if (*v == '\\' || *v == '"' || *v == '\n') {
			out[o++] = '\\';
			out[o++] = *v == '\n' ? 'n' : *v;
		} else {
			out[o++] = *v;
		}
	}
	out[o] = '\0';
}

static void write_xdp(struct daemon *d, FILE *f)
{
	uint64_t v[XB_STAT_MAX];

	if (!d->dp || xb_dp_stats(d->dp, v))
		return;
	head(f, "xdpban_xdp_frames_seen_total", "counter", "Frames the XDP program saw.");
	sample(f, "xdpban_xdp_frames_seen_total", NULL, v[XB_STAT_SEEN]);
	head(f, "xdpban_xdp_frames_total", "counter", "Frames by verdict (drop or pass).");
	sample(f, "xdpban_xdp_frames_total", "verdict=\"drop\"", v[XB_STAT_DROPPED]);
	sample(f, "xdpban_xdp_frames_total", "verdict=\"pass\"", v[XB_STAT_PASSED]);
	/* Subsets of the above, not a partition: the remaining drops hit an
	 * exact ban, the remaining passes matched no ban. */
	head(f, "xdpban_xdp_frames_reason_total", "counter",
	     "Frames of xdpban_xdp_frames_total with a particular reason.");
	sample(f, "xdpban_xdp_frames_reason_total", "verdict=\"drop\",reason=\"prefix_ban\"",
	       v[XB_STAT_DROPPED_PREFIX]);
	sample(f, "xdpban_xdp_frames_reason_total", "verdict=\"pass\",reason=\"allow_list\"",
	       v[XB_STAT_PASSED_ALLOWED]);
	sample(f, "xdpban_xdp_frames_reason_total", "verdict=\"pass\",reason=\"ban_expired\"",
	       v[XB_STAT_PASSED_EXPIRED]);
	sample(f, "xdpban_xdp_frames_reason_total", "verdict=\"pass\",reason=\"malformed\"",
	       v[XB_STAT_PARSE_FAIL]);
	sample(f, "xdpban_xdp_frames_reason_total", "verdict=\"pass\",reason=\"non_ip\"",
	       v[XB_STAT_NON_IP]);
	head(f, "xdpban_xdp_dropped_bytes_total", "counter", "Bytes of the dropped frames.");
	sample(f, "xdpban_xdp_dropped_bytes_total", NULL, v[XB_STAT_DROPPED_BYTES]);
}

struct ban_counts {
	uint64_t n[2][2][2];    /* [ipv6][prefix][daemon] */
};

static int count_ban(const struct xb_addr *a, const struct xb_ban *b, const struct xb_meta *m,
		     void *ctx)
{
	struct ban_counts *c = ctx;

	(void)m;
	c->n[a->family == 6][!xb_addr_is_single(a)][!!(b->flags & XB_BAN_F_DAEMON)]++;
	return 0;
}

static void write_bans(struct daemon *d, FILE *f)
{
	static const char *const fam[] = { "ipv4", "ipv6" }, *const kind[] = { "exact", "prefix" },
			  *const origin[] = { "manual", "daemon" };
	struct ban_counts c = { 0 };
	char l[96];

	if (d->dp && !xb_dp_foreach_ban(d->dp, count_ban, &c)) {
		head(f, "xdpban_bans", "gauge", "Bans in the maps by family, kind and origin.");
		for (int i = 0; i < 2; i++)
			for (int k = 0; k < 2; k++)
				for (int o = 0; o < 2; o++) {
					snprintf(l, sizeof(l), "family=\"%s\",kind=\"%s\",origin=\"%s\"",
						 fam[i], kind[k], origin[o]);
					sample(f, "xdpban_bans", l, c.n[i][k][o]);
				}
	}
	if (d->dp) {
		uint32_t live[2], cap[2];

		if (!xb_dp_table_fill(d->dp, 4, &live[0], &cap[0]) &&
		    !xb_dp_table_fill(d->dp, 6, &live[1], &cap[1])) {
			head(f, "xdpban_ban_table_entries", "gauge",
			     "Exact bans held by the ban table of each family.");
			for (int i = 0; i < 2; i++) {
				snprintf(l, sizeof(l), "family=\"%s\"", fam[i]);
				sample(f, "xdpban_ban_table_entries", l, live[i]);
			}
			head(f, "xdpban_ban_table_capacity", "gauge",
			     "Most exact bans the ban table of each family holds.");
			for (int i = 0; i < 2; i++) {
				snprintf(l, sizeof(l), "family=\"%s\"", fam[i]);
				sample(f, "xdpban_ban_table_capacity", l, cap[i]);
			}
		}
	}
}

/* The responses besides the XDP ban (respond/): what ran, what failed. */
static void write_responses(struct daemon *d, FILE *f)
{
	struct xb_resp_stats r = { 0 };

	if (d->resp)
		xb_resp_stats(d->resp, &r);
	head(f, "xdpban_responses_total", "counter", "Responses applied and lifted.");
	sample(f, "xdpban_responses_total", "action=\"applied\"", r.applied);
	sample(f, "xdpban_responses_total", "action=\"lifted\"", r.lifted);
	sample(f, "xdpban_responses_total", "action=\"aborted\"", r.aborted);
	sample(f, "xdpban_responses_total", "action=\"refused\"", r.refused);
	head(f, "xdpban_response_scripts_started_total", "counter",
	     "Response scripts started (add and delete).");
	sample(f, "xdpban_response_scripts_started_total", NULL, r.started);
	head(f, "xdpban_response_failures_total", "counter",
	     "Responses that failed, by reason (the log says which and why).");
	sample(f, "xdpban_response_failures_total", "reason=\"script_failed\"", r.failed - r.hung);
	sample(f, "xdpban_response_failures_total", "reason=\"script_hung\"", r.hung);
	sample(f, "xdpban_response_failures_total", "reason=\"builtin\"", r.errors);
	sample(f, "xdpban_response_failures_total", "reason=\"webhook\"", r.post_failed);
	head(f, "xdpban_responses_active", "gauge", "Responses in force, waiting for their end.");
	sample(f, "xdpban_responses_active", NULL, r.active);
	head(f, "xdpban_response_scripts_running", "gauge", "Response scripts running now.");
	sample(f, "xdpban_response_scripts_running", NULL, r.running);
}

static void write_daemon(struct daemon *d, FILE *f)
{
	const struct xb_detect_counts *dn = xb_detect_counts(d->det);
	int64_t now = xb_now_wall();
	char l[PATH_MAX + 32], v[PATH_MAX + 16];

	head(f, "xdpban_build_info", "gauge", "The running xdpban's version.");
	sample(f, "xdpban_build_info", "version=\"" XDPBAN_VERSION "\"", 1);
	head(f, "xdpban_start_time_seconds", "gauge", "When the daemon started, Unix time.");
	sample(f, "xdpban_start_time_seconds", NULL, (uint64_t)d->started);
	head(f, "xdpban_reloads_total", "counter", "Config reloads that took effect.");
	sample(f, "xdpban_reloads_total", NULL, d->n.reloads);

	head(f, "xdpban_source_lines_total", "counter", "Log lines read, by source.");
	for (size_t i = 0; i < d->src.n; i++) {
		label_value(v, sizeof(v), xb_source_name(d->src.s[i]));
		snprintf(l, sizeof(l), "source=\"%s\"", v);
		sample(f, "xdpban_source_lines_total", l, xb_source_lines(d->src.s[i]));
	}
	head(f, "xdpban_source_lag_seconds", "gauge",
	     "Age of the newest line read, by source (absent before the first line).");
	for (size_t i = 0; i < d->src.n; i++) {
		int64_t last = d->src.info[i].last_usec / 1000000;

		if (!last)
			continue;
		label_value(v, sizeof(v), xb_source_name(d->src.s[i]));
		snprintf(l, sizeof(l), "source=\"%s\"", v);
		sample(f, "xdpban_source_lag_seconds", l, now > last ? (uint64_t)(now - last) : 0);
	}
	head(f, "xdpban_lines_total", "counter", "Lines by what the decoder made of them.");
	sample(f, "xdpban_lines_total", "result=\"sshd\"", dn->sshd);
	sample(f, "xdpban_lines_total", "result=\"other\"", dn->other);
	sample(f, "xdpban_lines_total", "result=\"malformed\"", dn->malformed);

	head(f, "xdpban_alerts_total", "counter", "Alerts raised, by rule id.");
	for (size_t i = 0; i < d->alerts.n; i++) {
		snprintf(l, sizeof(l), "rule=\"%u\"", d->alerts.r[i].rule);
		sample(f, "xdpban_alerts_total", l, d->alerts.r[i].count);
	}
	if (d->alerts.other)
		sample(f, "xdpban_alerts_total", "rule=\"other\"", d->alerts.other);

	head(f, "xdpban_decisions_total", "counter", "Ban decisions applied, by what they did.");
	sample(f, "xdpban_decisions_total", "action=\"ban\"", d->enf.n.bans);
	sample(f, "xdpban_decisions_total", "action=\"reban\"", d->enf.n.rebans);
	sample(f, "xdpban_decisions_total", "action=\"refused\"", d->enf.n.refused);
	head(f, "xdpban_bans_expired_total", "counter", "Daemon bans that reached their end.");
	sample(f, "xdpban_bans_expired_total", NULL, d->enf.n.expired);
	head(f, "xdpban_errors_total", "counter", "Errors met by the daemon (see its log).");
	sample(f, "xdpban_errors_total", NULL, d->n.errors + d->enf.n.errors);
	head(f, "xdpban_state_database_ok", "gauge",
	     "1 while the state database takes writes, 0 while bans wait in memory.");
	{
		struct xb_state_health h;

		xb_state_health(d->st, &h);
		sample(f, "xdpban_state_database_ok", NULL, h.ok && !d->state_memory);
	}
	write_responses(d, f);
	if (d->conf->fleet.enabled) {
		head(f, "xdpban_fleet_connected", "gauge",
		     "1 while this host is connected to the fleet's broker, 0 while reports "
		     "wait in the outbox.");
		sample(f, "xdpban_fleet_connected", NULL, xb_fleet_run_on(&d->fleet) && d->fleet.up &&
		       xb_fleet_connected(d->fleet.cli));
		head(f, "xdpban_fleet_outbox", "gauge", "Reports and decisions waiting for the broker.");
		sample(f, "xdpban_fleet_outbox", NULL, d->fleet.outbox);
		head(f, "xdpban_fleet_decisions_applied_total", "counter",
		     "Fleet decisions applied on this host (new or extended bans).");
		sample(f, "xdpban_fleet_decisions_applied_total", NULL,
		       d->fleet.n.applied + d->fleet.n.extended);
	}
}

int daemon_metrics_write(struct daemon *d, FILE *f)
{
	write_daemon(d, f);
	write_xdp(d, f);
	write_bans(d, f);
	return ferror(f) ? -EIO : 0;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, char *body, size_t len,
			     enum MHD_ResponseMemoryMode mode, const char *type)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_len, void **req)
{
	static char not_found[] = "only /metrics here\n", bad_method[] = "GET or HEAD\n";
	struct daemon *d = cls;
	char *body = NULL;
	size_t len = 0;
	FILE *f;

	(void)version;
	(void)upload;
	(void)req;
	if (*upload_len)
		return MHD_NO;  /* a GET carries no body */
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, bad_method, strlen(bad_method),
			     MHD_RESPMEM_PERSISTENT, "text/plain");
	if (strcmp(url, "/metrics"))
		return reply(c, MHD_HTTP_NOT_FOUND, not_found, strlen(not_found),
			     MHD_RESPMEM_PERSISTENT, "text/plain");
	f = open_memstream(&body, &len);
	if (!f)
		return MHD_NO;
	if (daemon_metrics_write(d, f)) {
		fclose(f);
		free(body);
		return MHD_NO;
	}
	if (fclose(f)) {
		free(body);
		return MHD_NO;
	}
	return reply(c, MHD_HTTP_OK, body, len, MHD_RESPMEM_MUST_FREE,
		     "text/plain; version=0.0.4; charset=utf-8");
}

int daemon_metrics_open(struct daemon *d)
{
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *info;
	unsigned len, flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)EP_METRICS << 32 };

	if (!d->conf->metrics)
		return 0;
	if (xb_config_hostport(d->conf->metrics, &ss, &len))
		return -EINVAL;         /* the config checked it already */
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	d->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, d,
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_CONN_MAX,
				  MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)METRICS_CONN_PER_IP,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_CONN_TIMEOUT,
				  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				  MHD_OPTION_END);
	if (!d->mhd) {
		pr_warn("xdpban: metrics: cannot listen on %s\n", d->conf->metrics);
		return -EADDRNOTAVAIL;
	}
	info = MHD_get_daemon_info(d->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || epoll_ctl(d->epfd, EPOLL_CTL_ADD, info->epoll_fd, &ev)) {
		pr_warn("xdpban: metrics: cannot watch the server's epoll fd\n");
		daemon_metrics_close(d);
		return -EIO;
	}
	snprintf(d->metrics_addr, sizeof(d->metrics_addr), "%s", d->conf->metrics);
	pr_info("metrics on http://%s/metrics\n", d->metrics_addr);
	return 0;
}

void daemon_metrics_run(struct daemon *d)
{
	MHD_UNSIGNED_LONG_LONG t;

	if (!d->mhd)
		return;
	/* Work left over (a response not yet all written) shows as a zero timeout. */
	for (int i = 0; i < METRICS_RUN_MAX; i++) {
		MHD_run(d->mhd);
		if (MHD_get_timeout(d->mhd, &t) != MHD_YES || t > 0)
			break;
	}
}

void daemon_metrics_alert(struct daemon *d, unsigned rule)
{
	struct alert_counts *a = &d->alerts;

	for (size_t i = 0; i < a->n; i++)
		if (a->r[i].rule == rule) {
			a->r[i].count++;
			return;
		}
	if (a->n < ALERT_RULES_MAX)
		a->r[a->n++] = (struct rule_count){ .rule = rule, .count = 1 };
	else
		a->other++;
}

void daemon_metrics_close(struct daemon *d)
{
	if (d->mhd)
		MHD_stop_daemon(d->mhd);
	d->mhd = NULL;
}
