// SPDX-License-Identifier: GPL-2.0
/* reload: SIGHUP or `xdpban reload`. A new config, rules and (when they
 * changed) sources are built first and swapped in only when all of it loaded;
 * bans and offence history are never touched. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "daemon/internal.h"

int daemon_load_detect(const struct xb_config *c, struct xb_detect **out, char *err, size_t len)
{
	struct xb_detect_conf dc = { .rules_dir = c->rules_dir, .local_rules = c->local_rules };

	return xb_detect_new(&dc, out, NULL, err, len);
}

int xb_daemon_check(const char *config, char *err, size_t len)
{
	struct xb_config *c = NULL;
	struct xb_detect *det = NULL;
	int ret = xb_config_load(config, &c, err, len);

	if (!ret)
		ret = daemon_load_detect(c, &det, err, len);
	/* The fleet's identity files must be there to connect. */
	for (int i = 0; !ret && c->fleet.enabled && i < 3; i++) {
		const char *f = i == 0 ? c->fleet.ca : i == 1 ? c->fleet.cert : c->fleet.key;

		if (f && access(f, R_OK)) {
			ret = -errno;
			snprintf(err, len, "%s:%d: <fleet>: cannot read %s: %s", c->path,
				 c->fleet.line, f, strerror(-ret));
		}
	}
	xb_detect_free(det);
	xb_config_free(c);
	return ret;
}

/* What a reload brings in. */
struct next {
	struct xb_config *conf;
	struct xb_detect *det;
	struct src_set src;     /* n == 0: the sources stay */
};

static void next_free(struct next *nx)
{
	xb_detect_free(nx->det);
	xb_config_free(nx->conf);
}

/* A changed <max_bans> moves the ceiling of the pinned tables: up always,
 * down only to what they hold already (a grown table does not shrink). */
static int check_max_bans(struct daemon *d, const struct xb_config *c, char *err, size_t len)
{
	uint32_t want = c->max_bans ? c->max_bans : XB_DEF_MAX_BANS, held;
	int ret;

	if (!d->dp || c->max_bans == d->conf->max_bans)
		return 0;
	ret = xb_dp_set_max_bans(d->dp, want, true, &held);
	if (ret == -ERANGE) {
		if (c->max_bans_line)
			snprintf(err, len, "%s:%d: <max_bans> %u is below the %u bans a ban table "
				 "holds already (a table does not shrink while pinned): keep it at least %u",
				 c->path, c->max_bans_line, want, held, held);
		else
			snprintf(err, len, "%s: without <max_bans>, its default %u is below the %u "
				 "bans a ban table holds already: keep <max_bans>%u</max_bans>",
				 c->path, want, held, held);
		return -EINVAL;
	}
	if (ret)
		snprintf(err, len, "<max_bans>: %s", strerror(-ret));
	return ret;
}

static int next_load(struct daemon *d, struct next *nx, char *err, size_t len)
{
	int ret = xb_config_load(d->o.config, &nx->conf, err, len);

	if (!ret)
		ret = daemon_load_detect(nx->conf, &nx->det, err, len);
	/* The connection is this host's identity: it changes on restart only. */
	if (!ret && !xb_fleet_same(&d->conf->fleet, &nx->conf->fleet)) {
		snprintf(err, len, "%s: <fleet> changed: that needs a restart", nx->conf->path);
		ret = -EINVAL;
	}
	if (!ret)
		ret = check_max_bans(d, nx->conf, err, len);
	if (!ret && !daemon_same_sources(d->conf, nx->conf)) {
		ret = daemon_sources_open(d, nx->conf, &nx->src);
		if (ret)
			snprintf(err, len, "cannot open the new sources: %s", strerror(-ret));
	}
	if (ret)
		next_free(nx);
	return ret;
}

static void next_swap_in(struct daemon *d, struct next *nx)
{
	struct xb_config *old = d->conf;

	if (!d->o.state_dir && strcmp(nx->conf->state_dir, d->state_dir))
		pr_warn("reload: <state_dir> changes only on restart; still %s\n", d->state_dir);
	const char *was = d->mhd ? d->metrics_addr : NULL, *now = nx->conf->metrics;

	if ((was || now) && (!was || !now || strcmp(was, now)))
		pr_warn("reload: <metrics> changes only on restart; still %s\n", was ? was : "off");
	xb_policy_set_config(d->pol, nx->conf);
	xb_fleet_run_set_config(&d->fleet, nx->conf);
	if (d->resp) {
		struct xb_resp_opts ro;

		xb_enforce_resp_opts(&d->enf, nx->conf, &ro);
		xb_resp_set_opts(d->resp, &ro);
	}
	xb_detect_swap(&d->det, nx->det);
	d->conf = nx->conf;
	if (nx->src.n) {
		daemon_sources_close(d);
		d->src = nx->src;
		daemon_sources_watch(d);
	}
	if (d->dp && nx->conf->max_bans != old->max_bans) {
		uint32_t was = xb_dp_max_bans(d->dp), held;
		int ret = xb_dp_set_max_bans(d->dp, nx->conf->max_bans, false, &held);

		/* Checked in next_load; only another process's growth since then fails it. */
		if (ret)
			pr_warn("reload: <max_bans> kept at %u: %s\n", was, strerror(-ret));
		else
			pr_info("reload: <max_bans> %u (was %u)\n", xb_dp_max_bans(d->dp), was);
	}
	if (d->dp) {
		daemon_attach_ifaces(d, old, nx->conf, NULL);
		daemon_sync_allow(d, old, nx->conf);
	}
	xb_config_free(old);
}

int daemon_reload(struct daemon *d, char *err, size_t len)
{
	struct next nx = { 0 };
	int ret = next_load(d, &nx, err, len);

	if (ret) {
		pr_warn("reload failed, the running config stays in force: %s\n", err);
		return ret;
	}
	next_swap_in(d, &nx);
	d->n.reloads++;
	pr_info("reloaded %s: %zu active responses, %zu rules\n", d->conf->path, d->conf->n_ars,
		xb_detect_rule_count(d->det));
	return 0;
}
