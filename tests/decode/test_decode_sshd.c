// SPDX-License-Identifier: GPL-2.0
/*
 * Decoder tests, table-driven: every sshd message form, with IPv4, IPv6 and
 * IPv4-mapped addresses, under every header format; then the injection
 * cases (attacker text that tries to name another address) and lines that
 * must not yield an address.
 */
#include <stdio.h>
#include <string.h>
#include <criterion/criterion.h>

#include "decode/decode.h"
#include "common/util.h"

/* "@" in a message is replaced by the address under test. */
struct form {
	const char *msg;
	enum xb_ev_kind kind;
	uint16_t port;
	const char *user;       /* NULL: no user expected */
	bool invalid;
};

static const struct form forms[] = {
	{ "Failed password for root from @ port 52211 ssh2", XB_EV_AUTH_FAIL, 52211, "root", false },
	{ "Failed password for invalid user admin from @ port 4022 ssh2", XB_EV_AUTH_FAIL, 4022, "admin", true },
	{ "Failed publickey for git from @ port 22 ssh2: RSA SHA256:AbCdEf0123", XB_EV_AUTH_FAIL, 22, "git", false },
	{ "Failed keyboard-interactive/pam for invalid user oracle from @ port 1 ssh2", XB_EV_AUTH_FAIL, 1, "oracle", true },
	{ "Failed none for invalid user  from @ port 65535 ssh2", XB_EV_AUTH_FAIL, 65535, "", true },
	{ "Invalid user test from @ port 40000", XB_EV_INVALID_USER, 40000, "test", true },
	{ "Invalid user test from @", XB_EV_INVALID_USER, 0, "test", true },
	{ "Invalid user  from @ port 40000", XB_EV_INVALID_USER, 40000, "", true },
	{ "User bob from @ not allowed because not listed in AllowUsers", XB_EV_NOT_ALLOWED, 0, "bob", false },
	{ "User bob from @ not allowed because listed in DenyUsers", XB_EV_NOT_ALLOWED, 0, "bob", false },
	{ "User bob from @ not allowed because none of user's groups are listed in AllowGroups", XB_EV_NOT_ALLOWED, 0, "bob", false },
	{ "User bob from @ not allowed because a group is listed in DenyGroups", XB_EV_NOT_ALLOWED, 0, "bob", false },
	{ "error: maximum authentication attempts exceeded for root from @ port 2222 ssh2 [preauth]", XB_EV_MAX_AUTH, 2222, "root", false },
	{ "error: maximum authentication attempts exceeded for invalid user x from @ port 2222 ssh2 [preauth]", XB_EV_MAX_AUTH, 2222, "x", true },
	{ "Disconnecting authenticating user root @ port 3333: Too many authentication failures [preauth]", XB_EV_TOO_MANY_FAIL, 3333, "root", false },
	{ "Disconnecting invalid user pi @ port 3333: Too many authentication failures [preauth]", XB_EV_TOO_MANY_FAIL, 3333, "pi", true },
	{ "Connection closed by authenticating user root @ port 4444 [preauth]", XB_EV_CLOSED_PREAUTH, 4444, "root", false },
	{ "Connection closed by invalid user ubnt @ port 4444 [preauth]", XB_EV_CLOSED_PREAUTH, 4444, "ubnt", true },
	{ "Disconnected from authenticating user root @ port 5555 [preauth]", XB_EV_DISCONN_PREAUTH, 5555, "root", false },
	{ "Disconnected from invalid user admin @ port 5555 [preauth]", XB_EV_DISCONN_PREAUTH, 5555, "admin", true },
	{ "Did not receive identification string from @ port 6666", XB_EV_NO_IDENT, 6666, NULL, false },
	{ "Did not receive identification string from @", XB_EV_NO_IDENT, 0, NULL, false },
	{ "Bad protocol version identification 'GET / HTTP/1.1' from @ port 7777", XB_EV_BAD_PROTO, 7777, NULL, false },
	{ "banner exchange: Connection from @ port 8888: invalid format", XB_EV_BAD_PROTO, 8888, NULL, false },
	{ "Unable to negotiate with @ port 9999: no matching key exchange method found. Their offer: diffie-hellman-group1-sha1 [preauth]", XB_EV_NEGOTIATE, 9999, NULL, false },
	{ "fatal: Timeout before authentication for @ port 1234", XB_EV_TIMEOUT, 1234, NULL, false },
	{ "error: PAM: Authentication failure for root from @", XB_EV_PAM_FAIL, 0, "root", false },
	{ "error: PAM: Authentication failure for illegal user zz from @", XB_EV_PAM_FAIL, 0, "zz", true },
	{ "Received disconnect from @ port 4022:11: Bye Bye [preauth]", XB_EV_RECV_DISCONN, 4022, NULL, false },
	{ "error: Received disconnect from @ port 7736:3: com.jcraft.jsch.JSchException: Auth fail [preauth]", XB_EV_RECV_DISCONN, 7736, NULL, false },
	{ "Connection reset by authenticating user root @ port 1558 [preauth]", XB_EV_CLOSED_PREAUTH, 1558, "root", false },
	{ "Connection from @ port 51000 on 198.18.0.1 port 22 rdomain \"\"", XB_EV_CONN_FROM, 51000, NULL, false },
	/* macOS: "via" names the server's own address, never the source */
	{ "error: PAM: authentication error for bob from @ via 198.18.9.9", XB_EV_PAM_FAIL, 0, "bob", false },
	{ "error: PAM: unknown user for illegal user x from 198.18.9.8 via 198.18.9.9 from @ via 198.18.9.9", XB_EV_PAM_FAIL, 0, "x from 198.18.9.8 via 198.18.9.9", true },
	{ "fatal: Unable to negotiate with @ port 3579: no matching cipher found. Their offer: aes128-cbc [preauth]", XB_EV_NEGOTIATE, 3579, NULL, false },
	{ "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=@  user=root", XB_EV_PAM_FAIL, 0, "root", false },
	{ "ROOT LOGIN REFUSED FROM @", XB_EV_ROOT_REFUSED, 0, NULL, false },
	{ "ROOT LOGIN REFUSED FROM @ port 22", XB_EV_ROOT_REFUSED, 22, NULL, false },
	{ "reverse mapping checking getaddrinfo for host.example [@] failed - POSSIBLE BREAK-IN ATTEMPT!", XB_EV_REVERSE_MAP, 0, NULL, false },
	{ "Accepted password for alice from @ port 50001 ssh2", XB_EV_ACCEPTED, 50001, "alice", false },
	{ "Accepted publickey for alice from @ port 50001 ssh2: ED25519 SHA256:Zm9v", XB_EV_ACCEPTED, 50001, "alice", false },
};

