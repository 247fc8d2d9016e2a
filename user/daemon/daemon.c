// SPDX-License-Identifier: GPL-2.0
/* daemon: the epoll loop of `xdpban run` (see daemon.h). */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <systemd/sd-daemon.h>

#include "common/config.h"
#include "daemon/ctlsock.h"
#include "daemon/daemon.h"
#include "decode/decode.h"
#include "policy/hostaddr.h"
#include "common/log.h"
#include "policy/policy.h"
#include "rules/rules.h"
#include "source/source.h"
#include "common/util.h"

#define TICK_SEC        1
#define SWEEP_EVERY     30      /* s between map sweeps of expired entries */
#define FORGET_EVERY    600     /* s between purges of quiet histories */
#define CURSOR_EVERY    5       /* s between journal cursor saves */
#define STATUS_EVERY    10      /* s between sd_notify STATUS= lines */
#define CHECKPOINT_EVERY 5      /* s between SQLite WAL checkpoints */
#define RECONCILE_MAX   65536   /* bans checked against the maps at a sweep */
#define MAX_DECISIONS   4
#define DROPS_EVERY     5       /* s between samples of the dropped counter */
#define DROPS_WINDOW    60      /* s: status reports the drops over this */
#define DROPS_RING      (DROPS_WINDOW / DROPS_EVERY + 2)

enum ep_kind { EP_SIG = 1, EP_TIMER, EP_CTL, EP_HOST, EP_SRC };

struct src_info {
	bool any;               /* headerless lines accepted (stdin) */
	int64_t last_usec;      /* time of the newest line (its own, else when read) */
};

struct daemon {
	struct xb_daemon_opts o;
	struct xb_config *conf;
	struct xb_ruleset *rs;
	struct xb_correlator *corr;
	struct xb_state *st;
	struct xb_dp *dp;               /* NULL in dry-run */
	struct xb_hostaddr *host;
	struct xb_policy *pol;
	struct xb_ctlsock *ctl;
	struct xb_source **srcs;
	struct src_info *src_info;      /* per source */
	size_t n_srcs;
	struct src_info *cur;           /* that of the source being read */
	int epfd, sigfd, tfd;
	char state_dir[PATH_MAX];
	char cursor_file[PATH_MAX + 32];
	char sock_path[PATH_MAX];
	int64_t started;
	uint64_t ticks;
	uint64_t watchdog_usec;
	bool stop;
	struct {
		uint64_t lines, events, alerts, bans, rebans, expired, refused, errors, reloads;
	} n;
	/* The maps' dropped counter, sampled for "drops in the last minute". */
	struct drop_sample {
		uint64_t t;             /* monotonic s */
		uint64_t dropped;
	} drops[DROPS_RING];
	size_t n_drops, drops_head;
};

static const char *afmt(const struct xb_addr *a, char *buf)
{
	return xb_addr_fmt(a, buf, XB_ADDRSTRLEN);
}

static const char *ttl_fmt(uint64_t ttl, char *buf, unsigned len)
{
	if (ttl == XB_TIMEOUT_PERMANENT) {
		snprintf(buf, len, "permanent");
		return buf;
	}
	return xb_fmt_duration(ttl, buf, len);
}

static const char *wall_fmt(int64_t t, char *buf, size_t len)
{
	struct tm tm;
	time_t tt = t;

	if (!t) {
		snprintf(buf, len, "never");
		return buf;
	}
	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* ---- restore ------------------------------------------------------------ */

/* A ban found in the maps: its key and when the kernel will end it. */
struct present_ban {
	struct xb_addr a;
	uint64_t expires;
};

struct addr_set {
	struct present_ban *a;
	size_t n, cap;
};

static int addr_cmp(const void *x, const void *y)
{
	const struct xb_addr *a = x, *b = y;     /* first member of present_ban */

	if (a->family != b->family)
		return a->family - b->family;
	if (a->prefixlen != b->prefixlen)
		return a->prefixlen - b->prefixlen;
	return memcmp(a->bytes, b->bytes, 16);
}

static int set_add(const struct xb_addr *a, const struct xb_ban *b,
		   const struct xb_meta *m, void *ctx)
{
	struct addr_set *s = ctx;

	(void)m;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4096;
		struct present_ban *na = realloc(s->a, cap * sizeof(*na));

		if (!na)
			return -ENOMEM;
		s->a = na;
		s->cap = cap;
	}
	s->a[s->n].a = *a;
	s->a[s->n].a.pad[0] = s->a[s->n].a.pad[1] = 0;
	s->a[s->n++].expires = b->expires;
	return 0;
}

/* Bans to restore, one list per map kind so that long runs go batched. */
struct pending {
	struct xb_addr *a;
	struct xb_ban_req *r;
	size_t n, cap;
};

struct restore_ctx {
	struct addr_set present;
	struct xb_restore_stats *rs;
	struct pending q[3];            /* IPv4, IPv6, prefixes */
};

static int pending_add(struct pending *q, const struct xb_addr *a, const struct xb_ban_req *r)
{
	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 4096;
		struct xb_addr *na = realloc(q->a, cap * sizeof(*na));

		if (!na)
			return -ENOMEM;
		q->a = na;
		struct xb_ban_req *nr = realloc(q->r, cap * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		q->r = nr;
		q->cap = cap;
	}
	q->a[q->n] = *a;
	q->r[q->n++] = *r;
	return 0;
}

