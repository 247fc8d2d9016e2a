// SPDX-License-Identifier: GPL-2.0
/* ctlsock: root-only Unix control socket, one request and one JSON reply. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/addr.h"
#include "common/config.h"
#include "common/util.h"
#include "daemon/ctlsock.h"
#include "common/log.h"

#define REQ_MAX		256	/* bytes of a request, its newline not counted */
#define CTL_REQUEST_MS	1000	/* for the whole request, however it trickles in */
#define CTL_SEND_MS	1000	/* for the whole reply */

struct xb_ctlsock {
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	xb_ctlsock_handler handler;
	void *ctx;
};

static int sun_of(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	strcpy(sun->sun_path, path);
	return 0;
}

/* Is a daemon answering at path? */
static bool alive(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		return false;
	ok = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	return ok;
}

int xb_ctlsock_listen(const char *path, xb_ctlsock_handler h, void *ctx, struct xb_ctlsock **out)
{
	struct sockaddr_un sun;
	struct xb_ctlsock *c;
	struct stat sb;
	char dir[sizeof(sun.sun_path)];
	mode_t old;
	int err;

	if ((err = sun_of(path, &sun)))
		return err;
	snprintf(dir, sizeof(dir), "%s", path);
	if (mkdir(dirname(dir), 0755) && errno != EEXIST)
		return -errno;
	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			pr_warn("ctl: %s exists and is not a socket\n", path);
			return -EEXIST;
		}
		if (alive(&sun))
			return -EADDRINUSE;
		unlink(path);   /* left over by a daemon that was killed */
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0) {
		err = -errno;
		free(c);
		return err;
	}
	/* Created 0600 from the start: no window where others could connect. */
	old = umask(0177);
	err = bind(c->fd, (struct sockaddr *)&sun, sizeof(sun)) ? -errno : 0;
	umask(old);
	if (!err && chmod(path, 0600))
		err = -errno;
	if (!err && listen(c->fd, 16))
		err = -errno;
	if (err) {
		close(c->fd);
		free(c);
		return err;
	}
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->handler = h;
	c->ctx = ctx;
	*out = c;
	return 0;
}

int xb_ctlsock_fd(const struct xb_ctlsock *c)
{
	return c->fd;
}

/* Milliseconds left until deadline (CLOCK_MONOTONIC ns), 0 once past. */
static int ms_left(uint64_t deadline)
{
	uint64_t now = xb_now_mono_ns();

	return now >= deadline ? 0 : (int)((deadline - now + 999999) / 1000000);
}

/* Wait for events on fd until the deadline: 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };

	for (;;) {
		int n = poll(&p, 1, ms_left(deadline));

		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

/* All of buf before the deadline (fd is non-blocking): 0 or -errno. */
static int send_all(int fd, const char *buf, size_t len, uint64_t deadline)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		int err;

		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (n < 0 && (err = wait_fd(fd, POLLOUT, deadline)))
			return err;
		if (n > 0) {
			buf += n;
			len -= n;
		}
	}
	return 0;
}

/* A client that does not read its reply is dropped at CTL_SEND_MS (one
 * gone already, like a second daemon's probe, needs no word). */
static void reply_send(int fd, struct json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	uint64_t deadline = xb_now_mono_ns() + CTL_SEND_MS * 1000000ULL;
	int err = send_all(fd, s, strlen(s), deadline);

	if (!err)
		err = send_all(fd, "\n", 1, deadline);
	if (err == -ETIMEDOUT)
		pr_warn("ctl: client did not take its reply, dropped\n");
}

/*
 * One request line into req (REQ_MAX + 2 bytes), NUL-terminated without its
 * line end, within CTL_REQUEST_MS however the bytes trickle in (the loop
 * waits meanwhile). A client closing its side ends the request too.
 * 0, -E2BIG when longer than REQ_MAX, -ETIMEDOUT, or -errno.
 */
static int request_read(int fd, char *req)
{
	uint64_t deadline = xb_now_mono_ns() + CTL_REQUEST_MS * 1000000ULL;
	size_t len = 0;
	char *nl;
	int err;

	for (;;) {
		ssize_t n = recv(fd, req + len, REQ_MAX + 1 - len, 0);

		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (n < 0 && (err = wait_fd(fd, POLLIN, deadline)))
			return err;
		if (n == 0)
			break;
		if (n < 0)
			continue;
		nl = memchr(req + len, '\n', n);
		len += n;
		if (nl) {
			len = nl - req;
			break;
		}
		if (len > REQ_MAX)
			return -E2BIG;
	}
	if (len > REQ_MAX)
		return -E2BIG;
	req[len] = 0;
	req[strcspn(req, "\r\n")] = 0;
	return 0;
}

static void reply_error(struct json_object *reply, const char *msg)
{
	json_object_object_add(reply, "ok", json_object_new_boolean(0));
	json_object_object_add(reply, "error", json_object_new_string(msg));
}

