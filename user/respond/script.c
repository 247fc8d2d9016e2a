// SPDX-License-Identifier: GPL-2.0
/* respond: external programs, run as Wazuh's execd runs them (4.2+), without
 * ever waiting for one in the event loop: pipes and a pidfd in the
 * responder's epoll, a deadline checked every tick. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "respond/internal.h"

enum { T_OUT, T_ERR, T_PID };

int script_resolve(const struct xb_resp *r, const char *exe, char *path, size_t len)
{
	char buf[PATH_MAX], real[PATH_MAX];
	struct stat sb;

	if (*exe == '/')
		snprintf(buf, sizeof(buf), "%s", exe);
	else if (strchr(exe, '/') || !strcmp(exe, ".") || !strcmp(exe, ".."))
		return -EINVAL;         /* a name in the directory, or an absolute path */
	else if ((size_t)snprintf(buf, sizeof(buf), "%s/%s", r->o.ar_dir, exe) >= sizeof(buf))
		return -ENAMETOOLONG;
	if (!realpath(buf, real))
		return -errno;
	if (stat(real, &sb))
		return -errno;
	if (!S_ISREG(sb.st_mode) || access(real, X_OK))
		return -EACCES;
	if (*r->self && !strcmp(real, r->self))
		return -ELOOP;          /* xdpban never runs itself as a script */
	if ((size_t)snprintf(path, len, "%s", buf) >= len)
		return -ENAMETOOLONG;
	return 0;
}

static void close_fd(struct xb_resp *r, int *fd)
{
	if (*fd < 0)
		return;
	epoll_ctl(r->epfd, EPOLL_CTL_DEL, *fd, NULL);
	close(*fd);
	*fd = -1;
}

static void kid_free(struct xb_resp *r, struct child *c)
{
	close_fd(r, &c->in);
	close_fd(r, &c->out);
	close_fd(r, &c->err);
	close_fd(r, &c->pidfd);
	free(c->row.msg);
	free(c);
}

static int watch(struct xb_resp *r, int fd, int slot, int which)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)slot << 2 | which };

	return epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/* The program with its stdio on our pipes, in a session of its own (so a
 * kill reaches its children), signals at their defaults, nothing inherited. */
static int spawn(const char *path, int in, int out, int err, pid_t *pid)
{
	static char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", "HOME=/", NULL };
	char *argv[] = { (char *)path, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dfl;
	int ret;

	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);       /* ignored by the daemon; not by its scripts */
	sigaddset(&dfl, SIGHUP);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGINT);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in, 0);
	posix_spawn_file_actions_adddup2(&fa, out, 1);
	posix_spawn_file_actions_adddup2(&fa, err, 2);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawn_file_actions_addchdir_np(&fa, "/");
	posix_spawnattr_init(&at);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &dfl);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
				 POSIX_SPAWN_SETSID);
	ret = posix_spawn(pid, path, &fa, &at, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	return -ret;
}

/* Three pipes: our ends non-blocking, the child's blocking (a script's read
 * must wait), all close-on-exec (dup2 clears it on 0, 1, 2). */
static int pipes(int p[3][2])
{
	for (int i = 0; i < 3; i++)
		p[i][0] = p[i][1] = -1;
	for (int i = 0; i < 3; i++) {
		if (pipe2(p[i], O_CLOEXEC))
			return -errno;
		fcntl(p[i][i == 0 ? 1 : 0], F_SETFL, O_NONBLOCK);
	}
	return 0;
}

static void pipes_close(int p[3][2])
{
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 2; j++)
			if (p[i][j] >= 0)
				close(p[i][j]);
}

static int free_slot(const struct xb_resp *r)
{
	for (int i = 0; i < XB_RESP_MAX_RUNNING; i++)
		if (!r->kids[i])
			return i;
	return -EAGAIN;
}

/* Write msg and its newline at once: a message is far below a pipe's buffer. */
static int send_line(int fd, const char *msg)
{
	size_t n = strlen(msg);
	char *line = malloc(n + 2);
	ssize_t w;

	if (!line)
		return -ENOMEM;
	memcpy(line, msg, n);
	line[n] = '\n';
	line[n + 1] = 0;
	w = write(fd, line, n + 1);
	free(line);
	if (w < 0)
		return -errno;
	return (size_t)w == n + 1 ? 0 : -EMSGSIZE;
}

