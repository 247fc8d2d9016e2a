// SPDX-License-Identifier: GPL-2.0
/*
 * decode: one line -> one event. The header (syslog.c) or the source's
 * trusted fields give the program; sshd's messages go on to sshd.c.
 */
#include "decode/internal.h"

bool xb_decode_is_sshd_program(const char *p, size_t n)
{
	if (n < 4 || memcmp(p, "sshd", 4) != 0)
		return false;
	return n == 4 || (n == 12 && memcmp(p + 4, "-session", 8) == 0) ||
	       (n == 9 && memcmp(p + 4, "-auth", 5) == 0);
}

enum xb_decode_res xb_decode_line(const struct xb_line *in, struct xb_event *ev)
{
	size_t len = in->len;

	/* Reset only what the stages read; user[]/hostname[] are set when used. */
	ev->kind = XB_EV_NONE;
	ev->has_src = false;
	ev->port = 0;
	ev->user[0] = '\0';
	ev->user_set = false;
	ev->nocount = false;
	ev->src_from_session = false;
	ev->invalid_user = false;
	ev->decoder = NULL;
	ev->hostname[0] = '\0';
	while (len && (in->text[len - 1] == '\n' || in->text[len - 1] == '\r'))
		len--;
	if (in->bare) {
		ev->ts_usec = 0;
		ev->pid = in->pid;
		ev->msg = in->text;
		ev->msg_len = len;
		set_str(ev->program, sizeof(ev->program), in->program ? in->program : "sshd",
			in->program ? strlen(in->program) : 4);
	} else {
		if (xb_decode_syslog(in->text, len, ev) < 0) {
			ev->msg = in->text;
			ev->msg_len = len;
			ev->program[0] = '\0';
			if (in->ts_usec)
				ev->ts_usec = in->ts_usec;
			return XB_DEC_MALFORMED;
		}
		if (in->program)        /* trusted name from the source wins */
			set_str(ev->program, sizeof(ev->program), in->program, strlen(in->program));
		if (in->pid)
			ev->pid = in->pid;
	}
	if (in->ts_usec)
		ev->ts_usec = in->ts_usec;
	if (!xb_decode_is_sshd_program(ev->program, strlen(ev->program)))
		return XB_DEC_OTHER;
	ev->decoder = "sshd";
	/* as Wazuh's decoders do: sshd's pam_unix lines are PAM's (5500) */
	if (ev->msg_len >= 8 && !memcmp(ev->msg, "pam_unix", 8))
		ev->decoder = "pam";
	xb_decode_sshd(ev);
	return XB_DEC_SSHD;
}

enum xb_decode_res xb_decode_line_any(const struct xb_line *in, struct xb_event *ev, bool *bare)
{
	enum xb_decode_res res = xb_decode_line(in, ev);

	if (bare)
		*bare = false;
	if (res == XB_DEC_MALFORMED && !in->bare) {
		struct xb_line b = *in;

		b.bare = true;
		b.program = NULL;
		res = xb_decode_line(&b, ev);
		if (res == XB_DEC_SSHD && ev->kind == XB_EV_NONE) {
			ev->decoder = NULL;
			res = XB_DEC_MALFORMED;
		} else if (bare) {
			*bare = true;
		}
	}
	return res;
}

const char *xb_ev_kind_name(enum xb_ev_kind k)
{
	static const char *const names[XB_EV_KIND_MAX] = {
		[XB_EV_NONE] = "none",
		[XB_EV_AUTH_FAIL] = "auth_fail",
		[XB_EV_INVALID_USER] = "invalid_user",
		[XB_EV_NOT_ALLOWED] = "not_allowed",
		[XB_EV_MAX_AUTH] = "max_auth",
		[XB_EV_TOO_MANY_FAIL] = "too_many_failures",
		[XB_EV_CLOSED_PREAUTH] = "closed_preauth",
		[XB_EV_DISCONN_PREAUTH] = "disconnected_preauth",
		[XB_EV_NO_IDENT] = "no_ident",
		[XB_EV_BAD_PROTO] = "bad_protocol",
		[XB_EV_NEGOTIATE] = "negotiate",
		[XB_EV_TIMEOUT] = "timeout",
		[XB_EV_PAM_FAIL] = "pam_fail",
		[XB_EV_ROOT_REFUSED] = "root_refused",
		[XB_EV_REVERSE_MAP] = "reverse_map",
		[XB_EV_ACCEPTED] = "accepted",
		[XB_EV_RECV_DISCONN] = "received_disconnect",
		[XB_EV_CONN_FROM] = "connection_from",
	};

	return (unsigned)k < XB_EV_KIND_MAX && names[k] ? names[k] : "?";
}
