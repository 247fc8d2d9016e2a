// SPDX-License-Identifier: GPL-2.0
/* daemon: setup, the epoll loop of `xdpban run` and teardown (see daemon.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "common/log.h"
#include "common/util.h"
#include "daemon/internal.h"

#define TICK_SEC        1
#define SWEEP_EVERY     30      /* s between map sweeps of expired entries */
#define FORGET_EVERY    600     /* s between purges of quiet histories */
#define CURSOR_EVERY    5       /* s between journal cursor saves */
#define STATUS_EVERY    10      /* s between sd_notify STATUS= lines */
#define CHECKPOINT_EVERY 5      /* s between SQLite WAL checkpoints */
#define FLUSH_MAX       8192    /* changes a table a tick writes to the database */
#define RETRY_MAX       4096    /* bans waiting for room tried at a sweep */
#define RECONCILE_NS    (10 * 1000000ULL)       /* work on a reconcile pass a tick */

/* ---- timer and signals -------------------------------------------------- */

static void notify_status(struct daemon *d)
{
	const struct xb_detect_counts *dn = xb_detect_counts(d->det);

	sd_notifyf(0, "STATUS=%llu lines, %llu alerts, %llu bans, %llu re-bans, %llu expired",
		   (unsigned long long)dn->lines, (unsigned long long)dn->raised,
		   (unsigned long long)d->enf.n.bans, (unsigned long long)d->enf.n.rebans,
		   (unsigned long long)d->enf.n.expired);
}

static void on_tick(struct daemon *d)
{
	int64_t now = xb_now_wall();
	uint64_t exp;

	if (read(d->tfd, &exp, sizeof(exp)) < 0 && errno != EAGAIN)
		pr_warn("timerfd: %s\n", strerror(errno));
	d->ticks++;
	xb_enforce_reap(&d->enf, now);
	xb_resp_tick(d->resp, now);
	xb_fleet_run_tick(&d->fleet, now);
	if (d->dp && d->ticks % SWEEP_EVERY == 0) {
		xb_dp_sweep(d->dp, NULL);
		xb_enforce_retry(&d->enf, now, RETRY_MAX);
	}
	/* Half a period after the sweep: each walks the prefix maps, and one
	 * walk is enough for one tick. */
	if (d->dp && d->ticks % SWEEP_EVERY == SWEEP_EVERY / 2)
		xb_enforce_reconcile(&d->enf, now);
	else if (d->dp)
		xb_enforce_reconcile_step(&d->enf, now, RECONCILE_NS);
	if (d->ticks % STATE_RETRY_EVERY == 0)
		daemon_state_retry(d);
	/* What waits in memory, once a tick also while the disk fails. */
	xb_enforce_flush(&d->enf, FLUSH_MAX, true);
	if (d->ticks % FORGET_EVERY == 0) {
		size_t n = 0;

		if (!xb_policy_forget(d->pol, now, &n) && n)
			pr_info("forgot the history of %zu quiet addresses\n", n);
	}
	if (d->ticks % DROPS_EVERY == 0)
		daemon_sample_drops(d);
	if (d->ticks % CHECKPOINT_EVERY == 0)
		xb_state_checkpoint(d->st);
	if (d->ticks % CURSOR_EVERY == 0)
		daemon_sources_save(d);
	daemon_metrics_run(d);  /* its connection timeouts */
	if (d->watchdog_usec)
		sd_notify(0, "WATCHDOG=1");
	if (d->ticks % STATUS_EVERY == 0)
		notify_status(d);
}

static void on_signal(struct daemon *d)
{
	struct signalfd_siginfo si;
	char err[512];

	while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			sd_notify(0, "RELOADING=1");
			daemon_reload(d, err, sizeof(err));
			sd_notify(0, "READY=1");
			break;
		case SIGTERM:
		case SIGINT:
			pr_info("signal %d: stopping\n", (int)si.ssi_signo);
			d->stop = true;
			break;
		}
	}
}

static void on_host(struct daemon *d)
{
	bool changed = false;

	if (!xb_hostaddr_update(d->host, &changed) && changed)
		pr_info("host addresses changed: %zu now protected\n", xb_hostaddr_count(d->host));
}

/* ---- start and stop ----------------------------------------------------- */

static int ep_add(struct daemon *d, int fd, enum ep_kind kind)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)kind << 32 };

	return epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

static void teardown(struct daemon *d)
{
	daemon_sources_save(d);
	if (d->st)
		xb_state_checkpoint(d->st);
	daemon_sources_close(d);
	daemon_metrics_close(d);
	xb_ctlsock_close(d->ctl);
	xb_fleet_run_close(&d->fleet);  /* what waits stays in the outbox */
	xb_resp_free(d->resp);          /* scripts killed; their rows stay for the next start */
	xb_policy_free(d->pol);
	xb_enforce_free(&d->enf);
	xb_hostaddr_close(d->host);
	xb_dp_close(d->dp);
	xb_state_close(d->st);
	xb_detect_free(d->det);
	xb_config_free(d->conf);
	if (d->tfd >= 0)
		close(d->tfd);
	if (d->sigfd >= 0)
		close(d->sigfd);
	if (d->epfd >= 0)
		close(d->epfd);
}

