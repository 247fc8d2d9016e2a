// SPDX-License-Identifier: GPL-2.0
/* The control socket's server: a client is served within one deadline however
 * it sends (or fails to read), a request too long is refused and never acted
 * on, and only root is answered. Clients run in forked children; the server
 * (xb_ctlsock_serve) runs in the test process, as in the daemon's loop. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include <json-c/json.h>

#include "common/util.h"
#include "daemon/ctlsock.h"

#define BIG_REPLY (2u << 20)    /* well over what a socket buffer holds */

static char dir[64], path[96];
static struct xb_ctlsock *srv;
static int calls;
static char last_req[1024];
static uint64_t handled_ns;     /* when the handler returned */
static pid_t child = -1;

static int handler(const char *req, struct json_object *reply, void *ctx)
{
	calls++;
	snprintf(last_req, sizeof(last_req), "%s", req);
	if (!strcmp(req, "big")) {
		char *s = malloc(BIG_REPLY + 1);

		cr_assert_not_null(s);
		memset(s, 'x', BIG_REPLY);
		s[BIG_REPLY] = 0;
		json_object_object_add(reply, "big", json_object_new_string(s));
		free(s);
	}
	handled_ns = xb_now_mono_ns();
	return 0;
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/xb-ctltest-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ctl.sock", dir);
	cr_assert_eq(xb_ctlsock_listen(path, handler, NULL, &srv), 0);
}

static void teardown(void)
{
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	xb_ctlsock_close(srv);
	rmdir(dir);
}

TestSuite(ctlsock, .init = setup, .fini = teardown, .timeout = 30);

static int client_connect(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)))
		_exit(90);
	return fd;
}

/* The reply line, as the client reads it (at most len - 1 bytes). */
static void client_read(int fd, char *buf, size_t len)
{
	size_t off = 0;
	ssize_t n;

	while (off + 1 < len && (n = recv(fd, buf + off, len - 1 - off, 0)) > 0)
		off += n;
	buf[off] = 0;
	buf[strcspn(buf, "\n")] = 0;
}

/* Child: send req in one go, exit 0 when the reply is want. */
static void client_expect(const char *req, size_t len, const char *want)
{
	char buf[256];
	int fd = client_connect();

	/* A refused client may find the connection closed before it sends:
	 * the reply is there to read all the same. */
	send(fd, req, len, MSG_NOSIGNAL);
	client_read(fd, buf, sizeof(buf));
	if (strcmp(buf, want)) {
		fprintf(stderr, "reply '%s', want '%s'\n", buf, want);
		_exit(92);
	}
	_exit(0);
}

#define TRICKLED "unbanned 198.18.0.1"

/* Child: TRICKLED and a newline, one byte every gap_ms, then hold the
 * connection open. */
static void client_trickle(unsigned gap_ms)
{
	int fd = client_connect();

	for (const char *p = TRICKLED "\n"; *p; p++) {
		usleep(gap_ms * 1000);
		send(fd, p, 1, MSG_NOSIGNAL);
	}
	sleep(20);
	_exit(0);
}

static void fork_client(void (*fn)(void))
{
	child = fork();
	cr_assert_geq(child, 0);
	if (child == 0)
		fn();
}

/* Serve one client (waiting up to 5 s for it to connect); its time in ms. */
static unsigned serve_one(void)
{
	struct pollfd p = { .fd = xb_ctlsock_fd(srv), .events = POLLIN };
	uint64_t t0;

	cr_assert_eq(poll(&p, 1, 5000), 1, "no client connected");
	t0 = xb_now_mono_ns();
	cr_assert_eq(xb_ctlsock_serve(srv), 0);
	return (xb_now_mono_ns() - t0) / 1000000;
}

/* The client's exit status (0: it got the reply it wanted). */
static int child_status(void)
{
	int st;

	cr_assert_eq(waitpid(child, &st, 0), child);
	child = -1;
	st = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	if (st)
		cr_log_warn("client exit status %d\n", st);
	return st;
}

static void c_ping(void) { client_expect("ping\n", 5, "{\"ok\":true}"); }

Test(ctlsock, answers_one_request)
{
	fork_client(c_ping);
	serve_one();
	cr_expect_eq(child_status(), 0, "client exit status");
	cr_expect_eq(calls, 1);
	cr_expect_str_eq(last_req, "ping");
}

