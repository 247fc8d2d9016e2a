/* SPDX-License-Identifier: GPL-2.0 */
/*
 * daemon internals shared by its files: the running daemon's state.
 *   daemon.c   setup, the epoll loop, the timer and signals, teardown
 *   sources.c  the log sources: open, watch, read (line -> detect -> enforce)
 *   maps.c     the config's interfaces and allow list into the maps
 *   store.c    the state database: open (a corrupt one moved aside), restore
 *   reload.c   a new config and rules, swapped in only when all loaded
 *   control.c  the control socket's requests
 *   status.c   the "status" reply and the sampling of dropped packets
 *   metrics.c  Prometheus /metrics over HTTP (libmicrohttpd, in this loop)
 */
#ifndef XB_DAEMON_INT_H
#define XB_DAEMON_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/config.h"
#include "daemon/ctlsock.h"
#include "daemon/daemon.h"
#include "pipeline/detect.h"
#include "pipeline/enforce.h"
#include "pipeline/fleet.h"
#include "policy/hostaddr.h"
#include "source/source.h"

enum ep_kind { EP_SIG = 1, EP_TIMER, EP_CTL, EP_HOST, EP_SRC, EP_METRICS, EP_RESP, EP_FLEET };

struct src_info {
	bool any;               /* headerless lines accepted (stdin) */
	int64_t last_usec;      /* time of the newest line (its own, else when read) */
};

/* The sources being read, with what the daemon keeps about each. */
struct src_set {
	struct xb_source **s;
	struct src_info *info;
	size_t n;
};

#define DROPS_EVERY     5       /* s between samples of the dropped counter */
#define DROPS_WINDOW    60      /* s: status reports the drops over this */
#define DROPS_RING      (DROPS_WINDOW / DROPS_EVERY + 2)

/* The maps' dropped counter, sampled for "drops in the last minute". */
struct drop_ring {
	struct drop_sample {
		uint64_t t;             /* monotonic s */
		uint64_t dropped;
	} s[DROPS_RING];
	size_t n, head;
};

/* Alerts by rule id for /metrics; rules past the first ALERT_RULES_MAX
 * distinct ids count together. */
#define ALERT_RULES_MAX 128
struct alert_counts {
	struct rule_count {
		unsigned rule;
		uint64_t count;
	} r[ALERT_RULES_MAX];
	size_t n;
	uint64_t other;
};

struct MHD_Daemon;

struct daemon {
	struct xb_daemon_opts o;
	struct xb_config *conf;
	struct xb_detect *det;          /* line -> alert, with the lines and alerts counted */
	struct xb_state *st;
	struct xb_dp *dp;               /* NULL in dry-run */
	struct xb_hostaddr *host;
	struct xb_policy *pol;
	struct xb_enforce enf;          /* alert -> bans, with their counters */
	struct xb_resp *resp;           /* the other responses (scripts, built-ins) */
	struct xb_fleet_run fleet;      /* reports out, decisions in (no <fleet>: off) */
	struct xb_ctlsock *ctl;
	struct src_set src;
	struct src_info *cur;           /* that of the source being read */
	uint64_t read_until;            /* monotonic ns: a burst of lines yields then (0: never) */
	bool more;                      /* lines wait in a source that yielded: read again */
	int epfd, sigfd, tfd;
	char state_dir[PATH_MAX];
	char cursor_file[PATH_MAX + 32];
	char sock_path[PATH_MAX];
	int64_t started;
	uint64_t ticks;
	uint64_t watchdog_usec;
	bool stop;
	bool learn;                     /* the database is new: learn the maps' bans */
	bool state_memory;              /* no database could be opened: state in memory */
	char state_error[PATH_MAX + 128];
	struct {
		uint64_t errors, reloads;       /* errors besides enforce's */
	} n;
	/* The longest turn of the loop since start: what held it, and when. A
	 * turn longer than the watchdog's period would get the daemon killed. */
	struct {
		uint64_t max_ns;
		const char *what;               /* "signal", "tick", "control", "host", "lines" */
		int64_t at;                     /* wall s */
	} turn;
	struct drop_ring drops;
	struct alert_counts alerts;
	struct MHD_Daemon *mhd;         /* NULL: no <metrics> */
	char metrics_addr[64];          /* what it listens on */
};

/* sources.c */
int daemon_sources_open(struct daemon *d, const struct xb_config *c, struct src_set *out);
void daemon_sources_close(struct daemon *d);
int daemon_sources_watch(struct daemon *d);
void daemon_sources_read(struct daemon *d);
int daemon_sources_timeout(const struct daemon *d);
void daemon_sources_save(struct daemon *d);
bool daemon_same_sources(const struct xb_config *a, const struct xb_config *b);

/* maps.c: old is the config before a reload, NULL at start. */
void daemon_attach_ifaces(struct daemon *d, const struct xb_config *old,
			  const struct xb_config *c, int *first_err);
void daemon_sync_allow(struct daemon *d, const struct xb_config *old, const struct xb_config *c);

/* store.c */
#define STATE_RETRY_EVERY 30    /* s between attempts to open the database */
int daemon_state_open(struct daemon *d);
int daemon_restore(struct daemon *d);
/* State in memory: try the database again; it takes over when it opens. */
void daemon_state_retry(struct daemon *d);

/* reload.c */
int daemon_load_detect(const struct xb_config *c, struct xb_detect **out, char *err, size_t len);
int daemon_reload(struct daemon *d, char *err, size_t len);

/* control.c: the control socket's handler (xb_ctlsock_handler). */
int daemon_on_ctl(const char *req, struct json_object *reply, void *ctx);
/* The handler index for req (arg set past its verb), or -EINVAL; no effect. */
int daemon_ctl_parse(const char *req, const char **arg);
/* Request i's name, or NULL past the last (for the fuzz harness). */
const char *daemon_ctl_name(int i);

/* status.c */
void daemon_status(struct daemon *d, struct json_object *reply);
void daemon_sample_drops(struct daemon *d);

/* metrics.c: open after the loop's epoll exists (nothing without <metrics>). */
int daemon_metrics_open(struct daemon *d);
void daemon_metrics_run(struct daemon *d);
void daemon_metrics_close(struct daemon *d);
void daemon_metrics_alert(struct daemon *d, unsigned rule);
int daemon_metrics_write(struct daemon *d, FILE *f);

#endif
