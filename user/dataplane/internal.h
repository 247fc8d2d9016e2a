/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Data-plane internals shared by its files: the handle behind the xb_dp_*
 * API, the writers' lock, key conversions, and the helpers several files
 * use (dp_*; the public API is xb_dp_* in dataplane.h). The files:
 *   pindir.c open.c    the pin directory; skeleton, maps, clock tick
 *   bans.c allow.c     bans (one or batched) and lookups; the allow list
 *   walk.c stats.c     every ban and allow entry; the counters
 *   sweep.c ctl.c      expired bans, flush; the ctl flags
 *   links.c            XDP links
 *   bantab.c           the exact-ban tables
 */
#ifndef XB_DATAPLANE_INT_H
#define XB_DATAPLANE_INT_H

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <sys/file.h>

#include <bpf/bpf.h>

#include "dataplane/dataplane.h"
#include "dataplane/bantab.h"

#define BATCH_CHUNK 8192        /* elements per batched syscall */

struct xdpban;

struct xb_dp {
	struct xdpban *skel;
	char pin_dir[PATH_MAX - 512];  /* room for "/<name>" in PATH_MAX */
	int pfx4, pfx6, allow4, allow6, meta, stats;
	int grow;                       /* the growth map (struct xb_grow) */
	uint32_t gen;                   /* its gen when these tables were loaded */
	struct xb_ctl *ctl;             /* mmap of the ctl map */
	struct xb_tab tab4, tab6;       /* the exact-ban tables, mmapped */
	int lock_fd;                    /* the pin directory: flock serialises writers */
	int locked;                     /* nesting depth of dp_lock */
	uint32_t max_bans, max_prefix;
	int ncpu;
	struct dp_grow_times {          /* the last growth's steps, ns (make bench) */
		uint64_t load, copy, swap, wait, finish, total;
	} grow_times;
};

/*
 * Writers (CLI and daemon, any number of processes) take an exclusive flock
 * on the pin directory around every change: the tables and ctl are written
 * through shared mappings, with no kernel call to serialise them.
 */
void dp_check_fresh(struct xb_dp *dp);
/* The growth map's value (zeros if it cannot be read). */
struct xb_grow dp_grow_state(const struct xb_dp *dp);
/* Pins of a growth cut short (by a crash) are there. */
bool dp_grow_cut_short(const struct xb_dp *dp);

static inline void dp_lock(struct xb_dp *dp)
{
	if (dp->locked++ == 0) {
		while (flock(dp->lock_fd, LOCK_EX) && errno == EINTR)
			;
		/* Another process may have grown the tables meanwhile. */
		if (dp_grow_state(dp).gen != dp->gen || dp_grow_cut_short(dp))
			dp_check_fresh(dp);
	}
}

static inline void dp_unlock(struct xb_dp *dp)
{
	if (--dp->locked == 0)
		flock(dp->lock_fd, LOCK_UN);
}

/* --- keys ----------------------------------------------------------------- */

/* A key of any trie (the exact bans are in tables: see tab_of). */
union xb_key {
	struct xb_lpm4 l4;
	struct xb_lpm6 l6;
};

/* The size of a trie key of a family. */
static inline size_t lpm_ksz(int family)
{
	return family == 4 ? sizeof(struct xb_lpm4) : sizeof(struct xb_lpm6);
}

static inline bool addr_valid(const struct xb_addr *a)
{
	return a && ((a->family == 4 && a->prefixlen <= 32) ||
		     (a->family == 6 && a->prefixlen <= 128));
}

static inline void lpm_key(const struct xb_addr *a, union xb_key *k)
{
	memset(k, 0, sizeof(*k));
	if (a->family == 4) {
		k->l4.prefixlen = a->prefixlen;
		memcpy(&k->l4.addr, a->bytes, 4);
	} else {
		k->l6.prefixlen = a->prefixlen;
		memcpy(k->l6.addr, a->bytes, 16);
	}
}

/* For a prefix, its trie and key; for a single address fd is -1 (its ban
 * lives in tab_of(dp, a)). false: bad address. */
static inline bool ban_slot(const struct xb_dp *dp, const struct xb_addr *a, int *fd,
			    union xb_key *k, bool *prefix)
{
	if (!addr_valid(a))
		return false;
	*prefix = !xb_addr_is_single(a);
	lpm_key(a, k);
	*fd = !*prefix ? -1 : a->family == 4 ? dp->pfx4 : dp->pfx6;
	return true;
}

