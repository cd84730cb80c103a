/*
 * signpool: on a real loop, every job's work runs once on a signing thread
 * (never the loop's) and its done once on the loop thread, after its work;
 * more jobs than threads all finish, with no more at once than threads;
 * signpool_close lets queued jobs finish and answers them before the loop
 * closes; a job submitted from a done callback runs too; jobs that come
 * one at a time never start a second thread.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "signpool.h"
#include "sserr.h"
#include "unit.h"

#define BOUND_MS 10000
#define MAX_JOBS 256

struct fixture;

/* A job with a record of where and how often its callbacks ran. */
struct tjob {
	struct signjob job; /* first: the pool hands us this */
	struct fixture *f;
	int index;
	atomic_int worked;
	pthread_t work_thread;
	int done;
	int worked_before_done;
	int done_on_loop;
	int after_close; /* started once close was under way */
};

struct fixture {
	uv_loop_t loop;
	uv_timer_t bound;
	int expired;
	pthread_t loop_thread;
	struct signpool *pool;
	struct tjob jobs[MAX_JOBS];
	int ndone;
	/* The gate that holds work() until the test opens it. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int gated, open;
	int inwork, maxinwork;
	atomic_int work_on_loop;
	atomic_int closing;
	int busy; /* each work() computes a while */
	/* A chain: each done submits the next job until there are nchain. */
	int nchain;
};

static void
on_bound(uv_timer_t *t)
{
	struct fixture *f = t->data;

	f->expired = 1;
	uv_stop(t->loop);
}

/* A deadline BOUND_MS from now, for waits that must not hang a test. */
static struct timespec
deadline(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += BOUND_MS / 1000;
	return ts;
}

static void
work(struct signjob *job)
{
	struct tjob *j = (struct tjob *)job;
	struct fixture *f = j->f;
	volatile unsigned long long sink = 0;
	struct timespec ts;
	int i;

	if (pthread_equal(pthread_self(), f->loop_thread))
		atomic_fetch_add(&f->work_on_loop, 1);
	j->work_thread = pthread_self();
	j->after_close = atomic_load(&f->closing);
	pthread_mutex_lock(&f->mu);
	if (++f->inwork > f->maxinwork)
		f->maxinwork = f->inwork;
	pthread_cond_broadcast(&f->cv);
	ts = deadline();
	while (f->gated && !f->open &&
	    pthread_cond_timedwait(&f->cv, &f->mu, &ts) == 0)
		;
	f->inwork--;
	pthread_mutex_unlock(&f->mu);
	for (i = 0; i < f->busy; i++)
		sink = sink * 6364136223846793005ULL + 1442695040888963407ULL;
	atomic_fetch_add(&j->worked, 1);
}

static void
done(struct signjob *job)
{
	struct tjob *j = (struct tjob *)job;
	struct fixture *f = j->f;
	struct tjob *next;

	j->done++;
	j->worked_before_done = atomic_load(&j->worked) == 1;
	j->done_on_loop = pthread_equal(pthread_self(), f->loop_thread);
	f->ndone++;
	/* Only the last of a chain submits the next one. */
	if (j->index + 1 < f->nchain && j->index + 1 == f->ndone) {
		next = &f->jobs[j->index + 1];
		signpool_submit(f->pool, &next->job);
	}
}

static int
fixture_init(struct fixture *f, int nthreads)
{
	int i;

	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	f->loop_thread = pthread_self();
	for (i = 0; i < MAX_JOBS; i++) {
		f->jobs[i].f = f;
		f->jobs[i].index = i;
		f->jobs[i].job.work = work;
		f->jobs[i].job.done = done;
	}
	if (uv_loop_init(&f->loop) != 0)
		return -1;
	uv_timer_init(&f->loop, &f->bound);
	f->bound.data = f;
	if (signpool_new(&f->loop, nthreads, &f->pool) != 0) {
		uv_close((uv_handle_t *)&f->bound, NULL);
		uv_run(&f->loop, UV_RUN_DEFAULT);
		uv_loop_close(&f->loop);
		return -1;
	}
	return 0;
}

