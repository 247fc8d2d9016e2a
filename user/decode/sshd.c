// SPDX-License-Identifier: GPL-2.0
/*
 * decode_sshd: sshd's messages -> kind, source address, port, user.
 *
 * User names, banners and PTR names are attacker text and may contain
 * " from 198.51.100.9 port 22". So every form is parsed from the end sshd
 * itself writes (" [preauth]", " ssh2", " port N", the address token), or
 * from a fixed prefix when nothing attacker-chosen comes before the address.
 * Whatever sits in the address position must parse as a numeric address,
 * else the event has no source (a host name is never resolved).
 *
 * A message is recognised by its fixed prefix (the table at the end); that
 * form's parser gets the rest and returns the kind, or XB_EV_NONE.
 */
#include "common/util.h"
#include "decode/internal.h"

/*
 * "<user part> from ADDR" at the end of sp (port etc. already removed): the
 * address is the last token and must follow " from ".
 */
static bool tail_from_addr(struct xb_event *ev, struct span sp, struct span *user)
{
	struct span tok;

	if (!cut_last_token(&sp, &tok) || !cut_suffix(&sp, LIT(" from")))
		return false;
	set_addr(ev, tok);
	if (user)
		*user = sp;
	return true;
}

/* "... [authenticating |invalid ]user U A port P" (no "from"). */
static void user_addr_port(struct xb_event *ev, struct span m)
{
	struct span tok;

	if (cut_prefix(&m, LIT("authenticating user "))) {
		;
	} else if (cut_prefix(&m, LIT("invalid user "))) {
		ev->invalid_user = true;
	} else if (!cut_prefix(&m, LIT("user "))) {
		/* "Connection closed by A port P": no user */
		if (cut_port(&m, &ev->port) && cut_first_token(&m, &tok) && m.n == 0)
			set_addr(ev, tok);
		return;
	}
	if (!cut_port(&m, &ev->port))
		return;
	/* the user may be empty: "invalid user  198.51.100.7 port 22" */
	size_t e = m.n, b = e;

	while (b > 0 && m.s[b - 1] != ' ')
		b--;
	if (b == e)
		return;
	tok.s = m.s + b;
	tok.n = e - b;
	set_addr(ev, tok);
	m.n = b ? b - 1 : 0;
	set_user(ev, m);
}

/* --- the forms: m is the message after the form's prefix ------------------- */
/* "Failed ..." and "Accepted ..." are in sshd_auth.c. */

/* "Address A maps to HOST, but this does not map back to the address - ..." */
static enum xb_ev_kind address_maps_to(struct xb_event *ev, struct span m, enum xb_ev_kind kind)
{
	struct span tok;

	if (!cut_suffix(&m, LIT(" but this does not map back to the address - POSSIBLE BREAK-IN ATTEMPT!")))
		return XB_EV_NONE;
	if (cut_first_token(&m, &tok) && has_prefix(m, LIT(" maps to ")))
		set_addr(ev, tok);
	return kind;
}

/* "Invalid user U from A[ port P]" */
static enum xb_ev_kind invalid_user(struct xb_event *ev, struct span m, enum xb_ev_kind kind)
{
	struct span u;

	ev->invalid_user = true;
	cut_port(&m, &ev->port);
	if (tail_from_addr(ev, m, &u))
		set_user(ev, u);
	return kind;
}

/* "User U from A not allowed because REASON" */
static enum xb_ev_kind not_allowed(struct xb_event *ev, struct span m, enum xb_ev_kind kind)
{
	static const char key[] = " not allowed because ";
	const size_t kl = sizeof(key) - 1;
	struct span u;

	for (size_t k = m.n; k >= kl; k--)
		if (memcmp(m.s + k - kl, key, kl) == 0) {
			m.n = k - kl;
			if (tail_from_addr(ev, m, &u))
				set_user(ev, u);
			return kind;
		}
	return XB_EV_NONE;
}