static const struct { const char *text, *want; } addrs[] = {
	{ "198.18.0.7", "198.18.0.7" },
	{ "2001:db8::7", "2001:db8::7" },
	{ "2001:DB8:0:0:0:0:0:7", "2001:db8::7" },
	{ "::ffff:198.18.0.7", "198.18.0.7" },
};

/* Header formats: "%s" is the message. */
static const char *const headers[] = {
	"Nov 28 07:01:08 host sshd[123]: %s",
	"Nov  8 07:01:08 host sshd-session[123]: %s",
	"<38>Nov 28 07:01:08 host sshd[123]: %s",
	"Nov 28 07:01:08.123456 host sshd[123]: %s",                 /* short-precise */
	"2020-03-23T09:55:42.391078-07:00 host sshd[123]: %s",       /* rsyslog high precision */
	"2020-03-23T09:55:42-0700 host sshd[123]: %s",               /* journalctl -o short-iso */
	"2020-03-23T09:55:42Z host sshd: %s",
	"Nov 28 07:01:08 sshd[123]: %s",                             /* no host field */
	"Nov 8 07:01:08 host sshd[123]: %s",                         /* day not padded */
	"2020-03-23 06:47:42.801612-0700  localhost sshd[123]: %s",  /* Wazuh's samples */
	"Aug 18 07:30:25 192.168.1.5 sshd[123]: [ID 800047 auth.notice] %s",  /* Solaris */
	"<34>1 2020-03-23T09:55:42.391Z host sshd 123 - - %s",       /* RFC 5424 */
	"<34>1 2020-03-23T09:55:42.391Z host sshd 123 ID47 [x@1 a=\"b]\"] %s",
	NULL,                                                        /* bare (journald MESSAGE) */
};

static void subst(char *out, size_t len, const char *fmt, const char *addr)
{
	const char *at = strchr(fmt, '@');

	cr_assert(at, "form without @: %s", fmt);
	snprintf(out, len, "%.*s%s%s", (int)(at - fmt), fmt, addr, at + 1);
}

