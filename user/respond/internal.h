/* SPDX-License-Identifier: GPL-2.0 */
/* respond internals: the executor's state and the backends (respond.h). */
#ifndef XB_RESPOND_INT_H
#define XB_RESPOND_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "respond/respond.h"

struct json_object;

/* A built-in response. apply and lift return 0, a negative errno, or
 * -ECANCELED when it refuses (a protected account): logged, counted. */
struct xb_backend {
	const char *name;
	int (*apply)(struct xb_resp *r, const struct xb_resp_row *row);
	int (*lift)(struct xb_resp *r, const struct xb_resp_row *row);
	/* At start, for a row still in force: undo what a reboot undid. */
	int (*resync)(struct xb_resp *r, const struct xb_resp_row *row);
};

extern const struct xb_backend xb_route_null, xb_host_deny, xb_disable_account;

/* A script process and its pipes. */
struct child {
	pid_t pid;
	int pidfd, in, out, err;        /* -1 when closed */
	bool is_delete, answered;
	uint64_t deadline_ns;           /* monotonic */
	struct xb_resp_row row;         /* row.msg: the add message, owned */
	char outb[XB_RESP_OUT_MAX + 1], errb[XB_RESP_ERR_MAX + 1];
	size_t outn, errn;
	bool out_cut, err_cut;
};

struct webhook;

struct xb_resp {
	struct xb_resp_opts o;
	char node[64];                  /* this host's name: the messages' origin */
	char self[4096];                /* our own binary: never run as a script */
	int epfd;
	struct child *kids[XB_RESP_MAX_RUNNING];
	struct xb_resp_row *act;        /* responses in force */
	size_t n_act, cap_act;
	struct webhook *wh;
	struct xb_resp_stats n;
};

/* respond.c */
struct xb_resp_row *resp_find(struct xb_resp *r, const char *key);
int resp_keep(struct xb_resp *r, const struct xb_resp_row *row);
void resp_drop(struct xb_resp *r, const char *key);
void resp_log_rearm(const struct xb_resp_row *e);

/* script.c */
int script_resolve(const struct xb_resp *r, const char *exe, char *path, size_t len);
int script_start(struct xb_resp *r, const struct xb_resp_row *row, bool is_delete);
void script_on_event(struct xb_resp *r, uint64_t tag);
void script_check_deadlines(struct xb_resp *r, uint64_t now_ns);
void script_kill_all(struct xb_resp *r);

/* message.c: the add message of q ("command":"add"); a string to free. */
char *msg_add(const struct xb_resp *r, const struct xb_resp_req *q, const char *program);
/* The same message with its command changed ("delete"); NULL on failure. */
char *msg_with_command(const char *msg, const char *command);
/* A script's check_keys line: its keys joined by '-' in keys. 0, or -EINVAL
 * when line is no check_keys message. */
int msg_check_keys(const char *line, char *keys, size_t len);
/* execd's reply: {"version":1,"origin":...,"command":"continue"|"abort",...} */
char *msg_reply(const struct xb_resp *r, bool go_on);
/* The Slack-compatible body about q. */
char *msg_slack(const struct xb_resp *r, const struct xb_resp_req *q);

/* webhook.c */
int webhook_new(struct webhook **out);
void webhook_free(struct webhook *w);
/* Queue a POST of body (taken over) to url; -ENOSPC when the queue is full. */
int webhook_post(struct webhook *w, const char *url, char *body);
void webhook_counts(struct webhook *w, uint64_t *posted, uint64_t *failed);

/* Text safe for one log line: control bytes become '?', at most len-1 bytes. */
void resp_clean(const char *in, size_t n, char *out, size_t len);

#endif
