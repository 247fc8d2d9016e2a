/* SPDX-License-Identifier: GPL-2.0 */
/* Addresses and prefixes, IPv4 and IPv6, as every stage passes them around. */
#ifndef XB_ADDR_H
#define XB_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XB_ADDRSTRLEN 64        /* longest "addr/prefix" text plus NUL */

struct xb_addr {
	uint8_t family;         /* 4 or 6 */
	uint8_t prefixlen;      /* 32 or 128 for a single address */
	uint8_t pad[2];
	uint8_t bytes[16];      /* network order; IPv4 uses the first 4 */
};

/*
 * "ADDR" or "ADDR/PREFIX". Numeric only (never resolves names). An IPv4-mapped
 * IPv6 address (::ffff:a.b.c.d[/96+n]) is folded to IPv4. Host bits below the
 * prefix must be zero unless mask is true, in which case they are cleared.
 * Returns 0 or -EINVAL.
 */
int xb_addr_parse(const char *s, struct xb_addr *a, bool mask);
/* Exactly one address, no prefix: what a log decoder accepts. len may be
 * shorter than the string (no NUL needed at s[len]). */
int xb_addr_parse_host(const char *s, size_t len, struct xb_addr *a);
/* Address alone ("198.18.0.2", "2001:db8::"). */
const char *xb_addr_str(const struct xb_addr *a, char *buf, size_t len);
/* Address with "/prefix" when it is not a single host. */
const char *xb_addr_fmt(const struct xb_addr *a, char *buf, size_t len);
/* Clear the bits below prefixlen. */
void xb_addr_mask(struct xb_addr *a);
/* Copy of a with prefix length plen (masked). */
struct xb_addr xb_addr_prefix(const struct xb_addr *a, unsigned plen);
/* Does net (a prefix) contain host (an address or a longer prefix)? */
bool xb_addr_contains(const struct xb_addr *net, const struct xb_addr *host);
bool xb_addr_eq(const struct xb_addr *a, const struct xb_addr *b);
bool xb_addr_is_single(const struct xb_addr *a);
/* 127/8, ::1, 0.0.0.0, :: - addresses that must never be banned. */
bool xb_addr_is_loopback(const struct xb_addr *a);

#endif
