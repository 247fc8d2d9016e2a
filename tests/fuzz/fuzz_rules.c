// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz the rules stage: a rule file loaded from memory (xb_ruleset_load_mem),
 * then a few events through xb_rules_eval with a small correlator, several
 * times each so that frequency rules fill, fire, evict and ignore.
 *
 * Input: the rule file, optionally followed by a NUL byte and log lines
 * (one per '\n') to decode and evaluate; without them a fixed set of sshd
 * lines is used. A failed load must say why; an alert must name a rule of
 * the set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode/decode.h"
#include "rules/rules.h"

#define ROUNDS 10               /* each line this many times, 1 s apart */
#define MAX_LINES 16

static const char *const fixed[] = {
	"Nov 28 07:00:05 srv sshd[102]: Invalid user root from 198.18.0.20 port 5555",
	"Nov 28 07:00:06 srv sshd[102]: Failed password for invalid user root from 198.18.0.20 port 5555 ssh2",
	"Nov 28 07:00:07 srv sshd[103]: Failed password for root from 2001:db8::5 port 22 ssh2",
	"Nov 28 07:00:08 srv sshd[104]: Connection closed by authenticating user root 198.18.0.21 port 41 [preauth]",
	"Nov 28 07:00:09 srv sshd[105]: error: PAM: Authentication failure for illegal user x from 198.18.0.22",
	"Nov 28 07:00:10 srv sshd[106]: Accepted publickey for bob from 198.18.0.23 port 9 ssh2: ED25519 SHA256:x",
	"Nov 28 07:00:11 srv sshd[107]: Did not receive identification string from 198.18.0.24 port 7",
	"Nov 28 07:00:12 srv CRON[108]: pam_unix(cron:session): session opened for user root",
};

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_rules: %s\n", what);
	abort();
}

static void eval_line(struct xb_ruleset *rs, struct xb_correlator *c, const char *text, size_t len,
		      int64_t ts)
{
	struct xb_line l = { .text = text, .len = len, .ts_usec = ts };
	struct xb_event ev;
	struct xb_alert al;

	xb_decode_line_any(&l, &ev, NULL);
	if (xb_rules_eval(rs, c, &ev, &al) != 1)
		return;
	if (xb_rule_find(rs, al.rule, NULL) || al.ev != &ev || !al.groups)
		fail("an alert that names no rule of the set");
}

/* The lines after the NUL (or the fixed ones), each ROUNDS times. */
static void eval_all(struct xb_ruleset *rs, struct xb_correlator *c, const char *ext, size_t n)
{
	const char *lines[MAX_LINES];
	size_t lens[MAX_LINES], k = 0;

	for (size_t i = 0; ext && i < n && k < MAX_LINES;) {
		const char *nl = memchr(ext + i, '\n', n - i);
		size_t e = nl ? (size_t)(nl - ext) : n;

		lines[k] = ext + i;
		lens[k++] = e - i;
		i = e + 1;
	}
	for (; !ext && k < sizeof(fixed) / sizeof(fixed[0]); k++) {
		lines[k] = fixed[k];
		lens[k] = strlen(fixed[k]);
	}
	for (int r = 0; r < ROUNDS; r++)
		for (size_t i = 0; i < k; i++)
			eval_line(rs, c, lines[i], lens[i], (int64_t)(1000 + r) * 1000000 + (int64_t)i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nul = memchr(data, '\0', size);
	size_t xml_len = nul ? (size_t)(nul - (const char *)data) : size;
	struct xb_ruleset *rs = NULL;
	struct xb_correlator *c = NULL;
	char err[256];
	char *buf = malloc(size ? size : 1);    /* exact size: ASan sees over-reads */

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (xb_ruleset_load_mem("fuzz.xml", buf, xml_len, &rs, err, sizeof(err))) {
		if (rs || !memchr(err, '\0', sizeof(err)) || !err[0])
			fail("a failed load without a reason, or with a ruleset");
		free(buf);
		return 0;
	}
	if (xb_corr_new(rs, 4, &c))     /* 4 entries: eviction happens */
		fail("no correlator");
	eval_all(rs, c, nul ? buf + xml_len + 1 : NULL, nul ? size - xml_len - 1 : 0);
	xb_corr_free(c);
	xb_ruleset_free(rs);
	free(buf);
	return 0;
}
