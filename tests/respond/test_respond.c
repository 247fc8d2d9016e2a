// SPDX-License-Identifier: GPL-2.0
/* respond: the executor against real scripts in a temp dir, host-deny and
 * disable-account against temp files (never the machine's own). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <criterion/criterion.h>

#include "common/util.h"
#include "respond/internal.h"

static char dir[64];
static int puts_n, dels_n;

static int put(void *ctx, const struct xb_resp_row *r) { puts_n++; return 0; }
static int del(void *ctx, const char *key) { dels_n++; return 0; }

static void setup(void)
{
	signal(SIGPIPE, SIG_IGN);       /* as the daemon: a script may close its stdin */
	strcpy(dir, "/tmp/xb-resp-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	puts_n = dels_n = 0;
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

static void write_file(const char *name, const char *text, mode_t mode)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	cr_assert_not_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static char *slurp(const char *name)
{
	char path[128], *buf = NULL;
	size_t len;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return xb_read_file(path, 1 << 20, &buf, &len) ? strdup("") : buf;
}

static struct xb_resp *resp(unsigned limit)
{
	struct xb_resp_opts o = { .ar_dir = dir, .time_limit = limit, .store_put = put,
				  .store_del = del };
	struct xb_resp *r;

	cr_assert_eq(xb_resp_new(&o, &r), 0);
	return r;
}

/* Dispatch until no script runs, at most secs (ticks each 100 ms at now). */
static void settle(struct xb_resp *r, int64_t now, int secs)
{
	struct xb_resp_stats s;

	for (int i = 0; i < secs * 10; i++) {
		xb_resp_dispatch(r);
		xb_resp_tick(r, now);
		xb_resp_stats(r, &s);
		if (!s.running)
			return;
		usleep(100000);
	}
	cr_assert_fail("scripts still running after %d s", secs);
}

static struct xb_resp_req req(const struct xb_command *cmd, const char *ip, uint64_t ttl)
{
	struct xb_resp_req q = { .cmd = cmd, .user = "bob", .rule = 5712, .level = 10,
				 .description = "brute force", .groups = "syslog,sshd,", .ttl = ttl };

	cr_assert_eq(xb_addr_parse(ip, &q.addr, false), 0);
	return q;
}

TestSuite(respond, .init = setup, .fini = teardown, .timeout = 30);

Test(respond, script_keys_continue_abort_then_delete)
{
	struct xb_command cmd = { .name = "rec", .executable = "rec.sh", .extra_args = "a b",
				  .timeout_allowed = true };
	struct xb_resp *r;
	struct xb_resp_stats s;
	struct xb_resp_req q = req(&cmd, "198.18.0.7", 5);
	char *log;

	write_file("rec.sh", "#!/bin/sh\nread -r m\nd=$(dirname \"$0\")\n"
		   "case $m in *'\"command\":\"add\"'*)\n"
		   "echo '{\"version\":1,\"origin\":{\"name\":\"rec\",\"module\":\"active-response\"},"
		   "\"command\":\"check_keys\",\"parameters\":{\"keys\":[\"198.18.0.7\"]}}'\n"
		   "read -r a; echo \"add $a\" >>\"$d/log\";;\n"
		   "*) echo delete >>\"$d/log\";; esac\n", 0755);
	r = resp(5);
	xb_resp_fire(r, &q, 1000);
	settle(r, 1000, 5);
	cr_expect(xb_resp_active(r, "rec.sh-198.18.0.7"));
	xb_resp_fire(r, &q, 1001);
	settle(r, 1001, 5);
	xb_resp_stats(r, &s);
	cr_expect_eq(s.aborted, 1);
	cr_expect_eq(s.active, 1);
	xb_resp_tick(r, 1010);          /* past the re-armed end */
	settle(r, 1010, 5);
	log = slurp("log");
	cr_expect(strstr(log, "add {\"version\":1") && strstr(log, "\"command\":\"continue\""), "%s", log);
	cr_expect(strstr(log, "\"command\":\"abort\""), "%s", log);
	cr_expect(strstr(log, "delete\n"), "%s", log);
	cr_expect_not(xb_resp_active(r, "rec.sh-198.18.0.7"));
	cr_expect_eq(dels_n, 1);
	cr_expect_geq(puts_n, 2);
	free(log);
	xb_resp_free(r);
}

Test(respond, hanging_script_killed_at_limit_and_counted)
{
	struct xb_command cmd = { .name = "hang", .executable = "hang.sh" };
	struct xb_resp_req q = req(&cmd, "198.18.0.8", 60);
	struct xb_resp_stats s;
	struct xb_resp *r;
	uint64_t t0 = xb_now_mono_ns();

	write_file("hang.sh", "#!/bin/sh\nsleep 30 &\nsleep 30\n", 0755);
	r = resp(1);
	xb_resp_fire(r, &q, 1000);      /* returns at once: nothing waits for the script */
	cr_expect_lt(xb_now_mono_ns() - t0, 500 * 1000000ULL);
	settle(r, 1000, 5);
	xb_resp_stats(r, &s);
	cr_expect_eq(s.hung, 1);
	cr_expect_eq(s.failed, 1);
	cr_expect_eq(s.active, 0, "no check_keys: no entry, as in execd");
	xb_resp_free(r);
}

Test(respond, missing_script_and_relative_path_refused)
{
	struct xb_command nope = { .name = "nope", .executable = "nope.sh" };
	struct xb_command up = { .name = "up", .executable = "../bin/sh" };
	struct xb_resp_req q = req(&nope, "198.18.0.9", 60);
	struct xb_resp_stats s;
	struct xb_resp *r = resp(1);

	xb_resp_fire(r, &q, 1000);
	q.cmd = &up;
	xb_resp_fire(r, &q, 1000);
	xb_resp_stats(r, &s);
	cr_expect_eq(s.failed, 2);
	cr_expect_eq(s.started, 0);
	xb_resp_free(r);
}

Test(respond, host_deny_adds_and_removes_its_line_only)
{
	struct xb_command cmd = { .name = "host-deny", .executable = "host-deny",
				  .kind = XB_CMD_HOST_DENY };
	struct xb_resp_opts o = { .ar_dir = dir };
	struct xb_resp_req q = req(&cmd, "2001:db8::5", 10);
	char path[128], *txt;
	struct xb_resp *r;

	snprintf(path, sizeof(path), "%s/hosts.deny", dir);
	o.hosts_deny = path;
	write_file("hosts.deny", "# keep\nsshd: 198.18.1.1\n", 0644);
	cr_assert_eq(xb_resp_new(&o, &r), 0);
	xb_resp_fire(r, &q, 1000);
	txt = slurp("hosts.deny");
	cr_expect_str_eq(txt, "# keep\nsshd: 198.18.1.1\nALL: [2001:db8::5]\n");
	free(txt);
	xb_resp_tick(r, 1011);
	txt = slurp("hosts.deny");
	cr_expect_str_eq(txt, "# keep\nsshd: 198.18.1.1\n");
	free(txt);
	xb_resp_free(r);
}

Test(respond, disable_account_locks_users_only)
{
	struct xb_command cmd = { .name = "disable-account", .executable = "disable-account",
				  .kind = XB_CMD_DISABLE_ACCOUNT };
	char pw[128], sh[128], ld[128], *txt, *prot[] = { "carol" };
	struct xb_resp_opts o = { .ar_dir = dir, .passwd = pw, .shadow = sh, .login_defs = ld,
				  .protected_accounts = prot, .n_protected = 1 };
	struct xb_resp_req q = req(&cmd, "198.18.0.10", 10);
	struct xb_resp_stats s;
	struct xb_resp *r;
	static const char *never[] = { "root", "svc", "carol", "ghost", "-x" };

	snprintf(pw, sizeof(pw), "%s/passwd", dir);
	snprintf(sh, sizeof(sh), "%s/shadow", dir);
	snprintf(ld, sizeof(ld), "%s/login.defs", dir);
	write_file("passwd", "root:x:0:0::/root:/bin/sh\nsvc:x:999:999::/:/bin/sh\n"
		   "bob:x:1500:1500::/home/bob:/bin/sh\ncarol:x:1501:1501::/:/bin/sh\n", 0644);
	write_file("shadow", "root:$6$r:1::::::\nsvc:$6$s:1::::::\nbob:$6$b:1::::::\n"
		   "carol:$6$c:1::::::\n", 0640);
	write_file("login.defs", "# c\nUID_MIN   1000\nUID_MAX 60000\n", 0644);
	cr_assert_eq(xb_resp_new(&o, &r), 0);
	for (size_t i = 0; i < 5; i++) {
		q.user = never[i];
		xb_resp_fire(r, &q, 1000);
	}
	xb_resp_stats(r, &s);
	cr_expect_eq(s.refused, 5);
	q.user = "bob";
	xb_resp_fire(r, &q, 1000);
	txt = slurp("shadow");
	cr_expect_str_eq(txt, "root:$6$r:1::::::\nsvc:$6$s:1::::::\nbob:!$6$b:1::::::\n"
			 "carol:$6$c:1::::::\n");
	free(txt);
	xb_resp_tick(r, 1010);
	txt = slurp("shadow");
	cr_expect(strstr(txt, "\nbob:$6$b:1::::::\n"), "%s", txt);
	free(txt);
	xb_resp_free(r);
}

Test(respond, messages_as_execd_writes_them)
{
	struct xb_command cmd = { .name = "x", .executable = "x", .extra_args = "-a  b" };
	struct xb_resp_req q = req(&cmd, "198.18.0.7", 60);
	struct xb_resp *r = resp(1);
	char keys[64], *m = msg_add(r, &q, "active-response/bin/x"), *d;

	cr_assert_not_null(m);
	cr_expect(strstr(m, "{\"version\":1,\"origin\":{\"name\":"), "%s", m);
	cr_expect(strstr(m, "\"command\":\"add\""), "%s", m);
	cr_expect(strstr(m, "\"extra_args\":[\"-a\",\"b\"]"), "%s", m);
	cr_expect(strstr(m, "\"rule\":{\"level\":10,\"description\":\"brute force\",\"id\":\"5712\","
			 "\"groups\":[\"syslog\",\"sshd\"]}"), "%s", m);
	cr_expect(strstr(m, "\"data\":{\"srcip\":\"198.18.0.7\",\"dstuser\":\"bob\"}"), "%s", m);
	cr_expect(strstr(m, "\"program\":\"active-response/bin/x\""), "%s", m);
	cr_expect_null(strchr(m, '\n'));
	d = msg_with_command(m, "delete");
	cr_expect(strstr(d, "\"command\":\"delete\""), "%s", d);
	cr_expect_eq(msg_check_keys("{\"command\":\"check_keys\",\"parameters\":{\"keys\":"
				    "[\"198.18.0.7\",\"u\"]}}", keys, sizeof(keys)), 0);
	cr_expect_str_eq(keys, "198.18.0.7-u");
	cr_expect_eq(msg_check_keys("{\"command\":\"continue\"}", keys, sizeof(keys)), -EINVAL);
	cr_expect_eq(msg_check_keys("not json", keys, sizeof(keys)), -EINVAL);
	free(m);
	free(d);
	xb_resp_free(r);
}
