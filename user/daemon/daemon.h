/* SPDX-License-Identifier: GPL-2.0 */
/*
 * daemon: `xdpban run`. One epoll loop, no threads:
 *
 *   sources (inotify / sd-journal / stdin fds)  -> decode -> rules -> policy -> maps
 *   timerfd (1 s)      expiry bookkeeping (the kernel enforces expiry; we log
 *                      it, reap the database and sweep the maps), forgetting
 *                      quiet histories, journal cursor, watchdog
 *   signalfd           SIGHUP reload, SIGTERM/SIGINT stop
 *   control socket     status, reload (ctl.h)
 *   rtnetlink          the host's addresses as they change (hostaddr.h)
 *
 * Start: config -> rules -> state -> maps (attach interfaces) -> restore the
 * bans of the database that the maps lack, with their original expiry ->
 * sources -> sd_notify READY=1.
 */
#ifndef XB_DAEMON_H
#define XB_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/dataplane.h"
#include "policy/state.h"

struct xb_daemon_opts {
	const char *config;     /* NULL: $XDPBAN_CONFIG or the default */
	const char *state_dir;  /* overrides <state_dir> */
	const char *socket;     /* overrides <control_socket> */
	const char *pin_dir;    /* NULL: $XDPBAN_PIN_DIR or the default */
	bool dry_run;           /* decide and log, ban nothing, keep no state */
};

/* Runs until SIGTERM/SIGINT (0) or a fatal error (negative errno). */
int xb_daemon_run(const struct xb_daemon_opts *o);

struct xb_restore_stats {
	size_t active;          /* unexpired bans in the database */
	size_t present;         /* of those, already in the maps */
	size_t rearmed;         /* of the present, ending earlier than recorded: re-armed */
	size_t inserted;        /* re-inserted (or re-armed) with their original expiry */
	size_t failed;          /* could not be stored (map full, allow-listed) */
};

/*
 * Resynchronise the maps from the database at wall time now: every active
 * ban the maps lack is inserted with its original expiry (batched); bans in
 * the maps are left as they are (no duplicates, manual bans untouched).
 */
int xb_daemon_restore(struct xb_dp *dp, struct xb_state *st, int64_t now,
		      struct xb_restore_stats *rs);

/*
 * The clocks of a ban decision. The policy gets the wall time rounded up to
 * the second, so the recorded end (what a restart restores) is never early;
 * the map's expiry counts from the monotonic time the decision was taken.
 */
int64_t xb_daemon_wall_ceil(void);
struct xb_decision;
/* The map request for dec decided at mono_now: expires mono_now + ttl
 * (0 for a permanent ban). */
void xb_daemon_ban_req(const struct xb_decision *dec, uint64_t mono_now, struct xb_ban_req *req);

#endif
