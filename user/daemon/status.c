// SPDX-License-Identifier: GPL-2.0
/* status: the reply to "status" (ctlsock.h), and the samples of the maps'
 * dropped counter behind its "drops_1m". */
#include <errno.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/util.h"
#include "daemon/internal.h"

void daemon_sample_drops(struct daemon *d)
{
	struct drop_ring *r = &d->drops;
	uint64_t v[XB_STAT_MAX];

	if (!d->dp || xb_dp_stats(d->dp, v))
		return;
	r->s[r->head] = (struct drop_sample){ .t = xb_now_mono_ns() / NSEC_PER_SEC,
					      .dropped = v[XB_STAT_DROPPED] };
	r->head = (r->head + 1) % DROPS_RING;
	if (r->n < DROPS_RING)
		r->n++;
}

/* Drops since the oldest sample at most DROPS_WINDOW s old: *window says
 * over how many seconds (less than a minute just after the start).
 * -ENODATA without maps (dry-run) or samples. */
static int drops_last_minute(struct daemon *d, uint64_t *drops, uint64_t *window)
{
	const struct drop_ring *r = &d->drops;
	uint64_t v[XB_STAT_MAX], now = xb_now_mono_ns() / NSEC_PER_SEC;
	const struct drop_sample *base = NULL;

	if (!d->dp || !r->n || xb_dp_stats(d->dp, v))
		return -ENODATA;
	for (size_t k = 0; k < r->n; k++) {
		/* oldest first */
		const struct drop_sample *s = &r->s[(r->head + DROPS_RING - r->n + k) % DROPS_RING];

		if (s->t + DROPS_WINDOW >= now) {
			base = s;
			break;
		}
	}
	if (!base)
		return -ENODATA;
	/* A counter that went backwards (maps recreated) counts from zero. */
	*drops = v[XB_STAT_DROPPED] >= base->dropped ? v[XB_STAT_DROPPED] - base->dropped
						     : v[XB_STAT_DROPPED];
	*window = now - base->t;
	return 0;
}

static void add_int(struct json_object *o, const char *key, int64_t v)
{
	json_object_object_add(o, key, json_object_new_int64(v));
}

/* "ok" to "active_bans": who the daemon is and what it counted. */
/* The other responses: scripts run, failed, hung; built-ins; in force. */
static void status_responses(struct daemon *d, struct json_object *reply)
{
	struct json_object *o = json_object_new_object();
	struct xb_resp_stats s = { 0 };

	if (d->resp)
		xb_resp_stats(d->resp, &s);
	add_int(o, "started", s.started);
	add_int(o, "failed", s.failed);
	add_int(o, "hung", s.hung);
	add_int(o, "aborted", s.aborted);
	add_int(o, "applied", s.applied);
	add_int(o, "lifted", s.lifted);
	add_int(o, "refused", s.refused);
	add_int(o, "errors", s.errors);
	add_int(o, "posted", s.posted);
	add_int(o, "post_failed", s.post_failed);
	add_int(o, "running", s.running);
	add_int(o, "active", s.active);
	json_object_object_add(reply, "responses", o);
}

static void status_counters(struct daemon *d, struct json_object *reply, int64_t now)
{
	const struct xb_detect_counts *dn = xb_detect_counts(d->det);
	size_t active = 0;

	xb_state_ban_count(d->st, &active);
	json_object_object_add(reply, "ok", json_object_new_boolean(1));
	json_object_object_add(reply, "pid", json_object_new_int(getpid()));
	add_int(reply, "uptime", now - d->started);
	json_object_object_add(reply, "config", json_object_new_string(d->conf->path));
	json_object_object_add(reply, "dry_run", json_object_new_boolean(d->o.dry_run));
	json_object_object_add(reply, "state", json_object_new_string(xb_state_path(d->st)));
	add_int(reply, "reloads", d->n.reloads);
	add_int(reply, "lines", dn->lines);
	add_int(reply, "alerts", dn->raised);
	add_int(reply, "bans", d->enf.n.bans);
	add_int(reply, "rebans", d->enf.n.rebans);
	add_int(reply, "expired", d->enf.n.expired);
	add_int(reply, "refused", d->enf.n.refused);
	add_int(reply, "errors", d->n.errors + d->enf.n.errors);
	status_responses(d, reply);
	add_int(reply, "active_bans", active);
}

static void add_str(struct json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, v && *v ? json_object_new_string(v) : NULL);
}

/* The longest turn of the loop: the status request itself is not over yet,
 * so a turn is one piece of work (a tick, a burst of lines, a request). */
static void status_turn(struct daemon *d, struct json_object *reply)
{
	struct json_object *t = json_object_new_object();

	json_object_object_add(t, "longest_ms", json_object_new_double(d->turn.max_ns / 1e6));
	add_str(t, "longest_in", d->turn.what);
	if (d->turn.at)
		add_int(t, "longest_at", d->turn.at);
	else
		json_object_object_add(t, "longest_at", NULL);
	json_object_object_add(reply, "loop", t);
}

/* Whether the database takes the writes, what waits in memory and in front
 * of the maps, and the latest reconciliation. */
