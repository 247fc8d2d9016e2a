/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fleet: Wazuh's locations across hosts, over NATS JetStream (nats.c).
 *
 *   agent (every host)                 broker                  manager
 *   alert -> report ----------> stream XDPBAN_REPORTS  ----> durable consumer
 *            (outbox on disk,    xdpban.report.<id>           history, grace
 *             Nats-Msg-Id)                                    (fleet.db), then
 *   held <- watch <id>.>, all.> <---- KV xdpban-decisions <-- ack after commit
 *   decisions  (ordered consumers, last value per key)
 *
 * A decision carries its wall-clock end: a host enforces what remains of
 * it, never an expired one, and a replay changes nothing. Keys are
 * TARGET.ADDR.COMMAND, TARGET an agent id or "all".
 *
 *   msg.c     reports and decisions as JSON; keys
 *   table.c   the decisions a host holds: what to apply, extend or lift
 *   hist.c    the manager's offence step with the grace rule
 *   store.c   fleet.db in the state dir: outbox, history, reports seen, held
 *   client.c  the broker: libnats' threads hand events to the daemon's
 *             thread through an eventfd; nothing here blocks that thread
 *
 * Only the daemon's thread calls these functions, except where said.
 */
#ifndef XB_FLEET_H
#define XB_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/config.h"

#define XB_FLEET_STREAM   "XDPBAN_REPORTS"
#define XB_FLEET_REPORTS  "xdpban.report"          /* .<agent id> */
#define XB_FLEET_BUCKET   "xdpban-decisions"
#define XB_FLEET_ALL      "all"                    /* the target of location all */
#define XB_FLEET_KEY_MAX  160
#define XB_FLEET_CMD_MAX  32
#define XB_FLEET_MSG_MAX  2048

enum xb_fleet_kind {
	XB_FLEET_ALERT = 1,     /* an alert to decide on (or, location local, to know of) */
	XB_FLEET_HELLO,         /* a host says which addresses are its own */
};

#define XB_FLEET_HELLO_ADDRS 16

struct xb_fleet_report {
	enum xb_fleet_kind kind;
	char id[XB_AGENT_ID_MAX + 24];          /* AGENT-SEQ: the Nats-Msg-Id */
	char agent[XB_AGENT_ID_MAX + 1];
	int64_t ts;                             /* wall s of the alert */
	/* alert */
	struct xb_addr addr;
	char cmd[XB_FLEET_CMD_MAX];
	uint32_t rule;
	unsigned level;
	char groups[256];
	/* hello */
	struct xb_addr own[XB_FLEET_HELLO_ADDRS];
	unsigned n_own;
};

struct xb_fleet_decision {
	char target[XB_AGENT_ID_MAX + 1];       /* an agent id or "all" */
	struct xb_addr addr;
	char cmd[XB_FLEET_CMD_MAX];
	uint32_t rule, offence;
	int64_t issued;                         /* wall s */
	int64_t end;                            /* wall s, 0 = never ends */
	char by[XB_AGENT_ID_MAX + 8];           /* the reporting agent, or "manual" */
};

/* msg.c: encode into buf (NUL-terminated); the length, or -ENOSPC. */
int xb_fleet_report_encode(const struct xb_fleet_report *r, char *buf, size_t len);
/* Decode and validate (agent id, address, sizes): 0 or -EINVAL. */
int xb_fleet_report_decode(const char *buf, size_t len, struct xb_fleet_report *r);
int xb_fleet_decision_encode(const struct xb_fleet_decision *d, char *buf, size_t len);
int xb_fleet_decision_decode(const char *buf, size_t len, struct xb_fleet_decision *d);
/* A message is one report, or a pack of them one a line (the agent's
 * report_pack): the line at *off into *line and *n, *off moved past it;
 * false at the end. */
bool xb_fleet_pack_next(const char *buf, size_t len, size_t *off, const char **line, size_t *n);
/* TARGET.ADDR.CMD, the address's '.', ':' and '/' made KV-safe; -EINVAL
 * for a bad target or command. */
int xb_fleet_key(const char *target, const struct xb_addr *a, const char *cmd,
		 char *buf, size_t len);

/* table.c: the decisions a host holds, by key. */
struct xb_fleet_held {
	char key[XB_FLEET_KEY_MAX];
	struct xb_fleet_decision d;
};

struct xb_fleet_table {
	struct xb_fleet_held *h;
	size_t n, cap;
	/* Open-addressing indexes into h (slot value i + 1, 0 empty), by key
	 * and by (addr, cmd): a host holds tens of thousands of decisions and
	 * each new one looks up both. Rebuilt when h shrinks (stale). */
	uint32_t *by_key, *by_target;
	size_t slots;           /* a power of two, at least twice n */
	bool stale;
};

enum xb_fleet_act {
	XB_FLEET_NONE = 0,      /* nothing changes here */
	XB_FLEET_APPLY,         /* ban (addr, cmd) until *end (0: never ends) */
	XB_FLEET_LIFT,          /* no decision holds (addr, cmd) any more */
};