static int restore_one(const struct xb_state_ban *b, void *ctx)
{
	struct restore_ctx *r = ctx;
	struct xb_addr key = b->addr;
	/* The original expiry, moved from the wall clock to the monotonic clock. */
	struct xb_ban_req req = { .expires = xb_wall_to_mono(b->expires), .rule = b->rule,
				  .offence = b->offence, .flags = b->flags };

	const struct present_ban *p = NULL;

	r->rs->active++;
	key.pad[0] = key.pad[1] = 0;
	if (r->present.n)
		p = bsearch(&key, r->present.a, r->present.n, sizeof(*p), addr_cmp);
	if (p) {
		r->rs->present++;
		/* Kept as it is unless the kernel would end it earlier than
		 * recorded: a crash between recording a re-arm and updating
		 * the map leaves the shorter one there. A second of slack
		 * absorbs the rounding of the recorded (wall, whole-second) end. */
		if (!p->expires || (req.expires && p->expires + NSEC_PER_SEC >= req.expires))
			return 0;
		r->rs->rearmed++;
	}
	return pending_add(&r->q[!xb_addr_is_single(&key) ? 2 : key.family == 4 ? 0 : 1], &key, &req);
}

/* Through the actions layer, each ban with its own request. A refused or bad
 * entry is skipped; a full map ends its list (the others still load). */
static void restore_apply(struct xb_dp *dp, struct pending *q, struct xb_restore_stats *rs)
{
	char buf[XB_ADDRSTRLEN];
	size_t i = 0, done;

	while (i < q->n) {
		int err = xb_dp_ban_many(dp, q->a + i, q->r + i, q->n - i, &done);

		rs->inserted += done;
		i += done;
		if (!err)
			break;
		if (err == -ENOSPC) {
			rs->failed += q->n - i;
			pr_warn("restore: %zu bans not restored: the ban map is full\n", q->n - i);
			break;
		}
		rs->failed++;
		pr_warn("restore: %s: %s\n", afmt(&q->a[i], buf),
			err == -EPERM ? "on the allow list, not restored" : strerror(-err));
		i++;
	}
}

int xb_daemon_restore(struct xb_dp *dp, struct xb_state *st, int64_t now,
		      struct xb_restore_stats *rs)
{
	struct restore_ctx r = { .rs = rs };
	int err;

	memset(rs, 0, sizeof(*rs));
	/* What the maps hold already (no duplicate, manual bans untouched). */
	err = xb_dp_foreach_ban(dp, set_add, &r.present);
	if (!err) {
		if (r.present.n)
			qsort(r.present.a, r.present.n, sizeof(*r.present.a), addr_cmp);
		err = xb_state_ban_foreach_active(st, now, restore_one, &r);
	}
	for (size_t k = 0; k < ARRAY_SIZE(r.q); k++) {
		if (!err)
			restore_apply(dp, &r.q[k], rs);
		free(r.q[k].a);
		free(r.q[k].r);
	}
	free(r.present.a);
	return err;
}

/* ---- pipeline ----------------------------------------------------------- */

int64_t xb_daemon_wall_ceil(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec + (ts.tv_nsec > 0);
}

void xb_daemon_ban_req(const struct xb_decision *dec, uint64_t mono_now, struct xb_ban_req *req)
{
	*req = (struct xb_ban_req){
		.expires = !dec->expires || dec->ttl == XB_TIMEOUT_PERMANENT ? 0 :
			   mono_now + dec->ttl * NSEC_PER_SEC,
		.rule = dec->rule,
		.offence = dec->offence > UINT16_MAX ? UINT16_MAX : dec->offence,
		.flags = XB_BAN_F_DAEMON | (dec->aggregate ? XB_BAN_F_AGGREGATE : 0),
	};
}

static void unban_within(struct daemon *d, const struct xb_addr *pfx, int64_t expires);

static void apply(struct daemon *d, const struct xb_decision *dec, uint64_t mono_now)
{
	char ab[XB_ADDRSTRLEN], ob[XB_ADDRSTRLEN], tb[32], wb[32], extra[96] = "";
	const char *verb = dec->rearm ? "re-ban" : "ban";
	struct xb_ban_req req;
	int err;

	xb_daemon_ban_req(dec, mono_now, &req);

	if (dec->aggregate)
		snprintf(extra, sizeof(extra), " (IPv6 prefix; latest offender %s)",
			 afmt(&dec->offender, ob));
	if (d->o.dry_run) {
		pr_info("dry-run: would %s %s rule %u offence %u timeout %s until %s%s\n", verb,
			afmt(&dec->addr, ab), dec->rule, dec->offence, ttl_fmt(dec->ttl, tb, sizeof(tb)),
			wall_fmt(dec->expires, wb, sizeof(wb)), extra);
		dec->rearm ? d->n.rebans++ : d->n.bans++;
		return;
	}
	err = xb_dp_ban(d->dp, &dec->addr, &req);
	if (err) {
		d->n.errors++;
		pr_warn("cannot %s %s (rule %u offence %u): %s\n", verb, afmt(&dec->addr, ab),
			dec->rule, dec->offence, strerror(-err));
		if (!dec->rearm)
			xb_state_ban_del(d->st, &dec->addr);    /* the maps are the judge */
		return;
	}
	dec->rearm ? d->n.rebans++ : d->n.bans++;
	pr_info("%s %s rule %u offence %u timeout %s until %s%s\n", verb, afmt(&dec->addr, ab),
		dec->rule, dec->offence, ttl_fmt(dec->ttl, tb, sizeof(tb)),
		wall_fmt(dec->expires, wb, sizeof(wb)), extra);
	if (dec->aggregate && !dec->rearm)
		unban_within(d, &dec->addr, dec->expires);
}

