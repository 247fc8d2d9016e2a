// SPDX-License-Identifier: GPL-2.0
/* fleet: reports and decisions as JSON, and the KV keys (see fleet.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "fleet/fleet.h"

#define MSG_VERSION 1

static int emit(struct json_object *o, char *buf, size_t len)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	size_t n = s ? strlen(s) : 0;
	int ret = -ENOSPC;

	if (s && n < len) {
		memcpy(buf, s, n + 1);
		ret = (int)n;
	}
	json_object_put(o);
	return ret;
}

static void put_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v));
}

static void put_int(struct json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

static void put_addr(struct json_object *o, const char *k, const struct xb_addr *a)
{
	char b[XB_ADDRSTRLEN];

	put_str(o, k, xb_addr_fmt(a, b, sizeof(b)));
}

int xb_fleet_report_encode(const struct xb_fleet_report *r, char *buf, size_t len)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return -ENOMEM;
	put_int(o, "v", MSG_VERSION);
	put_str(o, "type", r->kind == XB_FLEET_HELLO ? "hello" : "alert");
	put_str(o, "id", r->id);
	put_str(o, "agent", r->agent);
	put_int(o, "ts", r->ts);
	if (r->kind == XB_FLEET_HELLO) {
		struct json_object *a = json_object_new_array();

		for (unsigned i = 0; a && i < r->n_own && i < XB_FLEET_HELLO_ADDRS; i++) {
			char b[XB_ADDRSTRLEN];

			json_object_array_add(a, json_object_new_string(
				xb_addr_fmt(&r->own[i], b, sizeof(b))));
		}
		json_object_object_add(o, "own", a);
	} else {
		put_addr(o, "addr", &r->addr);
		put_str(o, "cmd", r->cmd);
		put_int(o, "rule", r->rule);
		put_int(o, "level", r->level);
		put_str(o, "groups", r->groups);
	}
	return emit(o, buf, len);
}

/* Field getters: false when absent or of the wrong type or size. */
static bool get_str(struct json_object *o, const char *k, char *out, size_t len)
{
	struct json_object *v;
	const char *s;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
		return false;
	s = json_object_get_string(v);
	if (strlen(s) >= len)
		return false;
	strcpy(out, s);
	return true;
}

static bool get_int(struct json_object *o, const char *k, int64_t min, int64_t max, int64_t *out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_int))
		return false;
	errno = 0;
	*out = json_object_get_int64(v);
	return !errno && *out >= min && *out <= max;
}

static bool get_addr(struct json_object *o, const char *k, struct xb_addr *a)
{
	char b[XB_ADDRSTRLEN];

	return get_str(o, k, b, sizeof(b)) && !xb_addr_parse(b, a, false);
}

static bool cmd_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return false;
	return true;
}

static struct json_object *parse(const char *buf, size_t len)
{
	struct json_tokener *t = json_tokener_new();
	struct json_object *o;
	int64_t v;

	if (!t)
		return NULL;
	o = json_tokener_parse_ex(t, buf, (int)len);
	if (o && (json_tokener_get_error(t) != json_tokener_success ||
		  !json_object_is_type(o, json_type_object) ||
		  !get_int(o, "v", MSG_VERSION, MSG_VERSION, &v))) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(t);
	return o;
}

static int report_alert(struct json_object *o, struct xb_fleet_report *r)
{
	int64_t rule, level;

	if (!get_addr(o, "addr", &r->addr) || !get_str(o, "cmd", r->cmd, sizeof(r->cmd)) ||
	    !cmd_ok(r->cmd) || !get_int(o, "rule", 1, UINT32_MAX, &rule) ||
	    !get_int(o, "level", 0, 20, &level) || !get_str(o, "groups", r->groups, sizeof(r->groups)))
		return -EINVAL;
	r->rule = rule;
	r->level = level;
	return 0;
}

static int report_hello(struct json_object *o, struct xb_fleet_report *r)
{
	struct json_object *a;
	size_t n;

	if (!json_object_object_get_ex(o, "own", &a) || !json_object_is_type(a, json_type_array))
		return -EINVAL;
	n = json_object_array_length(a);
	for (size_t i = 0; i < n && r->n_own < XB_FLEET_HELLO_ADDRS; i++) {
		struct json_object *v = json_object_array_get_idx(a, i);

		if (!json_object_is_type(v, json_type_string) ||
		    xb_addr_parse(json_object_get_string(v), &r->own[r->n_own], false))
			return -EINVAL;
		r->n_own++;
	}
	return 0;
}

