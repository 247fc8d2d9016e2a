// SPDX-License-Identifier: GPL-2.0
/* addrset: a sorted-on-demand set of addresses (see addrset.h). */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "pipeline/addrset.h"

/* Keys compare as the state database orders them: family, length, bytes. */
static int key_cmp(const void *x, const void *y)
{
	return memcmp(x, y, sizeof(struct xb_addr));
}

static struct xb_addr key_of(const struct xb_addr *a)
{
	struct xb_addr k = *a;

	k.pad[0] = k.pad[1] = 0;
	return k;
}

void xb_addr_set_sort(struct xb_addr_set *s)
{
	size_t w = 0;

	if (!s->unsorted)
		return;
	qsort(s->a, s->n, sizeof(*s->a), key_cmp);
	for (size_t i = 0; i < s->n; i++)       /* duplicates go */
		if (!w || key_cmp(&s->a[w - 1], &s->a[i]))
			s->a[w++] = s->a[i];
	s->n = w;
	s->unsorted = false;
}

int xb_addr_set_add(struct xb_addr_set *s, const struct xb_addr *a)
{
	int err = xb_grow(&s->a, &s->cap, s->n, sizeof(*s->a), 64);

	if (err)
		return err;
	s->a[s->n] = key_of(a);
	if (s->n && key_cmp(&s->a[s->n - 1], &s->a[s->n]) >= 0)
		s->unsorted = true;
	s->n++;
	return 0;
}

static struct xb_addr *find(struct xb_addr_set *s, const struct xb_addr *a)
{
	struct xb_addr k = key_of(a);

	if (!s->n)
		return NULL;
	xb_addr_set_sort(s);
	return bsearch(&k, s->a, s->n, sizeof(*s->a), key_cmp);
}

bool xb_addr_set_has(struct xb_addr_set *s, const struct xb_addr *a)
{
	return find(s, a) != NULL;
}

bool xb_addr_set_del(struct xb_addr_set *s, const struct xb_addr *a)
{
	struct xb_addr *p = find(s, a);

	if (!p)
		return false;
	memmove(p, p + 1, (s->a + s->n - p - 1) * sizeof(*p));
	s->n--;
	return true;
}

void xb_addr_set_free(struct xb_addr_set *s)
{
	free(s->a);
	*s = (struct xb_addr_set){ 0 };
}
