// SPDX-License-Identifier: GPL-2.0
/* respond: execd's JSON messages, as Wazuh 4.2+ writes and reads them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "common/util.h"
#include "respond/internal.h"

static json_object *str(const char *s)
{
	return json_object_new_string(s ? s : "");
}

/* Wazuh's groups are a list: "syslog,sshd," -> ["syslog","sshd"]. */
static json_object *groups_array(const char *groups)
{
	json_object *a = json_object_new_array();
	char buf[512], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", groups ? groups : "");
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (*t)
			json_object_array_add(a, str(t));
	return a;
}

/* <extra_args> are split on spaces, as execd does. */
static json_object *extra_args_array(const char *extra)
{
	json_object *a = json_object_new_array();
	char buf[1024], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", extra ? extra : "");
	for (char *t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save))
		json_object_array_add(a, str(t));
	return a;
}

static json_object *origin(const struct xb_resp *r)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "name", str(r->node));
	json_object_object_add(o, "module", str("wazuh-execd"));
	return o;
}

static json_object *alert(const struct xb_resp *r, const struct xb_resp_req *q)
{
	json_object *al = json_object_new_object(), *rule = json_object_new_object();
	json_object *data = json_object_new_object(), *agent = json_object_new_object();
	char ab[XB_ADDRSTRLEN], id[16], ts[40];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S.000+0000", &tm);
	snprintf(id, sizeof(id), "%u", q->rule);
	json_object_object_add(rule, "level", json_object_new_int((int)q->level));
	json_object_object_add(rule, "description", str(q->description));
	json_object_object_add(rule, "id", str(id));
	json_object_object_add(rule, "groups", groups_array(q->groups));
	json_object_object_add(agent, "id", str("000"));
	json_object_object_add(agent, "name", str(r->node));
	json_object_object_add(data, "srcip", str(xb_addr_str(&q->addr, ab, sizeof(ab))));
	if (q->user && *q->user)
		json_object_object_add(data, "dstuser", str(q->user));
	json_object_object_add(al, "timestamp", str(ts));
	json_object_object_add(al, "rule", rule);
	json_object_object_add(al, "agent", agent);
	json_object_object_add(al, "decoder", json_object_new_object());
	json_object_object_add(json_object_object_get(al, "decoder"), "name", str("sshd"));
	json_object_object_add(al, "data", data);
	return al;
}

static char *to_line(json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE);
	char *out = s ? strdup(s) : NULL;

	json_object_put(o);
	return out;
}

char *msg_add(const struct xb_resp *r, const struct xb_resp_req *q, const char *program)
{
	json_object *m = json_object_new_object(), *par = json_object_new_object();

	json_object_object_add(m, "version", json_object_new_int(1));
	json_object_object_add(m, "origin", origin(r));
	json_object_object_add(m, "command", str("add"));
	json_object_object_add(par, "extra_args", extra_args_array(q->cmd->extra_args));
	json_object_object_add(par, "alert", alert(r, q));
	json_object_object_add(par, "program", str(program));
	json_object_object_add(m, "parameters", par);
	return to_line(m);
}

char *msg_with_command(const char *msg, const char *command)
{
	json_object *m = json_tokener_parse(msg);

	if (!m || !json_object_is_type(m, json_type_object)) {
		json_object_put(m);
		return NULL;
	}
	json_object_object_add(m, "command", str(command));
	return to_line(m);
}

int msg_check_keys(const char *line, char *keys, size_t len)
{
	json_object *m = json_tokener_parse(line), *c, *p, *k;
	size_t used = 0;
	int err = -EINVAL;

	if (!m || !json_object_object_get_ex(m, "command", &c) ||
	    strcmp(json_object_get_string(c) ?: "", "check_keys") ||
	    !json_object_object_get_ex(m, "parameters", &p) ||
	    !json_object_object_get_ex(p, "keys", &k) || !json_object_is_type(k, json_type_array))
		goto out;
	*keys = 0;
	for (size_t i = 0; i < json_object_array_length(k); i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(k, i));
		int w = snprintf(keys + used, len - used, "%s%s", i ? "-" : "", s ? s : "");

		if (w < 0 || (size_t)w >= len - used)
			goto out;
		used += w;
	}
	err = used ? 0 : -EINVAL;
out:
	json_object_put(m);
	return err;
}

char *msg_reply(const struct xb_resp *r, bool go_on)
{
	json_object *m = json_object_new_object();

	json_object_object_add(m, "version", json_object_new_int(1));
	json_object_object_add(m, "origin", origin(r));
	json_object_object_add(m, "command", str(go_on ? "continue" : "abort"));
	json_object_object_add(m, "parameters", json_object_new_object());
	return to_line(m);
}

static void field(json_object *fields, const char *title, const char *value)
{
	json_object *f = json_object_new_object();

	json_object_object_add(f, "title", str(title));
	json_object_object_add(f, "value", str(value));
	json_object_object_add(f, "short", json_object_new_boolean(1));
	json_object_array_add(fields, f);
}

char *msg_slack(const struct xb_resp *r, const struct xb_resp_req *q)
{
	json_object *m = json_object_new_object(), *att = json_object_new_object();
	json_object *atts = json_object_new_array(), *fields = json_object_new_array();
	char ab[XB_ADDRSTRLEN], text[512], rule[32];

	xb_addr_str(&q->addr, ab, sizeof(ab));
	snprintf(rule, sizeof(rule), "%u (level %u)", q->rule, q->level);
	snprintf(text, sizeof(text), "xdpban on %s: rule %u, %s, from %s%s%s: %s", r->node,
		 q->rule, q->description ? q->description : "", ab,
		 q->user && *q->user ? ", user " : "", q->user && *q->user ? q->user : "",
		 q->action && *q->action ? q->action : "no ban");
	json_object_object_add(m, "text", str(text));
	json_object_object_add(att, "color", str(q->level >= 10 ? "danger" : "warning"));
	json_object_object_add(att, "title", str(q->description));
	field(fields, "Rule", rule);
	field(fields, "Source", ab);
	if (q->user && *q->user)
		field(fields, "User", q->user);
	field(fields, "Action", q->action && *q->action ? q->action : "no ban");
	json_object_object_add(att, "fields", fields);
	json_object_array_add(atts, att);
	json_object_object_add(m, "attachments", atts);
	return to_line(m);
}

void resp_clean(const char *in, size_t n, char *out, size_t len)
{
	size_t j = 0;

	for (size_t i = 0; i < n && j + 1 < len; i++)
		out[j++] = (unsigned char)in[i] < 0x20 || in[i] == 0x7f ? '?' : in[i];
	if (len)
		out[j] = 0;
}
