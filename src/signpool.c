#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "compat.h"
#include "sserr.h"
#include "signpool.h"

#define MAX_THREADS 16

struct signpool {
	uv_poll_t poll; /* on wake[0] */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct signjob *queue, **queue_tail;
	struct signjob *finished; /* LIFO; reversed when taken */
	pthread_t threads[MAX_THREADS];
	int nthreads, maxthreads;
	int idle;   /* threads waiting for a job, or starting */
	int queued; /* jobs no thread has taken yet */
	int wake[2];
	int stopping;
};

static void *
worker(void *arg)
{
	struct signpool *p = arg;
	struct signjob *job;
	int notify;
	char c = 1;

	/* Signing waits behind the loop thread, never the other way. */
	compat_lower_thread_priority();
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (p->queue == NULL && !p->stopping)
			pthread_cond_wait(&p->cv, &p->mu);
		if ((job = p->queue) == NULL)
			break;
		if ((p->queue = job->next) == NULL)
			p->queue_tail = &p->queue;
		p->queued--;
		p->idle--;
		pthread_mutex_unlock(&p->mu);
		job->work(job);
		pthread_mutex_lock(&p->mu);
		p->idle++;
		notify = p->finished == NULL;
		job->next = p->finished;
		p->finished = job;
		/* One byte per batch: the loop takes the whole list. */
		if (notify && write(p->wake[1], &c, 1) < 0 && errno != EAGAIN)
			abort();
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Runs the done callbacks of finished jobs, oldest first. */
static void
drain(struct signpool *p)
{
	struct signjob *list, *rev = NULL, *next;
	char buf[64];

	while (read(p->wake[0], buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&p->mu);
	list = p->finished;
	p->finished = NULL;
	pthread_mutex_unlock(&p->mu);
	for (; list != NULL; list = next) {
		next = list->next;
		list->next = rev;
		rev = list;
	}
	for (; rev != NULL; rev = next) {
		next = rev->next;
		rev->done(rev);
	}
}

static void
on_wake(uv_poll_t *h, int status, int events)
{
	(void)status;
	(void)events;
	drain(h->data);
}

int
signpool_new(uv_loop_t *loop, int nthreads, struct signpool **out)
{
	struct signpool *p;
	int r = ERR_SYSTEM;

	*out = NULL;
	if (nthreads < 1)
		nthreads = 1;
	if (nthreads > MAX_THREADS)
		nthreads = MAX_THREADS;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return ERR_ALLOC;
	p->queue_tail = &p->queue;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if (pipe2(p->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
		free(p);
		return ERR_SYSTEM;
	}
	if (uv_poll_init(loop, &p->poll, p->wake[0]) != 0)
		goto fail;
	p->poll.data = p;
	uv_poll_start(&p->poll, UV_READABLE, on_wake);
	p->maxthreads = nthreads;
	/* One now, so that a pool that cannot run jobs fails here; the
	 * others when jobs wait (signpool_submit). */
	p->idle = 1;
	if (pthread_create(&p->threads[0], NULL, worker, p) == 0)
		p->nthreads = 1;
	if (p->nthreads == 0) {
		/* The poll handle is open: close it the libuv way. */
		signpool_close(p);
		return r;
	}
	*out = p;
	return 0;
fail:
	close(p->wake[0]);
	close(p->wake[1]);
	free(p);
	return r;
}

/*
 * Threads are started as jobs wait, not all at once: each costs its
 * stack's touched pages and, once it allocates, a malloc arena, and an
 * agent that never signs needs one (its start-up seeding).  Only the loop
 * thread submits, closes, and so starts threads: nthreads and threads[]
 * are its alone.
 */
void
signpool_submit(struct signpool *p, struct signjob *job)
{
	int more;

	job->next = NULL;
	pthread_mutex_lock(&p->mu);
	*p->queue_tail = job;
	p->queue_tail = &job->next;
	p->queued++;
	/* A thread counts as idle from here, not from its first wait:
	 * else a job submitted while it starts would start another. */
	more = p->queued > p->idle && p->nthreads < p->maxthreads &&
	    !p->stopping;
	if (more)
		p->idle++;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	if (!more)
		return;
	if (pthread_create(&p->threads[p->nthreads], NULL, worker, p) == 0) {
		p->nthreads++;
		return;
	}
	/* The threads there are take the job in turn. */
	pthread_mutex_lock(&p->mu);
	p->idle--;
	pthread_mutex_unlock(&p->mu);
}

static void
on_closed(uv_handle_t *h)
{
	struct signpool *p = h->data;

	close(p->wake[0]);
	close(p->wake[1]);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
}

void
signpool_close(struct signpool *p)
{
	struct signjob *job, *next;
	int i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stopping = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	/* Queued signatures are short: wait for them, then answer them. */
	for (i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	for (;;) {
		drain(p);
		/* A done callback may have queued more: no thread is left,
		 * so it runs here, and its done callback after it. */
		pthread_mutex_lock(&p->mu);
		job = p->queue;
		p->queue = NULL;
		p->queue_tail = &p->queue;
		p->queued = 0;
		pthread_mutex_unlock(&p->mu);
		if (job == NULL)
			break;
		for (; job != NULL; job = next) {
			next = job->next;
			job->work(job);
			pthread_mutex_lock(&p->mu);
			job->next = p->finished;
			p->finished = job;
			pthread_mutex_unlock(&p->mu);
		}
	}
	uv_close((uv_handle_t *)&p->poll, on_closed);
}