static inline void meta_key(const struct xb_addr *a, struct xb_meta_key *k)
{
	memset(k, 0, sizeof(*k));
	k->family = a->family;
	k->prefixlen = a->prefixlen;
	memcpy(k->addr, a->bytes, a->family == 4 ? 4 : 16);
}

static inline void addr_from(struct xb_addr *a, int family, unsigned plen, const void *bytes)
{
	memset(a, 0, sizeof(*a));
	a->family = family;
	a->prefixlen = plen;
	memcpy(a->bytes, bytes, family == 4 ? 4 : 16);
}

/* The exact table of a single address's family. */
static inline struct xb_tab *tab_of(struct xb_dp *dp, const struct xb_addr *a)
{
	return a->family == 4 ? &dp->tab4 : &dp->tab6;
}

static inline bool map_empty(int fd)
{
	union xb_key k;

	return bpf_map_get_next_key(fd, NULL, &k) != 0;
}

/* --- open.c grow.c: (re)loading the skeleton, growing the tables --------- */

int dp_use_skel(struct xb_dp *dp, uint32_t init);
void dp_release_skel(struct xb_dp *dp);
/* dp takes over from's skeleton and maps (keeping its own lock). */
void dp_adopt(struct xb_dp *dp, struct xb_dp *from);
int dp_reload(struct xb_dp *dp);
/* Under the lock: replace a full table of family by one XB_GROW_FACTOR
 * times as big (at most the ceiling). -ENOSPC: at the ceiling already. */
int dp_grow(struct xb_dp *dp, int family);
/* The same, to at least need bans (one growth for a bulk load). */
int dp_grow_to(struct xb_dp *dp, int family, uint32_t need);
/* At open, under the lock: finish (or drop) the pins of a growth cut short. */
int dp_grow_recover(const char *dir);
/* Each link pinned in dp's folder: fn(its fd, pin name, path, ctx); an
 * error from fn ends the walk and is returned. */
typedef int (*dp_link_fn)(int fd, const char *name, const char *path, void *ctx);
int dp_links_walk(struct xb_dp *dp, dp_link_fn fn, void *ctx);
/* Point every pinned link whose program runs replaced tables at ours; how
 * many were. */
int dp_heal_links(struct xb_dp *dp);
/* Tests: the step of a growth at which to _exit as a crash would. */
extern int dp_grow_crash_at;

/* --- pindir.c: where the pins live ---------------------------------------- */

/* opts->pin_dir, else $XDPBAN_PIN_DIR, else XB_PIN_DIR_DEFAULT. */
const char *dp_pin_dir_pick(const struct xb_dp_opts *opts);
/* Make dir ready for pins (mounting bpffs if needed); with no_create only
 * check that the maps are there (-ENOENT, with a message, if not). */
int dp_pin_dir_ready(const char *dir, bool no_create);

/* --- ctl.c: the flags telling the program which tries to consult ---------- */

/* Call under the writers' lock after every change to a prefix or allow trie. */
void dp_ctl_refresh(struct xb_dp *dp);
void dp_ctl_refresh_locked(struct xb_dp *dp);

/* --- allow.c --------------------------------------------------------------- */

/* Is the whole of a covered by one allow-list entry? */
bool dp_is_allowed(struct xb_dp *dp, const struct xb_addr *a);

/* --- sweep.c --------------------------------------------------------------- */

/* Delete a family's prefix bans expired at now (0: all), under the lock;
 * *removed counts them (their reasons go at the next sweep). */
int dp_sweep_pfx(struct xb_dp *dp, int family, uint64_t now, size_t *removed);

/* --- walk.c: every entry of a map ------------------------------------------ */

/* Called with each key and value of a walk; non-zero stops it. */
typedef int (*dp_kv_cb)(struct xb_dp *dp, int family, const void *key, const void *val,
			void *ctx);

/* Every entry of a hash map, in batches (fast for a million reasons). */
int dp_walk_hash(struct xb_dp *dp, int fd, int family, size_t ksz, size_t vsz,
		 dp_kv_cb cb, void *ctx);
/* Every entry of a trie; val is room for one value. The keys are collected
 * first: a trie's next-key walk restarts when the current key is deleted. */
int dp_walk_lpm(struct xb_dp *dp, int fd, int family, size_t ksz, void *val,
		dp_kv_cb cb, void *ctx);
/* Is this very prefix in the trie (a trie lookup is longest-match)? */
bool dp_pfx_exists(int fd, const union xb_key *k, size_t ksz);
/* The ban of this very prefix (not a covering one) into *out, or -ENOENT. */
int dp_pfx_get(int fd, const union xb_key *k, size_t ksz, struct xb_ban *out);

#endif
