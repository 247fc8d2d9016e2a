// SPDX-License-Identifier: GPL-2.0
/* sources: the daemon's log sources, opened from the config, watched by the
 * epoll loop and read line by line into the pipeline. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "common/log.h"
#include "common/util.h"
#include "daemon/internal.h"

/* A burst of lines is read this long at a time: between slices the loop
 * answers the timer and the control socket (the watchdog, status). */
#define READ_SLICE_NS   (50 * 1000000ULL)

void daemon_sources_close(struct daemon *d)
{
	for (size_t i = 0; i < d->src.n; i++) {
		int fd = xb_source_fd(d->src.s[i]);

		if (fd >= 0)
			epoll_ctl(d->epfd, EPOLL_CTL_DEL, fd, NULL);
		xb_source_close(d->src.s[i]);
	}
	free(d->src.s);
	free(d->src.info);
	d->src = (struct src_set){ 0 };
}

/* One configured source into *out (stdin's lines may be bare: info->any). */
static int open_one(struct daemon *d, const struct xb_conf_source *s, struct xb_source **out,
		    struct src_info *info)
{
	int err = 0;

	switch (s->type) {
	case XB_SRC_FILE:
		err = xb_source_open_file(s->path, false, out);
		break;
	case XB_SRC_JOURNAL:
		/* dry-run leaves no trace: no cursor either */
		err = xb_source_open_journal(NULL, d->o.dry_run ? NULL : d->cursor_file, out);
		break;
	case XB_SRC_FD:
		err = xb_source_open_fd(0, "stdin", out);
		info->any = true;
		break;
	case XB_SRC_REPLAY:     /* logtest's, never in a config */
		err = -EINVAL;
		break;
	}
	if (err)
		pr_warn("source %s%s%s: %s\n", xb_src_type_name(s->type), s->path ? " " : "",
			s->path ? s->path : "", strerror(-err));
	return err;
}

/* The sources of c (sshd's journal or log file when none is configured);
 * nothing is left open on failure. */
int daemon_sources_open(struct daemon *d, const struct xb_config *c, struct src_set *out)
{
	size_t n = c->n_sources ? c->n_sources : 1;
	struct src_set set = { .s = calloc(n, sizeof(*set.s)), .info = calloc(n, sizeof(*set.info)),
			       .n = n };
	int err = 0;

	if (!set.s || !set.info) {
		free(set.s);
		free(set.info);
		return -ENOMEM;
	}
	if (!c->n_sources) {
		err = xb_source_open_default(d->o.dry_run ? NULL : d->cursor_file, &set.s[0]);
		if (err)
			pr_warn("no <source> configured and neither sshd's journal nor "
				"/var/log/auth.log, secure or messages found: %s\n", strerror(-err));
	}
	for (size_t i = 0; i < c->n_sources && !err; i++)
		err = open_one(d, &c->sources[i], &set.s[i], &set.info[i]);
	if (err) {
		for (size_t i = 0; i < n; i++)
			xb_source_close(set.s[i]);
		free(set.s);
		free(set.info);
		return err;
	}
	*out = set;
	return 0;
}

int daemon_sources_watch(struct daemon *d)
{
	for (size_t i = 0; i < d->src.n; i++) {
		int fd = xb_source_fd(d->src.s[i]);
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = ((uint64_t)EP_SRC << 32) | i };

		if (fd >= 0 && epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev))
			return -errno;
		pr_info("reading %s\n", xb_source_name(d->src.s[i]));
	}
	return 0;
}

bool daemon_same_sources(const struct xb_config *a, const struct xb_config *b)
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

static void act(struct daemon *d, const struct xb_alert *al)
{
	pr_debug("alert: rule %u level %u: %s\n", al->rule, al->level,
		 al->description ? al->description : "");
	daemon_metrics_alert(d, al->rule);
	xb_enforce_alert(&d->enf, al);
	xb_fleet_run_alert(&d->fleet, al);
}

static int on_line(const struct xb_line *line, void *ctx)
{
	struct daemon *d = ctx;
	static struct xb_detect_out out;        /* one thread; ~9 KiB off the stack */

	/* stdin is what the operator pipes in (`sshd -e 2>&1 | xdpban run`):
	 * bare sshd messages without a syslog header count there. */
	xb_detect_line(d->det, line, d->cur->any ? XB_DETECT_ANY : 0, &out);
	/* For the lag in status: a line without a time counts as written now. */
	if (out.res != XB_DEC_MALFORMED) {
		int64_t t = out.ev.ts_usec ? (int64_t)out.ev.ts_usec : xb_now_wall() * 1000000;

		if (t > d->cur->last_usec)
			d->cur->last_usec = t;
	}
	if (out.raised)
		act(d, &out.al);
	for (size_t k = 0; k < out.n_rel; k++)  /* held by a session that never logged in */
		if (out.rel[k].raised)
			act(d, &out.rel[k].al);
	/* One line's trouble never stops the source; its time slice does
	 * (the source keeps the rest). */
	return d->read_until && xb_now_mono_ns() > d->read_until ? -EAGAIN : 0;
}

void daemon_sources_read(struct daemon *d)
{
	d->more = false;
	for (size_t i = 0; i < d->src.n; i++) {
		struct xb_source *s = d->src.s[i];
		int err;

		if (xb_source_eof(s))
			continue;
		d->cur = &d->src.info[i];
		/* The journal is read in batches of its own, and resumes only
		 * when its fd says so: it is never cut short. */
		d->read_until = xb_source_kind(s) == XB_SRC_JOURNAL ? 0 :
				xb_now_mono_ns() + READ_SLICE_NS;
		err = xb_source_read(s, on_line, d);
		if (err == -EAGAIN) {
			d->more = true;
			continue;
		}
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

/* How long the loop may sleep before a source needs reading (-1: no limit). */
int daemon_sources_timeout(const struct daemon *d)
{
	int t = -1;

	if (d->more)
		return 0;
	for (size_t i = 0; i < d->src.n; i++) {
		int s;

		if (xb_source_eof(d->src.s[i]))
			continue;
		s = xb_source_timeout_ms(d->src.s[i]);
		if (s >= 0 && (t < 0 || s < t))
			t = s;
	}
	return t;
}

void daemon_sources_save(struct daemon *d)
{
	for (size_t i = 0; i < d->src.n; i++)
		xb_source_save_cursor(d->src.s[i]);
}
