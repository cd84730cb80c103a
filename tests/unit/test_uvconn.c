/*
 * uvconn: on a real loop and a real listening socket, accepting links a
 * connection at the head of the list with data pointing back; a failed
 * accept still links it and closes the same way; close unlinks from any
 * place in the list and is idempotent; release runs exactly once, after
 * the last unref and after libuv is done with the pipe; the alloc
 * callback never lets the input buffer past its limit (more than the
 * limit sent, all of it read back in order once the reader consumes);
 * and, when we are root, a peer of another uid is refused.
 */
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <uv.h>

#include "rtpaths.h"
#include "sserr.h"
#include "unit.h"
#include "uvconn.h"

#define BOUND_MS 10000
#define MAX_CONNS 4
#define NOBODY 65534

struct fixture;

/* The owner of a connection, as a daemon's would be: uvconn first. */
struct owner {
	struct uvconn u;
	struct fixture *f;
	int released;
	int pipe_gone;	   /* libuv no longer knew the pipe at release */
	int buffers_freed; /* both buffers were wiped and freed */
};

struct fixture {
	uv_loop_t loop;
	int loop_ok;
	uv_timer_t bound;
	int expired;
	uv_pipe_t server;
	char dir[64];
	char path[96];
	struct uvconn *list;
	struct owner *conns[MAX_CONNS];
	int accept_r[MAX_CONNS];
	int naccepted;
	size_t max;
	int nreleased;
	/* Reading: what arrived, and how the alloc callback behaved. */
	size_t nread;
	int stops; /* reading stopped: full, or at the end */
	int enobufs, eof, read_error;
	int alloc_over;	 /* a buffer handed out past the limit */
	int avail_over;	 /* more unread bytes than the limit */
	int empty_alloc; /* an empty buffer with room left */
	uint8_t got[4096];
};

static void
on_bound(uv_timer_t *t)
{
	struct fixture *f = t->data;

	f->expired = 1;
	uv_stop(t->loop);
}

static void
find_pipe(uv_handle_t *h, void *arg)
{
	struct owner *o = arg;

	if (h == (uv_handle_t *)&o->u.pipe)
		o->pipe_gone = 0;
}

static void
release(struct uvconn *c)
{
	struct owner *o = (struct owner *)c;

	o->released++;
	o->f->nreleased++;
	o->buffers_freed = c->in.buf == NULL && c->out.buf == NULL;
	/* Freeing the owner now is safe only if libuv forgot the pipe. */
	o->pipe_gone = 1;
	uv_walk(c->pipe.loop, find_pipe, o);
}

static void
on_connection(uv_stream_t *server, int status)
{
	struct fixture *f = server->data;
	struct owner *o;
	int i = f->naccepted;

	if (status < 0 || i == MAX_CONNS ||
	    (o = calloc(1, sizeof(*o))) == NULL) {
		CHECK(!"connection");
		uv_stop(server->loop);
		return;
	}
	o->f = f;
	f->conns[i] = o;
	f->accept_r[i] = uvconn_accept(&o->u, server, &f->list, f->max,
	    release);
	f->naccepted++;
}

/* Runs the loop until *count reaches want, failing past BOUND_MS. */
static void
run_until(struct fixture *f, const int *count, int want)
{
	uv_update_time(&f->loop);
	f->expired = 0;
	uv_timer_start(&f->bound, on_bound, BOUND_MS, 0);
	while (*count < want && !f->expired)
		uv_run(&f->loop, UV_RUN_ONCE);
	uv_timer_stop(&f->bound);
	if (f->expired)
		fprintf(stderr, "  timed out: %d of %d\n", *count, want);
	CHECK(!f->expired);
}

/*
 * A loop, and a server listening on a socket in a fresh 0700 dir; on
 * failure, what was set up is left for fixture_done all the same.
 */
