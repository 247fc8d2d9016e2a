// SPDX-License-Identifier: GPL-2.0
/* Placeholder until implemented: fails loudly, never pretends. */
#include <errno.h>
#include <stdio.h>
#include "cmd.h"

int do_list(int argc, char **argv)
{
	(void)argc;
	fprintf(stderr, "xdpban: %s: not implemented yet\n", argv[0]);
	return -ENOSYS;
}

int do_stats(int argc, char **argv)
{
	(void)argc;
	fprintf(stderr, "xdpban: %s: not implemented yet\n", argv[0]);
	return -ENOSYS;
}
