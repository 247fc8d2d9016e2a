// SPDX-License-Identifier: GPL-2.0
/* respond: the executor. Responses in force by key, their ends, and the
 * backends that apply and lift them (respond.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "respond/internal.h"

struct xb_resp_row *resp_find(struct xb_resp *r, const char *key)
{
	for (size_t i = 0; i < r->n_act; i++)
		if (!strcmp(r->act[i].key, key))
			return &r->act[i];
	return NULL;
}

bool xb_resp_active(const struct xb_resp *r, const char *key)
{
	return resp_find((struct xb_resp *)r, key) != NULL;
}

int resp_keep(struct xb_resp *r, const struct xb_resp_row *row)
{
	char *msg = strdup(row->msg ? row->msg : "");
	int err = msg ? xb_grow(&r->act, &r->cap_act, r->n_act, sizeof(*r->act), 16) : -ENOMEM;

	if (err) {
		free(msg);
		pr_warn("response %s: cannot keep it: %s\n", row->key, strerror(-err));
		return err;
	}
	r->act[r->n_act] = *row;
	r->act[r->n_act++].msg = msg;
	return 0;
}

void resp_drop(struct xb_resp *r, const char *key)
{
	struct xb_resp_row *e = resp_find(r, key);

	if (!e)
		return;
	free(e->msg);
	*e = r->act[--r->n_act];
}

void resp_log_rearm(const struct xb_resp_row *e)
{
	char tb[32] = "never";
	time_t t = e->expires;
	struct tm tm;

	if (t) {
		gmtime_r(&t, &tm);
		strftime(tb, sizeof(tb), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	pr_info("response %s: already in force, re-armed: lifted %s\n", e->key, tb);
}

static const struct xb_backend *backend(int kind)
{
	switch (kind) {
	case XB_CMD_ROUTE_NULL: return &xb_route_null;
	case XB_CMD_HOST_DENY: return &xb_host_deny;
	case XB_CMD_DISABLE_ACCOUNT: return &xb_disable_account;
	default: return NULL;
	}
}

static void store_put(struct xb_resp *r, const struct xb_resp_row *row)
{
	if (r->o.store_put && r->o.store_put(r->o.store_ctx, row))
		pr_warn("response %s: not stored; a restart will not lift it\n", row->key);
}

static void store_del(struct xb_resp *r, const char *key)
{
	if (r->o.store_del)
		r->o.store_del(r->o.store_ctx, key);
}

int xb_resp_new(const struct xb_resp_opts *o, struct xb_resp **out)
{
	struct xb_resp *r = calloc(1, sizeof(*r));
	ssize_t n;
	int err;

	if (!r)
		return -ENOMEM;
	r->o = *o;
	if (gethostname(r->node, sizeof(r->node)))
		snprintf(r->node, sizeof(r->node), "localhost");
	r->node[sizeof(r->node) - 1] = 0;
	n = readlink("/proc/self/exe", r->self, sizeof(r->self) - 1);
	r->self[n > 0 ? n : 0] = 0;
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0) {
		err = -errno;
		free(r);
		return err;
	}
	*out = r;
	return 0;
}

void xb_resp_free(struct xb_resp *r)
{
	if (!r)
		return;
	script_kill_all(r);
	webhook_free(r->wh);
	for (size_t i = 0; i < r->n_act; i++)
		free(r->act[i].msg);
	free(r->act);
	close(r->epfd);
	free(r);
}

void xb_resp_set_opts(struct xb_resp *r, const struct xb_resp_opts *o)
{
	r->o = *o;
}

int xb_resp_fd(const struct xb_resp *r)
{
	return r->epfd;
}

void xb_resp_dispatch(struct xb_resp *r)
{
	struct epoll_event evs[16];
	int n = epoll_wait(r->epfd, evs, 16, 0);

	for (int i = 0; i < n; i++)
		script_on_event(r, evs[i].data.u64);
}

void xb_resp_stats(const struct xb_resp *r, struct xb_resp_stats *s)
{
	*s = r->n;
	s->running = 0;
	for (int i = 0; i < XB_RESP_MAX_RUNNING; i++)
		s->running += r->kids[i] != NULL;
	s->active = r->n_act;
	if (r->wh)
		webhook_counts(r->wh, &s->posted, &s->post_failed);
}

/* ---- firing ------------------------------------------------------------- */

static void row_init(struct xb_resp_row *row, const struct xb_resp_req *q, int64_t now)
{
	char ab[XB_ADDRSTRLEN];

	memset(row, 0, sizeof(*row));
	snprintf(row->cmd, sizeof(row->cmd), "%s", q->cmd->name);
	row->kind = q->cmd->kind;
	row->created = now;
	row->expires = q->ttl == XB_TIMEOUT_PERMANENT ? 0 : now + (int64_t)q->ttl;
	snprintf(row->target, sizeof(row->target), "%s",
		 q->cmd->kind == XB_CMD_DISABLE_ACCOUNT ? (q->user ? q->user : "") :
		 xb_addr_str(&q->addr, ab, sizeof(ab)));
	row->msg = "";
}

