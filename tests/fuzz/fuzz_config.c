// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz the config reader (xb_config_parse) on a document from memory. A
 * failed parse must say why and give no config; a parsed one must hold
 * what the daemon relies on: resolved commands, single-family allow
 * entries, bounded settings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_config: %s\n", what);
	abort();
}

#define check(cond) do { if (!(cond)) fail(#cond); } while (0)

static void check_config(const struct xb_config *c)
{
	check(c->state_dir && c->ctl_socket);
	for (size_t i = 0; i < c->n_ifaces; i++)
		check(memchr(c->ifaces[i].name, '\0', sizeof(c->ifaces[i].name)));
	for (size_t i = 0; i < c->n_sources; i++)
		check((c->sources[i].type == XB_SRC_FILE) == (c->sources[i].path != NULL));
	for (size_t i = 0; i < c->n_allow; i++)
		check(c->allow[i].family == 4 || c->allow[i].family == 6);
	for (size_t i = 0; i < c->n_ars; i++) {
		const struct xb_ar *ar = &c->ars[i];

		check(ar->command && ar->cmd);
		check(ar->n_repeated <= XB_MAX_REPEATED);
		check(ar->timeout > 0);
		check(xb_location_name(ar->location));
	}
	if (c->fleet.enabled) {
		int tls = !!c->fleet.ca + !!c->fleet.cert + !!c->fleet.key;

		check(xb_agent_id_ok(c->fleet.agent_id, strlen(c->fleet.agent_id)));
		check(c->fleet.n_urls >= 1 && c->fleet.n_urls <= XB_FLEET_URLS_MAX);
		check(tls == 0 || tls == 3);
		check(c->fleet.grace > 0 && c->fleet.outbox_max > 0 && c->fleet.report_rate > 0 &&
		      c->fleet.report_pack >= 1 && c->fleet.report_pack <= XB_FLEET_PACK_MAX);
	}
	for (size_t i = 0; i < c->n_ars; i++)
		check(c->fleet.enabled || c->ars[i].disabled ||
		      (c->ars[i].location != XB_LOC_DEFINED_AGENT && c->ars[i].location != XB_LOC_ALL));
	if (c->v6agg.enabled)
		check(c->v6agg.prefix_len >= 32 && c->v6agg.prefix_len <= 127);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);    /* exact size: ASan sees over-reads */
	struct xb_config *c = NULL;
	char err[256];

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (xb_config_parse(buf, size, "fuzz.conf", &c, err, sizeof(err))) {
		check(!c);
		check(memchr(err, '\0', sizeof(err)) && err[0]);
	} else {
		check_config(c);
		xb_config_free(c);
	}
	free(buf);
	return 0;
}
