/* SPDX-License-Identifier: GPL-2.0 */
/*
 * policy: the fourth stage. An alert (rule fired for an address) becomes zero
 * or more ban decisions:
 *
 *   binding      which <active-response> blocks apply (Wazuh: level-0 rules
 *                never trigger; level and rules_group must both match when
 *                both are set; rules_id is an extra OR);
 *   protection   the allow list, loopback and the host's own addresses are
 *                never banned (nor a prefix that contains one of them);
 *   IPv6         once `threshold` distinct addresses of one /64 (configurable)
 *                offended within `window`, the prefix is banned instead;
 *   escalation   per address, per command: 1st offence = timeout, nth =
 *                repeated_offenders[n-2] (the last value once the list is
 *                used up), or the formula timeout * factor^(n-1) capped by
 *                max_timeout, plus jitter; permanent_after / "permanent".
 *                An offence while still banned re-arms the ban from now.
 *                History is forgotten after offender_memory of quiet,
 *                counted from the end of the latest ban.
 *
 * Every decision is recorded in the state (offence count and the intended
 * ban) before it is returned; the caller applies it to the maps. With the
 * state's deferred writes that record is in memory, and the database gets it
 * at the next xb_state_flush: the maps come first and a failing disk stops
 * no ban. Time is passed in (wall seconds) so tests drive the clock.
 */
#ifndef XB_POLICY_H
#define XB_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/config.h"
#include "common/records.h"
#include "policy/hostaddr.h"
#include "policy/state.h"

/* Offence history key of the XDP ban: firewall-drop and xdp-drop are one. */
#define XB_DROP_CMD "firewall-drop"


/* Seconds of the nth offence (n >= 1) under ar, XB_TIMEOUT_PERMANENT for a
 * ban that never ends. rnd in [0, 1) scales the jitter. */
uint64_t xb_escalate(const struct xb_ar *ar, uint32_t n, double rnd);

/* Does the seeing host itself decide on this block? Always without
 * <fleet>; with it, for local and all. */
bool xb_ar_here(const struct xb_config *c, const struct xb_ar *ar);

/* Does this response bind to an alert of (rule, level, groups)? */
bool xb_ar_binds(const struct xb_ar *ar, uint32_t rule, unsigned level, const char *groups);

/* Is a (an address or a prefix) protected? true with the reason in why. */
bool xb_policy_is_protected(const struct xb_config *c, const struct xb_hostaddr *h,
			    const struct xb_addr *a, char *why, size_t len);

struct xb_policy;

/* conf, st and h (may be NULL) stay owned by the caller and must outlive p. */
int xb_policy_new(const struct xb_config *conf, struct xb_state *st,
		  const struct xb_hostaddr *h, struct xb_policy **out);
void xb_policy_free(struct xb_policy *p);
/* Switch to a new config (reload); history and bans are untouched. */
void xb_policy_set_config(struct xb_policy *p, const struct xb_config *conf);
/* Switch to another state holding the same history (e.g. a database that
 * took over what was kept in memory). */
void xb_policy_set_state(struct xb_policy *p, struct xb_state *st);
/* Tests: a fixed jitter source. */
void xb_policy_set_rnd(struct xb_policy *p, double (*rnd)(void));

/*
 * Decide on one alert at wall time now. Returns the number of decisions
 * written to out (at most max), 0 when nothing is to be done (no binding, no
 * source address, protected: then why says so), or a negative errno.
 */
int xb_policy_alert(struct xb_policy *p, const struct xb_alert *al, int64_t now,
		    struct xb_decision *out, size_t max, char *why, size_t whylen);

/*
 * The other responses an alert calls for (route-null, host-deny, scripts,
 * ...: every binding block whose command is not the XDP ban), each with its
 * own escalation, counted per address and command. Decisions carry no ban
 * row; the responder applies them. Same returns as xb_policy_alert.
 */
int xb_policy_responses(struct xb_policy *p, const struct xb_alert *al, int64_t now,
			struct xb_decision *out, size_t max, char *why, size_t whylen);

/* Housekeeping: forget histories quiet for offender_memory. */
int xb_policy_forget(struct xb_policy *p, int64_t now, size_t *forgotten);

#endif
