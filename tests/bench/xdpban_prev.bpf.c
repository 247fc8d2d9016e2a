// SPDX-License-Identifier: GPL-2.0
/* A stand-in for an earlier build of the product's program (test_upgrade):
 * the same maps and the same verdicts for bans that have not ended, other
 * instructions (the expiry check left out), so another program tag. */
#define XB_BENCH_OMIT (XB_OMIT_EXPIRY)
#include "xdpban.bpf.c"
