/* SPDX-License-Identifier: GPL-2.0 */
/* Small parsing, clock and file helpers shared by the CLI, config, rules and daemon. */
#ifndef XB_UTIL_H
#define XB_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define NSEC_PER_SEC 1000000000ULL

/*
 * Room for one more element in a growing array: when n == *cap, *arr (an
 * array of elsz-byte elements) is reallocated to twice its capacity (min
 * the first time). 0, or -ENOMEM with *arr and *cap untouched.
 * Use: if ((err = xb_grow(&v->items, &v->cap, v->n, sizeof(*v->items), 16)))
 */
int xb_grow(void *arr, size_t *cap, size_t n, size_t elsz, size_t min);

/*
 * The whole of path (a file or a pipe) in *buf, NUL-terminated, its length in
 * *len; the caller frees *buf. 0, -errno from open/read, -EFBIG when longer
 * than max_bytes, or -ENOMEM.
 */
int xb_read_file(const char *path, size_t max_bytes, char **buf, size_t *len);

/* "90s", "10m", "2h", "1d", "1w" or plain seconds -> seconds. 0 or -EINVAL. */
int xb_parse_duration(const char *s, uint64_t *secs);
/* Decimal unsigned integer, whole string, <= max. 0, -EINVAL or -ERANGE. */
int xb_parse_u64(const char *s, uint64_t max, uint64_t *out);
/* CLOCK_MONOTONIC in ns: the clock of ban expiries (the program reads
 * bpf_ktime_get_ns(), or the clock tick that xdpban_clock keeps). */
uint64_t xb_now_mono_ns(void);
/* CLOCK_REALTIME in seconds. */
int64_t xb_now_wall(void);
/* Monotonic expiry (ns, 0 = permanent) <-> wall-clock expiry (s, 0 = permanent). */
int64_t xb_mono_to_wall(uint64_t mono_ns);
uint64_t xb_wall_to_mono(int64_t wall_s);
/* Text for a duration in seconds: "1d2h", "45s". */
const char *xb_fmt_duration(uint64_t secs, char *buf, unsigned len);
/* Text for a wall-clock second, UTC ISO 8601 ("never" for 0, permanent). */
const char *xb_fmt_wall(int64_t t, char *buf, size_t len);

#endif