static int kid_start(struct xb_resp *r, struct child *c, int slot, const char *msg)
{
	int p[3][2], err = pipes(p);

	if (!err)
		err = spawn(c->row.exe, p[0][0], p[1][1], p[2][1], &c->pid);
	if (err) {
		pipes_close(p);
		return err;
	}
	close(p[0][0]);
	close(p[1][1]);
	close(p[2][1]);
	c->in = p[0][1];
	c->out = p[1][0];
	c->err = p[2][0];
	c->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
	if (c->pidfd < 0)
		return -errno;
	if ((err = watch(r, c->out, slot, T_OUT)) || (err = watch(r, c->err, slot, T_ERR)) ||
	    (err = watch(r, c->pidfd, slot, T_PID)))
		return err;
	if ((err = send_line(c->in, msg)))
		return err;
	if (c->is_delete)
		close_fd(r, &c->in);    /* delete: no handshake */
	return 0;
}

int script_start(struct xb_resp *r, const struct xb_resp_row *row, bool is_delete)
{
	int slot = free_slot(r), err;
	struct child *c;
	char *msg = NULL;

	if (slot < 0)
		return slot;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->pid = -1;
	c->pidfd = c->in = c->out = c->err = -1;
	c->is_delete = is_delete;
	c->row = *row;
	c->row.msg = strdup(row->msg);
	c->deadline_ns = xb_now_mono_ns() + (uint64_t)(r->o.time_limit ? r->o.time_limit :
				XB_RESP_TIME_LIMIT_DEFAULT) * NSEC_PER_SEC;
	msg = is_delete ? msg_with_command(row->msg, "delete") : strdup(row->msg);
	err = !c->row.msg || !msg ? -ENOMEM : kid_start(r, c, slot, msg);
	free(msg);
	if (err) {
		if (c->pid > 0) {
			kill(-c->pid, SIGKILL);
			waitpid(c->pid, NULL, 0);       /* killed: returns at once */
		}
		kid_free(r, c);
		return err;
	}
	r->kids[slot] = c;
	r->n.started++;
	pr_debug("response %s: started %s (%s), pid %d\n", row->key, row->exe,
		 is_delete ? "delete" : "add", (int)c->pid);
	return 0;
}

/* The script's check_keys: continue, or abort when its key is in force
 * (whose end is then re-armed). Anything else means no timeout entry. */
static void on_keys(struct xb_resp *r, struct child *c, const char *line)
{
	struct xb_resp_row *old;
	char keys[128], *reply;
	const char *base = strrchr(c->row.exe, '/');
	bool go_on;

	c->answered = true;
	if (msg_check_keys(line, keys, sizeof(keys))) {
		close_fd(r, &c->in);
		return;
	}
	snprintf(c->row.key, sizeof(c->row.key), "%.60s-%.127s", base ? base + 1 : c->row.exe, keys);
	old = resp_find(r, c->row.key);
	go_on = !old;
	reply = msg_reply(r, go_on);
	if (!reply || send_line(c->in, reply))
		pr_warn("response %s: cannot answer check_keys\n", c->row.key);
	free(reply);
	close_fd(r, &c->in);
	if (!go_on) {
		r->n.aborted++;
		if (old->expires && (!c->row.expires || c->row.expires > old->expires))
			old->expires = c->row.expires;
		resp_log_rearm(old);
		if (r->o.store_put)
			r->o.store_put(r->o.store_ctx, old);
		return;
	}
	if (!resp_keep(r, &c->row) && r->o.store_put)
		r->o.store_put(r->o.store_ctx, &c->row);
	r->n.applied++;
}

/* Read what is there; past the bound the bytes are read and dropped, so a
 * chatty script never blocks on a full pipe. false at end of file. */
static bool drain(int fd, char *buf, size_t *n, size_t max, bool *cut)
{
	char tmp[4096];

	for (int i = 0; i < 64; i++) {
		ssize_t got = read(fd, tmp, sizeof(tmp));

		if (got == 0)
			return false;
		if (got < 0)
			return errno == EAGAIN || errno == EINTR;
		size_t take = (size_t)got < max - *n ? (size_t)got : max - *n;
		memcpy(buf + *n, tmp, take);
		*n += take;
		buf[*n] = 0;
		*cut |= take < (size_t)got;
	}
	return true;
}

