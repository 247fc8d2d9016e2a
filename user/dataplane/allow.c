// SPDX-License-Identifier: GPL-2.0
/* The allow list: addresses and prefixes no ban may cover. */
#include "dataplane/internal.h"
#include "common/log.h"

static int allow_fd(const struct xb_dp *dp, const struct xb_addr *a)
{
	return a->family == 4 ? dp->allow4 : dp->allow6;
}

bool dp_is_allowed(struct xb_dp *dp, const struct xb_addr *a)
{
	struct xb_allow v;
	union xb_key k;

	lpm_key(a, &k);
	return !bpf_map_lookup_elem(allow_fd(dp, a), &k, &v);
}

int xb_dp_allow(struct xb_dp *dp, const struct xb_addr *a)
{
	struct xb_allow v = {};
	union xb_key k;
	int err;

	if (!addr_valid(a))
		return -EINVAL;
	lpm_key(a, &k);
	/* Listing an entry again keeps its counter. */
	err = bpf_map_update_elem(allow_fd(dp, a), &k, &v, BPF_NOEXIST);
	if (err == -EEXIST)
		return 0;
	if (err == -ENOSPC || err == -E2BIG) {
		pr_warn("xdpban: allow list full\n");
		return -ENOSPC;
	}
	if (!err)
		dp_ctl_refresh_locked(dp);
	return err;
}

int xb_dp_unallow(struct xb_dp *dp, const struct xb_addr *a)
{
	union xb_key k;
	int err;

	if (!addr_valid(a))
		return -EINVAL;
	lpm_key(a, &k);
	err = bpf_map_delete_elem(allow_fd(dp, a), &k);
	if (!err)
		dp_ctl_refresh_locked(dp);
	return err;
}