static int
fixture_init(struct fixture *f, size_t max)
{
	int fd;

	memset(f, 0, sizeof(*f));
	f->max = max;
	if (uv_loop_init(&f->loop) != 0)
		return -1;
	f->loop_ok = 1;
	uv_timer_init(&f->loop, &f->bound);
	f->bound.data = f;
	uv_pipe_init(&f->loop, &f->server, 0);
	f->server.data = f;
	strcpy(f->dir, "/tmp/sshenv-uvconn-XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		f->dir[0] = 0;
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/s", f->dir);
	if (rtpaths_listen(f->path, &fd) != 0)
		return -1;
	if (uv_pipe_open(&f->server, fd) != 0) {
		close(fd);
		return -1;
	}
	return uv_listen((uv_stream_t *)&f->server, 8, on_connection);
}

/*
 * Runs the loop until only the bound timer is left, then closes it and
 * the loop; -1 (a failed check) if a handle the module should have
 * closed was still active when the bound ran out.
 */
static int
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
		return -1;
	}
	uv_close((uv_handle_t *)&f->bound, NULL);
	CHECK_EQ(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
	CHECK_EQ(uv_loop_close(&f->loop), 0);
	return 0;
}

/* Each accepted conn released exactly once, after libuv let go of it. */
static void
check_released(struct fixture *f)
{
	int i;

	for (i = 0; i < f->naccepted; i++) {
		CHECK_EQ(f->conns[i]->released, 1);
		CHECK_EQ(f->conns[i]->pipe_gone, 1);
		CHECK_EQ(f->conns[i]->buffers_freed, 1);
	}
	CHECK_EQ(f->nreleased, f->naccepted);
}

/*
 * Closes the server, checks that the loop closes and that every
 * connection was released, then frees the owners.
 */
static void
fixture_done(struct fixture *f)
{
	int i;

	if (!f->loop_ok)
		return;
	uv_close((uv_handle_t *)&f->server, NULL);
	/* An owner libuv may still use is not freed. */
	if (close_loop(f) == 0) {
		check_released(f);
		for (i = 0; i < f->naccepted; i++)
			free(f->conns[i]);
	}
	if (f->dir[0] != 0) {
		unlink(f->path);
		rmdir(f->dir);
	}
}

