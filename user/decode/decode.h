/* SPDX-License-Identifier: GPL-2.0 */
/*
 * decode: the second stage. A raw line (struct xb_line) becomes an event
 * (struct xb_event): syslog header -> timestamp, host, program, pid, message;
 * sshd message -> kind, source address, port, user.
 *
 * Headers: RFC 3164 ("Nov 28 07:01:08 host sshd[123]: msg", optional <PRI>,
 * optional fractional seconds as journalctl -o short-precise writes),
 * RFC 5424 ("<34>1 2020-03-23T09:55:42.391Z host sshd 123 - - msg"),
 * ISO 8601 high precision (rsyslog, journalctl -o short-iso[-precise]:
 * "2020-03-23T09:55:42.391078-07:00 host sshd[123]: msg"), and a bare
 * message (journald's MESSAGE field, xb_line.bare).
 *
 * Security: user names, banners and host names are attacker text. The
 * address is taken only from the position sshd itself writes it, parsed from
 * the fixed end of each message form (never "the first/last from X"), and only
 * numeric addresses are accepted (host names are never resolved).
 * Nothing here allocates; an event's pointers point into the line. One
 * thread only (a small time-zone cache for year-less timestamps).
 */
#ifndef XB_DECODE_H
#define XB_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "common/records.h"

enum xb_decode_res {
	XB_DEC_OTHER = 0,       /* a valid line from another program: not ours */
	XB_DEC_SSHD = 1,        /* from sshd/sshd-session: ev->decoder = "sshd";
	                         * ev->kind may still be XB_EV_NONE (noise) */
	XB_DEC_MALFORMED = 2,   /* no syslog header could be parsed: count it */
};

/*
 * Decode one line. in->bare: the text is the message alone; the program is
 * in->program (trusted, from journald) or, when NULL, assumed to be sshd (the
 * caller vouches for the stream, e.g. logtest on journalctl -o cat output).
 * in->ts_usec, when non-zero, wins over the header's time.
 * ev is fully overwritten. Never fails otherwise.
 */
enum xb_decode_res xb_decode_line(const struct xb_line *in, struct xb_event *ev);

/*
 * As xb_decode_line(), and a line without a syslog header is then tried as
 * a bare sshd message (what `sshd -e`/`-E` and `journalctl -o cat` write); it
 * counts as sshd only when it is a recognised sshd message, else it stays
 * XB_DEC_MALFORMED. For input the operator vouches for (stdin, logtest).
 * *bare (may be NULL) tells whether the fallback was used.
 */
enum xb_decode_res xb_decode_line_any(const struct xb_line *in, struct xb_event *ev, bool *bare);

/*
 * The header half: fills ts_usec (0 if the header has no usable time),
 * hostname, program, pid, msg/msg_len. Returns 0 or -EINVAL when s does not
 * start with a known header. A 3164 time has no year: the current one is
 * used, or the previous one when that would put the line > 1 day ahead.
 */
int xb_decode_syslog(const char *s, size_t len, struct xb_event *ev);

/*
 * The sshd half: classifies ev->msg (msg_len) and fills kind, has_src/src,
 * port, user/user_set, invalid_user. Leaves the header fields alone.
 * Returns the kind (XB_EV_NONE when not recognised).
 */
enum xb_ev_kind xb_decode_sshd(struct xb_event *ev);

/* True for the program names sshd logs under: sshd, sshd-session
 * (OpenSSH >= 9.8), sshd-auth (>= 10.0). */
bool xb_decode_is_sshd_program(const char *prog, size_t len);

/* "auth_fail", "invalid_user", ... for output; "none" for XB_EV_NONE. */
const char *xb_ev_kind_name(enum xb_ev_kind kind);

#endif