/* A client that closes its side after the request (no newline) is served. */
static void c_no_newline(void)
{
	char buf[256];
	int fd = client_connect();

	send(fd, "ping", 4, MSG_NOSIGNAL);
	shutdown(fd, SHUT_WR);
	client_read(fd, buf, sizeof(buf));
	_exit(strcmp(buf, "{\"ok\":true}") ? 92 : 0);
}

Test(ctlsock, request_ended_by_eof)
{
	fork_client(c_no_newline);
	serve_one();
	cr_expect_eq(child_status(), 0, "client exit status");
	cr_expect_str_eq(last_req, "ping");
}

static void c_slow_ok(void) { client_trickle(25); }

/* Bytes that trickle in, but within the deadline, still make a request. */
Test(ctlsock, slow_request_within_deadline)
{
	fork_client(c_slow_ok);
	serve_one();
	cr_expect_eq(calls, 1);
	cr_expect_str_eq(last_req, TRICKLED);
}

static void c_slow(void) { client_trickle(150); }

/* One byte every 150 ms (each read alone is quick): cut off at the deadline
 * for the whole request, not after the 3 s the client takes. */
Test(ctlsock, trickling_client_cut_off)
{
	unsigned ms;

	fork_client(c_slow);
	ms = serve_one();
	cr_expect_leq(ms, 1500, "serve took %u ms", ms);
	cr_expect_eq(calls, 0, "handled after the deadline: '%s'", last_req);
}

/* Connects and sends nothing. */
static void c_silent(void)
{
	client_connect();
	sleep(20);
	_exit(0);
}

Test(ctlsock, silent_client_cut_off)
{
	unsigned ms;

	fork_client(c_silent);
	ms = serve_one();
	cr_expect_leq(ms, 1500, "serve took %u ms", ms);
	cr_expect_eq(calls, 0);
}

/* 300 bytes before the newline: refused whole, its first 256 bytes ("status"
 * and spaces) never handled as a request. */
static void c_long(void)
{
	char req[302];

	memset(req, ' ', sizeof(req));
	memcpy(req, "status", 6);
	req[sizeof(req) - 1] = '\n';
	client_expect(req, sizeof(req), "{\"ok\":false,\"error\":\"request too long\"}");
}

Test(ctlsock, request_too_long_refused)
{
	fork_client(c_long);
	serve_one();
	cr_expect_eq(child_status(), 0, "client exit status");
	cr_expect_eq(calls, 0, "acted on a truncated request '%s'", last_req);
}

/* The longest request there may be (256 bytes and the newline) is taken. */
static void c_longest(void)
{
	char req[257];

	memset(req, 'a', sizeof(req));
	req[sizeof(req) - 1] = '\n';
	client_expect(req, sizeof(req), "{\"ok\":true}");
}

Test(ctlsock, longest_request_taken)
{
	fork_client(c_longest);
	serve_one();
	cr_expect_eq(child_status(), 0, "client exit status");
	cr_expect_eq(strlen(last_req), 256);
}

/* Asks for a reply bigger than the socket buffers and never reads it. */
static void c_no_reader(void)
{
	int fd = client_connect();

	send(fd, "big\n", 4, MSG_NOSIGNAL);
	sleep(20);
	_exit(0);
}

/* Timed from the handler's return: making the big reply is not the point. */
Test(ctlsock, client_not_reading_does_not_stall)
{
	unsigned ms;

	fork_client(c_no_reader);
	serve_one();
	ms = (xb_now_mono_ns() - handled_ns) / 1000000;
	cr_expect_eq(calls, 1);
	cr_expect_leq(ms, 1500, "the reply took %u ms", ms);
}

/* A client that is not root gets "permission denied" and its request is not
 * handled: the socket file and its directory are opened up for the test, so
 * that the only thing refusing it is the SO_PEERCRED check. */
static void c_nobody(void)
{
	if (setgid(65534) || setuid(65534))
		_exit(93);
	client_expect("ping\n", 5, "{\"ok\":false,\"error\":\"permission denied\"}");
}

Test(ctlsock, only_root_answered)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to become nobody");
	cr_assert_eq(chmod(dir, 0711), 0);
	cr_assert_eq(chmod(path, 0666), 0);
	fork_client(c_nobody);
	serve_one();
	cr_expect_eq(child_status(), 0, "client exit status");
	cr_expect_eq(calls, 0, "handled '%s' from nobody", last_req);
}
