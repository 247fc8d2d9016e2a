// SPDX-License-Identifier: GPL-2.0
/* ar: xdpban as a Wazuh agent's firewall-drop. Speaks execd's protocol (4.2+)
 * on stdin/stdout: "add" bans parameters.alert.data.srcip (after a
 * check_keys exchange) for at most a ceiling, "delete" unbans. The same
 * binary invoked as `firewall-drop` (a symlink in active-response/bin) runs
 * this command. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli/cli.h"
#include "cli/guard.h"
#include "common/util.h"
#include "xdpban.h"

#define LINE_MAX_BYTES  65536
#define REPLY_WAIT_MS   10000   /* execd answers check_keys at once */
#define DEFAULT_CEILING 86400   /* a lost delete cannot ban for longer */

struct ar_cfg {
	struct xb_cli_paths paths;
	uint64_t ceiling;
	bool ceiling_given;
};
XB_CLI_CFG(struct ar_cfg);

static const struct xb_opt ar_opts[] = {
	{ .name = "config", .short_opt = 'c', XB_STRING(struct ar_cfg, paths.config),
	  .metavar = "FILE", .help = "whose allow list is respected (default $" XB_CONFIG_ENV
	  " or " XB_CONFIG_DEFAULT ")" },
	{ .name = "max-ttl", .short_opt = 't', XB_DURATION(struct ar_cfg, ceiling),
	  XB_GIVEN(struct ar_cfg, ceiling_given), .min = 1, .metavar = "DURATION",
	  .help = "the longest ban (default 1d, or the first duration in extra_args)" },
	{}
};

const struct xb_opts_spec xb_ar_opts = {
	.opts = ar_opts,
	.pos = { .metavar = "", .min = 0, .max = 0 },
	.size = sizeof(struct ar_cfg),
	.desc = "Wazuh active response: read execd's JSON message on stdin. \"add\" answers "
		"check_keys with the source address and, on \"continue\", bans it in the XDP "
		"maps until the ceiling (a lost \"delete\" cannot ban forever); \"delete\" lifts "
		"the ban. Bad JSON, a missing or malformed address, or an allow-listed, "
		"loopback or own address: one line on stderr, nothing banned, exit 2 or 4. "
		"Install as active-response/bin/firewall-drop (a symlink to xdpban).",
};

/* One line from fd 0 within ms (NUL-terminated, newline cut). */
static int read_line(char *buf, size_t len, int ms)
{
	size_t n = 0;
	uint64_t end = xb_now_mono_ns() + (uint64_t)ms * 1000000;

	while (n + 1 < len) {
		struct pollfd p = { .fd = 0, .events = POLLIN };
		int left = (int)((end - xb_now_mono_ns()) / 1000000);
		ssize_t got;

		if (xb_now_mono_ns() >= end || poll(&p, 1, left > 0 ? left : 1) <= 0)
			return -ETIMEDOUT;
		got = read(0, buf + n, 1);      /* byte by byte: the next line is not ours */
		if (got <= 0)
			return n ? 0 : -EPIPE;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = 0;
	return n + 1 < len ? 0 : -EMSGSIZE;
}

static json_object *get(json_object *o, const char *k, enum json_type t)
{
	json_object *v = NULL;

	if (!o || !json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, t))
		return NULL;
	return v;
}

/* The message's command and address, checked as Wazuh's own scripts check them. */
static int parse_msg(json_object *m, const char **cmd, struct xb_addr *a, const char **ip)
{
	json_object *ver = get(m, "version", json_type_int), *par, *al, *data, *src, *c;

	if (!m || !ver || json_object_get_int(ver) != 1 || !get(m, "origin", json_type_object) ||
	    !(c = get(m, "command", json_type_string)) ||
	    !(par = get(m, "parameters", json_type_object))) {
		fprintf(stderr, "xdpban ar: not an execd message (version 1, origin, command, "
			"parameters)\n");
		return -EINVAL;
	}
	*cmd = json_object_get_string(c);
	if (strcmp(*cmd, "add") && strcmp(*cmd, "delete")) {
		fprintf(stderr, "xdpban ar: unknown command '%.40s'\n", *cmd);
		return -EINVAL;
	}
	al = get(par, "alert", json_type_object);
	data = get(al, "data", json_type_object);
	src = get(data, "srcip", json_type_string);
	*ip = src ? json_object_get_string(src) : "";
	if (!src || xb_addr_parse(*ip, a, false) || !xb_addr_is_single(a)) {
		if (src)
			fprintf(stderr, "xdpban ar: parameters.alert.data.srcip '%.60s' is no "
				"address: nothing banned\n", *ip);
		else
			fprintf(stderr, "xdpban ar: parameters.alert.data.srcip is missing: "
				"nothing banned\n");
		return -EINVAL;
	}
	return 0;
}

