// SPDX-License-Identifier: GPL-2.0
/* maps: what the config says about the data plane (its interfaces and its
 * allow list) put into the maps, at start and on reload. */
#include <string.h>

#include "common/log.h"
#include "common/mode.h"
#include "daemon/internal.h"

static bool has_iface(const struct xb_config *c, const struct xb_conf_iface *ifc)
{
	for (size_t i = 0; c && i < c->n_ifaces; i++)
		if (!strcmp(c->ifaces[i].name, ifc->name) && c->ifaces[i].mode == ifc->mode)
			return true;
	return false;
}

/* Attach to the interfaces of c that old did not have. Interfaces dropped
 * from the config stay attached: detaching is explicit (`xdpban detach`), so
 * a reload never opens the door by accident. */
void daemon_attach_ifaces(struct daemon *d, const struct xb_config *old,
			  const struct xb_config *c, int *first_err)
{
	for (size_t i = 0; i < c->n_ifaces; i++) {
		enum xb_mode used = c->ifaces[i].mode;
		int err;

		if (has_iface(old, &c->ifaces[i]))
			continue;
		err = xb_dp_attach(d->dp, c->ifaces[i].name, c->ifaces[i].mode, &used);

		if (err) {
			pr_warn("cannot attach to %s: %s\n", c->ifaces[i].name, strerror(-err));
			if (first_err && !*first_err)
				*first_err = err;
			continue;
		}
		pr_info("attached to %s (%s)\n", c->ifaces[i].name,
			xb_mode_str(used));
	}
}

static bool in_allow(const struct xb_config *c, const struct xb_addr *a)
{
	for (size_t i = 0; c && i < c->n_allow; i++)
		if (xb_addr_eq(&c->allow[i], a))
			return true;
	return false;
}

/* The config's allow list also goes into the maps (the XDP program's last
 * word); entries dropped from the config on reload are taken out again. */
void daemon_sync_allow(struct daemon *d, const struct xb_config *old, const struct xb_config *c)
{
	char ab[XB_ADDRSTRLEN];

	for (size_t i = 0; i < c->n_allow; i++) {
		int err = xb_dp_allow(d->dp, &c->allow[i]);

		if (err)
			pr_warn("allow %s: %s\n", xb_addr_fmt(&c->allow[i], ab, sizeof(ab)),
				strerror(-err));
	}
	for (size_t i = 0; old && i < old->n_allow; i++)
		if (!in_allow(c, &old->allow[i]))
			xb_dp_unallow(d->dp, &old->allow[i]);
}
