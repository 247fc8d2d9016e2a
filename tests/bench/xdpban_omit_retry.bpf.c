// SPDX-License-Identifier: GPL-2.0
/* The product's XDP program without part of its pass path, for bench_xdp --parts. */
#define XB_BENCH_OMIT (XB_OMIT_RETRY)
#include "xdpban.bpf.c"