static enum xb_decode_res decode(const char *text, bool bare, struct xb_event *ev)
{
	struct xb_line l = { .text = text, .len = strlen(text), .bare = bare,
			     .program = bare ? "sshd" : NULL };

	memset(ev, 0x5a, sizeof(*ev));          /* the decoder must set every field it uses */
	return xb_decode_line(&l, ev);
}

Test(decode_sshd, every_form_every_address_every_header)
{
	char msg[512], line[1024], got[XB_ADDRSTRLEN];
	unsigned checked = 0;

	for (size_t f = 0; f < ARRAY_SIZE(forms); f++)
		for (size_t a = 0; a < ARRAY_SIZE(addrs); a++)
			for (size_t h = 0; h < ARRAY_SIZE(headers); h++) {
				struct xb_event ev;

				subst(msg, sizeof(msg), forms[f].msg, addrs[a].text);
				if (headers[h])
					snprintf(line, sizeof(line), headers[h], msg);
				else
					snprintf(line, sizeof(line), "%s", msg);
				cr_assert_eq(decode(line, !headers[h], &ev), XB_DEC_SSHD, "%s", line);
				cr_assert_str_eq(ev.decoder, strncmp(msg, "pam_unix", 8) ? "sshd" : "pam");
				cr_assert_eq(ev.kind, forms[f].kind, "%s: kind %s", line, xb_ev_kind_name(ev.kind));
				cr_assert(ev.has_src, "no address: %s", line);
				cr_assert_str_eq(xb_addr_str(&ev.src, got, sizeof(got)), addrs[a].want, "%s", line);
				cr_assert_eq(ev.port, forms[f].port, "%s: port %u", line, ev.port);
				if (forms[f].user) {
					cr_assert(ev.user_set, "%s", line);
					cr_assert_str_eq(ev.user, forms[f].user, "%s", line);
				} else {
					cr_assert(!ev.user_set, "%s", line);
				}
				cr_assert_eq(ev.invalid_user, forms[f].invalid, "%s", line);
				if (headers[h] && !strstr(headers[h], "sshd:"))
					cr_assert_eq(ev.pid, 123, "%s", line);
				checked++;
			}
	cr_assert_eq(checked, ARRAY_SIZE(forms) * ARRAY_SIZE(addrs) * ARRAY_SIZE(headers));
}

Test(decode_sshd, kex_identification_has_no_address)
{
	struct xb_event ev;

	cr_assert_eq(decode("Nov 28 07:01:08 h sshd[1]: kex_exchange_identification: Connection closed by remote host",
			    false, &ev), XB_DEC_SSHD);
	cr_assert_eq(ev.kind, XB_EV_BAD_PROTO);
	cr_assert(!ev.has_src);
	cr_assert_eq(decode("error: kex_exchange_identification: client sent invalid protocol identifier \"GET / HTTP/1.1\" from 198.18.0.1",
			    true, &ev), XB_DEC_SSHD);
	cr_assert_eq(ev.kind, XB_EV_BAD_PROTO);
	cr_assert(!ev.has_src, "attacker text after kex_exchange_identification gave an address");
}

