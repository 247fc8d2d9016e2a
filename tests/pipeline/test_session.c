// SPDX-License-Identifier: GPL-2.0
/* pipeline/session: addresses lent within an sshd session, Failed publickey
 * held until the session logs in or ends. */
#include <stdio.h>
#include <string.h>
#include <criterion/criterion.h>

#include "pipeline/detect.h"
#include "pipeline/session.h"
#include "lib/testlib.h"

static struct xb_detect_out o;

static struct xb_detect *detect(uint32_t max_sessions)
{
	struct xb_detect_conf c = { .rules_dir = xb_test_rules_dir(), .max_sessions = max_sessions };
	struct xb_detect *d = NULL;
	char err[512];

	cr_assert_eq(xb_detect_new(&c, &d, NULL, err, sizeof(err)), 0, "%s", err);
	return d;
}

/* Line at second t of 10:00 of pid, message m; returns o. */
static const struct xb_detect_out *feed(struct xb_detect *d, int t, int pid, const char *m)
{
	char text[400];
	struct xb_line l;

	snprintf(text, sizeof(text), "May  1 10:%02d:%02d edge sshd[%d]: %s", t / 60 % 60, t % 60, pid, m);
	l = (struct xb_line){ .text = text, .len = strlen(text) };
	xb_detect_line(d, &l, 0, &o);
	return &o;
}

static bool src_is(const struct xb_event *ev, const char *want)
{
	char a[XB_ADDRSTRLEN];

	return ev->has_src && !strcmp(xb_addr_str(&ev->src, a, sizeof(a)), want);
}

Test(session, addressless_line_gets_the_session_address)
{
	struct xb_detect *d = detect(0);

	feed(d, 1, 700, "Connection from 198.18.9.1 port 50000 on 198.18.0.1 port 22 rdomain \"\"");
	cr_assert(src_is(&o.ev, "198.18.9.1"));
	feed(d, 2, 700, "Disconnecting: Too many authentication failures [preauth]");
	cr_assert(src_is(&o.ev, "198.18.9.1"), "the session's address is lent");
	cr_assert(o.ev.src_from_session);
	cr_assert_eq(o.al.rule, 190004);
	/* that line ended the session: a later line of the pid gets nothing */
	feed(d, 3, 700, "error: kex_exchange_identification: Connection closed by remote host");
	cr_assert(!o.ev.has_src, "an ended session lends nothing");
	/* another pid, another host: nothing */
	feed(d, 4, 701, "fatal: Read from socket failed: Connection reset by peer [preauth]");
	cr_assert(!o.ev.has_src);
	xb_detect_free(d);
}

Test(session, reused_pid_does_not_inherit)
{
	struct xb_detect *d = detect(0);

	feed(d, 1, 710, "Invalid user a from 198.18.9.3 port 1");
	/* no end line seen; the pid comes back for another client */
	feed(d, 2, 710, "Connection from 198.18.9.4 port 2 on 198.18.0.1 port 22 rdomain \"\"");
	feed(d, 3, 710, "Disconnecting: Too many authentication failures [preauth]");
	cr_assert(src_is(&o.ev, "198.18.9.4"), "the new connection's address, not the old one");
	/* a line naming another address also starts afresh */
	feed(d, 4, 711, "Invalid user a from 198.18.9.5 port 1");
	feed(d, 5, 711, "Invalid user a from 198.18.9.6 port 1");
	feed(d, 6, 711, "fatal: Read from socket failed: Connection reset by peer [preauth]");
	cr_assert(src_is(&o.ev, "198.18.9.6"));
	/* quiet for longer than the timeout (600 s): forgotten */
	feed(d, 10, 712, "Invalid user a from 198.18.9.7 port 1");
	feed(d, 10 + 601, 712, "fatal: Read from socket failed: Connection reset by peer [preauth]");
	cr_assert(!o.ev.has_src, "a stale session lends nothing");
	xb_detect_free(d);
}

/* An admin with three keys, the last one authorised, 20 logins in a row at
 * LogLevel VERBOSE: never 5720, nothing released. */
Test(session, multikey_logins_never_count)
{
	struct xb_detect *d = detect(0);
	char m[200];
	int t = 0, highest = 0;

	for (int i = 0; i < 20; i++) {
		int pid = 7000 + i, port = 50000 + i;

		snprintf(m, sizeof(m), "Connection from 198.18.9.1 port %d on 198.18.0.1 port 22 rdomain \"\"", port);
		feed(d, t++, pid, m);
		for (int k = 0; k < 2; k++) {
			snprintf(m, sizeof(m), "Failed publickey for ops from 198.18.9.1 port %d ssh2: ED25519 SHA256:k%d", port, k);
			feed(d, t++, pid, m);
			cr_assert_eq(o.al.rule, 5716, "still shown as a failure");
			cr_assert(o.ev.nocount, "held");
		}
		snprintf(m, sizeof(m), "Accepted publickey for ops from 198.18.9.1 port %d ssh2: ECDSA SHA256:ok", port);
		feed(d, t++, pid, m);
		cr_assert_eq(o.al.rule, 5715);
		snprintf(m, sizeof(m), "Disconnected from user ops 198.18.9.1 port %d", port);
		feed(d, t++, pid, m);
		cr_assert_eq(o.n_rel, 0, "a login's failures are never released");
		if (o.al.level > highest)
			highest = o.al.level;
	}
	cr_assert_lt(highest, 10);
	xb_detect_free(d);
}

/* A key guesser that never logs in: its failures count when the session ends. */
Test(session, failures_of_a_session_without_login_count)
{
	struct xb_detect *d = detect(0);
	char m[200];
	int t = 0, fired = 0;

	for (int i = 0; i < 3; i++) {
		for (int k = 0; k < 3; k++) {
			snprintf(m, sizeof(m), "Failed publickey for root from 198.18.9.2 port %d ssh2: RSA SHA256:k%d", 51000 + i, k);
			feed(d, t++, 8000 + i, m);
			cr_assert(o.ev.nocount);
		}
		feed(d, t++, 8000 + i, "Disconnecting: Too many authentication failures [preauth]");
		cr_assert_eq(o.n_rel, 3, "the session's three failures are released");
		for (size_t r = 0; r < o.n_rel; r++) {
			cr_assert(src_is(&o.rel[r].ev, "198.18.9.2"));
			cr_assert(!o.rel[r].ev.nocount);
			fired += o.rel[r].al.rule == 5720;
		}
	}
	cr_assert_eq(fired, 1, "the eighth failure completes 5720");
	xb_detect_free(d);
}

Test(session, memory_is_bounded)
{
	struct xb_sessions *s;
	struct xb_sess_verdict v;
	struct xb_event ev;
	struct xb_line l = { .text = "x", .len = 1 };

	cr_assert_eq(xb_sessions_new(16, 0, &s), 0);
	for (int i = 0; i < 1000; i++) {
		memset(&ev, 0, sizeof(ev));
		ev.pid = 100 + i;
		ev.decoder = "sshd";
		ev.ts_usec = 1000000LL * (1700000000 + i);
		ev.has_src = true;
		cr_assert_eq(xb_addr_parse("198.18.1.1", &ev.src, false), 0);
		ev.msg = "Invalid user a from 198.18.1.1";
		ev.msg_len = strlen(ev.msg);
		xb_sessions_event(s, &ev, &l, &v);
		cr_assert_leq(xb_sessions_count(s), 16);
	}
	cr_assert_eq(xb_sessions_count(s), 16);
	xb_sessions_free(s);
}
