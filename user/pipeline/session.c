// SPDX-License-Identifier: GPL-2.0
/* session: sshd's connections by (host, pid); see session.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/util.h"
#include "pipeline/session.h"
#include "xdpban.h"

#define WAYS 4

struct sess {
	bool used, has_src, accepted;
	uint8_t n_held;
	int pid;
	int64_t last;           /* usec, the latest line's time */
	uint64_t seen;          /* the table's tick when last used: LRU */
	struct xb_addr src;
	char host[64];
};

struct xb_sessions {
	struct sess *e;                 /* nsets * WAYS */
	struct xb_held_line *held;      /* XB_SESS_HELD per entry, touched only when used */
	uint32_t nsets, count;
	uint64_t tick, seed;
	int64_t timeout_us;
};

int xb_sessions_new(uint32_t max, uint32_t timeout, struct xb_sessions **out)
{
	struct xb_sessions *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->nsets = ((max ? max : 4096) + WAYS - 1) / WAYS;
	s->timeout_us = (int64_t)(timeout ? timeout : 600) * 1000000;
	s->e = calloc((size_t)s->nsets * WAYS, sizeof(*s->e));
	s->held = calloc((size_t)s->nsets * WAYS * XB_SESS_HELD, sizeof(*s->held));
	if (!s->e || !s->held) {
		xb_sessions_free(s);
		return -ENOMEM;
	}
	/* pids are easy to guess; the seed keeps them from being lined up on a set */
	if (getrandom(&s->seed, sizeof(s->seed), GRND_NONBLOCK) != sizeof(s->seed))
		s->seed = xb_mix64((uint64_t)(uintptr_t)s ^ (uint64_t)xb_now_mono_ns());
	*out = s;
	return 0;
}

void xb_sessions_free(struct xb_sessions *s)
{
	if (!s)
		return;
	free(s->e);
	free(s->held);
	free(s);
}

uint32_t xb_sessions_count(const struct xb_sessions *s)
{
	return s->count;
}

static struct sess *set_of(struct xb_sessions *s, const struct xb_event *ev)
{
	uint64_t h = s->seed ^ (uint64_t)(unsigned)ev->pid;

	for (const char *p = ev->hostname; *p; p++)
		h = xb_mix64(h ^ (unsigned char)*p);
	return &s->e[(xb_mix64(h) % s->nsets) * WAYS];
}

static struct sess *find(struct xb_sessions *s, const struct xb_event *ev)
{
	struct sess *set = set_of(s, ev);

	for (int w = 0; w < WAYS; w++)
		if (set[w].used && set[w].pid == ev->pid && !strcmp(set[w].host, ev->hostname))
			return &set[w];
	return NULL;
}

/* Forget e; what it held goes to v, to be counted (never a login's). */
static void end(struct xb_sessions *s, struct sess *e, struct xb_sess_verdict *v)
{
	const struct xb_held_line *h = &s->held[(size_t)(e - s->e) * XB_SESS_HELD];

	for (unsigned k = 0; !e->accepted && k < e->n_held && v->n_released < XB_SESS_RELEASED; k++)
		v->released[v->n_released++] = h[k];
	e->used = false;
	s->count--;
}

/* A new session for ev: a free way of its set, else the least recently seen. */
static struct sess *start(struct xb_sessions *s, const struct xb_event *ev, struct xb_sess_verdict *v)
{
	struct sess *set = set_of(s, ev), *e = &set[0];

	for (int w = 0; w < WAYS; w++) {
		if (!set[w].used) {
			e = &set[w];
			break;
		}
		if (set[w].seen < e->seen)
			e = &set[w];
	}
	if (e->used)
		end(s, e, v);
	memset(e, 0, sizeof(*e));
	e->used = true;
	e->pid = ev->pid;
	snprintf(e->host, sizeof(e->host), "%s", ev->hostname);
	s->count++;
	return e;
}

static bool has_msg_prefix(const struct xb_event *ev, const char *p)
{
	size_t n = strlen(p);

	return ev->msg_len >= n && !memcmp(ev->msg, p, n);
}

/* The lines after which sshd writes nothing more for this connection. */
static bool ends_session(const struct xb_event *ev)
{
	switch (ev->kind) {
	case XB_EV_CLOSED_PREAUTH: case XB_EV_DISCONN_PREAUTH: case XB_EV_TOO_MANY_FAIL:
	case XB_EV_NO_IDENT: case XB_EV_BAD_PROTO: case XB_EV_NEGOTIATE: case XB_EV_TIMEOUT:
		return true;
	default:
		return has_msg_prefix(ev, "Connection closed by ") ||
		       has_msg_prefix(ev, "Disconnected from ") ||
		       has_msg_prefix(ev, "Connection reset by ") || has_msg_prefix(ev, "fatal: ") ||
		       has_msg_prefix(ev, "Disconnecting");
	}
}

/* Keep a "Failed publickey" line of a session that has not logged in. */
static bool hold(struct xb_sessions *s, struct sess *e, const struct xb_line *line)
{
	struct xb_held_line *h = &s->held[(size_t)(e - s->e) * XB_SESS_HELD + e->n_held];

	if (e->accepted || e->n_held >= XB_SESS_HELD || line->len > sizeof(h->text))
		return false;   /* counts at once, as without sessions */
	memcpy(h->text, line->text, line->len);
	h->len = line->len;
	h->ts_usec = line->ts_usec;
	h->pid = line->pid;
	h->bare = line->bare;
	snprintf(h->program, sizeof(h->program), "%s", line->program ? line->program : "");
	e->n_held++;
	return true;
}

/* The session of ev after this line, NULL when there is none to keep. */
static struct sess *follow(struct xb_sessions *s, struct xb_event *ev, int64_t now,
			   struct xb_sess_verdict *v)
{
	struct sess *e = find(s, ev);

	if (e && (now - e->last > s->timeout_us || ev->kind == XB_EV_CONN_FROM)) {
		end(s, e, v);   /* stale, or a new connection under this pid */
		e = NULL;
	}
	if (ev->has_src) {
		if (e && e->has_src && !xb_addr_eq(&e->src, &ev->src)) {
			end(s, e, v);   /* a reused pid never inherits */
			e = NULL;
		}
		if (!e)
			e = start(s, ev, v);
		e->src = ev->src;
		e->has_src = true;
	} else if (e && e->has_src) {
		ev->src = e->src;
		ev->has_src = true;
		ev->src_from_session = true;
	}
	return e;
}

void xb_sessions_event(struct xb_sessions *s, struct xb_event *ev, const struct xb_line *line,
		       struct xb_sess_verdict *v)
{
	int64_t now = ev->ts_usec ? ev->ts_usec : xb_now_wall() * 1000000;
	struct sess *e;

	v->hold = false;
	v->n_released = 0;
	if (!s || ev->pid <= 0 || !ev->decoder || !(e = follow(s, ev, now, v)))
		return;
	e->last = now;
	e->seen = ++s->tick;
	if (ev->kind == XB_EV_ACCEPTED)
		e->accepted = true;     /* what it held was a multi-key login */
	else if (ev->kind == XB_EV_AUTH_FAIL && has_msg_prefix(ev, "Failed publickey for "))
		v->hold = hold(s, e, line);
	if (ends_session(ev))
		end(s, e, v);
}
