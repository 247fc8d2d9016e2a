// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz the decoder with the attacker's part only: the input is a user name
 * (or banner, or certificate key id) put where sshd writes it into one of
 * sshd's message forms, with the real source 198.18.7.9 or 2001:db8::7:9
 * where sshd writes that. Whatever the name holds (" from 198.51.100.1 port
 * 22 ssh2", a second "invalid user", quotes, NULs), a decoded address must
 * be the real one; and for the forms that are parsed from sshd's own end,
 * it must be found (an attacker must not make their lines address-less).
 *
 * Input: byte 0 picks the form, byte 1 the address family (bit 0), the
 * header (bits 1-2: none, RFC 3164, ISO 8601, ISO with two spaces and a Solaris id) and the port (bits 3-7); the
 * rest is the attacker's text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode/decode.h"

/* %U: the attacker's text; %A: the address; %P: the port. */
static const struct form {
	const char *fmt;
	bool must_find;         /* sshd's own text after the last %U */
} forms[] = {
	{ "Invalid user %U from %A port %P", true },
	{ "Invalid user %U from %A", true },
	{ "Illegal user %U from %A", true },
	{ "Failed password for %U from %A port %P ssh2", true },
	{ "Failed password for invalid user %U from %A port %P ssh2", true },
	{ "Failed none for invalid user %U from %A port %P ssh2", true },
	{ "Failed keyboard-interactive/pam for %U from %A port %P ssh2", true },
	{ "Accepted publickey for %U from %A port %P ssh2: ED25519 SHA256:Zm9vYmFyYmF6+/=", true },
	{ "Accepted password for %U from %A port %P ssh2", true },
	/* the key id is the client's and comes last but for sshd's " (serial N) CA":
	 * a line that cannot be told apart has no address, by design */
	{ "Failed publickey for %U from %A port %P ssh2: RSA-CERT SHA256:Zm9v ID %U (serial 1) CA RSA SHA256:YmFy", false },
	{ "Accepted publickey for %U from %A port %P ssh2: ECDSA-CERT SHA256:Zm9v ID %U (serial 9) CA ED25519 SHA256:YmFy", false },
	{ "User %U from %A not allowed because not listed in AllowUsers", true },
	{ "User %U from %A not allowed because listed in DenyUsers", true },
	{ "User %U from %A not allowed because none of user's groups are listed in AllowGroups", true },
	{ "error: maximum authentication attempts exceeded for %U from %A port %P ssh2 [preauth]", true },
	{ "error: maximum authentication attempts exceeded for invalid user %U from %A port %P ssh2 [preauth]", true },
	{ "error: PAM: Authentication failure for %U from %A", true },
	{ "error: PAM: Authentication failure for illegal user %U from %A", true },
	{ "Disconnecting invalid user %U %A port %P: Too many authentication failures [preauth]", true },
	{ "Disconnecting authenticating user %U %A port %P: Too many authentication failures [preauth]", true },
	{ "Connection closed by invalid user %U %A port %P [preauth]", true },
	{ "Connection closed by authenticating user %U %A port %P [preauth]", true },
	{ "Disconnected from invalid user %U %A port %P [preauth]", true },
	{ "Disconnected from authenticating user %U %A port %P [preauth]", true },
	{ "Bad protocol version identification '%U' from %A port %P", true },
	{ "Received disconnect from %A port %P:11: %U [preauth]", true },
	{ "error: PAM: authentication error for %U from %A via 198.18.0.1", true },
	{ "error: PAM: unknown user for illegal user %U from %A via 2001:db8::1", true },
	{ "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=%A  user=%U", true },
};

static const char *const headers[] = {
	"", "Nov 28 07:01:08 srv sshd[4242]: ", "2024-11-28T07:01:08.123456+01:00 srv sshd-session[4242]: ",
	"2020-03-23 06:47:42.801612-0700  srv sshd[4242]: [ID 800047 auth.notice] ",
};

#define LINE_MAX_LEN 8192

static char line[LINE_MAX_LEN];
static size_t line_len;

static void put(const char *s, size_t n)
{
	if (n > sizeof(line) - line_len)
		n = sizeof(line) - line_len;
	memcpy(line + line_len, s, n);
	line_len += n;
}

static void build(const struct form *f, const char *hdr, const char *addr, unsigned port,
		  const char *u, size_t ul)
{
	char pbuf[8];

	line_len = 0;
	put(hdr, strlen(hdr));
	for (const char *p = f->fmt; *p; p++) {
		if (p[0] != '%' || !p[1]) {
			put(p, 1);
			continue;
		}
		p++;
		if (*p == 'U')
			put(u, ul);
		else if (*p == 'A')
			put(addr, strlen(addr));
		else if (*p == 'P')
			put(pbuf, (size_t)snprintf(pbuf, sizeof(pbuf), "%u", port));
	}
}

static void fail(const char *what, const struct form *f, const struct xb_event *ev)
{
	char got[XB_ADDRSTRLEN];

	fprintf(stderr, "fuzz_decoder_user: %s\n  form: %s\n  line: '%.*s'\n  got: %s\n",
		what, f->fmt, (int)line_len, line,
		ev->has_src ? xb_addr_str(&ev->src, got, sizeof(got)) : "no address");
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct form *f;
	const char *addr, *hdr;
	struct xb_addr want;
	struct xb_event ev;
	struct xb_line l;
	unsigned port;
	char *copy;

	if (size < 2)
		return 0;
	f = &forms[data[0] % (sizeof(forms) / sizeof(forms[0]))];
	addr = data[1] & 1 ? "2001:db8::7:9" : "198.18.7.9";
	hdr = headers[data[1] >> 1 & 3];
	port = 1024u + (data[1] >> 3) * 1999u;
	build(f, hdr, addr, port, (const char *)data + 2, size - 2);
	if (xb_addr_parse(addr, &want, false))
		abort();
	/* exactly line_len bytes: ASan sees a read past the line */
	copy = malloc(line_len);
	if (!copy)
		return 0;
	memcpy(copy, line, line_len);
	l = (struct xb_line){ .text = copy, .len = line_len, .bare = !*hdr };
	if (xb_decode_line(&l, &ev) != XB_DEC_SSHD || ev.kind == XB_EV_NONE)
		fail("not recognised as sshd's message", f, &ev);
	if (ev.has_src && !xb_addr_eq(&ev.src, &want))
		fail("the address is not the one sshd wrote", f, &ev);
	/* sshd cuts a message at 1024 bytes; a longer one may lose its end */
	if (!ev.has_src && f->must_find && ev.msg_len < 1000)
		fail("the attacker's text hid the address", f, &ev);
	free(copy);
	return 0;
}