/* "A port P" followed by ':' or the end, from the left. */
static enum xb_ev_kind addr_port_left(struct xb_event *ev, struct span m, enum xb_ev_kind kind)
{
	struct span tok;
	unsigned v = 0;
	size_t i = 0;

	if (!cut_first_token(&m, &tok))
		return kind;
	if (tok.n > 1 && tok.s[tok.n - 1] == ':') {
		/* older sshd: "A: 11: reason", no port */
		tok.n--;
		set_addr(ev, tok);
		return kind;
	}
	if (!cut_prefix(&m, LIT(" port ")))
		return kind;
	while (i < m.n && IS_DIGIT(m.s[i]) && i < 5)
		v = v * 10 + (unsigned)(m.s[i++] - '0');
	if (i == 0 || v > 65535 || (i < m.n && m.s[i] != ':'))
		return kind;
	ev->port = (uint16_t)v;
	set_addr(ev, tok);
	return kind;
}

/* "A port P on LOCAL port Q[ rdomain "R"]": all sshd's own, the client's
 * address first (a session's first line at LogLevel VERBOSE). */
static enum xb_ev_kind conn_from(struct xb_event *ev, struct span m, enum xb_ev_kind kind)
{
	struct span tok;
	unsigned v = 0;
	size_t i = 0;

	if (!cut_first_token(&m, &tok) || !cut_prefix(&m, LIT(" port ")))
		return XB_EV_NONE;
	while (i < m.n && i < 5 && IS_DIGIT(m.s[i]))
		v = v * 10 + (unsigned)(m.s[i++] - '0');
	m.s += i;
	m.n -= i;
	if (i == 0 || v > 65535 || !has_prefix(m, LIT(" on ")))
		return XB_EV_NONE;
	ev->port = (uint16_t)v;
	set_addr(ev, tok);
	return kind;
}

/* "A[ port P]" and nothing else. */
static enum xb_ev_kind addr_opt_port(struct xb_event *ev, struct span m, enum xb_ev_kind kind)
{
	struct span tok;

	cut_port(&m, &ev->port);
	if (cut_first_token(&m, &tok) && m.n == 0)
		set_addr(ev, tok);
	return kind;
}

/* "[invalid user ]U from A port P ssh2" */
static enum xb_ev_kind max_auth(struct xb_event *ev, struct span m, enum xb_ev_kind kind)
{
	struct span u;

	cut_suffix(&m, LIT(" ssh2"));
	if (cut_port(&m, &ev->port) && tail_from_addr(ev, m, &u)) {
		cut_invalid(ev, &u);
		set_user(ev, u);
	}
	return kind;
}

/* "[illegal user ]U from A", or macOS' "U from A via LOCAL" (LOCAL: the
 * server's own address, never the source). */
static enum xb_ev_kind pam_failure(struct xb_event *ev, struct span m, enum xb_ev_kind kind)
{
	struct span u, tok, rest = m;
	struct xb_addr local;

	if (cut_last_token(&rest, &tok) && cut_suffix(&rest, LIT(" via")) &&
	    xb_addr_parse_host(tok.s, tok.n, &local) == 0)
		m = rest;
	if (tail_from_addr(ev, m, &u)) {
		cut_invalid(ev, &u);
		set_user(ev, u);
	}
	return kind;
}

/* "error: PAM: REASON for [illegal user ]U from A[ via LOCAL]": REASON is
 * PAM's text (pam_strerror), which never holds " for "; U may. */
static enum xb_ev_kind pam_error(struct xb_event *ev, struct span m, enum xb_ev_kind kind)
{
	static const char key[] = " for ";
	const char *f = memmem(m.s, m.n, key, sizeof(key) - 1);

	if (!f)
		return XB_EV_NONE;
	m.n -= (size_t)(f + sizeof(key) - 1 - m.s);
	m.s = f + sizeof(key) - 1;
	return pam_failure(ev, m, kind);
}

