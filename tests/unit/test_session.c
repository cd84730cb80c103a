/*
 * session: adding leaders (ERR_EXISTS twice, ERR_NOT_FOUND for a pid that
 * is gone or could never be a leader), count and list, the gone callback
 * (once, with the right sid, on a real loop), remove (no callback after
 * the leader exits), and closing a set that still watches leaders.  The
 * leaders are forked children in sessions of their own, each waiting on a
 * pipe for the test to let it go; the same tests pass with pidfds and with
 * the once-a-second poll of a PORTABLE build.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <uv.h>

#include "session.h"
#include "sserr.h"
#include "unit.h"

/* Twice the poll interval and more, with room for a sanitizer build. */
#define BOUND_MS 10000
#define MAX_GONE 8

/* A session leader: its pid, and the pipe end that keeps it waiting. */
struct leader {
	pid_t pid;
	int wfd;
};

/* A loop of the test's own, the bound on waits, and what the set said. */
struct fixture {
	uv_loop_t loop;
	uv_timer_t bound;
	int expired;
	struct session_set *set;
	long gone[MAX_GONE];
	int ngone;
};

/*
 * Forks a child that becomes a session leader and waits for EOF on a
 * pipe; returns once it has called setsid, so the caller sees its sid.
 */
static int
leader_start(struct leader *l)
{
	int go[2], ready[2];
	ssize_t n;
	char b;

	l->pid = -1;
	l->wfd = -1;
	if (pipe(go) != 0)
		return -1;
	if (pipe(ready) != 0) {
		close(go[0]);
		close(go[1]);
		return -1;
	}
	if ((l->pid = fork()) == 0) {
		/*
		 * Keep only this child's own pipe ends: another leader's
		 * write end held here would keep that leader waiting.
		 */
		if (dup2(go[0], 3) < 0 || dup2(ready[1], 4) < 0)
			_exit(1);
		closefrom(5);
		if (setsid() < 0 || write(4, "r", 1) != 1)
			_exit(1);
		while ((n = read(3, &b, 1)) != 0)
			if (n < 0 && errno != EINTR)
				_exit(1);
		_exit(0);
	}
	close(go[0]);
	close(ready[1]);
	n = l->pid > 0 ? read(ready[0], &b, 1) : -1;
	close(ready[0]);
	l->wfd = go[1];
	return n == 1 ? 0 : -1;
}

/* Lets the leader exit and reaps it; its pid is free from here on. */
static void
leader_end(struct leader *l)
{
	int st;

	if (l->pid <= 0)
		return;
	close(l->wfd);
	CHECK_EQ(waitpid(l->pid, &st, 0), l->pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	l->pid = -1;
	l->wfd = -1;
}

static void
on_gone(void *arg, long sid)
{
	struct fixture *f = arg;

	if (f->ngone < MAX_GONE)
		f->gone[f->ngone] = sid;
	f->ngone++;
}

static void
on_bound(uv_timer_t *t)
{
	struct fixture *f = t->data;

	f->expired = 1;
	uv_stop(t->loop);
}

static int
fixture_init(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	if (uv_loop_init(&f->loop) != 0)
		return -1;
	uv_timer_init(&f->loop, &f->bound);
	f->bound.data = f;
	if (session_set_new(&f->loop, on_gone, f, &f->set) != 0) {
		uv_close((uv_handle_t *)&f->bound, NULL);
		uv_run(&f->loop, UV_RUN_DEFAULT);
		uv_loop_close(&f->loop);
		return -1;
	}
	return 0;
}

/*
 * Runs the loop until the set has reported want leaders gone; a wait
 * past BOUND_MS fails the test instead of hanging it.
 */
static void
run_until_gone(struct fixture *f, int want)
{
	/* The loop's clock is stale after the test blocked in waitpid. */
	uv_update_time(&f->loop);
	f->expired = 0;
	uv_timer_start(&f->bound, on_bound, BOUND_MS, 0);
	while (f->ngone < want && !f->expired)
		uv_run(&f->loop, UV_RUN_ONCE);
	uv_timer_stop(&f->bound);
	if (f->expired)
		fprintf(stderr, "  timed out waiting for %d gone, got %d\n",
		    want, f->ngone);
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

/* Closes the set; the loop must then close cleanly. */
static void
fixture_done(struct fixture *f)
{
	session_set_close(f->set);
	f->set = NULL;
	close_loop(f);
}

/* 1 if sid is among the n ids. */
static int
listed(const uint32_t *ids, size_t n, long sid)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ids[i] == (uint32_t)sid)
			return 1;
	return 0;
}

