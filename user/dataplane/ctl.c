// SPDX-License-Identifier: GPL-2.0
/*
 * The ctl block's flags: keep the fast path at one table probe, the program
 * consulting a prefix or allow trie only while its flag is set.
 */
#include "dataplane/internal.h"

void dp_ctl_refresh(struct xb_dp *dp)
{
	__u32 flags = 0;

	if (!map_empty(dp->pfx4))
		flags |= XB_CTL_PFX4;
	if (!map_empty(dp->pfx6))
		flags |= XB_CTL_PFX6;
	if (!map_empty(dp->allow4))
		flags |= XB_CTL_ALLOW4;
	if (!map_empty(dp->allow6))
		flags |= XB_CTL_ALLOW6;
	__atomic_store_n(&dp->ctl->flags, flags, __ATOMIC_RELEASE);
}

void dp_ctl_refresh_locked(struct xb_dp *dp)
{
	dp_lock(dp);
	dp_ctl_refresh(dp);
	dp_unlock(dp);
}
