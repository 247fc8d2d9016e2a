/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ctlsock: the daemon's control socket, a Unix stream socket only root can use
 * (mode 0600 and the peer's uid checked with SO_PEERCRED).
 *
 * Protocol: the client connects, writes one request line, reads one reply
 * line, and the daemon closes the connection. The daemon's loop is single
 * threaded, so a client is bounded: the whole request line (at most 256
 * bytes before its newline; closing the writing side ends it too) within 1 s,
 * the whole reply taken within 1 s. A request cut off is refused whole:
 *   too long       -> {"ok":false,"error":"request too long"}
 *   not in time    -> {"ok":false,"error":"request timed out"}
 *   not from root  -> {"ok":false,"error":"permission denied"}, at once,
 *                     the request not read (not even waited for)
 *   "status\n" -> {"ok":true,"pid":N,"uptime":S,"config":"...","dry_run":false,
 *                  "state":"...","reloads":N,"lines":N,"alerts":N,"bans":N,
 *                  "rebans":N,"expired":N,"refused":N,"errors":N,"active_bans":N,
 *                  "interfaces":["eth0"],
 *                  "sources":[{"name":"...","lines":N,"last_usec":N,"lag":S}],
 *                  "drops_1m":N|null,"drops_window":S}
 *   "reload\n" -> {"ok":true} or {"ok":false,"error":"FILE:LINE: reason"}
 *   "unbanned ADDR[/PREFIX]\n" -> {"ok":true,"known":true|false}: the CLI lifted
 *                  a ban; the daemon drops it from its database so a restart
 *                  does not bring it back (offence history is kept)
 *   "flushed\n"  -> {"ok":true,"known":N}: the same for `xdpban flush`
 *   "fleet ban|unban LOCATION TTL AGENTS ADDR\n" -> {"ok":true} or {"ok":false,
 *                  "error":"why","errno":N}: a manual fleet decision (the
 *                  manager; AGENTS "-" when none, TTL 0 never ends)
 *   anything else -> {"ok":false,"error":"unknown request"}
 * "lag" is how old (seconds) the newest line read is, -1 when unknown.
 * "drops_1m": packets dropped over the last "drops_window" seconds (60, less
 * just after the start; the daemon samples the counter every 5 s), null in
 * dry-run (no maps).
 *
 * The socket's path: --socket, else $XDPBAN_SOCKET, else the config's
 * <control_socket>, else XB_SOCKET_DEFAULT (see config.h).
 * This file is the transport (and where it is); the daemon's answers are in
 * control.c.
 */
#ifndef XB_CTLSOCK_H
#define XB_CTLSOCK_H

#include <stddef.h>

struct json_object;
struct xb_ctlsock;

/* Fill reply (a JSON object, "ok" is added by the server when missing);
 * return 0 or a negative errno (then "ok" is false). */
typedef int (*xb_ctlsock_handler)(const char *request, struct json_object *reply, void *ctx);

/* Bind and listen. -EADDRINUSE when a daemon already answers there. */
int xb_ctlsock_listen(const char *path, xb_ctlsock_handler h, void *ctx, struct xb_ctlsock **out);
int xb_ctlsock_fd(const struct xb_ctlsock *c);
/* Accept one client and answer it (when the listening fd is readable). */
int xb_ctlsock_serve(struct xb_ctlsock *c);
/* Close and remove the socket file. NULL is fine. */
void xb_ctlsock_close(struct xb_ctlsock *c);

/* Client side: send request, return the reply line (malloc'ed, no newline).
 * -ENOENT/-ECONNREFUSED when no daemon listens. */
int xb_ctlsock_request(const char *path, const char *request, char **reply);
/* For the CLI after it lifted bans in the maps: tell a running daemon at
 * path (silent). a NULL means every ban (flush). 0 when a daemon took it,
 * -ENOENT/-ECONNREFUSED when none listens, another negative errno else. */
struct xb_addr;
int xb_ctlsock_notify_unban(const char *path, const struct xb_addr *a);

/* Where the socket is (see above), from an already loaded config: conf NULL
 * (none, or a broken one, which must not hide the running daemon) gives the
 * default. The result lives as long as override, the environment and conf. */
struct xb_config;
const char *xb_ctlsock_path(const char *override, const struct xb_config *conf);

#endif
