// SPDX-License-Identifier: GPL-2.0
/* The product's XDP program without its table lookup (what parsing and counting alone cost), for bench_xdp --parts. */
#define XB_BENCH_OMIT (XB_OMIT_LOOKUP)
#include "xdpban.bpf.c"
