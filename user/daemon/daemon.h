/* SPDX-License-Identifier: GPL-2.0 */
/*
 * daemon: `xdpban run`. One epoll loop, no threads:
 *
 *   sources (inotify / sd-journal / stdin fds)  -> detect -> enforce -> maps
 *   timerfd (1 s)      expiry bookkeeping (the kernel enforces expiry; we log
 *                      it, reap the database and sweep the maps), forgetting
 *                      quiet histories, journal cursor, watchdog
 *   signalfd           SIGHUP reload, SIGTERM/SIGINT stop
 *   control socket     status, reload (ctlsock.h)
 *   rtnetlink          the host's addresses as they change (hostaddr.h)
 *
 * Start: config -> rules -> state -> maps (attach interfaces) -> restore the
 * bans of the database that the maps lack, with their original expiry ->
 * sources -> sd_notify READY=1.
 */
#ifndef XB_DAEMON_H
#define XB_DAEMON_H

#include <stdbool.h>

struct xb_daemon_opts {
	const char *config;     /* NULL: $XDPBAN_CONFIG or the default */
	const char *state_dir;  /* overrides <state_dir> */
	const char *socket;     /* overrides <control_socket> */
	const char *pin_dir;    /* NULL: $XDPBAN_PIN_DIR or the default */
	bool dry_run;           /* decide and log, ban nothing, keep no state */
};

/* Runs until SIGTERM/SIGINT (0) or a fatal error (negative errno). */
int xb_daemon_run(const struct xb_daemon_opts *o);

#endif
