/* SPDX-License-Identifier: GPL-2.0 */
/* Logging: one format-checked entry point, levels chosen by -v / -q. */
#ifndef XB_LOG_H
#define XB_LOG_H

enum xb_log_level {
	XB_LOG_WARN = 0,
	XB_LOG_INFO = 1,
	XB_LOG_DEBUG = 2,
};

void xb_log_set_level(enum xb_log_level lvl);
enum xb_log_level xb_log_get_level(void);
/* Prefix every line with a wall-clock timestamp (the daemon does). */
void xb_log_set_timestamps(int on);
void xb_log(enum xb_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Between these two (one thread at a time), its lines are written together (a few
 * writes, not one a line): the manager's turn over thousands of reports.
 * Warnings still go out at once; what is held is lost if the process
 * dies in between. */
void xb_log_hold(void);
void xb_log_release(void);
/* Route libbpf's own messages through xb_log (shown with -v only). */
void xb_log_libbpf(void);

#define pr_warn(...)  xb_log(XB_LOG_WARN, __VA_ARGS__)
#define pr_info(...)  xb_log(XB_LOG_INFO, __VA_ARGS__)
#define pr_debug(...) xb_log(XB_LOG_DEBUG, __VA_ARGS__)

#endif