/* The kind alone: whatever follows is the client's (kex_exchange_identification). */
static enum xb_ev_kind no_address(struct xb_event *ev, struct span m, enum xb_ev_kind kind)
{
	return kind;
}

/* "[authenticating |invalid ]user U A port P: Too many authentication failures" */
static enum xb_ev_kind too_many_failures(struct xb_event *ev, struct span m, enum xb_ev_kind kind)
{
	if (!cut_suffix(&m, LIT(": Too many authentication failures")))
		return XB_EV_NONE;
	user_addr_port(ev, m);
	return kind;
}

/* "Disconnecting: Too many authentication failures" (older sshd): no
 * address; a session of the same pid may know it (pipeline/session.c). */
static enum xb_ev_kind too_many_bare(struct xb_event *ev, struct span m, enum xb_ev_kind kind)
{
	return m.n == 32 && has_prefix(m, LIT("Too many authentication failures")) ? kind : XB_EV_NONE;
}

/* "Disconnected from" / "Connection closed by": before authentication only
 * with "authenticating user" or "invalid user"; after a login it is noise. */
static enum xb_ev_kind preauth_close(struct xb_event *ev, struct span m, enum xb_ev_kind kind)
{
	bool preauth = has_prefix(m, LIT("authenticating user ")) || has_prefix(m, LIT("invalid user "));

	user_addr_port(ev, m);
	return preauth ? kind : XB_EV_NONE;
}

/* "'BANNER' from A port P": the quoted banner is attacker text, so from the end. */
static enum xb_ev_kind bad_banner(struct xb_event *ev, struct span m, enum xb_ev_kind kind)
{
	cut_port(&m, &ev->port);
	tail_from_addr(ev, m, NULL);
	return kind;
}

/* "...; logname= uid=0 euid=0 tty=ssh ruser= rhost=A  user=U": the first
 * rhost= is PAM's own field, user= comes after it. */
static enum xb_ev_kind pam_unix(struct xb_event *ev, struct span m, enum xb_ev_kind kind)
{
	static const char rk[] = " rhost=";
	const char *r = memmem(m.s, m.n, rk, sizeof(rk) - 1);
	struct span rest, tok;

	if (!r)
		return kind;
	rest.s = r + sizeof(rk) - 1;
	rest.n = m.n - (size_t)(rest.s - m.s);
	if (cut_first_token(&rest, &tok))
		set_addr(ev, tok);
	while (rest.n && rest.s[0] == ' ') {
		rest.s++;
		rest.n--;
	}
	if (cut_prefix(&rest, LIT("user=")))
		set_user(ev, rest);
	return kind;
}

/* "HOST [A] failed - POSSIBLE BREAK-IN ATTEMPT!": HOST is the attacker's
 * PTR name; A sits in the last brackets. */
static enum xb_ev_kind reverse_map(struct xb_event *ev, struct span m, enum xb_ev_kind kind)
{
	size_t b;

	if (!cut_suffix(&m, LIT("] failed - POSSIBLE BREAK-IN ATTEMPT!")))
		return kind;
	for (b = m.n; b > 0 && m.s[b - 1] != '['; b--)
		;
	if (b > 0) {
		struct span tok = { m.s + b, m.n - b };

		set_addr(ev, tok);
	}
	return kind;
}

typedef enum xb_ev_kind (*form_parser)(struct xb_event *ev, struct span m, enum xb_ev_kind kind);

struct sshd_form {
	const char *prefix;
	size_t len;
	enum xb_ev_kind kind;   /* passed to parse */
	form_parser parse;
};

