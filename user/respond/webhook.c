// SPDX-License-Identifier: GPL-2.0
/* respond: wazuh-slack / webhook. POSTs go through a bounded queue to one
 * thread of their own with libcurl, so a slow or dead endpoint never holds
 * the event loop or a ban: a few tries, each bounded in time, then a log line. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "common/log.h"
#include "respond/internal.h"

#define QUEUE_MAX   64
#define TRIES       3
#define TRY_SECONDS 5L          /* one attempt, connection included */

struct job {
	char *url, *body;
};

struct webhook {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job q[QUEUE_MAX];
	size_t head, n;
	bool stop;
	uint64_t posted, failed;
};

static size_t discard(char *p, size_t sz, size_t n, void *ctx)
{
	return sz * n;
}

static bool stopping(struct webhook *w)
{
	bool s;

	pthread_mutex_lock(&w->mu);
	s = w->stop;
	pthread_mutex_unlock(&w->mu);
	return s;
}

/* One POST, tried up to TRIES times (fewer when stopping). 0, or the last
 * failure logged. */
static int post(struct webhook *w, CURL *c, const struct job *j)
{
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	long code = 0;
	CURLcode rc = CURLE_OK;

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, j->url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, j->body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, TRY_SECONDS);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	for (int t = 0; t < TRIES && !(t && stopping(w)); t++) {
		if (t)
			nanosleep(&(struct timespec){ .tv_sec = t }, NULL);
		rc = curl_easy_perform(c);
		code = 0;
		if (rc == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		if (rc == CURLE_OK && code >= 200 && code < 300)
			break;
	}
	curl_slist_free_all(h);
	if (rc == CURLE_OK && code >= 200 && code < 300)
		return 0;
	pr_warn("webhook %s: not delivered after %d tries: %s\n", j->url, TRIES,
		rc != CURLE_OK ? curl_easy_strerror(rc) : "HTTP status not 2xx");
	return -EIO;
}

static void *worker(void *arg)
{
	struct webhook *w = arg;
	CURL *c = curl_easy_init();

	pthread_mutex_lock(&w->mu);
	while (!w->stop) {
		struct job j;
		int err;

		if (!w->n) {
			pthread_cond_wait(&w->cv, &w->mu);
			continue;
		}
		j = w->q[w->head];
		w->head = (w->head + 1) % QUEUE_MAX;
		w->n--;
		pthread_mutex_unlock(&w->mu);
		err = c ? post(w, c, &j) : -ENOMEM;
		free(j.url);
		free(j.body);
		pthread_mutex_lock(&w->mu);
		err ? w->failed++ : w->posted++;
	}
	/* Stopping: what still waits is dropped (counted), not sent. */
	for (; w->n; w->n--, w->head = (w->head + 1) % QUEUE_MAX, w->failed++) {
		free(w->q[w->head].url);
		free(w->q[w->head].body);
	}
	pthread_mutex_unlock(&w->mu);
	curl_easy_cleanup(c);
	return NULL;
}

int webhook_new(struct webhook **out)
{
	struct webhook *w = calloc(1, sizeof(*w));
	int err;

	if (!w)
		return -ENOMEM;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if ((err = pthread_create(&w->th, NULL, worker, w))) {
		free(w);
		return -err;
	}
	*out = w;
	return 0;
}

/* The POST under way finishes (bounded: TRIES x TRY_SECONDS), the rest is
 * dropped, then the thread ends. */
void webhook_free(struct webhook *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->th, NULL);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
}

int webhook_post(struct webhook *w, const char *url, char *body)
{
	char *u = strdup(url);
	int err = 0;

	if (!u) {
		free(body);
		return -ENOMEM;
	}
	pthread_mutex_lock(&w->mu);
	if (w->n == QUEUE_MAX) {
		err = -ENOSPC;
		w->failed++;
	} else {
		w->q[(w->head + w->n++) % QUEUE_MAX] = (struct job){ u, body };
		pthread_cond_signal(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	if (err) {
		free(u);
		free(body);
	}
	return err;
}

void webhook_counts(struct webhook *w, uint64_t *posted, uint64_t *failed)
{
	pthread_mutex_lock(&w->mu);
	*posted = w->posted;
	*failed = w->failed;
	pthread_mutex_unlock(&w->mu);
}