struct within_ctx {
	struct xb_state_ban *b;
	size_t n, cap;
};

static int within_add(const struct xb_state_ban *b, void *ctx)
{
	struct within_ctx *w = ctx;

	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		struct xb_state_ban *nb = realloc(w->b, cap * sizeof(*nb));

		if (!nb)
			return -ENOMEM;
		w->b = nb;
		w->cap = cap;
	}
	w->b[w->n++] = *b;
	return 0;
}

static void log_unban(const struct xb_state_ban *b, const char *why)
{
	char ab[XB_ADDRSTRLEN], tb[32];

	pr_info("unban %s rule %u offence %u timeout %s: %s\n", afmt(&b->addr, ab), b->rule,
		b->offence, b->expires ? xb_fmt_duration(b->expires > b->created ?
							   b->expires - b->created : 0, tb, sizeof(tb))
				       : "permanent", why);
}

/* The prefix ban covers its addresses: free their map slots, except those of
 * bans that outlast it (a repeat offender's 5400 s is not cut to the new
 * prefix's 600 s). expires: the prefix ban's end (wall s, 0 = permanent). */
static void unban_within(struct daemon *d, const struct xb_addr *pfx, int64_t expires)
{
	struct within_ctx w = { 0 };
	char pb[XB_ADDRSTRLEN], why[XB_ADDRSTRLEN + 32];

	snprintf(why, sizeof(why), "covered by the ban of %s", afmt(pfx, pb));
	if (xb_state_ban_foreach_within(d->st, pfx, within_add, &w) == 0) {
		for (size_t i = 0; i < w.n; i++) {
			if (expires && (!w.b[i].expires || w.b[i].expires > expires))
				continue;
			xb_state_ban_del(d->st, &w.b[i].addr);
			if (xb_dp_unban(d->dp, &w.b[i].addr) == 0)
				log_unban(&w.b[i], why);
		}
	}
	free(w.b);
}

static void on_alert(struct daemon *d, const struct xb_alert *al)
{
	struct xb_decision dec[MAX_DECISIONS];
	char why[256];
	/* Both clocks at decision time: a 20 s ban lasts at least 20 s. */
	uint64_t mono = xb_now_mono_ns();
	int n;

	n = xb_policy_alert(d->pol, al, xb_daemon_wall_ceil(), dec, MAX_DECISIONS, why, sizeof(why));
	if (n < 0) {
		d->n.errors++;
		pr_warn("rule %u: cannot record the offence: %s\n", al->rule, strerror(-n));
		return;
	}
	if (n == 0 && *why) {
		if (strstr(why, "no active-response") || strstr(why, "no source address")) {
			pr_debug("%s\n", why);
		} else {
			d->n.refused++;
			pr_info("not banning: %s (rule %u)\n", why, al->rule);
		}
	}
	for (int i = 0; i < n; i++)
		apply(d, &dec[i], mono);
}

static int on_line(const struct xb_line *line, void *ctx)
{
	struct daemon *d = ctx;
	struct xb_event ev;
	struct xb_alert al;

	d->n.lines++;
	/* stdin is what the operator pipes in (`sshd -e 2>&1 | xdpban run`):
	 * bare sshd messages without a syslog header count there. */
	enum xb_decode_res res = d->cur->any ? xb_decode_line_any(line, &ev, NULL)
					     : xb_decode_line(line, &ev);

	/* For the lag in status: a line without a time counts as written now. */
	if (res != XB_DEC_MALFORMED) {
		int64_t t = ev.ts_usec ? (int64_t)ev.ts_usec : xb_now_wall() * 1000000;

		if (t > d->cur->last_usec)
			d->cur->last_usec = t;
	}
	if (res != XB_DEC_SSHD)
		return 0;
	d->n.events++;
	if (xb_rules_eval(d->rs, d->corr, &ev, &al) != 1 || al.level == 0 || al.noalert)
		return 0;
	d->n.alerts++;
	pr_debug("alert: rule %u level %u: %s\n", al.rule, al.level,
		 al.description ? al.description : "");
	on_alert(d, &al);
	return 0;       /* one line's trouble never stops the source */
}

/* ---- sources ------------------------------------------------------------ */

