/* SPDX-License-Identifier: GPL-2.0 */
/*
 * detect: the line -> alert half of the pipeline (decode, then the rules
 * with their correlator), with its counters. The daemon and `xdpban logtest`
 * both go through it, so that logtest judges a line as the daemon does.
 * One detect object is used from one thread.
 */
#ifndef XB_DETECT_H
#define XB_DETECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/records.h"
#include "decode/decode.h"
#include "pipeline/session.h"

struct xb_detect;

struct xb_detect_conf {
	const char *rules_dir;          /* NULL: xb_rules_dir_default() */
	const char *local_rules;        /* NULL: none */
	uint32_t max_sources;           /* correlation entries, 0: 16384 */
	uint32_t max_sessions;          /* sshd sessions remembered, 0: 4096 */
	uint32_t session_timeout;       /* seconds of quiet that end one, 0: 600 */
};

/* Which half of xb_detect_new() failed. */
enum xb_detect_part {
	XB_DETECT_RULES = 1,            /* err: the rules' "FILE:LINE: reason" (may be empty) */
	XB_DETECT_CORR,                 /* err: "correlation state: <strerror>" (or sessions) */
};

/* Load the rules and make their correlator. 0, or the negative errno of the
 * half *failed (may be NULL) names, with err saying why. */
int xb_detect_new(const struct xb_detect_conf *c, struct xb_detect **out,
		  enum xb_detect_part *failed, char *err, size_t len);
void xb_detect_free(struct xb_detect *d);
/* Reload: next takes over the counters of *cur, which is freed. */
void xb_detect_swap(struct xb_detect **cur, struct xb_detect *next);
size_t xb_detect_rule_count(const struct xb_detect *d);

struct xb_detect_counts {
	uint64_t lines;
	uint64_t sshd, other, malformed;        /* what decode made of them */
	uint64_t bare;          /* headerless lines tried as bare sshd messages */
	uint64_t alerts;        /* a rule of level > 0 matched (noalert ones too) */
	uint64_t raised;        /* of those, not noalert: the alerts to act on */
};

const struct xb_detect_counts *xb_detect_counts(const struct xb_detect *d);

/* Flags of xb_detect_line(). */
#define XB_DETECT_ANY   0x1     /* headerless lines may be bare sshd messages
				 * (input the operator vouches for: stdin, logtest) */
#define XB_DETECT_OTHER 0x2     /* other programs' lines go through the rules
				 * too (logtest shows what they match) */

/* A held line that its session released (it ended without a login),
 * matched and counted now, with its own time. */
struct xb_detect_rel {
	struct xb_held_line line;       /* ev points into it */
	struct xb_event ev;
	struct xb_alert al;
	bool matched, raised;
};

struct xb_detect_out {
	enum xb_decode_res res;
	bool matched;           /* al holds the deepest rule that matched */
	bool raised;            /* matched, level > 0 and not noalert */
	struct xb_event ev;     /* what decode made of the line */
	struct xb_alert al;     /* al.ev points to ev */
	size_t n_rel;           /* released lines, after this one */
	struct xb_detect_rel rel[XB_SESS_RELEASED];
};

/* One line: decoded (syslog header, journald fields; with XB_DETECT_ANY also
 * bare messages), given its sshd session (session.h), sshd's lines (with
 * XB_DETECT_OTHER every decodable one) matched against the rules, and
 * counted; then the lines an ended session released (out->rel). A raised
 * released line is an alert like any other. */
void xb_detect_line(struct xb_detect *d, const struct xb_line *line, unsigned flags,
		    struct xb_detect_out *out);

#endif