/* Attacker-chosen text that names 203.0.113.x: the result must be sshd's own address or nothing. */
Test(decode_sshd, injection)
{
	static const struct { const char *msg; enum xb_ev_kind kind; const char *addr; const char *user; } cases[] = {
		{ "Failed password for invalid user root from 203.0.113.9 port 22 from 198.18.0.5 port 5000 ssh2",
		  XB_EV_AUTH_FAIL, "198.18.0.5", "root from 203.0.113.9 port 22" },
		{ "Failed password for invalid user root from 203.0.113.9 port 22 ssh2 from 198.18.0.5 port 5000 ssh2",
		  XB_EV_AUTH_FAIL, "198.18.0.5", "root from 203.0.113.9 port 22 ssh2" },
		{ "Failed password for invalid user x from 203.0.113.9 port 22 ssh2: RSA SHA256:x from 198.18.0.5 port 5000 ssh2",
		  XB_EV_AUTH_FAIL, "198.18.0.5", NULL },
		{ "Invalid user root from 203.0.113.9 port 22 from 198.18.0.5 port 5000",
		  XB_EV_INVALID_USER, "198.18.0.5", "root from 203.0.113.9 port 22" },
		{ "Invalid user root from 203.0.113.9 from 198.18.0.5",
		  XB_EV_INVALID_USER, "198.18.0.5", "root from 203.0.113.9" },
		{ "Disconnected from invalid user x 203.0.113.9 port 22 198.18.0.5 port 5000 [preauth]",
		  XB_EV_DISCONN_PREAUTH, "198.18.0.5", "x 203.0.113.9 port 22" },
		{ "Connection closed by invalid user a 203.0.113.9 port 1 [preauth] 2001:db8::5 port 5000 [preauth]",
		  XB_EV_CLOSED_PREAUTH, "2001:db8::5", NULL },
		{ "Disconnecting invalid user r 203.0.113.9 port 22: Too many authentication failures 198.18.0.5 port 5000: Too many authentication failures [preauth]",
		  XB_EV_TOO_MANY_FAIL, "198.18.0.5", NULL },
		{ "error: maximum authentication attempts exceeded for invalid user u from 203.0.113.9 port 2 ssh2 from 198.18.0.5 port 5000 ssh2 [preauth]",
		  XB_EV_MAX_AUTH, "198.18.0.5", NULL },
		{ "Bad protocol version identification 'x' from 203.0.113.9 port 22' from 198.18.0.5 port 5000",
		  XB_EV_BAD_PROTO, "198.18.0.5", NULL },
		{ "error: PAM: Authentication failure for illegal user a from 203.0.113.9 from 198.18.0.5",
		  XB_EV_PAM_FAIL, "198.18.0.5", "a from 203.0.113.9" },
		/* PAM: rhost= comes before the attacker's user= */
		{ "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.18.0.5  user=x rhost=203.0.113.9",
		  XB_EV_PAM_FAIL, "198.18.0.5", "x rhost=203.0.113.9" },
		/* the PTR name is the attacker's */
		{ "reverse mapping checking getaddrinfo for evil [203.0.113.9] x [198.18.0.5] failed - POSSIBLE BREAK-IN ATTEMPT!",
		  XB_EV_REVERSE_MAP, "198.18.0.5", NULL },
		{ "Accepted password for a from 203.0.113.9 port 1 ssh2 from 198.18.0.5 port 5000 ssh2",
		  XB_EV_ACCEPTED, "198.18.0.5", NULL },
		/* a certificate's key id is the client's text, after sshd's fields */
		{ "Failed publickey for root from 198.18.0.5 port 5000 ssh2: ED25519-CERT SHA256:fp ID evil from 203.0.113.9 port 22 (serial 0) CA ED25519 SHA256:ca",
		  XB_EV_AUTH_FAIL, "198.18.0.5", "root" },
		{ "Failed publickey for invalid user a ssh2: b from 203.0.113.9 port 22 ssh2: c from 198.18.0.5 port 5000 ssh2: RSA SHA256:fp",
		  XB_EV_AUTH_FAIL, "198.18.0.5", "a ssh2: b from 203.0.113.9 port 22 ssh2: c" },
	};
	char got[XB_ADDRSTRLEN];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct xb_event ev;

		cr_assert_eq(decode(cases[i].msg, true, &ev), XB_DEC_SSHD);
		cr_assert_eq(ev.kind, cases[i].kind, "%s", cases[i].msg);
		cr_assert(ev.has_src, "%s", cases[i].msg);
		cr_assert_str_eq(xb_addr_str(&ev.src, got, sizeof(got)), cases[i].addr, "%s", cases[i].msg);
		if (cases[i].user)
			cr_assert_str_eq(ev.user, cases[i].user, "%s", cases[i].msg);
	}
}

