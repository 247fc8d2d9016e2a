// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>

#include "common/mode.h"
#include "common/util.h"

static const char *const mode_names[] = {
	[XB_MODE_AUTO] = "auto",
	[XB_MODE_NATIVE] = "native",
	[XB_MODE_GENERIC] = "generic",
};

const char *xb_mode_str(enum xb_mode m)
{
	return (unsigned)m < ARRAY_SIZE(mode_names) ? mode_names[m] : "unknown";
}

int xb_mode_parse(const char *s, enum xb_mode *m)
{
	for (size_t i = 0; s && i < ARRAY_SIZE(mode_names); i++) {
		if (!strcmp(s, mode_names[i])) {
			*m = (enum xb_mode)i;
			return 0;
		}
	}
	return -EINVAL;
}
