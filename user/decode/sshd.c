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
 */
#include <string.h>

#include "decode/decode.h"

#define IS_DIGIT(c) ((unsigned)((unsigned char)(c) - '0') < 10u)

struct span {
	const char *s;
	size_t n;
};

#define LIT(x) x, sizeof(x) - 1

static bool has_prefix(struct span sp, const char *lit, size_t ll)
{
	return sp.n >= ll && memcmp(sp.s, lit, ll) == 0;
}

static bool cut_prefix(struct span *sp, const char *lit, size_t ll)
{
	if (!has_prefix(*sp, lit, ll))
		return false;
	sp->s += ll;
	sp->n -= ll;
	return true;
}

static bool cut_suffix(struct span *sp, const char *lit, size_t ll)
{
	if (sp->n < ll || memcmp(sp->s + sp->n - ll, lit, ll) != 0)
		return false;
	sp->n -= ll;
	return true;
}

/* Remove a trailing " port DIGITS". */
static bool cut_port(struct span *sp, uint16_t *port)
{
	size_t e = sp->n, d = e;
	unsigned v = 0;

	while (d > 0 && IS_DIGIT(sp->s[d - 1]))
		d--;
	if (d == e || e - d > 5 || d < 6 || memcmp(sp->s + d - 6, " port ", 6) != 0)
		return false;
	for (size_t k = d; k < e; k++)
		v = v * 10 + (unsigned)(sp->s[k] - '0');
	if (v > 65535)
		return false;
	*port = (uint16_t)v;
	sp->n = d - 6;
	return true;
}

/* Remove the last space-separated token, returned in *tok. */
static bool cut_last_token(struct span *sp, struct span *tok)
{
	size_t e = sp->n, b = e;

	while (b > 0 && sp->s[b - 1] != ' ')
		b--;
	if (b == e || b == 0)
		return false;
	tok->s = sp->s + b;
	tok->n = e - b;
	sp->n = b - 1;
	return true;
}

/* Leading token up to a space or the end. */
static bool cut_first_token(struct span *sp, struct span *tok)
{
	size_t e = 0;

	while (e < sp->n && sp->s[e] != ' ')
		e++;
	if (e == 0)
		return false;
	tok->s = sp->s;
	tok->n = e;
	sp->s += e;
	sp->n -= e;
	return true;
}

static void set_addr(struct xb_event *ev, struct span tok)
{
	ev->has_src = xb_addr_parse_host(tok.s, tok.n, &ev->src) == 0;
}

/* Copy attacker text for display: control bytes become '?'. */
static void set_user(struct xb_event *ev, struct span u)
{
	size_t n = u.n < sizeof(ev->user) - 1 ? u.n : sizeof(ev->user) - 1;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)u.s[i];

		ev->user[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	ev->user[n] = '\0';
	ev->user_set = true;
}

static void cut_invalid(struct xb_event *ev, struct span *u)
{
	if (cut_prefix(u, LIT("invalid user ")) || cut_prefix(u, LIT("illegal user ")))
		ev->invalid_user = true;
}

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

/*
 * sshd formats a message into a 1024-byte buffer: a longer one is cut, and
 * the client's text (a certificate's key id) can then be its end. Messages
 * this long are never trusted to end the way sshd writes them.
 */
#define SSHD_MAY_BE_CUT 1000

/* "TYPE FP" or "TYPE FP, signature count = N": a key as sshd describes
 * it, with nothing of the client's (no quotes, no further words). */