static void close_sources(struct daemon *d)
{
	for (size_t i = 0; i < d->n_srcs; i++) {
		int fd = xb_source_fd(d->srcs[i]);

		if (fd >= 0)
			epoll_ctl(d->epfd, EPOLL_CTL_DEL, fd, NULL);
		xb_source_close(d->srcs[i]);
	}
	free(d->srcs);
	free(d->src_info);
	d->srcs = NULL;
	d->src_info = NULL;
	d->n_srcs = 0;
}

static int open_sources(struct daemon *d, const struct xb_config *c,
			struct xb_source ***out, struct src_info **out_info, size_t *nout)
{
	size_t n = c->n_sources ? c->n_sources : 1;
	struct xb_source **arr = calloc(n, sizeof(*arr));
	struct src_info *info = calloc(n, sizeof(*info));
	int err = 0;

	if (!arr || !info) {
		free(arr);
		free(info);
		return -ENOMEM;
	}
	if (!c->n_sources) {
		err = xb_source_open_default(d->o.dry_run ? NULL : d->cursor_file, &arr[0]);
		if (err)
			pr_warn("no <source> configured and neither sshd's journal nor "
				"/var/log/auth.log, secure or messages found: %s\n", strerror(-err));
	}
	for (size_t i = 0; i < c->n_sources && !err; i++) {
		const struct xb_conf_source *s = &c->sources[i];

		switch (s->type) {
		case XB_SRC_FILE:
			err = xb_source_open_file(s->path, false, &arr[i]);
			break;
		case XB_SRC_JOURNAL:
			/* dry-run leaves no trace: no cursor either */
			err = xb_source_open_journal(NULL, d->o.dry_run ? NULL : d->cursor_file, &arr[i]);
			break;
		case XB_SRC_FD:
			err = xb_source_open_fd(0, "stdin", &arr[i]);
			info[i].any = true;
			break;
		case XB_SRC_REPLAY:     /* logtest's, never in a config */
			err = -EINVAL;
			break;
		}
		if (err)
			pr_warn("source %s%s%s: %s\n", xb_src_type_name(s->type), s->path ? " " : "",
				s->path ? s->path : "", strerror(-err));
	}
	if (err) {
		for (size_t i = 0; i < n; i++)
			xb_source_close(arr[i]);
		free(arr);
		free(info);
		return err;
	}
	*out = arr;
	*out_info = info;
	*nout = n;
	return 0;
}

static int watch_sources(struct daemon *d)
{
	for (size_t i = 0; i < d->n_srcs; i++) {
		int fd = xb_source_fd(d->srcs[i]);
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = ((uint64_t)EP_SRC << 32) | i };

		if (fd >= 0 && epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev))
			return -errno;
		pr_info("reading %s\n", xb_source_name(d->srcs[i]));
	}
	return 0;
}

static bool same_sources(const struct xb_config *a, const struct xb_config *b)
{
	if (a->n_sources != b->n_sources)
		return false;
	for (size_t i = 0; i < a->n_sources; i++) {
		const struct xb_conf_source *x = &a->sources[i], *y = &b->sources[i];

		if (x->type != y->type || (x->path && y->path && strcmp(x->path, y->path)))
			return false;
	}
	return true;
}

static void read_sources(struct daemon *d)
{
	for (size_t i = 0; i < d->n_srcs; i++) {
		struct xb_source *s = d->srcs[i];
		int err;

		if (xb_source_eof(s))
			continue;
		d->cur = &d->src_info[i];
		err = xb_source_read(s, on_line, d);
		if (err) {
			d->n.errors++;
			pr_warn("%s: %s\n", xb_source_name(s), strerror(-err));
		}
		if (xb_source_eof(s)) {
			int fd = xb_source_fd(s);

			if (fd >= 0)
				epoll_ctl(d->epfd, EPOLL_CTL_DEL, fd, NULL);
			pr_info("%s: end of input\n", xb_source_name(s));
		}
	}
}

static int sources_timeout(struct daemon *d)
{
	int t = -1;

	for (size_t i = 0; i < d->n_srcs; i++) {
		int s;

		if (xb_source_eof(d->srcs[i]))
			continue;
		s = xb_source_timeout_ms(d->srcs[i]);
		if (s >= 0 && (t < 0 || s < t))
			t = s;
	}
	return t;
}

/* ---- data plane --------------------------------------------------------- */

static bool has_iface(const struct xb_config *c, const struct xb_conf_iface *ifc)
{
	for (size_t i = 0; c && i < c->n_ifaces; i++)
		if (!strcmp(c->ifaces[i].name, ifc->name) && c->ifaces[i].mode == ifc->mode)
			return true;
	return false;
}

/* Attach to the interfaces of c that old (NULL at start) did not have.
 * Interfaces dropped from the config stay attached: detaching is explicit
 * (`xdpban detach`), so a reload never opens the door by accident. */
static void attach_ifaces(struct daemon *d, const struct xb_config *old,
			  const struct xb_config *c, int *first_err)
{
	for (size_t i = 0; i < c->n_ifaces; i++) {
		enum xb_mode used = c->ifaces[i].mode;
		int err;

		if (has_iface(old, &c->ifaces[i]))
			continue;
		err = xb_dp_attach(d->dp, c->ifaces[i].name, c->ifaces[i].mode, &used);

		if (err) {
			pr_warn("cannot attach to %s: %s\n", c->ifaces[i].name, strerror(-err));
			if (first_err && !*first_err)
				*first_err = err;
			continue;
		}
		pr_info("attached to %s (%s)\n", c->ifaces[i].name,
			xb_mode_str(used));
	}
}

