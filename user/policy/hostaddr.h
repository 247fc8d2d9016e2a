/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hostaddr: every address configured on this host (all interfaces, both
 * families), learned through libnl's route/addr cache and, when followed,
 * kept current from rtnetlink notifications. The policy never bans these.
 *
 * Event-loop use: add xb_hostaddr_fd() to epoll; when readable call
 * xb_hostaddr_update(). All functions return 0 or a negative errno.
 */
#ifndef XB_HOSTADDR_H
#define XB_HOSTADDR_H

#include <stdbool.h>
#include <stddef.h>

#include "common/addr.h"

struct xb_hostaddr;

/* follow=false: a one-shot snapshot (the CLI); true: subscribe to changes. */
int xb_hostaddr_open(bool follow, struct xb_hostaddr **out);
void xb_hostaddr_close(struct xb_hostaddr *h);
/* Pollable fd of the notification socket; -1 when not following. */
int xb_hostaddr_fd(const struct xb_hostaddr *h);
/* Apply pending notifications (never blocks). *changed (may be NULL) tells
 * whether the set changed. */
int xb_hostaddr_update(struct xb_hostaddr *h, bool *changed);

size_t xb_hostaddr_count(const struct xb_hostaddr *h);
/* i-th address (single addresses, prefixlen 32/128). */
const struct xb_addr *xb_hostaddr_get(const struct xb_hostaddr *h, size_t i);
/* Is a host address equal to a, or inside a when a is a prefix? */
bool xb_hostaddr_covered(const struct xb_hostaddr *h, const struct xb_addr *a);

#endif
