/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guard: the daemon's protection rules for bans made by hand (ban, ban
 * --file). The config's allow list and the host's addresses are read once,
 * then every address is checked against them with xb_policy_is_protected().
 */
#ifndef XB_CLI_GUARD_H
#define XB_CLI_GUARD_H

#include <stdbool.h>
#include <stddef.h>

#include "common/addr.h"
#include "common/config.h"
#include "policy/hostaddr.h"

struct xb_cli_guard {
	struct xb_config *conf;         /* NULL: no config installed */
	struct xb_hostaddr *host;
};

/*
 * Read the config at conf_path (NULL: $XDPBAN_CONFIG or the default; a
 * missing default file is fine: loopback and the host's addresses still
 * count) and the host's addresses. 0, or a negative errno with why saying
 * what could not be read.
 */
int xb_cli_guard_open(struct xb_cli_guard *g, const char *conf_path, char *why, size_t len);
/* True when a (an address or a prefix) is protected, why says why. */
bool xb_cli_guard_refuses(const struct xb_cli_guard *g, const struct xb_addr *a,
			  char *why, size_t len);
void xb_cli_guard_close(struct xb_cli_guard *g);

#endif
