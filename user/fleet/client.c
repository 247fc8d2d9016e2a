// SPDX-License-Identifier: GPL-2.0
/*
 * fleet: the broker (nats.c). libnats runs its own threads (reads, timers,
 * async callbacks); one more of ours connects and sets up the streams and
 * subscriptions, as those calls wait for the broker's replies. Every
 * callback only copies what it got onto a queue and wakes the daemon's
 * loop through an eventfd: the bans are applied on the daemon's thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/random.h>

#include <nats/nats.h>

#include "common/log.h"
#include "fleet/fleet.h"

#define KV_PREFIX       "$KV." XB_FLEET_BUCKET "."
#define KV_STREAM       "KV_" XB_FLEET_BUCKET
#define DURABLE         "xdpban-manager"
#define RETRY_MS        1000
#define REPORTS_AGE_NS  (86400LL * 1000000000)  /* a report waits a day for the manager */
#define DUP_WINDOW_NS   (3600LL * 1000000000)   /* Nats-Msg-Id dedup: resends within an hour */
#define OUTBOX_HDR      "Xdpban-Outbox"
#define QUEUE_MAX       100000                  /* events waiting for the loop */
#define WATCH_HB_NS     (5LL * 1000000000)      /* the watches' heartbeat from the broker */

struct qnode {
	struct xb_fleet_ev ev;
	struct qnode *next;
};

struct xb_fleet {
	char agent[XB_AGENT_ID_MAX + 1];
	char inbox[XB_AGENT_ID_MAX + 16];
	bool manager;
	int64_t replicas;               /* manager: of the stream and the bucket */
	natsOptions *opts;
	natsConnection *nc;
	jsCtx *js;
	natsSubscription *reports, *own, *all;
	pthread_t thr;
	bool thr_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct qnode *head, *tail;
	size_t qlen;
	uint64_t qdropped;
	int efd;
	atomic_bool ready, resetup, stop;
	/* Keys whose purge marker the broker stored: our thread purges the
	 * key's messages up to the marker's (a decision written after it
	 * stays). Under mu. */
	struct purge { char subject[XB_FLEET_KEY_MAX + 32]; uint64_t seq; } *purges;
	size_t n_purges, cap_purges;
	atomic_uint_fast64_t purge_errors;
	atomic_int_fast64_t backlog;
	atomic_int_fast64_t left_own, left_all;         /* agent: NumPending of the watches */
};

/* ---- the queue (any thread) ---------------------------------------------- */

