/* SPDX-License-Identifier: GPL-2.0 */
/*
 * addrset: a set of addresses and prefixes, kept in an array and sorted on
 * demand (adding many, then asking, is one sort). The enforcement's lists:
 * the prefixes in the maps, the bans the maps could not take.
 */
#ifndef XB_ADDRSET_H
#define XB_ADDRSET_H

#include <stdbool.h>
#include <stddef.h>

#include "common/addr.h"

struct xb_addr_set {
	struct xb_addr *a;
	size_t n, cap;
	bool unsorted;
};

/* 0 or -ENOMEM; an address already there is not added twice. */
int xb_addr_set_add(struct xb_addr_set *s, const struct xb_addr *a);
bool xb_addr_set_has(struct xb_addr_set *s, const struct xb_addr *a);
/* true when a was there. */
bool xb_addr_set_del(struct xb_addr_set *s, const struct xb_addr *a);
/* Sorted, without duplicates: s->a[0 .. s->n) may be read in order. */
void xb_addr_set_sort(struct xb_addr_set *s);
void xb_addr_set_free(struct xb_addr_set *s);

#endif