static bool in_allow(const struct xb_config *c, const struct xb_addr *a)
{
	for (size_t i = 0; c && i < c->n_allow; i++)
		if (xb_addr_eq(&c->allow[i], a))
			return true;
	return false;
}

/* The config's allow list also goes into the maps (the XDP program's last
 * word); entries dropped from the config on reload are taken out again. */
static void sync_allow(struct daemon *d, const struct xb_config *old, const struct xb_config *c)
{
	char ab[XB_ADDRSTRLEN];

	for (size_t i = 0; i < c->n_allow; i++) {
		int err = xb_dp_allow(d->dp, &c->allow[i]);

		if (err)
			pr_warn("allow %s: %s\n", afmt(&c->allow[i], ab), strerror(-err));
	}
	for (size_t i = 0; old && i < old->n_allow; i++)
		if (!in_allow(c, &old->allow[i]))
			xb_dp_unallow(d->dp, &old->allow[i]);
}

/* ---- reload ------------------------------------------------------------- */

static int load_rules(const struct xb_config *c, struct xb_ruleset **rs,
		      struct xb_correlator **corr, char *err, size_t len)
{
	char dir[PATH_MAX];
	int ret = xb_ruleset_load(c->rules_dir ? c->rules_dir : xb_rules_dir_default(dir, sizeof(dir)),
				  c->local_rules, rs, err, len);

	if (ret)
		return ret;
	ret = xb_corr_new(*rs, 0, corr);
	if (ret) {
		snprintf(err, len, "correlation state: %s", strerror(-ret));
		xb_ruleset_free(*rs);
		*rs = NULL;
	}
	return ret;
}

static int load_config(const struct xb_daemon_opts *o, struct xb_config **c, char *err, size_t len)
{
	return xb_config_load(o->config, c, err, len);
}

/* Everything new is built first; the running set is swapped only when all of
 * it loaded. Bans and history are never touched. */
static int reload(struct daemon *d, char *err, size_t len)
{
	struct xb_config *nc = NULL, *old = d->conf;
	struct xb_ruleset *nrs = NULL;
	struct xb_correlator *ncorr = NULL;
	struct xb_source **nsrcs = NULL;
	struct src_info *ninfo = NULL;
	size_t nn = 0;
	int ret;

	ret = load_config(&d->o, &nc, err, len);
	if (!ret)
		ret = load_rules(nc, &nrs, &ncorr, err, len);
	if (!ret && !same_sources(old, nc)) {
		ret = open_sources(d, nc, &nsrcs, &ninfo, &nn);
		if (ret)
			snprintf(err, len, "cannot open the new sources: %s", strerror(-ret));
	}
	if (ret) {
		pr_warn("reload failed, the running config stays in force: %s\n", err);
		xb_corr_free(ncorr);
		xb_ruleset_free(nrs);
		xb_config_free(nc);
		return ret;
	}
	if (!d->o.state_dir && strcmp(nc->state_dir, d->state_dir))
		pr_warn("reload: <state_dir> changes only on restart; still %s\n", d->state_dir);
	xb_policy_set_config(d->pol, nc);
	xb_corr_free(d->corr);
	xb_ruleset_free(d->rs);
	d->rs = nrs;
	d->corr = ncorr;
	d->conf = nc;
	if (nsrcs) {
		close_sources(d);
		d->srcs = nsrcs;
		d->src_info = ninfo;
		d->n_srcs = nn;
		watch_sources(d);
	}
	if (d->dp) {
		attach_ifaces(d, old, nc, NULL);
		sync_allow(d, old, nc);
	}
	xb_config_free(old);
	d->n.reloads++;
	pr_info("reloaded %s: %zu active responses, %zu rules\n", nc->path, nc->n_ars,
		xb_ruleset_count(d->rs));
	return 0;
}

static void sample_drops(struct daemon *d)
{
	uint64_t v[XB_STAT_MAX];

	if (!d->dp || xb_dp_stats(d->dp, v))
		return;
	d->drops[d->drops_head] = (struct drop_sample){ .t = xb_now_mono_ns() / NSEC_PER_SEC,
							.dropped = v[XB_STAT_DROPPED] };
	d->drops_head = (d->drops_head + 1) % DROPS_RING;
	if (d->n_drops < DROPS_RING)
		d->n_drops++;
}

/* Drops since the oldest sample at most DROPS_WINDOW s old: *window says
 * over how many seconds (less than a minute just after the start).
 * -ENODATA without maps (dry-run) or samples. */
