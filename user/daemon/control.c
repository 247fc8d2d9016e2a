// SPDX-License-Identifier: GPL-2.0
/* control: the daemon's answers to the control socket's requests (the
 * protocol is in ctlsock.h). */
#include <errno.h>
#include <string.h>

#include <json-c/json.h>

#include "common/util.h"
#include "daemon/internal.h"

static int ctl_status(struct daemon *d, const char *arg, struct json_object *reply)
{
	daemon_status(d, reply);
	return 0;
}

static int ctl_reload(struct daemon *d, const char *arg, struct json_object *reply)
{
	char err[512];
	int ret = daemon_reload(d, err, sizeof(err));

	if (ret)
		json_object_object_add(reply, "error", json_object_new_string(err));
	return ret;
}

/* The CLI lifted a ban: forget it, or a restart would bring it back. The
 * forgetting reaches the disk before the answer (not at the next tick), so
 * a daemon killed right after cannot restore the ban. */
static int ctl_unbanned(struct daemon *d, const char *arg, struct json_object *reply)
{
	struct xb_addr a;
	int ret;

	if (xb_addr_parse(arg, &a, false)) {
		json_object_object_add(reply, "error", json_object_new_string("bad address"));
		return -EINVAL;
	}
	ret = xb_enforce_forget(d->st, &a, "lifted with xdpban unban", NULL);
	if (ret && ret != -ENOENT)
		return ret;
	if (!ret)
		xb_enforce_flush(&d->enf, 0, false);
	json_object_object_add(reply, "known", json_object_new_boolean(ret == 0));
	return 0;
}

static int ctl_flushed(struct daemon *d, const char *arg, struct json_object *reply)
{
	size_t n = 0;
	int ret = xb_enforce_forget(d->st, NULL, "lifted with xdpban flush", &n);

	if (ret)
		return ret;
	xb_enforce_flush(&d->enf, 0, false);
	json_object_object_add(reply, "known", json_object_new_int64(n));
	return 0;
}

/* "fleet ban|unban LOCATION TTL AGENTS ADDR": a manual fleet decision. */
static int ctl_fleet(struct daemon *d, const char *arg, struct json_object *reply)
{
	char verb[8], loc[16], agents[256], addr[XB_ADDRSTRLEN], why[256];
	unsigned long long ttl;
	enum xb_ar_location l;
	struct xb_addr a;
	int ret;

	if (sscanf(arg, "%7s %15s %llu %255s %63s", verb, loc, &ttl, agents, addr) != 5 ||
	    (strcmp(verb, "ban") && strcmp(verb, "unban")) || xb_addr_parse(addr, &a, false)) {
		json_object_object_add(reply, "error", json_object_new_string("bad fleet request"));
		return -EINVAL;
	}
	if (!strcmp(loc, "server"))
		l = XB_LOC_SERVER;
	else if (!strcmp(loc, "defined-agent"))
		l = XB_LOC_DEFINED_AGENT;
	else if (!strcmp(loc, "all"))
		l = XB_LOC_ALL;
	else {
		json_object_object_add(reply, "error", json_object_new_string("bad location"));
		return -EINVAL;
	}
	ret = xb_fleet_run_manual(&d->fleet, &a, l, strcmp(agents, "-") ? agents : NULL, ttl,
				  !strcmp(verb, "unban"), why, sizeof(why));
	if (ret) {
		json_object_object_add(reply, "error", json_object_new_string(why));
		json_object_object_add(reply, "errno", json_object_new_int(-ret));
	}
	return ret;
}

static const struct ctl_request {
	const char *name;
	bool arg;               /* "NAME ARG" */
	int (*fn)(struct daemon *d, const char *arg, struct json_object *reply);
} requests[] = {
	{ "status", false, ctl_status },
	{ "reload", false, ctl_reload },
	{ "unbanned", true, ctl_unbanned },
	{ "flushed", false, ctl_flushed },
	{ "fleet", true, ctl_fleet },
};

/*
 * The request req names: its index in requests[], with its argument in *arg
 * (NULL for a request without one), or -EINVAL. Apart from the daemon so
 * that tests/fuzz/fuzz_ctl.c can reach it without one.
 */
int daemon_ctl_parse(const char *req, const char **arg)
{
	for (size_t i = 0; i < ARRAY_SIZE(requests); i++) {
		const struct ctl_request *r = &requests[i];
		size_t len = strlen(r->name);

		if (strncmp(req, r->name, len))
			continue;
		if (!r->arg && !req[len]) {
			*arg = NULL;
			return (int)i;
		}
		if (r->arg && req[len] == ' ') {
			*arg = req + len + 1;
			return (int)i;
		}
	}
	return -EINVAL;
}

const char *daemon_ctl_name(int i)
{
	return i >= 0 && (size_t)i < ARRAY_SIZE(requests) ? requests[i].name : NULL;
}

int daemon_on_ctl(const char *req, struct json_object *reply, void *ctx)
{
	const char *arg;
	int i = daemon_ctl_parse(req, &arg);

	if (i < 0) {
		json_object_object_add(reply, "error", json_object_new_string("unknown request"));
		return -EINVAL;
	}
	return requests[i].fn(ctx, arg, reply);
}