static void push(struct xb_fleet *f, const struct xb_fleet_ev *ev)
{
	struct qnode *n = calloc(1, sizeof(*n));
	uint64_t one = 1;
	bool wake;

	pthread_mutex_lock(&f->mu);
	if (!n || f->qlen >= QUEUE_MAX) {
		/* A report not queued is not acked: the broker sends it again. */
		f->qdropped++;
		pthread_mutex_unlock(&f->mu);
		if (n)
			free(n);
		free(ev->data);
		if (ev->msg)
			natsMsg_Destroy(ev->msg);
		return;
	}
	n->ev = *ev;
	if (f->tail)
		f->tail->next = n;
	else
		f->head = n;
	f->tail = n;
	/* Only the first event wakes the loop: it reads the eventfd when it
	 * finds the queue empty, so a write per event was a syscall each. */
	wake = !f->qlen++;
	pthread_mutex_unlock(&f->mu);
	if (wake && write(f->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_warn("fleet: eventfd: %s\n", strerror(errno));
}

static void push_simple(struct xb_fleet *f, enum xb_fleet_ev_kind k, const char *text)
{
	struct xb_fleet_ev ev = { .kind = k };

	if (text)
		snprintf(ev.text, sizeof(ev.text), "%.255s", text);
	push(f, &ev);
}

static char *copy_data(natsMsg *m, size_t *len)
{
	int n = natsMsg_GetDataLength(m);
	char *d = malloc((size_t)n + 1);

	if (!d)
		return NULL;
	memcpy(d, natsMsg_GetData(m), (size_t)n);
	d[n] = 0;
	*len = (size_t)n;
	return d;
}

bool xb_fleet_next(struct xb_fleet *f, struct xb_fleet_ev *ev)
{
	struct qnode *n;
	uint64_t v;

	pthread_mutex_lock(&f->mu);
	n = f->head;
	if (n) {
		f->head = n->next;
		if (!f->head)
			f->tail = NULL;
		f->qlen--;
	} else if (read(f->efd, &v, sizeof(v)) < 0 && errno != EAGAIN) {
		pr_warn("fleet: eventfd: %s\n", strerror(errno));
	}
	pthread_mutex_unlock(&f->mu);
	if (!n)
		return false;
	*ev = n->ev;
	free(n);
	return true;
}

void xb_fleet_ev_done(struct xb_fleet_ev *ev)
{
	free(ev->data);
	ev->data = NULL;
	if (ev->msg)
		natsMsg_Destroy(ev->msg);
	ev->msg = NULL;
}

int xb_fleet_fd(const struct xb_fleet *f)
{
	return f->efd;
}

/* ---- libnats' callbacks (its threads) ------------------------------------ */

static void on_report(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *ctx)
{
	struct xb_fleet_ev ev = { .kind = XB_FLEET_EV_REPORT, .msg = m };
	const char *subj = natsMsg_GetSubject(m), *dot = subj ? strrchr(subj, '.') : NULL;

	/* The sender is the subject's last token: the broker lets an agent
	 * publish on its own subject alone. */
	snprintf(ev.key, sizeof(ev.key), "%s", dot ? dot + 1 : "");
	ev.data = copy_data(m, &ev.len);
	if (!ev.data) {
		natsMsg_Destroy(m);     /* not acked: sent again */
		return;
	}
	push(ctx, &ev);
}

static void on_decision(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *ctx)
{
	struct xb_fleet_ev ev = { .kind = XB_FLEET_EV_DECISION };
	const char *subj = natsMsg_GetSubject(m), *op = NULL;
	struct xb_fleet *f = ctx;
	jsMsgMetaData *meta = NULL;

	if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
		atomic_store(sub == f->all ? &f->left_all : &f->left_own, (int64_t)meta->NumPending);
		jsMsgMetaData_Destroy(meta);
	}

	if (subj && !strncmp(subj, KV_PREFIX, strlen(KV_PREFIX)) &&
	    strlen(subj + strlen(KV_PREFIX)) < sizeof(ev.key)) {
		strcpy(ev.key, subj + strlen(KV_PREFIX));
		ev.del = natsMsgHeader_Get(m, "KV-Operation", &op) == NATS_OK && op &&
			 (!strcmp(op, "DEL") || !strcmp(op, "PURGE"));
		ev.data = copy_data(m, &ev.len);
		if (ev.data)
			push(ctx, &ev);
	}
	natsMsg_Destroy(m);
}

static void purge_later(struct xb_fleet *f, const char *subject, uint64_t seq)
{
	pthread_mutex_lock(&f->mu);
	if (f->n_purges == f->cap_purges) {
		size_t cap = f->cap_purges ? 2 * f->cap_purges : 64;
		struct purge *p = cap <= 65536 ? realloc(f->purges, cap * sizeof(*p)) : NULL;

		if (!p) {
			atomic_fetch_add(&f->purge_errors, 1);
			pthread_mutex_unlock(&f->mu);
			return;
		}
		f->purges = p;
		f->cap_purges = cap;
	}
	snprintf(f->purges[f->n_purges].subject, sizeof(f->purges[0].subject), "%s", subject);
	f->purges[f->n_purges++].seq = seq;
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

static void on_puback(jsCtx *js, natsMsg *m, jsPubAck *pa, jsPubAckErr *pae, void *ctx)
{
	struct xb_fleet_ev ev = { .kind = XB_FLEET_EV_ACKED };
	const char *seq = NULL, *op = NULL;

	if (pa && natsMsgHeader_Get(m, OUTBOX_HDR, &seq) == NATS_OK && seq) {
		char *end = NULL;

		/* SEQ, or FIRST-LAST for a pack of reports (xb_fleet_send). */
		ev.seq = ev.seq_last = strtoll(seq, &end, 10);
		if (end && *end == '-')
			ev.seq_last = strtoll(end + 1, NULL, 10);
		if (natsMsgHeader_Get(m, "KV-Operation", &op) == NATS_OK && op && !strcmp(op, "PURGE"))
			purge_later(ctx, natsMsg_GetSubject(m), pa->Sequence);
		push(ctx, &ev);
	} else if (pae) {
		/* The row stays in the outbox: it is sent again. */
		snprintf(ev.text, sizeof(ev.text), "publish to %s: %s", natsMsg_GetSubject(m),
			 pae->ErrText ? pae->ErrText : natsStatus_GetText(pae->Err));
		ev.kind = XB_FLEET_EV_ERROR;
		push(ctx, &ev);
	}
	natsMsg_Destroy(m);
}

static void on_disconnected(natsConnection *nc, void *ctx)
{
	struct xb_fleet *f = ctx;

	push_simple(f, XB_FLEET_EV_DOWN, NULL);
}

static void on_reconnected(natsConnection *nc, void *ctx)
{
	struct xb_fleet *f = ctx;

	/* A broker that restarted lost the ephemeral consumers: set up again
	 * (the decisions come again, last value per key: the catch-up). */
	atomic_store(&f->resetup, true);
	pthread_mutex_lock(&f->mu);
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

static void on_async_error(natsConnection *nc, natsSubscription *sub, natsStatus err, void *ctx)
{
	struct xb_fleet *f = ctx;
	char text[128];

	if (err == NATS_MISSED_HEARTBEAT) {
		/* A watch's consumer is gone while the connection stayed (in a
		 * cluster, the node that held it died): set up again. */
		push_simple(f, XB_FLEET_EV_ERROR, "a decisions' watch missed the broker's "
			    "heartbeats: watching again");
		on_reconnected(nc, f);
		return;
	}
	snprintf(text, sizeof(text), "%s", natsStatus_GetText(err));
	push_simple(f, XB_FLEET_EV_ERROR, text);
}

/* ---- set-up (our thread) ------------------------------------------------- */

static const char *js_text(natsStatus s, jsErrCode jerr, char *buf, size_t len)
{
	const char *last = nats_GetLastError(NULL);

	snprintf(buf, len, "%s (%d)%s%s", natsStatus_GetText(s), (int)jerr, last ? ": " : "",
		 last ? last : "");
	return buf;
}

/* The manager makes the stream and the bucket; agents only use them. */
/* The bucket's stream at the configured number of replicas: creating a
 * bucket that exists with other settings fails, and an admin may have made
 * it (or an older xdpban, with one replica). JetStream moves the data. */
static natsStatus bucket_replicas(struct xb_fleet *f, char *err, size_t len)
{
	jsStreamInfo *si = NULL, *up = NULL;
	jsErrCode jerr = 0;
	natsStatus s = js_GetStreamInfo(&si, f->js, KV_STREAM, NULL, &jerr);

	if (s == NATS_OK && si->Config->Replicas != f->replicas) {
		pr_info("fleet: the decisions' bucket goes from %" PRId64 " to %" PRId64 " replicas\n",
			si->Config->Replicas, f->replicas);
		si->Config->Replicas = f->replicas;
		s = js_UpdateStream(&up, f->js, si->Config, NULL, &jerr);
	}
	if (s != NATS_OK)
		js_text(s, jerr, err, len);
	jsStreamInfo_Destroy(up);
	jsStreamInfo_Destroy(si);
	return s;
}

static natsStatus make_streams(struct xb_fleet *f, char *err, size_t len)
{
	static const char *subjects[] = { XB_FLEET_REPORTS ".*" };
	jsStreamConfig sc;
	jsStreamInfo *si = NULL;
	kvConfig kc;
	kvStore *kv = NULL;
	jsErrCode jerr = 0;
	natsStatus s;

	jsStreamConfig_Init(&sc);
	sc.Name = XB_FLEET_STREAM;
	sc.Subjects = subjects;
	sc.SubjectsLen = 1;
	sc.Storage = js_FileStorage;
	sc.MaxAge = REPORTS_AGE_NS;
	sc.Duplicates = DUP_WINDOW_NS;
	sc.Replicas = f->replicas;
	s = js_AddStream(&si, f->js, &sc, NULL, &jerr);
	if (s != NATS_OK && jerr == JSStreamNameExistErr)
		s = js_UpdateStream(&si, f->js, &sc, NULL, &jerr);
	jsStreamInfo_Destroy(si);
	if (s != NATS_OK) {
		js_text(s, jerr, err, len);
		return s;
	}
	kvConfig_Init(&kc);
	kc.Bucket = XB_FLEET_BUCKET;
	kc.History = 1;
	kc.StorageType = js_FileStorage;
	kc.Replicas = (int)f->replicas;
	/* A bucket that exists (with other replicas) fails here: fixed below. */
	(void)js_CreateKeyValue(&kv, f->js, &kc);
	kvStore_Destroy(kv);
	return bucket_replicas(f, err, len);
}

/* The watches go (the broker drops their consumers when idle); the
 * reports' subscription only with all: libnats takes it over a reconnect,
 * and destroying it would leave what it had received unacked for AckWait. */
static void drop_subs(struct xb_fleet *f, bool all)
{
	natsSubscription **subs[] = { &f->own, &f->all, &f->reports };

	for (size_t i = 0; i < (all ? 3 : 2); i++) {
		/* Destroy without Unsubscribe: the durable consumer stays. */
		natsSubscription_Destroy(*subs[i]);
		*subs[i] = NULL;
	}
}

static natsStatus watch(struct xb_fleet *f, const char *target, natsSubscription **sub,
			char *err, size_t len)
{
	char subj[XB_FLEET_KEY_MAX];
	jsSubOptions so;
	jsErrCode jerr = 0;
	natsStatus s;

	char name[64];

	jsSubOptions_Init(&so);
	so.Stream = KV_STREAM;
	/* A named consumer: nats.c then asks CONSUMER.CREATE.STREAM.NAME.FILTER,
	 * which the broker's permissions can limit to this host's keys. A
	 * fresh name at each set-up; the broker forgets the old one when idle. */
	uint32_t rnd = 0;

	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		rnd = (uint32_t)time(NULL) ^ (uint32_t)getpid();
	snprintf(name, sizeof(name), "%s-%s-%08x", f->agent, target, rnd);
	so.Config.Name = name;
	so.Config.AckPolicy = js_AckNone;
	so.Config.InactiveThreshold = 60LL * 1000000000;
	so.Config.DeliverPolicy = js_DeliverLastPerSubject;
	/* An ephemeral consumer lives on one node: heartbeats tell its loss. */
	so.Config.Heartbeat = WATCH_HB_NS;
	snprintf(subj, sizeof(subj), KV_PREFIX "%s.>", target);
	s = js_Subscribe(sub, f->js, subj, on_decision, f, NULL, &so, &jerr);
	if (s != NATS_OK)
		js_text(s, jerr, err, len);
	return s;
}

static natsStatus setup(struct xb_fleet *f, char *err, size_t len)
{
	jsSubOptions so;
	jsErrCode jerr = 0;
	natsStatus s = NATS_OK;

	drop_subs(f, false);
	if (f->manager && (s = make_streams(f, err, len)) != NATS_OK)
		return s;
	if (f->manager && !f->reports) {
		jsSubOptions_Init(&so);
		so.Stream = XB_FLEET_STREAM;
		so.ManualAck = true;
		so.Config.Durable = DURABLE;
		so.Config.AckPolicy = js_AckExplicit;
		so.Config.AckWait = 10LL * 1000000000;  /* a killed manager's reports come again */
		so.Config.MaxAckPending = 4096;
		s = js_Subscribe(&f->reports, f->js, XB_FLEET_REPORTS ".*", on_report, f, NULL, &so,
				 &jerr);
		if (s != NATS_OK) {
			js_text(s, jerr, err, len);
			return s;
		}
	}
	if ((s = watch(f, f->agent, &f->own, err, len)) == NATS_OK)
		s = watch(f, XB_FLEET_ALL, &f->all, err, len);
	return s;
}

static void wait_ms(struct xb_fleet *f, long ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&f->mu);
	if (!atomic_load(&f->stop) && !atomic_load(&f->resetup) && !f->n_purges)
		pthread_cond_timedwait(&f->cv, &f->mu, &ts);
	pthread_mutex_unlock(&f->mu);
}

static natsStatus js_context(struct xb_fleet *f)
{
	jsOptions jo;

	jsOptions_Init(&jo);
	jo.Wait = 3000;
	jo.PublishAsync.AckHandler = on_puback;
	jo.PublishAsync.AckHandlerClosure = f;
	jo.PublishAsync.MaxPending = 65536;
	jo.PublishAsync.StallWait = 5;  /* ms: the daemon's loop never waits long */
	return natsConnection_JetStream(&f->js, f->nc, &jo);
}

/* The purge markers' keys, each up to its marker: the bucket keeps no
 * message of an ended decision. Our thread: these wait for replies. */
static void do_purges(struct xb_fleet *f)
{
	struct purge p;
	jsOptions o;
	jsErrCode jerr;

	for (;;) {
		pthread_mutex_lock(&f->mu);
		if (!f->n_purges) {
			pthread_mutex_unlock(&f->mu);
			return;
		}
		p = f->purges[--f->n_purges];
		pthread_mutex_unlock(&f->mu);
		jsOptions_Init(&o);
		o.Stream.Purge.Subject = p.subject;
		o.Stream.Purge.Sequence = p.seq + 1;    /* up to, not including */
		jerr = 0;
		if (js_PurgeStream(f->js, KV_STREAM, &o, &jerr) != NATS_OK)
			atomic_fetch_add(&f->purge_errors, 1);
	}
}

/* The consumer's backlog. The manager asks for its reports' consumer;
 * an agent may not (its certificate creates consumers, nothing more), so
 * its two watches count what their latest message said was left. */
static void update_backlog(struct xb_fleet *f)
{
	jsConsumerInfo *ci = NULL;
	jsErrCode jerr = 0;

	if (!f->manager) {
		atomic_store(&f->backlog, atomic_load(&f->left_own) + atomic_load(&f->left_all));
		return;
	}
	if (!f->reports || natsSubscription_GetConsumerInfo(&ci, f->reports, NULL, &jerr) != NATS_OK) {
		atomic_store(&f->backlog, -1);
		return;
	}
	atomic_store(&f->backlog, (int64_t)ci->NumPending);
	jsConsumerInfo_Destroy(ci);
}

static void *run(void *arg)
{
	struct xb_fleet *f = arg;
	char err[512], last[512] = "";
	natsStatus s;

	while (!atomic_load(&f->stop)) {
		if (!f->nc) {
			s = natsConnection_Connect(&f->nc, f->opts);
			if (s != NATS_OK) {
				f->nc = NULL;
				snprintf(err, sizeof(err), "cannot connect: %s", natsStatus_GetText(s));
			} else if ((s = js_context(f)) != NATS_OK) {
				snprintf(err, sizeof(err), "JetStream: %s", natsStatus_GetText(s));
				natsConnection_Destroy(f->nc);
				f->nc = NULL;
			}
		} else {
			s = NATS_OK;
		}
		if (s == NATS_OK && (!atomic_load(&f->ready) || atomic_load(&f->resetup))) {
			atomic_store(&f->resetup, false);
			s = setup(f, err, sizeof(err));
			atomic_store(&f->ready, s == NATS_OK);
			if (s == NATS_OK) {
				*last = 0;
				push_simple(f, XB_FLEET_EV_UP, NULL);
			}
		}
		if (s == NATS_OK && atomic_load(&f->ready)) {
			do_purges(f);
			update_backlog(f);
		} else {
			atomic_store(&f->backlog, -1);
		}
		/* One line per new trouble, not one a second. */
		if (s != NATS_OK && strcmp(err, last)) {
			push_simple(f, XB_FLEET_EV_ERROR, err);
			snprintf(last, sizeof(last), "%s", err);
		}
		wait_ms(f, s == NATS_OK ? 2000 : RETRY_MS);
	}
	return NULL;
}

/* ---- the daemon's side ---------------------------------------------------- */

static natsStatus make_opts(struct xb_fleet *f, const struct xb_conf_fleet *c)
{
	natsStatus s = natsOptions_Create(&f->opts);

	if (s == NATS_OK)
		s = natsOptions_SetServers(f->opts, (const char **)c->urls, (int)c->n_urls);
	if (s == NATS_OK)
		s = natsOptions_SetName(f->opts, f->agent);
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(f->opts, -1);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectWait(f->opts, 500);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(f->opts, 2000);
	/* Replies come to this host's own inbox prefix: the broker's
	 * permissions can then keep one agent out of another's replies. */
	if (s == NATS_OK)
		s = natsOptions_SetCustomInboxPrefix(f->opts, f->inbox);
	if (s == NATS_OK)
		s = natsOptions_SetDisconnectedCB(f->opts, on_disconnected, f);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectedCB(f->opts, on_reconnected, f);
	if (s == NATS_OK)
		s = natsOptions_SetErrorHandler(f->opts, on_async_error, f);
	if (s == NATS_OK && c->ca) {
		s = natsOptions_SetSecure(f->opts, true);
		if (s == NATS_OK)
			s = natsOptions_LoadCATrustedCertificates(f->opts, c->ca);
		if (s == NATS_OK)
			s = natsOptions_LoadCertificatesChain(f->opts, c->cert, c->key);
	}
	return s;
}

int xb_fleet_new(const struct xb_conf_fleet *c, struct xb_fleet **out)
{
	struct xb_fleet *f = calloc(1, sizeof(*f));
	natsStatus s;

	if (!f)
		return -ENOMEM;
	snprintf(f->agent, sizeof(f->agent), "%s", c->agent_id);
	snprintf(f->inbox, sizeof(f->inbox), "_INBOX_%s", c->agent_id);
	f->manager = c->manager;
	f->replicas = c->replicas ? (int64_t)c->replicas : 1;
	atomic_store(&f->backlog, -1);
	f->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	if (f->efd < 0) {
		xb_fleet_free(f);
		return -errno;
	}
	s = make_opts(f, c);
	if (s != NATS_OK) {
		pr_warn("fleet: %s: %s\n", natsStatus_GetText(s), nats_GetLastError(NULL));
		xb_fleet_free(f);
		return -EINVAL;
	}
	if (pthread_create(&f->thr, NULL, run, f)) {
		xb_fleet_free(f);
		return -EAGAIN;
	}
	f->thr_started = true;
	*out = f;
	return 0;
}

void xb_fleet_free(struct xb_fleet *f)
{
	struct xb_fleet_ev ev;

	if (!f)
		return;
	atomic_store(&f->stop, true);
	if (f->thr_started) {
		pthread_mutex_lock(&f->mu);
		pthread_cond_signal(&f->cv);
		pthread_mutex_unlock(&f->mu);
		pthread_join(f->thr, NULL);
	}
	/* No waiting for acks: what was not acked is still in the outbox. */
	drop_subs(f, true);
	if (f->nc)
		natsConnection_Close(f->nc);
	while (xb_fleet_next(f, &ev))
		xb_fleet_ev_done(&ev);
	jsCtx_Destroy(f->js);
	natsConnection_Destroy(f->nc);
	natsOptions_Destroy(f->opts);
	if (f->efd >= 0)
		close(f->efd);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
	free(f->purges);
	free(f);
}

bool xb_fleet_connected(const struct xb_fleet *f)
{
	/* ready first: our thread sets it once nc and js are set up, and
	 * never destroys them afterwards (until xb_fleet_free joins it). */
	return atomic_load(&((struct xb_fleet *)f)->ready) && f->nc && f->js &&
	       natsConnection_Status(f->nc) == NATS_CONN_STATUS_CONNECTED;
}

void xb_fleet_ack(struct xb_fleet *f, struct xb_fleet_ev *ev, bool done)
{
	if (!ev->msg)
		return;
	if (done)
		natsMsg_Ack(ev->msg, NULL);
	else
		natsMsg_NakWithDelay(ev->msg, 1000, NULL);
}

int xb_fleet_send(struct xb_fleet *f, const struct xb_fleet_out *o, size_t n)
{
	char seq[48], pack_id[sizeof(o->id) + 16], *data = NULL;
	jsPubOptions po;
	natsMsg *m = NULL;
	natsStatus s;

	if (!xb_fleet_connected(f))
		return -ENOTCONN;
	if (n > 1) {
		/* A pack: the rows' bodies, one a line, in one message. */
		size_t len = 0;

		for (size_t i = 0; i < n; i++)
			len += strlen(o[i].data) + 1;
		if (!(data = malloc(len)))
			return -ENOMEM;
		len = 0;
		for (size_t i = 0; i < n; i++) {
			size_t l = strlen(o[i].data);

			memcpy(data + len, o[i].data, l);
			len += l;
			data[len++] = '\n';
		}
		s = natsMsg_Create(&m, o->subject, NULL, data, (int)len - 1);
		free(data);
		snprintf(seq, sizeof(seq), "%" PRId64 "-%" PRId64, o->seq, o[n - 1].seq);
		/* The same pack sent again keeps its id (the broker's dedup); one
		 * made up anew does not, and the manager knows each report (seen). */
		snprintf(pack_id, sizeof(pack_id), "%.*s+%u", (int)sizeof(o->id) - 1, o->id,
			 (unsigned)n);
	} else {
		s = natsMsg_Create(&m, o->subject, NULL, o->op != XB_FLEET_PUT ? NULL : o->data,
				   o->op != XB_FLEET_PUT ? 0 : (int)strlen(o->data));
		snprintf(seq, sizeof(seq), "%" PRId64, o->seq);
	}
	if (s == NATS_OK)
		s = natsMsgHeader_Set(m, OUTBOX_HDR, seq);
	if (s == NATS_OK && o->op == XB_FLEET_DEL)
		s = natsMsgHeader_Set(m, "KV-Operation", "DEL");
	/* As kvStore_Purge: the marker rolls up what the key held. */
	if (s == NATS_OK && o->op == XB_FLEET_PURGE &&
	    (s = natsMsgHeader_Set(m, "KV-Operation", "PURGE")) == NATS_OK)
		s = natsMsgHeader_Set(m, "Nats-Rollup", "sub");
	jsPubOptions_Init(&po);
	po.MsgId = n > 1 ? pack_id : o->id;
	if (s == NATS_OK)
		s = js_PublishMsgAsync(f->js, &m, &po);
	natsMsg_Destroy(m);     /* NULL once the library owns it */
	return s == NATS_OK ? 0 : -EIO;
}

int64_t xb_fleet_backlog(const struct xb_fleet *f)
{
	return atomic_load(&((struct xb_fleet *)f)->backlog);
}

uint64_t xb_fleet_purge_errors(const struct xb_fleet *f)
{
	return atomic_load(&((struct xb_fleet *)f)->purge_errors);
}

size_t xb_fleet_broker_addrs(const struct xb_conf_fleet *c, struct xb_addr *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n_urls && n < max; i++) {
		const char *h = strstr(c->urls[i], "://");
		char host[XB_ADDRSTRLEN];
		const char *end;

		if (!h)
			continue;
		h += 3;
		if (*h == '[') {
			end = strchr(++h, ']');
		} else {
			end = strrchr(h, ':');
			if (!end)
				end = h + strlen(h);
		}
		if (!end || (size_t)(end - h) >= sizeof(host))
			continue;
		snprintf(host, sizeof(host), "%.*s", (int)(end - h), h);
		if (!xb_addr_parse_host(host, strlen(host), &out[n]))
			n++;
	}
	return n;
}
