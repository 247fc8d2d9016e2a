/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the Criterion tests (linked into every test binary):
 * finding the shipped rules, and a policy fixture over a config fragment.
 */
#ifndef XB_TESTLIB_H
#define XB_TESTLIB_H

#include <stdbool.h>

#include "common/addr.h"
#include "common/config.h"
#include "common/records.h"
#include "policy/policy.h"
#include "policy/state.h"

/* The tree's rules/ folder: $XDPBAN_RULES_DIR, ./rules, or found from the
 * test binary's place in the build folder. Fails the test when absent. */
const char *xb_test_rules_dir(void);

/* A parsed address; fails the test when s is not one. */
struct xb_addr A(const char *s);
/* <xdpban>body</xdpban> parsed; fails the test on an error. */
struct xb_config *conf(const char *body);

/* A policy over conf(body) and a state database in dir (XB_STATE_MEMORY
 * for none), jitter fixed at 0, and an alert of rule 5712 level 10. */
struct fixture {
	struct xb_config *c;
	struct xb_state *st;
	struct xb_policy *p;
	struct xb_event ev;
	struct xb_alert al;
};
void fx_open(struct fixture *f, const char *body, const char *dir);
/* The daemon's mode (state.h, deferred writes), set by xb_test_defer as a
 * test's .init: the same decisions, flushed after every other alert so that
 * reads mix memory and disk; fx_close then expects every flush to have
 * worked, unless the test set xb_test_disk_full. */
extern bool xb_test_deferred, xb_test_disk_full;
void xb_test_defer(void);
void fx_close(struct fixture *f);
/* One alert from src at wall time now; returns the number of decisions. */
int offend(struct fixture *f, const char *src, int64_t now, struct xb_decision *d);

#endif
