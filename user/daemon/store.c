// SPDX-License-Identifier: GPL-2.0
/*
 * store: the daemon's state database. Opened with deferred writes (the disk
 * never stands between a decision and its ban) and checkpoints on their own
 * thread; a corrupt one is moved aside and a new one learns the bans the
 * pinned maps still hold; one that cannot be opened at all (disk full, I/O
 * errors) leaves the state in memory until it can; at start the database's
 * bans go back into the maps.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "daemon/internal.h"

/* A fresh state, deferred writes, the checkpoint thread. */
static int open_state(struct daemon *d)
{
	const char *dir = d->o.dry_run ? XB_STATE_MEMORY : d->state_dir;
	int ret = xb_state_open(dir, &d->st);

	if (ret)
		return ret;
	if (d->o.dry_run)
		return 0;       /* in memory: nothing to defer */
	if ((ret = xb_state_set_deferred(d->st)))
		return ret;
	if ((ret = xb_state_checkpoint_thread(d->st)))
		pr_warn("xdpban: checkpoints run in the loop (no thread: %s)\n", strerror(-ret));
	return 0;
}

/* The database is not one, or a broken one: moved aside, never deleted;
 * bans go on from the maps and a new database. */
static int recover_state(struct daemon *d)
{
	char moved[PATH_MAX + 64];
	int ret;

	xb_state_close(d->st);
	d->st = NULL;
	ret = xb_state_quarantine(d->state_dir, moved, sizeof(moved));
	if (ret) {
		pr_warn("xdpban: the state database in %s is corrupt and cannot be moved aside: %s\n",
			d->state_dir, strerror(-ret));
		return ret;
	}
	pr_warn("xdpban: THE STATE DATABASE WAS CORRUPT: moved aside to %s; starting a new one "
		"from the bans in the maps (offence histories of others are lost)\n", moved);
	d->learn = true;
	return open_state(d);
}

/* No database at all: the state lives in memory (the maps teach it) and
 * the disk is tried again by daemon_state_retry. */
static int memory_state(struct daemon *d, int err)
{
	snprintf(d->state_error, sizeof(d->state_error), "cannot open %s/%s (%s): the state "
		 "is kept in memory", d->state_dir, XB_STATE_DB, strerror(-err));
	pr_warn("xdpban: %s; bans go on, the database is tried again every %d s\n",
		d->state_error, STATE_RETRY_EVERY);
	d->learn = true;
	d->state_memory = true;
	return xb_state_open(XB_STATE_MEMORY, &d->st);
}

int daemon_state_open(struct daemon *d)
{
	int ret = open_state(d);

	if (ret == -EUCLEAN && !d->o.dry_run)
		ret = recover_state(d);
	if (ret && ret != -ENOMEM && !d->o.dry_run)
		ret = memory_state(d, ret);
	if (ret)
		pr_warn("xdpban: state in %s: %s\n", d->state_dir, strerror(-ret));
	return ret;
}

void daemon_state_retry(struct daemon *d)
{
	struct xb_state *mem = d->st;

	if (!d->state_memory || xb_state_copy_into(mem, d->state_dir))
		return;
	if (open_state(d)) {
		d->st = mem;
		return;
	}
	xb_policy_set_state(d->pol, d->st);
	d->enf.st = d->st;
	xb_state_close(mem);
	d->state_memory = false;
	d->state_error[0] = 0;
	pr_warn("xdpban: %s/%s is open again: what was kept in memory is in it\n",
		d->state_dir, XB_STATE_DB);
}

static void log_restored(const struct xb_restore_stats *rs, uint64_t t0)
{
	pr_info("restored %zu of %zu active bans in %.3f s (%zu were in the maps, %zu of those "
		"re-armed; %zu failed: %zu wait for room, %zu allow-listed)\n", rs->inserted,
		rs->active, (xb_now_mono_ns() - t0) / 1e9, rs->present, rs->rearmed, rs->failed,
		rs->unstored, rs->allowed);
}

/* The bans of the database that the maps lack, with their original expiry;
 * a database found corrupt on the way is recovered, then the maps teach it. */
int daemon_restore(struct daemon *d)
{
	struct xb_restore_stats rs;
	uint64_t t0 = xb_now_mono_ns();
	size_t learned = 0;
	int ret = xb_enforce_restore(&d->enf, xb_now_wall(), &rs);

	if (ret == -EUCLEAN) {
		xb_addr_set_free(&d->enf.unstored);
		if ((ret = recover_state(d)) && ret != -ENOMEM)
			ret = memory_state(d, ret);
		d->enf.st = d->st;
	}
	if (ret) {
		pr_warn("xdpban: restoring bans: %s\n", strerror(-ret));
		return ret;
	}
	if (!d->learn) {
		log_restored(&rs, t0);
		return 0;
	}
	if ((ret = xb_enforce_learn(&d->enf, xb_now_wall(), &learned)))
		pr_warn("xdpban: reading the bans in the maps: %s\n", strerror(-ret));
	else
		pr_warn("xdpban: the new state learned %zu bans from the maps\n", learned);
	return 0;
}
