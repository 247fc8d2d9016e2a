/* SPDX-License-Identifier: GPL-2.0 */
/* How the XDP program is attached: the one table of mode names. */
#ifndef XB_MODE_H
#define XB_MODE_H

enum xb_mode { XB_MODE_AUTO = 0, XB_MODE_NATIVE, XB_MODE_GENERIC };

/* "auto", "native", "generic" ("unknown" for anything else). */
const char *xb_mode_str(enum xb_mode m);
/* The reverse: 0 or -EINVAL. */
int xb_mode_parse(const char *s, enum xb_mode *m);

#endif
