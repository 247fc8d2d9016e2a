// SPDX-License-Identifier: GPL-2.0
/* hostaddr: the host's own addresses through libnl (route/addr cache). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>

#include "policy/hostaddr.h"
#include "common/log.h"

struct xb_hostaddr {
	struct nl_sock *sock;           /* one-shot mode */
	struct nl_cache_mngr *mngr;     /* follow mode */
	struct nl_cache *cache;
	struct xb_addr *addrs;          /* flat copy: lookups stay cheap and simple */
	size_t n;
	bool changed;
};

static int nl_to_errno(int nlerr)
{
	switch (-nlerr) {
	case NLE_NOMEM: return -ENOMEM;
	case NLE_PERM: return -EPERM;
	case NLE_AGAIN: return -EAGAIN;
	case NLE_NOACCESS: return -EACCES;
	default: return -EIO;
	}
}

/* Rebuild the flat array from the cache. */
static int rebuild(struct xb_hostaddr *h)
{
	struct xb_addr *arr = NULL;
	size_t n = 0, cap = nl_cache_nitems(h->cache);
	struct nl_object *obj;

	if (cap) {
		arr = calloc(cap, sizeof(*arr));
		if (!arr)
			return -ENOMEM;
	}
	for (obj = nl_cache_get_first(h->cache); obj && n < cap; obj = nl_cache_get_next(obj)) {
		struct rtnl_addr *ra = (struct rtnl_addr *)obj;
		struct nl_addr *local = rtnl_addr_get_local(ra);
		struct xb_addr a = { 0 };

		if (!local)
			continue;
		switch (nl_addr_get_family(local)) {
		case AF_INET:
			if (nl_addr_get_len(local) != 4)
				continue;
			a.family = 4;
			a.prefixlen = 32;
			memcpy(a.bytes, nl_addr_get_binary_addr(local), 4);
			break;
		case AF_INET6:
			if (nl_addr_get_len(local) != 16)
				continue;
			a.family = 6;
			a.prefixlen = 128;
			memcpy(a.bytes, nl_addr_get_binary_addr(local), 16);
			break;
		default:
			continue;
		}
		arr[n++] = a;
	}
	if (n != h->n || (n && memcmp(arr, h->addrs, n * sizeof(*arr))))
		h->changed = true;
	free(h->addrs);
	h->addrs = arr;
	h->n = n;
	return 0;
}

static void change_cb(struct nl_cache *cache, struct nl_object *obj, int action, void *data)
{
	struct xb_hostaddr *h = data;

	(void)cache;
	(void)obj;
	(void)action;
	h->changed = true;
}

int xb_hostaddr_open(bool follow, struct xb_hostaddr **out)
{
	struct xb_hostaddr *h = calloc(1, sizeof(*h));
	int err;

	if (!h)
		return -ENOMEM;
	if (follow) {
		/* A second, synchronous socket refills the cache when notifications
		 * were lost (ENOBUFS under a storm of address changes). */
		h->sock = nl_socket_alloc();
		err = h->sock ? nl_connect(h->sock, NETLINK_ROUTE) : -NLE_NOMEM;
		if (!err)
			err = nl_cache_mngr_alloc(NULL, NETLINK_ROUTE, NL_AUTO_PROVIDE, &h->mngr);
		if (!err)
			err = nl_cache_mngr_add(h->mngr, "route/addr", change_cb, h, &h->cache);
	} else {
		h->sock = nl_socket_alloc();
		err = h->sock ? nl_connect(h->sock, NETLINK_ROUTE) : -NLE_NOMEM;
		if (!err)
			err = rtnl_addr_alloc_cache(h->sock, &h->cache);
	}
	if (err) {
		pr_warn("hostaddr: cannot read the host's addresses: %s\n", nl_geterror(err));
		err = nl_to_errno(err);
		xb_hostaddr_close(h);
		return err;
	}
	if ((err = rebuild(h))) {
		xb_hostaddr_close(h);
		return err;
	}
	h->changed = false;
	*out = h;
	return 0;
}

void xb_hostaddr_close(struct xb_hostaddr *h)
{
	if (!h)
		return;
	if (h->mngr)
		nl_cache_mngr_free(h->mngr);    /* frees the caches it manages */
	else
		nl_cache_free(h->cache);
	nl_socket_free(h->sock);
	free(h->addrs);
	free(h);
}

int xb_hostaddr_fd(const struct xb_hostaddr *h)
{
	return h->mngr ? nl_cache_mngr_get_fd(h->mngr) : -1;
}

int xb_hostaddr_update(struct xb_hostaddr *h, bool *changed)
{
	int err;

	h->changed = false;
	if (h->mngr) {
		err = nl_cache_mngr_data_ready(h->mngr);
		if (err < 0) {
			/* Lost notifications: read the whole table again. */
			pr_warn("hostaddr: notification: %s; re-reading every address\n",
				nl_geterror(err));
			err = nl_cache_refill(h->sock, h->cache);
			if (err < 0) {
				pr_warn("hostaddr: refill: %s\n", nl_geterror(err));
				return nl_to_errno(err);
			}
			h->changed = true;
		}
	}
	if (h->changed && (err = rebuild(h)))
		return err;
	if (changed)
		*changed = h->changed;
	return 0;
}

size_t xb_hostaddr_count(const struct xb_hostaddr *h)
{
	return h->n;
}

const struct xb_addr *xb_hostaddr_get(const struct xb_hostaddr *h, size_t i)
{
	return i < h->n ? &h->addrs[i] : NULL;
}

bool xb_hostaddr_covered(const struct xb_hostaddr *h, const struct xb_addr *a)
{
	for (size_t i = 0; h && i < h->n; i++)
		if (xb_addr_contains(a, &h->addrs[i]))
			return true;
	return false;
}