/* No prefix here is a prefix of another, so the order does not matter. */
static const struct sshd_form forms[] = {
	{ LIT("Failed "), XB_EV_AUTH_FAIL, xb_dec_failed_accepted },
	{ LIT("Accepted "), XB_EV_ACCEPTED, xb_dec_failed_accepted },
	{ LIT("Address "), XB_EV_REVERSE_MAP, address_maps_to },
	{ LIT("Invalid user "), XB_EV_INVALID_USER, invalid_user },
	{ LIT("Illegal user "), XB_EV_INVALID_USER, invalid_user },
	{ LIT("User "), XB_EV_NOT_ALLOWED, not_allowed },
	{ LIT("Unable to negotiate with "), XB_EV_NEGOTIATE, addr_port_left },
	{ LIT("fatal: Unable to negotiate with "), XB_EV_NEGOTIATE, addr_port_left },
	{ LIT("error: maximum authentication attempts exceeded for "), XB_EV_MAX_AUTH, max_auth },
	{ LIT("error: PAM: "), XB_EV_PAM_FAIL, pam_error },
	{ LIT("error: kex_exchange_identification: "), XB_EV_BAD_PROTO, no_address },
	{ LIT("Disconnecting "), XB_EV_TOO_MANY_FAIL, too_many_failures },
	{ LIT("Disconnecting: "), XB_EV_TOO_MANY_FAIL, too_many_bare },
	{ LIT("Disconnected from "), XB_EV_DISCONN_PREAUTH, preauth_close },
	{ LIT("Did not receive identification string from "), XB_EV_NO_IDENT, addr_opt_port },
	/* the reason after "P:N: " is the client's: the address comes first */
	{ LIT("Received disconnect from "), XB_EV_RECV_DISCONN, addr_port_left },
	{ LIT("error: Received disconnect from "), XB_EV_RECV_DISCONN, addr_port_left },
	{ LIT("Connection reset by "), XB_EV_CLOSED_PREAUTH, preauth_close },
	{ LIT("Connection from "), XB_EV_CONN_FROM, conn_from },
	{ LIT("Connection closed by "), XB_EV_CLOSED_PREAUTH, preauth_close },
	{ LIT("Bad protocol version identification "), XB_EV_BAD_PROTO, bad_banner },
	{ LIT("banner exchange: Connection from "), XB_EV_BAD_PROTO, addr_port_left },
	{ LIT("kex_exchange_identification: "), XB_EV_BAD_PROTO, no_address },
	{ LIT("fatal: Timeout before authentication for "), XB_EV_TIMEOUT, addr_port_left },
	{ LIT("Timeout before authentication for "), XB_EV_TIMEOUT, addr_port_left },
	{ LIT("pam_unix(sshd:auth): authentication failure;"), XB_EV_PAM_FAIL, pam_unix },
	{ LIT("ROOT LOGIN REFUSED FROM "), XB_EV_ROOT_REFUSED, addr_opt_port },
	{ LIT("reverse mapping checking getaddrinfo for "), XB_EV_REVERSE_MAP, reverse_map },
};

static enum xb_ev_kind classify(struct xb_event *ev, struct span m)
{
	if (m.n < 8)
		return XB_EV_NONE;
	/* privsep children's messages end in " [preauth]": sshd's own suffix */
	cut_suffix(&m, LIT(" [preauth]"));
	for (size_t i = 0; i < ARRAY_SIZE(forms); i++) {
		const struct sshd_form *f = &forms[i];

		/* the first byte first: most lines match no form */
		if (m.n && m.s[0] == f->prefix[0] && cut_prefix(&m, f->prefix, f->len))
			return f->parse(ev, m, f->kind);
	}
	return XB_EV_NONE;
}

enum xb_ev_kind xb_decode_sshd(struct xb_event *ev)
{
	struct span m = { ev->msg, ev->msg_len };

	ev->has_src = false;
	ev->port = 0;
	ev->user[0] = '\0';
	ev->user_set = false;
	ev->invalid_user = false;
	ev->kind = classify(ev, m);
	if (!ev->has_src)
		ev->port = 0;
	return ev->kind;
}