/* Expected failures: the right kind maybe, but no address. */
Test(decode_sshd, no_address)
{
	static const char *const cases[] = {
		/* UseDNS: a host name is never resolved, and never replaced by text further left */
		"Failed password for root from 203.0.113.9 port 22 from evil.example port 5000 ssh2",
		"Invalid user root from 203.0.113.9 from attacker.example",
		"User u from 203.0.113.9 port 22 from h.example not allowed because not listed in AllowUsers",
		"Failed password for root from 198.18.0.5",                     /* truncated */
		"Failed password for root from 198.18.0.5 port 99999 ssh2",     /* bad port */
		"Failed password for root from 198.18.0.256 port 22 ssh2",
		"Failed password for root from 198.18.0.5/24 port 22 ssh2",
		"Failed password for root from fe80::1%eth0 port 22 ssh2",
		"Invalid user x from 2001:db8::g port 1",
		"Did not receive identification string from 198.18.0.5 junk",
		"Unable to negotiate with evil port 22: no matching cipher found",
		"reverse mapping checking getaddrinfo for x [203.0.113.9] failed - nope",
		"Connection closed by 198.18.0.5 203.0.113.9 port 22 [preauth]",
		"Disconnecting invalid user x 198.18.0.5 port 22: Something else [preauth]",
		/* certificate key id holding a second " ssh2: ": ambiguous, so no address */
		"Failed publickey for root from 198.18.0.5 port 22 ssh2: ED25519-CERT SHA256:fp ID evil from 203.0.113.9 port 22 ssh2: x (serial 0) CA ED25519 SHA256:ca",
		"Accepted publickey for a from 198.18.0.5 port 22 ssh2: RSA-CERT SHA256:fp ID e from 203.0.113.9 port 2 ssh2: y (serial 1) CA RSA SHA256:c",
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct xb_event ev;

		cr_assert_eq(decode(cases[i], true, &ev), XB_DEC_SSHD);
		cr_assert(!ev.has_src, "address from: %s", cases[i]);
		cr_assert_eq(ev.port, 0, "%s", cases[i]);
	}
}

Test(decode_sshd, noise_and_other_programs)
{
	struct xb_event ev;
	char got[XB_ADDRSTRLEN];

	cr_assert_eq(decode("Nov 28 07:01:08 h sshd[9]: Received disconnect from 198.18.0.5 port 22:11: Bye [preauth]",
			    false, &ev), XB_DEC_SSHD);
	/* its own kind now: xdpban's 190003 counts preauth disconnects per source */
	cr_assert_eq(ev.kind, XB_EV_RECV_DISCONN);
	cr_assert(ev.has_src);
	cr_assert_eq(ev.port, 22);
	cr_assert_eq(decode("Nov 28 07:01:08 h sshd[9]: Connection closed by 198.18.0.5 port 22 [preauth]", false, &ev),
		     XB_DEC_SSHD);
	cr_assert_eq(ev.kind, XB_EV_NONE);
	cr_assert(ev.has_src);
	cr_assert_str_eq(xb_addr_str(&ev.src, got, sizeof(got)), "198.18.0.5");
	/* another program writing sshd's words is not sshd */
	cr_assert_eq(decode("Nov 28 07:01:08 h logger[9]: Failed password for root from 198.18.0.5 port 22 ssh2",
			    false, &ev), XB_DEC_OTHER);
	cr_assert_eq(decode("Nov 28 07:01:08 h sshdx[9]: Failed password for root from 198.18.0.5 port 22 ssh2",
			    false, &ev), XB_DEC_OTHER);
	cr_assert_eq(decode("Nov 28 07:01:08 h CRON[9]: pam_unix(cron:session): session opened", false, &ev), XB_DEC_OTHER);
	cr_assert_str_eq(ev.program, "CRON");
	/* trusted program name from journald wins over the text */
	struct xb_line l = { .text = "Failed password for root from 198.18.0.5 port 22 ssh2", .bare = true,
			     .program = "logger" };

	l.len = strlen(l.text);
	cr_assert_eq(xb_decode_line(&l, &ev), XB_DEC_OTHER);
}

Test(decode_sshd, malformed_headers)
{
	static const char *const bad[] = {
		"", "garbage", "Foo 28 07:01:08 h sshd[1]: x", "Nov 28 25:01:08 h sshd[1]: x",
		"Nov 28 07:01", "<999999>Nov 28 07:01:08 h sshd[1]: x", "2020-13-01T00:00:00Z h sshd: x",
		"<34>1 2020-03-23T09:55:42Z host sshd 123 - [unterminated",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct xb_event ev;

		cr_assert_eq(decode(bad[i], false, &ev), XB_DEC_MALFORMED, "'%s'", bad[i]);
		cr_assert(!ev.has_src);
	}
}