static void
test_add(void)
{
	struct fixture f;
	struct leader a;

	if (fixture_init(&f) != 0) {
		CHECK(!"fixture");
		return;
	}
	CHECK_EQ(leader_start(&a), 0);
	CHECK_EQ(getsid(a.pid), a.pid);
	CHECK_EQ(session_count(f.set), 0);
	CHECK_EQ(session_add(f.set, a.pid), 0);
	CHECK_EQ(session_add(f.set, a.pid), ERR_EXISTS);
	CHECK_EQ(session_count(f.set), 1);

	/*
	 * Pid 1 runs, yet leads no login; 0 and -1 would have kill() probe
	 * a whole process group or every process.
	 */
	CHECK_EQ(session_add(f.set, 1), ERR_NOT_FOUND);
	CHECK_EQ(session_add(f.set, 0), ERR_NOT_FOUND);
	CHECK_EQ(session_add(f.set, -1), ERR_NOT_FOUND);
	/* Nor anything a pid_t would wrap: -1 again, or another pid. */
	CHECK_EQ(session_add(f.set, 0xffffffffL), ERR_NOT_FOUND);
	CHECK_EQ(session_add(f.set, (1L << 32) + getpid()), ERR_NOT_FOUND);
	CHECK_EQ(session_add(f.set, 2147483648L), ERR_NOT_FOUND);
	CHECK_EQ(session_count(f.set), 1);
	CHECK_EQ(f.ngone, 0);

	fixture_done(&f);
	leader_end(&a);
}

static void
test_add_dead(void)
{
	struct fixture f;
	struct leader l;
	pid_t pid;

	if (fixture_init(&f) != 0) {
		CHECK(!"fixture");
		return;
	}
	CHECK_EQ(leader_start(&l), 0);
	pid = l.pid;
	leader_end(&l);
	CHECK_EQ(session_add(f.set, pid), ERR_NOT_FOUND);
	CHECK_EQ(session_count(f.set), 0);
	fixture_done(&f);
}

static void
test_count_list(void)
{
	struct fixture f;
	struct leader l[3];
	uint32_t ids[4];
	size_t n, i;

	if (fixture_init(&f) != 0) {
		CHECK(!"fixture");
		return;
	}
	for (i = 0; i < 3; i++) {
		CHECK_EQ(leader_start(&l[i]), 0);
		CHECK_EQ(session_add(f.set, l[i].pid), 0);
		CHECK_EQ(session_count(f.set), i + 1);
	}

	memset(ids, 0xee, sizeof(ids));
	n = session_list(f.set, ids, 4);
	CHECK_EQ(n, 3);
	for (i = 0; i < 3; i++)
		CHECK(listed(ids, n, l[i].pid));
	CHECK_EQ(ids[3], 0xeeeeeeee);

	/* A short array gets as many distinct ids as fit, no more. */
	memset(ids, 0xee, sizeof(ids));
	CHECK_EQ(session_list(f.set, ids, 2), 2);
	CHECK(ids[0] != ids[1]);
	for (i = 0; i < 2; i++)
		CHECK(ids[i] == (uint32_t)l[0].pid ||
		    ids[i] == (uint32_t)l[1].pid ||
		    ids[i] == (uint32_t)l[2].pid);
	CHECK_EQ(ids[2], 0xeeeeeeee);
	memset(ids, 0xee, sizeof(ids));
	CHECK_EQ(session_list(f.set, ids, 0), 0);
	CHECK_EQ(ids[0], 0xeeeeeeee);

	/* The middle one out: the others stay, in the count and the list. */
	CHECK_EQ(session_remove(f.set, l[1].pid), 0);
	CHECK_EQ(session_count(f.set), 2);
	memset(ids, 0xee, sizeof(ids));
	n = session_list(f.set, ids, 4);
	CHECK_EQ(n, 2);
	CHECK(listed(ids, n, l[0].pid));
	CHECK(!listed(ids, n, l[1].pid));
	CHECK(listed(ids, n, l[2].pid));

	fixture_done(&f);
	for (i = 0; i < 3; i++)
		leader_end(&l[i]);
	CHECK_EQ(f.ngone, 0);
}

static void
test_gone_once(void)
{
	struct fixture f;
	struct leader a, b;
	uint32_t ids[2];
	long apid, bpid;

	if (fixture_init(&f) != 0) {
		CHECK(!"fixture");
		return;
	}
	CHECK_EQ(leader_start(&a), 0);
	CHECK_EQ(leader_start(&b), 0);
	apid = a.pid;
	bpid = b.pid;
	CHECK_EQ(session_add(f.set, a.pid), 0);
	CHECK_EQ(session_add(f.set, b.pid), 0);

	leader_end(&a);
	run_until_gone(&f, 1);
	CHECK_EQ(f.ngone, 1);
	CHECK_EQ(f.gone[0], apid);
	CHECK_EQ(session_count(f.set), 1);
	CHECK_EQ(session_list(f.set, ids, 2), 1);
	CHECK_EQ(ids[0], bpid);
	/* Gone means no longer watched: it is not there to remove. */
	CHECK_EQ(session_remove(f.set, apid), ERR_NOT_FOUND);

	/*
	 * b's callback comes later than any repeat of a's would (on the
	 * same poll tick, or with the same readable pidfd): a fired once.
	 */
	leader_end(&b);
	run_until_gone(&f, 2);
	CHECK_EQ(f.ngone, 2);
	CHECK_EQ(f.gone[1], bpid);
	CHECK_EQ(session_count(f.set), 0);
	CHECK_EQ(session_list(f.set, ids, 2), 0);

	fixture_done(&f);
	CHECK_EQ(f.ngone, 2);
}

