/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fleet (pipeline): the fleet stage (fleet/) joined to the policy and the
 * maps. Every host reports its alerts (the outbox, sent when the broker is
 * there) and applies the decisions meant for it; the manager also turns
 * reports into decisions with the fleet's history.
 *
 *   alert -> xb_enforce_alert (local, all: this host's own history)
 *         -> xb_fleet_run_alert: a report into the outbox
 *   eventfd -> xb_fleet_run_events: reports (manager), decisions, acks
 *   1 s tick -> xb_fleet_run_tick: resend what the broker did not ack
 */
#ifndef XB_PIPELINE_FLEET_H
#define XB_PIPELINE_FLEET_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "common/records.h"
#include "fleet/fleet.h"
#include "pipeline/enforce.h"
#include "policy/hostaddr.h"

struct xb_fleet_counts {
	uint64_t reports;               /* queued in the outbox */
	uint64_t reports_dropped;       /* the outbox was full */
	uint64_t sent, acked;
	uint64_t decided;               /* manager: reports turned into decisions */
	uint64_t folded;                /* manager: within grace of a counted offence */
	uint64_t refused;               /* manager: protected address, forged agent */
	uint64_t delayed;               /* manager: over an agent's report_rate, asked again */
	uint64_t decisions;             /* decisions received for this host */
	uint64_t applied, extended, lifted, stale;  /* stale: ended before it arrived */
	uint64_t purged;                /* manager: keys of ended decisions purged */
	uint64_t errors;
};

struct xb_fleet_run {
	const struct xb_config *conf;
	struct xb_fleet *cli;
	struct xb_fleet_store *store;
	struct xb_fleet_table held;
	struct xb_enforce *enf;
	const struct xb_hostaddr *host;
	bool up;
	int64_t up_since, down_since;   /* wall s */
	int64_t sent_upto;              /* outbox rows up to this seq are in flight */
	int64_t inflight;               /* rows sent, not acked yet (about) */
	uint64_t progress_ns;           /* monotonic: the latest ack, or the latest (re)send */
	int64_t outbox;                 /* rows waiting */
	int64_t oldest;                 /* wall s the oldest of them was queued, 0: none */
	struct xb_fleet_bucket {        /* manager: each agent's report rate */
		char agent[XB_AGENT_ID_MAX + 1];
		double tokens;
		uint64_t at_ns;
		uint64_t delayed;
	} *buckets;
	size_t n_buckets, cap_buckets;
	char last_error[256];
	int64_t last_error_at;
	struct xb_fleet_counts n;
};

/* Nothing when c has no <fleet> (r->cli stays NULL). e and h outlive r. */
int xb_fleet_run_open(struct xb_fleet_run *r, const struct xb_config *c, const char *state_dir,
		      struct xb_enforce *e, const struct xb_hostaddr *h);
void xb_fleet_run_close(struct xb_fleet_run *r);
/* A reload: the same <fleet> (a changed one needs a restart). */
void xb_fleet_run_set_config(struct xb_fleet_run *r, const struct xb_config *c);
static inline bool xb_fleet_run_on(const struct xb_fleet_run *r) { return r->cli != NULL; }
int xb_fleet_run_fd(const struct xb_fleet_run *r);

void xb_fleet_run_alert(struct xb_fleet_run *r, const struct xb_alert *al);
void xb_fleet_run_events(struct xb_fleet_run *r);
void xb_fleet_run_tick(struct xb_fleet_run *r, int64_t now);

/* Manager: a decision made by hand, for location server, defined-agent
 * (agents, a comma list) or all; ttl 0: never ends; lift: take it back.
 * 0 or a negative errno with the reason in why. */
int xb_fleet_run_manual(struct xb_fleet_run *r, const struct xb_addr *a,
			enum xb_ar_location loc, const char *agents, uint64_t ttl, bool lift,
			char *why, size_t len);

int xb_fleet_run_agents(struct xb_fleet_run *r, xb_fleet_agent_fn fn, void *ctx);

#endif