Test(decode_sshd, timestamps)
{
	struct xb_event ev;

	cr_assert_eq(xb_decode_syslog("2020-03-23T09:55:42.391078-07:00 h sshd[1]: x", 45, &ev), 0);
	cr_assert_eq(ev.ts_usec, 1584982542391078LL);
	cr_assert_eq(xb_decode_syslog("2020-03-23T16:55:42Z h sshd[1]: x", 33, &ev), 0);
	cr_assert_eq(ev.ts_usec, 1584982542000000LL);
	cr_assert_eq(xb_decode_syslog("2020-03-23T09:55:42-0700 h sshd[1]: x", 37, &ev), 0);
	cr_assert_eq(ev.ts_usec, 1584982542000000LL);
	cr_assert_str_eq(ev.hostname, "h");
	cr_assert_str_eq(ev.program, "sshd");
	cr_assert_eq(ev.pid, 1);
	cr_assert_eq(ev.msg_len, 1);
	cr_assert_eq(ev.msg[0], 'x');
	/* 3164: no year; a second later is a second later */
	int64_t t1, t2;

	cr_assert_eq(xb_decode_syslog("Jan  2 00:00:59 h sshd: x", 25, &ev), 0);
	t1 = ev.ts_usec;
	cr_assert_eq(xb_decode_syslog("Jan  2 00:01:00 h sshd: x", 25, &ev), 0);
	t2 = ev.ts_usec;
	cr_assert_eq(t2 - t1, 1000000);
	cr_assert(t1 <= (xb_now_wall() + 86400) * 1000000, "3164 time in the future");
	/* the source's time wins */
	struct xb_line l = { .text = "Jan  2 00:00:59 h sshd: x", .len = 25, .ts_usec = 42 };

	xb_decode_line(&l, &ev);
	cr_assert_eq(ev.ts_usec, 42);
}

Test(decode_sshd, long_user_is_truncated_and_control_chars_masked)
{
	char line[600], user[300];
	struct xb_event ev;

	memset(user, 'a', sizeof(user) - 1);
	user[sizeof(user) - 1] = '\0';
	user[3] = '\x1b';
	snprintf(line, sizeof(line), "Invalid user %s from 198.18.0.9 port 22", user);
	cr_assert_eq(decode(line, true, &ev), XB_DEC_SSHD);
	cr_assert(ev.has_src);
	cr_assert_eq(strlen(ev.user), sizeof(ev.user) - 1);
	cr_assert_eq(ev.user[3], '?');
}

/* Every prefix of every form, and random byte changes: no crash, no read
 * past the line (ASan build), and an address only if it is in the line. */
Test(decode_sshd, truncations_and_mutations)
{
	char msg[512], line[600], got[XB_ADDRSTRLEN];
	unsigned seed = 12345;

	for (size_t f = 0; f < ARRAY_SIZE(forms); f++) {
		subst(msg, sizeof(msg), forms[f].msg, "2001:db8::7");
		size_t n = (size_t)snprintf(line, sizeof(line), "Nov 28 07:01:08 host sshd[1]: %s", msg);

		for (size_t cut = 0; cut <= n; cut++) {
			struct xb_event ev;
			char *copy = malloc(cut ? cut : 1);     /* exact size: ASan sees overreads */
			struct xb_line l = { .text = copy, .len = cut };

			cr_assert_not_null(copy);
			memcpy(copy, line, cut);
			xb_decode_line(&l, &ev);
			bool in_line = true;

			if (ev.has_src) {
				xb_addr_str(&ev.src, got, sizeof(got));
				in_line = memmem(copy, cut, got, strlen(got)) != NULL;
			}
			free(copy);
			cr_assert(in_line, "address %s not in line cut at %zu", got, cut);
		}
		for (int k = 0; k < 300; k++) {
			struct xb_event ev;
			char *copy = malloc(n);
			struct xb_line l = { .text = copy, .len = n };

			cr_assert_not_null(copy);
			memcpy(copy, line, n);
			for (int j = 0; j < 3; j++) {
				seed = seed * 1103515245 + 12345;
				copy[(seed >> 8) % n] = (char)(seed >> 20);
			}
			xb_decode_line(&l, &ev);
			free(copy);
		}
	}
}

Test(decode_sshd, lenient_bare_fallback)
{
	struct xb_event ev;
	bool bare;
	const char *ok = "Invalid user a from 198.18.0.3 port 7";
	const char *noise = "Server listening on 0.0.0.0 port 22.";
	const char *hdr = "Nov 28 07:01:08 h sshd[1]: Server listening on 0.0.0.0 port 22.";
	struct xb_line l = { .text = ok, .len = strlen(ok) };

	cr_assert_eq(xb_decode_line(&l, &ev), XB_DEC_MALFORMED, "strict: no header, not decoded");
	cr_assert_eq(xb_decode_line_any(&l, &ev, &bare), XB_DEC_SSHD);
	cr_assert(bare && ev.has_src && ev.kind == XB_EV_INVALID_USER);
	l = (struct xb_line){ .text = noise, .len = strlen(noise) };
	cr_assert_eq(xb_decode_line_any(&l, &ev, &bare), XB_DEC_MALFORMED, "unknown text stays undecodable");
	cr_assert(!bare);
	cr_assert_null(ev.decoder);
	l = (struct xb_line){ .text = hdr, .len = strlen(hdr) };
	cr_assert_eq(xb_decode_line_any(&l, &ev, &bare), XB_DEC_SSHD, "a header is used when present");
	cr_assert(!bare);
}

