// SPDX-License-Identifier: GPL-2.0
/* fleet: the manager's offence step, with the grace rule (see fleet.h). */
#include <string.h>

#include "fleet/fleet.h"

bool xb_fleet_hist_step(struct xb_fleet_hist *h, int64_t ts, int64_t now, uint64_t grace,
			uint64_t memory)
{
	int64_t d;

	if (h->count && h->until != XB_FLEET_FOREVER && h->until + (int64_t)memory <= now)
		memset(h, 0, sizeof(*h));       /* quiet long enough: forgotten */
	if (h->count) {
		d = ts > h->last ? ts - h->last : h->last - ts;
		/* Several hosts see one attack: the reports, each with its own
		 * time, fall within grace of the offence counted first. */
		if ((uint64_t)d < grace)
			return false;
	} else {
		h->first = ts;
	}
	if (h->count < UINT32_MAX)
		h->count++;
	if (ts > h->last)
		h->last = ts;
	return true;
}
