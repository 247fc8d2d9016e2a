/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The records that flow down the pipeline:
 *   source -> struct xb_line -> decode -> struct xb_event -> rules -> struct xb_alert
 *          -> policy -> struct xb_decision -> dataplane (the maps) and the state
 * Every stage includes this header, never another stage's.
 */
#ifndef XB_EVENT_H
#define XB_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"

/* Where lines come from: a config's <source type=...> and a source's kind. */
enum xb_source_kind {
	XB_SRC_JOURNAL = 1,     /* sd-journal, sshd's entries only ("journald") */
	XB_SRC_FILE,            /* a file followed with inotify (auth.log) */
	XB_SRC_FD,              /* stdin or a pipe, until EOF ("stdin") */
	XB_SRC_REPLAY,          /* an old file read once, plain or gzip */
};

/* One raw log line as a source hands it out. */
struct xb_line {
	const char *text;       /* not NUL-terminated necessarily */
	size_t len;
	int64_t ts_usec;        /* wall clock from the source (journald); 0 = take it from the line */
	const char *program;    /* trusted program name (journald _COMM), NULL if unknown */
	int pid;                /* trusted pid (journald _PID), 0 if unknown */
	bool bare;              /* text is a bare message, no syslog header (journald MESSAGE) */
};

enum xb_ev_kind {
	XB_EV_NONE = 0,         /* decoded, but nothing sshd-specific recognised */
	XB_EV_AUTH_FAIL,        /* Failed <method> for U from A */
	XB_EV_INVALID_USER,     /* Invalid user U from A */
	XB_EV_NOT_ALLOWED,      /* User U from A not allowed because ... */
	XB_EV_MAX_AUTH,         /* maximum authentication attempts exceeded */
	XB_EV_TOO_MANY_FAIL,    /* Disconnecting ...: Too many authentication failures */
	XB_EV_CLOSED_PREAUTH,   /* Connection closed by authenticating|invalid user */
	XB_EV_DISCONN_PREAUTH,  /* Disconnected from authenticating|invalid user */
	XB_EV_NO_IDENT,         /* Did not receive identification string */
	XB_EV_BAD_PROTO,        /* Bad protocol version identification / banner exchange / kex_exchange_identification */
	XB_EV_NEGOTIATE,        /* Unable to negotiate */
	XB_EV_TIMEOUT,          /* fatal: Timeout before authentication */
	XB_EV_PAM_FAIL,         /* error: PAM: Authentication failure / pam_unix authentication failure */
	XB_EV_ROOT_REFUSED,     /* ROOT LOGIN REFUSED FROM A */
	XB_EV_REVERSE_MAP,      /* reverse mapping checking ... POSSIBLE BREAK-IN ATTEMPT */
	XB_EV_ACCEPTED,         /* Accepted <method> for U from A (success) */
	XB_EV_RECV_DISCONN,     /* Received disconnect from A port P:N: REASON */
	XB_EV_CONN_FROM,        /* Connection from A port P on L port Q (LogLevel VERBOSE) */
	XB_EV_KIND_MAX
};

/* A decoded line. Pointers point into the line or into this struct. */
struct xb_event {
	enum xb_ev_kind kind;
	int64_t ts_usec;        /* wall clock, from the source or the header */
	char program[32];       /* "sshd", "sshd-session", ... */
	int pid;
	char hostname[64];
	const char *msg;        /* the message after the header: what rules match */
	size_t msg_len;
	bool has_src;
	struct xb_addr src;     /* a single address, IPv4-mapped folded to IPv4 */
	uint16_t port;          /* 0 if absent */
	char user[64];          /* attacker text: shown, never parsed for addresses */
	bool invalid_user;      /* "invalid user"/"illegal user" variant */
	/* Added by det (additive): */
	const char *decoder;    /* "sshd" when decoded as sshd (rules' <decoded_as>), else NULL */
	bool user_set;          /* user[] holds a name (it may be empty text) */
	bool nocount;           /* rules match it, it counts for no correlation rule
	                         * (a Failed publickey its session may still accept) */
	bool src_from_session;  /* src came from an earlier line of this sshd session */
};

/* What the rules stage emits for a line that matched a rule. */
struct xb_alert {
	uint32_t rule;          /* rule id, e.g. 5712 */
	uint8_t level;
	const char *description;
	const char *groups;     /* comma-separated, e.g. "syslog,sshd,authentication_failures," */
	const struct xb_event *ev;  /* the line that triggered it (srcip, user, ts) */
	/* Added by det (additive): */
	bool noalert;           /* rule has noalert="1": level is reported as 0 */
	uint32_t frequency;     /* >0: a correlation rule fired (count reached) */
	bool same_source_ip;    /* it counted this source's lines only */
};

/* What the policy stage decides for an alert: ban addr until expires. */
struct xb_ar;                           /* an <active-response> binding (config.h) */
struct xb_decision {
	struct xb_addr addr;            /* what to ban: the offender or its prefix */
	struct xb_addr offender;        /* the address in the alert */
	const struct xb_ar *ar;         /* the binding (points into the config) */
	uint32_t rule;
	uint32_t offence;               /* 1 = first */
	uint64_t ttl;                   /* seconds, XB_TIMEOUT_PERMANENT (config.h) */
	int64_t expires;                /* wall seconds, 0 = permanent */
	bool rearm;                     /* it was still banned: re-armed from now */
	bool aggregate;                 /* an IPv6 prefix standing in for its addresses */
};

/* A response in force, as the responder keeps it and the state stores it
 * until its lift ("delete") has run. */
struct xb_resp_row {
	char key[192];          /* command name "-" the key: execd's */
	char cmd[32];           /* the <command> name */
	int kind;               /* enum xb_cmd_kind (config.h) */
	char exe[256];          /* the program a script's delete runs */
	char target[128];       /* what was acted on: the address or the user */
	char *msg;              /* a script's "add" message (JSON), else "" */
	int64_t created;        /* wall s */
	int64_t expires;        /* wall s, 0 = never lifted */
};

#endif