static int drops_last_minute(struct daemon *d, uint64_t *drops, uint64_t *window)
{
	uint64_t v[XB_STAT_MAX], now = xb_now_mono_ns() / NSEC_PER_SEC;
	const struct drop_sample *base = NULL;

	if (!d->dp || !d->n_drops || xb_dp_stats(d->dp, v))
		return -ENODATA;
	for (size_t k = 0; k < d->n_drops; k++) {
		/* oldest first */
		const struct drop_sample *s =
			&d->drops[(d->drops_head + DROPS_RING - d->n_drops + k) % DROPS_RING];

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

/* ---- control, timer, signals -------------------------------------------- */

static int on_ctl(const char *req, struct json_object *reply, void *ctx)
{
	struct daemon *d = ctx;
	char err[512];

	if (!strcmp(req, "reload")) {
		int ret = reload(d, err, sizeof(err));

		if (ret)
			json_object_object_add(reply, "error", json_object_new_string(err));
		return ret;
	}
	if (!strncmp(req, "unbanned ", 9)) {
		struct xb_addr a;
		char ab[XB_ADDRSTRLEN];
		int ret;

		if (xb_addr_parse(req + 9, &a, false)) {
			json_object_object_add(reply, "error", json_object_new_string("bad address"));
			return -EINVAL;
		}
		struct xb_state_ban b;

		(void)ab;
		ret = xb_state_ban_get(d->st, &a, &b);
		if (!ret)
			ret = xb_state_ban_del(d->st, &a);
		if (ret && ret != -ENOENT)
			return ret;
		if (!ret)
			log_unban(&b, "lifted with xdpban unban");
		json_object_object_add(reply, "known", json_object_new_boolean(ret == 0));
		return 0;
	}
	if (!strcmp(req, "flushed")) {
		size_t n = 0;
		int ret = xb_state_ban_clear(d->st, &n);

		if (ret)
			return ret;
		pr_info("unban: %zu bans lifted with xdpban flush\n", n);
		json_object_object_add(reply, "known", json_object_new_int64(n));
		return 0;
	}
	if (strcmp(req, "status")) {
		json_object_object_add(reply, "error", json_object_new_string("unknown request"));
		return -EINVAL;
	}
	struct json_object *srcs = json_object_new_array(), *ifs = json_object_new_array();
	int64_t now = xb_now_wall();
	size_t active = 0;

	xb_state_ban_count(d->st, &active);
	json_object_object_add(reply, "ok", json_object_new_boolean(1));
	json_object_object_add(reply, "pid", json_object_new_int(getpid()));
	json_object_object_add(reply, "uptime", json_object_new_int64(now - d->started));
	json_object_object_add(reply, "config", json_object_new_string(d->conf->path));
	json_object_object_add(reply, "dry_run", json_object_new_boolean(d->o.dry_run));
	json_object_object_add(reply, "state", json_object_new_string(xb_state_path(d->st)));
	json_object_object_add(reply, "reloads", json_object_new_int64(d->n.reloads));
	json_object_object_add(reply, "lines", json_object_new_int64(d->n.lines));
	json_object_object_add(reply, "alerts", json_object_new_int64(d->n.alerts));
	json_object_object_add(reply, "bans", json_object_new_int64(d->n.bans));
	json_object_object_add(reply, "rebans", json_object_new_int64(d->n.rebans));
	json_object_object_add(reply, "expired", json_object_new_int64(d->n.expired));
	json_object_object_add(reply, "refused", json_object_new_int64(d->n.refused));
	json_object_object_add(reply, "errors", json_object_new_int64(d->n.errors));
	json_object_object_add(reply, "active_bans", json_object_new_int64(active));
	{
		uint64_t drops, window;

		if (!drops_last_minute(d, &drops, &window)) {
			json_object_object_add(reply, "drops_1m", json_object_new_int64(drops));
			json_object_object_add(reply, "drops_window", json_object_new_int64(window));
		} else {
			json_object_object_add(reply, "drops_1m", NULL);
		}
	}
	for (size_t i = 0; i < d->conf->n_ifaces; i++)
		json_object_array_add(ifs, json_object_new_string(d->conf->ifaces[i].name));
	json_object_object_add(reply, "interfaces", ifs);
	for (size_t i = 0; i < d->n_srcs; i++) {
		struct json_object *s = json_object_new_object();
		int64_t last = xb_source_last_usec(d->srcs[i]);

		if (d->src_info[i].last_usec > last)
			last = d->src_info[i].last_usec;

		json_object_object_add(s, "name", json_object_new_string(xb_source_name(d->srcs[i])));
		json_object_object_add(s, "lines", json_object_new_int64(xb_source_lines(d->srcs[i])));
		json_object_object_add(s, "last_usec", json_object_new_int64(last));
		json_object_object_add(s, "lag", json_object_new_int64(last ? now - last / 1000000 : -1));
		json_object_array_add(srcs, s);
	}
	json_object_object_add(reply, "sources", srcs);
	return 0;
}

static int on_expired(const struct xb_state_ban *b, void *ctx)
{
	struct daemon *d = ctx;
	char ab[XB_ADDRSTRLEN];

	char tb[32];

	d->n.expired++;
	pr_info("%sexpire %s rule %u offence %u timeout %s\n", d->o.dry_run ? "dry-run: " : "",
		afmt(&b->addr, ab), b->rule, b->offence,
		xb_fmt_duration(b->expires > b->created ? b->expires - b->created : 0, tb, sizeof(tb)));
	return 0;
}

struct reconcile_ctx {
	struct daemon *d;
	int64_t now;
	struct xb_state_ban *gone;
	size_t n, cap, checked;
};

static int reconcile_one(const struct xb_state_ban *b, void *ctx)
{
	struct reconcile_ctx *r = ctx;
	struct xb_ban v;

	if (++r->checked > RECONCILE_MAX)
		return -E2BIG;
	/* The recorded end is rounded up to the second: a ban the kernel has
	 * just ended is an expiry for the expiry path to log, not an unban. */
	if (b->expires && b->expires <= r->now + 1)
		return 0;
	if (xb_dp_lookup(r->d->dp, &b->addr, &v) != -ENOENT)
		return 0;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct xb_state_ban *nb = realloc(r->gone, cap * sizeof(*nb));

		if (!nb)
			return -ENOMEM;
		r->gone = nb;
		r->cap = cap;
	}
	r->gone[r->n++] = *b;
	return 0;
}

/* A ban that left the maps before its time was lifted on purpose (`xdpban
 * unban`/`flush` without telling us): forget it too, or a restart would
 * bring it back. Bounded: with more bans than RECONCILE_MAX only the control
 * socket's "unbanned" tells us. */
static void reconcile(struct daemon *d, int64_t now)
{
	struct reconcile_ctx r = { .d = d, .now = now };
	int err = xb_state_ban_foreach_active(d->st, now, reconcile_one, &r);

	if (!err) {
		for (size_t i = 0; i < r.n; i++) {
			/* The row was read without created: fetch it for the log line. */
			struct xb_state_ban full;

			if (xb_state_ban_get(d->st, &r.gone[i].addr, &full))
				continue;
			xb_state_ban_del(d->st, &full.addr);
			log_unban(&full, "lifted outside the daemon");
		}
	}
	free(r.gone);
}

static void on_tick(struct daemon *d)
{
	int64_t now = xb_now_wall();
	uint64_t exp;
	int err;

	if (read(d->tfd, &exp, sizeof(exp)) < 0 && errno != EAGAIN)
		pr_warn("timerfd: %s\n", strerror(errno));
	d->ticks++;
	/* The kernel already stopped dropping; here the record catches up. */
	if ((err = xb_state_ban_reap(d->st, now, on_expired, d)))
		d->n.errors++;
	if (d->dp && d->ticks % SWEEP_EVERY == 0) {
		xb_dp_sweep(d->dp, NULL);
		reconcile(d, now);
	}
	if (d->ticks % FORGET_EVERY == 0) {
		size_t n = 0;

		if (!xb_policy_forget(d->pol, now, &n) && n)
			pr_info("forgot the history of %zu quiet addresses\n", n);
	}
	if (d->ticks % DROPS_EVERY == 0)
		sample_drops(d);
	if (d->ticks % CHECKPOINT_EVERY == 0)
		xb_state_checkpoint(d->st);
	if (d->ticks % CURSOR_EVERY == 0)
		for (size_t i = 0; i < d->n_srcs; i++)
			xb_source_save_cursor(d->srcs[i]);
	if (d->watchdog_usec)
		sd_notify(0, "WATCHDOG=1");
	if (d->ticks % STATUS_EVERY == 0)
		sd_notifyf(0, "STATUS=%llu lines, %llu alerts, %llu bans, %llu re-bans, %llu expired",
			   (unsigned long long)d->n.lines, (unsigned long long)d->n.alerts,
			   (unsigned long long)d->n.bans, (unsigned long long)d->n.rebans,
			   (unsigned long long)d->n.expired);
}

static void on_signal(struct daemon *d)
{
	struct signalfd_siginfo si;
	char err[512];

	while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			sd_notify(0, "RELOADING=1");
			reload(d, err, sizeof(err));
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

/* ---- start and stop ----------------------------------------------------- */

static int ep_add(struct daemon *d, int fd, enum ep_kind kind)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)kind << 32 };

	return epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

