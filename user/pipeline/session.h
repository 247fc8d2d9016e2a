/* SPDX-License-Identifier: GPL-2.0 */
/*
 * session: sshd's connections, known by (host, pid). sshd logs one
 * connection under one pid, but not every line names the client
 * ("Disconnecting: Too many authentication failures [preauth]",
 * "error: kex_exchange_identification: ..."). A session remembers the
 * address sshd wrote in an earlier line of it (at LogLevel VERBOSE the
 * first one, "Connection from A port P on ..."), and lends it to those.
 *
 * It also holds back "Failed publickey" lines: a client offering several
 * keys writes one for each key before the one that is authorised, which is
 * a normal login (fail2ban's publickey = nofail). They count only when the
 * session ends without "Accepted": then they are released, to be matched
 * and counted as they would have been, with their own times.
 *
 * Bounded: a fixed table made in xb_sessions_new(), 4-way sets with the
 * least recently seen way reused. A session is forgotten when it ends,
 * when it is quiet for longer than the timeout (on its next line or when
 * its slot is reused), or when a line of its pid names another address
 * (a reused pid never inherits). Attacker text never picks the address:
 * it is only ever one the decoder took from sshd's own position.
 * One thread.
 */
#ifndef XB_SESSION_H
#define XB_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/records.h"

#define XB_SESS_HELD     6      /* held lines per session (MaxAuthTries is 6) */
#define XB_SESS_LINE_MAX 320    /* a longer line is never held: it counts at once */
/* One line can end its pid's stale session, evict another from the set and
 * end its own (which held one line at most before it). */
#define XB_SESS_RELEASED (2 * XB_SESS_HELD + 1)

struct xb_sessions;

/* A held line, kept whole so that it can be decoded again. */
struct xb_held_line {
	char text[XB_SESS_LINE_MAX];
	size_t len;
	int64_t ts_usec;        /* the source's time (journald), 0: the header's */
	int pid;
	bool bare;
	char program[32];       /* "" : none from the source */
};

/* What xb_sessions_event() did with one event. */
struct xb_sess_verdict {
	bool hold;              /* the event is held: match it, count nothing */
	size_t n_released;      /* held lines of ended sessions, to count now */
	struct xb_held_line released[XB_SESS_RELEASED];
};

/* max: sessions kept (0: 4096, rounded up to a multiple of 4); timeout:
 * seconds of quiet after which a session is forgotten (0: 600). -ENOMEM. */
int xb_sessions_new(uint32_t max, uint32_t timeout, struct xb_sessions **out);
void xb_sessions_free(struct xb_sessions *s);
uint32_t xb_sessions_count(const struct xb_sessions *s);

/*
 * One decoded sshd event (ev->pid > 0) and the line it came from: lends
 * the session's address to an address-less event (ev->src_from_session),
 * starts, refreshes or ends the session, decides whether a Failed publickey
 * is held, and hands back what an ended session held. The caller must
 * pass every released line through decode and rules again.
 */
void xb_sessions_event(struct xb_sessions *s, struct xb_event *ev, const struct xb_line *line,
		       struct xb_sess_verdict *v);

#endif