static void status_health(struct daemon *d, struct json_object *reply)
{
	struct xb_state_health h;
	struct json_object *rec = json_object_new_object();

	xb_state_health(d->st, &h);
	/* No database at all: the state is in memory. */
	json_object_object_add(reply, "state_ok", json_object_new_boolean(h.ok && !d->state_memory));
	add_int(reply, "state_pending", h.pending);
	add_int(reply, "state_dropped", h.dropped);
	add_int(reply, "state_failures", h.failures);
	add_str(reply, "state_error", d->state_memory ? d->state_error : h.error);
	if (h.failing_since)
		add_int(reply, "state_failing_since", h.failing_since);
	else
		json_object_object_add(reply, "state_failing_since", NULL);
	add_str(reply, "checkpoint_error", h.checkpoint_error);
	xb_addr_set_sort(&d->enf.unstored);
	add_int(reply, "unstored_bans", d->enf.unstored.n);
	add_int(reply, "singled_bans", d->enf.n.singled);
	json_object_object_add(rec, "running", json_object_new_boolean(d->enf.rec.running));
	add_int(rec, "passes", d->enf.rec.passes);
	add_int(rec, "checked", d->enf.rec.checked);
	add_int(rec, "lifted", d->enf.rec.lifted);
	add_int(rec, "last_ms", d->enf.rec.last_ms);
	json_object_object_add(reply, "reconcile", rec);
	status_turn(d, reply);
}

static void status_sources(struct daemon *d, struct json_object *reply, int64_t now)
{
	struct json_object *srcs = json_object_new_array();

	for (size_t i = 0; i < d->src.n; i++) {
		struct json_object *s = json_object_new_object();
		int64_t last = xb_source_last_usec(d->src.s[i]);

		if (d->src.info[i].last_usec > last)
			last = d->src.info[i].last_usec;
		json_object_object_add(s, "name", json_object_new_string(xb_source_name(d->src.s[i])));
		add_int(s, "lines", xb_source_lines(d->src.s[i]));
		add_int(s, "last_usec", last);
		add_int(s, "lag", last ? now - last / 1000000 : -1);
		json_object_array_add(srcs, s);
	}
	json_object_object_add(reply, "sources", srcs);
}

static int agent_json(const char *agent, int64_t last, uint64_t reports, const char *own,
		      void *ctx)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "id", json_object_new_string(agent));
	add_int(o, "last_report", last);
	add_int(o, "reports", reports);
	json_object_object_add(o, "own", json_object_new_string(own));
	json_object_array_add(ctx, o);
	return 0;
}

/* Role, connection, what waits and what was applied; null without <fleet>. */
static void status_fleet(struct daemon *d, struct json_object *reply)
{
	const struct xb_fleet_run *r = &d->fleet;
	const struct xb_conf_fleet *c = &d->conf->fleet;
	struct json_object *o, *urls, *agents;

	if (!c->enabled) {
		json_object_object_add(reply, "fleet", NULL);
		return;
	}
	o = json_object_new_object();
	urls = json_object_new_array();
	json_object_object_add(o, "role", json_object_new_string(c->manager ? "manager" : "agent"));
	json_object_object_add(o, "agent_id", json_object_new_string(c->agent_id));
	for (size_t i = 0; i < c->n_urls; i++)
		json_object_array_add(urls, json_object_new_string(c->urls[i]));
	json_object_object_add(o, "brokers", urls);
	json_object_object_add(o, "running", json_object_new_boolean(xb_fleet_run_on(r)));
	json_object_object_add(o, "connected", json_object_new_boolean(
		xb_fleet_run_on(r) && r->up && xb_fleet_connected(r->cli)));
	add_int(o, "up_since", r->up_since);
	add_int(o, "down_since", r->down_since);
	add_int(o, "outbox", r->outbox);
	/* The lag: messages the broker holds for this host, not yet delivered
	 * (the manager's reports; an agent's decisions), -1 when not known;
	 * and how long the oldest outbox row has waited for the broker. */
	add_int(o, "lag", xb_fleet_run_on(r) ? xb_fleet_backlog(r->cli) : -1);
	add_int(o, "outbox_age", r->oldest ? xb_now_wall() - r->oldest : 0);
	add_int(o, "outbox_max", c->outbox_max);
	add_int(o, "reports", r->n.reports);
	add_int(o, "reports_dropped", r->n.reports_dropped);
	add_int(o, "sent", r->n.sent);
	add_int(o, "acked", r->n.acked);
	add_int(o, "decisions", r->n.decisions);
	add_int(o, "applied", r->n.applied);
	add_int(o, "extended", r->n.extended);
	add_int(o, "lifted", r->n.lifted);
	add_int(o, "stale", r->n.stale);
	add_int(o, "held", r->held.n);
	add_int(o, "errors", r->n.errors);
	json_object_object_add(o, "last_error", *r->last_error ?
			       json_object_new_string(r->last_error) : NULL);
	if (c->manager) {
		add_int(o, "replicas", c->replicas);
		add_int(o, "decided", r->n.decided);
		add_int(o, "folded", r->n.folded);
		add_int(o, "refused", r->n.refused);
		add_int(o, "delayed", r->n.delayed);
		add_int(o, "purged", r->n.purged);
		add_int(o, "purge_errors", xb_fleet_run_on(r) ? xb_fleet_purge_errors(r->cli) : 0);
		agents = json_object_new_array();
		xb_fleet_run_agents(&d->fleet, agent_json, agents);
		json_object_object_add(o, "agents", agents);
	}
	json_object_object_add(reply, "fleet", o);
}

void daemon_status(struct daemon *d, struct json_object *reply)
{
	struct json_object *ifs = json_object_new_array();
	int64_t now = xb_now_wall();
	uint64_t drops, window;

	status_counters(d, reply, now);
	status_health(d, reply);
	if (!drops_last_minute(d, &drops, &window)) {
		add_int(reply, "drops_1m", drops);
		add_int(reply, "drops_window", window);
	} else {
		json_object_object_add(reply, "drops_1m", NULL);
	}
	for (size_t i = 0; i < d->conf->n_ifaces; i++)
		json_object_array_add(ifs, json_object_new_string(d->conf->ifaces[i].name));
	json_object_object_add(reply, "interfaces", ifs);
	status_sources(d, reply, now);
	status_fleet(d, reply);
}