int xb_fleet_report_decode(const char *buf, size_t len, struct xb_fleet_report *r)
{
	struct json_object *o = parse(buf, len);
	char type[16];
	int err = -EINVAL;

	memset(r, 0, sizeof(*r));
	if (!o)
		return -EINVAL;
	if (get_str(o, "type", type, sizeof(type)) && get_str(o, "id", r->id, sizeof(r->id)) &&
	    get_str(o, "agent", r->agent, sizeof(r->agent)) &&
	    xb_agent_id_ok(r->agent, strlen(r->agent)) &&
	    get_int(o, "ts", 0, INT32_MAX * 4LL, &r->ts)) {
		if (!strcmp(type, "alert")) {
			r->kind = XB_FLEET_ALERT;
			err = report_alert(o, r);
		} else if (!strcmp(type, "hello")) {
			r->kind = XB_FLEET_HELLO;
			err = report_hello(o, r);
		}
	}
	json_object_put(o);
	return err;
}

int xb_fleet_decision_encode(const struct xb_fleet_decision *d, char *buf, size_t len)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return -ENOMEM;
	put_int(o, "v", MSG_VERSION);
	put_str(o, "target", d->target);
	put_addr(o, "addr", &d->addr);
	put_str(o, "cmd", d->cmd);
	put_int(o, "rule", d->rule);
	put_int(o, "offence", d->offence);
	put_int(o, "issued", d->issued);
	put_int(o, "end", d->end);
	put_str(o, "by", d->by);
	return emit(o, buf, len);
}

int xb_fleet_decision_decode(const char *buf, size_t len, struct xb_fleet_decision *d)
{
	struct json_object *o = parse(buf, len);
	int64_t rule, offence;
	int err = -EINVAL;

	memset(d, 0, sizeof(*d));
	if (!o)
		return -EINVAL;
	if (get_str(o, "target", d->target, sizeof(d->target)) &&
	    (!strcmp(d->target, XB_FLEET_ALL) || xb_agent_id_ok(d->target, strlen(d->target))) &&
	    get_addr(o, "addr", &d->addr) && get_str(o, "cmd", d->cmd, sizeof(d->cmd)) &&
	    cmd_ok(d->cmd) && get_int(o, "rule", 0, UINT32_MAX, &rule) &&
	    get_int(o, "offence", 0, UINT32_MAX, &offence) &&
	    get_int(o, "issued", 0, INT64_MAX, &d->issued) &&
	    get_int(o, "end", 0, INT64_MAX, &d->end) && get_str(o, "by", d->by, sizeof(d->by))) {
		d->rule = rule;
		d->offence = offence;
		err = 0;
	}
	json_object_put(o);
	return err;
}

int xb_fleet_key(const char *target, const struct xb_addr *a, const char *cmd,
		 char *buf, size_t len)
{
	char ab[XB_ADDRSTRLEN];
	int n;

	if ((strcmp(target, XB_FLEET_ALL) && !xb_agent_id_ok(target, strlen(target))) ||
	    !cmd_ok(cmd))
		return -EINVAL;
	xb_addr_fmt(a, ab, sizeof(ab));
	/* KV keys allow [-/_=.A-Za-z0-9]; '.' separates tokens, so the
	 * address becomes one token. */
	for (char *p = ab; *p; p++)
		if (*p == '.' || *p == ':')
			*p = '-';
		else if (*p == '/')
			*p = '_';
	n = snprintf(buf, len, "%s.%s.%s", target, ab, cmd);
	return n > 0 && (size_t)n < len ? 0 : -ENOSPC;
}

bool xb_fleet_pack_next(const char *buf, size_t len, size_t *off, const char **line, size_t *n)
{
	const char *nl;

	if (*off >= len)
		return false;
	*line = buf + *off;
	nl = memchr(*line, '\n', len - *off);
	*n = nl ? (size_t)(nl - *line) : len - *off;
	*off += *n + (nl ? 1 : 0);
	return true;
}
