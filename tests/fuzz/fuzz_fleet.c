// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz the fleet's decoders: what another host sends through the broker (a
 * report at the manager, a decision at an agent) is input to distrust. A
 * decoded message must name a valid agent and a single-family address, and
 * encode back into something that decodes to the same message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet/fleet.h"

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_fleet: %s\n", what);
	abort();
}

#define check(cond) do { if (!(cond)) fail(#cond); } while (0)

static void report(const char *buf, size_t len)
{
	struct xb_fleet_report r, back;
	char out[XB_FLEET_MSG_MAX * 4];
	int n;

	if (xb_fleet_report_decode(buf, len, &r))
		return;
	check(xb_agent_id_ok(r.agent, strlen(r.agent)));
	check(r.kind == XB_FLEET_ALERT || r.kind == XB_FLEET_HELLO);
	check(r.n_own <= XB_FLEET_HELLO_ADDRS);
	if (r.kind == XB_FLEET_ALERT)
		check(r.addr.family == 4 || r.addr.family == 6);
	n = xb_fleet_report_encode(&r, out, sizeof(out));
	check(n > 0);
	check(!xb_fleet_report_decode(out, (size_t)n, &back));
	check(!strcmp(back.id, r.id) && back.ts == r.ts && back.kind == r.kind);
	check(r.kind != XB_FLEET_ALERT || (xb_addr_eq(&back.addr, &r.addr) && back.rule == r.rule));
}

static void decision(const char *buf, size_t len)
{
	struct xb_fleet_decision d, back;
	char out[XB_FLEET_MSG_MAX * 4], key[XB_FLEET_KEY_MAX];
	int n;

	if (xb_fleet_decision_decode(buf, len, &d))
		return;
	check(d.addr.family == 4 || d.addr.family == 6);
	check(d.end >= 0);
	check(!xb_fleet_key(d.target, &d.addr, d.cmd, key, sizeof(key)));
	check(!strpbrk(key, ":/ *>"));
	n = xb_fleet_decision_encode(&d, out, sizeof(out));
	check(n > 0);
	check(!xb_fleet_decision_decode(out, (size_t)n, &back));
	check(xb_addr_eq(&back.addr, &d.addr) && back.end == d.end && back.offence == d.offence);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	report((const char *)data, size);
	decision((const char *)data, size);
	return 0;
}
