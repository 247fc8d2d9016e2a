/* SPDX-License-Identifier: GPL-2.0 */
/* enforce internals shared by its files (the API is enforce.h). */
#ifndef XB_ENFORCE_INT_H
#define XB_ENFORCE_INT_H

#include "pipeline/enforce.h"

/* "unban ADDR rule R offence O timeout T: why" */
void enforce_log_unban(const struct xb_state_ban *b, const char *why);
/* Forget the recorded ban of a (the maps lost it), logged with why. */
void enforce_forget(struct xb_enforce *e, const struct xb_addr *a, const char *why);
/* A recorded ban the maps could not take (err): kept for xb_enforce_retry. */
void enforce_unstored(struct xb_enforce *e, const struct xb_addr *a, int err);

#endif
