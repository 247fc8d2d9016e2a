// SPDX-License-Identifier: GPL-2.0
/* ctlsock: root-only Unix control socket, one request and one JSON reply. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
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
#include "daemon/ctlsock.h"
#include "common/log.h"

#define REQ_MAX 256

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

static void reply_send(int fd, struct json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	size_t len = strlen(s), off = 0;

	while (off < len) {
		ssize_t n = send(fd, s + off, len - off, MSG_NOSIGNAL);

		if (n <= 0)
			return;
		off += n;
	}
	send(fd, "\n", 1, MSG_NOSIGNAL);
}

int xb_ctlsock_serve(struct xb_ctlsock *c)
{
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
	struct ucred cred = { .uid = (uid_t)-1 };  /* -1 in the log if the kernel says nothing */
	socklen_t clen = sizeof(cred);
	struct json_object *reply;
	char req[REQ_MAX + 1];
	size_t len = 0;
	int fd, err;

	fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	reply = json_object_new_object();
	if (!reply) {
		close(fd);
		return -ENOMEM;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) || cred.uid != 0) {
		json_object_object_add(reply, "ok", json_object_new_boolean(0));
		json_object_object_add(reply, "error", json_object_new_string("permission denied"));
		pr_warn("ctl: refused a client with uid %d\n", (int)cred.uid);
		goto send;
	}
	/* Only root gets here; the timeout still bounds a stuck client. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (len < REQ_MAX) {
		ssize_t n = recv(fd, req + len, REQ_MAX - len, 0);

		if (n <= 0)
			break;
		len += n;
		if (memchr(req, '\n', len))
			break;
	}
	req[len] = 0;
	req[strcspn(req, "\r\n")] = 0;
	err = c->handler(req, reply, c->ctx);
	if (!json_object_object_get_ex(reply, "ok", NULL))
		json_object_object_add(reply, "ok", json_object_new_boolean(err == 0));
	if (err && !json_object_object_get_ex(reply, "error", NULL))
		json_object_object_add(reply, "error", json_object_new_string(strerror(-err)));
send:
	reply_send(fd, reply);
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

int xb_ctlsock_request(const char *path, const char *request, char **reply)
{
	struct timeval tv = { .tv_sec = 30 };   /* a reload may load big rule sets */
	struct sockaddr_un sun;
	char *buf = NULL;
	size_t len = 0, cap = 0;
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
	for (;;) {
		ssize_t n;

		if (cap - len < 1024) {
			char *nb = cap > (1u << 20) ? NULL : realloc(buf, cap + 4096);

			if (!nb) {
				err = -ENOMEM;
				break;
			}
			buf = nb;
			cap += 4096;
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n < 0) {
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		len += n;
	}
	close(fd);
	if (err) {
		free(buf);
		return err;
	}
	if (!buf) {
		return -EPROTO;
	}
	buf[len] = 0;
	buf[strcspn(buf, "\n")] = 0;
	if (!*buf) {
		free(buf);
		return -EPROTO;
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