/* A plain blocking client; a unix socket's connect does not wait. */
static int
client(const struct fixture *f)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, f->path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
test_accept_links(void)
{
	static struct fixture f;
	struct uvconn *a, *b;
	int fd[2], i;

	if (fixture_init(&f, 1024) != 0) {
		CHECK(!"fixture");
		fixture_done(&f);
		return;
	}
	for (i = 0; i < 2; i++) {
		CHECK((fd[i] = client(&f)) >= 0);
		run_until(&f, &f.naccepted, i + 1);
	}
	if (f.naccepted != 2)
		goto out;
	a = &f.conns[0]->u;
	b = &f.conns[1]->u;
	/* Our own uid talks to us. */
	CHECK_EQ(f.accept_r[0], 0);
	CHECK_EQ(f.accept_r[1], 0);
	CHECK(a->pipe.data == a);
	CHECK(b->pipe.data == b);
	/* The newest at the head, each prevp at what points to it. */
	CHECK(f.list == b);
	CHECK(b->prevp == &f.list);
	CHECK(b->next == a);
	CHECK(a->prevp == &b->next);
	CHECK(a->next == NULL);
	CHECK_EQ(a->closing, 0);
	CHECK_EQ(a->refs, 1);
	CHECK_EQ(a->in.max, 1024);
	CHECK_EQ(a->out.max, 1024);
	CHECK_EQ(f.nreleased, 0);

	uvconn_close(b);
	uvconn_close(a);
	CHECK(f.list == NULL);
out:
	for (i = 0; i < 2; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	fixture_done(&f);
}

static void
test_accept_fails(void)
{
	static struct fixture f;
	struct owner *o;
	int r;

	if (fixture_init(&f, 64) != 0 || (o = calloc(1, sizeof(*o))) == NULL) {
		CHECK(!"fixture");
		fixture_done(&f);
		return;
	}
	/* Nothing is waiting to be accepted: uv_accept fails. */
	o->f = &f;
	f.conns[f.naccepted++] = o;
	r = uvconn_accept(&o->u, (uv_stream_t *)&f.server, &f.list, 64,
	    release);
	CHECK_EQ(r, ERR_SYSTEM);
	/* Linked and with a pipe all the same, so that close undoes it. */
	CHECK(f.list == &o->u);
	CHECK(o->u.pipe.data == &o->u);
	uvconn_close(&o->u);
	CHECK(f.list == NULL);
	CHECK_EQ(o->released, 0);
	fixture_done(&f);
}

static void
test_close_unlinks(void)
{
	static struct fixture f;
	struct uvconn *a, *b, *c;
	int fd[3], i;

	if (fixture_init(&f, 64) != 0) {
		CHECK(!"fixture");
		fixture_done(&f);
		return;
	}
	for (i = 0; i < 3; i++) {
		CHECK((fd[i] = client(&f)) >= 0);
		run_until(&f, &f.naccepted, i + 1);
	}
	if (f.naccepted != 3)
		goto out;
	a = &f.conns[0]->u;
	b = &f.conns[1]->u;
	c = &f.conns[2]->u;
	CHECK(f.list == c && c->next == b && b->next == a);

	/* From the middle: its neighbours join up. */
	uvconn_close(b);
	CHECK_EQ(b->closing, 1);
	CHECK(f.list == c && c->next == a && a->next == NULL);
	CHECK(a->prevp == &c->next);
	/* Again: nothing moves, and libuv is not asked to close twice. */
	uvconn_close(b);
	CHECK(f.list == c && c->next == a && a->prevp == &c->next);

	/* From the head: the next one becomes the head. */
	uvconn_close(c);
	CHECK(f.list == a && a->prevp == &f.list);
	uvconn_close(a);
	CHECK(f.list == NULL);
	uvconn_close(a);
	uvconn_close(c);
	CHECK(f.list == NULL);
	/* Nothing is released before libuv has closed the pipes. */
	CHECK_EQ(f.nreleased, 0);
out:
	for (i = 0; i < 3; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	fixture_done(&f);
}

static void
test_release_after_last_unref(void)
{
	static struct fixture f;
	struct owner *o;
	int fd;

	if (fixture_init(&f, 64) != 0) {
		CHECK(!"fixture");
		fixture_done(&f);
		return;
	}
	CHECK((fd = client(&f)) >= 0);
	run_until(&f, &f.naccepted, 1);
	if (f.naccepted != 1)
		goto out;
	o = f.conns[0];
	CHECK_EQ(wire_put_u32(&o->u.in, 7), 0);
	CHECK_EQ(wire_put_u32(&o->u.out, 7), 0);

	/* Two requests pending, as a write and a timer would hold. */
	uvconn_ref(&o->u);
	uvconn_ref(&o->u);
	CHECK_EQ(o->u.refs, 3);
	uvconn_close(&o->u);
	/* A turn of the loop closes the pipe: its reference goes, ours stay. */
	uv_run(&f.loop, UV_RUN_NOWAIT);
	CHECK_EQ(o->released, 0);
	CHECK_EQ(o->u.refs, 2);
	uvconn_unref(&o->u);
	CHECK_EQ(o->released, 0);
	CHECK(o->u.in.buf != NULL);
	uvconn_unref(&o->u);
	CHECK_EQ(o->released, 1);
	CHECK_EQ(o->pipe_gone, 1);
	CHECK_EQ(o->buffers_freed, 1);
out:
	if (fd >= 0)
		close(fd);
	fixture_done(&f);
}

/* Checks every buffer handed out against the limit and what is unread. */
static void
alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct uvconn *c = h->data;
	struct fixture *f = ((struct owner *)c)->f;
	size_t room = f->max - wire_avail(&c->in);

	uvconn_alloc(h, suggested, buf);
	if (buf->len > room)
		f->alloc_over = 1;
	if (buf->len == 0 && room > 0)
		f->empty_alloc = 1;
}

static void
on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct uvconn *c = s->data;
	struct fixture *f = ((struct owner *)c)->f;

	(void)buf;
	if (nread == UV_ENOBUFS) {
		/* Full: the reader must consume before there is room. */
		f->enobufs++;
		f->stops++;
		uv_read_stop(s);
		return;
	}
	if (nread < 0) {
		/* libuv has stopped reading at the end; not on an error. */
		if (nread != UV_EOF)
			f->read_error = 1;
		uv_read_stop(s);
		f->eof++;
		f->stops++;
		return;
	}
	wire_commit(&c->in, (size_t)nread);
	if (wire_avail(&c->in) > f->max)
		f->avail_over = 1;
}

/* Moves n unread bytes of c->in to what the test has received. */
static void
take(struct fixture *f, struct uvconn *c, size_t n)
{
	if (n > wire_avail(&c->in) || f->nread + n > sizeof(f->got)) {
		CHECK(!"take");
		return;
	}
	memcpy(f->got + f->nread, wire_ptr(&c->in), n);
	f->nread += n;
	CHECK_EQ(wire_consume(&c->in, n), 0);
}