/* Runs the loop until want done callbacks ran, failing past BOUND_MS. */
static void
run_until_done(struct fixture *f, int want)
{
	uv_update_time(&f->loop);
	f->expired = 0;
	uv_timer_start(&f->bound, on_bound, BOUND_MS, 0);
	while (f->ndone < want && !f->expired)
		uv_run(&f->loop, UV_RUN_ONCE);
	uv_timer_stop(&f->bound);
	if (f->expired)
		fprintf(stderr, "  timed out waiting for %d done, got %d\n",
		    want, f->ndone);
	CHECK(!f->expired);
}

/*
 * Runs the loop until only the bound timer is left, then closes it and
 * the loop; a handle the module should have closed and left active
 * fails the test when the bound runs out, rather than hanging it.
 */
static void
close_loop(struct fixture *f)
{
	uv_update_time(&f->loop);
	f->expired = 0;
	uv_timer_start(&f->bound, on_bound, BOUND_MS, 0);
	/* Unreferenced, the timer still fires but keeps nothing alive. */
	uv_unref((uv_handle_t *)&f->bound);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	if (f->expired) {
		fprintf(stderr, "  a handle was left open\n");
		CHECK(!f->expired);
		return;
	}
	uv_close((uv_handle_t *)&f->bound, NULL);
	CHECK_EQ(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
	CHECK_EQ(uv_loop_close(&f->loop), 0);
}

/* Closes the pool (if still open); the loop must then close. */
static void
fixture_done(struct fixture *f)
{
	signpool_close(f->pool);
	f->pool = NULL;
	close_loop(f);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
}

/* Each of the first n jobs ran work once, then done once on the loop. */
static void
check_jobs(struct fixture *f, int n)
{
	int i, bad = 0;

	for (i = 0; i < n; i++) {
		struct tjob *j = &f->jobs[i];

		if (atomic_load(&j->worked) != 1 || j->done != 1 ||
		    !j->worked_before_done || !j->done_on_loop) {
			if (bad++ < 5)
				fprintf(stderr,
				    "  job %d: worked %d, done %d,"
				    " in order %d, on loop %d\n",
				    i, atomic_load(&j->worked), j->done,
				    j->worked_before_done, j->done_on_loop);
		}
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(f->ndone, n);
	CHECK_EQ(atomic_load(&f->work_on_loop), 0);
}

/* How many distinct threads ran the first n jobs. */
static int
nthreads_used(struct fixture *f, int n)
{
	int i, k, count = 0;

	for (i = 0; i < n; i++) {
		for (k = 0; k < i; k++)
			if (pthread_equal(f->jobs[k].work_thread,
				f->jobs[i].work_thread))
				break;
		if (k == i)
			count++;
	}
	return count;
}

static void
test_jobs(void)
{
	static struct fixture f;
	int i, n = 32;

	if (fixture_init(&f, 4) != 0) {
		CHECK(!"fixture");
		return;
	}
	for (i = 0; i < n; i++)
		signpool_submit(f.pool, &f.jobs[i].job);
	run_until_done(&f, n);
	check_jobs(&f, n);
	fixture_done(&f);
	/* Closing an idle pool answers nothing twice. */
	check_jobs(&f, n);
}

static void
test_more_jobs_than_threads(void)
{
	static struct fixture f;
	struct timespec ts;
	int i, n = 200, nthreads = 3, r = 0;

	if (fixture_init(&f, nthreads) != 0) {
		CHECK(!"fixture");
		return;
	}
	/*
	 * Every thread held inside a job with the rest queued behind them:
	 * they can only all finish if freed threads go back to the queue.
	 */
	f.gated = 1;
	for (i = 0; i < n; i++)
		signpool_submit(f.pool, &f.jobs[i].job);
	pthread_mutex_lock(&f.mu);
	ts = deadline();
	while (f.inwork < nthreads && r == 0)
		r = pthread_cond_timedwait(&f.cv, &f.mu, &ts);
	CHECK_EQ(f.inwork, nthreads);
	f.open = 1;
	pthread_cond_broadcast(&f.cv);
	pthread_mutex_unlock(&f.mu);

	run_until_done(&f, n);
	check_jobs(&f, n);
	CHECK_EQ(f.maxinwork, nthreads);
	CHECK_EQ(nthreads_used(&f, n), nthreads);
	fixture_done(&f);
}

static void
test_close_finishes_queued(void)
{
	static struct fixture f;
	struct timespec ts;
	int i, n = 20, r = 0, late = 0;

	if (fixture_init(&f, 1) != 0) {
		CHECK(!"fixture");
		return;
	}
	/*
	 * The one thread held in the first job, the others queued; once let
	 * go it needs a while for them, so close finds most still queued.
	 */
	f.gated = 1;
	f.busy = 200000;
	for (i = 0; i < n; i++)
		signpool_submit(f.pool, &f.jobs[i].job);
	pthread_mutex_lock(&f.mu);
	ts = deadline();
	while (f.inwork < 1 && r == 0)
		r = pthread_cond_timedwait(&f.cv, &f.mu, &ts);
	CHECK_EQ(f.inwork, 1);
	f.open = 1;
	pthread_cond_broadcast(&f.cv);
	pthread_mutex_unlock(&f.mu);

	/* No loop run since: every done callback is close's doing. */
	CHECK_EQ(f.ndone, 0);
	atomic_store(&f.closing, 1);
	fixture_done(&f);
	check_jobs(&f, n);
	CHECK_EQ(nthreads_used(&f, n), 1);
	/* Not a check: a descheduled test thread may find all jobs done. */
	for (i = 0; i < n; i++)
		late += f.jobs[i].after_close;
	if (late == 0)
		printf("     (close found no job queued: proved less)\n");
}

static void
test_submit_from_done(void)
{
	static struct fixture f;
	int n = 5;

	if (fixture_init(&f, 2) != 0) {
		CHECK(!"fixture");
		return;
	}
	f.nchain = n;
	signpool_submit(f.pool, &f.jobs[0].job);
	run_until_done(&f, n);
	check_jobs(&f, n);
	fixture_done(&f);
	CHECK_EQ(f.ndone, n);
}

/*
 * A done callback that submits a job while close drains: the threads are
 * gone by then, and the job was once dropped (never run, never done).
 */
static void
test_submit_during_close(void)
{
	static struct fixture f;

	if (fixture_init(&f, 1) != 0) {
		CHECK(!"fixture");
		return;
	}
	f.nchain = 2;
	signpool_submit(f.pool, &f.jobs[0].job);
	/* No loop run: the first done runs inside close, and submits. */
	fixture_done(&f);
	CHECK_EQ(f.ndone, 2);
	CHECK_EQ(atomic_load(&f.jobs[1].worked), 1);
	CHECK_EQ(f.jobs[1].done, 1);
	CHECK(f.jobs[1].worked_before_done);
}

/*
 * Threads start as jobs wait, not at once (each costs memory): jobs that
 * come one after another, each done before the next, find the first
 * thread idle every time.
 */
static void
test_one_thread_until_jobs_wait(void)
{
	static struct fixture f;
	int i, n = 10;

	if (fixture_init(&f, 4) != 0) {
		CHECK(!"fixture");
		return;
	}
	for (i = 0; i < n; i++) {
		signpool_submit(f.pool, &f.jobs[i].job);
		run_until_done(&f, i + 1);
	}
	check_jobs(&f, n);
	CHECK_EQ(nthreads_used(&f, n), 1);
	fixture_done(&f);
}

static void
test_zero_threads(void)
{
	static struct fixture f;

	/* No threads asked for still makes a pool that works. */
	if (fixture_init(&f, 0) != 0) {
		CHECK(!"fixture");
		return;
	}
	signpool_submit(f.pool, &f.jobs[0].job);
	run_until_done(&f, 1);
	check_jobs(&f, 1);
	fixture_done(&f);
	signpool_close(NULL);
}

int
main(void)
{
	RUN(test_jobs);
	RUN(test_more_jobs_than_threads);
	RUN(test_close_finishes_queued);
	RUN(test_submit_from_done);
	RUN(test_submit_during_close);
	RUN(test_one_thread_until_jobs_wait);
	RUN(test_zero_threads);
	UNIT_DONE();
}