static void fire_script(struct xb_resp *r, const struct xb_resp_req *q, struct xb_resp_row *row)
{
	char program[300];
	const char *base;
	int err = script_resolve(r, q->cmd->executable, row->exe, sizeof(row->exe));

	if (err) {
		r->n.failed++;
		pr_warn("response %s: cannot run '%s' (from %s): %s\n", q->cmd->name,
			q->cmd->executable, *q->cmd->executable == '/' ? "its path" : r->o.ar_dir,
			err == -ELOOP ? "it is xdpban itself" : strerror(-err));
		return;
	}
	base = strrchr(row->exe, '/');
	snprintf(program, sizeof(program), "active-response/bin/%s", base ? base + 1 : row->exe);
	snprintf(row->key, sizeof(row->key), "%.190s", base ? base + 1 : row->exe);
	row->msg = msg_add(r, q, program);
	err = row->msg ? script_start(r, row, false) : -ENOMEM;
	if (err) {
		r->n.failed++;
		pr_warn("response %s: cannot start %s: %s\n", q->cmd->name, row->exe,
			err == -EAGAIN ? "too many responses running" : strerror(-err));
	}
	free(row->msg);
}

static void fire_webhook(struct xb_resp *r, const struct xb_resp_req *q)
{
	char *body = msg_slack(r, q);
	int err = body ? 0 : -ENOMEM;

	if (!err && !r->wh)
		err = webhook_new(&r->wh);
	if (!err)
		err = webhook_post(r->wh, q->cmd->extra_args, body);
	else
		free(body);
	if (err)
		pr_warn("response %s: notification not sent: %s\n", q->cmd->name,
			err == -ENOSPC ? "too many waiting" : strerror(-err));
}

/* A built-in: re-arm the one in force, or apply it and keep it. */
static void fire_builtin(struct xb_resp *r, struct xb_resp_row *row)
{
	const struct xb_backend *b = backend(row->kind);
	struct xb_resp_row *old;
	int err;

	snprintf(row->key, sizeof(row->key), "%s-%s", b->name, row->target);
	if ((old = resp_find(r, row->key))) {
		if (old->expires && (!row->expires || row->expires > old->expires))
			old->expires = row->expires;
		resp_log_rearm(old);
		store_put(r, old);
		return;
	}
	err = b->apply(r, row);
	if (err) {
		err == -ECANCELED ? r->n.refused++ : r->n.errors++;
		if (err != -ECANCELED)
			pr_warn("response %s: %s\n", row->key, strerror(-err));
		return;
	}
	r->n.applied++;
	pr_info("response %s: applied%s\n", row->key, row->expires ? "" : ", never lifted");
	if (!resp_keep(r, row))
		store_put(r, row);
}

void xb_resp_fire(struct xb_resp *r, const struct xb_resp_req *q, int64_t now)
{
	struct xb_resp_row row;
	char ab[XB_ADDRSTRLEN];

	if (r->o.dry_run) {
		pr_info("dry-run: would run %s for %s\n", q->cmd->name,
			xb_addr_str(&q->addr, ab, sizeof(ab)));
		return;
	}
	row_init(&row, q, now);
	switch (q->cmd->kind) {
	case XB_CMD_SCRIPT: fire_script(r, q, &row); break;
	case XB_CMD_WEBHOOK: fire_webhook(r, q); break;
	case XB_CMD_DROP: break;        /* the maps' business (pipeline/enforce.c) */
	default: fire_builtin(r, &row); break;
	}
}

/* ---- lifting ------------------------------------------------------------ */

/* Lift e (which leaves r->act unless a delete cannot start yet). */
static void lift(struct xb_resp *r, struct xb_resp_row *e)
{
	const struct xb_backend *b = backend(e->kind);
	char key[sizeof(e->key)];
	int err;

	snprintf(key, sizeof(key), "%s", e->key);
	if (!b) {
		err = script_start(r, e, true);        /* its end removes the row */
		if (err == -EAGAIN)
			return;                         /* the next tick tries again */
		if (err) {
			r->n.failed++;
			pr_warn("response %s: cannot run the delete of %s: %s\n", key, e->exe,
				strerror(-err));
			store_del(r, key);
		}
		resp_drop(r, key);
		return;
	}
	err = b->lift(r, e);
	if (err && err != -ENOENT) {
		r->n.errors++;
		pr_warn("response %s: cannot lift it: %s\n", key, strerror(-err));
	} else {
		r->n.lifted++;
		pr_info("response %s: lifted\n", key);
	}
	store_del(r, key);
	resp_drop(r, key);
}

void xb_resp_tick(struct xb_resp *r, int64_t now)
{
	script_check_deadlines(r, xb_now_mono_ns());
	/* Backwards: a lifted entry's place takes the last one. */
	for (size_t i = r->n_act; i-- > 0; )
		if (r->act[i].expires && r->act[i].expires <= now)
			lift(r, &r->act[i]);
}

void xb_resp_lift(struct xb_resp *r, const char *cmd, const struct xb_addr *a)
{
	char ab[XB_ADDRSTRLEN];

	xb_addr_str(a, ab, sizeof(ab));
	for (size_t i = r->n_act; i-- > 0; )
		if (!strcmp(r->act[i].cmd, cmd) && !strcmp(r->act[i].target, ab))
			lift(r, &r->act[i]);
}

int xb_resp_restore(struct xb_resp *r, const struct xb_resp_row *row, int64_t now)
{
	const struct xb_backend *b = backend(row->kind);
	struct xb_resp_row *e;
	int err;

	if (resp_find(r, row->key))
		return 0;
	if ((err = resp_keep(r, row)))
		return err;
	e = resp_find(r, row->key);
	if (e->expires && e->expires <= now) {
		pr_info("response %s: ended while xdpban was down: lifting it\n", row->key);
		lift(r, e);
		return 0;
	}
	if (b && b->resync && (err = b->resync(r, e)))
		pr_warn("response %s: cannot re-apply it: %s\n", row->key, strerror(-err));
	return 0;
}
