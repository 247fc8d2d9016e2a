// SPDX-License-Identifier: GPL-2.0
/* respond: route-null, a blackhole route to the address through libnl, so
 * this host's replies to it go nowhere. Our routes carry protocol
 * XB_RTPROT: a lift removes only what we added. */
#include <errno.h>
#include <string.h>

#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/route/route.h>

#include "common/log.h"
#include "respond/internal.h"

#define XB_RTPROT 186   /* "xdpban" in `ip route` (any unassigned proto number) */

static int nl_to_errno(int nle)
{
	switch (nle < 0 ? -nle : nle) {
	case 0: return 0;
	case NLE_EXIST: return -EEXIST;
	case NLE_OBJ_NOTFOUND: return -ENOENT;
	case NLE_PERM: return -EPERM;
	case NLE_NOMEM: return -ENOMEM;
	case NLE_INVAL: return -EINVAL;
	default: return -EIO;
	}
}

/* Add (add = true) or delete the blackhole route of row's address. */
static int route_op(const struct xb_resp_row *row, bool add)
{
	struct xb_addr a;
	struct nl_sock *sk = NULL;
	struct rtnl_route *rt = NULL;
	struct nl_addr *dst = NULL;
	int family, err;

	if (xb_addr_parse(row->target, &a, false))
		return -EINVAL;
	family = a.family == 4 ? AF_INET : AF_INET6;
	if (!(sk = nl_socket_alloc()) || !(rt = rtnl_route_alloc()) ||
	    !(dst = nl_addr_build(family, a.bytes, a.family == 4 ? 4 : 16))) {
		err = -ENOMEM;
		goto out;
	}
	nl_addr_set_prefixlen(dst, a.prefixlen);
	if ((err = nl_connect(sk, NETLINK_ROUTE)))
		goto out;
	rtnl_route_set_family(rt, family);
	rtnl_route_set_dst(rt, dst);
	rtnl_route_set_type(rt, RTN_BLACKHOLE);
	rtnl_route_set_table(rt, RT_TABLE_MAIN);
	rtnl_route_set_protocol(rt, XB_RTPROT);
	rtnl_route_set_scope(rt, RT_SCOPE_UNIVERSE);
	err = add ? rtnl_route_add(sk, rt, NLM_F_EXCL) : rtnl_route_delete(sk, rt, 0);
	if (err < 0 && (add ? err != -NLE_EXIST : err != -NLE_OBJ_NOTFOUND))
		pr_warn("route-null %s: %s\n", row->target, nl_geterror(err));
out:
	nl_addr_put(dst);
	rtnl_route_put(rt);
	nl_socket_free(sk);
	return err == -ENOMEM ? err : nl_to_errno(err);
}

static int apply(struct xb_resp *r, const struct xb_resp_row *row)
{
	int err = route_op(row, true);

	return err == -EEXIST ? 0 : err;
}

static int lift(struct xb_resp *r, const struct xb_resp_row *row)
{
	return route_op(row, false);
}

const struct xb_backend xb_route_null = {
	.name = "route-null", .apply = apply, .lift = lift,
	.resync = apply,        /* routes do not survive a reboot */
};