/* A decision under key, at wall now. An expired one is never applied; a
 * replay is NONE; a later one may extend a ban, never shorten it. */
enum xb_fleet_act xb_fleet_table_put(struct xb_fleet_table *t, const char *key,
				     const struct xb_fleet_decision *d, int64_t now,
				     int64_t *end);
/* The key was deleted (a lift): LIFT when nothing else holds its (addr,
 * cmd), APPLY with the longest that remains when that ends earlier, else
 * NONE; *out gets the decision the key held. -ENOENT: not held. */
int xb_fleet_table_del(struct xb_fleet_table *t, const char *key, int64_t now,
		       struct xb_fleet_decision *out, int64_t *end, enum xb_fleet_act *act);
/* Forget what ended by now (the kernel already lifted it). */
size_t xb_fleet_table_expire(struct xb_fleet_table *t, int64_t now);
/* Hold h as it is (a restart reading back what it held). */
int xb_fleet_table_add(struct xb_fleet_table *t, const struct xb_fleet_held *h);
const struct xb_fleet_held *xb_fleet_table_get(const struct xb_fleet_table *t, const char *key);
void xb_fleet_table_free(struct xb_fleet_table *t);

/* hist.c: the manager's history of one (address, command). */
#define XB_FLEET_FOREVER INT64_MAX
struct xb_fleet_hist {
	uint32_t count;
	int64_t first, last;    /* wall s of the first and the latest counted offence */
	int64_t until;          /* end of the latest ban, XB_FLEET_FOREVER: never */
};

/* A report of an offence seen at ts reaches the manager at now. true: a
 * new offence (count + 1); false: within grace of the latest counted one,
 * the same attack seen by another host (or again), counted once. A
 * history quiet for memory s after its ban ended starts afresh. */
bool xb_fleet_hist_step(struct xb_fleet_hist *h, int64_t ts, int64_t now, uint64_t grace,
			uint64_t memory);

/* store.c: fleet.db in the state directory. */
struct xb_fleet_store;
int xb_fleet_store_open(const char *dir, struct xb_fleet_store **out);
void xb_fleet_store_close(struct xb_fleet_store *s);
/* Transactions nest: the outermost commit is the one that counts. */
int xb_fleet_store_begin(struct xb_fleet_store *s);
int xb_fleet_store_commit(struct xb_fleet_store *s);
void xb_fleet_store_rollback(struct xb_fleet_store *s);

/* The outbox: what waits for the broker's ack. id is the Nats-Msg-Id. */
enum xb_fleet_op {
	XB_FLEET_PUT = 0,       /* a report or a decision */
	XB_FLEET_DEL,           /* a KV delete marker (a lift), no body */
	XB_FLEET_PURGE,         /* a KV purge marker (an end), no body; once the
				 * broker has it, the key's messages go (client.c) */
};
struct xb_fleet_out {
	int64_t seq;
	char id[XB_AGENT_ID_MAX + 24];
	char subject[XB_FLEET_KEY_MAX + 32];
	enum xb_fleet_op op;
	char data[XB_FLEET_MSG_MAX];
};
/* Add; -ENOSPC when max rows wait already. *seq gets the row's number. */
int xb_fleet_outbox_add(struct xb_fleet_store *s, const char *subject, const char *id,
			enum xb_fleet_op op, const char *data, size_t max, int64_t *seq);
int xb_fleet_outbox_del(struct xb_fleet_store *s, int64_t seq);
/* Rows first..last (a pack acked at once): how many went, or -errno. */
int xb_fleet_outbox_del_range(struct xb_fleet_store *s, int64_t first, int64_t last);
/* Up to max rows after seq `after`, oldest first: 0..max, or -errno. */
int xb_fleet_outbox_next(struct xb_fleet_store *s, int64_t after, struct xb_fleet_out *out,
			 int max);
int64_t xb_fleet_outbox_depth(struct xb_fleet_store *s);
/* Wall s the oldest row was queued, 0 when none waits: the broker's lag. */
int64_t xb_fleet_outbox_oldest(struct xb_fleet_store *s);
/* The next report sequence of this host (kept across restarts). */
int xb_fleet_next_seq(struct xb_fleet_store *s, int64_t *seq);

/* Manager: reports already decided on (redeliveries change nothing). */
/* Mark id seen at now; *seen: it was already (the caller's transaction
 * undoes the mark if the report fails). */
int xb_fleet_seen_mark(struct xb_fleet_store *s, const char *id, int64_t now, bool *seen);
/* Forget report ids older than the stream keeps them (a week). */
int xb_fleet_seen_prune(struct xb_fleet_store *s, int64_t now);
int xb_fleet_hist_get(struct xb_fleet_store *s, const struct xb_addr *a, const char *cmd,
		      struct xb_fleet_hist *h);          /* -ENOENT: none */
