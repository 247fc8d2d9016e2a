// SPDX-License-Identifier: GPL-2.0
/*
 * rules: the ruleset - loading it from a rules directory and a local file
 * (or from memory), freeing it, and looking rules up.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/internal.h"
#include "common/util.h"
#include "common/xml.h"

long xb_rule_index(const struct xb_ruleset *rs, uint32_t id)
{
	for (size_t i = 0; i < rs->n; i++)
		if (rs->r[i].id == id)
			return (long)i;
	return -1;
}

int xb_push_idx(uint32_t **arr, size_t *n, size_t *cap, uint32_t v)
{
	int err = xb_grow(arr, cap, *n, sizeof(**arr), 4);

	if (!err)
		(*arr)[(*n)++] = v;
	return err;
}

static struct xb_ruleset *ruleset_new(void)
{
	struct xb_ruleset *rs = calloc(1, sizeof(*rs));

	if (!rs)
		return NULL;
	rs->md = pcre2_match_data_create(16, NULL);
	if (!rs->md) {
		free(rs);
		return NULL;
	}
	return rs;
}

/* Link what was loaded (if loading went well) and hand it out, or free it. */
static int finish(struct xb_xml_err *xe, struct xb_ruleset *rs, int err, struct xb_ruleset **out)
{
	if (!err)
		err = xb_rules_link(xe, rs);
	if (err) {
		if (err == -ENOMEM && xe->buf)
			snprintf(xe->buf, xe->len, "out of memory");
		xb_ruleset_free(rs);
		return err;
	}
	*out = rs;
	return 0;
}

static int xml_filter(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 4 && !strcmp(d->d_name + n - 4, ".xml");
}

/* Every *.xml in dir, sorted by name. */
static int load_dir(struct xb_xml_err *xe, struct xb_ruleset *rs, const char *dir)
{
	struct dirent **list;
	int n = scandir(dir, &list, xml_filter, alphasort), err = 0;

	if (n < 0) {
		err = -errno;
		if (xe->buf)
			snprintf(xe->buf, xe->len, "%s: %s", dir, strerror(-err));
		return err;
	}
	for (int i = 0; i < n; i++) {
		char path[4096];

		if (!err) {
			snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name);
			err = xb_rules_load_file(xe, rs, path);
		}
		free(list[i]);
	}
	free(list);
	return err;
}

int xb_ruleset_load(const char *rules_dir, const char *local_rules_file,
		    struct xb_ruleset **out, char *err, size_t errlen)
{
	struct xb_xml_err xe = { .file = "", .buf = err, .len = errlen };
	struct xb_ruleset *rs = ruleset_new();
	int rc = 0;

	if (err && errlen)
		err[0] = '\0';
	if (!rs)
		return -ENOMEM;
	if (rules_dir)
		rc = load_dir(&xe, rs, rules_dir);
	if (!rc && local_rules_file)
		rc = xb_rules_load_file(&xe, rs, local_rules_file);
	/* xe.file may point at a stack path: errors after this use rule->file */
	xe.file = "";
	return finish(&xe, rs, rc, out);
}

int xb_ruleset_load_mem(const char *name, const char *xml, size_t len,
			struct xb_ruleset **out, char *err, size_t errlen)
{
	struct xb_xml_err xe = { .file = name, .buf = err, .len = errlen };
	struct xb_ruleset *rs = ruleset_new();

	if (err && errlen)
		err[0] = '\0';
	if (!rs)
		return -ENOMEM;
	return finish(&xe, rs, xb_rules_load_doc(&xe, rs, xml, len), out);
}

void xb_ruleset_free(struct xb_ruleset *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->n; i++)
		xb_rule_clear(&rs->r[i]);
	free(rs->r);
	free(rs->roots);
	pcre2_match_data_free(rs->md);
	free(rs);
}

size_t xb_ruleset_count(const struct xb_ruleset *rs)
{
	return rs->n;
}

static void fill_info(const struct rule *r, struct xb_rule_info *info)
{
	info->id = r->id;
	info->level = r->level;
	info->noalert = r->noalert;
	info->frequency = r->if_matched_sid ? r->frequency : 0;
	info->timeframe = r->timeframe;
	info->ignore = r->ignore;
	info->same_source_ip = r->same_source_ip;
	info->if_matched_sid = r->if_matched_sid;
	info->description = r->description;
	info->groups = r->groups;
	info->file = r->file;
	info->line = r->line;
}

int xb_rule_find(const struct xb_ruleset *rs, uint32_t id, struct xb_rule_info *info)
{
	long i = xb_rule_index(rs, id);

	if (i < 0)
		return -ENOENT;
	if (info)
		fill_info(&rs->r[i], info);
	return 0;
}

int xb_rule_foreach(const struct xb_ruleset *rs,
		    int (*cb)(const struct xb_rule_info *info, void *ctx), void *ctx)
{
	for (size_t i = 0; i < rs->n; i++) {
		struct xb_rule_info info;
		int err;

		fill_info(&rs->r[i], &info);
		if ((err = cb(&info, ctx)) < 0)
			return err;
	}
	return 0;
}
