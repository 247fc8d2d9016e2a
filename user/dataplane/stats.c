// SPDX-License-Identifier: GPL-2.0
/* The program's global counters. */
#include <stdlib.h>

#include "dataplane/internal.h"

int xb_dp_stats(struct xb_dp *dp, uint64_t out[XB_STAT_MAX])
{
	struct xb_stats *vals = calloc(dp->ncpu, sizeof(*vals));
	__u32 zero = 0;
	int err;

	if (!vals)
		return -ENOMEM;
	memset(out, 0, XB_STAT_MAX * sizeof(out[0]));
	err = bpf_map_lookup_elem(dp->stats, &zero, vals);
	for (int c = 0; !err && c < dp->ncpu; c++)
		for (int i = 0; i < XB_STAT_MAX; i++)
			out[i] += vals[c].v[i];
	/* The program counts each frame once, as passed or dropped, and no
	 * longer a second time as seen (older builds did: the same sum). */
	out[XB_STAT_SEEN] = out[XB_STAT_PASSED] + out[XB_STAT_DROPPED];
	free(vals);
	return err;
}

int xb_dp_table_fill(struct xb_dp *dp, int family, uint32_t *live, uint32_t *cap)
{
	const struct xb_tab *t = family == 4 ? &dp->tab4 : family == 6 ? &dp->tab6 : NULL;

	if (!t || !t->live)
		return -EINVAL;
	/* ctl is shared with other writers: one plain read of a counter they keep. */
	*live = __atomic_load_n(t->live, __ATOMIC_RELAXED);
	*cap = t->cap;
	return 0;
}
