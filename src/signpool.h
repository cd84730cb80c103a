/*
 * signpool: the agent's signing threads.
 *
 * Why not libuv's thread pool: in libuv 1.44 a finished job reaches the
 * loop through uv_async_send, and the loop thread spins (pause, then
 * sched_yield) while a worker is inside that call.  Signing threads run at
 * a lower priority so the loop always answers first; a preempted worker
 * then stalls the loop for milliseconds (priority inversion: measured as
 * the loop thread using a whole core during an RSA-4096 storm).  Here a
 * worker hands a finished job over with one short mutex section and a
 * one-byte pipe write that the loop watches with uv_poll: nothing spins.
 */
#ifndef SSHENV_SIGNPOOL_H
#define SSHENV_SIGNPOOL_H

#include <uv.h>

struct signpool;

struct signjob {
	struct signjob *next;
	void (*work)(struct signjob *job); /* on a signing thread */
	void (*done)(struct signjob *job); /* on the loop, afterwards */
};

/*
 * A pool of up to nthreads threads serving loop: one starts now, the
 * others as jobs wait for a thread.  0, ERR_ALLOC, or ERR_SYSTEM when not
 * even one thread starts.
 */
int signpool_new(uv_loop_t *loop, int nthreads, struct signpool **out);

/* Queues a job; its done callback runs on the loop once it has run. */
void signpool_submit(struct signpool *p, struct signjob *job);

/*
 * Lets queued jobs finish, runs their done callbacks, stops the threads
 * and closes the loop handle; the pool frees itself when libuv has closed
 * it.  A job a done callback submits meanwhile runs too (on the calling
 * thread, once the signing threads are gone).  Accepts NULL.
 */
void signpool_close(struct signpool *p);

#endif