/* The ceiling: --max-ttl, else the first duration among extra_args, else a day. */
static uint64_t ceiling(const struct ar_cfg *c, json_object *m)
{
	json_object *ea = get(get(m, "parameters", json_type_object), "extra_args",
			      json_type_array);
	uint64_t v;

	if (c->ceiling_given)
		return c->ceiling;
	for (size_t i = 0; ea && i < json_object_array_length(ea); i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(ea, i));

		if (s && !xb_parse_duration(s, &v) && v > 0)
			return v;
	}
	return DEFAULT_CEILING;
}

/* check_keys with the address; true when execd says continue. */
static int check_keys(const char *ip, bool *go_on)
{
	char reply[LINE_MAX_BYTES];
	json_object *r, *c;
	int err;

	printf("{\"version\":1,\"origin\":{\"name\":\"firewall-drop\",\"module\":\"active-response\"},"
	       "\"command\":\"check_keys\",\"parameters\":{\"keys\":[\"%s\"]}}\n", ip);
	fflush(stdout);
	if ((err = read_line(reply, sizeof(reply), REPLY_WAIT_MS))) {
		fprintf(stderr, "xdpban ar: no answer to check_keys: %s\n", strerror(-err));
		return err;
	}
	r = json_tokener_parse(reply);
	c = get(r, "command", json_type_string);
	*go_on = c && !strcmp(json_object_get_string(c), "continue");
	err = c && (*go_on || !strcmp(json_object_get_string(c), "abort")) ? 0 : -EINVAL;
	if (err)
		fprintf(stderr, "xdpban ar: bad answer to check_keys\n");
	json_object_put(r);
	return err;
}

static int refused(const struct xb_cli_ctx *ctx, const struct xb_addr *a, const char *ip)
{
	struct xb_cli_guard g;
	char why[512];
	int err = xb_cli_guard_open(&g, ctx->config, why, sizeof(why));

	if (err) {
		fprintf(stderr, "xdpban ar: cannot check the allow list: %s\n", why);
		return err;
	}
	if (xb_cli_guard_refuses(&g, a, why, sizeof(why))) {
		fprintf(stderr, "xdpban ar: refused %s: %s\n", ip, why);
		err = -EPERM;
	}
	xb_cli_guard_close(&g);
	return err;
}

static int ar_add(const struct ar_cfg *c, const struct xb_cli_ctx *ctx, json_object *m,
		  const struct xb_addr *a, const char *ip)
{
	struct xb_ban_req req = { .flags = XB_BAN_F_MANUAL, .reason = "wazuh firewall-drop" };
	uint64_t ttl = ceiling(c, m);
	bool go_on = false;
	struct xb_dp *dp;
	int err;

	if ((err = refused(ctx, a, ip)) || (err = check_keys(ip, &go_on)))
		return err;
	if (!go_on)
		return 0;               /* execd: in force already */
	if ((err = xb_cli_dp_open(ctx, true, 0, &dp)))
		return err;
	req.expires = xb_now_mono_ns() + ttl * NSEC_PER_SEC;
	err = xb_dp_ban(dp, a, &req);
	if (err)
		xb_cli_ban_report("ar", a, err);
	else
		fprintf(stderr, "xdpban ar: banned %s for at most %llu s\n", ip,
			(unsigned long long)ttl);
	xb_dp_close(dp);
	return err;
}

static int ar_delete(const struct xb_cli_ctx *ctx, const struct xb_addr *a, const char *ip)
{
	struct xb_dp *dp;
	int err = xb_cli_dp_open(ctx, false, 0, &dp);

	if (err == -ENOENT)
		return 0;               /* no maps: nothing to lift */
	if (err)
		return err;
	err = xb_dp_unban(dp, a);
	xb_dp_close(dp);
	if (!err)
		fprintf(stderr, "xdpban ar: unbanned %s\n", ip);
	return err == -ENOENT ? 0 : err;
}

int do_ar(const void *cfg, const struct xb_cli_ctx *ctx, int argc, char **argv)
{
	char *line = malloc(LINE_MAX_BYTES);
	const char *cmd = NULL, *ip = NULL;
	json_object *m = NULL;
	struct xb_addr a;
	int err;

	if (!line)
		return -ENOMEM;
	err = read_line(line, LINE_MAX_BYTES, REPLY_WAIT_MS);
	if (err)
		fprintf(stderr, "xdpban ar: no message on stdin: %s\n", strerror(-err));
	if (!err && !(m = json_tokener_parse(line))) {
		fprintf(stderr, "xdpban ar: stdin is not JSON\n");
		err = -EINVAL;
	}
	if (!err)
		err = parse_msg(m, &cmd, &a, &ip);
	if (!err)
		err = !strcmp(cmd, "add") ? ar_add(cfg, ctx, m, &a, ip) : ar_delete(ctx, &a, ip);
	json_object_put(m);
	free(line);
	return err == -ETIMEDOUT || err == -EPIPE || err == -EMSGSIZE ? -EINVAL : err;
}