/* The config and the paths it gives, then the control socket: a second
 * daemon must stop here, before it touches anything. */
static int setup_control(struct daemon *d)
{
	char err[512];
	int ret;

	if ((ret = xb_config_load(d->o.config, &d->conf, err, sizeof(err)))) {
		pr_warn("xdpban: %s\n", err);
		return ret;
	}
	snprintf(d->state_dir, sizeof(d->state_dir), "%s",
		 d->o.state_dir ? d->o.state_dir : d->conf->state_dir);
	snprintf(d->cursor_file, sizeof(d->cursor_file), "%s/journal.cursor", d->state_dir);
	snprintf(d->sock_path, sizeof(d->sock_path), "%s", xb_ctlsock_path(d->o.socket, d->conf));
	ret = xb_ctlsock_listen(d->sock_path, daemon_on_ctl, d, &d->ctl);
	if (ret)
		pr_warn("xdpban: control socket %s: %s%s\n", d->sock_path, strerror(-ret),
			ret == -EADDRINUSE ? " (is another xdpban run going?)" : "");
	return ret;
}

/* Rules and host addresses: the pipeline from line to alert, and what the
 * policy protects. */
static int setup_detect(struct daemon *d)
{
	char err[512];
	int ret;

	if ((ret = daemon_load_detect(d->conf, &d->det, err, sizeof(err)))) {
		pr_warn("xdpban: %s\n", err);
		return ret;
	}
	if ((ret = xb_hostaddr_open(true, &d->host)))
		pr_warn("xdpban: host addresses: %s\n", strerror(-ret));
	return ret;
}

/* The maps (not in dry-run): interfaces, allow list, then the bans of the
 * database that the maps lack, with their original expiry. */
static int setup_maps(struct daemon *d)
{
	/* <max_bans>: the ceiling the tables grow to (0: the default). */
	struct xb_dp_opts dpo = { .pin_dir = d->o.pin_dir, .max_bans = d->conf->max_bans };
	int ret, aerr = 0;

	_Static_assert(XB_CONF_MAX_BANS == XB_MAX_MAX_BANS, "<max_bans>'s bound is the data plane's");

	if ((ret = xb_dp_open(&dpo, &d->dp))) {
		pr_warn("xdpban: cannot open the maps: %s\n", strerror(-ret));
		return ret;
	}
	d->enf.dp = d->dp;
	daemon_attach_ifaces(d, NULL, d->conf, &aerr);
	if (aerr)
		return aerr;
	/* Links of interfaces not in the config, left by another xdpban build. */
	if ((ret = xb_dp_upgrade_links(d->dp)) < 0)
		pr_warn("xdpban: cannot upgrade the pinned links: %s\n", strerror(-ret));
	daemon_sync_allow(d, NULL, d->conf);
	/* Entries that ended while we were away go first: nothing expired stays listed. */
	xb_dp_sweep(d->dp, NULL);
	if ((ret = daemon_restore(d)))
		return ret;
	daemon_sample_drops(d);
	return 0;
}

/* epoll with the signals, the 1 s timer, the host addresses and the socket. */
static int setup_loop(struct daemon *d)
{
	struct itimerspec its = { .it_interval = { TICK_SEC, 0 }, .it_value = { TICK_SEC, 0 } };
	sigset_t mask;
	int ret;

	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epfd < 0)
		return -errno;
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	d->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d->sigfd < 0 || d->tfd < 0 || timerfd_settime(d->tfd, 0, &its, NULL))
		return -errno;
	if ((ret = ep_add(d, d->sigfd, EP_SIG)) || (ret = ep_add(d, d->tfd, EP_TIMER)) ||
	    (ret = ep_add(d, xb_hostaddr_fd(d->host), EP_HOST)))
		return ret;
	return ep_add(d, xb_ctlsock_fd(d->ctl), EP_CTL);
}

/* The responder, its stored responses (those due lifted now), its fd. */
static int setup_responses(struct daemon *d)
{
	struct xb_resp_opts ro;
	size_t n = 0;
	int ret;

	xb_enforce_resp_opts(&d->enf, d->conf, &ro);
	if ((ret = xb_resp_new(&ro, &d->resp)))
		return ret;
	d->enf.resp = d->resp;
	if ((ret = xb_enforce_resp_restore(&d->enf, xb_now_wall(), &n)))
		pr_warn("xdpban: stored responses: %s\n", strerror(-ret));
	else if (n)
		pr_info("%zu stored responses restored (those due lifted)\n", n);
	return ep_add(d, xb_resp_fd(d->resp), EP_RESP);
}

/* The fleet: a broker that is away is no error (reports wait on disk);
 * one that cannot start leaves this host banning on its own, and says so. */