static void teardown(struct daemon *d)
{
	for (size_t i = 0; i < d->n_srcs; i++)
		xb_source_save_cursor(d->srcs[i]);
	if (d->st)
		xb_state_checkpoint(d->st);
	close_sources(d);
	xb_ctlsock_close(d->ctl);
	xb_policy_free(d->pol);
	xb_hostaddr_close(d->host);
	xb_dp_close(d->dp);
	xb_state_close(d->st);
	xb_corr_free(d->corr);
	xb_ruleset_free(d->rs);
	xb_config_free(d->conf);
	if (d->tfd >= 0)
		close(d->tfd);
	if (d->sigfd >= 0)
		close(d->sigfd);
	if (d->epfd >= 0)
		close(d->epfd);
}

static int setup(struct daemon *d)
{
	struct itimerspec its = { .it_interval = { TICK_SEC, 0 }, .it_value = { TICK_SEC, 0 } };
	struct xb_restore_stats rs;
	struct xb_dp_opts dpo = { .pin_dir = d->o.pin_dir };
	char err[512];
	sigset_t mask;
	int ret;

	if ((ret = load_config(&d->o, &d->conf, err, sizeof(err)))) {
		pr_warn("xdpban: %s\n", err);
		return ret;
	}
	snprintf(d->state_dir, sizeof(d->state_dir), "%s",
		 d->o.state_dir ? d->o.state_dir : d->conf->state_dir);
	snprintf(d->cursor_file, sizeof(d->cursor_file), "%s/journal.cursor", d->state_dir);
	snprintf(d->sock_path, sizeof(d->sock_path), "%s", xb_ctlsock_path(d->o.socket, d->conf));
	/* First: a second daemon must stop here, before it touches anything. */
	ret = xb_ctlsock_listen(d->sock_path, on_ctl, d, &d->ctl);
	if (ret) {
		pr_warn("xdpban: control socket %s: %s%s\n", d->sock_path, strerror(-ret),
			ret == -EADDRINUSE ? " (is another xdpban run going?)" : "");
		return ret;
	}
	if ((ret = load_rules(d->conf, &d->rs, &d->corr, err, sizeof(err)))) {
		pr_warn("xdpban: %s\n", err);
		return ret;
	}
	/* Dry-run keeps its history in memory: it decides like the real thing
	 * and leaves no trace. */
	if ((ret = xb_state_open(d->o.dry_run ? XB_STATE_MEMORY : d->state_dir, &d->st))) {
		pr_warn("xdpban: state in %s: %s\n", d->state_dir, strerror(-ret));
		return ret;
	}
	if ((ret = xb_hostaddr_open(true, &d->host))) {
		pr_warn("xdpban: host addresses: %s\n", strerror(-ret));
		return ret;
	}
	if ((ret = xb_policy_new(d->conf, d->st, d->host, &d->pol)))
		return ret;
	if (!d->o.dry_run) {
		int aerr = 0;

		if ((ret = xb_dp_open(&dpo, &d->dp))) {
			pr_warn("xdpban: cannot open the maps: %s\n", strerror(-ret));
			return ret;
		}
		attach_ifaces(d, NULL, d->conf, &aerr);
		if (aerr)
			return aerr;
		sync_allow(d, NULL, d->conf);
		/* Entries that ended while we were away go first: nothing expired stays listed. */
		xb_dp_sweep(d->dp, NULL);
		uint64_t t0 = xb_now_mono_ns();

		if ((ret = xb_daemon_restore(d->dp, d->st, xb_now_wall(), &rs))) {
			pr_warn("xdpban: restoring bans: %s\n", strerror(-ret));
			return ret;
		}
		pr_info("restored %zu of %zu active bans in %.3f s (%zu were in the maps, %zu of those re-armed; %zu failed)\n",
			rs.inserted, rs.active, (xb_now_mono_ns() - t0) / 1e9, rs.present, rs.rearmed, rs.failed);
		sample_drops(d);
	}
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
	if ((ret = ep_add(d, xb_ctlsock_fd(d->ctl), EP_CTL)))
		return ret;
	if ((ret = open_sources(d, d->conf, &d->srcs, &d->src_info, &d->n_srcs)))
		return ret;
	if ((ret = watch_sources(d)))
		return ret;
	if (sd_watchdog_enabled(0, &d->watchdog_usec) <= 0)
		d->watchdog_usec = 0;
	return 0;
}