/* The uid the kernel recorded when the client connected must be root. */
static bool peer_is_root(int fd)
{
	struct ucred cred = { .uid = (uid_t)-1 };  /* -1 in the log if the kernel says nothing */
	socklen_t clen = sizeof(cred);

	if (!getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) && cred.uid == 0)
		return true;
	pr_warn("ctl: refused a client with uid %d\n", (int)cred.uid);
	return false;
}

/* Read a root client's request and fill its reply: 0 when there is a reply
 * to send, -errno when the client is gone. A request cut off (too long, too
 * slow) is refused whole, never acted on in part. */
static int request_answer(struct xb_ctlsock *c, int fd, struct json_object *reply)
{
	char req[REQ_MAX + 2];
	int err = request_read(fd, req);

	if (err == -E2BIG || err == -ETIMEDOUT) {
		const char *why = err == -E2BIG ? "request too long" : "request timed out";

		pr_warn("ctl: %s, client cut off\n", why);
		reply_error(reply, why);
		return 0;
	}
	if (err)
		return err;
	err = c->handler(req, reply, c->ctx);
	if (!json_object_object_get_ex(reply, "ok", NULL))
		json_object_object_add(reply, "ok", json_object_new_boolean(err == 0));
	if (err && !json_object_object_get_ex(reply, "error", NULL))
		json_object_object_add(reply, "error", json_object_new_string(strerror(-err)));
	return 0;
}

/* What the client sent beyond its request (or all of it, when refused) and
 * is already here: closing with unread data would make the client's read
 * after the reply fail (ECONNRESET) instead of ending. */
static void discard_input(int fd)
{
	char buf[4096];

	for (int i = 0; i < 16 && recv(fd, buf, sizeof(buf), 0) > 0; i++)
		;
}

/* Bounded: a client holds the (single-threaded) loop for at most
 * CTL_REQUEST_MS, the handler, and CTL_SEND_MS. */
int xb_ctlsock_serve(struct xb_ctlsock *c)
{
	struct json_object *reply;
	int fd;

	fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	reply = json_object_new_object();
	if (!reply) {
		close(fd);
		return -ENOMEM;
	}
	if (!peer_is_root(fd))
		reply_error(reply, "permission denied");
	else if (request_answer(c, fd, reply))
		goto out;
	reply_send(fd, reply);
	shutdown(fd, SHUT_WR);
	discard_input(fd);
out:
	json_object_put(reply);
	close(fd);
	return 0;
}

void xb_ctlsock_close(struct xb_ctlsock *c)
{
	if (!c)
		return;
	close(c->fd);
	unlink(c->path);
	free(c);
}

#define REPLY_MAX (1u << 20)     /* a status with many sources is a few KiB */

/* A connected client socket that sent request and its newline, or -errno. */
static int request_send(const char *path, const char *request)
{
	struct timeval tv = { .tv_sec = 30 };   /* a reload may load big rule sets */
	struct sockaddr_un sun;
	int fd, err;

	if ((err = sun_of(path, &sun)))
		return err;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) ||
	    send(fd, request, strlen(request), MSG_NOSIGNAL) < 0 ||
	    send(fd, "\n", 1, MSG_NOSIGNAL) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Everything the daemon sends until it closes, NUL-terminated, in *out. */
static int reply_read(int fd, char **out, size_t *len)
{
	size_t cap = 0;
	int err;

	*out = NULL;
	*len = 0;
	for (;;) {
		ssize_t n;

		if ((err = xb_grow(out, &cap, *len + 1024, 1, 4096)))
			return err;
		n = recv(fd, *out + *len, cap - *len - 1, 0);
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		*len += n;
		if (*len > REPLY_MAX)
			return -E2BIG;
	}
	(*out)[*len] = 0;
	return 0;
}

int xb_ctlsock_request(const char *path, const char *request, char **reply)
{
	char *buf;
	size_t len;
	int fd = request_send(path, request), err;

	if (fd < 0)
		return fd;
	err = reply_read(fd, &buf, &len);
	close(fd);
	if (!err) {
		buf[strcspn(buf, "\n")] = 0;
		err = *buf ? 0 : -EPROTO;
	}
	if (err) {
		free(buf);
		return err;
	}
	*reply = buf;
	return 0;
}

const char *xb_ctlsock_path(const char *override, const struct xb_config *conf)
{
	const char *env = getenv(XB_SOCKET_ENV);

	if (override && *override)
		return override;
	if (env && *env)
		return env;
	return conf ? conf->ctl_socket : XB_SOCKET_DEFAULT;
}

int xb_ctlsock_notify_unban(const char *path, const struct xb_addr *a)
{
	char req[XB_ADDRSTRLEN + 16], ab[XB_ADDRSTRLEN], *reply = NULL;
	int err;

	if (a)
		snprintf(req, sizeof(req), "unbanned %s", xb_addr_fmt(a, ab, sizeof(ab)));
	else
		snprintf(req, sizeof(req), "flushed");
	err = xb_ctlsock_request(path, req, &reply);
	free(reply);
	return err;
}
