// SPDX-License-Identifier: GPL-2.0
/*
 * bench_rr: the legitimate client of `make bench-traffic` and its server.
 * Each request is a new TCP connection carrying 64 bytes each way, like a
 * short HTTP/1.0 exchange, so a SYN flood that fills the listen queue shows.
 *
 *   bench_rr server ADDR PORT [THREADS]
 *   bench_rr client ADDR PORT SECONDS [CONNS]
 *
 * The client runs CONNS closed loops for SECONDS (at most 600) and prints
 *   requests=N rps=R p50_us=A p90_us=B p99_us=C max_us=D errors=E
 * Every socket wait is bounded by a 1 s timeout; the client closes with an
 * RST (SO_LINGER 0) so no TIME_WAIT piles up on its ports.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#define MSG     64
#define HIST_US 200000          /* 1 us buckets up to 200 ms, then one overflow */

struct target {
	struct sockaddr_storage ss;
	socklen_t len;
};

static int parse_target(const char *a, const char *p, struct target *t)
{
	struct sockaddr_in *s4 = (void *)&t->ss;
	struct sockaddr_in6 *s6 = (void *)&t->ss;
	int port = atoi(p);

	memset(t, 0, sizeof(*t));
	if (port <= 0 || port > 65535)
		return -EINVAL;
	if (inet_pton(AF_INET, a, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		t->len = sizeof(*s4);
	} else if (inet_pton(AF_INET6, a, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		t->len = sizeof(*s6);
	} else {
		return -EINVAL;
	}
	return 0;
}

static void set_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = 1 };
	int one = 1;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int io_full(int fd, char *buf, int wr)
{
	size_t done = 0;

	while (done < MSG) {
		ssize_t n = wr ? write(fd, buf + done, MSG - done) : read(fd, buf + done, MSG - done);

		if (n <= 0)
			return n < 0 ? -errno : -ECONNRESET;
		done += n;
	}
	return 0;
}

/* --- server --------------------------------------------------------------- */

static void *serve(void *arg)
{
	int lfd = *(int *)arg;
	char buf[MSG];

	for (;;) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EAGAIN)
				continue;
			perror("bench_rr: accept");
			return NULL;
		}
		set_timeouts(fd);
		if (!io_full(fd, buf, 0))
			io_full(fd, buf, 1);
		close(fd);
	}
}

static int server(const struct target *t, int nthreads)
{
	int one = 1, lfd = socket(t->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	pthread_t th;

	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (const struct sockaddr *)&t->ss, t->len) || listen(lfd, 1024)) {
		perror("bench_rr: listen");
		return 1;
	}
	/* Blocking accept() in every thread: the kernel hands out connections. */
	for (int i = 1; i < nthreads; i++)
		if (pthread_create(&th, NULL, serve, &lfd)) {
			fprintf(stderr, "bench_rr: thread: %s\n", strerror(errno));
			return 1;
		}
	serve(&lfd);
	return 1;
}

/* --- client --------------------------------------------------------------- */

struct worker {
	pthread_t th;
	const struct target *t;
	double deadline;
	unsigned long long n, errors;
	unsigned *hist;         /* HIST_US + 1 buckets */
	double max_us;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int one_request(const struct target *t)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	char buf[MSG];
	int fd, err;

	memset(buf, 'x', sizeof(buf));
	fd = socket(t->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	set_timeouts(fd);       /* SO_SNDTIMEO also bounds connect() */
	if (connect(fd, (const struct sockaddr *)&t->ss, t->len))
		err = -errno;
	else if (!(err = io_full(fd, buf, 1)))
		err = io_full(fd, buf, 0);
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	return err;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	double t0, t1 = now_s();

	while (t1 < w->deadline) {
		t0 = t1;
		if (one_request(w->t)) {
			w->errors++;
			t1 = now_s();
			continue;
		}
		t1 = now_s();
		double us = (t1 - t0) * 1e6;

		w->hist[us < HIST_US ? (unsigned)us : HIST_US]++;
		if (us > w->max_us)
			w->max_us = us;
		w->n++;
	}
	return NULL;
}

static double pct(const unsigned long long *h, unsigned long long n, double p)
{
	unsigned long long want = (unsigned long long)(p * n), acc = 0;

	for (unsigned i = 0; i <= HIST_US; i++) {
		acc += h[i];
		if (acc > want)
			return i + 0.5;
	}
	return HIST_US;
}

static int client(const struct target *t, double secs, int conns)
{
	struct worker *w = calloc(conns, sizeof(*w));
	unsigned long long *h = calloc(HIST_US + 1, sizeof(*h)), n = 0, errors = 0;
	double start = now_s(), max_us = 0, elapsed;
	int err = 0, started = 0;

	if (!w || !h) {
		fprintf(stderr, "bench_rr: out of memory\n");
		err = 1;
		goto out;
	}
	for (int i = 0; i < conns; i++) {
		w[i].t = t;
		w[i].deadline = start + secs;
		w[i].hist = calloc(HIST_US + 1, sizeof(unsigned));
		if (!w[i].hist || pthread_create(&w[i].th, NULL, work, &w[i])) {
			fprintf(stderr, "bench_rr: worker %d failed to start\n", i);
			err = 1;
			break;
		}
		started++;
	}
	for (int i = 0; i < started; i++) {
		pthread_join(w[i].th, NULL);
		n += w[i].n;
		errors += w[i].errors;
		if (w[i].max_us > max_us)
			max_us = w[i].max_us;
		for (unsigned b = 0; b <= HIST_US; b++)
			h[b] += w[i].hist[b];
	}
	elapsed = now_s() - start;
	if (!err)
		printf("requests=%llu rps=%.0f p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.0f errors=%llu\n",
		       n, n / elapsed, pct(h, n, 0.50), pct(h, n, 0.90), pct(h, n, 0.99), max_us, errors);
out:
	if (w)
		for (int i = 0; i < conns; i++)
			free(w[i].hist);
	free(w);
	free(h);
	return err;
}

int main(int argc, char **argv)
{
	struct target t;

	if (argc >= 4 && !strcmp(argv[1], "server") && !parse_target(argv[2], argv[3], &t))
		return server(&t, argc > 4 ? atoi(argv[4]) > 0 ? atoi(argv[4]) : 1 : 4);
	if (argc >= 5 && !strcmp(argv[1], "client") && !parse_target(argv[2], argv[3], &t)) {
		double secs = strtod(argv[4], NULL);
		int conns = argc > 5 ? atoi(argv[5]) : 2;

		if (secs > 0 && secs <= 600 && conns > 0 && conns <= 64)
			return client(&t, secs, conns);
	}
	fprintf(stderr, "usage: bench_rr server ADDR PORT [THREADS]\n"
			"       bench_rr client ADDR PORT SECONDS [CONNS]\n");
	return 2;
}