int xb_daemon_run(const struct xb_daemon_opts *o)
{
	struct daemon d = { .o = *o, .epfd = -1, .sigfd = -1, .tfd = -1 };
	int ret;

	d.started = xb_now_wall();
	ret = setup(&d);
	if (ret) {
		teardown(&d);
		return ret;
	}
	pr_info("ready%s: %zu active responses, %zu rules, state %s, control %s\n",
		o->dry_run ? " (dry-run: nothing is banned)" : "", d.conf->n_ars,
		xb_ruleset_count(d.rs), xb_state_path(d.st), d.sock_path);
	sd_notifyf(0, "READY=1\nSTATUS=running\nMAINPID=%d", (int)getpid());

	/* Lines already waiting (stdin, a journal backlog) are read at once. */
	read_sources(&d);
	while (!d.stop) {
		struct epoll_event evs[16];
		int n = epoll_wait(d.epfd, evs, 16, sources_timeout(&d));
		bool src = n == 0;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			pr_warn("epoll: %s\n", strerror(-ret));
			break;
		}
		for (int i = 0; i < n; i++) {
			switch ((enum ep_kind)(evs[i].data.u64 >> 32)) {
			case EP_SIG: on_signal(&d); break;
			case EP_TIMER: on_tick(&d); break;
			case EP_CTL: xb_ctlsock_serve(d.ctl); break;
			case EP_HOST: {
				bool changed = false;

				if (!xb_hostaddr_update(d.host, &changed) && changed)
					pr_info("host addresses changed: %zu now protected\n",
						xb_hostaddr_count(d.host));
				break;
			}
			case EP_SRC: src = true; break;
			}
		}
		if (src)
			read_sources(&d);
	}
	sd_notify(0, "STOPPING=1");
	pr_info("stopped: %llu lines, %llu alerts, %llu bans, %llu re-bans, %llu expired\n",
		(unsigned long long)d.n.lines, (unsigned long long)d.n.alerts,
		(unsigned long long)d.n.bans, (unsigned long long)d.n.rebans,
		(unsigned long long)d.n.expired);
	teardown(&d);
	return ret;
}