static int setup_fleet(struct daemon *d)
{
	int ret;

	if (d->o.dry_run || !d->conf->fleet.enabled)
		return 0;
	ret = xb_fleet_run_open(&d->fleet, d->conf, d->state_dir, &d->enf, d->host);
	if (ret) {
		pr_warn("xdpban: fleet: cannot start (%s); banning on this host alone\n",
			strerror(-ret));
		d->n.errors++;
		return 0;
	}
	return ep_add(d, xb_fleet_run_fd(&d->fleet), EP_FLEET);
}

static int setup(struct daemon *d)
{
	int ret;

	/* Dry-run keeps its history in memory: it decides like the real thing
	 * and leaves no trace. */
	if ((ret = setup_control(d)) || (ret = setup_detect(d)) || (ret = daemon_state_open(d)))
		return ret;
	d->enf = (struct xb_enforce){ .st = d->st, .dry_run = d->o.dry_run };
	if (!d->o.dry_run && (ret = setup_maps(d)))
		return ret;
	/* After the maps: a corrupt database found by the restore is a new one. */
	if ((ret = xb_policy_new(d->conf, d->st, d->host, &d->pol)))
		return ret;
	d->enf.pol = d->pol;
	if ((ret = setup_loop(d)) || (ret = daemon_metrics_open(d)) ||
	    (ret = setup_responses(d)) || (ret = setup_fleet(d)))
		return ret;
	if ((ret = daemon_sources_open(d, d->conf, &d->src)))
		return ret;
	if ((ret = daemon_sources_watch(d)))
		return ret;
	if (sd_watchdog_enabled(0, &d->watchdog_usec) <= 0)
		d->watchdog_usec = 0;
	return 0;
}

/* ---- the loop ----------------------------------------------------------- */

/* One piece of a turn ended: keep the longest (the bench and status show it). */
static void turn_end(struct daemon *d, uint64_t t0, const char *what)
{
	uint64_t ns = xb_now_mono_ns() - t0;

	if (ns > d->turn.max_ns) {
		d->turn.max_ns = ns;
		d->turn.what = what;
		d->turn.at = xb_now_wall();
	}
}

/* Until SIGTERM/SIGINT (0) or epoll fails (its negative errno). */
static int loop(struct daemon *d)
{
	/* Lines already waiting (stdin, a journal backlog) are read at once. */
	daemon_sources_read(d);
	while (!d->stop) {
		struct epoll_event evs[16];
		int n = epoll_wait(d->epfd, evs, 16, daemon_sources_timeout(d));
		bool src = n == 0;

		if (n < 0) {
			int ret = -errno;

			if (ret == -EINTR)
				continue;
			pr_warn("epoll: %s\n", strerror(-ret));
			return ret;
		}
		for (int i = 0; i < n; i++) {
			uint64_t t0 = xb_now_mono_ns();

			switch ((enum ep_kind)(evs[i].data.u64 >> 32)) {
			case EP_SIG: on_signal(d); turn_end(d, t0, "signal"); break;
			case EP_TIMER: on_tick(d); turn_end(d, t0, "tick"); break;
			case EP_CTL: xb_ctlsock_serve(d->ctl); turn_end(d, t0, "control"); break;
			case EP_HOST: on_host(d); turn_end(d, t0, "host"); break;
			case EP_SRC: src = true; break;
			case EP_METRICS: daemon_metrics_run(d); break;
			case EP_RESP: xb_resp_dispatch(d->resp); break;
			case EP_FLEET:
				xb_fleet_run_events(&d->fleet);
				turn_end(d, t0, "fleet");
				break;
			}
		}
		if (src) {
			uint64_t t0 = xb_now_mono_ns();

			daemon_sources_read(d);
			turn_end(d, t0, "lines");
		}
	}
	return 0;
}

int xb_daemon_run(const struct xb_daemon_opts *o)
{
	struct daemon d = { .o = *o, .epfd = -1, .sigfd = -1, .tfd = -1 };
	const struct xb_detect_counts *dn;
	int ret;

	d.started = xb_now_wall();
	ret = setup(&d);
	if (ret) {
		teardown(&d);
		return ret;
	}
	pr_info("ready%s: %zu active responses, %zu rules, state %s, control %s\n",
		o->dry_run ? " (dry-run: nothing is banned)" : "", d.conf->n_ars,
		xb_detect_rule_count(d.det), xb_state_path(d.st), d.sock_path);
	sd_notifyf(0, "READY=1\nSTATUS=running\nMAINPID=%d", (int)getpid());
	ret = loop(&d);
	sd_notify(0, "STOPPING=1");
	dn = xb_detect_counts(d.det);
	pr_info("stopped: %llu lines, %llu alerts, %llu bans, %llu re-bans, %llu expired\n",
		(unsigned long long)dn->lines, (unsigned long long)dn->raised,
		(unsigned long long)d.enf.n.bans, (unsigned long long)d.enf.n.rebans,
		(unsigned long long)d.enf.n.expired);
	teardown(&d);
	return ret;
}
