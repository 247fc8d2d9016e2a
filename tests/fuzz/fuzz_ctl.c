// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz the control protocol without a daemon: the input is what a client
 * writes. It goes through a real control socket (xb_ctlsock_listen in a
 * temporary directory, one connection per input, xb_ctlsock_serve reading
 * the request) to a handler that parses it as the daemon does
 * (daemon_ctl_parse, and the address of "unbanned") and echoes it in the
 * reply. The request seen must be the input's first line, at most 256
 * bytes, without CR/LF; the reply must be one line of JSON with "ok".
 * Needs root (the socket answers only uid 0); as another user every reply
 * is "permission denied", which is checked instead.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/addr.h"
#include "daemon/ctlsock.h"
#include "daemon/internal.h"

#define REQ_MAX 256             /* as ctlsock.c reads it */

static struct xb_ctlsock *ctl;
static char dir[64], path[128];
static char seen[REQ_MAX + 2];
static bool handled;

static void fail(const char *what, const char *reply)
{
	fprintf(stderr, "fuzz_ctl: %s (reply '%s')\n", what, reply ? reply : "-");
	abort();
}

/* What the daemon does short of acting on the request. */
static int handler(const char *req, struct json_object *reply, void *ctx)
{
	const char *arg = NULL, *name;
	int i = daemon_ctl_parse(req, &arg);
	struct xb_addr a;

	handled = true;
	snprintf(seen, sizeof(seen), "%s", req);
	json_object_object_add(reply, "request", json_object_new_string(req));
	if (i < 0)
		return -EINVAL;
	name = daemon_ctl_name(i);
	if (!name || strncmp(req, name, strlen(name)))
		fail("daemon_ctl_parse named another request", req);
	if (!arg) {
		if (req[strlen(name)])
			fail("a request with trailing text", req);
		return 0;
	}
	if (arg != req + strlen(name) + 1 || arg[-1] != ' ')
		fail("the argument is not what follows the name", req);
	if (strcmp(name, "unbanned"))
		return 0;       /* fleet: its own fields, parsed where it acts */
	if (xb_addr_parse(arg, &a, false)) {
		json_object_object_add(reply, "error", json_object_new_string("bad address"));
		return -EINVAL;
	}
	return 0;
}

static void cleanup(void)
{
	xb_ctlsock_close(ctl);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	snprintf(dir, sizeof(dir), "/tmp/xdpban-fuzz-ctl-XXXXXX");
	if (!mkdtemp(dir))
		fail("mkdtemp", NULL);
	snprintf(path, sizeof(path), "%s/ctl.sock", dir);
	if (xb_ctlsock_listen(path, handler, NULL, &ctl))
		fail("xb_ctlsock_listen", NULL);
	atexit(cleanup);
	return 0;
}

/* One client: write the input, close our side, let the server answer. */
static size_t exchange(const uint8_t *data, size_t size, char *reply, size_t cap)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t len = 0;
	ssize_t n;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)))
		fail("connect", NULL);
	if (size && send(fd, data, size, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)size)
		fail("send", NULL);
	shutdown(fd, SHUT_WR);
	if (xb_ctlsock_serve(ctl))
		fail("xb_ctlsock_serve failed", NULL);
	while (len < cap - 1 && (n = recv(fd, reply + len, cap - 1 - len, MSG_DONTWAIT)) > 0)
		len += (size_t)n;
	reply[len] = '\0';
	close(fd);
	return len;
}

/* The request the server should have read: the first line of the first
 * REQ_MAX bytes, up to a CR, LF or NUL. */
static void expect_request(const uint8_t *data, size_t size, const char *reply)
{
	char want[REQ_MAX + 1];
	size_t n = size < REQ_MAX ? size : REQ_MAX;

	memcpy(want, data, n);
	want[n] = '\0';
	want[strcspn(want, "\r\n")] = '\0';
	if (strcmp(seen, want))
		fail("the request read is not the input's first line", reply);
}

/* Is the input's first line longer than REQ_MAX? The server refuses such
 * a request whole ("request too long") and never hands it on. */
static bool too_long(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);

	return (size_t)(nl ? nl - data : (ptrdiff_t)size) > REQ_MAX;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char reply[1 << 16];
	struct json_object *o, *ok;
	size_t len;

	if (size > 4096)
		return -1;      /* more than the socket buffer takes without a reader */
	handled = false;
	len = exchange(data, size, reply, sizeof(reply));
	if (!len || reply[len - 1] != '\n' || memchr(reply, '\n', len) != reply + len - 1)
		fail("the reply is not one line", reply);
	reply[len - 1] = '\0';
	o = json_tokener_parse(reply);
	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "ok", &ok) || !json_object_is_type(ok, json_type_boolean))
		fail("the reply is not a JSON object with \"ok\"", reply);
	if (!json_object_get_boolean(ok) && !json_object_object_get_ex(o, "error", NULL))
		fail("a refusal without an error", reply);
	json_object_put(o);
	if (too_long(data, size)) {
		if (handled)
			fail("a request cut off at REQ_MAX was acted on", reply);
		if (geteuid() == 0 && !strstr(reply, "\"request too long\""))
			fail("a request over REQ_MAX not refused as too long", reply);
	} else if (handled) {
		expect_request(data, size, reply);
	} else if (geteuid() == 0) {
		fail("root's request never reached the handler", reply);
	}
	return 0;
}
