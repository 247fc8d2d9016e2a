/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The command context: where things are, resolved once by main the same way
 * for every command and handed to it; and the helpers the data-plane
 * commands share (root check, opening the pinned maps, parsing an address).
 */
#ifndef XB_CLI_CONTEXT_H
#define XB_CLI_CONTEXT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/addr.h"
#include "dataplane/dataplane.h"

/*
 * The options that say where things are. Every command's option struct
 * starts with one (NULL where the command has no such option), so that main
 * can resolve them into the context.
 */
struct xb_cli_paths {
	const char *config;     /* --config */
	const char *state_dir;  /* --state-dir */
	const char *socket;     /* --socket */
	const char *rules_dir;  /* --rules */
};

struct xb_cli_ctx {
	const char *cmd;        /* the command's full name, for messages */
	const char *pin_dir;    /* --pin-dir; NULL: $XDPBAN_PIN_DIR, else the default */
	const char *config;     /* NULL: $XDPBAN_CONFIG, else the default (whose absence
				   is no error, see xb_config_is_default) */
	const char *state_dir;  /* NULL: the config's <state_dir> */
	const char *socket;     /* NULL: $XDPBAN_SOCKET, else the config's
				   <control_socket>, else the default (xb_ctlsock_path) */
	const char *rules_dir;  /* commands that read rules: --rules, else the config's
				   <rules_dir>, else xb_rules_dir_default(); others NULL */
	char rules_buf[PATH_MAX + 32];
};

/* Fill ctx for command cmd. rules: resolve rules_dir (reads the config
 * when --rules is not given; a missing or broken one means the default). */
void xb_cli_ctx_init(struct xb_cli_ctx *ctx, const char *cmd, const char *pin_dir,
		     const struct xb_cli_paths *p, bool rules);

/* The daemon's control socket for a client: socket (--socket) if given, else
 * xb_ctlsock_path() over the config at config (NULL: the default). A missing
 * or broken config must not hide the running daemon: the default then.
 * Returns buf. */
const char *xb_cli_socket_path(const char *config, const char *socket, char *buf, size_t len);

/* Root check with a clear message (-EPERM). */
int xb_need_root(const char *what);
/*
 * Root check, then xb_dp_open with the context's pin dir and
 * $XDPBAN_MAX_BANS. create=false: -ENOENT ("nothing attached and no bans")
 * when no maps are pinned yet, for commands that only read or remove.
 */
int xb_cli_dp_open(const struct xb_cli_ctx *ctx, bool create, uint32_t max_bans,
		   struct xb_dp **dp);
/* Parse ADDR[/PREFIX] with one clear error line; 0 or -EINVAL. */
int xb_cli_addr(const char *cmd, const char *s, struct xb_addr *a);

#endif
