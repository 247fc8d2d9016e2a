// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz the small parsers every stage trusts: xb_addr_parse (with and
 * without masking), xb_addr_parse_host (a length-bounded slice),
 * xb_parse_u64 and xb_parse_duration. Addresses must round-trip through
 * their text and never come from text with white space, a sign or a NUL;
 * the number parsers are checked against a plain reference reading of
 * their documented syntax.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/util.h"

static const char *input;

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_parsers: %s on '%s'\n", what, input);
	abort();
}

#define check(cond) do { if (!(cond)) fail(#cond); } while (0)

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Decimal digits -> *v; false on overflow. */
static bool ref_digits(const char *s, size_t n, uint64_t *v)
{
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t d = (uint64_t)(s[i] - '0');

		if (*v > (UINT64_MAX - d) / 10)
			return false;
		*v = *v * 10 + d;
	}
	return true;
}

static void check_u64(const char *s, uint64_t max)
{
	uint64_t v = 0, r = 0;
	int ret = xb_parse_u64(s, max, &v), want;

	if (!all_digits(s))
		want = -EINVAL;
	else if (!ref_digits(s, strlen(s), &r) || r > max)
		want = -ERANGE;
	else
		want = 0;
	check(ret == want);
	check(ret || v == r);
}

static void check_duration(const char *s)
{
	static const char units[] = "smhdw";
	static const uint64_t mult[] = { 1, 60, 3600, 86400, 604800 };
	size_t n = strspn(s, "0123456789");
	uint64_t v = 0, r = 0, m = 1;
	int ret = xb_parse_duration(s, &v), want = 0;

	if (!n)
		want = -EINVAL;
	else if (!ref_digits(s, n, &r))
		want = -ERANGE;
	else if (s[n] && (s[n + 1] || !strchr(units, s[n])))
		want = -EINVAL;
	else if (s[n])
		m = mult[strchr(units, s[n]) - units];
	if (!want && r > (UINT64_MAX / NSEC_PER_SEC / 4) / m)
		want = -ERANGE;
	check(ret == want);
	check(ret || v == r * m);
}

/* The text after '/' is a prefix length as written by a person: digits. */
static bool plain_prefix(const char *s)
{
	const char *slash = strchr(s, '/');

	if (!slash)
		return true;
	return all_digits(slash + 1) && strlen(slash + 1) <= 3 &&
	       (slash[1] != '0' || !slash[2]);
}

static void check_addr(const char *s, size_t len)
{
	struct xb_addr a, b, m;
	char txt[XB_ADDRSTRLEN];
	int ret = xb_addr_parse(s, &a, false);

	if (xb_addr_parse(s, &m, true) == 0) {
		check(plain_prefix(s) && !strpbrk(s, " \t\n\r\v\f+-"));
		check(m.family == 4 || m.family == 6);
		check(m.prefixlen <= (m.family == 4 ? 32 : 128));
		b = m;
		xb_addr_mask(&b);
		check(xb_addr_eq(&b, &m));
		check(xb_addr_parse(xb_addr_fmt(&m, txt, sizeof(txt)), &b, false) == 0);
		check(xb_addr_eq(&b, &m));
		check(ret || xb_addr_eq(&a, &m));
	} else {
		check(ret);
	}
	/* the same bytes as a slice: no prefix, no NUL, else as above */
	ret = xb_addr_parse_host(s, len, &b);
	if (memchr(s, '\0', len) || memchr(s, '/', len))
		check(ret);
	else if (xb_addr_parse(s, &a, false) == 0)
		check(ret == 0 && xb_addr_eq(&a, &b) && xb_addr_is_single(&b));
	else
		check(ret);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	input = s;
	check_addr(s, size);
	check_u64(s, UINT64_MAX);
	check_u64(s, 65535);
	check_duration(s);
	free(s);
	return 0;
}
