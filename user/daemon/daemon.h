/* SPDX-License-Identifier: GPL-2.0 */
/*
 * daemon: `xdpban run`. One epoll loop (the state's WAL checkpoints alone run
 * on a thread of their own, so that an fsync never holds it):
 *
 *   sources (inotify / sd-journal / stdin fds)  -> detect -> enforce -> maps
 *                      (a burst of lines is read 50 ms at a time)
 *   timerfd (1 s)      expiry bookkeeping (the kernel enforces expiry; we log
 *                      it, reap the database and sweep the maps), the state's
 *                      writes kept in memory, a slice of reconciliation,
 *                      forgetting quiet histories, journal cursor, watchdog
 *   signalfd           SIGHUP reload, SIGTERM/SIGINT stop
 *   control socket     status, reload (ctlsock.h)
 *   rtnetlink          the host's addresses as they change (hostaddr.h)
 *
 * Start: config -> rules -> state (a corrupt database is moved aside; one
 * that cannot be opened leaves the state in memory) -> maps (attach
 * interfaces) -> restore the bans of the database that the maps lack, with
 * their original expiry (or teach a new state the maps' bans) -> policy ->
 * sources -> sd_notify READY=1.
 */
#ifndef XB_DAEMON_H
#define XB_DAEMON_H

#include <stdbool.h>
#include <stddef.h>

struct xb_daemon_opts {
	const char *config;     /* NULL: $XDPBAN_CONFIG or the default */
	const char *state_dir;  /* overrides <state_dir> */
	const char *socket;     /* overrides <control_socket> */
	const char *pin_dir;    /* NULL: $XDPBAN_PIN_DIR or the default */
	bool dry_run;           /* decide and log, ban nothing, keep no state */
};

/* `run --check`: load the config and the rules as a start would, touch
 * nothing. 0, or a negative errno with "file:line: reason" in err. */
int xb_daemon_check(const char *config, char *err, size_t len);

/* Runs until SIGTERM/SIGINT (0) or a fatal error (negative errno). */
int xb_daemon_run(const struct xb_daemon_opts *o);

#endif
