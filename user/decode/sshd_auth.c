// SPDX-License-Identifier: GPL-2.0
/*
 * decode: sshd's authentication results,
 * "Failed|Accepted <method> for [invalid user ]U from A port P ssh2[: EXTRA]".
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
#include "decode/internal.h"

/*
 * sshd formats a message into a 1024-byte buffer: a longer one is cut, and
 * the client's text (a certificate's key id) can then be its end. Messages
 * this long are never trusted to end the way sshd writes them.
 */
#define SSHD_MAY_BE_CUT 1000

/* The candidates seen so far, left to right. */
struct ssh2_pick {
	unsigned valid;         /* candidates with a numeric address */
	unsigned preferred;     /* of which sshd's own text follows */
	bool distinct;          /* they name more than one address */
	struct xb_addr first;   /* the first candidate's address */
	struct span last_u;     /* the last candidate's user and port */
	uint16_t last_port;
	struct xb_addr best_a;  /* the last preferred candidate */
	struct span best_u;
	uint16_t best_port;
};

static bool key_type_char(char c)
{
	return IS_DIGIT(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       c == '-' || c == '@' || c == '.' || c == '_';
}

static bool key_fp_char(char c)
{
	return IS_DIGIT(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       c == '+' || c == '/' || c == '=' || c == ':';
}

/* "TYPE FP" or "TYPE FP, signature count = N": a key as sshd describes
 * it, with nothing of the client's (no quotes, no further words). */
static bool own_key_tail(const char *t, size_t n)
{
	static const char sig[] = ", signature count = ";
	const size_t sl = sizeof(sig) - 1;
	size_t i = 0, f;

	while (i < n && key_type_char(t[i]))
		i++;
	if (i == 0 || i >= n || t[i] != ' ')
		return false;
	f = ++i;
	while (i < n && key_fp_char(t[i]))
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

/* " ssh2" at m.s + k, ending the message or followed by ": ". */
static bool ssh2_at(struct span m, size_t k, bool *at_end)
{
	*at_end = k + 5 == m.n;
	return memcmp(m.s + k, " ssh2", 5) == 0 &&
	       (*at_end || (k + 7 <= m.n && m.s[k + 5] == ':' && m.s[k + 6] == ' '));
}

/* Record the candidate " ssh2" at m.s + k, if " from ADDR port N" precedes it. */
static void consider(struct ssh2_pick *p, struct span m, size_t k, bool at_end, bool may_be_cut)
{
	struct xb_addr a;
	struct span u;
	uint16_t port;

	if (!from_addr_port((struct span){ m.s, k }, &a, &port, &u))
		return;
	if (!p->valid++)
		p->first = a;
	else if (!xb_addr_eq(&a, &p->first))
		p->distinct = true;
	p->last_u = u;
	p->last_port = port;
	if (!may_be_cut && (at_end || own_key_tail(m.s + k + 7, m.n - k - 7))) {
		p->preferred++;
		p->best_a = a;
		p->best_u = u;
		p->best_port = port;
	}
}

enum xb_ev_kind xb_dec_failed_accepted(struct xb_event *ev, struct span m, enum xb_ev_kind kind)
{
	bool may_be_cut = ev->msg_len >= SSHD_MAY_BE_CUT;
	struct ssh2_pick p = { 0 };
	struct span u;
	size_t i;

	/* method: one token, then " for " */
	for (i = 0; i < m.n && m.s[i] != ' '; i++)
		;
	m.s += i;
	m.n -= i;
	if (!cut_prefix(&m, LIT(" for ")))
		return XB_EV_NONE;
	for (size_t k = 0; k + 5 <= m.n; k++) {
		bool at_end;

		if (ssh2_at(m, k, &at_end))
			consider(&p, m, k, at_end, may_be_cut);
	}
	if (!p.valid || (p.distinct && p.preferred != 1))
		return kind;    /* kind known, address not trustworthy */
	if (p.preferred == 1) {
		ev->src = p.best_a;
		u = p.best_u;
		ev->port = p.best_port;
	} else {
		ev->src = p.first;
		u = p.last_u;
		ev->port = p.last_port;
	}
	ev->has_src = true;
	cut_invalid(ev, &u);
	set_user(ev, u);
	return kind;
}