static void
test_remove(void)
{
	struct fixture f;
	struct leader a, b;
	long bpid;

	if (fixture_init(&f) != 0) {
		CHECK(!"fixture");
		return;
	}
	CHECK_EQ(leader_start(&a), 0);
	CHECK_EQ(leader_start(&b), 0);
	bpid = b.pid;
	CHECK_EQ(session_add(f.set, a.pid), 0);
	CHECK_EQ(session_add(f.set, b.pid), 0);
	CHECK_EQ(session_remove(f.set, a.pid), 0);
	CHECK_EQ(session_remove(f.set, a.pid), ERR_NOT_FOUND);
	CHECK_EQ(session_count(f.set), 1);

	/*
	 * a exits first, then b: had a still been watched, its callback
	 * would come no later than b's.
	 */
	leader_end(&a);
	leader_end(&b);
	run_until_gone(&f, 1);
	CHECK_EQ(f.ngone, 1);
	CHECK_EQ(f.gone[0], bpid);
	CHECK_EQ(session_count(f.set), 0);

	/* Removing a gone leader, or one never added, is ERR_NOT_FOUND. */
	CHECK_EQ(session_remove(f.set, bpid), ERR_NOT_FOUND);
	CHECK_EQ(session_remove(f.set, 12345678), ERR_NOT_FOUND);

	fixture_done(&f);
	CHECK_EQ(f.ngone, 1);
}

static void
test_close_watching(void)
{
	struct fixture f;
	struct leader l[3];
	size_t i;

	if (fixture_init(&f) != 0) {
		CHECK(!"fixture");
		return;
	}
	for (i = 0; i < 3; i++) {
		CHECK_EQ(leader_start(&l[i]), 0);
		CHECK_EQ(session_add(f.set, l[i].pid), 0);
	}
	/* One removed, one gone and reported, one still watched. */
	CHECK_EQ(session_remove(f.set, l[0].pid), 0);
	leader_end(&l[1]);
	run_until_gone(&f, 1);
	CHECK_EQ(f.ngone, 1);

	/*
	 * Closing with a leader still watched: every handle closes and the
	 * set frees itself (the sanitizer build would see a leak), and no
	 * callback comes for it.
	 */
	fixture_done(&f);
	session_set_close(NULL);
	for (i = 0; i < 3; i++)
		leader_end(&l[i]);
	CHECK_EQ(f.ngone, 1);
}

/*
 * A gone callback that closes the set while other leaders are also gone
 * (the polling build scanned on from a session the close had freed).
 */

static void
on_gone_close(void *arg, long sid)
{
	struct fixture *f = arg;

	on_gone(arg, sid);
	session_set_close(f->set);
	f->set = NULL;
}

static void
test_gone_callback_closes_the_set(void)
{
	struct fixture f;
	struct leader a, b;

	if (fixture_init(&f) != 0) {
		CHECK(!"fixture");
		return;
	}
	/* A set whose callback closes it, in place of the fixture's. */
	session_set_close(f.set);
	CHECK_EQ(session_set_new(&f.loop, on_gone_close, &f, &f.set), 0);
	CHECK_EQ(leader_start(&a), 0);
	CHECK_EQ(leader_start(&b), 0);
	CHECK_EQ(session_add(f.set, a.pid), 0);
	CHECK_EQ(session_add(f.set, b.pid), 0);
	leader_end(&a);
	leader_end(&b);
	run_until_gone(&f, 1);
	CHECK_EQ(f.ngone, 1);
	CHECK(f.set == NULL);
	close_loop(&f);
}

static void
test_close_empty(void)
{
	struct fixture f;

	if (fixture_init(&f) != 0) {
		CHECK(!"fixture");
		return;
	}
	fixture_done(&f);
	CHECK_EQ(f.ngone, 0);
}

int
main(void)
{
	RUN(test_add);
	RUN(test_add_dead);
	RUN(test_count_list);
	RUN(test_gone_once);
	RUN(test_remove);
	RUN(test_close_watching);
	RUN(test_close_empty);
	RUN(test_gone_callback_closes_the_set);
	UNIT_DONE();
}