static bool own_key_tail(const char *t, size_t n)
{
	static const char sig[] = ", signature count = ";
	const size_t sl = sizeof(sig) - 1;
	size_t i = 0, f;

	while (i < n && (IS_DIGIT(t[i]) || (t[i] >= 'A' && t[i] <= 'Z') || (t[i] >= 'a' && t[i] <= 'z') ||
			 t[i] == '-' || t[i] == '@' || t[i] == '.' || t[i] == '_'))
		i++;
	if (i == 0 || i >= n || t[i] != ' ')
		return false;
	f = ++i;
	while (i < n && (IS_DIGIT(t[i]) || (t[i] >= 'A' && t[i] <= 'Z') || (t[i] >= 'a' && t[i] <= 'z') ||
			 t[i] == '+' || t[i] == '/' || t[i] == '=' || t[i] == ':'))
		i++;
	if (i == f)
		return false;
	if (i == n)
		return true;
	if (n - i <= sl || memcmp(t + i, sig, sl) != 0)
		return false;
	for (i += sl; i < n; i++)
		if (!IS_DIGIT(t[i]))
			return false;
	return true;
}

/* "<user part> from ADDR port P" (all of p): the address, port and user. */
static bool from_addr_port(struct span p, struct xb_addr *a, uint16_t *port, struct span *user)
{
	struct span tok;

	if (!cut_port(&p, port) || !cut_last_token(&p, &tok) || !cut_suffix(&p, LIT(" from")) ||
	    xb_addr_parse_host(tok.s, tok.n, a) < 0)
		return false;
	*user = p;
	return true;
}

/*
 * "Failed|Accepted <method> for [invalid user ]U from A port P ssh2[: EXTRA]"
 *
 * U comes before sshd's " from A port P ssh2", EXTRA after it, and both can
 * hold the client's text: a certificate's key id, hostbased's client user
 * and host, and the user name may contain " from X port 22 ssh2: ..." too.
 * Every " ssh2" that ends the message or is followed by ": " and follows
 * " from ADDR port N" is a candidate. When all candidates name one address,
 * that is it. Otherwise only a candidate whose rest is sshd's own (the end of
 * the message, or a bare key "TYPE FP") is believed, when it is the only one
 * and the message cannot have been cut short; else the line has no address.
 */
static enum xb_ev_kind failed_accepted(struct xb_event *ev, struct span m, enum xb_ev_kind kind)
{
	bool may_be_cut = ev->msg_len >= SSHD_MAY_BE_CUT, distinct = false;
	struct xb_addr first = { 0 }, a, best_a = { 0 };
	struct span u, best_u = { 0 }, last_u = { 0 };
	uint16_t port, best_port = 0, last_port = 0;
	unsigned valid = 0, preferred = 0;
	size_t i;

	/* method: one token, then " for " */
	for (i = 0; i < m.n && m.s[i] != ' '; i++)
		;
	m.s += i;
	m.n -= i;
	if (!cut_prefix(&m, LIT(" for ")))
		return XB_EV_NONE;
	for (size_t k = 0; k + 5 <= m.n; k++) {
		const char *t = m.s + k + 7;
		bool at_end = k + 5 == m.n;

		if (memcmp(m.s + k, " ssh2", 5) != 0 ||
		    !(at_end || (k + 7 <= m.n && m.s[k + 5] == ':' && m.s[k + 6] == ' ')))
			continue;
		if (!from_addr_port((struct span){ m.s, k }, &a, &port, &u))
			continue;
		if (!valid++)
			first = a;
		else if (!xb_addr_eq(&a, &first))
			distinct = true;
		last_u = u;
		last_port = port;
		if (!may_be_cut && (at_end || own_key_tail(t, (size_t)(m.s + m.n - t)))) {
			preferred++;
			best_a = a;
			best_u = u;
			best_port = port;
		}
	}
	if (!valid || (distinct && preferred != 1))
		return kind;    /* kind known, address not trustworthy */
	if (preferred == 1) {
		ev->src = best_a;
		u = best_u;
		ev->port = best_port;
	} else {
		ev->src = first;
		u = last_u;
		ev->port = last_port;
	}
	ev->has_src = true;
	cut_invalid(ev, &u);
	set_user(ev, u);
	return kind;
}

/* "Invalid user U from A[ port P]" */
static enum xb_ev_kind invalid_user(struct xb_event *ev, struct span m)
{
	struct span u;

