// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static unsigned maxlen(const struct xb_addr *a)
{
	return a->family == 4 ? 32 : 128;
}

void xb_addr_mask(struct xb_addr *a)
{
	unsigned n = maxlen(a) / 8, p = a->prefixlen;

	for (unsigned i = 0; i < n; i++) {
		if (p >= 8) {
			p -= 8;
			continue;
		}
		a->bytes[i] &= (uint8_t)(0xff00 >> p);
		p = 0;
	}
	for (unsigned i = n; i < 16; i++)
		a->bytes[i] = 0;
}

struct xb_addr xb_addr_prefix(const struct xb_addr *a, unsigned plen)
{
	struct xb_addr r = *a;

	if (plen < r.prefixlen)
		r.prefixlen = (uint8_t)plen;
	xb_addr_mask(&r);
	return r;
}

/* Parse a bare numeric address from a NUL-terminated string. */
static int parse_bare(const char *s, struct xb_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (strchr(s, ':')) {
		if (inet_pton(AF_INET6, s, a->bytes) != 1)
			return -EINVAL;
		if (!memcmp(a->bytes, v4mapped, sizeof(v4mapped))) {
			memmove(a->bytes, a->bytes + 12, 4);
			memset(a->bytes + 4, 0, 12);
			a->family = 4;
			a->prefixlen = 32;
			return 1;       /* folded: a prefix must drop by 96 */
		}
		a->family = 6;
		a->prefixlen = 128;
		return 0;
	}
	/* inet_pton accepts only dotted quads: no "1", no octal, no hex. */
	if (inet_pton(AF_INET, s, a->bytes) != 1)
		return -EINVAL;
	a->family = 4;
	a->prefixlen = 32;
	return 0;
}

/*
 * The prefix length after the slash: 1 to 3 decimal digits and nothing else
 * (strtoul would take leading spaces, a sign and leading zeros). -EINVAL.
 */
static int parse_prefixlen(const char *s, unsigned *out)
{
	unsigned v = 0;
	size_t n = 0;

	for (; s[n] >= '0' && s[n] <= '9'; n++)
		v = v * 10 + (unsigned)(s[n] - '0');
	if (n == 0 || n > 3 || s[n] || (s[0] == '0' && n > 1))
		return -EINVAL;
	*out = v;
	return 0;
}

int xb_addr_parse(const char *s, struct xb_addr *a, bool mask)
{
	char buf[XB_ADDRSTRLEN];
	const char *slash;
	int folded;

	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(s, '/');
	if (slash)
		buf[slash - s] = '\0';
	folded = parse_bare(buf, a);
	if (folded < 0)
		return folded;
	if (slash) {
		unsigned p;

		if (parse_prefixlen(slash + 1, &p))
			return -EINVAL;
		if (folded) {
			if (p < 96 || p > 128)
				return -EINVAL;
			p -= 96;
		}
		if (p > maxlen(a))
			return -EINVAL;
		struct xb_addr m = *a;

		m.prefixlen = (uint8_t)p;
		xb_addr_mask(&m);
		if (!mask && memcmp(m.bytes, a->bytes, 16))
			return -EINVAL;
		*a = m;
	}
	return 0;
}

int xb_addr_parse_host(const char *s, size_t len, struct xb_addr *a)
{
	char buf[XB_ADDRSTRLEN];

	/* a NUL inside the slice would cut it short into something that parses */
	if (len == 0 || len >= sizeof(buf) || memchr(s, '\0', len))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return parse_bare(buf, a) < 0 ? -EINVAL : 0;
}

const char *xb_addr_str(const struct xb_addr *a, char *buf, size_t len)
{
	if (!inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->bytes, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

const char *xb_addr_fmt(const struct xb_addr *a, char *buf, size_t len)
{
	char tmp[XB_ADDRSTRLEN];

	xb_addr_str(a, tmp, sizeof(tmp));
	if (xb_addr_is_single(a))
		snprintf(buf, len, "%s", tmp);
	else
		snprintf(buf, len, "%s/%u", tmp, a->prefixlen);
	return buf;
}

bool xb_addr_is_single(const struct xb_addr *a)
{
	return a->prefixlen == maxlen(a);
}

bool xb_addr_eq(const struct xb_addr *a, const struct xb_addr *b)
{
	return a->family == b->family && a->prefixlen == b->prefixlen &&
	       !memcmp(a->bytes, b->bytes, 16);
}

bool xb_addr_contains(const struct xb_addr *net, const struct xb_addr *host)
{
	if (net->family != host->family || net->prefixlen > host->prefixlen)
		return false;
	struct xb_addr h = xb_addr_prefix(host, net->prefixlen);

	return !memcmp(h.bytes, net->bytes, 16);
}

bool xb_addr_is_loopback(const struct xb_addr *a)
{
	static const uint8_t zero[16], one[16] = { [15] = 1 };

	if (a->family == 4)
		return a->bytes[0] == 127 || !memcmp(a->bytes, zero, 4);
	return !memcmp(a->bytes, one, 16) || !memcmp(a->bytes, zero, 16);
}
