/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the data-plane subcommands (attach, ban, list, status). */
#ifndef XB_ACTIONS_CLI_H
#define XB_ACTIONS_CLI_H

#include <stdbool.h>
#include "dataplane/dataplane.h"

/*
 * Root check, then xb_dp_open with --pin-dir / $XDPBAN_PIN_DIR and
 * $XDPBAN_MAX_BANS. create=false: -ENOENT ("nothing attached and no bans")
 * when no maps are pinned yet, for commands that only read or remove.
 */
int xb_cli_dp_open(const char *what, bool create, uint32_t max_bans, struct xb_dp **dp);
/* Parse ADDR[/PREFIX] with one clear error line; 0 or -EINVAL. */
int xb_cli_addr(const char *cmd, const char *s, struct xb_addr *a);

#endif