	ev->invalid_user = true;
	cut_port(&m, &ev->port);
	if (tail_from_addr(ev, m, &u))
		set_user(ev, u);
	return XB_EV_INVALID_USER;
}

/* "User U from A not allowed because REASON" */
static enum xb_ev_kind not_allowed(struct xb_event *ev, struct span m)
{
	static const char key[] = " not allowed because ";
	const size_t kl = sizeof(key) - 1;
	struct span u;

	for (size_t k = m.n; k >= kl; k--)
		if (memcmp(m.s + k - kl, key, kl) == 0) {
			m.n = k - kl;
			if (tail_from_addr(ev, m, &u))
				set_user(ev, u);
			return XB_EV_NOT_ALLOWED;
		}
	return XB_EV_NONE;
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

/* "A[ port P]" and nothing else. */
static void addr_opt_port(struct xb_event *ev, struct span m)
{
	struct span tok;

	cut_port(&m, &ev->port);
	if (cut_first_token(&m, &tok) && m.n == 0)
		set_addr(ev, tok);
}

/* "A port P" followed by ':' or the end, from the left. */
static void addr_port_left(struct xb_event *ev, struct span m)
{
	struct span tok;
	unsigned v = 0;
	size_t i = 0;

	if (!cut_first_token(&m, &tok) || !cut_prefix(&m, LIT(" port ")))
		return;
	while (i < m.n && IS_DIGIT(m.s[i]) && i < 5)
		v = v * 10 + (unsigned)(m.s[i++] - '0');
	if (i == 0 || v > 65535 || (i < m.n && m.s[i] != ':'))
		return;
	ev->port = (uint16_t)v;
	set_addr(ev, tok);
}

static enum xb_ev_kind pam_unix(struct xb_event *ev, struct span m)
{
	/* "...; logname= uid=0 euid=0 tty=ssh ruser= rhost=A  user=U": the
	 * first rhost= is PAM's own field, user= comes after it. */
	static const char rk[] = " rhost=";
	const char *r = memmem(m.s, m.n, rk, sizeof(rk) - 1);
	struct span rest, tok;

	if (!r)
		return XB_EV_PAM_FAIL;
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
	return XB_EV_PAM_FAIL;
}

static enum xb_ev_kind reverse_map(struct xb_event *ev, struct span m)
{
	/* "... for HOST [A] failed - POSSIBLE BREAK-IN ATTEMPT!": HOST is the
	 * attacker's PTR name; A sits in the last brackets. */
	size_t b;

	if (!cut_suffix(&m, LIT("] failed - POSSIBLE BREAK-IN ATTEMPT!")))
		return XB_EV_REVERSE_MAP;
	for (b = m.n; b > 0 && m.s[b - 1] != '['; b--)
		;
	if (b > 0) {
		struct span tok = { m.s + b, m.n - b };

		set_addr(ev, tok);
	}
	return XB_EV_REVERSE_MAP;
}

static enum xb_ev_kind classify(struct xb_event *ev, struct span m)
{
	struct span u;

	if (m.n < 8)
		return XB_EV_NONE;
	/* privsep children's messages end in " [preauth]": sshd's own suffix */
	cut_suffix(&m, LIT(" [preauth]"));