static void on_out(struct xb_resp *r, struct child *c)
{
	char *nl;

	if (!drain(c->out, c->outb, &c->outn, XB_RESP_OUT_MAX, &c->out_cut))
		close_fd(r, &c->out);
	if (!c->is_delete && !c->answered && (nl = memchr(c->outb, '\n', c->outn))) {
		char line[XB_RESP_OUT_MAX + 1];

		memcpy(line, c->outb, nl - c->outb);
		line[nl - c->outb] = 0;
		on_keys(r, c, line);
	}
}

/* One log line per stream, bounded and made printable. */
static void log_output(const struct child *c, bool bad)
{
	char clean[512];
	size_t errn = c->errn, outn = c->outn;

	while (errn && (c->errb[errn - 1] == '\n' || c->errb[errn - 1] == '\r'))
		errn--;
	while (outn && (c->outb[outn - 1] == '\n' || c->outb[outn - 1] == '\r'))
		outn--;
	if (errn) {
		resp_clean(c->errb, errn, clean, sizeof(clean));
		xb_log(bad ? XB_LOG_WARN : XB_LOG_INFO, "response %s: stderr: %s%s\n", c->row.key,
		       clean, c->err_cut || errn >= sizeof(clean) ? " [cut]" : "");
	}
	if (outn) {
		resp_clean(c->outb, outn, clean, sizeof(clean));
		pr_debug("response %s: stdout: %s%s\n", c->row.key, clean,
			 c->out_cut || outn >= sizeof(clean) ? " [cut]" : "");
	}
}

static void on_exit_of(struct xb_resp *r, int slot)
{
	struct child *c = r->kids[slot];
	const char *what = c->is_delete ? "delete" : "add";
	int status = 0;
	bool bad;

	if (waitpid(c->pid, &status, WNOHANG) <= 0)
		return;
	if (c->out >= 0)
		drain(c->out, c->outb, &c->outn, XB_RESP_OUT_MAX, &c->out_cut);
	if (c->err >= 0)
		drain(c->err, c->errb, &c->errn, XB_RESP_ERR_MAX, &c->err_cut);
	if (!c->is_delete && !c->answered && c->outn)
		on_out(r, c);
	bad = !WIFEXITED(status) || WEXITSTATUS(status);
	if (bad) {
		r->n.failed++;
		if (WIFSIGNALED(status))
			pr_warn("response %s: %s %s killed by signal %d\n", c->row.key, c->row.exe,
				what, WTERMSIG(status));
		else
			pr_warn("response %s: %s %s exited %d\n", c->row.key, c->row.exe, what,
				WEXITSTATUS(status));
	} else {
		pr_info("response %s: %s %s done\n", c->row.key, c->row.exe, what);
	}
	log_output(c, bad);
	if (c->is_delete) {
		r->n.lifted++;
		if (r->o.store_del)
			r->o.store_del(r->o.store_ctx, c->row.key);
	}
	r->kids[slot] = NULL;
	kid_free(r, c);
}

void script_on_event(struct xb_resp *r, uint64_t tag)
{
	int slot = (int)(tag >> 2);
	struct child *c;

	if (slot < 0 || slot >= XB_RESP_MAX_RUNNING || !(c = r->kids[slot]))
		return;
	switch ((int)(tag & 3)) {
	case T_OUT:
		if (c->out >= 0)
			on_out(r, c);
		break;
	case T_ERR:
		if (c->err >= 0 && !drain(c->err, c->errb, &c->errn, XB_RESP_ERR_MAX, &c->err_cut))
			close_fd(r, &c->err);
		break;
	case T_PID:
		on_exit_of(r, slot);
		break;
	}
}

void script_check_deadlines(struct xb_resp *r, uint64_t now_ns)
{
	for (int i = 0; i < XB_RESP_MAX_RUNNING; i++) {
		struct child *c = r->kids[i];

		if (!c || now_ns < c->deadline_ns || c->deadline_ns == UINT64_MAX)
			continue;
		pr_warn("response %s: %s ran past its %u s limit: killed\n", c->row.key, c->row.exe,
			r->o.time_limit ? r->o.time_limit : XB_RESP_TIME_LIMIT_DEFAULT);
		r->n.hung++;
		kill(-c->pid, SIGKILL);
		c->deadline_ns = UINT64_MAX;    /* the pidfd reports the end */
	}
}

void script_kill_all(struct xb_resp *r)
{
	for (int i = 0; i < XB_RESP_MAX_RUNNING; i++) {
		struct child *c = r->kids[i];

		if (!c)
			continue;
		kill(-c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);       /* SIGKILL: a moment */
		r->kids[i] = NULL;
		kid_free(r, c);
	}
}