int xb_fleet_hist_put(struct xb_fleet_store *s, const struct xb_addr *a, const char *cmd,
		      const struct xb_fleet_hist *h);
/* Manager: agents seen, their last report and their own addresses. */
int xb_fleet_agent_seen(struct xb_fleet_store *s, const char *agent, int64_t now,
			const struct xb_addr *own, unsigned n_own);
/* One more report from agent: counted in memory, written with the
 * outermost commit (at once outside a transaction). */
int xb_fleet_agent_count(struct xb_fleet_store *s, const char *agent, int64_t now);
typedef int (*xb_fleet_agent_fn)(const char *agent, int64_t last, uint64_t reports,
				 const char *own, void *ctx);
int xb_fleet_agent_foreach(struct xb_fleet_store *s, xb_fleet_agent_fn fn, void *ctx);
/* Is a one of the fleet hosts' own addresses? */
int xb_fleet_agent_owns(struct xb_fleet_store *s, const struct xb_addr *a, char *who,
			size_t len);
/* Manager: the keys it wrote and when their decisions end (0: never), so
 * that an ended decision's key leaves the bucket. */
int xb_fleet_issued_put(struct xb_fleet_store *s, const char *key, int64_t ends);
/* unending: only if its decision never ends (a lift of it: the delete
 * marker stays, for hosts away meanwhile; a lift of one that ends keeps
 * the row, the key goes at the end). */
int xb_fleet_issued_del(struct xb_fleet_store *s, const char *key, bool unending);
/* Up to max keys (XB_FLEET_KEY_MAX each) whose decisions ended by now. */
int xb_fleet_issued_ended(struct xb_fleet_store *s, int64_t now, char (*keys)[XB_FLEET_KEY_MAX],
			  int max);
/* Every host: the decisions it holds, so a restart knows what it applied. */
int xb_fleet_held_put(struct xb_fleet_store *s, const struct xb_fleet_held *h);
int xb_fleet_held_del(struct xb_fleet_store *s, const char *key);
int xb_fleet_held_load(struct xb_fleet_store *s, struct xb_fleet_table *t);
/* Forget the rows of decisions that ended by now. */
int xb_fleet_held_expire(struct xb_fleet_store *s, int64_t now);

/* client.c: the connection. Events reach the daemon's thread. */
enum xb_fleet_ev_kind {
	XB_FLEET_EV_UP = 1,     /* connected and set up (again): send what waits */
	XB_FLEET_EV_DOWN,       /* the broker went away */
	XB_FLEET_EV_REPORT,     /* manager: a report; call xb_fleet_ack after the commit */
	XB_FLEET_EV_DECISION,   /* a decision for this host: put or delete */
	XB_FLEET_EV_ACKED,      /* the broker stored outbox row seq */
	XB_FLEET_EV_ERROR,      /* text says what went wrong */
};

struct xb_fleet_ev {
	enum xb_fleet_ev_kind kind;
	int64_t seq, seq_last;          /* ACKED: outbox rows seq..seq_last */
	bool del;                       /* DECISION: a delete or purge marker */
	char key[XB_FLEET_KEY_MAX];     /* DECISION */
	char text[256];                 /* ERROR */
	char *data;                     /* REPORT, DECISION: the body (NUL-terminated) */
	size_t len;
	void *msg;                      /* REPORT: for xb_fleet_ack */
};

struct xb_fleet;
int xb_fleet_new(const struct xb_conf_fleet *c, struct xb_fleet **out);
void xb_fleet_free(struct xb_fleet *f);
/* Readable when events wait. */
int xb_fleet_fd(const struct xb_fleet *f);
/* The next event (false: none); release it with xb_fleet_ev_done. */
bool xb_fleet_next(struct xb_fleet *f, struct xb_fleet_ev *ev);
void xb_fleet_ev_done(struct xb_fleet_ev *ev);
/* Acknowledge (done true) or ask again later (false) for a REPORT event. */
void xb_fleet_ack(struct xb_fleet *f, struct xb_fleet_ev *ev, bool done);
/* Publish outbox rows asynchronously, n > 1 reports (PUT rows of one
 * subject, consecutive) as one message, their bodies a line each; one
 * ACKED event for all follows. -ENOTCONN while the broker is away. */
int xb_fleet_send(struct xb_fleet *f, const struct xb_fleet_out *o, size_t n);
bool xb_fleet_connected(const struct xb_fleet *f);
/* The broker's backlog for this host, in messages, as its consumer info
 * said at most a few seconds ago: the manager's reports not yet
 * delivered; an agent's decisions not yet delivered. -1: not known. */
int64_t xb_fleet_backlog(const struct xb_fleet *f);
/* Key purges the broker refused or could not be asked (their purge
 * markers stay: one small message each). */
uint64_t xb_fleet_purge_errors(const struct xb_fleet *f);
/* The broker's addresses (numeric URLs), never to be banned. */
size_t xb_fleet_broker_addrs(const struct xb_conf_fleet *c, struct xb_addr *out, size_t max);

#endif