	switch (m.s[0]) {
	case 'F':
		if (cut_prefix(&m, LIT("Failed ")))
			return failed_accepted(ev, m, XB_EV_AUTH_FAIL);
		break;
	case 'A':
		if (cut_prefix(&m, LIT("Accepted ")))
			return failed_accepted(ev, m, XB_EV_ACCEPTED);
		if (cut_prefix(&m, LIT("Address ")) &&
		    cut_suffix(&m, LIT(" but this does not map back to the address - POSSIBLE BREAK-IN ATTEMPT!"))) {
			struct span tok;

			if (cut_first_token(&m, &tok) && has_prefix(m, LIT(" maps to ")))
				set_addr(ev, tok);
			return XB_EV_REVERSE_MAP;
		}
		break;
	case 'I':
		if (cut_prefix(&m, LIT("Invalid user ")) || cut_prefix(&m, LIT("Illegal user ")))
			return invalid_user(ev, m);
		break;
	case 'U':
		if (cut_prefix(&m, LIT("User ")))
			return not_allowed(ev, m);
		if (cut_prefix(&m, LIT("Unable to negotiate with "))) {
			addr_port_left(ev, m);
			return XB_EV_NEGOTIATE;
		}
		break;
	case 'e':
		if (cut_prefix(&m, LIT("error: maximum authentication attempts exceeded for "))) {
			cut_suffix(&m, LIT(" ssh2"));
			if (cut_port(&m, &ev->port) && tail_from_addr(ev, m, &u)) {
				cut_invalid(ev, &u);
				set_user(ev, u);
			}
			return XB_EV_MAX_AUTH;
		}
		if (cut_prefix(&m, LIT("error: PAM: Authentication failure for "))) {
			if (tail_from_addr(ev, m, &u)) {
				cut_invalid(ev, &u);
				set_user(ev, u);
			}
			return XB_EV_PAM_FAIL;
		}
		if (cut_prefix(&m, LIT("error: kex_exchange_identification: ")))
			return XB_EV_BAD_PROTO;
		break;
	case 'D':
		if (cut_prefix(&m, LIT("Disconnecting "))) {
			if (!cut_suffix(&m, LIT(": Too many authentication failures")))
				return XB_EV_NONE;
			user_addr_port(ev, m);
			return XB_EV_TOO_MANY_FAIL;
		}
		if (cut_prefix(&m, LIT("Disconnected from "))) {
			if (has_prefix(m, LIT("authenticating user ")) || has_prefix(m, LIT("invalid user "))) {
				user_addr_port(ev, m);
				return XB_EV_DISCONN_PREAUTH;
			}
			user_addr_port(ev, m);  /* after a login: noise */
			return XB_EV_NONE;
		}
		if (cut_prefix(&m, LIT("Did not receive identification string from "))) {
			addr_opt_port(ev, m);
			return XB_EV_NO_IDENT;
		}
		break;
	case 'C':
		if (cut_prefix(&m, LIT("Connection closed by "))) {
			bool preauth = has_prefix(m, LIT("authenticating user ")) ||
				       has_prefix(m, LIT("invalid user "));

			user_addr_port(ev, m);
			return preauth ? XB_EV_CLOSED_PREAUTH : XB_EV_NONE;
		}
		break;
	case 'B':
		if (cut_prefix(&m, LIT("Bad protocol version identification "))) {
			/* the quoted banner is attacker text: parse from the end */
			cut_port(&m, &ev->port);
			tail_from_addr(ev, m, NULL);
			return XB_EV_BAD_PROTO;
		}
		break;
	case 'b':
		if (cut_prefix(&m, LIT("banner exchange: Connection from "))) {
			addr_port_left(ev, m);
			return XB_EV_BAD_PROTO;
		}
		break;
	case 'k':
		if (has_prefix(m, LIT("kex_exchange_identification: ")))
			return XB_EV_BAD_PROTO;
		break;
	case 'f':
		if (cut_prefix(&m, LIT("fatal: Timeout before authentication for "))) {
			addr_port_left(ev, m);
			return XB_EV_TIMEOUT;
		}
		break;
	case 'T':
		if (cut_prefix(&m, LIT("Timeout before authentication for "))) {
			addr_port_left(ev, m);
			return XB_EV_TIMEOUT;
		}
		break;
	case 'p':
		if (cut_prefix(&m, LIT("pam_unix(sshd:auth): authentication failure;")))
			return pam_unix(ev, m);
		break;
	case 'R':
		if (cut_prefix(&m, LIT("ROOT LOGIN REFUSED FROM "))) {
			addr_opt_port(ev, m);
			return XB_EV_ROOT_REFUSED;
		}
		break;
	case 'r':
		if (cut_prefix(&m, LIT("reverse mapping checking getaddrinfo for ")))
			return reverse_map(ev, m);
		break;
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