/* RFC 5424 lines cut at every length, in exact-size buffers: no overread. */
Test(decode_sshd, rfc5424_truncations)
{
	static const char *const lines[] = {
		"<34>1 2020-03-23T09:55:42.391Z host sshd 123 - - Failed password for root from 198.18.0.5 port 22 ssh2",
		"<34>1 - host sshd 123 - [a b=\"]\"] Failed password for root from 198.18.0.5 port 22 ssh2",
	};

	for (size_t f = 0; f < ARRAY_SIZE(lines); f++) {
		size_t n = strlen(lines[f]);

		for (size_t cut = 0; cut <= n; cut++) {
			struct xb_event ev;
			char *copy = malloc(cut ? cut : 1);
			struct xb_line l = { .text = copy, .len = cut };

			cr_assert_not_null(copy);
			memcpy(copy, lines[f], cut);
			enum xb_decode_res res = xb_decode_line(&l, &ev);

			free(copy);
			if (cut == n)
				cr_assert_eq(res, XB_DEC_SSHD, "%s", lines[f]);
		}
	}
}

/*
 * Text after " ssh2: " that the client chooses: hostbased's client user and
 * host, a certificate's key id, and a message sshd cut at its 1023-byte log
 * buffer so that the client's text is the end. The address is sshd's own
 * (198.18.0.5) or none, never 203.0.113.9.
 */
Test(decode_sshd, client_text_after_ssh2_never_names_the_address)
{
	static const char *const fixed[] = {
		"Failed hostbased for root from 198.18.0.5 port 5000 ssh2: ED25519 SHA256:fp, client user \"u\", client host \"x from 203.0.113.9 port 22 ssh2: A B\"",
		"Failed hostbased for root from 198.18.0.5 port 5000 ssh2: ED25519 SHA256:fp, client user \"x from 203.0.113.9 port 22 ssh2: A B\", client host \"h\"",
		"Failed hostbased for root from 198.18.0.5 port 5000 ssh2: ED25519 SHA256:fp, client user \"u\", client host \"x from 203.0.113.9 port 22 ssh2: ED25519 SHA256:B\"",
		"Failed hostbased for root from 198.18.0.5 port 5000 ssh2: ED25519 SHA256:fp, client user \"u\", client host \"x from 203.0.113.9 port 22 ssh2\"",
	};
	/* sshd's log buffer holds 1023 bytes: a long key id pushes the rest out */
	static const char *const cut_tails[] = {
		" from 203.0.113.9 port 22 ssh2: ED25519 SHA256:B",
		" from 203.0.113.9 port 22 ssh2",
	};
	char got[XB_ADDRSTRLEN];

	for (size_t i = 0; i < ARRAY_SIZE(fixed) + ARRAY_SIZE(cut_tails); i++) {
		char msg[1024];
		struct xb_event ev;

		if (i < ARRAY_SIZE(fixed)) {
			snprintf(msg, sizeof(msg), "%s", fixed[i]);
		} else {
			const char *tail = cut_tails[i - ARRAY_SIZE(fixed)];
			int n = snprintf(msg, sizeof(msg), "Failed publickey for root from 198.18.0.5 port 5000 ssh2: ED25519-CERT ID ");

			memset(msg + n, 'k', sizeof(msg) - 1 - (size_t)n);
			memcpy(msg + sizeof(msg) - 1 - strlen(tail), tail, strlen(tail));
			msg[sizeof(msg) - 1] = '\0';
			cr_assert_eq(strlen(msg), 1023);
		}
		cr_assert_eq(decode(msg, true, &ev), XB_DEC_SSHD);
		cr_assert_eq(ev.kind, XB_EV_AUTH_FAIL, "%s", msg);
		if (ev.has_src)
			cr_assert_str_eq(xb_addr_str(&ev.src, got, sizeof(got)), "198.18.0.5", "%s", msg);
	}
}