static void
test_alloc_bounded(void)
{
	static struct fixture f;
	enum { MAX = 1000, SEND = 2500 };
	uint8_t data[SEND];
	struct uvconn *c;
	size_t i;
	int fd;

	if (fixture_init(&f, MAX) != 0) {
		CHECK(!"fixture");
		fixture_done(&f);
		return;
	}
	for (i = 0; i < SEND; i++)
		data[i] = (uint8_t)(i * 7 + i / 251);
	CHECK((fd = client(&f)) >= 0);
	/* Far less than a socket buffer: all of it is queued at once. */
	CHECK_EQ(write(fd, data, SEND), SEND);
	close(fd);
	run_until(&f, &f.naccepted, 1);
	if (f.naccepted != 1 || f.accept_r[0] != 0)
		goto out;
	c = &f.conns[0]->u;
	CHECK_EQ(uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, on_read), 0);

	/* Filled to the limit exactly, then refused. */
	run_until(&f, &f.stops, 1);
	CHECK_EQ(f.enobufs, 1);
	CHECK_EQ(wire_avail(&c->in), MAX);
	/* Part of it read: room for that much again, and no more. */
	take(&f, c, 300);
	CHECK_EQ(uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, on_read), 0);
	run_until(&f, &f.stops, 2);
	CHECK_EQ(f.enobufs, 2);
	CHECK_EQ(wire_avail(&c->in), MAX);
	/* The other 1200 bytes in two more rounds, then the client's end. */
	while (f.eof == 0 && !f.expired && f.stops < 10) {
		take(&f, c, wire_avail(&c->in));
		CHECK_EQ(uv_read_start((uv_stream_t *)&c->pipe, alloc_cb,
			     on_read),
		    0);
		run_until(&f, &f.stops, f.stops + 1);
	}
	take(&f, c, wire_avail(&c->in));
	CHECK_EQ(f.eof, 1);
	CHECK_EQ(f.enobufs, 3);
	CHECK_EQ(f.read_error, 0);
	CHECK_EQ(f.alloc_over, 0);
	CHECK_EQ(f.avail_over, 0);
	CHECK_EQ(f.empty_alloc, 0);
	CHECK_EQ(f.nread, SEND);
	CHECK(memcmp(f.got, data, SEND) == 0);
	uvconn_close(c);
out:
	fixture_done(&f);
}

/* A client that is nobody: connects, then holds on until we hang up. */
static pid_t
nobody_client(const struct fixture *f)
{
	pid_t pid;
	char b;
	int fd;

	if ((pid = fork()) != 0)
		return pid;
	if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 ||
	    setuid(NOBODY) != 0)
		_exit(2);
	if ((fd = client(f)) < 0)
		_exit(3);
	while (read(fd, &b, 1) < 0 && errno == EINTR)
		;
	_exit(0);
}

static void
test_peer_other_uid(void)
{
	static struct fixture f;
	pid_t pid;
	int st;

	if (getuid() != 0) {
		printf("     (test_peer_other_uid: not root, not tried)\n");
		return;
	}
	if (fixture_init(&f, 64) != 0) {
		CHECK(!"fixture");
		fixture_done(&f);
		return;
	}
	/* Let nobody reach the socket: refusing it is uvconn's job. */
	CHECK_EQ(chmod(f.dir, 0711), 0);
	CHECK_EQ(chmod(f.path, 0666), 0);
	CHECK((pid = nobody_client(&f)) > 0);
	run_until(&f, &f.naccepted, 1);
	if (f.naccepted == 1) {
		CHECK_EQ(f.accept_r[0], ERR_DENIED);
		/* Refused, yet linked: closed like any other. */
		CHECK(f.list == &f.conns[0]->u);
		uvconn_close(&f.conns[0]->u);
		CHECK(f.list == NULL);
	} else if (pid > 0) {
		kill(pid, SIGKILL);
	}
	/* The client holds on until the close reaches it. */
	fixture_done(&f);
	if (pid > 0) {
		CHECK_EQ(waitpid(pid, &st, 0), pid);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fprintf(stderr, "  nobody client: status %#x\n", st);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
}

int
main(void)
{
	RUN(test_accept_links);
	RUN(test_accept_fails);
	RUN(test_close_unlinks);
	RUN(test_release_after_last_unref);
	RUN(test_alloc_bounded);
	RUN(test_peer_other_uid);
	UNIT_DONE();
}
