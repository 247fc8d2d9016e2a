/* SPDX-License-Identifier: GPL-2.0 */
/*
 * respond: the responses besides the XDP ban, run as Wazuh's execd runs
 * them. A response is applied, kept with its end, and lifted on time:
 *
 *   script.c     an external program: one JSON line on stdin, its check_keys
 *                answered continue/abort, a new process with "delete" at the
 *                end; no shell, a clean environment, a time limit, bounded
 *                and logged output, never waited for in the event loop
 *   route.c      route-null: a blackhole route through libnl
 *   hostsdeny.c  host-deny: "ALL: ADDR" in hosts.deny (temp file + rename)
 *   account.c    disable-account: the user's password locked in shadow
 *   webhook.c    wazuh-slack / webhook: a Slack-style POST on a thread
 *   message.c    the execd JSON messages (json-c)
 *
 * Each built-in is a backend of three functions: apply, lift, resync. The
 * responses in force are kept by key (command "-" key, as execd does): a
 * second alert for an active key re-arms its end and runs nothing. The
 * caller stores them (xb_resp_row) through the store callbacks, so those
 * still due after a restart are restored and lifted on time.
 */
#ifndef XB_RESPOND_H
#define XB_RESPOND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/config.h"
#include "common/records.h"

#define XB_RESP_TIME_LIMIT_DEFAULT 10   /* s a script may run */
#define XB_RESP_MAX_RUNNING        32   /* scripts running at once */
#define XB_RESP_OUT_MAX            8192 /* stdout bytes kept (execd reads as much) */
#define XB_RESP_ERR_MAX            2048 /* stderr bytes kept for the log */

struct xb_resp_opts {
	const char *ar_dir;             /* relative executables are found here */
	const char *hosts_deny;         /* host-deny's file */
	char *const *protected_accounts;
	size_t n_protected;
	unsigned time_limit;            /* s, 0: the default */
	bool dry_run;                   /* log what would run, run nothing */
	/* Account files (tests point them elsewhere; NULL: /etc's). */
	const char *passwd, *shadow, *login_defs;
	/* Where rows go; ctx is the caller's. Errors are logged, not fatal. */
	int (*store_put)(void *ctx, const struct xb_resp_row *r);
	int (*store_del)(void *ctx, const char *key);
	void *store_ctx;
};

/* One response an alert calls for. */
struct xb_resp_req {
	const struct xb_command *cmd;
	struct xb_addr addr;            /* the offender */
	const char *user;               /* the alert's user, "" if none */
	uint32_t rule;
	unsigned level, offence;
	const char *description, *groups;
	const char *action;             /* what else was done ("banned 10m"), may be NULL */
	uint64_t ttl;                   /* s, XB_TIMEOUT_PERMANENT */
};

struct xb_resp_stats {
	uint64_t started;               /* scripts started (add and delete) */
	uint64_t failed;                /* exited non-zero, killed, or could not start */
	uint64_t hung;                  /* of those, killed at the time limit */
	uint64_t aborted;               /* check_keys answered abort */
	uint64_t applied, lifted;       /* responses applied and lifted */
	uint64_t refused;               /* built-ins that refused (root, no user, ...) */
	uint64_t errors;                /* built-ins that failed */
	uint64_t posted, post_failed;   /* webhooks */
	size_t running, active;         /* scripts running now; responses in force */
};

struct xb_resp;

int xb_resp_new(const struct xb_resp_opts *o, struct xb_resp **out);
/* Running scripts are killed; what is in force stays stored. */
void xb_resp_free(struct xb_resp *r);
/* A new config (reload): the paths and lists are the caller's until the next call. */
void xb_resp_set_opts(struct xb_resp *r, const struct xb_resp_opts *o);
/* Readable when a script wrote or ended: call xb_resp_dispatch. */
int xb_resp_fd(const struct xb_resp *r);
void xb_resp_dispatch(struct xb_resp *r);
/* Every second: time limits, and the lifts that are due at wall time now. */
void xb_resp_tick(struct xb_resp *r, int64_t now);

/* Run the response q calls for, at wall time now. Never blocks on a script. */
void xb_resp_fire(struct xb_resp *r, const struct xb_resp_req *q, int64_t now);
/* A stored row at start: lifted now when due, else kept (and a built-in
 * re-applied where a reboot undoes it). */
int xb_resp_restore(struct xb_resp *r, const struct xb_resp_row *row, int64_t now);

/* Lift now what command cmd (its name) keeps in force for a (a fleet's
 * decision withdrawn before its end). */
void xb_resp_lift(struct xb_resp *r, const char *cmd, const struct xb_addr *a);

void xb_resp_stats(const struct xb_resp *r, struct xb_resp_stats *s);
/* Is key (e.g. "route-null-198.18.0.7") in force? */
bool xb_resp_active(const struct xb_resp *r, const char *key);

#endif
